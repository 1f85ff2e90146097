/* libFuzzer: the MPEG-TS demuxer. The first byte picks the slice size the
 * rest is fed with (1..256 bytes, 0 = all at once), so packet, PSI and PES
 * reassembly across calls are all exercised; every unit and track handed
 * out is checked for what the contract promises. */
#include "ome_native.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void drain(omn_ts_demux *d)
{
    omn_ts_unit u;
    int ev, ntracks = omn_ts_demux_track_count(d);
    while ((ev = omn_ts_demux_next(d, &u)) != OMN_TS_NONE) {
        if (ev == OMN_TS_TRACKS) {
            ntracks = omn_ts_demux_track_count(d);
            for (int i = 0; i < ntracks; i++) {
                omn_ts_track t;
                omn_codec_info info;
                if (omn_ts_demux_track(d, i, &t) != 0) abort();
                if (!t.config || omn_codec_probe(t.codec, t.config, t.config_len, &info) != 0) abort();
            }
            continue;
        }
        if (u.track < 0 || u.track >= ntracks || u.len == 0 || u.pts < u.dts) abort();
        volatile uint8_t sink = u.data[0] ^ u.data[u.len - 1];
        (void)sink;
        omn_ts_track t;
        if (omn_ts_demux_track(d, u.track, &t) == 0 && (t.codec == OMN_CODEC_H264 || t.codec == OMN_CODEC_H265)) {
            size_t off = 0;                 /* NAL lengths tile the unit */
            while (off + 4 <= u.len)
                off += 4 + ((size_t)u.data[off] << 24 | (size_t)u.data[off + 1] << 16 |
                            (size_t)u.data[off + 2] << 8 | u.data[off + 3]);
            if (off != u.len) abort();
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    size_t slice = data[0];
    const uint8_t *p = data + 1;
    size_t n = size - 1;
    omn_ts_demux *d = omn_ts_demux_new();
    if (!d) return 0;
    for (size_t off = 0; off < n;) {
        size_t s = slice ? slice : n;
        if (s > n - off) s = n - off;
        uint8_t *copy = malloc(s ? s : 1);    /* exact-size copy: ASan sees over-reads */
        memcpy(copy, p + off, s);
        omn_ts_demux_feed(d, copy, s);
        free(copy);
        drain(d);
        off += s;
    }
    omn_ts_demux_flush(d);
    drain(d);
    omn_ts_stats st;
    omn_ts_demux_stats_get(d, &st);
    omn_ts_demux_free(d);
    return 0;
}

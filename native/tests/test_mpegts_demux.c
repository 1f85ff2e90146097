/* test_mpegts_demux.c - the MPEG-TS demuxer on real ffmpeg output
 * (tests/data/h264_aac.ts: 1 s H.264 128x72 25 fps B-frames + AAC 48 kHz;
 * tests/data/hevc_opus.ts: 0.6 s HEVC + Opus) and on damaged copies:
 * any slicing, 33-bit wrap, CC gaps, bad CRC, program change, noise. */
#include "ome_native.h"
#include "../src/mpegts.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint8_t *load(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    assert(f && "run from native/ (make test)");
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *p = malloc((size_t)len);
    assert(p && fread(p, 1, (size_t)len, f) == (size_t)len);
    fclose(f);
    *n = (size_t)len;
    return p;
}

typedef struct result {
    int generations;
    int ntracks;
    int codec[4];
    uint32_t width, height, timescale[4];
    int frames[4];
    int keyframes[4];
    int64_t first_dts[4], last_dts[4];
    int backwards[4];            /* dts not increasing */
    int max_step[4];             /* biggest dts step */
    int bad_nal_tiling;
    uint64_t hash;
    omn_ts_stats st;
} result;

static void take(omn_ts_demux *d, result *r)
{
    omn_ts_unit u;
    int ev;
    while ((ev = omn_ts_demux_next(d, &u)) != OMN_TS_NONE) {
        if (ev == OMN_TS_TRACKS) {
            r->generations++;
            r->ntracks = omn_ts_demux_track_count(d);
            for (int i = 0; i < r->ntracks && i < 4; i++) {
                omn_ts_track t;
                assert(omn_ts_demux_track(d, i, &t) == 0);
                r->codec[i] = t.codec;
                r->timescale[i] = t.timescale;
                assert(t.config && t.config_len > 0);
                omn_codec_info info;
                assert(omn_codec_probe(t.codec, t.config, t.config_len, &info) == 0);
                if (t.codec == OMN_CODEC_H264 || t.codec == OMN_CODEC_H265) { r->width = t.width; r->height = t.height; }
                r->frames[i] = 0;
                r->keyframes[i] = 0;
            }
            assert(omn_ts_demux_track(d, r->ntracks, &(omn_ts_track){0}) == -1);
            continue;
        }
        assert(ev == OMN_TS_FRAME && u.track >= 0 && u.track < r->ntracks && u.len > 0);
        int t = u.track;
        if (r->frames[t] == 0) r->first_dts[t] = u.dts;
        else {
            if (u.dts <= r->last_dts[t]) r->backwards[t]++;
            int64_t step = u.dts - r->last_dts[t];
            if (step > r->max_step[t]) r->max_step[t] = (int)(step > 1 << 30 ? 1 << 30 : step);
        }
        assert(u.pts >= u.dts);
        r->last_dts[t] = u.dts;
        r->frames[t]++;
        r->keyframes[t] += u.keyframe;
        if (r->codec[t] == OMN_CODEC_H264 || r->codec[t] == OMN_CODEC_H265) {
            size_t off = 0;
            while (off + 4 <= u.len) {
                uint32_t l = (uint32_t)u.data[off] << 24 | u.data[off + 1] << 16 | u.data[off + 2] << 8 | u.data[off + 3];
                off += 4 + l;
            }
            if (off != u.len) r->bad_nal_tiling++;
        }
        for (size_t i = 0; i < u.len; i++) r->hash = r->hash * 1099511628211ull + u.data[i];
        r->hash = r->hash * 31 + (uint64_t)u.dts;
    }
}

static result run(const uint8_t *p, size_t n, size_t slice)
{
    result r;
    memset(&r, 0, sizeof r);
    omn_ts_demux *d = omn_ts_demux_new();
    assert(d);
    size_t off = 0, k = 0;
    while (off < n) {
        size_t s = slice ? slice : 1 + (k * 7919) % 1500;   /* varied slices */
        if (s > n - off) s = n - off;
        assert(omn_ts_demux_feed(d, p + off, s) == 0);
        take(d, &r);
        off += s;
        k++;
    }
    omn_ts_demux_flush(d);
    take(d, &r);
    omn_ts_demux_stats_get(d, &r.st);
    omn_ts_demux_free(d);
    return r;
}

/* Adds `delta` (mod 2^33) to every PES PTS/DTS of the file (in place). */
static void shift_timestamps(uint8_t *p, size_t n, int64_t delta)
{
    for (size_t off = 0; off + 188 <= n; off += 188) {
        uint8_t *t = p + off;
        if (!(t[1] & 0x40)) continue;
        int pid = (t[1] & 0x1F) << 8 | t[2];
        if (pid == 0 || pid == 0x1000 || pid == 0x11) continue;
        size_t o = 4;
        if (t[3] & 0x20) o = 5 + t[4];
        if (o + 19 > 188 || t[o] || t[o + 1] || t[o + 2] != 1) continue;
        int flags = t[o + 7] >> 6;
        for (int k = 0; k < (flags == 3 ? 2 : flags == 2 ? 1 : 0); k++) {
            uint8_t *q = t + o + 9 + 5 * k;
            int64_t v = (int64_t)(q[0] >> 1 & 7) << 30 | (int64_t)q[1] << 22 | (int64_t)(q[2] >> 1) << 15 |
                        (int64_t)q[3] << 7 | (q[4] >> 1);
            v = (v + delta) & (((int64_t)1 << 33) - 1);
            q[0] = (uint8_t)((q[0] & 0xF1) | ((v >> 29) & 0x0E));
            q[1] = (uint8_t)(v >> 22);
            q[2] = (uint8_t)(((v >> 14) & 0xFE) | 1);
            q[3] = (uint8_t)(v >> 7);
            q[4] = (uint8_t)(((v << 1) & 0xFE) | 1);
        }
    }
}

int main(void)
{
    assert(omn_ts_crc32((const uint8_t *)"123456789", 9) == 0x0376E6E7u);   /* CRC-32/MPEG-2 check value */

    size_t n, n2;
    uint8_t *ts = load("tests/data/h264_aac.ts", &n);
    uint8_t *ts2 = load("tests/data/hevc_opus.ts", &n2);

    /* whole file: H.264 + AAC, all 25 frames, 1024-sample audio steps */
    result a = run(ts, n, n);
    assert(a.generations == 1 && a.ntracks == 2);
    assert(a.codec[0] == OMN_CODEC_H264 && a.codec[1] == OMN_CODEC_AAC);
    assert(a.width == 128 && a.height == 72);
    assert(a.timescale[0] == 90000 && a.timescale[1] == 48000);
    assert(a.frames[0] == 25 && a.keyframes[0] == 3);
    assert(a.frames[1] >= 45 && a.frames[1] <= 50);
    assert(a.max_step[1] == 1024 && a.backwards[0] == 0 && a.backwards[1] == 0);
    assert(a.max_step[0] == 3600 && a.bad_nal_tiling == 0);
    assert(a.st.cc_errors == 0 && a.st.crc_errors == 0 && a.st.sync_losses == 0);
    assert(a.st.units == (uint64_t)(a.frames[0] + a.frames[1]) && a.st.last_pcr >= 0);

    /* any slicing gives the same units */
    size_t slices[] = { 1, 7, 188, 1316, 0 };
    for (size_t i = 0; i < sizeof slices / sizeof *slices; i++) {
        result b = run(ts, n, slices[i]);
        assert(b.hash == a.hash && b.frames[0] == a.frames[0] && b.frames[1] == a.frames[1]);
    }

    /* HEVC + Opus */
    result h = run(ts2, n2, 1316);
    assert(h.generations == 1 && h.ntracks == 2);
    assert(h.codec[0] == OMN_CODEC_H265 && h.codec[1] == OMN_CODEC_OPUS && h.timescale[1] == 48000);
    assert(h.frames[0] == 15 && h.keyframes[0] >= 3 && h.bad_nal_tiling == 0);
    assert(h.frames[1] >= 25 && h.max_step[1] == 960 && h.backwards[1] == 0);

    /* 33-bit wrap half a second in: timestamps keep increasing in 64 bits */
    uint8_t *w = malloc(n);
    memcpy(w, ts, n);
    shift_timestamps(w, n, ((int64_t)1 << 33) - 126000 - 45000);   /* ffmpeg starts at 1.4 s */
    result wr = run(w, n, 1316);
    assert(wr.frames[0] == 25 && wr.backwards[0] == 0 && wr.backwards[1] == 0);
    assert(wr.max_step[0] == 3600 && wr.max_step[1] == 1024);
    assert(wr.last_dts[0] > ((int64_t)1 << 33));

    /* a backwards jump passes through (the stream model handles jumps) */
    memcpy(w, ts, n);
    shift_timestamps(w + n / 2 / 188 * 188, n - n / 2 / 188 * 188, -90000 * 20);
    result jb = run(w, n, 1316);
    assert(jb.frames[0] >= 20 && jb.backwards[0] >= 1);

    /* CC gap: one video packet lost -> counted, the broken PES dropped, video resumes at a key frame */
    memcpy(w, ts, n);
    size_t lost = 0;
    for (size_t off = 188 * 40; off + 188 <= n; off += 188)
        if (((w[off + 1] & 0x1F) << 8 | w[off + 2]) == 0x100 && !(w[off + 1] & 0x40)) { lost = off; break; }
    assert(lost);
    memmove(w + lost, w + lost + 188, n - lost - 188);
    result cc = run(w, n - 188, 1316);
    assert(cc.st.cc_errors == 1 && cc.st.pes_dropped >= 1);
    assert(cc.frames[0] < 25 && cc.frames[0] >= 10 && cc.frames[1] == a.frames[1]);

    /* bad CRC on every PMT: no tracks, nothing out, counted */
    memcpy(w, ts, n);
    for (size_t off = 0; off + 188 <= n; off += 188)
        if (((w[off + 1] & 0x1F) << 8 | w[off + 2]) == 0x1000) w[off + 20] ^= 0x55;
    result bad = run(w, n, 1316);
    assert(bad.generations == 0 && bad.st.crc_errors > 0 && bad.st.units == 0);

    /* program change: HEVC+Opus after H.264+AAC on the same PIDs -> a second track set */
    uint8_t *both = malloc(n + n2);
    memcpy(both, ts, n);
    memcpy(both + n, ts2, n2);
    result pc = run(both, n + n2, 1316);
    assert(pc.generations == 2 && pc.st.pmt_changes == 1 && pc.st.generation == 2);
    assert(pc.codec[0] == OMN_CODEC_H265 && pc.codec[1] == OMN_CODEC_OPUS);
    assert(pc.frames[0] == 15);

    /* truncated at an odd place, then noise, then the file again: survives and finds sync */
    uint8_t *noisy = malloc(n + 5000 + n);
    memcpy(noisy, ts, n / 3 + 77);
    srand(7);
    for (size_t i = 0; i < 5000; i++) noisy[n / 3 + 77 + i] = (uint8_t)rand();
    memcpy(noisy + n / 3 + 77 + 5000, ts, n);
    result nz = run(noisy, n / 3 + 77 + 5000 + n, 1316);
    assert(nz.generations >= 1 && nz.st.sync_losses >= 1 && nz.frames[0] >= 10);

    /* pure noise */
    for (size_t i = 0; i < n; i++) w[i] = (uint8_t)rand();
    result rnd = run(w, n, 1316);
    assert(rnd.st.units == 0);

    omn_ts_demux_free(NULL);
    free(noisy);
    free(both);
    free(w);
    free(ts);
    free(ts2);
    puts("test_mpegts_demux: ok");
    return 0;
}

/* mpegts_demux.c - MPEG-TS -> tracks and whole access units (see the
 * "MPEG-TS demuxer" section of ome_native.h for the contract).
 *
 * Layers, bottom up: 188-byte packets (sync, adaptation field, PCR,
 * continuity counters) -> PSI sections (PAT, PMT, CRC-checked) or PES
 * (reassembled per PID) -> codec units (Annex B to length-prefixed NAL
 * units, ADTS frames, Opus TS access units) -> the output queue, held back
 * until the program's tracks are known.
 */
#include "ome_native.h"
#include "cmaf_internal.h"
#include "mpegts.h"

#include <stdlib.h>
#include <string.h>

#define MAX_STREAMS 8
#define MAX_SECTION 1024                 /* PSI sections are at most 1021 + 3 bytes */
#define MAX_PES_VIDEO (8u << 20)
#define MAX_PES_AUDIO (1u << 20)
#define READY_MAX_UNITS 256              /* announce with what has a config after this ... */
#define READY_MAX_SPAN 180000            /* ... or 2 s (90 kHz) of held units */
#define MAX_OUT_UNITS 4096               /* output queue bound (owner not draining) */
#define TS_MASK (((int64_t)1 << 33) - 1)

typedef struct unit {
    struct unit *next;
    int tracks_marker;                   /* 1: an OMN_TS_TRACKS event (snapshot below) */
    struct snapshot *snap;
    int es;                              /* stream slot (units) */
    int track;                           /* index in the set announced before it */
    int keyframe;
    int64_t dts, pts, ts90;              /* ts90: the unit's dts on the 90 kHz clock */
    size_t len;
    uint8_t data[];
} unit;

typedef struct snap_track {
    omn_ts_track t;
    uint8_t *config;
} snap_track;

typedef struct snapshot {
    int n;
    snap_track tracks[MAX_STREAMS];
} snapshot;

typedef struct es {
    int pid, stream_type, codec;
    int opus_channels;
    int cc;                              /* last continuity counter, -1 none */
    omn_buf pes;                         /* the PES being assembled (header included) */
    int pes_active;
    size_t pes_total;                    /* 6 + PES_packet_length, 0 = unbounded (video) */
    int pes_broken;                      /* CC gap inside: drop at its end */
    int need_key;                        /* video: drop until a key frame */
    int64_t last;                        /* unwrapped 90 kHz of the last PES, for the next unwrap */
    int has_last;
    omn_buf config;
    omn_codec_info info;
    int has_config;
    int track;                           /* index in the announced set, -1 none */
    int64_t audio_next;                  /* next audio dts in track ticks */
    int has_audio_next;
} es;

typedef struct section {
    uint8_t buf[MAX_SECTION + 188];
    size_t len;
    int active;
    int cc;
} section;

struct omn_ts_demux {
    uint8_t part[OMN_TS_PACKET];
    size_t part_len;
    int synced;
    section pat, pmt;
    int pmt_pid;                         /* -1 until the PAT names one */
    int program_number;
    int pmt_version;                     /* -1 until a PMT was taken */
    int pcr_pid;
    es streams[MAX_STREAMS];
    int nstreams;
    int announced;                       /* the current stream set has its TRACKS queued */
    int64_t clock;                       /* last unwrapped timestamp of the program */
    int has_clock;
    unit *held, *held_tail;              /* before the TRACKS event */
    size_t held_count;
    unit *out, *out_tail;
    size_t out_count;
    unit *cur;                           /* handed out by omn_ts_demux_next */
    snapshot *current;                   /* the set of the last TRACKS event popped */
    snapshot *pending_snap;              /* the set the last queued marker refers to */
    omn_ts_stats st;
};

/* ---- small helpers ---------------------------------------------------- */

static int is_video(int codec) { return codec == OMN_CODEC_H264 || codec == OMN_CODEC_H265; }

static void free_units(unit *u)
{
    while (u) {
        unit *nx = u->next;
        free(u);
        u = nx;
    }
}

static void free_snapshot(snapshot *s)
{
    if (!s) return;
    for (int i = 0; i < s->n; i++) free(s->tracks[i].config);
    free(s);
}

static void es_reset_pes(es *e)
{
    e->pes.len = 0;
    e->pes_active = 0;
    e->pes_total = 0;
    e->pes_broken = 0;
}

static void es_free(es *e)
{
    omn_buf_free(&e->pes);
    omn_buf_free(&e->config);
}

static void queue_out(omn_ts_demux *d, unit *u)
{
    if (d->out_count >= MAX_OUT_UNITS && !u->tracks_marker) {
        d->st.units_dropped++;
        free(u);
        return;
    }
    u->next = NULL;
    if (!u->tracks_marker) u->track = d->streams[u->es].track;
    if (d->out_tail) d->out_tail->next = u; else d->out = u;
    d->out_tail = u;
    d->out_count++;
}

/* Unwraps a 33-bit timestamp next to ref (the nearest 64-bit value). */
static int64_t unwrap33(int64_t ref, int64_t v)
{
    int64_t delta = (v - (ref & TS_MASK)) & TS_MASK;
    if (delta >= ((int64_t)1 << 32)) delta -= (int64_t)1 << 33;
    return ref + delta;
}

static int64_t unwrap_ts(omn_ts_demux *d, es *e, int64_t v)
{
    int64_t ref = e->has_last ? e->last : d->has_clock ? d->clock : v;
    int64_t r = unwrap33(ref, v);
    e->last = r;
    e->has_last = 1;
    d->clock = r;
    d->has_clock = 1;
    return r;
}

static int64_t read_ts(const uint8_t *p)
{
    return (int64_t)(p[0] >> 1 & 7) << 30 | (int64_t)p[1] << 22 | (int64_t)(p[2] >> 1) << 15 |
           (int64_t)p[3] << 7 | (int64_t)(p[4] >> 1);
}

/* ---- track announcement ---------------------------------------------------- */

static int all_configured(const omn_ts_demux *d)
{
    for (int i = 0; i < d->nstreams; i++)
        if (!d->streams[i].has_config) return 0;
    return d->nstreams > 0;
}

/* Queues the TRACKS event for the streams that have a config, then the held units. */
static void announce(omn_ts_demux *d)
{
    snapshot *s = calloc(1, sizeof *s);
    unit *m = calloc(1, sizeof *m);
    if (!s || !m) { free(s); free(m); return; }      /* retried on the next unit */
    for (int i = 0; i < d->nstreams; i++) {
        es *e = &d->streams[i];
        e->track = -1;
        if (!e->has_config) continue;
        snap_track *t = &s->tracks[s->n];
        t->config = malloc(e->config.len ? e->config.len : 1);
        if (!t->config) continue;
        memcpy(t->config, e->config.data, e->config.len);
        t->t.pid = e->pid;
        t->t.stream_type = e->stream_type;
        t->t.codec = e->codec;
        t->t.timescale = e->info.timescale;
        t->t.width = e->info.width;
        t->t.height = e->info.height;
        t->t.sample_rate = e->info.sample_rate;
        t->t.channels = e->info.channels;
        t->t.config_len = e->config.len;
        memcpy(t->t.codecs, e->info.codecs, sizeof t->t.codecs);
        e->track = s->n++;
    }
    m->tracks_marker = 1;
    m->snap = s;
    queue_out(d, m);
    d->announced = 1;
    d->st.generation++;
    unit *u = d->held;
    d->held = d->held_tail = NULL;
    d->held_count = 0;
    while (u) {
        unit *nx = u->next;
        if (d->streams[u->es].track >= 0) queue_out(d, u);
        else { d->st.units_dropped++; free(u); }
        u = nx;
    }
}

static void emit(omn_ts_demux *d, unit *u)
{
    if (d->announced) {
        if (d->streams[u->es].track < 0) { d->st.units_dropped++; free(u); return; }
        queue_out(d, u);
        return;
    }
    u->next = NULL;
    if (d->held_tail) d->held_tail->next = u; else d->held = u;
    d->held_tail = u;
    d->held_count++;
    if (all_configured(d) || d->held_count >= READY_MAX_UNITS ||
        u->ts90 - d->held->ts90 >= READY_MAX_SPAN || d->held->ts90 - u->ts90 >= READY_MAX_SPAN)
        announce(d);
}

static unit *new_unit(es *e, int idx, size_t len)
{
    unit *u = calloc(1, sizeof *u + (len ? len : 1));
    if (!u) return NULL;
    u->es = idx;
    u->len = len;
    (void)e;
    return u;
}

/* ---- codec units ------------------------------------------------------------ */

static int nal_type(int codec, const uint8_t *nal) { return codec == OMN_CODEC_H264 ? nal[0] & 0x1F : nal[0] >> 1 & 0x3F; }

static int nal_dropped(int codec, int t)
{
    return codec == OMN_CODEC_H264 ? (t == 9 || t == 12) : (t == 35 || t == 38);
}

static void video_unit(omn_ts_demux *d, int idx, const uint8_t *p, size_t n, int64_t dts90, int64_t pts90)
{
    es *e = &d->streams[idx];
    size_t pos = 0, len, out_len = 0;
    const uint8_t *nal;
    int key = 0, has_ps = 0;
    while (omn_annexb_next(p, n, &pos, &nal, &len)) {
        if (len == 0) continue;
        int t = nal_type(e->codec, nal);
        if (e->codec == OMN_CODEC_H264) {
            if (t == 5) key = 1;
            if (t == 7) has_ps = 1;
        } else {
            if (t >= 16 && t <= 21) key = 1;
            if (t == 33) has_ps = 1;
        }
        if (!nal_dropped(e->codec, t)) out_len += 4 + len;
    }
    if (out_len == 0) { d->st.pes_dropped++; return; }
    if (!e->has_config && has_ps) {
        omn_buf cfg = {0};
        int rc = e->codec == OMN_CODEC_H264 ? omn_avcc_from_annexb(&cfg, p, n) : omn_hvcc_from_annexb(&cfg, p, n);
        if (rc == 0 && omn_codec_probe(e->codec, cfg.data, cfg.len, &e->info) == 0) {
            omn_buf_free(&e->config);
            e->config = cfg;
            e->has_config = 1;
        } else {
            omn_buf_free(&cfg);
        }
    }
    if (!e->has_config || (e->need_key && !key)) { d->st.units_dropped++; return; }
    e->need_key = 0;
    unit *u = new_unit(e, idx, out_len);
    if (!u) return;
    uint8_t *w = u->data;
    pos = 0;
    while (omn_annexb_next(p, n, &pos, &nal, &len)) {
        if (len == 0 || nal_dropped(e->codec, nal_type(e->codec, nal))) continue;
        w[0] = (uint8_t)(len >> 24); w[1] = (uint8_t)(len >> 16); w[2] = (uint8_t)(len >> 8); w[3] = (uint8_t)len;
        memcpy(w + 4, nal, len);
        w += 4 + len;
    }
    u->keyframe = key;
    u->dts = dts90;
    u->pts = pts90;
    u->ts90 = dts90;
    emit(d, u);
}

/* Audio dts of the next frame: the PES clock converted to track ticks for the
 * first frame of a PES, unless the running count is within one frame of it. */
static int64_t audio_dts(es *e, int first, int64_t pts90, uint32_t frame_ticks)
{
    uint32_t rate = e->info.timescale ? e->info.timescale : 90000;
    if (first) {
        int64_t clock = pts90 * (int64_t)rate / 90000;
        int64_t diff = e->has_audio_next ? clock - e->audio_next : 0;
        if (!e->has_audio_next || diff > (int64_t)frame_ticks || diff < -(int64_t)frame_ticks) {
            e->audio_next = clock;
            e->has_audio_next = 1;
        }
    }
    int64_t dts = e->audio_next;
    e->audio_next += frame_ticks;
    return dts;
}

static void audio_emit(omn_ts_demux *d, int idx, const uint8_t *p, size_t n, int64_t dts, int64_t pts90)
{
    unit *u = new_unit(&d->streams[idx], idx, n);
    if (!u) return;
    memcpy(u->data, p, n);
    u->keyframe = 1;
    u->dts = u->pts = dts;
    u->ts90 = pts90;
    emit(d, u);
}

static void aac_units(omn_ts_demux *d, int idx, const uint8_t *p, size_t n, int64_t pts90, int has_pts)
{
    es *e = &d->streams[idx];
    size_t off = 0;
    int first = has_pts;
    while (n - off >= 7) {
        const uint8_t *h = p + off;
        if (h[0] != 0xFF || (h[1] & 0xF6) != 0xF0) { d->st.pes_dropped++; return; }   /* lost ADTS sync */
        size_t hdr = (h[1] & 1) ? 7 : 9;
        size_t flen = (size_t)(h[3] & 3) << 11 | (size_t)h[4] << 3 | h[5] >> 5;
        if (flen <= hdr || flen > n - off) { d->st.pes_dropped++; return; }              /* truncated */
        off += flen;
        if ((h[6] & 3) != 0) { d->st.units_dropped++; continue; }                         /* multi-block frame */
        if (!e->has_config) {
            omn_buf cfg = {0};
            if (omn_asc_from_adts(&cfg, h, flen) == 0 &&
                omn_codec_probe(OMN_CODEC_AAC, cfg.data, cfg.len, &e->info) == 0) {
                e->config = cfg;
                e->has_config = 1;
            } else {
                omn_buf_free(&cfg);
                d->st.units_dropped++;
                continue;
            }
        }
        if (!first && !e->has_audio_next) { d->st.units_dropped++; continue; }
        uint32_t ft = e->info.frame_ticks ? e->info.frame_ticks : 1024;
        int64_t dts = audio_dts(e, first, pts90, ft);
        first = 0;
        audio_emit(d, idx, h + hdr, flen - hdr, dts, pts90);
    }
}

static void opus_config(es *e)
{
    /* OpusHead (RFC 7845 5.1), mapping family 0: 1 or 2 channels */
    uint8_t head[19] = { 'O', 'p', 'u', 's', 'H', 'e', 'a', 'd', 1, 2, 0x38, 0x01, 0x80, 0xBB, 0, 0, 0, 0, 0 };
    head[9] = (uint8_t)(e->opus_channels == 1 ? 1 : 2);
    omn_buf cfg = {0};
    if (omn_buf_append(&cfg, head, sizeof head) == 0 &&
        omn_codec_probe(OMN_CODEC_OPUS, cfg.data, cfg.len, &e->info) == 0) {
        e->config = cfg;
        e->has_config = 1;
    } else {
        omn_buf_free(&cfg);
    }
}

/* Opus access units in TS (ETSI TS 102 366-style control header 0x7FE0). */
static void opus_units(omn_ts_demux *d, int idx, const uint8_t *p, size_t n, int64_t pts90, int has_pts)
{
    es *e = &d->streams[idx];
    if (!e->has_config) opus_config(e);
    if (!e->has_config) { d->st.pes_dropped++; return; }
    size_t off = 0;
    int first = has_pts;
    while (n - off >= 2) {
        if (p[off] != 0x7F || (p[off + 1] & 0xE0) != 0xE0) { d->st.pes_dropped++; return; }
        int start_trim = p[off + 1] & 0x10, end_trim = p[off + 1] & 0x08, ext = p[off + 1] & 0x04;
        off += 2;
        size_t au = 0;
        for (;;) {
            if (off >= n) { d->st.pes_dropped++; return; }
            uint8_t b = p[off++];
            au += b;
            if (b != 0xFF) break;
        }
        size_t skip = (start_trim ? 2 : 0) + (end_trim ? 2 : 0);
        if (n - off < skip) { d->st.pes_dropped++; return; }
        off += skip;
        if (ext) {
            if (off >= n || n - off - 1 < p[off]) { d->st.pes_dropped++; return; }
            off += 1 + (size_t)p[off];
        }
        if (au == 0 || au > n - off) { d->st.pes_dropped++; return; }
        uint32_t ticks = omn_opus_packet_ticks(p + off, au);
        if (ticks == 0 || (!first && !e->has_audio_next)) { d->st.units_dropped++; off += au; continue; }
        int64_t dts = audio_dts(e, first, pts90, ticks);
        first = 0;
        audio_emit(d, idx, p + off, au, dts, pts90);
        off += au;
    }
}

/* A complete PES of stream idx: header, then the codec's units. */
static void pes_done(omn_ts_demux *d, int idx)
{
    es *e = &d->streams[idx];
    const uint8_t *p = e->pes.data;
    size_t n = e->pes.len;
    int broken = e->pes_broken;
    es_reset_pes(e);
    if (broken) { d->st.pes_dropped++; return; }
    if (n < 9 || p[0] != 0 || p[1] != 0 || p[2] != 1) { d->st.pes_dropped++; return; }
    size_t hlen = 9 + (size_t)p[8];
    if (hlen > n || (p[6] & 0xC0) != 0x80) { d->st.pes_dropped++; return; }
    int flags = p[7] >> 6;
    int64_t pts = 0, dts = 0;
    int has_pts = 0;
    if (flags & 2) {
        if (p[8] < 5) { d->st.pes_dropped++; return; }
        pts = read_ts(p + 9);
        has_pts = 1;
        dts = pts;
        if (flags == 3) {
            if (p[8] < 10) { d->st.pes_dropped++; return; }
            dts = read_ts(p + 14);
        }
    }
    const uint8_t *payload = p + hlen;
    size_t plen = n - hlen;
    if (plen == 0) return;
    int64_t dts90 = 0, pts90 = 0;
    if (has_pts) {
        dts90 = unwrap_ts(d, e, dts);
        pts90 = unwrap33(dts90, pts);
        if (pts90 < dts90) pts90 = dts90;                 /* pts before dts: broken muxer */
    }
    if (is_video(e->codec)) {
        if (!has_pts) { d->st.pes_dropped++; return; }
        video_unit(d, idx, payload, plen, dts90, pts90);
    } else if (e->codec == OMN_CODEC_AAC) {
        aac_units(d, idx, payload, plen, pts90, has_pts);
    } else if (e->codec == OMN_CODEC_OPUS) {
        opus_units(d, idx, payload, plen, pts90, has_pts);
    }
}

static void pes_payload(omn_ts_demux *d, int idx, int pusi, const uint8_t *p, size_t n)
{
    es *e = &d->streams[idx];
    if (pusi) {
        if (e->pes_active) pes_done(d, idx);
        e->pes_active = 1;
        e->pes_total = 0;
        if (n >= 6 && p[0] == 0 && p[1] == 0 && p[2] == 1) {
            size_t plen = (size_t)p[4] << 8 | p[5];
            e->pes_total = plen ? 6 + plen : 0;
        }
    }
    if (!e->pes_active) return;                           /* joined mid-PES: wait for a start */
    size_t cap = is_video(e->codec) ? MAX_PES_VIDEO : MAX_PES_AUDIO;
    if (e->pes.len + n > cap || omn_buf_append(&e->pes, p, n) != 0) {
        d->st.pes_dropped++;
        es_reset_pes(e);
        if (is_video(e->codec)) e->need_key = 1;
        return;
    }
    if (e->pes_total && e->pes.len >= e->pes_total) {
        e->pes.len = e->pes_total;                        /* stuffing after the PES */
        pes_done(d, idx);
    }
}

/* ---- PSI ------------------------------------------------------------------------ */

static void program_changed(omn_ts_demux *d)
{
    /* what the old streams still hold goes out first, under the old set */
    for (int i = 0; i < d->nstreams; i++)
        if (d->streams[i].pes_active) pes_done(d, i);
    if (!d->announced && d->held) announce(d);
}

static void parse_pmt(omn_ts_demux *d, const uint8_t *s, size_t n)
{
    if (n < 16 || s[0] != OMN_TS_TABLE_PMT || !(s[5] & 1)) return;
    int program = s[3] << 8 | s[4];
    if (program != d->program_number) return;
    int version = s[5] >> 1 & 0x1F;
    size_t pinfo = (size_t)(s[10] & 0x0F) << 8 | s[11];
    size_t off = 12 + pinfo, end = n - 4;
    if (off > end) return;
    es next[MAX_STREAMS];
    int count = 0;
    memset(next, 0, sizeof next);
    while (off + 5 <= end) {
        int type = s[off], pid = (s[off + 1] & 0x1F) << 8 | s[off + 2];
        size_t ilen = (size_t)(s[off + 3] & 0x0F) << 8 | s[off + 4];
        const uint8_t *desc = s + off + 5;
        off += 5 + ilen;
        if (off > end) return;                            /* lying ES_info_length: whole PMT refused */
        int codec = 0, channels = 2, opus = 0;
        for (size_t k = 0; k + 2 <= ilen && k + 2 + desc[k + 1] <= ilen; k += 2 + desc[k + 1]) {
            const uint8_t *dd = desc + k + 2;
            size_t dl = desc[k + 1];
            if (desc[k] == OMN_TS_DESC_REGISTRATION && dl >= 4 && memcmp(dd, "Opus", 4) == 0) opus = 1;
            if (desc[k] == OMN_TS_DESC_EXTENSION && dl >= 2 && dd[0] == OMN_TS_DESC_EXT_OPUS)
                channels = dd[1] == 1 ? 1 : 2;
        }
        if (type == OMN_TS_STREAM_H264) codec = OMN_CODEC_H264;
        else if (type == OMN_TS_STREAM_HEVC) codec = OMN_CODEC_H265;
        else if (type == OMN_TS_STREAM_AAC_ADTS) codec = OMN_CODEC_AAC;
        else if (type == OMN_TS_STREAM_PRIVATE && opus) codec = OMN_CODEC_OPUS;
        if (!codec || count == MAX_STREAMS || pid == OMN_TS_PID_PAT || pid == d->pmt_pid) continue;
        int dup = 0;
        for (int i = 0; i < count; i++) dup |= next[i].pid == pid;
        if (dup) continue;
        next[count].pid = pid;
        next[count].stream_type = type;
        next[count].codec = codec;
        next[count].opus_channels = channels;
        count++;
    }
    d->pcr_pid = (s[8] & 0x1F) << 8 | s[9];
    int same = count == d->nstreams;
    for (int i = 0; same && i < count; i++)
        same = next[i].pid == d->streams[i].pid && next[i].codec == d->streams[i].codec &&
               next[i].opus_channels == d->streams[i].opus_channels;
    if (same && d->pmt_version >= 0) { d->pmt_version = version; return; }
    if (d->pmt_version >= 0) {
        d->st.pmt_changes++;
        program_changed(d);
    }
    d->pmt_version = version;
    /* streams that stay (same PID and codec) keep their state and config */
    es old[MAX_STREAMS];
    int nold = d->nstreams;
    memcpy(old, d->streams, sizeof old);
    for (int i = 0; i < count; i++) {
        es *e = &next[i];
        int kept = 0;
        for (int j = 0; j < nold; j++) {
            if (old[j].pid == e->pid && old[j].codec == e->codec && old[j].opus_channels == e->opus_channels) {
                *e = old[j];
                old[j].pid = -1;                           /* moved */
                kept = 1;
                break;
            }
        }
        if (!kept) { e->cc = -1; e->need_key = 1; }
        e->track = -1;
    }
    for (int j = 0; j < nold; j++)
        if (old[j].pid != -1) es_free(&old[j]);
    memcpy(d->streams, next, sizeof next);
    d->nstreams = count;
    d->announced = 0;
    if (all_configured(d)) announce(d);
}

static void parse_pat(omn_ts_demux *d, const uint8_t *s, size_t n)
{
    if (n < 12 || s[0] != OMN_TS_TABLE_PAT || !(s[5] & 1)) return;
    for (size_t off = 8; off + 4 <= n - 4; off += 4) {
        int program = s[off] << 8 | s[off + 1], pid = (s[off + 2] & 0x1F) << 8 | s[off + 3];
        if (program == 0) continue;                       /* network PID */
        if (pid != d->pmt_pid || program != d->program_number) {
            d->pmt_pid = pid;
            d->program_number = program;
            d->st.program_number = (uint32_t)program;
            d->pmt.active = 0;
            d->pmt.len = 0;
            d->pmt_version = d->pmt_version >= 0 ? 0x100 : -1;   /* the next PMT is compared in full */
        }
        return;
    }
}

static void section_done(omn_ts_demux *d, section *sec, int is_pat)
{
    if (omn_ts_crc32(sec->buf, sec->len) != 0) { d->st.crc_errors++; return; }
    if (is_pat) parse_pat(d, sec->buf, sec->len);
    else parse_pmt(d, sec->buf, sec->len);
}

static void psi_payload(omn_ts_demux *d, section *sec, int is_pat, int pusi, const uint8_t *p, size_t n)
{
    size_t off = 0;
    if (pusi) {
        if (n < 1) return;
        size_t ptr = p[0];
        off = 1;
        if (ptr > n - 1) { sec->active = 0; return; }
        if (sec->active) {                                /* the tail of the previous section */
            if (sec->len + ptr <= sizeof sec->buf) {
                memcpy(sec->buf + sec->len, p + off, ptr);
                sec->len += ptr;
            }
        }
        off += ptr;
        sec->active = 0;
        sec->len = 0;
    } else if (!sec->active) {
        return;
    }
    for (;;) {
        if (!sec->active) {
            if (off >= n || p[off] == 0xFF) return;       /* stuffing */
            sec->active = 1;
            sec->len = 0;
        }
        size_t take = n - off;
        if (sec->len + take > sizeof sec->buf) take = sizeof sec->buf - sec->len;
        memcpy(sec->buf + sec->len, p + off, take);
        sec->len += take;
        off += take;
        if (sec->len < 3) return;
        size_t total = 3 + ((size_t)(sec->buf[1] & 0x0F) << 8 | sec->buf[2]);
        if (total > MAX_SECTION || total < 8) { sec->active = 0; return; }
        if (sec->len < total) return;
        size_t extra = sec->len - total;                  /* bytes of the next section */
        sec->len = total;
        section_done(d, sec, is_pat);
        sec->active = 0;
        off -= extra;
    }
}

/* ---- packets -------------------------------------------------------------------- */

static int find_es(const omn_ts_demux *d, int pid)
{
    for (int i = 0; i < d->nstreams; i++)
        if (d->streams[i].pid == pid) return i;
    return -1;
}

/* Continuity: 1 = take the payload, 0 = duplicate (skip). A gap is counted
 * and returned as 2 (the PES being assembled is broken). */
static int continuity(omn_ts_demux *d, int *last, int cc, int discontinuity)
{
    int prev = *last;
    *last = cc;
    if (prev < 0 || discontinuity) return 1;
    if (cc == prev) return 0;
    if (cc == ((prev + 1) & 15)) return 1;
    d->st.cc_errors++;
    return 2;
}

static void packet(omn_ts_demux *d, const uint8_t *p)
{
    d->st.packets++;
    if (p[1] & 0x80) return;                              /* transport_error_indicator */
    int pusi = p[1] & 0x40, pid = (p[1] & 0x1F) << 8 | p[2];
    int afc = p[3] >> 4 & 3, cc = p[3] & 15;
    size_t off = 4;
    int disc = 0;
    if (afc & 2) {
        size_t alen = p[4];
        if (alen > 183) return;
        if (alen > 0) {
            disc = p[5] & 0x80;
            if ((p[5] & 0x10) && alen >= 7 && pid == d->pcr_pid) {
                int64_t base = (int64_t)p[6] << 25 | (int64_t)p[7] << 17 | (int64_t)p[8] << 9 |
                               (int64_t)p[9] << 1 | p[10] >> 7;
                d->st.last_pcr = base * 300 + ((p[10] & 1) << 8 | p[11]);
            }
        }
        off = 5 + alen;
    }
    if (!(afc & 1) || off >= OMN_TS_PACKET || pid == OMN_TS_PID_NULL) return;
    const uint8_t *pl = p + off;
    size_t n = OMN_TS_PACKET - off;
    if (pid == OMN_TS_PID_PAT) {
        int c = continuity(d, &d->pat.cc, cc, disc);
        if (c == 0) return;
        if (c == 2) d->pat.active = 0;
        psi_payload(d, &d->pat, 1, pusi, pl, n);
    } else if (pid == d->pmt_pid) {
        int c = continuity(d, &d->pmt.cc, cc, disc);
        if (c == 0) return;
        if (c == 2) d->pmt.active = 0;
        psi_payload(d, &d->pmt, 0, pusi, pl, n);
    } else {
        int idx = find_es(d, pid);
        if (idx < 0) return;
        es *e = &d->streams[idx];
        int c = continuity(d, &e->cc, cc, disc);
        if (c == 0) return;
        if (c == 2) {
            if (e->pes_active) e->pes_broken = 1;
            if (is_video(e->codec)) e->need_key = 1;
        }
        pes_payload(d, idx, pusi, pl, n);
    }
}

/* ---- public ----------------------------------------------------------------------- */

omn_ts_demux *omn_ts_demux_new(void)
{
    omn_ts_demux *d = calloc(1, sizeof *d);
    if (!d) return NULL;
    d->pmt_pid = -1;
    d->pmt_version = -1;
    d->pcr_pid = -1;
    d->pat.cc = d->pmt.cc = -1;
    d->st.last_pcr = -1;
    return d;
}

void omn_ts_demux_free(omn_ts_demux *d)
{
    if (!d) return;
    for (int i = 0; i < d->nstreams; i++) es_free(&d->streams[i]);
    for (unit *u = d->out; u; u = u->next)
        if (u->tracks_marker) free_snapshot(u->snap);
    free_units(d->out);
    free_units(d->held);
    free(d->cur);
    free_snapshot(d->current);
    free(d);
}

static void drop_cur(omn_ts_demux *d)
{
    free(d->cur);
    d->cur = NULL;
}

int omn_ts_demux_feed(omn_ts_demux *d, const uint8_t *data, size_t len)
{
    if (!d || (!data && len)) return OMN_CMAF_EINVAL;
    drop_cur(d);
    size_t i = 0;
    if (d->part_len) {                                    /* finish the packet split across calls */
        size_t need = OMN_TS_PACKET - d->part_len;
        if (len < need) {
            memcpy(d->part + d->part_len, data, len);
            d->part_len += len;
            return 0;
        }
        memcpy(d->part + d->part_len, data, need);
        d->part_len = 0;
        i = need;
        packet(d, d->part);
    }
    while (i < len) {
        if (data[i] != OMN_TS_SYNC) {
            /* lost sync: next 0x47 that has another one a packet later (or at the end) */
            if (d->synced) d->st.sync_losses++;
            d->synced = 0;
            i++;
            while (i < len && !(data[i] == OMN_TS_SYNC &&
                                (i + OMN_TS_PACKET >= len || data[i + OMN_TS_PACKET] == OMN_TS_SYNC))) i++;
            continue;
        }
        if (len - i < OMN_TS_PACKET) {
            memcpy(d->part, data + i, len - i);
            d->part_len = len - i;
            break;
        }
        d->synced = 1;
        packet(d, data + i);
        i += OMN_TS_PACKET;
    }
    return 0;
}

void omn_ts_demux_flush(omn_ts_demux *d)
{
    if (!d) return;
    drop_cur(d);
    for (int i = 0; i < d->nstreams; i++)
        if (d->streams[i].pes_active) pes_done(d, i);
    if (!d->announced && d->held) announce(d);
}

int omn_ts_demux_next(omn_ts_demux *d, omn_ts_unit *out)
{
    if (!d) return OMN_TS_NONE;
    drop_cur(d);
    unit *u = d->out;
    if (!u) return OMN_TS_NONE;
    d->out = u->next;
    if (!d->out) d->out_tail = NULL;
    d->out_count--;
    if (u->tracks_marker) {
        free_snapshot(d->current);
        d->current = u->snap;
        free(u);
        return OMN_TS_TRACKS;
    }
    d->cur = u;
    d->st.units++;
    if (out) {
        out->track = u->track;
        out->keyframe = u->keyframe;
        out->dts = u->dts;
        out->pts = u->pts;
        out->data = u->data;
        out->len = u->len;
    }
    return OMN_TS_FRAME;
}

int omn_ts_demux_track_count(const omn_ts_demux *d)
{
    return d && d->current ? d->current->n : 0;
}

int omn_ts_demux_track(const omn_ts_demux *d, int i, omn_ts_track *out)
{
    if (!d || !d->current || i < 0 || i >= d->current->n || !out) return -1;
    *out = d->current->tracks[i].t;
    out->config = d->current->tracks[i].config;
    return 0;
}

void omn_ts_demux_stats_get(const omn_ts_demux *d, omn_ts_stats *out)
{
    if (!d || !out) return;
    *out = d->st;
}

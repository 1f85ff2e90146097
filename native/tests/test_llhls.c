/* Unit tests for llhls_packager.c: part and segment cutting (§3.7),
 * B-frames, forced cuts, FOLLOW-mode audio alignment, emsg placement
 * (§4.3: events queued during a flush land in the next part, late events
 * are clamped, nothing is dropped), segment = concatenation of parts. */
#include "cmaf_testutil.h"

#define MAXP 512

typedef struct got {
    omn_llhls_part p[MAXP];
    int n;
} got;

static void drain(omn_llhls *pk, got *g)
{
    omn_llhls_part part;
    while (omn_llhls_pop_part(pk, &part)) {
        if (g->n < MAXP) g->p[g->n++] = part;
        else omn_buf_free(&part.bytes);
    }
}

static void got_free(got *g)
{
    for (int i = 0; i < g->n; i++) omn_buf_free(&g->p[i].bytes);
    g->n = 0;
}

static omn_llhls *new_video(uint64_t part_target, uint32_t seg_ms, uint32_t max_ms, int input)
{
    uint8_t rec[256];
    size_t n = make_avcc(rec, SPS_240P_BASE, PPS_240P_BASE, 4);
    omn_llhls_config cfg = {0};
    cfg.codec = OMN_CODEC_H264;
    cfg.codec_config = rec;
    cfg.codec_config_len = n;
    cfg.input_format = input;
    cfg.segment_mode = OMN_SEG_LEAD;
    cfg.part_target = part_target;
    cfg.segment_ms = seg_ms;
    cfg.max_segment_ms = max_ms;
    cfg.first_segment = 100;
    omn_llhls *p = NULL;
    CHECK(omn_llhls_new(&cfg, &p) == 0);
    return p;
}

/* One length-prefixed NAL unit whose payload encodes the frame number. */
static int feed_frame(omn_llhls *p, int i, int64_t dts, int64_t pts, int key)
{
    uint8_t f[12] = { 0, 0, 0, 8, key ? 0x65 : 0x41, 0x88, (uint8_t)(i >> 24), (uint8_t)(i >> 16),
                      (uint8_t)(i >> 8), (uint8_t)i, 0xAA, 0x55 };
    return omn_llhls_feed(p, f, sizeof f, dts, pts, key);
}

/* Checks what every part sequence must satisfy and returns the segment
 * durations (ticks) in seg_dur[]. */
static int check_parts(const got *g, int video, uint64_t pt, uint64_t first_seg, uint64_t *seg_dur)
{
    uint64_t seg = first_seg, next_tfdt = g->n ? g->p[0].start : 0;
    uint32_t idx = 0, seq = g->n ? g->p[0].sequence : 0;
    int nseg = 0;
    uint64_t acc = 0;
    for (int i = 0; i < g->n; i++) {
        const omn_llhls_part *p = &g->p[i];
        tpart t;
        CHECK(parse_part(p->bytes.data, p->bytes.len, &t) == 0);
        CHECK(t.bytes == p->bytes.len);
        CHECK_EQ(p->segment, seg);
        CHECK_EQ(p->part_index, idx);
        CHECK_EQ(p->sequence, seq + i);
        CHECK_EQ(t.seq, p->sequence);
        CHECK_EQ(t.tfdt, p->start);
        CHECK_EQ(p->start, next_tfdt);                  /* no gap, no overlap */
        CHECK_EQ(t.total_dur, p->duration);
        CHECK_EQ(t.count, p->sample_count);
        CHECK_EQ(t.nemsg, p->event_count);
        CHECK(p->duration <= pt || p->sample_count == 1);
        if (video) {
            CHECK_EQ(p->independent, t.flags[0] == OMN_SAMPLE_FLAGS_SYNC);
            CHECK(t.trun_version == 1);
        } else {
            CHECK(p->independent == 1 && t.trun_version == 0);
        }
        next_tfdt += p->duration;
        acc += p->duration;
        if (p->segment_end) {
            seg_dur[nseg++] = acc;
            acc = 0;
            seg++;
            idx = 0;
        } else {
            idx++;
        }
    }
    return nseg;
}

/* 30 fps, GOP 1 s, segment 2 s, PT 0.5 s = 15 frames. */
static void test_regular_cutting(void)
{
    omn_llhls *p = new_video(45000, 2000, 0, OMN_INPUT_RAW);
    got g = {0};
    for (int i = 0; i < 180; i++) {
        CHECK(feed_frame(p, i, i * 3000LL, i * 3000LL, i % 30 == 0) == 0);
        drain(p, &g);
        /* a sample's duration is known when the next one arrives, and the
         * part is released as soon as it is full: 15 frames, at frame 15 */
        if (i % 15 == 0) CHECK_EQ(g.n, i / 15);
    }
    CHECK(omn_llhls_finish(p, 0) == 0);
    drain(p, &g);
    CHECK_EQ(g.n, 12);
    uint64_t segd[16];
    CHECK_EQ(check_parts(&g, 1, 45000, 100, segd), 3);
    for (int s = 0; s < 3; s++) CHECK_EQ(segd[s], 180000);
    for (int i = 0; i < g.n; i++) {
        CHECK_EQ(g.p[i].duration, 45000);
        CHECK_EQ(g.p[i].part_index, i % 4);
        CHECK_EQ(g.p[i].segment_end, i % 4 == 3);
        CHECK_EQ(g.p[i].independent, i % 2 == 0);
    }
    /* payload: 4-byte length + NAL, in decode order */
    tpart t;
    CHECK(parse_part(g.p[1].bytes.data, g.p[1].bytes.len, &t) == 0);
    CHECK(t.count == 15 && t.size[0] == 12 && be32(t.mdat_payload) == 8);
    CHECK(be32(t.mdat_payload + 6) == 15);
    got_free(&g);
    omn_llhls_free(p);
}

/* RTMP-style input: ms timestamps x 90, so frame steps alternate 2970/3060 ticks, and the
 * part target has a quarter frame of slack (15 x 3000 + 750). Parts hold 15 frames and
 * each is released when the 16th frame arrives (it cannot fit), not one frame later. */
static void test_ms_jitter_releases_full_part_at_once(void)
{
    omn_llhls *p = new_video(45750, 2000, 0, OMN_INPUT_RAW);
    got g = {0};
    for (int i = 0; i < 120; i++) {
        int64_t dts = (i * 1000LL / 30) * 90;           /* 0, 2970, 5940, 9000, ... */
        CHECK(feed_frame(p, i, dts, dts, i % 30 == 0) == 0);
        drain(p, &g);
        if (i > 0 && i % 15 == 0) CHECK_EQ(g.n, i / 15);   /* frame i closes part i/15 */
    }
    CHECK(omn_llhls_finish(p, 0) == 0);
    drain(p, &g);
    uint64_t segd[16];
    CHECK_EQ(check_parts(&g, 1, 45750, 100, segd), 2);
    for (int i = 0; i < g.n; i++) {
        CHECK_EQ(g.p[i].sample_count, 15);
        CHECK(g.p[i].duration >= 44910 && g.p[i].duration <= 45090);
    }
    got_free(&g);
    omn_llhls_free(p);
}

/* Key frames every 2.5 s with a 2 s grid: cut at the first key frame at or
 * after each grid line (2.5, 5.0 (>= 4), 7.5 (>= 6)...), never between. */
static void test_late_keyframes(void)
{
    omn_llhls *p = new_video(45000, 2000, 0, OMN_INPUT_RAW);
    got g = {0};
    for (int i = 0; i < 300; i++) {
        CHECK(feed_frame(p, i, i * 3000LL, i * 3000LL, i % 75 == 0) == 0);
        drain(p, &g);
    }
    CHECK(omn_llhls_finish(p, 0) == 0);
    drain(p, &g);
    uint64_t segd[16];
    int ns = check_parts(&g, 1, 45000, 100, segd);
    CHECK_EQ(ns, 4);
    for (int s = 0; s < ns; s++) CHECK_EQ(segd[s], 225000);
    /* the last part of each segment is short (75 = 15*5 frames -> exact 5 parts) */
    for (int i = 0; i < g.n; i++) if (g.p[i].part_index == 0) CHECK(g.p[i].independent);
    got_free(&g);
    omn_llhls_free(p);
}

/* No key frame for a long time: forced cuts keep segments <= max; the grid
 * line stays pending so the next key frame cuts at once. */
static void test_forced_cut(void)
{
    omn_llhls *p = new_video(45000, 2000, 2499, OMN_INPUT_RAW);
    got g = {0};
    for (int i = 0; i < 240; i++) {
        int key = i == 0 || i == 200;                 /* key frames at 0 s and 6.667 s */
        CHECK(feed_frame(p, i, i * 3000LL, i * 3000LL, key) == 0);
        drain(p, &g);
    }
    CHECK(omn_llhls_finish(p, 0) == 0);
    drain(p, &g);
    uint64_t segd[16];
    int ns = check_parts(&g, 1, 45000, 100, segd);
    /* 2.466 s (74 frames), 2.466 s, then a key frame at frame 200 cuts
     * (grid line 4 s was missed), then the rest: 74, 74, 52, 40 frames */
    CHECK_EQ(ns, 4);
    CHECK_EQ(segd[0], 74 * 3000);
    CHECK_EQ(segd[1], 74 * 3000);
    CHECK_EQ(segd[2], 52 * 3000);
    CHECK_EQ(segd[3], 40 * 3000);
    for (int s = 0; s < ns; s++) CHECK(segd[s] * 1000 <= 2499ull * 90000);
    int seg_first = 1, n_nonindep_starts = 0;
    for (int i = 0; i < g.n; i++) {
        if (seg_first && !g.p[i].independent) n_nonindep_starts++;
        seg_first = g.p[i].segment_end;
    }
    CHECK_EQ(n_nonindep_starts, 2);
    got_free(&g);
    omn_llhls_free(p);
}

/* B-frames: decode order kept, CTO = pts - dts (signed), parts by dts. */
static void test_bframes(void)
{
    omn_llhls *p = new_video(45000, 2000, 0, OMN_INPUT_RAW);
    got g = {0};
    /* pattern per 3 frames in decode order: P (pts +2), B, B; shifted so the
     * first I has pts = dts + 3000 */
    for (int i = 0; i < 60; i++) {
        int64_t dts = i * 3000LL, pts;
        int k = i % 3;
        pts = k == 0 ? dts + 3 * 3000 : dts - 3000;
        if (i == 0) pts = dts + 3000;
        CHECK(feed_frame(p, i, dts, pts, i % 30 == 0) == 0);
        drain(p, &g);
    }
    CHECK(omn_llhls_finish(p, 0) == 0);
    drain(p, &g);
    CHECK_EQ(g.n, 4);
    int i = 0;
    for (int pi = 0; pi < g.n; pi++) {
        tpart t;
        CHECK(parse_part(g.p[pi].bytes.data, g.p[pi].bytes.len, &t) == 0);
        for (uint32_t s = 0; s < t.count; s++, i++) {
            int k = i % 3;
            int32_t want = i == 0 ? 3000 : k == 0 ? 9000 : -3000;
            CHECK_EQ(t.cto[s], want);
            CHECK_EQ(be32(t.mdat_payload + 12 * s + 6), i);
        }
    }
    CHECK_EQ(i, 60);
    CHECK(feed_frame(p, 0, 0, (int64_t)1 << 40, 1) == OMN_CMAF_ETIME);   /* cto beyond int32 */
    got_free(&g);
    omn_llhls_free(p);
}

static void test_errors_and_annexb(void)
{
    omn_llhls *p = new_video(45000, 2000, 0, OMN_INPUT_ANNEXB);
    got g = {0};
    uint8_t ab[] = { 0, 0, 0, 1, 0x09, 0xF0, 0, 0, 1, 0x65, 0x88, 0x84, 0, 0, 0, 1, 0x65, 0x11 };
    CHECK(omn_llhls_feed(p, ab, sizeof ab, 0, 0, 1) == 0);
    CHECK(omn_llhls_feed(p, ab, sizeof ab, 0, 0, 1) == OMN_CMAF_ETIME);      /* not after */
    CHECK(omn_llhls_feed(p, ab, 3, 3000, 3000, 0) == OMN_CMAF_EINVAL);       /* no NAL */
    CHECK(omn_llhls_feed(p, ab, sizeof ab, -5, 0, 0) == OMN_CMAF_ETIME);
    CHECK(omn_llhls_feed(p, ab, sizeof ab, 3000, 3000, 0) == 0);             /* state kept */
    CHECK(omn_llhls_finish(p, 0) == 0);
    drain(p, &g);
    CHECK_EQ(g.n, 1);
    tpart t;
    CHECK(parse_part(g.p[0].bytes.data, g.p[0].bytes.len, &t) == 0);
    CHECK(t.count == 2 && t.dur[0] == 3000 && t.dur[1] == 3000);  /* last = previous duration */
    static const uint8_t conv[] = { 0, 0, 0, 2, 0x09, 0xF0, 0, 0, 0, 3, 0x65, 0x88, 0x84,
                                    0, 0, 0, 2, 0x65, 0x11 };
    CHECK(t.size[0] == sizeof conv && memcmp(t.mdat_payload, conv, sizeof conv) == 0);
    /* after finish: a fresh timeline (any dts), next MSN, mfhd keeps counting */
    CHECK(omn_llhls_feed(p, ab, sizeof ab, 0, 0, 1) == 0);
    CHECK(omn_llhls_finish(p, 1234) == 0);
    drain(p, &g);
    CHECK(g.n == 2 && g.p[1].segment == 101 && g.p[1].part_index == 0 && g.p[1].sequence == 2);
    CHECK(g.p[1].duration == 1234 && g.p[1].segment_end);
    CHECK(omn_llhls_finish(p, 0) == 0);                  /* nothing to flush */
    drain(p, &g);
    CHECK_EQ(g.n, 2);
    got_free(&g);
    omn_llhls_free(p);

    /* raw input with lengths that do not tile the sample */
    p = new_video(45000, 2000, 0, OMN_INPUT_RAW);
    uint8_t bad[] = { 0, 0, 0, 9, 0x65, 1, 2 };
    CHECK(omn_llhls_feed(p, bad, sizeof bad, 0, 0, 1) == OMN_CMAF_EINVAL);
    uint8_t zero[] = { 0, 0, 0, 0 };
    CHECK(omn_llhls_feed(p, zero, sizeof zero, 0, 0, 1) == OMN_CMAF_EINVAL);
    omn_llhls_free(p);

    /* config validation */
    omn_llhls_config cfg = {0};
    omn_llhls *q = (omn_llhls *)&cfg;
    static const uint8_t asc[] = { 0x11, 0x90 };
    cfg.codec = OMN_CODEC_AAC;
    cfg.codec_config = asc;
    cfg.codec_config_len = 2;
    cfg.part_target = 24000;
    cfg.segment_ms = 0;
    CHECK(omn_llhls_new(&cfg, &q) == OMN_CMAF_EINVAL && q == NULL);
    cfg.segment_ms = 2000;
    cfg.input_format = OMN_INPUT_ANNEXB;
    CHECK(omn_llhls_new(&cfg, &q) == OMN_CMAF_EINVAL);
    cfg.input_format = OMN_INPUT_ADTS;
    cfg.codec_config_len = 1;
    CHECK(omn_llhls_new(&cfg, &q) == OMN_CMAF_ECONFIG);
}

static omn_llhls *new_aac(int mode, uint64_t pt, uint32_t seg_ms, int adts)
{
    static const uint8_t asc[] = { 0x11, 0x90 };
    omn_llhls_config cfg = {0};
    cfg.codec = OMN_CODEC_AAC;
    cfg.codec_config = asc;
    cfg.codec_config_len = 2;
    cfg.input_format = adts ? OMN_INPUT_ADTS : OMN_INPUT_RAW;
    cfg.segment_mode = mode;
    cfg.part_target = pt;
    cfg.segment_ms = seg_ms;
    cfg.first_segment = 0;
    cfg.emsg_value = "0";
    omn_llhls *p = NULL;
    CHECK(omn_llhls_new(&cfg, &p) == 0);
    return p;
}

static int feed_aac(omn_llhls *p, int i)
{
    uint8_t f[16] = { 0x21, 0x10, (uint8_t)(i >> 8), (uint8_t)i };
    return omn_llhls_feed(p, f, sizeof f, i * 1024LL, i * 1024LL, 0);
}

/* Audio-only (LEAD): parts of 23 frames (PT 0.5005 s = 24024 ticks),
 * segments at the first frame at/after each 2 s grid line. */
static void test_audio_lead(void)
{
    omn_llhls *p = new_aac(OMN_SEG_LEAD, 24024, 2000, 0);
    omn_codec_info info;
    omn_llhls_info(p, &info);
    CHECK(info.timescale == 48000 && strcmp(info.codecs, "mp4a.40.2") == 0);
    got g = {0};
    for (int i = 0; i < 300; i++) {
        CHECK(feed_aac(p, i) == 0);
        drain(p, &g);
        /* released as soon as the 24th frame cannot fit: no waiting for the 25th */
        if (i == 23) CHECK_EQ(g.n, 1);
    }
    CHECK(omn_llhls_finish(p, 0) == 0);
    drain(p, &g);
    uint64_t segd[16];
    int ns = check_parts(&g, 0, 24024, 0, segd);
    CHECK_EQ(ns, 4);
    /* grid 96000 ticks: first frame >= 96000 is 94 (96256); then >= 192000: 188 (192512) */
    CHECK_EQ(segd[0], 94 * 1024);
    CHECK_EQ(segd[1], 94 * 1024);
    CHECK_EQ(segd[2], 94 * 1024);
    CHECK_EQ(segd[3], 18 * 1024);
    for (int i = 0; i < g.n; i++) {
        tpart t;
        parse_part(g.p[i].bytes.data, g.p[i].bytes.len, &t);
        for (uint32_t s = 0; s < t.count; s++) CHECK_EQ(t.dur[s], 1024);
        if (!g.p[i].segment_end) CHECK(g.p[i].duration * 100 >= 24024 * 85);   /* >= 0.85 PT */
        /* no sliver at the end of a full segment: 94 frames at PT 23 frames (0.85 PT = 20)
         * are cut 20 21 21 21 11, not 23 23 23 23 2 */
        else if (i < g.n - 1) CHECK(g.p[i].duration * 3 >= 24024);
    }
    got_free(&g);
    omn_llhls_free(p);
}

/* FOLLOW: audio holds at the grid line until the video's cut time arrives,
 * then cuts at its first frame at/after it; nothing straddles the cut. */
static void test_audio_follow(void)
{
    omn_llhls *p = new_aac(OMN_SEG_FOLLOW, 24024, 2000, 1);
    got g = {0};
    /* ADTS frames: 7-byte header + 9 bytes payload */
    for (int i = 0; i < 130; i++) {
        uint8_t f[16] = { 0xFF, 0xF1, 0x4C, 0x80, 0x02, 0x1F, 0xFC, 0x21, (uint8_t)i };
        CHECK(omn_llhls_feed(p, f, sizeof f, i * 1024LL, 0, 0) == 0);
        drain(p, &g);
    }
    /* 130 frames = 2.77 s; grid 2 s = 96000 ticks: frames >= 94 are held */
    uint64_t emitted = 0;
    for (int i = 0; i < g.n; i++) emitted += g.p[i].duration;
    CHECK(emitted <= 94 * 1024);
    CHECK_EQ(g.n, 4);                        /* 4 x 23 frames */
    /* video cut at 2.5 s (key frame late): 225000 @ 90 kHz */
    CHECK(omn_llhls_request_cut(p, 225000, 90000) == 0);
    drain(p, &g);
    /* first frame at/after 2.5 s = 120000 ticks is frame 118 (120832) */
    uint64_t segd[16];
    int ns = check_parts(&g, 0, 24024, 0, segd);
    CHECK_EQ(ns, 1);
    CHECK_EQ(segd[0], 118 * 1024);
    CHECK(g.p[g.n - 1].segment_end);
    /* a stale request (before the current segment start) is void */
    CHECK(omn_llhls_request_cut(p, 1000, 90000) == 0);
    for (int i = 130; i < 260; i++) {
        uint8_t f[16] = { 0xFF, 0xF1, 0x4C, 0x80, 0x02, 0x1F, 0xFC, 0x21, (uint8_t)i };
        CHECK(omn_llhls_feed(p, f, sizeof f, i * 1024LL, 0, 0) == 0);
        drain(p, &g);
    }
    /* next grid line 4 s (192000): the next cut request arrives early this time */
    CHECK(omn_llhls_request_cut(p, 4000, 1000) == 0);
    CHECK(omn_llhls_finish(p, 0) == 0);
    drain(p, &g);
    ns = check_parts(&g, 0, 24024, 0, segd);
    CHECK_EQ(ns, 3);
    CHECK_EQ(segd[1], (188 - 118) * 1024);   /* frame 188 = 192512 >= 192000 */
    CHECK_EQ(segd[2], (260 - 188) * 1024);
    /* ADTS headers stripped */
    tpart t;
    CHECK(parse_part(g.p[0].bytes.data, g.p[0].bytes.len, &t) == 0);
    CHECK(t.size[0] == 9 && t.mdat_payload[0] == 0x21);
    uint8_t badf[16] = { 0xFF, 0xF1, 0x4C, 0x80, 0x02, 0x3F, 0xFC };   /* says 17 bytes */
    CHECK(omn_llhls_feed(p, badf, sizeof badf, 999999, 0, 0) == OMN_CMAF_EINVAL);
    got_free(&g);
    omn_llhls_free(p);

    /* the lead track never answers: the hold gives up after a segment */
    p = new_aac(OMN_SEG_FOLLOW, 24024, 2000, 0);
    for (int i = 0; i < 400; i++) {
        CHECK(feed_aac(p, i) == 0);
        drain(p, &g);
    }
    ns = check_parts(&g, 0, 24024, 0, segd);
    CHECK(ns >= 1 && segd[0] == 94 * 1024);
    got_free(&g);
    omn_llhls_free(p);

    /* the video's key frames sit 21 ms after each grid line (its first frame came late):
     * the expected end learns that lag, so no segment ends in a 2-frame sliver part
     * (93-94 frames at PT 23: 20 21 21 21 11, not 23 23 23 23 2) */
    p = new_aac(OMN_SEG_FOLLOW, 24024, 2000, 0);
    uint64_t next_cut = 96000 + 1008;
    for (int i = 0; i < 600; i++) {
        if ((uint64_t)i * 1024 >= next_cut) {
            CHECK(omn_llhls_request_cut(p, next_cut, 48000) == 0);
            next_cut += 96000;
        }
        CHECK(feed_aac(p, i) == 0);
        drain(p, &g);
    }
    CHECK(omn_llhls_finish(p, 0) == 0);
    drain(p, &g);
    ns = check_parts(&g, 0, 24024, 0, segd);
    CHECK(ns >= 6);
    int first_end = 0;
    while (!g.p[first_end].segment_end) first_end++;
    for (int i = first_end + 1; i < g.n - 1; i++) {
        if (!g.p[i].segment_end) CHECK(g.p[i].duration * 100 >= 24024 * 85);
        else CHECK(g.p[i].duration * 3 >= 24024);
    }
    got_free(&g);
    omn_llhls_free(p);
}

static void test_opus(void)
{
    uint8_t head[19] = { 'O', 'p', 'u', 's', 'H', 'e', 'a', 'd', 1, 2, 0x38, 0x01, 0x80, 0xBB, 0, 0, 0, 0, 0 };
    omn_llhls_config cfg = {0};
    cfg.codec = OMN_CODEC_OPUS;
    cfg.codec_config = head;
    cfg.codec_config_len = sizeof head;
    cfg.part_target = 24000;
    cfg.segment_ms = 1000;
    omn_llhls *p = NULL;
    CHECK(omn_llhls_new(&cfg, &p) == 0);
    got g = {0};
    uint8_t pkt[3] = { 0xFC, 0xFF, 0xFE };             /* config 31 (CELT 20 ms), 1 frame */
    for (int i = 0; i < 60; i++) {
        CHECK(omn_llhls_feed(p, pkt, sizeof pkt, i * 960LL, 0, 0) == 0);
        drain(p, &g);
    }
    uint8_t bad[2] = { 0x03, 0x00 };                  /* code 3 with 0 frames */
    CHECK(omn_llhls_feed(p, bad, sizeof bad, 60 * 960LL, 0, 0) == OMN_CMAF_EINVAL);
    CHECK(omn_llhls_finish(p, 0) == 0);
    drain(p, &g);
    uint64_t segd[8];
    CHECK_EQ(check_parts(&g, 0, 24000, 0, segd), 2);
    CHECK(segd[0] == 48000 && segd[1] == 10 * 960);   /* last frame: TOC duration */
    CHECK_EQ(g.p[0].duration, 24000);                 /* 25 x 960 = PT exactly */
    got_free(&g);
    omn_llhls_free(p);
}

/* Events: placement, clamping, never dropped, queued during a flush. */
static void test_events(void)
{
    omn_llhls *p = new_video(45000, 2000, 0, OMN_INPUT_RAW);
    got g = {0};
    omn_buf fr = {0}, tag = {0};
    omn_id3_add_txxx(&fr, (const uint8_t *)"AirenSoft", 9, (const uint8_t *)"OvenMediaEngine", 15);
    omn_id3_tag(&tag, fr.data, fr.len);

    /* event at 100 ms, queued before anything: goes into part 0 [0, 500) */
    CHECK(omn_llhls_add_event(p, 100, 1, tag.data, tag.len) == 0);
    /* event at 1200 ms: waits for the part that covers it ([1000, 1500)) */
    CHECK(omn_llhls_add_event(p, 1200, 2, tag.data, tag.len) == 0);
    for (int i = 0; i < 16; i++) {
        CHECK(feed_frame(p, i, i * 3000LL, i * 3000LL, i % 30 == 0) == 0);
        drain(p, &g);
    }
    CHECK_EQ(g.n, 1);                                 /* part 0 flushed inside the last feed */
    CHECK_EQ(g.p[0].event_count, 1);
    /* queued right after that flush, timestamped inside the flushed part
     * (a late event): lands in the next part, clamped to its start */
    CHECK(omn_llhls_add_event(p, 400, 3, tag.data, tag.len) == 0);
    for (int i = 16; i < 60; i++) {
        CHECK(feed_frame(p, i, i * 3000LL, i * 3000LL, i % 30 == 0) == 0);
        drain(p, &g);
    }
    /* far-future event: never dropped, finish flushes it into the last part */
    CHECK(omn_llhls_add_event(p, 999999, 4, tag.data, tag.len) == 0);
    CHECK(omn_llhls_finish(p, 0) == 0);
    drain(p, &g);
    uint64_t segd[8];
    CHECK_EQ(check_parts(&g, 1, 45000, 100, segd), 1);
    CHECK_EQ(g.n, 4);
    static const int want_events[4] = { 1, 1, 1, 1 };
    static const uint32_t want_id[4] = { 1, 3, 2, 4 };
    static const uint64_t want_t[4] = { 100, 500, 1200, 1999 };
    for (int i = 0; i < g.n; i++) {
        CHECK_EQ(g.p[i].event_count, want_events[i]);
        tpart t;
        CHECK(parse_part(g.p[i].bytes.data, g.p[i].bytes.len, &t) == 0);
        if (t.nemsg < 1) continue;
        const uint8_t *e = t.emsg[0].p;
        CHECK(e[8] == 1 && be32(e + 12) == 1000);
        CHECK_EQ(be64(e + 16), want_t[i]);
        CHECK(be32(e + 24) == 0xFFFFFFFFu && be32(e + 28) == want_id[i]);
        CHECK(memcmp(e + 32, "https://aomedia.org/emsg/ID3\0OvenMediaEngine\0", 45) == 0);
        CHECK(t.emsg[0].size == 123 && memcmp(e + 77, tag.data, tag.len) == 0);
        /* presentation time inside [tfdt, tfdt + dur) */
        CHECK(be64(e + 16) * 90 >= t.tfdt && be64(e + 16) * 90 < t.tfdt + t.total_dur);
    }
    got_free(&g);

    /* several events due in one part: all in front of its moof, in order */
    CHECK(omn_llhls_add_event(p, 10, 7, tag.data, tag.len) == 0);
    CHECK(omn_llhls_add_event(p, 20, 8, tag.data, tag.len) == 0);
    CHECK(feed_frame(p, 0, 0, 0, 1) == 0);
    CHECK(omn_llhls_finish(p, 0) == 0);
    drain(p, &g);
    tpart t;
    CHECK(g.n == 1 && parse_part(g.p[0].bytes.data, g.p[0].bytes.len, &t) == 0);
    CHECK(t.nemsg == 2 && be32(t.emsg[0].p + 28) == 7 && be32(t.emsg[1].p + 28) == 8);
    /* clamp: part [0, 3000 ticks) = [0, 33.3 ms) -> presentation times 10, 20 */
    CHECK(be64(t.emsg[0].p + 16) == 10 && be64(t.emsg[1].p + 16) == 20);
    got_free(&g);

    /* an event pending at free time is released with the packager (ASan) */
    CHECK(omn_llhls_add_event(p, 5, 9, tag.data, tag.len) == 0);
    CHECK(omn_llhls_add_event(p, 5, 9, NULL, 0) == OMN_CMAF_EINVAL);
    omn_buf_free(&fr);
    omn_buf_free(&tag);
    omn_llhls_free(p);
}

/* Segment bytes = concatenation of its parts; the init segment comes with
 * 'aid3'; pending data is released by omn_llhls_free. */
static void test_segment_concat(void)
{
    omn_llhls *p = new_video(45000, 1000, 0, OMN_INPUT_RAW);
    omn_buf init = {0};
    CHECK(omn_llhls_init_segment(p, &init) == 0);
    tbox b;
    CHECK(find_nth(init.data, init.len, "ftyp", 0, &b) == 0 && memcmp(b.body + 16, "aid3", 4) == 0);
    got g = {0};
    omn_buf fr = {0}, tag = {0};
    omn_id3_add_text(&fr, "TIT2", (const uint8_t *)"x", 1);
    omn_id3_tag(&tag, fr.data, fr.len);
    for (int i = 0; i < 95; i++) {
        if (i == 40) omn_llhls_add_event(p, 1400, 1, tag.data, tag.len);
        CHECK(feed_frame(p, i, i * 3000LL, i * 3000LL, i % 30 == 0) == 0);
        drain(p, &g);
    }
    /* segments 100 and 101 complete: parse each as a run of parts */
    omn_buf seg = {0};
    int pi = 0;
    for (uint64_t s = 100; s <= 101; s++) {
        seg.len = 0;
        int first = pi, nparts = 0;
        while (pi < g.n && g.p[pi].segment == s) {
            omn_buf_append(&seg, g.p[pi].bytes.data, g.p[pi].bytes.len);
            pi++;
            nparts++;
        }
        CHECK(nparts == 2 && g.p[pi - 1].segment_end);
        size_t off = 0;
        for (int k = first; k < pi; k++) {
            tpart t;
            CHECK(parse_part(seg.data + off, seg.len - off, &t) == 0);
            CHECK(t.bytes == g.p[k].bytes.len && memcmp(seg.data + off, g.p[k].bytes.data, t.bytes) == 0);
            CHECK(t.tfdt == g.p[k].start);
            off += t.bytes;
        }
        CHECK(off == seg.len && boxes_tile(seg.data, seg.len));
        if (s == 100) CHECK(g.p[first].event_count == 0 && g.p[first + 1].event_count == 0);
        if (s == 101) CHECK(g.p[first].event_count == 1);
    }
    omn_buf_free(&seg);
    omn_buf_free(&init);
    omn_buf_free(&fr);
    omn_buf_free(&tag);
    got_free(&g);
    omn_llhls_free(p);                                /* with a pending sample and an open part */
}

int main(void)
{
    test_regular_cutting();
    test_ms_jitter_releases_full_part_at_once();
    test_late_keyframes();
    test_forced_cut();
    test_bframes();
    test_errors_and_annexb();
    test_audio_lead();
    test_audio_follow();
    test_opus();
    test_events();
    test_segment_concat();
    if (failures) { fprintf(stderr, "%d failure(s)\n", failures); return 1; }
    puts("ok");
    return 0;
}

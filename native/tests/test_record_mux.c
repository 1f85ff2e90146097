/* test_record_mux.c - the record/push muxers: multi-track fMP4 fragments
 * (fmp4_rec.c, cmaf_part.c), MPEG-TS (mpegts_mux.c) and FLV bodies
 * (flv_mux.c). Run under ASan/UBSan by `make test`. */
#include "cmaf_testutil.h"

static const uint8_t ASC_LC_48K_STEREO[] = {0x11, 0x90};

static omn_mux_track tracks2(uint8_t *avcc, size_t *avcc_len)
{
    *avcc_len = make_avcc(avcc, SPS_240P_BASE, PPS_240P_BASE, 4);
    return (omn_mux_track){OMN_CODEC_H264, avcc, *avcc_len, 90000};
}

/* A fake access unit: one 4-byte length-prefixed NAL (IDR 0x65 / non-IDR 0x41). */
static size_t make_au(uint8_t *out, int key, size_t body)
{
    out[0] = 0; out[1] = 0; out[2] = (uint8_t)(body >> 8); out[3] = (uint8_t)body;
    out[4] = key ? 0x65 : 0x41;
    for (size_t i = 1; i < body; i++) out[4 + i] = (uint8_t)(i * 7 + 1);
    out[4 + body - 1] = 0x80;    /* rbsp_stop_one_bit: a NAL never ends in 0x00 (Annex B would trim it) */
    return body + 4;
}

static void test_fmp4_two_tracks(void)
{
    uint8_t avcc[256];
    size_t avcc_len;
    omn_mux_track t[2];
    t[0] = tracks2(avcc, &avcc_len);
    t[1] = (omn_mux_track){OMN_CODEC_AAC, ASC_LC_48K_STEREO, 2, 48000};
    omn_fmp4_rec *r;
    CHECK_EQ(omn_fmp4_rec_new(t, 2, &r), 0);
    omn_buf init = {0};
    CHECK_EQ(omn_fmp4_rec_init_segment(r, &init), 0);
    CHECK(boxes_tile(init.data, init.len));
    tbox b;
    CHECK_EQ(find_path(init.data, init.len, "moov/trak/mdia/minf/stbl/stsd/avc1/avcC", &b), 0);
    /* two traks and two trex, track IDs 1 and 2 */
    tbox moov, trak2, mvex, trex2;
    CHECK_EQ(find_nth(init.data, init.len, "moov", 0, &moov), 0);
    CHECK_EQ(find_nth(moov.body, moov.body_len, "trak", 1, &trak2), 0);
    CHECK_EQ(find_path(trak2.body, trak2.body_len, "mdia/minf/stbl/stsd/mp4a/esds", &b), 0);
    CHECK_EQ(find_path(trak2.body, trak2.body_len, "tkhd", &b), 0);
    CHECK_EQ(be32(b.body + 12), 2);
    CHECK_EQ(find_path(trak2.body, trak2.body_len, "mdia/mdhd", &b), 0);
    CHECK_EQ(be32(b.body + 12), 48000);
    CHECK_EQ(find_nth(moov.body, moov.body_len, "mvex", 0, &mvex), 0);
    CHECK_EQ(find_nth(mvex.body, mvex.body_len, "trex", 1, &trex2), 0);
    CHECK_EQ(be32(trex2.body + 4), 2);

    /* 3 video frames at 3000-tick steps (pts = dts + 3000), 4 audio frames */
    uint8_t au[64];
    size_t n;
    for (int i = 0; i < 3; i++) {
        n = make_au(au, i == 0, 10 + i);
        CHECK_EQ(omn_fmp4_rec_feed(r, 0, au, n, 3000 * i, 3000 * i + 3000, i == 0), 0);
    }
    uint8_t aac[20] = {0x21, 1, 2, 3};
    for (int i = 0; i < 4; i++) CHECK_EQ(omn_fmp4_rec_feed(r, 1, aac, 5 + i, 1024 * i, 1024 * i, 1), 0);
    /* out of order and negative: rejected */
    CHECK_EQ(omn_fmp4_rec_feed(r, 1, aac, 5, 1024, 1024, 1), OMN_CMAF_ETIME);
    CHECK_EQ(omn_fmp4_rec_feed(r, 1, aac, 5, -1, -1, 1), OMN_CMAF_EINVAL);
    CHECK_EQ(omn_fmp4_rec_feed(r, 2, aac, 5, 9000, 9000, 1), OMN_CMAF_EINVAL);
    CHECK(omn_fmp4_rec_pending_bytes(r) > 0);
    CHECK_EQ(omn_fmp4_rec_duration_ms(r), 66);

    omn_buf frag = {0};
    CHECK_EQ(omn_fmp4_rec_flush(r, &frag), 0);
    CHECK(boxes_tile(frag.data, frag.len));
    /* moof with two trafs: video 2 samples (the third waits), audio 3 samples */
    tbox moof, traf1, traf2, trun, mdat, tfhd;
    CHECK_EQ(find_nth(frag.data, frag.len, "moof", 0, &moof), 0);
    CHECK_EQ(find_nth(frag.data, frag.len, "mdat", 0, &mdat), 0);
    CHECK_EQ(find_nth(moof.body, moof.body_len, "traf", 0, &traf1), 0);
    CHECK_EQ(find_nth(moof.body, moof.body_len, "traf", 1, &traf2), 0);
    CHECK_EQ(find_path(traf1.body, traf1.body_len, "trun", &trun), 0);
    CHECK_EQ(be32(trun.body + 4), 2);
    CHECK_EQ(be32(trun.body + 12), 3000);                 /* duration */
    CHECK_EQ(be32(trun.body + 16), 14);                   /* size */
    CHECK_EQ(be32(trun.body + 20), OMN_SAMPLE_FLAGS_SYNC);
    CHECK_EQ((int32_t)be32(trun.body + 24), 3000);        /* cto */
    uint32_t off1 = be32(trun.body + 8);
    CHECK_EQ(off1, moof.size + 8);
    CHECK_EQ(memcmp(frag.data + off1 + 4, "\x65", 1), 0); /* first video NAL header at data_offset+4 */
    CHECK_EQ(find_path(traf2.body, traf2.body_len, "tfhd", &tfhd), 0);
    CHECK_EQ(be32(tfhd.body + 4), 2);
    CHECK_EQ(find_path(traf2.body, traf2.body_len, "trun", &trun), 0);
    CHECK_EQ(be32(trun.body + 4), 3);
    CHECK_EQ(be32(trun.body + 8), off1 + 14 + 15);        /* after the two video samples */
    CHECK_EQ(mdat.body_len, 14 + 15 + 5 + 6 + 7);

    /* finish: the rest, audio last duration = 1024 (frame), video = previous step */
    omn_buf last = {0};
    CHECK_EQ(omn_fmp4_rec_finish(r, &last), 0);
    CHECK_EQ(find_nth(last.data, last.len, "moof", 0, &moof), 0);
    CHECK_EQ(find_nth(moof.body, moof.body_len, "traf", 0, &traf1), 0);
    CHECK_EQ(find_path(traf1.body, traf1.body_len, "tfdt", &b), 0);
    CHECK_EQ(be64(b.body + 4), 6000);
    CHECK_EQ(find_path(traf1.body, traf1.body_len, "trun", &trun), 0);
    CHECK_EQ(be32(trun.body + 12), 3000);
    CHECK_EQ(find_path(moof.body, moof.body_len, "mfhd", &b), 0);
    CHECK_EQ(be32(b.body + 4), 2);                        /* sequence numbers count fragments */
    CHECK_EQ(omn_fmp4_rec_pending_bytes(r), 0);
    /* nothing pending: flush appends nothing */
    size_t before = last.len;
    CHECK_EQ(omn_fmp4_rec_flush(r, &last), 0);
    CHECK_EQ(last.len, before);
    omn_buf_free(&init);
    omn_buf_free(&frag);
    omn_buf_free(&last);
    omn_fmp4_rec_free(r);

    /* bad config: nothing created */
    omn_mux_track bad = {OMN_CODEC_H264, (const uint8_t *)"\x01", 1, 90000};
    CHECK(omn_fmp4_rec_new(&bad, 1, &r) < 0);
    CHECK(r == NULL);
}

/* TS checks: sync bytes, continuity counters per PID, PAT/PMT CRC, and the
 * reassembled PES payloads. */
static uint32_t crc32_ref(const uint8_t *p, size_t n)
{
    uint32_t crc = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        crc ^= (uint32_t)p[i] << 24;
        for (int k = 0; k < 8; k++) crc = (crc & 0x80000000u) ? (crc << 1) ^ 0x04C11DB7u : crc << 1;
    }
    return crc;
}

static void test_mpegts(void)
{
    uint8_t avcc[256];
    size_t avcc_len;
    omn_mux_track t[2];
    t[0] = tracks2(avcc, &avcc_len);
    t[1] = (omn_mux_track){OMN_CODEC_AAC, ASC_LC_48K_STEREO, 2, 48000};
    omn_ts_mux *m;
    CHECK_EQ(omn_ts_mux_new(t, 2, &m), 0);
    omn_buf out = {0};
    uint8_t au[600];
    size_t n = make_au(au, 1, 500);
    CHECK_EQ(omn_ts_mux_write(m, &out, 0, au, n, 0, 3000, 1), 0);
    uint8_t aac[200];
    memset(aac, 0x21, sizeof aac);
    CHECK_EQ(omn_ts_mux_write(m, &out, 1, aac, 170, 1024, 1024, 1), 0);
    n = make_au(au, 0, 183 - 4 - 6);    /* near a packet boundary: stuffing paths */
    CHECK_EQ(omn_ts_mux_write(m, &out, 0, au, n, 3000, 3000, 0), 0);
    CHECK_EQ(omn_ts_mux_write(m, &out, 2, au, n, 3000, 3000, 0), OMN_CMAF_EINVAL);
    uint8_t bad[3] = {0, 0, 9};
    CHECK_EQ(omn_ts_mux_write(m, &out, 0, bad, 3, 6000, 6000, 0), OMN_CMAF_EINVAL);
    CHECK_EQ(out.len % 188, 0);

    int cc[0x2000];
    for (int i = 0; i < 0x2000; i++) cc[i] = -1;
    uint8_t pes[3][2000];
    size_t pes_len[3] = {0};
    int pes_index = -1, pats = 0, pmts = 0;
    for (size_t off = 0; off < out.len; off += 188) {
        const uint8_t *p = out.data + off;
        CHECK_EQ(p[0], 0x47);
        int pid = (p[1] & 0x1F) << 8 | p[2];
        int pusi = p[1] & 0x40;
        int c = p[3] & 0x0F;
        if (cc[pid] >= 0) CHECK_EQ(c, (cc[pid] + 1) & 0x0F);
        cc[pid] = c;
        size_t h = 4;
        if (p[3] & 0x20) h = 5 + p[4];
        CHECK(h <= 188);
        if (pid == 0 || pid == 0x1000) {
            const uint8_t *s = p + h + 1;
            size_t sl = ((s[1] & 0x0F) << 8 | s[2]) + 3;
            CHECK_EQ(crc32_ref(s, sl), 0);               /* CRC over section incl. CRC = 0 */
            if (pid == 0) pats++; else pmts++;
            if (pid == 0x1000) {
                CHECK_EQ(s[12], 0x1B);                   /* H.264 */
                CHECK_EQ(s[17], 0x0F);                   /* AAC ADTS */
            }
            continue;
        }
        if (pusi) pes_index++;
        CHECK(pes_index >= 0 && pes_index < 3);
        if (pes_index < 0 || pes_index > 2) break;
        memcpy(pes[pes_index] + pes_len[pes_index], p + h, 188 - h);
        pes_len[pes_index] += 188 - h;
    }
    CHECK_EQ(pats, 1);     /* the first key frame; then nothing is due within 500 ms */
    CHECK_EQ(pmts, 1);
    /* PES 0: video with PTS and DTS, AUD, SPS, PPS then the IDR */
    CHECK_EQ(pes[0][3], 0xE0);
    CHECK_EQ(pes[0][7], 0xC0);
    const uint8_t *es = pes[0] + 9 + pes[0][8];
    static const uint8_t aud[] = {0, 0, 0, 1, 0x09, 0xF0, 0, 0, 0, 1, 0x67};
    CHECK_EQ(memcmp(es, aud, sizeof aud), 0);
    CHECK_EQ(pes_len[0] - 9 - pes[0][8], 6 + (4 + 24) + (4 + 5) + 4 + 500);
    /* PES 1: audio, bounded length, PTS only, ADTS header with the frame length */
    CHECK_EQ(pes[1][3], 0xC0);
    CHECK_EQ(pes[1][7], 0x80);
    CHECK_EQ(be16(pes[1] + 4), 3 + 5 + 7 + 170);
    const uint8_t *adts = pes[1] + 14;
    CHECK_EQ(adts[0], 0xFF);
    CHECK_EQ(adts[1], 0xF1);
    CHECK_EQ(((adts[3] & 3) << 11) | (adts[4] << 3) | (adts[5] >> 5), 177);
    CHECK_EQ((adts[2] >> 2) & 0xF, 3);                   /* 48 kHz */
    /* PTS of the audio frame: 1024 ticks at 48 kHz = 1920 at 90 kHz */
    const uint8_t *q = pes[1] + 9;
    uint64_t pts = ((uint64_t)(q[0] >> 1) & 7) << 30 | (uint64_t)q[1] << 22 | (uint64_t)(q[2] >> 1) << 15 |
                   (uint64_t)q[3] << 7 | q[4] >> 1;
    CHECK_EQ(pts, 1920);
    omn_buf_free(&out);
    omn_ts_mux_free(m);

    /* Opus is not carried in TS; bad ASC rejected */
    omn_mux_track opus = {OMN_CODEC_OPUS, (const uint8_t *)"OpusHead\x01\x02\x38\x01\x80\xbb\0\0\0\0\0", 19, 48000};
    CHECK(omn_ts_mux_new(&opus, 1, &m) < 0);
}

/* Round trip through the core's own demuxer (mpegts_demux.c): every access unit comes back
 * with its bytes and timestamps, no continuity or PES errors, tracks with their configs. Frame
 * sizes sweep the packet-boundary cases (stuffing of 0, 1, 2 and more bytes). */
static void test_mpegts_round_trip(void)
{
    uint8_t avcc[256];
    size_t avcc_len;
    omn_mux_track t[2];
    t[0] = tracks2(avcc, &avcc_len);
    t[1] = (omn_mux_track){OMN_CODEC_AAC, ASC_LC_48K_STEREO, 2, 48000};
    omn_ts_mux *m;
    CHECK_EQ(omn_ts_mux_new(t, 2, &m), 0);
    omn_ts_demux *d = omn_ts_demux_new();
    CHECK(d != NULL);
    omn_buf out = {0};
    enum { FRAMES = 240 };
    static uint8_t au[FRAMES][800];
    size_t au_len[FRAMES];
    uint8_t aac[FRAMES][300];
    size_t aac_len[FRAMES];
    for (int i = 0; i < FRAMES; i++) {
        au_len[i] = make_au(au[i], i % 30 == 0, 150 + (size_t)i * 3 % 600);
        CHECK_EQ(omn_ts_mux_write(m, &out, 0, au[i], au_len[i], 3000LL * i, 3000LL * i + 6000, i % 30 == 0), 0);
        aac_len[i] = 100 + (size_t)i % 190;
        for (size_t k = 0; k < aac_len[i]; k++) aac[i][k] = (uint8_t)(k * 31 + i);
        aac[i][0] = 0x21;
        CHECK_EQ(omn_ts_mux_write(m, &out, 1, aac[i], aac_len[i], 1024LL * i, 1024LL * i, 1), 0);
    }
    CHECK_EQ(omn_ts_demux_feed(d, out.data, out.len), 0);
    omn_ts_demux_flush(d);
    omn_ts_unit u;
    int ev, videos = 0, audios = 0, tracks_seen = 0, video_index = -1;
    while ((ev = omn_ts_demux_next(d, &u)) != OMN_TS_NONE) {
        if (ev == OMN_TS_TRACKS) {
            tracks_seen++;
            CHECK_EQ(omn_ts_demux_track_count(d), 2);
            for (int k = 0; k < 2; k++) {
                omn_ts_track tr;
                CHECK_EQ(omn_ts_demux_track(d, k, &tr), 0);
                if (tr.codec == OMN_CODEC_H264) {
                    video_index = k;
                    CHECK_EQ(tr.width, 320);
                    CHECK_EQ(tr.height, 240);
                } else {
                    CHECK_EQ(tr.codec, OMN_CODEC_AAC);
                    CHECK_EQ(tr.sample_rate, 48000);
                    CHECK_EQ(tr.channels, 2);
                }
            }
            continue;
        }
        if (u.track == video_index) {
            int i = videos++;
            if (i >= FRAMES) break;
            CHECK_EQ(u.dts, 3000LL * i);
            CHECK_EQ(u.pts, 3000LL * i + 6000);
            CHECK_EQ(u.keyframe, i % 30 == 0);
            /* our IDR/slice NAL is the last one of the unit (parameter sets may precede it) */
            CHECK(u.len >= au_len[i]);
            if (u.len >= au_len[i]) CHECK_EQ(memcmp(u.data + u.len - au_len[i], au[i], au_len[i]), 0);
        } else {
            int i = audios++;
            if (i >= FRAMES) break;
            CHECK_EQ(u.dts, 1024LL * i);
            CHECK_EQ(u.len, aac_len[i]);
            if (u.len == aac_len[i]) CHECK_EQ(memcmp(u.data, aac[i], aac_len[i]), 0);
        }
    }
    CHECK_EQ(tracks_seen, 1);
    CHECK_EQ(videos, FRAMES);
    CHECK_EQ(audios, FRAMES);
    omn_ts_stats st;
    omn_ts_demux_stats_get(d, &st);
    CHECK_EQ(st.cc_errors, 0);
    CHECK_EQ(st.crc_errors, 0);
    CHECK_EQ(st.pes_dropped, 0);
    CHECK_EQ(st.sync_losses, 0);
    CHECK_EQ(st.units_dropped, 0);
    omn_buf_free(&out);
    omn_ts_demux_free(d);
    omn_ts_mux_free(m);
}

static void test_flv_body(void)
{
    omn_buf b = {0};
    uint8_t nal[] = {0, 0, 0, 1, 0x65};
    CHECK_EQ(omn_flv_write_body(&b, OMN_FLV_CODEC_H264, OMN_FLV_KIND_FRAME, 1, 66, nal, 5), 0);
    static const uint8_t want[] = {0x17, 1, 0, 0, 66, 0, 0, 0, 1, 0x65};
    CHECK_EQ(b.len, sizeof want);
    CHECK_EQ(memcmp(b.data, want, sizeof want), 0);
    omn_flv_tag tag;
    CHECK_EQ(omn_flv_parse(9, b.data, b.len, &tag), 0);   /* our parser reads it back */
    CHECK_EQ(tag.composition_time, 66);
    CHECK_EQ(tag.keyframe, 1);
    b.len = 0;
    CHECK_EQ(omn_flv_write_body(&b, OMN_FLV_CODEC_H264, OMN_FLV_KIND_FRAME, 0, -33, nal, 5), 0);
    CHECK_EQ(omn_flv_parse(9, b.data, b.len, &tag), 0);
    CHECK_EQ(tag.composition_time, -33);
    CHECK_EQ(tag.keyframe, 0);
    b.len = 0;
    CHECK_EQ(omn_flv_write_body(&b, OMN_FLV_CODEC_AAC, OMN_FLV_KIND_SEQUENCE_HEADER, 1, 0, ASC_LC_48K_STEREO, 2), 0);
    CHECK_EQ(omn_flv_parse(8, b.data, b.len, &tag), 0);
    CHECK_EQ(tag.kind, OMN_FLV_KIND_SEQUENCE_HEADER);
    CHECK_EQ(tag.data_len, 2);
    CHECK_EQ(omn_flv_write_body(&b, OMN_FLV_CODEC_OPUS, OMN_FLV_KIND_FRAME, 1, 0, nal, 5), OMN_CMAF_EINVAL);
    omn_buf_free(&b);
}

int main(void)
{
    test_fmp4_two_tracks();
    test_mpegts();
    test_mpegts_round_trip();
    test_flv_body();
    if (failures) { fprintf(stderr, "%d failure(s)\n", failures); return 1; }
    puts("ok");
    return 0;
}

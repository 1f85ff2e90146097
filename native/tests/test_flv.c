/* Unit tests for flv.c (legacy and Enhanced RTMP tags). The codec
 * configurations the tags carry are tested in test_codec_config.c. */
#include "cmaf_testutil.h"

/* ------------------------------------------------------------------ FLV */

static int parse(uint32_t type, const void *p, size_t n, omn_flv_tag *t)
{
    return omn_flv_parse(type, (const uint8_t *)p, n, t);
}

static void test_flv_legacy_video(void)
{
    omn_flv_tag t;
    uint8_t rec[256];
    size_t rn = make_avcc(rec, SPS_1080P_HIGH, PPS_1080P_HIGH, 4);
    uint8_t tag[4200];
    tag[0] = 0x17; tag[1] = 0; tag[2] = tag[3] = tag[4] = 0;
    memcpy(tag + 5, rec, rn);
    CHECK(parse(9, tag, 5 + rn, &t) == 0);
    CHECK(t.media == 9 && t.codec == OMN_FLV_CODEC_H264 && t.kind == OMN_FLV_KIND_SEQUENCE_HEADER);
    CHECK(t.keyframe == 1 && t.frame_type == 1 && t.packet_type == 0 && !t.enhanced && t.fourcc == 0);
    CHECK(t.data == tag + 5 && t.data_offset == 5 && t.data_len == rn && t.sound_format == -1);

    static const uint8_t nalu[] = { 0x27, 0x01, 0x00, 0x00, 0x21, 0, 0, 0, 2, 0x41, 0x9a };
    CHECK(parse(9, nalu, sizeof nalu, &t) == 0);
    CHECK(t.kind == OMN_FLV_KIND_FRAME && t.keyframe == 0 && t.frame_type == 2 && t.composition_time == 33);
    CHECK(t.data_offset == 5 && t.data_len == 6);
    static const uint8_t neg[] = { 0x17, 0x01, 0xFF, 0xFF, 0xDF, 0, 0, 0, 1, 0x65 };
    CHECK(parse(9, neg, sizeof neg, &t) == 0 && t.composition_time == -33 && t.keyframe == 1);
    static const uint8_t big[] = { 0x17, 0x01, 0x7F, 0xFF, 0xFF };
    CHECK(parse(9, big, sizeof big, &t) == 0 && t.composition_time == 8388607 && t.data_len == 0);
    static const uint8_t eos[] = { 0x17, 0x02, 0, 0, 0 };
    CHECK(parse(9, eos, sizeof eos, &t) == 0 && t.kind == OMN_FLV_KIND_END_OF_SEQUENCE);
    static const uint8_t hevc12[] = { 0x1C, 0x01, 0, 0, 0x42, 0, 0, 0, 1, 0x26 };
    CHECK(parse(9, hevc12, sizeof hevc12, &t) == 0 && t.codec == OMN_FLV_CODEC_HEVC && t.composition_time == 0x42);
    static const uint8_t cmd[] = { 0x57, 0x00 };
    CHECK(parse(9, cmd, sizeof cmd, &t) == 0 && t.kind == OMN_FLV_KIND_COMMAND && t.frame_type == 5 && t.data_len == 1);
    static const uint8_t vp6[] = { 0x24, 0x00, 0x11 };
    CHECK(parse(9, vp6, sizeof vp6, &t) == 0 && t.codec == OMN_FLV_CODEC_VP6 && t.kind == OMN_FLV_KIND_FRAME && t.data_offset == 1);
    static const uint8_t unk_pt[] = { 0x17, 0x05, 0, 0, 0 };
    CHECK(parse(9, unk_pt, sizeof unk_pt, &t) == 0 && t.kind == OMN_FLV_KIND_UNSUPPORTED);
    /* truncated */
    CHECK(parse(9, tag, 4, &t) == OMN_FLV_E_MALFORMED);
    CHECK(parse(9, tag, 0, &t) == OMN_FLV_E_MALFORMED);
    CHECK(parse(9, NULL, 5, &t) == OMN_FLV_E_MALFORMED);
}

static void test_flv_enhanced_video(void)
{
    omn_flv_tag t;
    const char *ps[] = { HEVC_VPS, HEVC_SPS, HEVC_PPS };
    uint8_t ab[256];
    omn_buf rec = {0};
    CHECK(omn_hvcc_from_annexb(&rec, ab, make_annexb_ps(ab, ps, 3)) == 0);
    uint8_t tag[4200];
    tag[0] = 0x90; memcpy(tag + 1, "hvc1", 4); memcpy(tag + 5, rec.data, rec.len);
    CHECK(parse(9, tag, 5 + rec.len, &t) == 0);
    CHECK(t.enhanced && t.fourcc == 0x68766331u && t.codec == OMN_FLV_CODEC_HEVC);
    CHECK(t.kind == OMN_FLV_KIND_SEQUENCE_HEADER && t.keyframe && t.packet_type == 0);
    CHECK(t.data_offset == 5 && t.data_len == rec.len);
    omn_buf_free(&rec);

    static const uint8_t cf[] = { 0x91, 'h', 'v', 'c', '1', 0x00, 0x00, 0x50, 0, 0, 0, 1, 0x26 };
    CHECK(parse(9, cf, sizeof cf, &t) == 0 && t.kind == OMN_FLV_KIND_FRAME && t.keyframe && t.composition_time == 80 && t.data_offset == 8);
    static const uint8_t cfx[] = { 0xA3, 'h', 'v', 'c', '1', 0, 0, 0, 1, 0x02 };
    CHECK(parse(9, cfx, sizeof cfx, &t) == 0 && t.kind == OMN_FLV_KIND_FRAME && !t.keyframe && t.composition_time == 0 && t.data_offset == 5);
    static const uint8_t av1[] = { 0x91, 'a', 'v', '0', '1', 0x12, 0x00 };  /* AV1 CodedFrames: no CT */
    CHECK(parse(9, av1, sizeof av1, &t) == 0 && t.codec == OMN_FLV_CODEC_AV1 && t.data_offset == 5 && t.composition_time == 0);
    static const uint8_t vp9end[] = { 0x92, 'v', 'p', '0', '9' };
    CHECK(parse(9, vp9end, sizeof vp9end, &t) == 0 && t.codec == OMN_FLV_CODEC_VP9 && t.kind == OMN_FLV_KIND_END_OF_SEQUENCE);
    static const uint8_t avc[] = { 0x90, 'a', 'v', 'c', '1', 1 };
    CHECK(parse(9, avc, sizeof avc, &t) == 0 && t.codec == OMN_FLV_CODEC_H264 && t.kind == OMN_FLV_KIND_SEQUENCE_HEADER);
    static const uint8_t meta[] = { 0x94, 'h', 'v', 'c', '1', 0x02, 0, 9, 'c', 'o', 'l', 'o', 'r', 'I', 'n', 'f', 'o' };
    CHECK(parse(9, meta, sizeof meta, &t) == 0 && t.kind == OMN_FLV_KIND_METADATA && t.data_offset == 5);
    static const uint8_t cmd[] = { 0xD1, 'a', 'v', '0', '1', 0x00 };   /* frame type 5: command */
    CHECK(parse(9, cmd, sizeof cmd, &t) == 0 && t.kind == OMN_FLV_KIND_COMMAND && t.data_len == 1);
    static const uint8_t mt[] = { 0x96, 0x00, 'h', 'v', 'c', '1' };
    CHECK(parse(9, mt, sizeof mt, &t) == 0 && t.kind == OMN_FLV_KIND_UNSUPPORTED && t.packet_type == 6);
    static const uint8_t unk[] = { 0x91, 'x', 'x', 'x', 'x', 1, 2 };
    CHECK(parse(9, unk, sizeof unk, &t) == 0 && t.codec == OMN_FLV_CODEC_UNKNOWN && t.data_offset == 5);
    /* ModEx (a 3-byte nanosecond offset) in front of CodedFrames */
    static const uint8_t modex[] = { 0x97, 0x02, 0x00, 0x01, 0x02, 0x01, 'h', 'v', 'c', '1', 0, 0, 0x21, 0xAA };
    CHECK(parse(9, modex, sizeof modex, &t) == 0 && t.packet_type == 1 && t.kind == OMN_FLV_KIND_FRAME &&
          t.composition_time == 33 && t.data_offset == 13 && t.data_len == 1);
    /* a ModEx chain of two, the first with the 16-bit size form (255 -> 256+) */
    uint8_t chain[400];
    size_t n = 0;
    chain[n++] = 0x97; chain[n++] = 0xFF; chain[n++] = 0x00; chain[n++] = 0x00;   /* size 1 (16-bit) */
    chain[n++] = 0x55; chain[n++] = 0x07;                                          /* -> ModEx again */
    chain[n++] = 0x00; chain[n++] = 0x66; chain[n++] = 0x03;                       /* -> CodedFramesX */
    memcpy(chain + n, "av01", 4); n += 4; chain[n++] = 0x12;
    CHECK(parse(9, chain, n, &t) == 0 && t.packet_type == 3 && t.codec == OMN_FLV_CODEC_AV1 && t.data_len == 1);
    /* truncated */
    CHECK(parse(9, cf, 4, &t) == OMN_FLV_E_MALFORMED);
    CHECK(parse(9, cf, 7, &t) == OMN_FLV_E_MALFORMED);
    CHECK(parse(9, modex, 4, &t) == OMN_FLV_E_MALFORMED);
    CHECK(parse(9, modex, 6, &t) == OMN_FLV_E_MALFORMED);
    static const uint8_t endless[] = { 0x97, 0, 0, 0x07, 0, 0, 0x07, 0, 0, 0x07, 0, 0, 0x07, 0, 0, 0x07, 0, 0, 0x07,
                                       0, 0, 0x07, 0, 0, 0x07, 0, 0, 0x07, 0, 0, 0x07, 0, 0, 0x07, 0, 0, 0x07, 0, 0, 0x07,
                                       0, 0, 0x07, 0, 0, 0x07, 0, 0, 0x07, 0, 0, 0x07, 0, 0, 0x07, 'a', 'v', '0', '1' };
    CHECK(parse(9, endless, sizeof endless, &t) == OMN_FLV_E_MALFORMED);
}

static void test_flv_audio_and_data(void)
{
    omn_flv_tag t;
    static const uint8_t aac_seq[] = { 0xAF, 0x00, 0x11, 0x90 };
    CHECK(parse(8, aac_seq, sizeof aac_seq, &t) == 0);
    CHECK(t.media == 8 && t.codec == OMN_FLV_CODEC_AAC && t.kind == OMN_FLV_KIND_SEQUENCE_HEADER && t.keyframe);
    CHECK(t.sound_format == 10 && t.sound_rate == 3 && t.sound_size == 1 && t.sound_type == 1);
    CHECK(t.data_offset == 2 && t.data_len == 2 && t.packet_type == 0);
    static const uint8_t aac_raw[] = { 0xAF, 0x01, 0x21, 0x10, 0x05 };
    CHECK(parse(8, aac_raw, sizeof aac_raw, &t) == 0 && t.kind == OMN_FLV_KIND_FRAME && t.data_len == 3);
    static const uint8_t aac_short[] = { 0xAF };
    CHECK(parse(8, aac_short, 1, &t) == OMN_FLV_E_MALFORMED);
    static const uint8_t mp3[] = { 0x2F, 0xFF, 0xFB };
    CHECK(parse(8, mp3, sizeof mp3, &t) == 0 && t.codec == OMN_FLV_CODEC_MP3 && t.kind == OMN_FLV_KIND_FRAME && t.data_offset == 1);
    static const uint8_t g711a[] = { 0x72, 0xD5 };
    CHECK(parse(8, g711a, sizeof g711a, &t) == 0 && t.codec == OMN_FLV_CODEC_G711A && t.sound_type == 0);
    static const uint8_t speex[] = { 0xB2, 1 };
    CHECK(parse(8, speex, sizeof speex, &t) == 0 && t.codec == OMN_FLV_CODEC_SPEEX);
    static const uint8_t pcm[] = { 0x3E, 1 };
    CHECK(parse(8, pcm, sizeof pcm, &t) == 0 && t.codec == OMN_FLV_CODEC_PCM);
    /* Enhanced RTMP audio: Opus sequence start (OpusHead), frames, AAC end */
    static const uint8_t opus_seq[] = { 0x90, 'O', 'p', 'u', 's', 'O', 'p', 'u', 's', 'H', 'e', 'a', 'd',
                                        1, 2, 0x38, 0x01, 0x80, 0xBB, 0, 0, 0, 0, 0 };
    CHECK(parse(8, opus_seq, sizeof opus_seq, &t) == 0 && t.enhanced && t.codec == OMN_FLV_CODEC_OPUS &&
          t.kind == OMN_FLV_KIND_SEQUENCE_HEADER && t.data_offset == 5 && t.data_len == 19);
    omn_opus_info oi;
    CHECK(omn_opus_head_parse(t.data, t.data_len, &oi) == 0 && oi.channels == 2 && oi.pre_skip == 312 &&
          oi.input_sample_rate == 48000 && oi.mapping_family == 0);
    static const uint8_t opus_fr[] = { 0x91, 'O', 'p', 'u', 's', 0xFC, 0xFF };
    CHECK(parse(8, opus_fr, sizeof opus_fr, &t) == 0 && t.kind == OMN_FLV_KIND_FRAME && t.data_len == 2);
    static const uint8_t mp4a_end[] = { 0x92, 'm', 'p', '4', 'a' };
    CHECK(parse(8, mp4a_end, sizeof mp4a_end, &t) == 0 && t.codec == OMN_FLV_CODEC_AAC && t.kind == OMN_FLV_KIND_END_OF_SEQUENCE);
    static const uint8_t flac[] = { 0x91, 'f', 'L', 'a', 'C', 1 };
    CHECK(parse(8, flac, sizeof flac, &t) == 0 && t.codec == OMN_FLV_CODEC_FLAC);
    static const uint8_t amt[] = { 0x95, 0x00 };
    CHECK(parse(8, amt, sizeof amt, &t) == 0 && t.kind == OMN_FLV_KIND_UNSUPPORTED);
    static const uint8_t amodex[] = { 0x97, 0x00, 0x00, 0x01, 'O', 'p', 'u', 's', 0xFC };
    CHECK(parse(8, amodex, sizeof amodex, &t) == 0 && t.kind == OMN_FLV_KIND_FRAME && t.codec == OMN_FLV_CODEC_OPUS && t.data_offset == 8);
    CHECK(parse(8, opus_fr, 4, &t) == OMN_FLV_E_MALFORMED);
    /* data messages */
    static const uint8_t d18[] = { 0x02, 0, 10, 'o', 'n', 'M', 'e', 't', 'a', 'D', 'a', 't', 'a' };
    CHECK(parse(18, d18, sizeof d18, &t) == 0 && t.kind == OMN_FLV_KIND_METADATA && t.codec == OMN_FLV_CODEC_AMF0 && t.data_offset == 0 && t.data_len == sizeof d18);
    static const uint8_t d15[] = { 0x00, 0x02, 0, 1, 'x' };
    CHECK(parse(15, d15, sizeof d15, &t) == 0 && t.data_offset == 1 && t.data_len == 4);
    CHECK(parse(18, NULL, 0, &t) == 0 && t.data_len == 0);
    CHECK(parse(20, d18, sizeof d18, &t) == OMN_FLV_E_TYPE);
    CHECK(omn_flv_parse(9, (const uint8_t *)"x", 1, NULL) == OMN_FLV_E_MALFORMED);
}

int main(void)
{
    test_flv_legacy_video();
    test_flv_enhanced_video();
    test_flv_audio_and_data();
    if (failures) { fprintf(stderr, "%d failure(s)\n", failures); return 1; }
    puts("ok");
    return 0;
}

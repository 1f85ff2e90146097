/* Unit tests for flv.c (legacy and Enhanced RTMP tags), h264_sps.c and
 * hevc_sps.c on real encoder parameter sets, sps_codec_string.c, aac_asc.c
 * and opus_head.c. */
#include "ome_native.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures;
#define CHECK(cond) do { if (!(cond)) { failures++; fprintf(stderr, "%s:%d: CHECK(%s)\n", __FILE__, __LINE__, #cond); } } while (0)

/* libx264 (ffmpeg -f lavfi -i testsrc2=size=1280x720 -frames:v 1 -c:v libx264
 * -f h264 -): High 3.1, 25 fps; contains emulation-prevention bytes. */
static const uint8_t sps_720[] = {
    0x67, 0x64, 0x00, 0x1f, 0xac, 0xd9, 0x40, 0x50, 0x05, 0xbb, 0x01, 0x10, 0x00, 0x00,
    0x03, 0x00, 0x10, 0x00, 0x00, 0x03, 0x03, 0x20, 0xf1, 0x83, 0x19, 0x60 };
static const uint8_t pps_720[] = { 0x68, 0xeb, 0xe3, 0xcb, 0x22, 0xc0 };
/* libx264 -profile:v main, 1920x1080 (coded 1088, cropped), 25 fps. */
static const uint8_t sps_1080[] = {
    0x67, 0x4d, 0x40, 0x28, 0xec, 0xa0, 0x3c, 0x01, 0x13, 0xf2, 0xe0, 0x22, 0x00, 0x00,
    0x03, 0x00, 0x02, 0x00, 0x00, 0x03, 0x00, 0x64, 0x1e, 0x30, 0x63, 0x2c };
/* libx265 1920x1080 at 30 fps: VPS, SPS, PPS. */
static const uint8_t hevc_vps[] = {
    0x40, 0x01, 0x0c, 0x01, 0xff, 0xff, 0x01, 0x60, 0x00, 0x00, 0x03, 0x00, 0x90, 0x00,
    0x00, 0x03, 0x00, 0x00, 0x03, 0x00, 0x78, 0x95, 0x98, 0x09 };
static const uint8_t hevc_sps[] = {
    0x42, 0x01, 0x01, 0x01, 0x60, 0x00, 0x00, 0x03, 0x00, 0x90, 0x00, 0x00, 0x03, 0x00,
    0x00, 0x03, 0x00, 0x78, 0xa0, 0x03, 0xc0, 0x80, 0x10, 0xe5, 0x96, 0x56, 0x69, 0x24,
    0xca, 0xf0, 0x16, 0x80, 0x80, 0x00, 0x00, 0x03, 0x00, 0x80, 0x00, 0x00, 0x0f, 0x04 };
static const uint8_t hevc_pps[] = { 0x44, 0x01, 0xc1, 0x72, 0xb4, 0x62, 0x40 };

typedef struct { uint8_t d[4096]; size_t n; } bb;
static void put(bb *b, const void *p, size_t n) { memcpy(b->d + b->n, p, n); b->n += n; }
static void put8(bb *b, uint32_t v) { b->d[b->n++] = (uint8_t)v; }
static void put16(bb *b, uint32_t v) { put8(b, v >> 8); put8(b, v); }

static void make_avcc(bb *b, const uint8_t *sps, size_t sl)
{
    b->n = 0;
    put8(b, 1); put8(b, sps[1]); put8(b, sps[2]); put8(b, sps[3]); put8(b, 0xFF); put8(b, 0xE1);
    put16(b, (uint32_t)sl); put(b, sps, sl);
    put8(b, 1); put16(b, sizeof pps_720); put(b, pps_720, sizeof pps_720);
}

static void make_hvcc(bb *b)
{
    b->n = 0;
    put8(b, 1);
    put(b, hevc_sps + 3, 12);                        /* profile_tier_level: 12 bytes */
    put16(b, 0xF000); put8(b, 0xFC); put8(b, 0xFD); put8(b, 0xF8); put8(b, 0xF8);
    put16(b, 0);                                     /* avgFrameRate */
    put8(b, 0x0F);                                   /* lengthSizeMinusOne = 3 */
    put8(b, 3);
    put8(b, 0x80 | 32); put16(b, 1); put16(b, sizeof hevc_vps); put(b, hevc_vps, sizeof hevc_vps);
    put8(b, 0x80 | 33); put16(b, 1); put16(b, sizeof hevc_sps); put(b, hevc_sps, sizeof hevc_sps);
    put8(b, 0x80 | 34); put16(b, 1); put16(b, sizeof hevc_pps); put(b, hevc_pps, sizeof hevc_pps);
}

/* ------------------------------------------------------------------ FLV */

static int parse(uint32_t type, const void *p, size_t n, omn_flv_tag *t)
{
    return omn_flv_parse(type, (const uint8_t *)p, n, t);
}

static void test_flv_legacy_video(void)
{
    omn_flv_tag t;
    bb b = { .n = 0 };
    make_avcc(&b, sps_720, sizeof sps_720);
    uint8_t tag[4200];
    tag[0] = 0x17; tag[1] = 0; tag[2] = tag[3] = tag[4] = 0;
    memcpy(tag + 5, b.d, b.n);
    CHECK(parse(9, tag, 5 + b.n, &t) == 0);
    CHECK(t.media == 9 && t.codec == OMN_FLV_CODEC_H264 && t.kind == OMN_FLV_KIND_SEQUENCE_HEADER);
    CHECK(t.keyframe == 1 && t.frame_type == 1 && t.packet_type == 0 && !t.enhanced && t.fourcc == 0);
    CHECK(t.data == tag + 5 && t.data_offset == 5 && t.data_len == b.n && t.sound_format == -1);

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
    bb b = { .n = 0 };
    make_hvcc(&b);
    uint8_t tag[4200];
    tag[0] = 0x90; memcpy(tag + 1, "hvc1", 4); memcpy(tag + 5, b.d, b.n);
    CHECK(parse(9, tag, 5 + b.n, &t) == 0);
    CHECK(t.enhanced && t.fourcc == 0x68766331u && t.codec == OMN_FLV_CODEC_HEVC);
    CHECK(t.kind == OMN_FLV_KIND_SEQUENCE_HEADER && t.keyframe && t.packet_type == 0);
    CHECK(t.data_offset == 5 && t.data_len == b.n);

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

/* ------------------------------------------------------------ video SPS */

static void test_h264_sps(void)
{
    omn_sps_info i;
    char cs[48];
    CHECK(omn_h264_sps_parse(sps_720, sizeof sps_720, &i) == 0);
    CHECK(i.codec == OMN_FLV_CODEC_H264 && i.width == 1280 && i.height == 720);
    CHECK(i.profile == 100 && i.level == 31 && i.constraint_flags == 0);
    CHECK(i.chroma_format == 1 && i.bit_depth_luma == 8 && i.bit_depth_chroma == 8);
    CHECK(i.fps_num == 50 && i.fps_den == 2);        /* 25 fps */
    CHECK(i.sar_num == 1 && i.sar_den == 1 && i.nal_length_size == 0);
    CHECK(omn_sps_codec_string(&i, cs, sizeof cs) == 11 && strcmp(cs, "avc1.64001f") == 0);

    CHECK(omn_h264_sps_parse(sps_1080, sizeof sps_1080, &i) == 0);
    CHECK(i.width == 1920 && i.height == 1080 && i.profile == 77 && i.level == 40 && i.constraint_flags == 0x40);
    CHECK(i.fps_num == 50 && i.fps_den == 2);
    CHECK(omn_sps_codec_string(&i, cs, sizeof cs) > 0 && strcmp(cs, "avc1.4d4028") == 0);
    CHECK(omn_sps_codec_string(&i, cs, 5) == -1);

    bb b = { .n = 0 };
    make_avcc(&b, sps_720, sizeof sps_720);
    CHECK(omn_avcc_parse(b.d, b.n, &i) == 0 && i.width == 1280 && i.height == 720 && i.nal_length_size == 4);
    /* every truncation of the record and of the SPS is handled */
    for (size_t n = 0; n < b.n; n++) {
        int rc = omn_avcc_parse(b.d, n, &i);
        CHECK(rc < 0 || n >= 8 + sizeof sps_720);
    }
    for (size_t n = 0; n < sizeof sps_720; n++) {
        int rc = omn_h264_sps_parse(sps_720, n, &i);
        CHECK(rc < 0 || (i.width == 1280 && i.height == 720));
    }
    /* no SPS / wrong version / wrong NAL type */
    uint8_t none[] = { 1, 0x64, 0, 0x1f, 0xff, 0xe0, 0 };
    CHECK(omn_avcc_parse(none, sizeof none, &i) == OMN_SPS_E_NO_SPS);
    b.d[0] = 2;
    CHECK(omn_avcc_parse(b.d, b.n, &i) == OMN_SPS_E_MALFORMED);
    CHECK(omn_h264_sps_parse(pps_720, sizeof pps_720, &i) == OMN_SPS_E_MALFORMED);
    /* lying SPS length */
    make_avcc(&b, sps_720, sizeof sps_720);
    b.d[7] = 200;
    CHECK(omn_avcc_parse(b.d, b.n, &i) == OMN_SPS_E_MALFORMED);
    /* bit flips never crash */
    uint8_t m[sizeof sps_720];
    for (size_t k = 1; k < sizeof m * 8; k++) {
        memcpy(m, sps_720, sizeof m);
        m[k / 8] ^= (uint8_t)(1 << (k % 8));
        omn_h264_sps_parse(m, sizeof m, &i);
    }
    /* exp-Golomb with too many leading zeros */
    static const uint8_t zeros[] = { 0x67, 0x64, 0, 0x1f, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 };
    CHECK(omn_h264_sps_parse(zeros, sizeof zeros, &i) == OMN_SPS_E_MALFORMED);
}

static void test_hevc_sps(void)
{
    omn_sps_info i;
    char cs[48];
    CHECK(omn_hevc_sps_parse(hevc_sps, sizeof hevc_sps, &i) == 0);
    CHECK(i.codec == OMN_FLV_CODEC_HEVC && i.width == 1920 && i.height == 1080);
    CHECK(i.profile == 1 && i.level == 120 && i.tier == 0 && i.profile_space == 0);
    CHECK(i.profile_compat == 0x60000000u && i.hevc_constraints == 0x900000000000ull);
    CHECK(i.chroma_format == 1 && i.bit_depth_luma == 8 && i.bit_depth_chroma == 8);
    CHECK(i.fps_num == 30 && i.fps_den == 1);
    CHECK(omn_sps_codec_string(&i, cs, sizeof cs) > 0 && strcmp(cs, "hvc1.1.6.L120.90") == 0);

    bb b = { .n = 0 };
    make_hvcc(&b);
    CHECK(omn_hvcc_parse(b.d, b.n, &i) == 0 && i.width == 1920 && i.height == 1080 && i.nal_length_size == 4 && i.fps_num == 30);
    for (size_t n = 0; n < b.n; n++) {
        int rc = omn_hvcc_parse(b.d, n, &i);
        CHECK(rc < 0 || n >= 23 + 5 + sizeof hevc_vps + 5 + sizeof hevc_sps);
    }
    for (size_t n = 0; n < sizeof hevc_sps; n++) {
        int rc = omn_hevc_sps_parse(hevc_sps, n, &i);
        CHECK(rc < 0 || (i.width == 1920 && i.height == 1080));
    }
    CHECK(omn_hevc_sps_parse(hevc_vps, sizeof hevc_vps, &i) == OMN_SPS_E_MALFORMED);
    uint8_t m[sizeof hevc_sps];
    for (size_t k = 16; k < sizeof m * 8; k++) {
        memcpy(m, hevc_sps, sizeof m);
        m[k / 8] ^= (uint8_t)(1 << (k % 8));
        omn_hevc_sps_parse(m, sizeof m, &i);
    }
    /* a record without an SPS array */
    b.n = 23;
    b.d[22] = 0;
    CHECK(omn_hvcc_parse(b.d, b.n, &i) == OMN_SPS_E_NO_SPS);
    /* avgFrameRate is used when the SPS has no timing info: 25 fps */
    make_hvcc(&b);
    b.d[19] = 0x19; b.d[20] = 0x00;
    CHECK(omn_hvcc_parse(b.d, b.n, &i) == 0 && i.fps_num == 30);   /* VUI wins */
    /* codec string of a Main 10 High tier example */
    omn_sps_info x = { 0 };
    x.codec = OMN_FLV_CODEC_HEVC; x.profile = 2; x.tier = 1; x.level = 153; x.profile_space = 1;
    x.profile_compat = 0x20000000u; x.hevc_constraints = 0xB00000000000ull;
    CHECK(omn_sps_codec_string(&x, cs, sizeof cs) > 0 && strcmp(cs, "hvc1.A2.4.H153.B0") == 0);
    x.codec = OMN_FLV_CODEC_AAC;
    CHECK(omn_sps_codec_string(&x, cs, sizeof cs) == -1);
}

/* ------------------------------------------------------------ audio */

typedef struct { uint8_t d[64]; size_t bits; } bw;
static void wbits(bw *w, uint32_t v, int n)
{
    while (n-- > 0) {
        if ((v >> n) & 1) w->d[w->bits >> 3] |= (uint8_t)(0x80 >> (w->bits & 7));
        w->bits++;
    }
}

static void test_asc(void)
{
    omn_asc_info a;
    static const uint8_t lc48[] = { 0x11, 0x90 };
    CHECK(omn_aac_asc_parse(lc48, 2, &a) == 0);
    CHECK(a.object_type == 2 && a.core_object_type == 2 && a.sample_rate == 48000 && a.channels == 2 &&
          a.channel_config == 2 && !a.sbr && !a.ps && a.ext_sample_rate == 0 && a.frame_length == 1024);
    static const uint8_t lc44[] = { 0x12, 0x08 };
    CHECK(omn_aac_asc_parse(lc44, 2, &a) == 0 && a.sample_rate == 44100 && a.channels == 1);
    /* explicit HE-AAC: AOT 5, 24 kHz core, 48 kHz output, stereo */
    static const uint8_t he[] = { 0x2B, 0x11, 0x88, 0x00 };
    CHECK(omn_aac_asc_parse(he, sizeof he, &a) == 0);
    CHECK(a.object_type == 5 && a.core_object_type == 2 && a.sbr == 1 && a.ps == 0 &&
          a.sample_rate == 24000 && a.ext_sample_rate == 48000 && a.channels == 2);
    /* HE-AAC v2 (PS): AOT 29 */
    bw w = { { 0 }, 0 };
    wbits(&w, 29, 5); wbits(&w, 6, 4); wbits(&w, 1, 4); wbits(&w, 3, 4); wbits(&w, 2, 5); wbits(&w, 0, 3);
    CHECK(omn_aac_asc_parse(w.d, (w.bits + 7) / 8, &a) == 0 && a.ps == 1 && a.sbr == 1 && a.channels == 1 && a.ext_sample_rate == 48000);
    /* escaped sampling rate, 7.1 (config 7 -> 8 channels), 960 frames */
    memset(&w, 0, sizeof w);
    wbits(&w, 2, 5); wbits(&w, 15, 4); wbits(&w, 37800, 24); wbits(&w, 7, 4); wbits(&w, 1, 1); wbits(&w, 0, 2);
    CHECK(omn_aac_asc_parse(w.d, (w.bits + 7) / 8, &a) == 0 && a.sample_rate == 37800 && a.channels == 8 && a.frame_length == 960);
    /* escaped object type (31 -> 32 + 10 = 42, USAC): no GA config */
    memset(&w, 0, sizeof w);
    wbits(&w, 31, 5); wbits(&w, 10, 6); wbits(&w, 3, 4); wbits(&w, 2, 4);
    CHECK(omn_aac_asc_parse(w.d, (w.bits + 7) / 8, &a) == 0 && a.object_type == 42 && a.frame_length == 0 && a.channels == 2);
    /* channel config 0 with a PCE: front SCE + CPE, back CPE, 1 LFE = 6 */
    memset(&w, 0, sizeof w);
    wbits(&w, 2, 5); wbits(&w, 3, 4); wbits(&w, 0, 4);  /* AOT, 48 kHz, config 0 */
    wbits(&w, 0, 3);                                     /* GA: 1024, no core, no ext */
    wbits(&w, 0, 4); wbits(&w, 1, 2); wbits(&w, 3, 4);   /* PCE tag, object, sf index */
    wbits(&w, 2, 4); wbits(&w, 0, 4); wbits(&w, 1, 4);   /* front 2, side 0, back 1 */
    wbits(&w, 1, 2); wbits(&w, 0, 3); wbits(&w, 0, 4);   /* lfe 1, assoc 0, cc 0 */
    wbits(&w, 0, 3);                                     /* no mixdowns */
    wbits(&w, 0, 1); wbits(&w, 0, 4); wbits(&w, 1, 1); wbits(&w, 0, 4);  /* front: SCE, CPE */
    wbits(&w, 1, 1); wbits(&w, 1, 4);                    /* back: CPE */
    wbits(&w, 0, 4);                                     /* lfe tag */
    CHECK(omn_aac_asc_parse(w.d, (w.bits + 7) / 8, &a) == 0 && a.channel_config == 0 && a.channels == 6);
    CHECK(omn_aac_asc_parse(w.d, 3, &a) == OMN_ASC_E_MALFORMED);      /* PCE cut off */
    /* malformed */
    CHECK(omn_aac_asc_parse(lc48, 1, &a) == OMN_ASC_E_MALFORMED);
    CHECK(omn_aac_asc_parse(NULL, 2, &a) == OMN_ASC_E_MALFORMED);
    static const uint8_t reserved_sfi[] = { 0x16, 0x90 };   /* index 13 */
    CHECK(omn_aac_asc_parse(reserved_sfi, 2, &a) == OMN_ASC_E_MALFORMED);
    static const uint8_t aot0[] = { 0x01, 0x90 };
    CHECK(omn_aac_asc_parse(aot0, 2, &a) == OMN_ASC_E_MALFORMED);
    static const uint8_t he_cut[] = { 0x2B, 0x11 };
    CHECK(omn_aac_asc_parse(he_cut, 2, &a) == OMN_ASC_E_MALFORMED);

    /* OpusHead errors */
    omn_opus_info o;
    static const uint8_t head[] = { 'O', 'p', 'u', 's', 'H', 'e', 'a', 'd', 1, 6, 0x38, 0x01, 0x80, 0xBB, 0, 0, 0, 0, 1,
                                    4, 2, 0, 4, 1, 2, 3, 5 };
    CHECK(omn_opus_head_parse(head, sizeof head, &o) == 0 && o.channels == 6 && o.mapping_family == 1);
    CHECK(omn_opus_head_parse(head, 22, &o) == OMN_ASC_E_MALFORMED);   /* mapping table cut */
    CHECK(omn_opus_head_parse(head, 18, &o) == OMN_ASC_E_MALFORMED);
    uint8_t bad[sizeof head];
    memcpy(bad, head, sizeof head); bad[0] = 'o';
    CHECK(omn_opus_head_parse(bad, sizeof bad, &o) == OMN_ASC_E_MALFORMED);
    memcpy(bad, head, sizeof head); bad[8] = 0x10;
    CHECK(omn_opus_head_parse(bad, sizeof bad, &o) == OMN_ASC_E_MALFORMED);
}

int main(void)
{
    test_flv_legacy_video();
    test_flv_enhanced_video();
    test_flv_audio_and_data();
    test_h264_sps();
    test_hevc_sps();
    test_asc();
    if (failures) { fprintf(stderr, "%d failure(s)\n", failures); return 1; }
    puts("ok");
    return 0;
}

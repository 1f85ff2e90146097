/* Unit tests for the codec configurations, one place per concern: the
 * H.264 / HEVC SPS parsers and avcC / hvcC walk (h264_sps.c, hevc_sps.c)
 * and the packager's records built on them (cmaf_h26x.c), the CODECS
 * strings (sps_codec_string.c, omn_codec_probe), AudioSpecificConfig
 * (aac_asc.c, cmaf_codec.c, ADTS) and OpusHead (opus_head.c, dOps). Real
 * x264 / x265 parameter sets. */
#include "cmaf_testutil.h"

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

static void avcc_of(bb *b, const uint8_t *sps, size_t sl)
{
    b->n = 0;
    put8(b, 1); put8(b, sps[1]); put8(b, sps[2]); put8(b, sps[3]); put8(b, 0xFF); put8(b, 0xE1);
    put16(b, (uint32_t)sl); put(b, sps, sl);
    put8(b, 1); put16(b, sizeof pps_720); put(b, pps_720, sizeof pps_720);
}

static void hvcc_x265(bb *b)
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

/* ------------------------------------------------------------ H.264 */

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
    avcc_of(&b, sps_720, sizeof sps_720);
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
    avcc_of(&b, sps_720, sizeof sps_720);
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

static void test_h264_record(void)
{
    uint8_t rec[256];
    size_t n = make_avcc(rec, SPS_1080P_HIGH, PPS_1080P_HIGH, 4);
    omn_codec_info info;
    CHECK(omn_codec_probe(OMN_CODEC_H264, rec, n, &info) == 0);
    CHECK(info.is_video == 1 && info.timescale == 90000);
    CHECK_EQ(info.width, 1920);
    CHECK_EQ(info.height, 1080);                        /* 1088 cropped */
    CHECK_EQ(info.nal_length_size, 4);
    CHECK(strcmp(info.codecs, "avc1.640028") == 0);

    n = make_avcc(rec, SPS_240P_BASE, PPS_240P_BASE, 2);
    CHECK(omn_codec_probe(OMN_CODEC_H264, rec, n, &info) == 0);
    CHECK(info.width == 320 && info.height == 240 && info.nal_length_size == 2);
    char s[64];
    CHECK(omn_codecs_string(OMN_CODEC_H264, rec, n, s, sizeof s) == 11);
    CHECK(strcmp(s, "avc1.42c00d") == 0);
    CHECK(omn_codecs_string(OMN_CODEC_H264, rec, n, s, 11) == OMN_CMAF_ETOOBIG);

    /* every truncation is rejected, never read past */
    for (size_t i = 0; i < n; i++)
        CHECK(omn_codec_probe(OMN_CODEC_H264, rec, i, &info) == OMN_CMAF_ECONFIG);
    rec[0] = 0;
    CHECK(omn_codec_probe(OMN_CODEC_H264, rec, n, &info) == OMN_CMAF_ECONFIG);
    rec[0] = 1;
    rec[4] = 0xFE;                                      /* 3-byte lengths are invalid */
    CHECK(omn_codec_probe(OMN_CODEC_H264, rec, n, &info) == OMN_CMAF_ECONFIG);
    CHECK(omn_codec_probe(99, rec, n, &info) == OMN_CMAF_EINVAL);

    /* avcC from Annex B equals the hand-built record */
    const char *ps[] = { "09f0", SPS_1080P_HIGH, PPS_1080P_HIGH, PPS_1080P_HIGH, "6588840021" };
    uint8_t ab[256];
    size_t an = make_annexb_ps(ab, ps, 5);
    omn_buf out = {0};
    CHECK(omn_avcc_from_annexb(&out, ab, an) == 0);
    n = make_avcc(rec, SPS_1080P_HIGH, PPS_1080P_HIGH, 4);
    CHECK(out.len == n && memcmp(out.data, rec, n) == 0);   /* duplicate PPS dropped */
    CHECK(omn_avcc_from_annexb(&out, ab, 10) == OMN_CMAF_ECONFIG);
    omn_buf_free(&out);
}

/* ------------------------------------------------------------ HEVC */

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
    hvcc_x265(&b);
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
    hvcc_x265(&b);
    b.d[19] = 0x19; b.d[20] = 0x00;
    CHECK(omn_hvcc_parse(b.d, b.n, &i) == 0 && i.fps_num == 30);   /* VUI wins */
}

static size_t hvcc_from_hex(uint8_t *rec, omn_buf *tmp)
{
    const char *ps[] = { HEVC_VPS, HEVC_SPS, HEVC_PPS };
    uint8_t ab[256];
    size_t an = make_annexb_ps(ab, ps, 3);
    tmp->len = 0;
    CHECK(omn_hvcc_from_annexb(tmp, ab, an) == 0);
    memcpy(rec, tmp->data, tmp->len);
    return tmp->len;
}

static void test_hevc_record(void)
{
    uint8_t rec[256];
    omn_buf tmp = {0};
    size_t n = hvcc_from_hex(rec, &tmp);
    CHECK(n == 23 + 3 * 5 + 24 + 43 + 7);
    CHECK(rec[0] == 1 && rec[1] == 0x01 && be32(rec + 2) == 0x60000000 && rec[6] == 0x90);
    CHECK(rec[12] == 93 && rec[16] == 0xFD && (rec[21] & 3) == 3 && rec[22] == 3);
    CHECK(rec[23] == 0xA0 && rec[23 + 5 + 24] == 0xA1);   /* array_completeness | type */
    omn_codec_info info;
    CHECK(omn_codec_probe(OMN_CODEC_H265, rec, n, &info) == 0);
    CHECK(info.width == 1280 && info.height == 720 && info.timescale == 90000);
    CHECK(strcmp(info.codecs, "hvc1.1.6.L93.90") == 0);

    /* a publisher record with 2-byte lengths and completeness 0 is normalised */
    rec[21] = (rec[21] & ~3) | 1;
    rec[23] &= 0x3F;
    CHECK(omn_codec_probe(OMN_CODEC_H265, rec, n, &info) == 0 && info.nal_length_size == 2);
    omn_buf init = {0};
    CHECK(omn_cmaf_write_init(&init, OMN_CODEC_H265, rec, n, 0) == 0);
    tbox b;
    CHECK(find_path(init.data, init.len, "moov/trak/mdia/minf/stbl/stsd/hvc1/hvcC", &b) == 0);
    CHECK(b.body_len == n && (b.body[21] & 3) == 3 && b.body[23] == 0xA0);
    CHECK(memcmp(b.body + 24, rec + 24, n - 24) == 0);
    for (size_t i = 0; i < n; i++)
        CHECK(omn_codec_probe(OMN_CODEC_H265, rec, i, &info) != 0);
    omn_buf_free(&init);
    omn_buf_free(&tmp);
}

/* ------------------------------------------------------- CODECS strings */

static void test_codec_strings(void)
{
    omn_sps_info x = { 0 };
    char cs[48];
    /* a Main 10 High tier example */
    x.codec = OMN_FLV_CODEC_HEVC; x.profile = 2; x.tier = 1; x.level = 153; x.profile_space = 1;
    x.profile_compat = 0x20000000u; x.hevc_constraints = 0xB00000000000ull;
    CHECK(omn_sps_codec_string(&x, cs, sizeof cs) > 0 && strcmp(cs, "hvc1.A2.4.H153.B0") == 0);
    x.codec = OMN_FLV_CODEC_AAC;
    CHECK(omn_sps_codec_string(&x, cs, sizeof cs) == -1);
    /* Main, constraint byte B0 (progressive, non-packed, frame-only) */
    x.codec = OMN_FLV_CODEC_HEVC; x.profile = 1; x.tier = 0; x.level = 93; x.profile_space = 0;
    x.profile_compat = 0x60000000u; x.hevc_constraints = 0xB00000000000ull;
    CHECK(omn_sps_codec_string(&x, cs, sizeof cs) > 0 && strcmp(cs, "hvc1.1.6.L93.B0") == 0);
    /* every constraint byte is two hex digits up to the last non-zero one */
    x.profile = 4; x.profile_compat = 0x08000000u; x.hevc_constraints = 0x9C0800000000ull;
    CHECK(omn_sps_codec_string(&x, cs, sizeof cs) > 0 && strcmp(cs, "hvc1.4.10.L93.9C.08") == 0);
    x.hevc_constraints = 0x900000000001ull;
    CHECK(omn_sps_codec_string(&x, cs, sizeof cs) > 0 && strcmp(cs, "hvc1.4.10.L93.90.00.00.00.00.01") == 0);
    x.hevc_constraints = 0;
    CHECK(omn_sps_codec_string(&x, cs, sizeof cs) > 0 && strcmp(cs, "hvc1.4.10.L93") == 0);
}

/* ------------------------------------------------------------ AAC */

static const uint8_t lc48[] = { 0x11, 0x90 };                 /* LC 48 kHz stereo */
static const uint8_t he[] = { 0x2B, 0x11, 0x88, 0x00 };       /* explicit HE-AAC 24/48 kHz */
static const uint8_t bad_rate[] = { 0x16, 0x90 };             /* sampling index 13 */
/* LC 48 kHz, channel config 0 with a PCE: front SCE + CPE, back CPE, 1 LFE = 6 */
static uint8_t pce_51[9];                                     /* filled by test_asc */

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
    CHECK(omn_aac_asc_parse(lc48, 2, &a) == 0);
    CHECK(a.object_type == 2 && a.core_object_type == 2 && a.sample_rate == 48000 && a.channels == 2 &&
          a.channel_config == 2 && !a.sbr && !a.ps && a.ext_sample_rate == 0 && a.frame_length == 1024);
    static const uint8_t lc44[] = { 0x12, 0x08 };
    CHECK(omn_aac_asc_parse(lc44, 2, &a) == 0 && a.sample_rate == 44100 && a.channels == 1);
    /* explicit HE-AAC: AOT 5, 24 kHz core, 48 kHz output, stereo */
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
    CHECK((w.bits + 7) / 8 == sizeof pce_51);
    memcpy(pce_51, w.d, sizeof pce_51);
    CHECK(omn_aac_asc_parse(w.d, 3, &a) == OMN_ASC_E_MALFORMED);      /* PCE cut off */
    /* malformed */
    CHECK(omn_aac_asc_parse(lc48, 1, &a) == OMN_ASC_E_MALFORMED);
    CHECK(omn_aac_asc_parse(NULL, 2, &a) == OMN_ASC_E_MALFORMED);
    CHECK(omn_aac_asc_parse(bad_rate, 2, &a) == OMN_ASC_E_MALFORMED);
    static const uint8_t aot0[] = { 0x01, 0x90 };
    CHECK(omn_aac_asc_parse(aot0, 2, &a) == OMN_ASC_E_MALFORMED);
    static const uint8_t he_cut[] = { 0x2B, 0x11 };
    CHECK(omn_aac_asc_parse(he_cut, 2, &a) == OMN_ASC_E_MALFORMED);
}

static void test_aac_record(void)
{
    omn_codec_info info;
    static const uint8_t lc44_stereo[] = { 0x12, 0x10 }, esc[] = { 0xf8, 0x06, 0x40 };
    CHECK(omn_codec_probe(OMN_CODEC_AAC, lc48, 2, &info) == 0);
    CHECK(info.timescale == 48000 && info.channels == 2 && info.frame_ticks == 1024);
    CHECK(strcmp(info.codecs, "mp4a.40.2") == 0 && !info.is_video);
    CHECK(omn_codec_probe(OMN_CODEC_AAC, lc44_stereo, 2, &info) == 0 && info.timescale == 44100);
    CHECK(omn_codec_probe(OMN_CODEC_AAC, he, 4, &info) == 0);
    CHECK(info.timescale == 48000 && info.frame_ticks == 2048 && strcmp(info.codecs, "mp4a.40.5") == 0);
    CHECK(omn_codec_probe(OMN_CODEC_AAC, esc, 3, &info) == OMN_CMAF_ECONFIG);  /* AOT 32 */
    CHECK(omn_codec_probe(OMN_CODEC_AAC, lc48, 1, &info) == OMN_CMAF_ECONFIG);
    CHECK(omn_codec_probe(OMN_CODEC_AAC, bad_rate, 2, &info) == OMN_CMAF_ECONFIG);

    /* ADTS header -> ASC */
    static const uint8_t adts[] = { 0xFF, 0xF1, 0x4C, 0x80, 0x01, 0x3F, 0xFC };  /* LC 48k 2ch */
    omn_buf asc = {0};
    CHECK(omn_asc_from_adts(&asc, adts, sizeof adts) == 0);
    CHECK(asc.len == 2 && asc.data[0] == 0x11 && asc.data[1] == 0x90);
    CHECK(omn_asc_from_adts(&asc, adts, 6) == OMN_CMAF_ECONFIG && asc.len == 2);
    static const uint8_t adts_pce[] = { 0xFF, 0xF1, 0x4C, 0x00, 0x01, 0x3F, 0xFC };  /* channel config 0 */
    CHECK(omn_asc_from_adts(&asc, adts_pce, sizeof adts_pce) == OMN_CMAF_ECONFIG && asc.len == 2);
    omn_buf_free(&asc);

    /* channel configuration 0: the channel count comes from the PCE, which
     * must be there (omn_aac_asc_parse reads it) */
    CHECK(omn_codec_probe(OMN_CODEC_AAC, pce_51, sizeof pce_51, &info) == 0 && info.channels == 6);
    CHECK(omn_codec_probe(OMN_CODEC_AAC, pce_51, 2, &info) == OMN_CMAF_ECONFIG);
    /* HE-AAC v2: the PS output is stereo although the core is mono */
    bw w = { { 0 }, 0 };
    wbits(&w, 29, 5); wbits(&w, 6, 4); wbits(&w, 1, 4); wbits(&w, 3, 4); wbits(&w, 2, 5); wbits(&w, 0, 3);
    CHECK(omn_codec_probe(OMN_CODEC_AAC, w.d, (w.bits + 7) / 8, &info) == 0 && info.channels == 2);
    CHECK(info.timescale == 48000 && info.frame_ticks == 2048 && strcmp(info.codecs, "mp4a.40.29") == 0);
}

/* ------------------------------------------------------------ Opus */

static void test_opus(void)
{
    omn_codec_info info;
    /* OpusHead (RFC 7845 5.1) */
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
    /* family 0 is mono or stereo (RFC 7845 5.1.1) */
    memcpy(bad, head, 19); bad[9] = 3; bad[18] = 0;
    CHECK(omn_opus_head_parse(bad, 19, &o) == OMN_ASC_E_MALFORMED);
    memcpy(bad, head, 19); bad[9] = 2; bad[18] = 0;
    CHECK(omn_opus_head_parse(bad, 19, &o) == 0 && o.stream_count == 1 && o.coupled_count == 1);
    CHECK(omn_opus_head_parse(head, sizeof head, &o) == 0 && o.stream_count == 4 && o.coupled_count == 2);

    /* OpusHead -> dOps: stereo, pre-skip 312, 48 kHz */
    uint8_t h2[32] = { 'O', 'p', 'u', 's', 'H', 'e', 'a', 'd', 1, 2, 0x38, 0x01,
                       0x80, 0xBB, 0, 0, 0, 0, 0 };
    CHECK(omn_codec_probe(OMN_CODEC_OPUS, h2, 19, &info) == 0);
    CHECK(info.timescale == 48000 && info.channels == 2 && strcmp(info.codecs, "opus") == 0);
    omn_buf init = {0};
    CHECK(omn_cmaf_write_init(&init, OMN_CODEC_OPUS, h2, 19, 0) == 0);
    tbox b;
    CHECK(find_path(init.data, init.len, "moov/trak/mdia/minf/stbl/stsd/Opus/dOps", &b) == 0);
    static const uint8_t dops[] = { 0, 2, 0x01, 0x38, 0, 0, 0xBB, 0x80, 0, 0, 0 };
    CHECK(b.body_len == sizeof dops && memcmp(b.body, dops, sizeof dops) == 0);
    CHECK(find_path(init.data, init.len, "moov/trak/mdia/minf/stbl/stsd/Opus", &b) == 0);
    CHECK(be16(b.body + 16) == 2 && be32(b.body + 24) == 48000u << 16);
    omn_buf_free(&init);
    h2[9] = 3;                                      /* family 0 allows 1-2 channels */
    CHECK(omn_codec_probe(OMN_CODEC_OPUS, h2, 19, &info) == OMN_CMAF_ECONFIG);
    h2[18] = 1; h2[19] = 2; h2[20] = 1; h2[21] = 0; h2[22] = 4; h2[23] = 1;
    CHECK(omn_codec_probe(OMN_CODEC_OPUS, h2, 24, &info) == OMN_CMAF_ECONFIG);  /* 4 >= 3 */
    h2[22] = 2;
    CHECK(omn_codec_probe(OMN_CODEC_OPUS, h2, 24, &info) == 0 && info.channels == 3);
    CHECK(omn_codec_probe(OMN_CODEC_OPUS, h2, 23, &info) == OMN_CMAF_ECONFIG);
}

int main(void)
{
    test_h264_sps();
    test_h264_record();
    test_hevc_sps();
    test_hevc_record();
    test_codec_strings();
    test_asc();
    test_aac_record();
    test_opus();
    if (failures) { fprintf(stderr, "%d failure(s)\n", failures); return 1; }
    puts("ok");
    return 0;
}

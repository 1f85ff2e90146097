/* Unit tests for the CMAF writers: Annex B splitting, init segments and
 * media parts checked box by box. Codec configurations (avcC, hvcC,
 * AudioSpecificConfig, OpusHead, CODECS strings, records from Annex B /
 * ADTS) are tested in test_codec_config.c. */
#include "cmaf_testutil.h"
#include "../src/cmaf_internal.h"

static void check_common_init(const omn_buf *init, uint32_t ts, const char *handler, int aid3)
{
    CHECK(boxes_tile(init->data, init->len));
    tbox b;
    CHECK(find_nth(init->data, init->len, "ftyp", 0, &b) == 0 && b.p == init->data);
    CHECK(b.body_len == (aid3 ? 20u : 16u));
    CHECK(memcmp(b.body, "iso6\0\0\0\0iso6cmfc", 16) == 0);
    if (aid3) CHECK(memcmp(b.body + 16, "aid3", 4) == 0);
    CHECK(find_path(init->data, init->len, "moov/mvhd", &b) == 0 && b.body_len == 100);
    CHECK(b.body[0] == 0 && be32(b.body + 12) == ts && be32(b.body + 16) == 0);
    CHECK(be32(b.body + 20) == 0x00010000 && be16(b.body + 24) == 0x0100);
    CHECK(be32(b.body + 96) == 2);                    /* next_track_ID */
    CHECK(find_path(init->data, init->len, "moov/trak/tkhd", &b) == 0 && b.body_len == 84);
    CHECK((be32(b.body) & 0xFFFFFF) == 3 && be32(b.body + 12) == 1);
    CHECK(find_path(init->data, init->len, "moov/trak/mdia/mdhd", &b) == 0 && b.body_len == 24);
    CHECK(be32(b.body + 12) == ts && be16(b.body + 20) == 0x55C4);   /* 'und' */
    CHECK(find_path(init->data, init->len, "moov/trak/mdia/hdlr", &b) == 0);
    CHECK(memcmp(b.body + 8, handler, 4) == 0 && b.body[b.body_len - 1] == 0);
    CHECK(find_path(init->data, init->len, "moov/trak/mdia/minf/dinf/dref/url ", &b) == 0);
    CHECK(b.body_len == 4 && be32(b.body) == 1);
    static const char *tables[] = { "stts", "stsc", "stco" };
    for (int i = 0; i < 3; i++) {
        char path[64];
        snprintf(path, sizeof path, "moov/trak/mdia/minf/stbl/%s", tables[i]);
        CHECK(find_path(init->data, init->len, path, &b) == 0 && b.body_len == 8 && be32(b.body + 4) == 0);
    }
    CHECK(find_path(init->data, init->len, "moov/trak/mdia/minf/stbl/stsz", &b) == 0 && b.body_len == 12);
    CHECK(find_path(init->data, init->len, "moov/trak/mdia/minf/stbl/stsd", &b) == 0 && be32(b.body + 4) == 1);
    CHECK(find_path(init->data, init->len, "moov/mvex/trex", &b) == 0 && b.body_len == 24);
    CHECK(be32(b.body + 4) == 1 && be32(b.body + 8) == 1 && be32(b.body + 20) == 0);
    CHECK(find_path(init->data, init->len, "moov/trak/edts", &b) != 0);   /* no edit list */
}

static void test_init_video(void)
{
    uint8_t rec[256];
    size_t n = make_avcc(rec, SPS_240P_BASE, PPS_240P_BASE, 2);
    omn_buf init = {0};
    CHECK(omn_cmaf_write_init(&init, OMN_CODEC_H264, rec, n, OMN_CMAF_INIT_AID3) == 0);
    check_common_init(&init, 90000, "vide", 1);
    tbox b;
    CHECK(find_path(init.data, init.len, "moov/trak/tkhd", &b) == 0);
    CHECK(be32(b.body + 76) == 320u << 16 && be32(b.body + 80) == 240u << 16);
    CHECK(be16(b.body + 36) == 0);                    /* video volume 0 */
    CHECK(find_path(init.data, init.len, "moov/trak/mdia/minf/vmhd", &b) == 0 && (be32(b.body) & 1));
    CHECK(find_path(init.data, init.len, "moov/trak/mdia/minf/stbl/stsd/avc1", &b) == 0);
    CHECK(be16(b.body + 6) == 1 && be16(b.body + 24) == 320 && be16(b.body + 26) == 240);
    CHECK(be32(b.body + 28) == 0x00480000 && be16(b.body + 40) == 1);
    CHECK(be16(b.body + 74) == 0x18 && be16(b.body + 76) == 0xFFFF);
    CHECK(find_path(init.data, init.len, "moov/trak/mdia/minf/stbl/stsd/avc1/avcC", &b) == 0);
    /* normalised: 4-byte NAL lengths, otherwise the same record */
    CHECK(b.body_len == n && b.body[4] == 0xFF && memcmp(b.body + 5, rec + 5, n - 5) == 0);
    CHECK(memcmp(b.body, rec, 4) == 0);

    /* a failing writer leaves the buffer as it was */
    size_t before = init.len;
    CHECK(omn_cmaf_write_init(&init, OMN_CODEC_H264, rec, 5, 0) == OMN_CMAF_ECONFIG);
    CHECK(init.len == before);
    omn_buf_free(&init);
}

static void test_init_audio(void)
{
    static const uint8_t asc[] = { 0x12, 0x10 };
    omn_buf init = {0};
    CHECK(omn_cmaf_write_init(&init, OMN_CODEC_AAC, asc, 2, 0) == 0);
    check_common_init(&init, 44100, "soun", 0);
    tbox b;
    CHECK(find_path(init.data, init.len, "moov/trak/tkhd", &b) == 0);
    CHECK(be16(b.body + 36) == 0x0100 && be32(b.body + 76) == 0 && be32(b.body + 80) == 0);
    CHECK(find_path(init.data, init.len, "moov/trak/mdia/minf/smhd", &b) == 0);
    CHECK(find_path(init.data, init.len, "moov/trak/mdia/minf/stbl/stsd/mp4a", &b) == 0);
    CHECK(be16(b.body + 6) == 1 && be16(b.body + 16) == 2 && be16(b.body + 18) == 16);
    CHECK(be32(b.body + 24) == 44100u << 16);
    CHECK(find_path(init.data, init.len, "moov/trak/mdia/minf/stbl/stsd/mp4a/esds", &b) == 0);
    static const uint8_t esds[] = {
        0, 0, 0, 0,
        0x03, 0x80, 0x80, 0x80, 0x22, 0x00, 0x01, 0x00,
        0x04, 0x80, 0x80, 0x80, 0x14, 0x40, 0x15, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0x05, 0x80, 0x80, 0x80, 0x02, 0x12, 0x10,
        0x06, 0x80, 0x80, 0x80, 0x01, 0x02,
    };
    CHECK(b.body_len == sizeof esds && memcmp(b.body, esds, sizeof esds) == 0);
    omn_buf_free(&init);
}

static void test_part(void)
{
    /* I P B B: dts 0,3000,6000,9000; pts 3000,12000,6000,9000 -> cto 3000,9000,0,0 */
    omn_cmaf_sample s[4] = {
        { 3000, 10, OMN_SAMPLE_FLAGS_SYNC, 3000 },
        { 3000, 6, OMN_SAMPLE_FLAGS_NON_SYNC, 9000 },
        { 3000, 5, OMN_SAMPLE_FLAGS_NON_SYNC, 0 },
        { 3000, 7, OMN_SAMPLE_FLAGS_NON_SYNC, -3000 },
    };
    uint8_t payload[28];
    for (int i = 0; i < 28; i++) payload[i] = (uint8_t)i;
    omn_buf out = {0};
    CHECK(omn_cmaf_write_part(&out, 1, 7, 0x100000000ull, s, 4, payload, 28) == 0);
    CHECK(boxes_tile(out.data, out.len));
    tpart t;
    CHECK(parse_part(out.data, out.len, &t) == 0);
    CHECK(t.bytes == out.len && t.nemsg == 0 && t.seq == 7);
    CHECK(t.tfhd_flags == 0x020000 && t.track_id == 1 && t.tfdt == 0x100000000ull);
    CHECK(t.trun_version == 1 && t.trun_flags == 0x000F01 && t.count == 4);
    CHECK(t.cto[0] == 3000 && t.cto[1] == 9000 && t.cto[2] == 0 && t.cto[3] == -3000);
    CHECK(t.flags[0] == 0x02000000 && t.flags[1] == 0x01010000);
    CHECK(t.dur[3] == 3000 && t.size[0] == 10 && t.size[3] == 7);
    CHECK(t.mdat_len == 28 && memcmp(t.mdat_payload, payload, 28) == 0);
    /* exact moof layout: 8 + mfhd 16 + traf(8 + tfhd 16 + tfdt 20 + trun 20 + 4*16) */
    CHECK(be32(out.data) == 8 + 16 + 8 + 16 + 20 + 20 + 64);
    CHECK(t.data_offset == 8 + 16 + 8 + 16 + 20 + 20 + 64 + 8);

    out.len = 0;
    CHECK(omn_cmaf_write_part(&out, 0, 1, 0, s, 2, payload, 16) == 0);
    CHECK(parse_part(out.data, out.len, &t) == 0);
    CHECK(t.trun_version == 0 && t.trun_flags == 0x000301 && t.count == 2 && t.total_dur == 6000);
    CHECK(be32(out.data) == 8 + 16 + 8 + 16 + 20 + 20 + 16);

    CHECK(omn_cmaf_write_part(&out, 1, 1, 0, s, 4, payload, 27) == OMN_CMAF_EINVAL);
    CHECK(omn_cmaf_write_part(&out, 1, 1, 0, s, 0, payload, 0) == OMN_CMAF_EINVAL);
    omn_buf_free(&out);
}

/* Annex B -> 4-byte lengths: 3/4-byte start codes, 01 bytes inside NAL
 * units, "00 01" that is no start code, leading junk, trailing zeros. */
static void test_annexb_split(void)
{
    static const uint8_t in[] = {
        0xAB, 0x01,                                   /* junk before the first start code */
        0, 0, 1, 0x09, 0x01, 0x00, 0x01, 0x01,        /* AUD with 01 / 00 01 inside */
        0, 0, 0, 1, 0x65, 0x00, 0x00, 0x03, 0x01, 0x02, 0x00, 0x00,   /* trailing zeros */
        0, 0, 1, 0x41, 0x01,
    };
    static const uint8_t want[] = {
        0, 0, 0, 5, 0x09, 0x01, 0x00, 0x01, 0x01,
        0, 0, 0, 6, 0x65, 0x00, 0x00, 0x03, 0x01, 0x02,
        0, 0, 0, 2, 0x41, 0x01,
    };
    omn_buf out = {0};
    CHECK(omn_nal_to_len4(&out, in, sizeof in, OMN_INPUT_ANNEXB, 0) == 0);
    CHECK(out.len == sizeof want && memcmp(out.data, want, sizeof want) == 0);
    out.len = 0;
    CHECK(omn_nal_to_len4(&out, in, 2, OMN_INPUT_ANNEXB, 0) == OMN_CMAF_EINVAL);
    CHECK(omn_nal_to_len4(&out, in + 2, 3, OMN_INPUT_ANNEXB, 0) == OMN_CMAF_EINVAL);  /* empty NAL */
    static const uint8_t l2[] = { 0, 2, 0x65, 0x88, 0, 1, 0x41 };
    CHECK(omn_nal_to_len4(&out, l2, sizeof l2, OMN_INPUT_RAW, 2) == 0);
    static const uint8_t w2[] = { 0, 0, 0, 2, 0x65, 0x88, 0, 0, 0, 1, 0x41 };
    CHECK(out.len == sizeof w2 && memcmp(out.data, w2, sizeof w2) == 0);
    CHECK(omn_nal_to_len4(&out, l2, 6, OMN_INPUT_RAW, 2) == OMN_CMAF_EINVAL && out.len == sizeof w2);
    omn_buf_free(&out);
}

int main(void)
{
    test_annexb_split();
    test_init_video();
    test_init_audio();
    test_part();
    if (failures) { fprintf(stderr, "%d failure(s)\n", failures); return 1; }
    puts("ok");
    return 0;
}

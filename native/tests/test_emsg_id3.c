/* Unit tests for id3.c and emsg.c: the reference §4.4 vector byte for
 * byte, syncsafe sizes, TIT2/PRIV bodies, argument validation. */
#include "cmaf_testutil.h"

static const uint8_t vec_id3[46] = {
    0x49, 0x44, 0x33, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x24,
    0x54, 0x58, 0x58, 0x58, 0x00, 0x00, 0x00, 0x1a, 0x00, 0x00,
    0x03, 0x41, 0x69, 0x72, 0x65, 0x6e, 0x53, 0x6f, 0x66, 0x74, 0x00,
    0x4f, 0x76, 0x65, 0x6e, 0x4d, 0x65, 0x64, 0x69, 0x61, 0x45, 0x6e, 0x67, 0x69, 0x6e, 0x65,
};

static const uint8_t vec_emsg[123] = {
    0x00, 0x00, 0x00, 0x7b, 0x65, 0x6d, 0x73, 0x67, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0xe8,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0xe2, 0x40, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00,
    0x68, 0x74, 0x74, 0x70, 0x73, 0x3a, 0x2f, 0x2f, 0x61, 0x6f, 0x6d, 0x65, 0x64, 0x69, 0x61, 0x2e,
    0x6f, 0x72, 0x67, 0x2f, 0x65, 0x6d, 0x73, 0x67, 0x2f, 0x49, 0x44, 0x33, 0x00, 0x4f, 0x76, 0x65,
    0x6e, 0x4d, 0x65, 0x64, 0x69, 0x61, 0x45, 0x6e, 0x67, 0x69, 0x6e, 0x65, 0x00, 0x49, 0x44, 0x33,
    0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x24, 0x54, 0x58, 0x58, 0x58, 0x00, 0x00, 0x00, 0x1a, 0x00,
    0x00, 0x03, 0x41, 0x69, 0x72, 0x65, 0x6e, 0x53, 0x6f, 0x66, 0x74, 0x00, 0x4f, 0x76, 0x65, 0x6e,
    0x4d, 0x65, 0x64, 0x69, 0x61, 0x45, 0x6e, 0x67, 0x69, 0x6e, 0x65,
};

static void test_vector(void)
{
    omn_buf frames = {0}, tag = {0}, emsg = {0};
    CHECK(omn_id3_add_txxx(&frames, (const uint8_t *)"AirenSoft", 9,
                           (const uint8_t *)"OvenMediaEngine", 15) == 0);
    CHECK(omn_id3_tag(&tag, frames.data, frames.len) == 0);
    CHECK_EQ(tag.len, sizeof vec_id3);
    CHECK(tag.len == sizeof vec_id3 && memcmp(tag.data, vec_id3, tag.len) == 0);
    /* NULL scheme/value select the defaults */
    CHECK(omn_emsg_write(&emsg, NULL, NULL, 1000, 123456, 0xFFFFFFFFu, 0, tag.data, tag.len) == 0);
    CHECK_EQ(emsg.len, sizeof vec_emsg);
    CHECK(emsg.len == sizeof vec_emsg && memcmp(emsg.data, vec_emsg, emsg.len) == 0);
    /* explicit strings give the same bytes; appending keeps what was there */
    CHECK(omn_emsg_write(&emsg, "https://aomedia.org/emsg/ID3", "OvenMediaEngine", 1000, 123456,
                         0xFFFFFFFFu, 0, tag.data, tag.len) == 0);
    CHECK(emsg.len == 2 * sizeof vec_emsg && memcmp(emsg.data + 123, vec_emsg, 123) == 0);
    omn_buf_free(&frames);
    omn_buf_free(&tag);
    omn_buf_free(&emsg);
    CHECK(emsg.data == NULL && emsg.len == 0 && emsg.cap == 0);
}

static void test_syncsafe(void)
{
    uint8_t s[4];
    static const struct { uint32_t v; uint8_t b[4]; } cases[] = {
        { 0, { 0, 0, 0, 0 } },       { 127, { 0, 0, 0, 0x7f } },
        { 128, { 0, 0, 1, 0 } },     { 200, { 0, 0, 1, 0x48 } },
        { 16383, { 0, 0, 0x7f, 0x7f } }, { 16384, { 0, 1, 0, 0 } },
        { (1u << 28) - 1, { 0x7f, 0x7f, 0x7f, 0x7f } },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        CHECK(omn_id3_syncsafe(cases[i].v, s) == 0);
        CHECK(memcmp(s, cases[i].b, 4) == 0);
    }
    CHECK(omn_id3_syncsafe(1u << 28, s) == OMN_CMAF_ETOOBIG);
}

/* Frame size field for bodies of 127/128/200/16383/16384 bytes. */
static void test_frame_sizes(void)
{
    static const uint32_t bodies[] = { 127, 128, 200, 16383, 16384 };
    static uint8_t text[20000];
    memset(text, 'x', sizeof text);
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
        omn_buf f = {0}, tag = {0};
        uint8_t want[4];
        /* TIT2 body = 1 encoding byte + text */
        CHECK(omn_id3_add_text(&f, "TIT2", text, bodies[i] - 1) == 0);
        omn_id3_syncsafe(bodies[i], want);
        CHECK_EQ(f.len, 10 + bodies[i]);
        CHECK(memcmp(f.data, "TIT2", 4) == 0 && memcmp(f.data + 4, want, 4) == 0);
        CHECK(f.data[8] == 0 && f.data[9] == 0 && f.data[10] == 3);
        CHECK(omn_id3_tag(&tag, f.data, f.len) == 0);
        omn_id3_syncsafe((uint32_t)f.len, want);
        CHECK(memcmp(tag.data + 6, want, 4) == 0);
        CHECK_EQ(tag.len, 10 + f.len);
        omn_buf_free(&f);
        omn_buf_free(&tag);
    }
}

static void test_priv_and_multi(void)
{
    omn_buf f = {0}, tag = {0};
    CHECK(omn_id3_add_priv(&f, (const uint8_t *)"com.example", 11, (const uint8_t *)"\x01\x00\x02", 3) == 0);
    static const uint8_t priv[] = { 'P', 'R', 'I', 'V', 0, 0, 0, 15, 0, 0,
        'c', 'o', 'm', '.', 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0, 1, 0, 2 };
    CHECK(f.len == sizeof priv && memcmp(f.data, priv, sizeof priv) == 0);
    CHECK(omn_id3_add_text(&f, "TIT2", (const uint8_t *)"hello", 5) == 0);
    static const uint8_t tit2[] = { 'T', 'I', 'T', '2', 0, 0, 0, 6, 0, 0, 3, 'h', 'e', 'l', 'l', 'o' };
    CHECK(f.len == sizeof priv + sizeof tit2 && memcmp(f.data + sizeof priv, tit2, sizeof tit2) == 0);
    CHECK(omn_id3_add_txxx(&f, NULL, 0, NULL, 0) == 0);   /* empty description and value */
    static const uint8_t txxx[] = { 'T', 'X', 'X', 'X', 0, 0, 0, 2, 0, 0, 3, 0 };
    CHECK(memcmp(f.data + sizeof priv + sizeof tit2, txxx, sizeof txxx) == 0);
    CHECK(omn_id3_tag(&tag, f.data, f.len) == 0);
    CHECK_EQ(tag.len, 10 + sizeof priv + sizeof tit2 + sizeof txxx);
    CHECK_EQ(tag.data[9], sizeof priv + sizeof tit2 + sizeof txxx);

    /* invalid input leaves the buffer untouched */
    size_t before = f.len;
    CHECK(omn_id3_add_text(&f, "TXXX", (const uint8_t *)"a", 1) == OMN_CMAF_EINVAL);
    CHECK(omn_id3_add_text(&f, "XYZ1", (const uint8_t *)"a", 1) == OMN_CMAF_EINVAL);
    CHECK(omn_id3_add_text(&f, "Tit2", (const uint8_t *)"a", 1) == OMN_CMAF_EINVAL);
    CHECK(omn_id3_add_txxx(&f, (const uint8_t *)"a\0b", 3, NULL, 0) == OMN_CMAF_EINVAL);
    CHECK(omn_id3_add_priv(&f, (const uint8_t *)"o\0", 2, NULL, 0) == OMN_CMAF_EINVAL);
    CHECK(omn_id3_tag(&tag, f.data, 5) == OMN_CMAF_EINVAL);
    CHECK_EQ(f.len, before);
    omn_buf_free(&f);
    omn_buf_free(&tag);

    omn_buf e = {0};
    CHECK(omn_emsg_write(&e, NULL, NULL, 0, 0, 0, 0, NULL, 0) == OMN_CMAF_EINVAL);
    CHECK(omn_emsg_write(&e, "urn:x", "0", 90000, (uint64_t)1 << 40, 5, 7, NULL, 0) == 0);
    CHECK_EQ(e.len, 12 + 4 + 8 + 4 + 4 + 6 + 2);
    CHECK(e.data[8] == 1 && be32(e.data + 12) == 90000 && be64(e.data + 16) == (uint64_t)1 << 40);
    CHECK(be32(e.data + 24) == 5 && be32(e.data + 28) == 7);
    omn_buf_free(&e);
}

int main(void)
{
    test_vector();
    test_syncsafe();
    test_frame_sizes();
    test_priv_and_multi();
    if (failures) { fprintf(stderr, "%d failure(s)\n", failures); return 1; }
    puts("ok");
    return 0;
}

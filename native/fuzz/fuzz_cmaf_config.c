/* libFuzzer harness for the CMAF codec-configuration parsers and the
 * packager's sample parsers: avcC / hvcC / AudioSpecificConfig / OpusHead
 * (untrusted: publishers send them), records built from Annex B and ADTS,
 * and samples fed to a packager (Annex B / length-prefixed NAL units, ADTS,
 * Opus TOC). First input byte selects the target, the rest is the input.
 * Invariant checked besides memory safety: a normalised record parses
 * again to the same codec info (the init segment never carries a record
 * our own parser would reject). */
#include "../src/cmaf_internal.h"

#include <stdlib.h>
#include <string.h>

static void check_roundtrip(int codec, const uint8_t *p, size_t n)
{
    omn_codec_cfg a, b;
    if (omn_codec_cfg_parse(&a, codec, p, n) != 0) return;
    if (codec == OMN_CODEC_H264 || codec == OMN_CODEC_H265) {
        if (omn_codec_cfg_parse(&b, codec, a.record.data, a.record.len) != 0) abort();
        if (b.info.width != a.info.width || b.info.height != a.info.height ||
            strcmp(b.info.codecs, a.info.codecs) != 0 || b.info.nal_length_size != 4)
            abort();
        omn_codec_cfg_free(&b);
    }
    omn_buf init = {0};
    if (omn_cmaf_write_init_cfg(&init, &a, OMN_CMAF_INIT_AID3) != 0) abort();
    if (init.len < 8 || omn_rd32(init.data) > init.len) abort();
    omn_buf_free(&init);
    char s[64];
    if (omn_codecs_string(codec, p, n, s, sizeof s) <= 0) abort();
    omn_codec_cfg_free(&a);
}

static void feed_samples(int codec, const uint8_t *cfg, size_t cfg_len, int fmt,
                         const uint8_t *p, size_t n)
{
    omn_llhls_config c = {0};
    c.codec = codec;
    c.codec_config = cfg;
    c.codec_config_len = cfg_len;
    c.input_format = fmt;
    c.segment_mode = n & 1 ? OMN_SEG_FOLLOW : OMN_SEG_LEAD;
    c.part_target = 3000;
    c.segment_ms = 100;
    c.max_segment_ms = 150;
    omn_llhls *pk = NULL;
    if (omn_llhls_new(&c, &pk) != 0) abort();
    /* samples: [u8 len][u8 flags][len bytes]...; flags: bit0 key, bits1-7 dts step */
    int64_t dts = 0;
    size_t off = 0;
    omn_llhls_part part;
    while (n - off >= 2) {
        size_t len = p[off];
        uint8_t fl = p[off + 1];
        off += 2;
        if (len > n - off) len = n - off;
        dts += (fl >> 1) * 97;
        if (fl == 0xFF) omn_llhls_request_cut(pk, (uint64_t)dts, 90000);
        if (fl == 0xFE && len) omn_llhls_add_event(pk, (uint64_t)dts / 90, 1, p + off, len);
        omn_llhls_feed(pk, p + off, len, dts, dts + (fl & 0x70) * 10, fl & 1);
        off += len;
        while (omn_llhls_pop_part(pk, &part)) omn_buf_free(&part.bytes);
    }
    omn_llhls_finish(pk, 0);
    while (omn_llhls_pop_part(pk, &part)) omn_buf_free(&part.bytes);
    omn_llhls_free(pk);
}

/* A valid 320x240 baseline avcC, 4-byte lengths; and 2-byte lengths. */
static const uint8_t avcc4[] = {
    0x01, 0x42, 0xc0, 0x0d, 0xff, 0xe1, 0x00, 0x18, 0x67, 0x42, 0xc0, 0x0d, 0xd9, 0x01, 0x41,
    0xfb, 0x01, 0x10, 0x00, 0x00, 0x03, 0x00, 0x10, 0x00, 0x00, 0x03, 0x03, 0xc0, 0xf1, 0x42,
    0xa4, 0x80, 0x01, 0x00, 0x05, 0x68, 0xcb, 0x83, 0xcb, 0x20,
};
static const uint8_t asc_lc48[] = { 0x11, 0x90 };
static const uint8_t opus_head[19] = { 'O', 'p', 'u', 's', 'H', 'e', 'a', 'd', 1, 2, 0x38, 0x01,
                                       0x80, 0xBB, 0, 0, 0, 0, 0 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    const uint8_t *p = data + 1;
    size_t n = size - 1;
    omn_codec_info info;
    omn_buf out = {0};
    switch (data[0] % 10) {
    case 0: check_roundtrip(OMN_CODEC_H264, p, n); break;
    case 1: check_roundtrip(OMN_CODEC_H265, p, n); break;
    case 2: check_roundtrip(OMN_CODEC_AAC, p, n); break;
    case 3: check_roundtrip(OMN_CODEC_OPUS, p, n); break;
    case 4:
        if (omn_avcc_from_annexb(&out, p, n) == 0 &&
            omn_codec_probe(OMN_CODEC_H264, out.data, out.len, &info) != 0) abort();
        break;
    case 5:
        if (omn_hvcc_from_annexb(&out, p, n) == 0 &&
            omn_codec_probe(OMN_CODEC_H265, out.data, out.len, &info) != 0) abort();
        break;
    case 6:
        if (omn_asc_from_adts(&out, p, n) == 0 &&
            omn_codec_probe(OMN_CODEC_AAC, out.data, out.len, &info) != 0) abort();
        break;
    case 7: feed_samples(OMN_CODEC_H264, avcc4, sizeof avcc4, (data[0] / 10) & 1, p, n); break;
    case 8: feed_samples(OMN_CODEC_AAC, asc_lc48, 2, (data[0] / 10) & 1 ? 2 : 0, p, n); break;
    case 9: feed_samples(OMN_CODEC_OPUS, opus_head, sizeof opus_head, 0, p, n); break;
    }
    omn_buf_free(&out);
    return 0;
}

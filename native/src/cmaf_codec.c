/* cmaf_codec.c - codec configuration dispatch: AudioSpecificConfig and
 * OpusHead parsing, ADTS headers, Opus TOC durations, omn_codec_probe and
 * CODECS strings. H.264/H.265 records live in cmaf_h26x.c. Inputs come
 * from publishers and are untrusted. */
#include "cmaf_internal.h"

#include <stdio.h>
#include <string.h>

typedef struct bits {
    const uint8_t *p;
    size_t nbits, pos;
    int err;
} bits;

static uint32_t get(bits *b, int n)
{
    uint32_t v = 0;
    if (b->err || (size_t)n > b->nbits - b->pos) { b->err = 1; return 0; }
    for (int i = 0; i < n; i++, b->pos++)
        v = (v << 1) | ((b->p[b->pos >> 3] >> (7 - (b->pos & 7))) & 1u);
    return v;
}

static const uint32_t aac_rates[13] = {
    96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350
};
static const uint32_t aac_channels[8] = { 0, 1, 2, 3, 4, 5, 6, 8 };

static uint32_t asc_rate(bits *b)
{
    uint32_t idx = get(b, 4);
    if (idx == 15) return get(b, 24);
    if (idx > 12) { b->err = 1; return 0; }
    return aac_rates[idx];
}

static uint32_t asc_aot(bits *b)
{
    uint32_t aot = get(b, 5);
    return aot == 31 ? 32 + get(b, 6) : aot;
}

static int parse_asc(omn_codec_cfg *c, const uint8_t *p, size_t n)
{
    if (n < 2 || n > 64) return OMN_CMAF_ECONFIG;
    bits b = { p, n * 8, 0, 0 };
    uint32_t aot = asc_aot(&b), signalled = aot;
    uint32_t rate = asc_rate(&b), out_rate = rate;
    uint32_t chan = get(&b, 4);
    int sbr = 0;
    if (aot == 5 || aot == 29) {
        sbr = 1;
        out_rate = asc_rate(&b);
        aot = asc_aot(&b);
    }
    if (b.err || aot < 1 || aot > 4 || chan > 7 || rate == 0 || out_rate == 0)
        return OMN_CMAF_ECONFIG;
    uint32_t frame = get(&b, 1) ? 960 : 1024;            /* GASpecificConfig frameLengthFlag */
    if (b.err) return OMN_CMAF_ECONFIG;
    if (sbr) frame *= 2;
    if (out_rate > 0xFFFF * 2) return OMN_CMAF_ECONFIG;  /* timescale sanity (<= 131070 Hz) */
    c->aac_object_type = signalled;
    c->info.sample_rate = out_rate;
    c->info.timescale = out_rate;
    c->info.channels = chan ? aac_channels[chan] : 2;
    if (signalled == 29) c->info.channels = 2;
    c->info.frame_ticks = frame;
    snprintf(c->info.codecs, sizeof c->info.codecs, "mp4a.40.%u", (unsigned)signalled);
    return omn_buf_append(&c->record, p, n);
}

static int parse_opus_head(omn_codec_cfg *c, const uint8_t *p, size_t n)
{
    if (n < 19 || memcmp(p, "OpusHead", 8) != 0) return OMN_CMAF_ECONFIG;
    uint32_t version = p[8], ch = p[9];
    uint32_t pre_skip = p[10] | (uint32_t)p[11] << 8;
    uint32_t in_rate = p[12] | (uint32_t)p[13] << 8 | (uint32_t)p[14] << 16 | (uint32_t)p[15] << 24;
    int32_t gain = (int16_t)(p[16] | p[17] << 8);
    uint32_t family = p[18];
    if ((version & 0xF0) != 0 || ch == 0) return OMN_CMAF_ECONFIG;
    uint32_t streams = 0, coupled = 0;
    if (family == 0) {
        if (ch > 2) return OMN_CMAF_ECONFIG;
    } else {
        if (n < 21 + (size_t)ch) return OMN_CMAF_ECONFIG;
        streams = p[19];
        coupled = p[20];
        if (streams == 0 || coupled > streams || streams + coupled > 255) return OMN_CMAF_ECONFIG;
        if (family == 1 && ch > 8) return OMN_CMAF_ECONFIG;
        for (uint32_t i = 0; i < ch; i++)
            if (p[21 + i] != 255 && p[21 + i] >= streams + coupled) return OMN_CMAF_ECONFIG;
    }
    c->opus_pre_skip = pre_skip;
    c->opus_input_rate = in_rate;
    c->opus_gain = gain;
    c->opus_family = family;
    c->info.sample_rate = 48000;
    c->info.timescale = 48000;
    c->info.channels = ch;
    c->info.frame_ticks = 0;
    snprintf(c->info.codecs, sizeof c->info.codecs, "opus");
    /* dOps body: the OpusHead fields big-endian, version 0 */
    omn_w w;
    omn_w_open(&w, &c->record);
    omn_w_u8(&w, 0);
    omn_w_u8(&w, ch);
    omn_w_u16(&w, pre_skip);
    omn_w_u32(&w, in_rate);
    omn_w_u16(&w, (uint32_t)gain & 0xFFFF);
    omn_w_u8(&w, family);
    if (family != 0) {
        omn_w_u8(&w, streams);
        omn_w_u8(&w, coupled);
        omn_w_bytes(&w, p + 21, ch);
    }
    return omn_w_done(&w);
}

int omn_codec_cfg_parse(omn_codec_cfg *c, int codec, const uint8_t *cfg, size_t len)
{
    memset(c, 0, sizeof *c);
    c->info.codec = codec;
    if (!cfg && len) return OMN_CMAF_EINVAL;
    int rc;
    switch (codec) {
    case OMN_CODEC_H264:
        c->info.is_video = 1;
        c->info.timescale = 90000;
        rc = omn_h26x_parse_avcc(c, cfg, len);
        break;
    case OMN_CODEC_H265:
        c->info.is_video = 1;
        c->info.timescale = 90000;
        rc = omn_h26x_parse_hvcc(c, cfg, len);
        break;
    case OMN_CODEC_AAC:
        rc = parse_asc(c, cfg, len);
        break;
    case OMN_CODEC_OPUS:
        rc = parse_opus_head(c, cfg, len);
        break;
    default:
        return OMN_CMAF_EINVAL;
    }
    if (rc) omn_codec_cfg_free(c);
    return rc;
}

void omn_codec_cfg_free(omn_codec_cfg *c)
{
    omn_buf_free(&c->record);
}

int omn_codec_probe(int codec, const uint8_t *cfg, size_t len, omn_codec_info *out)
{
    omn_codec_cfg c;
    int rc = omn_codec_cfg_parse(&c, codec, cfg, len);
    if (rc) return rc;
    *out = c.info;
    omn_codec_cfg_free(&c);
    return OMN_CMAF_OK;
}

int omn_codecs_string(int codec, const uint8_t *cfg, size_t len, char *out, size_t cap)
{
    omn_codec_info info;
    int rc = omn_codec_probe(codec, cfg, len, &info);
    if (rc) return rc;
    size_t n = strlen(info.codecs);
    if (n + 1 > cap) return OMN_CMAF_ETOOBIG;
    memcpy(out, info.codecs, n + 1);
    return (int)n;
}

/* ---- ADTS ------------------------------------------------------------ */

static int adts_header(const uint8_t *p, size_t n, size_t *hdr, size_t *frame_len)
{
    if (n < 7 || p[0] != 0xFF || (p[1] & 0xF6) != 0xF0) return OMN_CMAF_EINVAL;
    *hdr = (p[1] & 1) ? 7 : 9;
    *frame_len = (size_t)(p[3] & 3) << 11 | (size_t)p[4] << 3 | p[5] >> 5;
    return OMN_CMAF_OK;
}

int omn_adts_payload(const uint8_t *p, size_t n, size_t *off, size_t *len)
{
    size_t hdr, flen;
    if (adts_header(p, n, &hdr, &flen)) return OMN_CMAF_EINVAL;
    if (flen != n || flen <= hdr || (p[6] & 3) != 0) return OMN_CMAF_EINVAL;
    *off = hdr;
    *len = flen - hdr;
    return OMN_CMAF_OK;
}

int omn_asc_from_adts(omn_buf *out, const uint8_t *data, size_t len)
{
    size_t hdr, flen;
    if (adts_header(data, len, &hdr, &flen)) return OMN_CMAF_ECONFIG;
    uint32_t aot = (data[2] >> 6) + 1, sfi = (data[2] >> 2) & 0xF;
    uint32_t chan = (uint32_t)(data[2] & 1) << 2 | data[3] >> 6;
    if (sfi > 12) return OMN_CMAF_ECONFIG;
    uint8_t asc[2] = { (uint8_t)(aot << 3 | sfi >> 1), (uint8_t)((sfi & 1) << 7 | chan << 3) };
    return omn_buf_append(out, asc, 2);
}

/* ---- Opus TOC (RFC 6716 §3.1) ---------------------------------------- */

uint32_t omn_opus_packet_ticks(const uint8_t *p, size_t n)
{
    static const uint32_t silk[4] = { 480, 960, 1920, 2880 };
    static const uint32_t celt[4] = { 120, 240, 480, 960 };
    if (n < 1) return 0;
    uint32_t config = p[0] >> 3, per;
    if (config < 12) per = silk[config & 3];
    else if (config < 16) per = (config & 1) ? 960 : 480;
    else per = celt[config & 3];
    uint32_t frames;
    switch (p[0] & 3) {
    case 0: frames = 1; break;
    case 1: case 2: frames = 2; break;
    default:
        if (n < 2) return 0;
        frames = p[1] & 0x3F;
        break;
    }
    uint32_t total = per * frames;
    if (total == 0 || total > 5760) return 0;            /* at most 120 ms */
    return total;
}

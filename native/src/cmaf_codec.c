/* cmaf_codec.c - codec configuration dispatch for the packager
 * (omn_codec_probe, omn_codecs_string): AudioSpecificConfig and OpusHead
 * turned into sample-entry records, ADTS headers, Opus TOC durations.
 * Parsing itself is aac_asc.c / opus_head.c (audio) and cmaf_h26x.c on
 * h264_sps.c / hevc_sps.c (video). Inputs come from publishers and are
 * untrusted. */
#include "cmaf_internal.h"

#include <stdio.h>
#include <string.h>

/* AudioSpecificConfig: parsed by omn_aac_asc_parse (aac_asc.c); here it is
 * held to what the packager carries (an AAC Main/LC/SSR/LTP core, plain or
 * with explicit SBR/PS, in a channel configuration mp4a/ADTS can signal). */
static int parse_asc(omn_codec_cfg *c, const uint8_t *p, size_t n)
{
    omn_asc_info a;
    if (n > 64 || omn_aac_asc_parse(p, n, &a) != 0) return OMN_CMAF_ECONFIG;
    if (a.core_object_type < 1 || a.core_object_type > 4 || a.channel_config > 7 || a.channels <= 0)
        return OMN_CMAF_ECONFIG;
    uint32_t out_rate = a.sbr ? a.ext_sample_rate : a.sample_rate;
    if (out_rate > 0xFFFF * 2) return OMN_CMAF_ECONFIG;  /* timescale sanity (<= 131070 Hz) */
    c->aac_object_type = (uint32_t)a.object_type;
    c->info.sample_rate = out_rate;
    c->info.timescale = out_rate;
    c->info.channels = a.ps ? 2 : (uint32_t)a.channels;
    c->info.frame_ticks = (uint32_t)a.frame_length * (a.sbr ? 2 : 1);
    snprintf(c->info.codecs, sizeof c->info.codecs, "mp4a.40.%u", (unsigned)a.object_type);
    return omn_buf_append(&c->record, p, n);
}

/* OpusHead: parsed and validated by omn_opus_head_parse (opus_head.c);
 * here it becomes the dOps body. */
static int parse_opus_head(omn_codec_cfg *c, const uint8_t *p, size_t n)
{
    omn_opus_info o;
    if (omn_opus_head_parse(p, n, &o) != 0) return OMN_CMAF_ECONFIG;
    uint32_t ch = (uint32_t)o.channels, family = (uint32_t)o.mapping_family;
    c->opus_pre_skip = o.pre_skip;
    c->opus_input_rate = o.input_sample_rate;
    c->opus_gain = o.output_gain;
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
    omn_w_u16(&w, o.pre_skip);
    omn_w_u32(&w, o.input_sample_rate);
    omn_w_u16(&w, (uint32_t)o.output_gain & 0xFFFF);
    omn_w_u8(&w, family);
    if (family != 0) {
        omn_w_u8(&w, (uint32_t)o.stream_count);
        omn_w_u8(&w, (uint32_t)o.coupled_count);
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
    /* channel configuration 0 puts a PCE in the raw data blocks: a 2-byte
     * ASC cannot say what it holds (omn_aac_asc_parse wants the PCE) */
    if (sfi > 12 || chan == 0) return OMN_CMAF_ECONFIG;
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

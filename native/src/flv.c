/* flv.c - FLV tag bodies as carried by RTMP audio (8), video (9) and data
 * (18, 15) messages: legacy FLV and Enhanced RTMP (v1 video, v2 audio and
 * ModEx). Never copies: out->data points into the payload. */
#include "ome_native.h"

#include <string.h>

#define FOURCC(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (uint32_t)(d))

static int32_t si24(const uint8_t *p)
{
    uint32_t v = (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
    return (int32_t)(v ^ 0x800000u) - 0x800000;
}

static uint32_t rd_fourcc(const uint8_t *p) { return FOURCC(p[0], p[1], p[2], p[3]); }

static void set_data(omn_flv_tag *t, const uint8_t *payload, size_t len, size_t off)
{
    t->data_offset = off;
    t->data_len = len - off;
    t->data = payload + off;
}

/* Skips Enhanced RTMP ModEx blocks starting at *off (the byte after the
 * header byte whose packet type was ModEx); returns the real packet type
 * (low 4 bits of the byte that ends the chain) or -1. */
static int skip_modex(const uint8_t *p, size_t len, size_t *off)
{
    size_t o = *off;
    for (int guard = 0; guard < 16; guard++) {
        if (o >= len) return -1;
        size_t sz = (size_t)p[o++] + 1;
        if (sz == 256) {
            if (len - o < 2) return -1;
            sz = ((size_t)p[o] << 8 | p[o + 1]) + 1;
            o += 2;
        }
        if (len - o < sz + 1) return -1;
        o += sz;
        int pt = p[o++] & 0x0F;
        if (pt != 7) { *off = o; return pt; }
    }
    return -1;
}

static int32_t video_codec_from_fourcc(uint32_t f)
{
    switch (f) {
    case FOURCC('a', 'v', 'c', '1'): return OMN_FLV_CODEC_H264;
    case FOURCC('h', 'v', 'c', '1'): return OMN_FLV_CODEC_HEVC;
    case FOURCC('a', 'v', '0', '1'): return OMN_FLV_CODEC_AV1;
    case FOURCC('v', 'p', '0', '9'): return OMN_FLV_CODEC_VP9;
    case FOURCC('v', 'p', '0', '8'): return OMN_FLV_CODEC_VP8;
    default: return OMN_FLV_CODEC_UNKNOWN;
    }
}

static int32_t audio_codec_from_fourcc(uint32_t f)
{
    switch (f) {
    case FOURCC('m', 'p', '4', 'a'): return OMN_FLV_CODEC_AAC;
    case FOURCC('O', 'p', 'u', 's'): return OMN_FLV_CODEC_OPUS;
    case FOURCC('.', 'm', 'p', '3'): return OMN_FLV_CODEC_MP3;
    case FOURCC('f', 'L', 'a', 'C'): return OMN_FLV_CODEC_FLAC;
    case FOURCC('a', 'c', '-', '3'): return OMN_FLV_CODEC_AC3;
    case FOURCC('e', 'c', '-', '3'): return OMN_FLV_CODEC_EAC3;
    default: return OMN_FLV_CODEC_UNKNOWN;
    }
}

static int parse_video(const uint8_t *p, size_t len, omn_flv_tag *t)
{
    uint8_t b0 = p[0];
    size_t off = 1;

    if (b0 & 0x80) {                                  /* Enhanced RTMP */
        int pt = b0 & 0x0F;
        t->enhanced = 1;
        t->frame_type = (b0 >> 4) & 7;
        if (pt == 7) {                                /* ModEx */
            pt = skip_modex(p, len, &off);
            if (pt < 0) return OMN_FLV_E_MALFORMED;
        }
        t->packet_type = pt;
        if (pt == 6) {                                /* Multitrack */
            t->kind = OMN_FLV_KIND_UNSUPPORTED;
            set_data(t, p, len, off);
            return 0;
        }
        if (len - off < 4) return OMN_FLV_E_MALFORMED;
        t->fourcc = rd_fourcc(p + off);
        t->codec = video_codec_from_fourcc(t->fourcc);
        off += 4;
        t->keyframe = t->frame_type == 1 || t->frame_type == 4;
        if (t->frame_type == 5 && pt != 4) {         /* command frame */
            t->kind = OMN_FLV_KIND_COMMAND;
            set_data(t, p, len, off);
            return 0;
        }
        switch (pt) {
        case 0: t->kind = OMN_FLV_KIND_SEQUENCE_HEADER; break;
        case 1:
            t->kind = OMN_FLV_KIND_FRAME;
            if (t->codec == OMN_FLV_CODEC_H264 || t->codec == OMN_FLV_CODEC_HEVC) {
                if (len - off < 3) return OMN_FLV_E_MALFORMED;
                t->composition_time = si24(p + off);
                off += 3;
            }
            break;
        case 2: t->kind = OMN_FLV_KIND_END_OF_SEQUENCE; break;
        case 3: t->kind = OMN_FLV_KIND_FRAME; break;
        case 4: t->kind = OMN_FLV_KIND_METADATA; break;
        default: t->kind = OMN_FLV_KIND_UNSUPPORTED; break;
        }
        set_data(t, p, len, off);
        return 0;
    }

    int codec_id = b0 & 0x0F;
    t->frame_type = b0 >> 4;
    t->keyframe = t->frame_type == 1 || t->frame_type == 4;
    switch (codec_id) {
    case 7: t->codec = OMN_FLV_CODEC_H264; break;
    case 12: t->codec = OMN_FLV_CODEC_HEVC; break;   /* widespread pre-Enhanced extension */
    case 2: t->codec = OMN_FLV_CODEC_H263; break;
    case 3: case 6: t->codec = OMN_FLV_CODEC_SCREEN; break;
    case 4: case 5: t->codec = OMN_FLV_CODEC_VP6; break;
    default: t->codec = OMN_FLV_CODEC_UNKNOWN; break;
    }
    if (t->frame_type == 5) {                         /* video info/command frame */
        t->kind = OMN_FLV_KIND_COMMAND;
        set_data(t, p, len, off);
        return 0;
    }
    if (t->codec == OMN_FLV_CODEC_H264 || t->codec == OMN_FLV_CODEC_HEVC) {
        if (len - off < 4) return OMN_FLV_E_MALFORMED;
        t->packet_type = p[off];
        t->composition_time = si24(p + off + 1);
        off += 4;
        switch (t->packet_type) {
        case 0: t->kind = OMN_FLV_KIND_SEQUENCE_HEADER; break;
        case 1: t->kind = OMN_FLV_KIND_FRAME; break;
        case 2: t->kind = OMN_FLV_KIND_END_OF_SEQUENCE; break;
        default: t->kind = OMN_FLV_KIND_UNSUPPORTED; break;
        }
        if (t->kind != OMN_FLV_KIND_FRAME) t->composition_time = 0;
    } else {
        t->kind = OMN_FLV_KIND_FRAME;
    }
    set_data(t, p, len, off);
    return 0;
}

static int parse_audio(const uint8_t *p, size_t len, omn_flv_tag *t)
{
    uint8_t b0 = p[0];
    size_t off = 1;

    t->sound_format = b0 >> 4;
    t->keyframe = 1;
    if (t->sound_format == 9) {                       /* Enhanced RTMP v2 ExAudioTagHeader */
        int pt = b0 & 0x0F;
        t->enhanced = 1;
        if (pt == 7) {
            pt = skip_modex(p, len, &off);
            if (pt < 0) return OMN_FLV_E_MALFORMED;
        }
        t->packet_type = pt;
        if (pt == 5) {                                /* Multitrack */
            t->kind = OMN_FLV_KIND_UNSUPPORTED;
            set_data(t, p, len, off);
            return 0;
        }
        if (len - off < 4) return OMN_FLV_E_MALFORMED;
        t->fourcc = rd_fourcc(p + off);
        t->codec = audio_codec_from_fourcc(t->fourcc);
        off += 4;
        switch (pt) {
        case 0: t->kind = OMN_FLV_KIND_SEQUENCE_HEADER; break;
        case 1: t->kind = OMN_FLV_KIND_FRAME; break;
        case 2: t->kind = OMN_FLV_KIND_END_OF_SEQUENCE; break;
        case 4: t->kind = OMN_FLV_KIND_METADATA; break;   /* MultichannelConfig */
        default: t->kind = OMN_FLV_KIND_UNSUPPORTED; break;
        }
        set_data(t, p, len, off);
        return 0;
    }

    t->sound_rate = (b0 >> 2) & 3;
    t->sound_size = (b0 >> 1) & 1;
    t->sound_type = b0 & 1;
    switch (t->sound_format) {
    case 10: t->codec = OMN_FLV_CODEC_AAC; break;
    case 0: case 3: t->codec = OMN_FLV_CODEC_PCM; break;
    case 1: t->codec = OMN_FLV_CODEC_ADPCM; break;
    case 2: case 14: t->codec = OMN_FLV_CODEC_MP3; break;
    case 4: case 5: case 6: t->codec = OMN_FLV_CODEC_NELLYMOSER; break;
    case 7: t->codec = OMN_FLV_CODEC_G711A; break;
    case 8: t->codec = OMN_FLV_CODEC_G711U; break;
    case 11: t->codec = OMN_FLV_CODEC_SPEEX; break;
    default: t->codec = OMN_FLV_CODEC_UNKNOWN; break;
    }
    if (t->codec == OMN_FLV_CODEC_AAC) {
        if (len - off < 1) return OMN_FLV_E_MALFORMED;
        t->packet_type = p[off++];
        t->kind = t->packet_type == 0 ? OMN_FLV_KIND_SEQUENCE_HEADER
                : t->packet_type == 1 ? OMN_FLV_KIND_FRAME : OMN_FLV_KIND_UNSUPPORTED;
    } else {
        t->kind = OMN_FLV_KIND_FRAME;
    }
    set_data(t, p, len, off);
    return 0;
}

int omn_flv_parse(uint32_t type_id, const uint8_t *payload, size_t len, omn_flv_tag *out)
{
    if (!out) return OMN_FLV_E_MALFORMED;
    memset(out, 0, sizeof *out);
    out->media = (int32_t)type_id;
    out->packet_type = -1;
    out->sound_format = -1;
    if (!payload) len = 0;
    switch (type_id) {
    case 8:
        if (len < 1) return OMN_FLV_E_MALFORMED;
        return parse_audio(payload, len, out);
    case 9:
        if (len < 1) return OMN_FLV_E_MALFORMED;
        return parse_video(payload, len, out);
    case 18:
    case 15:
        out->codec = OMN_FLV_CODEC_AMF0;
        out->kind = OMN_FLV_KIND_METADATA;
        /* AMF3 data messages start with a format byte 0; the body is AMF0. */
        set_data(out, payload ? payload : (const uint8_t *)"", len,
                 type_id == 15 && len > 0 && payload[0] == 0 ? 1 : 0);
        return 0;
    default:
        return OMN_FLV_E_TYPE;
    }
}

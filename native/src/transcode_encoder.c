/* transcode_encoder.c - one libavcodec encoder per output encode, with the
 * OutputProfile settings mapped onto it, and its packets turned into the
 * stream model's form (Annex B -> 4-byte length-prefixed by omn_nal_to_len4, codec config from
 * the encoder's global header: avcC / hvcC via the cmaf section's builders,
 * ASC / OpusHead as they are). The encoder never inserts keyframes of its
 * own (scene cuts off, GOP unbounded): the session forces them, the same
 * source frames for every rendition. */
#include "cmaf_internal.h"
#include "transcode.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <libavutil/channel_layout.h>
#include <libavutil/opt.h>

static const char *encoder_name(int codec, int hw)
{
    switch (codec) {
    case OMN_CODEC_H264:
        return hw == OMN_HW_NVIDIA ? "h264_nvenc" : hw == OMN_HW_QSV ? "h264_qsv"
             : hw == OMN_HW_NONE ? "libx264" : NULL;
    case OMN_CODEC_H265:
        return hw == OMN_HW_NVIDIA ? "hevc_nvenc" : hw == OMN_HW_QSV ? "hevc_qsv"
             : hw == OMN_HW_NONE ? "libx265" : NULL;
    case OMN_XCODE_VP8: return hw == OMN_HW_NONE ? "libvpx" : NULL;
    case OMN_CODEC_AAC: return hw == OMN_HW_NONE ? "aac" : NULL;
    case OMN_CODEC_OPUS: return hw == OMN_HW_NONE ? "libopus" : NULL;
    default: return NULL;
    }
}

/* OME presets (slower..faster) onto NVENC's p1 (fastest)..p7. */
static const char *nvenc_preset(const char *p)
{
    if (!strcasecmp(p, "slower")) return "p6";
    if (!strcasecmp(p, "slow")) return "p5";
    if (!strcasecmp(p, "medium")) return "p4";
    if (!strcasecmp(p, "fast")) return "p3";
    return "p2";
}

static void lower(char *dst, const char *src, size_t cap)
{
    size_t i = 0;
    for (; src[i] && i + 1 < cap; i++) dst[i] = (char)(src[i] >= 'A' && src[i] <= 'Z' ? src[i] + 32 : src[i]);
    dst[i] = 0;
}

static int video_options(omn_encoder *e, const char *name, AVDictionary **opts)
{
    const omn_xcode_output_config *c = &e->cfg;
    char preset[24], profile[24], params[128];
    lower(preset, c->preset, sizeof preset);
    lower(profile, c->profile, sizeof profile);
    if (!strcmp(name, "libx264") || !strcmp(name, "libx265")) {
        av_dict_set(opts, "preset", preset[0] ? preset : "veryfast", 0);
        if (profile[0]) av_dict_set(opts, "profile", profile, 0);
        av_dict_set(opts, "forced-idr", "1", 0);
        int n = snprintf(params, sizeof params, "scenecut=0:open-gop=0");
        if (c->lookahead >= 0) n += snprintf(params + n, sizeof params - n, ":rc-lookahead=%d", c->lookahead);
        if (!strcmp(name, "libx265")) snprintf(params + n, sizeof params - n, ":log-level=error");
        av_dict_set(opts, !strcmp(name, "libx264") ? "x264-params" : "x265-params", params, 0);
    } else if (!strcmp(name, "h264_nvenc") || !strcmp(name, "hevc_nvenc")) {
        char gpu[16];
        snprintf(gpu, sizeof gpu, "%d", e->hw_index);
        av_dict_set(opts, "gpu", gpu, 0);
        av_dict_set(opts, "preset", nvenc_preset(preset), 0);
        if (profile[0]) av_dict_set(opts, "profile", profile, 0);
        av_dict_set(opts, "forced-idr", "1", 0);
        av_dict_set(opts, "no-scenecut", "1", 0);
        if (c->lookahead >= 0) av_dict_set_int(opts, "rc-lookahead", c->lookahead, 0);
    } else if (!strcmp(name, "libvpx")) {
        av_dict_set(opts, "deadline", "realtime", 0);
        av_dict_set(opts, "cpu-used", "8", 0);
        if (c->lookahead >= 0) av_dict_set_int(opts, "lag-in-frames", c->lookahead, 0);
    } else if (preset[0]) {
        av_dict_set(opts, "preset", preset, 0);
    }
    return 0;
}

static int first_format(const AVCodec *c, int want)
{
    if (!c->sample_fmts) return want;
    for (const enum AVSampleFormat *f = c->sample_fmts; *f != AV_SAMPLE_FMT_NONE; f++)
        if (*f == want) return want;
    return c->sample_fmts[0];
}

int omn_encoder_open(omn_encoder *e, const omn_xcode_output_config *cfg, int src_w, int src_h,
                     int src_rate, int src_channels, char *err, size_t err_cap)
{
    memset(e, 0, sizeof *e);
    e->cfg = *cfg;
    e->is_video = cfg->codec == OMN_CODEC_H264 || cfg->codec == OMN_CODEC_H265 || cfg->codec == OMN_XCODE_VP8;
    e->hw_family = cfg->hw_family;
    e->hw_index = cfg->hw_index;
    const char *name = encoder_name(cfg->codec, cfg->hw_family);
    if (!name) {
        omn_xcode_errstr(err, err_cap, "no encoder for this codec on the requested module", 0);
        return OMN_XCODE_ECODEC;
    }
    if (cfg->hw_family != OMN_HW_NONE && !omn_hw_has_engine(cfg->hw_family, cfg->hw_index, 1)) {
        snprintf(err, err_cap, "%s: device %d of the requested accelerator has no encoder engine "
                 "(or is not present)", name, cfg->hw_index);
        return OMN_XCODE_EHW;
    }
    const AVCodec *c = avcodec_find_encoder_by_name(name);
    if (!c) {
        snprintf(err, err_cap, "encoder %s is not in this libavcodec build", name);
        return OMN_XCODE_ECODEC;
    }
    AVCodecContext *ctx = e->ctx = avcodec_alloc_context3(c);
    if (!ctx) return OMN_XCODE_ENOMEM;
    ctx->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    ctx->bit_rate = cfg->bitrate;
    ctx->thread_count = cfg->threads > 0 ? cfg->threads : 0;
    AVDictionary *opts = NULL;
    if (e->is_video) {
        int w, h;
        omn_scaler_output_size(src_w, src_h, cfg->width, cfg->height, &w, &h);
        ctx->width = w;
        ctx->height = h;
        ctx->pix_fmt = AV_PIX_FMT_YUV420P;
        ctx->time_base = (AVRational){1, 90000};
        ctx->framerate = (AVRational){cfg->fps_num > 0 ? cfg->fps_num : 30, cfg->fps_num > 0 ? cfg->fps_den : 1};
        ctx->gop_size = 1 << 20;        /* keyframes are forced by the session only */
        ctx->keyint_min = 1;
        ctx->max_b_frames = cfg->bframes;
        ctx->rc_max_rate = cfg->bitrate;          /* 1 s VBV: the rendition stays near its bitrate */
        ctx->rc_buffer_size = (int)(cfg->bitrate > INT32_MAX ? INT32_MAX : cfg->bitrate);
        video_options(e, name, &opts);
    } else {
        int rate = cfg->samplerate > 0 ? cfg->samplerate : src_rate;
        if (cfg->codec == OMN_CODEC_OPUS && rate != 48000 && rate != 24000 && rate != 16000
            && rate != 12000 && rate != 8000)
            rate = 48000;
        ctx->sample_rate = rate;
        ctx->time_base = (AVRational){1, rate};
        av_channel_layout_default(&ctx->ch_layout, cfg->channels > 0 ? cfg->channels : src_channels);
        ctx->sample_fmt = first_format(c, cfg->codec == OMN_CODEC_AAC ? AV_SAMPLE_FMT_FLTP : AV_SAMPLE_FMT_FLT);
    }
    int rc = avcodec_open2(ctx, c, &opts);
    av_dict_free(&opts);
    if (rc < 0) {
        char what[96];
        snprintf(what, sizeof what, "encoder %s refused the settings", name);
        omn_xcode_errstr(err, err_cap, what, rc);
        omn_encoder_close(e);
        return OMN_XCODE_EOPEN;
    }
    if (cfg->hw_family != OMN_HW_NONE) omn_hw_acquire(cfg->hw_family, cfg->hw_index);
    rc = 0;
    if (cfg->codec == OMN_CODEC_H264) rc = omn_avcc_from_annexb(&e->config, ctx->extradata, ctx->extradata_size);
    else if (cfg->codec == OMN_CODEC_H265) rc = omn_hvcc_from_annexb(&e->config, ctx->extradata, ctx->extradata_size);
    else if (cfg->codec != OMN_XCODE_VP8 && ctx->extradata_size > 0)
        rc = omn_buf_append(&e->config, ctx->extradata, ctx->extradata_size);
    if (rc != 0) {
        snprintf(err, err_cap, "encoder %s gave no usable codec configuration", name);
        omn_encoder_close(e);
        return OMN_XCODE_EOPEN;
    }
    return OMN_XCODE_OK;
}

int omn_encoder_send(omn_encoder *e, AVFrame *frame, int key)
{
    if (frame) frame->pict_type = key ? AV_PICTURE_TYPE_I : AV_PICTURE_TYPE_NONE;
    return avcodec_send_frame(e->ctx, frame);
}

int omn_encoder_receive(omn_encoder *e, AVPacket *pkt, omn_buf *payload)
{
    int rc = avcodec_receive_packet(e->ctx, pkt);
    if (rc < 0) return rc;
    payload->len = 0;
    if (e->cfg.codec == OMN_CODEC_H264 || e->cfg.codec == OMN_CODEC_H265)
        rc = omn_nal_to_len4(payload, pkt->data, pkt->size, OMN_INPUT_ANNEXB, 0);
    else
        rc = omn_buf_append(payload, pkt->data, pkt->size);
    if (rc != 0) {
        av_packet_unref(pkt);
        return AVERROR_INVALIDDATA;
    }
    return 0;
}

void omn_encoder_close(omn_encoder *e)
{
    if (e->ctx && e->hw_family != OMN_HW_NONE && avcodec_is_open(e->ctx)) omn_hw_release(e->hw_family, e->hw_index);
    avcodec_free_context(&e->ctx);
    omn_buf_free(&e->config);
}

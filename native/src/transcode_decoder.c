/* transcode_decoder.c - one libavcodec decoder per input track. The track's
 * codec configuration (avcC/hvcC/ASC/OpusHead) is the decoder's extradata,
 * so length-prefixed NAL units and raw audio frames decode as they are.
 * On a device (NVDEC, QSV, VAAPI) frames are downloaded to system memory
 * for the scaler. */
#include "transcode.h"

#include <stdio.h>
#include <string.h>

#include <libavutil/hwcontext.h>

void omn_xcode_errstr(char *err, size_t cap, const char *what, int averr)
{
    if (!err || !cap) return;
    char buf[AV_ERROR_MAX_STRING_SIZE] = "";
    if (averr) av_strerror(averr, buf, sizeof buf);
    snprintf(err, cap, "%s%s%s", what, averr ? ": " : "", buf);
}

static enum AVCodecID codec_id(int codec)
{
    switch (codec) {
    case OMN_CODEC_H264: return AV_CODEC_ID_H264;
    case OMN_CODEC_H265: return AV_CODEC_ID_HEVC;
    case OMN_CODEC_AAC: return AV_CODEC_ID_AAC;
    case OMN_CODEC_OPUS: return AV_CODEC_ID_OPUS;
    case OMN_XCODE_VP8: return AV_CODEC_ID_VP8;
    default: return AV_CODEC_ID_NONE;
    }
}

static enum AVPixelFormat hw_pix_fmt(int family)
{
    switch (family) {
    case OMN_HW_NVIDIA: return AV_PIX_FMT_CUDA;
    case OMN_HW_QSV: return AV_PIX_FMT_QSV;
    case OMN_HW_VAAPI: return AV_PIX_FMT_VAAPI;
    default: return AV_PIX_FMT_NONE;
    }
}

static enum AVPixelFormat pick_format(AVCodecContext *ctx, const enum AVPixelFormat *fmts)
{
    const omn_decoder *d = ctx->opaque;
    enum AVPixelFormat want = hw_pix_fmt(d->hw_family);
    for (const enum AVPixelFormat *f = fmts; *f != AV_PIX_FMT_NONE; f++)
        if (*f == want) return *f;
    return fmts[0];
}

int omn_decoder_open(omn_decoder *d, int codec, const uint8_t *cfg, size_t cfg_len, uint32_t timescale,
                     int hw_family, int hw_index, char *err, size_t err_cap)
{
    memset(d, 0, sizeof *d);
    d->codec = codec;
    d->timescale = timescale;
    d->hw_family = OMN_HW_NONE;
    const AVCodec *c = avcodec_find_decoder(codec_id(codec));
    if (!c) {
        omn_xcode_errstr(err, err_cap, "no decoder for this codec", 0);
        return OMN_XCODE_ECODEC;
    }
    d->ctx = avcodec_alloc_context3(c);
    if (!d->ctx) return OMN_XCODE_ENOMEM;
    d->ctx->pkt_timebase = (AVRational){1, (int)timescale};
    d->ctx->thread_count = 1;             /* one thread per input track already; low latency */
    if (cfg_len) {
        d->ctx->extradata = av_mallocz(cfg_len + AV_INPUT_BUFFER_PADDING_SIZE);
        if (!d->ctx->extradata) { omn_decoder_close(d); return OMN_XCODE_ENOMEM; }
        memcpy(d->ctx->extradata, cfg, cfg_len);
        d->ctx->extradata_size = (int)cfg_len;
    }
    if (hw_family != OMN_HW_NONE) {
        if (!omn_hw_has_engine(hw_family, hw_index, 0)) {
            omn_decoder_close(d);
            omn_xcode_errstr(err, err_cap, "the requested device has no decoder engine", 0);
            return OMN_XCODE_EHW;
        }
        d->ctx->hw_device_ctx = omn_hw_device_ref(hw_family, hw_index);
        if (!d->ctx->hw_device_ctx) { omn_decoder_close(d); return OMN_XCODE_EHW; }
        d->hw_family = hw_family;
        d->hw_index = hw_index;
        d->ctx->opaque = d;
        d->ctx->get_format = pick_format;
        d->hw_frame = av_frame_alloc();
    }
    int rc = avcodec_open2(d->ctx, c, NULL);
    if (rc < 0) {
        omn_xcode_errstr(err, err_cap, "decoder open failed", rc);
        d->hw_family = OMN_HW_NONE;
        omn_decoder_close(d);
        return OMN_XCODE_EOPEN;
    }
    if (d->hw_family != OMN_HW_NONE) omn_hw_acquire(hw_family, hw_index);
    return OMN_XCODE_OK;
}

int omn_decoder_send(omn_decoder *d, const AVPacket *pkt)
{
    return avcodec_send_packet(d->ctx, pkt);
}

int omn_decoder_receive(omn_decoder *d, AVFrame *out)
{
    if (d->hw_family == OMN_HW_NONE) return avcodec_receive_frame(d->ctx, out);
    int rc = avcodec_receive_frame(d->ctx, d->hw_frame);
    if (rc < 0) return rc;
    if (d->hw_frame->format != hw_pix_fmt(d->hw_family)) {   /* the decoder fell back to software */
        av_frame_move_ref(out, d->hw_frame);
        return 0;
    }
    rc = av_hwframe_transfer_data(out, d->hw_frame, 0);
    if (rc >= 0) rc = av_frame_copy_props(out, d->hw_frame);
    av_frame_unref(d->hw_frame);
    return rc < 0 ? rc : 0;
}

void omn_decoder_close(omn_decoder *d)
{
    if (d->hw_family != OMN_HW_NONE) omn_hw_release(d->hw_family, d->hw_index);
    avcodec_free_context(&d->ctx);
    av_frame_free(&d->hw_frame);
    d->hw_family = OMN_HW_NONE;
}

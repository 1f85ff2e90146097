/* transcode_scaler.c - video scaling (libswscale) to one output size and
 * audio resampling (libswresample) into an encoder's frame size. The video
 * output size never changes: a mid-stream input size change re-creates the
 * sws context and the renditions go on at their size. */
#include "transcode.h"

#include <stdlib.h>
#include <string.h>

#include <libavutil/channel_layout.h>
#include <libavutil/mathematics.h>

/* a * b / c rounded to the nearest multiple of 2 (ffmpeg's scale=-2 rule). */
static int even_scaled(int64_t a, int64_t b, int64_t c)
{
    return c > 0 ? (int)((a * b + c) / (2 * c)) * 2 : 0;
}

void omn_scaler_output_size(int src_w, int src_h, int want_w, int want_h, int *w, int *h)
{
    int ow = want_w, oh = want_h;
    if (ow <= 0 && oh <= 0) { ow = src_w; oh = src_h; }
    else if (ow <= 0) ow = even_scaled(src_w, oh, src_h);
    else if (oh <= 0) oh = even_scaled(src_h, ow, src_w);
    ow &= ~1;                      /* 4:2:0 needs even sizes */
    oh &= ~1;
    *w = ow < 2 ? 2 : ow;
    *h = oh < 2 ? 2 : oh;
}

int omn_scaler_run(omn_scaler *s, const AVFrame *src, AVFrame *dst)
{
    if (!s->sws || s->in_w != src->width || s->in_h != src->height || s->in_fmt != src->format) {
        s->sws = sws_getCachedContext(s->sws, src->width, src->height, src->format, s->out_w, s->out_h,
                                      AV_PIX_FMT_YUV420P, SWS_BICUBIC, NULL, NULL, NULL);
        if (!s->sws) return AVERROR(EINVAL);
        s->in_w = src->width;
        s->in_h = src->height;
        s->in_fmt = src->format;
    }
    dst->width = s->out_w;
    dst->height = s->out_h;
    dst->format = AV_PIX_FMT_YUV420P;
    int rc = av_frame_get_buffer(dst, 0);
    if (rc < 0) return rc;
    rc = av_frame_copy_props(dst, src);
    if (rc < 0) return rc;
    sws_scale(s->sws, (const uint8_t *const *)src->data, src->linesize, 0, src->height, dst->data,
              dst->linesize);
    return 0;
}

void omn_scaler_close(omn_scaler *s)
{
    sws_freeContext(s->sws);
    s->sws = NULL;
}

int omn_resampler_init(omn_resampler *r, int out_rate, int out_fmt, int out_channels, int frame_size)
{
    memset(r, 0, sizeof *r);
    r->out_rate = out_rate;
    r->out_fmt = out_fmt;
    r->out_channels = out_channels;
    r->frame_size = frame_size > 0 ? frame_size : 1024;
    r->next_pts = INT64_MIN;
    r->fifo = av_audio_fifo_alloc(out_fmt, out_channels, r->frame_size * 4);
    return r->fifo ? 0 : AVERROR(ENOMEM);
}

int omn_resampler_push(omn_resampler *r, const AVFrame *in, uint32_t in_ts)
{
    int channels = in->ch_layout.nb_channels;
    if (!r->swr || r->in_rate != in->sample_rate || r->in_fmt != in->format || r->in_channels != channels) {
        swr_free(&r->swr);
        AVChannelLayout out_layout;
        av_channel_layout_default(&out_layout, r->out_channels);
        int rc = swr_alloc_set_opts2(&r->swr, &out_layout, r->out_fmt, r->out_rate, (AVChannelLayout *)&in->ch_layout,
                                     in->format, in->sample_rate, 0, NULL);
        av_channel_layout_uninit(&out_layout);
        if (rc < 0 || swr_init(r->swr) < 0) { swr_free(&r->swr); return AVERROR(EINVAL); }
        r->in_rate = in->sample_rate;
        r->in_fmt = in->format;
        r->in_channels = channels;
    }
    /* Anchor the output sample clock on the first frame, and again when the
     * input clock jumps away from it by more than two frames. */
    if (in->pts != AV_NOPTS_VALUE) {
        int64_t at = av_rescale_q(in->pts, (AVRational){1, (int)in_ts}, (AVRational){1, r->out_rate});
        if (r->next_pts == INT64_MIN) {
            r->next_pts = at;
        } else {
            int64_t expect = r->next_pts + av_audio_fifo_size(r->fifo) + swr_get_delay(r->swr, r->out_rate);
            if (llabs(at - expect) > 2 * (int64_t)r->frame_size) {
                av_audio_fifo_reset(r->fifo);
                r->next_pts = at;
            }
        }
    }
    int max_out = swr_get_out_samples(r->swr, in->nb_samples);
    if (max_out <= 0) return 0;
    uint8_t **buf = NULL;
    int rc = av_samples_alloc_array_and_samples(&buf, NULL, r->out_channels, max_out, r->out_fmt, 0);
    if (rc < 0) return rc;
    int n = swr_convert(r->swr, buf, max_out, (const uint8_t **)in->extended_data, in->nb_samples);
    if (n > 0) rc = av_audio_fifo_write(r->fifo, (void **)buf, n);
    else rc = n;
    av_freep(&buf[0]);
    av_freep(&buf);
    return rc < 0 ? rc : 0;
}

int omn_resampler_pull(omn_resampler *r, AVFrame *out)
{
    if (av_audio_fifo_size(r->fifo) < r->frame_size) return AVERROR(EAGAIN);
    out->nb_samples = r->frame_size;
    out->format = r->out_fmt;
    out->sample_rate = r->out_rate;
    av_channel_layout_default(&out->ch_layout, r->out_channels);
    int rc = av_frame_get_buffer(out, 0);
    if (rc < 0) return rc;
    if (av_audio_fifo_read(r->fifo, (void **)out->data, r->frame_size) < r->frame_size) return AVERROR(EIO);
    out->pts = r->next_pts;
    r->next_pts += r->frame_size;
    return 0;
}

void omn_resampler_close(omn_resampler *r)
{
    swr_free(&r->swr);
    if (r->fifo) av_audio_fifo_free(r->fifo);
    r->fifo = NULL;
}

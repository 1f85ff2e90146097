/* transcode.h - private pieces of the transcoder shared by transcode_*.c.
 * Public API: the "Transcoder" section of ome_native.h. */
#ifndef OMN_TRANSCODE_H
#define OMN_TRANSCODE_H
#include "ome_native.h"

#include <libavcodec/avcodec.h>
#include <libavutil/audio_fifo.h>
#include <libavutil/frame.h>
#include <libswresample/swresample.h>
#include <libswscale/swscale.h>

/* ---- transcode_hw.c ---- */
/* A reference to the device's libav hwdevice (NULL when the device is
 * absent or has no such context); the caller unrefs it. */
AVBufferRef *omn_hw_device_ref(int family, int index);
/* Session load per device: acquire when an engine opens on it, release when
 * it closes. */
void omn_hw_acquire(int family, int index);
void omn_hw_release(int family, int index);
/* 1 when the device exists and has the engine (decoder: 0, encoder: 1). */
int omn_hw_has_engine(int family, int index, int encoder);

/* ---- transcode_decoder.c ---- */
typedef struct omn_decoder {
    AVCodecContext *ctx;
    int codec;                 /* enum omn_codec */
    uint32_t timescale;
    int hw_family, hw_index;
    AVFrame *hw_frame;         /* decoded on the device, before the download */
} omn_decoder;
int omn_decoder_open(omn_decoder *d, int codec, const uint8_t *cfg, size_t cfg_len, uint32_t timescale,
                     int hw_family, int hw_index, char *err, size_t err_cap);
/* Sends one packet (NULL = flush); < 0 on a decode error (packet dropped). */
int omn_decoder_send(omn_decoder *d, const AVPacket *pkt);
/* 0 and a system-memory frame, AVERROR(EAGAIN) when it needs input, other < 0 on error. */
int omn_decoder_receive(omn_decoder *d, AVFrame *out);
void omn_decoder_close(omn_decoder *d);

/* ---- transcode_scaler.c ---- */
/* Video: one per distinct output size; re-initialises itself when the
 * input size or format changes mid-stream (the output size stays). */
typedef struct omn_scaler {
    struct SwsContext *sws;
    int out_w, out_h;
    int in_w, in_h, in_fmt;
} omn_scaler;
/* dst gets a new YUV420P frame of the output size with src's pts and flags. */
int omn_scaler_run(omn_scaler *s, const AVFrame *src, AVFrame *dst);
void omn_scaler_close(omn_scaler *s);
/* Output size from the configured width/height (0 = keep aspect / source),
 * even numbers as 4:2:0 needs. */
void omn_scaler_output_size(int src_w, int src_h, int want_w, int want_h, int *w, int *h);

/* Audio: resample to the encoder's format/rate/layout and cut into its frame size. */
typedef struct omn_resampler {
    SwrContext *swr;
    AVAudioFifo *fifo;
    int in_rate, in_fmt, in_channels;
    int out_rate, out_fmt, out_channels, frame_size;
    int64_t next_pts;          /* output samples; INT64_MIN until anchored */
} omn_resampler;
int omn_resampler_init(omn_resampler *r, int out_rate, int out_fmt, int out_channels, int frame_size);
/* Queues one decoded frame (pts in the input timescale in_ts). */
int omn_resampler_push(omn_resampler *r, const AVFrame *in, uint32_t in_ts);
/* 0 and a full frame of frame_size samples, AVERROR(EAGAIN) when not enough. */
int omn_resampler_pull(omn_resampler *r, AVFrame *out);
void omn_resampler_close(omn_resampler *r);

/* ---- transcode_encoder.c ---- */
typedef struct omn_encoder {
    AVCodecContext *ctx;
    omn_xcode_output_config cfg;
    int is_video;
    omn_buf config;            /* avcC/hvcC/ASC/OpusHead */
    int hw_family, hw_index;   /* where it runs (OMN_HW_NONE: CPU) */
} omn_encoder;
int omn_encoder_open(omn_encoder *e, const omn_xcode_output_config *cfg, int src_w, int src_h,
                     int src_rate, int src_channels, char *err, size_t err_cap);
/* Sends one frame (NULL = flush); key forces a keyframe. */
int omn_encoder_send(omn_encoder *e, AVFrame *frame, int key);
/* 0 and a packet in the stream model's form (length-prefixed video),
 * AVERROR(EAGAIN) when it needs input, AVERROR_EOF, other < 0 on error. */
int omn_encoder_receive(omn_encoder *e, AVPacket *pkt, omn_buf *payload);
void omn_encoder_close(omn_encoder *e);

void omn_xcode_errstr(char *err, size_t cap, const char *what, int averr);

#endif

/* transcode_session.c - the graph of one input stream: input tracks ->
 * decoder thread (decode once, scale once per distinct output size) ->
 * per-output frame queues -> encoder threads -> one queue of encoded
 * packets that the event loop pops after omn_notify wakes it.
 *
 * Locks: each input has its own (packet queue), each output its own
 * (frame queue, bounded: a slow encoder holds its decoder back, never the
 * event loop), and one lock guards the encoded-packet queue. Never two at
 * once except input -> output (push into a frame queue), always that order. */
#include "transcode.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_INPUTS 4
#define MAX_OUTPUTS 32
#define FRAME_QUEUE 8
#define INPUT_MAX_PACKETS 1500
#define INPUT_MAX_BYTES (48u << 20)
#define OUTPUT_MAX_BYTES (64u << 20)
#define RESTART_AFTER_ERRORS 8

typedef struct pkt_node {
    struct pkt_node *next;
    int32_t id;                /* input track id or output index */
    int64_t pts, dts;
    int32_t key;
    size_t len;
    uint8_t data[];
} pkt_node;

typedef struct pkt_queue {
    pkt_node *head, *tail;
    size_t count, bytes;
} pkt_queue;

struct xin;

/* In a frame queue: the input ended (never freed). */
static AVFrame eos_marker;
#define EOS_FRAME (&eos_marker)

typedef struct xout {
    omn_xcode *x;
    int index;
    struct xin *in;
    omn_encoder enc;
    omn_resampler rs;
    int scale_slot;            /* video: which of the input's scalers feeds it */
    pthread_t thread;
    int thread_started;
    pthread_mutex_t lock;
    pthread_cond_t cond;       /* frames queued / room freed / stop */
    AVFrame *frames[FRAME_QUEUE];
    int fq_head, fq_count;
    /* keyframe and frame-rate decisions, on source frames */
    int64_t src_frames, kept, first_pts, last_key_pts, last_pts;
    int64_t kept_since_key;
    int key_pending;
    omn_xcode_output_stats stats;
} xout;

typedef struct xin {
    omn_xcode *x;
    int32_t track_id;
    int codec;
    uint8_t *cfg;
    size_t cfg_len;
    uint32_t timescale;
    int width, height, fps_num, fps_den;
    int rate, channels;        /* audio, from the ASC / OpusHead */
    int hw_family, hw_index;
    omn_decoder dec;
    pthread_t thread;
    int thread_started;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    pkt_queue q;
    int wait_key;              /* dropping until the next keyframe */
    int consecutive_errors;
    omn_scaler scalers[MAX_OUTPUTS];
    int nscalers;
    omn_xcode_input_stats stats;
} xin;

struct omn_xcode {
    omn_notify *notify;
    xin inputs[MAX_INPUTS];
    int ninputs;
    xout outputs[MAX_OUTPUTS];
    int noutputs;
    int started;
    int ended;                 /* omn_xcode_end was called */
    volatile int stop;
    pthread_mutex_t out_lock;
    pkt_queue out;
    pkt_node *popped;          /* the packet handed out by the last pop */
    uint64_t out_dropped;
};

static uint64_t thread_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static pkt_node *node_new(int32_t id, int64_t pts, int64_t dts, int key, const uint8_t *data, size_t len)
{
    pkt_node *n = malloc(sizeof *n + len);
    if (!n) return NULL;
    n->next = NULL;
    n->id = id;
    n->pts = pts;
    n->dts = dts;
    n->key = key;
    n->len = len;
    if (len) memcpy(n->data, data, len);
    return n;
}

static void q_push(pkt_queue *q, pkt_node *n)
{
    if (q->tail) q->tail->next = n; else q->head = n;
    q->tail = n;
    q->count++;
    q->bytes += n->len;
}

static pkt_node *q_pop(pkt_queue *q)
{
    pkt_node *n = q->head;
    if (!n) return NULL;
    q->head = n->next;
    if (!q->head) q->tail = NULL;
    q->count--;
    q->bytes -= n->len;
    return n;
}

static void q_clear(pkt_queue *q)
{
    pkt_node *n;
    while ((n = q_pop(q))) free(n);
}

omn_xcode *omn_xcode_new(omn_notify *notify)
{
    omn_xcode *x = calloc(1, sizeof *x);
    if (!x) return NULL;
    /* libav's default INFO level writes encoder banners to stderr for every rendition;
     * errors are reported through the stats instead. Process-wide, hence only lowered. */
    if (av_log_get_level() > AV_LOG_ERROR) av_log_set_level(AV_LOG_ERROR);
    x->notify = notify;
    pthread_mutex_init(&x->out_lock, NULL);
    return x;
}

static xin *find_input(omn_xcode *x, int32_t track_id)
{
    for (int i = 0; i < x->ninputs; i++)
        if (x->inputs[i].track_id == track_id) return &x->inputs[i];
    return NULL;
}

int omn_xcode_add_input(omn_xcode *x, int32_t track_id, int32_t codec, const uint8_t *cfg, size_t cfg_len,
                        uint32_t timescale, int32_t width, int32_t height, int32_t hw_family, int32_t hw_index,
                        char *err, size_t err_cap)
{
    if (!x || x->started || x->ninputs >= MAX_INPUTS || find_input(x, track_id) || timescale == 0)
        return OMN_XCODE_EINVAL;
    xin *in = &x->inputs[x->ninputs];
    memset(in, 0, sizeof *in);
    in->x = x;
    in->track_id = track_id;
    in->codec = codec;
    in->timescale = timescale;
    in->width = width;
    in->height = height;
    in->hw_family = hw_family;
    in->hw_index = hw_index;
    in->fps_num = 30;
    in->fps_den = 1;
    omn_sps_info sps;
    if (codec == OMN_CODEC_H264 && omn_avcc_parse(cfg, cfg_len, &sps) == 0) {
        if (!in->width) { in->width = (int)sps.width; in->height = (int)sps.height; }
        if (sps.fps_num && sps.fps_den && sps.fps_num / sps.fps_den <= 240) {
            in->fps_num = (int)sps.fps_num;
            in->fps_den = (int)sps.fps_den;
        }
    }
    omn_asc_info asc;
    omn_opus_info opus;
    if (codec == OMN_CODEC_AAC && omn_aac_asc_parse(cfg, cfg_len, &asc) == 0) {
        in->rate = (int)(asc.ext_sample_rate ? asc.ext_sample_rate : asc.sample_rate);
        in->channels = asc.channels;
    } else if (codec == OMN_CODEC_OPUS && omn_opus_head_parse(cfg, cfg_len, &opus) == 0) {
        in->rate = 48000;
        in->channels = opus.channels;
    }
    in->cfg = malloc(cfg_len ? cfg_len : 1);
    if (!in->cfg) return OMN_XCODE_ENOMEM;
    if (cfg_len) memcpy(in->cfg, cfg, cfg_len);
    in->cfg_len = cfg_len;
    int rc = omn_decoder_open(&in->dec, codec, cfg, cfg_len, timescale, hw_family, hw_index, err, err_cap);
    if (rc != 0) { free(in->cfg); return rc; }
    pthread_mutex_init(&in->lock, NULL);
    pthread_cond_init(&in->cond, NULL);
    in->wait_key = 1;
    x->ninputs++;
    return OMN_XCODE_OK;
}

int omn_xcode_add_output(omn_xcode *x, const omn_xcode_output_config *cfg, char *err, size_t err_cap)
{
    if (!x || x->started || x->noutputs >= MAX_OUTPUTS) return OMN_XCODE_EINVAL;
    xin *in = find_input(x, cfg->input_track_id);
    if (!in) {
        snprintf(err, err_cap, "no input track %d", cfg->input_track_id);
        return OMN_XCODE_EINVAL;
    }
    xout *o = &x->outputs[x->noutputs];
    memset(o, 0, sizeof *o);
    omn_xcode_output_config c = *cfg;
    int in_video = in->codec == OMN_CODEC_H264 || in->codec == OMN_CODEC_H265 || in->codec == OMN_XCODE_VP8;
    int rate = in->rate, channels = in->channels;
    if (!in_video && (rate <= 0 || channels <= 0)) {
        snprintf(err, err_cap, "input track %d: sample rate/channels unknown", in->track_id);
        return OMN_XCODE_EINVAL;
    }
    if (in_video && c.fps_num <= 0 && c.skip_frames <= 0) { c.fps_num = in->fps_num; c.fps_den = in->fps_den; }
    else if (in_video && c.skip_frames > 0) { c.fps_num = in->fps_num; c.fps_den = in->fps_den * (c.skip_frames + 1); }
    int rc = omn_encoder_open(&o->enc, &c, in->width, in->height, rate, channels, err, err_cap);
    if (rc != 0) return rc;
    o->enc.cfg.fps_num = cfg->fps_num;       /* keep "0 = source" for the frame-rate decision */
    o->enc.cfg.fps_den = cfg->fps_den;
    if (o->enc.is_video != in_video) {
        omn_encoder_close(&o->enc);
        snprintf(err, err_cap, "encode kind does not match input track %d", in->track_id);
        return OMN_XCODE_EINVAL;
    }
    if (o->enc.is_video) {
        int w = o->enc.ctx->width, h = o->enc.ctx->height, slot = -1;
        for (int i = 0; i < in->nscalers; i++)
            if (in->scalers[i].out_w == w && in->scalers[i].out_h == h) slot = i;
        if (slot < 0) {
            slot = in->nscalers++;
            memset(&in->scalers[slot], 0, sizeof in->scalers[slot]);
            in->scalers[slot].out_w = w;
            in->scalers[slot].out_h = h;
        }
        o->scale_slot = slot;
    } else {
        int fs = o->enc.ctx->frame_size > 0 ? o->enc.ctx->frame_size : 1024;
        if (omn_resampler_init(&o->rs, o->enc.ctx->sample_rate, o->enc.ctx->sample_fmt,
                               o->enc.ctx->ch_layout.nb_channels, fs) < 0) {
            omn_encoder_close(&o->enc);
            return OMN_XCODE_ENOMEM;
        }
    }
    o->x = x;
    o->in = in;
    o->index = x->noutputs;
    o->first_pts = AV_NOPTS_VALUE;
    o->last_pts = AV_NOPTS_VALUE;
    o->last_key_pts = AV_NOPTS_VALUE;
    pthread_mutex_init(&o->lock, NULL);
    pthread_cond_init(&o->cond, NULL);
    return x->noutputs++;
}

int omn_xcode_describe_output(omn_xcode *x, int32_t output, omn_xcode_output_info *info, omn_buf *config)
{
    if (!x || output < 0 || output >= x->noutputs) return OMN_XCODE_EINVAL;
    const omn_encoder *e = &x->outputs[output].enc;
    memset(info, 0, sizeof *info);
    info->codec = e->cfg.codec;
    info->bitrate = e->cfg.bitrate;
    if (e->is_video) {
        info->timescale = 90000;
        info->width = e->ctx->width;
        info->height = e->ctx->height;
        info->fps_num = e->ctx->framerate.num;
        info->fps_den = e->ctx->framerate.den;
    } else {
        info->timescale = (uint32_t)e->ctx->sample_rate;
        info->samplerate = e->ctx->sample_rate;
        info->channels = e->ctx->ch_layout.nb_channels;
    }
    return config && e->config.len ? omn_buf_append(config, e->config.data, e->config.len) : 0;
}

/* ---- encoded packets back to the event loop -------------------------- */
static void emit(xout *o, const AVPacket *pkt, const omn_buf *payload)
{
    omn_xcode *x = o->x;
    pkt_node *n = node_new(o->index, pkt->pts, pkt->dts, (pkt->flags & AV_PKT_FLAG_KEY) != 0, payload->data,
                           payload->len);
    if (!n) return;
    o->stats.packets_out++;
    o->stats.bytes_out += n->len;
    if (n->key) o->stats.keyframes++;
    pthread_mutex_lock(&x->out_lock);
    if (x->out.bytes + n->len > OUTPUT_MAX_BYTES) {
        free(n);                      /* the loop is not draining: drop rather than grow */
        x->out_dropped++;
    } else {
        q_push(&x->out, n);
    }
    pthread_mutex_unlock(&x->out_lock);
    omn_notify_signal(x->notify);
}

static void fail_output(xout *o, const char *what, int rc)
{
    omn_xcode_errstr(o->stats.error, sizeof o->stats.error, what, rc);
    o->stats.state = OMN_XCODE_FAILED;
}

static void drain_encoder(xout *o, AVPacket *pkt, omn_buf *payload)
{
    int rc;
    while ((rc = omn_encoder_receive(&o->enc, pkt, payload)) == 0) {
        emit(o, pkt, payload);
        av_packet_unref(pkt);
    }
    if (rc != AVERROR(EAGAIN) && rc != AVERROR_EOF) fail_output(o, "encode failed", rc);
}

/* Frame-rate / SkipFrames and keyframe decisions on every source frame, so
 * that renditions with the same settings decide on the same frames. */
static int video_decide(xout *o, const AVFrame *f, int *key)
{
    const omn_xcode_output_config *c = &o->enc.cfg;
    int64_t pts = f->pts;
    int src_key = f->key_frame;
    int64_t idx = o->src_frames++;
    if (o->first_pts == AV_NOPTS_VALUE) o->first_pts = pts;
    int keep = 1;
    if (c->skip_frames > 0) {
        keep = idx % (c->skip_frames + 1) == 0;
    } else if (c->fps_num > 0 && c->fps_den > 0) {
        int64_t have = (pts - o->first_pts) * c->fps_num;           /* in 1/(90000*fps_num) s */
        int64_t want = o->kept * 90000LL * c->fps_den;
        if (have < -2 * 90000LL * c->fps_num || have - want > 2 * 90000LL * c->fps_num) {
            o->first_pts = pts;                                       /* timestamp jump: re-anchor */
            o->kept = 0;
            have = want = 0;
        }
        keep = have + 45000LL * c->fps_den >= want;
    }
    if (c->keyint_ms > 0) {
        if (o->last_key_pts == AV_NOPTS_VALUE || pts - o->last_key_pts >= (int64_t)c->keyint_ms * 90
            || pts < o->last_key_pts) {
            o->key_pending = 1;
            o->last_key_pts = pts;
        }
    } else if (c->keyint_frames > 0) {
        if (o->last_key_pts == AV_NOPTS_VALUE || (keep && o->kept_since_key >= c->keyint_frames)) {
            o->key_pending = 1;
            o->last_key_pts = pts;
        }
    } else if (src_key) {
        o->key_pending = 1;
    }
    if (!keep) return 0;
    o->kept++;
    if (o->last_pts != AV_NOPTS_VALUE && pts <= o->last_pts) return 0;   /* encoders need rising pts */
    o->last_pts = pts;
    *key = o->key_pending || o->stats.frames_in == 0;
    if (*key) { o->key_pending = 0; o->kept_since_key = 0; }
    o->kept_since_key++;
    return 1;
}

static void *output_main(void *arg)
{
    xout *o = arg;
    omn_xcode *x = o->x;
    AVPacket *pkt = av_packet_alloc();
    AVFrame *af = av_frame_alloc();
    omn_buf payload = {0};
    for (;;) {
        pthread_mutex_lock(&o->lock);
        while (!o->fq_count && !x->stop) pthread_cond_wait(&o->cond, &o->lock);
        if (x->stop) { pthread_mutex_unlock(&o->lock); break; }
        AVFrame *f = o->frames[o->fq_head];
        o->fq_head = (o->fq_head + 1) % FRAME_QUEUE;
        o->fq_count--;
        pthread_cond_broadcast(&o->cond);
        pthread_mutex_unlock(&o->lock);
        if (f == EOS_FRAME) {
            if (o->stats.state != OMN_XCODE_FAILED && pkt && omn_encoder_send(&o->enc, NULL, 0) >= 0)
                drain_encoder(o, pkt, &payload);
            o->stats.ended = 1;
            omn_notify_signal(x->notify);
            continue;
        }
        if (o->stats.state == OMN_XCODE_FAILED || o->stats.ended || !pkt || !af) { av_frame_free(&f); continue; }
        if (o->enc.is_video) {
            int key = 0;
            if (video_decide(o, f, &key)) {
                o->stats.frames_in++;
                int rc = omn_encoder_send(&o->enc, f, key);
                if (rc < 0) fail_output(o, "encoder refused a frame", rc);
                else drain_encoder(o, pkt, &payload);
            }
        } else {
            int rc = omn_resampler_push(&o->rs, f, o->in->timescale);
            if (rc < 0) fail_output(o, "resample failed", rc);
            while (rc >= 0 && omn_resampler_pull(&o->rs, af) == 0) {
                o->stats.frames_in++;
                rc = omn_encoder_send(&o->enc, af, 0);
                av_frame_unref(af);
                if (rc < 0) fail_output(o, "encoder refused a frame", rc);
                else drain_encoder(o, pkt, &payload);
            }
        }
        av_frame_free(&f);
        o->stats.encode_ns = thread_cpu_ns();
    }
    av_packet_free(&pkt);
    av_frame_free(&af);
    omn_buf_free(&payload);
    return NULL;
}

/* Hands a frame to an output's queue (takes ownership), waiting for room. */
static void give_frame(xout *o, AVFrame *f)
{
    omn_xcode *x = o->x;
    pthread_mutex_lock(&o->lock);
    while (o->fq_count == FRAME_QUEUE && !x->stop) pthread_cond_wait(&o->cond, &o->lock);
    if (x->stop) {
        pthread_mutex_unlock(&o->lock);
        if (f != EOS_FRAME) av_frame_free(&f);
        return;
    }
    o->frames[(o->fq_head + o->fq_count) % FRAME_QUEUE] = f;
    o->fq_count++;
    pthread_cond_broadcast(&o->cond);
    pthread_mutex_unlock(&o->lock);
}

static void fan_out(xin *in, AVFrame *frame)
{
    omn_xcode *x = in->x;
    if (frame->pts == AV_NOPTS_VALUE) frame->pts = frame->best_effort_timestamp;
    if (frame->pts == AV_NOPTS_VALUE) return;
    in->stats.frames_decoded++;
    in->stats.width = frame->width;
    in->stats.height = frame->height;
    for (int s = 0; s < in->nscalers || (s == 0 && !in->nscalers); s++) {
        AVFrame *scaled = NULL;
        for (int i = 0; i < x->noutputs; i++) {
            xout *o = &x->outputs[i];
            if (o->in != in || o->stats.state == OMN_XCODE_FAILED) continue;
            if (o->enc.is_video && o->scale_slot != s) continue;
            if (!o->enc.is_video && s != 0) continue;
            if (o->enc.is_video && !scaled) {          /* scale once per distinct size */
                const omn_scaler *sc = &in->scalers[s];
                if (sc->out_w == frame->width && sc->out_h == frame->height && frame->format == AV_PIX_FMT_YUV420P) {
                    scaled = av_frame_clone(frame);        /* already the right size: no copy at all */
                    if (!scaled) break;
                } else {
                    scaled = av_frame_alloc();
                    if (!scaled || omn_scaler_run(&in->scalers[s], frame, scaled) < 0) {
                        av_frame_free(&scaled);
                        break;
                    }
                }
            }
            AVFrame *mine = av_frame_clone(o->enc.is_video ? scaled : frame);
            if (mine) give_frame(o, mine);
        }
        av_frame_free(&scaled);
    }
}

static void restart_decoder(xin *in)
{
    char err[128];
    omn_decoder_close(&in->dec);
    if (omn_decoder_open(&in->dec, in->codec, in->cfg, in->cfg_len, in->timescale, in->hw_family, in->hw_index,
                         err, sizeof err) != 0 && in->hw_family != OMN_HW_NONE) {
        in->hw_family = OMN_HW_NONE;        /* the device went away: say so in stats, decode on CPU */
        omn_decoder_open(&in->dec, in->codec, in->cfg, in->cfg_len, in->timescale, OMN_HW_NONE, 0, err, sizeof err);
    }
    in->stats.decoder_restarts++;
    in->consecutive_errors = 0;
    in->wait_key = 1;
}

static void *input_main(void *arg)
{
    xin *in = arg;
    omn_xcode *x = in->x;
    AVPacket *pkt = av_packet_alloc();
    AVFrame *frame = av_frame_alloc();
    int video = in->codec == OMN_CODEC_H264 || in->codec == OMN_CODEC_H265 || in->codec == OMN_XCODE_VP8;
    for (;;) {
        pthread_mutex_lock(&in->lock);
        while (!in->q.head && !x->stop) pthread_cond_wait(&in->cond, &in->lock);
        pkt_node *n = x->stop ? NULL : q_pop(&in->q);
        pthread_mutex_unlock(&in->lock);
        if (!n) break;
        if (n->key < 0) {                 /* end of input: drain the decoder, then the encoders */
            free(n);
            if (frame && in->dec.ctx && omn_decoder_send(&in->dec, NULL) >= 0) {
                while (omn_decoder_receive(&in->dec, frame) == 0) {
                    fan_out(in, frame);
                    av_frame_unref(frame);
                }
            }
            for (int i = 0; i < x->noutputs; i++)
                if (x->outputs[i].in == in) give_frame(&x->outputs[i], EOS_FRAME);
            continue;
        }
        if (!pkt || !frame || !in->dec.ctx) { free(n); continue; }
        if (video && in->wait_key && !n->key) { free(n); continue; }
        in->wait_key = 0;
        if (av_new_packet(pkt, (int)n->len) == 0) {
            memcpy(pkt->data, n->data, n->len);
            pkt->pts = n->pts;
            pkt->dts = n->dts;
            if (n->key) pkt->flags |= AV_PKT_FLAG_KEY;
            int rc = omn_decoder_send(&in->dec, pkt);
            av_packet_unref(pkt);
            if (rc < 0 && rc != AVERROR(EAGAIN)) {
                in->stats.decode_errors++;
                if (++in->consecutive_errors >= RESTART_AFTER_ERRORS) restart_decoder(in);
            } else {
                in->consecutive_errors = 0;
            }
            while ((rc = omn_decoder_receive(&in->dec, frame)) == 0) {
                fan_out(in, frame);
                av_frame_unref(frame);
            }
            if (rc != AVERROR(EAGAIN) && rc != AVERROR_EOF) {
                in->stats.decode_errors++;
                if (++in->consecutive_errors >= RESTART_AFTER_ERRORS) restart_decoder(in);
            }
        }
        free(n);
        in->stats.decode_ns = thread_cpu_ns();
    }
    av_packet_free(&pkt);
    av_frame_free(&frame);
    return NULL;
}

int omn_xcode_start(omn_xcode *x)
{
    if (!x || x->started) return OMN_XCODE_ESTATE;
    x->started = 1;
    for (int i = 0; i < x->noutputs; i++)
        x->outputs[i].thread_started = pthread_create(&x->outputs[i].thread, NULL, output_main, &x->outputs[i]) == 0;
    for (int i = 0; i < x->ninputs; i++)
        x->inputs[i].thread_started = pthread_create(&x->inputs[i].thread, NULL, input_main, &x->inputs[i]) == 0;
    return OMN_XCODE_OK;
}

int omn_xcode_push(omn_xcode *x, int32_t track_id, int64_t pts, int64_t dts, int32_t keyframe,
                   const uint8_t *data, size_t len)
{
    xin *in = x ? find_input(x, track_id) : NULL;
    if (!in) return OMN_XCODE_EINVAL;
    if (x->ended) return OMN_XCODE_ESTATE;
    pthread_mutex_lock(&in->lock);
    in->stats.packets_in++;
    if (in->q.count >= INPUT_MAX_PACKETS || in->q.bytes + len > INPUT_MAX_BYTES) {
        in->stats.dropped++;
        in->wait_key = 1;     /* read by the decoder thread only after this queue drains */
        pthread_mutex_unlock(&in->lock);
        return OMN_XCODE_EFULL;
    }
    pkt_node *n = node_new(track_id, pts, dts, keyframe, data, len);
    if (n) q_push(&in->q, n);
    pthread_cond_signal(&in->cond);
    pthread_mutex_unlock(&in->lock);
    return n ? OMN_XCODE_OK : OMN_XCODE_ENOMEM;
}

int omn_xcode_end(omn_xcode *x)
{
    if (!x || !x->started || x->ended) return OMN_XCODE_ESTATE;
    x->ended = 1;
    for (int i = 0; i < x->ninputs; i++) {
        xin *in = &x->inputs[i];
        pkt_node *n = node_new(in->track_id, 0, 0, -1, NULL, 0);
        if (!n) return OMN_XCODE_ENOMEM;
        pthread_mutex_lock(&in->lock);
        q_push(&in->q, n);
        pthread_cond_signal(&in->cond);
        pthread_mutex_unlock(&in->lock);
    }
    return OMN_XCODE_OK;
}

int omn_xcode_pop(omn_xcode *x, omn_xcode_packet *p)
{
    if (!x) return 0;
    pthread_mutex_lock(&x->out_lock);
    free(x->popped);
    x->popped = q_pop(&x->out);
    pkt_node *n = x->popped;
    pthread_mutex_unlock(&x->out_lock);
    if (!n) return 0;
    p->output = n->id;
    p->pts = n->pts;
    p->dts = n->dts;
    p->keyframe = n->key;
    p->data = n->data;
    p->len = n->len;
    return 1;
}

int omn_xcode_get_output_stats(omn_xcode *x, int32_t output, omn_xcode_output_stats *out)
{
    if (!x || output < 0 || output >= x->noutputs) return OMN_XCODE_EINVAL;
    *out = x->outputs[output].stats;   /* counters written by one thread; a torn read is only a stale figure */
    out->error[sizeof out->error - 1] = 0;
    return OMN_XCODE_OK;
}

int omn_xcode_get_input_stats(omn_xcode *x, int32_t track_id, omn_xcode_input_stats *out)
{
    xin *in = x ? find_input(x, track_id) : NULL;
    if (!in) return OMN_XCODE_EINVAL;
    pthread_mutex_lock(&in->lock);
    *out = in->stats;
    pthread_mutex_unlock(&in->lock);
    return OMN_XCODE_OK;
}

void omn_xcode_free(omn_xcode *x)
{
    if (!x) return;
    x->stop = 1;
    for (int i = 0; i < x->ninputs; i++) {
        xin *in = &x->inputs[i];
        pthread_mutex_lock(&in->lock);
        pthread_cond_broadcast(&in->cond);
        pthread_mutex_unlock(&in->lock);
    }
    for (int i = 0; i < x->noutputs; i++) {
        xout *o = &x->outputs[i];
        pthread_mutex_lock(&o->lock);
        pthread_cond_broadcast(&o->cond);
        pthread_mutex_unlock(&o->lock);
    }
    for (int i = 0; i < x->ninputs; i++)
        if (x->inputs[i].thread_started) pthread_join(x->inputs[i].thread, NULL);
    for (int i = 0; i < x->noutputs; i++)
        if (x->outputs[i].thread_started) pthread_join(x->outputs[i].thread, NULL);
    for (int i = 0; i < x->noutputs; i++) {
        xout *o = &x->outputs[i];
        while (o->fq_count) {
            if (o->frames[o->fq_head] != EOS_FRAME) av_frame_free(&o->frames[o->fq_head]);
            o->fq_head = (o->fq_head + 1) % FRAME_QUEUE;
            o->fq_count--;
        }
        omn_encoder_close(&o->enc);
        if (!o->enc.is_video) omn_resampler_close(&o->rs);
        pthread_mutex_destroy(&o->lock);
        pthread_cond_destroy(&o->cond);
    }
    for (int i = 0; i < x->ninputs; i++) {
        xin *in = &x->inputs[i];
        omn_decoder_close(&in->dec);
        for (int s = 0; s < in->nscalers; s++) omn_scaler_close(&in->scalers[s]);
        q_clear(&in->q);
        free(in->cfg);
        pthread_mutex_destroy(&in->lock);
        pthread_cond_destroy(&in->cond);
    }
    q_clear(&x->out);
    free(x->popped);
    pthread_mutex_destroy(&x->out_lock);
    free(x);
}

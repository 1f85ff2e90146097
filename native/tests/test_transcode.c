/* test_transcode.c - the native transcoder driven with generated input:
 * H.264 (libx264, 320x240, keyframe every 30 frames), AAC and Opus in,
 * a 3-rung H.264 ladder + AAC->Opus + AAC->AAC + Opus->AAC (mono) out; end of input drains everything. Checks sizes, codec
 * configs, aligned keyframes, rising timestamps, bitrate, scale-once, the
 * accelerator request failing cleanly without the device, a mid-stream
 * resolution change, corrupt packets and a decoder restart. With
 * SOAK_SECONDS=N in the environment it loops whole sessions for N seconds
 * (run under ASan: no leak, no crash). */
#include "ome_native.h"
#include "../src/cmaf_internal.h"

#include <assert.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libavcodec/avcodec.h>
#include <libavutil/channel_layout.h>
#include <libavutil/imgutils.h>

typedef struct gen_pkt { int64_t pts, dts; int key; omn_buf data; } gen_pkt;
typedef struct gen { gen_pkt *p; int n; omn_buf config; } gen;

static void gen_add(gen *g, const AVPacket *pkt, int video)
{
    g->p = realloc(g->p, sizeof *g->p * (g->n + 1));
    gen_pkt *q = &g->p[g->n++];
    memset(q, 0, sizeof *q);
    q->pts = pkt->pts;
    q->dts = pkt->dts;
    q->key = (pkt->flags & AV_PKT_FLAG_KEY) != 0;
    if (video) assert(omn_nal_to_len4(&q->data, pkt->data, pkt->size, OMN_INPUT_ANNEXB, 0) == 0);
    else assert(omn_buf_append(&q->data, pkt->data, pkt->size) == 0);
}

static void gen_free(gen *g)
{
    for (int i = 0; i < g->n; i++) omn_buf_free(&g->p[i].data);
    free(g->p);
    omn_buf_free(&g->config);
    memset(g, 0, sizeof *g);
}

/* H.264 at w x h, frames first_frame.., 30 fps on 90 kHz; global header
 * (avcC in g->config) or SPS/PPS in band. */
static void gen_video(gen *g, int w, int h, int frames, int first_frame, int global_header)
{
    const AVCodec *c = avcodec_find_encoder_by_name("libx264");
    assert(c);
    AVCodecContext *ctx = avcodec_alloc_context3(c);
    ctx->width = w;
    ctx->height = h;
    ctx->pix_fmt = AV_PIX_FMT_YUV420P;
    ctx->time_base = (AVRational){1, 90000};
    ctx->framerate = (AVRational){30, 1};
    ctx->gop_size = 30;
    ctx->max_b_frames = 0;
    ctx->bit_rate = 400000;
    ctx->thread_count = 1;
    if (global_header) ctx->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    AVDictionary *o = NULL;
    av_dict_set(&o, "preset", "ultrafast", 0);
    av_dict_set(&o, "x264-params", "scenecut=0:log-level=none", 0);
    assert(avcodec_open2(ctx, c, &o) == 0);
    av_dict_free(&o);
    if (global_header) assert(omn_avcc_from_annexb(&g->config, ctx->extradata, ctx->extradata_size) == 0);
    AVFrame *f = av_frame_alloc();
    AVPacket *pkt = av_packet_alloc();
    f->width = w; f->height = h; f->format = AV_PIX_FMT_YUV420P;
    assert(av_frame_get_buffer(f, 0) == 0);
    for (int i = 0; i <= frames; i++) {
        if (i < frames) {
            assert(av_frame_make_writable(f) == 0);
            int t = first_frame + i;
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++) f->data[0][y * f->linesize[0] + x] = (uint8_t)(x + y + t * 3);
            for (int y = 0; y < h / 2; y++)
                for (int x = 0; x < w / 2; x++) {
                    f->data[1][y * f->linesize[1] + x] = (uint8_t)(128 + y + t * 2);
                    f->data[2][y * f->linesize[2] + x] = (uint8_t)(64 + x + t * 5);
                }
            f->pts = (int64_t)t * 3000;
        }
        assert(avcodec_send_frame(ctx, i < frames ? f : NULL) == 0);
        while (avcodec_receive_packet(ctx, pkt) == 0) {
            gen_add(g, pkt, 1);
            av_packet_unref(pkt);
        }
    }
    av_frame_free(&f);
    av_packet_free(&pkt);
    avcodec_free_context(&ctx);
}

/* AAC 44.1 kHz (opus = 0) or Opus 48 kHz (opus = 1), stereo, a saw tone. */
static void gen_audio(gen *g, int frames, int opus)
{
    const AVCodec *c = avcodec_find_encoder_by_name(opus ? "libopus" : "aac");
    assert(c);
    AVCodecContext *ctx = avcodec_alloc_context3(c);
    int rate = opus ? 48000 : 44100;
    ctx->sample_rate = rate;
    ctx->sample_fmt = opus ? AV_SAMPLE_FMT_FLT : AV_SAMPLE_FMT_FLTP;
    av_channel_layout_default(&ctx->ch_layout, 2);
    ctx->bit_rate = 96000;
    ctx->time_base = (AVRational){1, rate};
    ctx->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    assert(avcodec_open2(ctx, c, NULL) == 0);
    assert(omn_buf_append(&g->config, ctx->extradata, ctx->extradata_size) == 0);
    AVFrame *f = av_frame_alloc();
    AVPacket *pkt = av_packet_alloc();
    f->nb_samples = ctx->frame_size;
    f->format = ctx->sample_fmt;
    f->sample_rate = rate;
    av_channel_layout_default(&f->ch_layout, 2);
    assert(av_frame_get_buffer(f, 0) == 0);
    for (int i = 0; i <= frames; i++) {
        if (i < frames) {
            assert(av_frame_make_writable(f) == 0);
            for (int ch = 0; ch < 2; ch++)
                for (int s = 0; s < f->nb_samples; s++) {
                    float v = (float)((((i * f->nb_samples + s) * (ch + 3)) % 100) - 50) / 200.0f;
                    if (opus) ((float *)f->data[0])[2 * s + ch] = v;
                    else ((float *)f->data[ch])[s] = v;
                }
            f->pts = (int64_t)i * f->nb_samples;
        }
        assert(avcodec_send_frame(ctx, i < frames ? f : NULL) == 0);
        while (avcodec_receive_packet(ctx, pkt) == 0) {
            gen_add(g, pkt, 0);
            av_packet_unref(pkt);
        }
    }
    av_frame_free(&f);
    av_packet_free(&pkt);
    avcodec_free_context(&ctx);
}

static omn_xcode_output_config video_cfg(int height, int64_t bitrate)
{
    omn_xcode_output_config c;
    memset(&c, 0, sizeof c);
    c.input_track_id = 0;
    c.codec = OMN_CODEC_H264;
    c.bitrate = bitrate;
    c.height = height;
    c.skip_frames = -1;
    c.lookahead = 0;
    c.threads = 1;
    snprintf(c.preset, sizeof c.preset, "ultrafast");
    return c;
}

static omn_xcode_output_config audio_cfg(int codec, int rate)
{
    omn_xcode_output_config c;
    memset(&c, 0, sizeof c);
    c.input_track_id = 1;
    c.codec = codec;
    c.bitrate = 64000;
    c.samplerate = rate;
    c.channels = 2;
    c.skip_frames = -1;
    c.lookahead = -1;
    return c;
}

#define NOUT 6
typedef struct result {
    int packets[NOUT], keys[NOUT];
    int64_t key_pts[NOUT][64];
    int64_t last_dts[NOUT], first_pts[NOUT], last_pts[NOUT];
    uint64_t bytes[NOUT];
} result;

/* Pops whatever is queued, checking each packet. */
static void pop_all(omn_xcode *x, result *r)
{
    omn_xcode_packet p;
    while (omn_xcode_pop(x, &p)) {
        int o = p.output;
        assert(o >= 0 && o < NOUT && p.len > 0);
        if (r->packets[o]) assert(p.dts > r->last_dts[o]);       /* rising dts */
        else r->first_pts[o] = p.pts;
        r->last_dts[o] = p.dts;
        r->last_pts[o] = p.pts;
        assert(p.pts >= p.dts);
        r->bytes[o] += p.len;
        if (o < 3) {       /* length-prefixed NAL units that exactly fill the payload */
            size_t off = 0;
            while (off + 4 <= p.len) {
                size_t l = (size_t)p.data[off] << 24 | p.data[off + 1] << 16 | p.data[off + 2] << 8 | p.data[off + 3];
                assert(l > 0);
                off += 4 + l;
            }
            assert(off == p.len);
        }
        if (p.keyframe && r->keys[o] < 64) r->key_pts[o][r->keys[o]++] = p.pts;
        r->packets[o]++;
    }
}

/* Waits (<= ms) for the session's notify, then pops. */
static void wait_pop(omn_xcode *x, omn_notify *n, result *r, int ms)
{
    struct pollfd pf = {.fd = omn_notify_fd(n), .events = POLLIN};
    poll(&pf, 1, ms);
    omn_notify_drain(n);
    pop_all(x, r);
}

/* Pops until every video output saw `want_video` packets and audio `want_audio`, or 20 s. */
static void collect(omn_xcode *x, omn_notify *n, result *r, int want_video, int want_audio)
{
    time_t until = time(NULL) + 20;
    pop_all(x, r);
    for (;;) {
        int done = 1;
        for (int o = 0; o < NOUT; o++) done &= r->packets[o] >= (o < 3 ? want_video : want_audio);
        if (done || time(NULL) > until) return;
        wait_pop(x, n, r, 200);
    }
}

static void one_session(const gen *v, const gen *v2, const gen *a, const gen *op, int verbose)
{
    char err[160] = "";
    omn_notify *n = omn_notify_new();
    omn_xcode *x = omn_xcode_new(n);
    assert(x);
    assert(omn_xcode_add_input(x, 0, OMN_CODEC_H264, v->config.data, v->config.len, 90000, 0, 0,
                               OMN_HW_NONE, 0, err, sizeof err) == 0);
    assert(omn_xcode_add_input(x, 1, OMN_CODEC_AAC, a->config.data, a->config.len, 44100, 0, 0,
                               OMN_HW_NONE, 0, err, sizeof err) == 0);
    assert(omn_xcode_add_input(x, 2, OMN_CODEC_OPUS, op->config.data, op->config.len, 48000, 0, 0,
                               OMN_HW_NONE, 0, err, sizeof err) == 0);
    omn_xcode_output_config c = video_cfg(180, 300000);
    assert(omn_xcode_add_output(x, &c, err, sizeof err) == 0);
    c = video_cfg(120, 150000);
    assert(omn_xcode_add_output(x, &c, err, sizeof err) == 1);
    c = video_cfg(0, 100000);
    c.width = 160;                                  /* 160 wide keeps 4:3: 160x120, shares the 120 scaler */
    assert(omn_xcode_add_output(x, &c, err, sizeof err) == 2);
    c = audio_cfg(OMN_CODEC_OPUS, 0);
    if (omn_xcode_add_output(x, &c, err, sizeof err) != 3) { fprintf(stderr, "opus: %s\n", err); abort(); }
    c = audio_cfg(OMN_CODEC_AAC, 48000);
    assert(omn_xcode_add_output(x, &c, err, sizeof err) == 4);
    c = audio_cfg(OMN_CODEC_AAC, 44100);              /* Opus -> AAC, stereo -> mono */
    c.input_track_id = 2;
    c.channels = 1;
    assert(omn_xcode_add_output(x, &c, err, sizeof err) == 5);

    /* A device that is not there: a clear error for that output, nothing else touched. */
    omn_hw_device devs[8];
    char log[512];
    int ndev = omn_hw_probe(devs, 8, log, sizeof log);
    int has_nvenc = 0;
    for (int i = 0; i < ndev && i < 8; i++) has_nvenc |= devs[i].family == OMN_HW_NVIDIA && devs[i].has_encoder;
    if (!has_nvenc) {
        c = video_cfg(120, 100000);
        c.hw_family = OMN_HW_NVIDIA;
        err[0] = 0;
        assert(omn_xcode_add_output(x, &c, err, sizeof err) == OMN_XCODE_EHW);
        assert(strstr(err, "h264_nvenc") && strstr(err, "no encoder engine"));
        if (verbose) printf("hw probe: %d device(s): %s\nnv request: %s\n", ndev, log, err);
    }

    omn_xcode_output_info info;
    omn_buf cfg = {0};
    assert(omn_xcode_describe_output(x, 0, &info, &cfg) == 0);
    assert(info.width == 240 && info.height == 180 && info.timescale == 90000);
    omn_codec_info ci;
    assert(omn_codec_probe(OMN_CODEC_H264, cfg.data, cfg.len, &ci) == 0 && ci.width == 240 && ci.height == 180);
    cfg.len = 0;
    assert(omn_xcode_describe_output(x, 2, &info, &cfg) == 0 && info.width == 160 && info.height == 120);
    cfg.len = 0;
    assert(omn_xcode_describe_output(x, 3, &info, &cfg) == 0 && info.samplerate == 48000 && info.channels == 2);
    assert(omn_codec_probe(OMN_CODEC_OPUS, cfg.data, cfg.len, &ci) == 0);
    cfg.len = 0;
    assert(omn_xcode_describe_output(x, 4, &info, &cfg) == 0 && info.samplerate == 48000);
    assert(omn_codec_probe(OMN_CODEC_AAC, cfg.data, cfg.len, &ci) == 0 && ci.sample_rate == 48000);
    cfg.len = 0;
    assert(omn_xcode_describe_output(x, 5, &info, &cfg) == 0 && info.samplerate == 44100 && info.channels == 1);
    assert(omn_codec_probe(OMN_CODEC_AAC, cfg.data, cfg.len, &ci) == 0 && ci.channels == 1);
    omn_buf_free(&cfg);

    assert(omn_xcode_start(x) == 0);
    assert(omn_xcode_start(x) == OMN_XCODE_ESTATE);
    int ai = 0, oi = 0;
    for (int i = 0; i < v->n; i++) {
        while (oi < op->n && op->p[oi].pts * 90000 / 48000 <= v->p[i].dts) {
            const gen_pkt *q = &op->p[oi++];
            assert(omn_xcode_push(x, 2, q->pts, q->dts, q->key, q->data.data, q->data.len) == 0);
        }
        const gen_pkt *p = &v->p[i];
        assert(omn_xcode_push(x, 0, p->pts, p->dts, p->key, p->data.data, p->data.len) == 0);
        while (ai < a->n && a->p[ai].pts * 90000 / 44100 <= p->dts) {
            const gen_pkt *q = &a->p[ai++];
            assert(omn_xcode_push(x, 1, q->pts, q->dts, q->key, q->data.data, q->data.len) == 0);
        }
    }
    assert(omn_xcode_push(x, 7, 0, 0, 1, (const uint8_t *)"x", 1) == OMN_XCODE_EINVAL);
    result r;
    memset(&r, 0, sizeof r);
    collect(x, n, &r, v->n - 2, 100);

    /* sizes kept, keyframes at the same source frames in every rendition */
    for (int o = 0; o < 3; o++) {
        assert(r.packets[o] >= v->n - 2);
        assert(r.keys[o] == r.keys[0] && r.keys[o] >= 3);
        for (int k = 0; k < r.keys[o]; k++) assert(r.key_pts[o][k] == r.key_pts[0][k]);
    }
    assert(r.key_pts[0][1] - r.key_pts[0][0] == 30 * 3000);   /* the source's GOP is followed */
    /* bitrate of the 300 kb/s rung within a generous tolerance on 3 s of input */
    int64_t dur = r.last_pts[0] - r.first_pts[0] + 3000;
    int64_t kbps = (int64_t)(r.bytes[0] * 8 * 90000 / (uint64_t)dur) / 1000;
    if (verbose) printf("240x180 rung: %lld kb/s for 300 kb/s, keys at %lld %lld %lld\n", (long long)kbps,
                        (long long)r.key_pts[0][0], (long long)r.key_pts[0][1], (long long)r.key_pts[0][2]);
    assert(kbps > 100 && kbps < 600);
    assert(r.packets[3] >= 100 && r.packets[4] >= 100 && r.packets[5] >= 100);

    /* corrupt packets: dropped with errors counted, then a restart, then it goes on */
    uint8_t junk[64];
    for (int i = 0; i < (int)sizeof junk; i++) junk[i] = (uint8_t)(i * 37 + 11);
    junk[0] = 0; junk[1] = 0; junk[2] = 0; junk[3] = 60;            /* one bogus NAL */
    int64_t t = v->p[v->n - 1].dts;
    for (int i = 1; i <= 12; i++) omn_xcode_push(x, 0, t + i * 3000, t + i * 3000, i == 1, junk, sizeof junk);
    /* then a new resolution with in-band parameter sets, after the restart */
    int base = r.packets[0];
    for (int i = 0; i < v2->n; i++) {
        const gen_pkt *p = &v2->p[i];
        assert(omn_xcode_push(x, 0, p->pts, p->dts, p->key, p->data.data, p->data.len) == 0);
    }
    collect(x, n, &r, base + v2->n - 4, 0);
    omn_xcode_input_stats is;
    assert(omn_xcode_get_input_stats(x, 0, &is) == 0);
    if (verbose) printf("after junk + 480x272: decode errors %llu, restarts %llu, last size %dx%d, rung packets %d\n",
                        (unsigned long long)is.decode_errors, (unsigned long long)is.decoder_restarts,
                        is.width, is.height, r.packets[0]);
    assert(is.decode_errors >= 1);
    assert(is.width == 480 && is.height == 272);
    assert(r.packets[0] >= base + v2->n - 4);
    omn_xcode_output_stats os;
    assert(omn_xcode_get_output_stats(x, 0, &os) == 0 && os.state == OMN_XCODE_RUNNING && os.error[0] == 0);

    /* end of input: every frame comes out, every output says ended, later pushes are refused */
    assert(omn_xcode_end(x) == 0 && omn_xcode_end(x) == OMN_XCODE_ESTATE);
    assert(omn_xcode_push(x, 0, 0, 0, 1, junk, sizeof junk) == OMN_XCODE_ESTATE);
    time_t until = time(NULL) + 20;
    int ended = 0;
    while (!ended && time(NULL) < until) {
        wait_pop(x, n, &r, 200);
        ended = 1;
        for (int o = 0; o < NOUT; o++) ended &= omn_xcode_get_output_stats(x, o, &os) == 0 && os.ended;
    }
    pop_all(x, &r);
    assert(ended);
    for (int o = 0; o < 3; o++) assert(r.packets[o] == v->n + v2->n);
    assert(omn_xcode_get_output_stats(x, 9, &os) == OMN_XCODE_EINVAL);
    omn_xcode_free(x);            /* with packets still queued and threads blocked */
    omn_notify_free(n);
}

int main(void)
{
    av_log_set_level(AV_LOG_QUIET);
    gen v = {0}, v2 = {0}, a = {0}, op = {0};
    gen_video(&v, 320, 240, 90, 0, 1);
    gen_video(&v2, 480, 272, 60, 100, 0);       /* after the first part's timeline */
    gen_audio(&a, 140, 0);
    gen_audio(&op, 160, 1);
    one_session(&v, &v2, &a, &op, 1);
    const char *soak = getenv("SOAK_SECONDS");
    if (soak) {
        time_t end = time(NULL) + atoi(soak);
        int rounds = 0;
        while (time(NULL) < end) { one_session(&v, &v2, &a, &op, 0); rounds++; }
        printf("soak: %d sessions in %s s\n", rounds, soak);
    }
    gen_free(&v);
    gen_free(&v2);
    gen_free(&a);
    gen_free(&op);
    puts("transcode ok");
    return 0;
}

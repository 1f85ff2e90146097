/* fmp4_rec.c - multi-track fragmented MP4 writer for recordings.
 *
 * Each track keeps the samples fed since the last flush (sizes, flags,
 * composition offsets, payload bytes). The newest sample of a track waits
 * for the next one to learn its duration, so a flush writes every other
 * sample of every track into one moof (a traf per track with samples) and
 * one mdat. Timestamps stay in each track's own timescale. */
#include <stdlib.h>
#include <string.h>
#include "cmaf_internal.h"

typedef struct rec_sample {
    int64_t dts;
    int32_t cto;
    uint32_t size;
    uint32_t flags;
} rec_sample;

typedef struct rec_track {
    omn_codec_cfg cfg;
    rec_sample *samples;        /* pending, in decode order */
    size_t n, cap;
    omn_buf payload;            /* pending samples' bytes, in order */
    int64_t last_duration;      /* of the previous flushed-or-timed sample */
    int64_t first_dts;          /* -1 until the first sample */
    int64_t written_end;        /* dts + duration of the last sample written */
} rec_track;

struct omn_fmp4_rec {
    rec_track *tracks;
    size_t ntracks;
    uint32_t sequence;
};

int omn_fmp4_rec_new(const omn_mux_track *tracks, size_t n, omn_fmp4_rec **out)
{
    if (!out) return OMN_CMAF_EINVAL;
    *out = NULL;
    if (!tracks || n == 0 || n > 255) return OMN_CMAF_EINVAL;
    omn_fmp4_rec *r = calloc(1, sizeof *r);
    if (!r) return OMN_CMAF_ENOMEM;
    r->tracks = calloc(n, sizeof *r->tracks);
    if (!r->tracks) { free(r); return OMN_CMAF_ENOMEM; }
    for (size_t i = 0; i < n; i++) {
        int rc = omn_codec_cfg_parse(&r->tracks[i].cfg, tracks[i].codec, tracks[i].config,
                                     tracks[i].config_len);
        if (rc) { r->ntracks = i; omn_fmp4_rec_free(r); return rc; }
        if (tracks[i].timescale) r->tracks[i].cfg.info.timescale = tracks[i].timescale;
        r->tracks[i].first_dts = -1;
        r->ntracks = i + 1;
    }
    *out = r;
    return OMN_CMAF_OK;
}

void omn_fmp4_rec_free(omn_fmp4_rec *r)
{
    if (!r) return;
    for (size_t i = 0; i < r->ntracks; i++) {
        omn_codec_cfg_free(&r->tracks[i].cfg);
        free(r->tracks[i].samples);
        omn_buf_free(&r->tracks[i].payload);
    }
    free(r->tracks);
    free(r);
}

int omn_fmp4_rec_init_segment(const omn_fmp4_rec *r, omn_buf *out)
{
    if (!r || !out) return OMN_CMAF_EINVAL;
    const omn_codec_cfg *cfgs[255];
    for (size_t i = 0; i < r->ntracks; i++) cfgs[i] = &r->tracks[i].cfg;
    return omn_cmaf_write_init_multi(out, cfgs, r->ntracks, 0);
}

int omn_fmp4_rec_feed(omn_fmp4_rec *r, uint32_t track, const uint8_t *data, size_t len,
                      int64_t dts, int64_t pts, int keyframe)
{
    if (!r || track >= r->ntracks || (!data && len) || len > UINT32_MAX || dts < 0)
        return OMN_CMAF_EINVAL;
    rec_track *t = &r->tracks[track];
    if (t->n && dts <= t->samples[t->n - 1].dts) return OMN_CMAF_ETIME;
    if (!t->n && t->first_dts >= 0 && dts < t->written_end) return OMN_CMAF_ETIME;
    int64_t cto = t->cfg.info.is_video ? pts - dts : 0;
    if (cto > INT32_MAX || cto < INT32_MIN) return OMN_CMAF_EINVAL;
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 64;
        rec_sample *s = realloc(t->samples, cap * sizeof *s);
        if (!s) return OMN_CMAF_ENOMEM;
        t->samples = s;
        t->cap = cap;
    }
    if (omn_buf_append(&t->payload, data, len)) return OMN_CMAF_ENOMEM;
    rec_sample *s = &t->samples[t->n++];
    s->dts = dts;
    s->cto = (int32_t)cto;
    s->size = (uint32_t)len;
    s->flags = (!t->cfg.info.is_video || keyframe) ? OMN_SAMPLE_FLAGS_SYNC : OMN_SAMPLE_FLAGS_NON_SYNC;
    if (t->first_dts < 0) t->first_dts = dts;
    return OMN_CMAF_OK;
}

static uint32_t clamp_duration(int64_t d)
{
    return d <= 0 ? 0 : d > UINT32_MAX ? UINT32_MAX : (uint32_t)d;
}

/* Writes samples [0, count) of each track (count[i]), then keeps the rest. */
static int write_fragment(omn_fmp4_rec *r, omn_buf *out, const size_t *count, int64_t *final_duration)
{
    omn_cmaf_traf trafs[255];
    omn_cmaf_sample *samples[255];
    size_t used = 0;
    int rc = OMN_CMAF_OK;
    memset(samples, 0, sizeof samples);
    for (size_t i = 0; i < r->ntracks; i++) {
        rec_track *t = &r->tracks[i];
        size_t k = count[i];
        if (k == 0) continue;
        omn_cmaf_sample *s = malloc(k * sizeof *s);
        if (!s) { rc = OMN_CMAF_ENOMEM; goto done; }
        samples[used] = s;
        size_t bytes = 0;
        for (size_t j = 0; j < k; j++) {
            int64_t d = j + 1 < t->n ? t->samples[j + 1].dts - t->samples[j].dts : final_duration[i];
            s[j].duration = clamp_duration(d);
            s[j].size = t->samples[j].size;
            s[j].flags = t->samples[j].flags;
            s[j].cto = t->samples[j].cto;
            bytes += t->samples[j].size;
        }
        trafs[used] = (omn_cmaf_traf){(uint32_t)i + 1, t->cfg.info.is_video, (uint64_t)t->samples[0].dts,
                                      s, k, t->payload.data, bytes};
        used++;
    }
    if (used == 0) goto done;
    rc = omn_cmaf_write_fragment(out, ++r->sequence, trafs, used);
    if (rc) { r->sequence--; goto done; }
    for (size_t i = 0, u = 0; i < r->ntracks; i++) {
        rec_track *t = &r->tracks[i];
        size_t k = count[i];
        if (k == 0) continue;
        const omn_cmaf_sample *s = trafs[u++].samples;
        t->written_end = t->samples[k - 1].dts + s[k - 1].duration;
        if (k >= 2 || t->n > k) t->last_duration = s[k - 1].duration;
        size_t bytes = trafs[u - 1].payload_len;
        memmove(t->payload.data, t->payload.data + bytes, t->payload.len - bytes);
        t->payload.len -= bytes;
        memmove(t->samples, t->samples + k, (t->n - k) * sizeof *t->samples);
        t->n -= k;
    }
done:
    for (size_t u = 0; u < 255 && samples[u]; u++) free(samples[u]);
    return rc;
}

int omn_fmp4_rec_flush(omn_fmp4_rec *r, omn_buf *out)
{
    if (!r || !out) return OMN_CMAF_EINVAL;
    size_t count[255];
    int64_t unused[255];
    for (size_t i = 0; i < r->ntracks; i++) {
        count[i] = r->tracks[i].n ? r->tracks[i].n - 1 : 0;
        unused[i] = 0;
    }
    return write_fragment(r, out, count, unused);
}

int omn_fmp4_rec_finish(omn_fmp4_rec *r, omn_buf *out)
{
    if (!r || !out) return OMN_CMAF_EINVAL;
    size_t count[255];
    int64_t last[255];
    for (size_t i = 0; i < r->ntracks; i++) {
        rec_track *t = &r->tracks[i];
        count[i] = t->n;
        int64_t d = t->n >= 2 ? t->samples[t->n - 1].dts - t->samples[t->n - 2].dts : t->last_duration;
        if (!t->cfg.info.is_video && t->cfg.info.frame_ticks) d = t->cfg.info.frame_ticks;
        last[i] = d;
    }
    return write_fragment(r, out, count, last);
}

size_t omn_fmp4_rec_pending_bytes(const omn_fmp4_rec *r)
{
    size_t n = 0;
    if (r)
        for (size_t i = 0; i < r->ntracks; i++) n += r->tracks[i].payload.len;
    return n;
}

uint64_t omn_fmp4_rec_duration_ms(const omn_fmp4_rec *r)
{
    uint64_t best = 0;
    if (!r) return 0;
    for (size_t i = 0; i < r->ntracks; i++) {
        const rec_track *t = &r->tracks[i];
        if (t->first_dts < 0 || !t->cfg.info.timescale) continue;
        int64_t end = t->n ? t->samples[t->n - 1].dts : t->written_end;
        if (end < t->first_dts) continue;
        uint64_t ms = (uint64_t)(end - t->first_dts) * 1000 / t->cfg.info.timescale;
        if (ms > best) best = ms;
    }
    return best;
}

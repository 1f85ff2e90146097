/* llhls_packager.c - per-track LL-HLS packager (reference §3.7, §4.3).
 *
 * Samples arrive in decode order with integer dts/pts in the track
 * timescale. A sample's duration is the next dts minus its own, so the
 * packager keeps one sample pending. Decisions, all in exact integers:
 *  - segment cut before sample S when S is a sync sample and S.dts reaches
 *    the grid line k * segment_ms (LEAD mode) or a requested cut time;
 *    a forced cut (LEAD) before S when the segment would grow past
 *    max_segment_ms (S's duration estimated by the previous one). After a
 *    forced cut the grid line stays pending, so the next sync sample at or
 *    after it still cuts (segments realign with key frames).
 *  - part flush before adding a sample when the part would exceed PT, or
 *    as soon as even the smallest next sample could not fit; audio parts
 *    near a segment's expected end shrink (never under 0.85 PT) so the
 *    segment does not end in a sliver part (part_limit).
 *  - FOLLOW mode (audio next to video) holds samples at or after the grid
 *    line until the lead track's cut time is requested, so MSN n covers
 *    the same interval in every track; a hold longer than
 *    max(max_segment_ms, segment_ms) gives up and cuts on the grid line.
 *  - queued events go in front of the moof of the first part flushed after
 *    they were queued whose end is after the event time; earlier event
 *    times are clamped into that part (never dropped).
 * Ownership: the packager owns copies of everything it is given; popped
 * parts hand their bytes to the caller.
 */
#include "cmaf_internal.h"

#include <stdlib.h>
#include <string.h>

typedef unsigned __int128 u128;

typedef struct qsample {
    uint64_t dts;
    uint64_t dur;            /* known once the next sample arrives */
    int32_t cto;
    uint32_t nominal;        /* smallest plausible duration: audio frame, video 1 */
    int key;
    omn_buf data;            /* converted sample bytes */
} qsample;

typedef struct event {
    uint64_t time_ms;
    uint32_t id;
    omn_buf id3;
} event;

struct omn_llhls {
    omn_codec_cfg cfg;
    int input_format;
    int mode;
    uint64_t part_target;
    uint32_t segment_ms;
    uint32_t max_segment_ms;
    uint64_t max_ticks;      /* 0 = no forced cut */
    uint64_t hold_ticks;     /* FOLLOW: longest hold past the grid line */
    char *emsg_value;
    int broken;              /* sticky ENOMEM */

    /* input: samples not yet handled (FOLLOW holds), and the pending one */
    qsample *inq;
    size_t inq_head, inq_n, inq_cap;
    qsample pending;
    int have_pending;
    int have_last;
    uint64_t last_dts;
    uint64_t last_dur;

    /* segment state */
    uint64_t seg;
    uint32_t part_idx;
    int seg_open;
    uint64_t seg_start;
    uint64_t grid_next;
    uint64_t cut_lag;        /* how far after its grid line the last cut came (key frame phase) */
    uint64_t *cuts;          /* requested cut times, ticks, ascending */
    size_t ncuts, cuts_cap;

    /* the open part */
    omn_cmaf_sample *tab;
    size_t tab_n, tab_cap;
    omn_buf payload;
    uint64_t part_start, part_dur;
    int part_indep;
    uint32_t seq;            /* next mfhd sequence_number */

    /* completed parts, FIFO */
    omn_llhls_part *out;
    size_t out_head, out_n, out_cap;

    event *events;
    size_t nevents, events_cap;
};

static const char default_value[] = "OvenMediaEngine";

/* ---- small helpers ----------------------------------------------------- */

static int grow(void **arr, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap) return OMN_CMAF_OK;
    size_t n = *cap ? *cap : 8;
    while (n < need) {
        if (n > SIZE_MAX / 2 / elem) return OMN_CMAF_ENOMEM;
        n *= 2;
    }
    void *p = realloc(*arr, n * elem);
    if (!p) return OMN_CMAF_ENOMEM;
    *arr = p;
    *cap = n;
    return OMN_CMAF_OK;
}

static uint64_t ms_to_ticks_floor(uint64_t ms, uint32_t ts)
{
    return (uint64_t)((u128)ms * ts / 1000);
}

/* Smallest grid line (k * segment_ms, in ticks, rounded up) strictly after t. */
static uint64_t grid_after(const omn_llhls *p, uint64_t t)
{
    u128 step = (u128)p->segment_ms * p->cfg.info.timescale;     /* ticks * 1000 */
    u128 k = (u128)t * 1000 / step + 1;
    return (uint64_t)((k * step + 999) / 1000);
}

static int is_video(const omn_llhls *p) { return p->cfg.info.is_video; }

/* ---- output ------------------------------------------------------------ */

/* Emits the open part (non-empty) as a completed part. final: it closes the
 * segment; all_events: every queued event goes in (finish). */
static int flush_part(omn_llhls *p, int final, int all_events)
{
    if (p->tab_n == 0) return OMN_CMAF_OK;
    if (p->out_head && p->out_head + p->out_n == p->out_cap) {
        memmove(p->out, p->out + p->out_head, p->out_n * sizeof *p->out);
        p->out_head = 0;
    }
    int rc = grow((void **)&p->out, &p->out_cap, p->out_head + p->out_n + 1, sizeof *p->out);
    if (rc) return rc;
    omn_llhls_part part;
    memset(&part, 0, sizeof part);
    uint32_t ts = p->cfg.info.timescale;
    u128 end_x1000 = (u128)(p->part_start + p->part_dur) * 1000;

    size_t keep = 0;
    for (size_t i = 0; i < p->nevents; i++) {
        event *e = &p->events[i];
        if (all_events || (u128)e->time_ms * ts < end_x1000) {
            uint64_t t = omn_emsg_clamp_ms(e->time_ms, p->part_start, p->part_dur, ts);
            rc = omn_emsg_write(&part.bytes, NULL, p->emsg_value, 1000, t, 0xFFFFFFFFu,
                                e->id, e->id3.data, e->id3.len);
            if (rc) { omn_buf_free(&part.bytes); return rc; }
            part.event_count++;
        }
    }
    rc = omn_cmaf_write_part(&part.bytes, is_video(p), p->seq, p->part_start,
                             p->tab, p->tab_n, p->payload.data, p->payload.len);
    if (rc) { omn_buf_free(&part.bytes); return rc; }
    /* committed: drop the events that went in */
    for (size_t i = 0; i < p->nevents; i++) {
        event *e = &p->events[i];
        if (all_events || (u128)e->time_ms * ts < end_x1000) omn_buf_free(&e->id3);
        else p->events[keep++] = *e;
    }
    p->nevents = keep;

    part.segment = p->seg;
    part.part_index = p->part_idx;
    part.sequence = p->seq;
    part.start = p->part_start;
    part.duration = p->part_dur;
    part.sample_count = (uint32_t)p->tab_n;
    part.independent = p->part_indep;
    part.segment_end = final;
    p->out[p->out_head + p->out_n++] = part;

    p->seq++;
    p->tab_n = 0;
    p->payload.len = 0;
    p->part_dur = 0;
    if (final) { p->seg++; p->part_idx = 0; }
    else p->part_idx++;
    return OMN_CMAF_OK;
}

/* The target of the open part. Audio only: PT, except where the segment would end in a
 * sliver (an AAC segment of 94 frames at PT 23 frames ends in a 2-frame part, which hls.js
 * can leave as a hole in the buffer). Then the parts before it give up frames, never going
 * under 0.85 PT (the spec's floor for non-final parts), so the last part grows toward half a
 * part: 20 21 21 21 11 instead of 23 23 23 23 2. The segment's expected end is the requested
 * cut, else the grid line plus the lag the last cut had behind its grid line (key frames
 * keep a steady phase). Video parts are whole GOP fractions already and keep PT. */
static uint64_t part_limit(const omn_llhls *p)
{
    uint64_t pt = p->part_target, fd = p->last_dur;
    if (is_video(p) || !p->seg_open || !fd || fd > pt) return pt;
    uint64_t end = p->ncuts ? p->cuts[0] : p->grid_next + p->cut_lag;
    if (end <= p->part_start) return pt;
    uint64_t left = (end - p->part_start + fd - 1) / fd;          /* frames to the cut */
    uint64_t most = pt / fd;                                        /* frames in a full part */
    uint64_t least = ((pt * 85 + 99) / 100 + fd - 1) / fd;          /* frames in a 0.85 PT part */
    uint64_t parts = (left + most - 1) / most;
    if (parts < 2 || least > most) return pt;
    uint64_t last = left - (parts - 1) * most, want = most / 2;
    if (last >= want) return pt;
    uint64_t give = (want - last + parts - 2) / (parts - 1);        /* per part before the last */
    if (give > most - least) give = most - least;
    return give ? (most - give) * fd + fd / 2 : pt;
}

/* Adds the pending sample (duration known) to the open part. */
static int add_to_part(omn_llhls *p, qsample *s)
{
    int rc;
    if (p->tab_n && p->part_dur + s->dur > part_limit(p))
        if ((rc = flush_part(p, 0, 0))) return rc;
    if ((rc = grow((void **)&p->tab, &p->tab_cap, p->tab_n + 1, sizeof *p->tab))) return rc;
    if ((rc = omn_buf_append(&p->payload, s->data.data, s->data.len))) return rc;
    if (p->tab_n == 0) {
        p->part_start = s->dts;
        p->part_indep = s->key;
    }
    omn_cmaf_sample *t = &p->tab[p->tab_n++];
    t->duration = (uint32_t)s->dur;
    t->size = (uint32_t)s->data.len;
    t->flags = s->key ? OMN_SAMPLE_FLAGS_SYNC : OMN_SAMPLE_FLAGS_NON_SYNC;
    t->cto = s->cto;
    p->part_dur += s->dur;
    p->last_dur = s->dur;
    omn_buf_free(&s->data);
    return OMN_CMAF_OK;
}

static void drop_cuts_upto(omn_llhls *p, uint64_t t)
{
    size_t i = 0;
    while (i < p->ncuts && p->cuts[i] <= t) i++;
    if (i == 0) return;
    memmove(p->cuts, p->cuts + i, (p->ncuts - i) * sizeof *p->cuts);
    p->ncuts -= i;
}

static void open_segment(omn_llhls *p, uint64_t dts, int forced)
{
    p->seg_open = 1;
    p->seg_start = dts;
    /* a forced cut leaves the missed grid line pending */
    if (!forced) p->grid_next = grid_after(p, dts);
    drop_cuts_upto(p, dts);
}

/* The shortest duration sample s (not yet pending) can plausibly have: audio frames have
 * their nominal length; a video frame lasts about as long as the one before it, and
 * ms-timestamped input (RTMP) varies that by a few percent, so three quarters of it. */
static uint64_t next_duration_floor(const omn_llhls *p, const qsample *s)
{
    if (!is_video(p)) return s->nominal;
    return p->last_dur ? p->last_dur - p->last_dur / 4 : 1;
}

/* Segment decision for sample s (not yet pending): 0 none, 1 cut, 2 forced. */
static int cut_before(const omn_llhls *p, const qsample *s)
{
    if (!p->seg_open || s->dts <= p->seg_start) return 0;
    if (s->key) {
        if (p->mode == OMN_SEG_LEAD && s->dts >= p->grid_next) return 1;
        if (p->ncuts && s->dts >= p->cuts[0]) return 1;
    }
    if (p->mode == OMN_SEG_LEAD && p->max_ticks) {
        uint64_t est = is_video(p) ? (p->last_dur ? p->last_dur : 1) : s->nominal;
        if (s->dts - p->seg_start + est > p->max_ticks) return 2;
    }
    return 0;
}

/* Takes ownership of *s. */
static int handle(omn_llhls *p, qsample *s)
{
    int rc;
    if (p->have_pending) {
        p->pending.dur = s->dts - p->pending.dts;
        if ((rc = add_to_part(p, &p->pending))) return rc;
        p->have_pending = 0;
    }
    int cut = cut_before(p, s);
    if (cut == 1) {
        /* remember the key frame phase; a lag of half a segment or more is a late key frame */
        uint64_t lag = s->dts > p->grid_next ? s->dts - p->grid_next : 0;
        uint64_t half = (uint64_t)p->segment_ms * p->cfg.info.timescale / 2000;
        p->cut_lag = lag < half ? lag : 0;
    }
    if (cut) {
        if ((rc = flush_part(p, 1, 0))) return rc;
        p->seg_open = 0;
    } else if (p->tab_n && p->part_dur + next_duration_floor(p, s) > part_limit(p)) {
        /* s cannot fit: publish the part now, not when the sample after s arrives */
        if ((rc = flush_part(p, 0, 0))) return rc;
    }
    if (!p->seg_open) open_segment(p, s->dts, cut == 2);
    p->pending = *s;
    p->have_pending = 1;
    return OMN_CMAF_OK;
}

static int push_cut(omn_llhls *p, uint64_t t)
{
    if (p->seg_open && t <= p->seg_start) return OMN_CMAF_OK;   /* void: already there */
    size_t i = 0;
    while (i < p->ncuts && p->cuts[i] < t) i++;
    if (i < p->ncuts && p->cuts[i] == t) return OMN_CMAF_OK;
    int rc = grow((void **)&p->cuts, &p->cuts_cap, p->ncuts + 1, sizeof *p->cuts);
    if (rc) return rc;
    if (p->ncuts > i) memmove(p->cuts + i + 1, p->cuts + i, (p->ncuts - i) * sizeof *p->cuts);
    p->cuts[i] = t;
    p->ncuts++;
    return OMN_CMAF_OK;
}

/* FOLLOW: must the front sample wait for the lead track's cut time? */
static int must_hold(omn_llhls *p, const qsample *s, int *rc)
{
    *rc = 0;
    if (p->mode != OMN_SEG_FOLLOW || !p->seg_open || p->ncuts || s->dts < p->grid_next)
        return 0;
    const qsample *back = &p->inq[p->inq_head + p->inq_n - 1];
    if (back->dts - p->grid_next >= p->hold_ticks) {
        /* the lead track said nothing for too long: cut on the grid line */
        *rc = push_cut(p, p->grid_next);
        return 0;
    }
    return 1;
}

static int process(omn_llhls *p, int drain)
{
    int rc = 0;
    while (p->inq_n) {
        qsample *s = &p->inq[p->inq_head];
        if (!drain && must_hold(p, s, &rc)) break;
        if (rc) return rc;
        qsample taken = *s;
        p->inq_head++;
        p->inq_n--;
        if ((rc = handle(p, &taken))) {
            omn_buf_free(&taken.data);
            return rc;
        }
    }
    if (p->inq_n == 0) p->inq_head = 0;
    return OMN_CMAF_OK;
}

static int fail(omn_llhls *p, int rc)
{
    if (rc == OMN_CMAF_ENOMEM) p->broken = 1;
    return rc;
}

/* ---- public API -------------------------------------------------------- */

int omn_llhls_new(const omn_llhls_config *cfg, omn_llhls **out)
{
    if (!cfg || !out) return OMN_CMAF_EINVAL;
    *out = NULL;
    if (cfg->part_target == 0 || cfg->part_target > UINT32_MAX || cfg->segment_ms == 0)
        return OMN_CMAF_EINVAL;
    if (cfg->segment_mode != OMN_SEG_LEAD && cfg->segment_mode != OMN_SEG_FOLLOW)
        return OMN_CMAF_EINVAL;
    int video = cfg->codec == OMN_CODEC_H264 || cfg->codec == OMN_CODEC_H265;
    if (cfg->input_format == OMN_INPUT_ANNEXB ? !video
        : cfg->input_format == OMN_INPUT_ADTS ? cfg->codec != OMN_CODEC_AAC
        : cfg->input_format != OMN_INPUT_RAW)
        return OMN_CMAF_EINVAL;
    omn_llhls *p = calloc(1, sizeof *p);
    if (!p) return OMN_CMAF_ENOMEM;
    int rc = omn_codec_cfg_parse(&p->cfg, cfg->codec, cfg->codec_config, cfg->codec_config_len);
    if (rc) { free(p); return rc; }
    const char *v = cfg->emsg_value ? cfg->emsg_value : default_value;
    size_t vl = strlen(v) + 1;
    p->emsg_value = malloc(vl);
    if (!p->emsg_value) { omn_llhls_free(p); return OMN_CMAF_ENOMEM; }
    memcpy(p->emsg_value, v, vl);
    uint32_t ts = p->cfg.info.timescale;
    p->input_format = cfg->input_format;
    p->mode = cfg->segment_mode;
    p->part_target = cfg->part_target;
    p->segment_ms = cfg->segment_ms;
    p->max_segment_ms = cfg->max_segment_ms;
    p->max_ticks = ms_to_ticks_floor(cfg->max_segment_ms, ts);
    p->hold_ticks = ms_to_ticks_floor(cfg->max_segment_ms > cfg->segment_ms
                                      ? cfg->max_segment_ms : cfg->segment_ms, ts);
    p->seg = cfg->first_segment;
    p->seq = 1;
    *out = p;
    return OMN_CMAF_OK;
}

void omn_llhls_free(omn_llhls *p)
{
    if (!p) return;
    omn_codec_cfg_free(&p->cfg);
    free(p->emsg_value);
    for (size_t i = 0; i < p->inq_n; i++) omn_buf_free(&p->inq[p->inq_head + i].data);
    free(p->inq);
    if (p->have_pending) omn_buf_free(&p->pending.data);
    free(p->cuts);
    free(p->tab);
    omn_buf_free(&p->payload);
    for (size_t i = 0; i < p->out_n; i++) omn_buf_free(&p->out[p->out_head + i].bytes);
    free(p->out);
    for (size_t i = 0; i < p->nevents; i++) omn_buf_free(&p->events[i].id3);
    free(p->events);
    free(p);
}

void omn_llhls_info(const omn_llhls *p, omn_codec_info *out)
{
    *out = p->cfg.info;
}

int omn_llhls_init_segment(const omn_llhls *p, omn_buf *out)
{
    if (!p || !out) return OMN_CMAF_EINVAL;
    return omn_cmaf_write_init_cfg(out, &p->cfg, OMN_CMAF_INIT_AID3);
}

int omn_llhls_feed(omn_llhls *p, const uint8_t *data, size_t len,
                   int64_t dts, int64_t pts, int keyframe)
{
    if (!p || (!data && len)) return OMN_CMAF_EINVAL;
    if (p->broken) return OMN_CMAF_ENOMEM;
    if (dts < 0 || dts > ((int64_t)1 << 62)) return OMN_CMAF_ETIME;
    if (p->have_last && (uint64_t)dts <= p->last_dts) return OMN_CMAF_ETIME;
    if (p->have_last && (uint64_t)dts - p->last_dts > UINT32_MAX) return OMN_CMAF_ETIME;
    qsample s;
    memset(&s, 0, sizeof s);
    s.dts = (uint64_t)dts;
    s.key = 1;
    s.nominal = 1;
    int rc;
    if (is_video(p)) {
        int64_t cto = pts - dts;
        if (pts < 0 || cto < INT32_MIN || cto > INT32_MAX) return OMN_CMAF_ETIME;
        s.cto = (int32_t)cto;
        s.key = keyframe != 0;
        rc = omn_nal_to_len4(&s.data, data, len, p->input_format, p->cfg.info.nal_length_size);
    } else if (p->input_format == OMN_INPUT_ADTS) {
        size_t off, n;
        rc = omn_adts_payload(data, len, &off, &n);
        if (!rc) rc = omn_buf_append(&s.data, data + off, n);
        s.nominal = p->cfg.info.frame_ticks;
    } else if (p->cfg.info.codec == OMN_CODEC_OPUS) {
        s.nominal = omn_opus_packet_ticks(data, len);
        rc = s.nominal ? omn_buf_append(&s.data, data, len) : OMN_CMAF_EINVAL;
    } else {
        rc = len ? omn_buf_append(&s.data, data, len) : OMN_CMAF_EINVAL;
        s.nominal = p->cfg.info.frame_ticks;
    }
    if (!rc && s.data.len > UINT32_MAX) rc = OMN_CMAF_ETOOBIG;
    if (p->inq_head && p->inq_head + p->inq_n == p->inq_cap) {
        memmove(p->inq, p->inq + p->inq_head, p->inq_n * sizeof *p->inq);
        p->inq_head = 0;
    }
    if (!rc) rc = grow((void **)&p->inq, &p->inq_cap, p->inq_head + p->inq_n + 1, sizeof *p->inq);
    if (rc) { omn_buf_free(&s.data); return rc; }
    p->inq[p->inq_head + p->inq_n++] = s;
    p->have_last = 1;
    p->last_dts = s.dts;
    return fail(p, process(p, 0));
}

int omn_llhls_add_event(omn_llhls *p, uint64_t time_ms, uint32_t id,
                        const uint8_t *id3, size_t id3_len)
{
    if (!p || !id3 || id3_len == 0) return OMN_CMAF_EINVAL;
    if (p->broken) return OMN_CMAF_ENOMEM;
    int rc = grow((void **)&p->events, &p->events_cap, p->nevents + 1, sizeof *p->events);
    if (rc) return rc;
    event e;
    memset(&e, 0, sizeof e);
    e.time_ms = time_ms;
    e.id = id;
    if ((rc = omn_buf_append(&e.id3, id3, id3_len))) return rc;
    p->events[p->nevents++] = e;
    return OMN_CMAF_OK;
}

int omn_llhls_request_cut(omn_llhls *p, uint64_t time, uint32_t timescale)
{
    if (!p || timescale == 0) return OMN_CMAF_EINVAL;
    if (p->broken) return OMN_CMAF_ENOMEM;
    u128 t = ((u128)time * p->cfg.info.timescale + timescale - 1) / timescale;
    if (t > ((u128)1 << 62)) return OMN_CMAF_ETIME;
    int rc = push_cut(p, (uint64_t)t);
    if (rc) return rc;
    return fail(p, process(p, 0));
}

int omn_llhls_finish(omn_llhls *p, uint64_t last_duration)
{
    if (!p) return OMN_CMAF_EINVAL;
    if (p->broken) return OMN_CMAF_ENOMEM;
    if (last_duration > UINT32_MAX) return OMN_CMAF_EINVAL;
    int rc = process(p, 1);
    if (rc) return fail(p, rc);
    if (p->have_pending) {
        uint64_t d = last_duration;
        if (!d) d = !is_video(p) && p->pending.nominal > 1 ? p->pending.nominal
                  : p->last_dur ? p->last_dur : p->cfg.info.timescale / 30;
        p->pending.dur = d;
        if ((rc = add_to_part(p, &p->pending))) return fail(p, rc);
        p->have_pending = 0;
    }
    if ((rc = flush_part(p, 1, 1))) return fail(p, rc);
    p->seg_open = 0;
    p->have_last = 0;
    p->last_dur = 0;
    p->ncuts = 0;
    p->cut_lag = 0;
    return OMN_CMAF_OK;
}

int omn_llhls_pop_part(omn_llhls *p, omn_llhls_part *out)
{
    if (!p || !out || p->out_n == 0) return 0;
    *out = p->out[p->out_head++];
    if (--p->out_n == 0) p->out_head = 0;
    return 1;
}

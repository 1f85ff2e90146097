/* cmaf_part.c - one movie fragment: moof + mdat, reference §3.4-3.5.
 * One traf per track (LL-HLS parts: one track, track_ID 1; recordings:
 * every track of the file). tfhd default-base-is-moof, tfdt v1, trun
 * data_offset = size(moof) + 8 + the track's offset inside the one mdat.
 * Video trun is v1 (signed composition offsets for B-frames) with
 * per-sample flags; audio trun is v0 with durations and sizes only (trex
 * default = sync). */
#include "cmaf_internal.h"

static int traf_valid(const omn_cmaf_traf *t)
{
    if (!t->samples || t->n == 0 || t->n > 0x00FFFFFF || (!t->payload && t->payload_len))
        return 0;
    uint64_t total = 0;
    for (size_t i = 0; i < t->n; i++) total += t->samples[i].size;
    return total == t->payload_len;
}

int omn_cmaf_write_fragment(omn_buf *out, uint32_t sequence, const omn_cmaf_traf *trafs, size_t n)
{
    if (!out || !trafs || n == 0 || n > 255) return OMN_CMAF_EINVAL;
    uint64_t mdat_len = 0;
    for (size_t k = 0; k < n; k++) {
        if (!traf_valid(&trafs[k])) return OMN_CMAF_EINVAL;
        mdat_len += trafs[k].payload_len;
    }
    if (mdat_len > UINT32_MAX - 8) return OMN_CMAF_ETOOBIG;

    size_t data_offsets[255];
    /* one allocation for the whole fragment: growing by doubling would copy the payload again
     * at each step (a 1080p part is hundreds of KiB) */
    size_t boxes = 8 + 16;
    for (size_t k = 0; k < n; k++) boxes += 8 + 16 + 20 + 20 + trafs[k].n * 16;
    int rc = omn_buf_reserve(out, boxes + 8 + (size_t)mdat_len);
    if (rc) return rc;
    omn_w w;
    omn_w_open(&w, out);
    size_t moof = omn_box_begin(&w, "moof");
    size_t mfhd = omn_fullbox_begin(&w, "mfhd", 0, 0);
    omn_w_u32(&w, sequence);
    omn_box_end(&w, mfhd);
    for (size_t k = 0; k < n; k++) {
        const omn_cmaf_traf *t = &trafs[k];
        size_t traf = omn_box_begin(&w, "traf");
        size_t tfhd = omn_fullbox_begin(&w, "tfhd", 0, 0x020000);
        omn_w_u32(&w, t->track_id);
        omn_box_end(&w, tfhd);
        size_t tfdt = omn_fullbox_begin(&w, "tfdt", 1, 0);
        omn_w_u64(&w, t->base_decode_time);
        omn_box_end(&w, tfdt);
        size_t trun = t->is_video ? omn_fullbox_begin(&w, "trun", 1, 0x000F01)
                                  : omn_fullbox_begin(&w, "trun", 0, 0x000301);
        omn_w_u32(&w, (uint32_t)t->n);
        data_offsets[k] = w.b->len;
        omn_w_u32(&w, 0);                              /* patched below */
        for (size_t i = 0; i < t->n; i++) {
            omn_w_u32(&w, t->samples[i].duration);
            omn_w_u32(&w, t->samples[i].size);
            if (t->is_video) {
                omn_w_u32(&w, t->samples[i].flags);
                omn_w_u32(&w, (uint32_t)t->samples[i].cto);   /* two's complement, v1 = signed */
            }
        }
        omn_box_end(&w, trun);
        omn_box_end(&w, traf);
    }
    omn_box_end(&w, moof);
    if (!w.err) {
        uint64_t at = (w.b->len - moof) + 8;
        for (size_t k = 0; k < n; k++) {
            if (at > UINT32_MAX) { omn_w_fail(&w, OMN_CMAF_ETOOBIG); break; }
            omn_w_patch_u32(&w, data_offsets[k], (uint32_t)at);
            at += trafs[k].payload_len;
        }
    }
    size_t mdat = omn_box_begin(&w, "mdat");
    for (size_t k = 0; k < n; k++) omn_w_bytes(&w, trafs[k].payload, trafs[k].payload_len);
    omn_box_end(&w, mdat);
    return omn_w_done(&w);
}

int omn_cmaf_write_part(omn_buf *out, int is_video, uint32_t sequence,
                        uint64_t base_decode_time, const omn_cmaf_sample *samples,
                        size_t n, const uint8_t *payload, size_t payload_len)
{
    omn_cmaf_traf t = {1, is_video, base_decode_time, samples, n, payload, payload_len};
    return omn_cmaf_write_fragment(out, sequence, &t, 1);
}

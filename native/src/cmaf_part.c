/* cmaf_part.c - one CMAF chunk (LL-HLS part): moof + mdat for a run of
 * samples, reference §3.4-3.5. tfhd default-base-is-moof, tfdt v1, trun
 * data_offset = size(moof) + 8 (first mdat payload byte). Video trun is
 * v1 (signed composition offsets for B-frames) with per-sample flags;
 * audio trun is v0 with durations and sizes only (trex default = sync). */
#include "cmaf_internal.h"

int omn_cmaf_write_part(omn_buf *out, int is_video, uint32_t sequence,
                        uint64_t base_decode_time, const omn_cmaf_sample *samples,
                        size_t n, const uint8_t *payload, size_t payload_len)
{
    if (!out || !samples || n == 0 || n > 0x00FFFFFF || (!payload && payload_len))
        return OMN_CMAF_EINVAL;
    uint64_t total = 0;
    for (size_t i = 0; i < n; i++) total += samples[i].size;
    if (total != payload_len) return OMN_CMAF_EINVAL;
    if (payload_len > UINT32_MAX - 8) return OMN_CMAF_ETOOBIG;

    omn_w w;
    omn_w_open(&w, out);
    size_t moof = omn_box_begin(&w, "moof");
    size_t mfhd = omn_fullbox_begin(&w, "mfhd", 0, 0);
    omn_w_u32(&w, sequence);
    omn_box_end(&w, mfhd);
    size_t traf = omn_box_begin(&w, "traf");
    size_t tfhd = omn_fullbox_begin(&w, "tfhd", 0, 0x020000);
    omn_w_u32(&w, 1);                                  /* track_ID */
    omn_box_end(&w, tfhd);
    size_t tfdt = omn_fullbox_begin(&w, "tfdt", 1, 0);
    omn_w_u64(&w, base_decode_time);
    omn_box_end(&w, tfdt);
    size_t trun = is_video ? omn_fullbox_begin(&w, "trun", 1, 0x000F01)
                           : omn_fullbox_begin(&w, "trun", 0, 0x000301);
    omn_w_u32(&w, (uint32_t)n);
    size_t data_offset = w.b->len;
    omn_w_u32(&w, 0);                                  /* patched below */
    for (size_t i = 0; i < n; i++) {
        omn_w_u32(&w, samples[i].duration);
        omn_w_u32(&w, samples[i].size);
        if (is_video) {
            omn_w_u32(&w, samples[i].flags);
            omn_w_u32(&w, (uint32_t)samples[i].cto);   /* two's complement, v1 = signed */
        }
    }
    omn_box_end(&w, trun);
    omn_box_end(&w, traf);
    omn_box_end(&w, moof);
    if (!w.err) {
        size_t moof_size = w.b->len - moof;
        omn_w_patch_u32(&w, data_offset, (uint32_t)(moof_size + 8));
    }
    size_t mdat = omn_box_begin(&w, "mdat");
    omn_w_bytes(&w, payload, payload_len);
    omn_box_end(&w, mdat);
    return omn_w_done(&w);
}

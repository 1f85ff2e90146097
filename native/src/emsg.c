/* emsg.c - DASH/CMAF event message box, version 1 (reference §4.1), the
 * carrier of ID3 timed metadata in front of a part's moof. */
#include "cmaf_internal.h"

#include <string.h>

static const char default_scheme[] = "https://aomedia.org/emsg/ID3";
static const char default_value[] = "OvenMediaEngine";

int omn_emsg_write(omn_buf *out, const char *scheme, const char *value,
                   uint32_t timescale, uint64_t presentation_time,
                   uint32_t event_duration, uint32_t id,
                   const uint8_t *message, size_t message_len)
{
    if (!out || timescale == 0 || (!message && message_len)) return OMN_CMAF_EINVAL;
    if (!scheme) scheme = default_scheme;
    if (!value) value = default_value;
    size_t sl = strlen(scheme) + 1, vl = strlen(value) + 1;
    if (message_len > UINT32_MAX - 32 - sl - vl) return OMN_CMAF_ETOOBIG;
    omn_w w;
    omn_w_open(&w, out);
    size_t box = omn_fullbox_begin(&w, "emsg", 1, 0);
    omn_w_u32(&w, timescale);
    omn_w_u64(&w, presentation_time);
    omn_w_u32(&w, event_duration);
    omn_w_u32(&w, id);
    omn_w_bytes(&w, scheme, sl);
    omn_w_bytes(&w, value, vl);
    omn_w_bytes(&w, message, message_len);
    omn_box_end(&w, box);
    return omn_w_done(&w);
}

uint64_t omn_emsg_clamp_ms(uint64_t t_ms, uint64_t start, uint64_t dur, uint32_t timescale)
{
    unsigned __int128 ts = timescale;
    /* ceil(x * 1000 / ts) for the part start and end, in ms */
    uint64_t lo = (uint64_t)(((unsigned __int128)start * 1000 + ts - 1) / ts);
    uint64_t end = (uint64_t)(((unsigned __int128)(start + dur) * 1000 + ts - 1) / ts);
    uint64_t hi = end > lo ? end - 1 : lo;
    return t_ms < lo ? lo : t_ms > hi ? hi : t_ms;
}

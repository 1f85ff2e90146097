/* annexb.c - Annex B byte streams (00 00 01 / 00 00 00 01 start codes) to
 * 4-byte length-prefixed NAL units, the stream model's video payload form.
 * Encoders (libx264, libx265, NVENC) emit Annex B. */
#include "ome_native.h"

/* Index of the first byte after the next start code at or after i, or len. */
static size_t next_start(const uint8_t *d, size_t len, size_t i, size_t *code_at)
{
    for (; i + 3 <= len; i++) {
        if (d[i] == 0 && d[i + 1] == 0 && d[i + 2] == 1) {
            *code_at = (i > 0 && d[i - 1] == 0) ? i - 1 : i;
            return i + 3;
        }
    }
    *code_at = len;
    return len;
}

int omn_annexb_to_lp(omn_buf *out, const uint8_t *data, size_t len)
{
    size_t before = out->len, code_at;
    size_t start = next_start(data, len, 0, &code_at);
    int count = 0;
    while (start < len) {
        size_t nal_start = start;
        size_t next = next_start(data, len, nal_start, &code_at);
        size_t end = code_at;
        while (end > nal_start && data[end - 1] == 0) end--;   /* trailing_zero_8bits */
        size_t n = end - nal_start;
        if (n > 0) {
            if (n > 0xffffffffu) goto bad;
            uint8_t hdr[4] = {(uint8_t)(n >> 24), (uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n};
            if (omn_buf_append(out, hdr, 4) || omn_buf_append(out, data + nal_start, n)) {
                out->len = before;
                return OMN_CMAF_ENOMEM;
            }
            count++;
        }
        start = next;
    }
    if (count) return OMN_CMAF_OK;
bad:
    out->len = before;
    return OMN_CMAF_EINVAL;
}

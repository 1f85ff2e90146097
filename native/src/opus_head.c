/* opus_head.c - the OpusHead identification header (RFC 7845 5.1), which
 * Enhanced RTMP sends as the Opus sequence start. */
#include "ome_native.h"

#include <string.h>

int omn_opus_head_parse(const uint8_t *p, size_t len, omn_opus_info *out)
{
    if (!p || !out || len < 19) return OMN_ASC_E_MALFORMED;
    memset(out, 0, sizeof *out);
    if (memcmp(p, "OpusHead", 8) != 0 || (p[8] & 0xF0) != 0) return OMN_ASC_E_MALFORMED;
    out->channels = p[9];
    out->pre_skip = (uint32_t)p[10] | (uint32_t)p[11] << 8;
    out->input_sample_rate = (uint32_t)p[12] | (uint32_t)p[13] << 8 | (uint32_t)p[14] << 16 | (uint32_t)p[15] << 24;
    out->output_gain = (int32_t)(int16_t)(uint16_t)(p[16] | p[17] << 8);
    out->mapping_family = p[18];
    if (out->channels == 0) return OMN_ASC_E_MALFORMED;
    if (out->mapping_family != 0 && len < 21u + out->channels) return OMN_ASC_E_MALFORMED;
    return 0;
}

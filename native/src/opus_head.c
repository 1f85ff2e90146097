/* opus_head.c - the OpusHead identification header (RFC 7845 5.1), which
 * Enhanced RTMP sends as the Opus sequence start and the CMAF packager turns
 * into dOps: the core's one OpusHead parser, with the 5.1.1 channel mapping
 * checks. */
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
    uint32_t ch = (uint32_t)out->channels;
    if (ch == 0) return OMN_ASC_E_MALFORMED;
    if (out->mapping_family == 0) {                  /* mono or stereo, one stream */
        if (ch > 2) return OMN_ASC_E_MALFORMED;
        out->stream_count = 1;
        out->coupled_count = (int32_t)ch - 1;
        return 0;
    }
    if (len < 21u + ch) return OMN_ASC_E_MALFORMED;
    uint32_t streams = p[19], coupled = p[20];
    if (streams == 0 || coupled > streams || streams + coupled > 255) return OMN_ASC_E_MALFORMED;
    if (out->mapping_family == 1 && ch > 8) return OMN_ASC_E_MALFORMED;
    for (uint32_t i = 0; i < ch; i++)                /* channel mapping: a decoded channel or 255 */
        if (p[21 + i] != 255 && p[21 + i] >= streams + coupled) return OMN_ASC_E_MALFORMED;
    out->stream_count = (int32_t)streams;
    out->coupled_count = (int32_t)coupled;
    return 0;
}

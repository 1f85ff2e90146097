/* flv_mux.c - FLV audio/video tag bodies (RTMP message payloads) for RTMP
 * push: the legacy AVC / AAC headers in front of the sample bytes. */
#include "cmaf_internal.h"

int omn_flv_write_body(omn_buf *out, int codec, int kind, int keyframe, int32_t cts_ms,
                       const uint8_t *data, size_t len)
{
    if (!out || (!data && len) || len > 0xFFFFFF - 5) return OMN_CMAF_EINVAL;
    if (kind != OMN_FLV_KIND_SEQUENCE_HEADER && kind != OMN_FLV_KIND_FRAME) return OMN_CMAF_EINVAL;
    int seq = kind == OMN_FLV_KIND_SEQUENCE_HEADER;
    uint8_t h[5];
    size_t hl;
    if (codec == OMN_FLV_CODEC_H264) {
        if (cts_ms < -0x800000 || cts_ms > 0x7FFFFF) return OMN_CMAF_EINVAL;
        h[0] = (uint8_t)(((seq || keyframe) ? 0x10 : 0x20) | 7);   /* frame type, CodecID 7 = AVC */
        h[1] = seq ? 0 : 1;                                          /* AVCPacketType */
        uint32_t c = seq ? 0 : (uint32_t)cts_ms;
        h[2] = (uint8_t)(c >> 16);
        h[3] = (uint8_t)(c >> 8);
        h[4] = (uint8_t)c;
        hl = 5;
    } else if (codec == OMN_FLV_CODEC_AAC) {
        h[0] = 0xAF;                                                 /* AAC, 44 kHz, 16-bit, stereo */
        h[1] = seq ? 0 : 1;                                          /* AACPacketType */
        hl = 2;
    } else {
        return OMN_CMAF_EINVAL;
    }
    if (omn_buf_reserve(out, hl + len)) return OMN_CMAF_ENOMEM;
    omn_buf_append(out, h, hl);
    omn_buf_append(out, data, len);
    return OMN_CMAF_OK;
}

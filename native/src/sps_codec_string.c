/* sps_codec_string.c - the core's one RFC 6381 codec string for H.264 /
 * HEVC ("avc1.64001f", "hvc1.1.6.L93.B0") from the parameter-set fields
 * omn_avcc_parse / omn_hvcc_parse report; omn_codec_probe (CMAF) uses it
 * too. HEVC form per ISO/IEC 14496-15 Annex E: profile space letter and
 * profile, the compatibility flags bit-reversed in hex, tier and level, then
 * each constraint byte as two hex digits (".B0", ".08", as Apple's
 * examples, Shaka Packager and ExoPlayer write them), trailing zero bytes
 * omitted. */
#include "ome_native.h"

#include <stdio.h>

int omn_sps_codec_string(const omn_sps_info *info, char *buf, size_t cap)
{
    int n;
    if (!info || !buf || cap == 0) return -1;
    if (info->codec == OMN_FLV_CODEC_H264) {
        n = snprintf(buf, cap, "avc1.%02x%02x%02x", (unsigned)info->profile & 0xff,
                     (unsigned)info->constraint_flags & 0xff, (unsigned)info->level & 0xff);
    } else if (info->codec == OMN_FLV_CODEC_HEVC) {
        static const char *space[4] = { "", "A", "B", "C" };
        uint32_t rev = 0, c = info->profile_compat;
        for (int i = 0; i < 32; i++) rev |= ((c >> i) & 1u) << (31 - i);
        n = snprintf(buf, cap, "hvc1.%s%d.%X.%c%d", space[info->profile_space & 3],
                     (int)info->profile & 0x1f, (unsigned)rev, info->tier ? 'H' : 'L',
                     (int)info->level & 0xff);
        int last = -1;                               /* trailing zero bytes are omitted */
        for (int i = 0; i < 6; i++)
            if ((info->hevc_constraints >> (40 - 8 * i)) & 0xff) last = i;
        for (int i = 0; i <= last && n >= 0 && (size_t)n < cap; i++)
            n += snprintf(buf + n, cap - (size_t)n, ".%02X",
                          (unsigned)((info->hevc_constraints >> (40 - 8 * i)) & 0xff));
    } else {
        return -1;
    }
    if (n < 0 || (size_t)n >= cap) return -1;
    return n;
}

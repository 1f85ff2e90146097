/* aac_asc.c - AAC AudioSpecificConfig (ISO/IEC 14496-3 1.6.2.1): object
 * type, sampling rate, channels (incl. a program config element), explicit
 * SBR/PS signalling and the GA frame length. Bounds-checked; read with the
 * core's one bit reader (bits.h, raw mode). */
#include "ome_native.h"
#include "bits.h"

#include <string.h>

static uint32_t object_type(struct nal_bits *b)
{
    uint32_t aot = nb_u(b, 5);
    return aot == 31 ? 32 + nb_u(b, 6) : aot;
}

static uint32_t sample_rate(struct nal_bits *b)
{
    static const uint32_t rates[13] = { 96000, 88200, 64000, 48000, 44100, 32000, 24000,
                                        22050, 16000, 12000, 11025, 8000, 7350 };
    uint32_t idx = nb_u(b, 4);
    if (idx == 15) return nb_u(b, 24);
    return idx < 13 ? rates[idx] : 0;
}

/* program_config_element(): returns the channel count, 0 on error. */
static int32_t pce_channels(struct nal_bits *b)
{
    int32_t ch = 0;
    nb_u(b, 4); nb_u(b, 2); nb_u(b, 4);                 /* tag, object type, sf index */
    uint32_t front = nb_u(b, 4), side = nb_u(b, 4), back = nb_u(b, 4);
    uint32_t lfe = nb_u(b, 2), assoc = nb_u(b, 3), cc = nb_u(b, 4);
    if (nb_u(b, 1)) nb_u(b, 4);                        /* mono mixdown */
    if (nb_u(b, 1)) nb_u(b, 4);                        /* stereo mixdown */
    if (nb_u(b, 1)) nb_u(b, 3);                        /* matrix mixdown */
    for (uint32_t i = 0; i < front + side + back; i++) {
        ch += nb_u(b, 1) ? 2 : 1;                     /* is_cpe */
        nb_u(b, 4);
    }
    ch += (int32_t)lfe;
    for (uint32_t i = 0; i < lfe; i++) nb_u(b, 4);
    for (uint32_t i = 0; i < assoc; i++) nb_u(b, 4);
    for (uint32_t i = 0; i < cc; i++) nb_u(b, 5);
    return b->overrun ? 0 : ch;
}

int omn_aac_asc_parse(const uint8_t *p, size_t len, omn_asc_info *out)
{
    static const int32_t config_channels[16] = { 0, 1, 2, 3, 4, 5, 6, 8, 0, 0, 0, 7, 8, 24, 8, 0 };
    struct nal_bits b;

    if (!p || !out || len < 2) return OMN_ASC_E_MALFORMED;
    nb_init_raw(&b, p, len);
    memset(out, 0, sizeof *out);
    uint32_t aot = object_type(&b);
    out->object_type = (int32_t)aot;
    out->sample_rate = sample_rate(&b);
    uint32_t cfg = nb_u(&b, 4);
    out->channel_config = (int32_t)cfg;
    if (aot == 5 || aot == 29) {                     /* explicit SBR (and PS) */
        out->sbr = 1;
        out->ps = aot == 29;
        out->ext_sample_rate = sample_rate(&b);
        aot = object_type(&b);
        if (aot == 22) nb_u(&b, 4);                   /* extensionChannelConfiguration */
    }
    out->core_object_type = (int32_t)aot;
    if (b.overrun || aot == 0 || out->sample_rate == 0 || (out->sbr && out->ext_sample_rate == 0))
        return OMN_ASC_E_MALFORMED;

    out->channels = config_channels[cfg];
    switch (aot) {
    case 1: case 2: case 3: case 4: case 6: case 7:
    case 17: case 19: case 20: case 21: case 22: case 23:   /* GASpecificConfig */
        out->frame_length = nb_u(&b, 1) ? 960 : 1024;
        if (nb_u(&b, 1)) nb_u(&b, 14);                 /* dependsOnCoreCoder: coreCoderDelay */
        nb_u(&b, 1);                                  /* extensionFlag */
        if (cfg == 0) out->channels = pce_channels(&b);
        if (b.overrun) {
            /* Truncated after the fields that matter: keep what we have
             * unless the channel count itself came from the missing PCE. */
            if (cfg == 0) return OMN_ASC_E_MALFORMED;
        }
        break;
    default:
        break;
    }
    return 0;
}

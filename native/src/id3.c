/* id3.c - ID3v2.4 tags for timed metadata (reference §4.2): TXXX, T???
 * and PRIV frames with syncsafe sizes, tag header without padding. Frames
 * are appended to a frames buffer; omn_id3_tag wraps them in a tag. */
#include "cmaf_internal.h"

#include <string.h>

#define SYNCSAFE_MAX ((uint32_t)1 << 28)

int omn_id3_syncsafe(uint32_t v, uint8_t *out4)
{
    if (v >= SYNCSAFE_MAX) return OMN_CMAF_ETOOBIG;
    out4[0] = (uint8_t)((v >> 21) & 0x7F);
    out4[1] = (uint8_t)((v >> 14) & 0x7F);
    out4[2] = (uint8_t)((v >> 7) & 0x7F);
    out4[3] = (uint8_t)(v & 0x7F);
    return OMN_CMAF_OK;
}

typedef struct piece { const void *p; size_t n; } piece;

/* Frame header (ID, syncsafe body size, flags 00 00) + body pieces. */
static int frame(omn_buf *out, const char *id, const piece *pc, int npc)
{
    if (!out) return OMN_CMAF_EINVAL;
    size_t body = 0;
    for (int i = 0; i < npc; i++) {
        if (pc[i].n >= SYNCSAFE_MAX) return OMN_CMAF_ETOOBIG;
        body += pc[i].n;
    }
    uint8_t size[4];
    if (body >= SYNCSAFE_MAX || omn_id3_syncsafe((uint32_t)body, size)) return OMN_CMAF_ETOOBIG;
    omn_w w;
    omn_w_open(&w, out);
    omn_w_bytes(&w, id, 4);
    omn_w_bytes(&w, size, 4);
    omn_w_u16(&w, 0);
    for (int i = 0; i < npc; i++) omn_w_bytes(&w, pc[i].p, pc[i].n);
    return omn_w_done(&w);
}

static const uint8_t utf8_enc = 0x03;   /* text encoding: UTF-8 */
static const uint8_t nul = 0x00;

int omn_id3_add_txxx(omn_buf *frames, const uint8_t *desc, size_t desc_len,
                     const uint8_t *value, size_t value_len)
{
    if ((!desc && desc_len) || (!value && value_len)) return OMN_CMAF_EINVAL;
    if (desc_len && memchr(desc, 0, desc_len)) return OMN_CMAF_EINVAL;
    piece pc[4] = { { &utf8_enc, 1 }, { desc, desc_len }, { &nul, 1 }, { value, value_len } };
    return frame(frames, "TXXX", pc, 4);
}

int omn_id3_add_text(omn_buf *frames, const char *id, const uint8_t *text, size_t text_len)
{
    if (!id || (!text && text_len)) return OMN_CMAF_EINVAL;
    if (id[0] != 'T' || memcmp(id, "TXXX", 4) == 0) return OMN_CMAF_EINVAL;
    for (int i = 0; i < 4; i++) {
        char ch = id[i];
        if (!((ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9'))) return OMN_CMAF_EINVAL;
    }
    piece pc[2] = { { &utf8_enc, 1 }, { text, text_len } };
    return frame(frames, id, pc, 2);
}

int omn_id3_add_priv(omn_buf *frames, const uint8_t *owner, size_t owner_len,
                     const uint8_t *data, size_t data_len)
{
    if ((!owner && owner_len) || (!data && data_len)) return OMN_CMAF_EINVAL;
    if (owner_len && memchr(owner, 0, owner_len)) return OMN_CMAF_EINVAL;
    piece pc[3] = { { owner, owner_len }, { &nul, 1 }, { data, data_len } };
    return frame(frames, "PRIV", pc, 3);
}

int omn_id3_tag(omn_buf *out, const uint8_t *frames, size_t frames_len)
{
    if (!out || !frames || frames_len < 10) return OMN_CMAF_EINVAL;
    uint8_t size[4];
    if (frames_len > UINT32_MAX || omn_id3_syncsafe((uint32_t)frames_len, size))
        return OMN_CMAF_ETOOBIG;
    omn_w w;
    omn_w_open(&w, out);
    omn_w_bytes(&w, "ID3", 3);
    omn_w_u8(&w, 4);                        /* version 2.4.0 */
    omn_w_u8(&w, 0);
    omn_w_u8(&w, 0);                        /* flags */
    omn_w_bytes(&w, size, 4);
    omn_w_bytes(&w, frames, frames_len);
    return omn_w_done(&w);
}

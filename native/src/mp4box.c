/* mp4box.c - ISOBMFF box writing helpers over an omn_buf (big-endian
 * integers, size-patched boxes, sticky error). Internal: cmaf_internal.h. */
#include "cmaf_internal.h"

#include <string.h>

void omn_w_open(omn_w *w, omn_buf *b)
{
    w->b = b;
    w->start = b->len;
    w->err = 0;
}

int omn_w_done(omn_w *w)
{
    if (w->err) w->b->len = w->start;
    return w->err;
}

void omn_w_fail(omn_w *w, int err)
{
    if (!w->err) w->err = err;
}

void omn_w_bytes(omn_w *w, const void *p, size_t n)
{
    if (w->err || n == 0) return;
    int rc = omn_buf_append(w->b, p, n);
    if (rc) omn_w_fail(w, rc);
}

void omn_w_zeros(omn_w *w, size_t n)
{
    if (w->err || n == 0) return;
    int rc = omn_buf_reserve(w->b, n);
    if (rc) { omn_w_fail(w, rc); return; }
    memset(w->b->data + w->b->len, 0, n);
    w->b->len += n;
}

static void put_be(omn_w *w, uint64_t v, int n)
{
    uint8_t t[8];
    for (int i = 0; i < n; i++) t[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
    omn_w_bytes(w, t, (size_t)n);
}

void omn_w_u8(omn_w *w, uint32_t v)  { put_be(w, v, 1); }
void omn_w_u16(omn_w *w, uint32_t v) { put_be(w, v, 2); }
void omn_w_u24(omn_w *w, uint32_t v) { put_be(w, v, 3); }
void omn_w_u32(omn_w *w, uint32_t v) { put_be(w, v, 4); }
void omn_w_u64(omn_w *w, uint64_t v) { put_be(w, v, 8); }
void omn_w_fourcc(omn_w *w, const char *cc) { omn_w_bytes(w, cc, 4); }

size_t omn_box_begin(omn_w *w, const char *type)
{
    size_t at = w->b->len;
    omn_w_u32(w, 0);
    omn_w_fourcc(w, type);
    return at;
}

size_t omn_fullbox_begin(omn_w *w, const char *type, uint32_t version, uint32_t flags)
{
    size_t at = omn_box_begin(w, type);
    omn_w_u8(w, version);
    omn_w_u24(w, flags);
    return at;
}

void omn_w_patch_u32(omn_w *w, size_t at, uint32_t v)
{
    if (w->err || at + 4 > w->b->len) return;
    uint8_t *p = w->b->data + at;
    p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);  p[3] = (uint8_t)v;
}

void omn_box_end(omn_w *w, size_t at)
{
    if (w->err) return;
    size_t size = w->b->len - at;
    if (size > UINT32_MAX) { omn_w_fail(w, OMN_CMAF_ETOOBIG); return; }
    omn_w_patch_u32(w, at, (uint32_t)size);
}

/* buf.c - omn_buf, the caller-owned growable byte buffer every CMAF writer
 * appends to. A zeroed omn_buf is empty and valid; omn_buf_free releases. */
#include "ome_native.h"

#include <stdlib.h>
#include <string.h>

void omn_buf_free(omn_buf *b)
{
    if (!b) return;
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

int omn_buf_reserve(omn_buf *b, size_t extra)
{
    if (extra <= b->cap - b->len) return OMN_CMAF_OK;
    if (extra > SIZE_MAX / 2 - b->len) return OMN_CMAF_ENOMEM;
    size_t need = b->len + extra;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need) cap *= 2;
    uint8_t *p = realloc(b->data, cap);
    if (!p) return OMN_CMAF_ENOMEM;
    b->data = p;
    b->cap = cap;
    return OMN_CMAF_OK;
}

int omn_buf_append(omn_buf *b, const void *data, size_t n)
{
    if (n == 0) return OMN_CMAF_OK;
    int rc = omn_buf_reserve(b, n);
    if (rc) return rc;
    memcpy(b->data + b->len, data, n);
    b->len += n;
    return OMN_CMAF_OK;
}

/* libFuzzer: the edge's request head parser. Whatever the bytes, it must stay inside them and
 * inside the key buffer; a complete head ends with the blank line; a storable head is a
 * well-formed GET whose key has the documented shape (two newlines, then '-' or 'g', then a
 * path starting with '/') and whose state key ends with the same path. */
#include "ome_native.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char key[512];
    omn_edge_head h;
    size_t max_head = 2048;
    int rc = omn_edge_parse_head(data, size, max_head, &h, key, sizeof key);
    if (rc < 0) {
        if (size <= max_head) abort();
        return 0;
    }
    if (!h.complete) {
        if (h.storable) abort();
        return 0;
    }
    if (h.head_len > size || h.head_len < 4 || h.head_len > max_head + 4) abort();
    if (memcmp(data + h.head_len - 4, "\r\n\r\n", 4) != 0) abort();
    if (!h.storable) return 0;
    if (h.bad || h.key_len + h.state_key_len > sizeof key || h.content_length > 0) abort();
    if (size < 4 || memcmp(data, "GET ", 4) != 0) abort();
    const char *nl1 = memchr(key, '\n', h.key_len);
    const char *nl2 = nl1 ? memchr(nl1 + 1, '\n', h.key_len - (size_t)(nl1 + 1 - key)) : NULL;
    if (!nl2 || (size_t)(nl2 - key) + 2 >= h.key_len + 1) abort();
    if (nl2[1] != '-' && nl2[1] != 'g') abort();
    if (nl2[2] != '/') abort();
    const char *path = nl2 + 2;
    const char *q = memchr(path, '?', h.key_len - (size_t)(path - key));
    size_t path_len = q ? (size_t)(q - path) : h.key_len - (size_t)(path - key);
    if (h.state_key_len < path_len ||
        memcmp(key + h.key_len + h.state_key_len - path_len, path, path_len) != 0) abort();
    if ((h.has_msn && h.msn < 0) || (h.has_part && h.part < 0)) abort();
    return 0;
}

/* libFuzzer: omn_annexb_to_lp (encoder output -> length-prefixed NAL units).
 * The result must be a walkable sequence of non-empty NAL units, and a
 * failure must leave the buffer as it was. */
#include "ome_native.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *copy = malloc(size ? size : 1);
    if (!copy) return 0;
    memcpy(copy, data, size);
    omn_buf out = {0};
    omn_buf_append(&out, "ab", 2);
    int rc = omn_annexb_to_lp(&out, copy, size);
    if (rc != 0 && out.len != 2) abort();
    if (rc == 0) {
        size_t off = 2;
        while (off < out.len) {
            if (off + 4 > out.len) abort();
            size_t l = (size_t)out.data[off] << 24 | out.data[off + 1] << 16 | out.data[off + 2] << 8 | out.data[off + 3];
            if (l == 0 || off + 4 + l > out.len) abort();
            off += 4 + l;
        }
        if (out.len - 2 > size + 4 * (size / 3 + 1)) abort();
    }
    omn_buf_free(&out);
    free(copy);
    return 0;
}

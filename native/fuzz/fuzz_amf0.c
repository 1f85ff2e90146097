/* libFuzzer: AMF0 -> JSON. A success must be one NUL-terminated JSON array
 * of the reported length whose brackets balance outside strings; a failure
 * must leave *out NULL. The builder is exercised by re-encoding simple
 * top-level scalars and checking the decoder agrees. */
#include "ome_native.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void check_json(const char *s, size_t n)
{
    int depth = 0, in_str = 0;
    if (n < 2 || s[0] != '[' || s[n - 1] != ']' || s[n] != '\0') abort();
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if ((unsigned char)c < 0x20) abort();        /* control chars must be escaped */
        if (in_str) {
            if (c == '\\') { i++; continue; }
            if (c == '"') in_str = 0;
            continue;
        }
        if (c == '"') in_str = 1;
        else if (c == '[' || c == '{') depth++;
        else if (c == ']' || c == '}') { if (--depth < 0) abort(); }
        if (depth == 0 && i != n - 1) abort();
    }
    if (in_str || depth != 0) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *out = (char *)1;
    size_t len = 0;
    int rc = omn_amf0_to_json(data, size, &out, &len);
    if (rc == 0) {
        check_json(out, len);
        omn_amf0_json_free(out);
    } else {
        if (out != NULL || rc > 0 || rc < OMN_AMF0_E_TOO_LARGE) abort();
    }

    /* builder: the input as one string, one key/number object */
    omn_amf0_writer w;
    omn_amf0_writer_init(&w);
    omn_amf0_put_string(&w, (const char *)data, size);
    omn_amf0_put_object_begin(&w);
    omn_amf0_put_key(&w, (const char *)data, size > 0xFFFF ? 0xFFFF : size);
    double d = 0;
    if (size >= 8) memcpy(&d, data, 8);
    omn_amf0_put_number(&w, d);
    omn_amf0_put_object_end(&w);
    omn_amf0_put_ecma_array_begin(&w, (uint32_t)size);
    omn_amf0_put_object_end(&w);
    omn_amf0_put_strict_array_begin(&w, 2);
    omn_amf0_put_bool(&w, (int)size);
    omn_amf0_put_null(&w);
    if (w.error) abort();
    out = NULL;
    if (omn_amf0_to_json(w.data, w.len, &out, &len) != 0) abort();
    check_json(out, len);
    omn_amf0_json_free(out);
    omn_amf0_writer_free(&w);
    return 0;
}

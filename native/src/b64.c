/* b64.c - base64 decoding and constant-time comparison for API auth.
 * Kept in C so the token comparison cannot leak timing through Python's
 * short-circuiting bytes equality. */
#include "ome_native.h"

#include <stdlib.h>

static int b64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

int omn_base64_decode(const char *in, size_t in_len, uint8_t *out,
                      size_t out_cap, size_t *out_len)
{
    size_t n = in_len, pad = 0, o = 0;
    uint32_t acc = 0;
    int bits = 0;

    /* Padding is allowed only at the end, at most two '=' characters. */
    while (n > 0 && in[n - 1] == '=' && pad < 2) { n--; pad++; }
    if (pad && (n + pad) % 4 != 0) return -1;
    if (n % 4 == 1) return -1;                 /* 6 bits can't make a byte */
    for (size_t i = 0; i < n; i++) {
        int v = b64_value((unsigned char)in[i]);
        if (v < 0) return -1;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (o >= out_cap) return -2;
            out[o++] = (uint8_t)(acc >> bits);
        }
    }
    /* Leftover bits must be zero, as in a canonical encoding. */
    if (bits > 0 && (acc & ((1u << bits) - 1)) != 0) return -1;
    *out_len = o;
    return 0;
}

int omn_ct_equal(const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len)
{
    /* Compare over the longer length so the loop count leaks only lengths. */
    size_t n = a_len > b_len ? a_len : b_len;
    unsigned diff = (unsigned)(a_len ^ b_len);
    for (size_t i = 0; i < n; i++) {
        uint8_t x = i < a_len ? a[i] : 0;
        uint8_t y = i < b_len ? b[i] : 0;
        diff |= (unsigned)(x ^ y);
    }
    return diff == 0;
}

int omn_basic_auth_check(const char *credentials, size_t cred_len,
                         const uint8_t *token, size_t token_len)
{
    uint8_t stackbuf[512];
    size_t cap = cred_len / 4 * 3 + 3, len = 0;
    uint8_t *buf = cap <= sizeof stackbuf ? stackbuf : malloc(cap);
    int rc;

    if (!buf) return OMN_AUTH_MISMATCH;        /* fail closed */
    if (omn_base64_decode(credentials, cred_len, buf, cap, &len) != 0)
        rc = OMN_AUTH_BAD_FORMAT;
    else
        rc = omn_ct_equal(buf, len, token, token_len) ? OMN_AUTH_OK : OMN_AUTH_MISMATCH;
    if (buf != stackbuf) free(buf);
    return rc;
}

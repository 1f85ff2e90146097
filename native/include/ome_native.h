/*
 * ome_native.h - the one public header of ome's native media core.
 *
 * Rules for everything declared here:
 *  - Plain C11, no Python: the core never calls back into the interpreter.
 *  - Ownership is explicit: a function that allocates says so and names its
 *    matching free; otherwise the caller owns every buffer it passes in.
 *  - The declarations are also fed to cffi (native/build_ffi.py strips the
 *    preprocessor lines), so keep them in the subset cffi's cdef parses:
 *    no macros, no inline functions, no bitfields in declarations below.
 *
 * Each concern adds one section, implemented by one native/src/<concern>.c.
 */
#ifndef OME_NATIVE_H
#define OME_NATIVE_H
#include <stddef.h>
#include <stdint.h>

/* ---- util: build identity ------------------------------------------- */
/* Static version string of the native core; never freed. */
const char *omn_version(void);

/* ---- b64: base64 and constant-time compare (API auth) --------------- */
/* Decodes standard base64 (RFC 4648, '=' padding optional at the end,
 * no whitespace). Writes at most out_cap bytes to out and the decoded
 * length to *out_len. Returns 0 on success, -1 on malformed input,
 * -2 when out_cap is too small (out_cap >= in_len*3/4+3 always suffices). */
int omn_base64_decode(const char *in, size_t in_len, uint8_t *out,
                      size_t out_cap, size_t *out_len);

/* 1 when the two byte strings are equal, else 0. The time taken depends
 * only on the lengths, never on where the contents first differ. */
int omn_ct_equal(const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len);

/* Checks the credentials of an HTTP Basic header against an access token
 * the way OME does: base64-decode `credentials` and compare the whole
 * decoded text with `token` (no user/password split).
 * Returns OMN_AUTH_OK (0), OMN_AUTH_BAD_FORMAT (1: not base64) or
 * OMN_AUTH_MISMATCH (2). */
enum omn_auth_result { OMN_AUTH_OK = 0, OMN_AUTH_BAD_FORMAT = 1, OMN_AUTH_MISMATCH = 2 };
int omn_basic_auth_check(const char *credentials, size_t cred_len,
                         const uint8_t *token, size_t token_len);

/* ---- jsonfmt: OME's float formatting -------------------------------- */
/* Formats v as printf("%.17g") and appends ".0" when the text has neither
 * '.' nor 'e' (nor is inf/nan). Writes a NUL-terminated string into buf and
 * returns its length, or -1 when cap is too small (32 always suffices). */
int omn_format_double(double v, char *buf, size_t cap);

#endif /* OME_NATIVE_H */

/* amf0.c - AMF0 -> compact JSON (for command/data messages), and an AMF0
 * builder for the replies the server sends.
 *
 * Decoding turns the whole payload (a sequence of AMF0 values) into one JSON
 * array, so Python needs a single json.loads per control message:
 *   number -> JSON number (integral values below 2^53 without a fraction,
 *             others in the shortest form that reads back exactly; NaN and
 *             +-Inf -> null), boolean, string/long string/XML document ->
 *             JSON string (invalid UTF-8 -> U+FFFD), object/typed object/
 *             ECMA array -> JSON object (keys in wire order; a typed object's
 *             class name is dropped), strict array -> JSON array, null/
 *             undefined/unsupported -> null, date -> number (ms since epoch,
 *             the time zone field is dropped).
 * Reference, AVM+ (AMF3) and the reserved markers are rejected. Nesting is
 * limited to AMF0_MAX_DEPTH; every length is checked against the input. */
#include "ome_native.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define AMF0_MAX_DEPTH 32
#define AMF0_WRITER_MAX (16u * 1024 * 1024)

/* ----------------------------------------------------------------- output */

struct jbuf {
    char *p;
    size_t len, cap;
    int err;
};

static int jreserve(struct jbuf *b, size_t n)
{
    if (b->err) return -1;
    if (b->len + n + 1 <= b->cap) return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + n + 1) cap *= 2;
    char *q = realloc(b->p, cap);
    if (!q) { b->err = OMN_AMF0_E_NOMEM; return -1; }
    b->p = q;
    b->cap = cap;
    return 0;
}

static void jput(struct jbuf *b, const char *s, size_t n)
{
    if (jreserve(b, n)) return;
    memcpy(b->p + b->len, s, n);
    b->len += n;
}

static void jputc(struct jbuf *b, char ch) { jput(b, &ch, 1); }

static void jput_number(struct jbuf *b, double v)
{
    char tmp[40];
    int n;
    if (!isfinite(v)) { jput(b, "null", 4); return; }
    if (v == floor(v) && fabs(v) < 9007199254740992.0) {
        n = snprintf(tmp, sizeof tmp, "%.0f", v == 0 ? 0.0 : v);
    } else {
        n = snprintf(tmp, sizeof tmp, "%.15g", v);
        if (strtod(tmp, NULL) != v) n = snprintf(tmp, sizeof tmp, "%.16g", v);
        if (strtod(tmp, NULL) != v) n = snprintf(tmp, sizeof tmp, "%.17g", v);
    }
    jput(b, tmp, (size_t)n);
}

/* Length of the valid UTF-8 sequence at s (1-4), or 0 when invalid. */
static size_t utf8_seq(const uint8_t *s, size_t n)
{
    uint8_t c = s[0];
    if (c < 0x80) return 1;
    if (c >= 0xC2 && c <= 0xDF) return n >= 2 && (s[1] & 0xC0) == 0x80 ? 2 : 0;
    if (c >= 0xE0 && c <= 0xEF) {
        if (n < 3 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80) return 0;
        if (c == 0xE0 && s[1] < 0xA0) return 0;          /* overlong */
        if (c == 0xED && s[1] >= 0xA0) return 0;         /* surrogates */
        return 3;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        if (n < 4 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80 || (s[3] & 0xC0) != 0x80) return 0;
        if (c == 0xF0 && s[1] < 0x90) return 0;          /* overlong */
        if (c == 0xF4 && s[1] >= 0x90) return 0;         /* > U+10FFFF */
        return 4;
    }
    return 0;
}

static void jput_string(struct jbuf *b, const uint8_t *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    jputc(b, '"');
    size_t i = 0;
    while (i < n && !b->err) {
        size_t run = i;
        /* copy a run of plain printable ASCII at once */
        while (run < n && s[run] >= 0x20 && s[run] < 0x80 && s[run] != '"' && s[run] != '\\') run++;
        if (run > i) { jput(b, (const char *)s + i, run - i); i = run; continue; }
        uint8_t c = s[i];
        if (c == '"' || c == '\\') { char e[2] = { '\\', (char)c }; jput(b, e, 2); i++; }
        else if (c == '\n') { jput(b, "\\n", 2); i++; }
        else if (c == '\r') { jput(b, "\\r", 2); i++; }
        else if (c == '\t') { jput(b, "\\t", 2); i++; }
        else if (c < 0x20) {
            char e[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] };
            jput(b, e, 6);
            i++;
        } else {
            size_t k = utf8_seq(s + i, n - i);
            if (k) { jput(b, (const char *)s + i, k); i += k; }
            else { jput(b, "\\ufffd", 6); i++; }
        }
    }
    jputc(b, '"');
}

/* ------------------------------------------------------------------ input */

struct rd {
    const uint8_t *p;
    size_t len, pos;
};

static int need(struct rd *r, size_t n) { return r->len - r->pos >= n; }
static uint16_t rd16(struct rd *r) { uint16_t v = (uint16_t)(r->p[r->pos] << 8 | r->p[r->pos + 1]); r->pos += 2; return v; }
static uint32_t rd32(struct rd *r)
{
    const uint8_t *q = r->p + r->pos;
    r->pos += 4;
    return (uint32_t)q[0] << 24 | (uint32_t)q[1] << 16 | (uint32_t)q[2] << 8 | q[3];
}
static double rd_double(struct rd *r)
{
    uint64_t u = 0;
    for (int i = 0; i < 8; i++) u = u << 8 | r->p[r->pos + i];
    r->pos += 8;
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

static int value(struct rd *r, struct jbuf *b, int depth);

/* Properties up to the object end marker (00 00 09). lenient_eof: an ECMA
 * array may also stop at the end of the input (encoders that omit the end). */
static int properties(struct rd *r, struct jbuf *b, int depth, int lenient_eof)
{
    int first = 1;
    jputc(b, '{');
    for (;;) {
        if (lenient_eof && r->pos == r->len) break;
        if (!need(r, 2)) return OMN_AMF0_E_MALFORMED;
        uint16_t klen = rd16(r);
        if (klen == 0) {
            if (!need(r, 1)) {
                if (lenient_eof) break;
                return OMN_AMF0_E_MALFORMED;
            }
            if (r->p[r->pos] == 0x09) { r->pos++; break; }
        }
        if (!need(r, klen)) return OMN_AMF0_E_MALFORMED;
        if (!first) jputc(b, ',');
        first = 0;
        jput_string(b, r->p + r->pos, klen);
        r->pos += klen;
        jputc(b, ':');
        int rc = value(r, b, depth);
        if (rc) return rc;
    }
    jputc(b, '}');
    return 0;
}

static int value(struct rd *r, struct jbuf *b, int depth)
{
    if (depth > AMF0_MAX_DEPTH) return OMN_AMF0_E_DEPTH;
    if (!need(r, 1)) return OMN_AMF0_E_MALFORMED;
    uint8_t marker = r->p[r->pos++];
    switch (marker) {
    case 0x00:                                       /* number */
        if (!need(r, 8)) return OMN_AMF0_E_MALFORMED;
        jput_number(b, rd_double(r));
        return 0;
    case 0x01:                                       /* boolean */
        if (!need(r, 1)) return OMN_AMF0_E_MALFORMED;
        if (r->p[r->pos++]) jput(b, "true", 4); else jput(b, "false", 5);
        return 0;
    case 0x02: {                                     /* string */
        if (!need(r, 2)) return OMN_AMF0_E_MALFORMED;
        uint16_t n = rd16(r);
        if (!need(r, n)) return OMN_AMF0_E_MALFORMED;
        jput_string(b, r->p + r->pos, n);
        r->pos += n;
        return 0;
    }
    case 0x0C:                                       /* long string */
    case 0x0F: {                                     /* XML document */
        if (!need(r, 4)) return OMN_AMF0_E_MALFORMED;
        uint32_t n = rd32(r);
        if (!need(r, n)) return OMN_AMF0_E_MALFORMED;
        jput_string(b, r->p + r->pos, n);
        r->pos += n;
        return 0;
    }
    case 0x03:                                       /* object */
        return properties(r, b, depth + 1, 0);
    case 0x10: {                                     /* typed object */
        if (!need(r, 2)) return OMN_AMF0_E_MALFORMED;
        uint16_t n = rd16(r);
        if (!need(r, n)) return OMN_AMF0_E_MALFORMED;
        r->pos += n;
        return properties(r, b, depth + 1, 0);
    }
    case 0x08:                                       /* ECMA array: count is advisory */
        if (!need(r, 4)) return OMN_AMF0_E_MALFORMED;
        r->pos += 4;
        return properties(r, b, depth + 1, 1);
    case 0x0A: {                                     /* strict array */
        if (!need(r, 4)) return OMN_AMF0_E_MALFORMED;
        uint32_t n = rd32(r);
        if (n > r->len - r->pos) return OMN_AMF0_E_MALFORMED;   /* >= 1 byte each */
        jputc(b, '[');
        for (uint32_t i = 0; i < n; i++) {
            if (i) jputc(b, ',');
            int rc = value(r, b, depth + 1);
            if (rc) return rc;
        }
        jputc(b, ']');
        return 0;
    }
    case 0x05:                                       /* null */
    case 0x06:                                       /* undefined */
    case 0x0D:                                       /* unsupported */
        jput(b, "null", 4);
        return 0;
    case 0x0B:                                       /* date: double ms + s16 tz */
        if (!need(r, 10)) return OMN_AMF0_E_MALFORMED;
        jput_number(b, rd_double(r));
        r->pos += 2;
        return 0;
    case 0x09:                                       /* object end outside an object */
        return OMN_AMF0_E_MALFORMED;
    default:                                         /* 04 movieclip, 07 reference, 0E, 11 AMF3, ... */
        return OMN_AMF0_E_UNSUPPORTED;
    }
}

int omn_amf0_to_json(const uint8_t *data, size_t len, char **out, size_t *out_len)
{
    struct rd r = { data, len, 0 };
    struct jbuf b = { 0 };
    int rc = 0, first = 1;

    if (!out || (len && !data)) return OMN_AMF0_E_MALFORMED;
    *out = NULL;
    if (out_len) *out_len = 0;
    jputc(&b, '[');
    while (r.pos < r.len && !rc) {
        if (!first) jputc(&b, ',');
        first = 0;
        rc = value(&r, &b, 1);
    }
    jputc(&b, ']');
    if (!rc && b.err) rc = b.err;
    if (rc) { free(b.p); return rc; }
    b.p[b.len] = '\0';
    *out = b.p;
    if (out_len) *out_len = b.len;
    return 0;
}

void omn_amf0_json_free(char *json)
{
    free(json);
}

/* ---------------------------------------------------------------- builder */

void omn_amf0_writer_init(omn_amf0_writer *w)
{
    memset(w, 0, sizeof *w);
}

void omn_amf0_writer_reset(omn_amf0_writer *w)
{
    w->len = 0;
    w->error = 0;
}

void omn_amf0_writer_free(omn_amf0_writer *w)
{
    free(w->data);
    memset(w, 0, sizeof *w);
}

static uint8_t *wr_reserve(omn_amf0_writer *w, size_t n)
{
    if (w->error) return NULL;
    if (n > AMF0_WRITER_MAX || w->len > AMF0_WRITER_MAX - n) { w->error = OMN_AMF0_E_TOO_LARGE; return NULL; }
    if (w->len + n > w->cap) {
        size_t cap = w->cap ? w->cap : 256;
        while (cap < w->len + n) cap *= 2;
        uint8_t *p = realloc(w->data, cap);
        if (!p) { w->error = OMN_AMF0_E_NOMEM; return NULL; }
        w->data = p;
        w->cap = cap;
    }
    uint8_t *p = w->data + w->len;
    w->len += n;
    return p;
}

static void w16(uint8_t *p, uint32_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static void w32(uint8_t *p, uint32_t v) { w16(p, v >> 16); w16(p + 2, v); }

int omn_amf0_put_number(omn_amf0_writer *w, double v)
{
    uint8_t *p = wr_reserve(w, 9);
    if (!p) return w->error;
    uint64_t u;
    memcpy(&u, &v, sizeof u);
    p[0] = 0x00;
    for (int i = 0; i < 8; i++) p[1 + i] = (uint8_t)(u >> (56 - 8 * i));
    return 0;
}

int omn_amf0_put_bool(omn_amf0_writer *w, int v)
{
    uint8_t *p = wr_reserve(w, 2);
    if (!p) return w->error;
    p[0] = 0x01;
    p[1] = v ? 1 : 0;
    return 0;
}

int omn_amf0_put_string(omn_amf0_writer *w, const char *s, size_t len)
{
    if (len && !s) { if (!w->error) w->error = OMN_AMF0_E_MALFORMED; return w->error; }
    if (len > 0xFFFFFFFFu) { if (!w->error) w->error = OMN_AMF0_E_TOO_LARGE; return w->error; }
    int lng = len > 0xFFFF;
    uint8_t *p = wr_reserve(w, (lng ? 5 : 3) + len);
    if (!p) return w->error;
    if (lng) { p[0] = 0x0C; w32(p + 1, (uint32_t)len); p += 5; }
    else { p[0] = 0x02; w16(p + 1, (uint32_t)len); p += 3; }
    if (len) memcpy(p, s, len);
    return 0;
}

int omn_amf0_put_null(omn_amf0_writer *w)
{
    uint8_t *p = wr_reserve(w, 1);
    if (!p) return w->error;
    p[0] = 0x05;
    return 0;
}

int omn_amf0_put_undefined(omn_amf0_writer *w)
{
    uint8_t *p = wr_reserve(w, 1);
    if (!p) return w->error;
    p[0] = 0x06;
    return 0;
}

int omn_amf0_put_object_begin(omn_amf0_writer *w)
{
    uint8_t *p = wr_reserve(w, 1);
    if (!p) return w->error;
    p[0] = 0x03;
    return 0;
}

int omn_amf0_put_ecma_array_begin(omn_amf0_writer *w, uint32_t count)
{
    uint8_t *p = wr_reserve(w, 5);
    if (!p) return w->error;
    p[0] = 0x08;
    w32(p + 1, count);
    return 0;
}

int omn_amf0_put_strict_array_begin(omn_amf0_writer *w, uint32_t count)
{
    uint8_t *p = wr_reserve(w, 5);
    if (!p) return w->error;
    p[0] = 0x0A;
    w32(p + 1, count);
    return 0;
}

int omn_amf0_put_key(omn_amf0_writer *w, const char *key, size_t len)
{
    if (len > 0xFFFF || (len && !key)) { if (!w->error) w->error = OMN_AMF0_E_MALFORMED; return w->error; }
    uint8_t *p = wr_reserve(w, 2 + len);
    if (!p) return w->error;
    w16(p, (uint32_t)len);
    if (len) memcpy(p + 2, key, len);
    return 0;
}

int omn_amf0_put_object_end(omn_amf0_writer *w)
{
    uint8_t *p = wr_reserve(w, 3);
    if (!p) return w->error;
    p[0] = 0; p[1] = 0; p[2] = 0x09;
    return 0;
}

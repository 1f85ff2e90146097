/* edge_http.c - parses one HTTP/1.1 request head for the edge and builds its answer key.
 *
 * The edge answers a request itself only when it is "storable": the loop's own parser
 * (ome/publishers/http1.py) would accept it and the answer depends on nothing but the key.
 * Anything this parser is unsure of is simply not storable and goes to the loop, whose
 * parser gives the exact answer (400, 413, 505, ...). So this parser never decides an
 * error, it only recognises the plain case. */
#include "ome_native.h"

#include <string.h>

static int lower_eq(const uint8_t *a, size_t len, const char *lit) {
    size_t n = strlen(lit);
    if (len != n) return 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = a[i];
        if (c >= 'A' && c <= 'Z') c = (uint8_t)(c + 32);
        if (c != (uint8_t)lit[i]) return 0;
    }
    return 1;
}

static int contains_ci(const uint8_t *s, size_t len, const char *lit) {
    size_t n = strlen(lit);
    for (size_t i = 0; i + n <= len; i++) {
        if (lower_eq(s + i, n, lit)) return 1;
    }
    return 0;
}

static int contains(const uint8_t *s, size_t len, const char *lit) {
    size_t n = strlen(lit);
    for (size_t i = 0; i + n <= len; i++)
        if (memcmp(s + i, lit, n) == 0) return 1;
    return 0;
}

static int is_ws(uint8_t c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

static void strip(const uint8_t **s, size_t *len) {
    while (*len && is_ws(**s)) { (*s)++; (*len)--; }
    while (*len && is_ws((*s)[*len - 1])) (*len)--;
}

/* A plain decimal of 1..18 digits (what the loop's _is_uint accepts). */
static int parse_uint(const uint8_t *s, size_t len, int64_t *out) {
    if (len == 0 || len > 18) return 0;
    int64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') return 0;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 1;
}

typedef struct {
    char *buf;
    size_t cap, len;
    int overflow;
} keyw;

static void put(keyw *w, const void *s, size_t n) {
    if (w->overflow || n > w->cap - w->len) { w->overflow = 1; return; }
    memcpy(w->buf + w->len, s, n);
    w->len += n;
}

static void put_int(keyw *w, int64_t v) {
    char tmp[24];
    size_t n = 0;
    do { tmp[n++] = (char)('0' + v % 10); v /= 10; } while (v);
    char out[24];
    for (size_t i = 0; i < n; i++) out[i] = tmp[n - 1 - i];
    put(w, out, n);
}

int omn_edge_parse_head(const uint8_t *buf, size_t len, size_t max_head, omn_edge_head *out,
                        char *keybuf, size_t cap) {
    memset(out, 0, sizeof *out);
    out->content_length = -1;
    size_t scan = len < max_head + 4 ? len : max_head + 4;
    size_t end = 0;
    int found = 0;
    for (size_t i = 0; i + 4 <= scan; i++) {
        if (buf[i] == '\r' && buf[i + 1] == '\n' && buf[i + 2] == '\r' && buf[i + 3] == '\n') {
            end = i;
            found = 1;
            break;
        }
    }
    if (!found) return len > max_head ? -1 : 0;
    if (end > max_head) return -1;
    out->complete = 1;
    out->head_len = end + 4;

    /* request line: METHOD SP TARGET SP VERSION, exactly three fields */
    const uint8_t *line_end = buf + end;
    for (const uint8_t *p = buf; p + 1 < buf + end; p++)
        if (p[0] == '\r' && p[1] == '\n') { line_end = p; break; }
    const uint8_t *sp1 = memchr(buf, ' ', (size_t)(line_end - buf));
    const uint8_t *sp2 = sp1 ? memchr(sp1 + 1, ' ', (size_t)(line_end - sp1 - 1)) : NULL;
    if (!sp1 || !sp2 || memchr(sp2 + 1, ' ', (size_t)(line_end - sp2 - 1))) { out->bad = 1; return 0; }
    const uint8_t *method = buf, *target = sp1 + 1, *version = sp2 + 1;
    size_t method_len = (size_t)(sp1 - buf), target_len = (size_t)(sp2 - target);
    size_t version_len = (size_t)(line_end - version);
    int http11 = version_len == 8 && memcmp(version, "HTTP/1.1", 8) == 0;
    int http10 = version_len == 8 && memcmp(version, "HTTP/1.0", 8) == 0;
    if (!http11 && !http10) { out->bad = 1; return 0; }
    out->keep_alive = http11;
    for (size_t i = 0; i < method_len; i++) if (buf[i] >= 0x80) { out->bad = 1; return 0; }
    for (size_t i = 0; i < target_len; i++) if (target[i] >= 0x80) { out->bad = 1; return 0; }
    if (target_len == 0 || target[0] != '/') { out->bad = 1; return 0; }

    /* headers */
    const uint8_t *host = (const uint8_t *)"", *origin = (const uint8_t *)"", *accept = NULL;
    size_t host_len = 0, origin_len = 0, accept_len = 0;
    int has_te = 0, cl_bad = 0;
    const uint8_t *p = line_end + 2;
    if (line_end == buf + end) p = buf + end;   /* no header lines */
    while (p < buf + end) {
        const uint8_t *e = buf + end;
        for (const uint8_t *q = p; q + 1 < buf + end; q++)
            if (q[0] == '\r' && q[1] == '\n') { e = q; break; }
        const uint8_t *colon = memchr(p, ':', (size_t)(e - p));
        if (!colon || colon == p || is_ws(p[0]) || is_ws(colon[-1])) { out->bad = 1; return 0; }
        size_t name_len = (size_t)(colon - p);
        const uint8_t *v = colon + 1;
        size_t vlen = (size_t)(e - v);
        strip(&v, &vlen);
        if (lower_eq(p, name_len, "host")) { host = v; host_len = vlen; }
        else if (lower_eq(p, name_len, "origin")) { origin = v; origin_len = vlen; }
        else if (lower_eq(p, name_len, "accept-encoding")) { accept = v; accept_len = vlen; }
        else if (lower_eq(p, name_len, "transfer-encoding")) has_te = 1;
        else if (lower_eq(p, name_len, "connection")) {
            if (contains_ci(v, vlen, "close")) out->keep_alive = 0;
            else if (contains_ci(v, vlen, "keep-alive")) out->keep_alive = 1;
        } else if (lower_eq(p, name_len, "content-length")) {
            int64_t cl;
            if (vlen <= 12 && parse_uint(v, vlen, &cl)) { out->content_length = cl; cl_bad = 0; }
            else { out->content_length = -1; cl_bad = 1; }
        }
        p = e + 2;
    }
    if (has_te || cl_bad) { out->bad = 1; return 0; }

    /* storable: GET over HTTP/1.1, no body, a plain path, only LL-HLS directives */
    if (!http11 || method_len != 3 || memcmp(method, "GET", 3) != 0 || out->content_length > 0) return 0;
    if (memchr(target, '%', target_len)) return 0;
    for (size_t i = 0; i < host_len; i++) if (host[i] == '\n' || host[i] == '\r') return 0;
    for (size_t i = 0; i < origin_len; i++) if (origin[i] == '\n' || origin[i] == '\r') return 0;
    const uint8_t *q = memchr(target, '?', target_len);
    size_t path_len = q ? (size_t)(q - target) : target_len;
    const uint8_t *skip = NULL;
    size_t skip_len = 0;
    int has_skip = 0;
    if (q) {
        const uint8_t *s = q + 1, *qend = target + target_len;
        while (s <= qend) {
            const uint8_t *amp = memchr(s, '&', (size_t)(qend - s));
            const uint8_t *ie = amp ? amp : qend;
            if (ie > s) {
                const uint8_t *eq = memchr(s, '=', (size_t)(ie - s));
                const uint8_t *k = s, *v = eq ? eq + 1 : ie;
                size_t klen = (size_t)((eq ? eq : ie) - s), vl = (size_t)(ie - v);
                if (memchr(k, '+', klen) || memchr(v, '+', vl)) return 0;
                if (klen == 8 && memcmp(k, "_HLS_msn", 8) == 0) {
                    if (out->has_msn || !parse_uint(v, vl, &out->msn)) return 0;
                    out->has_msn = 1;
                } else if (klen == 9 && memcmp(k, "_HLS_part", 9) == 0) {
                    if (out->has_part || !parse_uint(v, vl, &out->part)) return 0;
                    out->has_part = 1;
                } else if (klen == 9 && memcmp(k, "_HLS_skip", 9) == 0) {
                    if (has_skip || !((vl == 3 && memcmp(v, "YES", 3) == 0) || (vl == 2 && memcmp(v, "v2", 2) == 0)))
                        return 0;
                    has_skip = 1;
                    skip = v;
                    skip_len = vl;
                } else {
                    return 0;
                }
            }
            if (!amp) break;
            s = amp + 1;
        }
    }
    int playlist = path_len >= 5 && memcmp(target + path_len - 5, ".m3u8", 5) == 0;
    int gz = playlist && accept && contains(accept, accept_len, "gzip");

    keyw w = {keybuf, cap, 0, 0};
    put(&w, host, host_len);
    put(&w, "\n", 1);
    put(&w, origin, origin_len);
    put(&w, "\n", 1);
    put(&w, gz ? "g" : "-", 1);
    put(&w, target, path_len);
    const char *sep = "?";
    if (out->has_msn) { put(&w, sep, 1); put(&w, "_HLS_msn=", 9); put_int(&w, out->msn); sep = "&"; }
    if (out->has_part) { put(&w, sep, 1); put(&w, "_HLS_part=", 10); put_int(&w, out->part); sep = "&"; }
    if (has_skip) { put(&w, sep, 1); put(&w, "_HLS_skip=", 10); put(&w, skip, skip_len); }
    size_t key_len = w.len;
    put(&w, host, host_len);
    put(&w, "\n", 1);
    put(&w, target, path_len);
    if (w.overflow) return 0;
    out->key_len = key_len;
    out->state_key_len = w.len - key_len;
    out->storable = 1;
    return 0;
}

/* Unit tests for rtmp_handshake.c and rtmp_chunk.c: hand-built chunk
 * streams for every header form, plus writer -> reader round trips. */
#include "ome_native.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures;
#define CHECK(cond) do { if (!(cond)) { failures++; fprintf(stderr, "%s:%d: CHECK(%s)\n", __FILE__, __LINE__, #cond); } } while (0)

/* ---------------------------------------------------------- byte builder */

typedef struct { uint8_t *d; size_t n, cap; } bb;

static void put(bb *b, const void *p, size_t n)
{
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2 + 256;
        b->d = realloc(b->d, b->cap);
    }
    memcpy(b->d + b->n, p, n);
    b->n += n;
}
static void put8(bb *b, uint32_t v) { uint8_t x = (uint8_t)v; put(b, &x, 1); }
static void put24(bb *b, uint32_t v) { put8(b, v >> 16); put8(b, v >> 8); put8(b, v); }
static void put32(bb *b, uint32_t v) { put8(b, v >> 24); put24(b, v); }
static void putle32(bb *b, uint32_t v) { put8(b, v); put8(b, v >> 8); put8(b, v >> 16); put8(b, v >> 24); }

static void basic(bb *b, int fmt, uint32_t csid)
{
    if (csid < 64) put8(b, (uint32_t)fmt << 6 | csid);
    else if (csid < 320) { put8(b, (uint32_t)fmt << 6); put8(b, csid - 64); }
    else { put8(b, (uint32_t)fmt << 6 | 1); put8(b, (csid - 64) & 0xff); put8(b, (csid - 64) >> 8); }
}
/* Headers; an extended field is written when the value is >= 0xFFFFFF. */
static void hdr0(bb *b, uint32_t csid, uint32_t ts, uint32_t len, uint32_t type, uint32_t msid)
{
    basic(b, 0, csid);
    put24(b, ts >= 0xFFFFFF ? 0xFFFFFF : ts); put24(b, len); put8(b, type); putle32(b, msid);
    if (ts >= 0xFFFFFF) put32(b, ts);
}
static void hdr1(bb *b, uint32_t csid, uint32_t delta, uint32_t len, uint32_t type)
{
    basic(b, 1, csid);
    put24(b, delta >= 0xFFFFFF ? 0xFFFFFF : delta); put24(b, len); put8(b, type);
    if (delta >= 0xFFFFFF) put32(b, delta);
}
static void hdr2(bb *b, uint32_t csid, uint32_t delta)
{
    basic(b, 2, csid);
    put24(b, delta >= 0xFFFFFF ? 0xFFFFFF : delta);
    if (delta >= 0xFFFFFF) put32(b, delta);
}
static void fill(bb *b, size_t n, uint8_t seed)
{
    for (size_t i = 0; i < n; i++) put8(b, (uint8_t)(seed + i * 7));
}
static int check_fill(const uint8_t *p, size_t n, uint8_t seed)
{
    for (size_t i = 0; i < n; i++) if (p[i] != (uint8_t)(seed + i * 7)) return 0;
    return 1;
}

/* ---------------------------------------------------------- collection */

typedef struct {
    uint32_t csid, type, sid, ts, cv, cx;
    int64_t ts64;
    size_t len;
    uint8_t *payload;
} rmsg;

typedef struct { rmsg m[512]; int n; int rc; } rlist;

static void rlist_free(rlist *l)
{
    for (int i = 0; i < l->n; i++) free(l->m[i].payload);
    l->n = 0;
}

/* Reads data in slices: step 0 = whole buffer, >0 = fixed size, <0 = pseudo
 * random sizes 1..-step. */
static void read_all(omn_rtmp_conn *c, const uint8_t *data, size_t len, long step, rlist *out)
{
    size_t off = 0;
    uint32_t rnd = 12345;
    omn_rtmp_msg msg;
    out->n = 0;
    out->rc = 0;
    while (off < len) {
        size_t n = len - off;
        if (step > 0 && (size_t)step < n) n = (size_t)step;
        if (step < 0) {
            rnd = rnd * 1103515245u + 12345u;
            size_t r = 1 + (rnd >> 8) % (size_t)(-step);
            if (r < n) n = r;
        }
        size_t sl_off = 0;
        while (sl_off < n) {
            size_t used = 0;
            int rc = omn_rtmp_conn_read(c, data + off + sl_off, n - sl_off, &used, &msg);
            sl_off += used;
            if (rc < 0) { out->rc = rc; return; }
            if (rc == OMN_RTMP_MESSAGE) {
                rmsg *m = &out->m[out->n++];
                m->csid = msg.csid; m->type = msg.type_id; m->sid = msg.stream_id;
                m->ts = msg.timestamp; m->ts64 = msg.timestamp64; m->len = msg.length;
                m->cv = msg.control_value; m->cx = msg.control_extra;
                m->payload = malloc(msg.length + 1);
                memcpy(m->payload, msg.payload, msg.length);
                if (out->n == 512) return;
            } else {
                CHECK(sl_off == n);                  /* NEED_MORE consumed everything */
                break;
            }
        }
        off += n;
    }
}

static int rlist_equal(const rlist *a, const rlist *b)
{
    if (a->n != b->n || a->rc != b->rc) return 0;
    for (int i = 0; i < a->n; i++) {
        const rmsg *x = &a->m[i], *y = &b->m[i];
        if (x->csid != y->csid || x->type != y->type || x->sid != y->sid || x->ts != y->ts ||
            x->ts64 != y->ts64 || x->len != y->len || x->cv != y->cv || x->cx != y->cx ||
            memcmp(x->payload, y->payload, x->len) != 0)
            return 0;
    }
    return 1;
}

/* Parses data with a fresh connection in every slicing and checks they all
 * agree; the whole-buffer result is left in *out. */
static void read_every_way(const uint8_t *data, size_t len, uint32_t max_msg, rlist *out)
{
    static rlist other;
    omn_rtmp_conn *c = omn_rtmp_conn_new(max_msg);
    read_all(c, data, len, 0, out);
    omn_rtmp_conn_free(c);
    const long steps[] = { 1, 2, 3, 7, 128, 129, -5, -300 };
    for (size_t i = 0; i < sizeof steps / sizeof *steps; i++) {
        c = omn_rtmp_conn_new(max_msg);
        read_all(c, data, len, steps[i], &other);
        int same = rlist_equal(out, &other);
        if (!same) fprintf(stderr, "slicing %ld differs (%d vs %d msgs, rc %d vs %d)\n", steps[i], out->n, other.n, out->rc, other.rc);
        CHECK(same);
        rlist_free(&other);
        omn_rtmp_conn_free(c);
    }
}

/* ---------------------------------------------------------- handshake */

static void test_handshake(void)
{
    uint8_t c0c1[1537], c2[1536 + 10];
    c0c1[0] = 3;
    for (int i = 1; i < 1537; i++) c0c1[i] = (uint8_t)(i * 31);
    memset(c2, 0xAB, sizeof c2);

    for (int bytewise = 0; bytewise < 2; bytewise++) {
        omn_rtmp_handshake *hs = omn_rtmp_handshake_new(0x01020304, 42);
        const uint8_t *out;
        size_t used = 0, total = 0;
        int st = OMN_RTMP_HS_WAIT_C0C1;
        if (!bytewise) {
            st = omn_rtmp_handshake_feed(hs, c0c1, sizeof c0c1, &used);
            total = used;
        } else {
            for (size_t i = 0; i < sizeof c0c1; i++) {
                CHECK(omn_rtmp_handshake_take_output(hs, &out) == 0);
                st = omn_rtmp_handshake_feed(hs, c0c1 + i, 1, &used);
                total += used;
            }
        }
        CHECK(st == OMN_RTMP_HS_WAIT_C2 && total == sizeof c0c1);
        size_t n = omn_rtmp_handshake_take_output(hs, &out);
        CHECK(n == 3073);
        CHECK(out[0] == 3);
        CHECK(out[1] == 1 && out[2] == 2 && out[3] == 3 && out[4] == 4);     /* S1 time */
        CHECK(out[5] == 0 && out[6] == 0 && out[7] == 0 && out[8] == 0);     /* S1 zero */
        CHECK(memcmp(out + 1537, c0c1 + 1, 4) == 0);                         /* S2 = C1 time */
        CHECK(out[1541] == 1 && out[1544] == 4);                              /* S2 time2 */
        CHECK(memcmp(out + 1537 + 8, c0c1 + 9, 1528) == 0);                   /* echo */
        CHECK(omn_rtmp_handshake_take_output(hs, &out) == 0);
        /* C2 plus the start of the chunk stream: only C2 is consumed. */
        st = omn_rtmp_handshake_feed(hs, c2, 1000, &used);
        CHECK(st == OMN_RTMP_HS_WAIT_C2 && used == 1000);
        st = omn_rtmp_handshake_feed(hs, c2 + 1000, sizeof c2 - 1000, &used);
        CHECK(st == OMN_RTMP_HS_DONE && used == 536);
        st = omn_rtmp_handshake_feed(hs, c2, 5, &used);
        CHECK(st == OMN_RTMP_HS_DONE && used == 0);
        omn_rtmp_handshake_free(hs);
    }
    /* Different seeds give different S1 random bytes. */
    omn_rtmp_handshake *a = omn_rtmp_handshake_new(0, 1), *b = omn_rtmp_handshake_new(0, 2);
    const uint8_t *oa, *ob;
    omn_rtmp_handshake_feed(a, c0c1, sizeof c0c1, NULL);
    omn_rtmp_handshake_feed(b, c0c1, sizeof c0c1, NULL);
    omn_rtmp_handshake_take_output(a, &oa);
    omn_rtmp_handshake_take_output(b, &ob);
    CHECK(memcmp(oa + 9, ob + 9, 1528) != 0);
    omn_rtmp_handshake_free(a);
    omn_rtmp_handshake_free(b);

    /* Wrong version (RTMPE 6) fails and stays failed. */
    omn_rtmp_handshake *hs = omn_rtmp_handshake_new(0, 0);
    uint8_t bad = 6;
    size_t used = 99;
    CHECK(omn_rtmp_handshake_feed(hs, &bad, 1, &used) == OMN_RTMP_HS_FAILED && used == 0);
    CHECK(omn_rtmp_handshake_feed(hs, c0c1, sizeof c0c1, &used) == OMN_RTMP_HS_FAILED);
    const uint8_t *o;
    CHECK(omn_rtmp_handshake_take_output(hs, &o) == 0);
    omn_rtmp_handshake_free(hs);
}

/* ---------------------------------------------------------- reader */

static void test_header_types(void)
{
    bb b = { 0 };
    rlist l;
    /* fmt 0: csid 3, ts 1000, 5 bytes, command, stream 1 */
    hdr0(&b, 3, 1000, 5, 20, 1); fill(&b, 5, 1);
    /* fmt 1: +20 ms, 7 bytes, type 18 (stream id inherited) */
    hdr1(&b, 3, 20, 7, 18); fill(&b, 7, 2);
    /* fmt 2: +30 ms, same length and type */
    hdr2(&b, 3, 30); fill(&b, 7, 3);
    /* fmt 3 starting a new message: +30 ms again */
    basic(&b, 3, 3); fill(&b, 7, 4);
    /* fmt 0 at 5000 then fmt 3 new message: repeats 5000 */
    hdr0(&b, 3, 5000, 2, 8, 1); fill(&b, 2, 5);
    basic(&b, 3, 3); fill(&b, 2, 6);
    /* message of 300 bytes at chunk size 128: fmt 0 + two fmt 3 chunks */
    hdr0(&b, 4, 7, 300, 9, 1); fill(&b, 128, 7);
    basic(&b, 3, 4); put(&b, "", 0);
    { bb tmp = { 0 }; fill(&tmp, 300, 7); put(&b, tmp.d + 128, 128); basic(&b, 3, 4); put(&b, tmp.d + 256, 44); free(tmp.d); }
    /* zero-length message */
    hdr0(&b, 5, 9, 0, 8, 1);
    /* 2-byte and 3-byte basic headers */
    hdr0(&b, 64, 1, 1, 8, 1); fill(&b, 1, 8);
    hdr0(&b, 319, 2, 1, 8, 1); fill(&b, 1, 9);
    hdr0(&b, 320, 3, 1, 8, 1); fill(&b, 1, 10);
    hdr0(&b, 65599, 4, 200, 8, 1);
    { bb tmp = { 0 }; fill(&tmp, 200, 11); put(&b, tmp.d, 128); basic(&b, 3, 65599); put(&b, tmp.d + 128, 72); free(tmp.d); }
    /* 3-byte form for a small id (allowed, same chunk stream as 1-byte 10) */
    put8(&b, 0x01); put8(&b, 0); put8(&b, 0);            /* fmt 0, csid 64 in 3-byte form */
    put24(&b, 77); put24(&b, 1); put8(&b, 8); putle32(&b, 1); fill(&b, 1, 12);

    read_every_way(b.d, b.n, 0, &l);
    CHECK(l.rc == 0 && l.n == 13);
    if (l.n == 13) {
        CHECK(l.m[0].csid == 3 && l.m[0].type == 20 && l.m[0].sid == 1 && l.m[0].ts == 1000 && l.m[0].len == 5 && check_fill(l.m[0].payload, 5, 1));
        CHECK(l.m[1].type == 18 && l.m[1].sid == 1 && l.m[1].ts == 1020 && l.m[1].len == 7 && check_fill(l.m[1].payload, 7, 2));
        CHECK(l.m[2].type == 18 && l.m[2].ts == 1050 && l.m[2].len == 7 && check_fill(l.m[2].payload, 7, 3));
        CHECK(l.m[3].type == 18 && l.m[3].ts == 1080 && l.m[3].len == 7 && check_fill(l.m[3].payload, 7, 4));
        CHECK(l.m[4].ts == 5000 && l.m[4].type == 8 && check_fill(l.m[4].payload, 2, 5));
        CHECK(l.m[5].ts == 5000 && l.m[5].type == 8 && check_fill(l.m[5].payload, 2, 6));
        CHECK(l.m[6].csid == 4 && l.m[6].len == 300 && l.m[6].type == 9 && l.m[6].ts == 7 && check_fill(l.m[6].payload, 300, 7));
        CHECK(l.m[7].csid == 5 && l.m[7].len == 0 && l.m[7].ts == 9);
        CHECK(l.m[8].csid == 64 && l.m[8].ts == 1 && check_fill(l.m[8].payload, 1, 8));
        CHECK(l.m[9].csid == 319 && l.m[9].ts == 2);
        CHECK(l.m[10].csid == 320 && l.m[10].ts == 3);
        CHECK(l.m[11].csid == 65599 && l.m[11].len == 200 && check_fill(l.m[11].payload, 200, 11));
        CHECK(l.m[12].csid == 64 && l.m[12].ts == 77);
        CHECK(l.m[3].ts64 == 1080 && l.m[11].ts64 == 4);
    }
    rlist_free(&l);
    free(b.d);
}

static void test_extended_timestamps(void)
{
    bb b = { 0 };
    rlist l;
    bb body = { 0 };
    fill(&body, 300, 20);
    /* fmt 0 with extended timestamp; continuation chunks repeat it (spec) */
    hdr0(&b, 6, 0x01000000, 300, 9, 1);
    put(&b, body.d, 128); basic(&b, 3, 6); put32(&b, 0x01000000);
    put(&b, body.d + 128, 128); basic(&b, 3, 6); put32(&b, 0x01000000); put(&b, body.d + 256, 44);
    /* same, but an encoder that omits it on continuation chunks */
    hdr0(&b, 7, 0x02000000, 300, 9, 1);
    put(&b, body.d, 128); basic(&b, 3, 7);
    put(&b, body.d + 128, 128); basic(&b, 3, 7); put(&b, body.d + 256, 44);
    /* fmt 1 with an extended delta, then fmt 3 new message: repeats the
     * extended delta (and carries the field) */
    hdr1(&b, 6, 0x01000000, 4, 9); fill(&b, 4, 21);
    basic(&b, 3, 6); put32(&b, 0x01000000); fill(&b, 4, 22);
    /* fmt 2 with a small delta: no extended field any more on fmt 3 */
    hdr2(&b, 6, 10); fill(&b, 4, 23);
    basic(&b, 3, 6); fill(&b, 4, 24);
    /* exactly 0xFFFFFF needs the extended form */
    hdr0(&b, 8, 0xFFFFFF, 1, 8, 1); fill(&b, 1, 25);

    read_every_way(b.d, b.n, 0, &l);
    CHECK(l.rc == 0 && l.n == 7);
    if (l.n == 7) {
        CHECK(l.m[0].ts == 0x01000000 && l.m[0].len == 300 && check_fill(l.m[0].payload, 300, 20));
        CHECK(l.m[1].ts == 0x02000000 && l.m[1].len == 300 && check_fill(l.m[1].payload, 300, 20));
        CHECK(l.m[2].ts == 0x02000000 && check_fill(l.m[2].payload, 4, 21));
        CHECK(l.m[3].ts == 0x03000000 && check_fill(l.m[3].payload, 4, 22));
        CHECK(l.m[4].ts == 0x0300000A && check_fill(l.m[4].payload, 4, 23));
        CHECK(l.m[5].ts == 0x03000014 && check_fill(l.m[5].payload, 4, 24));
        CHECK(l.m[6].ts == 0xFFFFFF && l.m[6].csid == 8);
    }
    rlist_free(&l);

    /* Continuation chunk with fewer than 4 payload bytes: the field is
     * always taken as the timestamp (spec). */
    b.n = 0;
    hdr0(&b, 6, 0x01000000, 130, 9, 1);
    put(&b, body.d, 128); basic(&b, 3, 6); put32(&b, 0x05050505); put(&b, body.d + 128, 2);
    read_every_way(b.d, b.n, 0, &l);
    CHECK(l.rc == 0 && l.n == 1 && l.m[0].len == 130 && check_fill(l.m[0].payload, 130, 20));
    rlist_free(&l);
    free(b.d);
    free(body.d);
}

static void test_wrap(void)
{
    bb b = { 0 };
    rlist l;
    hdr0(&b, 4, 0xFFFFFFF0u, 1, 9, 1); fill(&b, 1, 1);
    hdr1(&b, 4, 0x20, 1, 9); fill(&b, 1, 2);            /* wraps to 0x10 */
    hdr2(&b, 4, 0x10); fill(&b, 1, 3);
    hdr0(&b, 4, 0x40, 1, 9, 1); fill(&b, 1, 4);         /* absolute after the wrap */
    hdr0(&b, 4, 0x30, 1, 9, 1); fill(&b, 1, 5);         /* small step back */
    read_every_way(b.d, b.n, 0, &l);
    CHECK(l.rc == 0 && l.n == 5);
    if (l.n == 5) {
        CHECK(l.m[0].ts == 0xFFFFFFF0u && l.m[0].ts64 == 0xFFFFFFF0ll);
        CHECK(l.m[1].ts == 0x10 && l.m[1].ts64 == 0x100000010ll);
        CHECK(l.m[2].ts == 0x20 && l.m[2].ts64 == 0x100000020ll);
        CHECK(l.m[3].ts == 0x40 && l.m[3].ts64 == 0x100000040ll);
        CHECK(l.m[4].ts == 0x30 && l.m[4].ts64 == 0x100000030ll);
    }
    rlist_free(&l);

    /* Many wraps through the writer: 10 steps of 0x7F000000 ms. */
    omn_rtmp_conn *w = omn_rtmp_conn_new(0), *r = omn_rtmp_conn_new(0);
    uint64_t t = 0;
    for (int i = 0; i < 10; i++, t += 0x7F000000ull)
        CHECK(omn_rtmp_conn_write(w, 6, 9, 1, (uint32_t)t, (const uint8_t *)"x", 1) == 0);
    const uint8_t *o;
    size_t n = omn_rtmp_conn_take_output(w, &o);
    read_all(r, o, n, 0, &l);
    CHECK(l.rc == 0 && l.n == 10);
    for (int i = 0; i < l.n; i++) CHECK(l.m[i].ts64 == (int64_t)(i * 0x7F000000ll));
    rlist_free(&l);
    omn_rtmp_conn_free(w);
    omn_rtmp_conn_free(r);
    free(b.d);
}

static void test_chunk_size_changes(void)
{
    bb b = { 0 }, body = { 0 };
    rlist l;
    fill(&body, 5000, 30);
    /* Set Chunk Size 4096 (csid 2, msid 0) then a 5000-byte message */
    hdr0(&b, 2, 0, 4, 1, 0); put32(&b, 4096);
    hdr0(&b, 6, 40, 5000, 9, 1); put(&b, body.d, 4096); basic(&b, 3, 6); put(&b, body.d + 4096, 904);
    /* down to 1 byte per chunk for a 3-byte message */
    hdr0(&b, 2, 0, 4, 1, 0); put32(&b, 1);
    hdr0(&b, 6, 50, 3, 9, 1); put8(&b, 0xA); basic(&b, 3, 6); put8(&b, 0xB); basic(&b, 3, 6); put8(&b, 0xC);
    /* maximum 0x7FFFFFFF (this message itself still in 1-byte chunks):
     * then everything fits one chunk */
    hdr0(&b, 2, 0, 4, 1, 0); put8(&b, 0x7F);
    for (int i = 0; i < 3; i++) { basic(&b, 3, 2); put8(&b, 0xFF); }
    hdr0(&b, 6, 60, 5000, 9, 1); put(&b, body.d, 5000);
    read_every_way(b.d, b.n, 0, &l);
    CHECK(l.rc == 0 && l.n == 6);
    if (l.n == 6) {
        CHECK(l.m[0].type == 1 && l.m[0].cv == 4096);
        CHECK(l.m[1].len == 5000 && check_fill(l.m[1].payload, 5000, 30));
        CHECK(l.m[2].cv == 1);
        CHECK(l.m[3].len == 3 && memcmp(l.m[3].payload, "\x0a\x0b\x0c", 3) == 0);
        CHECK(l.m[4].cv == 0x7FFFFFFF);
        CHECK(l.m[5].len == 5000 && check_fill(l.m[5].payload, 5000, 30));
    }
    rlist_free(&l);

    /* invalid sizes mark the connection bad */
    const uint32_t bad[] = { 0, 0x80000000u, 0xFFFFFFFFu };
    for (int i = 0; i < 3; i++) {
        b.n = 0;
        hdr0(&b, 2, 0, 4, 1, 0); put32(&b, bad[i]);
        hdr0(&b, 3, 0, 1, 20, 0); put8(&b, 5);
        read_every_way(b.d, b.n, 0, &l);
        CHECK(l.rc == OMN_RTMP_E_BAD_CHUNK_SIZE && l.n == 0);
        rlist_free(&l);
    }
    /* short Set Chunk Size */
    b.n = 0;
    hdr0(&b, 2, 0, 3, 1, 0); put24(&b, 4096);
    read_every_way(b.d, b.n, 0, &l);
    CHECK(l.rc == OMN_RTMP_E_BAD_CONTROL);
    rlist_free(&l);
    free(b.d);
    free(body.d);
}

static void test_interleave_and_abort(void)
{
    bb b = { 0 }, va = { 0 }, vb = { 0 };
    rlist l;
    fill(&va, 300, 40);
    fill(&vb, 200, 50);
    /* A (csid 4, 300 bytes) and B (csid 6, 200 bytes) interleaved chunk by chunk */
    hdr0(&b, 4, 100, 300, 9, 1); put(&b, va.d, 128);
    hdr0(&b, 6, 90, 200, 8, 1); put(&b, vb.d, 128);
    basic(&b, 3, 4); put(&b, va.d + 128, 128);
    basic(&b, 3, 6); put(&b, vb.d + 128, 72);               /* B completes first */
    basic(&b, 3, 4); put(&b, va.d + 256, 44);
    /* C on csid 4 partially, aborted, then D on csid 4 */
    hdr0(&b, 4, 200, 300, 9, 1); put(&b, va.d, 128);
    hdr0(&b, 2, 0, 4, 2, 0); put32(&b, 4);                  /* Abort(4) */
    hdr1(&b, 4, 33, 5, 9); fill(&b, 5, 60);                 /* D: fmt 1 after the abort */
    /* a new header in the middle of a message drops the partial one */
    hdr0(&b, 6, 500, 300, 8, 1); put(&b, va.d, 128);
    hdr0(&b, 6, 510, 2, 8, 1); fill(&b, 2, 61);
    read_every_way(b.d, b.n, 0, &l);
    CHECK(l.rc == 0 && l.n == 5);
    if (l.n == 5) {
        CHECK(l.m[0].csid == 6 && l.m[0].len == 200 && l.m[0].ts == 90 && check_fill(l.m[0].payload, 200, 50));
        CHECK(l.m[1].csid == 4 && l.m[1].len == 300 && l.m[1].ts == 100 && check_fill(l.m[1].payload, 300, 40));
        CHECK(l.m[2].type == 2 && l.m[2].cv == 4);
        CHECK(l.m[3].csid == 4 && l.m[3].len == 5 && l.m[3].ts == 233 && check_fill(l.m[3].payload, 5, 60));
        CHECK(l.m[4].csid == 6 && l.m[4].ts == 510 && check_fill(l.m[4].payload, 2, 61));
    }
    rlist_free(&l);
    free(b.d); free(va.d); free(vb.d);
}

static void test_control_and_ack(void)
{
    bb b = { 0 };
    rlist l;
    hdr0(&b, 2, 0, 4, 5, 0); put32(&b, 1000);                     /* Window Ack Size */
    hdr0(&b, 2, 0, 5, 6, 0); put32(&b, 2500000); put8(&b, 2);     /* Set Peer Bandwidth */
    hdr0(&b, 2, 0, 4, 3, 0); put32(&b, 77777);                    /* Ack */
    hdr0(&b, 2, 0, 6, 4, 0); put8(&b, 0); put8(&b, 6); put32(&b, 123456);  /* Ping request */
    hdr0(&b, 2, 0, 10, 4, 0); put8(&b, 0); put8(&b, 3); put32(&b, 1); put32(&b, 3000);
    hdr0(&b, 2, 0, 1, 4, 0); put8(&b, 9);                          /* too short: fields 0 */
    for (int i = 0; i < 10; i++) { hdr0(&b, 8, (uint32_t)i, 100, 8, 1); fill(&b, 100, 1); }
    omn_rtmp_conn *c = omn_rtmp_conn_new(0);
    read_all(c, b.d, b.n, 0, &l);
    CHECK(l.rc == 0 && l.n == 16);
    if (l.n == 16) {
        CHECK(l.m[0].type == 5 && l.m[0].cv == 1000);
        CHECK(l.m[1].type == 6 && l.m[1].cv == 2500000 && l.m[1].cx == 2);
        CHECK(l.m[2].type == 3 && l.m[2].cv == 77777);
        CHECK(l.m[3].type == 4 && l.m[3].cx == OMN_RTMP_EV_PING_REQUEST && l.m[3].cv == 123456);
        CHECK(l.m[4].cx == OMN_RTMP_EV_SET_BUFFER_LENGTH && l.m[4].cv == 1);
        CHECK(l.m[5].cx == 0 && l.m[5].cv == 0);
    }
    CHECK(omn_rtmp_conn_bytes_in(c) == b.n);
    /* The window (1000) was passed: acknowledgements were queued. Read them
     * back with a second connection. */
    const uint8_t *o;
    size_t n = omn_rtmp_conn_take_output(c, &o);
    CHECK(n > 0);
    omn_rtmp_conn *r = omn_rtmp_conn_new(0);
    rlist acks;
    read_all(r, o, n, 0, &acks);
    CHECK(acks.rc == 0 && acks.n >= 1);
    uint32_t prev = 0;
    for (int i = 0; i < acks.n; i++) {
        CHECK(acks.m[i].type == 3 && acks.m[i].csid == 2 && acks.m[i].sid == 0);
        CHECK(acks.m[i].cv >= prev + 1000 && acks.m[i].cv <= b.n);
        prev = acks.m[i].cv;
    }
    CHECK(b.n - prev < 1000);
    CHECK(omn_rtmp_conn_take_output(c, &o) == 0);
    rlist_free(&acks);
    rlist_free(&l);
    omn_rtmp_conn_free(r);
    omn_rtmp_conn_free(c);

    /* short Window Ack Size / Peer Bandwidth / Abort / Ack are fatal */
    const uint32_t types[] = { 2, 3, 5, 6 };
    for (int i = 0; i < 4; i++) {
        b.n = 0;
        hdr0(&b, 2, 0, types[i] == 6 ? 4 : 3, types[i], 0); fill(&b, types[i] == 6 ? 4 : 3, 0);
        read_every_way(b.d, b.n, 0, &l);
        CHECK(l.rc == OMN_RTMP_E_BAD_CONTROL);
        rlist_free(&l);
    }
    free(b.d);
}

static void test_limits_and_errors(void)
{
    bb b = { 0 };
    rlist l;
    /* message over the cap */
    hdr0(&b, 4, 0, 2000, 9, 1); fill(&b, 2000, 0);
    read_every_way(b.d, b.n, 1000, &l);
    CHECK(l.rc == OMN_RTMP_E_TOO_LARGE && l.n == 0);
    rlist_free(&l);
    /* at the cap exactly: fine */
    b.n = 0;
    hdr0(&b, 2, 0, 4, 1, 0); put32(&b, 65536);
    hdr0(&b, 4, 0, 1000, 9, 1); fill(&b, 1000, 0);
    read_every_way(b.d, b.n, 1000, &l);
    CHECK(l.rc == 0 && l.n == 2);
    rlist_free(&l);
    /* partial messages together over twice the cap */
    b.n = 0;
    hdr0(&b, 2, 0, 4, 1, 0); put32(&b, 700);
    for (uint32_t cs = 3; cs < 7; cs++) { hdr0(&b, cs, 0, 1000, 9, 1); fill(&b, 700, 0); }
    read_every_way(b.d, b.n, 1000, &l);
    CHECK(l.rc == OMN_RTMP_E_TOO_LARGE);
    rlist_free(&l);
    /* the largest length a header can express is accepted with the default
     * cap; memory follows the bytes that really arrive */
    b.n = 0;
    hdr0(&b, 4, 0, 0xFFFFFF, 9, 1); fill(&b, 100, 0);
    read_every_way(b.d, b.n, 0, &l);
    CHECK(l.rc == 0 && l.n == 0);
    rlist_free(&l);
    /* fmt 1/2/3 on a fresh chunk stream */
    for (int fmt = 1; fmt <= 3; fmt++) {
        b.n = 0;
        hdr0(&b, 4, 0, 1, 9, 1); fill(&b, 1, 0);
        basic(&b, fmt, 5); fill(&b, 11, 0);
        read_every_way(b.d, b.n, 0, &l);
        CHECK(l.rc == OMN_RTMP_E_NO_PREV_HEADER && l.n == 1);
        rlist_free(&l);
    }
    /* too many chunk streams */
    b.n = 0;
    for (uint32_t cs = 3; cs < 3 + 65; cs++) { hdr0(&b, cs, 0, 1, 9, 1); fill(&b, 1, 0); }
    read_every_way(b.d, b.n, 0, &l);
    CHECK(l.rc == OMN_RTMP_E_TOO_MANY_STREAMS && l.n == 64);
    rlist_free(&l);
    /* errors are sticky */
    omn_rtmp_conn *c = omn_rtmp_conn_new(0);
    omn_rtmp_msg m;
    uint8_t bad[] = { 0x43, 0, 0, 0, 0, 0, 1, 9 };
    size_t used;
    CHECK(omn_rtmp_conn_read(c, bad, sizeof bad, &used, &m) == OMN_RTMP_E_NO_PREV_HEADER);
    CHECK(omn_rtmp_conn_error(c) == OMN_RTMP_E_NO_PREV_HEADER);
    b.n = 0;
    hdr0(&b, 4, 0, 1, 9, 1); fill(&b, 1, 0);
    CHECK(omn_rtmp_conn_read(c, b.d, b.n, &used, &m) == OMN_RTMP_E_NO_PREV_HEADER && used == 0);
    omn_rtmp_conn_free(c);
    free(b.d);
}

/* Pseudo-random garbage must never crash and must end in a clean state. */
static void test_garbage(void)
{
    uint32_t x = 1;
    uint8_t buf[4096];
    for (int round = 0; round < 200; round++) {
        for (size_t i = 0; i < sizeof buf; i++) { x = x * 1664525u + 1013904223u; buf[i] = (uint8_t)(x >> 24); }
        if (round & 1) buf[0] = 0x03;                /* start plausible */
        omn_rtmp_conn *c = omn_rtmp_conn_new(4096);
        rlist l;
        read_all(c, buf, sizeof buf, -(long)(round % 50 + 1), &l);
        rlist_free(&l);
        omn_rtmp_conn_free(c);
    }
}

/* ---------------------------------------------------------- writer */

static void test_writer_roundtrip(void)
{
    omn_rtmp_conn *w = omn_rtmp_conn_new(0);
    const uint32_t csids[] = { 2, 3, 63, 64, 319, 320, 65599 };
    bb body = { 0 };
    fill(&body, 70000, 90);
    struct { uint32_t csid, type, sid, ts; size_t len; } exp[200];
    int n = 0;
    uint32_t ts = 0;
    CHECK(omn_rtmp_conn_write_window_ack_size(w, 2500000) == 0);
    exp[n].csid = 2; exp[n].type = 5; exp[n].sid = 0; exp[n].ts = 0; exp[n].len = 4; n++;
    CHECK(omn_rtmp_conn_write_peer_bandwidth(w, 2500000, 2) == 0);
    exp[n].csid = 2; exp[n].type = 6; exp[n].sid = 0; exp[n].ts = 0; exp[n].len = 5; n++;
    CHECK(omn_rtmp_conn_write_user_control(w, OMN_RTMP_EV_STREAM_BEGIN, 1) == 0);
    exp[n].csid = 2; exp[n].type = 4; exp[n].sid = 0; exp[n].ts = 0; exp[n].len = 6; n++;
    for (int i = 0; i < 150; i++) {
        uint32_t csid = csids[i % 7];
        size_t len = (size_t)((i * 977) % 3000);
        if (i % 37 == 5) len = 70000;
        if (i == 60) {
            CHECK(omn_rtmp_conn_set_chunk_size(w, 4096) == 0);
            exp[n].csid = 2; exp[n].type = 1; exp[n].sid = 0; exp[n].ts = 0; exp[n].len = 4; n++;
        }
        if (i == 100) {
            CHECK(omn_rtmp_conn_set_chunk_size(w, 1) == 0);
            exp[n].csid = 2; exp[n].type = 1; exp[n].sid = 0; exp[n].ts = 0; exp[n].len = 4; n++;
        }
        if (i == 110) {
            CHECK(omn_rtmp_conn_set_chunk_size(w, 60000) == 0);
            exp[n].csid = 2; exp[n].type = 1; exp[n].sid = 0; exp[n].ts = 0; exp[n].len = 4; n++;
        }
        /* timestamps: mostly steady steps (fmt 2/3), some jumps, some extended */
        if (i == 40) ts = 0xFFFFF0;
        else if (i == 80) ts = 0x7FFFFFFF;
        else if (i == 120) ts = 10;                  /* backwards: fmt 0 */
        else ts += (i % 10 < 7) ? 33 : (uint32_t)i;
        uint32_t sid = i % 13 == 0 ? 2 : 1;
        uint32_t type = (i % 3 == 0) ? 8 : 9;
        if (i % 5 == 0) len = 100;                   /* same lengths: fmt 2/3 */
        CHECK(omn_rtmp_conn_write(w, csid, type, sid, ts, body.d, len) == 0);
        exp[n].csid = csid; exp[n].type = type; exp[n].sid = sid; exp[n].ts = ts; exp[n].len = len; n++;
    }
    const uint8_t *o;
    size_t total = omn_rtmp_conn_take_output(w, &o);
    uint8_t *copy = malloc(total);
    memcpy(copy, o, total);
    rlist l;
    read_every_way(copy, total, 0, &l);
    CHECK(l.rc == 0 && l.n == n);
    for (int i = 0; i < l.n && i < n; i++) {
        int ok = l.m[i].csid == exp[i].csid && l.m[i].type == exp[i].type && l.m[i].sid == exp[i].sid &&
                 l.m[i].ts == exp[i].ts && l.m[i].len == exp[i].len &&
                 (exp[i].csid == 2 || check_fill(l.m[i].payload, l.m[i].len, 90));
        if (!ok) fprintf(stderr, "writer msg %d: csid %u/%u type %u/%u ts %u/%u len %zu/%zu\n", i,
                         l.m[i].csid, exp[i].csid, l.m[i].type, exp[i].type, l.m[i].ts, exp[i].ts, l.m[i].len, exp[i].len);
        CHECK(ok);
    }
    rlist_free(&l);
    free(copy);

    /* header compression: identical messages 33 ms apart -> fmt 0, 2, 3, 3 */
    omn_rtmp_conn *w2 = omn_rtmp_conn_new(0);
    for (int i = 0; i < 4; i++) omn_rtmp_conn_write(w2, 6, 8, 1, 1000 + 33u * (uint32_t)i, (const uint8_t *)"abcd", 4);
    size_t m = omn_rtmp_conn_take_output(w2, &o);
    CHECK(m == (1 + 11 + 4) + (1 + 3 + 4) + (1 + 4) + (1 + 4));
    CHECK(o[0] == 0x06 && o[16] == 0x86 && o[24] == 0xC6 && o[29] == 0xC6);
    /* extended timestamp in continuation chunks */
    omn_rtmp_conn_write(w2, 7, 9, 1, 0x01000000, body.d, 200);
    m = omn_rtmp_conn_take_output(w2, &o);
    CHECK(m == 1 + 11 + 4 + 128 + 1 + 4 + 72);
    CHECK(o[0] == 0x07 && o[1] == 0xFF && o[2] == 0xFF && o[3] == 0xFF);
    CHECK(o[144] == 0xC7 && o[145] == 0x01 && o[146] == 0 && o[147] == 0 && o[148] == 0);
    /* argument checks */
    CHECK(omn_rtmp_conn_write(w2, 1, 8, 1, 0, body.d, 1) == OMN_RTMP_E_ARG);
    CHECK(omn_rtmp_conn_write(w2, 65600, 8, 1, 0, body.d, 1) == OMN_RTMP_E_ARG);
    CHECK(omn_rtmp_conn_write(w2, 3, 256, 1, 0, body.d, 1) == OMN_RTMP_E_ARG);
    CHECK(omn_rtmp_conn_write(w2, 3, 8, 1, 0, body.d, 0x1000000) == OMN_RTMP_E_ARG);
    CHECK(omn_rtmp_conn_set_chunk_size(w2, 0) == OMN_RTMP_E_ARG);
    CHECK(omn_rtmp_conn_set_chunk_size(w2, 0x80000000u) == OMN_RTMP_E_ARG);
    CHECK(omn_rtmp_conn_write_peer_bandwidth(w2, 1, 3) == OMN_RTMP_E_ARG);
    CHECK(omn_rtmp_conn_out_chunk_size(w2) == 128 && omn_rtmp_conn_in_chunk_size(w2) == 128);
    CHECK(omn_rtmp_conn_take_output(w2, &o) == 0);
    omn_rtmp_conn_free(w2);
    omn_rtmp_conn_free(w);
    free(body.d);
}

int main(void)
{
    test_handshake();
    test_header_types();
    test_extended_timestamps();
    test_wrap();
    test_chunk_size_changes();
    test_interleave_and_abort();
    test_control_and_ack();
    test_limits_and_errors();
    test_garbage();
    test_writer_roundtrip();
    if (failures) { fprintf(stderr, "%d failure(s)\n", failures); return 1; }
    puts("ok");
    return 0;
}

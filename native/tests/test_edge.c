/* test_edge.c - the media edge: head parsing and keys; a live edge on a loopback socket
 * answering a stored answer, handing a miss to the "loop" (this test), parking a blocking
 * request until advance, expiring a parked request, dropping by group, and pipelining. */
#define _GNU_SOURCE
#include "ome_native.h"

#include <arpa/inet.h>
#include <assert.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static omn_edge_head parse(const char *req, char *key, size_t cap) {
    omn_edge_head h;
    assert(omn_edge_parse_head((const uint8_t *)req, strlen(req), 16384, &h, key, cap) == 0);
    return h;
}

static void test_parse(void) {
    char key[512];
    omn_edge_head h = parse("GET /app/s/chunklist_0_video_k_llhls.m3u8?_HLS_part=02&_HLS_msn=7&_HLS_skip=YES HTTP/1.1\r\n"
                            "Host: h:1\r\nOrigin: http://o\r\nAccept-Encoding: br, gzip\r\n\r\n", key, sizeof key);
    assert(h.complete && h.storable && h.keep_alive && h.has_msn && h.has_part && h.msn == 7 && h.part == 2);
    const char *want = "h:1\nhttp://o\ng/app/s/chunklist_0_video_k_llhls.m3u8?_HLS_msn=7&_HLS_part=2&_HLS_skip=YES";
    assert(h.key_len == strlen(want) && memcmp(key, want, h.key_len) == 0);
    const char *state = "h:1\n/app/s/chunklist_0_video_k_llhls.m3u8";
    assert(h.state_key_len == strlen(state) && memcmp(key + h.key_len, state, h.state_key_len) == 0);

    /* gzip matters for playlists only; no Host/Origin -> empty fields */
    h = parse("GET /a/b/part_0_1_2_video_k_llhls.m4s HTTP/1.1\r\nAccept-Encoding: gzip\r\n\r\n", key, sizeof key);
    assert(h.storable && h.key_len == strlen("\n\n-/a/b/part_0_1_2_video_k_llhls.m4s"));
    assert(memcmp(key, "\n\n-/a/b/part_0_1_2_video_k_llhls.m4s", h.key_len) == 0);

    /* not storable: other query, percent escapes, HEAD, HTTP/1.0, a body, bad values */
    const char *not_storable[] = {
        "GET /x?session=1 HTTP/1.1\r\n\r\n", "GET /a%20b HTTP/1.1\r\n\r\n", "HEAD /x HTTP/1.1\r\n\r\n",
        "GET /x HTTP/1.0\r\n\r\n", "GET /x HTTP/1.1\r\nContent-Length: 3\r\n\r\n",
        "GET /x?_HLS_msn=abc HTTP/1.1\r\n\r\n", "GET /x?_HLS_msn=1&_HLS_msn=2 HTTP/1.1\r\n\r\n",
        "GET /x?_HLS_skip=maybe HTTP/1.1\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof not_storable / sizeof *not_storable; i++) {
        h = parse(not_storable[i], key, sizeof key);
        assert(h.complete && !h.storable && !h.bad);
    }
    /* malformed: for the loop's parser to answer */
    const char *bad[] = {"GARBAGE\r\n\r\n", "GET /x HTTP/2.0\r\n\r\n", "GET x HTTP/1.1\r\n\r\n",
                         "GET /x HTTP/1.1\r\nno-colon\r\n\r\n", "GET /x HTTP/1.1\r\n folded: x\r\n\r\n",
                         "GET /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
                         "GET /x HTTP/1.1\r\nContent-Length: -1\r\n\r\n"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        h = parse(bad[i], key, sizeof key);
        assert(h.complete && h.bad && !h.storable);
    }
    h = parse("GET /x HTTP/1.1\r\nConnection: close\r\n\r\n", key, sizeof key);
    assert(h.storable && !h.keep_alive);
    h = parse("GET /x HTTP/1.1\r\nHost: a", key, sizeof key);
    assert(!h.complete);
    /* a key that does not fit: not storable */
    h = parse("GET /a-long-path HTTP/1.1\r\n\r\n", key, 8);
    assert(h.complete && !h.storable);
    char big[20000];
    memset(big, 'a', sizeof big);
    memcpy(big, "GET / HTTP/1.1\r\nX: ", 19);
    assert(omn_edge_parse_head((uint8_t *)big, sizeof big, 16384, &h, key, sizeof key) == -1);
}

/* ---- live ------------------------------------------------------------------------- */

static int connect_to(int port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert(connect(fd, (struct sockaddr *)&a, sizeof a) == 0);
    return fd;
}

static void send_all(int fd, const char *s) {
    size_t n = strlen(s);
    assert(write(fd, s, n) == (ssize_t)n);
}

/* Reads one whole answer (head + Content-Length body) into buf; returns its length. */
static size_t read_answer(int fd, char *buf, size_t cap, int timeout_ms) {
    size_t len = 0;
    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        assert(poll(&p, 1, timeout_ms) == 1);
        ssize_t r = read(fd, buf + len, cap - len - 1);
        assert(r > 0);
        len += (size_t)r;
        buf[len] = 0;
        char *end = strstr(buf, "\r\n\r\n");
        if (!end) continue;
        char *cl = strstr(buf, "Content-Length: ");
        size_t body = cl ? (size_t)atol(cl + 16) : 0;
        if (len >= (size_t)(end + 4 - buf) + body) return len;
    }
}

/* Waits (up to 2 s) for the next miss. */
static int wait_miss(omn_edge *e, omn_notify *n, omn_edge_miss *m) {
    for (int i = 0; i < 200; i++) {
        if (omn_edge_next_miss(e, m)) return 1;
        struct pollfd p = {.fd = omn_notify_fd(n), .events = POLLIN};
        poll(&p, 1, 10);
        omn_notify_drain(n);
    }
    return 0;
}

static int no_answer_within(int fd, int ms) {
    struct pollfd p = {.fd = fd, .events = POLLIN};
    return poll(&p, 1, ms) == 0;
}

static void test_live(void) {
    omn_notify *n = omn_notify_new();
    omn_edge *e = omn_edge_new(n, "ome");
    assert(e);
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert(bind(lfd, (struct sockaddr *)&a, sizeof a) == 0 && listen(lfd, 16) == 0);
    socklen_t al = sizeof a;
    getsockname(lfd, (struct sockaddr *)&a, &al);
    int port = ntohs(a.sin_port);
    assert(omn_edge_add_listener(e, lfd) == 0 && omn_edge_start(e) == 0);

    /* a stored answer, body in two pieces */
    omn_edge_body *b1 = omn_edge_body_new((const uint8_t *)"hello ", 6);
    omn_edge_body *b2 = omn_edge_body_new((const uint8_t *)"world", 5);
    omn_edge_body *bodies[] = {b1, b2};
    const char *k = "h\n\n-/a/s/part_0_1_0_video_k_llhls.m4s";
    const char *head = "Content-Type: video/mp4\r\nCache-Control: max-age=12\r\n";
    assert(omn_edge_put(e, k, strlen(k), 7, 1, (const uint8_t *)head, strlen(head), bodies, 2) == 0);
    omn_edge_body_unref(b1);
    omn_edge_body_unref(b2);

    char buf[8192];
    int c = connect_to(port);
    send_all(c, "GET /a/s/part_0_1_0_video_k_llhls.m4s HTTP/1.1\r\nHost: h\r\n\r\n");
    read_answer(c, buf, sizeof buf, 2000);
    assert(strncmp(buf, "HTTP/1.1 200 OK\r\nServer: ome\r\nDate: ", 36) == 0);
    assert(strstr(buf, "\r\nContent-Type: video/mp4\r\nCache-Control: max-age=12\r\nContent-Length: 11\r\n\r\nhello world"));

    /* a miss: queued for the loop with its head and key, answered by omn_edge_respond */
    send_all(c, "GET /a/s/other HTTP/1.1\r\nHost: h\r\n\r\n");
    struct pollfd p = {.fd = omn_notify_fd(n), .events = POLLIN};
    assert(poll(&p, 1, 2000) == 1);
    omn_notify_drain(n);
    omn_edge_miss m;
    assert(omn_edge_next_miss(e, &m) == 1 && m.expired == 0);
    assert(m.head_len == strlen("GET /a/s/other HTTP/1.1\r\nHost: h") && memcmp(m.head, "GET /a/s/other", 14) == 0);
    assert(m.key_len == strlen("h\n\n-/a/s/other") && memcmp(m.key, "h\n\n-/a/s/other", m.key_len) == 0);
    assert(omn_edge_next_miss(e, &m) == 0);
    const char *resp = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n";
    /* pipelined behind it: answered only after it */
    send_all(c, "GET /a/s/part_0_1_0_video_k_llhls.m4s HTTP/1.1\r\nHost: h\r\n\r\n");
    assert(no_answer_within(c, 100));
    uint64_t miss_conn = 0;
    (void)miss_conn;
    omn_edge_miss m2;
    assert(omn_edge_next_miss(e, &m2) == 0);      /* the pipelined one waits in C */
    assert(omn_edge_respond(e, m.conn, (const uint8_t *)resp, strlen(resp), 0) == 0);
    size_t len = read_answer(c, buf, sizeof buf, 2000);
    assert(strncmp(buf, "HTTP/1.1 404", 12) == 0);
    if (len == strlen(resp)) read_answer(c, buf, sizeof buf, 2000);
    else memmove(buf, buf + strlen(resp), len - strlen(resp) + 1);
    assert(strstr(buf, "hello world"));

    /* parking: state (3, 1); a request for (3, 2) parks until advance, then gets its stored answer */
    const char *sk = "h\n/a/s/chunklist_0_video_k_llhls.m3u8";
    assert(omn_edge_advance(e, sk, strlen(sk), 3, 1, 4, 10000, 100, 1) == 0);
    send_all(c, "GET /a/s/chunklist_0_video_k_llhls.m3u8?_HLS_msn=3&_HLS_part=2 HTTP/1.1\r\nHost: h\r\n\r\n");
    assert(no_answer_within(c, 150));
    omn_edge_stats st;
    omn_edge_get_stats(e, &st);
    assert(st.parked_now == 1 && st.states == 1);
    const char *pk = "h\n\n-/a/s/chunklist_0_video_k_llhls.m3u8?_HLS_msn=3&_HLS_part=2";
    omn_edge_body *pb = omn_edge_body_new((const uint8_t *)"#EXTM3U\n", 8);
    assert(omn_edge_put(e, pk, strlen(pk), 8, 3, (const uint8_t *)"", 0, &pb, 1) == 0);
    omn_edge_body_unref(pb);
    assert(omn_edge_advance(e, sk, strlen(sk), 3, 2, 4, 10000, 100, 1) == 0);
    read_answer(c, buf, sizeof buf, 2000);
    assert(strstr(buf, "Content-Length: 8\r\n\r\n#EXTM3U\n"));

    /* too far ahead: not parked, a miss at once */
    send_all(c, "GET /a/s/chunklist_0_video_k_llhls.m3u8?_HLS_msn=9&_HLS_part=0 HTTP/1.1\r\nHost: h\r\n\r\n");
    assert(poll(&p, 1, 2000) == 1);
    omn_notify_drain(n);
    assert(omn_edge_next_miss(e, &m) == 1 && m.expired == 0);
    assert(omn_edge_respond(e, m.conn, (const uint8_t *)resp, strlen(resp), 0) == 0);
    read_answer(c, buf, sizeof buf, 2000);

    /* expiry: parked with a 200 ms timeout, then a miss marked expired */
    assert(omn_edge_advance(e, sk, strlen(sk), 3, 2, 4, 200, 100, 1) == 0);
    send_all(c, "GET /a/s/chunklist_0_video_k_llhls.m3u8?_HLS_msn=3&_HLS_part=3 HTTP/1.1\r\nHost: h\r\n\r\n");
    assert(poll(&p, 1, 2000) == 1);
    omn_notify_drain(n);
    assert(omn_edge_next_miss(e, &m) == 1 && m.expired == 1);
    assert(omn_edge_respond(e, m.conn, (const uint8_t *)resp, strlen(resp), 1) == 0);
    read_answer(c, buf, sizeof buf, 2000);
    char tmp[16];
    assert(read(c, tmp, sizeof tmp) == 0);      /* close_after */
    close(c);

    /* max_parked: the second request goes to the loop; open = 0 hands the parked one over */
    assert(omn_edge_advance(e, sk, strlen(sk), 3, 2, 4, 10000, 1, 1) == 0);
    int c1 = connect_to(port), c2 = connect_to(port);
    send_all(c1, "GET /a/s/chunklist_0_video_k_llhls.m3u8?_HLS_msn=3&_HLS_part=3 HTTP/1.1\r\nHost: h\r\n\r\n");
    usleep(100000);
    send_all(c2, "GET /a/s/chunklist_0_video_k_llhls.m3u8?_HLS_msn=3&_HLS_part=3 HTTP/1.1\r\nHost: h\r\n\r\n");
    assert(poll(&p, 1, 2000) == 1);
    omn_notify_drain(n);
    assert(omn_edge_next_miss(e, &m) == 1 && m.expired == 0);
    assert(omn_edge_next_miss(e, &m2) == 0);
    assert(omn_edge_advance(e, sk, strlen(sk), 0, 0, 0, 0, 0, 0) == 0);
    assert(poll(&p, 1, 2000) == 1);
    assert(omn_edge_next_miss(e, &m2) == 1 && m2.conn != m.conn);
    close(c1);
    close(c2);

    /* 400 pipelined hits in one write: answered in order, no recursion per request */
    {
        const char *one = "GET /a/s/part_0_1_0_video_k_llhls.m4s HTTP/1.1\r\nHost: h\r\n\r\n";
        size_t n1 = strlen(one), count = 400;
        char *many = malloc(n1 * count + 1);
        for (size_t i = 0; i < count; i++) memcpy(many + i * n1, one, n1);
        many[n1 * count] = 0;
        int cp = connect_to(port);
        send_all(cp, many);
        size_t got = 0, total = 0;
        char rb[65536];
        while (got < count) {
            struct pollfd q = {.fd = cp, .events = POLLIN};
            assert(poll(&q, 1, 2000) == 1);
            ssize_t r = read(cp, rb, sizeof rb);
            assert(r > 0);
            for (ssize_t i = 0; i + 10 < r; i++) if (memcmp(rb + i, "hello world", 11) == 0) got++;
            total += (size_t)r;
        }
        assert(got == count);
        free(many);
        close(cp);
    }

    /* a 4 MiB answer to a client that reads late: sent in pieces as the socket drains */
    {
        size_t big = 4u << 20;
        uint8_t *data = malloc(big);
        for (size_t i = 0; i < big; i++) data[i] = (uint8_t)(i * 7);
        omn_edge_body *bb = omn_edge_body_new(data, big);
        const char *bk = "h\n\n-/a/s/seg_0_1_video_k_llhls.m4s";
        assert(omn_edge_put(e, bk, strlen(bk), 7, 1, (const uint8_t *)"", 0, &bb, 1) == 0);
        omn_edge_body_unref(bb);
        int cb = connect_to(port);
        send_all(cb, "GET /a/s/seg_0_1_video_k_llhls.m4s HTTP/1.1\r\nHost: h\r\n\r\n");
        usleep(200000);                          /* the edge fills the socket and waits for EPOLLOUT */
        uint8_t *got = malloc(big + 4096);
        size_t len = 0;
        while (len < big + 100) {
            struct pollfd q = {.fd = cb, .events = POLLIN};
            assert(poll(&q, 1, 2000) == 1);
            ssize_t r = read(cb, got + len, big + 4096 - len);
            assert(r > 0);
            len += (size_t)r;
            uint8_t *end = memmem(got, len, "\r\n\r\n", 4);
            if (end && len - (size_t)(end + 4 - got) == big) break;
        }
        uint8_t *end = memmem(got, len, "\r\n\r\n", 4);
        assert(end && memcmp(end + 4, data, big) == 0);
        free(got);
        free(data);
        close(cb);
    }

    /* origin-free prefixes: one stored answer for every Origin under /o/, the state key intact */
    {
        omn_edge_body *ob = omn_edge_body_new((const uint8_t *)"any", 3);
        const char *ok = "h\n\n-/o/x";
        assert(omn_edge_put(e, ok, strlen(ok), 10, 0, (const uint8_t *)"", 0, &ob, 1) == 0);
        omn_edge_body_unref(ob);
        int co = connect_to(port);
        send_all(co, "GET /o/x HTTP/1.1\r\nHost: h\r\nOrigin: http://a.test\r\n\r\n");
        /* not free yet: a miss, keyed with the origin */
        assert(wait_miss(e, n, &m) == 1 && m.key_len == strlen("h\nhttp://a.test\n-/o/x"));
        assert(omn_edge_respond(e, m.conn, (const uint8_t *)resp, strlen(resp), 0) == 0);
        read_answer(co, buf, sizeof buf, 2000);
        assert(omn_edge_origin_free(e, "/o/", 3, 1) == 0 && omn_edge_origin_free(e, "/o/", 3, 1) == 0);
        send_all(co, "GET /o/x HTTP/1.1\r\nHost: h\r\nOrigin: http://b.test\r\n\r\n");
        read_answer(co, buf, sizeof buf, 2000);
        assert(strstr(buf, "\r\n\r\nany"));
        /* parking under a free prefix still finds its state (host + path) */
        const char *osk = "h\n/o/c.m3u8";
        assert(omn_edge_advance(e, osk, strlen(osk), 1, 0, 3, 5000, 10, 1) == 0);
        send_all(co, "GET /o/c.m3u8?_HLS_msn=1&_HLS_part=1 HTTP/1.1\r\nHost: h\r\nOrigin: http://c.test\r\n\r\n");
        assert(no_answer_within(co, 100));
        const char *opk = "h\n\n-/o/c.m3u8?_HLS_msn=1&_HLS_part=1";
        omn_edge_body *pb2 = omn_edge_body_new((const uint8_t *)"#EXTM3U\n", 8);
        assert(omn_edge_put(e, opk, strlen(opk), 10, 1, (const uint8_t *)"", 0, &pb2, 1) == 0);
        omn_edge_body_unref(pb2);
        assert(omn_edge_advance(e, osk, strlen(osk), 1, 1, 3, 5000, 10, 1) == 0);
        read_answer(co, buf, sizeof buf, 2000);
        assert(strstr(buf, "\r\n\r\n#EXTM3U"));
        assert(omn_edge_origin_free(e, "/o/", 3, 0) == 0);
        send_all(co, "GET /o/x HTTP/1.1\r\nHost: h\r\nOrigin: http://b.test\r\n\r\n");
        assert(wait_miss(e, n, &m) == 1);          /* no longer free: a miss again */
        assert(omn_edge_respond(e, m.conn, (const uint8_t *)resp, strlen(resp), 0) == 0);
        read_answer(co, buf, sizeof buf, 2000);
        close(co);
        assert(omn_edge_drop(e, 10, INT64_MAX) == 2);
    }

    /* a body the loop allocated and filled: still served after the loop released its reference */
    {
        uint8_t *d = omn_edge_body_alloc(3);
        memcpy(d, "abc", 3);
        omn_edge_body *own = omn_edge_body_of(d);
        omn_edge_body_release(d);
        const char *sk2 = "h\n\n-/a/s/init_0_video_k_llhls.m4s";
        assert(omn_edge_put(e, sk2, strlen(sk2), 9, 0, (const uint8_t *)"", 0, &own, 1) == 0);
        omn_edge_body_unref(own);
        int ci = connect_to(port);
        send_all(ci, "GET /a/s/init_0_video_k_llhls.m4s HTTP/1.1\r\nHost: h\r\n\r\n");
        read_answer(ci, buf, sizeof buf, 2000);
        assert(strstr(buf, "Content-Length: 3\r\n\r\nabc"));
        close(ci);
        assert(omn_edge_drop(e, 9, INT64_MAX) == 1);
    }

    /* drop by group: the part and the segment go (group 7, tag 1 < 2), the playlist (group 8) stays */
    omn_edge_get_stats(e, &st);
    assert(st.answers == 3);
    assert(omn_edge_drop(e, 7, 1) == 0 && omn_edge_drop(e, 7, 2) == 2);
    omn_edge_get_stats(e, &st);
    assert(st.answers == 1 && st.hits >= 3);

    omn_edge_free(e);                           /* with a miss popped and sockets open */
    omn_notify_free(n);
}

/* Clients sending garbage, partial heads, pipelined valid requests (stored, parked, missed),
 * and leaving at random moments, while this thread answers misses and moves the playlist
 * state: the edge must stay sane (ASan/UBSan) and still answer a plain request at the end. */
static void test_chaos(void) {
    omn_notify *n = omn_notify_new();
    omn_edge *e = omn_edge_new(n, "ome");
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert(bind(lfd, (struct sockaddr *)&a, sizeof a) == 0 && listen(lfd, 64) == 0);
    socklen_t al = sizeof a;
    getsockname(lfd, (struct sockaddr *)&a, &al);
    int port = ntohs(a.sin_port);
    assert(omn_edge_add_listener(e, lfd) == 0 && omn_edge_start(e) == 0);
    omn_edge_body *b = omn_edge_body_new((const uint8_t *)"stored", 6);
    const char *k = "h\n\n-/s";
    assert(omn_edge_put(e, k, strlen(k), 1, 0, (const uint8_t *)"", 0, &b, 1) == 0);
    const char *sk = "h\n/p.m3u8";
    int64_t msn = 0, part = 0;
    assert(omn_edge_advance(e, sk, strlen(sk), msn, part, 3, 300, 1000, 1) == 0);
    const char *pieces[] = {
        "GET /s HTTP/1.1\r\nHost: h\r\n\r\n", "GET /miss HTTP/1.1\r\nHost: h\r\n\r\n",
        "GET /p.m3u8?_HLS_msn=0&_HLS_part=1 HTTP/1.1\r\nHost: h\r\n\r\n", "GET /s HTT", "\r\n\r\n",
        "POST /x HTTP/1.1\r\nContent-Length: 5\r\n\r\nab", "cde", "\x00\xff garbage \r\n\r\n",
        "GET /s HTTP/1.1\r\nConnection: close\r\n\r\n", "GET /s HTTP/1.1\r\nX: y\r\n",
    };
    int fds[40];
    for (int i = 0; i < 40; i++) fds[i] = -1;
    unsigned seed = 12345;
    struct timespec t0, now;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    char sink[65536];
    for (int round = 0;; round++) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        if ((now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000 > 1500) break;
        int i = (int)(rand_r(&seed) % 40);
        int action = (int)(rand_r(&seed) % 10);
        if (fds[i] < 0) fds[i] = connect_to(port);
        if (action < 7) {
            size_t which = rand_r(&seed) % (sizeof pieces / sizeof *pieces);
            const char *p = pieces[which];
            char ahead[128];
            if (which == 2) {                 /* the next part: parks until the state moves */
                snprintf(ahead, sizeof ahead, "GET /p.m3u8?_HLS_msn=0&_HLS_part=%lld HTTP/1.1\r\nHost: h\r\n\r\n",
                         (long long)part + 1);
                p = ahead;
            }
            if (send(fds[i], p, strlen(p), MSG_NOSIGNAL | MSG_DONTWAIT) < 0) { close(fds[i]); fds[i] = -1; }
        } else if (action < 9) {
            while (recv(fds[i], sink, sizeof sink, MSG_DONTWAIT) > 0) {}
        } else {
            close(fds[i]);
            fds[i] = -1;
        }
        omn_edge_miss m;
        while (omn_edge_next_miss(e, &m)) {
            const char *r = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n";
            omn_edge_respond(e, m.conn, (const uint8_t *)r, strlen(r), (int)(rand_r(&seed) % 4 == 0));
        }
        omn_notify_drain(n);
        if (round % 50 == 0) {
            part++;
            char key[64];
            int kl = snprintf(key, sizeof key, "h\n\n-/p.m3u8?_HLS_msn=%lld&_HLS_part=%lld", (long long)msn, (long long)part);
            omn_edge_put(e, key, (size_t)kl, 2, part, (const uint8_t *)"", 0, &b, 1);
            omn_edge_advance(e, sk, strlen(sk), msn, part, 3, 300, 1000, 1);
            if (part % 7 == 0) omn_edge_drop(e, 2, part - 3);
        }
    }
    for (int i = 0; i < 40; i++) if (fds[i] >= 0) close(fds[i]);
    omn_edge_body_unref(b);
    int c = connect_to(port);
    send_all(c, "GET /s HTTP/1.1\r\nHost: h\r\n\r\n");
    char buf[4096];
    read_answer(c, buf, sizeof buf, 2000);
    assert(strstr(buf, "\r\n\r\nstored"));
    close(c);
    omn_edge_stats st;
    omn_edge_get_stats(e, &st);
    printf("chaos: %llu requests, %llu hits, %llu misses, %llu parked\n", (unsigned long long)st.requests,
           (unsigned long long)st.hits, (unsigned long long)st.misses, (unsigned long long)st.parked);
    fflush(stdout);
    assert(st.hits > 0 && st.misses > 0 && st.parked > 0);
    omn_edge_free(e);
    omn_notify_free(n);
}

int main(void) {
    test_parse();
    test_live();
    test_chaos();
    puts("edge ok");
    return 0;
}

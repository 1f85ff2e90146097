/* test_srt_io.c - libsrt listener and caller through omn_srt on loopback:
 * accept with the stream id, data both ways through the queues, close
 * events, a wrong passphrase refused on both ends, the send queue bound. */
#include "ome_native.h"

#include <assert.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <srt/srt.h>

/* Events seen while waiting for another type are kept for later waits
 * (ACCEPTED and CONNECTED of one connection come in either order). */
static omn_srt_event seen[64];
static int nseen;

static omn_srt_event wait_event(omn_srt *s, omn_notify *n, int type, int timeout_ms)
{
    omn_srt_event ev;
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        for (int i = 0; i < nseen; i++) {
            if (seen[i].type != type) continue;
            ev = seen[i];
            memmove(seen + i, seen + i + 1, (size_t)(nseen - i - 1) * sizeof *seen);
            nseen--;
            return ev;
        }
        while (omn_srt_next_event(s, &ev)) {
            if (ev.type == type) return ev;
            if (ev.type != OMN_SRT_EV_DATA && nseen < 64) seen[nseen++] = ev;
        }
        struct pollfd p = { .fd = omn_notify_fd(n), .events = POLLIN };
        poll(&p, 1, 100);
        omn_notify_drain(n);
        struct timespec t;
        clock_gettime(CLOCK_MONOTONIC, &t);
        if ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 > timeout_ms) {
            fprintf(stderr, "timeout waiting for event %d\n", type);
            assert(0);
        }
    }
}

int main(void)
{
    omn_notify *n = omn_notify_new();
    omn_srt *s = omn_srt_new(n);
    assert(s);

    omn_srt_options lo = { .latency_ms = 40, .payload_size = 1316 };
    int32_t l = omn_srt_listen(s, "127.0.0.1", 0, &lo, 8);
    assert(l > 0);
    int32_t port = omn_srt_local_port(s, l);
    assert(port > 0);
    assert(omn_srt_listen(s, "not-an-ip", 1, &lo, 8) == OMN_SRT_E_ARG);

    /* caller with a stream id -> ACCEPTED (listener side) and CONNECTED */
    omn_srt_options co = { .latency_ms = 40, .streamid = "srt%3A%2F%2F127.0.0.1%2Fapp%2Fs", .conn_timeout_ms = 3000 };
    int32_t c = omn_srt_connect(s, "127.0.0.1", port, &co);
    assert(c > 0);
    omn_srt_event acc = wait_event(s, n, OMN_SRT_EV_ACCEPTED, 5000);
    assert(acc.listener == l && acc.sock > 0 && acc.sock != c);
    assert(strcmp(acc.streamid, "srt%3A%2F%2F127.0.0.1%2Fapp%2Fs") == 0);
    assert(strncmp(acc.peer, "127.0.0.1:", 10) == 0);
    omn_srt_event con = wait_event(s, n, OMN_SRT_EV_CONNECTED, 5000);
    assert(con.sock == c);

    /* 100 x 1316 bytes caller -> accepted socket, in order */
    uint8_t msg[1316 * 10];
    for (size_t i = 0; i < sizeof msg; i++) msg[i] = (uint8_t)(i * 7 + 3);
    for (int i = 0; i < 10; i++) assert(omn_srt_send(s, c, msg, sizeof msg) == 0);
    omn_buf got = {0};
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    while (got.len < sizeof msg * 10) {
        omn_srt_event ev;
        while (omn_srt_next_event(s, &ev)) assert(ev.type == OMN_SRT_EV_DATA && ev.sock == acc.sock);
        assert(omn_srt_take(s, acc.sock, &got) >= 0);
        struct pollfd p = { .fd = omn_notify_fd(n), .events = POLLIN };
        poll(&p, 1, 50);
        omn_notify_drain(n);
        clock_gettime(CLOCK_MONOTONIC, &t);
        assert(t.tv_sec - t0.tv_sec < 5);
    }
    assert(got.len == sizeof msg * 10);
    for (int i = 0; i < 10; i++) assert(memcmp(got.data + i * sizeof msg, msg, sizeof msg) == 0);
    omn_srt_socket_stats st;
    assert(omn_srt_socket_stats_get(s, acc.sock, &st) == 0 && st.bytes_received == sizeof msg * 10);
    assert(omn_srt_socket_stats_get(s, c, &st) == 0 && st.bytes_sent == sizeof msg * 10);

    /* the send bound refuses without queuing */
    omn_srt_options small = { .latency_ms = 40, .send_queue_bytes = 1316 };
    int32_t c2 = omn_srt_connect(s, "127.0.0.1", port, &small);
    assert(c2 > 0);
    wait_event(s, n, OMN_SRT_EV_ACCEPTED, 5000);
    static uint8_t big[1316 * 2];
    assert(omn_srt_send(s, c2, big, sizeof big) == OMN_SRT_E_FULL);
    assert(omn_srt_close(s, c2) == 0);

    /* the caller closes -> the accepted socket's CLOSED */
    assert(omn_srt_close(s, c) == 0);
    assert(omn_srt_send(s, c, msg, 10) == OMN_SRT_E_CLOSED);
    omn_srt_event cl = wait_event(s, n, OMN_SRT_EV_CLOSED, 8000);
    assert(cl.sock == c || cl.sock == acc.sock || cl.sock == c2);

    /* wrong passphrase: the listener reports REJECTED, the caller CLOSED with BADSECRET */
    omn_srt_options slo = { .latency_ms = 40, .passphrase = "0123456789abcdef" };
    int32_t sl = omn_srt_listen(s, "127.0.0.1", 0, &slo, 8);
    assert(sl > 0);
    omn_srt_options bad = { .latency_ms = 40, .passphrase = "wrongwrongwrong!", .streamid = "app/x",
                            .conn_timeout_ms = 3000 };
    int32_t bc = omn_srt_connect(s, "127.0.0.1", omn_srt_local_port(s, sl), &bad);
    assert(bc > 0);
    omn_srt_event rej = wait_event(s, n, OMN_SRT_EV_REJECTED, 8000);
    assert(rej.reject == SRT_REJ_BADSECRET && rej.listener == sl && strcmp(rej.streamid, "app/x") == 0);
    printf("rejected: code %d (%s) peer %s streamid [%s]\n", rej.reject, rej.reason, rej.peer, rej.streamid);
    omn_srt_event bcl;
    do bcl = wait_event(s, n, OMN_SRT_EV_CLOSED, 8000); while (bcl.sock != bc);
    printf("caller closed: %d %s\n", bcl.reject, bcl.reason);
    assert(bcl.reject > 0);

    /* the right passphrase connects */
    omn_srt_options good = { .latency_ms = 40, .passphrase = "0123456789abcdef" };
    int32_t gc = omn_srt_connect(s, "127.0.0.1", omn_srt_local_port(s, sl), &good);
    assert(gc > 0);
    wait_event(s, n, OMN_SRT_EV_CONNECTED, 5000);

    assert(omn_srt_close(s, 999999) == OMN_SRT_E_ARG);
    omn_buf_free(&got);
    omn_srt_free(s);
    omn_notify_free(n);
    puts("test_srt_io: ok");
    return 0;
}

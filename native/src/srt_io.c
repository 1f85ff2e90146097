/* srt_io.c - libsrt listener/caller sockets driven by one I/O thread per
 * context (srt_epoll), results queued here and signalled on an omn_notify.
 *
 * Locking: `mu` guards the socket table and the event queue. libsrt calls
 * back (listen hook, log handler) from its own threads while holding its
 * own locks, so those callbacks only take `rej_mu` (never `mu`) and never
 * call libsrt: nothing can wait on a lock in the other order.
 */
#include "ome_native.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <srt/srt.h>

#define RX_MSG_MAX 1500                 /* live-mode messages are <= 1456 bytes */
#define DEFAULT_SEND_QUEUE (4u << 20)
#define DEFAULT_RECV_QUEUE (8u << 20)
#define DEFAULT_PAYLOAD 1316
#define MAX_EVENTS 4096                 /* queued events beyond this drop DATA edges only */
#define EPOLL_WAIT_MS 50

typedef struct sock_entry {
    SRTSOCKET id;
    int listener;           /* 1: listening socket */
    int connecting;         /* caller waiting for its CONNECTED */
    int closed;             /* CLOSED event queued; entry freed when the event is taken */
    int32_t payload;        /* message size for sends */
    uint32_t tx_cap, rx_cap;
    omn_buf tx;             /* bytes waiting for libsrt */
    size_t tx_off;          /* sent prefix of tx */
    int want_out;           /* subscribed to SRT_EPOLL_OUT */
    omn_buf rx;             /* received, waiting for omn_srt_take */
    uint64_t bytes_rx, bytes_tx, bytes_dropped;
    struct sock_entry *next;
} sock_entry;

/* What the listen hook needs; kept until the context is freed, since
 * libsrt may still run a hook while its listener is being closed. */
typedef struct hook_ctx {
    struct omn_srt *s;
    SRTSOCKET listener;
    struct hook_ctx *next;
} hook_ctx;

typedef struct ev_node {
    omn_srt_event ev;
    struct ev_node *next;
} ev_node;

struct omn_srt {
    pthread_mutex_t mu;
    pthread_t thread;
    int thread_started;
    volatile int stop;
    int eid;
    omn_notify *notify;
    sock_entry *socks;
    ev_node *head, *tail;
    size_t nevents;
    char last_error[160];
    /* fed by libsrt's threads (rej_mu only) */
    pthread_mutex_t rej_mu;
    ev_node *rej_head, *rej_tail;
    hook_ctx *hooks;
    struct omn_srt *next_ctx;
};

/* ---- process-wide: library start, live contexts for the log handler ---- */

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static omn_srt *g_contexts;
static int g_started;

/* What the listen hook saw last on this libsrt thread: the reject log line
 * that may follow on the same thread names no peer. */
static __thread struct {
    omn_srt *ctx;
    SRTSOCKET listener;
    char peer[64];
    char streamid[516];
} t_hs;

static void fmt_addr(const struct sockaddr *sa, char *out, size_t cap)
{
    char host[INET6_ADDRSTRLEN] = "?";
    int port = 0;
    if (sa && sa->sa_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &a->sin_addr, host, sizeof host);
        port = ntohs(a->sin_port);
        snprintf(out, cap, "%s:%d", host, port);
    } else if (sa && sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof host);
        port = ntohs(a->sin6_port);
        snprintf(out, cap, "[%s]:%d", host, port);
    } else {
        snprintf(out, cap, "?");
    }
}

static void push_reject(omn_srt *s, const omn_srt_event *ev)
{
    ev_node *n = calloc(1, sizeof *n);
    if (!n) return;
    n->ev = *ev;
    pthread_mutex_lock(&s->rej_mu);
    if (s->rej_tail) s->rej_tail->next = n; else s->rej_head = n;
    s->rej_tail = n;
    pthread_mutex_unlock(&s->rej_mu);
    omn_notify_signal(s->notify);
}

/* libsrt's log handler: turns "rsp(REJECT): CODE - text" (a refused
 * handshake on a listener, e.g. a wrong passphrase) into REJECTED events. */
static void log_handler(void *opaque, int level, const char *file, int line, const char *area,
                        const char *message)
{
    (void)opaque; (void)level; (void)file; (void)line; (void)area;
    if (!message) return;
    const char *p = strstr(message, "rsp(REJECT): ");
    if (!p) return;
    p += strlen("rsp(REJECT): ");
    omn_srt_event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = OMN_SRT_EV_REJECTED;
    ev.reject = (int32_t)strtol(p, NULL, 10);
    if (ev.reject >= 1000) ev.reject -= 1000;    /* the wire code is 1000 + SRT_REJ_* */
    snprintf(ev.reason, sizeof ev.reason, "%s", srt_rejectreason_str(ev.reject));
    pthread_mutex_lock(&g_mu);
    omn_srt *target = NULL;
    for (omn_srt *c = g_contexts; c; c = c->next_ctx)
        if (c == t_hs.ctx) target = c;
    if (target) {
        ev.listener = t_hs.listener;
        snprintf(ev.peer, sizeof ev.peer, "%s", t_hs.peer);
        snprintf(ev.streamid, sizeof ev.streamid, "%s", t_hs.streamid);
        push_reject(target, &ev);
    } else {
        for (omn_srt *c = g_contexts; c; c = c->next_ctx) push_reject(c, &ev);
    }
    t_hs.ctx = NULL;
    pthread_mutex_unlock(&g_mu);
}

/* The listen hook runs on libsrt's receiver thread for every handshake:
 * remember who it is for the reject log line; never refuse here. */
static int listen_hook(void *opaque, SRTSOCKET ns, int hsversion, const struct sockaddr *peer,
                       const char *streamid)
{
    (void)ns; (void)hsversion;
    hook_ctx *h = opaque;
    t_hs.ctx = h->s;
    t_hs.listener = h->listener;
    fmt_addr(peer, t_hs.peer, sizeof t_hs.peer);
    snprintf(t_hs.streamid, sizeof t_hs.streamid, "%s", streamid ? streamid : "");
    return 0;
}

/* ---- context ------------------------------------------------------------ */

static void set_error(omn_srt *s, const char *what)
{
    snprintf(s->last_error, sizeof s->last_error, "%s: %s", what, srt_getlasterror_str());
}

const char *omn_srt_last_error(omn_srt *s) { return s ? s->last_error : ""; }

static sock_entry *find(omn_srt *s, SRTSOCKET id)
{
    for (sock_entry *e = s->socks; e; e = e->next)
        if (e->id == id) return e;
    return NULL;
}

static void free_entry(sock_entry *e)
{
    omn_buf_free(&e->tx);
    omn_buf_free(&e->rx);
    free(e);
}

static void unlink_entry(omn_srt *s, sock_entry *e)
{
    for (sock_entry **pp = &s->socks; *pp; pp = &(*pp)->next)
        if (*pp == e) { *pp = e->next; return; }
}

/* Queues an event (mu held). DATA edges are the only ones ever dropped,
 * and only when the queue is absurdly long (omn_srt_take still works). */
static void push_event(omn_srt *s, int type, const sock_entry *e, int32_t listener, int32_t reject,
                       const char *peer, const char *streamid, const char *reason)
{
    if (type == OMN_SRT_EV_DATA && s->nevents >= MAX_EVENTS) return;
    ev_node *n = calloc(1, sizeof *n);
    if (!n) return;
    n->ev.type = type;
    n->ev.sock = e ? e->id : 0;
    n->ev.listener = listener;
    n->ev.reject = reject;
    if (peer) snprintf(n->ev.peer, sizeof n->ev.peer, "%s", peer);
    if (streamid) snprintf(n->ev.streamid, sizeof n->ev.streamid, "%s", streamid);
    if (reason) snprintf(n->ev.reason, sizeof n->ev.reason, "%s", reason);
    if (s->tail) s->tail->next = n; else s->head = n;
    s->tail = n;
    s->nevents++;
    omn_notify_signal(s->notify);
}

/* Closes a connection from the I/O side (mu held): CLOSED event once. */
static void mark_closed(omn_srt *s, sock_entry *e, const char *why)
{
    if (e->closed) return;
    e->closed = 1;
    int reject = srt_getrejectreason(e->id);
    char reason[128];
    if (why) snprintf(reason, sizeof reason, "%s", why);
    else if (reject > SRT_REJ_UNKNOWN && reject != SRT_REJ_CLOSE)
        snprintf(reason, sizeof reason, "%s", srt_rejectreason_str(reject));
    else snprintf(reason, sizeof reason, "connection closed");
    srt_epoll_remove_usock(s->eid, e->id);
    srt_close(e->id);
    push_event(s, OMN_SRT_EV_CLOSED, e, 0, reject, NULL, NULL, reason);
}

static int set_opt_int(SRTSOCKET u, SRT_SOCKOPT o, int v) { return srt_setsockflag(u, o, &v, sizeof v); }

static int apply_options(SRTSOCKET u, const omn_srt_options *o, int caller)
{
    int no = 0, live = SRTT_LIVE;
    if (srt_setsockflag(u, SRTO_TRANSTYPE, &live, sizeof live) < 0) return -1;
    if (srt_setsockflag(u, SRTO_RCVSYN, &no, sizeof no) < 0) return -1;
    if (srt_setsockflag(u, SRTO_SNDSYN, &no, sizeof no) < 0) return -1;
    if (!o) return 0;
    if (o->latency_ms > 0 && set_opt_int(u, SRTO_LATENCY, o->latency_ms) < 0) return -1;
    if (o->passphrase && o->passphrase[0] &&
        srt_setsockflag(u, SRTO_PASSPHRASE, o->passphrase, (int)strlen(o->passphrase)) < 0) return -1;
    if (o->pbkeylen > 0 && set_opt_int(u, SRTO_PBKEYLEN, o->pbkeylen) < 0) return -1;
    if (o->payload_size > 0 && set_opt_int(u, SRTO_PAYLOADSIZE, o->payload_size) < 0) return -1;
    if (o->peer_idle_ms > 0 && set_opt_int(u, SRTO_PEERIDLETIMEO, o->peer_idle_ms) < 0) return -1;
    if (caller && o->conn_timeout_ms > 0 && set_opt_int(u, SRTO_CONNTIMEO, o->conn_timeout_ms) < 0) return -1;
    if (caller && o->streamid && o->streamid[0] &&
        srt_setsockflag(u, SRTO_STREAMID, o->streamid, (int)strlen(o->streamid)) < 0) return -1;
    return 0;
}

static sock_entry *new_entry(SRTSOCKET id, const omn_srt_options *o)
{
    sock_entry *e = calloc(1, sizeof *e);
    if (!e) return NULL;
    e->id = id;
    e->payload = o && o->payload_size > 0 ? o->payload_size : DEFAULT_PAYLOAD;
    e->tx_cap = o && o->send_queue_bytes ? o->send_queue_bytes : DEFAULT_SEND_QUEUE;
    e->rx_cap = o && o->recv_queue_bytes ? o->recv_queue_bytes : DEFAULT_RECV_QUEUE;
    return e;
}

/* ---- the I/O thread ------------------------------------------------------ */

static void on_accept(omn_srt *s, sock_entry *l)
{
    for (;;) {
        struct sockaddr_storage ss;
        int sl = sizeof ss;
        SRTSOCKET c = srt_accept(l->id, (struct sockaddr *)&ss, &sl);
        if (c == SRT_INVALID_SOCK) return;           /* EASYNCRCV: no more */
        sock_entry *e = calloc(1, sizeof *e);
        if (!e) { srt_close(c); continue; }
        e->id = c;
        e->payload = l->payload;
        e->tx_cap = l->tx_cap;
        e->rx_cap = l->rx_cap;
        int no = 0;
        srt_setsockflag(c, SRTO_RCVSYN, &no, sizeof no);
        srt_setsockflag(c, SRTO_SNDSYN, &no, sizeof no);
        int events = SRT_EPOLL_IN | SRT_EPOLL_ERR;
        if (srt_epoll_add_usock(s->eid, c, &events) < 0) { srt_close(c); free(e); continue; }
        e->next = s->socks;
        s->socks = e;
        char peer[64], sid[516];
        fmt_addr((struct sockaddr *)&ss, peer, sizeof peer);
        int n = (int)sizeof sid - 1;
        memset(sid, 0, sizeof sid);
        if (srt_getsockflag(c, SRTO_STREAMID, sid, &n) < 0) sid[0] = 0;
        sid[sizeof sid - 1] = 0;
        push_event(s, OMN_SRT_EV_ACCEPTED, e, l->id, 0, peer, sid, NULL);
    }
}

static void on_readable(omn_srt *s, sock_entry *e)
{
    uint8_t msg[RX_MSG_MAX];
    int was_empty = e->rx.len == 0;
    for (;;) {
        int n = srt_recvmsg(e->id, (char *)msg, sizeof msg);
        if (n <= 0) {
            if (n < 0 && srt_getlasterror(NULL) != SRT_EASYNCRCV) mark_closed(s, e, NULL);
            break;
        }
        e->bytes_rx += (uint64_t)n;
        if (e->rx.len + (size_t)n > e->rx_cap) {
            /* the owner is not keeping up: drop the oldest half (whole bytes, the
             * demuxer resyncs) rather than grow without bound */
            size_t cut = e->rx.len / 2 + (size_t)n;
            if (cut > e->rx.len) cut = e->rx.len;
            memmove(e->rx.data, e->rx.data + cut, e->rx.len - cut);
            e->rx.len -= cut;
            e->bytes_dropped += cut;
        }
        if (omn_buf_append(&e->rx, msg, (size_t)n) != 0) e->bytes_dropped += (uint64_t)n;
    }
    if (was_empty && e->rx.len > 0) push_event(s, OMN_SRT_EV_DATA, e, 0, 0, NULL, NULL, NULL);
}

static void update_out(omn_srt *s, sock_entry *e)
{
    int want = e->connecting || e->tx_off < e->tx.len;
    if (want == e->want_out || e->closed) return;
    int events = SRT_EPOLL_IN | SRT_EPOLL_ERR | (want ? SRT_EPOLL_OUT : 0);
    srt_epoll_update_usock(s->eid, e->id, &events);
    e->want_out = want;
}

/* Sends what libsrt takes now (mu held). */
static void flush_tx(omn_srt *s, sock_entry *e)
{
    while (!e->closed && !e->connecting && e->tx_off < e->tx.len) {
        size_t n = e->tx.len - e->tx_off;
        if (n > (size_t)e->payload) n = (size_t)e->payload;
        int r = srt_sendmsg(e->id, (const char *)e->tx.data + e->tx_off, (int)n, -1, 0);
        if (r < 0) {
            if (srt_getlasterror(NULL) != SRT_EASYNCSND) mark_closed(s, e, NULL);
            break;
        }
        e->tx_off += n;
        e->bytes_tx += n;
    }
    if (e->tx_off == e->tx.len) {
        e->tx.len = 0;
        e->tx_off = 0;
    } else if (e->tx_off > (1u << 20)) {
        memmove(e->tx.data, e->tx.data + e->tx_off, e->tx.len - e->tx_off);
        e->tx.len -= e->tx_off;
        e->tx_off = 0;
    }
    update_out(s, e);
}

static void *io_thread(void *arg)
{
    omn_srt *s = arg;
    SRT_EPOLL_EVENT evs[64];
    while (!s->stop) {
        int n = srt_epoll_uwait(s->eid, evs, 64, EPOLL_WAIT_MS);
        if (n <= 0) continue;
        pthread_mutex_lock(&s->mu);
        for (int i = 0; i < n; i++) {
            sock_entry *e = find(s, evs[i].fd);
            if (!e || e->closed) continue;
            int ev = evs[i].events;
            if (e->listener) {
                if (ev & SRT_EPOLL_IN) on_accept(s, e);
                continue;
            }
            SRT_SOCKSTATUS st = srt_getsockstate(e->id);
            if (e->connecting) {
                if (st == SRTS_CONNECTED) {
                    e->connecting = 0;
                    push_event(s, OMN_SRT_EV_CONNECTED, e, 0, 0, NULL, NULL, NULL);
                } else if (st != SRTS_CONNECTING) {
                    mark_closed(s, e, NULL);
                    continue;
                }
            }
            if (ev & SRT_EPOLL_IN) on_readable(s, e);
            if (!e->closed && (ev & SRT_EPOLL_OUT)) flush_tx(s, e);
            if (!e->closed && ((ev & SRT_EPOLL_ERR) || st == SRTS_BROKEN || st == SRTS_CLOSED ||
                               st == SRTS_NONEXIST)) {
                on_readable(s, e);               /* what arrived before the close */
                mark_closed(s, e, NULL);
            }
        }
        pthread_mutex_unlock(&s->mu);
    }
    return NULL;
}

omn_srt *omn_srt_new(omn_notify *notify)
{
    if (!notify) return NULL;
    omn_srt *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    pthread_mutex_init(&s->mu, NULL);
    pthread_mutex_init(&s->rej_mu, NULL);
    s->notify = notify;
    pthread_mutex_lock(&g_mu);
    if (!g_started) {
        if (srt_startup() < 0) { pthread_mutex_unlock(&g_mu); free(s); return NULL; }
        srt_setloglevel(4 /* LOG_WARNING */);
        srt_setlogflags(SRT_LOGF_DISABLE_TIME | SRT_LOGF_DISABLE_THREADNAME |
                        SRT_LOGF_DISABLE_SEVERITY | SRT_LOGF_DISABLE_EOL);
        srt_setloghandler(NULL, log_handler);
        g_started = 1;
    }
    s->next_ctx = g_contexts;
    g_contexts = s;
    pthread_mutex_unlock(&g_mu);
    s->eid = srt_epoll_create();
    if (s->eid < 0) { omn_srt_free(s); return NULL; }
    srt_epoll_set(s->eid, SRT_EPOLL_ENABLE_EMPTY);
    if (pthread_create(&s->thread, NULL, io_thread, s) != 0) { omn_srt_free(s); return NULL; }
    s->thread_started = 1;
    return s;
}

void omn_srt_free(omn_srt *s)
{
    if (!s) return;
    pthread_mutex_lock(&g_mu);
    for (omn_srt **pp = &g_contexts; *pp; pp = &(*pp)->next_ctx)
        if (*pp == s) { *pp = s->next_ctx; break; }
    pthread_mutex_unlock(&g_mu);
    s->stop = 1;
    if (s->thread_started) pthread_join(s->thread, NULL);
    for (sock_entry *e = s->socks, *nx; e; e = nx) {
        nx = e->next;
        if (!e->closed) srt_close(e->id);
        free_entry(e);
    }
    if (s->eid >= 0) srt_epoll_release(s->eid);
    for (ev_node *n = s->head, *nx; n; n = nx) { nx = n->next; free(n); }
    for (ev_node *n = s->rej_head, *nx; n; n = nx) { nx = n->next; free(n); }
    for (hook_ctx *h = s->hooks, *nx; h; h = nx) { nx = h->next; free(h); }
    pthread_mutex_destroy(&s->mu);
    pthread_mutex_destroy(&s->rej_mu);
    free(s);
}

static int make_addr(const char *host, int32_t port, struct sockaddr_storage *ss, int *len)
{
    memset(ss, 0, sizeof *ss);
    if (port < 0 || port > 65535 || !host) return -1;
    struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons((uint16_t)port);
        *len = sizeof *a4;
        return 0;
    }
    if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)port);
        *len = sizeof *a6;
        return 0;
    }
    return -1;
}

int32_t omn_srt_listen(omn_srt *s, const char *host, int32_t port, const omn_srt_options *opt,
                       int32_t backlog)
{
    if (!s) return OMN_SRT_E_ARG;
    struct sockaddr_storage ss;
    int sl;
    if (make_addr(host, port, &ss, &sl) < 0) return OMN_SRT_E_ARG;
    SRTSOCKET u = srt_create_socket();
    if (u == SRT_INVALID_SOCK) { set_error(s, "srt_create_socket"); return OMN_SRT_E_SOCKET; }
    if (ss.ss_family == AF_INET6) { int v6only = 1; srt_setsockflag(u, SRTO_IPV6ONLY, &v6only, sizeof v6only); }
    if (apply_options(u, opt, 0) < 0) { set_error(s, "option"); srt_close(u); return OMN_SRT_E_SOCKET; }
    if (srt_bind(u, (struct sockaddr *)&ss, sl) < 0) { set_error(s, "bind"); srt_close(u); return OMN_SRT_E_SOCKET; }
    hook_ctx *h = calloc(1, sizeof *h);
    if (!h) { srt_close(u); return OMN_SRT_E_NOMEM; }
    h->s = s;
    h->listener = u;
    pthread_mutex_lock(&s->mu);
    h->next = s->hooks;
    s->hooks = h;
    pthread_mutex_unlock(&s->mu);
    srt_listen_callback(u, listen_hook, h);
    if (srt_listen(u, backlog > 0 ? backlog : 64) < 0) { set_error(s, "listen"); srt_close(u); return OMN_SRT_E_SOCKET; }
    sock_entry *e = new_entry(u, opt);
    if (!e) { srt_close(u); return OMN_SRT_E_NOMEM; }
    e->listener = 1;
    pthread_mutex_lock(&s->mu);
    int events = SRT_EPOLL_IN | SRT_EPOLL_ERR;
    if (srt_epoll_add_usock(s->eid, u, &events) < 0) {
        pthread_mutex_unlock(&s->mu);
        set_error(s, "epoll");
        srt_close(u);
        free(e);
        return OMN_SRT_E_SOCKET;
    }
    e->next = s->socks;
    s->socks = e;
    pthread_mutex_unlock(&s->mu);
    return u;
}

int32_t omn_srt_connect(omn_srt *s, const char *host, int32_t port, const omn_srt_options *opt)
{
    if (!s) return OMN_SRT_E_ARG;
    struct sockaddr_storage ss;
    int sl;
    if (make_addr(host, port, &ss, &sl) < 0) return OMN_SRT_E_ARG;
    SRTSOCKET u = srt_create_socket();
    if (u == SRT_INVALID_SOCK) { set_error(s, "srt_create_socket"); return OMN_SRT_E_SOCKET; }
    if (apply_options(u, opt, 1) < 0) { set_error(s, "option"); srt_close(u); return OMN_SRT_E_SOCKET; }
    sock_entry *e = new_entry(u, opt);
    if (!e) { srt_close(u); return OMN_SRT_E_NOMEM; }
    e->connecting = 1;
    e->want_out = 1;
    pthread_mutex_lock(&s->mu);
    int events = SRT_EPOLL_IN | SRT_EPOLL_OUT | SRT_EPOLL_ERR;
    if (srt_epoll_add_usock(s->eid, u, &events) < 0 || srt_connect(u, (struct sockaddr *)&ss, sl) < 0) {
        set_error(s, "connect");
        srt_epoll_remove_usock(s->eid, u);
        pthread_mutex_unlock(&s->mu);
        srt_close(u);
        free(e);
        return OMN_SRT_E_SOCKET;
    }
    e->next = s->socks;
    s->socks = e;
    pthread_mutex_unlock(&s->mu);
    return u;
}

int omn_srt_send(omn_srt *s, int32_t sock, const uint8_t *data, size_t len)
{
    if (!s || (!data && len)) return OMN_SRT_E_ARG;
    pthread_mutex_lock(&s->mu);
    sock_entry *e = find(s, sock);
    int rc = OMN_SRT_OK;
    if (!e || e->listener) rc = OMN_SRT_E_ARG;
    else if (e->closed) rc = OMN_SRT_E_CLOSED;
    else if (e->tx.len - e->tx_off + len > e->tx_cap) rc = OMN_SRT_E_FULL;
    else if (omn_buf_append(&e->tx, data, len) != 0) rc = OMN_SRT_E_NOMEM;
    else flush_tx(s, e);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int64_t omn_srt_take(omn_srt *s, int32_t sock, omn_buf *out)
{
    if (!s || !out) return OMN_SRT_E_ARG;
    pthread_mutex_lock(&s->mu);
    sock_entry *e = find(s, sock);
    int64_t n;
    if (!e || e->listener) n = OMN_SRT_E_ARG;
    else if (e->rx.len == 0) n = 0;
    else if (out->len == 0 && out->cap <= e->rx.cap) {
        /* swap buffers: no copy on the common path */
        omn_buf t = *out;
        *out = e->rx;
        e->rx = t;
        e->rx.len = 0;
        n = (int64_t)out->len;
    } else if (omn_buf_append(out, e->rx.data, e->rx.len) != 0) n = OMN_SRT_E_NOMEM;
    else { n = (int64_t)e->rx.len; e->rx.len = 0; }
    pthread_mutex_unlock(&s->mu);
    return n;
}

int omn_srt_next_event(omn_srt *s, omn_srt_event *ev)
{
    if (!s || !ev) return 0;
    /* refused handshakes first: they never own a socket */
    pthread_mutex_lock(&s->rej_mu);
    ev_node *r = s->rej_head;
    if (r) {
        s->rej_head = r->next;
        if (!s->rej_head) s->rej_tail = NULL;
    }
    pthread_mutex_unlock(&s->rej_mu);
    if (r) { *ev = r->ev; free(r); return 1; }
    pthread_mutex_lock(&s->mu);
    ev_node *n = s->head;
    if (n) {
        s->head = n->next;
        if (!s->head) s->tail = NULL;
        s->nevents--;
        *ev = n->ev;
        if (n->ev.type == OMN_SRT_EV_CLOSED) {
            /* the owner has seen the close: the entry (and any untaken bytes) go */
            sock_entry *e = find(s, n->ev.sock);
            if (e && e->closed) { unlink_entry(s, e); free_entry(e); }
        }
    }
    pthread_mutex_unlock(&s->mu);
    free(n);
    return n != NULL;
}

int omn_srt_close(omn_srt *s, int32_t sock)
{
    if (!s) return OMN_SRT_E_ARG;
    pthread_mutex_lock(&s->mu);
    sock_entry *e = find(s, sock);
    int rc = OMN_SRT_OK;
    if (!e) rc = OMN_SRT_E_ARG;
    else if (e->listener) {
        srt_epoll_remove_usock(s->eid, e->id);
        srt_close(e->id);
        unlink_entry(s, e);
        free_entry(e);
    } else if (!e->closed) mark_closed(s, e, "closed by the server");
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int omn_srt_socket_stats_get(omn_srt *s, int32_t sock, omn_srt_socket_stats *out)
{
    if (!s || !out) return OMN_SRT_E_ARG;
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&s->mu);
    sock_entry *e = find(s, sock);
    int rc = OMN_SRT_OK;
    if (!e) rc = OMN_SRT_E_ARG;
    else {
        out->bytes_received = e->bytes_rx;
        out->bytes_sent = e->bytes_tx;
        out->bytes_dropped = e->bytes_dropped;
        out->send_queued = (uint32_t)(e->tx.len - e->tx_off);
        SRT_TRACEBSTATS st;
        if (!e->closed && !e->listener && srt_bstats(e->id, &st, 0) == 0) {
            out->pkts_lost = st.pktRcvLossTotal > 0 ? (uint64_t)st.pktRcvLossTotal : 0;
            out->pkts_retrans = st.pktRetransTotal > 0 ? (uint64_t)st.pktRetransTotal : 0;
            out->rtt_us = (int32_t)(st.msRTT * 1000.0);
        }
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int32_t omn_srt_local_port(omn_srt *s, int32_t sock)
{
    if (!s) return OMN_SRT_E_ARG;
    struct sockaddr_storage ss;
    int sl = sizeof ss;
    if (srt_getsockname(sock, (struct sockaddr *)&ss, &sl) < 0) return OMN_SRT_E_SOCKET;
    if (ss.ss_family == AF_INET) return ntohs(((struct sockaddr_in *)&ss)->sin_port);
    if (ss.ss_family == AF_INET6) return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return OMN_SRT_E_SOCKET;
}

/* edge.c - the media edge's HTTP/1.1 server thread: accepts, reads request heads, answers
 * from the stored answers (edge_cache.c), parks blocking playlist requests on their
 * playlist's state, and queues every other request for the event loop (a "miss").
 *
 * One thread, one epoll, level-triggered. A connection handles one request at a time
 * (pipelined requests wait in its input buffer), so answers always go out in order.
 * One mutex guards what the loop's calls touch: the answer and state maps, the miss and
 * response queues, the stats. Connections belong to the thread alone. */
#define _GNU_SOURCE
#include "edge_internal.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define MAX_HEAD (16 * 1024)         /* as the loop's server: a longer head gets 431 */
#define MAX_BODY (1 << 20)           /* request bodies are skipped up to this; larger: the loop says 413 */
#define HEAD_TIMEOUT_NS (10LL * 1000000000LL)
#define KEEPALIVE_NS (75LL * 1000000000LL)
#define MAX_LISTENERS 16
#define KEY_CAP 4096
#define READ_MIN 1024               /* free input space below which the buffer grows */
#define IN_START 4096                /* input buffer of a connection (enough for any LL-HLS head) */
#define TAG_LISTENER (1ULL << 62)
#define TAG_WAKE (1ULL << 61)

enum { C_READ, C_MISS, C_PARKED, C_WRITE };

typedef struct edge_conn {
    int fd;
    uint32_t slot, gen;
    int state;
    int dead;                        /* closed; freed (and its slot reused) after this epoll round */
    struct edge_conn *next_dead;
    size_t head_len;                 /* the current request's head, without the blank line */
    uint32_t events;                 /* epoll interest now registered */
    uint8_t *in;                     /* buffered input; the current request stays at its front */
    size_t in_len, in_cap;
    size_t req_len;                  /* head + body of the current request */
    int keep;                        /* keep the connection after the current answer */
    int64_t t0_ns;
    int64_t last_ns;                 /* last activity (for the idle and head timeouts) */
    /* parked */
    edge_state *park;
    struct edge_conn *wprev, *wnext;
    int64_t park_msn, park_part, deadline_ns;
    char *key;                       /* the current request's answer key: the edge's scratch while it
                                        is processed, an own copy (key_owned) while parked */
    size_t key_len, state_key_len;
    int key_owned;
    /* output */
    uint8_t *hbuf;                   /* head of a stored answer, or the loop's whole answer */
    size_t hbuf_len, hbuf_cap;
    edge_answer *answer;             /* the stored answer being sent (a reference) */
    size_t out_total, out_sent;
    int close_after;
} edge_conn;

typedef struct miss_item {
    struct miss_item *next;
    uint64_t conn;
    int64_t t0_ns;
    int expired;
    uint8_t *head;
    size_t head_len;
    char *key;
    size_t key_len;
} miss_item;

typedef struct resp_item {
    struct resp_item *next;
    uint64_t conn;
    int close_after;
    size_t len;
    uint8_t data[];
} resp_item;

struct omn_edge {
    omn_notify *notify;
    char server_name[64];
    int epfd, wakefd;
    int listeners[MAX_LISTENERS];
    int n_listeners;
    pthread_t thread;
    int started;
    int stop;                        /* atomic */
    int wake_pending;                /* atomic: the wake eventfd was written and not yet read */

    pthread_mutex_t lock;            /* guards everything below */
    edge_map answers, states, groups;
    edge_state *dirty;
    miss_item *miss_head, *miss_tail, *miss_popped;
    resp_item *resp_head, *resp_tail;
    omn_edge_stats stats;
    char origin_free[64][256];       /* path prefixes whose answers do not vary by Origin */
    uint8_t origin_free_len[64];
    int n_origin_free;

    /* the thread's own */
    edge_conn **conns;
    uint32_t n_slots, cap_slots;
    uint32_t *free_slots;
    uint32_t n_free;
    edge_conn *graveyard;
    char keybuf[KEY_CAP];            /* answer key + state key of the request being processed */
    char date[64];                   /* "Date: ...\r\n" */
    size_t date_len;
    int64_t date_sec;
    int64_t next_sweep_ns, next_park_sweep_ns;
};

static int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void refresh_date(omn_edge *e) {
    time_t t = time(NULL);
    if ((int64_t)t == e->date_sec) return;
    struct tm tm;
    gmtime_r(&t, &tm);
    e->date_len = strftime(e->date, sizeof e->date, "Date: %a, %d %b %Y %H:%M:%S GMT\r\n", &tm);
    e->date_sec = (int64_t)t;
}

static void wake(omn_edge *e) {
    if (__atomic_exchange_n(&e->wake_pending, 1, __ATOMIC_ACQ_REL)) return;
    uint64_t one = 1;
    while (write(e->wakefd, &one, sizeof one) < 0 && errno == EINTR) {}
}

/* ---- public: life cycle ------------------------------------------------------------ */

omn_edge *omn_edge_new(omn_notify *notify, const char *server_name) {
    omn_edge *e = calloc(1, sizeof *e);
    if (!e) return NULL;
    e->notify = notify;
    snprintf(e->server_name, sizeof e->server_name, "%s", server_name ? server_name : "ome");
    e->epfd = epoll_create1(EPOLL_CLOEXEC);
    e->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (e->epfd < 0 || e->wakefd < 0 || edge_map_init(&e->answers) || edge_map_init(&e->states) ||
        edge_map_init(&e->groups) || pthread_mutex_init(&e->lock, NULL)) {
        if (e->epfd >= 0) close(e->epfd);
        if (e->wakefd >= 0) close(e->wakefd);
        edge_map_free(&e->answers);
        edge_map_free(&e->states);
        edge_map_free(&e->groups);
        free(e);
        return NULL;
    }
    e->date_sec = -1;
    refresh_date(e);
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = TAG_WAKE};
    epoll_ctl(e->epfd, EPOLL_CTL_ADD, e->wakefd, &ev);
    return e;
}

int omn_edge_add_listener(omn_edge *e, int fd) {
    if (e->n_listeners >= MAX_LISTENERS) return -1;
    int idx = e->n_listeners;
    e->listeners[idx] = fd;                 /* stored before epoll can report it to the thread */
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = TAG_LISTENER | (uint64_t)idx};
    if (epoll_ctl(e->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) return -1;
    __atomic_store_n(&e->n_listeners, idx + 1, __ATOMIC_RELEASE);
    return 0;
}

/* ---- connections (thread only) -------------------------------------------------- */

static uint64_t conn_id(const edge_conn *c) { return ((uint64_t)c->gen << 32) | c->slot; }

static edge_conn *conn_by_id(omn_edge *e, uint64_t id) {
    uint32_t slot = (uint32_t)id, gen = (uint32_t)(id >> 32);
    if (slot >= e->n_slots) return NULL;
    edge_conn *c = e->conns[slot];
    return c && c->gen == gen ? c : NULL;
}

static void set_events(omn_edge *e, edge_conn *c, uint32_t events) {
    if (c->events == events) return;
    struct epoll_event ev = {.events = events, .data.u64 = c->slot};
    epoll_ctl(e->epfd, EPOLL_CTL_MOD, c->fd, &ev);
    c->events = events;
}

static void unpark(omn_edge *e, edge_conn *c) {
    edge_state *s = c->park;
    if (!s) return;
    if (c->wprev) c->wprev->wnext = c->wnext; else s->waiters = c->wnext;
    if (c->wnext) c->wnext->wprev = c->wprev;
    c->wprev = c->wnext = NULL;
    c->park = NULL;
    s->n_waiters--;
    e->stats.parked_now--;
}

static void drop_key(edge_conn *c) {
    if (c->key_owned) free(c->key);
    c->key = NULL;
    c->key_owned = 0;
}

static void release_output(edge_conn *c) {
    if (c->answer) { edge_answer_unref(c->answer); c->answer = NULL; }
    c->out_total = c->out_sent = 0;
    c->hbuf_len = 0;
    if (c->hbuf_cap > 64 * 1024) {           /* a large answer from the loop: do not keep its buffer */
        free(c->hbuf);
        c->hbuf = NULL;
        c->hbuf_cap = 0;
    }
}

static void conn_close(omn_edge *e, edge_conn *c) {
    if (c->dead) return;
    if (c->park) {
        pthread_mutex_lock(&e->lock);
        unpark(e, c);
        pthread_mutex_unlock(&e->lock);
    }
    release_output(c);
    epoll_ctl(e->epfd, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    c->fd = -1;
    c->dead = 1;
    c->next_dead = e->graveyard;
    e->graveyard = c;
    pthread_mutex_lock(&e->lock);
    e->stats.open_connections--;
    pthread_mutex_unlock(&e->lock);
}

/* Frees the connections closed during this round; only now can their slots be reused (an
 * event of this round may still name the slot). */
static void bury(omn_edge *e) {
    while (e->graveyard) {
        edge_conn *c = e->graveyard;
        e->graveyard = c->next_dead;
        e->conns[c->slot] = NULL;
        e->free_slots[e->n_free++] = c->slot;
        free(c->in);
        free(c->hbuf);
        drop_key(c);
        free(c);
    }
}

static void accept_all(omn_edge *e, int lfd) {
    for (;;) {
        int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) return;                 /* EAGAIN, or a transient error: epoll tells us again */
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        if (!e->n_free && e->n_slots == e->cap_slots) {
            uint32_t cap = e->cap_slots ? e->cap_slots * 2 : 256;
            edge_conn **conns = realloc(e->conns, cap * sizeof *conns);
            if (conns) e->conns = conns;
            uint32_t *fs = conns ? realloc(e->free_slots, cap * sizeof *fs) : NULL;
            if (!conns || !fs) { close(fd); return; }
            e->free_slots = fs;
            e->cap_slots = cap;
        }
        edge_conn *c = calloc(1, sizeof *c);
        if (!c) { close(fd); return; }
        c->slot = e->n_free ? e->free_slots[--e->n_free] : e->n_slots++;
        static uint32_t gen_counter;
        c->gen = ++gen_counter;
        c->fd = fd;
        c->state = C_READ;
        c->events = EPOLLIN;
        c->last_ns = now_ns();
        e->conns[c->slot] = c;
        struct epoll_event ev = {.events = EPOLLIN, .data.u64 = c->slot};
        if (epoll_ctl(e->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
            e->conns[c->slot] = NULL;
            e->free_slots[e->n_free++] = c->slot;
            close(fd);
            free(c);
            continue;
        }
        pthread_mutex_lock(&e->lock);
        e->stats.connections++;
        e->stats.open_connections++;
        pthread_mutex_unlock(&e->lock);
    }
}

static int hbuf_reserve(edge_conn *c, size_t need) {
    if (need <= c->hbuf_cap) return 0;
    size_t cap = c->hbuf_cap ? c->hbuf_cap : 512;
    while (cap < need) cap *= 2;
    uint8_t *b = realloc(c->hbuf, cap);
    if (!b) return -1;
    c->hbuf = b;
    c->hbuf_cap = cap;
    return 0;
}

static void hbuf_add(edge_conn *c, const void *s, size_t n) {
    memcpy(c->hbuf + c->hbuf_len, s, n);
    c->hbuf_len += n;
}

static void process(omn_edge *e, edge_conn *c);

/* After an answer finished outside process() (EPOLLOUT, the loop's answer, a wake-up). */
static void continue_conn(omn_edge *e, edge_conn *c) {
    if (!c->dead && c->state == C_READ && c->in_len) process(e, c);
}

/* The current answer is out: drop the request from the input, then the next one (if any). */
static void answered(omn_edge *e, edge_conn *c) {
    release_output(c);
    drop_key(c);
    if (c->close_after) { conn_close(e, c); return; }
    size_t used = c->req_len <= c->in_len ? c->req_len : c->in_len;
    memmove(c->in, c->in + used, c->in_len - used);
    c->in_len -= used;
    c->req_len = 0;
    c->state = C_READ;
    c->last_ns = now_ns();
    set_events(e, c, EPOLLIN);
    /* a pipelined request already buffered is taken by process()'s loop, or by continue_conn() */
}

/* Sends what is pending; 0 when all is out (then `answered`), 1 waiting for EPOLLOUT, -1 closed. */
static int flush_out(omn_edge *e, edge_conn *c) {
    while (c->out_sent < c->out_total) {
        struct iovec iov[64];
        int n = 0;
        size_t off = c->out_sent;
        if (off < c->hbuf_len) {
            iov[n].iov_base = c->hbuf + off;
            iov[n].iov_len = c->hbuf_len - off;
            n++;
            off = 0;
        } else {
            off -= c->hbuf_len;
        }
        if (c->answer) {
            for (size_t i = 0; i < c->answer->n_bodies && n < 64; i++) {
                omn_edge_body *b = c->answer->bodies[i];
                if (off >= b->len) { off -= b->len; continue; }
                iov[n].iov_base = b->data + off;
                iov[n].iov_len = b->len - off;
                n++;
                off = 0;
            }
        }
        /* sendmsg, not writev: MSG_NOSIGNAL, so a client that left costs EPIPE, never a SIGPIPE */
        struct msghdr msg = {.msg_iov = iov, .msg_iovlen = (size_t)n};
        ssize_t w = sendmsg(c->fd, &msg, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                c->state = C_WRITE;
                set_events(e, c, EPOLLOUT);
                return 1;
            }
            conn_close(e, c);
            return -1;
        }
        c->out_sent += (size_t)w;
        __atomic_add_fetch(&e->stats.bytes_out, (uint64_t)w, __ATOMIC_RELAXED);
    }
    answered(e, c);
    return 0;
}

/* Starts sending a stored answer (the caller's reference moves to the connection). */
static void send_answer(omn_edge *e, edge_conn *c, edge_answer *a) {
    size_t need = 32 + strlen(e->server_name) + 16 + e->date_len + a->head_len + 48 + 24;
    if (hbuf_reserve(c, need)) { edge_answer_unref(a); conn_close(e, c); return; }
    refresh_date(e);
    c->hbuf_len = 0;
    hbuf_add(c, "HTTP/1.1 200 OK\r\nServer: ", 25);
    hbuf_add(c, e->server_name, strlen(e->server_name));
    hbuf_add(c, "\r\n", 2);
    hbuf_add(c, e->date, e->date_len);
    hbuf_add(c, a->head, a->head_len);
    char cl[64];
    int n = snprintf(cl, sizeof cl, "Content-Length: %zu\r\n", a->body_len);
    hbuf_add(c, cl, (size_t)n);
    if (c->keep) hbuf_add(c, "\r\n", 2);
    else hbuf_add(c, "Connection: close\r\n\r\n", 21);
    c->close_after = !c->keep;
    c->answer = a;
    c->out_total = c->hbuf_len + a->body_len;
    c->out_sent = 0;
    c->state = C_WRITE;
    flush_out(e, c);
}

/* Sends bytes this edge owns (the loop's answer, or a 431). */
static void send_bytes(omn_edge *e, edge_conn *c, const uint8_t *data, size_t len, int close_after) {
    release_output(c);
    if (hbuf_reserve(c, len ? len : 1)) { conn_close(e, c); return; }
    memcpy(c->hbuf, data, len);
    c->hbuf_len = len;
    c->out_total = len;
    c->out_sent = 0;
    c->close_after = close_after;
    c->state = C_WRITE;
    flush_out(e, c);
}

/* Queues the current request for the loop (lock held by the caller). 0, or -1. */
static int queue_miss_locked(omn_edge *e, edge_conn *c, int expired) {
    size_t head_len = c->head_len;
    miss_item *m = calloc(1, sizeof *m);
    if (!m) return -1;
    m->head = malloc(head_len ? head_len : 1);
    m->key = malloc(c->key_len ? c->key_len : 1);
    if (!m->head || !m->key) { free(m->head); free(m->key); free(m); return -1; }
    memcpy(m->head, c->in, head_len);
    m->head_len = head_len;
    if (c->key_len) memcpy(m->key, c->key, c->key_len);
    m->key_len = c->key_len;
    m->conn = conn_id(c);
    m->t0_ns = c->t0_ns;
    m->expired = expired;
    int was_empty = e->miss_head == NULL;
    if (e->miss_tail) e->miss_tail->next = m; else e->miss_head = m;
    e->miss_tail = m;
    e->stats.misses++;
    c->state = C_MISS;
    if (was_empty) omn_notify_signal(e->notify);
    return 0;
}

static const uint8_t TOO_LARGE[] =
    "HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Type: text/plain; charset=utf-8\r\n"
    "Content-Length: 31\r\nConnection: close\r\n\r\nRequest Header Fields Too Large";

/* When the request's path has answers that do not vary by Origin, removes the origin from its key
 * (host "\n" origin "\n" flag path... -> host "\n\n" flag path...), the state key following. */
static void drop_origin_if_free(omn_edge *e, edge_conn *c) {
    char *k = c->key;
    char *nl1 = memchr(k, '\n', c->key_len);
    char *nl2 = nl1 ? memchr(nl1 + 1, '\n', c->key_len - (size_t)(nl1 + 1 - k)) : NULL;
    if (!nl2 || nl2 == nl1 + 1) return;                  /* no origin in the key */
    const char *path = nl2 + 2;                          /* after the gzip flag */
    size_t path_room = c->key_len - (size_t)(path - k);
    int found = 0;
    pthread_mutex_lock(&e->lock);
    for (int i = 0; i < e->n_origin_free && !found; i++) {
        size_t n = e->origin_free_len[i];
        found = n <= path_room && memcmp(path, e->origin_free[i], n) == 0;
    }
    pthread_mutex_unlock(&e->lock);
    if (!found) return;
    size_t origin_len = (size_t)(nl2 - nl1 - 1);
    size_t tail = c->key_len + c->state_key_len - (size_t)(nl2 - k);
    memmove(nl1 + 1, nl2, tail);
    c->key_len -= origin_len;
}

/* Handles one request at the front of the input buffer; 1 when it was answered at once and
 * the next one may follow, 0 otherwise (incomplete, parked, with the loop, sending, closed). */
static int process_one(omn_edge *e, edge_conn *c) {
    omn_edge_head h;
    if (omn_edge_parse_head(c->in, c->in_len, MAX_HEAD, &h, e->keybuf, KEY_CAP) < 0) {
        send_bytes(e, c, TOO_LARGE, sizeof TOO_LARGE - 1, 1);
        return 0;
    }
    if (!h.complete) return 0;               /* wait for the rest of the head */
    size_t body = h.content_length > 0 && h.content_length <= MAX_BODY ? (size_t)h.content_length : 0;
    if (c->in_len < h.head_len + body) return 0;   /* wait for the (skipped) body */
    c->req_len = h.head_len + body;
    c->keep = h.keep_alive;
    c->t0_ns = now_ns();
    c->key = e->keybuf;
    c->key_owned = 0;
    c->key_len = h.storable ? h.key_len : 0;
    c->state_key_len = h.storable ? h.state_key_len : 0;
    if (h.storable) drop_origin_if_free(e, c);
    c->head_len = h.head_len - 4;

    pthread_mutex_lock(&e->lock);
    e->stats.requests++;
    if (h.storable) {
        uint32_t hash = edge_hash(c->key, c->key_len);
        edge_answer *a = (edge_answer *)edge_map_get(&e->answers, c->key, c->key_len, hash);
        if (a) {
            edge_answer_ref(a);
            e->stats.hits++;
            pthread_mutex_unlock(&e->lock);
            c->key = NULL;
            send_answer(e, c, a);
            return !c->dead && c->state == C_READ;
        }
        if (h.has_msn && h.has_part) {
            const char *sk = c->key + c->key_len;
            edge_state *s = (edge_state *)edge_map_get(&e->states, sk, c->state_key_len,
                                                       edge_hash(sk, c->state_key_len));
            int64_t M = h.msn, P = h.part;
            char *own = NULL;
            if (s && s->open && (M > s->msn || (M == s->msn && P > s->part)) &&
                ((M == s->msn && P <= s->part + s->ahead) || (M > s->msn && M <= s->msn + 2 && P <= s->ahead)) &&
                (int64_t)s->n_waiters < s->max_parked && (own = malloc(c->key_len)) != NULL) {
                memcpy(own, c->key, c->key_len);   /* the scratch is the next request's */
                c->key = own;
                c->key_owned = 1;
                c->park = s;
                c->park_msn = M;
                c->park_part = P;
                c->deadline_ns = c->t0_ns + s->timeout_ms * 1000000LL;
                c->wprev = NULL;
                c->wnext = s->waiters;
                if (s->waiters) s->waiters->wprev = c;
                s->waiters = c;
                s->n_waiters++;
                c->state = C_PARKED;
                e->stats.parked++;
                e->stats.parked_now++;
                pthread_mutex_unlock(&e->lock);
                set_events(e, c, 0);
                return 0;
            }
        }
    }
    int rc = queue_miss_locked(e, c, 0);
    pthread_mutex_unlock(&e->lock);
    c->key = NULL;                           /* copied into the miss */
    if (rc) conn_close(e, c);
    else set_events(e, c, 0);                /* nothing more is read until the loop answers */
    return 0;
}

/* Handles the buffered requests in order, as long as each is answered at once. */
static void process(omn_edge *e, edge_conn *c) {
    while (!c->dead && c->state == C_READ && c->in_len && process_one(e, c)) {}
}

static void on_readable(omn_edge *e, edge_conn *c) {
    for (;;) {
        if (c->in_cap - c->in_len < READ_MIN) {
            size_t cap = c->in_cap ? c->in_cap * 2 : IN_START;
            if (cap > MAX_HEAD + MAX_BODY + 2 * IN_START) {
                if (c->in_cap - c->in_len == 0) { conn_close(e, c); return; }
                cap = c->in_cap;
            }
            if (cap != c->in_cap) {
                uint8_t *b = realloc(c->in, cap);
                if (!b) { conn_close(e, c); return; }
                c->in = b;
                c->in_cap = cap;
            }
        }
        ssize_t r = read(c->fd, c->in + c->in_len, c->in_cap - c->in_len);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
        if (r <= 0) { conn_close(e, c); return; }
        c->in_len += (size_t)r;
        c->last_ns = now_ns();
        if (c->in_len < c->in_cap) break;   /* short read: the socket is drained */
        if (c->state != C_READ) break;
        process(e, c);
        if (c->dead || c->state != C_READ) return;
    }
    process(e, c);
}

/* ---- loop-side work the thread picks up ------------------------------------------- */

/* Answers the loop queued, then parked requests whose playlists moved. */
static void drain_wakeups(omn_edge *e) {
    /* clear the flag first: a wake after this point writes the eventfd again */
    __atomic_store_n(&e->wake_pending, 0, __ATOMIC_SEQ_CST);
    uint64_t v;
    while (read(e->wakefd, &v, sizeof v) < 0 && errno == EINTR) {}

    pthread_mutex_lock(&e->lock);
    resp_item *r = e->resp_head;
    e->resp_head = e->resp_tail = NULL;
    edge_state *dirty = e->dirty;
    e->dirty = NULL;
    /* woken waiters: (conn, answer or NULL = miss) pairs, sent after unlocking */
    edge_conn *ready = NULL;
    for (edge_state *s = dirty; s; ) {
        edge_state *next = s->next_dirty;
        s->dirty = 0;
        s->next_dirty = NULL;
        for (edge_conn *c = s->waiters; c; ) {
            edge_conn *cn = c->wnext;
            int satisfied = !s->open || s->msn > c->park_msn || (s->msn == c->park_msn && s->part >= c->park_part);
            if (satisfied) {
                unpark(e, c);
                edge_answer *a = (edge_answer *)edge_map_get(&e->answers, c->key, c->key_len,
                                                             edge_hash(c->key, c->key_len));
                if (a) {
                    edge_answer_ref(a);
                    e->stats.hits++;
                    c->answer = a;              /* picked up below, after unlocking */
                    c->wnext = ready;
                    ready = c;
                } else {
                    queue_miss_locked(e, c, 0);  /* no memory: it stays C_PARKED-less until its socket closes */
                }
            }
            c = cn;
        }
        if (!s->open && !s->waiters) {
            edge_map_remove(&e->states, s->node.key, s->node.key_len, s->node.hash);
            e->stats.states--;
            free(s->node.key);
            free(s);
        }
        s = next;
    }
    pthread_mutex_unlock(&e->lock);

    for (edge_conn *c = ready; c; ) {
        edge_conn *cn = c->wnext;
        c->wnext = NULL;
        edge_answer *a = c->answer;
        c->answer = NULL;
        if (c->dead) edge_answer_unref(a);
        else {
            drop_key(c);
            send_answer(e, c, a);
            continue_conn(e, c);
        }
        c = cn;
    }
    while (r) {
        resp_item *next = r->next;
        edge_conn *c = conn_by_id(e, r->conn);
        if (c && !c->dead && c->state == C_MISS) {
            send_bytes(e, c, r->data, r->len, r->close_after);
            continue_conn(e, c);
        }
        free(r);
        r = next;
    }
}

/* Parked requests past their deadline go to the loop (every 50 ms, while any is parked);
 * idle and slow-head connections close (every second). */
static void sweep(omn_edge *e, int64_t now, int idle_too) {
    refresh_date(e);
    for (uint32_t i = 0; i < e->n_slots; i++) {
        edge_conn *c = e->conns[i];
        if (!c || c->dead) continue;
        if (c->state == C_PARKED && now >= c->deadline_ns) {
            pthread_mutex_lock(&e->lock);
            unpark(e, c);
            int rc = queue_miss_locked(e, c, 1);
            pthread_mutex_unlock(&e->lock);
            if (rc) conn_close(e, c);
        } else if (idle_too && c->state == C_READ) {
            int64_t limit = c->in_len ? HEAD_TIMEOUT_NS : KEEPALIVE_NS;
            if (now - c->last_ns >= limit) conn_close(e, c);
        }
    }
}

static void *edge_main(void *arg) {
    omn_edge *e = arg;
    struct epoll_event evs[256];
    while (!__atomic_load_n(&e->stop, __ATOMIC_ACQUIRE)) {
        int n = epoll_wait(e->epfd, evs, 256, 50);
        for (int i = 0; i < n; i++) {
            uint64_t tag = evs[i].data.u64;
            if (tag & TAG_LISTENER) { accept_all(e, e->listeners[tag & 0xffff]); continue; }
            if (tag & TAG_WAKE) { drain_wakeups(e); continue; }
            edge_conn *c = tag < e->n_slots ? e->conns[tag] : NULL;
            if (!c || c->dead) continue;
            uint32_t ev = evs[i].events;
            if (c->state == C_WRITE && (ev & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
                flush_out(e, c);
                continue_conn(e, c);
            }
            else if (c->state == C_READ && (ev & (EPOLLIN | EPOLLERR | EPOLLHUP))) on_readable(e, c);
            else if (ev & (EPOLLERR | EPOLLHUP)) {
                /* parked or with the loop: the answer has nowhere to go, but the loop still owns
                 * a miss id (its answer is dropped by id), so the socket can go now */
                conn_close(e, c);
            }
        }
        int64_t now = now_ns();
        if (now >= e->next_sweep_ns) {
            sweep(e, now, 1);
            e->next_sweep_ns = now + 1000000000LL;
            e->next_park_sweep_ns = now + 50000000LL;
        } else if (now >= e->next_park_sweep_ns && __atomic_load_n(&e->stats.parked_now, __ATOMIC_RELAXED)) {
            sweep(e, now, 0);
            e->next_park_sweep_ns = now + 50000000LL;
        }
        bury(e);
    }
    return NULL;
}

int omn_edge_start(omn_edge *e) {
    if (e->started) return -1;
    if (pthread_create(&e->thread, NULL, edge_main, e)) return -1;
    e->started = 1;
    return 0;
}

void omn_edge_free(omn_edge *e) {
    if (!e) return;
    if (e->started) {
        __atomic_store_n(&e->stop, 1, __ATOMIC_RELEASE);
        uint64_t one = 1;
        while (write(e->wakefd, &one, sizeof one) < 0 && errno == EINTR) {}
        pthread_join(e->thread, NULL);
    }
    for (uint32_t i = 0; i < e->n_slots; i++)
        if (e->conns[i]) conn_close(e, e->conns[i]);
    bury(e);
    for (int i = 0; i < e->n_listeners; i++) close(e->listeners[i]);
    for (size_t i = 0; i < e->answers.cap; i++) {
        edge_node *n = e->answers.buckets[i];
        while (n) { edge_node *next = n->next; edge_answer_unref((edge_answer *)n); n = next; }
    }
    for (size_t i = 0; i < e->states.cap; i++) {
        edge_node *n = e->states.buckets[i];
        while (n) { edge_node *next = n->next; free(n->key); free(n); n = next; }
    }
    for (size_t i = 0; i < e->groups.cap; i++) {
        edge_node *n = e->groups.buckets[i];
        while (n) { edge_node *next = n->next; free(n->key); free(n); n = next; }
    }
    edge_map_free(&e->answers);
    edge_map_free(&e->states);
    edge_map_free(&e->groups);
    for (miss_item *m = e->miss_head; m; ) { miss_item *n = m->next; free(m->head); free(m->key); free(m); m = n; }
    if (e->miss_popped) { free(e->miss_popped->head); free(e->miss_popped->key); free(e->miss_popped); }
    for (resp_item *r = e->resp_head; r; ) { resp_item *n = r->next; free(r); r = n; }
    free(e->conns);
    free(e->free_slots);
    close(e->epfd);
    close(e->wakefd);
    pthread_mutex_destroy(&e->lock);
    free(e);
}

/* ---- public: the loop's side -------------------------------------------------------- */

int omn_edge_next_miss(omn_edge *e, omn_edge_miss *out) {
    pthread_mutex_lock(&e->lock);
    if (e->miss_popped) {
        free(e->miss_popped->head);
        free(e->miss_popped->key);
        free(e->miss_popped);
        e->miss_popped = NULL;
    }
    miss_item *m = e->miss_head;
    if (m) {
        e->miss_head = m->next;
        if (!e->miss_head) e->miss_tail = NULL;
        e->miss_popped = m;
    }
    pthread_mutex_unlock(&e->lock);
    if (!m) return 0;
    out->conn = m->conn;
    out->t0_ns = m->t0_ns;
    out->head = m->head;
    out->head_len = m->head_len;
    out->key = m->key;
    out->key_len = m->key_len;
    out->expired = m->expired;
    return 1;
}

int omn_edge_respond(omn_edge *e, uint64_t conn, const uint8_t *data, size_t len, int32_t close_after) {
    resp_item *r = malloc(sizeof *r + (len ? len : 1));
    if (!r) return -1;
    r->next = NULL;
    r->conn = conn;
    r->close_after = close_after;
    r->len = len;
    if (len) memcpy(r->data, data, len);
    pthread_mutex_lock(&e->lock);
    if (e->resp_tail) e->resp_tail->next = r; else e->resp_head = r;
    e->resp_tail = r;
    pthread_mutex_unlock(&e->lock);
    wake(e);
    return 0;
}

/* Links a (mapped) answer into its group, creating the group. -1: no memory. Lock held. */
static int group_link(omn_edge *e, edge_answer *a) {
    char gkey[8];
    memcpy(gkey, &a->group, 8);
    uint32_t hash = edge_hash(gkey, 8);
    edge_group *g = (edge_group *)edge_map_get(&e->groups, gkey, 8, hash);
    if (!g) {
        g = calloc(1, sizeof *g);
        char *k = g ? malloc(8) : NULL;
        if (!k) { free(g); return -1; }
        memcpy(k, gkey, 8);
        g->node.key = k;
        g->node.key_len = 8;
        g->node.hash = hash;
        g->id = a->group;
        edge_map_set(&e->groups, &g->node);
    }
    a->grp = g;
    a->gprev = NULL;
    a->gnext = g->answers;
    if (g->answers) g->answers->gprev = a;
    g->answers = a;
    g->n++;
    return 0;
}

/* Unlinks an answer from its group, freeing the group when it empties. Lock held. */
static void group_unlink(omn_edge *e, edge_answer *a) {
    edge_group *g = a->grp;
    if (!g) return;
    if (a->gprev) a->gprev->gnext = a->gnext; else g->answers = a->gnext;
    if (a->gnext) a->gnext->gprev = a->gprev;
    a->gprev = a->gnext = NULL;
    a->grp = NULL;
    if (--g->n == 0) {
        edge_map_remove(&e->groups, g->node.key, g->node.key_len, g->node.hash);
        free(g->node.key);
        free(g);
    }
}

int omn_edge_put(omn_edge *e, const char *key, size_t key_len, uint64_t group, int64_t tag,
                 const uint8_t *head, size_t head_len, omn_edge_body *const *bodies, size_t n_bodies) {
    edge_answer *a = edge_answer_new(key, key_len, group, tag, head, head_len, bodies, n_bodies);
    if (!a) return -1;
    pthread_mutex_lock(&e->lock);
    edge_answer *old = (edge_answer *)edge_map_set(&e->answers, &a->node);
    if (old) {
        group_unlink(e, old);
        e->stats.answers--;
        e->stats.answer_bytes -= old->head_len + old->body_len;
    }
    int rc = 0;
    if (group_link(e, a)) {
        edge_map_remove(&e->answers, a->node.key, a->node.key_len, a->node.hash);
        old = old ? old : NULL;
        rc = -1;
    } else {
        e->stats.answers++;
        e->stats.answer_bytes += a->head_len + a->body_len;
    }
    pthread_mutex_unlock(&e->lock);
    if (old) edge_answer_unref(old);
    if (rc) edge_answer_unref(a);
    return rc;
}

size_t omn_edge_drop(omn_edge *e, uint64_t group, int64_t below) {
    edge_answer *gone = NULL;
    size_t n = 0;
    char gkey[8];
    memcpy(gkey, &group, 8);
    pthread_mutex_lock(&e->lock);
    edge_group *g = (edge_group *)edge_map_get(&e->groups, gkey, 8, edge_hash(gkey, 8));
    edge_answer *a = g ? g->answers : NULL;
    while (a) {
        edge_answer *next = a->gnext;
        if (a->tag < below) {
            edge_map_remove(&e->answers, a->node.key, a->node.key_len, a->node.hash);
            e->stats.answers--;
            e->stats.answer_bytes -= a->head_len + a->body_len;
            int last = g->n == 1;
            group_unlink(e, a);           /* frees g with its last answer */
            a->gnext = gone;
            gone = a;
            n++;
            if (last) break;
        }
        a = next;
    }
    pthread_mutex_unlock(&e->lock);
    while (gone) {
        edge_answer *next = gone->gnext;
        edge_answer_unref(gone);
        gone = next;
    }
    return n;
}

int omn_edge_advance(omn_edge *e, const char *state_key, size_t key_len, int64_t msn, int64_t part,
                     int64_t parts_ahead, int64_t timeout_ms, int64_t max_parked, int32_t open) {
    pthread_mutex_lock(&e->lock);
    uint32_t hash = edge_hash(state_key, key_len);
    edge_state *s = (edge_state *)edge_map_get(&e->states, state_key, key_len, hash);
    if (!s) {
        if (!open) { pthread_mutex_unlock(&e->lock); return 0; }
        s = calloc(1, sizeof *s);
        char *k = s ? malloc(key_len ? key_len : 1) : NULL;
        if (!k) { free(s); pthread_mutex_unlock(&e->lock); return -1; }
        memcpy(k, state_key, key_len);
        s->node.key = k;
        s->node.key_len = key_len;
        s->node.hash = hash;
        edge_map_set(&e->states, &s->node);
        e->stats.states++;
    }
    s->msn = msn;
    s->part = part;
    s->ahead = parts_ahead;
    s->timeout_ms = timeout_ms;
    s->max_parked = max_parked;
    s->open = open;
    int need_wake = 0;
    if (!s->dirty && (s->waiters || !open)) {
        s->dirty = 1;
        s->next_dirty = e->dirty;
        e->dirty = s;
        need_wake = 1;
    }
    pthread_mutex_unlock(&e->lock);
    if (need_wake) wake(e);
    return 0;
}

int omn_edge_origin_free(omn_edge *e, const char *prefix, size_t len, int32_t on) {
    if (len == 0 || len > 255) return -1;
    int rc = 0;
    pthread_mutex_lock(&e->lock);
    int at = -1;
    for (int i = 0; i < e->n_origin_free; i++)
        if (e->origin_free_len[i] == len && memcmp(e->origin_free[i], prefix, len) == 0) at = i;
    if (on && at < 0) {
        if (e->n_origin_free == 64) rc = -1;
        else {
            memcpy(e->origin_free[e->n_origin_free], prefix, len);
            e->origin_free_len[e->n_origin_free++] = (uint8_t)len;
        }
    } else if (!on && at >= 0) {
        e->n_origin_free--;
        memcpy(e->origin_free[at], e->origin_free[e->n_origin_free], e->origin_free_len[e->n_origin_free]);
        e->origin_free_len[at] = e->origin_free_len[e->n_origin_free];
    }
    pthread_mutex_unlock(&e->lock);
    return rc;
}

void omn_edge_get_stats(omn_edge *e, omn_edge_stats *out) {
    pthread_mutex_lock(&e->lock);
    *out = e->stats;
    pthread_mutex_unlock(&e->lock);
}

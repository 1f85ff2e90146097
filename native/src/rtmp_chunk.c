/* rtmp_chunk.c - RTMP chunk stream: reader (bytes -> messages) and writer
 * (messages -> chunks) for one connection.
 *
 * Reader: omn_rtmp_conn_read() consumes input until one message completes
 * or the input runs out. Header bytes split across calls are kept in a small
 * buffer (at most 18 bytes), chunk payload is appended to the message buffer
 * of its chunk stream, which grows with the bytes actually received (never
 * with the length a header claims). Limits: one message <= max_message,
 * all partially received messages together <= 2*max_message, at most
 * MAX_STREAMS chunk stream ids; completed buffers over KEEP_CAP are released
 * on the next call. Protocol control messages are applied here (chunk size,
 * abort, window) and still handed to the caller, decoded into
 * control_value/control_extra.
 *
 * Timestamps: fmt 0 carries an absolute timestamp, fmt 1/2 a delta. A fmt 3
 * chunk starting a new message repeats the previous header of its chunk
 * stream: after fmt 1/2 it adds the same delta again; after fmt 0 it repeats
 * the absolute timestamp (OvenMediaEngine and nginx-rtmp read it that way).
 * When the last fmt 0/1/2 header had an extended timestamp, fmt 3 chunks carry
 * one too; for a continuation chunk a value different from the message's own
 * is taken as payload when the chunk has at least 4 payload bytes (encoders
 * that follow the 2009 draft and omit it).
 * timestamp64 unwraps the 32-bit timestamp per chunk stream: each step is
 * the signed 32-bit difference to the previous message of that stream. */
#include "ome_native.h"

#include <stdlib.h>
#include <string.h>

#define MAX_STREAMS   64
#define HDR_MAX       18            /* 3 basic + 11 message + 4 extended */
#define KEEP_CAP      (64 * 1024)   /* completed buffers above this are released */
#define FIRST_ALLOC   (64 * 1024)
#define OUT_MAX       (64u * 1024 * 1024)
#define DEFAULT_MAX_MESSAGE (16u * 1024 * 1024)

struct in_stream {
    uint32_t csid;
    /* header state (what fmt 1-3 inherit) */
    uint32_t length;
    uint32_t type_id;
    uint32_t stream_id;
    uint32_t ts_field;      /* timestamp field of the last fmt 0/1/2 (incl. extended) */
    int abs;                /* last fmt 0/1/2 header was fmt 0 */
    int ext;                /* ... and carried an extended timestamp */
    uint32_t ext_value;     /* the extended field of the current message */
    int have_ts;
    uint32_t ts;            /* timestamp of the current/last message */
    int64_t ts64;
    /* message assembly */
    uint8_t *buf;
    size_t cap;
    uint32_t received;
    int in_progress;
};

struct out_stream {
    uint32_t csid;
    uint32_t stream_id, type_id, length, ts, delta;
    int last_fmt;
};

struct omn_rtmp_conn {
    int error;
    uint32_t max_message;
    uint64_t max_partial, partial_total;
    uint32_t in_chunk_size, out_chunk_size;
    /* reader */
    struct in_stream in[MAX_STREAMS];
    int n_in;
    int reading_payload;
    struct in_stream *cur;
    uint32_t chunk_left;
    uint8_t hdr[HDR_MAX];
    size_t hdr_len;
    struct in_stream *release_next;
    /* acknowledgements */
    uint64_t bytes_in, last_ack;
    uint32_t peer_window;
    /* writer */
    struct out_stream out[MAX_STREAMS];
    int n_out;
    uint8_t *obuf;
    size_t olen, ocap;
};

static uint32_t be24(const uint8_t *p) { return (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2]; }
static uint32_t be32(const uint8_t *p) { return (uint32_t)p[0] << 24 | be24(p + 1); }
static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static void wbe24(uint8_t *p, uint32_t v) { p[0] = (uint8_t)(v >> 16); p[1] = (uint8_t)(v >> 8); p[2] = (uint8_t)v; }
static void wbe32(uint8_t *p, uint32_t v) { p[0] = (uint8_t)(v >> 24); wbe24(p + 1, v); }
static void wle32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); p[2] = (uint8_t)(v >> 16); p[3] = (uint8_t)(v >> 24);
}

omn_rtmp_conn *omn_rtmp_conn_new(uint32_t max_message_size)
{
    omn_rtmp_conn *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->max_message = max_message_size ? max_message_size : DEFAULT_MAX_MESSAGE;
    c->max_partial = 2ull * c->max_message;
    c->in_chunk_size = 128;
    c->out_chunk_size = 128;
    return c;
}

void omn_rtmp_conn_free(omn_rtmp_conn *c)
{
    if (!c) return;
    for (int i = 0; i < c->n_in; i++) free(c->in[i].buf);
    free(c->obuf);
    free(c);
}

int omn_rtmp_conn_error(const omn_rtmp_conn *c) { return c->error; }
uint32_t omn_rtmp_conn_in_chunk_size(const omn_rtmp_conn *c) { return c->in_chunk_size; }
uint32_t omn_rtmp_conn_out_chunk_size(const omn_rtmp_conn *c) { return c->out_chunk_size; }
uint64_t omn_rtmp_conn_bytes_in(const omn_rtmp_conn *c) { return c->bytes_in; }

static int fail(omn_rtmp_conn *c, int err)
{
    if (!c->error) c->error = err;
    return c->error;
}

/* ------------------------------------------------------------------ writer */

static int out_reserve(omn_rtmp_conn *c, size_t extra)
{
    if (extra > OUT_MAX || c->olen > OUT_MAX - extra) return OMN_RTMP_E_TOO_LARGE;
    size_t need = c->olen + extra;
    if (need <= c->ocap) return 0;
    size_t cap = c->ocap ? c->ocap : 4096;
    while (cap < need) cap *= 2;
    uint8_t *p = realloc(c->obuf, cap);
    if (!p) return OMN_RTMP_E_NOMEM;
    c->obuf = p;
    c->ocap = cap;
    return 0;
}

static size_t put_basic_header(uint8_t *p, int fmt, uint32_t csid)
{
    if (csid < 64) { p[0] = (uint8_t)(fmt << 6 | csid); return 1; }
    if (csid < 320) { p[0] = (uint8_t)(fmt << 6); p[1] = (uint8_t)(csid - 64); return 2; }
    p[0] = (uint8_t)(fmt << 6 | 1);
    p[1] = (uint8_t)((csid - 64) & 0xff);
    p[2] = (uint8_t)((csid - 64) >> 8);
    return 3;
}

static struct out_stream *out_stream_get(omn_rtmp_conn *c, uint32_t csid)
{
    for (int i = 0; i < c->n_out; i++)
        if (c->out[i].csid == csid) return &c->out[i];
    if (c->n_out >= MAX_STREAMS) return NULL;
    struct out_stream *os = &c->out[c->n_out++];
    memset(os, 0, sizeof *os);
    os->csid = csid;
    os->last_fmt = -1;
    return os;
}

int omn_rtmp_conn_write(omn_rtmp_conn *c, uint32_t csid, uint32_t type_id, uint32_t stream_id,
                        uint32_t timestamp, const uint8_t *payload, size_t len)
{
    if (csid < 2 || csid > 65599 || type_id > 255 || len > 0xFFFFFF || (len && !payload))
        return OMN_RTMP_E_ARG;
    struct out_stream *os = out_stream_get(c, csid);
    if (!os) return OMN_RTMP_E_TOO_MANY_STREAMS;

    int fmt;
    uint32_t field;
    if (os->last_fmt < 0 || stream_id != os->stream_id || timestamp < os->ts) {
        fmt = 0;
        field = timestamp;
    } else {
        field = timestamp - os->ts;
        if (type_id != os->type_id || len != os->length) fmt = 1;
        else if (os->last_fmt != 0 && field == os->delta) fmt = 3;
        else fmt = 2;
    }
    int ext = field >= 0xFFFFFF;
    size_t chunks = len ? (len + c->out_chunk_size - 1) / c->out_chunk_size : 1;
    size_t worst = 3 + 11 + 4 + len + (chunks - 1) * (3 + 4);
    int rc = out_reserve(c, worst);
    if (rc) return rc;

    uint8_t *p = c->obuf + c->olen;
    p += put_basic_header(p, fmt, csid);
    if (fmt <= 2) { wbe24(p, ext ? 0xFFFFFF : field); p += 3; }
    if (fmt <= 1) { wbe24(p, (uint32_t)len); p[3] = (uint8_t)type_id; p += 4; }
    if (fmt == 0) { wle32(p, stream_id); p += 4; }
    if (ext) { wbe32(p, field); p += 4; }
    size_t off = 0;
    for (;;) {
        size_t n = len - off < c->out_chunk_size ? len - off : c->out_chunk_size;
        if (n) memcpy(p, payload + off, n);
        p += n;
        off += n;
        if (off >= len) break;
        p += put_basic_header(p, 3, csid);
        if (ext) { wbe32(p, field); p += 4; }
    }
    c->olen = (size_t)(p - c->obuf);

    os->stream_id = stream_id;
    os->type_id = type_id;
    os->length = (uint32_t)len;
    os->ts = timestamp;
    if (fmt != 3) os->delta = field;
    os->last_fmt = fmt;
    return 0;
}

static int write_control(omn_rtmp_conn *c, uint32_t type, uint32_t value, int extra_byte, uint8_t extra)
{
    uint8_t b[5];
    wbe32(b, value);
    b[4] = extra;
    return omn_rtmp_conn_write(c, 2, type, 0, 0, b, extra_byte ? 5 : 4);
}

int omn_rtmp_conn_set_chunk_size(omn_rtmp_conn *c, uint32_t size)
{
    if (size < 1 || size > 0x7FFFFFFF) return OMN_RTMP_E_ARG;
    int rc = write_control(c, OMN_RTMP_MSG_SET_CHUNK_SIZE, size, 0, 0);
    if (rc == 0) c->out_chunk_size = size;
    return rc;
}

int omn_rtmp_conn_write_window_ack_size(omn_rtmp_conn *c, uint32_t size)
{
    return write_control(c, OMN_RTMP_MSG_WINDOW_ACK_SIZE, size, 0, 0);
}

int omn_rtmp_conn_write_peer_bandwidth(omn_rtmp_conn *c, uint32_t size, uint32_t limit_type)
{
    if (limit_type > 2) return OMN_RTMP_E_ARG;
    return write_control(c, OMN_RTMP_MSG_SET_PEER_BANDWIDTH, size, 1, (uint8_t)limit_type);
}

int omn_rtmp_conn_write_user_control(omn_rtmp_conn *c, uint32_t event, uint32_t value)
{
    uint8_t b[6];
    if (event > 0xFFFF) return OMN_RTMP_E_ARG;
    b[0] = (uint8_t)(event >> 8);
    b[1] = (uint8_t)event;
    wbe32(b + 2, value);
    return omn_rtmp_conn_write(c, 2, OMN_RTMP_MSG_USER_CONTROL, 0, 0, b, 6);
}

size_t omn_rtmp_conn_take_output(omn_rtmp_conn *c, const uint8_t **out)
{
    static const uint8_t empty[1];
    size_t n = c->olen;
    *out = c->obuf ? c->obuf : empty;            /* never NULL, even when nothing was written */
    c->olen = 0;
    return n;
}

/* ------------------------------------------------------------------ reader */

static struct in_stream *in_stream_find(omn_rtmp_conn *c, uint32_t csid)
{
    for (int i = 0; i < c->n_in; i++)
        if (c->in[i].csid == csid) return &c->in[i];
    return NULL;
}

/* Bytes the chunk header in c->hdr needs in total, given what is there;
 * 0 on error (set on c). */
static size_t header_need(omn_rtmp_conn *c)
{
    static const size_t mh_len[4] = { 11, 7, 3, 0 };
    if (c->hdr_len < 1) return 1;
    int fmt = c->hdr[0] >> 6, id = c->hdr[0] & 63;
    size_t bh = id == 0 ? 2 : id == 1 ? 3 : 1;
    if (c->hdr_len < bh) return bh;
    size_t need = bh + mh_len[fmt];
    if (c->hdr_len < need) return need;
    if (fmt < 3) {
        if (be24(c->hdr + bh) == 0xFFFFFF) need += 4;
    } else {
        uint32_t csid = id == 0 ? 64u + c->hdr[1] : id == 1 ? 64u + c->hdr[1] + 256u * c->hdr[2] : (uint32_t)id;
        struct in_stream *st = in_stream_find(c, csid);
        if (!st) { fail(c, OMN_RTMP_E_NO_PREV_HEADER); return 0; }
        if (st->ext) need += 4;
    }
    return need;
}

static void discard_partial(omn_rtmp_conn *c, struct in_stream *st)
{
    if (st->in_progress) {
        c->partial_total -= st->received;
        st->received = 0;
        st->in_progress = 0;
    }
}

static int append(omn_rtmp_conn *c, struct in_stream *st, const uint8_t *p, size_t n)
{
    if (!n) return 0;
    if (c->partial_total + n > c->max_partial) return fail(c, OMN_RTMP_E_TOO_LARGE);
    size_t need = (size_t)st->received + n;      /* <= st->length by construction */
    if (need > st->cap) {
        size_t cap = st->cap ? st->cap * 2 : FIRST_ALLOC;
        if (cap < need) cap = need;
        if (cap > st->length) cap = st->length;
        uint8_t *b = realloc(st->buf, cap);
        if (!b) return fail(c, OMN_RTMP_E_NOMEM);
        st->buf = b;
        st->cap = cap;
    }
    memcpy(st->buf + st->received, p, n);
    st->received += (uint32_t)n;
    c->partial_total += n;
    return 0;
}

/* A complete header is in c->hdr: start or continue a message. */
static int process_header(omn_rtmp_conn *c)
{
    const uint8_t *h = c->hdr;
    int fmt = h[0] >> 6, id = h[0] & 63;
    size_t bh = id == 0 ? 2 : id == 1 ? 3 : 1;
    uint32_t csid = id == 0 ? 64u + h[1] : id == 1 ? 64u + h[1] + 256u * h[2] : (uint32_t)id;
    struct in_stream *st = in_stream_find(c, csid);

    if (!st) {
        if (fmt != 0) return fail(c, OMN_RTMP_E_NO_PREV_HEADER);
        if (c->n_in >= MAX_STREAMS) return fail(c, OMN_RTMP_E_TOO_MANY_STREAMS);
        st = &c->in[c->n_in++];
        memset(st, 0, sizeof *st);
        st->csid = csid;
    }
    c->cur = st;
    h += bh;

    if (fmt == 3 && st->in_progress) {               /* continuation chunk */
        uint32_t left = st->length - st->received;
        c->chunk_left = left < c->in_chunk_size ? left : c->in_chunk_size;
        if (st->ext && be32(h) != st->ext_value && c->chunk_left >= 4) {
            if (append(c, st, h, 4)) return c->error;   /* not a timestamp: payload */
            c->chunk_left -= 4;
        }
        return 0;
    }

    discard_partial(c, st);                          /* a new header mid-message drops it */
    uint32_t ts;
    if (fmt == 3) {
        uint32_t field = st->ext ? be32(h) : st->ts_field;
        if (st->ext) st->ext_value = field;
        ts = st->abs ? field : st->ts + field;
    } else {
        uint32_t field = be24(h);
        size_t mh = fmt == 0 ? 11 : fmt == 1 ? 7 : 3;
        st->ext = field == 0xFFFFFF;
        if (st->ext) field = st->ext_value = be32(h + mh);
        if (fmt <= 1) {
            st->length = be24(h + 3);
            st->type_id = h[6];
        }
        if (fmt == 0) st->stream_id = le32(h + 7);
        st->ts_field = field;
        st->abs = fmt == 0;
        ts = fmt == 0 ? field : st->ts + field;
    }
    st->ts64 = st->have_ts ? st->ts64 + (int32_t)(ts - st->ts) : (int64_t)ts;
    st->ts = ts;
    st->have_ts = 1;
    if (st->length > c->max_message) return fail(c, OMN_RTMP_E_TOO_LARGE);
    st->received = 0;
    st->in_progress = 1;
    c->chunk_left = st->length < c->in_chunk_size ? st->length : c->in_chunk_size;
    return 0;
}

static void maybe_ack(omn_rtmp_conn *c)
{
    if (c->peer_window && c->bytes_in - c->last_ack >= c->peer_window) {
        /* Sequence number: bytes received so far, modulo 2^32. A full output
         * buffer only delays the acknowledgement to the next call. */
        if (write_control(c, OMN_RTMP_MSG_ACK, (uint32_t)c->bytes_in, 0, 0) == 0)
            c->last_ack = c->bytes_in;
    }
}

/* The message on c->cur is complete: fill *msg and apply control messages. */
static int complete(omn_rtmp_conn *c, omn_rtmp_msg *msg)
{
    struct in_stream *st = c->cur;
    const uint8_t *p = st->buf;
    uint32_t n = st->received;

    c->partial_total -= n;
    st->in_progress = 0;
    st->received = 0;
    if (st->cap > KEEP_CAP) c->release_next = st;

    memset(msg, 0, sizeof *msg);
    msg->csid = st->csid;
    msg->type_id = st->type_id;
    msg->stream_id = st->stream_id;
    msg->timestamp = st->ts;
    msg->timestamp64 = st->ts64;
    msg->payload = n ? p : (const uint8_t *)"";
    msg->length = n;

    switch (st->type_id) {
    case OMN_RTMP_MSG_SET_CHUNK_SIZE:
        if (n < 4) return fail(c, OMN_RTMP_E_BAD_CONTROL);
        msg->control_value = be32(p);
        if (msg->control_value < 1 || msg->control_value > 0x7FFFFFFF)
            return fail(c, OMN_RTMP_E_BAD_CHUNK_SIZE);
        c->in_chunk_size = msg->control_value;
        break;
    case OMN_RTMP_MSG_ABORT: {
        if (n < 4) return fail(c, OMN_RTMP_E_BAD_CONTROL);
        msg->control_value = be32(p);
        struct in_stream *a = in_stream_find(c, msg->control_value);
        if (a) discard_partial(c, a);
        break;
    }
    case OMN_RTMP_MSG_ACK:
        if (n < 4) return fail(c, OMN_RTMP_E_BAD_CONTROL);
        msg->control_value = be32(p);
        break;
    case OMN_RTMP_MSG_WINDOW_ACK_SIZE:
        if (n < 4) return fail(c, OMN_RTMP_E_BAD_CONTROL);
        msg->control_value = be32(p);
        c->peer_window = msg->control_value;
        break;
    case OMN_RTMP_MSG_SET_PEER_BANDWIDTH:
        if (n < 5) return fail(c, OMN_RTMP_E_BAD_CONTROL);
        msg->control_value = be32(p);
        msg->control_extra = p[4];
        break;
    case OMN_RTMP_MSG_USER_CONTROL:
        if (n >= 2) msg->control_extra = (uint32_t)p[0] << 8 | p[1];
        if (n >= 6) msg->control_value = be32(p + 2);
        break;
    default:
        break;
    }
    return OMN_RTMP_MESSAGE;
}

int omn_rtmp_conn_read(omn_rtmp_conn *c, const uint8_t *data, size_t len, size_t *consumed,
                       omn_rtmp_msg *msg)
{
    size_t pos = 0;
    int rc = OMN_RTMP_NEED_MORE;

    if (consumed) *consumed = 0;
    if (c->error) return c->error;
    if (!msg || (len && !data)) return OMN_RTMP_E_ARG;
    if (c->release_next) {
        struct in_stream *st = c->release_next;
        c->release_next = NULL;
        if (!st->in_progress) { free(st->buf); st->buf = NULL; st->cap = 0; }
    }

    while (pos < len || (c->reading_payload && c->chunk_left == 0)) {
        if (!c->reading_payload) {
            size_t need = header_need(c);
            if (!need) { rc = c->error; break; }
            size_t n = need - c->hdr_len;
            if (n > len - pos) n = len - pos;
            memcpy(c->hdr + c->hdr_len, data + pos, n);
            c->hdr_len += n;
            pos += n;
            if (c->hdr_len < need) continue;
            if (header_need(c) != need) continue;     /* now knows it needs more */
            if (process_header(c)) { rc = c->error; break; }
            c->hdr_len = 0;
            c->reading_payload = 1;
        }
        struct in_stream *st = c->cur;
        size_t n = c->chunk_left;
        if (n > len - pos) n = len - pos;
        if (append(c, st, data + pos, n)) { rc = c->error; break; }
        pos += n;
        c->chunk_left -= (uint32_t)n;
        if (c->chunk_left == 0) {
            c->reading_payload = 0;
            if (st->received == st->length) {
                rc = complete(c, msg);
                break;
            }
        }
    }
    c->bytes_in += pos;
    if (consumed) *consumed = pos;
    if (rc >= 0) maybe_ack(c);
    return rc;
}

/* libFuzzer: RTMP chunk stream reader.
 * The input is read twice, whole and in pseudo-random slices (sizes drawn
 * from the first input byte), and both must give the same messages. Every
 * message goes through AMF0 -> JSON and the FLV parser (sequence headers
 * through the codec config parsers), and non-control messages are echoed
 * through a writer; reading the writer's output back must reproduce them. */
#include "ome_native.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAX_KEEP 4096

struct digest { uint32_t csid, type, sid, ts; size_t len; uint64_t h; };

static uint64_t fnv(const uint8_t *p, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 1099511628211ull;
    return h;
}

static void inspect(const omn_rtmp_msg *m)
{
    if (m->type_id == 20 || m->type_id == 18 || m->type_id == 15 || m->type_id == 17) {
        char *json = NULL;
        size_t len = 0;
        const uint8_t *p = m->payload;
        size_t n = m->length;
        if ((m->type_id == 15 || m->type_id == 17) && n) { p++; n--; }
        if (omn_amf0_to_json(p, n, &json, &len) == 0) {
            if (strlen(json) != len || json[0] != '[' || json[len - 1] != ']') abort();
            omn_amf0_json_free(json);
        } else if (json) {
            abort();
        }
    }
    omn_flv_tag t;
    if (omn_flv_parse(m->type_id, m->payload, m->length, &t) == 0) {
        if (t.data_offset + t.data_len != m->length || t.data != m->payload + t.data_offset) abort();
        if (t.kind == OMN_FLV_KIND_SEQUENCE_HEADER) {
            omn_sps_info si;
            omn_asc_info ai;
            omn_opus_info oi;
            char cs[48];
            if (t.codec == OMN_FLV_CODEC_H264 && omn_avcc_parse(t.data, t.data_len, &si) == 0)
                omn_sps_codec_string(&si, cs, sizeof cs);
            if (t.codec == OMN_FLV_CODEC_HEVC && omn_hvcc_parse(t.data, t.data_len, &si) == 0)
                omn_sps_codec_string(&si, cs, sizeof cs);
            if (t.codec == OMN_FLV_CODEC_AAC) omn_aac_asc_parse(t.data, t.data_len, &ai);
            if (t.codec == OMN_FLV_CODEC_OPUS) omn_opus_head_parse(t.data, t.data_len, &oi);
        }
    }
}

/* Reads data (whole when seed < 0, else in slices drawn from seed) and
 * records digests; returns the final status. */
static int run(const uint8_t *data, size_t size, int seed, struct digest *out, size_t *n_out,
               omn_rtmp_conn *echo)
{
    omn_rtmp_conn *c = omn_rtmp_conn_new(1 << 16);
    omn_rtmp_msg m;
    size_t off = 0;
    uint32_t rnd = (uint32_t)seed * 2654435761u + 1;
    int rc = 0;
    *n_out = 0;
    while (off < size) {
        size_t n = size - off;
        if (seed >= 0) {
            rnd = rnd * 1103515245u + 12345u;
            size_t s = 1 + (rnd >> 16) % ((size_t)(seed & 0x3F) * 8 + 1);
            if (s < n) n = s;
        }
        size_t used = 0;
        rc = omn_rtmp_conn_read(c, data + off, n, &used, &m);
        if (used > n) abort();
        off += used;
        if (rc < 0) break;
        if (rc == OMN_RTMP_MESSAGE) {
            if (m.length && !m.payload) abort();
            if (*n_out < MAX_KEEP) {
                struct digest *d = &out[(*n_out)++];
                d->csid = m.csid; d->type = m.type_id; d->sid = m.stream_id; d->ts = m.timestamp;
                d->len = m.length; d->h = fnv(m.payload, m.length);
            }
            if (echo) {
                inspect(&m);
                if (m.type_id < 1 || m.type_id > 6)
                    if (omn_rtmp_conn_write(echo, m.csid, m.type_id, m.stream_id, m.timestamp, m.payload, m.length) != 0)
                        abort();
            }
        } else if (used != n) {
            abort();                                 /* NEED_MORE must consume everything */
        }
    }
    const uint8_t *o;
    omn_rtmp_conn_take_output(c, &o);              /* acknowledgements, if any */
    omn_rtmp_conn_free(c);
    return rc;
}

static struct digest a[MAX_KEEP], b[MAX_KEEP], e[MAX_KEEP];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    int seed = data[0];
    data++;
    size--;
    size_t na, nb;
    omn_rtmp_conn *echo = omn_rtmp_conn_new(0);
    if (seed & 0x40) omn_rtmp_conn_set_chunk_size(echo, (uint32_t)(seed & 0x3F) * 100 + 1);
    int ra = run(data, size, -1, a, &na, echo);
    int rb = run(data, size, seed, b, &nb, NULL);
    if (ra != rb || na != nb || memcmp(a, b, na * sizeof *a) != 0) abort();

    /* the echo must read back as the non-control messages */
    const uint8_t *o;
    size_t on = omn_rtmp_conn_take_output(echo, &o);
    uint8_t *copy = malloc(on ? on : 1);
    memcpy(copy, o, on);
    size_t ne;
    int re = run(copy, on, -1, e, &ne, NULL);
    if (re < 0) abort();
    size_t i = 0, j = 0;
    for (;;) {
        while (i < na && a[i].type >= 1 && a[i].type <= 6) i++;
        while (j < ne && e[j].type >= 1 && e[j].type <= 6) j++;
        if (i == na || j == ne) break;
        if (a[i].csid != e[j].csid || a[i].type != e[j].type || a[i].sid != e[j].sid ||
            a[i].ts != e[j].ts || a[i].len != e[j].len || a[i].h != e[j].h)
            abort();
        i++;
        j++;
    }
    if (na < MAX_KEEP && (i != na || j != ne)) abort();
    free(copy);
    omn_rtmp_conn_free(echo);
    return 0;
}

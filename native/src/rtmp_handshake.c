/* rtmp_handshake.c - server side of the simple RTMP handshake.
 *
 * C0 (1 byte, version 3) + C1 (1536 bytes) -> S0 + S1 + S2 (3073 bytes),
 * then C2 (1536 bytes) -> done. S1 = our time, four zero bytes (version 0:
 * tells clients such as ffmpeg to skip the digest ("complex") checks) and
 * 1528 pseudo-random bytes; S2 echoes C1 with bytes 4-7 set to our time, as
 * the spec's simple handshake says. C2 is consumed, not validated: clients
 * that did the complex handshake send a digest there instead of our S1. */
#include "ome_native.h"

#include <stdlib.h>
#include <string.h>

#define HS_PACKET 1536

struct omn_rtmp_handshake {
    int state;
    uint32_t epoch_ms;
    uint64_t rng;
    size_t have;                 /* bytes of the current step received */
    uint8_t in[1 + HS_PACKET];   /* C0+C1, later C2 (contents ignored) */
    uint8_t out[1 + 2 * HS_PACKET];
    size_t out_len, out_taken;
};

static uint64_t splitmix64(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);  p[3] = (uint8_t)v;
}

omn_rtmp_handshake *omn_rtmp_handshake_new(uint32_t epoch_ms, uint64_t seed)
{
    omn_rtmp_handshake *hs = calloc(1, sizeof *hs);
    if (!hs) return NULL;
    hs->state = OMN_RTMP_HS_WAIT_C0C1;
    hs->epoch_ms = epoch_ms;
    hs->rng = seed;
    return hs;
}

void omn_rtmp_handshake_free(omn_rtmp_handshake *hs)
{
    free(hs);
}

static void build_reply(omn_rtmp_handshake *hs)
{
    uint8_t *s0 = hs->out, *s1 = hs->out + 1, *s2 = hs->out + 1 + HS_PACKET;
    const uint8_t *c1 = hs->in + 1;

    s0[0] = 3;
    put_be32(s1, hs->epoch_ms);
    memset(s1 + 4, 0, 4);
    for (size_t i = 8; i < HS_PACKET; i += 8) {
        uint64_t r = splitmix64(&hs->rng);
        size_t n = HS_PACKET - i < 8 ? HS_PACKET - i : 8;
        memcpy(s1 + i, &r, n);
    }
    memcpy(s2, c1, HS_PACKET);
    put_be32(s2 + 4, hs->epoch_ms);
    hs->out_len = sizeof hs->out;
    hs->out_taken = 0;
}

int omn_rtmp_handshake_feed(omn_rtmp_handshake *hs, const uint8_t *data, size_t len,
                            size_t *consumed)
{
    size_t used = 0;

    while (used < len && (hs->state == OMN_RTMP_HS_WAIT_C0C1 || hs->state == OMN_RTMP_HS_WAIT_C2)) {
        size_t need = (hs->state == OMN_RTMP_HS_WAIT_C0C1 ? 1 + HS_PACKET : HS_PACKET) - hs->have;
        size_t n = len - used < need ? len - used : need;

        if (hs->state == OMN_RTMP_HS_WAIT_C0C1) {
            if (hs->have == 0 && data[used] != 3) {   /* only plain RTMP (not RTMPE 6/8) */
                hs->state = OMN_RTMP_HS_FAILED;
                break;
            }
            memcpy(hs->in + hs->have, data + used, n);
        }                                           /* C2 bytes are skipped */
        hs->have += n;
        used += n;
        if (n == need) {
            hs->have = 0;
            if (hs->state == OMN_RTMP_HS_WAIT_C0C1) {
                build_reply(hs);
                hs->state = OMN_RTMP_HS_WAIT_C2;
            } else {
                hs->state = OMN_RTMP_HS_DONE;
            }
        }
    }
    if (consumed) *consumed = used;
    return hs->state;
}

size_t omn_rtmp_handshake_take_output(omn_rtmp_handshake *hs, const uint8_t **out)
{
    size_t n = hs->out_len - hs->out_taken;
    *out = hs->out + hs->out_taken;
    hs->out_taken = hs->out_len;
    return n;
}

/* bits.h - the native core's one private MSB-first bit reader, with
 * exp-Golomb codes. nb_init reads an H.264/HEVC NAL unit payload and drops
 * emulation-prevention bytes (00 00 03) on the fly, so parameter sets are
 * parsed in place without an unescaped copy; nb_init_raw reads plain bytes
 * (AudioSpecificConfig). Reading past the end sets `overrun` and yields
 * zeros; callers check it once at the end of a step. */
#ifndef OMN_BITS_H
#define OMN_BITS_H

#include <stddef.h>
#include <stdint.h>

struct nal_bits {
    const uint8_t *p;
    size_t len, pos;     /* next byte to load */
    int zeros;           /* consecutive zero bytes just loaded */
    uint32_t cur;        /* current byte */
    int left;            /* bits left in cur */
    int overrun;
    int ep;              /* 1: drop emulation-prevention bytes */
};

static inline void nb_init(struct nal_bits *b, const uint8_t *p, size_t len)
{
    b->p = p; b->len = len; b->pos = 0; b->zeros = 0; b->cur = 0; b->left = 0; b->overrun = 0;
    b->ep = 1;
}

static inline void nb_init_raw(struct nal_bits *b, const uint8_t *p, size_t len)
{
    nb_init(b, p, len);
    b->ep = 0;
}

static inline int nb_load(struct nal_bits *b)
{
    if (b->ep && b->pos < b->len && b->zeros >= 2 && b->p[b->pos] == 3) { b->pos++; b->zeros = 0; }
    if (b->pos >= b->len) { b->overrun = 1; return -1; }
    b->cur = b->p[b->pos++];
    b->zeros = b->cur == 0 ? b->zeros + 1 : 0;
    b->left = 8;
    return 0;
}

static inline uint32_t nb_u1(struct nal_bits *b)
{
    if (!b->left && nb_load(b)) return 0;
    b->left--;
    return (b->cur >> b->left) & 1;
}

/* n <= 32 bits, big-endian. */
static inline uint32_t nb_u(struct nal_bits *b, int n)
{
    uint32_t v = 0;
    while (n-- > 0) v = v << 1 | nb_u1(b);
    return v;
}

static inline void nb_skip(struct nal_bits *b, unsigned n)
{
    while (n-- > 0 && !b->overrun) nb_u1(b);
}

/* ue(v); values above 2^32-2 (more than 31 leading zeros) set overrun. */
static inline uint32_t nb_ue(struct nal_bits *b)
{
    int lz = 0;
    while (!nb_u1(b)) {
        if (b->overrun || ++lz > 31) { b->overrun = 1; return 0; }
    }
    if (lz == 0) return 0;
    return (uint32_t)((((uint64_t)1 << lz) - 1) + nb_u(b, lz));
}

static inline int32_t nb_se(struct nal_bits *b)
{
    uint32_t k = nb_ue(b);
    return (k & 1) ? (int32_t)((k >> 1) + 1) : -(int32_t)(k >> 1);
}

#endif

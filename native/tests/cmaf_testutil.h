/* cmaf_testutil.h - tiny ISOBMFF reader and check macros for the CMAF C
 * tests (test_cmaf.c, test_llhls.c, test_emsg_id3.c), also the codec
 * configuration and FLV tests (test_codec_config.c, test_flv.c). Test-only code. */
#ifndef CMAF_TESTUTIL_H
#define CMAF_TESTUTIL_H
#include "ome_native.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TU static __attribute__((unused))

static int failures;
#define CHECK(cond) do { if (!(cond)) { failures++; \
    fprintf(stderr, "%s:%d: CHECK(%s)\n", __FILE__, __LINE__, #cond); } } while (0)
#define CHECK_EQ(a, b) do { long long _a = (long long)(a), _b = (long long)(b); if (_a != _b) { \
    failures++; fprintf(stderr, "%s:%d: %s == %s (%lld != %lld)\n", __FILE__, __LINE__, \
    #a, #b, _a, _b); } } while (0)

TU uint32_t be16(const uint8_t *p) { return (uint32_t)p[0] << 8 | p[1]; }
TU uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
TU uint64_t be64(const uint8_t *p) { return (uint64_t)be32(p) << 32 | be32(p + 4); }

typedef struct tbox {
    const uint8_t *p;      /* box start */
    size_t size;
    char type[5];
    const uint8_t *body;   /* after size+type */
    size_t body_len;
} tbox;

/* Offset of the children inside a container body. */
TU size_t child_offset(const char *type)
{
    if (!strcmp(type, "stsd") || !strcmp(type, "dref")) return 8;
    if (!strcmp(type, "avc1") || !strcmp(type, "hvc1")) return 78;
    if (!strcmp(type, "mp4a") || !strcmp(type, "Opus")) return 28;
    return 0;
}

/* Reads the box at p (n bytes available). 0 on success. */
TU int read_box(const uint8_t *p, size_t n, tbox *b)
{
    if (n < 8) return -1;
    uint32_t size = be32(p);
    if (size < 8 || size > n) return -1;
    b->p = p;
    b->size = size;
    memcpy(b->type, p + 4, 4);
    b->type[4] = 0;
    b->body = p + 8;
    b->body_len = size - 8;
    return 0;
}

/* 1 when [p, p+n) is exactly a sequence of well-formed boxes. */
TU int boxes_tile(const uint8_t *p, size_t n)
{
    size_t off = 0;
    tbox b;
    while (off < n) {
        if (read_box(p + off, n - off, &b)) return 0;
        off += b.size;
    }
    return off == n;
}

/* Finds the idx-th box of `type` among the sequence [p, p+n). */
TU int find_nth(const uint8_t *p, size_t n, const char *type, int idx, tbox *out)
{
    size_t off = 0;
    tbox b;
    while (off < n && !read_box(p + off, n - off, &b)) {
        if (!strcmp(b.type, type) && idx-- == 0) { *out = b; return 0; }
        off += b.size;
    }
    return -1;
}

/* Path lookup, e.g. "moov/trak/mdia/minf/stbl/stsd/avc1/avcC". */
TU int find_path(const uint8_t *p, size_t n, const char *path, tbox *out)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", path);
    const uint8_t *cur = p;
    size_t len = n;
    tbox b;
    for (char *tok = strtok(buf, "/"); tok; tok = strtok(NULL, "/")) {
        if (find_nth(cur, len, tok, 0, &b)) return -1;
        size_t co = child_offset(b.type);
        if (co > b.body_len) return -1;
        cur = b.body + co;
        len = b.body_len - co;
    }
    *out = b;
    return 0;
}

/* A parsed part: [emsg*] moof mdat. */
typedef struct tpart {
    int nemsg;
    uint32_t seq;
    uint32_t tfhd_flags, track_id;
    uint64_t tfdt;
    int trun_version;
    uint32_t trun_flags, count;
    int32_t data_offset;
    uint32_t dur[512], size[512], flags[512];
    int32_t cto[512];
    uint64_t total_dur, total_size;
    const uint8_t *mdat_payload;
    size_t mdat_len;
    size_t bytes;           /* bytes consumed */
    tbox emsg[8];
} tpart;

/* Parses one part at p. 0 on success; checks internal consistency. */
TU int parse_part(const uint8_t *p, size_t n, tpart *t)
{
    memset(t, 0, sizeof *t);
    size_t off = 0;
    tbox b, moof, x;
    while (!read_box(p + off, n - off, &b) && !strcmp(b.type, "emsg")) {
        if (t->nemsg < 8) t->emsg[t->nemsg] = b;
        t->nemsg++;
        off += b.size;
    }
    if (read_box(p + off, n - off, &moof) || strcmp(moof.type, "moof")) return -1;
    if (find_path(moof.body, moof.body_len, "mfhd", &x) || x.body_len != 8) return -2;
    t->seq = be32(x.body + 4);
    if (find_path(moof.body, moof.body_len, "traf/tfhd", &x) || x.body_len < 8) return -3;
    t->tfhd_flags = be32(x.body) & 0xFFFFFF;
    t->track_id = be32(x.body + 4);
    if (find_path(moof.body, moof.body_len, "traf/tfdt", &x) || x.body_len != 12 || x.body[0] != 1)
        return -4;
    t->tfdt = be64(x.body + 4);
    if (find_path(moof.body, moof.body_len, "traf/trun", &x) || x.body_len < 12) return -5;
    t->trun_version = x.body[0];
    t->trun_flags = be32(x.body) & 0xFFFFFF;
    t->count = be32(x.body + 4);
    t->data_offset = (int32_t)be32(x.body + 8);
    size_t per = ((t->trun_flags & 0x100) ? 4 : 0) + ((t->trun_flags & 0x200) ? 4 : 0) +
                 ((t->trun_flags & 0x400) ? 4 : 0) + ((t->trun_flags & 0x800) ? 4 : 0);
    if (t->count > 512 || x.body_len != 12 + per * t->count) return -6;
    const uint8_t *e = x.body + 12;
    for (uint32_t i = 0; i < t->count; i++) {
        if (t->trun_flags & 0x100) { t->dur[i] = be32(e); e += 4; }
        if (t->trun_flags & 0x200) { t->size[i] = be32(e); e += 4; }
        if (t->trun_flags & 0x400) { t->flags[i] = be32(e); e += 4; }
        if (t->trun_flags & 0x800) { t->cto[i] = (int32_t)be32(e); e += 4; }
        t->total_dur += t->dur[i];
        t->total_size += t->size[i];
    }
    off += moof.size;
    tbox mdat;
    if (read_box(p + off, n - off, &mdat) || strcmp(mdat.type, "mdat")) return -7;
    if ((size_t)t->data_offset != moof.size + 8) return -8;
    if (t->total_size != mdat.body_len) return -9;
    t->mdat_payload = mdat.body;
    t->mdat_len = mdat.body_len;
    t->bytes = off + mdat.size;
    return 0;
}

TU void hex_to_bytes(const char *hex, uint8_t *out, size_t *n)
{
    size_t i = 0;
    for (; hex[2 * i] && hex[2 * i + 1]; i++) {
        unsigned v;
        sscanf(hex + 2 * i, "%2x", &v);
        out[i] = (uint8_t)v;
    }
    *n = i;
}

/* Real parameter sets produced by x264 / x265 (ffmpeg testsrc2). */
TU const char SPS_1080P_HIGH[] = "67640028acd940780227e5c044000003000400000300f03c60c658";
TU const char PPS_1080P_HIGH[] = "68ebe3cb22c0";
TU const char SPS_240P_BASE[] = "6742c00dd90141fb0110000003001000000303c0f142a480";
TU const char PPS_240P_BASE[] = "68cb83cb20";
TU const char HEVC_VPS[] = "40010c01ffff01600000030090000003000003005d959809";
TU const char HEVC_SPS[] = "42010101600000030090000003000003005da00280802d165959a4932bc05a020000030002000003003c10";
TU const char HEVC_PPS[] = "4401c172b46240";

/* Builds an avcC body from hex SPS/PPS with the given NAL length size. */
TU size_t make_avcc(uint8_t *out, const char *sps_hex, const char *pps_hex, int lsize)
{
    uint8_t sps[128], pps[64];
    size_t sn, pn, o = 0;
    hex_to_bytes(sps_hex, sps, &sn);
    hex_to_bytes(pps_hex, pps, &pn);
    out[o++] = 1; out[o++] = sps[1]; out[o++] = sps[2]; out[o++] = sps[3];
    out[o++] = (uint8_t)(0xFC | (lsize - 1));
    out[o++] = 0xE1;
    out[o++] = (uint8_t)(sn >> 8); out[o++] = (uint8_t)sn;
    memcpy(out + o, sps, sn); o += sn;
    out[o++] = 1;
    out[o++] = (uint8_t)(pn >> 8); out[o++] = (uint8_t)pn;
    memcpy(out + o, pps, pn); o += pn;
    return o;
}

TU size_t make_annexb_ps(uint8_t *out, const char **hexes, int n)
{
    size_t o = 0, len;
    for (int i = 0; i < n; i++) {
        out[o++] = 0; out[o++] = 0; out[o++] = 0; out[o++] = 1;
        hex_to_bytes(hexes[i], out + o, &len);
        o += len;
    }
    return o;
}

#endif

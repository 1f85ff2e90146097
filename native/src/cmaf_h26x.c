/* cmaf_h26x.c - H.264/H.265 parameter sets: avcC / hvcC parsing and
 * normalisation (4-byte NAL lengths, hvc1 array_completeness), SPS parsing
 * for picture size and profile/tier/level, CODECS strings, records built
 * from Annex B, and sample conversion to 4-byte length-prefixed NAL units.
 * All input is untrusted (publishers send it): every read is bounds-checked. */
#include "cmaf_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- bit reader over an RBSP (emulation prevention removed) ---------- */

typedef struct br {
    const uint8_t *p;
    size_t nbits;
    size_t pos;
    int err;
} br;

static uint32_t br_bits(br *b, int n)
{
    uint32_t v = 0;
    if (b->err || (size_t)n > b->nbits - b->pos) { b->err = 1; return 0; }
    for (int i = 0; i < n; i++, b->pos++)
        v = (v << 1) | ((b->p[b->pos >> 3] >> (7 - (b->pos & 7))) & 1u);
    return v;
}

static void br_skip(br *b, size_t n)
{
    if (b->err || n > b->nbits - b->pos) { b->err = 1; return; }
    b->pos += n;
}

static uint32_t br_ue(br *b)
{
    int zeros = 0;
    while (!b->err && br_bits(b, 1) == 0) {
        if (++zeros > 31) { b->err = 1; return 0; }
    }
    if (b->err) return 0;
    if (zeros == 0) return 0;
    uint64_t v = ((uint64_t)1 << zeros) - 1 + br_bits(b, zeros);
    if (v > UINT32_MAX) { b->err = 1; return 0; }
    return (uint32_t)v;
}

static int32_t br_se(br *b)
{
    uint32_t k = br_ue(b);
    return (k & 1) ? (int32_t)((k + 1) / 2) : -(int32_t)(k / 2);
}

/* Copies a NAL unit without its emulation-prevention bytes. Caller frees. */
static uint8_t *nal_to_rbsp(const uint8_t *p, size_t n, size_t *out_n)
{
    uint8_t *r = malloc(n ? n : 1);
    size_t o = 0, zeros = 0;
    if (!r) return NULL;
    for (size_t i = 0; i < n; i++) {
        if (zeros >= 2 && p[i] == 3) { zeros = 0; continue; }
        zeros = p[i] == 0 ? zeros + 1 : 0;
        r[o++] = p[i];
    }
    *out_n = o;
    return r;
}

/* ---- H.264 SPS ------------------------------------------------------- */

typedef struct avc_sps {
    uint32_t profile, compat, level;
    uint32_t width, height;
} avc_sps;

static void skip_scaling_list(br *b, int size)
{
    int last = 8, next = 8;
    for (int j = 0; j < size && !b->err; j++) {
        if (next != 0) {
            int32_t delta = br_se(b);
            if (delta < -128 || delta > 127) { b->err = 1; return; }
            next = (last + delta + 256) % 256;
        }
        last = next == 0 ? last : next;
    }
}

/* nal: the SPS NAL unit including its 1-byte header. */
static int parse_avc_sps(const uint8_t *nal, size_t n, avc_sps *s)
{
    if (n < 4 || (nal[0] & 0x1F) != 7) return OMN_CMAF_ECONFIG;
    size_t rn;
    uint8_t *r = nal_to_rbsp(nal + 1, n - 1, &rn);
    if (!r) return OMN_CMAF_ENOMEM;
    br b = { r, rn * 8, 0, 0 };
    s->profile = br_bits(&b, 8);
    s->compat = br_bits(&b, 8);
    s->level = br_bits(&b, 8);
    if (br_ue(&b) > 31) b.err = 1;                        /* seq_parameter_set_id */
    uint32_t chroma = 1, separate = 0;
    switch (s->profile) {
    case 100: case 110: case 122: case 244: case 44: case 83: case 86:
    case 118: case 128: case 138: case 139: case 134: case 135:
        chroma = br_ue(&b);
        if (chroma > 3) b.err = 1;
        if (chroma == 3) separate = br_bits(&b, 1);
        if (br_ue(&b) > 6) b.err = 1;                     /* bit_depth_luma_minus8 */
        if (br_ue(&b) > 6) b.err = 1;                     /* bit_depth_chroma_minus8 */
        br_skip(&b, 1);                                   /* qpprime_y_zero_transform_bypass */
        if (br_bits(&b, 1)) {                             /* seq_scaling_matrix_present */
            int lists = chroma != 3 ? 8 : 12;
            for (int i = 0; i < lists && !b.err; i++)
                if (br_bits(&b, 1)) skip_scaling_list(&b, i < 6 ? 16 : 64);
        }
        break;
    default:
        break;
    }
    if (br_ue(&b) > 12) b.err = 1;                        /* log2_max_frame_num_minus4 */
    uint32_t poc_type = br_ue(&b);
    if (poc_type == 0) {
        if (br_ue(&b) > 12) b.err = 1;                    /* log2_max_poc_lsb_minus4 */
    } else if (poc_type == 1) {
        br_skip(&b, 1);
        br_se(&b);
        br_se(&b);
        uint32_t cycle = br_ue(&b);
        if (cycle > 255) b.err = 1;
        for (uint32_t i = 0; i < cycle && !b.err; i++) br_se(&b);
    } else if (poc_type != 2) {
        b.err = 1;
    }
    br_ue(&b);                                            /* max_num_ref_frames */
    br_skip(&b, 1);                                       /* gaps_in_frame_num_allowed */
    uint64_t w_mbs = (uint64_t)br_ue(&b) + 1;
    uint64_t h_units = (uint64_t)br_ue(&b) + 1;
    uint32_t frame_mbs_only = br_bits(&b, 1);
    if (!frame_mbs_only) br_skip(&b, 1);                  /* mb_adaptive_frame_field */
    br_skip(&b, 1);                                       /* direct_8x8_inference */
    uint64_t cl = 0, cr = 0, ct = 0, cb = 0;
    if (br_bits(&b, 1)) {
        cl = br_ue(&b); cr = br_ue(&b); ct = br_ue(&b); cb = br_ue(&b);
    }
    free(r);
    if (b.err) return OMN_CMAF_ECONFIG;
    uint64_t cux = 1, cuy = 2 - frame_mbs_only;
    if (!separate && chroma != 0) {
        cux = (chroma == 1 || chroma == 2) ? 2 : 1;
        cuy = (chroma == 1 ? 2 : 1) * (2 - frame_mbs_only);
    }
    if (w_mbs > 4096 || h_units > 4096) return OMN_CMAF_ECONFIG;
    uint64_t w = w_mbs * 16, h = (2 - frame_mbs_only) * h_units * 16;
    uint64_t crop_w = cux * (cl + cr), crop_h = cuy * (ct + cb);
    if (crop_w >= w || crop_h >= h || w - crop_w > 65535 || h - crop_h > 65535)
        return OMN_CMAF_ECONFIG;
    s->width = (uint32_t)(w - crop_w);
    s->height = (uint32_t)(h - crop_h);
    return OMN_CMAF_OK;
}

/* ---- H.265 SPS ------------------------------------------------------- */

typedef struct hevc_sps {
    uint32_t profile_space, tier, profile_idc, compat, level;
    uint8_t constraint[6];
    uint32_t max_sub_layers, temporal_id_nesting;
    uint32_t chroma, bit_depth_luma_m8, bit_depth_chroma_m8;
    uint32_t width, height;
} hevc_sps;

static int parse_hevc_sps(const uint8_t *nal, size_t n, hevc_sps *s)
{
    if (n < 3 || ((nal[0] >> 1) & 0x3F) != 33) return OMN_CMAF_ECONFIG;
    size_t rn;
    uint8_t *r = nal_to_rbsp(nal + 2, n - 2, &rn);
    if (!r) return OMN_CMAF_ENOMEM;
    br b = { r, rn * 8, 0, 0 };
    br_skip(&b, 4);                                       /* sps_video_parameter_set_id */
    s->max_sub_layers = br_bits(&b, 3) + 1;
    s->temporal_id_nesting = br_bits(&b, 1);
    if (s->max_sub_layers > 7) b.err = 1;
    s->profile_space = br_bits(&b, 2);
    s->tier = br_bits(&b, 1);
    s->profile_idc = br_bits(&b, 5);
    s->compat = br_bits(&b, 32);
    for (int i = 0; i < 6; i++) s->constraint[i] = (uint8_t)br_bits(&b, 8);
    s->level = br_bits(&b, 8);
    uint32_t sub_profile[8] = {0}, sub_level[8] = {0};
    uint32_t msl1 = s->max_sub_layers - 1;
    for (uint32_t i = 0; i < msl1 && !b.err; i++) {
        sub_profile[i] = br_bits(&b, 1);
        sub_level[i] = br_bits(&b, 1);
    }
    if (msl1 > 0)
        for (uint32_t i = msl1; i < 8; i++) br_skip(&b, 2);
    for (uint32_t i = 0; i < msl1 && !b.err; i++) {
        if (sub_profile[i]) br_skip(&b, 88);
        if (sub_level[i]) br_skip(&b, 8);
    }
    if (br_ue(&b) > 15) b.err = 1;                        /* sps_seq_parameter_set_id */
    s->chroma = br_ue(&b);
    if (s->chroma > 3) b.err = 1;
    uint32_t separate = s->chroma == 3 ? br_bits(&b, 1) : 0;
    uint64_t w = br_ue(&b), h = br_ue(&b);
    uint64_t cl = 0, cr = 0, ct = 0, cb = 0;
    if (br_bits(&b, 1)) {
        cl = br_ue(&b); cr = br_ue(&b); ct = br_ue(&b); cb = br_ue(&b);
    }
    s->bit_depth_luma_m8 = br_ue(&b);
    s->bit_depth_chroma_m8 = br_ue(&b);
    free(r);
    if (b.err || s->bit_depth_luma_m8 > 8 || s->bit_depth_chroma_m8 > 8)
        return OMN_CMAF_ECONFIG;
    uint64_t sw = 1, sh = 1;
    if (!separate && (s->chroma == 1 || s->chroma == 2)) sw = 2;
    if (!separate && s->chroma == 1) sh = 2;
    if (w == 0 || h == 0 || w > 65535 || h > 65535) return OMN_CMAF_ECONFIG;
    if (sw * (cl + cr) >= w || sh * (ct + cb) >= h) return OMN_CMAF_ECONFIG;
    s->width = (uint32_t)(w - sw * (cl + cr));
    s->height = (uint32_t)(h - sh * (ct + cb));
    return OMN_CMAF_OK;
}

static uint32_t reverse32(uint32_t v)
{
    uint32_t r = 0;
    for (int i = 0; i < 32; i++) { r = (r << 1) | (v & 1); v >>= 1; }
    return r;
}

static void hevc_codecs(const hevc_sps *s, char *out, size_t cap)
{
    static const char *space[4] = { "", "A", "B", "C" };
    int n = snprintf(out, cap, "hvc1.%s%u.%X.%c%u", space[s->profile_space & 3],
                     (unsigned)s->profile_idc, (unsigned)reverse32(s->compat),
                     s->tier ? 'H' : 'L', (unsigned)s->level);
    int last = 5;
    while (last >= 0 && s->constraint[last] == 0) last--;
    for (int i = 0; i <= last && n > 0 && (size_t)n < cap; i++)
        n += snprintf(out + n, cap - (size_t)n, ".%02X", s->constraint[i]);
}

/* ---- avcC ------------------------------------------------------------ */

int omn_h26x_parse_avcc(omn_codec_cfg *c, const uint8_t *p, size_t n)
{
    if (n < 7 || p[0] != 1) return OMN_CMAF_ECONFIG;
    uint32_t lsize = (p[4] & 3) + 1;
    if (lsize == 3) return OMN_CMAF_ECONFIG;
    uint32_t nsps = p[5] & 0x1F;
    if (nsps == 0) return OMN_CMAF_ECONFIG;
    size_t off = 6;
    const uint8_t *sps[32];
    size_t sps_len[32];
    for (uint32_t i = 0; i < nsps; i++) {
        if (n - off < 2) return OMN_CMAF_ECONFIG;
        size_t len = omn_rd16(p + off);
        off += 2;
        if (len < 4 || n - off < len || (p[off] & 0x1F) != 7) return OMN_CMAF_ECONFIG;
        sps[i] = p + off;
        sps_len[i] = len;
        off += len;
    }
    if (n - off < 1) return OMN_CMAF_ECONFIG;
    uint32_t npps = p[off++];
    if (npps == 0) return OMN_CMAF_ECONFIG;
    size_t pps_start = off;
    for (uint32_t i = 0; i < npps; i++) {
        if (n - off < 2) return OMN_CMAF_ECONFIG;
        size_t len = omn_rd16(p + off);
        off += 2;
        if (len < 1 || n - off < len || (p[off] & 0x1F) != 8) return OMN_CMAF_ECONFIG;
        off += len;
    }
    size_t pps_end = off;   /* high-profile extension bytes after this are dropped */

    avc_sps s;
    int rc = parse_avc_sps(sps[0], sps_len[0], &s);
    if (rc) return rc;

    omn_w w;
    omn_w_open(&w, &c->record);
    omn_w_u8(&w, 1);
    omn_w_u8(&w, s.profile);
    omn_w_u8(&w, s.compat);
    omn_w_u8(&w, s.level);
    omn_w_u8(&w, 0xFF);                  /* 0xFC | lengthSizeMinusOne 3 */
    omn_w_u8(&w, 0xE0 | nsps);
    for (uint32_t i = 0; i < nsps; i++) {
        omn_w_u16(&w, (uint32_t)sps_len[i]);
        omn_w_bytes(&w, sps[i], sps_len[i]);
    }
    omn_w_u8(&w, npps);
    omn_w_bytes(&w, p + pps_start, pps_end - pps_start);
    if ((rc = omn_w_done(&w))) return rc;

    c->info.width = s.width;
    c->info.height = s.height;
    c->info.nal_length_size = lsize;
    snprintf(c->info.codecs, sizeof c->info.codecs, "avc1.%02x%02x%02x",
             (unsigned)s.profile, (unsigned)s.compat, (unsigned)s.level);
    return OMN_CMAF_OK;
}

/* ---- hvcC ------------------------------------------------------------ */

static int hvcc_header(omn_w *w, const hevc_sps *s, const uint8_t *tail9, uint32_t narrays)
{
    omn_w_u8(w, 1);
    omn_w_u8(w, (s->profile_space << 6) | (s->tier << 5) | s->profile_idc);
    omn_w_u32(w, s->compat);
    omn_w_bytes(w, s->constraint, 6);
    omn_w_u8(w, s->level);
    if (tail9) {
        /* min_spatial_segmentation, parallelismType from the publisher's record */
        omn_w_u16(w, 0xF000 | (omn_rd16(tail9) & 0x0FFF));
        omn_w_u8(w, 0xFC | (tail9[2] & 3));
    } else {
        omn_w_u16(w, 0xF000);
        omn_w_u8(w, 0xFC);
    }
    omn_w_u8(w, 0xFC | s->chroma);
    omn_w_u8(w, 0xF8 | s->bit_depth_luma_m8);
    omn_w_u8(w, 0xF8 | s->bit_depth_chroma_m8);
    omn_w_u16(w, tail9 ? omn_rd16(tail9 + 6) : 0);          /* avgFrameRate */
    uint32_t cfr = tail9 ? (tail9[8] >> 6) : 0;
    omn_w_u8(w, (cfr << 6) | (s->max_sub_layers << 3) | (s->temporal_id_nesting << 2) | 3);
    omn_w_u8(w, narrays);
    return w->err;
}

/* Array types kept in hvcC: VPS, SPS, PPS, prefix/suffix SEI. */
static int hvcc_keep(uint32_t t) { return t == 32 || t == 33 || t == 34 || t == 39 || t == 40; }

int omn_h26x_parse_hvcc(omn_codec_cfg *c, const uint8_t *p, size_t n)
{
    if (n < 23 || p[0] != 1) return OMN_CMAF_ECONFIG;
    uint32_t lsize = (p[21] & 3) + 1;
    if (lsize == 3) return OMN_CMAF_ECONFIG;
    uint32_t narrays = p[22];
    size_t off = 23;
    uint32_t have[64] = {0}, kept = 0;
    const uint8_t *sps = NULL;
    size_t sps_len = 0;
    for (uint32_t a = 0; a < narrays; a++) {
        if (n - off < 3) return OMN_CMAF_ECONFIG;
        uint32_t type = p[off] & 0x3F, count = omn_rd16(p + off + 1);
        off += 3;
        for (uint32_t i = 0; i < count; i++) {
            if (n - off < 2) return OMN_CMAF_ECONFIG;
            size_t len = omn_rd16(p + off);
            off += 2;
            if (len < 2 || n - off < len) return OMN_CMAF_ECONFIG;
            if (((p[off] >> 1) & 0x3F) != type) return OMN_CMAF_ECONFIG;
            if (type == 33 && !sps) { sps = p + off; sps_len = len; }
            off += len;
        }
        if (count && hvcc_keep(type) && !have[type]++) kept++;
    }
    if (!have[32] || !have[33] || !have[34]) return OMN_CMAF_ECONFIG;

    hevc_sps s;
    int rc = parse_hevc_sps(sps, sps_len, &s);
    if (rc) return rc;

    /* Normalised record: SPS-derived header, one array per kept type in
     * the order they appear, array_completeness = 1, 4-byte lengths. */
    omn_w w;
    omn_w_open(&w, &c->record);
    hvcc_header(&w, &s, p + 13, kept);
    uint32_t done[64] = {0};
    size_t o1 = 23;
    for (uint32_t a = 0; a < narrays; a++) {
        uint32_t type = p[o1] & 0x3F, count = omn_rd16(p + o1 + 1);
        size_t body = o1 + 3, end = body;
        for (uint32_t i = 0; i < count; i++) end += 2 + omn_rd16(p + end);
        o1 = end;
        if (!count || !hvcc_keep(type) || done[type]) continue;
        done[type] = 1;
        /* merge every array of this type */
        uint32_t total = 0;
        size_t o2 = 23;
        for (uint32_t b2 = 0; b2 < narrays; b2++) {
            uint32_t t2 = p[o2] & 0x3F, c2 = omn_rd16(p + o2 + 1);
            size_t e2 = o2 + 3;
            for (uint32_t i = 0; i < c2; i++) e2 += 2 + omn_rd16(p + e2);
            if (t2 == type) total += c2;
            o2 = e2;
        }
        if (total > 0xFFFF) { omn_w_fail(&w, OMN_CMAF_ECONFIG); break; }
        omn_w_u8(&w, 0x80 | type);
        omn_w_u16(&w, total);
        o2 = 23;
        for (uint32_t b2 = 0; b2 < narrays; b2++) {
            uint32_t t2 = p[o2] & 0x3F, c2 = omn_rd16(p + o2 + 1);
            size_t s2 = o2 + 3, e2 = s2;
            for (uint32_t i = 0; i < c2; i++) e2 += 2 + omn_rd16(p + e2);
            if (t2 == type) omn_w_bytes(&w, p + s2, e2 - s2);
            o2 = e2;
        }
    }
    if ((rc = omn_w_done(&w))) return rc;

    c->info.width = s.width;
    c->info.height = s.height;
    c->info.nal_length_size = lsize;
    hevc_codecs(&s, c->info.codecs, sizeof c->info.codecs);
    return OMN_CMAF_OK;
}

/* ---- Annex B --------------------------------------------------------- */

/* Offset of the next 00 00 01 start code at or after i, or n when none.
 * memchr finds the 01 candidates, which keeps the scan near memory speed. */
static size_t find_start_code(const uint8_t *p, size_t n, size_t i)
{
    while (n >= 3 && i + 2 < n) {
        const uint8_t *one = memchr(p + i + 2, 1, n - i - 2);
        if (!one) return n;
        size_t k = (size_t)(one - p);
        if (p[k - 1] == 0 && p[k - 2] == 0) return k - 2;
        i = k - 1;
    }
    return n;
}

/* Finds the next NAL unit at or after *pos: sets *nal and *nal_len
 * (trailing zero bytes trimmed) and advances *pos. Returns 0 when none. */
static int annexb_next(const uint8_t *p, size_t n, size_t *pos, const uint8_t **nal, size_t *nal_len)
{
    size_t i = find_start_code(p, n, *pos);
    if (i >= n) return 0;
    size_t s = i + 3, e = find_start_code(p, n, s);
    *pos = e;
    while (e > s && p[e - 1] == 0) e--;
    *nal = p + s;
    *nal_len = e - s;
    return 1;
}

int omn_nal_to_len4(omn_buf *out, const uint8_t *p, size_t n, int format, uint32_t lsize)
{
    omn_w w;
    omn_w_open(&w, out);
    size_t count = 0;
    if (format == OMN_INPUT_ANNEXB) {
        size_t pos = 0, len;
        const uint8_t *nal;
        while (annexb_next(p, n, &pos, &nal, &len)) {
            if (len == 0) continue;
            if (len > UINT32_MAX) { omn_w_fail(&w, OMN_CMAF_ETOOBIG); break; }
            omn_w_u32(&w, (uint32_t)len);
            omn_w_bytes(&w, nal, len);
            count++;
        }
    } else {
        size_t off = 0;
        if (lsize != 1 && lsize != 2 && lsize != 4) omn_w_fail(&w, OMN_CMAF_EINVAL);
        while (!w.err && off < n) {
            if (n - off < lsize) { omn_w_fail(&w, OMN_CMAF_EINVAL); break; }
            uint32_t len = lsize == 4 ? omn_rd32(p + off) : lsize == 2 ? omn_rd16(p + off) : p[off];
            off += lsize;
            if (len == 0 || n - off < len) { omn_w_fail(&w, OMN_CMAF_EINVAL); break; }
            omn_w_u32(&w, len);
            omn_w_bytes(&w, p + off, len);
            off += len;
            count++;
        }
    }
    if (!w.err && count == 0) omn_w_fail(&w, OMN_CMAF_EINVAL);
    return omn_w_done(&w);
}

int omn_avcc_from_annexb(omn_buf *out, const uint8_t *data, size_t len)
{
    const uint8_t *nal, *sps = NULL, *pps[32];
    size_t nlen, sps_len = 0, pps_len[32], npps = 0, pos = 0;
    while (annexb_next(data, len, &pos, &nal, &nlen)) {
        if (nlen == 0 || nlen > 0xFFFF) continue;
        uint32_t t = nal[0] & 0x1F;
        if (t == 7 && !sps) { sps = nal; sps_len = nlen; }
        if (t == 8 && npps < 32) {
            int dup = 0;
            for (size_t i = 0; i < npps; i++)
                if (pps_len[i] == nlen && !memcmp(pps[i], nal, nlen)) dup = 1;
            if (!dup) { pps[npps] = nal; pps_len[npps++] = nlen; }
        }
    }
    if (!sps || !npps || sps_len < 4) return OMN_CMAF_ECONFIG;
    avc_sps s;
    int rc = parse_avc_sps(sps, sps_len, &s);
    if (rc) return rc;
    omn_w w;
    omn_w_open(&w, out);
    omn_w_u8(&w, 1);
    omn_w_bytes(&w, sps + 1, 3);
    omn_w_u8(&w, 0xFF);
    omn_w_u8(&w, 0xE1);
    omn_w_u16(&w, (uint32_t)sps_len);
    omn_w_bytes(&w, sps, sps_len);
    omn_w_u8(&w, (uint32_t)npps);
    for (size_t i = 0; i < npps; i++) {
        omn_w_u16(&w, (uint32_t)pps_len[i]);
        omn_w_bytes(&w, pps[i], pps_len[i]);
    }
    return omn_w_done(&w);
}

int omn_hvcc_from_annexb(omn_buf *out, const uint8_t *data, size_t len)
{
    const uint8_t *nal, *ps[3] = { NULL, NULL, NULL };
    size_t nlen, ps_len[3] = { 0, 0, 0 }, pos = 0;
    while (annexb_next(data, len, &pos, &nal, &nlen)) {
        if (nlen < 2 || nlen > 0xFFFF) continue;
        uint32_t t = (nal[0] >> 1) & 0x3F;
        if (t >= 32 && t <= 34 && !ps[t - 32]) { ps[t - 32] = nal; ps_len[t - 32] = nlen; }
    }
    if (!ps[0] || !ps[1] || !ps[2]) return OMN_CMAF_ECONFIG;
    hevc_sps s;
    int rc = parse_hevc_sps(ps[1], ps_len[1], &s);
    if (rc) return rc;
    omn_w w;
    omn_w_open(&w, out);
    hvcc_header(&w, &s, NULL, 3);
    for (int i = 0; i < 3; i++) {
        omn_w_u8(&w, 0x80 | (uint32_t)(32 + i));
        omn_w_u16(&w, 1);
        omn_w_u16(&w, (uint32_t)ps_len[i]);
        omn_w_bytes(&w, ps[i], ps_len[i]);
    }
    return omn_w_done(&w);
}

/* cmaf_h26x.c - H.264/H.265 records for the packager: avcC / hvcC
 * validation and normalisation (4-byte NAL lengths, hvc1
 * array_completeness), records built from Annex B, and sample conversion to
 * 4-byte length-prefixed NAL units. SPS parsing and the record walk are
 * h264_sps.c / hevc_sps.c (ps_record.h), CODECS strings
 * sps_codec_string.c. All input is untrusted (publishers send it): every
 * read is bounds-checked. */
#include "cmaf_internal.h"
#include "ps_record.h"

#include <string.h>

/* ---- avcC ------------------------------------------------------------ */

/* The record is walked and its first SPS parsed by omn_avcc_walk
 * (h264_sps.c); here it is only held to what a sample entry needs and
 * normalised: 4-byte NAL lengths, profile/compat/level from the SPS,
 * high-profile extension bytes after the PPS list dropped. */
int omn_h26x_parse_avcc(omn_codec_cfg *c, const uint8_t *p, size_t n)
{
    omn_sps_info s;
    omn_ps_layout l;
    if (omn_avcc_walk(p, n, &s, &l) != 0) return OMN_CMAF_ECONFIG;
    if (s.nal_length_size == 3 || !l.typed || !l.end || l.npps == 0) return OMN_CMAF_ECONFIG;
    int rc = omn_sps_codec_string(&s, c->info.codecs, sizeof c->info.codecs);
    if (rc < 0) return OMN_CMAF_ECONFIG;

    omn_w w;
    omn_w_open(&w, &c->record);
    omn_w_u8(&w, 1);
    omn_w_u8(&w, (uint32_t)s.profile);
    omn_w_u8(&w, s.constraint_flags);
    omn_w_u8(&w, (uint32_t)s.level);
    omn_w_u8(&w, 0xFF);                  /* 0xFC | lengthSizeMinusOne 3 */
    omn_w_u8(&w, 0xE0 | l.nsps);
    omn_w_bytes(&w, p + 6, l.end - 6);   /* SPS list, numOfPPS, PPS list as sent */
    if ((rc = omn_w_done(&w))) return rc;

    c->info.width = s.width;
    c->info.height = s.height;
    c->info.nal_length_size = (uint32_t)s.nal_length_size;
    return OMN_CMAF_OK;
}

/* ---- hvcC ------------------------------------------------------------ */

static int hvcc_header(omn_w *w, const omn_sps_info *s, const uint8_t *tail9, uint32_t narrays)
{
    omn_w_u8(w, 1);
    omn_w_u8(w, (uint32_t)s->profile_space << 6 | (uint32_t)s->tier << 5 | (uint32_t)s->profile);
    omn_w_u32(w, s->profile_compat);
    omn_w_u16(w, (uint32_t)(s->hevc_constraints >> 32));
    omn_w_u32(w, (uint32_t)s->hevc_constraints);
    omn_w_u8(w, (uint32_t)s->level);
    if (tail9) {
        /* min_spatial_segmentation, parallelismType from the publisher's record */
        omn_w_u16(w, 0xF000 | (omn_rd16(tail9) & 0x0FFF));
        omn_w_u8(w, 0xFC | (tail9[2] & 3));
    } else {
        omn_w_u16(w, 0xF000);
        omn_w_u8(w, 0xFC);
    }
    omn_w_u8(w, 0xFC | (uint32_t)s->chroma_format);
    omn_w_u8(w, 0xF8 | (uint32_t)(s->bit_depth_luma - 8));
    omn_w_u8(w, 0xF8 | (uint32_t)(s->bit_depth_chroma - 8));
    omn_w_u16(w, tail9 ? omn_rd16(tail9 + 6) : 0);          /* avgFrameRate */
    uint32_t cfr = tail9 ? (tail9[8] >> 6) : 0;
    omn_w_u8(w, (cfr << 6) | (uint32_t)s->max_sub_layers << 3 | (uint32_t)s->temporal_id_nesting << 2 | 3);
    omn_w_u8(w, narrays);
    return w->err;
}

/* Array types kept in hvcC: VPS, SPS, PPS, prefix/suffix SEI. */
static int hvcc_keep(uint32_t t) { return t == 32 || t == 33 || t == 34 || t == 39 || t == 40; }

/* The record is walked (every length checked) and its first SPS parsed by
 * omn_hvcc_walk (hevc_sps.c); the loops below re-read lengths it vetted. */
int omn_h26x_parse_hvcc(omn_codec_cfg *c, const uint8_t *p, size_t n)
{
    omn_sps_info s;
    omn_ps_layout l;
    if (omn_hvcc_walk(p, n, &s, &l) != 0) return OMN_CMAF_ECONFIG;
    if (s.nal_length_size == 3 || !l.typed) return OMN_CMAF_ECONFIG;
    if (!(l.types >> 32 & 1) || !(l.types >> 33 & 1) || !(l.types >> 34 & 1)) return OMN_CMAF_ECONFIG;
    int rc = omn_sps_codec_string(&s, c->info.codecs, sizeof c->info.codecs);
    if (rc < 0) return OMN_CMAF_ECONFIG;
    uint32_t narrays = p[22], kept = 0;
    for (uint32_t t = 0; t < 64; t++)
        if (hvcc_keep(t) && (l.types >> t & 1)) kept++;

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
    c->info.nal_length_size = (uint32_t)s.nal_length_size;
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
int omn_annexb_next(const uint8_t *p, size_t n, size_t *pos, const uint8_t **nal, size_t *nal_len)
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
    /* the output is about the input's size (a 3-byte start code grows to 4 bytes): reserve it
     * once instead of growing by doubling through a large frame */
    int rc = omn_buf_reserve(out, (format == OMN_INPUT_ANNEXB ? n + n / 3 : n) + 16);
    if (rc) return rc;
    omn_w w;
    omn_w_open(&w, out);
    size_t count = 0;
    if (format == OMN_INPUT_ANNEXB) {
        size_t pos = 0, len;
        const uint8_t *nal;
        while (omn_annexb_next(p, n, &pos, &nal, &len)) {
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
    while (omn_annexb_next(data, len, &pos, &nal, &nlen)) {
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
    omn_sps_info s;
    if (omn_h264_sps_parse(sps, sps_len, &s) != 0) return OMN_CMAF_ECONFIG;
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
    while (omn_annexb_next(data, len, &pos, &nal, &nlen)) {
        if (nlen < 2 || nlen > 0xFFFF) continue;
        uint32_t t = (nal[0] >> 1) & 0x3F;
        if (t >= 32 && t <= 34 && !ps[t - 32]) { ps[t - 32] = nal; ps_len[t - 32] = nlen; }
    }
    if (!ps[0] || !ps[1] || !ps[2]) return OMN_CMAF_ECONFIG;
    omn_sps_info s;
    if (omn_hevc_sps_parse(ps[1], ps_len[1], &s) != 0) return OMN_CMAF_ECONFIG;
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

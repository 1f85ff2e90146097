/* h264_sps.c - H.264 sequence parameter set and avcC (AVCDecoderConfiguration-
 * Record) reading: size after cropping, profile/level, chroma format, bit
 * depth and the VUI frame rate. Bounds-checked; emulation prevention removed
 * while reading (bits.h). The one H.264 SPS parser and avcC walk of the core:
 * the CMAF packager builds on omn_avcc_walk (ps_record.h). */
#include "ome_native.h"
#include "bits.h"
#include "ps_record.h"

#include <string.h>

static void skip_scaling_list(struct nal_bits *b, int size)
{
    int32_t last = 8, next = 8;
    for (int j = 0; j < size && !b->overrun; j++) {
        if (next != 0) {
            int32_t delta = nb_se(b);
            if (delta < -128 || delta > 127) { b->overrun = 1; return; }
            next = (last + delta + 256) % 256;
        }
        last = next == 0 ? last : next;
    }
}

void omn_vui_head(struct nal_bits *b, omn_sps_info *out)
{
    if (nb_u1(b)) {                                  /* aspect_ratio_info_present */
        uint32_t idc = nb_u(b, 8);
        if (idc == 255) { out->sar_num = nb_u(b, 16); out->sar_den = nb_u(b, 16); }
        else {
            static const uint8_t sar[17][2] = {
                {0, 0}, {1, 1}, {12, 11}, {10, 11}, {16, 11}, {40, 33}, {24, 11}, {20, 11},
                {32, 11}, {80, 33}, {18, 11}, {15, 11}, {64, 33}, {160, 99}, {4, 3}, {3, 2}, {2, 1} };
            if (idc < 17) { out->sar_num = sar[idc][0]; out->sar_den = sar[idc][1]; }
        }
    }
    if (nb_u1(b)) nb_u1(b);                          /* overscan */
    if (nb_u1(b)) {                                  /* video_signal_type */
        nb_u(b, 3);
        out->full_range = (int32_t)nb_u1(b);
        if (nb_u1(b)) nb_u(b, 24);
    }
    if (nb_u1(b)) { nb_ue(b); nb_ue(b); }            /* chroma_loc_info */
}

int omn_h264_sps_parse(const uint8_t *nal, size_t len, omn_sps_info *out)
{
    struct nal_bits b;
    if (!nal || !out || len < 4) return OMN_SPS_E_MALFORMED;
    memset(out, 0, sizeof *out);
    if ((nal[0] & 0x1F) != 7) return OMN_SPS_E_MALFORMED;
    nb_init(&b, nal + 1, len - 1);

    out->codec = OMN_FLV_CODEC_H264;
    out->profile = (int32_t)nb_u(&b, 8);
    out->constraint_flags = nb_u(&b, 8);
    out->level = (int32_t)nb_u(&b, 8);
    if (nb_ue(&b) > 31) return OMN_SPS_E_MALFORMED;  /* seq_parameter_set_id */

    uint32_t chroma = 1, sep_colour = 0;
    out->bit_depth_luma = out->bit_depth_chroma = 8;
    switch (out->profile) {
    case 100: case 110: case 122: case 244: case 44: case 83: case 86:
    case 118: case 128: case 138: case 139: case 134: case 135:
        chroma = nb_ue(&b);
        if (chroma > 3) return OMN_SPS_E_MALFORMED;
        if (chroma == 3) sep_colour = nb_u1(&b);
        {
            uint32_t bdl = nb_ue(&b), bdc = nb_ue(&b);
            if (bdl > 6 || bdc > 6) return OMN_SPS_E_MALFORMED;
            out->bit_depth_luma = 8 + (int32_t)bdl;
            out->bit_depth_chroma = 8 + (int32_t)bdc;
        }
        nb_u1(&b);                                   /* qpprime_y_zero_transform_bypass */
        if (nb_u1(&b)) {                             /* seq_scaling_matrix_present */
            int n = chroma != 3 ? 8 : 12;
            for (int i = 0; i < n; i++)
                if (nb_u1(&b)) skip_scaling_list(&b, i < 6 ? 16 : 64);
        }
        break;
    default:
        break;
    }
    out->chroma_format = (int32_t)chroma;
    if (nb_ue(&b) > 12) return OMN_SPS_E_MALFORMED;  /* log2_max_frame_num_minus4 */
    uint32_t poc_type = nb_ue(&b);
    if (poc_type == 0) {
        if (nb_ue(&b) > 12) return OMN_SPS_E_MALFORMED;
    } else if (poc_type == 1) {
        nb_u1(&b);
        nb_se(&b);
        nb_se(&b);
        uint32_t n = nb_ue(&b);
        if (n > 255) return OMN_SPS_E_MALFORMED;
        for (uint32_t i = 0; i < n && !b.overrun; i++) nb_se(&b);
    } else if (poc_type != 2) {
        return OMN_SPS_E_MALFORMED;
    }
    nb_ue(&b);                                       /* max_num_ref_frames */
    nb_u1(&b);                                       /* gaps_in_frame_num_allowed */
    uint32_t w_mbs = nb_ue(&b) + 1, h_units = nb_ue(&b) + 1;
    uint32_t frame_mbs_only = nb_u1(&b);
    if (!frame_mbs_only) nb_u1(&b);                  /* mb_adaptive_frame_field */
    nb_u1(&b);                                       /* direct_8x8_inference */
    uint32_t cl = 0, cr = 0, ct = 0, cb = 0;
    if (nb_u1(&b)) { cl = nb_ue(&b); cr = nb_ue(&b); ct = nb_ue(&b); cb = nb_ue(&b); }
    if (b.overrun) return OMN_SPS_E_MALFORMED;

    uint32_t array_type = sep_colour ? 0 : chroma;
    uint32_t cux = array_type == 1 || array_type == 2 ? 2 : 1;
    uint32_t cuy = (array_type == 1 ? 2 : 1) * (2 - frame_mbs_only);
    uint64_t w = (uint64_t)w_mbs * 16, h = (uint64_t)h_units * 16 * (2 - frame_mbs_only);
    /* sqrt(8 * MaxFS) of the highest level (6.2) bounds either side: 16888 */
    if (w > 16888 || h > 16888) return OMN_SPS_E_MALFORMED;
    uint64_t crop_w = ((uint64_t)cl + cr) * cux, crop_h = ((uint64_t)ct + cb) * cuy;
    if (crop_w >= w || crop_h >= h) return OMN_SPS_E_MALFORMED;
    out->width = (uint32_t)(w - crop_w);
    out->height = (uint32_t)(h - crop_h);

    if (nb_u1(&b)) {                                 /* vui_parameters_present */
        omn_vui_head(&b, out);
        if (nb_u1(&b)) {                             /* timing_info_present */
            uint32_t units = nb_u(&b, 32), scale = nb_u(&b, 32);
            if (!b.overrun && units && scale) {
                out->fps_num = scale;
                out->fps_den = 2 * (uint64_t)units > 0xFFFFFFFFu ? 0 : 2 * units;
                if (!out->fps_den) out->fps_num = 0;
            }
        }
        /* What follows (HRD, bitstream restriction) is not needed. A
         * truncated VUI only loses the optional fields read above. */
        if (b.overrun) { out->fps_num = out->fps_den = 0; }
    }
    return 0;
}

int omn_avcc_walk(const uint8_t *p, size_t len, omn_sps_info *out, omn_ps_layout *l)
{
    if (!p || !out || !l || len < 7) return OMN_SPS_E_MALFORMED;
    memset(out, 0, sizeof *out);
    memset(l, 0, sizeof *l);
    if (p[0] != 1) return OMN_SPS_E_MALFORMED;      /* configurationVersion */
    int nal_len = (p[4] & 3) + 1;
    size_t n_sps = p[5] & 0x1F, off = 6;
    if (n_sps == 0) return OMN_SPS_E_NO_SPS;
    l->typed = 1;
    l->nsps = (uint32_t)n_sps;
    for (size_t i = 0; i < n_sps; i++) {
        if (len - off < 2) return OMN_SPS_E_MALFORMED;
        size_t sl = (size_t)p[off] << 8 | p[off + 1];
        off += 2;
        if (len - off < sl) return OMN_SPS_E_MALFORMED;
        if (sl < 4 || (p[off] & 0x1F) != 7) l->typed = 0;
        if (i == 0) {
            int rc = omn_h264_sps_parse(p + off, sl, out);
            if (rc) return rc;
        }
        off += sl;
    }
    out->nal_length_size = nal_len;
    /* The PPS list only goes into *l: a record cut inside it still gives
     * the SPS fields (l->end stays 0). */
    if (off == len) return 0;
    size_t n_pps = p[off++];
    for (size_t i = 0; i < n_pps; i++) {
        if (len - off < 2) return 0;
        size_t pl = (size_t)p[off] << 8 | p[off + 1];
        off += 2;
        if (len - off < pl) return 0;
        if (pl < 1 || (p[off] & 0x1F) != 8) l->typed = 0;
        off += pl;
    }
    l->npps = (uint32_t)n_pps;
    l->end = off;
    return 0;
}

int omn_avcc_parse(const uint8_t *p, size_t len, omn_sps_info *out)
{
    omn_ps_layout l;
    return omn_avcc_walk(p, len, out, &l);
}

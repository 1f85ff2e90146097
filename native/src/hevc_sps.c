/* hevc_sps.c - HEVC sequence parameter set and hvcC (HEVCDecoderConfiguration-
 * Record) reading: size after the conformance window, profile/tier/level
 * (everything an hvc1 codec string needs), chroma format, bit depth and the
 * VUI frame rate (which sits behind the short-term reference picture sets,
 * so those are walked too). Bounds-checked; emulation prevention removed
 * while reading (bits.h). The one HEVC SPS parser and hvcC walk of the core:
 * the CMAF packager builds on omn_hvcc_walk (ps_record.h). */
#include "ome_native.h"
#include "bits.h"
#include "ps_record.h"

#include <string.h>

static void skip_scaling_list_data(struct nal_bits *b)
{
    for (int size_id = 0; size_id < 4; size_id++) {
        for (int matrix_id = 0; matrix_id < 6; matrix_id += size_id == 3 ? 3 : 1) {
            if (b->overrun) return;
            if (!nb_u1(b)) {                       /* scaling_list_pred_mode_flag */
                nb_ue(b);                          /* pred_matrix_id_delta */
            } else {
                int coefs = 1 << (4 + (size_id << 1));
                if (coefs > 64) coefs = 64;
                if (size_id > 1) nb_se(b);         /* dc coef */
                for (int i = 0; i < coefs && !b->overrun; i++) nb_se(b);
            }
        }
    }
}

/* st_ref_pic_set(idx) as in the SPS; num_delta_pocs[] of the earlier sets. */
static int skip_st_ref_pic_set(struct nal_bits *b, unsigned idx, uint32_t *num_delta_pocs)
{
    if (idx != 0 && nb_u1(b)) {                    /* inter_ref_pic_set_prediction */
        nb_u1(b);                                  /* delta_rps_sign */
        if (nb_ue(b) > 32767) return -1;           /* abs_delta_rps_minus1 */
        uint32_t ref = num_delta_pocs[idx - 1], n = 0;
        for (uint32_t j = 0; j <= ref && !b->overrun; j++) {
            uint32_t used = nb_u1(b);
            if (used || nb_u1(b)) n++;             /* use_delta_flag */
        }
        if (n > 32) return -1;
        num_delta_pocs[idx] = n;
    } else {
        uint32_t neg = nb_ue(b), pos = nb_ue(b);
        if (neg > 16 || pos > 16) return -1;
        for (uint32_t i = 0; i < neg + pos && !b->overrun; i++) {
            if (nb_ue(b) > 32767) return -1;       /* delta_poc_sN_minus1 */
            nb_u1(b);                              /* used_by_curr_pic */
        }
        num_delta_pocs[idx] = neg + pos;
    }
    return b->overrun ? -1 : 0;
}

int omn_hevc_sps_parse(const uint8_t *nal, size_t len, omn_sps_info *out)
{
    struct nal_bits b;
    if (!nal || !out || len < 4) return OMN_SPS_E_MALFORMED;
    memset(out, 0, sizeof *out);
    if (((nal[0] >> 1) & 0x3F) != 33) return OMN_SPS_E_MALFORMED;
    nb_init(&b, nal + 2, len - 2);
    out->codec = OMN_FLV_CODEC_HEVC;

    nb_u(&b, 4);                                   /* sps_video_parameter_set_id */
    uint32_t max_sub_layers = nb_u(&b, 3) + 1;
    if (max_sub_layers > 7) return OMN_SPS_E_MALFORMED;
    out->max_sub_layers = (int32_t)max_sub_layers;
    out->temporal_id_nesting = (int32_t)nb_u1(&b);

    /* profile_tier_level(1, max_sub_layers - 1) */
    out->profile_space = (int32_t)nb_u(&b, 2);
    out->tier = (int32_t)nb_u1(&b);
    out->profile = (int32_t)nb_u(&b, 5);
    out->profile_compat = nb_u(&b, 32);
    out->hevc_constraints = (uint64_t)nb_u(&b, 16) << 32;
    out->hevc_constraints |= nb_u(&b, 32);
    out->level = (int32_t)nb_u(&b, 8);
    uint32_t sub_profile[8] = { 0 }, sub_level[8] = { 0 };
    for (uint32_t i = 0; i + 1 < max_sub_layers; i++) {
        sub_profile[i] = nb_u1(&b);
        sub_level[i] = nb_u1(&b);
    }
    if (max_sub_layers > 1)
        for (uint32_t i = max_sub_layers - 1; i < 8; i++) nb_u(&b, 2);
    for (uint32_t i = 0; i + 1 < max_sub_layers; i++) {
        if (sub_profile[i]) nb_skip(&b, 88);
        if (sub_level[i]) nb_skip(&b, 8);
    }

    if (nb_ue(&b) > 15) return OMN_SPS_E_MALFORMED; /* sps_seq_parameter_set_id */
    uint32_t chroma = nb_ue(&b);
    if (chroma > 3) return OMN_SPS_E_MALFORMED;
    uint32_t sep_colour = chroma == 3 ? nb_u1(&b) : 0;
    uint32_t w = nb_ue(&b), h = nb_ue(&b);
    uint32_t cl = 0, cr = 0, ct = 0, cb = 0;
    if (nb_u1(&b)) { cl = nb_ue(&b); cr = nb_ue(&b); ct = nb_ue(&b); cb = nb_ue(&b); }
    uint32_t bdl = nb_ue(&b), bdc = nb_ue(&b);
    if (b.overrun) return OMN_SPS_E_MALFORMED;
    /* 16888 = sqrt(8 * MaxLumaPs) of the highest level bounds either side */
    if (w == 0 || h == 0 || w > 16888 || h > 16888 || bdl > 8 || bdc > 8) return OMN_SPS_E_MALFORMED;
    uint32_t array_type = sep_colour ? 0 : chroma;
    uint64_t sub_w = array_type == 1 || array_type == 2 ? 2 : 1, sub_h = array_type == 1 ? 2 : 1;
    uint64_t crop_w = ((uint64_t)cl + cr) * sub_w, crop_h = ((uint64_t)ct + cb) * sub_h;
    if (crop_w >= w || crop_h >= h) return OMN_SPS_E_MALFORMED;
    out->width = (uint32_t)(w - crop_w);
    out->height = (uint32_t)(h - crop_h);
    out->chroma_format = (int32_t)chroma;
    out->bit_depth_luma = 8 + (int32_t)bdl;
    out->bit_depth_chroma = 8 + (int32_t)bdc;

    /* Walk on to the VUI for the frame rate; failure here is not an error
     * for the fields above, it only leaves the frame rate unknown. */
    uint32_t log2_max_poc = nb_ue(&b) + 4;
    if (log2_max_poc > 16) return 0;
    uint32_t ordering_all = nb_u1(&b);
    for (uint32_t i = ordering_all ? 0 : max_sub_layers - 1; i < max_sub_layers; i++) {
        nb_ue(&b); nb_ue(&b); nb_ue(&b);
    }
    nb_ue(&b); nb_ue(&b); nb_ue(&b); nb_ue(&b);    /* coding/transform block sizes */
    nb_ue(&b); nb_ue(&b);                          /* max_transform_hierarchy_depth */
    if (nb_u1(&b) && nb_u1(&b)) skip_scaling_list_data(&b);
    nb_u1(&b);                                     /* amp_enabled */
    nb_u1(&b);                                     /* sample_adaptive_offset_enabled */
    if (nb_u1(&b)) {                               /* pcm_enabled */
        nb_u(&b, 4); nb_u(&b, 4); nb_ue(&b); nb_ue(&b); nb_u1(&b);
    }
    uint32_t n_st = nb_ue(&b);
    if (b.overrun || n_st > 64) return 0;
    uint32_t num_delta_pocs[64];
    for (uint32_t i = 0; i < n_st; i++)
        if (skip_st_ref_pic_set(&b, i, num_delta_pocs)) return 0;
    if (nb_u1(&b)) {                               /* long_term_ref_pics_present */
        uint32_t n_lt = nb_ue(&b);
        if (n_lt > 32) return 0;
        for (uint32_t i = 0; i < n_lt && !b.overrun; i++) { nb_u(&b, (int)log2_max_poc); nb_u1(&b); }
    }
    nb_u1(&b);                                     /* sps_temporal_mvp_enabled */
    nb_u1(&b);                                     /* strong_intra_smoothing */
    if (b.overrun || !nb_u1(&b)) return 0;         /* vui_parameters_present */

    omn_vui_head(&b, out);
    nb_u1(&b); nb_u1(&b); nb_u1(&b);               /* neutral_chroma, field_seq, frame_field_info */
    if (nb_u1(&b)) { nb_ue(&b); nb_ue(&b); nb_ue(&b); nb_ue(&b); }  /* default_display_window */
    if (nb_u1(&b)) {                               /* vui_timing_info_present */
        uint32_t units = nb_u(&b, 32), scale = nb_u(&b, 32);
        if (!b.overrun && units && scale) { out->fps_num = scale; out->fps_den = units; }
    }
    if (b.overrun) { out->sar_num = out->sar_den = 0; out->full_range = 0; out->fps_num = out->fps_den = 0; }
    return 0;
}

int omn_hvcc_walk(const uint8_t *p, size_t len, omn_sps_info *out, omn_ps_layout *l)
{
    if (!p || !out || !l || len < 23) return OMN_SPS_E_MALFORMED;
    memset(out, 0, sizeof *out);
    memset(l, 0, sizeof *l);
    if (p[0] != 1) return OMN_SPS_E_MALFORMED;      /* configurationVersion */
    int nal_len = (p[21] & 3) + 1;
    uint32_t avg_fps = (uint32_t)p[19] << 8 | p[20];  /* frames per 256 s */
    size_t n_arrays = p[22], off = 23;
    int found = 0;
    l->typed = 1;
    for (size_t a = 0; a < n_arrays; a++) {
        if (len - off < 3) return OMN_SPS_E_MALFORMED;
        int type = p[off] & 0x3F;
        size_t n = (size_t)p[off + 1] << 8 | p[off + 2];
        off += 3;
        if (n) l->types |= (uint64_t)1 << type;
        for (size_t i = 0; i < n; i++) {
            if (len - off < 2) return OMN_SPS_E_MALFORMED;
            size_t nl = (size_t)p[off] << 8 | p[off + 1];
            off += 2;
            if (len - off < nl) return OMN_SPS_E_MALFORMED;
            if (nl < 2 || ((p[off] >> 1) & 0x3F) != type) l->typed = 0;
            if (type == 33 && !found) {
                int rc = omn_hevc_sps_parse(p + off, nl, out);
                if (rc) return rc;
                found = 1;
            }
            off += nl;
        }
    }
    l->end = off;
    if (!found) return OMN_SPS_E_NO_SPS;
    if (!out->fps_num && avg_fps) { out->fps_num = avg_fps; out->fps_den = 256; }
    out->nal_length_size = nal_len;
    return 0;
}

int omn_hvcc_parse(const uint8_t *p, size_t len, omn_sps_info *out)
{
    omn_ps_layout l;
    return omn_hvcc_walk(p, len, out, &l);
}

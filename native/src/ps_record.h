/* ps_record.h - private interface of the parameter-set parsers
 * (h264_sps.c / hevc_sps.c): the one walk over an avcC / hvcC record,
 * shared by the public omn_avcc_parse / omn_hvcc_parse and the CMAF
 * packager (cmaf_h26x.c), which needs the record's layout to validate and
 * normalise it; and the VUI fields H.264 and HEVC share. Not seen by cffi. */
#ifndef OMN_PS_RECORD_H
#define OMN_PS_RECORD_H
#include "ome_native.h"
#include "bits.h"

typedef struct omn_ps_layout {
    int typed;          /* every NAL unit has its list's type and a plausible size: avcC SPS
                           type 7 (>= 4 bytes) and PPS type 8 (>= 1 byte); hvcC the array's
                           type (>= 2 bytes) */
    uint32_t nsps;      /* avcC: numOfSequenceParameterSets */
    uint32_t npps;      /* avcC: numOfPictureParameterSets */
    size_t end;         /* avcC: offset after the PPS list, 0 when the record stops before it
                           ends (omn_avcc_parse accepts that); hvcC: offset after the arrays */
    uint64_t types;     /* hvcC: bit t set when an array of NAL type t holds NAL units */
} omn_ps_layout;

/* As omn_avcc_parse / omn_hvcc_parse (same results in *out, same return
 * codes), also filling *l. */
int omn_avcc_walk(const uint8_t *p, size_t len, omn_sps_info *out, omn_ps_layout *l);
int omn_hvcc_walk(const uint8_t *p, size_t len, omn_sps_info *out, omn_ps_layout *l);

/* The VUI start common to H.264 (E.1.1) and HEVC (E.2.1): aspect ratio
 * (sar_num/sar_den), overscan, video signal type (full_range) and chroma
 * location. Defined in h264_sps.c. */
void omn_vui_head(struct nal_bits *b, omn_sps_info *out);

#endif

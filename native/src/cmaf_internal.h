/*
 * cmaf_internal.h - private helpers shared by the CMAF/LL-HLS files of the
 * native core (mp4box.c, cmaf_*.c, id3.c, emsg.c, llhls_packager.c).
 * Not part of the public API and never seen by cffi.
 *
 * Writer model: an omn_w wraps a caller-owned omn_buf and carries a sticky
 * error flag, so a serialiser can emit a whole box tree and check once.
 * On error the serialiser truncates the buffer back to where it started
 * (omn_w_done), so a failed call never leaves half a box behind.
 */
#ifndef OME_CMAF_INTERNAL_H
#define OME_CMAF_INTERNAL_H
#include "ome_native.h"

typedef struct omn_w {
    omn_buf *b;
    size_t start;   /* b->len when the writer was opened */
    int err;        /* first error (OMN_CMAF_E*), 0 while all is well */
} omn_w;

/* mp4box.c */
void omn_w_open(omn_w *w, omn_buf *b);
int  omn_w_done(omn_w *w);              /* returns w->err; on error truncates */
void omn_w_fail(omn_w *w, int err);
void omn_w_bytes(omn_w *w, const void *p, size_t n);
void omn_w_zeros(omn_w *w, size_t n);
void omn_w_u8(omn_w *w, uint32_t v);
void omn_w_u16(omn_w *w, uint32_t v);
void omn_w_u24(omn_w *w, uint32_t v);
void omn_w_u32(omn_w *w, uint32_t v);
void omn_w_u64(omn_w *w, uint64_t v);
void omn_w_fourcc(omn_w *w, const char *cc);
/* Opens a box: writes a size placeholder and the type; returns the offset
 * to pass to omn_box_end, which patches the 32-bit size. */
size_t omn_box_begin(omn_w *w, const char *type);
size_t omn_fullbox_begin(omn_w *w, const char *type, uint32_t version, uint32_t flags);
void   omn_box_end(omn_w *w, size_t at);
/* Patches a big-endian u32 at an absolute offset already written. */
void   omn_w_patch_u32(omn_w *w, size_t at, uint32_t v);

/* Big-endian readers for parsers (callers check bounds first). */
static inline uint32_t omn_rd16(const uint8_t *p) { return (uint32_t)p[0] << 8 | p[1]; }
static inline uint32_t omn_rd24(const uint8_t *p) { return (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2]; }
static inline uint32_t omn_rd32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* cmaf_codec.c: a parsed codec configuration. Everything a sample entry
 * needs, with the parameter-set record normalised to 4-byte NAL lengths. */
typedef struct omn_codec_cfg {
    omn_codec_info info;
    omn_buf record;     /* avcC / hvcC body to write (normalised), ASC, or dOps body */
    /* AAC */
    uint32_t aac_object_type;
    /* Opus (OpusHead fields, host order) */
    uint32_t opus_pre_skip;
    uint32_t opus_input_rate;
    int32_t  opus_gain;
    uint32_t opus_family;
} omn_codec_cfg;

int  omn_codec_cfg_parse(omn_codec_cfg *c, int codec, const uint8_t *cfg, size_t len);
void omn_codec_cfg_free(omn_codec_cfg *c);

/* cmaf_h26x.c */
int omn_h26x_parse_avcc(omn_codec_cfg *c, const uint8_t *p, size_t n);
int omn_h26x_parse_hvcc(omn_codec_cfg *c, const uint8_t *p, size_t n);
/* Appends a video sample as 4-byte length-prefixed NAL units. format:
 * OMN_INPUT_ANNEXB, or OMN_INPUT_RAW with lsize-byte lengths (1, 2, 4).
 * OMN_CMAF_EINVAL when the lengths do not tile the sample exactly. */
int omn_nal_to_len4(omn_buf *out, const uint8_t *p, size_t n, int format, uint32_t lsize);
/* Annex B walk: the next NAL unit at or after *pos (start code skipped,
 * trailing zero bytes trimmed); advances *pos. 0 when none is left.
 * Also used by the MPEG-TS demuxer (mpegts_demux.c). */
int omn_annexb_next(const uint8_t *p, size_t n, size_t *pos, const uint8_t **nal, size_t *nal_len);

/* cmaf_codec.c: one ADTS frame -> offset/length of its raw payload.
 * OMN_CMAF_EINVAL unless p holds exactly one single-block ADTS frame. */
int omn_adts_payload(const uint8_t *p, size_t n, size_t *off, size_t *len);

/* Opus TOC: duration of one packet in 48 kHz ticks, or 0 when malformed. */
uint32_t omn_opus_packet_ticks(const uint8_t *p, size_t n);

/* cmaf_init.c: one track (track_ID 1), or n tracks (track_IDs 1..n). */
int omn_cmaf_write_init_cfg(omn_buf *out, const omn_codec_cfg *c, uint32_t flags);
int omn_cmaf_write_init_multi(omn_buf *out, const omn_codec_cfg *const *cfgs, size_t n, uint32_t flags);

/* emsg.c: the emsg presentation time clamp of reference §4.1 (in ms):
 * [ceil(start), ceil(end) - 1] of the part range [start, start+dur) ticks. */
uint64_t omn_emsg_clamp_ms(uint64_t t_ms, uint64_t start, uint64_t dur, uint32_t timescale);

#endif

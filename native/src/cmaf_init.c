/* cmaf_init.c - CMAF init segment (ftyp + moov) as reference §3.1-3.2:
 * mvhd/tkhd/mdhd with the track timescale, empty sample tables, mvex/trex,
 * and the avc1/hvc1/mp4a/Opus sample entry. One track (track_ID 1) for
 * LL-HLS; N tracks (track_IDs 1..N, in order) for fragmented recordings. */
#include "cmaf_internal.h"

static const uint32_t unity_matrix[9] = {
    0x00010000, 0, 0, 0, 0x00010000, 0, 0, 0, 0x40000000
};

static void matrix(omn_w *w)
{
    for (int i = 0; i < 9; i++) omn_w_u32(w, unity_matrix[i]);
}

/* ES descriptor length in the 4-byte expandable form 80 80 80 nn. */
static void desc_len(omn_w *w, uint32_t n)
{
    omn_w_u8(w, 0x80 | ((n >> 21) & 0x7F));
    omn_w_u8(w, 0x80 | ((n >> 14) & 0x7F));
    omn_w_u8(w, 0x80 | ((n >> 7) & 0x7F));
    omn_w_u8(w, n & 0x7F);
}

static void esds(omn_w *w, const omn_buf *asc)
{
    uint32_t dsi = 5 + (uint32_t)asc->len;     /* tag 05 + len + ASC */
    uint32_t dcd = 13 + dsi;                   /* DecoderConfigDescriptor body */
    uint32_t es = 3 + (5 + dcd) + (5 + 1);     /* ES_ID, flags, DCD, SLConfig */
    size_t box = omn_fullbox_begin(w, "esds", 0, 0);
    omn_w_u8(w, 0x03);
    desc_len(w, es);
    omn_w_u16(w, 1);                           /* ES_ID */
    omn_w_u8(w, 0);                            /* no dependsOn / URL / OCR */
    omn_w_u8(w, 0x04);
    desc_len(w, dcd);
    omn_w_u8(w, 0x40);                         /* objectTypeIndication: MPEG-4 audio */
    omn_w_u8(w, 0x15);                         /* streamType 5 (audio) << 2 | reserved 1 */
    omn_w_u24(w, 0);                           /* bufferSizeDB */
    omn_w_u32(w, 0);                           /* maxBitrate */
    omn_w_u32(w, 0);                           /* avgBitrate */
    omn_w_u8(w, 0x05);
    desc_len(w, (uint32_t)asc->len);
    omn_w_bytes(w, asc->data, asc->len);
    omn_w_u8(w, 0x06);
    desc_len(w, 1);
    omn_w_u8(w, 0x02);                         /* SLConfig predefined: MP4 */
    omn_box_end(w, box);
}

static void visual_entry(omn_w *w, const omn_codec_cfg *c)
{
    int hevc = c->info.codec == OMN_CODEC_H265;
    size_t box = omn_box_begin(w, hevc ? "hvc1" : "avc1");
    omn_w_zeros(w, 6);
    omn_w_u16(w, 1);                           /* data_reference_index */
    omn_w_zeros(w, 16);                        /* pre_defined, reserved */
    omn_w_u16(w, c->info.width);
    omn_w_u16(w, c->info.height);
    omn_w_u32(w, 0x00480000);                  /* 72 dpi */
    omn_w_u32(w, 0x00480000);
    omn_w_u32(w, 0);
    omn_w_u16(w, 1);                           /* frame_count */
    omn_w_zeros(w, 32);                        /* compressorname: empty */
    omn_w_u16(w, 0x0018);                      /* depth */
    omn_w_u16(w, 0xFFFF);                      /* pre_defined -1 */
    size_t cfg = omn_box_begin(w, hevc ? "hvcC" : "avcC");
    omn_w_bytes(w, c->record.data, c->record.len);
    omn_box_end(w, cfg);
    omn_box_end(w, box);
}

static void audio_entry(omn_w *w, const omn_codec_cfg *c)
{
    int opus = c->info.codec == OMN_CODEC_OPUS;
    size_t box = omn_box_begin(w, opus ? "Opus" : "mp4a");
    omn_w_zeros(w, 6);
    omn_w_u16(w, 1);                           /* data_reference_index */
    omn_w_zeros(w, 8);
    omn_w_u16(w, c->info.channels);
    omn_w_u16(w, 16);                          /* samplesize */
    omn_w_u16(w, 0);                           /* pre_defined */
    omn_w_u16(w, 0);                           /* reserved */
    /* 16.16 rate; rates above 65535 Hz do not fit (the decoder config wins) */
    omn_w_u32(w, c->info.sample_rate <= 0xFFFF ? c->info.sample_rate << 16 : 0);
    if (opus) {
        size_t d = omn_box_begin(w, "dOps");
        omn_w_bytes(w, c->record.data, c->record.len);
        omn_box_end(w, d);
    } else {
        esds(w, &c->record);
    }
    omn_box_end(w, box);
}

static void empty_table(omn_w *w, const char *type)
{
    size_t b = omn_fullbox_begin(w, type, 0, 0);
    omn_w_u32(w, 0);
    omn_box_end(w, b);
}

/* One trak with empty sample tables (the samples live in the fragments). */
static void trak(omn_w *w, const omn_codec_cfg *c, uint32_t track_id)
{
    int video = c->info.is_video;
    uint32_t ts = c->info.timescale;
    size_t trak = omn_box_begin(w, "trak");
    size_t tkhd = omn_fullbox_begin(w, "tkhd", 0, 3);
    omn_w_u32(w, 0);
    omn_w_u32(w, 0);
    omn_w_u32(w, track_id);
    omn_w_u32(w, 0);
    omn_w_u32(w, 0);                           /* duration */
    omn_w_zeros(w, 8);
    omn_w_u16(w, 0);                           /* layer */
    omn_w_u16(w, 0);                           /* alternate_group */
    omn_w_u16(w, video ? 0 : 0x0100);          /* volume */
    omn_w_u16(w, 0);
    matrix(w);
    omn_w_u32(w, video ? c->info.width << 16 : 0);
    omn_w_u32(w, video ? c->info.height << 16 : 0);
    omn_box_end(w, tkhd);

    size_t mdia = omn_box_begin(w, "mdia");
    size_t mdhd = omn_fullbox_begin(w, "mdhd", 0, 0);
    omn_w_u32(w, 0);
    omn_w_u32(w, 0);
    omn_w_u32(w, ts);
    omn_w_u32(w, 0);
    omn_w_u16(w, (('u' - 0x60) << 10) | (('n' - 0x60) << 5) | ('d' - 0x60));
    omn_w_u16(w, 0);
    omn_box_end(w, mdhd);

    size_t hdlr = omn_fullbox_begin(w, "hdlr", 0, 0);
    omn_w_u32(w, 0);
    omn_w_fourcc(w, video ? "vide" : "soun");
    omn_w_zeros(w, 12);
    const char *name = video ? "VideoHandler" : "SoundHandler";
    omn_w_bytes(w, name, 13);                  /* NUL-terminated */
    omn_box_end(w, hdlr);

    size_t minf = omn_box_begin(w, "minf");
    if (video) {
        size_t vmhd = omn_fullbox_begin(w, "vmhd", 0, 1);
        omn_w_zeros(w, 8);                     /* graphicsmode, opcolor */
        omn_box_end(w, vmhd);
    } else {
        size_t smhd = omn_fullbox_begin(w, "smhd", 0, 0);
        omn_w_zeros(w, 4);                     /* balance, reserved */
        omn_box_end(w, smhd);
    }
    size_t dinf = omn_box_begin(w, "dinf");
    size_t dref = omn_fullbox_begin(w, "dref", 0, 0);
    omn_w_u32(w, 1);
    size_t url = omn_fullbox_begin(w, "url ", 0, 1);
    omn_box_end(w, url);
    omn_box_end(w, dref);
    omn_box_end(w, dinf);

    size_t stbl = omn_box_begin(w, "stbl");
    size_t stsd = omn_fullbox_begin(w, "stsd", 0, 0);
    omn_w_u32(w, 1);
    if (video) visual_entry(w, c);
    else audio_entry(w, c);
    omn_box_end(w, stsd);
    empty_table(w, "stts");
    empty_table(w, "stsc");
    size_t stsz = omn_fullbox_begin(w, "stsz", 0, 0);
    omn_w_u32(w, 0);                           /* sample_size */
    omn_w_u32(w, 0);                           /* sample_count */
    omn_box_end(w, stsz);
    empty_table(w, "stco");
    omn_box_end(w, stbl);
    omn_box_end(w, minf);
    omn_box_end(w, mdia);
    omn_box_end(w, trak);
}

int omn_cmaf_write_init_multi(omn_buf *out, const omn_codec_cfg *const *cfgs, size_t n, uint32_t flags)
{
    if (!out || !cfgs || n == 0 || n > 255) return OMN_CMAF_EINVAL;
    omn_w w;
    omn_w_open(&w, out);

    size_t ftyp = omn_box_begin(&w, "ftyp");
    omn_w_fourcc(&w, "iso6");
    omn_w_u32(&w, 0);
    omn_w_fourcc(&w, "iso6");
    omn_w_fourcc(&w, "cmfc");
    if (flags & OMN_CMAF_INIT_AID3) omn_w_fourcc(&w, "aid3");
    omn_box_end(&w, ftyp);

    size_t moov = omn_box_begin(&w, "moov");
    size_t mvhd = omn_fullbox_begin(&w, "mvhd", 0, 0);
    omn_w_u32(&w, 0);                          /* creation_time */
    omn_w_u32(&w, 0);                          /* modification_time */
    omn_w_u32(&w, cfgs[0]->info.timescale);    /* movie timescale: the first track's */
    omn_w_u32(&w, 0);                          /* duration */
    omn_w_u32(&w, 0x00010000);                 /* rate 1.0 */
    omn_w_u16(&w, 0x0100);                     /* volume 1.0 */
    omn_w_zeros(&w, 10);
    matrix(&w);
    omn_w_zeros(&w, 24);                       /* pre_defined */
    omn_w_u32(&w, (uint32_t)n + 1);            /* next_track_ID */
    omn_box_end(&w, mvhd);

    for (size_t i = 0; i < n; i++) trak(&w, cfgs[i], (uint32_t)i + 1);

    size_t mvex = omn_box_begin(&w, "mvex");
    for (size_t i = 0; i < n; i++) {
        size_t trex = omn_fullbox_begin(&w, "trex", 0, 0);
        omn_w_u32(&w, (uint32_t)i + 1);        /* track_ID */
        omn_w_u32(&w, 1);                      /* default_sample_description_index */
        omn_w_u32(&w, 0);
        omn_w_u32(&w, 0);
        omn_w_u32(&w, 0);
        omn_box_end(&w, trex);
    }
    omn_box_end(&w, mvex);
    omn_box_end(&w, moov);
    return omn_w_done(&w);
}

int omn_cmaf_write_init_cfg(omn_buf *out, const omn_codec_cfg *c, uint32_t flags)
{
    return omn_cmaf_write_init_multi(out, &c, 1, flags);
}

int omn_cmaf_write_init(omn_buf *out, int codec, const uint8_t *cfg, size_t cfg_len,
                        uint32_t flags)
{
    if (!out) return OMN_CMAF_EINVAL;
    omn_codec_cfg c;
    int rc = omn_codec_cfg_parse(&c, codec, cfg, cfg_len);
    if (rc) return rc;
    rc = omn_cmaf_write_init_cfg(out, &c, flags);
    omn_codec_cfg_free(&c);
    return rc;
}

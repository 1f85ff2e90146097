/* mpegts_mux.c - MPEG-TS muxer (ISO/IEC 13818-1) for .ts recordings and
 * MPEG-TS / SRT push: PAT + PMT (one program), one PES per access unit,
 * PCR in the adaptation field of the PCR track's first packet of a PES.
 * H.264/H.265 samples (4-byte length-prefixed NAL units) become Annex B
 * with an AUD and the config's parameter sets before key frames; AAC raw
 * frames get a 7-byte ADTS header built from the AudioSpecificConfig. */
#include <stdlib.h>
#include <string.h>
#include "cmaf_internal.h"

enum { TS = 188, PMT_PID = 0x1000, FIRST_ES_PID = 0x100, PSI_EVERY_90K = 45000 };

typedef struct ts_track {
    int codec;
    uint32_t timescale;
    uint16_t pid;
    uint8_t stream_type;
    uint8_t stream_id;
    uint8_t cc;
    omn_buf param_sets;         /* Annex B parameter sets put before key frames */
    uint8_t adts[7];            /* AAC: header template (length patched per frame) */
} ts_track;

struct omn_ts_mux {
    ts_track *tracks;
    size_t ntracks;
    size_t pcr_track;
    uint8_t pat_cc, pmt_cc;
    int64_t last_psi;           /* 90 kHz dts of the last PAT/PMT, -1 = never */
    omn_buf es;                 /* scratch: one PES payload */
};

static const uint8_t start_code[4] = {0, 0, 0, 1};

static uint32_t crc32_mpeg(const uint8_t *p, size_t n)
{
    uint32_t crc = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        crc ^= (uint32_t)p[i] << 24;
        for (int k = 0; k < 8; k++) crc = (crc & 0x80000000u) ? (crc << 1) ^ 0x04C11DB7u : crc << 1;
    }
    return crc;
}

/* Parameter sets of an avcC (SPS then PPS) as Annex B. */
static int avcc_param_sets(omn_buf *out, const uint8_t *p, size_t n)
{
    if (n < 6) return OMN_CMAF_ECONFIG;
    size_t off = 5;
    for (int pass = 0; pass < 2; pass++) {
        if (off >= n) return OMN_CMAF_ECONFIG;
        unsigned count = pass == 0 ? (p[off] & 0x1F) : p[off];
        off++;
        for (unsigned i = 0; i < count; i++) {
            if (off + 2 > n) return OMN_CMAF_ECONFIG;
            size_t len = omn_rd16(p + off);
            off += 2;
            if (off + len > n) return OMN_CMAF_ECONFIG;
            if (omn_buf_append(out, start_code, 4) || omn_buf_append(out, p + off, len)) return OMN_CMAF_ENOMEM;
            off += len;
        }
    }
    return OMN_CMAF_OK;
}

/* NAL arrays of an hvcC (VPS, SPS, PPS, SEI...) as Annex B. */
static int hvcc_param_sets(omn_buf *out, const uint8_t *p, size_t n)
{
    if (n < 23) return OMN_CMAF_ECONFIG;
    size_t off = 23;
    unsigned arrays = p[22];
    for (unsigned a = 0; a < arrays; a++) {
        if (off + 3 > n) return OMN_CMAF_ECONFIG;
        unsigned count = omn_rd16(p + off + 1);
        off += 3;
        for (unsigned i = 0; i < count; i++) {
            if (off + 2 > n) return OMN_CMAF_ECONFIG;
            size_t len = omn_rd16(p + off);
            off += 2;
            if (off + len > n) return OMN_CMAF_ECONFIG;
            if (omn_buf_append(out, start_code, 4) || omn_buf_append(out, p + off, len)) return OMN_CMAF_ENOMEM;
            off += len;
        }
    }
    return OMN_CMAF_OK;
}

static int adts_template(ts_track *t, const uint8_t *cfg, size_t len)
{
    static const uint32_t rates[13] = {96000, 88200, 64000, 48000, 44100, 32000, 24000,
                                       22050, 16000, 12000, 11025, 8000, 7350};
    omn_asc_info a;
    if (omn_aac_asc_parse(cfg, len, &a) != 0) return OMN_CMAF_ECONFIG;
    int index = -1;
    for (int i = 0; i < 13; i++)
        if (rates[i] == a.sample_rate) index = i;
    int profile = a.core_object_type - 1;
    if (index < 0 || profile < 0 || profile > 3 || a.channel_config < 1 || a.channel_config > 7)
        return OMN_CMAF_ECONFIG;
    uint8_t *h = t->adts;
    h[0] = 0xFF;
    h[1] = 0xF1;                                         /* MPEG-4, layer 0, no CRC */
    h[2] = (uint8_t)(profile << 6 | index << 2 | (a.channel_config >> 2));
    h[3] = (uint8_t)((a.channel_config & 3) << 6);
    h[4] = h[5] = 0;
    h[6] = 0xFC;                                         /* buffer fullness 0x7FF (VBR), 1 block */
    return OMN_CMAF_OK;
}

int omn_ts_mux_new(const omn_mux_track *tracks, size_t n, omn_ts_mux **out)
{
    if (!out) return OMN_CMAF_EINVAL;
    *out = NULL;
    if (!tracks || n == 0 || n > 32) return OMN_CMAF_EINVAL;
    omn_ts_mux *m = calloc(1, sizeof *m);
    if (!m) return OMN_CMAF_ENOMEM;
    m->tracks = calloc(n, sizeof *m->tracks);
    if (!m->tracks) { free(m); return OMN_CMAF_ENOMEM; }
    m->ntracks = n;
    m->last_psi = -1;
    m->pcr_track = SIZE_MAX;
    int video = 0, audio = 0;
    for (size_t i = 0; i < n; i++) {
        ts_track *t = &m->tracks[i];
        omn_codec_cfg c;
        int rc = omn_codec_cfg_parse(&c, tracks[i].codec, tracks[i].config, tracks[i].config_len);
        if (rc) { omn_ts_mux_free(m); return rc; }
        t->codec = tracks[i].codec;
        t->timescale = tracks[i].timescale ? tracks[i].timescale : c.info.timescale;
        t->pid = (uint16_t)(FIRST_ES_PID + i);
        switch (t->codec) {
        case OMN_CODEC_H264:
            t->stream_type = 0x1B; t->stream_id = (uint8_t)(0xE0 + video++);
            rc = avcc_param_sets(&t->param_sets, c.record.data, c.record.len);
            break;
        case OMN_CODEC_H265:
            t->stream_type = 0x24; t->stream_id = (uint8_t)(0xE0 + video++);
            rc = hvcc_param_sets(&t->param_sets, c.record.data, c.record.len);
            break;
        case OMN_CODEC_AAC:
            t->stream_type = 0x0F; t->stream_id = (uint8_t)(0xC0 + audio++);
            rc = adts_template(t, tracks[i].config, tracks[i].config_len);
            break;
        default:
            rc = OMN_CMAF_ECONFIG;                       /* Opus in TS: not carried */
        }
        if (rc == OMN_CMAF_OK && t->timescale == 0) rc = OMN_CMAF_EINVAL;
        if (c.info.is_video && m->pcr_track == SIZE_MAX) m->pcr_track = i;
        omn_codec_cfg_free(&c);
        if (rc) { omn_ts_mux_free(m); return rc; }
    }
    if (m->pcr_track == SIZE_MAX) m->pcr_track = 0;
    *out = m;
    return OMN_CMAF_OK;
}

void omn_ts_mux_free(omn_ts_mux *m)
{
    if (!m) return;
    for (size_t i = 0; i < m->ntracks; i++) omn_buf_free(&m->tracks[i].param_sets);
    free(m->tracks);
    omn_buf_free(&m->es);
    free(m);
}

/* One packet holding a PSI section (pointer field 0, section, 0xFF fill). */
static void psi_packet(omn_w *w, uint16_t pid, uint8_t *cc, const uint8_t *section, size_t len)
{
    uint8_t pkt[TS];
    memset(pkt, 0xFF, sizeof pkt);
    pkt[0] = 0x47;
    pkt[1] = (uint8_t)(0x40 | (pid >> 8));
    pkt[2] = (uint8_t)pid;
    pkt[3] = (uint8_t)(0x10 | (*cc & 0x0F));
    *cc = (uint8_t)((*cc + 1) & 0x0F);
    pkt[4] = 0;
    memcpy(pkt + 5, section, len);
    omn_w_bytes(w, pkt, TS);
}

static void write_psi(omn_ts_mux *m, omn_w *w)
{
    uint8_t s[180];
    /* PAT: program 1 -> PMT_PID */
    size_t n = 0;
    s[n++] = 0x00;
    s[n++] = 0xB0; s[n++] = 13;                           /* section_length */
    s[n++] = 0x00; s[n++] = 0x01;                         /* transport_stream_id */
    s[n++] = 0xC1; s[n++] = 0; s[n++] = 0;                /* version 0, current */
    s[n++] = 0x00; s[n++] = 0x01;                         /* program_number 1 */
    s[n++] = (uint8_t)(0xE0 | (PMT_PID >> 8)); s[n++] = (uint8_t)PMT_PID;
    uint32_t crc = crc32_mpeg(s, n);
    s[n++] = (uint8_t)(crc >> 24); s[n++] = (uint8_t)(crc >> 16); s[n++] = (uint8_t)(crc >> 8); s[n++] = (uint8_t)crc;
    psi_packet(w, 0, &m->pat_cc, s, n);

    /* PMT */
    uint16_t pcr_pid = m->tracks[m->pcr_track].pid;
    size_t section_length = 9 + 5 * m->ntracks + 4;
    n = 0;
    s[n++] = 0x02;
    s[n++] = (uint8_t)(0xB0 | (section_length >> 8)); s[n++] = (uint8_t)section_length;
    s[n++] = 0x00; s[n++] = 0x01;                         /* program_number */
    s[n++] = 0xC1; s[n++] = 0; s[n++] = 0;
    s[n++] = (uint8_t)(0xE0 | (pcr_pid >> 8)); s[n++] = (uint8_t)pcr_pid;
    s[n++] = 0xF0; s[n++] = 0;                            /* program_info_length 0 */
    for (size_t i = 0; i < m->ntracks; i++) {
        const ts_track *t = &m->tracks[i];
        s[n++] = t->stream_type;
        s[n++] = (uint8_t)(0xE0 | (t->pid >> 8)); s[n++] = (uint8_t)t->pid;
        s[n++] = 0xF0; s[n++] = 0;                        /* ES_info_length 0 */
    }
    crc = crc32_mpeg(s, n);
    s[n++] = (uint8_t)(crc >> 24); s[n++] = (uint8_t)(crc >> 16); s[n++] = (uint8_t)(crc >> 8); s[n++] = (uint8_t)crc;
    psi_packet(w, PMT_PID, &m->pmt_cc, s, n);
}

static void put_ts(uint8_t *p, int prefix, uint64_t ts)
{
    p[0] = (uint8_t)(prefix << 4 | ((ts >> 29) & 0x0E) | 1);
    p[1] = (uint8_t)(ts >> 22);
    p[2] = (uint8_t)(((ts >> 14) & 0xFE) | 1);
    p[3] = (uint8_t)(ts >> 7);
    p[4] = (uint8_t)(((ts << 1) & 0xFE) | 1);
}

/* Builds the elementary-stream bytes of one access unit into m->es. */
static int build_es(omn_ts_mux *m, ts_track *t, const uint8_t *data, size_t len, int keyframe)
{
    m->es.len = 0;
    if (t->codec == OMN_CODEC_AAC) {
        size_t frame = len + 7;
        if (frame > 0x1FFF) return OMN_CMAF_ETOOBIG;
        uint8_t h[7];
        memcpy(h, t->adts, 7);
        h[3] = (uint8_t)(h[3] | (frame >> 11));
        h[4] = (uint8_t)(frame >> 3);
        h[5] = (uint8_t)(((frame & 7) << 5) | 0x1F);
        if (omn_buf_append(&m->es, h, 7) || omn_buf_append(&m->es, data, len)) return OMN_CMAF_ENOMEM;
        return OMN_CMAF_OK;
    }
    static const uint8_t aud264[6] = {0, 0, 0, 1, 0x09, 0xF0};
    static const uint8_t aud265[7] = {0, 0, 0, 1, 0x46, 0x01, 0x50};
    int hevc = t->codec == OMN_CODEC_H265;
    if (hevc ? omn_buf_append(&m->es, aud265, 7) : omn_buf_append(&m->es, aud264, 6)) return OMN_CMAF_ENOMEM;
    if (keyframe && omn_buf_append(&m->es, t->param_sets.data, t->param_sets.len)) return OMN_CMAF_ENOMEM;
    size_t off = 0;
    while (off < len) {
        if (len - off < 4) return OMN_CMAF_EINVAL;
        size_t nal = omn_rd32(data + off);
        off += 4;
        if (nal == 0 || nal > len - off) return OMN_CMAF_EINVAL;
        int type = hevc ? (data[off] >> 1) & 0x3F : data[off] & 0x1F;
        if (type != (hevc ? 35 : 9)) {                   /* our AUD replaces theirs */
            if (omn_buf_append(&m->es, start_code, 4) || omn_buf_append(&m->es, data + off, nal))
                return OMN_CMAF_ENOMEM;
        }
        off += nal;
    }
    return OMN_CMAF_OK;
}

static uint64_t to_90k(int64_t v, uint32_t timescale)
{
    int64_t r;
    if (timescale == 90000) r = v;
    else r = (int64_t)((__int128)v * 90000 / timescale);
    return (uint64_t)r & 0x1FFFFFFFFull;
}

int omn_ts_mux_write(omn_ts_mux *m, omn_buf *out, uint32_t track, const uint8_t *data, size_t len,
                     int64_t dts, int64_t pts, int keyframe)
{
    if (!m || !out || track >= m->ntracks || (!data && len) || len == 0) return OMN_CMAF_EINVAL;
    ts_track *t = &m->tracks[track];
    int video = t->codec != OMN_CODEC_AAC;
    int rc = build_es(m, t, data, len, keyframe);
    if (rc) return rc;
    uint64_t dts90 = to_90k(dts, t->timescale), pts90 = to_90k(pts, t->timescale);

    omn_w w;
    omn_w_open(&w, out);
    if (m->last_psi < 0 || (video && keyframe) ||
        (int64_t)((dts90 - (uint64_t)m->last_psi) & 0x1FFFFFFFFull) >= PSI_EVERY_90K) {
        write_psi(m, &w);
        m->last_psi = (int64_t)dts90;
    }

    uint8_t pes[19];
    size_t hl = 0;
    int with_dts = video && pts90 != dts90;
    pes[hl++] = 0; pes[hl++] = 0; pes[hl++] = 1;
    pes[hl++] = t->stream_id;
    size_t header_data = with_dts ? 10 : 5;
    size_t pes_len = 3 + header_data + m->es.len;
    if (video || pes_len > 0xFFFF) pes_len = 0;           /* unbounded (video) */
    pes[hl++] = (uint8_t)(pes_len >> 8);
    pes[hl++] = (uint8_t)pes_len;
    pes[hl++] = 0x80;                                      /* marker bits */
    pes[hl++] = with_dts ? 0xC0 : 0x80;
    pes[hl++] = (uint8_t)header_data;
    put_ts(pes + hl, with_dts ? 3 : 2, pts90);
    hl += 5;
    if (with_dts) { put_ts(pes + hl, 1, dts90); hl += 5; }

    size_t total = hl + m->es.len, done = 0;
    int first = 1;
    while (done < total && !w.err) {
        uint8_t pkt[TS];
        uint8_t af[184];                                   /* adaptation field after its length byte */
        size_t af_len = 0;
        int pcr = first && track == m->pcr_track;
        int rai = first && (keyframe || !video);
        int has_af = pcr || rai;
        if (has_af) {
            af[af_len++] = (uint8_t)((rai ? 0x40 : 0) | (pcr ? 0x10 : 0));
            if (pcr) {
                uint64_t base = dts90;
                af[af_len++] = (uint8_t)(base >> 25);
                af[af_len++] = (uint8_t)(base >> 17);
                af[af_len++] = (uint8_t)(base >> 9);
                af[af_len++] = (uint8_t)(base >> 1);
                af[af_len++] = (uint8_t)(((base & 1) << 7) | 0x7E);
                af[af_len++] = 0;
            }
        }
        size_t room = TS - 4 - (has_af ? 1 + af_len : 0);
        size_t left = total - done;
        if (left < room) {                                 /* stuffing in the last packet */
            size_t stuff = room - left;
            if (!has_af) {
                has_af = 1;
                if (stuff >= 2) {
                    af[af_len++] = 0;                      /* no flags */
                    memset(af + af_len, 0xFF, stuff - 2);
                    af_len += stuff - 2;
                }
            } else {
                memset(af + af_len, 0xFF, stuff);
                af_len += stuff;
            }
        }
        pkt[0] = 0x47;
        pkt[1] = (uint8_t)((first ? 0x40 : 0) | (t->pid >> 8));
        pkt[2] = (uint8_t)t->pid;
        pkt[3] = (uint8_t)((has_af ? 0x30 : 0x10) | t->cc);
        size_t hdr = 4;
        if (has_af) {
            pkt[4] = (uint8_t)af_len;
            memcpy(pkt + 5, af, af_len);
            hdr = 5 + af_len;
        }
        t->cc = (uint8_t)((t->cc + 1) & 0x0F);
        size_t take = TS - hdr, i = 0;
        for (; i < take && done + i < hl; i++) pkt[hdr + i] = pes[done + i];
        if (i < take) memcpy(pkt + hdr + i, m->es.data + (done + i - hl), take - i);
        done += take;
        first = 0;
        omn_w_bytes(&w, pkt, TS);
    }
    return omn_w_done(&w);
}

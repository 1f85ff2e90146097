/* mpegts.h - private constants and the PSI CRC shared by the MPEG-TS
 * demuxer (mpegts_demux.c) and muxer (mpegts_mux.c). Not seen by cffi. */
#ifndef OMN_MPEGTS_H
#define OMN_MPEGTS_H
#include <stddef.h>
#include <stdint.h>

enum {
    OMN_TS_PACKET = 188,
    OMN_TS_SYNC = 0x47,
    OMN_TS_PID_PAT = 0x0000,
    OMN_TS_PID_NULL = 0x1FFF,
    OMN_TS_TABLE_PAT = 0x00,
    OMN_TS_TABLE_PMT = 0x02,
    /* PMT stream_type values (ISO/IEC 13818-1 Table 2-34) */
    OMN_TS_STREAM_AAC_ADTS = 0x0F,
    OMN_TS_STREAM_H264 = 0x1B,
    OMN_TS_STREAM_HEVC = 0x24,
    OMN_TS_STREAM_PRIVATE = 0x06,  /* PES private data: Opus with a registration descriptor */
    OMN_TS_DESC_REGISTRATION = 0x05,
    OMN_TS_DESC_EXTENSION = 0x7F,
    OMN_TS_DESC_EXT_OPUS = 0x80   /* extension_descriptor_tag of the Opus channel config */
};

/* MPEG-2 CRC-32 of PSI sections (poly 0x04C11DB7, init ~0, no reflection).
 * A whole section including its CRC gives 0. */
uint32_t omn_ts_crc32(const uint8_t *p, size_t n);

#endif

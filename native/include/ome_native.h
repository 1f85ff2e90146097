/*
 * ome_native.h - the one public header of ome's native media core.
 *
 * Rules for everything declared here:
 *  - Plain C11, no Python: the core never calls back into the interpreter.
 *  - Ownership is explicit: a function that allocates says so and names its
 *    matching free; otherwise the caller owns every buffer it passes in.
 *  - The declarations are also fed to cffi (native/build_ffi.py strips the
 *    preprocessor lines), so keep them in the subset cffi's cdef parses:
 *    no macros, no inline functions, no bitfields in declarations below.
 *
 * Each concern adds one section, implemented by one native/src/<concern>.c.
 */
#ifndef OME_NATIVE_H
#define OME_NATIVE_H
#include <stddef.h>
#include <stdint.h>

/* ---- util: build identity ------------------------------------------- */
/* Static version string of the native core; never freed. */
const char *omn_version(void);

/* ---- b64: base64 and constant-time compare (API auth) --------------- */
/* Decodes standard base64 (RFC 4648, '=' padding optional at the end,
 * no whitespace). Writes at most out_cap bytes to out and the decoded
 * length to *out_len. Returns 0 on success, -1 on malformed input,
 * -2 when out_cap is too small (out_cap >= in_len*3/4+3 always suffices). */
int omn_base64_decode(const char *in, size_t in_len, uint8_t *out,
                      size_t out_cap, size_t *out_len);

/* 1 when the two byte strings are equal, else 0. The time taken depends
 * only on the lengths, never on where the contents first differ. */
int omn_ct_equal(const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len);

/* Checks the credentials of an HTTP Basic header against an access token
 * the way OME does: base64-decode `credentials` and compare the whole
 * decoded text with `token` (no user/password split).
 * Returns OMN_AUTH_OK (0), OMN_AUTH_BAD_FORMAT (1: not base64) or
 * OMN_AUTH_MISMATCH (2). */
enum omn_auth_result { OMN_AUTH_OK = 0, OMN_AUTH_BAD_FORMAT = 1, OMN_AUTH_MISMATCH = 2 };
int omn_basic_auth_check(const char *credentials, size_t cred_len,
                         const uint8_t *token, size_t token_len);

/* ---- jsonfmt: OME's float formatting -------------------------------- */
/* Formats v as printf("%.17g") and appends ".0" when the text has neither
 * '.' nor 'e' (nor is inf/nan). Writes a NUL-terminated string into buf and
 * returns its length, or -1 when cap is too small (32 always suffices). */
int omn_format_double(double v, char *buf, size_t cap);

/* ---- notify: wake the event loop from C threads (notify.c) ---------- */
/* A C worker thread (SRT I/O, transcoder) never calls into Python; it
 * queues its results in its own object and signals an omn_notify. The
 * event loop watches omn_notify_fd (readable = signalled), then calls
 * omn_notify_drain and collects the results through the worker's own API.
 * Signals coalesce: many signals before a drain wake the loop once.
 * omn_notify_new returns NULL on failure; the caller frees with
 * omn_notify_free (after every thread that signals it has stopped). */
typedef struct omn_notify omn_notify;
omn_notify *omn_notify_new(void);
int omn_notify_fd(const omn_notify *n);
void omn_notify_signal(omn_notify *n);
/* Clears the signalled state; returns 1 when it was signalled, else 0. */
int omn_notify_drain(omn_notify *n);
void omn_notify_free(omn_notify *n);

/* ---- cmaf: byte buffer, codec configs, fMP4 init/part, ID3, emsg, LL-HLS packager ---- */
/*
 * Conventions of this section (cmaf_*.c, mp4box.c, id3.c, emsg.c,
 * llhls_packager.c, buf.c). Codec configurations are parsed by the rtmp
 * section's parsers (h264_sps.c, hevc_sps.c, aac_asc.c, opus_head.c,
 * sps_codec_string.c); cmaf_codec.c / cmaf_h26x.c only check and
 * normalise them for sample entries.
 *  - Every writer APPENDS to a caller-owned omn_buf, its first argument
 *    (after the object for omn_llhls_*). A zeroed omn_buf is a
 *    valid empty buffer; the caller releases its bytes with omn_buf_free.
 *    A failed writer leaves the buffer as it was before the call.
 *  - Status codes are enum omn_cmaf_status: 0 = OK, negative = error.
 *  - Timestamps are integers in an explicit timescale (ticks); no floats.
 *    A track's timescale is 90000 for video, the sample rate for audio
 *    (48000 for Opus), see omn_codec_info.timescale.
 *  - Codec configurations come from publishers and are untrusted: every
 *    parser bounds-checks and rejects with OMN_CMAF_ECONFIG.
 */
enum omn_cmaf_status {
    OMN_CMAF_OK = 0,
    OMN_CMAF_ENOMEM = -1,   /* allocation failed */
    OMN_CMAF_EINVAL = -2,   /* bad argument or malformed sample */
    OMN_CMAF_ECONFIG = -3,  /* malformed / unsupported codec configuration */
    OMN_CMAF_ETIME = -4,    /* dts not after the previous one, or out of range */
    OMN_CMAF_ETOOBIG = -5   /* a size does not fit the format's field */
};

/* Growable byte buffer. Owner: whoever declared it (stack, struct member,
 * ffi.new). data is malloc'd by the core; free it with omn_buf_free. */
typedef struct omn_buf {
    uint8_t *data;
    size_t len;
    size_t cap;
} omn_buf;

/* Frees b->data and resets *b to empty (b itself is not freed). */
void omn_buf_free(omn_buf *b);
/* Makes room for `extra` more bytes. 0 or OMN_CMAF_ENOMEM. */
int omn_buf_reserve(omn_buf *b, size_t extra);
/* Appends n bytes. 0 or OMN_CMAF_ENOMEM. */
int omn_buf_append(omn_buf *b, const void *data, size_t n);

/* Codecs the packager carries. */
enum omn_codec {
    OMN_CODEC_H264 = 1,     /* config: AVCDecoderConfigurationRecord (avcC body) */
    OMN_CODEC_H265 = 2,     /* config: HEVCDecoderConfigurationRecord (hvcC body) */
    OMN_CODEC_AAC = 3,      /* config: AudioSpecificConfig */
    OMN_CODEC_OPUS = 4      /* config: Ogg "OpusHead" identification header */
};

/* What a codec configuration says (filled by omn_codec_probe). */
typedef struct omn_codec_info {
    int codec;                /* enum omn_codec */
    int is_video;             /* 1 for H.264/H.265 */
    uint32_t timescale;       /* 90000 video; sample rate audio; 48000 Opus */
    uint32_t width;           /* video: cropped size from the first SPS */
    uint32_t height;
    uint32_t sample_rate;     /* audio: output rate (AAC with explicit SBR: the extension rate) */
    uint32_t channels;        /* audio */
    uint32_t frame_ticks;     /* audio ticks per frame: AAC 1024/960/2048; 0 = per packet (Opus) */
    uint32_t nal_length_size; /* video: NAL length size of samples in the input record (1, 2 or 4) */
    char codecs[64];          /* RFC 6381 CODECS string, NUL-terminated */
} omn_codec_info;

/* Parses and validates a codec configuration for packaging. 0 or
 * OMN_CMAF_ECONFIG / OMN_CMAF_EINVAL (unknown codec) / OMN_CMAF_ENOMEM.
 * The parsing itself is the rtmp section's (omn_avcc_parse, omn_hvcc_parse,
 * omn_aac_asc_parse, omn_opus_head_parse, omn_sps_codec_string); this adds
 * what a CMAF sample entry needs on top: NAL lengths 1, 2 or 4, a PPS (and
 * for HEVC a VPS), AAC with a Main/LC/SSR/LTP core in channel configuration
 * 0-7 (0: a PCE gives the count), Opus through its OpusHead checks. */
int omn_codec_probe(int codec, const uint8_t *cfg, size_t len, omn_codec_info *out);

/* Writes the RFC 6381 CODECS string (avc1.PPCCLL, hvc1.P.C.Ltt.BB as
 * omn_sps_codec_string writes it, mp4a.40.N, opus) NUL-terminated into out. Returns its length, or a negative status
 * (OMN_CMAF_ETOOBIG when cap is too small; 64 always suffices). */
int omn_codecs_string(int codec, const uint8_t *cfg, size_t len, char *out, size_t cap);

/* Builds a codec configuration from in-band data, appended to out:
 * avcC from Annex B H.264 (first SPS + all distinct PPS found), hvcC from
 * Annex B H.265 (VPS/SPS/PPS), AudioSpecificConfig (2 bytes) from an ADTS
 * header (channel configuration 1-7; 0, with its PCE in the raw data, is
 * refused). 0 or OMN_CMAF_ECONFIG when the parameter sets are missing/bad. */
int omn_avcc_from_annexb(omn_buf *out, const uint8_t *data, size_t len);
int omn_hvcc_from_annexb(omn_buf *out, const uint8_t *data, size_t len);
int omn_asc_from_adts(omn_buf *out, const uint8_t *data, size_t len);

/* Init segment (ftyp + moov, one track, track_ID 1, reference §3.1-3.2)
 * for the codec configuration, appended to out. flags: OMN_CMAF_INIT_*. */
enum omn_cmaf_init_flags { OMN_CMAF_INIT_AID3 = 1 };   /* 'aid3' brand: emsg/ID3 may occur */
int omn_cmaf_write_init(omn_buf *out, int codec, const uint8_t *cfg, size_t cfg_len,
                        uint32_t flags);

/* One sample of a media part (CMAF chunk). */
typedef struct omn_cmaf_sample {
    uint32_t duration;        /* ticks: next dts - this dts */
    uint32_t size;            /* bytes in the mdat payload */
    uint32_t flags;           /* ISOBMFF sample_flags: OMN_SAMPLE_FLAGS_* */
    int32_t cto;              /* composition offset pts - dts (video only) */
} omn_cmaf_sample;
enum omn_sample_flags {
    OMN_SAMPLE_FLAGS_SYNC = 0x02000000,      /* depends_on = 2 (key frame) */
    OMN_SAMPLE_FLAGS_NON_SYNC = 0x01010000   /* depends_on = 1, is_non_sync */
};

/* moof + mdat for n samples (reference §3.4): mfhd sequence, tfhd flags
 * 0x020000, tfdt v1 base_decode_time, trun (video: v1 0x000F01 with flags
 * and signed composition offsets; audio: v0 0x000301). payload is the
 * concatenated sample bytes (video: 4-byte length-prefixed NAL units);
 * the sum of sizes must equal payload_len. Appended to out. */
int omn_cmaf_write_part(omn_buf *out, int is_video, uint32_t sequence,
                        uint64_t base_decode_time, const omn_cmaf_sample *samples,
                        size_t n, const uint8_t *payload, size_t payload_len);

/* ID3v2.4 (reference §4.2). Frames are appended to a frames buffer, then
 * omn_id3_tag appends "ID3" 04 00 00 + syncsafe size + the frames to out.
 * Text is UTF-8 (encoding byte 03), no trailing NUL on the value/text. */
int omn_id3_syncsafe(uint32_t v, uint8_t *out4);   /* 0, or OMN_CMAF_ETOOBIG (v >= 2^28) */
int omn_id3_add_txxx(omn_buf *frames, const uint8_t *desc, size_t desc_len,
                     const uint8_t *value, size_t value_len);
/* id: a 4-character text frame ID "T???" other than TXXX (e.g. "TIT2"). */
int omn_id3_add_text(omn_buf *frames, const char *id, const uint8_t *text, size_t text_len);
int omn_id3_add_priv(omn_buf *frames, const uint8_t *owner, size_t owner_len,
                     const uint8_t *data, size_t data_len);
int omn_id3_tag(omn_buf *out, const uint8_t *frames, size_t frames_len);

/* emsg version 1 (reference §4.1) appended to out. scheme/value are
 * NUL-terminated UTF-8 (NULL scheme = "https://aomedia.org/emsg/ID3",
 * NULL value = "OvenMediaEngine"); message = one ID3 tag. */
int omn_emsg_write(omn_buf *out, const char *scheme, const char *value,
                   uint32_t timescale, uint64_t presentation_time,
                   uint32_t event_duration, uint32_t id,
                   const uint8_t *message, size_t message_len);

/* LL-HLS per-track packager (reference §3.7, §4.3). Not thread-safe: one
 * owner serialises all calls on one packager.
 * Driving an A/V stream: one LEAD packager for the video track, one
 * FOLLOW packager per audio track; feed samples in timestamp order on one
 * stream timeline (tfdt = dts - t0 in each track's timescale); after each
 * feed pop the parts; for every video part with part_index 0 (except the
 * first segment) call omn_llhls_request_cut(audio, part.start, 90000) on
 * each audio packager. A part is complete when popped; its segment is
 * complete when segment_end is set (segment bytes = its parts in order).
 * The packager lags one sample (a duration is the next dts minus this
 * one); segment_ms grid lines are k * segment_ms on the stream timeline. */
typedef struct omn_llhls omn_llhls;

enum omn_input_format {
    OMN_INPUT_RAW = 0,        /* video: NAL units with the config's length size; audio: raw frames */
    OMN_INPUT_ANNEXB = 1,     /* video: Annex B start codes */
    OMN_INPUT_ADTS = 2        /* AAC: one ADTS frame per sample (header stripped) */
};
enum omn_seg_mode {
    OMN_SEG_LEAD = 0,   /* cut at the first sync sample at/after each grid line k*segment_ms
                           (and at requested cut times); video, or audio-only streams */
    OMN_SEG_FOLLOW = 1  /* audio next to video: hold samples at the grid line until
                           omn_llhls_request_cut names the video's cut time */
};

typedef struct omn_llhls_config {
    int codec;                      /* enum omn_codec */
    const uint8_t *codec_config;    /* copied by omn_llhls_new */
    size_t codec_config_len;
    int input_format;               /* enum omn_input_format */
    int segment_mode;               /* enum omn_seg_mode */
    uint64_t part_target;           /* PT in track ticks (already rounded to whole frames) */
    uint32_t segment_ms;            /* SegmentDuration grid step, ms (> 0) */
    uint32_t max_segment_ms;        /* LEAD: forced cut keeps each segment <= this (the
                                       next sample's duration estimated by the last one);
                                       FOLLOW: holds past a grid line last at most
                                       max(this, segment_ms); 0 = no forced cut */
    uint64_t first_segment;         /* MSN of the first segment (a track that joins
                                       late starts at the lead track's current MSN) */
    const char *emsg_value;         /* emsg value string; NULL = "OvenMediaEngine"; copied */
} omn_llhls_config;

/* A completed part. bytes is owned by the caller after omn_llhls_pop_part
 * and must be released with omn_buf_free. */
typedef struct omn_llhls_part {
    uint64_t segment;         /* MSN */
    uint32_t part_index;      /* restarts at 0 per segment */
    uint32_t sequence;        /* mfhd sequence_number */
    uint64_t start;           /* tfdt: decode time of the first sample, ticks */
    uint64_t duration;        /* sum of sample durations, ticks */
    uint32_t sample_count;
    uint32_t event_count;     /* emsg boxes in front of the moof */
    int independent;          /* first sample (decode order) is a sync sample */
    int segment_end;          /* last part of its segment: the segment is complete */
    omn_buf bytes;            /* [emsg]* moof mdat */
} omn_llhls_part;

/* Creates a packager; *out is freed with omn_llhls_free. */
int omn_llhls_new(const omn_llhls_config *cfg, omn_llhls **out);
void omn_llhls_free(omn_llhls *p);
/* Copies the parsed codec info (timescale, CODECS string, size, ...). */
void omn_llhls_info(const omn_llhls *p, omn_codec_info *out);
/* Appends the init segment ('aid3' signalled) to out. */
int omn_llhls_init_segment(const omn_llhls *p, omn_buf *out);
/* Feeds one access unit / audio frame in decode order. dts, pts in track
 * ticks on the stream timeline (tfdt = dts), dts strictly increasing.
 * Completed parts become available to omn_llhls_pop_part. On error the
 * sample is rejected and the packager state is unchanged. */
int omn_llhls_feed(omn_llhls *p, const uint8_t *data, size_t len,
                   int64_t dts, int64_t pts, int keyframe);
/* Queues a timed-metadata event: id3 = one ID3 tag (copied), time_ms on the
 * stream timeline. It goes in front of the first part flushed after this
 * call whose end is after time_ms, or of an earlier-starting part clamped
 * into its range; it is never dropped (omn_llhls_finish flushes it). */
int omn_llhls_add_event(omn_llhls *p, uint64_t time_ms, uint32_t id,
                        const uint8_t *id3, size_t id3_len);
/* Requests a segment cut before the first sync sample whose dts >= time
 * (given in `timescale` ticks, compared exactly; requests at or before the
 * current segment's start are void). FOLLOW tracks receive the lead track's
 * cut times here: the start of every lead part with part_index 0, except
 * the first segment after omn_llhls_new / omn_llhls_finish. */
int omn_llhls_request_cut(omn_llhls *p, uint64_t time, uint32_t timescale);
/* Flushes everything: the last sample gets last_duration ticks (0 = the
 * codec frame duration for audio / the previous duration for video), the
 * final part closes its segment (segment_end) and carries every queued
 * event. Feeding may continue afterwards: it starts the next MSN with a
 * fresh timeline (any dts), e.g. after a discontinuity. */
int omn_llhls_finish(omn_llhls *p, uint64_t last_duration);
/* Moves the oldest completed part into *out (1), or returns 0 when none. */
int omn_llhls_pop_part(omn_llhls *p, omn_llhls_part *out);

/* ---- scte35: splice_info_section for ad markers (scte35.c) --------- */
/* Appends one SCTE-35 splice_info_section (table_id 0xFC, no encryption,
 * pts_adjustment 0, no descriptors, CRC_32) carrying a splice_insert() for
 * the whole program: splice_event_id, out_of_network (1 = leave the network
 * feed, 0 = return), splice_time pts_90k (33 bits, wrapped), and when
 * duration_90k > 0 a break_duration with auto_return. Used for the
 * SCTE35-OUT / SCTE35-IN attributes of EXT-X-DATERANGE markers.
 * 0, or OMN_CMAF_ENOMEM (out unchanged). */
int omn_scte35_splice_insert(omn_buf *out, uint32_t event_id, int out_of_network,
                             uint64_t pts_90k, uint64_t duration_90k, int auto_return);

/* ---- rtmp: handshake, chunk stream, AMF0, FLV tags, codec configs ---- */
/* rtmp_handshake.c, rtmp_chunk.c, amf0.c, flv.c, h264_sps.c, hevc_sps.c,
 * sps_codec_string.c, aac_asc.c, opus_head.c (the codec-config parsers are
 * shared with the cmaf section). Timestamps are integer
 * milliseconds. Every length is checked: malformed input gives a negative
 * return for that call (or a sticky connection error), never a crash, and
 * no allocation exceeds the limits documented below. */

/* -- rtmp_handshake.c: server side of the simple handshake ------------- */
/* Feed the client's bytes as they arrive. After C0+C1 (1537 bytes) the reply
 * S0+S1+S2 (3073 bytes) is ready in omn_rtmp_handshake_take_output; after C2
 * (1536 more) the state is DONE. Bytes after C2 (already the chunk stream)
 * are left unconsumed for omn_rtmp_conn_read. */
typedef struct omn_rtmp_handshake omn_rtmp_handshake;
enum omn_rtmp_hs_state {
    OMN_RTMP_HS_WAIT_C0C1 = 0, OMN_RTMP_HS_WAIT_C2 = 1, OMN_RTMP_HS_DONE = 2,
    OMN_RTMP_HS_FAILED = -1
};
/* Allocates (free with omn_rtmp_handshake_free); NULL when out of memory.
 * epoch_ms is S1's time field; seed drives S1's random bytes (not secret). */
omn_rtmp_handshake *omn_rtmp_handshake_new(uint32_t epoch_ms, uint64_t seed);
void omn_rtmp_handshake_free(omn_rtmp_handshake *hs);
/* Consumes up to len bytes (never past C2; *consumed, may be NULL, says how
 * many) and returns the state. FAILED (sticky) when C0 is not version 3. */
int omn_rtmp_handshake_feed(omn_rtmp_handshake *hs, const uint8_t *data, size_t len,
                            size_t *consumed);
/* Bytes to send now (S0+S1+S2, handed out once), 0 when none. *out stays
 * valid until the next call on hs. */
size_t omn_rtmp_handshake_take_output(omn_rtmp_handshake *hs, const uint8_t **out);

/* -- rtmp_chunk.c: chunk stream reader and writer of one connection ----- */
enum omn_rtmp_msg_type {
    OMN_RTMP_MSG_SET_CHUNK_SIZE = 1, OMN_RTMP_MSG_ABORT = 2, OMN_RTMP_MSG_ACK = 3,
    OMN_RTMP_MSG_USER_CONTROL = 4, OMN_RTMP_MSG_WINDOW_ACK_SIZE = 5,
    OMN_RTMP_MSG_SET_PEER_BANDWIDTH = 6, OMN_RTMP_MSG_AUDIO = 8, OMN_RTMP_MSG_VIDEO = 9,
    OMN_RTMP_MSG_DATA_AMF3 = 15, OMN_RTMP_MSG_SHARED_OBJECT_AMF3 = 16,
    OMN_RTMP_MSG_COMMAND_AMF3 = 17, OMN_RTMP_MSG_DATA_AMF0 = 18,
    OMN_RTMP_MSG_SHARED_OBJECT_AMF0 = 19, OMN_RTMP_MSG_COMMAND_AMF0 = 20,
    OMN_RTMP_MSG_AGGREGATE = 22
};
enum omn_rtmp_user_event {
    OMN_RTMP_EV_STREAM_BEGIN = 0, OMN_RTMP_EV_STREAM_EOF = 1, OMN_RTMP_EV_STREAM_DRY = 2,
    OMN_RTMP_EV_SET_BUFFER_LENGTH = 3, OMN_RTMP_EV_STREAM_IS_RECORDED = 4,
    OMN_RTMP_EV_PING_REQUEST = 6, OMN_RTMP_EV_PING_RESPONSE = 7
};
/* Results of omn_rtmp_conn_read and the writers. Errors of the reader are
 * sticky: the connection is bad and should be closed. */
enum omn_rtmp_status {
    OMN_RTMP_NEED_MORE = 0,            /* input used up, no message complete */
    OMN_RTMP_MESSAGE = 1,              /* *msg holds one complete message */
    OMN_RTMP_E_NO_PREV_HEADER = -1,    /* fmt 1-3 on a chunk stream never opened by fmt 0 */
    OMN_RTMP_E_TOO_LARGE = -2,         /* message over max_message_size, partial messages
                                          together over twice that, output over 64 MiB */
    OMN_RTMP_E_BAD_CHUNK_SIZE = -3,    /* Set Chunk Size of 0 or with the top bit set */
    OMN_RTMP_E_BAD_CONTROL = -4,       /* protocol control message too short */
    OMN_RTMP_E_TOO_MANY_STREAMS = -5,  /* more than 64 distinct chunk stream ids */
    OMN_RTMP_E_NOMEM = -6,
    OMN_RTMP_E_ARG = -7                /* invalid argument (writer: csid, type, length) */
};
/* One complete message. payload stays valid until the next
 * omn_rtmp_conn_read or omn_rtmp_conn_free (the writers do not touch it).
 * timestamp is the 32-bit RTMP timestamp (wraps); timestamp64 unwraps it
 * per chunk stream, each step being the signed 32-bit difference to the
 * previous message of that chunk stream (the first one starts at the 32-bit
 * value). control_value/control_extra decode the protocol control messages:
 * Set Chunk Size, Abort (the csid), Ack (sequence number), Window Ack Size:
 * value; Set Peer Bandwidth: value + extra = limit type; User Control:
 * extra = event type, value = first 4 bytes of event data. 0 otherwise. */
typedef struct omn_rtmp_msg {
    uint32_t csid;
    uint32_t type_id;
    uint32_t stream_id;
    uint32_t timestamp;
    int64_t timestamp64;
    const uint8_t *payload;
    size_t length;
    uint32_t control_value;
    uint32_t control_extra;
} omn_rtmp_msg;
typedef struct omn_rtmp_conn omn_rtmp_conn;
/* Allocates (free with omn_rtmp_conn_free); NULL when out of memory.
 * max_message_size caps one message (0 = 16 MiB, i.e. any length a header
 * can state); message buffers grow with the bytes actually received, never
 * with the length a header claims, and all partially received messages
 * together may hold at most twice the cap. Both chunk sizes start at
 * 128. The connection applies Set Chunk Size, Abort and Window Ack Size
 * itself and queues an Acknowledgement on the output each time the bytes
 * read since the last one reach the peer's window. */
omn_rtmp_conn *omn_rtmp_conn_new(uint32_t max_message_size);
void omn_rtmp_conn_free(omn_rtmp_conn *c);
/* Reads chunks from data until one message is complete (returns
 * OMN_RTMP_MESSAGE, *msg filled) or the input is used up (NEED_MORE; a
 * partial header or message is kept). *consumed (may be NULL) says how much
 * of data was used; call again with the rest. Any slicing of the byte stream
 * gives the same messages. Negative: sticky error (omn_rtmp_status). */
int omn_rtmp_conn_read(omn_rtmp_conn *c, const uint8_t *data, size_t len, size_t *consumed,
                       omn_rtmp_msg *msg);
int omn_rtmp_conn_error(const omn_rtmp_conn *c);          /* 0 or the sticky error */
uint32_t omn_rtmp_conn_in_chunk_size(const omn_rtmp_conn *c);
uint32_t omn_rtmp_conn_out_chunk_size(const omn_rtmp_conn *c);
uint64_t omn_rtmp_conn_bytes_in(const omn_rtmp_conn *c);  /* chunk-stream bytes read */
/* Writer: appends one message, split into chunks of the outgoing chunk size,
 * to the output. Headers are compressed per chunk stream (fmt 1/2 for the
 * same message stream and a non-decreasing timestamp, fmt 3 only after an
 * explicit delta); timestamps >= 0xFFFFFF use extended timestamps, repeated
 * in every continuation chunk. csid 2..65599 (2 = protocol control, 3 is
 * usual for commands), len <= 0xFFFFFF. Returns 0 or omn_rtmp_status < 0. */
int omn_rtmp_conn_write(omn_rtmp_conn *c, uint32_t csid, uint32_t type_id, uint32_t stream_id,
                        uint32_t timestamp, const uint8_t *payload, size_t len);
/* Protocol control messages on csid 2, message stream 0. set_chunk_size
 * sends Set Chunk Size (1..0x7FFFFFFF) and then uses it for what follows. */
int omn_rtmp_conn_set_chunk_size(omn_rtmp_conn *c, uint32_t size);
int omn_rtmp_conn_write_window_ack_size(omn_rtmp_conn *c, uint32_t size);
int omn_rtmp_conn_write_peer_bandwidth(omn_rtmp_conn *c, uint32_t size, uint32_t limit_type);
int omn_rtmp_conn_write_user_control(omn_rtmp_conn *c, uint32_t event, uint32_t value);
/* Everything written since the last call (handed out once), 0 when none.
 * *out stays valid until the next call on c. */
size_t omn_rtmp_conn_take_output(omn_rtmp_conn *c, const uint8_t **out);

/* -- amf0.c: AMF0 -> JSON, and an AMF0 builder ------------------------- */
enum omn_amf0_status {
    OMN_AMF0_OK = 0, OMN_AMF0_E_MALFORMED = -1, OMN_AMF0_E_DEPTH = -2,
    OMN_AMF0_E_UNSUPPORTED = -3, OMN_AMF0_E_NOMEM = -4, OMN_AMF0_E_TOO_LARGE = -5
};
/* Converts all AMF0 values of data into one JSON array text, e.g.
 * ["connect",1,{"app":"app","tcUrl":"rtmp://..."}]. Numbers: integral
 * values below 2^53 without fraction, others shortest exact, NaN/Inf ->
 * null; strings (also long string, XML) with invalid UTF-8 -> U+FFFD;
 * object, typed object (class name dropped) and ECMA array -> object (wire
 * key order; an ECMA array may end at the end of data without 00 00 09);
 * strict array -> array; null/undefined/unsupported -> null; date -> number
 * (ms). Reference, AMF3 switch and reserved markers: OMN_AMF0_E_UNSUPPORTED;
 * nesting over 32: OMN_AMF0_E_DEPTH; lengths beyond data: E_MALFORMED.
 * On 0, *out is a NUL-terminated string allocated here (free with
 * omn_amf0_json_free) of *out_len bytes (out_len may be NULL); else
 * *out is NULL. */
int omn_amf0_to_json(const uint8_t *data, size_t len, char **out, size_t *out_len);
void omn_amf0_json_free(char *json);
/* Builder: the caller owns the struct (init before use, free after);
 * data/len is the AMF0 written so far (data allocated here, up to 16 MiB).
 * Errors are sticky in `error` (omn_amf0_status); every put returns it. */
typedef struct omn_amf0_writer {
    uint8_t *data;
    size_t len;
    size_t cap;
    int error;
} omn_amf0_writer;
void omn_amf0_writer_init(omn_amf0_writer *w);
void omn_amf0_writer_reset(omn_amf0_writer *w);           /* len = 0, error = 0 */
void omn_amf0_writer_free(omn_amf0_writer *w);
int omn_amf0_put_number(omn_amf0_writer *w, double v);
int omn_amf0_put_bool(omn_amf0_writer *w, int v);
int omn_amf0_put_string(omn_amf0_writer *w, const char *s, size_t len);  /* long string > 65535 */
int omn_amf0_put_null(omn_amf0_writer *w);
int omn_amf0_put_undefined(omn_amf0_writer *w);
int omn_amf0_put_object_begin(omn_amf0_writer *w);
int omn_amf0_put_ecma_array_begin(omn_amf0_writer *w, uint32_t count);  /* ends with object_end */
int omn_amf0_put_strict_array_begin(omn_amf0_writer *w, uint32_t count); /* then count values */
int omn_amf0_put_key(omn_amf0_writer *w, const char *key, size_t len);  /* len <= 65535 */
int omn_amf0_put_object_end(omn_amf0_writer *w);

/* -- flv.c: FLV tag bodies of RTMP audio/video/data messages ------------ */
enum omn_flv_codec {
    OMN_FLV_CODEC_UNKNOWN = 0,
    OMN_FLV_CODEC_H264 = 1, OMN_FLV_CODEC_HEVC = 2, OMN_FLV_CODEC_AV1 = 3,
    OMN_FLV_CODEC_VP9 = 4, OMN_FLV_CODEC_VP8 = 5, OMN_FLV_CODEC_H263 = 6,
    OMN_FLV_CODEC_VP6 = 7, OMN_FLV_CODEC_SCREEN = 8,
    OMN_FLV_CODEC_AAC = 20, OMN_FLV_CODEC_OPUS = 21, OMN_FLV_CODEC_MP3 = 22,
    OMN_FLV_CODEC_PCM = 23, OMN_FLV_CODEC_ADPCM = 24, OMN_FLV_CODEC_G711A = 25,
    OMN_FLV_CODEC_G711U = 26, OMN_FLV_CODEC_SPEEX = 27, OMN_FLV_CODEC_NELLYMOSER = 28,
    OMN_FLV_CODEC_FLAC = 29, OMN_FLV_CODEC_AC3 = 30, OMN_FLV_CODEC_EAC3 = 31,
    OMN_FLV_CODEC_AMF0 = 40
};
enum omn_flv_kind {
    OMN_FLV_KIND_SEQUENCE_HEADER = 0,  /* avcC/hvcC/av1C/vpcC, AudioSpecificConfig, OpusHead */
    OMN_FLV_KIND_FRAME = 1,
    OMN_FLV_KIND_END_OF_SEQUENCE = 2,
    OMN_FLV_KIND_METADATA = 3,         /* AMF data: onMetaData, E-RTMP video metadata */
    OMN_FLV_KIND_COMMAND = 4,          /* video info/command frame (frame type 5) */
    OMN_FLV_KIND_UNSUPPORTED = 5       /* e.g. E-RTMP multitrack: reported, not parsed */
};
enum omn_flv_status { OMN_FLV_OK = 0, OMN_FLV_E_MALFORMED = -1, OMN_FLV_E_TYPE = -2 };
/* media: the RTMP message type (8, 9, 18 or 15). keyframe: video frame type
 * 1 or 4 (audio: always 1). frame_type: the FLV/E-RTMP frame type (video).
 * composition_time: signed ms for legacy AVC/HEVC frames and E-RTMP
 * CodedFrames of avc1/hvc1, else 0. enhanced: E-RTMP header (IsExHeader or
 * SoundFormat 9), then fourcc is the FourCC as a big-endian number ('hvc1'
 * = 0x68766331). packet_type: AVC/AAC/E-RTMP packet type, -1 if none.
 * sound_*: the legacy audio header fields (sound_format -1 for video).
 * data/data_len/data_offset: the codec payload inside the message payload
 * (sequence header record, frame, AMF data...), never copied. */
typedef struct omn_flv_tag {
    int32_t media;
    int32_t codec;
    int32_t kind;
    int32_t keyframe;
    int32_t frame_type;
    int32_t composition_time;
    int32_t enhanced;
    uint32_t fourcc;
    int32_t packet_type;
    int32_t sound_format;
    int32_t sound_rate;
    int32_t sound_size;
    int32_t sound_type;
    const uint8_t *data;
    size_t data_len;
    size_t data_offset;
} omn_flv_tag;
/* Returns 0, OMN_FLV_E_MALFORMED (too short) or OMN_FLV_E_TYPE. */
int omn_flv_parse(uint32_t type_id, const uint8_t *payload, size_t len, omn_flv_tag *out);

/* -- h264_sps.c / hevc_sps.c / sps_codec_string.c: video configs -------- */
/* The core's one H.264 / HEVC SPS parser, avcC / hvcC walk and H.264 / HEVC
 * CODECS string: the CMAF packager (omn_codec_probe, cmaf section) builds
 * on these. SPS sizes are capped at 16888 per side (the highest level's
 * sqrt(8 * MaxFS)). */
enum omn_sps_status { OMN_SPS_OK = 0, OMN_SPS_E_MALFORMED = -1, OMN_SPS_E_NO_SPS = -2 };
/* width/height: after cropping (conformance window). profile/level: the
 * profile_idc/level_idc (H.264 level 31 = 3.1; HEVC level 93 = 3.1).
 * constraint_flags: H.264 constraint_set byte. HEVC: profile_space, tier,
 * profile_compat (general_profile_compatibility_flags), hevc_constraints
 * (the 48 constraint bits), max_sub_layers (sps_max_sub_layers_minus1 + 1)
 * and temporal_id_nesting (what an hvcC header repeats). fps_num/fps_den:
 * from the VUI timing info (H.264 time_scale / (2*num_units_in_tick); HEVC
 * time_scale / num_units_in_tick, or hvcC avgFrameRate/256), 0/0 when absent.
 * nal_length_size: from the avcC/hvcC record (0 for a bare SPS). */
typedef struct omn_sps_info {
    int32_t codec;
    uint32_t width;
    uint32_t height;
    int32_t profile;
    int32_t level;
    uint32_t constraint_flags;
    int32_t profile_space;
    int32_t tier;
    uint32_t profile_compat;
    uint64_t hevc_constraints;
    int32_t max_sub_layers;
    int32_t temporal_id_nesting;
    int32_t chroma_format;
    int32_t bit_depth_luma;
    int32_t bit_depth_chroma;
    int32_t full_range;
    uint32_t sar_num;
    uint32_t sar_den;
    uint32_t fps_num;
    uint32_t fps_den;
    int32_t nal_length_size;
} omn_sps_info;
/* The SPS NAL unit (starting at its NAL header, with emulation prevention). */
int omn_h264_sps_parse(const uint8_t *nal, size_t len, omn_sps_info *out);
int omn_hevc_sps_parse(const uint8_t *nal, size_t len, omn_sps_info *out);
/* An AVCDecoderConfigurationRecord / HEVCDecoderConfigurationRecord (the
 * data of a sequence header tag); the first SPS is parsed. */
int omn_avcc_parse(const uint8_t *p, size_t len, omn_sps_info *out);
int omn_hvcc_parse(const uint8_t *p, size_t len, omn_sps_info *out);
/* "avc1.PPCCLL" / "hvc1.1.6.L93.B0" into buf (NUL-terminated); returns
 * the length or -1 (unknown codec, cap too small; 48 always suffices).
 * HEVC per ISO/IEC 14496-15 Annex E, each constraint byte as two hex
 * digits, trailing zero bytes omitted. */
int omn_sps_codec_string(const omn_sps_info *info, char *buf, size_t cap);

/* -- aac_asc.c / opus_head.c: audio configs ------------------------------ */
/* The core's one AudioSpecificConfig and OpusHead parsers; the CMAF
 * packager (omn_codec_probe) builds on these too. */
enum omn_asc_status { OMN_ASC_OK = 0, OMN_ASC_E_MALFORMED = -1 };
/* object_type: the AOT as signalled first (5 = SBR, 29 = PS, for codec
 * strings mp4a.40.N); core_object_type: the underlying one (2 = AAC LC).
 * sample_rate: core rate; ext_sample_rate: SBR output rate (0 without).
 * channels from the channel configuration (0: from the PCE); frame_length
 * 1024 or 960 for GA object types, else 0. */
typedef struct omn_asc_info {
    int32_t object_type;
    int32_t core_object_type;
    uint32_t sample_rate;
    uint32_t ext_sample_rate;
    int32_t channel_config;
    int32_t channels;
    int32_t sbr;
    int32_t ps;
    int32_t frame_length;
} omn_asc_info;
int omn_aac_asc_parse(const uint8_t *p, size_t len, omn_asc_info *out);
/* OpusHead (RFC 7845 5.1), as in an E-RTMP Opus sequence start. Rejected
 * unless the channel mapping is valid (5.1.1): family 0 has 1 or 2
 * channels (stream_count 1, coupled_count channels - 1); other families
 * carry stream/coupled counts (streams >= 1, coupled <= streams, sum <= 255;
 * family 1: <= 8 channels) and a mapping table whose entries name a decoded
 * channel or are 255. */
typedef struct omn_opus_info {
    int32_t channels;
    uint32_t pre_skip;
    uint32_t input_sample_rate;
    int32_t output_gain;
    int32_t mapping_family;
    int32_t stream_count;
    int32_t coupled_count;
} omn_opus_info;
int omn_opus_head_parse(const uint8_t *p, size_t len, omn_opus_info *out);

/* ==== SRT I/O (srt_io.c) ============================================== */
/* libsrt (Debian's libsrt-gnutls, pkg-config "srt") behind one I/O thread.
 * SRT sockets are not OS fds, so an omn_srt context runs srt_epoll in its
 * own C thread; it accepts callers, receives, flushes queued sends and
 * notices closures, queues what happened per context, and signals the
 * omn_notify given at creation. The event loop add_readers that notify's fd,
 * then (after omn_notify_drain) calls omn_srt_next_event until it returns 0
 * and omn_srt_take for connections with data. Nothing here calls back.
 * Thread-safety: every omn_srt_* call may come from any one thread (the
 * event loop); the context locks internally.
 * Sockets are named by their SRTSOCKET id (int32 > 0), valid from the
 * LISTENING/ACCEPTED/CONNECTING result until its CLOSED event is taken.
 * Live mode (SRTT_LIVE, TSBPD): every message is at most payload_size bytes. */
typedef struct omn_srt omn_srt;

enum omn_srt_status {
    OMN_SRT_OK = 0,
    OMN_SRT_E_ARG = -1,       /* bad argument / unknown socket */
    OMN_SRT_E_SOCKET = -2,    /* libsrt refused (bind, listen, connect, option): see omn_srt_last_error */
    OMN_SRT_E_FULL = -3,      /* send queue over its bound: the data was not queued */
    OMN_SRT_E_CLOSED = -4,    /* the socket is closing or closed */
    OMN_SRT_E_NOMEM = -5
};

/* Socket options, applied before bind (listener: inherited by every
 * accepted caller) or before connect (caller). 0 / NULL = libsrt default. */
typedef struct omn_srt_options {
    int32_t latency_ms;        /* SRTO_LATENCY (both directions), ms */
    const char *passphrase;    /* SRTO_PASSPHRASE (10..79 chars); NULL/"" = no encryption */
    int32_t pbkeylen;          /* SRTO_PBKEYLEN: 0, 16, 24 or 32 */
    int32_t payload_size;      /* SRTO_PAYLOADSIZE, default 1316 (7 TS packets) */
    const char *streamid;      /* caller: SRTO_STREAMID (<= 512 bytes) */
    int32_t peer_idle_ms;      /* SRTO_PEERIDLETIMEO: a silent peer is dropped after this */
    int32_t conn_timeout_ms;   /* caller: SRTO_CONNTIMEO */
    uint32_t send_queue_bytes; /* omn_srt_send bound per socket; 0 = 4 MiB */
    uint32_t recv_queue_bytes; /* received bytes held per socket until omn_srt_take; 0 = 8 MiB
                                  (over it the oldest bytes are dropped and counted) */
} omn_srt_options;

enum omn_srt_event_type {
    OMN_SRT_EV_ACCEPTED = 1,   /* a caller connected to `listener`; sock is new, streamid/peer set */
    OMN_SRT_EV_CONNECTED = 2,  /* omn_srt_connect finished: the caller socket is up */
    OMN_SRT_EV_DATA = 3,       /* sock has received bytes waiting in omn_srt_take (edge: raised
                                  when its queue turns non-empty) */
    OMN_SRT_EV_CLOSED = 4,     /* sock is gone (peer closed, broken, connect failed/rejected, or
                                  omn_srt_close); reason/reject set; its bytes were all taken
                                  or are still takeable until the next event call */
    OMN_SRT_EV_REJECTED = 5    /* a caller's handshake on `listener` was refused by libsrt
                                  (e.g. wrong passphrase): sock 0, reject + peer + streamid
                                  when known, reason = libsrt's text */
};

/* One event, copied out by omn_srt_next_event (no pointers to keep). */
typedef struct omn_srt_event {
    int32_t type;              /* enum omn_srt_event_type */
    int32_t sock;
    int32_t listener;          /* ACCEPTED / REJECTED: the listener socket */
    int32_t reject;            /* CLOSED / REJECTED: SRT_REJ_* reason code (0 none) */
    char peer[64];             /* "ip:port" */
    char streamid[516];        /* NUL-terminated, as the caller sent it (not decoded) */
    char reason[128];          /* CLOSED / REJECTED: readable cause */
} omn_srt_event;

/* Per-socket counters (omn_srt_socket_stats). */
typedef struct omn_srt_socket_stats {
    uint64_t bytes_received;   /* payload bytes received */
    uint64_t bytes_sent;       /* payload bytes handed to libsrt */
    uint64_t bytes_dropped;    /* received bytes dropped by the recv_queue_bytes bound */
    uint64_t pkts_lost;        /* libsrt: receiver packets lost (pktRcvLossTotal) */
    uint64_t pkts_retrans;     /* libsrt: sender retransmissions (pktRetransTotal) */
    uint32_t send_queued;      /* bytes waiting in the send queue now */
    int32_t rtt_us;            /* libsrt msRTT in microseconds */
} omn_srt_socket_stats;

/* Starts the library (srt_startup, once per process) and the I/O thread.
 * `notify` is borrowed: it must outlive the context. NULL on failure. */
omn_srt *omn_srt_new(omn_notify *notify);
/* Closes every socket, stops and joins the thread, frees. */
void omn_srt_free(omn_srt *s);
/* Text of the last libsrt error of this context (static until the next
 * failing call), for logs. */
const char *omn_srt_last_error(omn_srt *s);

/* Listener on host (IPv4/IPv6 literal; "0.0.0.0"/"::" any) and port.
 * Returns the listener socket id (> 0) or a negative omn_srt_status. */
int32_t omn_srt_listen(omn_srt *s, const char *host, int32_t port,
                       const omn_srt_options *opt, int32_t backlog);
/* Caller (non-blocking): returns the socket id (> 0); later a CONNECTED or a
 * CLOSED event (with the reject reason) follows. host is a literal address. */
int32_t omn_srt_connect(omn_srt *s, const char *host, int32_t port,
                        const omn_srt_options *opt);
/* Queues len bytes for sending, cut into messages of the socket's
 * payload_size (send whole TS packets: len a multiple of 188 keeps messages
 * aligned). Never blocks: the thread sends as libsrt takes it. 0, or
 * OMN_SRT_E_FULL (queue would exceed send_queue_bytes; nothing queued),
 * OMN_SRT_E_CLOSED, OMN_SRT_E_ARG. Bytes are copied. */
int omn_srt_send(omn_srt *s, int32_t sock, const uint8_t *data, size_t len);
/* Moves every received byte of sock into *out (appended; caller frees with
 * omn_buf_free). Returns the number of bytes moved (0 none) or < 0. */
int64_t omn_srt_take(omn_srt *s, int32_t sock, omn_buf *out);
/* Pops the oldest event into *ev: 1, or 0 when none. */
int omn_srt_next_event(omn_srt *s, omn_srt_event *ev);
/* Closes sock (listener or connection) now; its CLOSED event follows
 * (listeners: none). 0 or OMN_SRT_E_ARG when unknown. */
int omn_srt_close(omn_srt *s, int32_t sock);
int omn_srt_socket_stats_get(omn_srt *s, int32_t sock, omn_srt_socket_stats *out);
/* The bound port of a listener (port 0 asks for an ephemeral one), or < 0. */
int32_t omn_srt_local_port(omn_srt *s, int32_t sock);

/* ==== MPEG-TS demuxer (mpegts_demux.c) ================================ */
/* Bytes of a transport stream (any slicing; sync is found and re-found on
 * 0x47 every 188 bytes) -> the first program's tracks and whole access
 * units in the form the stream model wants: H.264/H.265 as 4-byte
 * length-prefixed NAL units (AUD and filler dropped) with avcC/hvcC built
 * from the in-band parameter sets; AAC as raw frames (ADTS header stripped,
 * one frame per unit) with an AudioSpecificConfig; Opus (registration
 * descriptor "Opus") as raw packets with an OpusHead.
 * Timestamps: 33-bit PTS/DTS unwrapped to 64 bits (wraps, both ways, on a
 * clock shared by the program), then given in the track's timescale (video
 * 90000; AAC the sample rate with a running frame count re-anchored when it
 * drifts more than one frame from the PES clock; Opus 48000). Jumps are
 * passed on unchanged (the stream model handles them).
 * Robustness: CRC-checked PAT/PMT sections, continuity-counter gaps counted
 * (the PES being assembled is dropped and video waits for the next key
 * frame), bounded PES sizes and queues; malformed input is counted and
 * dropped, never read out of bounds.
 * Tracks are announced once each supported stream of the PMT has its codec
 * configuration (or after 2 s of units / 256 queued units, with those that
 * have one); units before that are held and come right after the TRACKS
 * event. A new PMT version (or a PMT with a different stream set) that
 * changes the tracks announces a new track set (generation + 1): units of
 * the old set are all out before the new TRACKS event.
 * Not thread-safe: one owner per demuxer. */
typedef struct omn_ts_demux omn_ts_demux;

enum omn_ts_event {
    OMN_TS_NONE = 0,
    OMN_TS_TRACKS = 1,        /* the track set is (newly) known: read it with omn_ts_demux_track */
    OMN_TS_FRAME = 2          /* *out holds one access unit / audio frame */
};

/* One output unit. data stays valid until the next omn_ts_demux_* call. */
typedef struct omn_ts_unit {
    int32_t track;            /* index into the current track set */
    int32_t keyframe;         /* video: IDR / IRAP present; audio: 1 */
    int64_t dts;              /* in the track's timescale */
    int64_t pts;
    const uint8_t *data;
    size_t len;
} omn_ts_unit;

typedef struct omn_ts_track {
    int32_t pid;
    int32_t stream_type;      /* PMT stream_type (0x1B, 0x24, 0x0F, 0x06) */
    int32_t codec;            /* enum omn_codec */
    uint32_t timescale;
    uint32_t width;           /* video */
    uint32_t height;
    uint32_t sample_rate;     /* audio */
    uint32_t channels;
    const uint8_t *config;    /* avcC / hvcC / ASC / OpusHead; valid until the next
                                 OMN_TS_TRACKS event is popped or the demuxer is freed */
    size_t config_len;
    char codecs[64];          /* RFC 6381 CODECS string */
} omn_ts_track;

typedef struct omn_ts_stats {
    uint64_t packets;         /* TS packets read */
    uint64_t sync_losses;     /* resyncs on the 0x47 byte */
    uint64_t cc_errors;       /* continuity-counter gaps */
    uint64_t crc_errors;      /* PAT/PMT sections with a bad CRC (ignored) */
    uint64_t pes_dropped;     /* PES dropped: bad header, overflow, CC gap, unparsable payload */
    uint64_t units;           /* units handed out */
    uint64_t units_dropped;   /* units dropped (no track yet, waiting for a key frame, queue full) */
    uint64_t pmt_changes;     /* PMT versions after the first that changed the track set */
    uint32_t generation;      /* track sets announced so far */
    uint32_t program_number;  /* of the program followed */
    int64_t last_pcr;         /* 27 MHz, 33+9 bit PCR of the PCR PID; -1 before one */
} omn_ts_stats;

/* NULL when out of memory; free with omn_ts_demux_free. */
omn_ts_demux *omn_ts_demux_new(void);
void omn_ts_demux_free(omn_ts_demux *d);
/* Consumes all of data (a partial TS packet is kept for the next call).
 * Returns 0, or OMN_CMAF_ENOMEM. Output waits in omn_ts_demux_next. */
int omn_ts_demux_feed(omn_ts_demux *d, const uint8_t *data, size_t len);
/* Signals the end of input: flushes the PES being assembled (units of a
 * stream whose PES length is unknown end at the next PES otherwise). */
void omn_ts_demux_flush(omn_ts_demux *d);
/* Pops the next event: OMN_TS_TRACKS, OMN_TS_FRAME (*out filled) or
 * OMN_TS_NONE. */
int omn_ts_demux_next(omn_ts_demux *d, omn_ts_unit *out);
/* Number of tracks in the current set, and track i of it (0 or -1). */
int omn_ts_demux_track_count(const omn_ts_demux *d);
int omn_ts_demux_track(const omn_ts_demux *d, int i, omn_ts_track *out);
void omn_ts_demux_stats_get(const omn_ts_demux *d, omn_ts_stats *out);
/* ==== record/push muxers (cmaf_part.c fragments, fmp4_rec.c, mpegts_mux.c, flv_mux.c) ==== */
/* Conventions: the cmaf section's (omn_buf outputs appended to, owned by
 * the caller; omn_cmaf_status codes; integer timestamps in each track's
 * own timescale). Not thread-safe: one owner serialises calls per object. */

/* One track of a multi-track muxer. config is copied by the *_new call. */
typedef struct omn_mux_track {
    int codec;                  /* enum omn_codec */
    const uint8_t *config;      /* avcC / hvcC / AudioSpecificConfig / OpusHead */
    size_t config_len;
    uint32_t timescale;         /* ticks per second of the dts/pts fed (0 = the codec's) */
} omn_mux_track;

/* One traf of a movie fragment (cmaf_part.c): samples of one track and
 * their concatenated payload (sum of sizes == payload_len). */
typedef struct omn_cmaf_traf {
    uint32_t track_id;
    int is_video;
    uint64_t base_decode_time;
    const omn_cmaf_sample *samples;
    size_t n;
    const uint8_t *payload;
    size_t payload_len;
} omn_cmaf_traf;
/* moof (one traf per entry, 1..255) + one mdat holding the payloads in
 * traf order, appended to out. omn_cmaf_write_part is the one-traf case. */
int omn_cmaf_write_fragment(omn_buf *out, uint32_t sequence, const omn_cmaf_traf *trafs, size_t n);

/* fmp4_rec.c: a multi-track fragmented MP4 file (recording). The init
 * segment (ftyp + moov with every track, track_IDs 1..n in order, mvex)
 * comes first, then fragments: each flush writes one moof+mdat with every
 * sample whose duration is known (a track lags one sample: its duration is
 * the next dts minus this one). A file cut after any whole fragment plays
 * up to that fragment. Feed per track in decode order; dts >= 0 in the
 * track's timescale, strictly increasing per track (others: EINVAL/ETIME,
 * the sample is dropped and the state is unchanged). Video payloads are
 * 4-byte length-prefixed NAL units, audio raw frames. */
typedef struct omn_fmp4_rec omn_fmp4_rec;
int omn_fmp4_rec_new(const omn_mux_track *tracks, size_t n, omn_fmp4_rec **out);
void omn_fmp4_rec_free(omn_fmp4_rec *r);
int omn_fmp4_rec_init_segment(const omn_fmp4_rec *r, omn_buf *out);
int omn_fmp4_rec_feed(omn_fmp4_rec *r, uint32_t track, const uint8_t *data, size_t len,
                      int64_t dts, int64_t pts, int keyframe);
/* Appends one fragment with the samples ready (nothing when none). */
int omn_fmp4_rec_flush(omn_fmp4_rec *r, omn_buf *out);
/* Closes every track (the newest sample gets its track's previous
 * duration, or the codec frame duration for audio) and flushes. */
int omn_fmp4_rec_finish(omn_fmp4_rec *r, omn_buf *out);
/* Media bytes held (not yet flushed) and the longest track duration
 * written so far in milliseconds. */
size_t omn_fmp4_rec_pending_bytes(const omn_fmp4_rec *r);
uint64_t omn_fmp4_rec_duration_ms(const omn_fmp4_rec *r);

/* mpegts_mux.c: MPEG-TS (ISO 13818-1) for .ts recordings, MPEG-TS push
 * (UDP/TCP) and SRT push. PMT PID 0x1000, elementary PIDs 0x100 + track
 * index, PCR on the first video track (else the first track); PAT+PMT in
 * front of every video key frame (and at least every 500 ms). H.264/H.265
 * become Annex B with an access unit delimiter and the config's parameter
 * sets in front of key frames; AAC gets an ADTS header from the config;
 * Opus is not carried (omn_ts_mux_new: ECONFIG). Timestamps are converted
 * to 90 kHz (pts/dts in the track's timescale; 33-bit wrap). */
typedef struct omn_ts_mux omn_ts_mux;
int omn_ts_mux_new(const omn_mux_track *tracks, size_t n, omn_ts_mux **out);
void omn_ts_mux_free(omn_ts_mux *m);
/* Appends one PES (whole 188-byte packets) for one access unit / frame. */
int omn_ts_mux_write(omn_ts_mux *m, omn_buf *out, uint32_t track, const uint8_t *data, size_t len,
                     int64_t dts, int64_t pts, int keyframe);

/* flv_mux.c: FLV tag bodies (RTMP audio/video message payloads) for RTMP
 * push. Sequence headers: kind OMN_FLV_KIND_SEQUENCE_HEADER with the avcC /
 * ASC as data; frames: OMN_FLV_KIND_FRAME with cts_ms = pts - dts. codec:
 * OMN_FLV_CODEC_H264 or OMN_FLV_CODEC_AAC (legacy FLV; AAC is announced as
 * 44 kHz stereo 16-bit as FLV requires). Appended to out. */
int omn_flv_write_body(omn_buf *out, int codec, int kind, int keyframe, int32_t cts_ms,
                       const uint8_t *data, size_t len);

/* ==== Transcoder (transcode_*.c) ===================================== */
/*
 * A native transcoder over libavcodec/libswscale/libswresample, one concern
 * per file: transcode_hw.c (accelerator probe and session load),
 * transcode_decoder.c, transcode_scaler.c (video scale, audio resample),
 * transcode_encoder.c, transcode_session.c (graph and threads). Encoder
 * output (Annex B) becomes length-prefixed through the cmaf section's
 * omn_nal_to_len4; avcC/hvcC come from omn_avcc/hvcc_from_annexb.
 *
 * One omn_xcode per input stream: each input track is decoded once (one C
 * thread per input track), each distinct output size is scaled once per
 * frame, each output is encoded in its own C thread. Encoded packets queue
 * inside the session; the session signals the caller's omn_notify and the
 * event loop pops them with omn_xcode_pop. omn_xcode_push copies and never
 * blocks (a full input queue drops up to the next keyframe and counts it).
 * Timestamps are integers: video 90 kHz, audio the output sample rate.
 * Keyframes: every video output forces a keyframe at the same source
 * frames (the source's keyframes when KeyFrameInterval is 0, else the
 * interval in frames or ms of source pts), so renditions line up.
 */
enum omn_xcode_status {
    OMN_XCODE_OK = 0,
    OMN_XCODE_ENOMEM = -1,
    OMN_XCODE_EINVAL = -2,     /* bad argument, unknown track */
    OMN_XCODE_ECODEC = -3,     /* no decoder/encoder for the codec in this build */
    OMN_XCODE_EOPEN = -4,      /* the codec refused the settings */
    OMN_XCODE_EHW = -5,        /* the requested accelerator/engine is not present */
    OMN_XCODE_ESTATE = -6,     /* already started / not started */
    OMN_XCODE_EFULL = -7       /* input queue full: packet dropped */
};
/* Codecs on top of enum omn_codec (1-4) that only the transcoder knows. */
enum omn_xcode_codec { OMN_XCODE_VP8 = 5 };

enum omn_hw_family { OMN_HW_NONE = 0, OMN_HW_NVIDIA = 1, OMN_HW_QSV = 2, OMN_HW_VAAPI = 3 };

/* One accelerator and its engines, probed separately: NVDEC (decoder),
 * NVENC (encoder) and CUDA scaling are independent (H100: NVDEC, no NVENC). */
typedef struct omn_hw_device {
    int32_t family;            /* enum omn_hw_family */
    int32_t index;             /* device id within the family (NVML index for NVIDIA) */
    char name[96];
    int32_t has_decoder;       /* H.264 decode opens on the device */
    int32_t has_encoder;       /* H.264 encode opens on the device */
    int32_t has_scaler;
    int32_t from_nvml;         /* NVML listed it */
    uint64_t memory_total;     /* bytes, 0 when unknown */
    int32_t sessions;          /* transcoder engines currently open on it */
} omn_hw_device;

/* Probes once (later calls return the cached result with live session
 * counts): NVML through dlopen("libnvidia-ml.so.1") when present, then a
 * CUDA hwdevice per device (av_hwdevice_ctx_create), then QSV and VAAPI.
 * Fills at most cap devices, returns how many exist (0 = none). log (may be
 * NULL) gets a NUL-terminated line per family saying what was found. */
int omn_hw_probe(omn_hw_device *out, int32_t cap, char *log, size_t log_cap);

typedef struct omn_xcode omn_xcode;

/* notify is borrowed: it must outlive the session. NULL on ENOMEM. */
omn_xcode *omn_xcode_new(omn_notify *notify);
/* Stops and joins every thread, frees queued packets and the session. */
void omn_xcode_free(omn_xcode *x);

/* Declares an input track (before omn_xcode_start). codec: enum omn_codec;
 * cfg: avcC/hvcC/ASC/OpusHead (copied); hw_family/hw_index: decode on that
 * device (OMN_HW_NONE: software). err gets a message on failure. */
int omn_xcode_add_input(omn_xcode *x, int32_t track_id, int32_t codec, const uint8_t *cfg,
                        size_t cfg_len, uint32_t timescale, int32_t width, int32_t height,
                        int32_t hw_family, int32_t hw_index, char *err, size_t err_cap);

typedef struct omn_xcode_output_config {
    int32_t input_track_id;
    int32_t codec;             /* enum omn_codec / omn_xcode_codec */
    int64_t bitrate;           /* bits per second */
    int32_t width;             /* 0: from height keeping aspect, or the source's */
    int32_t height;
    int32_t fps_num;           /* 0: the source's rate */
    int32_t fps_den;
    int32_t skip_frames;       /* -1 none; N: keep one frame of N+1 (wins over fps) */
    int32_t keyint_frames;     /* KeyFrameInterval in frames (0 with keyint_ms 0: the source's keyframes) */
    int32_t keyint_ms;         /* KeyFrameInterval in ms of source time */
    int32_t bframes;
    int32_t threads;           /* 0 auto */
    int32_t lookahead;         /* -1 the encoder's default */
    char preset[24];           /* "" default */
    char profile[24];          /* "" default */
    int32_t samplerate;        /* audio; 0 source (Opus: 48000) */
    int32_t channels;          /* audio; 0 source */
    int32_t hw_family;         /* encode on this device (OMN_HW_NONE: software) */
    int32_t hw_index;
} omn_xcode_output_config;

/* Opens the output's encoder at once (before omn_xcode_start) so its codec
 * configuration is known; returns the output index (>= 0) or a negative
 * status with a message in err. */
int omn_xcode_add_output(omn_xcode *x, const omn_xcode_output_config *cfg, char *err, size_t err_cap);

typedef struct omn_xcode_output_info {
    int32_t codec;
    uint32_t timescale;        /* 90000 video; sample rate audio */
    int32_t width;
    int32_t height;
    int32_t samplerate;
    int32_t channels;
    int32_t fps_num;           /* output frame rate, 0 when it follows the source */
    int32_t fps_den;
    int64_t bitrate;
} omn_xcode_output_info;
/* Output description; its codec configuration (avcC/hvcC/ASC/OpusHead,
 * empty for VP8) is appended to config. */
int omn_xcode_describe_output(omn_xcode *x, int32_t output, omn_xcode_output_info *info, omn_buf *config);

/* Starts the threads. */
int omn_xcode_start(omn_xcode *x);

/* Queues one input packet (copied): 4-byte length-prefixed NAL units or a
 * raw audio frame, timestamps in the track's timescale. Never blocks. */
int omn_xcode_push(omn_xcode *x, int32_t track_id, int64_t pts, int64_t dts, int32_t keyframe,
                   const uint8_t *data, size_t len);

/* End of input: every decoder and encoder is drained, so each output's last
 * packets follow (its stats say `ended` once its encoder is empty). Later
 * pushes are refused (OMN_XCODE_ESTATE). */
int omn_xcode_end(omn_xcode *x);

/* One encoded packet. data is owned by the session and valid until the next
 * omn_xcode_pop or omn_xcode_free; video is 4-byte length-prefixed. */
typedef struct omn_xcode_packet {
    int32_t output;
    int64_t pts;
    int64_t dts;
    int32_t keyframe;
    const uint8_t *data;
    size_t len;
} omn_xcode_packet;
/* 1 when a packet was popped into *p, 0 when the queue is empty. */
int omn_xcode_pop(omn_xcode *x, omn_xcode_packet *p);

enum omn_xcode_state { OMN_XCODE_RUNNING = 0, OMN_XCODE_FAILED = 1 };
typedef struct omn_xcode_output_stats {
    int32_t state;             /* enum omn_xcode_state */
    int32_t ended;             /* 1 after omn_xcode_end once the encoder is drained */
    uint64_t frames_in;        /* frames handed to the encoder */
    uint64_t packets_out;
    uint64_t bytes_out;
    uint64_t keyframes;
    uint64_t encode_ns;        /* thread CPU time spent encoding (and scaling for it) */
    char error[160];           /* last error, "" when none */
} omn_xcode_output_stats;
int omn_xcode_get_output_stats(omn_xcode *x, int32_t output, omn_xcode_output_stats *out);

typedef struct omn_xcode_input_stats {
    uint64_t packets_in;
    uint64_t frames_decoded;
    uint64_t decode_errors;
    uint64_t decoder_restarts;
    uint64_t dropped;          /* input queue overflow */
    uint64_t decode_ns;        /* thread CPU time decoding and scaling */
    int32_t width;             /* last decoded size */
    int32_t height;
} omn_xcode_input_stats;
int omn_xcode_get_input_stats(omn_xcode *x, int32_t track_id, omn_xcode_input_stats *out);

/* ---- edge: the media edge's HTTP/1.1 server (edge.c, edge_http.c, edge_cache.c) ----
 * One C thread owns the plain-HTTP LL-HLS sockets (epoll). A GET whose answer the event loop
 * stored ("put") is answered here without Python; a blocking playlist request
 * (_HLS_msn + _HLS_part) ahead of its playlist's state is parked here until the loop
 * advances that playlist, then answered from the stored answers. Every other request is a
 * "miss": queued with its raw head, signalled on the omn_notify given at creation; the loop
 * pops it (omn_edge_next_miss), answers with omn_edge_respond, and may put the answer.
 *
 * Keys. An answer key is  host "\n" origin "\n" flag path ["?" query]  where host and
 * origin are the request's Host and Origin header values (empty when absent), flag is 'g'
 * when the path ends in ".m3u8" and Accept-Encoding contains "gzip", else '-', path is the
 * request path (no percent escapes), and query is the canonical form of the LL-HLS
 * directives given: "_HLS_msn=M", "&_HLS_part=P", "&_HLS_skip=S" in that order, M and P as
 * plain decimals, S "YES" or "v2" (any other query parameter: not storable, always a miss).
 * A playlist state key is  host "\n" path.
 *
 * Ownership: bodies are reference counted (new = one reference, the caller's); put takes
 * its own references; every answer is immutable once put (a put of an existing key
 * replaces it; connections still sending the old one keep it alive).
 * Thread-safety: every omn_edge_* call may come from any one thread (the event loop); the
 * edge thread is internal. omn_edge_body_* may be called from any thread. */
typedef struct omn_edge omn_edge;
typedef struct omn_edge_body omn_edge_body;

typedef struct omn_edge_miss {
    uint64_t conn;             /* answer with omn_edge_respond(conn, ...) */
    int64_t t0_ns;             /* CLOCK_MONOTONIC when the head was complete */
    const uint8_t *head;       /* the request head, without the final blank line */
    size_t head_len;
    const char *key;           /* the answer key of this request (not NUL-terminated) */
    size_t key_len;            /* 0: the answer cannot be stored */
    int32_t expired;           /* 1: it was parked here until its playlist's deadline */
} omn_edge_miss;

typedef struct omn_edge_stats {
    uint64_t connections;      /* accepted, ever */
    uint64_t requests;
    uint64_t hits;             /* answered from stored answers (parked ones included) */
    uint64_t misses;           /* handed to the loop */
    uint64_t parked;           /* parked here, ever */
    uint64_t bytes_out;
    uint32_t open_connections;
    uint32_t parked_now;
    uint32_t answers;          /* stored answers */
    uint32_t states;           /* playlist states */
    uint64_t answer_bytes;     /* heads + bodies of the stored answers (shared bodies counted once per answer) */
} omn_edge_stats;

/* A stopped edge; server_name goes in each answer's "Server:" line. notify is borrowed and
 * must outlive the edge. NULL on failure. */
omn_edge *omn_edge_new(omn_notify *notify, const char *server_name);
/* Takes ownership of a bound, listening, non-blocking socket fd (also while running; from
 * one thread at a time). 0, or -1 (too many listeners; the fd is then still the caller's). */
int omn_edge_add_listener(omn_edge *e, int fd);
/* Starts the edge thread. 0, or -1. */
int omn_edge_start(omn_edge *e);
/* Stops the thread, closes every socket, frees every answer, state and queued miss. */
void omn_edge_free(omn_edge *e);

/* Pops one miss into *out: 1, or 0 when none is queued. Its pointers stay valid until the
 * next call or omn_edge_free. */
int omn_edge_next_miss(omn_edge *e, omn_edge_miss *out);
/* The whole answer of a miss (status line, headers, body), copied; close_after: close the
 * connection once it is sent. An unknown or closed conn is ignored. 0, or -1 (no memory). */
int omn_edge_respond(omn_edge *e, uint64_t conn, const uint8_t *data, size_t len, int32_t close_after);

/* A body: len bytes copied. NULL on failure. */
omn_edge_body *omn_edge_body_new(const uint8_t *data, size_t len);
void omn_edge_body_unref(omn_edge_body *b);
/* Bodies the loop allocates and fills itself (one copy of a part for both sides): alloc returns
 * the data area of a new body holding one reference (NULL on failure), release drops the
 * reference of that data area (cffi: ffi.new_allocator(alloc, release)), and body_of takes one
 * more reference and returns the body (for omn_edge_put; drop it with omn_edge_body_unref).
 * Only data areas from omn_edge_body_alloc may be passed to release/body_of. */
void *omn_edge_body_alloc(size_t len);
void omn_edge_body_release(void *data);
omn_edge_body *omn_edge_body_of(void *data);

/* Stores a 200 answer under key: `head` is its header lines after Server/Date (each ending in
 * CRLF; the edge adds the status line, Server, Date, Content-Length and Connection), the body
 * is the concatenation of `bodies`. group/tag let omn_edge_drop remove it. 0, or -1. */
int omn_edge_put(omn_edge *e, const char *key, size_t key_len, uint64_t group, int64_t tag,
                 const uint8_t *head, size_t head_len, omn_edge_body *const *bodies, size_t n_bodies);
/* Removes every answer of `group` whose tag < below (INT64_MAX: the whole group).
 * Returns how many were removed. */
size_t omn_edge_drop(omn_edge *e, uint64_t group, int64_t below);
/* Sets a playlist's state: its newest part is (msn, part); a request for (M, P) after it is
 * parked when M == msn and P <= part + parts_ahead, or msn < M <= msn + 2 and P <= parts_ahead,
 * for at most timeout_ms after its head arrived (then handed to the loop, expired = 1), while
 * fewer than max_parked wait on this playlist (the others go to the loop at once).
 * open = 0 ends the state: every request parked on it goes to the loop. Parked requests the
 * new state satisfies are answered from stored answers, or handed to the loop. */
int omn_edge_advance(omn_edge *e, const char *state_key, size_t key_len, int64_t msn, int64_t part,
                     int64_t parts_ahead, int64_t timeout_ms, int64_t max_parked, int32_t open);
void omn_edge_get_stats(omn_edge *e, omn_edge_stats *out);
/* Paths starting with `prefix` have answers that do not depend on the Origin header (their CORS
 * answer is the same for every origin): their answer keys carry an empty origin, so one stored
 * answer serves every origin. on = 0 removes the prefix. At most 64 prefixes of 255 bytes.
 * 0, or -1. */
int omn_edge_origin_free(omn_edge *e, const char *prefix, size_t len, int32_t on);

/* The parsed head of one request (edge_http.c; exposed for tests and the fuzzer). */
typedef struct omn_edge_head {
    int32_t complete;          /* 1: the blank line was found; head_len counts through it */
    size_t head_len;
    int32_t storable;          /* GET, HTTP/1.1, no body framing to worry about, plain path,
                                  only LL-HLS directives in the query: key below is valid */
    int32_t keep_alive;
    int32_t bad;               /* the head is malformed (the loop's parser gives the answer) */
    int64_t content_length;    /* -1: none or invalid */
    int32_t has_msn;
    int32_t has_part;
    int64_t msn;
    int64_t part;
    size_t key_len;            /* the answer key, written to the caller's buffer */
    size_t state_key_len;      /* the playlist state key (host "\n" path), written after it */
} omn_edge_head;
/* Parses buf (len bytes). When the head is complete, writes the answer key then the state
 * key into keybuf (cap bytes; storable = 0 when they do not fit). 0, or -1 when no blank line
 * is found within max_head bytes. */
int omn_edge_parse_head(const uint8_t *buf, size_t len, size_t max_head, omn_edge_head *out,
                        char *keybuf, size_t cap);

#endif /* OME_NATIVE_H */

/* libFuzzer: FLV tag parsing and the codec configuration parsers.
 * First byte selects: 0-3 FLV message type (8, 9, 18, 15) followed by the
 * codec parsers on the tag's data; 4 avcC; 5 hvcC; 6 H.264 SPS; 7 HEVC SPS;
 * 8 AudioSpecificConfig; 9 OpusHead. */
#include "ome_native.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void check_sps(int rc, const omn_sps_info *i)
{
    char cs[48];
    if (rc != 0) return;
    if (i->width == 0 || i->height == 0 || i->width > 16888 || i->height > 16888) abort();
    if ((i->fps_num == 0) != (i->fps_den == 0)) abort();
    if (omn_sps_codec_string(i, cs, sizeof cs) < 0) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    uint8_t sel = data[0] % 10;
    const uint8_t *p = data + 1;
    size_t n = size - 1;
    omn_sps_info si;
    omn_asc_info ai;
    omn_opus_info oi;

    /* exact-size heap copy so ASan sees reads past the end */
    uint8_t *buf = malloc(n ? n : 1);
    memcpy(buf, p, n);
    p = buf;

    switch (sel) {
    case 0: case 1: case 2: case 3: {
        static const uint32_t types[4] = { 8, 9, 18, 15 };
        omn_flv_tag t;
        if (omn_flv_parse(types[sel], p, n, &t) == 0) {
            if (t.data_offset + t.data_len != n || t.data != p + t.data_offset) abort();
            check_sps(omn_avcc_parse(t.data, t.data_len, &si), &si);
            check_sps(omn_hvcc_parse(t.data, t.data_len, &si), &si);
            omn_aac_asc_parse(t.data, t.data_len, &ai);
            omn_opus_head_parse(t.data, t.data_len, &oi);
        }
        break;
    }
    case 4: check_sps(omn_avcc_parse(p, n, &si), &si); break;
    case 5: check_sps(omn_hvcc_parse(p, n, &si), &si); break;
    case 6: check_sps(omn_h264_sps_parse(p, n, &si), &si); break;
    case 7: check_sps(omn_hevc_sps_parse(p, n, &si), &si); break;
    case 8:
        if (omn_aac_asc_parse(p, n, &ai) == 0 && (ai.sample_rate == 0 || ai.channels < 0)) abort();
        break;
    case 9:
        if (omn_opus_head_parse(p, n, &oi) == 0 && oi.channels == 0) abort();
        break;
    }
    free(buf);
    return 0;
}

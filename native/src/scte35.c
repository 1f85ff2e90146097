/* scte35.c - SCTE-35 splice_info_section with one splice_insert() (ANSI/SCTE 35
 * section 9.2 / 9.7.3), the payload of EXT-X-DATERANGE SCTE35-OUT/SCTE35-IN. */
#include "ome_native.h"
#include "mpegts.h"

#include <string.h>

enum { SPLICE_TABLE_ID = 0xFC, SPLICE_INSERT = 0x05, SPLICE_MAX = 64 };

static size_t put_pts33(uint8_t *p, uint8_t high_bits, uint64_t v)
{
    /* 7 high flag/reserved bits, then the 33-bit value */
    v &= 0x1FFFFFFFFULL;
    p[0] = (uint8_t)(high_bits | (uint8_t)(v >> 32));
    p[1] = (uint8_t)(v >> 24);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 8);
    p[4] = (uint8_t)v;
    return 5;
}

int omn_scte35_splice_insert(omn_buf *out, uint32_t event_id, int out_of_network,
                             uint64_t pts_90k, uint64_t duration_90k, int auto_return)
{
    if (!out) return OMN_CMAF_EINVAL;
    uint8_t cmd[32];
    size_t c = 0;
    cmd[c++] = (uint8_t)(event_id >> 24);
    cmd[c++] = (uint8_t)(event_id >> 16);
    cmd[c++] = (uint8_t)(event_id >> 8);
    cmd[c++] = (uint8_t)event_id;
    cmd[c++] = 0x7F;                                   /* cancel_indicator 0, reserved */
    int has_duration = duration_90k > 0;
    cmd[c++] = (uint8_t)((out_of_network ? 0x80 : 0) | 0x40 /* program_splice */ |
                         (has_duration ? 0x20 : 0) | 0x0F /* not immediate, reserved */);
    c += put_pts33(cmd + c, 0xFE, pts_90k);             /* time_specified_flag 1, reserved */
    if (has_duration) c += put_pts33(cmd + c, (uint8_t)((auto_return ? 0x80 : 0) | 0x7E), duration_90k);
    cmd[c++] = 0; cmd[c++] = 0;                        /* unique_program_id */
    cmd[c++] = 0;                                      /* avail_num */
    cmd[c++] = 0;                                      /* avails_expected */

    uint8_t sec[SPLICE_MAX];
    size_t n = 0;
    size_t section_length = 11 + c + 2 + 4;            /* after the length field, CRC included */
    sec[n++] = SPLICE_TABLE_ID;
    sec[n++] = (uint8_t)(0x30 | (section_length >> 8)); /* syntax 0, private 0, sap_type 3 */
    sec[n++] = (uint8_t)section_length;
    sec[n++] = 0;                                      /* protocol_version */
    memset(sec + n, 0, 5);                             /* not encrypted, pts_adjustment 0 */
    n += 5;
    sec[n++] = 0;                                      /* cw_index */
    sec[n++] = 0xFF;                                   /* tier 0xFFF, splice_command_length */
    sec[n++] = (uint8_t)(0xF0 | (c >> 8));
    sec[n++] = (uint8_t)c;
    sec[n++] = SPLICE_INSERT;
    memcpy(sec + n, cmd, c);
    n += c;
    sec[n++] = 0; sec[n++] = 0;                        /* descriptor_loop_length */
    uint32_t crc = omn_ts_crc32(sec, n);
    sec[n++] = (uint8_t)(crc >> 24);
    sec[n++] = (uint8_t)(crc >> 16);
    sec[n++] = (uint8_t)(crc >> 8);
    sec[n++] = (uint8_t)crc;
    return omn_buf_append(out, sec, n);
}

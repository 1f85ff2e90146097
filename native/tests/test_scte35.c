/* test_scte35.c - splice_insert sections: field layout, lengths and the CRC. */
#include "ome_native.h"
#include "../src/mpegts.h"

#include <stdio.h>
#include <string.h>

static int failures;
#define CHECK(c) do { if (!(c)) { fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, #c); failures++; } } while (0)

static uint64_t pts33(const uint8_t *p) {
    return ((uint64_t)(p[0] & 1) << 32) | ((uint64_t)p[1] << 24) | ((uint64_t)p[2] << 16) |
           ((uint64_t)p[3] << 8) | p[4];
}

int main(void)
{
    omn_buf b = {0};
    /* splice out, event 1234, at 10 s, break of 30 s with auto return */
    CHECK(omn_scte35_splice_insert(&b, 1234, 1, 900000, 2700000, 1) == 0);
    CHECK(b.len == 3 + 11 + 20 + 2 + 4);
    const uint8_t *s = b.data;
    CHECK(s[0] == 0xFC);
    CHECK((((s[1] & 0x0F) << 8) | s[2]) == (int)b.len - 3);
    CHECK((s[1] & 0xC0) == 0);                              /* no section syntax, not private */
    CHECK(s[10] == 0xFF && (s[11] >> 4) == 0xF);            /* tier 0xFFF */
    CHECK((((s[11] & 0x0F) << 8) | s[12]) == 20);           /* splice_command_length */
    CHECK(s[13] == 0x05);                                   /* splice_insert */
    const uint8_t *c = s + 14;
    CHECK(((uint32_t)c[0] << 24 | c[1] << 16 | c[2] << 8 | c[3]) == 1234);
    CHECK((c[4] & 0x80) == 0);                              /* not cancelled */
    CHECK(c[5] & 0x80);                                     /* out of network */
    CHECK(c[5] & 0x40 && c[5] & 0x20 && !(c[5] & 0x10));    /* program splice, duration, timed */
    CHECK(c[6] & 0x80 && pts33(c + 6) == 900000);           /* splice_time */
    CHECK(c[11] & 0x80 && pts33(c + 11) == 2700000);        /* break_duration, auto_return */
    CHECK(omn_ts_crc32(b.data, b.len) == 0);                /* the CRC covers the section */
    omn_buf_free(&b);

    /* return to network, no duration, pts wraps at 2^33 */
    CHECK(omn_scte35_splice_insert(&b, 7, 0, (1ULL << 33) + 5, 0, 0) == 0);
    CHECK(b.len == 3 + 11 + 15 + 2 + 4);
    c = b.data + 14;
    CHECK(!(c[5] & 0x80) && !(c[5] & 0x20));
    CHECK(pts33(c + 6) == 5);
    CHECK(omn_ts_crc32(b.data, b.len) == 0);
    omn_buf_free(&b);

    CHECK(omn_scte35_splice_insert(NULL, 1, 1, 0, 0, 0) != 0);
    if (failures) { fprintf(stderr, "%d failure(s)\n", failures); return 1; }
    puts("scte35 ok");
    return 0;
}

/* Unit tests for amf0.c: builder -> JSON round trips, number and string
 * forms, every marker, lying lengths, depth limit, garbage. */
#include "ome_native.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

static int failures;
#define CHECK(cond) do { if (!(cond)) { failures++; fprintf(stderr, "%s:%d: CHECK(%s)\n", __FILE__, __LINE__, #cond); } } while (0)

/* Decodes and compares with the expected JSON text (NULL: expect rc). */
static void expect_json(const uint8_t *p, size_t n, int rc_expected, const char *json, int line)
{
    char *out = (char *)0x1;
    size_t len = 0;
    int rc = omn_amf0_to_json(p, n, &out, &len);
    if (rc != rc_expected) {
        failures++;
        fprintf(stderr, "line %d: rc %d, expected %d (%s)\n", line, rc, rc_expected, rc == 0 ? out : "");
    } else if (rc == 0 && (strlen(out) != len || strcmp(out, json) != 0)) {
        failures++;
        fprintf(stderr, "line %d: got      %s\n          expected %s\n", line, out, json);
    } else if (rc != 0 && out != NULL) {
        failures++;
        fprintf(stderr, "line %d: out not NULL on error\n", line);
    }
    omn_amf0_json_free(rc == 0 ? out : NULL);
}
#define EXPECT(p, n, json) expect_json((const uint8_t *)(p), (n), 0, (json), __LINE__)
#define EXPECT_RC(p, n, rc) expect_json((const uint8_t *)(p), (n), (rc), NULL, __LINE__)

#define S(w, lit) omn_amf0_put_string((w), (lit), sizeof(lit) - 1)
#define K(w, lit) omn_amf0_put_key((w), (lit), sizeof(lit) - 1)

static void test_connect_roundtrip(void)
{
    omn_amf0_writer w;
    omn_amf0_writer_init(&w);
    S(&w, "connect");
    omn_amf0_put_number(&w, 1);
    omn_amf0_put_object_begin(&w);
    K(&w, "app"); S(&w, "app");
    K(&w, "type"); S(&w, "nonprivate");
    K(&w, "flashVer"); S(&w, "FMLE/3.0 (compatible; Lavf59.27.100)");
    K(&w, "tcUrl"); S(&w, "rtmp://127.0.0.1:1935/app");
    K(&w, "fpad"); omn_amf0_put_bool(&w, 0);
    K(&w, "capabilities"); omn_amf0_put_number(&w, 15);
    K(&w, "audioCodecs"); omn_amf0_put_number(&w, 4071);
    K(&w, "videoFunction"); omn_amf0_put_number(&w, 1);
    K(&w, "pageUrl"); omn_amf0_put_undefined(&w);
    omn_amf0_put_object_end(&w);
    omn_amf0_put_null(&w);
    CHECK(w.error == 0);
    EXPECT(w.data, w.len,
           "[\"connect\",1,{\"app\":\"app\",\"type\":\"nonprivate\",\"flashVer\":\"FMLE/3.0 (compatible; Lavf59.27.100)\","
           "\"tcUrl\":\"rtmp://127.0.0.1:1935/app\",\"fpad\":false,\"capabilities\":15,\"audioCodecs\":4071,"
           "\"videoFunction\":1,\"pageUrl\":null},null]");

    /* _result of connect, exactly as on the wire */
    omn_amf0_writer_reset(&w);
    S(&w, "_result");
    omn_amf0_put_number(&w, 1);
    omn_amf0_put_object_begin(&w);
    K(&w, "fmsVer"); S(&w, "FMS/3,5,2,654");
    omn_amf0_put_object_end(&w);
    static const uint8_t wire[] = {
        0x02, 0, 7, '_', 'r', 'e', 's', 'u', 'l', 't',
        0x00, 0x3F, 0xF0, 0, 0, 0, 0, 0, 0,
        0x03, 0, 6, 'f', 'm', 's', 'V', 'e', 'r', 0x02, 0, 13, 'F', 'M', 'S', '/', '3', ',', '5', ',', '2', ',', '6', '5', '4',
        0, 0, 9 };
    CHECK(w.len == sizeof wire && memcmp(w.data, wire, sizeof wire) == 0);

    /* ECMA array + strict array */
    omn_amf0_writer_reset(&w);
    S(&w, "onMetaData");
    omn_amf0_put_ecma_array_begin(&w, 3);
    K(&w, "width"); omn_amf0_put_number(&w, 640);
    K(&w, "framerate"); omn_amf0_put_number(&w, 29.97);
    K(&w, "list"); omn_amf0_put_strict_array_begin(&w, 3);
    omn_amf0_put_number(&w, -1); omn_amf0_put_bool(&w, 1); S(&w, "x");
    omn_amf0_put_object_end(&w);
    EXPECT(w.data, w.len, "[\"onMetaData\",{\"width\":640,\"framerate\":29.97,\"list\":[-1,true,\"x\"]}]");

    /* long string switches form above 65535 bytes */
    omn_amf0_writer_reset(&w);
    char *big = malloc(70000);
    memset(big, 'a', 70000);
    omn_amf0_put_string(&w, big, 70000);
    CHECK(w.len == 70005 && w.data[0] == 0x0C);
    char *out = NULL;
    size_t olen = 0;
    CHECK(omn_amf0_to_json(w.data, w.len, &out, &olen) == 0 && olen == 70004 && out[1] == '"' && out[70002] == '"');
    omn_amf0_json_free(out);
    omn_amf0_writer_reset(&w);
    omn_amf0_put_string(&w, big, 65535);
    CHECK(w.len == 65538 && w.data[0] == 0x02);
    /* builder errors are sticky */
    omn_amf0_writer_reset(&w);
    CHECK(omn_amf0_put_key(&w, big, 65536) == OMN_AMF0_E_MALFORMED);
    CHECK(omn_amf0_put_null(&w) == OMN_AMF0_E_MALFORMED && w.len == 0);
    omn_amf0_writer_reset(&w);
    CHECK(omn_amf0_put_null(&w) == 0 && w.len == 1);
    free(big);
    omn_amf0_writer_free(&w);
    CHECK(w.data == NULL && w.len == 0);
}

static void num(double v, const char *json, int line)
{
    omn_amf0_writer w;
    omn_amf0_writer_init(&w);
    omn_amf0_put_number(&w, v);
    expect_json(w.data, w.len, 0, json, line);
    omn_amf0_writer_free(&w);
}

static void test_numbers(void)
{
    num(0, "[0]", __LINE__);
    num(-0.0, "[0]", __LINE__);
    num(1, "[1]", __LINE__);
    num(-3, "[-3]", __LINE__);
    num(1.5, "[1.5]", __LINE__);
    num(0.1, "[0.1]", __LINE__);
    num(29.97, "[29.97]", __LINE__);
    num(1.0 / 3, "[0.3333333333333333]", __LINE__);
    num(48000, "[48000]", __LINE__);
    num(9007199254740991.0, "[9007199254740991]", __LINE__);
    num(9007199254740992.0, "[9007199254740992]", __LINE__);
    num(1e20, "[1e+20]", __LINE__);
    num(1e300, "[1e+300]", __LINE__);
    num(-2.5e-300, "[-2.5e-300]", __LINE__);
    num(NAN, "[null]", __LINE__);
    num(INFINITY, "[null]", __LINE__);
    num(-INFINITY, "[null]", __LINE__);
}

static void test_strings(void)
{
    /* quotes, backslash, controls, valid UTF-8, invalid UTF-8 */
    static const uint8_t s1[] = { 0x02, 0, 9, 'a', '"', '\\', '\n', 0x01, 0x7F, '\t', '\r', 'z' };
    EXPECT(s1, sizeof s1, "[\"a\\\"\\\\\\n\\u0001\x7f\\t\\rz\"]");
    static const uint8_t s2[] = { 0x02, 0, 9, 0xC3, 0xA9, 0xE2, 0x82, 0xAC, 0xF0, 0x9F, 0x98, 0x80 };
    EXPECT(s2, sizeof s2, "[\"\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80\"]");
    static const uint8_t s3[] = { 0x02, 0, 8, 0xFF, 0xC3, 'a', 0xE0, 0x80, 0x80, 0xED, 0xA0 };
    EXPECT(s3, sizeof s3, "[\"\\ufffd\\ufffda\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\"]");
    static const uint8_t s4[] = { 0x02, 0, 4, 0xF4, 0x90, 0x80, 0x80 };       /* > U+10FFFF */
    EXPECT(s4, sizeof s4, "[\"\\ufffd\\ufffd\\ufffd\\ufffd\"]");
    static const uint8_t s5[] = { 0x02, 0, 0 };
    EXPECT(s5, sizeof s5, "[\"\"]");
    /* long string and XML document */
    static const uint8_t s6[] = { 0x0C, 0, 0, 0, 2, 'h', 'i', 0x0F, 0, 0, 0, 3, '<', 'a', '>' };
    EXPECT(s6, sizeof s6, "[\"hi\",\"<a>\"]");
    /* keys are escaped too */
    static const uint8_t s7[] = { 0x03, 0, 2, 'a', '"', 0x05, 0, 0, 9 };
    EXPECT(s7, sizeof s7, "[{\"a\\\"\":null}]");
}

static void test_markers(void)
{
    EXPECT("", 0, "[]");
    static const uint8_t m1[] = { 0x05, 0x06, 0x0D, 0x01, 0x00, 0x01, 0x07 };
    EXPECT(m1, sizeof m1, "[null,null,null,false,true]");
    /* date: 2020-01-01T00:00:00Z = 1577836800000 ms, tz 0 */
    static const uint8_t d[] = { 0x0B, 0x42, 0x76, 0xF5, 0xE6, 0x6E, 0x80, 0x00, 0x00, 0, 0 };
    EXPECT(d, sizeof d, "[1577836800000]");
    /* typed object: class name dropped */
    static const uint8_t t[] = { 0x10, 0, 3, 'F', 'o', 'o', 0, 1, 'x', 0x01, 1, 0, 0, 9 };
    EXPECT(t, sizeof t, "[{\"x\":true}]");
    /* ECMA array: count is advisory; the end marker may be missing at EOF */
    static const uint8_t e1[] = { 0x08, 0, 0, 0, 99, 0, 1, 'a', 0x05, 0, 0, 9 };
    EXPECT(e1, sizeof e1, "[{\"a\":null}]");
    static const uint8_t e2[] = { 0x08, 0, 0, 0, 1, 0, 1, 'a', 0x05 };
    EXPECT(e2, sizeof e2, "[{\"a\":null}]");
    static const uint8_t e3[] = { 0x08, 0, 0, 0, 0 };
    EXPECT(e3, sizeof e3, "[{}]");
    /* an empty key that is not the end marker */
    static const uint8_t o1[] = { 0x03, 0, 0, 0x05, 0, 0, 9 };
    EXPECT(o1, sizeof o1, "[{\"\":null}]");
    /* nested */
    static const uint8_t n1[] = { 0x03, 0, 1, 'o', 0x03, 0, 1, 'a', 0x0A, 0, 0, 0, 2, 0x05, 0x03, 0, 0, 9, 0, 0, 9, 0, 0, 9 };
    EXPECT(n1, sizeof n1, "[{\"o\":{\"a\":[null,{}]}}]");
}

static void test_errors(void)
{
    static const uint8_t lie1[] = { 0x02, 0, 10, 'a', 'b' };                 /* string longer than data */
    EXPECT_RC(lie1, sizeof lie1, OMN_AMF0_E_MALFORMED);
    static const uint8_t lie2[] = { 0x0C, 0xFF, 0xFF, 0xFF, 0xFF, 'a' };     /* long string */
    EXPECT_RC(lie2, sizeof lie2, OMN_AMF0_E_MALFORMED);
    static const uint8_t lie3[] = { 0x0A, 0xFF, 0xFF, 0xFF, 0xFF, 0x05 };    /* strict array count */
    EXPECT_RC(lie3, sizeof lie3, OMN_AMF0_E_MALFORMED);
    static const uint8_t lie4[] = { 0x0A, 0, 0, 0, 3, 0x05, 0x05 };
    EXPECT_RC(lie4, sizeof lie4, OMN_AMF0_E_MALFORMED);
    static const uint8_t lie5[] = { 0x03, 0, 9, 'a' };                        /* key longer than data */
    EXPECT_RC(lie5, sizeof lie5, OMN_AMF0_E_MALFORMED);
    static const uint8_t trunc1[] = { 0x00, 0x3F, 0xF0 };
    EXPECT_RC(trunc1, sizeof trunc1, OMN_AMF0_E_MALFORMED);
    static const uint8_t trunc2[] = { 0x01 };
    EXPECT_RC(trunc2, sizeof trunc2, OMN_AMF0_E_MALFORMED);
    static const uint8_t trunc3[] = { 0x0B, 0, 0, 0, 0, 0, 0, 0, 0, 0 };
    EXPECT_RC(trunc3, sizeof trunc3, OMN_AMF0_E_MALFORMED);
    static const uint8_t noend[] = { 0x03, 0, 1, 'a', 0x05 };                 /* object needs its end */
    EXPECT_RC(noend, sizeof noend, OMN_AMF0_E_MALFORMED);
    static const uint8_t end_alone[] = { 0x09 };
    EXPECT_RC(end_alone, sizeof end_alone, OMN_AMF0_E_MALFORMED);
    static const uint8_t ref[] = { 0x07, 0, 1 };
    EXPECT_RC(ref, sizeof ref, OMN_AMF0_E_UNSUPPORTED);
    static const uint8_t amf3[] = { 0x11, 0x01 };
    EXPECT_RC(amf3, sizeof amf3, OMN_AMF0_E_UNSUPPORTED);
    static const uint8_t mc[] = { 0x04 };
    EXPECT_RC(mc, sizeof mc, OMN_AMF0_E_UNSUPPORTED);
    static const uint8_t bad[] = { 0x42 };
    EXPECT_RC(bad, sizeof bad, OMN_AMF0_E_UNSUPPORTED);

    /* depth: 32 levels are fine, 33 are not (objects and arrays alike) */
    uint8_t deep[400];
    for (int levels = 31; levels <= 34; levels++) {
        size_t n = 0;
        for (int i = 0; i < levels; i++) deep[n++] = 0x0A, deep[n++] = 0, deep[n++] = 0, deep[n++] = 0, deep[n++] = 1;
        deep[n++] = 0x05;
        char *out = NULL;
        int rc = omn_amf0_to_json(deep, n, &out, NULL);
        CHECK(levels < 32 ? rc == 0 : rc == OMN_AMF0_E_DEPTH);
        omn_amf0_json_free(out);
    }
    uint8_t deepobj[400];
    size_t n = 0;
    for (int i = 0; i < 40; i++) { deepobj[n++] = 0x03; deepobj[n++] = 0; deepobj[n++] = 1; deepobj[n++] = 'k'; }
    deepobj[n++] = 0x05;
    EXPECT_RC(deepobj, n, OMN_AMF0_E_DEPTH);
}

/* Garbage never crashes; a success is a NUL-terminated text of the length
 * reported, starting with '[' and ending with ']'. */
static void test_garbage(void)
{
    uint32_t x = 7;
    uint8_t buf[512];
    int ok = 0;
    for (int round = 0; round < 20000; round++) {
        size_t n = (size_t)(round % 512);
        for (size_t i = 0; i < n; i++) {
            x = x * 1664525u + 1013904223u;
            uint8_t v = (uint8_t)(x >> 24);
            /* bias towards valid markers and small lengths */
            buf[i] = (x & 0x100) ? (uint8_t)(v % 0x12) : (x & 0x200) ? 0 : v;
        }
        char *out = NULL;
        size_t len = 0;
        int rc = omn_amf0_to_json(buf, n, &out, &len);
        if (rc == 0) {
            ok++;
            CHECK(out && strlen(out) == len && out[0] == '[' && out[len - 1] == ']');
        } else {
            CHECK(out == NULL && rc < 0 && rc >= OMN_AMF0_E_TOO_LARGE);
        }
        omn_amf0_json_free(out);
    }
    CHECK(ok > 0);
}

int main(void)
{
    test_connect_roundtrip();
    test_numbers();
    test_strings();
    test_markers();
    test_errors();
    test_garbage();
    if (failures) { fprintf(stderr, "%d failure(s)\n", failures); return 1; }
    puts("ok");
    return 0;
}

/* Unit tests for b64.c and jsonfmt.c. */
#include "ome_native.h"

#include <stdio.h>
#include <string.h>

static int failures;
#define CHECK(cond) do { if (!(cond)) { failures++; fprintf(stderr, "%s:%d: CHECK(%s)\n", __FILE__, __LINE__, #cond); } } while (0)

static void test_decode(void)
{
    uint8_t out[64];
    size_t n = 0;
    CHECK(omn_base64_decode("b21lLWFjY2Vzcy10b2tlbg==", 24, out, sizeof out, &n) == 0);
    CHECK(n == 16 && memcmp(out, "ome-access-token", 16) == 0);
    CHECK(omn_base64_decode("b21lLWFjY2Vzcy10b2tlbg", 22, out, sizeof out, &n) == 0 && n == 16);
    CHECK(omn_base64_decode("", 0, out, sizeof out, &n) == 0 && n == 0);
    CHECK(omn_base64_decode("a", 1, out, sizeof out, &n) == -1);
    CHECK(omn_base64_decode("ab=c", 4, out, sizeof out, &n) == -1);
    CHECK(omn_base64_decode("a$==", 4, out, sizeof out, &n) == -1);
    CHECK(omn_base64_decode("YQ===", 5, out, sizeof out, &n) == -1);
    CHECK(omn_base64_decode("YWJj", 4, out, 2, &n) == -2);
}

static void test_auth(void)
{
    const uint8_t *tok = (const uint8_t *)"ome-access-token";
    CHECK(omn_basic_auth_check("b21lLWFjY2Vzcy10b2tlbg==", 24, tok, 16) == OMN_AUTH_OK);
    CHECK(omn_basic_auth_check("b21lLWFjY2Vzcy10b2tlbA==", 24, tok, 16) == OMN_AUTH_MISMATCH);
    CHECK(omn_basic_auth_check("!!!!", 4, tok, 16) == OMN_AUTH_BAD_FORMAT);
    char big[4000];
    memset(big, 'A', sizeof big);
    CHECK(omn_basic_auth_check(big, sizeof big, tok, 16) == OMN_AUTH_MISMATCH);
    big[100] = '*';
    CHECK(omn_basic_auth_check(big, sizeof big, tok, 16) == OMN_AUTH_BAD_FORMAT);
    CHECK(omn_ct_equal((const uint8_t *)"ab", 2, (const uint8_t *)"abc", 3) == 0);
}

static void test_float(void)
{
    char buf[32];
    CHECK(omn_format_double(1.0, buf, sizeof buf) == 3 && strcmp(buf, "1.0") == 0);
    omn_format_double(29.969999313354492, buf, sizeof buf);
    CHECK(strcmp(buf, "29.969999313354492") == 0);
    omn_format_double(0.1, buf, sizeof buf);
    CHECK(strcmp(buf, "0.10000000000000001") == 0);
    omn_format_double(1e300, buf, sizeof buf);
    CHECK(strcmp(buf, "1.0000000000000001e+300") == 0);
    CHECK(omn_format_double(1.0, buf, 3) == -1);
}

int main(void)
{
    test_decode();
    test_auth();
    test_float();
    if (failures) { fprintf(stderr, "%d failure(s)\n", failures); return 1; }
    puts("ok");
    return 0;
}

/* Unit tests for lib/quantity: upstream's documented examples and test tables
 * (apimachinery resource/quantity_test.go), edge and error cases. */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "lib/cleanup.h"
#include "lib/quantity.h"
#include "test/runner/kt.h"

#define DSI KN_QUANTITY_DECIMAL_SI
#define BSI KN_QUANTITY_BINARY_SI
#define DEX KN_QUANTITY_DECIMAL_EXPONENT

static kn_quantity must_parse(const char *s)
{
    kn_quantity q;
    kn_error *err = NULL;
    if (kn_quantity_parse(s, &q, &err) < 0)
        KT_FAIL("parse \"%s\": %s", s, kn_error_msg(err));
    return q;
}

static const char *canon(const kn_quantity *q, char *buf)
{
    return kn_quantity_format(q, buf, KN_QUANTITY_STRLEN);
}

typedef struct parse_case {
    const char *in;
    const char *canonical;
    kn_quantity_fmt format;
} parse_case;

static void check_parse_table(const parse_case *t, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char buf[KN_QUANTITY_STRLEN];
        kn_quantity q = must_parse(t[i].in);
        KT_ASSERT_MSG(strcmp(canon(&q, buf), t[i].canonical) == 0, "%s: canonical %s, want %s",
                      t[i].in, buf, t[i].canonical);
        KT_ASSERT_MSG(q.format == t[i].format, "%s: format %s, want %s", t[i].in,
                      kn_quantity_format_name(q.format), kn_quantity_format_name(t[i].format));
        /* the canonical form parses back to the same value */
        kn_quantity back = must_parse(buf);
        KT_ASSERT_MSG(kn_quantity_cmp(&q, &back) == 0, "%s: %s does not round-trip", t[i].in, buf);
    }
}

KT_TEST(quantity, parse_upstream_table)
{
    static const parse_case t[] = {
        {"0", "0", DSI},
        {"0n", "0", DSI},
        {"0u", "0", DSI},
        {"0m", "0", DSI},
        {"0Ki", "0", BSI},
        {"0k", "0", DSI},
        {"0Mi", "0", BSI},
        {"0Ti", "0", BSI},
        {"1", "1", DSI},
        {"1Ki", "1Ki", BSI},
        {"8Ki", "8Ki", BSI},
        {"7Mi", "7Mi", BSI},
        {"6Gi", "6Gi", BSI},
        {"5Ti", "5Ti", BSI},
        {"4Pi", "4Pi", BSI},
        {"3Ei", "3Ei", BSI},
        {"10Ti", "10Ti", BSI},
        {"100Ti", "100Ti", BSI},
        {"5n", "5n", DSI},
        {"4u", "4u", DSI},
        {"3m", "3m", DSI},
        {"9", "9", DSI},
        {"8k", "8k", DSI},
        {"50k", "50k", DSI},
        {"7M", "7M", DSI},
        {"6G", "6G", DSI},
        {"5T", "5T", DSI},
        {"40T", "40T", DSI},
        {"300T", "300T", DSI},
        {"2P", "2P", DSI},
        {"1E", "1E", DSI},
        {"1E-3", "1e-3", DEX},
        {"1e3", "1e3", DEX},
        {"1E6", "1e6", DEX},
        {"1e9", "1e9", DEX},
        {"1E12", "1e12", DEX},
        {"1e15", "1e15", DEX},
        {"1E18", "1e18", DEX},
        {"1e14", "100e12", DEX},
        {"1e13", "10e12", DEX},
        {"100.035k", "100035", DSI},
        {"0.001", "1m", DSI},
        {"0.0005k", "500m", DSI},
        {"0.005", "5m", DSI},
        {"0.05", "50m", DSI},
        {"0.5", "500m", DSI},
        {"0.00050k", "500m", DSI},
        {"0.00500", "5m", DSI},
        {"0.50000", "500m", DSI},
        {"0.5e0", "500e-3", DEX},
        {"0.5e-1", "50e-3", DEX},
        {"0.5e-2", "5e-3", DEX},
        {"10.035M", "10035k", DSI},
        {"1.2e3", "1200", DEX},
        {"1.3E+6", "1300e3", DEX},
        {"1.40e9", "1400e6", DEX},
        {"1.53E12", "1530e9", DEX},
        {"1.6e15", "1600e12", DEX},
        {"1.7E18", "1700e15", DEX},
        {"9.01", "9010m", DSI},
        {"8.1k", "8100", DSI},
        {"7.123456M", "7123456", DSI},
        {"6.987654321G", "6987654321", DSI},
        {"5.444T", "5444G", DSI},
        {"40.1T", "40100G", DSI},
        {"300.2T", "300200G", DSI},
        {"2.5P", "2500T", DSI},
        {"1.01E", "1010P", DSI},
        /* things that saturate or round */
        {"3.001n", "4n", DSI},
        {"1.1E-9", "2e-9", DEX},
        {"0.0000000001", "1n", DSI},
        {"0.0000000005", "1n", DSI},
        {"0.00000000050", "1n", DSI},
        {"0.5e-9", "1e-9", DEX},
        {"0.9n", "1n", DSI},
        {"0.00000012345", "124n", DSI},
        {"0.00000012354", "124n", DSI},
        {"9Ei", "9223372036854775807", BSI},
        {"9223372036854775807Ki", "9223372036854775807", BSI},
        {"12E", "12E", DSI},
        /* fractional binary */
        {"100.035Ki", "102435840m", BSI},
        {"0.5Mi", "512Ki", BSI},
        {"0.05Gi", "53687091200m", BSI},
        {"0.025Ti", "27487790694400m", BSI},
        /* things written by trolls */
        {"0.000000000001Ki", "2n", DSI},
        {".001", "1m", DSI},
        {".0001k", "100m", DSI},
        {"1.", "1", DSI},
        {"1.G", "1G", DSI},
    };
    check_parse_table(t, KN_ARRAY_SIZE(t));
}

KT_TEST(quantity, parse_canonical_examples)
{
    static const parse_case t[] = {
        /* the examples of Quantity's documentation and of the task */
        {"1.5", "1500m", DSI},
        {"1.5Gi", "1536Mi", BSI},
        {"1000m", "1", DSI},
        {"0.1", "100m", DSI},
        {"1024Ki", "1Mi", BSI},
        {"100m", "100m", DSI},
        {"128974848", "128974848", DSI},
        {"129e6", "129e6", DEX},
        {"129M", "129M", DSI},
        {"123Mi", "123Mi", BSI},
        {"1024Mi", "1Gi", BSI},
        {"1000M", "1G", DSI},
        {"1000000000", "1G", DSI},
        {"1080m", "1080m", DSI},
        {"1.08", "1080m", DSI},
        {"1000u", "1m", DSI},
        {"0.001T", "1G", DSI},
        /* TestQuantityParseEmit */
        {".001Ki", "1024m", BSI},
        {".000001Ki", "1024u", DSI},
        {".000000001Ki", "1024n", DSI},
        {".000000000001Ki", "2n", DSI},
        {"-1Ki", "-1Ki", BSI},
        {"-.001Ki", "-1024m", BSI},
        {"-.000000000001Ki", "-2n", DSI},
        {"-1.5Gi", "-1536Mi", BSI},
        {"+1.5Gi", "1536Mi", BSI},
        /* decimalSI has no suffix beyond E: exponent notation instead */
        {"1000E", "1e21", DSI},
        {"5000E", "5e21", DSI},
        {"1000000E", "1e24", DSI},
        {"1000000000000000000000000000000", "1e30", DSI},
        /* binarySI below 1024, or with a fraction, prints as decimalSI */
        {"0.5Ki", "512", BSI},
        {"1.5Ki", "1536", BSI},
        {"1.0009765625Ki", "1025", BSI},
        {"1023.5Ki", "1048064", BSI},
        {"8191Ei", "9223372036854775807", BSI},
        {"-9Ei", "-9223372036854775807", BSI},
        {"7Ei", "7Ei", BSI},
        {"7.5Ei", "7680Pi", BSI},
        /* sub-nano magnitudes, extreme exponents */
        {"1e-100", "1e-9", DEX},
        {"1e-2147483647", "1e-9", DEX},
        {"-1e-2147483647", "-1e-9", DEX},
        {"9e-10", "1e-9", DEX},
        {"15e-10", "2e-9", DEX},
        {"1000000000000000000000e-30", "1e-9", DEX},
        {"1000000000000000000001e-30", "2e-9", DEX},
        {"999999999999999999999e-30", "1e-9", DEX},
        {"0.9999999999", "1", DSI},
        {"99999999999999999999.9999999999", "100E", DSI},
        {"12345678901234567899.9999999999", "12345678901234567900", DSI},
        {"0e-2147483647", "0", DEX},
        {"0.0e-100", "0", DEX},
        {"0.00000000000000000000001Ki", "1n", DSI},
        {"0.0000000000001", "1n", DSI},
        {"-0.0000000000001", "-1n", DSI},
        {"1e2147483647", "10e2147483646", DEX},
        /* int64 edges */
        {"9223372036854775807", "9223372036854775807", DSI},
        {"-9223372036854775808", "-9223372036854775808", DSI},
        {"922337203685477580.7", "922337203685477580700m", DSI},
        {"-0", "0", DSI},
        {"000001", "1", DSI},
        {"1e+03", "1e3", DEX},
        {"1E-03", "1e-3", DEX},
    };
    check_parse_table(t, KN_ARRAY_SIZE(t));
}

KT_TEST(quantity, parse_digitless_like_upstream)
{
    /* upstream's scanner takes a missing number as 0 wherever its int64
     * fast path applies; its inf.Dec path rejects it */
    static const parse_case ok[] = {
        {"Mi", "0", BSI}, {"Ki", "0", BSI}, {"Ti", "0", BSI}, {"k", "0", DSI},
        {"m", "0", DSI},  {"E", "0", DSI},  {".", "0", DSI},  {"-.", "0", DSI},
        {"-", "0", DSI},  {"+", "0", DSI},  {"e3", "0", DEX}, {"e-9", "0", DEX},
    };
    check_parse_table(ok, KN_ARRAY_SIZE(ok));
    static const char *const bad[] = {"Pi", "Ei", "-Ei", ".Ei", "e-10", ".e-10", "-.Pi"};
    for (size_t i = 0; i < KN_ARRAY_SIZE(bad); i++) {
        kn_quantity q;
        cleanup_error kn_error *err = NULL;
        KT_ASSERT_MSG(kn_quantity_parse(bad[i], &q, &err) == -KN_EINVAL, "%s parsed", bad[i]);
        KT_ASSERT_CONTAINS(kn_error_msg(err), "unable to parse numeric part of quantity");
    }
}

typedef struct bad_case {
    const char *in;
    kn_errcode code;
    const char *msg;
} bad_case;

KT_TEST(quantity, parse_errors)
{
    static const bad_case t[] = {
        {"", KN_EINVAL, "quantities must match the regular expression"},
        {"1.5.5", KN_EINVAL, "quantities must match the regular expression"},
        {"1 Mi", KN_EINVAL, "quantities must match"},
        {" 1", KN_EINVAL, "quantities must match"},
        {"1 ", KN_EINVAL, "quantities must match"},
        {"1KB", KN_EINVAL, "quantities must match"},
        {"1ki", KN_EINVAL, "unable to parse quantity's suffix"},
        {"1.1.M", KN_EINVAL, "quantities must match"},
        {"1+1.0M", KN_EINVAL, "quantities must match"},
        {"0.1mi", KN_EINVAL, "suffix"},
        {"0.1am", KN_EINVAL, "quantities must match"},
        {"aoeu", KN_EINVAL, "quantities must match"},
        {".5i", KN_EINVAL, "suffix"},
        {"1i", KN_EINVAL, "suffix"},
        {"-3.01i", KN_EINVAL, "suffix"},
        {"-3.01e-", KN_EINVAL, "suffix"},
        {"1e", KN_EINVAL, "suffix"},
        {"1e3e3", KN_EINVAL, "quantities must match"},
        {"1Ki3", KN_EINVAL, "suffix"},
        {"1k-3", KN_EINVAL, "suffix"},
        {"1Ee3", KN_EINVAL, "suffix"},
        {"Non-Numeric", KN_EINVAL, "quantities must match"},
        {"--1", KN_EINVAL, "suffix"},
        {"1e99999999999999999999", KN_EINVAL, "suffix"},
        {"0x10", KN_EINVAL, "quantities must match"},
        {"1\n", KN_EINVAL, "quantities must match"},
        /* knode's bound: where upstream switches to arbitrary precision */
        {"9223372036854775808", KN_ERANGE, "out of range"},
        {"-9223372036854775809", KN_ERANGE, "out of range"},
        {"18446744073709551616", KN_ERANGE, "out of range"},
        {"123456789012345678901", KN_ERANGE, "out of range"},
        {"1.0000000001Ei", KN_ERANGE, "out of range"},
        {"10e2147483647", KN_ERANGE, "out of range"},
        {"1e2147483648", KN_ERANGE, "out of range"},
        {"1e-2147483649", KN_ERANGE, "out of range"},
    };
    for (size_t i = 0; i < KN_ARRAY_SIZE(t); i++) {
        kn_quantity q = {.mantissa = 42};
        cleanup_error kn_error *err = NULL;
        int rc = kn_quantity_parse(t[i].in, &q, &err);
        KT_ASSERT_MSG(rc == -(int)t[i].code, "\"%s\": rc %d, want %d", t[i].in, rc,
                      -(int)t[i].code);
        KT_ASSERT_CONTAINS(kn_error_msg(err), t[i].msg);
        KT_ASSERT_EQ(q.mantissa, 42); /* untouched on error */
        if (*t[i].in && t[i].in[1] != '\n')
            KT_ASSERT_CONTAINS(kn_error_msg(err), t[i].in); /* names the input */
    }
    KT_ASSERT_FAILS(kn_quantity_parse(NULL, &(kn_quantity){0}, NULL));
}

typedef struct value_case {
    const char *in;
    int64_t value, milli;
} value_case;

KT_TEST(quantity, value_and_milli_value)
{
    static const value_case t[] = {
        {"0", 0, 0},
        {"1", 1, 1000},
        {"100m", 1, 100},
        {"1.5", 2, 1500},
        {"-1.5", -2, -1500},
        {"1n", 1, 1},
        {"-1n", -1, -1},
        {"999999n", 1, 1},
        {"1000001n", 1, 2},
        {"250m", 1, 250},
        {"2", 2, 2000},
        {"1Ki", 1024, 1024000},
        {"128Mi", 134217728, 134217728000},
        {"1.5Gi", 1610612736, 1610612736000},
        {"0.5Ki", 512, 512000},
        {"1e3", 1000, 1000000},
        {"1e-3", 1, 1},
        {"12E-1", 2, 1200},
        {"9223372036854775807", INT64_MAX, INT64_MAX},
        {"-9223372036854775808", INT64_MIN, INT64_MIN},
        {"9223372036854775.807", 9223372036854776, INT64_MAX},
        {"10E", INT64_MAX, INT64_MAX},
        {"-10E", INT64_MIN, INT64_MIN},
        {"1e100", INT64_MAX, INT64_MAX},
        {"1e-100", 1, 1},
    };
    for (size_t i = 0; i < KN_ARRAY_SIZE(t); i++) {
        kn_quantity q = must_parse(t[i].in);
        KT_ASSERT_MSG(kn_quantity_value(&q) == t[i].value, "%s: value %" PRId64 ", want %" PRId64,
                      t[i].in, kn_quantity_value(&q), t[i].value);
        KT_ASSERT_MSG(kn_quantity_milli_value(&q) == t[i].milli,
                      "%s: milli %" PRId64 ", want %" PRId64, t[i].in, kn_quantity_milli_value(&q),
                      t[i].milli);
    }
}

KT_TEST(quantity, scaled_value_and_overflow)
{
    int64_t v;
    cleanup_error kn_error *err = NULL;
    kn_quantity one = must_parse("1"), nano = must_parse("1n"), big = must_parse("10E");
    KT_ASSERT_OK(kn_quantity_scaled_value(&one, -9, &v, &err), err);
    KT_ASSERT_EQ(v, 1000000000);
    KT_ASSERT_OK(kn_quantity_scaled_value(&nano, -9, &v, &err), err);
    KT_ASSERT_EQ(v, 1);
    KT_ASSERT_OK(kn_quantity_scaled_value(&one, 3, &v, &err), err); /* ceil(0.001) */
    KT_ASSERT_EQ(v, 1);
    kn_quantity hundred = kn_quantity_from_int(100, DSI);
    KT_ASSERT_OK(kn_quantity_scaled_value(&hundred, -2, &v, &err), err);
    KT_ASSERT_EQ(v, 10000);
    KT_ASSERT_OK(kn_quantity_scaled_value(&nano, 30, &v, &err), err);
    KT_ASSERT_EQ(v, 1);
    KT_ASSERT_EQ(kn_quantity_scaled_value(&big, 0, &v, &err), -KN_ERANGE);
    KT_ASSERT_EQ(v, INT64_MAX);
    KT_ASSERT_EQ(kn_error_code(err), KN_ERANGE);
    kn_error_free(&err);
    KT_ASSERT_OK(kn_quantity_scaled_value(&big, 1, &v, &err), err);
    KT_ASSERT_EQ(v, 1000000000000000000);
    kn_quantity min = must_parse("-9223372036854775808");
    KT_ASSERT_OK(kn_quantity_scaled_value(&min, 0, &v, &err), err);
    KT_ASSERT_EQ(v, INT64_MIN);
    KT_ASSERT_EQ(kn_quantity_scaled_value(&min, -1, &v, NULL), -KN_ERANGE);
    KT_ASSERT_EQ(v, INT64_MIN);
}

typedef struct cmp_case {
    const char *a, *b;
    int want;
} cmp_case;

KT_TEST(quantity, compare)
{
    static const cmp_case t[] = {
        {"0", "0", 0},
        {"100m", "50m", 1},
        {"50m", "100m", -1},
        {"10000T", "100Gi", 1},
        {"1Ki", "1024", 0},
        {"1k", "1000000m", 0},
        {"1e3", "1k", 0},
        {"1.5Gi", "1536Mi", 0},
        {"901e-2", "9.01", 0},
        {"90e-1", "9.01", -1},
        {"800m", "1", -1},
        {"800m", "79e-2", 1},
        {"9223372036854775807", "100m", 1},
        {"-9223372036854775808", "0", -1},
        {"-9223372036854775808", "-9223372036854775807", -1},
        {"1e100", "9223372036854775807", 1},
        {"-1e100", "1n", -1},
        {"-1e100", "-1e99", -1},
        {"1e30", "1000000000000000000000000000000", 0},
        {"0", "-0", 0},
        {"0Ki", "0e5", 0},
        {"-1n", "0", -1},
        {"1n", "0", 1},
        {"1000000000000000000e-17", "10", 0},
        {"1000000000000000001e-17", "10", 1},
        {"999999999999999999e-17", "10", 0}, /* rounds up to 10 at nano */
        {"-1000000000000000000e-17", "-10", 0},
    };
    for (size_t i = 0; i < KN_ARRAY_SIZE(t); i++) {
        kn_quantity a = must_parse(t[i].a), b = must_parse(t[i].b);
        KT_ASSERT_MSG(kn_quantity_cmp(&a, &b) == t[i].want, "cmp(%s, %s) = %d, want %d", t[i].a,
                      t[i].b, kn_quantity_cmp(&a, &b), t[i].want);
        KT_ASSERT_MSG(kn_quantity_cmp(&b, &a) == -t[i].want, "cmp(%s, %s) not antisymmetric",
                      t[i].b, t[i].a);
    }
    kn_quantity q = must_parse("1Ki");
    KT_ASSERT_EQ(kn_quantity_cmp_int64(&q, 1024), 0);
    KT_ASSERT_EQ(kn_quantity_cmp_int64(&q, 1025), -1);
    q = must_parse("1023.5");
    KT_ASSERT_EQ(kn_quantity_cmp_int64(&q, 1023), 1);
    q = must_parse("-9223372036854775808");
    KT_ASSERT_EQ(kn_quantity_cmp_int64(&q, INT64_MIN), 0);
    q = must_parse("1e100");
    KT_ASSERT_EQ(kn_quantity_cmp_int64(&q, INT64_MAX), 1);
    KT_ASSERT_EQ(kn_quantity_sign(&q), 1);
    q = must_parse("-1n");
    KT_ASSERT_EQ(kn_quantity_sign(&q), -1);
    KT_ASSERT(!kn_quantity_is_zero(&q));
    q = must_parse("0.0Mi");
    KT_ASSERT_EQ(kn_quantity_sign(&q), 0);
    KT_ASSERT(kn_quantity_is_zero(&q));
}

static void check_sum(const char *a, const char *b, bool sub, const char *want,
                      kn_quantity_fmt want_fmt)
{
    char buf[KN_QUANTITY_STRLEN];
    cleanup_error kn_error *err = NULL;
    kn_quantity q = must_parse(a), y = must_parse(b);
    int rc = sub ? kn_quantity_sub(&q, &y, &err) : kn_quantity_add(&q, &y, &err);
    KT_ASSERT_MSG(rc == 0, "%s %c %s: %s", a, sub ? '-' : '+', b, kn_error_msg(err));
    KT_ASSERT_MSG(strcmp(canon(&q, buf), want) == 0, "%s %c %s = %s, want %s", a, sub ? '-' : '+',
                  b, buf, want);
    KT_ASSERT_EQ(q.format, want_fmt);
    KT_ASSERT(!q.keep_input);
}

KT_TEST(quantity, add_sub)
{
    check_sum("10", "1e1", false, "20", DSI);
    check_sum("10", "1Ki", false, "1034", DSI);
    check_sum("10Ki", "1", false, "10241", BSI);
    check_sum("0", "50", false, "50", DSI);
    check_sum("50", "0", false, "50", DSI);
    check_sum("0", "0", false, "0", DSI);
    check_sum("10", "1e1", true, "0", DSI);
    check_sum("10", "1", true, "9", DSI);
    check_sum("0", "50", true, "-50", DSI);
    /* a zero receiver takes the other's format, preserving its suffix */
    check_sum("100m", "0", false, "100m", DSI);
    check_sum("0", "100m", false, "100m", DSI);
    check_sum("1Gi", "0", false, "1Gi", BSI);
    check_sum("0", "1Gi", false, "1Gi", BSI);
    check_sum("1Gi", "0", true, "1Gi", BSI);
    check_sum("0", "1Gi", true, "-1Gi", BSI);
    check_sum("0Ki", "1e3", false, "1e3", DEX);
    check_sum("1Gi", "512Mi", false, "1536Mi", BSI);
    check_sum("1Ki", "0.5", false, "1024500m", BSI);
    check_sum("1.5", "1.5", false, "3", DSI);
    check_sum("100m", "900m", false, "1", DSI);
    check_sum("1n", "1e3", false, "1000000000001n", DSI);
    check_sum("5E", "5E", false, "10E", DSI);
    check_sum("1e30", "1e30", false, "2e30", DEX);
    check_sum("1e30", "-1e30", false, "0", DEX);
    check_sum("-9223372036854775807", "1", true, "-9223372036854775808", DSI);
    check_sum("9223372036854775807", "9223372036854775807", true, "0", DSI);
    check_sum("1e18", "1", true, "999999999999999999", DEX);
}

KT_TEST(quantity, arithmetic_overflow_is_an_error)
{
    static const char *const t[][2] = {
        {"9223372036854775807", "1"},
        {"-9223372036854775808", "-1"},
        {"1e30", "1"},
        {"1e19", "1"},
        {"1n", "1e10"},
        {"1e2147483647", "9e2147483647"},
    };
    for (size_t i = 0; i < KN_ARRAY_SIZE(t); i++) {
        char buf[KN_QUANTITY_STRLEN], before[KN_QUANTITY_STRLEN];
        cleanup_error kn_error *err = NULL;
        kn_quantity q = must_parse(t[i][0]), y = must_parse(t[i][1]);
        canon(&q, before);
        KT_ASSERT_MSG(kn_quantity_add(&q, &y, &err) == -KN_ERANGE, "%s + %s did not overflow",
                      t[i][0], t[i][1]);
        KT_ASSERT_STREQ(canon(&q, buf), before);
    }
    kn_quantity min = must_parse("-9223372036854775808"), zero = {0};
    KT_ASSERT_EQ(kn_quantity_sub(&zero, &min, NULL), -KN_ERANGE);
    KT_ASSERT(kn_quantity_is_zero(&zero));
    KT_ASSERT_EQ(kn_quantity_neg(&min, NULL), -KN_ERANGE);
    kn_quantity q = must_parse("9.01");
    KT_ASSERT_OK(kn_quantity_neg(&q, NULL), NULL);
    char buf[KN_QUANTITY_STRLEN];
    KT_ASSERT_STREQ(canon(&q, buf), "-9010m");
}

typedef struct fmt_case {
    int64_t mantissa;
    int32_t scale;
    kn_quantity_fmt format;
    const char *want;
} fmt_case;

KT_TEST(quantity, format_computed_values)
{
    /* upstream TestQuantityString, with hand-built (non-normalized) values */
    static const fmt_case t[] = {
        {1024 * 1024 * 1024, 0, BSI, "1Gi"},
        {300 * 1024 * 1024, 0, BSI, "300Mi"},
        {6 * 1024, 0, BSI, "6Ki"},
        {1001LL * 1024 * 1024 * 1024, 0, BSI, "1001Gi"},
        {1024LL * 1024 * 1024 * 1024, 0, BSI, "1Ti"},
        {5, 0, BSI, "5"},
        {500, -3, BSI, "500m"},
        {1, 9, DSI, "1G"},
        {1000, 6, DSI, "1G"},
        {1000000, 3, DSI, "1G"},
        {1000000000, 0, DSI, "1G"},
        {1, -3, DSI, "1m"},
        {80, -3, DSI, "80m"},
        {1080, -3, DSI, "1080m"},
        {108, -2, DSI, "1080m"},
        {10800, -4, DSI, "1080m"},
        {300, 6, DSI, "300M"},
        {1, 12, DSI, "1T"},
        {1, 18, DSI, "1E"},
        {1, 21, DSI, "1e21"},
        {5, 21, DSI, "5e21"},
        {1, 24, DSI, "1e24"},
        {1234567, 6, DSI, "1234567M"},
        {1234567, -3, BSI, "1234567m"},
        {3, 3, DSI, "3k"},
        {1025, 0, BSI, "1025"},
        {0, 0, DSI, "0"},
        {0, 0, BSI, "0"},
        {1, 9, DEX, "1e9"},
        {1, -3, DEX, "1e-3"},
        {1, -9, DEX, "1e-9"},
        {80, -3, DEX, "80e-3"},
        {300, 6, DEX, "300e6"},
        {1, 12, DEX, "1e12"},
        {1, 3, DEX, "1e3"},
        {3, 3, DEX, "3e3"},
        {0, 0, DEX, "0"},
        {1, -9, DSI, "1n"},
        {80, -9, DSI, "80n"},
        {1080, -9, DSI, "1080n"},
        {108, -8, DSI, "1080n"},
        {1, -6, DSI, "1u"},
        {80, -6, DSI, "80u"},
        {1080, -6, DSI, "1080u"},
        {-1024, 0, BSI, "-1Ki"},
        {-1023, 0, BSI, "-1023"},
        {INT64_MIN, 0, BSI, "-8Ei"},
        {INT64_MIN, 0, DSI, "-9223372036854775808"},
        {1, 19, BSI, "9765625000000000Ki"},
        {1, 20, BSI, "95367431640625Mi"},
        {1, 30, BSI, "931322574615478515625Gi"},
        {1, 40, BSI, "10e39"}, /* knode: beyond 128 bits, decimal notation */
        {1152921504606846976, 3, BSI, "1000Ei"},
    };
    for (size_t i = 0; i < KN_ARRAY_SIZE(t); i++) {
        char buf[KN_QUANTITY_STRLEN];
        kn_quantity q = {.mantissa = t[i].mantissa, .scale = t[i].scale, .format = t[i].format};
        KT_ASSERT_MSG(strcmp(canon(&q, buf), t[i].want) == 0, "%" PRId64 "e%d %s: %s, want %s",
                      t[i].mantissa, t[i].scale, kn_quantity_format_name(t[i].format), buf,
                      t[i].want);
        if (t[i].mantissa == 0 || t[i].mantissa == INT64_MIN)
            continue;
        /* negated, it prints with a leading '-' */
        char neg[KN_QUANTITY_STRLEN];
        kn_quantity n = q;
        n.mantissa = -n.mantissa;
        canon(&n, neg);
        KT_ASSERT_MSG((neg[0] == '-' && strcmp(neg + 1, t[i].want) == 0) ||
                          (t[i].mantissa < 0 && strcmp(neg, t[i].want + 1) == 0),
                      "negated %s: %s", t[i].want, neg);
    }
    /* truncation like snprintf */
    char small[4];
    kn_quantity q = must_parse("123456");
    KT_ASSERT_STREQ(kn_quantity_format(&q, small, sizeof(small)), "123");
}

KT_TEST(quantity, constructors)
{
    char buf[KN_QUANTITY_STRLEN];
    static const struct {
        int64_t v;
        kn_quantity_fmt f;
        const char *want, *want_milli;
    } t[] = {
        {1, DSI, "1", "1m"},
        {1000, DSI, "1k", "1"},
        {1234000, DSI, "1234k", "1234"},
        {1024, BSI, "1Ki", "1024m"},
        {1000000, DEX, "1e6", "1e3"},
        {1024 * 1024, BSI, "1Mi", "1048576m"},
        {0, BSI, "0", "0"},
        {INT64_MIN, DSI, "-9223372036854775808", "-9223372036854775808m"},
    };
    for (size_t i = 0; i < KN_ARRAY_SIZE(t); i++) {
        kn_quantity q = kn_quantity_from_int(t[i].v, t[i].f);
        KT_ASSERT_STREQ(canon(&q, buf), t[i].want);
        KT_ASSERT_EQ(kn_quantity_value(&q), t[i].v);
        q = kn_quantity_from_milli(t[i].v, t[i].f);
        KT_ASSERT_STREQ(canon(&q, buf), t[i].want_milli);
        KT_ASSERT_EQ(kn_quantity_milli_value(&q), t[i].v);
    }
    static const struct {
        int64_t v;
        int32_t scale;
        const char *want;
    } s[] = {
        {1, -9, "1n"},
        {1000, -9, "1u"},
        {1, -6, "1u"},
        {1000, -6, "1m"},
        {1, -3, "1m"},
        {1000, -3, "1"},
        {1, 0, "1"},
        {0, -9, "0"},
        {0, 0, "0"},
        {15, -10, "2n"},
        {-15, -10, "-2n"},
        {1, -100, "1n"},
        {INT64_MAX, INT32_MAX, "92233720368547758070e2147483646"},
    };
    for (size_t i = 0; i < KN_ARRAY_SIZE(s); i++) {
        kn_quantity q;
        cleanup_error kn_error *err = NULL;
        KT_ASSERT_OK(kn_quantity_from_scaled(s[i].v, s[i].scale, DSI, &q, &err), err);
        KT_ASSERT_STREQ(canon(&q, buf), s[i].want);
    }
    kn_quantity q;
    cleanup_error kn_error *err = NULL;
    KT_ASSERT_EQ(kn_quantity_from_scaled(1000, INT32_MAX, DSI, &q, &err), -KN_ERANGE);
    KT_ASSERT_EQ(kn_error_code(err), KN_ERANGE);
}

KT_TEST(quantity, string_keeps_canonical_input_like_upstream)
{
    /* upstream's String() returns the parsed text when its fast path judged
     * it canonical; kn_quantity_string reproduces that */
    static const struct {
        const char *in, *string, *canonical;
    } t[] = {
        {"+5", "+5", "5"},
        {"05", "05", "5"},
        {"1.500k", "1.500k", "1500"},
        {"1E3", "1E3", "1e3"},
        {"1e+3", "1e+3", "1e3"},
        {"+1Ki", "+1Ki", "1Ki"},
        {"1Gi", "1Gi", "1Gi"},
        {"80e-3", "80e-3", "80e-3"},
        {"1000", "1k", "1k"},
        {"1.5k", "1500", "1500"},
        {"1024Mi", "1Gi", "1Gi"},
        {"2048Ki", "2Mi", "2Mi"},
        {"0.5", "500m", "500m"},
        {"0", "0", "0"},
        {"9Ei", "9223372036854775807", "9223372036854775807"},
    };
    for (size_t i = 0; i < KN_ARRAY_SIZE(t); i++) {
        char buf[KN_QUANTITY_STRLEN];
        kn_quantity q = must_parse(t[i].in);
        KT_ASSERT_MSG(strcmp(kn_quantity_string(&q, t[i].in, buf, sizeof(buf)), t[i].string) == 0,
                      "%s: String() %s, want %s", t[i].in,
                      kn_quantity_string(&q, t[i].in, buf, sizeof(buf)), t[i].string);
        KT_ASSERT_STREQ(canon(&q, buf), t[i].canonical);
        KT_ASSERT_STREQ(kn_quantity_string(&q, NULL, buf, sizeof(buf)), t[i].canonical);
    }
    kn_quantity q = must_parse("+5"), one = must_parse("0");
    KT_ASSERT(q.keep_input);
    KT_ASSERT_OK(kn_quantity_add(&q, &one, NULL), NULL);
    KT_ASSERT(!q.keep_input); /* arithmetic forgets the text, as upstream clears q.s */
}

KT_TEST(quantity, canonical_round_trip_grid)
{
    static const int64_t mantissas[] = {
        1,        3,    7,    9,    10,         999,       1000,
        1023,     1024, 1536, 4095, 1000000007, 1LL << 40, 123456789012345678,
        INT64_MAX};
    static const kn_quantity_fmt formats[] = {DSI, BSI, DEX};
    for (size_t i = 0; i < KN_ARRAY_SIZE(mantissas); i++)
        for (int32_t scale = -9; scale <= 24; scale++)
            for (size_t f = 0; f < KN_ARRAY_SIZE(formats); f++)
                for (int sign = -1; sign <= 1; sign += 2) {
                    char buf[KN_QUANTITY_STRLEN];
                    kn_quantity q = {
                        .mantissa = sign * mantissas[i], .scale = scale, .format = formats[f]};
                    if (formats[f] == BSI && (kn_quantity_cmp_int64(&q, INT64_MAX) > 0 ||
                                              kn_quantity_cmp_int64(&q, -INT64_MAX) < 0))
                        continue; /* parsing caps binarySI there, as upstream */
                    canon(&q, buf);
                    kn_quantity back = must_parse(buf);
                    KT_ASSERT_MSG(kn_quantity_cmp(&q, &back) == 0, "%s does not round-trip", buf);
                    /* and prints the same, unless it was binarySI without a
                     * suffix: that text reads back as decimalSI */
                    char again[KN_QUANTITY_STRLEN];
                    if (formats[f] != BSI || buf[strlen(buf) - 1] == 'i')
                        KT_ASSERT_STREQ(canon(&back, again), buf);
                }
}

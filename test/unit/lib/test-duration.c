/* Tests for lib/duration against Go's time.ParseDuration and
 * Duration.String() (cases from Go's own time_test.go tables). */
#include <string.h>

#include "lib/duration.h"
#include "test/runner/kt.h"

#define NS INT64_C(1)
#define US INT64_C(1000)
#define MS INT64_C(1000000)
#define SEC INT64_C(1000000000)
#define MIN (60 * SEC)
#define HOUR (60 * MIN)

typedef struct parse_case {
    const char *in;
    int64_t want;
} parse_case;

static const parse_case good[] = {
    {"0", 0},
    {"5s", 5 * SEC},
    {"30s", 30 * SEC},
    {"1478s", 1478 * SEC},
    {"-5s", -5 * SEC},
    {"+5s", 5 * SEC},
    {"-0", 0},
    {"+0", 0},
    {"5.0s", 5 * SEC},
    {"5.6s", 5 * SEC + 600 * MS},
    {"5.s", 5 * SEC},
    {".5s", 500 * MS},
    {"1.0s", 1 * SEC},
    {"1.00s", 1 * SEC},
    {"1.004s", 1 * SEC + 4 * MS},
    {"1.0040s", 1 * SEC + 4 * MS},
    {"100.00100s", 100 * SEC + 1 * MS},
    {"10ns", 10 * NS},
    {"11us", 11 * US},
    {"12\xc2\xb5s", 12 * US}, /* U+00B5 */
    {"12\xce\xbcs", 12 * US}, /* U+03BC */
    {"1\xc2\xb5s", 1 * US},
    {"13ms", 13 * MS},
    {"14s", 14 * SEC},
    {"15m", 15 * MIN},
    {"16h", 16 * HOUR},
    {"300ms", 300 * MS},
    {"-1.5h", -(HOUR + 30 * MIN)},
    {"2h45m", 2 * HOUR + 45 * MIN},
    {"3h30m", 3 * HOUR + 30 * MIN},
    {"10.5s4m", 4 * MIN + 10 * SEC + 500 * MS},
    {"-2m3.4s", -(2 * MIN + 3 * SEC + 400 * MS)},
    {"1h2m3s4ms5us6ns", 1 * HOUR + 2 * MIN + 3 * SEC + 4 * MS + 5 * US + 6 * NS},
    {"39h9m14.425s", 39 * HOUR + 9 * MIN + 14 * SEC + 425 * MS},
    {"52763797000ns", 52763797000 * NS},
    {"0.3333333333333333333h", 20 * MIN},
    {"9007199254740993ns", (INT64_C(1) << 53) + 1},
    {"9223372036854775807ns", INT64_MAX},
    {"9223372036854775.807us", INT64_MAX},
    {"9223372036s854ms775us807ns", INT64_MAX},
    {"0.100000000000000000000h", 6 * MIN},
    {"0.830103483285477580700h", 49 * MIN + 48 * SEC + 372539827 * NS},
};

static const char *const bad[] = {
    "",
    "3",
    "-",
    "s",
    ".",
    "-.",
    ".s",
    "+.s",
    "1d",
    "1x",
    "1",
    "\x85\x85",
    "\xff"
    "fff",
    "hello \xff"
    "fff world",
    "1.5.5s",
    "1s ",
    " 1s",
    "1s-2s",
    "ms",
    "--1s",
};

static const char *const overflow[] = {
    "9223372036854775810ns",
    "9223372036854775808ns",
    "-9223372036854775809ns",
    "9223372036854776us",
    "3000000h",
    "9223372036854775.808us",
    "9223372036854775807ns1ns",
    "99999999999999999999999h",
};

KT_TEST(duration, parse_go_examples)
{
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        int64_t got = -12345;
        kn_error *err = NULL;
        int r = kn_duration_parse(good[i].in, &got, &err);
        KT_ASSERT_MSG(r == 0, "parse \"%s\": %s", good[i].in, kn_error_msg(err));
        KT_ASSERT_MSG(got == good[i].want, "parse \"%s\": got %lld want %lld", good[i].in,
                      (long long)got, (long long)good[i].want);
    }
}

KT_TEST(duration, parse_errors_name_the_input)
{
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int64_t got = 0;
        kn_error *err = NULL;
        int r = kn_duration_parse(bad[i], &got, &err);
        KT_ASSERT_MSG(r < 0, "parse \"%s\" succeeded with %lld", bad[i], (long long)got);
        KT_ASSERT_EQ(kn_error_code(err), KN_EINVAL);
        char quoted[64];
        snprintf(quoted, sizeof(quoted), "\"%s\"", bad[i]);
        KT_ASSERT_CONTAINS(kn_error_msg(err), quoted);
        kn_error_free(&err);
    }
}

KT_TEST(duration, parse_overflow_is_range_error)
{
    for (size_t i = 0; i < sizeof(overflow) / sizeof(overflow[0]); i++) {
        int64_t got = 0;
        kn_error *err = NULL;
        int r = kn_duration_parse(overflow[i], &got, &err);
        KT_ASSERT_MSG(r < 0, "parse \"%s\" succeeded with %lld", overflow[i], (long long)got);
        KT_ASSERT_MSG(kn_error_code(err) == KN_ERANGE, "\"%s\": %s", overflow[i],
                      kn_error_msg(err));
        kn_error_free(&err);
    }
}

/* Go accepts the most negative duration (time_test.go "largest negative"). */
KT_TEST(duration, parse_most_negative)
{
    const char *cases[] = {"-9223372036854775808ns", "-9223372036854775.808us",
                           "-9223372036s854ms775us808ns"};
    for (size_t i = 0; i < 3; i++) {
        int64_t got = 0;
        kn_error *err = NULL;
        if (kn_duration_parse(cases[i], &got, &err) < 0 || got != INT64_MIN) {
            kn_error_free(&err);
            KT_FAIL("bug: kn_duration_parse(\"%s\") fails (Go returns -1<<63)", cases[i]);
        }
    }
}

typedef struct fmt_case {
    int64_t in;
    const char *want;
} fmt_case;

static const fmt_case fmts[] = {
    {0, "0s"},
    {1 * NS, "1ns"},
    {999 * NS, "999ns"},
    {1100 * NS, "1.1\xc2\xb5s"},
    {1 * US, "1\xc2\xb5s"},
    {2200 * US, "2.2ms"},
    {250 * MS, "250ms"},
    {1500 * MS, "1.5s"},
    {3300 * MS, "3.3s"},
    {4 * MIN + 5 * SEC, "4m5s"},
    {4 * MIN + 5001 * MS, "4m5.001s"},
    {5 * HOUR + 6 * MIN + 7001 * MS, "5h6m7.001s"},
    {8 * MIN + 1 * NS, "8m0.000000001s"},
    {1 * HOUR + 2 * MIN + 3500 * MS, "1h2m3.5s"},
    {1 * HOUR, "1h0m0s"},
    {1 * MIN, "1m0s"},
    {-1500 * MS, "-1.5s"},
    {-1 * NS, "-1ns"},
    {INT64_MAX, "2562047h47m16.854775807s"},
    {INT64_MIN, "-2562047h47m16.854775808s"},
};

KT_TEST(duration, format_like_go)
{
    for (size_t i = 0; i < sizeof(fmts) / sizeof(fmts[0]); i++) {
        char buf[64];
        memset(buf, 'Z', sizeof(buf));
        KT_ASSERT(kn_duration_format(fmts[i].in, buf, sizeof(buf)) == buf);
        KT_ASSERT_MSG(strcmp(buf, fmts[i].want) == 0, "format %lld: got \"%s\" want \"%s\"",
                      (long long)fmts[i].in, buf, fmts[i].want);
    }
}

KT_TEST(duration, format_round_trips)
{
    int64_t values[] = {
        1, 999, 1000, 1001, 123456789, 59 * SEC, 61 * SEC + 8, 25 * HOUR + 1, -3 * HOUR - 4 * MS};
    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        char buf[64];
        kn_duration_format(values[i], buf, sizeof(buf));
        int64_t back = 0;
        kn_error *err = NULL;
        KT_ASSERT_OK(kn_duration_parse(buf, &back, &err), err);
        KT_ASSERT_MSG(back == values[i], "%lld -> \"%s\" -> %lld", (long long)values[i], buf,
                      (long long)back);
    }
}

/* Go scales a fraction exactly (f * (unit / 10^digits)): "0.000036s" is
 * 36000ns, not 35999ns. */
KT_TEST(duration, parse_fraction_exact)
{
    static const parse_case cases[] = {
        {"0.000036s", 36 * US},          {"0.000071s", 71 * US},
        {"0.000000009s", 9 * NS},        {"0.000000007s", 7 * NS},
        {"1.000000007s", 1 * SEC + 7},   {"1m1.000000007s", 61 * SEC + 7},
        {"0.000019947s", 19947 * NS},    {"0.000007ms", 7 * NS},
        {"1.000001ms", 1 * MS + 1 * NS}, {"2.000000001s", 2 * SEC + 1},
    };
    char failed[512] = "";
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int64_t got = 0;
        kn_error *err = NULL;
        KT_ASSERT_OK(kn_duration_parse(cases[i].in, &got, &err), err);
        if (got != cases[i].want) {
            size_t l = strlen(failed);
            snprintf(failed + l, sizeof(failed) - l, "%s\"%s\" -> %lld (want %lld)", l ? ", " : "",
                     cases[i].in, (long long)got, (long long)cases[i].want);
        }
    }
    if (failed[0])
        KT_FAIL("bug: fraction loses 1ns: %s", failed);
}

KT_TEST(duration, format_truncates_to_buffer)
{
    char buf[5];
    kn_duration_format(5 * HOUR + 6 * MIN + 7001 * MS, buf, sizeof(buf));
    KT_ASSERT_EQ(strlen(buf), 4);
    KT_ASSERT_EQ(strncmp(buf, "5h6m", 4), 0);
    char one[1] = {'Z'};
    kn_duration_format(1500 * MS, one, sizeof(one));
    KT_ASSERT_EQ(one[0], '\0');
    char untouched = 'Z';
    kn_duration_format(1, &untouched, 0);
    KT_ASSERT_EQ(untouched, 'Z');
}

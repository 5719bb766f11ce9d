/* test-lease.c - MicroTime formatting and parsing. */
#include "api-client/lease.h"
#include "lib/duration.h"
#include "test/runner/kt.h"

KT_TEST(lease, micro_time_round_trip)
{
    char buf[KC_MICRO_TIME_LEN];
    int64_t t = INT64_C(1700000000) * KN_NSEC_PER_SEC + 123456789;
    kc_micro_time_format(t, buf);
    KT_ASSERT_STREQ(buf, "2023-11-14T22:13:20.123456Z");
    int64_t back = 0;
    KT_ASSERT_EQ(kc_micro_time_parse(buf, &back), 0);
    KT_ASSERT_EQ(back, t - 789);
    KT_ASSERT_EQ(kc_micro_time_parse("2023-11-14T22:13:20Z", &back), 0);
    KT_ASSERT_EQ(back, INT64_C(1700000000) * KN_NSEC_PER_SEC);
    KT_ASSERT_EQ(kc_micro_time_parse("2023-11-14T23:13:20.5+01:00", &back), 0);
    KT_ASSERT_EQ(back, INT64_C(1700000000) * KN_NSEC_PER_SEC + 500000000);
    static const char *const bad[] = {"",
                                      "2023-11-14",
                                      "2023-11-14T22:13:20",
                                      "2023-11-14T22:13:20.Z",
                                      "2023-11-14T22:13:20Zjunk",
                                      "2023-11-14T22:13:20+0100"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        KT_ASSERT_MSG(kc_micro_time_parse(bad[i], &back) < 0, "parsed %s", bad[i]);
}

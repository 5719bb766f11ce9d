/* test-map.c - the api-client's internal string map. */
#include <stdint.h>
#include <stdio.h>

#include "api-client/kc-internal.h"
#include "test/runner/kt.h"

KT_TEST(kc_map, put_get_delete_grow)
{
    kc_map m;
    kc_map_init(&m);
    KT_ASSERT(kc_map_get(&m, "x") == NULL);
    KT_ASSERT(kc_map_del(&m, "x") == NULL);
    char key[32];
    for (intptr_t i = 1; i <= 5000; i++) {
        snprintf(key, sizeof(key), "ns/pod-%ld", (long)i);
        KT_ASSERT(kc_map_put(&m, key, (void *)i) == NULL);
    }
    KT_ASSERT_EQ(m.len, 5000);
    for (intptr_t i = 1; i <= 5000; i += 2) {
        snprintf(key, sizeof(key), "ns/pod-%ld", (long)i);
        KT_ASSERT_EQ((intptr_t)kc_map_del(&m, key), i);
    }
    KT_ASSERT_EQ(m.len, 2500);
    /* deleted slots are reused and lookups skip them */
    for (int round = 0; round < 3; round++) {
        for (intptr_t i = 1; i <= 5000; i += 2) {
            snprintf(key, sizeof(key), "ns/pod-%ld", (long)i);
            KT_ASSERT(kc_map_put(&m, key, (void *)(i * 10)) == NULL);
            KT_ASSERT_EQ((intptr_t)kc_map_del(&m, key), i * 10);
        }
    }
    for (intptr_t i = 1; i <= 5000; i++) {
        snprintf(key, sizeof(key), "ns/pod-%ld", (long)i);
        KT_ASSERT_EQ((intptr_t)kc_map_get(&m, key), i % 2 ? 0 : i);
    }
    KT_ASSERT_EQ((intptr_t)kc_map_put(&m, "ns/pod-2", (void *)7), 2);
    size_t pos = 0, n = 0;
    const char *k;
    void *v;
    while (kc_map_next(&m, &pos, &k, &v))
        n++;
    KT_ASSERT_EQ(n, 2500);
    kc_map_free(&m, NULL);
}

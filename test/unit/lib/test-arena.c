/* test-arena.c - the string arena. */
#include <stdalign.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "lib/arena.h"
#include "test/runner/kt.h"

KT_TEST(arena, copies_survive_many_chunks)
{
    kn_arena a = KN_ARENA_INIT;
    const char *kept[5000];
    char buf[64];
    for (int i = 0; i < 5000; i++) {
        snprintf(buf, sizeof(buf), "service-%05d.namespace-%d", i, i % 7);
        kept[i] = kn_arena_strdup(&a, buf);
        KT_ASSERT(kept[i] != buf);
    }
    for (int i = 0; i < 5000; i++) {
        snprintf(buf, sizeof(buf), "service-%05d.namespace-%d", i, i % 7);
        KT_ASSERT_STREQ(kept[i], buf);
    }
    KT_ASSERT(kn_arena_strdup(&a, NULL) == NULL);
    kn_arena_free(&a);
    KT_ASSERT(kn_arena_strdup(&a, "again") != NULL);
    kn_arena_free(&a);
}

KT_TEST(arena, large_and_aligned_allocations)
{
    kn_arena a = KN_ARENA_INIT;
    kn_arena_strdup(&a, "x");
    unsigned char *big = kn_arena_alloc(&a, 200 * 1024);
    memset(big, 0xab, 200 * 1024);
    KT_ASSERT_EQ((uintptr_t)big % alignof(max_align_t), 0);
    double *d = kn_arena_alloc(&a, sizeof(double));
    KT_ASSERT_EQ((uintptr_t)d % alignof(max_align_t), 0);
    *d = 1.5;
    KT_ASSERT_EQ(big[200 * 1024 - 1], 0xab);
    kn_arena_free(&a);
}

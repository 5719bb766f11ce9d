#include "lib/strbuf.h"

#include <stdlib.h>
#include <string.h>

#include "test/runner/kt.h"

KT_TEST(strbuf, empty_is_terminated)
{
    kn_buf b = KN_BUF_INIT;
    KT_ASSERT(b.data != NULL);
    KT_ASSERT_STREQ(b.data, "");
    KT_ASSERT_EQ(b.len, 0);
    kn_buf_reset(&b);
    kn_buf_truncate(&b, 5);
    KT_ASSERT_STREQ(b.data, "");
    kn_buf_free(&b);
    kn_buf_free(&b); /* twice is safe */
    KT_ASSERT_STREQ(b.data, "");
}

KT_TEST(strbuf, append_variants)
{
    cleanup_buf kn_buf b;
    kn_buf_init(&b);
    kn_buf_append(&b, "abc", 2);
    kn_buf_append_str(&b, "cd");
    kn_buf_append_char(&b, '!');
    kn_buf_append(&b, "", 0);
    kn_buf_appendf(&b, "%d-%s", 42, "x");
    KT_ASSERT_STREQ(b.data, "abcd!42-x");
    KT_ASSERT_EQ(b.len, strlen("abcd!42-x"));
    KT_ASSERT(b.cap > b.len);
}

KT_TEST(strbuf, appendf_grows_past_capacity)
{
    cleanup_buf kn_buf b = KN_BUF_INIT;
    kn_buf_append_str(&b, "head:");
    char big[5000];
    memset(big, 'z', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    kn_buf_appendf(&b, "%s|%s", big, "tail");
    KT_ASSERT_EQ(b.len, 5 + 4999 + 5);
    KT_ASSERT(strncmp(b.data, "head:zzz", 8) == 0);
    KT_ASSERT_STREQ(b.data + b.len - 5, "|tail");
    /* many small appends keep the terminator in place */
    kn_buf_reset(&b);
    for (int i = 0; i < 1000; i++)
        kn_buf_appendf(&b, "%d,", i % 10);
    KT_ASSERT_EQ(b.len, 2000);
    KT_ASSERT_EQ(b.data[b.len], '\0');
}

KT_TEST(strbuf, binary_data_keeps_length)
{
    cleanup_buf kn_buf b = KN_BUF_INIT;
    kn_buf_append(&b, "a\0b", 3);
    KT_ASSERT_EQ(b.len, 3);
    KT_ASSERT_EQ(memcmp(b.data, "a\0b\0", 4), 0);
}

KT_TEST(strbuf, truncate_and_reset)
{
    cleanup_buf kn_buf b = KN_BUF_INIT;
    kn_buf_append_str(&b, "hello world");
    kn_buf_truncate(&b, 5);
    KT_ASSERT_STREQ(b.data, "hello");
    kn_buf_truncate(&b, 50); /* beyond the length: no-op */
    KT_ASSERT_STREQ(b.data, "hello");
    size_t cap = b.cap;
    kn_buf_reset(&b);
    KT_ASSERT_STREQ(b.data, "");
    KT_ASSERT_EQ(b.cap, cap); /* memory kept */
    kn_buf_append_str(&b, "again");
    KT_ASSERT_STREQ(b.data, "again");
}

KT_TEST(strbuf, steal_transfers_ownership)
{
    kn_buf b = KN_BUF_INIT;
    char *s = kn_buf_steal(&b); /* empty: still an owned string */
    KT_ASSERT_STREQ(s, "");
    free(s);
    kn_buf_appendf(&b, "%s=%u", "k", 7u);
    s = kn_buf_steal(&b);
    KT_ASSERT_STREQ(s, "k=7");
    KT_ASSERT_STREQ(b.data, "");
    KT_ASSERT_EQ(b.len, 0);
    KT_ASSERT_EQ(b.cap, 0);
    free(s);
    kn_buf_append_str(&b, "reuse");
    KT_ASSERT_STREQ(b.data, "reuse");
    kn_buf_free(&b);
}

KT_TEST(strbuf, reserve_avoids_realloc)
{
    cleanup_buf kn_buf b = KN_BUF_INIT;
    kn_buf_reserve(&b, 1000);
    char *before = b.data;
    for (int i = 0; i < 1000; i++)
        kn_buf_append_char(&b, 'x');
    KT_ASSERT(b.data == before);
    KT_ASSERT_EQ(b.len, 1000);
}

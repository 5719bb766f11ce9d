#include "lib/rcstr.h"

#include <pthread.h>
#include <string.h>

#include "test/runner/kt.h"

KT_TEST(rcstr, copy_shared_by_references)
{
    char text[] = "{\"phase\":\"Running\"}";
    kn_rcstr *a = kn_rcstr_new(text);
    text[0] = 'x'; /* a holds its own copy */
    KT_ASSERT_STREQ(kn_rcstr_str(a), "{\"phase\":\"Running\"}");
    kn_rcstr *b = kn_rcstr_ref(a);
    KT_ASSERT(a == b);
    kn_rcstr_unref(a);
    KT_ASSERT_STREQ(kn_rcstr_str(b), "{\"phase\":\"Running\"}"); /* still alive */
    kn_rcstr_unref(b);
    KT_ASSERT(kn_rcstr_ref(NULL) == NULL);
    kn_rcstr_unref(NULL);
}

KT_TEST(rcstr, equal_by_text)
{
    kn_rcstr *a = kn_rcstr_new("abc"), *b = kn_rcstr_new("abc"), *c = kn_rcstr_new("abd");
    KT_ASSERT(kn_rcstr_equal(a, b));
    KT_ASSERT(kn_rcstr_equal(a, a));
    KT_ASSERT(!kn_rcstr_equal(a, c));
    KT_ASSERT(!kn_rcstr_equal(a, NULL));
    KT_ASSERT(!kn_rcstr_equal(NULL, a));
    KT_ASSERT(kn_rcstr_equal(NULL, NULL));
    kn_rcstr_unref(a);
    kn_rcstr_unref(b);
    kn_rcstr_unref(c);
}

static void *ref_unref_many(void *arg)
{
    for (int i = 0; i < 10000; i++)
        kn_rcstr_unref(kn_rcstr_ref(arg));
    return NULL;
}

/* Under ASan/TSan: concurrent owners neither free early nor race. */
KT_TEST(rcstr, references_from_threads)
{
    kn_rcstr *s = kn_rcstr_new("shared");
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        KT_ASSERT(pthread_create(&t[i], NULL, ref_unref_many, s) == 0);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    KT_ASSERT_STREQ(kn_rcstr_str(s), "shared");
    kn_rcstr_unref(s);
}

/* Tests for lib/error: set, wrap, first error wins, errno, free. */
#include <errno.h>
#include <string.h>

#include "lib/error.h"
#include "test/runner/kt.h"

KT_TEST(error, set_fills_code_and_message)
{
    kn_error *err = NULL;
    int r = kn_error_set(&err, KN_ENOTFOUND, "pod %s/%s not found", "default", "web");
    KT_ASSERT_EQ(r, -KN_ENOTFOUND);
    KT_ASSERT(err != NULL);
    KT_ASSERT_EQ(kn_error_code(err), KN_ENOTFOUND);
    KT_ASSERT_EQ(err->sys_errno, 0);
    KT_ASSERT_STREQ(kn_error_msg(err), "pod default/web not found");
    kn_error_free(&err);
    KT_ASSERT(err == NULL);
}

KT_TEST(error, first_error_wins)
{
    kn_error *err = NULL;
    kn_error_set(&err, KN_EINVAL, "first");
    KT_ASSERT_EQ(kn_error_set(&err, KN_EIO, "second"), -KN_EIO);
    KT_ASSERT_EQ(kn_error_errno(&err, ENOENT, "third"), -KN_EIO);
    KT_ASSERT_EQ(kn_error_code(err), KN_EINVAL);
    KT_ASSERT_STREQ(kn_error_msg(err), "first");
    KT_ASSERT_EQ(err->sys_errno, 0);
    kn_error_free(&err);
}

KT_TEST(error, wrap_adds_context_outermost_first)
{
    kn_error *err = NULL;
    kn_error_errno(&err, ENOENT, "read %s", "/etc/x");
    KT_ASSERT_EQ(kn_error_wrap(&err, "load config"), -KN_EIO);
    KT_ASSERT_EQ(kn_error_wrap(&err, "start %s", "kubelet"), -KN_EIO);
    KT_ASSERT_STREQ(kn_error_msg(err),
                    "start kubelet: load config: read /etc/x: No such file or directory");
    KT_ASSERT_EQ(kn_error_code(err), KN_EIO);
    KT_ASSERT_EQ(err->sys_errno, ENOENT);
    kn_error_free(&err);
}

KT_TEST(error, wrap_without_error_is_internal)
{
    kn_error *err = NULL;
    KT_ASSERT_EQ(kn_error_wrap(&err, "sync pod %d", 3), -KN_EINTERNAL);
    KT_ASSERT_EQ(kn_error_code(err), KN_EINTERNAL);
    KT_ASSERT_STREQ(kn_error_msg(err), "sync pod 3: unknown error");
    kn_error_free(&err);
    KT_ASSERT_EQ(kn_error_wrap(NULL, "x"), -KN_EINTERNAL);
}

KT_TEST(error, errno_records_sys_errno)
{
    kn_error *err = NULL;
    KT_ASSERT_EQ(kn_error_errno(&err, EACCES, "open %s", "/root/secret"), -KN_EIO);
    KT_ASSERT_EQ(kn_error_code(err), KN_EIO);
    KT_ASSERT_EQ(err->sys_errno, EACCES);
    char want[128];
    snprintf(want, sizeof(want), "open /root/secret: %s", strerror(EACCES));
    KT_ASSERT_STREQ(kn_error_msg(err), want);
    kn_error_free(&err);
}

KT_TEST(error, null_error_pointer_is_accepted)
{
    KT_ASSERT_EQ(kn_error_set(NULL, KN_ETIMEDOUT, "dropped %d", 1), -KN_ETIMEDOUT);
    KT_ASSERT_EQ(kn_error_errno(NULL, EIO, "dropped"), -KN_EIO);
    KT_ASSERT_STREQ(kn_error_msg(NULL), "");
    KT_ASSERT_EQ(kn_error_code(NULL), KN_OK);
}

KT_TEST(error, free_is_null_safe)
{
    kn_error_free(NULL);
    kn_error *err = NULL;
    kn_error_free(&err);
    kn_error_free(&err);
    KT_ASSERT(err == NULL);
}

KT_TEST(error, ok_code_becomes_internal)
{
    kn_error *err = NULL;
    KT_ASSERT_EQ(kn_error_set(&err, KN_OK, "oops"), -KN_EINTERNAL);
    KT_ASSERT_EQ(kn_error_code(err), KN_EINTERNAL);
    kn_error_free(&err);
}

KT_TEST(error, code_names)
{
    KT_ASSERT_STREQ(kn_errcode_name(KN_OK), "ok");
    KT_ASSERT_STREQ(kn_errcode_name(KN_EINVAL), "invalid");
    KT_ASSERT_STREQ(kn_errcode_name(KN_ENOTFOUND), "not-found");
    KT_ASSERT_STREQ(kn_errcode_name(KN_ETOOMANY), "too-many-requests");
    KT_ASSERT_STREQ(kn_errcode_name(KN_ERRCODE_MAX), "unknown");
    KT_ASSERT_STREQ(kn_errcode_name((kn_errcode)-1), "unknown");
    for (int c = 0; c < KN_ERRCODE_MAX; c++)
        KT_ASSERT(strcmp(kn_errcode_name((kn_errcode)c), "unknown") != 0);
}

static int fails_with_cleanup(void)
{
    cleanup_error kn_error *err = NULL;
    kn_error_set(&err, KN_EEXIST, "exists");
    return kn_error_code(err);
}

KT_TEST(error, cleanup_attribute_frees)
{
    /* ASan reports a leak if cleanup_error did not free */
    KT_ASSERT_EQ(fails_with_cleanup(), KN_EEXIST);
}

KT_TEST(error, long_messages_are_kept_whole)
{
    char big[5000];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    kn_error *err = NULL;
    kn_error_set(&err, KN_ETOOLARGE, "%s", big);
    kn_error_wrap(&err, "ctx");
    KT_ASSERT_EQ(strlen(kn_error_msg(err)), strlen(big) + 5);
    kn_error_free(&err);
}

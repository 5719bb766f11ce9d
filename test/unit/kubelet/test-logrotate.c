/* Tests for kubelet/logrotate's file step: rename with a UTC timestamp,
 * the runtime asked to reopen, at most max-files kept, renamed back when
 * the reopen fails. (The CRI pass runs in the agent integration test.) */
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kubelet/logrotate.h"
#include "lib/cleanup.h"
#include "lib/xalloc.h"
#include "test/runner/kt.h"

static void touch(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    KT_ASSERT(f && fputs(text, f) >= 0 && fclose(f) == 0);
}

typedef struct reopen_state {
    const char *path;
    char id[32];
    int fail;
} reopen_state;

static int reopen(void *arg, const char *id, kn_error **err)
{
    reopen_state *s = arg;
    snprintf(s->id, sizeof(s->id), "%s", id);
    if (s->fail)
        return kn_error_set(err, KN_EUNAVAILABLE, "runtime down");
    touch(s->path, "");
    return 0;
}

static size_t count(const char *pattern, char *first, size_t size)
{
    glob_t g;
    if (glob(pattern, 0, NULL, &g) != 0)
        return 0;
    if (first)
        snprintf(first, size, "%s", g.gl_pathv[0]);
    size_t n = g.gl_pathc;
    globfree(&g);
    return n;
}

KT_TEST(logrotate, renames_reopens_and_keeps_max_files)
{
    cleanup_free char *path = xasprintf("%s/0.log", kt_tmpdir());
    cleanup_free char *pattern = xasprintf("%s.*", path);
    static const char *const old[] = {"20240101-000001", "20240101-000002", "20240101-000003",
                                      "20240101-000004"};
    for (size_t i = 0; i < 4; i++) {
        cleanup_free char *p = xasprintf("%s.%s", path, old[i]);
        touch(p, "old\n");
    }
    touch(path, "current\n");
    reopen_state s = {.path = path};
    cleanup_error kn_error *err = NULL;
    /* 2024-01-02T03:04:05Z */
    KT_ASSERT_OK(kl_logrotate_file(path, "abc", 5, 1704164645LL * 1000000000, reopen, &s, &err),
                 err);
    KT_ASSERT_STREQ(s.id, "abc");
    char first[512];
    KT_ASSERT_EQ(count(pattern, first, sizeof(first)), 4); /* 5 files with the current one */
    KT_ASSERT_CONTAINS(first, "20240101-000002");          /* 000001 removed */
    cleanup_free char *rotated = xasprintf("%s.20240102-030405", path);
    KT_ASSERT(access(rotated, F_OK) == 0);
    KT_ASSERT(access(path, F_OK) == 0);
    /* max-files 2: only the file rotated now stays */
    KT_ASSERT_OK(kl_logrotate_file(path, "abc", 2, 1704164646LL * 1000000000, reopen, &s, &err),
                 err);
    KT_ASSERT_EQ(count(pattern, first, sizeof(first)), 1);
    KT_ASSERT_CONTAINS(first, "20240102-030406");
}

KT_TEST(logrotate, failed_reopen_renames_back)
{
    cleanup_free char *path = xasprintf("%s/1.log", kt_tmpdir());
    cleanup_free char *pattern = xasprintf("%s.*", path);
    touch(path, "current\n");
    reopen_state s = {.path = path, .fail = 1};
    kn_error *err = NULL;
    KT_ASSERT(kl_logrotate_file(path, "abc", 5, 1704164645LL * 1000000000, reopen, &s, &err) < 0);
    KT_ASSERT_CONTAINS(kn_error_msg(err), "runtime down");
    kn_error_free(&err);
    KT_ASSERT(access(path, F_OK) == 0);
    KT_ASSERT_EQ(count(pattern, NULL, 0), 0);
}

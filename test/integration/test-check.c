/* test-check.c - `knode check` on this host: one line per check, the
 * runtime check against a real containerd (a testbed node) and against a
 * socket where nothing listens, and the host's network left untouched by the
 * checks that create kernel objects. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/wait.h>

#include "lib/cleanup.h"
#include "lib/strbuf.h"
#include "lib/xalloc.h"
#include "test/harness/testbed.h"
#include "test/runner/kt.h"

static char *run(const char *cmd, int *status)
{
    FILE *p = popen(cmd, "r");
    KT_ASSERT(p != NULL);
    kn_buf b;
    kn_buf_init(&b);
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), p)) > 0)
        kn_buf_append(&b, chunk, n);
    int st = pclose(p);
    *status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    return kn_buf_steal(&b);
}

static char *host_links(void)
{
    int st;
    return run("ip -o link show | awk -F': ' '{print $2}' | sort; nft list tables", &st);
}

KT_TEST_TIMEOUT(knode_check, runtime_ok_and_fail, 120)
{
    char why[256];
    if (!tb_available(why, sizeof(why)))
        KT_SKIP("testbed not available: %s", why);
    tb_cluster c;
    kn_error *err = NULL;
    KT_ASSERT_OK(tb_cluster_up(&c, 1, &err), err);
    cleanup_free char *knode = kt_beside_self("knode");
    cleanup_free char *before = host_links();

    /* every check, with the runtime of the testbed node: no FAIL line but
     * possibly ports in use on a busy host, so only the runtime line counts */
    cleanup_free char *ok_cmd = xasprintf("%s check --container-runtime-endpoint %s --ports 1 2>&1",
                                          knode, c.nodes[0].endpoint);
    int st;
    cleanup_free char *out = run(ok_cmd, &st);
    KT_ASSERT_CONTAINS(out, "OK   runtime");
    KT_ASSERT_CONTAINS(out, "answers CRI v1");
    KT_ASSERT_CONTAINS(out, "OK   nftables");
    KT_ASSERT_CONTAINS(out, "OK   bridge-veth");
    int lines = 0;
    for (const char *p = out; *p; p++)
        lines += *p == '\n';
    KT_ASSERT(lines >= 10);

    cleanup_free char *bad_sock = xasprintf("%s/nothing.sock", kt_tmpdir());
    cleanup_free char *bad_cmd =
        xasprintf("%s check --container-runtime-endpoint unix://%s 2>&1", knode, bad_sock);
    cleanup_free char *bad = run(bad_cmd, &st);
    KT_ASSERT_CONTAINS(bad, "FAIL runtime");
    KT_ASSERT_CONTAINS(bad, "(fix: ");
    KT_ASSERT_NE(st, 0);

    cleanup_free char *after = host_links();
    KT_ASSERT_STREQ(before, after);
    KT_ASSERT_OK(tb_cluster_down(&c, &err), err);
}

KT_TEST(knode_check, unknown_flag_is_named)
{
    cleanup_free char *knode = kt_beside_self("knode");
    cleanup_free char *cmd = xasprintf("%s check --bogus 2>&1", knode);
    int st;
    cleanup_free char *out = run(cmd, &st);
    KT_ASSERT_CONTAINS(out, "unknown flag: --bogus");
    KT_ASSERT_EQ(st, 2);
}

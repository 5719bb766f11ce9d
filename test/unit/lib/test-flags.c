/* Tests for lib/flags: pflag-style parsing, defaults, errors, help. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/duration.h"
#include "lib/flags.h"
#include "lib/log.h"
#include "test/runner/kt.h"

typedef struct opts {
    const char *kubeconfig;
    long long max_pods;
    bool fail_swap;
    bool verbose_x;
    int64_t sync;
    const char *node_ip;
} opts;

static opts o;

static const kn_flag table[] = {
    {"kubeconfig", 0, KN_FLAG_STRING, &o.kubeconfig, "/etc/kubernetes/kubelet.conf", "path"},
    {"max-pods", 0, KN_FLAG_INT, &o.max_pods, "110", "pods per node"},
    {"fail-swap-on", 0, KN_FLAG_BOOL, &o.fail_swap, "true", "fail when swap is on"},
    {"experimental", 'x', KN_FLAG_BOOL, &o.verbose_x, NULL, "x"},
    {"sync-frequency", 0, KN_FLAG_DURATION, &o.sync, "1m", "sync period"},
    {"node-ip", 'n', KN_FLAG_STRING, &o.node_ip, NULL, "node address"},
};

static kn_flagset make_fs(void)
{
    return (kn_flagset){
        .command = "knode kubelet",
        .usage = "Runs the node agent.",
        .flags = table,
        .nflags = sizeof(table) / sizeof(table[0]),
    };
}

/* Parses the given arguments. The argv array is a compound literal that lives
 * until the end of the enclosing block, so fs.args stays valid when PARSE is
 * used as a plain statement (not inside another macro's block). */
#define PARSE(fs, err, ...)                                                                        \
    kn_flags_parse((fs), (int)(sizeof((char *[]){__VA_ARGS__}) / sizeof(char *)),                  \
                   (char *[]){__VA_ARGS__, NULL}, (err))

KT_TEST(flags, defaults_applied)
{
    memset(&o, 0x55, sizeof(o));
    kn_flagset fs = make_fs();
    kn_error *err = NULL;
    char *argv[] = {NULL};
    KT_ASSERT_OK(kn_flags_parse(&fs, 0, argv, &err), err);
    KT_ASSERT_STREQ(o.kubeconfig, "/etc/kubernetes/kubelet.conf");
    KT_ASSERT_EQ(o.max_pods, 110);
    KT_ASSERT(o.fail_swap);
    KT_ASSERT(!o.verbose_x);
    KT_ASSERT_EQ(o.sync, 60 * KN_NSEC_PER_SEC);
    KT_ASSERT_EQ(fs.nargs, 0);
}

KT_TEST(flags, equals_and_separate_values)
{
    kn_flagset fs = make_fs();
    kn_error *err = NULL;
    KT_ASSERT_OK(PARSE(&fs, &err, "--kubeconfig=/tmp/k.conf", "--max-pods", "250",
                       "--sync-frequency=30s", "--node-ip", "10.0.0.5"),
                 err);
    KT_ASSERT_STREQ(o.kubeconfig, "/tmp/k.conf");
    KT_ASSERT_EQ(o.max_pods, 250);
    KT_ASSERT_EQ(o.sync, 30 * KN_NSEC_PER_SEC);
    KT_ASSERT_STREQ(o.node_ip, "10.0.0.5");
    KT_ASSERT_EQ(fs.nargs, 0);
}

KT_TEST(flags, shorthands)
{
    kn_flagset fs = make_fs();
    kn_error *err = NULL;
    KT_ASSERT_OK(PARSE(&fs, &err, "-n", "192.168.1.1", "-x"), err);
    KT_ASSERT_STREQ(o.node_ip, "192.168.1.1");
    KT_ASSERT(o.verbose_x);
    KT_ASSERT_OK(PARSE(&fs, &err, "-n=10.1.1.1"), err);
    KT_ASSERT_STREQ(o.node_ip, "10.1.1.1");
}

KT_TEST(flags, bool_forms)
{
    kn_flagset fs = make_fs();
    kn_error *err = NULL;
    KT_ASSERT_OK(PARSE(&fs, &err, "--fail-swap-on=false"), err);
    KT_ASSERT(!o.fail_swap);
    KT_ASSERT_OK(PARSE(&fs, &err, "--fail-swap-on"), err);
    KT_ASSERT(o.fail_swap);
    const char *falses[] = {"0", "f", "F", "false", "FALSE", "False"};
    const char *trues[] = {"1", "t", "T", "true", "TRUE", "True"};
    for (int i = 0; i < 6; i++) {
        char a[64], b[64];
        snprintf(a, sizeof(a), "--fail-swap-on=%s", falses[i]);
        KT_ASSERT_OK(PARSE(&fs, &err, a), err);
        KT_ASSERT(!o.fail_swap);
        snprintf(b, sizeof(b), "--fail-swap-on=%s", trues[i]);
        KT_ASSERT_OK(PARSE(&fs, &err, b), err);
        KT_ASSERT(o.fail_swap);
    }
    /* a bool flag does not take the next argument: it is positional */
    int r = PARSE(&fs, &err, "--fail-swap-on", "false");
    KT_ASSERT_OK(r, err);
    KT_ASSERT(o.fail_swap);
    KT_ASSERT_EQ(fs.nargs, 1);
    KT_ASSERT_STREQ(fs.args[0], "false");

    KT_ASSERT_FAILS(PARSE(&fs, &err, "--fail-swap-on=yes"));
    KT_ASSERT_EQ(kn_error_code(err), KN_EINVAL);
    KT_ASSERT_CONTAINS(kn_error_msg(err), "\"yes\"");
    KT_ASSERT_CONTAINS(kn_error_msg(err), "--fail-swap-on");
    kn_error_free(&err);
}

KT_TEST(flags, verbosity)
{
    kn_flagset fs = make_fs();
    kn_error *err = NULL;
    kn_log_set_verbosity(0);
    KT_ASSERT_OK(PARSE(&fs, &err, "-v", "4"), err);
    KT_ASSERT_EQ(fs.verbosity, 4);
    KT_ASSERT_EQ(kn_log_get_verbosity(), 4);
    KT_ASSERT_OK(PARSE(&fs, &err, "--v=3"), err);
    KT_ASSERT_EQ(fs.verbosity, 3);
    KT_ASSERT_EQ(kn_log_get_verbosity(), 3);
    KT_ASSERT_OK(PARSE(&fs, &err, "--v", "2"), err);
    KT_ASSERT_EQ(fs.verbosity, 2);
    KT_ASSERT_OK(PARSE(&fs, &err, "-v=5"), err);
    KT_ASSERT_EQ(fs.verbosity, 5);
    KT_ASSERT_FAILS(PARSE(&fs, &err, "-v", "loud"));
    KT_ASSERT_CONTAINS(kn_error_msg(err), "\"loud\"");
    kn_error_free(&err);
    kn_log_set_verbosity(0);
}

/* -h / --help print the usage to stdout and return 1. */
KT_TEST(flags, help_returns_one)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/help.txt", kt_tmpdir());
    FILE *f = freopen(path, "w", stdout);
    KT_ASSERT(f != NULL);
    kn_flagset fs = make_fs();
    kn_error *err = NULL;
    KT_ASSERT_EQ(PARSE(&fs, &err, "-h"), 1);
    KT_ASSERT_EQ(PARSE(&fs, &err, "--max-pods=3", "--help", "--unknown"), 1);
    KT_ASSERT(err == NULL);
    fflush(stdout);
    FILE *in = fopen(path, "r");
    char buf[8192] = {0};
    size_t n = fread(buf, 1, sizeof(buf) - 1, in);
    fclose(in);
    KT_ASSERT(n > 0);
    KT_ASSERT_CONTAINS(buf, "Usage: knode kubelet [flags]");
    KT_ASSERT_CONTAINS(buf, "Runs the node agent.");
    KT_ASSERT_CONTAINS(buf, "--max-pods int");
    KT_ASSERT_CONTAINS(buf, "(default 110)");
    KT_ASSERT_CONTAINS(buf, "(default \"/etc/kubernetes/kubelet.conf\")");
    KT_ASSERT_CONTAINS(buf, "-n, --node-ip string");
    KT_ASSERT_CONTAINS(buf, "--sync-frequency duration");
    KT_ASSERT_CONTAINS(buf, "-h, --help");
}

KT_TEST(flags, unknown_flag_names_the_flag)
{
    kn_flagset fs = make_fs();
    kn_error *err = NULL;
    KT_ASSERT_FAILS(PARSE(&fs, &err, "--max-pods=3", "--no-such-flag=1"));
    KT_ASSERT_EQ(kn_error_code(err), KN_EINVAL);
    KT_ASSERT_STREQ(kn_error_msg(err), "unknown flag: --no-such-flag");
    kn_error_free(&err);
    KT_ASSERT_FAILS(PARSE(&fs, &err, "-q"));
    KT_ASSERT_STREQ(kn_error_msg(err), "unknown flag: -q");
    kn_error_free(&err);
}

KT_TEST(flags, missing_argument)
{
    kn_flagset fs = make_fs();
    kn_error *err = NULL;
    KT_ASSERT_FAILS(PARSE(&fs, &err, "--kubeconfig"));
    KT_ASSERT_STREQ(kn_error_msg(err), "flag needs an argument: --kubeconfig");
    kn_error_free(&err);
    KT_ASSERT_FAILS(PARSE(&fs, &err, "-n"));
    KT_ASSERT_STREQ(kn_error_msg(err), "flag needs an argument: -n");
    kn_error_free(&err);
    KT_ASSERT_FAILS(PARSE(&fs, &err, "-v"));
    KT_ASSERT_CONTAINS(kn_error_msg(err), "-v");
    kn_error_free(&err);
}

KT_TEST(flags, invalid_int_and_duration)
{
    kn_flagset fs = make_fs();
    kn_error *err = NULL;
    KT_ASSERT_FAILS(PARSE(&fs, &err, "--max-pods=lots"));
    KT_ASSERT_STREQ(kn_error_msg(err),
                    "invalid argument \"lots\" for \"--max-pods\" flag: not an int");
    kn_error_free(&err);
    KT_ASSERT_FAILS(PARSE(&fs, &err, "--max-pods", "12abc"));
    KT_ASSERT_CONTAINS(kn_error_msg(err), "\"12abc\"");
    kn_error_free(&err);
    KT_ASSERT_FAILS(PARSE(&fs, &err, "--max-pods="));
    kn_error_free(&err);
    KT_ASSERT_FAILS(PARSE(&fs, &err, "--max-pods=99999999999999999999"));
    kn_error_free(&err);
    KT_ASSERT_FAILS(PARSE(&fs, &err, "--sync-frequency=10"));
    KT_ASSERT_STREQ(kn_error_msg(err),
                    "invalid argument \"10\" for \"--sync-frequency\" flag: not a duration");
    kn_error_free(&err);
    KT_ASSERT_OK(PARSE(&fs, &err, "--max-pods=-7", "--sync-frequency=1h30m"), err);
    KT_ASSERT_EQ(o.max_pods, -7);
    KT_ASSERT_EQ(o.sync, 90 * 60 * KN_NSEC_PER_SEC);
}

KT_TEST(flags, double_dash_ends_flags)
{
    kn_flagset fs = make_fs();
    kn_error *err = NULL;
    int r = PARSE(&fs, &err, "--max-pods=5", "--", "--max-pods=6", "-x");
    KT_ASSERT_OK(r, err);
    KT_ASSERT_EQ(o.max_pods, 5);
    KT_ASSERT(!o.verbose_x);
    KT_ASSERT_EQ(fs.nargs, 2);
    KT_ASSERT_STREQ(fs.args[0], "--max-pods=6");
    KT_ASSERT_STREQ(fs.args[1], "-x");
}

KT_TEST(flags, positional_args)
{
    kn_flagset fs = make_fs();
    kn_error *err = NULL;
    int r = PARSE(&fs, &err, "--max-pods=5", "create", "-", "extra");
    KT_ASSERT_OK(r, err);
    KT_ASSERT_EQ(fs.nargs, 3);
    KT_ASSERT_STREQ(fs.args[0], "create");
    KT_ASSERT_STREQ(fs.args[1], "-");
    KT_ASSERT_STREQ(fs.args[2], "extra");
    r = PARSE(&fs, &err, "only");
    KT_ASSERT_OK(r, err);
    KT_ASSERT_EQ(fs.nargs, 1);
    KT_ASSERT_STREQ(fs.args[0], "only");
    KT_ASSERT_EQ(o.max_pods, 110); /* defaults re-applied on every parse */
}

KT_TEST(flags, string_values_may_be_empty_or_dashed)
{
    kn_flagset fs = make_fs();
    kn_error *err = NULL;
    KT_ASSERT_OK(PARSE(&fs, &err, "--kubeconfig=", "--node-ip", "-"), err);
    KT_ASSERT_STREQ(o.kubeconfig, "");
    KT_ASSERT_STREQ(o.node_ip, "-");
}

KT_TEST(flags, bad_default_is_reported)
{
    long long n;
    kn_flag bad[] = {{"count", 0, KN_FLAG_INT, &n, "ten", "a count"}};
    kn_flagset fs = {.command = "t", .flags = bad, .nflags = 1};
    kn_error *err = NULL;
    char *argv[] = {NULL};
    KT_ASSERT_FAILS(kn_flags_parse(&fs, 0, argv, &err));
    KT_ASSERT_CONTAINS(kn_error_msg(err), "default of --count");
    KT_ASSERT_CONTAINS(kn_error_msg(err), "\"ten\"");
    kn_error_free(&err);
}

/* pflag accepts a shorthand's value attached ("-n10.0.0.1"). */
KT_TEST(flags, shorthand_attached_value)
{
    kn_flagset fs = make_fs();
    kn_error *err = NULL;
    if (PARSE(&fs, &err, "-n10.0.0.1") < 0) {
        kn_error_free(&err);
        KT_FAIL("bug: \"-n10.0.0.1\" (pflag shorthand with attached value) fails with "
                "\"unknown flag: -n10.0.0.1\"");
    }
    KT_ASSERT_STREQ(o.node_ip, "10.0.0.1");
}

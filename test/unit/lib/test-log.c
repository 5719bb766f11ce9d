/* Tests for lib/log: line format, key=value quoting, verbosity gating,
 * captured through kn_log_set_sink. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/log.h"
#include "test/runner/kt.h"

typedef struct capture {
    int n;
    kn_log_level level[8];
    char line[8][9000];
} capture;

static capture cap;

static void sink(kn_log_level level, const char *line, void *ud)
{
    capture *c = ud;
    if (c->n < 8) {
        c->level[c->n] = level;
        snprintf(c->line[c->n], sizeof(c->line[0]), "%s", line);
    }
    c->n++;
}

static void start(void)
{
    memset(&cap, 0, sizeof(cap));
    kn_log_set_sink(sink, &cap);
}

/* The text after "<component>] ", checking the klog-style header before it:
 * "Lmmdd hh:mm:ss.uuuuuu <pid> <component>] ". */
static const char *body(const char *line, char letter, const char *component)
{
    KT_ASSERT_MSG(line[0] == letter, "level letter: %s", line);
    const char *digits = "1234 67:90:23.567890";
    for (size_t i = 0; i < strlen(digits); i++) {
        char want = digits[i];
        char got = line[1 + i];
        if (isdigit((unsigned char)want))
            KT_ASSERT_MSG(isdigit((unsigned char)got), "header digit %zu: %s", i, line);
        else
            KT_ASSERT_MSG(got == want, "header punctuation %zu: %s", i, line);
    }
    const char *p = line + 1 + strlen(digits);
    KT_ASSERT_MSG(*p == ' ', "space before pid: %s", line);
    char *end;
    long pid = strtol(p, &end, 10);
    KT_ASSERT_EQ(pid, getpid());
    char tail[128];
    snprintf(tail, sizeof(tail), " %s] ", component);
    KT_ASSERT_MSG(strncmp(end, tail, strlen(tail)) == 0, "component: %s", line);
    size_t len = strlen(line);
    KT_ASSERT_MSG(len > 0 && line[len - 1] == '\n', "newline: %s", line);
    return end + strlen(tail);
}

KT_TEST(log, message_format)
{
    start();
    KN_INFO("kubelet", "hello %d", 42);
    KN_WARN("proxy", "careful");
    KN_ERR(NULL, "broken: %s", "x");
    KT_ASSERT_EQ(cap.n, 3);
    KT_ASSERT_STREQ(body(cap.line[0], 'I', "kubelet"), "hello 42\n");
    KT_ASSERT_STREQ(body(cap.line[1], 'W', "proxy"), "careful\n");
    KT_ASSERT_STREQ(body(cap.line[2], 'E', "knode"), "broken: x\n");
    KT_ASSERT_EQ(cap.level[0], KN_LOG_INFO);
    KT_ASSERT_EQ(cap.level[1], KN_LOG_WARNING);
    KT_ASSERT_EQ(cap.level[2], KN_LOG_ERROR);
    kn_log_set_sink(NULL, NULL);
}

KT_TEST(log, kv_plain_values_unquoted)
{
    start();
    kn_log_kv(KN_LOG_INFO, "kubelet", "pod started", "pod", "default/web", "restarts", "0", NULL);
    KT_ASSERT_EQ(cap.n, 1);
    KT_ASSERT_STREQ(body(cap.line[0], 'I', "kubelet"),
                    "\"pod started\" pod=default/web restarts=0\n");
    kn_log_set_sink(NULL, NULL);
}

KT_TEST(log, kv_quoting_and_escaping)
{
    start();
    kn_log_kv(KN_LOG_ERROR, "dns", "say \"hi\"\n", "space", "a b", "eq", "k=v", "quote", "x\"y",
              "backslash", "c:\\d", "newline", "l1\nl2", "empty", "", "nil", NULL, NULL);
    KT_ASSERT_EQ(cap.n, 1);
    KT_ASSERT_STREQ(body(cap.line[0], 'E', "dns"),
                    "\"say \\\"hi\\\"\\n\" space=\"a b\" eq=\"k=v\" quote=\"x\\\"y\" "
                    "backslash=\"c:\\\\d\" newline=\"l1\\nl2\" empty=\"\" nil=<nil>\n");
    kn_log_set_sink(NULL, NULL);
}

KT_TEST(log, kv_tab_is_quoted_and_escaped)
{
    start();
    kn_log_kv(KN_LOG_INFO, "x", "m\tx", "tab", "a\tb", NULL);
    KT_ASSERT_STREQ(body(cap.line[0], 'I', "x"), "\"m\\x09x\" tab=\"a\\x09b\"\n");
    kn_log_set_sink(NULL, NULL);
}

/* A value with other control characters (CR, ESC, BEL) must not reach the
 * log raw: a CR lets a value forge the look of a line, ESC drives terminals. */
KT_TEST(log, kv_other_control_characters_are_escaped)
{
    start();
    kn_log_kv(KN_LOG_INFO, "x", "m", "cr", "a\rb", "esc", "\x1b[31m", "bell", "\a", NULL);
    const char *want = "\"m\" cr=\"a\\x0db\" esc=\"\\x1b[31m\" bell=\"\\x07\"\n";
    const char *got = body(cap.line[0], 'I', "x");
    kn_log_set_sink(NULL, NULL);
    if (strcmp(got, want) != 0)
        KT_FAIL("bug: kn_log_kv writes values containing control characters other than \\t/\\n "
                "unquoted and raw (needs_quotes() only checks \" \\t\\n\\\"=\\\\\"), e.g. "
                "cr=\"a\\rb\" comes out as cr=a<CR>b");
}

KT_TEST(log, verbosity_gating)
{
    start();
    kn_log_set_verbosity(0);
    KT_ASSERT_EQ(kn_log_get_verbosity(), 0);
    KT_ASSERT(kn_log_v(0));
    KT_ASSERT(!kn_log_v(1));
    KN_V(1, "c", "hidden");
    KN_V(0, "c", "shown0");
    KT_ASSERT_EQ(cap.n, 1);
    kn_log_set_verbosity(3);
    KN_V(3, "c", "shown3");
    KN_V(4, "c", "hidden4");
    KT_ASSERT_EQ(cap.n, 2);
    KT_ASSERT_STREQ(body(cap.line[1], 'I', "c"), "shown3\n");
    /* arguments of a gated-off line are not evaluated */
    int evaluated = 0;
    KN_V(9, "c", "%d", ++evaluated);
    KT_ASSERT_EQ(evaluated, 0);
    kn_log_set_verbosity(0);
    kn_log_set_sink(NULL, NULL);
}

KT_TEST(log, long_lines_are_truncated_with_newline)
{
    start();
    char *big = malloc(20000);
    memset(big, 'y', 19999);
    big[19999] = '\0';
    KN_INFO("c", "%s", big);
    kn_log_kv(KN_LOG_INFO, "c", "m", "v", big, NULL);
    free(big);
    KT_ASSERT_EQ(cap.n, 2);
    for (int i = 0; i < 2; i++) {
        size_t len = strlen(cap.line[i]);
        KT_ASSERT(len > 8000 && len < 8192);
        KT_ASSERT_EQ(cap.line[i][len - 1], '\n');
    }
    kn_log_set_sink(NULL, NULL);
}

KT_TEST(log, default_sink_writes_stderr)
{
    /* with the sink reset, lines go to fd 2: redirect it into a pipe */
    int fds[2];
    KT_ASSERT_EQ(pipe(fds), 0);
    int saved = dup(STDERR_FILENO);
    dup2(fds[1], STDERR_FILENO);
    kn_log_set_sink(NULL, NULL);
    KN_INFO("c", "to stderr");
    dup2(saved, STDERR_FILENO);
    close(saved);
    close(fds[1]);
    char buf[256] = {0};
    ssize_t n = read(fds[0], buf, sizeof(buf) - 1);
    close(fds[0]);
    KT_ASSERT(n > 0);
    KT_ASSERT_STREQ(body(buf, 'I', "c"), "to stderr\n");
}

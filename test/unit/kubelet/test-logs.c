/* Tests for kubelet/crilog (the CRI log line) and kubelet/logs (PodLogOptions
 * from a query and the log reader: tail, since, timestamps, limitBytes,
 * partial lines, follow with growth, rotation and the container stopping). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "kubelet/crilog.h"
#include "kubelet/logs.h"
#include "lib/cleanup.h"
#include "lib/strbuf.h"
#include "lib/xalloc.h"
#include "test/runner/kt.h"

/* ---- crilog ---------------------------------------------------------------------------------- */

static int parse(const char *s, kl_crilog_line *c)
{
    return kl_crilog_parse(s, strlen(s), c);
}

KT_TEST(crilog, full_and_partial_lines)
{
    kl_crilog_line c;
    KT_ASSERT_EQ(parse("2024-01-02T03:04:05.123456789Z stdout F hello world\n", &c), 0);
    KT_ASSERT_EQ(c.stream, KL_LOG_STDOUT);
    KT_ASSERT(!c.partial && c.newline);
    KT_ASSERT_EQ(c.msg_len, 11);
    KT_ASSERT(memcmp(c.msg, "hello world", 11) == 0);
    KT_ASSERT_EQ(c.ts_len, 30);
    KT_ASSERT_EQ(c.time_ns, 1704164645123456789LL);
    KT_ASSERT_EQ(parse("2024-01-02T03:04:05+01:00 stderr P part", &c), 0);
    KT_ASSERT(c.partial && !c.newline && c.stream == KL_LOG_STDERR);
    KT_ASSERT_EQ(c.time_ns, 1704164645LL * 1000000000 - 3600LL * 1000000000);
    /* later tags are ignored; "P:x" is still partial */
    KT_ASSERT_EQ(parse("2024-01-02T03:04:05Z stdout P:x y\n", &c), 0);
    KT_ASSERT(c.partial);
    KT_ASSERT_EQ(parse("2024-01-02T03:04:05Z stdout F \n", &c), 0);
    KT_ASSERT_EQ(c.msg_len, 0);
    /* spaces inside the message stay */
    KT_ASSERT_EQ(parse("2024-01-02T03:04:05Z stdout F  a  b \n", &c), 0);
    KT_ASSERT_EQ(c.msg_len, 6);
}

KT_TEST(crilog, rejects_bad_lines)
{
    kl_crilog_line c;
    KT_ASSERT_EQ(parse("", &c), -EINVAL);
    KT_ASSERT_EQ(parse("\n", &c), -EINVAL);
    KT_ASSERT_EQ(parse("yesterday stdout F x\n", &c), -EINVAL);
    KT_ASSERT_EQ(parse("2024-01-02T03:04:05Z stdin F x\n", &c), -EINVAL);
    KT_ASSERT_EQ(parse("2024-01-02T03:04:05Z stdout F\n", &c), -EINVAL); /* no tag separator */
    KT_ASSERT_EQ(parse("2024-01-02T03:04:05Z stdout\n", &c), -EINVAL);
    KT_ASSERT_EQ(parse("{\"log\":\"x\\n\",\"stream\":\"stdout\"}\n", &c), -EINVAL);
    /* a NUL inside the time */
    KT_ASSERT_EQ(kl_crilog_parse("2024-01-02T03:04\0:05Z stdout F x", 32, &c), -EINVAL);
}

/* ---- options
 * ------------------------------------------------------------------------------------- */

/* A query as "k=v&k2=v2". */
static const char *lookup(void *arg, const char *key)
{
    static char val[256];
    const char *q = arg;
    size_t klen = strlen(key);
    for (const char *p = q; p && *p;) {
        const char *amp = strchr(p, '&');
        size_t n = amp ? (size_t)(amp - p) : strlen(p);
        if (n >= klen && strncmp(p, key, klen) == 0 && (n == klen || p[klen] == '=')) {
            size_t vl = n > klen ? n - klen - 1 : 0;
            snprintf(val, sizeof(val), "%.*s", (int)vl, p + klen + 1);
            return n > klen ? val : "";
        }
        p = amp ? amp + 1 : NULL;
    }
    return NULL;
}

static int opts(const char *q, kl_log_opts *o, kn_error **err)
{
    return kl_log_opts_parse(o, lookup, (void *)q, 1000LL * 1000000000, err);
}

KT_TEST(logs, options_decode_as_upstream)
{
    kl_log_opts o;
    cleanup_error kn_error *err = NULL;
    KT_ASSERT_OK(opts("", &o, &err), err);
    KT_ASSERT(!o.follow && !o.previous && !o.timestamps);
    KT_ASSERT_EQ(o.tail_lines, -1);
    KT_ASSERT_EQ(o.limit_bytes, -1);
    KT_ASSERT_EQ(o.since_ns, 0);
    KT_ASSERT_OK(opts("follow=true&previous=1&timestamps=&tailLines=5&limitBytes=10", &o, &err),
                 err);
    KT_ASSERT(o.follow && o.previous && o.timestamps);
    KT_ASSERT_EQ(o.tail_lines, 5);
    KT_ASSERT_EQ(o.limit_bytes, 10);
    KT_ASSERT_OK(opts("follow=False&timestamps=0", &o, &err), err);
    KT_ASSERT(!o.follow && !o.timestamps);
    KT_ASSERT_OK(opts("sinceSeconds=10", &o, &err), err);
    KT_ASSERT_EQ(o.since_ns, 990LL * 1000000000);
    KT_ASSERT_OK(opts("sinceTime=1970-01-01T00:16:00Z", &o, &err), err);
    KT_ASSERT_EQ(o.since_ns, 960LL * 1000000000);
    KT_ASSERT_OK(opts("tail=3", &o, &err), err);
    KT_ASSERT_EQ(o.tail_lines, 3);
    KT_ASSERT_OK(opts("tail=all&tailLines=3", &o, &err), err);
    KT_ASSERT_EQ(o.tail_lines, -1);
    KT_ASSERT_OK(opts("tailLines=0", &o, &err), err);
    KT_ASSERT_EQ(o.tail_lines, 0);
}

KT_TEST(logs, options_rejected_as_upstream)
{
    kl_log_opts o;
    kn_error *err = NULL;
    KT_ASSERT_EQ(opts("tailLines=x", &o, &err), -KN_EINVAL);
    kn_error_free(&err);
    KT_ASSERT_EQ(opts("sinceTime=yesterday", &o, &err), -KN_EINVAL);
    kn_error_free(&err);
    KT_ASSERT_EQ(opts("tailLines=-1", &o, &err), -KN_ERANGE);
    KT_ASSERT_CONTAINS(kn_error_msg(err), "must be greater than or equal to 0");
    kn_error_free(&err);
    KT_ASSERT_EQ(opts("limitBytes=0", &o, &err), -KN_ERANGE);
    KT_ASSERT_CONTAINS(kn_error_msg(err), "limitBytes");
    kn_error_free(&err);
    KT_ASSERT_EQ(opts("sinceSeconds=0", &o, &err), -KN_ERANGE);
    kn_error_free(&err);
    KT_ASSERT_EQ(opts("sinceSeconds=5&sinceTime=2024-01-02T03:04:05Z", &o, &err), -KN_ERANGE);
    KT_ASSERT_CONTAINS(kn_error_msg(err), "at most one of");
    kn_error_free(&err);
}

/* ---- the reader
 * ---------------------------------------------------------------------------------- */

static const char LOG[] = "2024-01-02T03:04:01Z stdout F one\n"
                          "2024-01-02T03:04:02Z stderr F two\n"
                          "2024-01-02T03:04:03Z stdout P th\n"
                          "2024-01-02T03:04:03.5Z stderr F four\n"
                          "2024-01-02T03:04:04Z stdout P re\n"
                          "not a CRI line\n"
                          "2024-01-02T03:04:04Z stdout F e\n"
                          "2024-01-02T03:04:05Z stdout F five\n";

static char *write_log(const char *name, const char *text)
{
    char *path = xasprintf("%s/%s", kt_tmpdir(), name);
    FILE *f = fopen(path, "w");
    KT_ASSERT(f && fputs(text, f) >= 0 && fclose(f) == 0);
    return path;
}

static void append(const char *path, const char *text)
{
    FILE *f = fopen(path, "a");
    KT_ASSERT(f && fputs(text, f) >= 0 && fclose(f) == 0);
}

/* Everything the reader gives for the query q. */
static char *read_all(const char *path, const char *q)
{
    kl_log_opts o;
    cleanup_error kn_error *err = NULL;
    KT_ASSERT_OK(opts(q, &o, &err), err);
    o.since_ns = o.since_ns ? o.since_ns : 0;
    kl_log_reader *r = NULL;
    KT_ASSERT_OK(kl_log_reader_open(path, &o, NULL, &r, &err), err);
    kn_buf b = KN_BUF_INIT;
    char buf[7]; /* small reads on purpose */
    ssize_t n;
    while ((n = kl_log_reader_read(r, buf, sizeof(buf))) > 0)
        kn_buf_append(&b, buf, (size_t)n);
    kl_log_reader_free(r);
    return kn_buf_steal(&b);
}

#define ASSERT_READ(q, want)                                                                       \
    do {                                                                                           \
        cleanup_free char *got_ = read_all(path, q);                                               \
        KT_ASSERT_STREQ(got_, want);                                                               \
    } while (0)

KT_TEST(logs, reads_with_options)
{
    cleanup_free char *path = write_log("0.log", LOG);
    /* partial parts are joined, with the first part's time */
    ASSERT_READ("", "one\ntwo\nfour\nthree\nfive\n");
    ASSERT_READ("tailLines=3", "four\nthree\nfive\n");
    /* the tail starts after "th": the rest of that line is not shown */
    ASSERT_READ("tailLines=2", "four\nfive\n");
    ASSERT_READ("tailLines=100", "one\ntwo\nfour\nthree\nfive\n");
    ASSERT_READ("tailLines=0", "");
    ASSERT_READ("limitBytes=6", "one\ntw");
    ASSERT_READ("tailLines=1&timestamps=true", "2024-01-02T03:04:05Z five\n");
    ASSERT_READ("timestamps=1&limitBytes=30", "2024-01-02T03:04:01Z one\n2024-");
    ASSERT_READ("sinceTime=2024-01-02T03:04:03Z", "four\nthree\nfive\n");
    ASSERT_READ("sinceTime=2024-01-02T03:04:03.6Z", "five\n");
    ASSERT_READ("sinceTime=2030-01-01T00:00:00Z", "");
    /* sinceSeconds is relative to now: the whole 2024 log is older than 10 s */
    cleanup_free char *got = read_all(path, "sinceSeconds=10");
    KT_ASSERT_STREQ(got, "one\ntwo\nfour\nthree\nfive\n"); /* "now" is 1000 s after 1970 here */
}

KT_TEST(logs, tail_skips_the_rest_of_an_earlier_line)
{
    cleanup_free char *path = write_log("1.log", "2024-01-02T03:04:01Z stdout P a\n"
                                                 "2024-01-02T03:04:02Z stderr F b\n"
                                                 "2024-01-02T03:04:03Z stdout F c\n");
    ASSERT_READ("tailLines=1", "b\n");
    ASSERT_READ("tailLines=2", "b\nac\n");
}

KT_TEST(logs, incomplete_last_line_and_open_parts)
{
    cleanup_free char *path = write_log("2.log", "2024-01-02T03:04:01Z stdout F one\n"
                                                 "2024-01-02T03:04:02Z stdout P par\n"
                                                 "2024-01-02T03:04:03Z stderr F no-newline");
    ASSERT_READ("", "one\nno-newlinepar");
    ASSERT_READ("tailLines=1", "no-newlinepar");
}

typedef struct follow_state {
    volatile bool running;
} follow_state;

static bool is_running(void *arg)
{
    return ((follow_state *)arg)->running;
}

/* Reads until the output holds want (or the reader ends). */
static void read_until(kl_log_reader *r, kn_buf *b, const char *want)
{
    char buf[64];
    while (!strstr(b->data, want)) {
        ssize_t n = kl_log_reader_read(r, buf, sizeof(buf));
        KT_ASSERT_MSG(n > 0, "reader ended before \"%s\": \"%s\"", want, b->data);
        kn_buf_append(b, buf, (size_t)n);
    }
}

KT_TEST(logs, follows_growth_rotation_and_stop)
{
    cleanup_free char *path = write_log("3.log", "2024-01-02T03:04:01Z stdout F a\n");
    cleanup_free char *old = xasprintf("%s.20240102-030405", path);
    follow_state fs = {.running = true};
    kl_log_follow f = {.running = is_running, .arg = &fs, .client_fd = -1};
    kl_log_opts o = {.follow = true, .tail_lines = -1, .limit_bytes = -1};
    kl_log_reader *r = NULL;
    cleanup_error kn_error *err = NULL;
    KT_ASSERT_OK(kl_log_reader_open(path, &o, &f, &r, &err), err);
    kn_buf b = KN_BUF_INIT;
    read_until(r, &b, "a\n");
    append(path, "2024-01-02T03:04:02Z stdout F b\n");
    read_until(r, &b, "a\nb\n");
    /* rotation: renamed, a late write to the old file, then a new file */
    KT_ASSERT(rename(path, old) == 0);
    append(old, "2024-01-02T03:04:03Z stdout F c\n");
    append(path, "2024-01-02T03:04:04Z stdout F d\n");
    read_until(r, &b, "a\nb\nc\nd\n");
    append(path, "2024-01-02T03:04:05Z stdout F e\n");
    fs.running = false;
    read_until(r, &b, "a\nb\nc\nd\ne\n");
    char buf[16];
    KT_ASSERT_EQ(kl_log_reader_read(r, buf, sizeof(buf)), 0);
    kl_log_reader_free(r);
    kn_buf_free(&b);
}

KT_TEST(logs, follow_ends_when_the_client_goes_away)
{
    cleanup_free char *path = write_log("4.log", "2024-01-02T03:04:01Z stdout F a\n");
    int sv[2];
    KT_ASSERT(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    follow_state fs = {.running = true};
    kl_log_follow f = {.running = is_running, .arg = &fs, .client_fd = sv[0]};
    kl_log_opts o = {.follow = true, .tail_lines = -1, .limit_bytes = -1};
    kl_log_reader *r = NULL;
    cleanup_error kn_error *err = NULL;
    KT_ASSERT_OK(kl_log_reader_open(path, &o, &f, &r, &err), err);
    char buf[64];
    KT_ASSERT_EQ(kl_log_reader_read(r, buf, sizeof(buf)), 2);
    close(sv[1]);
    KT_ASSERT_EQ(kl_log_reader_read(r, buf, sizeof(buf)), 0);
    kl_log_reader_free(r);
    close(sv[0]);
}

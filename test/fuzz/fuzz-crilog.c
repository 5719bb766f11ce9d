/* fuzz-crilog.c - kubelet/crilog and the log reader of kubelet/logs. The
 * input is a log file. Laws (abort on violation): every line that parses
 * points inside the line and re-serializes to a line that parses the same;
 * the reader's output without timestamps is never longer than the input;
 * with limitBytes=L it is the first L bytes of the unlimited output; with a
 * tail it never fails. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kubelet/crilog.h"
#include "kubelet/logs.h"
#include "lib/strbuf.h"

static void fail(const char *what)
{
    fprintf(stderr, "fuzz-crilog: %s\n", what);
    abort();
}

static void check_line(const char *l, size_t n)
{
    kl_crilog_line c;
    if (kl_crilog_parse(l, n, &c) < 0)
        return;
    if (c.ts != l || c.ts_len >= 64 || c.msg < l || c.msg + c.msg_len > l + n)
        fail("fields outside the line");
    kn_buf b = KN_BUF_INIT;
    kn_buf_append(&b, c.ts, c.ts_len);
    kn_buf_appendf(&b, " %s %s ", c.stream == KL_LOG_STDERR ? "stderr" : "stdout",
                   c.partial ? "P" : "F");
    kn_buf_append(&b, c.msg, c.msg_len);
    if (c.newline)
        kn_buf_append_char(&b, '\n');
    kl_crilog_line d;
    if (kl_crilog_parse(b.data, b.len, &d) < 0 || d.time_ns != c.time_ns || d.stream != c.stream ||
        d.partial != c.partial || d.msg_len != c.msg_len || memcmp(d.msg, c.msg, c.msg_len) != 0 ||
        d.newline != c.newline)
        fail("re-serialized line differs");
    kn_buf_free(&b);
}

static char *read_log(const char *path, const kl_log_opts *o, size_t *len)
{
    kl_log_reader *r = NULL;
    kn_error *err = NULL;
    kn_buf b = KN_BUF_INIT;
    if (kl_log_reader_open(path, o, NULL, &r, &err) < 0)
        fail(kn_error_msg(err));
    char buf[1000];
    ssize_t n;
    while ((n = kl_log_reader_read(r, buf, sizeof(buf))) > 0)
        kn_buf_append(&b, buf, (size_t)n);
    kl_log_reader_free(r);
    *len = b.len;
    return kn_buf_steal(&b);
}

static void check_reader(const uint8_t *data, size_t size)
{
    int fd = memfd_create("crilog", 0);
    if (fd < 0 || write(fd, data, size) != (ssize_t)size)
        fail("memfd");
    char path[64];
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    kl_log_opts o = {.tail_lines = -1, .limit_bytes = -1};
    size_t all_len, cut_len, tail_len;
    char *all = read_log(path, &o, &all_len);
    if (all_len > size)
        fail("output longer than the input");
    o.limit_bytes = size ? (int64_t)(data[0] % 64) + 1 : 1;
    char *cut = read_log(path, &o, &cut_len);
    size_t want = all_len < (size_t)o.limit_bytes ? all_len : (size_t)o.limit_bytes;
    if (cut_len != want || memcmp(cut, all, cut_len) != 0)
        fail("limitBytes output is not a prefix");
    o = (kl_log_opts){
        .tail_lines = size ? data[size - 1] % 8 : 0, .limit_bytes = -1, .timestamps = true};
    free(read_log(path, &o, &tail_len));
    free(all);
    free(cut);
    close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data, *end = p + size;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) + 1 : (size_t)(end - p);
        check_line(p, n);
        p += n;
    }
    check_reader(data, size);
    return 0;
}

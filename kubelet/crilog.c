/* crilog.c - the CRI log line parser (see crilog.h). */
#include "kubelet/crilog.h"

#include <errno.h>
#include <string.h>

#include "kubelet/podspec.h"

/* The next space-terminated field of [*p, end): sets *f and *n and moves
 * past the space; false when there is no space. */
static bool field(const char **p, const char *end, const char **f, size_t *n)
{
    const char *sp = memchr(*p, ' ', (size_t)(end - *p));
    if (!sp)
        return false;
    *f = *p;
    *n = (size_t)(sp - *p);
    *p = sp + 1;
    return true;
}

static bool parse_time(const char *ts, size_t n, int64_t *ns)
{
    char buf[64];
    if (n == 0 || n >= sizeof(buf) || memchr(ts, '\0', n))
        return false;
    memcpy(buf, ts, n);
    buf[n] = '\0';
    return kl_parse_rfc3339(buf, ns);
}

static bool parse_stream(const char *s, size_t n, kl_log_stream *out)
{
    if (n == 6 && memcmp(s, "stdout", 6) == 0)
        *out = KL_LOG_STDOUT;
    else if (n == 6 && memcmp(s, "stderr", 6) == 0)
        *out = KL_LOG_STDERR;
    else
        return false;
    return true;
}

int kl_crilog_parse(const char *line, size_t len, kl_crilog_line *out)
{
    const char *p = line, *end = line + len;
    memset(out, 0, sizeof(*out));
    if (len > 0 && end[-1] == '\n') {
        out->newline = true;
        end--;
    }
    const char *stream, *tags;
    size_t nstream, ntags;
    if (!field(&p, end, &out->ts, &out->ts_len) ||
        !parse_time(out->ts, out->ts_len, &out->time_ns) || !field(&p, end, &stream, &nstream) ||
        !parse_stream(stream, nstream, &out->stream) || !field(&p, end, &tags, &ntags))
        return -EINVAL;
    const char *colon = memchr(tags, ':', ntags);
    size_t first = colon ? (size_t)(colon - tags) : ntags;
    out->partial = first == 1 && tags[0] == 'P';
    out->msg = p;
    out->msg_len = (size_t)(end - p);
    return 0;
}

#include "lib/log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

int kn_log_verbosity_ = 0;
static kn_log_sink log_sink = NULL;
static void *log_sink_userdata = NULL;

void kn_log_set_verbosity(int v)
{
    __atomic_store_n(&kn_log_verbosity_, v, __ATOMIC_RELAXED);
}

int kn_log_get_verbosity(void)
{
    return __atomic_load_n(&kn_log_verbosity_, __ATOMIC_RELAXED);
}

void kn_log_set_sink(kn_log_sink sink, void *userdata)
{
    log_sink = sink;
    log_sink_userdata = userdata;
}

enum { LINE_MAX_LEN = 8192 };

/* Appends to a fixed buffer, truncating; keeps room for "\n\0". */
typedef struct line_buf {
    char data[LINE_MAX_LEN];
    size_t len;
} line_buf;

static void lb_vappend(line_buf *lb, const char *fmt, va_list ap)
{
    size_t room = sizeof(lb->data) - 2 - lb->len;
    if (room == 0)
        return;
    int n = vsnprintf(lb->data + lb->len, room + 1, fmt, ap);
    if (n > 0)
        lb->len += (size_t)n < room ? (size_t)n : room;
}

static void __attribute__((format(printf, 2, 3))) lb_append(line_buf *lb, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    lb_vappend(lb, fmt, ap);
    va_end(ap);
}

static void lb_header(line_buf *lb, kn_log_level level, const char *component)
{
    static const char letters[] = "EWI";
    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    localtime_r(&tv.tv_sec, &tm);
    lb_append(lb, "%c%02d%02d %02d:%02d:%02d.%06ld %6d %s] ", letters[level], tm.tm_mon + 1,
              tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (long)tv.tv_usec, (int)getpid(),
              component ? component : "knode");
}

static void lb_emit(line_buf *lb, kn_log_level level)
{
    lb->data[lb->len++] = '\n';
    lb->data[lb->len] = '\0';
    if (log_sink) {
        log_sink(level, lb->data, log_sink_userdata);
        return;
    }
    int saved = errno;
    ssize_t r = write(STDERR_FILENO, lb->data, lb->len);
    (void)r;
    errno = saved;
}

void kn_log_msgv(kn_log_level level, const char *component, const char *fmt, va_list ap)
{
    line_buf lb = {.len = 0};
    lb_header(&lb, level, component);
    lb_vappend(&lb, fmt, ap);
    lb_emit(&lb, level);
}

void kn_log_msg(kn_log_level level, const char *component, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    kn_log_msgv(level, component, fmt, ap);
    va_end(ap);
}

static void lb_quoted(line_buf *lb, const char *s)
{
    lb_append(lb, "\"");
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            lb_append(lb, "\\%c", *s);
        else if (*s == '\n')
            lb_append(lb, "\\n");
        else if ((unsigned char)*s < 0x20 || *s == 0x7f)
            lb_append(lb, "\\x%02x", (unsigned char)*s);
        else
            lb_append(lb, "%c", *s);
    }
    lb_append(lb, "\"");
}

static int needs_quotes(const char *s)
{
    if (!*s)
        return 1;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c < 0x20 || c == 0x7f || c == ' ' || c == '"' || c == '=' || c == '\\')
            return 1;
    }
    return 0;
}

void kn_log_kv(kn_log_level level, const char *component, const char *msg, ...)
{
    line_buf lb = {.len = 0};
    lb_header(&lb, level, component);
    lb_quoted(&lb, msg);
    va_list ap;
    va_start(ap, msg);
    const char *key;
    while ((key = va_arg(ap, const char *)) != NULL) {
        const char *val = va_arg(ap, const char *);
        if (!val)
            val = "<nil>";
        lb_append(&lb, " %s=", key);
        if (needs_quotes(val))
            lb_quoted(&lb, val);
        else
            lb_append(&lb, "%s", val);
    }
    va_end(ap);
    lb_emit(&lb, level);
}

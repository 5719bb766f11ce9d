/* logs.c - PodLogOptions and the CRI log reader (see logs.h). */
#include "kubelet/logs.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kubelet/crilog.h"
#include "kubelet/podspec.h"
#include "lib/clock.h"
#include "lib/strbuf.h"
#include "lib/xalloc.h"

#define SEC 1000000000LL
#define CHUNK 65536
#define MAX_LINE (4 * 1024 * 1024) /* a longer raw line is cut (never seen from a runtime) */

/* ---- options --------------------------------------------------------------------------------- */

/* upstream Convert_Slice_string_To_bool: present and neither "0" nor "false" */
static bool query_bool(kl_query_fn get, void *arg, const char *key)
{
    const char *v = get(arg, key);
    return v && strcmp(v, "0") != 0 && strcasecmp(v, "false") != 0;
}

/* An optional int64: *set false when absent or empty. */
static int query_int(kl_query_fn get, void *arg, const char *key, int64_t *v, bool *set,
                     kn_error **err)
{
    const char *s = get(arg, key);
    *set = s && *s;
    if (!*set)
        return 0;
    char *end = NULL;
    errno = 0;
    long long n = strtoll(s, &end, 10);
    if (errno || *end || end == s)
        return kn_error_set(err, KN_EINVAL, "%s: invalid value \"%s\": not an integer", key, s);
    *v = n;
    return 0;
}

static int decode_opts(kl_log_opts *o, kl_query_fn get, void *arg, int64_t now_ns, kn_error **err)
{
    *o = (kl_log_opts){.tail_lines = -1, .limit_bytes = -1};
    o->follow = query_bool(get, arg, "follow");
    o->previous = query_bool(get, arg, "previous");
    o->timestamps = query_bool(get, arg, "timestamps");
    bool has_tail = false, has_limit, has_since;
    int64_t since_s = 0;
    const char *tail = get(arg, "tail"); /* the old name; "all" is no limit */
    if (tail && *tail && strcmp(tail, "all") != 0) {
        if (query_int(get, arg, "tail", &o->tail_lines, &has_tail, err) < 0)
            return -KN_EINVAL;
    } else if ((!tail || !*tail) &&
               query_int(get, arg, "tailLines", &o->tail_lines, &has_tail, err) < 0) {
        return -KN_EINVAL;
    }
    if (query_int(get, arg, "limitBytes", &o->limit_bytes, &has_limit, err) < 0 ||
        query_int(get, arg, "sinceSeconds", &since_s, &has_since, err) < 0)
        return -KN_EINVAL;
    const char *st = get(arg, "sinceTime");
    int64_t since_time = 0;
    if (st && *st && !kl_parse_rfc3339(st, &since_time))
        return kn_error_set(err, KN_EINVAL, "sinceTime: invalid value \"%s\": not RFC 3339", st);
    if (has_tail && o->tail_lines < 0)
        return kn_error_set(err, KN_ERANGE,
                            "tailLines: Invalid value: %lld: must be greater than or equal to 0",
                            (long long)o->tail_lines);
    if (has_limit && o->limit_bytes < 1)
        return kn_error_set(err, KN_ERANGE,
                            "limitBytes: Invalid value: %lld: must be greater than 0",
                            (long long)o->limit_bytes);
    if (has_since && st && *st)
        return kn_error_set(err, KN_ERANGE,
                            "Forbidden: at most one of `sinceTime` or `sinceSeconds` may be "
                            "specified");
    if (has_since && since_s < 1)
        return kn_error_set(err, KN_ERANGE,
                            "sinceSeconds: Invalid value: %lld: must be greater than 0",
                            (long long)since_s);
    /* upstream NewLogOptions: the later of now-sinceSeconds and sinceTime */
    if (has_since)
        o->since_ns = since_s > INT64_MAX / SEC ? 1 : now_ns - since_s * SEC;
    if (st && *st && since_time > o->since_ns)
        o->since_ns = since_time;
    return 0;
}

int kl_log_opts_parse(kl_log_opts *o, kl_query_fn get, void *arg, int64_t now_ns, kn_error **err)
{
    return decode_opts(o, get, arg, now_ns, err);
}

/* ---- raw lines from a file ---------------------------------------------------------------------
 */

typedef struct line_src {
    int fd;
    kn_buf buf;
    size_t off;
    off_t pos; /* file offset of buf.data[off] */
} line_src;

/* Reads more of the file; >0 bytes, 0 at EOF, -1 on error. */
static ssize_t src_fill(line_src *s)
{
    if (s->off > 0 && s->off == s->buf.len) {
        kn_buf_reset(&s->buf);
        s->off = 0;
    } else if (s->off > CHUNK) {
        memmove(s->buf.data, s->buf.data + s->off, s->buf.len - s->off);
        kn_buf_truncate(&s->buf, s->buf.len - s->off);
        s->off = 0;
    }
    kn_buf_reserve(&s->buf, CHUNK);
    ssize_t n;
    do
        n = read(s->fd, s->buf.data + s->buf.len, CHUNK);
    while (n < 0 && errno == EINTR);
    if (n > 0) {
        s->buf.len += (size_t)n;
        s->buf.data[s->buf.len] = '\0';
    }
    return n;
}

/* The next complete line ('\n' included) in the buffer; with final, the
 * incomplete rest too. *at: its file offset. */
static bool src_line(line_src *s, bool final, const char **line, size_t *len, off_t *at)
{
    size_t avail = s->buf.len - s->off;
    if (avail == 0)
        return false;
    const char *p = s->buf.data + s->off;
    const char *nl = memchr(p, '\n', avail);
    size_t n = nl ? (size_t)(nl - p) + 1 : avail;
    if (!nl && !final && avail < MAX_LINE)
        return false;
    *line = p;
    *len = n;
    *at = s->pos;
    s->off += n;
    s->pos += (off_t)n;
    return true;
}

/* ---- where --tail starts ------------------------------------------------------------------------
 */

/* Calls fn with the file offset of each logical line's first part (a run
 * of P parts and their F on one stream is one line) and which streams
 * have a line open there. Returns the offset just past the last complete
 * raw line. */
static off_t scan_lines(int fd, void (*fn)(void *, off_t, const bool *), void *arg)
{
    line_src s = {.fd = fd, .buf = KN_BUF_INIT};
    bool open[2] = {false, false};
    off_t end = 0;
    if (lseek(fd, 0, SEEK_SET) < 0)
        return 0;
    for (;;) {
        const char *l;
        size_t n;
        off_t at;
        while (src_line(&s, false, &l, &n, &at)) {
            kl_crilog_line c;
            end = at + (off_t)n;
            if (kl_crilog_parse(l, n, &c) < 0)
                continue;
            if (!open[c.stream])
                fn(arg, at, open);
            open[c.stream] = c.partial;
        }
        if (src_fill(&s) <= 0)
            break;
    }
    kn_buf_free(&s.buf);
    return end;
}

typedef struct tail_count {
    int64_t n, want;
    off_t found;
    bool open[2];
} tail_count;

static void count_line(void *arg, off_t at, const bool *open)
{
    tail_count *t = arg;
    if (t->n++ == t->want) {
        t->found = at;
        memcpy(t->open, open, sizeof(t->open));
    }
}

/* The offset of the n-th logical line from the end; skip[s]: a line of
 * stream s began before it (its later parts are to be skipped). */
static off_t tail_offset(int fd, int64_t n, bool skip[2])
{
    tail_count t = {.want = -1, .found = -1};
    off_t end = scan_lines(fd, count_line, &t);
    if (n >= t.n)
        return 0;
    t = (tail_count){.want = t.n - n, .found = -1};
    end = scan_lines(fd, count_line, &t);
    if (t.found < 0)
        return end;
    memcpy(skip, t.open, sizeof(t.open));
    return t.found;
}

/* ---- the reader --------------------------------------------------------------------------------
 */

typedef struct pending {
    bool open;
    kn_buf text;
    char ts[64];
    int64_t time_ns;
} pending;

struct kl_log_reader {
    char *path;
    kl_log_opts o;
    kl_log_follow f;
    line_src src;
    dev_t dev;
    ino_t ino;
    int inotify; /* -1: none (poll every 250 ms) */
    pending pend[2];
    bool skip[2]; /* drop the rest of a line that began before the tail */
    kn_buf out;
    size_t out_off;
    int64_t emitted;
    int64_t last_check; /* monotonic ns of the last running() */
    bool stopped;       /* the container stopped: end at the next end of file */
    bool done;
};

/* Appends output, cut at limitBytes. */
static void put(kl_log_reader *r, const char *data, size_t n)
{
    if (r->o.limit_bytes >= 0 && (int64_t)n > r->o.limit_bytes - r->emitted)
        n = (size_t)(r->o.limit_bytes - r->emitted);
    kn_buf_append(&r->out, data, n);
    r->emitted += (int64_t)n;
    if (r->o.limit_bytes >= 0 && r->emitted >= r->o.limit_bytes)
        r->done = true;
}

static void put_line(kl_log_reader *r, const char *ts, size_t ts_len, int64_t t, const char *msg,
                     size_t len, bool newline)
{
    if (r->done || (r->o.since_ns && t < r->o.since_ns))
        return;
    if (r->o.timestamps) {
        put(r, ts, ts_len);
        put(r, " ", 1);
    }
    put(r, msg, len);
    if (newline)
        put(r, "\n", 1);
}

/* One raw line: partial parts wait for their F, then go out as one line
 * with the first part's time. */
static void take_line(kl_log_reader *r, const char *line, size_t len)
{
    kl_crilog_line c;
    if (kl_crilog_parse(line, len, &c) < 0)
        return; /* as upstream: a line that does not parse is skipped */
    pending *p = &r->pend[c.stream];
    if (r->skip[c.stream]) {
        r->skip[c.stream] = c.partial;
        return;
    }
    if (c.partial || p->open) {
        if (!p->open) {
            p->open = true;
            p->time_ns = c.time_ns;
            memcpy(p->ts, c.ts, c.ts_len);
            p->ts[c.ts_len] = '\0';
            kn_buf_reset(&p->text);
        }
        kn_buf_append(&p->text, c.msg, c.msg_len);
        if (c.partial)
            return;
        p->open = false;
        put_line(r, p->ts, strlen(p->ts), p->time_ns, p->text.data, p->text.len, c.newline);
        return;
    }
    put_line(r, c.ts, c.ts_len, c.time_ns, c.msg, c.msg_len, c.newline);
}

/* Parts still waiting at the very end go out without a newline. */
static void flush_pending(kl_log_reader *r)
{
    for (int i = 0; i < 2; i++) {
        pending *p = &r->pend[i];
        if (p->open)
            put_line(r, p->ts, strlen(p->ts), p->time_ns, p->text.data, p->text.len, false);
        p->open = false;
    }
}

static void take_lines(kl_log_reader *r, bool final)
{
    const char *l;
    size_t n;
    off_t at;
    while (!r->done && src_line(&r->src, final, &l, &n, &at))
        take_line(r, l, n);
}

static void watch_dir(kl_log_reader *r)
{
    r->inotify = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
    if (r->inotify < 0)
        return;
    char *dir = xstrdup(r->path);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    if (inotify_add_watch(r->inotify, slash ? (*dir ? dir : "/") : ".",
                          IN_MODIFY | IN_CREATE | IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE) < 0) {
        close(r->inotify);
        r->inotify = -1;
    }
    free(dir);
}

static int open_file(kl_log_reader *r, kn_error **err)
{
    int fd = open(r->path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        return kn_error_errno(err, e, "open log %s", r->path);
    }
    if (r->src.fd >= 0)
        close(r->src.fd);
    kn_buf_reset(&r->src.buf);
    r->src = (line_src){.fd = fd, .buf = r->src.buf};
    r->dev = st.st_dev;
    r->ino = st.st_ino;
    return 0;
}

int kl_log_reader_open(const char *path, const kl_log_opts *o, const kl_log_follow *follow,
                       kl_log_reader **out, kn_error **err)
{
    kl_log_reader *r = xcalloc(1, sizeof(*r));
    r->path = xstrdup(path);
    r->o = *o;
    r->f = follow ? *follow : (kl_log_follow){.client_fd = -1};
    r->src = (line_src){.fd = -1, .buf = KN_BUF_INIT};
    r->inotify = -1;
    kn_buf_init(&r->out);
    for (int i = 0; i < 2; i++)
        kn_buf_init(&r->pend[i].text);
    if (open_file(r, err) < 0) {
        kl_log_reader_free(r);
        return -1;
    }
    off_t start = o->tail_lines >= 0 ? tail_offset(r->src.fd, o->tail_lines, r->skip) : 0;
    if (lseek(r->src.fd, start, SEEK_SET) < 0) {
        kl_log_reader_free(r);
        return kn_error_errno(err, errno, "seek in log %s", path);
    }
    r->src.pos = start;
    if (o->follow)
        watch_dir(r);
    *out = r;
    return 0;
}

/* True when path now names another file (rotated and reopened). */
static bool rotated(const kl_log_reader *r)
{
    struct stat st;
    return stat(r->path, &st) == 0 && (st.st_ino != r->ino || st.st_dev != r->dev);
}

static bool client_gone(int fd, int timeout_ms, int other_fd)
{
    struct pollfd p[2] = {{.fd = fd, .events = POLLRDHUP}, {.fd = other_fd, .events = POLLIN}};
    int n = poll(p, 2, timeout_ms);
    if (n > 0 && p[1].revents) {
        char buf[4096];
        while (read(other_fd, buf, sizeof(buf)) > 0) /* drain inotify */
            ;
    }
    return n > 0 && (p[0].revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL));
}

/* Waits for the file to change (at most 1 s); false when the client went
 * away meanwhile. */
static bool wait_change(kl_log_reader *r)
{
    return !client_gone(r->f.client_fd, r->inotify >= 0 ? 1000 : 250, r->inotify);
}

static bool still_running(kl_log_reader *r)
{
    int64_t now = kn_time_monotonic_ns();
    if (!r->f.running || (r->last_check && now - r->last_check < SEC))
        return true;
    r->last_check = now;
    return r->f.running(r->f.arg);
}

/* At the end of the file in follow mode: what next. */
static void at_end_following(kl_log_reader *r)
{
    if (rotated(r)) {
        /* the runtime writes only the new file now: drain the old one */
        while (src_fill(&r->src) > 0)
            take_lines(r, false);
        take_lines(r, true);
        if (open_file(r, NULL) < 0)
            r->done = true;
        return;
    }
    if (r->stopped) {
        take_lines(r, true);
        flush_pending(r);
        r->done = true;
    } else if (!still_running(r)) {
        r->stopped = true; /* one more pass for what came before it stopped */
    } else if (!wait_change(r)) {
        r->done = true;
    }
}

/* Produces more output, or sets done. */
static void produce(kl_log_reader *r)
{
    ssize_t n = src_fill(&r->src);
    if (n > 0) {
        take_lines(r, false);
    } else if (n < 0) {
        r->done = true;
    } else if (!r->o.follow) {
        take_lines(r, true);
        flush_pending(r);
        r->done = true;
    } else {
        at_end_following(r);
    }
}

ssize_t kl_log_reader_read(kl_log_reader *r, char *buf, size_t max)
{
    while (r->out_off == r->out.len) {
        kn_buf_reset(&r->out);
        r->out_off = 0;
        if (r->done)
            return 0;
        produce(r);
    }
    size_t n = r->out.len - r->out_off;
    if (n > max)
        n = max;
    memcpy(buf, r->out.data + r->out_off, n);
    r->out_off += n;
    return (ssize_t)n;
}

void kl_log_reader_free(kl_log_reader *r)
{
    if (!r)
        return;
    if (r->src.fd >= 0)
        close(r->src.fd);
    if (r->inotify >= 0)
        close(r->inotify);
    kn_buf_free(&r->src.buf);
    kn_buf_free(&r->out);
    for (int i = 0; i < 2; i++)
        kn_buf_free(&r->pend[i].text);
    free(r->path);
    free(r);
}

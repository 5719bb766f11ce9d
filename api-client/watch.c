/* watch.c - splitting, decoding and resuming watch streams. */
#include "api-client/watch.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "api-client/kc-internal.h"
#include "api-client/status.h"
#include "lib/backoff.h"
#include "lib/cleanup.h"
#include "lib/clock.h"
#include "lib/duration.h"
#include "lib/log.h"
#include "lib/xalloc.h"

#define KC_DEFAULT_MAX_EVENT ((size_t)16 << 20)
#define KC_WATCH_CHUNK (64 * 1024)

/* ---- splitter ------------------------------------------------------------------- */

void kc_splitter_init(kc_json_splitter *s, size_t max)
{
    memset(s, 0, sizeof(*s));
    kn_buf_init(&s->buf);
    s->max = max ? max : KC_DEFAULT_MAX_EVENT;
}

void kc_splitter_free(kc_json_splitter *s)
{
    kn_buf_free(&s->buf);
}

void kc_splitter_reset(kc_json_splitter *s)
{
    kn_buf_reset(&s->buf);
    s->depth = 0;
    s->started = s->in_string = s->escape = s->complete = false;
}

bool kc_splitter_partial(const kc_json_splitter *s)
{
    return s->started;
}

static bool is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Advances the scanner over one byte of a started value; true at its end. */
static bool scan_byte(kc_json_splitter *s, char c)
{
    if (s->in_string) {
        if (s->escape)
            s->escape = false;
        else if (c == '\\')
            s->escape = true;
        else if (c == '"')
            s->in_string = false;
        return false;
    }
    if (c == '"')
        s->in_string = true;
    else if (c == '{' || c == '[')
        s->depth++;
    else if (c == '}' || c == ']')
        return --s->depth == 0;
    return false;
}

static int take(kc_json_splitter *s, const char *p, size_t n, kn_error **err)
{
    if (s->buf.len + n > s->max)
        return kn_error_set(err, KN_ETOOLARGE, "watch stream: an event exceeds %zu bytes", s->max);
    kn_buf_append(&s->buf, p, n);
    return 0;
}

int kc_splitter_feed(kc_json_splitter *s, const char *data, size_t len, size_t *consumed,
                     const char **value, size_t *value_len, kn_error **err)
{
    if (s->complete)
        kc_splitter_reset(s);
    size_t i = 0, start = 0;
    for (; i < len; i++) {
        char c = data[i];
        if (!s->started) {
            if (is_ws(c))
                continue;
            if (c != '{')
                return kn_error_set(err, KN_EINVAL,
                                    "watch stream: expected '{' at byte %llu, got 0x%02x",
                                    (unsigned long long)(s->offset + i), (unsigned char)c);
            s->started = true;
            s->depth = 1;
            start = i;
            continue;
        }
        if (scan_byte(s, c)) {
            if (take(s, data + start, i + 1 - start, err) < 0)
                return -KN_ETOOLARGE;
            s->offset += i + 1;
            s->started = false;
            s->complete = true;
            *consumed = i + 1;
            *value = s->buf.data;
            *value_len = s->buf.len;
            return 1;
        }
    }
    if (s->started && take(s, data + start, len - start, err) < 0)
        return -KN_ETOOLARGE;
    s->offset += len;
    *consumed = len;
    return 0;
}

/* ---- events ---------------------------------------------------------------------- */

static const char *const type_names[] = {
    [KC_WATCH_ADDED] = "ADDED",     [KC_WATCH_MODIFIED] = "MODIFIED",
    [KC_WATCH_DELETED] = "DELETED", [KC_WATCH_BOOKMARK] = "BOOKMARK",
    [KC_WATCH_ERROR] = "ERROR",
};

const char *kc_watch_type_name(kc_watch_type t)
{
    return (unsigned)t < KN_ARRAY_SIZE(type_names) ? type_names[t] : "?";
}

static const char *object_rv(const cJSON *obj)
{
    const cJSON *md = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
    const cJSON *rv = cJSON_GetObjectItemCaseSensitive(md, "resourceVersion");
    return cJSON_IsString(rv) && rv->valuestring[0] ? rv->valuestring : NULL;
}

int kc_watch_event_decode(const char *text, size_t len, kc_watch_event *ev, kn_error **err)
{
    memset(ev, 0, sizeof(*ev));
    cJSON *doc = NULL;
    if (kc_json_parse(text, len, 0, &doc, err) < 0)
        return kn_error_wrap(err, "watch event");
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(doc, "type");
    cJSON *obj = cJSON_DetachItemFromObjectCaseSensitive(doc, "object");
    int t = -1;
    for (size_t i = 0; cJSON_IsString(type) && i < KN_ARRAY_SIZE(type_names); i++)
        if (strcmp(type->valuestring, type_names[i]) == 0)
            t = (int)i;
    int r = 0;
    if (t < 0)
        r = kn_error_set(err, KN_EINVAL, "watch event: type: missing or unknown");
    else if (!cJSON_IsObject(obj))
        r = kn_error_set(err, KN_EINVAL, "watch event: object: expected a JSON object");
    cJSON_Delete(doc);
    if (r < 0) {
        cJSON_Delete(obj);
        return r;
    }
    ev->type = (kc_watch_type)t;
    ev->object = obj;
    ev->resource_version = object_rv(obj);
    return 0;
}

void kc_watch_event_clear(kc_watch_event *ev)
{
    cJSON_Delete(ev->object);
    memset(ev, 0, sizeof(*ev));
}

/* ---- resuming watch -------------------------------------------------------------------- */

struct kc_watch {
    kc_client *c;
    kc_resource res;
    char *group, *version, *resource, *ns, *label, *field;
    kc_watch_options o;
    char *rv;
    kc_json_splitter sp;
    char *chunk;
    size_t cpos, clen;
    int64_t stall_ns;
    int reconnects, failures;
    kn_backoff backoff;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    kc_stream *stream;
    int64_t opened_ns; /* when the current stream was opened */
    bool canceled;
};

static char *dup_or_null(const char *s)
{
    return s ? xstrdup(s) : NULL;
}

static int open_stream(kc_watch *w, kn_error **err)
{
    cleanup_buf kn_buf p = KN_BUF_INIT;
    kc_resource_path(&p, &w->res, w->ns, NULL, NULL);
    kc_list_options lo = w->o.list;
    lo.resource_version = w->rv[0] ? w->rv : NULL;
    kc_list_query(&p, &lo, true);
    kc_stream *s = NULL;
    if (kc_client_stream(w->c, &(kc_request){.method = "GET", .path = p.data}, &s, err) < 0)
        return kc_fail(err);
    pthread_mutex_lock(&w->lock);
    bool canceled = w->canceled;
    if (!canceled) {
        w->stream = s;
        w->opened_ns = kn_time_monotonic_ns();
    }
    pthread_mutex_unlock(&w->lock);
    if (canceled) {
        kc_stream_close(s);
        return kn_error_set(err, KN_ECANCELED, "watch %s: canceled", w->res.resource);
    }
    return 0;
}

static void close_stream(kc_watch *w)
{
    pthread_mutex_lock(&w->lock);
    kc_stream *s = w->stream;
    w->stream = NULL;
    pthread_mutex_unlock(&w->lock);
    kc_stream_close(s);
    kc_splitter_reset(&w->sp);
    w->cpos = w->clen = 0;
}

static void copy_options(kc_watch *w, const kc_resource *r, const char *ns,
                         const kc_watch_options *o)
{
    w->group = xstrdup(r->group ? r->group : "");
    w->version = xstrdup(r->version);
    w->resource = xstrdup(r->resource);
    w->res = (kc_resource){w->group, w->version, w->resource, r->namespaced};
    w->ns = dup_or_null(ns);
    w->o = o ? *o : (kc_watch_options){0};
    w->label = dup_or_null(w->o.list.label_selector);
    w->field = dup_or_null(w->o.list.field_selector);
    w->o.list.label_selector = w->label;
    w->o.list.field_selector = w->field;
    w->o.list.continue_token = NULL;
    w->o.list.limit = 0;
    w->o.list.resource_version_match = NULL;
    w->rv = xstrdup(w->o.list.resource_version ? w->o.list.resource_version : "");
    w->o.list.resource_version = NULL;
}

static void set_defaults(kc_watch *w)
{
    kn_backoff_params bp = {500 * KN_NSEC_PER_MSEC, 2.0, 0.5, 8, 30 * KN_NSEC_PER_SEC};
    kn_backoff_init(&w->backoff, &bp);
    if (w->o.list.timeout_seconds <= 0) /* as client-go's reflector: 5 to 10 minutes */
        w->o.list.timeout_seconds = 300 + (int64_t)(kn_rand_float(&w->backoff.rand) * 300);
    w->stall_ns = w->o.stall_timeout_ns > 0 ? w->o.stall_timeout_ns
                                            : (w->o.list.timeout_seconds + 60) * KN_NSEC_PER_SEC;
    if (w->o.max_reconnects <= 0)
        w->o.max_reconnects = 10;
}

int kc_watch_open(kc_client *c, const kc_resource *r, const char *ns, const kc_watch_options *o,
                  kc_watch **out, kn_error **err)
{
    kc_watch *w = xcalloc(1, sizeof(*w));
    w->c = c;
    copy_options(w, r, ns, o);
    set_defaults(w);
    kc_splitter_init(&w->sp, w->o.max_event);
    w->chunk = xmalloc(KC_WATCH_CHUNK);
    pthread_mutex_init(&w->lock, NULL);
    kn_cond_init(&w->cond);
    if (open_stream(w, err) < 0) {
        kc_watch_close(w);
        return kc_fail(err);
    }
    *out = w;
    return 0;
}

const char *kc_watch_resource_version(const kc_watch *w)
{
    return w->rv;
}

int kc_watch_reconnects(const kc_watch *w)
{
    return w->reconnects;
}

void kc_watch_cancel(kc_watch *w)
{
    pthread_mutex_lock(&w->lock);
    w->canceled = true;
    if (w->stream)
        kc_stream_cancel(w->stream);
    pthread_cond_broadcast(&w->cond);
    pthread_mutex_unlock(&w->lock);
}

void kc_watch_close(kc_watch *w)
{
    if (!w)
        return;
    close_stream(w);
    kc_splitter_free(&w->sp);
    pthread_mutex_destroy(&w->lock);
    pthread_cond_destroy(&w->cond);
    free(w->chunk);
    free(w->group);
    free(w->version);
    free(w->resource);
    free(w->ns);
    free(w->label);
    free(w->field);
    free(w->rv);
    free(w);
}

static bool canceled(kc_watch *w)
{
    pthread_mutex_lock(&w->lock);
    bool c = w->canceled;
    pthread_mutex_unlock(&w->lock);
    return c;
}

/* Waits d_ns unless canceled first. */
static void pause_for(kc_watch *w, int64_t d_ns)
{
    int64_t deadline = kn_time_add(kn_time_monotonic_ns(), d_ns);
    pthread_mutex_lock(&w->lock);
    while (!w->canceled && kn_time_monotonic_ns() < deadline)
        kn_clock_wait_until(NULL, &w->cond, &w->lock, deadline);
    pthread_mutex_unlock(&w->lock);
}

/* Re-opens the stream after it ended or broke (why: for the log). A clean
 * end after a while (the server's timeoutSeconds) is not a failure. */
static int reconnect(kc_watch *w, bool clean, const char *why, kn_error **err)
{
    close_stream(w);
    if (clean && kn_time_monotonic_ns() - w->opened_ns >= KN_NSEC_PER_SEC)
        w->failures = 0;
    for (;;) {
        if (canceled(w))
            return kn_error_set(err, KN_ECANCELED, "watch %s: canceled", w->res.resource);
        if (++w->failures > w->o.max_reconnects)
            return kn_error_set(err, KN_EUNAVAILABLE,
                                "watch %s: %d reconnects in a row without an event; last: %s",
                                w->res.resource, w->o.max_reconnects, why);
        if (w->failures > 1)
            pause_for(w, kn_backoff_next(&w->backoff));
        KN_V(3, "api-client", "watch %s: %s; resuming from resourceVersion \"%s\"", w->res.resource,
             why, w->rv);
        w->reconnects++;
        cleanup_error kn_error *e = NULL;
        if (open_stream(w, &e) == 0)
            return 0;
        kn_errcode code = kn_error_code(e);
        if (code == KN_EGONE || code == KN_ECANCELED || code == KN_EUNAUTHORIZED ||
            code == KN_EFORBIDDEN || code == KN_ENOTFOUND || code == KN_EINVAL)
            return kc_error_move(err, &e);
    }
}

/* Acts on a decoded event: 1 to deliver it, 0 to go on (after a reconnect),
 * negative to end with an error. */
static int handle_event(kc_watch *w, kc_watch_event *ev, kn_error **err)
{
    if (ev->type != KC_WATCH_ERROR) {
        if (ev->resource_version) {
            free(w->rv);
            w->rv = xstrdup(ev->resource_version);
        }
        w->failures = 0;
        kn_backoff_reset(&w->backoff);
        return 1;
    }
    kc_status st;
    if (kc_status_from_json(ev->object, &st, err) < 0)
        return kn_error_wrap(err, "watch %s: ERROR event", w->res.resource);
    int code = st.code;
    cleanup_free char *what = xasprintf("watch %s", w->res.resource);
    int r = 0;
    if (code == 500 || code == 504) {
        cleanup_free char *why = xasprintf("ERROR event %d %s", code, st.message ? st.message : "");
        r = reconnect(w, false, why, err);
    } else {
        r = kc_status_error_from(&st, code ? code : 500, what, err);
    }
    kc_status_clear(&st);
    return r;
}

/* Completes the next event from bytes already read: 1 when *ev is set. */
static int next_buffered(kc_watch *w, kc_watch_event *ev, kn_error **err)
{
    while (w->cpos < w->clen) {
        size_t used = 0, vlen = 0;
        const char *v = NULL;
        int r =
            kc_splitter_feed(&w->sp, w->chunk + w->cpos, w->clen - w->cpos, &used, &v, &vlen, err);
        w->cpos += used;
        if (r < 0)
            return kn_error_wrap(err, "watch %s", w->res.resource);
        if (r == 0)
            break;
        if (kc_watch_event_decode(v, vlen, ev, err) < 0)
            return kn_error_wrap(err, "watch %s", w->res.resource);
        r = handle_event(w, ev, err);
        if (r == 1)
            return 1;
        kc_watch_event_clear(ev);
        if (r < 0)
            return r;
    }
    return 0;
}

int kc_watch_next(kc_watch *w, kc_watch_event *ev, kn_error **err)
{
    for (;;) {
        if (canceled(w))
            return kn_error_set(err, KN_ECANCELED, "watch %s: canceled", w->res.resource);
        int r = next_buffered(w, ev, err);
        if (r != 0)
            return r < 0 ? r : 0;
        cleanup_error kn_error *e = NULL;
        ssize_t n = w->stream ? kc_stream_read(w->stream, w->chunk, KC_WATCH_CHUNK, w->stall_ns, &e)
                              : -KN_EUNAVAILABLE;
        if (n > 0) {
            w->cpos = 0;
            w->clen = (size_t)n;
            continue;
        }
        if (kn_error_code(e) == KN_ECANCELED)
            return kc_error_move(err, &e);
        bool clean = n == 0 && !kc_splitter_partial(&w->sp);
        const char *why =
            n == 0 ? (clean ? "stream ended" : "stream ended inside an event") : kn_error_msg(e);
        if (reconnect(w, clean, why, err) < 0)
            return kc_fail(err);
    }
}

/* watch.c - ?watch=1 on a collection: a chunked stream of JSON events
 * (ADDED, MODIFIED, DELETED, BOOKMARK, ERROR), each on its own line.
 *
 * Semantics as upstream: without a resourceVersion (or "0") the stream begins
 * with synthetic ADDED events for the current state; with resourceVersion N
 * it carries every change after N, or one ERROR 410 Expired event if N has
 * been compacted. With selectors, an object that stops matching is reported
 * DELETED and one that starts matching ADDED: the watcher keeps the set of
 * keys it has shown. Bookmarks (allowWatchBookmarks) come every 30 s of
 * quiet. The stream ends at timeoutSeconds (default 30 min) or shutdown. */
#include <search.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controlplane/apiserver-internal.h"
#include "controlplane/objmeta.h"
#include "controlplane/reqopts.h"
#include "controlplane/table.h"
#include "lib/clock.h"
#include "lib/json.h"
#include "lib/strbuf.h"
#include "lib/xalloc.h"

enum { BOOKMARK_EVERY_S = 30, DEFAULT_TIMEOUT_S = 1800, BATCH = 256 };
#define MAX_TIMEOUT_S ((int64_t)1 << 32) /* seconds; more would overflow a deadline in ns */

typedef struct watch_ctx {
    kn_apiserver *s;
    const kn_resource *res;
    char *prefix;
    char *label_sel, *field_sel;
    bool table, bookmarks;
    int64_t rev;          /* everything up to here has been sent */
    int64_t deadline_ns;  /* monotonic */
    int64_t last_send_ns; /* monotonic */
    void *visible;        /* tsearch set of keys (owned strings) shown as existing */
    kn_buf out;
    size_t out_off;
    bool ended;
} watch_ctx;

static int cmp_str(const void *a, const void *b)
{
    return strcmp(a, b);
}

static bool is_visible(watch_ctx *w, const char *key)
{
    return tfind(key, &w->visible, cmp_str) != NULL;
}

static void set_visible(watch_ctx *w, const char *key, bool on)
{
    void *node = tfind(key, &w->visible, cmp_str);
    if (on && !node) {
        tsearch(xstrdup(key), &w->visible, cmp_str);
    } else if (!on && node) {
        char *stored = *(char **)node;
        tdelete(key, &w->visible, cmp_str);
        free(stored);
    }
}

static void emit(watch_ctx *w, const char *type, const cJSON *obj)
{
    cJSON *ev = cJSON_CreateObject();
    cJSON_AddStringToObject(ev, "type", type);
    cJSON *o = w->table && obj && strcmp(type, "ERROR") != 0 && strcmp(type, "BOOKMARK") != 0
                   ? kn_table_from_object(w->res, obj)
                   : cJSON_Duplicate(obj, 1);
    cJSON_AddItemToObject(ev, "object", o);
    char *text = kn_json_print(ev);
    cJSON_Delete(ev);
    kn_buf_append_str(&w->out, text);
    kn_buf_append_char(&w->out, '\n');
    free(text);
    w->last_send_ns = kn_time_monotonic_ns();
}

static void emit_gone(watch_ctx *w, int64_t asked, int64_t oldest)
{
    char msg[128];
    snprintf(msg, sizeof(msg), "too old resource version: %lld (%lld)", (long long)asked,
             (long long)oldest);
    char *st = kn_status_json(410, "Expired", msg, NULL, NULL, NULL, NULL);
    cJSON *o = cJSON_Parse(st);
    free(st);
    emit(w, "ERROR", o);
    cJSON_Delete(o);
    w->ended = true;
}

static void emit_bookmark(watch_ctx *w)
{
    cJSON *o = cJSON_CreateObject();
    char apiv[64], rv[24];
    cJSON_AddStringToObject(o, "kind", w->res->kind);
    cJSON_AddStringToObject(o, "apiVersion", kn_resource_api_version(w->res, apiv, sizeof(apiv)));
    snprintf(rv, sizeof(rv), "%lld", (long long)w->rev);
    cJSON_AddStringToObject(cJSON_AddObjectToObject(o, "metadata"), "resourceVersion", rv);
    emit(w, "BOOKMARK", o);
    cJSON_Delete(o);
}

/* One store event → zero or one watch event, by visibility and selectors. */
static void translate(watch_ctx *w, const kn_store_event *ev)
{
    cJSON *o = api_decode_stored(ev->kv.value, ev->kv.value_len, ev->kv.mod_rev);
    if (!o)
        return;
    bool was = is_visible(w, ev->kv.key);
    if (ev->type == KN_STORE_DELETE) {
        if (was)
            emit(w, "DELETED", o);
        set_visible(w, ev->kv.key, false);
    } else {
        bool now = api_matches_selectors(w->res, o, w->label_sel, w->field_sel);
        if (now)
            emit(w, was ? "MODIFIED" : "ADDED", o);
        else if (was)
            emit(w, "DELETED", o);
        set_visible(w, ev->kv.key, now);
    }
    cJSON_Delete(o);
}

/* Reads the state at rev (0: newest) into the visible set, optionally
 * emitting ADDED for each object. */
static int load_state(watch_ctx *w, int64_t rev, bool send, kn_error **err)
{
    char *start = NULL;
    bool more = true;
    while (more) {
        kn_kv_list page;
        int64_t at;
        if (kn_store_list(w->s->opts.store, w->prefix, start, BATCH, rev, &page, &at, &more, err) <
            0) {
            free(start);
            return -1;
        }
        rev = at;
        for (size_t i = 0; i < page.len; i++) {
            cJSON *o = api_decode_stored(page.items[i].value, page.items[i].value_len,
                                         page.items[i].mod_rev);
            if (o && api_matches_selectors(w->res, o, w->label_sel, w->field_sel)) {
                set_visible(w, page.items[i].key, true);
                if (send)
                    emit(w, "ADDED", o);
            }
            cJSON_Delete(o);
        }
        free(start);
        start = page.len ? xstrdup(page.items[page.len - 1].key) : NULL;
        kn_kv_list_free(&page);
        more = more && start;
    }
    free(start);
    w->rev = rev;
    return 0;
}

/* Fills w->out with the next events, waiting up to a second for changes. */
static void produce(watch_ctx *w)
{
    kn_error *err = NULL;
    kn_store_event_list evs;
    int64_t seen = 0;
    if (kn_store_events(w->s->opts.store, w->prefix, w->rev, BATCH, &evs, &seen, &err) < 0) {
        if (kn_error_code(err) == KN_EGONE)
            emit_gone(w, w->rev, kn_store_compacted_rev(w->s->opts.store));
        else
            w->ended = true;
        kn_error_free(&err);
        return;
    }
    for (size_t i = 0; i < evs.len; i++)
        translate(w, &evs.items[i]);
    if (seen > w->rev)
        w->rev = seen;
    kn_store_event_list_free(&evs);
    if (w->out.len)
        return;
    int64_t now = kn_time_monotonic_ns();
    if (w->bookmarks && now - w->last_send_ns > BOOKMARK_EVERY_S * 1000000000LL)
        return emit_bookmark(w);
    kn_store_wait(w->s->opts.store, w->rev, 1000);
}

static ssize_t watch_read(void *ctx, char *buf, size_t max)
{
    watch_ctx *w = ctx;
    while (w->out_off >= w->out.len) {
        kn_buf_reset(&w->out);
        w->out_off = 0;
        if (w->ended || w->s->stopping || kn_time_monotonic_ns() > w->deadline_ns)
            return -1;
        produce(w);
    }
    size_t n = w->out.len - w->out_off;
    if (n > max)
        n = max;
    memcpy(buf, w->out.data + w->out_off, n);
    w->out_off += n;
    return (ssize_t)n;
}

static void free_key(void *k)
{
    free(k);
}

static void watch_free(void *ctx)
{
    watch_ctx *w = ctx;
    tdestroy(w->visible, free_key);
    kn_buf_free(&w->out);
    free(w->prefix);
    free(w->label_sel);
    free(w->field_sel);
    free(w);
}

static const char *query(void *arg, const char *key)
{
    return kn_http_query(arg, key);
}

static char *dup_or_null(const char *s)
{
    return s && *s ? xstrdup(s) : NULL;
}

void api_watch(kn_apiserver *s, const api_route *rt, kn_http_request *req, kn_http_response *resp)
{
    kn_error *err = NULL;
    kn_list_opts q;
    kn_causes causes = {0};
    if (kn_list_opts_parse(query, req, true, &q, &causes, &err) < 0 || causes.len) {
        if (causes.len)
            api_options_invalid(resp, "ListOptions", &causes);
        else
            api_error(resp, rt, err);
        kn_error_free(&err);
        kn_causes_free(&causes);
        kn_list_opts_free(&q);
        return;
    }
    kn_list_opts_free(&q);
    watch_ctx *w = xcalloc(1, sizeof(*w));
    w->s = s;
    w->res = rt->res;
    w->prefix = api_key(rt->res, rt->ns, NULL);
    w->label_sel = dup_or_null(q.label_sel);
    w->field_sel = dup_or_null(q.field_sel);
    w->table = kn_table_wanted(kn_http_header(req, "Accept"));
    w->bookmarks = q.bookmarks;
    /* bounded: seconds beyond ~292 years would overflow the deadline in ns */
    int64_t timeout = q.timeout_s > 0 ? q.timeout_s : DEFAULT_TIMEOUT_S;
    if (timeout > MAX_TIMEOUT_S)
        timeout = MAX_TIMEOUT_S;
    w->last_send_ns = kn_time_monotonic_ns();
    w->deadline_ns = w->last_send_ns + timeout * 1000000000LL;
    kn_buf_init(&w->out);
    int64_t rv = q.rv;
    int64_t oldest = kn_store_compacted_rev(s->opts.store);
    if (rv > 0 && rv < oldest)
        emit_gone(w, rv, oldest);
    else if (load_state(w, rv, rv == 0, &err) < 0) {
        if (kn_error_code(err) == KN_EGONE)
            emit_gone(w, rv, oldest);
        else
            w->ended = true;
        kn_error_free(&err);
    }
    resp->status = 200;
    resp->content_type = xstrdup("application/json");
    resp->stream = watch_read;
    resp->stream_ctx = w;
    resp->stream_free = watch_free;
}

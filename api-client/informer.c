/* informer.c - reflector (list + watch), indexed store, handler dispatch.
 *
 * Locks: `lock` guards the store, the indexes and the run state; `hlock`
 * serializes handler calls (from the reflector and the resync thread).
 * Changes are applied to the store under `lock`, collected as a list of
 * changes holding object references, and dispatched after `lock` is
 * released, so handlers may read the cache. */
#include "api-client/informer.h"

#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api-client/kc-internal.h"
#include "api-client/watch.h"
#include "lib/backoff.h"
#include "lib/cleanup.h"
#include "lib/clock.h"
#include "lib/duration.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/xalloc.h"

typedef struct index_def {
    char *name;
    kc_index_fn fn;
    void *ud;
    kc_map values; /* value -> kc_map of key -> kc_obj* (borrowed from the store) */
    bool built;    /* values are kept up to date (see build_index) */
} index_def;

typedef enum change_kind { CH_ADD, CH_UPDATE, CH_DELETE } change_kind;

typedef struct change {
    change_kind kind;
    kc_obj *old_obj, *new_obj; /* references */
} change;

typedef struct changes {
    change *v;
    size_t n, cap;
} changes;

struct kc_informer {
    kc_client *c;
    char *group, *version, *resource;
    kc_resource res;
    char *ns, *label, *field;
    kc_informer_options o;

    pthread_mutex_t lock;
    pthread_cond_t cond;
    kc_map store; /* key -> kc_obj* (one reference each) */
    index_def *indexes;
    size_t nindexes;
    char *rv;
    bool synced, running, stop;
    int lists;
    kc_watch *watch;

    pthread_mutex_t hlock;
    kc_informer_handlers *handlers;
    size_t nhandlers;
    kn_workqueue **queues;
    size_t nqueues;
    pthread_t thread, resync_thread;
    kn_buf scratch; /* the reflector thread's printing buffer */
};

static kc_obj **snapshot(kc_informer *inf, size_t *n);

static void obj_unref_void(void *p)
{
    kc_obj *o = p;
    kc_obj_set_in_store(o, false);
    kc_obj_unref(o);
}

/* ---- indexes (lock held) ----------------------------------------------------------- */

/* The values o is filed under in index number i (computed from its tree
 * on first use and kept on the object, so removal needs no tree). */
static char **index_values(kc_informer *inf, size_t i, kc_obj *o)
{
    if (o->nixv <= i) {
        o->ixv = xreallocarray(o->ixv, inf->nindexes, sizeof(*o->ixv));
        memset(o->ixv + o->nixv, 0, (inf->nindexes - o->nixv) * sizeof(*o->ixv));
        o->nixv = inf->nindexes;
    }
    if (!o->ixv[i]) {
        index_def *ix = &inf->indexes[i];
        cJSON *tmp = NULL;
        o->ixv[i] = ix->fn(kc_obj_peek(o, &tmp), ix->ud);
        cJSON_Delete(tmp);
        if (!o->ixv[i])
            o->ixv[i] = xcalloc(1, sizeof(char *));
    }
    return o->ixv[i];
}

static void index_add(kc_informer *inf, size_t i, kc_obj *o)
{
    index_def *ix = &inf->indexes[i];
    for (char **p = index_values(inf, i, o); *p; p++) {
        kc_map *set = kc_map_get(&ix->values, *p);
        if (!set) {
            set = xcalloc(1, sizeof(*set));
            kc_map_init(set);
            kc_map_put(&ix->values, *p, set);
        }
        kc_map_put(set, o->key, o);
    }
}

static void index_remove(kc_informer *inf, size_t i, kc_obj *o)
{
    index_def *ix = &inf->indexes[i];
    for (char **p = index_values(inf, i, o); *p; p++) {
        kc_map *set = kc_map_get(&ix->values, *p);
        if (!set)
            continue;
        kc_map_del(set, o->key);
        if (set->len == 0) {
            kc_map_del(&ix->values, *p);
            kc_map_free(set, NULL);
            free(set);
        }
    }
}

static void free_set(void *p)
{
    kc_map_free(p, NULL);
    free(p);
}

static char **namespace_index(const cJSON *obj, void *ud)
{
    (void)ud;
    const char *ns = kc_meta_str(obj, "namespace");
    char **v = xcalloc(2, sizeof(*v));
    v[0] = xstrdup(ns ? ns : "");
    return v;
}

/* ---- store changes (lock held) ------------------------------------------------------- */

static void push_change(changes *cs, change_kind k, kc_obj *old_obj, kc_obj *new_obj)
{
    if (cs->n == cs->cap) {
        cs->cap = cs->cap ? cs->cap * 2 : 16;
        cs->v = xreallocarray(cs->v, cs->cap, sizeof(*cs->v));
    }
    cs->v[cs->n++] =
        (change){k, old_obj ? kc_obj_ref(old_obj) : NULL, new_obj ? kc_obj_ref(new_obj) : NULL};
}

/* Puts o (reference taken) in the store, replacing any old one. */
static void store_put(kc_informer *inf, kc_obj *o, changes *cs)
{
    kc_obj *old = kc_map_put(&inf->store, o->key, o);
    kc_obj_set_in_store(o, true);
    push_change(cs, old ? CH_UPDATE : CH_ADD, old, o);
    for (size_t i = 0; i < inf->nindexes; i++) {
        if (!inf->indexes[i].built)
            continue;
        if (old)
            index_remove(inf, i, old);
        index_add(inf, i, o);
    }
    if (old)
        obj_unref_void(old);
}

static void store_delete(kc_informer *inf, const char *key, kc_obj *last, changes *cs)
{
    kc_obj *old = kc_map_del(&inf->store, key);
    if (!old)
        return;
    for (size_t i = 0; i < inf->nindexes; i++)
        if (inf->indexes[i].built)
            index_remove(inf, i, old);
    push_change(cs, CH_DELETE, NULL, last ? last : old);
    obj_unref_void(old);
}

/* Objects of a list, kept compact while the pages arrive. */
typedef struct listed {
    kc_obj **v;
    size_t n, cap;
    char *rv; /* the list's resourceVersion */
    kn_buf *scratch;
    kc_transform_fn transform;
} listed;

static void listed_clear(listed *l)
{
    kc_objs_free(l->v, l->n);
    free(l->rv);
    *l = (listed){.scratch = l->scratch, .transform = l->transform};
}

static int take_item(void *ud, const char *val, size_t vlen, kn_error **err)
{
    listed *l = ud;
    kc_obj *o = NULL;
    if (kc_obj_from_text(val, vlen, l->transform, l->scratch, &o, err) < 0)
        return kn_error_wrap(err, "item %zu", l->n);
    if (!o)
        return 0;
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 64;
        l->v = xreallocarray(l->v, l->cap, sizeof(*l->v));
    }
    l->v[l->n++] = o;
    return 0;
}

/* Keeps each item of a page as a compact object (one item's tree at a
 * time: the page is never parsed whole). */
static int take_page(void *ud, const kc_page *pg, kn_error **err)
{
    listed *l = ud;
    if (!pg) {
        listed_clear(l);
        return 0;
    }
    if (!l->rv) {
        const cJSON *rv = cJSON_GetObjectItemCaseSensitive(pg->metadata, "resourceVersion");
        l->rv = xstrdup(cJSON_IsString(rv) ? rv->valuestring : "");
    }
    return pg->items ? kc_scan_array(pg->items, pg->items_len, take_item, l, err) : 0;
}

/* Makes the store equal to the listed objects (taken from l). */
static void store_replace(kc_informer *inf, listed *l, changes *cs)
{
    kc_map seen;
    kc_map_init(&seen);
    for (size_t i = 0; i < l->n; i++) {
        kc_obj *o = l->v[i];
        kc_map_put(&seen, o->key, o);
        kc_obj *cur = kc_map_get(&inf->store, o->key);
        if (cur && strcmp(cur->rv, o->rv) == 0 && o->rv[0])
            kc_obj_unref(o); /* unchanged: no event */
        else
            store_put(inf, o, cs);
    }
    l->n = 0;
    size_t pos = 0;
    const char *key;
    void *val;
    cleanup_free char **gone = xcalloc(inf->store.len + 1, sizeof(char *));
    size_t ngone = 0;
    while (kc_map_next(&inf->store, &pos, &key, &val))
        if (!kc_map_get(&seen, key))
            gone[ngone++] = xstrdup(key);
    for (size_t i = 0; i < ngone; i++) {
        store_delete(inf, gone[i], NULL, cs);
        free(gone[i]);
    }
    kc_map_free(&seen, NULL);
}

/* ---- dispatch --------------------------------------------------------------------------- */

/* Calls the handlers for each change, releasing each change's references
 * as soon as it is delivered (so at most one change's trees are parsed). */
static void dispatch(kc_informer *inf, changes *cs)
{
    pthread_mutex_lock(&inf->hlock);
    for (size_t i = 0; i < cs->n; i++) {
        change *c = &cs->v[i];
        for (size_t h = 0; h < inf->nhandlers; h++) {
            kc_informer_handlers *hd = &inf->handlers[h];
            if (c->kind == CH_ADD && hd->on_add)
                hd->on_add(c->new_obj, hd->ud);
            else if (c->kind == CH_UPDATE && hd->on_update)
                hd->on_update(c->old_obj, c->new_obj, hd->ud);
            else if (c->kind == CH_DELETE && hd->on_delete)
                hd->on_delete(c->new_obj, hd->ud);
        }
        for (size_t q = 0; q < inf->nqueues; q++)
            kn_workqueue_add(inf->queues[q], c->new_obj->key);
        kc_obj_unref(c->old_obj);
        kc_obj_unref(c->new_obj);
    }
    pthread_mutex_unlock(&inf->hlock);
    free(cs->v);
    memset(cs, 0, sizeof(*cs));
}

/* ---- reflector ------------------------------------------------------------------------------ */

static bool stopping(kc_informer *inf)
{
    pthread_mutex_lock(&inf->lock);
    bool s = inf->stop;
    pthread_mutex_unlock(&inf->lock);
    return s;
}

static void set_rv(kc_informer *inf, const char *rv)
{
    free(inf->rv);
    inf->rv = xstrdup(rv ? rv : "");
}

/* Publishes the version applied and the sync state once handlers have seen
 * the changes, so "applied" includes "delivered". */
static void applied(kc_informer *inf, const char *rv, bool list)
{
    pthread_mutex_lock(&inf->lock);
    if (rv)
        set_rv(inf, rv);
    if (list) {
        inf->synced = true;
        inf->lists++;
        pthread_cond_broadcast(&inf->cond);
    }
    pthread_mutex_unlock(&inf->lock);
}

static int list_and_replace(kc_informer *inf, kn_error **err)
{
    kc_list_options lo = {
        .label_selector = inf->label, .field_selector = inf->field, .limit = inf->o.list_page};
    listed l = {.scratch = &inf->scratch, .transform = inf->o.transform};
    if (kc_list_pages(inf->c, &inf->res, inf->ns, &lo, take_page, &l, err) < 0) {
        listed_clear(&l);
        return kn_error_wrap(err, "informer %s: list", inf->res.resource);
    }
    changes cs = {0};
    pthread_mutex_lock(&inf->lock);
    store_replace(inf, &l, &cs);
    pthread_mutex_unlock(&inf->lock);
    dispatch(inf, &cs);
    applied(inf, l.rv ? l.rv : "", true);
    listed_clear(&l);
    /* the pages' trees are gone but glibc keeps their pages: a relist is
     * rare, so hand them back (the cache itself is small and compact) */
    malloc_trim(0);
    return 0;
}

static void apply_event(kc_informer *inf, kc_watch_event *ev)
{
    changes cs = {0};
    cleanup_free char *rv = ev->resource_version ? xstrdup(ev->resource_version) : NULL;
    pthread_mutex_lock(&inf->lock);
    if (inf->o.transform && ev->object)
        inf->o.transform(ev->object);
    if (ev->type == KC_WATCH_ADDED || ev->type == KC_WATCH_MODIFIED) {
        kc_obj *o = kc_obj_new(kn_steal_ptr(ev->object), &inf->scratch);
        if (o)
            store_put(inf, o, &cs);
    } else if (ev->type == KC_WATCH_DELETED) {
        kc_obj *last = kc_obj_new(kn_steal_ptr(ev->object), &inf->scratch);
        if (last)
            store_delete(inf, last->key, last, &cs);
        kc_obj_unref(last);
    }
    pthread_mutex_unlock(&inf->lock);
    dispatch(inf, &cs);
    applied(inf, rv, false);
}

static int open_watch(kc_informer *inf, kc_watch **out, kn_error **err)
{
    pthread_mutex_lock(&inf->lock);
    cleanup_free char *rv = xstrdup(inf->rv);
    pthread_mutex_unlock(&inf->lock);
    kc_watch_options wo = {.list = {.label_selector = inf->label,
                                    .field_selector = inf->field,
                                    .resource_version = rv,
                                    .timeout_seconds = inf->o.watch_timeout_s,
                                    .allow_watch_bookmarks = true},
                           .stall_timeout_ns = inf->o.stall_timeout_ns};
    kc_watch *w = NULL;
    if (kc_watch_open(inf->c, &inf->res, inf->ns, &wo, &w, err) < 0)
        return kc_fail(err);
    pthread_mutex_lock(&inf->lock);
    bool stop = inf->stop;
    if (!stop)
        inf->watch = w;
    pthread_mutex_unlock(&inf->lock);
    if (stop) {
        kc_watch_close(w);
        return kn_error_set(err, KN_ECANCELED, "informer stopped");
    }
    *out = w;
    return 0;
}

/* Watches until the watch ends; returns its error. */
static int watch_loop(kc_informer *inf, kn_error **err)
{
    kc_watch *w = NULL;
    if (open_watch(inf, &w, err) < 0)
        return kc_fail(err);
    int r;
    for (;;) {
        kc_watch_event ev;
        r = kc_watch_next(w, &ev, err);
        if (r < 0)
            break;
        apply_event(inf, &ev);
        kc_watch_event_clear(&ev);
    }
    pthread_mutex_lock(&inf->lock);
    inf->watch = NULL;
    pthread_mutex_unlock(&inf->lock);
    kc_watch_close(w);
    return r;
}

static void pause_for(kc_informer *inf, int64_t d_ns)
{
    int64_t deadline = kn_time_add(kn_time_monotonic_ns(), d_ns);
    pthread_mutex_lock(&inf->lock);
    while (!inf->stop && kn_time_monotonic_ns() < deadline)
        kn_clock_wait_until(NULL, &inf->cond, &inf->lock, deadline);
    pthread_mutex_unlock(&inf->lock);
}

static void *reflector_main(void *arg)
{
    kc_informer *inf = arg;
    kn_backoff b;
    kn_backoff_init(
        &b, &(kn_backoff_params){800 * KN_NSEC_PER_MSEC, 2.0, 1.0, 10, 30 * KN_NSEC_PER_SEC});
    while (!stopping(inf)) {
        cleanup_error kn_error *err = NULL;
        if (list_and_replace(inf, &err) < 0) {
            KN_WARN("api-client", "%s; retrying", kn_error_msg(err));
            pause_for(inf, kn_backoff_next(&b));
            continue;
        }
        int r = watch_loop(inf, &err);
        if (r == -KN_EGONE) {
            KN_V(2, "api-client", "informer %s: %s; listing again", inf->res.resource,
                 kn_error_msg(err));
            kn_backoff_reset(&b);
        } else if (r != -KN_ECANCELED) {
            KN_WARN("api-client", "informer %s: %s; listing again", inf->res.resource,
                    kn_error_msg(err));
            pause_for(inf, kn_backoff_next(&b));
        }
    }
    return NULL;
}

static void *resync_main(void *arg)
{
    kc_informer *inf = arg;
    for (;;) {
        pause_for(inf, inf->o.resync_ns);
        if (stopping(inf))
            break;
        size_t n = 0;
        kc_obj **all = snapshot(inf, &n);
        changes cs = {0};
        for (size_t i = 0; i < n; i++)
            push_change(&cs, CH_UPDATE, all[i], all[i]);
        kc_objs_free(all, n);
        dispatch(inf, &cs);
    }
    return NULL;
}

/* ---- lifecycle ---------------------------------------------------------------------------------
 */

static char *dup_or_null(const char *s)
{
    return s ? xstrdup(s) : NULL;
}

/* Files every cached object under index i and keeps it up to date from
 * now on; lock held. */
static void build_index(kc_informer *inf, size_t i)
{
    size_t pos = 0;
    const char *key;
    void *val;
    while (kc_map_next(&inf->store, &pos, &key, &val))
        index_add(inf, i, val);
    inf->indexes[i].built = true;
}

/* Registers an index, not built yet; lock held or not started. */
static size_t define_index(kc_informer *inf, const char *name, kc_index_fn fn, void *ud)
{
    inf->indexes = xreallocarray(inf->indexes, inf->nindexes + 1, sizeof(*inf->indexes));
    index_def *ix = &inf->indexes[inf->nindexes];
    *ix = (index_def){xstrdup(name), fn, ud, {0}, false};
    kc_map_init(&ix->values);
    return inf->nindexes++;
}

kc_informer *kc_informer_new(kc_client *c, const kc_resource *r, const kc_informer_options *o)
{
    kc_informer *inf = xcalloc(1, sizeof(*inf));
    inf->c = c;
    inf->group = xstrdup(r->group ? r->group : "");
    inf->version = xstrdup(r->version);
    inf->resource = xstrdup(r->resource);
    inf->res = (kc_resource){inf->group, inf->version, inf->resource, r->namespaced};
    inf->o = o ? *o : (kc_informer_options){0};
    inf->ns = dup_or_null(inf->o.ns);
    inf->label = dup_or_null(inf->o.label_selector);
    inf->field = dup_or_null(inf->o.field_selector);
    inf->rv = xstrdup("");
    kn_buf_init(&inf->scratch);
    pthread_mutex_init(&inf->lock, NULL);
    pthread_mutex_init(&inf->hlock, NULL);
    kn_cond_init(&inf->cond);
    kc_map_init(&inf->store);
    /* client-go's factory informers all carry the namespace index; here it
     * is built on its first query, so the informers that never ask (the
     * kubelet's pods, DNS, the proxy) do not pay ~100 bytes per object */
    define_index(inf, "namespace", namespace_index, NULL);
    return inf;
}

void kc_informer_add_index(kc_informer *inf, const char *name, kc_index_fn fn, void *ud)
{
    pthread_mutex_lock(&inf->lock);
    build_index(inf, define_index(inf, name, fn, ud));
    pthread_mutex_unlock(&inf->lock);
}

/* Delivers the cached objects as adds to a late handler or queue; hlock held. */
static void replay(kc_informer *inf, const kc_informer_handlers *h, kn_workqueue *q)
{
    size_t n = 0;
    kc_obj **all = snapshot(inf, &n);
    for (size_t i = 0; i < n; i++) {
        if (h && h->on_add)
            h->on_add(all[i], h->ud);
        if (q)
            kn_workqueue_add(q, all[i]->key);
        kc_obj_unref(all[i]); /* one parsed tree at a time */
    }
    free(all);
}

void kc_informer_add_handlers(kc_informer *inf, const kc_informer_handlers *h)
{
    pthread_mutex_lock(&inf->hlock);
    inf->handlers = xreallocarray(inf->handlers, inf->nhandlers + 1, sizeof(*inf->handlers));
    inf->handlers[inf->nhandlers++] = *h;
    replay(inf, h, NULL);
    pthread_mutex_unlock(&inf->hlock);
}

void kc_informer_add_queue(kc_informer *inf, kn_workqueue *q)
{
    pthread_mutex_lock(&inf->hlock);
    inf->queues = xreallocarray(inf->queues, inf->nqueues + 1, sizeof(*inf->queues));
    inf->queues[inf->nqueues++] = q;
    replay(inf, NULL, q);
    pthread_mutex_unlock(&inf->hlock);
}

int kc_informer_start(kc_informer *inf, kn_error **err)
{
    pthread_mutex_lock(&inf->lock);
    bool running = inf->running;
    pthread_mutex_unlock(&inf->lock);
    if (running)
        return kn_error_set(err, KN_EINVAL, "informer %s: already started", inf->res.resource);
    int rc = pthread_create(&inf->thread, NULL, reflector_main, inf);
    if (rc != 0)
        return kn_error_errno(err, rc, "informer %s: start", inf->res.resource);
    pthread_mutex_lock(&inf->lock);
    inf->running = true;
    pthread_mutex_unlock(&inf->lock);
    if (inf->o.resync_ns > 0) {
        rc = pthread_create(&inf->resync_thread, NULL, resync_main, inf);
        if (rc != 0) {
            inf->o.resync_ns = 0;
            kc_informer_stop(inf);
            return kn_error_errno(err, rc, "informer %s: start resync", inf->res.resource);
        }
    }
    return 0;
}

void kc_informer_stop(kc_informer *inf)
{
    pthread_mutex_lock(&inf->lock);
    bool was = inf->running;
    inf->stop = true;
    inf->running = false;
    if (inf->watch)
        kc_watch_cancel(inf->watch);
    pthread_cond_broadcast(&inf->cond);
    pthread_mutex_unlock(&inf->lock);
    if (!was)
        return;
    pthread_join(inf->thread, NULL);
    if (inf->o.resync_ns > 0)
        pthread_join(inf->resync_thread, NULL);
}

void kc_informer_free(kc_informer *inf)
{
    if (!inf)
        return;
    kc_informer_stop(inf);
    for (size_t i = 0; i < inf->nindexes; i++) {
        kc_map_free(&inf->indexes[i].values, free_set);
        free(inf->indexes[i].name);
    }
    free(inf->indexes);
    kc_map_free(&inf->store, obj_unref_void);
    pthread_mutex_destroy(&inf->lock);
    pthread_mutex_destroy(&inf->hlock);
    pthread_cond_destroy(&inf->cond);
    free(inf->handlers);
    free(inf->queues);
    free(inf->group);
    free(inf->version);
    free(inf->resource);
    free(inf->ns);
    free(inf->label);
    free(inf->field);
    free(inf->rv);
    kn_buf_free(&inf->scratch);
    free(inf);
}

/* ---- reading --------------------------------------------------------------------------------- */

bool kc_informer_has_synced(kc_informer *inf)
{
    pthread_mutex_lock(&inf->lock);
    bool s = inf->synced;
    pthread_mutex_unlock(&inf->lock);
    return s;
}

bool kc_informer_wait_synced(kc_informer *inf, int64_t timeout_ns)
{
    int64_t deadline =
        timeout_ns < 0 ? KN_TIME_NEVER : kn_time_add(kn_time_monotonic_ns(), timeout_ns);
    pthread_mutex_lock(&inf->lock);
    while (!inf->synced && !inf->stop && kn_time_monotonic_ns() < deadline)
        kn_clock_wait_until(NULL, &inf->cond, &inf->lock, deadline);
    bool s = inf->synced;
    pthread_mutex_unlock(&inf->lock);
    return s;
}

const char *kc_informer_resource_version(kc_informer *inf, char *buf, size_t size)
{
    pthread_mutex_lock(&inf->lock);
    snprintf(buf, size, "%s", inf->rv);
    pthread_mutex_unlock(&inf->lock);
    return buf;
}

int kc_informer_lists(kc_informer *inf)
{
    pthread_mutex_lock(&inf->lock);
    int n = inf->lists;
    pthread_mutex_unlock(&inf->lock);
    return n;
}

kc_obj *kc_informer_get(kc_informer *inf, const char *key)
{
    pthread_mutex_lock(&inf->lock);
    kc_obj *o = kc_map_get(&inf->store, key);
    if (o)
        kc_obj_ref(o);
    pthread_mutex_unlock(&inf->lock);
    return o;
}

static int by_key(const void *a, const void *b)
{
    return strcmp((*(kc_obj *const *)a)->key, (*(kc_obj *const *)b)->key);
}

/* References to every object of map m (values kc_obj*), sorted; lock held. */
static kc_obj **refs_of(const kc_map *m, size_t *n)
{
    kc_obj **v = xcalloc(m->len + 1, sizeof(*v));
    size_t pos = 0, i = 0;
    const char *key;
    void *val;
    while (kc_map_next(m, &pos, &key, &val))
        v[i++] = kc_obj_ref(val);
    qsort(v, i, sizeof(*v), by_key);
    *n = i;
    return v;
}

static kc_obj **snapshot(kc_informer *inf, size_t *n)
{
    pthread_mutex_lock(&inf->lock);
    kc_obj **v = refs_of(&inf->store, n);
    pthread_mutex_unlock(&inf->lock);
    return v;
}

kc_obj **kc_informer_list(kc_informer *inf, size_t *n)
{
    return snapshot(inf, n);
}

kc_obj **kc_informer_by_index(kc_informer *inf, const char *index, const char *value, size_t *n)
{
    pthread_mutex_lock(&inf->lock);
    const kc_map *set = NULL;
    for (size_t i = 0; i < inf->nindexes; i++) {
        if (strcmp(inf->indexes[i].name, index) != 0)
            continue;
        if (!inf->indexes[i].built)
            build_index(inf, i);
        set = kc_map_get(&inf->indexes[i].values, value);
    }
    kc_map empty;
    kc_map_init(&empty);
    kc_obj **v = refs_of(set ? set : &empty, n);
    pthread_mutex_unlock(&inf->lock);
    return v;
}

size_t kc_informer_len(kc_informer *inf)
{
    pthread_mutex_lock(&inf->lock);
    size_t n = inf->store.len;
    pthread_mutex_unlock(&inf->lock);
    return n;
}

bool kc_informer_running(kc_informer *inf)
{
    pthread_mutex_lock(&inf->lock);
    bool r = inf->running;
    pthread_mutex_unlock(&inf->lock);
    return r;
}

/* ---- shared informers ------------------------------------------------------------------------ */

struct kc_informer_factory {
    kc_client *c;
    pthread_mutex_t lock;
    kc_map informers; /* "group/version/resource|ns|label|field" -> kc_informer* */
};

kc_informer_factory *kc_informer_factory_new(kc_client *c)
{
    kc_informer_factory *f = xcalloc(1, sizeof(*f));
    f->c = c;
    pthread_mutex_init(&f->lock, NULL);
    kc_map_init(&f->informers);
    return f;
}

kc_informer *kc_informer_factory_get(kc_informer_factory *f, const kc_resource *r,
                                     const kc_informer_options *o)
{
    kc_informer_options opts = o ? *o : (kc_informer_options){0};
    cleanup_free char *key = xasprintf(
        "%s/%s/%s|%s|%s|%s|%p", r->group ? r->group : "", r->version, r->resource,
        opts.ns ? opts.ns : "", opts.label_selector ? opts.label_selector : "",
        opts.field_selector ? opts.field_selector : "", (void *)(uintptr_t)opts.transform);
    pthread_mutex_lock(&f->lock);
    kc_informer *inf = kc_map_get(&f->informers, key);
    if (!inf) {
        inf = kc_informer_new(f->c, r, &opts);
        kc_map_put(&f->informers, key, inf);
    }
    pthread_mutex_unlock(&f->lock);
    return inf;
}

int kc_informer_factory_start(kc_informer_factory *f, kn_error **err)
{
    pthread_mutex_lock(&f->lock);
    size_t pos = 0;
    const char *key;
    void *val;
    int r = 0;
    while (r == 0 && kc_map_next(&f->informers, &pos, &key, &val))
        if (!kc_informer_running(val))
            r = kc_informer_start(val, err);
    pthread_mutex_unlock(&f->lock);
    return r;
}

bool kc_informer_factory_wait_synced(kc_informer_factory *f, int64_t timeout_ns)
{
    int64_t deadline =
        timeout_ns < 0 ? KN_TIME_NEVER : kn_time_add(kn_time_monotonic_ns(), timeout_ns);
    pthread_mutex_lock(&f->lock);
    size_t pos = 0;
    const char *key;
    void *val;
    bool ok = true;
    while (ok && kc_map_next(&f->informers, &pos, &key, &val)) {
        int64_t left = deadline == KN_TIME_NEVER ? -1 : deadline - kn_time_monotonic_ns();
        ok = kc_informer_wait_synced(val, left < 0 && deadline != KN_TIME_NEVER ? 0 : left);
    }
    pthread_mutex_unlock(&f->lock);
    return ok;
}

static void informer_free_void(void *p)
{
    kc_informer_free(p);
}

void kc_informer_factory_free(kc_informer_factory *f)
{
    if (!f)
        return;
    kc_map_free(&f->informers, informer_free_void);
    pthread_mutex_destroy(&f->lock);
    free(f);
}

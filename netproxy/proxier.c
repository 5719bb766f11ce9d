/* proxier.c - the sync loop: when to sync (debounce, periodic full syncs,
 * retries with backoff) and what one sync does. */
#include "netproxy/proxier.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "lib/backoff.h"
#include "lib/log.h"
#include "lib/xalloc.h"
#include "netproxy/hcserver.h"
#include "netproxy/hmap.h"
#include "netproxy/incsync.h"

#define COMPONENT "proxy"
/* How often to look again while the source has no complete view yet. */
#define SOURCE_POLL_NS (100 * 1000 * 1000LL)
#define RETRY_INITIAL_NS (1000 * 1000 * 1000LL)

/* Messages of the objects one sync skipped, sorted. */
typedef struct skip_list {
    size_t n, cap;
    char **v;
    size_t nconflicts; /* Services dropped for a conflict */
} skip_list;

/* Above this many changed Services a sync rebuilds everything. */
#define PARTIAL_MAX_KEYS 1000

struct np_proxier {
    np_proxier_opts o;
    char *node_name;
    kn_clock *clock;
    pthread_mutex_t mu;
    pthread_cond_t cond;      /* wakes the loop (changes, stop) */
    pthread_cond_t idle_cond; /* the loop parked (np_proxier_wait_idle) */
    pthread_t thread;
    bool running, stopping;

    /* loop state, under mu */
    uint64_t notify_seq, seen_seq;
    bool dirty;
    bool dirty_all;   /* a change without a Service key: rebuild */
    np_hmap *changed; /* "ns/name" of the Services changed since the last sync */
    bool parked;
    int64_t park_deadline;
    bool have_last, failed;
    int64_t last_start, last_full_start, retry_at;
    np_proxier_stats stats;

    /* the sync thread's own */
    kn_backoff backoff;
    np_model *applied; /* the model of the last successful full sync */
    np_incsync *inc;   /* or the kept state (owns the model) */
    np_hcs *hcs;       /* healthCheckNodePort servers, or NULL */
    size_t nnode_ips;
    np_addr node_ips[NP_MAX_NODE_IPS];
    char *node_ips_error;       /* last error reading them, logged once */
    skip_list skips;            /* of the last sync, logged when new */
    np_sync_gauges last_gauges; /* of the last full sync */

    np_metrics metrics;
    np_health health;
};

/* ---- skipped objects ---- */

static void on_skip_msg(skip_list *l, const char *msg)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 8;
        l->v = xreallocarray(l->v, l->cap, sizeof(*l->v));
    }
    l->v[l->n++] = xstrdup(msg);
}

static void on_skip(const kn_error *err, void *ud)
{
    skip_list *l = ud;
    on_skip_msg(l, kn_error_msg(err));
    l->nconflicts += err->code == KN_ECONFLICT;
}

static void skips_free(skip_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    memset(l, 0, sizeof(*l));
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Logs each skip not already reported by the previous sync; keeps the list
 * (a partial sync, which sees only some objects, adds to it). (Events on
 * the objects: opts.on_skip.) */
static void report_skips(np_proxier *p, skip_list *now, bool partial)
{
    if (now->n > 1)
        qsort(now->v, now->n, sizeof(*now->v), cmp_str);
    for (size_t i = 0; i < now->n; i++) {
        if (p->skips.n && bsearch(&now->v[i], p->skips.v, p->skips.n, sizeof(char *), cmp_str))
            continue;
        kn_log_kv(KN_LOG_WARNING, COMPONENT, "skipping invalid object", "error", now->v[i], NULL);
        if (p->o.on_skip)
            p->o.on_skip(p->o.on_skip_ud, now->v[i]);
        if (partial)
            on_skip_msg(&p->skips, now->v[i]);
    }
    if (partial) {
        if (p->skips.n > 1)
            qsort(p->skips.v, p->skips.n, sizeof(*p->skips.v), cmp_str);
        skips_free(now);
        return;
    }
    skips_free(&p->skips);
    p->skips = *now;
    memset(now, 0, sizeof(*now));
}

/* ---- one sync ---- */

static void add_objects(np_proxier *p, np_builder *b, np_kind kind)
{
    np_objects objs = {0};
    p->o.source.list(p->o.source.ud, kind, &objs);
    for (size_t i = 0; i < objs.n; i++) {
        if (kind == NP_KIND_SERVICE)
            np_builder_add_service(b, objs.v[i], NULL);
        else
            np_builder_add_slice(b, objs.v[i], NULL);
    }
    p->o.source.release(p->o.source.ud, &objs);
}

static np_model *build_model(np_proxier *p, skip_list *skips)
{
    np_builder *b = np_builder_new(on_skip, skips);
    add_objects(p, b, NP_KIND_SERVICE);
    add_objects(p, b, NP_KIND_SLICE);
    return np_builder_finish(b);
}

static void log_node_ips(np_proxier *p)
{
    kn_buf b = KN_BUF_INIT;
    for (size_t i = 0; i < p->nnode_ips; i++) {
        char a[64];
        kn_buf_appendf(&b, "%s%s", i ? "," : "", np_addr_str(&p->node_ips[i], a, sizeof(a)));
    }
    kn_log_kv(KN_LOG_INFO, COMPONENT, "NodePort addresses", "addresses", b.len ? b.data : "(none)",
              NULL);
    kn_buf_free(&b);
}

/* Reads the NodePort addresses; on error the last known ones stay. */
static void refresh_node_ips(np_proxier *p)
{
    if (!p->o.dataplane.node_ips)
        return;
    np_addr ips[NP_MAX_NODE_IPS];
    size_t n = 0;
    kn_error *err = NULL;
    if (p->o.dataplane.node_ips(p->o.dataplane.ud, ips, NP_MAX_NODE_IPS, &n, &err) < 0) {
        if (!p->node_ips_error || strcmp(p->node_ips_error, kn_error_msg(err)) != 0) {
            KN_WARN(COMPONENT, "NodePort addresses: %s (keeping the last known)",
                    kn_error_msg(err));
            free(p->node_ips_error);
            p->node_ips_error = xstrdup(kn_error_msg(err));
        }
        kn_error_free(&err);
        return;
    }
    free(p->node_ips_error);
    p->node_ips_error = NULL;
    bool same = n == p->nnode_ips && memcmp(ips, p->node_ips, n * sizeof(*ips)) == 0;
    memcpy(p->node_ips, ips, n * sizeof(*ips));
    p->nnode_ips = n;
    if (!same)
        log_node_ips(p);
}

static void make_config(np_proxier *p, np_config *cfg)
{
    np_config_init(cfg);
    cfg->node_name = p->node_name;
    cfg->nnode_ips = p->nnode_ips;
    memcpy(cfg->node_ips, p->node_ips, p->nnode_ips * sizeof(*cfg->node_ips));
    cfg->ncluster_cidrs = p->o.ncluster_cidrs;
    memcpy(cfg->cluster_cidrs, p->o.cluster_cidrs,
           p->o.ncluster_cidrs * sizeof(*cfg->cluster_cidrs));
    cfg->masquerade_all = p->o.masquerade_all;
}

static void count_ruleset(const np_ruleset *rs, np_sync_gauges *g)
{
    if (!rs)
        return;
    for (size_t i = 0; i < rs->nchains; i++)
        g->rules += rs->chains[i].nrules;
    for (size_t i = 0; i < rs->nsets; i++)
        g->elements += rs->sets[i].nelems;
    const np_set *s = np_ruleset_find_set(rs, "noep-reject");
    g->no_endpoints += s ? s->nelems : 0;
    s = np_ruleset_find_set(rs, "noep-drop");
    g->no_endpoints += s ? s->nelems : 0;
}

static bool has_udp(const np_service *s)
{
    for (size_t i = 0; s && i < s->nports; i++) {
        if (s->ports[i].proto == NP_PROTO_UDP)
            return true;
    }
    return false;
}

/* True when a Service with UDP ports (before or after) changed. */
static bool udp_changed(const np_model *old, const np_model *new)
{
    np_diff d;
    np_model_diff(old, new, &d);
    bool any = false;
    for (size_t i = 0; i < d.nchanges && !any; i++) {
        const np_change *c = &d.changes[i];
        any = has_udp(old ? np_model_find(old, c->ns, c->name) : NULL) ||
              has_udp(np_model_find(new, c->ns, c->name));
    }
    np_diff_free(&d);
    return any;
}

/* The model the kernel's rules were last made from. */
static const np_model *applied_model(const np_proxier *p)
{
    return p->inc ? np_incsync_model(p->inc) : p->applied;
}

static void run_ct_plan(np_proxier *p, const np_model *old, const np_model *m)
{
    np_ct_plan *plan = np_ct_plan_build(old, m, p->node_ips, p->nnode_ips);
    size_t deleted = 0;
    kn_error *err = NULL;
    int r = np_ct_plan_empty(plan)
                ? 0
                : p->o.dataplane.conntrack(p->o.dataplane.ud, plan, &deleted, &err);
    np_ct_plan_free(plan);
    pthread_mutex_lock(&p->metrics.mu);
    p->metrics.conntrack_deleted += deleted;
    p->metrics.conntrack_failures += r < 0;
    pthread_mutex_unlock(&p->metrics.mu);
    if (r < 0)
        KN_ERR(COMPONENT, "conntrack cleanup: %s", kn_error_msg(err));
    else if (deleted)
        KN_V(1, COMPONENT, "deleted %zu stale UDP conntrack entries", deleted);
    kn_error_free(&err);
}

static void cleanup_conntrack(np_proxier *p, const np_model *m, bool full)
{
    if (p->o.dataplane.conntrack && (full || udp_changed(applied_model(p), m)))
        run_ct_plan(p, applied_model(p), m);
}

/* After a partial sync: the plan over the changed Services only. */
static void cleanup_conntrack_partial(np_proxier *p, const np_inc_result *res)
{
    np_service *before = xcalloc(res->nchanges + 1, sizeof(*before));
    np_service *after = xcalloc(res->nchanges + 1, sizeof(*after));
    np_model old = {0, before}, now = {0, after};
    bool udp = false;
    for (size_t i = 0; i < res->nchanges; i++) {
        const np_svc_change *c = &res->changes[i];
        if (c->old.ns)
            before[old.nservices++] = c->old;
        if (c->new)
            after[now.nservices++] = *c->new;
        udp |= has_udp(c->old.ns ? &c->old : NULL) || has_udp(c->new);
    }
    if (udp && p->o.dataplane.conntrack)
        run_ct_plan(p, &old, &now);
    free(before);
    free(after);
}

static void log_sync(const np_proxier *p, const np_sync_gauges *g, const np_sync_stats *st,
                     double secs)
{
    int v = p->stats.syncs <= 1 ? 0 : 2;
    if (!kn_log_v(v))
        return;
    KN_INFO(COMPONENT,
            "synced full=%d services=%llu endpoints=%llu rules=%llu elements=%llu "
            "messages=%zu +elements=%zu -elements=%zu chains_flushed=%zu took=%.3fs",
            st->full, (unsigned long long)g->services, (unsigned long long)g->endpoints,
            (unsigned long long)g->rules, (unsigned long long)g->elements, st->messages,
            st->elems_added, st->elems_deleted, st->chains_flushed, secs);
}

static bool can_partial(const np_proxier *p)
{
    return p->o.source.get_service && p->o.source.slices_of && p->o.dataplane.sync_delta;
}

/* True when the kept state already holds model m for configuration cfg
 * (a periodic full sync of unchanged objects); else logs the drift. */
static bool kept_state_current(const np_proxier *p, const np_model *m, const np_config *cfg)
{
    if (!p->inc || memcmp(np_incsync_config(p->inc), cfg, sizeof(*cfg)) != 0)
        return false;
    np_diff d;
    np_model_diff(np_incsync_model(p->inc), m, &d);
    size_t n = d.nchanges;
    if (n)
        KN_WARN(COMPONENT, "partial syncs missed %zu Service changes (first %s/%s); rebuilt", n,
                d.changes[0].ns, d.changes[0].name);
    np_diff_free(&d);
    return n == 0;
}

/* Keeps m as the applied model: in the kept state for partial syncs when
 * the source and dataplane allow them. */
static void keep_model(np_proxier *p, np_model *m, size_t nconflicts, const np_config *cfg)
{
    if (can_partial(p) && kept_state_current(p, m, cfg)) {
        np_model_free(m);
        return;
    }
    np_incsync_free(p->inc);
    p->inc = NULL;
    np_model_free(p->applied);
    p->applied = NULL;
    if (can_partial(p))
        p->inc = np_incsync_new(m, nconflicts, cfg, p->o.ipv4, p->o.ipv6);
    else
        p->applied = m;
}

/* A full sync: model from every object, rulesets, transaction, then
 * conntrack. */
static int sync_full(np_proxier *p, bool full, int64_t start, np_sync_stats *st, kn_error **err)
{
    int64_t t0 = kn_time_monotonic_ns();
    skip_list skips = {0};
    np_model *m = build_model(p, &skips);
    np_sync_gauges g = {.services = m->nservices, .skipped = skips.n};
    for (size_t i = 0; i < m->nservices; i++)
        g.endpoints += m->services[i].nendpoints;
    size_t nconflicts = skips.nconflicts;
    report_skips(p, &skips, false);
    refresh_node_ips(p);
    np_config cfg;
    make_config(p, &cfg);
    bool rules = !p->o.dataplane.sync_model;
    np_ruleset *v4 = rules && p->o.ipv4 ? np_ruleset_build(m, &cfg, AF_INET) : NULL;
    np_ruleset *v6 = rules && p->o.ipv6 ? np_ruleset_build(m, &cfg, AF_INET6) : NULL;
    count_ruleset(v4, &g);
    count_ruleset(v6, &g);
    memset(st, 0, sizeof(*st));
    int r = rules ? p->o.dataplane.sync(p->o.dataplane.ud, v4, v6, full, st, err)
                  : p->o.dataplane.sync_model(p->o.dataplane.ud, m, &cfg, full, st, err);
    double secs = (double)(kn_time_monotonic_ns() - t0) / 1e9;
    g.batch_messages = st->messages;
    np_metrics_sync(&p->metrics, secs, full, r >= 0, &g);
    if (r < 0) {
        np_model_free(m);
        return r;
    }
    p->last_gauges = g;
    np_health_updated(&p->health, start);
    log_sync(p, &g, st, secs);
    cleanup_conntrack(p, m, full);
    keep_model(p, m, nconflicts, &cfg);
    if (p->hcs)
        np_hcs_sync(p->hcs, applied_model(p), p->node_name, p->node_ips, p->nnode_ips);
    return 0;
}

static bool node_ips_moved(const np_proxier *p)
{
    const np_config *c = np_incsync_config(p->inc);
    return c->nnode_ips != p->nnode_ips ||
           memcmp(c->node_ips, p->node_ips, p->nnode_ips * sizeof(*p->node_ips)) != 0;
}

static void partial_gauges(const np_proxier *p, const np_inc_result *res, np_sync_gauges *g)
{
    const np_model *m = np_incsync_model(p->inc);
    *g = p->last_gauges; /* rules and Services without endpoints: as of the last full sync */
    g->services = m->nservices;
    g->endpoints = 0;
    for (size_t i = 0; i < m->nservices; i++)
        g->endpoints += m->services[i].nendpoints;
    g->elements = res->elements;
    g->skipped = p->skips.n;
}

/* A partial sync of the Services keys[0..n). Returns 1 when it cannot be
 * done that way (a full rebuild is needed), else 0 or < 0 as a sync. */
static int sync_partial(np_proxier *p, char *const *keys, size_t n, int64_t start,
                        np_sync_stats *st, kn_error **err)
{
    int64_t t0 = kn_time_monotonic_ns();
    refresh_node_ips(p);
    skip_list skips = {0};
    np_inc_result res;
    if (node_ips_moved(p) ||
        !np_incsync_update(p->inc, &p->o.source, keys, n, on_skip, &skips, &res)) {
        skips_free(&skips);
        return 1;
    }
    report_skips(p, &skips, true);
    memset(st, 0, sizeof(*st));
    int r = p->o.dataplane.sync_delta(p->o.dataplane.ud, res.from, res.to, st, err);
    double secs = (double)(kn_time_monotonic_ns() - t0) / 1e9;
    np_sync_gauges g;
    partial_gauges(p, &res, &g);
    g.batch_messages = st->messages;
    np_metrics_sync(&p->metrics, secs, false, r >= 0, &g);
    if (r < 0) {
        /* the kept state is ahead of the kernel now: the retry rebuilds */
        np_inc_result_free(&res);
        np_incsync_free(p->inc);
        p->inc = NULL;
        return r;
    }
    np_health_updated(&p->health, start);
    log_sync(p, &g, st, secs);
    cleanup_conntrack_partial(p, &res);
    np_inc_result_free(&res);
    if (p->hcs)
        np_hcs_sync(p->hcs, applied_model(p), p->node_name, p->node_ips, p->nnode_ips);
    return 0;
}

/* Changed Service keys, taken out of the map (which is freed). */
typedef struct key_list {
    size_t n;
    char **v;
} key_list;

static void collect_key(const void *k, size_t kl, void *v, void *ud)
{
    (void)v;
    key_list *l = ud;
    l->v[l->n++] = xstrndup(k, kl);
}

static void take_keys(np_hmap *m, key_list *out)
{
    out->n = 0;
    out->v = xcalloc(np_hmap_len(m) + 1, sizeof(char *));
    np_hmap_each(m, collect_key, out);
    np_hmap_free(m);
}

static void keys_free(key_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
}

/* One sync: partial when only named Services changed and the kept state
 * can take them, else full. */
static int sync_once(np_proxier *p, bool full, bool all, key_list *keys, int64_t start,
                     np_sync_stats *st, kn_error **err)
{
    int r = 1;
    if (!full && !all && p->inc && keys->n <= PARTIAL_MAX_KEYS)
        r = sync_partial(p, keys->v, keys->n, start, st, err);
    if (r == 1)
        r = sync_full(p, full, start, st, err);
    keys_free(keys);
    return r;
}

/* ---- the loop ---- */

/* When the next sync is due, and whether it is a full one. */
static int64_t next_due(np_proxier *p, int64_t now, bool *full)
{
    *full = true;
    if (!p->have_last)
        return now;
    if (p->failed)
        return p->retry_at;
    int64_t periodic = kn_time_add(p->last_full_start, p->o.sync_period_ns);
    int64_t due = periodic;
    if (p->dirty) {
        int64_t d = kn_time_add(p->last_start, p->o.min_sync_period_ns);
        due = d < due ? d : due;
    }
    *full = periodic <= (due > now ? due : now);
    return due;
}

static void park(np_proxier *p, int64_t deadline)
{
    p->parked = true;
    p->park_deadline = deadline;
    pthread_cond_broadcast(&p->idle_cond);
    kn_clock_wait_until(p->clock, &p->cond, &p->mu, deadline);
    p->parked = false;
}

static void after_sync(np_proxier *p, int r, const np_sync_stats *st, kn_error **err)
{
    p->stats.last = *st;
    if (r >= 0) {
        p->failed = false;
        kn_backoff_reset(&p->backoff);
        return;
    }
    int64_t wait = kn_backoff_next(&p->backoff);
    p->failed = true;
    p->retry_at = kn_time_add(kn_clock_now(p->clock), wait);
    p->stats.failures++;
    np_health_queued(&p->health);
    KN_ERR(COMPONENT, "sync failed, the previous rules stay; full sync again in %.1fs: %s",
           (double)wait / 1e9, kn_error_msg(*err));
    kn_error_free(err);
}

static bool source_synced(np_proxier *p)
{
    return !p->o.source.synced || p->o.source.synced(p->o.source.ud);
}

static void *loop(void *arg)
{
    np_proxier *p = arg;
    pthread_mutex_lock(&p->mu);
    while (!p->stopping) {
        p->seen_seq = p->notify_seq;
        int64_t now = kn_clock_now(p->clock);
        bool full = true;
        int64_t due = source_synced(p) ? next_due(p, now, &full) : now + SOURCE_POLL_NS;
        if (due > now) {
            park(p, due);
            continue;
        }
        p->dirty = false;
        p->have_last = true;
        p->last_start = p->stats.last_start_ns = now;
        if (full)
            p->last_full_start = now;
        p->stats.syncs++;
        p->stats.full_syncs += full;
        bool all = p->dirty_all;
        p->dirty_all = false;
        key_list keys;
        take_keys(p->changed, &keys);
        p->changed = np_hmap_new();
        pthread_mutex_unlock(&p->mu);
        np_sync_stats st;
        kn_error *err = NULL;
        int r = sync_once(p, full, all, &keys, now, &st, &err);
        pthread_mutex_lock(&p->mu);
        after_sync(p, r, &st, &err);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

/* ---- public ---- */

np_proxier *np_proxier_new(const np_proxier_opts *opts)
{
    np_proxier *p = xcalloc(1, sizeof(*p));
    p->o = *opts;
    p->node_name = opts->node_name ? xstrdup(opts->node_name) : NULL;
    p->changed = np_hmap_new();
    p->o.node_name = p->node_name;
    p->clock = opts->clock ? opts->clock : kn_clock_monotonic();
    pthread_mutex_init(&p->mu, NULL);
    kn_cond_init(&p->cond);
    kn_cond_init(&p->idle_cond);
    int64_t cap = opts->sync_period_ns > RETRY_INITIAL_NS ? opts->sync_period_ns : RETRY_INITIAL_NS;
    kn_backoff_params bp = {
        .duration_ns = RETRY_INITIAL_NS, .factor = 2.0, .steps = 32, .cap_ns = cap};
    kn_backoff_init(&p->backoff, &bp);
    np_metrics_init(&p->metrics);
    /* kube-proxy's health timeout: twice the sync period */
    np_health_init(&p->health, p->clock, 2 * opts->sync_period_ns);
    p->hcs = opts->health_check_servers ? np_hcs_new(&p->health) : NULL;
    return p;
}

int np_proxier_start(np_proxier *p, kn_error **err)
{
    if (p->running)
        return 0;
    p->stopping = false;
    int e = pthread_create(&p->thread, NULL, loop, p);
    if (e)
        return kn_error_errno(err, e, "start the proxy sync thread");
    p->running = true;
    return 0;
}

static void notify(np_proxier *p, np_kind kind, const char *key)
{
    pthread_mutex_lock(&p->metrics.mu);
    if (kind == NP_KIND_SERVICE)
        p->metrics.service_changes++;
    else
        p->metrics.endpoint_changes++;
    pthread_mutex_unlock(&p->metrics.mu);
    np_health_queued(&p->health);
    pthread_mutex_lock(&p->mu);
    p->notify_seq++;
    p->dirty = true;
    if (key)
        np_hmap_sput(p->changed, key, p);
    else
        p->dirty_all = true;
    pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->mu);
}

void np_proxier_notify(np_proxier *p, np_kind kind)
{
    notify(p, kind, NULL);
}

void np_proxier_notify_service(np_proxier *p, np_kind kind, const char *ns, const char *name)
{
    char *key = xasprintf("%s/%s", ns, name);
    notify(p, kind, key);
    free(key);
}

void np_proxier_stop(np_proxier *p)
{
    if (!p->running)
        return;
    pthread_mutex_lock(&p->mu);
    p->stopping = true;
    pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->mu);
    pthread_join(p->thread, NULL);
    p->running = false;
}

void np_proxier_free(np_proxier *p)
{
    if (!p)
        return;
    np_proxier_stop(p);
    np_model_free(p->applied);
    np_incsync_free(p->inc);
    np_hcs_free(p->hcs);
    np_hmap_free(p->changed);
    skips_free(&p->skips);
    free(p->node_ips_error);
    free(p->node_name);
    np_metrics_destroy(&p->metrics);
    np_health_destroy(&p->health);
    pthread_cond_destroy(&p->cond);
    pthread_cond_destroy(&p->idle_cond);
    pthread_mutex_destroy(&p->mu);
    free(p);
}

np_metrics *np_proxier_metrics(np_proxier *p)
{
    return &p->metrics;
}

np_health *np_proxier_health(np_proxier *p)
{
    return &p->health;
}

void np_proxier_get_stats(np_proxier *p, np_proxier_stats *out)
{
    pthread_mutex_lock(&p->mu);
    *out = p->stats;
    pthread_mutex_unlock(&p->mu);
}

static bool idle(np_proxier *p)
{
    return p->parked && p->seen_seq == p->notify_seq &&
           (p->park_deadline == KN_TIME_NEVER || kn_clock_now(p->clock) < p->park_deadline);
}

bool np_proxier_wait_idle(np_proxier *p, int64_t timeout_ns)
{
    int64_t deadline = kn_time_add(kn_time_monotonic_ns(), timeout_ns);
    pthread_mutex_lock(&p->mu);
    bool ok;
    while (!(ok = idle(p)) && kn_time_monotonic_ns() < deadline)
        kn_clock_wait_until(kn_clock_monotonic(), &p->idle_cond, &p->mu,
                            kn_time_monotonic_ns() + 10 * 1000 * 1000);
    pthread_mutex_unlock(&p->mu);
    return ok;
}

/* test-proxier.c - the proxy's sync loop on a fake clock: when it syncs
 * (waiting for the source, debounce, periodic full syncs, retries with
 * backoff), what it hands the dataplane (rulesets, conntrack plans), skipped
 * objects logged once, metrics and health. The source is an in-memory list
 * of API objects; the dataplane records the calls and fails when told. */
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "lib/cleanup.h"
#include "lib/log.h"
#include "lib/strbuf.h"
#include "lib/xalloc.h"
#include "netproxy/proxier.h"
#include "test/runner/kt.h"

#define SEC 1000000000LL
#define MS 1000000LL
#define T0 (1000 * SEC)
#define IDLE_WAIT (20 * SEC) /* a hang guard, never a pass/fail threshold */

/* ---- the in-memory source ---- */

typedef struct store {
    pthread_mutex_t mu;
    bool synced;
    cJSON *objs[2]; /* arrays of Services, EndpointSlices */
} store;

static void st_list(void *ud, np_kind kind, np_objects *out)
{
    store *s = ud;
    pthread_mutex_lock(&s->mu);
    out->n = (size_t)cJSON_GetArraySize(s->objs[kind]);
    out->v = xcalloc(out->n + 1, sizeof(*out->v));
    size_t i = 0;
    for (cJSON *it = s->objs[kind]->child; it; it = it->next)
        out->v[i++] = it;
}

static void st_release(void *ud, np_objects *objs)
{
    store *s = ud;
    free(objs->v);
    pthread_mutex_unlock(&s->mu);
}

static bool st_synced(void *ud)
{
    return ((store *)ud)->synced;
}

static cJSON *parse_sq(const char *sq)
{
    char *json = xstrdup(sq);
    for (char *p = json; *p; p++) {
        if (*p == '\'')
            *p = '"';
    }
    cJSON *o = cJSON_Parse(json);
    free(json);
    KT_ASSERT_MSG(o, "bad test JSON: %s", sq);
    return o;
}

/* Replaces (or adds) the object with the same metadata.name. */
static void st_put(store *s, np_kind kind, const char *sq)
{
    cJSON *o = parse_sq(sq);
    const char *name = cJSON_GetObjectItem(cJSON_GetObjectItem(o, "metadata"), "name")->valuestring;
    pthread_mutex_lock(&s->mu);
    int i = 0;
    for (cJSON *it = s->objs[kind]->child; it; it = it->next, i++) {
        cJSON *m = cJSON_GetObjectItem(it, "metadata");
        if (strcmp(cJSON_GetObjectItem(m, "name")->valuestring, name) == 0) {
            cJSON_ReplaceItemInArray(s->objs[kind], i, o);
            o = NULL;
            break;
        }
    }
    if (o)
        cJSON_AddItemToArray(s->objs[kind], o);
    pthread_mutex_unlock(&s->mu);
}

/* ---- the recording dataplane ---- */

typedef struct call {
    bool full;
    bool delta; /* sync_delta: elements counts the `to` side */
    int64_t at;
    size_t elements; /* in the IPv4 ruleset */
} call;

typedef struct plane {
    pthread_mutex_t mu;
    kn_fake_clock *fc;
    int fail_next; /* number of syncs to fail */
    size_t ncalls;
    call calls[64];
    size_t ncts;
    int ct_stale_hits; /* plans that call the probe entry stale */
    np_ct_entry probe; /* a UDP flow 10.96.0.10:53 answered by 10.244.1.12 */
} plane;

static int pl_sync(void *ud, np_ruleset *v4, np_ruleset *v6, bool full, np_sync_stats *st,
                   kn_error **err)
{
    plane *p = ud;
    pthread_mutex_lock(&p->mu);
    call c = {.full = full, .at = kn_clock_now(&p->fc->clock)};
    for (size_t i = 0; v4 && i < v4->nsets; i++)
        c.elements += v4->sets[i].nelems;
    if (p->ncalls < 64)
        p->calls[p->ncalls++] = c;
    st->full = full;
    st->messages = 1;
    int r = 0;
    if (p->fail_next > 0) {
        p->fail_next--;
        r = kn_error_set(err, KN_EIO, "nftables: injected failure");
    }
    pthread_mutex_unlock(&p->mu);
    np_ruleset_free(v4);
    np_ruleset_free(v6);
    return r;
}

static size_t count_elems(const np_ruleset *rs)
{
    size_t n = 0;
    for (size_t i = 0; rs && i < rs->nsets; i++)
        n += rs->sets[i].nelems;
    return n;
}

static int pl_sync_delta(void *ud, np_ruleset *const from[2], np_ruleset *const to[2],
                         np_sync_stats *st, kn_error **err)
{
    (void)from, (void)err;
    plane *p = ud;
    pthread_mutex_lock(&p->mu);
    call c = {.delta = true, .at = kn_clock_now(&p->fc->clock), .elements = count_elems(to[0])};
    if (p->ncalls < 64)
        p->calls[p->ncalls++] = c;
    st->messages = 1;
    pthread_mutex_unlock(&p->mu);
    return 0;
}

/* The object of kind named name (keys are "default/<name>"; a slice is
 * found by its Service's name plus "-1"). */
static void st_one(store *s, np_kind kind, const char *key, np_objects *out)
{
    pthread_mutex_lock(&s->mu);
    out->v = xcalloc(2, sizeof(*out->v));
    out->n = 0;
    char *want = xasprintf("%s%s", key + strlen("default/"), kind == NP_KIND_SLICE ? "-1" : "");
    for (cJSON *it = s->objs[kind]->child; it; it = it->next) {
        cJSON *m = cJSON_GetObjectItem(it, "metadata");
        if (strcmp(cJSON_GetObjectItem(m, "name")->valuestring, want) == 0)
            out->v[out->n++] = it;
    }
    free(want);
}

static void st_get_service(void *ud, const char *key, np_objects *out)
{
    st_one(ud, NP_KIND_SERVICE, key, out);
}

static void st_slices_of(void *ud, const char *key, np_objects *out)
{
    st_one(ud, NP_KIND_SLICE, key, out);
}

static int pl_node_ips(void *ud, np_addr *out, size_t max, size_t *n, kn_error **err)
{
    np_addr_parse("10.250.0.1", &out[0]);
    *n = 1;
    return 0;
}

static int pl_conntrack(void *ud, const np_ct_plan *plan, size_t *deleted, kn_error **err)
{
    plane *p = ud;
    pthread_mutex_lock(&p->mu);
    p->ncts++;
    if (np_ct_plan_stale(plan, &p->probe))
        p->ct_stale_hits++;
    pthread_mutex_unlock(&p->mu);
    *deleted = 0;
    return 0;
}

/* ---- fixture ---- */

/* fx_init gives the proxier what partial syncs need when this is set */
static bool fx_partial;

typedef struct fixture {
    kn_fake_clock fc;
    store src;
    plane dp;
    np_proxier *p;
} fixture;

static void fx_init(fixture *f, int64_t min_sync, int64_t sync_period)
{
    memset(f, 0, sizeof(*f));
    kn_fake_clock_init(&f->fc, T0);
    /* the proxier holds a Service and its slices at once */
    pthread_mutexattr_t ma;
    pthread_mutexattr_init(&ma);
    pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init(&f->src.mu, &ma);
    f->src.synced = true;
    f->src.objs[0] = cJSON_CreateArray();
    f->src.objs[1] = cJSON_CreateArray();
    pthread_mutex_init(&f->dp.mu, NULL);
    f->dp.fc = &f->fc;
    f->dp.probe.proto = IPPROTO_UDP;
    np_addr_parse("10.96.0.10", &f->dp.probe.orig_dst);
    f->dp.probe.orig_dport = 53;
    np_addr_parse("10.244.1.12", &f->dp.probe.reply_src);
    np_proxier_opts o = {.node_name = "node",
                         .ipv4 = true,
                         .ipv6 = true,
                         .min_sync_period_ns = min_sync,
                         .sync_period_ns = sync_period,
                         .clock = &f->fc.clock,
                         .source = {st_list, st_release, st_synced, &f->src},
                         .dataplane = {pl_sync, pl_node_ips, pl_conntrack, &f->dp}};
    np_cidr_parse("10.244.0.0/16", false, &o.cluster_cidrs[o.ncluster_cidrs++]);
    if (fx_partial) {
        o.source.get_service = st_get_service;
        o.source.slices_of = st_slices_of;
        o.dataplane.sync_delta = pl_sync_delta;
    }
    f->p = np_proxier_new(&o);
}

static void fx_free(fixture *f)
{
    np_proxier_free(f->p);
    cJSON_Delete(f->src.objs[0]);
    cJSON_Delete(f->src.objs[1]);
    kn_fake_clock_destroy(&f->fc);
}

static void idle(fixture *f)
{
    KT_ASSERT_MSG(np_proxier_wait_idle(f->p, IDLE_WAIT), "the sync loop never went idle");
}

static void advance(fixture *f, int64_t d)
{
    kn_fake_clock_advance(&f->fc, d);
    idle(f);
}

static size_t ncalls(fixture *f)
{
    pthread_mutex_lock(&f->dp.mu);
    size_t n = f->dp.ncalls;
    pthread_mutex_unlock(&f->dp.mu);
    return n;
}

static call last_call(fixture *f)
{
    pthread_mutex_lock(&f->dp.mu);
    KT_ASSERT(f->dp.ncalls > 0);
    call c = f->dp.calls[f->dp.ncalls - 1];
    pthread_mutex_unlock(&f->dp.mu);
    return c;
}

static void fail_next(fixture *f, int n)
{
    pthread_mutex_lock(&f->dp.mu);
    f->dp.fail_next = n;
    pthread_mutex_unlock(&f->dp.mu);
}

static void start(fixture *f)
{
    kn_error *err = NULL;
    KT_ASSERT_OK(np_proxier_start(f->p, &err), err);
    idle(f);
}

static const char *const SVC =
    "{'metadata':{'namespace':'default','name':'web'},'spec':{'clusterIP':'10.96.0.10',"
    "'ports':[{'name':'http','port':80},{'name':'dns','port':53,'protocol':'UDP'}]}}";

/* web's slice with endpoints 10.244.1.<last> */
static char *slice(const int *last, size_t n)
{
    kn_buf b = KN_BUF_INIT;
    kn_buf_append_str(&b, "{'metadata':{'namespace':'default','name':'web-1','labels':{"
                          "'kubernetes.io/service-name':'web'}},'addressType':'IPv4','ports':["
                          "{'name':'http','port':8080},{'name':'dns','port':5353,'protocol':"
                          "'UDP'}],'endpoints':[");
    for (size_t i = 0; i < n; i++)
        kn_buf_appendf(&b, "%s{'addresses':['10.244.1.%d']}", i ? "," : "", last[i]);
    kn_buf_append_str(&b, "]}");
    return kn_buf_steal(&b);
}

static void put_slice(fixture *f, const int *last, size_t n)
{
    cleanup_free char *s = slice(last, n);
    st_put(&f->src, NP_KIND_SLICE, s);
}

/* ---- tests ---- */

KT_TEST(netproxy_proxier, waits_for_the_source_then_full_sync)
{
    fixture f;
    fx_init(&f, SEC, 30 * SEC);
    f.src.synced = false;
    st_put(&f.src, NP_KIND_SERVICE, SVC);
    np_proxier_notify(f.p, NP_KIND_SERVICE);
    start(&f);
    for (int i = 0; i < 5; i++)
        advance(&f, 100 * MS);
    /* an incomplete view must never be synced: it would empty the table */
    KT_ASSERT_EQ(ncalls(&f), 0);
    int64_t ignored = 0, now = 0;
    KT_ASSERT(!np_health_check(np_proxier_health(f.p), &ignored, &now));
    f.src.synced = true;
    advance(&f, 100 * MS);
    KT_ASSERT_EQ(ncalls(&f), 1);
    KT_ASSERT(last_call(&f).full);
    KT_ASSERT(np_health_check(np_proxier_health(f.p), &ignored, &now));
    fx_free(&f);
}

KT_TEST(netproxy_proxier, changes_within_min_sync_period_are_batched)
{
    fixture f;
    fx_init(&f, SEC, 30 * SEC);
    st_put(&f.src, NP_KIND_SERVICE, SVC);
    start(&f);
    KT_ASSERT_EQ(ncalls(&f), 1);
    size_t base = last_call(&f).elements;

    advance(&f, 100 * MS);
    put_slice(&f, (int[]){11}, 1);
    np_proxier_notify(f.p, NP_KIND_SLICE);
    idle(&f);
    advance(&f, 300 * MS);
    put_slice(&f, (int[]){11, 12}, 2);
    np_proxier_notify(f.p, NP_KIND_SLICE);
    idle(&f);
    advance(&f, 500 * MS); /* 0.9 s after the first sync */
    KT_ASSERT_EQ(ncalls(&f), 1);
    advance(&f, 100 * MS); /* 1 s: both changes in one partial sync */
    KT_ASSERT_EQ(ncalls(&f), 2);
    call c = last_call(&f);
    KT_ASSERT(!c.full);
    KT_ASSERT_EQ(c.at, T0 + SEC);
    KT_ASSERT(c.elements > base);

    /* after a quiet period a change is applied at once */
    advance(&f, 5 * SEC);
    put_slice(&f, (int[]){12}, 1);
    np_proxier_notify(f.p, NP_KIND_SLICE);
    idle(&f);
    KT_ASSERT_EQ(ncalls(&f), 3);
    KT_ASSERT_EQ(last_call(&f).at, T0 + 6 * SEC);
    np_metrics *m = np_proxier_metrics(f.p);
    KT_ASSERT_EQ(m->endpoint_changes, 3);
    KT_ASSERT_EQ(m->sync_partial.count, 2);
    KT_ASSERT_EQ(m->gauges.endpoints, 1);
    fx_free(&f);
}

KT_TEST(netproxy_proxier, no_min_sync_period_syncs_every_change)
{
    fixture f;
    fx_init(&f, 0, 30 * SEC);
    start(&f);
    for (int i = 0; i < 3; i++) {
        np_proxier_notify(f.p, NP_KIND_SERVICE);
        idle(&f);
    }
    KT_ASSERT_EQ(ncalls(&f), 4);
    fx_free(&f);
}

KT_TEST(netproxy_proxier, periodic_full_sync)
{
    fixture f;
    fx_init(&f, SEC, 30 * SEC);
    start(&f);
    advance(&f, 10 * SEC);
    np_proxier_notify(f.p, NP_KIND_SERVICE); /* a partial sync does not move the period */
    idle(&f);
    KT_ASSERT_EQ(ncalls(&f), 2);
    KT_ASSERT(!last_call(&f).full);
    advance(&f, 20 * SEC - 1);
    KT_ASSERT_EQ(ncalls(&f), 2);
    advance(&f, 1);
    KT_ASSERT_EQ(ncalls(&f), 3);
    KT_ASSERT(last_call(&f).full);
    KT_ASSERT_EQ(last_call(&f).at, T0 + 30 * SEC);
    advance(&f, 30 * SEC);
    KT_ASSERT_EQ(ncalls(&f), 4);
    KT_ASSERT_EQ(np_proxier_metrics(f.p)->sync_full.count, 3);
    fx_free(&f);
}

KT_TEST(netproxy_proxier, failed_sync_retried_full_with_backoff)
{
    fixture f;
    fx_init(&f, SEC, 30 * SEC);
    st_put(&f.src, NP_KIND_SERVICE, SVC);
    put_slice(&f, (int[]){11, 12}, 2);
    start(&f);
    advance(&f, 2 * SEC);
    fail_next(&f, 2);
    put_slice(&f, (int[]){11}, 1); /* a UDP endpoint leaves */
    np_proxier_notify(f.p, NP_KIND_SLICE);
    idle(&f);
    KT_ASSERT_EQ(ncalls(&f), 2); /* failed */
    /* the failed sync applied nothing: no conntrack cleanup yet */
    KT_ASSERT_EQ(f.dp.ct_stale_hits, 0);
    advance(&f, 500 * MS);
    np_proxier_notify(f.p, NP_KIND_SLICE); /* waits for the retry */
    idle(&f);
    KT_ASSERT_EQ(ncalls(&f), 2);
    advance(&f, 500 * MS); /* 1 s after the failure */
    KT_ASSERT_EQ(ncalls(&f), 3);
    KT_ASSERT(last_call(&f).full);
    advance(&f, 2 * SEC - 1); /* the second failure waits 2 s */
    KT_ASSERT_EQ(ncalls(&f), 3);
    advance(&f, 1);
    KT_ASSERT_EQ(ncalls(&f), 4);
    KT_ASSERT(last_call(&f).full);
    np_proxier_stats st;
    np_proxier_get_stats(f.p, &st);
    KT_ASSERT_EQ(st.failures, 2);
    KT_ASSERT_EQ(np_proxier_metrics(f.p)->sync_failures, 2);
    KT_ASSERT_EQ(f.dp.ct_stale_hits, 1); /* now the entry to .12 is stale */
    /* success resets the backoff: the next change is a partial sync again */
    advance(&f, 2 * SEC);
    np_proxier_notify(f.p, NP_KIND_SERVICE);
    idle(&f);
    KT_ASSERT_EQ(ncalls(&f), 5);
    KT_ASSERT(!last_call(&f).full);
    fx_free(&f);
}

KT_TEST(netproxy_proxier, conntrack_cleanup_only_for_udp_changes)
{
    fixture f;
    fx_init(&f, SEC, 30 * SEC);
    st_put(&f.src, NP_KIND_SERVICE, SVC);
    put_slice(&f, (int[]){11, 12}, 2);
    start(&f);
    KT_ASSERT_EQ(f.dp.ncts, 1); /* the first (full) sync */
    KT_ASSERT_EQ(f.dp.ct_stale_hits, 0);
    advance(&f, 2 * SEC);
    st_put(&f.src, NP_KIND_SERVICE,
           "{'metadata':{'namespace':'default','name':'tcp'},'spec':{'clusterIP':'10.96.0.11',"
           "'ports':[{'port':80}]}}");
    np_proxier_notify(f.p, NP_KIND_SERVICE);
    idle(&f);
    KT_ASSERT_EQ(ncalls(&f), 2);
    KT_ASSERT_EQ(f.dp.ncts, 1); /* a TCP-only change needs none */
    advance(&f, 2 * SEC);
    put_slice(&f, (int[]){11}, 1);
    np_proxier_notify(f.p, NP_KIND_SLICE);
    idle(&f);
    KT_ASSERT_EQ(f.dp.ncts, 2);
    KT_ASSERT_EQ(f.dp.ct_stale_hits, 1);
    fx_free(&f);
}

typedef struct captured {
    pthread_mutex_t mu;
    kn_buf text;
} captured;

static void sink(kn_log_level level, const char *line, void *ud)
{
    captured *c = ud;
    pthread_mutex_lock(&c->mu);
    kn_buf_append_str(&c->text, line);
    pthread_mutex_unlock(&c->mu);
}

static int count_in(captured *c, const char *needle)
{
    pthread_mutex_lock(&c->mu);
    int n = 0;
    for (const char *p = c->text.data; p && (p = strstr(p, needle)) != NULL; p++)
        n++;
    pthread_mutex_unlock(&c->mu);
    return n;
}

KT_TEST(netproxy_proxier, invalid_objects_logged_once_and_skipped)
{
    captured cap = {.mu = PTHREAD_MUTEX_INITIALIZER};
    kn_buf_init(&cap.text);
    kn_log_set_sink(sink, &cap);
    fixture f;
    fx_init(&f, SEC, 30 * SEC);
    st_put(&f.src, NP_KIND_SERVICE, SVC);
    st_put(&f.src, NP_KIND_SERVICE,
           "{'metadata':{'namespace':'team','name':'bad'},'spec':{'clusterIP':'10.96.0.20',"
           "'ports':[{'port':0}]}}");
    start(&f);
    KT_ASSERT_EQ(count_in(&cap, "service team/bad: spec.ports[0].port"), 1);
    KT_ASSERT_EQ(np_proxier_metrics(f.p)->gauges.skipped, 1);
    KT_ASSERT_EQ(np_proxier_metrics(f.p)->gauges.services, 1); /* the valid one stays */
    advance(&f, 30 * SEC);
    advance(&f, 30 * SEC);
    KT_ASSERT_EQ(ncalls(&f), 3);
    KT_ASSERT_EQ(count_in(&cap, "service team/bad: spec.ports[0].port"), 1);
    /* fixed, then broken again: reported again */
    st_put(&f.src, NP_KIND_SERVICE,
           "{'metadata':{'namespace':'team','name':'bad'},'spec':{'clusterIP':'10.96.0.20',"
           "'ports':[{'port':80}]}}");
    np_proxier_notify(f.p, NP_KIND_SERVICE);
    advance(&f, SEC); /* the last sync (periodic) was just now */
    KT_ASSERT_EQ(ncalls(&f), 4);
    KT_ASSERT_EQ(np_proxier_metrics(f.p)->gauges.skipped, 0);
    advance(&f, 2 * SEC);
    st_put(&f.src, NP_KIND_SERVICE,
           "{'metadata':{'namespace':'team','name':'bad'},'spec':{'clusterIP':'10.96.0.20',"
           "'ports':[{'port':0}]}}");
    np_proxier_notify(f.p, NP_KIND_SERVICE);
    idle(&f);
    KT_ASSERT_EQ(count_in(&cap, "service team/bad: spec.ports[0].port"), 2);
    fx_free(&f);
    kn_log_set_sink(NULL, NULL);
    kn_buf_free(&cap.text);
}

KT_TEST(netproxy_proxier, health_follows_syncs)
{
    fixture f;
    fx_init(&f, SEC, 10 * SEC); /* health timeout: 20 s */
    np_health *h = np_proxier_health(f.p);
    int64_t last = 0, now = 0;
    start(&f);
    KT_ASSERT(np_health_check(h, &last, &now));
    KT_ASSERT_EQ(last, now); /* healthy: "updated now", as kube-proxy says */
    fail_next(&f, 1000);
    advance(&f, 2 * SEC);
    np_proxier_notify(f.p, NP_KIND_SERVICE);
    idle(&f);
    advance(&f, 17 * SEC); /* a retry failed too; the last success is 19 s old */
    KT_ASSERT(np_health_check(h, &last, &now));
    advance(&f, 1 * SEC); /* 20 s: twice the sync period */
    KT_ASSERT(!np_health_check(h, &last, &now));
    KT_ASSERT_EQ(last, now - 20 * SEC);
    KT_ASSERT_EQ(np_proxier_metrics(f.p)->sync_failures, 2);
    fail_next(&f, 0);
    advance(&f, 10 * SEC); /* the next retry succeeds */
    KT_ASSERT(np_health_check(h, &last, &now));
    fx_free(&f);
}

/* With a source that can name Services and a dataplane that takes deltas,
 * a keyed change is a partial sync carrying only that Service's
 * difference (and its UDP conntrack cleanup); a change without a key, and
 * the periodic sync, rebuild everything. */
KT_TEST(netproxy_proxier, keyed_changes_sync_partially)
{
    fixture f;
    fx_partial = true;
    fx_init(&f, SEC, 30 * SEC);
    fx_partial = false;
    st_put(&f.src, NP_KIND_SERVICE, SVC);
    start(&f);
    KT_ASSERT_EQ(ncalls(&f), 1);
    KT_ASSERT(last_call(&f).full && !last_call(&f).delta);
    size_t cts = f.dp.ncts;

    advance(&f, 2 * SEC);
    put_slice(&f, (int[]){11, 12}, 2);
    np_proxier_notify_service(f.p, NP_KIND_SLICE, "default", "web");
    idle(&f);
    KT_ASSERT_EQ(ncalls(&f), 2);
    call c = last_call(&f);
    KT_ASSERT(c.delta && !c.full);
    /* ep-2 for both ports (4), two hairpin pairs; the noep-reject keys go */
    KT_ASSERT_EQ(c.elements, 6);
    KT_ASSERT_EQ(f.dp.ncts, cts + 1); /* web has a UDP port */

    advance(&f, 2 * SEC);
    np_proxier_notify_service(f.p, NP_KIND_SLICE, "default", "web"); /* nothing changed */
    idle(&f);
    KT_ASSERT_EQ(ncalls(&f), 3);
    KT_ASSERT(last_call(&f).delta);
    KT_ASSERT_EQ(last_call(&f).elements, 0);

    advance(&f, 2 * SEC);
    np_proxier_notify(f.p, NP_KIND_SERVICE);
    idle(&f);
    KT_ASSERT_EQ(ncalls(&f), 4);
    KT_ASSERT(!last_call(&f).delta);
    fx_free(&f);
}

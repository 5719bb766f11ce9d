/* test-incremental.c - the incremental model and ruleset (netproxy/
 * tracker.h, netproxy/ruleset-inc.h) against a full rebuild: after every
 * batch of random Service and EndpointSlice changes, the kept model equals
 * the model built from every object, the kept ruleset equals
 * np_ruleset_build of it, and the deltas, applied one after another to the
 * first ruleset, give the same ruleset. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "lib/strbuf.h"
#include "lib/xalloc.h"
#include "netproxy/ruleset-inc.h"
#include "netproxy/tracker.h"
#include "test/runner/kt.h"

#define NSVC 24

/* The objects: Service k and its two slices (IPv4, IPv6); NULL: absent. */
typedef struct world {
    cJSON *svc[NSVC];
    cJSON *slice[NSVC][2];
    unsigned seed;
} world;

static unsigned rnd(world *w, unsigned n)
{
    w->seed = w->seed * 1103515245u + 12345u;
    return (w->seed >> 16) % n;
}

static const char *const TYPES[] = {"ClusterIP", "NodePort", "LoadBalancer"};

/* Random Service k; ClusterIPs collide now and then (a conflict). */
static cJSON *random_service(world *w, int k)
{
    kn_buf b = KN_BUF_INIT;
    int ip = rnd(w, 30) == 0 ? (int)rnd(w, NSVC) : k;
    const char *type = TYPES[rnd(w, 3)];
    bool np = strcmp(type, "ClusterIP") != 0;
    kn_buf_appendf(&b,
                   "{\"metadata\":{\"namespace\":\"ns%d\",\"name\":\"s%d\"},\"spec\":{\"type\":"
                   "\"%s\",\"clusterIPs\":[\"10.96.0.%d\"",
                   k % 3, k, type, ip + 1);
    if (rnd(w, 2))
        kn_buf_appendf(&b, ",\"fd00:96::%x\"", ip + 1);
    kn_buf_appendf(&b, "],\"ports\":[");
    int nports = 1 + (int)rnd(w, 2);
    for (int p = 0; p < nports; p++)
        kn_buf_appendf(&b, "%s{\"name\":\"p%d\",\"port\":%d,\"protocol\":\"%s\"%s}", p ? "," : "",
                       p, 80 + p, rnd(w, 3) ? "TCP" : "UDP",
                       np ? (p ? ",\"nodePort\":31001" : ",\"nodePort\":30000") : "");
    kn_buf_appendf(&b, "]");
    if (rnd(w, 4) == 0)
        kn_buf_appendf(&b,
                       ",\"sessionAffinity\":\"ClientIP\",\"sessionAffinityConfig\":{"
                       "\"clientIP\":{\"timeoutSeconds\":%d}}",
                       60 + (int)rnd(w, 3));
    if (np && rnd(w, 2))
        kn_buf_appendf(&b, ",\"externalTrafficPolicy\":\"Local\"");
    if (rnd(w, 4) == 0)
        kn_buf_appendf(&b, ",\"internalTrafficPolicy\":\"Local\"");
    if (rnd(w, 4) == 0)
        kn_buf_appendf(&b, ",\"externalIPs\":[\"192.0.2.%d\"]", k + 1);
    if (strcmp(type, "LoadBalancer") == 0)
        kn_buf_appendf(&b,
                       ",\"loadBalancerSourceRanges\":[\"203.0.113.0/24\"]},\"status\":{"
                       "\"loadBalancer\":{\"ingress\":[{\"ip\":\"198.51.100.%d\"}]}}}",
                       k + 1);
    else
        kn_buf_appendf(&b, "}}");
    cJSON *o = cJSON_Parse(b.data);
    KT_ASSERT_MSG(o, "bad JSON %s", b.data);
    kn_buf_free(&b);
    /* nodePorts must differ between Services, unless a conflict is wanted */
    if (np && rnd(w, 30)) {
        cJSON *ports = cJSON_GetObjectItem(cJSON_GetObjectItem(o, "spec"), "ports"), *p;
        int i = 0;
        cJSON_ArrayForEach(p, ports)
        {
            cJSON_ReplaceItemInObject(p, "nodePort", cJSON_CreateNumber(30100 + k * 4 + i++));
        }
    }
    return o;
}

static cJSON *random_slice(world *w, int k, int fam)
{
    kn_buf b = KN_BUF_INIT;
    kn_buf_appendf(&b,
                   "{\"metadata\":{\"namespace\":\"ns%d\",\"name\":\"s%d-%d\",\"labels\":{"
                   "\"kubernetes.io/service-name\":\"s%d\"}},\"addressType\":\"%s\",\"ports\":["
                   "{\"name\":\"p0\",\"port\":8080},{\"name\":\"p1\",\"port\":8081,\"protocol\":"
                   "\"UDP\"}],\"endpoints\":[",
                   k % 3, k, fam, k, fam ? "IPv6" : "IPv4");
    int n = (int)rnd(w, 5);
    for (int e = 0; e < n; e++) {
        /* shared addresses between Services now and then (hairpin elements) */
        int a = rnd(w, 4) ? k * 8 + (int)rnd(w, 8) : (int)rnd(w, 8);
        const char *ready = rnd(w, 5) ? "true" : "false";
        if (fam)
            kn_buf_appendf(&b, "%s{\"addresses\":[\"fd00:244::%x\"],", e ? "," : "", a + 1);
        else
            kn_buf_appendf(&b, "%s{\"addresses\":[\"10.244.%d.%d\"],", e ? "," : "", a / 200,
                           a % 200 + 1);
        kn_buf_appendf(&b,
                       "\"nodeName\":\"%s\",\"conditions\":{\"ready\":%s,\"serving\":true,"
                       "\"terminating\":%s}}",
                       rnd(w, 2) ? "n1" : "n2", ready, ready[0] == 't' ? "false" : "true");
    }
    kn_buf_appendf(&b, "]}");
    cJSON *o = cJSON_Parse(b.data);
    KT_ASSERT_MSG(o, "bad JSON %s", b.data);
    kn_buf_free(&b);
    return o;
}

/* Changes one random object; returns the Service index touched. */
static int random_change(world *w)
{
    int k = (int)rnd(w, NSVC), what = (int)rnd(w, 6);
    cJSON **slot = what < 2 ? &w->svc[k] : &w->slice[k][what % 2];
    cJSON_Delete(*slot);
    *slot = NULL;
    if (what == 5)
        return k; /* deleted */
    *slot = what < 2 ? random_service(w, k) : random_slice(w, k, what % 2);
    return k;
}

static np_model *full_model(const world *w, size_t *nconflicts)
{
    np_builder *b = np_builder_new(NULL, NULL);
    for (int k = 0; k < NSVC; k++) {
        if (w->svc[k])
            np_builder_add_service(b, w->svc[k], NULL);
        for (int f = 0; f < 2; f++) {
            if (w->slice[k][f])
                np_builder_add_slice(b, w->slice[k][f], NULL);
        }
    }
    np_model *m = np_builder_finish(b);
    size_t kept = m->nservices, valid = 0;
    for (int k = 0; k < NSVC; k++) {
        np_service *s = w->svc[k] ? np_build_service(w->svc[k], NULL, 0, NULL, NULL) : NULL;
        valid += s != NULL;
        if (s)
            np_service_free(s);
        free(s);
    }
    *nconflicts = valid - kept;
    return m;
}

static np_service *one(const world *w, int k)
{
    const cJSON *sl[2];
    size_t n = 0;
    for (int f = 0; f < 2; f++) {
        if (w->slice[k][f])
            sl[n++] = w->slice[k][f];
    }
    return np_build_service(w->svc[k], sl, n, NULL, NULL);
}

static void cfg_init(np_config *c)
{
    np_config_init(c);
    c->node_name = "n1";
    np_addr_parse("10.250.0.1", &c->node_ips[c->nnode_ips++]);
    np_addr_parse("fd00:250::1", &c->node_ips[c->nnode_ips++]);
    np_cidr_parse("10.244.0.0/16", false, &c->cluster_cidrs[c->ncluster_cidrs++]);
}

/* ---- applying a delta to a whole ruleset ---- */

static np_set *find_set_mut(np_ruleset *rs, const char *name)
{
    return (np_set *)np_ruleset_find_set(rs, name);
}

static void remove_elems(np_set *s, const np_set *del, int fam)
{
    size_t out = 0;
    for (size_t i = 0; i < s->nelems; i++) {
        if (np_set_find(del, &s->elems[i], fam)) {
            free(s->elems[i].chain);
            continue;
        }
        s->elems[out++] = s->elems[i];
    }
    s->nelems = out;
}

/* A copy of rs without the sets and chains named in `gone`'s and `to`'s,
 * then `to`'s sets and chains patched in. */
static np_ruleset *patch(const np_ruleset *rs, const np_ruleset *from, const np_ruleset *to)
{
    np_ruleset *out = xcalloc(1, sizeof(*out));
    out->family = rs->family;
    for (size_t i = 0; i < rs->nsets; i++) {
        const np_set *s = &rs->sets[i];
        const np_set *f = np_ruleset_find_set(from, s->name);
        if (f && !np_ruleset_find_set(to, s->name))
            continue;
        np_set *d = np_ruleset_add_set(out, s);
        for (size_t j = 0; j < s->nelems; j++)
            np_set_add(d, &s->elems[j]);
    }
    for (size_t i = 0; i < rs->nchains; i++) {
        const np_chain *c = &rs->chains[i];
        if (!np_ruleset_find_chain(from, c->name) && !np_ruleset_find_chain(to, c->name))
            np_ruleset_add_chain(out, c);
    }
    np_ruleset_sort(out);
    for (size_t i = 0; i < to->nsets; i++) {
        const np_set *t = &to->sets[i], *f = np_ruleset_find_set(from, t->name);
        np_set *d = find_set_mut(out, t->name);
        if (!d) {
            d = np_ruleset_add_set(out, t);
            np_ruleset_sort(out);
            d = find_set_mut(out, t->name);
        }
        /* a redefined set (an affinity timeout): the new definition */
        np_set def = *t;
        def.nelems = d->nelems;
        def.cap = d->cap;
        def.elems = d->elems;
        *d = def;
        if (f)
            remove_elems(d, f, rs->family);
        remove_elems(d, t, rs->family);
        for (size_t j = 0; j < t->nelems; j++)
            np_set_add(d, &t->elems[j]);
    }
    for (size_t i = 0; i < to->nchains; i++)
        np_ruleset_add_chain(out, &to->chains[i]);
    np_ruleset_sort(out);
    return out;
}

static void assert_same(const np_ruleset *a, const np_ruleset *b, const char *what, int round)
{
    char *x = np_ruleset_render(a), *y = np_ruleset_render(b);
    if (strcmp(x, y) != 0) {
        FILE *f = fopen("/tmp/kt-inc-a.nft", "w");
        if (f) {
            fputs(x, f);
            fclose(f);
        }
        f = fopen("/tmp/kt-inc-b.nft", "w");
        if (f) {
            fputs(y, f);
            fclose(f);
        }
    }
    KT_ASSERT_MSG(strcmp(x, y) == 0, "round %d: %s differs (see /tmp/kt-inc-[ab].nft)", round,
                  what);
    free(x);
    free(y);
}

typedef struct state {
    np_tracker *t;
    np_rsinc *r[2];
    np_ruleset *shadow[2];
    size_t full_rebuilds;
} state;

static const int FAMS[2] = {AF_INET, AF_INET6};

static void state_reset(state *st, const world *w, const np_config *cfg)
{
    np_tracker_free(st->t);
    size_t nconf = 0;
    np_model *m = full_model(w, &nconf);
    for (int f = 0; f < 2; f++) {
        np_rsinc_free(st->r[f]);
        st->r[f] = np_rsinc_new(cfg, FAMS[f]);
        for (size_t i = 0; i < m->nservices; i++)
            np_rsinc_update(st->r[f], NULL, &m->services[i]);
        np_ruleset *from = NULL, *to = NULL;
        np_rsinc_take_delta(st->r[f], &from, &to);
        np_ruleset_free(from);
        np_ruleset_free(st->shadow[f]);
        st->shadow[f] = to; /* the delta from nothing is everything */
    }
    st->t = np_tracker_new(m, nconf);
    st->full_rebuilds++;
}

static void apply_batch(state *st, const world *w, const np_config *cfg, const int *ks, size_t n)
{
    np_svc_update u[8];
    np_service *svcs[8];
    char ns[8][16], name[8][16];
    for (size_t i = 0; i < n; i++) {
        snprintf(ns[i], sizeof(ns[i]), "ns%d", ks[i] % 3);
        snprintf(name[i], sizeof(name[i]), "s%d", ks[i]);
        svcs[i] = one(w, ks[i]);
        u[i] = (np_svc_update){ns[i], name[i], svcs[i]};
    }
    np_svc_change ch[8];
    if (!np_tracker_apply(st->t, u, n, ch)) {
        state_reset(st, w, cfg);
    } else {
        for (int f = 0; f < 2; f++) {
            for (size_t i = 0; i < n; i++)
                np_rsinc_update(st->r[f], ch[i].old.ns ? &ch[i].old : NULL, ch[i].new);
            np_ruleset *from = NULL, *to = NULL;
            np_rsinc_take_delta(st->r[f], &from, &to);
            np_ruleset *next = patch(st->shadow[f], from, to);
            np_ruleset_free(st->shadow[f]);
            st->shadow[f] = next;
            np_ruleset_free(from);
            np_ruleset_free(to);
        }
        np_svc_changes_free(ch, n);
    }
    for (size_t i = 0; i < n; i++) {
        if (svcs[i])
            np_service_free(svcs[i]);
        free(svcs[i]);
    }
}

static void check(state *st, const world *w, const np_config *cfg, int round)
{
    size_t nconf = 0;
    np_model *m = full_model(w, &nconf);
    np_diff d;
    np_model_diff(m, np_tracker_model(st->t), &d);
    KT_ASSERT_MSG(d.nchanges == 0, "round %d: model differs at %s/%s", round,
                  d.nchanges ? d.changes[0].ns : "", d.nchanges ? d.changes[0].name : "");
    np_diff_free(&d);
    for (int f = 0; f < 2; f++) {
        np_ruleset *want = np_ruleset_build(m, cfg, FAMS[f]);
        np_ruleset *have = np_rsinc_ruleset(st->r[f]);
        assert_same(want, have, "kept ruleset", round);
        assert_same(want, st->shadow[f], "ruleset patched by the deltas", round);
        np_ruleset_free(want);
        np_ruleset_free(have);
    }
    np_model_free(m);
}

KT_TEST(netproxy_incremental, random_changes_equal_full_rebuild)
{
    world w;
    memset(&w, 0, sizeof(w));
    w.seed = 42;
    for (int k = 0; k < NSVC; k++) {
        w.svc[k] = random_service(&w, k);
        w.slice[k][0] = random_slice(&w, k, 0);
        w.slice[k][1] = random_slice(&w, k, 1);
    }
    np_config cfg;
    cfg_init(&cfg);
    state st;
    memset(&st, 0, sizeof(st));
    state_reset(&st, &w, &cfg);
    check(&st, &w, &cfg, 0);
    for (int round = 1; round <= 300; round++) {
        int ks[8];
        size_t n = 1 + rnd(&w, 3);
        for (size_t i = 0; i < n; i++) {
            ks[i] = random_change(&w);
            for (size_t j = 0; j < i; j++) {
                if (ks[j] == ks[i])
                    n = i; /* distinct Services per batch */
            }
        }
        apply_batch(&st, &w, &cfg, ks, n ? n : 1);
        check(&st, &w, &cfg, round);
    }
    /* both paths ran: most batches incrementally, conflicts by rebuilding */
    KT_ASSERT(st.full_rebuilds > 1 && st.full_rebuilds < 100);
    np_tracker_free(st.t);
    for (int f = 0; f < 2; f++) {
        np_rsinc_free(st.r[f]);
        np_ruleset_free(st.shadow[f]);
    }
    for (int k = 0; k < NSVC; k++) {
        cJSON_Delete(w.svc[k]);
        cJSON_Delete(w.slice[k][0]);
        cJSON_Delete(w.slice[k][1]);
    }
}

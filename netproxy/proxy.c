/* proxy.c - the Service proxy wired together: API client and informers as
 * the source, nftables + conntrack + node addresses as the dataplane. */
#include "netproxy/proxy.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api-client/events.h"
#include "api-client/informer.h"
#include "api-client/kubeconfig.h"
#include "lib/cleanup.h"
#include "lib/log.h"
#include "lib/xalloc.h"
#include "netproxy/conntrack.h"
#include "netproxy/http.h"
#include "netproxy/ipvs.h"
#include "netproxy/nft.h"
#include "netproxy/nodeaddr.h"

#define COMPONENT "proxy"
#define HEALTHZ_PORT 10256
#define METRICS_PORT 10249
/* kube-proxy's informer filters: not another proxy's, not headless */
#define SLICE_INDEX "service"
#define LABEL_SERVICE_NAME "kubernetes.io/service-name"
#define PROXY_SELECTOR "!service.kubernetes.io/service-proxy-name,!service.kubernetes.io/headless"

struct np_proxy {
    kc_client *client, *own_client;
    kc_informer *inf[2];   /* [NP_KIND_SERVICE], [NP_KIND_SLICE] */
    kc_informer *node_inf; /* this Node only */
    np_nft *nft;
    np_ipvs *ipvs; /* --proxy-mode ipvs: instead of nft */
    bool ipv4, ipv6;
    size_t nnp_cidrs;
    np_cidr np_cidrs[NP_MAX_NODE_IPS];
    np_proxier *proxier;
    np_http_status status;
    np_http *healthz, *metrics;
    kc_event_recorder *events;
};

/* ---- the source: informer caches ---- */

static void src_list(void *ud, np_kind kind, np_objects *out)
{
    np_proxy *p = ud;
    size_t n = 0;
    kc_obj **objs = kc_informer_list(p->inf[kind], &n);
    out->n = n;
    out->v = xcalloc(n + 1, sizeof(*out->v));
    for (size_t i = 0; i < n; i++)
        out->v[i] = kc_obj_json(objs[i]);
    out->priv = objs;
}

static void src_release(void *ud, np_objects *objs)
{
    kc_objs_free(objs->priv, objs->n);
    free(objs->v);
    memset(objs, 0, sizeof(*objs));
}

static bool src_synced(void *ud)
{
    np_proxy *p = ud;
    return kc_informer_has_synced(p->inf[0]) && kc_informer_has_synced(p->inf[1]);
}

static void set_objects(kc_obj **objs, size_t n, np_objects *out)
{
    out->n = n;
    out->v = xcalloc(n + 1, sizeof(*out->v));
    for (size_t i = 0; i < n; i++)
        out->v[i] = kc_obj_json(objs[i]);
    out->priv = objs;
}

static void src_get_service(void *ud, const char *key, np_objects *out)
{
    np_proxy *p = ud;
    kc_obj *o = kc_informer_get(p->inf[NP_KIND_SERVICE], key);
    kc_obj **v = xcalloc(1, sizeof(*v));
    v[0] = o;
    set_objects(v, o ? 1 : 0, out);
}

static void src_slices_of(void *ud, const char *key, np_objects *out)
{
    np_proxy *p = ud;
    size_t n = 0;
    kc_obj **v = kc_informer_by_index(p->inf[NP_KIND_SLICE], SLICE_INDEX, key, &n);
    set_objects(v, n, out);
}

/* "ns/service" of an EndpointSlice (its service-name label), or NULL. */
static char *slice_service(const cJSON *slice)
{
    const cJSON *meta = cJSON_GetObjectItemCaseSensitive(slice, "metadata");
    const cJSON *ns = cJSON_GetObjectItemCaseSensitive(meta, "namespace");
    const cJSON *labels = cJSON_GetObjectItemCaseSensitive(meta, "labels");
    const cJSON *svc = cJSON_GetObjectItemCaseSensitive(labels, LABEL_SERVICE_NAME);
    if (!cJSON_IsString(svc))
        return NULL;
    return xasprintf("%s/%s", cJSON_IsString(ns) ? ns->valuestring : "default", svc->valuestring);
}

static char **slice_index(const cJSON *slice, void *ud)
{
    (void)ud;
    char **v = xcalloc(2, sizeof(*v));
    v[0] = slice_service(slice);
    return v;
}

/* informer handlers (ud is the proxy): every change names its Service */
static void notify_key(np_proxy *p, np_kind kind, const char *key)
{
    const char *slash = key ? strchr(key, '/') : NULL;
    if (!slash)
        return;
    char *ns = xstrndup(key, (size_t)(slash - key));
    np_proxier_notify_service(p->proxier, kind, ns, slash + 1);
    free(ns);
}

static void svc_add(kc_obj *o, void *ud)
{
    notify_key(ud, NP_KIND_SERVICE, kc_obj_key(o));
}

static void svc_update(kc_obj *old, kc_obj *o, void *ud)
{
    (void)old;
    svc_add(o, ud);
}

static void slice_add(kc_obj *o, void *ud)
{
    char *key = slice_service(kc_obj_json(o));
    notify_key(ud, NP_KIND_SLICE, key);
    free(key);
}

static void slice_update(kc_obj *old, kc_obj *o, void *ud)
{
    slice_add(old, ud); /* its label may have moved it to another Service */
    slice_add(o, ud);
}

/* ---- skipped objects: a Warning Event on each ---- */

/* The reason of a skip message ("service ns/name: ..."). */
static const char *skip_reason(const char *msg, np_kind kind)
{
    if (strstr(msg, " is already used by "))
        return "ServiceConflict";
    return kind == NP_KIND_SERVICE ? "InvalidService" : "InvalidEndpointSlice";
}

static void record_skip(void *ud, const char *msg)
{
    np_proxy *p = ud;
    char kind[32], ns[254], name[254];
    if (!p->events || sscanf(msg, "%31s %253[^/ ]/%253[^: ]", kind, ns, name) != 3)
        return;
    bool svc = strcmp(kind, "service") == 0;
    if (!svc && strcmp(kind, "endpointslice") != 0)
        return;
    np_kind k = svc ? NP_KIND_SERVICE : NP_KIND_SLICE;
    char *key = xasprintf("%s/%s", ns, name);
    kc_obj *o = kc_informer_get(p->inf[k], key);
    free(key);
    kc_object_ref ref = {0};
    if (o)
        kc_object_ref_of(kc_obj_json(o), &ref);
    /* list items carry no kind or apiVersion */
    ref.kind = svc ? "Service" : "EndpointSlice";
    ref.api_version = svc ? "v1" : "discovery.k8s.io/v1";
    ref.ns = ns;
    ref.name = name;
    kc_event_record(p->events, &ref, "Warning", skip_reason(msg, k), "%s", msg);
    kc_obj_unref(o);
}

/* ---- this Node ---- */

bool np_node_eligible(const cJSON *node)
{
    const cJSON *meta = cJSON_GetObjectItemCaseSensitive(node, "metadata");
    if (cJSON_GetObjectItemCaseSensitive(meta, "deletionTimestamp"))
        return false;
    const cJSON *spec = cJSON_GetObjectItemCaseSensitive(node, "spec");
    const cJSON *taints = cJSON_GetObjectItemCaseSensitive(spec, "taints"), *t;
    cJSON_ArrayForEach(t, taints)
    {
        const cJSON *key = cJSON_GetObjectItemCaseSensitive(t, "key");
        if (cJSON_IsString(key) && strcmp(key->valuestring, "ToBeDeletedByClusterAutoscaler") == 0)
            return false;
    }
    return true;
}

static void node_add(kc_obj *o, void *ud)
{
    np_proxy *p = ud;
    np_health_set_node_eligible(np_proxier_health(p->proxier), np_node_eligible(kc_obj_json(o)));
}

static void node_update(kc_obj *old, kc_obj *o, void *ud)
{
    (void)old;
    node_add(o, ud);
}

static void node_delete(kc_obj *o, void *ud)
{
    (void)o;
    np_proxy *p = ud;
    np_health_set_node_eligible(np_proxier_health(p->proxier), false);
}

/* ---- the dataplane ---- */

static int dp_sync(void *ud, np_ruleset *v4, np_ruleset *v6, bool full, np_sync_stats *st,
                   kn_error **err)
{
    np_proxy *p = ud;
    return np_nft_sync(p->nft, v4, v6, full, st, err);
}

static int dp_sync_delta(void *ud, np_ruleset *const from[2], np_ruleset *const to[2],
                         np_sync_stats *st, kn_error **err)
{
    np_proxy *p = ud;
    return np_nft_sync_delta(p->nft, from, to, st, err);
}

static int dp_sync_model(void *ud, const np_model *m, const np_config *cfg, bool full,
                         np_sync_stats *st, kn_error **err)
{
    np_proxy *p = ud;
    return np_ipvs_sync(p->ipvs, m, cfg, p->ipv4, p->ipv6, full, st, err);
}

static int dp_node_ips(void *ud, np_addr *out, size_t max, size_t *n, kn_error **err)
{
    np_proxy *p = ud;
    return np_nodeaddr_collect(p->np_cidrs, p->nnp_cidrs, out, max, n, err);
}

static int dp_conntrack(void *ud, const np_ct_plan *plan, size_t *deleted, kn_error **err)
{
    (void)ud;
    return np_ct_cleanup(plan, deleted, err);
}

/* ---- options ---- */

static int check_mode(const char *mode, kn_error **err)
{
    if (!mode || !*mode || strcmp(mode, "nftables") == 0 || strcmp(mode, "ipvs") == 0)
        return 0;
    return kn_error_set(err, KN_ENOTSUP,
                        "--proxy-mode \"%s\" is not supported (knode implements nftables and ipvs)",
                        mode);
}

static char *node_name(const char *override)
{
    char host[256] = "";
    if (override && *override)
        snprintf(host, sizeof(host), "%s", override);
    else if (gethostname(host, sizeof(host) - 1) < 0)
        snprintf(host, sizeof(host), "localhost");
    for (char *c = host; *c; c++)
        *c = (char)tolower((unsigned char)*c);
    return xstrdup(host);
}

static int parse_cluster_cidrs(const char *s, np_proxier_opts *po, kn_error **err)
{
    po->ncluster_cidrs = 0;
    if (!s || !*s)
        return 0;
    char *copy = xstrdup(s), *save = NULL;
    int r = 0;
    for (char *t = strtok_r(copy, ",", &save); t && r == 0; t = strtok_r(NULL, ",", &save)) {
        if (po->ncluster_cidrs == NP_MAX_CLUSTER_CIDRS)
            r = kn_error_set(err, KN_EINVAL, "--cluster-cidr: more than %d CIDRs",
                             NP_MAX_CLUSTER_CIDRS);
        else if (np_cidr_parse(t, true, &po->cluster_cidrs[po->ncluster_cidrs++]) < 0)
            r = kn_error_set(err, KN_EINVAL, "--cluster-cidr: invalid CIDR \"%s\"", t);
    }
    free(copy);
    return r;
}

static int make_client(np_proxy *p, const np_proxy_opts *o, kn_error **err)
{
    if (o->client) {
        p->client = o->client;
        return 0;
    }
    kc_config *cfg = NULL;
    const char *path = o->kubeconfig && *o->kubeconfig ? o->kubeconfig : NULL;
    if (kc_config_load(path, NULL, &cfg, err) < 0)
        return kn_error_wrap(err, "kubeconfig");
    int r = kc_client_new(cfg, NULL, &p->own_client, err);
    kc_config_free(cfg);
    p->client = p->own_client;
    return r;
}

static void make_informers(np_proxy *p, const char *node)
{
    char *sel = xasprintf("metadata.name=%s", node);
    kc_informer_options no = {.field_selector = sel};
    p->node_inf = kc_informer_new(p->client, &kc_res_nodes, &no);
    free(sel);
    kc_informer_handlers hn = {node_add, node_update, node_delete, p};
    kc_informer_add_handlers(p->node_inf, &hn);
    kc_informer_options io = {.label_selector = PROXY_SELECTOR};
    p->inf[NP_KIND_SERVICE] = kc_informer_new(p->client, &kc_res_services, &io);
    p->inf[NP_KIND_SLICE] = kc_informer_new(p->client, &kc_res_endpointslices, &io);
    kc_informer_handlers hs = {svc_add, svc_update, svc_add, p};
    kc_informer_add_handlers(p->inf[NP_KIND_SERVICE], &hs);
    kc_informer_add_index(p->inf[NP_KIND_SLICE], SLICE_INDEX, slice_index, NULL);
    kc_informer_handlers he = {slice_add, slice_update, slice_add, p};
    kc_informer_add_handlers(p->inf[NP_KIND_SLICE], &he);
}

static const char *mode_name(const np_proxy *p)
{
    return p->ipvs ? "ipvs" : "nftables";
}

/* nftables, or IPVS (the nftables mode's tables, left by an earlier run,
 * are deleted then: their DNAT would take the traffic first). */
static int open_dataplane(np_proxy *p, const np_proxy_opts *o, kn_error **err)
{
    if (np_nft_open(&p->nft, err) < 0)
        return -1;
    if (!o->proxy_mode || strcmp(o->proxy_mode, "ipvs") != 0)
        return 0;
    if (np_ipvs_open(o->ipvs_scheduler, &p->ipvs, err) < 0)
        return -1;
    return np_nft_delete_tables(p->nft, err);
}

static void make_proxier(np_proxy *p, const np_proxy_opts *o, const char *name, np_proxier_opts *po)
{
    po->node_name = name;
    po->masquerade_all = o->masquerade_all;
    po->ipv4 = true;
    po->ipv6 = access("/proc/sys/net/ipv6", F_OK) == 0;
    po->min_sync_period_ns = o->min_sync_period_ns;
    po->sync_period_ns = o->sync_period_ns;
    po->health_check_servers = true;
    po->on_skip = record_skip;
    po->on_skip_ud = p;
    po->source = (np_source){.list = src_list,
                             .release = src_release,
                             .synced = src_synced,
                             .ud = p,
                             .get_service = src_get_service,
                             .slices_of = src_slices_of};
    po->dataplane = (np_dataplane){.sync = dp_sync,
                                   .node_ips = dp_node_ips,
                                   .conntrack = dp_conntrack,
                                   .ud = p,
                                   .sync_delta = p->ipvs ? NULL : dp_sync_delta,
                                   .sync_model = p->ipvs ? dp_sync_model : NULL};
    p->ipv4 = po->ipv4;
    p->ipv6 = po->ipv6;
    p->proxier = np_proxier_new(po);
    kn_log_kv(KN_LOG_INFO, COMPONENT, "starting", "node", name, "mode", mode_name(p), "ipv6",
              po->ipv6 ? "true" : "false", NULL);
}

static int start_servers(np_proxy *p, const np_proxy_opts *o, kn_error **err)
{
    p->status = (np_http_status){np_proxier_health(p->proxier), np_proxier_metrics(p->proxier),
                                 mode_name(p)};
    if (o->healthz_address && *o->healthz_address &&
        np_http_start(o->healthz_address, HEALTHZ_PORT, np_http_healthz_routes, &p->status,
                      &p->healthz, err) < 0)
        return kn_error_wrap(err, "healthz server");
    if (o->metrics_address && *o->metrics_address &&
        np_http_start(o->metrics_address, METRICS_PORT, np_http_metrics_routes, &p->status,
                      &p->metrics, err) < 0)
        return kn_error_wrap(err, "metrics server");
    return 0;
}

static int check_opts(const np_proxy_opts *o, np_proxy *p, np_proxier_opts *po, kn_error **err)
{
    if (check_mode(o->proxy_mode, err) < 0)
        return -KN_ENOTSUP;
    if (o->sync_period_ns <= 0 || o->min_sync_period_ns < 0)
        return kn_error_set(err, KN_EINVAL, "--sync-period must be > 0, --min-sync-period >= 0");
    if (parse_cluster_cidrs(o->cluster_cidr, po, err) < 0)
        return -KN_EINVAL;
    return np_nodeaddr_parse_cidrs(o->nodeport_addresses, p->np_cidrs, NP_MAX_NODE_IPS,
                                   &p->nnp_cidrs, err);
}

static int start(np_proxy *p, const np_proxy_opts *o, kn_error **err)
{
    np_proxier_opts po = {0};
    if (check_opts(o, p, &po, err) < 0)
        return -1;
    if (open_dataplane(p, o, err) < 0 || make_client(p, o, err) < 0)
        return -1;
    cleanup_free char *name = node_name(o->hostname_override);
    kc_event_recorder_options eo = {.component = "kube-proxy", .host = name};
    if (kc_event_recorder_new(p->client, &eo, &p->events, err) < 0)
        return kn_error_wrap(err, "event recorder");
    make_informers(p, name);
    make_proxier(p, o, name, &po);
    if (start_servers(p, o, err) < 0)
        return -1;
    kc_informer *all[3] = {p->inf[NP_KIND_SERVICE], p->inf[NP_KIND_SLICE], p->node_inf};
    for (int k = 0; k < 3; k++) {
        if (kc_informer_start(all[k], err) < 0)
            return kn_error_wrap(err, "start an informer");
    }
    return np_proxier_start(p->proxier, err);
}

int np_proxy_start(const np_proxy_opts *o, np_proxy **out, kn_error **err)
{
    np_proxy *p = xcalloc(1, sizeof(*p));
    if (start(p, o, err) < 0) {
        np_proxy_stop(p);
        return kn_error_wrap(err, "start the Service proxy");
    }
    *out = p;
    return 0;
}

np_proxier *np_proxy_proxier(np_proxy *p)
{
    return p->proxier;
}

int np_proxy_healthz_port(const np_proxy *p)
{
    return p->healthz ? np_http_port(p->healthz) : 0;
}

int np_proxy_metrics_port(const np_proxy *p)
{
    return p->metrics ? np_http_port(p->metrics) : 0;
}

void np_proxy_stop(np_proxy *p)
{
    if (!p)
        return;
    np_http_stop(p->healthz);
    np_http_stop(p->metrics);
    if (p->proxier)
        np_proxier_stop(p->proxier);
    for (int k = 0; k < 2; k++)
        kc_informer_free(p->inf[k]);
    kc_informer_free(p->node_inf);
    np_proxier_free(p->proxier);
    kc_event_recorder_free(p->events);
    kc_client_free(p->own_client);
    np_nft_close(p->nft);
    np_ipvs_close(p->ipvs);
    free(p);
}

int np_proxy_cleanup(kn_error **err)
{
    np_nft *n = NULL;
    if (np_nft_open(&n, err) < 0)
        return -1;
    int r = np_nft_delete_tables(n, err);
    np_nft_close(n);
    return r < 0 ? r : np_ipvs_cleanup(err);
}

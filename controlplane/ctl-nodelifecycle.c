/* ctl-nodelifecycle.c - the node lifecycle controller and the taint
 * eviction controller.
 *
 * Node lifecycle: every node monitor period each node's signs of life are
 * checked: its Lease in kube-node-lease (spec.renewTime) and its Ready
 * condition's lastHeartbeatTime. When neither changed for the node monitor
 * grace period (measured on this process's clock, as upstream does, so
 * clock skew does not matter), Ready, MemoryPressure, DiskPressure and
 * PIDPressure become Unknown, the node gets a NodeNotReady event and its
 * pods Ready=False. NoExecute taints follow Ready (not-ready for False,
 * unreachable for Unknown) unless a whole zone is down (no new taints
 * there) or every zone is (taints removed: the fault is more likely ours);
 * NoSchedule taints follow the conditions and spec.unschedulable
 * (TaintNodesByCondition) on every node change.
 *
 * Taint eviction: a pod on a node with NoExecute taints it does not
 * tolerate is deleted, after the shortest tolerationSeconds of the
 * tolerations that apply (counted from when it was first seen there), with
 * a DisruptionTarget condition and a TaintManagerEviction event. */
#include <stdlib.h>
#include <string.h>

#include "controlplane/ctl-internal.h"
#include "controlplane/ctl-node.h"
#include "controlplane/objmeta.h"
#include "lib/clock.h"
#include "lib/duration.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/xalloc.h"

#define COMPONENT "node-controller"
#define STARTUP_GRACE (60 * KN_NSEC_PER_SEC)
#define ZONE_LABEL "topology.kubernetes.io/zone"

typedef struct health {
    char *name;
    int64_t probe;   /* monotonic time of the last sign of life */
    char *heartbeat; /* the Ready condition's lastHeartbeatTime last seen */
    char *renew;     /* the Lease's renewTime last seen */
    bool seen;       /* in the current pass */
} health;

typedef struct nlc {
    kn_ctl_ctx *ctx;
    kc_informer *nodes, *leases, *pods;
    kn_ctl_loop loop; /* NoSchedule taints, per node */
    pthread_t monitor;
    bool running, stop;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    health *h;
    size_t nh, cap;
} nlc;

static bool same(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "") == 0;
}

static const char *label(const cJSON *obj, const char *key)
{
    const cJSON *l = NULL;
    kn_json_lookup(obj, "metadata.labels", &l, NULL);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(l, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Replaces the node's taints when they differ; *node becomes the result. */
static int write_taints(nlc *c, cJSON **node, cJSON *taints, kn_error **err)
{
    const cJSON *cur = NULL;
    kn_json_lookup(*node, "spec.taints", &cur, NULL);
    cJSON *empty = cJSON_CreateArray();
    bool differ = !kn_json_equal(cur ? cur : empty, taints);
    cJSON_Delete(empty);
    if (!differ) {
        cJSON_Delete(taints);
        return 0;
    }
    kn_ctl_set(kn_ctl_obj(*node, "spec"), "taints", taints);
    cJSON *out = NULL;
    if (kc_update(c->ctx->client, &kc_res_nodes, NULL, NULL, *node, &out, err) < 0)
        return kn_error_wrap(err, "taint node %s", kn_meta_str(*node, "name"));
    cJSON_Delete(*node);
    *node = out;
    return 0;
}

/* ---- NoSchedule taints (on node changes) ------------------------------------------------ */

static int sync_node_taints(void *ud, const char *key, kn_error **err)
{
    nlc *c = ud;
    kc_obj *o = kc_informer_get(c->nodes, key);
    if (!o)
        return 0;
    cJSON *node = cJSON_Duplicate(kc_obj_json(o), 1);
    kc_obj_unref(o);
    char now[32];
    kn_ctl_now(now);
    int r = write_taints(c, &node, kn_ctl_node_taints(node, true, KN_CTL_NOEXEC_KEEP, now), err);
    cJSON_Delete(node);
    return r;
}

static void node_event(kc_obj *o, void *ud)
{
    nlc *c = ud;
    kn_workqueue_add(c->loop.queue, kc_obj_key(o));
}

static void node_update(kc_obj *old, kc_obj *o, void *ud)
{
    (void)old;
    node_event(o, ud);
}

/* ---- health -------------------------------------------------------------------------------- */

static health *health_of(nlc *c, const char *name, int64_t now)
{
    for (size_t i = 0; i < c->nh; i++) {
        if (strcmp(c->h[i].name, name) == 0)
            return &c->h[i];
    }
    if (c->nh == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 16;
        c->h = xreallocarray(c->h, c->cap, sizeof(*c->h));
    }
    health *h = &c->h[c->nh++];
    *h = (health){xstrdup(name), now, NULL, NULL, false};
    return h;
}

static void health_clear(health *h)
{
    free(h->name);
    free(h->heartbeat);
    free(h->renew);
}

/* Drops the records of nodes not seen in this pass. */
static void forget_unseen(nlc *c)
{
    for (size_t i = 0; i < c->nh;) {
        if (!c->h[i].seen) {
            health_clear(&c->h[i]);
            c->h[i] = c->h[--c->nh];
        } else {
            c->h[i++].seen = false;
        }
    }
}

static bool changed(char **seen, const char *now_value)
{
    if (same(*seen, now_value))
        return false;
    free(*seen);
    *seen = now_value ? xstrdup(now_value) : NULL;
    return true;
}

/* True when the node showed no sign of life for its grace period. */
static bool stale(nlc *c, const cJSON *node, int64_t now)
{
    const char *name = kn_meta_str(node, "name");
    health *h = health_of(c, name, now);
    h->seen = true;
    char *lkey = xasprintf("kube-node-lease/%s", name);
    kc_obj *lease = kc_informer_get(c->leases, lkey);
    free(lkey);
    const cJSON *ready = kn_ctl_condition(node, "Ready");
    bool a = changed(&h->heartbeat, kn_ctl_str(ready, "lastHeartbeatTime"));
    bool b = changed(&h->renew, lease ? kn_ctl_str(kc_obj_json(lease), "spec.renewTime") : NULL);
    kc_obj_unref(lease);
    if (a || b)
        h->probe = now;
    int64_t grace = c->ctx->tun.node_monitor_grace_ns;
    if (!ready && grace < STARTUP_GRACE)
        grace = STARTUP_GRACE;
    return now - h->probe > grace;
}

/* MarkPodsNotReady */
static void mark_pods_not_ready(nlc *c, const char *node)
{
    size_t n = 0;
    kc_obj **pods = kc_informer_by_index(c->pods, "node", node, &n);
    char now[32];
    kn_ctl_now(now);
    for (size_t i = 0; i < n; i++) {
        const cJSON *p = kc_obj_json(pods[i]);
        if (!kn_ctl_pod_ready(p))
            continue;
        char *patch = xasprintf("{\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":"
                                "\"False\",\"lastTransitionTime\":\"%s\"}]}}",
                                now);
        kn_error *err = NULL;
        if (kc_patch(c->ctx->client, &kc_res_pods, kn_meta_str(p, "namespace"),
                     kn_meta_str(p, "name"), "status", KC_PATCH_STRATEGIC, patch, NULL, &err) < 0)
            KN_V(1, "controller", "mark pod %s not ready: %s", kc_obj_key(pods[i]),
                 kn_error_msg(err));
        else
            kn_ctl_event(c->ctx->recorder, COMPONENT, p, "Warning", "NodeNotReady",
                         "Node is not ready");
        kn_error_free(&err);
        free(patch);
    }
    kc_objs_free(pods, n);
}

/* tryUpdateNodeHealth: a stale node's conditions become Unknown. */
static int check_node(nlc *c, cJSON **node, int64_t now, kn_error **err)
{
    if (!stale(c, *node, now))
        return 0;
    bool was_ready = same(kn_ctl_str(kn_ctl_condition(*node, "Ready"), "status"), "True");
    char ts[32];
    kn_ctl_now(ts);
    if (!kn_ctl_node_mark_unknown(*node, ts))
        return 0;
    cJSON *out = NULL;
    if (kc_update(c->ctx->client, &kc_res_nodes, NULL, "status", *node, &out, err) < 0)
        return kn_error_wrap(err, "node %s status", kn_meta_str(*node, "name"));
    cJSON_Delete(*node);
    *node = out;
    const char *name = kn_meta_str(*node, "name");
    KN_INFO("controller", "node %s: no status or lease for the grace period: Unknown", name);
    if (was_ready) {
        kn_ctl_event(c->ctx->recorder, COMPONENT, *node, "Normal", "NodeNotReady",
                     "Node %s status is now: NodeNotReady", name);
        mark_pods_not_ready(c, name);
    }
    return 0;
}

/* ---- zones and NoExecute taints ----------------------------------------------------------- */

static bool ready(const cJSON *node)
{
    return same(kn_ctl_str(kn_ctl_condition(node, "Ready"), "status"), "True");
}

/* True if every node of node i's zone is not ready. */
static bool zone_down(cJSON **nodes, size_t n, size_t i)
{
    const char *zone = label(nodes[i], ZONE_LABEL);
    for (size_t j = 0; j < n; j++) {
        if (same(label(nodes[j], ZONE_LABEL), zone) && ready(nodes[j]))
            return false;
    }
    return true;
}

static void taint_pass(nlc *c, cJSON **nodes, size_t n)
{
    bool all_down = n > 0;
    for (size_t i = 0; i < n && all_down; i++)
        all_down = !ready(nodes[i]);
    char now[32];
    kn_ctl_now(now);
    for (size_t i = 0; i < n; i++) {
        kn_ctl_noexec mode = all_down                 ? KN_CTL_NOEXEC_REMOVE
                             : zone_down(nodes, n, i) ? KN_CTL_NOEXEC_HOLD
                                                      : KN_CTL_NOEXEC_SET;
        kn_error *err = NULL;
        if (write_taints(c, &nodes[i], kn_ctl_node_taints(nodes[i], false, mode, now), &err) < 0)
            KN_V(1, "controller", "%s", kn_error_msg(err));
        kn_error_free(&err);
    }
}

static void monitor_pass(nlc *c)
{
    if (!atomic_load(&c->ctx->leading))
        return;
    size_t n = 0;
    kc_obj **objs = kc_informer_list(c->nodes, &n);
    cJSON **nodes = xcalloc(n + 1, sizeof(cJSON *));
    int64_t now = kn_time_monotonic_ns();
    pthread_mutex_lock(&c->lock);
    for (size_t i = 0; i < n; i++) {
        nodes[i] = cJSON_Duplicate(kc_obj_json(objs[i]), 1);
        kn_error *err = NULL;
        if (check_node(c, &nodes[i], now, &err) < 0)
            KN_V(1, "controller", "%s", kn_error_msg(err));
        kn_error_free(&err);
    }
    forget_unseen(c);
    pthread_mutex_unlock(&c->lock);
    taint_pass(c, nodes, n);
    for (size_t i = 0; i < n; i++)
        cJSON_Delete(nodes[i]);
    free(nodes);
    kc_objs_free(objs, n);
}

static void *monitor_main(void *arg)
{
    nlc *c = arg;
    pthread_mutex_lock(&c->lock);
    while (!c->stop) {
        int64_t deadline = kn_time_add(kn_time_monotonic_ns(), c->ctx->tun.node_monitor_period_ns);
        while (!c->stop && kn_time_monotonic_ns() < deadline)
            kn_clock_wait_until(NULL, &c->cond, &c->lock, deadline);
        if (c->stop)
            break;
        pthread_mutex_unlock(&c->lock);
        monitor_pass(c);
        pthread_mutex_lock(&c->lock);
    }
    pthread_mutex_unlock(&c->lock);
    return NULL;
}

/* ---- lifecycle ------------------------------------------------------------------------------- */

static void *nlc_create(kn_ctl_ctx *ctx)
{
    nlc *c = xcalloc(1, sizeof(*c));
    c->ctx = ctx;
    pthread_mutex_init(&c->lock, NULL);
    kn_cond_init(&c->cond);
    kn_ctl_loop_init(&c->loop, ctx, "node-lifecycle", sync_node_taints, c, NULL);
    c->nodes = kn_ctl_informer(ctx, &kc_res_nodes);
    c->leases = kn_ctl_informer(ctx, &kc_res_leases);
    c->pods = kn_ctl_informer(ctx, &kc_res_pods);
    kc_informer_add_handlers(c->nodes, &(kc_informer_handlers){node_event, node_update, NULL, c});
    return c;
}

static int nlc_start(void *self, kn_error **err)
{
    nlc *c = self;
    if (kn_ctl_loop_start(&c->loop, 1, err) < 0)
        return -1;
    int rc = pthread_create(&c->monitor, NULL, monitor_main, c);
    if (rc != 0)
        return kn_error_errno(err, rc, "node monitor");
    c->running = true;
    return 0;
}

static void nlc_stop(void *self)
{
    nlc *c = self;
    pthread_mutex_lock(&c->lock);
    c->stop = true;
    pthread_cond_broadcast(&c->cond);
    pthread_mutex_unlock(&c->lock);
    if (c->running)
        pthread_join(c->monitor, NULL);
    c->running = false;
    kn_ctl_loop_stop(&c->loop);
}

static void nlc_destroy(void *self)
{
    nlc *c = self;
    kn_ctl_loop_destroy(&c->loop);
    for (size_t i = 0; i < c->nh; i++)
        health_clear(&c->h[i]);
    free(c->h);
    pthread_mutex_destroy(&c->lock);
    pthread_cond_destroy(&c->cond);
    free(c);
}

const kn_ctl_def kn_ctl_nodelifecycle = {"node-lifecycle", nlc_create, nlc_start, nlc_stop,
                                         nlc_destroy};

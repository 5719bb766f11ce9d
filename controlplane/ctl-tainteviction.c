/* ctl-tainteviction.c - the taint eviction controller (upstream
 * pkg/controller/tainteviction): a pod on a node with NoExecute taints it
 * does not tolerate is deleted at once; one that tolerates them for a
 * while (tolerationSeconds) is deleted once the shortest such time has
 * passed since this controller first saw it under those taints. Before the
 * delete the pod gets the DisruptionTarget condition (reason
 * DeletionByTaintManager) and a TaintManagerEviction event. */
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

#define COMPONENT "taint-eviction-controller"

typedef struct since {
    char *key;
    int64_t at; /* monotonic: first seen under NoExecute taints it tolerates */
} since;

typedef struct tec {
    kn_ctl_ctx *ctx;
    kc_informer *pods, *nodes;
    kn_ctl_loop loop;
    pthread_mutex_t lock;
    since *v;
    size_t n, cap;
} tec;

/* When the pod was first seen under the taints (now if not before). */
static int64_t first_seen(tec *c, const char *key, int64_t now)
{
    pthread_mutex_lock(&c->lock);
    int64_t at = now;
    size_t i = 0;
    while (i < c->n && strcmp(c->v[i].key, key) != 0)
        i++;
    if (i < c->n) {
        at = c->v[i].at;
    } else {
        if (c->n == c->cap) {
            c->cap = c->cap ? c->cap * 2 : 16;
            c->v = xreallocarray(c->v, c->cap, sizeof(*c->v));
        }
        c->v[c->n++] = (since){xstrdup(key), now};
    }
    pthread_mutex_unlock(&c->lock);
    return at;
}

static void forget(tec *c, const char *key)
{
    pthread_mutex_lock(&c->lock);
    for (size_t i = 0; i < c->n; i++) {
        if (strcmp(c->v[i].key, key) == 0) {
            free(c->v[i].key);
            c->v[i] = c->v[--c->n];
            break;
        }
    }
    pthread_mutex_unlock(&c->lock);
}

static int evict(tec *c, const cJSON *pod, kn_error **err)
{
    char now[32];
    kn_ctl_now(now);
    char *patch = xasprintf("{\"status\":{\"conditions\":[{\"type\":\"DisruptionTarget\","
                            "\"status\":\"True\",\"reason\":\"DeletionByTaintManager\",\"message\":"
                            "\"Taint manager: deleting due to NoExecute taint\","
                            "\"lastTransitionTime\":\"%s\"}]}}",
                            now);
    const char *ns = kn_meta_str(pod, "namespace"), *name = kn_meta_str(pod, "name");
    kn_error *e = NULL;
    if (kc_patch(c->ctx->client, &kc_res_pods, ns, name, "status", KC_PATCH_STRATEGIC, patch, NULL,
                 &e) < 0)
        KN_V(1, "controller", "pod %s/%s: DisruptionTarget: %s", ns, name, kn_error_msg(e));
    kn_error_free(&e);
    free(patch);
    kn_ctl_event(c->ctx->recorder, COMPONENT, pod, "Normal", "TaintManagerEviction",
                 "Marking for deletion Pod %s/%s", ns, name);
    KN_INFO("controller", "evicting pod %s/%s from node %s (NoExecute taint)", ns, name,
            kn_ctl_str(pod, "spec.nodeName"));
    return kn_ctl_delete(c->ctx, &kc_res_pods, ns, name, kn_meta_str(pod, "uid"), NULL, err);
}

static int sync_pod(void *ud, const char *key, kn_error **err)
{
    tec *c = ud;
    kc_obj *o = kc_informer_get(c->pods, key);
    const cJSON *pod = o ? kc_obj_json(o) : NULL;
    const char *node = kn_ctl_str(pod, "spec.nodeName");
    kc_obj *n = node && *node && !kn_meta_str(pod, "deletionTimestamp")
                    ? kc_informer_get(c->nodes, node)
                    : NULL;
    const cJSON *taints = NULL, *tols = NULL;
    kn_json_lookup(n ? kc_obj_json(n) : NULL, "spec.taints", &taints, NULL);
    kn_json_lookup(pod, "spec.tolerations", &tols, NULL);
    int64_t secs = 0, now = kn_time_monotonic_ns();
    kn_ctl_evict ev = n ? kn_ctl_eviction(tols, taints, &secs) : KN_CTL_EVICT_NEVER;
    int r = 0;
    if (ev == KN_CTL_EVICT_NEVER) {
        forget(c, key);
    } else {
        int64_t due =
            ev == KN_CTL_EVICT_NOW ? now : first_seen(c, key, now) + secs * KN_NSEC_PER_SEC;
        if (now >= due) {
            r = evict(c, pod, err);
            forget(c, key);
        } else {
            kn_workqueue_add_after(c->loop.queue, key, due - now);
        }
    }
    kc_obj_unref(n);
    kc_obj_unref(o);
    return r;
}

/* ---- handlers and lifecycle --------------------------------------------------------------- */

static void pod_event(kc_obj *o, void *ud)
{
    tec *c = ud;
    const char *node = kn_ctl_str(kc_obj_json(o), "spec.nodeName");
    if (node && *node)
        kn_workqueue_add(c->loop.queue, kc_obj_key(o));
}

static void pod_update(kc_obj *old, kc_obj *o, void *ud)
{
    (void)old;
    pod_event(o, ud);
}

static void pod_delete(kc_obj *o, void *ud)
{
    forget(ud, kc_obj_key(o));
}

static bool noexec_differ(const cJSON *a, const cJSON *b)
{
    const cJSON *ta = NULL, *tb = NULL;
    kn_json_lookup(a, "spec.taints", &ta, NULL);
    kn_json_lookup(b, "spec.taints", &tb, NULL);
    return !kn_json_equal(ta, tb);
}

static void node_change(tec *c, const cJSON *node)
{
    size_t n = 0;
    kc_obj **pods = kc_informer_by_index(c->pods, "node", kn_meta_str(node, "name"), &n);
    for (size_t i = 0; i < n; i++)
        kn_workqueue_add(c->loop.queue, kc_obj_key(pods[i]));
    kc_objs_free(pods, n);
}

static void node_add(kc_obj *o, void *ud)
{
    node_change(ud, kc_obj_json(o));
}

static void node_update(kc_obj *old, kc_obj *o, void *ud)
{
    if (old == o || noexec_differ(kc_obj_json(old), kc_obj_json(o)))
        node_change(ud, kc_obj_json(o));
}

static void *tec_create(kn_ctl_ctx *ctx)
{
    tec *c = xcalloc(1, sizeof(*c));
    c->ctx = ctx;
    pthread_mutex_init(&c->lock, NULL);
    kn_ctl_loop_init(&c->loop, ctx, "taint-eviction", sync_pod, c, NULL);
    c->pods = kn_ctl_informer(ctx, &kc_res_pods);
    c->nodes = kn_ctl_informer(ctx, &kc_res_nodes);
    kc_informer_add_handlers(c->pods,
                             &(kc_informer_handlers){pod_event, pod_update, pod_delete, c});
    kc_informer_add_handlers(c->nodes, &(kc_informer_handlers){node_add, node_update, NULL, c});
    return c;
}

static int tec_start(void *self, kn_error **err)
{
    tec *c = self;
    return kn_ctl_loop_start(&c->loop, 2, err);
}

static void tec_stop(void *self)
{
    tec *c = self;
    kn_ctl_loop_stop(&c->loop);
}

static void tec_destroy(void *self)
{
    tec *c = self;
    kn_ctl_loop_destroy(&c->loop);
    for (size_t i = 0; i < c->n; i++)
        free(c->v[i].key);
    free(c->v);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

const kn_ctl_def kn_ctl_tainteviction = {"taint-eviction", tec_create, tec_start, tec_stop,
                                         tec_destroy};

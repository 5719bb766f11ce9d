/* ctl-sched.c - the scheduler's loop: pending pods of schedulerName
 * default-scheduler are taken one at a time, placed with scheduler.h and
 * bound with POST pods/NAME/binding. A pod just bound is "assumed" on its
 * node until the informer shows it bound, so the next decision counts it.
 * A pod that fits nowhere gets PodScheduled=False (reason Unschedulable)
 * through the status subresource and a FailedScheduling Event, and is
 * retried with backoff (1 s doubling to 5 min) and whenever a node appears
 * or changes in a way that matters, or a bound pod goes away. */
#include <stdlib.h>
#include <string.h>

#include "controlplane/ctl-internal.h"
#include "controlplane/objmeta.h"
#include "controlplane/scheduler.h"
#include "lib/clock.h"
#include "lib/duration.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/xalloc.h"

#define COMPONENT "default-scheduler"
#define ASSUME_TTL (30 * KN_NSEC_PER_SEC)

typedef struct assumed {
    char *key, *node;
    kc_obj *pod;
    int64_t at;
} assumed;

typedef struct sched {
    kn_ctl_ctx *ctx;
    kc_informer *pods, *nodes;
    kn_ctl_loop loop;
    pthread_mutex_t lock; /* guards assumed[] and rnd */
    assumed *assumed;
    size_t nassumed, cap;
    kn_rand rnd;
} sched;

static bool same(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "") == 0;
}

/* A pod this scheduler should place. */
static bool pending_for_us(const cJSON *pod)
{
    const char *node = kn_ctl_str(pod, "spec.nodeName");
    const char *sn = kn_ctl_str(pod, "spec.schedulerName");
    const cJSON *gates = NULL;
    kn_json_lookup(pod, "spec.schedulingGates", &gates, NULL);
    return (!node || !*node) && (!sn || strcmp(sn, COMPONENT) == 0) &&
           cJSON_GetArraySize(gates) == 0 && kn_ctl_pod_active(pod);
}

/* ---- assumed pods ------------------------------------------------------------------ */

static void forget(sched *s, const char *key)
{
    pthread_mutex_lock(&s->lock);
    for (size_t i = 0; i < s->nassumed; i++) {
        if (strcmp(s->assumed[i].key, key) == 0) {
            free(s->assumed[i].key);
            free(s->assumed[i].node);
            kc_obj_unref(s->assumed[i].pod);
            s->assumed[i] = s->assumed[--s->nassumed];
            break;
        }
    }
    pthread_mutex_unlock(&s->lock);
}

static void assume(sched *s, kc_obj *pod, const char *node)
{
    pthread_mutex_lock(&s->lock);
    if (s->nassumed == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 16;
        s->assumed = xreallocarray(s->assumed, s->cap, sizeof(*s->assumed));
    }
    s->assumed[s->nassumed++] =
        (assumed){xstrdup(kc_obj_key(pod)), xstrdup(node), kc_obj_ref(pod), kn_time_monotonic_ns()};
    pthread_mutex_unlock(&s->lock);
}

static bool is_assumed(sched *s, const char *key)
{
    pthread_mutex_lock(&s->lock);
    bool found = false;
    int64_t now = kn_time_monotonic_ns();
    for (size_t i = 0; i < s->nassumed; i++)
        found =
            found || (strcmp(s->assumed[i].key, key) == 0 && now - s->assumed[i].at < ASSUME_TTL);
    pthread_mutex_unlock(&s->lock);
    return found;
}

/* Adds the assumed pods the cache does not show bound yet to node n. */
static void add_assumed(sched *s, kn_sched_node *n)
{
    pthread_mutex_lock(&s->lock);
    int64_t now = kn_time_monotonic_ns();
    for (size_t i = 0; i < s->nassumed; i++) {
        assumed *a = &s->assumed[i];
        if (strcmp(a->node, n->name) != 0 || now - a->at >= ASSUME_TTL)
            continue;
        kc_obj *cur = kc_informer_get(s->pods, a->key);
        const char *bound = cur ? kn_ctl_str(kc_obj_json(cur), "spec.nodeName") : NULL;
        if (cur && (!bound || !*bound))
            kn_sched_node_add_pod(n, kc_obj_json(a->pod));
        kc_obj_unref(cur);
    }
    pthread_mutex_unlock(&s->lock);
}

/* ---- handlers ------------------------------------------------------------------------ */

/* Queues every pending pod again (the cluster changed). */
static void requeue_pending(sched *s)
{
    size_t n = 0;
    kc_obj **v = kc_informer_by_index(s->pods, "node", "", &n);
    for (size_t i = 0; i < n; i++) {
        if (pending_for_us(kc_obj_json(v[i])))
            kn_workqueue_add(s->loop.queue, kc_obj_key(v[i]));
    }
    kc_objs_free(v, n);
}

static void pod_add(kc_obj *o, void *ud)
{
    sched *s = ud;
    if (pending_for_us(kc_obj_json(o)))
        kn_workqueue_add(s->loop.queue, kc_obj_key(o));
    else
        forget(s, kc_obj_key(o));
}

/* True if only the status (or nothing) changed: the scheduler's own
 * condition updates do not call for another attempt (upstream's
 * isPodUpdated). */
static bool only_status_changed(const cJSON *a, const cJSON *b)
{
    static const char *const paths[] = {"spec", "metadata.labels", "metadata.annotations", NULL};
    for (size_t i = 0; paths[i]; i++) {
        const cJSON *x = NULL, *y = NULL;
        kn_json_lookup(a, paths[i], &x, NULL);
        kn_json_lookup(b, paths[i], &y, NULL);
        if (!kn_json_equal(x, y))
            return false;
    }
    return true;
}

static void pod_update(kc_obj *old, kc_obj *o, void *ud)
{
    if (old != o && pending_for_us(kc_obj_json(old)) && pending_for_us(kc_obj_json(o)) &&
        only_status_changed(kc_obj_json(old), kc_obj_json(o)))
        return;
    pod_add(o, ud);
}

static void pod_delete(kc_obj *o, void *ud)
{
    sched *s = ud;
    forget(s, kc_obj_key(o));
    const char *node = kn_ctl_str(kc_obj_json(o), "spec.nodeName");
    if (node && *node)
        requeue_pending(s);
}

/* Node changes that can make a pending pod fit. */
static bool node_changed(const cJSON *a, const cJSON *b)
{
    static const char *const paths[] = {"spec", "metadata.labels", "status.allocatable", NULL};
    for (size_t i = 0; paths[i]; i++) {
        const cJSON *x = NULL, *y = NULL;
        kn_json_lookup(a, paths[i], &x, NULL);
        kn_json_lookup(b, paths[i], &y, NULL);
        if (!kn_json_equal(x, y))
            return true;
    }
    return !same(kn_ctl_str(kn_ctl_condition(a, "Ready"), "status"),
                 kn_ctl_str(kn_ctl_condition(b, "Ready"), "status"));
}

static void node_add(kc_obj *o, void *ud)
{
    (void)o;
    requeue_pending(ud);
}

static void node_update(kc_obj *old, kc_obj *o, void *ud)
{
    if (old != o && node_changed(kc_obj_json(old), kc_obj_json(o)))
        requeue_pending(ud);
}

/* ---- one scheduling attempt ---------------------------------------------------------- */

static kn_sched_node *snapshot(sched *s, kc_obj ***nodes_out, size_t *n)
{
    kc_obj **nodes = kc_informer_list(s->nodes, n);
    kn_sched_node *sn = xcalloc(*n + 1, sizeof(*sn));
    for (size_t i = 0; i < *n; i++) {
        kn_sched_node_init(&sn[i], kc_obj_json(nodes[i]));
        size_t np = 0;
        kc_obj **pods = kc_informer_by_index(s->pods, "node", sn[i].name ? sn[i].name : "", &np);
        for (size_t j = 0; j < np; j++) {
            const char *phase = kn_ctl_str(kc_obj_json(pods[j]), "status.phase");
            if (!same(phase, "Succeeded") && !same(phase, "Failed"))
                kn_sched_node_add_pod(&sn[i], kc_obj_json(pods[j]));
        }
        kc_objs_free(pods, np);
        if (sn[i].name)
            add_assumed(s, &sn[i]);
    }
    *nodes_out = nodes;
    return sn;
}

static int bind(sched *s, kc_obj *pod, const char *node, kn_error **err)
{
    const cJSON *p = kc_obj_json(pod);
    cJSON *b = cJSON_CreateObject();
    cJSON_AddStringToObject(b, "apiVersion", "v1");
    cJSON_AddStringToObject(b, "kind", "Binding");
    cJSON *m = cJSON_AddObjectToObject(b, "metadata");
    cJSON_AddStringToObject(m, "name", kn_meta_str(p, "name"));
    cJSON_AddStringToObject(m, "namespace", kn_meta_str(p, "namespace"));
    if (kn_meta_str(p, "uid"))
        cJSON_AddStringToObject(m, "uid", kn_meta_str(p, "uid"));
    cJSON *t = cJSON_AddObjectToObject(b, "target");
    cJSON_AddStringToObject(t, "apiVersion", "v1");
    cJSON_AddStringToObject(t, "kind", "Node");
    cJSON_AddStringToObject(t, "name", node);
    assume(s, pod, node);
    int r = kc_create_subresource(s->ctx->client, &kc_res_pods, kn_meta_str(p, "namespace"),
                                  kn_meta_str(p, "name"), "binding", b, NULL, err);
    cJSON_Delete(b);
    if (r < 0) {
        forget(s, kc_obj_key(pod));
        kn_errcode c = kn_error_code(*err);
        if (c == KN_ECONFLICT || c == KN_ENOTFOUND) {
            kn_error_free(err); /* bound or gone meanwhile: the informer tells */
            return 0;
        }
        return kn_error_wrap(err, "bind %s to %s", kc_obj_key(pod), node);
    }
    KN_V(2, "scheduler", "bound %s to %s", kc_obj_key(pod), node);
    kn_ctl_event(s->ctx->recorder, COMPONENT, p, "Normal", "Scheduled",
                 "Successfully assigned %s to %s", kc_obj_key(pod), node);
    return 0;
}

/* Records PodScheduled=False with the reason, unless it already says so. */
static void mark_unschedulable(sched *s, const cJSON *pod, const char *message)
{
    const cJSON *cur = kn_ctl_condition(pod, "PodScheduled");
    if (!same(kn_ctl_str(cur, "status"), "False") ||
        !same(kn_ctl_str(cur, "reason"), "Unschedulable") ||
        !same(kn_ctl_str(cur, "message"), message)) {
        cJSON *status = cJSON_CreateObject();
        kn_ctl_set_condition(status, "PodScheduled", "False", "Unschedulable", message, false);
        cJSON *patch = cJSON_CreateObject();
        cJSON_AddItemToObject(patch, "status", status);
        char *text = kn_json_print(patch);
        kn_error *err = NULL;
        if (kc_patch(s->ctx->client, &kc_res_pods, kn_meta_str(pod, "namespace"),
                     kn_meta_str(pod, "name"), "status", KC_PATCH_STRATEGIC, text, NULL, &err) < 0)
            KN_V(1, "scheduler", "update status of %s: %s", kn_meta_str(pod, "name"),
                 kn_error_msg(err));
        kn_error_free(&err);
        free(text);
        cJSON_Delete(patch);
    }
    kn_ctl_event(s->ctx->recorder, COMPONENT, pod, "Warning", "FailedScheduling", "%s", message);
}

static int schedule_one(void *ud, const char *key, kn_error **err)
{
    sched *s = ud;
    kc_obj *pod = kc_informer_get(s->pods, key);
    if (!pod || !pending_for_us(kc_obj_json(pod)) || is_assumed(s, key)) {
        kc_obj_unref(pod);
        return 0;
    }
    size_t n = 0;
    kc_obj **nodes = NULL;
    kn_sched_node *sn = snapshot(s, &nodes, &n);
    char *message = NULL;
    pthread_mutex_lock(&s->lock);
    int chosen = kn_sched_pick(kc_obj_json(pod), sn, n, &s->rnd, &message);
    pthread_mutex_unlock(&s->lock);
    int r = 1;
    if (chosen >= 0) {
        r = bind(s, pod, sn[chosen].name, err);
    } else {
        KN_V(2, "scheduler", "%s: %s", key, message);
        mark_unschedulable(s, kc_obj_json(pod), message);
    }
    free(message);
    for (size_t i = 0; i < n; i++)
        kn_sched_node_clear(&sn[i]);
    free(sn);
    kc_objs_free(nodes, n);
    kc_obj_unref(pod);
    return r;
}

/* ---- lifecycle ------------------------------------------------------------------------- */

static void *sched_create(kn_ctl_ctx *ctx)
{
    sched *s = xcalloc(1, sizeof(*s));
    s->ctx = ctx;
    pthread_mutex_init(&s->lock, NULL);
    kn_rand_init(&s->rnd);
    kn_workqueue_opts qo = {.base_delay_ns = KN_NSEC_PER_SEC,
                            .max_delay_ns = 300 * KN_NSEC_PER_SEC,
                            .qps = 1e9,
                            .burst = 1000000};
    kn_ctl_loop_init(&s->loop, ctx, "scheduler", schedule_one, s, &qo);
    s->pods = kn_ctl_informer(ctx, &kc_res_pods);
    s->nodes = kn_ctl_informer(ctx, &kc_res_nodes);
    kc_informer_add_handlers(s->pods, &(kc_informer_handlers){pod_add, pod_update, pod_delete, s});
    kc_informer_add_handlers(s->nodes, &(kc_informer_handlers){node_add, node_update, NULL, s});
    return s;
}

static int sched_start(void *self, kn_error **err)
{
    sched *s = self;
    return kn_ctl_loop_start(&s->loop, 1, err);
}

static void sched_stop(void *self)
{
    sched *s = self;
    kn_ctl_loop_stop(&s->loop);
}

static void sched_destroy(void *self)
{
    sched *s = self;
    kn_ctl_loop_destroy(&s->loop);
    for (size_t i = 0; i < s->nassumed; i++) {
        free(s->assumed[i].key);
        free(s->assumed[i].node);
        kc_obj_unref(s->assumed[i].pod);
    }
    free(s->assumed);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

const kn_ctl_def kn_ctl_scheduler = {"scheduler", sched_create, sched_start, sched_stop,
                                     sched_destroy};

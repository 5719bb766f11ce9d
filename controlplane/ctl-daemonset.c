/* ctl-daemonset.c - the DaemonSet controller (upstream pkg/controller/daemon):
 * one pod per node that should run it (nodeSelector, required node
 * affinity, NoSchedule/NoExecute taints against the template's
 * tolerations plus the ones every DaemonSet pod gets, ctl-workload.h).
 * Pods are named "<ds>-<random>", carry a controller reference, the
 * controller-revision-hash label of the template's ControllerRevision
 * (<ds>-<hash>, numbered as upstream so `kubectl rollout history/undo`
 * work) and the node affinity matchFields metadata.name=<node>, so the
 * scheduler binds them. Pods on nodes that no longer exist or may no
 * longer run them, failed pods and duplicates are deleted. RollingUpdate
 * replaces old pods within maxUnavailable (maxSurge is not implemented:
 * old pods go before new ones come); OnDelete leaves that to the user.
 * Status carries upstream's counters and observedGeneration. */
#include <stdlib.h>
#include <string.h>

#include "controlplane/ctl-internal.h"
#include "controlplane/ctl-workload.h"
#include "controlplane/objmeta.h"
#include "lib/clock.h"
#include "lib/duration.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/xalloc.h"

#define COMPONENT "daemonset-controller"

typedef struct dsc {
    kn_ctl_ctx *ctx;
    kc_informer *ds, *pods, *nodes, *revs;
    kn_ctl_loop loop;
    kn_ctl_expect *exp;
    kn_ctl_pod_watch watch;
} dsc;

/* One sync's view of a DaemonSet, its nodes and pods. */
typedef struct dsync {
    dsc *c;
    const char *key;
    const cJSON *ds;
    char *hash; /* of the current template */
    cJSON *pod; /* the template's pod with the DaemonSet tolerations */
    kc_obj **nodes;
    size_t nnodes;
    kn_ctl_objs pods; /* owned, any phase */
    int64_t now;
} dsync;

static bool same(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "") == 0;
}

static const cJSON *template_of(const cJSON *ds)
{
    const cJSON *t = NULL;
    kn_json_lookup(ds, "spec.template", &t, NULL);
    return t;
}

static bool is_updated(const dsync *s, const cJSON *pod)
{
    return same(kn_ctl_str(pod, "metadata.labels[\"" KN_CTL_REVISION_LABEL "\"]"), s->hash);
}

/* The owned pods meant for node (borrowed) into out (room for all pods). */
static size_t pods_on(const dsync *s, const char *node, const cJSON **out)
{
    size_t n = 0;
    for (size_t i = 0; i < s->pods.n; i++) {
        const cJSON *p = kc_obj_json(s->pods.v[i]);
        if (same(kn_ctl_ds_target_node(p), node))
            out[n++] = p;
    }
    return n;
}

static bool node_exists(const dsync *s, const char *name)
{
    for (size_t i = 0; i < s->nnodes; i++)
        if (same(kn_meta_str(kc_obj_json(s->nodes[i]), "name"), name))
            return true;
    return false;
}

/* ---- creating and deleting ------------------------------------------------------------- */

static int create_pod(dsync *s, const char *node, kn_error **err)
{
    cJSON *pod = kn_ctl_pod_from_template(template_of(s->ds), "DaemonSet", s->ds), *out = NULL;
    char *prefix = xasprintf("%s-", kn_meta_str(s->ds, "name"));
    cJSON_AddStringToObject(kn_meta(pod), "generateName", prefix);
    free(prefix);
    kn_ctl_set(kn_ctl_obj(kn_meta(pod), "labels"), KN_CTL_REVISION_LABEL,
               cJSON_CreateString(s->hash));
    cJSON *spec = kn_ctl_obj(pod, "spec");
    kn_ctl_ds_add_tolerations(spec);
    kn_ctl_ds_pin(spec, node);
    int r =
        kc_create(s->c->ctx->client, &kc_res_pods, kn_meta_str(s->ds, "namespace"), pod, &out, err);
    if (r == 0)
        kn_ctl_event(s->c->ctx->recorder, COMPONENT, s->ds, "Normal", "SuccessfulCreate",
                     "Created pod: %s", kn_meta_str(out, "name"));
    else
        kn_ctl_event(s->c->ctx->recorder, COMPONENT, s->ds, "Warning", "FailedCreate",
                     "Error creating: %s", kn_error_msg(*err));
    cJSON_Delete(pod);
    cJSON_Delete(out);
    return r;
}

static int create_pods(dsync *s, char **nodes, size_t n, kn_error **err)
{
    kn_ctl_expect_creations(s->c->exp, s->key, (int)n);
    int r = 0;
    for (size_t i = 0; i < n; i++) {
        kn_error *e = NULL;
        if (create_pod(s, nodes[i], &e) < 0) {
            kn_ctl_expect_creation_observed(s->c->exp, s->key);
            if (r == 0)
                r = kn_error_set(err, kn_error_code(e), "create pod on %s: %s", nodes[i],
                                 kn_error_msg(e));
            kn_error_free(&e);
        }
    }
    return r;
}

static int delete_pods(dsync *s, const cJSON **pods, size_t n, kn_error **err)
{
    char **keys = xcalloc(n + 1, sizeof(char *));
    for (size_t i = 0; i < n; i++)
        keys[i] = kc_object_key(pods[i]);
    kn_ctl_expect_deletions(s->c->exp, s->key, keys, n);
    int r = 0;
    for (size_t i = 0; i < n; i++) {
        kn_error *e = NULL;
        const char *name = kn_meta_str(pods[i], "name");
        if (kc_delete(s->c->ctx->client, &kc_res_pods, kn_meta_str(pods[i], "namespace"), name,
                      NULL, NULL, &e) < 0) {
            kn_ctl_expect_deletion_observed(s->c->exp, s->key, keys[i]);
            if (kn_error_code(e) != KN_ENOTFOUND && r == 0)
                r = kn_error_set(err, kn_error_code(e), "delete pod %s: %s", name, kn_error_msg(e));
            kn_error_free(&e);
        } else {
            kn_ctl_event(s->c->ctx->recorder, COMPONENT, s->ds, "Normal", "SuccessfulDelete",
                         "Deleted pod: %s", name);
        }
    }
    for (size_t i = 0; i < n; i++)
        free(keys[i]);
    free(keys);
    return r;
}

/* ---- manage: pods to nodes -------------------------------------------------------------- */

static void should_run(const dsync *s, const cJSON *node, bool *run, bool *cont)
{
    kn_ctl_ds_should_run(s->pod, node, run, cont);
}

/* manage(): creates the missing pods, deletes the ones that must go. */
static int manage(dsync *s, kn_error **err)
{
    size_t np = s->pods.n;
    const cJSON **on = xcalloc(np + 1, sizeof(*on)), **del = xcalloc(np + 1, sizeof(*del));
    char **create = xcalloc(s->nnodes + 1, sizeof(char *));
    size_t ndel = 0, ncreate = 0;
    for (size_t i = 0; i < s->nnodes; i++) {
        const cJSON *node = kc_obj_json(s->nodes[i]);
        bool run, cont, add;
        should_run(s, node, &run, &cont);
        size_t n = pods_on(s, kn_meta_str(node, "name"), on);
        ndel += kn_ctl_ds_node_plan(run, cont, on, n, &add, del + ndel);
        if (add)
            create[ncreate++] = (char *)kn_meta_str(node, "name");
    }
    for (size_t i = 0; i < np; i++) { /* pods for nodes that are gone */
        const cJSON *p = kc_obj_json(s->pods.v[i]);
        if (!kn_meta_str(p, "deletionTimestamp") && !node_exists(s, kn_ctl_ds_target_node(p)))
            del[ndel++] = p;
    }
    int r = 0;
    if (ncreate > 0)
        r = create_pods(s, create, ncreate, err);
    if (r == 0 && ndel > 0)
        r = delete_pods(s, del, ndel, err);
    free(on);
    free(del);
    free(create);
    return r;
}

/* ---- rolling update --------------------------------------------------------------------- */

static int64_t max_unavailable(const dsync *s, int64_t desired)
{
    const cJSON *v = NULL;
    kn_json_lookup(s->ds, "spec.updateStrategy.rollingUpdate.maxUnavailable", &v, NULL);
    int64_t n = 1;
    if (v && kn_ctl_scaled_value(v, desired, true, &n) < 0)
        n = 1;
    return n < 1 ? 1 : n; /* 0 only makes sense with maxSurge, which is not implemented */
}

static kn_ctl_ds_slot slot_of(const dsync *s, const cJSON **on, size_t n, int64_t min_ready)
{
    kn_ctl_ds_slot x = {0};
    for (size_t i = 0; i < n; i++) {
        if (kn_meta_str(on[i], "deletionTimestamp"))
            continue;
        bool avail = kn_ctl_pod_available(on[i], min_ready, s->now);
        if (is_updated(s, on[i]))
            x.nnew++, x.new_available = avail;
        else
            x.nold++, x.old_available = avail;
    }
    return x;
}

static int rolling_update(dsync *s, kn_error **err)
{
    size_t np = s->pods.n, nslots = 0;
    const cJSON **on = xcalloc(np + 1, sizeof(*on));
    kn_ctl_ds_slot *slots = xcalloc(s->nnodes + 1, sizeof(*slots));
    const char **names = xcalloc(s->nnodes + 1, sizeof(char *));
    int64_t min_ready = kn_ctl_int(s->ds, "spec.minReadySeconds", 0);
    for (size_t i = 0; i < s->nnodes; i++) {
        const cJSON *node = kc_obj_json(s->nodes[i]);
        bool run, cont;
        should_run(s, node, &run, &cont);
        if (!run)
            continue;
        names[nslots] = kn_meta_str(node, "name");
        size_t n = pods_on(s, names[nslots], on);
        slots[nslots++] = slot_of(s, on, n, min_ready);
    }
    size_t *pick = xcalloc(nslots + 1, sizeof(size_t));
    size_t npick = kn_ctl_ds_rolling_pick(slots, nslots, max_unavailable(s, (int64_t)nslots), pick);
    const cJSON **del = xcalloc(npick + 1, sizeof(*del));
    size_t ndel = 0;
    for (size_t i = 0; i < npick; i++) {
        size_t n = pods_on(s, names[pick[i]], on);
        for (size_t j = 0; j < n; j++)
            if (!kn_meta_str(on[j], "deletionTimestamp") && !is_updated(s, on[j]))
                del[ndel++] = on[j];
    }
    int r = ndel ? delete_pods(s, del, ndel, err) : 0;
    free(del);
    free(pick);
    free(names);
    free(slots);
    free(on);
    return r;
}

/* ---- status ------------------------------------------------------------------------------ */

typedef struct ds_counts {
    int64_t desired, current, ready, available, updated, misscheduled;
} ds_counts;

static int older_first(const void *a, const void *b)
{
    const cJSON *x = *(const cJSON *const *)a, *y = *(const cJSON *const *)b;
    int c = strcmp(kn_meta_str(x, "creationTimestamp") ? kn_meta_str(x, "creationTimestamp") : "",
                   kn_meta_str(y, "creationTimestamp") ? kn_meta_str(y, "creationTimestamp") : "");
    return c ? c : strcmp(kn_meta_str(x, "name"), kn_meta_str(y, "name"));
}

/* updateDaemonSetStatus's counters: per node, its oldest daemon pod. */
static ds_counts count(const dsync *s)
{
    ds_counts k = {0};
    const cJSON **on = xcalloc(s->pods.n + 1, sizeof(*on));
    int64_t min_ready = kn_ctl_int(s->ds, "spec.minReadySeconds", 0);
    for (size_t i = 0; i < s->nnodes; i++) {
        const cJSON *node = kc_obj_json(s->nodes[i]);
        bool run, cont;
        should_run(s, node, &run, &cont);
        size_t n = pods_on(s, kn_meta_str(node, "name"), on);
        if (!run) {
            k.misscheduled += n > 0;
            continue;
        }
        k.desired++;
        if (n == 0)
            continue;
        qsort(on, n, sizeof(*on), older_first);
        k.current++;
        k.ready += kn_ctl_pod_ready(on[0]);
        k.available += kn_ctl_pod_available(on[0], min_ready, s->now);
        k.updated += is_updated(s, on[0]);
    }
    free(on);
    return k;
}

static void put_num(cJSON *st, const char *key, int64_t v)
{
    kn_ctl_set(st, key, cJSON_CreateNumber((double)v));
}

static int update_status(dsync *s, kn_error **err)
{
    ds_counts k = count(s);
    const cJSON *cur = cJSON_GetObjectItemCaseSensitive(s->ds, "status");
    cJSON *st = cJSON_IsObject(cur) ? cJSON_Duplicate(cur, 1) : cJSON_CreateObject();
    put_num(st, "desiredNumberScheduled", k.desired);
    put_num(st, "currentNumberScheduled", k.current);
    put_num(st, "numberMisscheduled", k.misscheduled);
    put_num(st, "numberReady", k.ready);
    put_num(st, "updatedNumberScheduled", k.updated);
    put_num(st, "numberAvailable", k.available);
    put_num(st, "numberUnavailable", k.desired - k.available);
    put_num(st, "observedGeneration", kn_ctl_int(s->ds, "metadata.generation", 0));
    int r = 0;
    if (!kn_json_equal(st, cur)) {
        cJSON *upd = cJSON_Duplicate(s->ds, 1);
        kn_ctl_set(upd, "status", st);
        st = NULL;
        r = kc_update(s->c->ctx->client, &kn_ctl_res_daemonsets, kn_meta_str(s->ds, "namespace"),
                      "status", upd, NULL, err);
        cJSON_Delete(upd);
    }
    cJSON_Delete(st);
    int64_t min_ready = kn_ctl_int(s->ds, "spec.minReadySeconds", 0);
    if (r == 0 && min_ready > 0 && k.ready != k.available) /* availability comes with time */
        kn_workqueue_add_after(s->c->loop.queue, s->key, min_ready * KN_NSEC_PER_SEC);
    return r < 0 ? kn_error_wrap(err, "update status") : 0;
}

/* ---- history ------------------------------------------------------------------------------ */

/* A revision name taken by something else: count a collision so the
 * next hash differs. */
static int collision(dsync *s, kn_error **err)
{
    cJSON *upd = cJSON_Duplicate(s->ds, 1);
    cJSON *st = kn_ctl_obj(upd, "status");
    put_num(st, "collisionCount", kn_ctl_int(s->ds, "status.collisionCount", 0) + 1);
    kn_error *e = NULL;
    kc_update(s->c->ctx->client, &kn_ctl_res_daemonsets, kn_meta_str(s->ds, "namespace"), "status",
              upd, NULL, &e);
    kn_error_free(&e);
    cJSON_Delete(upd);
    return kn_error_wrap(err, "hash collision");
}

static int sync_history(dsync *s, char **rev, kn_error **err)
{
    s->hash =
        kn_ctl_template_hash(template_of(s->ds), kn_ctl_int(s->ds, "status.collisionCount", -1));
    if (kn_ctl_revision_ensure(s->c->ctx, s->c->revs, s->ds, "DaemonSet", template_of(s->ds),
                               s->hash, rev, err) < 0) {
        if (kn_error_code(*err) == KN_EEXIST)
            collision(s, err);
        return -1;
    }
    return 0;
}

/* ---- sync ---------------------------------------------------------------------------------- */

static int run_sync(dsync *s, kn_error **err)
{
    kn_label_selector *sel = kn_ctl_selector(s->ds, "spec.selector");
    char *rev = NULL;
    int r = 0;
    if (!sel || kn_label_selector_empty(sel)) {
        KN_WARN("controller", "daemonset %s: empty or invalid selector", s->key);
    } else if ((r = kn_ctl_claim_pods(s->c->ctx, s->c->pods, &kn_ctl_res_daemonsets, "DaemonSet",
                                      s->ds, sel, false, &s->pods, err)) == 0 &&
               (r = sync_history(s, &rev, err)) == 0) {
        bool live = !kn_meta_str(s->ds, "deletionTimestamp");
        if (live && kn_ctl_expect_satisfied(s->c->exp, s->key))
            r = manage(s, err);
        if (r == 0 && live && kn_ctl_expect_satisfied(s->c->exp, s->key) &&
            !same(kn_ctl_str(s->ds, "spec.updateStrategy.type"), "OnDelete"))
            r = rolling_update(s, err);
        const char *keep[] = {rev};
        if (r == 0)
            r = kn_ctl_revision_truncate(s->c->ctx, s->c->revs, s->ds, keep, 1, &s->pods, err);
        if (r == 0)
            r = update_status(s, err);
    }
    free(rev);
    kn_label_selector_free(sel);
    return r;
}

static int sync_ds(void *ud, const char *key, kn_error **err)
{
    dsc *c = ud;
    kc_obj *o = kc_informer_get(c->ds, key);
    if (!o) {
        kn_ctl_expect_delete(c->exp, key);
        return 0;
    }
    dsync s = {.c = c, .key = key, .ds = kc_obj_json(o), .now = kn_time_wall_ns()};
    s.pod = kn_ctl_pod_from_template(template_of(s.ds), "DaemonSet", s.ds);
    kn_ctl_ds_add_tolerations(kn_ctl_obj(s.pod, "spec"));
    s.nodes = kc_informer_list(c->nodes, &s.nnodes);
    int r = run_sync(&s, err);
    kc_objs_free(s.nodes, s.nnodes);
    kn_ctl_objs_free(&s.pods);
    cJSON_Delete(s.pod);
    free(s.hash);
    kc_obj_unref(o);
    return r < 0 ? kn_error_wrap(err, "daemonset %s", key) : 0;
}

/* ---- handlers ------------------------------------------------------------------------------ */

static void ds_add(kc_obj *o, void *ud)
{
    dsc *c = ud;
    kn_workqueue_add(c->loop.queue, kc_obj_key(o));
}

static void ds_update(kc_obj *old, kc_obj *o, void *ud)
{
    (void)old;
    ds_add(o, ud);
}

static void ds_delete(kc_obj *o, void *ud)
{
    dsc *c = ud;
    kn_ctl_expect_delete(c->exp, kc_obj_key(o));
}

static void enqueue_all(dsc *c)
{
    size_t n = 0;
    kc_obj **v = kc_informer_list(c->ds, &n);
    for (size_t i = 0; i < n; i++)
        kn_workqueue_add(c->loop.queue, kc_obj_key(v[i]));
    kc_objs_free(v, n);
}

static void node_add(kc_obj *o, void *ud)
{
    (void)o;
    enqueue_all(ud);
}

/* Only what placement depends on: labels, taints, unschedulable. */
static void node_update(kc_obj *old, kc_obj *o, void *ud)
{
    static const char *const paths[] = {"metadata.labels", "spec.taints", "spec.unschedulable"};
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        const cJSON *a = NULL, *b = NULL;
        kn_json_lookup(kc_obj_json(old), paths[i], &a, NULL);
        kn_json_lookup(kc_obj_json(o), paths[i], &b, NULL);
        if (!kn_json_equal(a, b)) {
            enqueue_all(ud);
            return;
        }
    }
}

/* ---- lifecycle ------------------------------------------------------------------------------ */

static void *dsc_create(kn_ctl_ctx *ctx)
{
    dsc *c = xcalloc(1, sizeof(*c));
    c->ctx = ctx;
    c->exp = kn_ctl_expect_new();
    kn_ctl_loop_init(&c->loop, ctx, "daemonset", sync_ds, c, NULL);
    c->ds = kn_ctl_informer(ctx, &kn_ctl_res_daemonsets);
    c->pods = kn_ctl_informer(ctx, &kc_res_pods);
    c->nodes = kn_ctl_informer(ctx, &kc_res_nodes);
    c->revs = kn_ctl_informer(ctx, &kn_ctl_res_controllerrevisions);
    kc_informer_add_handlers(c->ds, &(kc_informer_handlers){ds_add, ds_update, ds_delete, c});
    kc_informer_add_handlers(c->nodes, &(kc_informer_handlers){node_add, node_update, node_add, c});
    c->watch = (kn_ctl_pod_watch){&c->loop, c->ds, "DaemonSet", c->exp};
    kn_ctl_watch_pods(c->pods, &c->watch);
    return c;
}

static int dsc_start(void *self, kn_error **err)
{
    dsc *c = self;
    return kn_ctl_loop_start(&c->loop, 2, err);
}

static void dsc_stop(void *self)
{
    dsc *c = self;
    kn_ctl_loop_stop(&c->loop);
}

static void dsc_destroy(void *self)
{
    dsc *c = self;
    kn_ctl_loop_destroy(&c->loop);
    kn_ctl_expect_free(c->exp);
    free(c);
}

const kn_ctl_def kn_ctl_daemonset = {"daemonset", dsc_create, dsc_start, dsc_stop, dsc_destroy};

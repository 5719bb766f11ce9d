/* ctl-replicaset.c - the ReplicaSet controller: keeps spec.replicas active
 * pods from the template (generateName "<rs>-", a controller
 * ownerReference), adopts orphans that match the selector and releases
 * pods that no longer do, deletes surplus pods in upstream's order
 * (ctl-workload.h) and reports replicas, fullyLabeledReplicas,
 * readyReplicas, availableReplicas, observedGeneration and the
 * ReplicaFailure condition. Expectations keep it from acting twice before
 * its own creates and deletes show up in the cache. */
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

#define COMPONENT "replicaset-controller"
#define BURST 500

typedef struct rsc {
    kn_ctl_ctx *ctx;
    kc_informer *rs, *pods;
    kn_ctl_loop loop;
    kn_ctl_expect *exp;
    kn_ctl_pod_watch watch;
} rsc;

/* ---- handlers ------------------------------------------------------------ */

static void rs_add(kc_obj *o, void *ud)
{
    rsc *c = ud;
    kn_workqueue_add(c->loop.queue, kc_obj_key(o));
}

static void rs_update(kc_obj *old, kc_obj *o, void *ud)
{
    (void)old;
    rs_add(o, ud);
}

static void rs_delete(kc_obj *o, void *ud)
{
    rsc *c = ud;
    kn_ctl_expect_delete(c->exp, kc_obj_key(o));
}

/* ---- creating and deleting pods ------------------------------------------------------------ */

static cJSON *pod_from_template(const cJSON *rs)
{
    const cJSON *t =
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(rs, "spec"), "template");
    cJSON *pod = kn_ctl_pod_from_template(t, "ReplicaSet", rs);
    char *prefix = xasprintf("%s-", kn_meta_str(rs, "name"));
    cJSON_AddStringToObject(kn_meta(pod), "generateName", prefix);
    free(prefix);
    return pod;
}

static int create_one(rsc *c, const cJSON *rs, kn_error **err)
{
    cJSON *pod = pod_from_template(rs), *created = NULL;
    int r =
        kc_create(c->ctx->client, &kc_res_pods, kn_meta_str(rs, "namespace"), pod, &created, err);
    if (r == 0)
        kn_ctl_event(c->ctx->recorder, COMPONENT, rs, "Normal", "SuccessfulCreate",
                     "Created pod: %s", kn_meta_str(created, "name"));
    else
        kn_ctl_event(c->ctx->recorder, COMPONENT, rs, "Warning", "FailedCreate",
                     "Error creating: %s", kn_error_msg(*err));
    cJSON_Delete(pod);
    cJSON_Delete(created);
    return r;
}

/* slowStartBatch: batches of 1, 2, 4, ... stopping at the first failure. */
static int create_pods(rsc *c, const char *key, const cJSON *rs, int64_t n, kn_error **err)
{
    kn_ctl_expect_creations(c->exp, key, (int)n);
    int64_t done = 0, batch = 1;
    int r = 0;
    while (done < n && r == 0) {
        for (int64_t i = 0; i < batch && done < n && r == 0; i++) {
            r = create_one(c, rs, err);
            if (r == 0)
                done++;
        }
        batch *= 2;
    }
    for (int64_t i = done; i < n; i++) /* failed or never attempted */
        kn_ctl_expect_creation_observed(c->exp, key);
    return r < 0 ? kn_error_wrap(err, "create pods") : 0;
}

/* Active pods of the ReplicaSets controlled by the same owner as rs (or of
 * rs alone), counted per node. */
static int related_on_node(rsc *c, const cJSON *rs, const char *node)
{
    const char *owner = kn_ctl_str(kn_ctl_controller_ref(rs), "uid");
    size_t nrs = 0;
    kc_obj **sets = owner ? kc_informer_by_index(c->rs, "controller", owner, &nrs) : NULL;
    int count = 0;
    for (size_t i = 0; i < (owner ? nrs : 1); i++) {
        const char *uid = kn_meta_str(owner ? kc_obj_json(sets[i]) : rs, "uid");
        size_t np = 0;
        kc_obj **pods = kc_informer_by_index(c->pods, "controller", uid ? uid : "", &np);
        for (size_t j = 0; j < np; j++) {
            const cJSON *p = kc_obj_json(pods[j]);
            const char *pn = kn_ctl_str(p, "spec.nodeName");
            if (kn_ctl_pod_active(p) && strcmp(pn ? pn : "", node) == 0)
                count++;
        }
        kc_objs_free(pods, np);
    }
    if (sets)
        kc_objs_free(sets, nrs);
    return count;
}

static int delete_pods(rsc *c, const char *key, const cJSON *rs, kn_ctl_objs *owned, int64_t n,
                       kn_error **err)
{
    kn_ctl_ranked_pod *v = xcalloc(owned->n, sizeof(*v));
    for (size_t i = 0; i < owned->n; i++) {
        const char *node = kn_ctl_str(kc_obj_json(owned->v[i]), "spec.nodeName");
        v[i] =
            (kn_ctl_ranked_pod){kc_obj_json(owned->v[i]), related_on_node(c, rs, node ? node : "")};
    }
    kn_ctl_sort_for_deletion(v, owned->n, kn_time_wall_ns());
    char **keys = xcalloc((size_t)n + 1, sizeof(char *));
    for (int64_t i = 0; i < n; i++)
        keys[i] = kc_object_key(v[i].pod);
    kn_ctl_expect_deletions(c->exp, key, keys, (size_t)n);
    int r = 0;
    for (int64_t i = 0; i < n; i++) {
        kn_error *e = NULL;
        const char *name = kn_meta_str(v[i].pod, "name");
        if (kc_delete(c->ctx->client, &kc_res_pods, kn_meta_str(rs, "namespace"), name, NULL, NULL,
                      &e) < 0) {
            kn_ctl_expect_deletion_observed(c->exp, key, keys[i]);
            if (kn_error_code(e) != KN_ENOTFOUND && r == 0) {
                kn_ctl_event(c->ctx->recorder, COMPONENT, rs, "Warning", "FailedDelete",
                             "Error deleting: %s", kn_error_msg(e));
                r = kn_error_set(err, kn_error_code(e), "delete pod %s: %s", name, kn_error_msg(e));
            }
            kn_error_free(&e);
        } else {
            kn_ctl_event(c->ctx->recorder, COMPONENT, rs, "Normal", "SuccessfulDelete",
                         "Deleted pod: %s", name);
        }
    }
    for (int64_t i = 0; i < n; i++)
        free(keys[i]);
    free(keys);
    free(v);
    return r;
}

static int manage_replicas(rsc *c, const char *key, const cJSON *rs, kn_ctl_objs *owned,
                           kn_error **err)
{
    int64_t diff = (int64_t)owned->n - kn_ctl_int(rs, "spec.replicas", 1);
    if (diff < 0)
        return create_pods(c, key, rs, -diff > BURST ? BURST : -diff, err);
    if (diff > 0)
        return delete_pods(c, key, rs, owned, diff > BURST ? BURST : diff, err);
    return 0;
}

/* ---- status ------------------------------------------------------------------------------------
 */

static cJSON *compute_status(const cJSON *rs, const kn_ctl_objs *owned, const kn_error *manage_err,
                             int64_t *ready_out, int64_t *available_out)
{
    const cJSON *cur = cJSON_GetObjectItemCaseSensitive(rs, "status");
    cJSON *st = cJSON_IsObject(cur) ? cJSON_Duplicate(cur, 1) : cJSON_CreateObject();
    const cJSON *tlabels = NULL;
    kn_json_lookup(rs, "spec.template.metadata.labels", &tlabels, NULL);
    int64_t min_ready = kn_ctl_int(rs, "spec.minReadySeconds", 0), now = kn_time_wall_ns();
    int64_t labelled = 0, ready = 0, available = 0;
    for (size_t i = 0; i < owned->n; i++) {
        const cJSON *p = kc_obj_json(owned->v[i]);
        labelled += kn_ctl_labels_contain(p, tlabels);
        ready += kn_ctl_pod_ready(p);
        available += kn_ctl_pod_available(p, min_ready, now);
    }
    kn_ctl_set(st, "replicas", cJSON_CreateNumber((double)owned->n));
    kn_ctl_set(st, "fullyLabeledReplicas", cJSON_CreateNumber((double)labelled));
    kn_ctl_set(st, "readyReplicas", cJSON_CreateNumber((double)ready));
    kn_ctl_set(st, "availableReplicas", cJSON_CreateNumber((double)available));
    kn_ctl_set(st, "observedGeneration",
               cJSON_CreateNumber((double)kn_ctl_int(rs, "metadata.generation", 0)));
    bool failing = kn_ctl_condition(rs, "ReplicaFailure") != NULL;
    if (manage_err && !failing) {
        int64_t diff = (int64_t)owned->n - kn_ctl_int(rs, "spec.replicas", 1);
        kn_ctl_set_condition(st, "ReplicaFailure", "True",
                             diff < 0 ? "FailedCreate" : "FailedDelete", kn_error_msg(manage_err),
                             false);
    } else if (!manage_err && failing) {
        cJSON *conds = cJSON_GetObjectItemCaseSensitive(st, "conditions"), *x;
        cJSON_ArrayForEach(x, conds)
        {
            const char *type = kn_ctl_str(x, "type");
            if (type && strcmp(type, "ReplicaFailure") == 0) {
                cJSON_Delete(cJSON_DetachItemViaPointer(conds, x));
                break;
            }
        }
    }
    *ready_out = ready;
    *available_out = available;
    return st;
}

static int update_status(rsc *c, const char *key, const cJSON *rs, const kn_ctl_objs *owned,
                         const kn_error *manage_err, kn_error **err)
{
    int64_t ready, available;
    cJSON *st = compute_status(rs, owned, manage_err, &ready, &available);
    int r = 0;
    if (!kn_json_equal(st, cJSON_GetObjectItemCaseSensitive(rs, "status"))) {
        cJSON *upd = cJSON_Duplicate(rs, 1);
        kn_ctl_set(upd, "status", st);
        st = NULL;
        r = kc_update(c->ctx->client, &kn_ctl_res_replicasets, kn_meta_str(rs, "namespace"),
                      "status", upd, NULL, err);
        cJSON_Delete(upd);
    }
    cJSON_Delete(st);
    int64_t want = kn_ctl_int(rs, "spec.replicas", 1),
            min_ready = kn_ctl_int(rs, "spec.minReadySeconds", 0);
    if (r == 0 && min_ready > 0 && ready == want && available != want)
        kn_workqueue_add_after(c->loop.queue, key, min_ready * KN_NSEC_PER_SEC);
    return r < 0 ? kn_error_wrap(err, "update status") : 0;
}

static int sync_rs(void *ud, const char *key, kn_error **err)
{
    rsc *c = ud;
    kc_obj *o = kc_informer_get(c->rs, key);
    if (!o) {
        kn_ctl_expect_delete(c->exp, key);
        return 0;
    }
    const cJSON *rs = kc_obj_json(o);
    kn_label_selector *sel = kn_ctl_selector(rs, "spec.selector");
    kn_ctl_objs owned = {0};
    kn_error *manage_err = NULL;
    int r = 0;
    if (!sel) {
        KN_WARN("controller", "replicaset %s: invalid selector", key);
    } else if ((r = kn_ctl_claim_pods(c->ctx, c->pods, &kn_ctl_res_replicasets, "ReplicaSet", rs,
                                      sel, true, &owned, err)) == 0) {
        if (kn_ctl_expect_satisfied(c->exp, key) && !kn_meta_str(rs, "deletionTimestamp"))
            manage_replicas(c, key, rs, &owned, &manage_err);
        r = update_status(c, key, rs, &owned, manage_err, err);
        if (manage_err && r == 0)
            r = kn_error_set(err, kn_error_code(manage_err), "%s", kn_error_msg(manage_err));
    }
    kn_error_free(&manage_err);
    kn_ctl_objs_free(&owned);
    kn_label_selector_free(sel);
    kc_obj_unref(o);
    return r;
}

/* ---- lifecycle ----------------------------------------------------------------------------------
 */

static void *rsc_create(kn_ctl_ctx *ctx)
{
    rsc *c = xcalloc(1, sizeof(*c));
    c->ctx = ctx;
    c->exp = kn_ctl_expect_new();
    kn_ctl_loop_init(&c->loop, ctx, "replicaset", sync_rs, c, NULL);
    c->rs = kn_ctl_informer(ctx, &kn_ctl_res_replicasets);
    c->pods = kn_ctl_informer(ctx, &kc_res_pods);
    kc_informer_add_handlers(c->rs, &(kc_informer_handlers){rs_add, rs_update, rs_delete, c});
    c->watch = (kn_ctl_pod_watch){&c->loop, c->rs, "ReplicaSet", c->exp};
    kn_ctl_watch_pods(c->pods, &c->watch);
    return c;
}

static int rsc_start(void *self, kn_error **err)
{
    rsc *c = self;
    return kn_ctl_loop_start(&c->loop, 2, err);
}

static void rsc_stop(void *self)
{
    rsc *c = self;
    kn_ctl_loop_stop(&c->loop);
}

static void rsc_destroy(void *self)
{
    rsc *c = self;
    kn_ctl_loop_destroy(&c->loop);
    kn_ctl_expect_free(c->exp);
    free(c);
}

const kn_ctl_def kn_ctl_replicaset = {"replicaset", rsc_create, rsc_start, rsc_stop, rsc_destroy};

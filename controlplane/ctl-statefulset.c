/* ctl-statefulset.c - the StatefulSet controller (upstream
 * pkg/controller/statefulset): pods named <set>-<ordinal> with hostname
 * = the pod name and subdomain = spec.serviceName, the labels
 * statefulset.kubernetes.io/pod-name, apps.kubernetes.io/pod-index and
 * controller-revision-hash (the name of the template's ControllerRevision
 * <set>-<hash>). OrderedReady creates ordinal i+1 only once i is Running
 * and Ready and scales down from the highest ordinal one pod at a time;
 * Parallel does both at once. RollingUpdate replaces pods from the
 * highest ordinal down to the partition, one at a time, each after the
 * one above is healthy again (ordinals below the partition keep the
 * current revision's template, also when recreated); OnDelete only uses
 * the new template for pods the user deleted. Status: replicas,
 * readyReplicas, availableReplicas, currentReplicas, updatedReplicas,
 * currentRevision, updateRevision, observedGeneration, collisionCount.
 *
 * volumeClaimTemplates need PersistentVolumeClaims, which this control
 * plane does not serve: such a StatefulSet gets no pods (creating them
 * without their claimed volumes would run the workload without its
 * storage) and a Warning event FailedCreate says why. */
#include <stdio.h>
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

#define COMPONENT "statefulset-controller"
#define L_POD_NAME "statefulset.kubernetes.io/pod-name"
#define L_POD_INDEX "apps.kubernetes.io/pod-index"
#define MAX_ORDINAL 100000

typedef struct stsc {
    kn_ctl_ctx *ctx;
    kc_informer *sets, *pods, *revs;
    kn_ctl_loop loop;
    kn_ctl_pod_watch watch;
} stsc;

/* One sync's view of a StatefulSet and its pods. */
typedef struct ssync {
    stsc *c;
    const char *key;
    const cJSON *set;
    char *update_rev, *current_rev;
    cJSON *current_tmpl;  /* the current revision's template when it differs, else NULL */
    kn_ctl_objs pods;     /* owned, any phase */
    const cJSON **by_ord; /* [ordinal], NULL where none */
    size_t n;
    int64_t now;
} ssync;

static bool same(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "") == 0;
}

static const cJSON *template_of(const cJSON *set)
{
    const cJSON *t = NULL;
    kn_json_lookup(set, "spec.template", &t, NULL);
    return t;
}

static const char *revision_of(const cJSON *pod)
{
    return kn_ctl_str(pod, "metadata.labels[\"" KN_CTL_REVISION_LABEL "\"]");
}

static bool rolling(const cJSON *set)
{
    return !same(kn_ctl_str(set, "spec.updateStrategy.type"), "OnDelete");
}

static bool healthy(const cJSON *pod)
{
    return !kn_meta_str(pod, "deletionTimestamp") &&
           same(kn_ctl_str(pod, "status.phase"), "Running") && kn_ctl_pod_ready(pod);
}

/* ---- pods by ordinal ----------------------------------------------------------------------- */

static void index_pods(ssync *s)
{
    int64_t replicas = kn_ctl_int(s->set, "spec.replicas", 1), max = replicas;
    const char *name = kn_meta_str(s->set, "name");
    for (size_t i = 0; i < s->pods.n; i++) {
        int64_t o = kn_ctl_sts_ordinal(name, kn_meta_str(kc_obj_json(s->pods.v[i]), "name"));
        if (o >= max && o < MAX_ORDINAL)
            max = o + 1;
    }
    s->n = (size_t)(max < 0 ? 0 : max);
    s->by_ord = xcalloc(s->n + 1, sizeof(*s->by_ord));
    for (size_t i = 0; i < s->pods.n; i++) {
        const cJSON *p = kc_obj_json(s->pods.v[i]);
        int64_t o = kn_ctl_sts_ordinal(name, kn_meta_str(p, "name"));
        if (o >= 0 && (size_t)o < s->n)
            s->by_ord[o] = p;
    }
}

static kn_ctl_sts_pod view_of(const ssync *s, const cJSON *p)
{
    const char *phase = kn_ctl_str(p, "status.phase");
    return (kn_ctl_sts_pod){.exists = p != NULL,
                            .terminating = p && kn_meta_str(p, "deletionTimestamp"),
                            .healthy = p && healthy(p),
                            .finished = same(phase, "Failed") || same(phase, "Succeeded"),
                            .updated = p && same(revision_of(p), s->update_rev)};
}

/* ---- creating and deleting -------------------------------------------------------------- */

static cJSON *new_pod(const ssync *s, int64_t ordinal)
{
    bool keep_current =
        s->current_tmpl && rolling(s->set) &&
        ordinal < kn_ctl_int(s->set, "spec.updateStrategy.rollingUpdate.partition", 0);
    const cJSON *t = keep_current ? s->current_tmpl : template_of(s->set);
    cJSON *pod = kn_ctl_pod_from_template(t, "StatefulSet", s->set);
    char name[320], index[24];
    snprintf(name, sizeof(name), "%s-%lld", kn_meta_str(s->set, "name"), (long long)ordinal);
    snprintf(index, sizeof(index), "%lld", (long long)ordinal);
    cJSON_AddStringToObject(kn_meta(pod), "name", name);
    cJSON *labels = kn_ctl_obj(kn_meta(pod), "labels");
    kn_ctl_set(labels, L_POD_NAME, cJSON_CreateString(name));
    kn_ctl_set(labels, L_POD_INDEX, cJSON_CreateString(index));
    kn_ctl_set(labels, KN_CTL_REVISION_LABEL,
               cJSON_CreateString(keep_current ? s->current_rev : s->update_rev));
    cJSON *spec = kn_ctl_obj(pod, "spec");
    kn_ctl_set(spec, "hostname", cJSON_CreateString(name));
    const char *svc = kn_ctl_str(s->set, "spec.serviceName");
    if (svc && *svc)
        kn_ctl_set(spec, "subdomain", cJSON_CreateString(svc));
    return pod;
}

static int create_pod(ssync *s, int64_t ordinal, kn_error **err)
{
    cJSON *pod = new_pod(s, ordinal);
    const char *name = kn_meta_str(pod, "name"), *set = kn_meta_str(s->set, "name");
    int r = kc_create(s->c->ctx->client, &kc_res_pods, kn_meta_str(s->set, "namespace"), pod, NULL,
                      err);
    if (r == 0)
        kn_ctl_event(s->c->ctx->recorder, COMPONENT, s->set, "Normal", "SuccessfulCreate",
                     "create Pod %s in StatefulSet %s successful", name, set);
    else if (kn_error_code(*err) == KN_EEXIST) /* our cache is behind */
        kn_error_free(err), r = 0;
    else
        kn_ctl_event(s->c->ctx->recorder, COMPONENT, s->set, "Warning", "FailedCreate",
                     "create Pod %s in StatefulSet %s failed error: %s", name, set,
                     kn_error_msg(*err));
    cJSON_Delete(pod);
    return r < 0 ? kn_error_wrap(err, "create pod %lld", (long long)ordinal) : 0;
}

static int delete_pod(ssync *s, const cJSON *pod, kn_error **err)
{
    const char *name = kn_meta_str(pod, "name"), *set = kn_meta_str(s->set, "name");
    int r = kn_ctl_delete(s->c->ctx, &kc_res_pods, kn_meta_str(pod, "namespace"), name,
                          kn_meta_str(pod, "uid"), NULL, err);
    if (r == 0)
        kn_ctl_event(s->c->ctx->recorder, COMPONENT, s->set, "Normal", "SuccessfulDelete",
                     "delete Pod %s in StatefulSet %s successful", name, set);
    else
        kn_ctl_event(s->c->ctx->recorder, COMPONENT, s->set, "Warning", "FailedDelete",
                     "delete Pod %s in StatefulSet %s failed error: %s", name, set,
                     kn_error_msg(*err));
    return r;
}

static int update_pods(ssync *s, kn_error **err)
{
    kn_ctl_sts_params p = {
        .replicas = kn_ctl_int(s->set, "spec.replicas", 1),
        .partition = kn_ctl_int(s->set, "spec.updateStrategy.rollingUpdate.partition", 0),
        .parallel = same(kn_ctl_str(s->set, "spec.podManagementPolicy"), "Parallel"),
        .rolling = rolling(s->set)};
    kn_ctl_sts_pod *v = xcalloc(s->n + 1, sizeof(*v));
    for (size_t i = 0; i < s->n; i++)
        v[i] = view_of(s, s->by_ord[i]);
    kn_ctl_sts_action *act = xcalloc(s->n + 1, sizeof(*act));
    size_t na = kn_ctl_sts_plan(&p, v, s->n, act);
    int r = 0;
    for (size_t i = 0; i < na && r == 0; i++)
        r = act[i].create ? create_pod(s, act[i].ordinal, err)
                          : delete_pod(s, s->by_ord[act[i].ordinal], err);
    free(act);
    free(v);
    return r;
}

/* ---- status ---------------------------------------------------------------------------------- */

static void put_num(cJSON *st, const char *key, int64_t v)
{
    kn_ctl_set(st, key, cJSON_CreateNumber((double)v));
}

static cJSON *compute_status(const ssync *s)
{
    const cJSON *cur = cJSON_GetObjectItemCaseSensitive(s->set, "status");
    cJSON *st = cJSON_IsObject(cur) ? cJSON_Duplicate(cur, 1) : cJSON_CreateObject();
    int64_t min_ready = kn_ctl_int(s->set, "spec.minReadySeconds", 0);
    int64_t replicas = 0, ready = 0, available = 0, current = 0, updated = 0;
    for (size_t i = 0; i < s->n; i++) {
        const cJSON *p = s->by_ord[i];
        if (!p)
            continue;
        replicas++;
        ready += healthy(p);
        available += healthy(p) && kn_ctl_pod_available(p, min_ready, s->now);
        bool live = !kn_meta_str(p, "deletionTimestamp");
        current += live && same(revision_of(p), s->current_rev);
        updated += live && same(revision_of(p), s->update_rev);
    }
    const char *current_rev = s->current_rev;
    if (rolling(s->set) && updated == replicas && ready == replicas) /* completeRollingUpdate */
        current = updated, current_rev = s->update_rev;
    put_num(st, "replicas", replicas);
    put_num(st, "readyReplicas", ready);
    put_num(st, "availableReplicas", available);
    put_num(st, "currentReplicas", current);
    put_num(st, "updatedReplicas", updated);
    kn_ctl_set(st, "currentRevision", cJSON_CreateString(current_rev));
    kn_ctl_set(st, "updateRevision", cJSON_CreateString(s->update_rev));
    put_num(st, "observedGeneration", kn_ctl_int(s->set, "metadata.generation", 0));
    if (!cJSON_GetObjectItemCaseSensitive(st, "collisionCount"))
        put_num(st, "collisionCount", 0);
    return st;
}

static int write_status(ssync *s, cJSON *st, kn_error **err)
{
    int r = 0;
    if (!kn_json_equal(st, cJSON_GetObjectItemCaseSensitive(s->set, "status"))) {
        cJSON *upd = cJSON_Duplicate(s->set, 1);
        kn_ctl_set(upd, "status", st);
        st = NULL;
        r = kc_update(s->c->ctx->client, &kn_ctl_res_statefulsets, kn_meta_str(s->set, "namespace"),
                      "status", upd, NULL, err);
        cJSON_Delete(upd);
    }
    cJSON_Delete(st);
    return r < 0 ? kn_error_wrap(err, "update status") : 0;
}

static int update_status(ssync *s, kn_error **err)
{
    cJSON *st = compute_status(s);
    int64_t min_ready = kn_ctl_int(s->set, "spec.minReadySeconds", 0);
    bool waiting = kn_ctl_int(st, "readyReplicas", 0) != kn_ctl_int(st, "availableReplicas", 0);
    int r = write_status(s, st, err);
    if (r == 0 && min_ready > 0 && waiting)
        kn_workqueue_add_after(s->c->loop.queue, s->key, min_ready * KN_NSEC_PER_SEC);
    return r;
}

/* ---- revisions ------------------------------------------------------------------------------ */

static int collision(ssync *s, kn_error **err)
{
    cJSON *st = cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(s->set, "status"), 1);
    if (!cJSON_IsObject(st)) {
        cJSON_Delete(st);
        st = cJSON_CreateObject();
    }
    put_num(st, "collisionCount", kn_ctl_int(s->set, "status.collisionCount", 0) + 1);
    kn_error *e = NULL;
    write_status(s, st, &e);
    kn_error_free(&e);
    return kn_error_wrap(err, "hash collision");
}

/* The update revision from the template, the current one from status. */
static int sync_revisions(ssync *s, kn_error **err)
{
    /* as upstream, a missing collisionCount counts as 0 (the status always carries one) */
    char *hash =
        kn_ctl_template_hash(template_of(s->set), kn_ctl_int(s->set, "status.collisionCount", 0));
    int r = kn_ctl_revision_ensure(s->c->ctx, s->c->revs, s->set, "StatefulSet",
                                   template_of(s->set), hash, &s->update_rev, err);
    free(hash);
    if (r < 0)
        return kn_error_code(*err) == KN_EEXIST ? collision(s, err) : -1;
    const char *cur = kn_ctl_str(s->set, "status.currentRevision");
    if (cur && *cur && !same(cur, s->update_rev))
        s->current_tmpl = kn_ctl_revision_template(s->c->revs, s->set, cur);
    s->current_rev = xstrdup(s->current_tmpl ? cur : s->update_rev);
    return 0;
}

/* ---- sync ----------------------------------------------------------------------------------- */

/* PersistentVolumeClaims are not served: say so once per generation. */
static bool claims_unsupported(ssync *s)
{
    if (cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(s->set, "spec"), "volumeClaimTemplates")) == 0)
        return false;
    if (kn_ctl_int(s->set, "status.observedGeneration", -1) !=
        kn_ctl_int(s->set, "metadata.generation", 0))
        kn_ctl_event(s->c->ctx->recorder, COMPONENT, s->set, "Warning", "FailedCreate",
                     "StatefulSet %s has volumeClaimTemplates, but this control plane does not "
                     "serve PersistentVolumeClaims: no pods are created; remove "
                     "volumeClaimTemplates (use another volume type)",
                     kn_meta_str(s->set, "name"));
    return true;
}

static int run_sync(ssync *s, kn_error **err)
{
    kn_label_selector *sel = kn_ctl_selector(s->set, "spec.selector");
    int r = 0;
    if (!sel || kn_label_selector_empty(sel)) {
        KN_WARN("controller", "statefulset %s: empty or invalid selector", s->key);
    } else if ((r = kn_ctl_claim_pods(s->c->ctx, s->c->pods, &kn_ctl_res_statefulsets,
                                      "StatefulSet", s->set, sel, false, &s->pods, err)) == 0 &&
               (r = sync_revisions(s, err)) == 0) {
        index_pods(s);
        if (!kn_meta_str(s->set, "deletionTimestamp") && !claims_unsupported(s))
            r = update_pods(s, err);
        const char *keep[] = {s->current_rev, s->update_rev};
        if (r == 0)
            r = kn_ctl_revision_truncate(s->c->ctx, s->c->revs, s->set, keep, 2, &s->pods, err);
        if (r == 0)
            r = update_status(s, err);
    }
    kn_label_selector_free(sel);
    return r;
}

static int sync_set(void *ud, const char *key, kn_error **err)
{
    stsc *c = ud;
    kc_obj *o = kc_informer_get(c->sets, key);
    if (!o)
        return 0;
    ssync s = {.c = c, .key = key, .set = kc_obj_json(o), .now = kn_time_wall_ns()};
    int r = run_sync(&s, err);
    free(s.by_ord);
    kn_ctl_objs_free(&s.pods);
    cJSON_Delete(s.current_tmpl);
    free(s.current_rev);
    free(s.update_rev);
    kc_obj_unref(o);
    return r < 0 ? kn_error_wrap(err, "statefulset %s", key) : 0;
}

/* ---- lifecycle --------------------------------------------------------------------------------
 */

static void set_add(kc_obj *o, void *ud)
{
    stsc *c = ud;
    kn_workqueue_add(c->loop.queue, kc_obj_key(o));
}

static void set_update(kc_obj *old, kc_obj *o, void *ud)
{
    (void)old;
    set_add(o, ud);
}

static void *stsc_create(kn_ctl_ctx *ctx)
{
    stsc *c = xcalloc(1, sizeof(*c));
    c->ctx = ctx;
    kn_ctl_loop_init(&c->loop, ctx, "statefulset", sync_set, c, NULL);
    c->sets = kn_ctl_informer(ctx, &kn_ctl_res_statefulsets);
    c->pods = kn_ctl_informer(ctx, &kc_res_pods);
    c->revs = kn_ctl_informer(ctx, &kn_ctl_res_controllerrevisions);
    kc_informer_add_handlers(c->sets, &(kc_informer_handlers){set_add, set_update, NULL, c});
    c->watch = (kn_ctl_pod_watch){&c->loop, c->sets, "StatefulSet", NULL};
    kn_ctl_watch_pods(c->pods, &c->watch);
    return c;
}

static int stsc_start(void *self, kn_error **err)
{
    stsc *c = self;
    return kn_ctl_loop_start(&c->loop, 2, err);
}

static void stsc_stop(void *self)
{
    stsc *c = self;
    kn_ctl_loop_stop(&c->loop);
}

static void stsc_destroy(void *self)
{
    stsc *c = self;
    kn_ctl_loop_destroy(&c->loop);
    free(c);
}

const kn_ctl_def kn_ctl_statefulset = {"statefulset", stsc_create, stsc_start, stsc_stop,
                                       stsc_destroy};

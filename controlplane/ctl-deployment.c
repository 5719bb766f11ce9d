/* ctl-deployment.c - the Deployment controller (upstream
 * pkg/controller/deployment): owns ReplicaSets named
 * <deployment>-<pod-template-hash> whose template is the deployment's plus
 * the pod-template-hash label (also added to the selector), numbered by the
 * deployment.kubernetes.io/revision annotation. RollingUpdate grows the new
 * ReplicaSet within maxSurge and shrinks the old ones within
 * maxUnavailable; Recreate scales the old ones to zero and waits for their
 * pods to go first. Scaling a deployment mid-rollout resizes its
 * ReplicaSets proportionally. Old ReplicaSets beyond revisionHistoryLimit
 * are deleted. Status and the Available/Progressing conditions carry
 * upstream's reasons, so `kubectl rollout status` and `kubectl rollout
 * undo` (which copies an old ReplicaSet's template back) work. */
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

#define COMPONENT "deployment-controller"
#define A_REVISION "deployment.kubernetes.io/revision"
#define A_HISTORY "deployment.kubernetes.io/revision-history"
#define A_DESIRED "deployment.kubernetes.io/desired-replicas"
#define A_MAX "deployment.kubernetes.io/max-replicas"
#define MAX_HISTORY_CHARS 2000

typedef struct dc {
    kn_ctl_ctx *ctx;
    kc_informer *deploys, *rs, *pods;
    kn_ctl_loop loop;
} dc;

/* One sync's working state: mutable copies, replaced by what the server
 * returns after each write. */
typedef struct dsync {
    dc *c;
    const char *key;
    cJSON *d;
    cJSON **rs; /* owned ReplicaSets, oldest first */
    size_t nrs;
    int new_idx; /* the new ReplicaSet, or -1 */
    kn_ctl_rollout ro;
} dsync;

static bool same(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "") == 0;
}

static int64_t i64(const cJSON *o, const char *path, int64_t def)
{
    return kn_ctl_int(o, path, def);
}

/* ---- annotations -------------------------------------------------------------------- */

static const char *annotation(const cJSON *obj, const char *key)
{
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(obj, "metadata"), "annotations");
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(a, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Sets an annotation; true if it changed. */
static bool set_annotation(cJSON *obj, const char *key, const char *value)
{
    if (same(annotation(obj, key), value) && annotation(obj, key))
        return false;
    kn_ctl_set(kn_ctl_obj(kn_meta(obj), "annotations"), key, cJSON_CreateString(value));
    return true;
}

static int64_t revision_of(const cJSON *rs)
{
    const char *v = annotation(rs, A_REVISION);
    return v ? strtoll(v, NULL, 10) : 0;
}

static bool skipped_annotation(const char *key)
{
    static const char *const skip[] = {"kubectl.kubernetes.io/last-applied-configuration",
                                       A_REVISION,
                                       A_HISTORY,
                                       A_DESIRED,
                                       A_MAX,
                                       "deprecated.deployment.rollback.to",
                                       NULL};
    for (size_t i = 0; skip[i]; i++) {
        if (strcmp(skip[i], key) == 0)
            return true;
    }
    return false;
}

/* copyDeploymentAnnotationsToReplicaSet */
static bool copy_annotations(const cJSON *d, cJSON *rs)
{
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(d, "metadata"), "annotations");
    const cJSON *kv;
    bool changed = false;
    cJSON_ArrayForEach(kv, a)
    {
        if (cJSON_IsString(kv) && !skipped_annotation(kv->string))
            changed |= set_annotation(rs, kv->string, kv->valuestring);
    }
    return changed;
}

static bool set_replicas_annotations(cJSON *rs, int64_t desired, int64_t max)
{
    char a[24], b[24];
    snprintf(a, sizeof(a), "%lld", (long long)desired);
    snprintf(b, sizeof(b), "%lld", (long long)max);
    bool changed = set_annotation(rs, A_DESIRED, a);
    return set_annotation(rs, A_MAX, b) || changed;
}

/* Appends old to the revision-history annotation within the length limit. */
static void add_history(cJSON *rs, const char *old)
{
    const char *h = annotation(rs, A_HISTORY);
    if (!h || !*h) {
        set_annotation(rs, A_HISTORY, old);
        return;
    }
    const char *start = h;
    while (strlen(start) + strlen(old) + 1 > MAX_HISTORY_CHARS && strchr(start, ','))
        start = strchr(start, ',') + 1;
    char *v = xasprintf("%s,%s", start, old);
    if (strlen(v) <= MAX_HISTORY_CHARS)
        set_annotation(rs, A_HISTORY, v);
    free(v);
}

/* SetNewReplicaSetAnnotations */
static bool new_rs_annotations(const dsync *s, cJSON *rs, int64_t new_rev, bool exists)
{
    bool changed = copy_annotations(s->d, rs);
    const char *old = annotation(rs, A_REVISION);
    int64_t old_rev = old ? strtoll(old, NULL, 10) : 0;
    if (old_rev < new_rev) {
        char *keep = old ? xstrdup(old) : NULL;
        char v[24];
        snprintf(v, sizeof(v), "%lld", (long long)new_rev);
        set_annotation(rs, A_REVISION, v);
        if (keep)
            add_history(rs, keep);
        free(keep);
        changed = true;
    }
    if (!exists)
        changed |= set_replicas_annotations(rs, s->ro.replicas, s->ro.replicas + s->ro.max_surge);
    return changed;
}

/* ---- conditions ------------------------------------------------------------------------ */

static const cJSON *condition_of(const cJSON *status, const char *type)
{
    const cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(status, "conditions"))
    {
        if (same(kn_ctl_str(c, "type"), type))
            return c;
    }
    return NULL;
}

static void remove_condition(cJSON *status, const char *type)
{
    cJSON *conds = cJSON_GetObjectItemCaseSensitive(status, "conditions");
    cJSON *c = (cJSON *)condition_of(status, type);
    if (c)
        cJSON_Delete(cJSON_DetachItemViaPointer(conds, c));
}

static cJSON *new_condition(const char *type, const char *st, const char *reason,
                            const char *message)
{
    char now[32];
    kn_ctl_now(now);
    cJSON *c = cJSON_CreateObject();
    cJSON_AddStringToObject(c, "type", type);
    cJSON_AddStringToObject(c, "status", st);
    cJSON_AddStringToObject(c, "lastUpdateTime", now);
    cJSON_AddStringToObject(c, "lastTransitionTime", now);
    cJSON_AddStringToObject(c, "reason", reason);
    cJSON_AddStringToObject(c, "message", message);
    return c;
}

/* Appends c (taken) after removing the old condition of its type. */
static void put_condition(cJSON *status, cJSON *c)
{
    remove_condition(status, kn_ctl_str(c, "type"));
    cJSON *conds = cJSON_GetObjectItemCaseSensitive(status, "conditions");
    if (!cJSON_IsArray(conds)) {
        conds = cJSON_CreateArray();
        kn_ctl_set(status, "conditions", conds);
    }
    cJSON_AddItemToArray(conds, c);
}

/* SetDeploymentCondition: same status and reason is no change; the
 * transition time survives while the status stays. */
static bool set_condition(cJSON *status, const char *type, const char *st, const char *reason,
                          const char *message)
{
    const cJSON *cur = condition_of(status, type);
    if (cur && same(kn_ctl_str(cur, "status"), st) && same(kn_ctl_str(cur, "reason"), reason))
        return false;
    cJSON *c = new_condition(type, st, reason, message);
    if (cur && same(kn_ctl_str(cur, "status"), st) && kn_ctl_str(cur, "lastTransitionTime"))
        kn_ctl_set(c, "lastTransitionTime",
                   cJSON_CreateString(kn_ctl_str(cur, "lastTransitionTime")));
    put_condition(status, c);
    return true;
}

static cJSON *status_of(cJSON *obj)
{
    return kn_ctl_obj(obj, "status");
}

static int64_t deadline_s(const cJSON *d)
{
    return i64(d, "spec.progressDeadlineSeconds", 600);
}

static bool has_deadline(const cJSON *d)
{
    return deadline_s(d) != INT32_MAX;
}

/* ---- writes ------------------------------------------------------------------------------- */

static int update_deployment_status(dsync *s, kn_error **err)
{
    cJSON *out = NULL;
    if (kc_update(s->c->ctx->client, &kn_ctl_res_deployments, kn_meta_str(s->d, "namespace"),
                  "status", s->d, &out, err) < 0)
        return kn_error_wrap(err, "update deployment status");
    cJSON_Delete(s->d);
    s->d = out;
    return 0;
}

static int update_rs(dsync *s, size_t i, kn_error **err)
{
    cJSON *out = NULL;
    if (kc_update(s->c->ctx->client, &kn_ctl_res_replicasets, kn_meta_str(s->rs[i], "namespace"),
                  NULL, s->rs[i], &out, err) < 0)
        return kn_error_wrap(err, "update replicaset %s", kn_meta_str(s->rs[i], "name"));
    cJSON_Delete(s->rs[i]);
    s->rs[i] = out;
    return 0;
}

/* scaleReplicaSet: the size and the replicas annotations; 1 if scaled. */
static int scale_rs(dsync *s, size_t i, int64_t size, kn_error **err)
{
    cJSON *rs = s->rs[i];
    int64_t cur = i64(rs, "spec.replicas", 1);
    bool ann = set_replicas_annotations(rs, s->ro.replicas, s->ro.replicas + s->ro.max_surge);
    if (cur == size && !ann)
        return 0;
    kn_ctl_set(kn_ctl_obj(rs, "spec"), "replicas", cJSON_CreateNumber((double)size));
    if (update_rs(s, i, err) < 0)
        return -1;
    if (cur == size)
        return 0;
    kn_ctl_event(s->c->ctx->recorder, COMPONENT, s->d, "Normal", "ScalingReplicaSet",
                 "Scaled %s replica set %s from %lld to %lld", cur < size ? "up" : "down",
                 kn_meta_str(s->rs[i], "name"), (long long)cur, (long long)size);
    return 1;
}

/* ---- the new ReplicaSet ---------------------------------------------------------------- */

static int find_new(const dsync *s)
{
    const cJSON *t = NULL;
    kn_json_lookup(s->d, "spec.template", &t, NULL);
    for (size_t i = 0; i < s->nrs; i++) {
        const cJSON *rt = NULL;
        kn_json_lookup(s->rs[i], "spec.template", &rt, NULL);
        if (t && rt && kn_ctl_templates_equal(t, rt))
            return (int)i;
    }
    return -1;
}

static int64_t max_old_revision(const dsync *s)
{
    int64_t max = 0;
    for (size_t i = 0; i < s->nrs; i++) {
        if ((int)i != s->new_idx && revision_of(s->rs[i]) > max)
            max = revision_of(s->rs[i]);
    }
    return max;
}

static kn_ctl_rs view_of(const cJSON *rs)
{
    const char *ts = kn_meta_str(rs, "creationTimestamp");
    const char *mx = annotation(rs, A_MAX), *ds = annotation(rs, A_DESIRED);
    return (kn_ctl_rs){.created_ns = ts ? kn_rfc3339_parse(ts) : 0,
                       .replicas = i64(rs, "spec.replicas", 1),
                       .available = i64(rs, "status.availableReplicas", 0),
                       .max_replicas = mx ? strtoll(mx, NULL, 10) : 0,
                       .desired = ds ? strtoll(ds, NULL, 10) : -1,
                       .name = kn_meta_str(rs, "name")};
}

/* The ReplicaSet to create for the deployment's current template. */
static cJSON *build_new_rs(const dsync *s, const char *hash)
{
    const cJSON *sel = NULL, *t = NULL;
    kn_json_lookup(s->d, "spec.selector", &sel, NULL);
    kn_json_lookup(s->d, "spec.template", &t, NULL);
    cJSON *tmpl = cJSON_Duplicate(t, 1);
    kn_ctl_set(kn_ctl_obj(kn_ctl_obj(tmpl, "metadata"), "labels"), KN_CTL_HASH_LABEL,
               cJSON_CreateString(hash));
    cJSON *rs = cJSON_CreateObject();
    cJSON_AddStringToObject(rs, "apiVersion", "apps/v1");
    cJSON_AddStringToObject(rs, "kind", "ReplicaSet");
    cJSON *m = cJSON_AddObjectToObject(rs, "metadata");
    char *name = xasprintf("%s-%s", kn_meta_str(s->d, "name"), hash);
    cJSON_AddStringToObject(m, "name", name);
    free(name);
    cJSON_AddStringToObject(m, "namespace", kn_meta_str(s->d, "namespace"));
    cJSON_AddItemToObject(
        m, "labels",
        cJSON_Duplicate(cJSON_GetObjectItem(cJSON_GetObjectItem(tmpl, "metadata"), "labels"), 1));
    cJSON_AddItemToArray(cJSON_AddArrayToObject(m, "ownerReferences"),
                         kn_ctl_owner_ref("apps/v1", "Deployment", kn_meta_str(s->d, "name"),
                                          kn_meta_str(s->d, "uid"), true));
    cJSON *spec = cJSON_AddObjectToObject(rs, "spec");
    cJSON_AddNumberToObject(spec, "replicas", 0);
    cJSON_AddNumberToObject(spec, "minReadySeconds", (double)i64(s->d, "spec.minReadySeconds", 0));
    cJSON *selector = sel ? cJSON_Duplicate(sel, 1) : cJSON_CreateObject();
    kn_ctl_set(kn_ctl_obj(selector, "matchLabels"), KN_CTL_HASH_LABEL, cJSON_CreateString(hash));
    cJSON_AddItemToObject(spec, "selector", selector);
    cJSON_AddItemToObject(spec, "template", tmpl);
    return rs;
}

/* The name is taken by a ReplicaSet that is not ours to use: count a
 * collision so the next hash differs (and retry). */
static int collision(dsync *s, const char *name, kn_error **err)
{
    char *key = xasprintf("%s/%s", kn_meta_str(s->d, "namespace"), name);
    kc_obj *o = kc_informer_get(s->c->rs, key);
    free(key);
    const cJSON *rs = o ? kc_obj_json(o) : NULL, *rt = NULL, *t = NULL;
    kn_json_lookup(rs, "spec.template", &rt, NULL);
    kn_json_lookup(s->d, "spec.template", &t, NULL);
    bool ours = rs &&
                same(kn_ctl_str(kn_ctl_controller_ref(rs), "uid"), kn_meta_str(s->d, "uid")) &&
                rt && kn_ctl_templates_equal(t, rt);
    kc_obj_unref(o);
    if (ours)
        return kn_error_set(err, KN_EEXIST, "replicaset %s exists (cache behind)", name);
    int64_t cc = i64(s->d, "status.collisionCount", 0) + 1;
    kn_ctl_set(status_of(s->d), "collisionCount", cJSON_CreateNumber((double)cc));
    kn_error *e = NULL;
    update_deployment_status(s, &e);
    kn_error_free(&e);
    return kn_error_set(err, KN_EEXIST, "hash collision on replicaset %s", name);
}

static int create_new_rs(dsync *s, int64_t new_rev, kn_error **err)
{
    const cJSON *t = NULL;
    kn_json_lookup(s->d, "spec.template", &t, NULL);
    char *hash = kn_ctl_template_hash(t, i64(s->d, "status.collisionCount", -1));
    cJSON *rs = build_new_rs(s, hash), *created = NULL;
    free(hash);
    kn_ctl_rs *views = xcalloc(s->nrs + 1, sizeof(*views));
    for (size_t i = 0; i < s->nrs; i++)
        views[i] = view_of(s->rs[i]);
    views[s->nrs] = view_of(rs);
    int64_t n = kn_ctl_new_rs_replicas(&s->ro, views, s->nrs + 1, &views[s->nrs]);
    free(views);
    kn_ctl_set(kn_ctl_obj(rs, "spec"), "replicas", cJSON_CreateNumber((double)n));
    new_rs_annotations(s, rs, new_rev, false);
    int r = kc_create(s->c->ctx->client, &kn_ctl_res_replicasets, kn_meta_str(s->d, "namespace"),
                      rs, &created, err);
    if (r < 0 && kn_error_code(*err) == KN_EEXIST) {
        kn_error_free(err);
        r = collision(s, kn_meta_str(rs, "name"), err);
    } else if (r < 0) {
        kn_ctl_event(s->c->ctx->recorder, COMPONENT, s->d, "Warning", "ReplicaSetCreateError",
                     "Failed to create new replica set \"%s\": %s", kn_meta_str(rs, "name"),
                     kn_error_msg(*err));
    }
    cJSON_Delete(rs);
    if (r < 0)
        return r;
    if (n > 0)
        kn_ctl_event(s->c->ctx->recorder, COMPONENT, s->d, "Normal", "ScalingReplicaSet",
                     "Scaled up replica set %s from 0 to %lld", kn_meta_str(created, "name"),
                     (long long)n);
    s->rs = xreallocarray(s->rs, s->nrs + 1, sizeof(cJSON *));
    s->rs[s->nrs] = created;
    s->new_idx = (int)s->nrs++;
    return 1;
}

static int64_t rs_revision_now(const dsync *s)
{
    return revision_of(s->rs[s->new_idx]);
}

/* The deployment's revision annotation (and, for a new ReplicaSet, the
 * Progressing condition) after the new ReplicaSet is known. */
static int record_revision(dsync *s, bool created, kn_error **err)
{
    char rev[24];
    snprintf(rev, sizeof(rev), "%lld", (long long)rs_revision_now(s));
    bool changed = set_annotation(s->d, A_REVISION, rev);
    const char *name = kn_meta_str(s->rs[s->new_idx], "name");
    char *msg = xasprintf("%s new replica set \"%s\"", created ? "Created" : "Found", name);
    if (has_deadline(s->d) && (created || !condition_of(status_of(s->d), "Progressing"))) {
        put_condition(status_of(s->d),
                      new_condition("Progressing", "True",
                                    created ? "NewReplicaSetCreated" : "FoundNewReplicaSet", msg));
        changed = true;
    }
    free(msg);
    return changed ? update_deployment_status(s, err) : 0;
}

/* getAllReplicaSetsAndSyncRevision */
static int sync_revision(dsync *s, bool create, kn_error **err)
{
    s->new_idx = find_new(s);
    int64_t new_rev = max_old_revision(s) + 1;
    if (s->new_idx >= 0) {
        cJSON *rs = s->rs[s->new_idx];
        bool changed = new_rs_annotations(s, rs, new_rev, true);
        int64_t mrs = i64(s->d, "spec.minReadySeconds", 0);
        if (changed || i64(rs, "spec.minReadySeconds", 0) != mrs) {
            kn_ctl_set(kn_ctl_obj(rs, "spec"), "minReadySeconds", cJSON_CreateNumber((double)mrs));
            return update_rs(s, (size_t)s->new_idx, err);
        }
        return record_revision(s, false, err);
    }
    if (!create)
        return 0;
    int r = create_new_rs(s, new_rev, err);
    return r < 0 ? r : record_revision(s, true, err);
}

/* ---- status ------------------------------------------------------------------------------ */

static cJSON *calc_status(const dsync *s)
{
    const cJSON *cur = cJSON_GetObjectItemCaseSensitive(s->d, "status");
    cJSON *st = cJSON_IsObject(cur) ? cJSON_Duplicate(cur, 1) : cJSON_CreateObject();
    int64_t available = 0, spec_total = 0, replicas = 0, ready = 0;
    for (size_t i = 0; i < s->nrs; i++) {
        available += i64(s->rs[i], "status.availableReplicas", 0);
        spec_total += i64(s->rs[i], "spec.replicas", 1);
        replicas += i64(s->rs[i], "status.replicas", 0);
        ready += i64(s->rs[i], "status.readyReplicas", 0);
    }
    int64_t updated = s->new_idx >= 0 ? i64(s->rs[s->new_idx], "status.replicas", 0) : 0;
    int64_t unavailable = spec_total - available > 0 ? spec_total - available : 0;
    kn_ctl_set(st, "observedGeneration",
               cJSON_CreateNumber((double)i64(s->d, "metadata.generation", 0)));
    kn_ctl_set(st, "replicas", cJSON_CreateNumber((double)replicas));
    kn_ctl_set(st, "updatedReplicas", cJSON_CreateNumber((double)updated));
    kn_ctl_set(st, "readyReplicas", cJSON_CreateNumber((double)ready));
    kn_ctl_set(st, "availableReplicas", cJSON_CreateNumber((double)available));
    kn_ctl_set(st, "unavailableReplicas", cJSON_CreateNumber((double)unavailable));
    if (available >= s->ro.replicas - s->ro.max_unavailable)
        set_condition(st, "Available", "True", "MinimumReplicasAvailable",
                      "Deployment has minimum availability.");
    else
        set_condition(st, "Available", "False", "MinimumReplicasUnavailable",
                      "Deployment does not have minimum availability.");
    return st;
}

static bool complete(const dsync *s, const cJSON *st)
{
    int64_t want = s->ro.replicas;
    return i64(st, "updatedReplicas", 0) == want && i64(st, "replicas", 0) == want &&
           i64(st, "availableReplicas", 0) == want &&
           i64(st, "observedGeneration", 0) >= i64(s->d, "metadata.generation", 0);
}

static bool progressing(const cJSON *old, const cJSON *st)
{
    int64_t old_old = i64(old, "replicas", 0) - i64(old, "updatedReplicas", 0);
    int64_t new_old = i64(st, "replicas", 0) - i64(st, "updatedReplicas", 0);
    return i64(st, "updatedReplicas", 0) > i64(old, "updatedReplicas", 0) || new_old < old_old ||
           i64(st, "readyReplicas", 0) > i64(old, "readyReplicas", 0) ||
           i64(st, "availableReplicas", 0) > i64(old, "availableReplicas", 0);
}

static bool timed_out(const dsync *s, const cJSON *st)
{
    const cJSON *c = condition_of(st, "Progressing");
    if (!has_deadline(s->d) || !c || same(kn_ctl_str(c, "reason"), "NewReplicaSetAvailable"))
        return false;
    if (same(kn_ctl_str(c, "reason"), "ProgressDeadlineExceeded"))
        return true;
    const char *from = kn_ctl_str(c, "lastUpdateTime");
    int64_t t = from ? kn_rfc3339_parse(from) : -1;
    return t >= 0 && t + deadline_s(s->d) * KN_NSEC_PER_SEC < kn_time_wall_ns();
}

/* "ReplicaSet \"x\" <what>" or, without a new ReplicaSet, "Deployment ...". */
static char *about(const dsync *s, const char *what)
{
    if (s->new_idx >= 0)
        return xasprintf("ReplicaSet \"%s\" %s", kn_meta_str(s->rs[s->new_idx], "name"), what);
    return xasprintf("Deployment \"%s\" %s", kn_meta_str(s->d, "name"), what);
}

static void progress_condition(const dsync *s, cJSON *st)
{
    const cJSON *old = cJSON_GetObjectItemCaseSensitive(s->d, "status");
    const cJSON *cur = condition_of(old, "Progressing");
    if (i64(st, "replicas", 0) == i64(st, "updatedReplicas", 0) && cur &&
        same(kn_ctl_str(cur, "reason"), "NewReplicaSetAvailable"))
        return;
    char *msg = NULL;
    if (complete(s, st)) {
        msg = about(s, "has successfully progressed.");
        set_condition(st, "Progressing", "True", "NewReplicaSetAvailable", msg);
    } else if (progressing(old, st)) {
        msg = about(s, "is progressing.");
        cJSON *c = new_condition("Progressing", "True", "ReplicaSetUpdated", msg);
        if (cur && same(kn_ctl_str(cur, "status"), "True") && kn_ctl_str(cur, "lastTransitionTime"))
            kn_ctl_set(c, "lastTransitionTime",
                       cJSON_CreateString(kn_ctl_str(cur, "lastTransitionTime")));
        put_condition(st, c);
    } else if (timed_out(s, st)) {
        msg = about(s, "has timed out progressing.");
        set_condition(st, "Progressing", "False", "ProgressDeadlineExceeded", msg);
    }
    free(msg);
}

/* A ReplicaFailure of any ReplicaSet becomes the deployment's. */
static void failure_condition(const dsync *s, cJSON *st)
{
    for (size_t i = 0; i < s->nrs; i++) {
        const cJSON *f = kn_ctl_condition(s->rs[i], "ReplicaFailure");
        if (f) {
            set_condition(st, "ReplicaFailure", kn_ctl_str(f, "status"), kn_ctl_str(f, "reason"),
                          kn_ctl_str(f, "message") ? kn_ctl_str(f, "message") : "");
            return;
        }
    }
    remove_condition(st, "ReplicaFailure");
}

/* requeueStuckDeployment: come back when the progress deadline passes. */
static void requeue_stuck(const dsync *s, const cJSON *st)
{
    const cJSON *cur =
        condition_of(cJSON_GetObjectItemCaseSensitive(s->d, "status"), "Progressing");
    if (!has_deadline(s->d) || !cur || complete(s, st) ||
        same(kn_ctl_str(cur, "reason"), "ProgressDeadlineExceeded"))
        return;
    const char *from = kn_ctl_str(cur, "lastUpdateTime");
    int64_t t = from ? kn_rfc3339_parse(from) : -1;
    if (t < 0)
        return;
    int64_t after = t + deadline_s(s->d) * KN_NSEC_PER_SEC - kn_time_wall_ns();
    kn_workqueue_add_after(s->c->loop.queue, s->key,
                           after < KN_NSEC_PER_SEC ? KN_NSEC_PER_SEC : after + KN_NSEC_PER_SEC);
}

static int write_status(dsync *s, cJSON *st, kn_error **err)
{
    if (kn_json_equal(st, cJSON_GetObjectItemCaseSensitive(s->d, "status"))) {
        requeue_stuck(s, st);
        cJSON_Delete(st);
        return 0;
    }
    kn_ctl_set(s->d, "status", st);
    return update_deployment_status(s, err);
}

static int sync_rollout_status(dsync *s, kn_error **err)
{
    cJSON *st = calc_status(s);
    if (!has_deadline(s->d))
        remove_condition(st, "Progressing");
    else
        progress_condition(s, st);
    failure_condition(s, st);
    return write_status(s, st, err);
}

static int sync_status_only(dsync *s, kn_error **err)
{
    return write_status(s, calc_status(s), err);
}

/* ---- cleanup, scale, rollouts --------------------------------------------------------- */

static int by_revision(const void *a, const void *b)
{
    const cJSON *x = *(cJSON *const *)a, *y = *(cJSON *const *)b;
    int64_t rx = revision_of(x), ry = revision_of(y);
    if (rx != ry)
        return rx < ry ? -1 : 1;
    return strcmp(kn_meta_str(x, "name"), kn_meta_str(y, "name"));
}

static int cleanup(dsync *s, kn_error **err)
{
    int64_t limit = i64(s->d, "spec.revisionHistoryLimit", 10);
    cJSON **old = xcalloc(s->nrs + 1, sizeof(cJSON *));
    size_t n = 0;
    for (size_t i = 0; i < s->nrs; i++)
        if ((int)i != s->new_idx && !kn_meta_str(s->rs[i], "deletionTimestamp"))
            old[n++] = s->rs[i];
    qsort(old, n, sizeof(cJSON *), by_revision);
    int r = 0;
    for (int64_t i = 0; i < (int64_t)n - limit && r == 0; i++) {
        const cJSON *rs = old[i];
        if (i64(rs, "status.replicas", 0) || i64(rs, "spec.replicas", 1) ||
            i64(rs, "metadata.generation", 0) > i64(rs, "status.observedGeneration", 0))
            continue;
        r = kc_delete(s->c->ctx->client, &kn_ctl_res_replicasets, kn_meta_str(rs, "namespace"),
                      kn_meta_str(rs, "name"), NULL, NULL, err);
        if (r < 0 && kn_error_code(*err) == KN_ENOTFOUND) {
            kn_error_free(err);
            r = 0;
        }
    }
    free(old);
    return r;
}

static int scale(dsync *s, kn_error **err)
{
    kn_ctl_rs *v = xcalloc(s->nrs + 1, sizeof(*v));
    for (size_t i = 0; i < s->nrs; i++)
        v[i] = view_of(s->rs[i]);
    kn_ctl_scale(&s->ro, v, s->nrs, s->new_idx);
    int r = 0;
    for (size_t i = 0; i < s->nrs && r >= 0; i++)
        if (v[i].replicas != i64(s->rs[i], "spec.replicas", 1))
            r = scale_rs(s, i, v[i].replicas, err);
    free(v);
    return r < 0 ? r : 0;
}

/* sync(): scaling events and paused deployments. */
static int sync_scale(dsync *s, kn_error **err)
{
    if (sync_revision(s, false, err) < 0 || scale(s, err) < 0)
        return -1;
    if (cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(s->d, "spec"), "paused")) &&
        cleanup(s, err) < 0)
        return -1;
    return sync_status_only(s, err);
}

/* isScalingEvent: an active ReplicaSet was sized for another replica count. */
static bool scaling_event(dsync *s)
{
    for (size_t i = 0; i < s->nrs; i++) {
        const char *d = annotation(s->rs[i], A_DESIRED);
        if (i64(s->rs[i], "spec.replicas", 1) > 0 && d && strtoll(d, NULL, 10) != s->ro.replicas)
            return true;
    }
    return false;
}

/* reconcileNewReplicaSet: 1 if the new ReplicaSet was scaled. */
static int reconcile_new_rs(dsync *s, size_t ni, kn_error **err)
{
    int64_t cur = i64(s->rs[ni], "spec.replicas", 1);
    if (cur > s->ro.replicas)
        return scale_rs(s, ni, s->ro.replicas, err);
    if (cur == s->ro.replicas)
        return 0;
    kn_ctl_rs *v = xcalloc(s->nrs + 1, sizeof(*v));
    for (size_t i = 0; i < s->nrs; i++)
        v[i] = view_of(s->rs[i]);
    int r = scale_rs(s, ni, kn_ctl_new_rs_replicas(&s->ro, v, s->nrs, &v[ni]), err);
    free(v);
    return r;
}

/* reconcileOldReplicaSets: 1 if an old ReplicaSet was scaled down. */
static int reconcile_old_rs(dsync *s, size_t ni, kn_error **err)
{
    kn_ctl_rs *old = xcalloc(s->nrs + 1, sizeof(*old));
    size_t *idx = xcalloc(s->nrs + 1, sizeof(size_t)), n = 0;
    for (size_t i = 0; i < s->nrs; i++) {
        if (i != ni && i64(s->rs[i], "spec.replicas", 1) > 0) {
            idx[n] = i;
            old[n++] = view_of(s->rs[i]);
        }
    }
    kn_ctl_rs nv = view_of(s->rs[ni]);
    int scaled = 0;
    if (kn_ctl_scale_down_old(&s->ro, old, n, &nv) > 0) {
        for (size_t k = 0; k < n && scaled >= 0; k++)
            if (old[k].replicas != i64(s->rs[idx[k]], "spec.replicas", 1))
                scaled = scale_rs(s, idx[k], old[k].replicas, err) < 0 ? -1 : 1;
    }
    free(old);
    free(idx);
    return scaled;
}

/* rolloutRolling: scale up, else scale down, else clean up; then status. */
static int rollout_rolling(dsync *s, kn_error **err)
{
    if (sync_revision(s, true, err) < 0)
        return -1;
    if (s->new_idx < 0)
        return kn_error_set(err, KN_EINTERNAL, "no new replica set");
    size_t ni = (size_t)s->new_idx;
    int scaled = reconcile_new_rs(s, ni, err);
    if (scaled == 0)
        scaled = reconcile_old_rs(s, ni, err);
    if (scaled < 0)
        return -1;
    if (scaled == 0) {
        cJSON *st = calc_status(s);
        bool done = complete(s, st);
        cJSON_Delete(st);
        if (done && cleanup(s, err) < 0)
            return -1;
    }
    return sync_rollout_status(s, err);
}

/* oldPodsRunning: old ReplicaSets report pods, or pods of theirs are not
 * finished yet. */
static bool old_pods_running(dsync *s)
{
    bool running = false;
    for (size_t i = 0; i < s->nrs && !running; i++) {
        if ((int)i == s->new_idx)
            continue;
        running = i64(s->rs[i], "status.replicas", 0) > 0;
        size_t n = 0;
        const char *uid = kn_meta_str(s->rs[i], "uid");
        kc_obj **pods = kc_informer_by_index(s->c->pods, "controller", uid ? uid : "", &n);
        for (size_t j = 0; j < n && !running; j++) {
            const char *phase = kn_ctl_str(kc_obj_json(pods[j]), "status.phase");
            running = !same(phase, "Succeeded") && !same(phase, "Failed");
        }
        kc_objs_free(pods, n);
    }
    return running;
}

static int rollout_recreate(dsync *s, kn_error **err)
{
    if (sync_revision(s, false, err) < 0)
        return -1;
    int scaled = 0;
    for (size_t i = 0; i < s->nrs && scaled >= 0; i++) {
        if ((int)i != s->new_idx && i64(s->rs[i], "spec.replicas", 1) > 0)
            scaled = scale_rs(s, i, 0, err) < 0 ? -1 : 1;
    }
    if (scaled < 0)
        return -1;
    if (scaled > 0 || old_pods_running(s))
        return sync_rollout_status(s, err);
    if (s->new_idx < 0 && sync_revision(s, true, err) < 0)
        return -1;
    if (i64(s->rs[s->new_idx], "spec.replicas", 1) != s->ro.replicas &&
        scale_rs(s, (size_t)s->new_idx, s->ro.replicas, err) < 0)
        return -1;
    cJSON *st = cJSON_GetObjectItemCaseSensitive(s->d, "status");
    if (complete(s, st) && cleanup(s, err) < 0)
        return -1;
    return sync_rollout_status(s, err);
}

/* checkPausedConditions */
static int paused_conditions(dsync *s, kn_error **err)
{
    if (!has_deadline(s->d))
        return 0;
    const cJSON *cur = condition_of(status_of(s->d), "Progressing");
    if (cur && same(kn_ctl_str(cur, "reason"), "ProgressDeadlineExceeded"))
        return 0;
    bool paused = cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(s->d, "spec"), "paused"));
    bool marked = cur && same(kn_ctl_str(cur, "reason"), "DeploymentPaused");
    if (paused == marked)
        return 0;
    set_condition(status_of(s->d), "Progressing", "Unknown",
                  paused ? "DeploymentPaused" : "DeploymentResumed",
                  paused ? "Deployment is paused" : "Deployment is resumed");
    return update_deployment_status(s, err);
}

/* ---- ownership ---------------------------------------------------------------------------- */

static int by_creation(const void *a, const void *b)
{
    const cJSON *x = *(cJSON *const *)a, *y = *(cJSON *const *)b;
    const char *tx = kn_meta_str(x, "creationTimestamp"), *ty = kn_meta_str(y, "creationTimestamp");
    int c = strcmp(tx ? tx : "", ty ? ty : "");
    return c ? c : strcmp(kn_meta_str(x, "name"), kn_meta_str(y, "name"));
}

/* The ReplicaSets the deployment owns after adopting and releasing. */
static int claim(dsync *s, const kn_label_selector *sel, kn_error **err)
{
    size_t n = 0;
    const char *uid = kn_meta_str(s->d, "uid");
    kc_obj **v = kc_informer_by_index(s->c->rs, "namespace", kn_meta_str(s->d, "namespace"), &n);
    s->rs = xcalloc(n + 1, sizeof(cJSON *));
    int adoptable = -1, r = 0;
    for (size_t i = 0; i < n && r >= 0; i++) {
        const cJSON *rs = kc_obj_json(v[i]);
        const char *owner = kn_ctl_str(kn_ctl_controller_ref(rs), "uid");
        bool match = kn_ctl_labels_match(sel, rs);
        bool take = owner && same(owner, uid) && match;
        if (owner && same(owner, uid) && !match) {
            r = kn_ctl_patch_owner(s->c->ctx, &kn_ctl_res_replicasets, rs, "Deployment", s->d,
                                   false, err);
        } else if (!owner && match && !kn_meta_str(s->d, "deletionTimestamp")) {
            if (adoptable < 0)
                adoptable = kn_ctl_can_adopt(s->c->ctx, &kn_ctl_res_deployments, s->d);
            take = adoptable && (r = kn_ctl_patch_owner(s->c->ctx, &kn_ctl_res_replicasets, rs,
                                                        "Deployment", s->d, true, err)) == 0;
        }
        if (take)
            s->rs[s->nrs++] = cJSON_Duplicate(rs, 1);
    }
    kc_objs_free(v, n);
    qsort(s->rs, s->nrs, sizeof(cJSON *), by_creation);
    return r < 0 ? r : 0;
}

/* ---- sync ----------------------------------------------------------------------------------- */

static int rollout_params(dsync *s)
{
    const char *type = kn_ctl_str(s->d, "spec.strategy.type");
    s->ro.rolling = !same(type, "Recreate");
    s->ro.status_replicas = i64(s->d, "status.replicas", 0);
    const cJSON *surge = NULL, *unavail = NULL;
    kn_json_lookup(s->d, "spec.strategy.rollingUpdate.maxSurge", &surge, NULL);
    kn_json_lookup(s->d, "spec.strategy.rollingUpdate.maxUnavailable", &unavail, NULL);
    cJSON *def = cJSON_CreateString("25%");
    int r = kn_ctl_fenceposts(surge ? surge : def, unavail ? unavail : def,
                              i64(s->d, "spec.replicas", 1), &s->ro);
    cJSON_Delete(def);
    return r;
}

static int run_sync(dsync *s, kn_error **err)
{
    kn_label_selector *sel = kn_ctl_selector(s->d, "spec.selector");
    int r = 0;
    if (!sel || kn_label_selector_empty(sel)) {
        kn_ctl_event(s->c->ctx->recorder, COMPONENT, s->d, "Warning", "SelectingAll",
                     "This deployment is selecting all pods. A non-empty selector is required.");
    } else if (rollout_params(s) < 0) {
        KN_WARN("controller", "deployment %s: invalid maxSurge/maxUnavailable", s->key);
    } else if ((r = claim(s, sel, err)) == 0) {
        if (kn_meta_str(s->d, "deletionTimestamp")) {
            s->new_idx = find_new(s);
            r = sync_status_only(s, err);
        } else if ((r = paused_conditions(s, err)) == 0) {
            bool paused =
                cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(s->d, "spec"), "paused"));
            if (paused || scaling_event(s))
                r = sync_scale(s, err);
            else if (!s->ro.rolling)
                r = rollout_recreate(s, err);
            else
                r = rollout_rolling(s, err);
        }
    }
    kn_label_selector_free(sel);
    return r;
}

static int sync_deployment(void *ud, const char *key, kn_error **err)
{
    dc *c = ud;
    kc_obj *o = kc_informer_get(c->deploys, key);
    if (!o)
        return 0;
    dsync s = {.c = c, .key = key, .d = cJSON_Duplicate(kc_obj_json(o), 1), .new_idx = -1};
    kc_obj_unref(o);
    int r = run_sync(&s, err);
    for (size_t i = 0; i < s.nrs; i++)
        cJSON_Delete(s.rs[i]);
    free(s.rs);
    cJSON_Delete(s.d);
    return r < 0 ? kn_error_wrap(err, "deployment %s", key) : 0;
}

/* ---- handlers ----------------------------------------------------------------------------------
 */

/* Queues the deployment controlling rs, or for an orphan every deployment
 * whose selector matches it. */
static void enqueue_for_rs(dc *c, const cJSON *rs)
{
    const cJSON *ref = kn_ctl_controller_ref(rs);
    const char *ns = kn_meta_str(rs, "namespace");
    if (ref) {
        if (same(kn_ctl_str(ref, "kind"), "Deployment")) {
            char *key = xasprintf("%s/%s", ns, kn_ctl_str(ref, "name"));
            kn_workqueue_add(c->loop.queue, key);
            free(key);
        }
        return;
    }
    size_t n = 0;
    kc_obj **v = kc_informer_by_index(c->deploys, "namespace", ns ? ns : "", &n);
    for (size_t i = 0; i < n; i++) {
        kn_label_selector *sel = kn_ctl_selector(kc_obj_json(v[i]), "spec.selector");
        if (sel && !kn_label_selector_empty(sel) && kn_ctl_labels_match(sel, rs))
            kn_workqueue_add(c->loop.queue, kc_obj_key(v[i]));
        kn_label_selector_free(sel);
    }
    kc_objs_free(v, n);
}

static void d_add(kc_obj *o, void *ud)
{
    dc *c = ud;
    kn_workqueue_add(c->loop.queue, kc_obj_key(o));
}

static void d_update(kc_obj *old, kc_obj *o, void *ud)
{
    (void)old;
    d_add(o, ud);
}

static void rs_add(kc_obj *o, void *ud)
{
    enqueue_for_rs(ud, kc_obj_json(o));
}

static void rs_update(kc_obj *old, kc_obj *o, void *ud)
{
    if (!kn_json_equal(kn_ctl_controller_ref(kc_obj_json(old)),
                       kn_ctl_controller_ref(kc_obj_json(o))))
        enqueue_for_rs(ud, kc_obj_json(old));
    enqueue_for_rs(ud, kc_obj_json(o));
}

/* A pod of one of our ReplicaSets went away (Recreate waits for that). */
static void pod_delete(kc_obj *o, void *ud)
{
    dc *c = ud;
    const cJSON *ref = kn_ctl_controller_ref(kc_obj_json(o));
    if (!ref || !same(kn_ctl_str(ref, "kind"), "ReplicaSet"))
        return;
    char *key =
        xasprintf("%s/%s", kn_meta_str(kc_obj_json(o), "namespace"), kn_ctl_str(ref, "name"));
    kc_obj *rs = kc_informer_get(c->rs, key);
    free(key);
    if (rs)
        enqueue_for_rs(c, kc_obj_json(rs));
    kc_obj_unref(rs);
}

/* ---- lifecycle ----------------------------------------------------------------------------------
 */

static void *dc_create(kn_ctl_ctx *ctx)
{
    dc *c = xcalloc(1, sizeof(*c));
    c->ctx = ctx;
    kn_ctl_loop_init(&c->loop, ctx, "deployment", sync_deployment, c, NULL);
    c->deploys = kn_ctl_informer(ctx, &kn_ctl_res_deployments);
    c->rs = kn_ctl_informer(ctx, &kn_ctl_res_replicasets);
    c->pods = kn_ctl_informer(ctx, &kc_res_pods);
    kc_informer_add_handlers(c->deploys, &(kc_informer_handlers){d_add, d_update, d_add, c});
    kc_informer_add_handlers(c->rs, &(kc_informer_handlers){rs_add, rs_update, rs_add, c});
    kc_informer_add_handlers(c->pods, &(kc_informer_handlers){NULL, NULL, pod_delete, c});
    return c;
}

static int dc_start(void *self, kn_error **err)
{
    dc *c = self;
    return kn_ctl_loop_start(&c->loop, 2, err);
}

static void dc_stop(void *self)
{
    dc *c = self;
    kn_ctl_loop_stop(&c->loop);
}

static void dc_destroy(void *self)
{
    dc *c = self;
    kn_ctl_loop_destroy(&c->loop);
    free(c);
}

const kn_ctl_def kn_ctl_deployment = {"deployment", dc_create, dc_start, dc_stop, dc_destroy};

/* ctl-util.c - shared informers with the standard indexes, expectations
 * and helpers on API objects for the controllers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controlplane/ctl-internal.h"
#include "controlplane/objmeta.h"
#include "lib/clock.h"
#include "lib/duration.h"
#include "lib/json.h"
#include "lib/strbuf.h"
#include "lib/xalloc.h"

const kc_resource kn_ctl_res_deployments = {"apps", "v1", "deployments", true};
const kc_resource kn_ctl_res_replicasets = {"apps", "v1", "replicasets", true};
const kc_resource kn_ctl_res_statefulsets = {"apps", "v1", "statefulsets", true};
const kc_resource kn_ctl_res_daemonsets = {"apps", "v1", "daemonsets", true};
const kc_resource kn_ctl_res_controllerrevisions = {"apps", "v1", "controllerrevisions", true};

/* ---- informers ------------------------------------------------------------------------ */

static char **one_value(const char *v)
{
    char **out = xcalloc(2, sizeof(char *));
    out[0] = xstrdup(v);
    return out;
}

static char **owner_index(const cJSON *obj, void *ud)
{
    (void)ud;
    const cJSON *refs = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(obj, "metadata"), "ownerReferences");
    int n = cJSON_GetArraySize(refs);
    char **out = xcalloc((size_t)n + 1, sizeof(char *));
    size_t i = 0;
    const cJSON *r;
    cJSON_ArrayForEach(r, refs)
    {
        const char *uid = kn_ctl_str(r, "uid");
        if (uid)
            out[i++] = xstrdup(uid);
    }
    return out;
}

static char **controller_index(const cJSON *obj, void *ud)
{
    (void)ud;
    const char *uid = kn_ctl_str(kn_ctl_controller_ref(obj), "uid");
    return uid ? one_value(uid) : NULL;
}

static char **node_index(const cJSON *obj, void *ud)
{
    (void)ud;
    const char *node = kn_ctl_str(obj, "spec.nodeName");
    return one_value(node ? node : "");
}

kc_informer *kn_ctl_informer(kn_ctl_ctx *ctx, const kc_resource *r)
{
    kc_informer *inf = kc_informer_factory_get(ctx->factory, r, NULL);
    pthread_mutex_lock(&ctx->lock);
    bool known = false;
    for (size_t i = 0; i < ctx->ninformers; i++)
        known = known || ctx->informers[i] == inf;
    if (!known && ctx->ninformers < sizeof(ctx->informers) / sizeof(ctx->informers[0])) {
        ctx->informers[ctx->ninformers++] = inf;
        kc_informer_add_index(inf, "owner", owner_index, NULL);
        kc_informer_add_index(inf, "controller", controller_index, NULL);
        if (strcmp(r->resource, "pods") == 0 && !r->group[0])
            kc_informer_add_index(inf, "node", node_index, NULL);
    }
    pthread_mutex_unlock(&ctx->lock);
    return inf;
}

/* ---- expectations ------------------------------------------------------------------------ */

#define EXPECT_TTL (5 * 60 * KN_NSEC_PER_SEC)

typedef struct expect_entry {
    char *key;
    int adds;
    char **dels; /* keys still awaited */
    size_t ndels;
    int64_t at;
} expect_entry;

struct kn_ctl_expect {
    pthread_mutex_t lock;
    expect_entry *v;
    size_t n, cap;
};

kn_ctl_expect *kn_ctl_expect_new(void)
{
    kn_ctl_expect *e = xcalloc(1, sizeof(*e));
    pthread_mutex_init(&e->lock, NULL);
    return e;
}

static void entry_clear(expect_entry *x)
{
    free(x->key);
    for (size_t i = 0; i < x->ndels; i++)
        free(x->dels[i]);
    free(x->dels);
    memset(x, 0, sizeof(*x));
}

void kn_ctl_expect_free(kn_ctl_expect *e)
{
    if (!e)
        return;
    for (size_t i = 0; i < e->n; i++)
        entry_clear(&e->v[i]);
    free(e->v);
    pthread_mutex_destroy(&e->lock);
    free(e);
}

/* The entry for key (lock held), created when create is set. */
static expect_entry *find(kn_ctl_expect *e, const char *key, bool create)
{
    for (size_t i = 0; i < e->n; i++) {
        if (strcmp(e->v[i].key, key) == 0)
            return &e->v[i];
    }
    if (!create)
        return NULL;
    if (e->n == e->cap) {
        e->cap = e->cap ? e->cap * 2 : 16;
        e->v = xreallocarray(e->v, e->cap, sizeof(*e->v));
    }
    expect_entry *x = &e->v[e->n++];
    memset(x, 0, sizeof(*x));
    x->key = xstrdup(key);
    return x;
}

static void remove_entry(kn_ctl_expect *e, expect_entry *x)
{
    entry_clear(x);
    *x = e->v[--e->n];
}

bool kn_ctl_expect_satisfied(kn_ctl_expect *e, const char *key)
{
    pthread_mutex_lock(&e->lock);
    expect_entry *x = find(e, key, false);
    bool ok = !x || (x->adds <= 0 && x->ndels == 0) || kn_time_monotonic_ns() - x->at > EXPECT_TTL;
    pthread_mutex_unlock(&e->lock);
    return ok;
}

void kn_ctl_expect_creations(kn_ctl_expect *e, const char *key, int n)
{
    pthread_mutex_lock(&e->lock);
    expect_entry *x = find(e, key, true);
    x->adds = n;
    x->at = kn_time_monotonic_ns();
    pthread_mutex_unlock(&e->lock);
}

void kn_ctl_expect_deletions(kn_ctl_expect *e, const char *key, char *const *del_keys, size_t n)
{
    pthread_mutex_lock(&e->lock);
    expect_entry *x = find(e, key, true);
    for (size_t i = 0; i < x->ndels; i++)
        free(x->dels[i]);
    free(x->dels);
    x->dels = xcalloc(n + 1, sizeof(char *));
    for (size_t i = 0; i < n; i++)
        x->dels[i] = xstrdup(del_keys[i]);
    x->ndels = n;
    x->at = kn_time_monotonic_ns();
    pthread_mutex_unlock(&e->lock);
}

void kn_ctl_expect_creation_observed(kn_ctl_expect *e, const char *key)
{
    pthread_mutex_lock(&e->lock);
    expect_entry *x = find(e, key, false);
    if (x && x->adds > 0)
        x->adds--;
    pthread_mutex_unlock(&e->lock);
}

void kn_ctl_expect_deletion_observed(kn_ctl_expect *e, const char *key, const char *del_key)
{
    pthread_mutex_lock(&e->lock);
    expect_entry *x = find(e, key, false);
    for (size_t i = 0; x && i < x->ndels; i++) {
        if (strcmp(x->dels[i], del_key) == 0) {
            free(x->dels[i]);
            x->dels[i] = x->dels[--x->ndels];
            break;
        }
    }
    pthread_mutex_unlock(&e->lock);
}

void kn_ctl_expect_delete(kn_ctl_expect *e, const char *key)
{
    pthread_mutex_lock(&e->lock);
    expect_entry *x = find(e, key, false);
    if (x)
        remove_entry(e, x);
    pthread_mutex_unlock(&e->lock);
}

/* ---- object helpers -------------------------------------------------------------------------- */

const char *kn_ctl_str(const cJSON *obj, const char *path)
{
    const cJSON *v = NULL;
    if (!obj || kn_json_lookup(obj, path, &v, NULL) <= 0)
        return NULL;
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

int64_t kn_ctl_int(const cJSON *obj, const char *path, int64_t def)
{
    const cJSON *v = NULL;
    if (!obj || kn_json_lookup(obj, path, &v, NULL) <= 0 || !cJSON_IsNumber(v))
        return def;
    return (int64_t)v->valuedouble;
}

const cJSON *kn_ctl_controller_ref(const cJSON *obj)
{
    const cJSON *refs = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(obj, "metadata"), "ownerReferences");
    const cJSON *r;
    cJSON_ArrayForEach(r, refs)
    {
        if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "controller")))
            return r;
    }
    return NULL;
}

cJSON *kn_ctl_owner_ref(const char *api_version, const char *kind, const char *name,
                        const char *uid, bool controller)
{
    cJSON *r = cJSON_CreateObject();
    cJSON_AddStringToObject(r, "apiVersion", api_version);
    cJSON_AddStringToObject(r, "kind", kind);
    cJSON_AddStringToObject(r, "name", name);
    cJSON_AddStringToObject(r, "uid", uid);
    if (controller) {
        cJSON_AddBoolToObject(r, "controller", true);
        cJSON_AddBoolToObject(r, "blockOwnerDeletion", true);
    }
    return r;
}

kn_label_selector *kn_ctl_selector(const cJSON *obj, const char *path)
{
    const cJSON *sel = NULL;
    if (kn_json_lookup(obj, path, &sel, NULL) <= 0)
        return NULL;
    kn_label_selector *s = NULL;
    if (kn_label_selector_from_json(sel, path, &s, NULL) < 0)
        return NULL;
    return s;
}

static const char *label_lookup(void *ud, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(ud, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

bool kn_ctl_labels_match(const kn_label_selector *sel, const cJSON *obj)
{
    const cJSON *labels = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(obj, "metadata"), "labels");
    return sel && kn_label_selector_matches_fn(sel, label_lookup, (void *)labels);
}

bool kn_ctl_labels_contain(const cJSON *obj, const cJSON *want)
{
    const cJSON *labels = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(obj, "metadata"), "labels");
    const cJSON *kv;
    cJSON_ArrayForEach(kv, want)
    {
        const char *have = label_lookup((void *)labels, kv->string);
        if (!cJSON_IsString(kv) || !have || strcmp(have, kv->valuestring) != 0)
            return false;
    }
    return true;
}

const cJSON *kn_ctl_condition(const cJSON *obj, const char *type)
{
    const cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(
                              cJSON_GetObjectItemCaseSensitive(obj, "status"), "conditions"))
    {
        const char *t = kn_ctl_str(c, "type");
        if (t && strcmp(t, type) == 0)
            return c;
    }
    return NULL;
}

static bool same_str(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "") == 0;
}

static cJSON *condition_in(cJSON *arr, const char *type)
{
    cJSON *c;
    cJSON_ArrayForEach(c, arr)
    {
        if (same_str(kn_ctl_str(c, "type"), type))
            return c;
    }
    return NULL;
}

bool kn_ctl_set_condition(cJSON *status, const char *type, const char *cstatus, const char *reason,
                          const char *message, bool with_update_time)
{
    cJSON *arr = cJSON_GetObjectItemCaseSensitive(status, "conditions");
    if (!cJSON_IsArray(arr)) {
        arr = cJSON_CreateArray();
        kn_ctl_set(status, "conditions", arr);
    }
    cJSON *old = condition_in(arr, type);
    if (old && same_str(kn_ctl_str(old, "status"), cstatus) &&
        same_str(kn_ctl_str(old, "reason"), reason) &&
        same_str(kn_ctl_str(old, "message"), message))
        return false;
    char now[32];
    kn_ctl_now(now);
    cJSON *c = cJSON_CreateObject();
    cJSON_AddStringToObject(c, "type", type);
    cJSON_AddStringToObject(c, "status", cstatus);
    if (with_update_time)
        cJSON_AddStringToObject(c, "lastUpdateTime", now);
    const char *ltt = old && same_str(kn_ctl_str(old, "status"), cstatus)
                          ? kn_ctl_str(old, "lastTransitionTime")
                          : NULL;
    cJSON_AddStringToObject(c, "lastTransitionTime", ltt ? ltt : now);
    if (reason)
        cJSON_AddStringToObject(c, "reason", reason);
    if (message)
        cJSON_AddStringToObject(c, "message", message);
    if (old)
        cJSON_ReplaceItemViaPointer(arr, old, c);
    else
        cJSON_AddItemToArray(arr, c);
    return true;
}

bool kn_ctl_pod_active(const cJSON *pod)
{
    const char *phase = kn_ctl_str(pod, "status.phase");
    return !kn_meta_str(pod, "deletionTimestamp") && !same_str(phase, "Succeeded") &&
           !same_str(phase, "Failed");
}

bool kn_ctl_pod_ready(const cJSON *pod)
{
    return same_str(kn_ctl_str(kn_ctl_condition(pod, "Ready"), "status"), "True");
}

bool kn_ctl_pod_available(const cJSON *pod, int64_t min_ready_s, int64_t now_ns)
{
    if (!kn_ctl_pod_ready(pod))
        return false;
    if (min_ready_s <= 0)
        return true;
    const char *ltt = kn_ctl_str(kn_ctl_condition(pod, "Ready"), "lastTransitionTime");
    int64_t t = ltt ? kn_rfc3339_parse(ltt) : -1;
    return t >= 0 && t + min_ready_s * KN_NSEC_PER_SEC < now_ns;
}

void kn_ctl_now(char buf[32])
{
    kn_rfc3339(0, buf, 32);
}

void kn_ctl_set(cJSON *obj, const char *key, cJSON *item)
{
    if (cJSON_GetObjectItemCaseSensitive(obj, key))
        cJSON_ReplaceItemInObjectCaseSensitive(obj, key, item);
    else
        cJSON_AddItemToObject(obj, key, item);
}

cJSON *kn_ctl_obj(cJSON *obj, const char *key)
{
    cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (cJSON_IsObject(v))
        return v;
    v = cJSON_CreateObject();
    kn_ctl_set(obj, key, v);
    return v;
}

void kn_ctl_split_key(const char *key, char ns[256], char name[256])
{
    const char *slash = strchr(key, '/');
    if (!slash) {
        ns[0] = '\0';
        snprintf(name, 256, "%s", key);
        return;
    }
    snprintf(ns, 256, "%.*s", (int)(slash - key), key);
    snprintf(name, 256, "%s", slash + 1);
}

int kn_ctl_delete(kn_ctl_ctx *ctx, const kc_resource *r, const char *ns, const char *name,
                  const char *uid, const char *propagation, kn_error **err)
{
    kn_buf path = KN_BUF_INIT;
    kc_resource_path(&path, r, ns, name, NULL);
    if (propagation)
        kn_buf_appendf(&path, "?propagationPolicy=%s", propagation);
    cJSON *body = cJSON_CreateObject();
    cJSON_AddStringToObject(body, "kind", "DeleteOptions");
    cJSON_AddStringToObject(body, "apiVersion", "v1");
    if (propagation)
        cJSON_AddStringToObject(body, "propagationPolicy", propagation);
    if (uid)
        cJSON_AddStringToObject(cJSON_AddObjectToObject(body, "preconditions"), "uid", uid);
    char *text = kn_json_print(body);
    kc_request req = {.method = "DELETE",
                      .path = path.data,
                      .content_type = "application/json",
                      .body = text,
                      .body_len = strlen(text)};
    kc_response resp = {0};
    int rc = kc_client_request(ctx->client, &req, &resp, err);
    if (rc == 0)
        kc_response_clear(&resp);
    else if (kn_error_code(*err) == KN_ENOTFOUND)
        rc = 0, kn_error_free(err);
    free(text);
    cJSON_Delete(body);
    kn_buf_free(&path);
    return rc;
}

/* ---- owning pods ---------------------------------------------------------------------------- */

void kn_ctl_objs_push(kn_ctl_objs *l, kc_obj *o)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 16;
        l->v = xreallocarray(l->v, l->cap, sizeof(*l->v));
    }
    l->v[l->n++] = kc_obj_ref(o);
}

void kn_ctl_objs_free(kn_ctl_objs *l)
{
    kc_objs_free(l->v, l->n);
    memset(l, 0, sizeof(*l));
}

kc_obj *kn_ctl_owner_of(kc_informer *owners, const char *kind, const cJSON *obj)
{
    const cJSON *ref = kn_ctl_controller_ref(obj);
    const char *k = kn_ctl_str(ref, "kind"), *name = kn_ctl_str(ref, "name");
    if (!k || strcmp(k, kind) != 0 || !name)
        return NULL;
    char *key = xasprintf("%s/%s", kn_meta_str(obj, "namespace"), name);
    kc_obj *o = kc_informer_get(owners, key);
    free(key);
    const char *uid = o ? kn_meta_str(kc_obj_json(o), "uid") : NULL;
    if (o && !same_str(uid, kn_ctl_str(ref, "uid"))) {
        kc_obj_unref(o);
        return NULL;
    }
    return o;
}

bool kn_ctl_can_adopt(kn_ctl_ctx *ctx, const kc_resource *r, const cJSON *owner)
{
    cJSON *fresh = NULL;
    if (kc_get(ctx->client, r, kn_meta_str(owner, "namespace"), kn_meta_str(owner, "name"), &fresh,
               NULL) < 0)
        return false;
    bool ok = same_str(kn_meta_str(fresh, "uid"), kn_meta_str(owner, "uid")) &&
              !kn_meta_str(fresh, "deletionTimestamp");
    cJSON_Delete(fresh);
    return ok;
}

int kn_ctl_patch_owner(kn_ctl_ctx *ctx, const kc_resource *r, const cJSON *obj, const char *kind,
                       const cJSON *owner, bool adopt, kn_error **err)
{
    const char *uid = kn_meta_str(owner, "uid");
    char *patch;
    if (adopt) {
        cJSON *ref = kn_ctl_owner_ref("apps/v1", kind, kn_meta_str(owner, "name"), uid, true);
        char *text = kn_json_print(ref);
        patch = xasprintf("{\"metadata\":{\"ownerReferences\":[%s],\"uid\":\"%s\"}}", text,
                          kn_meta_str(obj, "uid"));
        free(text);
        cJSON_Delete(ref);
    } else {
        patch = xasprintf("{\"metadata\":{\"ownerReferences\":[{\"$patch\":\"delete\",\"uid\":"
                          "\"%s\"}],\"uid\":\"%s\"}}",
                          uid, kn_meta_str(obj, "uid"));
    }
    int rc = kc_patch(ctx->client, r, kn_meta_str(obj, "namespace"), kn_meta_str(obj, "name"), NULL,
                      KC_PATCH_STRATEGIC, patch, NULL, err);
    free(patch);
    if (rc < 0 && kn_error_code(*err) == KN_ENOTFOUND) {
        kn_error_free(err);
        return 1; /* gone: neither ours nor anyone's */
    }
    return rc;
}

int kn_ctl_claim_pods(kn_ctl_ctx *ctx, kc_informer *pods, const kc_resource *owner_res,
                      const char *kind, const cJSON *owner, const kn_label_selector *sel,
                      bool active_only, kn_ctl_objs *out, kn_error **err)
{
    size_t n = 0;
    const char *ns = kn_meta_str(owner, "namespace"), *uid = kn_meta_str(owner, "uid");
    kc_obj **v = kc_informer_by_index(pods, "namespace", ns ? ns : "", &n);
    int adoptable = -1, r = 0;
    for (size_t i = 0; i < n && r >= 0; i++) {
        const cJSON *pod = kc_obj_json(v[i]);
        if (active_only && !kn_ctl_pod_active(pod))
            continue;
        const char *cuid = kn_ctl_str(kn_ctl_controller_ref(pod), "uid");
        bool match = kn_ctl_labels_match(sel, pod);
        if (cuid && same_str(cuid, uid)) {
            if (match)
                kn_ctl_objs_push(out, v[i]);
            else
                r = kn_ctl_patch_owner(ctx, &kc_res_pods, pod, kind, owner, false, err);
        } else if (!cuid && match && !kn_meta_str(owner, "deletionTimestamp") &&
                   !kn_meta_str(pod, "deletionTimestamp")) {
            if (adoptable < 0)
                adoptable = kn_ctl_can_adopt(ctx, owner_res, owner);
            if (adoptable &&
                (r = kn_ctl_patch_owner(ctx, &kc_res_pods, pod, kind, owner, true, err)) == 0)
                kn_ctl_objs_push(out, v[i]);
        }
    }
    kc_objs_free(v, n);
    return r < 0 ? r : 0;
}

void kn_ctl_enqueue_matching(kn_ctl_loop *l, kc_informer *owners, const cJSON *pod)
{
    size_t n = 0;
    const char *ns = kn_meta_str(pod, "namespace");
    kc_obj **v = kc_informer_by_index(owners, "namespace", ns ? ns : "", &n);
    for (size_t i = 0; i < n; i++) {
        kn_label_selector *sel = kn_ctl_selector(kc_obj_json(v[i]), "spec.selector");
        if (sel && !kn_label_selector_empty(sel) && kn_ctl_labels_match(sel, pod))
            kn_workqueue_add(l->queue, kc_obj_key(v[i]));
        kn_label_selector_free(sel);
    }
    kc_objs_free(v, n);
}

static void pod_deleted(kn_ctl_pod_watch *w, kc_obj *pod)
{
    kc_obj *owner = kn_ctl_owner_of(w->owners, w->kind, kc_obj_json(pod));
    if (!owner)
        return;
    if (w->exp)
        kn_ctl_expect_deletion_observed(w->exp, kc_obj_key(owner), kc_obj_key(pod));
    kn_workqueue_add(w->loop->queue, kc_obj_key(owner));
    kc_obj_unref(owner);
}

static void pod_add(kc_obj *o, void *ud)
{
    kn_ctl_pod_watch *w = ud;
    const cJSON *pod = kc_obj_json(o);
    if (kn_meta_str(pod, "deletionTimestamp")) {
        pod_deleted(w, o);
        return;
    }
    kc_obj *owner = kn_ctl_owner_of(w->owners, w->kind, pod);
    if (owner) {
        if (w->exp)
            kn_ctl_expect_creation_observed(w->exp, kc_obj_key(owner));
        kn_workqueue_add(w->loop->queue, kc_obj_key(owner));
        kc_obj_unref(owner);
    } else if (!kn_ctl_controller_ref(pod)) {
        kn_ctl_enqueue_matching(w->loop, w->owners, pod);
    }
}

static void enqueue_owner_or_matching(kn_ctl_pod_watch *w, const cJSON *pod)
{
    kc_obj *owner = kn_ctl_owner_of(w->owners, w->kind, pod);
    if (owner)
        kn_workqueue_add(w->loop->queue, kc_obj_key(owner));
    else if (!kn_ctl_controller_ref(pod))
        kn_ctl_enqueue_matching(w->loop, w->owners, pod);
    kc_obj_unref(owner);
}

static void pod_update(kc_obj *old, kc_obj *o, void *ud)
{
    kn_ctl_pod_watch *w = ud;
    const cJSON *a = kc_obj_json(old), *b = kc_obj_json(o);
    if (kn_meta_str(b, "deletionTimestamp") && !kn_meta_str(a, "deletionTimestamp")) {
        pod_deleted(w, o);
        return;
    }
    const cJSON *la = NULL, *lb = NULL;
    kn_json_lookup(a, "metadata.labels", &la, NULL);
    kn_json_lookup(b, "metadata.labels", &lb, NULL);
    if (!kn_json_equal(la, lb) ||
        !kn_json_equal(kn_ctl_controller_ref(a), kn_ctl_controller_ref(b)))
        enqueue_owner_or_matching(w, a);
    enqueue_owner_or_matching(w, b);
}

static void pod_delete(kc_obj *o, void *ud)
{
    pod_deleted(ud, o);
}

void kn_ctl_watch_pods(kc_informer *pods, kn_ctl_pod_watch *w)
{
    kc_informer_add_handlers(pods, &(kc_informer_handlers){pod_add, pod_update, pod_delete, w});
}

cJSON *kn_ctl_pod_from_template(const cJSON *tmpl, const char *kind, const cJSON *owner)
{
    const cJSON *tm = cJSON_GetObjectItemCaseSensitive(tmpl, "metadata");
    cJSON *pod = cJSON_CreateObject();
    cJSON_AddStringToObject(pod, "apiVersion", "v1");
    cJSON_AddStringToObject(pod, "kind", "Pod");
    cJSON *m = cJSON_AddObjectToObject(pod, "metadata");
    static const char *const keep[] = {"labels", "annotations", "finalizers", NULL};
    for (size_t i = 0; keep[i]; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(tm, keep[i]);
        if (v && !cJSON_IsNull(v))
            cJSON_AddItemToObject(m, keep[i], cJSON_Duplicate(v, 1));
    }
    cJSON *refs = cJSON_AddArrayToObject(m, "ownerReferences");
    cJSON_AddItemToArray(refs, kn_ctl_owner_ref("apps/v1", kind, kn_meta_str(owner, "name"),
                                                kn_meta_str(owner, "uid"), true));
    const cJSON *spec = cJSON_GetObjectItemCaseSensitive(tmpl, "spec");
    cJSON_AddItemToObject(pod, "spec", spec ? cJSON_Duplicate(spec, 1) : cJSON_CreateObject());
    return pod;
}

/* ---- controller revisions ---------------------------------------------------------------------
 */

static int by_revision(const void *a, const void *b)
{
    int64_t x = kn_ctl_int(kc_obj_json(*(kc_obj *const *)a), "revision", 0);
    int64_t y = kn_ctl_int(kc_obj_json(*(kc_obj *const *)b), "revision", 0);
    return x < y ? -1 : x > y;
}

/* set's revisions (references), oldest revision first. */
static kc_obj **revisions_of(kc_informer *revs, const cJSON *set, size_t *n)
{
    const char *uid = kn_meta_str(set, "uid");
    kc_obj **v = kc_informer_by_index(revs, "controller", uid ? uid : "", n);
    qsort(v, *n, sizeof(*v), by_revision);
    return v;
}

static cJSON *new_revision(const cJSON *set, const char *kind, const cJSON *tmpl, const char *name,
                           const char *hash, int64_t revision)
{
    cJSON *cr = cJSON_CreateObject();
    cJSON_AddStringToObject(cr, "apiVersion", "apps/v1");
    cJSON_AddStringToObject(cr, "kind", "ControllerRevision");
    cJSON *m = cJSON_AddObjectToObject(cr, "metadata");
    cJSON_AddStringToObject(m, "name", name);
    cJSON_AddStringToObject(m, "namespace", kn_meta_str(set, "namespace"));
    const cJSON *labels = NULL;
    kn_json_lookup(tmpl, "metadata.labels", &labels, NULL);
    cJSON *l = cJSON_IsObject(labels) ? cJSON_Duplicate(labels, 1) : cJSON_CreateObject();
    kn_ctl_set(l, KN_CTL_REVISION_LABEL, cJSON_CreateString(hash));
    cJSON_AddItemToObject(m, "labels", l);
    cJSON_AddItemToArray(
        cJSON_AddArrayToObject(m, "ownerReferences"),
        kn_ctl_owner_ref("apps/v1", kind, kn_meta_str(set, "name"), kn_meta_str(set, "uid"), true));
    cJSON *t = cJSON_Duplicate(tmpl, 1);
    cJSON_AddStringToObject(t, "$patch", "replace");
    cJSON_AddItemToObject(cJSON_AddObjectToObject(cJSON_AddObjectToObject(cr, "data"), "spec"),
                          "template", t);
    cJSON_AddNumberToObject(cr, "revision", (double)revision);
    return cr;
}

/* The template a revision holds (borrowed), or NULL. */
static const cJSON *stored_template(const cJSON *cr)
{
    const cJSON *t = NULL;
    kn_json_lookup(cr, "data.spec.template", &t, NULL);
    return cJSON_IsObject(t) ? t : NULL;
}

static bool holds_owner(const cJSON *cr, const cJSON *set)
{
    return same_str(kn_ctl_str(kn_ctl_controller_ref(cr), "uid"), kn_meta_str(set, "uid"));
}

static bool holds(const cJSON *cr, const cJSON *set, const cJSON *tmpl)
{
    const cJSON *t = stored_template(cr);
    if (!t || !holds_owner(cr, set))
        return false;
    cJSON *a = cJSON_Duplicate(t, 1);
    cJSON_DeleteItemFromObjectCaseSensitive(a, "$patch");
    bool eq = kn_json_equal(a, tmpl);
    cJSON_Delete(a);
    return eq;
}

/* Renumbers an existing revision to revision (a rollback to it). */
static int renumber(kn_ctl_ctx *ctx, const cJSON *cr, int64_t revision, kn_error **err)
{
    char *patch = xasprintf("{\"revision\":%lld}", (long long)revision);
    int r = kc_patch(ctx->client, &kn_ctl_res_controllerrevisions, kn_meta_str(cr, "namespace"),
                     kn_meta_str(cr, "name"), NULL, KC_PATCH_MERGE, patch, NULL, err);
    free(patch);
    return r;
}

/* Creates the revision; one already there with our template (the cache
 * was behind) is fine. */
static int create_revision(kn_ctl_ctx *ctx, const cJSON *set, const char *kind, const cJSON *tmpl,
                           const char *name, const char *hash, int64_t revision, kn_error **err)
{
    cJSON *cr = new_revision(set, kind, tmpl, name, hash, revision), *cur = NULL;
    const char *ns = kn_meta_str(set, "namespace");
    int r = kc_create(ctx->client, &kn_ctl_res_controllerrevisions, ns, cr, NULL, err);
    cJSON_Delete(cr);
    if (r < 0 && kn_error_code(*err) == KN_EEXIST &&
        kc_get(ctx->client, &kn_ctl_res_controllerrevisions, ns, name, &cur, NULL) == 0 &&
        holds(cur, set, tmpl)) {
        kn_error_free(err);
        r = 0;
    }
    cJSON_Delete(cur);
    return r;
}

int kn_ctl_revision_ensure(kn_ctl_ctx *ctx, kc_informer *revs, const cJSON *set, const char *kind,
                           const cJSON *tmpl, const char *hash, char **name, kn_error **err)
{
    char *want = xasprintf("%s-%s", kn_meta_str(set, "name"), hash);
    size_t n = 0;
    kc_obj **v = revisions_of(revs, set, &n);
    int64_t max = n ? kn_ctl_int(kc_obj_json(v[n - 1]), "revision", 0) : 0;
    const cJSON *found = NULL;
    for (size_t i = 0; i < n && !found; i++)
        if (same_str(kn_meta_str(kc_obj_json(v[i]), "name"), want))
            found = kc_obj_json(v[i]);
    int r = 0;
    if (found && !holds(found, set, tmpl))
        r = kn_error_set(err, KN_EEXIST, "controller revision %s holds another template", want);
    else if (found && kn_ctl_int(found, "revision", 0) < max)
        r = renumber(ctx, found, max + 1, err);
    else if (!found)
        r = create_revision(ctx, set, kind, tmpl, want, hash, max + 1, err);
    kc_objs_free(v, n);
    if (r < 0) {
        free(want);
        return kn_error_wrap(err, "controller revision");
    }
    *name = want;
    return 0;
}

cJSON *kn_ctl_revision_template(kc_informer *revs, const cJSON *set, const char *name)
{
    char *key = xasprintf("%s/%s", kn_meta_str(set, "namespace"), name);
    kc_obj *o = kc_informer_get(revs, key);
    free(key);
    cJSON *t = NULL;
    if (o && holds_owner(kc_obj_json(o), set) && stored_template(kc_obj_json(o))) {
        t = cJSON_Duplicate(stored_template(kc_obj_json(o)), 1);
        cJSON_DeleteItemFromObjectCaseSensitive(t, "$patch");
    }
    kc_obj_unref(o);
    return t;
}

static bool revision_in_use(const cJSON *cr, const char *const *keep, size_t nkeep,
                            const kn_ctl_objs *pods)
{
    const char *name = kn_meta_str(cr, "name");
    const char *hash = kn_ctl_str(cr, "metadata.labels[\"" KN_CTL_REVISION_LABEL "\"]");
    for (size_t i = 0; i < nkeep; i++)
        if (same_str(keep[i], name))
            return true;
    for (size_t i = 0; i < pods->n; i++) {
        const char *h =
            kn_ctl_str(kc_obj_json(pods->v[i]), "metadata.labels[\"" KN_CTL_REVISION_LABEL "\"]");
        if (h && (same_str(h, hash) || same_str(h, name)))
            return true;
    }
    return false;
}

int kn_ctl_revision_truncate(kn_ctl_ctx *ctx, kc_informer *revs, const cJSON *set,
                             const char *const *keep, size_t nkeep, const kn_ctl_objs *pods,
                             kn_error **err)
{
    size_t n = 0;
    kc_obj **v = revisions_of(revs, set, &n);
    size_t limit = (size_t)kn_ctl_int(set, "spec.revisionHistoryLimit", 10), unused = 0;
    for (size_t i = 0; i < n; i++)
        unused += !revision_in_use(kc_obj_json(v[i]), keep, nkeep, pods);
    int r = 0;
    for (size_t i = 0; i < n && unused > limit && r == 0; i++) {
        const cJSON *cr = kc_obj_json(v[i]);
        if (revision_in_use(cr, keep, nkeep, pods))
            continue;
        r = kn_ctl_delete(ctx, &kn_ctl_res_controllerrevisions, kn_meta_str(cr, "namespace"),
                          kn_meta_str(cr, "name"), kn_meta_str(cr, "uid"), NULL, err);
        unused--;
    }
    kc_objs_free(v, n);
    return r;
}

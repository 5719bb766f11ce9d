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

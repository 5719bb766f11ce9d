/* ctl-endpointslice.c - the EndpointSlice controller, with the legacy
 * Endpoints controller's work done in the same sync: for every Service
 * with a selector, the discovery.k8s.io/v1 EndpointSlices (IPv4) labelled
 * kubernetes.io/service-name and endpointslice.kubernetes.io/managed-by,
 * owned by the Service, and the core/v1 Endpoints of the same name follow
 * the pods the selector matches (contents: ctl-endpoints.h). Existing
 * slices are updated in place where their ports match, so consumers see
 * few deletions. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controlplane/ctl-endpoints.h"
#include "controlplane/ctl-internal.h"
#include "controlplane/objmeta.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/xalloc.h"

#define L_SERVICE "kubernetes.io/service-name"
#define L_MANAGED "endpointslice.kubernetes.io/managed-by"
#define L_HEADLESS "service.kubernetes.io/headless"
#define L_SKIP_MIRROR "endpointslice.kubernetes.io/skip-mirror"

typedef struct epc {
    kn_ctl_ctx *ctx;
    kc_informer *svcs, *pods, *slices, *endpoints, *nodes;
    kn_ctl_loop loop;
} epc;

static bool same(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "") == 0;
}

static const cJSON *selector_of(const cJSON *svc)
{
    const cJSON *sel = NULL;
    kn_json_lookup(svc, "spec.selector", &sel, NULL);
    return cJSON_IsObject(sel) ? sel : NULL;
}

static bool managed(const cJSON *svc)
{
    return selector_of(svc) && !same(kn_ctl_str(svc, "spec.type"), "ExternalName");
}

/* ---- handlers ------------------------------------------------------------------------- */

static void enqueue_services_of(epc *c, const cJSON *pod)
{
    size_t n = 0;
    const char *ns = kn_meta_str(pod, "namespace");
    kc_obj **v = kc_informer_by_index(c->svcs, "namespace", ns ? ns : "", &n);
    for (size_t i = 0; i < n; i++) {
        const cJSON *sel = selector_of(kc_obj_json(v[i]));
        if (sel && kn_ctl_labels_contain(pod, sel))
            kn_workqueue_add(c->loop.queue, kc_obj_key(v[i]));
    }
    kc_objs_free(v, n);
}

static void svc_event(kc_obj *o, void *ud)
{
    epc *c = ud;
    kn_workqueue_add(c->loop.queue, kc_obj_key(o));
}

static void svc_update(kc_obj *old, kc_obj *o, void *ud)
{
    (void)old;
    svc_event(o, ud);
}

static void pod_event(kc_obj *o, void *ud)
{
    enqueue_services_of(ud, kc_obj_json(o));
}

static void pod_update(kc_obj *old, kc_obj *o, void *ud)
{
    const cJSON *la = NULL, *lb = NULL;
    kn_json_lookup(kc_obj_json(old), "metadata.labels", &la, NULL);
    kn_json_lookup(kc_obj_json(o), "metadata.labels", &lb, NULL);
    if (!kn_json_equal(la, lb))
        enqueue_services_of(ud, kc_obj_json(old));
    enqueue_services_of(ud, kc_obj_json(o));
}

static const char *label(const cJSON *obj, const char *key)
{
    const cJSON *l = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(obj, "metadata"),
                                         "labels"),
        key);
    return cJSON_IsString(l) ? l->valuestring : NULL;
}

static void slice_event(kc_obj *o, void *ud)
{
    epc *c = ud;
    const cJSON *s = kc_obj_json(o);
    if (!same(label(s, L_MANAGED), KN_CTL_SLICE_MANAGER) || !label(s, L_SERVICE))
        return;
    char *key = xasprintf("%s/%s", kn_meta_str(s, "namespace"), label(s, L_SERVICE));
    kn_workqueue_add(c->loop.queue, key);
    free(key);
}

static void slice_update(kc_obj *old, kc_obj *o, void *ud)
{
    (void)old;
    slice_event(o, ud);
}

static void endpoints_update(kc_obj *old, kc_obj *o, void *ud)
{
    (void)old;
    svc_event(o, ud);
}

/* ---- desired objects ------------------------------------------------------------------ */

static const char *zone_of(void *ud, const char *node)
{
    epc *c = ud;
    kc_obj *n = kc_informer_get(c->nodes, node);
    /* a node's labels live as long as the cache keeps it; copy out */
    static __thread char zone[128];
    const char *z = n ? label(kc_obj_json(n), "topology.kubernetes.io/zone") : NULL;
    if (z)
        snprintf(zone, sizeof(zone), "%s", z);
    kc_obj_unref(n);
    return z ? zone : NULL;
}

/* The Service's labels plus the controller's own. */
static cJSON *labels_for(const cJSON *svc, bool slice)
{
    const cJSON *sl = NULL, *kv;
    kn_json_lookup(svc, "metadata.labels", &sl, NULL);
    cJSON *l = cJSON_CreateObject();
    cJSON_ArrayForEach(kv, sl)
    {
        if (cJSON_IsString(kv) && strcmp(kv->string, L_SERVICE) && strcmp(kv->string, L_MANAGED) &&
            strcmp(kv->string, L_HEADLESS))
            cJSON_AddStringToObject(l, kv->string, kv->valuestring);
    }
    if (same(kn_ctl_str(svc, "spec.clusterIP"), "None"))
        cJSON_AddStringToObject(l, L_HEADLESS, "");
    if (slice) {
        cJSON_AddStringToObject(l, L_SERVICE, kn_meta_str(svc, "name"));
        cJSON_AddStringToObject(l, L_MANAGED, KN_CTL_SLICE_MANAGER);
    } else {
        cJSON_AddStringToObject(l, L_SKIP_MIRROR, "true");
    }
    return l;
}

/* The slice for group g; existing (may be NULL) gives name and version. */
static cJSON *build_slice(const cJSON *svc, const cJSON *g, const cJSON *existing)
{
    cJSON *s = cJSON_CreateObject();
    cJSON_AddStringToObject(s, "apiVersion", "discovery.k8s.io/v1");
    cJSON_AddStringToObject(s, "kind", "EndpointSlice");
    cJSON *m = existing ? cJSON_Duplicate(cJSON_GetObjectItem(existing, "metadata"), 1)
                        : cJSON_CreateObject();
    cJSON_AddItemToObject(s, "metadata", m);
    if (!existing) {
        char *prefix = xasprintf("%s-", kn_meta_str(svc, "name"));
        cJSON_AddStringToObject(m, "generateName", prefix);
        free(prefix);
        cJSON_AddStringToObject(m, "namespace", kn_meta_str(svc, "namespace"));
    }
    kn_ctl_set(m, "labels", labels_for(svc, true));
    cJSON *refs = cJSON_CreateArray();
    cJSON_AddItemToArray(refs, kn_ctl_owner_ref("v1", "Service", kn_meta_str(svc, "name"),
                                                kn_meta_str(svc, "uid"), true));
    kn_ctl_set(m, "ownerReferences", refs);
    cJSON_AddStringToObject(s, "addressType", "IPv4");
    cJSON_AddItemToObject(s, "endpoints", cJSON_Duplicate(cJSON_GetObjectItem(g, "endpoints"), 1));
    cJSON_AddItemToObject(s, "ports", cJSON_Duplicate(cJSON_GetObjectItem(g, "ports"), 1));
    return s;
}

static const cJSON *array_or_empty(const cJSON *obj, const char *key, const cJSON *empty)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsArray(v) ? v : empty;
}

static bool slice_differs(const cJSON *want, const cJSON *have)
{
    cJSON *empty = cJSON_CreateArray();
    bool d = !kn_json_equal(array_or_empty(want, "endpoints", empty),
                            array_or_empty(have, "endpoints", empty)) ||
             !kn_json_equal(array_or_empty(want, "ports", empty),
                            array_or_empty(have, "ports", empty)) ||
             !kn_json_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(want, "metadata"), "labels"),
                            cJSON_GetObjectItem(cJSON_GetObjectItem(have, "metadata"), "labels")) ||
             !kn_json_equal(
                 cJSON_GetObjectItem(cJSON_GetObjectItem(want, "metadata"), "ownerReferences"),
                 cJSON_GetObjectItem(cJSON_GetObjectItem(have, "metadata"), "ownerReferences"));
    cJSON_Delete(empty);
    return d;
}

/* ---- reconcile ---------------------------------------------------------------------------- */

/* The slices of svc this controller owns. */
static kc_obj **owned_slices(epc *c, const cJSON *svc, size_t *n)
{
    size_t all = 0, k = 0;
    kc_obj **v = kc_informer_by_index(c->slices, "namespace", kn_meta_str(svc, "namespace"), &all);
    for (size_t i = 0; i < all; i++) {
        const cJSON *s = kc_obj_json(v[i]);
        if (same(label(s, L_SERVICE), kn_meta_str(svc, "name")) &&
            same(label(s, L_MANAGED), KN_CTL_SLICE_MANAGER) &&
            same(kn_ctl_str(kn_ctl_controller_ref(s), "uid"), kn_meta_str(svc, "uid")))
            v[k++] = v[i];
        else
            kc_obj_unref(v[i]);
    }
    *n = k;
    return v;
}

static int write_slice(epc *c, const cJSON *svc, const cJSON *g, const cJSON *have, kn_error **err)
{
    cJSON *want = build_slice(svc, g, have);
    int r = 0;
    const char *ns = kn_meta_str(svc, "namespace");
    if (!have)
        r = kc_create(c->ctx->client, &kc_res_endpointslices, ns, want, NULL, err);
    else if (slice_differs(want, have))
        r = kc_update(c->ctx->client, &kc_res_endpointslices, ns, NULL, want, NULL, err);
    cJSON_Delete(want);
    return r;
}

static int reconcile_slices(epc *c, const cJSON *svc, const cJSON *groups, kn_error **err)
{
    size_t n = 0;
    kc_obj **have = owned_slices(c, svc, &n);
    bool *used = xcalloc(n + 1, sizeof(bool));
    int r = 0;
    const cJSON *g;
    cJSON *empty = cJSON_CreateArray();
    cJSON_ArrayForEach(g, groups)
    {
        const cJSON *match = NULL;
        for (size_t i = 0; i < n && !match; i++) {
            if (!used[i] && kn_json_equal(array_or_empty(kc_obj_json(have[i]), "ports", empty),
                                          cJSON_GetObjectItem(g, "ports"))) {
                used[i] = true;
                match = kc_obj_json(have[i]);
            }
        }
        if (r == 0)
            r = write_slice(c, svc, g, match, err);
    }
    for (size_t i = 0; i < n && r == 0; i++) {
        if (!used[i] &&
            kc_delete(c->ctx->client, &kc_res_endpointslices, kn_meta_str(svc, "namespace"),
                      kn_meta_str(kc_obj_json(have[i]), "name"), NULL, NULL, err) < 0) {
            r = kn_error_code(*err) == KN_ENOTFOUND ? 0 : -1;
            if (r == 0)
                kn_error_free(err);
        }
    }
    cJSON_Delete(empty);
    free(used);
    kc_objs_free(have, n);
    return r < 0 ? kn_error_wrap(err, "endpointslices") : 0;
}

static int reconcile_endpoints(epc *c, const char *key, const cJSON *svc, cJSON *subsets,
                               kn_error **err)
{
    kc_obj *have = kc_informer_get(c->endpoints, key);
    cJSON *want = cJSON_CreateObject();
    cJSON_AddStringToObject(want, "apiVersion", "v1");
    cJSON_AddStringToObject(want, "kind", "Endpoints");
    const cJSON *hm = have ? cJSON_GetObjectItem(kc_obj_json(have), "metadata") : NULL;
    cJSON *m = hm ? cJSON_Duplicate(hm, 1) : cJSON_CreateObject();
    cJSON_AddItemToObject(want, "metadata", m);
    kn_ctl_set(m, "name", cJSON_CreateString(kn_meta_str(svc, "name")));
    kn_ctl_set(m, "namespace", cJSON_CreateString(kn_meta_str(svc, "namespace")));
    kn_ctl_set(m, "labels", labels_for(svc, false));
    cJSON_AddItemToObject(want, "subsets", subsets);
    int r = 0;
    const char *ns = kn_meta_str(svc, "namespace");
    if (!have) {
        r = kc_create(c->ctx->client, &kc_res_endpoints, ns, want, NULL, err);
    } else {
        cJSON *empty = cJSON_CreateArray();
        const cJSON *hs = array_or_empty(kc_obj_json(have), "subsets", empty);
        if (!kn_json_equal(hs, subsets) ||
            !kn_json_equal(cJSON_GetObjectItem(hm, "labels"), cJSON_GetObjectItem(m, "labels")))
            r = kc_update(c->ctx->client, &kc_res_endpoints, ns, NULL, want, NULL, err);
        cJSON_Delete(empty);
    }
    cJSON_Delete(want);
    kc_obj_unref(have);
    return r < 0 ? kn_error_wrap(err, "endpoints") : 0;
}

/* The pods the Service selects (*nsel of them, sorted by key); *refs holds
 * the references (*nrefs) to release. */
static const cJSON **selected_pods(epc *c, const cJSON *svc, kc_obj ***refs, size_t *nrefs,
                                   size_t *nsel)
{
    kc_obj **v = kc_informer_by_index(c->pods, "namespace", kn_meta_str(svc, "namespace"), nrefs);
    const cJSON **pods = xcalloc(*nrefs + 1, sizeof(*pods));
    const cJSON *sel = selector_of(svc);
    *nsel = 0;
    for (size_t i = 0; i < *nrefs; i++) {
        if (kn_ctl_labels_contain(kc_obj_json(v[i]), sel))
            pods[(*nsel)++] = kc_obj_json(v[i]);
    }
    *refs = v;
    return pods;
}

/* The Service is gone: so are the Endpoints this controller wrote. */
static int service_gone(epc *c, const char *key, kn_error **err)
{
    kc_obj *ep = kc_informer_get(c->endpoints, key);
    char ns[256], name[256];
    kn_ctl_split_key(key, ns, name);
    int r = 0;
    if (ep && same(label(kc_obj_json(ep), L_SKIP_MIRROR), "true"))
        r = kc_delete(c->ctx->client, &kc_res_endpoints, ns, name, NULL, NULL, err);
    kc_obj_unref(ep);
    if (r < 0 && kn_error_code(*err) == KN_ENOTFOUND) {
        kn_error_free(err);
        r = 0;
    }
    return r;
}

static int sync_service(void *ud, const char *key, kn_error **err)
{
    epc *c = ud;
    kc_obj *o = kc_informer_get(c->svcs, key);
    if (!o)
        return service_gone(c, key, err);
    const cJSON *svc = kc_obj_json(o);
    int r = 0;
    if (managed(svc) && !kn_meta_str(svc, "deletionTimestamp")) {
        kc_obj **refs = NULL;
        size_t nrefs = 0, n = 0;
        const cJSON **pods = selected_pods(c, svc, &refs, &nrefs, &n);
        cJSON *groups = kn_ctl_slice_groups(svc, pods, n, zone_of, c);
        r = reconcile_slices(c, svc, groups, err);
        cJSON_Delete(groups);
        if (r == 0)
            r = reconcile_endpoints(c, key, svc, kn_ctl_endpoints_subsets(svc, pods, n), err);
        free(pods);
        kc_objs_free(refs, nrefs);
    }
    kc_obj_unref(o);
    return r;
}

/* ---- lifecycle ---------------------------------------------------------------------------- */

static void *epc_create(kn_ctl_ctx *ctx)
{
    epc *c = xcalloc(1, sizeof(*c));
    c->ctx = ctx;
    kn_ctl_loop_init(&c->loop, ctx, "endpointslice", sync_service, c, NULL);
    c->svcs = kn_ctl_informer(ctx, &kc_res_services);
    c->pods = kn_ctl_informer(ctx, &kc_res_pods);
    c->slices = kn_ctl_informer(ctx, &kc_res_endpointslices);
    c->endpoints = kn_ctl_informer(ctx, &kc_res_endpoints);
    c->nodes = kn_ctl_informer(ctx, &kc_res_nodes);
    kc_informer_add_handlers(c->svcs, &(kc_informer_handlers){svc_event, svc_update, svc_event, c});
    kc_informer_add_handlers(c->pods, &(kc_informer_handlers){pod_event, pod_update, pod_event, c});
    kc_informer_add_handlers(c->slices,
                             &(kc_informer_handlers){NULL, slice_update, slice_event, c});
    kc_informer_add_handlers(c->endpoints,
                             &(kc_informer_handlers){NULL, endpoints_update, svc_event, c});
    return c;
}

static int epc_start(void *self, kn_error **err)
{
    epc *c = self;
    return kn_ctl_loop_start(&c->loop, 2, err);
}

static void epc_stop(void *self)
{
    epc *c = self;
    kn_ctl_loop_stop(&c->loop);
}

static void epc_destroy(void *self)
{
    epc *c = self;
    kn_ctl_loop_destroy(&c->loop);
    free(c);
}

const kn_ctl_def kn_ctl_endpointslice = {"endpointslice", epc_create, epc_start, epc_stop,
                                         epc_destroy};

/* ctl-namespace.c - the Namespace controller: a namespace being deleted
 * (deletionTimestamp, phase Terminating) has every namespaced object of
 * every discovered resource deleted (propagation Background), reports
 * progress in its status conditions as upstream does
 * (NamespaceContentRemaining, NamespaceFinalizersRemaining, ...), and once
 * nothing is left its "kubernetes" finalizer is removed through PUT
 * namespaces/NAME/finalize, upon which the API server removes it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controlplane/ctl-internal.h"
#include "controlplane/objmeta.h"
#include "lib/duration.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/strbuf.h"
#include "lib/xalloc.h"

#define RECHECK (2 * KN_NSEC_PER_SEC)

typedef struct nsc {
    kn_ctl_ctx *ctx;
    kc_informer *namespaces, *pods;
    kn_ctl_loop loop;
} nsc;

typedef struct gvr {
    char group[128], version[32], resource[128];
} gvr;

/* What one pass found left in the namespace. */
typedef struct leftover {
    kn_buf remaining;  /* "pods. has 2 resource instances, ..." */
    kn_buf finalizers; /* "example.com/f in 1 resource instances, ..." */
    kn_buf failures;
} leftover;

/* ---- discovery -------------------------------------------------------------------------- */

static int get_json(nsc *c, const char *path, cJSON **out, kn_error **err)
{
    kc_request req = {.method = "GET", .path = path};
    kc_response resp = {0};
    if (kc_client_request(c->ctx->client, &req, &resp, err) < 0)
        return -1;
    int r = kn_json_parse(resp.body.data, resp.body.len, 0, out, err);
    kc_response_clear(&resp);
    return r;
}

/* Adds the namespaced resources of a group version that can be listed and
 * deleted. */
static void add_resources(const cJSON *list, const char *group, const char *version, gvr **v,
                          size_t *n)
{
    const cJSON *r, *verb;
    cJSON_ArrayForEach(r, cJSON_GetObjectItem(list, "resources"))
    {
        const char *name = kn_ctl_str(r, "name");
        bool can_list = false, can_delete = false;
        cJSON_ArrayForEach(verb, cJSON_GetObjectItem(r, "verbs"))
        {
            can_list |= cJSON_IsString(verb) && strcmp(verb->valuestring, "list") == 0;
            can_delete |= cJSON_IsString(verb) && strcmp(verb->valuestring, "delete") == 0;
        }
        if (!name || strchr(name, '/') || !cJSON_IsTrue(cJSON_GetObjectItem(r, "namespaced")) ||
            !can_list || !can_delete)
            continue;
        *v = xreallocarray(*v, *n + 1, sizeof(**v));
        gvr *g = &(*v)[(*n)++];
        snprintf(g->group, sizeof(g->group), "%s", group);
        snprintf(g->version, sizeof(g->version), "%s", version);
        snprintf(g->resource, sizeof(g->resource), "%s", name);
    }
}

static int discover(nsc *c, gvr **out, size_t *n, kn_error **err)
{
    cJSON *core = NULL, *groups = NULL;
    *out = NULL;
    *n = 0;
    if (get_json(c, "/api/v1", &core, err) < 0 || get_json(c, "/apis", &groups, err) < 0) {
        cJSON_Delete(core);
        return kn_error_wrap(err, "discovery");
    }
    add_resources(core, "", "v1", out, n);
    const cJSON *g;
    int r = 0;
    cJSON_ArrayForEach(g, cJSON_GetObjectItem(groups, "groups"))
    {
        const char *gv = kn_ctl_str(g, "preferredVersion.groupVersion");
        const char *ver = kn_ctl_str(g, "preferredVersion.version");
        cJSON *list = NULL;
        char *path = xasprintf("/apis/%s", gv ? gv : "");
        if (gv && ver && (r = get_json(c, path, &list, err)) == 0)
            add_resources(list, kn_ctl_str(g, "name"), ver, out, n);
        free(path);
        cJSON_Delete(list);
        if (r < 0)
            break;
    }
    cJSON_Delete(core);
    cJSON_Delete(groups);
    return r < 0 ? kn_error_wrap(err, "discovery") : 0;
}

/* ---- deleting content ---------------------------------------------------------------------- */

static void note(kn_buf *b, const char *fmt, const char *what, size_t n)
{
    if (b->len)
        kn_buf_append_str(b, ", ");
    kn_buf_appendf(b, fmt, what, n);
}

/* Finalizers still on objects being deleted, counted into lo. */
static void count_finalizers(const cJSON *items, leftover *lo)
{
    const cJSON *it, *f;
    cJSON_ArrayForEach(it, items)
    {
        const cJSON *fins = NULL;
        kn_json_lookup(it, "metadata.finalizers", &fins, NULL);
        cJSON_ArrayForEach(f, fins)
        {
            if (cJSON_IsString(f))
                note(&lo->finalizers, "%s in %zu resource instances", f->valuestring, 1);
        }
    }
}

/* Deletes every object of one resource in ns; notes what is left. */
static void delete_resource(nsc *c, const char *ns, const gvr *g, leftover *lo)
{
    kc_resource r = {g->group, g->version, g->resource, true};
    cJSON *list = NULL;
    kn_error *err = NULL;
    if (kc_list_all(c->ctx->client, &r, ns, NULL, &list, &err) < 0) {
        kn_buf_appendf(&lo->failures, "%s%s", lo->failures.len ? ", " : "", kn_error_msg(err));
        kn_error_free(&err);
        return;
    }
    const cJSON *it;
    cJSON_ArrayForEach(it, cJSON_GetObjectItem(list, "items"))
    {
        if (kn_meta_str(it, "deletionTimestamp"))
            continue;
        if (kn_ctl_delete(c->ctx, &r, ns, kn_meta_str(it, "name"), kn_meta_str(it, "uid"),
                          "Background", &err) < 0 &&
            kn_error_code(err) != KN_ECONFLICT)
            kn_buf_appendf(&lo->failures, "%s%s", lo->failures.len ? ", " : "", kn_error_msg(err));
        kn_error_free(&err);
    }
    cJSON_Delete(list);
    list = NULL;
    if (kc_list_all(c->ctx->client, &r, ns, NULL, &list, &err) == 0) {
        size_t left = (size_t)cJSON_GetArraySize(cJSON_GetObjectItem(list, "items"));
        char what[300];
        snprintf(what, sizeof(what), "%s.%s", g->resource, g->group);
        if (left)
            note(&lo->remaining, "%s has %zu resource instances", what, left);
        count_finalizers(cJSON_GetObjectItem(list, "items"), lo);
    }
    kn_error_free(&err);
    cJSON_Delete(list);
}

/* ---- status and finalize -------------------------------------------------------------------- */

static void conditions(cJSON *st, const leftover *lo, const char *discovery_failure)
{
    kn_ctl_set_condition(
        st, "NamespaceDeletionDiscoveryFailure", discovery_failure ? "True" : "False",
        discovery_failure ? "DiscoveryFailed" : "ResourcesDiscovered",
        discovery_failure ? discovery_failure : "All resources successfully discovered", false);
    kn_ctl_set_condition(st, "NamespaceDeletionGroupVersionParsingFailure", "False",
                         "ParsedGroupVersions", "All legacy kube types successfully parsed", false);
    char *m = xasprintf("Failed to delete all resource types, %s", lo->failures.data);
    kn_ctl_set_condition(st, "NamespaceDeletionContentFailure", lo->failures.len ? "True" : "False",
                         lo->failures.len ? "ContentDeletionFailed" : "ContentDeleted",
                         lo->failures.len ? m
                                          : "All content successfully deleted, may be waiting on "
                                            "finalization",
                         false);
    free(m);
    m = xasprintf("Some resources are remaining: %s", lo->remaining.data);
    kn_ctl_set_condition(st, "NamespaceContentRemaining", lo->remaining.len ? "True" : "False",
                         lo->remaining.len ? "SomeResourcesRemain" : "ContentRemoved",
                         lo->remaining.len ? m : "All content successfully removed", false);
    free(m);
    m = xasprintf("Some content in the namespace has finalizers remaining: %s",
                  lo->finalizers.data);
    kn_ctl_set_condition(st, "NamespaceFinalizersRemaining", lo->finalizers.len ? "True" : "False",
                         lo->finalizers.len ? "SomeFinalizersRemain" : "ContentHasNoFinalizers",
                         lo->finalizers.len ? m : "All content-preserving finalizers finished",
                         false);
    free(m);
}

static int report(nsc *c, const cJSON *ns, const leftover *lo, const char *discovery_failure,
                  kn_error **err)
{
    cJSON *upd = cJSON_Duplicate(ns, 1);
    cJSON *st = kn_ctl_obj(upd, "status");
    conditions(st, lo, discovery_failure);
    int r = 0;
    if (!kn_json_equal(st, cJSON_GetObjectItem(ns, "status")))
        r = kc_update(c->ctx->client, &kc_res_namespaces, NULL, "status", upd, NULL, err);
    cJSON_Delete(upd);
    return r;
}

static int finalize(nsc *c, const cJSON *ns, kn_error **err)
{
    cJSON *upd = cJSON_Duplicate(ns, 1);
    cJSON *fins = cJSON_GetObjectItem(cJSON_GetObjectItem(upd, "spec"), "finalizers");
    cJSON *keep = cJSON_CreateArray(), *f;
    cJSON_ArrayForEach(f, fins)
    {
        if (!cJSON_IsString(f) || strcmp(f->valuestring, "kubernetes") != 0)
            cJSON_AddItemToArray(keep, cJSON_Duplicate(f, 1));
    }
    kn_ctl_set(kn_ctl_obj(upd, "spec"), "finalizers", keep);
    int r = kc_update(c->ctx->client, &kc_res_namespaces, NULL, "finalize", upd, NULL, err);
    cJSON_Delete(upd);
    if (r < 0 && kn_error_code(*err) == KN_ENOTFOUND) {
        kn_error_free(err);
        r = 0;
    }
    return r;
}

static bool has_kubernetes_finalizer(const cJSON *ns)
{
    const cJSON *f;
    cJSON_ArrayForEach(f, cJSON_GetObjectItem(cJSON_GetObjectItem(ns, "spec"), "finalizers"))
    {
        if (cJSON_IsString(f) && strcmp(f->valuestring, "kubernetes") == 0)
            return true;
    }
    return false;
}

static int sync_ns(void *ud, const char *key, kn_error **err)
{
    nsc *c = ud;
    kc_obj *o = kc_informer_get(c->namespaces, key);
    const cJSON *ns = o ? kc_obj_json(o) : NULL;
    if (!ns || !kn_meta_str(ns, "deletionTimestamp") || !has_kubernetes_finalizer(ns)) {
        kc_obj_unref(o);
        return 0;
    }
    leftover lo = {KN_BUF_INIT, KN_BUF_INIT, KN_BUF_INIT};
    gvr *res = NULL;
    size_t n = 0;
    kn_error *derr = NULL;
    int r = discover(c, &res, &n, &derr);
    for (size_t i = 0; r == 0 && i < n; i++)
        delete_resource(c, key, &res[i], &lo);
    bool done = r == 0 && !lo.remaining.len && !lo.failures.len;
    int rr = report(c, ns, &lo, r < 0 ? kn_error_msg(derr) : NULL, err);
    if (done && rr == 0)
        r = finalize(c, ns, err);
    else if (r < 0)
        r = kn_error_set(err, kn_error_code(derr), "%s", kn_error_msg(derr));
    else if (!done)
        kn_workqueue_add_after(c->loop.queue, key, RECHECK);
    KN_V(2, "controller", "namespace %s: %s", key,
         done               ? "finalized"
         : lo.remaining.len ? lo.remaining.data
                            : "retrying");
    kn_error_free(&derr);
    free(res);
    kn_buf_free(&lo.remaining);
    kn_buf_free(&lo.finalizers);
    kn_buf_free(&lo.failures);
    kc_obj_unref(o);
    return r < 0 ? r : rr;
}

/* ---- handlers and lifecycle -------------------------------------------------------------------
 */

static void ns_event(kc_obj *o, void *ud)
{
    nsc *c = ud;
    if (kn_meta_str(kc_obj_json(o), "deletionTimestamp"))
        kn_workqueue_add(c->loop.queue, kc_obj_key(o));
}

static void ns_update(kc_obj *old, kc_obj *o, void *ud)
{
    (void)old;
    ns_event(o, ud);
}

/* A pod of a terminating namespace went away: look again at once. */
static void pod_delete(kc_obj *o, void *ud)
{
    nsc *c = ud;
    const char *ns = kn_meta_str(kc_obj_json(o), "namespace");
    kc_obj *n = ns ? kc_informer_get(c->namespaces, ns) : NULL;
    if (n && kn_meta_str(kc_obj_json(n), "deletionTimestamp"))
        kn_workqueue_add(c->loop.queue, ns);
    kc_obj_unref(n);
}

static void *nsc_create(kn_ctl_ctx *ctx)
{
    nsc *c = xcalloc(1, sizeof(*c));
    c->ctx = ctx;
    kn_ctl_loop_init(&c->loop, ctx, "namespace", sync_ns, c, NULL);
    c->namespaces = kn_ctl_informer(ctx, &kc_res_namespaces);
    c->pods = kn_ctl_informer(ctx, &kc_res_pods);
    kc_informer_add_handlers(c->namespaces, &(kc_informer_handlers){ns_event, ns_update, NULL, c});
    kc_informer_add_handlers(c->pods, &(kc_informer_handlers){NULL, NULL, pod_delete, c});
    return c;
}

static int nsc_start(void *self, kn_error **err)
{
    nsc *c = self;
    return kn_ctl_loop_start(&c->loop, 2, err);
}

static void nsc_stop(void *self)
{
    nsc *c = self;
    kn_ctl_loop_stop(&c->loop);
}

static void nsc_destroy(void *self)
{
    nsc *c = self;
    kn_ctl_loop_destroy(&c->loop);
    free(c);
}

const kn_ctl_def kn_ctl_namespace = {"namespace", nsc_create, nsc_start, nsc_stop, nsc_destroy};

/* ctl-gc.c - the garbage collector (upstream pkg/controller/garbagecollector
 * semantics, over the shared informers instead of a separate graph):
 *
 *   - an object none of whose owners exists any more (by uid; a cache miss
 *     is confirmed with a live read) is deleted, with the propagation its
 *     own finalizers ask for (background by default); owners that are gone
 *     are dropped from the references of an object that still has a live
 *     owner;
 *   - an owner deleted with propagation Orphan (finalizer "orphan") has its
 *     dependents' references to it removed, then the finalizer;
 *   - an owner deleted with propagation Foreground (finalizer
 *     "foregroundDeletion") has its dependents deleted (foreground again
 *     when they have dependents themselves) and loses the finalizer once no
 *     dependent with blockOwnerDeletion is left.
 *
 * Work items are "a|<kind>|<key>" (attempt to delete) and "o|<kind>|<key>"
 * (orphan the dependents), <kind> an index into kinds[]. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controlplane/ctl-internal.h"
#include "controlplane/objmeta.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/xalloc.h"

#define F_ORPHAN "orphan"
#define F_FOREGROUND "foregroundDeletion"

typedef struct gc_kind {
    const kc_resource *r;
    const char *kind;
} gc_kind;

static const gc_kind kinds[] = {
    {&kc_res_pods, "Pod"},
    {&kc_res_services, "Service"},
    {&kc_res_endpoints, "Endpoints"},
    {&kc_res_endpointslices, "EndpointSlice"},
    {&kc_res_configmaps, "ConfigMap"},
    {&kc_res_secrets, "Secret"},
    {&kc_res_serviceaccounts, "ServiceAccount"},
    {&kc_res_nodes, "Node"},
    {&kc_res_leases, "Lease"},
    {&kn_ctl_res_deployments, "Deployment"},
    {&kn_ctl_res_replicasets, "ReplicaSet"},
    {&kn_ctl_res_statefulsets, "StatefulSet"},
    {&kn_ctl_res_daemonsets, "DaemonSet"},
    {&kn_ctl_res_controllerrevisions, "ControllerRevision"},
};

#define NKINDS (sizeof(kinds) / sizeof(kinds[0]))

typedef struct gc gc;

typedef struct gc_watch {
    gc *g;
    size_t idx;
} gc_watch;

struct gc {
    kn_ctl_ctx *ctx;
    kc_informer *inf[NKINDS];
    gc_watch watch[NKINDS];
    kn_ctl_loop loop;
};

typedef enum owner_state { SOLID, DANGLING, WAITING } owner_state;

static bool same(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "") == 0;
}

static const cJSON *refs_of(const cJSON *obj)
{
    return cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(obj, "metadata"),
                                            "ownerReferences");
}

static bool has_finalizer(const cJSON *obj, const char *f)
{
    const cJSON *x, *fins = NULL;
    kn_json_lookup(obj, "metadata.finalizers", &fins, NULL);
    cJSON_ArrayForEach(x, fins)
    {
        if (cJSON_IsString(x) && strcmp(x->valuestring, f) == 0)
            return true;
    }
    return false;
}

/* The kinds[] index of an ownerReference's apiVersion (group) and kind. */
static int kind_index(const cJSON *ref)
{
    const char *av = kn_ctl_str(ref, "apiVersion"), *kind = kn_ctl_str(ref, "kind");
    const char *slash = av ? strchr(av, '/') : NULL;
    size_t glen = slash ? (size_t)(slash - av) : 0;
    for (size_t i = 0; av && kind && i < NKINDS; i++) {
        const char *g = kinds[i].r->group;
        if (strcmp(kinds[i].kind, kind) == 0 && strlen(g) == glen && strncmp(g, av, glen) == 0)
            return (int)i;
    }
    return -1;
}

/* ---- queueing ------------------------------------------------------------------------------ */

static void enqueue(gc *g, char op, size_t idx, const cJSON *obj)
{
    char *key = kc_object_key(obj);
    if (!key)
        return;
    char *item = xasprintf("%c|%zu|%s", op, idx, key);
    kn_workqueue_add(g->loop.queue, item);
    free(item);
    free(key);
}

/* Calls fn for every cached object with an ownerReference to uid. */
static void for_each_dependent(gc *g, const char *uid, void (*fn)(gc *, size_t, kc_obj *, void *),
                               void *ud)
{
    for (size_t i = 0; uid && i < NKINDS; i++) {
        size_t n = 0;
        kc_obj **v = kc_informer_by_index(g->inf[i], "owner", uid, &n);
        for (size_t j = 0; j < n; j++)
            fn(g, i, v[j], ud);
        kc_objs_free(v, n);
    }
}

static void enqueue_dependent(gc *g, size_t idx, kc_obj *o, void *ud)
{
    (void)ud;
    enqueue(g, 'a', idx, kc_obj_json(o));
}

/* Queues the owners named in refs (they may be waiting for dependents). */
static void enqueue_owners(gc *g, const cJSON *obj)
{
    const cJSON *ref;
    cJSON_ArrayForEach(ref, refs_of(obj))
    {
        int k = kind_index(ref);
        const char *name = kn_ctl_str(ref, "name");
        if (k < 0 || !name)
            continue;
        const char *ns = kinds[k].r->namespaced ? kn_meta_str(obj, "namespace") : NULL;
        char *key = ns ? xasprintf("a|%d|%s/%s", k, ns, name) : xasprintf("a|%d|%s", k, name);
        kn_workqueue_add(g->loop.queue, key);
        free(key);
    }
}

static void observe(gc_watch *w, const cJSON *obj)
{
    if (kn_meta_str(obj, "deletionTimestamp")) {
        if (has_finalizer(obj, F_ORPHAN))
            enqueue(w->g, 'o', w->idx, obj);
        if (has_finalizer(obj, F_FOREGROUND))
            enqueue(w->g, 'a', w->idx, obj);
    }
}

static void on_add(kc_obj *o, void *ud)
{
    gc_watch *w = ud;
    const cJSON *obj = kc_obj_json(o);
    if (cJSON_GetArraySize(refs_of(obj)) > 0)
        enqueue(w->g, 'a', w->idx, obj);
    observe(w, obj);
}

static void on_update(kc_obj *old, kc_obj *o, void *ud)
{
    gc_watch *w = ud;
    const cJSON *a = kc_obj_json(old), *b = kc_obj_json(o);
    if (!kn_json_equal(refs_of(a), refs_of(b))) {
        enqueue(w->g, 'a', w->idx, b);
        enqueue_owners(w->g, a);
    }
    if (kn_meta_str(b, "deletionTimestamp") && !kn_meta_str(a, "deletionTimestamp") &&
        has_finalizer(b, F_FOREGROUND))
        for_each_dependent(w->g, kn_meta_str(b, "uid"), enqueue_dependent, NULL);
    observe(w, b);
}

static void on_delete(kc_obj *o, void *ud)
{
    gc_watch *w = ud;
    const cJSON *obj = kc_obj_json(o);
    for_each_dependent(w->g, kn_meta_str(obj, "uid"), enqueue_dependent, NULL);
    enqueue_owners(w->g, obj);
}

/* ---- writes ---------------------------------------------------------------------------------- */

static int patch(gc *g, size_t idx, const cJSON *obj, kc_patch_type type, const char *text,
                 kn_error **err)
{
    int r = kc_patch(g->ctx->client, kinds[idx].r, kn_meta_str(obj, "namespace"),
                     kn_meta_str(obj, "name"), NULL, type, text, NULL, err);
    if (r < 0 && kn_error_code(*err) == KN_ENOTFOUND) {
        kn_error_free(err);
        r = 0;
    }
    return r;
}

/* Removes finalizer f (guarded by the resourceVersion read). */
static int remove_finalizer(gc *g, size_t idx, const cJSON *obj, const char *f, kn_error **err)
{
    cJSON *p = cJSON_CreateObject();
    cJSON *m = cJSON_AddObjectToObject(p, "metadata");
    cJSON_AddStringToObject(m, "resourceVersion", kn_meta_str(obj, "resourceVersion"));
    cJSON *keep = cJSON_AddArrayToObject(m, "finalizers"), *x;
    const cJSON *fins = NULL;
    kn_json_lookup(obj, "metadata.finalizers", &fins, NULL);
    cJSON_ArrayForEach(x, fins)
    {
        if (!cJSON_IsString(x) || strcmp(x->valuestring, f) != 0)
            cJSON_AddItemToArray(keep, cJSON_Duplicate(x, 1));
    }
    char *text = kn_json_print(p);
    int r = patch(g, idx, obj, KC_PATCH_MERGE, text, err);
    free(text);
    cJSON_Delete(p);
    return r;
}

/* A strategic merge patch of ownerReferences: drop the refs whose uid is
 * in drop, unblock those in unblock. */
static int patch_refs(gc *g, size_t idx, const cJSON *obj, const cJSON *drop, const cJSON *unblock,
                      kn_error **err)
{
    cJSON *p = cJSON_CreateObject();
    cJSON *m = cJSON_AddObjectToObject(p, "metadata");
    cJSON *refs = cJSON_AddArrayToObject(m, "ownerReferences"), *x;
    cJSON_ArrayForEach(x, drop)
    {
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "$patch", "delete");
        cJSON_AddStringToObject(e, "uid", x->valuestring);
        cJSON_AddItemToArray(refs, e);
    }
    cJSON_ArrayForEach(x, unblock)
    {
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "uid", x->valuestring);
        cJSON_AddBoolToObject(e, "blockOwnerDeletion", false);
        cJSON_AddItemToArray(refs, e);
    }
    cJSON_AddStringToObject(m, "uid", kn_meta_str(obj, "uid"));
    char *text = kn_json_print(p);
    int r = patch(g, idx, obj, KC_PATCH_STRATEGIC, text, err);
    free(text);
    cJSON_Delete(p);
    return r;
}

static int delete_item(gc *g, size_t idx, const cJSON *obj, const char *policy, kn_error **err)
{
    if (kn_log_v(2)) {
        char *key = kc_object_key(obj);
        KN_INFO("gc", "deleting %s %s (propagation %s)", kinds[idx].kind, key, policy);
        free(key);
    }
    int r = kn_ctl_delete(g->ctx, kinds[idx].r, kn_meta_str(obj, "namespace"),
                          kn_meta_str(obj, "name"), kn_meta_str(obj, "uid"), policy, err);
    if (r < 0 && kn_error_code(*err) == KN_ECONFLICT) { /* uid changed: a new object */
        kn_error_free(err);
        r = 0;
    }
    return r;
}

/* ---- owners -------------------------------------------------------------------------------- */

static owner_state state_of(const cJSON *owner)
{
    return kn_meta_str(owner, "deletionTimestamp") && has_finalizer(owner, F_FOREGROUND) ? WAITING
                                                                                         : SOLID;
}

/* The state of the owner named by ref, for a dependent in ns. */
static int owner_state_of(gc *g, const cJSON *ref, const char *ns, owner_state *st, kn_error **err)
{
    int k = kind_index(ref);
    const char *name = kn_ctl_str(ref, "name"), *uid = kn_ctl_str(ref, "uid");
    *st = SOLID;
    if (k < 0 || !name)
        return 0; /* a kind we do not know: leave the dependent alone */
    const char *ons = kinds[k].r->namespaced ? ns : NULL;
    char *key = ons ? xasprintf("%s/%s", ons, name) : xstrdup(name);
    kc_obj *o = kc_informer_get(g->inf[k], key);
    free(key);
    if (o && same(kn_meta_str(kc_obj_json(o), "uid"), uid)) {
        *st = state_of(kc_obj_json(o));
        kc_obj_unref(o);
        return 0;
    }
    kc_obj_unref(o);
    cJSON *live = NULL; /* the cache may lag: ask the server */
    if (kc_get(g->ctx->client, kinds[k].r, ons, name, &live, err) < 0) {
        if (kn_error_code(*err) != KN_ENOTFOUND)
            return -1;
        kn_error_free(err);
        *st = DANGLING;
        return 0;
    }
    *st = same(kn_meta_str(live, "uid"), uid) ? state_of(live) : DANGLING;
    cJSON_Delete(live);
    return 0;
}

static bool has_dependents(gc *g, const cJSON *obj)
{
    const char *uid = kn_meta_str(obj, "uid");
    for (size_t i = 0; uid && i < NKINDS; i++) {
        size_t n = 0;
        kc_obj **v = kc_informer_by_index(g->inf[i], "owner", uid, &n);
        kc_objs_free(v, n);
        if (n)
            return true;
    }
    return false;
}

/* ---- the two kinds of work ---------------------------------------------------------------------
 */

typedef struct blocking {
    const char *uid;
    size_t n;
} blocking;

static void count_blocking(gc *g, size_t idx, kc_obj *o, void *ud)
{
    blocking *b = ud;
    const cJSON *ref;
    cJSON_ArrayForEach(ref, refs_of(kc_obj_json(o)))
    {
        if (same(kn_ctl_str(ref, "uid"), b->uid) &&
            cJSON_IsTrue(cJSON_GetObjectItem(ref, "blockOwnerDeletion"))) {
            b->n++;
            if (!kn_meta_str(kc_obj_json(o), "deletionTimestamp"))
                enqueue(g, 'a', idx, kc_obj_json(o));
        }
    }
}

/* processDeletingDependentsItem: the owner keeps its foregroundDeletion
 * finalizer while blocking dependents remain. */
static int deleting_dependents(gc *g, size_t idx, const cJSON *owner, kn_error **err)
{
    blocking b = {kn_meta_str(owner, "uid"), 0};
    for_each_dependent(g, b.uid, count_blocking, &b);
    if (b.n)
        return 0;
    return remove_finalizer(g, idx, owner, F_FOREGROUND, err);
}

static int attempt_to_delete(gc *g, size_t idx, const cJSON *obj, kn_error **err)
{
    if (kn_meta_str(obj, "deletionTimestamp"))
        return has_finalizer(obj, F_FOREGROUND) ? deleting_dependents(g, idx, obj, err) : 0;
    const cJSON *ref;
    cJSON *dangling = cJSON_CreateArray(), *waiting = cJSON_CreateArray();
    int solid = 0, r = 0;
    cJSON_ArrayForEach(ref, refs_of(obj))
    {
        owner_state st;
        if ((r = owner_state_of(g, ref, kn_meta_str(obj, "namespace"), &st, err)) < 0)
            break;
        const char *uid = kn_ctl_str(ref, "uid");
        if (st == SOLID)
            solid++;
        else if (uid)
            cJSON_AddItemToArray(st == DANGLING ? dangling : waiting, cJSON_CreateString(uid));
    }
    int nd = cJSON_GetArraySize(dangling), nw = cJSON_GetArraySize(waiting);
    if (r < 0 || cJSON_GetArraySize(refs_of(obj)) == 0) {
        /* nothing to do, or retry */
    } else if (solid) {
        if (nd || nw)
            r = patch_refs(g, idx, obj, dangling, waiting, err);
    } else if (nw && has_dependents(g, obj)) {
        r = delete_item(g, idx, obj, "Foreground", err);
    } else {
        const char *policy = has_finalizer(obj, F_ORPHAN)       ? "Orphan"
                             : has_finalizer(obj, F_FOREGROUND) ? "Foreground"
                                                                : "Background";
        r = delete_item(g, idx, obj, policy, err);
    }
    cJSON_Delete(dangling);
    cJSON_Delete(waiting);
    return r;
}

typedef struct orphaning {
    const char *uid;
    int r;
    kn_error **err;
} orphaning;

static void orphan_one(gc *g, size_t idx, kc_obj *o, void *ud)
{
    orphaning *x = ud;
    if (x->r < 0)
        return;
    cJSON *drop = cJSON_CreateArray();
    cJSON_AddItemToArray(drop, cJSON_CreateString(x->uid));
    x->r = patch_refs(g, idx, kc_obj_json(o), drop, NULL, x->err);
    cJSON_Delete(drop);
}

/* orphanDependents, then the "orphan" finalizer goes. */
static int orphan_dependents(gc *g, size_t idx, const cJSON *owner, kn_error **err)
{
    if (!kn_meta_str(owner, "deletionTimestamp") || !has_finalizer(owner, F_ORPHAN))
        return 0;
    orphaning x = {kn_meta_str(owner, "uid"), 0, err};
    for_each_dependent(g, x.uid, orphan_one, &x);
    if (x.r < 0)
        return -1;
    return remove_finalizer(g, idx, owner, F_ORPHAN, err);
}

static int sync_item(void *ud, const char *item, kn_error **err)
{
    gc *g = ud;
    char op;
    size_t idx;
    int off = 0;
    if (sscanf(item, "%c|%zu|%n", &op, &idx, &off) < 2 || !off || idx >= NKINDS)
        return 0;
    kc_obj *o = kc_informer_get(g->inf[idx], item + off);
    if (!o)
        return 0;
    int r = op == 'o' ? orphan_dependents(g, idx, kc_obj_json(o), err)
                      : attempt_to_delete(g, idx, kc_obj_json(o), err);
    kc_obj_unref(o);
    return r;
}

/* ---- lifecycle ---------------------------------------------------------------------------------
 */

static void *gc_create(kn_ctl_ctx *ctx)
{
    gc *g = xcalloc(1, sizeof(*g));
    g->ctx = ctx;
    kn_ctl_loop_init(&g->loop, ctx, "garbage-collector", sync_item, g, NULL);
    for (size_t i = 0; i < NKINDS; i++) {
        g->inf[i] = kn_ctl_informer(ctx, kinds[i].r);
        g->watch[i] = (gc_watch){g, i};
        kc_informer_add_handlers(
            g->inf[i], &(kc_informer_handlers){on_add, on_update, on_delete, &g->watch[i]});
    }
    return g;
}

static int gc_start(void *self, kn_error **err)
{
    gc *g = self;
    return kn_ctl_loop_start(&g->loop, 2, err);
}

static void gc_stop(void *self)
{
    gc *g = self;
    kn_ctl_loop_stop(&g->loop);
}

static void gc_destroy(void *self)
{
    gc *g = self;
    kn_ctl_loop_destroy(&g->loop);
    free(g);
}

const kn_ctl_def kn_ctl_gc = {"garbage-collector", gc_create, gc_start, gc_stop, gc_destroy};

/* ctl-serviceaccount.c - the ServiceAccount controller: every active
 * namespace has a ServiceAccount named "default" (created again when
 * deleted). */
#include <stdlib.h>
#include <string.h>

#include "controlplane/ctl-internal.h"
#include "controlplane/objmeta.h"
#include "lib/xalloc.h"

typedef struct sac {
    kn_ctl_ctx *ctx;
    kc_informer *namespaces, *sas;
    kn_ctl_loop loop;
} sac;

static void ns_event(kc_obj *o, void *ud)
{
    sac *c = ud;
    kn_workqueue_add(c->loop.queue, kc_obj_key(o));
}

static void ns_update(kc_obj *old, kc_obj *o, void *ud)
{
    (void)old;
    ns_event(o, ud);
}

static void sa_delete(kc_obj *o, void *ud)
{
    sac *c = ud;
    const char *name = kn_meta_str(kc_obj_json(o), "name");
    if (name && strcmp(name, "default") == 0)
        kn_workqueue_add(c->loop.queue, kn_meta_str(kc_obj_json(o), "namespace"));
}

static int sync_namespace(void *ud, const char *key, kn_error **err)
{
    sac *c = ud;
    kc_obj *ns = kc_informer_get(c->namespaces, key);
    const char *phase = ns ? kn_ctl_str(kc_obj_json(ns), "status.phase") : NULL;
    bool active = ns && !kn_meta_str(kc_obj_json(ns), "deletionTimestamp") &&
                  !(phase && strcmp(phase, "Terminating") == 0);
    kc_obj_unref(ns);
    if (!active)
        return 0;
    char *sa_key = xasprintf("%s/default", key);
    kc_obj *sa = kc_informer_get(c->sas, sa_key);
    free(sa_key);
    if (sa) {
        kc_obj_unref(sa);
        return 0;
    }
    cJSON *obj = cJSON_CreateObject();
    cJSON_AddStringToObject(obj, "apiVersion", "v1");
    cJSON_AddStringToObject(obj, "kind", "ServiceAccount");
    cJSON_AddStringToObject(cJSON_AddObjectToObject(obj, "metadata"), "name", "default");
    int r = kc_create(c->ctx->client, &kc_res_serviceaccounts, key, obj, NULL, err);
    cJSON_Delete(obj);
    /* there already, or the namespace went away meanwhile */
    kn_errcode code = kn_error_code(r < 0 ? *err : NULL);
    if (r < 0 && (code == KN_EEXIST || code == KN_EFORBIDDEN || code == KN_ENOTFOUND)) {
        kn_error_free(err);
        r = 0;
    }
    return r;
}

static void *sac_create(kn_ctl_ctx *ctx)
{
    sac *c = xcalloc(1, sizeof(*c));
    c->ctx = ctx;
    kn_ctl_loop_init(&c->loop, ctx, "serviceaccount", sync_namespace, c, NULL);
    c->namespaces = kn_ctl_informer(ctx, &kc_res_namespaces);
    c->sas = kn_ctl_informer(ctx, &kc_res_serviceaccounts);
    kc_informer_add_handlers(c->namespaces, &(kc_informer_handlers){ns_event, ns_update, NULL, c});
    kc_informer_add_handlers(c->sas, &(kc_informer_handlers){NULL, NULL, sa_delete, c});
    return c;
}

static int sac_start(void *self, kn_error **err)
{
    sac *c = self;
    return kn_ctl_loop_start(&c->loop, 1, err);
}

static void sac_stop(void *self)
{
    sac *c = self;
    kn_ctl_loop_stop(&c->loop);
}

static void sac_destroy(void *self)
{
    sac *c = self;
    kn_ctl_loop_destroy(&c->loop);
    free(c);
}

const kn_ctl_def kn_ctl_serviceaccount = {"serviceaccount", sac_create, sac_start, sac_stop,
                                          sac_destroy};

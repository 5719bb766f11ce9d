/* subresources.c - POST subresources: pods/binding (the scheduler's bind),
 * pods/eviction (graceful delete) and serviceaccounts/token (TokenRequest). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controlplane/admission.h"
#include "controlplane/objmeta.h"
#include "controlplane/satoken.h"
#include "lib/cleanup.h"
#include "lib/json.h"
#include "lib/xalloc.h"

static int save_obj(kn_apiserver *s, const api_route *rt, cJSON *obj, int64_t rev, kn_error **err)
{
    cleanup_free char *text = api_encode_for_store(obj);
    cleanup_free char *key = api_key(rt->res, rt->ns, rt->name);
    return kn_store_update(s->opts.store, key, text, strlen(text), rev, NULL, err);
}

/* The request's Binding, Eviction or TokenRequest, decoded and checked
 * against its kind under the fieldValidation directive as a create body is
 * (unknown and duplicate fields: an error under Strict, else warnings and
 * dropped). NULL when resp holds the rejection. */
static cJSON *body_json(const api_route *rt, kn_http_request *req, kn_http_response *resp)
{
    kn_field_validation fv;
    if (api_field_validation(req, &fv, resp) < 0)
        return NULL;
    cJSON *b = NULL, *problems = cJSON_CreateArray();
    kn_error *err = NULL;
    if (api_decode_validated(req, rt, fv, &b, problems, &err) < 0)
        api_error(resp, rt, err);
    else
        api_add_warnings(resp, fv, problems);
    kn_error_free(&err);
    cJSON_Delete(problems);
    return b;
}

/* As upstream's assignPod: the binding also records PodScheduled=True,
 * replacing an earlier Unschedulable condition. */
static void set_scheduled_condition(cJSON *pod)
{
    cJSON *status = cJSON_GetObjectItemCaseSensitive(pod, "status");
    if (!cJSON_IsObject(status)) {
        cJSON_DeleteItemFromObjectCaseSensitive(pod, "status");
        status = cJSON_AddObjectToObject(pod, "status");
    }
    cJSON *conds = cJSON_GetObjectItemCaseSensitive(status, "conditions");
    if (!cJSON_IsArray(conds)) {
        cJSON_DeleteItemFromObjectCaseSensitive(status, "conditions");
        conds = cJSON_AddArrayToObject(status, "conditions");
    }
    cJSON *c = conds->child;
    while (c) {
        cJSON *next = c->next;
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(c, "type");
        if (cJSON_IsString(t) && strcmp(t->valuestring, "PodScheduled") == 0)
            cJSON_Delete(cJSON_DetachItemViaPointer(conds, c));
        c = next;
    }
    char ts[32];
    kn_rfc3339(0, ts, sizeof(ts));
    cJSON *nc = cJSON_CreateObject();
    cJSON_AddStringToObject(nc, "type", "PodScheduled");
    cJSON_AddStringToObject(nc, "status", "True");
    cJSON_AddNullToObject(nc, "lastProbeTime");
    cJSON_AddStringToObject(nc, "lastTransitionTime", ts);
    cJSON_AddItemToArray(conds, nc);
}

static void binding(kn_apiserver *s, const api_route *rt, kn_http_request *req,
                    kn_http_response *resp)
{
    kn_error *err = NULL;
    cJSON *b = body_json(rt, req, resp), *pod = NULL;
    const char *node = NULL;
    int64_t rev;
    if (!b)
        return;
    if (kn_json_get_string(b, "target.name", &node, &err) < 0 ||
        api_load(s, rt, &pod, &rev, &err) < 0)
        goto fail;
    cJSON *spec = cJSON_GetObjectItemCaseSensitive(pod, "spec");
    const char *cur = NULL;
    kn_json_get_string_opt(pod, "spec.nodeName", NULL, &cur, NULL);
    if (cur && *cur) {
        kn_error_set(&err, KN_ECONFLICT, "pod %s is already assigned to node \"%s\"", rt->name,
                     cur);
        goto fail;
    }
    if (kn_meta_str(pod, "deletionTimestamp")) {
        kn_error_set(&err, KN_ECONFLICT, "pod %s is being deleted, cannot be assigned to a host",
                     rt->name);
        goto fail;
    }
    cJSON_DeleteItemFromObjectCaseSensitive(spec, "nodeName");
    cJSON_AddStringToObject(spec, "nodeName", node);
    set_scheduled_condition(pod);
    if (save_obj(s, rt, pod, rev, &err) < 0)
        goto fail;
    api_status(resp, 201, "", "");
    goto out;
fail:
    api_error(resp, rt, err);
out:
    kn_error_free(&err);
    cJSON_Delete(b);
    cJSON_Delete(pod);
}

static void eviction(kn_apiserver *s, const api_route *rt, kn_http_request *req,
                     kn_http_response *resp)
{
    kn_error *err = NULL;
    cJSON *b = body_json(rt, req, resp), *pod = NULL;
    int64_t rev, grace = -1;
    if (!b)
        return;
    if (api_load(s, rt, &pod, &rev, &err) < 0)
        goto fail;
    kn_json_get_int64_opt(b, "deleteOptions.gracePeriodSeconds", -1, &grace, NULL);
    if (kn_admission_begin_delete(rt->res, pod, grace, NULL)) {
        if (save_obj(s, rt, pod, rev, &err) < 0)
            goto fail;
    } else {
        cleanup_free char *key = api_key(rt->res, rt->ns, rt->name);
        if (kn_store_delete(s->opts.store, key, rev, NULL, NULL, &err) < 0)
            goto fail;
    }
    api_status(resp, 201, "", "");
    goto out;
fail:
    api_error(resp, rt, err);
out:
    kn_error_free(&err);
    cJSON_Delete(b);
    cJSON_Delete(pod);
}

static cJSON *token_response(const cJSON *req_body, const char *jwt, int64_t exp,
                             int64_t expiration_s)
{
    cJSON *r = cJSON_CreateObject();
    cJSON_AddStringToObject(r, "kind", "TokenRequest");
    cJSON_AddStringToObject(r, "apiVersion", "authentication.k8s.io/v1");
    cJSON_AddItemToObject(r, "metadata", cJSON_CreateObject());
    const cJSON *spec = cJSON_GetObjectItemCaseSensitive(req_body, "spec");
    cJSON *sp = spec ? cJSON_Duplicate(spec, 1) : cJSON_CreateObject();
    cJSON_DeleteItemFromObjectCaseSensitive(sp, "expirationSeconds");
    cJSON_AddNumberToObject(sp, "expirationSeconds", (double)expiration_s);
    cJSON_AddItemToObject(r, "spec", sp);
    cJSON *st = cJSON_AddObjectToObject(r, "status");
    cJSON_AddStringToObject(st, "token", jwt);
    char ts[32];
    kn_rfc3339(exp * 1000000000LL, ts, sizeof(ts));
    cJSON_AddStringToObject(st, "expirationTimestamp", ts);
    return r;
}

static void token(kn_apiserver *s, const api_route *rt, kn_http_request *req,
                  kn_http_response *resp)
{
    kn_error *err = NULL;
    cJSON *b = body_json(rt, req, resp), *sa = NULL;
    int64_t rev, expiration = 3600;
    const char *auds[9] = {NULL};
    const char *pod_name = NULL, *pod_uid = NULL;
    if (!b)
        return;
    if (api_load(s, rt, &sa, &rev, &err) < 0)
        goto fail;
    kn_json_get_int64_opt(b, "spec.expirationSeconds", 3600, &expiration, NULL);
    if (expiration < 600) {
        kn_error_set(&err, KN_EINVAL,
                     "spec.expirationSeconds: Invalid value: %lld: may not specify "
                     "a duration less than 10 minutes",
                     (long long)expiration);
        goto fail;
    }
    const cJSON *a, *list = NULL;
    size_t n = 0;
    kn_json_get_array_opt(b, "spec.audiences", &list, NULL);
    cJSON_ArrayForEach(a, list) if (cJSON_IsString(a) && n < 8) auds[n++] = a->valuestring;
    const char *kind = NULL;
    kn_json_get_string_opt(b, "spec.boundObjectRef.kind", NULL, &kind, NULL);
    if (kind && strcmp(kind, "Pod") == 0) {
        kn_json_get_string_opt(b, "spec.boundObjectRef.name", NULL, &pod_name, NULL);
        kn_json_get_string_opt(b, "spec.boundObjectRef.uid", NULL, &pod_uid, NULL);
    }
    kn_sa_token_req tr = {rt->ns,   rt->name, kn_meta_str(sa, "uid"), auds, expiration,
                          pod_name, pod_uid};
    char *jwt = NULL;
    int64_t exp;
    if (kn_sa_token_sign(s->opts.data_dir, &tr, &jwt, &exp, &err) < 0)
        goto fail;
    cJSON *r = token_response(b, jwt, exp, expiration);
    free(jwt);
    api_json(resp, 201, r);
    cJSON_Delete(r);
    goto out;
fail:
    api_error(resp, rt, err);
out:
    kn_error_free(&err);
    cJSON_Delete(b);
    cJSON_Delete(sa);
}

void kn_admission_subresource_create(kn_apiserver *s, const api_route *rt, kn_http_request *req,
                                     kn_http_response *resp)
{
    bool pods = strcmp(rt->res->name, "pods") == 0;
    if (pods && strcmp(rt->sub, "binding") == 0)
        binding(s, rt, req, resp);
    else if (pods && strcmp(rt->sub, "eviction") == 0)
        eviction(s, rt, req, resp);
    else if (strcmp(rt->res->name, "serviceaccounts") == 0 && strcmp(rt->sub, "token") == 0)
        token(s, rt, req, resp);
    else
        api_status(resp, 405, "MethodNotAllowed", "POST is not supported on this subresource");
}

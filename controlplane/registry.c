/* registry.c - the generic object operations every resource shares:
 * get, list, create, update, patch, delete, on the versioned store.
 *
 * Objects are stored as JSON without metadata.resourceVersion; it is set from
 * the store's revision on every read (as upstream's etcd3 storage does), so a
 * stored object never disagrees with its own revision. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controlplane/admission.h"
#include "controlplane/apiserver-internal.h"
#include "controlplane/auth.h"
#include "controlplane/kproto.h"
#include "controlplane/objmeta.h"
#include "controlplane/reqopts.h"
#include "controlplane/smpatch.h"
#include "controlplane/table.h"
#include "lib/cleanup.h"
#include "lib/json.h"
#include "lib/selector.h"
#include "lib/xalloc.h"
#include "lib/yaml.h"

char *api_key(const kn_resource *r, const char *ns, const char *name)
{
    const char *g = r->group[0] ? r->group : "core";
    if (r->namespaced && ns && *ns)
        return name ? xasprintf("/registry/%s/%s/%s/%s", g, r->name, ns, name)
                    : xasprintf("/registry/%s/%s/%s/", g, r->name, ns);
    return name ? xasprintf("/registry/%s/%s/%s", g, r->name, name)
                : xasprintf("/registry/%s/%s/", g, r->name);
}

cJSON *api_decode_stored(const char *value, size_t len, int64_t rev)
{
    cJSON *obj = cJSON_ParseWithLength(value, len);
    if (!obj)
        return NULL;
    char rv[24];
    snprintf(rv, sizeof(rv), "%lld", (long long)rev);
    kn_meta_set_str(obj, "resourceVersion", rv);
    return obj;
}

char *api_encode_for_store(const cJSON *obj)
{
    cJSON *copy = cJSON_Duplicate(obj, 1);
    cJSON_DeleteItemFromObjectCaseSensitive(kn_meta(copy), "resourceVersion");
    char *text = kn_json_print(copy);
    cJSON_Delete(copy);
    return text;
}

/* ---- selectors ----------------------------------------------------------- */

static const char *label_of(void *ud, const char *key)
{
    const cJSON *labels = ud;
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(labels, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

typedef struct field_ctx {
    const kn_resource *res;
    const cJSON *obj;
} field_ctx;

/* Fields upstream supports in field selectors: metadata.name and
 * metadata.namespace for everything, plus per-kind fields. */
static const char *field_of(void *ud, const char *field)
{
    const field_ctx *c = ud;
    static const char *const pod_fields[] = {"spec.nodeName",
                                             "spec.restartPolicy",
                                             "spec.schedulerName",
                                             "spec.serviceAccountName",
                                             "status.phase",
                                             "status.podIP",
                                             "status.nominatedNodeName",
                                             NULL};
    if (strcmp(field, "metadata.name") == 0)
        return kn_meta_str(c->obj, "name") ? kn_meta_str(c->obj, "name") : "";
    if (strcmp(field, "metadata.namespace") == 0)
        return kn_meta_str(c->obj, "namespace") ? kn_meta_str(c->obj, "namespace") : "";
    bool known = strcmp(c->res->name, "pods") == 0;
    for (size_t i = 0; known && pod_fields[i]; i++) {
        if (strcmp(field, pod_fields[i]) == 0) {
            const char *v = NULL;
            kn_json_get_string_opt(c->obj, field, "", &v, NULL);
            return v ? v : "";
        }
    }
    if (strcmp(c->res->name, "secrets") == 0 && strcmp(field, "type") == 0) {
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(c->obj, "type");
        return cJSON_IsString(t) ? t->valuestring : "";
    }
    if (strcmp(c->res->name, "events") == 0 && strncmp(field, "involvedObject.", 15) == 0) {
        const char *v = NULL;
        kn_json_get_string_opt(c->obj, field, "", &v, NULL);
        return v ? v : "";
    }
    return NULL;
}

int api_check_selectors(const char *label_sel, const char *field_sel, kn_error **err)
{
    kn_label_selector *ls = NULL;
    kn_field_selector *fs = NULL;
    if (label_sel && kn_label_selector_parse(label_sel, &ls, err) < 0)
        return kn_error_wrap(err, "unable to parse requirement");
    kn_label_selector_free(ls);
    if (field_sel && kn_field_selector_parse(field_sel, &fs, err) < 0)
        return -KN_EINVAL;
    kn_field_selector_free(fs);
    return 0;
}

bool api_matches_selectors(const kn_resource *r, const cJSON *obj, const char *label_sel,
                           const char *field_sel)
{
    bool ok = true;
    if (label_sel && *label_sel) {
        kn_label_selector *ls = NULL;
        if (kn_label_selector_parse(label_sel, &ls, NULL) < 0)
            return false;
        const cJSON *labels = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(obj, "metadata"), "labels");
        ok = kn_label_selector_matches_fn(ls, label_of, (void *)labels);
        kn_label_selector_free(ls);
    }
    if (ok && field_sel && *field_sel) {
        kn_field_selector *fs = NULL;
        if (kn_field_selector_parse(field_sel, &fs, NULL) < 0)
            return false;
        field_ctx c = {r, obj};
        ok = kn_field_selector_matches(fs, field_of, &c);
        kn_field_selector_free(fs);
    }
    return ok;
}

/* ---- get ---------------------------------------------------------------------- */

int api_load(kn_apiserver *s, const api_route *rt, cJSON **obj, int64_t *rev, kn_error **err)
{
    cleanup_free char *key = api_key(rt->res, rt->ns, rt->name);
    kn_kv kv = {0};
    if (kn_store_get(s->opts.store, key, &kv, err) < 0) {
        if (kn_error_code(*err) == KN_ENOTFOUND) {
            kn_error_free(err);
            return kn_error_set(err, KN_ENOTFOUND, "%s \"%s\" not found", rt->res->name, rt->name);
        }
        return -KN_EIO;
    }
    *obj = api_decode_stored(kv.value, kv.value_len, kv.mod_rev);
    *rev = kv.mod_rev;
    kn_kv_free(&kv);
    if (!*obj)
        return kn_error_set(err, KN_EINTERNAL, "stored object %s is corrupt", rt->name);
    return 0;
}

void api_get(kn_apiserver *s, const api_route *rt, kn_http_request *req, kn_http_response *resp)
{
    kn_error *err = NULL;
    cJSON *obj = NULL;
    int64_t rev;
    if (api_load(s, rt, &obj, &rev, &err) < 0) {
        api_error(resp, rt, err);
        kn_error_free(&err);
        return;
    }
    if (strcmp(rt->sub, "log") == 0 && strcmp(rt->res->name, "pods") == 0) {
        api_pod_log(s, rt, req, resp, obj);
    } else if (rt->sub[0] && strcmp(rt->sub, "scale") != 0 && strcmp(rt->sub, "status") != 0) {
        /* proxy: served by the node's :10250, not built yet */
        char msg[256];
        snprintf(msg, sizeof(msg),
                 "%s/%s is not served yet: the node server (:10250) it is proxied to is not "
                 "built in knode %s",
                 rt->res->name, rt->sub, KNODE_VERSION);
        api_status(resp, 503, "ServiceUnavailable", msg);
    } else if (strcmp(rt->sub, "scale") == 0) {
        cJSON *scale = kn_admission_scale_view(rt->res, obj);
        api_json(resp, 200, scale);
        cJSON_Delete(scale);
    } else if (kn_table_wanted(kn_http_header(req, "Accept"))) {
        cJSON *t = kn_table_from_object(rt->res, obj);
        api_json(resp, 200, t);
        cJSON_Delete(t);
    } else {
        api_json(resp, 200, obj);
    }
    cJSON_Delete(obj);
}

/* ---- list ---------------------------------------------------------------------- */

static int64_t parse_rv(const char *rv)
{
    if (!rv || !*rv)
        return 0;
    char *end;
    long long v = strtoll(rv, &end, 10);
    return *end || v < 0 ? -1 : v;
}

static const char *query(void *arg, const char *key)
{
    return kn_http_query(arg, key);
}

void api_options_invalid(kn_http_response *resp, const char *kind, const kn_causes *causes)
{
    char *msg = kn_options_invalid_message(kind, causes);
    kn_http_respond(resp, 422, "application/json",
                    kn_status_json(422, "Invalid", msg, "meta.k8s.io", kind, "", causes));
    free(msg);
}

static cJSON *list_object(const kn_resource *r, int64_t rev, const char *cont)
{
    cJSON *l = cJSON_CreateObject();
    char kind[96], apiv[64], rv[24];
    snprintf(kind, sizeof(kind), "%sList", r->kind);
    cJSON_AddStringToObject(l, "kind", kind);
    cJSON_AddStringToObject(l, "apiVersion", kn_resource_api_version(r, apiv, sizeof(apiv)));
    cJSON *m = cJSON_AddObjectToObject(l, "metadata");
    snprintf(rv, sizeof(rv), "%lld", (long long)rev);
    cJSON_AddStringToObject(m, "resourceVersion", rv);
    if (cont)
        cJSON_AddStringToObject(m, "continue", cont);
    cJSON_AddArrayToObject(l, "items");
    return l;
}

/* Reads pages from the store until limit matching items are found. */
static int collect(kn_apiserver *s, const api_route *rt, kn_list_opts *q, cJSON *items,
                   int64_t *list_rev, char **cont, kn_error **err)
{
    cleanup_free char *prefix = api_key(rt->res, rt->ns, NULL);
    size_t found = 0, limit = q->limit > 0 ? (size_t)q->limit : 0;
    bool more = true;
    while (more && (limit == 0 || found < limit)) {
        kn_kv_list page;
        size_t want = limit ? limit - found : 0;
        if (kn_store_list(s->opts.store, prefix, q->cont_start, want, q->cont_rev, &page, list_rev,
                          &more, err) < 0)
            return -KN_EIO;
        q->cont_rev = *list_rev;
        for (size_t i = 0; i < page.len; i++) {
            cJSON *o = api_decode_stored(page.items[i].value, page.items[i].value_len,
                                         page.items[i].mod_rev);
            if (o && api_matches_selectors(rt->res, o, q->label_sel, q->field_sel)) {
                cJSON_AddItemToArray(items, o);
                found++;
            } else {
                cJSON_Delete(o);
            }
        }
        if (page.len) {
            free(q->cont_start);
            q->cont_start = xstrdup(page.items[page.len - 1].key);
        }
        kn_kv_list_free(&page);
    }
    if (more)
        *cont = xasprintf("%lld:%s", (long long)*list_rev, q->cont_start);
    return 0;
}

void api_list(kn_apiserver *s, const api_route *rt, kn_http_request *req, kn_http_response *resp)
{
    kn_error *err = NULL;
    kn_list_opts q;
    kn_causes causes = {0};
    int64_t list_rev = 0;
    cleanup_free char *cont = NULL;
    if (kn_list_opts_parse(query, req, false, &q, &causes, &err) < 0 || causes.len) {
        if (causes.len)
            api_options_invalid(resp, "ListOptions", &causes);
        else
            api_error(resp, rt, err);
        kn_error_free(&err);
        kn_causes_free(&causes);
        kn_list_opts_free(&q);
        return;
    }
    if (q.exact) /* "0" (any) and unset (most recent) both read the newest state */
        q.cont_rev = q.rv;
    cJSON *items = cJSON_CreateArray();
    if (collect(s, rt, &q, items, &list_rev, &cont, &err) < 0) {
        api_error(resp, rt, err);
        kn_error_free(&err);
    } else {
        cJSON *l = list_object(rt->res, list_rev, cont);
        cJSON_ReplaceItemInObject(l, "items", items);
        items = NULL;
        if (kn_table_wanted(kn_http_header(req, "Accept"))) {
            cJSON *t = kn_table_from_list(rt->res, l);
            api_json(resp, 200, t);
            cJSON_Delete(t);
        } else {
            api_json(resp, 200, l);
        }
        cJSON_Delete(l);
    }
    cJSON_Delete(items);
    kn_list_opts_free(&q);
}

/* ---- body decoding -------------------------------------------------------------- */

int api_decode_body(kn_http_request *req, cJSON **out, kn_error **err)
{
    return api_decode_body_opts(req, 0, out, err);
}

int api_decode_body_opts(kn_http_request *req, unsigned flags, cJSON **out, kn_error **err)
{
    kn_yaml_docs docs = {0};
    const char *ctype = kn_http_header(req, "Content-Type");
    if (kn_kproto_is_media_type(ctype))
        return kn_kproto_decode(req->body.data, req->body.len, out, err);
    if (ctype && strstr(ctype, "protobuf"))
        return kn_error_set(err, KN_EMEDIATYPE,
                            "the body of the request was in an unknown format - accepted media "
                            "types include: application/json, application/yaml");
    if (req->body.len == 0)
        return kn_error_set(err, KN_EINVAL, "the request body is empty");
    if (kn_yaml_or_json_parse(req->body.data, req->body.len, KN_API_MAX_BODY, "request body", flags,
                              &docs, err) < 0)
        return -KN_EINVAL;
    if (docs.n != 1 || !cJSON_IsObject(docs.docs[0])) {
        kn_yaml_docs_free(&docs);
        return kn_error_set(err, KN_EINVAL, "the request body must be one object");
    }
    *out = docs.docs[0];
    docs.docs[0] = NULL;
    kn_yaml_docs_free(&docs);
    return 0;
}

/* ---- create ------------------------------------------------------------------- */

static int check_type(const kn_resource *r, const cJSON *obj, kn_error **err)
{
    char apiv[64];
    kn_resource_api_version(r, apiv, sizeof(apiv));
    const cJSON *kind = cJSON_GetObjectItemCaseSensitive(obj, "kind");
    const cJSON *av = cJSON_GetObjectItemCaseSensitive(obj, "apiVersion");
    if (cJSON_IsString(kind) && *kind->valuestring && strcmp(kind->valuestring, r->kind) != 0)
        return kn_error_set(err, KN_EINVAL, "the object provided is of kind %s, expected %s",
                            kind->valuestring, r->kind);
    if (cJSON_IsString(av) && *av->valuestring && strcmp(av->valuestring, apiv) != 0)
        return kn_error_set(err, KN_EINVAL,
                            "the API version in the data (%s) does not match the "
                            "expected API version (%s)",
                            av->valuestring, apiv);
    return 0;
}

static void set_type(const kn_resource *r, cJSON *obj)
{
    char apiv[64];
    cJSON_DeleteItemFromObjectCaseSensitive(obj, "apiVersion");
    cJSON_DeleteItemFromObjectCaseSensitive(obj, "kind");
    cJSON_AddStringToObject(obj, "apiVersion", kn_resource_api_version(r, apiv, sizeof(apiv)));
    cJSON_AddStringToObject(obj, "kind", r->kind);
}

/* Namespace and name of a new object; fills *causes for invalid names. */
static int prepare_identity(const api_route *rt, cJSON *obj, kn_causes *causes, kn_error **err)
{
    const char *ns = kn_meta_str(obj, "namespace");
    if (rt->res->namespaced) {
        if (ns && *ns && strcmp(ns, rt->ns) != 0)
            return kn_error_set(err, KN_EINVAL,
                                "the namespace of the provided object does not "
                                "match the namespace sent on the request");
        kn_meta_set_str(obj, "namespace", rt->ns);
    } else {
        cJSON_DeleteItemFromObjectCaseSensitive(kn_meta(obj), "namespace");
    }
    const char *name = kn_meta_str(obj, "name");
    const char *gen = kn_meta_str(obj, "generateName");
    if ((!name || !*name) && gen && *gen) {
        char *n = kn_generate_name(gen);
        kn_meta_set_str(obj, "name", n);
        free(n);
        name = kn_meta_str(obj, "name");
    }
    if (!name || !*name)
        kn_causes_add(causes, "FieldValueRequired", "metadata.name",
                      "name or generateName is required");
    else if (kn_admission_name_error(rt->res, name))
        kn_causes_add(causes, "FieldValueInvalid", "metadata.name", "Invalid value: \"%s\": %s",
                      name, kn_admission_name_error(rt->res, name));
    return 0;
}

static void stamp_new(const kn_resource *r, cJSON *obj)
{
    char uid[37], ts[32];
    kn_uuid(uid);
    kn_rfc3339(0, ts, sizeof(ts));
    cJSON *m = kn_meta(obj);
    static const char *const drop[] = {
        "uid",        "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds",
        "generation", "resourceVersion",   "selfLink",          NULL};
    for (size_t i = 0; drop[i]; i++)
        cJSON_DeleteItemFromObjectCaseSensitive(m, drop[i]);
    cJSON_AddStringToObject(m, "uid", uid);
    cJSON_AddStringToObject(m, "creationTimestamp", ts);
    if (r->has_spec)
        cJSON_AddNumberToObject(m, "generation", 1);
}

static void respond_invalid(kn_http_response *resp, const api_route *rt, const char *name,
                            const kn_causes *causes)
{
    kn_buf msg;
    kn_buf_init(&msg);
    kn_buf_appendf(&msg, "%s \"%s\" is invalid: ", rt->res->kind, name ? name : "");
    for (size_t i = 0; i < causes->len; i++)
        kn_buf_appendf(&msg, "%s%s: %s", i ? ", " : "", causes->items[i].field,
                       causes->items[i].message);
    kn_http_respond(
        resp, 422, "application/json",
        kn_status_json(422, "Invalid", msg.data, rt->res->group, rt->res->kind, name, causes));
    kn_buf_free(&msg);
}

/* Stores a new object; on success responds 201 with it. */
static void store_new(kn_apiserver *s, const api_route *rt, cJSON *obj, kn_http_response *resp)
{
    kn_error *err = NULL;
    const char *name = kn_meta_str(obj, "name");
    cleanup_free char *key = api_key(rt->res, rt->ns, name);
    cleanup_free char *text = api_encode_for_store(obj);
    int64_t rev;
    if (kn_store_create(s->opts.store, key, text, strlen(text), &rev, &err) < 0) {
        if (kn_error_code(err) == KN_EEXIST) {
            kn_error_free(&err);
            kn_error_set(&err, KN_EEXIST, "%s \"%s\" already exists", rt->res->name, name);
        }
        api_route named = *rt;
        snprintf(named.name, sizeof(named.name), "%s", name);
        api_error(resp, &named, err);
        kn_error_free(&err);
        return;
    }
    char rv[24];
    snprintf(rv, sizeof(rv), "%lld", (long long)rev);
    kn_meta_set_str(obj, "resourceVersion", rv);
    api_json(resp, 201, obj);
}

void api_create(kn_apiserver *s, const api_route *rt, kn_http_request *req, kn_http_response *resp)
{
    if (rt->name[0] && !rt->sub[0])
        return api_status(resp, 405, "MethodNotAllowed", "POST is not allowed on a named object");
    if (rt->sub[0])
        return kn_admission_subresource_create(s, rt, req, resp);
    kn_error *err = NULL;
    cJSON *obj = NULL, *problems = cJSON_CreateArray();
    kn_causes causes = {0};
    kn_field_validation fv;
    if (api_field_validation(req, &fv, resp) < 0)
        goto out;
    if (api_decode_validated(req, rt, fv, &obj, problems, &err) < 0 ||
        check_type(rt->res, obj, &err) < 0 || prepare_identity(rt, obj, &causes, &err) < 0) {
        api_error(resp, rt, err);
        goto out;
    }
    api_add_warnings(resp, fv, problems);
    set_type(rt->res, obj);
    stamp_new(rt->res, obj);
    /* a Service's addresses are allocated and stored under one lock, so two
     * creates never take the same ClusterIP or NodePort */
    bool alloc = strcmp(rt->res->name, "services") == 0 && !rt->res->group[0];
    if (alloc)
        pthread_mutex_lock(&s->alloc_mu);
    if (kn_auth_admit(s, rt->user, rt, NULL, obj, &causes, &err) < 0 ||
        kn_admission_create(s, rt->res, obj, &causes, &err) < 0)
        api_error(resp, rt, err);
    else if (causes.len)
        respond_invalid(resp, rt, kn_meta_str(obj, "name"), &causes);
    else
        store_new(s, rt, obj, resp);
    if (alloc)
        pthread_mutex_unlock(&s->alloc_mu);
out:
    kn_error_free(&err);
    kn_causes_free(&causes);
    cJSON_Delete(obj);
    cJSON_Delete(problems);
}

/* ---- update and patch ----------------------------------------------------------- */

/* Carries what a client may not change from old into new; keeps or replaces
 * the status as the subresource says; bumps generation on spec changes. */
static void carry_over(const api_route *rt, const cJSON *old, cJSON *upd)
{
    static const char *const fixed[] = {"uid",
                                        "creationTimestamp",
                                        "deletionTimestamp",
                                        "deletionGracePeriodSeconds",
                                        "namespace",
                                        "name",
                                        "generation",
                                        NULL};
    cJSON *om = kn_meta((cJSON *)old), *nm = kn_meta(upd);
    for (size_t i = 0; fixed[i]; i++) {
        cJSON_DeleteItemFromObjectCaseSensitive(nm, fixed[i]);
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(om, fixed[i]);
        if (v)
            cJSON_AddItemToObject(nm, fixed[i], cJSON_Duplicate(v, 1));
    }
    bool status_sub = kn_resource_has_sub(rt->res, "status");
    bool is_status = strcmp(rt->sub, "status") == 0 || strcmp(rt->sub, "approval") == 0;
    if (status_sub && !is_status) { /* the main resource cannot change status */
        cJSON_DeleteItemFromObjectCaseSensitive(upd, "status");
        const cJSON *st = cJSON_GetObjectItemCaseSensitive(old, "status");
        if (st)
            cJSON_AddItemToObject(upd, "status", cJSON_Duplicate(st, 1));
    }
    if (is_status) { /* the status subresource changes status only */
        cJSON_DeleteItemFromObjectCaseSensitive(upd, "spec");
        const cJSON *sp = cJSON_GetObjectItemCaseSensitive(old, "spec");
        if (sp)
            cJSON_AddItemToObject(upd, "spec", cJSON_Duplicate(sp, 1));
    }
    const cJSON *os = cJSON_GetObjectItemCaseSensitive(old, "spec");
    const cJSON *ns = cJSON_GetObjectItemCaseSensitive(upd, "spec");
    if (rt->res->has_spec && !kn_json_equal(os, ns)) {
        cJSON *g = cJSON_GetObjectItemCaseSensitive(nm, "generation");
        double gen = cJSON_IsNumber(g) ? g->valuedouble : 0;
        cJSON_DeleteItemFromObjectCaseSensitive(nm, "generation");
        cJSON_AddNumberToObject(nm, "generation", gen + 1);
    }
}

static bool finalizers_empty(const cJSON *obj)
{
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(obj, "metadata"), "finalizers");
    return !cJSON_IsArray(f) || cJSON_GetArraySize(f) == 0;
}

/* Writes upd over the object at old_rev. A terminating object whose last
 * finalizer went away is deleted instead (as upstream). */
static void store_update(kn_apiserver *s, const api_route *rt, cJSON *upd, int64_t old_rev,
                         bool as_scale, bool *raced, kn_http_response *resp)
{
    kn_error *err = NULL;
    cleanup_free char *key = api_key(rt->res, rt->ns, rt->name);
    cleanup_free char *text = api_encode_for_store(upd);
    int64_t rev = 0;
    int r;
    bool deleting = kn_meta_str(upd, "deletionTimestamp") && finalizers_empty(upd) &&
                    !kn_admission_keeps_terminating(rt->res, upd);
    if (deleting)
        r = kn_store_delete(s->opts.store, key, old_rev, NULL, &rev, &err);
    else
        r = kn_store_update(s->opts.store, key, text, strlen(text), old_rev, &rev, &err);
    if (r < 0 && raced && kn_error_code(err) == KN_ECONFLICT) {
        /* another writer came between our read and this write: the caller
         * reads again and retries, as upstream's GuaranteedUpdate does */
        *raced = true;
        kn_error_free(&err);
        return;
    }
    if (r < 0) {
        if (kn_error_code(err) == KN_ECONFLICT) {
            kn_error_free(&err);
            kn_error_set(&err, KN_ECONFLICT,
                         "Operation cannot be fulfilled on %s \"%s\": the object has been "
                         "modified; please apply your changes to the latest version and try again",
                         rt->res->name, rt->name);
        }
        api_error(resp, rt, err);
        kn_error_free(&err);
        return;
    }
    char rv[24];
    snprintf(rv, sizeof(rv), "%lld", (long long)rev);
    kn_meta_set_str(upd, "resourceVersion", rv);
    if (as_scale) {
        cJSON *scale = kn_admission_scale_view(rt->res, upd);
        api_json(resp, 200, scale);
        cJSON_Delete(scale);
    } else {
        api_json(resp, 200, upd);
    }
}

/* Shared tail of update and patch: upd is the complete new object. */
static void finish_update(kn_apiserver *s, const api_route *rt, cJSON *old, int64_t old_rev,
                          cJSON *upd, bool as_scale, bool *raced, kn_http_response *resp)
{
    kn_error *err = NULL;
    kn_causes causes = {0};
    const char *rv = kn_meta_str(upd, "resourceVersion");
    if (rv && *rv && parse_rv(rv) != old_rev) {
        kn_error_set(&err, KN_ECONFLICT,
                     "Operation cannot be fulfilled on %s \"%s\": the object has been modified; "
                     "please apply your changes to the latest version and try again",
                     rt->res->name, rt->name);
        api_error(resp, rt, err);
        kn_error_free(&err);
        return;
    }
    const char *name = kn_meta_str(upd, "name");
    if (name && strcmp(name, rt->name) != 0) {
        kn_causes_add(&causes, "FieldValueInvalid", "metadata.name",
                      "Invalid value: \"%s\": field is immutable", name);
        respond_invalid(resp, rt, rt->name, &causes);
        kn_causes_free(&causes);
        return;
    }
    set_type(rt->res, upd);
    carry_over(rt, old, upd);
    if (kn_auth_admit(s, rt->user, rt, old, upd, &causes, &err) < 0 ||
        kn_admission_update(s, rt, old, upd, &causes, &err) < 0)
        api_error(resp, rt, err);
    else if (causes.len)
        respond_invalid(resp, rt, rt->name, &causes);
    else
        store_update(s, rt, upd, old_rev, as_scale, raced, resp);
    kn_error_free(&err);
    kn_causes_free(&causes);
}

enum { UPDATE_ATTEMPTS = 8 };

/* One attempt of a PUT against the current object; *raced when a concurrent
 * write got in between (only for unconditional updates). */
static void update_once(kn_apiserver *s, const api_route *rt, const cJSON *body, bool retryable,
                        bool *raced, kn_http_response *resp)
{
    kn_error *err = NULL;
    cJSON *old = NULL, *upd = cJSON_Duplicate(body, 1);
    int64_t old_rev;
    if (api_load(s, rt, &old, &old_rev, &err) < 0) {
        api_error(resp, rt, err);
    } else if (strcmp(rt->sub, "scale") == 0) {
        cJSON *merged = kn_admission_apply_scale(rt->res, old, upd);
        cJSON_Delete(upd);
        upd = merged;
        api_route main = *rt;
        main.sub[0] = '\0';
        finish_update(s, &main, old, old_rev, upd, true, retryable ? raced : NULL, resp);
    } else {
        finish_update(s, rt, old, old_rev, upd, false, retryable ? raced : NULL, resp);
    }
    kn_error_free(&err);
    cJSON_Delete(old);
    cJSON_Delete(upd);
}

void api_update(kn_apiserver *s, const api_route *rt, kn_http_request *req, kn_http_response *resp)
{
    kn_error *err = NULL;
    cJSON *body = NULL, *problems = cJSON_CreateArray();
    kn_field_validation fv;
    if (api_field_validation(req, &fv, resp) < 0) {
        /* responded */
    } else if (api_decode_validated(req, rt, fv, &body, problems, &err) < 0 ||
               check_type(rt->res, body, &err) < 0) {
        api_error(resp, rt, err);
    } else {
        api_add_warnings(resp, fv, problems);
        const char *rv = kn_meta_str(body, "resourceVersion");
        bool retryable = !rv || !*rv; /* with a resourceVersion a conflict is the answer */
        bool raced = true;
        for (int i = 0; raced && i < UPDATE_ATTEMPTS; i++) {
            raced = false;
            update_once(s, rt, body, retryable && i + 1 < UPDATE_ATTEMPTS, &raced, resp);
        }
    }
    kn_error_free(&err);
    cJSON_Delete(body);
    cJSON_Delete(problems);
}

static int apply_patch(const char *ctype, const kn_schema_type *t, const cJSON *old,
                       const cJSON *patch, cJSON **out, kn_error **err)
{
    if (!ctype)
        ctype = "";
    if (strncmp(ctype, "application/json-patch+json", 27) == 0)
        return kn_json_patch_apply(old, patch, out, err);
    if (strncmp(ctype, "application/merge-patch+json", 28) == 0) {
        *out = kn_json_merge_patch_apply(old, patch);
        return 0;
    }
    if (strncmp(ctype, "application/strategic-merge-patch+json", 38) == 0)
        return kn_strategic_merge_patch(t, old, patch, out, err);
    if (strncmp(ctype, "application/apply-patch+yaml", 28) == 0)
        return kn_error_set(err, KN_ENOTSUP,
                            "server-side apply is not supported yet; use "
                            "client-side kubectl apply");
    return kn_error_set(err, KN_ENOTSUP,
                        "the body of the request was in an unknown format - "
                        "accepted media types include: "
                        "application/json-patch+json, "
                        "application/merge-patch+json, "
                        "application/strategic-merge-patch+json");
}

/* One attempt of a PATCH against the current object. A patch that does not
 * set metadata.resourceVersion itself is retried when *raced. */
typedef struct patch_req {
    const cJSON *patch;
    const char *ctype;
    kn_field_validation fv;
    cJSON *problems; /* of the last attempt */
} patch_req;

/* Field validation of a patched object: upstream shows the patch for a
 * strategic merge patch, the patched object for the others. */
static int check_patched(const api_route *rt, patch_req *p, cJSON *upd, kn_http_response *resp)
{
    bool smp = p->ctype && strncmp(p->ctype, "application/strategic-merge-patch+json", 38) == 0;
    cleanup_free char *value = kn_json_print(smp ? p->patch : upd);
    return api_check_patched(rt, p->fv, upd, value, p->problems, resp);
}

static void patch_once(kn_apiserver *s, const api_route *rt, patch_req *p, bool may_retry,
                       bool *raced, kn_http_response *resp)
{
    const cJSON *patch = p->patch;
    const char *ctype = p->ctype;
    kn_error *err = NULL;
    cJSON *old = NULL, *upd = NULL, *view = NULL;
    int64_t old_rev;
    bool scale = strcmp(rt->sub, "scale") == 0;
    if (api_load(s, rt, &old, &old_rev, &err) < 0)
        goto fail;
    view = scale ? kn_admission_scale_view(rt->res, old) : cJSON_Duplicate(old, 1);
    if (apply_patch(ctype, api_body_schema(rt), view, patch, &upd, &err) < 0)
        goto fail;
    if (!cJSON_IsObject(upd)) {
        kn_error_set(&err, KN_EINVAL, "the patch did not produce an object");
        goto fail;
    }
    if (check_patched(rt, p, upd, resp) < 0)
        goto out;
    const char *was = kn_meta_str(view, "resourceVersion"),
               *now = kn_meta_str(upd, "resourceVersion");
    bool unconditional = !now || (was && strcmp(was, now) == 0);
    bool *r = may_retry && unconditional ? raced : NULL;
    if (scale) {
        cJSON *merged = kn_admission_apply_scale(rt->res, old, upd);
        cJSON_Delete(upd);
        upd = merged;
        api_route main = *rt;
        main.sub[0] = '\0';
        finish_update(s, &main, old, old_rev, upd, true, r, resp);
    } else {
        finish_update(s, rt, old, old_rev, upd, false, r, resp);
    }
    goto out;
fail:
    api_error(resp, rt, err);
out:
    kn_error_free(&err);
    cJSON_Delete(old);
    cJSON_Delete(upd);
    cJSON_Delete(view);
}

void api_patch(kn_apiserver *s, const api_route *rt, kn_http_request *req, kn_http_response *resp)
{
    patch_req p = {.ctype = kn_http_header(req, "Content-Type")};
    cJSON *patch = NULL, *parse_problems = cJSON_CreateArray();
    kn_error *err = NULL;
    if (api_field_validation(req, &p.fv, resp) < 0)
        goto out;
    if (api_parse_patch(req, p.fv, &patch, parse_problems, &err) < 0) {
        api_status(resp, 400, "BadRequest", kn_error_msg(err));
        goto out;
    }
    p.patch = patch;
    bool raced = true;
    for (int i = 0; raced && i < UPDATE_ATTEMPTS; i++) {
        raced = false;
        cJSON_Delete(p.problems);
        p.problems = cJSON_Duplicate(parse_problems, 1);
        patch_once(s, rt, &p, i + 1 < UPDATE_ATTEMPTS, &raced, resp);
    }
    if (resp->status < 300)
        api_add_warnings(resp, p.fv, p.problems);
out:
    kn_error_free(&err);
    cJSON_Delete(patch);
    cJSON_Delete(parse_problems);
    cJSON_Delete(p.problems);
}

/* ---- delete ------------------------------------------------------------------- */

static int check_preconditions(const api_route *rt, const cJSON *old, int64_t rev,
                               const kn_delete_opts *o, kn_error **err)
{
    const char *uid = kn_meta_str(old, "uid");
    if (o->uid && *o->uid && (!uid || strcmp(uid, o->uid) != 0))
        return kn_error_set(err, KN_ECONFLICT,
                            "Precondition failed: UID in precondition: %s, UID in object meta: %s",
                            o->uid, uid ? uid : "");
    if (o->rv && *o->rv && parse_rv(o->rv) != rev)
        return kn_error_set(err, KN_ECONFLICT,
                            "Precondition failed: ResourceVersion in precondition: %s, "
                            "ResourceVersion in object meta: %lld",
                            o->rv, (long long)rev);
    (void)rt;
    return 0;
}

void api_delete(kn_apiserver *s, const api_route *rt, kn_http_request *req, kn_http_response *resp)
{
    kn_error *err = NULL;
    cJSON *old = NULL;
    int64_t rev;
    kn_delete_opts o;
    kn_causes causes = {0};
    cleanup_free char *key = api_key(rt->res, rt->ns, rt->name);
    if (kn_delete_opts_parse(query, req, req->body.data, req->body.len, &o, &causes, &err) < 0) {
        api_error(resp, rt, err);
        goto out;
    }
    if (causes.len) {
        api_options_invalid(resp, "DeleteOptions", &causes);
        goto out;
    }
    if (api_load(s, rt, &old, &rev, &err) < 0 || check_preconditions(rt, old, rev, &o, &err) < 0) {
        api_error(resp, rt, err);
        goto out;
    }
    /* graceful deletion and finalizers keep the object with a deletionTimestamp */
    cJSON *upd = cJSON_Duplicate(old, 1);
    if (kn_admission_begin_delete(rt->res, upd, o.grace, o.propagation)) {
        store_update(s, rt, upd, rev, false, NULL, resp);
        cJSON_Delete(upd);
        goto out;
    }
    cJSON_Delete(upd);
    if (kn_store_delete(s->opts.store, key, rev, NULL, NULL, &err) < 0) {
        if (kn_error_code(err) == KN_ECONFLICT) {
            kn_error_free(&err);
            kn_error_set(&err, KN_ECONFLICT,
                         "Operation cannot be fulfilled on %s \"%s\": the "
                         "object has been modified; please apply your "
                         "changes to the latest version and try again",
                         rt->res->name, rt->name);
        }
        api_error(resp, rt, err);
        goto out;
    }
    api_json(resp, 200, old);
out:
    kn_error_free(&err);
    kn_causes_free(&causes);
    cJSON_Delete(old);
    kn_delete_opts_free(&o);
}

/* fieldvalid.c - the fieldValidation directive: unknown and duplicate
 * fields found with the schema table, rejected (Strict), reported as
 * warnings (Warn) or ignored; unknown fields are dropped in every mode. */
#include "controlplane/fieldvalid.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controlplane/apiserver-internal.h"
#include "controlplane/kproto.h"
#include "lib/json.h"
#include "lib/strbuf.h"
#include "lib/xalloc.h"
#include "lib/yaml.h"

int kn_field_validation_parse(const char *value, kn_field_validation *out, kn_error **err)
{
    if (!value || !*value || strcmp(value, "Warn") == 0)
        *out = KN_FV_WARN;
    else if (strcmp(value, "Strict") == 0)
        *out = KN_FV_STRICT;
    else if (strcmp(value, "Ignore") == 0)
        *out = KN_FV_IGNORE;
    else
        return kn_error_set(err, KN_EINVAL,
                            "fieldValidation: Unsupported value: \"%s\": supported values: \"\", "
                            "\"Ignore\", \"Strict\", \"Warn\"",
                            value);
    return 0;
}

/* ---- unknown fields ---------------------------------------------------------------- */

static void prune_object(const kn_schema_type *t, cJSON *obj, kn_buf *path, cJSON *problems,
                         size_t *n);

/* Descends into the value of one known field (an object, or a list of
 * them) when the field is a message. */
static void prune_value(const kn_schema_field *f, cJSON *v, kn_buf *path, cJSON *problems,
                        size_t *n)
{
    if (f->kind != KN_SK_MESSAGE)
        return;
    if (!(f->flags & KN_SF_REPEATED)) {
        if (cJSON_IsObject(v))
            prune_object(f->type, v, path, problems, n);
        return;
    }
    size_t len = path->len, i = 0;
    cJSON *e;
    cJSON_ArrayForEach(e, v)
    {
        kn_buf_appendf(path, "[%zu]", i++);
        if (cJSON_IsObject(e))
            prune_object(f->type, e, path, problems, n);
        kn_buf_truncate(path, len);
    }
}

static void prune_object(const kn_schema_type *t, cJSON *obj, kn_buf *path, cJSON *problems,
                         size_t *n)
{
    cJSON *m = obj->child;
    while (m) {
        cJSON *next = m->next;
        size_t len = path->len;
        kn_buf_appendf(path, "%s%s", len ? "." : "", m->string);
        const kn_schema_field *f = kn_schema_field_by_json(t, m->string);
        bool typemeta = t->kind && len == 0 &&
                        (strcmp(m->string, "apiVersion") == 0 || strcmp(m->string, "kind") == 0);
        if (f) {
            prune_value(f, m, path, problems, n);
        } else if (!typemeta) {
            if (problems) {
                char *msg = xasprintf("unknown field \"%s\"", path->data);
                cJSON_AddItemToArray(problems, cJSON_CreateString(msg));
                free(msg);
            }
            cJSON_Delete(cJSON_DetachItemViaPointer(obj, m));
            (*n)++;
        }
        kn_buf_truncate(path, len);
        m = next;
    }
}

size_t kn_field_prune_unknown(const kn_schema_type *t, cJSON *obj, cJSON *problems)
{
    size_t n = 0;
    if (!t || !cJSON_IsObject(obj))
        return 0;
    kn_buf path;
    kn_buf_init(&path);
    kn_buf_append_str(&path, "");
    prune_object(t, obj, &path, problems, &n);
    kn_buf_free(&path);
    return n;
}

char *kn_field_strict_message(const cJSON *problems)
{
    kn_buf b;
    kn_buf_init(&b);
    kn_buf_append_str(&b, "strict decoding error: ");
    const cJSON *p;
    cJSON_ArrayForEach(p, problems)
    {
        kn_buf_appendf(&b, "%s%s", p == problems->child ? "" : ", ", p->valuestring);
    }
    return kn_buf_steal(&b);
}

char *kn_field_warning_header(const cJSON *problems)
{
    kn_buf b;
    kn_buf_init(&b);
    const cJSON *p;
    cJSON_ArrayForEach(p, problems)
    {
        kn_buf_append_str(&b, p == problems->child ? "299 - \"" : ", 299 - \"");
        for (const char *c = p->valuestring; *c; c++) {
            if (*c == '"' || *c == '\\')
                kn_buf_append_char(&b, '\\');
            kn_buf_append_char(&b, *c);
        }
        kn_buf_append_char(&b, '"');
    }
    return kn_buf_steal(&b);
}

/* ---- the API server's side -------------------------------------------------------------- */

int api_field_validation(kn_http_request *req, kn_field_validation *fv, kn_http_response *resp)
{
    kn_error *err = NULL;
    if (kn_field_validation_parse(kn_http_query(req, "fieldValidation"), fv, &err) == 0)
        return 0;
    char *msg = xasprintf("CreateOptions.meta.k8s.io \"\" is invalid: %s", kn_error_msg(err));
    kn_http_respond(resp, 422, "application/json",
                    kn_status_json(422, "Invalid", msg, "meta.k8s.io", "CreateOptions", "", NULL));
    free(msg);
    kn_error_free(&err);
    return -1;
}

void api_add_warnings(kn_http_response *resp, kn_field_validation fv, const cJSON *problems)
{
    if (fv != KN_FV_WARN || !cJSON_GetArraySize(problems))
        return;
    char *h = kn_field_warning_header(problems);
    kn_http_add_header(resp, "Warning", h);
    free(h);
}

/* A duplicate key in words of upstream's strict decoders: JSON `duplicate
 * field "spec.replicas"`, YAML `yaml: unmarshal errors:\n  line 7: key
 * "replicas" already set in map`. */
static void add_duplicate(cJSON *problems, kn_http_request *req, const kn_error *err)
{
    cJSON *tmp = NULL;
    kn_error *jerr = NULL;
    if (kn_json_parse_opts(req->body.data, req->body.len, KN_API_MAX_BODY,
                           KN_JSON_REJECT_DUPLICATES, &tmp, &jerr) < 0 &&
        strstr(kn_error_msg(jerr), "duplicate field ")) {
        cJSON_AddItemToArray(problems,
                             cJSON_CreateString(strstr(kn_error_msg(jerr), "duplicate field ")));
        kn_error_free(&jerr);
        return;
    }
    cJSON_Delete(tmp);
    kn_error_free(&jerr);
    const char *msg = kn_error_msg(err), *line = strstr(msg, "line "),
               *key = strstr(msg, "duplicate key ");
    if (line && key) {
        char *m = xasprintf("yaml: unmarshal errors:\n  line %d: key %s already set in map",
                            atoi(line + 5), key + 14);
        cJSON_AddItemToArray(problems, cJSON_CreateString(m));
        free(m);
    } else {
        cJSON_AddItemToArray(problems, cJSON_CreateString(msg));
    }
}

static bool is_duplicate(const kn_error *err)
{
    return kn_error_code(err) == KN_EINVAL && strstr(kn_error_msg(err), "duplicate ");
}

/* The schema of a route's body: Scale, Binding, Eviction or TokenRequest
 * for those subresources, else the resource's kind. */
const kn_schema_type *api_body_schema(const api_route *rt)
{
    static const char *const subs[][3] = {
        {"scale", "autoscaling/v1", "Scale"},
        {"binding", "v1", "Binding"},
        {"eviction", "policy/v1", "Eviction"},
        {"token", "authentication.k8s.io/v1", "TokenRequest"},
    };
    for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
        if (strcmp(rt->sub, subs[i][0]) == 0)
            return kn_schema_by_kind(subs[i][1], subs[i][2]);
    }
    char apiv[64];
    return kn_schema_by_kind(kn_resource_api_version(rt->res, apiv, sizeof(apiv)), rt->res->kind);
}

/* upstream's "<Kind> in version "<v>" cannot be handled as a <Kind>: why" */
static int cannot_handle(const api_route *rt, const char *why, kn_error **err)
{
    const kn_schema_type *t = api_body_schema(rt);
    const char *slash = t ? strchr(t->api_version, '/') : NULL;
    return kn_error_set(err, KN_EINVAL, "%s in version \"%s\" cannot be handled as a %s: %s",
                        t ? t->kind : rt->res->kind,
                        slash ? slash + 1 : (t ? t->api_version : rt->res->version),
                        t ? t->kind : rt->res->kind, why);
}

int api_decode_validated(kn_http_request *req, const api_route *rt, kn_field_validation fv,
                         cJSON **out, cJSON *problems, kn_error **err)
{
    bool proto = kn_kproto_is_media_type(kn_http_header(req, "Content-Type"));
    if (api_decode_body_opts(req, 0, out, err) < 0) {
        if (!is_duplicate(*err) || proto)
            return -KN_EINVAL;
        add_duplicate(problems, req, *err);
        kn_error_free(err);
        if (api_decode_body_opts(req, KN_YAML_ALLOW_DUPLICATES, out, err) < 0)
            return -KN_EINVAL;
    }
    char *why = proto ? NULL : kn_field_type_error(api_body_schema(rt), *out);
    if (!why)
        kn_field_prune_unknown(api_body_schema(rt), *out, problems);
    if (!why && (fv != KN_FV_STRICT || !cJSON_GetArraySize(problems)))
        return 0;
    cJSON_Delete(*out);
    *out = NULL;
    if (!why)
        why = kn_field_strict_message(problems);
    cannot_handle(rt, why, err);
    free(why);
    return -KN_EINVAL;
}

int api_parse_patch(kn_http_request *req, kn_field_validation fv, cJSON **out, cJSON *problems,
                    kn_error **err)
{
    kn_error *perr = NULL;
    unsigned flags = fv == KN_FV_IGNORE ? 0 : KN_JSON_REJECT_DUPLICATES;
    if (kn_json_parse_opts(req->body.data, req->body.len, KN_API_MAX_BODY, flags, out, &perr) == 0)
        return 0;
    if (!is_duplicate(perr)) {
        kn_error_free(&perr);
        return kn_error_set(err, KN_EINVAL, "the patch is not valid JSON");
    }
    if (fv == KN_FV_STRICT) {
        kn_error_set(err, KN_EINVAL, "%s", kn_error_msg(perr));
        kn_error_free(&perr);
        return -KN_EINVAL;
    }
    add_duplicate(problems, req, perr);
    kn_error_free(&perr);
    return kn_json_parse(req->body.data, req->body.len, KN_API_MAX_BODY, out, err);
}

int api_check_patched(const api_route *rt, kn_field_validation fv, cJSON *upd, const char *value,
                      cJSON *problems, kn_http_response *resp)
{
    kn_field_prune_unknown(api_body_schema(rt), upd, problems);
    if (fv != KN_FV_STRICT || !cJSON_GetArraySize(problems))
        return 0;
    /* upstream: errors.NewInvalid(schema.GroupKind{}, "", {patch: Invalid value}) */
    char *strict = kn_field_strict_message(problems);
    kn_causes causes = {0};
    kn_causes_add(&causes, "FieldValueInvalid", "patch", "Invalid value: \"%s\": %s", value,
                  strict);
    char *msg = xasprintf(" \"\" is invalid: patch: %s", causes.items[0].message);
    kn_http_respond(resp, 422, "application/json",
                    kn_status_json(422, "Invalid", msg, NULL, NULL, "", &causes));
    free(msg);
    free(strict);
    kn_causes_free(&causes);
    return -1;
}

/* apiserver.c - request entry: authentication, authorization, discovery,
 * routing to the object operations. */
#include "controlplane/svc-alloc.h"
#include "controlplane/apiserver.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controlplane/apiserver-internal.h"
#include "controlplane/auth.h"
#include "controlplane/openapi.h"
#include "lib/file.h"
#include "lib/cleanup.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/version.h"
#include "lib/xalloc.h"

/* The Kubernetes version knode's API surface corresponds to: within the
 * supported skew of kubectl 1.27-1.33. */
#define KN_KUBE_MAJOR "1"
#define KN_KUBE_MINOR "30"

void api_json(kn_http_response *resp, int code, const cJSON *obj)
{
    char *text = kn_json_print(obj);
    kn_http_respond(resp, code, "application/json", text);
}

void api_status(kn_http_response *resp, int code, const char *reason, const char *message)
{
    kn_http_respond(resp, code, "application/json",
                    kn_status_json(code, reason, message, NULL, NULL, NULL, NULL));
}

void api_error(kn_http_response *resp, const api_route *rt, const kn_error *err)
{
    const char *reason;
    int code = kn_status_from_error(kn_error_code(err), &reason);
    const char *kind = rt && rt->res ? rt->res->name : NULL;
    const char *group = rt && rt->res ? rt->res->group : NULL;
    const char *name = rt && rt->name[0] ? rt->name : NULL;
    kn_http_respond(resp, code, "application/json",
                    kn_status_json(code, reason, kn_error_msg(err), group, kind, name, NULL));
}

static void text(kn_http_response *resp, int code, const char *body)
{
    kn_http_respond(resp, code, "text/plain; charset=utf-8", xstrdup(body));
}

/* ---- discovery ---------------------------------------------------------- */

static void version(kn_http_response *resp)
{
    cJSON *v = cJSON_CreateObject();
    cJSON_AddStringToObject(v, "major", KN_KUBE_MAJOR);
    cJSON_AddStringToObject(v, "minor", KN_KUBE_MINOR);
    char git[64];
    snprintf(git, sizeof(git), "v%s.%s.0-knode.%s", KN_KUBE_MAJOR, KN_KUBE_MINOR, kn_version());
    cJSON_AddStringToObject(v, "gitVersion", git);
    cJSON_AddStringToObject(v, "gitCommit", kn_version_commit());
    cJSON_AddStringToObject(v, "gitTreeState", "clean");
    cJSON_AddStringToObject(v, "buildDate", "1970-01-01T00:00:00Z");
    cJSON_AddStringToObject(v, "goVersion", "none (C)");
    cJSON_AddStringToObject(v, "compiler", "gcc");
    char platform[32];
    snprintf(platform, sizeof(platform), "linux/%s", kn_version_arch());
    cJSON_AddStringToObject(v, "platform", platform);
    api_json(resp, 200, v);
    cJSON_Delete(v);
}

static void api_versions(kn_apiserver *s, kn_http_response *resp)
{
    cJSON *v = cJSON_CreateObject();
    cJSON_AddStringToObject(v, "kind", "APIVersions");
    cJSON *vs = cJSON_AddArrayToObject(v, "versions");
    cJSON_AddItemToArray(vs, cJSON_CreateString("v1"));
    cJSON *addrs = cJSON_AddArrayToObject(v, "serverAddressByClientCIDRs");
    cJSON *a = cJSON_CreateObject();
    cJSON_AddStringToObject(a, "clientCIDR", "0.0.0.0/0");
    cJSON_AddStringToObject(a, "serverAddress", s->server_address);
    cJSON_AddItemToArray(addrs, a);
    api_json(resp, 200, v);
    cJSON_Delete(v);
}

static cJSON *group_version(const char *group, const char *version)
{
    cJSON *gv = cJSON_CreateObject();
    char buf[128];
    snprintf(buf, sizeof(buf), "%s/%s", group, version);
    cJSON_AddStringToObject(gv, "groupVersion", buf);
    cJSON_AddStringToObject(gv, "version", version);
    return gv;
}

static void api_groups(kn_http_response *resp)
{
    cJSON *l = cJSON_CreateObject();
    cJSON_AddStringToObject(l, "kind", "APIGroupList");
    cJSON_AddStringToObject(l, "apiVersion", "v1");
    cJSON *groups = cJSON_AddArrayToObject(l, "groups");
    for (size_t i = 0; i < kn_resource_count(); i++) {
        const kn_resource *r = kn_resource_at(i);
        if (!r->group[0])
            continue;
        bool seen = false;
        cJSON *g;
        cJSON_ArrayForEach(g, groups)
        {
            seen = seen || strcmp(cJSON_GetObjectItem(g, "name")->valuestring, r->group) == 0;
        }
        if (seen)
            continue;
        g = cJSON_CreateObject();
        cJSON_AddStringToObject(g, "name", r->group);
        cJSON *vs = cJSON_AddArrayToObject(g, "versions");
        cJSON_AddItemToArray(vs, group_version(r->group, r->version));
        cJSON_AddItemToObject(g, "preferredVersion", group_version(r->group, r->version));
        cJSON_AddItemToArray(groups, g);
    }
    api_json(resp, 200, l);
    cJSON_Delete(l);
}

static cJSON *string_array(const char *const *items)
{
    cJSON *a = cJSON_CreateArray();
    for (size_t i = 0; items[i]; i++)
        cJSON_AddItemToArray(a, cJSON_CreateString(items[i]));
    return a;
}

static cJSON *resource_entry(const kn_resource *r, const char *sub)
{
    static const char *const all_verbs[] = {
        "create", "delete", "deletecollection", "get", "list", "patch", "update", "watch", NULL};
    static const char *const sub_verbs[] = {"get", "patch", "update", NULL};
    static const char *const create_only[] = {"create", NULL};
    static const char *const get_only[] = {"get", NULL};
    static const char *const connect[] = {"create", "get", NULL};
    cJSON *e = cJSON_CreateObject();
    char name[96];
    snprintf(name, sizeof(name), sub ? "%s/%s" : "%s", r->name, sub);
    cJSON_AddStringToObject(e, "name", name);
    cJSON_AddStringToObject(e, "singularName", sub ? "" : r->singular);
    cJSON_AddBoolToObject(e, "namespaced", r->namespaced);
    cJSON_AddStringToObject(e, "kind", sub && strcmp(sub, "scale") == 0 ? "Scale" : r->kind);
    if (sub && strcmp(sub, "scale") == 0)
        cJSON_AddStringToObject(e, "group", "autoscaling"),
            cJSON_AddStringToObject(e, "version", "v1");
    const char *const *verbs = all_verbs;
    if (sub &&
        (strcmp(sub, "binding") == 0 || strcmp(sub, "eviction") == 0 || strcmp(sub, "token") == 0))
        verbs = create_only;
    else if (sub && (strcmp(sub, "exec") == 0 || strcmp(sub, "attach") == 0 ||
                     strcmp(sub, "portforward") == 0))
        verbs = connect; /* upstream's connecters: GET and POST */
    else if (sub && (strcmp(sub, "log") == 0 || strcmp(sub, "proxy") == 0))
        verbs = get_only;
    else if (sub)
        verbs = sub_verbs;
    cJSON_AddItemToObject(e, "verbs", string_array(verbs));
    if (!sub && r->short_names[0])
        cJSON_AddItemToObject(e, "shortNames", string_array(r->short_names));
    if (!sub && r->in_category_all) {
        static const char *const all[] = {"all", NULL};
        cJSON_AddItemToObject(e, "categories", string_array(all));
    }
    return e;
}

static void resource_list(const char *group, const char *version, kn_http_response *resp)
{
    cJSON *l = cJSON_CreateObject();
    cJSON_AddStringToObject(l, "kind", "APIResourceList");
    cJSON_AddStringToObject(l, "apiVersion", "v1");
    char gv[128];
    snprintf(gv, sizeof(gv), group[0] ? "%s/%s" : "%.0s%s", group, version);
    cJSON_AddStringToObject(l, "groupVersion", gv);
    cJSON *rs = cJSON_AddArrayToObject(l, "resources");
    bool any = false;
    for (size_t i = 0; i < kn_resource_count(); i++) {
        const kn_resource *r = kn_resource_at(i);
        if (strcmp(r->group, group) != 0 || strcmp(r->version, version) != 0)
            continue;
        any = true;
        cJSON_AddItemToArray(rs, resource_entry(r, NULL));
        for (size_t j = 0; r->subresources[j]; j++)
            cJSON_AddItemToArray(rs, resource_entry(r, r->subresources[j]));
    }
    if (any)
        api_json(resp, 200, l);
    else
        api_status(resp, 404, "NotFound", "the server could not find the requested resource");
    cJSON_Delete(l);
}

static void openapi(const char *rest, kn_http_response *resp)
{
    cJSON *doc = NULL;
    if (!*rest || strcmp(rest, "/") == 0)
        doc = kn_openapi_v3_index();
    else if (*rest == '/')
        doc = kn_openapi_v3_gv(rest + 1);
    if (!doc)
        return api_status(resp, 404, "NotFound",
                          "the server could not find the requested resource");
    api_json(resp, 200, doc);
    cJSON_Delete(doc);
}

static void openapi_v2(kn_http_request *req, kn_http_response *resp)
{
    const char *accept = kn_http_header(req, "Accept");
    if (!accept || !strstr(accept, "protobuf"))
        return api_status(resp, 406, "NotAcceptable",
                          "only application/com.github.proto-openapi.spec.v2@v1.0+protobuf is "
                          "served for /openapi/v2");
    size_t len;
    char *doc = kn_openapi_v2_proto(&len);
    kn_http_respond(resp, 200, "application/com.github.proto-openapi.spec.v2.v1.0+protobuf", doc);
    resp->body_len = len;
}

/* ---- routing -------------------------------------------------------------- */

/* Splits path into at most max segments (in place in buf). */
static size_t split_path(char *buf, char **seg, size_t max)
{
    size_t n = 0;
    for (char *save = NULL, *t = strtok_r(buf, "/", &save); t && n < max;
         t = strtok_r(NULL, "/", &save))
        seg[n++] = t;
    return n;
}

static bool copy_seg(char *dst, size_t size, const char *src)
{
    if (strlen(src) >= size)
        return false;
    memcpy(dst, src, strlen(src) + 1);
    return true;
}

/* seg points after the group/version: [namespaces/NS/]RES[/NAME[/SUB]] */
static int parse_resource_path(const char *group, const char *version, char **seg, size_t n,
                               api_route *rt)
{
    size_t i = 0;
    if (n >= 3 && strcmp(seg[0], "namespaces") == 0) {
        if (!copy_seg(rt->ns, sizeof(rt->ns), seg[1]))
            return -1;
        i = 2;
    }
    if (i >= n)
        return -1;
    rt->res = kn_resource_find(group, version, seg[i]);
    if (!rt->res && i == 2) {
        /* /api/v1/namespaces/NAME[/status]: the namespace object itself */
        rt->res = kn_resource_find(group, version, "namespaces");
        if (!rt->res)
            return -1;
        copy_seg(rt->name, sizeof(rt->name), rt->ns);
        rt->ns[0] = '\0';
        return n > 2 && !copy_seg(rt->sub, sizeof(rt->sub), seg[2]) ? -1 : 0;
    }
    if (!rt->res)
        return -1;
    if (i + 1 < n && !copy_seg(rt->name, sizeof(rt->name), seg[i + 1]))
        return -1;
    if (i + 2 < n && !copy_seg(rt->sub, sizeof(rt->sub), seg[i + 2]))
        return -1;
    if (i + 3 < n)
        return -1;
    if (rt->ns[0] && !rt->res->namespaced)
        return -1;
    if (rt->sub[0] && !kn_resource_has_sub(rt->res, rt->sub))
        return -1;
    return 0;
}

typedef enum { ROUTE_NONE, ROUTE_DONE, ROUTE_RESOURCE } route_kind;

/* Serves discovery paths directly; parses resource paths into rt. */
static route_kind route(kn_apiserver *s, const char *path, api_route *rt, kn_http_response *resp)
{
    cleanup_free char *buf = xstrdup(path);
    char *seg[12];
    size_t n = split_path(buf, seg, 12);
    if (n == 1 && strcmp(seg[0], "api") == 0)
        return api_versions(s, resp), ROUTE_DONE;
    if (n == 1 && strcmp(seg[0], "apis") == 0)
        return api_groups(resp), ROUTE_DONE;
    if (n == 2 && strcmp(seg[0], "api") == 0)
        return resource_list("", seg[1], resp), ROUTE_DONE;
    if (n == 3 && strcmp(seg[0], "apis") == 0)
        return resource_list(seg[1], seg[2], resp), ROUTE_DONE;
    if (n >= 3 && strcmp(seg[0], "api") == 0 &&
        parse_resource_path("", seg[1], seg + 2, n - 2, rt) == 0)
        return ROUTE_RESOURCE;
    if (n >= 4 && strcmp(seg[0], "apis") == 0 &&
        parse_resource_path(seg[1], seg[2], seg + 3, n - 3, rt) == 0)
        return ROUTE_RESOURCE;
    return ROUTE_NONE;
}

static void dispatch(kn_apiserver *s, const api_route *rt, kn_http_request *req,
                     kn_http_response *resp)
{
    const char *m = req->method;
    bool watch = kn_http_query(req, "watch") && (strcmp(kn_http_query(req, "watch"), "true") == 0 ||
                                                 strcmp(kn_http_query(req, "watch"), "1") == 0);
    if (rt->name[0] && strcmp(rt->res->name, "pods") == 0 && !rt->res->group[0] &&
        (strcmp(rt->sub, "exec") == 0 || strcmp(rt->sub, "attach") == 0 ||
         strcmp(rt->sub, "portforward") == 0))
        api_pod_stream(s, rt, req, resp);
    else if (strcmp(m, "GET") == 0 && watch && !rt->name[0])
        api_watch(s, rt, req, resp);
    else if (strcmp(m, "GET") == 0 && rt->name[0])
        api_get(s, rt, req, resp);
    else if (strcmp(m, "GET") == 0)
        api_list(s, rt, req, resp);
    else if (strcmp(m, "POST") == 0)
        api_create(s, rt, req, resp);
    else if (strcmp(m, "PUT") == 0 && rt->name[0])
        api_update(s, rt, req, resp);
    else if (strcmp(m, "PATCH") == 0 && rt->name[0])
        api_patch(s, rt, req, resp);
    else if (strcmp(m, "DELETE") == 0 && rt->name[0])
        api_delete(s, rt, req, resp);
    else
        api_status(resp, 405, "MethodNotAllowed",
                   "the server does not allow this method on the requested resource");
}

/* The Kubernetes verb of a resource request. */
static const char *verb_of(kn_http_request *req, const api_route *rt)
{
    const char *m = req->method;
    const char *w = kn_http_query(req, "watch");
    if (strcmp(m, "GET") == 0)
        return !rt->name[0]
                   ? (w && (strcmp(w, "true") == 0 || strcmp(w, "1") == 0) ? "watch" : "list")
                   : "get";
    if (strcmp(m, "POST") == 0)
        return "create";
    if (strcmp(m, "PUT") == 0)
        return "update";
    if (strcmp(m, "PATCH") == 0)
        return "patch";
    return strcmp(m, "DELETE") == 0 ? "delete" : "unknown";
}

static bool health_path(const char *path)
{
    return strcmp(path, "/healthz") == 0 || strcmp(path, "/livez") == 0 ||
           strcmp(path, "/readyz") == 0;
}

static void handle(void *userdata, kn_http_request *req, kn_http_response *resp)
{
    kn_apiserver *s = userdata;
    api_user user = {0};
    if (health_path(req->path))
        return text(resp, 200, "ok");
    kn_error *err = NULL;
    if (kn_auth_authenticate(s, req, &user, &err) < 0) {
        KN_V(2, "apiserver", "%s %s: unauthorized: %s", req->method, req->path, kn_error_msg(err));
        kn_error_free(&err);
        return api_status(resp, 401, "Unauthorized", "Unauthorized");
    }
    if (strcmp(req->path, "/version") == 0)
        return version(resp);
    if (strncmp(req->path, "/openapi/v3", 11) == 0)
        return openapi(req->path + 11, resp);
    if (strcmp(req->path, "/openapi/v2") == 0)
        return openapi_v2(req, resp);
    api_route rt = {0};
    route_kind k = route(s, req->path, &rt, resp);
    if (k == ROUTE_DONE)
        return;
    if (k == ROUTE_NONE)
        return api_status(resp, 404, "NotFound",
                          "the server could not find the requested resource");
    rt.user = &user;
    if (!kn_auth_authorize_request(s, &user, verb_of(req, &rt), &rt, req, resp))
        return;
    KN_V(4, "apiserver", "%s %s user=%s", req->method, req->path, user.name);
    dispatch(s, &rt, req, resp);
}

/* ---- lifecycle -------------------------------------------------------------- */

/* A PEM file of the data dir, or NULL with *err set. */
static char *read_file(const char *dir, const char *name, kn_error **err)
{
    cleanup_free char *path = xasprintf("%s/%s", dir, name);
    char *data = NULL;
    kn_read_file(path, 1 << 20, &data, NULL, err);
    return data;
}

int kn_apiserver_start(const kn_apiserver_opts *opts, kn_apiserver **out, kn_error **err)
{
    cleanup_free char *cert = read_file(opts->data_dir, "apiserver.crt", err);
    cleanup_free char *key = cert ? read_file(opts->data_dir, "apiserver.key", err) : NULL;
    cleanup_free char *ca = key ? read_file(opts->data_dir, "ca.crt", err) : NULL;
    if (!ca)
        return kn_error_wrap(err, "start API server");
    kn_apiserver *s = xcalloc(1, sizeof(*s));
    s->opts = *opts;
    pthread_mutex_init(&s->alloc_mu, NULL);
    kn_httpd_opts h = {.bind_address = opts->bind_address,
                       .port = opts->port,
                       .cert_pem = cert,
                       .key_pem = key,
                       .client_ca_pem = ca,
                       .max_body = KN_API_MAX_BODY,
                       .no_cache = true,
                       .handler = handle,
                       .userdata = s};
    if (kn_httpd_start(&h, &s->httpd, err) < 0) {
        free(s);
        return kn_error_wrap(err, "start API server");
    }
    s->server_address = xasprintf("%s:%d", opts->bind_address, kn_httpd_port(s->httpd));
    *out = s;
    return 0;
}

int kn_apiserver_port(const kn_apiserver *s)
{
    return kn_httpd_port(s->httpd);
}

void kn_apiserver_stop(kn_apiserver *s)
{
    if (!s)
        return;
    s->stopping = 1;
    kn_httpd_stop(s->httpd);
    free(s->server_address);
    pthread_mutex_destroy(&s->alloc_mu);
    kn_svc_alloc_free(s->svc_alloc);
    free(s);
}

/* auth.c - authentication, authorization (RBAC defaults + the Node
 * authorizer) and NodeRestriction admission. */
#include "controlplane/auth.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "controlplane/bootstrap-token.h"
#include "controlplane/csr-signer.h"
#include "controlplane/kproto.h"
#include "controlplane/objmeta.h"
#include "controlplane/satoken.h"
#include "lib/cleanup.h"
#include "lib/clock.h"
#include "lib/json.h"
#include "lib/strbuf.h"
#include "lib/xalloc.h"
#include "lib/yaml.h"

#define CLUSTER_INFO_PATH "/api/v1/namespaces/kube-public/configmaps/cluster-info"
#define ANONYMOUS "system:anonymous"
#define NODE_LEASE_NS "kube-node-lease"

/* ---- authentication ------------------------------------------------------------------ */

static void add_group(api_user *u, const char *g)
{
    if (u->ngroups < sizeof(u->groups) / sizeof(u->groups[0]))
        snprintf(u->groups[u->ngroups++], sizeof(u->groups[0]), "%.127s", g);
}

static int from_cert(const kn_http_request *req, api_user *u)
{
    snprintf(u->name, sizeof(u->name), "%s", req->cert.cn);
    for (size_t i = 0; i < req->cert.norgs; i++)
        add_group(u, req->cert.orgs[i]);
    return 0;
}

static int from_service_account_token(kn_apiserver *s, const char *token, api_user *u,
                                      kn_error **err)
{
    cJSON *claims = NULL;
    if (kn_sa_token_verify(s->opts.data_dir, token, NULL, &claims, err) < 0)
        return -KN_EUNAUTHORIZED;
    const char *ns = NULL, *name = NULL;
    int r = 0;
    if (kn_json_get_string(claims, "[\"kubernetes.io\"].namespace", &ns, NULL) < 0)
        r = kn_error_set(err, KN_EUNAUTHORIZED, "token has no namespace claim");
    if (r == 0 &&
        kn_json_get_string(claims, "[\"kubernetes.io\"].serviceaccount.name", &name, NULL) < 0)
        r = kn_error_set(err, KN_EUNAUTHORIZED, "token has no service account claim");
    if (r == 0) {
        snprintf(u->name, sizeof(u->name), "system:serviceaccount:%s:%s", ns, name);
        add_group(u, "system:serviceaccounts");
        char g[160];
        snprintf(g, sizeof(g), "system:serviceaccounts:%s", ns);
        add_group(u, g);
    }
    cJSON_Delete(claims);
    return r;
}

static int from_bearer(kn_apiserver *s, const char *token, api_user *u, kn_error **err)
{
    if (kn_btoken_is_token(token))
        return kn_btoken_authenticate(s->opts.store, token, kn_time_wall_ns(), u, err);
    return from_service_account_token(s, token, u, err);
}

int kn_auth_authenticate(kn_apiserver *s, const kn_http_request *req, api_user *u, kn_error **err)
{
    const char *authz = kn_http_header(req, "Authorization");
    int r;
    if (req->cert.verified) {
        r = from_cert(req, u);
    } else if (authz && strncasecmp(authz, "Bearer ", 7) == 0 && authz[7]) {
        r = from_bearer(s, authz + 7, u, err);
    } else if (!authz && strcmp(req->method, "GET") == 0 &&
               strcmp(req->path, CLUSTER_INFO_PATH) == 0) {
        snprintf(u->name, sizeof(u->name), ANONYMOUS);
        add_group(u, "system:unauthenticated");
        return 0;
    } else {
        r = kn_error_set(err, KN_EUNAUTHORIZED, "no credentials");
    }
    if (r == 0)
        add_group(u, "system:authenticated");
    return r;
}

bool kn_auth_in_group(const api_user *u, const char *g)
{
    for (size_t i = 0; i < u->ngroups; i++) {
        if (strcmp(u->groups[i], g) == 0)
            return true;
    }
    return false;
}

const char *kn_auth_node_name(const api_user *u)
{
    if (!u || strncmp(u->name, "system:node:", 12) != 0 || !u->name[12] ||
        !kn_auth_in_group(u, "system:nodes"))
        return NULL;
    return u->name + 12;
}

/* ---- messages ------------------------------------------------------------------------ */

/* "pods", or "leases.coordination.k8s.io" (upstream's GroupResource). */
static void qualified(kn_buf *b, const kn_resource *r)
{
    kn_buf_append_str(b, r->name);
    if (r->group[0])
        kn_buf_appendf(b, ".%s", r->group);
}

static void forbidden_prefix(kn_buf *b, const kn_resource *r, const char *name)
{
    qualified(b, r);
    if (name && *name)
        kn_buf_appendf(b, " \"%s\"", name);
    kn_buf_append_str(b, " is forbidden: ");
}

/* The authorizer's message; reason (may be NULL) is appended after ": ". */
static char *authz_message(const api_user *u, const kn_auth_attrs *a, const char *name,
                           const char *reason)
{
    const api_route *rt = a->rt;
    kn_buf m = KN_BUF_INIT;
    forbidden_prefix(&m, rt->res, name);
    kn_buf_appendf(&m, "User \"%s\" cannot %s resource \"%s", u->name, a->verb, rt->res->name);
    if (rt->sub[0])
        kn_buf_appendf(&m, "/%s", rt->sub);
    kn_buf_appendf(&m, "\" in API group \"%s\"", rt->res->group);
    if (rt->ns[0])
        kn_buf_appendf(&m, " in the namespace \"%s\"", rt->ns);
    else
        kn_buf_append_str(&m, " at the cluster scope");
    if (reason && *reason)
        kn_buf_appendf(&m, ": %s", reason);
    return kn_buf_steal(&m);
}

/* An admission plugin's message: `<resource> "<name>" is forbidden: <why>`. */
static char *admission_message(const kn_resource *r, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static char *admission_message(const kn_resource *r, const char *name, const char *fmt, ...)
{
    kn_buf m = KN_BUF_INIT;
    forbidden_prefix(&m, r, name);
    va_list ap;
    va_start(ap, fmt);
    kn_buf_appendv(&m, fmt, ap);
    va_end(ap);
    return kn_buf_steal(&m);
}

/* ---- objects in the store ------------------------------------------------------------ */

static cJSON *load(kn_apiserver *s, const char *resource, const char *ns, const char *name)
{
    const kn_resource *r = kn_resource_find("", "v1", resource);
    cleanup_free char *key = api_key(r, ns, name);
    kn_kv kv = {0};
    if (kn_store_get(s->opts.store, key, &kv, NULL) < 0)
        return NULL;
    cJSON *o = cJSON_ParseWithLength(kv.value, kv.value_len);
    kn_kv_free(&kv);
    return o;
}

static const char *str_at(const cJSON *o, const char *path)
{
    const char *v = NULL;
    kn_json_get_string_opt(o, path, NULL, &v, NULL);
    return v;
}

static bool str_eq(const char *a, const char *b)
{
    return a && b && strcmp(a, b) == 0;
}

typedef enum { POD_MISSING, POD_ELSEWHERE, POD_BOUND } pod_place;

static pod_place pod_bound(kn_apiserver *s, const char *ns, const char *pod, const char *node,
                           cJSON **out)
{
    cJSON *p = load(s, "pods", ns, pod);
    if (!p)
        return POD_MISSING;
    pod_place r = str_eq(str_at(p, "spec.nodeName"), node) ? POD_BOUND : POD_ELSEWHERE;
    if (out)
        *out = p;
    else
        cJSON_Delete(p);
    return r;
}

/* ---- what a pod references (upstream's VisitPodSecretNames/ConfigmapNames) ------------ */

typedef enum { REF_SECRET, REF_CONFIGMAP } ref_kind;

static bool name_is(const cJSON *o, const char *path, const char *name)
{
    const char *v = str_at(o, path);
    return v && *v && (!name || strcmp(v, name) == 0);
}

static bool container_refs(const cJSON *list, ref_kind k, const char *name)
{
    const char *env_path =
        k == REF_SECRET ? "valueFrom.secretKeyRef.name" : "valueFrom.configMapKeyRef.name";
    const char *from_path = k == REF_SECRET ? "secretRef.name" : "configMapRef.name";
    const cJSON *c, *e;
    cJSON_ArrayForEach(c, list)
    {
        cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(c, "env"))
        {
            if (name_is(e, env_path, name))
                return true;
        }
        cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(c, "envFrom"))
        {
            if (name_is(e, from_path, name))
                return true;
        }
    }
    return false;
}

static bool volume_refs(const cJSON *v, ref_kind k, const char *name)
{
    static const char *const secret_paths[] = {"secret.secretName",
                                               "csi.nodePublishSecretRef.name",
                                               "cephfs.secretRef.name",
                                               "rbd.secretRef.name",
                                               "iscsi.secretRef.name",
                                               "flexVolume.secretRef.name",
                                               "azureFile.secretName",
                                               "scaleIO.secretRef.name",
                                               "storageos.secretRef.name",
                                               "cinder.secretRef.name",
                                               NULL};
    static const char *const cm_paths[] = {"configMap.name", NULL};
    const char *const *paths = k == REF_SECRET ? secret_paths : cm_paths;
    for (size_t i = 0; paths[i]; i++) {
        if (name_is(v, paths[i], name))
            return true;
    }
    const cJSON *src;
    cJSON_ArrayForEach(src, cJSON_GetObjectItemCaseSensitive(
                                cJSON_GetObjectItemCaseSensitive(v, "projected"), "sources"))
    {
        if (name_is(src, k == REF_SECRET ? "secret.name" : "configMap.name", name))
            return true;
    }
    return false;
}

/* True if pod references the secret/configmap name (NULL: any). */
static bool pod_refs(const cJSON *pod, ref_kind k, const char *name)
{
    const cJSON *spec = cJSON_GetObjectItemCaseSensitive(pod, "spec"), *v;
    if (k == REF_SECRET) {
        cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(spec, "imagePullSecrets"))
        {
            if (name_is(v, "name", name))
                return true;
        }
    }
    cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(spec, "volumes"))
    {
        if (volume_refs(v, k, name))
            return true;
    }
    static const char *const lists[] = {"containers", "initContainers", "ephemeralContainers"};
    for (size_t i = 0; i < 3; i++) {
        if (container_refs(cJSON_GetObjectItemCaseSensitive(spec, lists[i]), k, name))
            return true;
    }
    return false;
}

static const char *pod_service_account(const cJSON *pod)
{
    const char *sa = str_at(pod, "spec.serviceAccountName");
    return sa && *sa ? sa : "default";
}

typedef enum { USE_SECRET, USE_CONFIGMAP, USE_SERVICEACCOUNT } use_kind;

/* True if a pod bound to node in ns uses the named object (the Node
 * authorizer's graph path node <- pod -> object). */
static bool node_uses(kn_apiserver *s, const char *node, const char *ns, use_kind k,
                      const char *name)
{
    const kn_resource *pods = kn_resource_find("", "v1", "pods");
    cleanup_free char *prefix = api_key(pods, ns, NULL);
    kn_kv_list l = {0};
    int64_t rev;
    bool more, found = false;
    if (kn_store_list(s->opts.store, prefix, NULL, 0, 0, &l, &rev, &more, NULL) < 0)
        return false;
    for (size_t i = 0; i < l.len && !found; i++) {
        cleanup_cjson cJSON *p = cJSON_ParseWithLength(l.items[i].value, l.items[i].value_len);
        if (!p || !str_eq(str_at(p, "spec.nodeName"), node))
            continue;
        if (k == USE_SERVICEACCOUNT)
            found = strcmp(pod_service_account(p), name) == 0;
        else
            found = pod_refs(p, k == USE_SECRET ? REF_SECRET : REF_CONFIGMAP, name);
    }
    kn_kv_list_free(&l);
    return found;
}

/* ---- the decision ----------------------------------------------------------------------- */

/* True if verb is one of the space-separated verbs. */
static bool verb_in(const char *verb, const char *verbs)
{
    size_t n = strlen(verb);
    for (const char *p = verbs; (p = strstr(p, verb)) != NULL; p += n) {
        if ((p == verbs || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0'))
            return true;
    }
    return false;
}

static bool is_res(const api_route *rt, const char *group, const char *name)
{
    return strcmp(rt->res->group, group) == 0 && strcmp(rt->res->name, name) == 0;
}

/* A decision being made: the attributes and, on denial, the message. */
typedef struct decision {
    kn_apiserver *s;
    const api_user *u;
    const kn_auth_attrs *a;
    const char *node;
    char *message;
} decision;

static bool deny(decision *d, const char *reason)
{
    d->message = authz_message(d->u, d->a, d->a->rt->name, reason);
    return false;
}

static bool no_relationship(decision *d, const char *name)
{
    char reason[320];
    snprintf(reason, sizeof(reason), "no relationship found between node '%s' and this object",
             d->node);
    d->message = authz_message(d->u, d->a, name, reason);
    return false;
}

static bool node_nodes(decision *d)
{
    const api_route *rt = d->a->rt;
    const char *v = d->a->verb;
    bool main = !rt->sub[0], status = strcmp(rt->sub, "status") == 0;
    if (main && verb_in(v, "get list watch create"))
        return true;
    if (!(main && verb_in(v, "update patch delete")) && !(status && verb_in(v, "update patch")))
        return deny(d, NULL);
    if (strcmp(rt->name, d->node) == 0)
        return true;
    d->message = admission_message(rt->res, rt->name,
                                   "node \"%s\" is not allowed to modify node "
                                   "\"%s\"",
                                   d->node, rt->name);
    return false;
}

static bool pod_on_node(decision *d, const char *what)
{
    const api_route *rt = d->a->rt;
    if (pod_bound(d->s, rt->ns, rt->name, d->node, NULL) != POD_ELSEWHERE)
        return true; /* bound here, or missing: the request itself answers 404 */
    d->message = admission_message(rt->res, rt->name,
                                   "node \"%s\" can only %s with spec.nodeName set to itself",
                                   d->node, what);
    return false;
}

static bool node_pods(decision *d)
{
    const api_route *rt = d->a->rt;
    const char *v = d->a->verb;
    if (!rt->sub[0] && verb_in(v, "get list watch create"))
        return true; /* create: admission allows mirror pods of this node only */
    if (!rt->sub[0] && strcmp(v, "delete") == 0)
        return pod_on_node(d, "delete pods");
    if (strcmp(rt->sub, "status") == 0 && verb_in(v, "update patch"))
        return pod_on_node(d, "update pod status for pods");
    if (strcmp(rt->sub, "eviction") == 0 && strcmp(v, "create") == 0)
        return pod_on_node(d, "evict pods");
    return deny(d, NULL);
}

/* The object name a list/watch names with fieldSelector metadata.name=X. */
static bool selector_name(const char *sel, char *out, size_t size)
{
    static const char key[] = "metadata.name=";
    if (!sel || strncmp(sel, key, sizeof(key) - 1) != 0)
        return false;
    const char *v = sel + sizeof(key) - 1;
    if (*v == '=')
        v++;
    if (!*v || strchr(v, ',') || strlen(v) >= size)
        return false;
    snprintf(out, size, "%s", v);
    return true;
}

/* secrets and configmaps: only those pods on the node reference. */
static bool node_referenced(decision *d, use_kind k)
{
    const api_route *rt = d->a->rt;
    const char *v = d->a->verb;
    char name[256] = "";
    if (!verb_in(v, "get list watch"))
        return deny(d, "can only read resources of this type");
    if (rt->sub[0])
        return deny(d, "cannot read subresource");
    if (!rt->ns[0])
        return deny(d, "can only read namespaced object of this type");
    if (strcmp(v, "get") == 0)
        snprintf(name, sizeof(name), "%s", rt->name);
    else if (!selector_name(d->a->field_selector, name, sizeof(name)))
        return deny(d, "No Object name found");
    if (!node_uses(d->s, d->node, rt->ns, k, name))
        return no_relationship(d, name);
    return true;
}

/* NodeRestriction on TokenRequests: bound to a pod on this node. */
static bool token_binding(decision *d)
{
    const api_route *rt = d->a->rt;
    const cJSON *b = d->a->body;
    const char *kind = str_at(b, "spec.boundObjectRef.kind");
    const char *pod = str_at(b, "spec.boundObjectRef.name");
    const char *uid = str_at(b, "spec.boundObjectRef.uid");
    const char *why = NULL;
    cleanup_cjson cJSON *p = NULL;
    if (!str_eq(kind, "Pod") || !pod)
        why = "node requested token not bound to a pod";
    else if (!uid || !*uid)
        why = "node requested token with a pod binding without a uid";
    else if (pod_bound(d->s, rt->ns, pod, d->node, &p) == POD_MISSING)
        why = "node requested token bound to a pod that does not exist";
    else if (!str_eq(kn_meta_str(p, "uid"), uid))
        why = "the UID in the bound object reference does not match the UID in record. The "
              "object might have been deleted and then recreated";
    else if (!str_eq(str_at(p, "spec.nodeName"), d->node))
        why = "node requested token bound to a pod scheduled on a different node";
    if (!why)
        return true;
    d->message = admission_message(rt->res, rt->name, "%s", why);
    return false;
}

static bool node_service_accounts(decision *d)
{
    const api_route *rt = d->a->rt;
    if (strcmp(rt->sub, "token") != 0 || strcmp(d->a->verb, "create") != 0)
        return deny(d, NULL);
    if (!node_uses(d->s, d->node, rt->ns, USE_SERVICEACCOUNT, rt->name))
        return no_relationship(d, rt->name);
    return token_binding(d);
}

static bool node_leases(decision *d)
{
    const api_route *rt = d->a->rt;
    const char *v = d->a->verb;
    if (rt->sub[0] || !verb_in(v, "get create update patch delete"))
        return deny(d, NULL);
    if (strcmp(v, "get") == 0)
        return true;
    if (strcmp(rt->ns, NODE_LEASE_NS) != 0)
        d->message = admission_message(rt->res, rt->name,
                                       "can only access leases in the \"%s\" system namespace",
                                       NODE_LEASE_NS);
    else if (strcmp(v, "create") != 0 && strcmp(rt->name, d->node) != 0)
        d->message = admission_message(rt->res, rt->name,
                                       "can only access node lease with the same name as the "
                                       "requesting node");
    return d->message == NULL;
}

static bool node_decide(decision *d)
{
    const api_route *rt = d->a->rt;
    const char *v = d->a->verb;
    if (is_res(rt, "", "nodes"))
        return node_nodes(d);
    if (is_res(rt, "", "pods"))
        return node_pods(d);
    if (is_res(rt, "", "secrets"))
        return node_referenced(d, USE_SECRET);
    if (is_res(rt, "", "configmaps"))
        return node_referenced(d, USE_CONFIGMAP);
    if (is_res(rt, "", "serviceaccounts"))
        return node_service_accounts(d);
    if (is_res(rt, "coordination.k8s.io", "leases"))
        return node_leases(d);
    if (rt->sub[0])
        return deny(d, NULL);
    if (is_res(rt, "", "events") && verb_in(v, "create update patch"))
        return true;
    if (is_res(rt, "certificates.k8s.io", "certificatesigningrequests") &&
        verb_in(v, "create get list watch"))
        return true;
    if ((is_res(rt, "", "services") || is_res(rt, "", "endpoints") ||
         is_res(rt, "discovery.k8s.io", "endpointslices")) &&
        verb_in(v, "get list watch"))
        return true;
    return deny(d, NULL);
}

bool kn_auth_decide(kn_apiserver *s, const api_user *u, const kn_auth_attrs *a, char **message)
{
    decision d = {s, u, a, kn_auth_node_name(u), NULL};
    const api_route *rt = a->rt;
    bool ok;
    if (kn_auth_in_group(u, "system:masters"))
        ok = true;
    else if (d.node)
        ok = node_decide(&d);
    else if (strcmp(u->name, ANONYMOUS) == 0)
        ok = is_res(rt, "", "configmaps") && strcmp(a->verb, "get") == 0 && !rt->sub[0] &&
                     strcmp(rt->ns, "kube-public") == 0 && strcmp(rt->name, "cluster-info") == 0
                 ? true
                 : deny(&d, NULL);
    else if (kn_auth_in_group(u, "system:bootstrappers") &&
             is_res(rt, "certificates.k8s.io", "certificatesigningrequests") && !rt->sub[0] &&
             verb_in(a->verb, "create get list watch"))
        ok = true;
    else
        ok = deny(&d, NULL);
    if (message)
        *message = d.message;
    else
        free(d.message);
    return ok;
}

bool kn_auth_authorize(kn_apiserver *s, const api_user *u, const char *verb, const api_route *rt)
{
    if (!rt)
        return true; /* non-resource paths: discovery for every authenticated user */
    kn_auth_attrs a = {verb, rt, NULL, NULL};
    return kn_auth_decide(s, u, &a, NULL);
}

/* The decoded body of a POST to a subresource (JSON, YAML or Kubernetes
 * protobuf), or NULL. */
static cJSON *subresource_body(const kn_http_request *req)
{
    cJSON *b = NULL;
    if (kn_kproto_is_media_type(kn_http_header(req, "Content-Type")))
        return kn_kproto_decode(req->body.data, req->body.len, &b, NULL) == 0 ? b : NULL;
    kn_yaml_docs docs = {0};
    if (!req->body.len || kn_yaml_or_json_parse(req->body.data, req->body.len, KN_API_MAX_BODY,
                                                "request body", 0, &docs, NULL) < 0)
        return NULL;
    b = docs.n == 1 ? docs.docs[0] : NULL;
    if (b)
        docs.docs[0] = NULL;
    kn_yaml_docs_free(&docs);
    return b;
}

bool kn_auth_authorize_request(kn_apiserver *s, const api_user *u, const char *verb,
                               const api_route *rt, const kn_http_request *req,
                               kn_http_response *resp)
{
    cleanup_cjson cJSON *body = NULL;
    kn_auth_attrs a = {verb, rt, NULL, NULL};
    if (verb_in(verb, "list watch"))
        a.field_selector = kn_http_query(req, "fieldSelector");
    if (strcmp(verb, "create") == 0 && rt->sub[0])
        a.body = body = subresource_body(req);
    char *msg = NULL;
    if (kn_auth_decide(s, u, &a, &msg))
        return true;
    kn_http_respond(resp, 403, "application/json",
                    kn_status_json(403, "Forbidden", msg, rt->res->group, rt->res->name,
                                   rt->name[0] ? rt->name : NULL, NULL));
    free(msg);
    return false;
}

/* ---- NodeRestriction admission ---------------------------------------------------------- */

static bool suffix_is(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* True for ns or a subdomain of it ("node.kubernetes.io" for "kubernetes.io"). */
static bool in_domain(const char *ns, const char *domain)
{
    if (strcmp(ns, domain) == 0)
        return true;
    size_t n = strlen(ns), m = strlen(domain);
    return n > m + 1 && ns[n - m - 1] == '.' && suffix_is(ns, domain);
}

/* kubeletapis.IsKubeletLabel */
static bool kubelet_label(const char *key, const char *ns)
{
    static const char *const labels[] = {"kubernetes.io/hostname",
                                         "kubernetes.io/arch",
                                         "kubernetes.io/os",
                                         "beta.kubernetes.io/arch",
                                         "beta.kubernetes.io/os",
                                         "beta.kubernetes.io/instance-type",
                                         "node.kubernetes.io/instance-type",
                                         "failure-domain.beta.kubernetes.io/region",
                                         "failure-domain.beta.kubernetes.io/zone",
                                         "topology.kubernetes.io/region",
                                         "topology.kubernetes.io/zone",
                                         NULL};
    for (size_t i = 0; labels[i]; i++) {
        if (strcmp(key, labels[i]) == 0)
            return true;
    }
    return in_domain(ns, "kubelet.kubernetes.io") || in_domain(ns, "node.kubernetes.io");
}

static bool forbidden_label(const char *key)
{
    char ns[256] = "";
    const char *slash = strchr(key, '/');
    if (slash && (size_t)(slash - key) < sizeof(ns))
        snprintf(ns, sizeof(ns), "%.*s", (int)(slash - key), key);
    if (in_domain(ns, "node-restriction.kubernetes.io"))
        return true;
    bool kube = in_domain(ns, "kubernetes.io") || in_domain(ns, "k8s.io");
    return kube && !kubelet_label(key, ns);
}

static const cJSON *labels_of(const cJSON *o)
{
    return cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(o, "metadata"),
                                            "labels");
}

static int cmp_strp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Appends the sorted forbidden keys among the labels that differ between a
 * and b (added, changed or removed). */
static void forbidden_changes(const cJSON *a, const cJSON *b, kn_buf *out)
{
    const char *keys[256];
    size_t n = 0;
    const cJSON *sides[2][2] = {{a, b}, {b, a}};
    for (size_t s = 0; s < 2; s++) {
        const cJSON *l;
        cJSON_ArrayForEach(l, sides[s][0])
        {
            const cJSON *o = cJSON_GetObjectItemCaseSensitive(sides[s][1], l->string);
            bool same = o && kn_json_equal(o, l);
            bool dup = false;
            for (size_t i = 0; i < n; i++)
                dup = dup || strcmp(keys[i], l->string) == 0;
            if (!same && !dup && forbidden_label(l->string) && n < 256)
                keys[n++] = l->string;
        }
    }
    qsort(keys, n, sizeof(keys[0]), cmp_strp);
    for (size_t i = 0; i < n; i++)
        kn_buf_appendf(out, "%s%s", i ? ", " : "", keys[i]);
}

static int forbid(kn_error **err, char *msg)
{
    int rc = kn_error_set(err, KN_EFORBIDDEN, "%s", msg);
    free(msg);
    return rc;
}

static int admit_node(const char *node, const api_route *rt, const cJSON *old, const cJSON *obj,
                      kn_error **err)
{
    const char *name = kn_meta_str(obj, "name");
    if (!str_eq(name, node))
        return forbid(err, admission_message(rt->res, name,
                                             "node \"%s\" is not allowed to modify node \"%s\"",
                                             node, name ? name : ""));
    if (old && !kn_json_equal(cJSON_GetObjectItemCaseSensitive(
                                  cJSON_GetObjectItemCaseSensitive(old, "spec"), "taints"),
                              cJSON_GetObjectItemCaseSensitive(
                                  cJSON_GetObjectItemCaseSensitive(obj, "spec"), "taints")))
        return forbid(err, admission_message(rt->res, name,
                                             "node \"%s\" is not allowed to modify taints", node));
    kn_buf bad = KN_BUF_INIT;
    forbidden_changes(labels_of(obj), old ? labels_of(old) : NULL, &bad);
    int r = 0;
    if (bad.len && !old)
        r = forbid(err,
                   admission_message(rt->res, name,
                                     "node \"%s\" is not allowed to set the following labels: %s",
                                     node, bad.data));
    else if (bad.len)
        r = forbid(
            err, admission_message(rt->res, name, "is not allowed to modify labels: %s", bad.data));
    kn_buf_free(&bad);
    return r;
}

static const char *mirror_pod_problem(const cJSON *pod, const char *node)
{
    const cJSON *ann = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(pod, "metadata"), "annotations");
    if (!cJSON_GetObjectItemCaseSensitive(ann, "kubernetes.io/config.mirror"))
        return "pod does not have \"kubernetes.io/config.mirror\" annotation, node \"%s\" can "
               "only create mirror pods";
    if (!str_eq(str_at(pod, "spec.nodeName"), node))
        return "node \"%s\" can only create pods with spec.nodeName set to itself";
    const cJSON *owners = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(pod, "metadata"), "ownerReferences");
    const cJSON *o = cJSON_GetArrayItem(owners, 0);
    if (cJSON_GetArraySize(owners) > 1)
        return "node \"%s\" can only create pods with a single owner reference set to itself";
    if (!o || !str_eq(str_at(o, "apiVersion"), "v1") || !str_eq(str_at(o, "kind"), "Node") ||
        !str_eq(str_at(o, "name"), node))
        return "node \"%s\" can only create pods with an owner reference set to itself";
    if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "controller")))
        return "node \"%s\" can only create pods with a controller owner reference set to itself";
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "blockOwnerDeletion")))
        return "node \"%s\" must not set blockOwnerDeletion on an owner reference";
    const char *sa = str_at(pod, "spec.serviceAccountName");
    if (sa && *sa)
        return "node \"%s\" can not create pods that reference a service account";
    if (pod_refs(pod, REF_SECRET, NULL))
        return "node \"%s\" can not create pods that reference secrets";
    if (pod_refs(pod, REF_CONFIGMAP, NULL))
        return "node \"%s\" can not create pods that reference configmaps";
    const cJSON *v;
    cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(
                              cJSON_GetObjectItemCaseSensitive(pod, "spec"), "volumes"))
    {
        if (cJSON_GetObjectItemCaseSensitive(v, "persistentVolumeClaim"))
            return "node \"%s\" can not create pods that reference persistentvolumeclaims";
    }
    return NULL;
}

static int admit_for_node(const char *node, const api_route *rt, const cJSON *old, const cJSON *obj,
                          kn_error **err)
{
    const char *name = kn_meta_str(obj, "name");
    if (is_res(rt, "", "nodes"))
        return admit_node(node, rt, old, obj, err);
    if (is_res(rt, "", "pods") && !old) {
        const char *why = mirror_pod_problem(obj, node);
        return why ? forbid(err, admission_message(rt->res, name, why, node)) : 0;
    }
    if (is_res(rt, "coordination.k8s.io", "leases") && !str_eq(name, node))
        return forbid(err, admission_message(rt->res, name,
                                             "can only access node lease with the same name as the "
                                             "requesting node"));
    return 0;
}

int kn_auth_admit(kn_apiserver *s, const api_user *u, const api_route *rt, const cJSON *old,
                  cJSON *obj, kn_causes *causes, kn_error **err)
{
    (void)s;
    if (is_res(rt, "certificates.k8s.io", "certificatesigningrequests")) {
        int r = kn_csr_admit(u, rt, old, obj, causes, err);
        if (r < 0)
            return r;
    }
    const char *node = kn_auth_node_name(u);
    if (node && !kn_auth_in_group(u, "system:masters"))
        return admit_for_node(node, rt, old, obj, err);
    return 0;
}

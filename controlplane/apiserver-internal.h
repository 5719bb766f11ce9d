/* apiserver-internal.h - shared between the API server's modules. */
#ifndef KNODE_CONTROLPLANE_APISERVER_INTERNAL_H
#define KNODE_CONTROLPLANE_APISERVER_INTERNAL_H

#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdbool.h>

#include "controlplane/apiserver.h"
#include "controlplane/apistatus.h"
#include "controlplane/fieldvalid.h"
#include "lib/httpd.h"
#include "controlplane/resources.h"

#define KN_API_MAX_BODY ((size_t)3 * 1024 * 1024)

struct kn_apiserver {
    kn_apiserver_opts opts;
    kn_httpd *httpd;
    char *server_address; /* "host:port" for discovery */
    volatile int stopping;
    pthread_mutex_t alloc_mu;       /* Service creation: IP/port allocation through the write */
    struct kn_svc_alloc *svc_alloc; /* what stored Services hold (under alloc_mu; lazily) */
};

/* Who is asking (from a client certificate or a token). */
typedef struct api_user {
    char name[256];
    char groups[12][128];
    size_t ngroups;
} api_user;

/* A parsed resource path: /api/v1/namespaces/ns/pods/name/status */
typedef struct api_route {
    const kn_resource *res;
    char ns[256];
    char name[256];
    char sub[32];
    const api_user *user; /* who asks (NULL: an internal writer) */
} api_route;

/* Fills resp with a Status for err (code from its kind). */
void api_error(kn_http_response *resp, const api_route *rt, const kn_error *err);
/* Fills resp with a Status of the given code and reason. */
void api_status(kn_http_response *resp, int code, const char *reason, const char *message);
/* Responds with obj as JSON (obj not freed). */
void api_json(kn_http_response *resp, int code, const cJSON *obj);

/* Object operations (registry.c). */
void api_get(kn_apiserver *s, const api_route *rt, kn_http_request *req, kn_http_response *resp);
void api_list(kn_apiserver *s, const api_route *rt, kn_http_request *req, kn_http_response *resp);
void api_create(kn_apiserver *s, const api_route *rt, kn_http_request *req, kn_http_response *resp);
void api_update(kn_apiserver *s, const api_route *rt, kn_http_request *req, kn_http_response *resp);
void api_patch(kn_apiserver *s, const api_route *rt, kn_http_request *req, kn_http_response *resp);
void api_delete(kn_apiserver *s, const api_route *rt, kn_http_request *req, kn_http_response *resp);

/* GET pods/{name}/log (podlog.c): pod is the loaded object. */
void api_pod_log(kn_apiserver *s, const api_route *rt, kn_http_request *req, kn_http_response *resp,
                 const cJSON *pod);

/* The container a pods/log (stream false) or exec/attach (stream true)
 * request names, defaulted as upstream (podlog.c): owned, or NULL with the
 * BadRequest message in *why (owned). */
char *api_pod_container(const cJSON *pod, const char *name, const char *pod_name, bool stream,
                        char **why);
/* The kubelet of the node the pod is bound to (podlog.c): *host (owned,
 * IPv6 bracketed) and *port from the Node's addresses and daemonEndpoints.
 * False when resp holds why not (an unbound pod: 400 with message unbound). */
bool api_pod_kubelet(kn_apiserver *s, const api_route *rt, const cJSON *pod, const char *unbound,
                     kn_http_response *resp, char **host, int *port);
/* The client certificate the API server presents to kubelets (podlog.c):
 * paths under the data dir (owned). */
void api_kubelet_client_cert(const kn_apiserver *s, char **cert, char **key);

/* pods/exec, pods/attach, pods/portforward (podexec.c): the upgrade
 * proxied to the node's kubelet, as kube-apiserver's connect handlers. */
void api_pod_stream(kn_apiserver *s, const api_route *rt, kn_http_request *req,
                    kn_http_response *resp);

/* Watches (watch.c). */
void api_watch(kn_apiserver *s, const api_route *rt, kn_http_request *req, kn_http_response *resp);

/* The store key of one object, or the prefix of a collection (name NULL). */
char *api_key(const kn_resource *r, const char *ns, const char *name);
/* Reads the object the route names: *obj (owned) with its resourceVersion
 * set, *rev its revision. KN_ENOTFOUND with upstream's message. */
int api_load(kn_apiserver *s, const api_route *rt, cJSON **obj, int64_t *rev, kn_error **err);
/* Decodes a request body (JSON, YAML or Kubernetes protobuf) into one
 * object (owned). KN_EINVAL / KN_EMEDIATYPE with a message for the client. */
int api_decode_body(kn_http_request *req, cJSON **out, kn_error **err);
/* api_decode_body with kn_yaml_or_json_parse flags (KN_YAML_ALLOW_DUPLICATES). */
int api_decode_body_opts(kn_http_request *req, unsigned flags, cJSON **out, kn_error **err);

/* Field validation (fieldvalid.c, see fieldvalid.h). */
/* The request's fieldValidation directive into *fv; on a bad value responds
 * 422 and returns -1. */
int api_field_validation(kn_http_request *req, kn_field_validation *fv, kn_http_response *resp);
/* Decodes a create or update body like api_decode_body, then checks it
 * against the route's kind (Scale for /scale): duplicate and unknown fields
 * are appended to problems (a cJSON array) and unknown ones removed. Under
 * Strict with problems: KN_EINVAL with upstream's "... cannot be handled as
 * a <Kind>: strict decoding error: ..." and *out NULL. */
int api_decode_validated(kn_http_request *req, const api_route *rt, kn_field_validation fv,
                         cJSON **out, cJSON *problems, kn_error **err);
/* Parses a patch body (JSON); a duplicate key is a problem (an error under
 * Strict, the last one wins otherwise). */
int api_parse_patch(kn_http_request *req, kn_field_validation fv, cJSON **out, cJSON *problems,
                    kn_error **err);
/* Checks a patched object (upd): unknown fields removed and appended to
 * problems; under Strict with problems responds 422 with upstream's
 * `patch: Invalid value: "<value>": strict decoding error: ...` and returns
 * -1. value: what upstream shows (the patch, or the patched object). */
int api_check_patched(const api_route *rt, kn_field_validation fv, cJSON *upd, const char *value,
                      cJSON *problems, kn_http_response *resp);
/* The schema of a route's body: Scale, Binding, Eviction or TokenRequest
 * for /scale, /binding, /eviction, /token, else the resource's kind (NULL if
 * the table lacks it). */
const kn_schema_type *api_body_schema(const api_route *rt);
/* Under Warn, adds one Warning header carrying every problem. */
void api_add_warnings(kn_http_response *resp, kn_field_validation fv, const cJSON *problems);
/* The stored form of obj: JSON text without metadata.resourceVersion (owned). */
char *api_encode_for_store(const cJSON *obj);
/* Parses a stored object and sets metadata.resourceVersion from rev. */
cJSON *api_decode_stored(const char *value, size_t len, int64_t rev);
/* True if obj matches the request's labelSelector and fieldSelector. */
bool api_matches_selectors(const kn_resource *r, const cJSON *obj, const char *label_sel,
                           const char *field_sel);
/* Responds 422 `<kind>.meta.k8s.io "" is invalid: ...` for options
 * (ListOptions, DeleteOptions) that break upstream's validation. */
void api_options_invalid(kn_http_response *resp, const char *kind, const kn_causes *causes);
/* Validates selector syntax; fills err. */
int api_check_selectors(const char *label_sel, const char *field_sel, kn_error **err);

#endif

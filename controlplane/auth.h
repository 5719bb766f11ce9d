/* auth.h - who is asking, and may they.
 *
 * Authentication (the first that applies):
 *   - x509 client certificates verified against the cluster CA (CN = user,
 *     O = groups);
 *   - bearer tokens of the bootstrap token form "ID.SECRET", checked against
 *     kube-system/bootstrap-token-ID (bootstrap-token.h): user
 *     system:bootstrap:ID, groups system:bootstrappers + auth-extra-groups;
 *   - other bearer tokens: service-account JWTs signed by the cluster's key
 *     (user system:serviceaccount:NS:NAME, groups system:serviceaccounts and
 *     system:serviceaccounts:NS);
 *   - no credentials: only GET of kube-public/configmaps/cluster-info is
 *     served, as system:anonymous (kubeadm's discovery reads it before it
 *     trusts the CA); every other anonymous request is 401.
 * Every authenticated user is in system:authenticated.
 *
 * Authorization, as upstream's RBAC defaults + Node authorizer:
 *   - system:masters: everything;
 *   - every authenticated user: discovery, /version, OpenAPI (served before
 *     authorization is asked);
 *   - system:anonymous: get kube-public/configmaps/cluster-info;
 *   - system:bootstrappers: create/get/list/watch certificatesigningrequests;
 *   - nodes (user system:node:NAME in group system:nodes), the Node
 *     authorizer with NodeRestriction: get/list/watch nodes, create their own
 *     Node, update/patch/delete it and its status; get/create/update/patch/
 *     delete their Lease in kube-node-lease; get/list/watch pods, update/
 *     patch the status of, evict and delete pods bound to them, create
 *     mirror pods of their own; create/update/patch events; get secrets and
 *     configmaps (and list/watch them with fieldSelector metadata.name=X)
 *     that pods bound to them reference, and create tokens of the service
 *     accounts those pods run as (bound to such a pod); create/get/list/
 *     watch certificatesigningrequests; get/list/watch services, endpoints
 *     and endpointslices (kube-proxy and DNS run on the node);
 *   - everyone else (service accounts included): nothing more.
 * Denials are 403 Status objects with upstream's messages (the authorizer's
 * "User ... cannot ..." or NodeRestriction's admission message). */
#ifndef KNODE_CONTROLPLANE_AUTH_H
#define KNODE_CONTROLPLANE_AUTH_H

#include <cjson/cJSON.h>
#include <stdbool.h>

#include "controlplane/apiserver-internal.h"

/* Fills u from the request's credentials; KN_EUNAUTHORIZED if there are
 * none (outside the anonymous exception) or they are invalid. */
int kn_auth_authenticate(kn_apiserver *s, const kn_http_request *req, api_user *u, kn_error **err);

/* What the authorizer looks at for one resource request. */
typedef struct kn_auth_attrs {
    const char *verb;           /* "get", "list", "watch", "create", "update", "patch", "delete" */
    const api_route *rt;        /* the resource, namespace, name and subresource */
    const char *field_selector; /* list/watch: the fieldSelector, or NULL */
    const cJSON *body;          /* POST to a subresource (serviceaccounts/token): the body */
} kn_auth_attrs;

/* The decision for u on a; when denied, *message (optional, owned) gets
 * the 403 message upstream would give. */
bool kn_auth_decide(kn_apiserver *s, const api_user *u, const kn_auth_attrs *a, char **message);

/* Authorizes the request (attributes from req: verb, fieldSelector, body of
 * a subresource POST); when denied, fills resp with the 403 Status and
 * returns false. */
bool kn_auth_authorize_request(kn_apiserver *s, const api_user *u, const char *verb,
                               const api_route *rt, const kn_http_request *req,
                               kn_http_response *resp);

/* The decision on verb and route alone (no fieldSelector, no body). */
bool kn_auth_authorize(kn_apiserver *s, const api_user *u, const char *verb, const api_route *rt);

/* Admission of a decoded object before it is stored: obj is a new object
 * (old NULL: create) or the complete updated one (old: the stored one) for
 * rt (rt->sub "", "status" or "approval"). Applies NodeRestriction to node
 * users (their own Node and Lease only, node labels and taints, mirror pods
 * only) and the CertificateSigningRequest strategies (requester identity in
 * spec.username/groups on create; spec immutable; status and approval
 * subresources). u NULL: an internal writer, only the CSR strategy applies.
 * KN_EFORBIDDEN with upstream's message, or validation errors in causes. */
int kn_auth_admit(kn_apiserver *s, const api_user *u, const api_route *rt, const cJSON *old,
                  cJSON *obj, kn_causes *causes, kn_error **err);

/* True if u is in group g. */
bool kn_auth_in_group(const api_user *u, const char *g);

/* The node name of a node user (system:node:NAME in system:nodes), or NULL. */
const char *kn_auth_node_name(const api_user *u);

#endif

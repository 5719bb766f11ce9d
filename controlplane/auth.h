/* auth.h - who is asking, and may they.
 *
 * Authentication: x509 client certificates (CN = user, O = groups), bearer
 * tokens: service-account JWTs signed by the cluster's key (user
 * system:serviceaccount:NS:NAME, groups system:serviceaccounts and
 * system:serviceaccounts:NS). Anonymous requests are refused (401).
 * Every authenticated user is in system:authenticated.
 *
 * Authorization: system:masters may do everything; every authenticated user
 * may read discovery, /version and OpenAPI (upstream's system:discovery and
 * system:basic-user); anything else is forbidden until the node and
 * service-account authorizers are added here. */
#ifndef KNODE_CONTROLPLANE_AUTH_H
#define KNODE_CONTROLPLANE_AUTH_H

#include <stdbool.h>

#include "controlplane/apiserver-internal.h"

/* Fills u from the request's credentials; KN_EUNAUTHORIZED if there are
 * none or they are invalid. */
int kn_auth_authenticate(kn_apiserver *s, const kn_http_request *req, api_user *u, kn_error **err);

/* True if u may perform verb ("get", "list", "watch", "create", "update",
 * "patch", "delete") on the route (NULL: a non-resource path). */
bool kn_auth_authorize(kn_apiserver *s, const api_user *u, const char *verb, const api_route *rt);

/* True if u is in group g. */
bool kn_auth_in_group(const api_user *u, const char *g);

#endif

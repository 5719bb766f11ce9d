/* bootstrap-token.h - bootstrap tokens on the server side, as upstream:
 *
 *   - the token is "ID.SECRET" (ID [a-z0-9]{6}, SECRET [a-z0-9]{16}) kept in
 *     the kube-system/bootstrap-token-<ID> Secret of type
 *     bootstrap.kubernetes.io/token (token-id, token-secret, expiration,
 *     usage-bootstrap-authentication, usage-bootstrap-signing,
 *     auth-extra-groups, description);
 *   - the authenticator: a bearer token of that form whose Secret exists,
 *     matches, is not expired or being deleted and allows authentication is
 *     user system:bootstrap:<ID> in system:bootstrappers plus the Secret's
 *     auth-extra-groups (each system:bootstrappers:...);
 *   - the bootstrap signer: kube-public/cluster-info holds a kubeconfig with
 *     the cluster CA and server, and a jws-kubeconfig-<ID> signature of it
 *     for every valid token that allows signing (kubeadm's discovery);
 *   - the token cleaner: expired token Secrets are deleted. */
#ifndef KNODE_CONTROLPLANE_BOOTSTRAP_TOKEN_H
#define KNODE_CONTROLPLANE_BOOTSTRAP_TOKEN_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

#include "controlplane/apiserver-internal.h"
#include "controlplane/store.h"
#include "lib/error.h"

#define KN_BTOKEN_SECRET_TYPE "bootstrap.kubernetes.io/token"
#define KN_BTOKEN_DEFAULT_GROUP "system:bootstrappers:knode:default-node-token"
#define KN_BTOKEN_SECRET_PREFIX "/registry/core/secrets/kube-system/bootstrap-token-"
#define KN_CLUSTER_INFO_KEY "/registry/core/configmaps/kube-public/cluster-info"

/* A new random token: id (7 bytes) and secret (17 bytes), NUL-terminated,
 * characters drawn uniformly from [a-z0-9]. */
void kn_btoken_generate(char *id, char *secret);

/* The Secret for a token. expires_ns: wall-clock expiry, 0 for none;
 * groups: comma-separated auth-extra-groups or NULL; description or NULL.
 * Owned by the caller. */
cJSON *kn_btoken_secret(const char *id, const char *secret, int64_t expires_ns, const char *groups,
                        const char *description);

/* True if the token has the bootstrap token form (and is thus not tried as
 * a service-account JWT). */
bool kn_btoken_is_token(const char *token);

/* Authenticates token at wall time now_ns: 0 with u filled (name and
 * groups; system:authenticated is the caller's), KN_EUNAUTHORIZED when it
 * is not a valid token, KN_EIO when the store failed. */
int kn_btoken_authenticate(kn_store *st, const char *token, int64_t now_ns, api_user *u,
                           kn_error **err);

/* Creates or updates kube-public/cluster-info for the CA and server URL,
 * with a signature for every valid signing token at now_ns (and none for
 * others). Writes only when something changed. */
int kn_btoken_sync_cluster_info(kn_store *st, const char *ca_pem, const char *server_url,
                                int64_t now_ns, kn_error **err);

/* Deletes the token Secrets expired at now_ns; *deleted (optional) gets
 * their number. */
int kn_btoken_clean_expired(kn_store *st, int64_t now_ns, int *deleted, kn_error **err);

#endif

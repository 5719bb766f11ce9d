/* satoken.h - service-account tokens: RS256 JWTs signed with the cluster's
 * service-account key (<data-dir>/sa.key), in the form kube-apiserver issues
 * (iss, sub system:serviceaccount:NS:NAME, aud, exp/iat/nbf, and the
 * "kubernetes.io" claim with namespace, serviceaccount and bound pod). */
#ifndef KNODE_CONTROLPLANE_SATOKEN_H
#define KNODE_CONTROLPLANE_SATOKEN_H

#include <cjson/cJSON.h>
#include <stdint.h>

#include "lib/error.h"

#define KN_SA_ISSUER "https://kubernetes.default.svc.cluster.local"

typedef struct kn_sa_token_req {
    const char *ns, *name, *uid;  /* the service account */
    const char *const *audiences; /* NULL-terminated; NULL: the issuer */
    int64_t expiration_s;
    const char *pod_name, *pod_uid; /* optional binding */
} kn_sa_token_req;

/* Signs a token; *jwt is owned by the caller; *exp gets the expiry (unix s). */
int kn_sa_token_sign(const char *data_dir, const kn_sa_token_req *req, char **jwt, int64_t *exp,
                     kn_error **err);

/* Verifies signature, expiry and audience (NULL: any); *claims (owned) gets
 * the claim set. KN_EUNAUTHORIZED for any invalid token. */
int kn_sa_token_verify(const char *data_dir, const char *jwt, const char *audience, cJSON **claims,
                       kn_error **err);

#endif

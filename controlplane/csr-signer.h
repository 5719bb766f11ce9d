/* csr-signer.h - CertificateSigningRequests in the server.
 *
 * The API strategy (kn_csr_admit, called through kn_auth_admit): on create
 * the status is cleared and spec.username/groups are set to the requester;
 * spec is immutable afterwards; the status subresource may not change the
 * Approved/Denied conditions and may set status.certificate only once, on
 * an approved request; the approval subresource changes conditions only
 * (Approved and Denied exclusive, never removed). Condition timestamps are
 * filled in as upstream.
 *
 * The controller (one thread, reading and writing the store directly, as
 * kube-controller-manager's controllers would through the API):
 *   - csrapproving: requests for kubernetes.io/kube-apiserver-client-kubelet
 *     whose subject is CN=system:node:<name>, O=system:nodes, with no SANs and
 *     usages "digital signature" + "client auth" (+ "key encipherment"), made
 *     by a bootstrapper (system:bootstrappers) or by that node itself, or by
 *     system:masters, get condition Approved, reason AutoApproved;
 *   - csrsigning: approved requests for kubernetes.io/kube-apiserver-client-
 *     kubelet, kubernetes.io/kube-apiserver-client and kubernetes.io/
 *     kubelet-serving are signed by the cluster CA into status.certificate
 *     (valid for min(signing duration, spec.expirationSeconds), backdated 5
 *     minutes, never past the CA); a request the signer may not sign gets
 *     condition Failed, reason SignerValidationFailure;
 *   - bootstrapsigner + tokencleaner (bootstrap-token.h): kube-public/
 *     cluster-info is created and kept signed for the valid tokens, expired
 *     token Secrets are deleted. */
#ifndef KNODE_CONTROLPLANE_CSR_SIGNER_H
#define KNODE_CONTROLPLANE_CSR_SIGNER_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

#include "controlplane/apiserver-internal.h"
#include "controlplane/store.h"
#include "lib/error.h"

#define KN_CSR_PREFIX "/registry/certificates.k8s.io/certificatesigningrequests/"

/* The strategy above for rt ("", "status" or "approval" subresource); u is
 * the requester (NULL: an internal writer). Validation errors go to causes. */
int kn_csr_admit(const api_user *u, const api_route *rt, const cJSON *old, cJSON *obj,
                 kn_causes *causes, kn_error **err);

/* True if csr is to be auto-approved; *message gets the condition message. */
bool kn_csr_auto_approve(const cJSON *csr, const char **message);

/* Checks csr against its signer's rules and signs it with the CA in
 * data_dir for min(max_duration_s, spec.expirationSeconds) from now_ns;
 * *cert_pem is owned. KN_EINVAL (with the reason) for a request the signer
 * refuses, KN_ENOTSUP for a signer this server does not sign for. */
int kn_csr_sign(const char *data_dir, const cJSON *csr, int64_t max_duration_s, int64_t now_ns,
                char **cert_pem, kn_error **err);

typedef struct kn_csr_signer kn_csr_signer;

typedef struct kn_csr_signer_opts {
    kn_store *store;        /* not owned */
    const char *data_dir;   /* ca.crt and ca.key */
    const char *server_url; /* the server in cluster-info's kubeconfig */
    int64_t duration_s;     /* --cluster-signing-duration; 0: 8760h */
} kn_csr_signer_opts;

/* Starts the controller; it first processes everything present. */
int kn_csr_signer_start(const kn_csr_signer_opts *o, kn_csr_signer **out, kn_error **err);

/* One full pass now (what the thread does at start and on changes). */
int kn_csr_signer_sync(kn_csr_signer *s, kn_error **err);

/* Stops the thread and frees. NULL is ignored. */
void kn_csr_signer_stop(kn_csr_signer *s);

#endif

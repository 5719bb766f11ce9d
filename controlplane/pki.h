/* pki.h - the cluster's certificates and keys under the data directory.
 *
 * On first start the server creates, and on later starts reuses:
 *   ca.crt, ca.key             cluster CA (ECDSA P-256, 10 years)
 *   apiserver.crt, .key        serving cert: SANs hostname, node IPs, 127.0.0.1,
 *                              kubernetes, kubernetes.default, kubernetes.default.svc,
 *                              kubernetes.default.svc.<domain>, the first Service IP
 *   admin.crt, admin.key       client cert CN=kubernetes-admin, O=system:masters
 *   apiserver-kubelet-client.crt, .key
 *                              the API server's client cert towards kubelets (logs):
 *                              CN=kube-apiserver-kubelet-client, O=system:masters
 *   sa.key, sa.pub             service-account token signing key (RSA 2048, RS256)
 *   admin.kubeconfig (0600)    server URL + CA + admin cert, embedded
 * Keys are written 0600. A serving cert whose SANs no longer cover what is
 * asked (new node IP) is re-issued from the same CA. */
#ifndef KNODE_CONTROLPLANE_PKI_H
#define KNODE_CONTROLPLANE_PKI_H

#include <stddef.h>

#include "lib/error.h"

typedef struct kn_pki_opts {
    const char *data_dir;
    const char *server_url;      /* "https://127.0.0.1:6443", written into admin.kubeconfig */
    const char *cluster_domain;  /* "cluster.local" */
    const char *const *dns_sans; /* extra DNS names (hostname), NULL-terminated, may be NULL */
    const char *const *ip_sans;  /* extra IPs (node IPs, first Service IP), NULL-terminated */
} kn_pki_opts;

/* Creates what is missing; reuses what exists. */
int kn_pki_ensure(const kn_pki_opts *opts, kn_error **err);

/* "sha256:<hex>" of the CA certificate's SubjectPublicKeyInfo (DER), the pin
 * `knode agent --ca-cert-hash` and kubeadm's discovery hash use. */
int kn_pki_ca_hash(const char *ca_cert_path, char *out, size_t outlen, kn_error **err);

/* Issues a client certificate signed by the CA in data_dir for the PEM CSR,
 * with the subject of the CSR, valid for days; returns an owned PEM string.
 * Used by the CSR signer and by tests. */
int kn_pki_sign_client_csr(const char *data_dir, const char *csr_pem, int days, char **cert_pem,
                           kn_error **err);

/* Writes a new key (ECDSA P-256) and client cert signed by the CA in data_dir,
 * subject CN=cn and O=orgs (NULL-terminated, may be NULL), to cert_path and
 * key_path (0600). */
int kn_pki_issue_client(const char *data_dir, const char *cn, const char *const *orgs,
                        const char *cert_path, const char *key_path, kn_error **err);

/* Writes a new key (ECDSA P-256) and a self-signed serving certificate
 * (serverAuth, 1 year, subject CN=cn, SANs from the NULL-terminated lists,
 * either may be NULL) to cert_path and key_path (0600), as upstream kubelet
 * makes for itself when given no --tls-cert-file. */
int kn_pki_self_signed_serving(const char *cn, const char *const *dns_sans,
                               const char *const *ip_sans, const char *cert_path,
                               const char *key_path, kn_error **err);

#endif

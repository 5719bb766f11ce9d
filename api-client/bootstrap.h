/* bootstrap.h - TLS bootstrapping of a node's client identity, as upstream's
 * kubelet and `kubeadm join` do it.
 *
 * Discovery (kubeadm's token discovery): the cluster CA is fetched without
 * trusting it first, from the kube-public/cluster-info ConfigMap (readable
 * anonymously); its kubeconfig must carry a JWS signature made with the
 * bootstrap token (jws-kubeconfig-<token-id>, HS256 with the token secret as
 * the key, payload detached), which proves the server knows the token without
 * the token being sent, and the SHA-256 of the CA's SubjectPublicKeyInfo must
 * equal the --ca-cert-hash pin. Only then is the token sent (as a bearer
 * token, over TLS pinned to that CA).
 *
 * Bootstrap (kubelet's bootstrap.LoadClientCert): a private key is generated
 * here (ECDSA P-256) and never leaves the node; a CertificateSigningRequest
 * with signerName kubernetes.io/kube-apiserver-client-kubelet, subject
 * CN=system:node:<name>, O=system:nodes and usages "digital signature" +
 * "client auth" is created and watched until it is issued (or denied or
 * failed). The certificate and key are written to
 * <cert-dir>/kubelet-client-<date>.pem, <cert-dir>/kubelet-client-current.pem
 * points to it (a symlink swapped atomically), and the kubeconfig written
 * names that file for client-certificate and client-key, as upstream's.
 *
 * Rotation (kubelet's certificate manager): when 70-90% (jittered) of the
 * certificate's lifetime has passed, a new key and CSR are made with the
 * current identity, and the new pair replaces the old one. */
#ifndef KNODE_API_CLIENT_BOOTSTRAP_H
#define KNODE_API_CLIENT_BOOTSTRAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/backoff.h"
#include "lib/clock.h"
#include "lib/error.h"

#define KC_KUBELET_CLIENT_SIGNER "kubernetes.io/kube-apiserver-client-kubelet"

/* ---- bootstrap tokens and pins -------------------------------------------------- */

#define KC_TOKEN_ID_LEN 6
#define KC_TOKEN_SECRET_LEN 16

/* Splits "ID.SECRET" (upstream's \A([a-z0-9]{6})\.([a-z0-9]{16})\z) into
 * id and secret (NUL-terminated). Returns 0, or -1 when it is not one. */
int kc_bootstrap_token_parse(const char *token, char id[KC_TOKEN_ID_LEN + 1],
                             char secret[KC_TOKEN_SECRET_LEN + 1]);

/* The detached JWS of content ("<header>..<signature>", header
 * {"alg":"HS256","kid":"<id>"}), as the bootstrap signer writes into
 * cluster-info. Owned by the caller. */
char *kc_jws_detached_sign(const char *content, const char *token_id, const char *token_secret);

/* True if jws is a detached HS256 JWS of content made with the token secret
 * and naming token_id (compared in constant time). */
bool kc_jws_detached_verify(const char *jws, const char *content, const char *token_id,
                            const char *token_secret);

/* "sha256:<64 hex>" of the first certificate's SubjectPublicKeyInfo in
 * ca_pem (kubeadm's --discovery-token-ca-cert-hash). out holds 72 bytes. */
int kc_ca_cert_hash(const char *ca_pem, char out[72], kn_error **err);

/* ---- discovery -------------------------------------------------------------- */

/* Fetches cluster-info from server ("https://host:port") without trusting
 * its certificate, checks the JWS for the token and the CA pin, fetches it
 * again over TLS pinned to that CA, and returns the CA bundle (PEM, owned).
 * The token is never sent. KN_EFORBIDDEN when the pin or the signature does
 * not match (nothing was trusted). While the server cannot be reached or
 * has no signature for the token yet (its signer runs after the token was
 * made), it retries every second until timeout_ns (0: 5 minutes, as
 * kubeadm's discovery timeout) has passed; it always tries once. */
int kc_bootstrap_discover(const char *server, const char *token, const char *ca_cert_hash,
                          int64_t timeout_ns, char **ca_pem, kn_error **err);

/* ---- bootstrap ------------------------------------------------------------------- */

typedef struct kc_bootstrap_options {
    /* Credentials, one of: server + token + ca_cert_hash (discovery above),
     * or bootstrap_kubeconfig (kubelet --bootstrap-kubeconfig). */
    const char *server;
    const char *token;
    const char *ca_cert_hash;
    const char *bootstrap_kubeconfig;

    const char *node_name;        /* the user becomes system:node:<node_name> */
    const char *cert_dir;         /* created if missing (0700) */
    const char *kubeconfig;       /* written (0600) */
    int64_t expiration_s;         /* spec.expirationSeconds asked for; 0: the signer's default */
    int64_t timeout_ns;           /* wait for the certificate; 0: 1 hour (as upstream) */
    int64_t discovery_timeout_ns; /* see kc_bootstrap_discover; 0: 5 minutes */
} kc_bootstrap_options;

/* Makes sure o->kubeconfig holds a usable identity: if it exists and its
 * client certificate is valid now, nothing is done; otherwise bootstraps as
 * described above. KN_EFORBIDDEN when the CSR is denied or fails. */
int kc_bootstrap_run(const kc_bootstrap_options *o, kn_error **err);

/* ---- rotation -------------------------------------------------------------------- */

/* The rotation deadline of a certificate valid [not_before, not_after): at
 * 70% + r * 20% of its lifetime, r in [0, 1) (upstream's jitteryDuration). */
int64_t kc_cert_rotation_deadline(int64_t not_before_ns, int64_t not_after_ns, double r);

/* The validity of the first certificate in pem, in wall-clock ns. */
int kc_cert_validity(const char *pem, int64_t *not_before_ns, int64_t *not_after_ns,
                     kn_error **err);

typedef struct kc_cert_manager kc_cert_manager;

typedef struct kc_cert_manager_options {
    const char *kubeconfig; /* written by kc_bootstrap_run: server, CA, current pem */
    const char *cert_dir;
    const char *node_name;
    int64_t expiration_s; /* as in kc_bootstrap_options */
    /* Called (from the manager's thread) after a new certificate is in
     * place, so clients rebuild their transports. May be NULL. */
    void (*rotated)(void *userdata);
    void *userdata;
    kn_clock *clock; /* wall-clock time (ns since the epoch); NULL: realtime */
    kn_rand *rand;   /* jitter; NULL: a seeded generator */
} kc_cert_manager_options;

/* Starts the rotation thread for the identity in o->kubeconfig. */
int kc_cert_manager_start(const kc_cert_manager_options *o, kc_cert_manager **out, kn_error **err);

/* The deadline (wall ns) the manager waits for now, 0 before it computed one. */
int64_t kc_cert_manager_deadline(kc_cert_manager *m);

/* Number of rotations done. */
int kc_cert_manager_rotations(kc_cert_manager *m);

/* Stops the thread and frees. NULL is ignored. */
void kc_cert_manager_stop(kc_cert_manager *m);

#endif

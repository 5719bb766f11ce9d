/* server.h - the kubelet's HTTPS server (--address, --port 10250), as the
 * API server reaches it for `kubectl logs`, exec, attach and port-forward:
 *
 *   GET /healthz                                   "ok"
 *   GET /pods                                      the kubelet's pods (v1 PodList)
 *   GET /containerLogs/{ns}/{pod}/{container}      the container's log
 *       ?follow&tailLines&sinceSeconds&sinceTime&timestamps&previous&limitBytes
 *   GET|POST /exec, /attach, /portForward         see streaming.h
 *
 * Serving certificate: --tls-cert-file/--tls-private-key-file, else a
 * self-signed one made once under <root-dir>/pki/kubelet.{crt,key}.
 * Authentication: a client certificate verified against the client CA
 * (--client-ca-file); without one every request gets 401. Authorization:
 * group system:masters or user kube-apiserver-kubelet-client, else 403
 * (upstream asks the API server with a SubjectAccessReview instead). */
#ifndef KNODE_KUBELET_SERVER_H
#define KNODE_KUBELET_SERVER_H

#include "kubelet/config.h"
#include "kubelet/kubelet.h"
#include "lib/error.h"

#define KL_SERVER_PORT_DEFAULT 10250

typedef struct kl_server_opts {
    kl_kubelet *kubelet;        /* borrowed; outlives the server */
    const kl_node_config *node; /* root dir, node name and IPs (certificate SANs) */
    const char *address;        /* --address (NULL/"": 0.0.0.0) */
    int port;                   /* --port (0: ephemeral) */
    const char *tls_cert_file;  /* NULL/"": self-signed */
    const char *tls_key_file;
    const char *client_ca_file; /* --client-ca-file */
    const char *client_ca_pem;  /* or the CA in memory (used when no file is given) */
} kl_server_opts;

typedef struct kl_server kl_server;

/* Loads or makes the certificates and starts listening. */
int kl_server_start(const kl_server_opts *o, kl_server **out, kn_error **err);

/* The port it listens on. */
int kl_server_port(const kl_server *s);

/* Stops (open log streams end) and frees. NULL is fine. */
void kl_server_stop(kl_server *s);

#endif

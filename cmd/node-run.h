/* node-run.h - the node agent run by `knode kubelet`, `knode agent` and
 * `knode standalone` from the parsed kubelet flags (opt_kubelet). */
#ifndef KNODE_CMD_NODE_RUN_H
#define KNODE_CMD_NODE_RUN_H

#include "dns/daemon.h"
#include "lib/flags.h"
#include "netproxy/proxy.h"

typedef struct node_run_opts {
    const char *command;          /* "knode kubelet", for messages */
    const char *kubeconfig;       /* NULL: --kubeconfig */
    const char *runtime_endpoint; /* NULL: --container-runtime-endpoint */
    const char *assign_pod_cidr;  /* standalone: podCIDR set on the Node when it has none */
    const np_proxy_opts *proxy;   /* NULL: no Service proxy */
    const dns_daemon_config *dns; /* NULL: no cluster DNS */
    const char *cni_conf_dir;     /* with --manage-cni; NULL: /etc/cni/net.d */
    const char *cni_data_dir;
    /* knode agent --server --token --ca-cert-hash: TLS bootstrap first */
    const char *join_server, *join_token, *join_ca_cert_hash;
} node_run_opts;

/* Node flags beyond cmd/options.c's kubelet table (--node-status-update-frequency). */
extern const kn_flag node_extra_flags[];
extern const size_t node_extra_nflags;

typedef struct node_handle node_handle;

/* Starts the node agent from opt_kubelet and o (bootstrapping its
 * credentials first when asked). */
int node_start(const node_run_opts *o, node_handle **out, kn_error **err);

/* Stops it (pods keep running). NULL is fine. */
void node_stop(node_handle *h);

/* The proxy options from the --proxy flags (opt_proxy), with the node's
 * name override and pod CIDRs (their flags live in different tables per
 * command); kubeconfig is left NULL. */
void proxy_opts_from_flags(np_proxy_opts *o, const char *hostname_override,
                           const char *cluster_cidr);

/* The DNS server's configuration from the --dns flags (opt_dns). */
void dns_config_from_flags(dns_daemon_config *cfg, const char *cluster_domain);

/* Fills the proxy and DNS options of agent and standalone from the parsed
 * flags; --cluster-dns defaults to the DNS listen address. */
void node_network_opts(np_proxy_opts *po, dns_daemon_config *dc, const char *cluster_cidr);

/* Checks the DNS flags: -1 when fine, else the exit status (after the
 * message). */
int node_check_dns(const char *command, const dns_daemon_config *dc);

/* Blocks SIGINT/SIGTERM, starts the agent and runs until a signal; returns
 * the exit status. */
int node_run(const node_run_opts *o);

#endif

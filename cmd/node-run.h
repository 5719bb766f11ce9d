/* node-run.h - the node agent run by `knode kubelet`, `knode agent` and
 * `knode standalone` from the parsed kubelet flags (opt_kubelet). */
#ifndef KNODE_CMD_NODE_RUN_H
#define KNODE_CMD_NODE_RUN_H

#include <signal.h>

#include "dns/daemon.h"
#include "lib/flags.h"
#include "netproxy/proxy.h"

typedef struct node_run_opts {
    const char *command;          /* "knode kubelet", for messages */
    const char *kubeconfig;       /* NULL: --kubeconfig */
    const char *runtime_endpoint; /* NULL: --container-runtime-endpoint */
    const np_proxy_opts *proxy;   /* NULL: no Service proxy */
    const dns_daemon_config *dns; /* NULL: no cluster DNS */
    const char *cni_conf_dir;     /* with --manage-cni; NULL: /etc/cni/net.d */
    const char *cni_data_dir;
    const sigset_t *sigs; /* blocked already; NULL: SIGINT/SIGTERM blocked here */
} node_run_opts;

/* Node flags beyond cmd/options.c's kubelet table (--node-status-update-frequency). */
extern const kn_flag node_extra_flags[];
extern const size_t node_extra_nflags;

/* Runs the agent until a signal; returns the exit status. */
int node_run(const node_run_opts *o);

#endif

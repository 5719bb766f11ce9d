/* agent.c - `knode agent`: a worker node joining an API server (with a
 * kubeconfig, or --server --token --ca-cert-hash for a TLS bootstrap) and
 * running kubelet, Service proxy and cluster DNS in one process on one API
 * client and informer factory. */
#include <stdio.h>
#include <stdlib.h>

#include "cmd/knode.h"
#include "cmd/node-run.h"
#include "cmd/options.h"
#include "lib/cleanup.h"

void node_network_opts(np_proxy_opts *po, dns_daemon_config *dc, const char *cluster_cidr)
{
    /* --hostname-override is shared with the kubelet table, which comes
     * first in the merged flag set */
    proxy_opts_from_flags(po, opt_kubelet.hostname_override, cluster_cidr);
    dns_config_from_flags(dc, opt_kubelet.cluster_domain);
    /* pods resolve through the node's DNS unless told otherwise */
    if (!opt_kubelet.cluster_dns || !*opt_kubelet.cluster_dns)
        opt_kubelet.cluster_dns = opt_dns.listen_address;
}

int node_check_dns(const char *command, const dns_daemon_config *dc)
{
    cleanup_error kn_error *err = NULL;
    if (dns_daemon_config_check(dc, &err) < 0) {
        fprintf(stderr, "Error: %s\nRun '%s --help' for usage.\n", kn_error_msg(err), command);
        return 2;
    }
    return -1;
}

int cmd_agent(int argc, char **argv)
{
    size_t n;
    cleanup_free kn_flag *f = options_merge(&n, agent_join_flags, agent_join_nflags, kubelet_flags,
                                            kubelet_nflags, node_extra_flags, node_extra_nflags,
                                            proxy_flags, proxy_nflags, dns_flags, dns_nflags, NULL);
    kn_flagset fs = {.command = "knode agent",
                     .usage = "Join an existing API server as a worker node (kubeconfig, or "
                              "--server\n--token --ca-cert-hash) and run kubelet, Service proxy "
                              "and DNS.",
                     .flags = f,
                     .nflags = n};
    int r = options_parse_node(&fs, argc, argv);
    if (r >= 0)
        return r;
    np_proxy_opts po;
    dns_daemon_config dc;
    node_network_opts(&po, &dc, opt_proxy.cluster_cidr);
    if ((r = node_check_dns(fs.command, &dc)) >= 0)
        return r;
    node_run_opts o = {.command = fs.command,
                       .proxy = &po,
                       .dns = &dc,
                       .join_server = opt_join.server,
                       .join_token = opt_join.token,
                       .join_ca_cert_hash = opt_join.ca_cert_hash};
    return node_run(&o);
}

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
    /* --hostname-override and --cluster-cidr are shared with the kubelet
     * and standalone tables, which come first in the merged flag set */
    *po = (np_proxy_opts){
        .hostname_override = opt_kubelet.hostname_override,
        .cluster_cidr = cluster_cidr,
        .nodeport_addresses = opt_proxy.nodeport_addresses,
        .masquerade_all = opt_proxy.masquerade_all,
        .proxy_mode = opt_proxy.proxy_mode,
        .ipvs_scheduler = opt_proxy.ipvs_scheduler,
        .min_sync_period_ns = opt_proxy.min_sync_period,
        .sync_period_ns = opt_proxy.sync_period,
        .healthz_address = opt_proxy.healthz_bind_address,
        .metrics_address = opt_proxy.metrics_bind_address,
    };
    dns_daemon_config_default(dc);
    dc->listen_address = opt_dns.listen_address;
    dc->local_address = opt_dns.local_address;
    dc->port = opt_dns.port;
    dc->ttl = opt_dns.ttl;
    dc->pods = opt_dns.pods;
    dc->upstream = opt_dns.upstream;
    dc->resolv_conf = opt_dns.resolv_conf;
    dc->threads = opt_dns.threads;
    dc->health_address = opt_dns.health_address;
    dc->cluster_domain = opt_kubelet.cluster_domain;
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

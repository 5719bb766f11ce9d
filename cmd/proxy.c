/* proxy.c - `knode proxy`: the Service proxy alone, fed from the API server,
 * until SIGINT or SIGTERM. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include "cmd/knode.h"
#include "cmd/node-run.h"
#include "cmd/options.h"
#include "lib/cleanup.h"
#include "lib/error.h"
#include "lib/log.h"
#include "netproxy/proxy.h"

#define COMPONENT "proxy"

void proxy_opts_from_flags(np_proxy_opts *o, const char *hostname_override,
                           const char *cluster_cidr)
{
    *o = (np_proxy_opts){
        .hostname_override = hostname_override,
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
}

static int cleanup(void)
{
    cleanup_error kn_error *err = NULL;
    if (np_proxy_cleanup(&err) < 0) {
        KN_ERR(COMPONENT, "cleanup: %s", kn_error_msg(err));
        return 1;
    }
    KN_INFO(COMPONENT, "deleted the knode-proxy tables and the ipvs mode's state");
    return 0;
}

/* Signals are blocked in every thread (before any starts) and taken here. */
static int run(const np_proxy_opts *o)
{
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);
    cleanup_error kn_error *err = NULL;
    np_proxy *p = NULL;
    if (np_proxy_start(o, &p, &err) < 0) {
        fprintf(stderr, "knode proxy: %s\n", kn_error_msg(err));
        return kn_error_code(err) == KN_EINVAL ? 2 : 1;
    }
    int sig = 0;
    sigwait(&sigs, &sig);
    KN_INFO(COMPONENT, "received signal %d, shutting down (the rules stay in place)", sig);
    np_proxy_stop(p);
    return 0;
}

int cmd_proxy(int argc, char **argv)
{
    static const char *kubeconfig;
    static bool do_cleanup;
    static const kn_flag extra[] = {
        {"kubeconfig", 0, KN_FLAG_STRING, &kubeconfig, "", "kubeconfig file of the API server"},
        {"cleanup", 0, KN_FLAG_BOOL, &do_cleanup, "false",
         "delete the knode-proxy nftables tables, the IPVS virtual services, kube-ipvs0 and "
         "the knode-ipvs tables, and exit"},
    };
    size_t n;
    cleanup_free kn_flag *f = options_merge(&n, extra, 2, proxy_flags, proxy_nflags, NULL);
    kn_flagset fs = {
        .command = "knode proxy",
        .usage = "Run the Service proxy alone: Services and EndpointSlices from the API\n"
                 "server, programmed into nftables (tables ip/ip6 knode-proxy), or with\n"
                 "--proxy-mode ipvs into IPVS (kube-ipvs0, tables ip/ip6 knode-ipvs).",
        .flags = f,
        .nflags = n,
    };
    int r = options_parse(&fs, argc, argv);
    if (r >= 0)
        return r;
    if (do_cleanup)
        return cleanup();
    np_proxy_opts o;
    proxy_opts_from_flags(&o, opt_proxy.hostname_override, opt_proxy.cluster_cidr);
    o.kubeconfig = kubeconfig;
    return run(&o);
}

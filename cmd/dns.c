/* dns.c - `knode dns`: the cluster DNS server alone. */
#include <stdio.h>
#include <stdlib.h>

#include "cmd/knode.h"
#include "cmd/options.h"

int cmd_dns(int argc, char **argv)
{
    static const char *kubeconfig, *domain;
    static const kn_flag extra[] = {
        {"kubeconfig", 0, KN_FLAG_STRING, &kubeconfig, "", "kubeconfig file of the API server"},
        {"cluster-domain", 0, KN_FLAG_STRING, &domain, "cluster.local", "cluster DNS domain"},
    };
    size_t n;
    kn_flag *f = options_merge(&n, extra, 2, dns_flags, dns_nflags, NULL);
    return options_run_unbuilt("knode dns", "Run the cluster DNS server alone.", f, n, argc, argv,
                               "the cluster DNS server");
}

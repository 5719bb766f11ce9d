/* config.c - node-level kubelet settings and their upstream defaults. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "kubelet/config.h"

int64_t kl_host_memory_bytes(void)
{
    FILE *f = fopen("/proc/meminfo", "r");
    if (!f)
        return 0;
    char line[256];
    long long kb = 0;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "MemTotal: %lld kB", &kb) == 1)
            break;
    fclose(f);
    return (int64_t)kb * 1024;
}

void kl_node_config_defaults(kl_node_config *c)
{
    static char host[256];
    if (!host[0] && gethostname(host, sizeof(host) - 1) == 0) {
        /* node names are lowercase, as the kubelet's GetHostname makes them */
        for (char *p = host; *p; p++)
            *p = (char)tolower((unsigned char)*p);
    }
    memset(c, 0, sizeof(*c));
    c->node_name = host;
    c->cluster_domain = "";
    c->resolv_conf = "/etc/resolv.conf";
    c->pod_logs_dir = "/var/log/pods";
    c->root_dir = "/var/lib/knode/kubelet";
    c->cgroup_root = "/";
    c->cgroups_per_qos = true;
    c->cpu_cfs_quota = true;
    c->cpu_cfs_quota_period_us = 100000;
    c->memory_capacity = kl_host_memory_bytes();
    c->runtime_handler = "";
}

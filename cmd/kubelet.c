/* kubelet.c - `knode kubelet`: the kubelet alone (pods of this node from the
 * API server, static pods, Node status and Lease) until SIGINT or SIGTERM,
 * and node_run, which `knode agent` and `knode standalone` share. */
#include <ctype.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api-client/kubeconfig.h"
#include "api-client/rest.h"
#include "cmd/knode.h"
#include "cmd/node-run.h"
#include "cmd/options.h"
#include "kubelet/agent.h"
#include "kubelet/config.h"
#include "lib/cleanup.h"
#include "lib/log.h"
#include "lib/xalloc.h"

#define COMPONENT "kubelet"
#define MAX_DNS 4

static int64_t node_status_update_frequency;

const kn_flag node_extra_flags[] = {
    {"node-status-update-frequency", 0, KN_FLAG_DURATION, &node_status_update_frequency, "10s",
     "how often the kubelet computes the node status (posted when changed, and every 5m)"},
};
const size_t node_extra_nflags = sizeof(node_extra_flags) / sizeof(node_extra_flags[0]);

/* Splits a comma-separated list into v (at most max entries, NULL-ended);
 * returns the copy the entries point into (caller frees). */
static char *split_list(const char *s, const char **v, size_t max)
{
    char *copy = xstrdup(s ? s : "");
    size_t n = 0;
    char *save = NULL;
    for (char *t = strtok_r(copy, ",", &save); t && n < max; t = strtok_r(NULL, ",", &save))
        v[n++] = t;
    if (n < max)
        v[n] = NULL;
    return copy;
}

/* The node name as upstream: --hostname-override, else the host name,
 * lower case. */
static char *node_name(void)
{
    char host[256] = "";
    const char *src = opt_kubelet.hostname_override;
    if (!src || !*src) {
        gethostname(host, sizeof(host) - 1);
        src = host;
    }
    char *name = xstrdup(src);
    for (char *p = name; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    return name;
}

/* upstream setupKernelTunables (--tune-kernel-settings only). */
static void tune_kernel(void)
{
    static const char *const set[][2] = {{"/proc/sys/vm/overcommit_memory", "1"},
                                         {"/proc/sys/kernel/panic", "10"},
                                         {"/proc/sys/kernel/panic_on_oops", "1"}};
    for (size_t i = 0; i < sizeof(set) / sizeof(set[0]); i++) {
        FILE *f = fopen(set[i][0], "w");
        if (!f || fputs(set[i][1], f) < 0)
            KN_WARN(COMPONENT, "cannot set %s to %s", set[i][0], set[i][1]);
        if (f)
            fclose(f);
    }
}

typedef struct node_strings {
    char *name, *ips, *dns;
    const char *dns_v[MAX_DNS + 1];
} node_strings;

static void fill_node_config(kl_node_config *c, node_strings *s)
{
    kl_node_config_defaults(c);
    s->name = node_name();
    c->node_name = s->name;
    const char *ips[KL_MAX_NODE_IPS + 1] = {0};
    s->ips = split_list(opt_kubelet.node_ip, ips, KL_MAX_NODE_IPS);
    for (int i = 0; i < KL_MAX_NODE_IPS; i++)
        c->node_ips[i] = ips[i];
    s->dns = split_list(opt_kubelet.cluster_dns, s->dns_v, MAX_DNS);
    c->cluster_dns = s->dns_v[0] ? s->dns_v : NULL;
    c->cluster_domain = opt_kubelet.cluster_domain;
    c->root_dir = opt_kubelet.root_dir;
    c->pod_logs_dir = opt_kubelet.pod_logs_dir;
    c->cgroup_root = opt_kubelet.cgroup_root;
}

static int make_client(const char *kubeconfig, kc_client **out, kn_error **err)
{
    cleanup_kc_config kc_config *kc = NULL;
    if (kc_config_load(kubeconfig && *kubeconfig ? kubeconfig : NULL, NULL, &kc, err) < 0)
        return kn_error_wrap(err, "kubeconfig");
    return kc_client_new(kc, NULL, out, err);
}

static int serve(const node_run_opts *o, const kl_node_config *nc, const sigset_t *sigs,
                 kn_error **err)
{
    kc_client *client = NULL;
    if (make_client(o->kubeconfig ? o->kubeconfig : opt_kubelet.kubeconfig, &client, err) < 0)
        return -1;
    kl_agent_opts ao = {.client = client,
                        .node = nc,
                        .runtime_endpoint = o->runtime_endpoint
                                                ? o->runtime_endpoint
                                                : opt_kubelet.container_runtime_endpoint,
                        .runtime_timeout_ms = opt_kubelet.runtime_request_timeout / 1000000,
                        .pod_manifest_path = opt_kubelet.pod_manifest_path,
                        .node_labels = opt_kubelet.node_labels,
                        .taints = opt_kubelet.register_with_taints,
                        .kube_reserved = opt_kubelet.kube_reserved,
                        .system_reserved = opt_kubelet.system_reserved,
                        .max_pods = (int)opt_kubelet.max_pods,
                        .manage_cni = opt_kubelet.manage_cni,
                        .cni_conf_dir = o->cni_conf_dir,
                        .cni_data_dir = o->cni_data_dir,
                        .proxy = o->proxy,
                        .dns = o->dns,
                        .node_status_period_ns = node_status_update_frequency};
    kl_agent *a = NULL;
    int r = kl_agent_start(&ao, &a, err);
    if (r == 0) {
        KN_INFO(COMPONENT, "node %s running", nc->node_name);
        int sig = 0;
        sigwait(sigs, &sig);
        KN_INFO(COMPONENT, "received signal %d, shutting down (pods keep running)", sig);
        kl_agent_stop(a);
    }
    kc_client_free(client);
    return r;
}

int node_run(const node_run_opts *o)
{
    sigset_t own;
    const sigset_t *sigs = o->sigs;
    if (!sigs) {
        sigemptyset(&own);
        sigaddset(&own, SIGINT);
        sigaddset(&own, SIGTERM);
        pthread_sigmask(SIG_BLOCK, &own, NULL); /* before any thread starts */
        sigs = &own;
    }
    signal(SIGPIPE, SIG_IGN);
    if (opt_kubelet.tune_kernel)
        tune_kernel();
    kl_node_config nc;
    node_strings s = {0};
    fill_node_config(&nc, &s);
    cleanup_error kn_error *err = NULL;
    int r = serve(o, &nc, sigs, &err);
    free(s.name);
    free(s.ips);
    free(s.dns);
    if (r < 0) {
        fprintf(stderr, "%s: %s\n", o->command, kn_error_msg(err));
        return kn_error_code(err) == KN_EINVAL ? 2 : 1;
    }
    return 0;
}

int cmd_kubelet(int argc, char **argv)
{
    size_t n;
    cleanup_free kn_flag *f =
        options_merge(&n, kubelet_flags, kubelet_nflags, node_extra_flags, node_extra_nflags, NULL);
    kn_flagset fs = {.command = "knode kubelet",
                     .usage = "Run the kubelet alone: the pods the API server binds to this "
                              "node,\nstatic pods, the Node's status and its Lease.",
                     .flags = f,
                     .nflags = n};
    int r = options_parse(&fs, argc, argv);
    if (r >= 0)
        return r;
    node_run_opts o = {.command = "knode kubelet"};
    return node_run(&o);
}

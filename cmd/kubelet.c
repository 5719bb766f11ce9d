/* kubelet.c - `knode kubelet`: the kubelet alone (pods of this node from the
 * API server, static pods, Node status and Lease) until SIGINT or SIGTERM,
 * and node_run, which `knode agent` and `knode standalone` share. */
#include <ctype.h>
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api-client/bootstrap.h"
#include "api-client/kubeconfig.h"
#include "api-client/rest.h"
#include "cmd/knode.h"
#include "cmd/node-run.h"
#include "cmd/options.h"
#include "kubelet/agent.h"
#include "kubelet/config.h"
#include "lib/quantity.h"
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

/* glibc gives each thread that meets a locked arena an arena of its own, up
 * to 8 per core, and memory freed in one stays there: after a burst of pod
 * workers the node agent held ~4 MB of free heap pages in 16 arenas. Two
 * arenas keep that in check; the agent's threads mostly wait on the runtime
 * and the API server, not on the allocator (ARCHITECTURE.md, node agent
 * memory). Before any thread starts. */
static void tune_malloc(void)
{
    mallopt(M_ARENA_MAX, 2);
}

struct node_handle {
    char *name, *ips, *dns, *kubeconfig;
    char *cluster_ca; /* the kubeconfig's CA (PEM): the default client CA */
    const char *dns_v[MAX_DNS + 1];
    kl_node_config nc;
    kc_client *client;
    kl_agent *agent;
};

static void fill_node_config(node_handle *h)
{
    kl_node_config *c = &h->nc;
    kl_node_config_defaults(c);
    h->name = node_name();
    c->node_name = h->name;
    const char *ips[KL_MAX_NODE_IPS + 1] = {0};
    h->ips = split_list(opt_kubelet.node_ip, ips, KL_MAX_NODE_IPS);
    for (int i = 0; i < KL_MAX_NODE_IPS; i++)
        c->node_ips[i] = ips[i];
    h->dns = split_list(opt_kubelet.cluster_dns, h->dns_v, MAX_DNS);
    c->cluster_dns = h->dns_v[0] ? h->dns_v : NULL;
    c->cluster_domain = opt_kubelet.cluster_domain;
    c->root_dir = opt_kubelet.root_dir;
    c->pod_logs_dir = opt_kubelet.pod_logs_dir;
    c->cgroup_root = opt_kubelet.cgroup_root;
}

/* Creates dir and its missing parents, as upstream kubelet creates its
 * --root-dir (MkdirAll) before anything is stored there. */
static int make_root_dir(const char *dir, kn_error **err)
{
    if (mkdir(dir, 0750) == 0 || errno == EEXIST)
        return 0;
    if (errno != ENOENT)
        return kn_error_errno(err, errno, "create --root-dir %s", dir);
    cleanup_free char *parent = xstrdup(dir);
    char *slash = strrchr(parent, '/');
    if (!slash || slash == parent)
        return kn_error_errno(err, ENOENT, "create --root-dir %s", dir);
    *slash = '\0';
    if (make_root_dir(parent, err) < 0)
        return -1;
    if (mkdir(dir, 0750) < 0 && errno != EEXIST)
        return kn_error_errno(err, errno, "create --root-dir %s", dir);
    return 0;
}

/* TLS bootstrap (--bootstrap-kubeconfig, or knode agent's --server/--token)
 * into the kubeconfig the agent then uses. */
static int bootstrap(node_handle *h, const node_run_opts *o, kn_error **err)
{
    bool join = o->join_server && *o->join_server;
    bool boot = opt_kubelet.bootstrap_kubeconfig && *opt_kubelet.bootstrap_kubeconfig;
    if (!join && !boot)
        return 0;
    if (!h->kubeconfig || !*h->kubeconfig) {
        free(h->kubeconfig);
        h->kubeconfig = xasprintf("%s/kubelet.kubeconfig", opt_kubelet.root_dir);
    }
    cleanup_free char *certs = xasprintf("%s/pki", opt_kubelet.root_dir);
    kc_bootstrap_options b = {.server = join ? o->join_server : NULL,
                              .token = join ? o->join_token : NULL,
                              .ca_cert_hash = join ? o->join_ca_cert_hash : NULL,
                              .bootstrap_kubeconfig =
                                  join ? NULL : opt_kubelet.bootstrap_kubeconfig,
                              .node_name = h->name,
                              .cert_dir = certs,
                              .kubeconfig = h->kubeconfig};
    if (kc_bootstrap_run(&b, err) < 0)
        return kn_error_wrap(err, "TLS bootstrap");
    return 0;
}

static int make_client(node_handle *h, kc_client **out, kn_error **err)
{
    cleanup_kc_config kc_config *kc = NULL;
    const char *kubeconfig = h->kubeconfig;
    if (kc_config_load(kubeconfig && *kubeconfig ? kubeconfig : NULL, NULL, &kc, err) < 0)
        return kn_error_wrap(err, "kubeconfig");
    if (kc->ca.len)
        h->cluster_ca = xstrndup((const char *)kc->ca.data, kc->ca.len);
    /* the informers, the node status loop and the status manager retry on
     * their own (and stop promptly, which in-client retry waits do not) */
    kc_client_options co = {.max_retries = -1};
    return kc_client_new(kc, &co, out, err);
}

/* --container-log-max-size in bytes. */
static int log_max_size(int64_t *out, kn_error **err)
{
    kn_quantity q;
    if (kn_quantity_parse(opt_kubelet.container_log_max_size, &q, err) < 0 ||
        kn_quantity_scaled_value(&q, 0, out, err) < 0)
        return kn_error_wrap(err, "--container-log-max-size");
    return 0;
}

static int start_agent(node_handle *h, const node_run_opts *o, kn_error **err)
{
    int64_t max_size = 0;
    if (log_max_size(&max_size, err) < 0)
        return -1;
    kl_agent_opts ao = {.client = h->client,
                        .node = &h->nc,
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
                        .assign_pod_cidr = o->assign_pod_cidr,
                        .cni_conf_dir = o->cni_conf_dir,
                        .cni_data_dir = o->cni_data_dir,
                        .proxy = o->proxy,
                        .dns = o->dns,
                        .node_status_period_ns = node_status_update_frequency,
                        .server = {.address = opt_kubelet.address,
                                   .port = (int)opt_kubelet.port,
                                   .tls_cert_file = opt_kubelet.tls_cert_file,
                                   .tls_key_file = opt_kubelet.tls_private_key_file,
                                   .client_ca_file = opt_kubelet.client_ca_file,
                                   .client_ca_pem = h->cluster_ca},
                        .logs = {.max_size = max_size,
                                 .max_files = (int)opt_kubelet.container_log_max_files,
                                 .period_ns = opt_kubelet.container_log_monitor_interval}};
    return kl_agent_start(&ao, &h->agent, err);
}

int node_start(const node_run_opts *o, node_handle **out, kn_error **err)
{
    if (opt_kubelet.tune_kernel)
        tune_kernel();
    node_handle *h = xcalloc(1, sizeof(*h));
    fill_node_config(h);
    h->kubeconfig = xstrdup(o->kubeconfig ? o->kubeconfig : opt_kubelet.kubeconfig);
    if (make_root_dir(opt_kubelet.root_dir, err) < 0 || bootstrap(h, o, err) < 0 ||
        make_client(h, &h->client, err) < 0 || start_agent(h, o, err) < 0) {
        node_stop(h);
        return -1;
    }
    KN_INFO(COMPONENT, "node %s running", h->nc.node_name);
    *out = h;
    return 0;
}

void node_stop(node_handle *h)
{
    if (!h)
        return;
    kl_agent_stop(h->agent);
    kc_client_free(h->client);
    free(h->name);
    free(h->ips);
    free(h->dns);
    free(h->kubeconfig);
    free(h->cluster_ca);
    free(h);
}

int node_run(const node_run_opts *o)
{
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL); /* before any thread starts */
    signal(SIGPIPE, SIG_IGN);
    tune_malloc();
    cleanup_error kn_error *err = NULL;
    node_handle *h = NULL;
    if (node_start(o, &h, &err) < 0) {
        fprintf(stderr, "%s: %s\n", o->command, kn_error_msg(err));
        return kn_error_code(err) == KN_EINVAL ? 2 : 1;
    }
    int sig = 0;
    sigwait(&sigs, &sig);
    KN_INFO(COMPONENT, "received signal %d, shutting down (pods keep running)", sig);
    node_stop(h);
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
    int r = options_parse_node(&fs, argc, argv);
    if (r >= 0)
        return r;
    node_run_opts o = {.command = "knode kubelet"};
    return node_run(&o);
}

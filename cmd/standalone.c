/* standalone.c - `knode standalone`: a whole one-node cluster in one
 * process: the control plane (knode server) and the node agent (kubelet,
 * Service proxy, DNS) on the admin kubeconfig, with a containerd of its own
 * unless --container-runtime-endpoint is given, --manage-cni on, and the
 * node's podCIDR taken from --cluster-cidr. */
#include <arpa/inet.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/knode.h"
#include "cmd/node-run.h"
#include "cmd/options.h"
#include "controlplane/server.h"
#include "kubelet/containerd.h"
#include "lib/cleanup.h"
#include "lib/clock.h"
#include "lib/log.h"
#include "lib/xalloc.h"

#define COMPONENT "standalone"

typedef struct node_thread {
    node_run_opts o;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cond;
    bool stop;
    node_handle *h;
} node_thread;

/* The first /24 of an IPv4 cluster CIDR (or the CIDR itself when it is
 * smaller); NULL when it does not parse. Caller frees. */
static char *first_pod_cidr(const char *cluster)
{
    char addr[64];
    const char *slash = cluster ? strchr(cluster, '/') : NULL;
    if (!slash || (size_t)(slash - cluster) >= sizeof(addr))
        return NULL;
    memcpy(addr, cluster, (size_t)(slash - cluster));
    addr[slash - cluster] = '\0';
    int len = atoi(slash + 1);
    struct in_addr a;
    if (inet_pton(AF_INET, addr, &a) != 1 || len < 8 || len > 30)
        return NULL;
    if (len > 24)
        return xstrdup(cluster);
    uint32_t mask = ~UINT32_C(0) << (32 - len);
    a.s_addr = htonl(ntohl(a.s_addr) & mask);
    char out[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &a, out, sizeof(out));
    return xasprintf("%s/24", out);
}

/* Starts the node agent once the API server answers; retries every second. */
static void *node_main(void *arg)
{
    node_thread *t = arg;
    pthread_mutex_lock(&t->mu);
    while (!t->stop && !t->h) {
        pthread_mutex_unlock(&t->mu);
        node_handle *h = NULL;
        kn_error *err = NULL;
        if (access(t->o.kubeconfig, R_OK) == 0 && node_start(&t->o, &h, &err) < 0)
            KN_INFO(COMPONENT, "node agent not started yet: %s", kn_error_msg(err));
        kn_error_free(&err);
        pthread_mutex_lock(&t->mu);
        t->h = h;
        if (!h)
            kn_clock_wait_until(NULL, &t->cond, &t->mu, kn_time_monotonic_ns() + 1000000000);
    }
    pthread_mutex_unlock(&t->mu);
    return NULL;
}

static int start_runtime(const char *data_dir, kl_containerd **out, kn_error **err)
{
    cleanup_free char *dir = xasprintf("%s/containerd", data_dir);
    cleanup_free char *cni = xasprintf("%s/cni/net.d", data_dir);
    cleanup_free char *own = xasprintf("%s/images", data_dir);
    char self[512];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    self[n > 0 ? n : 0] = '\0';
    if (strrchr(self, '/'))
        *strrchr(self, '/') = '\0';
    cleanup_free char *built = xasprintf("%s/images", self);
    const char *dirs[] = {built, own, NULL};
    kl_containerd_opts co = {.dir = dir, .image_dirs = dirs, .cni_conf_dir = cni};
    return kl_containerd_start(&co, out, err);
}

static int serve(node_thread *t)
{
    kn_server_opts so = {.data_dir = opt_server.data_dir,
                         .bind_address = opt_server.bind_address,
                         .port = (int)opt_server.secure_port,
                         .service_cidr = opt_server.service_cluster_ip_range,
                         .store_url = opt_server.store,
                         .cluster_domain = opt_kubelet.cluster_domain,
                         .compact_interval_s = (int)(opt_server.compaction_interval / 1000000000LL),
                         .node_monitor_grace_ns = opt_server.node_monitor_grace_period,
                         .allocate_node_cidrs = opt_server.allocate_node_cidrs,
                         .cluster_cidr = opt_join.cluster_cidr};
    pthread_mutex_init(&t->mu, NULL);
    kn_cond_init(&t->cond);
    if (pthread_create(&t->thread, NULL, node_main, t) != 0) {
        fprintf(stderr, "knode standalone: cannot start a thread\n");
        return 1;
    }
    cleanup_error kn_error *err = NULL;
    int r = kn_server_run(&so, &err);
    pthread_mutex_lock(&t->mu);
    t->stop = true;
    pthread_cond_broadcast(&t->cond);
    pthread_mutex_unlock(&t->mu);
    pthread_join(t->thread, NULL);
    node_stop(t->h);
    pthread_mutex_destroy(&t->mu);
    pthread_cond_destroy(&t->cond);
    if (r < 0) {
        fprintf(stderr, "knode standalone: %s\n", kn_error_msg(err));
        return 1;
    }
    return 0;
}

/* Standalone's own defaults for flags shared with `knode kubelet`. */
static void standalone_defaults(kn_flag *f, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(f[i].name, "manage-cni") == 0)
            f[i].def = "true";
        else if (strcmp(f[i].name, "container-runtime-endpoint") == 0)
            f[i].def = "";
    }
}

static int run(void)
{
    signal(SIGPIPE, SIG_IGN);
    np_proxy_opts po;
    dns_daemon_config dc;
    node_network_opts(&po, &dc, opt_join.cluster_cidr);
    int r = node_check_dns("knode standalone", &dc);
    if (r >= 0)
        return r;
    cleanup_free char *pod_cidr = first_pod_cidr(opt_join.cluster_cidr);
    if (!pod_cidr) {
        fprintf(stderr, "Error: --cluster-cidr \"%s\" is not an IPv4 CIDR\n",
                opt_join.cluster_cidr);
        return 2;
    }
    const char *data = opt_server.data_dir;
    cleanup_free char *kubeconfig = xasprintf("%s/admin.kubeconfig", data);
    cleanup_free char *cni = xasprintf("%s/cni/net.d", data);
    cleanup_free char *ipam = xasprintf("%s/cni/ipam", data);
    kl_containerd *ctd = NULL;
    bool own = !opt_kubelet.container_runtime_endpoint || !*opt_kubelet.container_runtime_endpoint;
    cleanup_error kn_error *err = NULL;
    if (own && start_runtime(data, &ctd, &err) < 0) {
        fprintf(stderr, "knode standalone: %s\n", kn_error_msg(err));
        return 1;
    }
    node_thread t = {.o = {.command = "knode standalone",
                           .kubeconfig = kubeconfig,
                           .runtime_endpoint = own ? kl_containerd_endpoint(ctd) : NULL,
                           .assign_pod_cidr = pod_cidr,
                           .proxy = &po,
                           .dns = &dc,
                           .cni_conf_dir = own ? cni : NULL,
                           .cni_data_dir = ipam}};
    r = serve(&t);
    kl_containerd_stop(ctd);
    return r;
}

int cmd_standalone(int argc, char **argv)
{
    size_t n;
    cleanup_free kn_flag *f =
        options_merge(&n, server_flags, server_nflags, standalone_extra_flags,
                      standalone_extra_nflags, kubelet_flags, kubelet_nflags, node_extra_flags,
                      node_extra_nflags, proxy_flags, proxy_nflags, dns_flags, dns_nflags, NULL);
    standalone_defaults(f, n);
    kn_flagset fs = {.command = "knode standalone",
                     .usage = "Run a whole one-node cluster: API server, store, scheduler, "
                              "controllers,\nkubelet, Service proxy and DNS in one process "
                              "(and a containerd of its own\nunless "
                              "--container-runtime-endpoint is given). kubectl uses\n"
                              "<data-dir>/admin.kubeconfig.",
                     .flags = f,
                     .nflags = n};
    int r = options_parse_node(&fs, argc, argv);
    if (r >= 0)
        return r;
    return run();
}

#include "cmd/options.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "kubelet/config.h"
#include "lib/xalloc.h"

server_options opt_server;
kubelet_options opt_kubelet;
proxy_options opt_proxy;
dns_options opt_dns;
join_options opt_join;

#define S KN_FLAG_STRING
#define I KN_FLAG_INT
#define B KN_FLAG_BOOL
#define D KN_FLAG_DURATION

const kn_flag server_flags[] = {
    {"data-dir", 0, S, &opt_server.data_dir, "/var/lib/knode",
     "directory for certificates, keys, kubeconfigs and the store"},
    {"bind-address", 0, S, &opt_server.bind_address, "127.0.0.1",
     "address the API server listens on"},
    {"secure-port", 0, I, &opt_server.secure_port, "6443", "HTTPS port of the API server"},
    {"service-cluster-ip-range", 0, S, &opt_server.service_cluster_ip_range, "10.96.0.0/12",
     "CIDR Service ClusterIPs are allocated from"},
    {"store", 0, S, &opt_server.store, "",
     "store URL: sqlite:///path or etcd://h1:2379,h2:2379 (default sqlite://<data-dir>/state.db)"},
    {"etcd-compaction-interval", 0, D, &opt_server.compaction_interval, "5m",
     "interval between compactions of the store's history (older watches get 410 Gone)"},
    {"node-monitor-grace-period", 0, D, &opt_server.node_monitor_grace_period, "40s",
     "how long a node may go without a Lease renewal or status before it is NotReady/Unknown"},
    {"allocate-node-cidrs", 0, B, &opt_server.allocate_node_cidrs, "false",
     "give every Node a spec.podCIDR from --cluster-cidr"},
};
const size_t server_nflags = sizeof(server_flags) / sizeof(server_flags[0]);

const kn_flag kubelet_flags[] = {
    {"kubeconfig", 0, S, &opt_kubelet.kubeconfig, "", "kubeconfig file of the API server"},
    {"bootstrap-kubeconfig", 0, S, &opt_kubelet.bootstrap_kubeconfig, "",
     "kubeconfig used to request a client certificate (TLS bootstrap)"},
    {"config", 0, S, &opt_kubelet.config, "",
     "KubeletConfiguration file (kubelet.config.k8s.io/v1beta1)"},
    {"container-runtime-endpoint", 0, S, &opt_kubelet.container_runtime_endpoint,
     "unix:///run/containerd/containerd.sock", "CRI endpoint of the container runtime"},
    {"runtime-request-timeout", 0, D, &opt_kubelet.runtime_request_timeout, "2m",
     "deadline of each CRI call"},
    {"node-ip", 0, S, &opt_kubelet.node_ip, "",
     "IP address(es) of the node, comma-separated for dual-stack"},
    {"hostname-override", 0, S, &opt_kubelet.hostname_override, "",
     "node name instead of the hostname"},
    {"root-dir", 0, S, &opt_kubelet.root_dir, "/var/lib/knode/kubelet",
     "directory for kubelet state (volumes, plugins)"},
    {"pod-logs-dir", 0, S, &opt_kubelet.pod_logs_dir, "/var/log/pods",
     "directory of container logs"},
    {"pod-manifest-path", 0, S, &opt_kubelet.pod_manifest_path, "",
     "directory (or file) of static pod manifests"},
    {"cluster-dns", 0, S, &opt_kubelet.cluster_dns, "",
     "comma-separated DNS server IPs written into pods' resolv.conf"},
    {"cluster-domain", 0, S, &opt_kubelet.cluster_domain, "cluster.local", "cluster DNS domain"},
    {"node-labels", 0, S, &opt_kubelet.node_labels, "",
     "labels to add when registering the node (key=value,...)"},
    {"register-with-taints", 0, S, &opt_kubelet.register_with_taints, "",
     "taints to add when registering (key=value:Effect,...)"},
    {"max-pods", 0, I, &opt_kubelet.max_pods, "110", "pods this node can run"},
    {"cgroup-root", 0, S, &opt_kubelet.cgroup_root, "/", "root cgroup for pods"},
    {"kube-reserved", 0, S, &opt_kubelet.kube_reserved, "",
     "resources reserved for Kubernetes components (cpu=100m,memory=256Mi)"},
    {"system-reserved", 0, S, &opt_kubelet.system_reserved, "",
     "resources reserved for the system"},
    {"manage-cni", 0, B, &opt_kubelet.manage_cni, "false",
     "write the CNI conflist for the node's podCIDR"},
    {"tune-kernel-settings", 0, B, &opt_kubelet.tune_kernel, "false",
     "set vm.overcommit_memory=1 and kernel.panic* as upstream kubelet does (off: host-wide "
     "settings are left alone)"},
    {"address", 0, S, &opt_kubelet.address, "0.0.0.0",
     "IP address the kubelet serves on (port --port: logs for the API server)"},
    {"port", 0, I, &opt_kubelet.port, "10250", "HTTPS port of the kubelet"},
    {"tls-cert-file", 0, S, &opt_kubelet.tls_cert_file, "",
     "serving certificate of the kubelet (default: self-signed under <root-dir>/pki)"},
    {"tls-private-key-file", 0, S, &opt_kubelet.tls_private_key_file, "", "key of --tls-cert-file"},
    {"client-ca-file", 0, S, &opt_kubelet.client_ca_file, "",
     "CA bundle that verifies client certificates (default: the kubeconfig's cluster CA)"},
    {"container-log-max-size", 0, S, &opt_kubelet.container_log_max_size, "10Mi",
     "size at which a container's log is rotated"},
    {"container-log-max-files", 0, I, &opt_kubelet.container_log_max_files, "5",
     "log files kept per container (at least 2)"},
    {"container-log-monitor-interval", 0, D, &opt_kubelet.container_log_monitor_interval, "10s",
     "how often container logs are checked for rotation"},
};
const size_t kubelet_nflags = sizeof(kubelet_flags) / sizeof(kubelet_flags[0]);

const kn_flag proxy_flags[] = {
    {"proxy-mode", 0, S, &opt_proxy.proxy_mode, "nftables", "nftables or ipvs"},
    {"ipvs-scheduler", 0, S, &opt_proxy.ipvs_scheduler, "rr",
     "IPVS scheduler of the virtual services with --proxy-mode ipvs (rr, lc, wrr, sh, ...)"},
    {"nodeport-addresses", 0, S, &opt_proxy.nodeport_addresses, "",
     "CIDRs whose node addresses accept NodePorts (default: the default route's interface)"},
    {"masquerade-all", 0, B, &opt_proxy.masquerade_all, "false", "SNAT all Service traffic"},
    {"min-sync-period", 0, D, &opt_proxy.min_sync_period, "1s",
     "minimum interval between rule syncs"},
    {"sync-period", 0, D, &opt_proxy.sync_period, "30s", "interval of full resyncs"},
    {"healthz-bind-address", 0, S, &opt_proxy.healthz_bind_address, "0.0.0.0:10256",
     "address of the healthz server"},
    {"metrics-bind-address", 0, S, &opt_proxy.metrics_bind_address, "127.0.0.1:10249",
     "address of the metrics server"},
    {"hostname-override", 0, S, &opt_proxy.hostname_override, "",
     "node name instead of the hostname (for traffic policy Local)"},
    {"cluster-cidr", 0, S, &opt_proxy.cluster_cidr, "",
     "pod CIDRs (comma-separated); Service traffic from outside them is masqueraded"},
};
const size_t proxy_nflags = sizeof(proxy_flags) / sizeof(proxy_flags[0]);

const kn_flag dns_flags[] = {
    {"dns-listen-address", 0, S, &opt_dns.listen_address, "10.96.0.10",
     "cluster DNS address to serve on (the kube-dns Service IP)"},
    {"dns-local-address", 0, S, &opt_dns.local_address, "",
     "extra node-local address, e.g. 169.254.20.10"},
    {"dns-port", 0, I, &opt_dns.port, "53", "UDP and TCP port"},
    {"dns-ttl", 0, I, &opt_dns.ttl, "5", "TTL of cluster records, seconds"},
    {"dns-pods", 0, S, &opt_dns.pods, "insecure", "pod records: insecure or disabled"},
    {"dns-upstream", 0, S, &opt_dns.upstream, "",
     "upstream resolvers (comma-separated ip[:port]); default from --dns-resolv-conf"},
    {"dns-resolv-conf", 0, S, &opt_dns.resolv_conf, "/etc/resolv.conf",
     "resolv.conf naming the upstream resolvers"},
    {"dns-threads", 0, I, &opt_dns.threads, "0", "worker threads (0: one per core)"},
    {"dns-health-address", 0, S, &opt_dns.health_address, "127.0.0.1:8080",
     "ip:port of the HTTP endpoint for /health, /ready and /metrics (empty: off)"},
};
const size_t dns_nflags = sizeof(dns_flags) / sizeof(dns_flags[0]);

const kn_flag agent_join_flags[] = {
    {"server", 0, S, &opt_join.server, "", "API server URL to join (with --token)"},
    {"token", 0, S, &opt_join.token, "", "bootstrap token ID.SECRET"},
    {"ca-cert-hash", 0, S, &opt_join.ca_cert_hash, "",
     "sha256:<hex> of the cluster CA's public key"},
};
const size_t agent_join_nflags = sizeof(agent_join_flags) / sizeof(agent_join_flags[0]);

const kn_flag standalone_extra_flags[] = {
    {"cluster-cidr", 0, S, &opt_join.cluster_cidr, "10.244.0.0/16",
     "pod CIDR of the cluster; each node gets a /24"},
};
const size_t standalone_extra_nflags =
    sizeof(standalone_extra_flags) / sizeof(standalone_extra_flags[0]);

kn_flag *options_merge(size_t *nout, ...)
{
    va_list ap;
    size_t total = 0, n = 0;
    va_start(ap, nout);
    for (const kn_flag *t; (t = va_arg(ap, const kn_flag *)) != NULL;)
        total += va_arg(ap, size_t);
    va_end(ap);
    kn_flag *out = xcalloc(total, sizeof(*out));
    va_start(ap, nout);
    for (const kn_flag *t; (t = va_arg(ap, const kn_flag *)) != NULL;) {
        size_t cnt = va_arg(ap, size_t);
        for (size_t i = 0; i < cnt; i++) {
            bool dup = false;
            for (size_t j = 0; j < n; j++)
                dup = dup || strcmp(out[j].name, t[i].name) == 0;
            if (!dup)
                out[n++] = t[i];
        }
    }
    va_end(ap);
    *nout = n;
    return out;
}

int options_parse(kn_flagset *fs, int argc, char **argv)
{
    kn_error *err = NULL;
    int r = kn_flags_parse(fs, argc, argv, &err);
    if (r == 1)
        return 0;
    if (r < 0) {
        fprintf(stderr, "Error: %s\nRun '%s --help' for usage.\n", kn_error_msg(err), fs->command);
        kn_error_free(&err);
        return 2;
    }
    if (fs->nargs > 0) {
        fprintf(stderr, "Error: unexpected argument \"%s\"\nRun '%s --help' for usage.\n",
                fs->args[0], fs->command);
        return 2;
    }
    return -1;
}

/* The --config file's settings; string flags point into it, so it lives as
 * long as the process. */
static kl_config_file node_config_file;

int options_parse_node(kn_flagset *fs, int argc, char **argv)
{
    int r = options_parse(fs, argc, argv);
    if (r >= 0 || !opt_kubelet.config || !*opt_kubelet.config)
        return r;
    kn_error *err = NULL;
    if (kl_config_file_load(opt_kubelet.config, &node_config_file, &err) < 0 ||
        kl_config_file_apply(&node_config_file, fs->flags, fs->nflags, argc, argv, &err) < 0) {
        fprintf(stderr, "Error: failed to load kubelet config file: %s\n", kn_error_msg(err));
        kn_error_free(&err);
        return 1;
    }
    return -1;
}

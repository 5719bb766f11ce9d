/* options.h - the flag sets of the component sub-commands, shared so that
 * `knode standalone` and `knode agent` accept every flag of the components
 * they run, with the same names and defaults as upstream. */
#ifndef KNODE_CMD_OPTIONS_H
#define KNODE_CMD_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/flags.h"

typedef struct server_options {
    const char *data_dir;
    const char *bind_address;
    long long secure_port;
    const char *service_cluster_ip_range;
    const char *store;
    int64_t compaction_interval;
    int64_t node_monitor_grace_period;
    bool allocate_node_cidrs;
} server_options;

typedef struct kubelet_options {
    const char *kubeconfig;
    const char *bootstrap_kubeconfig;
    const char *config;
    const char *container_runtime_endpoint;
    int64_t runtime_request_timeout;
    const char *node_ip;
    const char *hostname_override;
    const char *root_dir;
    const char *pod_logs_dir;
    const char *pod_manifest_path;
    const char *cluster_dns;
    const char *cluster_domain;
    const char *node_labels;
    const char *register_with_taints;
    long long max_pods;
    const char *cgroup_root;
    const char *kube_reserved;
    const char *system_reserved;
    bool manage_cni;
    bool tune_kernel;
    const char *address;
    long long port;
    const char *tls_cert_file;
    const char *tls_private_key_file;
    const char *client_ca_file;
    const char *container_log_max_size;
    long long container_log_max_files;
    int64_t container_log_monitor_interval;
} kubelet_options;

typedef struct proxy_options {
    const char *proxy_mode;
    const char *ipvs_scheduler;
    const char *nodeport_addresses;
    bool masquerade_all;
    int64_t min_sync_period;
    int64_t sync_period;
    const char *healthz_bind_address;
    const char *metrics_bind_address;
    const char *hostname_override;
    const char *cluster_cidr;
} proxy_options;

typedef struct dns_options {
    const char *listen_address;
    const char *local_address;
    long long port;
    long long ttl;
    const char *pods;
    const char *upstream;
    const char *resolv_conf;
    long long threads;
    const char *health_address;
} dns_options;

typedef struct join_options {
    const char *server;
    const char *token;
    const char *ca_cert_hash;
    const char *cluster_cidr;
} join_options;

extern server_options opt_server;
extern kubelet_options opt_kubelet;
extern proxy_options opt_proxy;
extern dns_options opt_dns;
extern join_options opt_join;

extern const kn_flag server_flags[];
extern const size_t server_nflags;
extern const kn_flag kubelet_flags[];
extern const size_t kubelet_nflags;
extern const kn_flag proxy_flags[];
extern const size_t proxy_nflags;
extern const kn_flag dns_flags[];
extern const size_t dns_nflags;
extern const kn_flag agent_join_flags[];
extern const size_t agent_join_nflags;
extern const kn_flag standalone_extra_flags[];
extern const size_t standalone_extra_nflags;

/* Concatenates flag tables (NULL-terminated list of {table, count} pairs
 * given as table1, n1, table2, n2, ..., NULL). The result is owned by the
 * caller (free()). Later tables never repeat a name of an earlier one. */
kn_flag *options_merge(size_t *nout, ...);

/* Prints that a component is not built yet; returns the exit status 1. */
int options_not_built(const char *command, const char *what);

/* Parses flags (owning the merged table f) and reports "not built". */
int options_run_unbuilt(const char *command, const char *usage, kn_flag *f, size_t n, int argc,
                        char **argv, const char *what);

/* Parses argv into fs; prints help or the error. Returns -1 to continue,
 * otherwise the exit status to return. */
int options_parse(kn_flagset *fs, int argc, char **argv);

/* options_parse for the node commands (kubelet, agent, standalone): then
 * reads --config, a KubeletConfiguration, into the flags the command line
 * does not give (upstream precedence: flags over file over defaults). */
int options_parse_node(kn_flagset *fs, int argc, char **argv);

#endif

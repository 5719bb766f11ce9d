/* config.h - the node-level settings every kubelet module reads: the
 * upstream kubelet flags of the same names, with the same defaults. */
#ifndef KNODE_KUBELET_CONFIG_H
#define KNODE_KUBELET_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/error.h"
#include "lib/flags.h"

#define KL_MAX_NODE_IPS 2

typedef struct kl_node_config {
    const char *node_name;                 /* --hostname-override, else the host name */
    const char *node_ips[KL_MAX_NODE_IPS]; /* --node-ip (hostIP/hostIPs); [0] may be NULL */
    const char *const *cluster_dns;        /* --cluster-dns, NULL-terminated (may be NULL) */
    const char *cluster_domain;            /* --cluster-domain (default "": no search list) */
    const char *resolv_conf;               /* --resolv-conf (default /etc/resolv.conf; "": none) */
    const char *pod_logs_dir;              /* --pod-logs-dir (default /var/log/pods) */
    const char *root_dir;                  /* --root-dir (default /var/lib/knode/kubelet) */
    const char *cgroup_root;               /* --cgroup-root (default "/") */
    bool cgroups_per_qos;                  /* --cgroups-per-qos (default true) */
    bool cpu_cfs_quota;                    /* --cpu-cfs-quota (default true) */
    int64_t cpu_cfs_quota_period_us;       /* --cpu-cfs-quota-period (default 100ms) */
    int64_t memory_capacity;               /* node memory in bytes (default: /proc/meminfo) */
    const char *runtime_handler;           /* CRI runtime handler (default "": the runtime's) */
} kl_node_config;

/* Fills c with the upstream defaults (node_name from gethostname, memory
 * capacity from /proc/meminfo). Strings point to static storage or to an
 * internal buffer for the host name; replace any field afterwards. */
void kl_node_config_defaults(kl_node_config *c);

/* The node's memory in bytes from /proc/meminfo (MemTotal), or 0. */
int64_t kl_host_memory_bytes(void);

/* ---- KubeletConfiguration files (--config) -------------------------------------------------
 *
 * A kubelet.config.k8s.io/v1beta1 KubeletConfiguration (YAML or JSON) is read
 * into the flags of the same meaning, as upstream does: built-in defaults,
 * then the file, then the command-line flags, which win. Each field knode
 * implements maps to one flag (staticPodPath to --pod-manifest-path,
 * maxPods to --max-pods, ...); its value is checked against the upstream type
 * and turned into the flag's text form. A field left at Go's zero value ("",
 * 0, "0s", empty list or map) counts as unset, as upstream's defaulting does
 * for these fields. Relative paths are resolved against the file's directory
 * (upstream resolveRelativePaths). Fields upstream defines but knode does not
 * implement are listed in `unsupported` and ignored; any other field, a wrong
 * type, a wrong apiVersion or kind is an error naming the file and the field. */

/* One setting of the file in the form the flag takes. */
typedef struct kl_config_setting {
    const char
        *field; /* the field's path in the file: "maxPods", "authentication.x509.clientCAFile" */
    const char *flag; /* the flag without dashes: "max-pods" */
    char *value;      /* the flag's text form: "50", "10.96.0.10,fd00::a", "k=v:NoSchedule" */
} kl_config_setting;

typedef struct kl_config_file {
    char *path;
    kl_config_setting *settings; /* in document order */
    size_t n;
    char **unsupported; /* paths of upstream fields knode ignores */
    size_t nunsupported;
} kl_config_file;

/* Parses the text of a KubeletConfiguration (YAML or JSON) named path (for
 * messages and relative paths) into *out (zero-initialized by the caller;
 * release with kl_config_file_free, also after a failure). KN_EINVAL with
 * "<path>: <field>: ..." for bad content. */
int kl_config_file_parse(const char *data, size_t len, const char *path, kl_config_file *out,
                         kn_error **err);

/* Reads and parses the file at path (KN_EIO when it cannot be read). */
int kl_config_file_load(const char *path, kl_config_file *out, kn_error **err);

/* Frees what c holds and zeroes it. */
void kl_config_file_free(kl_config_file *c);

/* Stores the settings of c into the values of flags[0..n) (a command's flag
 * table, already parsed from argv[0..argc)), except for flags that argv
 * gives, which keep the command line's value. String values point into c,
 * which must outlive their use. Warns about unsupported fields and settings
 * the table has no flag for. Returns 0 or negative (a value the flag refuses). */
int kl_config_file_apply(const kl_config_file *c, const kn_flag *flags, size_t n, int argc,
                         char **argv, kn_error **err);

#endif

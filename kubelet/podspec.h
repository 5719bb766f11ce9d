/* podspec.h - a v1 Pod decoded into what the kubelet runs.
 *
 * kl_pod_decode() reads a Pod object (a cJSON tree from lib/json or
 * lib/yaml, as the API server or a manifest file gives it), applies the API
 * defaults the kubelet relies on (SetDefaults_Pod/PodSpec/Container: restart
 * policy Always, dnsPolicy ClusterFirst, grace period 30 s, pull policy from
 * the image tag, port protocol TCP, requests defaulted from limits, host
 * ports of hostNetwork pods, termination message path/policy) and validates
 * it. Invalid input is an error naming the field path in the words of the
 * API server's field errors, e.g.
 *
 *     spec.containers[1].image: Required value
 *     spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", ...
 *
 * never a crash. Features the kubelet does not run yet (volumes other than
 * emptyDir and hostPath, env from secrets or config maps, ...) are not errors:
 * they are recorded as an "unsupported" reason on the pod or the container,
 * which the kubelet reports in the pod status instead of starting it.
 *
 * A decoded pod is immutable and reference-counted (kl_pod_ref/unref), so
 * the pod registry and the workers can share it across threads. */
#ifndef KNODE_KUBELET_PODSPEC_H
#define KNODE_KUBELET_PODSPEC_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/error.h"
#include "lib/quantity.h"

/* The kubelet's default terminationGracePeriodSeconds. */
#define KL_DEFAULT_GRACE_S 30

/* Annotations the kubelet sets or reads on pods (upstream kubetypes). */
#define KL_ANN_CONFIG_SOURCE "kubernetes.io/config.source" /* "file", "http", "api" */
#define KL_ANN_CONFIG_HASH "kubernetes.io/config.hash"
#define KL_ANN_CONFIG_SEEN "kubernetes.io/config.seen"
#define KL_ANN_CONFIG_MIRROR "kubernetes.io/config.mirror"

/* Ordered string map (labels, annotations); keys are unique. */
typedef struct kl_kv {
    char *key;
    char *value;
} kl_kv;

typedef struct kl_map {
    kl_kv *items;
    size_t n;
} kl_map;

/* A string vector. */
typedef struct kl_strv {
    char **v;
    size_t n;
} kl_strv;

/* Optional scalars: set says whether the field was given. */
typedef struct kl_opt_i64 {
    bool set;
    int64_t v;
} kl_opt_i64;

typedef struct kl_opt_bool {
    bool set;
    bool v;
} kl_opt_bool;

typedef enum kl_pull_policy {
    KL_PULL_ALWAYS,
    KL_PULL_IF_NOT_PRESENT,
    KL_PULL_NEVER,
} kl_pull_policy;

typedef enum kl_restart_policy {
    KL_RESTART_ALWAYS,
    KL_RESTART_ON_FAILURE,
    KL_RESTART_NEVER,
} kl_restart_policy;

typedef enum kl_dns_policy {
    KL_DNS_CLUSTER_FIRST,
    KL_DNS_CLUSTER_FIRST_WITH_HOST_NET,
    KL_DNS_DEFAULT,
    KL_DNS_NONE,
} kl_dns_policy;

typedef enum kl_qos_class {
    KL_QOS_GUARANTEED,
    KL_QOS_BURSTABLE,
    KL_QOS_BEST_EFFORT,
} kl_qos_class;

typedef enum kl_protocol {
    KL_PROTO_TCP,
    KL_PROTO_UDP,
    KL_PROTO_SCTP,
} kl_protocol;

typedef enum kl_env_source {
    KL_ENV_VALUE,       /* value (may hold $(VAR) references) */
    KL_ENV_FIELD_REF,   /* valueFrom.fieldRef.fieldPath */
    KL_ENV_UNSUPPORTED, /* secretKeyRef, configMapKeyRef, resourceFieldRef */
} kl_env_source;

typedef struct kl_env_var {
    char *name;
    kl_env_source source;
    char *value;      /* KL_ENV_VALUE: the value ("" when unset) */
    char *field_path; /* KL_ENV_FIELD_REF: "metadata.name", "metadata.labels['app']", ... */
} kl_env_var;

typedef struct kl_port {
    char *name; /* may be NULL */
    int32_t container_port;
    int32_t host_port; /* 0: none */
    char *host_ip;     /* may be NULL */
    kl_protocol protocol;
} kl_port;

/* One resource quantity ("cpu", "memory", "ephemeral-storage", ...). */
typedef struct kl_resource {
    char *name;
    kn_quantity q;
} kl_resource;

typedef struct kl_resource_list {
    kl_resource *items;
    size_t n;
} kl_resource_list;

typedef struct kl_resources {
    kl_resource_list requests; /* defaulted from limits, as the API does */
    kl_resource_list limits;
} kl_resources;

/* Container securityContext: the fields the kubelet passes to CRI. */
typedef struct kl_security_context {
    kl_opt_i64 run_as_user;
    kl_opt_i64 run_as_group;
    kl_opt_bool run_as_non_root;
    kl_opt_bool privileged;
    kl_opt_bool read_only_root_filesystem;
    kl_opt_bool allow_privilege_escalation;
    kl_strv cap_add;
    kl_strv cap_drop;
} kl_security_context;

/* Pod securityContext. */
typedef struct kl_pod_security_context {
    kl_opt_i64 run_as_user;
    kl_opt_i64 run_as_group;
    kl_opt_bool run_as_non_root;
    kl_opt_i64 fs_group;
    int64_t *supplemental_groups;
    size_t n_supplemental_groups;
} kl_pod_security_context;

typedef struct kl_volume_mount {
    char *name;
    char *mount_path;
    bool read_only;
    char *sub_path; /* NULL or "" when unset */
} kl_volume_mount;

typedef enum kl_volume_kind {
    KL_VOL_EMPTY_DIR,
    KL_VOL_HOST_PATH,
    KL_VOL_UNSUPPORTED, /* see kl_volume.source */
} kl_volume_kind;

typedef struct kl_volume {
    char *name;
    kl_volume_kind kind;
    char *source;    /* the volume source's field name: "emptyDir", "configMap", ... */
    char *medium;    /* emptyDir: "" or "Memory" */
    char *path;      /* hostPath: the host path */
    char *path_type; /* hostPath: "", "DirectoryOrCreate", "Directory", ... */
} kl_volume;

typedef enum kl_termination_message_policy {
    KL_TERM_MSG_FILE,
    KL_TERM_MSG_FALLBACK_TO_LOGS_ON_ERROR,
} kl_termination_message_policy;

typedef struct kl_container {
    char *name;
    char *image;
    kl_pull_policy pull_policy;
    kl_strv command;
    kl_strv args;
    char *working_dir; /* NULL when unset */
    kl_env_var *env;
    size_t n_env;
    kl_port *ports;
    size_t n_ports;
    kl_resources resources;
    bool has_security_context;
    kl_security_context sc;
    kl_volume_mount *mounts;
    size_t n_mounts;
    char *termination_message_path; /* default "/dev/termination-log" */
    kl_termination_message_policy termination_message_policy;
    bool stdin_open, stdin_once, tty;
    /* First feature of this container the kubelet cannot run yet, as a
     * status message ("env FOO: secretKeyRef is not supported yet"), or NULL. */
    char *unsupported;
    /* Hash of the fields whose change means "restart the container"
     * (upstream HashContainer); stored in the container's annotations. */
    uint32_t hash;
} kl_container;

typedef struct kl_dns_option {
    char *name;
    char *value; /* NULL when the option has no value */
} kl_dns_option;

/* spec.dnsConfig */
typedef struct kl_pod_dns_config {
    kl_strv nameservers;
    kl_strv searches;
    kl_dns_option *options;
    size_t n_options;
} kl_pod_dns_config;

typedef struct kl_pod {
    int refs; /* atomic; see kl_pod_ref/unref */

    /* metadata */
    char *name;
    char *namespace_;
    char *uid;
    kl_map labels;
    kl_map annotations;
    char *deletion_timestamp;    /* as given, NULL when not being deleted */
    int64_t deletion_ns;         /* deletion_timestamp in ns since the epoch */
    kl_opt_i64 deletion_grace_s; /* metadata.deletionGracePeriodSeconds */

    /* spec */
    char *node_name;            /* NULL when unset */
    char *service_account_name; /* NULL when unset */
    kl_restart_policy restart_policy;
    int64_t termination_grace_s; /* default 30; negative values become 1 */
    kl_dns_policy dns_policy;
    bool has_dns_config;
    kl_pod_dns_config dns_config;
    bool host_network, host_pid, host_ipc, share_process_namespace;
    char *hostname;  /* NULL when unset */
    char *subdomain; /* NULL when unset */
    bool set_hostname_as_fqdn;
    char *priority_class_name; /* NULL when unset */
    kl_opt_i64 priority;
    char *runtime_class_name; /* NULL when unset */
    kl_pod_security_context sc;
    kl_container *init_containers;
    size_t n_init_containers;
    kl_container *containers;
    size_t n_containers;
    kl_volume *volumes;
    size_t n_volumes;

    /* derived */
    kl_qos_class qos;  /* status.qosClass as upstream computes it */
    char *unsupported; /* first pod-level unsupported feature, or NULL */

    /* the whole object as decoded, as JSON text: a tree of it would cost
     * several times the text for every pod the node runs (kl_pod_object
     * parses it when needed). Owned when raw_owner is NULL; else the text
     * belongs to raw_owner (an informer's cached object: one copy per
     * pod), released with raw_release(raw_owner) along with the pod. */
    const char *raw;
    void *raw_owner;
    void (*raw_release)(void *owner);
} kl_pod;

/* The owner of a text that a pod can hold instead of a copy: text stays
 * valid until release(owner). */
typedef struct kl_text_ref {
    const char *text;
    void *owner;
    void (*release)(void *owner);
} kl_text_ref;

/* Decodes and validates a v1 Pod. metadata.name, metadata.uid and at least
 * one container are required; metadata.namespace defaults to "default". A
 * "kind" other than "Pod" is refused. On success *out is a new pod with one
 * reference (doc is copied; the caller keeps doc). Errors: KN_EINVAL with the
 * field path as described above. */
int kl_pod_decode(const cJSON *doc, kl_pod **out, kn_error **err);

/* kl_pod_decode for a doc parsed from text->text, which the pod keeps as
 * its raw text instead of printing doc again. The pod takes over the
 * owner's reference (released at once when decoding fails). */
int kl_pod_decode_text(const cJSON *doc, const kl_text_ref *text, kl_pod **out, kn_error **err);

/* Adds a reference (thread-safe) and returns pod. */
kl_pod *kl_pod_ref(kl_pod *pod);

/* Drops a reference; frees the pod with the last one. NULL is fine. */
void kl_pod_unref(kl_pod *pod);

/* The value of key in m, or NULL. */
const char *kl_map_get(const kl_map *m, const char *key);

/* The quantity of resource name in l, or NULL. */
const kn_quantity *kl_resource_get(const kl_resource_list *l, const char *name);

/* The container named name among the init containers (init true) or the
 * app containers, or NULL. */
const kl_container *kl_pod_container(const kl_pod *pod, const char *name, bool *is_init);

/* Upstream's QoS class of a pod spec (GetPodQOS): only cpu and memory count;
 * BestEffort when no container requests or limits either, Guaranteed when
 * every container has cpu and memory limits and the summed requests equal
 * the summed limits, Burstable otherwise. */
kl_qos_class kl_pod_compute_qos(const kl_pod *pod);

/* "Guaranteed", "Burstable", "BestEffort". */
const char *kl_qos_name(kl_qos_class q);

/* "Always", "OnFailure", "Never". */
const char *kl_restart_policy_name(kl_restart_policy p);

/* "TCP", "UDP", "SCTP". */
const char *kl_protocol_name(kl_protocol p);

/* True for a pod from a file or URL (annotation kubernetes.io/config.source
 * set and not "api"): upstream IsStaticPod. */
bool kl_pod_is_static(const kl_pod *pod);

/* Parses text that kn_json_print made of a tree (which a JSON or YAML
 * parser built within KN_JSON_MAX_DEPTH): the kubelet keeps what it holds
 * per pod as such text, several times smaller than the tree. A new tree the
 * caller frees; NULL text gives NULL. Aborts only when out of memory. */
cJSON *kl_json_reparse(const char *text);

/* The whole object as decoded (pod->raw parsed): a new tree the caller
 * frees. */
cJSON *kl_pod_object(const kl_pod *pod);

/* A copy of the object's "status", or NULL when it has none (caller frees). */
cJSON *kl_pod_status_copy(const kl_pod *pod);

/* Sets metadata.annotations[key] to value in both pod->annotations and
 * pod->raw (for a pod not yet shared: no other reference). */
void kl_pod_set_annotation(kl_pod *pod, const char *key, const char *value);

/* upstream IsCriticalPod: static, mirror, or priority >= 2000000000. */
bool kl_pod_is_critical(const kl_pod *pod);

/* The grace period to kill the pod with: deletionGracePeriodSeconds when
 * set, else terminationGracePeriodSeconds; at least 1 unless both are 0. */
int64_t kl_pod_grace_period(const kl_pod *pod);

/* Parses a container image reference (docker grammar: [domain/]path[:tag]
 * [@algo:hex]). Fills *tag with the tag ("" when only a digest is given,
 * "latest" when neither) and *has_digest. Returns false when ref is not a
 * valid reference (upstream InvalidImageName). tag may be NULL. */
bool kl_image_parse(const char *ref, char *tag, size_t tag_size, bool *has_digest);

/* ref with ":latest" appended when it has neither tag nor digest (upstream
 * applyDefaultImageTag); caller frees. NULL for an invalid reference. */
char *kl_image_with_default_tag(const char *ref);

/* Parses an RFC 3339 timestamp ("2024-01-02T03:04:05Z", fractions and
 * offsets allowed) into ns since the epoch. Returns false when malformed. */
bool kl_parse_rfc3339(const char *s, int64_t *ns);

#endif

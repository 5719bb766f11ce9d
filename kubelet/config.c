/* config.c - node-level kubelet settings, their upstream defaults, and
 * KubeletConfiguration files mapped onto the kubelet flags. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kubelet/config.h"
#include "lib/file.h"
#include "lib/cleanup.h"
#include "lib/duration.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/quantity.h"
#include "lib/strbuf.h"
#include "lib/xalloc.h"
#include "lib/yaml.h"

#define COMPONENT "kubelet"

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

/* ---- KubeletConfiguration ------------------------------------------------------------------ */

#define CONFIG_API_VERSION "kubelet.config.k8s.io/v1beta1"
#define CONFIG_KIND "KubeletConfiguration"

typedef enum field_kind {
    F_OBJECT,    /* a struct whose members are listed as "path.member" */
    F_IGNORED,   /* upstream field knode does not implement */
    F_STRING,    /* string */
    F_PATH,      /* string, relative to the file's directory */
    F_INT32,     /* int32 within [min, max] */
    F_DURATION,  /* metav1.Duration: a Go duration string */
    F_IP_LIST,   /* []string of IP addresses */
    F_RESOURCES, /* map[string]string of resource name to quantity */
    F_TAINTS,    /* []core/v1.Taint */
} field_kind;

typedef struct field_spec {
    const char *path;
    field_kind kind;
    const char *flag; /* F_STRING and up: the flag it sets */
    long long min, max;
} field_spec;

#define IGN(p)                                                                                     \
    {                                                                                              \
        p, F_IGNORED, NULL, 0, 0                                                                   \
    }
#define I32 INT32_MAX

/* Every field of KubeletConfiguration v1beta1 (staging/src/k8s.io/kubelet/
 * config/v1beta1/types.go); those with a flag are the ones knode reads. */
static const field_spec fields[] = {
    {"staticPodPath", F_PATH, "pod-manifest-path", 0, 0},
    {"podLogsDir", F_PATH, "pod-logs-dir", 0, 0},
    {"address", F_STRING, "address", 0, 0},
    {"port", F_INT32, "port", 1, 65535},
    {"tlsCertFile", F_PATH, "tls-cert-file", 0, 0},
    {"tlsPrivateKeyFile", F_PATH, "tls-private-key-file", 0, 0},
    {"authentication", F_OBJECT, NULL, 0, 0},
    {"authentication.x509", F_OBJECT, NULL, 0, 0},
    {"authentication.x509.clientCAFile", F_PATH, "client-ca-file", 0, 0},
    {"clusterDomain", F_STRING, "cluster-domain", 0, 0},
    {"clusterDNS", F_IP_LIST, "cluster-dns", 0, 0},
    {"nodeStatusUpdateFrequency", F_DURATION, "node-status-update-frequency", 0, 0},
    {"cgroupRoot", F_STRING, "cgroup-root", 0, 0},
    {"runtimeRequestTimeout", F_DURATION, "runtime-request-timeout", 0, 0},
    {"maxPods", F_INT32, "max-pods", 0, I32},
    {"resolvConf", F_PATH, "resolv-conf", 0, 0},
    {"containerLogMaxSize", F_STRING, "container-log-max-size", 0, 0},
    {"containerLogMaxFiles", F_INT32, "container-log-max-files", 2, I32},
    {"systemReserved", F_RESOURCES, "system-reserved", 0, 0},
    {"kubeReserved", F_RESOURCES, "kube-reserved", 0, 0},
    {"registerWithTaints", F_TAINTS, "register-with-taints", 0, 0},
    {"containerRuntimeEndpoint", F_STRING, "container-runtime-endpoint", 0, 0},
    IGN("enableServer"),
    IGN("syncFrequency"),
    IGN("fileCheckFrequency"),
    IGN("httpCheckFrequency"),
    IGN("staticPodURL"),
    IGN("staticPodURLHeader"),
    IGN("readOnlyPort"),
    IGN("tlsCipherSuites"),
    IGN("tlsCurvePreferences"),
    IGN("tlsMinVersion"),
    IGN("rotateCertificates"),
    IGN("serverTLSBootstrap"),
    IGN("authentication.webhook"),
    IGN("authentication.anonymous"),
    IGN("authorization"),
    IGN("registryPullQPS"),
    IGN("registryBurst"),
    IGN("imagePullCredentialsVerificationPolicy"),
    IGN("preloadedImagesVerificationAllowlist"),
    IGN("eventRecordQPS"),
    IGN("eventBurst"),
    IGN("enableDebuggingHandlers"),
    IGN("enableContentionProfiling"),
    IGN("healthzPort"),
    IGN("healthzBindAddress"),
    IGN("oomScoreAdj"),
    IGN("streamingConnectionIdleTimeout"),
    IGN("nodeStatusReportFrequency"),
    IGN("nodeLeaseDurationSeconds"),
    IGN("imageMinimumGCAge"),
    IGN("imageMaximumGCAge"),
    IGN("imageGCHighThresholdPercent"),
    IGN("imageGCLowThresholdPercent"),
    IGN("volumeStatsAggPeriod"),
    IGN("kubeletCgroups"),
    IGN("systemCgroups"),
    IGN("cgroupsPerQOS"),
    IGN("cgroupDriver"),
    IGN("cpuManagerPolicy"),
    IGN("singleProcessOOMKill"),
    IGN("cpuManagerPolicyOptions"),
    IGN("cpuManagerReconcilePeriod"),
    IGN("draManagerReconcilePeriod"),
    IGN("memoryManagerPolicy"),
    IGN("topologyManagerPolicy"),
    IGN("topologyManagerScope"),
    IGN("topologyManagerPolicyOptions"),
    IGN("qosReserved"),
    IGN("hairpinMode"),
    IGN("podCIDR"),
    IGN("podPidsLimit"),
    IGN("runOnce"),
    IGN("cpuCFSQuota"),
    IGN("cpuCFSQuotaPeriod"),
    IGN("nodeStatusMaxImages"),
    IGN("maxOpenFiles"),
    IGN("contentType"),
    IGN("kubeAPIQPS"),
    IGN("kubeAPIBurst"),
    IGN("serializeImagePulls"),
    IGN("maxParallelImagePulls"),
    IGN("evictionHard"),
    IGN("evictionSoft"),
    IGN("evictionSoftGracePeriod"),
    IGN("evictionPressureTransitionPeriod"),
    IGN("evictionMaxPodGracePeriod"),
    IGN("evictionMinimumReclaim"),
    IGN("mergeDefaultEvictionSettings"),
    IGN("podsPerCore"),
    IGN("enableControllerAttachDetach"),
    IGN("protectKernelDefaults"),
    IGN("makeIPTablesUtilChains"),
    IGN("iptablesMasqueradeBit"),
    IGN("iptablesDropBit"),
    IGN("featureGates"),
    IGN("failSwapOn"),
    IGN("memorySwap"),
    IGN("containerLogMaxWorkers"),
    IGN("containerLogMonitorInterval"),
    IGN("configMapAndSecretChangeDetectionStrategy"),
    IGN("reservedSystemCPUs"),
    IGN("showHiddenMetricsForVersion"),
    IGN("systemReservedCgroup"),
    IGN("kubeReservedCgroup"),
    IGN("enforceNodeAllocatable"),
    IGN("allowedUnsafeSysctls"),
    IGN("volumePluginDir"),
    IGN("providerID"),
    IGN("kernelMemcgNotification"),
    IGN("logging"),
    IGN("enableSystemLogHandler"),
    IGN("enableSystemLogQuery"),
    IGN("shutdownGracePeriod"),
    IGN("shutdownGracePeriodCriticalPods"),
    IGN("shutdownGracePeriodByPodPriority"),
    IGN("crashLoopBackOff"),
    IGN("reservedMemory"),
    IGN("enableProfilingHandler"),
    IGN("enableDebugFlagsHandler"),
    IGN("seccompDefault"),
    IGN("memoryThrottlingFactor"),
    IGN("memoryReservationPolicy"),
    IGN("registerNode"),
    IGN("tracing"),
    IGN("localStorageCapacityIsolation"),
    IGN("imageServiceEndpoint"),
    IGN("failCgroupV1"),
    IGN("userNamespaces"),
};

/* State of one parse: the output, the file name and its directory. */
typedef struct cf_parse {
    kl_config_file *out;
    const char *name;
    char *dir;
} cf_parse;

static const field_spec *find_field(const char *path)
{
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
        if (strcmp(fields[i].path, path) == 0)
            return &fields[i];
    return NULL;
}

static int type_error(cf_parse *p, const char *path, const char *want, const cJSON *v,
                      kn_error **err)
{
    return kn_error_set(err, KN_EINVAL, "%s: %s: expected %s, got %s", p->name, path, want,
                        kn_json_type_name(v));
}

static void add_setting(cf_parse *p, const field_spec *f, char *value)
{
    kl_config_file *o = p->out;
    o->settings = xrealloc(o->settings, (o->n + 1) * sizeof(*o->settings));
    o->settings[o->n++] = (kl_config_setting){.field = f->path, .flag = f->flag, .value = value};
}

static int conv_string(cf_parse *p, const field_spec *f, const cJSON *v, char **out, kn_error **err)
{
    if (!cJSON_IsString(v))
        return type_error(p, f->path, "string", v, err);
    const char *s = v->valuestring;
    if (!*s)
        *out = NULL;
    else if (f->kind == F_PATH && s[0] != '/')
        *out = xasprintf("%s/%s", p->dir, s);
    else
        *out = xstrdup(s);
    return 0;
}

static int conv_int32(cf_parse *p, const field_spec *f, const cJSON *v, char **out, kn_error **err)
{
    if (!cJSON_IsNumber(v) || v->valuedouble != (double)(long long)v->valuedouble)
        return type_error(p, f->path, "an integer", v, err);
    long long n = (long long)v->valuedouble;
    if (n == 0) {
        *out = NULL;
        return 0;
    }
    if (n < f->min || n > f->max)
        return kn_error_set(err, KN_EINVAL, "%s: %s: %lld is outside [%lld, %lld]", p->name,
                            f->path, n, f->min, f->max);
    *out = xasprintf("%lld", n);
    return 0;
}

static int conv_duration(cf_parse *p, const field_spec *f, const cJSON *v, char **out,
                         kn_error **err)
{
    if (!cJSON_IsString(v))
        return type_error(p, f->path, "a duration string such as \"2m0s\"", v, err);
    int64_t ns = 0;
    if (kn_duration_parse(v->valuestring, &ns, err) < 0)
        return kn_error_wrap(err, "%s: %s", p->name, f->path);
    if (ns < 0)
        return kn_error_set(err, KN_EINVAL, "%s: %s: negative duration \"%s\"", p->name, f->path,
                            v->valuestring);
    *out = ns ? xstrdup(v->valuestring) : NULL;
    return 0;
}

static int conv_ip_list(cf_parse *p, const field_spec *f, const cJSON *v, char **out,
                        kn_error **err)
{
    if (!cJSON_IsArray(v))
        return type_error(p, f->path, "a list of IP addresses", v, err);
    kn_buf b = KN_BUF_INIT;
    int i = 0;
    for (const cJSON *e = v->child; e; e = e->next, i++) {
        unsigned char addr[16];
        if (!cJSON_IsString(e)) {
            kn_buf_free(&b);
            return kn_error_set(err, KN_EINVAL, "%s: %s[%d]: expected string, got %s", p->name,
                                f->path, i, kn_json_type_name(e));
        }
        if (inet_pton(AF_INET, e->valuestring, addr) != 1 &&
            inet_pton(AF_INET6, e->valuestring, addr) != 1) {
            kn_buf_free(&b);
            return kn_error_set(err, KN_EINVAL, "%s: %s[%d]: \"%s\" is not an IP address", p->name,
                                f->path, i, e->valuestring);
        }
        kn_buf_appendf(&b, "%s%s", b.len ? "," : "", e->valuestring);
    }
    *out = b.len ? kn_buf_steal(&b) : NULL;
    kn_buf_free(&b);
    return 0;
}

/* A text that may stand in a key=value,... flag list. */
static bool plain_token(const char *s, const char *forbidden)
{
    return *s && strpbrk(s, forbidden) == NULL;
}

static int conv_resources(cf_parse *p, const field_spec *f, const cJSON *v, char **out,
                          kn_error **err)
{
    if (!cJSON_IsObject(v))
        return type_error(p, f->path, "a map of resource names to quantities", v, err);
    kn_buf b = KN_BUF_INIT;
    for (const cJSON *e = v->child; e; e = e->next) {
        kn_quantity q;
        int r = 0;
        if (!cJSON_IsString(e))
            r = kn_error_set(err, KN_EINVAL, "%s: %s.%s: expected string, got %s", p->name, f->path,
                             e->string, kn_json_type_name(e));
        else if (!plain_token(e->string, ",= ") || kn_quantity_parse(e->valuestring, &q, NULL) < 0)
            r = kn_error_set(err, KN_EINVAL, "%s: %s: invalid entry %s=\"%s\"", p->name, f->path,
                             e->string, e->valuestring);
        if (r < 0) {
            kn_buf_free(&b);
            return r;
        }
        kn_buf_appendf(&b, "%s%s=%s", b.len ? "," : "", e->string, e->valuestring);
    }
    *out = b.len ? kn_buf_steal(&b) : NULL;
    kn_buf_free(&b);
    return 0;
}

/* One v1.Taint as "key[=value]:Effect" appended to b. */
static int conv_taint(cf_parse *p, const char *at, const cJSON *t, kn_buf *b, kn_error **err)
{
    if (!cJSON_IsObject(t))
        return kn_error_set(err, KN_EINVAL, "%s: %s: expected object, got %s", p->name, at,
                            kn_json_type_name(t));
    const char *key = "", *value = "", *effect = "";
    for (const cJSON *m = t->child; m; m = m->next) {
        const char **dst = strcmp(m->string, "key") == 0      ? &key
                           : strcmp(m->string, "value") == 0  ? &value
                           : strcmp(m->string, "effect") == 0 ? &effect
                                                              : NULL;
        if (!dst && strcmp(m->string, "timeAdded") != 0)
            return kn_error_set(err, KN_EINVAL, "%s: %s: unknown field \"%s\"", p->name, at,
                                m->string);
        if (dst && !cJSON_IsString(m) && !cJSON_IsNull(m))
            return kn_error_set(err, KN_EINVAL, "%s: %s.%s: expected string, got %s", p->name, at,
                                m->string, kn_json_type_name(m));
        if (dst && cJSON_IsString(m))
            *dst = m->valuestring;
    }
    if (!plain_token(key, ",=: ") || (*value && !plain_token(value, ",=: ")))
        return kn_error_set(err, KN_EINVAL, "%s: %s: invalid taint key \"%s\" or value \"%s\"",
                            p->name, at, key, value);
    if (strcmp(effect, "NoSchedule") != 0 && strcmp(effect, "PreferNoSchedule") != 0 &&
        strcmp(effect, "NoExecute") != 0)
        return kn_error_set(err, KN_EINVAL,
                            "%s: %s.effect: \"%s\" is not NoSchedule, PreferNoSchedule or "
                            "NoExecute",
                            p->name, at, effect);
    kn_buf_appendf(b, "%s%s%s%s:%s", b->len ? "," : "", key, *value ? "=" : "", value, effect);
    return 0;
}

static int conv_taints(cf_parse *p, const field_spec *f, const cJSON *v, char **out, kn_error **err)
{
    if (!cJSON_IsArray(v))
        return type_error(p, f->path, "a list of taints", v, err);
    kn_buf b = KN_BUF_INIT;
    int i = 0;
    for (const cJSON *t = v->child; t; t = t->next, i++) {
        char at[96];
        snprintf(at, sizeof(at), "%s[%d]", f->path, i);
        if (conv_taint(p, at, t, &b, err) < 0) {
            kn_buf_free(&b);
            return -KN_EINVAL;
        }
    }
    *out = b.len ? kn_buf_steal(&b) : NULL;
    kn_buf_free(&b);
    return 0;
}

static int walk_object(cf_parse *p, const char *prefix, const cJSON *obj, kn_error **err);

/* One member at path: recurse, note as unsupported, or convert into a setting. */
static int parse_field(cf_parse *p, const field_spec *f, const cJSON *v, kn_error **err)
{
    typedef int (*conv_fn)(cf_parse *, const field_spec *, const cJSON *, char **, kn_error **);
    static const conv_fn conv[] = {
        [F_STRING] = conv_string,     [F_PATH] = conv_string,     [F_INT32] = conv_int32,
        [F_DURATION] = conv_duration, [F_IP_LIST] = conv_ip_list, [F_RESOURCES] = conv_resources,
        [F_TAINTS] = conv_taints,
    };
    if (cJSON_IsNull(v))
        return 0; /* an explicit null leaves the field unset */
    if (f->kind == F_OBJECT) {
        if (!cJSON_IsObject(v))
            return type_error(p, f->path, "object", v, err);
        return walk_object(p, f->path, v, err);
    }
    if (f->kind == F_IGNORED) {
        kl_config_file *o = p->out;
        o->unsupported = xrealloc(o->unsupported, (o->nunsupported + 1) * sizeof(char *));
        o->unsupported[o->nunsupported++] = xstrdup(f->path);
        return 0;
    }
    char *value = NULL;
    if (conv[f->kind](p, f, v, &value, err) < 0)
        return -KN_EINVAL;
    if (value)
        add_setting(p, f, value);
    return 0;
}

static int walk_object(cf_parse *p, const char *prefix, const cJSON *obj, kn_error **err)
{
    for (const cJSON *m = obj->child; m; m = m->next) {
        if (!prefix && (strcmp(m->string, "apiVersion") == 0 || strcmp(m->string, "kind") == 0))
            continue;
        cleanup_free char *path =
            prefix ? xasprintf("%s.%s", prefix, m->string) : xstrdup(m->string);
        const field_spec *f = find_field(path);
        if (!f)
            return kn_error_set(err, KN_EINVAL, "%s: unknown field \"%s\"", p->name, path);
        if (parse_field(p, f, m, err) < 0)
            return -KN_EINVAL;
    }
    return 0;
}

/* apiVersion and kind as upstream's decoder requires them. */
static int check_type(cf_parse *p, const cJSON *doc, kn_error **err)
{
    if (!cJSON_IsObject(doc))
        return kn_error_set(err, KN_EINVAL, "%s: expected a KubeletConfiguration object, got %s",
                            p->name, kn_json_type_name(doc));
    static const char *const want[][2] = {{"apiVersion", CONFIG_API_VERSION},
                                          {"kind", CONFIG_KIND}};
    for (size_t i = 0; i < 2; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(doc, want[i][0]);
        if (!cJSON_IsString(v) || !*v->valuestring)
            return kn_error_set(err, KN_EINVAL, "%s: %s: missing (want \"%s\")", p->name,
                                want[i][0], want[i][1]);
        if (strcmp(v->valuestring, want[i][1]) != 0)
            return kn_error_set(err, KN_EINVAL, "%s: %s: \"%s\" is not \"%s\"", p->name, want[i][0],
                                v->valuestring, want[i][1]);
    }
    return 0;
}

int kl_config_file_parse(const char *data, size_t len, const char *path, kl_config_file *out,
                         kn_error **err)
{
    cleanup_cjson cJSON *doc = NULL;
    if (kn_yaml_parse(data, len, KN_JSON_MAX_DOC, path, 0, &doc, err) < 0)
        return -KN_EINVAL;
    const char *slash = strrchr(path, '/');
    cf_parse p = {.out = out,
                  .name = path,
                  .dir = slash ? xstrndup(path, (size_t)(slash - path)) : xstrdup(".")};
    if (slash == path) {
        free(p.dir);
        p.dir = xstrdup("");
    }
    out->path = xstrdup(path);
    int r = check_type(&p, doc, err);
    if (r == 0)
        r = walk_object(&p, NULL, doc, err);
    free(p.dir);
    return r;
}

int kl_config_file_load(const char *path, kl_config_file *out, kn_error **err)
{
    cleanup_free char *data = NULL;
    size_t len = 0;
    if (kn_read_file(path, KN_JSON_MAX_DOC, &data, &len, err) < 0)
        return kn_error_wrap(err, "kubelet config file");
    return kl_config_file_parse(data, len, path, out, err);
}

void kl_config_file_free(kl_config_file *c)
{
    for (size_t i = 0; i < c->n; i++)
        free(c->settings[i].value);
    for (size_t i = 0; i < c->nunsupported; i++)
        free(c->unsupported[i]);
    free(c->settings);
    free(c->unsupported);
    free(c->path);
    memset(c, 0, sizeof(*c));
}

/* ---- flags given on the command line win ---------------------------------------------------- */

static const char flag_unset[] = "<unset>"; /* compared by address */

/* A table like flags[0..n) whose values land in scratch storage: strings
 * (every non-bool flag, so that a separate value is consumed the same way)
 * default to flag_unset, bools to bool_def. */
static kn_flag *shadow_table(const kn_flag *flags, size_t n, const char **strs, bool *bools,
                             bool bool_def)
{
    kn_flag *t = xcalloc(n, sizeof(*t));
    for (size_t i = 0; i < n; i++) {
        t[i] = flags[i];
        bool is_bool = flags[i].type == KN_FLAG_BOOL;
        t[i].type = is_bool ? KN_FLAG_BOOL : KN_FLAG_STRING;
        t[i].value = is_bool ? (void *)&bools[i] : (void *)&strs[i];
        t[i].def = is_bool ? (bool_def ? "true" : "false") : flag_unset;
    }
    return t;
}

/* given[i]: argv sets flags[i]. Parses argv twice into shadow tables; a
 * bool that is not given takes each pass's differing default. */
static int flags_given(const kn_flag *flags, size_t n, int argc, char **argv, bool *given,
                       kn_error **err)
{
    cleanup_free const char **strs = xcalloc(n, sizeof(*strs));
    cleanup_free bool *b0 = xcalloc(n, sizeof(*b0));
    cleanup_free bool *b1 = xcalloc(n, sizeof(*b1));
    cleanup_free char **args = xcalloc((size_t)argc + 1, sizeof(*args));
    for (int pass = 0; pass < 2; pass++) {
        cleanup_free kn_flag *t = shadow_table(flags, n, strs, pass ? b1 : b0, pass);
        kn_flagset fs = {.command = "config", .flags = t, .nflags = n};
        memcpy(args, argv, (size_t)argc * sizeof(*args)); /* the parser reorders its argv */
        int r = kn_flags_parse(&fs, argc, args, err);
        if (r != 0)
            return r < 0 ? r : -KN_EINVAL;
    }
    for (size_t i = 0; i < n; i++)
        given[i] = flags[i].type == KN_FLAG_BOOL ? b0[i] == b1[i] : strs[i] != flag_unset;
    return 0;
}

static const kn_flag *table_find(const kn_flag *flags, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(flags[i].name, name) == 0)
            return &flags[i];
    return NULL;
}

static void warn_unsupported(const kl_config_file *c)
{
    if (c->nunsupported == 0)
        return;
    kn_buf b = KN_BUF_INIT;
    for (size_t i = 0; i < c->nunsupported; i++)
        kn_buf_appendf(&b, "%s%s", i ? ", " : "", c->unsupported[i]);
    KN_WARN(COMPONENT, "%s: ignoring fields knode does not implement: %s", c->path, b.data);
    kn_buf_free(&b);
}

int kl_config_file_apply(const kl_config_file *c, const kn_flag *flags, size_t n, int argc,
                         char **argv, kn_error **err)
{
    cleanup_free bool *given = xcalloc(n ? n : 1, sizeof(*given));
    if (flags_given(flags, n, argc, argv, given, err) < 0)
        return -KN_EINVAL;
    warn_unsupported(c);
    /* the settings go through the flags' own parsers: "--flag value" pairs */
    cleanup_free kn_flag *sub = xcalloc(c->n ? c->n : 1, sizeof(*sub));
    cleanup_free char **args = xcalloc(2 * c->n + 1, sizeof(*args));
    size_t nsub = 0;
    int nargs = 0;
    for (size_t i = 0; i < c->n; i++) {
        const kl_config_setting *s = &c->settings[i];
        const kn_flag *f = table_find(flags, n, s->flag);
        if (!f) {
            KN_WARN(COMPONENT, "%s: %s: not supported by this command (no --%s); ignored", c->path,
                    s->field, s->flag);
            continue;
        }
        if (given[f - flags])
            continue; /* the command line wins */
        sub[nsub++] = *f;
        args[nargs++] = xasprintf("--%s", s->flag);
        args[nargs++] = s->value;
    }
    kn_flagset fs = {.command = c->path, .flags = sub, .nflags = nsub};
    int r = kn_flags_parse(&fs, nargs, args, err);
    for (int i = 0; i < nargs; i += 2)
        free(args[i]);
    if (r < 0)
        return kn_error_wrap(err, "%s", c->path);
    return 0;
}

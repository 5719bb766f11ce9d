/* node.c - Node registration, node status and the node Lease. */
#include "kubelet/node.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "api-client/lease.h"
#include "cri/grpc.h"
#include "cri/msg.h"
#include "cri/runtime.h"
#include "lib/cleanup.h"
#include "lib/clock.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/quantity.h"
#include "lib/strbuf.h"
#include "lib/xalloc.h"

#define COMPONENT "node"
#define SEC INT64_C(1000000000)

/* ---- host facts ------------------------------------------------------------------- */

static void read_line_file(const char *path, char *out, size_t size)
{
    out[0] = '\0';
    cleanup_file FILE *f = fopen(path, "r");
    if (!f || !fgets(out, (int)size, f))
        return;
    out[strcspn(out, "\n")] = '\0';
}

static void read_os_image(char *out, size_t size)
{
    snprintf(out, size, "Linux");
    cleanup_file FILE *f = fopen("/etc/os-release", "r");
    char line[512];
    while (f && fgets(line, sizeof(line), f)) {
        if (strncmp(line, "PRETTY_NAME=", 12) != 0)
            continue;
        char *v = line + 12;
        v[strcspn(v, "\n")] = '\0';
        size_t n = strlen(v);
        if (n >= 2 && (v[0] == '"' || v[0] == '\'') && v[n - 1] == v[0]) {
            v[n - 1] = '\0';
            v++;
        }
        snprintf(out, size, "%.255s", v);
    }
}

static const char *goarch(const char *machine)
{
    static const char *const map[][2] = {
        {"x86_64", "amd64"}, {"aarch64", "arm64"},   {"armv7l", "arm"},  {"i686", "386"},
        {"i386", "386"},     {"ppc64le", "ppc64le"}, {"s390x", "s390x"}, {"riscv64", "riscv64"}};
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (strcmp(map[i][0], machine) == 0)
            return map[i][1];
    return machine;
}

void kl_host_info_read(const char *root_dir, kl_host_info *h)
{
    memset(h, 0, sizeof(*h));
    struct utsname u;
    if (uname(&u) == 0) {
        snprintf(h->kernel, sizeof(h->kernel), "%.127s", u.release);
        snprintf(h->arch, sizeof(h->arch), "%.31s", goarch(u.machine));
    }
    read_os_image(h->os_image, sizeof(h->os_image));
    read_line_file("/etc/machine-id", h->machine_id, sizeof(h->machine_id));
    read_line_file("/proc/sys/kernel/random/boot_id", h->boot_id, sizeof(h->boot_id));
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    h->cpu_milli = (cpus > 0 ? cpus : 1) * 1000;
    h->memory_bytes = kl_host_memory_bytes();
    struct statvfs st;
    if ((root_dir && statvfs(root_dir, &st) == 0) || statvfs("/", &st) == 0)
        h->storage_bytes = (int64_t)st.f_blocks * (int64_t)st.f_frsize;
}

/* ---- flag parsing ------------------------------------------------------------------------ */

/* Calls fn for each "a=b" of a comma-separated list. */
static int each_pair(const char *s, const char *what,
                     int (*fn)(const char *k, const char *v, void *arg, kn_error **err), void *arg,
                     kn_error **err)
{
    if (!s || !*s)
        return 0;
    cleanup_free char *copy = xstrdup(s);
    char *save = NULL;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        while (isspace((unsigned char)*tok))
            tok++;
        if (!*tok)
            continue;
        char *eq = strchr(tok, '=');
        if (!eq || eq == tok)
            return kn_error_set(err, KN_EINVAL, "%s: \"%s\" is not key=value", what, tok);
        *eq = '\0';
        int r = fn(tok, eq + 1, arg, err);
        if (r < 0)
            return r;
    }
    return 0;
}

static int add_reserved(const char *k, const char *v, void *arg, kn_error **err)
{
    kl_reserved *r = arg;
    kn_quantity q;
    if (kn_quantity_parse(v, &q, err) < 0)
        return kn_error_wrap(err, "reserved %s", k);
    if (kn_quantity_sign(&q) < 0)
        return kn_error_set(err, KN_EINVAL, "reserved %s: negative quantity \"%s\"", k, v);
    if (strcmp(k, "cpu") == 0)
        r->cpu_milli += kn_quantity_milli_value(&q);
    else if (strcmp(k, "memory") == 0)
        r->memory += kn_quantity_value(&q);
    else if (strcmp(k, "ephemeral-storage") == 0)
        r->storage += kn_quantity_value(&q);
    else if (strcmp(k, "pid") == 0)
        r->pids += kn_quantity_value(&q);
    else
        return kn_error_set(err, KN_EINVAL,
                            "reserved: unknown resource \"%s\" (cpu, memory, "
                            "ephemeral-storage, pid)",
                            k);
    return 0;
}

int kl_reserved_parse(const char *s, kl_reserved *r, kn_error **err)
{
    return each_pair(s, "reserved", add_reserved, r, err);
}

static int add_label(const char *k, const char *v, void *arg, kn_error **err)
{
    (void)err;
    cJSON *obj = arg;
    cJSON_DeleteItemFromObjectCaseSensitive(obj, k);
    cJSON_AddStringToObject(obj, k, v);
    return 0;
}

int kl_node_labels_parse(const char *s, cJSON *obj, kn_error **err)
{
    return each_pair(s, "--node-labels", add_label, obj, err);
}

/* "key[=value]:Effect" into a v1 Taint appended to arr. */
static int parse_taint(char *tok, cJSON *arr, kn_error **err)
{
    char *colon = strrchr(tok, ':');
    if (!colon)
        return kn_error_set(err, KN_EINVAL, "--register-with-taints: \"%s\": missing :Effect", tok);
    *colon = '\0';
    const char *effect = colon + 1;
    if (strcmp(effect, "NoSchedule") != 0 && strcmp(effect, "PreferNoSchedule") != 0 &&
        strcmp(effect, "NoExecute") != 0)
        return kn_error_set(err, KN_EINVAL,
                            "--register-with-taints: invalid effect \"%s\" (NoSchedule, "
                            "PreferNoSchedule, NoExecute)",
                            effect);
    char *eq = strchr(tok, '=');
    if (eq)
        *eq = '\0';
    if (!*tok)
        return kn_error_set(err, KN_EINVAL, "--register-with-taints: empty key");
    cJSON *t = cJSON_CreateObject();
    cJSON_AddStringToObject(t, "key", tok);
    if (eq)
        cJSON_AddStringToObject(t, "value", eq + 1);
    cJSON_AddStringToObject(t, "effect", effect);
    cJSON_AddItemToArray(arr, t);
    return 0;
}

int kl_node_taints_parse(const char *s, cJSON **out, kn_error **err)
{
    cleanup_cjson cJSON *arr = cJSON_CreateArray();
    cleanup_free char *copy = xstrdup(s ? s : "");
    char *save = NULL;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
        if (parse_taint(tok, arr, err) < 0)
            return -KN_EINVAL;
    *out = arr;
    arr = NULL;
    return 0;
}

/* ---- the Node object ---------------------------------------------------------------------- */

static void add_qty(cJSON *obj, const char *name, int64_t v, bool milli)
{
    char buf[64];
    if (v < 0)
        v = 0;
    if (milli && v % 1000 != 0)
        snprintf(buf, sizeof(buf), "%lldm", (long long)v);
    else if (milli)
        snprintf(buf, sizeof(buf), "%lld", (long long)(v / 1000));
    else if (v % 1024 == 0 && v > 0)
        snprintf(buf, sizeof(buf), "%lldKi", (long long)(v / 1024));
    else
        snprintf(buf, sizeof(buf), "%lld", (long long)v);
    cJSON_AddStringToObject(obj, name, buf);
}

static void add_resources(cJSON *st, const kl_node_opts *o, const kl_host_info *h)
{
    kl_reserved r = {0};
    kl_reserved_parse(o->kube_reserved, &r, NULL);
    kl_reserved_parse(o->system_reserved, &r, NULL);
    int64_t pods = o->max_pods > 0 ? o->max_pods : 110;
    cJSON *cap = cJSON_AddObjectToObject(st, "capacity");
    add_qty(cap, "cpu", h->cpu_milli, true);
    add_qty(cap, "ephemeral-storage", h->storage_bytes, false);
    add_qty(cap, "memory", h->memory_bytes, false);
    add_qty(cap, "pods", pods * 1000, true);
    cJSON *al = cJSON_AddObjectToObject(st, "allocatable");
    add_qty(al, "cpu", h->cpu_milli - r.cpu_milli, true);
    add_qty(al, "ephemeral-storage", h->storage_bytes - r.storage, false);
    add_qty(al, "memory", h->memory_bytes - r.memory, false);
    add_qty(al, "pods", pods * 1000, true);
}

static void add_addresses(cJSON *st, const kl_node_opts *o)
{
    cJSON *a = cJSON_AddArrayToObject(st, "addresses");
    for (int i = 0; i < KL_MAX_NODE_IPS; i++) {
        if (!o->config->node_ips[i] || !o->config->node_ips[i][0])
            continue;
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "type", "InternalIP");
        cJSON_AddStringToObject(e, "address", o->config->node_ips[i]);
        cJSON_AddItemToArray(a, e);
    }
    cJSON *e = cJSON_CreateObject();
    cJSON_AddStringToObject(e, "type", "Hostname");
    cJSON_AddStringToObject(e, "address", o->config->node_name);
    cJSON_AddItemToArray(a, e);
}

static void add_node_info(cJSON *st, const kl_host_info *h, const kl_node_facts *f)
{
    cJSON *ni = cJSON_AddObjectToObject(st, "nodeInfo");
    cJSON_AddStringToObject(ni, "machineID", h->machine_id);
    cJSON_AddStringToObject(ni, "systemUUID", h->machine_id);
    cJSON_AddStringToObject(ni, "bootID", h->boot_id);
    cJSON_AddStringToObject(ni, "kernelVersion", h->kernel);
    cJSON_AddStringToObject(ni, "osImage", h->os_image);
    cJSON_AddStringToObject(ni, "containerRuntimeVersion",
                            f->runtime_version ? f->runtime_version : "");
    cJSON_AddStringToObject(ni, "kubeletVersion", KL_KUBELET_VERSION);
    cJSON_AddStringToObject(ni, "kubeProxyVersion", KL_KUBELET_VERSION);
    cJSON_AddStringToObject(ni, "operatingSystem", "linux");
    cJSON_AddStringToObject(ni, "architecture", h->arch);
}

static const cJSON *find_condition(const cJSON *prev, const char *type)
{
    const cJSON *c;
    cJSON_ArrayForEach(c, prev)
    {
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(c, "type");
        if (cJSON_IsString(t) && strcmp(t->valuestring, type) == 0)
            return c;
    }
    return NULL;
}

static void add_condition(cJSON *arr, const cJSON *prev, const char *type, bool status,
                          const char *reason, const char *message, const char *now)
{
    const char *st = status ? "True" : "False";
    const char *transition = now;
    const cJSON *p = find_condition(prev, type);
    const cJSON *ps = p ? cJSON_GetObjectItemCaseSensitive(p, "status") : NULL;
    const cJSON *pt = p ? cJSON_GetObjectItemCaseSensitive(p, "lastTransitionTime") : NULL;
    if (cJSON_IsString(ps) && strcmp(ps->valuestring, st) == 0 && cJSON_IsString(pt))
        transition = pt->valuestring;
    cJSON *c = cJSON_CreateObject();
    cJSON_AddStringToObject(c, "type", type);
    cJSON_AddStringToObject(c, "status", st);
    cJSON_AddStringToObject(c, "lastHeartbeatTime", now);
    cJSON_AddStringToObject(c, "lastTransitionTime", transition);
    cJSON_AddStringToObject(c, "reason", reason);
    cJSON_AddStringToObject(c, "message", message);
    cJSON_AddItemToArray(arr, c);
}

static void add_conditions(cJSON *st, const kl_node_facts *f, const cJSON *prev)
{
    cJSON *a = cJSON_AddArrayToObject(st, "conditions");
    add_condition(a, prev, "MemoryPressure", false, "KubeletHasSufficientMemory",
                  "kubelet has sufficient memory available", f->now);
    add_condition(a, prev, "DiskPressure", false, "KubeletHasNoDiskPressure",
                  "kubelet has no disk pressure", f->now);
    add_condition(a, prev, "PIDPressure", false, "KubeletHasSufficientPID",
                  "kubelet has sufficient PID available", f->now);
    if (f->ready)
        add_condition(a, prev, "Ready", true, "KubeletReady", "kubelet is posting ready status",
                      f->now);
    else
        add_condition(a, prev, "Ready", false, "KubeletNotReady",
                      f->not_ready_message ? f->not_ready_message : "", f->now);
}

cJSON *kl_node_status_build(const kl_node_opts *o, const kl_host_info *h, const kl_node_facts *f,
                            const cJSON *prev)
{
    cJSON *st = cJSON_CreateObject();
    add_resources(st, o, h);
    add_conditions(st, f, prev);
    add_addresses(st, o);
    cJSON *de = cJSON_AddObjectToObject(st, "daemonEndpoints");
    cJSON_AddNumberToObject(cJSON_AddObjectToObject(de, "kubeletEndpoint"), "Port",
                            o->kubelet_port > 0 ? o->kubelet_port : 10250);
    add_node_info(st, h, f);
    return st;
}

static int build_labels(const kl_node_opts *o, const kl_host_info *h, cJSON *meta, kn_error **err)
{
    cJSON *l = cJSON_AddObjectToObject(meta, "labels");
    cJSON_AddStringToObject(l, "beta.kubernetes.io/arch", h->arch);
    cJSON_AddStringToObject(l, "beta.kubernetes.io/os", "linux");
    cJSON_AddStringToObject(l, "kubernetes.io/arch", h->arch);
    cJSON_AddStringToObject(l, "kubernetes.io/hostname", o->config->node_name);
    cJSON_AddStringToObject(l, "kubernetes.io/os", "linux");
    return kl_node_labels_parse(o->node_labels, l, err);
}

int kl_node_build(const kl_node_opts *o, const kl_host_info *h, const kl_node_facts *f, cJSON **out,
                  kn_error **err)
{
    cleanup_cjson cJSON *n = cJSON_CreateObject();
    cJSON_AddStringToObject(n, "apiVersion", "v1");
    cJSON_AddStringToObject(n, "kind", "Node");
    cJSON *meta = cJSON_AddObjectToObject(n, "metadata");
    cJSON_AddStringToObject(meta, "name", o->config->node_name);
    cJSON_AddStringToObject(cJSON_AddObjectToObject(meta, "annotations"),
                            "volumes.kubernetes.io/controller-managed-attach-detach", "true");
    if (build_labels(o, h, meta, err) < 0)
        return -KN_EINVAL;
    cJSON *taints = NULL;
    if (kl_node_taints_parse(o->taints, &taints, err) < 0)
        return -KN_EINVAL;
    cJSON *spec = cJSON_AddObjectToObject(n, "spec");
    if (cJSON_GetArraySize(taints) > 0)
        cJSON_AddItemToObject(spec, "taints", taints);
    else
        cJSON_Delete(taints);
    cJSON_AddItemToObject(n, "status", kl_node_status_build(o, h, f, NULL));
    *out = n;
    n = NULL;
    return 0;
}

/* ---- the running node ------------------------------------------------------------------------ */

struct kl_node {
    kl_node_opts o;
    kl_node_config config;
    kl_host_info host;
    char *labels, *taints, *kube_reserved, *system_reserved, *assign_cidr;
    cri_conn *cri;
    char *runtime_version;
    char *uid;
    char *pod_cidr;
    cJSON *last_conditions; /* as posted */
    char *last_sig;         /* status posted, without heartbeat times */
    int64_t last_post_ns, next_status_ns, next_lease_ns;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cond;
    bool stop, kick, started;
};

static void now_rfc3339(char *buf, size_t size)
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Runtime and PLEG health into f; *msg owns the message. */
static void probe(kl_node *n, kl_node_facts *f, char **msg)
{
    f->ready = false;
    cleanup_error kn_error *err = NULL;
    if (!n->runtime_version) {
        Runtime__V1__VersionResponse *v = NULL;
        if (cri_runtime_version(n->cri, &v, &err) == 0) {
            n->runtime_version = xasprintf("%s://%s", v->runtime_name, v->runtime_version);
            cri_msg_free(v);
        }
        kn_error_free(&err);
    }
    f->runtime_version = n->runtime_version;
    Runtime__V1__StatusResponse *s = NULL;
    if (cri_runtime_status(n->cri, false, &s, &err) < 0) {
        *msg = xasprintf("container runtime is down: %s", kn_error_msg(err));
        return;
    }
    const Runtime__V1__RuntimeCondition *rc = cri_runtime_condition(s, "RuntimeReady");
    const Runtime__V1__RuntimeCondition *nc = cri_runtime_condition(s, "NetworkReady");
    if (!rc || !rc->status)
        *msg = xasprintf("container runtime status check may not have completed yet: "
                         "RuntimeReady=false reason:%s message:%s",
                         rc ? rc->reason : "", rc ? rc->message : "");
    else if (!nc || !nc->status)
        *msg = xasprintf("container runtime network not ready: NetworkReady=false "
                         "reason:%s message:%s",
                         nc ? nc->reason : "", nc ? nc->message : "");
    cri_msg_free(s);
    char *why = NULL;
    if (!*msg && n->o.kubelet && !kl_kubelet_healthy(n->o.kubelet, &why))
        *msg = xasprintf("PLEG is not healthy: %s", why ? why : "");
    free(why);
    f->ready = *msg == NULL;
}

char *kl_node_status_signature(const cJSON *status)
{
    cleanup_cjson cJSON *c = cJSON_Duplicate(status, true);
    cJSON *cond;
    cJSON_ArrayForEach(cond, cJSON_GetObjectItemCaseSensitive(c, "conditions"))
        cJSON_DeleteItemFromObjectCaseSensitive(cond, "lastHeartbeatTime");
    return kn_json_print(c);
}

bool kl_node_status_due(const char *last_sig, const char *sig, int64_t last_post_ns, int64_t now_ns,
                        int64_t report_period_ns)
{
    return !last_sig || strcmp(last_sig, sig) != 0 || now_ns - last_post_ns >= report_period_ns;
}

static void set_pod_cidr(kl_node *n, const cJSON *node)
{
    const char *cidr = NULL;
    kn_json_get_string_opt(node, "spec.podCIDR", NULL, &cidr, NULL);
    if (!cidr || !*cidr || (n->pod_cidr && strcmp(n->pod_cidr, cidr) == 0))
        return;
    cleanup_error kn_error *err = NULL;
    if (cri_runtime_update_config(n->cri, cidr, &err) < 0) {
        KN_WARN(COMPONENT, "update runtime config with pod CIDR %s: %s", cidr, kn_error_msg(err));
        return; /* retried next period */
    }
    KN_INFO(COMPONENT, "pod CIDR %s", cidr);
    pthread_mutex_lock(&n->mu);
    free(n->pod_cidr);
    n->pod_cidr = xstrdup(cidr);
    pthread_mutex_unlock(&n->mu);
    if (n->o.on_pod_cidr)
        n->o.on_pod_cidr(n->o.pod_cidr_arg, cidr);
}

static void remember_node(kl_node *n, const cJSON *node)
{
    const char *uid = NULL;
    if (kn_json_get_string_opt(node, "metadata.uid", NULL, &uid, NULL) >= 0 && uid) {
        free(n->uid);
        n->uid = xstrdup(uid);
    }
    set_pod_cidr(n, node);
}

static int post_status(kl_node *n, cJSON *st, kn_error **err)
{
    cleanup_cjson cJSON *patch = cJSON_CreateObject();
    cJSON_AddItemToObject(patch, "status", cJSON_Duplicate(st, true));
    cleanup_free char *body = kn_json_print(patch);
    cleanup_cjson cJSON *out = NULL;
    if (kc_patch(n->o.client, &kc_res_nodes, NULL, n->config.node_name, "status",
                 KC_PATCH_STRATEGIC, body, &out, err) < 0)
        return kn_error_wrap(err, "patch node %s status", n->config.node_name);
    remember_node(n, out);
    return 0;
}

/* One status round: probe, build, patch when changed or due. */
static void status_round(kl_node *n, int64_t now_ns, bool force)
{
    char now[64];
    now_rfc3339(now, sizeof(now));
    kl_node_facts f = {.now = now};
    cleanup_free char *msg = NULL;
    probe(n, &f, &msg);
    f.not_ready_message = msg;
    cleanup_cjson cJSON *st = kl_node_status_build(&n->o, &n->host, &f, n->last_conditions);
    cleanup_free char *sig = kl_node_status_signature(st);
    bool changed = !n->last_sig || strcmp(sig, n->last_sig) != 0;
    cleanup_error kn_error *err = NULL;
    if (!force &&
        !kl_node_status_due(n->last_sig, sig, n->last_post_ns, now_ns, n->o.report_period_ns)) {
        cleanup_cjson cJSON *node = NULL;
        if (kc_get(n->o.client, &kc_res_nodes, NULL, n->config.node_name, &node, &err) == 0)
            remember_node(n, node);
        return;
    }
    if (post_status(n, st, &err) < 0) {
        KN_WARN(COMPONENT, "%s", kn_error_msg(err));
        return;
    }
    if (changed)
        KN_INFO(COMPONENT, "node %s status posted (Ready=%s%s%s)", n->config.node_name,
                f.ready ? "True" : "False", msg ? ": " : "", msg ? msg : "");
    free(n->last_sig);
    n->last_sig = sig;
    sig = NULL;
    cJSON_Delete(n->last_conditions);
    n->last_conditions = cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(st, "conditions"), true);
    n->last_post_ns = now_ns;
}

static void lease_round(kl_node *n)
{
    cleanup_cjson cJSON *owner = NULL;
    if (n->uid) {
        owner = cJSON_CreateObject();
        cJSON_AddStringToObject(owner, "apiVersion", "v1");
        cJSON_AddStringToObject(owner, "kind", "Node");
        cJSON_AddStringToObject(owner, "name", n->config.node_name);
        cJSON_AddStringToObject(owner, "uid", n->uid);
    }
    kc_lease_options lo = {.ns = "kube-node-lease",
                           .name = n->config.node_name,
                           .holder = n->config.node_name,
                           .duration_s = n->o.lease_duration_s,
                           .force = true,
                           .owner = owner};
    bool held = false;
    cleanup_error kn_error *err = NULL;
    if (kc_lease_acquire(n->o.client, &lo, &held, NULL, &err) < 0)
        KN_WARN(COMPONENT, "renew lease kube-node-lease/%s: %s", n->config.node_name,
                kn_error_msg(err));
}

static void *node_thread(void *arg)
{
    kl_node *n = arg;
    pthread_mutex_lock(&n->mu);
    while (!n->stop) {
        int64_t now = kn_time_monotonic_ns();
        bool kick = n->kick;
        n->kick = false;
        bool do_status = kick || now >= n->next_status_ns;
        bool do_lease = kick || now >= n->next_lease_ns;
        if (do_status || do_lease) {
            pthread_mutex_unlock(&n->mu);
            if (do_status) {
                status_round(n, now, kick);
                n->next_status_ns = now + n->o.status_period_ns;
            }
            if (do_lease) {
                lease_round(n);
                n->next_lease_ns = now + n->o.lease_period_ns;
            }
            pthread_mutex_lock(&n->mu);
            continue;
        }
        int64_t next = n->next_status_ns < n->next_lease_ns ? n->next_status_ns : n->next_lease_ns;
        kn_clock_wait_until(NULL, &n->cond, &n->mu, next);
    }
    pthread_mutex_unlock(&n->mu);
    return NULL;
}

static int assign_pod_cidr(kl_node *n, kn_error **err)
{
    cleanup_free char *patch = xasprintf("{\"spec\":{\"podCIDR\":\"%s\",\"podCIDRs\":[\"%s\"]}}",
                                         n->assign_cidr, n->assign_cidr);
    cleanup_cjson cJSON *out = NULL;
    if (kc_patch(n->o.client, &kc_res_nodes, NULL, n->config.node_name, NULL, KC_PATCH_MERGE, patch,
                 &out, err) < 0)
        return kn_error_wrap(err, "set node %s podCIDR %s", n->config.node_name, n->assign_cidr);
    remember_node(n, out);
    return 0;
}

/* Creates the Node, or reads the existing one. */
static int register_node(kl_node *n, kn_error **err)
{
    char now[64];
    now_rfc3339(now, sizeof(now));
    cleanup_free char *msg = NULL;
    kl_node_facts f = {.now = now};
    probe(n, &f, &msg);
    f.not_ready_message = msg;
    cleanup_cjson cJSON *obj = NULL;
    if (kl_node_build(&n->o, &n->host, &f, &obj, err) < 0)
        return -KN_EINVAL;
    cleanup_cjson cJSON *out = NULL;
    int r = kc_create(n->o.client, &kc_res_nodes, NULL, obj, &out, err);
    if (r < 0 && kn_error_code(*err) == KN_EEXIST) {
        kn_error_free(err);
        r = kc_get(n->o.client, &kc_res_nodes, NULL, n->config.node_name, &out, err);
    } else if (r == 0) {
        KN_INFO(COMPONENT, "registered node %s", n->config.node_name);
    }
    if (r < 0)
        return kn_error_wrap(err, "register node %s", n->config.node_name);
    remember_node(n, out);
    const char *cidr = NULL;
    kn_json_get_string_opt(out, "spec.podCIDR", NULL, &cidr, NULL);
    if ((!cidr || !*cidr) && n->assign_cidr)
        return assign_pod_cidr(n, err);
    return 0;
}

static void copy_opts(kl_node *n, const kl_node_opts *o)
{
    n->o = *o;
    n->config = *o->config;
    n->o.config = &n->config;
    n->labels = o->node_labels ? xstrdup(o->node_labels) : NULL;
    n->taints = o->taints ? xstrdup(o->taints) : NULL;
    n->kube_reserved = o->kube_reserved ? xstrdup(o->kube_reserved) : NULL;
    n->system_reserved = o->system_reserved ? xstrdup(o->system_reserved) : NULL;
    n->assign_cidr = o->assign_pod_cidr ? xstrdup(o->assign_pod_cidr) : NULL;
    n->o.assign_pod_cidr = n->assign_cidr;
    n->o.node_labels = n->labels;
    n->o.taints = n->taints;
    n->o.kube_reserved = n->kube_reserved;
    n->o.system_reserved = n->system_reserved;
    if (o->host)
        n->host = *o->host;
    else
        kl_host_info_read(o->config->root_dir, &n->host);
    n->o.host = &n->host;
    if (n->o.status_period_ns <= 0)
        n->o.status_period_ns = 10 * SEC;
    if (n->o.report_period_ns <= 0)
        n->o.report_period_ns = 300 * SEC;
    if (n->o.lease_period_ns <= 0)
        n->o.lease_period_ns = 10 * SEC;
    if (n->o.lease_duration_s <= 0)
        n->o.lease_duration_s = 40;
}

static int check_flags(const kl_node_opts *o, kn_error **err)
{
    kl_reserved r = {0};
    cleanup_cjson cJSON *taints = NULL;
    cleanup_cjson cJSON *labels = cJSON_CreateObject();
    if (kl_reserved_parse(o->kube_reserved, &r, err) < 0)
        return kn_error_wrap(err, "--kube-reserved");
    if (kl_reserved_parse(o->system_reserved, &r, err) < 0)
        return kn_error_wrap(err, "--system-reserved");
    if (kl_node_taints_parse(o->taints, &taints, err) < 0)
        return -KN_EINVAL;
    return kl_node_labels_parse(o->node_labels, labels, err);
}

int kl_node_start(const kl_node_opts *o, kl_node **out, kn_error **err)
{
    if (check_flags(o, err) < 0)
        return -KN_EINVAL;
    kl_node *n = xcalloc(1, sizeof(*n));
    copy_opts(n, o);
    pthread_mutex_init(&n->mu, NULL);
    kn_cond_init(&n->cond);
    if (cri_conn_new(o->runtime_endpoint, o->runtime_timeout_ms > 0 ? o->runtime_timeout_ms : 10000,
                     &n->cri, err) < 0 ||
        register_node(n, err) < 0) {
        kl_node_stop(n);
        return -1;
    }
    n->kick = true;
    if (pthread_create(&n->thread, NULL, node_thread, n) != 0) {
        kl_node_stop(n);
        return kn_error_set(err, KN_EINTERNAL, "start the node status thread");
    }
    n->started = true;
    *out = n;
    return 0;
}

void kl_node_kick(kl_node *n)
{
    pthread_mutex_lock(&n->mu);
    n->kick = true;
    pthread_cond_broadcast(&n->cond);
    pthread_mutex_unlock(&n->mu);
}

char *kl_node_pod_cidr(kl_node *n)
{
    pthread_mutex_lock(&n->mu);
    char *c = n->pod_cidr ? xstrdup(n->pod_cidr) : NULL;
    pthread_mutex_unlock(&n->mu);
    return c;
}

void kl_node_stop(kl_node *n)
{
    if (!n)
        return;
    pthread_mutex_lock(&n->mu);
    bool started = n->started;
    n->stop = true;
    pthread_cond_broadcast(&n->cond);
    pthread_mutex_unlock(&n->mu);
    if (started)
        pthread_join(n->thread, NULL);
    cri_conn_free(n->cri);
    free(n->runtime_version);
    free(n->uid);
    free(n->pod_cidr);
    free(n->last_sig);
    cJSON_Delete(n->last_conditions);
    free(n->labels);
    free(n->assign_cidr);
    free(n->taints);
    free(n->kube_reserved);
    free(n->system_reserved);
    pthread_mutex_destroy(&n->mu);
    pthread_cond_destroy(&n->cond);
    free(n);
}

/* admission.c - defaulting, validation and allocation per kind, as upstream's
 * registry strategies and default admission plugins do. */
#include "controlplane/svc-alloc.h"
#include "controlplane/admission.h"

#include <arpa/inet.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controlplane/objmeta.h"
#include "lib/cleanup.h"
#include "lib/clock.h"
#include "lib/json.h"
#include "lib/selector.h"
#include "lib/xalloc.h"

static bool is(const kn_resource *r, const char *group, const char *name)
{
    return strcmp(r->group, group) == 0 && strcmp(r->name, name) == 0;
}

const char *kn_admission_name_error(const kn_resource *r, const char *name)
{
    /* upstream validates no CSR name (kubelets use node-csr-<base64url>) */
    if (is(r, "certificates.k8s.io", "certificatesigningrequests"))
        return *name ? NULL : "name must not be empty";
    if (is(r, "", "namespaces") || is(r, "", "services"))
        return kn_dns1123_label_error(name);
    return kn_dns1123_subdomain_error(name);
}

/* ---- small JSON helpers ---------------------------------------------------- */

static cJSON *obj_at(cJSON *parent, const char *field)
{
    cJSON *o = cJSON_GetObjectItemCaseSensitive(parent, field);
    if (!cJSON_IsObject(o)) {
        cJSON_DeleteItemFromObjectCaseSensitive(parent, field);
        o = cJSON_AddObjectToObject(parent, field);
    }
    return o;
}

static void default_str(cJSON *o, const char *field, const char *value)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, field);
    if (!v || cJSON_IsNull(v) || (cJSON_IsString(v) && !*v->valuestring)) {
        cJSON_DeleteItemFromObjectCaseSensitive(o, field);
        cJSON_AddStringToObject(o, field, value);
    }
}

static void default_num(cJSON *o, const char *field, double value)
{
    if (!cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(o, field))) {
        cJSON_DeleteItemFromObjectCaseSensitive(o, field);
        cJSON_AddNumberToObject(o, field, value);
    }
}

static void default_bool(cJSON *o, const char *field, bool value)
{
    if (!cJSON_IsBool(cJSON_GetObjectItemCaseSensitive(o, field))) {
        cJSON_DeleteItemFromObjectCaseSensitive(o, field);
        cJSON_AddBoolToObject(o, field, value);
    }
}

static const char *str_of(const cJSON *o, const char *field)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, field);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* ---- pods ------------------------------------------------------------------ */

/* imagePullPolicy default: Always for ":latest" or no tag, else IfNotPresent. */
static const char *pull_policy_for(const char *image)
{
    if (!image)
        return "IfNotPresent";
    if (strchr(image, '@'))
        return "IfNotPresent";
    const char *slash = strrchr(image, '/');
    const char *colon = strrchr(slash ? slash : image, ':');
    if (!colon || strcmp(colon, ":latest") == 0)
        return "Always";
    return "IfNotPresent";
}

static void default_container(cJSON *c)
{
    default_str(c, "imagePullPolicy", pull_policy_for(str_of(c, "image")));
    default_str(c, "terminationMessagePath", "/dev/termination-log");
    default_str(c, "terminationMessagePolicy", "File");
    obj_at(c, "resources");
    cJSON *p;
    cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(c, "ports"))
        default_str(p, "protocol", "TCP");
}

static void add_toleration(cJSON *spec, const char *key)
{
    cJSON *tols = cJSON_GetObjectItemCaseSensitive(spec, "tolerations");
    if (!cJSON_IsArray(tols)) {
        cJSON_DeleteItemFromObjectCaseSensitive(spec, "tolerations");
        tols = cJSON_AddArrayToObject(spec, "tolerations");
    }
    cJSON *t;
    cJSON_ArrayForEach(t, tols)
    {
        const char *k = str_of(t, "key");
        const char *e = str_of(t, "effect");
        if (k && strcmp(k, key) == 0 && (!e || strcmp(e, "NoExecute") == 0))
            return;
    }
    t = cJSON_CreateObject();
    cJSON_AddStringToObject(t, "key", key);
    cJSON_AddStringToObject(t, "operator", "Exists");
    cJSON_AddStringToObject(t, "effect", "NoExecute");
    cJSON_AddNumberToObject(t, "tolerationSeconds", 300);
    cJSON_AddItemToArray(tols, t);
}

/* PodSpec defaults (also applied to workload templates). */
static void default_pod_spec(cJSON *spec)
{
    default_str(spec, "restartPolicy", "Always");
    default_str(spec, "dnsPolicy", "ClusterFirst");
    default_num(spec, "terminationGracePeriodSeconds", 30);
    default_str(spec, "schedulerName", "default-scheduler");
    obj_at(spec, "securityContext");
    default_bool(spec, "enableServiceLinks", true);
    default_str(spec, "preemptionPolicy", "PreemptLowerPriority");
    default_num(spec, "priority", 0);
    const char *sa = str_of(spec, "serviceAccountName");
    if (!sa || !*sa)
        sa = str_of(spec, "serviceAccount");
    default_str(spec, "serviceAccountName", sa && *sa ? sa : "default");
    default_str(spec, "serviceAccount", str_of(spec, "serviceAccountName"));
    cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(spec, "containers"))
        default_container(c);
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(spec, "initContainers"))
        default_container(c);
}

static bool has_resource(const cJSON *c, const char *kind, const char *res)
{
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(c, "resources");
    return cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(r, kind), res) != NULL;
}

/* QoS class as upstream: Guaranteed when every container has cpu and memory
 * limits equal to requests (requests default to limits), BestEffort with no
 * requests or limits at all, else Burstable. */
static const char *qos_class(const cJSON *spec)
{
    bool any = false, guaranteed = true;
    const cJSON *c;
    static const char *const res[] = {"cpu", "memory"};
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(spec, "containers"))
    {
        for (int i = 0; i < 2; i++) {
            bool lim = has_resource(c, "limits", res[i]), req = has_resource(c, "requests", res[i]);
            any = any || lim || req;
            if (!lim)
                guaranteed = false;
            if (lim && req) {
                const cJSON *r = cJSON_GetObjectItemCaseSensitive(c, "resources");
                const cJSON *l = cJSON_GetObjectItemCaseSensitive(
                    cJSON_GetObjectItemCaseSensitive(r, "limits"), res[i]);
                const cJSON *q = cJSON_GetObjectItemCaseSensitive(
                    cJSON_GetObjectItemCaseSensitive(r, "requests"), res[i]);
                if (!cJSON_Compare(l, q, 1))
                    guaranteed = false;
            }
        }
    }
    if (!any)
        return "BestEffort";
    return guaranteed ? "Guaranteed" : "Burstable";
}

static void validate_containers(const cJSON *spec, const char *path, const char *list,
                                bool required, kn_causes *causes)
{
    const cJSON *cs = cJSON_GetObjectItemCaseSensitive(spec, list);
    if (required && (!cJSON_IsArray(cs) || cJSON_GetArraySize(cs) == 0)) {
        kn_causes_add(causes, "FieldValueRequired", "spec.containers", "Required value");
        return;
    }
    int i = 0;
    const cJSON *c;
    cJSON_ArrayForEach(c, cs)
    {
        char f[160];
        const char *name = str_of(c, "name");
        snprintf(f, sizeof(f), "%s.%s[%d].name", path, list, i);
        if (!name || !*name)
            kn_causes_add(causes, "FieldValueRequired", f, "Required value");
        else if (kn_dns1123_label_error(name))
            kn_causes_add(causes, "FieldValueInvalid", f, "Invalid value: \"%s\": %s", name,
                          kn_dns1123_label_error(name));
        const cJSON *o;
        int j = 0;
        cJSON_ArrayForEach(o, cs)
        {
            if (j++ < i && name && str_of(o, "name") && strcmp(str_of(o, "name"), name) == 0)
                kn_causes_add(causes, "FieldValueDuplicate", f, "Duplicate value: \"%s\"", name);
        }
        snprintf(f, sizeof(f), "%s.%s[%d].image", path, list, i);
        const char *image = str_of(c, "image");
        if (!image || !*image)
            kn_causes_add(causes, "FieldValueRequired", f, "Required value");
        i++;
    }
}

static void validate_pod_spec(const cJSON *spec, const char *path, kn_causes *causes)
{
    if (!cJSON_IsObject(spec)) {
        kn_causes_add(causes, "FieldValueRequired", path, "Required value");
        return;
    }
    validate_containers(spec, path, "containers", true, causes);
    validate_containers(spec, path, "initContainers", false, causes);
    const char *rp = str_of(spec, "restartPolicy");
    if (rp && strcmp(rp, "Always") && strcmp(rp, "OnFailure") && strcmp(rp, "Never")) {
        char f[128];
        snprintf(f, sizeof(f), "%s.restartPolicy", path);
        kn_causes_add(causes, "FieldValueNotSupported", f,
                      "Unsupported value: \"%s\": supported values: \"Always\", \"OnFailure\", "
                      "\"Never\"",
                      rp);
    }
}

static void create_pod(cJSON *obj, kn_causes *causes)
{
    cJSON *spec = cJSON_GetObjectItemCaseSensitive(obj, "spec");
    validate_pod_spec(spec, "spec", causes);
    if (!cJSON_IsObject(spec))
        return;
    default_pod_spec(spec);
    add_toleration(spec, "node.kubernetes.io/not-ready");
    add_toleration(spec, "node.kubernetes.io/unreachable");
    cJSON_DeleteItemFromObjectCaseSensitive(obj, "status");
    cJSON *st = cJSON_AddObjectToObject(obj, "status");
    cJSON_AddStringToObject(st, "phase", "Pending");
    cJSON_AddStringToObject(st, "qosClass", qos_class(spec));
}

/* ---- services: ClusterIP and NodePort allocation ------------------------------- */

typedef struct ip_range {
    uint32_t base;
    uint32_t size;
} ip_range;

static int parse_cidr(const char *cidr, ip_range *r)
{
    char buf[64];
    snprintf(buf, sizeof(buf), "%s", cidr ? cidr : "10.96.0.0/12");
    char *slash = strchr(buf, '/');
    if (!slash)
        return -1;
    *slash = '\0';
    int bits = atoi(slash + 1);
    struct in_addr a;
    if (inet_pton(AF_INET, buf, &a) != 1 || bits < 8 || bits > 30)
        return -1;
    r->size = 1u << (32 - bits);
    r->base = ntohl(a.s_addr) & ~(r->size - 1);
    return 0;
}

static void ip_string(uint32_t ip, char *buf)
{
    struct in_addr a = {htonl(ip)};
    inet_ntop(AF_INET, &a, buf, 16);
}

/* What the stored Services already hold: sorted IPv4 ClusterIPs and a bitmap
 * of NodePorts (from the allocation cache, svc-alloc.h; a probe is then
 * O(log n)), plus the ports this request took. */
typedef struct svc_usage {
    uint32_t *ips;
    size_t nips;
    unsigned char ports[(32767 - 30000 + 1 + 7) / 8];
} svc_usage;

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* Fills u from the allocation cache, brought up to the store's revision
 * (alloc_mu held). */
static int read_usage(kn_apiserver *s, svc_usage *u, kn_error **err)
{
    memset(u, 0, sizeof(*u));
    if (!s->svc_alloc)
        s->svc_alloc = kn_svc_alloc_new();
    if (kn_svc_alloc_sync(s->svc_alloc, s->opts.store, err) < 0)
        return -KN_EIO;
    const uint32_t *ips = kn_svc_alloc_ips(s->svc_alloc, &u->nips);
    u->ips = xcalloc(u->nips + 1, sizeof(*u->ips));
    memcpy(u->ips, ips, u->nips * sizeof(*u->ips));
    for (int p = KN_NODEPORT_MIN; p <= KN_NODEPORT_MAX; p++)
        if (kn_svc_alloc_port_used(s->svc_alloc, p))
            u->ports[(p - 30000) / 8] |= (unsigned char)(1u << ((p - 30000) % 8));
    return 0;
}

static bool ip_used(const svc_usage *u, uint32_t ip)
{
    return bsearch(&ip, u->ips, u->nips, sizeof(*u->ips), cmp_u32) != NULL;
}

static bool port_used(const svc_usage *u, int port)
{
    return (u->ports[(port - 30000) / 8] >> ((port - 30000) % 8)) & 1;
}

static void set_cluster_ips(cJSON *spec, const char *ip)
{
    char copy[64]; /* ip may point into the item being replaced */
    snprintf(copy, sizeof(copy), "%s", ip);
    cJSON_DeleteItemFromObjectCaseSensitive(spec, "clusterIP");
    cJSON_AddStringToObject(spec, "clusterIP", copy);
    cJSON_DeleteItemFromObjectCaseSensitive(spec, "clusterIPs");
    cJSON *ips = cJSON_AddArrayToObject(spec, "clusterIPs");
    cJSON_AddItemToArray(ips, cJSON_CreateString(copy));
}

static void check_requested_ip(kn_apiserver *s, const svc_usage *u, const ip_range *r, cJSON *spec,
                               const char *want, kn_causes *causes)
{
    struct in_addr a;
    if (inet_pton(AF_INET, want, &a) != 1 || (ntohl(a.s_addr) & ~(r->size - 1)) != r->base)
        kn_causes_add(causes, "FieldValueInvalid", "spec.clusterIPs",
                      "Invalid value: [\"%s\"]: failed to allocate IP %s: provided IP is not "
                      "in the valid range. The range of valid IPs is %s",
                      want, want, s->opts.service_cidr);
    else if (ip_used(u, ntohl(a.s_addr)))
        kn_causes_add(causes, "FieldValueInvalid", "spec.clusterIPs",
                      "Invalid value: [\"%s\"]: failed to allocate IP %s: provided IP is "
                      "already allocated",
                      want, want);
    else
        set_cluster_ips(spec, want);
}

static int allocate_cluster_ip(kn_apiserver *s, const svc_usage *u, cJSON *spec, kn_causes *causes)
{
    ip_range r;
    if (parse_cidr(s->opts.service_cidr, &r) < 0)
        return -1;
    const char *want = str_of(spec, "clusterIP");
    if (want && strcmp(want, "None") == 0)
        return set_cluster_ips(spec, "None"), 0;
    if (want && *want)
        return check_requested_ip(s, u, &r, spec, want, causes), 0;
    /* the low band (up to 256 addresses) is left for static choices such as
     * the kubernetes (.1) and kube-dns (.10) Services, as upstream */
    uint32_t start = r.size / 16 < 16 ? 16 : r.size / 16 > 256 ? 256 : r.size / 16;
    for (uint32_t i = 0; i < r.size - 2; i++) {
        uint32_t ip = r.base + 1 + (start + i) % (r.size - 2);
        if (!ip_used(u, ip)) {
            char buf[16];
            ip_string(ip, buf);
            return set_cluster_ips(spec, buf), 0;
        }
    }
    kn_causes_add(causes, "FieldValueInvalid", "spec.clusterIPs",
                  "failed to allocate a serviceIP: range is full");
    return 0;
}

static void allocate_node_ports(svc_usage *u, cJSON *spec, kn_causes *causes)
{
    int i = 0;
    cJSON *p;
    cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(spec, "ports"))
    {
        char f[64];
        snprintf(f, sizeof(f), "spec.ports[%d].nodePort", i++);
        const cJSON *np = cJSON_GetObjectItemCaseSensitive(p, "nodePort");
        if (cJSON_IsNumber(np) && np->valueint != 0) {
            if (np->valueint < 30000 || np->valueint > 32767)
                kn_causes_add(causes, "FieldValueInvalid", f,
                              "Invalid value: %d: provided port is not in the valid range. The "
                              "range of valid ports is 30000-32767",
                              np->valueint);
            else if (port_used(u, np->valueint))
                kn_causes_add(causes, "FieldValueInvalid", f,
                              "Invalid value: %d: provided port is already allocated",
                              np->valueint);
            continue;
        }
        unsigned seed = (unsigned)random();
        for (int k = 0; k < 2768; k++) {
            int port = 30000 + (int)((seed + (unsigned)k) % 2768);
            if (!port_used(u, port)) {
                cJSON_DeleteItemFromObjectCaseSensitive(p, "nodePort");
                cJSON_AddNumberToObject(p, "nodePort", port);
                u->ports[(port - 30000) / 8] |= (unsigned char)(1u << ((port - 30000) % 8));
                break;
            }
        }
    }
}

static void default_service_ports(cJSON *spec, kn_causes *causes)
{
    const cJSON *ports = cJSON_GetObjectItemCaseSensitive(spec, "ports");
    const char *type = str_of(spec, "type");
    bool headless = str_of(spec, "clusterIP") && strcmp(str_of(spec, "clusterIP"), "None") == 0;
    if (strcmp(type, "ExternalName") != 0 && !headless && cJSON_GetArraySize(ports) == 0)
        kn_causes_add(causes, "FieldValueRequired", "spec.ports", "Required value");
    int i = 0;
    cJSON *p;
    cJSON_ArrayForEach(p, (cJSON *)ports)
    {
        char f[64];
        default_str(p, "protocol", "TCP");
        const cJSON *port = cJSON_GetObjectItemCaseSensitive(p, "port");
        snprintf(f, sizeof(f), "spec.ports[%d].port", i);
        if (!cJSON_IsNumber(port) || port->valueint < 1 || port->valueint > 65535)
            kn_causes_add(causes, "FieldValueInvalid", f,
                          "Invalid value: %d: must be between 1 and 65535, inclusive",
                          cJSON_IsNumber(port) ? port->valueint : 0);
        else if (!cJSON_GetObjectItemCaseSensitive(p, "targetPort"))
            cJSON_AddNumberToObject(p, "targetPort", port->valueint);
        const char *proto = str_of(p, "protocol");
        snprintf(f, sizeof(f), "spec.ports[%d].protocol", i);
        if (strcmp(proto, "TCP") && strcmp(proto, "UDP") && strcmp(proto, "SCTP"))
            kn_causes_add(causes, "FieldValueNotSupported", f,
                          "Unsupported value: \"%s\": supported values: \"SCTP\", \"TCP\", \"UDP\"",
                          proto);
        if (cJSON_GetArraySize(ports) > 1 && !str_of(p, "name")) {
            snprintf(f, sizeof(f), "spec.ports[%d].name", i);
            kn_causes_add(causes, "FieldValueRequired", f, "Required value");
        }
        i++;
    }
}

static int create_service(kn_apiserver *s, cJSON *obj, kn_causes *causes, kn_error **err)
{
    cJSON *spec = obj_at(obj, "spec");
    default_str(spec, "type", "ClusterIP");
    default_str(spec, "sessionAffinity", "None");
    const char *type = str_of(spec, "type");
    if (strcmp(type, "ClusterIP") && strcmp(type, "NodePort") && strcmp(type, "LoadBalancer") &&
        strcmp(type, "ExternalName")) {
        kn_causes_add(causes, "FieldValueNotSupported", "spec.type",
                      "Unsupported value: \"%s\": supported values: \"ClusterIP\", "
                      "\"ExternalName\", \"LoadBalancer\", \"NodePort\"",
                      type);
        return 0;
    }
    default_service_ports(spec, causes);
    if (strcmp(type, "ExternalName") == 0)
        return 0;
    default_str(spec, "internalTrafficPolicy", "Cluster");
    default_str(spec, "ipFamilyPolicy", "SingleStack");
    if (!cJSON_GetObjectItemCaseSensitive(spec, "ipFamilies")) {
        cJSON *f = cJSON_AddArrayToObject(spec, "ipFamilies");
        cJSON_AddItemToArray(f, cJSON_CreateString("IPv4"));
    }
    if (strcmp(type, "NodePort") == 0 || strcmp(type, "LoadBalancer") == 0)
        default_str(spec, "externalTrafficPolicy", "Cluster");
    if (strcmp(str_of(spec, "sessionAffinity"), "ClientIP") == 0) {
        cJSON *cfg = obj_at(obj_at(spec, "sessionAffinityConfig"), "clientIP");
        default_num(cfg, "timeoutSeconds", 10800);
    }
    svc_usage used;
    if (read_usage(s, &used, err) < 0)
        return -KN_EIO;
    if (allocate_cluster_ip(s, &used, spec, causes) < 0)
        kn_error_set(err, KN_EINTERNAL, "invalid --service-cluster-ip-range");
    if (strcmp(type, "NodePort") == 0 || strcmp(type, "LoadBalancer") == 0)
        allocate_node_ports(&used, spec, causes);
    free(used.ips);
    obj_at(obj, "status");
    obj_at(obj_at(obj, "status"), "loadBalancer");
    return *err ? -KN_EINTERNAL : 0;
}

/* ---- workloads ------------------------------------------------------------------ */

static void validate_selector(const cJSON *spec, kn_causes *causes)
{
    const cJSON *sel = cJSON_GetObjectItemCaseSensitive(spec, "selector");
    if (!cJSON_IsObject(sel)) {
        kn_causes_add(causes, "FieldValueRequired", "spec.selector", "Required value");
        return;
    }
    kn_label_selector *ls = NULL;
    kn_error *e = NULL;
    if (kn_label_selector_from_json(sel, "spec.selector", &ls, &e) < 0) {
        kn_causes_add(causes, "FieldValueInvalid", "spec.selector", "%s", kn_error_msg(e));
        kn_error_free(&e);
        return;
    }
    if (kn_label_selector_empty(ls))
        kn_causes_add(causes, "FieldValueInvalid", "spec.selector",
                      "Invalid value: {}: empty selector is invalid for deployment");
    const cJSON *labels = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(spec, "template"),
                                         "metadata"),
        "labels");
    kn_label set[64];
    size_t n = 0;
    const cJSON *l;
    cJSON_ArrayForEach(l, labels)
    {
        if (n < 64 && cJSON_IsString(l))
            set[n++] = (kn_label){l->string, l->valuestring};
    }
    if (!kn_label_selector_matches(ls, set, n))
        kn_causes_add(causes, "FieldValueInvalid", "spec.template.metadata.labels",
                      "Invalid value: `selector` does not match template `labels`");
    kn_label_selector_free(ls);
}

static void create_workload(const kn_resource *r, cJSON *obj, kn_causes *causes)
{
    cJSON *spec = obj_at(obj, "spec");
    bool ds = strcmp(r->name, "daemonsets") == 0;
    if (!ds)
        default_num(spec, "replicas", 1);
    default_num(spec, "revisionHistoryLimit", 10);
    if (strcmp(r->name, "deployments") == 0) {
        default_num(spec, "progressDeadlineSeconds", 600);
        cJSON *st = obj_at(spec, "strategy");
        default_str(st, "type", "RollingUpdate");
        if (strcmp(str_of(st, "type"), "RollingUpdate") == 0) {
            cJSON *ru = obj_at(st, "rollingUpdate");
            default_str(ru, "maxUnavailable", "25%");
            default_str(ru, "maxSurge", "25%");
        }
    } else if (strcmp(r->name, "statefulsets") == 0) {
        default_str(spec, "podManagementPolicy", "OrderedReady");
        cJSON *us = obj_at(spec, "updateStrategy");
        default_str(us, "type", "RollingUpdate");
        default_num(obj_at(us, "rollingUpdate"), "partition", 0);
    } else if (ds) {
        cJSON *us = obj_at(spec, "updateStrategy");
        default_str(us, "type", "RollingUpdate");
        cJSON *ru = obj_at(us, "rollingUpdate");
        default_num(ru, "maxUnavailable", 1);
        default_num(ru, "maxSurge", 0);
    }
    validate_selector(spec, causes);
    cJSON *tspec = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(spec, "template"), "spec");
    validate_pod_spec(tspec, "spec.template.spec", causes);
    if (cJSON_IsObject(tspec))
        default_pod_spec(tspec);
    cJSON_DeleteItemFromObjectCaseSensitive(obj, "status");
    cJSON_AddObjectToObject(obj, "status");
}

static void create_namespace(cJSON *obj)
{
    cJSON *labels = obj_at(kn_meta(obj), "labels");
    cJSON_DeleteItemFromObjectCaseSensitive(labels, "kubernetes.io/metadata.name");
    cJSON_AddStringToObject(labels, "kubernetes.io/metadata.name", kn_meta_str(obj, "name"));
    cJSON *spec = obj_at(obj, "spec");
    cJSON_DeleteItemFromObjectCaseSensitive(spec, "finalizers");
    cJSON *f = cJSON_AddArrayToObject(spec, "finalizers");
    cJSON_AddItemToArray(f, cJSON_CreateString("kubernetes"));
    cJSON_DeleteItemFromObjectCaseSensitive(obj, "status");
    cJSON_AddStringToObject(cJSON_AddObjectToObject(obj, "status"), "phase", "Active");
}

/* Secrets: type defaults to Opaque; stringData is a write-only convenience
 * merged into data (base64) and dropped, as upstream does. */
static void prepare_secret(cJSON *obj)
{
    default_str(obj, "type", "Opaque");
    cJSON *sd = cJSON_DetachItemFromObjectCaseSensitive(obj, "stringData");
    if (!cJSON_IsObject(sd)) {
        cJSON_Delete(sd);
        return;
    }
    cJSON *data = obj_at(obj, "data");
    const cJSON *e;
    cJSON_ArrayForEach(e, sd)
    {
        if (!cJSON_IsString(e))
            continue;
        size_t n = strlen(e->valuestring);
        char *b64 = xmalloc(4 * ((n + 2) / 3) + 1);
        EVP_EncodeBlock((unsigned char *)b64, (const unsigned char *)e->valuestring, (int)n);
        cJSON_DeleteItemFromObjectCaseSensitive(data, e->string);
        cJSON_AddStringToObject(data, e->string, b64);
        free(b64);
    }
    cJSON_Delete(sd);
}

/* Namespaced objects may only be created in a namespace that exists and is
 * not terminating (upstream's NamespaceLifecycle admission). */
static int check_namespace(kn_apiserver *s, const cJSON *obj, kn_error **err)
{
    const char *ns = kn_meta_str(obj, "namespace");
    cleanup_free char *key = xasprintf("/registry/core/namespaces/%s", ns ? ns : "");
    kn_kv kv = {0};
    if (kn_store_get(s->opts.store, key, &kv, err) < 0) {
        if (kn_error_code(*err) != KN_ENOTFOUND)
            return -KN_EIO;
        kn_error_free(err);
        return kn_error_set(err, KN_ENOTFOUND, "namespaces \"%s\" not found", ns ? ns : "");
    }
    cJSON *nso = cJSON_ParseWithLength(kv.value, kv.value_len);
    kn_kv_free(&kv);
    bool terminating = nso && kn_meta_str(nso, "deletionTimestamp");
    cJSON_Delete(nso);
    if (terminating)
        return kn_error_set(err, KN_EFORBIDDEN,
                            "unable to create new content in namespace %s because it is being "
                            "terminated",
                            ns);
    return 0;
}

int kn_admission_create(kn_apiserver *s, const kn_resource *r, cJSON *obj, kn_causes *causes,
                        kn_error **err)
{
    if (r->namespaced && check_namespace(s, obj, err) < 0)
        return -KN_EINVAL;
    if (is(r, "", "pods"))
        create_pod(obj, causes);
    else if (is(r, "", "services"))
        return create_service(s, obj, causes, err);
    else if (is(r, "", "namespaces"))
        create_namespace(obj);
    else if (is(r, "", "secrets"))
        prepare_secret(obj);
    else if (strcmp(r->group, "apps") == 0 && strcmp(r->name, "controllerrevisions") != 0)
        create_workload(r, obj, causes);
    return 0;
}

int kn_admission_update(kn_apiserver *s, const api_route *rt, const cJSON *old, cJSON *upd,
                        kn_causes *causes, kn_error **err)
{
    (void)s;
    (void)err;
    const kn_resource *r = rt->res;
    if (rt->sub[0])
        return 0;
    if (is(r, "", "pods")) {
        cJSON *spec = cJSON_GetObjectItemCaseSensitive(upd, "spec");
        validate_pod_spec(spec, "spec", causes);
        if (cJSON_IsObject(spec))
            default_pod_spec(spec);
        const char *on = str_of(cJSON_GetObjectItemCaseSensitive(old, "spec"), "nodeName");
        const char *nn = str_of(spec, "nodeName");
        if (on && *on && (!nn || strcmp(on, nn) != 0))
            kn_causes_add(causes, "FieldValueForbidden", "spec",
                          "Forbidden: pod updates may not change fields other than "
                          "`spec.containers[*].image`, `spec.initContainers[*].image`, "
                          "`spec.activeDeadlineSeconds`, `spec.tolerations` (only additions to "
                          "existing tolerations) or `spec.terminationGracePeriodSeconds`");
    } else if (is(r, "", "secrets")) {
        prepare_secret(upd);
    } else if (is(r, "", "services")) {
        cJSON *spec = obj_at(upd, "spec");
        const cJSON *os = cJSON_GetObjectItemCaseSensitive(old, "spec");
        const char *oip = str_of(os, "clusterIP"), *nip = str_of(spec, "clusterIP");
        if (!nip || !*nip) {
            cJSON *ips = cJSON_GetObjectItemCaseSensitive(os, "clusterIPs");
            if (oip)
                set_cluster_ips(spec, oip);
            (void)ips;
        } else if (oip && strcmp(oip, nip) != 0) {
            kn_causes_add(causes, "FieldValueInvalid", "spec.clusterIPs[0]",
                          "Invalid value: \"%s\": may not change once set", nip);
        }
        default_service_ports(spec, causes);
    } else if (strcmp(r->group, "apps") == 0 && strcmp(r->name, "controllerrevisions") != 0) {
        cJSON *spec = obj_at(upd, "spec");
        validate_selector(spec, causes);
        cJSON *tspec = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(spec, "template"), "spec");
        if (cJSON_IsObject(tspec))
            default_pod_spec(tspec);
    }
    return 0;
}

/* ---- deletion ------------------------------------------------------------------ */

static void add_finalizer(cJSON *obj, const char *f)
{
    cJSON *m = kn_meta(obj);
    cJSON *list = cJSON_GetObjectItemCaseSensitive(m, "finalizers");
    if (!cJSON_IsArray(list)) {
        cJSON_DeleteItemFromObjectCaseSensitive(m, "finalizers");
        list = cJSON_AddArrayToObject(m, "finalizers");
    }
    const cJSON *e;
    cJSON_ArrayForEach(e, list)
    {
        if (cJSON_IsString(e) && strcmp(e->valuestring, f) == 0)
            return;
    }
    cJSON_AddItemToArray(list, cJSON_CreateString(f));
}

static bool has_finalizers(const cJSON *obj)
{
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(obj, "metadata"), "finalizers");
    return cJSON_IsArray(f) && cJSON_GetArraySize(f) > 0;
}

static void set_deletion(cJSON *obj, int64_t grace)
{
    char ts[32];
    kn_rfc3339((kn_time_wall_ns() + grace * 1000000000LL), ts, sizeof(ts));
    cJSON *m = kn_meta(obj);
    cJSON_DeleteItemFromObjectCaseSensitive(m, "deletionTimestamp");
    cJSON_AddStringToObject(m, "deletionTimestamp", ts);
    cJSON_DeleteItemFromObjectCaseSensitive(m, "deletionGracePeriodSeconds");
    cJSON_AddNumberToObject(m, "deletionGracePeriodSeconds", (double)grace);
}

static bool pod_terminal(const cJSON *pod)
{
    const char *phase = str_of(cJSON_GetObjectItemCaseSensitive(pod, "status"), "phase");
    return phase && (strcmp(phase, "Succeeded") == 0 || strcmp(phase, "Failed") == 0);
}

/* Pods on a node get a grace period the kubelet honours; it confirms with
 * grace 0. Returns true if the deletion is deferred. */
static bool pod_graceful(cJSON *pod, int64_t grace)
{
    const char *node = str_of(cJSON_GetObjectItemCaseSensitive(pod, "spec"), "nodeName");
    if (!node || !*node || pod_terminal(pod))
        return false;
    if (grace < 0) {
        int64_t t = 30;
        kn_json_get_int64_opt(pod, "spec.terminationGracePeriodSeconds", 30, &t, NULL);
        grace = t;
    }
    if (grace == 0)
        return false;
    const cJSON *cur = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(pod, "metadata"), "deletionGracePeriodSeconds");
    if (cJSON_IsNumber(cur) && cur->valuedouble <= (double)grace)
        return true; /* already terminating at least as fast */
    set_deletion(pod, grace);
    return true;
}

bool kn_admission_begin_delete(const kn_resource *r, cJSON *obj, int64_t grace,
                               const char *propagation)
{
    bool already = kn_meta_str(obj, "deletionTimestamp") != NULL;
    if (propagation && strcmp(propagation, "Foreground") == 0)
        add_finalizer(obj, "foregroundDeletion");
    else if (propagation && strcmp(propagation, "Orphan") == 0)
        add_finalizer(obj, "orphan");
    if (is(r, "", "pods") && pod_graceful(obj, grace))
        return true;
    if (is(r, "", "namespaces")) {
        if (!already)
            set_deletion(obj, 0);
        cJSON *st = obj_at(obj, "status");
        cJSON_DeleteItemFromObjectCaseSensitive(st, "phase");
        cJSON_AddStringToObject(st, "phase", "Terminating");
        return true;
    }
    if (has_finalizers(obj)) {
        if (!already)
            set_deletion(obj, 0);
        return true;
    }
    return false;
}

bool kn_admission_keeps_terminating(const kn_resource *r, const cJSON *obj)
{
    if (is(r, "", "namespaces")) {
        const cJSON *f = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(obj, "spec"), "finalizers");
        return cJSON_IsArray(f) && cJSON_GetArraySize(f) > 0;
    }
    if (is(r, "", "pods")) {
        const char *node = str_of(cJSON_GetObjectItemCaseSensitive(obj, "spec"), "nodeName");
        return node && *node && !pod_terminal(obj);
    }
    return false;
}

/* ---- scale ---------------------------------------------------------------------- */

cJSON *kn_admission_scale_view(const kn_resource *r, const cJSON *obj)
{
    (void)r;
    cJSON *sc = cJSON_CreateObject();
    cJSON_AddStringToObject(sc, "kind", "Scale");
    cJSON_AddStringToObject(sc, "apiVersion", "autoscaling/v1");
    cJSON *m = cJSON_AddObjectToObject(sc, "metadata");
    static const char *const keep[] = {
        "name", "namespace", "uid", "resourceVersion", "creationTimestamp", NULL};
    for (size_t i = 0; keep[i]; i++) {
        const char *v = kn_meta_str(obj, keep[i]);
        if (v)
            cJSON_AddStringToObject(m, keep[i], v);
    }
    int64_t want = 0, have = 0;
    kn_json_get_int64_opt(obj, "spec.replicas", 1, &want, NULL);
    kn_json_get_int64_opt(obj, "status.replicas", 0, &have, NULL);
    cJSON_AddNumberToObject(cJSON_AddObjectToObject(sc, "spec"), "replicas", (double)want);
    cJSON *st = cJSON_AddObjectToObject(sc, "status");
    cJSON_AddNumberToObject(st, "replicas", (double)have);
    const cJSON *sel = NULL;
    kn_label_selector *ls = NULL;
    if (kn_json_get_object_opt(obj, "spec.selector", &sel, NULL) >= 0 && sel &&
        kn_label_selector_from_json(sel, "spec.selector", &ls, NULL) == 0) {
        char *s = kn_label_selector_string(ls);
        cJSON_AddStringToObject(st, "selector", s);
        free(s);
        kn_label_selector_free(ls);
    }
    return sc;
}

cJSON *kn_admission_apply_scale(const kn_resource *r, const cJSON *obj, const cJSON *scale)
{
    (void)r;
    cJSON *out = cJSON_Duplicate(obj, 1);
    int64_t replicas = 0;
    if (kn_json_get_int64(scale, "spec.replicas", &replicas, NULL) == 0) {
        cJSON *spec = obj_at(out, "spec");
        cJSON_DeleteItemFromObjectCaseSensitive(spec, "replicas");
        cJSON_AddNumberToObject(spec, "replicas", (double)replicas);
    }
    const char *rv = kn_meta_str(scale, "resourceVersion");
    cJSON_DeleteItemFromObjectCaseSensitive(kn_meta(out), "resourceVersion");
    if (rv && *rv)
        kn_meta_set_str(out, "resourceVersion", rv);
    return out;
}

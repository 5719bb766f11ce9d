/* model.c - the validating builder of the proxy model from Service and
 * EndpointSlice JSON. Selection and diff live in model-select.c. */
#include "netproxy/model.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "lib/cleanup.h"
#include "lib/json.h"
#include "lib/xalloc.h"

#define LABEL_SERVICE_NAME "kubernetes.io/service-name"
#define LABEL_PROXY_NAME "service.kubernetes.io/service-proxy-name"

/* Endpoints of one slice waiting to be joined to their Service. */
typedef struct pending_eps {
    char *ns, *service;
    size_t n;
    np_endpoint *eps;
} pending_eps;

struct np_builder {
    np_skip_fn on_skip;
    void *userdata;
    size_t nsvc, capsvc;
    np_service *svcs;
    size_t npend, cappend;
    pending_eps *pend;
};

/* ---- addresses ---- */

int np_addr_parse(const char *s, np_addr *out)
{
    memset(out, 0, sizeof(*out));
    if (!s || !*s || strlen(s) > 45)
        return -1;
    if (strchr(s, ':')) {
        /* IPv4-mapped and -compatible forms carry an IPv4 address in IPv6
         * clothing; Kubernetes refuses them, and so do we. */
        if (strchr(s, '.') || inet_pton(AF_INET6, s, out->bytes) != 1)
            return -1;
        out->family = AF_INET6;
        return 0;
    }
    if (inet_pton(AF_INET, s, out->bytes) != 1)
        return -1;
    out->family = AF_INET;
    return 0;
}

const char *np_addr_str(const np_addr *a, char *buf, size_t len)
{
    if (!inet_ntop(a->family == AF_INET6 ? AF_INET6 : AF_INET, a->bytes, buf, (socklen_t)len))
        snprintf(buf, len, "?");
    return buf;
}

int np_addr_cmp(const np_addr *a, const np_addr *b)
{
    if (a->family != b->family)
        return a->family == AF_INET ? -1 : 1;
    return memcmp(a->bytes, b->bytes, np_addr_len(a->family));
}

static void mask_host_bits(np_addr *a, unsigned prefix, bool *had_bits)
{
    size_t len = np_addr_len(a->family);
    for (size_t i = 0; i < len; i++) {
        unsigned bits = prefix > i * 8 ? prefix - (unsigned)i * 8 : 0;
        uint8_t keep = bits >= 8 ? 0xff : (uint8_t)(0xff << (8 - bits));
        if (a->bytes[i] & (uint8_t)~keep)
            *had_bits = true;
        a->bytes[i] &= keep;
    }
}

int np_cidr_parse(const char *s, bool lenient, np_cidr *out)
{
    memset(out, 0, sizeof(*out));
    const char *slash = s ? strchr(s, '/') : NULL;
    if (!slash || slash == s || (size_t)(slash - s) > 45 || !slash[1] || strlen(slash + 1) > 3)
        return -1;
    char ip[46];
    memcpy(ip, s, (size_t)(slash - s));
    ip[slash - s] = '\0';
    unsigned prefix = 0;
    for (const char *p = slash + 1; *p; p++) {
        if (*p < '0' || *p > '9' || (p == slash + 1 && *p == '0' && p[1]))
            return -1;
        prefix = prefix * 10 + (unsigned)(*p - '0');
    }
    if (np_addr_parse(ip, &out->addr) < 0 || prefix > np_addr_len(out->addr.family) * 8)
        return -1;
    bool had_bits = false;
    mask_host_bits(&out->addr, prefix, &had_bits);
    if (had_bits && !lenient)
        return -1;
    out->prefix = (uint8_t)prefix;
    return 0;
}

bool np_cidr_contains(const np_cidr *c, const np_addr *a)
{
    if (c->addr.family != a->family)
        return false;
    np_addr m = *a;
    bool ignored = false;
    mask_host_bits(&m, c->prefix, &ignored);
    return memcmp(m.bytes, c->addr.bytes, np_addr_len(a->family)) == 0;
}

const char *np_proto_name(np_proto p)
{
    switch (p) {
    case NP_PROTO_TCP:
        return "tcp";
    case NP_PROTO_UDP:
        return "udp";
    case NP_PROTO_SCTP:
        return "sctp";
    }
    return "?";
}

/* ---- freeing ---- */

static void endpoint_clear(np_endpoint *e)
{
    for (size_t i = 0; i < e->nports; i++)
        free(e->ports[i].name);
    free(e->ports);
    free(e->node_name);
    free(e->zone);
    memset(e, 0, sizeof(*e));
}

static void service_clear(np_service *s)
{
    free(s->ns);
    free(s->name);
    for (size_t i = 0; i < s->nports; i++)
        free(s->ports[i].name);
    free(s->ports);
    free(s->external_ips);
    free(s->lb_ips);
    free(s->source_ranges);
    for (size_t i = 0; i < s->nendpoints; i++)
        endpoint_clear(&s->endpoints[i]);
    free(s->endpoints);
    memset(s, 0, sizeof(*s));
}

void np_model_free(np_model *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->nservices; i++)
        service_clear(&m->services[i]);
    free(m->services);
    free(m);
}

np_model *np_model_new_empty(void)
{
    return xcalloc(1, sizeof(np_model));
}

/* ---- small JSON readers with field paths ---- */

static int fail(kn_error **err, const char *path, const char *fmt, const char *val)
{
    return kn_error_set(err, KN_EINVAL, "%s: %s%s%s%s", path, fmt, val ? " \"" : "", val ? val : "",
                        val ? "\"" : "");
}

/* An integer field in [lo, hi]; missing gives def (when def >= lo or the
 * field is optional). Returns 1 when present, 0 when missing. */
static int get_int_range(const cJSON *o, const char *path, int64_t lo, int64_t hi, int64_t def,
                         int64_t *out, kn_error **err)
{
    int r = kn_json_get_int64_opt(o, path, def, out, err);
    if (r < 0)
        return r;
    if (r == 1 && (*out < lo || *out > hi))
        return kn_error_set(err, KN_EINVAL, "%s: must be between %lld and %lld, got %lld", path,
                            (long long)lo, (long long)hi, (long long)*out);
    return r;
}

static int parse_proto(const cJSON *o, const char *path, np_proto *out, kn_error **err)
{
    const char *p = NULL;
    if (kn_json_get_string_opt(o, path, "TCP", &p, err) < 0)
        return -KN_EINVAL;
    if (strcmp(p, "TCP") == 0)
        *out = NP_PROTO_TCP;
    else if (strcmp(p, "UDP") == 0)
        *out = NP_PROTO_UDP;
    else if (strcmp(p, "SCTP") == 0)
        *out = NP_PROTO_SCTP;
    else
        return fail(err, path, "unknown protocol", p);
    return 0;
}

/* Reads an array of IP strings at path into a new array (*out, *n). */
static int parse_ip_list(const cJSON *o, const char *path, np_addr **out, size_t *n, kn_error **err)
{
    const cJSON *arr = NULL;
    *out = NULL;
    *n = 0;
    if (kn_json_get_array_opt(o, path, &arr, err) < 0)
        return -KN_EINVAL;
    int count = arr ? cJSON_GetArraySize(arr) : 0;
    if (count == 0)
        return 0;
    np_addr *v = xcalloc((size_t)count, sizeof(*v));
    int i = 0;
    for (const cJSON *it = arr->child; it; it = it->next, i++) {
        char p[96];
        snprintf(p, sizeof(p), "%s[%d]", path, i);
        if (!cJSON_IsString(it) || np_addr_parse(it->valuestring, &v[i]) < 0) {
            free(v);
            return fail(err, p, "invalid IP address",
                        cJSON_IsString(it) ? it->valuestring : "(not a string)");
        }
    }
    *out = v;
    *n = (size_t)count;
    return 0;
}

/* ---- Service ---- */

static int parse_meta(const cJSON *o, char **ns, char **name, kn_error **err)
{
    const char *n = NULL, *s = NULL;
    if (kn_json_get_string(o, "metadata.name", &n, err) < 0 ||
        kn_json_get_string_opt(o, "metadata.namespace", "default", &s, err) < 0)
        return -KN_EINVAL;
    if (!*n || !*s || strchr(n, '/') || strchr(s, '/'))
        return fail(err, "metadata", "invalid namespace or name", NULL);
    *ns = xstrdup(s);
    *name = xstrdup(n);
    return 0;
}

static int parse_type(const cJSON *o, np_svc_type *out, kn_error **err)
{
    static const struct {
        const char *name;
        np_svc_type type;
    } types[] = {{"ClusterIP", NP_SVC_CLUSTER_IP},
                 {"NodePort", NP_SVC_NODE_PORT},
                 {"LoadBalancer", NP_SVC_LOAD_BALANCER},
                 {"ExternalName", NP_SVC_EXTERNAL_NAME}};
    const char *t = NULL;
    if (kn_json_get_string_opt(o, "spec.type", "ClusterIP", &t, err) < 0)
        return -KN_EINVAL;
    for (size_t i = 0; i < KN_ARRAY_SIZE(types); i++) {
        if (strcmp(t, types[i].name) == 0) {
            *out = types[i].type;
            return 0;
        }
    }
    return fail(err, "spec.type", "unknown Service type", t);
}

/* spec.clusterIPs (or the older spec.clusterIP): "None" is headless. */
static int parse_cluster_ips(const cJSON *o, np_service *s, kn_error **err)
{
    const cJSON *arr = NULL;
    if (kn_json_get_array_opt(o, "spec.clusterIPs", &arr, err) < 0)
        return -KN_EINVAL;
    const char *one = NULL;
    if (kn_json_get_string_opt(o, "spec.clusterIP", "", &one, err) < 0)
        return -KN_EINVAL;
    if (!arr || cJSON_GetArraySize(arr) == 0) {
        if (!*one || strcmp(one, "None") == 0)
            return 0;
        if (np_addr_parse(one, &s->cluster_ips[0]) < 0)
            return fail(err, "spec.clusterIP", "invalid IP address", one);
        s->ncluster_ips = 1;
        return 0;
    }
    int i = 0;
    for (const cJSON *it = arr->child; it; it = it->next, i++) {
        char p[48];
        snprintf(p, sizeof(p), "spec.clusterIPs[%d]", i);
        if (cJSON_IsString(it) && strcmp(it->valuestring, "None") == 0 && i == 0 && !it->next)
            return 0;
        if (i >= 2)
            return fail(err, p, "at most two cluster IPs (one per family)", NULL);
        if (!cJSON_IsString(it) || np_addr_parse(it->valuestring, &s->cluster_ips[i]) < 0)
            return fail(err, p, "invalid IP address",
                        cJSON_IsString(it) ? it->valuestring : "(not a string)");
        if (i == 1 && s->cluster_ips[0].family == s->cluster_ips[1].family)
            return fail(err, p, "second cluster IP must be of the other family", NULL);
        s->ncluster_ips = (size_t)i + 1;
    }
    return 0;
}

static int parse_port(const cJSON *it, const char *path, const np_service *s, np_port *out,
                      kn_error **err)
{
    const char *name = NULL;
    int64_t v = 0;
    if (kn_json_get_string_opt(it, "name", "", &name, err) < 0)
        return kn_error_wrap(err, "%s", path);
    if (parse_proto(it, "protocol", &out->proto, err) < 0)
        return kn_error_wrap(err, "%s", path);
    if (kn_json_get_int64(it, "port", &v, err) < 0)
        return kn_error_wrap(err, "%s", path);
    if (v < 1 || v > 65535)
        return kn_error_set(err, KN_EINVAL, "%s.port: must be between 1 and 65535, got %lld", path,
                            (long long)v);
    out->port = (uint16_t)v;
    if (get_int_range(it, "nodePort", 0, 65535, 0, &v, err) < 0)
        return kn_error_wrap(err, "%s", path);
    /* a nodePort on a ClusterIP Service is never programmed */
    out->node_port =
        (s->type == NP_SVC_NODE_PORT || s->type == NP_SVC_LOAD_BALANCER) ? (uint16_t)v : 0;
    out->name = xstrdup(name);
    return 0;
}

/* Two ports may not share a name, nor a port number with the protocol, nor
 * a nodePort with the protocol. */
static int check_port_dup(const np_service *s, size_t i, kn_error **err)
{
    const np_port *a = &s->ports[i];
    for (size_t j = 0; j < i; j++) {
        const np_port *b = &s->ports[j];
        if (strcmp(a->name, b->name) == 0)
            return kn_error_set(err, KN_EINVAL, "spec.ports[%zu].name: duplicate port name \"%s\"",
                                i, a->name);
        if (a->port == b->port && a->proto == b->proto)
            return kn_error_set(err, KN_EINVAL, "spec.ports[%zu].port: duplicate port %u/%s", i,
                                a->port, np_proto_name(a->proto));
        if (a->node_port && a->node_port == b->node_port && a->proto == b->proto)
            return kn_error_set(err, KN_EINVAL,
                                "spec.ports[%zu].nodePort: duplicate nodePort %u/%s", i,
                                a->node_port, np_proto_name(a->proto));
    }
    return 0;
}

static int parse_ports(const cJSON *o, np_service *s, kn_error **err)
{
    const cJSON *arr = NULL;
    if (kn_json_get_array_opt(o, "spec.ports", &arr, err) < 0)
        return -KN_EINVAL;
    int n = arr ? cJSON_GetArraySize(arr) : 0;
    if (n == 0)
        return 0;
    s->ports = xcalloc((size_t)n, sizeof(*s->ports));
    int i = 0;
    for (const cJSON *it = arr->child; it; it = it->next, i++) {
        char p[48];
        snprintf(p, sizeof(p), "spec.ports[%d]", i);
        if (parse_port(it, p, s, &s->ports[i], err) < 0)
            return -KN_EINVAL;
        s->nports = (size_t)i + 1;
        if (n > 1 && !*s->ports[i].name)
            return kn_error_set(err, KN_EINVAL,
                                "%s.name: required when a Service has several ports", p);
        if (check_port_dup(s, (size_t)i, err) < 0)
            return -KN_EINVAL;
    }
    return 0;
}

/* status.loadBalancer.ingress[].ip; an ingress with ipMode "Proxy" is
 * reached through the load balancer's own proxy, so it is not programmed
 * (KEP-1860), and hostname-only entries carry no IP. */
static int parse_lb_ingress(const cJSON *o, np_service *s, kn_error **err)
{
    const cJSON *arr = NULL;
    if (kn_json_get_array_opt(o, "status.loadBalancer.ingress", &arr, err) < 0)
        return -KN_EINVAL;
    if (!arr || s->type != NP_SVC_LOAD_BALANCER)
        return 0;
    s->lb_ips = xcalloc((size_t)cJSON_GetArraySize(arr) + 1, sizeof(*s->lb_ips));
    int i = 0;
    for (const cJSON *it = arr->child; it; it = it->next, i++) {
        const char *ip = NULL, *mode = NULL;
        char p[64];
        snprintf(p, sizeof(p), "status.loadBalancer.ingress[%d]", i);
        if (kn_json_get_string_opt(it, "ip", "", &ip, err) < 0 ||
            kn_json_get_string_opt(it, "ipMode", "VIP", &mode, err) < 0)
            return kn_error_wrap(err, "%s", p);
        if (!*ip || strcmp(mode, "Proxy") == 0)
            continue;
        if (np_addr_parse(ip, &s->lb_ips[s->nlb_ips]) < 0)
            return kn_error_set(err, KN_EINVAL, "%s.ip: invalid IP address \"%s\"", p, ip);
        s->nlb_ips++;
    }
    return 0;
}

static int parse_source_ranges(const cJSON *o, np_service *s, kn_error **err)
{
    const cJSON *arr = NULL;
    if (kn_json_get_array_opt(o, "spec.loadBalancerSourceRanges", &arr, err) < 0)
        return -KN_EINVAL;
    int n = arr ? cJSON_GetArraySize(arr) : 0;
    if (n == 0)
        return 0;
    s->source_ranges = xcalloc((size_t)n, sizeof(*s->source_ranges));
    int i = 0;
    for (const cJSON *it = arr->child; it; it = it->next, i++) {
        /* the API server tolerates host bits and surrounding spaces here */
        char buf[64] = "";
        if (cJSON_IsString(it)) {
            const char *v = it->valuestring;
            while (*v == ' ')
                v++;
            snprintf(buf, sizeof(buf), "%s", v);
            for (size_t l = strlen(buf); l && buf[l - 1] == ' '; l--)
                buf[l - 1] = '\0';
        }
        if (np_cidr_parse(buf, true, &s->source_ranges[i]) < 0)
            return kn_error_set(err, KN_EINVAL,
                                "spec.loadBalancerSourceRanges[%d]: invalid CIDR \"%s\"", i,
                                cJSON_IsString(it) ? it->valuestring : "(not a string)");
        s->nsource_ranges++;
    }
    return 0;
}

static int parse_policy(const cJSON *o, const char *path, np_policy *out, kn_error **err)
{
    const char *v = NULL;
    if (kn_json_get_string_opt(o, path, "Cluster", &v, err) < 0)
        return -KN_EINVAL;
    if (strcmp(v, "Cluster") == 0 || strcmp(v, "Global") == 0)
        *out = NP_POLICY_CLUSTER;
    else if (strcmp(v, "Local") == 0)
        *out = NP_POLICY_LOCAL;
    else
        return fail(err, path, "unknown traffic policy", v);
    return 0;
}

static int parse_affinity(const cJSON *o, np_service *s, kn_error **err)
{
    const char *v = NULL;
    int64_t t = 0;
    if (kn_json_get_string_opt(o, "spec.sessionAffinity", "None", &v, err) < 0)
        return -KN_EINVAL;
    if (strcmp(v, "ClientIP") == 0)
        s->affinity = true;
    else if (strcmp(v, "None") != 0)
        return fail(err, "spec.sessionAffinity", "unknown session affinity", v);
    if (get_int_range(o, "spec.sessionAffinityConfig.clientIP.timeoutSeconds", 1,
                      NP_AFFINITY_MAX_TIMEOUT, NP_AFFINITY_DEFAULT_TIMEOUT, &t, err) < 0)
        return -KN_EINVAL;
    s->affinity_timeout = (uint32_t)t;
    return 0;
}

static int parse_service_spec(const cJSON *o, np_service *s, kn_error **err)
{
    int64_t hc = 0;
    if (parse_type(o, &s->type, err) < 0 || parse_cluster_ips(o, s, err) < 0 ||
        parse_ports(o, s, err) < 0 ||
        parse_ip_list(o, "spec.externalIPs", &s->external_ips, &s->nexternal_ips, err) < 0 ||
        parse_lb_ingress(o, s, err) < 0 || parse_source_ranges(o, s, err) < 0 ||
        parse_affinity(o, s, err) < 0 ||
        parse_policy(o, "spec.internalTrafficPolicy", &s->internal_policy, err) < 0 ||
        parse_policy(o, "spec.externalTrafficPolicy", &s->external_policy, err) < 0 ||
        get_int_range(o, "spec.healthCheckNodePort", 0, 65535, 0, &hc, err) < 0)
        return -KN_EINVAL;
    s->health_check_node_port = (uint16_t)hc;
    return 0;
}

np_builder *np_builder_new(np_skip_fn on_skip, void *userdata)
{
    np_builder *b = xcalloc(1, sizeof(*b));
    b->on_skip = on_skip;
    b->userdata = userdata;
    return b;
}

static int skipped(np_builder *b, kn_error **err, kn_error *e)
{
    int code = -(int)e->code;
    if (b->on_skip)
        b->on_skip(e, b->userdata);
    if (err && !*err)
        *err = e;
    else
        kn_error_free(&e);
    return code;
}

static bool has_label(const cJSON *o, const char *label)
{
    const cJSON *labels =
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(o, "metadata"), "labels");
    return cJSON_IsObject(labels) && cJSON_GetObjectItemCaseSensitive(labels, label) != NULL;
}

/* "ns/name" of an object for messages, best effort on bad input. */
static void object_id(const cJSON *o, char *buf, size_t len)
{
    const char *ns = NULL, *name = NULL;
    kn_error *ignored = NULL;
    if (kn_json_get_string_opt(o, "metadata.namespace", "default", &ns, &ignored) < 0)
        ns = "?";
    kn_error_free(&ignored);
    if (kn_json_get_string_opt(o, "metadata.name", "?", &name, &ignored) < 0)
        name = "?";
    kn_error_free(&ignored);
    snprintf(buf, len, "%s/%s", ns, name);
}

int np_builder_add_service(np_builder *b, const cJSON *svc, kn_error **err)
{
    char id[300];
    object_id(svc, id, sizeof(id));
    if (cJSON_IsObject(svc) && has_label(svc, LABEL_PROXY_NAME))
        return 0;
    np_service s = {0};
    kn_error *e = NULL;
    if (!cJSON_IsObject(svc))
        kn_error_set(&e, KN_EINVAL, "not an object");
    else if (parse_meta(svc, &s.ns, &s.name, &e) >= 0)
        parse_service_spec(svc, &s, &e);
    if (e) {
        service_clear(&s);
        kn_error_wrap(&e, "service %s", id);
        return skipped(b, err, e);
    }
    if (b->nsvc == b->capsvc) {
        b->capsvc = b->capsvc ? b->capsvc * 2 : 16;
        b->svcs = xreallocarray(b->svcs, b->capsvc, sizeof(*b->svcs));
    }
    b->svcs[b->nsvc++] = s;
    return 0;
}

/* ---- EndpointSlice ---- */

typedef struct slice_info {
    int family;
    size_t nports;
    np_ep_port *ports;
} slice_info;

static void slice_info_clear(slice_info *si)
{
    for (size_t i = 0; i < si->nports; i++)
        free(si->ports[i].name);
    free(si->ports);
}

static int parse_slice_port(const cJSON *it, const char *path, np_ep_port *out, kn_error **err)
{
    const char *name = NULL;
    int64_t v = 0;
    if (kn_json_get_string_opt(it, "name", "", &name, err) < 0 ||
        parse_proto(it, "protocol", &out->proto, err) < 0)
        return kn_error_wrap(err, "%s", path);
    /* a port left unset means "all ports" and is never proxied */
    int r = get_int_range(it, "port", 1, 65535, 0, &v, err);
    if (r < 0)
        return kn_error_wrap(err, "%s", path);
    out->port = (uint16_t)v;
    out->name = xstrdup(name);
    return 0;
}

static int parse_slice_ports(const cJSON *o, slice_info *si, kn_error **err)
{
    const cJSON *arr = NULL;
    if (kn_json_get_array_opt(o, "ports", &arr, err) < 0)
        return -KN_EINVAL;
    int n = arr ? cJSON_GetArraySize(arr) : 0;
    si->ports = xcalloc((size_t)n + 1, sizeof(*si->ports));
    int i = 0;
    for (const cJSON *it = arr ? arr->child : NULL; it; it = it->next, i++) {
        char p[48];
        snprintf(p, sizeof(p), "ports[%d]", i);
        np_ep_port ep = {0};
        if (parse_slice_port(it, p, &ep, err) < 0)
            return -KN_EINVAL;
        for (size_t j = 0; j < si->nports; j++) {
            if (strcmp(si->ports[j].name, ep.name) == 0 && si->ports[j].proto == ep.proto) {
                free(ep.name);
                return kn_error_set(err, KN_EINVAL, "%s.name: duplicate port name \"%s\"", p,
                                    si->ports[j].name);
            }
        }
        if (ep.port)
            si->ports[si->nports++] = ep;
        else
            free(ep.name);
    }
    return 0;
}

static int parse_conditions(const cJSON *it, np_endpoint *e, kn_error **err)
{
    /* unset ready means ready; unset serving follows ready (KEP-1672) */
    if (kn_json_get_bool_opt(it, "conditions.ready", true, &e->ready, err) < 0 ||
        kn_json_get_bool_opt(it, "conditions.serving", e->ready, &e->serving, err) < 0 ||
        kn_json_get_bool_opt(it, "conditions.terminating", false, &e->terminating, err) < 0)
        return -KN_EINVAL;
    return 0;
}

static int parse_endpoint(const cJSON *it, const slice_info *si, np_endpoint *e, kn_error **err)
{
    const cJSON *addrs = NULL;
    const char *node = NULL, *zone = NULL;
    if (kn_json_get_array(it, "addresses", &addrs, err) < 0)
        return -KN_EINVAL;
    /* kube-proxy uses the first address; the API allows exactly one today */
    const cJSON *a0 = addrs->child;
    if (!a0 || !cJSON_IsString(a0) || np_addr_parse(a0->valuestring, &e->addr) < 0)
        return fail(err, "addresses[0]", "invalid IP address",
                    a0 && cJSON_IsString(a0) ? a0->valuestring : "(missing)");
    if (e->addr.family != si->family)
        return fail(err, "addresses[0]", "address family does not match addressType",
                    a0->valuestring);
    if (parse_conditions(it, e, err) < 0 ||
        kn_json_get_string_opt(it, "nodeName", NULL, &node, err) < 0 ||
        kn_json_get_string_opt(it, "zone", NULL, &zone, err) < 0)
        return -KN_EINVAL;
    e->node_name = node ? xstrdup(node) : NULL;
    e->zone = zone ? xstrdup(zone) : NULL;
    e->nports = si->nports;
    e->ports = xcalloc(si->nports + 1, sizeof(*e->ports));
    for (size_t i = 0; i < si->nports; i++) {
        e->ports[i] = si->ports[i];
        e->ports[i].name = xstrdup(si->ports[i].name);
    }
    return 0;
}

static int parse_slice_head(const cJSON *o, char **ns, const char **svc, slice_info *si,
                            kn_error **err)
{
    const char *at = NULL, *s = NULL;
    if (kn_json_get_string_opt(o, "metadata.namespace", "default", &s, err) < 0 ||
        kn_json_get_string(o, "addressType", &at, err) < 0)
        return -KN_EINVAL;
    if (kn_json_get_string_opt(o, "metadata.labels[\"" LABEL_SERVICE_NAME "\"]", NULL, svc, err) <
        0)
        return -KN_EINVAL;
    if (strcmp(at, "IPv4") == 0)
        si->family = AF_INET;
    else if (strcmp(at, "IPv6") == 0)
        si->family = AF_INET6;
    else if (strcmp(at, "FQDN") != 0)
        return fail(err, "addressType", "unknown address type", at);
    *ns = xstrdup(s);
    return 0;
}

static void add_pending(np_builder *b, char *ns, const char *svc, np_endpoint *eps, size_t n)
{
    if (b->npend == b->cappend) {
        b->cappend = b->cappend ? b->cappend * 2 : 16;
        b->pend = xreallocarray(b->pend, b->cappend, sizeof(*b->pend));
    }
    b->pend[b->npend++] = (pending_eps){ns, xstrdup(svc), n, eps};
}

/* Parses the endpoints; bad ones are skipped and reported through e_first. */
static size_t parse_slice_endpoints(np_builder *b, const cJSON *arr, const slice_info *si,
                                    const char *id, np_endpoint *eps, kn_error **e_first)
{
    size_t n = 0;
    int i = 0;
    for (const cJSON *it = arr ? arr->child : NULL; it; it = it->next, i++) {
        kn_error *e = NULL;
        if (parse_endpoint(it, si, &eps[n], &e) < 0) {
            endpoint_clear(&eps[n]);
            kn_error_wrap(&e, "endpointslice %s: endpoints[%d]", id, i);
            if (b->on_skip)
                b->on_skip(e, b->userdata);
            if (!*e_first)
                *e_first = e;
            else
                kn_error_free(&e);
            continue;
        }
        n++;
    }
    return n;
}

int np_builder_add_slice(np_builder *b, const cJSON *slice, kn_error **err)
{
    char id[300];
    object_id(slice, id, sizeof(id));
    slice_info si = {0};
    char *ns = NULL;
    const char *svc = NULL;
    kn_error *e = NULL;
    if (!cJSON_IsObject(slice))
        kn_error_set(&e, KN_EINVAL, "not an object");
    else if (parse_slice_head(slice, &ns, &svc, &si, &e) >= 0 && si.family && svc)
        parse_slice_ports(slice, &si, &e);
    if (e || !si.family || !svc) {
        free(ns);
        slice_info_clear(&si);
        if (!e)
            return 0; /* FQDN, or not a Service's slice */
        kn_error_wrap(&e, "endpointslice %s", id);
        return skipped(b, err, e);
    }
    const cJSON *arr = NULL;
    kn_error *e_arr = NULL;
    if (kn_json_get_array_opt(slice, "endpoints", &arr, &e_arr) < 0)
        arr = NULL;
    size_t cap = arr ? (size_t)cJSON_GetArraySize(arr) : 0;
    np_endpoint *eps = xcalloc(cap + 1, sizeof(*eps));
    kn_error *e_first = NULL;
    size_t n = parse_slice_endpoints(b, arr, &si, id, eps, &e_first);
    add_pending(b, ns, svc, eps, n);
    slice_info_clear(&si);
    if (e_arr) {
        kn_error_wrap(&e_arr, "endpointslice %s", id);
        return skipped(b, err, e_arr);
    }
    if (e_first) {
        int code = -(int)e_first->code;
        if (err && !*err)
            *err = e_first;
        else
            kn_error_free(&e_first);
        return code;
    }
    return 0;
}

/* ---- finishing ---- */

static int cmp_service(const void *a, const void *b)
{
    const np_service *x = a, *y = b;
    int r = strcmp(x->ns, y->ns);
    return r ? r : strcmp(x->name, y->name);
}

static int cmp_pending(const void *a, const void *b)
{
    const pending_eps *x = a, *y = b;
    int r = strcmp(x->ns, y->ns);
    return r ? r : strcmp(x->service, y->service);
}

static int cmp_endpoint(const void *a, const void *b)
{
    const np_endpoint *x = a, *y = b;
    int r = np_addr_cmp(&x->addr, &y->addr);
    if (r)
        return r;
    r = strcmp(x->node_name ? x->node_name : "", y->node_name ? y->node_name : "");
    if (r)
        return r;
    if (x->nports != y->nports)
        return x->nports < y->nports ? -1 : 1;
    for (size_t i = 0; i < x->nports; i++) {
        r = strcmp(x->ports[i].name, y->ports[i].name);
        if (r)
            return r;
        if (x->ports[i].port != y->ports[i].port)
            return x->ports[i].port < y->ports[i].port ? -1 : 1;
        if (x->ports[i].proto != y->ports[i].proto)
            return x->ports[i].proto < y->ports[i].proto ? -1 : 1;
    }
    return (int)x->ready - (int)y->ready;
}

/* Sorts by namespace/name, keeping the order of addition among equals so
 * that the first added of a duplicate wins. */
typedef struct svc_pos {
    np_service s;
    size_t seq;
} svc_pos;

static int cmp_svc_pos(const void *a, const void *b)
{
    const svc_pos *x = a, *y = b;
    int r = cmp_service(&x->s, &y->s);
    return r ? r : (x->seq < y->seq ? -1 : x->seq > y->seq);
}

static void sort_services(np_builder *b)
{
    if (b->nsvc < 2)
        return;
    svc_pos *v = xcalloc(b->nsvc, sizeof(*v));
    for (size_t i = 0; i < b->nsvc; i++)
        v[i] = (svc_pos){b->svcs[i], i};
    qsort(v, b->nsvc, sizeof(*v), cmp_svc_pos);
    for (size_t i = 0; i < b->nsvc; i++)
        b->svcs[i] = v[i].s;
    free(v);
}

/* Drops duplicates of the same ns/name: the first added one wins. */
static void dedup_services(np_builder *b)
{
    size_t out = 0;
    for (size_t i = 0; i < b->nsvc; i++) {
        if (out > 0 && cmp_service(&b->svcs[out - 1], &b->svcs[i]) == 0) {
            kn_error *e = NULL;
            kn_error_set(&e, KN_EINVAL, "service %s/%s: duplicate Service; the later is skipped",
                         b->svcs[i].ns, b->svcs[i].name);
            skipped(b, NULL, e);
            service_clear(&b->svcs[i]);
            continue;
        }
        b->svcs[out++] = b->svcs[i];
    }
    b->nsvc = out;
}

static void append_endpoints(np_service *s, pending_eps *p)
{
    s->endpoints = xreallocarray(s->endpoints, s->nendpoints + p->n + 1, sizeof(*s->endpoints));
    memcpy(s->endpoints + s->nendpoints, p->eps, p->n * sizeof(*p->eps));
    s->nendpoints += p->n;
    free(p->eps);
    p->eps = NULL;
    p->n = 0;
}

/* Sorts a Service's endpoints and drops exact duplicates (an endpoint listed
 * by two slices during a slice update). */
static void normalize_endpoints(np_service *s)
{
    if (s->nendpoints > 1)
        qsort(s->endpoints, s->nendpoints, sizeof(*s->endpoints), cmp_endpoint);
    size_t out = 0;
    for (size_t i = 0; i < s->nendpoints; i++) {
        if (out > 0 && cmp_endpoint(&s->endpoints[out - 1], &s->endpoints[i]) == 0 &&
            s->endpoints[out - 1].serving == s->endpoints[i].serving &&
            s->endpoints[out - 1].terminating == s->endpoints[i].terminating) {
            endpoint_clear(&s->endpoints[i]);
            continue;
        }
        s->endpoints[out++] = s->endpoints[i];
    }
    s->nendpoints = out;
}

static void join_slices(np_builder *b)
{
    if (b->npend > 1)
        qsort(b->pend, b->npend, sizeof(*b->pend), cmp_pending);
    for (size_t i = 0; i < b->npend; i++) {
        pending_eps *p = &b->pend[i];
        np_service key = {.ns = p->ns, .name = p->service};
        np_service *s =
            b->nsvc ? bsearch(&key, b->svcs, b->nsvc, sizeof(*b->svcs), cmp_service) : NULL;
        if (s)
            append_endpoints(s, p);
        for (size_t j = 0; j < p->n; j++)
            endpoint_clear(&p->eps[j]);
        free(p->eps);
        free(p->ns);
        free(p->service);
    }
    free(b->pend);
    b->pend = NULL;
    b->npend = 0;
    for (size_t i = 0; i < b->nsvc; i++)
        normalize_endpoints(&b->svcs[i]);
}

/* A destination a Service claims: an IP with protocol and port, or a
 * nodePort (family 0). */
typedef struct claim {
    np_addr addr;
    uint8_t proto;
    uint16_t port;
    size_t owner;
    const char *what;
} claim;

static int cmp_claim(const void *a, const void *b)
{
    const claim *x = a, *y = b;
    int r = x->addr.family != y->addr.family ? (x->addr.family < y->addr.family ? -1 : 1)
                                             : np_addr_cmp(&x->addr, &y->addr);
    if (r)
        return r;
    if (x->proto != y->proto)
        return x->proto < y->proto ? -1 : 1;
    if (x->port != y->port)
        return x->port < y->port ? -1 : 1;
    return x->owner < y->owner ? -1 : x->owner > y->owner;
}

typedef struct claims {
    size_t n, cap;
    claim *v;
} claims;

static void claim_add(claims *c, const np_addr *a, uint8_t proto, uint16_t port, size_t owner,
                      const char *what)
{
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 64;
        c->v = xreallocarray(c->v, c->cap, sizeof(*c->v));
    }
    claim *x = &c->v[c->n++];
    memset(x, 0, sizeof(*x));
    if (a)
        x->addr = *a;
    x->proto = proto;
    x->port = port;
    x->owner = owner;
    x->what = what;
}

static void collect_claims(const np_service *s, size_t owner, claims *c)
{
    for (size_t p = 0; p < s->nports; p++) {
        const np_port *pt = &s->ports[p];
        for (size_t i = 0; i < s->ncluster_ips; i++)
            claim_add(c, &s->cluster_ips[i], (uint8_t)pt->proto, pt->port, owner, "clusterIP");
        for (size_t i = 0; i < s->nexternal_ips; i++)
            claim_add(c, &s->external_ips[i], (uint8_t)pt->proto, pt->port, owner, "externalIP");
        for (size_t i = 0; i < s->nlb_ips; i++)
            claim_add(c, &s->lb_ips[i], (uint8_t)pt->proto, pt->port, owner, "loadBalancer IP");
        if (pt->node_port)
            claim_add(c, NULL, (uint8_t)pt->proto, pt->node_port, owner, "nodePort");
    }
}

size_t np_service_claims(const np_service *s, np_claim **out)
{
    claims c = {0};
    if (s->type != NP_SVC_EXTERNAL_NAME)
        collect_claims(s, 0, &c);
    np_claim *v = xcalloc(c.n + 1, sizeof(*v));
    for (size_t i = 0; i < c.n; i++)
        v[i] = (np_claim){c.v[i].addr, c.v[i].proto, c.v[i].port};
    free(c.v);
    *out = v;
    return c.n;
}

void np_service_free(np_service *s)
{
    service_clear(s);
}

/* Claims in key order, then the positions of each owner's claims. */
static bool same_key(const claim *x, const claim *y)
{
    return x->addr.family == y->addr.family && np_addr_cmp(&x->addr, &y->addr) == 0 &&
           x->proto == y->proto && x->port == y->port;
}

static void report_conflict(np_builder *b, const claim *cur, size_t winner)
{
    char ip[64] = "";
    if (cur->addr.family)
        np_addr_str(&cur->addr, ip, sizeof(ip));
    kn_error *e = NULL;
    kn_error_set(&e, KN_ECONFLICT, "service %s/%s: %s %s%s%u/%s is already used by %s/%s",
                 b->svcs[cur->owner].ns, b->svcs[cur->owner].name, cur->what, ip, *ip ? ":" : "",
                 cur->port, np_proto_name((np_proto)cur->proto), b->svcs[winner].ns,
                 b->svcs[winner].name);
    skipped(b, NULL, e);
}

/* True (and reported) when claim k collides with a claim of a kept Service
 * earlier in namespace/name order. Claims are sorted by key, then owner. */
static bool claim_lost(np_builder *b, const claims *c, size_t k, const bool *drop)
{
    const claim *cur = &c->v[k];
    for (size_t j = k; j > 0 && same_key(&c->v[j - 1], cur); j--) {
        size_t o = c->v[j - 1].owner;
        if (o != cur->owner && !drop[o]) {
            report_conflict(b, cur, o);
            return true;
        }
    }
    return false;
}

/* Marks in drop[] every Service that claims a destination an earlier kept
 * one (in namespace/name order) already holds. Owners are decided in order,
 * so a dropped Service's claims never count against later ones. */
static void find_conflicts(np_builder *b, bool *drop)
{
    claims c = {0};
    for (size_t i = 0; i < b->nsvc; i++) {
        if (b->svcs[i].type != NP_SVC_EXTERNAL_NAME)
            collect_claims(&b->svcs[i], i, &c);
    }
    if (c.n > 1)
        qsort(c.v, c.n, sizeof(*c.v), cmp_claim);
    /* first[i]: start of owner i's claims in byowner (counting sort) */
    size_t *first = xcalloc(b->nsvc + 2, sizeof(size_t));
    size_t *byowner = xcalloc(c.n + 1, sizeof(size_t));
    for (size_t k = 0; k < c.n; k++)
        first[c.v[k].owner + 2]++;
    for (size_t i = 2; i < b->nsvc + 2; i++)
        first[i] += first[i - 1];
    for (size_t k = 0; k < c.n; k++)
        byowner[first[c.v[k].owner + 1]++] = k;
    for (size_t i = 0; i < b->nsvc; i++) {
        for (size_t x = first[i]; x < first[i + 1] && !drop[i]; x++)
            drop[i] = claim_lost(b, &c, byowner[x], drop);
    }
    free(first);
    free(byowner);
    free(c.v);
}

static void drop_conflicts(np_builder *b)
{
    bool *drop = xcalloc(b->nsvc + 1, sizeof(bool));
    find_conflicts(b, drop);
    size_t out = 0;
    for (size_t i = 0; i < b->nsvc; i++) {
        if (drop[i])
            service_clear(&b->svcs[i]);
        else
            b->svcs[out++] = b->svcs[i];
    }
    b->nsvc = out;
    free(drop);
}

np_model *np_builder_finish(np_builder *b)
{
    sort_services(b);
    dedup_services(b);
    join_slices(b);
    drop_conflicts(b);
    np_model *m = xcalloc(1, sizeof(*m));
    m->services = b->svcs;
    m->nservices = b->nsvc;
    free(b);
    return m;
}

np_service *np_build_service(const cJSON *svc, const cJSON *const *slices, size_t nslices,
                             np_skip_fn on_skip, void *userdata)
{
    np_builder *b = np_builder_new(on_skip, userdata);
    if (svc)
        np_builder_add_service(b, svc, NULL);
    for (size_t i = 0; i < nslices; i++)
        np_builder_add_slice(b, slices[i], NULL);
    np_model *m = np_builder_finish(b);
    np_service *s = NULL;
    if (m->nservices == 1) {
        s = xmalloc(sizeof(*s));
        *s = m->services[0];
        m->nservices = 0;
    }
    np_model_free(m);
    return s;
}

const np_service *np_model_find(const np_model *m, const char *ns, const char *name)
{
    if (!m || m->nservices == 0)
        return NULL;
    np_service key = {.ns = (char *)ns, .name = (char *)name};
    return bsearch(&key, m->services, m->nservices, sizeof(*m->services), cmp_service);
}

/* objects.c - validating Services, EndpointSlices and Namespaces into the
 * DNS model (see objects.h). */
#include "dns/objects.h"

#include <arpa/inet.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/arena.h"
#include "lib/json.h"
#include "lib/xalloc.h"

#define LABEL_SERVICE_NAME "kubernetes.io/service-name"

/* The endpoints and ports of one slice, waiting to be joined. */
typedef struct pend_slice {
    const char *ns, *svc;
    size_t order;
    dns_model_endpoint *eps;
    size_t neps;
    dns_model_port *ports;
    size_t nports;
} pend_slice;

/* A Service with its insertion order (to keep the first of duplicates). */
typedef struct svc_item {
    dns_model_service s;
    size_t order;
} svc_item;

struct dns_objects {
    svc_item *svcs;
    size_t nsvcs, capsvcs;
    pend_slice *slices;
    size_t nslices, capslices;
    const char **nss;
    size_t nnss, capnss;
    dns_model_service *out; /* the model's Services (finish) */
    kn_arena strings;       /* copies of every string the model points to */
    size_t skipped;
    bool finished;
    dns_model model;
};

static void *grow(void *p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return p;
    size_t ncap = *cap ? *cap * 2 : 16;
    while (ncap < need)
        ncap *= 2;
    *cap = ncap;
    return xreallocarray(p, ncap, elem);
}

/* The model keeps copies of the strings it takes from an object, so the
 * caller may free the object (e.g. drop a cached object's tree) at once. */
static const char *keep(dns_objects *o, const char *s)
{
    return kn_arena_strdup(&o->strings, s);
}

static void keep_ports(dns_objects *o, dns_model_port *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        v[i].name = keep(o, v[i].name);
}

static void keep_service(dns_objects *o, dns_model_service *s)
{
    s->ns = keep(o, s->ns);
    s->name = keep(o, s->name);
    s->external_name = keep(o, s->external_name);
    const char **ips = (const char **)s->cluster_ips;
    for (size_t i = 0; i < s->ncluster_ips; i++)
        ips[i] = keep(o, ips[i]);
    keep_ports(o, (dns_model_port *)s->ports, s->nports);
}

static void keep_slice(dns_objects *o, pend_slice *p)
{
    p->ns = keep(o, p->ns);
    p->svc = keep(o, p->svc);
    keep_ports(o, p->ports, p->nports);
    for (size_t i = 0; i < p->neps; i++) {
        p->eps[i].ip = keep(o, p->eps[i].ip);
        p->eps[i].hostname = keep(o, p->eps[i].hostname);
    }
}

/* Hands the local error e to the caller's err (first error wins). */
static int give(kn_error **err, kn_error **e)
{
    if (err && !*err) {
        *err = *e;
        *e = NULL;
    }
    kn_error_free(e);
    return -KN_EINVAL;
}

/* ---- field checks ------------------------------------------------------------------- */

/* RFC 1123 label (as Kubernetes validates it): [a-z0-9]([-a-z0-9]*[a-z0-9])?,
 * at most 63; with letter_first also RFC 1035 (Service names). */
static bool is_label(const char *s, bool letter_first)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > 63 || s[0] == '-' || s[n - 1] == '-')
        return false;
    if (letter_first && !(s[0] >= 'a' && s[0] <= 'z'))
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
            return false;
    }
    return true;
}

/* An RFC 1123 subdomain, optionally ending in '.', any letter case. */
static bool is_hostname(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n > 0 && s[n - 1] == '.')
        n--;
    if (n == 0 || n > 253)
        return false;
    size_t start = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i < n && s[i] != '.') {
            char c = s[i];
            if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '_'))
                return false;
            continue;
        }
        size_t len = i - start;
        if (len == 0 || len > 63 || s[start] == '-' || s[i - 1] == '-')
            return false;
        start = i + 1;
    }
    return true;
}

/* family: AF_INET, AF_INET6, or 0 for either. */
static bool is_ip(const char *s, int family)
{
    uint8_t b[16];
    if (!s || strchr(s, '%'))
        return false;
    if (family != AF_INET6 && inet_pton(AF_INET, s, b) == 1)
        return true;
    return family != AF_INET && inet_pton(AF_INET6, s, b) == 1;
}

static int parse_protocol(const cJSON *obj, const char *path, dns_proto *out, kn_error **err)
{
    const char *p;
    if (kn_json_get_string_opt(obj, path, "TCP", &p, err) < 0)
        return -1;
    if (strcmp(p, "TCP") == 0)
        *out = DNS_PROTO_TCP;
    else if (strcmp(p, "UDP") == 0)
        *out = DNS_PROTO_UDP;
    else if (strcmp(p, "SCTP") == 0)
        *out = DNS_PROTO_SCTP;
    else
        return kn_error_set(err, KN_EINVAL, "%s: unsupported value \"%s\" (TCP, UDP or SCTP)", path,
                            p);
    return 0;
}

/* One port (Service or EndpointSlice) at root's path prefix
 * ("spec.ports[0]"). A missing port number is allowed when optional
 * (slices: "all ports") and leaves *has_port false. */
static int parse_port(const cJSON *root, const char *prefix, bool optional, dns_model_port *p,
                      bool *has_port, kn_error **err)
{
    char path[96];
    int64_t port;
    snprintf(path, sizeof(path), "%s.name", prefix);
    if (kn_json_get_string_opt(root, path, "", &p->name, err) < 0)
        return -1;
    snprintf(path, sizeof(path), "%s.protocol", prefix);
    if (parse_protocol(root, path, &p->protocol, err) < 0)
        return -1;
    snprintf(path, sizeof(path), "%s.port", prefix);
    int r = kn_json_get_int64_opt(root, path, -1, &port, err);
    if (r < 0)
        return -1;
    *has_port = r == 1;
    if (r == 0 && optional)
        return 0;
    if (port < 1 || port > 65535)
        return kn_error_set(err, KN_EINVAL, "%s: must be 1..65535, got %lld", path,
                            (long long)port);
    p->port = (uint16_t)port;
    return 0;
}

/* metadata.name (and metadata.namespace): labels as Kubernetes names. */
static int parse_meta(const cJSON *obj, const char *kind, bool namespaced, bool letter_first,
                      const char **ns, const char **name, kn_error **err)
{
    *ns = "";
    *name = "";
    if (kn_json_get_string(obj, "metadata.name", name, err) < 0)
        return kn_error_wrap(err, "%s", kind);
    if (namespaced && kn_json_get_string(obj, "metadata.namespace", ns, err) < 0)
        return kn_error_wrap(err, "%s %s", kind, *name);
    const char *sep = namespaced ? "/" : "";
    if (namespaced && !is_label(*ns, false))
        return kn_error_set(err, KN_EINVAL, "%s %s%s%s: metadata.namespace: invalid name", kind,
                            *ns, sep, *name);
    if (!is_label(*name, letter_first))
        return kn_error_set(err, KN_EINVAL, "%s %s%s%s: metadata.name: invalid %s", kind, *ns, sep,
                            *name, letter_first ? "DNS-1035 label" : "DNS-1123 label");
    return 0;
}

/* ---- Services ----------------------------------------------------------------------- */

static int service_ports(const cJSON *svc, dns_model_service *s, kn_error **err)
{
    const cJSON *ports;
    if (kn_json_get_array_opt(svc, "spec.ports", &ports, err) < 0)
        return -1;
    int n = ports ? cJSON_GetArraySize(ports) : 0;
    dns_model_port *out = xcalloc(n ? (size_t)n : 1, sizeof(*out));
    s->ports = out;
    for (int i = 0; i < n; i++) {
        char prefix[48];
        bool has;
        snprintf(prefix, sizeof(prefix), "spec.ports[%d]", i);
        if (parse_port(svc, prefix, false, &out[i], &has, err) < 0)
            return -1;
        s->nports++;
    }
    return 0;
}

/* spec.clusterIPs (or the older spec.clusterIP alone); "None": headless. */
static int service_ips(const cJSON *svc, dns_model_service *s, kn_error **err)
{
    const cJSON *ips;
    const char *ip;
    if (kn_json_get_array_opt(svc, "spec.clusterIPs", &ips, err) < 0 ||
        kn_json_get_string_opt(svc, "spec.clusterIP", "", &ip, err) < 0)
        return -1;
    int n = ips ? cJSON_GetArraySize(ips) : 0;
    const char **out = xcalloc(n ? (size_t)n + 1 : 2, sizeof(*out));
    s->cluster_ips = out;
    if (n == 0 && ip[0])
        out[s->ncluster_ips++] = ip;
    for (int i = 0; i < n; i++) {
        const cJSON *it = cJSON_GetArrayItem(ips, i);
        if (!cJSON_IsString(it))
            return kn_error_set(err, KN_EINVAL, "spec.clusterIPs[%d]: expected string", i);
        out[s->ncluster_ips++] = it->valuestring;
    }
    if (s->ncluster_ips > 0 && strcmp(out[0], "None") == 0) {
        s->type = DNS_SVC_HEADLESS;
        s->ncluster_ips = 0;
        return 0;
    }
    for (size_t i = 0; i < s->ncluster_ips; i++) {
        if (!is_ip(out[i], 0))
            return kn_error_set(err, KN_EINVAL, "spec.clusterIPs[%zu]: invalid IP address \"%s\"",
                                i, out[i]);
    }
    return 0;
}

static int service_spec(const cJSON *svc, dns_model_service *s, kn_error **err)
{
    const char *type;
    bool pna;
    if (kn_json_get_string_opt(svc, "spec.type", "ClusterIP", &type, err) < 0 ||
        kn_json_get_bool_opt(svc, "spec.publishNotReadyAddresses", false, &pna, err) < 0 ||
        service_ports(svc, s, err) < 0)
        return -1;
    s->publish_not_ready = pna;
    if (strcmp(type, "ExternalName") == 0) {
        s->type = DNS_SVC_EXTERNAL_NAME;
        if (kn_json_get_string(svc, "spec.externalName", &s->external_name, err) < 0)
            return -1;
        if (!is_hostname(s->external_name) || is_ip(s->external_name, 0))
            return kn_error_set(err, KN_EINVAL, "spec.externalName: invalid DNS name \"%s\"",
                                s->external_name);
        return 0;
    }
    if (strcmp(type, "ClusterIP") != 0 && strcmp(type, "NodePort") != 0 &&
        strcmp(type, "LoadBalancer") != 0)
        return kn_error_set(err, KN_EINVAL, "spec.type: unsupported value \"%s\"", type);
    s->type = DNS_SVC_CLUSTER_IP;
    return service_ips(svc, s, err);
}

static void service_release(dns_model_service *s)
{
    free((void *)s->cluster_ips);
    free((void *)s->ports);
    free((void *)s->endpoints);
    free((void *)s->endpoint_ports);
}

int dns_objects_add_service(dns_objects *o, const cJSON *svc, kn_error **err)
{
    kn_error *e = NULL;
    dns_model_service s = {0};
    if (parse_meta(svc, "service", true, true, &s.ns, &s.name, &e) < 0) {
        o->skipped++;
        return give(err, &e);
    }
    if (service_spec(svc, &s, &e) < 0) {
        service_release(&s);
        kn_error_wrap(&e, "service %s/%s", s.ns, s.name);
        o->skipped++;
        return give(err, &e);
    }
    keep_service(o, &s);
    o->svcs = grow(o->svcs, &o->capsvcs, o->nsvcs + 1, sizeof(*o->svcs));
    o->svcs[o->nsvcs] = (svc_item){s, o->nsvcs};
    o->nsvcs++;
    return 0;
}

/* ---- EndpointSlices ----------------------------------------------------------------- */

static int slice_ports(const cJSON *slice, pend_slice *p, kn_error **err)
{
    const cJSON *ports;
    if (kn_json_get_array_opt(slice, "ports", &ports, err) < 0)
        return -1;
    int n = ports ? cJSON_GetArraySize(ports) : 0;
    p->ports = xcalloc(n ? (size_t)n : 1, sizeof(*p->ports));
    for (int i = 0; i < n; i++) {
        char prefix[32];
        bool has;
        snprintf(prefix, sizeof(prefix), "ports[%d]", i);
        if (parse_port(slice, prefix, true, &p->ports[p->nports], &has, err) < 0)
            return -1;
        p->nports += has; /* a port without a number means "all ports": no SRV */
    }
    return 0;
}

/* Endpoint i of the slice: every address (of the slice's family) becomes
 * an endpoint of the model. */
static int slice_endpoint(const cJSON *slice, int i, int family, pend_slice *p, kn_error **err)
{
    const cJSON *addrs;
    const char *host;
    bool ready;
    char pa[48], ph[48], pr[64];
    snprintf(pa, sizeof(pa), "endpoints[%d].addresses", i);
    snprintf(ph, sizeof(ph), "endpoints[%d].hostname", i);
    snprintf(pr, sizeof(pr), "endpoints[%d].conditions.ready", i);
    if (kn_json_get_array(slice, pa, &addrs, err) < 0 ||
        kn_json_get_string_opt(slice, ph, NULL, &host, err) < 0 ||
        kn_json_get_bool_opt(slice, pr, true, &ready, err) < 0)
        return -1;
    if (host && !is_label(host, false))
        return kn_error_set(err, KN_EINVAL, "%s: invalid DNS-1123 label \"%s\"", ph, host);
    int n = cJSON_GetArraySize(addrs);
    if (n == 0)
        return kn_error_set(err, KN_EINVAL, "%s: must have at least one address", pa);
    for (int j = 0; j < n; j++) {
        const cJSON *a = cJSON_GetArrayItem(addrs, j);
        if (!cJSON_IsString(a))
            return kn_error_set(err, KN_EINVAL, "%s[%d]: expected string", pa, j);
        if (!is_ip(a->valuestring, family))
            return kn_error_set(err, KN_EINVAL, "%s[%d]: invalid %s address \"%s\"", pa, j,
                                family == AF_INET ? "IPv4" : "IPv6", a->valuestring);
    }
    for (int j = 0; j < n; j++)
        p->eps[p->neps++] =
            (dns_model_endpoint){cJSON_GetArrayItem(addrs, j)->valuestring, host, ready, ready};
    return 0;
}

/* The endpoints, skipping invalid ones (the first error goes to err). */
static void slice_endpoints(const cJSON *slice, const cJSON *eps, int family, pend_slice *p,
                            size_t *skipped, kn_error **err)
{
    int n = eps ? cJSON_GetArraySize(eps) : 0;
    size_t total = 0;
    for (int i = 0; i < n; i++) {
        const cJSON *a = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(eps, i), "addresses");
        total += cJSON_IsArray(a) ? (size_t)cJSON_GetArraySize(a) : 0;
    }
    p->eps = xcalloc(total ? total : 1, sizeof(*p->eps));
    for (int i = 0; i < n; i++) {
        size_t before = p->neps;
        kn_error *e = NULL;
        if (slice_endpoint(slice, i, family, p, &e) < 0) {
            p->neps = before;
            (*skipped)++;
            give(err, &e);
        }
    }
}

static void pend_release(pend_slice *p)
{
    free(p->eps);
    free(p->ports);
}

/* The slice's address family; 0 for FQDN (ignored). */
static int slice_family(const cJSON *slice, int *family, kn_error **err)
{
    const char *t;
    if (kn_json_get_string(slice, "addressType", &t, err) < 0)
        return -1;
    if (strcmp(t, "IPv4") == 0)
        *family = AF_INET;
    else if (strcmp(t, "IPv6") == 0)
        *family = AF_INET6;
    else if (strcmp(t, "FQDN") == 0)
        *family = 0;
    else
        return kn_error_set(err, KN_EINVAL, "addressType: unsupported value \"%s\"", t);
    return 0;
}

int dns_objects_add_slice(dns_objects *o, const cJSON *slice, kn_error **err)
{
    kn_error *e = NULL;
    pend_slice p = {0};
    const char *name;
    const cJSON *eps;
    int family;
    if (parse_meta(slice, "endpointslice", true, false, &p.ns, &name, &e) < 0) {
        o->skipped++;
        return give(err, &e);
    }
    cJSON *labels = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(slice, "metadata"), "labels");
    const cJSON *svc = cJSON_GetObjectItemCaseSensitive(labels, LABEL_SERVICE_NAME);
    if (!cJSON_IsString(svc) || !svc->valuestring[0])
        return 0; /* not a Service's slice */
    p.svc = svc->valuestring;
    if (slice_family(slice, &family, &e) < 0 || (family && slice_ports(slice, &p, &e) < 0) ||
        (family && kn_json_get_array_opt(slice, "endpoints", &eps, &e) < 0)) {
        pend_release(&p);
        kn_error_wrap(&e, "endpointslice %s/%s", p.ns, name);
        o->skipped++;
        return give(err, &e);
    }
    if (!family)
        return 0; /* FQDN slices are not for DNS */
    slice_endpoints(slice, eps, family, &p, &o->skipped, &e);
    p.order = o->nslices;
    keep_slice(o, &p);
    o->slices = grow(o->slices, &o->capslices, o->nslices + 1, sizeof(*o->slices));
    o->slices[o->nslices++] = p;
    if (!e)
        return 0;
    kn_error_wrap(&e, "endpointslice %s/%s", p.ns, name);
    return give(err, &e);
}

/* ---- Namespaces --------------------------------------------------------------------- */

int dns_objects_add_namespace(dns_objects *o, const cJSON *ns, kn_error **err)
{
    kn_error *e = NULL;
    const char *none, *name;
    if (parse_meta(ns, "namespace", false, false, &none, &name, &e) < 0) {
        o->skipped++;
        return give(err, &e);
    }
    o->nss = grow(o->nss, &o->capnss, o->nnss + 1, sizeof(*o->nss));
    o->nss[o->nnss++] = keep(o, name);
    return 0;
}

/* ---- joining ------------------------------------------------------------------------ */

static int cmp_nsname(const char *ans, const char *aname, const char *bns, const char *bname)
{
    int c = strcmp(ans, bns);
    return c ? c : strcmp(aname, bname);
}

static int cmp_svc(const void *pa, const void *pb)
{
    const svc_item *a = pa, *b = pb;
    int c = cmp_nsname(a->s.ns, a->s.name, b->s.ns, b->s.name);
    return c ? c : (a->order < b->order ? -1 : a->order > b->order);
}

static int cmp_slice(const void *pa, const void *pb)
{
    const pend_slice *a = pa, *b = pb;
    int c = cmp_nsname(a->ns, a->svc, b->ns, b->svc);
    return c ? c : (a->order < b->order ? -1 : a->order > b->order);
}

static bool same_port(const dns_model_port *a, const dns_model_port *b)
{
    return a->protocol == b->protocol && a->port == b->port && strcmp(a->name, b->name) == 0;
}

/* Appends the slices [from, to) to s: their endpoints, and their named
 * ports without duplicates. */
static void join(dns_model_service *s, const pend_slice *sl, size_t from, size_t to)
{
    size_t neps = 0, nports = 0;
    for (size_t i = from; i < to; i++) {
        neps += sl[i].neps;
        nports += sl[i].nports;
    }
    dns_model_endpoint *eps = xcalloc(neps ? neps : 1, sizeof(*eps));
    dns_model_port *ports = xcalloc(nports ? nports : 1, sizeof(*ports));
    size_t ne = 0, np = 0;
    for (size_t i = from; i < to; i++) {
        memcpy(eps + ne, sl[i].eps, sl[i].neps * sizeof(*eps));
        ne += sl[i].neps;
        for (size_t j = 0; j < sl[i].nports; j++) {
            bool dup = false;
            for (size_t k = 0; k < np && !dup; k++)
                dup = same_port(&ports[k], &sl[i].ports[j]);
            if (!dup)
                ports[np++] = sl[i].ports[j];
        }
    }
    s->endpoints = eps;
    s->nendpoints = ne;
    s->endpoint_ports = ports;
    s->nendpoint_ports = np;
}

const dns_model *dns_objects_finish(dns_objects *o)
{
    if (o->finished)
        return &o->model;
    o->finished = true;
    if (o->nsvcs > 1)
        qsort(o->svcs, o->nsvcs, sizeof(*o->svcs), cmp_svc);
    if (o->nslices > 1)
        qsort(o->slices, o->nslices, sizeof(*o->slices), cmp_slice);
    o->out = xcalloc(o->nsvcs ? o->nsvcs : 1, sizeof(*o->out));
    size_t n = 0, j = 0;
    for (size_t i = 0; i < o->nsvcs; i++) {
        dns_model_service *s = &o->svcs[i].s;
        if (n > 0 && cmp_nsname(o->out[n - 1].ns, o->out[n - 1].name, s->ns, s->name) == 0) {
            service_release(s); /* a duplicate: the first one added stays */
            o->skipped++;
            continue;
        }
        while (j < o->nslices && cmp_nsname(o->slices[j].ns, o->slices[j].svc, s->ns, s->name) < 0)
            j++;
        size_t k = j;
        while (k < o->nslices && cmp_nsname(o->slices[k].ns, o->slices[k].svc, s->ns, s->name) == 0)
            k++;
        join(s, o->slices, j, k);
        o->out[n++] = *s;
        j = k;
    }
    o->model = (dns_model){o->out, n, o->nss, o->nnss};
    return &o->model;
}

/* ---- lifetime ----------------------------------------------------------------------- */

dns_objects *dns_objects_new(void)
{
    return xcalloc(1, sizeof(dns_objects));
}

size_t dns_objects_skipped(const dns_objects *o)
{
    return o->skipped;
}

void dns_objects_free(dns_objects *o)
{
    if (!o)
        return;
    if (o->finished) {
        for (size_t i = 0; i < o->model.nservices; i++)
            service_release(&o->out[i]);
    } else {
        for (size_t i = 0; i < o->nsvcs; i++)
            service_release(&o->svcs[i].s);
    }
    for (size_t i = 0; i < o->nslices; i++)
        pend_release(&o->slices[i]);
    free(o->out);
    free(o->svcs);
    free(o->slices);
    free(o->nss);
    kn_arena_free(&o->strings);
    free(o);
}

/* ---- lean copies for a DNS-only cache --------------------------------------------------- */

/* Deletes the members of obj whose names are not in keep (NULL-terminated). */
static void keep_members(cJSON *obj, const char *const *keep)
{
    cJSON *m = cJSON_IsObject(obj) ? obj->child : NULL;
    while (m) {
        cJSON *next = m->next;
        bool wanted = false;
        for (const char *const *k = keep; *k && !wanted; k++)
            wanted = m->string && strcmp(m->string, *k) == 0;
        if (!wanted)
            cJSON_Delete(cJSON_DetachItemViaPointer(obj, m));
        m = next;
    }
}

static void keep_in_each(cJSON *list, const char *const *keep)
{
    cJSON *it, *arr = cJSON_IsArray(list) ? list : NULL;
    cJSON_ArrayForEach(it, arr)
    {
        keep_members(it, keep);
    }
}

static cJSON *member(cJSON *obj, const char *name)
{
    return cJSON_GetObjectItemCaseSensitive(obj, name);
}

static const char *const META[] = {"name", "namespace", "resourceVersion", NULL};
static const char *const PORT[] = {"name", "port", "protocol", NULL};

void dns_objects_lean_service(cJSON *svc)
{
    static const char *const top[] = {"metadata", "spec", NULL};
    static const char *const spec[] = {
        "type", "clusterIP", "clusterIPs", "externalName", "ports", "publishNotReadyAddresses",
        NULL};
    keep_members(svc, top);
    keep_members(member(svc, "metadata"), META);
    keep_members(member(svc, "spec"), spec);
    keep_in_each(member(member(svc, "spec"), "ports"), PORT);
}

void dns_objects_lean_slice(cJSON *slice)
{
    static const char *const top[] = {"metadata", "addressType", "endpoints", "ports", NULL};
    static const char *const meta[] = {"name", "namespace", "resourceVersion", "labels", NULL};
    static const char *const labels[] = {LABEL_SERVICE_NAME, NULL};
    static const char *const ep[] = {"addresses", "hostname", "conditions", NULL};
    static const char *const cond[] = {"ready", "serving", NULL};
    keep_members(slice, top);
    cJSON *md = member(slice, "metadata");
    keep_members(md, meta);
    keep_members(member(md, "labels"), labels);
    cJSON *eps = member(slice, "endpoints"), *e, *arr = cJSON_IsArray(eps) ? eps : NULL;
    keep_in_each(eps, ep);
    cJSON_ArrayForEach(e, arr)
    {
        keep_members(member(e, "conditions"), cond);
    }
    keep_in_each(member(slice, "ports"), PORT);
}

void dns_objects_lean_namespace(cJSON *ns)
{
    static const char *const top[] = {"metadata", NULL};
    keep_members(ns, top);
    keep_members(member(ns, "metadata"), META);
}

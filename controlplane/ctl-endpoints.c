/* ctl-endpoints.c - EndpointSlice and Endpoints contents of a Service. */
#include "controlplane/ctl-endpoints.h"

#include <stdlib.h>
#include <string.h>

#include "controlplane/ctl-internal.h"
#include "controlplane/objmeta.h"
#include "lib/json.h"
#include "lib/xalloc.h"

static bool same(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "") == 0;
}

static const char *protocol_of(const cJSON *port)
{
    const char *p = kn_ctl_str(port, "protocol");
    return p && *p ? p : "TCP";
}

int kn_ctl_find_port(const cJSON *pod, const cJSON *svc_port)
{
    const cJSON *tp = cJSON_GetObjectItemCaseSensitive(svc_port, "targetPort");
    if (cJSON_IsNumber(tp) && tp->valueint > 0)
        return tp->valueint;
    if (!cJSON_IsString(tp) || !*tp->valuestring)
        return (int)kn_ctl_int(svc_port, "port", -1);
    const cJSON *c, *p, *containers = NULL;
    kn_json_lookup(pod, "spec.containers", &containers, NULL);
    cJSON_ArrayForEach(c, containers)
    {
        cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(c, "ports"))
        {
            if (same(kn_ctl_str(p, "name"), tp->valuestring) &&
                strcmp(protocol_of(p), protocol_of(svc_port)) == 0)
                return (int)kn_ctl_int(p, "containerPort", -1);
        }
    }
    return -1;
}

static const char *pod_ipv4(const cJSON *pod)
{
    const cJSON *ips = NULL, *x;
    kn_json_lookup(pod, "status.podIPs", &ips, NULL);
    cJSON_ArrayForEach(x, ips)
    {
        const char *ip = kn_ctl_str(x, "ip");
        if (ip && strchr(ip, '.') && !strchr(ip, ':'))
            return ip;
    }
    const char *ip = kn_ctl_str(pod, "status.podIP");
    return ip && strchr(ip, '.') && !strchr(ip, ':') ? ip : NULL;
}

bool kn_ctl_pod_in_endpoints(const cJSON *pod, bool include_terminating)
{
    const char *phase = kn_ctl_str(pod, "status.phase");
    if (same(phase, "Succeeded") || same(phase, "Failed"))
        return false;
    const cJSON *ips = NULL;
    kn_json_lookup(pod, "status.podIPs", &ips, NULL);
    const char *ip = kn_ctl_str(pod, "status.podIP");
    if ((!ip || !*ip) && cJSON_GetArraySize(ips) == 0)
        return false;
    return include_terminating || !kn_meta_str(pod, "deletionTimestamp");
}

/* The Service's ports resolved for pod: [{name, port, protocol,
 * appProtocol}] in Service order, unresolvable ones left out. An empty
 * name is written for slices (a pointer upstream) but left out for
 * Endpoints (omitempty). */
static cJSON *resolved_ports(const cJSON *svc, const cJSON *pod, bool empty_name)
{
    cJSON *out = cJSON_CreateArray();
    const cJSON *sp, *ports = NULL;
    kn_json_lookup(svc, "spec.ports", &ports, NULL);
    cJSON_ArrayForEach(sp, ports)
    {
        int n = kn_ctl_find_port(pod, sp);
        if (n <= 0)
            continue;
        cJSON *p = cJSON_CreateObject();
        const char *name = kn_ctl_str(sp, "name"), *app = kn_ctl_str(sp, "appProtocol");
        if ((name && *name) || empty_name)
            cJSON_AddStringToObject(p, "name", name ? name : "");
        cJSON_AddNumberToObject(p, "port", n);
        cJSON_AddStringToObject(p, "protocol", protocol_of(sp));
        if (app)
            cJSON_AddStringToObject(p, "appProtocol", app);
        cJSON_AddItemToArray(out, p);
    }
    return out;
}

static cJSON *target_ref(const cJSON *pod)
{
    cJSON *r = cJSON_CreateObject();
    cJSON_AddStringToObject(r, "kind", "Pod");
    cJSON_AddStringToObject(r, "namespace", kn_meta_str(pod, "namespace"));
    cJSON_AddStringToObject(r, "name", kn_meta_str(pod, "name"));
    if (kn_meta_str(pod, "uid"))
        cJSON_AddStringToObject(r, "uid", kn_meta_str(pod, "uid"));
    return r;
}

/* The pod's hostname in the Service's DNS subdomain, or NULL. */
static const char *hostname_for(const cJSON *svc, const cJSON *pod)
{
    const char *h = kn_ctl_str(pod, "spec.hostname");
    if (h && *h && same(kn_ctl_str(pod, "spec.subdomain"), kn_meta_str(svc, "name")) &&
        same(kn_meta_str(pod, "namespace"), kn_meta_str(svc, "namespace")))
        return h;
    return NULL;
}

static cJSON *slice_endpoint(const cJSON *svc, const cJSON *pod, const char *ip, const char *zone)
{
    bool serving = kn_ctl_pod_ready(pod);
    bool terminating = kn_meta_str(pod, "deletionTimestamp") != NULL;
    bool publish = cJSON_IsTrue(
        cJSON_GetObjectItem(cJSON_GetObjectItem(svc, "spec"), "publishNotReadyAddresses"));
    cJSON *e = cJSON_CreateObject();
    cJSON_AddItemToArray(cJSON_AddArrayToObject(e, "addresses"), cJSON_CreateString(ip));
    cJSON *c = cJSON_AddObjectToObject(e, "conditions");
    cJSON_AddBoolToObject(c, "ready", publish || (serving && !terminating));
    cJSON_AddBoolToObject(c, "serving", serving);
    cJSON_AddBoolToObject(c, "terminating", terminating);
    const char *host = hostname_for(svc, pod), *node = kn_ctl_str(pod, "spec.nodeName");
    if (host)
        cJSON_AddStringToObject(e, "hostname", host);
    cJSON_AddItemToObject(e, "targetRef", target_ref(pod));
    if (node && *node)
        cJSON_AddStringToObject(e, "nodeName", node);
    if (zone)
        cJSON_AddStringToObject(e, "zone", zone);
    return e;
}

/* The group of groups (array) with these ports, created when missing; its
 * last chunk with room. */
static cJSON *group_for(cJSON *groups, cJSON *ports)
{
    cJSON *g, *last = NULL;
    cJSON_ArrayForEach(g, groups)
    {
        if (kn_json_equal(cJSON_GetObjectItem(g, "ports"), ports))
            last = g;
    }
    if (last &&
        cJSON_GetArraySize(cJSON_GetObjectItem(last, "endpoints")) < KN_CTL_MAX_SLICE_ENDPOINTS) {
        cJSON_Delete(ports);
        return last;
    }
    g = cJSON_CreateObject();
    cJSON_AddItemToObject(g, "ports", ports);
    cJSON_AddArrayToObject(g, "endpoints");
    cJSON_AddItemToArray(groups, g);
    return g;
}

cJSON *kn_ctl_slice_groups(const cJSON *svc, const cJSON *const *pods, size_t n,
                           kn_ctl_zone_fn zone, void *ud)
{
    cJSON *groups = cJSON_CreateArray();
    for (size_t i = 0; i < n; i++) {
        const char *ip = pod_ipv4(pods[i]);
        if (!ip || !kn_ctl_pod_in_endpoints(pods[i], true))
            continue;
        const char *node = kn_ctl_str(pods[i], "spec.nodeName");
        const char *z = zone && node && *node ? zone(ud, node) : NULL;
        cJSON *g = group_for(groups, resolved_ports(svc, pods[i], true));
        cJSON_AddItemToArray(cJSON_GetObjectItem(g, "endpoints"),
                             slice_endpoint(svc, pods[i], ip, z));
    }
    if (cJSON_GetArraySize(groups) == 0) {
        cJSON *g = cJSON_CreateObject();
        cJSON_AddArrayToObject(g, "ports");
        cJSON_AddArrayToObject(g, "endpoints");
        cJSON_AddItemToArray(groups, g);
    }
    return groups;
}

/* ---- Endpoints ------------------------------------------------------------------------ */

static cJSON *address_of(const cJSON *svc, const cJSON *pod, const char *ip)
{
    cJSON *a = cJSON_CreateObject();
    cJSON_AddStringToObject(a, "ip", ip);
    const char *host = hostname_for(svc, pod), *node = kn_ctl_str(pod, "spec.nodeName");
    if (host)
        cJSON_AddStringToObject(a, "hostname", host);
    if (node && *node)
        cJSON_AddStringToObject(a, "nodeName", node);
    cJSON_AddItemToObject(a, "targetRef", target_ref(pod));
    return a;
}

static int address_cmp(const cJSON *a, const cJSON *b)
{
    int c = strcmp(kn_ctl_str(a, "ip"), kn_ctl_str(b, "ip"));
    if (c)
        return c;
    const char *ua = kn_ctl_str(a, "targetRef.uid"), *ub = kn_ctl_str(b, "targetRef.uid");
    return strcmp(ua ? ua : "", ub ? ub : "");
}

static int address_qcmp(const void *a, const void *b)
{
    return address_cmp(*(cJSON *const *)a, *(cJSON *const *)b);
}

/* Sorts an array of addresses by IP, then uid (cJSON's own insert is not
 * used: it loses items inserted in the middle in the cJSON this builds on). */
static void sort_addresses(cJSON *arr)
{
    size_t n = (size_t)cJSON_GetArraySize(arr), i = 0;
    if (n < 2)
        return;
    cJSON **v = xcalloc(n, sizeof(cJSON *));
    while (arr->child)
        v[i++] = cJSON_DetachItemViaPointer(arr, arr->child);
    qsort(v, n, sizeof(cJSON *), address_qcmp);
    for (i = 0; i < n; i++)
        cJSON_AddItemToArray(arr, v[i]);
    free(v);
}

static cJSON *subset_for(cJSON *subsets, cJSON *ports)
{
    cJSON *s;
    cJSON_ArrayForEach(s, subsets)
    {
        if (kn_json_equal(cJSON_GetObjectItem(s, "ports"), ports)) {
            cJSON_Delete(ports);
            return s;
        }
    }
    s = cJSON_CreateObject();
    cJSON_AddArrayToObject(s, "addresses");
    cJSON_AddArrayToObject(s, "notReadyAddresses");
    cJSON_AddItemToObject(s, "ports", ports);
    cJSON_AddItemToArray(subsets, s);
    return s;
}

cJSON *kn_ctl_endpoints_subsets(const cJSON *svc, const cJSON *const *pods, size_t n)
{
    bool publish = cJSON_IsTrue(
        cJSON_GetObjectItem(cJSON_GetObjectItem(svc, "spec"), "publishNotReadyAddresses"));
    cJSON *subsets = cJSON_CreateArray();
    for (size_t i = 0; i < n; i++) {
        const char *ip = pod_ipv4(pods[i]);
        if (!ip || !kn_ctl_pod_in_endpoints(pods[i], publish))
            continue;
        cJSON *ports = resolved_ports(svc, pods[i], false);
        if (cJSON_GetArraySize(ports) == 0 &&
            cJSON_GetArraySize(cJSON_GetObjectItem(cJSON_GetObjectItem(svc, "spec"), "ports"))) {
            cJSON_Delete(ports);
            continue;
        }
        cJSON *s = subset_for(subsets, ports);
        bool ready = publish || kn_ctl_pod_ready(pods[i]);
        cJSON_AddItemToArray(cJSON_GetObjectItem(s, ready ? "addresses" : "notReadyAddresses"),
                             address_of(svc, pods[i], ip));
    }
    cJSON *s;
    cJSON_ArrayForEach(s, subsets)
    {
        sort_addresses(cJSON_GetObjectItem(s, "addresses"));
        sort_addresses(cJSON_GetObjectItem(s, "notReadyAddresses"));
        if (cJSON_GetArraySize(cJSON_GetObjectItem(s, "notReadyAddresses")) == 0)
            cJSON_DeleteItemFromObject(s, "notReadyAddresses");
        if (cJSON_GetArraySize(cJSON_GetObjectItem(s, "addresses")) == 0)
            cJSON_DeleteItemFromObject(s, "addresses");
    }
    return subsets;
}

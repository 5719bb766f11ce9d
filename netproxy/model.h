/* model.h - the Service proxy's desired state as plain structs.
 *
 * A model holds the Services a node proxies and, joined to each, the
 * endpoints of its EndpointSlices. It is built from Kubernetes JSON objects
 * (Service, EndpointSlice, as the API server sends them) by a validating
 * builder: an object with an invalid or conflicting field (bad IP, port 0 or
 * above 65535, duplicate port, unknown protocol, a ClusterIP:port another
 * Service already uses, ...) is skipped with an error naming the object and
 * the field, and never affects the others.
 *
 *     np_builder *b = np_builder_new(on_skip, ctx);
 *     np_builder_add_service(b, svc_json, &err);     (errors also go to on_skip)
 *     np_builder_add_slice(b, slice_json, &err);
 *     np_model *m = np_builder_finish(b);            (b is consumed)
 *
 * Endpoint selection follows kube-proxy (pkg/proxy/topology.go): ready
 * endpoints; when none is ready, the serving-and-terminating ones; a Local
 * traffic policy keeps the endpoints on this node (np_select_endpoints).
 *
 * A model is immutable once built; np_model_diff tells which Services changed
 * between two models. */
#ifndef KNODE_NETPROXY_MODEL_H
#define KNODE_NETPROXY_MODEL_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/error.h"

/* Session affinity timeout when a ClientIP Service sets none (3 hours). */
#define NP_AFFINITY_DEFAULT_TIMEOUT 10800
/* Largest timeout the API server accepts (1 day). */
#define NP_AFFINITY_MAX_TIMEOUT 86400

/* An IPv4 or IPv6 address; IPv4 uses bytes[0..3]. */
typedef struct np_addr {
    int family; /* AF_INET or AF_INET6 */
    uint8_t bytes[16];
} np_addr;

/* An address prefix (loadBalancerSourceRanges, cluster CIDRs). */
typedef struct np_cidr {
    np_addr addr; /* host bits cleared */
    uint8_t prefix;
} np_cidr;

typedef enum np_proto {
    NP_PROTO_TCP = 6,
    NP_PROTO_UDP = 17,
    NP_PROTO_SCTP = 132,
} np_proto;

typedef enum np_svc_type {
    NP_SVC_CLUSTER_IP,
    NP_SVC_NODE_PORT,
    NP_SVC_LOAD_BALANCER,
    NP_SVC_EXTERNAL_NAME, /* never proxied */
} np_svc_type;

typedef enum np_policy {
    NP_POLICY_CLUSTER,
    NP_POLICY_LOCAL,
} np_policy;

/* One port of a Service. */
typedef struct np_port {
    char *name; /* "" when unnamed (a single-port Service) */
    np_proto proto;
    uint16_t port;      /* the Service port, 1..65535 */
    uint16_t node_port; /* 0: none */
} np_port;

/* One port of an endpoint, as its EndpointSlice lists it; the Service port
 * of the same name and protocol resolves to it (targetPort per endpoint). */
typedef struct np_ep_port {
    char *name;
    np_proto proto;
    uint16_t port;
} np_ep_port;

typedef struct np_endpoint {
    np_addr addr;
    bool ready, serving, terminating;
    char *node_name; /* NULL when the slice does not say */
    char *zone;      /* NULL when the slice does not say */
    size_t nports;
    np_ep_port *ports;
} np_endpoint;

typedef struct np_service {
    char *ns, *name;
    np_svc_type type;
    size_t ncluster_ips; /* 0 (headless or none), 1, or 2 (dual-stack, one per family) */
    np_addr cluster_ips[2];
    size_t nports;
    np_port *ports;
    size_t nexternal_ips;
    np_addr *external_ips;
    size_t nlb_ips; /* status.loadBalancer.ingress IPs (LoadBalancer type) */
    np_addr *lb_ips;
    size_t nsource_ranges; /* spec.loadBalancerSourceRanges */
    np_cidr *source_ranges;
    bool affinity;             /* sessionAffinity: ClientIP */
    uint32_t affinity_timeout; /* seconds, 1..86400 */
    np_policy internal_policy; /* internalTrafficPolicy */
    np_policy external_policy; /* externalTrafficPolicy */
    uint16_t health_check_node_port;
    size_t nendpoints; /* sorted by address, then node */
    np_endpoint *endpoints;
} np_service;

/* Services sorted by namespace, then name; unique. */
typedef struct np_model {
    size_t nservices;
    np_service *services;
} np_model;

/* ---- building ---- */

typedef struct np_builder np_builder;

/* Called once per object (or part of one) the builder skips; err names the
 * object and the field. May be NULL. */
typedef void (*np_skip_fn)(const kn_error *err, void *userdata);

/* A new empty builder. Never NULL. */
np_builder *np_builder_new(np_skip_fn on_skip, void *userdata);

/* Validates a Service (JSON as the API sends it) and adds it. Services with a
 * "service.kubernetes.io/service-proxy-name" label belong to another proxy and
 * are ignored (returns 0). On an invalid field the Service is skipped:
 * returns < 0 with *err (KN_EINVAL) "service ns/name: spec.ports[1].port: ...",
 * and on_skip is called with the same error. A Service added twice: the
 * second is skipped. The JSON is not retained. */
int np_builder_add_service(np_builder *b, const cJSON *svc, kn_error **err);

/* Validates an EndpointSlice and keeps its endpoints for the Service named by
 * its "kubernetes.io/service-name" label (slices without it, and FQDN
 * slices, are ignored). An invalid slice-level field (addressType, a port)
 * skips the whole slice; an invalid endpoint skips that endpoint only. Either
 * returns < 0 with *err and calls on_skip; the valid rest is kept. */
int np_builder_add_slice(np_builder *b, const cJSON *slice, kn_error **err);

/* Joins slices to Services, drops conflicting Services (a ClusterIP, external
 * or load-balancer IP with port and protocol, or a nodePort, that an earlier
 * Service in namespace/name order already uses; on_skip is called for each),
 * sorts everything and returns the model (caller frees with np_model_free).
 * Frees b. */
np_model *np_builder_finish(np_builder *b);

/* One Service built alone from its JSON (NULL: none) and its slices' (a
 * slice of another Service is ignored), validated as the builder does:
 * NULL when there is no valid Service. Caller frees with np_service_free
 * and free. Conflicts with other Services are not decided here
 * (netproxy/tracker.h). */
np_service *np_build_service(const cJSON *svc, const cJSON *const *slices, size_t nslices,
                             np_skip_fn on_skip, void *userdata);

/* Releases a model; NULL is fine. */
void np_model_free(np_model *m);

/* An empty model (caller frees). */
np_model *np_model_new_empty(void);

/* Releases what a Service holds (not s itself) and zeroes it. */
void np_service_free(np_service *s);

/* A destination a Service claims: an IP with protocol and port, or a
 * nodePort (addr.family 0). Two Services may not claim the same one. */
typedef struct np_claim {
    np_addr addr;
    uint8_t proto;
    uint16_t port;
} np_claim;

/* The destinations s claims (unsorted, may repeat); returns their number
 * and *out (caller frees). */
size_t np_service_claims(const np_service *s, np_claim **out);

/* Finds a Service by namespace and name; NULL when absent. */
const np_service *np_model_find(const np_model *m, const char *ns, const char *name);

/* ---- endpoint selection ---- */

/* One resolved destination: endpoint address and target port. */
typedef struct np_target {
    np_addr addr;
    uint16_t port;
} np_target;

/* The endpoints one Service port uses for one address family. */
typedef struct np_selection {
    np_target *cluster; /* traffic policy Cluster */
    size_t ncluster;
    np_target *local; /* traffic policy Local: endpoints on this node */
    size_t nlocal;
    bool has_any; /* some endpoint is usable anywhere: reject vs drop when empty */
} np_selection;

/* Selects the endpoints of svc's port (by name and protocol) in family, as
 * kube-proxy's CategorizeEndpoints does: cluster = ready endpoints, or, when
 * none is ready, the serving and terminating ones; local = the ready ones
 * whose nodeName is node_name, or, when none is, the local serving and
 * terminating ones. Targets are sorted and unique. Caller frees with
 * np_selection_free. node_name may be NULL (nothing is local). */
void np_select_endpoints(const np_service *svc, const np_port *port, int family,
                         const char *node_name, np_selection *out);

void np_selection_free(np_selection *sel);

/* True when svc is reachable from outside the cluster: a nodePort, an
 * external IP or a load-balancer IP. */
bool np_service_external(const np_service *svc);

/* ---- diff ---- */

enum {
    NP_CHANGE_ADDED = 1u << 0,
    NP_CHANGE_REMOVED = 1u << 1,
    NP_CHANGE_SPEC = 1u << 2,      /* anything but the endpoints */
    NP_CHANGE_ENDPOINTS = 1u << 3, /* the endpoint list */
};

typedef struct np_change {
    const char *ns, *name; /* point into the model that has the Service */
    unsigned what;         /* NP_CHANGE_* */
} np_change;

typedef struct np_diff {
    size_t nchanges; /* in namespace/name order */
    np_change *changes;
} np_diff;

/* Compares two models (either may be NULL: empty). The diff points into
 * both models, which must outlive it. Free with np_diff_free. */
void np_model_diff(const np_model *old, const np_model *new, np_diff *out);

void np_diff_free(np_diff *d);

/* ---- small helpers shared with the backends ---- */

/* Parses an IP address in Kubernetes' canonical forms (no leading zeros in
 * IPv4; IPv4-mapped IPv6 is refused). Returns 0 or -1. */
int np_addr_parse(const char *s, np_addr *out);

/* Parses "a.b.c.d/n" or "x::/n"; host bits must be zero unless lenient. */
int np_cidr_parse(const char *s, bool lenient, np_cidr *out);

/* Formats an address into buf (at least 46 bytes); returns buf. */
const char *np_addr_str(const np_addr *a, char *buf, size_t len);

/* Address length in bytes for the family: 4 or 16. */
static inline size_t np_addr_len(int family)
{
    return family == 10 /* AF_INET6 */ ? 16 : 4;
}

/* Orders addresses: IPv4 before IPv6, then by bytes. */
int np_addr_cmp(const np_addr *a, const np_addr *b);

/* True when a lies within c. */
bool np_cidr_contains(const np_cidr *c, const np_addr *a);

/* "tcp", "udp", "sctp". */
const char *np_proto_name(np_proto p);

#endif

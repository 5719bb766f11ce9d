/* model.h - the plain in-memory view of the cluster that the DNS zone is
 * built from (dns_zone_build). The informer feed fills it from Services,
 * EndpointSlices and Namespaces; tests fill it by hand. Every pointer is
 * borrowed: the model owns nothing, and the zone copies what it needs.
 *
 * The mapping from the API objects:
 *   Service.spec.type ExternalName        → DNS_SVC_EXTERNAL_NAME
 *   Service.spec.clusterIP "None"         → DNS_SVC_HEADLESS
 *   any other Service                     → DNS_SVC_CLUSTER_IP (clusterIPs)
 *   Service.spec.ports                    → ports
 *   EndpointSlice.ports (targetPort side) → endpoint_ports
 *   EndpointSlice.endpoints[].addresses   → endpoints (one per address), with
 *     .hostname and .conditions.ready / .serving
 *   Service.spec.publishNotReadyAddresses → publish_not_ready */
#ifndef KNODE_DNS_MODEL_H
#define KNODE_DNS_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum dns_svc_type {
    DNS_SVC_CLUSTER_IP = 0, /* A/AAAA for the ClusterIPs */
    DNS_SVC_HEADLESS,       /* A/AAAA for each ready endpoint */
    DNS_SVC_EXTERNAL_NAME,  /* a CNAME to external_name */
} dns_svc_type;

typedef enum dns_proto {
    DNS_PROTO_TCP = 0,
    DNS_PROTO_UDP,
    DNS_PROTO_SCTP,
} dns_proto;

typedef struct dns_model_port {
    const char *name; /* NULL or "": unnamed, so no _<port>._<proto> record */
    dns_proto protocol;
    uint16_t port;
} dns_model_port;

typedef struct dns_model_endpoint {
    const char *ip;       /* "10.244.1.5" or "fd00::5" */
    const char *hostname; /* NULL or "" when the endpoint has none */
    bool ready;           /* conditions.ready */
    bool serving;         /* conditions.serving (not used for DNS: readiness decides) */
} dns_model_endpoint;

typedef struct dns_model_service {
    const char *ns;
    const char *name;
    dns_svc_type type;
    const char *const *cluster_ips; /* ClusterIP: one per family */
    size_t ncluster_ips;
    const char *external_name; /* ExternalName: the CNAME target */
    const dns_model_port *ports;
    size_t nports;
    /* The ports the EndpointSlices list (the target ports), used for the
     * SRV records of headless Services; none means the Service's ports. */
    const dns_model_port *endpoint_ports;
    size_t nendpoint_ports;
    const dns_model_endpoint *endpoints;
    size_t nendpoints;
    bool publish_not_ready; /* every endpoint counts, ready or not */
} dns_model_service;

typedef struct dns_model {
    const dns_model_service *services;
    size_t nservices;
    /* Namespaces that exist (those holding a Service exist anyway): for
     * them <ns>.svc.<zone> and <ns>.pod.<zone> are NODATA, not NXDOMAIN. */
    const char *const *namespaces;
    size_t nnamespaces;
} dns_model;

#endif

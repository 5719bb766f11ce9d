/* objects.h - the DNS model (model.h) from Kubernetes API objects.
 *
 * A dns_objects builder takes Services, EndpointSlices (discovery.k8s.io/v1)
 * and Namespaces as the API server sends them (JSON), validates the fields
 * DNS uses and joins each Service with the endpoints of every EndpointSlice
 * labelled kubernetes.io/service-name=<service> in its namespace:
 *
 *     dns_objects *o = dns_objects_new();
 *     dns_objects_add_service(o, svc, &err);    (< 0: skipped, err says why)
 *     dns_objects_add_slice(o, slice, &err);
 *     dns_objects_add_namespace(o, ns, &err);
 *     const dns_model *m = dns_objects_finish(o);
 *     dns_zone_build(&cfg, m, &zone, &err);
 *     dns_objects_free(o);
 *
 * The builder copies the strings it keeps (into one arena), so an object
 * may be freed as soon as it was added. An invalid object is skipped whole; the
 * error names the object and the field:
 *   "service default/web: spec.ports[1].port: must be 1..65535, got 0"
 * An EndpointSlice with an invalid slice-level field (addressType, a port)
 * is skipped whole; an invalid endpoint (address, hostname) only itself,
 * the rest of the slice is kept (the call still fails, naming the first).
 * Slices without the service-name label and FQDN slices are not for DNS and
 * are ignored without error.
 *
 * Readiness follows the API: conditions.ready unset counts as ready. The
 * endpoints of all slices of a Service are merged in the order added; the
 * SRV ports of a headless Service are the union of its slices' named ports
 * (those with a port number). */
#ifndef KNODE_DNS_OBJECTS_H
#define KNODE_DNS_OBJECTS_H

#include <cjson/cJSON.h>
#include <stddef.h>

#include "dns/model.h"
#include "lib/error.h"

typedef struct dns_objects dns_objects;

/* A new empty builder (never NULL). */
dns_objects *dns_objects_new(void);

/* Adds a v1 Service. Returns 0, or < 0 with *err (KN_EINVAL) when it was
 * skipped as invalid. The same namespace/name twice: the second is skipped. */
int dns_objects_add_service(dns_objects *o, const cJSON *svc, kn_error **err);

/* Adds a discovery.k8s.io/v1 EndpointSlice (see above for partial skips). */
int dns_objects_add_slice(dns_objects *o, const cJSON *slice, kn_error **err);

/* Adds a v1 Namespace (its name makes <ns>.svc and <ns>.pod exist). */
int dns_objects_add_namespace(dns_objects *o, const cJSON *ns, kn_error **err);

/* Joins the slices to their Services and returns the model, sorted by
 * namespace and name; owned by the builder, valid until dns_objects_free.
 * Nothing may be added afterwards. */
const dns_model *dns_objects_finish(dns_objects *o);

/* Objects (and endpoints) skipped as invalid so far. */
size_t dns_objects_skipped(const dns_objects *o);

/* Frees the builder and its model. NULL is ignored. */
void dns_objects_free(dns_objects *o);

/* Delete, in place, every field the builder does not read (for an
 * informer cache that serves DNS alone: kc_informer_options.transform).
 * Adding a lean object gives the same model as adding the full one. */
void dns_objects_lean_service(cJSON *svc);
void dns_objects_lean_slice(cJSON *slice);
void dns_objects_lean_namespace(cJSON *ns);

#endif

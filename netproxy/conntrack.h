/* conntrack.h - stale UDP conntrack entries of Services, found and deleted
 * (libnetfilter_conntrack) in the calling thread's network namespace.
 *
 * A UDP "connection" is pinned to the endpoint its first packet was DNATed
 * to for as long as packets keep flowing, so when the endpoint goes away the
 * flow is black-holed (the classic case: a client's DNS queries to a
 * restarted CoreDNS). As kube-proxy does after each sync
 * (pkg/proxy/conntrack CleanStaleEntries), an entry is stale when
 *   - its original destination is a UDP frontend of a Service
 *     (ClusterIP, external IP or load-balancer IP, with the port) and its
 *     reply source is not one of that Service port's serving endpoints;
 *   - its original destination port is a UDP nodePort on a node address and
 *     its reply source is not a serving endpoint of that port;
 *   - its original destination is a UDP frontend (or nodePort) the previous
 *     model had and the new one has not (a Service deleted, or its ClusterIP
 *     changed).
 * Unlike kube-proxy, a Service port left without endpoints also loses its
 * entries: they can only lead to endpoints that are gone.
 *
 * The plan (what is stale) is plain data built from two models, so it is
 * tested without a kernel; np_ct_cleanup applies it to the kernel's table. */
#ifndef KNODE_NETPROXY_CONNTRACK_H
#define KNODE_NETPROXY_CONNTRACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/error.h"
#include "netproxy/model.h"

typedef struct np_ct_plan np_ct_plan;

/* Builds the plan for the move from old (NULL: nothing known, e.g. after a
 * restart) to new. node_ips are the addresses nodePorts answer on (copied;
 * at most NP_MAX_NODE_IPS are used). Caller frees with np_ct_plan_free. */
np_ct_plan *np_ct_plan_build(const np_model *old, const np_model *new, const np_addr *node_ips,
                             size_t nnode_ips);

void np_ct_plan_free(np_ct_plan *p);

/* True when neither model has a UDP Service port: nothing can be stale. */
bool np_ct_plan_empty(const np_ct_plan *p);

/* The fields of one conntrack entry a plan looks at. */
typedef struct np_ct_entry {
    uint8_t proto; /* IPPROTO_* */
    np_addr orig_dst;
    uint16_t orig_dport; /* host order */
    np_addr reply_src;
} np_ct_entry;

/* True when the plan calls the entry stale (rules above). */
bool np_ct_plan_stale(const np_ct_plan *p, const np_ct_entry *e);

/* Dumps the conntrack table (both families) and deletes every entry the plan
 * calls stale; entries that vanished meanwhile are not errors. *deleted (may
 * be NULL) counts the deletions. Errors: KN_EIO. */
int np_ct_cleanup(const np_ct_plan *p, size_t *deleted, kn_error **err);

#endif

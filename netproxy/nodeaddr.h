/* nodeaddr.h - the node addresses NodePorts answer on (--nodeport-addresses).
 *
 * With CIDRs given, every address of the node (any interface) within one of
 * them; without, the addresses of the interface(s) the default routes (IPv4
 * and IPv6, main table) leave through. Loopback addresses are never used
 * (nftables cannot DNAT traffic to 127.0.0.1 sensibly, as kube-proxy's
 * nftables mode says), nor IPv6 link-local ones. Addresses are read over
 * rtnetlink in the calling thread's network namespace. */
#ifndef KNODE_NETPROXY_NODEADDR_H
#define KNODE_NETPROXY_NODEADDR_H

#include <stddef.h>

#include "lib/error.h"
#include "netproxy/model.h"

/* One address of one interface. */
typedef struct np_ifaddr {
    np_addr addr;
    int ifindex;
} np_ifaddr;

/* Parses --nodeport-addresses: comma-separated CIDRs (host bits allowed, as
 * kube-proxy takes "10.0.0.1/24"); "" or "primary" mean the default (no
 * CIDRs: *n = 0). Returns 0, or < 0 with *err (KN_EINVAL) naming the bad one. */
int np_nodeaddr_parse_cidrs(const char *s, np_cidr *out, size_t max, size_t *n, kn_error **err);

/* Every address of every interface (caller frees *out). */
int np_nodeaddr_list(np_ifaddr **out, size_t *n, kn_error **err);

/* The interface indexes of the default routes in the main table (up to max,
 * unique). */
int np_nodeaddr_default_ifs(int *out, size_t max, size_t *n, kn_error **err);

/* The selection rule above over given inputs (no system calls): fills out
 * (up to max, sorted, unique) and returns the count. */
size_t np_nodeaddr_select(const np_ifaddr *all, size_t nall, const np_cidr *cidrs, size_t ncidrs,
                          const int *default_ifs, size_t nifs, np_addr *out, size_t max);

/* np_nodeaddr_list + np_nodeaddr_default_ifs + np_nodeaddr_select. */
int np_nodeaddr_collect(const np_cidr *cidrs, size_t ncidrs, np_addr *out, size_t max, size_t *nout,
                        kn_error **err);

#endif

/* ipvs.h - the IPVS backend (`--proxy-mode ipvs`, kube-proxy's ipvs mode):
 * the same model (netproxy/model.h) programmed into the kernel's IPVS over
 * generic netlink (netproxy/ipvs-msg.h), with
 *   - one virtual service per ClusterIP, externalIP and load-balancer IP
 *     port, and per NodePort on every NodePort address, scheduler "rr" (or
 *     --ipvs-scheduler), sessionAffinity ClientIP as the persistent flag
 *     with the affinity timeout and a host netmask; destinations forwarded
 *     by masquerade (NAT) with weight 1;
 *   - the dummy interface kube-ipvs0 (left down, as kube-proxy does) holding
 *     every ClusterIP, externalIP and load-balancer IP as /32 or /128, so
 *     the kernel takes the packets in and IPVS sees them (LOCAL_IN);
 *   - nftables only for what IPVS does not do: the table `ip/ip6
 *     knode-ipvs` marks for masquerade (ClusterIP traffic from outside the
 *     cluster CIDR, or every ClusterIP packet with --masquerade-all, or with
 *     the ClusterIP as source when no cluster CIDR is known; NodePorts,
 *     externalIPs and load-balancer IPs with externalTrafficPolicy Cluster),
 *     masquerades hairpin traffic (an endpoint reaching itself), drops
 *     load-balancer traffic outside loadBalancerSourceRanges, and rejects new
 *     connections to a kube-ipvs0 address on a port that is no Service (as
 *     kube-proxy's KUBE-IPVS-FILTER).
 * A Service without endpoints keeps its virtual service with no destination:
 * IPVS itself answers ICMP port unreachable (kube-proxy ipvs mode's reject).
 *
 * A sync computes the wanted state (np_ipvs_plan), reads the kernel's IPVS
 * table (a GET dump) on full syncs, or starts from what this handle applied
 * last, and sends only the difference (np_ipvs_diff), then reconciles the
 * addresses of kube-ipvs0 and replaces the knode-ipvs tables when their text
 * changed (one nftables transaction). IPVS has no transactions: a sync that
 * fails half-way leaves part of the change applied and the next sync (a
 * full one) reconciles from a fresh dump.
 *
 * The proxy owns the IPVS table of its network namespace, as kube-proxy
 * does: virtual services it does not want are deleted (firewall-mark
 * services excepted). */
#ifndef KNODE_NETPROXY_IPVS_H
#define KNODE_NETPROXY_IPVS_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/error.h"
#include "netproxy/ipvs-msg.h"
#include "netproxy/model.h"
#include "netproxy/nft.h"
#include "netproxy/ruleset.h"

#define NP_IPVS_DUMMY_IF "kube-ipvs0"
#define NP_IPVS_TABLE "knode-ipvs"
#define NP_IPVS_DEFAULT_SCHED "rr"

/* ---- the wanted state (pure) ---- */

/* A virtual service with its destinations (sorted, unique). */
typedef struct np_ipvs_vs {
    np_ipvs_svc svc;
    size_t ndests;
    np_ipvs_dest *dests;
} np_ipvs_vs;

/* Virtual services sorted by key (np_ipvs_svc_cmp), unique. */
typedef struct np_ipvs_table {
    size_t n, cap;
    np_ipvs_vs *v;
} np_ipvs_table;

/* A list of service keys (af, protocol, addr, port), sorted and unique. */
typedef struct np_ipvs_keys {
    size_t n, cap;
    np_ipvs_svc *v;
} np_ipvs_keys;

/* loadBalancerSourceRanges: a key and one allowed source prefix. */
typedef struct np_ipvs_fw {
    np_ipvs_svc key;
    np_cidr src;
} np_ipvs_fw;

typedef struct np_ipvs_plan {
    np_ipvs_table table;
    size_t naddrs, capaddrs;
    np_addr *addrs;          /* for kube-ipvs0, sorted, unique */
    np_ipvs_keys cluster;    /* ClusterIP . proto . port */
    np_ipvs_keys bound;      /* every key on a kube-ipvs0 address */
    np_ipvs_keys masq;       /* always masqueraded (Cluster policy, external) */
    np_ipvs_keys fw;         /* load-balancer keys with source ranges */
    size_t nfw_allow, capfw; /* their allowed ranges */
    np_ipvs_fw *fw_allow;
    size_t nhairpin, caphairpin;
    np_addr *hairpin; /* endpoint addresses, sorted, unique */
} np_ipvs_plan;

/* Computes what the model asks for in the families set (ipv4, ipv6) on the
 * node cfg describes, with scheduler sched (NULL: "rr"). Never fails.
 * Free with np_ipvs_plan_free. */
void np_ipvs_plan_build(const np_model *m, const np_config *cfg, bool ipv4, bool ipv6,
                        const char *sched, np_ipvs_plan *out);

void np_ipvs_plan_free(np_ipvs_plan *p);

void np_ipvs_table_free(np_ipvs_table *t);

/* Deep copy of a table (dst is overwritten). */
void np_ipvs_table_copy(np_ipvs_table *dst, const np_ipvs_table *src);

/* Finds a virtual service by key; NULL when absent. */
const np_ipvs_vs *np_ipvs_table_find(const np_ipvs_table *t, const np_ipvs_svc *key);

/* The requests that turn cur into want, in order (services deleted, then
 * each kept or new service with its destination changes). Firewall-mark
 * services of cur are left alone. */
typedef struct np_ipvs_ops {
    size_t n, cap;
    np_ipvs_msg *v;
} np_ipvs_ops;

void np_ipvs_diff(const np_ipvs_table *cur, const np_ipvs_table *want, np_ipvs_ops *out);

void np_ipvs_ops_free(np_ipvs_ops *ops);

/* The knode-ipvs table of family as `nft -f` text that replaces any
 * existing one in one transaction ("add table", "delete table", then the
 * table). Caller frees. */
char *np_ipvs_nft_render(const np_ipvs_plan *p, const np_config *cfg, int family);

/* ---- the kernel side ---- */

typedef struct np_ipvs np_ipvs;

/* Opens the IPVS generic netlink family, an rtnetlink socket and an
 * nftables context in the calling thread's network namespace, and sets
 * the namespace's IPVS sysctls kube-proxy sets (net.ipv4.vs.conntrack=1 so
 * that masquerade works after IPVS's NAT, expire_nodest_conn=1,
 * expire_quiescent_template=1). sched NULL: "rr". Errors: KN_ENOTSUP when
 * the kernel has no IPVS (the message says so), KN_EIO otherwise. */
int np_ipvs_open(const char *sched, np_ipvs **out, kn_error **err);

void np_ipvs_close(np_ipvs *v);

/* Makes IPVS, kube-ipvs0 and the knode-ipvs tables match model m on the
 * node cfg describes (see the top of this file). full: read the kernel's
 * state first. st (may be NULL) counts the IPVS requests in messages and
 * the changed virtual services/destinations in the element counters. */
int np_ipvs_sync(np_ipvs *v, const np_model *m, const np_config *cfg, bool ipv4, bool ipv6,
                 bool full, np_sync_stats *st, kn_error **err);

/* Reads the kernel's IPVS table (virtual services and their
 * destinations). */
int np_ipvs_dump(np_ipvs *v, np_ipvs_table *out, kn_error **err);

/* Applies ops, one acknowledged request each; stops at the first failure
 * (KN_EIO naming the request and the kernel's errno). */
int np_ipvs_apply(np_ipvs *v, const np_ipvs_ops *ops, kn_error **err);

/* Whether the kernel of the calling thread's namespace has the IPVS
 * generic netlink family: 1 yes, 0 no (reason filled with why), < 0 when
 * netlink itself failed. */
int np_ipvs_available(char *reason, size_t len);

/* --cleanup: deletes every virtual service (fwmark ones excepted), the
 * kube-ipvs0 interface and the knode-ipvs tables, whatever exists. */
int np_ipvs_cleanup(kn_error **err);

/* ---- kube-ipvs0 (rtnetlink) ---- */

/* Ensures link name exists (creating a dummy link) and holds exactly
 * addrs (/32 or /128) of the families set; other families' addresses stay.
 * added/removed (may be NULL) count the changes. */
int np_ipvs_link_sync(const char *name, const np_addr *addrs, size_t naddrs, bool ipv4, bool ipv6,
                      size_t *added, size_t *removed, kn_error **err);

/* Deletes link name when it exists. */
int np_ipvs_link_delete(const char *name, kn_error **err);

/* ---- the knode-ipvs tables (libnftables) ---- */

/* Runs nft text in one transaction in the calling thread's namespace. */
int np_ipvs_nft_run(const char *text, kn_error **err);

#endif

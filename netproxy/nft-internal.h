/* nft-internal.h - shared between the netlink backend's files (nft.c: socket,
 * batches and sync; nft-expr.c: sets and rule expressions; nft-dump.c:
 * reading the kernel's tables back). */
#ifndef KNODE_NETPROXY_NFT_INTERNAL_H
#define KNODE_NETPROXY_NFT_INTERNAL_H

#include <libmnl/libmnl.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/error.h"
#include "netproxy/nft.h"
#include "netproxy/ruleset.h"

struct np_nft {
    struct mnl_socket *nl;
    uint32_t portid;
    uint32_t seq;
    np_ruleset *applied[2]; /* [0] IPv4, [1] IPv6; NULL: unknown, dump first */
    np_nft_fault fault;
    uint32_t set_id;
};

/* Netlink family number (NFPROTO_IPV4/6) for AF_INET/AF_INET6. */
uint16_t np__nfproto(int family);

/* Builds the libnftnl object of set s (attributes, typeof user data).
 * Caller frees with nftnl_set_free. */
struct nftnl_set *np__set_build(const np_set *s, int family, uint32_t id);

/* The user data nft would store for s (the typeof description); returns the
 * length written to buf (at most len). */
size_t np__set_udata(const np_set *s, int family, uint8_t *buf, size_t len);

/* Appends the expressions of rule to r, as nft would for the same text. */
void np__rule_exprs(struct nftnl_rule *r, const np_rule *rule, int family);

/* Reads table `family knode-proxy` into a ruleset: sets (definitions decoded
 * back, elements) and chains with their rules' comments only. Returns 1
 * with *out, 0 when the table does not exist, < 0 on error. */
int np__dump(np_nft *n, int family, np_ruleset **out, kn_error **err);

/* Sends one request (dump or get) and feeds every reply to cb; returns 0,
 * -ENOENT style negative errno from the kernel as KN errors in *err, with
 * errno_out set to the kernel's errno (0 when the request succeeded). */
int np__talk(np_nft *n, struct nlmsghdr *req, mnl_cb_t cb, void *data, int *errno_out,
             kn_error **err);

#endif

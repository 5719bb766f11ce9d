/* nft.h - the nftables backend: keeps the kernel's `ip knode-proxy` and
 * `ip6 knode-proxy` tables equal to rulesets (netproxy/ruleset.h), over
 * netfilter netlink (libnftnl + libmnl; no text parsing on this path).
 *
 * Every sync is one nftables transaction: the kernel applies the whole batch
 * or none of it, so on failure the previous ruleset stays in force.
 *
 *   full sync:    reads the tables back from the kernel and sends what
 *                 differs (so an existing table left by an earlier run is
 *                 reconciled in place, never flushed: connections keep
 *                 flowing across restarts);
 *   partial sync: sends only the difference to the last ruleset this handle
 *                 applied (changed set elements, the chains whose rules
 *                 changed); falls back to a full sync when there is none.
 *
 * Rules are recognized by their comment, a hash of their text: a chain whose
 * comments differ from the wanted ones is emptied and refilled in the same
 * transaction. Set elements are compared one by one; dynamic sets (the
 * clients of session affinity) keep their runtime contents.
 *
 * Only the two knode-proxy tables are ever read or written. */
#ifndef KNODE_NETPROXY_NFT_H
#define KNODE_NETPROXY_NFT_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/error.h"
#include "netproxy/ruleset.h"

typedef struct np_nft np_nft;

/* Opens a netfilter netlink socket in the calling thread's network
 * namespace (the socket stays bound to it). Caller closes with
 * np_nft_close. Errors: KN_EIO (no permission, no nf_tables). */
int np_nft_open(np_nft **out, kn_error **err);

/* Closes the socket and frees the remembered rulesets; NULL is fine. */
void np_nft_close(np_nft *n);

/* What one sync sent. */
typedef struct np_sync_stats {
    bool full;       /* the kernel's tables were read first */
    size_t messages; /* netlink messages in the batch */
    size_t bytes;    /* batch size */
    size_t elems_added, elems_deleted;
    size_t sets_added, sets_deleted;
    size_t chains_added, chains_deleted;
    size_t rules_added, chains_flushed;
} np_sync_stats;

/* Makes the tables equal to v4 (family AF_INET) and v6 (AF_INET6) in one
 * transaction. Either may be NULL: that family's table is left alone.
 * Takes ownership of both rulesets in every case. With full, or when this
 * handle has not applied a ruleset yet (or the last sync failed), the
 * tables are read first and only the difference is sent. st may be NULL.
 * On failure nothing changed in the kernel; returns < 0 with *err naming
 * the failed request (KN_EIO with the kernel's errno), and the next sync
 * is a full one. */
int np_nft_sync(np_nft *n, np_ruleset *v4, np_ruleset *v6, bool full, np_sync_stats *st,
                kn_error **err);

/* Sends a difference computed elsewhere (netproxy/ruleset-inc.h) in one
 * transaction: for each family i with from[i] and to[i], what from[i] has
 * and to[i] lacks is deleted, what to[i] has is added or replaced (sets,
 * elements, chains with their rules); nothing else is read or sent. The
 * table must exist. Neither ruleset is taken. Afterwards the handle no
 * longer knows the whole ruleset: the next np_nft_sync reads the kernel's
 * first. On failure nothing changed in the kernel. */
int np_nft_sync_delta(np_nft *n, np_ruleset *const from[2], np_ruleset *const to[2],
                      np_sync_stats *st, kn_error **err);

/* Reads table `<family> knode-proxy` back (sets with their elements, chains
 * with their rules' comments, rules' statements left empty). Returns 1 and
 * *out (caller frees), 0 when the table does not exist, < 0 on error. */
int np_nft_dump(np_nft *n, int family, np_ruleset **out, kn_error **err);

/* Deletes both tables if they exist, in one transaction (for a proxy that
 * is told to clean up). */
int np_nft_delete_tables(np_nft *n, kn_error **err);

/* Test hook: makes the next sync's batch fail inside the kernel after all
 * its real changes (an element of the wrong length is appended), to show
 * that a failed transaction leaves the previous ruleset intact. */
typedef enum np_nft_fault {
    NP_NFT_FAULT_NONE,
    NP_NFT_FAULT_BAD_ELEMENT,
} np_nft_fault;

void np_nft_set_fault(np_nft *n, np_nft_fault fault);

#endif

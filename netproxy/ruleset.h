/* ruleset.h - the nftables ruleset a model asks for, as data: sets with
 * their elements (already in the kernel's byte layout) and a few chains of
 * rules built from a small fixed vocabulary of statements. One ruleset per
 * address family (table `ip knode-proxy` or `ip6 knode-proxy`).
 *
 * Layout (see ../shared/NFTABLES.md for why): a fixed number of chains, and
 * per-Service data only in set and map elements, so that neither a packet's
 * cost nor a change's cost grows with the number of Services:
 *
 *   ep-N   map  daddr . l4proto . dport . (numgen random mod N) : addr . port
 *              one per endpoint count N in use; one rule per map:
 *              dnat to daddr . l4proto . dport . numgen random mod N map @ep-N
 *   sc-N   the same for externalTrafficPolicy: Local destinations reached
 *          from a pod or from the node itself (they use every endpoint)
 *   cluster-ips, cluster-cidrs, masq-keys, ext-local-keys, hairpin:
 *          masquerade decisions (mark, then masquerade in postrouting)
 *   noep-reject / noep-drop: destinations without endpoints (filter hooks)
 *   fw-keys, fw-allow: loadBalancerSourceRanges
 *   aff-dispatch: verdict map to a per-Service-port chain, only for the
 *          Services with sessionAffinity ClientIP (per-endpoint dynamic
 *          sets of client addresses with the affinity timeout)
 *
 * The same structure renders to `nft -f` text (np_ruleset_render) and to
 * netlink batches (netproxy/nft.h). */
#ifndef KNODE_NETPROXY_RULESET_H
#define KNODE_NETPROXY_RULESET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "netproxy/model.h"

#define NP_TABLE_NAME "knode-proxy"
#define NP_MAX_NODE_IPS 16
#define NP_MAX_CLUSTER_CIDRS 8
#define NP_DEFAULT_MASQ_MARK 0x4000u
/* Room for client addresses in one affinity set. */
#define NP_AFFINITY_SET_SIZE 65535u

/* What the proxy needs to know about its node. */
typedef struct np_config {
    const char *node_name; /* for Local traffic policies; NULL: none local */
    size_t nnode_ips;      /* NodePort addresses (never loopback) */
    np_addr node_ips[NP_MAX_NODE_IPS];
    size_t ncluster_cidrs; /* the pod network: traffic from outside it to a
                              ClusterIP is masqueraded */
    np_cidr cluster_cidrs[NP_MAX_CLUSTER_CIDRS];
    bool masquerade_all; /* --masquerade-all */
    uint32_t masq_mark;  /* packet mark bit for "masquerade me" */
} np_config;

/* Defaults: nothing local, no node IPs, mark 0x4000. */
void np_config_init(np_config *c);

/* ---- the ruleset as data ---- */

/* What a set's keys are (the typeof expression). */
typedef enum np_key_kind {
    NP_KEY_ADDR,      /* one address (type ipv4_addr / ipv6_addr) */
    NP_KEY_SVC,       /* daddr . l4proto . dport */
    NP_KEY_SVC_IDX,   /* daddr . l4proto . dport . numgen random mod N */
    NP_KEY_SVC_SADDR, /* daddr . l4proto . dport . saddr (interval on saddr) */
    NP_KEY_PAIR,      /* saddr . daddr */
} np_key_kind;

typedef enum np_data_kind {
    NP_DATA_NONE,      /* a plain set */
    NP_DATA_ADDR_PORT, /* map to addr . port (DNAT target) */
    NP_DATA_VERDICT,   /* verdict map (goto chain) */
} np_data_kind;

enum {
    NP_SET_INTERVAL = 1u << 0, /* elements are ranges */
    NP_SET_DYNAMIC = 1u << 1,  /* filled by the packet path, with a timeout */
};

#define NP_KEY_MAX 40
#define NP_DATA_MAX 20
#define NP_NAME_MAX 64

/* One element. Keys and data are in the kernel's register layout: each
 * field padded to 4 bytes, addresses and ports big-endian, l4proto one
 * byte, the numgen index a host-order u32. Interval sets carry the range
 * [key, key_end]. */
typedef struct np_elem {
    uint8_t key[NP_KEY_MAX];
    uint8_t key_end[NP_KEY_MAX]; /* interval sets only */
    uint8_t data[NP_DATA_MAX];   /* NP_DATA_ADDR_PORT */
    char *chain;                 /* NP_DATA_VERDICT: goto target (owned) */
} np_elem;

typedef struct np_set {
    char name[NP_NAME_MAX];
    np_key_kind key;
    uint32_t mod; /* NP_KEY_SVC_IDX: N */
    np_data_kind data;
    uint32_t flags;   /* NP_SET_* */
    uint32_t timeout; /* seconds, NP_SET_DYNAMIC */
    uint32_t size;    /* 0: unbounded */
    size_t nelems, cap;
    np_elem *elems; /* sorted by key (then key_end), unique */
} np_set;

/* The statement vocabulary of rules. */
typedef enum np_op_kind {
    NP_OP_CT_STATE_NEW,    /* ct state new */
    NP_OP_CT_STATUS_DNAT,  /* ct status dnat */
    NP_OP_DADDR_IN,        /* ip daddr [!=] @set */
    NP_OP_SADDR_IN,        /* ip saddr [!=] @set */
    NP_OP_SVC_IN,          /* ip daddr . meta l4proto . th dport @set */
    NP_OP_SVC_SADDR_IN,    /* ip daddr . meta l4proto . th dport . ip saddr [!=] @set */
    NP_OP_PAIR_IN,         /* ip saddr . ip daddr @set */
    NP_OP_L4PROTO,         /* meta l4proto <arg> */
    NP_OP_FIB_SADDR_LOCAL, /* fib saddr type local */
    NP_OP_MARK_TEST,       /* meta mark & arg == arg */
    NP_OP_MARK_OR,         /* meta mark set meta mark | arg */
    NP_OP_MARK_XOR,        /* meta mark set meta mark ^ arg */
    NP_OP_NUMGEN_ZERO,     /* numgen random mod arg == 0 */
    NP_OP_UPDATE_SADDR,    /* update @set { ip saddr } */
    NP_OP_DNAT_TO,         /* dnat ip to target */
    NP_OP_DNAT_MAP,        /* dnat ip to daddr . l4proto . dport . numgen random mod arg map @set */
    NP_OP_SVC_VMAP,        /* ip daddr . meta l4proto . th dport vmap @set */
    NP_OP_JUMP,            /* jump name */
    NP_OP_GOTO,            /* goto name */
    NP_OP_MASQ,            /* masquerade fully-random */
    NP_OP_REJECT,          /* reject (ICMP port unreachable) */
    NP_OP_REJECT_TCP,      /* reject with tcp reset */
    NP_OP_DROP,            /* drop */
} np_op_kind;

typedef struct np_op {
    np_op_kind kind;
    bool neg;
    uint32_t arg;
    char name[NP_NAME_MAX]; /* set or chain */
    np_target target;       /* NP_OP_DNAT_TO */
} np_op;

#define NP_RULE_MAX_OPS 8

typedef struct np_rule {
    size_t nops;
    np_op ops[NP_RULE_MAX_OPS];
    char comment[20]; /* hash of the rule's text: how a sync recognizes it */
} np_rule;

typedef enum np_hook {
    NP_HOOK_NONE, /* a regular chain */
    NP_HOOK_PREROUTING,
    NP_HOOK_INPUT,
    NP_HOOK_FORWARD,
    NP_HOOK_OUTPUT,
    NP_HOOK_POSTROUTING,
} np_hook;

typedef struct np_chain {
    char name[NP_NAME_MAX];
    np_hook hook;
    bool nat;     /* type nat (else filter) */
    int priority; /* base chains */
    size_t nrules, cap;
    np_rule *rules;
} np_chain;

typedef struct np_ruleset {
    int family; /* AF_INET or AF_INET6 */
    size_t nsets, capsets;
    np_set *sets; /* sorted by name */
    size_t nchains, capchains;
    np_chain *chains; /* sorted by name */
} np_ruleset;

/* Builds the ruleset of family (AF_INET or AF_INET6) for model m (NULL:
 * empty) on the node cfg describes. Never fails: the model is valid by
 * construction. Caller frees with np_ruleset_free. */
np_ruleset *np_ruleset_build(const np_model *m, const np_config *cfg, int family);

void np_ruleset_free(np_ruleset *rs);

/* The two halves np_ruleset_build puts together, for the incremental state
 * (netproxy/ruleset-inc.h): what Service s alone contributes (the fixed
 * sets with only s's elements, the ep-N and sc-N maps it uses, its session
 * affinity chains and sets; no other chain), and the base that depends on
 * the Services only through which ep-N and sc-N maps exist (ep_used[N] for
 * N < nep, sc_used likewise): fixed sets with the cluster CIDRs, those maps
 * empty, and the hook chains. The union of the base and every Service's
 * part, duplicates resolved as np_set_sort does, is np_ruleset_build's
 * result. Caller frees. */
np_ruleset *np_ruleset_build_service(const np_service *s, const np_config *cfg, int family);
np_ruleset *np_ruleset_build_base(const np_config *cfg, int family, const bool *ep_used, size_t nep,
                                  const bool *sc_used, size_t nsc);

/* Renders the ruleset as `nft -f` input: "table ip knode-proxy { ... }"
 * (a fresh table: load it where the table does not exist). Caller frees. */
char *np_ruleset_render(const np_ruleset *rs);

/* Renders one rule (without its comment) into buf; used for the comment
 * hash and for messages. Returns buf. */
const char *np_rule_render(const np_rule *r, int family, char *buf, size_t len);

/* Appends a copy of set def without its elements (the set is returned to
 * be filled), or a copy of chain c with its rules. The ruleset is unsorted
 * until np_ruleset_sort (sets by name with their elements, chains by
 * name). */
np_set *np_ruleset_add_set(np_ruleset *rs, const np_set *def);
void np_ruleset_add_chain(np_ruleset *rs, const np_chain *c);
void np_ruleset_sort(np_ruleset *rs);

/* Looks a set or chain up by name; NULL when absent. */
const np_set *np_ruleset_find_set(const np_ruleset *rs, const char *name);
const np_chain *np_ruleset_find_chain(const np_ruleset *rs, const char *name);

/* ---- element layout helpers (shared with the netlink backend) ---- */

/* Key length in bytes for a set's key kind in family. */
size_t np_key_len(np_key_kind k, int family);

/* Data length in bytes (0 for plain sets; verdict maps excluded). */
size_t np_data_len(np_data_kind d, int family);

/* Appends an element (a copy; e->chain is duplicated). The set is unsorted
 * until np_set_sort. Returns the stored element. */
np_elem *np_set_add(np_set *s, const np_elem *e);

/* Orders two elements with the same key by data, then goto target. */
int np_elem_data_cmp(const np_elem *a, const np_elem *b);

/* Sorts the elements and drops duplicates of a key (the one with the
 * smallest data, np_elem_data_cmp, stays). */
void np_set_sort(np_set *s, int family);

/* Binary search for an element with e's key (and key_end) in a sorted set. */
const np_elem *np_set_find(const np_set *s, const np_elem *e, int family);

/* Orders two elements of set s (by key, then key_end for intervals). */
int np_elem_cmp(const np_set *s, const np_elem *a, const np_elem *b, int family);

/* True when two set definitions are the same (everything but elements). */
bool np_set_same_def(const np_set *a, const np_set *b);

/* True when two elements are equal, data and goto target included. */
bool np_elem_equal(const np_set *s, const np_elem *a, const np_elem *b, int family);

/* Field sizes of a key kind: fills sizes[] (bytes before padding) and
 * returns the number of fields. */
size_t np_key_fields(np_key_kind k, int family, uint8_t sizes[5]);

#endif

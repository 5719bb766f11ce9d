/* ruleset-build.c - from a model to the ruleset of one address family (the
 * layout is described in ruleset.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "lib/xalloc.h"
#include "netproxy/ruleset.h"

/* The sets every ruleset has, by index into ctx.fixed. */
enum {
    S_CLUSTER_IPS,
    S_CLUSTER_CIDRS,
    S_MASQ_KEYS,
    S_EXT_LOCAL_KEYS,
    S_NOEP_REJECT,
    S_NOEP_DROP,
    S_FW_KEYS,
    S_FW_ALLOW,
    S_HAIRPIN,
    S_AFF_DISPATCH,
    S_NFIXED
};

static const struct {
    const char *name;
    np_key_kind key;
    np_data_kind data;
    uint32_t flags;
} fixed_sets[S_NFIXED] = {
    [S_CLUSTER_IPS] = {"cluster-ips", NP_KEY_ADDR, NP_DATA_NONE, 0},
    [S_CLUSTER_CIDRS] = {"cluster-cidrs", NP_KEY_ADDR, NP_DATA_NONE, NP_SET_INTERVAL},
    [S_MASQ_KEYS] = {"masq-keys", NP_KEY_SVC, NP_DATA_NONE, 0},
    [S_EXT_LOCAL_KEYS] = {"ext-local-keys", NP_KEY_SVC, NP_DATA_NONE, 0},
    [S_NOEP_REJECT] = {"noep-reject", NP_KEY_SVC, NP_DATA_NONE, 0},
    [S_NOEP_DROP] = {"noep-drop", NP_KEY_SVC, NP_DATA_NONE, 0},
    [S_FW_KEYS] = {"fw-keys", NP_KEY_SVC, NP_DATA_NONE, 0},
    [S_FW_ALLOW] = {"fw-allow", NP_KEY_SVC_SADDR, NP_DATA_NONE, NP_SET_INTERVAL},
    [S_HAIRPIN] = {"hairpin", NP_KEY_PAIR, NP_DATA_NONE, 0},
    [S_AFF_DISPATCH] = {"aff-dispatch", NP_KEY_SVC, NP_DATA_VERDICT, 0},
};

/* Per endpoint count N: the index of map ep-N (or sc-N) in rs->sets, or -1. */
typedef struct nmap {
    size_t n;
    long *idx;
} nmap;

typedef struct ctx {
    np_ruleset *rs;
    const np_config *cfg;
    int family;
    size_t fixed[S_NFIXED];
    nmap ep, sc;
    bool has_cidrs; /* a cluster CIDR of this family is configured */
} ctx;

/* One Service port being built, with its selected endpoints. */
typedef struct port_ctx {
    const np_service *svc;
    const np_port *port;
    np_selection sel;
} port_ctx;

enum variant { V_CLUSTER = 'c', V_LOCAL = 'l', V_EXTERNAL_LOCAL = 'x' };

static uint64_t fnv64(const void *p, size_t n, uint64_t h)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

#define FNV_INIT 0xcbf29ce484222325ULL

/* ---- sets and chains ---- */

static size_t add_set(ctx *c, const char *name, np_key_kind key, np_data_kind data, uint32_t flags)
{
    np_ruleset *rs = c->rs;
    if (rs->nsets == rs->capsets) {
        rs->capsets = rs->capsets ? rs->capsets * 2 : 32;
        rs->sets = xreallocarray(rs->sets, rs->capsets, sizeof(*rs->sets));
    }
    np_set *s = &rs->sets[rs->nsets];
    memset(s, 0, sizeof(*s));
    snprintf(s->name, sizeof(s->name), "%s", name);
    s->key = key;
    s->data = data;
    s->flags = flags;
    return rs->nsets++;
}

static np_set *set_at(ctx *c, size_t idx)
{
    return &c->rs->sets[idx];
}

/* The ep-N or sc-N map for N endpoints, created on first use. */
static np_set *count_map(ctx *c, nmap *m, const char *prefix, size_t n)
{
    if (n >= m->n) {
        size_t nn = n + 16;
        m->idx = xreallocarray(m->idx, nn, sizeof(*m->idx));
        for (size_t i = m->n; i < nn; i++)
            m->idx[i] = -1;
        m->n = nn;
    }
    if (m->idx[n] < 0) {
        char name[NP_NAME_MAX];
        snprintf(name, sizeof(name), "%s-%zu", prefix, n);
        m->idx[n] = (long)add_set(c, name, NP_KEY_SVC_IDX, NP_DATA_ADDR_PORT, 0);
        set_at(c, (size_t)m->idx[n])->mod = (uint32_t)n;
    }
    return set_at(c, (size_t)m->idx[n]);
}

static np_chain *add_chain(ctx *c, const char *name, np_hook hook, bool nat, int prio)
{
    np_ruleset *rs = c->rs;
    if (rs->nchains == rs->capchains) {
        rs->capchains = rs->capchains ? rs->capchains * 2 : 16;
        rs->chains = xreallocarray(rs->chains, rs->capchains, sizeof(*rs->chains));
    }
    np_chain *ch = &rs->chains[rs->nchains++];
    memset(ch, 0, sizeof(*ch));
    snprintf(ch->name, sizeof(ch->name), "%s", name);
    ch->hook = hook;
    ch->nat = nat;
    ch->priority = prio;
    return ch;
}

static np_chain *find_chain(ctx *c, const char *name)
{
    for (size_t i = 0; i < c->rs->nchains; i++) {
        if (strcmp(c->rs->chains[i].name, name) == 0)
            return &c->rs->chains[i];
    }
    return NULL;
}

/* ---- rules ---- */

static np_op op(np_op_kind kind, const char *name, uint32_t arg, bool neg)
{
    np_op o;
    memset(&o, 0, sizeof(o));
    o.kind = kind;
    o.arg = arg;
    o.neg = neg;
    if (name)
        snprintf(o.name, sizeof(o.name), "%s", name);
    return o;
}

static np_op op_dnat(const np_target *t)
{
    np_op o = op(NP_OP_DNAT_TO, NULL, 0, false);
    o.target = *t;
    return o;
}

/* Appends a rule of the given ops to ch. */
static void add_rule(ctx *c, np_chain *ch, size_t nops, const np_op *ops)
{
    if (ch->nrules == ch->cap) {
        ch->cap = ch->cap ? ch->cap * 2 : 8;
        ch->rules = xreallocarray(ch->rules, ch->cap, sizeof(*ch->rules));
    }
    np_rule *r = &ch->rules[ch->nrules++];
    memset(r, 0, sizeof(*r));
    r->nops = nops;
    memcpy(r->ops, ops, nops * sizeof(*ops));
    char text[1024];
    np_rule_render(r, c->family, text, sizeof(text));
    snprintf(r->comment, sizeof(r->comment), "%016llx",
             (unsigned long long)fnv64(text, strlen(text), FNV_INIT));
}

#define RULE(c, ch, ...)                                                                           \
    do {                                                                                           \
        const np_op ops_[] = {__VA_ARGS__};                                                        \
        add_rule(c, ch, sizeof(ops_) / sizeof(ops_[0]), ops_);                                     \
    } while (0)

/* ---- keys ---- */

static size_t put_addr(uint8_t *p, const np_addr *a)
{
    size_t n = np_addr_len(a->family);
    memcpy(p, a->bytes, n);
    return n;
}

static void put_port(uint8_t *p, uint16_t port)
{
    p[0] = (uint8_t)(port >> 8);
    p[1] = (uint8_t)port;
}

/* daddr . l4proto . dport at the start of key; returns its length. */
static size_t svc_key(uint8_t *key, const np_addr *a, np_proto proto, uint16_t port)
{
    size_t off = put_addr(key, a);
    key[off] = (uint8_t)proto;
    put_port(key + off + 4, port);
    return off + 8;
}

static void put_target(uint8_t *data, const np_target *t)
{
    size_t off = put_addr(data, &t->addr);
    put_port(data + off, t->port);
}

static void add_key(ctx *c, size_t set, const uint8_t *key, size_t len)
{
    np_elem e;
    memset(&e, 0, sizeof(e));
    memcpy(e.key, key, len);
    np_set_add(set_at(c, set), &e);
}

/* The N elements daddr . l4proto . dport . i : target[i] of a map. */
static void add_targets(np_set *map, const uint8_t *key, size_t klen, const np_target *t, size_t n)
{
    np_elem e;
    for (size_t i = 0; i < n; i++) {
        memset(&e, 0, sizeof(e));
        memcpy(e.key, key, klen);
        uint32_t idx = (uint32_t)i;
        memcpy(e.key + klen, &idx, 4);
        put_target(e.data, &t[i]);
        np_set_add(map, &e);
    }
}

/* ---- session affinity chains ---- */

static void aff_chain_name(const port_ctx *pc, enum variant v, char *buf, size_t len)
{
    char id[600];
    snprintf(id, sizeof(id), "%s/%s/%s/%u/%c", pc->svc->ns, pc->svc->name, pc->port->name,
             (unsigned)pc->port->proto, (char)v);
    snprintf(buf, len, "aff-%016llx", (unsigned long long)fnv64(id, strlen(id), FNV_INIT));
}

/* The client-address set of endpoint t in chain: "<chain>-<hash>". */
static size_t aff_set(ctx *c, const port_ctx *pc, const char *chain, const np_target *t, char *name,
                      size_t len)
{
    uint64_t h = fnv64(t->addr.bytes, np_addr_len(t->addr.family), FNV_INIT);
    h = fnv64(&t->port, sizeof(t->port), h);
    snprintf(name, len, "%.24s-%016llx", chain, (unsigned long long)h);
    size_t idx = add_set(c, name, NP_KEY_ADDR, NP_DATA_NONE, NP_SET_DYNAMIC);
    set_at(c, idx)->timeout = pc->svc->affinity_timeout;
    set_at(c, idx)->size = NP_AFFINITY_SET_SIZE;
    return idx;
}

/* Rules of an affinity chain over targets t: a client seen before goes back
 * to its endpoint; a new one picks uniformly (rule i with probability
 * 1/(n-i)) and is remembered. */
static void aff_endpoint_rules(ctx *c, const port_ctx *pc, np_chain *ch, const np_target *t,
                               size_t n)
{
    char(*names)[NP_NAME_MAX] = xcalloc(n + 1, NP_NAME_MAX);
    char chain[NP_NAME_MAX];
    snprintf(chain, sizeof(chain), "%s", ch->name);
    uint32_t proto = (uint32_t)pc->port->proto;
    for (size_t i = 0; i < n; i++) {
        aff_set(c, pc, chain, &t[i], names[i], NP_NAME_MAX);
        RULE(c, ch, op(NP_OP_L4PROTO, NULL, proto, false), op(NP_OP_SADDR_IN, names[i], 0, false),
             op(NP_OP_UPDATE_SADDR, names[i], 0, false), op_dnat(&t[i]));
    }
    for (size_t i = 0; i + 1 < n; i++)
        RULE(c, ch, op(NP_OP_L4PROTO, NULL, proto, false),
             op(NP_OP_NUMGEN_ZERO, NULL, (uint32_t)(n - i), false),
             op(NP_OP_UPDATE_SADDR, names[i], 0, false), op_dnat(&t[i]));
    if (n)
        RULE(c, ch, op(NP_OP_L4PROTO, NULL, proto, false),
             op(NP_OP_UPDATE_SADDR, names[n - 1], 0, false), op_dnat(&t[n - 1]));
    free(names);
}

/* The affinity chain of a port for variant v (created once); returns its
 * name in buf. V_EXTERNAL_LOCAL sends pods and the node itself to the
 * cluster-wide chain first (they do not need a node-local endpoint). */
static void aff_chain(ctx *c, const port_ctx *pc, enum variant v, char *buf, size_t len)
{
    aff_chain_name(pc, v, buf, len);
    if (find_chain(c, buf))
        return;
    char cluster[NP_NAME_MAX] = "";
    if (v == V_EXTERNAL_LOCAL && pc->sel.ncluster)
        aff_chain(c, pc, V_CLUSTER, cluster, sizeof(cluster));
    np_chain *ch = add_chain(c, buf, NP_HOOK_NONE, false, 0);
    if (*cluster) {
        if (c->has_cidrs)
            RULE(c, ch, op(NP_OP_SADDR_IN, "cluster-cidrs", 0, false),
                 op(NP_OP_GOTO, cluster, 0, false));
        RULE(c, ch, op(NP_OP_FIB_SADDR_LOCAL, NULL, 0, false), op(NP_OP_GOTO, cluster, 0, false));
    }
    bool cl = v == V_CLUSTER;
    aff_endpoint_rules(c, pc, ch, cl ? pc->sel.cluster : pc->sel.local,
                       cl ? pc->sel.ncluster : pc->sel.nlocal);
}

/* ---- destinations ---- */

/* Programs one destination key (len bytes) to targets t[0..n). */
static void add_dest(ctx *c, const port_ctx *pc, const uint8_t *key, size_t len, enum variant v)
{
    const np_selection *sel = &pc->sel;
    bool cl = v == V_CLUSTER;
    const np_target *t = cl ? sel->cluster : sel->local;
    size_t n = cl ? sel->ncluster : sel->nlocal;
    if (c->cfg->masquerade_all)
        add_key(c, c->fixed[S_MASQ_KEYS], key, len);
    if (n == 0)
        add_key(c, c->fixed[sel->has_any ? S_NOEP_DROP : S_NOEP_REJECT], key, len);
    if (pc->svc->affinity && (n > 0 || (v == V_EXTERNAL_LOCAL && sel->ncluster > 0))) {
        np_elem e;
        char chain[NP_NAME_MAX];
        aff_chain(c, pc, v, chain, sizeof(chain));
        memset(&e, 0, sizeof(e));
        memcpy(e.key, key, len);
        e.chain = chain;
        np_set_add(set_at(c, c->fixed[S_AFF_DISPATCH]), &e);
        return;
    }
    if (n > 0)
        add_targets(count_map(c, &c->ep, "ep", n), key, len, t, n);
    if (v == V_EXTERNAL_LOCAL && sel->ncluster > 0)
        add_targets(count_map(c, &c->sc, "sc", sel->ncluster), key, len, sel->cluster,
                    sel->ncluster);
}

/* A destination reached from outside: nodePort, external or LB IP. */
static void add_external(ctx *c, const port_ctx *pc, const np_addr *ip, uint16_t port)
{
    uint8_t key[NP_KEY_MAX] = {0};
    size_t len = svc_key(key, ip, pc->port->proto, port);
    if (pc->svc->external_policy == NP_POLICY_LOCAL) {
        add_key(c, c->fixed[S_EXT_LOCAL_KEYS], key, len);
        add_dest(c, pc, key, len, V_EXTERNAL_LOCAL);
    } else {
        add_key(c, c->fixed[S_MASQ_KEYS], key, len);
        add_dest(c, pc, key, len, V_CLUSTER);
    }
}

/* loadBalancerSourceRanges of this family for an LB IP destination. */
static void add_firewall(ctx *c, const port_ctx *pc, const np_addr *ip)
{
    uint8_t key[NP_KEY_MAX] = {0};
    size_t len = svc_key(key, ip, pc->port->proto, pc->port->port);
    bool any = false;
    for (size_t i = 0; i < pc->svc->nsource_ranges; i++) {
        const np_cidr *r = &pc->svc->source_ranges[i];
        if (r->addr.family != c->family)
            continue;
        np_elem e;
        memset(&e, 0, sizeof(e));
        memcpy(e.key, key, len);
        memcpy(e.key_end, key, len);
        size_t alen = np_addr_len(c->family);
        memcpy(e.key + len, r->addr.bytes, alen);
        memcpy(e.key_end + len, r->addr.bytes, alen);
        for (size_t b = r->prefix; b < alen * 8; b++)
            e.key_end[len + b / 8] |= (uint8_t)(0x80 >> (b % 8));
        np_set_add(set_at(c, c->fixed[S_FW_ALLOW]), &e);
        any = true;
    }
    if (any)
        add_key(c, c->fixed[S_FW_KEYS], key, len);
}

static void add_hairpins(ctx *c, const np_target *t, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint8_t key[NP_KEY_MAX] = {0};
        size_t off = put_addr(key, &t[i].addr);
        put_addr(key + off, &t[i].addr);
        add_key(c, c->fixed[S_HAIRPIN], key, off * 2);
    }
}

static void build_externals(ctx *c, const port_ctx *pc)
{
    const np_service *s = pc->svc;
    const np_port *p = pc->port;
    for (size_t i = 0; i < s->nexternal_ips; i++) {
        if (s->external_ips[i].family == c->family)
            add_external(c, pc, &s->external_ips[i], p->port);
    }
    for (size_t i = 0; i < s->nlb_ips; i++) {
        if (s->lb_ips[i].family != c->family)
            continue;
        add_external(c, pc, &s->lb_ips[i], p->port);
        add_firewall(c, pc, &s->lb_ips[i]);
    }
    for (size_t i = 0; p->node_port && i < c->cfg->nnode_ips; i++) {
        if (c->cfg->node_ips[i].family == c->family)
            add_external(c, pc, &c->cfg->node_ips[i], p->node_port);
    }
}

static void build_port(ctx *c, const np_service *s, const np_port *p, const np_addr *cip)
{
    port_ctx pc = {.svc = s, .port = p};
    np_select_endpoints(s, p, c->family, c->cfg->node_name, &pc.sel);
    uint8_t key[NP_KEY_MAX] = {0};
    size_t len = svc_key(key, cip, p->proto, p->port);
    add_dest(c, &pc, key, len, s->internal_policy == NP_POLICY_LOCAL ? V_LOCAL : V_CLUSTER);
    build_externals(c, &pc);
    add_hairpins(c, pc.sel.cluster, pc.sel.ncluster);
    add_hairpins(c, pc.sel.local, pc.sel.nlocal);
    np_selection_free(&pc.sel);
}

static void build_service(ctx *c, const np_service *s)
{
    if (s->type == NP_SVC_EXTERNAL_NAME)
        return;
    for (size_t i = 0; i < s->ncluster_ips; i++) {
        const np_addr *cip = &s->cluster_ips[i];
        if (cip->family != c->family)
            continue;
        uint8_t key[NP_KEY_MAX] = {0};
        add_key(c, c->fixed[S_CLUSTER_IPS], key, put_addr(key, cip));
        for (size_t p = 0; p < s->nports; p++)
            build_port(c, s, &s->ports[p], cip);
    }
}

/* ---- cluster CIDRs as merged ranges ---- */

static void add_cidrs(ctx *c)
{
    np_set *s = set_at(c, c->fixed[S_CLUSTER_CIDRS]);
    size_t alen = np_addr_len(c->family);
    for (size_t i = 0; i < c->cfg->ncluster_cidrs; i++) {
        const np_cidr *r = &c->cfg->cluster_cidrs[i];
        if (r->addr.family != c->family)
            continue;
        np_elem e;
        memset(&e, 0, sizeof(e));
        memcpy(e.key, r->addr.bytes, alen);
        memcpy(e.key_end, r->addr.bytes, alen);
        for (size_t b = r->prefix; b < alen * 8; b++)
            e.key_end[b / 8] |= (uint8_t)(0x80 >> (b % 8));
        np_set_add(s, &e);
    }
}

/* True when the range after a starts at or right after a's end. */
static bool touches(const uint8_t *a_end, const uint8_t *b_start, size_t off, size_t alen)
{
    uint8_t next[16];
    memcpy(next, a_end + off, alen);
    size_t i = alen;
    while (i > 0 && ++next[i - 1] == 0)
        i--;
    if (i == 0)
        return true; /* a reaches the top of the address space */
    return memcmp(b_start + off, next, alen) <= 0;
}

/* Merges overlapping and adjacent ranges of a sorted interval set whose
 * ranges differ only in the last field (a pipapo or rbtree set refuses
 * overlaps). */
static void merge_ranges(np_set *s, int family)
{
    size_t len = np_key_len(s->key, family), alen = np_addr_len(family);
    size_t off = len - alen, out = 0;
    for (size_t i = 0; i < s->nelems; i++) {
        np_elem *e = &s->elems[i];
        if (out > 0) {
            np_elem *p = &s->elems[out - 1];
            if (memcmp(p->key, e->key, off) == 0 && touches(p->key_end, e->key, off, alen)) {
                if (memcmp(e->key_end + off, p->key_end + off, alen) > 0)
                    memcpy(p->key_end + off, e->key_end + off, alen);
                continue;
            }
        }
        s->elems[out++] = *e;
    }
    s->nelems = out;
}

/* ---- chains ---- */

static void build_services_chain(ctx *c)
{
    uint32_t m = c->cfg->masq_mark;
    np_chain *ch = add_chain(c, "services", NP_HOOK_NONE, false, 0);
    if (c->has_cidrs && !c->cfg->masquerade_all)
        RULE(c, ch, op(NP_OP_DADDR_IN, "cluster-ips", 0, false),
             op(NP_OP_SADDR_IN, "cluster-cidrs", 0, true), op(NP_OP_MARK_OR, NULL, m, false));
    RULE(c, ch, op(NP_OP_SVC_IN, "masq-keys", 0, false), op(NP_OP_MARK_OR, NULL, m, false));
    RULE(c, ch, op(NP_OP_SVC_IN, "ext-local-keys", 0, false),
         op(NP_OP_FIB_SADDR_LOCAL, NULL, 0, false), op(NP_OP_MARK_OR, NULL, m, false));
    RULE(c, ch, op(NP_OP_SVC_VMAP, "aff-dispatch", 0, false));
    for (size_t n = 1; n < c->sc.n; n++) {
        if (c->sc.idx[n] < 0)
            continue;
        char name[NP_NAME_MAX];
        snprintf(name, sizeof(name), "sc-%zu", n);
        if (c->has_cidrs)
            RULE(c, ch, op(NP_OP_SADDR_IN, "cluster-cidrs", 0, false),
                 op(NP_OP_DNAT_MAP, name, (uint32_t)n, false));
        RULE(c, ch, op(NP_OP_FIB_SADDR_LOCAL, NULL, 0, false),
             op(NP_OP_DNAT_MAP, name, (uint32_t)n, false));
    }
    for (size_t n = 1; n < c->ep.n; n++) {
        if (c->ep.idx[n] < 0)
            continue;
        char name[NP_NAME_MAX];
        snprintf(name, sizeof(name), "ep-%zu", n);
        RULE(c, ch, op(NP_OP_DNAT_MAP, name, (uint32_t)n, false));
    }
}

static void build_filter_chains(ctx *c)
{
    np_chain *ch = add_chain(c, "filter-prerouting", NP_HOOK_PREROUTING, false, -110);
    RULE(c, ch, op(NP_OP_CT_STATE_NEW, NULL, 0, false), op(NP_OP_SVC_IN, "fw-keys", 0, false),
         op(NP_OP_SVC_SADDR_IN, "fw-allow", 0, true), op(NP_OP_DROP, NULL, 0, false));
    ch = add_chain(c, "endpoints-check", NP_HOOK_NONE, false, 0);
    RULE(c, ch, op(NP_OP_SVC_IN, "noep-drop", 0, false), op(NP_OP_DROP, NULL, 0, false));
    RULE(c, ch, op(NP_OP_L4PROTO, NULL, NP_PROTO_TCP, false),
         op(NP_OP_SVC_IN, "noep-reject", 0, false), op(NP_OP_REJECT_TCP, NULL, 0, false));
    RULE(c, ch, op(NP_OP_SVC_IN, "noep-reject", 0, false), op(NP_OP_REJECT, NULL, 0, false));
    static const struct {
        const char *name;
        np_hook hook;
    } hooks[] = {{"filter-input", NP_HOOK_INPUT},
                 {"filter-forward", NP_HOOK_FORWARD},
                 {"filter-output", NP_HOOK_OUTPUT}};
    for (size_t i = 0; i < 3; i++) {
        ch = add_chain(c, hooks[i].name, hooks[i].hook, false, -1);
        RULE(c, ch, op(NP_OP_CT_STATE_NEW, NULL, 0, false),
             op(NP_OP_JUMP, "endpoints-check", 0, false));
        if (hooks[i].hook == NP_HOOK_INPUT)
            continue;
        /* a ClusterIP on a port no Service defines */
        RULE(c, ch, op(NP_OP_CT_STATE_NEW, NULL, 0, false),
             op(NP_OP_L4PROTO, NULL, NP_PROTO_TCP, false),
             op(NP_OP_DADDR_IN, "cluster-ips", 0, false), op(NP_OP_REJECT_TCP, NULL, 0, false));
        RULE(c, ch, op(NP_OP_CT_STATE_NEW, NULL, 0, false),
             op(NP_OP_DADDR_IN, "cluster-ips", 0, false), op(NP_OP_REJECT, NULL, 0, false));
    }
}

static void build_nat_chains(ctx *c)
{
    uint32_t m = c->cfg->masq_mark;
    np_chain *ch = add_chain(c, "nat-prerouting", NP_HOOK_PREROUTING, true, -100);
    RULE(c, ch, op(NP_OP_JUMP, "services", 0, false));
    ch = add_chain(c, "nat-output", NP_HOOK_OUTPUT, true, -100);
    RULE(c, ch, op(NP_OP_JUMP, "services", 0, false));
    ch = add_chain(c, "nat-postrouting", NP_HOOK_POSTROUTING, true, 100);
    RULE(c, ch, op(NP_OP_MARK_TEST, NULL, m, false), op(NP_OP_MARK_XOR, NULL, m, false),
         op(NP_OP_MASQ, NULL, 0, false));
    RULE(c, ch, op(NP_OP_CT_STATUS_DNAT, NULL, 0, false), op(NP_OP_PAIR_IN, "hairpin", 0, false),
         op(NP_OP_MASQ, NULL, 0, false));
    build_services_chain(c);
    build_filter_chains(c);
}

static int cmp_set_q(const void *a, const void *b)
{
    return strcmp(((const np_set *)a)->name, ((const np_set *)b)->name);
}

static int cmp_chain_q(const void *a, const void *b)
{
    return strcmp(((const np_chain *)a)->name, ((const np_chain *)b)->name);
}

static void ctx_init(ctx *c, const np_config *cfg, int family)
{
    memset(c, 0, sizeof(*c));
    c->rs = xcalloc(1, sizeof(*c->rs));
    c->rs->family = family;
    c->cfg = cfg;
    c->family = family;
    for (size_t i = 0; i < S_NFIXED; i++)
        c->fixed[i] = add_set(c, fixed_sets[i].name, fixed_sets[i].key, fixed_sets[i].data,
                              fixed_sets[i].flags);
    for (size_t i = 0; i < cfg->ncluster_cidrs; i++)
        c->has_cidrs |= cfg->cluster_cidrs[i].addr.family == family;
}

/* Sorts sets, elements and chains; frees the context; returns the ruleset. */
static np_ruleset *ctx_finish(ctx *c)
{
    for (size_t i = 0; i < c->rs->nsets; i++) {
        np_set *s = &c->rs->sets[i];
        np_set_sort(s, c->family);
        if (s->flags & NP_SET_INTERVAL)
            merge_ranges(s, c->family);
    }
    if (c->rs->nsets > 1)
        qsort(c->rs->sets, c->rs->nsets, sizeof(*c->rs->sets), cmp_set_q);
    if (c->rs->nchains > 1)
        qsort(c->rs->chains, c->rs->nchains, sizeof(*c->rs->chains), cmp_chain_q);
    free(c->ep.idx);
    free(c->sc.idx);
    return c->rs;
}

np_ruleset *np_ruleset_build(const np_model *m, const np_config *cfg, int family)
{
    ctx c;
    ctx_init(&c, cfg, family);
    add_cidrs(&c);
    for (size_t i = 0; m && i < m->nservices; i++)
        build_service(&c, &m->services[i]);
    build_nat_chains(&c);
    return ctx_finish(&c);
}

np_ruleset *np_ruleset_build_service(const np_service *s, const np_config *cfg, int family)
{
    ctx c;
    ctx_init(&c, cfg, family);
    if (s)
        build_service(&c, s);
    return ctx_finish(&c);
}

np_ruleset *np_ruleset_build_base(const np_config *cfg, int family, const bool *ep_used, size_t nep,
                                  const bool *sc_used, size_t nsc)
{
    ctx c;
    ctx_init(&c, cfg, family);
    add_cidrs(&c);
    for (size_t n = 1; n < nep; n++) {
        if (ep_used[n])
            count_map(&c, &c.ep, "ep", n);
    }
    for (size_t n = 1; n < nsc; n++) {
        if (sc_used[n])
            count_map(&c, &c.sc, "sc", n);
    }
    build_nat_chains(&c);
    return ctx_finish(&c);
}

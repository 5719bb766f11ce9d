/* nft-dump.c - reads the kernel's knode-proxy table back into a ruleset, so
 * that a full sync sends only the difference (a restart reconciles instead
 * of flushing). Set definitions are decoded from their attributes; one this
 * backend would not have written (other flags, other typeof user data) is
 * marked foreign so that the sync redefines it. */
#include <errno.h>
#include <libnftnl/chain.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "lib/xalloc.h"
#include "netproxy/nft-internal.h"

/* Never set by a ruleset build: a dumped set that must be redefined. */
#define SET_FOREIGN (1u << 31)

int np__talk(np_nft *n, struct nlmsghdr *req, mnl_cb_t cb, void *data, int *errno_out,
             kn_error **err)
{
    *errno_out = 0;
    req->nlmsg_seq = ++n->seq;
    if (mnl_socket_sendto(n->nl, req, req->nlmsg_len) < 0)
        return kn_error_errno(err, errno, "nftables: send request");
    size_t cap = 256 * 1024;
    char *buf = xmalloc(cap);
    int r = MNL_CB_OK;
    while (r > MNL_CB_STOP) {
        ssize_t len = mnl_socket_recvfrom(n->nl, buf, cap);
        if (len < 0) {
            r = -1;
            break;
        }
        r = mnl_cb_run(buf, (size_t)len, req->nlmsg_seq, n->portid, cb, data);
    }
    int e = errno;
    free(buf);
    if (r < 0) {
        *errno_out = e;
        if (e == ENOENT)
            return 0;
        return kn_error_errno(err, e, "nftables: read %s", NP_TABLE_NAME);
    }
    return 0;
}

static struct nlmsghdr *request(char *buf, uint16_t type, int family, uint16_t flags)
{
    return nftnl_nlmsg_build_hdr(buf, type, np__nfproto(family), NLM_F_ACK | flags, 0);
}

/* ---- the table ---- */

static int cb_ignore(const struct nlmsghdr *nlh, void *data)
{
    (void)nlh;
    (void)data;
    return MNL_CB_OK;
}

static int table_exists(np_nft *n, int family, kn_error **err)
{
    char buf[MNL_SOCKET_BUFFER_SIZE];
    struct nlmsghdr *nlh = request(buf, NFT_MSG_GETTABLE, family, 0);
    struct nftnl_table *t = nftnl_table_alloc();
    nftnl_table_set_str(t, NFTNL_TABLE_NAME, NP_TABLE_NAME);
    nftnl_table_nlmsg_build_payload(nlh, t);
    nftnl_table_free(t);
    int e = 0;
    if (np__talk(n, nlh, cb_ignore, NULL, &e, err) < 0)
        return -KN_EIO;
    return e == 0;
}

/* ---- chains and rules ---- */

static np_chain *push_chain(np_ruleset *rs, const char *name)
{
    if (rs->nchains == rs->capchains) {
        rs->capchains = rs->capchains ? rs->capchains * 2 : 16;
        rs->chains = xreallocarray(rs->chains, rs->capchains, sizeof(*rs->chains));
    }
    np_chain *c = &rs->chains[rs->nchains++];
    memset(c, 0, sizeof(*c));
    snprintf(c->name, sizeof(c->name), "%s", name);
    return c;
}

static np_hook hook_of(uint32_t num)
{
    switch (num) {
    case NF_INET_PRE_ROUTING:
        return NP_HOOK_PREROUTING;
    case NF_INET_LOCAL_IN:
        return NP_HOOK_INPUT;
    case NF_INET_FORWARD:
        return NP_HOOK_FORWARD;
    case NF_INET_LOCAL_OUT:
        return NP_HOOK_OUTPUT;
    default:
        return NP_HOOK_POSTROUTING;
    }
}

static int cb_chain(const struct nlmsghdr *nlh, void *data)
{
    np_ruleset *rs = data;
    struct nftnl_chain *c = nftnl_chain_alloc();
    if (nftnl_chain_nlmsg_parse(nlh, c) == 0 &&
        strcmp(nftnl_chain_get_str(c, NFTNL_CHAIN_TABLE), NP_TABLE_NAME) == 0) {
        np_chain *ch = push_chain(rs, nftnl_chain_get_str(c, NFTNL_CHAIN_NAME));
        if (nftnl_chain_is_set(c, NFTNL_CHAIN_HOOKNUM)) {
            ch->hook = hook_of(nftnl_chain_get_u32(c, NFTNL_CHAIN_HOOKNUM));
            ch->priority = nftnl_chain_get_s32(c, NFTNL_CHAIN_PRIO);
            const char *type = nftnl_chain_get_str(c, NFTNL_CHAIN_TYPE);
            ch->nat = type && strcmp(type, "nat") == 0;
        }
    }
    nftnl_chain_free(c);
    return MNL_CB_OK;
}

static int cb_comment(const struct nftnl_udata *attr, void *data)
{
    if (nftnl_udata_type(attr) == NFTNL_UDATA_RULE_COMMENT) {
        np_rule *r = data;
        snprintf(r->comment, sizeof(r->comment), "%.*s", (int)nftnl_udata_len(attr),
                 (const char *)nftnl_udata_get(attr));
    }
    return 0;
}

static void push_rule(np_chain *c, const struct nftnl_rule *r)
{
    if (c->nrules == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 8;
        c->rules = xreallocarray(c->rules, c->cap, sizeof(*c->rules));
    }
    np_rule *out = &c->rules[c->nrules++];
    memset(out, 0, sizeof(*out));
    /* a rule without our comment never equals a wanted one */
    snprintf(out->comment, sizeof(out->comment), "-");
    uint32_t len = 0;
    const void *ud = nftnl_rule_get_data(r, NFTNL_RULE_USERDATA, &len);
    if (ud)
        nftnl_udata_parse(ud, len, cb_comment, out);
}

static np_chain *chain_named(np_ruleset *rs, const char *name)
{
    for (size_t i = 0; i < rs->nchains; i++) {
        if (strcmp(rs->chains[i].name, name) == 0)
            return &rs->chains[i];
    }
    return NULL;
}

static int cb_rule(const struct nlmsghdr *nlh, void *data)
{
    np_ruleset *rs = data;
    struct nftnl_rule *r = nftnl_rule_alloc();
    if (nftnl_rule_nlmsg_parse(nlh, r) == 0 &&
        strcmp(nftnl_rule_get_str(r, NFTNL_RULE_TABLE), NP_TABLE_NAME) == 0) {
        np_chain *c = chain_named(rs, nftnl_rule_get_str(r, NFTNL_RULE_CHAIN));
        if (c)
            push_rule(c, r);
    }
    nftnl_rule_free(r);
    return MNL_CB_OK;
}

static int dump_chains(np_nft *n, np_ruleset *rs, kn_error **err)
{
    char buf[MNL_SOCKET_BUFFER_SIZE];
    int e = 0;
    struct nlmsghdr *nlh = request(buf, NFT_MSG_GETCHAIN, rs->family, NLM_F_DUMP);
    struct nftnl_chain *c = nftnl_chain_alloc();
    nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, NP_TABLE_NAME);
    nftnl_chain_nlmsg_build_payload(nlh, c);
    nftnl_chain_free(c);
    if (np__talk(n, nlh, cb_chain, rs, &e, err) < 0)
        return -KN_EIO;
    nlh = request(buf, NFT_MSG_GETRULE, rs->family, NLM_F_DUMP);
    struct nftnl_rule *r = nftnl_rule_alloc();
    nftnl_rule_set_str(r, NFTNL_RULE_TABLE, NP_TABLE_NAME);
    nftnl_rule_nlmsg_build_payload(nlh, r);
    nftnl_rule_free(r);
    if (np__talk(n, nlh, cb_rule, rs, &e, err) < 0)
        return -KN_EIO;
    return 0;
}

/* ---- sets ---- */

/* Decodes the key kind from the key's type id and length. */
static bool decode_key(uint32_t type, uint32_t len, int family, np_key_kind *out)
{
    uint32_t a = family == AF_INET6 ? 8 : 7;
    static const np_key_kind kinds[] = {NP_KEY_ADDR, NP_KEY_SVC, NP_KEY_SVC_IDX, NP_KEY_SVC_SADDR,
                                        NP_KEY_PAIR};
    const uint32_t types[] = {a, (a << 12) | (12 << 6) | 13, (a << 18) | (12 << 12) | (13 << 6) | 4,
                              (a << 18) | (12 << 12) | (13 << 6) | a, (a << 6) | a};
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        if (types[i] == type && np_key_len(kinds[i], family) == len) {
            *out = kinds[i];
            return true;
        }
    }
    return false;
}

/* ep-N / sc-N carry N in their typeof; the name says which N we meant. */
static uint32_t mod_from_name(const char *name)
{
    const char *dash = strrchr(name, '-');
    return dash ? (uint32_t)strtoul(dash + 1, NULL, 10) : 0;
}

static void decode_set_def(const struct nftnl_set *ns, int family, np_set *s)
{
    uint32_t flags = nftnl_set_get_u32(ns, NFTNL_SET_FLAGS);
    bool ok = decode_key(nftnl_set_get_u32(ns, NFTNL_SET_KEY_TYPE),
                         nftnl_set_get_u32(ns, NFTNL_SET_KEY_LEN), family, &s->key);
    if (flags & NFT_SET_MAP) {
        uint32_t dt = nftnl_set_get_u32(ns, NFTNL_SET_DATA_TYPE);
        s->data = dt == NFT_DATA_VERDICT ? NP_DATA_VERDICT : NP_DATA_ADDR_PORT;
    }
    if (flags & NFT_SET_INTERVAL)
        s->flags |= NP_SET_INTERVAL;
    if (flags & NFT_SET_EVAL) {
        s->flags |= NP_SET_DYNAMIC;
        s->timeout = (uint32_t)(nftnl_set_get_u64(ns, NFTNL_SET_TIMEOUT) / 1000);
    }
    if (nftnl_set_is_set(ns, NFTNL_SET_DESC_SIZE))
        s->size = nftnl_set_get_u32(ns, NFTNL_SET_DESC_SIZE);
    if (s->key == NP_KEY_SVC_IDX)
        s->mod = mod_from_name(s->name);
    /* anything we would have encoded differently is not ours */
    uint8_t want[512];
    uint32_t got_len = 0;
    const void *got = nftnl_set_get_data(ns, NFTNL_SET_USERDATA, &got_len);
    size_t want_len = np__set_udata(s, family, want, sizeof(want));
    uint32_t ours = 0;
    if (s->data != NP_DATA_NONE)
        ours |= NFT_SET_MAP;
    if (s->flags & NP_SET_INTERVAL)
        ours |= NFT_SET_INTERVAL | (s->key != NP_KEY_ADDR ? NFT_SET_CONCAT : 0);
    if (s->flags & NP_SET_DYNAMIC)
        ours |= NFT_SET_TIMEOUT | NFT_SET_EVAL;
    if (!ok || flags != ours || !got || got_len != want_len || memcmp(got, want, want_len) != 0)
        s->flags |= SET_FOREIGN;
}

static int cb_set(const struct nlmsghdr *nlh, void *data)
{
    np_ruleset *rs = data;
    struct nftnl_set *ns = nftnl_set_alloc();
    if (nftnl_set_nlmsg_parse(nlh, ns) == 0 &&
        strcmp(nftnl_set_get_str(ns, NFTNL_SET_TABLE), NP_TABLE_NAME) == 0) {
        if (rs->nsets == rs->capsets) {
            rs->capsets = rs->capsets ? rs->capsets * 2 : 32;
            rs->sets = xreallocarray(rs->sets, rs->capsets, sizeof(*rs->sets));
        }
        np_set *s = &rs->sets[rs->nsets++];
        memset(s, 0, sizeof(*s));
        snprintf(s->name, sizeof(s->name), "%s", nftnl_set_get_str(ns, NFTNL_SET_NAME));
        decode_set_def(ns, rs->family, s);
    }
    nftnl_set_free(ns);
    return MNL_CB_OK;
}

/* Elements as dumped, before one-field intervals are paired up. */
typedef struct raw_elem {
    np_elem e;
    bool end; /* NFT_SET_ELEM_INTERVAL_END */
} raw_elem;

typedef struct elem_dump {
    const np_set *set;
    int family;
    size_t n, cap;
    raw_elem *v;
} elem_dump;

static void copy_value(struct nftnl_set_elem *e, uint16_t attr, uint8_t *out, size_t max)
{
    uint32_t len = 0;
    const void *p = nftnl_set_elem_get(e, attr, &len);
    if (p)
        memcpy(out, p, len < max ? len : max);
}

static void take_elem(elem_dump *d, struct nftnl_set_elem *se)
{
    if (d->n == d->cap) {
        d->cap = d->cap ? d->cap * 2 : 256;
        d->v = xreallocarray(d->v, d->cap, sizeof(*d->v));
    }
    raw_elem *r = &d->v[d->n++];
    memset(r, 0, sizeof(*r));
    copy_value(se, NFTNL_SET_ELEM_KEY, r->e.key, sizeof(r->e.key));
    copy_value(se, NFTNL_SET_ELEM_KEY_END, r->e.key_end, sizeof(r->e.key_end));
    if (d->set->data == NP_DATA_ADDR_PORT)
        copy_value(se, NFTNL_SET_ELEM_DATA, r->e.data, sizeof(r->e.data));
    if (nftnl_set_elem_is_set(se, NFTNL_SET_ELEM_CHAIN))
        r->e.chain = xstrdup(nftnl_set_elem_get_str(se, NFTNL_SET_ELEM_CHAIN));
    if (nftnl_set_elem_is_set(se, NFTNL_SET_ELEM_FLAGS))
        r->end = nftnl_set_elem_get_u32(se, NFTNL_SET_ELEM_FLAGS) & NFT_SET_ELEM_INTERVAL_END;
}

static int cb_elems(const struct nlmsghdr *nlh, void *data)
{
    elem_dump *d = data;
    struct nftnl_set *ns = nftnl_set_alloc();
    if (nftnl_set_elems_nlmsg_parse(nlh, ns) == 0) {
        struct nftnl_set_elems_iter *it = nftnl_set_elems_iter_create(ns);
        for (struct nftnl_set_elem *e = nftnl_set_elems_iter_next(it); e;
             e = nftnl_set_elems_iter_next(it))
            take_elem(d, e);
        nftnl_set_elems_iter_destroy(it);
    }
    nftnl_set_free(ns);
    return MNL_CB_OK;
}

static int cmp_raw(const void *a, const void *b)
{
    return memcmp(((const raw_elem *)a)->e.key, ((const raw_elem *)b)->e.key, 16);
}

/* One-field interval sets hold start elements and end markers (the first
 * address after a range): turn them back into [start, end] ranges. */
static void pair_intervals(elem_dump *d, np_set *s)
{
    size_t len = np_addr_len(d->family);
    if (d->n > 1)
        qsort(d->v, d->n, sizeof(*d->v), cmp_raw);
    np_elem cur;
    bool open = false;
    for (size_t i = 0; i < d->n; i++) {
        if (!d->v[i].end && !open) {
            cur = d->v[i].e;
            open = true;
        } else if (d->v[i].end && open) {
            memcpy(cur.key_end, d->v[i].e.key, len);
            for (size_t k = len; k > 0 && cur.key_end[k - 1]-- == 0; k--)
                ;
            np_set_add(s, &cur);
            open = false;
        }
    }
    if (open) {
        memset(cur.key_end, 0xff, len);
        np_set_add(s, &cur);
    }
}

static int dump_elems(np_nft *n, np_set *s, int family, kn_error **err)
{
    char buf[MNL_SOCKET_BUFFER_SIZE];
    struct nlmsghdr *nlh = request(buf, NFT_MSG_GETSETELEM, family, NLM_F_DUMP);
    struct nftnl_set *ns = nftnl_set_alloc();
    nftnl_set_set_str(ns, NFTNL_SET_TABLE, NP_TABLE_NAME);
    nftnl_set_set_str(ns, NFTNL_SET_NAME, s->name);
    nftnl_set_elems_nlmsg_build_payload(nlh, ns);
    nftnl_set_free(ns);
    elem_dump d = {.set = s, .family = family};
    int e = 0;
    int r = np__talk(n, nlh, cb_elems, &d, &e, err);
    if (r >= 0 && (s->flags & NP_SET_INTERVAL) && s->key == NP_KEY_ADDR) {
        pair_intervals(&d, s);
        for (size_t i = 0; i < d.n; i++)
            free(d.v[i].e.chain);
    } else {
        for (size_t i = 0; i < d.n; i++) {
            np_set_add(s, &d.v[i].e);
            free(d.v[i].e.chain);
        }
    }
    free(d.v);
    np_set_sort(s, family);
    return r;
}

static int dump_sets(np_nft *n, np_ruleset *rs, kn_error **err)
{
    char buf[MNL_SOCKET_BUFFER_SIZE];
    struct nlmsghdr *nlh = request(buf, NFT_MSG_GETSET, rs->family, NLM_F_DUMP);
    struct nftnl_set *ns = nftnl_set_alloc();
    nftnl_set_set_str(ns, NFTNL_SET_TABLE, NP_TABLE_NAME);
    nftnl_set_nlmsg_build_payload(nlh, ns);
    nftnl_set_free(ns);
    int e = 0;
    if (np__talk(n, nlh, cb_set, rs, &e, err) < 0)
        return -KN_EIO;
    for (size_t i = 0; i < rs->nsets; i++) {
        /* dynamic sets hold runtime state (affinity clients), never diffed */
        if (!(rs->sets[i].flags & NP_SET_DYNAMIC) &&
            dump_elems(n, &rs->sets[i], rs->family, err) < 0)
            return -KN_EIO;
    }
    return 0;
}

static int cmp_set_q(const void *a, const void *b)
{
    return strcmp(((const np_set *)a)->name, ((const np_set *)b)->name);
}

static int cmp_chain_q(const void *a, const void *b)
{
    return strcmp(((const np_chain *)a)->name, ((const np_chain *)b)->name);
}

int np__dump(np_nft *n, int family, np_ruleset **out, kn_error **err)
{
    *out = NULL;
    int r = table_exists(n, family, err);
    if (r <= 0)
        return r;
    np_ruleset *rs = xcalloc(1, sizeof(*rs));
    rs->family = family;
    if (dump_sets(n, rs, err) < 0 || dump_chains(n, rs, err) < 0) {
        np_ruleset_free(rs);
        return -KN_EIO;
    }
    if (rs->nsets > 1)
        qsort(rs->sets, rs->nsets, sizeof(*rs->sets), cmp_set_q);
    if (rs->nchains > 1)
        qsort(rs->chains, rs->nchains, sizeof(*rs->chains), cmp_chain_q);
    *out = rs;
    return 1;
}

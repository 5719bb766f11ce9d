/* nft.c - the netlink side of the nftables backend: the socket, batches
 * (one transaction per sync), the difference between two rulesets as
 * netlink messages, and the kernel's answers. */
#include "netproxy/nft.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>

#include "lib/xalloc.h"
#include "netproxy/nft-internal.h"

#ifndef NETLINK_EXT_ACK
#define NETLINK_EXT_ACK 11
#endif
#ifndef NETLINK_CAP_ACK
#define NETLINK_CAP_ACK 10
#endif

/* Elements per netlink message stay well below the 64 KiB a nested
 * attribute can hold. */
#define ELEM_MSG_LIMIT (40 * 1024)
/* Room reserved for any one message while it is built. */
#define MSG_ROOM (64 * 1024)

/* ---- the socket ---- */

int np_nft_open(np_nft **out, kn_error **err)
{
    struct mnl_socket *nl = mnl_socket_open(NETLINK_NETFILTER);
    if (!nl)
        return kn_error_errno(err, errno, "nftables: open netlink socket");
    if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
        int e = errno;
        mnl_socket_close(nl);
        return kn_error_errno(err, e, "nftables: bind netlink socket");
    }
    int one = 1;
    mnl_socket_setsockopt(nl, NETLINK_CAP_ACK, &one, sizeof(one));
    mnl_socket_setsockopt(nl, NETLINK_EXT_ACK, &one, sizeof(one));
    /* a large transaction takes the kernel a while, but never this long */
    struct timeval tv = {.tv_sec = 300};
    setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    np_nft *n = xcalloc(1, sizeof(*n));
    n->nl = nl;
    n->portid = mnl_socket_get_portid(nl);
    n->seq = (uint32_t)time(NULL);
    *out = n;
    return 0;
}

void np_nft_close(np_nft *n)
{
    if (!n)
        return;
    mnl_socket_close(n->nl);
    np_ruleset_free(n->applied[0]);
    np_ruleset_free(n->applied[1]);
    free(n);
}

void np_nft_set_fault(np_nft *n, np_nft_fault fault)
{
    n->fault = fault;
}

/* ---- batches ---- */

typedef struct batch {
    char *buf;
    size_t len, cap;
    uint32_t seq_begin, seq_next;
    size_t last_off; /* offset of the last real message */
    size_t ndesc, capdesc;
    char **desc; /* what message i (seq_begin + 1 + i) does, for errors */
    np_sync_stats *st;
} batch;

static char *msg_start(batch *b)
{
    if (b->cap - b->len < MSG_ROOM) {
        b->cap = b->cap * 2 + MSG_ROOM;
        b->buf = xrealloc(b->buf, b->cap);
    }
    memset(b->buf + b->len, 0, MSG_ROOM);
    return b->buf + b->len;
}

static void msg_done(batch *b, struct nlmsghdr *nlh, char *desc)
{
    b->last_off = b->len;
    b->len += NLMSG_ALIGN(nlh->nlmsg_len);
    if (b->ndesc == b->capdesc) {
        b->capdesc = b->capdesc ? b->capdesc * 2 : 64;
        b->desc = xreallocarray(b->desc, b->capdesc, sizeof(*b->desc));
    }
    b->desc[b->ndesc++] = desc;
    b->st->messages++;
}

static struct nlmsghdr *msg_hdr(batch *b, uint16_t type, int family, uint16_t flags)
{
    return nftnl_nlmsg_build_hdr(msg_start(b), type, np__nfproto(family), flags, b->seq_next++);
}

static void batch_init(batch *b, np_nft *n, np_sync_stats *st)
{
    memset(b, 0, sizeof(*b));
    b->st = st;
    b->seq_begin = ++n->seq;
    nftnl_batch_begin(msg_start(b), b->seq_begin);
    b->len += NLMSG_ALIGN(((struct nlmsghdr *)b->buf)->nlmsg_len);
    b->seq_next = b->seq_begin + 1;
}

static void batch_free(batch *b)
{
    for (size_t i = 0; i < b->ndesc; i++)
        free(b->desc[i]);
    free(b->desc);
    free(b->buf);
}

/* ---- messages ---- */

static void msg_table(batch *b, int family, uint16_t type)
{
    struct nftnl_table *t = nftnl_table_alloc();
    nftnl_table_set_str(t, NFTNL_TABLE_NAME, NP_TABLE_NAME);
    nftnl_table_set_u32(t, NFTNL_TABLE_FAMILY, np__nfproto(family));
    struct nlmsghdr *nlh = msg_hdr(b, type, family, type == NFT_MSG_NEWTABLE ? NLM_F_CREATE : 0);
    nftnl_table_nlmsg_build_payload(nlh, t);
    nftnl_table_free(t);
    msg_done(b, nlh,
             xasprintf("%s table %s", type == NFT_MSG_NEWTABLE ? "add" : "delete", NP_TABLE_NAME));
}

static uint32_t hook_num(np_hook h)
{
    static const uint32_t nums[] = {0,
                                    NF_INET_PRE_ROUTING,
                                    NF_INET_LOCAL_IN,
                                    NF_INET_FORWARD,
                                    NF_INET_LOCAL_OUT,
                                    NF_INET_POST_ROUTING};
    return nums[h];
}

static void msg_chain(batch *b, const np_chain *c, int family, uint16_t type)
{
    struct nftnl_chain *ch = nftnl_chain_alloc();
    nftnl_chain_set_str(ch, NFTNL_CHAIN_TABLE, NP_TABLE_NAME);
    nftnl_chain_set_str(ch, NFTNL_CHAIN_NAME, c->name);
    nftnl_chain_set_u32(ch, NFTNL_CHAIN_FAMILY, np__nfproto(family));
    if (type == NFT_MSG_NEWCHAIN && c->hook != NP_HOOK_NONE) {
        nftnl_chain_set_u32(ch, NFTNL_CHAIN_HOOKNUM, hook_num(c->hook));
        nftnl_chain_set_s32(ch, NFTNL_CHAIN_PRIO, c->priority);
        nftnl_chain_set_str(ch, NFTNL_CHAIN_TYPE, c->nat ? "nat" : "filter");
        nftnl_chain_set_u32(ch, NFTNL_CHAIN_POLICY, NF_ACCEPT);
    }
    struct nlmsghdr *nlh = msg_hdr(b, type, family, type == NFT_MSG_NEWCHAIN ? NLM_F_CREATE : 0);
    nftnl_chain_nlmsg_build_payload(nlh, ch);
    nftnl_chain_free(ch);
    bool add = type == NFT_MSG_NEWCHAIN;
    msg_done(b, nlh, xasprintf("%s chain %s", add ? "add" : "delete", c->name));
    if (add)
        b->st->chains_added++;
    else
        b->st->chains_deleted++;
}

/* Deletes every rule of a chain (a DELRULE naming only the chain). */
static void msg_flush_chain(batch *b, const char *chain, int family)
{
    struct nftnl_rule *r = nftnl_rule_alloc();
    nftnl_rule_set_str(r, NFTNL_RULE_TABLE, NP_TABLE_NAME);
    nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, chain);
    nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, np__nfproto(family));
    struct nlmsghdr *nlh = msg_hdr(b, NFT_MSG_DELRULE, family, 0);
    nftnl_rule_nlmsg_build_payload(nlh, r);
    nftnl_rule_free(r);
    msg_done(b, nlh, xasprintf("flush chain %s", chain));
    b->st->chains_flushed++;
}

static void msg_rule(batch *b, const char *chain, const np_rule *rule, int family)
{
    struct nftnl_rule *r = nftnl_rule_alloc();
    nftnl_rule_set_str(r, NFTNL_RULE_TABLE, NP_TABLE_NAME);
    nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, chain);
    nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, np__nfproto(family));
    struct nftnl_udata_buf *ud = nftnl_udata_buf_alloc(64);
    nftnl_udata_put_strz(ud, NFTNL_UDATA_RULE_COMMENT, rule->comment);
    nftnl_rule_set_data(r, NFTNL_RULE_USERDATA, nftnl_udata_buf_data(ud), nftnl_udata_buf_len(ud));
    nftnl_udata_buf_free(ud);
    np__rule_exprs(r, rule, family);
    struct nlmsghdr *nlh = msg_hdr(b, NFT_MSG_NEWRULE, family, NLM_F_CREATE | NLM_F_APPEND);
    nftnl_rule_nlmsg_build_payload(nlh, r);
    nftnl_rule_free(r);
    char text[1024];
    msg_done(b, nlh,
             xasprintf("add rule to chain %s: %s", chain,
                       np_rule_render(rule, family, text, sizeof(text))));
    b->st->rules_added++;
}

static void msg_set(batch *b, np_nft *n, const np_set *s, int family, uint16_t type)
{
    struct nftnl_set *ns = np__set_build(s, family, ++n->set_id);
    struct nlmsghdr *nlh = msg_hdr(b, type, family, type == NFT_MSG_NEWSET ? NLM_F_CREATE : 0);
    nftnl_set_nlmsg_build_payload(nlh, ns);
    nftnl_set_free(ns);
    bool add = type == NFT_MSG_NEWSET;
    msg_done(b, nlh, xasprintf("%s set %s", add ? "add" : "delete", s->name));
    if (add)
        b->st->sets_added++;
    else
        b->st->sets_deleted++;
}

/* ---- elements ---- */

/* A message adding or deleting elements of one set, filled until full. */
typedef struct elem_msg {
    struct nlmsghdr *nlh;
    struct nlattr *list;
    uint16_t type;
    size_t count;
} elem_msg;

static void elem_msg_close(batch *b, elem_msg *m, const np_set *s)
{
    if (!m->nlh)
        return;
    mnl_attr_nest_end(m->nlh, m->list);
    msg_done(b, m->nlh,
             xasprintf("%s %zu elements %s set %s",
                       m->type == NFT_MSG_NEWSETELEM ? "add" : "delete", m->count,
                       m->type == NFT_MSG_NEWSETELEM ? "to" : "from", s->name));
    m->nlh = NULL;
}

static void elem_msg_open(batch *b, elem_msg *m, const np_set *s, int family, uint16_t type)
{
    m->type = type;
    m->count = 0;
    m->nlh = msg_hdr(b, type, family, type == NFT_MSG_NEWSETELEM ? NLM_F_CREATE : 0);
    mnl_attr_put_strz(m->nlh, NFTA_SET_ELEM_LIST_TABLE, NP_TABLE_NAME);
    mnl_attr_put_strz(m->nlh, NFTA_SET_ELEM_LIST_SET, s->name);
    m->list = mnl_attr_nest_start(m->nlh, NFTA_SET_ELEM_LIST_ELEMENTS);
}

static void put_value(struct nlmsghdr *nlh, uint16_t attr, const void *v, size_t len)
{
    struct nlattr *nest = mnl_attr_nest_start(nlh, attr);
    mnl_attr_put(nlh, NFTA_DATA_VALUE, len, v);
    mnl_attr_nest_end(nlh, nest);
}

static void put_verdict(struct nlmsghdr *nlh, const char *chain)
{
    struct nlattr *data = mnl_attr_nest_start(nlh, NFTA_SET_ELEM_DATA);
    struct nlattr *v = mnl_attr_nest_start(nlh, NFTA_DATA_VERDICT);
    mnl_attr_put_u32(nlh, NFTA_VERDICT_CODE, htonl((uint32_t)NFT_GOTO));
    mnl_attr_put_strz(nlh, NFTA_VERDICT_CHAIN, chain);
    mnl_attr_nest_end(nlh, v);
    mnl_attr_nest_end(nlh, data);
}

/* One element as the kernel wants it: flags, key, key_end (concatenated
 * intervals), data. */
static void put_elem(elem_msg *m, const np_set *s, const uint8_t *key, const uint8_t *key_end,
                     uint32_t flags, const np_elem *data, int family)
{
    size_t klen = np_key_len(s->key, family);
    struct nlattr *e = mnl_attr_nest_start(m->nlh, NFTA_LIST_ELEM);
    if (flags)
        mnl_attr_put_u32(m->nlh, NFTA_SET_ELEM_FLAGS, htonl(flags));
    put_value(m->nlh, NFTA_SET_ELEM_KEY, key, klen);
    if (key_end)
        put_value(m->nlh, NFTA_SET_ELEM_KEY_END, key_end, klen);
    if (data && s->data == NP_DATA_ADDR_PORT)
        put_value(m->nlh, NFTA_SET_ELEM_DATA, data->data, np_data_len(s->data, family));
    else if (data && s->data == NP_DATA_VERDICT)
        put_verdict(m->nlh, data->chain ? data->chain : "");
    mnl_attr_nest_end(m->nlh, e);
    m->count++;
}

/* end + 1 over len bytes; false when end is the last address. */
static bool next_key(const uint8_t *end, uint8_t *out, size_t len)
{
    memcpy(out, end, len);
    for (size_t i = len; i > 0; i--) {
        if (++out[i - 1] != 0)
            return true;
    }
    return false;
}

static void elem_emit(batch *b, elem_msg *m, const np_set *s, const np_elem *e, int family,
                      uint16_t type)
{
    if (!m->nlh || m->type != type || m->nlh->nlmsg_len > ELEM_MSG_LIMIT) {
        elem_msg_close(b, m, s);
        elem_msg_open(b, m, s, family, type);
    }
    bool add = type == NFT_MSG_NEWSETELEM;
    size_t klen = np_key_len(s->key, family);
    if ((s->flags & NP_SET_INTERVAL) && s->key == NP_KEY_ADDR) {
        /* a one-field interval set (rbtree): a start element and, unless
         * the range runs to the last address, an end marker after it */
        uint8_t after[NP_KEY_MAX];
        put_elem(m, s, e->key, NULL, 0, NULL, family);
        if (next_key(e->key_end, after, klen))
            put_elem(m, s, after, NULL, NFT_SET_ELEM_INTERVAL_END, NULL, family);
    } else {
        put_elem(m, s, e->key, (s->flags & NP_SET_INTERVAL) ? e->key_end : NULL, 0, add ? e : NULL,
                 family);
    }
    if (add)
        b->st->elems_added++;
    else
        b->st->elems_deleted++;
}

/* Element comparison with the lengths worked out once per set (a sync
 * compares every element of every set). */
typedef struct elem_cmp {
    size_t klen, dlen;
    bool interval;
    np_data_kind data;
} elem_cmp;

static int ecmp(const elem_cmp *c, const np_elem *a, const np_elem *b)
{
    int r = memcmp(a->key, b->key, c->klen);
    if (r || !c->interval)
        return r;
    return memcmp(a->key_end, b->key_end, c->klen);
}

static bool esame(const elem_cmp *c, const np_elem *a, const np_elem *b)
{
    if (c->data == NP_DATA_ADDR_PORT)
        return memcmp(a->data, b->data, c->dlen) == 0;
    if (c->data == NP_DATA_VERDICT)
        return a->chain && b->chain && strcmp(a->chain, b->chain) == 0;
    return true;
}

/* Adds and deletes elements so that set `from` (NULL: empty) becomes `to`:
 * all deletions first, then the additions. */
static void diff_elems(batch *b, const np_set *from, const np_set *to, int family)
{
    elem_cmp c = {np_key_len(to->key, family), np_data_len(to->data, family),
                  (to->flags & NP_SET_INTERVAL) != 0, to->data};
    elem_msg m = {0};
    size_t i, j, nf = from ? from->nelems : 0, nt = to->nelems;
    for (i = 0, j = 0; i < nf;) {
        int r = j < nt ? ecmp(&c, &from->elems[i], &to->elems[j]) : -1;
        if (r < 0 || (r == 0 && !esame(&c, &from->elems[i], &to->elems[j])))
            elem_emit(b, &m, to, &from->elems[i], family, NFT_MSG_DELSETELEM);
        i += r <= 0;
        j += r >= 0;
    }
    for (i = 0, j = 0; j < nt;) {
        int r = i < nf ? ecmp(&c, &from->elems[i], &to->elems[j]) : 1;
        if (r > 0 || (r == 0 && !esame(&c, &from->elems[i], &to->elems[j])))
            elem_emit(b, &m, to, &to->elems[j], family, NFT_MSG_NEWSETELEM);
        i += r <= 0;
        j += r >= 0;
    }
    elem_msg_close(b, &m, to);
}

/* ---- the difference of two rulesets ---- */

static bool rules_equal(const np_chain *a, const np_chain *b)
{
    if (a->nrules != b->nrules)
        return false;
    for (size_t i = 0; i < a->nrules; i++) {
        if (strcmp(a->rules[i].comment, b->rules[i].comment) != 0)
            return false;
    }
    return true;
}

static bool chain_def_equal(const np_chain *a, const np_chain *b)
{
    return a->hook == b->hook && a->nat == b->nat &&
           (a->hook == NP_HOOK_NONE || a->priority == b->priority);
}

static bool any_set_redefined(const np_ruleset *from, const np_ruleset *to)
{
    for (size_t i = 0; from && i < to->nsets; i++) {
        const np_set *f = np_ruleset_find_set(from, to->sets[i].name);
        if (f && !np_set_same_def(f, &to->sets[i]))
            return true;
    }
    return false;
}

/* True when chain c of `to` must get its rules (re)written. */
static bool chain_changed(const np_ruleset *from, const np_chain *c, bool redef)
{
    const np_chain *f = from ? np_ruleset_find_chain(from, c->name) : NULL;
    return !f || redef || !chain_def_equal(f, c) || !rules_equal(f, c);
}

/* Phase 1: empty the chains of `from` whose rules change or that go away,
 * and delete base chains whose hook or priority changes. */
static void sync_flush(batch *b, const np_ruleset *from, const np_ruleset *to, bool redef)
{
    for (size_t i = 0; from && i < from->nchains; i++) {
        const np_chain *f = &from->chains[i];
        const np_chain *t = np_ruleset_find_chain(to, f->name);
        if (f->nrules && (!t || chain_changed(from, t, redef)))
            msg_flush_chain(b, f->name, to->family);
        if (t && !chain_def_equal(f, t))
            msg_chain(b, f, to->family, NFT_MSG_DELCHAIN);
    }
}

/* Phase 2: new chains, then sets (new, redefined, or changed elements). */
static void sync_sets(batch *b, np_nft *n, const np_ruleset *from, const np_ruleset *to)
{
    int fam = to->family;
    for (size_t i = 0; i < to->nchains; i++) {
        const np_chain *t = &to->chains[i];
        const np_chain *f = from ? np_ruleset_find_chain(from, t->name) : NULL;
        if (!f || !chain_def_equal(f, t))
            msg_chain(b, t, fam, NFT_MSG_NEWCHAIN);
    }
    for (size_t i = 0; i < to->nsets; i++) {
        const np_set *t = &to->sets[i];
        const np_set *f = from ? np_ruleset_find_set(from, t->name) : NULL;
        if (f && !np_set_same_def(f, t)) {
            msg_set(b, n, f, fam, NFT_MSG_DELSET);
            f = NULL;
        }
        if (!f)
            msg_set(b, n, t, fam, NFT_MSG_NEWSET);
        if (!(t->flags & NP_SET_DYNAMIC))
            diff_elems(b, f, t, fam);
    }
}

/* Phase 3: rules of changed chains; then what `to` no longer has. */
static void sync_rules(batch *b, const np_ruleset *from, const np_ruleset *to, bool redef)
{
    int fam = to->family;
    for (size_t i = 0; i < to->nchains; i++) {
        const np_chain *t = &to->chains[i];
        if (!chain_changed(from, t, redef))
            continue;
        for (size_t r = 0; r < t->nrules; r++)
            msg_rule(b, t->name, &t->rules[r], fam);
    }
}

static void sync_remove(batch *b, np_nft *n, const np_ruleset *from, const np_ruleset *to)
{
    for (size_t i = 0; from && i < from->nsets; i++) {
        if (!np_ruleset_find_set(to, from->sets[i].name))
            msg_set(b, n, &from->sets[i], to->family, NFT_MSG_DELSET);
    }
    for (size_t i = 0; from && i < from->nchains; i++) {
        if (!np_ruleset_find_chain(to, from->chains[i].name))
            msg_chain(b, &from->chains[i], to->family, NFT_MSG_DELCHAIN);
    }
}

static void sync_family(batch *b, np_nft *n, const np_ruleset *from, const np_ruleset *to)
{
    bool redef = any_set_redefined(from, to);
    if (!from)
        msg_table(b, to->family, NFT_MSG_NEWTABLE);
    sync_flush(b, from, to, redef);
    sync_sets(b, n, from, to);
    sync_rules(b, from, to, redef);
    sync_remove(b, n, from, to);
}

/* The test hook: an element three bytes long for a set of addresses. */
static void add_fault(batch *b, int family)
{
    np_set s;
    memset(&s, 0, sizeof(s));
    snprintf(s.name, sizeof(s.name), "cluster-ips");
    elem_msg m = {0};
    elem_msg_open(b, &m, &s, family, NFT_MSG_NEWSETELEM);
    struct nlattr *e = mnl_attr_nest_start(m.nlh, NFTA_LIST_ELEM);
    static const uint8_t bad[3] = {10, 0, 0};
    put_value(m.nlh, NFTA_SET_ELEM_KEY, bad, sizeof(bad));
    mnl_attr_nest_end(m.nlh, e);
    m.count = 1;
    elem_msg_close(b, &m, &s);
}

/* ---- sending and the kernel's answer ---- */

static void batch_finish(batch *b)
{
    ((struct nlmsghdr *)(b->buf + b->last_off))->nlmsg_flags |= NLM_F_ACK;
    nftnl_batch_end(msg_start(b), b->seq_next);
    b->len += NLMSG_ALIGN(((struct nlmsghdr *)(b->buf + b->len))->nlmsg_len);
    b->st->bytes = b->len;
}

static const char *ext_ack_msg(const struct nlmsghdr *nlh)
{
    if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
        return NULL;
    const struct nlattr *a;
    mnl_attr_for_each(a, nlh, sizeof(struct nlmsgerr))
    {
        if (mnl_attr_get_type(a) == NLMSGERR_ATTR_MSG)
            return mnl_attr_get_str(a);
    }
    return NULL;
}

/* Records the first error; returns true when this answer ends the batch. */
static bool on_answer(batch *b, const struct nlmsghdr *nlh, uint32_t last_seq, int *first_errno,
                      kn_error **err)
{
    if (nlh->nlmsg_type != NLMSG_ERROR)
        return false;
    const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
    int code = -e->error;
    if (code && !*first_errno) {
        *first_errno = code;
        uint32_t idx = nlh->nlmsg_seq - b->seq_begin - 1;
        const char *what = nlh->nlmsg_seq == b->seq_begin ? "commit"
                           : idx < b->ndesc               ? b->desc[idx]
                                                          : "?";
        const char *ext = ext_ack_msg(nlh);
        kn_error_errno(err, code, "nftables transaction failed at \"%s\"%s%s", what,
                       ext ? ": " : "", ext ? ext : "");
    }
    return nlh->nlmsg_seq == last_seq || (code && nlh->nlmsg_seq == b->seq_begin);
}

static int batch_recv(np_nft *n, batch *b, uint32_t last_seq, kn_error **err)
{
    size_t cap = 256 * 1024;
    char *buf = xmalloc(cap);
    int first_errno = 0;
    bool done = false;
    while (!done) {
        ssize_t r = mnl_socket_recvfrom(n->nl, buf, cap);
        if (r < 0) {
            int e = errno;
            free(buf);
            if (first_errno)
                return -KN_EIO;
            return kn_error_errno(err, e, "nftables: read the transaction's answer");
        }
        const struct nlmsghdr *nlh = (const struct nlmsghdr *)buf;
        for (int len = (int)r; mnl_nlmsg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len))
            done = on_answer(b, nlh, last_seq, &first_errno, err) || done;
    }
    free(buf);
    return first_errno ? -KN_EIO : 0;
}

static void grow_buffers(np_nft *n, const batch *b)
{
    int fd = mnl_socket_get_fd(n->nl), cur = 0;
    socklen_t sl = sizeof(cur);
    /* the whole batch goes in one datagram; answers may be one per message */
    int want = (int)b->len + 4096;
    if (getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &cur, &sl) == 0 && cur < want)
        setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &want, sizeof(want));
    want = (int)(b->ndesc * 1024 + 256 * 1024);
    sl = sizeof(cur);
    if (getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &cur, &sl) == 0 && cur < want)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &want, sizeof(want));
}

static int batch_send(np_nft *n, batch *b, kn_error **err)
{
    uint32_t last_seq = ((struct nlmsghdr *)(b->buf + b->last_off))->nlmsg_seq;
    batch_finish(b);
    grow_buffers(n, b);
    if (mnl_socket_sendto(n->nl, b->buf, b->len) < 0)
        return kn_error_errno(err, errno, "nftables: send a batch of %zu bytes", b->len);
    return batch_recv(n, b, last_seq, err);
}

/* ---- sync ---- */

static int family_slot(int family)
{
    return family == AF_INET6 ? 1 : 0;
}

/* The ruleset to diff against: the last applied one, or the kernel's. */
static int sync_base(np_nft *n, const np_ruleset *to, bool full, np_ruleset **dumped,
                     const np_ruleset **from, kn_error **err)
{
    *dumped = NULL;
    *from = n->applied[family_slot(to->family)];
    if (*from && !full)
        return 0;
    int r = np__dump(n, to->family, dumped, err);
    if (r < 0)
        return r;
    *from = *dumped;
    return 1;
}

static int sync_build(np_nft *n, batch *b, np_ruleset *const rs[2], bool full, kn_error **err)
{
    for (int i = 0; i < 2; i++) {
        if (!rs[i])
            continue;
        np_ruleset *dumped = NULL;
        const np_ruleset *from = NULL;
        int r = sync_base(n, rs[i], full, &dumped, &from, err);
        if (r < 0)
            return r;
        if (r > 0)
            b->st->full = true;
        sync_family(b, n, from, rs[i]);
        np_ruleset_free(dumped);
    }
    return 0;
}

int np_nft_sync(np_nft *n, np_ruleset *v4, np_ruleset *v6, bool full, np_sync_stats *st,
                kn_error **err)
{
    np_sync_stats local;
    if (!st)
        st = &local;
    memset(st, 0, sizeof(*st));
    np_ruleset *rs[2] = {v4, v6};
    batch b;
    batch_init(&b, n, st);
    int r = sync_build(n, &b, rs, full, err);
    if (r >= 0 && n->fault == NP_NFT_FAULT_BAD_ELEMENT)
        add_fault(&b, v4 ? AF_INET : AF_INET6);
    n->fault = NP_NFT_FAULT_NONE;
    /* nothing to change: no transaction at all */
    if (r >= 0 && b.ndesc > 0)
        r = batch_send(n, &b, err);
    batch_free(&b);
    for (int i = 0; i < 2; i++) {
        if (!rs[i])
            continue;
        np_ruleset_free(n->applied[i]);
        n->applied[i] = r >= 0 ? rs[i] : NULL;
        if (r < 0)
            np_ruleset_free(rs[i]);
    }
    return r < 0 ? r : 0;
}

int np_nft_sync_delta(np_nft *n, np_ruleset *const from[2], np_ruleset *const to[2],
                      np_sync_stats *st, kn_error **err)
{
    np_sync_stats local;
    if (!st)
        st = &local;
    memset(st, 0, sizeof(*st));
    batch b;
    batch_init(&b, n, st);
    for (int i = 0; i < 2; i++) {
        if (from[i] && to[i])
            sync_family(&b, n, from[i], to[i]);
        /* the whole ruleset is no longer known here: a later np_nft_sync
         * reads the kernel's */
        np_ruleset_free(n->applied[i]);
        n->applied[i] = NULL;
    }
    int r = b.ndesc > 0 ? batch_send(n, &b, err) : 0;
    batch_free(&b);
    return r < 0 ? r : 0;
}

int np_nft_dump(np_nft *n, int family, np_ruleset **out, kn_error **err)
{
    return np__dump(n, family, out, err);
}

int np_nft_delete_tables(np_nft *n, kn_error **err)
{
    np_sync_stats st;
    memset(&st, 0, sizeof(st));
    batch b;
    batch_init(&b, n, &st);
    static const int fams[2] = {AF_INET, AF_INET6};
    for (int i = 0; i < 2; i++) {
        np_ruleset *rs = NULL;
        int r = np__dump(n, fams[i], &rs, err);
        if (r < 0) {
            batch_free(&b);
            return r;
        }
        if (r > 0)
            msg_table(&b, fams[i], NFT_MSG_DELTABLE);
        np_ruleset_free(rs);
        np_ruleset_free(n->applied[i]);
        n->applied[i] = NULL;
    }
    int r = b.ndesc ? batch_send(n, &b, err) : 0;
    batch_free(&b);
    return r;
}

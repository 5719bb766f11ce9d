/* ruleset.c - the ruleset data structure: sets, elements, rules, and its
 * rendering as `nft -f` text. Building from a model is in ruleset-build.c. */
#include "netproxy/ruleset.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "lib/strbuf.h"
#include "lib/xalloc.h"

void np_config_init(np_config *c)
{
    memset(c, 0, sizeof(*c));
    c->masq_mark = NP_DEFAULT_MASQ_MARK;
}

/* ---- element layout ---- */

size_t np_key_fields(np_key_kind k, int family, uint8_t sizes[5])
{
    uint8_t a = (uint8_t)np_addr_len(family);
    switch (k) {
    case NP_KEY_ADDR:
        sizes[0] = a;
        return 1;
    case NP_KEY_PAIR:
        sizes[0] = sizes[1] = a;
        return 2;
    case NP_KEY_SVC:
    case NP_KEY_SVC_IDX:
    case NP_KEY_SVC_SADDR:
        sizes[0] = a;
        sizes[1] = 1;
        sizes[2] = 2;
        if (k == NP_KEY_SVC)
            return 3;
        sizes[3] = k == NP_KEY_SVC_IDX ? 4 : a;
        return 4;
    }
    return 0;
}

size_t np_key_len(np_key_kind k, int family)
{
    uint8_t sizes[5];
    size_t n = np_key_fields(k, family, sizes), len = 0;
    for (size_t i = 0; i < n; i++)
        len += (sizes[i] + 3u) & ~3u;
    return len;
}

size_t np_data_len(np_data_kind d, int family)
{
    return d == NP_DATA_ADDR_PORT ? np_addr_len(family) + 4 : 0;
}

/* ---- sets ---- */

np_elem *np_set_add(np_set *s, const np_elem *e)
{
    if (s->nelems == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 16;
        s->elems = xreallocarray(s->elems, s->cap, sizeof(*s->elems));
    }
    np_elem *d = &s->elems[s->nelems++];
    *d = *e;
    d->chain = e->chain ? xstrdup(e->chain) : NULL;
    return d;
}

int np_elem_cmp(const np_set *s, const np_elem *a, const np_elem *b, int family)
{
    size_t len = np_key_len(s->key, family);
    int r = memcmp(a->key, b->key, len);
    if (r || !(s->flags & NP_SET_INTERVAL))
        return r;
    return memcmp(a->key_end, b->key_end, len);
}

/* qsort has no context argument: the key length and whether keys are
 * ranges are passed here. */
static __thread size_t sort_klen;
static __thread bool sort_interval;

int np_elem_data_cmp(const np_elem *a, const np_elem *b)
{
    int r = memcmp(a->data, b->data, sizeof(a->data));
    if (r || (!a->chain && !b->chain))
        return r;
    if (!a->chain || !b->chain)
        return a->chain ? 1 : -1;
    return strcmp(a->chain, b->chain);
}

/* Key, then (for duplicates of a key) data: the survivor of duplicates is
 * the same whatever order they were added in. */
static int cmp_elem_q(const void *a, const void *b)
{
    const np_elem *x = a, *y = b;
    int r = memcmp(x->key, y->key, sort_klen);
    if (!r && sort_interval)
        r = memcmp(x->key_end, y->key_end, sort_klen);
    return r ? r : np_elem_data_cmp(x, y);
}

void np_set_sort(np_set *s, int family)
{
    if (s->nelems < 2)
        return;
    sort_klen = np_key_len(s->key, family);
    sort_interval = (s->flags & NP_SET_INTERVAL) != 0;
    qsort(s->elems, s->nelems, sizeof(*s->elems), cmp_elem_q);
    size_t out = 1;
    for (size_t i = 1; i < s->nelems; i++) {
        if (np_elem_cmp(s, &s->elems[out - 1], &s->elems[i], family) == 0) {
            free(s->elems[i].chain);
            continue;
        }
        s->elems[out++] = s->elems[i];
    }
    s->nelems = out;
}

const np_elem *np_set_find(const np_set *s, const np_elem *e, int family)
{
    size_t lo = 0, hi = s->nelems;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int r = np_elem_cmp(s, &s->elems[mid], e, family);
        if (r == 0)
            return &s->elems[mid];
        if (r < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

bool np_set_same_def(const np_set *a, const np_set *b)
{
    return strcmp(a->name, b->name) == 0 && a->key == b->key && a->mod == b->mod &&
           a->data == b->data && a->flags == b->flags && a->timeout == b->timeout &&
           a->size == b->size;
}

bool np_elem_equal(const np_set *s, const np_elem *a, const np_elem *b, int family)
{
    if (np_elem_cmp(s, a, b, family) != 0)
        return false;
    if (s->data == NP_DATA_ADDR_PORT)
        return memcmp(a->data, b->data, np_data_len(s->data, family)) == 0;
    if (s->data == NP_DATA_VERDICT)
        return a->chain && b->chain && strcmp(a->chain, b->chain) == 0;
    return true;
}

static int cmp_set_name(const void *a, const void *b)
{
    return strcmp(((const np_set *)a)->name, ((const np_set *)b)->name);
}

static int cmp_chain_name(const void *a, const void *b)
{
    return strcmp(((const np_chain *)a)->name, ((const np_chain *)b)->name);
}

const np_set *np_ruleset_find_set(const np_ruleset *rs, const char *name)
{
    np_set key;
    snprintf(key.name, sizeof(key.name), "%s", name);
    return rs->nsets ? bsearch(&key, rs->sets, rs->nsets, sizeof(*rs->sets), cmp_set_name) : NULL;
}

const np_chain *np_ruleset_find_chain(const np_ruleset *rs, const char *name)
{
    np_chain key;
    snprintf(key.name, sizeof(key.name), "%s", name);
    return rs->nchains ? bsearch(&key, rs->chains, rs->nchains, sizeof(*rs->chains), cmp_chain_name)
                       : NULL;
}

np_set *np_ruleset_add_set(np_ruleset *rs, const np_set *def)
{
    if (rs->nsets == rs->capsets) {
        rs->capsets = rs->capsets ? rs->capsets * 2 : 16;
        rs->sets = xreallocarray(rs->sets, rs->capsets, sizeof(*rs->sets));
    }
    np_set *s = &rs->sets[rs->nsets++];
    *s = *def;
    s->nelems = s->cap = 0;
    s->elems = NULL;
    return s;
}

void np_ruleset_add_chain(np_ruleset *rs, const np_chain *c)
{
    if (rs->nchains == rs->capchains) {
        rs->capchains = rs->capchains ? rs->capchains * 2 : 16;
        rs->chains = xreallocarray(rs->chains, rs->capchains, sizeof(*rs->chains));
    }
    np_chain *d = &rs->chains[rs->nchains++];
    *d = *c;
    d->cap = c->nrules;
    d->rules = xcalloc(c->nrules + 1, sizeof(*c->rules));
    memcpy(d->rules, c->rules, c->nrules * sizeof(*c->rules));
}

void np_ruleset_sort(np_ruleset *rs)
{
    for (size_t i = 0; i < rs->nsets; i++)
        np_set_sort(&rs->sets[i], rs->family);
    if (rs->nsets > 1)
        qsort(rs->sets, rs->nsets, sizeof(*rs->sets), cmp_set_name);
    if (rs->nchains > 1)
        qsort(rs->chains, rs->nchains, sizeof(*rs->chains), cmp_chain_name);
}

void np_ruleset_free(np_ruleset *rs)
{
    if (!rs)
        return;
    for (size_t i = 0; i < rs->nsets; i++) {
        for (size_t j = 0; j < rs->sets[i].nelems; j++)
            free(rs->sets[i].elems[j].chain);
        free(rs->sets[i].elems);
    }
    free(rs->sets);
    for (size_t i = 0; i < rs->nchains; i++)
        free(rs->chains[i].rules);
    free(rs->chains);
    free(rs);
}

/* ---- rendering ---- */

static const char *fam_kw(int family)
{
    return family == AF_INET6 ? "ip6" : "ip";
}

static const char *svc_expr(int family)
{
    return family == AF_INET6 ? "ip6 daddr . meta l4proto . th dport"
                              : "ip daddr . meta l4proto . th dport";
}

/* Statements that change the packet or decide its fate. */
static void render_action(kn_buf *b, const np_op *o, int family)
{
    const char *f = fam_kw(family);
    char ip[64];
    switch (o->kind) {
    case NP_OP_MARK_OR:
        kn_buf_appendf(b, "meta mark set meta mark | 0x%08x", o->arg);
        break;
    case NP_OP_MARK_XOR:
        kn_buf_appendf(b, "meta mark set meta mark ^ 0x%08x", o->arg);
        break;
    case NP_OP_UPDATE_SADDR:
        kn_buf_appendf(b, "update @%s { %s saddr }", o->name, f);
        break;
    case NP_OP_DNAT_TO:
        np_addr_str(&o->target.addr, ip, sizeof(ip));
        if (family == AF_INET6)
            kn_buf_appendf(b, "dnat ip6 to [%s]:%u", ip, o->target.port);
        else
            kn_buf_appendf(b, "dnat ip to %s:%u", ip, o->target.port);
        break;
    case NP_OP_DNAT_MAP:
        kn_buf_appendf(b, "dnat %s to %s . numgen random mod %u map @%s", f, svc_expr(family),
                       o->arg, o->name);
        break;
    case NP_OP_SVC_VMAP:
        kn_buf_appendf(b, "%s vmap @%s", svc_expr(family), o->name);
        break;
    case NP_OP_JUMP:
        kn_buf_appendf(b, "jump %s", o->name);
        break;
    case NP_OP_GOTO:
        kn_buf_appendf(b, "goto %s", o->name);
        break;
    case NP_OP_MASQ:
        kn_buf_append_str(b, "masquerade fully-random");
        break;
    case NP_OP_REJECT:
        kn_buf_append_str(b, "reject");
        break;
    case NP_OP_REJECT_TCP:
        kn_buf_append_str(b, "reject with tcp reset");
        break;
    default: /* NP_OP_DROP */
        kn_buf_append_str(b, "drop");
        break;
    }
}

/* Matches; anything else is an action. */
static void render_op(kn_buf *b, const np_op *o, int family)
{
    const char *f = fam_kw(family), *neg = o->neg ? "!= " : "";
    switch (o->kind) {
    case NP_OP_CT_STATE_NEW:
        kn_buf_append_str(b, "ct state new");
        break;
    case NP_OP_CT_STATUS_DNAT:
        kn_buf_append_str(b, "ct status dnat");
        break;
    case NP_OP_DADDR_IN:
        kn_buf_appendf(b, "%s daddr %s@%s", f, neg, o->name);
        break;
    case NP_OP_SADDR_IN:
        kn_buf_appendf(b, "%s saddr %s@%s", f, neg, o->name);
        break;
    case NP_OP_SVC_IN:
        kn_buf_appendf(b, "%s %s@%s", svc_expr(family), neg, o->name);
        break;
    case NP_OP_SVC_SADDR_IN:
        kn_buf_appendf(b, "%s . %s saddr %s@%s", svc_expr(family), f, neg, o->name);
        break;
    case NP_OP_PAIR_IN:
        kn_buf_appendf(b, "%s saddr . %s daddr %s@%s", f, f, neg, o->name);
        break;
    case NP_OP_L4PROTO:
        kn_buf_appendf(b, "meta l4proto %s", np_proto_name((np_proto)o->arg));
        break;
    case NP_OP_FIB_SADDR_LOCAL:
        kn_buf_append_str(b, "fib saddr type local");
        break;
    case NP_OP_MARK_TEST:
        kn_buf_appendf(b, "meta mark & 0x%08x == 0x%08x", o->arg, o->arg);
        break;
    case NP_OP_NUMGEN_ZERO:
        kn_buf_appendf(b, "numgen random mod %u == 0", o->arg);
        break;
    default:
        render_action(b, o, family);
        break;
    }
}

const char *np_rule_render(const np_rule *r, int family, char *buf, size_t len)
{
    kn_buf b = KN_BUF_INIT;
    for (size_t i = 0; i < r->nops; i++) {
        if (i)
            kn_buf_append_char(&b, ' ');
        render_op(&b, &r->ops[i], family);
    }
    snprintf(buf, len, "%s", b.data);
    kn_buf_free(&b);
    return buf;
}

static const char *key_typeof(const np_set *s, int family, char *buf, size_t len)
{
    const char *f = fam_kw(family);
    switch (s->key) {
    case NP_KEY_ADDR:
        snprintf(buf, len, "type %s", family == AF_INET6 ? "ipv6_addr" : "ipv4_addr");
        break;
    case NP_KEY_SVC:
        snprintf(buf, len, "typeof %s", svc_expr(family));
        break;
    case NP_KEY_SVC_IDX:
        snprintf(buf, len, "typeof %s . numgen random mod %u", svc_expr(family), s->mod);
        break;
    case NP_KEY_SVC_SADDR:
        snprintf(buf, len, "typeof %s . %s saddr", svc_expr(family), f);
        break;
    case NP_KEY_PAIR:
        snprintf(buf, len, "typeof %s saddr . %s daddr", f, f);
        break;
    }
    return buf;
}

/* ---- element text ---- */

static void render_addr(kn_buf *b, const uint8_t *p, int family)
{
    char ip[64];
    np_addr a = {.family = family};
    memcpy(a.bytes, p, np_addr_len(family));
    kn_buf_append_str(b, np_addr_str(&a, ip, sizeof(ip)));
}

static uint16_t get_port(const uint8_t *p)
{
    return (uint16_t)((p[0] << 8) | p[1]);
}

/* Renders field i of a key (sizes[i] bytes at p). */
static void render_field(kn_buf *b, np_key_kind k, size_t i, const uint8_t *p, int family)
{
    if (i == 0 || (i == 3 && k == NP_KEY_SVC_SADDR) || (i == 1 && k == NP_KEY_PAIR)) {
        render_addr(b, p, family);
    } else if (i == 1) {
        kn_buf_append_str(b, np_proto_name((np_proto)p[0]));
    } else if (i == 2) {
        kn_buf_appendf(b, "%u", get_port(p));
    } else {
        uint32_t v;
        memcpy(&v, p, 4);
        kn_buf_appendf(b, "%u", v);
    }
}

static void render_key(kn_buf *b, const np_set *s, const np_elem *e, int family)
{
    uint8_t sizes[5];
    size_t n = np_key_fields(s->key, family, sizes), off = 0;
    for (size_t i = 0; i < n; i++) {
        if (i)
            kn_buf_append_str(b, " . ");
        render_field(b, s->key, i, e->key + off, family);
        /* the last field of an interval key is a range */
        if ((s->flags & NP_SET_INTERVAL) && i == n - 1 &&
            memcmp(e->key + off, e->key_end + off, sizes[i]) != 0) {
            kn_buf_append_char(b, '-');
            render_field(b, s->key, i, e->key_end + off, family);
        }
        off += (sizes[i] + 3u) & ~3u;
    }
}

static void render_elem(kn_buf *b, const np_set *s, const np_elem *e, int family)
{
    render_key(b, s, e, family);
    if (s->data == NP_DATA_ADDR_PORT) {
        kn_buf_append_str(b, " : ");
        render_addr(b, e->data, family);
        kn_buf_appendf(b, " . %u", get_port(e->data + np_addr_len(family)));
    } else if (s->data == NP_DATA_VERDICT) {
        kn_buf_appendf(b, " : goto %s", e->chain ? e->chain : "?");
    }
}

static void render_set(kn_buf *b, const np_set *s, int family)
{
    char t[160];
    kn_buf_appendf(b, "\t%s %s {\n\t\t%s", s->data == NP_DATA_NONE ? "set" : "map", s->name,
                   key_typeof(s, family, t, sizeof(t)));
    if (s->data == NP_DATA_ADDR_PORT)
        kn_buf_appendf(b, " : %s daddr . th dport", fam_kw(family));
    else if (s->data == NP_DATA_VERDICT)
        kn_buf_append_str(b, " : verdict");
    kn_buf_append_char(b, '\n');
    if (s->size)
        kn_buf_appendf(b, "\t\tsize %u\n", s->size);
    if (s->flags & NP_SET_INTERVAL)
        kn_buf_append_str(b, "\t\tflags interval\n");
    if (s->flags & NP_SET_DYNAMIC)
        kn_buf_appendf(b, "\t\tflags dynamic,timeout\n\t\ttimeout %us\n", s->timeout);
    if (s->nelems) {
        kn_buf_append_str(b, "\t\telements = {");
        for (size_t i = 0; i < s->nelems; i++) {
            kn_buf_append_str(b, i ? ",\n\t\t\t" : " ");
            render_elem(b, s, &s->elems[i], family);
        }
        kn_buf_append_str(b, " }\n");
    }
    kn_buf_append_str(b, "\t}\n");
}

static const char *hook_name(np_hook h)
{
    static const char *const names[] = {"",        "prerouting", "input",
                                        "forward", "output",     "postrouting"};
    return names[h];
}

static void render_chain(kn_buf *b, const np_chain *c, int family)
{
    kn_buf_appendf(b, "\tchain %s {\n", c->name);
    if (c->hook != NP_HOOK_NONE)
        kn_buf_appendf(b, "\t\ttype %s hook %s priority %d; policy accept;\n",
                       c->nat ? "nat" : "filter", hook_name(c->hook), c->priority);
    for (size_t i = 0; i < c->nrules; i++) {
        char text[1024];
        kn_buf_appendf(b, "\t\t%s comment \"%s\"\n",
                       np_rule_render(&c->rules[i], family, text, sizeof(text)),
                       c->rules[i].comment);
    }
    kn_buf_append_str(b, "\t}\n");
}

char *np_ruleset_render(const np_ruleset *rs)
{
    kn_buf b = KN_BUF_INIT;
    kn_buf_appendf(&b, "table %s %s {\n", fam_kw(rs->family), NP_TABLE_NAME);
    for (size_t i = 0; i < rs->nsets; i++)
        render_set(&b, &rs->sets[i], rs->family);
    for (size_t i = 0; i < rs->nchains; i++)
        render_chain(&b, &rs->chains[i], rs->family);
    kn_buf_append_str(&b, "}\n");
    return kn_buf_steal(&b);
}

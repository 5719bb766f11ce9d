/* conntrack.c - the stale-entry plan and its application to the kernel's
 * conntrack table (libnetfilter_conntrack). */
#include "netproxy/conntrack.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libnetfilter_conntrack/libnetfilter_conntrack.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "lib/xalloc.h"
#include "netproxy/ruleset.h"

/* A frontend: an address and port (or, for nodePorts, a port on any node
 * address) with the addresses of its serving endpoints (sorted). */
typedef struct front {
    np_addr addr; /* family 0 for nodePorts */
    uint16_t port;
    size_t neps;
    np_addr *eps;
} front;

typedef struct front_list {
    size_t n, cap;
    front *v;
} front_list;

struct np_ct_plan {
    front_list live, gone; /* both hold address frontends and nodePorts */
    size_t nnode_ips;
    np_addr node_ips[NP_MAX_NODE_IPS];
    bool any_udp;
};

static int cmp_front(const void *a, const void *b)
{
    const front *x = a, *y = b;
    if (x->addr.family != y->addr.family)
        return x->addr.family < y->addr.family ? -1 : 1;
    if (x->addr.family) {
        int r = np_addr_cmp(&x->addr, &y->addr);
        if (r)
            return r;
    }
    return (int)x->port - (int)y->port;
}

static int cmp_addr(const void *a, const void *b)
{
    return np_addr_cmp(a, b);
}

static void fl_push(front_list *l, const front *f)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 16;
        l->v = xreallocarray(l->v, l->cap, sizeof(*l->v));
    }
    l->v[l->n++] = *f;
}

static void fl_free(front_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i].eps);
    free(l->v);
    memset(l, 0, sizeof(*l));
}

static const front *fl_find(const front_list *l, const np_addr *addr, uint16_t port)
{
    front key = {.port = port};
    if (addr)
        key.addr = *addr;
    return l->n ? bsearch(&key, l->v, l->n, sizeof(*l->v), cmp_front) : NULL;
}

/* The serving endpoints of a Service port that have a target port for it
 * (any family; the lookup compares whole addresses). */
static np_addr *serving_eps(const np_service *s, const np_port *p, size_t *n)
{
    np_addr *v = xcalloc(s->nendpoints + 1, sizeof(*v));
    *n = 0;
    for (size_t i = 0; i < s->nendpoints; i++) {
        const np_endpoint *e = &s->endpoints[i];
        bool has_port = false;
        for (size_t j = 0; j < e->nports && !has_port; j++)
            has_port = e->ports[j].proto == p->proto && strcmp(e->ports[j].name, p->name) == 0;
        if (e->serving && has_port)
            v[(*n)++] = e->addr;
    }
    qsort(v, *n, sizeof(*v), cmp_addr);
    return v;
}

static void push_addrs(front_list *l, const np_addr *addrs, size_t naddrs, uint16_t port,
                       const np_addr *eps, size_t neps)
{
    for (size_t i = 0; i < naddrs; i++) {
        front f = {.addr = addrs[i], .port = port, .neps = neps};
        f.eps = xreallocarray(NULL, neps + 1, sizeof(*f.eps));
        memcpy(f.eps, eps, neps * sizeof(*eps));
        fl_push(l, &f);
    }
}

/* Every UDP frontend of a model, with its serving endpoints. */
static bool collect(const np_model *m, front_list *out)
{
    bool any = false;
    for (size_t i = 0; m && i < m->nservices; i++) {
        const np_service *s = &m->services[i];
        for (size_t j = 0; j < s->nports; j++) {
            const np_port *p = &s->ports[j];
            if (p->proto != NP_PROTO_UDP)
                continue;
            any = true;
            size_t neps = 0;
            np_addr *eps = serving_eps(s, p, &neps);
            push_addrs(out, s->cluster_ips, s->ncluster_ips, p->port, eps, neps);
            push_addrs(out, s->external_ips, s->nexternal_ips, p->port, eps, neps);
            push_addrs(out, s->lb_ips, s->nlb_ips, p->port, eps, neps);
            if (p->node_port) {
                front f = {.port = p->node_port, .neps = neps, .eps = eps};
                fl_push(out, &f);
                eps = NULL;
            }
            free(eps);
        }
    }
    if (out->n > 1)
        qsort(out->v, out->n, sizeof(*out->v), cmp_front);
    return any;
}

np_ct_plan *np_ct_plan_build(const np_model *old, const np_model *new, const np_addr *node_ips,
                             size_t nnode_ips)
{
    np_ct_plan *p = xcalloc(1, sizeof(*p));
    front_list before = {0};
    p->any_udp = collect(new, &p->live);
    p->any_udp = collect(old, &before) || p->any_udp;
    for (size_t i = 0; i < before.n; i++) {
        const front *f = &before.v[i];
        if (fl_find(&p->live, f->addr.family ? &f->addr : NULL, f->port))
            continue;
        front g = {.addr = f->addr, .port = f->port};
        fl_push(&p->gone, &g);
    }
    fl_free(&before);
    p->nnode_ips = nnode_ips < NP_MAX_NODE_IPS ? nnode_ips : NP_MAX_NODE_IPS;
    if (p->nnode_ips)
        memcpy(p->node_ips, node_ips, p->nnode_ips * sizeof(*node_ips));
    return p;
}

void np_ct_plan_free(np_ct_plan *p)
{
    if (!p)
        return;
    fl_free(&p->live);
    fl_free(&p->gone);
    free(p);
}

bool np_ct_plan_empty(const np_ct_plan *p)
{
    return !p->any_udp;
}

static bool is_node_ip(const np_ct_plan *p, const np_addr *a)
{
    for (size_t i = 0; i < p->nnode_ips; i++) {
        if (np_addr_cmp(&p->node_ips[i], a) == 0)
            return true;
    }
    return false;
}

static bool has_ep(const front *f, const np_addr *a)
{
    return f->neps && bsearch(a, f->eps, f->neps, sizeof(*f->eps), cmp_addr) != NULL;
}

bool np_ct_plan_stale(const np_ct_plan *p, const np_ct_entry *e)
{
    if (e->proto != IPPROTO_UDP)
        return false;
    const front *f = fl_find(&p->live, &e->orig_dst, e->orig_dport);
    if (f)
        return !has_ep(f, &e->reply_src);
    if (fl_find(&p->gone, &e->orig_dst, e->orig_dport))
        return true;
    if (!is_node_ip(p, &e->orig_dst))
        return false;
    if ((f = fl_find(&p->live, NULL, e->orig_dport)) != NULL)
        return !has_ep(f, &e->reply_src);
    return fl_find(&p->gone, NULL, e->orig_dport) != NULL;
}

/* ---- the kernel's table ---- */

typedef struct dump_ctx {
    const np_ct_plan *plan;
    size_t n, cap;
    struct nf_conntrack **stale;
} dump_ctx;

static bool read_addr(const struct nf_conntrack *ct, int family, int attr4, int attr6, np_addr *out)
{
    memset(out, 0, sizeof(*out));
    out->family = family;
    int attr = family == AF_INET ? attr4 : attr6;
    if (!nfct_attr_is_set(ct, attr))
        return false;
    memcpy(out->bytes, nfct_get_attr(ct, attr), np_addr_len(family));
    return true;
}

/* The entry's fields; false for entries a plan never matches. */
static bool read_entry(const struct nf_conntrack *ct, np_ct_entry *e)
{
    int family = nfct_get_attr_u8(ct, ATTR_ORIG_L3PROTO);
    if (family != AF_INET && family != AF_INET6)
        return false;
    e->proto = nfct_get_attr_u8(ct, ATTR_ORIG_L4PROTO);
    if (e->proto != IPPROTO_UDP || !nfct_attr_is_set(ct, ATTR_ORIG_PORT_DST))
        return false;
    e->orig_dport = ntohs(nfct_get_attr_u16(ct, ATTR_ORIG_PORT_DST));
    return read_addr(ct, family, ATTR_ORIG_IPV4_DST, ATTR_ORIG_IPV6_DST, &e->orig_dst) &&
           read_addr(ct, family, ATTR_REPL_IPV4_SRC, ATTR_REPL_IPV6_SRC, &e->reply_src);
}

static int on_entry(enum nf_conntrack_msg_type type, struct nf_conntrack *ct, void *data)
{
    dump_ctx *c = data;
    np_ct_entry e;
    if (!read_entry(ct, &e) || !np_ct_plan_stale(c->plan, &e))
        return NFCT_CB_CONTINUE;
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 16;
        c->stale = xreallocarray(c->stale, c->cap, sizeof(*c->stale));
    }
    struct nf_conntrack *copy = nfct_clone(ct);
    if (!copy)
        kn_oom();
    c->stale[c->n++] = copy;
    return NFCT_CB_CONTINUE;
}

static int dump_stale(const np_ct_plan *p, dump_ctx *c, kn_error **err)
{
    struct nfct_handle *h = nfct_open(CONNTRACK, 0);
    if (!h)
        return kn_error_errno(err, errno, "conntrack: open netlink socket");
    c->plan = p;
    nfct_callback_register(h, NFCT_T_ALL, on_entry, c);
    uint32_t family = AF_UNSPEC;
    int r = 0;
    if (nfct_query(h, NFCT_Q_DUMP, &family) < 0)
        r = kn_error_errno(err, errno, "conntrack: dump the table");
    nfct_close(h);
    return r;
}

static int delete_stale(dump_ctx *c, size_t *deleted, kn_error **err)
{
    struct nfct_handle *h = nfct_open(CONNTRACK, 0);
    if (!h)
        return kn_error_errno(err, errno, "conntrack: open netlink socket");
    int r = 0;
    for (size_t i = 0; i < c->n; i++) {
        if (nfct_query(h, NFCT_Q_DESTROY, c->stale[i]) == 0)
            (*deleted)++;
        else if (errno != ENOENT && r == 0)
            r = kn_error_errno(err, errno, "conntrack: delete an entry");
    }
    nfct_close(h);
    return r;
}

int np_ct_cleanup(const np_ct_plan *p, size_t *deleted, kn_error **err)
{
    size_t local = 0;
    if (!deleted)
        deleted = &local;
    *deleted = 0;
    if (np_ct_plan_empty(p))
        return 0;
    dump_ctx c = {0};
    int r = dump_stale(p, &c, err);
    if (r >= 0)
        r = delete_stale(&c, deleted, err);
    for (size_t i = 0; i < c.n; i++)
        nfct_destroy(c.stale[i]);
    free(c.stale);
    return r;
}

/* ipvs-plan.c - what the model asks of IPVS, kube-ipvs0 and the knode-ipvs
 * tables (np_ipvs_plan_build), and the requests from one IPVS table to
 * another (np_ipvs_diff). Pure: no kernel calls. */
#include <linux/ip_vs.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "lib/xalloc.h"
#include "netproxy/ipvs.h"

/* kube-proxy's persistence granularity: one client address */
#define NETMASK_V4 0xffffffffu
#define NETMASK_V6 128u

/* ---- small growable arrays ---- */

#define GROW(arr, n, cap)                                                                          \
    do {                                                                                           \
        if ((n) == (cap)) {                                                                        \
            (cap) = (cap) ? (cap)*2 : 16;                                                          \
            (arr) = xreallocarray((arr), (cap), sizeof(*(arr)));                                   \
        }                                                                                          \
    } while (0)

static void add_key(np_ipvs_keys *k, const np_ipvs_svc *key)
{
    GROW(k->v, k->n, k->cap);
    k->v[k->n++] = *key;
}

static int cmp_key(const void *a, const void *b)
{
    return np_ipvs_svc_cmp(a, b);
}

static int cmp_addr(const void *a, const void *b)
{
    return np_addr_cmp(a, b);
}

static int cmp_vs(const void *a, const void *b)
{
    return np_ipvs_svc_cmp(&((const np_ipvs_vs *)a)->svc, &((const np_ipvs_vs *)b)->svc);
}

static int cmp_fw(const void *a, const void *b)
{
    const np_ipvs_fw *x = a, *y = b;
    int c = np_ipvs_svc_cmp(&x->key, &y->key);
    if (!c)
        c = np_addr_cmp(&x->src.addr, &y->src.addr);
    return c ? c : (int)x->src.prefix - (int)y->src.prefix;
}

/* Sorts n elements of size sz and drops neighbours that compare equal
 * (the first stays); returns the new count. */
static size_t sort_unique(void *v, size_t n, size_t sz, int (*cmp)(const void *, const void *))
{
    if (n < 2)
        return n;
    qsort(v, n, sz, cmp);
    char *b = v;
    size_t out = 1;
    for (size_t i = 1; i < n; i++) {
        if (cmp(b + (out - 1) * sz, b + i * sz) != 0)
            memmove(b + out++ * sz, b + i * sz, sz);
    }
    return out;
}

/* ---- building ---- */

static np_ipvs_svc make_key(const np_addr *a, np_proto proto, uint16_t port)
{
    np_ipvs_svc k = {.af = (uint16_t)a->family, .protocol = (uint16_t)proto, .port = port};
    memcpy(k.addr, a->bytes, np_addr_len(a->family));
    return k;
}

typedef struct planner {
    np_ipvs_plan *p;
    const np_config *cfg;
    const char *sched;
} planner;

/* Adds a virtual service with targets as destinations (masquerade, weight
 * 1); duplicates of a key are dropped later (the first stays). */
static void add_vs(planner *pl, const np_service *s, const np_ipvs_svc *key, const np_target *t,
                   size_t nt)
{
    np_ipvs_table *tab = &pl->p->table;
    GROW(tab->v, tab->n, tab->cap);
    np_ipvs_vs *vs = &tab->v[tab->n++];
    memset(vs, 0, sizeof(*vs));
    vs->svc = *key;
    snprintf(vs->svc.sched, sizeof(vs->svc.sched), "%s", pl->sched);
    vs->svc.netmask = key->af == AF_INET6 ? NETMASK_V6 : NETMASK_V4;
    if (s->affinity) {
        vs->svc.flags = IP_VS_SVC_F_PERSISTENT;
        vs->svc.timeout = s->affinity_timeout;
    }
    vs->dests = nt ? xcalloc(nt, sizeof(*vs->dests)) : NULL;
    for (size_t i = 0; i < nt; i++) {
        np_ipvs_dest *d = &vs->dests[vs->ndests++];
        d->af = (uint16_t)t[i].addr.family;
        memcpy(d->addr, t[i].addr.bytes, np_addr_len(t[i].addr.family));
        d->port = t[i].port;
        d->fwd = IP_VS_CONN_F_MASQ;
        d->weight = 1;
    }
}

static void add_bound_addr(np_ipvs_plan *p, const np_addr *a)
{
    GROW(p->addrs, p->naddrs, p->capaddrs);
    p->addrs[p->naddrs++] = *a;
}

/* An externalIP or load-balancer IP port: bound to kube-ipvs0, masqueraded
 * under policy Cluster. */
static void add_external(planner *pl, const np_service *s, const np_addr *a, const np_port *port,
                         const np_target *t, size_t nt)
{
    np_ipvs_svc key = make_key(a, port->proto, port->port);
    add_vs(pl, s, &key, t, nt);
    add_bound_addr(pl->p, a);
    add_key(&pl->p->bound, &key);
    if (s->external_policy == NP_POLICY_CLUSTER)
        add_key(&pl->p->masq, &key);
}

static void add_lb(planner *pl, const np_service *s, const np_addr *a, const np_port *port,
                   const np_target *t, size_t nt)
{
    add_external(pl, s, a, port, t, nt);
    if (!s->nsource_ranges)
        return;
    np_ipvs_svc key = make_key(a, port->proto, port->port);
    add_key(&pl->p->fw, &key);
    for (size_t i = 0; i < s->nsource_ranges; i++) {
        if (s->source_ranges[i].addr.family != a->family)
            continue;
        GROW(pl->p->fw_allow, pl->p->nfw_allow, pl->p->capfw);
        pl->p->fw_allow[pl->p->nfw_allow++] = (np_ipvs_fw){key, s->source_ranges[i]};
    }
}

static void add_hairpin(np_ipvs_plan *p, const np_target *t, size_t nt)
{
    for (size_t i = 0; i < nt; i++) {
        GROW(p->hairpin, p->nhairpin, p->caphairpin);
        p->hairpin[p->nhairpin++] = t[i].addr;
    }
}

static void add_port(planner *pl, const np_service *s, const np_port *port, int family)
{
    np_selection sel;
    np_select_endpoints(s, port, family, pl->cfg->node_name, &sel);
    const np_target *in = s->internal_policy == NP_POLICY_LOCAL ? sel.local : sel.cluster;
    size_t nin = s->internal_policy == NP_POLICY_LOCAL ? sel.nlocal : sel.ncluster;
    const np_target *ex = s->external_policy == NP_POLICY_LOCAL ? sel.local : sel.cluster;
    size_t nex = s->external_policy == NP_POLICY_LOCAL ? sel.nlocal : sel.ncluster;
    for (size_t i = 0; i < s->ncluster_ips; i++) {
        if (s->cluster_ips[i].family != family)
            continue;
        np_ipvs_svc key = make_key(&s->cluster_ips[i], port->proto, port->port);
        add_vs(pl, s, &key, in, nin);
        add_bound_addr(pl->p, &s->cluster_ips[i]);
        add_key(&pl->p->cluster, &key);
        add_key(&pl->p->bound, &key);
    }
    for (size_t i = 0; i < s->nexternal_ips; i++) {
        if (s->external_ips[i].family == family)
            add_external(pl, s, &s->external_ips[i], port, ex, nex);
    }
    for (size_t i = 0; i < s->nlb_ips; i++) {
        if (s->type == NP_SVC_LOAD_BALANCER && s->lb_ips[i].family == family)
            add_lb(pl, s, &s->lb_ips[i], port, ex, nex);
    }
    for (size_t i = 0; port->node_port && i < pl->cfg->nnode_ips; i++) {
        const np_addr *nip = &pl->cfg->node_ips[i];
        if (nip->family != family)
            continue;
        np_ipvs_svc key = make_key(nip, port->proto, port->node_port);
        add_vs(pl, s, &key, ex, nex);
        if (s->external_policy == NP_POLICY_CLUSTER)
            add_key(&pl->p->masq, &key);
    }
    add_hairpin(pl->p, sel.cluster, sel.ncluster);
    add_hairpin(pl->p, sel.local, sel.nlocal);
    np_selection_free(&sel);
}

static void sort_keys(np_ipvs_keys *k)
{
    k->n = sort_unique(k->v, k->n, sizeof(*k->v), cmp_key);
}

/* Sorts everything; a duplicated virtual service key keeps its first
 * definition (its destinations are freed with the dropped copies). */
static void plan_sort(np_ipvs_plan *p)
{
    np_ipvs_table *t = &p->table;
    if (t->n > 1)
        qsort(t->v, t->n, sizeof(*t->v), cmp_vs);
    size_t out = 0;
    for (size_t i = 0; i < t->n; i++) {
        if (out && cmp_vs(&t->v[out - 1], &t->v[i]) == 0) {
            free(t->v[i].dests);
            continue;
        }
        t->v[out] = t->v[i];
        np_ipvs_vs *vs = &t->v[out++];
        vs->ndests = sort_unique(vs->dests, vs->ndests, sizeof(*vs->dests),
                                 (int (*)(const void *, const void *))np_ipvs_dest_cmp);
    }
    t->n = out;
    p->naddrs = sort_unique(p->addrs, p->naddrs, sizeof(*p->addrs), cmp_addr);
    p->nhairpin = sort_unique(p->hairpin, p->nhairpin, sizeof(*p->hairpin), cmp_addr);
    p->nfw_allow = sort_unique(p->fw_allow, p->nfw_allow, sizeof(*p->fw_allow), cmp_fw);
    sort_keys(&p->cluster);
    sort_keys(&p->bound);
    sort_keys(&p->masq);
    sort_keys(&p->fw);
}

void np_ipvs_plan_build(const np_model *m, const np_config *cfg, bool ipv4, bool ipv6,
                        const char *sched, np_ipvs_plan *out)
{
    memset(out, 0, sizeof(*out));
    planner pl = {out, cfg, sched && *sched ? sched : NP_IPVS_DEFAULT_SCHED};
    for (size_t i = 0; m && i < m->nservices; i++) {
        const np_service *s = &m->services[i];
        if (s->type == NP_SVC_EXTERNAL_NAME)
            continue;
        for (size_t j = 0; j < s->nports; j++) {
            if (ipv4)
                add_port(&pl, s, &s->ports[j], AF_INET);
            if (ipv6)
                add_port(&pl, s, &s->ports[j], AF_INET6);
        }
    }
    plan_sort(out);
}

void np_ipvs_table_free(np_ipvs_table *t)
{
    for (size_t i = 0; i < t->n; i++)
        free(t->v[i].dests);
    free(t->v);
    memset(t, 0, sizeof(*t));
}

void np_ipvs_table_copy(np_ipvs_table *dst, const np_ipvs_table *src)
{
    memset(dst, 0, sizeof(*dst));
    dst->n = dst->cap = src->n;
    dst->v = src->n ? xcalloc(src->n, sizeof(*dst->v)) : NULL;
    for (size_t i = 0; i < src->n; i++) {
        dst->v[i] = src->v[i];
        size_t nd = src->v[i].ndests;
        dst->v[i].dests = nd ? xmalloc(nd * sizeof(np_ipvs_dest)) : NULL;
        if (nd)
            memcpy(dst->v[i].dests, src->v[i].dests, nd * sizeof(np_ipvs_dest));
    }
}

void np_ipvs_plan_free(np_ipvs_plan *p)
{
    np_ipvs_table_free(&p->table);
    free(p->addrs);
    free(p->cluster.v);
    free(p->bound.v);
    free(p->masq.v);
    free(p->fw.v);
    free(p->fw_allow);
    free(p->hairpin);
    memset(p, 0, sizeof(*p));
}

const np_ipvs_vs *np_ipvs_table_find(const np_ipvs_table *t, const np_ipvs_svc *key)
{
    np_ipvs_vs k = {.svc = *key};
    return t->n ? bsearch(&k, t->v, t->n, sizeof(*t->v), cmp_vs) : NULL;
}

/* ---- diff ---- */

static void push(np_ipvs_ops *ops, uint8_t cmd, const np_ipvs_svc *s, const np_ipvs_dest *d)
{
    GROW(ops->v, ops->n, ops->cap);
    np_ipvs_msg *m = &ops->v[ops->n++];
    memset(m, 0, sizeof(*m));
    m->cmd = cmd;
    m->svc = *s;
    if (d)
        m->dest = *d;
}

/* The kernel reports its internal "hashed" flag; it is never ours to set. */
static bool svc_same_def(const np_ipvs_svc *a, const np_ipvs_svc *b)
{
    uint32_t mask = ~(uint32_t)IP_VS_SVC_F_HASHED;
    return strcmp(a->sched, b->sched) == 0 && strcmp(a->pe, b->pe) == 0 &&
           (a->flags & mask) == (b->flags & mask) && a->timeout == b->timeout &&
           a->netmask == b->netmask;
}

static bool dest_same_def(const np_ipvs_dest *a, const np_ipvs_dest *b)
{
    return (a->fwd & IP_VS_CONN_F_FWD_MASK) == (b->fwd & IP_VS_CONN_F_FWD_MASK) &&
           a->weight == b->weight && a->u_thresh == b->u_thresh && a->l_thresh == b->l_thresh;
}

static void diff_dests(const np_ipvs_vs *cur, const np_ipvs_vs *want, np_ipvs_ops *ops)
{
    size_t i = 0, j = 0;
    while (i < cur->ndests || j < want->ndests) {
        int c = i == cur->ndests    ? 1
                : j == want->ndests ? -1
                                    : np_ipvs_dest_cmp(&cur->dests[i], &want->dests[j]);
        if (c < 0) {
            push(ops, IPVS_CMD_DEL_DEST, &want->svc, &cur->dests[i++]);
        } else if (c > 0) {
            push(ops, IPVS_CMD_NEW_DEST, &want->svc, &want->dests[j++]);
        } else {
            if (!dest_same_def(&cur->dests[i], &want->dests[j]))
                push(ops, IPVS_CMD_SET_DEST, &want->svc, &want->dests[j]);
            i++, j++;
        }
    }
}

static void add_whole(const np_ipvs_vs *want, np_ipvs_ops *ops)
{
    push(ops, IPVS_CMD_NEW_SERVICE, &want->svc, NULL);
    for (size_t k = 0; k < want->ndests; k++)
        push(ops, IPVS_CMD_NEW_DEST, &want->svc, &want->dests[k]);
}

void np_ipvs_diff(const np_ipvs_table *cur, const np_ipvs_table *want, np_ipvs_ops *out)
{
    memset(out, 0, sizeof(*out));
    for (size_t i = 0; cur && i < cur->n; i++) {
        const np_ipvs_svc *s = &cur->v[i].svc;
        if (!s->fwmark && !np_ipvs_table_find(want, s))
            push(out, IPVS_CMD_DEL_SERVICE, s, NULL);
    }
    for (size_t j = 0; j < want->n; j++) {
        const np_ipvs_vs *w = &want->v[j];
        const np_ipvs_vs *c = cur ? np_ipvs_table_find(cur, &w->svc) : NULL;
        if (!c) {
            add_whole(w, out);
            continue;
        }
        if (!svc_same_def(&c->svc, &w->svc))
            push(out, IPVS_CMD_SET_SERVICE, &w->svc, NULL);
        diff_dests(c, w, out);
    }
}

void np_ipvs_ops_free(np_ipvs_ops *ops)
{
    free(ops->v);
    memset(ops, 0, sizeof(*ops));
}

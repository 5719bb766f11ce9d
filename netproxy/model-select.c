/* model-select.c - endpoint selection (kube-proxy's CategorizeEndpoints) and
 * the diff between two models. */
#include <stdlib.h>
#include <string.h>

#include "lib/xalloc.h"
#include "netproxy/model.h"

bool np_service_external(const np_service *svc)
{
    if (svc->nexternal_ips || svc->nlb_ips)
        return true;
    for (size_t i = 0; i < svc->nports; i++) {
        if (svc->ports[i].node_port)
            return true;
    }
    return false;
}

/* The endpoint's target port for the Service port (same name and protocol),
 * or 0 when its slice does not have it. */
static uint16_t target_port(const np_endpoint *e, const np_port *p)
{
    for (size_t i = 0; i < e->nports; i++) {
        if (e->ports[i].proto == p->proto && strcmp(e->ports[i].name, p->name) == 0)
            return e->ports[i].port;
    }
    return 0;
}

static bool is_local(const np_endpoint *e, const char *node)
{
    return node && e->node_name && strcmp(e->node_name, node) == 0;
}

static int cmp_target(const void *a, const void *b)
{
    const np_target *x = a, *y = b;
    int r = np_addr_cmp(&x->addr, &y->addr);
    return r ? r : (int)x->port - (int)y->port;
}

/* Sorts and removes duplicate targets in place; returns the new count. */
static size_t uniq_targets(np_target *v, size_t n)
{
    if (n > 1)
        qsort(v, n, sizeof(*v), cmp_target);
    size_t out = 0;
    for (size_t i = 0; i < n; i++) {
        if (out == 0 || cmp_target(&v[out - 1], &v[i]) != 0)
            v[out++] = v[i];
    }
    return out;
}

enum { PICK_READY, PICK_SERVING_TERMINATING };

static bool picked(const np_endpoint *e, int how)
{
    return how == PICK_READY ? e->ready : (e->serving && e->terminating);
}

/* Collects the endpoints of family that have the port and match how (and,
 * with local_only, are on node). */
static size_t collect(const np_service *svc, const np_port *p, int family, int how, bool local_only,
                      const char *node, np_target *out)
{
    size_t n = 0;
    for (size_t i = 0; i < svc->nendpoints; i++) {
        const np_endpoint *e = &svc->endpoints[i];
        uint16_t port = target_port(e, p);
        if (e->addr.family != family || !port || !picked(e, how))
            continue;
        if (local_only && !is_local(e, node))
            continue;
        out[n++] = (np_target){e->addr, port};
    }
    return uniq_targets(out, n);
}

void np_select_endpoints(const np_service *svc, const np_port *port, int family,
                         const char *node_name, np_selection *out)
{
    memset(out, 0, sizeof(*out));
    size_t cap = svc->nendpoints + 1;
    out->cluster = xcalloc(cap, sizeof(np_target));
    out->local = xcalloc(cap, sizeof(np_target));
    out->ncluster = collect(svc, port, family, PICK_READY, false, node_name, out->cluster);
    if (out->ncluster == 0)
        out->ncluster =
            collect(svc, port, family, PICK_SERVING_TERMINATING, false, node_name, out->cluster);
    out->nlocal = collect(svc, port, family, PICK_READY, true, node_name, out->local);
    if (out->nlocal == 0)
        out->nlocal =
            collect(svc, port, family, PICK_SERVING_TERMINATING, true, node_name, out->local);
    /* when cluster is empty there is no ready nor serving-terminating one
     * anywhere, and local (a subset) is empty too */
    out->has_any = out->ncluster > 0;
}

void np_selection_free(np_selection *sel)
{
    free(sel->cluster);
    free(sel->local);
    memset(sel, 0, sizeof(*sel));
}

/* ---- diff ---- */

static bool addrs_equal(const np_addr *a, size_t na, const np_addr *b, size_t nb)
{
    if (na != nb)
        return false;
    for (size_t i = 0; i < na; i++) {
        if (np_addr_cmp(&a[i], &b[i]) != 0)
            return false;
    }
    return true;
}

static bool ports_equal(const np_service *a, const np_service *b)
{
    if (a->nports != b->nports)
        return false;
    for (size_t i = 0; i < a->nports; i++) {
        const np_port *x = &a->ports[i], *y = &b->ports[i];
        if (strcmp(x->name, y->name) || x->proto != y->proto || x->port != y->port ||
            x->node_port != y->node_port)
            return false;
    }
    return true;
}

static bool ranges_equal(const np_service *a, const np_service *b)
{
    if (a->nsource_ranges != b->nsource_ranges)
        return false;
    for (size_t i = 0; i < a->nsource_ranges; i++) {
        if (a->source_ranges[i].prefix != b->source_ranges[i].prefix ||
            np_addr_cmp(&a->source_ranges[i].addr, &b->source_ranges[i].addr) != 0)
            return false;
    }
    return true;
}

static bool spec_equal(const np_service *a, const np_service *b)
{
    return a->type == b->type && a->affinity == b->affinity &&
           a->affinity_timeout == b->affinity_timeout && a->internal_policy == b->internal_policy &&
           a->external_policy == b->external_policy &&
           a->health_check_node_port == b->health_check_node_port &&
           addrs_equal(a->cluster_ips, a->ncluster_ips, b->cluster_ips, b->ncluster_ips) &&
           addrs_equal(a->external_ips, a->nexternal_ips, b->external_ips, b->nexternal_ips) &&
           addrs_equal(a->lb_ips, a->nlb_ips, b->lb_ips, b->nlb_ips) && ports_equal(a, b) &&
           ranges_equal(a, b);
}

static bool str_eq(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static bool endpoint_equal(const np_endpoint *a, const np_endpoint *b)
{
    if (np_addr_cmp(&a->addr, &b->addr) || a->ready != b->ready || a->serving != b->serving ||
        a->terminating != b->terminating || !str_eq(a->node_name, b->node_name) ||
        !str_eq(a->zone, b->zone) || a->nports != b->nports)
        return false;
    for (size_t i = 0; i < a->nports; i++) {
        if (strcmp(a->ports[i].name, b->ports[i].name) || a->ports[i].proto != b->ports[i].proto ||
            a->ports[i].port != b->ports[i].port)
            return false;
    }
    return true;
}

static bool endpoints_equal(const np_service *a, const np_service *b)
{
    if (a->nendpoints != b->nendpoints)
        return false;
    for (size_t i = 0; i < a->nendpoints; i++) {
        if (!endpoint_equal(&a->endpoints[i], &b->endpoints[i]))
            return false;
    }
    return true;
}

static int cmp_names(const np_service *a, const np_service *b)
{
    int r = strcmp(a->ns, b->ns);
    return r ? r : strcmp(a->name, b->name);
}

static void push_change(np_diff *d, size_t *cap, const np_service *s, unsigned what)
{
    if (d->nchanges == *cap) {
        *cap = *cap ? *cap * 2 : 16;
        d->changes = xreallocarray(d->changes, *cap, sizeof(*d->changes));
    }
    d->changes[d->nchanges++] = (np_change){s->ns, s->name, what};
}

void np_model_diff(const np_model *old, const np_model *new, np_diff *out)
{
    memset(out, 0, sizeof(*out));
    size_t cap = 0, i = 0, j = 0;
    size_t na = old ? old->nservices : 0, nb = new ? new->nservices : 0;
    while (i < na || j < nb) {
        int c = i >= na ? 1 : j >= nb ? -1 : cmp_names(&old->services[i], &new->services[j]);
        if (c < 0) {
            push_change(out, &cap, &old->services[i++], NP_CHANGE_REMOVED);
        } else if (c > 0) {
            push_change(out, &cap, &new->services[j++], NP_CHANGE_ADDED);
        } else {
            const np_service *a = &old->services[i++], *b = &new->services[j++];
            unsigned what = (spec_equal(a, b) ? 0 : NP_CHANGE_SPEC) |
                            (endpoints_equal(a, b) ? 0 : NP_CHANGE_ENDPOINTS);
            if (what)
                push_change(out, &cap, b, what);
        }
    }
}

void np_diff_free(np_diff *d)
{
    free(d->changes);
    memset(d, 0, sizeof(*d));
}

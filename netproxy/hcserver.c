/* hcserver.c - one small HTTP server per Local Service and node address. */
#include "netproxy/hcserver.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "lib/xalloc.h"
#include "netproxy/http.h"
#include "netproxy/ruleset.h"

#define COMPONENT "proxy"

typedef struct hc_svc {
    np_hcs *owner;
    char *ns, *name;
    uint16_t port;
    size_t count; /* local ready endpoints, under owner->mu */
    bool logged;  /* a failure to listen was logged */
    bool seen;    /* scratch: still wanted by this sync */
    size_t nsrv;
    np_http *srv[NP_MAX_NODE_IPS];
} hc_svc;

struct np_hcs {
    np_health *health;
    pthread_mutex_t mu; /* counts, read by the servers' threads */
    size_t n, cap;
    hc_svc **v;
    size_t nips;
    np_addr ips[NP_MAX_NODE_IPS];
};

np_hcs *np_hcs_new(np_health *health)
{
    np_hcs *h = xcalloc(1, sizeof(*h));
    h->health = health;
    pthread_mutex_init(&h->mu, NULL);
    return h;
}

/* ---- answering ---- */

static void on_request(void *ud, const char *path, np_http_reply *out)
{
    (void)path;
    hc_svc *s = ud;
    pthread_mutex_lock(&s->owner->mu);
    size_t n = s->count;
    pthread_mutex_unlock(&s->owner->mu);
    int64_t last = 0, now = 0;
    bool healthy = np_health_check(s->owner->health, &last, &now);
    out->status = n && healthy ? 200 : 503;
    out->content_type = "application/json";
    kn_buf_appendf(&out->body,
                   "{\"service\":{\"namespace\":\"%s\",\"name\":\"%s\"},\"localEndpoints\":%zu,"
                   "\"serviceProxyHealthy\":%s}",
                   s->ns, s->name, n, healthy ? "true" : "false");
}

/* ---- what a Service wants ---- */

static bool wants_server(const np_service *s)
{
    return s->external_policy == NP_POLICY_LOCAL && s->health_check_node_port &&
           (s->type == NP_SVC_LOAD_BALANCER || s->type == NP_SVC_NODE_PORT);
}

/* Distinct address:port pairs of ready endpoints on node (kube-proxy's
 * LocalReadyEndpoints). */
static size_t local_ready(const np_service *s, const char *node)
{
    size_t n = 0;
    for (size_t i = 0; node && i < s->nendpoints; i++) {
        const np_endpoint *e = &s->endpoints[i];
        if (!e->ready || !e->node_name || strcmp(e->node_name, node) != 0)
            continue;
        for (size_t j = 0; j < e->nports; j++) {
            bool dup = false;
            for (size_t k = 0; k < j && !dup; k++)
                dup = e->ports[k].port == e->ports[j].port;
            n += !dup;
        }
    }
    return n;
}

/* ---- servers ---- */

static void stop_servers(hc_svc *s)
{
    for (size_t i = 0; i < s->nsrv; i++)
        np_http_stop(s->srv[i]);
    s->nsrv = 0;
}

static void start_servers(np_hcs *h, hc_svc *s)
{
    for (size_t i = 0; i < h->nips; i++) {
        char ip[64], addr[80];
        np_addr_str(&h->ips[i], ip, sizeof(ip));
        snprintf(addr, sizeof(addr), h->ips[i].family == AF_INET6 ? "[%s]:%u" : "%s:%u", ip,
                 s->port);
        kn_error *err = NULL;
        if (np_http_start(addr, s->port, on_request, s, &s->srv[s->nsrv], &err) == 0) {
            s->nsrv++;
        } else if (!s->logged) {
            KN_WARN(COMPONENT, "healthCheckNodePort of service %s/%s: %s", s->ns, s->name,
                    kn_error_msg(err));
        }
        kn_error_free(&err);
    }
    s->logged = s->nsrv < h->nips;
}

static hc_svc *find(np_hcs *h, const np_service *s)
{
    for (size_t i = 0; i < h->n; i++) {
        if (strcmp(h->v[i]->ns, s->ns) == 0 && strcmp(h->v[i]->name, s->name) == 0)
            return h->v[i];
    }
    return NULL;
}

static hc_svc *add(np_hcs *h, const np_service *s)
{
    if (h->n == h->cap) {
        h->cap = h->cap ? h->cap * 2 : 8;
        h->v = xreallocarray(h->v, h->cap, sizeof(*h->v));
    }
    hc_svc *x = xcalloc(1, sizeof(*x));
    x->owner = h;
    x->ns = xstrdup(s->ns);
    x->name = xstrdup(s->name);
    x->port = s->health_check_node_port;
    h->v[h->n++] = x;
    return x;
}

static void svc_free(hc_svc *s)
{
    stop_servers(s);
    free(s->ns);
    free(s->name);
    free(s);
}

/* Updates (or creates) the server of one wanted Service. */
static void want(np_hcs *h, const np_service *s, const char *node, bool ips_moved)
{
    hc_svc *x = find(h, s);
    if (x && (x->port != s->health_check_node_port || ips_moved)) {
        stop_servers(x);
        x->port = s->health_check_node_port;
        x->logged = false;
    }
    if (!x)
        x = add(h, s);
    x->seen = true;
    pthread_mutex_lock(&h->mu);
    x->count = local_ready(s, node);
    pthread_mutex_unlock(&h->mu);
    if (x->nsrv < h->nips) {
        stop_servers(x);
        start_servers(h, x);
    }
}

void np_hcs_sync(np_hcs *h, const np_model *m, const char *node_name, const np_addr *ips,
                 size_t nips)
{
    nips = nips < NP_MAX_NODE_IPS ? nips : NP_MAX_NODE_IPS;
    bool moved = nips != h->nips || memcmp(ips, h->ips, nips * sizeof(*ips)) != 0;
    h->nips = nips;
    memcpy(h->ips, ips, nips * sizeof(*ips));
    for (size_t i = 0; i < h->n; i++)
        h->v[i]->seen = false;
    for (size_t i = 0; m && i < m->nservices; i++) {
        if (wants_server(&m->services[i]))
            want(h, &m->services[i], node_name, moved);
    }
    size_t out = 0;
    for (size_t i = 0; i < h->n; i++) {
        if (h->v[i]->seen)
            h->v[out++] = h->v[i];
        else
            svc_free(h->v[i]);
    }
    h->n = out;
}

size_t np_hcs_len(np_hcs *h)
{
    return h->n;
}

void np_hcs_free(np_hcs *h)
{
    if (!h)
        return;
    for (size_t i = 0; i < h->n; i++)
        svc_free(h->v[i]);
    free(h->v);
    pthread_mutex_destroy(&h->mu);
    free(h);
}

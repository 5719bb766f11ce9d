/* zone-build.c - turning a dns_model into a zone snapshot (see zone.h).
 *
 * The builder keeps a hash table of names while records are added, so
 * building is linear in the number of records; each name's records are
 * sorted and deduplicated at the end. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dns/zone-internal.h"
#include "lib/xalloc.h"

typedef struct zb_rec {
    uint16_t type;
    uint16_t rdlen;
    uint32_t rd_off;
    uint32_t next; /* next record of the same name: index + 1, 0 ends */
} zb_rec;

typedef struct zb_node {
    uint32_t name_off;
    uint32_t head; /* first record: index + 1 */
    uint32_t nrec;
    uint8_t name_len;
    uint8_t flags;
} zb_node;

typedef struct zb {
    dns_zone *z;
    uint8_t *names;
    size_t names_len, names_cap;
    uint8_t *rdata;
    size_t rdata_len, rdata_cap;
    zb_rec *recs;
    size_t nrecs, recs_cap;
    zb_node *nodes;
    size_t nnodes, nodes_cap;
    dns_zslot *slots;
    uint32_t mask;
    uint8_t svc_suffix[DNS_NAME_MAX]; /* svc.<zone> */
    uint8_t pod_suffix[DNS_NAME_MAX]; /* pod.<zone> */
} zb;

/* ---- growable storage ------------------------------------------------------ */

static void *grow(void *p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return p;
    size_t ncap = *cap ? *cap : 64;
    while (ncap < need)
        ncap *= 2;
    *cap = ncap;
    return xreallocarray(p, ncap, elem);
}

static uint32_t arena_put(uint8_t **arena, size_t *len, size_t *cap, const void *p, size_t n)
{
    *arena = grow(*arena, cap, *len + n, 1);
    memcpy(*arena + *len, p, n);
    uint32_t off = (uint32_t)*len;
    *len += n;
    return off;
}

static void rehash(zb *b)
{
    uint32_t nmask = b->mask ? b->mask * 2 + 1 : 1023;
    dns_zslot *ns = xcalloc((size_t)nmask + 1, sizeof(*ns));
    for (uint32_t i = 0; b->slots && i <= b->mask; i++) {
        if (!b->slots[i].node)
            continue;
        uint32_t j = b->slots[i].hash & nmask;
        while (ns[j].node)
            j = (j + 1) & nmask;
        ns[j] = b->slots[i];
    }
    free(b->slots);
    b->slots = ns;
    b->mask = nmask;
}

/* The node of name (lower case), created when missing. */
static uint32_t node_get(zb *b, const uint8_t *name, size_t len, bool *created)
{
    if ((b->nnodes + 1) * 2 > (size_t)b->mask)
        rehash(b);
    uint32_t h = dns_zone_hash(name, len), j = h & b->mask;
    for (; b->slots[j].node; j = (j + 1) & b->mask) {
        const zb_node *n = &b->nodes[b->slots[j].node - 1];
        if (b->slots[j].hash == h && n->name_len == len &&
            memcmp(b->names + n->name_off, name, len) == 0) {
            *created = false;
            return b->slots[j].node - 1;
        }
    }
    b->nodes = grow(b->nodes, &b->nodes_cap, b->nnodes + 1, sizeof(*b->nodes));
    zb_node *n = &b->nodes[b->nnodes];
    memset(n, 0, sizeof(*n));
    n->name_off = arena_put(&b->names, &b->names_len, &b->names_cap, name, len);
    n->name_len = (uint8_t)len;
    b->slots[j].hash = h;
    b->slots[j].node = (uint32_t)++b->nnodes;
    *created = true;
    return (uint32_t)(b->nnodes - 1);
}

/* The node of name; a new node below the apex gets its missing ancestors
 * as empty non-terminals (an existing node already has them). */
static uint32_t node_ensure(zb *b, const uint8_t *name)
{
    uint8_t lc[DNS_NAME_MAX];
    size_t len = dns_name_len(name);
    memcpy(lc, name, len);
    dns_name_lower(lc);
    bool created;
    uint32_t idx = node_get(b, lc, len, &created);
    int off = dns_name_suffix_of(lc, b->z->apex);
    if (!created || off <= 0)
        return idx;
    for (size_t p = 1 + (size_t)lc[0]; p < (size_t)off; p += 1 + (size_t)lc[p]) {
        node_get(b, lc + p, len - p, &created);
        if (!created)
            break;
    }
    return idx;
}

static void add_rr(zb *b, const uint8_t *owner, uint16_t type, const void *rdata, size_t rdlen)
{
    uint32_t ni = node_ensure(b, owner);
    b->recs = grow(b->recs, &b->recs_cap, b->nrecs + 1, sizeof(*b->recs));
    zb_rec *r = &b->recs[b->nrecs];
    r->type = type;
    r->rdlen = (uint16_t)rdlen;
    r->rd_off = arena_put(&b->rdata, &b->rdata_len, &b->rdata_cap, rdata, rdlen);
    r->next = b->nodes[ni].head;
    b->nodes[ni].head = (uint32_t)++b->nrecs;
    b->nodes[ni].nrec++;
}

/* ---- names and addresses ------------------------------------------------- */

/* Prepends label to suffix. Returns the length, or -1 when the label is
 * empty, too long, holds a '.', or the name gets too long. */
static int name_prepend(uint8_t out[DNS_NAME_MAX], const char *label, size_t llen,
                        const uint8_t *suffix)
{
    size_t sl = dns_name_len(suffix);
    if (llen == 0 || llen > DNS_LABEL_MAX || memchr(label, '.', llen) ||
        1 + llen + sl > DNS_NAME_MAX)
        return -1;
    uint8_t tmp[DNS_NAME_MAX];
    tmp[0] = (uint8_t)llen;
    memcpy(tmp + 1, label, llen);
    memcpy(tmp + 1 + llen, suffix, sl);
    memcpy(out, tmp, 1 + llen + sl);
    dns_name_lower(out);
    return (int)(1 + llen + sl);
}

static int name_prepend_str(uint8_t out[DNS_NAME_MAX], const char *label, const uint8_t *suffix)
{
    return label ? name_prepend(out, label, strlen(label), suffix) : -1;
}

typedef struct ipaddr {
    int len; /* 4 or 16 */
    uint8_t b[16];
} ipaddr;

static bool parse_ip(const char *s, ipaddr *ip)
{
    if (!s)
        return false;
    if (inet_pton(AF_INET, s, ip->b) == 1) {
        ip->len = 4;
        return true;
    }
    if (inet_pton(AF_INET6, s, ip->b) == 1) {
        ip->len = 16;
        return true;
    }
    return false;
}

static uint16_t ip_type(const ipaddr *ip)
{
    return ip->len == 4 ? DNS_TYPE_A : DNS_TYPE_AAAA;
}

/* d.c.b.a.in-addr.arpa, or the 32 nibbles of ip6.arpa. */
static void reverse_name(const ipaddr *ip, uint8_t out[DNS_NAME_MAX])
{
    char s[128];
    size_t o = 0;
    static const char hex[] = "0123456789abcdef";
    if (ip->len == 4) {
        snprintf(s, sizeof(s), "%u.%u.%u.%u.in-addr.arpa", ip->b[3], ip->b[2], ip->b[1], ip->b[0]);
    } else {
        for (int i = 15; i >= 0; i--) {
            s[o++] = hex[ip->b[i] & 0xf];
            s[o++] = '.';
            s[o++] = hex[ip->b[i] >> 4];
            s[o++] = '.';
        }
        memcpy(s + o, "ip6.arpa", 9);
    }
    dns_name_from_str(s, out);
}

/* The endpoint's label: its hostname, else its address with '-' for '.'
 * or ':' (as CoreDNS's endpointHostname). */
static void endpoint_label(const dns_model_endpoint *ep, const ipaddr *ip, char out[64])
{
    if (ep->hostname && ep->hostname[0] && strlen(ep->hostname) <= DNS_LABEL_MAX) {
        strcpy(out, ep->hostname);
        return;
    }
    inet_ntop(ip->len == 4 ? AF_INET : AF_INET6, ip->b, out, 64);
    for (char *p = out; *p; p++) {
        if (*p == '.' || *p == ':')
            *p = '-';
    }
}

static const char *proto_label(dns_proto p)
{
    switch (p) {
    case DNS_PROTO_UDP:
        return "_udp";
    case DNS_PROTO_SCTP:
        return "_sctp";
    default:
        return "_tcp";
    }
}

/* _<port>._<proto>.<svc name>, or -1 for an unnamed or invalid port. */
static int srv_name(uint8_t out[DNS_NAME_MAX], const dns_model_port *p, const uint8_t *svcname)
{
    char label[DNS_LABEL_MAX + 2];
    uint8_t tmp[DNS_NAME_MAX];
    if (!p->name || !p->name[0] || strlen(p->name) > DNS_LABEL_MAX - 1)
        return -1;
    snprintf(label, sizeof(label), "_%s", p->name);
    if (name_prepend_str(tmp, proto_label(p->protocol), svcname) < 0)
        return -1;
    return name_prepend_str(out, label, tmp);
}

static void add_srv(zb *b, const uint8_t *owner, uint16_t weight, uint16_t port,
                    const uint8_t *target)
{
    uint8_t rd[6 + DNS_NAME_MAX];
    size_t n = dns_rdata_srv(rd, 0, weight, port, target);
    add_rr(b, owner, DNS_TYPE_SRV, rd, n);
}

static uint16_t srv_weight(size_t n)
{
    return (uint16_t)(n >= 100 ? 1 : 100 / (n ? n : 1));
}

/* ---- the records of one Service -------------------------------------------- */

static bool endpoint_counts(const dns_model_service *s, const dns_model_endpoint *ep)
{
    return ep->ready || s->publish_not_ready;
}

/* SRV records of one target: per named port at _<port>._<proto>.<svc>,
 * and per port at <svc> itself (CoreDNS answers SRV there too). */
static void add_srvs(zb *b, const dns_model_port *ports, size_t nports, const uint8_t *svcname,
                     const uint8_t *target, size_t per_name, size_t at_svc)
{
    uint8_t owner[DNS_NAME_MAX];
    for (size_t i = 0; i < nports; i++) {
        if (srv_name(owner, &ports[i], svcname) > 0)
            add_srv(b, owner, srv_weight(per_name), ports[i].port, target);
        add_srv(b, svcname, srv_weight(at_svc), ports[i].port, target);
    }
}

static size_t counted_endpoints(const dns_model_service *s)
{
    size_t n = 0;
    for (size_t i = 0; i < s->nendpoints; i++)
        n += endpoint_counts(s, &s->endpoints[i]);
    return n;
}

/* Endpoint names <host>.<svc> with A/AAAA and PTR; for headless Services
 * also the Service name's addresses and the per-endpoint SRV records. */
static void add_endpoints(zb *b, const dns_model_service *s, const uint8_t *svcname)
{
    bool headless = s->type == DNS_SVC_HEADLESS;
    const dns_model_port *ports = s->nendpoint_ports ? s->endpoint_ports : s->ports;
    size_t nports = s->nendpoint_ports ? s->nendpoint_ports : s->nports;
    size_t n = counted_endpoints(s);
    for (size_t i = 0; i < s->nendpoints; i++) {
        const dns_model_endpoint *ep = &s->endpoints[i];
        ipaddr ip;
        char label[64];
        uint8_t host[DNS_NAME_MAX], rev[DNS_NAME_MAX];
        if (!endpoint_counts(s, ep))
            continue;
        if (!parse_ip(ep->ip, &ip)) {
            b->z->skipped++;
            continue;
        }
        endpoint_label(ep, &ip, label);
        if (name_prepend_str(host, label, svcname) < 0) {
            b->z->skipped++;
            continue;
        }
        add_rr(b, host, ip_type(&ip), ip.b, (size_t)ip.len);
        reverse_name(&ip, rev);
        add_rr(b, rev, DNS_TYPE_PTR, host, dns_name_len(host));
        if (!headless)
            continue;
        add_rr(b, svcname, ip_type(&ip), ip.b, (size_t)ip.len);
        add_srvs(b, ports, nports, svcname, host, n, n * nports);
    }
}

static void add_cluster_ips(zb *b, const dns_model_service *s, const uint8_t *svcname)
{
    size_t valid = 0;
    for (size_t i = 0; i < s->ncluster_ips; i++) {
        ipaddr ip;
        uint8_t rev[DNS_NAME_MAX];
        if (!parse_ip(s->cluster_ips[i], &ip))
            continue; /* "None" and the like */
        add_rr(b, svcname, ip_type(&ip), ip.b, (size_t)ip.len);
        reverse_name(&ip, rev);
        add_rr(b, rev, DNS_TYPE_PTR, svcname, dns_name_len(svcname));
        valid++;
    }
    if (valid) /* without an address there is nothing for SRV to point at */
        add_srvs(b, s->ports, s->nports, svcname, svcname, 1, s->nports);
}

static void add_namespace(zb *b, const char *ns)
{
    uint8_t name[DNS_NAME_MAX];
    if (name_prepend_str(name, ns, b->svc_suffix) < 0) {
        b->z->skipped++;
        return;
    }
    node_ensure(b, name);
    if (b->z->pods != DNS_PODS_INSECURE)
        return;
    name_prepend_str(name, ns, b->pod_suffix);
    b->nodes[node_ensure(b, name)].flags |= DNS_ZNODE_POD_NS;
}

static void add_service(zb *b, const dns_model_service *s)
{
    uint8_t nsname[DNS_NAME_MAX], svcname[DNS_NAME_MAX], target[DNS_NAME_MAX];
    ipaddr ip;
    if (name_prepend_str(nsname, s->ns, b->svc_suffix) < 0 ||
        name_prepend_str(svcname, s->name, nsname) < 0) {
        b->z->skipped++;
        return;
    }
    add_namespace(b, s->ns); /* a Service's namespace exists */
    switch (s->type) {
    case DNS_SVC_EXTERNAL_NAME:
        if (!s->external_name || parse_ip(s->external_name, &ip) ||
            dns_name_from_str(s->external_name, target) < 2) {
            b->z->skipped++;
            return;
        }
        add_rr(b, svcname, DNS_TYPE_CNAME, target, dns_name_len(target));
        return;
    case DNS_SVC_CLUSTER_IP:
        add_cluster_ips(b, s, svcname);
        add_endpoints(b, s, svcname);
        return;
    case DNS_SVC_HEADLESS:
        add_endpoints(b, s, svcname);
        return;
    }
}

/* ---- the apex -------------------------------------------------------------- */

static void add_apex(zb *b, const dns_zone_config *cfg)
{
    const uint8_t *apex = b->z->apex;
    uint8_t mname[DNS_NAME_MAX], rname[DNS_NAME_MAX], dnsname[DNS_NAME_MAX];
    uint8_t rd[2 * DNS_NAME_MAX + 20];
    name_prepend_str(dnsname, "dns", apex);
    name_prepend_str(mname, "ns", dnsname);
    name_prepend_str(rname, "hostmaster", apex);
    uint32_t serial = cfg->serial ? cfg->serial : (uint32_t)time(NULL);
    size_t n = dns_rdata_soa(rd, mname, rname, serial, 7200, 1800, 86400, b->z->ttl);
    add_rr(b, apex, DNS_TYPE_SOA, rd, n);
    add_rr(b, apex, DNS_TYPE_NS, mname, dns_name_len(mname));
    node_ensure(b, mname);
    for (size_t i = 0; i < cfg->nns_ips; i++) {
        ipaddr ip;
        if (parse_ip(cfg->ns_ips[i], &ip))
            add_rr(b, mname, ip_type(&ip), ip.b, (size_t)ip.len);
        else
            b->z->skipped++;
    }
    uint8_t txt[1 + sizeof(DNS_SCHEMA_VERSION)], vname[DNS_NAME_MAX];
    txt[0] = (uint8_t)strlen(DNS_SCHEMA_VERSION);
    memcpy(txt + 1, DNS_SCHEMA_VERSION, txt[0]);
    name_prepend_str(vname, "dns-version", apex);
    add_rr(b, vname, DNS_TYPE_TXT, txt, 1 + (size_t)txt[0]);
    node_ensure(b, b->svc_suffix);
    node_ensure(b, b->pod_suffix);
}

/* ---- finishing -------------------------------------------------------------- */

static int cmp_rec(const void *pa, const void *pb, void *arg)
{
    const zb_rec *a = pa, *b = pb;
    const uint8_t *rdata = arg;
    if (a->type != b->type)
        return a->type < b->type ? -1 : 1;
    if (a->rdlen != b->rdlen)
        return a->rdlen < b->rdlen ? -1 : 1;
    return memcmp(rdata + a->rd_off, rdata + b->rd_off, a->rdlen);
}

/* Collects node bn's records into tmp, sorted by type, without duplicates;
 * returns how many and adds their rdata bytes to *rdata_len. */
static size_t node_records(const zb *b, const zb_node *bn, zb_rec *tmp, size_t *rdata_len)
{
    size_t n = 0, kept = 0;
    for (uint32_t r = bn->head; r; r = b->recs[r - 1].next)
        tmp[n++] = b->recs[r - 1];
    qsort_r(tmp, n, sizeof(*tmp), cmp_rec, b->rdata);
    for (size_t i = 0; i < n; i++) {
        if (kept > 0 && cmp_rec(&tmp[kept - 1], &tmp[i], b->rdata) == 0)
            continue;
        tmp[kept++] = tmp[i];
        *rdata_len += tmp[i].rdlen;
    }
    return kept;
}

static size_t node_size(const zb_node *bn, size_t nrec, size_t rdata_len)
{
    size_t n = sizeof(dns_znode) + dns_znode_name_space(bn->name_len) + nrec * sizeof(dns_zrec);
    return (n + rdata_len + 3) & ~(size_t)3;
}

/* Appends node bn to the snapshot's arena (see zone-internal.h); returns
 * its offset. */
static uint32_t finish_node(zb *b, const zb_node *bn, zb_rec *tmp, size_t *cap)
{
    dns_zone *z = b->z;
    size_t rdata_len = 0, nrec = node_records(b, bn, tmp, &rdata_len);
    size_t size = node_size(bn, nrec, rdata_len), off = z->data_len;
    z->data = grow(z->data, cap, off + size, 1);
    memset(z->data + off, 0, size);
    dns_znode *zn = (dns_znode *)(z->data + off);
    zn->count = (uint32_t)nrec;
    zn->name_len = bn->name_len;
    zn->flags = bn->flags;
    memcpy(z->data + off + sizeof(*zn), b->names + bn->name_off, bn->name_len);
    uint32_t recs = dns_znode_recs_off((uint32_t)off, zn);
    uint32_t rd = recs + (uint32_t)(nrec * sizeof(dns_zrec));
    for (size_t i = 0; i < nrec; i++) {
        dns_zrec zr = {tmp[i].type, tmp[i].rdlen, rd};
        memcpy(z->data + recs + i * sizeof(zr), &zr, sizeof(zr));
        memcpy(z->data + rd, b->rdata + tmp[i].rd_off, tmp[i].rdlen);
        rd += tmp[i].rdlen;
        if (zr.type == DNS_TYPE_SOA && bn->name_len == z->apex_len)
            z->soa = recs + (uint32_t)(i * sizeof(zr));
    }
    z->nrecs += nrec;
    z->data_len = off + size;
    return (uint32_t)off;
}

static void finish(zb *b)
{
    dns_zone *z = b->z;
    size_t most = 0, cap = 0;
    for (size_t i = 0; i < b->nnodes; i++)
        most = b->nodes[i].nrec > most ? b->nodes[i].nrec : most;
    zb_rec *tmp = xcalloc(most ? most : 1, sizeof(*tmp));
    uint32_t *offs = xcalloc(b->nnodes ? b->nnodes : 1, sizeof(*offs));
    z->data = grow(NULL, &cap, DNS_ZDATA_FIRST + b->names_len + b->rdata_len, 1);
    memset(z->data, 0, DNS_ZDATA_FIRST);
    z->data_len = DNS_ZDATA_FIRST;
    for (size_t i = 0; i < b->nnodes; i++)
        offs[i] = finish_node(b, &b->nodes[i], tmp, &cap);
    free(tmp);
    z->data = xrealloc(z->data, z->data_len);
    z->nnodes = b->nnodes;
    for (uint32_t j = 0; j <= b->mask; j++) {
        if (b->slots[j].node)
            b->slots[j].node = offs[b->slots[j].node - 1];
    }
    free(offs);
    z->slots = b->slots;
    z->mask = b->mask;
    free(b->names);
    free(b->rdata);
    free(b->recs);
    free(b->nodes);
}

void dns_zone_config_default(dns_zone_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->domain = "cluster.local";
    cfg->ttl = 5;
    cfg->pods = DNS_PODS_INSECURE;
}

int dns_zone_build(const dns_zone_config *cfg, const dns_model *model, dns_zone **out,
                   kn_error **err)
{
    zb b = {0};
    dns_zone *z = xcalloc(1, sizeof(*z));
    int n = dns_name_from_str(cfg->domain ? cfg->domain : "", z->apex);
    if (n < 2 || name_prepend_str(b.svc_suffix, "svc", z->apex) < 0) {
        free(z);
        return kn_error_set(err, KN_EINVAL, "invalid cluster domain \"%s\"",
                            cfg->domain ? cfg->domain : "");
    }
    dns_name_lower(z->apex);
    z->apex_len = (size_t)n;
    z->ttl = cfg->ttl;
    z->pods = cfg->pods;
    z->unsynced = cfg->unsynced;
    b.z = z;
    name_prepend_str(b.svc_suffix, "svc", z->apex);
    name_prepend_str(b.pod_suffix, "pod", z->apex);
    add_apex(&b, cfg);
    for (size_t i = 0; i < model->nnamespaces; i++)
        add_namespace(&b, model->namespaces[i]);
    for (size_t i = 0; i < model->nservices; i++)
        add_service(&b, &model->services[i]);
    finish(&b);
    *out = z;
    return 0;
}

void dns_zone_free(dns_zone *z)
{
    if (!z)
        return;
    free(z->data);
    free(z->slots);
    free(z);
}

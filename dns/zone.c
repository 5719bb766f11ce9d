/* zone.c - lookups in a zone snapshot, and the snapshot holder (see zone.h). */
#include <arpa/inet.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "dns/zone-internal.h"
#include "lib/xalloc.h"

/* ---- lookups ---------------------------------------------------------------- */

static const dns_znode *node_at(const dns_zone *z, uint32_t off)
{
    return (const dns_znode *)(z->data + off);
}

/* The offset of the node of name (lower case, len bytes) in z->data, or 0. */
static uint32_t find_node(const dns_zone *z, const uint8_t *name, size_t len)
{
    uint32_t h = dns_zone_hash(name, len);
    for (uint32_t j = h & z->mask; z->slots[j].node; j = (j + 1) & z->mask) {
        if (z->slots[j].hash != h)
            continue;
        const dns_znode *n = node_at(z, z->slots[j].node);
        if (n->name_len == len && memcmp(dns_znode_name(n), name, len) == 0)
            return z->slots[j].node;
    }
    return 0;
}

static const dns_zrec *rec_at(const dns_zone *z, uint32_t off)
{
    return (const dns_zrec *)(z->data + off);
}

/* The records of the node at off with type t: [*first, *first + return)
 * (record offsets in z->data, sizeof(dns_zrec) apart). */
static uint32_t type_range(const dns_zone *z, uint32_t off, uint16_t t, uint32_t *first)
{
    const dns_znode *n = node_at(z, off);
    uint32_t base = dns_znode_recs_off(off, n);
    const dns_zrec *recs = rec_at(z, base);
    uint32_t lo = 0, hi = n->count;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (recs[mid].type < t)
            lo = mid + 1;
        else
            hi = mid;
    }
    uint32_t end = lo;
    while (end < n->count && recs[end].type == t)
        end++;
    *first = base + lo * (uint32_t)sizeof(dns_zrec);
    return end - lo;
}

static dns_zone_status answer_node(const dns_zone *z, uint32_t off, uint16_t qtype,
                                   dns_zone_answer *a)
{
    const dns_znode *n = node_at(z, off);
    if (n->count == 0)
        return a->status = DNS_ZONE_NODATA;
    if (qtype == DNS_TYPE_ANY) {
        a->first = dns_znode_recs_off(off, n);
        a->count = n->count;
        return a->status = DNS_ZONE_ANSWER;
    }
    a->count = type_range(z, off, qtype, &a->first);
    if (a->count)
        return a->status = DNS_ZONE_ANSWER;
    a->count = type_range(z, off, DNS_TYPE_CNAME, &a->first);
    if (a->count) {
        a->cname = true;
        return a->status = DNS_ZONE_ANSWER;
    }
    return a->status = DNS_ZONE_NODATA;
}

/* A pod name's first label as an address: "10-244-1-5" or "fd00--5"
 * (CoreDNS: three dashes and no "--" make IPv4, else '-' stands for ':'). */
static int pod_address(const uint8_t *label, uint8_t out[16])
{
    char s[DNS_LABEL_MAX + 1];
    size_t len = label[0], dashes = 0;
    bool dd = false;
    for (size_t i = 0; i < len; i++) {
        char ch = (char)label[1 + i];
        if (ch == '\0' || ch == '.' || ch == ':')
            return -1;
        dashes += ch == '-';
        dd = dd || (ch == '-' && i > 0 && label[i] == '-');
        s[i] = ch;
    }
    s[len] = '\0';
    bool v4 = dashes == 3 && !dd;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '-')
            s[i] = v4 ? '.' : ':';
    }
    if (v4)
        return inet_pton(AF_INET, s, out) == 1 ? 4 : -1;
    return inet_pton(AF_INET6, s, out) == 1 ? 16 : -1;
}

/* A name (lower case) missing from the table: a pod name, or NXDOMAIN. */
static dns_zone_status synthesize(const dns_zone *z, const uint8_t *qname, size_t len,
                                  uint16_t qtype, dns_zone_answer *a)
{
    size_t skip = 1 + (size_t)qname[0];
    uint32_t parent = qname[0] ? find_node(z, qname + skip, len - skip) : 0;
    int alen;
    if (!parent || !(node_at(z, parent)->flags & DNS_ZNODE_POD_NS) ||
        (alen = pod_address(qname, a->synth_rdata)) < 0)
        return a->status = DNS_ZONE_NXDOMAIN;
    uint16_t t = alen == 4 ? DNS_TYPE_A : DNS_TYPE_AAAA;
    if (qtype != t && qtype != DNS_TYPE_ANY)
        return a->status = DNS_ZONE_NODATA;
    a->synth_type = t;
    a->count = 1;
    return a->status = DNS_ZONE_ANSWER;
}

dns_zone_status dns_zone_lookup(const dns_zone *z, const uint8_t *qname, uint16_t qtype,
                                dns_zone_answer *a)
{
    a->cname = false;
    a->first = a->count = 0;
    a->synth_type = 0;
    size_t len = dns_name_len(qname);
    uint8_t lc[DNS_NAME_MAX];
    dns_name_lower_copy(lc, qname, len);
    uint32_t n = find_node(z, lc, len);
    if (dns_name_suffix_of(lc, z->apex) < 0) {
        /* reverse names: answer the PTR we hold, leave the rest upstream */
        if (n && (qtype == DNS_TYPE_PTR || qtype == DNS_TYPE_ANY))
            a->count = type_range(z, n, DNS_TYPE_PTR, &a->first);
        return a->status = a->count ? DNS_ZONE_ANSWER : DNS_ZONE_NOTAUTH;
    }
    if (!n)
        return synthesize(z, lc, len, qtype, a);
    return answer_node(z, n, qtype, a);
}

void dns_zone_answer_rr(const dns_zone *z, const dns_zone_answer *a, uint32_t i,
                        const uint8_t *owner, dns_rr *rr)
{
    rr->owner = owner;
    rr->rclass = DNS_CLASS_IN;
    rr->ttl = z->ttl;
    if (a->synth_type) {
        rr->type = a->synth_type;
        rr->rdlen = a->synth_type == DNS_TYPE_A ? 4 : 16;
        rr->rdata = a->synth_rdata;
        return;
    }
    const dns_zrec *r = rec_at(z, a->first + i * (uint32_t)sizeof(dns_zrec));
    rr->type = r->type;
    rr->rdlen = r->rdlen;
    rr->rdata = z->data + r->rd_off;
}

void dns_zone_soa_rr(const dns_zone *z, dns_rr *rr)
{
    const dns_zrec *r = rec_at(z, z->soa);
    rr->owner = z->apex;
    rr->type = DNS_TYPE_SOA;
    rr->rclass = DNS_CLASS_IN;
    rr->ttl = z->ttl;
    rr->rdlen = r->rdlen;
    rr->rdata = z->data + r->rd_off;
}

const uint8_t *dns_zone_apex(const dns_zone *z)
{
    return z->apex;
}

uint32_t dns_zone_ttl(const dns_zone *z)
{
    return z->ttl;
}

bool dns_zone_unsynced(const dns_zone *z)
{
    return z->unsynced;
}

void dns_zone_get_stats(const dns_zone *z, dns_zone_stats *st)
{
    st->names = z->nnodes;
    st->records = z->nrecs;
    st->skipped = z->skipped;
    st->bytes = sizeof(*z) + z->data_len + ((size_t)z->mask + 1) * sizeof(dns_zslot);
}

/* ---- the snapshot holder (hazard pointers, see zone.h) ------------------------ */

struct dns_zone_reader {
    _Atomic(dns_zone *) hazard;
    atomic_bool used;
    dns_zone_holder *holder;
} __attribute__((aligned(64)));

struct dns_zone_holder {
    _Atomic(dns_zone *) current;
    pthread_mutex_t publish_lock;
    dns_zone_reader readers[DNS_ZONE_MAX_READERS];
};

dns_zone_holder *dns_zone_holder_new(dns_zone *z)
{
    dns_zone_holder *h = aligned_alloc(64, sizeof(*h));
    if (!h)
        kn_oom();
    memset(h, 0, sizeof(*h));
    atomic_init(&h->current, z);
    pthread_mutex_init(&h->publish_lock, NULL);
    for (size_t i = 0; i < DNS_ZONE_MAX_READERS; i++) {
        atomic_init(&h->readers[i].hazard, NULL);
        atomic_init(&h->readers[i].used, false);
        h->readers[i].holder = h;
    }
    return h;
}

void dns_zone_holder_free(dns_zone_holder *h)
{
    if (!h)
        return;
    dns_zone_free(atomic_load(&h->current));
    pthread_mutex_destroy(&h->publish_lock);
    free(h);
}

void dns_zone_holder_publish(dns_zone_holder *h, dns_zone *z)
{
    pthread_mutex_lock(&h->publish_lock);
    dns_zone *old = atomic_exchange(&h->current, z);
    for (size_t i = 0; old && i < DNS_ZONE_MAX_READERS; i++) {
        while (atomic_load(&h->readers[i].hazard) == old)
            sched_yield();
    }
    pthread_mutex_unlock(&h->publish_lock);
    dns_zone_free(old);
}

dns_zone_reader *dns_zone_reader_attach(dns_zone_holder *h)
{
    for (size_t i = 0; i < DNS_ZONE_MAX_READERS; i++) {
        bool expected = false;
        if (atomic_compare_exchange_strong(&h->readers[i].used, &expected, true))
            return &h->readers[i];
    }
    return NULL;
}

void dns_zone_reader_detach(dns_zone_reader *r)
{
    if (!r)
        return;
    atomic_store(&r->hazard, NULL);
    atomic_store(&r->used, false);
}

const dns_zone *dns_zone_enter(dns_zone_reader *r)
{
    dns_zone *z = atomic_load(&r->holder->current);
    for (;;) {
        atomic_store(&r->hazard, z);
        dns_zone *again = atomic_load(&r->holder->current);
        if (again == z)
            return z;
        z = again;
    }
}

void dns_zone_leave(dns_zone_reader *r)
{
    atomic_store_explicit(&r->hazard, NULL, memory_order_release);
}

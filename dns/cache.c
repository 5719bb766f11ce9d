/* cache.c - upstream answer entries and the sharded cache (see cache.h). */
#include "dns/cache.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "lib/cleanup.h"
#include "lib/xalloc.h"

/* Records are packed one after another in blob:
 *   section(1) owner_len(1) owner type(2) class(2) ttl(4) rdlen(2) rdata
 * with the numbers in host order. */
struct dns_cache_entry {
    atomic_int refs;
    uint32_t hash;
    struct dns_cache_entry *hnext;       /* hash chain (under the shard lock) */
    struct dns_cache_entry *prev, *next; /* LRU list, most recent first */
    int64_t stored_ns;
    int64_t expires_ns;
    uint32_t lifetime; /* seconds, set when cached */
    uint32_t min_ttl;  /* smallest TTL of answer + authority */
    uint32_t neg_ttl;  /* negative answers: min(SOA TTL, MINIMUM); 0 without SOA */
    bool negative;
    uint8_t rcode;
    uint16_t qtype, qclass;
    uint8_t qname_len;
    uint8_t qname[DNS_NAME_MAX]; /* lower case */
    size_t blob_len;
    uint8_t blob[];
};

#define NSHARDS 16

typedef struct shard {
    pthread_mutex_t lock;
    dns_cache_entry **buckets;
    size_t nbuckets; /* power of two */
    size_t count, max;
    dns_cache_entry *head, *tail; /* LRU: head most recent */
} shard;

struct dns_cache {
    kn_clock *clock;
    uint32_t max_ttl;
    shard shards[NSHARDS];
};

static uint32_t key_hash(const uint8_t *lcname, size_t len, uint16_t qtype, uint16_t qclass)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < len; i++)
        h = (h ^ lcname[i]) * 16777619u;
    h = (h ^ qtype) * 16777619u;
    h = (h ^ qclass) * 16777619u;
    return h ^ (h >> 13);
}

/* ---- entries ------------------------------------------------------------- */

typedef struct parse_state {
    uint8_t *blob;
    size_t len, cap;
    uint32_t min_ttl;
    uint32_t neg_ttl;
    bool have_soa;
} parse_state;

static void blob_put(parse_state *p, const void *data, size_t n)
{
    if (p->len + n > p->cap) {
        p->cap = (p->len + n) * 2;
        p->blob = xrealloc(p->blob, p->cap);
    }
    memcpy(p->blob + p->len, data, n);
    p->len += n;
}

static void blob_rr(parse_state *p, int sec, const dns_rr *rr)
{
    uint8_t hdr[2] = {(uint8_t)sec, (uint8_t)dns_name_len(rr->owner)};
    blob_put(p, hdr, 2);
    blob_put(p, rr->owner, hdr[1]);
    blob_put(p, &rr->type, 2);
    blob_put(p, &rr->rclass, 2);
    blob_put(p, &rr->ttl, 4);
    blob_put(p, &rr->rdlen, 2);
    blob_put(p, rr->rdata, rr->rdlen);
}

/* Reads the records of the three sections into p. */
static int parse_records(dns_cursor *c, const uint16_t counts[3], parse_state *p)
{
    /* on the heap: 64 KiB of thread-local storage would be set up (and
     * touched) in every thread of every knode process */
    cleanup_free dns_rr_buf *rb = xmalloc(sizeof(*rb));
    p->min_ttl = UINT32_MAX;
    for (int s = 0; s < 3; s++) {
        for (unsigned i = 0; i < counts[s]; i++) {
            dns_rr rr;
            if (dns_read_rr(c, rb, &rr) < 0)
                return -EBADMSG;
            if (rr.type == DNS_TYPE_OPT)
                continue;
            uint32_t ttl = rr.ttl > INT32_MAX ? 0 : rr.ttl; /* RFC 2181 8 */
            rr.ttl = ttl;
            if (s < 2 && ttl < p->min_ttl)
                p->min_ttl = ttl;
            if (s == 1 && rr.type == DNS_TYPE_SOA && !p->have_soa) {
                uint32_t m = dns_soa_minimum(&rr);
                p->neg_ttl = m < ttl ? m : ttl;
                p->have_soa = true;
            }
            blob_rr(p, DNS_SEC_ANSWER + s, &rr);
        }
    }
    if (p->min_ttl == UINT32_MAX)
        p->min_ttl = 0;
    return c->pos == c->len ? 0 : -EBADMSG;
}

/* Checks the header and question against the query we sent. */
static int check_response(dns_cursor *c, uint16_t id, const uint8_t *qname, uint16_t qtype,
                          uint16_t qclass, uint16_t *flags, uint16_t counts[3])
{
    uint8_t name[DNS_NAME_MAX];
    uint16_t rid = dns_read_u16(c);
    *flags = dns_read_u16(c);
    uint16_t qd = dns_read_u16(c);
    for (int i = 0; i < 3; i++)
        counts[i] = dns_read_u16(c);
    if (c->error || rid != id || !(*flags & DNS_FLAG_QR) ||
        dns_flags_opcode(*flags) != DNS_OPCODE_QUERY || qd != 1)
        return -EBADMSG;
    dns_read_name(c, name);
    uint16_t t = dns_read_u16(c), k = dns_read_u16(c);
    if (c->error || t != qtype || k != qclass || !dns_name_equal(name, qname))
        return -EBADMSG;
    return 0;
}

int dns_cache_entry_parse(const uint8_t *msg, size_t len, uint16_t id, const uint8_t *qname,
                          uint16_t qtype, uint16_t qclass, int64_t stored_ns, dns_cache_entry **out)
{
    dns_cursor c;
    dns_cursor_init(&c, msg, len);
    uint16_t flags, counts[3];
    if (check_response(&c, id, qname, qtype, qclass, &flags, counts) < 0)
        return -EBADMSG;
    if (flags & DNS_FLAG_TC)
        return -EAGAIN;
    parse_state p = {0};
    if (parse_records(&c, counts, &p) < 0) {
        free(p.blob);
        return -EBADMSG;
    }
    dns_cache_entry *e = xcalloc(1, sizeof(*e) + p.len);
    atomic_init(&e->refs, 1);
    e->stored_ns = stored_ns;
    e->rcode = (uint8_t)dns_flags_rcode(flags);
    e->negative = e->rcode == DNS_RCODE_NXDOMAIN || (e->rcode == 0 && counts[0] == 0);
    e->min_ttl = p.min_ttl;
    e->neg_ttl = p.have_soa ? p.neg_ttl : 0;
    e->qtype = qtype;
    e->qclass = qclass;
    e->qname_len = (uint8_t)dns_name_len(qname);
    memcpy(e->qname, qname, e->qname_len);
    dns_name_lower(e->qname);
    e->hash = key_hash(e->qname, e->qname_len, qtype, qclass);
    e->blob_len = p.len;
    if (p.len)
        memcpy(e->blob, p.blob, p.len);
    free(p.blob);
    *out = e;
    return 0;
}

unsigned dns_cache_entry_rcode(const dns_cache_entry *e)
{
    return e->rcode;
}

uint32_t dns_cache_entry_lifetime(const dns_cache_entry *e, uint32_t max_ttl)
{
    uint32_t t;
    if (e->rcode != DNS_RCODE_NOERROR && e->rcode != DNS_RCODE_NXDOMAIN)
        return 0;
    t = e->negative ? e->neg_ttl : e->min_ttl;
    return t < max_ttl ? t : max_ttl;
}

/* Reads the record at *off of the blob into rr. */
static int blob_next(const dns_cache_entry *e, size_t *off, dns_rr *rr)
{
    const uint8_t *p = e->blob + *off;
    int sec = p[0];
    size_t ol = p[1];
    rr->owner = p + 2;
    p += 2 + ol;
    memcpy(&rr->type, p, 2);
    memcpy(&rr->rclass, p + 2, 2);
    memcpy(&rr->ttl, p + 4, 4);
    memcpy(&rr->rdlen, p + 8, 2);
    rr->rdata = p + 10;
    *off += 2 + ol + 10 + rr->rdlen;
    return sec;
}

int dns_cache_entry_write(const dns_cache_entry *e, int64_t now_ns, const uint8_t *owner,
                          dns_writer *w)
{
    dns_writer_mark m = dns_writer_get_mark(w);
    int64_t age_ns = now_ns - e->stored_ns;
    uint32_t age = age_ns > 0 ? (uint32_t)(age_ns / 1000000000) : 0;
    uint32_t cap = e->lifetime ? e->lifetime : UINT32_MAX;
    for (size_t off = 0; off < e->blob_len;) {
        dns_rr rr;
        int sec = blob_next(e, &off, &rr);
        uint32_t ttl = rr.ttl < cap ? rr.ttl : cap;
        rr.ttl = ttl > age ? ttl - age : 0;
        if (dns_name_equal(rr.owner, e->qname))
            rr.owner = owner;
        if (dns_writer_rr(w, (enum dns_section)sec, &rr) < 0 && sec != DNS_SEC_ADDITIONAL) {
            dns_writer_rewind(w, &m);
            return -EMSGSIZE;
        }
    }
    dns_writer_set_rcode(w, e->rcode);
    return 0;
}

void dns_cache_entry_ref(dns_cache_entry *e)
{
    atomic_fetch_add_explicit(&e->refs, 1, memory_order_relaxed);
}

void dns_cache_entry_unref(dns_cache_entry *e)
{
    if (e && atomic_fetch_sub_explicit(&e->refs, 1, memory_order_acq_rel) == 1)
        free(e);
}

/* ---- the cache ------------------------------------------------------------ */

dns_cache *dns_cache_new(size_t max_entries, uint32_t max_ttl, kn_clock *clock)
{
    dns_cache *c = xcalloc(1, sizeof(*c));
    c->clock = clock;
    c->max_ttl = max_ttl;
    size_t per = (max_entries + NSHARDS - 1) / NSHARDS;
    for (int i = 0; i < NSHARDS; i++) {
        shard *s = &c->shards[i];
        pthread_mutex_init(&s->lock, NULL);
        s->max = per ? per : 1;
        s->nbuckets = 16;
        while (s->nbuckets < s->max)
            s->nbuckets *= 2;
        s->buckets = xcalloc(s->nbuckets, sizeof(*s->buckets));
    }
    return c;
}

void dns_cache_free(dns_cache *c)
{
    if (!c)
        return;
    for (int i = 0; i < NSHARDS; i++) {
        shard *s = &c->shards[i];
        for (dns_cache_entry *e = s->head, *next; e; e = next) {
            next = e->next;
            dns_cache_entry_unref(e);
        }
        free(s->buckets);
        pthread_mutex_destroy(&s->lock);
    }
    free(c);
}

int64_t dns_cache_now(dns_cache *c)
{
    return kn_clock_now(c->clock);
}

static void lru_unlink(shard *s, dns_cache_entry *e)
{
    if (e->prev)
        e->prev->next = e->next;
    else
        s->head = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        s->tail = e->prev;
    e->prev = e->next = NULL;
}

static void lru_push(shard *s, dns_cache_entry *e)
{
    e->prev = NULL;
    e->next = s->head;
    if (s->head)
        s->head->prev = e;
    s->head = e;
    if (!s->tail)
        s->tail = e;
}

/* Unlinks e from its shard and drops the shard's reference. */
static void shard_remove(shard *s, dns_cache_entry *e)
{
    dns_cache_entry **pp = &s->buckets[e->hash & (s->nbuckets - 1)];
    while (*pp != e)
        pp = &(*pp)->hnext;
    *pp = e->hnext;
    lru_unlink(s, e);
    s->count--;
    dns_cache_entry_unref(e);
}

static dns_cache_entry *shard_find(shard *s, uint32_t h, const uint8_t *lc, size_t len,
                                   uint16_t qtype, uint16_t qclass)
{
    for (dns_cache_entry *e = s->buckets[h & (s->nbuckets - 1)]; e; e = e->hnext) {
        if (e->hash == h && e->qtype == qtype && e->qclass == qclass && e->qname_len == len &&
            memcmp(e->qname, lc, len) == 0)
            return e;
    }
    return NULL;
}

dns_cache_entry *dns_cache_get(dns_cache *c, const uint8_t *qname, uint16_t qtype, uint16_t qclass)
{
    uint8_t lc[DNS_NAME_MAX];
    size_t len = dns_name_len(qname);
    memcpy(lc, qname, len);
    dns_name_lower(lc);
    uint32_t h = key_hash(lc, len, qtype, qclass);
    shard *s = &c->shards[h % NSHARDS];
    int64_t now = kn_clock_now(c->clock);
    pthread_mutex_lock(&s->lock);
    dns_cache_entry *e = shard_find(s, h, lc, len, qtype, qclass);
    if (e && now >= e->expires_ns) {
        shard_remove(s, e);
        e = NULL;
    }
    if (e) {
        lru_unlink(s, e);
        lru_push(s, e);
        dns_cache_entry_ref(e);
    }
    pthread_mutex_unlock(&s->lock);
    return e;
}

void dns_cache_put(dns_cache *c, dns_cache_entry *e)
{
    uint32_t life = dns_cache_entry_lifetime(e, c->max_ttl);
    if (life == 0)
        return;
    shard *s = &c->shards[e->hash % NSHARDS];
    pthread_mutex_lock(&s->lock);
    dns_cache_entry *old = shard_find(s, e->hash, e->qname, e->qname_len, e->qtype, e->qclass);
    if (old == e) {
        pthread_mutex_unlock(&s->lock);
        return;
    }
    if (old)
        shard_remove(s, old);
    while (s->count >= s->max && s->tail)
        shard_remove(s, s->tail);
    e->lifetime = life;
    e->expires_ns = kn_time_add(e->stored_ns, (int64_t)life * 1000000000);
    dns_cache_entry_ref(e);
    dns_cache_entry **b = &s->buckets[e->hash & (s->nbuckets - 1)];
    e->hnext = *b;
    *b = e;
    lru_push(s, e);
    s->count++;
    pthread_mutex_unlock(&s->lock);
}

size_t dns_cache_size(dns_cache *c)
{
    size_t n = 0;
    for (int i = 0; i < NSHARDS; i++) {
        pthread_mutex_lock(&c->shards[i].lock);
        n += c->shards[i].count;
        pthread_mutex_unlock(&c->shards[i].lock);
    }
    return n;
}

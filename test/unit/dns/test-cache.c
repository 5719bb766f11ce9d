/* test-cache.c - upstream answers: validation against the question,
 * lifetimes (positive TTLs, negative caching from the SOA, the maximum),
 * aging, eviction. Time comes from a fake clock. */
#include "dns/cache.h"
#include "lib/clock.h"
#include "lib/duration.h"
#include "test/runner/kt.h"
#include "test/unit/dns/helpers.h"

#include <stdio.h>

static dnst_msg m;

typedef struct answer_spec {
    uint16_t id;
    uint16_t flags; /* added to QR|RD|RA */
    unsigned rcode;
    const char *qname;
    uint16_t qtype;
    uint32_t a_ttl;   /* an A record with this TTL, unless 0 */
    uint32_t soa_ttl; /* an SOA in authority, unless 0 */
    uint32_t soa_min;
} answer_spec;

static size_t make_answer(uint8_t *buf, const answer_spec *s)
{
    dns_writer w;
    uint8_t name[DNS_NAME_MAX], zone[DNS_NAME_MAX], rd[2 * DNS_NAME_MAX + 20];
    dns_name_from_str(s->qname, name);
    dns_name_from_str("example.com", zone);
    dns_writer_init(&w, buf, DNS_MSG_MAX, s->id,
                    (uint16_t)(DNS_FLAG_QR | DNS_FLAG_RD | DNS_FLAG_RA | s->flags));
    dns_writer_set_rcode(&w, s->rcode);
    dns_writer_question(&w, name, s->qtype ? s->qtype : DNS_TYPE_A, DNS_CLASS_IN);
    uint8_t ip[4] = {192, 0, 2, 1};
    dns_rr a = {name, DNS_TYPE_A, DNS_CLASS_IN, s->a_ttl, 4, ip};
    if (s->a_ttl)
        dns_writer_rr(&w, DNS_SEC_ANSWER, &a);
    size_t sl = dns_rdata_soa(rd, zone, zone, 1, 2, 3, 4, s->soa_min);
    dns_rr soa = {zone, DNS_TYPE_SOA, DNS_CLASS_IN, s->soa_ttl, (uint16_t)sl, rd};
    if (s->soa_ttl)
        dns_writer_rr(&w, DNS_SEC_AUTHORITY, &soa);
    dns_writer_reserve(&w, 0);
    dns_writer_opt(&w, 1232, 0, false); /* upstreams send OPT: dropped */
    return dns_writer_len(&w);
}

static int parse(const answer_spec *s, const char *qname, uint16_t id, int64_t now,
                 dns_cache_entry **e)
{
    uint8_t buf[1024];
    size_t n = make_answer(buf, s);
    return dns_cache_entry_parse(buf, n, id, dnst_name(qname), DNS_TYPE_A, DNS_CLASS_IN, now, e);
}

/* Writes e as the answer to (qname, A) and parses it into m. */
static void write_out(const dns_cache_entry *e, int64_t now, const char *qname)
{
    static uint8_t buf[DNS_MSG_MAX];
    uint8_t owner[DNS_NAME_MAX];
    dns_name_from_str(qname, owner);
    dns_writer w;
    dns_writer_init(&w, buf, sizeof(buf), 1, DNS_FLAG_QR);
    dns_writer_question(&w, owner, DNS_TYPE_A, DNS_CLASS_IN);
    KT_ASSERT_EQ(dns_cache_entry_write(e, now, owner, &w), 0);
    dnst_parse(buf, dns_writer_len(&w), &m);
}

KT_TEST(dns_cache, parse_validates_against_the_question)
{
    dns_cache_entry *e = NULL;
    answer_spec s = {.id = 5, .qname = "www.example.com", .a_ttl = 60};
    KT_ASSERT_EQ(parse(&s, "www.example.com", 5, 0, &e), 0);
    dns_cache_entry_unref(e);
    KT_ASSERT_EQ(parse(&s, "WWW.EXAMPLE.com", 5, 0, &e), 0); /* case does not matter */
    dns_cache_entry_unref(e);
    KT_ASSERT_EQ(parse(&s, "www.example.com", 6, 0, &e), -EBADMSG); /* id */
    KT_ASSERT_EQ(parse(&s, "ww.example.com", 5, 0, &e), -EBADMSG);  /* name */
    s.qtype = DNS_TYPE_AAAA;
    KT_ASSERT_EQ(parse(&s, "www.example.com", 5, 0, &e), -EBADMSG); /* type */
    s.qtype = 0;
    s.flags = DNS_FLAG_TC;
    KT_ASSERT_EQ(parse(&s, "www.example.com", 5, 0, &e), -EAGAIN);
    s.flags = DNS_OPCODE_NOTIFY << 11;
    KT_ASSERT_EQ(parse(&s, "www.example.com", 5, 0, &e), -EBADMSG);
    /* not a response at all */
    uint8_t buf[1024];
    size_t n = dnst_query(buf, 5, DNS_FLAG_RD, "www.example.com", DNS_TYPE_A, -1);
    KT_ASSERT_EQ(dns_cache_entry_parse(buf, n, 5, dnst_name("www.example.com"), DNS_TYPE_A,
                                       DNS_CLASS_IN, 0, &e),
                 -EBADMSG);
    /* truncated records */
    s.flags = 0;
    n = make_answer(buf, &s);
    for (size_t len = 0; len < n; len++)
        KT_ASSERT_EQ(dns_cache_entry_parse(buf, len, 5, dnst_name("www.example.com"), DNS_TYPE_A,
                                           DNS_CLASS_IN, 0, &e),
                     -EBADMSG);
}

KT_TEST(dns_cache, lifetimes)
{
    dns_cache_entry *e = NULL;
    answer_spec s = {.id = 1, .qname = "a.example.com", .a_ttl = 600, .soa_ttl = 300};
    KT_ASSERT_EQ(parse(&s, "a.example.com", 1, 0, &e), 0);
    KT_ASSERT_EQ(dns_cache_entry_lifetime(e, 3600), 300); /* smallest of answer + authority */
    KT_ASSERT_EQ(dns_cache_entry_lifetime(e, 100), 100);  /* capped */
    dns_cache_entry_unref(e);
    /* NXDOMAIN: min(SOA TTL, MINIMUM) */
    s = (answer_spec){.id = 1, .rcode = 3, .qname = "a.example.com", .soa_ttl = 900, .soa_min = 30};
    KT_ASSERT_EQ(parse(&s, "a.example.com", 1, 0, &e), 0);
    KT_ASSERT_EQ(dns_cache_entry_rcode(e), DNS_RCODE_NXDOMAIN);
    KT_ASSERT_EQ(dns_cache_entry_lifetime(e, 3600), 30);
    dns_cache_entry_unref(e);
    s.soa_ttl = 20;
    KT_ASSERT_EQ(parse(&s, "a.example.com", 1, 0, &e), 0);
    KT_ASSERT_EQ(dns_cache_entry_lifetime(e, 3600), 20);
    dns_cache_entry_unref(e);
    /* NODATA (NOERROR without answers) is negative too */
    s.rcode = 0;
    KT_ASSERT_EQ(parse(&s, "a.example.com", 1, 0, &e), 0);
    KT_ASSERT_EQ(dns_cache_entry_lifetime(e, 3600), 20);
    dns_cache_entry_unref(e);
    /* without an SOA a negative answer is not cached */
    s.soa_ttl = 0;
    KT_ASSERT_EQ(parse(&s, "a.example.com", 1, 0, &e), 0);
    KT_ASSERT_EQ(dns_cache_entry_lifetime(e, 3600), 0);
    dns_cache_entry_unref(e);
    /* SERVFAIL never; a TTL with the top bit set counts as 0 */
    s = (answer_spec){.id = 1, .rcode = 2, .qname = "a.example.com", .a_ttl = 60};
    KT_ASSERT_EQ(parse(&s, "a.example.com", 1, 0, &e), 0);
    KT_ASSERT_EQ(dns_cache_entry_lifetime(e, 3600), 0);
    dns_cache_entry_unref(e);
    s = (answer_spec){.id = 1, .qname = "a.example.com", .a_ttl = 0x80000001u};
    KT_ASSERT_EQ(parse(&s, "a.example.com", 1, 0, &e), 0);
    KT_ASSERT_EQ(dns_cache_entry_lifetime(e, 3600), 0);
    dns_cache_entry_unref(e);
}

KT_TEST(dns_cache, expiry_and_aging)
{
    kn_fake_clock fc;
    kn_fake_clock_init(&fc, 1000 * KN_NSEC_PER_SEC);
    dns_cache *c = dns_cache_new(100, 3600, &fc.clock);
    dns_cache_entry *e = NULL;
    answer_spec s = {.id = 1, .qname = "a.example.com", .a_ttl = 60};
    KT_ASSERT_EQ(parse(&s, "a.example.com", 1, dns_cache_now(c), &e), 0);
    dns_cache_put(c, e);
    dns_cache_entry_unref(e);
    KT_ASSERT_EQ(dns_cache_size(c), 1);
    kn_fake_clock_advance(&fc, 25 * KN_NSEC_PER_SEC);
    e = dns_cache_get(c, dnst_name("A.Example.Com"), DNS_TYPE_A, DNS_CLASS_IN);
    KT_ASSERT(e != NULL);
    write_out(e, dns_cache_now(c), "A.Example.Com");
    KT_ASSERT_EQ(m.n[1], 1);
    KT_ASSERT_STREQ(m.rr[1][0], "A.Example.Com. 35 A 192.0.2.1"); /* aged, client's case */
    KT_ASSERT(!m.edns);                                           /* upstream OPT dropped */
    dns_cache_entry_unref(e);
    KT_ASSERT(dns_cache_get(c, dnst_name("a.example.com"), DNS_TYPE_AAAA, DNS_CLASS_IN) == NULL);
    kn_fake_clock_advance(&fc, 35 * KN_NSEC_PER_SEC);
    KT_ASSERT(dns_cache_get(c, dnst_name("a.example.com"), DNS_TYPE_A, DNS_CLASS_IN) == NULL);
    KT_ASSERT_EQ(dns_cache_size(c), 0);
    /* the maximum TTL caps lifetime and the TTLs handed out */
    dns_cache_free(c);
    c = dns_cache_new(100, 10, &fc.clock);
    KT_ASSERT_EQ(parse(&s, "a.example.com", 1, dns_cache_now(c), &e), 0);
    dns_cache_put(c, e);
    dns_cache_entry_unref(e);
    kn_fake_clock_advance(&fc, 4 * KN_NSEC_PER_SEC);
    e = dns_cache_get(c, dnst_name("a.example.com"), DNS_TYPE_A, DNS_CLASS_IN);
    KT_ASSERT(e != NULL);
    write_out(e, dns_cache_now(c), "a.example.com");
    KT_ASSERT_STREQ(m.rr[1][0], "a.example.com. 6 A 192.0.2.1");
    dns_cache_entry_unref(e);
    kn_fake_clock_advance(&fc, 6 * KN_NSEC_PER_SEC);
    KT_ASSERT(dns_cache_get(c, dnst_name("a.example.com"), DNS_TYPE_A, DNS_CLASS_IN) == NULL);
    dns_cache_free(c);
    kn_fake_clock_destroy(&fc);
}

KT_TEST(dns_cache, negative_entries_carry_their_soa)
{
    kn_fake_clock fc;
    kn_fake_clock_init(&fc, 0);
    dns_cache *c = dns_cache_new(100, 3600, &fc.clock);
    dns_cache_entry *e = NULL;
    answer_spec s = {.id = 1, .rcode = 3, .qname = "x.example.com", .soa_ttl = 900, .soa_min = 30};
    KT_ASSERT_EQ(parse(&s, "x.example.com", 1, 0, &e), 0);
    dns_cache_put(c, e);
    dns_cache_entry_unref(e);
    kn_fake_clock_advance(&fc, 10 * KN_NSEC_PER_SEC);
    e = dns_cache_get(c, dnst_name("x.example.com"), DNS_TYPE_A, DNS_CLASS_IN);
    KT_ASSERT(e != NULL);
    write_out(e, dns_cache_now(c), "x.example.com");
    KT_ASSERT_EQ(m.rcode, DNS_RCODE_NXDOMAIN);
    KT_ASSERT_EQ(m.n[2], 1);
    /* the SOA's TTL is capped by the 30 s lifetime, then aged by 10 s */
    KT_ASSERT_STREQ(m.rr[2][0], "example.com. 20 SOA example.com. example.com. 1 2 3 4 30");
    dns_cache_entry_unref(e);
    kn_fake_clock_advance(&fc, 20 * KN_NSEC_PER_SEC);
    KT_ASSERT(dns_cache_get(c, dnst_name("x.example.com"), DNS_TYPE_A, DNS_CLASS_IN) == NULL);
    dns_cache_free(c);
    kn_fake_clock_destroy(&fc);
}

KT_TEST(dns_cache, bounded_with_lru_eviction_and_replacement)
{
    kn_fake_clock fc;
    kn_fake_clock_init(&fc, 0);
    dns_cache *c = dns_cache_new(32, 3600, &fc.clock);
    char name[64];
    for (int i = 0; i < 500; i++) {
        dns_cache_entry *e = NULL;
        snprintf(name, sizeof(name), "n%d.example.com", i);
        answer_spec s = {.id = 1, .qname = name, .a_ttl = 60};
        KT_ASSERT_EQ(parse(&s, name, 1, 0, &e), 0);
        dns_cache_put(c, e);
        dns_cache_entry_unref(e);
        KT_ASSERT(dns_cache_size(c) <= 32);
    }
    /* the last one put is there; the first ones were evicted */
    dns_cache_entry *e = dns_cache_get(c, dnst_name("n499.example.com"), DNS_TYPE_A, DNS_CLASS_IN);
    KT_ASSERT(e != NULL);
    dns_cache_entry_unref(e);
    KT_ASSERT(dns_cache_get(c, dnst_name("n0.example.com"), DNS_TYPE_A, DNS_CLASS_IN) == NULL);
    /* a newer answer replaces the older one */
    answer_spec s = {.id = 1, .qname = "n499.example.com", .a_ttl = 7};
    KT_ASSERT_EQ(parse(&s, "n499.example.com", 1, 0, &e), 0);
    size_t before = dns_cache_size(c);
    dns_cache_put(c, e);
    dns_cache_put(c, e); /* putting the same entry twice is harmless */
    dns_cache_entry_unref(e);
    KT_ASSERT_EQ(dns_cache_size(c), before);
    e = dns_cache_get(c, dnst_name("n499.example.com"), DNS_TYPE_A, DNS_CLASS_IN);
    write_out(e, 0, "n499.example.com");
    KT_ASSERT_STREQ(m.rr[1][0], "n499.example.com. 7 A 192.0.2.1");
    dns_cache_entry_unref(e);
    dns_cache_free(c);
    kn_fake_clock_destroy(&fc);
}

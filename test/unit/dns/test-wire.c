/* test-wire.c - the DNS wire codec: names, queries, records, the writer. */
#include "dns/wire.h"
#include "test/runner/kt.h"

#include <arpa/inet.h>

/* A query as dig sends it: header, one question, optional OPT record. */
static size_t make_query(uint8_t *buf, uint16_t id, const char *name, uint16_t qtype, int edns_udp,
                         uint32_t opt_ttl)
{
    dns_writer w;
    dns_writer_init(&w, buf, DNS_MSG_MAX, id, DNS_FLAG_RD);
    uint8_t wire[DNS_NAME_MAX];
    KT_ASSERT(dns_name_from_str(name, wire) > 0);
    KT_ASSERT_EQ(dns_writer_question(&w, wire, qtype, DNS_CLASS_IN), 0);
    size_t len = dns_writer_len(&w);
    if (edns_udp >= 0) {
        uint8_t opt[] = {0,
                         0,
                         41,
                         (uint8_t)(edns_udp >> 8),
                         (uint8_t)edns_udp,
                         (uint8_t)(opt_ttl >> 24),
                         (uint8_t)(opt_ttl >> 16),
                         (uint8_t)(opt_ttl >> 8),
                         (uint8_t)opt_ttl,
                         0,
                         0};
        memcpy(buf + len, opt, sizeof(opt));
        len += sizeof(opt);
        buf[11] = 1;
    }
    return len;
}

static const char *name_str(const uint8_t *wire)
{
    static char out[1100];
    KT_ASSERT(dns_name_to_str(wire, out, sizeof(out)) >= 0);
    return out;
}

KT_TEST(dns_wire, cursor_sticky_error)
{
    const uint8_t b[] = {0x12, 0x34, 0x56};
    dns_cursor c;
    dns_cursor_init(&c, b, sizeof(b));
    KT_ASSERT_EQ(dns_read_u16(&c), 0x1234);
    KT_ASSERT_EQ(dns_read_u16(&c), 0);
    KT_ASSERT_EQ(c.error, -EBADMSG);
    KT_ASSERT_EQ(dns_read_u8(&c), 0); /* stays failed though one byte is left */
    KT_ASSERT_EQ(dns_cursor_left(&c), 0);
    dns_cursor_init(&c, b, sizeof(b));
    KT_ASSERT_EQ(dns_read_u8(&c), 0x12);
    dns_skip(&c, 3);
    KT_ASSERT_EQ(c.error, -EBADMSG);
}

KT_TEST(dns_wire, name_from_to_str)
{
    uint8_t w[DNS_NAME_MAX];
    KT_ASSERT_EQ(dns_name_from_str("www.Example.com", w), 17);
    KT_ASSERT(memcmp(w, "\3www\7Example\3com", 17) == 0);
    KT_ASSERT_STREQ(name_str(w), "www.Example.com.");
    KT_ASSERT_EQ(dns_name_from_str("www.example.com.", w), 17);
    KT_ASSERT_EQ(dns_name_from_str(".", w), 1);
    KT_ASSERT_STREQ(name_str(w), ".");
    KT_ASSERT_EQ(dns_name_from_str("", w), 1);
    KT_ASSERT_EQ(dns_name_from_str("a\\.b.c", w), 7);
    KT_ASSERT(memcmp(w, "\3a.b\1c", 7) == 0);
    KT_ASSERT_STREQ(name_str(w), "a\\.b.c.");
    KT_ASSERT_EQ(dns_name_from_str("\\000x", w), 4);
    KT_ASSERT_STREQ(name_str(w), "\\000x.");
    KT_ASSERT_FAILS(dns_name_from_str("a..b", w));
    KT_ASSERT_FAILS(dns_name_from_str("..", w));
    KT_ASSERT_FAILS(dns_name_from_str("\\256", w));
    KT_ASSERT_FAILS(dns_name_from_str("a\\", w));
    char l63[64], l64[65];
    memset(l63, 'a', 63);
    l63[63] = '\0';
    memset(l64, 'a', 64);
    l64[64] = '\0';
    KT_ASSERT_EQ(dns_name_from_str(l63, w), 65);
    KT_ASSERT_FAILS(dns_name_from_str(l64, w));
    /* 255 bytes on the wire is the most: 127 labels "a" make 255 */
    char big[300] = "";
    for (int i = 0; i < 127; i++)
        strcat(big, i ? ".a" : "a");
    KT_ASSERT_EQ(dns_name_from_str(big, w), 255);
    strcat(big, ".a");
    KT_ASSERT_FAILS(dns_name_from_str(big, w));
    char small[8];
    KT_ASSERT_EQ(dns_name_from_str("abcdef.gh", w), 11);
    KT_ASSERT_EQ(dns_name_to_str(w, small, sizeof(small)), -ENOSPC);
    KT_ASSERT_EQ(strlen(small), 7);
}

KT_TEST(dns_wire, name_compare_lower_suffix)
{
    uint8_t a[DNS_NAME_MAX], b[DNS_NAME_MAX], z[DNS_NAME_MAX];
    dns_name_from_str("WeB.Default.SVC.cluster.local", a);
    dns_name_from_str("web.default.svc.CLUSTER.LOCAL", b);
    dns_name_from_str("cluster.local", z);
    KT_ASSERT(dns_name_equal(a, b));
    KT_ASSERT_EQ(dns_name_labels(a), 5);
    KT_ASSERT_EQ(dns_name_len(a), 31);
    KT_ASSERT_EQ(dns_name_suffix_of(a, z), 16);
    KT_ASSERT_EQ(dns_name_suffix_of(z, z), 0);
    KT_ASSERT_EQ(dns_name_suffix_of(z, a), -1);
    uint8_t other[DNS_NAME_MAX];
    dns_name_from_str("xcluster.local", other);
    KT_ASSERT_EQ(dns_name_suffix_of(other, z), -1); /* not label-aligned */
    dns_name_from_str("cluster.localx", other);
    KT_ASSERT_EQ(dns_name_suffix_of(other, z), -1);
    dns_name_lower(a);
    KT_ASSERT(memcmp(a, b, 16) == 0);
    KT_ASSERT_STREQ(name_str(a), "web.default.svc.cluster.local.");
    /* length bytes are never confused with letters */
    dns_name_from_str("a.b", a);
    dns_name_from_str("ab", b);
    KT_ASSERT(!dns_name_equal(a, b));
}

KT_TEST(dns_wire, read_name_compression)
{
    /* offset 0: "\3foo\3bar\0"; offset 9: "\3www" + ptr 4 -> www.bar;
     * offset 15: ptr 9 -> www.bar */
    const uint8_t m[] = {3, 'f', 'o', 'o', 3, 'b', 'a', 'r', 0, 3, 'w', 'w', 'w', 0xc0, 4, 0xc0, 9};
    uint8_t out[DNS_NAME_MAX];
    dns_cursor c;
    dns_cursor_init(&c, m, sizeof(m));
    c.pos = 9;
    KT_ASSERT_EQ(dns_read_name(&c, out), 9);
    KT_ASSERT_STREQ(name_str(out), "www.bar.");
    KT_ASSERT_EQ(c.pos, 15);
    KT_ASSERT_EQ(dns_read_name(&c, out), 9);
    KT_ASSERT_EQ(c.pos, 17);
    c.pos = 0;
    KT_ASSERT_EQ(dns_read_name(&c, out), 9);
    KT_ASSERT_STREQ(name_str(out), "foo.bar.");
    KT_ASSERT_EQ(c.error, 0);
}

static int read_name_at(const uint8_t *m, size_t len, size_t pos)
{
    uint8_t out[DNS_NAME_MAX];
    dns_cursor c;
    dns_cursor_init(&c, m, len);
    c.pos = pos;
    return dns_read_name(&c, out);
}

KT_TEST(dns_wire, read_name_rejects_bad_pointers)
{
    /* pointer to itself */
    const uint8_t self[] = {0xc0, 0};
    KT_ASSERT_EQ(read_name_at(self, sizeof(self), 0), -EBADMSG);
    /* two pointers pointing at each other */
    const uint8_t pair[] = {0, 0, 0xc0, 4, 0xc0, 2};
    KT_ASSERT_EQ(read_name_at(pair, sizeof(pair), 4), -EBADMSG);
    /* a label then a pointer back to that label: a loop through a label */
    const uint8_t lab[] = {1, 'a', 0xc0, 0};
    KT_ASSERT_EQ(read_name_at(lab, sizeof(lab), 0), -EBADMSG);
    /* a forward pointer */
    const uint8_t fwd[] = {0xc0, 2, 1, 'a', 0};
    KT_ASSERT_EQ(read_name_at(fwd, sizeof(fwd), 0), -EBADMSG);
    /* a pointer past the end, a pointer cut in half */
    const uint8_t past[] = {1, 'a', 0xc0, 0x20};
    KT_ASSERT_EQ(read_name_at(past, sizeof(past), 2), -EBADMSG);
    const uint8_t half[] = {1, 'a', 0, 0xc0};
    KT_ASSERT_EQ(read_name_at(half, sizeof(half), 3), -EBADMSG);
    /* a chain of backward pointers is fine */
    const uint8_t chain[] = {1, 'a', 0, 1, 'b', 0xc0, 0, 1, 'c', 0xc0, 3};
    KT_ASSERT_EQ(read_name_at(chain, sizeof(chain), 7), 7);
}

KT_TEST(dns_wire, read_name_rejects_bad_labels)
{
    uint8_t m[400];
    /* label type 0x40 (extended) and 0x80 (reserved) */
    const uint8_t ext[] = {0x41, 'a', 0};
    KT_ASSERT_EQ(read_name_at(ext, sizeof(ext), 0), -EBADMSG);
    const uint8_t res[] = {0x81, 'a', 0};
    KT_ASSERT_EQ(read_name_at(res, sizeof(res), 0), -EBADMSG);
    /* a label running past the end, a missing root label */
    const uint8_t cut[] = {5, 'a', 'b'};
    KT_ASSERT_EQ(read_name_at(cut, sizeof(cut), 0), -EBADMSG);
    const uint8_t noroot[] = {1, 'a'};
    KT_ASSERT_EQ(read_name_at(noroot, sizeof(noroot), 0), -EBADMSG);
    KT_ASSERT_EQ(read_name_at(noroot, 0, 0), -EBADMSG);
    /* 63 is the longest label */
    memset(m, 'x', sizeof(m));
    m[0] = 63;
    m[64] = 0;
    KT_ASSERT_EQ(read_name_at(m, 65, 0), 65);
    /* a name over 255 bytes in place: 128 labels "a" = 256 bytes */
    for (int i = 0; i < 128; i++) {
        m[2 * i] = 1;
        m[2 * i + 1] = 'a';
    }
    m[256] = 0;
    KT_ASSERT_EQ(read_name_at(m, 257, 0), -EBADMSG);
    KT_ASSERT_EQ(read_name_at(m, 257, 2), 255); /* one label fewer fits */
    /* over 255 bytes through pointers: each 60-byte label points back */
    size_t o = 0;
    m[o++] = 0;
    for (int i = 0; i < 5; i++) {
        size_t start = o;
        m[o++] = 60;
        memset(m + o, 'y', 60);
        o += 60;
        m[o++] = 0xc0;
        m[o++] = (uint8_t)(i == 0 ? 0 : start - 63);
    }
    KT_ASSERT_EQ(read_name_at(m, o, o - 63), -EBADMSG); /* 5 * 61 + 1 > 255 */
    KT_ASSERT_EQ(read_name_at(m, o, o - 4 * 63), 123);  /* 2 labels fit */
}

KT_TEST(dns_wire, query_parse_plain_and_edns)
{
    uint8_t b[512];
    dns_query q;
    size_t n = make_query(b, 0xbeef, "Web.default.svc.cluster.local", DNS_TYPE_A, -1, 0);
    KT_ASSERT_EQ(dns_query_parse(b, n, &q), 0);
    KT_ASSERT_EQ(q.id, 0xbeef);
    KT_ASSERT_EQ(q.qtype, DNS_TYPE_A);
    KT_ASSERT_EQ(q.qclass, DNS_CLASS_IN);
    KT_ASSERT_EQ(q.qname_len, 31);
    KT_ASSERT_STREQ(name_str(q.qname), "Web.default.svc.cluster.local.");
    KT_ASSERT(!q.edns);
    KT_ASSERT_EQ(dns_query_udp_limit(&q, 1232), 512);

    n = make_query(b, 1, "example.com", DNS_TYPE_AAAA, 4096, DNS_EDNS_DO);
    KT_ASSERT_EQ(dns_query_parse(b, n, &q), 0);
    KT_ASSERT(q.edns);
    KT_ASSERT(q.edns_do);
    KT_ASSERT_EQ(q.edns_udp, 4096);
    KT_ASSERT_EQ(dns_query_udp_limit(&q, 1232), 1232);
    KT_ASSERT_EQ(dns_query_udp_limit(&q, 8192), 4096);
    n = make_query(b, 1, "example.com", DNS_TYPE_AAAA, 100, 0);
    KT_ASSERT_EQ(dns_query_parse(b, n, &q), 0);
    KT_ASSERT_EQ(dns_query_udp_limit(&q, 1232), 512); /* below 512 counts as 512 */

    /* EDNS version 1 → BADVERS */
    n = make_query(b, 1, "example.com", DNS_TYPE_A, 1232, 1u << 16);
    KT_ASSERT_EQ(dns_query_parse(b, n, &q), -EPROTONOSUPPORT);
    KT_ASSERT_EQ(q.edns_version, 1);
}

KT_TEST(dns_wire, query_parse_edns_options)
{
    uint8_t b[512];
    dns_query q;
    size_t n = make_query(b, 1, "example.com", DNS_TYPE_A, 1232, 0);
    /* a COOKIE option (code 10, 8 bytes) */
    const uint8_t cookie[] = {0, 10, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8};
    memcpy(b + n, cookie, sizeof(cookie));
    b[n - 1] = sizeof(cookie);
    KT_ASSERT_EQ(dns_query_parse(b, n + sizeof(cookie), &q), 0);
    KT_ASSERT(q.edns);
    /* option length beyond the rdata */
    b[n + 3] = 9;
    KT_ASSERT_EQ(dns_query_parse(b, n + sizeof(cookie), &q), -EBADMSG);
    /* rdlen beyond the message */
    b[n + 3] = 8;
    b[n - 1] = sizeof(cookie) + 1;
    KT_ASSERT_EQ(dns_query_parse(b, n + sizeof(cookie), &q), -EBADMSG);
}

KT_TEST(dns_wire, query_parse_rejects)
{
    uint8_t b[600];
    dns_query q;
    size_t n = make_query(b, 7, "example.com", DNS_TYPE_A, -1, 0);
    KT_ASSERT_EQ(dns_query_parse(b, 11, &q), -ENOMSG); /* shorter than a header */
    b[2] |= 0x80;                                      /* QR: a response */
    KT_ASSERT_EQ(dns_query_parse(b, n, &q), -ENOMSG);
    b[2] &= 0x7f;
    b[2] |= DNS_OPCODE_NOTIFY << 3;
    KT_ASSERT_EQ(dns_query_parse(b, n, &q), -EOPNOTSUPP);
    KT_ASSERT_EQ(q.qname_len, 13); /* the question is still read for the answer */
    b[2] &= 0x87;
    KT_ASSERT_EQ(dns_query_parse(b, n, &q), 0);
    b[5] = 0; /* qdcount 0 */
    KT_ASSERT_EQ(dns_query_parse(b, n, &q), -EBADMSG);
    b[5] = 2; /* qdcount 2, one present */
    KT_ASSERT_EQ(dns_query_parse(b, n, &q), -EBADMSG);
    b[5] = 1;
    b[7] = 1; /* ancount 1 */
    KT_ASSERT_EQ(dns_query_parse(b, n, &q), -EBADMSG);
    b[7] = 0;
    b[9] = 1; /* nscount 1 */
    KT_ASSERT_EQ(dns_query_parse(b, n, &q), -EBADMSG);
    b[9] = 0;
    b[11] = 1; /* arcount 1, nothing there */
    KT_ASSERT_EQ(dns_query_parse(b, n, &q), -EBADMSG);
    b[11] = 0;
    b[n] = 0; /* a trailing byte */
    KT_ASSERT_EQ(dns_query_parse(b, n + 1, &q), -EBADMSG);
    /* every truncation of a valid query is malformed, never a crash */
    n = make_query(b, 7, "example.com", DNS_TYPE_A, 1232, 0);
    for (size_t len = DNS_HEADER_SIZE; len < n; len++)
        KT_ASSERT_EQ(dns_query_parse(b, len, &q), -EBADMSG);
    /* the question's type is OPT */
    n = make_query(b, 7, "example.com", DNS_TYPE_OPT, -1, 0);
    KT_ASSERT_EQ(dns_query_parse(b, n, &q), -EBADMSG);
}

KT_TEST(dns_wire, query_parse_rejects_bad_opt)
{
    uint8_t b[600];
    dns_query q;
    size_t n = make_query(b, 7, "example.com", DNS_TYPE_A, 1232, 0);
    /* two OPT records */
    memcpy(b + n, b + n - DNS_OPT_SIZE, DNS_OPT_SIZE);
    b[11] = 2;
    KT_ASSERT_EQ(dns_query_parse(b, n + DNS_OPT_SIZE, &q), -EBADMSG);
    /* an OPT whose owner is not the root */
    n = make_query(b, 7, "example.com", DNS_TYPE_A, -1, 0);
    const uint8_t opt[] = {1, 'x', 0, 0, 41, 4, 0, 0, 0, 0, 0, 0, 0};
    memcpy(b + n, opt, sizeof(opt));
    b[11] = 1;
    KT_ASSERT_EQ(dns_query_parse(b, n + sizeof(opt), &q), -EBADMSG);
    /* another record type in the additional section is skipped (e.g. TSIG
     * we do not verify) */
    const uint8_t txt[] = {0, 0, 16, 0, 1, 0, 0, 0, 0, 0, 2, 1, 'x'};
    memcpy(b + n, txt, sizeof(txt));
    KT_ASSERT_EQ(dns_query_parse(b, n + sizeof(txt), &q), 0);
    KT_ASSERT(!q.edns);
}

KT_TEST(dns_wire, writer_compresses_and_reads_back)
{
    uint8_t b[512], owner[DNS_NAME_MAX], target[DNS_NAME_MAX], mname[DNS_NAME_MAX];
    dns_name_from_str("Foo.default.svc.cluster.local", owner);
    dns_name_from_str("www.example.com", target);
    dns_name_from_str("ns.dns.cluster.local", mname);
    dns_writer w;
    dns_writer_init(&w, b, sizeof(b), 42, DNS_FLAG_QR | DNS_FLAG_AA);
    KT_ASSERT_EQ(dns_writer_question(&w, owner, DNS_TYPE_A, DNS_CLASS_IN), 0);
    size_t qend = dns_writer_len(&w);
    dns_rr cname = {owner, DNS_TYPE_CNAME, DNS_CLASS_IN, 5, (uint16_t)dns_name_len(target), target};
    KT_ASSERT_EQ(dns_writer_rr(&w, DNS_SEC_ANSWER, &cname), 0);
    /* the owner is a pointer to the question name at 12 */
    KT_ASSERT_EQ(b[qend], 0xc0);
    KT_ASSERT_EQ(b[qend + 1], 12);
    uint8_t soa_rd[2 * DNS_NAME_MAX + 20], rname[DNS_NAME_MAX], zone[DNS_NAME_MAX];
    dns_name_from_str("hostmaster.cluster.local", rname);
    dns_name_from_str("cluster.local", zone);
    size_t sl = dns_rdata_soa(soa_rd, mname, rname, 9, 7200, 1800, 86400, 5);
    dns_rr soa = {zone, DNS_TYPE_SOA, DNS_CLASS_IN, 5, (uint16_t)sl, soa_rd};
    KT_ASSERT_EQ(dns_soa_minimum(&soa), 5);
    KT_ASSERT_EQ(dns_writer_rr(&w, DNS_SEC_AUTHORITY, &soa), 0);
    /* a record for an earlier section is refused */
    KT_ASSERT_EQ(dns_writer_rr(&w, DNS_SEC_ANSWER, &cname), -EINVAL);
    uint8_t srv_rd[6 + DNS_NAME_MAX];
    size_t srvl = dns_rdata_srv(srv_rd, 0, 100, 443, owner);
    dns_rr srv = {owner, DNS_TYPE_SRV, DNS_CLASS_IN, 5, (uint16_t)srvl, srv_rd};
    KT_ASSERT_EQ(dns_writer_rr(&w, DNS_SEC_ADDITIONAL, &srv), 0);
    size_t len = dns_writer_len(&w);
    /* the SRV target is not compressed (RFC 2782): it appears in full */
    KT_ASSERT(memmem(b + qend, len - qend, "\3Foo\7default", 12) != NULL);
    KT_ASSERT_EQ(dns_writer_count(&w, DNS_SEC_ANSWER), 1);
    KT_ASSERT_EQ(dns_writer_count(&w, DNS_SEC_AUTHORITY), 1);

    /* read it all back */
    dns_cursor c;
    dns_cursor_init(&c, b, len);
    dns_skip(&c, DNS_HEADER_SIZE);
    dns_skip_name(&c);
    dns_skip(&c, 4);
    static dns_rr_buf rb;
    dns_rr rr;
    KT_ASSERT_EQ(dns_read_rr(&c, &rb, &rr), 0);
    KT_ASSERT_EQ(rr.type, DNS_TYPE_CNAME);
    KT_ASSERT_STREQ(name_str(rr.owner), "Foo.default.svc.cluster.local.");
    KT_ASSERT_STREQ(name_str(rr.rdata), "www.example.com.");
    KT_ASSERT_EQ(dns_read_rr(&c, &rb, &rr), 0);
    KT_ASSERT_EQ(rr.type, DNS_TYPE_SOA);
    KT_ASSERT_EQ(rr.rdlen, sl);
    KT_ASSERT(memcmp(rr.rdata, soa_rd, sl) == 0);
    KT_ASSERT_EQ(dns_soa_minimum(&rr), 5);
    KT_ASSERT_EQ(dns_read_rr(&c, &rb, &rr), 0);
    KT_ASSERT_EQ(rr.type, DNS_TYPE_SRV);
    KT_ASSERT(memcmp(rr.rdata, srv_rd, srvl) == 0);
    KT_ASSERT_EQ(c.pos, len);
}

KT_TEST(dns_wire, writer_record_is_atomic)
{
    uint8_t b[64], name[DNS_NAME_MAX];
    dns_name_from_str("a.example", name);
    dns_writer w;
    dns_writer_init(&w, b, sizeof(b), 1, DNS_FLAG_QR);
    KT_ASSERT_EQ(dns_writer_reserve(&w, DNS_OPT_SIZE), 0);
    KT_ASSERT_EQ(dns_writer_question(&w, name, DNS_TYPE_A, DNS_CLASS_IN), 0);
    uint8_t ip[4] = {10, 0, 0, 1};
    dns_rr a = {name, DNS_TYPE_A, DNS_CLASS_IN, 5, 4, ip};
    /* 12 + 15 = 27; each A record is 16; 64 - 11 reserved leaves room for 1 */
    KT_ASSERT_EQ(dns_writer_rr(&w, DNS_SEC_ANSWER, &a), 0);
    size_t len = dns_writer_len(&w);
    KT_ASSERT_EQ(dns_writer_rr(&w, DNS_SEC_ANSWER, &a), -EMSGSIZE);
    KT_ASSERT_EQ(dns_writer_len(&w), len);
    KT_ASSERT_EQ(dns_writer_count(&w, DNS_SEC_ANSWER), 1);
    KT_ASSERT_EQ(dns_writer_opt(&w, 1232, DNS_RCODE_BADVERS, true), 0);
    KT_ASSERT_EQ(dns_writer_len(&w), len + DNS_OPT_SIZE);
    KT_ASSERT_EQ(dns_writer_count(&w, DNS_SEC_ADDITIONAL), 1);
    /* the OPT carries the extended rcode's upper bits and DO */
    KT_ASSERT_EQ(b[len + 5], 1);
    KT_ASSERT_EQ(b[len + 7], 0x80);
    /* a rewind restores the counts */
    dns_writer_init(&w, b, sizeof(b), 1, DNS_FLAG_QR);
    dns_writer_question(&w, name, DNS_TYPE_A, DNS_CLASS_IN);
    dns_writer_mark m = dns_writer_get_mark(&w);
    dns_writer_rr(&w, DNS_SEC_ANSWER, &a);
    dns_writer_rewind(&w, &m);
    KT_ASSERT_EQ(dns_writer_count(&w, DNS_SEC_ANSWER), 0);
    KT_ASSERT_EQ(dns_writer_len(&w), m.len);
    /* malformed rdata of a name type is refused */
    uint8_t bad[2] = {5, 'x'};
    dns_rr cn = {name, DNS_TYPE_CNAME, DNS_CLASS_IN, 5, 2, bad};
    KT_ASSERT_EQ(dns_writer_rr(&w, DNS_SEC_ANSWER, &cn), -EINVAL);
    KT_ASSERT_EQ(dns_writer_len(&w), m.len);
}

KT_TEST(dns_wire, read_rr_checks_rdata)
{
    /* header-less message: name a, A record with rdlen 3 */
    uint8_t m[] = {1, 'a', 0, 0, 1, 0, 1, 0, 0, 0, 5, 0, 3, 1, 2, 3};
    static dns_rr_buf rb;
    dns_rr rr;
    dns_cursor c;
    dns_cursor_init(&c, m, sizeof(m));
    KT_ASSERT_EQ(dns_read_rr(&c, &rb, &rr), -EBADMSG);
    /* CNAME whose name runs past rdlen */
    uint8_t m2[] = {1, 'a', 0, 0, 5, 0, 1, 0, 0, 0, 5, 0, 2, 1, 'b', 0};
    dns_cursor_init(&c, m2, sizeof(m2));
    KT_ASSERT_EQ(dns_read_rr(&c, &rb, &rr), -EBADMSG);
    /* CNAME compressed to the owner: expanded */
    uint8_t m3[] = {1, 'a', 0, 0, 5, 0, 1, 0, 0, 0, 5, 0, 4, 1, 'b', 0xc0, 0};
    dns_cursor_init(&c, m3, sizeof(m3));
    KT_ASSERT_EQ(dns_read_rr(&c, &rb, &rr), 0);
    KT_ASSERT_EQ(rr.rdlen, 5);
    KT_ASSERT_STREQ(name_str(rr.rdata), "b.a.");
    /* an unknown type is copied as it is */
    uint8_t m4[] = {0, 0x12, 0x34, 0, 1, 0, 0, 0, 5, 0, 2, 0xc0, 0};
    dns_cursor_init(&c, m4, sizeof(m4));
    KT_ASSERT_EQ(dns_read_rr(&c, &rb, &rr), 0);
    KT_ASSERT_EQ(rr.type, 0x1234);
    KT_ASSERT_EQ(rr.rdlen, 2);
    KT_ASSERT_EQ(rr.rdata[0], 0xc0);
}

KT_TEST(dns_wire, error_responses)
{
    uint8_t b[512], out[512];
    dns_query q;
    size_t n = make_query(b, 0x1234, "example.com", DNS_TYPE_A, 1232, 1u << 16);
    KT_ASSERT_EQ(dns_query_parse(b, n, &q), -EPROTONOSUPPORT);
    int len = dns_error_response(&q, DNS_RCODE_BADVERS, 1232, out, sizeof(out));
    KT_ASSERT(len > 0);
    KT_ASSERT_EQ(out[0], 0x12);
    KT_ASSERT_EQ(out[2], 0x81); /* QR, RD */
    KT_ASSERT_EQ(out[3] & 0xf, 0);
    KT_ASSERT_EQ(out[5], 1);  /* the question */
    KT_ASSERT_EQ(out[11], 1); /* the OPT */
    KT_ASSERT_EQ(out[len - 6], 1);
    /* FORMERR without a question */
    n = make_query(b, 9, "example.com", DNS_TYPE_A, -1, 0);
    b[5] = 0;
    KT_ASSERT_EQ(dns_query_parse(b, n, &q), -EBADMSG);
    len = dns_error_response(&q, DNS_RCODE_FORMERR, 1232, out, sizeof(out));
    KT_ASSERT_EQ(len, DNS_HEADER_SIZE);
    KT_ASSERT_EQ(out[3] & 0xf, DNS_RCODE_FORMERR);
    KT_ASSERT_EQ(out[5], 0);
    /* NOTIMP echoes the opcode */
    n = make_query(b, 9, "example.com", DNS_TYPE_SOA, -1, 0);
    b[2] = (uint8_t)(DNS_OPCODE_NOTIFY << 3);
    KT_ASSERT_EQ(dns_query_parse(b, n, &q), -EOPNOTSUPP);
    len = dns_error_response(&q, DNS_RCODE_NOTIMP, 1232, out, sizeof(out));
    KT_ASSERT_EQ(out[2], 0x80 | DNS_OPCODE_NOTIFY << 3);
    KT_ASSERT_EQ(out[3] & 0xf, DNS_RCODE_NOTIMP);
    KT_ASSERT_EQ(len, (int)n);
    KT_ASSERT_EQ(dns_error_response(&q, DNS_RCODE_NOTIMP, 1232, out, 20), -EMSGSIZE);
}

KT_TEST(dns_wire, writer_never_compresses_against_itself)
{
    /* a repetitive name written over a buffer that still holds an older
     * copy of it: every label must be written in full */
    char text[300] = "";
    for (int i = 0; i < 127; i++)
        strcat(text, i ? ".a" : "a");
    uint8_t name[DNS_NAME_MAX], b[512];
    KT_ASSERT_EQ(dns_name_from_str(text, name), 255);
    dns_writer w;
    for (int round = 0; round < 2; round++) {
        dns_writer_init(&w, b, sizeof(b), 1, DNS_FLAG_QR);
        KT_ASSERT_EQ(dns_writer_question(&w, name, DNS_TYPE_A, DNS_CLASS_IN), 0);
        KT_ASSERT_EQ(dns_writer_len(&w), DNS_HEADER_SIZE + 255 + 4);
    }
    dns_cursor c;
    dns_cursor_init(&c, b, dns_writer_len(&w));
    c.pos = DNS_HEADER_SIZE;
    uint8_t back[DNS_NAME_MAX];
    KT_ASSERT_EQ(dns_read_name(&c, back), 255);
    KT_ASSERT(dns_name_equal(back, name));
}

KT_TEST(dns_wire, lower_copy_folds_only_ascii_letters)
{
    uint8_t in[300], out[300], want[300];
    for (size_t i = 0; i < sizeof(in); i++)
        in[i] = (uint8_t)i;
    for (size_t len = 0; len <= 256; len += 1 + len / 4) {
        for (size_t off = 0; off < 8; off++) {
            memset(out, 0xee, sizeof(out));
            dns_name_lower_copy(out, in + off, len);
            for (size_t i = 0; i < len; i++) {
                uint8_t ch = in[off + i];
                want[i] = ch >= 'A' && ch <= 'Z' ? (uint8_t)(ch + 32) : ch;
            }
            KT_ASSERT(memcmp(out, want, len) == 0);
            KT_ASSERT_EQ(out[len], 0xee); /* nothing written past len */
        }
    }
}

/* A record owned by the question's own pointer is written as the search
 * would write it: a pointer to offset 12. */
KT_TEST(dns_wire, owner_of_the_question_is_a_pointer)
{
    uint8_t qname[DNS_NAME_MAX], copy[DNS_NAME_MAX], a[128], b[128];
    dns_name_from_str("Web.default.svc.cluster.local", qname);
    memcpy(copy, qname, dns_name_len(qname));
    uint8_t ip[4] = {10, 0, 0, 1};
    dns_writer wa, wb;
    dns_writer_init(&wa, a, sizeof(a), 7, DNS_FLAG_QR);
    dns_writer_init(&wb, b, sizeof(b), 7, DNS_FLAG_QR);
    KT_ASSERT_EQ(dns_writer_question(&wa, qname, DNS_TYPE_A, DNS_CLASS_IN), 0);
    KT_ASSERT_EQ(dns_writer_question(&wb, qname, DNS_TYPE_A, DNS_CLASS_IN), 0);
    dns_rr ra = {qname, DNS_TYPE_A, DNS_CLASS_IN, 5, 4, ip};
    dns_rr rb = {copy, DNS_TYPE_A, DNS_CLASS_IN, 5, 4, ip};
    for (int i = 0; i < 2; i++) {
        KT_ASSERT_EQ(dns_writer_rr(&wa, DNS_SEC_ANSWER, &ra), 0);
        KT_ASSERT_EQ(dns_writer_rr(&wb, DNS_SEC_ANSWER, &rb), 0);
    }
    KT_ASSERT_EQ(dns_writer_len(&wa), dns_writer_len(&wb));
    KT_ASSERT(memcmp(a, b, dns_writer_len(&wa)) == 0);
    /* once rewound past the question, the pointer means nothing */
    dns_writer_mark m = {DNS_HEADER_SIZE, DNS_SEC_QUESTION, 0, {0}};
    dns_writer_rewind(&wa, &m);
    KT_ASSERT_EQ(dns_writer_rr(&wa, DNS_SEC_ANSWER, &ra), 0);
    KT_ASSERT(memmem(a + DNS_HEADER_SIZE, dns_writer_len(&wa) - DNS_HEADER_SIZE, "\3Web", 4));
}

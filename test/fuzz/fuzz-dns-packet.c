/* fuzz-dns-packet.c - the DNS packet parser and writer.
 *
 * Every input is read as a query; when it is one, an answer is built for it
 * (records of several types, truncated to the client's limit) and that
 * answer must parse back completely with the same id and question. Inputs
 * that are not valid queries get the error answer the server would send,
 * which must parse back as well. Independently, the input is walked as a
 * generic message with dns_read_rr, which must never read out of bounds. */
#include <stdint.h>
#include <stdlib.h>

#include "dns/wire.h"

static dns_rr_buf rrbuf;

/* Reads a whole message; aborts when it is not well formed. */
static void check_message(const uint8_t *msg, size_t len, const dns_query *q, bool has_question)
{
    dns_cursor c;
    dns_cursor_init(&c, msg, len);
    uint16_t id = dns_read_u16(&c), flags = dns_read_u16(&c);
    uint16_t counts[4];
    for (int i = 0; i < 4; i++)
        counts[i] = dns_read_u16(&c);
    if (c.error || id != q->id || !(flags & DNS_FLAG_QR))
        abort();
    if (counts[0] != (has_question ? 1 : 0))
        abort();
    if (has_question) {
        uint8_t name[DNS_NAME_MAX];
        dns_read_name(&c, name);
        uint16_t qt = dns_read_u16(&c), qc = dns_read_u16(&c);
        if (c.error || !dns_name_equal(name, q->qname) || qt != q->qtype || qc != q->qclass)
            abort();
    }
    dns_rr rr;
    for (int s = 1; s < 4; s++) {
        for (unsigned i = 0; i < counts[s]; i++) {
            if (dns_read_rr(&c, &rrbuf, &rr) < 0)
                abort();
        }
    }
    if (c.pos != len)
        abort();
}

static void answer(const dns_query *q)
{
    static uint8_t out[DNS_MSG_MAX];
    size_t cap = (q->id & 1) ? DNS_MSG_MAX : dns_query_udp_limit(q, 1232);
    dns_writer w;
    dns_writer_init(&w, out, cap, q->id, DNS_FLAG_QR | DNS_FLAG_AA | (q->flags & DNS_FLAG_RD));
    if (q->edns && dns_writer_reserve(&w, DNS_OPT_SIZE) < 0)
        abort();
    if (dns_writer_question(&w, q->qname, q->qtype, q->qclass) < 0)
        abort(); /* a parsed question always fits its own answer's minimum */
    uint8_t target[DNS_NAME_MAX], rdata[2 * DNS_NAME_MAX + 20];
    static const uint8_t zone[] = "\7example\0";
    const uint8_t *tn = zone;
    if (q->qname_len + 4 <= DNS_NAME_MAX) { /* www.<qname> */
        target[0] = 3;
        memcpy(target + 1, "www", 3);
        memcpy(target + 4, q->qname, q->qname_len);
        tn = target;
    }
    uint8_t ip[16] = {10, 0, 0, (uint8_t)q->id};
    int n = 1 + (q->id >> 8) % 64;
    dns_rr rr = {q->qname, DNS_TYPE_CNAME, DNS_CLASS_IN, 5, (uint16_t)dns_name_len(tn), tn};
    dns_writer_mark start = dns_writer_get_mark(&w);
    bool tc = dns_writer_rr(&w, DNS_SEC_ANSWER, &rr) < 0;
    for (int i = 0; i < n && !tc; i++) {
        dns_rr a = {tn, i & 1 ? DNS_TYPE_AAAA : DNS_TYPE_A, DNS_CLASS_IN, 5, i & 1 ? 16 : 4, ip};
        ip[3]++;
        tc = dns_writer_rr(&w, DNS_SEC_ANSWER, &a) < 0;
    }
    if (tc) {
        dns_writer_rewind(&w, &start);
        dns_writer_set_flags(&w, DNS_FLAG_TC, 0);
    }
    size_t sl = dns_rdata_soa(rdata, tn, q->qname, 1, 2, 3, 4, 5);
    dns_rr soa = {q->qname, DNS_TYPE_SOA, DNS_CLASS_IN, 5, (uint16_t)sl, rdata};
    dns_writer_rr(&w, DNS_SEC_AUTHORITY, &soa);
    if (q->edns && dns_writer_opt(&w, 1232, 0, q->edns_do) < 0)
        abort();
    check_message(out, dns_writer_len(&w), q, true);
}

static void error_answer(const dns_query *q, int err)
{
    static uint8_t out[DNS_MSG_MAX];
    unsigned rcode = err == -EOPNOTSUPP        ? DNS_RCODE_NOTIMP
                     : err == -EPROTONOSUPPORT ? DNS_RCODE_BADVERS
                                               : DNS_RCODE_FORMERR;
    int len = dns_error_response(q, rcode, 1232, out, DNS_UDP_MIN);
    if (len < 0)
        abort();
    check_message(out, (size_t)len, q, q->qname_len != 0);
}

/* Walks data as any message: header, then records until an error. */
static void walk_generic(const uint8_t *data, size_t size)
{
    dns_cursor c;
    dns_cursor_init(&c, data, size);
    dns_skip(&c, 4);
    unsigned qd = dns_read_u16(&c), total = 0;
    for (int i = 0; i < 3; i++)
        total += dns_read_u16(&c);
    for (unsigned i = 0; i < qd && !c.error; i++) {
        dns_skip_name(&c);
        dns_skip(&c, 4);
    }
    dns_rr rr;
    for (unsigned i = 0; i < total && !c.error; i++) {
        if (dns_read_rr(&c, &rrbuf, &rr) == 0 && rr.type == DNS_TYPE_SOA)
            (void)dns_soa_minimum(&rr);
    }
    if (c.pos > size)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    dns_query q;
    int r = dns_query_parse(data, size, &q);
    if (r == 0)
        answer(&q);
    else if (r != -ENOMSG)
        error_answer(&q, r);
    walk_generic(data, size);
    return 0;
}

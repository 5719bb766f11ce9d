/* answer.c - building responses (see answer.h). */
#include "dns/answer.h"

#define UDP_SIZE_ADVERTISED 1232 /* our EDNS payload size (DNS flag day 2020) */

static uint16_t response_flags(const dns_query *q, bool aa)
{
    return (uint16_t)(DNS_FLAG_QR | DNS_FLAG_RA | (aa ? DNS_FLAG_AA : 0) |
                      (q->flags & (DNS_FLAG_RD | DNS_FLAG_CD)));
}

/* Header, question and the room for the OPT record. */
static void begin(dns_writer *w, const dns_query *q, bool aa, uint8_t *out, size_t limit)
{
    dns_writer_init(w, out, limit, q->id, response_flags(q, aa));
    if (q->edns)
        dns_writer_reserve(w, DNS_OPT_SIZE);
    dns_writer_question(w, q->qname, q->qtype, q->qclass);
}

static size_t finish(dns_writer *w, const dns_query *q, unsigned rcode)
{
    dns_writer_set_rcode(w, rcode);
    if (q->edns)
        dns_writer_opt(w, UDP_SIZE_ADVERTISED, rcode, false);
    return dns_writer_len(w);
}

/* Drops every record after the question and sets TC. */
static void truncate_answer(dns_writer *w, const dns_writer_mark *after_question)
{
    dns_writer_rewind(w, after_question);
    dns_writer_set_flags(w, DNS_FLAG_TC, 0);
}

size_t dns_answer_error(const dns_query *q, unsigned rcode, size_t limit, uint8_t *out, size_t cap)
{
    dns_writer w;
    begin(&w, q, false, out, limit < cap ? limit : cap);
    return finish(&w, q, rcode);
}

/* Writes the answer's records with owner; -EMSGSIZE when they do not fit. */
static int write_records(dns_writer *w, const dns_zone *z, const dns_zone_answer *a,
                         const uint8_t *owner)
{
    for (uint32_t i = 0; i < a->count; i++) {
        dns_rr rr;
        dns_zone_answer_rr(z, a, i, owner, &rr);
        if (dns_writer_rr(w, DNS_SEC_ANSWER, &rr) < 0)
            return -EMSGSIZE;
    }
    return 0;
}

/* The in-zone A/AAAA records of the SRV targets, as far as they fit. One
 * ANY lookup per target: its records come sorted by type, so A before AAAA. */
static void add_srv_targets(dns_writer *w, const dns_zone *z, const dns_zone_answer *srv)
{
    for (uint32_t i = 0; i < srv->count; i++) {
        dns_rr rr;
        dns_zone_answer_rr(z, srv, i, NULL, &rr);
        if (rr.type != DNS_TYPE_SRV)
            continue;
        const uint8_t *target = rr.rdata + 6;
        dns_zone_answer a;
        if (dns_zone_lookup(z, target, DNS_TYPE_ANY, &a) != DNS_ZONE_ANSWER)
            continue;
        for (uint32_t j = 0; j < a.count; j++) {
            dns_rr ar;
            dns_zone_answer_rr(z, &a, j, target, &ar);
            if (ar.type != DNS_TYPE_A && ar.type != DNS_TYPE_AAAA)
                continue;
            if (dns_writer_rr(w, DNS_SEC_ADDITIONAL, &ar) < 0)
                return;
        }
    }
}

static unsigned negative(dns_writer *w, const dns_zone *z, dns_zone_status st)
{
    dns_rr soa;
    dns_zone_soa_rr(z, &soa);
    dns_writer_rr(w, DNS_SEC_AUTHORITY, &soa);
    return st == DNS_ZONE_NXDOMAIN ? DNS_RCODE_NXDOMAIN : DNS_RCODE_NOERROR;
}

/* Answers from the zone, following CNAMEs within it. Returns the rcode, or
 * -1 when the chain leaves the zone (res->chain is then filled). */
static int answer_zone(const dns_zone *z, const dns_query *q, dns_zone_answer *a, dns_writer *w,
                       const dns_writer_mark *mark, dns_answer_result *res)
{
    const uint8_t *owner = q->qname;
    for (int hop = 0;; hop++) {
        if (write_records(w, z, a, owner) < 0) {
            truncate_answer(w, mark);
            return DNS_RCODE_NOERROR;
        }
        if (!a->cname) {
            if (q->qtype == DNS_TYPE_SRV)
                add_srv_targets(w, z, a);
            return DNS_RCODE_NOERROR;
        }
        dns_rr cn;
        dns_zone_answer_rr(z, a, 0, owner, &cn);
        if (hop == DNS_CHASE_MAX)
            return DNS_RCODE_SERVFAIL; /* a CNAME loop */
        memcpy(res->chain[hop], cn.rdata, cn.rdlen);
        owner = res->chain[hop];
        dns_zone_status st = dns_zone_lookup(z, owner, q->qtype, a);
        if (st == DNS_ZONE_NOTAUTH) {
            res->nchain = hop + 1;
            res->chain_ttl = cn.ttl;
            return -1;
        }
        if (st != DNS_ZONE_ANSWER)
            return (int)negative(w, z, st);
    }
}

static bool refused(const dns_query *q)
{
    return (q->qclass != DNS_CLASS_IN && q->qclass != DNS_CLASS_ANY) || q->qtype == DNS_TYPE_AXFR ||
           q->qtype == DNS_TYPE_IXFR;
}

/* The answer to a well-formed query. */
static void answer_valid(const dns_zone *z, const dns_query *q, uint8_t *out,
                         dns_answer_result *res)
{
    dns_writer w;
    dns_zone_answer a;
    if (refused(q)) {
        res->len = dns_answer_error(q, res->rcode = DNS_RCODE_REFUSED, res->limit, out, res->limit);
        return;
    }
    dns_zone_status st = z ? dns_zone_lookup(z, q->qname, q->qtype, &a) : DNS_ZONE_NOTAUTH;
    if (st == DNS_ZONE_NOTAUTH) {
        res->action = DNS_ACT_FORWARD;
        return;
    }
    if (dns_zone_unsynced(z)) {
        res->len =
            dns_answer_error(q, res->rcode = DNS_RCODE_SERVFAIL, res->limit, out, res->limit);
        return;
    }
    begin(&w, q, true, out, res->limit);
    dns_writer_mark mark = dns_writer_get_mark(&w);
    int rcode =
        st == DNS_ZONE_ANSWER ? answer_zone(z, q, &a, &w, &mark, res) : (int)negative(&w, z, st);
    if (rcode < 0) {
        res->action = DNS_ACT_FORWARD;
        return;
    }
    res->rcode = (unsigned)rcode;
    res->len = finish(&w, q, res->rcode);
}

void dns_answer_query(const dns_zone *z, const uint8_t *msg, size_t len,
                      const dns_answer_opts *opts, dns_query *q, uint8_t *out, size_t cap,
                      dns_answer_result *res)
{
    res->action = DNS_ACT_REPLY;
    res->nchain = 0;
    res->len = 0;
    int r = dns_query_parse(msg, len, q);
    res->limit = opts->tcp ? DNS_MSG_MAX : dns_query_udp_limit(q, opts->udp_max);
    if (res->limit > cap)
        res->limit = cap;
    if (r == -ENOMSG) {
        res->action = DNS_ACT_DROP;
        return;
    }
    if (r < 0) {
        res->rcode = r == -EOPNOTSUPP        ? DNS_RCODE_NOTIMP
                     : r == -EPROTONOSUPPORT ? DNS_RCODE_BADVERS
                                             : DNS_RCODE_FORMERR;
        int n = dns_error_response(q, res->rcode, UDP_SIZE_ADVERTISED, out, res->limit);
        res->len = n > 0 ? (size_t)n : 0;
        res->action = n > 0 ? DNS_ACT_REPLY : DNS_ACT_DROP;
        return;
    }
    answer_valid(z, q, out, res);
}

const uint8_t *dns_answer_forward_name(const dns_query *q, const dns_answer_result *res)
{
    return res->nchain ? res->chain[res->nchain - 1] : q->qname;
}

/* The in-zone CNAMEs leading to the forwarded name. */
static int write_chain(dns_writer *w, const dns_query *q, const dns_answer_result *res)
{
    const uint8_t *owner = q->qname;
    for (int i = 0; i < res->nchain; i++) {
        dns_rr rr = {owner,
                     DNS_TYPE_CNAME,
                     DNS_CLASS_IN,
                     res->chain_ttl,
                     (uint16_t)dns_name_len(res->chain[i]),
                     res->chain[i]};
        if (dns_writer_rr(w, DNS_SEC_ANSWER, &rr) < 0)
            return -EMSGSIZE;
        owner = res->chain[i];
    }
    return 0;
}

size_t dns_answer_forwarded(const dns_query *q, const dns_answer_result *res,
                            const dns_cache_entry *e, int64_t now_ns, uint8_t *out, size_t cap,
                            unsigned *rcode)
{
    size_t limit = res->limit < cap ? res->limit : cap;
    if (!e) {
        *rcode = DNS_RCODE_SERVFAIL;
        return dns_answer_error(q, DNS_RCODE_SERVFAIL, limit, out, cap);
    }
    dns_writer w;
    begin(&w, q, false, out, limit);
    dns_writer_mark mark = dns_writer_get_mark(&w);
    const uint8_t *owner = res->nchain ? res->chain[res->nchain - 1] : q->qname;
    *rcode = dns_cache_entry_rcode(e);
    if (write_chain(&w, q, res) < 0 || dns_cache_entry_write(e, now_ns, owner, &w) < 0)
        truncate_answer(&w, &mark);
    return finish(&w, q, *rcode);
}

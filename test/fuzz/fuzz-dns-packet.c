/* fuzz-dns-packet.c - the DNS packet parser, the writer and the server's
 * answer path.
 *
 * Every input is read as a query; when it is one, an answer is built for it
 * (records of several types, truncated to the client's limit) and that
 * answer must parse back completely with the same id and question. Inputs
 * that are not valid queries get the error answer the server would send,
 * which must parse back as well. The input also goes through the server's
 * whole per-query logic against a small cluster zone (dns_answer_query,
 * over UDP or TCP by the id's low bit), and forwarded names get a response
 * built from a fixed upstream answer; both must parse back and fit their
 * limit. Independently, the input is walked as a generic message with
 * dns_read_rr, which must never read out of bounds. */
#include <stdint.h>
#include <stdlib.h>

#include "dns/answer.h"
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

static const dns_model_port ports[] = {{"http", DNS_PROTO_TCP, 80}, {NULL, DNS_PROTO_UDP, 53}};
static const char *const ips[] = {"10.96.0.20", "fd00::20"};
static const dns_model_endpoint eps[] = {{"10.244.1.1", "a", true, true},
                                         {"10.244.1.2", NULL, true, true},
                                         {"fd00::3", "c", false, true}};
static const dns_model_service svcs[] = {
    {.ns = "default",
     .name = "web",
     .type = DNS_SVC_CLUSTER_IP,
     .cluster_ips = ips,
     .ncluster_ips = 2,
     .ports = ports,
     .nports = 2,
     .endpoints = eps,
     .nendpoints = 3},
    {.ns = "default",
     .name = "h",
     .type = DNS_SVC_HEADLESS,
     .ports = ports,
     .nports = 2,
     .endpoints = eps,
     .nendpoints = 3,
     .publish_not_ready = true},
    {.ns = "default",
     .name = "out",
     .type = DNS_SVC_EXTERNAL_NAME,
     .external_name = "www.example.com"},
    {.ns = "default",
     .name = "in",
     .type = DNS_SVC_EXTERNAL_NAME,
     .external_name = "web.default.svc.cluster.local"},
    {.ns = "x",
     .name = "a",
     .type = DNS_SVC_EXTERNAL_NAME,
     .external_name = "b.x.svc.cluster.local"},
    {.ns = "x",
     .name = "b",
     .type = DNS_SVC_EXTERNAL_NAME,
     .external_name = "a.x.svc.cluster.local"},
};

static dns_zone *zone;
static dns_cache_entry *upstream;

/* The zone, and an upstream answer (CNAME + A + SOA) to forward with. */
static void setup(void)
{
    dns_zone_config cfg;
    dns_zone_config_default(&cfg);
    dns_model m = {svcs, sizeof(svcs) / sizeof(svcs[0]), NULL, 0};
    if (dns_zone_build(&cfg, &m, &zone, NULL) < 0)
        abort();
    static uint8_t msg[512];
    uint8_t name[DNS_NAME_MAX], target[DNS_NAME_MAX], rd[600];
    dns_name_from_str("www.example.com", name);
    dns_name_from_str("cdn.example.net", target);
    dns_writer w;
    dns_writer_init(&w, msg, sizeof(msg), 7, DNS_FLAG_QR | DNS_FLAG_RA);
    dns_writer_question(&w, name, DNS_TYPE_A, DNS_CLASS_IN);
    dns_rr cn = {name, DNS_TYPE_CNAME, DNS_CLASS_IN, 300, (uint16_t)dns_name_len(target), target};
    uint8_t ip[4] = {192, 0, 2, 1};
    dns_rr a = {target, DNS_TYPE_A, DNS_CLASS_IN, 60, 4, ip};
    size_t sl = dns_rdata_soa(rd, target, name, 1, 2, 3, 4, 5);
    dns_rr soa = {target, DNS_TYPE_SOA, DNS_CLASS_IN, 60, (uint16_t)sl, rd};
    dns_writer_rr(&w, DNS_SEC_ANSWER, &cn);
    dns_writer_rr(&w, DNS_SEC_ANSWER, &a);
    dns_writer_rr(&w, DNS_SEC_AUTHORITY, &soa);
    if (dns_cache_entry_parse(msg, dns_writer_len(&w), 7, name, DNS_TYPE_A, DNS_CLASS_IN, 0,
                              &upstream) < 0)
        abort();
}

/* The server's answer path: a reply, or the response to a forward. */
static void serve(const uint8_t *data, size_t size)
{
    static uint8_t out[DNS_MSG_MAX];
    static dns_answer_result res;
    dns_query q;
    dns_answer_opts o = {.tcp = size > 2 && (data[1] & 1), .udp_max = 1232};
    dns_answer_query(zone, data, size, &o, &q, out, sizeof(out), &res);
    if (res.action == DNS_ACT_REPLY) {
        if (res.len > res.limit)
            abort();
        check_message(out, res.len, &q, q.qname_len != 0);
    } else if (res.action == DNS_ACT_FORWARD) {
        unsigned rcode;
        size_t len = dns_answer_forwarded(&q, &res, upstream, 1000000000, out, sizeof(out), &rcode);
        if (len > res.limit)
            abort();
        check_message(out, len, &q, true);
        len = dns_answer_forwarded(&q, &res, NULL, 0, out, sizeof(out), &rcode);
        check_message(out, len, &q, true);
    }
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
    if (!zone)
        setup();
    dns_query q;
    int r = dns_query_parse(data, size, &q);
    if (r == 0)
        answer(&q);
    else if (r != -ENOMSG)
        error_answer(&q, r);
    serve(data, size);
    walk_generic(data, size);
    return 0;
}

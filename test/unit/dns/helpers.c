/* helpers.c - see helpers.h. */
#include "test/unit/dns/helpers.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test/runner/kt.h"

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static const char *type_name(uint16_t t)
{
    switch (t) {
    case DNS_TYPE_A:
        return "A";
    case DNS_TYPE_AAAA:
        return "AAAA";
    case DNS_TYPE_CNAME:
        return "CNAME";
    case DNS_TYPE_NS:
        return "NS";
    case DNS_TYPE_PTR:
        return "PTR";
    case DNS_TYPE_SOA:
        return "SOA";
    case DNS_TYPE_SRV:
        return "SRV";
    case DNS_TYPE_TXT:
        return "TXT";
    default:
        return "TYPE?";
    }
}

const char *dnst_rr_str(const dns_rr *rr, char *buf, size_t size)
{
    char a[DNS_NAME_MAX * 4 + 8], b[DNS_NAME_MAX * 4 + 8];
    const uint8_t *d = rr->rdata;
    switch (rr->type) {
    case DNS_TYPE_A:
    case DNS_TYPE_AAAA:
        inet_ntop(rr->type == DNS_TYPE_A ? AF_INET : AF_INET6, d, a, sizeof(a));
        snprintf(buf, size, "%s %s", type_name(rr->type), a);
        break;
    case DNS_TYPE_CNAME:
    case DNS_TYPE_NS:
    case DNS_TYPE_PTR:
        dns_name_to_str(d, a, sizeof(a));
        snprintf(buf, size, "%s %s", type_name(rr->type), a);
        break;
    case DNS_TYPE_SRV:
        dns_name_to_str(d + 6, a, sizeof(a));
        snprintf(buf, size, "SRV %u %u %u %s", d[0] << 8 | d[1], d[2] << 8 | d[3], d[4] << 8 | d[5],
                 a);
        break;
    case DNS_TYPE_SOA: {
        size_t ml = dns_name_len(d), rl = dns_name_len(d + ml);
        const uint8_t *n = d + ml + rl;
        dns_name_to_str(d, a, sizeof(a));
        dns_name_to_str(d + ml, b, sizeof(b));
        snprintf(buf, size, "SOA %s %s %u %u %u %u %u", a, b, be32(n), be32(n + 4), be32(n + 8),
                 be32(n + 12), be32(n + 16));
        break;
    }
    case DNS_TYPE_TXT:
        snprintf(buf, size, "TXT \"%.*s\"", d[0], (const char *)d + 1);
        break;
    default:
        snprintf(buf, size, "TYPE%u", rr->type);
    }
    return buf;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

const char *dnst_lookup(const dns_zone *z, const char *name, uint16_t qtype)
{
    static char out[65536];
    dns_zone_answer a;
    switch (dns_zone_lookup(z, dnst_name(name), qtype, &a)) {
    case DNS_ZONE_NXDOMAIN:
        return "NXDOMAIN";
    case DNS_ZONE_NODATA:
        return "NODATA";
    case DNS_ZONE_NOTAUTH:
        return "NOTAUTH";
    case DNS_ZONE_ANSWER:
        break;
    }
    char **lines = calloc(a.count, sizeof(*lines));
    for (uint32_t i = 0; i < a.count; i++) {
        dns_rr rr;
        char buf[2048];
        dns_zone_answer_rr(z, &a, i, dnst_name(name), &rr);
        KT_ASSERT_EQ(rr.ttl, dns_zone_ttl(z));
        lines[i] = strdup(dnst_rr_str(&rr, buf, sizeof(buf)));
    }
    qsort(lines, a.count, sizeof(*lines), cmp_str);
    out[0] = '\0';
    for (uint32_t i = 0; i < a.count; i++) {
        if (i)
            strcat(out, "|");
        strcat(out, lines[i]);
        free(lines[i]);
    }
    free(lines);
    KT_ASSERT(a.cname ==
              (strncmp(out, "CNAME ", 6) == 0 && qtype != DNS_TYPE_CNAME && qtype != DNS_TYPE_ANY));
    return out;
}

const uint8_t *dnst_name(const char *s)
{
    static uint8_t w[DNS_NAME_MAX];
    KT_ASSERT_MSG(dns_name_from_str(s, w) > 0, "bad name %s", s);
    return w;
}

void dnst_parse(const uint8_t *msg, size_t len, dnst_msg *m)
{
    static dns_rr_buf rb;
    dns_cursor c;
    memset(m, 0, sizeof(*m));
    dns_cursor_init(&c, msg, len);
    m->id = dns_read_u16(&c);
    m->flags = dns_read_u16(&c);
    m->rcode = dns_flags_rcode(m->flags);
    for (int i = 0; i < 4; i++)
        m->counts[i] = dns_read_u16(&c);
    KT_ASSERT_MSG(!c.error && m->counts[0] <= 1, "bad header");
    if (m->counts[0]) {
        uint8_t name[DNS_NAME_MAX];
        dns_read_name(&c, name);
        m->qtype = dns_read_u16(&c);
        dns_read_u16(&c);
        KT_ASSERT_MSG(!c.error, "bad question");
        dns_name_to_str(name, m->qname, sizeof(m->qname));
    }
    for (int s = 1; s < 4; s++) {
        for (unsigned i = 0; i < m->counts[s]; i++) {
            dns_rr rr;
            char owner[DNS_NAME_MAX * 4 + 8], data[2048];
            KT_ASSERT_MSG(dns_read_rr(&c, &rb, &rr) == 0, "bad record %u of section %d", i, s);
            if (rr.type == DNS_TYPE_OPT) {
                m->edns = true;
                m->edns_udp = rr.rclass;
                m->rcode |= (rr.ttl >> 24) << 4;
                continue;
            }
            KT_ASSERT(m->n[s] < DNST_MAX_RR);
            dns_name_to_str(rr.owner, owner, sizeof(owner));
            char line[4096];
            snprintf(line, sizeof(line), "%s %u %s", owner, rr.ttl,
                     dnst_rr_str(&rr, data, sizeof(data)));
            KT_ASSERT(strlen(line) < sizeof(m->rr[0][0]));
            strcpy(m->rr[s][m->n[s]++], line);
        }
    }
    KT_ASSERT_MSG(c.pos == len, "trailing bytes");
}

size_t dnst_query(uint8_t *buf, uint16_t id, uint16_t flags, const char *name, uint16_t qtype,
                  int edns_udp)
{
    dns_writer w;
    dns_writer_init(&w, buf, DNS_MSG_MAX, id, flags);
    if (edns_udp >= 0)
        dns_writer_reserve(&w, DNS_OPT_SIZE);
    KT_ASSERT_EQ(dns_writer_question(&w, dnst_name(name), qtype, DNS_CLASS_IN), 0);
    if (edns_udp >= 0)
        dns_writer_opt(&w, (uint16_t)edns_udp, 0, false);
    return dns_writer_len(&w);
}

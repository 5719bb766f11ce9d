/* helpers.h - rendering DNS records and zone answers as text for the dns
 * unit tests. */
#ifndef KNODE_TEST_UNIT_DNS_HELPERS_H
#define KNODE_TEST_UNIT_DNS_HELPERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dns/wire.h"
#include "dns/zone.h"

/* "A 10.0.0.1", "SRV 0 100 80 web.default.svc.cluster.local.", ... */
const char *dnst_rr_str(const dns_rr *rr, char *buf, size_t size);

/* "NXDOMAIN", "NODATA", "NOTAUTH", or "A 10.0.0.1|A 10.0.0.2" (records
 * sorted; a CNAME answer to another type reads "CNAME target."). The
 * string is static, overwritten by the next call. */
const char *dnst_lookup(const dns_zone *z, const char *name, uint16_t qtype);

/* The name in wire form (static storage, overwritten by the next call). */
const uint8_t *dnst_name(const char *s);

/* A response taken apart for assertions. Records read "owner ttl TYPE
 * rdata", e.g. "Web.default.svc.cluster.local. 5 A 10.96.0.20"; the OPT
 * record is not listed but noted in edns / edns_udp / ext_rcode. */
#define DNST_MAX_RR 512
typedef struct dnst_msg {
    uint16_t id, flags;
    unsigned rcode; /* header rcode plus the OPT's extended bits */
    uint16_t counts[4];
    char qname[DNS_NAME_MAX * 4 + 8];
    uint16_t qtype;
    int n[4]; /* records listed per section (OPT excluded) */
    char rr[4][DNST_MAX_RR][320];
    bool edns;
    uint16_t edns_udp;
} dnst_msg;

/* Parses msg into *m (which is large: make it static); fails the test when
 * the message is malformed. */
void dnst_parse(const uint8_t *msg, size_t len, dnst_msg *m);

/* A query message for name/type with the given id and flags; edns_udp < 0
 * leaves EDNS out. Returns its length. */
size_t dnst_query(uint8_t *buf, uint16_t id, uint16_t flags, const char *name, uint16_t qtype,
                  int edns_udp);

#endif

/* helpers.h - rendering DNS records and zone answers as text for the dns
 * unit tests. */
#ifndef KNODE_TEST_UNIT_DNS_HELPERS_H
#define KNODE_TEST_UNIT_DNS_HELPERS_H

#include <stddef.h>

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

#endif

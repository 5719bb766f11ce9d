/* zone-internal.h - the layout of a zone snapshot, shared by the builder
 * (zone-build.c) and the lookup side (zone.c).
 *
 * One byte arena (data) holds every name with everything a lookup needs
 * next to it, so answering touches the hash slot and then one contiguous
 * node (one or two cache lines for a Service) instead of a slot, a node
 * array, a name arena, a record array and an rdata arena in turn:
 *
 *   dns_znode | name (lower case, wire form, padded to 4) |
 *   count x dns_zrec (sorted by type) | the records' rdata
 *
 * Nodes start at 4-byte boundaries, in the order the builder created them
 * (a Service's names next to each other). An open-addressing hash table maps
 * a name to its node's offset; offset 0 is never a node (the arena starts
 * with DNS_ZDATA_FIRST unused bytes), so it marks an empty slot. */
#ifndef KNODE_DNS_ZONE_INTERNAL_H
#define KNODE_DNS_ZONE_INTERNAL_H

#include <string.h>

#include "dns/zone.h"

typedef struct dns_zrec {
    uint16_t type;
    uint16_t rdlen;
    uint32_t rd_off; /* into data */
} dns_zrec;

/* <ns>.pod.<zone> of an existing namespace: pod names below it are
 * synthesized from their first label (pods insecure). */
#define DNS_ZNODE_POD_NS 0x01

typedef struct dns_znode {
    uint32_t count; /* records; 0 for an empty non-terminal */
    uint8_t name_len;
    uint8_t flags;
    uint16_t unused;
} dns_znode;

#define DNS_ZDATA_FIRST 8u

typedef struct dns_zslot {
    uint32_t hash;
    uint32_t node; /* offset of the node in data; 0 marks an empty slot */
} dns_zslot;

struct dns_zone {
    uint8_t apex[DNS_NAME_MAX];
    size_t apex_len;
    uint32_t ttl;
    dns_pods_mode pods;
    uint8_t *data;
    size_t data_len;
    size_t nnodes, nrecs;
    dns_zslot *slots;
    uint32_t mask; /* slots - 1 (a power of two minus one) */
    uint32_t soa;  /* offset of the apex SOA's dns_zrec in data */
    size_t skipped;
    bool unsynced;
};

static inline size_t dns_znode_name_space(size_t name_len)
{
    return (name_len + 3) & ~(size_t)3;
}

static inline const uint8_t *dns_znode_name(const dns_znode *n)
{
    return (const uint8_t *)(n + 1);
}

/* Offset of the node's first record, from the node's offset. */
static inline uint32_t dns_znode_recs_off(uint32_t node_off, const dns_znode *n)
{
    return node_off + (uint32_t)(sizeof(dns_znode) + dns_znode_name_space(n->name_len));
}

/* Hash of a lower-case wire name of len bytes, eight bytes per step (the
 * table lives in one process, so the byte order of the words is the
 * machine's). */
static inline uint32_t dns_zone_hash(const uint8_t *name, size_t len)
{
    const uint64_t k = 0xff51afd7ed558ccdull;
    uint64_t h = 0x9e3779b97f4a7c15ull ^ len;
    for (size_t i = 0; i < len; i += 8) {
        uint64_t x = 0;
        memcpy(&x, name + i, len - i < 8 ? len - i : 8);
        h = (h ^ x) * k;
        h ^= h >> 32;
    }
    h *= 0xc4ceb9fe1a85ec53ull;
    return (uint32_t)(h ^ (h >> 29));
}

#endif

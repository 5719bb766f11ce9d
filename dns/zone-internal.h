/* zone-internal.h - the layout of a zone snapshot, shared by the builder
 * (zone-build.c) and the lookup side (zone.c).
 *
 * Nodes (one per name) live in an array; a node's records are contiguous in
 * recs, sorted by type; names (lower case, wire form) and rdata live in two
 * byte arenas. An open-addressing hash table maps a name to its node. */
#ifndef KNODE_DNS_ZONE_INTERNAL_H
#define KNODE_DNS_ZONE_INTERNAL_H

#include "dns/zone.h"

typedef struct dns_zrec {
    uint16_t type;
    uint16_t rdlen;
    uint32_t rd_off; /* into rdata */
} dns_zrec;

/* <ns>.pod.<zone> of an existing namespace: pod names below it are
 * synthesized from their first label (pods insecure). */
#define DNS_ZNODE_POD_NS 0x01

typedef struct dns_znode {
    uint32_t name_off; /* into names */
    uint32_t first;    /* first record in recs */
    uint32_t count;    /* 0 for an empty non-terminal */
    uint8_t name_len;
    uint8_t flags;
} dns_znode;

typedef struct dns_zslot {
    uint32_t hash;
    uint32_t node; /* node index + 1; 0 marks an empty slot */
} dns_zslot;

struct dns_zone {
    uint8_t apex[DNS_NAME_MAX];
    size_t apex_len;
    uint32_t ttl;
    dns_pods_mode pods;
    uint8_t *names;
    size_t names_len;
    uint8_t *rdata;
    size_t rdata_len;
    dns_zrec *recs;
    size_t nrecs;
    dns_znode *nodes;
    size_t nnodes;
    dns_zslot *slots;
    uint32_t mask; /* slots - 1 (a power of two minus one) */
    uint32_t soa;  /* index of the apex SOA in recs */
    size_t skipped;
    bool unsynced;
};

/* Case-insensitive hash of a wire name of len bytes. */
static inline uint32_t dns_zone_hash(const uint8_t *name, size_t len)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < len; i++) {
        uint8_t ch = name[i];
        if (ch >= 'A' && ch <= 'Z')
            ch = (uint8_t)(ch + 32);
        h = (h ^ ch) * 16777619u;
    }
    return h ^ (h >> 15);
}

#endif

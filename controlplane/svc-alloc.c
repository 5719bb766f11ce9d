/* svc-alloc.c - see svc-alloc.h. Entries are kept sorted by store key; the
 * sorted IP array is rebuilt only when an entry changed; NodePorts are
 * reference counts (two Services may briefly share one after a restore). */
#include "controlplane/svc-alloc.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "lib/xalloc.h"

#define PREFIX "/registry/core/services/"
#define NPORTS (KN_NODEPORT_MAX - KN_NODEPORT_MIN + 1)

typedef struct svc_entry {
    char *key;
    uint32_t ip; /* 0: none (headless, ExternalName, IPv6) */
    int *ports;  /* NodePorts in range */
    size_t nports;
} svc_entry;

struct kn_svc_alloc {
    svc_entry *v;
    size_t n, cap;
    int64_t rev;   /* the store revision the entries reflect */
    bool synced;   /* false: list everything at the next sync */
    uint32_t *ips; /* sorted, rebuilt when dirty */
    size_t nips;
    bool dirty;
    unsigned short port_refs[NPORTS];
};

kn_svc_alloc *kn_svc_alloc_new(void)
{
    return xcalloc(1, sizeof(kn_svc_alloc));
}

static void entry_clear(svc_entry *e)
{
    free(e->key);
    free(e->ports);
}

static void reset(kn_svc_alloc *a)
{
    for (size_t i = 0; i < a->n; i++)
        entry_clear(&a->v[i]);
    a->n = 0;
    memset(a->port_refs, 0, sizeof(a->port_refs));
    a->dirty = true;
}

void kn_svc_alloc_free(kn_svc_alloc *a)
{
    if (!a)
        return;
    reset(a);
    free(a->v);
    free(a->ips);
    free(a);
}

/* The index of key, or (found false) where it would go. */
static size_t find(const kn_svc_alloc *a, const char *key, bool *found)
{
    size_t lo = 0, hi = a->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(a->v[mid].key, key);
        if (c == 0) {
            *found = true;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = false;
    return lo;
}

static void count_ports(kn_svc_alloc *a, const svc_entry *e, int delta)
{
    for (size_t i = 0; i < e->nports; i++)
        a->port_refs[e->ports[i] - KN_NODEPORT_MIN] += (unsigned short)delta;
}

/* What a stored Service (JSON) holds. */
static void parse_entry(const char *value, size_t len, svc_entry *e)
{
    cJSON *o = cJSON_ParseWithLength(value, len);
    const cJSON *spec = cJSON_GetObjectItemCaseSensitive(o, "spec");
    const cJSON *ip = cJSON_GetObjectItemCaseSensitive(spec, "clusterIP");
    struct in_addr in;
    if (cJSON_IsString(ip) && inet_pton(AF_INET, ip->valuestring, &in) == 1)
        e->ip = ntohl(in.s_addr);
    const cJSON *ports = cJSON_GetObjectItemCaseSensitive(spec, "ports"), *p;
    e->ports = xcalloc((size_t)cJSON_GetArraySize(ports) + 1, sizeof(int));
    cJSON_ArrayForEach(p, ports)
    {
        const cJSON *np = cJSON_GetObjectItemCaseSensitive(p, "nodePort");
        if (cJSON_IsNumber(np) && np->valueint >= KN_NODEPORT_MIN &&
            np->valueint <= KN_NODEPORT_MAX)
            e->ports[e->nports++] = np->valueint;
    }
    cJSON_Delete(o);
}

static void del_key(kn_svc_alloc *a, const char *key)
{
    bool found;
    size_t i = find(a, key, &found);
    if (!found)
        return;
    count_ports(a, &a->v[i], -1);
    entry_clear(&a->v[i]);
    memmove(&a->v[i], &a->v[i + 1], (a->n - i - 1) * sizeof(*a->v));
    a->n--;
    a->dirty = true;
}

static void put_key(kn_svc_alloc *a, const char *key, const char *value, size_t len)
{
    del_key(a, key);
    bool found;
    size_t i = find(a, key, &found);
    if (a->n == a->cap) {
        a->cap = a->cap ? a->cap * 2 : 64;
        a->v = xreallocarray(a->v, a->cap, sizeof(*a->v));
    }
    memmove(&a->v[i + 1], &a->v[i], (a->n - i) * sizeof(*a->v));
    a->v[i] = (svc_entry){.key = xstrdup(key)};
    parse_entry(value, len, &a->v[i]);
    count_ports(a, &a->v[i], +1);
    a->n++;
    a->dirty = true;
}

static int list_all(kn_svc_alloc *a, kn_store *st, kn_error **err)
{
    kn_kv_list l;
    int64_t rev;
    bool more;
    if (kn_store_list(st, PREFIX, NULL, 0, 0, &l, &rev, &more, err) < 0)
        return -KN_EIO;
    reset(a);
    for (size_t i = 0; i < l.len; i++)
        put_key(a, l.items[i].key, l.items[i].value, l.items[i].value_len);
    kn_kv_list_free(&l);
    a->rev = rev;
    a->synced = true;
    return 0;
}

int kn_svc_alloc_sync(kn_svc_alloc *a, kn_store *st, kn_error **err)
{
    if (!a->synced)
        return list_all(a, st, err);
    kn_store_event_list ev;
    int64_t seen = 0;
    kn_error *e = NULL;
    if (kn_store_events(st, PREFIX, a->rev, 0, &ev, &seen, &e) < 0) {
        bool gone = kn_error_code(e) == KN_EGONE;
        kn_error_free(&e);
        a->synced = false;
        return gone ? list_all(a, st, err) : kn_error_set(err, KN_EIO, "read Service changes");
    }
    for (size_t i = 0; i < ev.len; i++) {
        const kn_kv *kv = &ev.items[i].kv;
        if (ev.items[i].type == KN_STORE_DELETE)
            del_key(a, kv->key);
        else
            put_key(a, kv->key, kv->value, kv->value_len);
    }
    kn_store_event_list_free(&ev);
    a->rev = seen;
    return 0;
}

static int cmp_u32(const void *x, const void *y)
{
    uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;
    return a < b ? -1 : a > b;
}

const uint32_t *kn_svc_alloc_ips(kn_svc_alloc *a, size_t *n)
{
    if (a->dirty) {
        a->ips = xreallocarray(a->ips, a->n + 1, sizeof(*a->ips));
        a->nips = 0;
        for (size_t i = 0; i < a->n; i++)
            if (a->v[i].ip)
                a->ips[a->nips++] = a->v[i].ip;
        qsort(a->ips, a->nips, sizeof(*a->ips), cmp_u32);
        a->dirty = false;
    }
    *n = a->nips;
    return a->ips;
}

bool kn_svc_alloc_port_used(const kn_svc_alloc *a, int port)
{
    return port >= KN_NODEPORT_MIN && port <= KN_NODEPORT_MAX &&
           a->port_refs[port - KN_NODEPORT_MIN] > 0;
}

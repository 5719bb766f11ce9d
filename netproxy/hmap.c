/* hmap.c - chained hash map with FNV-1a hashing; the table doubles when
 * it holds more keys than buckets. */
#include "netproxy/hmap.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/xalloc.h"

typedef struct node {
    struct node *next;
    uint64_t hash;
    void *val;
    size_t klen;
    unsigned char key[];
} node;

struct np_hmap {
    size_t n, nb;
    node **b;
};

static uint64_t hash_bytes(const void *p, size_t n)
{
    const unsigned char *c = p;
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= c[i];
        h *= 0x100000001b3ULL;
    }
    return h ^ (h >> 29);
}

np_hmap *np_hmap_new(void)
{
    np_hmap *m = xcalloc(1, sizeof(*m));
    m->nb = 64;
    m->b = xcalloc(m->nb, sizeof(*m->b));
    return m;
}

void np_hmap_free(np_hmap *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->nb; i++) {
        for (node *x = m->b[i], *next; x; x = next) {
            next = x->next;
            free(x);
        }
    }
    free(m->b);
    free(m);
}

static node **find(const np_hmap *m, const void *key, size_t klen, uint64_t h)
{
    node **pp = &m->b[h & (m->nb - 1)];
    for (; *pp; pp = &(*pp)->next) {
        if ((*pp)->hash == h && (*pp)->klen == klen && memcmp((*pp)->key, key, klen) == 0)
            break;
    }
    return pp;
}

static void grow(np_hmap *m)
{
    size_t nb = m->nb * 2;
    node **b = xcalloc(nb, sizeof(*b));
    for (size_t i = 0; i < m->nb; i++) {
        for (node *x = m->b[i], *next; x; x = next) {
            next = x->next;
            x->next = b[x->hash & (nb - 1)];
            b[x->hash & (nb - 1)] = x;
        }
    }
    free(m->b);
    m->b = b;
    m->nb = nb;
}

void *np_hmap_get(const np_hmap *m, const void *key, size_t klen)
{
    node *x = *find(m, key, klen, hash_bytes(key, klen));
    return x ? x->val : NULL;
}

void *np_hmap_put(np_hmap *m, const void *key, size_t klen, void *val)
{
    uint64_t h = hash_bytes(key, klen);
    node **pp = find(m, key, klen, h);
    if (*pp) {
        void *old = (*pp)->val;
        (*pp)->val = val;
        return old;
    }
    node *x = xmalloc(sizeof(*x) + klen + 1);
    x->next = NULL;
    x->hash = h;
    x->val = val;
    x->klen = klen;
    memcpy(x->key, key, klen);
    x->key[klen] = '\0';
    *pp = x;
    if (++m->n > m->nb)
        grow(m);
    return NULL;
}

void *np_hmap_del(np_hmap *m, const void *key, size_t klen)
{
    node **pp = find(m, key, klen, hash_bytes(key, klen));
    node *x = *pp;
    if (!x)
        return NULL;
    *pp = x->next;
    void *val = x->val;
    free(x);
    m->n--;
    return val;
}

size_t np_hmap_len(const np_hmap *m)
{
    return m->n;
}

void np_hmap_each(const np_hmap *m, void (*fn)(const void *key, size_t klen, void *val, void *ud),
                  void *ud)
{
    for (size_t i = 0; i < m->nb; i++) {
        for (node *x = m->b[i]; x; x = x->next)
            fn(x->key, x->klen, x->val, ud);
    }
}

void *np_hmap_sget(const np_hmap *m, const char *key)
{
    return np_hmap_get(m, key, strlen(key));
}

void *np_hmap_sput(np_hmap *m, const char *key, void *val)
{
    return np_hmap_put(m, key, strlen(key), val);
}

void *np_hmap_sdel(np_hmap *m, const char *key)
{
    return np_hmap_del(m, key, strlen(key));
}

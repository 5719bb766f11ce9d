/* kc-map.c - a small string-keyed hash map (linear probing, FNV-1a). */
#include <stdlib.h>
#include <string.h>

#include "api-client/kc-internal.h"
#include "lib/xalloc.h"

static char tomb_;
#define KC_MAP_TOMB (&tomb_)

static uint64_t hash_of(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

void kc_map_init(kc_map *m)
{
    memset(m, 0, sizeof(*m));
}

void kc_map_free(kc_map *m, void (*free_val)(void *))
{
    for (size_t i = 0; i < m->cap; i++) {
        kc_map_slot *s = &m->slots[i];
        if (!s->key || s->key == KC_MAP_TOMB)
            continue;
        if (free_val)
            free_val(s->val);
        free(s->key);
    }
    free(m->slots);
    memset(m, 0, sizeof(*m));
}

/* The slot holding key, or NULL. */
static kc_map_slot *find(const kc_map *m, const char *key, uint64_t h)
{
    if (!m->cap)
        return NULL;
    for (size_t i = h & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        kc_map_slot *s = &m->slots[i];
        if (!s->key)
            return NULL;
        if (s->key != KC_MAP_TOMB && s->hash == h && strcmp(s->key, key) == 0)
            return s;
    }
}

static void insert_new(kc_map *m, char *key, void *val, uint64_t h)
{
    for (size_t i = h & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        kc_map_slot *s = &m->slots[i];
        if (!s->key || s->key == KC_MAP_TOMB) {
            if (!s->key)
                m->used++;
            *s = (kc_map_slot){key, val, h};
            m->len++;
            return;
        }
    }
}

static void grow(kc_map *m)
{
    kc_map old = *m;
    size_t cap = old.cap ? old.cap : 16;
    while (cap / 2 <= old.len + 1)
        cap *= 2;
    m->slots = xcalloc(cap, sizeof(*m->slots));
    m->cap = cap;
    m->len = m->used = 0;
    for (size_t i = 0; i < old.cap; i++)
        if (old.slots[i].key && old.slots[i].key != KC_MAP_TOMB)
            insert_new(m, old.slots[i].key, old.slots[i].val, old.slots[i].hash);
    free(old.slots);
}

void *kc_map_get(const kc_map *m, const char *key)
{
    kc_map_slot *s = find(m, key, hash_of(key));
    return s ? s->val : NULL;
}

void *kc_map_put(kc_map *m, const char *key, void *val)
{
    uint64_t h = hash_of(key);
    kc_map_slot *s = find(m, key, h);
    if (s) {
        void *old = s->val;
        s->val = val;
        return old;
    }
    if ((m->used + 1) * 4 >= m->cap * 3)
        grow(m);
    insert_new(m, xstrdup(key), val, h);
    return NULL;
}

void *kc_map_del(kc_map *m, const char *key)
{
    kc_map_slot *s = find(m, key, hash_of(key));
    if (!s)
        return NULL;
    void *val = s->val;
    free(s->key);
    s->key = KC_MAP_TOMB;
    s->val = NULL;
    m->len--;
    return val;
}

bool kc_map_next(const kc_map *m, size_t *pos, const char **key, void **val)
{
    for (; *pos < m->cap; (*pos)++) {
        kc_map_slot *s = &m->slots[*pos];
        if (s->key && s->key != KC_MAP_TOMB) {
            *key = s->key;
            *val = s->val;
            (*pos)++;
            return true;
        }
    }
    return false;
}

/* arena.c - see arena.h. */
#include "lib/arena.h"

#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

#include "lib/xalloc.h"

#define CHUNK_MIN (64 * 1024)

struct kn_arena_chunk {
    kn_arena_chunk *next;
    alignas(max_align_t) unsigned char data[];
};

void *kn_arena_alloc(kn_arena *a, size_t n)
{
    size_t align = alignof(max_align_t);
    size_t start = (a->used + align - 1) & ~(align - 1);
    if (!a->head || start + n > a->cap) {
        size_t cap = n > CHUNK_MIN ? n : CHUNK_MIN;
        kn_arena_chunk *c = xmalloc(sizeof(*c) + cap);
        c->next = a->head;
        a->head = c;
        a->cap = cap;
        start = 0;
    }
    a->used = start + n;
    return a->head->data + start;
}

const char *kn_arena_strdup(kn_arena *a, const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s) + 1;
    char *p = kn_arena_alloc(a, n);
    memcpy(p, s, n);
    return p;
}

void kn_arena_free(kn_arena *a)
{
    for (kn_arena_chunk *c = a->head, *next; c; c = next) {
        next = c->next;
        free(c);
    }
    *a = (kn_arena)KN_ARENA_INIT;
}

/* arena.h - a bump allocator for many small strings freed all at once.
 *
 * Memory comes in chunks of at least 64 KiB; kn_arena_free releases every
 * chunk. Not thread-safe. Used where a builder copies strings out of
 * short-lived parse trees (e.g. the DNS model out of cached objects). */
#ifndef KNODE_LIB_ARENA_H
#define KNODE_LIB_ARENA_H

#include <stddef.h>

typedef struct kn_arena_chunk kn_arena_chunk;

typedef struct kn_arena {
    kn_arena_chunk *head; /* the chunk being filled, linked to older ones */
    size_t used, cap;     /* within head */
} kn_arena;

#define KN_ARENA_INIT                                                                              \
    {                                                                                              \
        0                                                                                          \
    }

/* n bytes aligned for any type, owned by the arena. */
void *kn_arena_alloc(kn_arena *a, size_t n);

/* A copy of s in the arena; NULL stays NULL. */
const char *kn_arena_strdup(kn_arena *a, const char *s);

/* Frees every chunk; the arena is empty and reusable after. */
void kn_arena_free(kn_arena *a);

#endif

/* hmap.h - a small hash map from byte strings to pointers, for the
 * proxy's incremental state (Services by name, set elements by key, claimed
 * destinations). Keys are copied; values are the caller's. Not
 * thread-safe. */
#ifndef KNODE_NETPROXY_HMAP_H
#define KNODE_NETPROXY_HMAP_H

#include <stdbool.h>
#include <stddef.h>

typedef struct np_hmap np_hmap;

/* A new empty map. Never NULL. */
np_hmap *np_hmap_new(void);

/* Frees the map and its keys; values are not touched (free them first with
 * np_hmap_each). NULL is fine. */
void np_hmap_free(np_hmap *m);

/* The value stored under key (klen bytes), or NULL. */
void *np_hmap_get(const np_hmap *m, const void *key, size_t klen);

/* Stores val under key (replacing, and returning, an earlier value; NULL
 * when there was none). val must not be NULL. */
void *np_hmap_put(np_hmap *m, const void *key, size_t klen, void *val);

/* Removes key; returns its value, or NULL when absent. */
void *np_hmap_del(np_hmap *m, const void *key, size_t klen);

/* Number of keys. */
size_t np_hmap_len(const np_hmap *m);

/* Calls fn for every entry (in no particular order); fn must not change
 * the map. */
void np_hmap_each(const np_hmap *m, void (*fn)(const void *key, size_t klen, void *val, void *ud),
                  void *ud);

/* String keys (the terminating NUL is not part of the key). */
void *np_hmap_sget(const np_hmap *m, const char *key);
void *np_hmap_sput(np_hmap *m, const char *key, void *val);
void *np_hmap_sdel(np_hmap *m, const char *key);

#endif

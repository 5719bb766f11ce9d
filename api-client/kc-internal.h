/* kc-internal.h - helpers shared inside api-client/ (not a public API). */
#ifndef KNODE_API_CLIENT_KC_INTERNAL_H
#define KNODE_API_CLIENT_KC_INTERNAL_H

#include <cjson/cJSON.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "api-client/informer.h"
#include "api-client/kubeconfig.h"
#include "lib/error.h"
#include "lib/strbuf.h"

/* The negative return for a failure already recorded in *err (err may be NULL). */
static inline int kc_fail(kn_error **err)
{
    return err && *err ? -(int)(*err)->code : -KN_EINTERNAL;
}

/* Moves *src into *dst (or drops it when dst is NULL or already set);
 * returns the negative code. */
static inline int kc_error_move(kn_error **dst, kn_error **src)
{
    int r = *src ? -(int)(*src)->code : -KN_EINTERNAL;
    if (dst && !*dst) {
        *dst = *src;
        *src = NULL;
    }
    kn_error_free(src);
    return r;
}

/* Parses exactly one JSON value from data[0..len) (max_len 0: no limit).
 * KN_ETOOLARGE beyond max_len, KN_EINVAL with the offset otherwise. */
int kc_json_parse(const char *data, size_t len, size_t max_len, cJSON **out, kn_error **err);

/* Parses a YAML or JSON document into cJSON (caller deletes). */
int kc_parse_yaml_or_json(const char *data, size_t len, cJSON **out, kn_error **err);

/* Fills server, server_host, server_port, server_path and server_tls of c
 * from a URL "https://host:port/prefix" (scheme optional, https assumed).
 * On error returns -1 with *why set to a static explanation. */
int kc_parse_server(kc_config *c, const char *url, const char **why);

/* ---- scanning JSON without a tree (json-scan.c) ---- */

/* A member of an object: its name as written (escapes not decoded) and the
 * extent of its value. Return < 0 to stop (with *err set). */
typedef int (*kc_member_fn)(void *ud, const char *key, size_t klen, const char *val, size_t vlen,
                            kn_error **err);
typedef int (*kc_elem_fn)(void *ud, const char *val, size_t vlen, kn_error **err);

/* Calls fn for each member of the object in s[0..len) (values delimited,
 * not validated: parse what you use). KN_EINVAL with the offset when the
 * text is not an object. */
int kc_scan_object(const char *s, size_t len, kc_member_fn fn, void *ud, kn_error **err);

/* The same for each element of the array in s[0..len). */
int kc_scan_array(const char *s, size_t len, kc_elem_fn fn, void *ud, kn_error **err);

/* A string-keyed hash map (open addressing). Keys are copied; values are
 * the caller's. Not thread-safe. */
typedef struct kc_map_slot {
    char *key; /* NULL: empty; KC_MAP_TOMB: deleted */
    void *val;
    uint64_t hash;
} kc_map_slot;

typedef struct kc_map {
    kc_map_slot *slots;
    size_t cap, len, used; /* used: live + tombstones */
} kc_map;

void kc_map_init(kc_map *m);
/* Frees the keys and slots; calls free_val on each value when not NULL. */
void kc_map_free(kc_map *m, void (*free_val)(void *));
void *kc_map_get(const kc_map *m, const char *key);
/* Sets key to val; returns the previous value or NULL. */
void *kc_map_put(kc_map *m, const char *key, void *val);
/* Removes key; returns its value or NULL. */
void *kc_map_del(kc_map *m, const char *key);
/* Iterates: start with *pos = 0; returns false at the end. */
bool kc_map_next(const kc_map *m, size_t *pos, const char **key, void **val);

/* ---- cached objects (cache-obj.c) ---- */

/* metadata.<key> of obj when it is a non-empty string, else NULL. */
const char *kc_meta_str(const cJSON *obj, const char *key);

/* An informer's cached object (see cache-obj.c for the memory scheme). */
struct kc_obj {
    atomic_int refs;
    bool in_store;  /* the store holds one of refs (guarded by the stripe lock) */
    int text_refs;  /* refs that hold only the text (guarded by the stripe lock) */
    char *key, *rv; /* cache key, metadata.resourceVersion ("" when none): in text's block */
    size_t len;     /* of text */
    cJSON *tree;    /* parsed text while referenced outside the store, or NULL */
    char ***ixv;    /* per index of the informer: the values it was filed under */
    size_t nixv;    /* (both guarded by the informer's lock) */
    char text[];    /* the JSON as received (or printed without spaces), then key, rv */
};

/* Wraps json (taken; kept as the object's tree) into a new object with one
 * reference, or NULL (json freed) when it has no metadata.name. scratch (may
 * be NULL): a buffer reused between calls of one thread for printing. */
kc_obj *kc_obj_new(cJSON *json, kn_buf *scratch);

/* An object for the JSON text[0..len) (copied as is, or, with a transform,
 * the transformed object printed through scratch (may be NULL); parsed to
 * check it and find its key, the tree not kept); *out NULL when it has no
 * metadata.name. KN_EINVAL when text is not JSON. */
int kc_obj_from_text(const char *text, size_t len, kc_transform_fn transform, kn_buf *scratch,
                     kc_obj **out, kn_error **err);

/* The object's tree when one is attached, else a private parse in *tmp
 * (the caller deletes it): for a look at an object that should not keep a
 * tree afterwards. The caller holds a reference. */
const cJSON *kc_obj_peek(kc_obj *o, cJSON **tmp);

/* Marks whether the store holds a reference (the tree is dropped when only
 * the store's reference remains). */
void kc_obj_set_in_store(kc_obj *o, bool in_store);

/* Frees a NULL-terminated array of index values. */
void kc_index_values_free(char **v);

#endif

/* store.h - the control plane's versioned key-value store.
 *
 * Every write gets the next value of one store-wide revision counter; that
 * revision is the object's resourceVersion. The store keeps the history of
 * writes (so watches can resume from a revision) until it is compacted; a
 * read or watch from before the compacted revision fails with KN_EGONE
 * (HTTP 410 at the API). Writes are durable when they return: a kill -9 at any
 * moment loses no acknowledged write.
 *
 * Keys are paths such as "/registry/pods/default/web"; values are opaque
 * bytes (the API server stores JSON). This interface is small on purpose so
 * that an etcd v3 backend can sit behind it too. The store is thread-safe. */
#ifndef KNODE_CONTROLPLANE_STORE_H
#define KNODE_CONTROLPLANE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/error.h"

typedef struct kn_store kn_store;

/* One key's value at one revision. All strings owned by the struct. */
typedef struct kn_kv {
    char *key;
    char *value; /* NUL-terminated for convenience; value_len excludes it */
    size_t value_len;
    int64_t create_rev; /* revision that created the key (this incarnation) */
    int64_t mod_rev;    /* revision of this value */
} kn_kv;

typedef struct kn_kv_list {
    kn_kv *items;
    size_t len;
} kn_kv_list;

typedef enum kn_store_event_type {
    KN_STORE_PUT = 1,    /* create or update; create when kv.create_rev == kv.mod_rev */
    KN_STORE_DELETE = 2, /* kv holds the last value before the delete; mod_rev = delete rev */
} kn_store_event_type;

typedef struct kn_store_event {
    kn_store_event_type type;
    kn_kv kv;
    int64_t prev_rev; /* revision of the previous value of the key, 0 if none */
} kn_store_event;

typedef struct kn_store_event_list {
    kn_store_event *items;
    size_t len;
} kn_store_event_list;

/* Opens (creating if needed) the store named by url: "sqlite:///abs/path.db"
 * or "sqlite://rel/path.db". Other schemes: KN_ENOTSUP. */
int kn_store_open(const char *url, kn_store **out, kn_error **err);
void kn_store_close(kn_store *s);

/* The newest revision (0 for an empty store) and the compacted revision. */
int64_t kn_store_current_rev(kn_store *s);
int64_t kn_store_compacted_rev(kn_store *s);

/* Current value of key. KN_ENOTFOUND if absent. out is filled, free with
 * kn_kv_free. */
int kn_store_get(kn_store *s, const char *key, kn_kv *out, kn_error **err);

/* Creates key; KN_EEXIST if it exists. *rev gets the new revision. */
int kn_store_create(kn_store *s, const char *key, const char *value, size_t len, int64_t *rev,
                    kn_error **err);

/* Replaces key's value. With expected_rev > 0 the write happens only if the
 * key's current mod_rev equals it (KN_ECONFLICT otherwise). KN_ENOTFOUND if
 * the key does not exist. */
int kn_store_update(kn_store *s, const char *key, const char *value, size_t len,
                    int64_t expected_rev, int64_t *rev, kn_error **err);

/* Deletes key (with expected_rev as above). prev (optional) gets the deleted
 * value; *rev (optional) the revision of the delete. */
int kn_store_delete(kn_store *s, const char *key, int64_t expected_rev, kn_kv *prev, int64_t *rev,
                    kn_error **err);

/* Lists keys with the prefix, in key order, after start_after (exclusive,
 * NULL/"" for the start), at most limit (0: no limit), as of revision at_rev
 * (0: newest). *list_rev gets the revision the list is consistent at; *more
 * whether keys remain. KN_EGONE if at_rev is compacted, KN_EINVAL if at_rev
 * is in the future. */
int kn_store_list(kn_store *s, const char *prefix, const char *start_after, size_t limit,
                  int64_t at_rev, kn_kv_list *out, int64_t *list_rev, bool *more, kn_error **err);

/* Events for keys with the prefix with revision > after_rev, oldest first, at
 * most max (0: no limit). KN_EGONE if after_rev < the compacted revision.
 * *seen_rev (optional) gets the revision up to which the answer is complete:
 * the last event's when max cut it short, else the store's revision. */
int kn_store_events(kn_store *s, const char *prefix, int64_t after_rev, size_t max,
                    kn_store_event_list *out, int64_t *seen_rev, kn_error **err);

/* Blocks until the store's revision exceeds after_rev or timeout_ms passes.
 * Returns true if it does. */
bool kn_store_wait(kn_store *s, int64_t after_rev, int timeout_ms);

/* Drops history up to rev: values superseded at or before rev and deletes at
 * or before rev. Reads and watches from before rev then fail with KN_EGONE. */
int kn_store_compact(kn_store *s, int64_t rev, kn_error **err);

void kn_kv_free(kn_kv *kv);
void kn_kv_list_free(kn_kv_list *l);
void kn_store_event_list_free(kn_store_event_list *l);

#endif

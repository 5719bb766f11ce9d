/* informer.h - list + watch of one resource type into a shared, indexed cache
 * (client-go's SharedIndexInformer).
 *
 * A thread lists the resource (paged), replaces the cache with the result,
 * then watches from the list's resourceVersion and applies every event; when
 * the watch reports 410 Gone or fails for good it lists again (after a
 * backoff for failures), so the cache converges on the server's state after
 * any disconnect. Handlers learn of every change: on_add, on_update,
 * on_delete callbacks (called one at a time from the informer's threads;
 * keep them short), and/or the object's key ("namespace/name", or "name"
 * for cluster-scoped objects) added to work queues, the usual way to feed a
 * reconciler. Every resync period each cached object is delivered again as
 * an update (old == new).
 *
 * Cached objects are immutable and reference counted: readers get a
 * reference (kc_obj_unref when done). The cache keeps each object as compact
 * JSON text; kc_obj_json parses it on first use and the tree lives until the
 * last reference other than the cache's is dropped, so a reader walking a
 * whole list should unref each object when done with it, and must never use
 * a tree after dropping its reference. Indexes map
 * index values to objects: "namespace" always exists; custom ones (e.g. pods
 * by spec.nodeName) may be added at any time. Handlers and queues added to a
 * running informer first receive every cached object as an add, as
 * client-go's AddEventHandler does. Thread-safe. */
#ifndef KNODE_API_CLIENT_INFORMER_H
#define KNODE_API_CLIENT_INFORMER_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "api-client/rest.h"
#include "lib/error.h"
#include "lib/workqueue.h"

/* ---- cached objects ------------------------------------------------------------ */

typedef struct kc_obj kc_obj;

/* The object's JSON (immutable: never modify it), valid while the caller
 * holds its reference; and its cache key. */
const cJSON *kc_obj_json(const kc_obj *o);
const char *kc_obj_key(const kc_obj *o);
/* metadata.resourceVersion, or "". */
const char *kc_obj_resource_version(const kc_obj *o);

/* Size of the object's compact JSON text, in bytes. */
size_t kc_obj_size(const kc_obj *o);

kc_obj *kc_obj_ref(kc_obj *o);
/* NULL is ignored. */
void kc_obj_unref(kc_obj *o);

/* The object's JSON text (NUL-terminated, kc_obj_size bytes), valid while
 * the caller holds a reference of either kind. */
const char *kc_obj_text(const kc_obj *o);

/* A reference that keeps only the text alive, for a holder that never
 * calls kc_obj_json (the kubelet's copy of a pod): unlike kc_obj_ref it
 * does not keep a parsed tree. Released with kc_obj_unref_text (void * for
 * use as a release callback; NULL is ignored). */
kc_obj *kc_obj_ref_text(kc_obj *o);
void kc_obj_unref_text(void *o);

/* Releases n references from an array of objects and the array itself. */
void kc_objs_free(kc_obj **v, size_t n);

/* "namespace/name" or "name" (cluster-scoped) for an object; caller frees.
 * NULL when metadata.name is missing. */
char *kc_object_key(const cJSON *obj);

/* ---- informer ---------------------------------------------------------------------- */

typedef struct kc_informer kc_informer;

/* Applied to each object before it is cached (client-go's SetTransform):
 * may delete fields in place so the cache holds less; must keep
 * metadata.name, metadata.namespace and metadata.resourceVersion. */
typedef void (*kc_transform_fn)(cJSON *obj);

typedef struct kc_informer_options {
    const char *ns;             /* one namespace, or NULL for all */
    const char *label_selector; /* server-side filters, or NULL */
    const char *field_selector; /* e.g. "spec.nodeName=node1" for a kubelet's pods */
    int64_t resync_ns;          /* 0: no periodic resync */
    int64_t list_page;          /* page size of lists; 0: 500 */
    int64_t watch_timeout_s;    /* 0: 5 to 10 minutes, random */
    int64_t stall_timeout_ns;   /* see kc_watch_options */
    kc_transform_fn transform;  /* or NULL: objects cached as received */
} kc_informer_options;

typedef struct kc_informer_handlers {
    void (*on_add)(kc_obj *obj, void *ud);
    void (*on_update)(kc_obj *old_obj, kc_obj *new_obj, void *ud);
    void (*on_delete)(kc_obj *last, void *ud); /* the last state known */
    void *ud;
} kc_informer_handlers;

/* Index function: returns a NULL-terminated array of newly allocated index
 * values for obj (NULL or an empty array: not indexed). */
typedef char **(*kc_index_fn)(const cJSON *obj, void *ud);

/* A new, stopped informer for r (copied). c must outlive it. */
kc_informer *kc_informer_new(kc_client *c, const kc_resource *r, const kc_informer_options *o);

/* Adds an index (built over the current cache at once). */
void kc_informer_add_index(kc_informer *inf, const char *name, kc_index_fn fn, void *ud);

/* Adds handlers; every change calls them in order. */
void kc_informer_add_handlers(kc_informer *inf, const kc_informer_handlers *h);

/* Adds the key of every changed object to q (not owned; it must outlive the
 * informer's run). */
void kc_informer_add_queue(kc_informer *inf, kn_workqueue *q);

/* Starts the list+watch thread (and the resync thread). */
int kc_informer_start(kc_informer *inf, kn_error **err);

/* True between a successful start and stop. */
bool kc_informer_running(kc_informer *inf);

/* Stops the threads (the cache stays readable). Idempotent. */
void kc_informer_stop(kc_informer *inf);

/* Stops and frees. NULL is ignored. */
void kc_informer_free(kc_informer *inf);

/* True once the first list was applied to the cache. */
bool kc_informer_has_synced(kc_informer *inf);

/* Blocks until has_synced or timeout_ns passed (< 0: forever); returns
 * has_synced. */
bool kc_informer_wait_synced(kc_informer *inf, int64_t timeout_ns);

/* The resourceVersion of the latest list or event applied ("" before). Copied
 * into buf (size bytes). */
const char *kc_informer_resource_version(kc_informer *inf, char *buf, size_t size);

/* Number of lists done (1 after the first sync; more after 410s). */
int kc_informer_lists(kc_informer *inf);

/* The object with key, with a reference (caller unrefs), or NULL. */
kc_obj *kc_informer_get(kc_informer *inf, const char *key);

/* Every cached object (references), sorted by key; caller frees with
 * kc_objs_free. */
kc_obj **kc_informer_list(kc_informer *inf, size_t *n);

/* The objects whose index `index` has `value`, sorted by key. An unknown
 * index gives none. */
kc_obj **kc_informer_by_index(kc_informer *inf, const char *index, const char *value, size_t *n);

/* Number of cached objects. */
size_t kc_informer_len(kc_informer *inf);

/* ---- shared informers ------------------------------------------------------------------ */

/* One informer per resource and filter in a process, shared by every
 * component (client-go's SharedInformerFactory). */
typedef struct kc_informer_factory kc_informer_factory;

/* c must outlive the factory. */
kc_informer_factory *kc_informer_factory_new(kc_client *c);

/* The informer for r with o's namespace, selectors and transform (o's
 * other fields apply when it is created): created on first use, the same
 * one after.
 * Owned by the factory. */
kc_informer *kc_informer_factory_get(kc_informer_factory *f, const kc_resource *r,
                                     const kc_informer_options *o);

/* Starts every informer not started yet (call again after new gets). */
int kc_informer_factory_start(kc_informer_factory *f, kn_error **err);

/* Waits until every informer has synced; false on timeout (< 0: forever). */
bool kc_informer_factory_wait_synced(kc_informer_factory *f, int64_t timeout_ns);

/* Stops and frees every informer, then the factory. NULL is ignored. */
void kc_informer_factory_free(kc_informer_factory *f);

#endif

/* cache-obj.c - the informer's cached objects: compact JSON text, a parsed
 * tree only while someone outside the store holds a reference.
 *
 * A cached object costs its minified JSON and a few small strings; the
 * cJSON tree (several times larger: one 64-byte node per value) is parsed
 * on the first kc_obj_json() and dropped again when the last reference
 * other than the store's goes away. Objects fresh from the API (watch
 * events, list items) keep the tree they were decoded from until their
 * handlers have run, so the usual path parses each object once. Text-only
 * references (kc_obj_ref_text: holders that keep the text and never ask for
 * the tree) do not keep the tree either.
 *
 * Locking: `tree`, `in_store` and `text_refs` are guarded by a striped
 * mutex chosen by the object's address; `refs` is atomic. The tree is
 * dropped only under that mutex and only when the count says the store's
 * and text-only references are all that is left, and a reader reaches the
 * tree only under the same mutex while holding its own reference, so a
 * tree in use is never freed. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api-client/kc-internal.h"
#include "lib/strbuf.h"
#include "lib/xalloc.h"

#define STRIPES 64

static pthread_mutex_t stripes[STRIPES] = {[0 ... STRIPES - 1] = PTHREAD_MUTEX_INITIALIZER};

static pthread_mutex_t *stripe_of(const kc_obj *o)
{
    uintptr_t a = (uintptr_t)o;
    return &stripes[(a >> 6 ^ a >> 12) % STRIPES];
}

const char *kc_meta_str(const cJSON *obj, const char *key)
{
    const cJSON *md = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(md, key);
    return cJSON_IsString(v) && v->valuestring[0] ? v->valuestring : NULL;
}

char *kc_object_key(const cJSON *obj)
{
    const char *name = kc_meta_str(obj, "name"), *ns = kc_meta_str(obj, "namespace");
    if (!name)
        return NULL;
    return ns ? xasprintf("%s/%s", ns, name) : xstrdup(name);
}

/* json printed without spaces into scratch (reused between calls, so
 * printing leaves no holes behind); returns the text's length. */
static size_t print_into(const cJSON *json, kn_buf *b)
{
    if (b->cap < 16384)
        kn_buf_reserve(b, 16384);
    while (!cJSON_PrintPreallocated((cJSON *)json, b->data, (int)b->cap, false))
        kn_buf_reserve(b, b->cap * 2);
    return strlen(b->data);
}

/* A new object with one reference for json's key and version holding a
 * copy of text: one block for the object, its text, key and version (fewer
 * allocations per cached object, nothing left between them). NULL when
 * json has no metadata.name. */
static kc_obj *obj_with(const cJSON *json, const char *text, size_t len)
{
    const char *name = kc_meta_str(json, "name"), *ns = kc_meta_str(json, "namespace");
    if (!name)
        return NULL;
    const char *rv = kc_meta_str(json, "resourceVersion");
    rv = rv ? rv : "";
    size_t klen = (ns ? strlen(ns) + 1 : 0) + strlen(name), rvlen = strlen(rv);
    kc_obj *o = xcalloc(1, sizeof(*o) + len + 1 + klen + 1 + rvlen + 1);
    atomic_init(&o->refs, 1);
    memcpy(o->text, text, len);
    o->len = len;
    o->key = o->text + len + 1;
    if (ns)
        snprintf(o->key, klen + 1, "%s/%s", ns, name);
    else
        memcpy(o->key, name, klen);
    o->rv = o->key + klen + 1;
    memcpy(o->rv, rv, rvlen);
    return o;
}

/* An object holding json printed through scratch (may be NULL). */
static kc_obj *obj_printed(const cJSON *json, kn_buf *scratch)
{
    kn_buf local = KN_BUF_INIT;
    kn_buf *b = scratch ? scratch : &local;
    size_t len = print_into(json, b);
    kc_obj *o = obj_with(json, b->data, len);
    b->data[0] = '\0';
    kn_buf_free(&local);
    return o;
}

kc_obj *kc_obj_new(cJSON *json, kn_buf *scratch)
{
    kc_obj *o = obj_printed(json, scratch);
    if (o)
        o->tree = json;
    else
        cJSON_Delete(json);
    return o;
}

int kc_obj_from_text(const char *text, size_t len, kc_transform_fn transform, kn_buf *scratch,
                     kc_obj **out, kn_error **err)
{
    cJSON *json = NULL;
    *out = NULL;
    if (kc_json_parse(text, len, 0, &json, err) < 0)
        return -1;
    if (transform) {
        transform(json);
        *out = obj_printed(json, scratch);
    } else {
        *out = obj_with(json, text, len);
    }
    cJSON_Delete(json);
    return 0;
}

const cJSON *kc_obj_json(const kc_obj *co)
{
    kc_obj *o = (kc_obj *)co;
    pthread_mutex_t *mu = stripe_of(o);
    pthread_mutex_lock(mu);
    if (!o->tree) {
        o->tree = cJSON_ParseWithLength(o->text, o->len);
        if (!o->tree)
            kn_oom();
    }
    const cJSON *t = o->tree;
    pthread_mutex_unlock(mu);
    return t;
}

const cJSON *kc_obj_peek(kc_obj *o, cJSON **tmp)
{
    pthread_mutex_t *mu = stripe_of(o);
    pthread_mutex_lock(mu);
    const cJSON *t = o->tree;
    pthread_mutex_unlock(mu);
    *tmp = NULL;
    if (t)
        return t;
    *tmp = cJSON_ParseWithLength(o->text, o->len);
    if (!*tmp)
        kn_oom();
    return *tmp;
}

const char *kc_obj_key(const kc_obj *o)
{
    return o->key;
}

const char *kc_obj_resource_version(const kc_obj *o)
{
    return o->rv;
}

size_t kc_obj_size(const kc_obj *o)
{
    return o->len;
}

kc_obj *kc_obj_ref(kc_obj *o)
{
    atomic_fetch_add(&o->refs, 1);
    return o;
}

static void obj_free(kc_obj *o, cJSON *tree)
{
    cJSON_Delete(tree);
    for (size_t i = 0; i < o->nixv; i++)
        kc_index_values_free(o->ixv[i]);
    free(o->ixv);
    free(o);
}

/* Drops a reference (a text-only one when text); the tree goes when only
 * the store's and text-only references remain. */
static void unref(kc_obj *o, bool text)
{
    pthread_mutex_t *mu = stripe_of(o);
    pthread_mutex_lock(mu);
    o->text_refs -= text;
    int left = atomic_fetch_sub(&o->refs, 1) - 1;
    cJSON *drop = NULL;
    if (left == o->text_refs + (o->in_store ? 1 : 0)) {
        drop = o->tree;
        o->tree = NULL;
    }
    pthread_mutex_unlock(mu);
    if (left == 0)
        obj_free(o, drop);
    else
        cJSON_Delete(drop);
}

void kc_obj_unref(kc_obj *o)
{
    if (o)
        unref(o, false);
}

const char *kc_obj_text(const kc_obj *o)
{
    return o->text;
}

kc_obj *kc_obj_ref_text(kc_obj *o)
{
    pthread_mutex_t *mu = stripe_of(o);
    pthread_mutex_lock(mu);
    o->text_refs++;
    atomic_fetch_add(&o->refs, 1);
    pthread_mutex_unlock(mu);
    return o;
}

void kc_obj_unref_text(void *o)
{
    if (o)
        unref(o, true);
}

void kc_obj_set_in_store(kc_obj *o, bool in_store)
{
    pthread_mutex_t *mu = stripe_of(o);
    pthread_mutex_lock(mu);
    o->in_store = in_store;
    pthread_mutex_unlock(mu);
}

void kc_objs_free(kc_obj **v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        kc_obj_unref(v[i]);
    free(v);
}

void kc_index_values_free(char **v)
{
    for (char **p = v; p && *p; p++)
        free(*p);
    free(v);
}

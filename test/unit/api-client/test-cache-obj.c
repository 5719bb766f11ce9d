/* test-cache-obj.c - cached objects: compact text, trees parsed on demand and
 * dropped when only the store's reference remains. */
#include <pthread.h>
#include <string.h>

#include "api-client/kc-internal.h"
#include "test/runner/kt.h"

static const char *POD = "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"web\","
                         "\"namespace\":\"default\",\"resourceVersion\":\"42\"},"
                         "\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"busybox\"}]}}";

static bool has_tree(kc_obj *o)
{
    return o->tree != NULL; /* single-threaded test: no lock needed */
}

KT_TEST(cache_obj, keeps_compact_text_and_key)
{
    kc_obj *o = kc_obj_new(cJSON_Parse(POD), NULL);
    KT_ASSERT(o != NULL);
    KT_ASSERT_STREQ(kc_obj_key(o), "default/web");
    KT_ASSERT_STREQ(kc_obj_resource_version(o), "42");
    KT_ASSERT_EQ(kc_obj_size(o), strlen(POD));
    KT_ASSERT(has_tree(o));
    kc_obj_unref(o);
    KT_ASSERT(kc_obj_new(cJSON_Parse("{\"metadata\":{}}"), NULL) == NULL);
}

KT_TEST(cache_obj, tree_dropped_when_only_the_store_holds_it)
{
    kc_obj *o = kc_obj_new(cJSON_Parse(POD), NULL);
    kc_obj_set_in_store(o, true); /* the creator's reference becomes the store's */
    kc_obj *reader = kc_obj_ref(o);
    const cJSON *first = kc_obj_json(reader);
    KT_ASSERT(first != NULL);
    kc_obj_unref(reader);
    KT_ASSERT(!has_tree(o));
    reader = kc_obj_ref(o);
    cJSON *want = cJSON_Parse(POD);
    KT_ASSERT(cJSON_Compare(kc_obj_json(reader), want, true));
    KT_ASSERT(kc_obj_json(reader) == kc_obj_json(reader)); /* parsed once per holding */
    cJSON_Delete(want);
    kc_obj_unref(reader);
    KT_ASSERT(!has_tree(o));
    kc_obj_set_in_store(o, false);
    kc_obj_unref(o);
}

KT_TEST(cache_obj, tree_kept_while_out_of_the_store)
{
    kc_obj *o = kc_obj_new(cJSON_Parse(POD), NULL);
    kc_obj *other = kc_obj_ref(o); /* e.g. a handler's reference to a deleted object */
    kc_obj_unref(o);
    KT_ASSERT(has_tree(other));
    KT_ASSERT_STREQ(cJSON_GetObjectItem(kc_obj_json(other), "kind")->valuestring, "Pod");
    kc_obj_unref(other);
}

static void *reader_main(void *arg)
{
    kc_obj *o = arg;
    for (int i = 0; i < 2000; i++) {
        kc_obj *r = kc_obj_ref(o);
        const cJSON *md = cJSON_GetObjectItem(kc_obj_json(r), "metadata");
        if (strcmp(cJSON_GetObjectItem(md, "name")->valuestring, "web") != 0)
            return (void *)1;
        kc_obj_unref(r);
    }
    return NULL;
}

KT_TEST(cache_obj, concurrent_readers_never_see_a_freed_tree)
{
    kc_obj *o = kc_obj_new(cJSON_Parse(POD), NULL);
    kc_obj_set_in_store(o, true);
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, reader_main, o);
    for (int i = 0; i < 4; i++) {
        void *r = NULL;
        pthread_join(t[i], &r);
        KT_ASSERT(r == NULL);
    }
    KT_ASSERT(!has_tree(o));
    kc_obj_set_in_store(o, false);
    kc_obj_unref(o);
}

KT_TEST(cache_obj, text_reference_keeps_the_text_not_the_tree)
{
    kc_obj *o = kc_obj_new(cJSON_Parse(POD), NULL);
    kc_obj_set_in_store(o, true);
    kc_obj *holder = kc_obj_ref_text(o);
    KT_ASSERT_STREQ(kc_obj_text(holder), POD);
    kc_obj *reader = kc_obj_ref(o);
    KT_ASSERT(kc_obj_json(reader) != NULL);
    kc_obj_unref(reader);
    KT_ASSERT(!has_tree(o)); /* only the store and a text holder remain */
    kc_obj_set_in_store(o, false);
    kc_obj_unref(o); /* gone from the store: the text lives on */
    KT_ASSERT_STREQ(kc_obj_text(holder), POD);
    KT_ASSERT(!has_tree(holder));
    kc_obj_unref_text(holder);
    kc_obj_unref_text(NULL);
}

KT_TEST(cache_obj, tree_dropped_when_the_reader_outlives_the_store)
{
    kc_obj *o = kc_obj_new(cJSON_Parse(POD), NULL);
    kc_obj *holder = kc_obj_ref_text(o);
    kc_obj *reader = kc_obj_ref(o);
    kc_obj_unref(o);
    KT_ASSERT(has_tree(reader)); /* a full reference keeps it */
    kc_obj_unref(reader);
    KT_ASSERT(!has_tree(holder));
    kc_obj_unref_text(holder);
}

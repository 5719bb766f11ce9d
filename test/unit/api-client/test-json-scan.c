/* test-json-scan.c - members and elements found without building a tree. */
#include <string.h>

#include "api-client/kc-internal.h"
#include "lib/strbuf.h"
#include "test/runner/kt.h"

static int record_member(void *ud, const char *key, size_t klen, const char *val, size_t vlen,
                         kn_error **err)
{
    (void)err;
    kn_buf_appendf(ud, "%.*s=%.*s;", (int)klen, key, (int)vlen, val);
    return 0;
}

static int record_elem(void *ud, const char *val, size_t vlen, kn_error **err)
{
    (void)err;
    kn_buf_appendf(ud, "%.*s;", (int)vlen, val);
    return 0;
}

KT_TEST(json_scan, members_and_elements)
{
    const char *page = " {\"kind\":\"PodList\", \"metadata\" : {\"continue\":\"a}b\"},"
                       "\"items\":[{\"s\":\"x\\\"]\"}, [1,[2]] ,true,-1.5e3,null]} ";
    kn_buf b = KN_BUF_INIT;
    KT_ASSERT_EQ(kc_scan_object(page, strlen(page), record_member, &b, NULL), 0);
    KT_ASSERT_STREQ(b.data, "kind=\"PodList\";metadata={\"continue\":\"a}b\"};"
                            "items=[{\"s\":\"x\\\"]\"}, [1,[2]] ,true,-1.5e3,null];");
    const char *items = strstr(page, "[{");
    kn_buf_reset(&b);
    KT_ASSERT_EQ(kc_scan_array(items, strlen(items) - 2, record_elem, &b, NULL), 0);
    KT_ASSERT_STREQ(b.data, "{\"s\":\"x\\\"]\"};[1,[2]];true;-1.5e3;null;");
    kn_buf_reset(&b);
    KT_ASSERT_EQ(kc_scan_object("{}", 2, record_member, &b, NULL), 0);
    KT_ASSERT_EQ(kc_scan_array(" [ ] ", 5, record_elem, &b, NULL), 0);
    KT_ASSERT_STREQ(b.data, "");
    kn_buf_free(&b);
}

KT_TEST(json_scan, malformed_text_is_an_error_with_the_offset)
{
    static const char *const bad[] = {"",           "[1]",         "{\"a\" 1}",    "{\"a\":1",
                                      "{\"a\":1 x", "{\"a\":\"x}", "{\"a\":[1,2}", "{a:1}",
                                      "{\"a\":}"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        kn_buf b = KN_BUF_INIT;
        kn_error *err = NULL;
        KT_ASSERT_MSG(kc_scan_object(bad[i], strlen(bad[i]), record_member, &b, &err) < 0,
                      "accepted \"%s\"", bad[i]);
        KT_ASSERT(strstr(kn_error_msg(err), "offset") != NULL);
        kn_error_free(&err);
        kn_buf_free(&b);
    }
}

KT_TEST(json_scan, objects_from_text_keep_the_text)
{
    const char *pod =
        "{\"metadata\":{\"name\":\"web\",\"namespace\":\"ns\",\"resourceVersion\":\"7\"}}";
    kc_obj *o = NULL;
    KT_ASSERT_EQ(kc_obj_from_text(pod, strlen(pod), NULL, NULL, &o, NULL), 0);
    KT_ASSERT_STREQ(kc_obj_key(o), "ns/web");
    KT_ASSERT_STREQ(kc_obj_resource_version(o), "7");
    KT_ASSERT_EQ(kc_obj_size(o), strlen(pod));
    KT_ASSERT_STREQ(
        cJSON_GetObjectItem(cJSON_GetObjectItem(kc_obj_json(o), "metadata"), "name")->valuestring,
        "web");
    kc_obj_unref(o);
    KT_ASSERT_EQ(kc_obj_from_text("{\"metadata\":{}}", 15, NULL, NULL, &o, NULL), 0);
    KT_ASSERT(o == NULL);
    kn_error *err = NULL;
    KT_ASSERT(kc_obj_from_text("{\"x\":", 5, NULL, NULL, &o, &err) < 0);
    kn_error_free(&err);
}

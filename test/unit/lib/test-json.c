#include "lib/json.h"

#include <stdlib.h>
#include <string.h>

#include "lib/cleanup.h"
#include "lib/strbuf.h"
#include "lib/xalloc.h"
#include "test/runner/kt.h"

/* Parses s (which must be valid) or fails the test. */
static cJSON *J(const char *s)
{
    cJSON *doc = NULL;
    kn_error *err = NULL;
    if (kn_json_parse(s, strlen(s), 0, &doc, &err) < 0)
        KT_FAIL("parse %s: %s", s, kn_error_msg(err));
    return doc;
}

#define ASSERT_JSON_EQ(item, text)                                                                 \
    do {                                                                                           \
        cleanup_cjson cJSON *want_ = J(text);                                                      \
        if (!kn_json_equal((item), want_)) {                                                       \
            cleanup_free char *printed_ = kn_json_print(item);                                     \
            KT_FAIL("JSON differs: got %s, want %s", printed_, text);                              \
        }                                                                                          \
    } while (0)

/* Parses s expecting failure; returns the message (static copy). */
static const char *parse_error(const char *s, size_t len, size_t max, unsigned flags,
                               kn_errcode *code)
{
    static char msg[512];
    cJSON *doc = NULL;
    kn_error *err = NULL;
    if (kn_json_parse_opts(s, len, max, flags, &doc, &err) >= 0) {
        cJSON_Delete(doc);
        KT_FAIL("parse of \"%.*s\" succeeded, expected failure", (int)len, s);
    }
    KT_ASSERT(doc == NULL);
    if (code)
        *code = kn_error_code(err);
    snprintf(msg, sizeof(msg), "%s", kn_error_msg(err));
    kn_error_free(&err);
    return msg;
}

#define PERR(s) parse_error((s), strlen(s), 0, 0, NULL)

/* ---- parsing ---- */

KT_TEST(json, parse_values)
{
    cleanup_cjson cJSON *doc = J(" {\"a\": [1, -2.5e3, true, false, null, \"x\\u00e9\\n\"],"
                                 " \"b\": {}, \"c\": []}\r\n\t");
    KT_ASSERT(cJSON_IsObject(doc));
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(doc, "a");
    KT_ASSERT_EQ(cJSON_GetArraySize(a), 6);
    KT_ASSERT(cJSON_GetArrayItem(a, 1)->valuedouble == -2500.0);
    KT_ASSERT_STREQ(cJSON_GetArrayItem(a, 5)->valuestring, "x\xc3\xa9\n");
    cJSON_Delete(J("0"));
    cJSON_Delete(J("\"\""));
    cJSON_Delete(J("-0.0e+0"));
    cJSON *pair = J("\"\\ud83d\\ude00\""); /* a surrogate pair: U+1F600 */
    KT_ASSERT_STREQ(pair->valuestring, "\xf0\x9f\x98\x80");
    cJSON_Delete(pair);
}

KT_TEST(json, parse_needs_no_terminator)
{
    const char text[] = "[1,2]garbage";
    cJSON *doc = NULL;
    kn_error *err = NULL;
    KT_ASSERT_OK(kn_json_parse(text, 5, 0, &doc, &err), err);
    KT_ASSERT_EQ(cJSON_GetArraySize(doc), 2);
    cJSON_Delete(doc);
}

KT_TEST(json, parse_errors_have_positions)
{
    KT_ASSERT_STREQ(PERR("{\"a\":1,\n  \"b\" 2}"),
                    "invalid JSON at line 2, column 7 (offset 14): invalid character '2' after "
                    "object key");
    KT_ASSERT_STREQ(PERR(""), "invalid JSON at line 1, column 1 (offset 0): unexpected end of "
                              "JSON input");
    KT_ASSERT_STREQ(PERR("{\"a\":1} x"), "invalid JSON at line 1, column 9 (offset 8): invalid "
                                         "character 'x' after top-level value");
    KT_ASSERT_CONTAINS(PERR("[1,]"), "offset 3): invalid character ']' looking for beginning of "
                                     "value");
    KT_ASSERT_CONTAINS(PERR("{\"a\":1,}"), "invalid character '}' looking for beginning of "
                                           "object key string");
    KT_ASSERT_CONTAINS(PERR("[1 2]"), "invalid character '2' after array element");
    KT_ASSERT_CONTAINS(PERR("{\"a\":1 \"b\":2}"), "after object key:value pair");
    KT_ASSERT_CONTAINS(PERR("tru"), "unexpected end of JSON input");
    KT_ASSERT_CONTAINS(PERR("nul!"), "invalid character '!' in literal null (expecting 'l')");
    KT_ASSERT_CONTAINS(PERR("\"a\tb\""), "invalid character '\\x09' in string literal");
    KT_ASSERT_CONTAINS(PERR("\"\\x\""), "in string escape code");
    KT_ASSERT_CONTAINS(PERR("\"\\u12g4\""), "in \\u hexadecimal character escape");
    /* column counts characters, not bytes */
    KT_ASSERT_CONTAINS(PERR("[\"\xc3\xa9\xc3\xa9\", x]"), "line 1, column 8 (offset 9)");
}

KT_TEST(json, parse_rejects_what_cjson_would_accept)
{
    const char *bad[] = {"+1",
                         "01",
                         "1.",
                         ".5",
                         "-",
                         "1e",
                         "1e+",
                         "0x10",
                         "NaN",
                         "Infinity",
                         "\x01{}",
                         "{} \x01",
                         "'a'",
                         "[1,,2]",
                         "{a:1}",
                         "[1] [2]",
                         "\"\\ud800\"",
                         "\"\\udc00x\"",
                         "\"\\ud800\\u0041\""};
    for (size_t i = 0; i < KN_ARRAY_SIZE(bad); i++)
        KT_ASSERT_CONTAINS(PERR(bad[i]), "invalid JSON at line 1");
    KT_ASSERT_CONTAINS(PERR("\"\\ud800\""), "unpaired UTF-16 surrogate");
    KT_ASSERT_CONTAINS(PERR("[1e999]"), "offset 1): number out of range");
    KT_ASSERT_CONTAINS(PERR("-1e400"), "number out of range");
    /* an embedded NUL is an invalid character, not an end */
    KT_ASSERT_CONTAINS(parse_error("[1]\0", 4, 0, 0, NULL), "'\\x00' after top-level value");
    cJSON_Delete(J("1e-400")); /* underflow is fine: it rounds to 0 */
}

KT_TEST(json, parse_limits)
{
    kn_errcode code;
    KT_ASSERT_STREQ(parse_error("[1,2,3]", 7, 6, 0, &code),
                    "JSON document of 7 bytes exceeds the limit of 6 bytes");
    KT_ASSERT_EQ(code, KN_ETOOLARGE);
    cJSON *doc = NULL;
    kn_error *err = NULL;
    KT_ASSERT_OK(kn_json_parse("[1,2,3]", 7, 7, &doc, &err), err);
    cJSON_Delete(doc);

    /* exactly KN_JSON_MAX_DEPTH nested arrays parse; one more does not */
    size_t n = KN_JSON_MAX_DEPTH;
    char *deep = xmalloc(2 * n + 4);
    memset(deep, '[', n);
    memset(deep + n, ']', n);
    KT_ASSERT_OK(kn_json_parse(deep, 2 * n, 0, &doc, &err), err);
    cJSON_Delete(doc);
    memset(deep, '[', n + 1);
    memset(deep + n + 1, ']', n + 1);
    KT_ASSERT_CONTAINS(parse_error(deep, 2 * n + 2, 0, 0, &code), "exceeded max depth");
    KT_ASSERT_EQ(code, KN_ETOOLARGE);
    free(deep);
}

KT_TEST(json, duplicate_keys_keep_last_or_fail)
{
    const char *text =
        "{\"spec\":{\"replicas\":1,\"x\":0,\"replicas\":3},\"a\":[{\"k\":1,\"k\":2}]}";
    cleanup_cjson cJSON *doc = J(text);
    ASSERT_JSON_EQ(doc, "{\"spec\":{\"x\":0,\"replicas\":3},\"a\":[{\"k\":2}]}");
    KT_ASSERT_EQ(cJSON_GetArraySize(cJSON_GetObjectItem(doc, "spec")), 2);

    kn_errcode code;
    KT_ASSERT_STREQ(parse_error(text, strlen(text), 0, KN_JSON_REJECT_DUPLICATES, &code),
                    "duplicate field \"spec.replicas\"");
    KT_ASSERT_EQ(code, KN_EINVAL);
    const char *nested = "{\"a\":[{\"k\":1},{\"b.c\":{\"k\":1,\"k\":1}}]}";
    KT_ASSERT_STREQ(parse_error(nested, strlen(nested), 0, KN_JSON_REJECT_DUPLICATES, NULL),
                    "duplicate field \"a[1][\"b.c\"].k\"");

    /* many keys (the sorted path), three copies of one of them */
    kn_buf b = KN_BUF_INIT;
    kn_buf_append_char(&b, '{');
    for (int i = 0; i < 200; i++)
        kn_buf_appendf(&b, "\"k%d\":%d,", i % 150, i);
    kn_buf_append_str(&b, "\"k7\":\"last\"}");
    cJSON *many = J(b.data);
    KT_ASSERT_EQ(cJSON_GetArraySize(many), 150);
    KT_ASSERT_STREQ(cJSON_GetObjectItem(many, "k7")->valuestring, "last");
    KT_ASSERT_EQ(cJSON_GetObjectItem(many, "k149")->valueint, 149);
    KT_ASSERT_EQ(cJSON_GetObjectItem(many, "k0")->valueint, 150);
    cJSON_Delete(many);
    KT_ASSERT_CONTAINS(parse_error(b.data, b.len, 0, KN_JSON_REJECT_DUPLICATES, NULL),
                       "duplicate field \"k");
    kn_buf_free(&b);
}

KT_TEST(json, print_and_equal)
{
    cleanup_cjson cJSON *doc = J("{ \"a\" : [ 1 , 2.5, \"s\" ], \"b\" : null }");
    cleanup_free char *s = kn_json_print(doc);
    KT_ASSERT_STREQ(s, "{\"a\":[1,2.5,\"s\"],\"b\":null}");
    cleanup_cjson cJSON *same = J("{\"b\":null,\"a\":[1,2.5,\"s\"]}");
    cleanup_cjson cJSON *order = J("{\"b\":null,\"a\":[2.5,1,\"s\"]}");
    KT_ASSERT(kn_json_equal(doc, same));
    KT_ASSERT(!kn_json_equal(doc, order));
    KT_ASSERT(!kn_json_equal(doc, NULL));
    KT_ASSERT(kn_json_equal(NULL, NULL));
    cleanup_free char *n = kn_json_print(NULL);
    KT_ASSERT_STREQ(n, "null");
    KT_ASSERT_STREQ(kn_json_type_name(NULL), "missing");
    KT_ASSERT_STREQ(kn_json_type_name(cJSON_GetObjectItem(doc, "a")), "array");
}

/* ---- getters ---- */

static const char *POD =
    "{\"metadata\":{\"name\":\"web\",\"annotations\":{\"example.com/a.b\":\"v\",\"q\\\"k\":\"w\"},"
    "\"generation\":7,\"deletionTimestamp\":null},"
    "\"spec\":{\"containers\":[{\"name\":\"app\",\"image\":\"nginx\",\"ports\":[{\"containerPort\":"
    "80}],\"tty\":true},{\"name\":\"side\",\"image\":5}],\"priority\":-3,\"ratio\":0.25,"
    "\"big\":9007199254740993,\"safe\":9007199254740991,\"frac\":1.5,\"neg\":-9007199254740991}}";

KT_TEST(json, getters_required)
{
    cleanup_cjson cJSON *doc = J(POD);
    kn_error *err = NULL;
    const char *s;
    bool b;
    int64_t i;
    double d;
    const cJSON *o;
    KT_ASSERT_OK(kn_json_get_string(doc, "spec.containers[0].image", &s, &err), err);
    KT_ASSERT_STREQ(s, "nginx");
    KT_ASSERT_OK(kn_json_get_string(doc, "metadata.annotations[\"example.com/a.b\"]", &s, &err),
                 err);
    KT_ASSERT_STREQ(s, "v");
    KT_ASSERT_OK(kn_json_get_string(doc, "metadata.annotations[\"q\\\"k\"]", &s, &err), err);
    KT_ASSERT_STREQ(s, "w");
    KT_ASSERT_OK(kn_json_get_bool(doc, "spec.containers[0].tty", &b, &err), err);
    KT_ASSERT(b);
    KT_ASSERT_OK(kn_json_get_int64(doc, "spec.containers[0].ports[0].containerPort", &i, &err),
                 err);
    KT_ASSERT_EQ(i, 80);
    KT_ASSERT_OK(kn_json_get_int64(doc, "spec.priority", &i, &err), err);
    KT_ASSERT_EQ(i, -3);
    KT_ASSERT_OK(kn_json_get_int64(doc, "spec.safe", &i, &err), err);
    KT_ASSERT_EQ(i, INT64_C(9007199254740991));
    KT_ASSERT_OK(kn_json_get_int64(doc, "spec.neg", &i, &err), err);
    KT_ASSERT_EQ(i, -INT64_C(9007199254740991));
    KT_ASSERT_OK(kn_json_get_double(doc, "spec.ratio", &d, &err), err);
    KT_ASSERT(d == 0.25);
    KT_ASSERT_OK(kn_json_get_object(doc, "spec.containers[1]", &o, &err), err);
    KT_ASSERT_STREQ(cJSON_GetObjectItem(o, "name")->valuestring, "side");
    KT_ASSERT_OK(kn_json_get_array(doc, "spec.containers", &o, &err), err);
    KT_ASSERT_EQ(cJSON_GetArraySize(o), 2);
    KT_ASSERT_OK(kn_json_get_object(doc, "", &o, &err), err); /* the root */
    KT_ASSERT(o == doc);
}

/* Runs a failing getter; checks message and code. */
#define GET_FAILS(call, code_, msg_)                                                               \
    do {                                                                                           \
        kn_error *e_ = NULL;                                                                       \
        KT_ASSERT((call) < 0);                                                                     \
        KT_ASSERT_STREQ(kn_error_msg(e_), msg_);                                                   \
        KT_ASSERT_EQ(kn_error_code(e_), code_);                                                    \
        kn_error_free(&e_);                                                                        \
    } while (0)

KT_TEST(json, getters_report_the_path)
{
    cleanup_cjson cJSON *doc = J(POD);
    const char *s;
    int64_t i;
    bool b;
    const cJSON *o;
    GET_FAILS(kn_json_get_string(doc, "spec.containers[1].image", &s, &e_), KN_EINVAL,
              "spec.containers[1].image: expected string, got number");
    GET_FAILS(kn_json_get_string(doc, "spec.containers[2].image", &s, &e_), KN_EINVAL,
              "spec.containers[2].image: required value is missing");
    GET_FAILS(kn_json_get_string(doc, "spec.nodeName", &s, &e_), KN_EINVAL,
              "spec.nodeName: required value is missing");
    GET_FAILS(kn_json_get_string(doc, "metadata.deletionTimestamp", &s, &e_), KN_EINVAL,
              "metadata.deletionTimestamp: required value is missing");
    GET_FAILS(kn_json_get_string(doc, "spec.containers.image", &s, &e_), KN_EINVAL,
              "spec.containers: expected object, got array");
    GET_FAILS(kn_json_get_string(doc, "metadata[0]", &s, &e_), KN_EINVAL,
              "metadata: expected array, got object");
    GET_FAILS(kn_json_get_bool(doc, "metadata.name", &b, &e_), KN_EINVAL,
              "metadata.name: expected bool, got string");
    GET_FAILS(kn_json_get_int64(doc, "spec.frac", &i, &e_), KN_EINVAL,
              "spec.frac: expected integer, got 1.5");
    GET_FAILS(kn_json_get_int64(doc, "spec.ratio", &i, &e_), KN_EINVAL,
              "spec.ratio: expected integer, got 0.25");
    GET_FAILS(kn_json_get_int64(doc, "spec.big", &i, &e_), KN_ERANGE,
              "spec.big: integer 9007199254740992 is beyond +-(2^53-1) and may not be exact");
    GET_FAILS(kn_json_get_object(doc, "spec.containers", &o, &e_), KN_EINVAL,
              "spec.containers: expected object, got array");
    GET_FAILS(kn_json_get_array(doc, "", &o, &e_), KN_EINVAL, "(root): expected array, got object");
    cleanup_cjson cJSON *arr = J("[1]");
    GET_FAILS(kn_json_get_string(arr, "a", &s, &e_), KN_EINVAL,
              "(root): expected object, got array");
}

KT_TEST(json, getters_optional)
{
    cleanup_cjson cJSON *doc = J(POD);
    kn_error *err = NULL;
    const char *s;
    bool b;
    int64_t i;
    double d;
    const cJSON *o = doc;
    KT_ASSERT_EQ(kn_json_get_string_opt(doc, "spec.nodeName", "none", &s, &err), 0);
    KT_ASSERT_STREQ(s, "none");
    KT_ASSERT_EQ(kn_json_get_string_opt(doc, "metadata.name", "none", &s, &err), 1);
    KT_ASSERT_STREQ(s, "web");
    KT_ASSERT_EQ(kn_json_get_string_opt(doc, "metadata.deletionTimestamp", NULL, &s, &err), 0);
    KT_ASSERT(s == NULL);
    /* missing steps on the way are just missing */
    KT_ASSERT_EQ(kn_json_get_bool_opt(doc, "spec.securityContext.privileged", true, &b, &err), 0);
    KT_ASSERT(b);
    KT_ASSERT_EQ(kn_json_get_int64_opt(doc, "spec.containers[9].ports[0].x", 42, &i, &err), 0);
    KT_ASSERT_EQ(i, 42);
    KT_ASSERT_EQ(kn_json_get_int64_opt(doc, "metadata.generation", 0, &i, &err), 1);
    KT_ASSERT_EQ(i, 7);
    KT_ASSERT_EQ(kn_json_get_double_opt(doc, "spec.ratio", 9, &d, &err), 1);
    KT_ASSERT(d == 0.25);
    KT_ASSERT_EQ(kn_json_get_double_opt(doc, "spec.x", 9, &d, &err), 0);
    KT_ASSERT(d == 9);
    KT_ASSERT_EQ(kn_json_get_object_opt(doc, "spec.affinity", &o, &err), 0);
    KT_ASSERT(o == NULL);
    KT_ASSERT_EQ(kn_json_get_array_opt(doc, "spec.containers[0].ports", &o, &err), 1);
    KT_ASSERT_EQ(cJSON_GetArraySize(o), 1);
    KT_ASSERT(err == NULL);
    /* a present value of the wrong type is an error even when optional */
    GET_FAILS(kn_json_get_string_opt(doc, "spec.containers[1].image", "x", &s, &e_), KN_EINVAL,
              "spec.containers[1].image: expected string, got number");
    GET_FAILS(kn_json_get_int64_opt(doc, "spec.frac", 0, &i, &e_), KN_EINVAL,
              "spec.frac: expected integer, got 1.5");
    GET_FAILS(kn_json_get_bool_opt(doc, "spec.containers.tty", false, &b, &e_), KN_EINVAL,
              "spec.containers: expected object, got array");
    /* a NULL root is an empty document */
    KT_ASSERT_EQ(kn_json_get_string_opt(NULL, "a.b", "d", &s, &err), 0);
    KT_ASSERT_STREQ(s, "d");
}

KT_TEST(json, lookup_and_bad_paths)
{
    cleanup_cjson cJSON *doc = J("{\"a\":{\"\":1,\"b\":[[10,11]]}}");
    kn_error *err = NULL;
    const cJSON *v;
    KT_ASSERT_EQ(kn_json_lookup(doc, "a.b[0][1]", &v, &err), 1);
    KT_ASSERT_EQ(v->valueint, 11);
    KT_ASSERT_EQ(kn_json_lookup(doc, "a[\"\"]", &v, &err), 1);
    KT_ASSERT_EQ(v->valueint, 1);
    KT_ASSERT_EQ(kn_json_lookup(doc, "a.b[0][2]", &v, &err), 0);
    KT_ASSERT(v == NULL);
    cleanup_cjson cJSON *arr = J("[{\"x\":true}]");
    KT_ASSERT_EQ(kn_json_lookup(arr, "[0].x", &v, &err), 1);
    KT_ASSERT(cJSON_IsTrue(v));
    const char *bad[] = {".a",         "a.",    "a..b",          "a[",     "a[x]",
                         "a[-1]",      "a[1",   "a.[0]",         "a[\"b]", "a[\"b\"",
                         "a[\"\\x\"]", "a[0]b", "a[99999999999]"};
    for (size_t i = 0; i < KN_ARRAY_SIZE(bad); i++) {
        KT_ASSERT_MSG(kn_json_lookup(doc, bad[i], &v, &err) < 0, "path %s accepted", bad[i]);
        KT_ASSERT_CONTAINS(kn_error_msg(err), "invalid path");
        kn_error_free(&err);
    }
}

/* ---- JSON merge patch: RFC 7386 appendix A ---- */

KT_TEST(json, merge_patch_rfc7386_examples)
{
    static const char *const cases[][3] = {
        {"{\"a\":\"b\"}", "{\"a\":\"c\"}", "{\"a\":\"c\"}"},
        {"{\"a\":\"b\"}", "{\"b\":\"c\"}", "{\"a\":\"b\",\"b\":\"c\"}"},
        {"{\"a\":\"b\"}", "{\"a\":null}", "{}"},
        {"{\"a\":\"b\",\"b\":\"c\"}", "{\"a\":null}", "{\"b\":\"c\"}"},
        {"{\"a\":[\"b\"]}", "{\"a\":\"c\"}", "{\"a\":\"c\"}"},
        {"{\"a\":\"c\"}", "{\"a\":[\"b\"]}", "{\"a\":[\"b\"]}"},
        {"{\"a\":{\"b\":\"c\"}}", "{\"a\":{\"b\":\"d\",\"c\":null}}", "{\"a\":{\"b\":\"d\"}}"},
        {"{\"a\":[{\"b\":\"c\"}]}", "{\"a\":[1]}", "{\"a\":[1]}"},
        {"[\"a\",\"b\"]", "[\"c\",\"d\"]", "[\"c\",\"d\"]"},
        {"{\"a\":\"b\"}", "[\"c\"]", "[\"c\"]"},
        {"{\"a\":\"foo\"}", "null", "null"},
        {"{\"a\":\"foo\"}", "\"bar\"", "\"bar\""},
        {"{\"e\":null}", "{\"a\":1}", "{\"e\":null,\"a\":1}"},
        {"[1,2]", "{\"a\":\"b\",\"c\":null}", "{\"a\":\"b\"}"},
        {"{}", "{\"a\":{\"bb\":{\"ccc\":null}}}", "{\"a\":{\"bb\":{}}}"},
        /* section 3's example */
        {"{\"title\":\"Goodbye!\",\"author\":{\"givenName\":\"John\",\"familyName\":\"Doe\"},"
         "\"tags\":[\"example\",\"sample\"],\"content\":\"This will be unchanged\"}",
         "{\"title\":\"Hello!\",\"phoneNumber\":\"+01-123-456-7890\",\"author\":{\"familyName\":"
         "null},\"tags\":[\"example\"]}",
         "{\"title\":\"Hello!\",\"author\":{\"givenName\":\"John\"},\"tags\":[\"example\"],"
         "\"content\":\"This will be unchanged\",\"phoneNumber\":\"+01-123-456-7890\"}"},
    };
    for (size_t i = 0; i < KN_ARRAY_SIZE(cases); i++) {
        cleanup_cjson cJSON *target = J(cases[i][0]);
        cleanup_cjson cJSON *patch = J(cases[i][1]);
        cleanup_free char *before = kn_json_print(target);
        cleanup_cjson cJSON *result = kn_json_merge_patch_apply(target, patch);
        ASSERT_JSON_EQ(result, cases[i][2]);
        cleanup_free char *after = kn_json_print(target);
        KT_ASSERT_STREQ(after, before); /* inputs untouched */
    }
    cleanup_cjson cJSON *p = J("{\"a\":1,\"b\":null}");
    cleanup_cjson cJSON *fromnull = kn_json_merge_patch_apply(NULL, p);
    ASSERT_JSON_EQ(fromnull, "{\"a\":1}");
}

KT_TEST(json, merge_patch_create_roundtrips)
{
    static const char *const cases[][3] = {
        {"{\"a\":1,\"b\":{\"c\":2,\"d\":3},\"e\":[1]}", "{\"a\":1,\"b\":{\"c\":5},\"e\":[1,2]}",
         "{\"b\":{\"c\":5,\"d\":null},\"e\":[1,2]}"},
        {"{\"a\":1}", "{\"a\":1}", "{}"},
        {"{\"a\":{\"x\":1}}", "{\"a\":\"s\",\"n\":{\"m\":{}}}", "{\"a\":\"s\",\"n\":{\"m\":{}}}"},
        {"{\"a\":1}", "[1,2]", "[1,2]"},
        {"[1]", "{\"a\":1}", "{\"a\":1}"},
        {"3", "4", "4"},
    };
    for (size_t i = 0; i < KN_ARRAY_SIZE(cases); i++) {
        cleanup_cjson cJSON *orig = J(cases[i][0]);
        cleanup_cjson cJSON *mod = J(cases[i][1]);
        cleanup_cjson cJSON *patch = kn_json_merge_patch_create(orig, mod);
        ASSERT_JSON_EQ(patch, cases[i][2]);
        cleanup_cjson cJSON *applied = kn_json_merge_patch_apply(orig, patch);
        KT_ASSERT(kn_json_equal(applied, mod));
    }
}

/* ---- JSON pointer: RFC 6901 section 5 ---- */

KT_TEST(json, pointer_rfc6901_examples)
{
    cleanup_cjson cJSON *doc =
        J("{\"foo\":[\"bar\",\"baz\"],\"\":0,\"a/b\":1,\"c%d\":2,\"e^f\":3,\"g|h\":4,"
          "\"i\\\\j\":5,\"k\\\"l\":6,\" \":7,\"m~n\":8}");
    static const struct {
        const char *ptr;
        const char *want;
    } cases[] = {{"/foo", "[\"bar\",\"baz\"]"},
                 {"/foo/0", "\"bar\""},
                 {"/", "0"},
                 {"/a~1b", "1"},
                 {"/c%d", "2"},
                 {"/e^f", "3"},
                 {"/g|h", "4"},
                 {"/i\\j", "5"},
                 {"/k\"l", "6"},
                 {"/ ", "7"},
                 {"/m~0n", "8"}};
    kn_error *err = NULL;
    const cJSON *v;
    for (size_t i = 0; i < KN_ARRAY_SIZE(cases); i++) {
        KT_ASSERT_OK(kn_json_pointer_get(doc, cases[i].ptr, &v, &err), err);
        ASSERT_JSON_EQ(v, cases[i].want);
    }
    KT_ASSERT_OK(kn_json_pointer_get(doc, "", &v, &err), err);
    KT_ASSERT(v == doc);
    const char *missing[] = {"/foo/2", "/foo/-", "/foo/01", "/nope", "/foo/0/x"};
    for (size_t i = 0; i < KN_ARRAY_SIZE(missing); i++) {
        KT_ASSERT(kn_json_pointer_get(doc, missing[i], &v, &err) < 0);
        KT_ASSERT_EQ(kn_error_code(err), KN_ENOTFOUND);
        kn_error_free(&err);
    }
    KT_ASSERT(kn_json_pointer_get(doc, "foo", &v, &err) < 0);
    KT_ASSERT_EQ(kn_error_code(err), KN_EINVAL);
    kn_error_free(&err);
    KT_ASSERT(kn_json_pointer_get(doc, "/m~2n", &v, &err) < 0);
    KT_ASSERT_CONTAINS(kn_error_msg(err), "'~' must be followed by 0 or 1");
    kn_error_free(&err);
    cleanup_free char *esc = kn_json_pointer_escape("a/b~c/");
    KT_ASSERT_STREQ(esc, "a~1b~0c~1");
}

/* ---- JSON patch: RFC 6902 appendix A ---- */

/* Applies patch to doc; returns the printed result or NULL (message in *msg). */
static char *patch_run(const char *doc_s, const char *patch_s, kn_errcode *code)
{
    cleanup_cjson cJSON *doc = J(doc_s);
    cleanup_cjson cJSON *patch = J(patch_s);
    cleanup_free char *before = kn_json_print(doc);
    cJSON *out = (cJSON *)0x1;
    kn_error *err = NULL;
    int r = kn_json_patch_apply(doc, patch, &out, &err);
    cleanup_free char *after = kn_json_print(doc);
    KT_ASSERT_STREQ(after, before); /* the input is never modified */
    if (r < 0) {
        KT_ASSERT(out == (cJSON *)0x1); /* untouched on failure */
        KT_ASSERT_EQ(r, -(int)kn_error_code(err));
        if (code)
            *code = kn_error_code(err);
        char *msg = xstrdup(kn_error_msg(err));
        kn_error_free(&err);
        return msg;
    }
    if (code)
        *code = KN_OK;
    char *s = kn_json_print(out);
    cJSON_Delete(out);
    return s;
}

#define PATCH_OK(doc, patch, want)                                                                 \
    do {                                                                                           \
        kn_errcode c_;                                                                             \
        cleanup_free char *got_ = patch_run(doc, patch, &c_);                                      \
        KT_ASSERT_MSG(c_ == KN_OK, "patch failed: %s", got_);                                      \
        cleanup_cjson cJSON *g_ = J(got_);                                                         \
        ASSERT_JSON_EQ(g_, want);                                                                  \
    } while (0)

#define PATCH_FAILS(doc, patch, code_, msg_)                                                       \
    do {                                                                                           \
        kn_errcode c_;                                                                             \
        cleanup_free char *got_ = patch_run(doc, patch, &c_);                                      \
        KT_ASSERT_MSG(c_ != KN_OK, "patch succeeded: %s", got_);                                   \
        KT_ASSERT_EQ(c_, code_);                                                                   \
        KT_ASSERT_STREQ(got_, msg_);                                                               \
    } while (0)

KT_TEST(json, patch_rfc6902_examples)
{
    PATCH_OK("{\"foo\":\"bar\"}", "[{\"op\":\"add\",\"path\":\"/baz\",\"value\":\"qux\"}]",
             "{\"baz\":\"qux\",\"foo\":\"bar\"}"); /* A.1 */
    PATCH_OK("{\"foo\":[\"bar\",\"baz\"]}",
             "[{\"op\":\"add\",\"path\":\"/foo/1\",\"value\":\"qux\"}]",
             "{\"foo\":[\"bar\",\"qux\",\"baz\"]}"); /* A.2 */
    PATCH_OK("{\"baz\":\"qux\",\"foo\":\"bar\"}", "[{\"op\":\"remove\",\"path\":\"/baz\"}]",
             "{\"foo\":\"bar\"}"); /* A.3 */
    PATCH_OK("{\"foo\":[\"bar\",\"qux\",\"baz\"]}", "[{\"op\":\"remove\",\"path\":\"/foo/1\"}]",
             "{\"foo\":[\"bar\",\"baz\"]}"); /* A.4 */
    PATCH_OK("{\"baz\":\"qux\",\"foo\":\"bar\"}",
             "[{\"op\":\"replace\",\"path\":\"/baz\",\"value\":\"boo\"}]",
             "{\"baz\":\"boo\",\"foo\":\"bar\"}"); /* A.5 */
    PATCH_OK(
        "{\"foo\":{\"bar\":\"baz\",\"waldo\":\"fred\"},\"qux\":{\"corge\":\"grault\"}}",
        "[{\"op\":\"move\",\"from\":\"/foo/waldo\",\"path\":\"/qux/thud\"}]",
        "{\"foo\":{\"bar\":\"baz\"},\"qux\":{\"corge\":\"grault\",\"thud\":\"fred\"}}"); /* A.6 */
    PATCH_OK("{\"foo\":[\"all\",\"grass\",\"cows\",\"eat\"]}",
             "[{\"op\":\"move\",\"from\":\"/foo/1\",\"path\":\"/foo/3\"}]",
             "{\"foo\":[\"all\",\"cows\",\"eat\",\"grass\"]}"); /* A.7 */
    PATCH_OK("{\"baz\":\"qux\",\"foo\":[\"a\",2,\"c\"]}",
             "[{\"op\":\"test\",\"path\":\"/baz\",\"value\":\"qux\"},"
             "{\"op\":\"test\",\"path\":\"/foo/1\",\"value\":2}]",
             "{\"baz\":\"qux\",\"foo\":[\"a\",2,\"c\"]}"); /* A.8 */
    PATCH_FAILS("{\"baz\":\"qux\"}", "[{\"op\":\"test\",\"path\":\"/baz\",\"value\":\"bar\"}]",
                KN_ECONFLICT, "operation 0 (test /baz): test failed: value differs"); /* A.9 */
    PATCH_OK("{\"foo\":\"bar\"}",
             "[{\"op\":\"add\",\"path\":\"/child\",\"value\":{\"grandchild\":{}}}]",
             "{\"foo\":\"bar\",\"child\":{\"grandchild\":{}}}"); /* A.10 */
    PATCH_OK("{\"foo\":\"bar\"}",
             "[{\"op\":\"add\",\"path\":\"/baz\",\"value\":\"qux\",\"xyz\":123}]",
             "{\"foo\":\"bar\",\"baz\":\"qux\"}"); /* A.11 */
    PATCH_FAILS("{\"foo\":\"bar\"}", "[{\"op\":\"add\",\"path\":\"/baz/bat\",\"value\":\"qux\"}]",
                KN_EINVAL, "operation 0 (add /baz/bat): parent path not found"); /* A.12 */
    PATCH_OK("{\"/\":9,\"~1\":10}", "[{\"op\":\"test\",\"path\":\"/~01\",\"value\":10}]",
             "{\"/\":9,\"~1\":10}"); /* A.14 */
    PATCH_FAILS("{\"/\":9,\"~1\":10}", "[{\"op\":\"test\",\"path\":\"/~01\",\"value\":\"10\"}]",
                KN_ECONFLICT, "operation 0 (test /~01): test failed: value differs"); /* A.15 */
    PATCH_OK("{\"foo\":[\"bar\"]}",
             "[{\"op\":\"add\",\"path\":\"/foo/-\",\"value\":[\"abc\",\"def\"]}]",
             "{\"foo\":[\"bar\",[\"abc\",\"def\"]]}"); /* A.16 */
}

KT_TEST(json, patch_rfc6902_a13_duplicate_op)
{
    /* A.13: an operation with two "op" members is invalid: strict parsing
     * catches it; plain parsing keeps the last ("remove") */
    const char *p = "[{\"op\":\"add\",\"path\":\"/baz\",\"value\":\"qux\",\"op\":\"remove\"}]";
    KT_ASSERT_STREQ(parse_error(p, strlen(p), 0, KN_JSON_REJECT_DUPLICATES, NULL),
                    "duplicate field \"[0].op\"");
    PATCH_FAILS("{\"foo\":\"bar\"}", p, KN_EINVAL, "operation 0 (remove /baz): path not found");
}

KT_TEST(json, patch_operations_and_edges)
{
    /* replace / add at the root, test of the root */
    PATCH_OK("{\"a\":1}", "[{\"op\":\"replace\",\"path\":\"\",\"value\":[1]}]", "[1]");
    PATCH_OK("{\"a\":1}", "[{\"op\":\"add\",\"path\":\"\",\"value\":{\"b\":2}}]", "{\"b\":2}");
    PATCH_OK("[1]", "[{\"op\":\"test\",\"path\":\"\",\"value\":[1]}]", "[1]");
    /* add replaces an existing member; replace overwrites array slots */
    PATCH_OK("{\"a\":1}", "[{\"op\":\"add\",\"path\":\"/a\",\"value\":null}]", "{\"a\":null}");
    PATCH_OK("[1,2,3]", "[{\"op\":\"replace\",\"path\":\"/1\",\"value\":9}]", "[1,9,3]");
    PATCH_OK("[1,2]", "[{\"op\":\"add\",\"path\":\"/2\",\"value\":3}]", "[1,2,3]");
    PATCH_OK("[1,2]", "[{\"op\":\"add\",\"path\":\"/0\",\"value\":0}]", "[0,1,2]");
    /* copy and move, including a no-op move and a move out of an array */
    PATCH_OK("{\"a\":{\"b\":[1]}}", "[{\"op\":\"copy\",\"from\":\"/a/b\",\"path\":\"/c\"}]",
             "{\"a\":{\"b\":[1]},\"c\":[1]}");
    PATCH_OK("{\"a\":1}", "[{\"op\":\"move\",\"from\":\"/a\",\"path\":\"/a\"}]", "{\"a\":1}");
    PATCH_OK("{\"x\":[1,2],\"y\":[]}", "[{\"op\":\"move\",\"from\":\"/x/0\",\"path\":\"/y/-\"}]",
             "{\"x\":[2],\"y\":[1]}");
    PATCH_OK("{\"a\":{\"b\":1}}",
             "[{\"op\":\"move\",\"from\":\"/a\",\"path\":\"/a2\"},"
             "{\"op\":\"copy\",\"from\":\"/a2/b\",\"path\":\"/a2/c\"}]",
             "{\"a2\":{\"b\":1,\"c\":1}}");
    PATCH_OK("{\"a\":1}", "[]", "{\"a\":1}");
    /* tests compare deeply, objects in any order */
    PATCH_OK("{\"a\":{\"x\":[1,{\"y\":null}],\"z\":true}}",
             "[{\"op\":\"test\",\"path\":\"/a\",\"value\":{\"z\":true,\"x\":[1,{\"y\":null}]}}]",
             "{\"a\":{\"x\":[1,{\"y\":null}],\"z\":true}}");
}

KT_TEST(json, patch_errors_name_the_operation)
{
    const char *doc = "{\"a\":[1,2],\"s\":\"x\"}";
    PATCH_FAILS(doc, "{\"op\":\"add\"}", KN_EINVAL,
                "a JSON patch must be an array of operations, got object");
    PATCH_FAILS(doc, "[{\"op\":\"test\",\"path\":\"/s\",\"value\":\"x\"},7]", KN_EINVAL,
                "operation 1: not an object");
    PATCH_FAILS(doc, "[{\"path\":\"/a\"}]", KN_EINVAL, "operation 0: missing or non-string \"op\"");
    PATCH_FAILS(doc, "[{\"op\":\"add\",\"value\":1}]", KN_EINVAL,
                "operation 0 (add): missing or non-string \"path\"");
    PATCH_FAILS(doc, "[{\"op\":\"merge\",\"path\":\"/a\"}]", KN_EINVAL,
                "operation 0 (merge /a): unknown operation \"merge\"");
    PATCH_FAILS(doc, "[{\"op\":\"add\",\"path\":\"/a\"}]", KN_EINVAL,
                "operation 0 (add /a): missing \"value\"");
    PATCH_FAILS(doc, "[{\"op\":\"move\",\"path\":\"/a\"}]", KN_EINVAL,
                "operation 0 (move /a): missing or non-string \"from\"");
    PATCH_FAILS(doc, "[{\"op\":\"remove\",\"path\":\"a\"}]", KN_EINVAL,
                "operation 0 (remove a): invalid JSON pointer \"a\": must start with '/'");
    PATCH_FAILS(doc, "[{\"op\":\"remove\",\"path\":\"/a/2\"}]", KN_EINVAL,
                "operation 0 (remove /a/2): path not found");
    PATCH_FAILS(doc, "[{\"op\":\"remove\",\"path\":\"\"}]", KN_EINVAL,
                "operation 0 (remove \"\"): cannot remove the whole document");
    PATCH_FAILS(doc, "[{\"op\":\"replace\",\"path\":\"/b\",\"value\":1}]", KN_EINVAL,
                "operation 0 (replace /b): path not found");
    PATCH_FAILS(doc, "[{\"op\":\"replace\",\"path\":\"/a/-\",\"value\":1}]", KN_EINVAL,
                "operation 0 (replace /a/-): path not found");
    PATCH_FAILS(doc, "[{\"op\":\"add\",\"path\":\"/a/3\",\"value\":1}]", KN_EINVAL,
                "operation 0 (add /a/3): array index 3 out of bounds (size 2)");
    PATCH_FAILS(doc, "[{\"op\":\"add\",\"path\":\"/a/01\",\"value\":1}]", KN_EINVAL,
                "operation 0 (add /a/01): invalid array index \"01\"");
    PATCH_FAILS(doc, "[{\"op\":\"add\",\"path\":\"/s/x\",\"value\":1}]", KN_EINVAL,
                "operation 0 (add /s/x): cannot add a member to a string");
    PATCH_FAILS(doc, "[{\"op\":\"copy\",\"from\":\"/nope\",\"path\":\"/b\"}]", KN_EINVAL,
                "operation 0 (copy /b): from path /nope not found");
    PATCH_FAILS(doc, "[{\"op\":\"move\",\"from\":\"/a\",\"path\":\"/a/0\"}]", KN_EINVAL,
                "operation 0 (move /a/0): cannot move /a into its own child");
    PATCH_FAILS(doc, "[{\"op\":\"move\",\"from\":\"\",\"path\":\"/z\"}]", KN_EINVAL,
                "operation 0 (move /z): cannot move \"\" into its own child");
    PATCH_FAILS(doc, "[{\"op\":\"test\",\"path\":\"/q\",\"value\":1}]", KN_ECONFLICT,
                "operation 0 (test /q): test failed: path not found");
}

KT_TEST(json, patch_is_atomic)
{
    /* the first operations succeed on the working copy, the third fails:
     * nothing of it shows, and the input is unchanged (checked in patch_run) */
    PATCH_FAILS("{\"a\":1,\"list\":[1]}",
                "[{\"op\":\"remove\",\"path\":\"/a\"},{\"op\":\"add\",\"path\":\"/list/-\","
                "\"value\":2},{\"op\":\"test\",\"path\":\"/list/1\",\"value\":3}]",
                KN_ECONFLICT, "operation 2 (test /list/1): test failed: value differs");
}

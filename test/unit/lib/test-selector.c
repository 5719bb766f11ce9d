/* Unit tests for lib/selector: label selector strings and LabelSelector JSON
 * (apimachinery labels/selector_test.go and metav1 validation cases), field
 * selectors (fields/selector_test.go), with upstream's exact error texts. */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "lib/cleanup.h"
#include "lib/selector.h"
#include "lib/xalloc.h"
#include "test/runner/kt.h"

#define QNAME_ERR                                                                                  \
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "    \
    "alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for "         \
    "validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
#define VALUE_ERR                                                                                  \
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or "    \
    "'.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or "             \
    "'my_value',  or '12345', regex used for validation is "                                       \
    "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
#define DNS_ERR                                                                                    \
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "   \
    "'.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used "  \
    "for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"

static kn_label_selector *must_parse(const char *s)
{
    kn_label_selector *sel = NULL;
    kn_error *err = NULL;
    if (kn_label_selector_parse(s, &sel, &err) < 0)
        KT_FAIL("parse \"%s\": %s", s, kn_error_msg(err));
    return sel;
}

/* String() of the parsed selector, and of its reparse. */
static void check_string(const char *in, const char *want)
{
    kn_label_selector *sel = must_parse(in);
    cleanup_free char *got = kn_label_selector_string(sel);
    KT_ASSERT_MSG(strcmp(got, want) == 0, "\"%s\": String() \"%s\", want \"%s\"", in, got, want);
    kn_label_selector *again = must_parse(got);
    cleanup_free char *got2 = kn_label_selector_string(again);
    KT_ASSERT_STREQ(got2, want);
    kn_label_selector_free(again);
    kn_label_selector_free(sel);
}

KT_TEST(selector, label_parse_and_string)
{
    static const char *const t[][2] = {
        {"", ""},
        {"x=a,y=b,z=c", "x=a,y=b,z=c"},
        {"x!=a,y=b", "x!=a,y=b"},
        {"y=b,x!=a", "x!=a,y=b"},
        {"x=", "x="},
        {"x= ", "x="},
        {"x=,z= ", "x=,z="},
        {"x= ,z= ", "x=,z="},
        {"!x", "!x"},
        {"x>1", "x>1"},
        {"x>1,z<5", "x>1,z<5"},
        {"x==a", "x==a"},
        {"  x  =  a  ", "x=a"},
        {"\tx\n=\ra", "x=a"},
        {"x in (a,b,c)", "x in (a,b,c)"},
        {"x in (c,b,a)", "x in (a,b,c)"},
        {"x in (a,a)", "x in (a)"},
        {" x in ( a , b ) ", "x in (a,b)"},
        {"x in(a)", "x in (a)"},
        {"x notin(b,a)", "x notin (a,b)"},
        {"x in (foo,,baz),y,z notin ()", "x in (,baz,foo),y,z notin ()"},
        {"x in (,a)", "x in (,a)"},
        {"x in (a,)", "x in (,a)"},
        {"x in (,)", "x in ()"},
        {"x in (a,,,b)", "x in (,a,b)"},
        {"in=5", "in=5"},
        {"x=in", "x=in"},
        {"x in (in,notin)", "x in (in,notin)"},
        {"notin notin (a)", "notin notin (a)"},
        {"in", "in"},
        {"!in", "!in"},
        {"example.com/x=a", "example.com/x=a"},
        {"a.b-c_d=E.f-1", "a.b-c_d=E.f-1"},
        {"x,x=a,x!=b", "x,x=a,x!=b"},
        {"b=1,a=2,b!=3,a", "a=2,a,b=1,b!=3"},
        {"!x,y", "!x,y"},
        {"k8s.io/app in (web), tier notin (db,cache)", "k8s.io/app in (web),tier notin (cache,db)"},
    };
    for (size_t i = 0; i < KN_ARRAY_SIZE(t); i++)
        check_string(t[i][0], t[i][1]);
}

static void check_parse_error(const char *in, const char *want)
{
    kn_label_selector *sel = NULL;
    cleanup_error kn_error *err = NULL;
    KT_ASSERT_MSG(kn_label_selector_parse(in, &sel, &err) == -KN_EINVAL, "\"%s\" parsed", in);
    KT_ASSERT(sel == NULL);
    KT_ASSERT_MSG(strcmp(kn_error_msg(err), want) == 0, "\"%s\":\n  got  %s\n  want %s", in,
                  kn_error_msg(err), want);
}

KT_TEST(selector, label_parse_errors)
{
    static const char *const t[][2] = {
        {"x=a||y=b",
         "unable to parse requirement: values[0][x]: Invalid value: \"a||y\": " VALUE_ERR},
        {"x==a==b", "found '==', expected: ',' or 'end of string'"},
        {"!x=a", "found '=', expected: ',' or 'end of string'"},
        {"x=a b", "found 'b', expected: ',' or 'end of string'"},
        {"x<a", "unable to parse requirement: values[0]: Invalid value: \"a\": for 'Gt', 'Lt' "
                "operators, the value must be an integer"},
        {"x>", "unable to parse requirement: values[0]: Invalid value: \"\": for 'Gt', 'Lt' "
               "operators, the value must be an integer"},
        {"x>-1", "unable to parse requirement: values[0][x]: Invalid value: \"-1\": " VALUE_ERR},
        {"x>-",
         "unable to parse requirement: [values[0]: Invalid value: \"-\": for 'Gt', 'Lt' "
         "operators, the value must be an integer, values[0][x]: Invalid value: \"-\": " VALUE_ERR
         "]"},
        {"x in (a", "unable to parse requirement: found '', expected: ',' or ')'"},
        {"x in a", "unable to parse requirement: found 'a' expected: '('"},
        {"x in", "unable to parse requirement: found '' expected: '('"},
        {"x in (", "unable to parse requirement: found '', expected: ',', ')' or identifier"},
        {"x in (=)", "unable to parse requirement: found '=', expected: ',', ')' or identifier"},
        {"x in (a,=)", "unable to parse requirement: found '=', expected: ',', or identifier"},
        {"x in (a b)", "unable to parse requirement: found 'b', expected: ',' or ')'"},
        {"x in (a,b", "unable to parse requirement: found '', expected: ',' or ')'"},
        {"x y", "unable to parse requirement: found 'y', expected: in, notin, =, ==, !=, gt, lt"},
        {"x=(a)", "unable to parse requirement: found '(', expected: identifier"},
        {"=a", "found '=', expected: !, identifier, or 'end of string'"},
        {"(x)", "found '(', expected: !, identifier, or 'end of string'"},
        {"x,", "found '', expected: identifier after ','"},
        {"x,,y", "found ',', expected: identifier after ','"},
        {"!", "unable to parse requirement: found '', expected: identifier"},
        {"!!x", "unable to parse requirement: found '!', expected: identifier"},
        {"-x=a", "unable to parse requirement: <nil>: Invalid value: \"-x\": name part " QNAME_ERR},
        {"a/b/c=d", "unable to parse requirement: <nil>: Invalid value: \"a/b/c\": a qualified "
                    "name " QNAME_ERR " with an optional DNS subdomain prefix and '/' (e.g. "
                    "'example.com/MyName')"},
        {"/a=b", "unable to parse requirement: <nil>: Invalid value: \"/a\": prefix part must be "
                 "non-empty"},
        {"A.com/a=b", "unable to parse requirement: <nil>: Invalid value: \"A.com/a\": prefix "
                      "part " DNS_ERR},
        {"a/=b", "unable to parse requirement: <nil>: Invalid value: \"a/\": name part must be "
                 "non-empty; name part " QNAME_ERR},
        {"x=\"a\"",
         "unable to parse requirement: values[0][x]: Invalid value: \"\\\"a\\\"\": " VALUE_ERR},
        {"x=a\x01",
         "unable to parse requirement: values[0][x]: Invalid value: \"a\\x01\": " VALUE_ERR},
        {"x=\xc3\xa9",
         "unable to parse requirement: values[0][x]: Invalid value: \"\xc3\xa9\": " VALUE_ERR},
        {"x=\xff",
         "unable to parse requirement: values[0][x]: Invalid value: \"\\xff\": " VALUE_ERR},
        {"x\v=a",
         "unable to parse requirement: <nil>: Invalid value: \"x\\v\": name part " QNAME_ERR},
    };
    for (size_t i = 0; i < KN_ARRAY_SIZE(t); i++)
        check_parse_error(t[i][0], t[i][1]);
    char key[80], sel[200];
    memset(key, 'a', 64);
    key[64] = '\0';
    snprintf(sel, sizeof(sel), "%s=b", key);
    cleanup_free char *want = xasprintf("unable to parse requirement: <nil>: Invalid value: "
                                        "\"%s\": name part must be no more than 63 characters",
                                        key);
    check_parse_error(sel, want);
    snprintf(sel, sizeof(sel), "x=%s", key);
    cleanup_free char *want2 = xasprintf("unable to parse requirement: values[0][x]: Invalid "
                                         "value: \"%s\": must be no more than 63 characters",
                                         key);
    check_parse_error(sel, want2);
    key[63] = '\0'; /* 63 is fine for both */
    snprintf(sel, sizeof(sel), "%s=%s", key, key);
    kn_label_selector_free(must_parse(sel));
}

static bool matches(const char *selector, const kn_label *labels, size_t n)
{
    kn_label_selector *sel = must_parse(selector);
    bool m = kn_label_selector_matches(sel, labels, n);
    kn_label_selector_free(sel);
    return m;
}

#define L(...) ((const kn_label[]){__VA_ARGS__})
#define N(...) (sizeof((const kn_label[]){__VA_ARGS__}) / sizeof(kn_label))
#define MATCH(sel, ...) matches(sel, L(__VA_ARGS__), N(__VA_ARGS__))

KT_TEST(selector, label_matching)
{
    const kn_label none[1] = {{"unused", "x"}};
    KT_ASSERT(matches("", none, 0));
    KT_ASSERT(MATCH("", {"x", "y"}));
    KT_ASSERT(MATCH("x=y", {"x", "y"}));
    KT_ASSERT(MATCH("x==y", {"x", "y"}));
    KT_ASSERT(!MATCH("x=y", {"x", "z"}));
    KT_ASSERT(!matches("x=y", none, 0));
    KT_ASSERT(MATCH("x!=y", {"x", "z"}));
    KT_ASSERT(matches("x!=y", none, 0));
    KT_ASSERT(!MATCH("x!=y", {"x", "y"}));
    KT_ASSERT(MATCH("x in (y,z)", {"x", "z"}));
    KT_ASSERT(!MATCH("x in (y,z)", {"x", "w"}));
    KT_ASSERT(!matches("x in (y,z)", none, 0));
    KT_ASSERT(MATCH("x notin (y)", {"x", "z"}));
    KT_ASSERT(matches("x notin (y)", none, 0));
    KT_ASSERT(!MATCH("x notin (y)", {"x", "y"}));
    KT_ASSERT(MATCH("x", {"x", ""}));
    KT_ASSERT(!matches("x", none, 0));
    KT_ASSERT(matches("!x", none, 0));
    KT_ASSERT(!MATCH("!x", {"x", "a"}));
    KT_ASSERT(MATCH("x>1", {"x", "2"}));
    KT_ASSERT(!MATCH("x>1", {"x", "1"}));
    KT_ASSERT(!MATCH("x>1", {"x", "a"}));
    KT_ASSERT(!MATCH("x>1", {"x", ""}));
    KT_ASSERT(!matches("x>1", none, 0));
    KT_ASSERT(MATCH("x<1", {"x", "0"}));
    KT_ASSERT(MATCH("x<1", {"x", "-5"}));
    KT_ASSERT(MATCH("x>9223372036854775806", {"x", "9223372036854775807"}));
    KT_ASSERT(!MATCH("x>1", {"x", "9223372036854775808"}));
    KT_ASSERT(MATCH("x in ()", {"x", ""}));
    KT_ASSERT(!MATCH("x in ()", {"x", "a"}));
    KT_ASSERT(MATCH("x=", {"x", ""}));
    KT_ASSERT(MATCH("x=y,y=z", {"x", "y"}, {"y", "z"}));
    KT_ASSERT(!MATCH("x=y,y=z", {"x", "y"}, {"y", "w"}));
    KT_ASSERT(MATCH("app=web,tier in (fe,be),!canary", {"tier", "be"}, {"app", "web"}));
    KT_ASSERT(MATCH("x=a", {"x", "a"}, {"x", "b"})); /* the first of a duplicated key counts */
}

static const char *env_lookup(void *ud, const char *key)
{
    const char *const *kv = ud;
    for (; kv[0]; kv += 2)
        if (strcmp(kv[0], key) == 0)
            return kv[1];
    return NULL;
}

KT_TEST(selector, label_matching_callback_and_special_selectors)
{
    const char *labels[] = {"app", "web", "env", "prod", NULL};
    kn_label_selector *sel = must_parse("app=web,env notin (dev),!debug");
    KT_ASSERT(kn_label_selector_matches_fn(sel, env_lookup, labels));
    KT_ASSERT(!kn_label_selector_empty(sel));
    const char *v = NULL;
    KT_ASSERT(kn_label_selector_requires_exact_match(sel, "app", &v));
    KT_ASSERT_STREQ(v, "web");
    KT_ASSERT(!kn_label_selector_requires_exact_match(sel, "env", &v));
    KT_ASSERT(!kn_label_selector_requires_exact_match(sel, "zzz", &v));
    kn_label_selector_free(sel);
    sel = must_parse("x in (a),y in (a,b),z==c,x=b");
    KT_ASSERT(kn_label_selector_requires_exact_match(sel, "x", &v)); /* the first on x */
    KT_ASSERT_STREQ(v, "a");
    KT_ASSERT(!kn_label_selector_requires_exact_match(sel, "y", &v));
    KT_ASSERT(kn_label_selector_requires_exact_match(sel, "z", &v));
    KT_ASSERT_STREQ(v, "c");
    kn_label_selector_free(sel);

    kn_label_selector *all = kn_label_selector_everything(), *none = kn_label_selector_nothing();
    KT_ASSERT(kn_label_selector_matches_fn(all, env_lookup, labels));
    KT_ASSERT(!kn_label_selector_matches_fn(none, env_lookup, labels));
    KT_ASSERT(kn_label_selector_empty(all));
    KT_ASSERT(!kn_label_selector_empty(none));
    cleanup_free char *s1 = kn_label_selector_string(all), *s2 = kn_label_selector_string(none);
    KT_ASSERT_STREQ(s1, "");
    KT_ASSERT_STREQ(s2, "");
    kn_label_selector_free(all);
    kn_label_selector_free(none);
    kn_label_selector_free(NULL);

    const kn_label set[] = {{"tier", "fe"}, {"app", "web"}};
    sel = kn_label_selector_from_set(set, 2);
    cleanup_free char *s3 = kn_label_selector_string(sel);
    KT_ASSERT_STREQ(s3, "app=web,tier=fe");
    KT_ASSERT(kn_label_selector_matches(sel, set, 2));
    KT_ASSERT(!kn_label_selector_matches(sel, set, 1));
    kn_label_selector_free(sel);
    sel = kn_label_selector_from_set(set, 0);
    KT_ASSERT(kn_label_selector_empty(sel));
    kn_label_selector_free(sel);
    KT_ASSERT_STREQ(kn_selector_op_name(KN_SELECTOR_NOT_IN), "notin");
    KT_ASSERT_STREQ(kn_selector_op_name(KN_SELECTOR_GREATER_THAN), "gt");
}

KT_TEST(selector, label_key_and_value_validation)
{
    static const char *const good_keys[] = {"a",       "A",        "1", "a-b_c.d", "example.com/a",
                                            "a.b.c/D", "k8s.io/x1"};
    for (size_t i = 0; i < KN_ARRAY_SIZE(good_keys); i++) {
        cleanup_free char *e = kn_label_key_errors(good_keys[i]);
        KT_ASSERT_MSG(e == NULL, "%s: %s", good_keys[i], e);
    }
    static const char *const bad_keys[] = {
        "", "-a", "a-", "a b", "/a", "a/", "a//b", "-x.com/a", "x..com/a", "x.com./a", "X.com/a"};
    for (size_t i = 0; i < KN_ARRAY_SIZE(bad_keys); i++) {
        cleanup_free char *e = kn_label_key_errors(bad_keys[i]);
        KT_ASSERT_MSG(e != NULL, "%s accepted", bad_keys[i]);
    }
    cleanup_free char *empty = kn_label_key_errors("");
    KT_ASSERT_STREQ(empty, "name part must be non-empty; name part " QNAME_ERR);
    char prefix[300];
    memset(prefix, 'a', 254);
    strcpy(prefix + 254, "/x");
    cleanup_free char *long_prefix = kn_label_key_errors(prefix);
    KT_ASSERT_STREQ(long_prefix, "prefix part must be no more than 253 characters");
    prefix[253] = '/';
    prefix[254] = 'x';
    prefix[255] = '\0';
    cleanup_free char *ok_prefix = kn_label_key_errors(prefix);
    KT_ASSERT(ok_prefix == NULL);

    static const char *const good_values[] = {"", "a", "a-b_c.D", "1.0"};
    for (size_t i = 0; i < KN_ARRAY_SIZE(good_values); i++) {
        cleanup_free char *e = kn_label_value_errors(good_values[i]);
        KT_ASSERT_MSG(e == NULL, "%s: %s", good_values[i], e);
    }
    static const char *const bad_values[] = {"-a", "a-", "a/b", "a b", ".", "\xc3\xa9"};
    for (size_t i = 0; i < KN_ARRAY_SIZE(bad_values); i++) {
        cleanup_free char *e = kn_label_value_errors(bad_values[i]);
        KT_ASSERT_STREQ(e, VALUE_ERR);
    }
}

static kn_label_selector *from_json(const char *json, const char *path, kn_error **err)
{
    cJSON *j = json ? cJSON_Parse(json) : NULL;
    KT_ASSERT_MSG(!json || j, "bad test JSON %s", json);
    kn_label_selector *sel = NULL;
    int rc = kn_label_selector_from_json(j, path, &sel, err);
    cJSON_Delete(j);
    KT_ASSERT((rc == 0) == (sel != NULL));
    return sel;
}

static void check_json(const char *json, const char *want_string)
{
    cleanup_error kn_error *err = NULL;
    kn_label_selector *sel = from_json(json, NULL, &err);
    KT_ASSERT_MSG(sel, "%s: %s", json, kn_error_msg(err));
    cleanup_free char *s = kn_label_selector_string(sel);
    KT_ASSERT_MSG(strcmp(s, want_string) == 0, "%s: String() \"%s\", want \"%s\"", json, s,
                  want_string);
    kn_label_selector_free(sel);
}

KT_TEST(selector, label_selector_json)
{
    check_json("{}", "");
    check_json("{\"matchLabels\":{}}", "");
    check_json("{\"matchLabels\":null,\"matchExpressions\":[]}", "");
    check_json("{\"matchLabels\":{\"tier\":\"fe\",\"app\":\"web\"}}", "app=web,tier=fe");
    check_json("{\"matchLabels\":{\"a\":\"1\",\"a\":\"2\"}}", "a=2");
    check_json("{\"matchExpressions\":[{\"key\":\"env\",\"operator\":\"In\",\"values\":[\"prod\","
               "\"dev\"]},{\"key\":\"x\",\"operator\":\"Exists\"},{\"key\":\"y\",\"operator\":"
               "\"DoesNotExist\",\"values\":null},{\"key\":\"z\",\"operator\":\"NotIn\","
               "\"values\":[\"a\"]}]}",
               "env in (dev,prod),x,!y,z notin (a)");
    check_json("{\"matchLabels\":{\"b\":\"1\"},\"matchExpressions\":[{\"key\":\"a\",\"operator\":"
               "\"Exists\"},{\"key\":\"b\",\"operator\":\"In\",\"values\":[\"1\",\"2\"]}]}",
               "a,b=1,b in (1,2)");

    /* nil -> Nothing, {} -> Everything */
    cleanup_error kn_error *err = NULL;
    const kn_label labels[] = {{"app", "web"}};
    kn_label_selector *sel = from_json(NULL, NULL, &err);
    KT_ASSERT(sel->nothing && !kn_label_selector_matches(sel, labels, 1));
    KT_ASSERT(!kn_label_selector_empty(sel));
    kn_label_selector_free(sel);
    sel = from_json("null", NULL, &err);
    KT_ASSERT(sel->nothing);
    kn_label_selector_free(sel);
    sel = from_json("{}", NULL, &err);
    KT_ASSERT(!sel->nothing && kn_label_selector_matches(sel, labels, 1));
    KT_ASSERT(kn_label_selector_empty(sel));
    kn_label_selector_free(sel);
    sel = from_json("{\"matchExpressions\":[{\"key\":\"app\",\"operator\":\"NotIn\",\"values\":["
                    "\"web\"]}]}",
                    NULL, &err);
    KT_ASSERT(!kn_label_selector_matches(sel, labels, 1));
    KT_ASSERT(kn_label_selector_matches(sel, labels, 0));
    kn_label_selector_free(sel);
}

static void check_json_error(const char *json, const char *path, const char *want)
{
    cleanup_error kn_error *err = NULL;
    kn_label_selector *sel = from_json(json, path, &err);
    KT_ASSERT_MSG(sel == NULL, "%s accepted", json);
    KT_ASSERT_EQ(kn_error_code(err), KN_EINVAL);
    KT_ASSERT_MSG(strcmp(kn_error_msg(err), want) == 0, "%s:\n  got  %s\n  want %s", json,
                  kn_error_msg(err), want);
}

KT_TEST(selector, label_selector_json_errors)
{
    check_json_error("{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"In\",\"values\":[\"x\"]"
                     "},{\"key\":\"b\",\"operator\":\"Foo\"}]}",
                     NULL,
                     "matchExpressions[1].operator: Unsupported value: \"Foo\": supported values: "
                     "\"In\", \"NotIn\", \"Exists\", \"DoesNotExist\"");
    check_json_error("{\"matchExpressions\":[{\"key\":\"b\",\"operator\":\"in\"}]}",
                     "spec.selector",
                     "spec.selector.matchExpressions[0].operator: Unsupported value: \"in\": "
                     "supported values: \"In\", \"NotIn\", \"Exists\", \"DoesNotExist\"");
    check_json_error("{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"In\"}]}", NULL,
                     "matchExpressions[0].values: Required value: must be specified when "
                     "`operator` is 'In' or 'NotIn'");
    check_json_error("{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"NotIn\",\"values\":[]}"
                     "]}",
                     NULL,
                     "matchExpressions[0].values: Required value: must be specified when "
                     "`operator` is 'In' or 'NotIn'");
    check_json_error("{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"Exists\",\"values\":["
                     "\"x\"]}]}",
                     NULL,
                     "matchExpressions[0].values: Forbidden: may not be specified when `operator` "
                     "is 'Exists' or 'DoesNotExist'");
    check_json_error("{\"matchExpressions\":[{\"key\":\"-a\",\"operator\":\"Exists\"}]}", NULL,
                     "matchExpressions[0].key: Invalid value: \"-a\": name part " QNAME_ERR);
    check_json_error("{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"In\",\"values\":[\"ok\""
                     ",\"b c\"]}]}",
                     NULL, "matchExpressions[0].values[1]: Invalid value: \"b c\": " VALUE_ERR);
    check_json_error("{\"matchLabels\":{\"a/b/c\":\"x\"}}", NULL,
                     "matchLabels: Invalid value: \"a/b/c\": a qualified name " QNAME_ERR
                     " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')");
    check_json_error("{\"matchLabels\":{\"app\":\"-v\"}}", "spec.selector",
                     "spec.selector.matchLabels: Invalid value: \"-v\": " VALUE_ERR);
    check_json_error(
        "{\"matchLabels\":{\"\":\"v\"},\"matchExpressions\":[{\"operator\":\"X\"}]}", NULL,
        "[matchLabels: Invalid value: \"\": name part must be non-empty, matchLabels: "
        "Invalid value: \"\": name part " QNAME_ERR ", matchExpressions[0].operator: "
        "Unsupported value: \"X\": supported values: \"In\", \"NotIn\", \"Exists\", "
        "\"DoesNotExist\", matchExpressions[0].key: Invalid value: \"\": name part "
        "must be non-empty, matchExpressions[0].key: Invalid value: \"\": name part " QNAME_ERR
        "]");
    check_json_error("{\"matchLabels\":[]}", NULL, "matchLabels: must be an object of strings");
    check_json_error("{\"matchLabels\":{\"app\":1}}", NULL, "matchLabels[app]: must be a string");
    check_json_error("{\"matchExpressions\":{}}", NULL, "matchExpressions: must be an array");
    check_json_error("{\"matchExpressions\":[1]}", NULL, "matchExpressions[0]: must be an object");
    check_json_error("{\"matchExpressions\":[{\"key\":1,\"operator\":\"Exists\"}]}", NULL,
                     "[matchExpressions[0].key: must be a string, matchExpressions[0].key: Invalid "
                     "value: \"\": name part must be non-empty, matchExpressions[0].key: Invalid "
                     "value: \"\": name part " QNAME_ERR "]");
    check_json_error("{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"In\",\"values\":\"x\"}]"
                     "}",
                     NULL,
                     "[matchExpressions[0].values: must be an array of strings, "
                     "matchExpressions[0].values: Required value: must be specified when "
                     "`operator` is 'In' or 'NotIn']");
    check_json_error("[]", "spec.selector", "spec.selector: must be an object");
}

/* ---- field selectors ---------------------------------------------------------------- */

static kn_field_selector *must_parse_fields(const char *s)
{
    kn_field_selector *sel = NULL;
    kn_error *err = NULL;
    if (kn_field_selector_parse(s, &sel, &err) < 0)
        KT_FAIL("parse \"%s\": %s", s, kn_error_msg(err));
    return sel;
}

KT_TEST(selector, field_parse_and_string)
{
    static const char *const t[][2] = {
        {"", ""},
        {",,", ""},
        {"x=a,y=b,z=c", "x=a,y=b,z=c"},
        {"x!=a,y=b", "x!=a,y=b"},
        {"x=a||y\\=b", "x=a||y\\=b"},
        {"x=a\\=\\=b", "x=a\\=\\=b"},
        {"a==b", "a=b"},
        {"b=1,a!=2", "a!=2,b=1"},
        {"a=b\\,c", "a=b\\,c"},
        {"a=b\\\\c", "a=b\\\\c"},
        {"a = b", "a = b"},
        {"=x", "=x"},
        {"a=", "a="},
        {"metadata.name=x,status.phase!=Running,spec.nodeName==n",
         "metadata.name=x,spec.nodeName=n,status.phase!=Running"},
        {"a!b=c", "a!b=c"},
    };
    for (size_t i = 0; i < KN_ARRAY_SIZE(t); i++) {
        kn_field_selector *sel = must_parse_fields(t[i][0]);
        cleanup_free char *s = kn_field_selector_string(sel);
        KT_ASSERT_MSG(strcmp(s, t[i][1]) == 0, "\"%s\": String() \"%s\", want \"%s\"", t[i][0], s,
                      t[i][1]);
        kn_field_selector_free(sel);
    }
    kn_field_selector *sel = must_parse_fields("a=b\\,c,a!=x\\\\");
    KT_ASSERT_EQ(sel->n_terms, 2);
    KT_ASSERT_STREQ(sel->terms[0].field, "a");
    KT_ASSERT_STREQ(sel->terms[0].value, "x\\");
    KT_ASSERT(sel->terms[0].not_equal);
    KT_ASSERT_STREQ(sel->terms[1].value, "b,c");
    kn_field_selector_free(sel);
    /* whitespace belongs to the field and the value */
    sel = must_parse_fields("a = b");
    KT_ASSERT_STREQ(sel->terms[0].field, "a ");
    KT_ASSERT_STREQ(sel->terms[0].value, " b");
    kn_field_selector_free(sel);
    /* invalid UTF-8 is kept, except where Go's unescaping decodes runes */
    sel = must_parse_fields("a=\xff,b=\xff\\,");
    KT_ASSERT_STREQ(sel->terms[0].value, "\xff");
    KT_ASSERT_STREQ(sel->terms[1].value, "\xef\xbf\xbd,");
    kn_field_selector_free(sel);
    cleanup_free char *esc = kn_field_selector_escape_value("a,b=c\\d");
    KT_ASSERT_STREQ(esc, "a\\,b\\=c\\\\d");
}

KT_TEST(selector, field_parse_errors)
{
    static const char *const t[][2] = {
        {"x=a||y=b", "invalid field selector: unescaped character in value: 61"},
        {"x==a==b", "invalid field selector: unescaped character in value: 61"},
        {"x=a,b", "invalid selector: 'x=a,b'; can't understand 'b'"},
        {"x in (a)", "invalid selector: 'x in (a)'; can't understand 'x in (a)'"},
        {"x in (a,b,c)", "invalid selector: 'x in (a,b,c)'; can't understand 'b'"},
        {"x", "invalid selector: 'x'; can't understand 'x'"},
        {"a=b\\x", "invalid field selector: invalid escape sequence: \\x"},
        {"a=b\\", "invalid field selector: invalid escape sequence: \\"},
        {"a=\\\xc3\xa9", "invalid field selector: invalid escape sequence: \\\xc3\xa9"},
        {"a=\\\xff", "invalid field selector: invalid escape sequence: \\\xef\xbf\xbd"},
        {"a!=b=c", "invalid field selector: unescaped character in value: 61"},
        {"z=1,a=b\\q", "invalid field selector: invalid escape sequence: \\q"},
        {"z,a=b\\q", "invalid field selector: invalid escape sequence: \\q"},
    };
    for (size_t i = 0; i < KN_ARRAY_SIZE(t); i++) {
        kn_field_selector *sel = NULL;
        cleanup_error kn_error *err = NULL;
        KT_ASSERT_MSG(kn_field_selector_parse(t[i][0], &sel, &err) == -KN_EINVAL, "\"%s\" parsed",
                      t[i][0]);
        KT_ASSERT(sel == NULL);
        KT_ASSERT_MSG(strcmp(kn_error_msg(err), t[i][1]) == 0, "\"%s\": got %s, want %s", t[i][0],
                      kn_error_msg(err), t[i][1]);
    }
}

static const char *pod_fields(void *ud, const char *field)
{
    return env_lookup(ud, field);
}

static bool fields_match(const char *selector, const char **fields)
{
    kn_field_selector *sel = must_parse_fields(selector);
    bool m = kn_field_selector_matches(sel, pod_fields, fields);
    kn_field_selector_free(sel);
    return m;
}

KT_TEST(selector, field_matching)
{
    const char *pod[] = {"metadata.name",
                         "web-1",
                         "metadata.namespace",
                         "default",
                         "status.phase",
                         "Pending",
                         "spec.nodeName",
                         "node,a=1",
                         "spec.restartPolicy",
                         "",
                         NULL};
    KT_ASSERT(fields_match("", pod));
    KT_ASSERT(fields_match("metadata.name=web-1", pod));
    KT_ASSERT(fields_match("metadata.name==web-1", pod));
    KT_ASSERT(!fields_match("metadata.name=web-2", pod));
    KT_ASSERT(fields_match("status.phase!=Running", pod));
    KT_ASSERT(!fields_match("status.phase!=Pending", pod));
    KT_ASSERT(fields_match("spec.nodeName=node\\,a\\=1", pod));
    KT_ASSERT(fields_match("metadata.name=web-1,metadata.namespace=default", pod));
    KT_ASSERT(!fields_match("metadata.name=web-1,metadata.namespace=kube-system", pod));
    /* an absent field reads as "" */
    KT_ASSERT(fields_match("spec.serviceAccountName=", pod));
    KT_ASSERT(!fields_match("spec.serviceAccountName!=", pod));
    KT_ASSERT(fields_match("spec.serviceAccountName!=x", pod));
    KT_ASSERT(fields_match("spec.restartPolicy=", pod));

    kn_field_selector *sel = must_parse_fields("spec.nodeName=n1,status.phase!=Running");
    const char *v = NULL;
    KT_ASSERT(kn_field_selector_requires_exact_match(sel, "spec.nodeName", &v));
    KT_ASSERT_STREQ(v, "n1");
    KT_ASSERT(!kn_field_selector_requires_exact_match(sel, "status.phase", &v));
    KT_ASSERT(!kn_field_selector_empty(sel));
    kn_field_selector_free(sel);
    sel = must_parse_fields(",");
    KT_ASSERT(kn_field_selector_empty(sel));
    kn_field_selector_free(sel);
    kn_field_selector_free(NULL);
}

#include "lib/yaml.h"

#include <stdlib.h>
#include <string.h>

#include "lib/cleanup.h"
#include "lib/json.h"
#include "lib/strbuf.h"
#include "lib/xalloc.h"
#include "test/runner/kt.h"

static cJSON *J(const char *s)
{
    cJSON *doc = NULL;
    kn_error *err = NULL;
    if (kn_json_parse(s, strlen(s), 0, &doc, &err) < 0)
        KT_FAIL("bad expected JSON %s: %s", s, kn_error_msg(err));
    return doc;
}

/* Fails unless item equals the JSON text want. */
static void assert_json(const cJSON *item, const char *want, const char *what)
{
    cleanup_cjson cJSON *w = J(want);
    if (!kn_json_equal(item, w)) {
        cleanup_free char *got = kn_json_print(item);
        KT_FAIL("%s: got %s, want %s", what, got, want);
    }
}

/* Parses a single YAML document that must succeed. */
static cJSON *Y(const char *text, unsigned flags)
{
    cJSON *doc = NULL;
    kn_error *err = NULL;
    if (kn_yaml_parse(text, strlen(text), 0, "t.yaml", flags, &doc, &err) < 0)
        KT_FAIL("parse %s: %s", text, kn_error_msg(err));
    return doc;
}

static void yaml_is(const char *text, const char *want)
{
    cleanup_cjson cJSON *doc = Y(text, 0);
    assert_json(doc, want, text);
}

/* Parses text expecting failure; returns the message (static) and code. */
static const char *yaml_error(const char *text, size_t len, unsigned flags, kn_errcode *code)
{
    static char msg[512];
    kn_yaml_docs docs = {0};
    kn_error *err = NULL;
    if (kn_yaml_parse_stream(text, len, 0, "t.yaml", flags, &docs, &err) >= 0) {
        kn_yaml_docs_free(&docs);
        KT_FAIL("parse of \"%s\" succeeded, expected failure", text);
    }
    KT_ASSERT(docs.n == 0 && docs.docs == NULL);
    if (code)
        *code = kn_error_code(err);
    snprintf(msg, sizeof(msg), "%s", kn_error_msg(err));
    kn_error_free(&err);
    return msg;
}

#define YERR(text) yaml_error((text), strlen(text), 0, NULL)

KT_TEST(yaml, deployment)
{
    const char *text = "# a real manifest\n"
                       "apiVersion: apps/v1\n"
                       "kind: Deployment\n"
                       "metadata:\n"
                       "  name: web\n"
                       "  labels: {app: web, tier: \"frontend\"}\n"
                       "  annotations:\n"
                       "    example.com/note: |\n"
                       "      line one\n"
                       "      line two\n"
                       "spec:\n"
                       "  replicas: 3\n"
                       "  selector:\n"
                       "    matchLabels:\n"
                       "      app: web\n"
                       "  template:\n"
                       "    metadata:\n"
                       "      labels:\n"
                       "        app: web\n"
                       "    spec:\n"
                       "      containers:\n"
                       "      - name: nginx\n"
                       "        image: nginx:1.25\n"
                       "        args: [\"--port\", '8080', --debug]\n"
                       "        ports:\n"
                       "        - containerPort: 80\n"
                       "          protocol: TCP\n"
                       "        env:\n"
                       "        - name: ENABLED\n"
                       "          value: \"true\"\n"
                       "        - name: EMPTY\n"
                       "        resources:\n"
                       "          limits: {cpu: 500m, memory: 128Mi}\n"
                       "        readinessProbe:\n"
                       "          httpGet: {path: /healthz, port: 8080}\n"
                       "          periodSeconds: 2.5\n";
    yaml_is(text,
            "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"web\","
            "\"labels\":{\"app\":\"web\",\"tier\":\"frontend\"},\"annotations\":{"
            "\"example.com/note\":\"line one\\nline two\\n\"}},\"spec\":{\"replicas\":3,"
            "\"selector\":{\"matchLabels\":{\"app\":\"web\"}},\"template\":{\"metadata\":{"
            "\"labels\":{\"app\":\"web\"}},\"spec\":{\"containers\":[{\"name\":\"nginx\","
            "\"image\":\"nginx:1.25\",\"args\":[\"--port\",\"8080\",\"--debug\"],\"ports\":[{"
            "\"containerPort\":80,\"protocol\":\"TCP\"}],\"env\":[{\"name\":\"ENABLED\","
            "\"value\":\"true\"},{\"name\":\"EMPTY\"}],\"resources\":{\"limits\":{\"cpu\":"
            "\"500m\",\"memory\":\"128Mi\"}},\"readinessProbe\":{\"httpGet\":{\"path\":"
            "\"/healthz\",\"port\":8080},\"periodSeconds\":2.5}}]}}}}");
    cleanup_cjson cJSON *doc = Y(text, 0);
    kn_error *err = NULL;
    const char *image;
    KT_ASSERT_OK(kn_json_get_string(doc, "spec.template.spec.containers[0].image", &image, &err),
                 err);
    KT_ASSERT_STREQ(image, "nginx:1.25");
}

KT_TEST(yaml, multi_document_stream_skips_empty)
{
    const char *text = "# leading comment only\n"
                       "---\n"
                       "---\n"
                       "apiVersion: v1\n"
                       "kind: Namespace\n"
                       "metadata: {name: a}\n"
                       "---\n"
                       "# nothing but a comment\n"
                       "---\n"
                       "~\n"
                       "--- null\n"
                       "...\n"
                       "---\n"
                       "- 1\n"
                       "- two\n"
                       "--- plain scalar\n";
    cleanup_yaml_docs kn_yaml_docs docs = {0};
    kn_error *err = NULL;
    KT_ASSERT_OK(kn_yaml_parse_stream(text, strlen(text), 0, NULL, 0, &docs, &err), err);
    KT_ASSERT_EQ(docs.n, 3);
    assert_json(docs.docs[0],
                "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":"
                "\"a\"}}",
                "doc 0");
    assert_json(docs.docs[1], "[1,\"two\"]", "doc 1");
    assert_json(docs.docs[2], "\"plain scalar\"", "doc 2");

    kn_yaml_docs none = {0};
    KT_ASSERT_OK(kn_yaml_parse_stream("", 0, 0, NULL, 0, &none, &err), err);
    KT_ASSERT_EQ(none.n, 0);
    KT_ASSERT_OK(kn_yaml_parse_stream("---\n# x\n...\n", 12, 0, NULL, 0, &none, &err), err);
    KT_ASSERT_EQ(none.n, 0);
    kn_yaml_docs_free(&none);
    kn_yaml_docs_free(NULL);
}

KT_TEST(yaml, plain_scalars_resolve_like_go_yaml_v2)
{
    static const char *const cases[][2] = {
        {"true", "true"},
        {"True", "true"},
        {"TRUE", "true"},
        {"yes", "true"},
        {"Yes", "true"},
        {"YES", "true"},
        {"y", "true"},
        {"Y", "true"},
        {"on", "true"},
        {"On", "true"},
        {"ON", "true"},
        {"false", "false"},
        {"no", "false"},
        {"N", "false"},
        {"off", "false"},
        {"OFF", "false"},
        {"~", "null"},
        {"null", "null"},
        {"Null", "null"},
        {"NULL", "null"},
        {"", "null"},
        {"0", "0"},
        {"-0", "0"},
        {"42", "42"},
        {"+5", "5"},
        {"-17", "-17"},
        {"0x1F", "31"},
        {"0X1f", "31"},
        {"-0x1F", "-31"},
        {"+0x10", "16"},
        {"017", "15"},
        {"0o17", "15"},
        {"0O17", "15"},
        {"0b101", "5"},
        {"-0b11", "-3"},
        {"1_000", "1000"},
        {"1__0", "10"},
        {"08", "8"},
        {"09.5", "9.5"},
        {"1e3", "1000"},
        {"1E3", "1000"},
        {"1.", "1"},
        {".5", "0.5"},
        {"-.5", "-0.5"},
        {"+.5e1", "5"},
        {"0.1", "0.1"},
        {"1_e3", "1000"},
        {"6.02e+23", "6.02e23"},
        {"1e-400", "0"},
        {"-9223372036854775808", "-9223372036854775808"},
        {"9223372036854775808", "9223372036854775808"},
        {"18446744073709551615", "18446744073709551615"},
        {"99999999999999999999", "1e20"},
        {"1e400", "\"1e400\""},
        {"1:20", "\"1:20\""},
        {"2001-12-14", "\"2001-12-14\""},
        {"2001-12-14T21:59:43.10Z", "\"2001-12-14T21:59:43.10Z\""},
        {"0x", "\"0x\""},
        {"0b", "\"0b\""},
        {"0o", "\"0o\""},
        {"0x1G", "\"0x1G\""},
        {"_1", "\"_1\""},
        {"1.2.3", "\"1.2.3\""},
        {"nul", "\"nul\""},
        {"yes please", "\"yes please\""},
        {"<<", "\"<<\""},
        {"0x1p3", "\"0x1p3\""},
        {"+", "\"+\""},
        {"-.", "\"-.\""},
        {".", "\".\""},
        {"1e", "\"1e\""},
        {"Infinity", "\"Infinity\""},
        {"nan", "\"nan\""},
        {"500m", "\"500m\""},
        {"128Mi", "\"128Mi\""},
        {"1.5Gi", "\"1.5Gi\""},
        {"v1", "\"v1\""},
    };
    for (size_t i = 0; i < KN_ARRAY_SIZE(cases); i++) {
        cleanup_free char *text = xasprintf("v: %s\n", cases[i][0]);
        cleanup_free char *want = xasprintf("{\"v\":%s}", cases[i][1]);
        yaml_is(text, want);
    }
}

KT_TEST(yaml, quoted_and_block_scalars_stay_strings)
{
    yaml_is(
        "a: \"true\"\nb: '0x1F'\nc: \"\"\nd: '~'\ne: |\n  yes\nf: >-\n  12\n  34\n"
        "g: \"tab\\there\"\nh: 'it''s'\n",
        "{\"a\":\"true\",\"b\":\"0x1F\",\"c\":\"\",\"d\":\"~\",\"e\":\"yes\\n\",\"f\":\"12 34\","
        "\"g\":\"tab\\there\",\"h\":\"it's\"}");
    yaml_is("- \"\\u00e9\\x41\"\n- plain#not a comment\n- a # comment\n",
            "[\"\\u00e9A\",\"plain#not a comment\",\"a\"]");
}

KT_TEST(yaml, explicit_tags)
{
    yaml_is("a: !!str true\nb: !!str 0x10\nc: !!int \"42\"\nd: !!int 0x10\ne: !!float 1\n"
            "f: !!bool yes\ng: !!null ~\nh: !!null ''\ni: !foo 12\nj: ! 12\n"
            "k: !!binary aGVsbG8=\nl: !!binary |\n  aGVs\n  bG8=\nm: !!timestamp 2001-12-14\n"
            "nn: !!map {x: 1}\no: !<tag:yaml.org,2002:int> '7'\np: !!float '-.5'\n"
            "q: !!merge <<\n",
            "{\"a\":\"true\",\"b\":\"0x10\",\"c\":42,\"d\":16,\"e\":1,\"f\":true,\"g\":null,"
            "\"h\":null,\"i\":\"12\",\"j\":\"12\",\"k\":\"hello\",\"l\":\"hello\",\"m\":"
            "\"2001-12-14\",\"nn\":{\"x\":1},\"o\":7,\"p\":-0.5,\"q\":\"<<\"}");
    KT_ASSERT_STREQ(YERR("a: 1\nb: !!int abc\n"),
                    "t.yaml: line 2, column 4: cannot decode !!str `abc` as a !!int");
    KT_ASSERT_CONTAINS(YERR("b: !!bool 1"), "cannot decode !!int `1` as a !!bool");
    KT_ASSERT_CONTAINS(YERR("b: !!int 1.5"), "cannot decode !!float `1.5` as a !!int");
    KT_ASSERT_CONTAINS(YERR("b: !!null x"), "cannot decode !!str `x` as a !!null");
    KT_ASSERT_CONTAINS(YERR("b: !!float yes"), "cannot decode !!bool `yes` as a !!float");
    KT_ASSERT_CONTAINS(YERR("b: !!binary aGVsbG8"), "!!binary value contains invalid base64");
    KT_ASSERT_CONTAINS(YERR("b: !!binary a=GV"), "!!binary value contains invalid base64");
    KT_ASSERT_CONTAINS(YERR("b: !!binary AA=="), "a string with a NUL character");
    KT_ASSERT_CONTAINS(YERR("b: \"a\\0b\""), "line 1, column 4: a string with a NUL character");
}

KT_TEST(yaml, json_cannot_hold_inf_or_nan)
{
    KT_ASSERT_STREQ(YERR("a:\n  b: .inf\n"),
                    "t.yaml: line 2, column 6: .inf cannot be represented in JSON");
    KT_ASSERT_CONTAINS(YERR("- -.Inf"), "-.Inf cannot be represented in JSON");
    KT_ASSERT_CONTAINS(YERR("- .NaN"), ".NaN cannot be represented in JSON");
    KT_ASSERT_CONTAINS(YERR("- !!float .nan"), ".nan cannot be represented in JSON");
}

KT_TEST(yaml, mapping_keys_convert_like_sigs_k8s_yaml)
{
    yaml_is("1: a\n0x10: b\n1.5: c\n1e6: d\ntrue: e\nno: g\n.inf: h\n-.inf: i\n"
            "0.1: j\n1e-5: k\n100000: l\n123456.7: m\n3.0: en\n1e20: o\n-2: p\n.nan: q\n"
            "0.0001: r\n1234567.0: s\n\"2\": t\n",
            "{\"1\":\"a\",\"16\":\"b\",\"1.5\":\"c\",\"1e+06\":\"d\",\"true\":\"e\","
            "\"false\":\"g\",\".inf\":\"h\",\"-.inf\":\"i\",\"0.1\":\"j\",\"1e-05\":\"k\","
            "\"100000\":\"l\",\"123456.7\":\"m\",\"3\":\"en\",\"1e+20\":\"o\",\"-2\":\"p\","
            "\".nan\":\"q\",\"0.0001\":\"r\",\"1.234567e+06\":\"s\",\"2\":\"t\"}");
}

KT_TEST(yaml, yaml11_bool_keys)
{
    yaml_is("on: 1\nN: 2\n", "{\"true\":1,\"false\":2}");
}

KT_TEST(yaml, unsupported_keys)
{
    KT_ASSERT_STREQ(YERR("a: 1\n~: x\n"),
                    "t.yaml: line 2, column 1: unsupported mapping key: null");
    KT_ASSERT_CONTAINS(YERR("? \n: x\n"), "unsupported mapping key: null");
    KT_ASSERT_CONTAINS(YERR("18446744073709551615: x"),
                       "unsupported mapping key 18446744073709551615 (beyond int64)");
    KT_ASSERT_CONTAINS(YERR("{[a]: x}"), "line 1, column 2: invalid map key: a mapping or "
                                         "sequence cannot be a key");
    KT_ASSERT_CONTAINS(YERR("? {a: 1}\n: x\n"), "invalid map key");
    KT_ASSERT_CONTAINS(YERR("m: &m {a: 1}\n*m : x\n"),
                       "line 2, column 1: invalid map key: alias 'm' names a mapping or sequence");
}

KT_TEST(yaml, duplicate_keys)
{
    const char *text = "metadata:\n  name: a\n  labels: {}\n  name: b\n";
    kn_errcode code;
    KT_ASSERT_STREQ(yaml_error(text, strlen(text), 0, &code),
                    "t.yaml: line 4, column 3: duplicate key \"name\"");
    KT_ASSERT_EQ(code, KN_EINVAL);
    /* equal after conversion: 1 and "1", true and yes */
    KT_ASSERT_CONTAINS(YERR("1: a\n\"1\": b\n"), "line 2, column 1: duplicate key \"1\"");
    KT_ASSERT_CONTAINS(YERR("true: a\nyes: b\n"), "duplicate key \"true\"");
    KT_ASSERT_CONTAINS(YERR("0x10: a\n16: b\n"), "duplicate key \"16\"");
    /* last wins when allowed */
    cleanup_cjson cJSON *doc = Y(text, KN_YAML_ALLOW_DUPLICATES);
    assert_json(doc, "{\"metadata\":{\"labels\":{},\"name\":\"b\"}}", "allow duplicates");
    KT_ASSERT_EQ(cJSON_GetArraySize(cJSON_GetObjectItem(doc, "metadata")), 2);
    /* many keys in one mapping (the hash map grows) */
    kn_buf b = KN_BUF_INIT;
    for (int i = 0; i < 3000; i++)
        kn_buf_appendf(&b, "k%d: %d\n", i, i);
    cleanup_cjson cJSON *big = Y(b.data, 0);
    KT_ASSERT_EQ(cJSON_GetArraySize(big), 3000);
    kn_buf_append_str(&b, "k1234: again\n");
    KT_ASSERT_CONTAINS(yaml_error(b.data, b.len, 0, NULL), "line 3001, column 1: duplicate key "
                                                           "\"k1234\"");
    kn_buf_free(&b);
}

KT_TEST(yaml, anchors_and_aliases)
{
    yaml_is("defaults: &d {cpu: 100m, memory: 64Mi}\n"
            "list: &l [1, 2]\n"
            "name: &n web\n"
            "a: *d\n"
            "b: [*l, *l]\n"
            "c: *n\n"
            "*n : keyed by an alias\n"
            "num: &num 0x10\n"
            "*num : numeric alias key\n",
            "{\"defaults\":{\"cpu\":\"100m\",\"memory\":\"64Mi\"},\"list\":[1,2],\"name\":\"web\","
            "\"a\":{\"cpu\":\"100m\",\"memory\":\"64Mi\"},\"b\":[[1,2],[1,2]],\"c\":\"web\","
            "\"web\":\"keyed by an alias\",\"num\":16,\"16\":\"numeric alias key\"}");
    /* an anchor may be redefined; the latest definition counts */
    yaml_is("- &x 1\n- *x\n- &x two\n- *x\n", "[1,1,\"two\",\"two\"]");
    /* a node cannot contain itself: the anchor is not defined yet inside it */
    KT_ASSERT_STREQ(YERR("a: &a [1, *a]\n"),
                    "t.yaml: line 1, column 11: unknown anchor 'a' referenced");
    KT_ASSERT_CONTAINS(YERR("a: *nope\n"), "line 1, column 4: unknown anchor 'nope' referenced");
    /* anchors do not cross documents */
    const char *two = "a: &x 1\n---\nb: *x\n";
    KT_ASSERT_CONTAINS(yaml_error(two, strlen(two), 0, NULL), "line 3, column 4: unknown anchor");
    /* a replaced duplicate an anchor points at stays valid */
    cleanup_cjson cJSON *doc = Y("a: &v [1]\na: 2\nb: *v\n", KN_YAML_ALLOW_DUPLICATES);
    assert_json(doc, "{\"a\":2,\"b\":[1]}", "anchor on replaced value");
}

KT_TEST(yaml, merge_keys)
{
    yaml_is(
        "base: &base {a: 1, b: 2}\n"
        "m1:\n  <<: *base\n  b: 20\n"
        "m2:\n  b: 20\n  <<: *base\n  c: 3\n"
        "x: &x {k: x, x: 1}\n"
        "yy: &y {k: why, yy: 1}\n"
        "m3:\n  <<: [*x, *y]\n"
        "m4:\n  <<: {inline: true}\n  own: 1\n"
        "m5: &m5\n  <<: *x\n  z: 1\n"
        "m6:\n  <<: *m5\n"
        "m7:\n  \"<<\": not a merge\n",
        "{\"base\":{\"a\":1,\"b\":2},\"m1\":{\"b\":20,\"a\":1},\"m2\":{\"b\":20,\"c\":3,"
        "\"a\":1},\"x\":{\"k\":\"x\",\"x\":1},\"yy\":{\"k\":\"why\",\"yy\":1},\"m3\":{\"k\":\"x\","
        "\"x\":1,\"yy\":1},\"m4\":{\"own\":1,\"inline\":true},\"m5\":{\"z\":1,\"k\":\"x\","
        "\"x\":1},\"m6\":{\"z\":1,\"k\":\"x\",\"x\":1},\"m7\":{\"<<\":\"not a merge\"}}");
    /* an anchored inline merge source stays usable */
    yaml_is("m:\n  <<: &src {a: 1}\n  b: 2\nnn: *src\n",
            "{\"m\":{\"b\":2,\"a\":1},\"nn\":{\"a\":1}}");
    KT_ASSERT_STREQ(YERR("s: &s str\nm:\n  <<: *s\n"),
                    "t.yaml: line 3, column 7: map merge requires map or sequence of maps as the "
                    "value");
    KT_ASSERT_CONTAINS(YERR("m:\n  <<: [{a: 1}, 2]\n"), "map merge requires map or sequence");
}

KT_TEST(yaml, alias_expansion_is_bounded)
{
    /* "billion laughs": each level doubles ten times */
    kn_buf b = KN_BUF_INIT;
    kn_buf_append_str(&b, "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for (int i = 1; i < 10; i++)
        kn_buf_appendf(&b,
                       "a%d: &a%d [*a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d]\n",
                       i, i, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1);
    kn_errcode code;
    KT_ASSERT_CONTAINS(yaml_error(b.data, b.len, 0, &code), "document contains excessive aliasing");
    KT_ASSERT_EQ(code, KN_ETOOLARGE);
    kn_buf_free(&b);

    /* ordinary reuse is fine: 200 references to a 12-node anchor */
    kn_buf_append_str(&b, "base: &b {image: nginx, ports: [80, 443], env: {A: 1, B: 2}}\nitems:\n");
    for (int i = 0; i < 200; i++)
        kn_buf_append_str(&b, "- *b\n");
    cleanup_cjson cJSON *doc = Y(b.data, 0);
    KT_ASSERT_EQ(cJSON_GetArraySize(cJSON_GetObjectItem(doc, "items")), 200);
    kn_buf_free(&b);
}

KT_TEST(yaml, nesting_is_bounded)
{
    size_t n = KN_JSON_MAX_DEPTH;
    kn_buf b = KN_BUF_INIT;
    for (size_t i = 0; i < n; i++)
        kn_buf_append_char(&b, '[');
    for (size_t i = 0; i < n; i++)
        kn_buf_append_char(&b, ']');
    cleanup_cjson cJSON *ok = Y(b.data, 0);
    KT_ASSERT(cJSON_IsArray(ok));
    kn_buf_reset(&b);
    for (size_t i = 0; i < n + 1; i++)
        kn_buf_append_char(&b, '[');
    kn_errcode code;
    KT_ASSERT_CONTAINS(yaml_error(b.data, b.len, 0, &code), "line 1, column 1001: nesting deeper "
                                                            "than 1000 levels");
    KT_ASSERT_EQ(code, KN_ETOOLARGE);
    /* an alias may not push a copy past the limit either */
    kn_buf_reset(&b);
    kn_buf_append_str(&b, "a: &a ");
    for (size_t i = 0; i < 600; i++)
        kn_buf_append_char(&b, '[');
    for (size_t i = 0; i < 600; i++)
        kn_buf_append_char(&b, ']');
    kn_buf_append_str(&b, "\nb: ");
    for (size_t i = 0; i < 500; i++)
        kn_buf_append_char(&b, '[');
    kn_buf_append_str(&b, "*a");
    for (size_t i = 0; i < 500; i++)
        kn_buf_append_char(&b, ']');
    KT_ASSERT_CONTAINS(yaml_error(b.data, b.len, 0, NULL), "line 2, column 504: nesting deeper");
    kn_buf_free(&b);
}

KT_TEST(yaml, syntax_errors_have_positions)
{
    KT_ASSERT_STREQ(YERR("a: b: c\n"), "t.yaml: line 1, column 5: mapping values are not allowed "
                                       "in this context");
    KT_ASSERT_STREQ(YERR("a:\n  - b\n c: d\n"),
                    "t.yaml: line 3, column 2: did not find expected key (while parsing a block "
                    "mapping at line 1, column 1)");
    KT_ASSERT_CONTAINS(YERR("a: \"unterminated\n"), "line 2, column 1: found unexpected end of "
                                                    "stream (while scanning a quoted scalar at "
                                                    "line 1, column 4)");
    KT_ASSERT_CONTAINS(YERR("a:\n\tb: 1\n"), "line 2, column 1: found character that cannot "
                                             "start any token");
    KT_ASSERT_CONTAINS(YERR("[1, 2\n"), "line 2, column 1: did not find expected ',' or ']' "
                                        "(while parsing a flow sequence at line 1, column 1)");
    KT_ASSERT_CONTAINS(YERR("a: 1\nb: \xff\n"),
                       "t.yaml: line 2, column 4: invalid leading UTF-8 octet (byte 0xff at "
                       "offset 8)");
    KT_ASSERT_CONTAINS(YERR("a: \x01\n"), "control characters are not allowed");
    KT_ASSERT_CONTAINS(yaml_error("a: 1\0b", 6, 0, NULL), "line 1, column 5: control characters");
    /* without a name there is no prefix */
    kn_yaml_docs docs = {0};
    kn_error *err = NULL;
    KT_ASSERT(kn_yaml_parse_stream("a: b: c", 7, 0, NULL, 0, &docs, &err) < 0);
    KT_ASSERT_STREQ(kn_error_msg(err), "line 1, column 5: mapping values are not allowed in this "
                                       "context");
    kn_error_free(&err);
}

KT_TEST(yaml, size_limit)
{
    kn_yaml_docs docs = {0};
    kn_error *err = NULL;
    KT_ASSERT(kn_yaml_parse_stream("a: 1\n", 5, 4, "big.yaml", 0, &docs, &err) < 0);
    KT_ASSERT_EQ(kn_error_code(err), KN_ETOOLARGE);
    KT_ASSERT_STREQ(kn_error_msg(err),
                    "big.yaml: document of 5 bytes exceeds the limit of 4 bytes");
    kn_error_free(&err);
    cJSON *doc = NULL;
    KT_ASSERT(kn_yaml_parse("a: 1\n", 5, 4, NULL, 0, &doc, &err) < 0);
    KT_ASSERT_EQ(kn_error_code(err), KN_ETOOLARGE);
    kn_error_free(&err);
    KT_ASSERT(kn_yaml_or_json_parse("{}", 2, 1, NULL, 0, &docs, &err) < 0);
    KT_ASSERT_EQ(kn_error_code(err), KN_ETOOLARGE);
    kn_error_free(&err);
    KT_ASSERT_OK(kn_yaml_parse_stream("a: 1\n", 5, 5, NULL, 0, &docs, &err), err);
    kn_yaml_docs_free(&docs);
}

KT_TEST(yaml, single_document)
{
    cJSON *doc = NULL;
    kn_error *err = NULL;
    KT_ASSERT_OK(kn_yaml_parse("# empty\n", 8, 0, NULL, 0, &doc, &err), err);
    KT_ASSERT(cJSON_IsNull(doc));
    cJSON_Delete(doc);
    const char *text = "---\na: 1\n---\n---\nb: 2\n";
    KT_ASSERT(kn_yaml_parse(text, strlen(text), 0, "one.yaml", 0, &doc, &err) < 0);
    KT_ASSERT_STREQ(kn_error_msg(err), "one.yaml: line 4, column 1: expected a single document, "
                                       "found another here");
    kn_error_free(&err);
    text = "---\na: 1\n---\n# only a comment\n";
    KT_ASSERT_OK(kn_yaml_parse(text, strlen(text), 0, NULL, 0, &doc, &err), err);
    assert_json(doc, "{\"a\":1}", "single");
    cJSON_Delete(doc);
}

KT_TEST(yaml, yaml_or_json)
{
    cleanup_yaml_docs kn_yaml_docs docs = {0};
    kn_error *err = NULL;
    const char *json = " \n\t{\"kind\":\"Pod\",\"spec\":{\"containers\":[{\"name\":\"a\"}]}}\n";
    KT_ASSERT_OK(kn_yaml_or_json_parse(json, strlen(json), 0, "p.json", 0, &docs, &err), err);
    KT_ASSERT_EQ(docs.n, 1);
    assert_json(docs.docs[0], "{\"kind\":\"Pod\",\"spec\":{\"containers\":[{\"name\":\"a\"}]}}",
                "json");
    kn_yaml_docs_free(&docs);
    KT_ASSERT_OK(kn_yaml_or_json_parse("[1,{}]", 6, 0, NULL, 0, &docs, &err), err);
    assert_json(docs.docs[0], "[1,{}]", "json array");
    kn_yaml_docs_free(&docs);
    /* JSON-like YAML falls back to the YAML parser */
    const char *flow = "{kind: Pod, # comment\n metadata: {name: x,},}\n";
    KT_ASSERT_OK(kn_yaml_or_json_parse(flow, strlen(flow), 0, NULL, 0, &docs, &err), err);
    assert_json(docs.docs[0], "{\"kind\":\"Pod\",\"metadata\":{\"name\":\"x\"}}", "flow");
    kn_yaml_docs_free(&docs);
    const char *stream = "{\"a\": 1}\n---\n{\"b\": 2}\n";
    KT_ASSERT_OK(kn_yaml_or_json_parse(stream, strlen(stream), 0, NULL, 0, &docs, &err), err);
    KT_ASSERT_EQ(docs.n, 2);
    kn_yaml_docs_free(&docs);
    /* plain YAML */
    KT_ASSERT_OK(kn_yaml_or_json_parse("a: [1]\n", 7, 0, NULL, 0, &docs, &err), err);
    assert_json(docs.docs[0], "{\"a\":[1]}", "yaml");
    kn_yaml_docs_free(&docs);
    /* duplicates follow the flag on the JSON path too, with a YAML position */
    const char *dup = "{\"a\": 1,\n \"a\": 2}";
    KT_ASSERT(kn_yaml_or_json_parse(dup, strlen(dup), 0, "d.json", 0, &docs, &err) < 0);
    KT_ASSERT_STREQ(kn_error_msg(err), "d.json: line 2, column 2: duplicate key \"a\"");
    kn_error_free(&err);
    KT_ASSERT_OK(
        kn_yaml_or_json_parse(dup, strlen(dup), 0, NULL, KN_YAML_ALLOW_DUPLICATES, &docs, &err),
        err);
    assert_json(docs.docs[0], "{\"a\":2}", "json duplicates allowed");
    kn_yaml_docs_free(&docs);
    /* broken JSON: the YAML parser's positioned error */
    const char *bad = "{\"a\": [1, 2}";
    KT_ASSERT(kn_yaml_or_json_parse(bad, strlen(bad), 0, "b.json", 0, &docs, &err) < 0);
    KT_ASSERT_CONTAINS(kn_error_msg(err), "b.json: line 1, column 12: did not find expected ',' "
                                          "or ']'");
    kn_error_free(&err);
    KT_ASSERT(docs.n == 0);
}

KT_TEST(yaml, kubeconfig_like)
{
    const char *text = "apiVersion: v1\n"
                       "kind: Config\n"
                       "clusters:\n"
                       "- name: local\n"
                       "  cluster:\n"
                       "    server: https://127.0.0.1:6443\n"
                       "    certificate-authority-data: LS0tLS1CRUdJTi==\n"
                       "    insecure-skip-tls-verify: false\n"
                       "users:\n"
                       "- name: admin\n"
                       "  user:\n"
                       "    token: 0123456789\n"
                       "contexts:\n"
                       "- context: {cluster: local, user: admin, namespace: default}\n"
                       "  name: local\n"
                       "current-context: local\n"
                       "preferences: {}\n";
    cleanup_cjson cJSON *doc = Y(text, 0);
    kn_error *err = NULL;
    const char *s;
    bool b = true;
    double tok;
    KT_ASSERT_OK(kn_json_get_string(doc, "clusters[0].cluster.server", &s, &err), err);
    KT_ASSERT_STREQ(s, "https://127.0.0.1:6443");
    KT_ASSERT_OK(
        kn_json_get_bool(doc, "clusters[0].cluster[\"insecure-skip-tls-verify\"]", &b, &err), err);
    KT_ASSERT(!b);
    KT_ASSERT_OK(kn_json_get_string(doc, "current-context", &s, &err), err);
    KT_ASSERT_STREQ(s, "local");
    /* an unquoted token of digits is a number, as with Kubernetes: a
     * kubeconfig must quote it (the getter reports the mismatch) */
    KT_ASSERT_OK(kn_json_get_double(doc, "users[0].user.token", &tok, &err), err);
    KT_ASSERT(tok == 123456789.0);
    KT_ASSERT(kn_json_get_string(doc, "users[0].user.token", &s, &err) < 0);
    KT_ASSERT_STREQ(kn_error_msg(err), "users[0].user.token: expected string, got number");
    kn_error_free(&err);
}

/* Kubernetes protobuf bodies to JSON: the bodies kubectl 1.33 really sends
 * (captured from its `create` commands) against the JSON kubectl prints for
 * the same objects, every value kind with Go's omitempty rules on a test
 * schema, merging, and every way a body can be malformed. Bodies are built
 * with a small protobuf writer below. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "controlplane/kproto.h"
#include "controlplane/kschema.h"
#include "lib/json.h"
#include "lib/strbuf.h"
#include "lib/xalloc.h"
#include "test/runner/kt.h"

/* ---- a protobuf writer -------------------------------------------------- */

static void w_varint(kn_buf *b, uint64_t v)
{
    while (v >= 0x80) {
        kn_buf_append_char(b, (char)(v | 0x80));
        v >>= 7;
    }
    kn_buf_append_char(b, (char)v);
}

static void w_tag(kn_buf *b, uint32_t num, int wire)
{
    w_varint(b, (uint64_t)num << 3 | (unsigned)wire);
}

static void w_uint(kn_buf *b, uint32_t num, uint64_t v)
{
    w_tag(b, num, 0);
    w_varint(b, v);
}

static void w_fixed64(kn_buf *b, uint32_t num, uint64_t v)
{
    w_tag(b, num, 1);
    for (int i = 0; i < 8; i++)
        kn_buf_append_char(b, (char)(v >> (8 * i)));
}

static void w_len(kn_buf *b, uint32_t num, const void *p, size_t n)
{
    w_tag(b, num, 2);
    w_varint(b, n);
    kn_buf_append(b, p, n);
}

static void w_str(kn_buf *b, uint32_t num, const char *s)
{
    w_len(b, num, s, strlen(s));
}

/* Appends sub as a message field and empties it for reuse. */
static void w_msg(kn_buf *b, uint32_t num, kn_buf *sub)
{
    w_len(b, num, sub->data, sub->len);
    kn_buf_reset(sub);
}

/* A map entry {1: key, 2: value} (value may be binary). */
static void w_entry(kn_buf *b, uint32_t num, const char *key, const void *val, size_t n)
{
    cleanup_buf kn_buf e = KN_BUF_INIT;
    w_str(&e, 1, key);
    w_len(&e, 2, val, n);
    w_msg(b, num, &e);
}

/* "k8s\0" + runtime.Unknown{typeMeta, raw}. */
static void envelope(kn_buf *out, const char *av, const char *kind, const kn_buf *raw)
{
    cleanup_buf kn_buf tm = KN_BUF_INIT;
    kn_buf_append(out, "k8s", 4);
    w_str(&tm, 1, av);
    w_str(&tm, 2, kind);
    w_msg(out, 1, &tm);
    w_len(out, 2, raw->data, raw->len);
}

static kn_buf from_hex(const char *hex)
{
    kn_buf b = KN_BUF_INIT;
    for (size_t i = 0; hex[i] && hex[i + 1]; i += 2) {
        char byte[3] = {hex[i], hex[i + 1], 0};
        kn_buf_append_char(&b, (char)strtol(byte, NULL, 16));
    }
    return b;
}

/* ---- checking ----------------------------------------------------------- */

/* got must print exactly as want (member order included). Frees got. */
static void expect_json(cJSON *got, const char *want)
{
    cJSON *w = cJSON_Parse(want);
    KT_ASSERT_MSG(w != NULL, "bad expected JSON: %s", want);
    char *a = kn_json_print(got), *e = kn_json_print(w);
    KT_ASSERT_STREQ(a, e);
    free(a);
    free(e);
    cJSON_Delete(w);
    cJSON_Delete(got);
}

static cJSON *body_ok(const kn_buf *b)
{
    cJSON *out = NULL;
    kn_error *err = NULL;
    KT_ASSERT_OK(kn_kproto_decode(b->data, b->len, &out, &err), err);
    return out;
}

static cJSON *msg_ok(const kn_schema_type *t, const kn_buf *b)
{
    cJSON *out = NULL;
    kn_error *err = NULL;
    KT_ASSERT_OK(kn_kproto_decode_message(t, b->data, b->len, &out, &err), err);
    return out;
}

static void expect_body_err(const kn_buf *b, const char *want)
{
    cJSON *out = NULL;
    kn_error *err = NULL;
    KT_ASSERT_FAILS(kn_kproto_decode(b->data, b->len, &out, &err));
    KT_ASSERT(out == NULL);
    KT_ASSERT_EQ(kn_error_code(err), KN_EINVAL);
    KT_ASSERT_CONTAINS(kn_error_msg(err), want);
    kn_error_free(&err);
}

static void expect_msg_err(const kn_schema_type *t, const kn_buf *b, const char *want)
{
    cJSON *out = NULL;
    kn_error *err = NULL;
    KT_ASSERT_FAILS(kn_kproto_decode_message(t, b->data, b->len, &out, &err));
    KT_ASSERT(out == NULL);
    KT_ASSERT_EQ(kn_error_code(err), KN_EINVAL);
    KT_ASSERT_CONTAINS(kn_error_msg(err), want);
    kn_error_free(&err);
}

/* ---- what kubectl 1.33 sends -------------------------------------------- */

/* Bodies captured from kubectl 1.33 `create namespace/configmap/secret/
 * serviceaccount/service/deployment/token`, and the JSON kubectl prints for
 * the same commands with --dry-run=client -o json (the Go struct's JSON). */
static const struct {
    const char *hex, *json;
} kubectl133[] = {
    {"6b3873000a0f0a02763112094e616d657370616365121e0a160a0670627465737412001a0022002a0032003800"
     "420012001a020a001a002200",
     "{\"kind\":\"Namespace\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"pbtest\","
     "\"creationTimestamp\":null},\"spec\":{},\"status\":{}}"},
    {"6b3873000a0f0a0276311209436f6e6669674d617012240a1a0a03636d3112001a0764656661756c7422002a"
     "0032003800420012060a01611201621a002200",
     "{\"kind\":\"ConfigMap\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"cm1\",\"namespace\":"
     "\"default\",\"creationTimestamp\":null},\"data\":{\"a\":\"b\"}}"},
    {"6b3873000a0c0a027631120653656372657412280a190a02733112001a0764656661756c7422002a00320038"
     "00420012090a02707712037365631a001a002200",
     "{\"kind\":\"Secret\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"s1\",\"namespace\":"
     "\"default\",\"creationTimestamp\":null},\"data\":{\"pw\":\"c2Vj\"}}"},
    {"6b3873000a140a027631120e536572766963654163636f756e7412150a130a0373613112001a0022002a0032"
     "00380042001a002200",
     "{\"kind\":\"ServiceAccount\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"sa1\","
     "\"creationTimestamp\":null}}"},
    {"6b3873000a0d0a027631120753657276696365126c0a210a047376633112001a0022002a0032003800420"
     "05a0b0a0361707012047376633112430a1b0a0738302d38303830120354435018502207080010903f1a0028"
     "00120b0a036170701204737663311a002209436c757374657249503a00420052005a00600068001a020a001a"
     "002200",
     "{\"kind\":\"Service\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"svc1\","
     "\"creationTimestamp\":null,\"labels\":{\"app\":\"svc1\"}},\"spec\":{\"ports\":[{\"name\":"
     "\"80-8080\",\"protocol\":\"TCP\",\"port\":80,\"targetPort\":8080}],\"selector\":{\"app\":"
     "\"svc1\"},\"type\":\"ClusterIP\"},\"status\":{\"loadBalancer\":{}}}"},
    {"6b3873000a150a07617070732f7631120a4465706c6f796d656e7412b5010a1d0a02643112001a0022002a00"
     "32003800420"
     "05a090a03617070120264311285010803120b0a090a03617070120264311a6c0a1b0a0012001a0022002a00"
     "3200380042005a090a0361707012026431124d122f0a056e67696e7812056e67696e782a00320b0a00100018"
     "903f22002a0042006a007200800100880100900100a201001a00320042004a0052005800600068008201008a"
     "01009a0100c2010022020a00280038001a0c0800100018002000280038001a002200",
     "{\"kind\":\"Deployment\",\"apiVersion\":\"apps/v1\",\"metadata\":{\"name\":\"d1\","
     "\"creationTimestamp\":null,\"labels\":{\"app\":\"d1\"}},\"spec\":{\"replicas\":3,"
     "\"selector\":{\"matchLabels\":{\"app\":\"d1\"}},\"template\":{\"metadata\":{"
     "\"creationTimestamp\":null,\"labels\":{\"app\":\"d1\"}},\"spec\":{\"containers\":[{"
     "\"name\":\"nginx\",\"image\":\"nginx\",\"ports\":[{\"containerPort\":8080}],"
     "\"resources\":{}}]}},\"strategy\":{}},\"status\":{}}"},
    {"6b3873000a280a1861757468656e7469636174696f6e2e6b38732e696f2f7631120c546f6b656e52657175"
     "657374121a0a100a0012001a0022002a0032003800420012001a040a0012001a002200",
     "{\"kind\":\"TokenRequest\",\"apiVersion\":\"authentication.k8s.io/v1\",\"metadata\":{"
     "\"creationTimestamp\":null},\"spec\":{\"audiences\":null,\"expirationSeconds\":null,"
     "\"boundObjectRef\":null},\"status\":{\"token\":\"\",\"expirationTimestamp\":null}}"},
};

KT_TEST(kproto, kubectl133_bodies_decode_to_the_json_kubectl_prints)
{
    for (size_t i = 0; i < sizeof(kubectl133) / sizeof(kubectl133[0]); i++) {
        cleanup_buf kn_buf b = from_hex(kubectl133[i].hex);
        expect_json(body_ok(&b), kubectl133[i].json);
    }
}

KT_TEST(kproto, every_truncation_of_a_real_body_is_rejected)
{
    cleanup_buf kn_buf b = from_hex(kubectl133[5].hex);
    for (size_t n = 0; n < b.len; n++) {
        cJSON *out = NULL;
        kn_error *err = NULL;
        int rc = kn_kproto_decode(b.data, n, &out, &err);
        /* a cut right after a complete envelope field may still parse (raw
         * is then an earlier, complete message); anything else fails */
        if (rc == 0) {
            cJSON_Delete(out);
        } else {
            KT_ASSERT_EQ(kn_error_code(err), KN_EINVAL);
            kn_error_free(&err);
        }
    }
    /* cutting inside raw always fails: its length runs past the end */
    cJSON *out = NULL;
    kn_error *err = NULL;
    KT_ASSERT_FAILS(kn_kproto_decode(b.data, b.len - 20, &out, &err));
    KT_ASSERT_CONTAINS(kn_error_msg(err), "runs past the end");
    kn_error_free(&err);
}

/* ---- a test schema with every kind and flag ----------------------------- */

static const kn_schema_field inner_fields[] = {
    {.json = "a", .num = 1, .kind = KN_SK_STRING, .flags = KN_SF_OMITEMPTY},
    {.json = "b", .num = 2, .kind = KN_SK_INT32, .flags = KN_SF_OMITEMPTY},
};
static const kn_schema_type t_inner = {"test.Inner", inner_fields, 2, NULL, NULL};

static const kn_schema_field embedded_fields[] = {
    {.json = "x", .num = 1, .kind = KN_SK_STRING, .flags = KN_SF_OMITEMPTY},
    {.json = "y", .num = 2, .kind = KN_SK_STRING, .flags = 0},
};
static const kn_schema_type t_embedded = {"test.Embedded", embedded_fields, 2, NULL, NULL};

#define O KN_SF_OMITEMPTY
#define P KN_SF_POINTER
#define R KN_SF_REPEATED
static const kn_schema_field all_fields[] = {
    {.json = "s", .num = 1, .kind = KN_SK_STRING},
    {.json = "sOmit", .num = 2, .kind = KN_SK_STRING, .flags = O},
    {.json = "sPtr", .num = 3, .kind = KN_SK_STRING, .flags = O | P},
    {.json = "sPtrNoOmit", .num = 4, .kind = KN_SK_STRING, .flags = P},
    {.json = "b", .num = 5, .kind = KN_SK_BOOL},
    {.json = "bOmit", .num = 6, .kind = KN_SK_BOOL, .flags = O},
    {.json = "bPtr", .num = 7, .kind = KN_SK_BOOL, .flags = O | P},
    {.json = "i32", .num = 8, .kind = KN_SK_INT32},
    {.json = "i32Omit", .num = 9, .kind = KN_SK_INT32, .flags = O},
    {.json = "i32Ptr", .num = 10, .kind = KN_SK_INT32, .flags = O | P},
    {.json = "i64", .num = 11, .kind = KN_SK_INT64},
    {.json = "i64Ptr", .num = 12, .kind = KN_SK_INT64, .flags = O | P},
    {.json = "d", .num = 13, .kind = KN_SK_DOUBLE, .flags = O},
    {.json = "bytes", .num = 14, .kind = KN_SK_BYTES, .flags = O},
    {.json = "bytesNoOmit", .num = 15, .kind = KN_SK_BYTES},
    {.json = "msg", .num = 16, .kind = KN_SK_MESSAGE, .type = &t_inner},
    {.json = "msgPtr", .num = 17, .kind = KN_SK_MESSAGE, .flags = O | P, .type = &t_inner},
    {.json = "msgPtrNoOmit", .num = 18, .kind = KN_SK_MESSAGE, .flags = P, .type = &t_inner},
    {.json = "mapS", .num = 19, .kind = KN_SK_MAP_STRING, .flags = O},
    {.json = "mapB", .num = 20, .kind = KN_SK_MAP_BYTES, .flags = O},
    {.json = "mapQ", .num = 21, .kind = KN_SK_MAP_QUANTITY, .flags = O},
    {.json = "mapL", .num = 22, .kind = KN_SK_MAP_STRLIST, .flags = O},
    {.json = "mapNoOmit", .num = 23, .kind = KN_SK_MAP_STRING},
    {.json = "ios", .num = 24, .kind = KN_SK_INT_OR_STRING, .flags = O},
    {.json = "iosPtr", .num = 25, .kind = KN_SK_INT_OR_STRING, .flags = O | P},
    {.json = "q", .num = 26, .kind = KN_SK_QUANTITY, .flags = O},
    {.json = "qPtr", .num = 27, .kind = KN_SK_QUANTITY, .flags = O | P},
    {.json = "t", .num = 28, .kind = KN_SK_TIME, .flags = O},
    {.json = "tPtr", .num = 29, .kind = KN_SK_TIME, .flags = O | P},
    {.json = "mt", .num = 30, .kind = KN_SK_MICROTIME, .flags = O | P},
    {.json = "dur", .num = 31, .kind = KN_SK_DURATION, .flags = O},
    {.json = "durPtr", .num = 32, .kind = KN_SK_DURATION, .flags = O | P},
    {.json = "raw", .num = 33, .kind = KN_SK_RAW, .flags = O},
    {.json = "rawPtr", .num = 34, .kind = KN_SK_RAW, .flags = O | P},
    {.json = "rs", .num = 35, .kind = KN_SK_STRING, .flags = R},
    {.json = "rsOmit", .num = 36, .kind = KN_SK_STRING, .flags = O | R},
    {.json = "ri64", .num = 37, .kind = KN_SK_INT64, .flags = O | R},
    {.json = "rmsg", .num = 38, .kind = KN_SK_MESSAGE, .flags = O | R, .type = &t_inner},
    {.json = "", .num = 39, .kind = KN_SK_MESSAGE, .flags = KN_SF_INLINE, .type = &t_embedded},
    {.json = "last", .num = 40, .kind = KN_SK_STRING, .flags = O},
    {.json = "rios", .num = 41, .kind = KN_SK_INT_OR_STRING, .flags = O | R},
    {.json = "rbytes", .num = 42, .kind = KN_SK_BYTES, .flags = O | R},
    {.json = "rd", .num = 43, .kind = KN_SK_DOUBLE, .flags = O | R},
};
static const kn_schema_type t_all = {"test.All", all_fields,
                                     sizeof(all_fields) / sizeof(all_fields[0]), NULL, NULL};

/* A type that contains itself, for the nesting bound. */
static const kn_schema_type t_rec;
static const kn_schema_field rec_fields[] = {
    {.json = "child", .num = 1, .kind = KN_SK_MESSAGE, .flags = O | P, .type = &t_rec},
    {.json = "n", .num = 2, .kind = KN_SK_INT32, .flags = O},
};
static const kn_schema_type t_rec = {"test.Rec", rec_fields, 2, NULL, NULL};

KT_TEST(kproto, absent_fields_get_go_zero_values_unless_omitempty)
{
    cleanup_buf kn_buf b = KN_BUF_INIT;
    expect_json(msg_ok(&t_all, &b),
                "{\"s\":\"\",\"sPtrNoOmit\":null,\"b\":false,\"i32\":0,\"i64\":0,"
                "\"bytesNoOmit\":null,\"msg\":{},\"msgPtrNoOmit\":null,\"mapNoOmit\":null,"
                "\"ios\":0,\"q\":\"0\",\"t\":null,\"dur\":\"0s\",\"raw\":null,\"rs\":null,"
                "\"y\":\"\"}");
}

KT_TEST(kproto, zero_values_on_the_wire_are_omitted_only_for_value_fields)
{
    /* what gogo writes for an empty struct: every value field, zero */
    cleanup_buf kn_buf b = KN_BUF_INIT, sub = KN_BUF_INIT;
    w_str(&b, 2, "");
    w_str(&b, 3, ""); /* pointer set to "": written */
    w_uint(&b, 6, 0);
    w_uint(&b, 7, 0); /* pointer set to false: written */
    w_uint(&b, 9, 0);
    w_uint(&b, 10, 0);
    w_uint(&b, 12, 0);
    w_fixed64(&b, 13, 0);
    w_str(&b, 14, "");
    w_str(&b, 15, ""); /* a non-nil empty []byte without omitempty */
    w_msg(&b, 17, &sub);
    w_str(&b, 40, "");
    expect_json(msg_ok(&t_all, &b),
                "{\"s\":\"\",\"sPtr\":\"\",\"sPtrNoOmit\":null,\"b\":false,\"bPtr\":false,"
                "\"i32\":0,\"i32Ptr\":0,\"i64\":0,\"i64Ptr\":0,\"bytesNoOmit\":\"\",\"msg\":{},"
                "\"msgPtr\":{},\"msgPtrNoOmit\":null,\"mapNoOmit\":null,\"ios\":0,\"q\":\"0\","
                "\"t\":null,\"dur\":\"0s\",\"raw\":null,\"rs\":null,\"y\":\"\"}");
}

KT_TEST(kproto, every_value_kind)
{
    cleanup_buf kn_buf b = KN_BUF_INIT, sub = KN_BUF_INIT, q = KN_BUF_INIT;
    w_str(&b, 1, "h\xc3\xa9llo \xe2\x9c\x93");
    w_str(&b, 4, "p");
    w_uint(&b, 5, 1);
    w_uint(&b, 8, (uint64_t)-5); /* int32 -5, sign-extended to 10 bytes */
    w_uint(&b, 11, (uint64_t)INT64_C(-9007199254740991));
    double half = 0.5;
    uint64_t bits;
    memcpy(&bits, &half, sizeof(bits));
    w_fixed64(&b, 13, bits);
    w_len(&b, 14, "\x00\xff\x10", 3);
    w_str(&sub, 1, "in");
    w_uint(&sub, 2, 7);
    w_msg(&b, 16, &sub);
    w_entry(&b, 19, "k", "v", 1);
    w_entry(&b, 20, "bin", "\x01\x02", 2);
    w_str(&q, 1, "1500m");
    w_entry(&b, 21, "cpu", q.data, q.len);
    w_str(&sub, 1, "g1");
    w_str(&sub, 1, "g2");
    w_entry(&b, 22, "groups", sub.data, sub.len);
    kn_buf_reset(&sub);
    w_uint(&sub, 1, 1);
    w_str(&sub, 3, "http");
    w_msg(&b, 24, &sub);
    w_uint(&sub, 2, 8080);
    w_msg(&b, 25, &sub);
    w_str(&sub, 1, "128Mi");
    w_msg(&b, 27, &sub);
    w_uint(&sub, 1, 1700000000);
    w_uint(&sub, 2, 999999999); /* nanoseconds: dropped by Time */
    w_msg(&b, 29, &sub);
    w_uint(&sub, 1, 1700000000);
    w_uint(&sub, 2, 123456789);
    w_msg(&b, 30, &sub);
    w_uint(&sub, 1, UINT64_C(5400000000000)); /* 1h30m */
    w_msg(&b, 32, &sub);
    w_str(&sub, 1, "{\"f:a\":{}}");
    w_msg(&b, 34, &sub);
    w_str(&b, 35, "r1");
    w_str(&b, 35, "r2");
    w_uint(&b, 37, 1);
    w_len(&b, 37, "\x02\x03", 2); /* packed after unpacked */
    w_msg(&b, 38, &sub);
    w_str(&sub, 1, "ex");
    w_msg(&b, 39, &sub);
    w_str(&b, 40, "end");
    w_uint(&sub, 2, 3);
    w_msg(&b, 41, &sub);
    w_len(&b, 42, "ab", 2);
    w_len(&b, 43, "\x00\x00\x00\x00\x00\x00\xf0\x3f", 8); /* packed double 1.0 */
    expect_json(msg_ok(&t_all, &b),
                "{\"s\":\"h\xc3\xa9llo \xe2\x9c\x93\",\"sPtrNoOmit\":\"p\",\"b\":true,\"i32\":-5,"
                "\"i64\":-9007199254740991,\"d\":0.5,\"bytes\":\"AP8Q\",\"bytesNoOmit\":null,"
                "\"msg\":{\"a\":\"in\",\"b\":7},\"msgPtrNoOmit\":null,\"mapS\":{\"k\":\"v\"},"
                "\"mapB\":{\"bin\":\"AQI=\"},\"mapQ\":{\"cpu\":\"1500m\"},"
                "\"mapL\":{\"groups\":[\"g1\",\"g2\"]},\"mapNoOmit\":null,\"ios\":\"http\","
                "\"iosPtr\":8080,\"q\":\"0\",\"qPtr\":\"128Mi\",\"t\":null,"
                "\"tPtr\":\"2023-11-14T22:13:20Z\",\"mt\":\"2023-11-14T22:13:20.123456Z\","
                "\"dur\":\"0s\",\"durPtr\":\"1h30m0s\",\"raw\":null,\"rawPtr\":{\"f:a\":{}},"
                "\"rs\":[\"r1\",\"r2\"],\"ri64\":[1,2,3],\"rmsg\":[{}],\"x\":\"ex\",\"y\":\"\","
                "\"last\":\"end\",\"rios\":[3],\"rbytes\":[\"YWI=\"],\"rd\":[1]}");
}

KT_TEST(kproto, base64_of_every_length)
{
    static const char *const want[] = {"", "YQ==", "YWI=", "YWJj", "YWJjZA=="};
    for (size_t n = 1; n < 5; n++) {
        cleanup_buf kn_buf b = KN_BUF_INIT;
        w_len(&b, 14, "abcd", n);
        cJSON *o = msg_ok(&t_all, &b);
        KT_ASSERT_STREQ(cJSON_GetObjectItem(o, "bytes")->valuestring, want[n]);
        cJSON_Delete(o);
    }
}

static cJSON *one_field(uint32_t num, kn_buf *sub)
{
    cleanup_buf kn_buf b = KN_BUF_INIT;
    w_msg(&b, num, sub);
    return msg_ok(&t_all, &b);
}

static void expect_str_field(cJSON *o, const char *name, const char *want)
{
    cJSON *v = cJSON_GetObjectItem(o, name);
    KT_ASSERT_MSG(cJSON_IsString(v), "%s is not a string", name);
    KT_ASSERT_STREQ(v->valuestring, want);
    cJSON_Delete(o);
}

KT_TEST(kproto, time_values)
{
    static const struct {
        int64_t sec;
        int32_t nsec;
        const char *time, *micro;
    } cases[] = {
        {0, 0, "1970-01-01T00:00:00Z", "1970-01-01T00:00:00.000000Z"},
        {-1, 0, "1969-12-31T23:59:59Z", "1969-12-31T23:59:59.000000Z"},
        {951782400, 5000, "2000-02-29T00:00:00Z", "2000-02-29T00:00:00.000005Z"},
        {253402300799, 999999999, "9999-12-31T23:59:59Z", "9999-12-31T23:59:59.999999Z"},
        {-62135596800, 1000, "", "0001-01-01T00:00:00.000001Z"},
        {100, -1, "1970-01-01T00:01:40Z", "1970-01-01T00:01:39.999999Z"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        cleanup_buf kn_buf sub = KN_BUF_INIT;
        w_uint(&sub, 1, (uint64_t)cases[i].sec);
        w_uint(&sub, 2, (uint64_t)(int64_t)cases[i].nsec);
        cleanup_buf kn_buf copy = KN_BUF_INIT;
        kn_buf_append(&copy, sub.data, sub.len);
        if (*cases[i].time)
            expect_str_field(one_field(29, &sub), "tPtr", cases[i].time);
        expect_str_field(one_field(30, &copy), "mt", cases[i].micro);
    }
    /* the zero time (and an empty message) is null */
    cleanup_buf kn_buf sub = KN_BUF_INIT;
    w_uint(&sub, 1, (uint64_t)INT64_C(-62135596800));
    expect_json(one_field(29, &sub), "{\"s\":\"\",\"sPtrNoOmit\":null,\"b\":false,\"i32\":0,"
                                     "\"i64\":0,\"bytesNoOmit\":null,\"msg\":{},"
                                     "\"msgPtrNoOmit\":null,\"mapNoOmit\":null,\"ios\":0,"
                                     "\"q\":\"0\",\"t\":null,\"tPtr\":null,\"dur\":\"0s\","
                                     "\"raw\":null,\"rs\":null,\"y\":\"\"}");
    /* outside years 1..9999 */
    w_uint(&sub, 1, UINT64_C(253402300800));
    cleanup_buf kn_buf b = KN_BUF_INIT;
    w_msg(&b, 29, &sub);
    expect_msg_err(&t_all, &b, "tPtr: time 253402300800 is outside the years 1 to 9999");
}

KT_TEST(kproto, durations_print_as_go_does)
{
    static const struct {
        int64_t ns;
        const char *want;
    } cases[] = {
        {0, "0s"},
        {1, "1ns"},
        {999, "999ns"},
        {1000, "1\xc2\xb5s"},
        {1500, "1.5\xc2\xb5s"},
        {1500000, "1.5ms"},
        {1000000000, "1s"},
        {90000000000, "1m30s"},
        {3600000000000, "1h0m0s"},
        {3600500000000, "1h0m0.5s"},
        {-1000000000, "-1s"},
        {INT64_MIN, "-2562047h47m16.854775808s"},
        {INT64_MAX, "2562047h47m16.854775807s"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        cleanup_buf kn_buf sub = KN_BUF_INIT;
        w_uint(&sub, 1, (uint64_t)cases[i].ns);
        expect_str_field(one_field(32, &sub), "durPtr", cases[i].want);
    }
}

KT_TEST(kproto, int_or_string_and_quantity)
{
    cleanup_buf kn_buf sub = KN_BUF_INIT, b = KN_BUF_INIT;
    w_uint(&sub, 2, (uint64_t)-3);
    cJSON *o = one_field(25, &sub);
    KT_ASSERT_EQ(cJSON_GetObjectItem(o, "iosPtr")->valuedouble, -3);
    cJSON_Delete(o);
    /* type 1 with no string is "" */
    w_uint(&sub, 1, 1);
    expect_str_field(one_field(25, &sub), "iosPtr", "");
    w_uint(&sub, 1, 2);
    w_msg(&b, 25, &sub);
    expect_msg_err(&t_all, &b, "iosPtr: IntOrString type 2");
    kn_buf_reset(&b);
    /* canonical quantities, as upstream's String() */
    w_str(&sub, 1, "1000m");
    expect_str_field(one_field(27, &sub), "qPtr", "1");
    w_str(&sub, 1, "0.5Gi");
    expect_str_field(one_field(27, &sub), "qPtr", "512Mi");
    w_str(&sub, 1, "12e3");
    expect_str_field(one_field(27, &sub), "qPtr", "12e3");
    w_str(&sub, 1, "abc");
    w_msg(&b, 27, &sub);
    expect_msg_err(&t_all, &b, "qPtr: quantity:");
}

KT_TEST(kproto, maps_are_sorted_and_a_repeated_key_keeps_its_last_value)
{
    cleanup_buf kn_buf b = KN_BUF_INIT;
    w_entry(&b, 19, "zeta", "1", 1);
    w_entry(&b, 19, "alpha", "2", 1);
    w_entry(&b, 19, "zeta", "3", 1);
    w_entry(&b, 19, "", "empty", 5);
    w_entry(&b, 19, "alph", "4", 1);
    cJSON *o = msg_ok(&t_all, &b);
    char *m = kn_json_print(cJSON_GetObjectItem(o, "mapS"));
    KT_ASSERT_STREQ(m, "{\"\":\"empty\",\"alph\":\"4\",\"alpha\":\"2\",\"zeta\":\"3\"}");
    free(m);
    cJSON_Delete(o);
    /* an entry without a value: "" for strings, "0" for quantities */
    kn_buf_reset(&b);
    cleanup_buf kn_buf e = KN_BUF_INIT;
    w_str(&e, 1, "k");
    w_len(&b, 19, e.data, e.len);
    w_len(&b, 21, e.data, e.len);
    w_len(&b, 22, e.data, e.len);
    o = msg_ok(&t_all, &b);
    m = kn_json_print(o);
    KT_ASSERT_CONTAINS(m, "\"mapS\":{\"k\":\"\"}");
    KT_ASSERT_CONTAINS(m, "\"mapQ\":{\"k\":\"0\"}");
    KT_ASSERT_CONTAINS(m, "\"mapL\":{\"k\":null}");
    free(m);
    cJSON_Delete(o);
}

KT_TEST(kproto, a_message_field_given_twice_is_merged)
{
    cleanup_buf kn_buf b = KN_BUF_INIT, sub = KN_BUF_INIT;
    w_str(&sub, 1, "first");
    w_msg(&b, 16, &sub);
    w_uint(&sub, 2, 9);
    w_msg(&b, 16, &sub);
    w_str(&b, 1, "old");
    w_str(&b, 1, "new");
    cJSON *o = msg_ok(&t_all, &b);
    char *m = kn_json_print(cJSON_GetObjectItem(o, "msg"));
    KT_ASSERT_STREQ(m, "{\"a\":\"first\",\"b\":9}");
    KT_ASSERT_STREQ(cJSON_GetObjectItem(o, "s")->valuestring, "new");
    free(m);
    cJSON_Delete(o);
}

/* ---- the real schema ---------------------------------------------------- */

KT_TEST(kproto, pod_with_probes_resources_volumes_and_security_context)
{
    cleanup_buf kn_buf raw = KN_BUF_INIT, meta = KN_BUF_INIT, spec = KN_BUF_INIT, c = KN_BUF_INIT,
                       sub = KN_BUF_INIT, sub2 = KN_BUF_INIT, body = KN_BUF_INIT;
    w_str(&meta, 1, "p");
    w_str(&meta, 3, "ns");
    w_entry(&meta, 12, "note", "x", 1);
    w_msg(&raw, 1, &meta);
    /* volumes: a Volume inlines its VolumeSource (field 2) */
    w_uint(&sub2, 3, 0400); /* defaultMode */
    w_str(&sub2, 1, "sec");
    w_msg(&sub, 6, &sub2);
    w_str(&c, 1, "data");
    w_msg(&c, 2, &sub);
    w_msg(&spec, 1, &c);
    /* a container */
    w_str(&c, 1, "app");
    w_str(&c, 2, "busybox");
    w_str(&c, 3, "sh");
    w_str(&c, 3, "-c");
    w_str(&sub2, 1, "250m");
    w_entry(&sub, 1, "cpu", sub2.data, sub2.len);
    kn_buf_reset(&sub2);
    w_msg(&c, 8, &sub);
    /* livenessProbe: Probe inlines ProbeHandler (1); httpGet port "http" */
    cleanup_buf kn_buf port = KN_BUF_INIT, handler = KN_BUF_INIT;
    w_uint(&port, 1, 1);
    w_str(&port, 3, "http");
    w_str(&sub2, 1, "/healthz");
    w_msg(&sub2, 2, &port);
    w_msg(&handler, 2, &sub2);
    w_msg(&sub, 1, &handler);
    w_uint(&sub, 4, 5);
    w_msg(&c, 10, &sub);
    /* securityContext: pointer bools written even when false */
    w_uint(&sub, 2, 0);
    w_uint(&sub, 6, 1);
    w_msg(&c, 15, &sub);
    w_msg(&spec, 2, &c);
    w_uint(&spec, 4, 0); /* terminationGracePeriodSeconds: *int64 0 */
    w_str(&sub, 2, "Exists");
    w_uint(&sub, 5, 300);
    w_msg(&spec, 22, &sub);
    w_msg(&raw, 2, &spec);
    envelope(&body, "v1", "Pod", &raw);
    expect_json(body_ok(&body),
                "{\"kind\":\"Pod\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"p\","
                "\"namespace\":\"ns\",\"creationTimestamp\":null,\"annotations\":{\"note\":\"x\"}},"
                "\"spec\":{\"volumes\":[{\"name\":\"data\",\"secret\":{\"secretName\":\"sec\","
                "\"defaultMode\":256}}],\"containers\":[{\"name\":\"app\",\"image\":\"busybox\","
                "\"command\":[\"sh\",\"-c\"],\"resources\":{\"limits\":{\"cpu\":\"250m\"}},"
                "\"livenessProbe\":{\"httpGet\":{\"path\":\"/healthz\",\"port\":\"http\"},"
                "\"periodSeconds\":5},\"securityContext\":{\"privileged\":false,"
                "\"readOnlyRootFilesystem\":true}}],\"terminationGracePeriodSeconds\":0,"
                "\"tolerations\":[{\"operator\":\"Exists\",\"tolerationSeconds\":300}]},"
                "\"status\":{}}");
}

KT_TEST(kproto, delete_options_under_any_group_version)
{
    cleanup_buf kn_buf raw = KN_BUF_INIT, body = KN_BUF_INIT;
    w_uint(&raw, 1, 0);
    w_str(&raw, 4, "Foreground");
    envelope(&body, "apps/v1", "DeleteOptions", &raw);
    expect_json(body_ok(&body), "{\"kind\":\"DeleteOptions\",\"apiVersion\":\"apps/v1\","
                                "\"gracePeriodSeconds\":0,\"propagationPolicy\":\"Foreground\"}");
}

/* ---- bad input ---------------------------------------------------------- */

KT_TEST(kproto, envelope_errors)
{
    cleanup_buf kn_buf b = KN_BUF_INIT, raw = KN_BUF_INIT, tm = KN_BUF_INIT;
    expect_body_err(&b, "\"k8s\\0\" prefix");
    kn_buf_append_str(&b, "{\"kind\":\"Pod\"}");
    expect_body_err(&b, "\"k8s\\0\" prefix");
    kn_buf_reset(&b);
    kn_buf_append(&b, "k8s", 4);
    expect_body_err(&b, "'Kind' or 'apiVersion' is missing");
    kn_buf_reset(&b);
    envelope(&b, "v1", "Widget", &raw);
    expect_body_err(&b, "no kind \"Widget\" is registered for version \"v1\"");
    kn_buf_reset(&b);
    envelope(&b, "apps/v1", "Pod", &raw);
    expect_body_err(&b, "no kind \"Pod\" is registered for version \"apps/v1\"");
    kn_buf_reset(&b);
    envelope(&b, "v1", "Pod", &raw);
    w_str(&b, 3, "gzip");
    expect_body_err(&b, "content encoding \"gzip\" is not supported");
    kn_buf_reset(&b);
    envelope(&b, "v1", "Pod", &raw);
    w_str(&b, 4, "application/json");
    expect_body_err(&b, "raw content type \"application/json\"");
    kn_buf_reset(&b);
    envelope(&b, "v1", "Pod", &raw);
    w_uint(&b, 5, 1);
    expect_body_err(&b, "unexpected field 5 (wire type 0) in runtime.Unknown");
    kn_buf_reset(&b);
    kn_buf_append(&b, "k8s", 4);
    w_str(&tm, 1, "v\xff");
    w_str(&tm, 2, "Pod");
    w_msg(&b, 1, &tm);
    expect_body_err(&b, "not UTF-8");
}

KT_TEST(kproto, field_errors_name_the_path)
{
    cleanup_buf kn_buf b = KN_BUF_INIT, spec = KN_BUF_INIT, tmpl = KN_BUF_INIT, ps = KN_BUF_INIT,
                       c = KN_BUF_INIT, port = KN_BUF_INIT, raw = KN_BUF_INIT;
    /* containerPort (int32) sent as bytes */
    w_str(&port, 3, "80");
    w_str(&c, 1, "web");
    w_msg(&c, 6, &port);
    w_msg(&ps, 2, &c);
    w_msg(&tmpl, 2, &ps);
    w_msg(&spec, 3, &tmpl);
    w_msg(&raw, 2, &spec);
    envelope(&b, "apps/v1", "Deployment", &raw);
    expect_body_err(&b, "Deployment spec.template.spec.containers[0].ports[0].containerPort: "
                        "wire type 2 does not fit a int32 field");
    /* an unknown field number */
    kn_buf_reset(&b);
    kn_buf_reset(&raw);
    w_uint(&spec, 99, 1);
    w_msg(&raw, 2, &spec);
    envelope(&b, "apps/v1", "Deployment", &raw);
    expect_body_err(&b, "Deployment spec: unknown field 99 (wire type 0) of "
                        "io.k8s.api.apps.v1.DeploymentSpec");
    /* bad UTF-8 in a label value and a NUL in a name */
    kn_buf_reset(&b);
    kn_buf_reset(&raw);
    w_entry(&spec, 11, "app", "\xc3\x28", 2);
    w_msg(&raw, 1, &spec);
    envelope(&b, "v1", "ConfigMap", &raw);
    expect_body_err(&b, "ConfigMap metadata.labels[app]: string is not valid UTF-8");
    kn_buf_reset(&b);
    kn_buf_reset(&raw);
    w_len(&spec, 1, "a\0b", 3);
    w_msg(&raw, 1, &spec);
    envelope(&b, "v1", "ConfigMap", &raw);
    expect_body_err(&b, "ConfigMap metadata.name: string is not valid UTF-8 (or contains NUL)");
}

KT_TEST(kproto, malformed_wire_data)
{
    cleanup_buf kn_buf b = KN_BUF_INIT;
    kn_buf_append(&b, "\x28", 1); /* a tag, then nothing */
    expect_msg_err(&t_all, &b, "b: truncated varint");
    kn_buf_reset(&b);
    kn_buf_append(&b,
                  "\x0a\x05"
                  "ab",
                  4);
    expect_msg_err(&t_all, &b, "s: length 5 runs past the end of the data");
    kn_buf_reset(&b);
    kn_buf_append(&b, "\x00\x01", 2);
    expect_msg_err(&t_all, &b, "invalid field number 0");
    kn_buf_reset(&b);
    kn_buf_append(&b, "\x0b", 1); /* field 1, start group */
    expect_msg_err(&t_all, &b, "s: wire type 3 does not fit a string field");
    kn_buf_reset(&b);
    kn_buf_append(&b, "\x28\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 12);
    expect_msg_err(&t_all, &b, "b: varint longer than 10 bytes");
    kn_buf_reset(&b);
    kn_buf_append(&b, "\x69\x01\x02", 3); /* fixed64 field 13 cut short */
    expect_msg_err(&t_all, &b, "d: truncated fixed64");
    kn_buf_reset(&b);
    w_uint(&b, 11, UINT64_C(9007199254740992));
    expect_msg_err(&t_all, &b, "i64: integer 9007199254740992 is beyond");
    kn_buf_reset(&b);
    w_fixed64(&b, 13, UINT64_C(0x7ff0000000000000)); /* +Inf */
    expect_msg_err(&t_all, &b, "d: floating-point value is not finite");
    kn_buf_reset(&b);
    cleanup_buf kn_buf sub = KN_BUF_INIT;
    w_str(&sub, 1, "{not json");
    w_msg(&b, 34, &sub);
    expect_msg_err(&t_all, &b, "rawPtr: raw object is not JSON");
    kn_buf_reset(&b);
    w_uint(&sub, 3, 1);
    w_msg(&b, 29, &sub);
    expect_msg_err(&t_all, &b, "tPtr: unexpected field 3 (wire type 0)");
    kn_buf_reset(&b);
    w_str(&sub, 1, "k");
    w_uint(&sub, 3, 1);
    w_msg(&b, 19, &sub);
    expect_msg_err(&t_all, &b, "mapS: unexpected field 3 (wire type 0) in a map entry");
    kn_buf_reset(&b);
    w_len(&b, 37, "\x80", 1); /* packed list cut inside a varint */
    expect_msg_err(&t_all, &b, "ri64[0]: truncated varint");
}

static void nest(kn_buf *b, int levels)
{
    kn_buf_reset(b);
    w_uint(b, 2, 1);
    cleanup_buf kn_buf outer = KN_BUF_INIT;
    for (int i = 0; i < levels; i++) {
        w_len(&outer, 1, b->data, b->len);
        kn_buf_reset(b);
        kn_buf_append(b, outer.data, outer.len);
        kn_buf_reset(&outer);
    }
}

KT_TEST(kproto, nesting_is_bounded)
{
    cleanup_buf kn_buf b = KN_BUF_INIT;
    nest(&b, KN_KPROTO_MAX_DEPTH - 1);
    cJSON_Delete(msg_ok(&t_rec, &b));
    nest(&b, KN_KPROTO_MAX_DEPTH);
    expect_msg_err(&t_rec, &b, "messages nested deeper than 32");
    nest(&b, 5000);
    expect_msg_err(&t_rec, &b, "messages nested deeper than 32");
}

KT_TEST(kproto, output_is_bounded_by_the_input)
{
    /* 100000 empty containers: 2 bytes each, 3 JSON nodes each */
    cleanup_buf kn_buf ps = KN_BUF_INIT;
    for (int i = 0; i < 100000; i++)
        w_len(&ps, 2, "", 0);
    expect_msg_err(kn_schema_by_name("io.k8s.api.core.v1.PodSpec"), &ps,
                   "larger than the body can describe");
}

KT_TEST(kproto, media_type)
{
    KT_ASSERT(kn_kproto_is_media_type("application/vnd.kubernetes.protobuf"));
    KT_ASSERT(kn_kproto_is_media_type("Application/VND.Kubernetes.Protobuf; charset=x"));
    KT_ASSERT(kn_kproto_is_media_type(" application/vnd.kubernetes.protobuf;stream=watch"));
    KT_ASSERT(!kn_kproto_is_media_type("application/vnd.kubernetes.protobuffer"));
    KT_ASSERT(!kn_kproto_is_media_type("application/json"));
    KT_ASSERT(!kn_kproto_is_media_type(""));
    KT_ASSERT(!kn_kproto_is_media_type(NULL));
}

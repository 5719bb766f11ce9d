/* fieldtype.c - JSON value types checked against the schema table the way
 * Go's encoding/json (sigs.k8s.io/json) fails to decode a body into the API
 * type: the first value, in document order, that its Go field cannot hold.
 *
 * Go's messages: `json: cannot unmarshal <what> into Go struct field
 * <Struct>.<field path> of type <Go type>` where <what> is string, number,
 * bool, array or object ("number <literal>" for an integer field given a
 * fraction or an out-of-range number), the field path joins JSON names
 * without list indexes and <Struct> is the innermost struct. Types with
 * their own decoders (IntOrString, Quantity, Time, Duration) and []byte
 * fail with their decoder's words instead. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controlplane/fieldvalid.h"
#include "lib/json.h"
#include "lib/quantity.h"
#include "lib/strbuf.h"
#include "lib/xalloc.h"

typedef struct type_walk {
    kn_buf path; /* Go's field stack: "spec.template.spec.containers.image" */
    char *msg;   /* the first failure (owned) */
} type_walk;

/* "v1.DeploymentSpec" from "io.k8s.api.apps.v1.DeploymentSpec". */
static const char *go_qualified(const kn_schema_type *t)
{
    const char *last = strrchr(t->name, '.');
    const char *p = last;
    while (p > t->name && p[-1] != '.')
        p--;
    return last ? p : t->name;
}

static const char *go_struct_name(const kn_schema_type *t)
{
    const char *last = strrchr(t->name, '.');
    return last ? last + 1 : t->name;
}

/* The Go type of one element of f. */
static const char *go_elem_type(const kn_schema_field *f)
{
    switch ((kn_schema_kind)f->kind) {
    case KN_SK_STRING:
        return "string";
    case KN_SK_BOOL:
        return "bool";
    case KN_SK_INT32:
        return "int32";
    case KN_SK_INT64:
        return "int64";
    case KN_SK_DOUBLE:
        return "float64";
    case KN_SK_BYTES:
        return "[]uint8";
    case KN_SK_MESSAGE:
        return go_qualified(f->type);
    case KN_SK_MAP_STRING:
        return "map[string]string";
    case KN_SK_MAP_BYTES:
        return "map[string][]uint8";
    case KN_SK_MAP_QUANTITY:
        return "v1.ResourceList";
    case KN_SK_MAP_STRLIST:
        return "map[string]v1.ExtraValue";
    case KN_SK_INT_OR_STRING:
        return "intstr.IntOrString";
    case KN_SK_QUANTITY:
        return "resource.Quantity";
    case KN_SK_TIME:
        return "v1.Time";
    case KN_SK_MICROTIME:
        return "v1.MicroTime";
    case KN_SK_DURATION:
        return "v1.Duration";
    case KN_SK_RAW:
        return "runtime.RawExtension";
    }
    return "unknown";
}

/* The shortest text that reads back as d (Go would show the literal). */
static void number_text(double d, char *buf, size_t size)
{
    if (d == floor(d) && fabs(d) < 9007199254740992.0) {
        snprintf(buf, size, "%.0f", d);
        return;
    }
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, size, "%.*g", prec, d);
        if (strtod(buf, NULL) == d)
            return;
    }
}

/* What Go names a JSON value in a type error; numbers with their literal
 * when `literal`. */
static const char *what(const cJSON *v, bool literal, char *buf, size_t size)
{
    if (cJSON_IsNumber(v) && literal) {
        char num[40];
        number_text(v->valuedouble, num, sizeof(num));
        snprintf(buf, size, "number %s", num);
        return buf;
    }
    return cJSON_IsBool(v) ? "bool" : kn_json_type_name(v);
}

static void fail_field(type_walk *w, const kn_schema_type *st, const char *whatv,
                       const char *gotype)
{
    if (!w->msg)
        w->msg = xasprintf("json: cannot unmarshal %s into Go struct field %s.%s of type %s", whatv,
                           go_struct_name(st), w->path.data, gotype);
}

static void fail_plain(type_walk *w, const char *text)
{
    if (!w->msg)
        w->msg = xstrdup(text);
}

/* Go's base64.StdEncoding.Decode: NULL or the offset of the first bad byte
 * ("illegal base64 data at input byte N"); CR and LF are skipped. */
static long base64_error(const char *s)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t n = strlen(s), si = 0;
    while (si < n) {
        for (int j = 0; j < 4; j++) {
            if (si == n)
                return j == 0 ? -1 : (long)(si - (size_t)j);
            char c = s[si++];
            if (c && strchr(alphabet, c))
                continue;
            if (c == '\n' || c == '\r') {
                j--;
                continue;
            }
            if (c != '=' || j < 2)
                return (long)si - 1;
            if (j == 2) {
                while (si < n && (s[si] == '\n' || s[si] == '\r'))
                    si++;
                if (si == n)
                    return (long)n;
                if (s[si] != '=')
                    return (long)si - 1;
                si++;
            }
            while (si < n && (s[si] == '\n' || s[si] == '\r'))
                si++;
            return si < n ? (long)si : -1;
        }
    }
    return -1;
}

static bool is_int_of(const cJSON *v, double lo, double hi)
{
    double d = v->valuedouble;
    return d == floor(d) && d >= lo && d <= hi;
}

static void check_bytes(type_walk *w, const kn_schema_type *st, const cJSON *v)
{
    if (cJSON_IsArray(v)) /* Go decodes a list of numbers into []byte */
        return;
    char buf[48];
    if (!cJSON_IsString(v)) {
        fail_field(w, st, what(v, false, buf, sizeof(buf)), "[]uint8");
        return;
    }
    long at = base64_error(v->valuestring);
    if (at >= 0) {
        char msg[64];
        snprintf(msg, sizeof(msg), "illegal base64 data at input byte %ld", at);
        fail_plain(w, msg);
    }
}

/* resource.Quantity's UnmarshalJSON: a string's content or any other
 * value's text must parse as a quantity. */
static void check_quantity(type_walk *w, const cJSON *v)
{
    char *text = cJSON_IsString(v) ? xstrdup(v->valuestring) : cJSON_PrintUnformatted(v);
    kn_quantity q;
    kn_error *err = NULL;
    if (kn_quantity_parse(text, &q, &err) < 0) {
        /* an empty quantity or a bad literal: ParseQuantity's ErrFormatWrong */
        fail_plain(w, kn_error_code(err) == KN_EINVAL
                          ? "quantities must match the regular expression "
                            "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
                          : kn_error_msg(err));
        kn_error_free(&err);
    }
    free(text);
}

/* IntOrString: a string, else what json.Unmarshal into an int32 accepts. */
static void check_int_or_string(type_walk *w, const cJSON *v)
{
    if (cJSON_IsString(v) || (cJSON_IsNumber(v) && is_int_of(v, INT32_MIN, INT32_MAX)))
        return;
    char buf[48], msg[96];
    snprintf(msg, sizeof(msg), "json: cannot unmarshal %s into Go value of type int32",
             what(v, true, buf, sizeof(buf)));
    fail_plain(w, msg);
}

/* Time, MicroTime and Duration decode a JSON string first. */
static void check_string_decoder(type_walk *w, const cJSON *v)
{
    if (cJSON_IsString(v))
        return;
    char buf[48], msg[96];
    snprintf(msg, sizeof(msg), "json: cannot unmarshal %s into Go value of type string",
             what(v, false, buf, sizeof(buf)));
    fail_plain(w, msg);
}

static void walk_object(type_walk *w, const kn_schema_type *t, const cJSON *obj);

/* The values of a map field: each must be a string (or, for
 * map[string][]byte, base64; for ResourceList, a quantity). */
static void check_map(type_walk *w, const kn_schema_type *st, const kn_schema_field *f,
                      const cJSON *v)
{
    char buf[48];
    if (!cJSON_IsObject(v)) {
        fail_field(w, st, what(v, false, buf, sizeof(buf)), go_elem_type(f));
        return;
    }
    const cJSON *e;
    cJSON_ArrayForEach(e, v)
    {
        if (cJSON_IsNull(e))
            continue;
        if (f->kind == KN_SK_MAP_STRING && !cJSON_IsString(e))
            fail_field(w, st, what(e, false, buf, sizeof(buf)), "string");
        else if (f->kind == KN_SK_MAP_BYTES)
            check_bytes(w, st, e);
        else if (f->kind == KN_SK_MAP_QUANTITY)
            check_quantity(w, e);
        else if (f->kind == KN_SK_MAP_STRLIST && !cJSON_IsArray(e))
            fail_field(w, st, what(e, false, buf, sizeof(buf)), "v1.ExtraValue");
    }
}

/* A number for an int32, int64 or float64 field. */
static void check_number(type_walk *w, const kn_schema_type *st, const kn_schema_field *f,
                         const cJSON *v)
{
    char buf[48];
    bool fits = true;
    if (f->kind == KN_SK_INT32)
        fits = is_int_of(v, INT32_MIN, INT32_MAX);
    else if (f->kind == KN_SK_INT64)
        fits = is_int_of(v, -9223372036854775808.0, 9223372036854775807.0);
    if (!cJSON_IsNumber(v))
        fail_field(w, st, what(v, false, buf, sizeof(buf)), go_elem_type(f));
    else if (!fits)
        fail_field(w, st, what(v, true, buf, sizeof(buf)), go_elem_type(f));
}

/* One value of field f of struct st (an element, for a repeated field). */
static void check_scalar(type_walk *w, const kn_schema_type *st, const kn_schema_field *f,
                         const cJSON *v)
{
    char buf[48];
    bool ok = true;
    switch ((kn_schema_kind)f->kind) {
    case KN_SK_STRING:
        ok = cJSON_IsString(v);
        break;
    case KN_SK_BOOL:
        ok = cJSON_IsBool(v);
        break;
    case KN_SK_INT32:
    case KN_SK_INT64:
    case KN_SK_DOUBLE:
        check_number(w, st, f, v);
        break;
    case KN_SK_BYTES:
        check_bytes(w, st, v);
        break;
    case KN_SK_MESSAGE:
        if (cJSON_IsObject(v))
            walk_object(w, f->type, v);
        else
            ok = false;
        break;
    case KN_SK_MAP_STRING:
    case KN_SK_MAP_BYTES:
    case KN_SK_MAP_QUANTITY:
    case KN_SK_MAP_STRLIST:
        check_map(w, st, f, v);
        break;
    case KN_SK_INT_OR_STRING:
        check_int_or_string(w, v);
        break;
    case KN_SK_QUANTITY:
        check_quantity(w, v);
        break;
    case KN_SK_TIME:
    case KN_SK_MICROTIME:
    case KN_SK_DURATION:
        check_string_decoder(w, v);
        break;
    case KN_SK_RAW:
        break;
    }
    if (!ok)
        fail_field(w, st, what(v, false, buf, sizeof(buf)), go_elem_type(f));
}

static void check_field(type_walk *w, const kn_schema_type *st, const kn_schema_field *f,
                        const cJSON *v)
{
    if (cJSON_IsNull(v)) /* null leaves any Go value as it is */
        return;
    if (!(f->flags & KN_SF_REPEATED)) {
        check_scalar(w, st, f, v);
        return;
    }
    if (!cJSON_IsArray(v)) {
        char buf[48], type[128];
        snprintf(type, sizeof(type), "[]%s", go_elem_type(f));
        fail_field(w, st, what(v, false, buf, sizeof(buf)), type);
        return;
    }
    const cJSON *e;
    cJSON_ArrayForEach(e, v)
    {
        if (!cJSON_IsNull(e))
            check_scalar(w, st, f, e);
    }
}

static void walk_object(type_walk *w, const kn_schema_type *t, const cJSON *obj)
{
    const cJSON *m;
    cJSON_ArrayForEach(m, obj)
    {
        if (w->msg)
            return;
        const kn_schema_field *f = kn_schema_field_by_json(t, m->string);
        if (!f) /* unknown members are field validation's business */
            continue;
        size_t len = w->path.len;
        kn_buf_appendf(&w->path, "%s%s", len ? "." : "", m->string);
        check_field(w, t, f, m);
        kn_buf_truncate(&w->path, len);
    }
}

char *kn_field_type_error(const kn_schema_type *t, const cJSON *obj)
{
    if (!t || !cJSON_IsObject(obj))
        return NULL;
    type_walk w = {.msg = NULL};
    kn_buf_init(&w.path);
    kn_buf_append_str(&w.path, "");
    walk_object(&w, t, obj);
    kn_buf_free(&w.path);
    return w.msg;
}

/* kproto.c - Kubernetes protobuf bodies to JSON, driven by the schema table.
 *
 * A message is decoded in two passes over its bytes (which may be several
 * spans: a singular message field that occurs more than once is the
 * concatenation of its occurrences, as protobuf merging defines): scan()
 * files each field into a slot of its type's field table (last scalar,
 * spans of sub-messages, list elements, map entries), then build() writes
 * the JSON object in the table's (Go declaration) order with Go's omitempty
 * rules. Errors are sticky in the decoder: the first one is kept with the
 * field path where it happened, everything after it is skipped. */
#include "controlplane/kproto.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/json.h"
#include "lib/quantity.h"
#include "lib/strbuf.h"
#include "lib/xalloc.h"

/* ---- decoder state ------------------------------------------------------ */

typedef struct span {
    const uint8_t *p;
    size_t n;
} span;

/* One step of the field path, for error messages. */
typedef struct frame {
    const char *name; /* JSON field name; NULL for an inline struct */
    long index;       /* list index, or -1 */
    span key;         /* map key (p NULL when none) */
} frame;

typedef struct dec {
    const char *what; /* "Deployment" */
    int depth;
    size_t budget; /* JSON nodes still allowed */
    bool failed;
    char msg[256];
    frame path[KN_KPROTO_MAX_DEPTH * 2 + 8];
    int npath;
} dec;

static void path_format(const dec *d, kn_buf *b)
{
    int n = d->npath < (int)(sizeof(d->path) / sizeof(d->path[0]))
                ? d->npath
                : (int)(sizeof(d->path) / sizeof(d->path[0]));
    for (int i = 0; i < n; i++) {
        const frame *f = &d->path[i];
        if (f->name && *f->name)
            kn_buf_appendf(b, "%s%s", b->len ? "." : "", f->name);
        if (f->index >= 0)
            kn_buf_appendf(b, "[%ld]", f->index);
        if (f->key.p)
            kn_buf_appendf(b, "[%.*s]", (int)(f->key.n > 64 ? 64 : f->key.n),
                           (const char *)f->key.p);
    }
}

__attribute__((format(printf, 2, 3))) static void fail(dec *d, const char *fmt, ...)
{
    if (d->failed)
        return;
    d->failed = true;
    cleanup_buf kn_buf where = KN_BUF_INIT;
    path_format(d, &where);
    char what[192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    snprintf(d->msg, sizeof(d->msg), "%s%s%s: %s", d->what, where.len ? " " : "", where.data, what);
}

static void push(dec *d, const char *name, long index)
{
    if (d->npath < (int)(sizeof(d->path) / sizeof(d->path[0])))
        d->path[d->npath] = (frame){name, index, {NULL, 0}};
    d->npath++;
}

static void push_key(dec *d, const char *name, span key)
{
    push(d, name, -1);
    if (d->npath <= (int)(sizeof(d->path) / sizeof(d->path[0])))
        d->path[d->npath - 1].key = key;
}

static void pop(dec *d)
{
    d->npath--;
}

/* Every JSON node goes through here, so the output stays within budget. */
static cJSON *node(dec *d, cJSON *n)
{
    if (d->budget == 0) {
        fail(d, "the decoded object is larger than the body can describe");
        cJSON_Delete(n);
        return NULL;
    }
    d->budget--;
    return n;
}

/* ---- wire reading ------------------------------------------------------- */

typedef struct cur {
    const uint8_t *p, *end;
} cur;

/* A cursor over s (an empty span may have a NULL pointer). */
static cur mkcur(span s)
{
    return s.n ? (cur){s.p, s.p + s.n} : (cur){NULL, NULL};
}

static bool rd_varint(dec *d, cur *c, uint64_t *out)
{
    uint64_t v = 0;
    for (int shift = 0; shift < 70; shift += 7) {
        if (c->p >= c->end) {
            fail(d, "truncated varint");
            return false;
        }
        uint8_t b = *c->p++;
        v |= (uint64_t)(b & 0x7f) << (shift < 64 ? shift : 0);
        if (!(b & 0x80)) {
            *out = v;
            return true;
        }
        if (shift == 63) {
            fail(d, "varint longer than 10 bytes");
            return false;
        }
    }
    return false;
}

static bool rd_fixed64(dec *d, cur *c, uint64_t *out)
{
    if (c->end - c->p < 8) {
        fail(d, "truncated fixed64");
        return false;
    }
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | c->p[i];
    c->p += 8;
    *out = v;
    return true;
}

static bool rd_len(dec *d, cur *c, span *out)
{
    uint64_t n;
    if (!rd_varint(d, c, &n))
        return false;
    if (n > (uint64_t)(c->end - c->p)) {
        fail(d, "length %llu runs past the end of the data", (unsigned long long)n);
        return false;
    }
    *out = (span){c->p, (size_t)n};
    c->p += n;
    return true;
}

/* Reads a tag: field number and wire type. */
static bool rd_tag(dec *d, cur *c, uint32_t *num, int *wire)
{
    uint64_t t;
    if (!rd_varint(d, c, &t))
        return false;
    if ((t >> 3) == 0 || (t >> 3) > 0x1fffffff) {
        fail(d, "invalid field number %llu", (unsigned long long)(t >> 3));
        return false;
    }
    *num = (uint32_t)(t >> 3);
    *wire = (int)(t & 7);
    return true;
}

/* ---- values ------------------------------------------------------------- */

/* Well-formed UTF-8 (no overlongs, surrogates or values past U+10FFFF),
 * without NUL (a cJSON string ends there). */
static bool utf8_ok(const uint8_t *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint8_t c = s[i];
        if (c == 0)
            return false;
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t len = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 ? 2 : 0;
        if (len == 0 || c > 0xf4 || n - i < len)
            return false;
        uint8_t lo = 0x80, hi = 0xbf;
        if (c == 0xe0)
            lo = 0xa0;
        else if (c == 0xed)
            hi = 0x9f;
        else if (c == 0xf0)
            lo = 0x90;
        else if (c == 0xf4)
            hi = 0x8f;
        if (s[i + 1] < lo || s[i + 1] > hi)
            return false;
        for (size_t k = 2; k < len; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return false;
        }
        i += len;
    }
    return true;
}

static cJSON *str_node(dec *d, span s)
{
    if (s.n == 0)
        return node(d, cJSON_CreateString(""));
    if (!utf8_ok(s.p, s.n)) {
        fail(d, "string is not valid UTF-8 (or contains NUL)");
        return NULL;
    }
    char *tmp = xstrndup((const char *)s.p, s.n);
    cJSON *n = node(d, cJSON_CreateString(tmp));
    free(tmp);
    return n;
}

static cJSON *base64_node(dec *d, span s)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char *out = xmalloc(4 * ((s.n + 2) / 3) + 1), *o = out;
    size_t i = 0;
    for (; i + 2 < s.n; i += 3) {
        uint32_t v = (uint32_t)s.p[i] << 16 | (uint32_t)s.p[i + 1] << 8 | s.p[i + 2];
        *o++ = tab[v >> 18];
        *o++ = tab[(v >> 12) & 63];
        *o++ = tab[(v >> 6) & 63];
        *o++ = tab[v & 63];
    }
    if (i < s.n) {
        uint32_t v = (uint32_t)s.p[i] << 16 | (i + 1 < s.n ? (uint32_t)s.p[i + 1] << 8 : 0);
        *o++ = tab[v >> 18];
        *o++ = tab[(v >> 12) & 63];
        *o++ = i + 1 < s.n ? tab[(v >> 6) & 63] : '=';
        *o++ = '=';
    }
    *o = '\0';
    cJSON *n = node(d, cJSON_CreateString(out));
    free(out);
    return n;
}

static cJSON *int_node(dec *d, int64_t v)
{
    if (v > KN_JSON_MAX_SAFE_INT || v < -KN_JSON_MAX_SAFE_INT) {
        fail(d, "integer %lld is beyond what a JSON number holds exactly", (long long)v);
        return NULL;
    }
    return node(d, cJSON_CreateNumber((double)v));
}

/* A scalar kind from its raw wire value. */
static cJSON *scalar_node(dec *d, kn_schema_kind kind, uint64_t v)
{
    switch (kind) {
    case KN_SK_BOOL:
        return node(d, cJSON_CreateBool(v != 0));
    case KN_SK_INT32:
        return int_node(d, (int32_t)(uint32_t)v);
    case KN_SK_INT64:
        return int_node(d, (int64_t)v);
    default: {
        double f;
        memcpy(&f, &v, sizeof(f));
        if (!isfinite(f)) {
            fail(d, "floating-point value is not finite");
            return NULL;
        }
        return node(d, cJSON_CreateNumber(f));
    }
    }
}

/* The zero value of a scalar kind, or NULL for kinds whose zero is not a
 * scalar (nil slices and maps). */
static bool is_zero_scalar(kn_schema_kind kind, uint64_t v)
{
    if (kind == KN_SK_INT32)
        return (uint32_t)v == 0;
    if (kind == KN_SK_DOUBLE) {
        double f;
        memcpy(&f, &v, sizeof(f));
        return f == 0;
    }
    return v == 0;
}

/* ---- Time, MicroTime, Duration ------------------------------------------ */

/* Seconds of 0001-01-01T00:00:00Z, Go's zero time, from the Unix epoch. */
#define GO_ZERO_TIME INT64_C(-62135596800)
/* Seconds of 10000-01-01T00:00:00Z. */
#define YEAR_10000 INT64_C(253402300800)

/* Civil date from days since 1970-01-01 (proleptic Gregorian). */
static void civil(int64_t days, int *y, int *m, int *dd)
{
    days += 719468;
    int64_t era = (days >= 0 ? days : days - 146096) / 146097;
    int64_t doe = days - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *dd = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yoe + era * 400 + (*m <= 2));
}

/* Formats sec (+ micro when micro >= 0) as RFC 3339 in UTC. */
static void fmt_time(int64_t sec, long micro, char *buf, size_t size)
{
    int64_t days = sec >= 0 ? sec / 86400 : -((-sec + 86399) / 86400);
    int64_t rem = sec - days * 86400;
    int y, m, dd;
    civil(days, &y, &m, &dd);
    int n = snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d", y, m, dd, (int)(rem / 3600),
                     (int)(rem / 60 % 60), (int)(rem % 60));
    if (micro >= 0)
        snprintf(buf + n, size - (size_t)n, ".%06ldZ", micro);
    else
        snprintf(buf + n, size - (size_t)n, "Z");
}

typedef struct msgfields {
    uint64_t v[4]; /* last varint of fields 1..3 */
    span s[4];     /* last LEN payload of fields 1..3 */
    bool present[4];
} msgfields;

/* Scans a small fixed message (Timestamp, Duration, IntOrString, Quantity,
 * RawExtension) whose fields are 1..maxf; wires[i] is field i's wire type. */
static void scan_small(dec *d, const span *spans, size_t n, int maxf, const int *wires,
                       msgfields *mf)
{
    for (size_t i = 0; i < n && !d->failed; i++) {
        cur c = mkcur(spans[i]);
        while (c.p < c.end && !d->failed) {
            uint32_t num;
            int wire;
            if (!rd_tag(d, &c, &num, &wire))
                return;
            if ((int)num > maxf || wire != wires[num]) {
                fail(d, "unexpected field %u (wire type %d)", num, wire);
                return;
            }
            mf->present[num] = true;
            if (wire == 0)
                rd_varint(d, &c, &mf->v[num]);
            else
                rd_len(d, &c, &mf->s[num]);
        }
    }
}

static cJSON *time_node(dec *d, const span *spans, size_t n, bool micro)
{
    static const int wires[] = {-1, 0, 0};
    msgfields mf = {0};
    scan_small(d, spans, n, 2, wires, &mf);
    if (d->failed)
        return NULL;
    bool empty = true;
    for (size_t i = 0; i < n; i++)
        empty = empty && spans[i].n == 0;
    int64_t sec = (int64_t)mf.v[1];
    int64_t nsec = micro ? (int32_t)(uint32_t)mf.v[2] : 0;
    /* time.Unix normalizes nanoseconds outside [0, 1e9) into the seconds */
    if (nsec < 0 || nsec >= 1000000000) {
        sec += nsec / 1000000000;
        nsec %= 1000000000;
        if (nsec < 0) {
            nsec += 1000000000;
            sec--;
        }
    }
    if (empty || (sec == GO_ZERO_TIME && nsec == 0))
        return node(d, cJSON_CreateNull());
    if (sec < GO_ZERO_TIME || sec >= YEAR_10000) {
        fail(d, "time %lld is outside the years 1 to 9999", (long long)sec);
        return NULL;
    }
    char buf[40];
    fmt_time(sec, micro ? (long)(nsec / 1000) : -1, buf, sizeof(buf));
    return node(d, cJSON_CreateString(buf));
}

/* Appends v with up to prec fraction digits, trailing zeros dropped (the
 * fraction printing of Go's time.Duration.String). */
static void fmt_frac(kn_buf *b, uint64_t v, int prec)
{
    uint64_t unit = 1;
    for (int i = 0; i < prec; i++)
        unit *= 10;
    uint64_t whole = v / unit, frac = v % unit;
    kn_buf_appendf(b, "%llu", (unsigned long long)whole);
    if (frac) {
        char digits[24];
        snprintf(digits, sizeof(digits), "%0*llu", prec, (unsigned long long)frac);
        size_t len = strlen(digits);
        while (len > 0 && digits[len - 1] == '0')
            len--;
        kn_buf_appendf(b, ".%.*s", (int)len, digits);
    }
}

/* Go's time.Duration.String(): "1h2m3.5s", "1.5ms", "0s". */
static void fmt_duration(kn_buf *b, int64_t d)
{
    uint64_t u = d < 0 ? (uint64_t)0 - (uint64_t)d : (uint64_t)d;
    if (d < 0)
        kn_buf_append_char(b, '-');
    if (u == 0) {
        kn_buf_append_str(b, "0s");
    } else if (u < 1000) {
        kn_buf_appendf(b, "%lluns", (unsigned long long)u);
    } else if (u < 1000000) {
        fmt_frac(b, u, 3);
        kn_buf_append_str(b, "\xc2\xb5s"); /* U+00B5 MICRO SIGN */
    } else if (u < 1000000000) {
        fmt_frac(b, u, 6);
        kn_buf_append_str(b, "ms");
    } else {
        uint64_t h = u / 3600000000000ULL, rest = u % 3600000000000ULL;
        uint64_t m = rest / 60000000000ULL, ns = rest % 60000000000ULL;
        if (h)
            kn_buf_appendf(b, "%lluh", (unsigned long long)h);
        if (h || m)
            kn_buf_appendf(b, "%llum", (unsigned long long)m);
        fmt_frac(b, ns, 9);
        kn_buf_append_char(b, 's');
    }
}

static cJSON *duration_node(dec *d, const span *spans, size_t n)
{
    static const int wires[] = {-1, 0};
    msgfields mf = {0};
    scan_small(d, spans, n, 1, wires, &mf);
    if (d->failed)
        return NULL;
    cleanup_buf kn_buf b = KN_BUF_INIT;
    fmt_duration(&b, (int64_t)mf.v[1]);
    return node(d, cJSON_CreateString(b.data));
}

/* ---- IntOrString, Quantity, RawExtension -------------------------------- */

static cJSON *intstr_node(dec *d, const span *spans, size_t n)
{
    static const int wires[] = {-1, 0, 0, 2};
    msgfields mf = {0};
    scan_small(d, spans, n, 3, wires, &mf);
    if (d->failed)
        return NULL;
    if (mf.v[1] == 0)
        return int_node(d, (int32_t)(uint32_t)mf.v[2]);
    if (mf.v[1] == 1)
        return str_node(d, mf.s[3]);
    fail(d, "IntOrString type %llu is neither 0 (int) nor 1 (string)", (unsigned long long)mf.v[1]);
    return NULL;
}

static cJSON *quantity_node(dec *d, const span *spans, size_t n)
{
    static const int wires[] = {-1, 2};
    msgfields mf = {0};
    scan_small(d, spans, n, 1, wires, &mf);
    if (d->failed)
        return NULL;
    if (!mf.present[1])
        return node(d, cJSON_CreateString("0"));
    char *text = xstrndup((const char *)mf.s[1].p, mf.s[1].n);
    kn_quantity q;
    kn_error *err = NULL;
    cJSON *out = NULL;
    if (strlen(text) != mf.s[1].n || kn_quantity_parse(text, &q, &err) < 0) {
        fail(d, "quantity: %s", err ? kn_error_msg(err) : "contains NUL");
    } else {
        char buf[KN_QUANTITY_STRLEN];
        out = node(d, cJSON_CreateString(kn_quantity_string(&q, text, buf, sizeof(buf))));
    }
    kn_error_free(&err);
    free(text);
    return out;
}

/* RawExtension / FieldsV1: {raw = 1}; the bytes are JSON text. */
static cJSON *raw_node(dec *d, const span *spans, size_t n)
{
    static const int wires[] = {-1, 2};
    msgfields mf = {0};
    scan_small(d, spans, n, 1, wires, &mf);
    if (d->failed)
        return NULL;
    if (!mf.present[1])
        return node(d, cJSON_CreateNull());
    size_t cost = mf.s[1].n / 2 + 1;
    if (cost > d->budget) {
        fail(d, "the decoded object is larger than the body can describe");
        return NULL;
    }
    d->budget -= cost;
    cJSON *v = NULL;
    kn_error *err = NULL;
    if (kn_json_parse((const char *)mf.s[1].p, mf.s[1].n, 0, &v, &err) < 0)
        fail(d, "raw object is not JSON: %s", kn_error_msg(err));
    kn_error_free(&err);
    return v;
}

/* A value of a special kind from all occurrences of its field. Time,
 * MicroTime and Quantity have hand-written Unmarshal methods upstream that
 * replace the value rather than merge, so only the last occurrence counts. */
static cJSON *special_node(dec *d, kn_schema_kind kind, const span *spans, size_t n)
{
    if ((kind == KN_SK_TIME || kind == KN_SK_MICROTIME || kind == KN_SK_QUANTITY) && n > 1) {
        spans += n - 1;
        n = 1;
    }
    switch (kind) {
    case KN_SK_TIME:
        return time_node(d, spans, n, false);
    case KN_SK_MICROTIME:
        return time_node(d, spans, n, true);
    case KN_SK_DURATION:
        return duration_node(d, spans, n);
    case KN_SK_INT_OR_STRING:
        return intstr_node(d, spans, n);
    case KN_SK_QUANTITY:
        return quantity_node(d, spans, n);
    default:
        return raw_node(d, spans, n);
    }
}

/* ---- messages ----------------------------------------------------------- */

typedef struct mapent {
    span key;
    cJSON *val;
    size_t seq;
} mapent;

/* What scan() found for one field. */
typedef struct slot {
    bool present; /* a scalar or string/bytes was seen */
    uint64_t v;   /* last varint / fixed64 */
    span last;    /* last string / bytes payload */
    span *spans;  /* occurrences of a message-like field */
    size_t nspans, capspans;
    cJSON *list;  /* repeated: the array so far */
    long count;   /* repeated: elements so far */
    mapent *ents; /* maps: entries in input order */
    size_t nents, capents;
} slot;

static cJSON *decode_msg(dec *d, const kn_schema_type *t, const span *spans, size_t n);

static bool is_map(kn_schema_kind k)
{
    return k == KN_SK_MAP_STRING || k == KN_SK_MAP_BYTES || k == KN_SK_MAP_QUANTITY ||
           k == KN_SK_MAP_STRLIST;
}

static bool is_message_like(kn_schema_kind k)
{
    return k == KN_SK_MESSAGE || k >= KN_SK_INT_OR_STRING;
}

static void add_span(slot *s, span v)
{
    if (s->nspans == s->capspans) {
        s->capspans = s->capspans ? 2 * s->capspans : 2;
        s->spans = xrealloc(s->spans, s->capspans * sizeof(*s->spans));
    }
    s->spans[s->nspans++] = v;
}

/* One element of a repeated LEN field. */
static cJSON *elem_node(dec *d, const kn_schema_field *f, span v)
{
    switch ((kn_schema_kind)f->kind) {
    case KN_SK_STRING:
        return str_node(d, v);
    case KN_SK_BYTES:
        return base64_node(d, v);
    case KN_SK_MESSAGE:
        return decode_msg(d, f->type, &v, 1);
    default:
        return special_node(d, f->kind, &v, 1);
    }
}

static void append(slot *s, cJSON *v)
{
    if (!v)
        return;
    cJSON_AddItemToArray(s->list, v);
    s->count++;
}

/* Reads one element of a numeric list (wire = VARINT or I64). */
static cJSON *read_scalar(dec *d, const kn_schema_field *f, cur *c)
{
    uint64_t v;
    bool ok = kn_schema_wire_type(f) == KN_WIRE_I64 ? rd_fixed64(d, c, &v) : rd_varint(d, c, &v);
    return ok ? scalar_node(d, f->kind, v) : NULL;
}

static void scan_list(dec *d, const kn_schema_field *f, int wire, cur *c, slot *s)
{
    if (!s->list && !(s->list = node(d, cJSON_CreateArray())))
        return;
    span v;
    if (wire != KN_WIRE_LEN) {
        push(d, NULL, s->count);
        append(s, read_scalar(d, f, c));
        pop(d);
    } else if (!rd_len(d, c, &v)) {
        return;
    } else if (kn_schema_wire_type(f) == KN_WIRE_LEN) {
        push(d, NULL, s->count);
        append(s, elem_node(d, f, v));
        pop(d);
    } else {
        cur pc = mkcur(v); /* packed */
        while (pc.p < pc.end && !d->failed) {
            push(d, NULL, s->count);
            append(s, read_scalar(d, f, &pc));
            pop(d);
        }
    }
}

/* ExtraValue {repeated string items = 1} as a JSON array (null if empty). */
static cJSON *strlist_node(dec *d, span v)
{
    cJSON *arr = NULL;
    cur c = mkcur(v);
    long i = 0;
    while (c.p < c.end && !d->failed) {
        uint32_t num;
        int wire;
        span item;
        if (!rd_tag(d, &c, &num, &wire))
            break;
        if (num != 1 || wire != KN_WIRE_LEN) {
            fail(d, "unexpected field %u (wire type %d) in a string list", num, wire);
            break;
        }
        if (!rd_len(d, &c, &item) || (!arr && !(arr = node(d, cJSON_CreateArray()))))
            break;
        push(d, NULL, i++);
        cJSON *s = str_node(d, item);
        if (s)
            cJSON_AddItemToArray(arr, s);
        pop(d);
    }
    if (d->failed) {
        cJSON_Delete(arr);
        return NULL;
    }
    return arr ? arr : node(d, cJSON_CreateNull());
}

static cJSON *map_value(dec *d, kn_schema_kind kind, bool has, span v)
{
    if (kind == KN_SK_MAP_STRING)
        return str_node(d, v);
    if (kind == KN_SK_MAP_BYTES)
        return base64_node(d, v);
    if (kind == KN_SK_MAP_QUANTITY)
        return quantity_node(d, &v, has ? 1 : 0);
    return strlist_node(d, v);
}

/* A map entry {key = 1, value = 2}; either may be absent (empty). */
static void scan_map_entry(dec *d, const kn_schema_field *f, span e, slot *s)
{
    span key = {(const uint8_t *)"", 0}, val = {(const uint8_t *)"", 0};
    bool has_val = false;
    cur c = mkcur(e);
    while (c.p < c.end && !d->failed) {
        uint32_t num;
        int wire;
        if (!rd_tag(d, &c, &num, &wire))
            return;
        if ((num != 1 && num != 2) || wire != KN_WIRE_LEN) {
            fail(d, "unexpected field %u (wire type %d) in a map entry", num, wire);
            return;
        }
        if (!rd_len(d, &c, num == 1 ? &key : &val))
            return;
        has_val = has_val || num == 2;
    }
    if (!utf8_ok(key.p, key.n)) {
        fail(d, "map key is not valid UTF-8 (or contains NUL)");
        return;
    }
    push_key(d, NULL, key);
    cJSON *v = map_value(d, f->kind, has_val, val);
    pop(d);
    if (!v)
        return;
    if (s->nents == s->capents) {
        s->capents = s->capents ? 2 * s->capents : 4;
        s->ents = xrealloc(s->ents, s->capents * sizeof(*s->ents));
    }
    s->ents[s->nents] = (mapent){key, v, s->nents};
    s->nents++;
}

static void scan_field(dec *d, const kn_schema_field *f, int wire, cur *c, slot *s)
{
    int want = kn_schema_wire_type(f);
    bool packed = (f->flags & KN_SF_REPEATED) && want != KN_WIRE_LEN && wire == KN_WIRE_LEN;
    if (wire != want && !packed) {
        fail(d, "wire type %d does not fit a %s field (protobuf field %u)", wire,
             kn_schema_kind_name(f->kind), f->num);
        return;
    }
    span v;
    if (is_map(f->kind)) {
        if (rd_len(d, c, &v))
            scan_map_entry(d, f, v, s);
    } else if (f->flags & KN_SF_REPEATED) {
        scan_list(d, f, wire, c, s);
    } else if (want == KN_WIRE_LEN) {
        if (!rd_len(d, c, &v))
            return;
        if (is_message_like(f->kind))
            add_span(s, v);
        else
            s->last = v;
        s->present = true;
    } else {
        s->present = want == KN_WIRE_I64 ? rd_fixed64(d, c, &s->v) : rd_varint(d, c, &s->v);
    }
}

static void scan_span(dec *d, const kn_schema_type *t, span sp, slot *slots)
{
    cur c = mkcur(sp);
    while (c.p < c.end && !d->failed) {
        uint32_t num;
        int wire;
        if (!rd_tag(d, &c, &num, &wire))
            return;
        const kn_schema_field *f = kn_schema_field_by_number(t, num);
        if (!f) {
            fail(d, "unknown field %u (wire type %d) of %s", num, wire, t->name);
            return;
        }
        push(d, (f->flags & KN_SF_INLINE) ? NULL : f->json, -1);
        scan_field(d, f, wire, &c, &slots[f - t->fields]);
        pop(d);
    }
}

/* ---- building the JSON object ------------------------------------------- */

static int cmp_ent(const void *a, const void *b)
{
    const mapent *x = a, *y = b;
    size_t n = x->key.n < y->key.n ? x->key.n : y->key.n;
    int c = memcmp(x->key.p, y->key.p, n);
    if (c == 0 && x->key.n != y->key.n)
        c = x->key.n < y->key.n ? -1 : 1;
    if (c == 0)
        c = x->seq < y->seq ? -1 : 1;
    return c;
}

static bool same_key(const mapent *a, const mapent *b)
{
    return a->key.n == b->key.n && memcmp(a->key.p, b->key.p, a->key.n) == 0;
}

/* Go writes maps with sorted keys; a key given twice keeps its last value. */
static cJSON *map_finish(dec *d, slot *s)
{
    cJSON *obj = node(d, cJSON_CreateObject());
    if (!obj)
        return NULL;
    qsort(s->ents, s->nents, sizeof(*s->ents), cmp_ent);
    for (size_t i = 0; i < s->nents; i++) {
        mapent *e = &s->ents[i];
        if (i + 1 < s->nents && same_key(e, &s->ents[i + 1]))
            continue; /* a later value wins; deleted with the slot */
        char *key = xstrndup((const char *)e->key.p, e->key.n);
        cJSON_AddItemToObject(obj, key, e->val);
        free(key);
        e->val = NULL;
    }
    return obj;
}

/* The JSON of an absent field: omitted (NULL), or its Go zero value. */
static cJSON *absent(dec *d, const kn_schema_field *f)
{
    if (f->flags & KN_SF_OMITEMPTY)
        return NULL;
    if ((f->flags & (KN_SF_POINTER | KN_SF_REPEATED)) || is_map(f->kind) || f->kind == KN_SK_BYTES)
        return node(d, cJSON_CreateNull());
    if (f->kind == KN_SK_STRING)
        return node(d, cJSON_CreateString(""));
    return scalar_node(d, f->kind, 0);
}

static cJSON *field_value(dec *d, const kn_schema_field *f, slot *s)
{
    bool ptr = f->flags & KN_SF_POINTER, omit = f->flags & KN_SF_OMITEMPTY;
    if (f->flags & KN_SF_REPEATED) {
        if (s->count == 0)
            return absent(d, f);
        cJSON *l = s->list;
        s->list = NULL;
        return l;
    }
    if (is_map(f->kind))
        return s->nents ? map_finish(d, s) : absent(d, f);
    if (f->kind == KN_SK_MESSAGE || is_message_like(f->kind)) {
        if (s->nspans == 0 && ptr)
            return absent(d, f);
        if (f->kind == KN_SK_MESSAGE)
            return decode_msg(d, f->type, s->spans, s->nspans);
        return special_node(d, f->kind, s->spans, s->nspans);
    }
    if (!s->present)
        return ptr ? absent(d, f) : omit ? NULL : absent(d, f);
    if (f->kind == KN_SK_STRING)
        return omit && !ptr && s->last.n == 0 ? NULL : str_node(d, s->last);
    if (f->kind == KN_SK_BYTES)
        return omit && s->last.n == 0 ? NULL : base64_node(d, s->last);
    if (omit && !ptr && is_zero_scalar(f->kind, s->v))
        return NULL;
    return scalar_node(d, f->kind, s->v);
}

/* Moves every member of from to the end of obj (an inline struct). */
static void move_members(cJSON *obj, cJSON *from)
{
    while (from && from->child) {
        cJSON *m = cJSON_DetachItemViaPointer(from, from->child);
        cJSON_AddItemToObject(obj, m->string, m);
    }
    cJSON_Delete(from);
}

static cJSON *build(dec *d, const kn_schema_type *t, slot *slots)
{
    cJSON *obj = node(d, cJSON_CreateObject());
    for (size_t i = 0; obj && i < t->nfields && !d->failed; i++) {
        const kn_schema_field *f = &t->fields[i];
        if (f->flags & KN_SF_INLINE) {
            move_members(obj, decode_msg(d, f->type, slots[i].spans, slots[i].nspans));
            continue;
        }
        push(d, f->json, -1);
        cJSON *v = field_value(d, f, &slots[i]);
        pop(d);
        if (v)
            cJSON_AddItemToObject(obj, f->json, v);
    }
    if (d->failed) {
        cJSON_Delete(obj);
        return NULL;
    }
    return obj;
}

static void free_slots(const kn_schema_type *t, slot *slots)
{
    for (size_t i = 0; i < t->nfields; i++) {
        free(slots[i].spans);
        cJSON_Delete(slots[i].list);
        for (size_t k = 0; k < slots[i].nents; k++)
            cJSON_Delete(slots[i].ents[k].val);
        free(slots[i].ents);
    }
    free(slots);
}

static cJSON *decode_msg(dec *d, const kn_schema_type *t, const span *spans, size_t n)
{
    if (d->depth >= KN_KPROTO_MAX_DEPTH) {
        fail(d, "messages nested deeper than %d", KN_KPROTO_MAX_DEPTH);
        return NULL;
    }
    d->depth++;
    slot *slots = xcalloc(t->nfields ? t->nfields : 1, sizeof(*slots));
    for (size_t i = 0; i < n && !d->failed; i++)
        scan_span(d, t, spans[i], slots);
    cJSON *obj = d->failed ? NULL : build(d, t, slots);
    free_slots(t, slots);
    d->depth--;
    return obj;
}

/* ---- the envelope ------------------------------------------------------- */

typedef struct envelope {
    span api_version, kind, raw, encoding, content_type;
} envelope;

static void scan_type_meta(dec *d, span tm, envelope *env)
{
    cur c = mkcur(tm);
    while (c.p < c.end && !d->failed) {
        uint32_t num;
        int wire;
        if (!rd_tag(d, &c, &num, &wire))
            return;
        if ((num != 1 && num != 2) || wire != KN_WIRE_LEN) {
            fail(d, "unexpected field %u (wire type %d) in typeMeta", num, wire);
            return;
        }
        rd_len(d, &c, num == 1 ? &env->api_version : &env->kind);
    }
}

static void scan_envelope(dec *d, cur *c, envelope *env)
{
    while (c->p < c->end && !d->failed) {
        uint32_t num;
        int wire;
        span v;
        if (!rd_tag(d, c, &num, &wire))
            return;
        if (num < 1 || num > 4 || wire != KN_WIRE_LEN) {
            fail(d, "unexpected field %u (wire type %d) in runtime.Unknown", num, wire);
            return;
        }
        if (!rd_len(d, c, &v))
            return;
        if (num == 1)
            scan_type_meta(d, v, env);
        else
            *(num == 2 ? &env->raw : num == 3 ? &env->encoding : &env->content_type) = v;
    }
}

static int check_envelope(const envelope *env, kn_error **err)
{
    if (!utf8_ok(env->api_version.p, env->api_version.n) || !utf8_ok(env->kind.p, env->kind.n))
        return kn_error_set(err, KN_EINVAL, "protobuf body: apiVersion or kind is not UTF-8");
    if (env->kind.n == 0 || env->api_version.n == 0)
        return kn_error_set(err, KN_EINVAL,
                            "protobuf body: Object 'Kind' or 'apiVersion' is "
                            "missing in the runtime.Unknown envelope");
    if (env->encoding.n)
        return kn_error_set(err, KN_EINVAL,
                            "protobuf body: content encoding \"%.*s\" is not supported",
                            (int)(env->encoding.n > 64 ? 64 : env->encoding.n), env->encoding.p);
    if (env->content_type.n &&
        (env->content_type.n != strlen(KN_KPROTO_MEDIA_TYPE) ||
         memcmp(env->content_type.p, KN_KPROTO_MEDIA_TYPE, env->content_type.n) != 0))
        return kn_error_set(
            err, KN_EINVAL, "protobuf body: raw content type \"%.*s\" is not supported",
            (int)(env->content_type.n > 64 ? 64 : env->content_type.n), env->content_type.p);
    return 0;
}

static void dec_init(dec *d, const char *what, size_t len)
{
    memset(d, 0, sizeof(*d));
    d->what = what;
    d->budget = 4096 + len / 2;
}

int kn_kproto_decode_message(const kn_schema_type *t, const void *data, size_t len, cJSON **out,
                             kn_error **err)
{
    dec d;
    dec_init(&d, t->kind ? t->kind : t->name, len);
    span whole = {data, len};
    cJSON *obj = decode_msg(&d, t, &whole, 1);
    if (!obj)
        return kn_error_set(err, KN_EINVAL, "protobuf body: %s", d.msg);
    *out = obj;
    return 0;
}

int kn_kproto_decode(const void *data, size_t len, cJSON **out, kn_error **err)
{
    if (len < 4 || memcmp(data, "k8s\0", 4) != 0)
        return kn_error_set(err, KN_EINVAL,
                            "protobuf body: it does not start with the \"k8s\\0\" prefix");
    dec d;
    dec_init(&d, "envelope", len);
    envelope env = {0};
    cur c = {(const uint8_t *)data + 4, (const uint8_t *)data + len};
    scan_envelope(&d, &c, &env);
    if (d.failed)
        return kn_error_set(err, KN_EINVAL, "protobuf body: %s", d.msg);
    if (check_envelope(&env, err) < 0)
        return -KN_EINVAL;
    char *av = xstrndup((const char *)env.api_version.p, env.api_version.n);
    char *kind = xstrndup((const char *)env.kind.p, env.kind.n);
    const kn_schema_type *t = kn_schema_by_kind(av, kind);
    cJSON *obj = NULL;
    int rc = t ? kn_kproto_decode_message(t, env.raw.p, env.raw.n, &obj, err)
               : kn_error_set(err, KN_EINVAL,
                              "protobuf body: no kind \"%s\" is registered for version \"%s\"",
                              kind, av);
    if (rc == 0) {
        cJSON *top = cJSON_CreateObject();
        cJSON_AddStringToObject(top, "kind", kind);
        cJSON_AddStringToObject(top, "apiVersion", av);
        move_members(top, obj);
        *out = top;
    }
    free(av);
    free(kind);
    return rc;
}

bool kn_kproto_is_media_type(const char *content_type)
{
    if (!content_type)
        return false;
    while (*content_type == ' ' || *content_type == '\t')
        content_type++;
    size_t n = strlen(KN_KPROTO_MEDIA_TYPE);
    if (strncasecmp(content_type, KN_KPROTO_MEDIA_TYPE, n) != 0)
        return false;
    char next = content_type[n];
    return next == '\0' || next == ';' || next == ' ' || next == '\t';
}

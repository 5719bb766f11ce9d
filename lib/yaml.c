#include "lib/yaml.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "lib/cleanup.h"
#include "lib/json.h"
#include "lib/strbuf.h"
#include "lib/xalloc.h"

#define TAG_PREFIX "tag:yaml.org,2002:"

/* ---- a small string-keyed hash map (keys borrowed) ---- */

typedef struct strmap_slot {
    const char *key;
    void *val;
} strmap_slot;

typedef struct strmap {
    strmap_slot *slots;
    size_t cap, n; /* cap: a power of two, or 0 */
} strmap;

static uint64_t str_hash(const char *s)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static strmap_slot *strmap_find(const strmap *m, const char *key)
{
    size_t i = (size_t)str_hash(key) & (m->cap - 1);
    while (m->slots[i].key && strcmp(m->slots[i].key, key) != 0)
        i = (i + 1) & (m->cap - 1);
    return &m->slots[i];
}

static void *strmap_get(const strmap *m, const char *key)
{
    return m->cap ? strmap_find(m, key)->val : NULL;
}

static void strmap_put(strmap *m, const char *key, void *val);

static void strmap_grow(strmap *m)
{
    strmap old = *m;
    m->cap = old.cap ? old.cap * 2 : 8;
    m->slots = xcalloc(m->cap, sizeof(*m->slots));
    m->n = 0;
    for (size_t i = 0; i < old.cap; i++)
        if (old.slots[i].key)
            strmap_put(m, old.slots[i].key, old.slots[i].val);
    free(old.slots);
}

/* Inserts or overwrites; key must outlive the entry. */
static void strmap_put(strmap *m, const char *key, void *val)
{
    if ((m->n + 1) * 4 > m->cap * 3)
        strmap_grow(m);
    strmap_slot *s = strmap_find(m, key);
    if (!s->key)
        m->n++;
    s->key = key;
    s->val = val;
}

static void strmap_free(strmap *m)
{
    free(m->slots);
    *m = (strmap){0};
}

/* ---- scalars and their resolution (go-yaml v2's resolve()) ---- */

typedef struct scalar {
    const char *value; /* NUL-terminated; may hold NULs before len */
    size_t len;
    const char *tag;     /* expanded ("tag:yaml.org,2002:int"), or NULL */
    bool plain_implicit; /* plain and untagged (or tagged "!") */
    yaml_mark_t mark;
} scalar;

typedef enum rkind { R_STR, R_INT, R_UINT, R_FLOAT, R_BOOL, R_NULL } rkind;

typedef struct resolved {
    rkind kind;
    int64_t i;
    uint64_t u;
    double d;
    bool b;
    const char *str; /* R_STR: the text (value, or owned when decoded) */
    size_t len;
    char *owned;
} resolved;

typedef struct word {
    const char *text;
    rkind kind;
    double d; /* R_FLOAT */
    bool b;   /* R_BOOL */
} word;

static const word words[] = {
    {"y", R_BOOL, 0, true},           {"Y", R_BOOL, 0, true},
    {"yes", R_BOOL, 0, true},         {"Yes", R_BOOL, 0, true},
    {"YES", R_BOOL, 0, true},         {"true", R_BOOL, 0, true},
    {"True", R_BOOL, 0, true},        {"TRUE", R_BOOL, 0, true},
    {"on", R_BOOL, 0, true},          {"On", R_BOOL, 0, true},
    {"ON", R_BOOL, 0, true},          {"n", R_BOOL, 0, false},
    {"N", R_BOOL, 0, false},          {"no", R_BOOL, 0, false},
    {"No", R_BOOL, 0, false},         {"NO", R_BOOL, 0, false},
    {"false", R_BOOL, 0, false},      {"False", R_BOOL, 0, false},
    {"FALSE", R_BOOL, 0, false},      {"off", R_BOOL, 0, false},
    {"Off", R_BOOL, 0, false},        {"OFF", R_BOOL, 0, false},
    {"", R_NULL, 0, false},           {"~", R_NULL, 0, false},
    {"null", R_NULL, 0, false},       {"Null", R_NULL, 0, false},
    {"NULL", R_NULL, 0, false},       {".nan", R_FLOAT, NAN, 0},
    {".NaN", R_FLOAT, NAN, 0},        {".NAN", R_FLOAT, NAN, 0},
    {".inf", R_FLOAT, INFINITY, 0},   {".Inf", R_FLOAT, INFINITY, 0},
    {".INF", R_FLOAT, INFINITY, 0},   {"+.inf", R_FLOAT, INFINITY, 0},
    {"+.Inf", R_FLOAT, INFINITY, 0},  {"+.INF", R_FLOAT, INFINITY, 0},
    {"-.inf", R_FLOAT, -INFINITY, 0}, {"-.Inf", R_FLOAT, -INFINITY, 0},
    {"-.INF", R_FLOAT, -INFINITY, 0},
};

static int digit_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'Z')
        return c - 'A' + 10;
    return 99;
}

/* Go's strconv.ParseUint(s, 0, 64) (no underscores, no sign). */
static bool go_parse_uint(const char *s, uint64_t *out)
{
    unsigned base = 10;
    if (s[0] == '\0')
        return false;
    if (s[0] == '0') {
        char p = (char)(s[1] | 0x20);
        bool prefixed = s[1] && s[2] && (p == 'b' || p == 'o' || p == 'x');
        base = !prefixed ? 8 : p == 'b' ? 2 : p == 'o' ? 8 : 16;
        s += prefixed ? 2 : 1;
    }
    uint64_t v = 0;
    for (; *s; s++) {
        unsigned d = (unsigned)digit_value(*s);
        if (d >= base || v > (UINT64_MAX - d) / base)
            return false;
        v = v * base + d;
    }
    *out = v;
    return true;
}

/* Go's strconv.ParseInt(s, 0, 64). */
static bool go_parse_int(const char *s, int64_t *out)
{
    bool neg = s[0] == '-';
    if (s[0] == '+' || s[0] == '-')
        s++;
    uint64_t u;
    if (!go_parse_uint(s, &u))
        return false;
    if (!neg && u > (uint64_t)INT64_MAX)
        return false;
    if (neg && u > (uint64_t)INT64_MAX + 1)
        return false;
    *out = neg ? (int64_t)(0 - u) : (int64_t)u;
    return true;
}

/* go-yaml's float pattern: ^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$ */
static bool yaml_float_syntax(const char *s)
{
    size_t i = 0, n;
    if (s[i] == '+' || s[i] == '-')
        i++;
    if (s[i] == '.') {
        n = strspn(s + ++i, "0123456789");
        if (n == 0)
            return false;
        i += n;
    } else {
        n = strspn(s + i, "0123456789");
        if (n == 0)
            return false;
        i += n;
        if (s[i] == '.')
            i += 1 + strspn(s + i + 1, "0123456789");
    }
    if (s[i] == 'e' || s[i] == 'E') {
        i++;
        if (s[i] == '+' || s[i] == '-')
            i++;
        n = strspn(s + i, "0123456789");
        if (n == 0)
            return false;
        i += n;
    }
    return s[i] == '\0';
}

/* Parses a float the pattern accepted; false when it overflows (Go's
 * ParseFloat then fails and the scalar stays a string). */
static bool parse_float(const char *s, double *out)
{
    double d = strtod(s, NULL);
    if (isinf(d))
        return false;
    *out = d;
    return true;
}

/* Numbers for a plain scalar whose first character is a digit or sign. */
static bool resolve_number(const char *in, resolved *r)
{
    char *plain = xmalloc(strlen(in) + 1);
    size_t n = 0;
    for (const char *c = in; *c; c++)
        if (*c != '_')
            plain[n++] = *c;
    plain[n] = '\0';
    bool ok = true;
    if (go_parse_int(plain, &r->i))
        r->kind = R_INT;
    else if (go_parse_uint(plain, &r->u))
        r->kind = R_UINT;
    else if (yaml_float_syntax(plain) && parse_float(plain, &r->d))
        r->kind = R_FLOAT;
    else
        ok = false;
    free(plain);
    return ok;
}

/* go-yaml v2 resolve() for an implicit or !!-tagged scalar: the kind of the
 * text, ignoring the tag except that !!str (and !!binary) take it as is. */
static void resolve_plain(const scalar *sc, bool as_str, resolved *r)
{
    r->kind = R_STR;
    r->str = sc->value;
    r->len = sc->len;
    if (as_str || strlen(sc->value) != sc->len)
        return;
    for (size_t i = 0; i < KN_ARRAY_SIZE(words); i++) {
        if (strcmp(words[i].text, sc->value) == 0) {
            r->kind = words[i].kind;
            r->d = words[i].d;
            r->b = words[i].b;
            return;
        }
    }
    char c = sc->value[0];
    if (c == '.') {
        if (yaml_float_syntax(sc->value) && parse_float(sc->value, &r->d))
            r->kind = R_FLOAT;
    } else if ((c >= '0' && c <= '9') || c == '+' || c == '-') {
        resolve_number(sc->value, r);
    }
}

static const char *kind_tag(rkind k)
{
    static const char *const names[] = {"!!str", "!!int", "!!int", "!!float", "!!bool", "!!null"};
    return names[k];
}

static int b64_value(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    return c == '+' ? 62 : c == '/' ? 63 : -1;
}

/* Standard base64 with padding, line breaks ignored (Go's StdEncoding). */
static bool b64_decode(const char *s, size_t len, kn_buf *out)
{
    uint32_t acc = 0;
    int nbits = 0, pad = 0;
    size_t nchars = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '\r' || s[i] == '\n')
            continue;
        nchars++;
        if (s[i] == '=') {
            pad++;
            continue;
        }
        int v = b64_value(s[i]);
        if (v < 0 || pad)
            return false;
        acc = (acc << 6) | (uint32_t)v;
        nbits += 6;
        if (nbits >= 8) {
            nbits -= 8;
            kn_buf_append_char(out, (char)((acc >> nbits) & 0xff));
        }
    }
    return nchars % 4 == 0 && pad <= 2 && (pad == 0 || nbits == 2 * pad);
}

/* ---- the builder: libyaml events to cJSON ---- */

/* An anchor: a scalar's text (re-resolved on use) or a collection in the
 * current document's tree (borrowed). */
typedef struct anchor {
    char *name;
    bool is_scalar;
    scalar sc; /* owned copies of value and tag */
    const cJSON *node;
    size_t count; /* nodes in the anchored subtree */
    int height;
    struct anchor *next;
} anchor;

typedef struct frame {
    cJSON *node; /* owned until attached to its parent */
    bool is_map;
    char *anchor;
    yaml_mark_t mark;
    size_t count; /* nodes in this subtree, keys included */
    int height;
    /* mappings: the pending key, the members so far, merge sources */
    char *key;
    yaml_mark_t key_mark;
    bool have_key, key_merge;
    strmap keys;
    cJSON *merges;
} frame;

typedef struct builder {
    const char *data; /* the input, for reader-error positions */
    size_t len;
    const char *name;
    unsigned flags;
    size_t max_docs; /* 0: any number */
    kn_error **err;
    frame *st;
    size_t depth, cap;
    cJSON *root;
    yaml_mark_t doc_mark;
    strmap anchors;
    anchor *anchor_list;
    cJSON *graveyard; /* detached nodes anchors may still point into */
    size_t decodes, aliased;
    kn_yaml_docs *out;
} builder;

static int yerr_at(builder *b, kn_errcode code, size_t line, size_t col, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static int yerr_at(builder *b, kn_errcode code, size_t line, size_t col, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    cleanup_free char *msg = xvasprintf(fmt, ap);
    va_end(ap);
    return kn_error_set(b->err, code, "%s%sline %zu, column %zu: %s", b->name ? b->name : "",
                        b->name ? ": " : "", line, col, msg);
}

#define YERR(b, code, mark, ...)                                                                   \
    yerr_at((b), (code), (mark).line + 1, (mark).column + 1, __VA_ARGS__)

/* A scalar's text for messages, shortened. */
static const char *show(char buf[48], const char *s)
{
    size_t n = strlen(s);
    if (n <= 40)
        return s;
    snprintf(buf, 48, "%.37s...", s);
    return buf;
}

/* Resolves sc with its tag as go-yaml v2 does (see yaml.h). */
static int resolve(builder *b, const scalar *sc, resolved *r)
{
    memset(r, 0, sizeof(*r));
    const char *tag = sc->tag;
    if (!tag && !sc->plain_implicit) {
        resolve_plain(sc, true, r);
        return 0;
    }
    if (tag && strncmp(tag, TAG_PREFIX, strlen(TAG_PREFIX)) == 0)
        tag += strlen(TAG_PREFIX);
    else if (tag)
        tag = "other";
    if (tag && strcmp(tag, "binary") == 0) {
        kn_buf raw = KN_BUF_INIT;
        if (!b64_decode(sc->value, sc->len, &raw)) {
            kn_buf_free(&raw);
            return YERR(b, KN_EINVAL, sc->mark, "!!binary value contains invalid base64 data");
        }
        r->kind = R_STR;
        r->len = raw.len;
        r->str = r->owned = kn_buf_steal(&raw);
        return 0;
    }
    bool as_str = tag && strcmp(tag, "int") && strcmp(tag, "float") && strcmp(tag, "bool") &&
                  strcmp(tag, "null");
    resolve_plain(sc, as_str, r);
    if (!tag || as_str)
        return 0;
    if (strcmp(tag, "float") == 0 && r->kind == R_INT) {
        r->kind = R_FLOAT;
        r->d = (double)r->i;
    } else if (strcmp(tag, "float") == 0 && r->kind == R_UINT) {
        r->kind = R_FLOAT;
        r->d = (double)r->u;
    }
    if (strcmp(kind_tag(r->kind) + 2, tag) != 0) {
        char buf[48];
        return YERR(b, KN_EINVAL, sc->mark, "cannot decode %s `%s` as a !!%s", kind_tag(r->kind),
                    show(buf, sc->value), tag);
    }
    return 0;
}

/* The scalar as a cJSON value. */
static int scalar_value(builder *b, const scalar *sc, cJSON **out)
{
    resolved r;
    if (resolve(b, sc, &r) < 0)
        return -KN_EINVAL;
    int ret = 0;
    switch (r.kind) {
    case R_STR:
        if (strlen(r.str) != r.len)
            ret = YERR(b, KN_EINVAL, sc->mark, "a string with a NUL character is not supported");
        else
            *out = cJSON_CreateString(r.str);
        break;
    case R_INT:
        *out = cJSON_CreateNumber((double)r.i);
        break;
    case R_UINT:
        *out = cJSON_CreateNumber((double)r.u);
        break;
    case R_FLOAT:
        if (isfinite(r.d))
            *out = cJSON_CreateNumber(r.d);
        else
            ret = YERR(b, KN_EINVAL, sc->mark, "%s cannot be represented in JSON", sc->value);
        break;
    case R_BOOL:
        *out = cJSON_CreateBool(r.b);
        break;
    case R_NULL:
        *out = cJSON_CreateNull();
        break;
    }
    free(r.owned);
    return ret;
}

/* Go's strconv.FormatFloat(d, 'g', -1, 32): shortest digits that read back
 * as the same float32; exponent form when exp < -4 or exp >= 6. */
static char *format_float32(double d)
{
    float f = (float)d;
    if (isnan(f))
        return xstrdup(".nan");
    if (isinf(f))
        return xstrdup(f > 0 ? ".inf" : "-.inf");
    char e[48];
    for (int prec = 1; prec <= 9; prec++) {
        snprintf(e, sizeof(e), "%.*e", prec - 1, (double)f);
        if ((float)strtod(e, NULL) == f)
            break;
    }
    /* e: [-]D[.DDD]e[+-]XX */
    bool neg = e[0] == '-';
    char digits[16];
    size_t nd = 0;
    const char *c = e + neg;
    for (; *c != 'e'; c++)
        if (*c != '.')
            digits[nd++] = *c;
    while (nd > 1 && digits[nd - 1] == '0')
        nd--;
    int exp = atoi(c + 1);
    kn_buf out = KN_BUF_INIT;
    if (neg)
        kn_buf_append_char(&out, '-');
    if (exp < -4 || exp >= 6) {
        kn_buf_append_char(&out, digits[0]);
        if (nd > 1) {
            kn_buf_append_char(&out, '.');
            kn_buf_append(&out, digits + 1, nd - 1);
        }
        kn_buf_appendf(&out, "e%c%02d", exp < 0 ? '-' : '+', abs(exp));
    } else if (exp < 0) {
        kn_buf_append_str(&out, "0.");
        for (int i = -1; i > exp; i--)
            kn_buf_append_char(&out, '0');
        kn_buf_append(&out, digits, nd);
    } else {
        size_t dp = (size_t)exp + 1;
        for (size_t i = 0; i < (nd > dp ? nd : dp); i++) {
            if (i == dp)
                kn_buf_append_char(&out, '.');
            kn_buf_append_char(&out, i < nd ? digits[i] : '0');
        }
    }
    return kn_buf_steal(&out);
}

static bool is_merge_key(const scalar *sc)
{
    return strcmp(sc->value, "<<") == 0 && sc->len == 2 &&
           (sc->plain_implicit || (sc->tag && strcmp(sc->tag, TAG_PREFIX "merge") == 0));
}

/* The scalar as a mapping key string (sigs.k8s.io/yaml's conversion). */
static int scalar_key(builder *b, const scalar *sc, char **out)
{
    resolved r;
    if (resolve(b, sc, &r) < 0)
        return -KN_EINVAL;
    int ret = 0;
    switch (r.kind) {
    case R_STR:
        if (strlen(r.str) != r.len)
            ret = YERR(b, KN_EINVAL, sc->mark, "a key with a NUL character is not supported");
        else
            *out = xstrdup(r.str);
        break;
    case R_INT:
        *out = xasprintf("%" PRId64, r.i);
        break;
    case R_UINT:
        ret =
            YERR(b, KN_EINVAL, sc->mark, "unsupported mapping key %" PRIu64 " (beyond int64)", r.u);
        break;
    case R_FLOAT:
        *out = format_float32(r.d);
        break;
    case R_BOOL:
        *out = xstrdup(r.b ? "true" : "false");
        break;
    case R_NULL:
        ret = YERR(b, KN_EINVAL, sc->mark, "unsupported mapping key: null");
        break;
    }
    free(r.owned);
    return ret;
}

static frame *top(builder *b)
{
    return b->depth ? &b->st[b->depth - 1] : NULL;
}

static bool wants_key(const frame *f)
{
    return f && f->is_map && !f->have_key;
}

static void bury(builder *b, cJSON *node)
{
    if (!b->graveyard)
        b->graveyard = cJSON_CreateArray();
    cJSON_AddItemToArray(b->graveyard, node);
}

static int set_key(builder *b, frame *f, const scalar *sc)
{
    f->count++;
    if (is_merge_key(sc)) {
        f->key_merge = true;
    } else if (scalar_key(b, sc, &f->key) < 0) {
        return -KN_EINVAL;
    }
    f->have_key = true;
    f->key_mark = sc->mark;
    return 0;
}

/* A merge value: a mapping, or a sequence of mappings. Kept whole (anchors
 * may point into it) and applied when the mapping ends. */
static int add_merge(builder *b, frame *f, cJSON *v, yaml_mark_t mark)
{
    bool ok = cJSON_IsObject(v) || cJSON_IsArray(v);
    const cJSON *el;
    if (cJSON_IsArray(v))
        cJSON_ArrayForEach(el, v) ok = ok && cJSON_IsObject(el);
    if (!ok) {
        cJSON_Delete(v);
        return YERR(b, KN_EINVAL, mark, "map merge requires map or sequence of maps as the value");
    }
    if (!f->merges)
        f->merges = cJSON_CreateArray();
    cJSON_AddItemToArray(f->merges, v);
    return 0;
}

/* Adds key: v to mapping f, enforcing unique keys. */
static int add_member(builder *b, frame *f, cJSON *v)
{
    cleanup_free char *key = kn_steal_ptr(f->key);
    f->have_key = false;
    cJSON *old = strmap_get(&f->keys, key);
    if (old) {
        if (!(b->flags & KN_YAML_ALLOW_DUPLICATES)) {
            cJSON_Delete(v);
            char buf[48];
            return YERR(b, KN_EINVAL, f->key_mark, "duplicate key \"%s\"", show(buf, key));
        }
        bury(b, cJSON_DetachItemViaPointer(f->node, old));
    }
    cJSON_AddItemToObject(f->node, key, v);
    strmap_put(&f->keys, v->string, v);
    return 0;
}

/* Attaches a finished value (owned; freed on failure) to the open
 * collection, or makes it the document's root. */
static int put_value(builder *b, cJSON *v, size_t count, int height, yaml_mark_t mark)
{
    frame *f = top(b);
    if (!f) {
        b->root = v;
        return 0;
    }
    f->count += count;
    if (height + 1 > f->height)
        f->height = height + 1;
    if (!f->is_map) {
        cJSON_AddItemToArray(f->node, v);
        return 0;
    }
    if (f->key_merge) {
        f->key_merge = f->have_key = false;
        return add_merge(b, f, v, mark);
    }
    return add_member(b, f, v);
}

static anchor *anchor_slot(builder *b, const char *name)
{
    anchor *a = strmap_get(&b->anchors, name);
    if (a) {
        free((char *)a->sc.value);
        free((char *)a->sc.tag);
    } else {
        a = xcalloc(1, sizeof(*a));
        a->name = xstrdup(name);
        a->next = b->anchor_list;
        b->anchor_list = a;
        strmap_put(&b->anchors, a->name, a);
    }
    a->sc = (scalar){0};
    return a;
}

static void anchor_scalar(builder *b, const char *name, const scalar *sc)
{
    anchor *a = anchor_slot(b, name);
    a->is_scalar = true;
    char *v = xmalloc(sc->len + 1);
    memcpy(v, sc->value, sc->len + 1);
    a->sc = *sc;
    a->sc.value = v;
    a->sc.tag = sc->tag ? xstrdup(sc->tag) : NULL;
    a->node = NULL;
    a->count = 1;
    a->height = 0;
}

static void anchor_node(builder *b, const char *name, const cJSON *node, size_t count, int height)
{
    anchor *a = anchor_slot(b, name);
    a->is_scalar = false;
    a->node = node;
    a->count = count;
    a->height = height;
}

static void anchors_clear(builder *b)
{
    while (b->anchor_list) {
        anchor *a = b->anchor_list;
        b->anchor_list = a->next;
        free(a->name);
        free((char *)a->sc.value);
        free((char *)a->sc.tag);
        free(a);
    }
    strmap_free(&b->anchors);
}

static scalar event_scalar(const yaml_event_t *ev)
{
    return (scalar){
        .value = (const char *)ev->data.scalar.value,
        .len = ev->data.scalar.length,
        .tag = (const char *)ev->data.scalar.tag,
        .plain_implicit = ev->data.scalar.plain_implicit,
        .mark = ev->start_mark,
    };
}

static int on_scalar(builder *b, const yaml_event_t *ev)
{
    scalar sc = event_scalar(ev);
    b->decodes++;
    frame *f = top(b);
    int r;
    if (wants_key(f)) {
        r = set_key(b, f, &sc);
    } else {
        cJSON *v = NULL;
        r = scalar_value(b, &sc, &v);
        if (r == 0)
            r = put_value(b, v, 1, 0, sc.mark);
    }
    if (r == 0 && ev->data.scalar.anchor)
        anchor_scalar(b, (const char *)ev->data.scalar.anchor, &sc);
    return r;
}

static double allowed_alias_ratio(size_t decodes)
{
    if (decodes <= 400000)
        return 0.99;
    if (decodes >= 4000000)
        return 0.10;
    return 0.99 - 0.89 * ((double)(decodes - 400000) / (4000000.0 - 400000.0));
}

static int on_alias(builder *b, const yaml_event_t *ev)
{
    const char *name = (const char *)ev->data.alias.anchor;
    anchor *a = strmap_get(&b->anchors, name);
    char buf[48];
    if (!a)
        return YERR(b, KN_EINVAL, ev->start_mark, "unknown anchor '%s' referenced",
                    show(buf, name));
    b->decodes += 1 + a->count;
    b->aliased += a->count;
    if (b->aliased > 100 && b->decodes > 1000 &&
        (double)b->aliased / (double)b->decodes > allowed_alias_ratio(b->decodes))
        return YERR(b, KN_ETOOLARGE, ev->start_mark, "document contains excessive aliasing");
    frame *f = top(b);
    scalar sc = a->sc;
    sc.mark = ev->start_mark;
    if (wants_key(f)) {
        if (!a->is_scalar)
            return YERR(b, KN_EINVAL, ev->start_mark,
                        "invalid map key: alias '%s' names a mapping or sequence", show(buf, name));
        return set_key(b, f, &sc);
    }
    if (b->depth + (size_t)a->height > KN_JSON_MAX_DEPTH)
        return YERR(b, KN_ETOOLARGE, ev->start_mark, "nesting deeper than %d levels",
                    KN_JSON_MAX_DEPTH);
    cJSON *v = NULL;
    if (a->is_scalar && scalar_value(b, &sc, &v) < 0)
        return -KN_EINVAL;
    if (!a->is_scalar)
        v = cJSON_Duplicate(a->node, true);
    return put_value(b, v, a->count, a->height, ev->start_mark);
}

static int on_start(builder *b, const yaml_event_t *ev, bool is_map)
{
    if (wants_key(top(b)))
        return YERR(b, KN_EINVAL, ev->start_mark,
                    "invalid map key: a mapping or sequence cannot be a key");
    if (b->depth + 1 > KN_JSON_MAX_DEPTH)
        return YERR(b, KN_ETOOLARGE, ev->start_mark, "nesting deeper than %d levels",
                    KN_JSON_MAX_DEPTH);
    b->decodes++;
    if (b->depth == b->cap) {
        b->cap = b->cap ? b->cap * 2 : 16;
        b->st = xreallocarray(b->st, b->cap, sizeof(*b->st));
    }
    const yaml_char_t *aname =
        is_map ? ev->data.mapping_start.anchor : ev->data.sequence_start.anchor;
    b->st[b->depth++] = (frame){
        .node = is_map ? cJSON_CreateObject() : cJSON_CreateArray(),
        .is_map = is_map,
        .anchor = aname ? xstrdup((const char *)aname) : NULL,
        .mark = ev->start_mark,
        .count = 1,
        .height = 1,
    };
    return 0;
}

/* Node count and height of a subtree. */
static void measure(const cJSON *item, size_t *count, int *height)
{
    *count = 1;
    *height = 0;
    const cJSON *c;
    if (!cJSON_IsArray(item) && !cJSON_IsObject(item))
        return;
    *height = 1;
    cJSON_ArrayForEach(c, item)
    {
        size_t cc;
        int ch;
        measure(c, &cc, &ch);
        *count += cc + (cJSON_IsObject(item) ? 1 : 0);
        if (ch + 1 > *height)
            *height = ch + 1;
    }
}

/* Adds the members of one merge source that the mapping lacks. */
static void merge_from(frame *f, const cJSON *src)
{
    const cJSON *it;
    cJSON_ArrayForEach(it, src)
    {
        if (strmap_get(&f->keys, it->string))
            continue;
        cJSON *copy = cJSON_Duplicate(it, true);
        cJSON_AddItemToObject(f->node, it->string, copy);
        strmap_put(&f->keys, copy->string, copy);
        size_t count;
        int height;
        measure(copy, &count, &height);
        f->count += count + 1;
        if (height + 1 > f->height)
            f->height = height + 1;
    }
}

/* Applies merges in order: written keys first, then earlier sources. */
static void apply_merges(builder *b, frame *f)
{
    const cJSON *m, *src;
    cJSON_ArrayForEach(m, f->merges)
    {
        if (cJSON_IsObject(m))
            merge_from(f, m);
        else
            cJSON_ArrayForEach(src, m) merge_from(f, src);
    }
    bury(b, kn_steal_ptr(f->merges));
}

static void frame_free(frame *f)
{
    cJSON_Delete(f->node);
    cJSON_Delete(f->merges);
    free(f->anchor);
    free(f->key);
    strmap_free(&f->keys);
}

static int on_end(builder *b)
{
    frame f = b->st[--b->depth];
    if (f.merges)
        apply_merges(b, &f);
    cJSON *node = kn_steal_ptr(f.node);
    cleanup_free char *aname = kn_steal_ptr(f.anchor);
    size_t count = f.count;
    int height = f.height;
    frame_free(&f);
    int r = put_value(b, node, count, height, f.mark);
    if (r == 0 && aname)
        anchor_node(b, aname, node, count, height);
    return r;
}

/* End of a document: keep it unless it is empty or null; anchors and
 * buried nodes go. */
static int on_document_end(builder *b)
{
    cJSON *doc = kn_steal_ptr(b->root);
    anchors_clear(b);
    cJSON_Delete(kn_steal_ptr(b->graveyard));
    if (!doc || cJSON_IsNull(doc)) {
        cJSON_Delete(doc);
        return 0;
    }
    if (b->max_docs && b->out->n == b->max_docs) {
        cJSON_Delete(doc);
        return YERR(b, KN_EINVAL, b->doc_mark, "expected a single document, found another here");
    }
    kn_yaml_docs *o = b->out;
    o->docs = xreallocarray(o->docs, o->n + 1, sizeof(*o->docs));
    o->docs[o->n++] = doc;
    return 0;
}

static int on_event(builder *b, const yaml_event_t *ev)
{
    switch (ev->type) {
    case YAML_DOCUMENT_START_EVENT:
        b->doc_mark = ev->start_mark;
        return 0;
    case YAML_DOCUMENT_END_EVENT:
        return on_document_end(b);
    case YAML_SCALAR_EVENT:
        return on_scalar(b, ev);
    case YAML_ALIAS_EVENT:
        return on_alias(b, ev);
    case YAML_SEQUENCE_START_EVENT:
        return on_start(b, ev, false);
    case YAML_MAPPING_START_EVENT:
        return on_start(b, ev, true);
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT:
        return on_end(b);
    default: /* stream start/end, no event */
        return 0;
    }
}

/* libyaml's error, positioned: reader errors (bad encoding) only know a
 * byte offset, which is turned into a line and column here. */
static int parser_error(builder *b, const yaml_parser_t *p)
{
    if (p->error == YAML_MEMORY_ERROR)
        kn_oom();
    const char *problem = p->problem ? p->problem : "unknown YAML problem";
    if (p->error == YAML_READER_ERROR) {
        size_t line = 1, col = 1;
        for (size_t i = 0; i < p->problem_offset && i < b->len; i++) {
            if (b->data[i] == '\n') {
                line++;
                col = 1;
            } else if (((unsigned char)b->data[i] & 0xC0) != 0x80) {
                col++;
            }
        }
        return yerr_at(b, KN_EINVAL, line, col, "%s (byte 0x%02x at offset %zu)", problem,
                       (unsigned)p->problem_value & 0xff, p->problem_offset);
    }
    if (p->context)
        return YERR(b, KN_EINVAL, p->problem_mark, "%s (%s at line %zu, column %zu)", problem,
                    p->context, p->context_mark.line + 1, p->context_mark.column + 1);
    return YERR(b, KN_EINVAL, p->problem_mark, "%s", problem);
}

static void builder_free(builder *b)
{
    while (b->depth)
        frame_free(&b->st[--b->depth]);
    free(b->st);
    cJSON_Delete(b->root);
    anchors_clear(b);
    cJSON_Delete(b->graveyard);
}

static int too_large(const char *name, size_t len, size_t max_len, kn_error **err)
{
    return kn_error_set(err, KN_ETOOLARGE,
                        "%s%sdocument of %zu bytes exceeds the limit of %zu bytes",
                        name ? name : "", name ? ": " : "", len, max_len);
}

static int parse_stream(const char *data, size_t len, const char *name, unsigned flags,
                        size_t max_docs, kn_yaml_docs *out, kn_error **err)
{
    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser))
        kn_oom();
    yaml_parser_set_input_string(&parser, (const unsigned char *)data, len);
    builder b = {.data = data,
                 .len = len,
                 .name = name,
                 .flags = flags,
                 .max_docs = max_docs,
                 .err = err,
                 .out = out};
    int r = 0;
    for (bool done = false; !done && r == 0;) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&parser, &ev)) {
            r = parser_error(&b, &parser);
            break;
        }
        done = ev.type == YAML_STREAM_END_EVENT;
        r = on_event(&b, &ev);
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&parser);
    builder_free(&b);
    if (r < 0)
        kn_yaml_docs_free(out);
    return r;
}

int kn_yaml_parse_stream(const char *data, size_t len, size_t max_len, const char *name,
                         unsigned flags, kn_yaml_docs *out, kn_error **err)
{
    *out = (kn_yaml_docs){0};
    if (max_len && len > max_len)
        return too_large(name, len, max_len, err);
    return parse_stream(data, len, name, flags, 0, out, err);
}

int kn_yaml_parse(const char *data, size_t len, size_t max_len, const char *name, unsigned flags,
                  cJSON **out, kn_error **err)
{
    kn_yaml_docs docs = {0};
    if (max_len && len > max_len)
        return too_large(name, len, max_len, err);
    int r = parse_stream(data, len, name, flags, 1, &docs, err);
    if (r < 0)
        return r;
    *out = docs.n ? docs.docs[0] : cJSON_CreateNull();
    free(docs.docs);
    return 0;
}

int kn_yaml_or_json_parse(const char *data, size_t len, size_t max_len, const char *name,
                          unsigned flags, kn_yaml_docs *out, kn_error **err)
{
    *out = (kn_yaml_docs){0};
    if (max_len && len > max_len)
        return too_large(name, len, max_len, err);
    size_t i = 0;
    while (i < len && (data[i] == ' ' || data[i] == '\t' || data[i] == '\r' || data[i] == '\n'))
        i++;
    if (i < len && (data[i] == '{' || data[i] == '[')) {
        cJSON *doc = NULL;
        unsigned jflags = (flags & KN_YAML_ALLOW_DUPLICATES) ? 0 : KN_JSON_REJECT_DUPLICATES;
        if (kn_json_parse_opts(data, len, 0, jflags, &doc, NULL) == 0) {
            out->docs = xmalloc(sizeof(*out->docs));
            out->docs[0] = doc;
            out->n = 1;
            return 0;
        }
        /* not plain JSON: YAML may still read it, and gives positioned errors */
    }
    return parse_stream(data, len, name, flags, 0, out, err);
}

void kn_yaml_docs_free(kn_yaml_docs *docs)
{
    if (!docs)
        return;
    for (size_t i = 0; i < docs->n; i++)
        cJSON_Delete(docs->docs[i]);
    free(docs->docs);
    *docs = (kn_yaml_docs){0};
}

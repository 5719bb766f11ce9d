#include "lib/json.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/cleanup.h"
#include "lib/strbuf.h"
#include "lib/xalloc.h"

/* cJSON allocates through xmalloc: out-of-memory aborts like everywhere else
 * in knode, so a NULL from cJSON never means "no memory". */
__attribute__((constructor)) static void json_init_hooks(void)
{
    cJSON_Hooks hooks = {.malloc_fn = xmalloc, .free_fn = free};
    cJSON_InitHooks(&hooks);
}

/* ---- positions and small formatting helpers ---- */

/* 1-based line and column (in characters) of byte offset off in data. */
static void offset_to_linecol(const char *data, size_t off, size_t *line, size_t *col)
{
    *line = 1;
    *col = 1;
    for (size_t i = 0; i < off; i++) {
        unsigned char c = (unsigned char)data[i];
        if (c == '\n') {
            (*line)++;
            *col = 1;
        } else if ((c & 0xC0) != 0x80) {
            (*col)++;
        }
    }
}

/* Shortest %g form that reads back as v. */
static const char *fmt_double(char buf[40], double v)
{
    snprintf(buf, 40, "%.15g", v);
    if (strtod(buf, NULL) != v)
        snprintf(buf, 40, "%.17g", v);
    return buf;
}

/* 'x' for printable ASCII, '\xNN' otherwise. */
static const char *quote_char(char buf[12], int c)
{
    if (c == '\'')
        snprintf(buf, 12, "'\\''");
    else if (c >= 0x20 && c < 0x7f)
        snprintf(buf, 12, "'%c'", c);
    else
        snprintf(buf, 12, "'\\x%02x'", (unsigned)c & 0xff);
    return buf;
}

const char *kn_json_type_name(const cJSON *item)
{
    if (!item)
        return "missing";
    switch (item->type & 0xff) {
    case cJSON_NULL:
        return "null";
    case cJSON_False:
    case cJSON_True:
        return "bool";
    case cJSON_Number:
        return "number";
    case cJSON_String:
        return "string";
    case cJSON_Array:
        return "array";
    case cJSON_Object:
        return "object";
    default:
        return "invalid";
    }
}

/* ---- strict RFC 8259 validation ----
 *
 * cJSON is lenient (it skips any byte <= 0x20, accepts "+1", "01", "1.", and
 * ignores what follows a value). A validating pass with Go-like messages
 * runs first, so only real JSON reaches cJSON and errors carry a position. */

typedef struct jv {
    char *s; /* NUL-terminated copy of the input (writable for strtod) */
    size_t len, pos;
    size_t err_pos;
    bool too_deep;
    char msg[128];
} jv;

static int jv_peek(const jv *p)
{
    return p->pos < p->len ? (unsigned char)p->s[p->pos] : -1;
}

static void jv_ws(jv *p)
{
    while (p->pos < p->len) {
        char c = p->s[p->pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
            break;
        p->pos++;
    }
}

static bool jv_fail(jv *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static bool jv_fail(jv *p, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->msg, sizeof(p->msg), fmt, ap);
    va_end(ap);
    p->err_pos = p->pos;
    return false;
}

/* Fails on the character at pos ("invalid character 'x' <context>"), or on
 * the end of input. */
static bool jv_fail_char(jv *p, const char *context)
{
    int c = jv_peek(p);
    if (c < 0)
        return jv_fail(p, "unexpected end of JSON input");
    char q[12];
    return jv_fail(p, "invalid character %s %s", quote_char(q, c), context);
}

static bool jv_value(jv *p, int depth);

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Reads the 4 hex digits after "\u"; returns the code unit or -1. */
static long jv_hex4(jv *p)
{
    long v = 0;
    for (int i = 0; i < 4; i++) {
        int h = hexval(jv_peek(p));
        if (h < 0) {
            jv_fail_char(p, "in \\u hexadecimal character escape");
            return -1;
        }
        v = v * 16 + h;
        p->pos++;
    }
    return v;
}

/* At "\u": validates the escape, including surrogate pairing (cJSON refuses
 * unpaired surrogates, so they are reported here with a position). */
static bool jv_unicode_escape(jv *p)
{
    size_t start = p->pos - 2;
    long u = jv_hex4(p);
    if (u < 0)
        return false;
    if (u >= 0xDC00 && u <= 0xDFFF) {
        p->pos = start;
        return jv_fail(p, "unpaired UTF-16 surrogate in \\u escape");
    }
    if (u < 0xD800 || u > 0xDBFF)
        return true;
    if (p->pos + 1 >= p->len || p->s[p->pos] != '\\' || p->s[p->pos + 1] != 'u') {
        p->pos = start;
        return jv_fail(p, "unpaired UTF-16 surrogate in \\u escape");
    }
    p->pos += 2;
    long lo = jv_hex4(p);
    if (lo < 0)
        return false;
    if (lo < 0xDC00 || lo > 0xDFFF) {
        p->pos = start;
        return jv_fail(p, "unpaired UTF-16 surrogate in \\u escape");
    }
    return true;
}

static bool jv_string(jv *p)
{
    p->pos++; /* opening quote */
    for (;;) {
        int c = jv_peek(p);
        if (c < 0)
            return jv_fail(p, "unexpected end of JSON input");
        if (c == '"') {
            p->pos++;
            return true;
        }
        if (c < 0x20)
            return jv_fail_char(p, "in string literal");
        p->pos++;
        if (c != '\\')
            continue;
        c = jv_peek(p);
        if (c >= 0 && strchr("\"\\/bfnrt", c) && c != 0) {
            p->pos++;
        } else if (c == 'u') {
            p->pos++;
            if (!jv_unicode_escape(p))
                return false;
        } else {
            return jv_fail_char(p, "in string escape code");
        }
    }
}

static bool is_digit(int c)
{
    return c >= '0' && c <= '9';
}

/* Digits after a decimal point or in an exponent: at least one. */
static bool jv_digits(jv *p, const char *context)
{
    if (!is_digit(jv_peek(p)))
        return jv_fail_char(p, context);
    while (is_digit(jv_peek(p)))
        p->pos++;
    return true;
}

static bool jv_number(jv *p)
{
    size_t start = p->pos;
    if (jv_peek(p) == '-')
        p->pos++;
    if (jv_peek(p) == '0')
        p->pos++;
    else if (!jv_digits(p, "in numeric literal"))
        return false;
    if (jv_peek(p) == '.') {
        p->pos++;
        if (!jv_digits(p, "after decimal point in numeric literal"))
            return false;
    }
    if (jv_peek(p) == 'e' || jv_peek(p) == 'E') {
        p->pos++;
        if (jv_peek(p) == '+' || jv_peek(p) == '-')
            p->pos++;
        if (!jv_digits(p, "in exponent of numeric literal"))
            return false;
    }
    /* range: the token alone (terminated in place) must fit a double */
    char saved = p->s[p->pos];
    p->s[p->pos] = '\0';
    double v = strtod(p->s + start, NULL);
    p->s[p->pos] = saved;
    if (isinf(v)) {
        p->pos = start;
        return jv_fail(p, "number out of range");
    }
    return true;
}

static bool jv_literal(jv *p, const char *word)
{
    for (size_t i = 0; word[i]; i++) {
        if (jv_peek(p) != word[i]) {
            char ctx[48];
            snprintf(ctx, sizeof(ctx), "in literal %s (expecting '%c')", word, word[i]);
            return jv_fail_char(p, ctx);
        }
        p->pos++;
    }
    return true;
}

static bool jv_enter(jv *p, int depth)
{
    if (depth + 1 > KN_JSON_MAX_DEPTH) {
        p->too_deep = true;
        return jv_fail(p, "exceeded max depth of %d nested values", KN_JSON_MAX_DEPTH);
    }
    p->pos++;
    jv_ws(p);
    return true;
}

static bool jv_object(jv *p, int depth)
{
    if (!jv_enter(p, depth))
        return false;
    if (jv_peek(p) == '}') {
        p->pos++;
        return true;
    }
    for (;;) {
        jv_ws(p);
        if (jv_peek(p) != '"')
            return jv_fail_char(p, "looking for beginning of object key string");
        if (!jv_string(p))
            return false;
        jv_ws(p);
        if (jv_peek(p) != ':')
            return jv_fail_char(p, "after object key");
        p->pos++;
        if (!jv_value(p, depth + 1))
            return false;
        jv_ws(p);
        int c = jv_peek(p);
        p->pos += c == ',' || c == '}';
        if (c == '}')
            return true;
        if (c != ',')
            return jv_fail_char(p, "after object key:value pair");
    }
}

static bool jv_array(jv *p, int depth)
{
    if (!jv_enter(p, depth))
        return false;
    if (jv_peek(p) == ']') {
        p->pos++;
        return true;
    }
    for (;;) {
        if (!jv_value(p, depth + 1))
            return false;
        jv_ws(p);
        int c = jv_peek(p);
        p->pos += c == ',' || c == ']';
        if (c == ']')
            return true;
        if (c != ',')
            return jv_fail_char(p, "after array element");
    }
}

static bool jv_value(jv *p, int depth)
{
    jv_ws(p);
    int c = jv_peek(p);
    switch (c) {
    case '{':
        return jv_object(p, depth);
    case '[':
        return jv_array(p, depth);
    case '"':
        return jv_string(p);
    case 't':
        return jv_literal(p, "true");
    case 'f':
        return jv_literal(p, "false");
    case 'n':
        return jv_literal(p, "null");
    default:
        if (c == '-' || is_digit(c))
            return jv_number(p);
        return jv_fail_char(p, "looking for beginning of value");
    }
}

static bool jv_document(jv *p)
{
    if (!jv_value(p, 0))
        return false;
    jv_ws(p);
    if (p->pos < p->len)
        return jv_fail_char(p, "after top-level value");
    return true;
}

static int jv_error(const jv *p, const char *data, kn_error **err)
{
    size_t line, col;
    offset_to_linecol(data, p->err_pos, &line, &col);
    return kn_error_set(err, p->too_deep ? KN_ETOOLARGE : KN_EINVAL,
                        "invalid JSON at line %zu, column %zu (offset %zu): %s", line, col,
                        p->err_pos, p->msg);
}

/* ---- duplicate keys ---- */

/* Appends one path step for object member key: ".key", or ["key"] when the
 * key would not read back as a plain step. */
static void path_append_key(kn_buf *b, const char *key)
{
    bool plain = key[0] != '\0' && !strpbrk(key, ".[]\"\\");
    if (plain) {
        if (b->len)
            kn_buf_append_char(b, '.');
        kn_buf_append_str(b, key);
        return;
    }
    kn_buf_append_str(b, "[\"");
    for (const char *k = key; *k; k++) {
        if (*k == '"' || *k == '\\')
            kn_buf_append_char(b, '\\');
        kn_buf_append_char(b, *k);
    }
    kn_buf_append_str(b, "\"]");
}

typedef struct member {
    cJSON *item;
    size_t index;
} member;

static int member_cmp(const void *a, const void *b)
{
    const member *x = a, *y = b;
    int c = strcmp(x->item->string, y->item->string);
    if (c)
        return c;
    return x->index < y->index ? -1 : x->index > y->index;
}

/* Removes all but the last of each repeated key of obj, or fails. */
static int dedupe_members(cJSON *obj, unsigned flags, kn_buf *path, kn_error **err)
{
    int n = cJSON_GetArraySize(obj);
    if (n < 2)
        return 0;
    cleanup_free member *m = xcalloc((size_t)n, sizeof(*m));
    size_t i = 0;
    for (cJSON *c = obj->child; c; c = c->next, i++)
        m[i] = (member){c, i};
    qsort(m, (size_t)n, sizeof(*m), member_cmp);
    for (i = 0; i + 1 < (size_t)n; i++) {
        if (strcmp(m[i].item->string, m[i + 1].item->string) != 0)
            continue;
        if (flags & KN_JSON_REJECT_DUPLICATES) {
            path_append_key(path, m[i].item->string);
            return kn_error_set(err, KN_EINVAL, "duplicate field \"%s\"", path->data);
        }
        cJSON_Delete(cJSON_DetachItemViaPointer(obj, m[i].item)); /* a later one wins */
    }
    return 0;
}

static int dedupe_tree(cJSON *item, unsigned flags, kn_buf *path, kn_error **err)
{
    if (cJSON_IsObject(item) && dedupe_members(item, flags, path, err) < 0)
        return -KN_EINVAL;
    if (!cJSON_IsObject(item) && !cJSON_IsArray(item))
        return 0;
    size_t mark = path->len, i = 0;
    for (cJSON *c = item->child; c; c = c->next, i++) {
        if (cJSON_IsObject(item))
            path_append_key(path, c->string);
        else
            kn_buf_appendf(path, "[%zu]", i);
        if (dedupe_tree(c, flags, path, err) < 0)
            return -KN_EINVAL;
        kn_buf_truncate(path, mark);
    }
    return 0;
}

/* ---- parse, print, compare ---- */

int kn_json_parse_opts(const char *data, size_t len, size_t max_len, unsigned flags, cJSON **out,
                       kn_error **err)
{
    if (max_len && len > max_len)
        return kn_error_set(err, KN_ETOOLARGE,
                            "JSON document of %zu bytes exceeds the limit of %zu bytes", len,
                            max_len);
    jv p = {.len = len};
    p.s = xmalloc(len + 1);
    if (len)
        memcpy(p.s, data, len);
    p.s[len] = '\0';
    if (!jv_document(&p)) {
        int r = jv_error(&p, p.s, err);
        free(p.s);
        return r;
    }
    cleanup_cjson cJSON *doc = cJSON_ParseWithOpts(p.s, NULL, 0);
    free(p.s);
    if (!doc)
        return kn_error_set(err, KN_EINTERNAL, "cJSON rejected a validated JSON document");
    cleanup_buf kn_buf path = KN_BUF_INIT;
    if (dedupe_tree(doc, flags, &path, err) < 0)
        return -KN_EINVAL;
    *out = kn_steal_ptr(doc);
    return 0;
}

int kn_json_parse(const char *data, size_t len, size_t max_len, cJSON **out, kn_error **err)
{
    return kn_json_parse_opts(data, len, max_len, 0, out, err);
}

char *kn_json_print(const cJSON *item)
{
    char *s = item ? cJSON_PrintUnformatted(item) : NULL;
    if (!s)
        return xstrdup(item ? "" : "null");
    return s;
}

bool kn_json_equal(const cJSON *a, const cJSON *b)
{
    if (!a || !b)
        return a == b;
    return cJSON_Compare(a, b, true);
}

/* ---- paths and typed getters ---- */

typedef struct path_step {
    bool is_index;
    size_t index;
    kn_buf key; /* unescaped member name */
    size_t end; /* offset in the path just after this step */
} path_step;

static int path_invalid(const char *path, size_t at, kn_error **err)
{
    return kn_error_set(err, KN_EINVAL, "invalid path \"%s\" at offset %zu", path, at);
}

/* ["quoted key"] at path[*pos] (just after '['). */
static int path_quoted(const char *path, size_t *pos, path_step *st, kn_error **err)
{
    size_t i = *pos + 1;
    for (; path[i] && path[i] != '"'; i++) {
        if (path[i] == '\\') {
            if (path[i + 1] != '"' && path[i + 1] != '\\')
                return path_invalid(path, i, err);
            i++;
        }
        kn_buf_append_char(&st->key, path[i]);
    }
    if (path[i] != '"' || path[i + 1] != ']')
        return path_invalid(path, i, err);
    *pos = i + 2;
    return 0;
}

static int path_bracket(const char *path, size_t *pos, path_step *st, kn_error **err)
{
    size_t i = *pos + 1; /* after '[' */
    if (path[i] == '"') {
        *pos = i;
        return path_quoted(path, pos, st, err);
    }
    if (!is_digit(path[i]))
        return path_invalid(path, i, err);
    size_t v = 0;
    for (; is_digit(path[i]); i++) {
        if (v > 100000000)
            return path_invalid(path, i, err);
        v = v * 10 + (size_t)(path[i] - '0');
    }
    if (path[i] != ']')
        return path_invalid(path, i, err);
    st->is_index = true;
    st->index = v;
    *pos = i + 1;
    return 0;
}

/* Parses the step at path[*pos]: returns 1 with *st filled, 0 at the end. */
static int path_next(const char *path, size_t *pos, path_step *st, kn_error **err)
{
    size_t i = *pos;
    kn_buf_reset(&st->key);
    st->is_index = false;
    if (path[i] == '\0')
        return 0;
    if (path[i] == '.' && i > 0)
        i++;
    if (path[i] == '[' && (i == *pos)) {
        *pos = i;
        if (path_bracket(path, pos, st, err) < 0)
            return -KN_EINVAL;
    } else {
        size_t start = i;
        while (path[i] && path[i] != '.' && path[i] != '[')
            i++;
        if (i == start)
            return path_invalid(path, i, err);
        kn_buf_append(&st->key, path + start, i - start);
        *pos = i;
    }
    if (path[*pos] && path[*pos] != '.' && path[*pos] != '[')
        return path_invalid(path, *pos, err);
    st->end = *pos;
    return 1;
}

/* "<path prefix of n bytes>" for messages; the root is "(root)". */
#define PFX(path, n) (int)((n) ? (n) : 6), ((n) ? (path) : "(root)")

static int wrong_type(const char *path, size_t n, const char *want, const cJSON *got,
                      kn_error **err)
{
    return kn_error_set(err, KN_EINVAL, "%.*s: expected %s, got %s", PFX(path, n), want,
                        kn_json_type_name(got));
}

int kn_json_lookup(const cJSON *root, const char *path, const cJSON **out, kn_error **err)
{
    path_step st = {.key = KN_BUF_INIT};
    size_t pos = 0, prev_end = 0;
    const cJSON *cur = root;
    int r;
    *out = NULL;
    while ((r = path_next(path, &pos, &st, err)) > 0) {
        if (!cur || cJSON_IsNull(cur))
            break;
        if (st.is_index ? !cJSON_IsArray(cur) : !cJSON_IsObject(cur)) {
            r = wrong_type(path, prev_end, st.is_index ? "array" : "object", cur, err);
            break;
        }
        if (st.is_index)
            cur = st.index < (size_t)cJSON_GetArraySize(cur)
                      ? cJSON_GetArrayItem(cur, (int)st.index)
                      : NULL;
        else
            cur = cJSON_GetObjectItemCaseSensitive(cur, st.key.data);
        prev_end = st.end;
    }
    kn_buf_free(&st.key);
    if (r < 0)
        return r;
    if (!cur || cJSON_IsNull(cur))
        return 0;
    *out = cur;
    return 1;
}

/* Looks up path and checks the type with check(); required: missing fails. */
static int get_typed(const cJSON *root, const char *path, bool required, const char *want,
                     cJSON_bool (*check)(const cJSON *), const cJSON **item, kn_error **err)
{
    int r = kn_json_lookup(root, path, item, err);
    if (r < 0)
        return r;
    size_t n = strlen(path);
    if (r == 0) {
        if (required)
            return kn_error_set(err, KN_EINVAL, "%.*s: required value is missing", PFX(path, n));
        return 0;
    }
    if (!check(*item))
        return wrong_type(path, n, want, *item, err);
    return 1;
}

static int get_string(const cJSON *root, const char *path, bool req, const char *def,
                      const char **out, kn_error **err)
{
    const cJSON *it;
    int r = get_typed(root, path, req, "string", cJSON_IsString, &it, err);
    if (r >= 0)
        *out = r ? it->valuestring : def;
    return req && r > 0 ? 0 : r;
}

int kn_json_get_string(const cJSON *root, const char *path, const char **out, kn_error **err)
{
    return get_string(root, path, true, NULL, out, err);
}

int kn_json_get_string_opt(const cJSON *root, const char *path, const char *def, const char **out,
                           kn_error **err)
{
    return get_string(root, path, false, def, out, err);
}

static int get_bool(const cJSON *root, const char *path, bool req, bool def, bool *out,
                    kn_error **err)
{
    const cJSON *it;
    int r = get_typed(root, path, req, "bool", cJSON_IsBool, &it, err);
    if (r >= 0)
        *out = r ? cJSON_IsTrue(it) : def;
    return req && r > 0 ? 0 : r;
}

int kn_json_get_bool(const cJSON *root, const char *path, bool *out, kn_error **err)
{
    return get_bool(root, path, true, false, out, err);
}

int kn_json_get_bool_opt(const cJSON *root, const char *path, bool def, bool *out, kn_error **err)
{
    return get_bool(root, path, false, def, out, err);
}

static int get_double(const cJSON *root, const char *path, bool req, double def, double *out,
                      kn_error **err)
{
    const cJSON *it;
    int r = get_typed(root, path, req, "number", cJSON_IsNumber, &it, err);
    if (r >= 0)
        *out = r ? it->valuedouble : def;
    return req && r > 0 ? 0 : r;
}

int kn_json_get_double(const cJSON *root, const char *path, double *out, kn_error **err)
{
    return get_double(root, path, true, 0, out, err);
}

int kn_json_get_double_opt(const cJSON *root, const char *path, double def, double *out,
                           kn_error **err)
{
    return get_double(root, path, false, def, out, err);
}

static int get_int64(const cJSON *root, const char *path, bool req, int64_t def, int64_t *out,
                     kn_error **err)
{
    double v;
    int r = get_double(root, path, req, 0, &v, err);
    if (r < 0 || (!req && r == 0)) {
        if (r == 0)
            *out = def;
        return r;
    }
    char num[40];
    size_t n = strlen(path);
    if (!isfinite(v) || v != floor(v))
        return kn_error_set(err, KN_EINVAL, "%.*s: expected integer, got %s", PFX(path, n),
                            fmt_double(num, v));
    if (fabs(v) > (double)KN_JSON_MAX_SAFE_INT)
        return kn_error_set(err, KN_ERANGE,
                            "%.*s: integer %s is beyond +-(2^53-1) and may not be exact",
                            PFX(path, n), fmt_double(num, v));
    *out = (int64_t)v;
    return req ? 0 : 1;
}

int kn_json_get_int64(const cJSON *root, const char *path, int64_t *out, kn_error **err)
{
    return get_int64(root, path, true, 0, out, err);
}

int kn_json_get_int64_opt(const cJSON *root, const char *path, int64_t def, int64_t *out,
                          kn_error **err)
{
    return get_int64(root, path, false, def, out, err);
}

static int get_node(const cJSON *root, const char *path, bool req, bool array, const cJSON **out,
                    kn_error **err)
{
    const cJSON *it = NULL;
    int r = get_typed(root, path, req, array ? "array" : "object",
                      array ? cJSON_IsArray : cJSON_IsObject, &it, err);
    if (r >= 0)
        *out = r ? it : NULL;
    return req && r > 0 ? 0 : r;
}

int kn_json_get_object(const cJSON *root, const char *path, const cJSON **out, kn_error **err)
{
    return get_node(root, path, true, false, out, err);
}

int kn_json_get_object_opt(const cJSON *root, const char *path, const cJSON **out, kn_error **err)
{
    return get_node(root, path, false, false, out, err);
}

int kn_json_get_array(const cJSON *root, const char *path, const cJSON **out, kn_error **err)
{
    return get_node(root, path, true, true, out, err);
}

int kn_json_get_array_opt(const cJSON *root, const char *path, const cJSON **out, kn_error **err)
{
    return get_node(root, path, false, true, out, err);
}

/* ---- JSON merge patch (RFC 7386) ---- */

static cJSON *json_dup(const cJSON *item)
{
    return item ? cJSON_Duplicate(item, true) : cJSON_CreateNull();
}

cJSON *kn_json_merge_patch_apply(const cJSON *target, const cJSON *patch)
{
    if (!cJSON_IsObject(patch))
        return json_dup(patch);
    cJSON *result = cJSON_IsObject(target) ? json_dup(target) : cJSON_CreateObject();
    const cJSON *p;
    cJSON_ArrayForEach(p, patch)
    {
        if (!p->string)
            continue;
        cJSON *existing = cJSON_GetObjectItemCaseSensitive(result, p->string);
        if (cJSON_IsNull(p)) {
            if (existing)
                cJSON_Delete(cJSON_DetachItemViaPointer(result, existing));
            continue;
        }
        cJSON *merged = kn_json_merge_patch_apply(existing, p);
        if (existing)
            cJSON_ReplaceItemInObjectCaseSensitive(result, p->string, merged);
        else
            cJSON_AddItemToObject(result, p->string, merged);
    }
    return result;
}

cJSON *kn_json_merge_patch_create(const cJSON *original, const cJSON *modified)
{
    if (!cJSON_IsObject(original) || !cJSON_IsObject(modified))
        return json_dup(modified);
    cJSON *patch = cJSON_CreateObject();
    const cJSON *o, *m;
    cJSON_ArrayForEach(o, original)
    {
        if (o->string && !cJSON_GetObjectItemCaseSensitive(modified, o->string))
            cJSON_AddNullToObject(patch, o->string);
    }
    cJSON_ArrayForEach(m, modified)
    {
        if (!m->string)
            continue;
        o = cJSON_GetObjectItemCaseSensitive(original, m->string);
        if (o && kn_json_equal(o, m))
            continue;
        if (o && cJSON_IsObject(o) && cJSON_IsObject(m))
            cJSON_AddItemToObject(patch, m->string, kn_json_merge_patch_create(o, m));
        else
            cJSON_AddItemToObject(patch, m->string, json_dup(m));
    }
    return patch;
}

/* ---- JSON pointer (RFC 6901) ---- */

typedef struct pointer {
    char **tok;
    size_t n;
} pointer;

static void pointer_free(pointer *p)
{
    for (size_t i = 0; i < p->n; i++)
        free(p->tok[i]);
    free(p->tok);
    p->tok = NULL;
    p->n = 0;
}

/* Splits "/a/b~1c" into unescaped tokens. */
static int pointer_parse(const char *s, pointer *p, kn_error **err)
{
    p->tok = NULL;
    p->n = 0;
    if (s[0] == '\0')
        return 0;
    if (s[0] != '/')
        return kn_error_set(err, KN_EINVAL, "invalid JSON pointer \"%s\": must start with '/'", s);
    kn_buf tok = KN_BUF_INIT;
    for (const char *c = s + 1;; c++) {
        if (*c == '/' || *c == '\0') {
            p->tok = xreallocarray(p->tok, p->n + 1, sizeof(*p->tok));
            p->tok[p->n++] = kn_buf_steal(&tok);
            if (*c == '\0')
                return 0;
        } else if (*c == '~') {
            if (c[1] != '0' && c[1] != '1') {
                kn_buf_free(&tok);
                pointer_free(p);
                return kn_error_set(err, KN_EINVAL,
                                    "invalid JSON pointer \"%s\": '~' must be followed by 0 or 1",
                                    s);
            }
            kn_buf_append_char(&tok, c[1] == '0' ? '~' : '/');
            c++;
        } else {
            kn_buf_append_char(&tok, *c);
        }
    }
}

/* An array index token: "0" or digits without a leading zero; -1 if not. */
static long pointer_index(const char *t)
{
    if (!is_digit(t[0]) || (t[0] == '0' && t[1]) || strlen(t) > 9)
        return -1;
    for (const char *c = t; *c; c++)
        if (!is_digit(*c))
            return -1;
    return strtol(t, NULL, 10);
}

/* The child of container named by token t, or NULL. */
static cJSON *pointer_child(const cJSON *container, const char *t)
{
    if (cJSON_IsObject(container))
        return cJSON_GetObjectItemCaseSensitive(container, t);
    if (!cJSON_IsArray(container))
        return NULL;
    long i = pointer_index(t);
    if (i < 0 || i >= cJSON_GetArraySize(container))
        return NULL;
    return cJSON_GetArrayItem(container, (int)i);
}

/* Walks the first n tokens of p from doc. */
static cJSON *pointer_walk(const cJSON *doc, const pointer *p, size_t n)
{
    cJSON *cur = (cJSON *)doc;
    for (size_t i = 0; i < n && cur; i++)
        cur = pointer_child(cur, p->tok[i]);
    return cur;
}

int kn_json_pointer_get(const cJSON *doc, const char *ptr, const cJSON **out, kn_error **err)
{
    pointer p;
    if (pointer_parse(ptr, &p, err) < 0)
        return -KN_EINVAL;
    const cJSON *v = pointer_walk(doc, &p, p.n);
    pointer_free(&p);
    if (!v)
        return kn_error_set(err, KN_ENOTFOUND, "JSON pointer \"%s\": no such value", ptr);
    *out = v;
    return 0;
}

char *kn_json_pointer_escape(const char *token)
{
    kn_buf b = KN_BUF_INIT;
    for (const char *c = token; *c; c++) {
        if (*c == '~')
            kn_buf_append_str(&b, "~0");
        else if (*c == '/')
            kn_buf_append_str(&b, "~1");
        else
            kn_buf_append_char(&b, *c);
    }
    return kn_buf_steal(&b);
}

/* ---- JSON patch (RFC 6902) ---- */

typedef struct patch_op {
    size_t index;       /* position in the patch array, for messages */
    const char *op;     /* "add", ... */
    const char *path;   /* target pointer text */
    const char *from;   /* move/copy source pointer text */
    const cJSON *value; /* add/replace/test */
    cJSON **root;       /* the working document (an operation may replace it) */
    kn_error **err;
} patch_op;

/* A pointer for messages: the empty pointer (the root) shows as "". */
static const char *show_ptr(const char *ptr)
{
    return ptr[0] ? ptr : "\"\"";
}

static int op_fail(const patch_op *o, kn_errcode code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* "operation 2 (replace /spec/replicas): <detail>" */
static int op_fail(const patch_op *o, kn_errcode code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    cleanup_free char *detail = xvasprintf(fmt, ap);
    va_end(ap);
    if (!o->op)
        return kn_error_set(o->err, code, "operation %zu: %s", o->index, detail);
    if (!o->path)
        return kn_error_set(o->err, code, "operation %zu (%s): %s", o->index, o->op, detail);
    return kn_error_set(o->err, code, "operation %zu (%s %s): %s", o->index, o->op,
                        show_ptr(o->path), detail);
}

/* Parses ptr, or fails naming the operation. */
static int op_pointer(const patch_op *o, const char *ptr, pointer *p)
{
    kn_error *perr = NULL;
    if (pointer_parse(ptr, p, &perr) < 0) {
        op_fail(o, KN_EINVAL, "%s", kn_error_msg(perr));
        kn_error_free(&perr);
        return -KN_EINVAL;
    }
    return 0;
}

/* Inserts item before position i (i == size appends). Debian's patched
 * cJSON 1.7.15 refuses cJSON_InsertItemInArray in the middle of an array
 * (returns false, item not linked), so the tail is moved behind it instead. */
static void array_insert(cJSON *array, int i, cJSON *item)
{
    cJSON *at = cJSON_GetArrayItem(array, i);
    cJSON *tail = cJSON_CreateArray();
    while (at) {
        cJSON *next = at->next;
        cJSON_AddItemToArray(tail, cJSON_DetachItemViaPointer(array, at));
        at = next;
    }
    cJSON_AddItemToArray(array, item);
    while (tail->child)
        cJSON_AddItemToArray(array, cJSON_DetachItemViaPointer(tail, tail->child));
    cJSON_Delete(tail);
}

/* Inserts value (owned) at pointer p; frees it on failure. */
static int op_add_at(const patch_op *o, const pointer *p, cJSON *value)
{
    if (p->n == 0) {
        cJSON_Delete(*o->root);
        *o->root = value;
        return 0;
    }
    cJSON *parent = pointer_walk(*o->root, p, p->n - 1);
    const char *last = p->tok[p->n - 1];
    if (cJSON_IsObject(parent)) {
        if (cJSON_GetObjectItemCaseSensitive(parent, last))
            cJSON_ReplaceItemInObjectCaseSensitive(parent, last, value);
        else
            cJSON_AddItemToObject(parent, last, value);
        return 0;
    }
    if (cJSON_IsArray(parent)) {
        long size = cJSON_GetArraySize(parent);
        long i = strcmp(last, "-") == 0 ? size : pointer_index(last);
        if (i >= 0 && i <= size) {
            array_insert(parent, (int)i, value);
            return 0;
        }
        cJSON_Delete(value);
        if (i < 0)
            return op_fail(o, KN_EINVAL, "invalid array index \"%s\"", last);
        return op_fail(o, KN_EINVAL, "array index %ld out of bounds (size %ld)", i, size);
    }
    cJSON_Delete(value);
    if (!parent)
        return op_fail(o, KN_EINVAL, "parent path not found");
    return op_fail(o, KN_EINVAL, "cannot add a member to a %s", kn_json_type_name(parent));
}

/* Detaches the value at p (not the root), or returns NULL. */
static cJSON *op_detach(const patch_op *o, const pointer *p)
{
    cJSON *parent = pointer_walk(*o->root, p, p->n - 1);
    cJSON *item = pointer_child(parent, p->tok[p->n - 1]);
    return item ? cJSON_DetachItemViaPointer(parent, item) : NULL;
}

static int op_add(const patch_op *o)
{
    pointer p;
    if (op_pointer(o, o->path, &p) < 0)
        return -KN_EINVAL;
    int r = op_add_at(o, &p, json_dup(o->value));
    pointer_free(&p);
    return r;
}

static int op_remove(const patch_op *o)
{
    pointer p;
    if (op_pointer(o, o->path, &p) < 0)
        return -KN_EINVAL;
    int r = 0;
    if (p.n == 0) {
        r = op_fail(o, KN_EINVAL, "cannot remove the whole document");
    } else {
        cJSON *item = op_detach(o, &p);
        if (item)
            cJSON_Delete(item);
        else
            r = op_fail(o, KN_EINVAL, "path not found");
    }
    pointer_free(&p);
    return r;
}

/* Like add, but the target must exist, and in an array it is overwritten
 * rather than shifted. */
static int op_replace(const patch_op *o)
{
    pointer p;
    if (op_pointer(o, o->path, &p) < 0)
        return -KN_EINVAL;
    int r = 0;
    cJSON *parent = p.n ? pointer_walk(*o->root, &p, p.n - 1) : NULL;
    if (!pointer_walk(*o->root, &p, p.n))
        r = op_fail(o, KN_EINVAL, "path not found");
    else if (cJSON_IsArray(parent))
        cJSON_ReplaceItemInArray(parent, (int)pointer_index(p.tok[p.n - 1]), json_dup(o->value));
    else
        r = op_add_at(o, &p, json_dup(o->value));
    pointer_free(&p);
    return r;
}

/* "/a/b" is a proper prefix of "/a/b/c": a value cannot move into itself. */
static bool is_proper_prefix(const char *from, const char *path)
{
    size_t n = strlen(from);
    return strncmp(from, path, n) == 0 && path[n] == '/';
}

static int op_move_copy(const patch_op *o, bool move)
{
    pointer from, to;
    if (op_pointer(o, o->from, &from) < 0)
        return -KN_EINVAL;
    if (op_pointer(o, o->path, &to) < 0) {
        pointer_free(&from);
        return -KN_EINVAL;
    }
    int r = 0;
    cJSON *src = pointer_walk(*o->root, &from, from.n);
    if (!src) {
        r = op_fail(o, KN_EINVAL, "from path %s not found", show_ptr(o->from));
    } else if (move && is_proper_prefix(o->from, o->path)) {
        r = op_fail(o, KN_EINVAL, "cannot move %s into its own child", show_ptr(o->from));
    } else if (!move) {
        r = op_add_at(o, &to, json_dup(src));
    } else if (strcmp(o->from, o->path) != 0) {
        /* from "" with a different path was refused as a prefix above */
        r = op_add_at(o, &to, op_detach(o, &from)); /* src exists: never NULL */
    }
    pointer_free(&from);
    pointer_free(&to);
    return r;
}

static int op_test(const patch_op *o)
{
    pointer p;
    if (op_pointer(o, o->path, &p) < 0)
        return -KN_EINVAL;
    const cJSON *v = pointer_walk(*o->root, &p, p.n);
    pointer_free(&p);
    if (!v)
        return op_fail(o, KN_ECONFLICT, "test failed: path not found");
    if (!kn_json_equal(v, o->value))
        return op_fail(o, KN_ECONFLICT, "test failed: value differs");
    return 0;
}

/* Reads op's members; fails on a missing or mistyped one. */
static int op_read(const cJSON *item, patch_op *o)
{
    o->op = NULL;
    o->path = NULL;
    if (!cJSON_IsObject(item))
        return op_fail(o, KN_EINVAL, "not an object");
    const cJSON *op = cJSON_GetObjectItemCaseSensitive(item, "op");
    const cJSON *path = cJSON_GetObjectItemCaseSensitive(item, "path");
    if (!cJSON_IsString(op))
        return op_fail(o, KN_EINVAL, "missing or non-string \"op\"");
    o->op = op->valuestring;
    if (!cJSON_IsString(path))
        return op_fail(o, KN_EINVAL, "missing or non-string \"path\"");
    o->path = path->valuestring;
    bool needs_from = !strcmp(o->op, "move") || !strcmp(o->op, "copy");
    bool needs_value = !strcmp(o->op, "add") || !strcmp(o->op, "replace") || !strcmp(o->op, "test");
    if (!needs_from && !needs_value && strcmp(o->op, "remove") != 0)
        return op_fail(o, KN_EINVAL, "unknown operation \"%s\"", o->op);
    const cJSON *from = cJSON_GetObjectItemCaseSensitive(item, "from");
    o->from = cJSON_IsString(from) ? from->valuestring : NULL;
    if (needs_from && !o->from)
        return op_fail(o, KN_EINVAL, "missing or non-string \"from\"");
    o->value = cJSON_GetObjectItemCaseSensitive(item, "value");
    if (needs_value && !o->value)
        return op_fail(o, KN_EINVAL, "missing \"value\"");
    return 0;
}

static int op_apply(const patch_op *o)
{
    switch (o->op[0]) {
    case 'a':
        return op_add(o);
    case 'r':
        return o->op[2] == 'm' ? op_remove(o) : op_replace(o);
    case 'm':
        return op_move_copy(o, true);
    case 'c':
        return op_move_copy(o, false);
    default:
        return op_test(o);
    }
}

int kn_json_patch_apply(const cJSON *doc, const cJSON *patch, cJSON **out, kn_error **err)
{
    if (!cJSON_IsArray(patch))
        return kn_error_set(err, KN_EINVAL, "a JSON patch must be an array of operations, got %s",
                            kn_json_type_name(patch));
    cleanup_cjson cJSON *work = json_dup(doc);
    patch_op o = {.root = &work, .err = err};
    const cJSON *item;
    cJSON_ArrayForEach(item, patch)
    {
        int r = op_read(item, &o);
        if (r >= 0)
            r = op_apply(&o);
        if (r < 0)
            return r;
        o.index++;
    }
    *out = kn_steal_ptr(work);
    return 0;
}

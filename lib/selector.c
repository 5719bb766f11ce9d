/* selector.c - label and field selectors with upstream semantics (see
 * selector.h). The label selector lexer and parser follow
 * apimachinery/pkg/labels/selector.go token for token, so inputs are accepted,
 * rejected and reported as upstream does. */
#include "lib/selector.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/cleanup.h"
#include "lib/xalloc.h"

/* ---- strings: builder, list, Go-style quoting ------------------------------------ */

typedef struct sbuf {
    char *p;
    size_t len, cap;
} sbuf;

static void sb_addn(sbuf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        b->cap = (b->len + n + 1) * 2;
        b->p = xrealloc(b->p, b->cap);
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void sb_add(sbuf *b, const char *s)
{
    sb_addn(b, s, strlen(s));
}

static char *sb_steal(sbuf *b)
{
    char *p = b->p ? b->p : xstrdup("");
    b->p = NULL;
    b->len = b->cap = 0;
    return p;
}

typedef struct strlist {
    char **v;
    size_t n;
} strlist;

/* Appends s, taking ownership. */
static void sl_add(strlist *l, char *s)
{
    l->v = xreallocarray(l->v, l->n + 1, sizeof(*l->v));
    l->v[l->n++] = s;
}

static bool sl_has(const strlist *l, const char *s)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->v[i], s) == 0)
            return true;
    return false;
}

static void sl_free(strlist *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

static char *sl_join(const strlist *l, const char *sep)
{
    sbuf b = {0};
    for (size_t i = 0; i < l->n; i++) {
        if (i > 0)
            sb_add(&b, sep);
        sb_add(&b, l->v[i]);
    }
    return sb_steal(&b);
}

/* utilerrors aggregate: one message alone, else "[a, b]" without repeats. */
static char *aggregate(const strlist *errs)
{
    strlist uniq = {0};
    for (size_t i = 0; i < errs->n; i++)
        if (!sl_has(&uniq, errs->v[i]))
            sl_add(&uniq, errs->v[i]);
    char *joined = sl_join(&uniq, ", ");
    char *msg = uniq.n == 1 ? joined : xasprintf("[%s]", joined);
    if (msg != joined)
        free(joined);
    free(uniq.v); /* the strings belong to errs */
    return msg;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Length of the valid UTF-8 sequence at s (Go's rules), 0 if invalid. */
static size_t utf8_len(const unsigned char *s)
{
    size_t n = s[0] < 0x80 ? 1 : s[0] < 0xc2 ? 0 : s[0] < 0xe0 ? 2 : s[0] < 0xf0 ? 3 : 4;
    uint32_t min[] = {0, 0, 0x80, 0x800, 0x10000};
    if (n <= 1 || s[0] > 0xf4)
        return s[0] > 0xf4 ? 0 : n;
    uint32_t r = s[0] & (0x7f >> n);
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        r = r << 6 | (s[i] & 0x3f);
    }
    if (r < min[n] || r > 0x10ffff || (r >= 0xd800 && r <= 0xdfff))
        return 0;
    return n;
}

/* strconv.Quote, except that valid non-printable runes above ASCII are kept. */
static void sb_quote(sbuf *b, const char *s)
{
    sb_add(b, "\"");
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        static const char esc[] = "\a\b\f\n\r\t\v", name[] = "abfnrtv";
        const char *e = *p ? strchr(esc, *p) : NULL;
        char tmp[8];
        size_t n = utf8_len(p);
        if (*p == '"' || *p == '\\') {
            snprintf(tmp, sizeof(tmp), "\\%c", *p);
        } else if (e) {
            snprintf(tmp, sizeof(tmp), "\\%c", name[e - esc]);
        } else if (n == 0 || *p < 0x20 || *p == 0x7f) {
            snprintf(tmp, sizeof(tmp), "\\x%02x", *p);
        } else {
            sb_addn(b, (const char *)p, n);
            p += n;
            continue;
        }
        sb_add(b, tmp);
        p++;
    }
    sb_add(b, "\"");
}

/* field.Invalid(path, value, detail).Error() */
static char *field_invalid(const char *path, const char *value, const char *detail)
{
    sbuf b = {0};
    sb_add(&b, path);
    sb_add(&b, ": Invalid value: ");
    sb_quote(&b, value);
    sb_add(&b, ": ");
    sb_add(&b, detail);
    return sb_steal(&b);
}

/* strconv.ParseInt(s, 10, 64) */
static bool go_parse_int64(const char *s, int64_t *out)
{
    const uint64_t limit = (uint64_t)INT64_MAX + 1;
    bool neg = *s == '-';
    uint64_t v = 0;
    if (*s == '-' || *s == '+')
        s++;
    if (!*s)
        return false;
    for (; *s; s++) {
        unsigned d = (unsigned)(*s - '0');
        if (*s < '0' || *s > '9' || v > (limit - d) / 10)
            return false;
        v = v * 10 + d;
    }
    if (!neg && v == limit)
        return false;
    *out = !neg ? (int64_t)v : v == limit ? INT64_MIN : -(int64_t)v;
    return true;
}

/* ---- label key and value validation (util/validation) ----------------------------- */

#define QNAME_FMT "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
#define QNAME_ERR                                                                                  \
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "    \
    "alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for "         \
    "validation is '" QNAME_FMT "')"
#define DNS1123_SUBDOMAIN_ERR                                                                      \
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "   \
    "'.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used "  \
    "for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
#define LABEL_VALUE_ERR                                                                            \
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or "    \
    "'.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or "             \
    "'my_value',  or '12345', regex used for validation is '(" QNAME_FMT ")?')"

static bool is_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* ^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$ */
static bool qualified_name_ok(const char *s, size_t n)
{
    if (n == 0 || !is_alnum(s[0]) || !is_alnum(s[n - 1]))
        return false;
    for (size_t i = 1; i + 1 < n; i++)
        if (!is_alnum(s[i]) && s[i] != '-' && s[i] != '_' && s[i] != '.')
            return false;
    return true;
}

static bool is_lower_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* ^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$ */
static bool dns1123_subdomain_ok(const char *s, size_t n)
{
    size_t start = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i < n && s[i] != '.') {
            if (!is_lower_alnum(s[i]) && s[i] != '-')
                return false;
            continue;
        }
        if (i == start || !is_lower_alnum(s[start]) || !is_lower_alnum(s[i - 1]))
            return false;
        start = i + 1;
    }
    return true;
}

/* IsQualifiedName: appends its messages to errs. */
static void qualified_name_errors(const char *value, strlist *errs)
{
    const char *slash = strchr(value, '/'), *name = value;
    if (slash && strchr(slash + 1, '/')) {
        sl_add(errs, xstrdup("a qualified name " QNAME_ERR " with an optional DNS subdomain "
                             "prefix and '/' (e.g. 'example.com/MyName')"));
        return;
    }
    if (slash) {
        size_t plen = (size_t)(slash - value);
        if (plen == 0)
            sl_add(errs, xstrdup("prefix part must be non-empty"));
        if (plen > 253)
            sl_add(errs, xstrdup("prefix part must be no more than 253 characters"));
        if (plen > 0 && !dns1123_subdomain_ok(value, plen))
            sl_add(errs, xstrdup("prefix part " DNS1123_SUBDOMAIN_ERR));
        name = slash + 1;
    }
    size_t n = strlen(name);
    if (n == 0)
        sl_add(errs, xstrdup("name part must be non-empty"));
    else if (n > 63)
        sl_add(errs, xstrdup("name part must be no more than 63 characters"));
    if (!qualified_name_ok(name, n))
        sl_add(errs, xstrdup("name part " QNAME_ERR));
}

/* IsValidLabelValue: appends its messages to errs. */
static void label_value_errors(const char *value, strlist *errs)
{
    size_t n = strlen(value);
    if (n > 63)
        sl_add(errs, xstrdup("must be no more than 63 characters"));
    if (n > 0 && !qualified_name_ok(value, n))
        sl_add(errs, xstrdup(LABEL_VALUE_ERR));
}

static char *joined_or_null(strlist *errs)
{
    char *s = errs->n ? sl_join(errs, "; ") : NULL;
    sl_free(errs);
    return s;
}

char *kn_label_key_errors(const char *key)
{
    strlist errs = {0};
    qualified_name_errors(key, &errs);
    return joined_or_null(&errs);
}

char *kn_label_value_errors(const char *value)
{
    strlist errs = {0};
    label_value_errors(value, &errs);
    return joined_or_null(&errs);
}

/* ---- requirements and selectors ----------------------------------------------------- */

const char *kn_selector_op_name(kn_selector_op op)
{
    static const char *const names[] = {"in", "notin", "=", "==", "!=", "gt", "lt", "exists", "!"};
    return (unsigned)op < KN_ARRAY_SIZE(names) ? names[op] : "?";
}

static void req_free(kn_label_requirement *r)
{
    free(r->key);
    for (size_t i = 0; i < r->n_values; i++)
        free(r->values[i]);
    free(r->values);
}

void kn_label_selector_free(kn_label_selector *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n_reqs; i++)
        req_free(&s->reqs[i]);
    free(s->reqs);
    free(s);
}

kn_label_selector *kn_label_selector_everything(void)
{
    return xcalloc(1, sizeof(kn_label_selector));
}

kn_label_selector *kn_label_selector_nothing(void)
{
    kn_label_selector *s = kn_label_selector_everything();
    s->nothing = true;
    return s;
}

/* Appends a requirement taking ownership of key and the values list. */
static void add_req(kn_label_selector *s, char *key, kn_selector_op op, strlist *values)
{
    s->reqs = xreallocarray(s->reqs, s->n_reqs + 1, sizeof(*s->reqs));
    s->reqs[s->n_reqs++] = (kn_label_requirement){key, op, values->v, values->n};
    values->v = NULL;
    values->n = 0;
}

typedef struct indexed_req {
    kn_label_requirement r;
    size_t index;
} indexed_req;

static int cmp_indexed_req(const void *a, const void *b)
{
    const indexed_req *x = a, *y = b;
    int c = strcmp(x->r.key, y->r.key);
    return c ? c : x->index < y->index ? -1 : x->index > y->index;
}

/* Sorts the requirements by key, keeping the input order of equal keys. */
static void sort_reqs(kn_label_selector *s)
{
    indexed_req *tmp = xcalloc(s->n_reqs ? s->n_reqs : 1, sizeof(*tmp));
    for (size_t i = 0; i < s->n_reqs; i++)
        tmp[i] = (indexed_req){s->reqs[i], i};
    qsort(tmp, s->n_reqs, sizeof(*tmp), cmp_indexed_req);
    for (size_t i = 0; i < s->n_reqs; i++)
        s->reqs[i] = tmp[i].r;
    free(tmp);
}

kn_label_selector *kn_label_selector_from_set(const kn_label *labels, size_t n)
{
    kn_label_selector *s = kn_label_selector_everything();
    for (size_t i = 0; i < n; i++) {
        strlist v = {0};
        sl_add(&v, xstrdup(labels[i].value));
        add_req(s, xstrdup(labels[i].key), KN_SELECTOR_EQUALS, &v);
    }
    sort_reqs(s);
    return s;
}

/* ---- matching ------------------------------------------------------------------------- */

static bool has_value(const kn_label_requirement *r, const char *v)
{
    for (size_t i = 0; i < r->n_values; i++)
        if (strcmp(r->values[i], v) == 0)
            return true;
    return false;
}

static bool compare_matches(const kn_label_requirement *r, const char *v)
{
    int64_t have, want;
    if (!v || !go_parse_int64(v, &have) || r->n_values != 1 || !go_parse_int64(r->values[0], &want))
        return false;
    return r->op == KN_SELECTOR_GREATER_THAN ? have > want : have < want;
}

static bool req_matches(const kn_label_requirement *r, kn_label_lookup_fn lookup, void *ud)
{
    const char *v = lookup(ud, r->key);
    switch (r->op) {
    case KN_SELECTOR_IN:
    case KN_SELECTOR_EQUALS:
    case KN_SELECTOR_DOUBLE_EQUALS:
        return v && has_value(r, v);
    case KN_SELECTOR_NOT_IN:
    case KN_SELECTOR_NOT_EQUALS:
        return !v || !has_value(r, v);
    case KN_SELECTOR_EXISTS:
        return v != NULL;
    case KN_SELECTOR_DOES_NOT_EXIST:
        return v == NULL;
    case KN_SELECTOR_GREATER_THAN:
    case KN_SELECTOR_LESS_THAN:
        return compare_matches(r, v);
    }
    return false;
}

bool kn_label_selector_matches_fn(const kn_label_selector *s, kn_label_lookup_fn lookup, void *ud)
{
    if (s->nothing)
        return false;
    for (size_t i = 0; i < s->n_reqs; i++)
        if (!req_matches(&s->reqs[i], lookup, ud))
            return false;
    return true;
}

typedef struct label_array {
    const kn_label *labels;
    size_t n;
} label_array;

static const char *array_lookup(void *ud, const char *key)
{
    const label_array *a = ud;
    for (size_t i = 0; i < a->n; i++)
        if (strcmp(a->labels[i].key, key) == 0)
            return a->labels[i].value;
    return NULL;
}

bool kn_label_selector_matches(const kn_label_selector *s, const kn_label *labels, size_t n)
{
    label_array a = {labels, n};
    return kn_label_selector_matches_fn(s, array_lookup, &a);
}

bool kn_label_selector_empty(const kn_label_selector *s)
{
    return !s->nothing && s->n_reqs == 0;
}

bool kn_label_selector_requires_exact_match(const kn_label_selector *s, const char *key,
                                            const char **value)
{
    for (size_t i = 0; i < s->n_reqs; i++) {
        const kn_label_requirement *r = &s->reqs[i];
        if (strcmp(r->key, key) != 0)
            continue;
        if ((r->op == KN_SELECTOR_EQUALS || r->op == KN_SELECTOR_DOUBLE_EQUALS ||
             r->op == KN_SELECTOR_IN) &&
            r->n_values == 1) {
            *value = r->values[0];
            return true;
        }
        return false;
    }
    return false;
}

/* ---- String() ------------------------------------------------------------------------ */

static void req_string(sbuf *b, const kn_label_requirement *r)
{
    static const char *const ops[] = {" in ", " notin ", "=", "==", "!=", ">", "<", "", ""};
    bool set = r->op == KN_SELECTOR_IN || r->op == KN_SELECTOR_NOT_IN;
    if (r->op == KN_SELECTOR_DOES_NOT_EXIST)
        sb_add(b, "!");
    sb_add(b, r->key);
    if (r->op == KN_SELECTOR_EXISTS || r->op == KN_SELECTOR_DOES_NOT_EXIST)
        return;
    sb_add(b, ops[r->op]);
    if (set)
        sb_add(b, "(");
    /* values sorted on output, the selector itself left alone */
    char **sorted = xcalloc(r->n_values ? r->n_values : 1, sizeof(*sorted));
    for (size_t i = 0; i < r->n_values; i++)
        sorted[i] = r->values[i];
    qsort(sorted, r->n_values, sizeof(*sorted), cmp_str);
    for (size_t i = 0; i < r->n_values; i++) {
        if (i > 0)
            sb_add(b, ",");
        sb_add(b, sorted[i]);
    }
    free(sorted);
    if (set)
        sb_add(b, ")");
}

char *kn_label_selector_string(const kn_label_selector *s)
{
    sbuf b = {0};
    for (size_t i = 0; !s->nothing && i < s->n_reqs; i++) {
        if (i > 0)
            sb_add(&b, ",");
        req_string(&b, &s->reqs[i]);
    }
    return sb_steal(&b);
}

/* ---- the label selector lexer --------------------------------------------------------- */

typedef enum tok_type {
    T_EOS,
    T_CLOSE,
    T_COMMA,
    T_NOT,
    T_DEQ,
    T_EQ,
    T_GT,
    T_ID,
    T_IN,
    T_LT,
    T_NEQ,
    T_NOTIN,
    T_OPEN,
} tok_type;

typedef struct token {
    tok_type type;
    const char *lit; /* into the input; "" for the end */
    size_t len;
} token;

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool is_special(char c)
{
    return c && strchr("=!(),><", c);
}

/* The longest operator at s: "!=" and "==" over their first character. */
static token lex_special(const char *s)
{
    static const char singles[] = "=!(),><";
    static const tok_type types[] = {T_EQ, T_NOT, T_OPEN, T_CLOSE, T_COMMA, T_GT, T_LT};
    if ((s[0] == '!' || s[0] == '=') && s[1] == '=')
        return (token){s[0] == '!' ? T_NEQ : T_DEQ, s, 2};
    return (token){types[strchr(singles, s[0]) - singles], s, 1};
}

static token lex_word(const char *s)
{
    size_t n = 0;
    while (s[n] && !is_special(s[n]) && !is_space(s[n]))
        n++;
    tok_type t = T_ID;
    if (n == 2 && memcmp(s, "in", 2) == 0)
        t = T_IN;
    else if (n == 5 && memcmp(s, "notin", 5) == 0)
        t = T_NOTIN;
    return (token){t, s, n};
}

/* Tokenizes all of s; the last token is T_EOS. Caller frees. */
static token *lex_all(const char *s, size_t *count)
{
    token *toks = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        while (is_space(*s))
            s++;
        token t = !*s ? (token){T_EOS, "", 0} : is_special(*s) ? lex_special(s) : lex_word(s);
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            toks = xreallocarray(toks, cap, sizeof(*toks));
        }
        toks[n++] = t;
        if (t.type == T_EOS)
            break;
        s += t.len;
    }
    *count = n;
    return toks;
}

/* ---- the label selector parser -------------------------------------------------------- */

typedef struct parser {
    token *toks;
    size_t n, pos;
    char *error; /* the first error, upstream's text */
} parser;

/* In the values context "in" and "notin" are identifiers. */
static token peek(const parser *p, bool values)
{
    token t = p->toks[p->pos];
    if (values && (t.type == T_IN || t.type == T_NOTIN))
        t.type = T_ID;
    return t;
}

static token next(parser *p, bool values)
{
    token t = peek(p, values);
    if (p->pos + 1 < p->n)
        p->pos++;
    return t;
}

static bool fail_found(parser *p, token t, const char *expected)
{
    p->error = xasprintf("found '%.*s', %s", (int)t.len, t.lit, expected);
    return false;
}

/* Inserts the token text (or "") into the value set unless present. */
static void set_insert(strlist *set, const char *s, size_t n)
{
    char *v = xstrndup(s, n);
    if (sl_has(set, v))
        free(v);
    else
        sl_add(set, v);
}

/* parseIdentifiersList: "(a,b" ",,", ",)" ... up to the ')' (not consumed). */
static bool parse_identifiers(parser *p, strlist *set)
{
    for (;;) {
        token t = next(p, true), t2;
        switch (t.type) {
        case T_ID:
            set_insert(set, t.lit, t.len);
            t2 = peek(p, true);
            if (t2.type == T_COMMA)
                continue;
            if (t2.type == T_CLOSE)
                return true;
            return fail_found(p, t2, "expected: ',' or ')'");
        case T_COMMA:
            if (set->n == 0)
                set_insert(set, "", 0); /* "(," */
            t2 = peek(p, true);
            if (t2.type == T_CLOSE) {
                set_insert(set, "", 0); /* ",)" */
                return true;
            }
            if (t2.type == T_COMMA) {
                next(p, true);
                set_insert(set, "", 0); /* ",," */
            }
            continue;
        default:
            return fail_found(p, t, "expected: ',', or identifier");
        }
    }
}

static bool parse_values(parser *p, strlist *set)
{
    token t = next(p, true);
    if (t.type != T_OPEN) {
        p->error = xasprintf("found '%.*s' expected: '('", (int)t.len, t.lit);
        return false;
    }
    t = peek(p, true);
    switch (t.type) {
    case T_ID:
    case T_COMMA:
        if (!parse_identifiers(p, set))
            return false;
        if (next(p, true).type != T_CLOSE)
            return fail_found(p, t, "expected: ')'");
        return true;
    case T_CLOSE: /* "()" */
        next(p, true);
        set_insert(set, "", 0);
        return true;
    default:
        return fail_found(p, t, "expected: ',', ')' or identifier");
    }
}

static bool parse_exact_value(parser *p, strlist *set)
{
    token t = peek(p, true);
    if (t.type == T_EOS || t.type == T_COMMA) {
        set_insert(set, "", 0);
        return true;
    }
    t = next(p, true);
    if (t.type != T_ID)
        return fail_found(p, t, "expected: identifier");
    set_insert(set, t.lit, t.len);
    return true;
}

static bool parse_operator(parser *p, kn_selector_op *op)
{
    token t = next(p, false);
    switch (t.type) {
    case T_IN:
        *op = KN_SELECTOR_IN;
        return true;
    case T_NOTIN:
        *op = KN_SELECTOR_NOT_IN;
        return true;
    case T_EQ:
        *op = KN_SELECTOR_EQUALS;
        return true;
    case T_DEQ:
        *op = KN_SELECTOR_DOUBLE_EQUALS;
        return true;
    case T_NEQ:
        *op = KN_SELECTOR_NOT_EQUALS;
        return true;
    case T_GT:
        *op = KN_SELECTOR_GREATER_THAN;
        return true;
    case T_LT:
        *op = KN_SELECTOR_LESS_THAN;
        return true;
    default:
        return fail_found(p, t, "expected: in, notin, =, ==, !=, gt, lt");
    }
}

/* NewRequirement's checks on the values (the parser makes the rest hold). */
static bool check_values(parser *p, const char *key, kn_selector_op op, const strlist *set)
{
    strlist errs = {0};
    for (size_t i = 0; i < set->n; i++) {
        int64_t ignored;
        char path[48];
        snprintf(path, sizeof(path), "values[%zu]", i);
        if ((op == KN_SELECTOR_GREATER_THAN || op == KN_SELECTOR_LESS_THAN) &&
            !go_parse_int64(set->v[i], &ignored))
            sl_add(&errs, field_invalid(path, set->v[i],
                                        "for 'Gt', 'Lt' operators, the value must be an integer"));
    }
    for (size_t i = 0; i < set->n; i++) {
        cleanup_free char *msg = kn_label_value_errors(set->v[i]);
        if (msg) {
            cleanup_free char *path = xasprintf("values[%zu][%s]", i, key);
            sl_add(&errs, field_invalid(path, set->v[i], msg));
        }
    }
    if (errs.n)
        p->error = aggregate(&errs);
    sl_free(&errs);
    return p->error == NULL;
}

/* parseKeyAndInferOperator + parseRequirement; appends to s. */
static bool parse_requirement(parser *p, kn_label_selector *s)
{
    token t = next(p, true);
    bool not_exist = t.type == T_NOT;
    kn_selector_op op = not_exist ? KN_SELECTOR_DOES_NOT_EXIST : KN_SELECTOR_EXISTS;
    strlist set = {0};
    if (not_exist)
        t = next(p, true);
    if (t.type != T_ID)
        return fail_found(p, t, "expected: identifier");
    cleanup_free char *key = xstrndup(t.lit, t.len);
    cleanup_free char *key_err = kn_label_key_errors(key);
    if (key_err) {
        p->error = field_invalid("<nil>", key, key_err);
        return false;
    }
    tok_type la = peek(p, true).type;
    if (!not_exist && la != T_EOS && la != T_COMMA) {
        bool ok = parse_operator(p, &op);
        if (ok && (op == KN_SELECTOR_IN || op == KN_SELECTOR_NOT_IN))
            ok = parse_values(p, &set);
        else if (ok)
            ok = parse_exact_value(p, &set);
        if (ok) {
            qsort(set.v, set.n, sizeof(*set.v), cmp_str); /* sets.String.List() */
            ok = check_values(p, key, op, &set);
        }
        if (!ok) {
            sl_free(&set);
            return false;
        }
    }
    add_req(s, kn_steal_ptr(key), op, &set);
    return true;
}

static bool parse_selector(parser *p, kn_label_selector *s)
{
    for (;;) {
        token t = peek(p, true);
        if (t.type == T_EOS)
            return true;
        if (t.type != T_ID && t.type != T_NOT)
            return fail_found(p, t, "expected: !, identifier, or 'end of string'");
        if (!parse_requirement(p, s)) {
            char *wrapped = xasprintf("unable to parse requirement: %s", p->error);
            free(p->error);
            p->error = wrapped;
            return false;
        }
        t = next(p, true);
        if (t.type == T_EOS)
            return true;
        if (t.type != T_COMMA)
            return fail_found(p, t, "expected: ',' or 'end of string'");
        token t2 = peek(p, true);
        if (t2.type != T_ID && t2.type != T_NOT)
            return fail_found(p, t2, "expected: identifier after ','");
    }
}

int kn_label_selector_parse(const char *s, kn_label_selector **out, kn_error **err)
{
    parser p = {0};
    p.toks = lex_all(s, &p.n);
    kn_label_selector *sel = kn_label_selector_everything();
    bool ok = parse_selector(&p, sel);
    free(p.toks);
    if (!ok) {
        kn_label_selector_free(sel);
        int rc = kn_error_set(err, KN_EINVAL, "%s", p.error);
        free(p.error);
        return rc;
    }
    sort_reqs(sel);
    *out = sel;
    return 0;
}

/* ---- metav1.LabelSelector from JSON --------------------------------------------------- */

/* "<base>.<child>", or child alone. Caller frees. */
static char *child_path(const char *base, const char *child)
{
    return base && *base ? xasprintf("%s.%s", base, child) : xstrdup(child);
}

/* ValidateLabelName / IsValidLabelValue as separate field errors. */
static void validate_label(const char *path, const char *v, bool is_key, strlist *errs)
{
    strlist msgs = {0};
    if (is_key)
        qualified_name_errors(v, &msgs);
    else
        label_value_errors(v, &msgs);
    for (size_t i = 0; i < msgs.n; i++)
        sl_add(errs, field_invalid(path, v, msgs.v[i]));
    sl_free(&msgs);
}

/* matchLabels[key] = value; a map, so the last duplicate key wins. */
static void set_match_label(kn_label_selector *s, size_t first, const char *key, const char *value)
{
    for (size_t i = first; i < s->n_reqs; i++) {
        if (strcmp(s->reqs[i].key, key) == 0) {
            free(s->reqs[i].values[0]);
            s->reqs[i].values[0] = xstrdup(value);
            return;
        }
    }
    strlist v = {0};
    sl_add(&v, xstrdup(value));
    add_req(s, xstrdup(key), KN_SELECTOR_EQUALS, &v);
}

static void json_match_labels(const cJSON *item, const char *path, kn_label_selector *s,
                              strlist *errs)
{
    if (!item || cJSON_IsNull(item))
        return;
    cleanup_free char *fld = child_path(path, "matchLabels");
    if (!cJSON_IsObject(item)) {
        sl_add(errs, xasprintf("%s: must be an object of strings", fld));
        return;
    }
    size_t first = s->n_reqs;
    const cJSON *e;
    cJSON_ArrayForEach(e, item)
    {
        if (!cJSON_IsString(e)) {
            sl_add(errs, xasprintf("%s[%s]: must be a string", fld, e->string));
            continue;
        }
        validate_label(fld, e->string, true, errs);
        validate_label(fld, e->valuestring, false, errs);
        set_match_label(s, first, e->string, e->valuestring);
    }
}

static const char *json_string(const cJSON *obj, const char *name, const char *path, strlist *errs)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    if (!v || cJSON_IsNull(v))
        return "";
    if (!cJSON_IsString(v)) {
        sl_add(errs, xasprintf("%s.%s: must be a string", path, name));
        return "";
    }
    return v->valuestring;
}

static void json_values(const cJSON *obj, const char *path, strlist *values, strlist *errs)
{
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(obj, "values"), *v;
    if (!arr || cJSON_IsNull(arr))
        return;
    if (!cJSON_IsArray(arr)) {
        sl_add(errs, xasprintf("%s.values: must be an array of strings", path));
        return;
    }
    size_t i = 0;
    cJSON_ArrayForEach(v, arr)
    {
        cleanup_free char *vpath = xasprintf("%s.values[%zu]", path, i++);
        if (!cJSON_IsString(v)) {
            sl_add(errs, xasprintf("%s: must be a string", vpath));
            continue;
        }
        validate_label(vpath, v->valuestring, false, errs);
        sl_add(values, xstrdup(v->valuestring));
    }
}

static bool json_operator(const char *name, kn_selector_op *op)
{
    static const struct {
        const char *name;
        kn_selector_op op;
    } ops[] = {{"In", KN_SELECTOR_IN},
               {"NotIn", KN_SELECTOR_NOT_IN},
               {"Exists", KN_SELECTOR_EXISTS},
               {"DoesNotExist", KN_SELECTOR_DOES_NOT_EXIST}};
    for (size_t i = 0; i < KN_ARRAY_SIZE(ops); i++) {
        if (strcmp(ops[i].name, name) == 0) {
            *op = ops[i].op;
            return true;
        }
    }
    return false;
}

/* ValidateLabelSelectorRequirement + conversion of matchExpressions[i]. */
static void json_expression(const cJSON *e, const char *path, kn_label_selector *s, strlist *errs)
{
    if (!cJSON_IsObject(e)) {
        sl_add(errs, xasprintf("%s: must be an object", path));
        return;
    }
    const char *key = json_string(e, "key", path, errs);
    const char *opname = json_string(e, "operator", path, errs);
    strlist values = {0};
    kn_selector_op op;
    json_values(e, path, &values, errs);
    bool known = json_operator(opname, &op);
    if (!known) {
        sbuf b = {0};
        sb_add(&b, path);
        sb_add(&b, ".operator: Unsupported value: ");
        sb_quote(&b, opname);
        sb_add(&b, ": supported values: \"In\", \"NotIn\", \"Exists\", \"DoesNotExist\"");
        sl_add(errs, sb_steal(&b));
    } else if ((op == KN_SELECTOR_IN || op == KN_SELECTOR_NOT_IN) && values.n == 0) {
        sl_add(errs, xasprintf("%s.values: Required value: must be specified when `operator` is "
                               "'In' or 'NotIn'",
                               path));
    } else if ((op == KN_SELECTOR_EXISTS || op == KN_SELECTOR_DOES_NOT_EXIST) && values.n > 0) {
        sl_add(errs, xasprintf("%s.values: Forbidden: may not be specified when `operator` is "
                               "'Exists' or 'DoesNotExist'",
                               path));
    }
    cleanup_free char *kpath = xasprintf("%s.key", path);
    validate_label(kpath, key, true, errs);
    if (known)
        add_req(s, xstrdup(key), op, &values);
    sl_free(&values);
}

static void json_match_expressions(const cJSON *item, const char *path, kn_label_selector *s,
                                   strlist *errs)
{
    if (!item || cJSON_IsNull(item))
        return;
    cleanup_free char *fld = child_path(path, "matchExpressions");
    if (!cJSON_IsArray(item)) {
        sl_add(errs, xasprintf("%s: must be an array", fld));
        return;
    }
    size_t i = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, item)
    {
        cleanup_free char *epath = xasprintf("%s[%zu]", fld, i++);
        json_expression(e, epath, s, errs);
    }
}

int kn_label_selector_from_json(const cJSON *json, const char *path, kn_label_selector **out,
                                kn_error **err)
{
    if (!json || cJSON_IsNull(json)) {
        *out = kn_label_selector_nothing();
        return 0;
    }
    if (!cJSON_IsObject(json))
        return kn_error_set(err, KN_EINVAL, "%s: must be an object",
                            path && *path ? path : "labelSelector");
    kn_label_selector *s = kn_label_selector_everything();
    strlist errs = {0};
    json_match_labels(cJSON_GetObjectItemCaseSensitive(json, "matchLabels"), path, s, &errs);
    json_match_expressions(cJSON_GetObjectItemCaseSensitive(json, "matchExpressions"), path, s,
                           &errs);
    if (errs.n) {
        cleanup_free char *msg = aggregate(&errs);
        sl_free(&errs);
        kn_label_selector_free(s);
        return kn_error_set(err, KN_EINVAL, "%s", msg);
    }
    sort_reqs(s);
    *out = s;
    return 0;
}

/* ---- field selectors ------------------------------------------------------------------ */

void kn_field_selector_free(kn_field_selector *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n_terms; i++) {
        free(s->terms[i].field);
        free(s->terms[i].value);
    }
    free(s->terms);
    free(s);
}

/* splitTerms: split at commas not escaped by a backslash. */
static void split_terms(const char *s, strlist *parts)
{
    const char *start = s;
    bool in_slash = false;
    for (const char *p = s;; p++) {
        if (!*p || (!in_slash && *p == ',')) {
            sl_add(parts, xstrndup(start, (size_t)(p - start)));
            if (!*p)
                return;
            start = p + 1;
            continue;
        }
        in_slash = !in_slash && *p == '\\';
    }
}

/* Appends the rune at *p (U+FFFD for an invalid byte, as Go's range does). */
static void copy_rune(sbuf *b, const char **p)
{
    size_t n = utf8_len((const unsigned char *)*p);
    sb_addn(b, n ? *p : "\xef\xbf\xbd", n ? n : 3);
    *p += n ? n : 1;
}

/* UnescapeValue; on error sets *error to upstream's message. */
static char *unescape_value(const char *s, char **error)
{
    if (!strpbrk(s, "\\,="))
        return xstrdup(s);
    sbuf b = {0};
    for (const char *p = s; *p;) {
        if (*p == ',' || *p == '=') {
            *error = xasprintf("invalid field selector: unescaped character in value: %d", *p);
        } else if (*p != '\\') {
            copy_rune(&b, &p);
            continue;
        } else if (p[1] == '\\' || p[1] == ',' || p[1] == '=') {
            sb_addn(&b, p + 1, 1);
            p += 2;
            continue;
        } else {
            sbuf seq = {0};
            const char *q = p + 1;
            sb_add(&seq, "\\");
            if (*q)
                copy_rune(&seq, &q);
            cleanup_free char *seqs = sb_steal(&seq);
            *error = xasprintf("invalid field selector: invalid escape sequence: %s", seqs);
        }
        free(b.p);
        return NULL;
    }
    return sb_steal(&b);
}

/* splitTerm: the first "!=", "==" or "=" (checked in that order). */
static const char *split_term(const char *term, size_t *op_len, bool *not_equal)
{
    for (const char *p = term; *p; p++) {
        if (strncmp(p, "!=", 2) == 0 || strncmp(p, "==", 2) == 0 || *p == '=') {
            *not_equal = *p == '!';
            *op_len = *p == '=' && p[1] != '=' ? 1 : 2;
            return p;
        }
    }
    return NULL;
}

static bool parse_term(const char *selector, const char *part, kn_field_selector *s, char **error)
{
    size_t op_len;
    bool not_equal;
    const char *op = split_term(part, &op_len, &not_equal);
    if (!op) {
        *error = xasprintf("invalid selector: '%s'; can't understand '%s'", selector, part);
        return false;
    }
    char *value = unescape_value(op + op_len, error);
    if (!value)
        return false;
    s->terms = xreallocarray(s->terms, s->n_terms + 1, sizeof(*s->terms));
    s->terms[s->n_terms++] = (kn_field_term){xstrndup(part, (size_t)(op - part)), value, not_equal};
    return true;
}

int kn_field_selector_parse(const char *s, kn_field_selector **out, kn_error **err)
{
    kn_field_selector *sel = xcalloc(1, sizeof(*sel));
    strlist parts = {0};
    char *error = NULL;
    if (*s)
        split_terms(s, &parts);
    if (parts.n)
        qsort(parts.v, parts.n, sizeof(*parts.v), cmp_str);
    for (size_t i = 0; i < parts.n && !error; i++)
        if (*parts.v[i])
            parse_term(s, parts.v[i], sel, &error);
    sl_free(&parts);
    if (error) {
        kn_field_selector_free(sel);
        int rc = kn_error_set(err, KN_EINVAL, "%s", error);
        free(error);
        return rc;
    }
    *out = sel;
    return 0;
}

bool kn_field_selector_matches(const kn_field_selector *s, kn_field_lookup_fn lookup, void *ud)
{
    for (size_t i = 0; i < s->n_terms; i++) {
        const char *v = lookup(ud, s->terms[i].field);
        bool eq = strcmp(v ? v : "", s->terms[i].value) == 0;
        if (eq == s->terms[i].not_equal)
            return false;
    }
    return true;
}

bool kn_field_selector_empty(const kn_field_selector *s)
{
    return s->n_terms == 0;
}

char *kn_field_selector_escape_value(const char *value)
{
    sbuf b = {0};
    sb_add(&b, "");
    for (const char *p = value; *p; p++) {
        if (*p == '\\' || *p == ',' || *p == '=')
            sb_add(&b, "\\");
        sb_addn(&b, p, 1);
    }
    return sb_steal(&b);
}

char *kn_field_selector_string(const kn_field_selector *s)
{
    sbuf b = {0};
    for (size_t i = 0; i < s->n_terms; i++) {
        cleanup_free char *v = kn_field_selector_escape_value(s->terms[i].value);
        if (i > 0)
            sb_add(&b, ",");
        sb_add(&b, s->terms[i].field);
        sb_add(&b, s->terms[i].not_equal ? "!=" : "=");
        sb_add(&b, v);
    }
    return sb_steal(&b);
}

bool kn_field_selector_requires_exact_match(const kn_field_selector *s, const char *field,
                                            const char **value)
{
    for (size_t i = 0; i < s->n_terms; i++) {
        if (!s->terms[i].not_equal && strcmp(s->terms[i].field, field) == 0) {
            *value = s->terms[i].value;
            return true;
        }
    }
    return false;
}

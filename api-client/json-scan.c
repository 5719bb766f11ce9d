/* json-scan.c - finding the members of a JSON object and the elements of a
 * JSON array without building a tree (see kc-internal.h). The scanner only
 * delimits values (strings with escapes, nested brackets); each value it
 * hands out is parsed, and so validated, by whoever uses it. */
#include <string.h>

#include "api-client/kc-internal.h"

#define MAX_DEPTH 512

static size_t skip_ws(const char *s, size_t len, size_t i)
{
    while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r'))
        i++;
    return i;
}

/* The end of the string starting at s[i] == '"', or 0 when unterminated. */
static size_t skip_string(const char *s, size_t len, size_t i)
{
    for (i++; i < len; i++) {
        if (s[i] == '\\')
            i++;
        else if (s[i] == '"')
            return i + 1;
    }
    return 0;
}

/* The end of the value starting at s[i], or 0 when it does not end. */
static size_t skip_value(const char *s, size_t len, size_t i)
{
    if (i >= len)
        return 0;
    if (s[i] == '"')
        return skip_string(s, len, i);
    if (s[i] != '{' && s[i] != '[') {
        size_t j = i;
        while (j < len && !strchr(",}] \t\r\n", s[j]))
            j++;
        return j > i ? j : 0;
    }
    int depth = 0;
    for (; i < len; i++) {
        if (s[i] == '"') {
            i = skip_string(s, len, i);
            if (!i)
                return 0;
            i--;
        } else if (s[i] == '{' || s[i] == '[') {
            if (++depth > MAX_DEPTH)
                return 0;
        } else if ((s[i] == '}' || s[i] == ']') && --depth == 0) {
            return i + 1;
        }
    }
    return 0;
}

static int bad(kn_error **err, size_t at, const char *what)
{
    return kn_error_set(err, KN_EINVAL, "invalid JSON at offset %zu: %s", at, what);
}

/* After a member or element: ',' (continue: 1), the closer (done: 0), else
 * an error. *i is moved past the separator. */
static int next_sep(const char *s, size_t len, size_t *i, char closer, kn_error **err)
{
    *i = skip_ws(s, len, *i);
    if (*i < len && s[*i] == ',') {
        (*i)++;
        return 1;
    }
    if (*i < len && s[*i] == closer) {
        (*i)++;
        return 0;
    }
    return bad(err, *i, closer == '}' ? "expected ',' or '}'" : "expected ',' or ']'");
}

int kc_scan_object(const char *s, size_t len, kc_member_fn fn, void *ud, kn_error **err)
{
    size_t i = skip_ws(s, len, 0);
    if (i >= len || s[i] != '{')
        return bad(err, i, "expected an object");
    i = skip_ws(s, len, i + 1);
    if (i < len && s[i] == '}')
        return 0;
    for (;;) {
        i = skip_ws(s, len, i);
        size_t kend = i < len && s[i] == '"' ? skip_string(s, len, i) : 0;
        if (!kend)
            return bad(err, i, "expected a member name");
        size_t c = skip_ws(s, len, kend);
        if (c >= len || s[c] != ':')
            return bad(err, c, "expected ':'");
        size_t v = skip_ws(s, len, c + 1), vend = skip_value(s, len, v);
        if (!vend)
            return bad(err, v, "unterminated value");
        if (fn(ud, s + i + 1, kend - i - 2, s + v, vend - v, err) < 0)
            return -1;
        i = vend;
        int more = next_sep(s, len, &i, '}', err);
        if (more <= 0)
            return more;
    }
}

int kc_scan_array(const char *s, size_t len, kc_elem_fn fn, void *ud, kn_error **err)
{
    size_t i = skip_ws(s, len, 0);
    if (i >= len || s[i] != '[')
        return bad(err, i, "expected an array");
    i = skip_ws(s, len, i + 1);
    if (i < len && s[i] == ']')
        return 0;
    for (;;) {
        size_t v = skip_ws(s, len, i), vend = skip_value(s, len, v);
        if (!vend)
            return bad(err, v, "unterminated value");
        if (fn(ud, s + v, vend - v, err) < 0)
            return -1;
        i = vend;
        int more = next_sep(s, len, &i, ']', err);
        if (more <= 0)
            return more;
    }
}

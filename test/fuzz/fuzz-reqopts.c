/* fuzz-reqopts.c - list, watch and delete options (controlplane/reqopts.c):
 * the input is a query string ("limit=5&labelSelector=a%3Db"), then after
 * the first NUL byte a DeleteOptions body (JSON or YAML). Laws (abort on
 * violation): a failure is KN_EINVAL with a message; validation problems
 * carry a field and a message; options that pass are in range. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controlplane/reqopts.h"
#include "lib/xalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct query {
    char *keys[16], *values[16];
    size_t n;
} query;

static int hexval(char c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

/* Percent- and plus-decoding in place, as a query string is. */
static void unescape(char *s)
{
    char *o = s;
    for (; *s; s++) {
        if (*s == '%' && hexval(s[1]) >= 0 && hexval(s[2]) >= 0 &&
            (hexval(s[1]) | hexval(s[2])) != 0) {
            *o++ = (char)(hexval(s[1]) * 16 + hexval(s[2]));
            s += 2;
        } else {
            *o++ = *s == '+' ? ' ' : *s;
        }
    }
    *o = '\0';
}

static void split(char *text, query *q)
{
    char *save = NULL;
    for (char *pair = strtok_r(text, "&", &save); pair && q->n < 16;
         pair = strtok_r(NULL, "&", &save)) {
        char *eq = strchr(pair, '=');
        if (eq)
            *eq = '\0';
        q->keys[q->n] = pair;
        q->values[q->n] = eq ? eq + 1 : pair + strlen(pair);
        unescape(q->keys[q->n]);
        unescape(q->values[q->n]);
        q->n++;
    }
}

static const char *get(void *arg, const char *key)
{
    const query *q = arg;
    for (size_t i = 0; i < q->n; i++) /* the first value, as Go's Get */
        if (strcmp(q->keys[i], key) == 0)
            return q->values[i];
    return NULL;
}

static void check_result(int rc, kn_error **err, kn_causes *causes, const char *kind)
{
    if (rc < 0 && (rc != -KN_EINVAL || kn_error_code(*err) != KN_EINVAL || !*kn_error_msg(*err)))
        abort();
    for (size_t i = 0; i < causes->len; i++)
        if (!*causes->items[i].field || !*causes->items[i].message)
            abort();
    if (causes->len)
        free(kn_options_invalid_message(kind, causes));
    kn_error_free(err);
    kn_causes_free(causes);
}

static void list(query *q, bool watch)
{
    kn_list_opts o;
    kn_causes causes = {0};
    kn_error *err = NULL;
    int rc = kn_list_opts_parse(get, q, watch, &o, &causes, &err);
    if (rc == 0 && !causes.len && (o.rv < 0 || (o.cont_start && o.cont_rev <= 0)))
        abort();
    check_result(rc, &err, &causes, "ListOptions");
    kn_list_opts_free(&o);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = xmalloc(size + 1);
    memcpy(text, data, size);
    text[size] = '\0';
    size_t qlen = strlen(text);
    const char *body = qlen < size ? text + qlen + 1 : "";
    size_t blen = qlen < size ? size - qlen - 1 : 0;
    char *qtext = xstrdup(text);
    query q = {.n = 0};
    split(qtext, &q);
    list(&q, false);
    list(&q, true);
    kn_delete_opts d;
    kn_causes causes = {0};
    kn_error *err = NULL;
    int rc = kn_delete_opts_parse(get, &q, body, blen, &d, &causes, &err);
    if (rc == 0 && d.grace < -1)
        abort();
    check_result(rc, &err, &causes, "DeleteOptions");
    kn_delete_opts_free(&d);
    free(qtext);
    free(text);
    return 0;
}

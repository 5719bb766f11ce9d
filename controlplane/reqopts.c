/* reqopts.c - list, watch and delete options: upstream's parameter codec
 * (strconv for numbers, Go's lenient booleans), ListOptions and
 * DeleteOptions validation, and the DeleteOptions body. */
#include "controlplane/reqopts.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "controlplane/fieldvalid.h"
#include "controlplane/kschema.h"
#include "lib/json.h"
#include "lib/selector.h"
#include "lib/strbuf.h"
#include "lib/xalloc.h"
#include "lib/yaml.h"

#define MAX_OPTIONS_BODY ((size_t)1 << 20)

/* strconv.ParseInt(s, 10, 64) with its error text. An empty value is
 * treated as unset (*out untouched). */
static int parse_int64(const char *s, int64_t *out, kn_error **err)
{
    if (!s || !*s)
        return 0;
    const char *p = s + (*s == '+' || *s == '-');
    if (!*p || strspn(p, "0123456789") != strlen(p))
        return kn_error_set(err, KN_EINVAL, "strconv.ParseInt: parsing \"%s\": invalid syntax", s);
    errno = 0;
    long long v = strtoll(s, NULL, 10);
    if (errno == ERANGE)
        return kn_error_set(err, KN_EINVAL, "strconv.ParseInt: parsing \"%s\": value out of range",
                            s);
    *out = v;
    return 0;
}

/* A resourceVersion as the storage layer reads it (strconv.ParseUint). */
static int parse_rv(const char *s, int64_t *out, kn_error **err)
{
    *out = 0;
    if (!s || !*s)
        return 0;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (*s < '0' || *s > '9' || *end)
        return kn_error_set(err, KN_EINVAL,
                            "resourceVersion: Invalid value: \"%s\": strconv.ParseUint: "
                            "parsing \"%s\": invalid syntax",
                            s, s);
    if (errno == ERANGE || v > INT64_MAX)
        return kn_error_set(err, KN_EINVAL,
                            "resourceVersion: Invalid value: \"%s\": strconv.ParseUint: "
                            "parsing \"%s\": value out of range",
                            s, s);
    *out = (int64_t)v;
    return 0;
}

/* Go's query booleans: absent, "0" and "false" (any case) are false. */
static bool parse_bool(const char *s)
{
    return s && strcmp(s, "0") != 0 && strcasecmp(s, "false") != 0;
}

/* The continue token "<rev>:<last key>". */
static int parse_continue(const char *token, kn_list_opts *o, kn_error **err)
{
    char *colon = strchr(token, ':');
    char *end;
    errno = 0;
    long long r = strtoll(token, &end, 10);
    if (!colon || end != colon || r <= 0 || errno == ERANGE)
        return kn_error_set(err, KN_EINVAL, "continue key is not valid: \"%s\"", token);
    o->cont_rev = r;
    o->cont_start = xstrdup(colon + 1);
    return 0;
}

static int check_selectors(const kn_list_opts *o, kn_error **err)
{
    kn_label_selector *ls = NULL;
    kn_field_selector *fs = NULL;
    if (o->label_sel && kn_label_selector_parse(o->label_sel, &ls, err) < 0)
        return kn_error_wrap(err, "unable to parse requirement");
    kn_label_selector_free(ls);
    if (o->field_sel && kn_field_selector_parse(o->field_sel, &fs, err) < 0)
        return -KN_EINVAL;
    kn_field_selector_free(fs);
    return 0;
}

/* upstream's ValidateListOptions (and validateWatchOptions). */
static void validate_list(bool watch, const char *rv, const char *match, const char *cont,
                          kn_causes *causes)
{
    if (!match || !*match)
        return;
    if (watch) {
        kn_causes_add(causes, "FieldValueForbidden", "resourceVersionMatch",
                      "Forbidden: resourceVersionMatch is forbidden for watch unless "
                      "sendInitialEvents is provided");
        return;
    }
    if (!rv || !*rv)
        kn_causes_add(causes, "FieldValueForbidden", "resourceVersionMatch",
                      "Forbidden: resourceVersionMatch is forbidden unless resourceVersion is "
                      "provided");
    if (cont && *cont)
        kn_causes_add(causes, "FieldValueForbidden", "resourceVersionMatch",
                      "Forbidden: resourceVersionMatch is forbidden when continue is provided");
    if (strcmp(match, "Exact") == 0 && rv && strcmp(rv, "0") == 0)
        kn_causes_add(causes, "FieldValueForbidden", "resourceVersionMatch",
                      "Forbidden: resourceVersionMatch \"exact\" is forbidden for "
                      "resourceVersion \"0\"");
    else if (strcmp(match, "Exact") != 0 && strcmp(match, "NotOlderThan") != 0)
        kn_causes_add(causes, "FieldValueNotSupported", "resourceVersionMatch",
                      "Unsupported value: \"%s\": supported values: \"Exact\", "
                      "\"NotOlderThan\", \"\"",
                      match);
}

int kn_list_opts_parse(kn_query_fn get, void *arg, bool watch, kn_list_opts *o, kn_causes *causes,
                       kn_error **err)
{
    memset(o, 0, sizeof(*o));
    o->label_sel = get(arg, "labelSelector");
    o->field_sel = get(arg, "fieldSelector");
    const char *rv = get(arg, "resourceVersion"), *match = get(arg, "resourceVersionMatch"),
               *cont = get(arg, "continue");
    if (check_selectors(o, err) < 0 || parse_int64(get(arg, "limit"), &o->limit, err) < 0 ||
        parse_int64(get(arg, "timeoutSeconds"), &o->timeout_s, err) < 0)
        return -KN_EINVAL;
    o->bookmarks = parse_bool(get(arg, "allowWatchBookmarks"));
    validate_list(watch, rv, match, cont, causes);
    if (causes->len)
        return 0;
    if (!watch && cont && *cont) {
        if (rv && *rv && strcmp(rv, "0") != 0)
            return kn_error_set(err, KN_EINVAL,
                                "specifying resource version is not allowed when using continue");
        return parse_continue(cont, o, err);
    }
    if (parse_rv(rv, &o->rv, err) < 0)
        return -KN_EINVAL;
    o->exact = match && strcmp(match, "Exact") == 0;
    return 0;
}

void kn_list_opts_free(kn_list_opts *o)
{
    free(o->cont_start);
    o->cont_start = NULL;
}

/* ---- delete ----------------------------------------------------------------------- */

/* upstream's ValidateDeleteOptions. */
static void validate_delete(const kn_delete_opts *o, bool orphan_set, const cJSON *dry_run,
                            kn_causes *causes)
{
    const char *p = o->propagation;
    if (orphan_set && p)
        kn_causes_add(causes, "FieldValueInvalid", "propagationPolicy",
                      "Invalid value: \"%s\": orphanDependents and deletionPropagation cannot be "
                      "both set",
                      p);
    if (p && strcmp(p, "Foreground") != 0 && strcmp(p, "Background") != 0 &&
        strcmp(p, "Orphan") != 0)
        kn_causes_add(causes, "FieldValueNotSupported", "propagationPolicy",
                      "Unsupported value: \"%s\": supported values: \"Foreground\", "
                      "\"Background\", \"Orphan\", \"nil\"",
                      p);
    const cJSON *d;
    cJSON_ArrayForEach(d, dry_run)
    {
        if (cJSON_IsString(d) && strcmp(d->valuestring, "All") != 0)
            kn_causes_add(causes, "FieldValueNotSupported", "dryRun",
                          "Unsupported value: \"%s\": supported values: \"All\"", d->valuestring);
    }
}

/* Parses the body into o->body: one object of DeleteOptions' types. */
static int decode_delete_body(const char *body, size_t len, kn_delete_opts *o, kn_error **err)
{
    kn_yaml_docs docs = {0};
    if (kn_yaml_or_json_parse(body, len, MAX_OPTIONS_BODY, "DeleteOptions", 0, &docs, err) < 0)
        return -KN_EINVAL;
    if (docs.n != 1 || !cJSON_IsObject(docs.docs[0])) {
        kn_yaml_docs_free(&docs);
        return kn_error_set(err, KN_EINVAL, "the request body must be one DeleteOptions object");
    }
    o->body = docs.docs[0];
    docs.docs[0] = NULL;
    kn_yaml_docs_free(&docs);
    const kn_schema_type *t = kn_schema_by_kind("meta.k8s.io/v1", "DeleteOptions");
    char *why = kn_field_type_error(t, o->body);
    if (why) {
        kn_error_set(err, KN_EINVAL, "%s", why);
        free(why);
        return -KN_EINVAL;
    }
    kn_field_prune_unknown(t, o->body, NULL); /* upstream decodes DeleteOptions leniently */
    return 0;
}

static void read_delete_body(kn_delete_opts *o, bool *orphan_set)
{
    const cJSON *b = o->body;
    const cJSON *g = cJSON_GetObjectItemCaseSensitive(b, "gracePeriodSeconds");
    if (cJSON_IsNumber(g))
        o->grace = g->valuedouble < 0 ? -1 : (int64_t)g->valuedouble;
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(b, "propagationPolicy");
    if (cJSON_IsString(p))
        o->propagation = p->valuestring;
    const cJSON *orphan = cJSON_GetObjectItemCaseSensitive(b, "orphanDependents");
    *orphan_set = cJSON_IsBool(orphan);
    kn_json_get_string_opt(b, "preconditions.uid", NULL, &o->uid, NULL);
    kn_json_get_string_opt(b, "preconditions.resourceVersion", NULL, &o->rv, NULL);
}

int kn_delete_opts_parse(kn_query_fn get, void *arg, const char *body, size_t len,
                         kn_delete_opts *o, kn_causes *causes, kn_error **err)
{
    memset(o, 0, sizeof(*o));
    o->grace = -1;
    bool orphan_set = false;
    if (len) {
        if (decode_delete_body(body, len, o, err) < 0)
            return -KN_EINVAL;
        read_delete_body(o, &orphan_set);
    } else {
        int64_t g = -1;
        if (parse_int64(get(arg, "gracePeriodSeconds"), &g, err) < 0)
            return -KN_EINVAL;
        o->grace = g < 0 ? -1 : g;
        o->propagation = get(arg, "propagationPolicy");
        orphan_set = get(arg, "orphanDependents") != NULL;
    }
    validate_delete(o, orphan_set, cJSON_GetObjectItemCaseSensitive(o->body, "dryRun"), causes);
    if (!o->propagation && orphan_set) {
        const cJSON *orphan = cJSON_GetObjectItemCaseSensitive(o->body, "orphanDependents");
        bool yes = o->body ? cJSON_IsTrue(orphan) : parse_bool(get(arg, "orphanDependents"));
        o->propagation = yes ? "Orphan" : NULL;
    }
    return 0;
}

void kn_delete_opts_free(kn_delete_opts *o)
{
    cJSON_Delete(o->body);
    o->body = NULL;
}

char *kn_options_invalid_message(const char *kind, const kn_causes *causes)
{
    kn_buf b;
    kn_buf_init(&b);
    kn_buf_appendf(&b, "%s.meta.k8s.io \"\" is invalid: ", kind);
    if (causes->len > 1)
        kn_buf_append_char(&b, '[');
    for (size_t i = 0; i < causes->len; i++)
        kn_buf_appendf(&b, "%s%s: %s", i ? ", " : "", causes->items[i].field,
                       causes->items[i].message);
    if (causes->len > 1)
        kn_buf_append_char(&b, ']');
    return kn_buf_steal(&b);
}

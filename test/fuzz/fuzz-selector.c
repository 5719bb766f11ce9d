/* fuzz-selector.c - lib/selector. The first byte picks the parser ('0' label
 * selector string, '1' field selector, '2' LabelSelector JSON), the rest is
 * its input. Laws (abort on violation): String() reparses to a selector with
 * the same String() and the same matches; errors are KN_EINVAL with a message;
 * matching never crashes. */
#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/selector.h"
#include "lib/xalloc.h"

static void fail(const char *what, const char *a, const char *b)
{
    fprintf(stderr, "fuzz-selector: %s: \"%s\" vs \"%s\"\n", what, a, b);
    abort();
}

static void check_error(int rc, kn_error *err, const char *in)
{
    if (rc < 0 && (rc != -KN_EINVAL || kn_error_code(err) != KN_EINVAL || !*kn_error_msg(err)))
        fail("bad error", in, kn_error_msg(err));
}

/* Label sets built from the selector's own keys and values, so that
 * requirements are exercised both ways. Caller frees the array. */
static kn_label *label_set(const kn_label_selector *s, int variant, size_t *n)
{
    static const char *const fixed[] = {"", "5", "-9223372036854775808", "x"};
    kn_label *l = xcalloc(s->n_reqs ? s->n_reqs : 1, sizeof(*l));
    for (size_t i = 0; i < s->n_reqs; i++) {
        const kn_label_requirement *r = &s->reqs[i];
        l[i].key = r->key;
        if (variant == 0 && r->n_values > 0)
            l[i].value = r->values[r->n_values - 1];
        else
            l[i].value = fixed[(size_t)variant % 4];
    }
    *n = variant == 5 ? s->n_reqs / 2 : s->n_reqs;
    return l;
}

/* a and b must select the same label sets (built from a). */
static void same_matches(const kn_label_selector *a, const kn_label_selector *b, const char *in)
{
    for (int variant = 0; variant < 6; variant++) {
        size_t n;
        kn_label *l = label_set(a, variant, &n);
        if (kn_label_selector_matches(a, l, n) != kn_label_selector_matches(b, l, n))
            fail("reparsed selector matches differently", in, "");
        const char *v;
        if (n > 0)
            kn_label_selector_requires_exact_match(a, l[0].key, &v);
        free(l);
    }
}

/* String() reparses to an equal selector whose String() is the same. */
static void check_label_string(const kn_label_selector *sel, const char *in, bool exact)
{
    char *s1 = kn_label_selector_string(sel);
    kn_label_selector *again = NULL;
    kn_error *err = NULL;
    if (kn_label_selector_parse(s1, &again, &err) < 0)
        fail("String() does not reparse", s1, kn_error_msg(err));
    char *s2 = kn_label_selector_string(again);
    if (exact && strcmp(s1, s2) != 0)
        fail("String() changes on reparse", s1, s2);
    if (!sel->nothing)
        same_matches(sel, again, in);
    kn_label_selector *third = NULL;
    if (kn_label_selector_parse(s2, &third, NULL) < 0)
        fail("String() does not reparse", s2, "");
    char *s3 = kn_label_selector_string(third);
    if (strcmp(s2, s3) != 0)
        fail("String() is not a fixed point", s2, s3);
    free(s1);
    free(s2);
    free(s3);
    kn_label_selector_free(again);
    kn_label_selector_free(third);
}

static void fuzz_label_string(const char *in)
{
    kn_label_selector *sel = NULL;
    kn_error *err = NULL;
    int rc = kn_label_selector_parse(in, &sel, &err);
    check_error(rc, err, in);
    if (rc == 0)
        check_label_string(sel, in, true);
    kn_label_selector_free(sel);
    kn_error_free(&err);
}

static void fuzz_label_json(const char *in)
{
    cJSON *json = cJSON_Parse(in);
    if (!json)
        return;
    kn_label_selector *sel = NULL;
    kn_error *err = NULL;
    int rc = kn_label_selector_from_json(json, "spec.selector", &sel, &err);
    check_error(rc, err, in);
    if (rc == 0) /* JSON values may repeat: the reparse dedups them */
        check_label_string(sel, in, false);
    kn_label_selector_free(sel);
    kn_error_free(&err);
    cJSON_Delete(json);
}

static const char *field_lookup(void *ud, const char *field)
{
    const kn_field_selector *s = ud;
    for (size_t i = 0; i < s->n_terms; i++)
        if (strcmp(s->terms[i].field, field) == 0)
            return (i % 3 == 0) ? NULL : s->terms[i].value;
    return NULL;
}

static void fuzz_field(const char *in)
{
    kn_field_selector *sel = NULL, *again = NULL, *third = NULL;
    kn_error *err = NULL;
    int rc = kn_field_selector_parse(in, &sel, &err);
    check_error(rc, err, in);
    kn_error_free(&err);
    if (rc < 0)
        return;
    char *s1 = kn_field_selector_string(sel);
    if (kn_field_selector_parse(s1, &again, &err) < 0)
        fail("field String() does not reparse", s1, kn_error_msg(err));
    /* terms are sorted by their source text, so the order settles after one
     * round; the terms and what they select do not change */
    char *s2 = kn_field_selector_string(again);
    if (kn_field_selector_parse(s2, &third, NULL) < 0)
        fail("field String() does not reparse", s2, "");
    char *s3 = kn_field_selector_string(third);
    if (strcmp(s2, s3) != 0 || sel->n_terms != again->n_terms)
        fail("field String() is not stable", s2, s3);
    if (kn_field_selector_matches(sel, field_lookup, sel) !=
        kn_field_selector_matches(again, field_lookup, sel))
        fail("reparsed field selector matches differently", in, s1);
    free(s1);
    free(s2);
    free(s3);
    kn_field_selector_free(sel);
    kn_field_selector_free(again);
    kn_field_selector_free(third);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    char *in = xstrndup((const char *)data + 1, size - 1);
    switch (data[0] % 3) {
    case 0:
        fuzz_label_string(in);
        break;
    case 1:
        fuzz_field(in);
        break;
    default:
        fuzz_label_json(in);
        break;
    }
    free(in);
    return 0;
}

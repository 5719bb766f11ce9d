/* fuzz-json.c - lib/json on arbitrary input. The input is split at lines
 * "@@" into up to three pieces: a document, a patch, and a getter path.
 * The document is parsed (both duplicate modes) and printed back; the path
 * goes through every typed getter; the patch is applied as a JSON merge
 * patch (and the patch recreated from the result) and as a JSON patch,
 * checking that inputs are never modified. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/json.h"
#include "lib/xalloc.h"

#define SEP "\n@@\n"

static cJSON *parse(const char *p, size_t n, unsigned flags)
{
    cJSON *doc = NULL;
    kn_error *err = NULL;
    int r = kn_json_parse_opts(p, n, 1 << 20, flags, &doc, &err);
    if (r < 0) {
        if (!err || doc || r != -(int)kn_error_code(err))
            abort();
        kn_error_free(&err);
        return NULL;
    }
    return doc;
}

static void check_roundtrip(const cJSON *doc)
{
    char *text = kn_json_print(doc);
    cJSON *back = parse(text, strlen(text), KN_JSON_REJECT_DUPLICATES);
    if (!back || !kn_json_equal(doc, back)) {
        fprintf(stderr, "JSON round trip failed: %s\n", text);
        abort();
    }
    cJSON_Delete(back);
    free(text);
}

static void getters(const cJSON *doc, const char *path)
{
    kn_error *err = NULL;
    const char *s;
    bool b;
    int64_t i;
    double d;
    const cJSON *o;
    kn_json_get_string(doc, path, &s, &err);
    kn_error_free(&err);
    kn_json_get_string_opt(doc, path, "d", &s, &err);
    kn_error_free(&err);
    kn_json_get_bool(doc, path, &b, &err);
    kn_error_free(&err);
    kn_json_get_bool_opt(doc, path, true, &b, &err);
    kn_error_free(&err);
    kn_json_get_int64(doc, path, &i, &err);
    kn_error_free(&err);
    kn_json_get_int64_opt(doc, path, 1, &i, &err);
    kn_error_free(&err);
    kn_json_get_double(doc, path, &d, &err);
    kn_error_free(&err);
    kn_json_get_double_opt(doc, path, 1, &d, &err);
    kn_error_free(&err);
    kn_json_get_object(doc, path, &o, &err);
    kn_error_free(&err);
    kn_json_get_object_opt(doc, path, &o, &err);
    kn_error_free(&err);
    kn_json_get_array(doc, path, &o, &err);
    kn_error_free(&err);
    kn_json_get_array_opt(doc, path, &o, &err);
    kn_error_free(&err);
    kn_json_pointer_get(doc, path, &o, &err);
    kn_error_free(&err);
}

/* True when no object anywhere has a null member (merge patches cannot
 * express those, so create+apply only round-trips without them). */
static bool no_null_members(const cJSON *item)
{
    const cJSON *c;
    cJSON_ArrayForEach(c, item)
    {
        if (cJSON_IsObject(item) && cJSON_IsNull(c))
            return false;
        if (!no_null_members(c))
            return false;
    }
    return true;
}

static void patches(const cJSON *doc, const cJSON *patch)
{
    char *before = kn_json_print(doc);
    char *pbefore = kn_json_print(patch);

    cJSON *merged = kn_json_merge_patch_apply(doc, patch);
    cJSON *created = kn_json_merge_patch_create(doc, merged);
    cJSON *again = kn_json_merge_patch_apply(doc, created);
    if (no_null_members(merged) && !kn_json_equal(again, merged))
        abort(); /* create(doc, x) applied to doc must give x */
    cJSON_Delete(again);
    cJSON_Delete(created);
    cJSON_Delete(merged);

    cJSON *out = NULL;
    kn_error *err = NULL;
    if (kn_json_patch_apply(doc, patch, &out, &err) == 0) {
        check_roundtrip(out);
        cJSON_Delete(out);
    } else if (out || !err) {
        abort();
    }
    kn_error_free(&err);

    char *after = kn_json_print(doc);
    char *pafter = kn_json_print(patch);
    if (strcmp(before, after) != 0 || strcmp(pbefore, pafter) != 0)
        abort(); /* inputs are never modified */
    free(before);
    free(after);
    free(pbefore);
    free(pafter);
}

/* Splits off the next piece at SEP. */
static const char *next_piece(const char **p, const char *end, size_t *n)
{
    const char *start = *p;
    const char *sep = memmem(start, (size_t)(end - start), SEP, strlen(SEP));
    *n = (size_t)((sep ? sep : end) - start);
    *p = sep ? sep + strlen(SEP) : end;
    return start;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data, *end = p + size;
    size_t dn, pn, qn;
    const char *d = next_piece(&p, end, &dn);
    const char *pt = next_piece(&p, end, &pn);
    const char *q = next_piece(&p, end, &qn);
    char *path = xstrndup(q, qn);

    cJSON *strict = parse(d, dn, KN_JSON_REJECT_DUPLICATES);
    cJSON *doc = parse(d, dn, 0);
    if (strict && (!doc || !kn_json_equal(strict, doc)))
        abort(); /* without duplicates both modes agree */
    cJSON *patch = parse(pt, pn, 0);
    if (doc) {
        check_roundtrip(doc);
        getters(doc, path);
        getters(doc, "metadata.name");
        getters(doc, "spec.containers[0].ports[0].containerPort");
        if (patch)
            patches(doc, patch);
    }
    if (patch)
        getters(patch, path);
    cJSON_Delete(strict);
    cJSON_Delete(doc);
    cJSON_Delete(patch);
    free(path);
    return 0;
}

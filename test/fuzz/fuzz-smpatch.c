/* fuzz-smpatch.c - strategic merge patch (controlplane/smpatch.c). The
 * first byte picks the object's type (an index into the schema table); the
 * rest is the original JSON document and the patch, separated by the first
 * NUL byte (no NUL: the patch is applied to {}). Laws (abort on violation):
 * a failure is KN_EINVAL with a message; a result prints as JSON that parses
 * back equal; an empty patch leaves an object as it was. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controlplane/kschema.h"
#include "controlplane/smpatch.h"
#include "lib/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static cJSON *parse(const char *text, size_t len)
{
    cJSON *v = NULL;
    kn_error *err = NULL;
    if (kn_json_parse(text, len, 1 << 20, &v, &err) < 0)
        kn_error_free(&err);
    return v;
}

static void check_roundtrip(const cJSON *v)
{
    char *text = kn_json_print(v);
    cJSON *again = parse(text, strlen(text));
    if (!again || !kn_json_equal(v, again)) {
        fprintf(stderr, "result does not round-trip: %s\n", text);
        abort();
    }
    cJSON_Delete(again);
    free(text);
}

static void apply(const kn_schema_type *t, const cJSON *orig, const cJSON *patch)
{
    cJSON *out = NULL;
    kn_error *err = NULL;
    if (kn_strategic_merge_patch(t, orig, patch, &out, &err) < 0) {
        if (kn_error_code(err) != KN_EINVAL || !*kn_error_msg(err))
            abort();
        kn_error_free(&err);
        return;
    }
    check_roundtrip(out);
    cJSON_Delete(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const kn_schema_type *t = kn_schema_at(data[0] % kn_schema_count());
    const char *text = (const char *)data + 1;
    size_t len = size - 1;
    const char *nul = memchr(text, '\0', len);
    cJSON *orig = nul ? parse(text, (size_t)(nul - text)) : cJSON_CreateObject();
    cJSON *patch = nul ? parse(nul + 1, len - (size_t)(nul - text) - 1) : parse(text, len);
    if (orig && patch)
        apply(t, orig, patch);
    if (cJSON_IsObject(orig)) {
        cJSON *empty = cJSON_CreateObject(), *out = NULL;
        kn_error *err = NULL;
        if (kn_strategic_merge_patch(t, orig, empty, &out, &err) == 0 && !kn_json_equal(orig, out))
            abort();
        kn_error_free(&err);
        cJSON_Delete(out);
        cJSON_Delete(empty);
    }
    cJSON_Delete(orig);
    cJSON_Delete(patch);
    return 0;
}

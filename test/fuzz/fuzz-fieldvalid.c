/* fuzz-fieldvalid.c - a request body (JSON or YAML) checked against one
 * type of the schema table as the API server's decoder does: the JSON type
 * check (kn_field_type_error), then unknown-field pruning with its problems,
 * the Strict message and the Warning header. The first byte picks the type
 * (an index into the table), the rest is the body. Laws (abort on
 * violation): pruning never changes the type check's verdict (it only
 * removes members the check does not look at), a second pruning finds
 * nothing, every problem is a non-empty string, and the messages are built
 * whatever the problems hold. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controlplane/fieldvalid.h"
#include "controlplane/kschema.h"
#include "lib/yaml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool same(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static void check_doc(const kn_schema_type *t, cJSON *doc)
{
    char *before = kn_field_type_error(t, doc);
    cJSON *problems = cJSON_CreateArray();
    size_t n = kn_field_prune_unknown(t, doc, problems);
    if (n != (size_t)cJSON_GetArraySize(problems) || kn_field_prune_unknown(t, doc, NULL) != 0)
        abort();
    char *after = kn_field_type_error(t, doc);
    if (!same(before, after) || (before && !*before)) {
        fprintf(stderr, "type check changed by pruning: %s / %s\n", before, after);
        abort();
    }
    const cJSON *p;
    cJSON_ArrayForEach(p, problems)
    {
        if (!cJSON_IsString(p) || !*p->valuestring)
            abort();
    }
    char *strict = kn_field_strict_message(problems);
    char *warn = kn_field_warning_header(problems);
    free(strict);
    free(warn);
    free(before);
    free(after);
    cJSON_Delete(problems);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const kn_schema_type *t = kn_schema_at(data[0] % kn_schema_count());
    kn_yaml_docs docs = {0};
    kn_error *err = NULL;
    if (kn_yaml_or_json_parse((const char *)data + 1, size - 1, 1 << 20, "fuzz",
                              KN_YAML_ALLOW_DUPLICATES, &docs, &err) < 0) {
        kn_error_free(&err);
        return 0;
    }
    for (size_t i = 0; i < docs.n; i++)
        check_doc(t, docs.docs[i]);
    kn_yaml_docs_free(&docs);
    return 0;
}

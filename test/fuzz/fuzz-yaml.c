/* fuzz-yaml.c - lib/yaml on arbitrary input: every parse entry point, both
 * duplicate-key modes; every document produced must print as JSON that
 * lib/json reads back equal. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/json.h"
#include "lib/yaml.h"

/* Printed JSON must parse back to an equal tree. */
static void check_roundtrip(const cJSON *doc)
{
    char *text = kn_json_print(doc);
    cJSON *back = NULL;
    kn_error *err = NULL;
    if (kn_json_parse(text, strlen(text), 0, &back, &err) < 0) {
        fprintf(stderr, "printed YAML result is not JSON: %s\n%s\n", kn_error_msg(err), text);
        abort();
    }
    if (!kn_json_equal(doc, back)) {
        fprintf(stderr, "JSON round trip differs: %s\n", text);
        abort();
    }
    cJSON_Delete(back);
    free(text);
}

static void run_stream(const char *data, size_t size, unsigned flags, bool or_json)
{
    kn_yaml_docs docs = {0};
    kn_error *err = NULL;
    int r = or_json ? kn_yaml_or_json_parse(data, size, 1 << 20, "fuzz.yaml", flags, &docs, &err)
                    : kn_yaml_parse_stream(data, size, 1 << 20, "fuzz.yaml", flags, &docs, &err);
    if (r < 0) {
        if (!err || docs.n || docs.docs || r != -(int)kn_error_code(err))
            abort(); /* a failure must be reported, and leave nothing behind */
        kn_error_free(&err);
        return;
    }
    for (size_t i = 0; i < docs.n; i++) {
        if (!docs.docs[i] || cJSON_IsNull(docs.docs[i]))
            abort(); /* empty documents are skipped */
        check_roundtrip(docs.docs[i]);
    }
    kn_yaml_docs_free(&docs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    run_stream(text, size, 0, false);
    run_stream(text, size, KN_YAML_ALLOW_DUPLICATES, false);
    run_stream(text, size, 0, true);

    cJSON *doc = NULL;
    kn_error *err = NULL;
    if (kn_yaml_parse(text, size, 1 << 20, NULL, 0, &doc, &err) == 0) {
        check_roundtrip(doc);
        cJSON_Delete(doc);
    }
    kn_error_free(&err);
    return 0;
}

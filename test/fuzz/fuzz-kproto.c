/* fuzz-kproto.c - Kubernetes protobuf bodies to JSON. An input that starts
 * with "k8s\0" is a whole body; any other input is one message whose type is
 * chosen by its first byte (an index into the schema table), so the fuzzer
 * reaches every type without building envelopes. A decoded object must
 * print as JSON that parses back to an equal tree, and a body's object must
 * start with kind and apiVersion. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "controlplane/kproto.h"
#include "controlplane/kschema.h"
#include "lib/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_roundtrip(const cJSON *obj)
{
    if (!cJSON_IsObject(obj))
        abort();
    char *text = kn_json_print(obj);
    cJSON *again = NULL;
    kn_error *err = NULL;
    if (kn_json_parse(text, strlen(text), 0, &again, &err) < 0 || !kn_json_equal(obj, again))
        abort();
    cJSON_Delete(again);
    free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cJSON *obj = NULL;
    kn_error *err = NULL;
    if (size >= 4 && memcmp(data, "k8s", 4) == 0) {
        if (kn_kproto_decode(data, size, &obj, &err) == 0) {
            const cJSON *first = obj->child;
            if (!first || strcmp(first->string, "kind") != 0 || !first->next ||
                strcmp(first->next->string, "apiVersion") != 0)
                abort();
        } else if (kn_error_code(err) != KN_EINVAL) {
            abort();
        }
    } else if (size >= 1) {
        const kn_schema_type *t = kn_schema_at(data[0] % kn_schema_count());
        if (kn_kproto_decode_message(t, data + 1, size - 1, &obj, &err) < 0 &&
            kn_error_code(err) != KN_EINVAL)
            abort();
    }
    if (obj)
        check_roundtrip(obj);
    cJSON_Delete(obj);
    kn_error_free(&err);
    return 0;
}

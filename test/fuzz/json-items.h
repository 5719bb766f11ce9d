/* json-items.h - the input of the fuzz targets that take a list of API
 * objects: a JSON array, or an object whose "items" is one (a List). */
#ifndef KNODE_TEST_FUZZ_JSON_ITEMS_H
#define KNODE_TEST_FUZZ_JSON_ITEMS_H

#include <stddef.h>
#include <stdint.h>

#include "lib/json.h"

/* Parses data into *doc (the caller frees it with cJSON_Delete; NULL when
 * not JSON) and returns its array of items, or NULL. */
static inline const cJSON *fuzz_json_items(const uint8_t *data, size_t size, cJSON **doc)
{
    kn_error *err = NULL;
    *doc = NULL;
    if (kn_json_parse((const char *)data, size, KN_JSON_MAX_DOC, doc, &err) < 0) {
        kn_error_free(&err);
        return NULL;
    }
    const cJSON *items =
        cJSON_IsArray(*doc) ? *doc : cJSON_GetObjectItemCaseSensitive(*doc, "items");
    return cJSON_IsArray(items) ? items : NULL;
}

#endif

/* kc-util.c - small helpers shared inside api-client/. */
#include <ctype.h>
#include <string.h>

#include "api-client/kc-internal.h"

static bool only_space(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n')
            return false;
    return true;
}

int kc_json_parse(const char *data, size_t len, size_t max_len, cJSON **out, kn_error **err)
{
    if (max_len && len > max_len)
        return kn_error_set(err, KN_ETOOLARGE, "JSON document of %zu bytes exceeds %zu", len,
                            max_len);
    const char *end = NULL;
    cJSON *doc = cJSON_ParseWithLengthOpts(data, len, &end, false);
    if (!doc) {
        size_t at = end && end >= data ? (size_t)(end - data) : 0;
        if (at >= len)
            return kn_error_set(err, KN_EINVAL, "invalid JSON: unexpected end after %zu bytes",
                                len);
        return kn_error_set(err, KN_EINVAL, "invalid JSON at offset %zu", at);
    }
    if (!only_space(end, len - (size_t)(end - data))) {
        cJSON_Delete(doc);
        return kn_error_set(err, KN_EINVAL, "invalid JSON: junk after the value at offset %zu",
                            (size_t)(end - data));
    }
    *out = doc;
    return 0;
}

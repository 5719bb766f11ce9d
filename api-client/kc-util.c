/* kc-util.c - small helpers shared inside api-client/. */
#include <ctype.h>
#include <string.h>

#include "api-client/kc-internal.h"
#include "lib/json.h"

int kc_json_parse(const char *data, size_t len, size_t max_len, cJSON **out, kn_error **err)
{
    return kn_json_parse(data, len, max_len, out, err);
}

/* fuzz-status.c - the Status decoder and the error built from any answer. */
#include <stddef.h>
#include <stdint.h>

#include "api-client/status.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    kc_status s;
    kn_error *err = NULL;
    if (kc_status_decode((const char *)data, size, &s, &err) == 0)
        kc_status_clear(&s);
    kn_error_free(&err);
    int code = size ? 400 + data[0] % 200 : 500;
    kc_status_error(code, (const char *)data, size, "GET /x", &err);
    kn_error_free(&err);
    return 0;
}

/* fuzz-list-page.c - a list page as the informer takes it: the members of
 * the top-level object found by the scanner, the items array walked element
 * by element, each element made a cached object (parsed and copied). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "api-client/kc-internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int take_item(void *ud, const char *val, size_t vlen, kn_error **err)
{
    size_t *n = ud;
    kc_obj *o = NULL;
    if (kc_obj_from_text(val, vlen, NULL, NULL, &o, err) < 0)
        return -1;
    if (o && strlen(kc_obj_key(o)) == 0)
        __builtin_trap(); /* an object always has a name */
    kc_obj_unref(o);
    (*n)++;
    return 0;
}

static int member(void *ud, const char *key, size_t klen, const char *val, size_t vlen,
                  kn_error **err)
{
    if (klen == 5 && memcmp(key, "items", 5) == 0 && vlen && val[0] == '[')
        return kc_scan_array(val, vlen, take_item, ud, err);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t n = 0;
    kn_error *err = NULL;
    kc_scan_object((const char *)data, size, member, &n, &err);
    kn_error_free(&err);
    return 0;
}

/* fuzz-kubeconfig.c - the kubeconfig loader on arbitrary documents.
 * Relative paths resolve under a directory that does not exist, so only
 * absolute paths in the input reach the file system (non-regular files are
 * refused by the loader). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "api-client/kubeconfig.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const contexts[] = {NULL, "x", "default"};
    for (size_t i = 0; i < sizeof(contexts) / sizeof(contexts[0]); i++) {
        kn_error *err = NULL;
        kc_config *c = NULL;
        if (kc_config_load_data((const char *)data, size, "/nonexistent-fuzz/config", contexts[i],
                                &c, &err) == 0) {
            kc_config *d = kc_config_dup(c);
            kc_config_free(d);
            char *tok = NULL;
            if (kc_config_bearer_token(c, &tok, &err) == 0)
                free(tok);
            kc_config_free(c);
        }
        kn_error_free(&err);
    }
    size_t len = 0, bad = 0;
    char *out = NULL;
    if (kc_base64_decode((const char *)data, size, &out, &len, &bad) == 0)
        free(out);
    return 0;
}

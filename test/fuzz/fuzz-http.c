/* fuzz-http.c - lib/http-wire on arbitrary bytes: the request head (its end,
 * its fields, its query string) and the same bytes as a chunked body fed
 * whole and one byte at a time (both must agree). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/http-wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_head(const uint8_t *data, size_t size)
{
    char *buf = malloc(size + 1);
    memcpy(buf, data, size);
    buf[size] = '\0';
    size_t end = kn_http_head_end(buf, size);
    kn_http_head h;
    if (end && kn_http_head_parse(buf, end, &h) == 0) {
        (void)kn_http_head_get(&h, "Host");
        if (h.query) {
            kn_http_param params[8];
            size_t n = kn_http_query_split(h.query, params, 8);
            for (size_t i = 0; i < n && i < 8; i++)
                if (!params[i].key || !params[i].value)
                    abort();
        }
    }
    free(buf);
}

static void fuzz_chunked(const uint8_t *data, size_t size)
{
    kn_http_chunked whole = {0}, bytes = {0};
    kn_buf a = KN_BUF_INIT, b = KN_BUF_INIT;
    ssize_t used_whole = kn_http_chunked_feed(&whole, (const char *)data, size, &a);
    ssize_t used_bytes = 0;
    for (size_t i = 0; i < size && !bytes.done; i++) {
        ssize_t r = kn_http_chunked_feed(&bytes, (const char *)data + i, 1, &b);
        if (r < 0) {
            used_bytes = -1;
            break;
        }
        used_bytes += r;
    }
    if (used_whole != used_bytes ||
        (used_whole >= 0 &&
         (whole.done != bytes.done || a.len != b.len || memcmp(a.data, b.data, a.len) != 0)))
        abort();
    kn_buf_free(&a);
    kn_buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_head(data, size);
    fuzz_chunked(data, size);
    return 0;
}

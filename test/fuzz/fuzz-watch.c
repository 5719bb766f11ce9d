/* fuzz-watch.c - the watch stream splitter and event decoder.
 *
 * The first byte seeds the chunk sizes; the rest is the stream. It is split
 * once in random chunks and once whole, and both must give the same values
 * (a chunk boundary must never change what the splitter sees). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api-client/watch.h"
#include "lib/strbuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Splits in chunks; appends each value and a NUL separator to out.
 * Returns the error code (0 if none). */
static int split(const char *p, size_t len, uint32_t seed, kn_buf *out)
{
    kc_json_splitter sp;
    kc_splitter_init(&sp, 4096);
    int code = 0;
    for (size_t off = 0; off < len && !code;) {
        size_t n = len - off;
        if (seed) {
            seed = seed * 1103515245u + 12345u;
            size_t want = 1 + (seed >> 16) % 64;
            n = n < want ? n : want;
        }
        size_t used = 0, vlen = 0;
        const char *v = NULL;
        kn_error *err = NULL;
        int r = kc_splitter_feed(&sp, p + off, n, &used, &v, &vlen, &err);
        kn_error_free(&err);
        if (r < 0) {
            code = -r;
            break;
        }
        off += used;
        if (r == 1) {
            kn_buf_append(out, v, vlen);
            kn_buf_append_char(out, '\0');
            kc_watch_event ev;
            if (kc_watch_event_decode(v, vlen, &ev, &err) == 0)
                kc_watch_event_clear(&ev);
            kn_error_free(&err);
        }
    }
    kc_splitter_free(&sp);
    return code;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    uint32_t seed = data[0] | 1u;
    const char *p = (const char *)data + 1;
    kn_buf a = KN_BUF_INIT, b = KN_BUF_INIT;
    int ca = split(p, size - 1, seed, &a);
    int cb = split(p, size - 1, 0, &b);
    if (ca != cb || a.len != b.len || memcmp(a.data, b.data, a.len) != 0)
        abort();
    kn_buf_free(&a);
    kn_buf_free(&b);
    return 0;
}

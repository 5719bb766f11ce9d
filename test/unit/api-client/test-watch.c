/* test-watch.c - the watch stream splitter and event decoder. */
#include <stdlib.h>
#include <string.h>

#include "api-client/watch.h"
#include "lib/cleanup.h"
#include "lib/xalloc.h"
#include "test/runner/kt.h"

static const char *stream =
    "{\"type\":\"ADDED\",\"object\":{\"kind\":\"Pod\",\"metadata\":{\"name\":\"a\","
    "\"resourceVersion\":\"11\",\"annotations\":{\"x\":\"}{\\\"\\\\\"}}}}\n"
    "{\"type\":\"MODIFIED\",\"object\":{\"metadata\":{\"name\":\"a\",\"resourceVersion\":\"12\"},"
    "\"spec\":{\"list\":[1,[2,{\"k\":\"]\"}]]}}}"
    "{\"type\":\"BOOKMARK\",\"object\":{\"kind\":\"Pod\",\"metadata\":{\"resourceVersion\":\"15\"}}"
    "}"
    "\r\n\t {\"type\":\"DELETED\",\"object\":{\"metadata\":{\"name\":\"a\",\"resourceVersion\":"
    "\"16\"}}}\n";

/* Splits text fed in pieces of `step` bytes; returns the events' RVs joined by ','. */
static char *split_all(const char *text, size_t len, size_t step)
{
    kc_json_splitter sp;
    kc_splitter_init(&sp, 0);
    cleanup_buf kn_buf rvs = KN_BUF_INIT;
    cleanup_error kn_error *err = NULL;
    for (size_t off = 0; off < len;) {
        size_t n = len - off < step ? len - off : step;
        size_t used = 0, vlen = 0;
        const char *v = NULL;
        int r = kc_splitter_feed(&sp, text + off, n, &used, &v, &vlen, &err);
        KT_ASSERT_MSG(r >= 0, "feed failed: %s", kn_error_msg(err));
        KT_ASSERT(used <= n);
        off += used;
        if (r == 1) {
            kc_watch_event ev;
            KT_ASSERT_OK(kc_watch_event_decode(v, vlen, &ev, &err), err);
            kn_buf_appendf(&rvs, "%s%s:%s", rvs.len ? "," : "", kc_watch_type_name(ev.type),
                           ev.resource_version ? ev.resource_version : "-");
            kc_watch_event_clear(&ev);
        }
    }
    KT_ASSERT(!kc_splitter_partial(&sp));
    kc_splitter_free(&sp);
    return kn_buf_steal(&rvs);
}

KT_TEST(watch, splits_events_at_any_chunking)
{
    const char *want = "ADDED:11,MODIFIED:12,BOOKMARK:15,DELETED:16";
    for (size_t step = 1; step <= strlen(stream); step++) {
        cleanup_free char *got = split_all(stream, strlen(stream), step);
        KT_ASSERT_MSG(strcmp(got, want) == 0, "step %zu: %s", step, got);
    }
}

KT_TEST(watch, partial_and_reset)
{
    kc_json_splitter sp;
    kc_splitter_init(&sp, 0);
    cleanup_error kn_error *err = NULL;
    size_t used = 0, vlen = 0;
    const char *v = NULL;
    const char *cut = "{\"type\":\"ADDED\",\"object\":{\"a\":\"}";
    KT_ASSERT_EQ(kc_splitter_feed(&sp, cut, strlen(cut), &used, &v, &vlen, &err), 0);
    KT_ASSERT_EQ(used, strlen(cut));
    KT_ASSERT(kc_splitter_partial(&sp));
    kc_splitter_reset(&sp);
    KT_ASSERT(!kc_splitter_partial(&sp));
    const char *ok = "{\"type\":\"ADDED\",\"object\":{}}";
    KT_ASSERT_EQ(kc_splitter_feed(&sp, ok, strlen(ok), &used, &v, &vlen, &err), 1);
    KT_ASSERT_EQ(vlen, strlen(ok));
    kc_splitter_free(&sp);
}

KT_TEST(watch, splitter_limits_and_junk)
{
    kc_json_splitter sp;
    kc_splitter_init(&sp, 32);
    cleanup_error kn_error *err = NULL;
    size_t used = 0, vlen = 0;
    const char *v = NULL;
    const char *big = "{\"type\":\"ADDED\",\"object\":{\"data\":\"0123456789\"}}";
    for (size_t i = 0; i < strlen(big); i++) {
        int r = kc_splitter_feed(&sp, big + i, 1, &used, &v, &vlen, &err);
        if (r < 0)
            break;
        KT_ASSERT_EQ(r, 0);
    }
    KT_ASSERT_EQ(kn_error_code(err), KN_ETOOLARGE);
    kn_error_free(&err);
    kc_splitter_free(&sp);

    kc_splitter_init(&sp, 0);
    KT_ASSERT_EQ(kc_splitter_feed(&sp, "  \n[1]", 6, &used, &v, &vlen, &err), -KN_EINVAL);
    KT_ASSERT_CONTAINS(kn_error_msg(err), "expected '{' at byte 3");
    kc_splitter_free(&sp);
}

KT_TEST(watch, decode_rejects_bad_events)
{
    static const char *const bad[] = {
        "{\"type\":\"ADDED\"}",
        "{\"type\":\"ADDED\",\"object\":[]}",
        "{\"type\":\"UPSERTED\",\"object\":{}}",
        "{\"object\":{}}",
        "{\"type\":7,\"object\":{}}",
        "{\"type\":\"ADDED\",\"object\":{}",
        "{\"type\":\"ADDED\",\"object\":{}}}",
    };
    for (size_t i = 0; i < KN_ARRAY_SIZE(bad); i++) {
        kc_watch_event ev;
        cleanup_error kn_error *err = NULL;
        KT_ASSERT_MSG(kc_watch_event_decode(bad[i], strlen(bad[i]), &ev, &err) < 0, "%s", bad[i]);
        KT_ASSERT_EQ(kn_error_code(err), KN_EINVAL);
    }
    kc_watch_event ev;
    cleanup_error kn_error *err = NULL;
    const char *e = "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"code\":410,"
                    "\"reason\":\"Expired\",\"message\":\"too old resource version: 5 (9)\"}}";
    KT_ASSERT_OK(kc_watch_event_decode(e, strlen(e), &ev, &err), err);
    KT_ASSERT_EQ(ev.type, KC_WATCH_ERROR);
    KT_ASSERT(ev.resource_version == NULL);
    kc_watch_event_clear(&ev);
}

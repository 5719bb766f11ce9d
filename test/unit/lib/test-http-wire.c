/* test-http-wire.c - request heads, chunked bodies and query strings. */
#include "lib/http-wire.h"
#include "lib/cleanup.h"
#include "lib/strbuf.h"
#include "lib/xalloc.h"
#include "test/runner/kt.h"

#include <string.h>

/* Parses text as a whole head; returns the status. */
static int parse(const char *text, kn_http_head *h, char **keep)
{
    *keep = xstrdup(text);
    size_t end = kn_http_head_end(*keep, strlen(*keep));
    KT_ASSERT_EQ(end, strlen(text));
    return kn_http_head_parse(*keep, end, h);
}

KT_TEST(http_wire, head_end_needs_the_blank_line)
{
    KT_ASSERT_EQ(kn_http_head_end("GET / HTTP/1.1\r\nHost: x\r\n", 25), 0);
    KT_ASSERT_EQ(kn_http_head_end("GET / HTTP/1.1\r\n\r\nBODY", 22), 18);
    KT_ASSERT_EQ(kn_http_head_end("GET / HTTP/1.1\n\nBODY", 20), 16);
    KT_ASSERT_EQ(kn_http_head_end("\r\n\r\n", 4), 0); /* only blank lines: wait */
    KT_ASSERT_EQ(kn_http_head_end("\r\nGET / HTTP/1.1\r\n\r\n", 20), 20);
}

KT_TEST(http_wire, request_line_fields_and_query)
{
    kn_http_head h;
    cleanup_free char *buf = NULL;
    KT_ASSERT_EQ(
        parse("GET /api/v1/namespaces/a%20b/pods?labelSelector=app%3Dx&watch=1 HTTP/1.1\r\n"
              "Host: example\r\nAccept:  application/json \r\nX-Empty:\r\n\r\n",
              &h, &buf),
        0);
    KT_ASSERT_STREQ(h.method, "GET");
    KT_ASSERT_STREQ(h.path, "/api/v1/namespaces/a b/pods");
    KT_ASSERT_STREQ(h.query, "labelSelector=app%3Dx&watch=1");
    KT_ASSERT_EQ(h.minor, 1);
    KT_ASSERT(h.keep_alive);
    KT_ASSERT_EQ(h.framing, KN_HTTP_BODY_NONE);
    KT_ASSERT_STREQ(kn_http_head_get(&h, "accept"), "application/json");
    KT_ASSERT_STREQ(kn_http_head_get(&h, "X-EMPTY"), "");
    KT_ASSERT(kn_http_head_get(&h, "Missing") == NULL);

    kn_http_param p[4];
    KT_ASSERT_EQ(kn_http_query_split(h.query, p, 4), 2);
    KT_ASSERT_STREQ(p[0].key, "labelSelector");
    KT_ASSERT_STREQ(p[0].value, "app=x");
    KT_ASSERT_STREQ(p[1].key, "watch");
    KT_ASSERT_STREQ(p[1].value, "1");
}

KT_TEST(http_wire, query_split_edge_cases)
{
    char q[] = "a=1+2&&b&c=%zz&d=%41&=e&a=3";
    kn_http_param p[3];
    KT_ASSERT_EQ(kn_http_query_split(q, p, 3), 6); /* counts beyond max */
    KT_ASSERT_STREQ(p[0].value, "1 2");
    KT_ASSERT_STREQ(p[1].key, "b");
    KT_ASSERT_STREQ(p[1].value, "");
    KT_ASSERT_STREQ(p[2].value, "%zz"); /* a bad escape stays */
}

KT_TEST(http_wire, absolute_form_and_versions)
{
    kn_http_head h;
    cleanup_free char *a = NULL, *b = NULL, *c = NULL, *d = NULL, *e = NULL;
    KT_ASSERT_EQ(parse("GET http://host:80/x?y=1 HTTP/1.1\r\n\r\n", &h, &a), 0);
    KT_ASSERT_STREQ(h.path, "/x");
    KT_ASSERT_STREQ(h.query, "y=1");
    KT_ASSERT_EQ(parse("GET http://host HTTP/1.1\r\n\r\n", &h, &b), 0);
    KT_ASSERT_STREQ(h.path, "/");
    KT_ASSERT_EQ(parse("GET / HTTP/1.0\r\n\r\n", &h, &c), 0);
    KT_ASSERT(!h.keep_alive);
    KT_ASSERT_EQ(parse("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", &h, &d), 0);
    KT_ASSERT(h.keep_alive);
    KT_ASSERT_EQ(parse("GET / HTTP/2.0\r\n\r\n", &h, &e), 505);
}

KT_TEST(http_wire, malformed_heads_are_400)
{
    static const char *const bad[] = {
        "GET /\r\n\r\n",
        "GET  / HTTP/1.1\r\n\r\n",
        "GET / HTTP/1.1 x\r\n\r\n",
        "G(T / HTTP/1.1\r\n\r\n",
        "GET x HTTP/1.1\r\n\r\n",
        "GET / HTTX/1.1\r\n\r\n",
        "GET / HTTP/1.1\r\nNoColon\r\n\r\n",
        "GET / HTTP/1.1\r\nBad Name: x\r\n\r\n",
        "GET / HTTP/1.1\r\nA: b\r\n folded\r\n\r\n",
        "POST / HTTP/1.1\r\nContent-Length: 1x\r\n\r\n",
        "POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
        "POST / HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n",
        "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n",
        "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        kn_http_head h;
        cleanup_free char *buf = NULL;
        int st = parse(bad[i], &h, &buf);
        KT_ASSERT_MSG(st == 400, "%s: %d", bad[i], st);
    }
}

KT_TEST(http_wire, framing)
{
    kn_http_head h;
    cleanup_free char *a = NULL, *b = NULL, *c = NULL, *d = NULL, *e = NULL;
    KT_ASSERT_EQ(
        parse("PUT / HTTP/1.1\r\nContent-Length: 12\r\nExpect: 100-continue\r\n\r\n", &h, &a), 0);
    KT_ASSERT_EQ(h.framing, KN_HTTP_BODY_LENGTH);
    KT_ASSERT_EQ(h.content_length, 12);
    KT_ASSERT(h.expect_continue);
    KT_ASSERT_EQ(parse("POST / HTTP/1.1\r\nTransfer-Encoding: Chunked\r\n\r\n", &h, &b), 0);
    KT_ASSERT_EQ(h.framing, KN_HTTP_BODY_CHUNKED);
    KT_ASSERT_EQ(parse("POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", &h, &c), 501);
    KT_ASSERT_EQ(parse("POST / HTTP/1.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", &h, &d),
                 0);
    KT_ASSERT_EQ(h.framing, KN_HTTP_BODY_NONE);
    KT_ASSERT(!h.keep_alive);
    KT_ASSERT_EQ(parse("POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n", &h, &e),
                 0);
    KT_ASSERT_EQ(h.content_length, 5);
}

KT_TEST(http_wire, too_many_fields_is_431)
{
    kn_buf b = KN_BUF_INIT;
    kn_buf_append_str(&b, "GET / HTTP/1.1\r\n");
    for (int i = 0; i <= KN_HTTP_MAX_HEADERS; i++)
        kn_buf_appendf(&b, "X-%d: v\r\n", i);
    kn_buf_append_str(&b, "\r\n");
    kn_http_head h;
    cleanup_free char *buf = NULL;
    KT_ASSERT_EQ(parse(b.data, &h, &buf), 431);
    kn_buf_free(&b);
}

/* Feeds text to a chunked decoder in pieces of step bytes. */
static ssize_t unchunk(const char *text, size_t step, kn_buf *out, bool *done)
{
    kn_http_chunked c = {0};
    size_t n = strlen(text), used = 0;
    while (used < n && !c.done) {
        size_t len = n - used < step ? n - used : step;
        ssize_t r = kn_http_chunked_feed(&c, text + used, len, out);
        if (r < 0)
            return -1;
        used += (size_t)r;
    }
    *done = c.done;
    return (ssize_t)used;
}

KT_TEST(http_wire, chunked_bodies_in_any_pieces)
{
    const char *body = "4\r\nWiki\r\n5;ext=1\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\n"
                       "Trailer: x\r\n\r\nNEXT";
    for (size_t step = 1; step <= strlen(body); step++) {
        kn_buf out = KN_BUF_INIT;
        bool done = false;
        ssize_t used = unchunk(body, step, &out, &done);
        KT_ASSERT(done);
        KT_ASSERT_EQ((size_t)used, strlen(body) - 4); /* NEXT is not the body's */
        KT_ASSERT_STREQ(out.data, "Wikipedia in\r\n\r\nchunks.");
        kn_buf_free(&out);
    }
}

KT_TEST(http_wire, malformed_chunks)
{
    static const char *const bad[] = {
        "x\r\n", "\r\n", "4\r\nWikiXX", "10000000000000000\r\n", ";ext\r\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        kn_buf out = KN_BUF_INIT;
        bool done = false;
        KT_ASSERT_MSG(unchunk(bad[i], 64, &out, &done) == -1, "%s", bad[i]);
        kn_buf_free(&out);
    }
}

KT_TEST(http_wire, tokens_and_reasons)
{
    KT_ASSERT(kn_http_has_token("keep-alive, Upgrade", "upgrade"));
    KT_ASSERT(!kn_http_has_token("upgraded", "upgrade"));
    KT_ASSERT(!kn_http_has_token(NULL, "close"));
    KT_ASSERT_STREQ(kn_http_reason(404), "Not Found");
    KT_ASSERT_STREQ(kn_http_reason(799), "");
}

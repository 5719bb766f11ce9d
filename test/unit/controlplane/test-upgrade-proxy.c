/* test-upgrade-proxy.c - kn_upgrade_proxy between two lib/httpd servers on
 * loopback: a backend's chunked refusal comes back whole and decoded, and
 * a backend's 101 becomes one byte pipe through the front server. */
#include "controlplane/upgrade-proxy.h"
#include "lib/cleanup.h"
#include "lib/httpd.h"
#include "lib/strbuf.h"
#include "lib/xalloc.h"
#include "test/runner/kt.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* ---- the backend: a chunked 400 for /refuse, an upper-casing 101 for /up ---- */

static ssize_t three_pieces(void *ctx, char *buf, size_t max)
{
    int *left = ctx;
    if (*left == 0)
        return -1;
    (*left)--;
    return snprintf(buf, max, "piece-%d;", *left);
}

static void shout(void *ctx, const kn_http_upgraded *u)
{
    (void)ctx;
    char buf[256];
    size_t n = u->head_len < sizeof(buf) ? u->head_len : sizeof(buf);
    memcpy(buf, u->head, n);
    for (;;) {
        for (size_t i = 0; i < n; i++)
            buf[i] = (char)toupper((unsigned char)buf[i]);
        if (n && send(u->fd, buf, n, MSG_NOSIGNAL) != (ssize_t)n)
            return;
        ssize_t r = recv(u->fd, buf, sizeof(buf), 0);
        if (r <= 0)
            return;
        n = (size_t)r;
    }
}

static void backend(void *ud, kn_http_request *req, kn_http_response *resp)
{
    (void)ud;
    if (strcmp(req->path, "/up") == 0) {
        resp->status = 101;
        kn_http_add_header(resp, "Upgrade", "shout");
        resp->upgrade = shout;
        return;
    }
    int *left = xcalloc(1, sizeof(*left));
    *left = 3;
    resp->status = 400;
    resp->content_type = xstrdup("text/plain");
    resp->stream = three_pieces;
    resp->stream_ctx = left;
    resp->stream_free = free;
}

/* ---- the front: every request proxied to the backend ---- */

static int backend_port;

static void front(void *ud, kn_http_request *req, kn_http_response *resp)
{
    (void)ud;
    cleanup_free char *url = xasprintf("http://127.0.0.1:%d%s", backend_port, req->path);
    kn_upgrade_target t = {.url = url};
    cleanup_error kn_error *err = NULL;
    if (kn_upgrade_proxy(req, &t, resp, &err) < 0)
        kn_http_respond(resp, 502, "text/plain", xstrdup(kn_error_msg(err)));
}

static kn_httpd *serve(kn_http_handler fn)
{
    kn_httpd_opts o = {.bind_address = "127.0.0.1", .handler = fn};
    kn_httpd *d = NULL;
    cleanup_error kn_error *err = NULL;
    KT_ASSERT_OK(kn_httpd_start(&o, &d, &err), err);
    return d;
}

static int dial(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    KT_ASSERT(connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
    return fd;
}

/* Reads until the text holds want (or the peer closes). */
static char *read_until(int fd, const char *want)
{
    kn_buf b = KN_BUF_INIT;
    char buf[4096];
    while (!want || !strstr(b.data, want)) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        KT_ASSERT_MSG(poll(&p, 1, 10000) == 1, "no answer; so far: %s", b.data);
        ssize_t n = recv(fd, buf, sizeof(buf), 0);
        if (n <= 0)
            break;
        kn_buf_append(&b, buf, (size_t)n);
    }
    return kn_buf_steal(&b);
}

static const char upgrade_req[] = "GET %s HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\n"
                                  "Upgrade: shout\r\n\r\n";

KT_TEST(upgrade_proxy, chunked_refusal_comes_back_decoded)
{
    kn_httpd *b = serve(backend), *f = serve(front);
    backend_port = kn_httpd_port(b);
    cleanup_close int fd = dial(kn_httpd_port(f));
    char req[256];
    int n = snprintf(req, sizeof(req), upgrade_req, "/refuse");
    KT_ASSERT(send(fd, req, (size_t)n, MSG_NOSIGNAL) == n);
    cleanup_free char *got = read_until(fd, "piece-0;");
    KT_ASSERT_CONTAINS(got, "HTTP/1.1 400 Bad Request\r\n");
    KT_ASSERT_CONTAINS(got, "Content-Length: 24\r\n");
    KT_ASSERT_CONTAINS(got, "\r\n\r\npiece-2;piece-1;piece-0;");
    kn_httpd_stop(f);
    kn_httpd_stop(b);
}

KT_TEST(upgrade_proxy, switched_connections_pipe_bytes)
{
    kn_httpd *b = serve(backend), *f = serve(front);
    backend_port = kn_httpd_port(b);
    cleanup_close int fd = dial(kn_httpd_port(f));
    char req[256];
    int n = snprintf(req, sizeof(req), upgrade_req, "/up");
    KT_ASSERT(send(fd, req, (size_t)n, MSG_NOSIGNAL) == n);
    cleanup_free char *head = read_until(fd, "\r\n\r\n");
    KT_ASSERT_CONTAINS(head, "HTTP/1.1 101 Switching Protocols\r\n");
    KT_ASSERT_CONTAINS(head, "Upgrade: shout\r\n");
    KT_ASSERT(send(fd, "through two hops", 16, MSG_NOSIGNAL) == 16);
    cleanup_free char *echo = read_until(fd, "THROUGH TWO HOPS");
    kn_httpd_stop(f);
    kn_httpd_stop(b);
}

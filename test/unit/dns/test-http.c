/* test-http.c - the health, readiness and metrics endpoint on an ephemeral
 * loopback port, spoken to over a plain socket. */
#include "dns/http.h"
#include "lib/cleanup.h"
#include "lib/strbuf.h"
#include "test/runner/kt.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Sends one request and returns the whole response (caller frees). */
static char *http_req(int port, const char *method, const char *path)
{
    cleanup_close int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    KT_ASSERT(connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
    char req[256];
    int n = snprintf(req, sizeof(req), "%s %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                     method, path);
    KT_ASSERT(write(fd, req, (size_t)n) == n);
    kn_buf b = KN_BUF_INIT;
    char chunk[4096];
    ssize_t r;
    while ((r = read(fd, chunk, sizeof(chunk))) > 0)
        kn_buf_append(&b, chunk, (size_t)r);
    return kn_buf_steal(&b);
}

static atomic_bool is_ready;

static bool ready_cb(void *ud)
{
    (void)ud;
    return atomic_load(&is_ready);
}

static void metrics_cb(void *ud, kn_buf *out)
{
    kn_buf_appendf(out, "# TYPE test_metric counter\ntest_metric %d\n", *(int *)ud);
}

KT_TEST(dns_http, health_ready_metrics)
{
    int value = 42;
    dns_http_config cfg = {"127.0.0.1:0", ready_cb, metrics_cb, &value};
    dns_http *h = NULL;
    cleanup_error kn_error *err = NULL;
    KT_ASSERT_OK(dns_http_start(&cfg, &h, &err), err);
    int port = dns_http_port(h);
    KT_ASSERT(port > 0);

    cleanup_free char *health = http_req(port, "GET", "/health");
    KT_ASSERT_CONTAINS(health, "HTTP/1.1 200 OK\r\n");
    KT_ASSERT(strstr(health, "\r\n\r\nOK") != NULL);

    cleanup_free char *not_ready = http_req(port, "GET", "/ready");
    KT_ASSERT_CONTAINS(not_ready, "HTTP/1.1 503 ");
    atomic_store(&is_ready, true);
    cleanup_free char *ready = http_req(port, "GET", "/ready");
    KT_ASSERT_CONTAINS(ready, "HTTP/1.1 200 OK\r\n");

    cleanup_free char *metrics = http_req(port, "GET", "/metrics");
    KT_ASSERT_CONTAINS(metrics, "HTTP/1.1 200 OK\r\n");
    KT_ASSERT_CONTAINS(metrics, "text/plain; version=0.0.4");
    KT_ASSERT_CONTAINS(metrics, "\r\n\r\n# TYPE test_metric counter\ntest_metric 42\n");

    cleanup_free char *head = http_req(port, "HEAD", "/health");
    KT_ASSERT_CONTAINS(head, "HTTP/1.1 200 OK\r\n");
    KT_ASSERT(strstr(head, "\r\n\r\n")[4] == '\0'); /* no body */

    cleanup_free char *missing = http_req(port, "GET", "/nope");
    KT_ASSERT_CONTAINS(missing, "HTTP/1.1 404 ");
    cleanup_free char *post = http_req(port, "POST", "/health");
    KT_ASSERT_CONTAINS(post, "HTTP/1.1 405 ");
    dns_http_stop(h);
}

KT_TEST(dns_http, without_callbacks)
{
    dns_http_config cfg = {"127.0.0.1:0", NULL, NULL, NULL};
    dns_http *h = NULL;
    cleanup_error kn_error *err = NULL;
    KT_ASSERT_OK(dns_http_start(&cfg, &h, &err), err);
    cleanup_free char *ready = http_req(dns_http_port(h), "GET", "/ready");
    KT_ASSERT_CONTAINS(ready, "HTTP/1.1 200 OK\r\n");
    cleanup_free char *metrics = http_req(dns_http_port(h), "GET", "/metrics");
    KT_ASSERT_CONTAINS(metrics, "HTTP/1.1 200 OK\r\n");
    dns_http_stop(h);
}

KT_TEST(dns_http, bad_and_busy_addresses)
{
    static const char *const bad[] = {"",
                                      "127.0.0.1",
                                      ":8080",
                                      "localhost:8080",
                                      "127.0.0.1:x",
                                      "127.0.0.1:65536",
                                      "::1:8080",
                                      "[::1]",
                                      "[127.0.0.1]:80"};
    for (size_t i = 0; i < KN_ARRAY_SIZE(bad); i++) {
        dns_http_config cfg = {bad[i], NULL, NULL, NULL};
        dns_http *h = NULL;
        kn_error *err = NULL;
        KT_ASSERT_FAILS(dns_http_start(&cfg, &h, &err));
        KT_ASSERT_EQ(kn_error_code(err), KN_EINVAL);
        KT_ASSERT_CONTAINS(kn_error_msg(err), "invalid address");
        kn_error_free(&err);
    }
    dns_http_config cfg = {"127.0.0.1:0", NULL, NULL, NULL};
    dns_http *h = NULL;
    cleanup_error kn_error *err = NULL;
    KT_ASSERT_OK(dns_http_start(&cfg, &h, &err), err);
    char busy[32];
    snprintf(busy, sizeof(busy), "127.0.0.1:%d", dns_http_port(h));
    dns_http_config cfg2 = {busy, NULL, NULL, NULL};
    dns_http *h2 = NULL;
    KT_ASSERT_FAILS(dns_http_start(&cfg2, &h2, &err));
    KT_ASSERT_EQ(kn_error_code(err), KN_EIO);
    dns_http_stop(h);
}

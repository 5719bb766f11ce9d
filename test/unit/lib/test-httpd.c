/* test-httpd.c - lib/httpd on ephemeral loopback ports: keep-alive and
 * pipelining, request bodies (length, chunked, too large, 100-continue),
 * streamed answers, protocol upgrades, TLS with client certificates (curl
 * and OpenSSL as the clients), stopping with busy connections, and a
 * process that does not ignore SIGPIPE surviving a client that left. */
#include "controlplane/pki.h"
#include "lib/cleanup.h"
#include "lib/file.h"
#include "lib/httpd.h"
#include "lib/strbuf.h"
#include "lib/xalloc.h"
#include "test/runner/kt.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- what the test server answers ---- */

static atomic_int streams_ended;

typedef struct ticker {
    int left; /* pieces still to send; < 0: until the client leaves */
    int fd;
} ticker;

static ssize_t tick(void *ctx, char *buf, size_t max)
{
    ticker *t = ctx;
    if (t->left == 0 || kn_http_peer_gone(t->fd, 20))
        return -1;
    if (t->left > 0)
        t->left--;
    return snprintf(buf, max, "tick\n");
}

static void ticker_free(void *ctx)
{
    atomic_fetch_add(&streams_ended, 1);
    free(ctx);
}

/* Upper-cases what the client sends until it closes. */
static void shout(void *ctx, const kn_http_upgraded *u)
{
    (void)ctx;
    kn_buf in = KN_BUF_INIT;
    kn_buf_append(&in, u->head, u->head_len);
    char buf[256];
    for (;;) {
        for (size_t i = 0; i < in.len; i++)
            in.data[i] = (char)toupper((unsigned char)in.data[i]);
        if (in.len && send(u->fd, in.data, in.len, MSG_NOSIGNAL) != (ssize_t)in.len)
            break;
        kn_buf_reset(&in);
        ssize_t n = recv(u->fd, buf, sizeof(buf), 0);
        if (n <= 0)
            break;
        kn_buf_append(&in, buf, (size_t)n);
    }
    kn_buf_free(&in);
}

static void handle(void *ud, kn_http_request *req, kn_http_response *resp)
{
    (void)ud;
    if (strcmp(req->path, "/stream") == 0) {
        ticker *t = xcalloc(1, sizeof(*t));
        const char *n = kn_http_query(req, "n");
        t->left = n ? atoi(n) : -1;
        t->fd = kn_http_peer_fd(req);
        resp->status = 200;
        resp->content_type = xstrdup("text/plain");
        resp->stream = tick;
        resp->stream_ctx = t;
        resp->stream_free = ticker_free;
    } else if (strcmp(req->path, "/shout") == 0 && kn_http_is_upgrade(req)) {
        resp->status = 101;
        kn_http_add_header(resp, "Upgrade", kn_http_header(req, "Upgrade"));
        resp->upgrade = shout;
    } else {
        const char *vals[4];
        size_t n = kn_http_query_all(req, "v", vals, 4);
        kn_buf b = KN_BUF_INIT;
        kn_buf_appendf(&b, "%s %s v=%zu", req->method, req->path, n);
        for (size_t i = 0; i < n && i < 4; i++)
            kn_buf_appendf(&b, ",%s", vals[i]);
        const char *x = kn_http_header(req, "x-test");
        kn_buf_appendf(&b, " x=%s body=%zu:%s cert=%s", x ? x : "-", req->body.len, req->body.data,
                       req->cert.verified ? req->cert.cn : "-");
        for (size_t i = 0; i < req->cert.norgs; i++)
            kn_buf_appendf(&b, ",%s", req->cert.orgs[i]);
        kn_http_respond(resp, 200, "text/plain", kn_buf_steal(&b));
    }
}

static kn_httpd *start(const kn_httpd_opts *extra)
{
    kn_httpd_opts o = extra ? *extra : (kn_httpd_opts){0};
    o.bind_address = "127.0.0.1";
    o.handler = handle;
    if (!o.max_body)
        o.max_body = 64;
    kn_httpd *d = NULL;
    cleanup_error kn_error *err = NULL;
    KT_ASSERT_OK(kn_httpd_start(&o, &d, &err), err);
    return d;
}

/* ---- a plain client ---- */

static int dial(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    KT_ASSERT(connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
    return fd;
}

static void send_text(int fd, const char *text)
{
    KT_ASSERT(send(fd, text, strlen(text), MSG_NOSIGNAL) == (ssize_t)strlen(text));
}

/* Reads until the text holds want (or the peer closes); returns it. */
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

KT_TEST(httpd, keep_alive_pipelining_query_and_headers)
{
    kn_httpd *d = start(NULL);
    cleanup_close int fd = dial(kn_httpd_port(d));
    send_text(fd, "GET /a?v=1&v=two%20x&v=3+4 HTTP/1.1\r\nHost: h\r\nX-Test: yes\r\n\r\n"
                  "HEAD /b HTTP/1.1\r\nHost: h\r\n\r\n"
                  "GET /c HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
    cleanup_free char *all = read_until(fd, NULL);
    const char *a = strstr(all, "GET /a v=3,1,two x,3 4 x=yes body=0: cert=-");
    const char *b = strstr(all, "Content-Length: 30\r\n"); /* HEAD: the length, no body */
    const char *c = strstr(all, "GET /c v=0");
    KT_ASSERT_MSG(a && b && c && a < b && b < c, "%s", all);
    KT_ASSERT(strstr(all, "HEAD /b") == NULL);
    KT_ASSERT_CONTAINS(all, "Connection: close\r\n");
    KT_ASSERT_CONTAINS(all, "\r\nDate: ");
    kn_httpd_stop(d);
}

KT_TEST(httpd, request_bodies)
{
    kn_httpd *d = start(NULL);
    cleanup_close int fd = dial(kn_httpd_port(d));
    send_text(fd, "PUT /len HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello"
                  "POST /chunked HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                  "3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n");
    cleanup_free char *two = read_until(fd, "body=5:abcde");
    KT_ASSERT_CONTAINS(two, "PUT /len v=0 x=- body=5:hello");

    send_text(fd, "PUT /cont HTTP/1.1\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n");
    cleanup_free char *cont = read_until(fd, "\r\n\r\n");
    KT_ASSERT_MSG(strncmp(cont, "HTTP/1.1 100 Continue\r\n\r\n", 25) == 0, "%s", cont);
    send_text(fd, "xyz");
    cleanup_free char *after = read_until(fd, "body=3:xyz");

    send_text(fd, "PUT /big HTTP/1.1\r\nContent-Length: 65\r\n\r\n");
    cleanup_free char *big = read_until(fd, NULL); /* answered, then closed */
    KT_ASSERT_CONTAINS(big, "HTTP/1.1 413 Content Too Large\r\n");
    KT_ASSERT_CONTAINS(big, "\"reason\":\"RequestEntityTooLarge\"");

    cleanup_close int fd2 = dial(kn_httpd_port(d));
    send_text(fd2, "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n");
    cleanup_free char *bad = read_until(fd2, NULL);
    KT_ASSERT_CONTAINS(bad, "HTTP/1.1 400 Bad Request\r\n");
    kn_httpd_stop(d);
}

/* The body outgrows the read buffer, which moves: the head must not. */
KT_TEST(httpd, large_bodies_keep_the_head)
{
    kn_httpd_opts o = {.max_body = 1 << 20};
    kn_httpd *d = start(&o);
    cleanup_close int fd = dial(kn_httpd_port(d));
    kn_buf req = KN_BUF_INIT;
    kn_buf_appendf(&req, "POST /some/long/path?v=q HTTP/1.1\r\nX-Test: kept\r\n"
                         "Content-Length: 300000\r\n\r\n");
    for (int i = 0; i < 30000; i++)
        kn_buf_append_str(&req, "0123456789");
    kn_buf_append_str(&req, "POST /next HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n");
    kn_buf_append_str(&req, "9c40\r\n");
    for (int i = 0; i < 4000; i++)
        kn_buf_append_str(&req, "abcdefghij");
    kn_buf_append_str(&req, "\r\n0\r\n\r\n");
    KT_ASSERT(send(fd, req.data, req.len, MSG_NOSIGNAL) == (ssize_t)req.len);
    kn_buf_free(&req);
    cleanup_free char *got = read_until(fd, "POST /next v=0 x=- body=40000:abcdefghij");
    KT_ASSERT_CONTAINS(got, "POST /some/long/path v=1,q x=kept body=300000:0123456789");
    kn_httpd_stop(d);
}

KT_TEST(httpd, malformed_heads_get_an_error_and_close)
{
    kn_httpd *d = start(NULL);
    static const struct {
        const char *req, *status;
    } cases[] = {
        {"GET / HTTP/1.1\r\nBad Header\r\n\r\n", "400 Bad Request"},
        {"GET / HTTP/3.0\r\n\r\n", "505 HTTP Version Not Supported"},
        {"POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", "501 Not Implemented"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        cleanup_close int fd = dial(kn_httpd_port(d));
        send_text(fd, cases[i].req);
        cleanup_free char *got = read_until(fd, NULL);
        KT_ASSERT_CONTAINS(got, cases[i].status);
    }
    cleanup_close int fd = dial(kn_httpd_port(d));
    kn_buf huge = KN_BUF_INIT;
    kn_buf_append_str(&huge, "GET / HTTP/1.1\r\n");
    while (huge.len < 70 * 1024)
        kn_buf_append_str(&huge, "X-Pad: 0123456789012345678901234567890123456789\r\n");
    send(fd, huge.data, huge.len, MSG_NOSIGNAL);
    kn_buf_free(&huge);
    cleanup_free char *got = read_until(fd, NULL);
    KT_ASSERT_CONTAINS(got, "431 Request Header Fields Too Large");
    kn_httpd_stop(d);
}

KT_TEST(httpd, streams_are_chunked_for_http11_and_closed_for_http10)
{
    kn_httpd *d = start(NULL);
    cleanup_close int fd = dial(kn_httpd_port(d));
    send_text(fd, "GET /stream?n=3 HTTP/1.1\r\n\r\n");
    cleanup_free char *s = read_until(fd, "0\r\n\r\n");
    KT_ASSERT_CONTAINS(s, "Transfer-Encoding: chunked\r\n");
    KT_ASSERT_CONTAINS(s, "\r\n\r\n5\r\ntick\n\r\n5\r\ntick\n\r\n5\r\ntick\n\r\n0\r\n\r\n");
    send_text(fd, "GET /again HTTP/1.1\r\n\r\n"); /* the connection goes on */
    cleanup_free char *again = read_until(fd, "GET /again");

    cleanup_close int fd10 = dial(kn_httpd_port(d));
    send_text(fd10, "GET /stream?n=2 HTTP/1.0\r\n\r\n");
    cleanup_free char *s10 = read_until(fd10, NULL);
    KT_ASSERT(strstr(s10, "chunked") == NULL);
    KT_ASSERT_CONTAINS(s10, "\r\n\r\ntick\ntick\n");
    kn_httpd_stop(d);
}

KT_TEST(httpd, plain_upgrade)
{
    kn_httpd *d = start(NULL);
    cleanup_close int fd = dial(kn_httpd_port(d));
    send_text(fd, "GET /shout HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: shout\r\n\r\nearly ");
    cleanup_free char *head = read_until(fd, "EARLY ");
    KT_ASSERT_CONTAINS(head, "HTTP/1.1 101 Switching Protocols\r\n");
    KT_ASSERT_CONTAINS(head, "Connection: Upgrade\r\nUpgrade: shout\r\n");
    send_text(fd, "later");
    cleanup_free char *later = read_until(fd, "LATER");
    kn_httpd_stop(d);
}

KT_TEST(httpd, stop_ends_streams_and_upgrades)
{
    atomic_store(&streams_ended, 0);
    kn_httpd *d = start(NULL);
    cleanup_close int s = dial(kn_httpd_port(d));
    send_text(s, "GET /stream HTTP/1.1\r\n\r\n");
    cleanup_free char *first = read_until(s, "tick");
    cleanup_close int u = dial(kn_httpd_port(d));
    send_text(u, "GET /shout HTTP/1.1\r\nConnection: upgrade\r\nUpgrade: x\r\n\r\nhi");
    cleanup_free char *hi = read_until(u, "HI");
    kn_httpd_stop(d); /* returns only once both are over */
    KT_ASSERT_EQ(atomic_load(&streams_ended), 1);
}

/* ---- TLS ---- */

typedef struct tls_files {
    char *dir, *ca, *cert, *key;
    char *client_cert, *client_key, *other_cert, *other_key;
} tls_files;

static char *read_text(const char *path)
{
    char *text = NULL;
    size_t len = 0;
    cleanup_error kn_error *err = NULL;
    KT_ASSERT_OK(kn_read_file(path, 1 << 20, &text, &len, &err), err);
    return text;
}

static void tls_files_make(tls_files *t)
{
    t->dir = xasprintf("%s/pki", kt_tmpdir());
    cleanup_error kn_error *err = NULL;
    kn_pki_opts po = {
        .data_dir = t->dir, .server_url = "https://127.0.0.1:1", .cluster_domain = "cluster.local"};
    KT_ASSERT_OK(kn_pki_ensure(&po, &err), err);
    t->ca = xasprintf("%s/ca.crt", t->dir);
    t->cert = xasprintf("%s/apiserver.crt", t->dir);
    t->key = xasprintf("%s/apiserver.key", t->dir);
    t->client_cert = xasprintf("%s/alice.crt", t->dir);
    t->client_key = xasprintf("%s/alice.key", t->dir);
    const char *orgs[] = {"team-a", "team-b", NULL};
    KT_ASSERT_OK(kn_pki_issue_client(t->dir, "alice", orgs, t->client_cert, t->client_key, &err),
                 err);
    t->other_cert = xasprintf("%s/mallory.crt", t->dir);
    t->other_key = xasprintf("%s/mallory.key", t->dir);
    KT_ASSERT_OK(
        kn_pki_self_signed_serving("mallory", NULL, NULL, t->other_cert, t->other_key, &err), err);
}

static void tls_files_free(tls_files *t)
{
    char **all[] = {&t->dir,         &t->ca,         &t->cert,       &t->key,
                    &t->client_cert, &t->client_key, &t->other_cert, &t->other_key};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        free(*all[i]);
}

static kn_httpd *start_tls(const tls_files *t)
{
    cleanup_free char *cert = read_text(t->cert), *key = read_text(t->key), *ca = read_text(t->ca);
    kn_httpd_opts o = {.cert_pem = cert, .key_pem = key, .client_ca_pem = ca};
    return start(&o);
}

static size_t to_buf(char *p, size_t size, size_t n, void *ud)
{
    kn_buf_append(ud, p, size * n);
    return size * n;
}

/* A GET with curl; cert/key may be NULL. Returns the body. */
static char *curl_get(int port, const tls_files *t, const char *cert, const char *key)
{
    CURL *c = curl_easy_init();
    cleanup_free char *url = xasprintf("https://127.0.0.1:%d/who", port);
    kn_buf body = KN_BUF_INIT;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CAINFO, t->ca);
    if (cert) {
        curl_easy_setopt(c, CURLOPT_SSLCERT, cert);
        curl_easy_setopt(c, CURLOPT_SSLKEY, key);
    }
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, to_buf);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
    CURLcode rc = curl_easy_perform(c);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(c);
    KT_ASSERT_MSG(rc == CURLE_OK && status == 200, "curl: %s (%ld)", curl_easy_strerror(rc),
                  status);
    return kn_buf_steal(&body);
}

KT_TEST(httpd, tls_client_certificates)
{
    tls_files t = {0};
    tls_files_make(&t);
    kn_httpd *d = start_tls(&t);
    int port = kn_httpd_port(d);
    cleanup_free char *alice = curl_get(port, &t, t.client_cert, t.client_key);
    KT_ASSERT_CONTAINS(alice, "GET /who v=0 x=- body=0: cert=alice,team-a,team-b");
    cleanup_free char *anon = curl_get(port, &t, NULL, NULL);
    KT_ASSERT_CONTAINS(anon, "cert=-");
    cleanup_free char *other = curl_get(port, &t, t.other_cert, t.other_key);
    KT_ASSERT_CONTAINS(other, "cert=-"); /* presented, not from the client CA */
    kn_httpd_stop(d);
    tls_files_free(&t);
}

/* A TLS connection with OpenSSL (no verification: the test's own server). */
typedef struct tls_client {
    SSL_CTX *ctx;
    SSL *ssl;
    int fd;
} tls_client;

static void tls_dial(tls_client *c, int port)
{
    c->ctx = SSL_CTX_new(TLS_client_method());
    c->fd = dial(port);
    c->ssl = SSL_new(c->ctx);
    SSL_set_fd(c->ssl, c->fd);
    KT_ASSERT(SSL_connect(c->ssl) == 1);
}

static void tls_close(tls_client *c)
{
    SSL_free(c->ssl);
    SSL_CTX_free(c->ctx);
    close(c->fd);
}

static char *tls_read_until(tls_client *c, const char *want)
{
    kn_buf b = KN_BUF_INIT;
    char buf[4096];
    while (!strstr(b.data, want)) {
        int n = SSL_read(c->ssl, buf, sizeof(buf));
        KT_ASSERT_MSG(n > 0, "connection ended; so far: %s", b.data);
        kn_buf_append(&b, buf, (size_t)n);
    }
    return kn_buf_steal(&b);
}

KT_TEST(httpd, tls_upgrade_is_relayed)
{
    tls_files t = {0};
    tls_files_make(&t);
    kn_httpd *d = start_tls(&t);
    tls_client c;
    tls_dial(&c, kn_httpd_port(d));
    const char *req = "GET /shout HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: s\r\n\r\nfirst ";
    KT_ASSERT(SSL_write(c.ssl, req, (int)strlen(req)) == (int)strlen(req));
    cleanup_free char *head = tls_read_until(&c, "FIRST ");
    KT_ASSERT_CONTAINS(head, "HTTP/1.1 101 ");
    kn_buf big = KN_BUF_INIT; /* more than the relay's buffers hold */
    while (big.len < 100000)
        kn_buf_append_str(&big, "abcdefghij");
    KT_ASSERT(SSL_write(c.ssl, big.data, (int)big.len) == (int)big.len);
    kn_buf_free(&big);
    cleanup_free char *echo = tls_read_until(&c, "IJABCDEFGHIJ");
    size_t got = strlen(echo);
    while (got < 100000) {
        char buf[16384];
        int n = SSL_read(c.ssl, buf, sizeof(buf));
        KT_ASSERT(n > 0);
        got += (size_t)n;
    }
    KT_ASSERT_EQ(got, 100000);
    tls_close(&c);
    kn_httpd_stop(d);
    tls_files_free(&t);
}

/* In a child with SIGPIPE's default action: a client leaves in the middle
 * of a TLS stream, and the server must still answer the next one. */
KT_TEST(httpd, tls_client_leaving_a_stream_raises_no_sigpipe)
{
    tls_files t = {0};
    tls_files_make(&t);
    int ready[2];
    KT_ASSERT(pipe(ready) == 0);
    pid_t pid = fork();
    KT_ASSERT(pid >= 0);
    if (pid == 0) {
        signal(SIGPIPE, SIG_DFL);
        kn_httpd *d = start_tls(&t);
        int port = kn_httpd_port(d);
        if (write(ready[1], &port, sizeof(port)) != sizeof(port))
            _exit(2);
        pause();
        _exit(0);
    }
    close(ready[1]);
    int port = 0;
    KT_ASSERT(read(ready[0], &port, sizeof(port)) == sizeof(port));
    close(ready[0]);
    for (int i = 0; i < 3; i++) {
        tls_client c;
        tls_dial(&c, port);
        const char *req = "GET /stream HTTP/1.1\r\n\r\n";
        SSL_write(c.ssl, req, (int)strlen(req));
        cleanup_free char *some = tls_read_until(&c, "tick");
        struct linger hard = {1, 0}; /* RST: the server's next write fails */
        setsockopt(c.fd, SOL_SOCKET, SO_LINGER, &hard, sizeof(hard));
        tls_close(&c);
        usleep(100 * 1000);
    }
    int status = 0;
    pid_t gone = waitpid(pid, &status, WNOHANG);
    cleanup_free char *alive = gone == 0 ? curl_get(port, &t, NULL, NULL) : NULL;
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    KT_ASSERT_MSG(gone == 0, "the server process ended (signal %d)",
                  WIFSIGNALED(status) ? WTERMSIG(status) : 0);
    KT_ASSERT_CONTAINS(alive, "GET /who");
    tls_files_free(&t);
}

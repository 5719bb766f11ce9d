/* upgrade-proxy.c - the upgrade-aware proxy (see upgrade-proxy.h). The
 * backend connection is curl's (CONNECT_ONLY: TCP, and TLS with the client
 * certificate for https), the request and the response head are written
 * and read here, and after a 101 one thread moves bytes both ways until
 * either side ends, as upstream, which closes both then. */
#include "controlplane/upgrade-proxy.h"

#include <curl/curl.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "lib/cleanup.h"
#include "lib/http-wire.h"
#include "lib/strbuf.h"
#include "lib/xalloc.h"

#define HEAD_MAX (64 * 1024) /* response head */
#define BODY_MAX (64 * 1024) /* a refusal's body */
#define WAIT_MS (60 * 1000)  /* for the backend's answer, and for each write */
#define COPY_CHUNK (64 * 1024)

typedef struct backend {
    CURL *easy;
    curl_socket_t fd;
    kn_buf in; /* read from the backend, not yet handed on */
} backend;

static void backend_free(void *arg)
{
    backend *b = arg;
    if (!b)
        return;
    if (b->easy)
        curl_easy_cleanup(b->easy);
    kn_buf_free(&b->in);
    free(b);
}

static bool wait_fd(int fd, short events, int ms)
{
    struct pollfd p = {.fd = fd, .events = events};
    int r;
    while ((r = poll(&p, 1, ms)) < 0 && errno == EINTR)
        ;
    return r > 0;
}

static int backend_send(backend *b, const char *p, size_t len)
{
    while (len) {
        size_t n = 0;
        CURLcode rc = curl_easy_send(b->easy, p, len, &n);
        if (rc == CURLE_AGAIN) {
            if (!wait_fd(b->fd, POLLOUT, WAIT_MS))
                return -1;
            continue;
        }
        if (rc != CURLE_OK)
            return -1;
        p += n;
        len -= n;
    }
    return 0;
}

/* Reads what is there into b->in (waiting up to ms for something): the
 * number of bytes, 0 at the end of the stream, -1 on error or timeout. */
static ssize_t backend_recv(backend *b, int ms)
{
    for (;;) {
        char buf[COPY_CHUNK];
        size_t n = 0;
        CURLcode rc = curl_easy_recv(b->easy, buf, sizeof(buf), &n);
        if (rc == CURLE_OK) {
            kn_buf_append(&b->in, buf, n);
            return (ssize_t)n;
        }
        if (rc != CURLE_AGAIN || !wait_fd(b->fd, POLLIN, ms))
            return -1;
    }
}

static int backend_connect(const kn_upgrade_target *t, backend *b, kn_error **err)
{
    char errbuf[CURL_ERROR_SIZE] = "";
    CURL *e = b->easy = curl_easy_init();
    if (!e)
        return kn_error_set(err, KN_EINTERNAL, "curl_easy_init failed");
    curl_easy_setopt(e, CURLOPT_URL, t->url);
    curl_easy_setopt(e, CURLOPT_CONNECT_ONLY, 1L);
    if (t->cert_file) {
        curl_easy_setopt(e, CURLOPT_SSLCERT, t->cert_file);
        curl_easy_setopt(e, CURLOPT_SSLKEY, t->key_file);
    }
    /* as kube-apiserver without --kubelet-certificate-authority */
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
    curl_easy_setopt(e, CURLOPT_SSL_ENABLE_ALPN, 0L); /* HTTP/1.1: upgrades need it */
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, 30L);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf);
    CURLcode rc = curl_easy_perform(e);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, NULL);
    if (rc == CURLE_OK && curl_easy_getinfo(e, CURLINFO_ACTIVESOCKET, &b->fd) == CURLE_OK &&
        b->fd != CURL_SOCKET_BAD)
        return 0;
    return kn_error_set(err, KN_EUNAVAILABLE, "error dialing backend: %s",
                        errbuf[0] ? errbuf : curl_easy_strerror(rc));
}

/* ---- the request ---- */

static bool skipped_header(const char *name)
{
    static const char *const skip[] = {"Host",
                                       "Authorization",
                                       "Content-Length",
                                       "Transfer-Encoding",
                                       "Expect",
                                       "Proxy-Authorization",
                                       "Proxy-Connection",
                                       "Keep-Alive",
                                       "TE",
                                       "Trailer"};
    for (size_t i = 0; i < sizeof(skip) / sizeof(skip[0]); i++)
        if (strcasecmp(name, skip[i]) == 0)
            return true;
    return strncasecmp(name, "Impersonate-", 12) == 0;
}

static void add_header(void *arg, const char *name, const char *value)
{
    if (!skipped_header(name))
        kn_buf_appendf(arg, "%s: %s\r\n", name, value);
}

/* "METHOD /path?query HTTP/1.1", Host and the client's headers. */
static char *request_head(const kn_http_request *req, const char *url)
{
    const char *host = strstr(url, "://");
    host = host ? host + 3 : url;
    size_t host_len = strcspn(host, "/?");
    const char *path = host + host_len;
    kn_buf h = KN_BUF_INIT;
    kn_buf_appendf(&h, "%s %s%s HTTP/1.1\r\nHost: %.*s\r\n", req->method, *path == '/' ? "" : "/",
                   path, (int)host_len, host);
    kn_http_headers_each(req, add_header, &h);
    kn_buf_append_str(&h, "\r\n");
    return kn_buf_steal(&h);
}

/* ---- the response ---- */

typedef struct head {
    int status;
    size_t len; /* bytes of the head in b->in, the blank line included */
} head;

/* Reads until the end of the response head. */
static int read_head(backend *b, head *h, kn_error **err)
{
    char *end;
    while (!(end = memmem(b->in.data, b->in.len, "\r\n\r\n", 4))) {
        if (b->in.len > HEAD_MAX)
            return kn_error_set(err, KN_EUNAVAILABLE, "backend response head too large");
        if (backend_recv(b, WAIT_MS) <= 0)
            return kn_error_set(err, KN_EUNAVAILABLE, "backend closed before answering");
    }
    h->len = (size_t)(end - b->in.data) + 4;
    if (sscanf(b->in.data, "HTTP/1.%*d %d", &h->status) != 1 || h->status < 100 || h->status > 599)
        return kn_error_set(err, KN_EUNAVAILABLE, "backend answered no HTTP");
    return 0;
}

/* Calls fn for each header line of the head (name and value NUL-ended in
 * a copy). */
static void each_header(const backend *b, const head *h, void (*fn)(void *, char *, char *),
                        void *arg)
{
    cleanup_free char *copy = xmalloc(h->len + 1);
    memcpy(copy, b->in.data, h->len);
    copy[h->len] = '\0';
    char *save = NULL;
    strtok_r(copy, "\r\n", &save); /* the status line */
    for (char *l = strtok_r(NULL, "\r\n", &save); l; l = strtok_r(NULL, "\r\n", &save)) {
        char *colon = strchr(l, ':');
        if (!colon)
            continue;
        *colon = '\0';
        char *v = colon + 1 + strspn(colon + 1, " \t");
        fn(arg, l, v);
    }
}

static void copy_upgrade_header(void *arg, char *name, char *value)
{
    static const char *const skip[] = {"Connection", "Content-Length", "Transfer-Encoding", "Date",
                                       "Content-Type"};
    for (size_t i = 0; i < sizeof(skip) / sizeof(skip[0]); i++)
        if (strcasecmp(name, skip[i]) == 0)
            return;
    kn_http_add_header(arg, name, value);
}

typedef struct body_info {
    long long length; /* -1: unknown */
    bool chunked;
    char *content_type;
} body_info;

static void note_body_header(void *arg, char *name, char *value)
{
    body_info *bi = arg;
    if (strcasecmp(name, "Content-Length") == 0)
        bi->length = strtoll(value, NULL, 10);
    else if (strcasecmp(name, "Transfer-Encoding") == 0 && strcasestr(value, "chunked"))
        bi->chunked = true;
    else if (strcasecmp(name, "Content-Type") == 0 && !bi->content_type)
        bi->content_type = xstrdup(value);
}

/* Decodes the chunked body in b->in from off on; false while incomplete.
 * Malformed framing ends the body with what was decoded before it. */
static bool unchunk(const backend *b, size_t off, kn_buf *out)
{
    kn_buf_reset(out);
    kn_http_chunked ch = {0};
    return kn_http_chunked_feed(&ch, b->in.data + off, b->in.len - off, out) < 0 || ch.done;
}

/* The body of a non-101 answer, at most BODY_MAX bytes (owned). */
static char *read_body(backend *b, const head *h, const body_info *bi)
{
    kn_buf out = KN_BUF_INIT;
    for (;;) {
        size_t have = b->in.len - h->len;
        if (bi->chunked ? unchunk(b, h->len, &out)
                        : (bi->length >= 0 && have >= (size_t)bi->length) || have > BODY_MAX)
            break;
        if (have > BODY_MAX || backend_recv(b, WAIT_MS) <= 0)
            break;
    }
    if (!bi->chunked) {
        size_t have = b->in.len - h->len;
        if (bi->length >= 0 && have > (size_t)bi->length)
            have = (size_t)bi->length;
        kn_buf_append(&out, b->in.data + h->len, have > BODY_MAX ? BODY_MAX : have);
    }
    return kn_buf_steal(&out);
}

/* ---- after the switch ---- */

static int client_write(int fd, const char *p, size_t len)
{
    while (len) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
            if (!wait_fd(fd, POLLOUT, WAIT_MS))
                return -1;
            continue;
        }
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Hands on everything the backend has ready; -1 at its end or an error. */
static int backend_to_client(backend *b, int fd)
{
    for (;;) {
        kn_buf_reset(&b->in);
        char buf[COPY_CHUNK];
        size_t n = 0;
        CURLcode rc = curl_easy_recv(b->easy, buf, sizeof(buf), &n);
        if (rc == CURLE_AGAIN)
            return 0;
        if (rc != CURLE_OK || n == 0 || client_write(fd, buf, n) < 0)
            return -1;
    }
}

static int client_to_backend(backend *b, int fd)
{
    char buf[COPY_CHUNK];
    ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return 0;
    if (n <= 0)
        return -1;
    return backend_send(b, buf, (size_t)n);
}

static void pipe_both(void *ctx, const kn_http_upgraded *u)
{
    backend *b = ctx;
    if ((u->head_len && backend_send(b, u->head, u->head_len) < 0) ||
        (b->in.len && client_write(u->fd, b->in.data, b->in.len) < 0))
        return;
    kn_buf_reset(&b->in);
    struct pollfd p[2] = {{.fd = u->fd, .events = POLLIN}, {.fd = b->fd, .events = POLLIN}};
    for (;;) {
        if (poll(p, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            return;
        }
        if (p[0].revents && client_to_backend(b, u->fd) < 0)
            return;
        if (p[1].revents && backend_to_client(b, u->fd) < 0)
            return;
    }
}

/* ---- the proxy ---- */

static void answer(backend *b, const head *h, kn_http_response *resp)
{
    if (h->status == 101) {
        resp->status = 101;
        each_header(b, h, copy_upgrade_header, resp);
        /* keep what came after the head: the first bytes of the new protocol */
        size_t rest = b->in.len - h->len;
        memmove(b->in.data, b->in.data + h->len, rest);
        kn_buf_truncate(&b->in, rest);
        resp->upgrade = pipe_both;
        resp->upgrade_ctx = b;
        resp->upgrade_free = backend_free;
        return;
    }
    body_info bi = {.length = -1};
    each_header(b, h, note_body_header, &bi);
    kn_http_respond(resp, h->status, bi.content_type ? bi.content_type : "text/plain",
                    read_body(b, h, &bi));
    free(bi.content_type);
    backend_free(b);
}

int kn_upgrade_proxy(const kn_http_request *req, const kn_upgrade_target *t, kn_http_response *resp,
                     kn_error **err)
{
    backend *b = xcalloc(1, sizeof(*b));
    kn_buf_init(&b->in);
    cleanup_free char *rh = request_head(req, t->url);
    head h = {0};
    if (backend_connect(t, b, err) < 0 || backend_send(b, rh, strlen(rh)) < 0 ||
        read_head(b, &h, err) < 0) {
        if (!*err)
            kn_error_set(err, KN_EUNAVAILABLE, "error sending request to backend");
        backend_free(b);
        return -1;
    }
    answer(b, &h, resp);
    return 0;
}

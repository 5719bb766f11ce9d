/* httpd.c - the HTTP/1.1 server (see httpd.h): a listener thread, one
 * thread per connection, OpenSSL for TLS, lib/http-wire for framing. */
#include "lib/httpd.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "lib/http-wire.h"
#include "lib/log.h"
#include "lib/ossl.h"
#include "lib/xalloc.h"

#define COMPONENT "httpd"
#define HEAD_MAX (64 * 1024)           /* request line and fields */
#define READ_ROOM 4096                 /* the least free space a read gets */
#define HANDSHAKE_MS 10000             /* TLS handshake */
#define HEAD_MS 30000                  /* the rest of a head once it began */
#define WRITE_MS (5 * 60 * 1000)       /* a client not reading for this long */
#define DEFAULT_MAX_BODY (1024 * 1024) /* opts.max_body 0 */
#define DEFAULT_MAX_CONNS 1024u
#define DEFAULT_IDLE_S 180u
#define STREAM_CHUNK 16384
#define RELAY_BUF 16384

typedef struct http_conn http_conn;

struct kn_httpd {
    kn_httpd_opts opts;
    SSL_CTX *tls; /* NULL: plain HTTP */
    int listen_fd;
    int wake_fd; /* eventfd: the listener stops */
    int port;
    pthread_t listener;
    pthread_mutex_t mu; /* guards conns, nconns, stopping */
    pthread_cond_t idle;
    http_conn *conns;
    unsigned nconns;
    bool stopping;
};

struct http_conn {
    kn_httpd *d;
    int fd;
    SSL *ssl;
    int app_fd; /* an upgraded connection's socket-pair end, or -1 */
    kn_http_cert cert;
    char *in; /* read buffer: the head, then body bytes and what follows */
    size_t in_len, in_cap;
    size_t pos;       /* bytes of in consumed */
    size_t body_base; /* where body reads may restart (the head's end) */
    char *head_buf;   /* the current request's head, parsed in place */
    kn_http_head head;
    kn_http_param *params;
    size_t nparams;
    http_conn *prev, *next;
};

/* ---- socket I/O with deadlines, plain or TLS ---- */

/* Waits for events on fd; false on timeout or error. */
static bool wait_fd(int fd, short events, int timeout_ms)
{
    struct pollfd p = {.fd = fd, .events = events};
    for (;;) {
        int r = poll(&p, 1, timeout_ms);
        if (r < 0 && errno == EINTR)
            continue;
        return r > 0;
    }
}

/* What an SSL call's failure asks for: POLLIN/POLLOUT to retry, 0 when the
 * session is over (closed or broken). */
static short tls_wants(SSL *ssl, int r)
{
    switch (SSL_get_error(ssl, r)) {
    case SSL_ERROR_WANT_READ:
        return POLLIN;
    case SSL_ERROR_WANT_WRITE:
        return POLLOUT;
    default:
        ERR_clear_error();
        return 0;
    }
}

/* Reads what is there (waiting up to timeout_ms for something): > 0 bytes,
 * 0 at the peer's end, -1 on error or timeout. */
static ssize_t conn_recv(http_conn *c, void *buf, size_t n, int timeout_ms)
{
    for (;;) {
        short want;
        if (c->ssl) {
            int r = SSL_read(c->ssl, buf, n > INT32_MAX ? INT32_MAX : (int)n);
            if (r > 0)
                return r;
            if (SSL_get_error(c->ssl, r) == SSL_ERROR_ZERO_RETURN)
                return 0;
            want = tls_wants(c->ssl, r);
            if (!want)
                return -1;
        } else {
            ssize_t r = recv(c->fd, buf, n, MSG_DONTWAIT);
            if (r >= 0)
                return r;
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                return -1;
            want = POLLIN;
        }
        if (!wait_fd(c->fd, want, timeout_ms))
            return -1;
    }
}

static int conn_send(http_conn *c, const void *buf, size_t n)
{
    const char *p = buf;
    while (n) {
        short want;
        if (c->ssl) {
            int r = SSL_write(c->ssl, p, n > INT32_MAX ? INT32_MAX : (int)n);
            if (r > 0) {
                p += r;
                n -= (size_t)r;
                continue;
            }
            want = tls_wants(c->ssl, r);
            if (!want)
                return -1;
        } else {
            ssize_t r = send(c->fd, p, n, MSG_DONTWAIT | MSG_NOSIGNAL);
            if (r > 0) {
                p += r;
                n -= (size_t)r;
                continue;
            }
            if (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                return -1;
            want = POLLOUT;
        }
        if (!wait_fd(c->fd, want, WRITE_MS))
            return -1;
    }
    return 0;
}

/* Reads more into c->in; > 0 bytes, 0 at the end, -1 on error/timeout. */
static ssize_t conn_fill(http_conn *c, int timeout_ms)
{
    if (c->pos == c->in_len && c->pos > c->body_base)
        c->in_len = c->pos = c->body_base; /* all consumed: reuse the room */
    if (c->in_cap - c->in_len < READ_ROOM) {
        c->in_cap = c->in_cap * 2 > c->in_len + READ_ROOM ? c->in_cap * 2 : c->in_len + READ_ROOM;
        c->in = xrealloc(c->in, c->in_cap);
    }
    ssize_t r = conn_recv(c, c->in + c->in_len, c->in_cap - c->in_len - 1, timeout_ms);
    if (r > 0)
        c->in_len += (size_t)r;
    return r;
}

/* ---- TLS ---- */

static int select_http11(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                         const unsigned char *in, unsigned inlen, void *arg)
{
    (void)ssl;
    (void)arg;
    for (unsigned i = 0; i < inlen; i += 1u + in[i]) {
        if (in[i] == 8 && i + 9 <= inlen && memcmp(in + i + 1, "http/1.1", 8) == 0) {
            *out = in + i + 1;
            *outlen = 8;
            return SSL_TLSEXT_ERR_OK;
        }
    }
    return SSL_TLSEXT_ERR_NOACK;
}

/* Client certificates are checked after the handshake (read_client_cert):
 * one that does not verify leaves the request unauthenticated by it. */
static int accept_any_peer(int ok, X509_STORE_CTX *ctx)
{
    (void)ok;
    (void)ctx;
    return 1;
}

/* Loads every certificate of pem: the first is the leaf, the rest its
 * chain; with store, all go to the client-CA store instead. */
static int load_certs(SSL_CTX *ctx, const char *pem, bool client_ca, kn_error **err)
{
    BIO *bio = BIO_new_mem_buf(pem, -1);
    int n = 0;
    X509 *x;
    while (bio && (x = PEM_read_bio_X509(bio, NULL, NULL, NULL))) {
        int ok;
        if (client_ca)
            ok = X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx), x) &&
                 SSL_CTX_add_client_CA(ctx, x);
        else
            ok = n == 0 ? SSL_CTX_use_certificate(ctx, x) : SSL_CTX_add1_chain_cert(ctx, x);
        X509_free(x);
        if (!ok)
            break;
        n++;
    }
    ERR_clear_error(); /* the end of the PEM data */
    BIO_free(bio);
    if (n == 0)
        return kn_ossl_error(err, KN_EINVAL,
                             client_ca ? "no client CA certificate" : "no serving certificate");
    return 0;
}

static int load_key(SSL_CTX *ctx, const char *pem, kn_error **err)
{
    BIO *bio = BIO_new_mem_buf(pem, -1);
    EVP_PKEY *key = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
    BIO_free(bio);
    int ok = key && SSL_CTX_use_PrivateKey(ctx, key) && SSL_CTX_check_private_key(ctx);
    EVP_PKEY_free(key);
    return ok ? 0 : kn_ossl_error(err, KN_EINVAL, "bad serving key");
}

static int tls_setup(kn_httpd *d, const kn_httpd_opts *o, kn_error **err)
{
    if (!o->cert_pem)
        return 0;
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx)
        return kn_ossl_error(err, KN_EINVAL, "cannot create a TLS context");
    d->tls = ctx;
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                              SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_alpn_select_cb(ctx, select_http11, NULL);
    if (load_certs(ctx, o->cert_pem, false, err) < 0 ||
        load_key(ctx, o->key_pem ? o->key_pem : "", err) < 0)
        return -1;
    if (o->client_ca_pem) {
        if (load_certs(ctx, o->client_ca_pem, true, err) < 0)
            return -1;
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, accept_any_peer);
    }
    return 0;
}

/* Copies the values of one attribute (CN or O) of a name. */
static void name_values(X509_NAME *name, int nid, char *first, size_t size, char (*many)[128],
                        size_t *n, size_t max)
{
    for (int idx = X509_NAME_get_index_by_NID(name, nid, -1); idx >= 0;
         idx = X509_NAME_get_index_by_NID(name, nid, idx)) {
        unsigned char *utf8 = NULL;
        int len =
            ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, idx)));
        if (len < 0)
            continue;
        if (first && !first[0])
            snprintf(first, size, "%.*s", len, (char *)utf8);
        if (many && *n < max)
            snprintf(many[(*n)++], 128, "%.*s", len > 127 ? 127 : len, (char *)utf8);
        OPENSSL_free(utf8);
    }
}

/* Fills cert from the session when a client certificate verified. */
static void read_client_cert(SSL *ssl, kn_http_cert *cert)
{
    X509 *peer = SSL_get1_peer_certificate(ssl);
    if (!peer)
        return;
    if (SSL_get_verify_result(ssl) == X509_V_OK) {
        X509_NAME *subject = X509_get_subject_name(peer);
        name_values(subject, NID_commonName, cert->cn, sizeof(cert->cn), NULL, NULL, 0);
        name_values(subject, NID_organizationName, NULL, 0, cert->orgs, &cert->norgs, 8);
        cert->verified = cert->cn[0] != '\0';
    }
    X509_free(peer);
}

static int tls_accept(http_conn *c)
{
    c->ssl = SSL_new(c->d->tls);
    if (!c->ssl || !SSL_set_fd(c->ssl, c->fd))
        return -1;
    for (;;) {
        int r = SSL_accept(c->ssl);
        if (r == 1)
            break;
        short want = tls_wants(c->ssl, r);
        if (!want || !wait_fd(c->fd, want, HANDSHAKE_MS))
            return -1;
    }
    read_client_cert(c->ssl, &c->cert);
    return 0;
}

/* ---- responses ---- */

static void append_date(kn_buf *b)
{
    time_t now = time(NULL);
    struct tm tm;
    char date[64];
    gmtime_r(&now, &tm);
    strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
    kn_buf_appendf(b, "Date: %s\r\n", date);
}

static bool has_header(const kn_http_response *resp, const char *name)
{
    for (size_t i = 0; i < resp->nheaders; i++)
        if (strcasecmp(resp->headers[i][0], name) == 0)
            return true;
    return false;
}

/* 1xx, 204 and 304 answers have no body, nor framing fields for one
 * (RFC 9110 6.4.1). */
static bool status_has_body(int status)
{
    return status >= 200 && status != 204 && status != 304;
}

/* The status line and fields of resp. */
static void response_head(const http_conn *c, const kn_http_response *resp, bool keep_alive,
                          kn_buf *out)
{
    kn_buf_appendf(out, "HTTP/1.1 %d %s\r\n", resp->status, kn_http_reason(resp->status));
    append_date(out);
    bool upgrade = resp->status == 101;
    if (upgrade && !has_header(resp, "Connection"))
        kn_buf_append_str(out, "Connection: Upgrade\r\n");
    if (!upgrade) {
        kn_buf_appendf(out, "Content-Type: %s\r\n",
                       resp->content_type ? resp->content_type : "application/json");
        if (c->d->opts.no_cache)
            kn_buf_append_str(out, "Cache-Control: no-cache, private\r\n");
    }
    for (size_t i = 0; i < resp->nheaders; i++)
        kn_buf_appendf(out, "%s: %s\r\n", resp->headers[i][0], resp->headers[i][1]);
    bool body = status_has_body(resp->status);
    if (body && resp->stream && c->head.minor >= 1)
        kn_buf_append_str(out, "Transfer-Encoding: chunked\r\n");
    else if (body && !resp->stream)
        kn_buf_appendf(out, "Content-Length: %zu\r\n", resp->body ? resp->body_len : 0);
    if (!upgrade && !keep_alive)
        kn_buf_append_str(out, "Connection: close\r\n");
    kn_buf_append_str(out, "\r\n");
}

/* A stream's chunks until it ends; -1 when the client went away. */
static int send_stream(http_conn *c, kn_http_response *resp)
{
    bool chunked = c->head.minor >= 1;
    char *buf = xmalloc(STREAM_CHUNK + 32);
    int rc = 0;
    for (;;) {
        ssize_t n = resp->stream(resp->stream_ctx, buf + 16, STREAM_CHUNK);
        if (n <= 0)
            break;
        if (!chunked) {
            rc = conn_send(c, buf + 16, (size_t)n);
        } else {
            char size[16];
            int k = snprintf(size, sizeof(size), "%zx\r\n", (size_t)n);
            memcpy(buf + 16 - k, size, (size_t)k);
            memcpy(buf + 16 + n, "\r\n", 2);
            rc = conn_send(c, buf + 16 - k, (size_t)k + (size_t)n + 2);
        }
        if (rc < 0)
            break;
    }
    free(buf);
    if (rc == 0 && chunked)
        rc = conn_send(c, "0\r\n\r\n", 5);
    return rc;
}

/* Sends resp; -1 when the connection cannot go on. */
static int send_response(http_conn *c, kn_http_response *resp, bool keep_alive)
{
    kn_buf out = KN_BUF_INIT;
    response_head(c, resp, keep_alive, &out);
    bool no_body = strcmp(c->head.method, "HEAD") == 0 || !status_has_body(resp->status);
    if (!no_body && !resp->stream && resp->body)
        kn_buf_append(&out, resp->body, resp->body_len);
    int rc = conn_send(c, out.data, out.len);
    kn_buf_free(&out);
    if (rc == 0 && !no_body && resp->stream)
        rc = send_stream(c, resp);
    return rc;
}

static void send_simple(http_conn *c, int status, const char *type, const char *body)
{
    kn_buf out = KN_BUF_INIT;
    kn_buf_appendf(&out, "HTTP/1.1 %d %s\r\n", status, kn_http_reason(status));
    append_date(&out);
    kn_buf_appendf(&out, "Content-Type: %s\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n%s",
                   type, strlen(body), body);
    conn_send(c, out.data, out.len);
    kn_buf_free(&out);
}

static void send_error(http_conn *c, int status)
{
    char body[96];
    snprintf(body, sizeof(body), "%d %s", status, kn_http_reason(status));
    send_simple(c, status, "text/plain; charset=utf-8", body);
}

static const char too_large_body[] =
    "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\","
    "\"message\":\"the request body is too large\",\"reason\":\"RequestEntityTooLarge\","
    "\"code\":413}";

/* ---- requests ---- */

/* Reads a request head; 0, an error status to answer, or -1 to close. */
static int read_head(http_conn *c)
{
    size_t end;
    int idle_ms =
        (int)(c->d->opts.idle_timeout_s ? c->d->opts.idle_timeout_s : DEFAULT_IDLE_S) * 1000;
    while (!(end = kn_http_head_end(c->in, c->in_len))) {
        if (c->in_len >= HEAD_MAX)
            return 431;
        ssize_t r = conn_fill(c, c->in_len ? HEAD_MS : idle_ms);
        if (r <= 0)
            return -1;
    }
    if (end > HEAD_MAX)
        return 431;
    /* parsed in a copy of its own: reading the body may move c->in */
    free(c->head_buf);
    c->head_buf = xmalloc(end + 1);
    memcpy(c->head_buf, c->in, end);
    c->head_buf[end] = '\0';
    int status = kn_http_head_parse(c->head_buf, end, &c->head);
    c->pos = c->body_base = end;
    return status;
}

/* The body by Content-Length; -1 when the client went away. */
static int read_length_body(http_conn *c, uint64_t length, kn_buf *body)
{
    kn_buf_reserve(body, (size_t)length);
    while (body->len < length) {
        if (c->pos == c->in_len && conn_fill(c, HEAD_MS) <= 0)
            return -1;
        size_t take = c->in_len - c->pos;
        if (take > length - body->len)
            take = (size_t)(length - body->len);
        kn_buf_append(body, c->in + c->pos, take);
        c->pos += take;
    }
    return 0;
}

/* A chunked body; -1 when malformed or cut, 1 when over max. */
static int read_chunked_body(http_conn *c, size_t max, kn_buf *body)
{
    kn_http_chunked ch = {0};
    while (!ch.done) {
        if (c->pos == c->in_len && conn_fill(c, HEAD_MS) <= 0)
            return -1;
        ssize_t used = kn_http_chunked_feed(&ch, c->in + c->pos, c->in_len - c->pos, body);
        if (used < 0)
            return -1;
        c->pos += (size_t)used;
        if (body->len > max)
            return 1;
    }
    return 0;
}

/* Reads the body; 0, or the status that ends the connection (413, 400),
 * or -1 to just close. */
static int read_body(http_conn *c, kn_buf *body)
{
    size_t max = c->d->opts.max_body ? c->d->opts.max_body : DEFAULT_MAX_BODY;
    const kn_http_head *h = &c->head;
    if (h->framing == KN_HTTP_BODY_NONE)
        return 0;
    if (h->framing == KN_HTTP_BODY_LENGTH && h->content_length > max)
        return 413; /* before 100-continue: the client need not send it */
    if (h->expect_continue && c->pos == c->in_len &&
        conn_send(c, "HTTP/1.1 100 Continue\r\n\r\n", 25) < 0)
        return -1;
    if (h->framing == KN_HTTP_BODY_LENGTH)
        return read_length_body(c, h->content_length, body);
    int r = read_chunked_body(c, max, body);
    return r == 1 ? 413 : r < 0 ? 400 : 0;
}

#define MAX_PARAMS 1024

static void parse_query(http_conn *c)
{
    free(c->params);
    c->params = NULL;
    c->nparams = 0;
    if (!c->head.query)
        return;
    size_t bound = 1;
    for (const char *p = c->head.query; *p && bound < MAX_PARAMS; p++)
        bound += *p == '&';
    c->params = xcalloc(bound, sizeof(*c->params));
    size_t n = kn_http_query_split(c->head.query, c->params, bound);
    c->nparams = n < bound ? n : bound;
}

static void response_free(kn_http_response *resp)
{
    free(resp->body);
    free(resp->content_type);
    for (size_t i = 0; i < resp->nheaders; i++) {
        free(resp->headers[i][0]);
        free(resp->headers[i][1]);
    }
    if (resp->stream_free)
        resp->stream_free(resp->stream_ctx);
    if (resp->upgrade_free)
        resp->upgrade_free(resp->upgrade_ctx);
}

/* ---- upgraded connections ---- */

typedef struct upgrade_app {
    kn_http_upgrade_fn fn;
    void *ctx;
    kn_http_upgraded u;
} upgrade_app;

static void *upgrade_thread(void *arg)
{
    upgrade_app *a = arg;
    a->fn(a->ctx, &a->u);
    shutdown(a->u.fd, SHUT_RDWR);
    OPENSSL_thread_stop(); /* in case the upgrade function used OpenSSL */
    return NULL;
}

/* One direction of the relay: bytes read but not yet written on. */
typedef struct relay_buf {
    char data[RELAY_BUF];
    size_t len, off;
} relay_buf;

typedef struct relay {
    http_conn *c;
    int app;              /* our end of the socket pair */
    relay_buf to_app;     /* from the client, decrypted */
    relay_buf to_client;  /* from the upgrade function */
    bool client_open;     /* still reading from the client */
    bool app_open;        /* the upgrade function still writes */
    short tls_read_want;  /* what the last SSL_read waits for */
    short tls_write_want; /* what the last SSL_write waits for */
} relay;

static bool io_again(void)
{
    return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
}

/* Client -> app: reads the TLS session when the buffer is empty, writes
 * the buffer to the app's socket; true when something moved. */
static bool relay_in(relay *r)
{
    bool moved = false;
    relay_buf *b = &r->to_app;
    if (r->client_open && b->off == b->len) {
        int n = SSL_read(r->c->ssl, b->data, RELAY_BUF);
        if (n > 0) {
            b->len = (size_t)n;
            b->off = 0;
        } else if (!(r->tls_read_want = tls_wants(r->c->ssl, n))) {
            r->client_open = false; /* the client is done: so is the app's input */
            shutdown(r->app, SHUT_WR);
        }
        moved = n > 0 || !r->client_open;
    }
    if (b->off < b->len) {
        ssize_t n = send(r->app, b->data + b->off, b->len - b->off, MSG_DONTWAIT | MSG_NOSIGNAL);
        bool gone = n < 0 && !io_again();
        if (n > 0)
            b->off += (size_t)n;
        else if (gone)
            b->off = b->len; /* the app stopped reading: drop */
        moved = moved || n > 0 || gone;
    }
    return moved;
}

/* App -> client, the same way round. */
static bool relay_out(relay *r)
{
    bool moved = false;
    relay_buf *b = &r->to_client;
    if (r->app_open && b->off == b->len) {
        ssize_t n = recv(r->app, b->data, RELAY_BUF, MSG_DONTWAIT);
        if (n > 0) {
            b->len = (size_t)n;
            b->off = 0;
        } else if (n == 0 || !io_again()) {
            r->app_open = false;
        }
        moved = n > 0 || !r->app_open;
    }
    if (b->off < b->len) {
        int n = SSL_write(r->c->ssl, b->data + b->off, (int)(b->len - b->off));
        if (n > 0) {
            b->off += (size_t)n;
            moved = true;
        } else if (!(r->tls_write_want = tls_wants(r->c->ssl, n))) {
            b->off = b->len; /* the client is gone: drop */
            r->client_open = false;
            moved = true;
        }
    }
    return moved;
}

/* Relays between the TLS session and the upgrade function's socket until
 * the function is done and what it wrote is on its way. */
static void relay_tls(http_conn *c, int app)
{
    relay *r = xcalloc(1, sizeof(*r));
    r->c = c;
    r->app = app;
    r->client_open = r->app_open = true;
    while (r->app_open || r->to_client.off < r->to_client.len) {
        r->tls_read_want = r->tls_write_want = 0;
        bool in = relay_in(r), out = relay_out(r);
        if (in || out)
            continue;
        struct pollfd p[2] = {{.fd = c->fd}, {.fd = app}};
        if (r->client_open && r->to_app.off == r->to_app.len)
            p[0].events |= r->tls_read_want ? r->tls_read_want : POLLIN;
        if (r->to_client.off < r->to_client.len)
            p[0].events |= r->tls_write_want ? r->tls_write_want : POLLOUT;
        if (r->to_app.off < r->to_app.len)
            p[1].events |= POLLOUT;
        if (r->app_open && r->to_client.off == r->to_client.len)
            p[1].events |= POLLIN;
        int n = poll(p, 2, r->app_open ? -1 : WRITE_MS);
        if (n == 0 || (n < 0 && errno != EINTR))
            break;
    }
    free(r);
}

/* Sends the 101 and runs the upgrade function on the switched connection. */
static void run_upgrade(http_conn *c, kn_http_response *resp)
{
    kn_buf out = KN_BUF_INIT;
    response_head(c, resp, true, &out);
    int rc = conn_send(c, out.data, out.len);
    kn_buf_free(&out);
    if (rc < 0)
        return;
    upgrade_app a = {.fn = resp->upgrade, .ctx = resp->upgrade_ctx};
    a.u.head = c->in + c->pos;
    a.u.head_len = c->in_len - c->pos;
    if (!c->ssl) {
        a.u.fd = c->fd;
        a.fn(a.ctx, &a.u);
        return;
    }
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        return;
    kn_httpd *d = c->d;
    pthread_mutex_lock(&d->mu);
    c->app_fd = sv[0];
    if (d->stopping)
        shutdown(sv[0], SHUT_RDWR);
    pthread_mutex_unlock(&d->mu);
    a.u.fd = sv[0];
    pthread_t t;
    if (pthread_create(&t, NULL, upgrade_thread, &a) == 0) {
        relay_tls(c, sv[1]);
        shutdown(sv[1], SHUT_RDWR);
        pthread_join(t, NULL);
    }
    pthread_mutex_lock(&d->mu);
    c->app_fd = -1;
    pthread_mutex_unlock(&d->mu);
    close(sv[0]);
    close(sv[1]);
}

/* ---- connections ---- */

static bool is_stopping(kn_httpd *d)
{
    pthread_mutex_lock(&d->mu);
    bool s = d->stopping;
    pthread_mutex_unlock(&d->mu);
    return s;
}

/* Keeps the bytes after the request (a pipelined next one). */
static void next_request(http_conn *c)
{
    size_t rest = c->in_len - c->pos;
    memmove(c->in, c->in + c->pos, rest);
    c->in_len = rest;
    c->pos = c->body_base = 0;
    if (c->in_cap > 4 * READ_ROOM && rest < READ_ROOM) {
        c->in_cap = 2 * READ_ROOM;
        c->in = xrealloc(c->in, c->in_cap);
    }
}

/* One request; false when the connection ends with it. */
static bool serve_request(http_conn *c)
{
    int status = read_head(c);
    if (status) {
        if (status > 0)
            send_error(c, status);
        return false;
    }
    kn_http_request req = {
        .conn = c, .method = c->head.method, .path = c->head.path, .cert = c->cert};
    kn_buf_init(&req.body);
    status = read_body(c, &req.body);
    if (status) {
        if (status == 413)
            send_simple(c, 413, "application/json", too_large_body);
        else if (status > 0)
            send_error(c, status);
        kn_buf_free(&req.body);
        return false;
    }
    parse_query(c);
    kn_http_response resp = {.status = 500};
    c->d->opts.handler(c->d->opts.userdata, &req, &resp);
    kn_buf_free(&req.body);
    bool keep = c->head.keep_alive && !(resp.stream && c->head.minor == 0) && !is_stopping(c->d);
    int rc = -1;
    if (resp.status == 101 && resp.upgrade)
        run_upgrade(c, &resp);
    else
        rc = send_response(c, &resp, keep);
    response_free(&resp);
    if (rc < 0 || !keep)
        return false;
    next_request(c);
    return true;
}

static void conn_end(http_conn *c)
{
    kn_httpd *d = c->d;
    pthread_mutex_lock(&d->mu);
    if (c->prev)
        c->prev->next = c->next;
    else
        d->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    pthread_mutex_unlock(&d->mu);
    SSL_free(c->ssl);
    close(c->fd);
    free(c->in);
    free(c->head_buf);
    free(c->params);
    free(c);
    /* this thread's OpenSSL state (its error queue) goes now, not in a
     * thread-exit handler that may run after kn_httpd_stop returned */
    OPENSSL_thread_stop();
    pthread_mutex_lock(&d->mu);
    d->nconns--;
    pthread_cond_broadcast(&d->idle);
    pthread_mutex_unlock(&d->mu);
}

static void *conn_thread(void *arg)
{
    http_conn *c = arg;
    /* OpenSSL writes with write(2): a client gone would raise SIGPIPE,
     * which kills a process that does not ignore it. Blocked, the write
     * fails with EPIPE instead (the upgrade thread inherits the mask). */
    sigset_t pipe;
    sigemptyset(&pipe);
    sigaddset(&pipe, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe, NULL);
    if (!c->d->tls || tls_accept(c) == 0)
        while (serve_request(c)) {
        }
    conn_end(c);
    return NULL;
}

static void accept_one(kn_httpd *d)
{
    int fd = accept4(d->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
        if (errno == EMFILE || errno == ENFILE || errno == ENOMEM || errno == ENOBUFS)
            usleep(100 * 1000); /* out of descriptors: do not spin */
        return;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    unsigned max = d->opts.max_connections ? d->opts.max_connections : DEFAULT_MAX_CONNS;
    pthread_mutex_lock(&d->mu);
    if (d->stopping || d->nconns >= max) {
        pthread_mutex_unlock(&d->mu);
        close(fd);
        return;
    }
    http_conn *c = xcalloc(1, sizeof(*c));
    *c = (http_conn){.d = d, .fd = fd, .app_fd = -1, .next = d->conns};
    if (d->conns)
        d->conns->prev = c;
    d->conns = c;
    d->nconns++;
    pthread_mutex_unlock(&d->mu);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_t t;
    if (pthread_create(&t, &attr, conn_thread, c) != 0)
        conn_end(c);
    pthread_attr_destroy(&attr);
}

static void *listen_thread(void *arg)
{
    kn_httpd *d = arg;
    struct pollfd p[2] = {{.fd = d->listen_fd, .events = POLLIN},
                          {.fd = d->wake_fd, .events = POLLIN}};
    for (;;) {
        if (poll(p, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (p[1].revents)
            break;
        if (p[0].revents & POLLIN)
            accept_one(d);
    }
    return NULL;
}

/* ---- requests: the handler's view ---- */

static http_conn *req_conn(const kn_http_request *req)
{
    return req ? req->conn : NULL;
}

const char *kn_http_query(const kn_http_request *req, const char *key)
{
    http_conn *c = req_conn(req);
    for (size_t i = 0; c && i < c->nparams; i++)
        if (strcmp(c->params[i].key, key) == 0)
            return c->params[i].value;
    return NULL;
}

size_t kn_http_query_all(const kn_http_request *req, const char *key, const char **out, size_t max)
{
    http_conn *c = req_conn(req);
    size_t n = 0;
    for (size_t i = 0; c && i < c->nparams; i++) {
        if (strcmp(c->params[i].key, key) != 0)
            continue;
        if (n < max)
            out[n] = c->params[i].value;
        n++;
    }
    return n;
}

const char *kn_http_header(const kn_http_request *req, const char *name)
{
    http_conn *c = req_conn(req);
    return c ? kn_http_head_get(&c->head, name) : NULL;
}

void kn_http_headers_each(const kn_http_request *req, kn_http_header_fn fn, void *arg)
{
    http_conn *c = req_conn(req);
    for (size_t i = 0; c && i < c->head.nfields; i++)
        fn(arg, c->head.fields[i].name, c->head.fields[i].value);
}

bool kn_http_is_upgrade(const kn_http_request *req)
{
    const char *up = kn_http_header(req, "Upgrade");
    return up && *up && kn_http_has_token(kn_http_header(req, "Connection"), "upgrade");
}

void kn_http_respond(kn_http_response *resp, int status, const char *content_type, char *body)
{
    free(resp->body);
    free(resp->content_type);
    resp->status = status;
    resp->content_type = xstrdup(content_type ? content_type : "application/json");
    resp->body = body;
    resp->body_len = body ? strlen(body) : 0;
}

void kn_http_add_header(kn_http_response *resp, const char *name, const char *value)
{
    if (resp->nheaders >= sizeof(resp->headers) / sizeof(resp->headers[0]))
        return;
    resp->headers[resp->nheaders][0] = xstrdup(name);
    resp->headers[resp->nheaders][1] = xstrdup(value);
    resp->nheaders++;
}

int kn_http_peer_fd(const kn_http_request *req)
{
    http_conn *c = req_conn(req);
    return c ? c->fd : -1;
}

bool kn_http_peer_gone(int fd, int timeout_ms)
{
    if (fd < 0)
        return false;
    /* POLLRDHUP only: a peer that sends (a TLS alert) is not spinning us */
    struct pollfd p = {.fd = fd, .events = POLLRDHUP};
    return poll(&p, 1, timeout_ms) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL));
}

/* ---- the server ---- */

static int make_addr(const kn_httpd_opts *o, struct sockaddr_storage *ss, kn_error **err)
{
    if (o->addr) {
        *ss = *o->addr;
        return 0;
    }
    memset(ss, 0, sizeof(*ss));
    struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
    const char *a = o->bind_address ? o->bind_address : "";
    if (inet_pton(AF_INET, a, &in4->sin_addr) == 1) {
        in4->sin_family = AF_INET;
        in4->sin_port = htons((uint16_t)o->port);
    } else if (inet_pton(AF_INET6, a, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((uint16_t)o->port);
    } else {
        return kn_error_set(err, KN_EINVAL, "invalid bind address \"%s\"", a);
    }
    return 0;
}

static int addr_port(const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET6)
        return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
    return ntohs(((const struct sockaddr_in *)ss)->sin_port);
}

static int open_listener(kn_httpd *d, const kn_httpd_opts *o, kn_error **err)
{
    struct sockaddr_storage ss;
    if (make_addr(o, &ss, err) < 0)
        return -1;
    socklen_t len =
        ss.ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
    char shown[INET6_ADDRSTRLEN] = "?";
    inet_ntop(ss.ss_family,
              ss.ss_family == AF_INET6 ? (void *)&((struct sockaddr_in6 *)&ss)->sin6_addr
                                       : (void *)&((struct sockaddr_in *)&ss)->sin_addr,
              shown, sizeof(shown));
    d->listen_fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    if (d->listen_fd < 0 ||
        setsockopt(d->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
        bind(d->listen_fd, (struct sockaddr *)&ss, len) < 0 || listen(d->listen_fd, 512) < 0)
        return kn_error_set(err, KN_EIO, "cannot listen on %s:%d: %s", shown, addr_port(&ss),
                            strerror(errno));
    len = sizeof(ss);
    getsockname(d->listen_fd, (struct sockaddr *)&ss, &len);
    d->port = addr_port(&ss);
    return 0;
}

static void httpd_free(kn_httpd *d)
{
    if (d->listen_fd >= 0)
        close(d->listen_fd);
    if (d->wake_fd >= 0)
        close(d->wake_fd);
    SSL_CTX_free(d->tls);
    pthread_mutex_destroy(&d->mu);
    pthread_cond_destroy(&d->idle);
    free(d);
}

int kn_httpd_start(const kn_httpd_opts *opts, kn_httpd **out, kn_error **err)
{
    kn_httpd *d = xcalloc(1, sizeof(*d));
    d->opts = *opts;
    /* only the start reads the address and the PEM texts (those end up in
     * d->tls): the caller's may go away afterwards */
    d->opts.addr = NULL;
    d->opts.cert_pem = d->opts.key_pem = d->opts.client_ca_pem = NULL;
    d->listen_fd = d->wake_fd = -1;
    pthread_mutex_init(&d->mu, NULL);
    pthread_cond_init(&d->idle, NULL);
    if (tls_setup(d, opts, err) < 0 || open_listener(d, opts, err) < 0) {
        httpd_free(d);
        return -1;
    }
    d->wake_fd = eventfd(0, EFD_CLOEXEC);
    if (d->wake_fd < 0 || pthread_create(&d->listener, NULL, listen_thread, d) != 0) {
        httpd_free(d);
        return kn_error_set(err, KN_EIO, "cannot start the HTTP server: %s", strerror(errno));
    }
    *out = d;
    return 0;
}

int kn_httpd_port(const kn_httpd *d)
{
    return d->port;
}

void kn_httpd_stop(kn_httpd *d)
{
    if (!d)
        return;
    uint64_t one = 1;
    if (write(d->wake_fd, &one, sizeof(one)) < 0)
        KN_WARN(COMPONENT, "cannot wake the listener: %s", strerror(errno));
    pthread_join(d->listener, NULL);
    pthread_mutex_lock(&d->mu);
    d->stopping = true;
    for (http_conn *c = d->conns; c; c = c->next) {
        shutdown(c->fd, SHUT_RDWR);
        if (c->app_fd >= 0)
            shutdown(c->app_fd, SHUT_RDWR);
    }
    while (d->nconns)
        pthread_cond_wait(&d->idle, &d->mu);
    pthread_mutex_unlock(&d->mu);
    httpd_free(d);
}

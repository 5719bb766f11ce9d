/* httpd.c - libmicrohttpd glue: request accumulation, TLS client
 * certificates, responses and chunked streams. */
#include "controlplane/httpd.h"

#include <arpa/inet.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "lib/log.h"
#include "lib/xalloc.h"

typedef struct upgrade_run upgrade_run;

struct kn_httpd {
    struct MHD_Daemon *mhd;
    kn_httpd_opts opts;
    int port;
    pthread_mutex_t mu; /* guards the upgraded connections */
    pthread_cond_t idle;
    upgrade_run *active;
    bool stopping;
};

/* One upgraded connection: queued with the 101, then run in a thread. */
struct upgrade_run {
    kn_httpd *d;
    kn_http_upgrade_fn fn;
    void *ctx;
    void (*free_fn)(void *ctx);
    struct MHD_UpgradeResponseHandle *urh;
    kn_http_upgraded u;
    upgrade_run *next;
};

const char *kn_http_query(const kn_http_request *req, const char *key)
{
    return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, key);
}

const char *kn_http_header(const kn_http_request *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

typedef struct header_iter {
    kn_http_header_fn fn;
    void *arg;
} header_iter;

static enum MHD_Result header_visit(void *cls, enum MHD_ValueKind kind, const char *key,
                                    const char *value)
{
    (void)kind;
    header_iter *it = cls;
    it->fn(it->arg, key, value ? value : "");
    return MHD_YES;
}

void kn_http_headers_each(const kn_http_request *req, kn_http_header_fn fn, void *arg)
{
    header_iter it = {fn, arg};
    MHD_get_connection_values(req->conn, MHD_HEADER_KIND, header_visit, &it);
}

typedef struct query_iter {
    const char *key;
    const char **out;
    size_t max, n;
} query_iter;

static enum MHD_Result query_visit(void *cls, enum MHD_ValueKind kind, const char *key,
                                   const char *value)
{
    (void)kind;
    query_iter *q = cls;
    if (strcmp(key, q->key) != 0)
        return MHD_YES;
    if (q->n < q->max)
        q->out[q->n] = value ? value : "";
    q->n++;
    return MHD_YES;
}

size_t kn_http_query_all(const kn_http_request *req, const char *key, const char **out, size_t max)
{
    query_iter q = {key, out, max, 0};
    MHD_get_connection_values(req->conn, MHD_GET_ARGUMENT_KIND, query_visit, &q);
    return q.n;
}

/* True when the comma-separated list holds token (case-insensitive). */
static bool has_token(const char *list, const char *token)
{
    size_t n = strlen(token);
    for (const char *p = list; p && *p;) {
        p += strspn(p, " \t,");
        size_t len = strcspn(p, ",");
        while (len && (p[len - 1] == ' ' || p[len - 1] == '\t'))
            len--;
        if (len == n && strncasecmp(p, token, n) == 0)
            return true;
        p += strcspn(p, ",");
    }
    return false;
}

bool kn_http_is_upgrade(const kn_http_request *req)
{
    const char *up = kn_http_header(req, "Upgrade");
    return up && *up && has_token(kn_http_header(req, "Connection"), "upgrade");
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

static void response_free(kn_http_response *resp)
{
    free(resp->body);
    free(resp->content_type);
    for (size_t i = 0; i < resp->nheaders; i++) {
        free(resp->headers[i][0]);
        free(resp->headers[i][1]);
    }
    if (resp->upgrade_free)
        resp->upgrade_free(resp->upgrade_ctx);
}

/* Copies the attribute values of one kind (CN or O) from a DN. */
static void dn_values(gnutls_x509_crt_t crt, const char *oid, char *first, size_t size,
                      char (*many)[128], size_t *n, size_t max)
{
    for (unsigned idx = 0;; idx++) {
        char buf[256];
        size_t len = sizeof(buf);
        if (gnutls_x509_crt_get_dn_by_oid(crt, oid, idx, 0, buf, &len) < 0)
            break;
        if (first && idx == 0)
            snprintf(first, size, "%s", buf);
        if (many && *n < max)
            snprintf(many[(*n)++], 128, "%.127s", buf);
    }
}

/* Fills req->cert from the TLS session when a client cert verified. */
static void read_client_cert(struct MHD_Connection *conn, kn_http_cert *cert)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
    if (!ci || !ci->tls_session)
        return;
    gnutls_session_t session = (gnutls_session_t)ci->tls_session;
    unsigned status = 0;
    unsigned n = 0;
    const gnutls_datum_t *peers = gnutls_certificate_get_peers(session, &n);
    if (!peers || n == 0 || gnutls_certificate_verify_peers2(session, &status) < 0 || status)
        return;
    gnutls_x509_crt_t crt;
    if (gnutls_x509_crt_init(&crt) < 0)
        return;
    if (gnutls_x509_crt_import(crt, &peers[0], GNUTLS_X509_FMT_DER) == 0) {
        dn_values(crt, GNUTLS_OID_X520_COMMON_NAME, cert->cn, sizeof(cert->cn), NULL, NULL, 0);
        dn_values(crt, GNUTLS_OID_X520_ORGANIZATION_NAME, NULL, 0, cert->orgs, &cert->norgs, 8);
        cert->verified = cert->cn[0] != '\0';
    }
    gnutls_x509_crt_deinit(crt);
}

typedef struct stream_state {
    kn_http_stream_fn fn;
    void *ctx;
    void (*free_fn)(void *);
} stream_state;

static ssize_t stream_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    stream_state *st = cls;
    ssize_t n = st->fn(st->ctx, buf, max);
    return n > 0 ? n : MHD_CONTENT_READER_END_OF_STREAM;
}

static void stream_done(void *cls)
{
    stream_state *st = cls;
    if (st->free_fn)
        st->free_fn(st->ctx);
    free(st);
}

/* ---- upgraded connections ---- */

static void run_free(upgrade_run *run)
{
    if (run->free_fn)
        run->free_fn(run->ctx);
    free((char *)run->u.head);
    free(run);
}

static void *upgrade_thread(void *arg)
{
    upgrade_run *run = arg;
    kn_httpd *d = run->d;
    run->fn(run->ctx, &run->u);
    MHD_upgrade_action(run->urh, MHD_UPGRADE_ACTION_CLOSE);
    pthread_mutex_lock(&d->mu);
    for (upgrade_run **p = &d->active; *p; p = &(*p)->next) {
        if (*p == run) {
            *p = run->next;
            break;
        }
    }
    pthread_cond_broadcast(&d->idle);
    pthread_mutex_unlock(&d->mu);
    run_free(run);
    return NULL;
}

static void on_upgrade(void *cls, struct MHD_Connection *conn, void *con_cls, const char *extra_in,
                       size_t extra_in_size, MHD_socket sock, struct MHD_UpgradeResponseHandle *urh)
{
    (void)conn;
    (void)cls;
    kn_http_request *req = con_cls;
    upgrade_run *run = req->upgrade;
    req->upgrade = NULL;
    run->urh = urh;
    run->u.fd = sock;
    if (extra_in_size) {
        char *head = xmalloc(extra_in_size);
        memcpy(head, extra_in, extra_in_size);
        run->u.head = head;
    }
    run->u.head_len = extra_in_size;
    kn_httpd *d = run->d;
    pthread_mutex_lock(&d->mu);
    if (d->stopping)
        shutdown(sock, SHUT_RDWR);
    run->next = d->active;
    d->active = run;
    pthread_t t;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&t, &attr, upgrade_thread, run) != 0) {
        d->active = run->next;
        MHD_upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);
        run_free(run);
    }
    pthread_attr_destroy(&attr);
    pthread_mutex_unlock(&d->mu);
}

/* The 101 response; the upgrade moves from resp into req until it runs. */
static struct MHD_Response *upgrade_response(kn_httpd *d, kn_http_request *req,
                                             kn_http_response *resp)
{
    upgrade_run *run = xcalloc(1, sizeof(*run));
    *run = (upgrade_run){
        .d = d, .fn = resp->upgrade, .ctx = resp->upgrade_ctx, .free_fn = resp->upgrade_free};
    resp->upgrade_free = NULL;
    struct MHD_Response *r = MHD_create_response_for_upgrade(on_upgrade, run);
    if (!r) {
        run_free(run);
        return NULL;
    }
    req->upgrade = run;
    return r;
}

static enum MHD_Result send_response(kn_httpd *d, kn_http_request *req, struct MHD_Connection *conn,
                                     kn_http_response *resp)
{
    struct MHD_Response *r;
    bool upgrade = resp->upgrade && resp->status == 101;
    if (upgrade) {
        r = upgrade_response(d, req, resp);
    } else if (resp->stream) {
        stream_state *st = xcalloc(1, sizeof(*st));
        *st = (stream_state){resp->stream, resp->stream_ctx, resp->stream_free};
        r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16384, stream_reader, st,
                                              stream_done);
    } else {
        r = MHD_create_response_from_buffer(resp->body_len, resp->body ? resp->body : "",
                                            MHD_RESPMEM_MUST_COPY);
    }
    if (!r)
        return MHD_NO;
    if (!upgrade) {
        MHD_add_response_header(r, "Content-Type",
                                resp->content_type ? resp->content_type : "application/json");
        MHD_add_response_header(r, "Cache-Control", "no-cache, private");
    }
    for (size_t i = 0; i < resp->nheaders; i++)
        MHD_add_response_header(r, resp->headers[i][0], resp->headers[i][1]);
    enum MHD_Result ret = MHD_queue_response(conn, (unsigned)resp->status, r);
    MHD_destroy_response(r);
    return ret;
}

static const char too_large_body[] =
    "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\","
    "\"message\":\"the request body is too large\",\"reason\":\"RequestEntityTooLarge\","
    "\"code\":413}";

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_size, void **con_cls)
{
    (void)version;
    kn_httpd *d = cls;
    kn_http_request *req = *con_cls;
    if (!req) {
        req = xcalloc(1, sizeof(*req));
        kn_buf_init(&req->body);
        *con_cls = req;
        return MHD_YES;
    }
    if (*upload_size) {
        if (req->body.len + *upload_size > d->opts.max_body)
            req->body_too_large = true;
        else
            kn_buf_append(&req->body, upload_data, *upload_size);
        *upload_size = 0;
        return MHD_YES;
    }
    kn_http_response resp = {.status = 500};
    if (req->body_too_large) {
        kn_http_respond(&resp, 413, NULL, xstrdup(too_large_body));
    } else {
        req->conn = conn;
        req->method = method;
        req->path = url;
        read_client_cert(conn, &req->cert);
        d->opts.handler(d->opts.userdata, req, &resp);
    }
    enum MHD_Result r = send_response(d, req, conn, &resp);
    response_free(&resp);
    return r;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    (void)toe;
    kn_http_request *req = *con_cls;
    if (!req)
        return;
    if (req->upgrade)
        run_free(req->upgrade); /* the 101 never went out */
    kn_buf_free(&req->body);
    free(req);
    *con_cls = NULL;
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    kn_log_msgv(KN_LOG_WARNING, "httpd", fmt, ap);
}

static int make_addr(const char *addr, int port, struct sockaddr_storage *ss, unsigned *flags)
{
    memset(ss, 0, sizeof(*ss));
    struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, addr, &in4->sin_addr) == 1) {
        in4->sin_family = AF_INET;
        in4->sin_port = htons((uint16_t)port);
        return 0;
    }
    if (inet_pton(AF_INET6, addr, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((uint16_t)port);
        *flags |= MHD_USE_IPv6;
        return 0;
    }
    return -1;
}

int kn_httpd_start(const kn_httpd_opts *opts, kn_httpd **out, kn_error **err)
{
    struct sockaddr_storage ss;
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_TLS |
                     MHD_USE_ERROR_LOG | MHD_USE_POLL | MHD_ALLOW_UPGRADE;
    if (make_addr(opts->bind_address, opts->port, &ss, &flags) < 0)
        return kn_error_set(err, KN_EINVAL, "invalid bind address \"%s\"", opts->bind_address);
    kn_httpd *d = xcalloc(1, sizeof(*d));
    d->opts = *opts;
    pthread_mutex_init(&d->mu, NULL);
    pthread_cond_init(&d->idle, NULL);
    d->mhd = MHD_start_daemon(
        flags, (uint16_t)opts->port, NULL, NULL, on_request, d, MHD_OPTION_SOCK_ADDR,
        (struct sockaddr *)&ss, MHD_OPTION_HTTPS_MEM_KEY, opts->key_pem, MHD_OPTION_HTTPS_MEM_CERT,
        opts->cert_pem, MHD_OPTION_HTTPS_MEM_TRUST,
        opts->client_ca_pem ? opts->client_ca_pem : NULL, MHD_OPTION_NOTIFY_COMPLETED, on_completed,
        NULL, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, NULL, MHD_OPTION_LISTEN_BACKLOG_SIZE, 512,
        MHD_OPTION_END);
    if (!d->mhd) {
        pthread_mutex_destroy(&d->mu);
        pthread_cond_destroy(&d->idle);
        free(d);
        return kn_error_set(err, KN_EIO,
                            "cannot listen on %s:%d (address in use, or bad "
                            "certificate)",
                            opts->bind_address, opts->port);
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d->mhd, MHD_DAEMON_INFO_BIND_PORT);
    d->port = info ? info->port : opts->port;
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
    pthread_mutex_lock(&d->mu);
    d->stopping = true;
    for (upgrade_run *run = d->active; run; run = run->next)
        shutdown(run->u.fd, SHUT_RDWR);
    while (d->active)
        pthread_cond_wait(&d->idle, &d->mu);
    pthread_mutex_unlock(&d->mu);
    MHD_stop_daemon(d->mhd);
    pthread_mutex_destroy(&d->mu);
    pthread_cond_destroy(&d->idle);
    free(d);
}

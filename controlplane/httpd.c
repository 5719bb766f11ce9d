/* httpd.c - libmicrohttpd glue: request accumulation, TLS client
 * certificates, responses and chunked streams. */
#include "controlplane/httpd.h"

#include <arpa/inet.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/log.h"
#include "lib/xalloc.h"

struct kn_httpd {
    struct MHD_Daemon *mhd;
    kn_httpd_opts opts;
    int port;
};

const char *kn_http_query(const kn_http_request *req, const char *key)
{
    return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, key);
}

const char *kn_http_header(const kn_http_request *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
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
    if (resp->nheaders >= 8)
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

static enum MHD_Result send_response(struct MHD_Connection *conn, kn_http_response *resp)
{
    struct MHD_Response *r;
    if (resp->stream) {
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
    MHD_add_response_header(r, "Content-Type",
                            resp->content_type ? resp->content_type : "application/json");
    MHD_add_response_header(r, "Cache-Control", "no-cache, private");
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
    enum MHD_Result r = send_response(conn, &resp);
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
                     MHD_USE_ERROR_LOG | MHD_USE_POLL;
    if (make_addr(opts->bind_address, opts->port, &ss, &flags) < 0)
        return kn_error_set(err, KN_EINVAL, "invalid bind address \"%s\"", opts->bind_address);
    kn_httpd *d = xcalloc(1, sizeof(*d));
    d->opts = *opts;
    d->mhd = MHD_start_daemon(
        flags, (uint16_t)opts->port, NULL, NULL, on_request, d, MHD_OPTION_SOCK_ADDR,
        (struct sockaddr *)&ss, MHD_OPTION_HTTPS_MEM_KEY, opts->key_pem, MHD_OPTION_HTTPS_MEM_CERT,
        opts->cert_pem, MHD_OPTION_HTTPS_MEM_TRUST,
        opts->client_ca_pem ? opts->client_ca_pem : NULL, MHD_OPTION_NOTIFY_COMPLETED, on_completed,
        NULL, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, NULL, MHD_OPTION_LISTEN_BACKLOG_SIZE, 512,
        MHD_OPTION_END);
    if (!d->mhd) {
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
    MHD_stop_daemon(d->mhd);
    free(d);
}

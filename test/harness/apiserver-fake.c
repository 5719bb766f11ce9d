/* apiserver-fake.c - scripted Kubernetes API answers over loopback HTTPS.
 *
 * libmicrohttpd terminates TLS with GnuTLS. To check client certificates as
 * kube-apiserver does (verify against the CA, refuse expired ones), the
 * handler calls two GnuTLS functions on the connection's session; they are
 * looked up with dlsym because the test binaries do not link GnuTLS directly
 * (libmicrohttpd has loaded it). */
#include "test/harness/apiserver-fake.h"

#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <gnutls/gnutls.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include "lib/cleanup.h"
#include "lib/clock.h"
#include "lib/strbuf.h"
#include "lib/xalloc.h"

struct fa_stream {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int refs;
    kn_buf data;
    size_t sent;
    bool ended, cut, closed;
};

typedef struct expect {
    char *method, *path, *query_has, *header, *body;
    int status;
    fa_stream *stream;
    struct expect *next;
} expect;

struct fa_server {
    struct MHD_Daemon *d;
    char dir[512];
    char url[64];
    int port;
    char *token;
    bool anonymous;
    pthread_mutex_t lock;
    pthread_cond_t changed;
    expect *expects;
    fa_handler_fn handler;
    void *handler_ud;
    fa_request *reqs;
    size_t nreqs;
    bool stopping;
    char *ca_pem, *cert_pem, *key_pem;
};

/* ---- certificates ------------------------------------------------------------ */

enum cert_kind { CERT_CA, CERT_SERVER, CERT_CLIENT };

static void add_ext(X509 *crt, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, issuer ? issuer : crt, crt, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    if (!ext)
        abort();
    X509_add_ext(crt, ext, -1);
    X509_EXTENSION_free(ext);
}

static void add_exts(X509 *crt, X509 *issuer, enum cert_kind kind)
{
    add_ext(crt, issuer, NID_subject_key_identifier, "hash");
    if (issuer)
        add_ext(crt, issuer, NID_authority_key_identifier, "keyid:always");
    switch (kind) {
    case CERT_CA:
        add_ext(crt, issuer, NID_basic_constraints, "critical,CA:TRUE");
        add_ext(crt, issuer, NID_key_usage, "critical,keyCertSign,cRLSign,digitalSignature");
        break;
    case CERT_SERVER:
        add_ext(crt, issuer, NID_basic_constraints, "critical,CA:FALSE");
        add_ext(crt, issuer, NID_key_usage, "critical,digitalSignature,keyEncipherment");
        add_ext(crt, issuer, NID_ext_key_usage, "serverAuth");
        add_ext(crt, issuer, NID_subject_alt_name, "IP:127.0.0.1,DNS:localhost,DNS:kubernetes");
        break;
    case CERT_CLIENT:
        add_ext(crt, issuer, NID_basic_constraints, "critical,CA:FALSE");
        add_ext(crt, issuer, NID_key_usage, "critical,digitalSignature,keyEncipherment");
        add_ext(crt, issuer, NID_ext_key_usage, "clientAuth");
        break;
    }
}

/* A certificate for key, valid from now+from_s to now+to_s, signed by
 * issuer/issuer_key (self-signed when issuer is NULL). */
static X509 *make_cert(EVP_PKEY *key, const char *cn, const char *org, X509 *issuer,
                       EVP_PKEY *issuer_key, long from_s, long to_s, enum cert_kind kind)
{
    X509 *crt = X509_new();
    X509_set_version(crt, 2);
    unsigned char serial[8];
    RAND_bytes(serial, sizeof(serial));
    serial[0] &= 0x7f;
    BIGNUM *bn = BN_bin2bn(serial, sizeof(serial), NULL);
    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(crt));
    BN_free(bn);
    X509_gmtime_adj(X509_getm_notBefore(crt), from_s);
    X509_gmtime_adj(X509_getm_notAfter(crt), to_s);
    X509_NAME *name = X509_get_subject_name(crt);
    if (org)
        X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, (const unsigned char *)org, -1, -1, 0);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(crt, issuer ? X509_get_subject_name(issuer) : name);
    X509_set_pubkey(crt, key);
    add_exts(crt, issuer, kind);
    X509_sign(crt, issuer_key ? issuer_key : key, EVP_sha256());
    return crt;
}

static char *pem_of_cert(X509 *crt)
{
    BIO *b = BIO_new(BIO_s_mem());
    PEM_write_bio_X509(b, crt);
    char *p = NULL;
    long n = BIO_get_mem_data(b, &p);
    char *s = xstrndup(p, (size_t)n);
    BIO_free(b);
    return s;
}

static char *pem_of_key(EVP_PKEY *key)
{
    BIO *b = BIO_new(BIO_s_mem());
    PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL, NULL);
    char *p = NULL;
    long n = BIO_get_mem_data(b, &p);
    char *s = xstrndup(p, (size_t)n);
    BIO_free(b);
    return s;
}

static int write_pem(const char *dir, const char *name, const char *pem, kn_error **err)
{
    cleanup_free char *path = xasprintf("%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (!f)
        return kn_error_errno(err, errno, "write %s", path);
    fputs(pem, f);
    fclose(f);
    return 0;
}

/* Writes a certificate and key pair name.crt/name.key signed by the CA. */
static int write_pair(fa_server *s, const char *name, const char *cn, const char *org, X509 *ca,
                      EVP_PKEY *ca_key, long from_s, long to_s, enum cert_kind kind,
                      char **cert_out, char **key_out, kn_error **err)
{
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509 *crt = make_cert(key, cn, org, ca, ca_key, from_s, to_s, kind);
    cleanup_free char *cp = pem_of_cert(crt), *kp = pem_of_key(key);
    cleanup_free char *cn_crt = xasprintf("%s.crt", name), *cn_key = xasprintf("%s.key", name);
    X509_free(crt);
    EVP_PKEY_free(key);
    if (write_pem(s->dir, cn_crt, cp, err) < 0 || write_pem(s->dir, cn_key, kp, err) < 0)
        return -1;
    if (cert_out)
        *cert_out = kn_steal_ptr(cp);
    if (key_out)
        *key_out = kn_steal_ptr(kp);
    return 0;
}

static int make_pki(fa_server *s, kn_error **err)
{
    const long day = 86400;
    EVP_PKEY *ca_key = EVP_EC_gen("P-256");
    X509 *ca = make_cert(ca_key, "fake-apiserver-ca", NULL, NULL, NULL, -day, 30 * day, CERT_CA);
    s->ca_pem = pem_of_cert(ca);
    EVP_PKEY *other_key = EVP_EC_gen("P-256");
    X509 *other = make_cert(other_key, "unrelated-ca", NULL, NULL, NULL, -day, day, CERT_CA);
    cleanup_free char *other_pem = pem_of_cert(other);
    int r = write_pem(s->dir, "ca.crt", s->ca_pem, err);
    if (r == 0)
        r = write_pem(s->dir, "other-ca.crt", other_pem, err);
    if (r == 0)
        r = write_pair(s, "server", "kubernetes", NULL, ca, ca_key, -day, day, CERT_SERVER,
                       &s->cert_pem, &s->key_pem, err);
    if (r == 0)
        r = write_pair(s, "client", "system:node:test", "system:nodes", ca, ca_key, -day, day,
                       CERT_CLIENT, NULL, NULL, err);
    if (r == 0)
        r = write_pair(s, "expired", "system:node:old", "system:nodes", ca, ca_key, -2 * day, -day,
                       CERT_CLIENT, NULL, NULL, err);
    X509_free(ca);
    X509_free(other);
    EVP_PKEY_free(ca_key);
    EVP_PKEY_free(other_key);
    return r;
}

/* ---- streams -------------------------------------------------------------------- */

fa_stream *fa_stream_new(void)
{
    fa_stream *st = xcalloc(1, sizeof(*st));
    pthread_mutex_init(&st->lock, NULL);
    kn_cond_init(&st->cond);
    kn_buf_init(&st->data);
    st->refs = 1;
    return st;
}

static fa_stream *stream_ref(fa_stream *st)
{
    pthread_mutex_lock(&st->lock);
    st->refs++;
    pthread_mutex_unlock(&st->lock);
    return st;
}

void fa_stream_unref(fa_stream *st)
{
    if (!st)
        return;
    pthread_mutex_lock(&st->lock);
    bool last = --st->refs == 0;
    pthread_mutex_unlock(&st->lock);
    if (!last)
        return;
    kn_buf_free(&st->data);
    pthread_mutex_destroy(&st->lock);
    pthread_cond_destroy(&st->cond);
    free(st);
}

void fa_stream_write(fa_stream *st, const char *data, size_t len)
{
    pthread_mutex_lock(&st->lock);
    kn_buf_append(&st->data, data, len);
    pthread_cond_broadcast(&st->cond);
    pthread_mutex_unlock(&st->lock);
}

void fa_stream_printf(fa_stream *st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    cleanup_free char *s = xvasprintf(fmt, ap);
    va_end(ap);
    fa_stream_write(st, s, strlen(s));
}

static void stream_finish(fa_stream *st, bool cut)
{
    pthread_mutex_lock(&st->lock);
    st->ended = true;
    st->cut = cut;
    pthread_cond_broadcast(&st->cond);
    pthread_mutex_unlock(&st->lock);
}

void fa_stream_end(fa_stream *st)
{
    stream_finish(st, false);
}

void fa_stream_cut(fa_stream *st)
{
    stream_finish(st, true);
}

bool fa_stream_drained(fa_stream *st)
{
    pthread_mutex_lock(&st->lock);
    bool r = st->sent == st->data.len;
    pthread_mutex_unlock(&st->lock);
    return r;
}

bool fa_stream_closed(fa_stream *st)
{
    pthread_mutex_lock(&st->lock);
    bool r = st->closed;
    pthread_mutex_unlock(&st->lock);
    return r;
}

typedef struct serving {
    fa_server *srv;
    fa_stream *st;
} serving;

static ssize_t stream_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
    serving *sv = cls;
    fa_stream *st = sv->st;
    pthread_mutex_lock(&st->lock);
    for (;;) {
        if (pos < st->data.len) {
            size_t n = st->data.len - pos < max ? st->data.len - pos : max;
            memcpy(buf, st->data.data + pos, n);
            st->sent = pos + n;
            pthread_mutex_unlock(&st->lock);
            return (ssize_t)n;
        }
        st->sent = pos;
        if (st->ended) {
            bool cut = st->cut;
            pthread_mutex_unlock(&st->lock);
            return cut ? MHD_CONTENT_READER_END_WITH_ERROR : MHD_CONTENT_READER_END_OF_STREAM;
        }
        pthread_mutex_lock(&sv->srv->lock);
        bool stopping = sv->srv->stopping;
        pthread_mutex_unlock(&sv->srv->lock);
        if (stopping) {
            pthread_mutex_unlock(&st->lock);
            return MHD_CONTENT_READER_END_WITH_ERROR;
        }
        kn_clock_wait_until(NULL, &st->cond, &st->lock,
                            kn_time_monotonic_ns() + 50 * INT64_C(1000000));
    }
}

static void stream_done(void *cls)
{
    serving *sv = cls;
    pthread_mutex_lock(&sv->st->lock);
    sv->st->closed = true;
    pthread_mutex_unlock(&sv->st->lock);
    fa_stream_unref(sv->st);
    free(sv);
}

/* ---- requests --------------------------------------------------------------------- */

typedef struct conn_ctx {
    kn_buf body;
} conn_ctx;

static enum MHD_Result collect_kv(void *cls, enum MHD_ValueKind kind, const char *key,
                                  const char *value)
{
    kn_buf *b = cls;
    if (kind == MHD_HEADER_KIND) {
        kn_buf_appendf(b, "%s: %s\n", key, value ? value : "");
    } else {
        kn_buf_appendf(b, "%s%s%s%s", b->len ? "&" : "", key, value ? "=" : "", value ? value : "");
    }
    return MHD_YES;
}

static void record_fill(struct MHD_Connection *c, const char *method, const char *url,
                        conn_ctx *ctx, fa_request *r)
{
    kn_buf q = KN_BUF_INIT, h = KN_BUF_INIT;
    MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, collect_kv, &q);
    MHD_get_connection_values(c, MHD_HEADER_KIND, collect_kv, &h);
    r->method = xstrdup(method);
    r->path = xstrdup(url);
    r->query = kn_buf_steal(&q);
    r->headers = kn_buf_steal(&h);
    r->body_len = ctx->body.len;
    r->body = xstrndup(ctx->body.data, ctx->body.len);
    r->at_ns = kn_time_monotonic_ns();
}

static char *dup_or_null(const char *s)
{
    return s ? xstrdup(s) : NULL;
}

static void request_copy(const fa_request *in, fa_request *out)
{
    out->method = xstrdup(in->method);
    out->path = xstrdup(in->path);
    out->query = xstrdup(in->query);
    out->headers = xstrdup(in->headers);
    out->body = xmalloc(in->body_len + 1);
    memcpy(out->body, in->body, in->body_len + 1);
    out->body_len = in->body_len;
    out->user = dup_or_null(in->user);
    out->at_ns = in->at_ns;
    out->status = in->status;
}

void fa_request_clear(fa_request *r)
{
    free(r->method);
    free(r->path);
    free(r->query);
    free(r->headers);
    free(r->body);
    free(r->user);
    memset(r, 0, sizeof(*r));
}

char *fa_request_header(const fa_request *r, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = r->headers; *p;) {
        const char *eol = strchr(p, '\n');
        if (!eol)
            break;
        if (strncasecmp(p, name, n) == 0 && p[n] == ':')
            return xstrndup(p + n + 2, (size_t)(eol - p - n - 2));
        p = eol + 1;
    }
    return NULL;
}

/* ---- authentication ------------------------------------------------------------------ */

typedef __typeof__(gnutls_certificate_verify_peers2) verify_fn;
typedef __typeof__(gnutls_certificate_get_peers) peers_fn;

static char *cert_cn(const gnutls_datum_t *der)
{
    const unsigned char *p = der->data;
    X509 *crt = d2i_X509(NULL, &p, (long)der->size);
    if (!crt)
        return NULL;
    char cn[256] = "";
    X509_NAME_get_text_by_NID(X509_get_subject_name(crt), NID_commonName, cn, sizeof(cn));
    X509_free(crt);
    return xstrdup(cn);
}

/* Returns 1 with *user set, 0 when no certificate was sent, -1 when one was
 * sent and does not verify. */
static int client_cert_user(struct MHD_Connection *c, char **user, char **why)
{
    static verify_fn *verify;
    static peers_fn *peers;
    if (!verify) {
        verify = (verify_fn *)dlsym(RTLD_DEFAULT, "gnutls_certificate_verify_peers2");
        peers = (peers_fn *)dlsym(RTLD_DEFAULT, "gnutls_certificate_get_peers");
    }
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_GNUTLS_SESSION);
    if (!verify || !peers || !ci || !ci->tls_session)
        return 0;
    gnutls_session_t sess = (gnutls_session_t)ci->tls_session;
    unsigned n = 0;
    const gnutls_datum_t *list = peers(sess, &n);
    if (!list || n == 0)
        return 0;
    unsigned status = 0;
    if (verify(sess, &status) < 0 || status != 0) {
        *why = xstrdup((status & GNUTLS_CERT_EXPIRED) ? "x509: certificate has expired or is "
                                                        "not yet valid"
                                                      : "x509: certificate signed by unknown "
                                                        "authority");
        return -1;
    }
    *user = cert_cn(&list[0]);
    return 1;
}

/* kube-apiserver's order: a client certificate, then a bearer token. */
static int authenticate(fa_server *s, struct MHD_Connection *c, char **user, char **why)
{
    int r = client_cert_user(c, user, why);
    if (r != 0)
        return r;
    const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    if (auth && strncmp(auth, "Bearer ", 7) == 0) {
        if (s->token && strcmp(auth + 7, s->token) == 0) {
            *user = xstrdup("token");
            return 1;
        }
        *why = xstrdup("invalid bearer token");
        return -1;
    }
    if (s->anonymous) {
        *user = xstrdup("system:anonymous");
        return 1;
    }
    *why = xstrdup("no credentials");
    return -1;
}

/* ---- replies ------------------------------------------------------------------------- */

char *fa_status_json(int code, const char *reason, const char *message)
{
    return xasprintf("{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":"
                     "\"Failure\",\"message\":\"%s\",\"reason\":\"%s\",\"code\":%d}\n",
                     message, reason, code);
}

static bool expect_matches(const expect *e, const fa_request *r)
{
    return strcmp(e->method, r->method) == 0 && strcmp(e->path, r->path) == 0 &&
           (!e->query_has || strstr(r->query, e->query_has));
}

/* Takes the first queued reply matching r, or NULL; s->lock held. */
static expect *take_expect(fa_server *s, const fa_request *r)
{
    for (expect **pp = &s->expects; *pp; pp = &(*pp)->next) {
        if (expect_matches(*pp, r)) {
            expect *e = *pp;
            *pp = e->next;
            return e;
        }
    }
    return NULL;
}

static void expect_free(expect *e)
{
    free(e->method);
    free(e->path);
    free(e->query_has);
    free(e->header);
    free(e->body);
    if (e->stream)
        fa_stream_unref(e->stream);
    free(e);
}

static void add_header_line(struct MHD_Response *resp, const char *line)
{
    const char *colon = line ? strchr(line, ':') : NULL;
    if (!colon)
        return;
    cleanup_free char *name = xstrndup(line, (size_t)(colon - line));
    const char *v = colon + 1;
    while (*v == ' ')
        v++;
    MHD_add_response_header(resp, name, v);
}

static enum MHD_Result send_reply(fa_server *s, struct MHD_Connection *c, const fa_reply *rp)
{
    struct MHD_Response *resp;
    if (rp->stream) {
        serving *sv = xcalloc(1, sizeof(*sv));
        sv->srv = s;
        sv->st = stream_ref(rp->stream);
        resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16 * 1024, stream_reader, sv,
                                                 stream_done);
    } else {
        const char *body = rp->body_owned ? rp->body_owned : (rp->body ? rp->body : "");
        size_t len = rp->body_len ? rp->body_len : strlen(body);
        resp = MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
    }
    MHD_add_response_header(resp, "Content-Type",
                            rp->content_type ? rp->content_type : "application/json");
    add_header_line(resp, rp->header);
    enum MHD_Result r = MHD_queue_response(c, (unsigned)(rp->status ? rp->status : 200), resp);
    MHD_destroy_response(resp);
    return r;
}

static void record(fa_server *s, const fa_request *r)
{
    pthread_mutex_lock(&s->lock);
    s->reqs = xreallocarray(s->reqs, s->nreqs + 1, sizeof(*s->reqs));
    s->reqs[s->nreqs++] = *r;
    pthread_cond_broadcast(&s->changed);
    pthread_mutex_unlock(&s->lock);
}

static enum MHD_Result serve(fa_server *s, struct MHD_Connection *c, fa_request *r)
{
    cleanup_free char *why = NULL;
    if (authenticate(s, c, &r->user, &why) < 0) {
        cleanup_free char *body = fa_status_json(401, "Unauthorized", why);
        r->status = 401;
        fa_request copy;
        request_copy(r, &copy);
        record(s, &copy);
        return send_reply(s, c, &(fa_reply){.status = 401, .body = body});
    }
    pthread_mutex_lock(&s->lock);
    expect *e = take_expect(s, r);
    fa_handler_fn fn = s->handler;
    void *ud = s->handler_ud;
    pthread_mutex_unlock(&s->lock);
    fa_reply rp = {0};
    cleanup_free char *notfound = NULL;
    if (e)
        rp = (fa_reply){e->status, NULL, e->header, e->body, 0, NULL, e->stream};
    else if (fn)
        fn(s, r, &rp, ud);
    else {
        notfound = fa_status_json(404, "NotFound",
                                  "the server could not find the requested "
                                  "resource");
        rp = (fa_reply){.status = 404, .body = notfound};
    }
    r->status = rp.status ? rp.status : 200;
    fa_request copy;
    request_copy(r, &copy);
    record(s, &copy);
    enum MHD_Result res = send_reply(s, c, &rp);
    if (e)
        expect_free(e);
    else if (fn) {
        free(rp.body_owned);
        fa_stream_unref(rp.stream);
    }
    return res;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    fa_server *s = cls;
    conn_ctx *ctx = *con_cls;
    if (!ctx) {
        ctx = xcalloc(1, sizeof(*ctx));
        kn_buf_init(&ctx->body);
        *con_cls = ctx;
        return MHD_YES;
    }
    if (*upload_data_size) {
        kn_buf_append(&ctx->body, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return MHD_YES;
    }
    fa_request r = {0};
    record_fill(c, method, url, ctx, &r);
    enum MHD_Result res = serve(s, c, &r);
    fa_request_clear(&r);
    return res;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    conn_ctx *ctx = *con_cls;
    if (!ctx)
        return;
    kn_buf_free(&ctx->body);
    free(ctx);
    *con_cls = NULL;
}

/* ---- server --------------------------------------------------------------------------- */

static int start_daemon(fa_server *s, kn_error **err)
{
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = 0};
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    s->d = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
                                MHD_USE_TLS | MHD_USE_ERROR_LOG,
                            0, NULL, NULL, on_request, s, MHD_OPTION_SOCK_ADDR, &sin,
                            MHD_OPTION_HTTPS_MEM_KEY, s->key_pem, MHD_OPTION_HTTPS_MEM_CERT,
                            s->cert_pem, MHD_OPTION_HTTPS_MEM_TRUST, s->ca_pem,
                            MHD_OPTION_NOTIFY_COMPLETED, on_completed, s, MHD_OPTION_END);
    if (!s->d)
        return kn_error_set(err, KN_EIO, "fake apiserver: MHD_start_daemon failed");
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
    s->port = di ? di->port : 0;
    snprintf(s->url, sizeof(s->url), "https://127.0.0.1:%d", s->port);
    return 0;
}

int fa_start(const char *dir, const fa_options *opts, fa_server **out, kn_error **err)
{
    fa_server *s = xcalloc(1, sizeof(*s));
    snprintf(s->dir, sizeof(s->dir), "%s", dir);
    mkdir(dir, 0700);
    pthread_mutex_init(&s->lock, NULL);
    kn_cond_init(&s->changed);
    if (opts) {
        s->token = dup_or_null(opts->token);
        s->anonymous = opts->anonymous;
    }
    if (make_pki(s, err) < 0 || start_daemon(s, err) < 0) {
        fa_stop(s);
        return -1;
    }
    *out = s;
    return 0;
}

void fa_stop(fa_server *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->lock);
    s->stopping = true;
    pthread_mutex_unlock(&s->lock);
    if (s->d)
        MHD_stop_daemon(s->d);
    while (s->expects) {
        expect *e = s->expects;
        s->expects = e->next;
        expect_free(e);
    }
    for (size_t i = 0; i < s->nreqs; i++)
        fa_request_clear(&s->reqs[i]);
    free(s->reqs);
    free(s->token);
    free(s->ca_pem);
    free(s->cert_pem);
    free(s->key_pem);
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->changed);
    free(s);
}

const char *fa_url(const fa_server *s)
{
    return s->url;
}

int fa_port(const fa_server *s)
{
    return s->port;
}

const char *fa_dir(const fa_server *s)
{
    return s->dir;
}

static void push_expect(fa_server *s, expect *e)
{
    pthread_mutex_lock(&s->lock);
    expect **pp = &s->expects;
    while (*pp)
        pp = &(*pp)->next;
    *pp = e;
    pthread_mutex_unlock(&s->lock);
}

void fa_expect(fa_server *s, const char *method, const char *path, const char *query_has,
               int status, const char *header, const char *body)
{
    expect *e = xcalloc(1, sizeof(*e));
    e->method = xstrdup(method);
    e->path = xstrdup(path);
    e->query_has = dup_or_null(query_has);
    e->status = status;
    e->header = dup_or_null(header);
    e->body = dup_or_null(body);
    push_expect(s, e);
}

void fa_expect_stream(fa_server *s, const char *method, const char *path, const char *query_has,
                      fa_stream *st)
{
    expect *e = xcalloc(1, sizeof(*e));
    e->method = xstrdup(method);
    e->path = xstrdup(path);
    e->query_has = dup_or_null(query_has);
    e->status = 200;
    e->stream = stream_ref(st);
    push_expect(s, e);
}

void fa_set_handler(fa_server *s, fa_handler_fn fn, void *ud)
{
    pthread_mutex_lock(&s->lock);
    s->handler = fn;
    s->handler_ud = ud;
    pthread_mutex_unlock(&s->lock);
}

size_t fa_pending(fa_server *s)
{
    pthread_mutex_lock(&s->lock);
    size_t n = 0;
    for (expect *e = s->expects; e; e = e->next)
        n++;
    pthread_mutex_unlock(&s->lock);
    return n;
}

size_t fa_request_count(fa_server *s)
{
    pthread_mutex_lock(&s->lock);
    size_t n = s->nreqs;
    pthread_mutex_unlock(&s->lock);
    return n;
}

void fa_request_get(fa_server *s, size_t i, fa_request *out)
{
    pthread_mutex_lock(&s->lock);
    memset(out, 0, sizeof(*out));
    if (i < s->nreqs)
        request_copy(&s->reqs[i], out);
    pthread_mutex_unlock(&s->lock);
}

size_t fa_wait_requests(fa_server *s, size_t n, int timeout_ms)
{
    int64_t deadline = kn_time_monotonic_ns() + (int64_t)timeout_ms * 1000000;
    pthread_mutex_lock(&s->lock);
    while (s->nreqs < n && kn_time_monotonic_ns() < deadline)
        kn_clock_wait_until(NULL, &s->changed, &s->lock, deadline);
    size_t got = s->nreqs;
    pthread_mutex_unlock(&s->lock);
    return got;
}

/* ---- simulated collection ---------------------------------------------------------------- */

typedef struct store_obj {
    char *ns, *name, *json; /* json: the whole object */
} store_obj;

typedef struct store_event {
    int64_t rev;
    char *line; /* one watch event, newline-terminated */
} store_event;

struct fa_store {
    fa_server *srv;
    char *path, *kind;
    pthread_mutex_t lock;
    int64_t rev, compacted;
    store_obj *objs;
    size_t nobjs;
    store_event *hist;
    size_t nhist;
    fa_stream **watchers;
    size_t nwatchers;
    bool hold;
};

static char *obj_json(fa_store *st, const char *ns, const char *name, const char *spec)
{
    return xasprintf("{\"kind\":\"%s\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"%s\","
                     "\"namespace\":\"%s\",\"uid\":\"uid-%s-%s\",\"resourceVersion\":\"%lld\"},"
                     "\"spec\":%s}",
                     st->kind, name, ns, ns, name, (long long)st->rev, spec);
}

/* Records and broadcasts an event; st->lock held. */
static void store_emit(fa_store *st, const char *type, const char *obj)
{
    char *line = xasprintf("{\"type\":\"%s\",\"object\":%s}\n", type, obj);
    for (size_t i = 0; i < st->nwatchers; i++)
        fa_stream_write(st->watchers[i], line, strlen(line));
    st->hist = xreallocarray(st->hist, st->nhist + 1, sizeof(*st->hist));
    st->hist[st->nhist++] = (store_event){st->rev, line};
}

static store_obj *store_find(fa_store *st, const char *ns, const char *name)
{
    for (size_t i = 0; i < st->nobjs; i++)
        if (strcmp(st->objs[i].ns, ns) == 0 && strcmp(st->objs[i].name, name) == 0)
            return &st->objs[i];
    return NULL;
}

int64_t fa_store_put(fa_store *st, const char *ns, const char *name, const char *spec)
{
    pthread_mutex_lock(&st->lock);
    st->rev++;
    store_obj *o = store_find(st, ns, name);
    bool added = !o;
    if (!o) {
        st->objs = xreallocarray(st->objs, st->nobjs + 1, sizeof(*st->objs));
        o = &st->objs[st->nobjs++];
        *o = (store_obj){xstrdup(ns), xstrdup(name), NULL};
    }
    free(o->json);
    o->json = obj_json(st, ns, name, spec);
    store_emit(st, added ? "ADDED" : "MODIFIED", o->json);
    int64_t rev = st->rev;
    pthread_mutex_unlock(&st->lock);
    return rev;
}

int64_t fa_store_delete(fa_store *st, const char *ns, const char *name)
{
    pthread_mutex_lock(&st->lock);
    store_obj *o = store_find(st, ns, name);
    int64_t rev = 0;
    if (o) {
        rev = ++st->rev;
        /* the DELETED event carries the last state at the deletion's revision */
        cleanup_free char *spec = NULL;
        const char *sp = strstr(o->json, "\"spec\":");
        spec = xstrndup(sp + 7, strlen(sp + 7) - 1);
        cleanup_free char *last = obj_json(st, ns, name, spec);
        store_emit(st, "DELETED", last);
        free(o->ns);
        free(o->name);
        free(o->json);
        *o = st->objs[--st->nobjs];
    }
    pthread_mutex_unlock(&st->lock);
    return rev;
}

void fa_store_compact(fa_store *st)
{
    pthread_mutex_lock(&st->lock);
    for (size_t i = 0; i < st->nhist; i++)
        free(st->hist[i].line);
    st->nhist = 0;
    st->compacted = st->rev;
    pthread_mutex_unlock(&st->lock);
}

void fa_store_cut_watches(fa_store *st)
{
    pthread_mutex_lock(&st->lock);
    for (size_t i = 0; i < st->nwatchers; i++) {
        fa_stream_cut(st->watchers[i]);
        fa_stream_unref(st->watchers[i]);
    }
    st->nwatchers = 0;
    pthread_mutex_unlock(&st->lock);
}

void fa_store_bookmark(fa_store *st)
{
    pthread_mutex_lock(&st->lock);
    for (size_t i = 0; i < st->nwatchers; i++)
        fa_stream_printf(st->watchers[i],
                         "{\"type\":\"BOOKMARK\",\"object\":{\"kind\":\"%s\",\"apiVersion\":"
                         "\"v1\",\"metadata\":{\"resourceVersion\":\"%lld\"}}}\n",
                         st->kind, (long long)st->rev);
    pthread_mutex_unlock(&st->lock);
}

void fa_store_hold_watches(fa_store *st, bool hold)
{
    pthread_mutex_lock(&st->lock);
    st->hold = hold;
    pthread_mutex_unlock(&st->lock);
}

int64_t fa_store_revision(fa_store *st)
{
    pthread_mutex_lock(&st->lock);
    int64_t r = st->rev;
    pthread_mutex_unlock(&st->lock);
    return r;
}

size_t fa_store_len(fa_store *st)
{
    pthread_mutex_lock(&st->lock);
    size_t n = st->nobjs;
    pthread_mutex_unlock(&st->lock);
    return n;
}

static char *list_locked(fa_store *st)
{
    kn_buf b = KN_BUF_INIT;
    kn_buf_appendf(&b,
                   "{\"kind\":\"%sList\",\"apiVersion\":\"v1\",\"metadata\":{\"resourceVersion\":"
                   "\"%lld\"},\"items\":[",
                   st->kind, (long long)st->rev);
    for (size_t i = 0; i < st->nobjs; i++)
        kn_buf_appendf(&b, "%s%s", i ? "," : "", st->objs[i].json);
    kn_buf_append_str(&b, "]}");
    return kn_buf_steal(&b);
}

char *fa_store_list_json(fa_store *st)
{
    pthread_mutex_lock(&st->lock);
    char *s = list_locked(st);
    pthread_mutex_unlock(&st->lock);
    return s;
}

/* The value of query parameter key, or NULL (caller frees). */
static char *query_value(const char *query, const char *key)
{
    size_t n = strlen(key);
    for (const char *p = query; p && *p;) {
        const char *amp = strchr(p, '&');
        size_t len = amp ? (size_t)(amp - p) : strlen(p);
        if (len > n && strncmp(p, key, n) == 0 && p[n] == '=')
            return xstrndup(p + n + 1, len - n - 1);
        p = amp ? amp + 1 : NULL;
    }
    return NULL;
}

/* Starts a watch stream for rv; st->lock held. */
static void store_watch(fa_store *st, int64_t rv, bool from_now, fa_reply *reply)
{
    fa_stream *w = fa_stream_new();
    if (from_now) {
        for (size_t i = 0; i < st->nobjs; i++)
            fa_stream_printf(w, "{\"type\":\"ADDED\",\"object\":%s}\n", st->objs[i].json);
    } else {
        for (size_t i = 0; i < st->nhist; i++)
            if (st->hist[i].rev > rv)
                fa_stream_write(w, st->hist[i].line, strlen(st->hist[i].line));
    }
    st->watchers = xreallocarray(st->watchers, st->nwatchers + 1, sizeof(*st->watchers));
    st->watchers[st->nwatchers++] = w; /* the store's reference */
    reply->stream = stream_ref(w);     /* and the reply's */
}

static void store_handler(fa_server *s, const fa_request *req, fa_reply *reply, void *ud)
{
    fa_store *st = ud;
    if (strcmp(req->method, "GET") != 0 || strcmp(req->path, st->path) != 0) {
        *reply = (fa_reply){.status = 404, .body_owned = fa_status_json(404, "NotFound", "")};
        return;
    }
    cleanup_free char *watch = query_value(req->query, "watch");
    cleanup_free char *rvs = query_value(req->query, "resourceVersion");
    int64_t rv = rvs ? atoll(rvs) : 0;
    pthread_mutex_lock(&st->lock);
    if (!watch || strcmp(watch, "true") != 0) {
        *reply = (fa_reply){.status = 200, .body_owned = list_locked(st)};
    } else if (st->hold) {
        *reply = (fa_reply){.status = 503,
                            .body_owned = fa_status_json(503, "ServiceUnavailable", "held")};
    } else if (rv && rv < st->compacted) {
        cleanup_free char *msg = xasprintf("too old resource version: %lld (%lld)", (long long)rv,
                                           (long long)st->compacted);
        *reply = (fa_reply){.status = 410, .body_owned = fa_status_json(410, "Expired", msg)};
    } else {
        store_watch(st, rv, rv == 0, reply);
    }
    pthread_mutex_unlock(&st->lock);
}

fa_store *fa_store_new(fa_server *s, const char *path, const char *kind)
{
    fa_store *st = xcalloc(1, sizeof(*st));
    st->srv = s;
    st->path = xstrdup(path);
    st->kind = xstrdup(kind);
    pthread_mutex_init(&st->lock, NULL);
    fa_set_handler(s, store_handler, st);
    return st;
}

void fa_store_free(fa_store *st)
{
    if (!st)
        return;
    for (size_t i = 0; i < st->nobjs; i++) {
        free(st->objs[i].ns);
        free(st->objs[i].name);
        free(st->objs[i].json);
    }
    free(st->objs);
    for (size_t i = 0; i < st->nhist; i++)
        free(st->hist[i].line);
    free(st->hist);
    for (size_t i = 0; i < st->nwatchers; i++)
        fa_stream_unref(st->watchers[i]);
    free(st->watchers);
    pthread_mutex_destroy(&st->lock);
    free(st->path);
    free(st->kind);
    free(st);
}

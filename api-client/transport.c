/* transport.c - one curl multi handle, one I/O thread, streams for everyone.
 *
 * Threads: callers build a stream (its easy handle fully configured), link it
 * into t->streams and wake the I/O thread with curl_multi_wakeup(). Only the
 * I/O thread touches the multi handle and calls curl on added handles; it
 * picks up per-stream requests (add, cancel, unpause) under t->lock, then
 * runs curl without the lock, since curl calls back into on_write/on_header,
 * which take it. A stream is freed only by its owner after the I/O thread
 * marked it done, so the I/O thread never sees a freed stream. */
#include "api-client/transport.h"

#include <curl/curl.h>
#include <errno.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "api-client/kc-internal.h"
#include "lib/cleanup.h"
#include "lib/clock.h"
#include "lib/duration.h"
#include "lib/log.h"
#include "lib/version.h"
#include "lib/xalloc.h"

struct kc_stream {
    kc_transport *t;
    CURL *easy;
    struct curl_slist *headers;
    char *url;
    char *body;
    char *method;
    char errbuf[CURL_ERROR_SIZE];
    pthread_cond_t cond;
    kc_stream *next;
    /* written by the I/O thread before headers_done is published */
    int status;
    int retry_after;
    int http_version;
    int new_conns;
    char *content_type;
    /* under t->lock */
    char *q; /* unread body bytes q[qpos..qlen) */
    size_t qpos, qlen, qcap;
    bool added, headers_done, done, paused, want_unpause, want_cancel;
    CURLcode result;
};

struct kc_transport {
    kc_config *cfg;
    char *user_agent;
    int64_t connect_timeout_ns;
    bool http1_only;
    char *url_base; /* "https://host:port/prefix" as put in URLs */
    char *host_hdr; /* "Host: h:p" when tls-server-name rewrites the URL host */
    struct curl_slist *connect_to;
    bool loopback;
    CURLM *multi;
    pthread_t thread;
    pthread_mutex_t lock;
    kc_stream *streams;
    bool stopping;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init_once(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* ---- TLS material checks ------------------------------------------------------ */

static const char *ssl_reason(void)
{
    unsigned long e = ERR_peek_last_error();
    const char *r = e ? ERR_reason_error_string(e) : NULL;
    return r ? r : "unparsable PEM";
}

static int check_pem(const kc_config *c, kn_error **err)
{
    int r = 0;
    BIO *b = NULL;
    X509 *crt = NULL;
    EVP_PKEY *key = NULL;
    ERR_clear_error();
    if (c->ca.data) {
        b = BIO_new_mem_buf(c->ca.data, (int)c->ca.len);
        X509 *ca = PEM_read_bio_X509(b, NULL, NULL, NULL);
        if (!ca)
            r = kn_error_set(err, KN_EINVAL, "%s: certificate authority: %s",
                             c->ca_file ? c->ca_file : c->origin, ssl_reason());
        X509_free(ca);
        BIO_free(b);
    }
    if (r == 0 && c->client_cert.data) {
        b = BIO_new_mem_buf(c->client_cert.data, (int)c->client_cert.len);
        crt = PEM_read_bio_X509(b, NULL, NULL, NULL);
        BIO_free(b);
        b = BIO_new_mem_buf(c->client_key.data, (int)c->client_key.len);
        key = crt ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;
        BIO_free(b);
        if (!crt || !key)
            r = kn_error_set(err, KN_EINVAL, "%s: client %s: %s",
                             !crt ? (c->client_cert_file ? c->client_cert_file : c->origin)
                                  : (c->client_key_file ? c->client_key_file : c->origin),
                             !crt ? "certificate" : "key", ssl_reason());
        else if (X509_check_private_key(crt, key) != 1)
            r = kn_error_set(err, KN_EINVAL, "%s: the client key does not match the certificate",
                             c->client_key_file ? c->client_key_file : c->origin);
    }
    X509_free(crt);
    EVP_PKEY_free(key);
    ERR_clear_error();
    return r;
}

/* ---- URL and connection details --------------------------------------------------- */

static bool is_loopback(const char *host)
{
    return strcmp(host, "localhost") == 0 || strncmp(host, "127.", 4) == 0 ||
           strcmp(host, "::1") == 0;
}

static char *bracketed(const char *host)
{
    return strchr(host, ':') ? xasprintf("[%s]", host) : xstrdup(host);
}

static void setup_urls(kc_transport *t)
{
    const kc_config *c = t->cfg;
    cleanup_free char *host = bracketed(c->server_host);
    const char *scheme = c->server_tls ? "https" : "http";
    if (c->tls_server_name && c->server_tls) {
        /* Connect to the real address but verify (and send SNI for) the
         * configured name, as Go's tls.Config.ServerName does. */
        cleanup_free char *name = bracketed(c->tls_server_name);
        t->url_base = xasprintf("%s://%s:%d%s", scheme, name, c->server_port, c->server_path);
        cleanup_free char *map =
            xasprintf("%s:%d:%s:%d", name, c->server_port, host, c->server_port);
        t->connect_to = curl_slist_append(NULL, map);
        t->host_hdr = xasprintf("Host: %s:%d", host, c->server_port);
    } else {
        t->url_base = xasprintf("%s://%s:%d%s", scheme, host, c->server_port, c->server_path);
    }
    t->loopback = is_loopback(c->server_host);
}

void kc_url_escape(kn_buf *out, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '.' || *p == '_' || *p == '~') {
            kn_buf_append_char(out, (char)*p);
        } else {
            char enc[3] = {'%', hex[*p >> 4], hex[*p & 15]};
            kn_buf_append(out, enc, 3);
        }
    }
}

/* ---- I/O thread callbacks (run inside curl on the I/O thread) --------------------- */

static void queue_append(kc_stream *s, const char *p, size_t len)
{
    if (s->qpos && s->qpos == s->qlen)
        s->qpos = s->qlen = 0;
    if (s->qlen + len > s->qcap) {
        if (s->qpos) {
            memmove(s->q, s->q + s->qpos, s->qlen - s->qpos);
            s->qlen -= s->qpos;
            s->qpos = 0;
        }
        if (s->qlen + len > s->qcap) {
            s->qcap = (s->qlen + len) * 2;
            s->q = xrealloc(s->q, s->qcap);
        }
    }
    memcpy(s->q + s->qlen, p, len);
    s->qlen += len;
}

static void publish_headers(kc_stream *s)
{
    long code = 0, ver = 0;
    curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_getinfo(s->easy, CURLINFO_HTTP_VERSION, &ver);
    long conns = 0;
    curl_easy_getinfo(s->easy, CURLINFO_NUM_CONNECTS, &conns);
    s->new_conns = (int)conns;
    s->status = (int)code;
    s->http_version = ver == CURL_HTTP_VERSION_2_0 ? 2 : (ver == CURL_HTTP_VERSION_3 ? 3 : 1);
    s->headers_done = true;
}

static size_t on_write(char *p, size_t size, size_t n, void *ud)
{
    kc_stream *s = ud;
    size_t len = size * n;
    kc_transport *t = s->t;
    pthread_mutex_lock(&t->lock);
    if (s->want_cancel) {
        pthread_mutex_unlock(&t->lock);
        return 0; /* aborts the transfer */
    }
    if (!s->headers_done)
        publish_headers(s);
    if (s->qlen - s->qpos >= KC_STREAM_BUFFER) {
        s->paused = true;
        pthread_mutex_unlock(&t->lock);
        return CURL_WRITEFUNC_PAUSE;
    }
    queue_append(s, p, len);
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&t->lock);
    return len;
}

static int parse_retry_after(const char *v)
{
    while (*v == ' ' || *v == '\t')
        v++;
    char *end = NULL;
    errno = 0;
    long secs = strtol(v, &end, 10);
    if (end != v && errno == 0 && secs >= 0) {
        while (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n')
            end++;
        if (!*end)
            return secs > 86400 ? 86400 : (int)secs;
    }
    cleanup_free char *copy = xstrdup(v);
    copy[strcspn(copy, "\r\n")] = '\0';
    time_t when = curl_getdate(copy, NULL);
    if (when < 0)
        return -1;
    time_t now = time(NULL);
    return when <= now ? 0 : (when - now > 86400 ? 86400 : (int)(when - now));
}

static bool header_is(const char *line, size_t len, const char *name)
{
    size_t n = strlen(name);
    return len > n && strncasecmp(line, name, n) == 0 && line[n] == ':';
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
    kc_stream *s = ud;
    size_t len = size * n;
    cleanup_free char *line = xstrndup(p, len);
    if (len >= 5 && strncmp(line, "HTTP/", 5) == 0) {
        free(s->content_type); /* a new response (after 1xx) */
        s->content_type = NULL;
        s->retry_after = -1;
    } else if (header_is(line, len, "Content-Type")) {
        free(s->content_type);
        char *v = line + strlen("Content-Type:");
        v += strspn(v, " \t");
        v[strcspn(v, "\r\n")] = '\0';
        s->content_type = xstrdup(v);
    } else if (header_is(line, len, "Retry-After")) {
        s->retry_after = parse_retry_after(line + strlen("Retry-After:"));
    } else if (strcmp(line, "\r\n") == 0 || strcmp(line, "\n") == 0) {
        long code = 0;
        curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &code);
        if (code >= 200) {
            pthread_mutex_lock(&s->t->lock);
            publish_headers(s);
            pthread_cond_broadcast(&s->cond);
            pthread_mutex_unlock(&s->t->lock);
        }
    }
    return len;
}

/* ---- the I/O thread ---------------------------------------------------------------- */

enum action { ACT_ADD, ACT_CANCEL, ACT_UNPAUSE };

typedef struct pending {
    kc_stream *s;
    enum action act;
} pending;

static void mark_done(kc_stream *s, CURLcode rc)
{
    s->done = true;
    s->result = rc;
    if (!s->headers_done && rc == CURLE_OK)
        publish_headers(s);
    pthread_cond_broadcast(&s->cond);
}

/* Collects what callers asked for since the last round; t->lock held. */
static size_t collect(kc_transport *t, pending **out, size_t *cap)
{
    size_t n = 0;
    for (kc_stream *s = t->streams; s; s = s->next) {
        enum action act;
        if (s->done)
            continue;
        if (s->want_cancel && !s->added) {
            mark_done(s, CURLE_ABORTED_BY_CALLBACK);
            continue;
        }
        if (s->want_cancel)
            act = ACT_CANCEL;
        else if (!s->added)
            act = ACT_ADD;
        else if (s->want_unpause && s->paused)
            act = ACT_UNPAUSE;
        else
            continue;
        if (n == *cap) {
            *cap = *cap ? *cap * 2 : 16;
            *out = xreallocarray(*out, *cap, sizeof(**out));
        }
        (*out)[n++] = (pending){s, act};
        if (act == ACT_ADD)
            s->added = true;
        if (act == ACT_UNPAUSE)
            s->paused = s->want_unpause = false;
    }
    return n;
}

static void run_actions(kc_transport *t, pending *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        kc_stream *s = v[i].s;
        if (v[i].act == ACT_ADD) {
            curl_multi_add_handle(t->multi, s->easy);
        } else if (v[i].act == ACT_UNPAUSE) {
            curl_easy_pause(s->easy, CURLPAUSE_CONT);
        } else {
            curl_multi_remove_handle(t->multi, s->easy);
            pthread_mutex_lock(&t->lock);
            mark_done(s, CURLE_ABORTED_BY_CALLBACK);
            pthread_mutex_unlock(&t->lock);
        }
    }
}

static void reap_finished(kc_transport *t)
{
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(t->multi, &left))) {
        if (m->msg != CURLMSG_DONE)
            continue;
        kc_stream *s = NULL;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&s);
        CURLcode rc = m->data.result;
        curl_multi_remove_handle(t->multi, m->easy_handle);
        pthread_mutex_lock(&t->lock);
        mark_done(s, rc);
        pthread_mutex_unlock(&t->lock);
    }
}

static void *io_main(void *arg)
{
    kc_transport *t = arg;
    pending *v = NULL;
    size_t cap = 0;
    for (;;) {
        pthread_mutex_lock(&t->lock);
        bool stop = t->stopping;
        size_t n = stop ? 0 : collect(t, &v, &cap);
        pthread_mutex_unlock(&t->lock);
        if (stop)
            break;
        run_actions(t, v, n);
        int running = 0;
        curl_multi_perform(t->multi, &running);
        reap_finished(t);
        curl_multi_poll(t->multi, NULL, 0, 1000, NULL);
    }
    free(v);
    return NULL;
}

/* ---- transport ------------------------------------------------------------------------ */

static CURLM *new_multi(void)
{
    CURLM *m = curl_multi_init();
    if (!m)
        kn_oom();
    curl_multi_setopt(m, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
    return m;
}

int kc_transport_new(const kc_config *cfg, const kc_transport_options *opts, kc_transport **out,
                     kn_error **err)
{
    pthread_once(&curl_once, curl_init_once);
    if (check_pem(cfg, err) < 0)
        return kc_fail(err);
    kc_transport_options o = opts ? *opts : (kc_transport_options){0};
    kc_transport *t = xcalloc(1, sizeof(*t));
    t->cfg = kc_config_dup(cfg);
    t->user_agent = xstrdup(o.user_agent ? o.user_agent : kn_user_agent());
    t->connect_timeout_ns = o.connect_timeout_ns ? o.connect_timeout_ns : 30 * KN_NSEC_PER_SEC;
    t->http1_only = o.http1_only;
    setup_urls(t);
    t->multi = new_multi();
    pthread_mutex_init(&t->lock, NULL);
    int rc = pthread_create(&t->thread, NULL, io_main, t);
    if (rc != 0) {
        curl_multi_cleanup(t->multi);
        kc_config_free(t->cfg);
        free(t);
        return kn_error_errno(err, rc, "start the API client's I/O thread");
    }
    *out = t;
    return 0;
}

void kc_transport_free(kc_transport *t)
{
    if (!t)
        return;
    pthread_mutex_lock(&t->lock);
    t->stopping = true;
    if (t->streams)
        KN_ERR("api-client", "transport freed with open streams (a bug)");
    pthread_mutex_unlock(&t->lock);
    curl_multi_wakeup(t->multi);
    pthread_join(t->thread, NULL);
    curl_multi_cleanup(t->multi);
    pthread_mutex_destroy(&t->lock);
    curl_slist_free_all(t->connect_to);
    free(t->host_hdr);
    free(t->url_base);
    free(t->user_agent);
    kc_config_free(t->cfg);
    free(t);
}

kc_config *kc_transport_config(kc_transport *t)
{
    return t->cfg;
}

/* ---- building a request ------------------------------------------------------------------ */

static struct curl_slist *add_header(struct curl_slist *l, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static struct curl_slist *add_header(struct curl_slist *l, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    cleanup_free char *h = xvasprintf(fmt, ap);
    va_end(ap);
    struct curl_slist *r = curl_slist_append(l, h);
    if (!r)
        kn_oom();
    return r;
}

static int build_headers(kc_stream *s, const kc_request *req, kn_error **err)
{
    kc_transport *t = s->t;
    struct curl_slist *h =
        add_header(NULL, "Accept: %s", req->accept ? req->accept : "application/json");
    h = add_header(h, "User-Agent: %s", t->user_agent);
    h = add_header(h, "Expect:");
    if (req->content_type)
        h = add_header(h, "Content-Type: %s", req->content_type);
    if (t->host_hdr)
        h = add_header(h, "%s", t->host_hdr);
    s->headers = h;
    cleanup_free char *token = NULL;
    if (kc_config_bearer_token(t->cfg, &token, err) < 0)
        return kn_error_wrap(err, "bearer token");
    if (token)
        s->headers = add_header(s->headers, "Authorization: Bearer %s", token);
    if (token)
        explicit_bzero(token, strlen(token));
    if (t->cfg->impersonate_user)
        s->headers = add_header(s->headers, "Impersonate-User: %s", t->cfg->impersonate_user);
    if (t->cfg->impersonate_uid)
        s->headers = add_header(s->headers, "Impersonate-Uid: %s", t->cfg->impersonate_uid);
    for (char **g = t->cfg->impersonate_groups; g && *g; g++)
        s->headers = add_header(s->headers, "Impersonate-Group: %s", *g);
    return 0;
}

static void set_tls(kc_stream *s)
{
    const kc_config *c = s->t->cfg;
    CURL *e = s->easy;
    if (c->insecure_skip_tls_verify) {
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
    } else if (c->ca.data) {
        /* pin: trust only the configured CA, not the system bundle */
        struct curl_blob ca = {c->ca.data, c->ca.len, CURL_BLOB_COPY};
        curl_easy_setopt(e, CURLOPT_CAINFO, NULL);
        curl_easy_setopt(e, CURLOPT_CAPATH, NULL);
        curl_easy_setopt(e, CURLOPT_CAINFO_BLOB, &ca);
    }
    if (c->client_cert.data) {
        struct curl_blob crt = {c->client_cert.data, c->client_cert.len, CURL_BLOB_COPY};
        struct curl_blob key = {c->client_key.data, c->client_key.len, CURL_BLOB_COPY};
        curl_easy_setopt(e, CURLOPT_SSLCERT_BLOB, &crt);
        curl_easy_setopt(e, CURLOPT_SSLCERTTYPE, "PEM");
        curl_easy_setopt(e, CURLOPT_SSLKEY_BLOB, &key);
        curl_easy_setopt(e, CURLOPT_SSLKEYTYPE, "PEM");
    }
    curl_easy_setopt(e, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
}

static void set_connection(kc_stream *s)
{
    kc_transport *t = s->t;
    CURL *e = s->easy;
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION,
                     t->http1_only ? (long)CURL_HTTP_VERSION_1_1 : (long)CURL_HTTP_VERSION_2TLS);
    curl_easy_setopt(e, CURLOPT_PIPEWAIT, 1L);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
                     (long)(t->connect_timeout_ns / KN_NSEC_PER_MSEC));
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPIDLE, 30L);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPINTVL, 10L);
    curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "gzip");
    if (t->loopback) /* as Go's ProxyFromEnvironment: loopback is never proxied */
        curl_easy_setopt(e, CURLOPT_PROXY, "");
    if (t->connect_to)
        curl_easy_setopt(e, CURLOPT_CONNECT_TO, t->connect_to);
    if (t->cfg->username) {
        curl_easy_setopt(e, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        curl_easy_setopt(e, CURLOPT_USERNAME, t->cfg->username);
        curl_easy_setopt(e, CURLOPT_PASSWORD, t->cfg->password ? t->cfg->password : "");
    }
}

static void set_method(kc_stream *s, const kc_request *req)
{
    CURL *e = s->easy;
    if (strcmp(req->method, "GET") == 0 && !req->body) {
        curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
        return;
    }
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, req->method);
    if (req->body || strcmp(req->method, "POST") == 0 || strcmp(req->method, "PUT") == 0 ||
        strcmp(req->method, "PATCH") == 0) {
        s->body = xmalloc(req->body_len + 1);
        if (req->body_len)
            memcpy(s->body, req->body, req->body_len);
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, s->body);
    }
}

static void stream_free(kc_stream *s)
{
    if (s->easy)
        curl_easy_cleanup(s->easy);
    curl_slist_free_all(s->headers);
    pthread_cond_destroy(&s->cond);
    free(s->url);
    free(s->body);
    free(s->method);
    free(s->content_type);
    free(s->q);
    free(s);
}

static int stream_new(kc_transport *t, const kc_request *req, kc_stream **out, kn_error **err)
{
    kc_stream *s = xcalloc(1, sizeof(*s));
    s->t = t;
    s->retry_after = -1;
    s->method = xstrdup(req->method);
    kn_cond_init(&s->cond);
    s->url = xasprintf("%s%s", t->url_base, req->path);
    s->easy = curl_easy_init();
    if (!s->easy)
        kn_oom();
    if (build_headers(s, req, err) < 0) {
        stream_free(s);
        return kc_fail(err);
    }
    CURL *e = s->easy;
    curl_easy_setopt(e, CURLOPT_URL, s->url);
    curl_easy_setopt(e, CURLOPT_PRIVATE, (char *)s);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, s->errbuf);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, s->headers);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, s);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, s);
    if (req->timeout_ns > 0)
        curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)((req->timeout_ns + 999999) / 1000000));
    set_connection(s);
    set_tls(s);
    set_method(s, req);
    *out = s;
    return 0;
}

/* ---- streams ----------------------------------------------------------------------------------
 */

static kn_errcode curl_code_kind(CURLcode rc)
{
    switch (rc) {
    case CURLE_OPERATION_TIMEDOUT:
        return KN_ETIMEDOUT;
    case CURLE_ABORTED_BY_CALLBACK:
        return KN_ECANCELED;
    case CURLE_PEER_FAILED_VERIFICATION: /* the server is not who the config trusts */
        return KN_EUNAUTHORIZED;
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
        return KN_EINVAL;
    default:
        return KN_EUNAVAILABLE;
    }
}

static int stream_error(const kc_stream *s, kn_error **err)
{
    if (s->want_cancel)
        return kn_error_set(err, KN_ECANCELED, "%s %s: canceled", s->method, s->url);
    const char *msg = s->errbuf[0] ? s->errbuf : curl_easy_strerror(s->result);
    return kn_error_set(err, curl_code_kind(s->result), "%s %s: %s", s->method, s->url, msg);
}

static void unlink_stream(kc_transport *t, kc_stream *s)
{
    for (kc_stream **pp = &t->streams; *pp; pp = &(*pp)->next) {
        if (*pp == s) {
            *pp = s->next;
            return;
        }
    }
}

void kc_stream_close(kc_stream *s)
{
    if (!s)
        return;
    kc_transport *t = s->t;
    pthread_mutex_lock(&t->lock);
    if (!s->done) {
        s->want_cancel = true;
        curl_multi_wakeup(t->multi);
        while (!s->done)
            pthread_cond_wait(&s->cond, &t->lock);
    }
    unlink_stream(t, s);
    pthread_mutex_unlock(&t->lock);
    stream_free(s);
}

void kc_stream_cancel(kc_stream *s)
{
    pthread_mutex_lock(&s->t->lock);
    s->want_cancel = true;
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->t->lock);
    curl_multi_wakeup(s->t->multi);
}

int kc_transport_open(kc_transport *t, const kc_request *req, kc_stream **out, kn_error **err)
{
    kc_stream *s = NULL;
    if (stream_new(t, req, &s, err) < 0)
        return kn_error_wrap(err, "%s %s%s", req->method, t->url_base, req->path);
    pthread_mutex_lock(&t->lock);
    s->next = t->streams;
    t->streams = s;
    curl_multi_wakeup(t->multi);
    int64_t deadline = req->header_timeout_ns > 0
                           ? kn_time_add(kn_time_monotonic_ns(), req->header_timeout_ns)
                           : KN_TIME_NEVER;
    while (!s->headers_done && !s->done && !s->want_cancel && kn_time_monotonic_ns() < deadline)
        kn_clock_wait_until(NULL, &s->cond, &t->lock, deadline);
    int r = 0;
    if (!s->headers_done && s->done)
        r = stream_error(s, err);
    else if (!s->headers_done)
        r = kn_error_set(err, KN_ETIMEDOUT, "%s %s: no response headers in time", req->method,
                         s->url);
    pthread_mutex_unlock(&t->lock);
    if (r < 0) {
        kc_stream_close(s);
        return r;
    }
    *out = s;
    return 0;
}

int kc_stream_status(const kc_stream *s)
{
    return s->status;
}

int kc_stream_retry_after(const kc_stream *s)
{
    return s->retry_after;
}

const char *kc_stream_content_type(const kc_stream *s)
{
    return s->content_type ? s->content_type : "";
}

int kc_stream_http_version(const kc_stream *s)
{
    return s->http_version;
}

int kc_stream_new_connections(const kc_stream *s)
{
    return s->new_conns;
}

ssize_t kc_stream_read(kc_stream *s, char *buf, size_t cap, int64_t stall_timeout_ns,
                       kn_error **err)
{
    kc_transport *t = s->t;
    pthread_mutex_lock(&t->lock);
    int64_t deadline = stall_timeout_ns > 0 ? kn_time_add(kn_time_monotonic_ns(), stall_timeout_ns)
                                            : KN_TIME_NEVER;
    while (s->qpos == s->qlen && !s->done && !s->want_cancel && kn_time_monotonic_ns() < deadline)
        kn_clock_wait_until(NULL, &s->cond, &t->lock, deadline);
    ssize_t r;
    if (s->want_cancel) {
        r = kn_error_set(err, KN_ECANCELED, "%s %s: canceled", s->method, s->url);
    } else if (s->qpos < s->qlen) {
        size_t n = s->qlen - s->qpos < cap ? s->qlen - s->qpos : cap;
        memcpy(buf, s->q + s->qpos, n);
        s->qpos += n;
        if (s->paused && s->qlen - s->qpos < KC_STREAM_BUFFER / 2 && !s->want_unpause) {
            s->want_unpause = true;
            curl_multi_wakeup(t->multi);
        }
        r = (ssize_t)n;
    } else if (s->done) {
        r = s->result == CURLE_OK ? 0 : stream_error(s, err);
    } else {
        r = kn_error_set(err, KN_ETIMEDOUT, "%s %s: stalled: no data for %lld ms", s->method,
                         s->url, (long long)(stall_timeout_ns / KN_NSEC_PER_MSEC));
    }
    pthread_mutex_unlock(&t->lock);
    return r;
}

int kc_stream_read_all(kc_stream *s, kn_buf *out, size_t max, kn_error **err)
{
    size_t start = out->len;
    for (;;) {
        kn_buf_reserve(out, 64 * 1024);
        ssize_t n = kc_stream_read(s, out->data + out->len, out->cap - out->len - 1, 0, err);
        if (n < 0)
            return (int)n;
        if (n == 0)
            return 0;
        out->len += (size_t)n;
        out->data[out->len] = '\0';
        if (out->len - start > max)
            return kn_error_set(err, KN_ETOOLARGE, "%s %s: response body exceeds %zu bytes",
                                s->method, s->url, max);
    }
}

int kc_transport_do(kc_transport *t, const kc_request *req, size_t max_body, kc_response *resp,
                    kn_error **err)
{
    memset(resp, 0, sizeof(*resp));
    kn_buf_init(&resp->body);
    kc_stream *s = NULL;
    if (kc_transport_open(t, req, &s, err) < 0)
        return kc_fail(err);
    resp->status = s->status;
    resp->retry_after = s->retry_after;
    resp->http_version = s->http_version;
    resp->content_type = xstrdup(kc_stream_content_type(s));
    int r = kc_stream_read_all(s, &resp->body, max_body, err);
    kc_stream_close(s);
    if (r < 0)
        kc_response_clear(resp);
    return r;
}

void kc_response_clear(kc_response *resp)
{
    kn_buf_free(&resp->body);
    free(resp->content_type);
    resp->content_type = NULL;
}

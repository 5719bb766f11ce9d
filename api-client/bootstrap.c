/* bootstrap.c - token discovery, TLS bootstrap and certificate rotation. */
#include "api-client/bootstrap.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "api-client/kc-internal.h"
#include "api-client/kubeconfig.h"
#include "api-client/rest.h"
#include "api-client/watch.h"
#include "lib/file.h"
#include "lib/cleanup.h"
#include "lib/duration.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/ossl.h"
#include "lib/strbuf.h"
#include "lib/xalloc.h"

#define KC_CLUSTER_INFO_NS "kube-public"
#define KC_CLUSTER_INFO "cluster-info"
#define KC_JWS_PREFIX "jws-kubeconfig-"
#define KC_CURRENT_PEM "kubelet-client-current.pem"
#define KC_BOOTSTRAP_KEY "kubelet-client.key.tmp"

/* ---- encodings --------------------------------------------------------------------- */

static char *base64_std(const unsigned char *data, size_t len)
{
    char *out = xmalloc(4 * ((len + 2) / 3) + 1);
    EVP_EncodeBlock((unsigned char *)out, data, (int)len);
    return out;
}

/* RFC 4648 base64url without padding (JWS, Go's RawURLEncoding). */
static char *base64_url(const unsigned char *data, size_t len)
{
    char *s = base64_std(data, len);
    for (char *p = s; *p; p++) {
        if (*p == '+')
            *p = '-';
        else if (*p == '/')
            *p = '_';
        else if (*p == '=')
            *p = '\0';
    }
    return s;
}

/* ---- tokens, JWS, pins ------------------------------------------------------------- */

static bool token_chars(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9')))
            return false;
    }
    return true;
}

int kc_bootstrap_token_parse(const char *token, char id[KC_TOKEN_ID_LEN + 1],
                             char secret[KC_TOKEN_SECRET_LEN + 1])
{
    if (!token || strlen(token) != KC_TOKEN_ID_LEN + 1 + KC_TOKEN_SECRET_LEN ||
        token[KC_TOKEN_ID_LEN] != '.' || !token_chars(token, KC_TOKEN_ID_LEN) ||
        !token_chars(token + KC_TOKEN_ID_LEN + 1, KC_TOKEN_SECRET_LEN))
        return -1;
    memcpy(id, token, KC_TOKEN_ID_LEN);
    id[KC_TOKEN_ID_LEN] = '\0';
    memcpy(secret, token + KC_TOKEN_ID_LEN + 1, KC_TOKEN_SECRET_LEN);
    secret[KC_TOKEN_SECRET_LEN] = '\0';
    return 0;
}

char *kc_jws_detached_sign(const char *content, const char *token_id, const char *token_secret)
{
    cleanup_free char *header_json = xasprintf("{\"alg\":\"HS256\",\"kid\":\"%s\"}", token_id);
    cleanup_free char *header = base64_url((const unsigned char *)header_json, strlen(header_json));
    cleanup_free char *payload = base64_url((const unsigned char *)content, strlen(content));
    cleanup_free char *input = xasprintf("%s.%s", header, payload);
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int maclen = 0;
    HMAC(EVP_sha256(), token_secret, (int)strlen(token_secret), (const unsigned char *)input,
         strlen(input), mac, &maclen);
    cleanup_free char *sig = base64_url(mac, maclen);
    return xasprintf("%s..%s", header, sig);
}

bool kc_jws_detached_verify(const char *jws, const char *content, const char *token_id,
                            const char *token_secret)
{
    if (!jws || !content)
        return false;
    cleanup_free char *want = kc_jws_detached_sign(content, token_id, token_secret);
    size_t n = strlen(want);
    return strlen(jws) == n && CRYPTO_memcmp(jws, want, n) == 0;
}

static X509 *first_cert(const char *pem, kn_error **err)
{
    BIO *b = BIO_new_mem_buf(pem, -1);
    X509 *c = PEM_read_bio_X509(b, NULL, NULL, NULL);
    BIO_free(b);
    if (!c)
        kn_ossl_error(err, KN_EINVAL, "parse certificate");
    return c;
}

int kc_ca_cert_hash(const char *ca_pem, char out[72], kn_error **err)
{
    X509 *c = first_cert(ca_pem, err);
    if (!c)
        return -KN_EINVAL;
    unsigned char *der = NULL;
    int n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(c), &der);
    X509_free(c);
    if (n <= 0)
        return kn_ossl_error(err, KN_EINVAL, "encode public key");
    unsigned char md[32];
    unsigned int mdlen = 0;
    EVP_Digest(der, (size_t)n, md, &mdlen, EVP_sha256(), NULL);
    OPENSSL_free(der);
    memcpy(out, "sha256:", 7);
    for (unsigned int i = 0; i < mdlen; i++)
        snprintf(out + 7 + 2 * i, 3, "%02x", md[i]);
    return 0;
}

/* ---- configs ------------------------------------------------------------------------- */

typedef struct identity {
    const char *server;
    const char *ca_pem;    /* NULL: insecure (discovery only) */
    const char *token;     /* bearer token or NULL */
    const char *cert_file; /* client certificate + key file or NULL */
} identity;

/* A client config for id, loaded from a generated kubeconfig. */
static int config_for(const identity *id, kc_config **out, kn_error **err)
{
    kn_buf y = KN_BUF_INIT;
    kn_buf_appendf(&y,
                   "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n"
                   "    server: \"%s\"\n",
                   id->server);
    if (id->ca_pem) {
        cleanup_free char *ca = base64_std((const unsigned char *)id->ca_pem, strlen(id->ca_pem));
        kn_buf_appendf(&y, "    certificate-authority-data: %s\n", ca);
    } else {
        kn_buf_append_str(&y, "    insecure-skip-tls-verify: true\n");
    }
    kn_buf_append_str(&y, "users:\n- name: u\n  user:\n");
    if (id->token)
        kn_buf_appendf(&y, "    token: \"%s\"\n", id->token);
    if (id->cert_file)
        kn_buf_appendf(&y, "    client-certificate: \"%s\"\n    client-key: \"%s\"\n",
                       id->cert_file, id->cert_file);
    if (!id->token && !id->cert_file)
        kn_buf_append_str(&y, "    {}\n");
    kn_buf_append_str(&y, "contexts:\n- name: x\n  context:\n    cluster: c\n    user: u\n"
                          "current-context: x\n");
    int r = kc_config_load_data(y.data, y.len, "bootstrap", NULL, out, err);
    kn_buf_free(&y);
    return r;
}

static int client_for(const identity *id, kc_client **out, kn_error **err)
{
    cleanup_kc_config kc_config *cfg = NULL;
    if (config_for(id, &cfg, err) < 0)
        return kc_fail(err);
    kc_client_options co = {.max_retries = 3};
    return kc_client_new(cfg, &co, out, err);
}

/* ---- discovery ----------------------------------------------------------------------- */

static int fetch_cluster_info(const identity *id, cJSON **cm, kn_error **err)
{
    kc_client *c = NULL;
    if (client_for(id, &c, err) < 0)
        return kc_fail(err);
    int r = kc_get(c, &kc_res_configmaps, KC_CLUSTER_INFO_NS, KC_CLUSTER_INFO, cm, err);
    kc_client_free(c);
    return r < 0 ? kn_error_wrap(err, "read %s/%s", KC_CLUSTER_INFO_NS, KC_CLUSTER_INFO) : 0;
}

/* The CA (PEM, owned) of the first cluster of a cluster-info kubeconfig. */
static char *ca_of_kubeconfig(const char *kubeconfig, kn_error **err)
{
    cleanup_cjson cJSON *doc = NULL;
    if (kc_parse_yaml_or_json(kubeconfig, strlen(kubeconfig), &doc, err) < 0)
        return NULL;
    const char *b64 = NULL;
    if (kn_json_get_string(doc, "clusters[0].cluster[\"certificate-authority-data\"]", &b64, err) <
        0)
        return NULL;
    char *pem = NULL;
    size_t len, bad;
    if (kc_base64_decode(b64, strlen(b64), &pem, &len, &bad) < 0) {
        kn_error_set(err, KN_EINVAL, "certificate-authority-data: illegal base64 data at %zu", bad);
        return NULL;
    }
    return pem;
}

static int check_pin(const char *ca_pem, const char *pin, kn_error **err)
{
    char have[72];
    if (kc_ca_cert_hash(ca_pem, have, err) < 0)
        return kc_fail(err);
    if (strncmp(pin, "sha256:", 7) != 0 || strlen(pin) != strlen(have) ||
        strcasecmp(pin, have) != 0)
        return kn_error_set(err, KN_EFORBIDDEN,
                            "cluster CA found in cluster-info ConfigMap is invalid: none of the "
                            "public keys \"%s\" are pinned",
                            have);
    return 0;
}

/* Checks the insecurely read cluster-info: the token's JWS, then the pin.
 * *kubeconfig and *ca_pem are owned on success. */
static int verify_cluster_info(const cJSON *cm, const char *token, const char *pin,
                               char **kubeconfig, char **ca_pem, kn_error **err)
{
    char id[KC_TOKEN_ID_LEN + 1], secret[KC_TOKEN_SECRET_LEN + 1];
    kc_bootstrap_token_parse(token, id, secret);
    const char *kc = NULL, *jws = NULL;
    cleanup_free char *jws_path = xasprintf("data[\"" KC_JWS_PREFIX "%s\"]", id);
    if (kn_json_get_string(cm, "data.kubeconfig", &kc, err) < 0)
        return kn_error_wrap(err, "cluster-info");
    kn_json_get_string_opt(cm, jws_path, NULL, &jws, NULL);
    if (!jws)
        return kn_error_set(err, KN_EFORBIDDEN,
                            "there is no JWS signed token in the cluster-info ConfigMap. This "
                            "token id \"%s\" is invalid for this cluster, can't connect",
                            id);
    if (!kc_jws_detached_verify(jws, kc, id, secret))
        return kn_error_set(err, KN_EFORBIDDEN,
                            "failed to verify JWS signature of received cluster info object, "
                            "can't trust this API Server");
    cleanup_free char *ca = ca_of_kubeconfig(kc, err);
    if (!ca || check_pin(ca, pin, err) < 0)
        return kc_fail(err);
    *kubeconfig = xstrdup(kc);
    *ca_pem = kn_steal_ptr(ca);
    return 0;
}

/* One discovery attempt (see kc_bootstrap_discover). */
static int discover_once(const char *server, const char *token, const char *ca_cert_hash,
                         char **ca_pem, kn_error **err)
{
    cleanup_cjson cJSON *insecure = NULL, *secure = NULL;
    cleanup_free char *kubeconfig = NULL, *ca = NULL;
    identity anon = {server, NULL, NULL, NULL};
    if (fetch_cluster_info(&anon, &insecure, err) < 0 ||
        verify_cluster_info(insecure, token, ca_cert_hash, &kubeconfig, &ca, err) < 0)
        return kn_error_wrap(err, "discovery from %s", server);
    identity pinned = {server, ca, NULL, NULL};
    if (fetch_cluster_info(&pinned, &secure, err) < 0)
        return kn_error_wrap(err, "discovery from %s over the pinned CA", server);
    const char *again = NULL;
    kn_json_get_string_opt(secure, "data.kubeconfig", NULL, &again, NULL);
    if (!again || strcmp(again, kubeconfig) != 0)
        return kn_error_set(err, KN_EFORBIDDEN,
                            "discovery from %s: the second kubeconfig from the cluster-info "
                            "ConfigMap (using validated TLS) was different from the first",
                            server);
    *ca_pem = kn_steal_ptr(ca);
    return 0;
}

/* True for failures that may pass: the server is not reachable yet, or
 * has not signed cluster-info for a new token yet. */
static bool retriable(const kn_error *e)
{
    kn_errcode c = kn_error_code(e);
    return c == KN_EUNAVAILABLE || c == KN_ETIMEDOUT || c == KN_ENOTFOUND ||
           (c == KN_EFORBIDDEN && strstr(kn_error_msg(e), "there is no JWS signed token"));
}

int kc_bootstrap_discover(const char *server, const char *token, const char *ca_cert_hash,
                          int64_t timeout_ns, char **ca_pem, kn_error **err)
{
    char id[KC_TOKEN_ID_LEN + 1], secret[KC_TOKEN_SECRET_LEN + 1];
    if (kc_bootstrap_token_parse(token, id, secret) < 0)
        return kn_error_set(err, KN_EINVAL,
                            "the bootstrap token does not match the form ID.SECRET "
                            "([a-z0-9]{6}.[a-z0-9]{16})");
    if (!ca_cert_hash || strncmp(ca_cert_hash, "sha256:", 7) != 0)
        return kn_error_set(err, KN_EINVAL, "--ca-cert-hash must be sha256:<hex>");
    int64_t deadline =
        kn_time_add(kn_time_monotonic_ns(), timeout_ns > 0 ? timeout_ns : 300 * KN_NSEC_PER_SEC);
    for (;;) {
        kn_error *e = NULL;
        if (discover_once(server, token, ca_cert_hash, ca_pem, &e) == 0)
            return 0;
        if (!retriable(e) || kn_time_monotonic_ns() + KN_NSEC_PER_SEC > deadline)
            return kc_error_move(err, &e);
        KN_V(2, "bootstrap", "%s; retrying", kn_error_msg(e));
        kn_error_free(&e);
        kn_clock_sleep(NULL, KN_NSEC_PER_SEC);
    }
}

/* ---- keys and requests ---------------------------------------------------------------- */

static char *key_pem(EVP_PKEY *k)
{
    BIO *b = BIO_new(BIO_s_mem());
    PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL);
    char *data;
    long n = BIO_get_mem_data(b, &data);
    char *out = xstrndup(data, (size_t)n);
    BIO_free(b);
    return out;
}

static EVP_PKEY *parse_key(const char *pem)
{
    BIO *b = BIO_new_mem_buf(pem, -1);
    EVP_PKEY *k = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
    BIO_free(b);
    return k;
}

static X509_NAME *node_subject(const char *node)
{
    cleanup_free char *cn = xasprintf("system:node:%s", node);
    X509_NAME *n = X509_NAME_new();
    X509_NAME_add_entry_by_txt(n, "O", MBSTRING_UTF8, (const unsigned char *)"system:nodes", -1, -1,
                               0);
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0);
    return n;
}

/* A PEM certificate request for system:node:<node> signed with k. */
static char *make_csr(EVP_PKEY *k, const char *node, kn_error **err)
{
    X509_REQ *req = X509_REQ_new();
    X509_NAME *name = node_subject(node);
    char *out = NULL;
    if (X509_REQ_set_version(req, 0) && X509_REQ_set_subject_name(req, name) &&
        X509_REQ_set_pubkey(req, k) && X509_REQ_sign(req, k, EVP_sha256())) {
        BIO *b = BIO_new(BIO_s_mem());
        PEM_write_bio_X509_REQ(b, req);
        char *data;
        long n = BIO_get_mem_data(b, &data);
        out = xstrndup(data, (size_t)n);
        BIO_free(b);
    } else {
        kn_ossl_error(err, KN_EINTERNAL, "create certificate request");
    }
    X509_NAME_free(name);
    X509_REQ_free(req);
    return out;
}

static const char *const client_usages[] = {"digital signature", "client auth", NULL};

/* upstream's digestedName: sha512/256 over the base64url of the public key,
 * CN, O and usages, each followed by '|', so a restarted bootstrap with the
 * same key finds its own request again. Written in hex ("node-csr-<hex>")
 * rather than base64url, so that the name is also a DNS subdomain for
 * servers that validate CSR names (upstream does not). */
static char *digested_name(EVP_PKEY *k, const char *node)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    EVP_DigestInit_ex(ctx, EVP_sha512_256(), NULL);
    unsigned char *der = NULL;
    int n = i2d_PUBKEY(k, &der);
    cleanup_free char *cn = xasprintf("system:node:%s", node);
    const unsigned char *parts[5] = {
        der, (const unsigned char *)cn, (const unsigned char *)"system:nodes",
        (const unsigned char *)client_usages[0], (const unsigned char *)client_usages[1]};
    size_t lens[5] = {(size_t)(n > 0 ? n : 0), strlen(cn), strlen("system:nodes"),
                      strlen(client_usages[0]), strlen(client_usages[1])};
    for (size_t i = 0; i < 5; i++) {
        cleanup_free char *enc = base64_url(parts[i], lens[i]);
        EVP_DigestUpdate(ctx, enc, strlen(enc));
        EVP_DigestUpdate(ctx, "|", 1);
    }
    unsigned char md[32];
    unsigned int mdlen = 0;
    EVP_DigestFinal_ex(ctx, md, &mdlen);
    EVP_MD_CTX_free(ctx);
    OPENSSL_free(der);
    char hex[2 * sizeof(md) + 1];
    for (unsigned int i = 0; i < mdlen && i < sizeof(md); i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    return xasprintf("node-csr-%s", hex);
}

static cJSON *csr_object(const char *name, const char *csr_pem, int64_t expiration_s)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "apiVersion", "certificates.k8s.io/v1");
    cJSON_AddStringToObject(o, "kind", "CertificateSigningRequest");
    cJSON *md = cJSON_AddObjectToObject(o, "metadata");
    if (name)
        cJSON_AddStringToObject(md, "name", name);
    else
        cJSON_AddStringToObject(md, "generateName", "csr-");
    cJSON *spec = cJSON_AddObjectToObject(o, "spec");
    cleanup_free char *req = base64_std((const unsigned char *)csr_pem, strlen(csr_pem));
    cJSON_AddStringToObject(spec, "request", req);
    cJSON_AddStringToObject(spec, "signerName", KC_KUBELET_CLIENT_SIGNER);
    cJSON *u = cJSON_AddArrayToObject(spec, "usages");
    for (size_t i = 0; client_usages[i]; i++)
        cJSON_AddItemToArray(u, cJSON_CreateString(client_usages[i]));
    if (expiration_s > 0)
        cJSON_AddNumberToObject(spec, "expirationSeconds", (double)expiration_s);
    return o;
}

/* ---- waiting for the certificate --------------------------------------------------------- */

static const cJSON *condition(const cJSON *csr, const char *type)
{
    const cJSON *conds = NULL, *c;
    kn_json_get_array_opt(csr, "status.conditions", &conds, NULL);
    cJSON_ArrayForEach(c, conds)
    {
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(c, "type");
        if (cJSON_IsString(t) && strcmp(t->valuestring, type) == 0)
            return c;
    }
    return NULL;
}

static const char *cond_str(const cJSON *c, const char *field)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(c, field);
    return cJSON_IsString(v) ? v->valuestring : "";
}

/* 1 with *cert (PEM, owned) when issued, 0 while pending, < 0 when denied
 * or failed (as upstream's WaitForCertificate). */
static int csr_outcome(const cJSON *csr, char **cert, kn_error **err)
{
    const cJSON *denied = condition(csr, "Denied"), *failed = condition(csr, "Failed");
    if (denied)
        return kn_error_set(err, KN_EFORBIDDEN,
                            "certificate signing request is denied, reason: %s, message: %s",
                            cond_str(denied, "reason"), cond_str(denied, "message"));
    if (failed)
        return kn_error_set(err, KN_EFORBIDDEN,
                            "certificate signing request failed, reason: %s, message: %s",
                            cond_str(failed, "reason"), cond_str(failed, "message"));
    const char *b64 = NULL;
    kn_json_get_string_opt(csr, "status.certificate", NULL, &b64, NULL);
    if (!condition(csr, "Approved") || !b64 || !*b64)
        return 0;
    size_t len, bad;
    if (kc_base64_decode(b64, strlen(b64), cert, &len, &bad) < 0)
        return kn_error_set(err, KN_EINVAL, "status.certificate: illegal base64 data at %zu", bad);
    return 1;
}

/* Feeds watch bytes; returns csr_outcome of the first decided event, 0 if none. */
static int feed_events(kc_json_splitter *sp, const char *data, size_t n, char **cert,
                       kn_error **err)
{
    size_t off = 0;
    while (off < n) {
        size_t used;
        const char *v;
        size_t vlen;
        int f = kc_splitter_feed(sp, data + off, n - off, &used, &v, &vlen, err);
        if (f <= 0)
            return f;
        off += used;
        kc_watch_event ev;
        if (kc_watch_event_decode(v, vlen, &ev, NULL) < 0)
            continue;
        int r = ev.type == KC_WATCH_ADDED || ev.type == KC_WATCH_MODIFIED
                    ? csr_outcome(ev.object, cert, err)
                    : 0;
        kc_watch_event_clear(&ev);
        if (r != 0)
            return r;
    }
    return 0;
}

/* Reads one watch stream (the server ends it after timeout_s) on the named
 * CSR from resourceVersion rv. */
static int watch_once(kc_client *c, const char *name, const char *rv, int64_t timeout_s,
                      char **cert, kn_error **err)
{
    cleanup_free char *sel = xasprintf("metadata.name=%s", name);
    kc_list_options lo = {
        .field_selector = sel, .resource_version = rv, .timeout_seconds = timeout_s};
    kn_buf path = KN_BUF_INIT;
    kc_resource_path(&path, &kc_res_csrs, NULL, NULL, NULL);
    kc_list_query(&path, &lo, true);
    kc_request req = {.method = "GET", .path = path.data};
    kc_stream *s = NULL;
    int r = kc_client_stream(c, &req, &s, err);
    kn_buf_free(&path);
    if (r < 0)
        return r;
    kc_json_splitter sp;
    kc_splitter_init(&sp, 0);
    char buf[8192];
    ssize_t n;
    while (r == 0 && (n = kc_stream_read(s, buf, sizeof(buf), 0, NULL)) > 0)
        r = feed_events(&sp, buf, (size_t)n, cert, err);
    kc_splitter_free(&sp);
    kc_stream_close(s);
    return r;
}

static int wait_issued(kc_client *c, const char *name, int64_t timeout_ns, char **cert,
                       kn_error **err)
{
    int64_t deadline = kn_time_add(kn_time_monotonic_ns(), timeout_ns);
    for (;;) {
        cleanup_cjson cJSON *csr = NULL;
        if (kc_get(c, &kc_res_csrs, NULL, name, &csr, err) < 0)
            return kc_fail(err);
        int r = csr_outcome(csr, cert, err);
        if (r != 0)
            return r < 0 ? r : 0;
        int64_t left = deadline - kn_time_monotonic_ns();
        if (left <= 0)
            return kn_error_set(err, KN_ETIMEDOUT,
                                "timed out waiting for certificate signing request %s", name);
        int64_t secs = left / KN_NSEC_PER_SEC + 1;
        const char *rv = NULL;
        kn_json_get_string_opt(csr, "metadata.resourceVersion", NULL, &rv, NULL);
        r = watch_once(c, name, rv, secs > 60 ? 60 : secs, cert, err);
        if (r != 0)
            return r < 0 ? r : 0;
    }
}

/* ---- files ------------------------------------------------------------------------------ */

static int write_atomic(const char *path, const char *data, mode_t mode, kn_error **err)
{
    cleanup_free char *tmp = xasprintf("%s.tmp.%d", path, (int)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0)
        return kn_error_errno(err, errno, "write %s", path);
    size_t len = strlen(data), off = 0;
    int r = 0;
    while (off < len && r == 0) {
        ssize_t n = write(fd, data + off, len - off);
        if (n < 0 && errno != EINTR)
            r = kn_error_errno(err, errno, "write %s", path);
        else if (n > 0)
            off += (size_t)n;
    }
    if (r == 0 && (fchmod(fd, mode) < 0 || fsync(fd) < 0))
        r = kn_error_errno(err, errno, "write %s", path);
    close(fd);
    if (r == 0 && rename(tmp, path) < 0)
        r = kn_error_errno(err, errno, "rename %s", tmp);
    if (r < 0)
        unlink(tmp);
    return r;
}

static int ensure_dir(const char *dir, kn_error **err)
{
    if (mkdir(dir, 0700) < 0 && errno != EEXIST)
        return kn_error_errno(err, errno, "create %s", dir);
    return 0;
}

/* The key kept in <dir>/kubelet-client.key.tmp while a bootstrap is under
 * way (reused after a restart, as upstream does), generated if absent. */
static EVP_PKEY *bootstrap_key(const char *dir, kn_error **err)
{
    cleanup_free char *path = xasprintf("%s/" KC_BOOTSTRAP_KEY, dir);
    cleanup_free char *pem = NULL;
    size_t len;
    EVP_PKEY *k = NULL;
    if (kn_read_file(path, 1 << 20, &pem, &len, NULL) == 0)
        k = parse_key(pem);
    if (k)
        return k;
    k = EVP_EC_gen("P-256");
    if (!k) {
        kn_ossl_error(err, KN_EINTERNAL, "generate key");
        return NULL;
    }
    cleanup_free char *fresh = key_pem(k);
    if (write_atomic(path, fresh, 0600, err) < 0) {
        EVP_PKEY_free(k);
        return NULL;
    }
    return k;
}

/* Writes cert + key to <dir>/kubelet-client-<time>.pem and points
 * kubelet-client-current.pem at it (symlink replaced atomically). */
static int store_pair(const char *dir, const char *cert, const char *key, kn_error **err)
{
    char stamp[32];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(stamp, sizeof(stamp), "%Y-%m-%d-%H-%M-%S", &tm);
    cleanup_free char *name = xasprintf("kubelet-client-%s.pem", stamp);
    cleanup_free char *path = xasprintf("%s/%s", dir, name);
    for (int i = 1; access(path, F_OK) == 0; i++) { /* two in one second */
        free(name);
        free(path);
        name = xasprintf("kubelet-client-%s-%d.pem", stamp, i);
        path = xasprintf("%s/%s", dir, name);
    }
    cleanup_free char *both = xasprintf("%s%s", cert, key);
    if (write_atomic(path, both, 0600, err) < 0)
        return kc_fail(err);
    cleanup_free char *link = xasprintf("%s/" KC_CURRENT_PEM, dir);
    cleanup_free char *tmp = xasprintf("%s.tmp", link);
    unlink(tmp);
    if (symlink(name, tmp) < 0 || rename(tmp, link) < 0)
        return kn_error_errno(err, errno, "update %s", link);
    return 0;
}

static int write_kubeconfig(const char *path, const kc_config *from, const char *pem_path,
                            kn_error **err)
{
    kn_buf y = KN_BUF_INIT;
    kn_buf_appendf(&y,
                   "apiVersion: v1\nkind: Config\nclusters:\n- name: default-cluster\n"
                   "  cluster:\n    server: \"%s\"\n",
                   from->server);
    if (from->ca.data) {
        cleanup_free char *ca = base64_std((const unsigned char *)from->ca.data, from->ca.len);
        kn_buf_appendf(&y, "    certificate-authority-data: %s\n", ca);
    }
    if (from->insecure_skip_tls_verify)
        kn_buf_append_str(&y, "    insecure-skip-tls-verify: true\n");
    if (from->tls_server_name)
        kn_buf_appendf(&y, "    tls-server-name: \"%s\"\n", from->tls_server_name);
    kn_buf_appendf(&y,
                   "contexts:\n- name: default-context\n  context:\n    cluster: default-cluster\n"
                   "    namespace: default\n    user: default-auth\n"
                   "current-context: default-context\n"
                   "users:\n- name: default-auth\n  user:\n    client-certificate: \"%s\"\n"
                   "    client-key: \"%s\"\n",
                   pem_path, pem_path);
    int r = write_atomic(path, y.data, 0600, err);
    kn_buf_free(&y);
    return r;
}

/* ---- certificates ------------------------------------------------------------------------ */

static int64_t asn1_ns(const ASN1_TIME *t)
{
    struct tm tm;
    if (!ASN1_TIME_to_tm(t, &tm))
        return 0;
    return (int64_t)timegm(&tm) * KN_NSEC_PER_SEC;
}

int kc_cert_validity(const char *pem, int64_t *not_before_ns, int64_t *not_after_ns, kn_error **err)
{
    X509 *c = first_cert(pem, err);
    if (!c)
        return -KN_EINVAL;
    *not_before_ns = asn1_ns(X509_get0_notBefore(c));
    *not_after_ns = asn1_ns(X509_get0_notAfter(c));
    X509_free(c);
    return 0;
}

int64_t kc_cert_rotation_deadline(int64_t not_before_ns, int64_t not_after_ns, double r)
{
    double total = (double)(not_after_ns - not_before_ns);
    if (r < 0)
        r = 0;
    if (r >= 1)
        r = 0.999999;
    return not_before_ns + (int64_t)(total * (0.7 + 0.2 * r));
}

/* True if the kubeconfig exists and its client certificate is valid at now. */
static bool identity_valid(const char *kubeconfig, int64_t now)
{
    cleanup_kc_config kc_config *cfg = NULL;
    if (access(kubeconfig, F_OK) != 0 || kc_config_load(kubeconfig, NULL, &cfg, NULL) < 0 ||
        !cfg->client_cert.data)
        return false;
    int64_t nb, na;
    return kc_cert_validity(cfg->client_cert.data, &nb, &na, NULL) == 0 && nb <= now && now < na;
}

typedef struct request {
    kc_client *client;
    const char *node;
    const char *name; /* NULL: generateName csr- */
    int64_t expiration_s;
    int64_t timeout_ns;
} request;

/* Creates the CSR for key k (an existing one of the same name is reused) and
 * waits for the certificate (PEM, owned). */
static int request_cert(const request *rq, EVP_PKEY *k, char **cert, kn_error **err)
{
    cleanup_free char *csr_pem = make_csr(k, rq->node, err);
    if (!csr_pem)
        return kc_fail(err);
    cleanup_cjson cJSON *obj = csr_object(rq->name, csr_pem, rq->expiration_s), *made = NULL;
    cleanup_error kn_error *e = NULL;
    if (kc_create(rq->client, &kc_res_csrs, NULL, obj, &made, &e) < 0 &&
        kn_error_code(e) != KN_EEXIST)
        return kc_error_move(err, &e);
    const char *name = rq->name;
    if (made)
        kn_json_get_string_opt(made, "metadata.name", rq->name, &name, NULL);
    KN_INFO("bootstrap", "waiting for certificate signing request %s", name);
    if (wait_issued(rq->client, name, rq->timeout_ns ? rq->timeout_ns : 3600 * KN_NSEC_PER_SEC,
                    cert, err) < 0)
        return kn_error_wrap(err, "certificate signing request %s", name);
    X509 *c = first_cert(*cert, err);
    int ok = c && X509_check_private_key(c, k) == 1;
    X509_free(c);
    if (!ok) {
        free(*cert);
        *cert = NULL;
        return kn_error_set(err, KN_EINVAL, "the issued certificate does not match the key");
    }
    return 0;
}

static int bootstrap_config(const kc_bootstrap_options *o, kc_config **cfg, kn_error **err)
{
    if (o->bootstrap_kubeconfig && *o->bootstrap_kubeconfig)
        return kc_config_load(o->bootstrap_kubeconfig, NULL, cfg, err);
    if (!o->server || !o->token)
        return kn_error_set(err, KN_EINVAL,
                            "bootstrap needs --server, --token and --ca-cert-hash, or a "
                            "bootstrap kubeconfig");
    cleanup_free char *ca = NULL;
    if (kc_bootstrap_discover(o->server, o->token, o->ca_cert_hash, o->discovery_timeout_ns, &ca,
                              err) < 0)
        return kc_fail(err);
    identity id = {o->server, ca, o->token, NULL};
    return config_for(&id, cfg, err);
}

static int bootstrap_with(const kc_bootstrap_options *o, const kc_config *cfg, kn_error **err)
{
    EVP_PKEY *k = bootstrap_key(o->cert_dir, err);
    if (!k)
        return kc_fail(err);
    kc_client *c = NULL;
    cleanup_free char *name = digested_name(k, o->node_name), *cert = NULL;
    int r = kc_client_new(cfg, NULL, &c, err);
    request rq = {c, o->node_name, name, o->expiration_s, o->timeout_ns};
    if (r == 0)
        r = request_cert(&rq, k, &cert, err);
    kc_client_free(c);
    cleanup_free char *kpem = key_pem(k);
    EVP_PKEY_free(k);
    cleanup_free char *current = xasprintf("%s/" KC_CURRENT_PEM, o->cert_dir);
    if (r == 0)
        r = store_pair(o->cert_dir, cert, kpem, err);
    if (r == 0)
        r = write_kubeconfig(o->kubeconfig, cfg, current, err);
    if (r == 0) {
        cleanup_free char *tmpkey = xasprintf("%s/" KC_BOOTSTRAP_KEY, o->cert_dir);
        unlink(tmpkey);
    }
    return r;
}

int kc_bootstrap_run(const kc_bootstrap_options *o, kn_error **err)
{
    if (!o->node_name || !*o->node_name || !o->cert_dir || !o->kubeconfig)
        return kn_error_set(err, KN_EINVAL,
                            "bootstrap needs a node name, a cert dir and a "
                            "kubeconfig path");
    if (identity_valid(o->kubeconfig, kn_time_wall_ns()))
        return 0;
    cleanup_kc_config kc_config *cfg = NULL;
    if (ensure_dir(o->cert_dir, err) < 0 || bootstrap_config(o, &cfg, err) < 0 ||
        bootstrap_with(o, cfg, err) < 0)
        return kn_error_wrap(err, "TLS bootstrap of node %s", o->node_name);
    KN_INFO("bootstrap", "node %s: client certificate issued, kubeconfig %s", o->node_name,
            o->kubeconfig);
    return 0;
}

/* ---- rotation ------------------------------------------------------------------------------ */

struct kc_cert_manager {
    char *kubeconfig, *cert_dir, *node;
    int64_t expiration_s;
    void (*rotated)(void *);
    void *userdata;
    kn_clock *clock;
    kn_rand own_rand, *rand;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cond;
    bool stop;
    int64_t deadline;
    int rotations;
};

/* One rotation with the current identity. */
static int rotate(kc_cert_manager *m, kn_error **err)
{
    cleanup_kc_config kc_config *cfg = NULL;
    if (kc_config_load(m->kubeconfig, NULL, &cfg, err) < 0)
        return kc_fail(err);
    EVP_PKEY *k = EVP_EC_gen("P-256");
    if (!k)
        return kn_ossl_error(err, KN_EINTERNAL, "generate key");
    kc_client *c = NULL;
    cleanup_free char *cert = NULL, *kpem = key_pem(k);
    int r = kc_client_new(cfg, NULL, &c, err);
    request rq = {c, m->node, NULL, m->expiration_s, 0};
    if (r == 0)
        r = request_cert(&rq, k, &cert, err);
    kc_client_free(c);
    EVP_PKEY_free(k);
    if (r == 0)
        r = store_pair(m->cert_dir, cert, kpem, err);
    return r;
}

/* The next deadline for the current certificate, or now when unreadable. */
static int64_t next_deadline(kc_cert_manager *m)
{
    cleanup_kc_config kc_config *cfg = NULL;
    int64_t nb, na;
    if (kc_config_load(m->kubeconfig, NULL, &cfg, NULL) < 0 || !cfg->client_cert.data ||
        kc_cert_validity(cfg->client_cert.data, &nb, &na, NULL) < 0)
        return kn_clock_now(m->clock);
    return kc_cert_rotation_deadline(nb, na, kn_rand_float(m->rand));
}

/* Waits (mu held) until deadline or stop; returns false on stop. */
static bool wait_until(kc_cert_manager *m, int64_t deadline)
{
    while (!m->stop && kn_clock_now(m->clock) < deadline)
        kn_clock_wait_until(m->clock, &m->cond, &m->mu, deadline);
    return !m->stop;
}

static void *manager_main(void *arg)
{
    kc_cert_manager *m = arg;
    int64_t backoff = 2 * KN_NSEC_PER_SEC;
    pthread_mutex_lock(&m->mu);
    for (;;) {
        pthread_mutex_unlock(&m->mu);
        int64_t d = next_deadline(m);
        pthread_mutex_lock(&m->mu);
        m->deadline = d;
        pthread_cond_broadcast(&m->cond);
        if (!wait_until(m, d))
            break;
        pthread_mutex_unlock(&m->mu);
        kn_error *err = NULL;
        int r = rotate(m, &err);
        if (r == 0 && m->rotated)
            m->rotated(m->userdata);
        pthread_mutex_lock(&m->mu);
        if (r == 0) {
            m->rotations++;
            backoff = 2 * KN_NSEC_PER_SEC;
            KN_INFO("bootstrap", "node %s: client certificate rotated", m->node);
            continue;
        }
        KN_WARN("bootstrap", "node %s: rotate client certificate: %s", m->node, kn_error_msg(err));
        kn_error_free(&err);
        if (!wait_until(m, kn_time_add(kn_clock_now(m->clock), backoff)))
            break;
        backoff = backoff * 2 > 300 * KN_NSEC_PER_SEC ? 300 * KN_NSEC_PER_SEC : backoff * 2;
    }
    pthread_mutex_unlock(&m->mu);
    return NULL;
}

int kc_cert_manager_start(const kc_cert_manager_options *o, kc_cert_manager **out, kn_error **err)
{
    if (!o->kubeconfig || !o->cert_dir || !o->node_name)
        return kn_error_set(err, KN_EINVAL,
                            "certificate manager needs a kubeconfig, a cert dir "
                            "and a node name");
    kc_cert_manager *m = xcalloc(1, sizeof(*m));
    m->kubeconfig = xstrdup(o->kubeconfig);
    m->cert_dir = xstrdup(o->cert_dir);
    m->node = xstrdup(o->node_name);
    m->expiration_s = o->expiration_s;
    m->rotated = o->rotated;
    m->userdata = o->userdata;
    m->clock = o->clock ? o->clock : kn_clock_realtime();
    kn_rand_init(&m->own_rand);
    m->rand = o->rand ? o->rand : &m->own_rand;
    pthread_mutex_init(&m->mu, NULL);
    kn_cond_init(&m->cond);
    if (pthread_create(&m->thread, NULL, manager_main, m) != 0) {
        int e = errno;
        pthread_cond_destroy(&m->cond);
        pthread_mutex_destroy(&m->mu);
        free(m->kubeconfig);
        free(m->cert_dir);
        free(m->node);
        free(m);
        return kn_error_errno(err, e, "start certificate manager");
    }
    *out = m;
    return 0;
}

int64_t kc_cert_manager_deadline(kc_cert_manager *m)
{
    pthread_mutex_lock(&m->mu);
    int64_t d = m->deadline;
    pthread_mutex_unlock(&m->mu);
    return d;
}

int kc_cert_manager_rotations(kc_cert_manager *m)
{
    pthread_mutex_lock(&m->mu);
    int n = m->rotations;
    pthread_mutex_unlock(&m->mu);
    return n;
}

void kc_cert_manager_stop(kc_cert_manager *m)
{
    if (!m)
        return;
    pthread_mutex_lock(&m->mu);
    m->stop = true;
    pthread_cond_broadcast(&m->cond);
    pthread_mutex_unlock(&m->mu);
    pthread_join(m->thread, NULL);
    pthread_cond_destroy(&m->cond);
    pthread_mutex_destroy(&m->mu);
    free(m->kubeconfig);
    free(m->cert_dir);
    free(m->node);
    free(m);
}

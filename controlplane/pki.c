/* pki.c - certificate authority and certificates with OpenSSL 3. */
#include "controlplane/pki.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "lib/cleanup.h"
#include "lib/file.h"
#include "lib/ossl.h"
#include "lib/strbuf.h"
#include "lib/xalloc.h"

enum { CA_DAYS = 3650, CERT_DAYS = 365 };

static char *path_in(const char *dir, const char *name)
{
    return xasprintf("%s/%s", dir, name);
}

static bool exists(const char *path)
{
    return access(path, F_OK) == 0;
}

/* Writes data to path atomically (temp file + rename) with the given mode. */
static int write_file(const char *path, const char *data, size_t len, mode_t mode, kn_error **err)
{
    char *tmp = xasprintf("%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    int r = 0;
    if (fd < 0) {
        r = kn_error_errno(err, errno, "write %s", path);
    } else {
        size_t off = 0;
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
            r = kn_error_errno(err, errno, "rename %s", path);
    }
    if (r < 0)
        unlink(tmp);
    free(tmp);
    return r;
}

/* PEM of a key or cert via a memory BIO; returns an owned string. */
static char *bio_to_string(BIO *b)
{
    char *data;
    long n = BIO_get_mem_data(b, &data);
    return xstrndup(data, (size_t)n);
}

static int write_key(const char *path, EVP_PKEY *key, kn_error **err)
{
    BIO *b = BIO_new(BIO_s_mem());
    if (!PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL, NULL)) {
        BIO_free(b);
        return kn_ossl_error(err, KN_EINTERNAL, "encode key");
    }
    char *pem = bio_to_string(b);
    BIO_free(b);
    int r = write_file(path, pem, strlen(pem), 0600, err);
    free(pem);
    return r;
}

static int write_cert(const char *path, X509 *cert, kn_error **err)
{
    BIO *b = BIO_new(BIO_s_mem());
    if (!PEM_write_bio_X509(b, cert)) {
        BIO_free(b);
        return kn_ossl_error(err, KN_EINTERNAL, "encode certificate");
    }
    char *pem = bio_to_string(b);
    BIO_free(b);
    int r = write_file(path, pem, strlen(pem), 0644, err);
    free(pem);
    return r;
}

static EVP_PKEY *read_key(const char *path, kn_error **err)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        kn_error_errno(err, errno, "read %s", path);
        return NULL;
    }
    EVP_PKEY *k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    if (!k)
        kn_ossl_error(err, KN_EINTERNAL, path);
    return k;
}

static X509 *read_cert(const char *path, kn_error **err)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        kn_error_errno(err, errno, "read %s", path);
        return NULL;
    }
    X509 *c = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    if (!c)
        kn_ossl_error(err, KN_EINTERNAL, path);
    return c;
}

static int add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    if (!ext)
        return -1;
    int ok = X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
    return ok ? 0 : -1;
}

static void random_serial(X509 *cert)
{
    unsigned char buf[16];
    RAND_bytes(buf, sizeof(buf));
    buf[0] &= 0x7f;
    BIGNUM *bn = BN_bin2bn(buf, sizeof(buf), NULL);
    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert));
    BN_free(bn);
}

/* subject "CN=x" plus O= entries */
static X509_NAME *make_name(const char *cn, const char *const *orgs)
{
    X509_NAME *n = X509_NAME_new();
    for (size_t i = 0; orgs && orgs[i]; i++)
        X509_NAME_add_entry_by_txt(n, "O", MBSTRING_UTF8, (const unsigned char *)orgs[i], -1, -1,
                                   0);
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0);
    return n;
}

typedef struct cert_spec {
    const X509_NAME *subject;
    EVP_PKEY *pubkey;
    X509 *issuer; /* NULL: self-signed */
    EVP_PKEY *issuer_key;
    int days;
    const char *key_usage; /* "critical,digitalSignature,..." */
    const char *ext_usage; /* "serverAuth" / "clientAuth" / NULL */
    const char *san;       /* "DNS:a,IP:1.2.3.4" / NULL */
    bool is_ca;
} cert_spec;

static X509 *make_cert(const cert_spec *spec, kn_error **err)
{
    X509 *c = X509_new();
    X509_set_version(c, 2);
    random_serial(c);
    X509_gmtime_adj(X509_getm_notBefore(c), -3600);
    X509_gmtime_adj(X509_getm_notAfter(c), (long)spec->days * 86400L);
    X509_set_subject_name(c, spec->subject);
    X509_set_issuer_name(c, spec->issuer ? X509_get_subject_name(spec->issuer) : spec->subject);
    X509_set_pubkey(c, spec->pubkey);
    X509 *iss = spec->issuer ? spec->issuer : c;
    int bad = add_ext(c, iss, NID_basic_constraints,
                      spec->is_ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
    bad |= add_ext(c, iss, NID_key_usage, spec->key_usage);
    bad |= add_ext(c, iss, NID_subject_key_identifier, "hash");
    if (spec->issuer)
        bad |= add_ext(c, iss, NID_authority_key_identifier, "keyid:always");
    if (spec->ext_usage)
        bad |= add_ext(c, iss, NID_ext_key_usage, spec->ext_usage);
    if (spec->san)
        bad |= add_ext(c, iss, NID_subject_alt_name, spec->san);
    if (bad || !X509_sign(c, spec->issuer_key, EVP_sha256())) {
        X509_free(c);
        kn_ossl_error(err, KN_EINTERNAL, "sign certificate");
        return NULL;
    }
    return c;
}

static int ensure_ca(const char *dir, kn_error **err)
{
    cleanup_free char *crt = path_in(dir, "ca.crt"), *key = path_in(dir, "ca.key");
    if (exists(crt) && exists(key))
        return 0;
    EVP_PKEY *k = EVP_EC_gen("P-256");
    if (!k)
        return kn_ossl_error(err, KN_EINTERNAL, "generate CA key");
    X509_NAME *name = make_name("knode-ca", NULL);
    cert_spec spec = {name, k,    NULL, k, CA_DAYS, "critical,digitalSignature,keyCertSign,cRLSign",
                      NULL, NULL, true};
    X509 *c = make_cert(&spec, err);
    int r = c ? write_key(key, k, err) : -KN_EINTERNAL;
    if (r == 0)
        r = write_cert(crt, c, err);
    X509_free(c);
    X509_NAME_free(name);
    EVP_PKEY_free(k);
    return r;
}

typedef struct ca_pair {
    X509 *cert;
    EVP_PKEY *key;
} ca_pair;

static int load_ca(const char *dir, ca_pair *ca, kn_error **err)
{
    cleanup_free char *crt = path_in(dir, "ca.crt"), *key = path_in(dir, "ca.key");
    ca->cert = read_cert(crt, err);
    ca->key = ca->cert ? read_key(key, err) : NULL;
    if (!ca->key) {
        X509_free(ca->cert);
        ca->cert = NULL;
        return -KN_EIO;
    }
    return 0;
}

static void free_ca(ca_pair *ca)
{
    X509_free(ca->cert);
    EVP_PKEY_free(ca->key);
}

static char *build_sans(const kn_pki_opts *o)
{
    kn_buf b;
    kn_buf_init(&b);
    const char *domain = o->cluster_domain ? o->cluster_domain : "cluster.local";
    kn_buf_appendf(&b,
                   "DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,"
                   "DNS:kubernetes.default.svc.%s,DNS:localhost,IP:127.0.0.1",
                   domain);
    for (size_t i = 0; o->dns_sans && o->dns_sans[i]; i++)
        kn_buf_appendf(&b, ",DNS:%s", o->dns_sans[i]);
    for (size_t i = 0; o->ip_sans && o->ip_sans[i]; i++)
        kn_buf_appendf(&b, ",IP:%s", o->ip_sans[i]);
    return kn_buf_steal(&b);
}

/* True if the existing serving cert's SAN extension equals want. */
static bool sans_match(const char *crt_path, const char *want)
{
    X509 *c = read_cert(crt_path, NULL);
    if (!c)
        return false;
    X509 *probe = X509_new();
    add_ext(probe, probe, NID_subject_alt_name, want);
    int idx_a = X509_get_ext_by_NID(c, NID_subject_alt_name, -1);
    int idx_b = X509_get_ext_by_NID(probe, NID_subject_alt_name, -1);
    bool same = false;
    if (idx_a >= 0 && idx_b >= 0) {
        ASN1_OCTET_STRING *a = X509_EXTENSION_get_data(X509_get_ext(c, idx_a));
        ASN1_OCTET_STRING *b = X509_EXTENSION_get_data(X509_get_ext(probe, idx_b));
        same = ASN1_OCTET_STRING_cmp(a, b) == 0;
    }
    X509_free(probe);
    X509_free(c);
    return same;
}

static int issue(const char *dir, const cert_spec *tmpl, const char *crt_path, const char *key_path,
                 kn_error **err)
{
    ca_pair ca;
    if (load_ca(dir, &ca, err) < 0)
        return -KN_EIO;
    EVP_PKEY *k = EVP_EC_gen("P-256");
    cert_spec spec = *tmpl;
    spec.pubkey = k;
    spec.issuer = ca.cert;
    spec.issuer_key = ca.key;
    X509 *c = k ? make_cert(&spec, err) : NULL;
    int r = c ? write_key(key_path, k, err) : kn_ossl_error(err, KN_EINTERNAL, "generate key");
    if (r == 0)
        r = write_cert(crt_path, c, err);
    X509_free(c);
    EVP_PKEY_free(k);
    free_ca(&ca);
    return r;
}

static int ensure_serving(const kn_pki_opts *o, kn_error **err)
{
    cleanup_free char *crt = path_in(o->data_dir, "apiserver.crt");
    cleanup_free char *key = path_in(o->data_dir, "apiserver.key");
    cleanup_free char *sans = build_sans(o);
    if (exists(crt) && exists(key) && sans_match(crt, sans))
        return 0;
    X509_NAME *name = make_name("kube-apiserver", NULL);
    cert_spec spec = {name,         NULL,      NULL,
                      NULL,         CERT_DAYS, "critical,digitalSignature,keyEncipherment",
                      "serverAuth", sans,      false};
    int r = issue(o->data_dir, &spec, crt, key, err);
    X509_NAME_free(name);
    return r;
}

int kn_pki_issue_client(const char *data_dir, const char *cn, const char *const *orgs,
                        const char *cert_path, const char *key_path, kn_error **err)
{
    X509_NAME *name = make_name(cn, orgs);
    cert_spec spec = {name,         NULL,      NULL,
                      NULL,         CERT_DAYS, "critical,digitalSignature,keyEncipherment",
                      "clientAuth", NULL,      false};
    int r = issue(data_dir, &spec, cert_path, key_path, err);
    X509_NAME_free(name);
    return r;
}

static int ensure_sa_key(const char *dir, kn_error **err)
{
    cleanup_free char *key = path_in(dir, "sa.key"), *pub = path_in(dir, "sa.pub");
    if (exists(key) && exists(pub))
        return 0;
    EVP_PKEY *k = EVP_RSA_gen(2048);
    if (!k)
        return kn_ossl_error(err, KN_EINTERNAL, "generate service-account key");
    int r = write_key(key, k, err);
    if (r == 0) {
        BIO *b = BIO_new(BIO_s_mem());
        PEM_write_bio_PUBKEY(b, k);
        char *pem = bio_to_string(b);
        BIO_free(b);
        r = write_file(pub, pem, strlen(pem), 0644, err);
        free(pem);
    }
    EVP_PKEY_free(k);
    return r;
}

/* base64 of a whole file, for kubeconfig *-data fields */
static char *file_base64(const char *path, kn_error **err)
{
    cleanup_free char *raw = NULL;
    size_t len = 0;
    if (kn_read_file(path, 1 << 20, &raw, &len, err) < 0)
        return NULL;
    char *out = xmalloc(4 * ((len + 2) / 3) + 1);
    EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)raw, (int)len);
    return out;
}

static int write_admin_kubeconfig(const kn_pki_opts *o, kn_error **err)
{
    cleanup_free char *ca = path_in(o->data_dir, "ca.crt");
    cleanup_free char *crt = path_in(o->data_dir, "admin.crt");
    cleanup_free char *key = path_in(o->data_dir, "admin.key");
    cleanup_free char *kc = path_in(o->data_dir, "admin.kubeconfig");
    cleanup_free char *ca64 = file_base64(ca, err);
    cleanup_free char *crt64 = ca64 ? file_base64(crt, err) : NULL;
    cleanup_free char *key64 = crt64 ? file_base64(key, err) : NULL;
    if (!key64)
        return -KN_EIO;
    cleanup_free char *doc =
        xasprintf("apiVersion: v1\nkind: Config\nclusters:\n- name: knode\n  cluster:\n"
                  "    server: %s\n    certificate-authority-data: %s\n"
                  "users:\n- name: admin\n  user:\n    client-certificate-data: %s\n"
                  "    client-key-data: %s\n"
                  "contexts:\n- name: knode\n  context:\n    cluster: knode\n    user: admin\n"
                  "current-context: knode\n",
                  o->server_url, ca64, crt64, key64);
    return write_file(kc, doc, strlen(doc), 0600, err);
}

int kn_pki_ensure(const kn_pki_opts *o, kn_error **err)
{
    if (mkdir(o->data_dir, 0700) < 0 && errno != EEXIST)
        return kn_error_errno(err, errno, "create data dir %s", o->data_dir);
    cleanup_free char *admin_crt = path_in(o->data_dir, "admin.crt");
    cleanup_free char *admin_key = path_in(o->data_dir, "admin.key");
    cleanup_free char *kc_crt = path_in(o->data_dir, "apiserver-kubelet-client.crt");
    cleanup_free char *kc_key = path_in(o->data_dir, "apiserver-kubelet-client.key");
    static const char *const masters[] = {"system:masters", NULL};
    int r = ensure_ca(o->data_dir, err);
    if (r == 0)
        r = ensure_serving(o, err);
    if (r == 0 && !(exists(admin_crt) && exists(admin_key)))
        r = kn_pki_issue_client(o->data_dir, "kubernetes-admin", masters, admin_crt, admin_key,
                                err);
    if (r == 0 && !(exists(kc_crt) && exists(kc_key)))
        r = kn_pki_issue_client(o->data_dir, "kube-apiserver-kubelet-client", masters, kc_crt,
                                kc_key, err);
    if (r == 0)
        r = ensure_sa_key(o->data_dir, err);
    if (r == 0)
        r = write_admin_kubeconfig(o, err);
    return r < 0 ? kn_error_wrap(err, "certificates in %s", o->data_dir) : 0;
}

int kn_pki_ca_hash(const char *ca_cert_path, char *out, size_t outlen, kn_error **err)
{
    X509 *c = read_cert(ca_cert_path, err);
    if (!c)
        return -KN_EIO;
    unsigned char *der = NULL;
    int n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(c), &der);
    X509_free(c);
    if (n <= 0)
        return kn_ossl_error(err, KN_EINTERNAL, "encode CA public key");
    unsigned char md[32];
    unsigned int mdlen = 0;
    EVP_Digest(der, (size_t)n, md, &mdlen, EVP_sha256(), NULL);
    OPENSSL_free(der);
    if (outlen < 7 + 64 + 1)
        return kn_error_set(err, KN_EINVAL, "hash buffer too small");
    memcpy(out, "sha256:", 7);
    for (unsigned int i = 0; i < mdlen; i++)
        snprintf(out + 7 + 2 * i, 3, "%02x", md[i]);
    return 0;
}

int kn_pki_sign_client_csr(const char *data_dir, const char *csr_pem, int days, char **cert_pem,
                           kn_error **err)
{
    BIO *in = BIO_new_mem_buf(csr_pem, -1);
    X509_REQ *req = PEM_read_bio_X509_REQ(in, NULL, NULL, NULL);
    BIO_free(in);
    if (!req)
        return kn_ossl_error(err, KN_EINTERNAL, "parse certificate request");
    EVP_PKEY *pub = X509_REQ_get_pubkey(req);
    int r = pub && X509_REQ_verify(req, pub) == 1
                ? 0
                : kn_ossl_error(err, KN_EINTERNAL, "verify certificate request");
    ca_pair ca = {0};
    if (r == 0)
        r = load_ca(data_dir, &ca, err);
    if (r == 0) {
        cert_spec spec = {X509_REQ_get_subject_name(req),
                          pub,
                          ca.cert,
                          ca.key,
                          days,
                          "critical,digitalSignature,keyEncipherment",
                          "clientAuth",
                          NULL,
                          false};
        X509 *c = make_cert(&spec, err);
        if (c) {
            BIO *b = BIO_new(BIO_s_mem());
            PEM_write_bio_X509(b, c);
            *cert_pem = bio_to_string(b);
            BIO_free(b);
            X509_free(c);
        } else {
            r = -KN_EINTERNAL;
        }
    }
    free_ca(&ca);
    EVP_PKEY_free(pub);
    X509_REQ_free(req);
    return r;
}

int kn_pki_self_signed_serving(const char *cn, const char *const *dns_sans,
                               const char *const *ip_sans, const char *cert_path,
                               const char *key_path, kn_error **err)
{
    kn_buf sans;
    kn_buf_init(&sans);
    for (size_t i = 0; dns_sans && dns_sans[i]; i++)
        kn_buf_appendf(&sans, "%sDNS:%s", sans.len ? "," : "", dns_sans[i]);
    for (size_t i = 0; ip_sans && ip_sans[i]; i++)
        kn_buf_appendf(&sans, "%sIP:%s", sans.len ? "," : "", ip_sans[i]);
    EVP_PKEY *k = EVP_EC_gen("P-256");
    X509_NAME *name = make_name(cn, NULL);
    cert_spec spec = {name,         k,
                      NULL,         k,
                      CERT_DAYS,    "critical,digitalSignature,keyEncipherment",
                      "serverAuth", sans.len ? sans.data : NULL,
                      false};
    X509 *c = k ? make_cert(&spec, err) : NULL;
    int r = c ? write_key(key_path, k, err)
              : (k ? -KN_EINTERNAL : kn_ossl_error(err, KN_EINTERNAL, "generate key"));
    if (r == 0)
        r = write_cert(cert_path, c, err);
    X509_free(c);
    X509_NAME_free(name);
    EVP_PKEY_free(k);
    kn_buf_free(&sans);
    return r;
}

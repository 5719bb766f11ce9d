/* csr-signer.c - the CertificateSigningRequest strategy, auto-approval of
 * node client certificates, signing with the cluster CA, and the thread
 * that runs them with the bootstrap signer and token cleaner. */
#include "controlplane/csr-signer.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "api-client/kubeconfig.h"
#include "controlplane/bootstrap-token.h"
#include "controlplane/objmeta.h"
#include "lib/cleanup.h"
#include "lib/clock.h"
#include "lib/duration.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/ossl.h"
#include "lib/strbuf.h"
#include "lib/xalloc.h"

#define SIGNER_KUBELET_CLIENT "kubernetes.io/kube-apiserver-client-kubelet"
#define SIGNER_CLIENT "kubernetes.io/kube-apiserver-client"
#define SIGNER_KUBELET_SERVING "kubernetes.io/kubelet-serving"
#define DEFAULT_DURATION_S (8760LL * 3600)

/* ---- conditions ----------------------------------------------------------------------- */

static cJSON *conditions(cJSON *csr)
{
    cJSON *st = cJSON_GetObjectItemCaseSensitive(csr, "status");
    if (!cJSON_IsObject(st)) {
        cJSON_DeleteItemFromObjectCaseSensitive(csr, "status");
        st = cJSON_AddObjectToObject(csr, "status");
    }
    cJSON *c = cJSON_GetObjectItemCaseSensitive(st, "conditions");
    if (!cJSON_IsArray(c)) {
        cJSON_DeleteItemFromObjectCaseSensitive(st, "conditions");
        c = cJSON_AddArrayToObject(st, "conditions");
    }
    return c;
}

static const cJSON *find_condition(const cJSON *csr, const char *type)
{
    const cJSON *list = NULL, *c;
    kn_json_get_array_opt(csr, "status.conditions", &list, NULL);
    cJSON_ArrayForEach(c, list)
    {
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(c, "type");
        if (cJSON_IsString(t) && strcmp(t->valuestring, type) == 0)
            return c;
    }
    return NULL;
}

static const char *str_of(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void add_condition(cJSON *csr, const char *type, const char *reason, const char *msg)
{
    char now[32];
    kn_rfc3339(0, now, sizeof(now));
    cJSON *c = cJSON_CreateObject();
    cJSON_AddStringToObject(c, "type", type);
    cJSON_AddStringToObject(c, "status", "True");
    cJSON_AddStringToObject(c, "reason", reason);
    cJSON_AddStringToObject(c, "message", msg);
    cJSON_AddStringToObject(c, "lastUpdateTime", now);
    cJSON_AddStringToObject(c, "lastTransitionTime", now);
    cJSON_AddItemToArray(conditions(csr), c);
}

static bool is_decision(const char *type)
{
    return type && (strcmp(type, "Approved") == 0 || strcmp(type, "Denied") == 0);
}

/* upstream's populateConditionTimestamps */
static void fill_timestamps(cJSON *csr, const cJSON *old)
{
    char now[32];
    kn_rfc3339(0, now, sizeof(now));
    cJSON *c;
    cJSON_ArrayForEach(c, conditions(csr))
    {
        if (!str_of(c, "lastUpdateTime"))
            cJSON_AddStringToObject(c, "lastUpdateTime", now);
        if (str_of(c, "lastTransitionTime"))
            continue;
        const cJSON *prev = find_condition(old, str_of(c, "type") ? str_of(c, "type") : "");
        const char *t = prev && str_of(prev, "status") && str_of(c, "status") &&
                                strcmp(str_of(prev, "status"), str_of(c, "status")) == 0
                            ? str_of(prev, "lastTransitionTime")
                            : NULL;
        cJSON_AddStringToObject(c, "lastTransitionTime", t ? t : now);
    }
}

/* ---- parsing requests ------------------------------------------------------------------ */

typedef struct csr_info {
    X509_REQ *req;
    EVP_PKEY *pub;
    char cn[256];
    int norgs;
    bool org_nodes; /* exactly one O, "system:nodes" */
    int n_dns, n_ip, n_email, n_uri;
    STACK_OF(X509_EXTENSION) * exts;
} csr_info;

static void info_free(csr_info *ci)
{
    sk_X509_EXTENSION_pop_free(ci->exts, X509_EXTENSION_free);
    EVP_PKEY_free(ci->pub);
    X509_REQ_free(ci->req);
}

static void read_subject(csr_info *ci)
{
    X509_NAME *n = X509_REQ_get_subject_name(ci->req);
    X509_NAME_get_text_by_NID(n, NID_commonName, ci->cn, sizeof(ci->cn));
    char o[128] = "";
    for (int i = -1; (i = X509_NAME_get_index_by_NID(n, NID_organizationName, i)) >= 0;) {
        ci->norgs++;
        ASN1_STRING *d = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(n, i));
        snprintf(o, sizeof(o), "%.*s", ASN1_STRING_length(d), ASN1_STRING_get0_data(d));
    }
    ci->org_nodes = ci->norgs == 1 && strcmp(o, "system:nodes") == 0;
}

static void read_sans(csr_info *ci)
{
    ci->exts = X509_REQ_get_extensions(ci->req);
    GENERAL_NAMES *names = X509V3_get_d2i(ci->exts, NID_subject_alt_name, NULL, NULL);
    for (int i = 0; i < sk_GENERAL_NAME_num(names); i++) {
        int t = sk_GENERAL_NAME_value(names, i)->type;
        ci->n_dns += t == GEN_DNS;
        ci->n_ip += t == GEN_IPADD;
        ci->n_email += t == GEN_EMAIL;
        ci->n_uri += t == GEN_URI;
    }
    GENERAL_NAMES_free(names);
}

/* Parses a PEM certificate request and checks its signature. */
static int parse_request(const char *pem, csr_info *ci, const char **why)
{
    memset(ci, 0, sizeof(*ci));
    BIO *b = BIO_new_mem_buf(pem, -1);
    ci->req = PEM_read_bio_X509_REQ(b, NULL, NULL, NULL);
    BIO_free(b);
    ERR_clear_error();
    if (!ci->req) {
        *why = "PEM block type must be CERTIFICATE REQUEST";
        return -1;
    }
    ci->pub = X509_REQ_get_pubkey(ci->req);
    if (!ci->pub || X509_REQ_verify(ci->req, ci->pub) != 1) {
        ERR_clear_error();
        *why = "x509: signature of the certificate request is invalid";
        return -1;
    }
    read_subject(ci);
    read_sans(ci);
    return 0;
}

/* spec.request (base64 of PEM) as PEM, owned, or NULL. */
static char *request_pem(const cJSON *csr)
{
    const char *b64 = NULL;
    kn_json_get_string_opt(csr, "spec.request", NULL, &b64, NULL);
    char *pem = NULL;
    size_t len, bad;
    if (!b64 || kc_base64_decode(b64, strlen(b64), &pem, &len, &bad) < 0)
        return NULL;
    return pem;
}

/* ---- usages ---------------------------------------------------------------------------- */

enum {
    U_DIGITAL_SIGNATURE = 1 << 0,
    U_KEY_ENCIPHERMENT = 1 << 1,
    U_CLIENT_AUTH = 1 << 2,
    U_SERVER_AUTH = 1 << 3,
    U_OTHER = 1 << 4,
};

static const char *const known_usages[] = {"signing",
                                           "digital signature",
                                           "content commitment",
                                           "key encipherment",
                                           "key agreement",
                                           "data encipherment",
                                           "cert sign",
                                           "crl sign",
                                           "encipher only",
                                           "decipher only",
                                           "any",
                                           "server auth",
                                           "client auth",
                                           "code signing",
                                           "email protection",
                                           "s/mime",
                                           "ipsec end system",
                                           "ipsec tunnel",
                                           "ipsec user",
                                           "timestamping",
                                           "ocsp signing",
                                           "microsoft sgc",
                                           "netscape sgc",
                                           NULL};

static unsigned usage_bit(const char *u)
{
    if (strcmp(u, "digital signature") == 0)
        return U_DIGITAL_SIGNATURE;
    if (strcmp(u, "key encipherment") == 0)
        return U_KEY_ENCIPHERMENT;
    if (strcmp(u, "client auth") == 0)
        return U_CLIENT_AUTH;
    return strcmp(u, "server auth") == 0 ? U_SERVER_AUTH : U_OTHER;
}

static unsigned usages_of(const cJSON *csr)
{
    const cJSON *list = NULL, *u;
    unsigned bits = 0;
    kn_json_get_array_opt(csr, "spec.usages", &list, NULL);
    cJSON_ArrayForEach(u, list) bits |= cJSON_IsString(u) ? usage_bit(u->valuestring) : U_OTHER;
    return bits;
}

/* ---- the strategy -------------------------------------------------------------------------- */

static void copy_member(cJSON *dst, const cJSON *src, const char *key)
{
    cJSON_DeleteItemFromObjectCaseSensitive(dst, key);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(src, key);
    if (v)
        cJSON_AddItemToObject(dst, key, cJSON_Duplicate(v, 1));
}

static void validate_request(cJSON *spec, kn_causes *causes)
{
    const char *b64 = str_of(spec, "request");
    if (!b64 || !*b64) {
        kn_causes_add(causes, "FieldValueRequired", "spec.request", "Required value");
        return;
    }
    char *pem = NULL;
    size_t len, bad;
    const char *why = NULL;
    csr_info ci;
    if (kc_base64_decode(b64, strlen(b64), &pem, &len, &bad) < 0)
        why = "illegal base64 data";
    else if (parse_request(pem, &ci, &why) == 0)
        info_free(&ci);
    free(pem);
    if (why)
        kn_causes_add(causes, "FieldValueInvalid", "spec.request",
                      "Invalid value: \"%.40s...\": %s", b64, why);
}

static void validate_spec(cJSON *spec, kn_causes *causes)
{
    validate_request(spec, causes);
    const char *signer = str_of(spec, "signerName");
    if (!signer || !*signer)
        kn_causes_add(causes, "FieldValueRequired", "spec.signerName", "Required value");
    else if (strcmp(signer, "kubernetes.io/legacy-unknown") == 0)
        kn_causes_add(causes, "FieldValueInvalid", "spec.signerName",
                      "Invalid value: \"%s\": the legacy signerName is not allowed via this API "
                      "version",
                      signer);
    else if (!strchr(signer, '/'))
        kn_causes_add(causes, "FieldValueInvalid", "spec.signerName",
                      "Invalid value: \"%s\": must be a fully qualified domain and path of the "
                      "form 'example.com/signer-name'",
                      signer);
    const cJSON *usages = cJSON_GetObjectItemCaseSensitive(spec, "usages"), *u;
    if (!cJSON_IsArray(usages) || cJSON_GetArraySize(usages) == 0)
        kn_causes_add(causes, "FieldValueRequired", "spec.usages", "Required value");
    int i = 0;
    cJSON_ArrayForEach(u, usages)
    {
        bool known = false;
        for (size_t k = 0; known_usages[k] && cJSON_IsString(u); k++)
            known = known || strcmp(u->valuestring, known_usages[k]) == 0;
        if (!known)
            kn_causes_add(causes, "FieldValueNotSupported", "spec.usages",
                          "spec.usages[%d]: Unsupported value: %s", i,
                          cJSON_IsString(u) ? u->valuestring : "?");
        i++;
    }
    const cJSON *exp = cJSON_GetObjectItemCaseSensitive(spec, "expirationSeconds");
    if (cJSON_IsNumber(exp) && exp->valuedouble < 600)
        kn_causes_add(causes, "FieldValueInvalid", "spec.expirationSeconds",
                      "Invalid value: %lld: may not specify a duration less than 600 seconds (10 "
                      "minutes)",
                      (long long)exp->valuedouble);
}

static int csr_create(const api_user *u, cJSON *obj, kn_causes *causes)
{
    cJSON *spec = cJSON_GetObjectItemCaseSensitive(obj, "spec");
    if (!cJSON_IsObject(spec)) {
        cJSON_DeleteItemFromObjectCaseSensitive(obj, "spec");
        spec = cJSON_AddObjectToObject(obj, "spec");
    }
    static const char *const identity[] = {"username", "uid", "groups", "extra", NULL};
    for (size_t i = 0; identity[i]; i++)
        cJSON_DeleteItemFromObjectCaseSensitive(spec, identity[i]);
    if (u) {
        cJSON_AddStringToObject(spec, "username", u->name);
        cJSON *g = cJSON_AddArrayToObject(spec, "groups");
        for (size_t i = 0; i < u->ngroups; i++)
            cJSON_AddItemToArray(g, cJSON_CreateString(u->groups[i]));
    }
    cJSON_DeleteItemFromObjectCaseSensitive(obj, "status");
    cJSON_AddObjectToObject(obj, "status");
    validate_spec(spec, causes);
    return 0;
}

/* Keeps the conditions of the decision types (keep_decisions) or of the
 * others from old, takes the rest from obj. */
static void preserve_conditions(cJSON *obj, const cJSON *old, bool keep_decisions)
{
    cJSON *list = conditions(obj);
    for (cJSON *c = list->child, *next; c; c = next) {
        next = c->next;
        if (is_decision(str_of(c, "type")) == keep_decisions)
            cJSON_Delete(cJSON_DetachItemViaPointer(list, c));
    }
    const cJSON *olds = NULL, *c;
    kn_json_get_array_opt(old, "status.conditions", &olds, NULL);
    cJSON_ArrayForEach(c, olds)
    {
        if (is_decision(str_of(c, "type")) == keep_decisions)
            cJSON_AddItemToArray(list, cJSON_Duplicate(c, 1));
    }
}

static void validate_certificate(const cJSON *obj, const cJSON *old, kn_causes *causes)
{
    const char *cert = NULL, *prev = NULL;
    kn_json_get_string_opt(obj, "status.certificate", NULL, &cert, NULL);
    kn_json_get_string_opt(old, "status.certificate", NULL, &prev, NULL);
    if (prev && *prev && (!cert || strcmp(cert, prev) != 0))
        kn_causes_add(causes, "FieldValueForbidden", "status.certificate",
                      "Forbidden: updates may not modify existing certificate content");
    else if (cert && *cert && !(prev && *prev) &&
             (!find_condition(obj, "Approved") || find_condition(obj, "Denied") ||
              find_condition(obj, "Failed")))
        kn_causes_add(causes, "FieldValueForbidden", "status.certificate",
                      "Forbidden: certificate can only be set on an approved "
                      "CertificateSigningRequest that is not denied or failed");
}

static void validate_decisions(const cJSON *obj, const cJSON *old, kn_causes *causes)
{
    if (find_condition(obj, "Approved") && find_condition(obj, "Denied"))
        kn_causes_add(causes, "FieldValueInvalid", "status.conditions",
                      "Invalid value: \"Approved, Denied\": Approved and Denied conditions are "
                      "mutually exclusive");
    static const char *const types[] = {"Approved", "Denied", NULL};
    for (size_t i = 0; types[i]; i++) {
        if (find_condition(old, types[i]) && !find_condition(obj, types[i]))
            kn_causes_add(causes, "FieldValueForbidden", "status.conditions",
                          "Forbidden: updates may not remove a condition of type \"%s\"", types[i]);
    }
    const cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(
                              cJSON_GetObjectItemCaseSensitive(obj, "status"), "conditions"))
    {
        const char *st = str_of(c, "status");
        if (is_decision(str_of(c, "type")) && st && strcmp(st, "True") != 0)
            kn_causes_add(causes, "FieldValueNotSupported", "status.conditions",
                          "Unsupported value: \"%s\": supported values: \"True\"", st);
    }
}

int kn_csr_admit(const api_user *u, const api_route *rt, const cJSON *old, cJSON *obj,
                 kn_causes *causes, kn_error **err)
{
    (void)err;
    if (!old)
        return csr_create(u, obj, causes);
    copy_member(obj, old, "spec");
    if (!rt->sub[0]) {
        copy_member(obj, old, "status");
        return 0;
    }
    if (strcmp(rt->sub, "approval") == 0) {
        preserve_conditions(obj, old, false);
        cJSON *st = cJSON_GetObjectItemCaseSensitive(obj, "status");
        copy_member(st, cJSON_GetObjectItemCaseSensitive(old, "status"), "certificate");
        fill_timestamps(obj, old);
        validate_decisions(obj, old, causes);
        return 0;
    }
    preserve_conditions(obj, old, true);
    fill_timestamps(obj, old);
    validate_certificate(obj, old, causes);
    return 0;
}

/* ---- approval -------------------------------------------------------------------------- */

static bool has_group(const cJSON *csr, const char *g)
{
    const cJSON *groups = NULL, *e;
    kn_json_get_array_opt(csr, "spec.groups", &groups, NULL);
    cJSON_ArrayForEach(e, groups)
    {
        if (cJSON_IsString(e) && strcmp(e->valuestring, g) == 0)
            return true;
    }
    return false;
}

/* ValidateKubeletClientCSR: NULL when the request is a node client request. */
static const char *kubelet_client_problem(const csr_info *ci, unsigned usages)
{
    if (!ci->org_nodes)
        return "subject organization is not system:nodes";
    if (ci->n_dns)
        return "dnsNames are not allowed";
    if (ci->n_email)
        return "emailAddresses are not allowed";
    if (ci->n_ip)
        return "ipAddresses are not allowed";
    if (ci->n_uri)
        return "uris are not allowed";
    if (strncmp(ci->cn, "system:node:", 12) != 0)
        return "subject common name does not begin with system:node:";
    if (usages != (U_DIGITAL_SIGNATURE | U_CLIENT_AUTH) &&
        usages != (U_DIGITAL_SIGNATURE | U_CLIENT_AUTH | U_KEY_ENCIPHERMENT))
        return "usages did not match [digital signature key encipherment client auth]";
    return NULL;
}

bool kn_csr_auto_approve(const cJSON *csr, const char **message)
{
    const char *signer = NULL, *user = NULL, *cert = NULL;
    kn_json_get_string_opt(csr, "spec.signerName", NULL, &signer, NULL);
    kn_json_get_string_opt(csr, "spec.username", NULL, &user, NULL);
    kn_json_get_string_opt(csr, "status.certificate", NULL, &cert, NULL);
    if (!signer || strcmp(signer, SIGNER_KUBELET_CLIENT) != 0 || (cert && *cert) ||
        find_condition(csr, "Approved") || find_condition(csr, "Denied"))
        return false;
    cleanup_free char *pem = request_pem(csr);
    csr_info ci;
    const char *why;
    if (!pem || parse_request(pem, &ci, &why) < 0)
        return false;
    bool node_client = !kubelet_client_problem(&ci, usages_of(csr));
    bool self = node_client && user && strcmp(user, ci.cn) == 0;
    info_free(&ci);
    bool masters = has_group(csr, "system:masters");
    /* the SubjectAccessReviews: selfnodeclient for nodes, nodeclient for
     * bootstrappers (and system:masters for both) */
    if (self && (has_group(csr, "system:nodes") || masters)) {
        *message = "Auto approving self kubelet client certificate after SubjectAccessReview.";
        return true;
    }
    if (node_client && (has_group(csr, "system:bootstrappers") || masters)) {
        *message = "Auto approving kubelet client certificate after SubjectAccessReview.";
        return true;
    }
    return false;
}

/* ---- signing ------------------------------------------------------------------------------ */

static const char *client_usage_problem(unsigned usages)
{
    if (usages & ~(unsigned)(U_DIGITAL_SIGNATURE | U_KEY_ENCIPHERMENT | U_CLIENT_AUTH))
        return "invalid usage for client certificate";
    if (!(usages & U_CLIENT_AUTH))
        return "missing required usage for client certificate: client auth";
    return NULL;
}

/* ValidateKubeletServingCSR */
static const char *kubelet_serving_problem(const csr_info *ci, unsigned usages)
{
    if (!ci->org_nodes)
        return "subject organization is not system:nodes";
    if (!ci->n_dns && !ci->n_ip)
        return "DNS or IP subjectAltName is required";
    if (ci->n_email)
        return "Email subjectAltNames are forbidden";
    if (ci->n_uri)
        return "URI subjectAltNames are forbidden";
    if (strncmp(ci->cn, "system:node:", 12) != 0)
        return "subject common name does not begin with system:node:";
    if (usages != (U_DIGITAL_SIGNATURE | U_SERVER_AUTH) &&
        usages != (U_DIGITAL_SIGNATURE | U_SERVER_AUTH | U_KEY_ENCIPHERMENT))
        return "usages did not match [digital signature key encipherment server auth]";
    return NULL;
}

/* The signer's rule for the request: 0, KN_ENOTSUP (not ours), or KN_EINVAL
 * with *why. */
static int signer_check(const char *signer, const csr_info *ci, unsigned usages, const char **why)
{
    if (strcmp(signer, SIGNER_KUBELET_CLIENT) == 0)
        *why = kubelet_client_problem(ci, usages);
    else if (strcmp(signer, SIGNER_CLIENT) == 0)
        *why = client_usage_problem(usages);
    else if (strcmp(signer, SIGNER_KUBELET_SERVING) == 0)
        *why = kubelet_serving_problem(ci, usages);
    else
        return -KN_ENOTSUP;
    return *why ? -KN_EINVAL : 0;
}

typedef struct ca_pair {
    X509 *cert;
    EVP_PKEY *key;
} ca_pair;

static int load_ca(const char *dir, ca_pair *ca, kn_error **err)
{
    cleanup_free char *crt = xasprintf("%s/ca.crt", dir), *key = xasprintf("%s/ca.key", dir);
    FILE *f = fopen(crt, "r");
    ca->cert = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
    if (f)
        fclose(f);
    f = fopen(key, "r");
    ca->key = f ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : NULL;
    if (f)
        fclose(f);
    if (ca->cert && ca->key)
        return 0;
    X509_free(ca->cert);
    EVP_PKEY_free(ca->key);
    return kn_ossl_error(err, KN_EINTERNAL, "load the cluster CA");
}

static int add_ext(X509 *c, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, c, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    if (!ext)
        return -1;
    int ok = X509_add_ext(c, ext, -1);
    X509_EXTENSION_free(ext);
    return ok ? 0 : -1;
}

static int add_usages(X509 *c, X509 *issuer, unsigned usages)
{
    kn_buf ku = KN_BUF_INIT, eku = KN_BUF_INIT;
    kn_buf_append_str(&ku, "critical");
    if (usages & U_DIGITAL_SIGNATURE)
        kn_buf_append_str(&ku, ",digitalSignature");
    if (usages & U_KEY_ENCIPHERMENT)
        kn_buf_append_str(&ku, ",keyEncipherment");
    if (usages & U_CLIENT_AUTH)
        kn_buf_append_str(&eku, "clientAuth");
    if (usages & U_SERVER_AUTH)
        kn_buf_appendf(&eku, "%sserverAuth", eku.len ? "," : "");
    int bad = ku.len > 8 ? add_ext(c, issuer, NID_key_usage, ku.data) : 0;
    if (eku.len)
        bad |= add_ext(c, issuer, NID_ext_key_usage, eku.data);
    kn_buf_free(&ku);
    kn_buf_free(&eku);
    return bad;
}

static void random_serial(X509 *c)
{
    unsigned char buf[16];
    RAND_bytes(buf, sizeof(buf));
    buf[0] &= 0x7f;
    BIGNUM *bn = BN_bin2bn(buf, sizeof(buf), NULL);
    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(c));
    BN_free(bn);
}

/* Validity as upstream's PermissiveSigningPolicy: backdated 5 minutes (1%
 * of shorter lifetimes), lifetime ttl, never past the CA. */
static void set_validity(X509 *c, X509 *ca, int64_t now_s, int64_t ttl_s)
{
    int64_t back = ttl_s >= 8 * 3600 ? 300 : ttl_s * 300 / (8 * 3600);
    ASN1_TIME_set(X509_getm_notBefore(c), (time_t)(now_s - back));
    ASN1_TIME_set(X509_getm_notAfter(c), (time_t)(now_s + ttl_s - back));
    if (ASN1_TIME_compare(X509_get0_notAfter(c), X509_get0_notAfter(ca)) > 0)
        X509_set1_notAfter(c, X509_get0_notAfter(ca));
}

static char *issue(const csr_info *ci, const ca_pair *ca, unsigned usages, int64_t now_s,
                   int64_t ttl_s, kn_error **err)
{
    X509 *c = X509_new();
    X509_set_version(c, 2);
    random_serial(c);
    X509_set_subject_name(c, X509_REQ_get_subject_name(ci->req));
    X509_set_issuer_name(c, X509_get_subject_name(ca->cert));
    X509_set_pubkey(c, ci->pub);
    set_validity(c, ca->cert, now_s, ttl_s);
    int bad = add_ext(c, ca->cert, NID_basic_constraints, "critical,CA:FALSE");
    bad |= add_usages(c, ca->cert, usages);
    bad |= add_ext(c, ca->cert, NID_authority_key_identifier, "keyid:always");
    int san = X509v3_get_ext_by_NID(ci->exts, NID_subject_alt_name, -1);
    if (san >= 0)
        bad |= !X509_add_ext(c, X509v3_get_ext(ci->exts, san), -1);
    char *out = NULL;
    if (bad || !X509_sign(c, ca->key, EVP_sha256())) {
        kn_ossl_error(err, KN_EINTERNAL, "sign certificate");
    } else {
        BIO *b = BIO_new(BIO_s_mem());
        PEM_write_bio_X509(b, c);
        char *data;
        long n = BIO_get_mem_data(b, &data);
        out = xstrndup(data, (size_t)n);
        BIO_free(b);
    }
    X509_free(c);
    return out;
}

int kn_csr_sign(const char *data_dir, const cJSON *csr, int64_t max_duration_s, int64_t now_ns,
                char **cert_pem, kn_error **err)
{
    const char *signer = NULL, *why = NULL;
    kn_json_get_string_opt(csr, "spec.signerName", "", &signer, NULL);
    cleanup_free char *pem = request_pem(csr);
    csr_info ci;
    if (!pem || parse_request(pem, &ci, &why) < 0)
        return kn_error_set(err, KN_EINVAL, "%s", why ? why : "spec.request is not base64");
    unsigned usages = usages_of(csr);
    int r = signer_check(signer, &ci, usages, &why);
    if (r == -KN_ENOTSUP)
        kn_error_set(err, KN_ENOTSUP, "signer %s is not served here", signer);
    else if (r < 0)
        kn_error_set(err, KN_EINVAL, "%s", why);
    int64_t ttl = max_duration_s > 0 ? max_duration_s : DEFAULT_DURATION_S, exp = 0;
    kn_json_get_int64_opt(csr, "spec.expirationSeconds", 0, &exp, NULL);
    if (exp >= 600 && exp < ttl)
        ttl = exp;
    ca_pair ca = {0};
    if (r == 0)
        r = load_ca(data_dir, &ca, err);
    if (r == 0) {
        *cert_pem = issue(&ci, &ca, usages, now_ns / KN_NSEC_PER_SEC, ttl, err);
        r = *cert_pem ? 0 : -KN_EINTERNAL;
        X509_free(ca.cert);
        EVP_PKEY_free(ca.key);
    }
    info_free(&ci);
    return r;
}

/* ---- the controller ------------------------------------------------------------------------ */

struct kn_csr_signer {
    kn_store *store;
    char *data_dir, *server_url, *ca_pem;
    int64_t duration_s;
    pthread_t thread;
    pthread_mutex_t mu;
    bool stop;
    int64_t rev;
};

static bool stopping(kn_csr_signer *s)
{
    pthread_mutex_lock(&s->mu);
    bool st = s->stop;
    pthread_mutex_unlock(&s->mu);
    return st;
}

/* Approves and/or signs csr in place; true if it changed. */
static bool reconcile(kn_csr_signer *s, cJSON *csr)
{
    const char *msg = NULL, *cert = NULL;
    bool changed = false;
    if (kn_meta_str(csr, "deletionTimestamp"))
        return false;
    if (kn_csr_auto_approve(csr, &msg)) {
        add_condition(csr, "Approved", "AutoApproved", msg);
        changed = true;
    }
    kn_json_get_string_opt(csr, "status.certificate", NULL, &cert, NULL);
    if (!find_condition(csr, "Approved") || find_condition(csr, "Denied") ||
        find_condition(csr, "Failed") || (cert && *cert))
        return changed;
    char *pem = NULL;
    kn_error *err = NULL;
    int r = kn_csr_sign(s->data_dir, csr, s->duration_s, kn_time_wall_ns(), &pem, &err);
    if (r == 0) {
        size_t n = strlen(pem);
        char *b64 = xmalloc(4 * ((n + 2) / 3) + 1);
        EVP_EncodeBlock((unsigned char *)b64, (const unsigned char *)pem, (int)n);
        cJSON *st = cJSON_GetObjectItemCaseSensitive(csr, "status");
        cJSON_DeleteItemFromObjectCaseSensitive(st, "certificate");
        cJSON_AddStringToObject(st, "certificate", b64);
        free(b64);
        free(pem);
        changed = true;
    } else if (r == -KN_EINVAL) {
        add_condition(csr, "Failed", "SignerValidationFailure", kn_error_msg(err));
        changed = true;
    } else if (r != -KN_ENOTSUP) {
        KN_WARN("csr-signer", "sign %s: %s", kn_meta_str(csr, "name"), kn_error_msg(err));
    }
    kn_error_free(&err);
    return changed;
}

static void process_csr(kn_csr_signer *s, const kn_kv *kv)
{
    cleanup_cjson cJSON *csr = cJSON_ParseWithLength(kv->value, kv->value_len);
    if (!csr || !reconcile(s, csr))
        return;
    cleanup_free char *text = kn_json_print(csr);
    kn_error *err = NULL;
    /* a conflicting write is an event of its own: it is processed next */
    if (kn_store_update(s->store, kv->key, text, strlen(text), kv->mod_rev, NULL, &err) < 0 &&
        kn_error_code(err) != KN_ECONFLICT && kn_error_code(err) != KN_ENOTFOUND)
        KN_WARN("csr-signer", "update %s: %s", kv->key, kn_error_msg(err));
    else if (!err)
        KN_V(2, "csr-signer", "%s: approved/signed", kv->key);
    kn_error_free(&err);
}

static void housekeeping(kn_csr_signer *s)
{
    kn_error *err = NULL;
    int64_t now = kn_time_wall_ns();
    int deleted = 0;
    if (kn_btoken_clean_expired(s->store, now, &deleted, &err) < 0 ||
        kn_btoken_sync_cluster_info(s->store, s->ca_pem, s->server_url, now, &err) < 0) {
        if (kn_error_code(err) != KN_ECONFLICT)
            KN_WARN("csr-signer", "bootstrap tokens: %s", kn_error_msg(err));
    }
    if (deleted)
        KN_INFO("csr-signer", "deleted %d expired bootstrap token(s)", deleted);
    kn_error_free(&err);
}

int kn_csr_signer_sync(kn_csr_signer *s, kn_error **err)
{
    kn_kv_list l = {0};
    int64_t rev;
    bool more;
    if (kn_store_list(s->store, KN_CSR_PREFIX, NULL, 0, 0, &l, &rev, &more, err) < 0)
        return -KN_EIO;
    for (size_t i = 0; i < l.len; i++)
        process_csr(s, &l.items[i]);
    kn_kv_list_free(&l);
    housekeeping(s);
    s->rev = rev;
    return 0;
}

/* Events under prefix after s->rev; *seen lowered to what was covered.
 * Returns the number of events, or -1 for KN_EGONE (resync). */
static int events(kn_csr_signer *s, const char *prefix, bool csrs, int64_t *seen)
{
    kn_store_event_list l = {0};
    int64_t upto = 0;
    kn_error *err = NULL;
    if (kn_store_events(s->store, prefix, s->rev, 0, &l, &upto, &err) < 0) {
        bool gone = kn_error_code(err) == KN_EGONE;
        kn_error_free(&err);
        return gone ? -1 : 0;
    }
    if (upto < *seen)
        *seen = upto;
    for (size_t i = 0; csrs && i < l.len; i++) {
        if (l.items[i].type == KN_STORE_PUT)
            process_csr(s, &l.items[i].kv);
    }
    int n = (int)l.len;
    kn_store_event_list_free(&l);
    return n;
}

static void *signer_main(void *arg)
{
    kn_csr_signer *s = arg;
    kn_csr_signer_sync(s, NULL);
    int64_t next_housekeeping = kn_time_monotonic_ns() + 60 * KN_NSEC_PER_SEC;
    while (!stopping(s)) {
        if (!kn_store_wait(s->store, s->rev, 500) && kn_time_monotonic_ns() < next_housekeeping)
            continue;
        int64_t seen = INT64_MAX;
        int c = events(s, KN_CSR_PREFIX, true, &seen);
        int t = c < 0 ? -1 : events(s, KN_BTOKEN_SECRET_PREFIX, false, &seen);
        int i = t < 0 ? -1 : events(s, KN_CLUSTER_INFO_KEY, false, &seen);
        if (c < 0 || t < 0 || i < 0) {
            kn_csr_signer_sync(s, NULL);
            continue;
        }
        if (seen != INT64_MAX)
            s->rev = seen;
        if (t > 0 || i > 0 || kn_time_monotonic_ns() >= next_housekeeping) {
            housekeeping(s);
            next_housekeeping = kn_time_monotonic_ns() + 60 * KN_NSEC_PER_SEC;
        }
    }
    return NULL;
}

int kn_csr_signer_start(const kn_csr_signer_opts *o, kn_csr_signer **out, kn_error **err)
{
    cleanup_free char *ca_path = xasprintf("%s/ca.crt", o->data_dir);
    FILE *f = fopen(ca_path, "r");
    if (!f)
        return kn_error_errno(err, errno, "CSR signer: read %s", ca_path);
    kn_buf ca = KN_BUF_INIT;
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        kn_buf_append(&ca, chunk, n);
    fclose(f);
    kn_csr_signer *s = xcalloc(1, sizeof(*s));
    s->store = o->store;
    s->data_dir = xstrdup(o->data_dir);
    s->server_url = xstrdup(o->server_url);
    s->ca_pem = kn_buf_steal(&ca);
    s->duration_s = o->duration_s;
    pthread_mutex_init(&s->mu, NULL);
    if (pthread_create(&s->thread, NULL, signer_main, s) != 0) {
        int e = errno;
        s->thread = 0;
        s->stop = true;
        kn_csr_signer_stop(s);
        return kn_error_errno(err, e, "start the CSR signer");
    }
    *out = s;
    return 0;
}

void kn_csr_signer_stop(kn_csr_signer *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->mu);
    bool running = !s->stop;
    s->stop = true;
    pthread_mutex_unlock(&s->mu);
    if (running)
        pthread_join(s->thread, NULL);
    pthread_mutex_destroy(&s->mu);
    free(s->data_dir);
    free(s->server_url);
    free(s->ca_pem);
    free(s);
}

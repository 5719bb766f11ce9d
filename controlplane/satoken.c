#include "controlplane/satoken.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "lib/cleanup.h"
#include "lib/json.h"
#include "lib/strbuf.h"
#include "lib/xalloc.h"

static char *b64url(const unsigned char *data, size_t len)
{
    char *out = xmalloc(4 * ((len + 2) / 3) + 1);
    int n = EVP_EncodeBlock((unsigned char *)out, data, (int)len);
    while (n > 0 && out[n - 1] == '=')
        n--;
    out[n] = '\0';
    for (char *p = out; *p; p++)
        *p = *p == '+' ? '-' : *p == '/' ? '_' : *p;
    return out;
}

/* Decodes base64url; returns owned bytes (NUL-terminated) or NULL. */
static unsigned char *b64url_decode(const char *s, size_t len, size_t *out_len)
{
    size_t padded = (len + 3) / 4 * 4;
    char *tmp = xmalloc(padded + 1);
    for (size_t i = 0; i < padded; i++) {
        char c = i < len ? s[i] : '=';
        tmp[i] = c == '-' ? '+' : c == '_' ? '/' : c;
    }
    tmp[padded] = '\0';
    unsigned char *out = xmalloc(padded + 1);
    int n = EVP_DecodeBlock(out, (unsigned char *)tmp, (int)padded);
    free(tmp);
    if (n < 0) {
        free(out);
        return NULL;
    }
    size_t pad = (padded - len);
    *out_len = (size_t)n - pad;
    out[*out_len] = '\0';
    return out;
}

static EVP_PKEY *load_key(const char *data_dir, bool priv, kn_error **err)
{
    cleanup_free char *path = xasprintf("%s/%s", data_dir, priv ? "sa.key" : "sa.pub");
    FILE *f = fopen(path, "r");
    if (!f) {
        kn_error_errno(err, errno, "read %s", path);
        return NULL;
    }
    EVP_PKEY *k =
        priv ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : PEM_read_PUBKEY(f, NULL, NULL, NULL);
    fclose(f);
    if (!k)
        kn_error_set(err, KN_EINTERNAL, "cannot parse %s", path);
    return k;
}

/* kid: base64url SHA-256 of the DER public key, as kube-apiserver does. */
static char *key_id(EVP_PKEY *k)
{
    unsigned char *der = NULL;
    int n = i2d_PUBKEY(k, &der);
    unsigned char md[32];
    unsigned int mdlen = 0;
    EVP_Digest(der, (size_t)(n > 0 ? n : 0), md, &mdlen, EVP_sha256(), NULL);
    OPENSSL_free(der);
    return b64url(md, mdlen);
}

static cJSON *claims_for(const kn_sa_token_req *r, int64_t now, int64_t exp)
{
    cJSON *c = cJSON_CreateObject();
    cJSON *aud = cJSON_AddArrayToObject(c, "aud");
    if (r->audiences && r->audiences[0])
        for (size_t i = 0; r->audiences[i]; i++)
            cJSON_AddItemToArray(aud, cJSON_CreateString(r->audiences[i]));
    else
        cJSON_AddItemToArray(aud, cJSON_CreateString(KN_SA_ISSUER));
    cJSON_AddNumberToObject(c, "exp", (double)exp);
    cJSON_AddNumberToObject(c, "iat", (double)now);
    cJSON_AddStringToObject(c, "iss", KN_SA_ISSUER);
    cJSON *k = cJSON_AddObjectToObject(c, "kubernetes.io");
    cJSON_AddStringToObject(k, "namespace", r->ns);
    if (r->pod_name) {
        cJSON *p = cJSON_AddObjectToObject(k, "pod");
        cJSON_AddStringToObject(p, "name", r->pod_name);
        cJSON_AddStringToObject(p, "uid", r->pod_uid ? r->pod_uid : "");
    }
    cJSON *sa = cJSON_AddObjectToObject(k, "serviceaccount");
    cJSON_AddStringToObject(sa, "name", r->name);
    cJSON_AddStringToObject(sa, "uid", r->uid ? r->uid : "");
    cJSON_AddNumberToObject(c, "nbf", (double)now);
    char sub[600];
    snprintf(sub, sizeof(sub), "system:serviceaccount:%s:%s", r->ns, r->name);
    cJSON_AddStringToObject(c, "sub", sub);
    return c;
}

static int sign(EVP_PKEY *k, const char *input, unsigned char **sig, size_t *siglen, kn_error **err)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    int ok = EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, k) == 1 &&
             EVP_DigestSign(md, NULL, siglen, (const unsigned char *)input, strlen(input)) == 1;
    *sig = ok ? xmalloc(*siglen) : NULL;
    ok = ok && EVP_DigestSign(md, *sig, siglen, (const unsigned char *)input, strlen(input)) == 1;
    EVP_MD_CTX_free(md);
    if (!ok) {
        free(*sig);
        *sig = NULL;
        return kn_error_set(err, KN_EINTERNAL, "signing the token failed");
    }
    return 0;
}

int kn_sa_token_sign(const char *data_dir, const kn_sa_token_req *req, char **jwt, int64_t *exp,
                     kn_error **err)
{
    EVP_PKEY *k = load_key(data_dir, true, err);
    if (!k)
        return -KN_EIO;
    int64_t now = (int64_t)time(NULL);
    *exp = now + (req->expiration_s > 0 ? req->expiration_s : 3600);
    cleanup_free char *kid = key_id(k);
    cleanup_free char *header = xasprintf("{\"alg\":\"RS256\",\"kid\":\"%s\"}", kid);
    cJSON *claims = claims_for(req, now, *exp);
    cleanup_free char *payload = kn_json_print(claims);
    cJSON_Delete(claims);
    cleanup_free char *h64 = b64url((const unsigned char *)header, strlen(header));
    cleanup_free char *p64 = b64url((const unsigned char *)payload, strlen(payload));
    cleanup_free char *input = xasprintf("%s.%s", h64, p64);
    unsigned char *sig = NULL;
    size_t siglen = 0;
    int r = sign(k, input, &sig, &siglen, err);
    EVP_PKEY_free(k);
    if (r < 0)
        return r;
    cleanup_free char *s64 = b64url(sig, siglen);
    free(sig);
    *jwt = xasprintf("%s.%s", input, s64);
    return 0;
}

static bool verify_sig(EVP_PKEY *k, const char *jwt, size_t signed_len, const char *sig64)
{
    size_t siglen = 0;
    unsigned char *sig = b64url_decode(sig64, strlen(sig64), &siglen);
    if (!sig)
        return false;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    bool ok = EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, k) == 1 &&
              EVP_DigestVerify(md, sig, siglen, (const unsigned char *)jwt, signed_len) == 1;
    EVP_MD_CTX_free(md);
    free(sig);
    return ok;
}

static bool audience_ok(const cJSON *claims, const char *audience)
{
    if (!audience)
        return true;
    const cJSON *aud = cJSON_GetObjectItemCaseSensitive(claims, "aud"), *a;
    if (cJSON_IsString(aud))
        return strcmp(aud->valuestring, audience) == 0;
    cJSON_ArrayForEach(a, aud)
    {
        if (cJSON_IsString(a) && strcmp(a->valuestring, audience) == 0)
            return true;
    }
    return false;
}

int kn_sa_token_verify(const char *data_dir, const char *jwt, const char *audience, cJSON **claims,
                       kn_error **err)
{
    const char *d1 = strchr(jwt, '.');
    const char *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
    if (!d1 || !d2 || strchr(d2 + 1, '.'))
        return kn_error_set(err, KN_EUNAUTHORIZED, "token is not a JWT");
    EVP_PKEY *k = load_key(data_dir, false, err);
    if (!k)
        return -KN_EIO;
    bool sig_ok = verify_sig(k, jwt, (size_t)(d2 - jwt), d2 + 1);
    EVP_PKEY_free(k);
    if (!sig_ok)
        return kn_error_set(err, KN_EUNAUTHORIZED, "token signature is invalid");
    size_t plen = 0;
    unsigned char *payload = b64url_decode(d1 + 1, (size_t)(d2 - d1 - 1), &plen);
    cJSON *c = payload ? cJSON_ParseWithLength((const char *)payload, plen) : NULL;
    free(payload);
    int64_t exp = 0, nbf = 0, now = (int64_t)time(NULL);
    if (!c || kn_json_get_int64(c, "exp", &exp, NULL) < 0 || exp < now ||
        (kn_json_get_int64_opt(c, "nbf", 0, &nbf, NULL) >= 0 && nbf > now + 60) ||
        !audience_ok(c, audience)) {
        cJSON_Delete(c);
        return kn_error_set(err, KN_EUNAUTHORIZED,
                            "token is expired, not yet valid or for "
                            "another audience");
    }
    *claims = c;
    return 0;
}

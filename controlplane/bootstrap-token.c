/* bootstrap-token.c - bootstrap token Secrets: authentication, the
 * cluster-info signer and the expired-token cleaner. */
#include "controlplane/bootstrap-token.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "api-client/bootstrap.h"
#include "api-client/kubeconfig.h"
#include "api-client/lease.h"
#include "controlplane/objmeta.h"
#include "lib/cleanup.h"
#include "lib/json.h"
#include "lib/strbuf.h"
#include "lib/xalloc.h"

#define BOOTSTRAPPERS "system:bootstrappers"

/* ---- tokens and Secrets ------------------------------------------------------------ */

static void random_chars(char *out, size_t n)
{
    static const char alphabet[] = "0123456789abcdefghijklmnopqrstuvwxyz";
    size_t i = 0;
    while (i < n) {
        unsigned char b[32];
        if (RAND_bytes(b, sizeof(b)) != 1)
            abort(); /* no randomness: no safe token */
        for (size_t j = 0; j < sizeof(b) && i < n; j++) {
            if (b[j] < 252) /* 252 = 7 * 36: uniform */
                out[i++] = alphabet[b[j] % 36];
        }
    }
    out[n] = '\0';
}

void kn_btoken_generate(char *id, char *secret)
{
    random_chars(id, KC_TOKEN_ID_LEN);
    random_chars(secret, KC_TOKEN_SECRET_LEN);
}

static void add_b64(cJSON *data, const char *key, const char *value)
{
    size_t n = strlen(value);
    char *out = xmalloc(4 * ((n + 2) / 3) + 1);
    EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)value, (int)n);
    cJSON_AddStringToObject(data, key, out);
    free(out);
}

cJSON *kn_btoken_secret(const char *id, const char *secret, int64_t expires_ns, const char *groups,
                        const char *description)
{
    cJSON *s = cJSON_CreateObject();
    cJSON_AddStringToObject(s, "apiVersion", "v1");
    cJSON_AddStringToObject(s, "kind", "Secret");
    cJSON *md = cJSON_AddObjectToObject(s, "metadata");
    char name[64];
    snprintf(name, sizeof(name), "bootstrap-token-%s", id);
    cJSON_AddStringToObject(md, "name", name);
    cJSON_AddStringToObject(md, "namespace", "kube-system");
    cJSON_AddStringToObject(s, "type", KN_BTOKEN_SECRET_TYPE);
    cJSON *data = cJSON_AddObjectToObject(s, "data");
    add_b64(data, "token-id", id);
    add_b64(data, "token-secret", secret);
    if (expires_ns > 0) {
        char ts[32];
        kn_rfc3339(expires_ns, ts, sizeof(ts));
        add_b64(data, "expiration", ts);
    }
    add_b64(data, "usage-bootstrap-authentication", "true");
    add_b64(data, "usage-bootstrap-signing", "true");
    add_b64(data, "auth-extra-groups", groups && *groups ? groups : KN_BTOKEN_DEFAULT_GROUP);
    if (description && *description)
        add_b64(data, "description", description);
    return s;
}

bool kn_btoken_is_token(const char *token)
{
    char id[KC_TOKEN_ID_LEN + 1], secret[KC_TOKEN_SECRET_LEN + 1];
    return kc_bootstrap_token_parse(token, id, secret) == 0;
}

/* A value of the Secret's data (base64) or, failing that, stringData; owned
 * or NULL. */
static char *secret_value(const cJSON *s, const char *key)
{
    const cJSON *d =
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(s, "data"), key);
    if (cJSON_IsString(d)) {
        char *out = NULL;
        size_t len, bad;
        return kc_base64_decode(d->valuestring, strlen(d->valuestring), &out, &len, &bad) == 0
                   ? out
                   : NULL;
    }
    const cJSON *sd =
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(s, "stringData"), key);
    return cJSON_IsString(sd) ? xstrdup(sd->valuestring) : NULL;
}

static bool value_is(const cJSON *s, const char *key, const char *want)
{
    cleanup_free char *v = secret_value(s, key);
    return v && strcmp(v, want) == 0;
}

/* upstream's HasExpired: an unparsable expiration counts as expired. */
static bool expired(const cJSON *s, int64_t now_ns)
{
    cleanup_free char *exp = secret_value(s, "expiration");
    int64_t at;
    if (!exp || !*exp)
        return false;
    return kc_micro_time_parse(exp, &at) < 0 || at <= now_ns;
}

static bool is_token_secret(const cJSON *s)
{
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(s, "type");
    return cJSON_IsString(t) && strcmp(t->valuestring, KN_BTOKEN_SECRET_TYPE) == 0 &&
           cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(s, "data"));
}

/* A usable token Secret for id: right type, the id matches, not expired,
 * not being deleted. The secret is compared by the caller. */
static bool valid_token_secret(const cJSON *s, const char *id, int64_t now_ns)
{
    return is_token_secret(s) && !kn_meta_str(s, "deletionTimestamp") &&
           value_is(s, "token-id", id) && !expired(s, now_ns);
}

/* ValidateBootstrapGroupName: \Asystem:bootstrappers:[a-z0-9:-]{0,255}[a-z0-9]\z */
static bool valid_group(const char *g)
{
    static const char prefix[] = BOOTSTRAPPERS ":";
    size_t n = strlen(g), p = sizeof(prefix) - 1;
    if (n <= p || n > p + 256 || strncmp(g, prefix, p) != 0)
        return false;
    for (size_t i = p; i < n; i++) {
        char c = g[i];
        bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
        if (!alnum && (i == n - 1 || (c != ':' && c != '-')))
            return false;
    }
    return true;
}

static void add_group(api_user *u, const char *g)
{
    for (size_t i = 0; i < u->ngroups; i++) {
        if (strcmp(u->groups[i], g) == 0)
            return;
    }
    if (u->ngroups < sizeof(u->groups) / sizeof(u->groups[0]))
        snprintf(u->groups[u->ngroups++], sizeof(u->groups[0]), "%.127s", g);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp((const char *)a, (const char *)b);
}

/* GetGroups: system:bootstrappers plus the valid extra groups, sorted;
 * false when one is invalid. */
static bool token_groups(const cJSON *s, api_user *u)
{
    add_group(u, BOOTSTRAPPERS);
    cleanup_free char *extra = secret_value(s, "auth-extra-groups");
    for (char *save = NULL, *g = extra ? strtok_r(extra, ",", &save) : NULL; g;
         g = strtok_r(NULL, ",", &save)) {
        if (!valid_group(g))
            return false;
        add_group(u, g);
    }
    qsort(u->groups, u->ngroups, sizeof(u->groups[0]), cmp_str);
    return true;
}

static int load_json(kn_store *st, const char *key, cJSON **obj, int64_t *rev, kn_error **err)
{
    kn_kv kv = {0};
    if (kn_store_get(st, key, &kv, err) < 0)
        return kn_error_code(*err) == KN_ENOTFOUND ? -KN_ENOTFOUND : -KN_EIO;
    *obj = cJSON_ParseWithLength(kv.value, kv.value_len);
    if (rev)
        *rev = kv.mod_rev;
    kn_kv_free(&kv);
    return *obj ? 0 : kn_error_set(err, KN_EINTERNAL, "%s: stored object is corrupt", key);
}

int kn_btoken_authenticate(kn_store *st, const char *token, int64_t now_ns, api_user *u,
                           kn_error **err)
{
    char id[KC_TOKEN_ID_LEN + 1], secret[KC_TOKEN_SECRET_LEN + 1];
    if (kc_bootstrap_token_parse(token, id, secret) < 0)
        return kn_error_set(err, KN_EUNAUTHORIZED, "not a bootstrap token");
    cleanup_free char *key = xasprintf(KN_BTOKEN_SECRET_PREFIX "%s", id);
    cleanup_cjson cJSON *s = NULL;
    cleanup_error kn_error *e = NULL;
    int r = load_json(st, key, &s, NULL, &e);
    if (r == -KN_ENOTFOUND)
        return kn_error_set(err, KN_EUNAUTHORIZED, "bootstrap token %s: no secret", id);
    if (r < 0)
        return kn_error_set(err, KN_EIO, "bootstrap token %s: %s", id, kn_error_msg(e));
    cleanup_free char *want = secret_value(s, "token-secret");
    bool ok = want && strlen(want) == KC_TOKEN_SECRET_LEN &&
              CRYPTO_memcmp(want, secret, KC_TOKEN_SECRET_LEN) == 0;
    if (!ok || !valid_token_secret(s, id, now_ns) ||
        !value_is(s, "usage-bootstrap-authentication", "true"))
        return kn_error_set(err, KN_EUNAUTHORIZED, "bootstrap token %s is not valid", id);
    api_user tmp = {0};
    if (!token_groups(s, &tmp))
        return kn_error_set(err, KN_EUNAUTHORIZED, "bootstrap token %s: invalid extra group", id);
    *u = tmp;
    snprintf(u->name, sizeof(u->name), "system:bootstrap:%s", id);
    return 0;
}

/* ---- cluster-info ------------------------------------------------------------------ */

/* The kubeconfig kubeadm publishes: the CA and server of one nameless
 * cluster, nothing else. */
static char *cluster_info_kubeconfig(const char *ca_pem, const char *server)
{
    size_t n = strlen(ca_pem);
    cleanup_free char *ca = xmalloc(4 * ((n + 2) / 3) + 1);
    EVP_EncodeBlock((unsigned char *)ca, (const unsigned char *)ca_pem, (int)n);
    return xasprintf("apiVersion: v1\nclusters:\n- cluster:\n    certificate-authority-data: %s\n"
                     "    server: %s\n  name: \"\"\ncontexts: null\ncurrent-context: \"\"\n"
                     "kind: Config\npreferences: {}\nusers: null\n",
                     ca, server);
}

/* The signatures cluster-info should carry: "jws-kubeconfig-<id>" members. */
static int wanted_signatures(kn_store *st, const char *content, int64_t now_ns, cJSON *out,
                             kn_error **err)
{
    kn_kv_list l = {0};
    int64_t rev;
    bool more;
    if (kn_store_list(st, KN_BTOKEN_SECRET_PREFIX, NULL, 0, 0, &l, &rev, &more, err) < 0)
        return -KN_EIO;
    for (size_t i = 0; i < l.len; i++) {
        cleanup_cjson cJSON *s = cJSON_ParseWithLength(l.items[i].value, l.items[i].value_len);
        const char *id = l.items[i].key + strlen(KN_BTOKEN_SECRET_PREFIX);
        cleanup_free char *secret = s ? secret_value(s, "token-secret") : NULL;
        char tid[KC_TOKEN_ID_LEN + 1], tsec[KC_TOKEN_SECRET_LEN + 1];
        cleanup_free char *tok = secret ? xasprintf("%s.%s", id, secret) : NULL;
        if (!tok || kc_bootstrap_token_parse(tok, tid, tsec) < 0 ||
            !valid_token_secret(s, id, now_ns) || !value_is(s, "usage-bootstrap-signing", "true"))
            continue;
        cleanup_free char *sig = kc_jws_detached_sign(content, id, secret);
        cleanup_free char *k = xasprintf("jws-kubeconfig-%s", id);
        cJSON_AddStringToObject(out, k, sig);
    }
    kn_kv_list_free(&l);
    return 0;
}

static cJSON *new_cluster_info(const char *kubeconfig)
{
    cJSON *cm = cJSON_CreateObject();
    cJSON_AddStringToObject(cm, "kind", "ConfigMap");
    cJSON_AddStringToObject(cm, "apiVersion", "v1");
    cJSON *md = cJSON_AddObjectToObject(cm, "metadata");
    char uid[37], ts[32];
    kn_uuid(uid);
    kn_rfc3339(0, ts, sizeof(ts));
    cJSON_AddStringToObject(md, "name", "cluster-info");
    cJSON_AddStringToObject(md, "namespace", "kube-public");
    cJSON_AddStringToObject(md, "uid", uid);
    cJSON_AddStringToObject(md, "creationTimestamp", ts);
    cJSON_AddStringToObject(cJSON_AddObjectToObject(cm, "data"), "kubeconfig", kubeconfig);
    return cm;
}

/* Replaces the signatures in data with want; true if anything changed. */
static bool apply_signatures(cJSON *data, const cJSON *want)
{
    cJSON *sigs = cJSON_CreateObject();
    for (cJSON *m = data->child, *next; m; m = next) {
        next = m->next;
        if (strncmp(m->string, "jws-kubeconfig-", 15) == 0)
            cJSON_AddItemToObject(sigs, m->string, cJSON_DetachItemViaPointer(data, m));
    }
    bool changed = !kn_json_equal(sigs, want);
    cJSON_Delete(sigs);
    for (const cJSON *m = want->child; m; m = m->next)
        cJSON_AddItemToObject(data, m->string, cJSON_Duplicate(m, 1));
    return changed;
}

int kn_btoken_sync_cluster_info(kn_store *st, const char *ca_pem, const char *server_url,
                                int64_t now_ns, kn_error **err)
{
    cleanup_cjson cJSON *cm = NULL;
    int64_t rev = 0;
    cleanup_error kn_error *e = NULL;
    int r = load_json(st, KN_CLUSTER_INFO_KEY, &cm, &rev, &e);
    if (r < 0 && r != -KN_ENOTFOUND)
        return kn_error_set(err, KN_EIO, "%s", kn_error_msg(e));
    bool fresh = r == -KN_ENOTFOUND;
    cleanup_free char *kc = cluster_info_kubeconfig(ca_pem, server_url);
    if (fresh)
        cm = new_cluster_info(kc);
    cJSON *data = cJSON_GetObjectItemCaseSensitive(cm, "data");
    if (!cJSON_IsObject(data)) {
        cJSON_DeleteItemFromObjectCaseSensitive(cm, "data");
        data = cJSON_AddObjectToObject(cm, "data");
    }
    bool changed = fresh;
    const cJSON *content = cJSON_GetObjectItemCaseSensitive(data, "kubeconfig");
    if (!cJSON_IsString(content)) {
        cJSON_DeleteItemFromObjectCaseSensitive(data, "kubeconfig");
        content = cJSON_AddStringToObject(data, "kubeconfig", kc);
        changed = true;
    }
    cleanup_cjson cJSON *want = cJSON_CreateObject();
    if (wanted_signatures(st, content->valuestring, now_ns, want, err) < 0)
        return -KN_EIO;
    changed = apply_signatures(data, want) || changed;
    if (!changed)
        return 0;
    cleanup_free char *text = kn_json_print(cm);
    if (fresh)
        return kn_store_create(st, KN_CLUSTER_INFO_KEY, text, strlen(text), &rev, err);
    return kn_store_update(st, KN_CLUSTER_INFO_KEY, text, strlen(text), rev, NULL, err);
}

int kn_btoken_clean_expired(kn_store *st, int64_t now_ns, int *deleted, kn_error **err)
{
    kn_kv_list l = {0};
    int64_t rev;
    bool more;
    int n = 0;
    if (kn_store_list(st, KN_BTOKEN_SECRET_PREFIX, NULL, 0, 0, &l, &rev, &more, err) < 0)
        return -KN_EIO;
    for (size_t i = 0; i < l.len; i++) {
        cleanup_cjson cJSON *s = cJSON_ParseWithLength(l.items[i].value, l.items[i].value_len);
        if (!s || !is_token_secret(s) || !expired(s, now_ns))
            continue;
        if (kn_store_delete(st, l.items[i].key, l.items[i].mod_rev, NULL, NULL, NULL) == 0)
            n++;
    }
    kn_kv_list_free(&l);
    if (deleted)
        *deleted = n;
    return 0;
}

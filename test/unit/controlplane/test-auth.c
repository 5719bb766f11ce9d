/* test-auth.c - bootstrap tokens (form, authentication, cluster-info
 * signatures, cleaner), the authorizer (masters, anonymous, bootstrappers,
 * service accounts, the Node authorizer with NodeRestriction), the CSR
 * strategy, auto-approval and signing, on a real store in a temporary
 * directory. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "api-client/bootstrap.h"
#include "controlplane/apiserver-internal.h"
#include "controlplane/auth.h"
#include "controlplane/bootstrap-token.h"
#include "controlplane/csr-signer.h"
#include "controlplane/objmeta.h"
#include "controlplane/pki.h"
#include "lib/cleanup.h"
#include "lib/clock.h"
#include "lib/duration.h"
#include "lib/json.h"
#include "lib/xalloc.h"
#include "test/runner/kt.h"

#define HOUR (3600 * KN_NSEC_PER_SEC)

static kn_store *open_store(void)
{
    cleanup_free char *url = xasprintf("sqlite://%s/state.db", kt_tmpdir());
    kn_store *st = NULL;
    kn_error *err = NULL;
    KT_ASSERT_OK(kn_store_open(url, &st, &err), err);
    return st;
}

static void put(kn_store *st, const char *key, const cJSON *obj)
{
    cleanup_free char *text = kn_json_print(obj);
    kn_kv kv = {0};
    kn_error *err = NULL;
    if (kn_store_get(st, key, &kv, NULL) == 0) {
        KT_ASSERT_OK(kn_store_update(st, key, text, strlen(text), 0, NULL, &err), err);
        kn_kv_free(&kv);
        return;
    }
    int64_t rev;
    KT_ASSERT_OK(kn_store_create(st, key, text, strlen(text), &rev, &err), err);
}

static void put_text(kn_store *st, const char *key, const char *json)
{
    cJSON *o = cJSON_Parse(json);
    KT_ASSERT_MSG(o != NULL, "bad JSON in test: %s", json);
    put(st, key, o);
    cJSON_Delete(o);
}

static cJSON *get(kn_store *st, const char *key)
{
    kn_kv kv = {0};
    if (kn_store_get(st, key, &kv, NULL) < 0)
        return NULL;
    cJSON *o = cJSON_ParseWithLength(kv.value, kv.value_len);
    kn_kv_free(&kv);
    return o;
}

static void put_token(kn_store *st, const char *id, const char *secret, int64_t expires,
                      const char *groups)
{
    cJSON *s = kn_btoken_secret(id, secret, expires, groups, "test");
    cleanup_free char *key = xasprintf(KN_BTOKEN_SECRET_PREFIX "%s", id);
    put(st, key, s);
    cJSON_Delete(s);
}

/* ---- tokens --------------------------------------------------------------------------- */

KT_TEST(auth, bootstrap_token_form)
{
    char id[7], secret[17];
    KT_ASSERT_EQ(kc_bootstrap_token_parse("abcdef.0123456789abcdef", id, secret), 0);
    KT_ASSERT_STREQ(id, "abcdef");
    KT_ASSERT_STREQ(secret, "0123456789abcdef");
    static const char *const bad[] = {"",
                                      "abcdef",
                                      "abcdef.0123456789abcde",
                                      "abcdef.0123456789abcdefg",
                                      "ABCDEF.0123456789abcdef",
                                      "abcdef:0123456789abcdef",
                                      "abcde.0123456789abcdeff",
                                      "abcdef.0123456789abcde_"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        KT_ASSERT_MSG(kc_bootstrap_token_parse(bad[i], id, secret) < 0, "parsed \"%s\"", bad[i]);
    char a[7], as[17], b[7], bs[17];
    kn_btoken_generate(a, as);
    kn_btoken_generate(b, bs);
    cleanup_free char *t = xasprintf("%s.%s", a, as);
    KT_ASSERT(kn_btoken_is_token(t));
    KT_ASSERT(strcmp(as, bs) != 0);
    KT_ASSERT(!kn_btoken_is_token("eyJhbGciOiJSUzI1NiJ9.e30.sig"));
}

KT_TEST(auth, jws_detached_signature)
{
    /* the value computed independently (Python hmac/base64) */
    cleanup_free char *sig = kc_jws_detached_sign("hello", "abcdef", "0123456789abcdef");
    KT_ASSERT_STREQ(sig, "eyJhbGciOiJIUzI1NiIsImtpZCI6ImFiY2RlZiJ9.."
                         "MxsnbCjBaYzcbNIFa06F-wuF9LX26rhMlrL4zA1511s");
    KT_ASSERT(kc_jws_detached_verify(sig, "hello", "abcdef", "0123456789abcdef"));
    KT_ASSERT(!kc_jws_detached_verify(sig, "hellO", "abcdef", "0123456789abcdef"));
    KT_ASSERT(!kc_jws_detached_verify(sig, "hello", "abcdef", "0123456789abcdee"));
    KT_ASSERT(!kc_jws_detached_verify(sig, "hello", "abcdeg", "0123456789abcdef"));
    KT_ASSERT(!kc_jws_detached_verify(NULL, "hello", "abcdef", "0123456789abcdef"));
}

KT_TEST(auth, bootstrap_token_authenticates)
{
    kn_store *st = open_store();
    int64_t now = kn_time_wall_ns();
    put_token(st, "abcdef", "0123456789abcdef", now + HOUR, NULL);
    api_user u = {0};
    kn_error *err = NULL;
    KT_ASSERT_OK(kn_btoken_authenticate(st, "abcdef.0123456789abcdef", now, &u, &err), err);
    KT_ASSERT_STREQ(u.name, "system:bootstrap:abcdef");
    KT_ASSERT_EQ(u.ngroups, 2);
    KT_ASSERT_STREQ(u.groups[0], "system:bootstrappers");
    KT_ASSERT_STREQ(u.groups[1], KN_BTOKEN_DEFAULT_GROUP);
    /* expired, wrong secret, unknown id */
    KT_ASSERT_EQ(kn_btoken_authenticate(st, "abcdef.0123456789abcdef", now + 2 * HOUR, &u, &err),
                 -KN_EUNAUTHORIZED);
    kn_error_free(&err);
    KT_ASSERT_EQ(kn_btoken_authenticate(st, "abcdef.0123456789abcdee", now, &u, &err),
                 -KN_EUNAUTHORIZED);
    kn_error_free(&err);
    KT_ASSERT_EQ(kn_btoken_authenticate(st, "zzzzzz.0123456789abcdef", now, &u, &err),
                 -KN_EUNAUTHORIZED);
    kn_error_free(&err);
    /* never expires; extra groups; an invalid group fails the token */
    put_token(st, "ghijkl", "0123456789abcdef", 0, "system:bootstrappers:a,system:bootstrappers:b");
    memset(&u, 0, sizeof(u));
    KT_ASSERT_OK(kn_btoken_authenticate(st, "ghijkl.0123456789abcdef", now + 1000 * HOUR, &u, &err),
                 err);
    KT_ASSERT_EQ(u.ngroups, 3);
    KT_ASSERT_STREQ(u.groups[2], "system:bootstrappers:b");
    put_token(st, "mnopqr", "0123456789abcdef", 0, "system:masters");
    KT_ASSERT_EQ(kn_btoken_authenticate(st, "mnopqr.0123456789abcdef", now, &u, &err),
                 -KN_EUNAUTHORIZED);
    kn_error_free(&err);
    kn_store_close(st);
}

KT_TEST(auth, bootstrap_token_secret_rules)
{
    kn_store *st = open_store();
    int64_t now = kn_time_wall_ns();
    api_user u;
    kn_error *err = NULL;
    struct {
        const char *json;
        bool ok;
    } cases[] = {
        /* token-secret "0123456789abcdef", token-id "abcdef", expiration with an offset */
        {"{\"type\":\"bootstrap.kubernetes.io/token\",\"data\":{\"token-id\":\"YWJjZGVm\","
         "\"token-secret\":\"MDEyMzQ1Njc4OWFiY2RlZg==\",\"usage-bootstrap-authentication\":"
         "\"dHJ1ZQ==\",\"expiration\":\"MjA5OS0wMS0wMVQwMDowMDowMCswMTowMA==\"}}",
         true},
        /* usage-bootstrap-authentication absent */
        {"{\"type\":\"bootstrap.kubernetes.io/token\",\"data\":{\"token-id\":\"YWJjZGVm\","
         "\"token-secret\":\"MDEyMzQ1Njc4OWFiY2RlZg==\"}}",
         false},
        /* wrong type */
        {"{\"type\":\"Opaque\",\"data\":{\"token-id\":\"YWJjZGVm\",\"token-secret\":"
         "\"MDEyMzQ1Njc4OWFiY2RlZg==\",\"usage-bootstrap-authentication\":\"dHJ1ZQ==\"}}",
         false},
        /* token-id of another token */
        {"{\"type\":\"bootstrap.kubernetes.io/token\",\"data\":{\"token-id\":\"YWJjZGVn\","
         "\"token-secret\":\"MDEyMzQ1Njc4OWFiY2RlZg==\",\"usage-bootstrap-authentication\":"
         "\"dHJ1ZQ==\"}}",
         false},
        /* an unparsable expiration counts as expired */
        {"{\"type\":\"bootstrap.kubernetes.io/token\",\"data\":{\"token-id\":\"YWJjZGVm\","
         "\"token-secret\":\"MDEyMzQ1Njc4OWFiY2RlZg==\",\"usage-bootstrap-authentication\":"
         "\"dHJ1ZQ==\",\"expiration\":\"dG9tb3Jyb3c=\"}}",
         false},
        /* being deleted */
        {"{\"metadata\":{\"deletionTimestamp\":\"2020-01-01T00:00:00Z\"},\"type\":"
         "\"bootstrap.kubernetes.io/token\",\"data\":{\"token-id\":\"YWJjZGVm\","
         "\"token-secret\":\"MDEyMzQ1Njc4OWFiY2RlZg==\",\"usage-bootstrap-authentication\":"
         "\"dHJ1ZQ==\"}}",
         false},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        put_text(st, KN_BTOKEN_SECRET_PREFIX "abcdef", cases[i].json);
        memset(&u, 0, sizeof(u));
        int r = kn_btoken_authenticate(st, "abcdef.0123456789abcdef", now, &u, &err);
        KT_ASSERT_MSG((r == 0) == cases[i].ok, "case %zu: %d %s", i, r, kn_error_msg(err));
        kn_error_free(&err);
    }
    kn_store_close(st);
}

static const char test_ca[] = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";

KT_TEST(auth, cluster_info_signed_for_valid_tokens)
{
    kn_store *st = open_store();
    int64_t now = kn_time_wall_ns();
    put_token(st, "aaaaaa", "0123456789abcdef", now + HOUR, NULL);
    put_token(st, "bbbbbb", "0123456789abcdef", now - HOUR, NULL); /* expired */
    cJSON *nosign = kn_btoken_secret("cccccc", "0123456789abcdef", 0, NULL, NULL);
    cJSON_ReplaceItemInObject(cJSON_GetObjectItem(nosign, "data"), "usage-bootstrap-signing",
                              cJSON_CreateString("ZmFsc2U=")); /* "false" */
    put(st, KN_BTOKEN_SECRET_PREFIX "cccccc", nosign);
    cJSON_Delete(nosign);
    kn_error *err = NULL;
    KT_ASSERT_OK(kn_btoken_sync_cluster_info(st, test_ca, "https://10.0.0.1:6443", now, &err), err);
    cleanup_cjson cJSON *cm = get(st, KN_CLUSTER_INFO_KEY);
    KT_ASSERT(cm != NULL);
    const char *kc = NULL, *sig = NULL;
    KT_ASSERT_OK(kn_json_get_string(cm, "data.kubeconfig", &kc, &err), err);
    KT_ASSERT_CONTAINS(kc, "server: https://10.0.0.1:6443");
    KT_ASSERT_CONTAINS(kc, "certificate-authority-data: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0t");
    KT_ASSERT_OK(kn_json_get_string(cm, "data[\"jws-kubeconfig-aaaaaa\"]", &sig, &err), err);
    KT_ASSERT(kc_jws_detached_verify(sig, kc, "aaaaaa", "0123456789abcdef"));
    const cJSON *none = NULL;
    kn_json_lookup(cm, "data[\"jws-kubeconfig-bbbbbb\"]", &none, NULL);
    KT_ASSERT(none == NULL);
    kn_json_lookup(cm, "data[\"jws-kubeconfig-cccccc\"]", &none, NULL);
    KT_ASSERT(none == NULL);
    /* nothing changed: nothing written */
    int64_t rev = kn_store_current_rev(st);
    KT_ASSERT_OK(kn_btoken_sync_cluster_info(st, test_ca, "https://10.0.0.1:6443", now, &err), err);
    KT_ASSERT_EQ(kn_store_current_rev(st), rev);
    /* the token goes away: so does its signature; the kubeconfig stays as it was */
    KT_ASSERT_OK(kn_store_delete(st, KN_BTOKEN_SECRET_PREFIX "aaaaaa", 0, NULL, NULL, &err), err);
    KT_ASSERT_OK(kn_btoken_sync_cluster_info(st, test_ca, "https://elsewhere:1", now, &err), err);
    cleanup_cjson cJSON *after = get(st, KN_CLUSTER_INFO_KEY);
    kn_json_lookup(after, "data[\"jws-kubeconfig-aaaaaa\"]", &none, NULL);
    KT_ASSERT(none == NULL);
    KT_ASSERT_CONTAINS(
        cJSON_GetObjectItem(cJSON_GetObjectItem(after, "data"), "kubeconfig")->valuestring,
        "10.0.0.1");
    kn_store_close(st);
}

KT_TEST(auth, token_cleaner_deletes_expired)
{
    kn_store *st = open_store();
    int64_t now = kn_time_wall_ns();
    put_token(st, "aaaaaa", "0123456789abcdef", now + HOUR, NULL);
    put_token(st, "bbbbbb", "0123456789abcdef", now - HOUR, NULL);
    put_token(st, "cccccc", "0123456789abcdef", 0, NULL);
    int n = -1;
    kn_error *err = NULL;
    KT_ASSERT_OK(kn_btoken_clean_expired(st, now, &n, &err), err);
    KT_ASSERT_EQ(n, 1);
    cJSON *gone = get(st, KN_BTOKEN_SECRET_PREFIX "bbbbbb");
    KT_ASSERT(gone == NULL);
    cJSON *kept = get(st, KN_BTOKEN_SECRET_PREFIX "aaaaaa");
    KT_ASSERT(kept != NULL);
    cJSON_Delete(kept);
    kn_store_close(st);
}

/* ---- the authorizer ---------------------------------------------------------------------- */

typedef struct fixture {
    kn_store *st;
    kn_apiserver s;
} fixture;

static void fixture_init(fixture *f)
{
    memset(f, 0, sizeof(*f));
    f->st = open_store();
    f->s.opts.store = f->st;
    f->s.opts.data_dir = kt_tmpdir();
}

static api_user user_of(const char *name, const char *g1, const char *g2)
{
    api_user u = {0};
    snprintf(u.name, sizeof(u.name), "%s", name);
    const char *gs[] = {g1, g2, "system:authenticated"};
    for (size_t i = 0; i < 3; i++) {
        if (gs[i])
            snprintf(u.groups[u.ngroups++], sizeof(u.groups[0]), "%s", gs[i]);
    }
    return u;
}

static api_route route(const char *group, const char *resource, const char *ns, const char *name,
                       const char *sub)
{
    api_route rt = {0};
    rt.res = kn_resource_find(group, group[0] ? (strcmp(group, "apps") == 0 ? "v1" : "v1") : "v1",
                              resource);
    KT_ASSERT_MSG(rt.res != NULL, "no resource %s", resource);
    snprintf(rt.ns, sizeof(rt.ns), "%s", ns ? ns : "");
    snprintf(rt.name, sizeof(rt.name), "%s", name ? name : "");
    snprintf(rt.sub, sizeof(rt.sub), "%s", sub ? sub : "");
    return rt;
}

/* The decision, and the message in *msg (owned, "" when allowed). */
static bool decide(fixture *f, const api_user *u, const char *verb, const api_route *rt,
                   const char *selector, const char *body, char **msg)
{
    cleanup_cjson cJSON *b = body ? cJSON_Parse(body) : NULL;
    kn_auth_attrs a = {verb, rt, selector, b};
    char *m = NULL;
    bool ok = kn_auth_decide(&f->s, u, &a, &m);
    if (msg)
        *msg = m ? m : xstrdup("");
    else
        free(m);
    return ok;
}

static bool allowed(fixture *f, const api_user *u, const char *verb, const char *group,
                    const char *resource, const char *ns, const char *name, const char *sub)
{
    api_route rt = route(group, resource, ns, name, sub);
    return decide(f, u, verb, &rt, NULL, NULL, NULL);
}

KT_TEST(auth, masters_anonymous_bootstrappers_service_accounts)
{
    fixture f;
    fixture_init(&f);
    api_user admin = user_of("kubernetes-admin", "system:masters", NULL);
    KT_ASSERT(allowed(&f, &admin, "delete", "", "secrets", "kube-system", "x", NULL));
    api_user anon = {0};
    snprintf(anon.name, sizeof(anon.name), "system:anonymous");
    KT_ASSERT(allowed(&f, &anon, "get", "", "configmaps", "kube-public", "cluster-info", NULL));
    KT_ASSERT(!allowed(&f, &anon, "get", "", "configmaps", "kube-system", "cluster-info", NULL));
    KT_ASSERT(!allowed(&f, &anon, "list", "", "configmaps", "kube-public", NULL, NULL));
    api_user boot = user_of("system:bootstrap:abcdef", "system:bootstrappers", NULL);
    for (size_t i = 0; i < 4; i++) {
        const char *v = (const char *[]){"create", "get", "list", "watch"}[i];
        KT_ASSERT(allowed(&f, &boot, v, "certificates.k8s.io", "certificatesigningrequests", NULL,
                          strcmp(v, "get") == 0 ? "c" : NULL, NULL));
    }
    KT_ASSERT(!allowed(&f, &boot, "delete", "certificates.k8s.io", "certificatesigningrequests",
                       NULL, "c", NULL));
    KT_ASSERT(!allowed(&f, &boot, "update", "certificates.k8s.io", "certificatesigningrequests",
                       NULL, "c", "approval"));
    KT_ASSERT(!allowed(&f, &boot, "list", "", "nodes", NULL, NULL, NULL));
    api_user sa = user_of("system:serviceaccount:default:robot", "system:serviceaccounts",
                          "system:serviceaccounts:default");
    api_route pods = route("", "pods", "default", NULL, NULL);
    char *msg = NULL;
    KT_ASSERT(!decide(&f, &sa, "list", &pods, NULL, NULL, &msg));
    KT_ASSERT_STREQ(msg, "pods is forbidden: User \"system:serviceaccount:default:robot\" cannot "
                         "list resource \"pods\" in API group \"\" in the namespace \"default\"");
    free(msg);
    api_route lease = route("coordination.k8s.io", "leases", "kube-node-lease", "n1", NULL);
    KT_ASSERT(!decide(&f, &sa, "get", &lease, NULL, NULL, &msg));
    KT_ASSERT_STREQ(msg, "leases.coordination.k8s.io \"n1\" is forbidden: User "
                         "\"system:serviceaccount:default:robot\" cannot get resource \"leases\" "
                         "in API group \"coordination.k8s.io\" in the namespace "
                         "\"kube-node-lease\"");
    free(msg);
    /* a node name without the group is no node */
    api_user fake = user_of("system:node:n1", NULL, NULL);
    KT_ASSERT(!allowed(&f, &fake, "get", "", "nodes", NULL, "n1", NULL));
    kn_store_close(f.st);
}

static void add_pods(fixture *f)
{
    put_text(f->st, "/registry/core/pods/default/here",
             "{\"metadata\":{\"name\":\"here\",\"namespace\":\"default\",\"uid\":\"u-here\"},"
             "\"spec\":{\"nodeName\":\"n1\",\"serviceAccountName\":\"web\","
             "\"imagePullSecrets\":[{\"name\":\"pull\"}],"
             "\"volumes\":[{\"name\":\"a\",\"secret\":{\"secretName\":\"vol\"}},"
             "{\"name\":\"b\",\"projected\":{\"sources\":[{\"configMap\":{\"name\":\"proj\"}},"
             "{\"secret\":{\"name\":\"projsec\"}}]}},"
             "{\"name\":\"c\",\"configMap\":{\"name\":\"cmvol\"}}],"
             "\"initContainers\":[{\"name\":\"i\",\"envFrom\":[{\"secretRef\":{\"name\":"
             "\"initenv\"}}]}],"
             "\"containers\":[{\"name\":\"c\",\"env\":[{\"name\":\"X\",\"valueFrom\":"
             "{\"configMapKeyRef\":{\"name\":\"envcm\",\"key\":\"k\"}}}]}]}}");
    put_text(f->st, "/registry/core/pods/default/there",
             "{\"metadata\":{\"name\":\"there\",\"namespace\":\"default\",\"uid\":\"u-there\"},"
             "\"spec\":{\"nodeName\":\"n2\",\"volumes\":[{\"name\":\"a\",\"secret\":"
             "{\"secretName\":\"other\"}}],\"containers\":[{\"name\":\"c\"}]}}");
}

KT_TEST(auth, node_reads_what_its_pods_reference)
{
    fixture f;
    fixture_init(&f);
    add_pods(&f);
    api_user n1 = user_of("system:node:n1", "system:nodes", NULL);
    static const char *const secrets[] = {"pull", "vol", "projsec", "initenv", NULL};
    for (size_t i = 0; secrets[i]; i++)
        KT_ASSERT_MSG(allowed(&f, &n1, "get", "", "secrets", "default", secrets[i], NULL),
                      "secret %s", secrets[i]);
    static const char *const cms[] = {"proj", "cmvol", "envcm", NULL};
    for (size_t i = 0; cms[i]; i++)
        KT_ASSERT_MSG(allowed(&f, &n1, "get", "", "configmaps", "default", cms[i], NULL),
                      "configmap %s", cms[i]);
    char *msg = NULL;
    api_route other = route("", "secrets", "default", "other", NULL);
    KT_ASSERT(!decide(&f, &n1, "get", &other, NULL, NULL, &msg));
    KT_ASSERT_STREQ(msg, "secrets \"other\" is forbidden: User \"system:node:n1\" cannot get "
                         "resource \"secrets\" in API group \"\" in the namespace \"default\": no "
                         "relationship found between node 'n1' and this object");
    free(msg);
    /* the same name in another namespace is another object */
    KT_ASSERT(!allowed(&f, &n1, "get", "", "secrets", "kube-system", "vol", NULL));
    /* list/watch only of one named object */
    api_route list = route("", "secrets", "default", NULL, NULL);
    KT_ASSERT(decide(&f, &n1, "watch", &list, "metadata.name=vol", NULL, NULL));
    KT_ASSERT(!decide(&f, &n1, "watch", &list, "metadata.name=other", NULL, NULL));
    KT_ASSERT(!decide(&f, &n1, "list", &list, NULL, NULL, &msg));
    KT_ASSERT_CONTAINS(msg, "No Object name found");
    free(msg);
    KT_ASSERT(!allowed(&f, &n1, "update", "", "secrets", "default", "vol", NULL));
    /* service account tokens: for the pod's service account, bound to the pod */
    api_route tok = route("", "serviceaccounts", "default", "web", "token");
    KT_ASSERT(decide(&f, &n1, "create", &tok, NULL,
                     "{\"spec\":{\"boundObjectRef\":{\"kind\":\"Pod\",\"name\":\"here\","
                     "\"uid\":\"u-here\"}}}",
                     NULL));
    KT_ASSERT(!decide(&f, &n1, "create", &tok, NULL, "{\"spec\":{}}", &msg));
    KT_ASSERT_STREQ(msg, "serviceaccounts \"web\" is forbidden: node requested token not bound "
                         "to a pod");
    free(msg);
    KT_ASSERT(!decide(&f, &n1, "create", &tok, NULL,
                      "{\"spec\":{\"boundObjectRef\":{\"kind\":\"Pod\",\"name\":\"there\","
                      "\"uid\":\"u-there\"}}}",
                      &msg));
    KT_ASSERT_CONTAINS(msg, "bound to a pod scheduled on a different node");
    free(msg);
    api_route deflt = route("", "serviceaccounts", "default", "default", "token");
    KT_ASSERT(!decide(&f, &n1, "create", &deflt, NULL, NULL, &msg));
    KT_ASSERT_CONTAINS(msg, "no relationship found between node 'n1' and this object");
    free(msg);
    kn_store_close(f.st);
}

KT_TEST(auth, node_pods_nodes_leases)
{
    fixture f;
    fixture_init(&f);
    add_pods(&f);
    api_user n1 = user_of("system:node:n1", "system:nodes", NULL);
    KT_ASSERT(allowed(&f, &n1, "list", "", "pods", NULL, NULL, NULL));
    KT_ASSERT(allowed(&f, &n1, "watch", "", "pods", NULL, NULL, NULL));
    KT_ASSERT(allowed(&f, &n1, "get", "", "pods", "default", "there", NULL));
    KT_ASSERT(allowed(&f, &n1, "patch", "", "pods", "default", "here", "status"));
    KT_ASSERT(allowed(&f, &n1, "delete", "", "pods", "default", "here", NULL));
    KT_ASSERT(allowed(&f, &n1, "create", "", "pods", "default", "here", "eviction"));
    KT_ASSERT(!allowed(&f, &n1, "update", "", "pods", "default", "here", NULL));
    /* exec, attach, port-forward: never for nodes, not even on their own pods */
    for (size_t i = 0; i < 3; i++) {
        const char *sub = (const char *[]){"exec", "attach", "portforward"}[i];
        KT_ASSERT(!allowed(&f, &n1, "create", "", "pods", "default", "here", sub));
        KT_ASSERT(!allowed(&f, &n1, "get", "", "pods", "default", "here", sub));
    }
    api_user admin = user_of("kubernetes-admin", "system:masters", NULL);
    KT_ASSERT(allowed(&f, &admin, "create", "", "pods", "default", "here", "exec"));
    char *msg = NULL;
    api_route there = route("", "pods", "default", "there", NULL);
    KT_ASSERT(!decide(&f, &n1, "delete", &there, NULL, NULL, &msg));
    KT_ASSERT_STREQ(msg, "pods \"there\" is forbidden: node \"n1\" can only delete pods with "
                         "spec.nodeName set to itself");
    free(msg);
    KT_ASSERT(!allowed(&f, &n1, "update", "", "pods", "default", "there", "status"));
    KT_ASSERT(allowed(&f, &n1, "delete", "", "pods", "default", "gone", NULL)); /* 404 follows */
    /* nodes */
    KT_ASSERT(allowed(&f, &n1, "list", "", "nodes", NULL, NULL, NULL));
    KT_ASSERT(allowed(&f, &n1, "get", "", "nodes", NULL, "n2", NULL));
    KT_ASSERT(allowed(&f, &n1, "create", "", "nodes", NULL, NULL, NULL));
    KT_ASSERT(allowed(&f, &n1, "patch", "", "nodes", NULL, "n1", "status"));
    KT_ASSERT(allowed(&f, &n1, "update", "", "nodes", NULL, "n1", NULL));
    api_route n2 = route("", "nodes", NULL, "n2", "status");
    KT_ASSERT(!decide(&f, &n1, "patch", &n2, NULL, NULL, &msg));
    KT_ASSERT_STREQ(msg, "nodes \"n2\" is forbidden: node \"n1\" is not allowed to modify node "
                         "\"n2\"");
    free(msg);
    KT_ASSERT(!allowed(&f, &n1, "delete", "", "nodes", NULL, "n2", NULL));
    /* leases */
    KT_ASSERT(
        allowed(&f, &n1, "update", "coordination.k8s.io", "leases", "kube-node-lease", "n1", NULL));
    KT_ASSERT(
        allowed(&f, &n1, "create", "coordination.k8s.io", "leases", "kube-node-lease", NULL, NULL));
    KT_ASSERT(!allowed(&f, &n1, "update", "coordination.k8s.io", "leases", "kube-node-lease", "n2",
                       NULL));
    KT_ASSERT(!allowed(&f, &n1, "create", "coordination.k8s.io", "leases", "default", NULL, NULL));
    KT_ASSERT(
        !allowed(&f, &n1, "list", "coordination.k8s.io", "leases", "kube-node-lease", NULL, NULL));
    /* the rest */
    KT_ASSERT(allowed(&f, &n1, "create", "", "events", "default", NULL, NULL));
    KT_ASSERT(allowed(&f, &n1, "patch", "", "events", "default", "e", NULL));
    KT_ASSERT(!allowed(&f, &n1, "delete", "", "events", "default", "e", NULL));
    KT_ASSERT(allowed(&f, &n1, "create", "certificates.k8s.io", "certificatesigningrequests", NULL,
                      NULL, NULL));
    KT_ASSERT(allowed(&f, &n1, "watch", "", "services", NULL, NULL, NULL));
    KT_ASSERT(allowed(&f, &n1, "list", "", "endpoints", NULL, NULL, NULL));
    KT_ASSERT(allowed(&f, &n1, "list", "discovery.k8s.io", "endpointslices", NULL, NULL, NULL));
    KT_ASSERT(!allowed(&f, &n1, "create", "", "services", "default", NULL, NULL));
    KT_ASSERT(!allowed(&f, &n1, "list", "apps", "deployments", NULL, NULL, NULL));
    KT_ASSERT(!allowed(&f, &n1, "list", "", "namespaces", NULL, NULL, NULL));
    kn_store_close(f.st);
}

static int admit(const api_user *u, const char *group, const char *resource, const char *sub,
                 const char *old, const char *obj, char **msg)
{
    api_route rt =
        route(group, resource, strcmp(resource, "nodes") == 0 ? NULL : "default", NULL, sub);
    cleanup_cjson cJSON *o = old ? cJSON_Parse(old) : NULL;
    cleanup_cjson cJSON *n = cJSON_Parse(obj);
    kn_causes causes = {0};
    kn_error *err = NULL;
    int r = kn_auth_admit(NULL, u, &rt, o, n, &causes, &err);
    if (msg)
        *msg = xstrdup(kn_error_msg(err));
    kn_error_free(&err);
    kn_causes_free(&causes);
    return r;
}

KT_TEST(auth, node_restriction_admission)
{
    api_user n1 = user_of("system:node:n1", "system:nodes", NULL);
    char *msg = NULL;
    KT_ASSERT_EQ(admit(&n1, "", "nodes", NULL, NULL,
                       "{\"metadata\":{\"name\":\"n1\",\"labels\":{\"kubernetes.io/hostname\":"
                       "\"n1\",\"node.kubernetes.io/exclude\":\"x\",\"team\":\"a\"}},"
                       "\"spec\":{\"taints\":[{\"key\":\"k\",\"effect\":\"NoSchedule\"}]}}",
                       NULL),
                 0);
    KT_ASSERT_EQ(admit(&n1, "", "nodes", NULL, NULL, "{\"metadata\":{\"name\":\"n2\"}}", &msg),
                 -KN_EFORBIDDEN);
    KT_ASSERT_STREQ(msg, "nodes \"n2\" is forbidden: node \"n1\" is not allowed to modify node "
                         "\"n2\"");
    free(msg);
    KT_ASSERT_EQ(admit(&n1, "", "nodes", NULL, NULL,
                       "{\"metadata\":{\"name\":\"n1\",\"labels\":{\"node-role.kubernetes.io/"
                       "control-plane\":\"\",\"a.node-restriction.kubernetes.io/x\":\"y\"}}}",
                       &msg),
                 -KN_EFORBIDDEN);
    KT_ASSERT_STREQ(msg, "nodes \"n1\" is forbidden: node \"n1\" is not allowed to set the "
                         "following labels: a.node-restriction.kubernetes.io/x, "
                         "node-role.kubernetes.io/control-plane");
    free(msg);
    const char *old = "{\"metadata\":{\"name\":\"n1\",\"labels\":{\"kubernetes.io/role\":\"x\"}},"
                      "\"spec\":{\"taints\":[{\"key\":\"k\",\"effect\":\"NoSchedule\"}]}}";
    KT_ASSERT_EQ(admit(&n1, "", "nodes", NULL, old,
                       "{\"metadata\":{\"name\":\"n1\",\"labels\":{\"kubernetes.io/role\":\"x\","
                       "\"mine\":\"y\"}},\"spec\":{\"taints\":[{\"key\":\"k\",\"effect\":"
                       "\"NoSchedule\"}]}}",
                       NULL),
                 0);
    KT_ASSERT_EQ(admit(&n1, "", "nodes", NULL, old,
                       "{\"metadata\":{\"name\":\"n1\",\"labels\":{\"kubernetes.io/role\":\"x\"}},"
                       "\"spec\":{}}",
                       &msg),
                 -KN_EFORBIDDEN);
    KT_ASSERT_CONTAINS(msg, "node \"n1\" is not allowed to modify taints");
    free(msg);
    KT_ASSERT_EQ(admit(&n1, "", "nodes", NULL, old,
                       "{\"metadata\":{\"name\":\"n1\"},\"spec\":{\"taints\":[{\"key\":\"k\","
                       "\"effect\":\"NoSchedule\"}]}}",
                       &msg),
                 -KN_EFORBIDDEN);
    KT_ASSERT_CONTAINS(msg, "is not allowed to modify labels: kubernetes.io/role");
    free(msg);
    /* mirror pods only, of this node, owned by it, referencing nothing */
    const char *mirror = "{\"metadata\":{\"name\":\"m\",\"annotations\":{\"kubernetes.io/"
                         "config.mirror\":\"h\"},\"ownerReferences\":[{\"apiVersion\":\"v1\","
                         "\"kind\":\"Node\",\"name\":\"n1\",\"uid\":\"u\",\"controller\":true}]},"
                         "\"spec\":{\"nodeName\":\"n1\",\"containers\":[{\"name\":\"c\"}]}}";
    KT_ASSERT_EQ(admit(&n1, "", "pods", NULL, NULL, mirror, NULL), 0);
    KT_ASSERT_EQ(admit(&n1, "", "pods", NULL, NULL,
                       "{\"metadata\":{\"name\":\"p\"},\"spec\":{\"nodeName\":\"n1\"}}", &msg),
                 -KN_EFORBIDDEN);
    KT_ASSERT_STREQ(msg, "pods \"p\" is forbidden: pod does not have \"kubernetes.io/config."
                         "mirror\" annotation, node \"n1\" can only create mirror pods");
    free(msg);
    KT_ASSERT_EQ(admit(&n1, "", "pods", NULL, NULL,
                       "{\"metadata\":{\"name\":\"m\",\"annotations\":{\"kubernetes.io/"
                       "config.mirror\":\"h\"},\"ownerReferences\":[{\"apiVersion\":\"v1\","
                       "\"kind\":\"Node\",\"name\":\"n1\",\"uid\":\"u\",\"controller\":true}]},"
                       "\"spec\":{\"nodeName\":\"n1\",\"volumes\":[{\"name\":\"s\",\"secret\":"
                       "{\"secretName\":\"x\"}}]}}",
                       &msg),
                 -KN_EFORBIDDEN);
    KT_ASSERT_CONTAINS(msg, "can not create pods that reference secrets");
    free(msg);
    KT_ASSERT_EQ(admit(&n1, "coordination.k8s.io", "leases", NULL, NULL,
                       "{\"metadata\":{\"name\":\"n2\"}}", &msg),
                 -KN_EFORBIDDEN);
    KT_ASSERT_CONTAINS(msg, "can only access node lease with the same name as the requesting node");
    free(msg);
    /* NodeRestriction is for nodes only */
    api_user admin = user_of("kubernetes-admin", "system:masters", NULL);
    KT_ASSERT_EQ(admit(&admin, "", "nodes", NULL, NULL, "{\"metadata\":{\"name\":\"n2\"}}", NULL),
                 0);
}

/* ---- CSRs ----------------------------------------------------------------------------------- */

/* A base64 PEM request: subject CN and O (O may be NULL), optional DNS SAN. */
static char *make_request(const char *cn, const char *o, const char *dns)
{
    EVP_PKEY *k = EVP_EC_gen("P-256");
    X509_REQ *req = X509_REQ_new();
    X509_NAME *n = X509_NAME_new();
    if (o)
        X509_NAME_add_entry_by_txt(n, "O", MBSTRING_UTF8, (const unsigned char *)o, -1, -1, 0);
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0);
    X509_REQ_set_subject_name(req, n);
    X509_REQ_set_pubkey(req, k);
    if (dns) {
        STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
        cleanup_free char *v = xasprintf("DNS:%s", dns);
        sk_X509_EXTENSION_push(exts, X509V3_EXT_conf_nid(NULL, NULL, NID_subject_alt_name, v));
        X509_REQ_add_extensions(req, exts);
        sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
    }
    X509_REQ_sign(req, k, EVP_sha256());
    BIO *b = BIO_new(BIO_s_mem());
    PEM_write_bio_X509_REQ(b, req);
    char *data;
    long len = BIO_get_mem_data(b, &data);
    char *out = xmalloc(4 * (((size_t)len + 2) / 3) + 1);
    EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)data, (int)len);
    BIO_free(b);
    X509_NAME_free(n);
    X509_REQ_free(req);
    EVP_PKEY_free(k);
    return out;
}

static cJSON *csr_json(const char *request, const char *signer, const char *usages,
                       const char *user, const char *groups)
{
    cleanup_free char *text = xasprintf(
        "{\"apiVersion\":\"certificates.k8s.io/v1\",\"kind\":\"CertificateSigningRequest\","
        "\"metadata\":{\"name\":\"c\"},\"spec\":{\"request\":\"%s\",\"signerName\":\"%s\","
        "\"usages\":%s,\"username\":\"%s\",\"groups\":%s}}",
        request, signer, usages, user, groups);
    cJSON *o = cJSON_Parse(text);
    KT_ASSERT(o != NULL);
    return o;
}

#define KUBELET "kubernetes.io/kube-apiserver-client-kubelet"
#define CLIENT_USAGES "[\"digital signature\",\"client auth\"]"

KT_TEST(auth, csr_auto_approval)
{
    cleanup_free char *node = make_request("system:node:n1", "system:nodes", NULL);
    cleanup_free char *san = make_request("system:node:n1", "system:nodes", "n1.example");
    cleanup_free char *wrong_o = make_request("system:node:n1", "system:masters", NULL);
    cleanup_free char *wrong_cn = make_request("n1", "system:nodes", NULL);
    const char *msg = NULL;
    struct {
        const char *req, *signer, *usages, *user, *groups;
        const char *expect; /* substring of the message, NULL: not approved */
    } cases[] = {
        {node, KUBELET, CLIENT_USAGES, "system:bootstrap:abcdef",
         "[\"system:bootstrappers\",\"system:authenticated\"]", "Auto approving kubelet client"},
        {node, KUBELET, "[\"key encipherment\",\"digital signature\",\"client auth\"]",
         "system:bootstrap:abcdef", "[\"system:bootstrappers\"]", "Auto approving kubelet"},
        {node, KUBELET, CLIENT_USAGES, "system:node:n1", "[\"system:nodes\"]",
         "Auto approving self kubelet client"},
        {node, KUBELET, CLIENT_USAGES, "system:node:n2", "[\"system:nodes\"]", NULL},
        {node, KUBELET, CLIENT_USAGES, "jane", "[\"system:authenticated\"]", NULL},
        {node, KUBELET, "[\"client auth\"]", "system:bootstrap:a", "[\"system:bootstrappers\"]",
         NULL},
        {node, KUBELET, "[\"digital signature\",\"client auth\",\"server auth\"]",
         "system:bootstrap:a", "[\"system:bootstrappers\"]", NULL},
        {node, "kubernetes.io/kube-apiserver-client", CLIENT_USAGES, "system:bootstrap:a",
         "[\"system:bootstrappers\"]", NULL},
        {san, KUBELET, CLIENT_USAGES, "system:bootstrap:a", "[\"system:bootstrappers\"]", NULL},
        {wrong_o, KUBELET, CLIENT_USAGES, "system:bootstrap:a", "[\"system:bootstrappers\"]", NULL},
        {wrong_cn, KUBELET, CLIENT_USAGES, "system:bootstrap:a", "[\"system:bootstrappers\"]",
         NULL},
        {node, KUBELET, CLIENT_USAGES, "kubernetes-admin", "[\"system:masters\"]",
         "Auto approving kubelet client"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        cleanup_cjson cJSON *c = csr_json(cases[i].req, cases[i].signer, cases[i].usages,
                                          cases[i].user, cases[i].groups);
        bool ok = kn_csr_auto_approve(c, &msg);
        KT_ASSERT_MSG(ok == (cases[i].expect != NULL), "case %zu", i);
        if (ok)
            KT_ASSERT_CONTAINS(msg, cases[i].expect);
    }
}

static int csr_admit(const api_user *u, const char *sub, cJSON *old, cJSON *obj, kn_causes *c)
{
    api_route rt = route("certificates.k8s.io", "certificatesigningrequests", NULL, "c", sub);
    if (!old)
        rt.name[0] = '\0';
    kn_error *err = NULL;
    int r = kn_auth_admit(NULL, u, &rt, old, obj, c, &err);
    kn_error_free(&err);
    return r;
}

static void add_cond(cJSON *csr, const char *type)
{
    cJSON *st = cJSON_GetObjectItem(csr, "status");
    if (!st)
        st = cJSON_AddObjectToObject(csr, "status");
    cJSON *list = cJSON_GetObjectItem(st, "conditions");
    if (!list)
        list = cJSON_AddArrayToObject(st, "conditions");
    cJSON *c = cJSON_CreateObject();
    cJSON_AddStringToObject(c, "type", type);
    cJSON_AddStringToObject(c, "status", "True");
    cJSON_AddItemToArray(list, c);
}

KT_TEST(auth, csr_strategy)
{
    cleanup_free char *req = make_request("system:node:n1", "system:nodes", NULL);
    api_user boot = user_of("system:bootstrap:abcdef", "system:bootstrappers", NULL);
    /* create: the requester is recorded, whatever the client claimed; status cleared */
    cleanup_cjson cJSON *c =
        csr_json(req, KUBELET, CLIENT_USAGES, "system:masters-wannabe", "[\"system:masters\"]");
    add_cond(c, "Approved");
    kn_causes causes = {0};
    KT_ASSERT_EQ(csr_admit(&boot, NULL, NULL, c, &causes), 0);
    KT_ASSERT_EQ(causes.len, 0);
    const char *user = NULL;
    kn_json_get_string(c, "spec.username", &user, NULL);
    KT_ASSERT_STREQ(user, "system:bootstrap:abcdef");
    cleanup_free char *groups =
        kn_json_print(cJSON_GetObjectItem(cJSON_GetObjectItem(c, "spec"), "groups"));
    KT_ASSERT_STREQ(groups, "[\"system:bootstrappers\",\"system:authenticated\"]");
    cleanup_free char *status = kn_json_print(cJSON_GetObjectItem(c, "status"));
    KT_ASSERT_STREQ(status, "{}");
    /* invalid requests */
    cleanup_cjson cJSON *bad = csr_json("bm90IGEgcmVxdWVzdA==", "",
                                        "[\"digital signature\","
                                        "\"fly\"]",
                                        "x", "[]");
    cJSON_AddNumberToObject(cJSON_GetObjectItem(bad, "spec"), "expirationSeconds", 60);
    KT_ASSERT_EQ(csr_admit(&boot, NULL, NULL, bad, &causes), 0);
    KT_ASSERT_EQ(causes.len, 4);
    KT_ASSERT_STREQ(causes.items[0].field, "spec.request");
    KT_ASSERT_CONTAINS(causes.items[0].message, "PEM block type must be CERTIFICATE REQUEST");
    KT_ASSERT_STREQ(causes.items[1].field, "spec.signerName");
    KT_ASSERT_STREQ(causes.items[2].field, "spec.usages");
    KT_ASSERT_STREQ(causes.items[3].field, "spec.expirationSeconds");
    kn_causes_free(&causes);
    /* update: spec is immutable */
    cleanup_cjson cJSON *upd = cJSON_Duplicate(c, 1);
    cJSON_ReplaceItemInObject(cJSON_GetObjectItem(upd, "spec"), "username",
                              cJSON_CreateString("mallory"));
    api_user admin = user_of("kubernetes-admin", "system:masters", NULL);
    KT_ASSERT_EQ(csr_admit(&admin, NULL, c, upd, &causes), 0);
    kn_json_get_string(upd, "spec.username", &user, NULL);
    KT_ASSERT_STREQ(user, "system:bootstrap:abcdef");
    /* approval: conditions only, timestamps filled */
    cleanup_cjson cJSON *appr = cJSON_Duplicate(c, 1);
    add_cond(appr, "Approved");
    KT_ASSERT_EQ(csr_admit(&admin, "approval", c, appr, &causes), 0);
    KT_ASSERT_EQ(causes.len, 0);
    const char *ts = NULL;
    KT_ASSERT_EQ(kn_json_get_string(appr, "status.conditions[0].lastUpdateTime", &ts, NULL), 0);
    /* status: may not add or drop decisions; certificate only once approved */
    cleanup_cjson cJSON *st = cJSON_Duplicate(c, 1);
    add_cond(st, "Denied");
    cJSON_AddStringToObject(cJSON_GetObjectItem(st, "status"), "certificate", "Y2VydA==");
    KT_ASSERT_EQ(csr_admit(&admin, "status", c, st, &causes), 0);
    const cJSON *conds = NULL;
    kn_json_get_array_opt(st, "status.conditions", &conds, NULL);
    KT_ASSERT_EQ(cJSON_GetArraySize(conds), 0);
    KT_ASSERT_EQ(causes.len, 1);
    KT_ASSERT_CONTAINS(causes.items[0].message, "certificate can only be set on an approved");
    kn_causes_free(&causes);
    cleanup_cjson cJSON *st2 = cJSON_Duplicate(appr, 1);
    cJSON_AddStringToObject(cJSON_GetObjectItem(st2, "status"), "certificate", "Y2VydA==");
    KT_ASSERT_EQ(csr_admit(&admin, "status", appr, st2, &causes), 0);
    KT_ASSERT_EQ(causes.len, 0);
    /* approval of an approved one with Denied added: exclusive; removing Approved: forbidden */
    cleanup_cjson cJSON *both = cJSON_Duplicate(appr, 1);
    add_cond(both, "Denied");
    KT_ASSERT_EQ(csr_admit(&admin, "approval", appr, both, &causes), 0);
    KT_ASSERT_EQ(causes.len, 1);
    KT_ASSERT_CONTAINS(causes.items[0].message, "mutually exclusive");
    kn_causes_free(&causes);
    cleanup_cjson cJSON *none = cJSON_Duplicate(c, 1);
    KT_ASSERT_EQ(csr_admit(&admin, "approval", appr, none, &causes), 0);
    KT_ASSERT_EQ(causes.len, 1);
    KT_ASSERT_CONTAINS(causes.items[0].message, "may not remove a condition of type \"Approved\"");
    kn_causes_free(&causes);
}

static void make_pki(const char *dir)
{
    kn_pki_opts o = {
        .data_dir = dir, .server_url = "https://127.0.0.1:6443", .cluster_domain = "cluster.local"};
    kn_error *err = NULL;
    KT_ASSERT_OK(kn_pki_ensure(&o, &err), err);
}

static X509 *parse_cert(const char *pem)
{
    BIO *b = BIO_new_mem_buf(pem, -1);
    X509 *c = PEM_read_bio_X509(b, NULL, NULL, NULL);
    BIO_free(b);
    KT_ASSERT(c != NULL);
    return c;
}

KT_TEST(auth, csr_signing)
{
    cleanup_free char *dir = xasprintf("%s/pki", kt_tmpdir());
    make_pki(dir);
    cleanup_free char *req = make_request("system:node:n1", "system:nodes", NULL);
    cleanup_cjson cJSON *c = csr_json(req, KUBELET, CLIENT_USAGES, "u", "[]");
    cJSON_AddNumberToObject(cJSON_GetObjectItem(c, "spec"), "expirationSeconds", 3600);
    int64_t now = kn_time_wall_ns();
    char *pem = NULL;
    kn_error *err = NULL;
    KT_ASSERT_OK(kn_csr_sign(dir, c, 0, now, &pem, &err), err);
    X509 *cert = parse_cert(pem);
    free(pem);
    /* signed by the CA */
    cleanup_free char *ca_path = xasprintf("%s/ca.crt", dir);
    FILE *f = fopen(ca_path, "r");
    X509 *ca = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    EVP_PKEY *cak = X509_get0_pubkey(ca);
    KT_ASSERT_EQ(X509_verify(cert, cak), 1);
    /* lifetime = expirationSeconds, backdated by 1% below 8 hours */
    int day, sec;
    ASN1_TIME_diff(&day, &sec, X509_get0_notBefore(cert), X509_get0_notAfter(cert));
    KT_ASSERT_EQ(day * 86400 + sec, 3600);
    ASN1_TIME *t = ASN1_TIME_set(NULL, (time_t)(now / KN_NSEC_PER_SEC));
    ASN1_TIME_diff(&day, &sec, X509_get0_notBefore(cert), t);
    KT_ASSERT_EQ(day * 86400 + sec, 37);
    ASN1_TIME_free(t);
    KT_ASSERT_EQ(X509_get_extended_key_usage(cert), XKU_SSL_CLIENT);
    KT_ASSERT(X509_get_key_usage(cert) & KU_DIGITAL_SIGNATURE);
    X509_free(cert);
    X509_free(ca);
    /* refusals */
    cleanup_cjson cJSON *serving = csr_json(req, "kubernetes.io/kubelet-serving",
                                            "[\"digital signature\",\"server auth\"]", "u", "[]");
    KT_ASSERT_EQ(kn_csr_sign(dir, serving, 0, now, &pem, &err), -KN_EINVAL);
    KT_ASSERT_CONTAINS(kn_error_msg(err), "DNS or IP subjectAltName is required");
    kn_error_free(&err);
    cleanup_free char *san = make_request("system:node:n1", "system:nodes", "n1.example");
    cleanup_cjson cJSON *serving_ok = csr_json(
        san, "kubernetes.io/kubelet-serving", "[\"digital signature\",\"server auth\"]", "u", "[]");
    KT_ASSERT_OK(kn_csr_sign(dir, serving_ok, 0, now, &pem, &err), err);
    cert = parse_cert(pem);
    free(pem);
    KT_ASSERT_EQ(X509_get_extended_key_usage(cert), XKU_SSL_SERVER);
    ASN1_TIME_diff(&day, &sec, X509_get0_notBefore(cert), X509_get0_notAfter(cert));
    KT_ASSERT_EQ(day, 365); /* the default signing duration, 8760h */
    X509_free(cert);
    cleanup_cjson cJSON *client_server = csr_json(req, "kubernetes.io/kube-apiserver-client",
                                                  "[\"client auth\",\"server auth\"]", "u", "[]");
    KT_ASSERT_EQ(kn_csr_sign(dir, client_server, 0, now, &pem, &err), -KN_EINVAL);
    kn_error_free(&err);
    cleanup_cjson cJSON *other = csr_json(req, "example.com/signer", CLIENT_USAGES, "u", "[]");
    KT_ASSERT_EQ(kn_csr_sign(dir, other, 0, now, &pem, &err), -KN_ENOTSUP);
    kn_error_free(&err);
}

KT_TEST(auth, csr_signer_approves_and_signs)
{
    cleanup_free char *dir = xasprintf("%s/pki", kt_tmpdir());
    make_pki(dir);
    kn_store *st = open_store();
    cleanup_free char *req = make_request("system:node:n1", "system:nodes", NULL);
    cleanup_cjson cJSON *node = csr_json(req, KUBELET, CLIENT_USAGES, "system:bootstrap:abcdef",
                                         "[\"system:bootstrappers\"]");
    put(st, KN_CSR_PREFIX "node", node);
    cleanup_cjson cJSON *bad =
        csr_json(req, "kubernetes.io/kube-apiserver-client", "[\"server auth\"]", "jane", "[]");
    add_cond(bad, "Approved");
    put(st, KN_CSR_PREFIX "bad", bad);
    cleanup_cjson cJSON *foreign = csr_json(req, "example.com/x", CLIENT_USAGES, "jane", "[]");
    add_cond(foreign, "Approved");
    put(st, KN_CSR_PREFIX "foreign", foreign);
    kn_csr_signer_opts o = {.store = st, .data_dir = dir, .server_url = "https://h:1"};
    kn_csr_signer *s = NULL;
    kn_error *err = NULL;
    KT_ASSERT_OK(kn_csr_signer_start(&o, &s, &err), err);
    /* one created while it runs */
    cleanup_cjson cJSON *later =
        csr_json(req, KUBELET, CLIENT_USAGES, "system:node:n1", "[\"system:nodes\"]");
    put(st, KN_CSR_PREFIX "later", later);
    cJSON *got = NULL;
    for (int i = 0; i < 200; i++) {
        cJSON_Delete(got);
        got = get(st, KN_CSR_PREFIX "later");
        if (got && cJSON_GetObjectItem(cJSON_GetObjectItem(got, "status"), "certificate"))
            break;
        kn_clock_sleep(NULL, 20 * KN_NSEC_PER_MSEC);
    }
    kn_csr_signer_stop(s);
    const char *reason = NULL;
    KT_ASSERT_OK(kn_json_get_string(got, "status.conditions[0].reason", &reason, &err), err);
    KT_ASSERT_STREQ(reason, "AutoApproved");
    cJSON_Delete(got);
    cleanup_cjson cJSON *n = get(st, KN_CSR_PREFIX "node");
    const char *cert = NULL;
    KT_ASSERT_OK(kn_json_get_string(n, "status.certificate", &cert, &err), err);
    cleanup_cjson cJSON *b = get(st, KN_CSR_PREFIX "bad");
    KT_ASSERT_OK(kn_json_get_string(b, "status.conditions[1].type", &reason, &err), err);
    KT_ASSERT_STREQ(reason, "Failed");
    KT_ASSERT_OK(kn_json_get_string(b, "status.conditions[1].reason", &reason, &err), err);
    KT_ASSERT_STREQ(reason, "SignerValidationFailure");
    cleanup_cjson cJSON *fo = get(st, KN_CSR_PREFIX "foreign");
    const cJSON *none = NULL;
    kn_json_lookup(fo, "status.certificate", &none, NULL);
    KT_ASSERT(none == NULL);
    /* and cluster-info was published */
    cleanup_cjson cJSON *cm = get(st, KN_CLUSTER_INFO_KEY);
    KT_ASSERT(cm != NULL);
    kn_store_close(st);
}

KT_TEST(auth, rotation_deadline_is_70_to_90_percent)
{
    int64_t nb = 1000 * KN_NSEC_PER_SEC, na = nb + 100 * KN_NSEC_PER_SEC;
    KT_ASSERT_EQ(kc_cert_rotation_deadline(nb, na, 0.0), nb + 70 * KN_NSEC_PER_SEC);
    KT_ASSERT_EQ(kc_cert_rotation_deadline(nb, na, 0.5), nb + 80 * KN_NSEC_PER_SEC);
    int64_t top = kc_cert_rotation_deadline(nb, na, 0.9999999);
    KT_ASSERT(top < nb + 90 * KN_NSEC_PER_SEC && top > nb + 89 * KN_NSEC_PER_SEC);
}

/* test-kubeconfig.c - kubeconfig loading, merging, in-cluster config. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api-client/kubeconfig.h"
#include "lib/cleanup.h"
#include "lib/xalloc.h"
#include "test/runner/kt.h"

/* base64 of "CA-PEM", "CERT-PEM", "KEY-PEM" */
#define B64_CA "Q0EtUEVN"
#define B64_CERT "Q0VSVC1QRU0="
#define B64_KEY "S0VZLVBFTQ=="

static char *write_file(const char *rel, const char *content)
{
    char *path = xasprintf("%s/%s", kt_tmpdir(), rel);
    for (char *s = path + strlen(kt_tmpdir()) + 1; (s = strchr(s, '/')); s++) {
        *s = '\0';
        mkdir(path, 0755);
        *s = '/';
    }
    FILE *f = fopen(path, "w");
    KT_ASSERT(f);
    fputs(content, f);
    fclose(f);
    return path;
}

static void put_file(const char *rel, const char *content)
{
    free(write_file(rel, content));
}

/* A kubeconfig with contexts "one" (current) and "two". */
static const char *basic_config =
    "{\"apiVersion\":\"v1\",\"kind\":\"Config\",\"current-context\":\"one\",\n"
    " \"clusters\":[{\"name\":\"c1\",\"cluster\":{\"server\":\"https://10.0.0.1:6443\",\n"
    "     \"certificate-authority-data\":\"" B64_CA "\"}},\n"
    "   {\"name\":\"c2\",\"cluster\":{\"server\":\"https://api.example/prefix/\","
    "     \"tls-server-name\":\"kubernetes\",\"insecure-skip-tls-verify\":true}}],\n"
    " \"users\":[{\"name\":\"u1\",\"user\":{\"client-certificate-data\":\"" B64_CERT "\",\n"
    "     \"client-key-data\":\"" B64_KEY "\"}},\n"
    "   "
    "{\"name\":\"u2\",\"user\":{\"token\":\"tok-2\",\"as\":\"jane\",\"as-groups\":[\"g1\",\"g2\"]}}"
    "],\n"
    " \"contexts\":[{\"name\":\"one\",\"context\":{\"cluster\":\"c1\",\"user\":\"u1\"}},\n"
    "   "
    "{\"name\":\"two\",\"context\":{\"cluster\":\"c2\",\"user\":\"u2\",\"namespace\":\"kube-"
    "system\"}}]}\n";

KT_TEST(kubeconfig, current_context_with_inline_data)
{
    cleanup_free char *path = write_file("kc/config", basic_config);
    cleanup_error kn_error *err = NULL;
    cleanup_kc_config kc_config *c = NULL;
    const char *p = path;
    KT_ASSERT_OK(kc_config_load_files(&p, 1, true, NULL, &c, &err), err);
    KT_ASSERT_STREQ(c->server, "https://10.0.0.1:6443");
    KT_ASSERT_STREQ(c->server_host, "10.0.0.1");
    KT_ASSERT_EQ(c->server_port, 6443);
    KT_ASSERT_STREQ(c->server_path, "");
    KT_ASSERT_STREQ(c->ca.data, "CA-PEM");
    KT_ASSERT_EQ(c->ca.len, 6);
    KT_ASSERT_STREQ(c->client_cert.data, "CERT-PEM");
    KT_ASSERT_STREQ(c->client_key.data, "KEY-PEM");
    KT_ASSERT(c->token == NULL);
    KT_ASSERT_STREQ(c->namespace, "default");
    KT_ASSERT_STREQ(c->context, "one");
    KT_ASSERT_STREQ(c->cluster, "c1");
    KT_ASSERT_STREQ(c->user, "u1");
    KT_ASSERT(!c->insecure_skip_tls_verify);
}

KT_TEST(kubeconfig, context_override_and_path_prefix)
{
    cleanup_error kn_error *err = NULL;
    cleanup_kc_config kc_config *c = NULL;
    KT_ASSERT_OK(
        kc_config_load_data(basic_config, strlen(basic_config), "/x/config", "two", &c, &err), err);
    KT_ASSERT_STREQ(c->server, "https://api.example:443/prefix");
    KT_ASSERT_STREQ(c->server_path, "/prefix");
    KT_ASSERT_STREQ(c->tls_server_name, "kubernetes");
    KT_ASSERT(c->insecure_skip_tls_verify);
    KT_ASSERT_STREQ(c->namespace, "kube-system");
    KT_ASSERT(c->ca.data == NULL);
    cleanup_free char *tok = NULL;
    KT_ASSERT_OK(kc_config_bearer_token(c, &tok, &err), err);
    KT_ASSERT_STREQ(tok, "tok-2");
    KT_ASSERT_STREQ(c->impersonate_user, "jane");
    KT_ASSERT_STREQ(c->impersonate_groups[0], "g1");
    KT_ASSERT_STREQ(c->impersonate_groups[1], "g2");
    KT_ASSERT(c->impersonate_groups[2] == NULL);

    kc_config *d = kc_config_dup(c);
    KT_ASSERT_STREQ(d->impersonate_groups[1], "g2");
    KT_ASSERT_STREQ(d->server, c->server);
    kc_config_free(d);

    kc_config *none = NULL;
    KT_ASSERT_FAILS(
        kc_config_load_data(basic_config, strlen(basic_config), "/x/config", "three", &none, &err));
    KT_ASSERT_CONTAINS(kn_error_msg(err), "/x/config: context \"three\" not found");
}

KT_TEST(kubeconfig, relative_paths_resolve_against_the_file)
{
    put_file("a/b/ca.crt", "CA FILE\n");
    put_file("a/b/certs/client.crt", "CERT FILE\n");
    put_file("a/b/certs/client.key", "KEY FILE\n");
    put_file("a/b/token", "  file-token\n");
    cleanup_free char *path = write_file(
        "a/b/kubeconfig",
        "{\"current-context\":\"x\",\"clusters\":[{\"name\":\"c\",\"cluster\":{\"server\":"
        "\"https://[fd00::1]:443\",\"certificate-authority\":\"ca.crt\"}}],"
        "\"users\":[{\"name\":\"u\",\"user\":{\"client-certificate\":\"certs/client.crt\","
        "\"client-key\":\"certs/client.key\",\"tokenFile\":\"./token\"}}],"
        "\"contexts\":[{\"name\":\"x\",\"context\":{\"cluster\":\"c\",\"user\":\"u\"}}]}");
    cleanup_error kn_error *err = NULL;
    cleanup_kc_config kc_config *c = NULL;
    const char *p = path;
    KT_ASSERT_OK(kc_config_load_files(&p, 1, true, NULL, &c, &err), err);
    KT_ASSERT_STREQ(c->server_host, "fd00::1");
    KT_ASSERT_STREQ(c->server, "https://[fd00::1]:443");
    KT_ASSERT_STREQ(c->ca.data, "CA FILE\n");
    KT_ASSERT_STREQ(c->client_cert.data, "CERT FILE\n");
    KT_ASSERT_STREQ(c->client_key.data, "KEY FILE\n");
    cleanup_free char *want = xasprintf("%s/a/b/certs/client.key", kt_tmpdir());
    KT_ASSERT_STREQ(c->client_key_file, want);
    cleanup_free char *tok = NULL;
    KT_ASSERT_OK(kc_config_bearer_token(c, &tok, &err), err);
    KT_ASSERT_STREQ(tok, "file-token");
}

KT_TEST(kubeconfig, kubeconfig_env_merges_first_wins)
{
    cleanup_free char *f1 = write_file(
        "m/one", "{\"clusters\":[{\"name\":\"shared\",\"cluster\":{\"server\":\"https://first\"}}],"
                 "\"contexts\":[{\"name\":\"ctx\",\"context\":{\"cluster\":\"shared\","
                 "\"user\":\"admin\"}}]}");
    cleanup_free char *f2 = write_file(
        "m/two", "{\"current-context\":\"ctx\",\"clusters\":[{\"name\":\"shared\",\"cluster\":{"
                 "\"server\":\"https://second\",\"insecure-skip-tls-verify\":true}}],"
                 "\"users\":[{\"name\":\"admin\",\"user\":{\"token\":\"t2\"}}],"
                 "\"contexts\":[{\"name\":\"ctx\",\"context\":{\"cluster\":\"other\"}}]}");
    cleanup_free char *f3 = write_file("m/three", "{\"current-context\":\"ignored\"}");
    cleanup_free char *env = xasprintf("%s::%s/m/missing:%s:%s", f1, kt_tmpdir(), f2, f3);
    setenv("KUBECONFIG", env, 1);
    cleanup_error kn_error *err = NULL;
    cleanup_kc_config kc_config *c = NULL;
    KT_ASSERT_OK(kc_config_load(NULL, NULL, &c, &err), err);
    /* the cluster and context come whole from the first file, the user from
     * the second, current-context from the first file that sets it */
    KT_ASSERT_STREQ(c->server, "https://first:443");
    KT_ASSERT(!c->insecure_skip_tls_verify);
    KT_ASSERT_STREQ(c->context, "ctx");
    KT_ASSERT_STREQ(c->token, "t2");
    KT_ASSERT_STREQ(c->origin, f1);

    /* an explicit file wins over $KUBECONFIG, and must exist */
    kc_config *d = NULL;
    KT_ASSERT_FAILS(kc_config_load(f3, NULL, &d, &err));
    KT_ASSERT_CONTAINS(kn_error_msg(err), "current-context: context \"ignored\" not found");
    kn_error_free(&err);
    cleanup_free char *missing = xasprintf("%s/nope", kt_tmpdir());
    KT_ASSERT_FAILS(kc_config_load(missing, NULL, &d, &err));
    KT_ASSERT_CONTAINS(kn_error_msg(err), "No such file");
}

KT_TEST(kubeconfig, home_default_and_in_cluster_fallback)
{
    unsetenv("KUBECONFIG");
    setenv("HOME", kt_tmpdir(), 1);
    unsetenv("KUBERNETES_SERVICE_HOST");
    cleanup_error kn_error *err = NULL;
    kc_config *c = NULL;
    KT_ASSERT_FAILS(kc_config_load(NULL, NULL, &c, &err));
    KT_ASSERT_EQ(kn_error_code(err), KN_ENOTFOUND);
    kn_error_free(&err);

    put_file(".kube/config", basic_config);
    KT_ASSERT_OK(kc_config_load(NULL, "two", &c, &err), err);
    KT_ASSERT_STREQ(c->context, "two");
    kc_config_free(c);

    /* $KUBECONFIG naming only missing files falls back to in-cluster */
    setenv("KUBECONFIG", "/nonexistent/a:/nonexistent/b", 1);
    KT_ASSERT_FAILS(kc_config_load(NULL, NULL, &c, &err));
    KT_ASSERT_CONTAINS(kn_error_msg(err), "none of the 2 files exists");
    kn_error_free(&err);
    setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1);
    setenv("KUBERNETES_SERVICE_PORT", "443", 1);
    KT_ASSERT_FAILS(kc_config_load(NULL, NULL, &c, &err));
    KT_ASSERT_CONTAINS(kn_error_msg(err), "/var/run/secrets/kubernetes.io/serviceaccount/token");
}

/* Loads doc and expects a failure with code and message fragment. */
static void expect_error(const char *doc, const char *context, kn_errcode code, const char *msg)
{
    cleanup_error kn_error *err = NULL;
    kc_config *c = NULL;
    int r = kc_config_load_data(doc, strlen(doc), "/etc/kc.yaml", context, &c, &err);
    KT_ASSERT_MSG(r < 0, "expected failure for %s", doc);
    KT_ASSERT_MSG(kn_error_code(err) == code, "code %s, want %s: %s",
                  kn_errcode_name(kn_error_code(err)), kn_errcode_name(code), kn_error_msg(err));
    KT_ASSERT_CONTAINS(kn_error_msg(err), msg);
}

#define CTX "\"contexts\":[{\"name\":\"x\",\"context\":{\"cluster\":\"c\",\"user\":\"u\"}}]"
#define CLUSTER(body) "\"clusters\":[{\"name\":\"c\",\"cluster\":{" body "}}]"
#define USER(body) "\"users\":[{\"name\":\"u\",\"user\":{" body "}}]"
#define DOC(cluster, user) "{\"current-context\":\"x\"," CTX "," cluster "," user "}"
#define SRV "\"server\":\"https://h\""

KT_TEST(kubeconfig, errors_name_file_and_field)
{
    expect_error(DOC(CLUSTER("\"insecure-skip-tls-verify\":true"), USER("")), NULL, KN_EINVAL,
                 "/etc/kc.yaml: clusters[0].cluster.server: missing");
    expect_error(DOC(CLUSTER("\"server\":\"ftp://h\""), USER("")), NULL, KN_EINVAL,
                 "clusters[0].cluster.server: invalid URL \"ftp://h\": scheme");
    expect_error(DOC(CLUSTER("\"server\":\"https://h:99999\""), USER("")), NULL, KN_EINVAL,
                 "bad port");
    expect_error(DOC(CLUSTER("\"server\":\"https://u:p@h\""), USER("")), NULL, KN_EINVAL,
                 "user info");
    expect_error(DOC(CLUSTER("\"server\":\"https://h/?a=b\""), USER("")), NULL, KN_EINVAL, "query");
    expect_error(DOC(CLUSTER("\"server\":7"), USER("")), NULL, KN_EINVAL,
                 "/etc/kc.yaml: clusters[0].cluster.server: expected a string");
    expect_error(DOC(CLUSTER(SRV ",\"insecure-skip-tls-verify\":\"yes\""), USER("")), NULL,
                 KN_EINVAL, "clusters[0].cluster.insecure-skip-tls-verify: expected a boolean");
    expect_error(DOC(CLUSTER(SRV ",\"certificate-authority-data\":\"Q0E*\""), USER("")), NULL,
                 KN_EINVAL,
                 "clusters[0].cluster.certificate-authority-data: illegal base64 data at input "
                 "byte 3");
    expect_error(DOC(CLUSTER(SRV ",\"certificate-authority-data\":\"" B64_CA
                                 "\",\"certificate-authority\":\"/ca\""),
                     USER("")),
                 NULL, KN_EINVAL, "both certificate-authority and certificate-authority-data");
    expect_error(DOC(CLUSTER(SRV ",\"certificate-authority-data\":\"" B64_CA
                                 "\",\"insecure-skip-tls-verify\":true"),
                     USER("")),
                 NULL, KN_EINVAL, "clusters[0].cluster.insecure-skip-tls-verify: cannot be used");
    expect_error(DOC(CLUSTER(SRV ",\"certificate-authority\":\"/nonexistent/ca.crt\""), USER("")),
                 NULL, KN_EIO,
                 "clusters[0].cluster.certificate-authority: read /nonexistent/ca.crt: No such");
    expect_error(DOC(CLUSTER(SRV ",\"proxy-url\":\"http://proxy:3128\""), USER("")), NULL,
                 KN_ENOTSUP, "clusters[0].cluster.proxy-url: proxies are not supported");
}

KT_TEST(kubeconfig, user_errors_name_file_and_field)
{
    expect_error(DOC(CLUSTER(SRV), USER("\"client-certificate-data\":\"" B64_CERT "\"")), NULL,
                 KN_EINVAL, "/etc/kc.yaml: users[0].user.client-key: client-key-data or");
    expect_error(DOC(CLUSTER(SRV), USER("\"client-key-data\":\"" B64_KEY "\"")), NULL, KN_EINVAL,
                 "users[0].user.client-certificate:");
    expect_error(DOC(CLUSTER(SRV), USER("\"token\":\"a\",\"username\":\"b\"")), NULL, KN_EINVAL,
                 "users[0].user.token: more than one authentication method");
    expect_error(DOC(CLUSTER(SRV), USER("\"exec\":{\"command\":\"aws\"}")), NULL, KN_ENOTSUP,
                 "users[0].user.exec: exec credential plugins are not supported");
    expect_error(DOC(CLUSTER(SRV), USER("\"auth-provider\":{\"name\":\"gcp\"}")), NULL, KN_ENOTSUP,
                 "users[0].user.auth-provider:");
    expect_error(DOC(CLUSTER(SRV), USER("\"tokenFile\":\"/nonexistent/t\"")), NULL, KN_EIO,
                 "users[0].user.tokenFile: read /nonexistent/t");
    expect_error(DOC(CLUSTER(SRV), USER("\"as-groups\":[\"a\",3]")), NULL, KN_EINVAL,
                 "users[0].user.as-groups: expected a list of strings");
    expect_error(DOC(CLUSTER(SRV), USER("\"as-groups\":[\"a\"]")), NULL, KN_EINVAL,
                 "users[0].user.as-groups: requires \"as\"");
    expect_error(DOC(CLUSTER(SRV), USER("\"as\":\"x\",\"as-user-extra\":{\"k\":[1]}")), NULL,
                 KN_EINVAL, "users[0].user.as-user-extra.k: expected a list of strings");
}

KT_TEST(kubeconfig, structure_errors)
{
    expect_error("[1,2]", NULL, KN_EINVAL, "/etc/kc.yaml: expected a mapping at the top level");
    expect_error("{\"clusters\":{}}", NULL, KN_EINVAL, "/etc/kc.yaml: clusters: expected a list");
    expect_error("{\"clusters\":[{\"cluster\":{}}]}", NULL, KN_EINVAL,
                 "clusters[0].name: missing or not a string");
    expect_error("{\"users\":[{\"name\":\"a\"},{\"name\":\"a\"}]}", NULL, KN_EINVAL,
                 "users[1].name: duplicate name \"a\"");
    expect_error("{\"contexts\":[3]}", NULL, KN_EINVAL, "contexts[0]: expected a mapping");
    expect_error("{\"clusters\":[{\"name\":\"c\",\"cluster\":[]}]}", NULL, KN_EINVAL,
                 "clusters[0].cluster: expected a mapping");
    expect_error("{}", NULL, KN_EINVAL, "current-context: not set");
    expect_error("", NULL, KN_EINVAL, "current-context: not set");
    expect_error("{\"current-context\":\"x\"", NULL, KN_EINVAL, "/etc/kc.yaml: ");
    expect_error("{\"current-context\":\"x\"," CTX "}", NULL, KN_EINVAL,
                 "contexts[0].context.cluster: cluster \"c\" not found");
    expect_error("{\"current-context\":\"x\"," CTX "," CLUSTER(SRV) "}", NULL, KN_EINVAL,
                 "contexts[0].context.user: user \"u\" not found");
    expect_error("{\"contexts\":[{\"name\":\"x\",\"context\":{}}]}", "x", KN_EINVAL,
                 "contexts[0].context.cluster: missing");
}

KT_TEST(kubeconfig, server_url_forms)
{
    static const struct {
        const char *in, *server, *host;
        int port;
    } cases[] = {
        {"10.0.0.1:6443", "https://10.0.0.1:6443", "10.0.0.1", 6443},
        {"http://localhost:8080/", "http://localhost:8080", "localhost", 8080},
        {"HTTPS://api/k8s/a//", "https://api:443/k8s/a", "api", 443},
        {"https://[::1]", "https://[::1]:443", "::1", 443},
    };
    for (size_t i = 0; i < KN_ARRAY_SIZE(cases); i++) {
        cleanup_free char *doc = xasprintf("{\"current-context\":\"x\"," CTX ","
                                           "\"clusters\":[{\"name\":\"c\",\"cluster\":{\"server\":"
                                           "\"%s\"}}],\"users\":[{\"name\":\"u\"}]}",
                                           cases[i].in);
        cleanup_error kn_error *err = NULL;
        cleanup_kc_config kc_config *c = NULL;
        KT_ASSERT_OK(kc_config_load_data(doc, strlen(doc), "k", NULL, &c, &err), err);
        KT_ASSERT_STREQ(c->server, cases[i].server);
        KT_ASSERT_STREQ(c->server_host, cases[i].host);
        KT_ASSERT_EQ(c->server_port, cases[i].port);
    }
}

static void write_sa(const char *root, const char *token, const char *name)
{
    cleanup_free char *dir = xasprintf("%s/var/run/secrets/kubernetes.io/serviceaccount", root);
    cleanup_free char *cmd = xasprintf("mkdir -p %s", dir);
    KT_ASSERT_EQ(system(cmd), 0);
    cleanup_free char *tmp = xasprintf("%s/.tmp", dir);
    cleanup_free char *path = xasprintf("%s/%s", dir, name);
    FILE *f = fopen(tmp, "w");
    KT_ASSERT(f);
    fputs(token, f);
    fclose(f);
    KT_ASSERT_EQ(rename(tmp, path), 0); /* atomic swap, as kubelet's projected volumes do */
}

KT_TEST(kubeconfig, in_cluster_rereads_token)
{
    const char *root = kt_tmpdir();
    write_sa(root, "token-1\n", "token");
    write_sa(root, "CA", "ca.crt");
    write_sa(root, "kube-public\n", "namespace");
    setenv("KUBERNETES_SERVICE_HOST", "fd00::10", 1);
    setenv("KUBERNETES_SERVICE_PORT", "8443", 1);
    cleanup_error kn_error *err = NULL;
    cleanup_kc_config kc_config *c = NULL;
    KT_ASSERT_OK(kc_config_in_cluster(root, &c, &err), err);
    KT_ASSERT_STREQ(c->server, "https://[fd00::10]:8443");
    KT_ASSERT_STREQ(c->ca.data, "CA");
    KT_ASSERT_STREQ(c->namespace, "kube-public");
    KT_ASSERT_STREQ(c->origin, "in-cluster");
    char *tok = NULL;
    KT_ASSERT_OK(kc_config_bearer_token(c, &tok, &err), err);
    KT_ASSERT_STREQ(tok, "token-1");
    free(tok);

    write_sa(root, "token-2", "token");
    KT_ASSERT_OK(kc_config_bearer_token(c, &tok, &err), err);
    KT_ASSERT_STREQ(tok, "token-2");
    free(tok);

    /* a vanished or empty file keeps the last good token */
    cleanup_free char *path =
        xasprintf("%s/var/run/secrets/kubernetes.io/serviceaccount/token", root);
    KT_ASSERT_EQ(unlink(path), 0);
    KT_ASSERT_OK(kc_config_bearer_token(c, &tok, &err), err);
    KT_ASSERT_STREQ(tok, "token-2");
    free(tok);
    write_sa(root, "  \n", "token");
    KT_ASSERT_OK(kc_config_bearer_token(c, &tok, &err), err);
    KT_ASSERT_STREQ(tok, "token-2");
    free(tok);
}

KT_TEST(kubeconfig, in_cluster_requirements)
{
    unsetenv("KUBERNETES_SERVICE_HOST");
    cleanup_error kn_error *err = NULL;
    kc_config *c = NULL;
    KT_ASSERT_FAILS(kc_config_in_cluster(kt_tmpdir(), &c, &err));
    KT_ASSERT_EQ(kn_error_code(err), KN_ENOTFOUND);
    kn_error_free(&err);
    setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1);
    setenv("KUBERNETES_SERVICE_PORT", "443", 1);
    write_sa(kt_tmpdir(), "", "token");
    KT_ASSERT_FAILS(kc_config_in_cluster(kt_tmpdir(), &c, &err));
    KT_ASSERT_CONTAINS(kn_error_msg(err), "the token file is empty");
    kn_error_free(&err);
    write_sa(kt_tmpdir(), "t", "token"); /* no ca.crt, no namespace: system roots, "default" */
    KT_ASSERT_OK(kc_config_in_cluster(kt_tmpdir(), &c, &err), err);
    KT_ASSERT(c->ca.data == NULL);
    KT_ASSERT_STREQ(c->namespace, "default");
    kc_config_free(c);
}

KT_TEST(kubeconfig, base64)
{
    static const struct {
        const char *in, *out;
        long bad;
    } cases[] = {
        {"", "", -1},
        {"Zg==", "f", -1},
        {"Zm8=", "fo", -1},
        {"Zm9v", "foo", -1},
        {"Zm9v\r\nYmFy", "foobar", -1},
        {"Zm9vYg==\n", "foob", -1},
        {"Zm9", NULL, 3},
        {"Zg=", NULL, 3},
        {"Z===", NULL, 1},
        {"Zg==Zg==", NULL, 4},
        {"Zm9v!", NULL, 4},
        {"Zg=x", NULL, 3},
    };
    for (size_t i = 0; i < KN_ARRAY_SIZE(cases); i++) {
        char *out = NULL;
        size_t len = 0, bad = 0;
        int r = kc_base64_decode(cases[i].in, strlen(cases[i].in), &out, &len, &bad);
        if (cases[i].out) {
            KT_ASSERT_MSG(r == 0, "case %zu: %s failed at %zu", i, cases[i].in, bad);
            KT_ASSERT_STREQ(out, cases[i].out);
            KT_ASSERT_EQ(len, strlen(cases[i].out));
            free(out);
        } else {
            KT_ASSERT_MSG(r < 0, "case %zu: %s decoded", i, cases[i].in);
            KT_ASSERT_MSG((long)bad == cases[i].bad, "case %zu: bad at %zu, want %ld", i, bad,
                          cases[i].bad);
        }
    }
}

/* As kubeadm and kubectl write them. */
static const char *yaml_config = "apiVersion: v1\n"
                                 "kind: Config\n"
                                 "clusters:\n"
                                 "- cluster:\n"
                                 "    certificate-authority-data: " B64_CA "\n"
                                 "    server: https://192.168.1.10:6443\n"
                                 "  name: kubernetes\n"
                                 "contexts:\n"
                                 "- context:\n"
                                 "    cluster: kubernetes\n"
                                 "    user: kubernetes-admin\n"
                                 "    namespace: apps # a comment\n"
                                 "  name: kubernetes-admin@kubernetes\n"
                                 "current-context: kubernetes-admin@kubernetes\n"
                                 "preferences: {}\n"
                                 "users:\n"
                                 "- name: kubernetes-admin\n"
                                 "  user:\n"
                                 "    client-certificate-data: " B64_CERT "\n"
                                 "    client-key-data: " B64_KEY "\n";

KT_TEST(kubeconfig, yaml_as_kubectl_writes_it)
{
    cleanup_error kn_error *err = NULL;
    cleanup_kc_config kc_config *c = NULL;
    KT_ASSERT_OK(
        kc_config_load_data(yaml_config, strlen(yaml_config), "admin.conf", NULL, &c, &err), err);
    KT_ASSERT_STREQ(c->server, "https://192.168.1.10:6443");
    KT_ASSERT_STREQ(c->ca.data, "CA-PEM");
    KT_ASSERT_STREQ(c->client_key.data, "KEY-PEM");
    KT_ASSERT_STREQ(c->namespace, "apps");
    KT_ASSERT_STREQ(c->user, "kubernetes-admin");

    const char *comments = "# nothing here yet\n";
    kc_config *none = NULL;
    KT_ASSERT_FAILS(
        kc_config_load_data(comments, strlen(comments), "empty.yaml", NULL, &none, &err));
    KT_ASSERT_CONTAINS(kn_error_msg(err), "empty.yaml: current-context: not set");
    kn_error_free(&err);

    const char *bad = "clusters:\n- name: a\n  cluster:\n    server: [\n";
    KT_ASSERT_FAILS(kc_config_load_data(bad, strlen(bad), "bad.yaml", NULL, &none, &err));
    KT_ASSERT_CONTAINS(kn_error_msg(err), "bad.yaml: ");
    KT_ASSERT_CONTAINS(kn_error_msg(err), "line ");
    kn_error_free(&err);

    const char *wrong = "clusters:\n- name: a\n  cluster:\n    insecure-skip-tls-verify: maybe\n";
    KT_ASSERT_FAILS(kc_config_load_data(wrong, strlen(wrong), "w.yaml", NULL, &none, &err));
    KT_ASSERT_CONTAINS(kn_error_msg(err),
                       "w.yaml: clusters[0].cluster.insecure-skip-tls-verify: expected a boolean");
}

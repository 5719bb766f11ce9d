/* test-bootstrap.c - TLS bootstrapping against `knode server` on loopback:
 * `knode token create`, token discovery with the CA pin (refused before the
 * token is sent when the pin or the signature is wrong), the node identity
 * it yields and what the Node authorizer lets it do, certificate rotation,
 * kubectl certificate approve, service-account and expired-token limits. */
#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "api-client/bootstrap.h"
#include "api-client/kubeconfig.h"
#include "api-client/rest.h"
#include "controlplane/bootstrap-token.h"
#include "controlplane/pki.h"
#include "lib/cleanup.h"
#include "lib/clock.h"
#include "lib/duration.h"
#include "lib/json.h"
#include "lib/strbuf.h"
#include "lib/xalloc.h"
#include "test/harness/apiserver-fake.h"
#include "test/runner/kt.h"

typedef struct server {
    pid_t pid;
    int port;
    char dir[300];
    char kubeconfig[340];
    char url[64];
} server;

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(sa);
    KT_ASSERT(bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
    getsockname(fd, (struct sockaddr *)&sa, &len);
    close(fd);
    return ntohs(sa.sin_port);
}

static char *sh(const char *cmd, int *status)
{
    FILE *p = popen(cmd, "r");
    KT_ASSERT(p != NULL);
    kn_buf b = KN_BUF_INIT;
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), p)) > 0)
        kn_buf_append(&b, chunk, n);
    int st = pclose(p);
    if (status)
        *status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    return b.data ? kn_buf_steal(&b) : xstrdup("");
}

static void stop_server(void *arg)
{
    server *s = arg;
    if (s->pid > 0) {
        kill(s->pid, SIGTERM);
        waitpid(s->pid, NULL, 0);
        s->pid = 0;
    }
}

static void start_server(server *s)
{
    cleanup_free char *knode = kt_beside_self("knode");
    s->port = free_port();
    snprintf(s->dir, sizeof(s->dir), "%s/data", kt_tmpdir());
    snprintf(s->kubeconfig, sizeof(s->kubeconfig), "%s/admin.kubeconfig", s->dir);
    snprintf(s->url, sizeof(s->url), "https://127.0.0.1:%d", s->port);
    char port[16];
    snprintf(port, sizeof(port), "%d", s->port);
    pid_t pid = fork();
    if (pid == 0) {
        char *log = xasprintf("%s/server.log", kt_tmpdir());
        freopen(log, "a", stderr);
        execl(knode, knode, "server", "--data-dir", s->dir, "--bind-address", "127.0.0.1",
              "--secure-port", port, (char *)NULL);
        _exit(127);
    }
    s->pid = pid;
    kt_on_cleanup(stop_server, s);
    for (int i = 0; i < 200; i++) {
        cleanup_free char *cmd = xasprintf(
            "curl -sk --cert %s/admin.crt --key %s/admin.key https://127.0.0.1:%d/readyz 2>&1",
            s->dir, s->dir, s->port);
        cleanup_free char *out = sh(cmd, NULL);
        if (strcmp(out, "ok") == 0)
            return;
        usleep(50000);
    }
    KT_FAIL("knode server did not become ready on port %d", s->port);
}

static char *kubectl(const char *kubeconfig, const char *args, int *status)
{
    cleanup_free char *cmd = xasprintf("kubectl --kubeconfig %s %s 2>&1", kubeconfig, args);
    return sh(cmd, status);
}

static void kubectl_ok(const char *kubeconfig, const char *args)
{
    int st;
    cleanup_free char *out = kubectl(kubeconfig, args, &st);
    KT_ASSERT_MSG(st == 0, "kubectl %s failed (%d): %s", args, st, out);
}

static char *write_file(const char *name, const char *text)
{
    char *path = xasprintf("%s/%s", kt_tmpdir(), name);
    FILE *f = fopen(path, "w");
    KT_ASSERT(f != NULL);
    fputs(text, f);
    fclose(f);
    return path;
}

static void apply(const server *s, const char *name, const char *yaml)
{
    cleanup_free char *path = write_file(name, yaml);
    cleanup_free char *args = xasprintf("apply -f %s", path);
    kubectl_ok(s->kubeconfig, args);
}

/* curl with the given credential options; returns the body, *code the HTTP status. */
static char *request(const server *s, const char *auth, const char *method, const char *path,
                     const char *body, const char *ctype, int *code)
{
    cleanup_free char *file = body ? write_file("body.json", body) : NULL;
    cleanup_free char *data = file ? xasprintf("--data-binary @%s -H 'Content-Type: %s'", file,
                                               ctype ? ctype : "application/json")
                                   : xstrdup("");
    cleanup_free char *cmd =
        xasprintf("curl -sk %s -X %s %s -w '\\n%%{http_code}' 'https://127.0.0.1:%d%s'", auth,
                  method, data, s->port, path);
    char *out = sh(cmd, NULL);
    char *nl = strrchr(out, '\n');
    KT_ASSERT(nl != NULL);
    *code = atoi(nl + 1);
    *nl = '\0';
    return out;
}

/* The API server must record CSR requesters (spec.username) and validate
 * requests, as kube-apiserver does; without that nothing can be approved.
 * An empty request is refused (422) by a server that does. */
static void require_csr_strategy(const server *s)
{
    cleanup_free char *admin = xasprintf("--cert %s/admin.crt --key %s/admin.key", s->dir, s->dir);
    int code;
    cleanup_free char *out =
        request(s, admin, "POST", "/apis/certificates.k8s.io/v1/certificatesigningrequests",
                "{\"metadata\":{\"name\":\"probe\"},\"spec\":{\"request\":\"\",\"signerName\":"
                "\"example.com/x\",\"usages\":[\"client auth\"]}}",
                NULL, &code);
    KT_ASSERT_MSG(code == 422,
                  "the API server does not apply the CSR strategy (got %d: %s): "
                  "the apiserver needs kn_auth_admit and kn_auth_authorize_request wired in",
                  code, out);
}

static char *create_token(const server *s)
{
    cleanup_free char *knode = kt_beside_self("knode");
    cleanup_free char *cmd = xasprintf("%s token create --data-dir %s 2>&1", knode, s->dir);
    int st;
    char *out = sh(cmd, &st);
    KT_ASSERT_MSG(st == 0, "knode token create failed: %s", out);
    regex_t re;
    KT_ASSERT(regcomp(&re, "^[a-z0-9]{6}\\.[a-z0-9]{16}\n$", REG_EXTENDED) == 0);
    bool ok = regexec(&re, out, 0, NULL, 0) == 0;
    regfree(&re);
    KT_ASSERT_MSG(ok, "not a token: \"%s\"", out);
    out[strcspn(out, "\n")] = '\0';
    return out;
}

static void ca_hash(const server *s, char *out)
{
    cleanup_free char *ca = xasprintf("%s/ca.crt", s->dir);
    kn_error *err = NULL;
    KT_ASSERT_OK(kn_pki_ca_hash(ca, out, 72, &err), err);
}

typedef struct node_id {
    char name[64];
    char kubeconfig[400];
    char certdir[400];
    char curl[900]; /* curl credential options */
} node_id;

/* Bootstraps node name with a fresh token; fills id. */
static void join(const server *s, const char *name, int64_t expiration_s, node_id *id)
{
    require_csr_strategy(s);
    cleanup_free char *token = create_token(s);
    char pin[72];
    ca_hash(s, pin);
    snprintf(id->name, sizeof(id->name), "%s", name);
    snprintf(id->certdir, sizeof(id->certdir), "%s/%s-pki", kt_tmpdir(), name);
    snprintf(id->kubeconfig, sizeof(id->kubeconfig), "%s/%s.kubeconfig", kt_tmpdir(), name);
    kc_bootstrap_options o = {.server = s->url,
                              .token = token,
                              .ca_cert_hash = pin,
                              .node_name = name,
                              .cert_dir = id->certdir,
                              .kubeconfig = id->kubeconfig,
                              .expiration_s = expiration_s,
                              .timeout_ns = 60 * KN_NSEC_PER_SEC};
    kn_error *err = NULL;
    KT_ASSERT_OK(kc_bootstrap_run(&o, &err), err);
    snprintf(id->curl, sizeof(id->curl),
             "--cert %s/kubelet-client-current.pem --key "
             "%s/kubelet-client-current.pem",
             id->certdir, id->certdir);
}

/* ---- token create and the identity it yields ---------------------------------------- */

KT_TEST_TIMEOUT(bootstrap, node_identity_from_token, 120)
{
    static server s;
    start_server(&s);
    node_id n;
    join(&s, "node-a", 0, &n);
    cleanup_free char *subj_cmd =
        xasprintf("openssl x509 -noout -subject -in %s/kubelet-client-current.pem", n.certdir);
    cleanup_free char *subj = sh(subj_cmd, NULL);
    KT_ASSERT_CONTAINS(subj, "O = system:nodes");
    KT_ASSERT_CONTAINS(subj, "CN = system:node:node-a");
    /* the key was made here and stays here: the CSR holds only the request */
    cleanup_free char *csr = kubectl(s.kubeconfig, "get csr -o json", NULL);
    KT_ASSERT_CONTAINS(csr, "\"signerName\": \"kubernetes.io/kube-apiserver-client-kubelet\"");
    KT_ASSERT_CONTAINS(csr, "\"reason\": \"AutoApproved\"");
    KT_ASSERT_CONTAINS(csr, "\"username\": \"system:bootstrap:");
    KT_ASSERT_CONTAINS(csr, "system:bootstrappers:knode:default-node-token");
    KT_ASSERT(!strstr(csr, "PRIVATE KEY"));
    /* a second run finds the valid identity and does nothing */
    kc_bootstrap_options again = {.server = s.url,
                                  .token = "aaaaaa.bbbbbbbbbbbbbbbb",
                                  .ca_cert_hash = "sha256:00",
                                  .node_name = "node-a",
                                  .cert_dir = n.certdir,
                                  .kubeconfig = n.kubeconfig};
    kn_error *err = NULL;
    KT_ASSERT_OK(kc_bootstrap_run(&again, &err), err);
    /* the node registers and updates itself through the kubeconfig */
    cleanup_free char *node_yaml =
        write_file("node.yaml", "apiVersion: v1\nkind: Node\nmetadata:\n  name: node-a\n  labels:\n"
                                "    kubernetes.io/hostname: node-a\n");
    cleanup_free char *create = xasprintf("create -f %s", node_yaml);
    kubectl_ok(n.kubeconfig, create);
    kubectl_ok(n.kubeconfig, "label node node-a kubelet.kubernetes.io/role=worker");
    int code;
    cleanup_free char *st = request(&s, n.curl, "PATCH", "/api/v1/nodes/node-a/status",
                                    "{\"status\":{\"conditions\":[{\"type\":\"Ready\","
                                    "\"status\":\"True\"}]}}",
                                    "application/merge-patch+json", &code);
    KT_ASSERT_MSG(code == 200, "status patch: %d %s", code, st);
    cleanup_free char *lease = request(
        &s, n.curl, "POST", "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases",
        "{\"metadata\":{\"name\":\"node-a\"},\"spec\":{\"holderIdentity\":\"node-a\"}}", NULL,
        &code);
    KT_ASSERT_MSG(code == 201, "own lease: %d %s", code, lease);
    stop_server(&s);
}

KT_TEST_TIMEOUT(bootstrap, node_cannot_touch_other_nodes, 120)
{
    static server s;
    start_server(&s);
    node_id n;
    join(&s, "node-a", 0, &n);
    apply(&s, "b.yaml", "apiVersion: v1\nkind: Node\nmetadata:\n  name: node-b\n");
    int code;
    cleanup_free char *patch = request(&s, n.curl, "PATCH", "/api/v1/nodes/node-b",
                                       "{\"metadata\":{\"labels\":{\"x\":"
                                       "\"y\"}}}",
                                       "application/merge-patch+json", &code);
    KT_ASSERT_EQ(code, 403);
    KT_ASSERT_CONTAINS(patch, "nodes \\\"node-b\\\" is forbidden: node \\\"node-a\\\" is not "
                              "allowed to modify node \\\"node-b\\\"");
    KT_ASSERT_CONTAINS(patch, "\"kind\":\"Status\"");
    cleanup_free char *del =
        request(&s, n.curl, "DELETE", "/api/v1/nodes/node-b", NULL, NULL, &code);
    KT_ASSERT_EQ(code, 403);
    cleanup_free char *other = request(&s, n.curl, "POST", "/api/v1/nodes",
                                       "{\"metadata\":{\"name\":\"node-c\"}}", NULL, &code);
    KT_ASSERT_EQ(code, 403);
    KT_ASSERT_CONTAINS(other, "is not allowed to modify node \\\"node-c\\\"");
    cleanup_free char *restricted =
        request(&s, n.curl, "POST", "/api/v1/nodes",
                "{\"metadata\":{\"name\":\"node-a\",\"labels\":{\"node-restriction.kubernetes.io/"
                "pool\":\"gold\"}}}",
                NULL, &code);
    KT_ASSERT_EQ(code, 403);
    KT_ASSERT_CONTAINS(restricted, "is not allowed to set the following labels: "
                                   "node-restriction.kubernetes.io/pool");
    cleanup_free char *lease = request(
        &s, n.curl, "POST", "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases",
        "{\"metadata\":{\"name\":\"node-b\"},\"spec\":{}}", NULL, &code);
    KT_ASSERT_EQ(code, 403);
    KT_ASSERT_CONTAINS(lease, "can only access node lease with the same name as the requesting "
                              "node");
    cleanup_free char *list = request(&s, n.curl, "GET", "/api/v1/nodes", NULL, NULL, &code);
    KT_ASSERT_EQ(code, 200);
    KT_ASSERT_CONTAINS(list, "node-b");
    cleanup_free char *cm =
        request(&s, n.curl, "GET", "/api/v1/namespaces/default/configmaps", NULL, NULL, &code);
    KT_ASSERT_EQ(code, 403);
    stop_server(&s);
}

static const char pods_yaml[] =
    "apiVersion: v1\nkind: Secret\nmetadata: {name: mine}\nstringData: {k: v}\n---\n"
    "apiVersion: v1\nkind: Secret\nmetadata: {name: theirs}\nstringData: {k: v}\n---\n"
    "apiVersion: v1\nkind: Secret\nmetadata: {name: env-secret}\nstringData: {k: v}\n---\n"
    "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {k: v}\n---\n"
    "apiVersion: v1\nkind: Pod\nmetadata: {name: here}\nspec:\n  nodeName: node-a\n"
    "  containers:\n  - name: c\n    image: busybox\n    env:\n    - name: X\n"
    "      valueFrom: {secretKeyRef: {name: env-secret, key: k}}\n"
    "    envFrom:\n    - configMapRef: {name: settings}\n"
    "  volumes:\n  - name: s\n    secret: {secretName: mine}\n---\n"
    "apiVersion: v1\nkind: Pod\nmetadata: {name: there}\nspec:\n  nodeName: node-b\n"
    "  containers:\n  - name: c\n    image: busybox\n"
    "  volumes:\n  - name: s\n    secret: {secretName: theirs}\n";

KT_TEST_TIMEOUT(bootstrap, node_reads_only_what_its_pods_use, 120)
{
    static server s;
    start_server(&s);
    node_id n;
    join(&s, "node-a", 0, &n);
    apply(&s, "pods.yaml", pods_yaml);
    int code;
    cleanup_free char *mine =
        request(&s, n.curl, "GET", "/api/v1/namespaces/default/secrets/mine", NULL, NULL, &code);
    KT_ASSERT_MSG(code == 200, "%d %s", code, mine);
    cleanup_free char *env = request(
        &s, n.curl, "GET", "/api/v1/namespaces/default/secrets/env-secret", NULL, NULL, &code);
    KT_ASSERT_EQ(code, 200);
    cleanup_free char *cm = request(
        &s, n.curl, "GET", "/api/v1/namespaces/default/configmaps/settings", NULL, NULL, &code);
    KT_ASSERT_EQ(code, 200);
    cleanup_free char *theirs =
        request(&s, n.curl, "GET", "/api/v1/namespaces/default/secrets/theirs", NULL, NULL, &code);
    KT_ASSERT_EQ(code, 403);
    KT_ASSERT_CONTAINS(theirs, "secrets \\\"theirs\\\" is forbidden: User \\\"system:node:node-a"
                               "\\\" cannot get resource \\\"secrets\\\" in API group \\\"\\\" in "
                               "the namespace \\\"default\\\": no relationship found between node "
                               "'node-a' and this object");
    cleanup_free char *all =
        request(&s, n.curl, "GET", "/api/v1/namespaces/default/secrets", NULL, NULL, &code);
    KT_ASSERT_EQ(code, 403);
    cleanup_free char *one = request(
        &s, n.curl, "GET", "/api/v1/namespaces/default/secrets?fieldSelector=metadata.name%3Dmine",
        NULL, NULL, &code);
    KT_ASSERT_MSG(code == 200, "%d %s", code, one);
    KT_ASSERT_CONTAINS(one, "\"name\":\"mine\"");
    /* pods: all readable; status and deletion only of its own */
    cleanup_free char *pods = request(&s, n.curl, "GET", "/api/v1/pods", NULL, NULL, &code);
    KT_ASSERT_EQ(code, 200);
    KT_ASSERT_CONTAINS(pods, "\"there\"");
    const char *status = "{\"status\":{\"phase\":\"Running\"}}";
    cleanup_free char *own =
        request(&s, n.curl, "PATCH", "/api/v1/namespaces/default/pods/here/status", status,
                "application/merge-patch+json", &code);
    KT_ASSERT_MSG(code == 200, "%d %s", code, own);
    cleanup_free char *foreign =
        request(&s, n.curl, "PATCH", "/api/v1/namespaces/default/pods/there/status", status,
                "application/merge-patch+json", &code);
    KT_ASSERT_EQ(code, 403);
    KT_ASSERT_CONTAINS(foreign, "node \\\"node-a\\\" can only update pod status for pods with "
                                "spec.nodeName set to itself");
    cleanup_free char *del =
        request(&s, n.curl, "DELETE", "/api/v1/namespaces/default/pods/there", NULL, NULL, &code);
    KT_ASSERT_EQ(code, 403);
    /* once a pod on node-a uses it, the secret becomes readable */
    apply(&s, "p3.yaml",
          "apiVersion: v1\nkind: Pod\nmetadata: {name: later}\nspec:\n  nodeName: node-a\n"
          "  containers:\n  - name: c\n    image: busybox\n  volumes:\n  - name: s\n"
          "    projected:\n      sources:\n      - secret: {name: theirs}\n");
    cleanup_free char *now =
        request(&s, n.curl, "GET", "/api/v1/namespaces/default/secrets/theirs", NULL, NULL, &code);
    KT_ASSERT_EQ(code, 200);
    cleanup_free char *ev =
        request(&s, n.curl, "POST", "/api/v1/namespaces/default/events",
                "{\"metadata\":{\"name\":\"here.1\"},\"involvedObject\":{\"kind\":\"Pod\",\"name\":"
                "\"here\",\"namespace\":\"default\"},\"reason\":\"Started\",\"message\":\"hi\","
                "\"type\":\"Normal\"}",
                NULL, &code);
    KT_ASSERT_MSG(code == 201, "%d %s", code, ev);
    stop_server(&s);
}

KT_TEST_TIMEOUT(bootstrap, service_account_reads_discovery_only, 120)
{
    static server s;
    start_server(&s);
    kubectl_ok(s.kubeconfig, "create serviceaccount robot");
    cleanup_free char *token = kubectl(s.kubeconfig, "create token robot", NULL);
    token[strcspn(token, "\n")] = '\0';
    cleanup_free char *bearer = xasprintf("-H 'Authorization: Bearer %s'", token);
    int code;
    cleanup_free char *api = request(&s, bearer, "GET", "/api/v1", NULL, NULL, &code);
    KT_ASSERT_EQ(code, 200);
    cleanup_free char *apis = request(&s, bearer, "GET", "/apis", NULL, NULL, &code);
    KT_ASSERT_EQ(code, 200);
    cleanup_free char *pods =
        request(&s, bearer, "GET", "/api/v1/namespaces/default/pods", NULL, NULL, &code);
    KT_ASSERT_EQ(code, 403);
    KT_ASSERT_CONTAINS(pods, "User \\\"system:serviceaccount:default:robot\\\" cannot list");
    cleanup_free char *csr =
        request(&s, bearer, "GET", "/apis/certificates.k8s.io/v1/certificatesigningrequests", NULL,
                NULL, &code);
    KT_ASSERT_EQ(code, 403);
    KT_ASSERT_CONTAINS(csr, "certificatesigningrequests.certificates.k8s.io is forbidden");
    stop_server(&s);
}

KT_TEST_TIMEOUT(bootstrap, expired_or_unknown_token_is_unauthorized, 120)
{
    static server s;
    start_server(&s);
    cleanup_free char *token = create_token(&s);
    cleanup_free char *bearer = xasprintf("-H 'Authorization: Bearer %s'", token);
    int code;
    cleanup_free char *ok =
        request(&s, bearer, "GET", "/apis/certificates.k8s.io/v1/certificatesigningrequests", NULL,
                NULL, &code);
    KT_ASSERT_MSG(code == 200, "%d %s", code, ok);
    cleanup_free char *pods = request(&s, bearer, "GET", "/api/v1/pods", NULL, NULL, &code);
    KT_ASSERT_EQ(code, 403);
    /* the same token once expired: written with an expiration in the past */
    char id[7];
    snprintf(id, sizeof(id), "%s", token);
    cleanup_free char *del = xasprintf("delete secret -n kube-system bootstrap-token-%s", id);
    kubectl_ok(s.kubeconfig, del);
    cJSON *sec =
        kn_btoken_secret(id, token + 7, kn_time_wall_ns() - 3600 * KN_NSEC_PER_SEC, NULL, NULL);
    cleanup_free char *text = kn_json_print(sec);
    cJSON_Delete(sec);
    cleanup_free char *admin = xasprintf("--cert %s/admin.crt --key %s/admin.key", s.dir, s.dir);
    cleanup_free char *created =
        request(&s, admin, "POST", "/api/v1/namespaces/kube-system/secrets", text, NULL, &code);
    KT_ASSERT_MSG(code == 201, "%d %s", code, created);
    cleanup_free char *expired =
        request(&s, bearer, "GET", "/apis/certificates.k8s.io/v1/certificatesigningrequests", NULL,
                NULL, &code);
    KT_ASSERT_EQ(code, 401);
    KT_ASSERT_CONTAINS(expired, "\"reason\":\"Unauthorized\"");
    cleanup_free char *unknown =
        request(&s, "-H 'Authorization: Bearer abcdef.0123456789abcdef'", "GET",
                "/apis/certificates.k8s.io/v1/certificatesigningrequests", NULL, NULL, &code);
    KT_ASSERT_EQ(code, 401);
    /* and joining with it fails */
    char pin[72];
    ca_hash(&s, pin);
    cleanup_free char *dir = xasprintf("%s/x", kt_tmpdir());
    cleanup_free char *kc = xasprintf("%s/x.kubeconfig", kt_tmpdir());
    kc_bootstrap_options o = {.server = s.url,
                              .token = token,
                              .ca_cert_hash = pin,
                              .node_name = "node-x",
                              .cert_dir = dir,
                              .kubeconfig = kc};
    o.discovery_timeout_ns = 1;
    kn_error *err = NULL;
    KT_ASSERT_FAILS(kc_bootstrap_run(&o, &err));
    kn_error_free(&err);
    stop_server(&s);
}

/* ---- CSRs other than node client certificates ------------------------------------------- */

KT_TEST_TIMEOUT(bootstrap, kubectl_certificate_approve_signs, 120)
{
    static server s;
    start_server(&s);
    require_csr_strategy(&s);
    cleanup_free char *cmd =
        xasprintf("cd %s && openssl ecparam -genkey -name prime256v1 -noout -out jane.key 2>&1 && "
                  "openssl req -new -key jane.key -subj '/CN=jane/O=dev' -out jane.csr 2>&1 && "
                  "base64 -w0 jane.csr",
                  kt_tmpdir());
    cleanup_free char *req = sh(cmd, NULL);
    cleanup_free char *csr = xasprintf(
        "apiVersion: certificates.k8s.io/v1\nkind: CertificateSigningRequest\nmetadata:\n"
        "  name: jane\nspec:\n  request: %s\n  signerName: kubernetes.io/kube-apiserver-client\n"
        "  expirationSeconds: 86400\n  usages: [client auth]\n",
        req);
    apply(&s, "csr.yaml", csr);
    cleanup_free char *pending =
        kubectl(s.kubeconfig, "get csr jane -o jsonpath='{.status.conditions}'", NULL);
    KT_ASSERT_STREQ(pending, "");
    kubectl_ok(s.kubeconfig, "certificate approve jane");
    cleanup_free char *cert = NULL;
    for (int i = 0; i < 100; i++) {
        free(cert);
        cert = kubectl(s.kubeconfig, "get csr jane -o jsonpath='{.status.certificate}'", NULL);
        if (*cert)
            break;
        usleep(100000);
    }
    KT_ASSERT_MSG(*cert, "the approved CSR was not signed");
    cleanup_free char *conds =
        kubectl(s.kubeconfig, "get csr jane -o jsonpath='{.status.conditions[*].reason}'", NULL);
    KT_ASSERT_STREQ(conds, "KubectlApprove");
    cleanup_free char *save =
        xasprintf("cd %s && echo %s | base64 -d > jane.crt", kt_tmpdir(), cert);
    KT_ASSERT_EQ(system(save), 0);
    cleanup_free char *jane =
        xasprintf("--cert %s/jane.crt --key %s/jane.key", kt_tmpdir(), kt_tmpdir());
    int code;
    cleanup_free char *pods = request(&s, jane, "GET", "/api/v1/pods", NULL, NULL, &code);
    KT_ASSERT_EQ(code, 403);
    KT_ASSERT_CONTAINS(pods, "User \\\"jane\\\" cannot list");
    /* a denied one stays without a certificate */
    cleanup_free char *csr2 = xasprintf(
        "apiVersion: certificates.k8s.io/v1\nkind: CertificateSigningRequest\nmetadata:\n"
        "  name: joe\nspec:\n  request: %s\n  signerName: kubernetes.io/kube-apiserver-client\n"
        "  usages: [client auth]\n",
        req);
    apply(&s, "csr2.yaml", csr2);
    kubectl_ok(s.kubeconfig, "certificate deny joe");
    cleanup_free char *denied =
        kubectl(s.kubeconfig, "get csr joe -o jsonpath='{.status.conditions[*].type}'", NULL);
    KT_ASSERT_STREQ(denied, "Denied");
    /* approving it now is refused by the approval subresource */
    cleanup_free char *joe = kubectl(s.kubeconfig, "get csr joe -o json", NULL);
    cJSON *o = cJSON_Parse(joe);
    KT_ASSERT(o != NULL);
    cJSON *c = cJSON_CreateObject();
    cJSON_AddStringToObject(c, "type", "Approved");
    cJSON_AddStringToObject(c, "status", "True");
    cJSON_AddItemToArray(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "status"), "conditions"), c);
    cleanup_free char *body = kn_json_print(o);
    cJSON_Delete(o);
    cleanup_free char *admin = xasprintf("--cert %s/admin.crt --key %s/admin.key", s.dir, s.dir);
    int code2;
    cleanup_free char *both = request(
        &s, admin, "PUT", "/apis/certificates.k8s.io/v1/certificatesigningrequests/joe/approval",
        body, NULL, &code2);
    KT_ASSERT_EQ(code2, 422);
    KT_ASSERT_CONTAINS(both, "Approved and Denied conditions are mutually exclusive");
    cleanup_free char *still =
        kubectl(s.kubeconfig, "get csr joe -o jsonpath='{.status.certificate}'", NULL);
    KT_ASSERT_STREQ(still, "");
    stop_server(&s);
}

/* ---- rotation and bootstrap kubeconfigs --------------------------------------------------- */

typedef struct rotated {
    int calls;
} rotated;

static void on_rotated(void *ud)
{
    __atomic_add_fetch(&((rotated *)ud)->calls, 1, __ATOMIC_SEQ_CST);
}

/* Jitter 0 for the first deadline, 0.9 afterwards: the renewed
 * certificate's deadline (issued later, in real time) then lies beyond the
 * fake time the test jumped to, so exactly one rotation happens. */
static double first_low_then_high(void *ud)
{
    return (*(int *)ud)++ == 0 ? 0.0 : 0.9;
}

static char *read_all(const char *path)
{
    cleanup_free char *cmd = xasprintf("cat %s", path);
    return sh(cmd, NULL);
}

KT_TEST_TIMEOUT(bootstrap, certificate_rotates_with_its_own_identity, 120)
{
    static server s;
    start_server(&s);
    node_id n;
    join(&s, "node-r", 600, &n);
    cleanup_free char *pem_path = xasprintf("%s/kubelet-client-current.pem", n.certdir);
    cleanup_free char *first = read_all(pem_path);
    int64_t nb, na;
    kn_error *err = NULL;
    KT_ASSERT_OK(kc_cert_validity(first, &nb, &na, &err), err);
    KT_ASSERT_EQ((na - nb) / KN_NSEC_PER_SEC, 600);
    kn_fake_clock fc;
    kn_fake_clock_init(&fc, kn_time_wall_ns());
    rotated r = {0};
    int draws = 0;
    kn_rand rnd = {.fn = first_low_then_high, .userdata = &draws};
    kc_cert_manager_options mo = {.kubeconfig = n.kubeconfig,
                                  .cert_dir = n.certdir,
                                  .node_name = "node-r",
                                  .expiration_s = 600,
                                  .rotated = on_rotated,
                                  .userdata = &r,
                                  .clock = &fc.clock,
                                  .rand = &rnd};
    kc_cert_manager *m = NULL;
    KT_ASSERT_OK(kc_cert_manager_start(&mo, &m, &err), err);
    kn_fake_clock_wait_for_waiters(&fc, 1);
    int64_t d = kc_cert_manager_deadline(m);
    KT_ASSERT_MSG(d >= nb + (na - nb) * 7 / 10 && d <= nb + (na - nb) * 9 / 10,
                  "deadline %lld outside 70-90%% of [%lld, %lld)", (long long)d, (long long)nb,
                  (long long)na);
    kn_fake_clock_set(&fc, d);
    for (int i = 0; i < 600 && kc_cert_manager_rotations(m) == 0; i++)
        usleep(100000);
    KT_ASSERT_EQ(kc_cert_manager_rotations(m), 1);
    KT_ASSERT_EQ(__atomic_load_n(&r.calls, __ATOMIC_SEQ_CST), 1);
    kc_cert_manager_stop(m);
    kn_fake_clock_destroy(&fc);
    cleanup_free char *second = read_all(pem_path);
    KT_ASSERT(strcmp(first, second) != 0);
    /* the renewal was asked for by the node itself and approved as such */
    cleanup_free char *csrs = kubectl(s.kubeconfig, "get csr -o json", NULL);
    KT_ASSERT_CONTAINS(csrs, "\"username\": \"system:node:node-r\"");
    KT_ASSERT_CONTAINS(csrs, "Auto approving self kubelet client certificate");
    int code;
    cleanup_free char *me = request(&s, n.curl, "GET", "/api/v1/nodes", NULL, NULL, &code);
    KT_ASSERT_EQ(code, 200);
    stop_server(&s);
}

KT_TEST_TIMEOUT(bootstrap, from_bootstrap_kubeconfig, 120)
{
    static server s;
    start_server(&s);
    cleanup_free char *token = create_token(&s);
    cleanup_free char *ca = xasprintf("%s/ca.crt", s.dir);
    cleanup_free char *boot =
        xasprintf("apiVersion: v1\nkind: Config\nclusters:\n- name: k\n  cluster:\n    server: %s\n"
                  "    certificate-authority: %s\nusers:\n- name: b\n  user:\n    token: %s\n"
                  "contexts:\n- name: c\n  context: {cluster: k, user: b}\ncurrent-context: c\n",
                  s.url, ca, token);
    cleanup_free char *boot_path = write_file("bootstrap.kubeconfig", boot);
    cleanup_free char *dir = xasprintf("%s/pki", kt_tmpdir());
    cleanup_free char *kc = xasprintf("%s/kubelet.kubeconfig", kt_tmpdir());
    kc_bootstrap_options o = {.bootstrap_kubeconfig = boot_path,
                              .node_name = "node-k",
                              .cert_dir = dir,
                              .kubeconfig = kc};
    kn_error *err = NULL;
    KT_ASSERT_OK(kc_bootstrap_run(&o, &err), err);
    cleanup_free char *nodes = kubectl(kc, "get nodes", NULL);
    KT_ASSERT_CONTAINS(nodes, "No resources found");
    int st;
    cleanup_free char *cms = kubectl(kc, "get configmaps", &st);
    KT_ASSERT_NE(st, 0);
    KT_ASSERT_CONTAINS(cms, "User \"system:node:node-k\" cannot list resource \"configmaps\"");
    stop_server(&s);
}

/* ---- discovery against a scripted server: nothing is sent before it is trusted -------- */

static void serve_cluster_info(fa_server *fa, const char *token_id, const char *secret)
{
    cleanup_free char *ca_path = xasprintf("%s/ca.crt", fa_dir(fa));
    cleanup_free char *ca = read_all(ca_path);
    size_t n = strlen(ca);
    cleanup_free char *b64 = xmalloc(4 * ((n + 2) / 3) + 1);
    EVP_EncodeBlock((unsigned char *)b64, (const unsigned char *)ca, (int)n);
    cleanup_free char *kc =
        xasprintf("apiVersion: v1\nclusters:\n- cluster:\n    certificate-authority-data: %s\n"
                  "    server: %s\n  name: \"\"\nkind: Config\n",
                  b64, fa_url(fa));
    cleanup_free char *sig = kc_jws_detached_sign(kc, token_id, secret);
    cJSON *cm = cJSON_CreateObject();
    cJSON_AddStringToObject(cm, "kind", "ConfigMap");
    cJSON_AddStringToObject(cm, "apiVersion", "v1");
    cJSON *data = cJSON_AddObjectToObject(cm, "data");
    cJSON_AddStringToObject(data, "kubeconfig", kc);
    cleanup_free char *key = xasprintf("jws-kubeconfig-%s", token_id);
    cJSON_AddStringToObject(data, key, sig);
    cleanup_free char *body = kn_json_print(cm);
    cJSON_Delete(cm);
    for (int i = 0; i < 4; i++)
        fa_expect(fa, "GET", "/api/v1/namespaces/kube-public/configmaps/cluster-info", NULL, 200,
                  NULL, body);
}

static void assert_no_credentials_sent(fa_server *fa)
{
    size_t n = fa_request_count(fa);
    KT_ASSERT(n > 0);
    for (size_t i = 0; i < n; i++) {
        fa_request r;
        fa_request_get(fa, i, &r);
        cleanup_free char *auth = fa_request_header(&r, "Authorization");
        KT_ASSERT_MSG(!auth, "request %s %s carried Authorization: %s", r.method, r.path, auth);
        KT_ASSERT_STREQ(r.path, "/api/v1/namespaces/kube-public/configmaps/cluster-info");
        fa_request_clear(&r);
    }
}

static void stop_fake(void *fa)
{
    fa_stop(fa);
}

KT_TEST_TIMEOUT(bootstrap, wrong_pin_or_signature_sends_no_token, 60)
{
    fa_options fo = {.anonymous = true};
    fa_server *fa = NULL;
    kn_error *err = NULL;
    cleanup_free char *dir = xasprintf("%s/fa", kt_tmpdir());
    KT_ASSERT_OK(fa_start(dir, &fo, &fa, &err), err);
    kt_on_cleanup(stop_fake, fa);
    const char *token = "abcdef.0123456789abcdef";
    cleanup_free char *ca_path = xasprintf("%s/ca.crt", fa_dir(fa));
    cleanup_free char *ca = read_all(ca_path);
    char pin[72];
    KT_ASSERT_OK(kc_ca_cert_hash(ca, pin, &err), err);
    char *ca_pem = NULL;
    /* a pin for another key */
    serve_cluster_info(fa, "abcdef", "0123456789abcdef");
    char wrong[72];
    snprintf(wrong, sizeof(wrong), "sha256:%064d", 0);
    KT_ASSERT_FAILS(kc_bootstrap_discover(fa_url(fa), token, wrong, 1, &ca_pem, &err));
    KT_ASSERT_EQ(kn_error_code(err), KN_EFORBIDDEN);
    KT_ASSERT_CONTAINS(kn_error_msg(err), "none of the public keys");
    kn_error_free(&err);
    assert_no_credentials_sent(fa);
    /* the right pin, but cluster-info signed with another secret */
    KT_ASSERT_FAILS(
        kc_bootstrap_discover(fa_url(fa), "abcdef.ffffffffffffffff", pin, 1, &ca_pem, &err));
    KT_ASSERT_CONTAINS(kn_error_msg(err), "failed to verify JWS signature");
    kn_error_free(&err);
    /* a token id it has no signature for */
    KT_ASSERT_FAILS(
        kc_bootstrap_discover(fa_url(fa), "zzzzzz.0123456789abcdef", pin, 1, &ca_pem, &err));
    KT_ASSERT_CONTAINS(kn_error_msg(err), "there is no JWS signed token");
    kn_error_free(&err);
    assert_no_credentials_sent(fa);
    /* all right: the CA comes back, still without the token having been sent */
    serve_cluster_info(fa, "abcdef", "0123456789abcdef");
    KT_ASSERT_OK(kc_bootstrap_discover(fa_url(fa), token, pin, 1, &ca_pem, &err), err);
    KT_ASSERT_STREQ(ca_pem, ca);
    free(ca_pem);
    assert_no_credentials_sent(fa);
}

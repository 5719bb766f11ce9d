/* test-apiserver-proto.c - kubectl 1.33 sends the bodies of its `create`
 * commands as Kubernetes protobuf; `knode server` must store exactly what
 * the same objects sent as JSON by kubectl 1.30 become. Every object is
 * created twice, once per kubectl, in two namespaces, and the stored objects
 * are compared field by field (uid, timestamps, resourceVersion and the
 * allocated IPs/ports aside). Malformed protobuf bodies get 400 Status
 * answers naming the field. The server binds 127.0.0.1 on an ephemeral
 * port. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <unistd.h>

#include "api-client/kubeconfig.h"
#include "lib/cleanup.h"
#include "lib/json.h"
#include "lib/strbuf.h"
#include "lib/xalloc.h"
#include "test/runner/kt.h"

#define KUBECTL_DIR "/usr/lib/google-cloud-sdk/bin"
#define PB "1.33" /* sends protobuf */
#define JS "1.30" /* sends JSON */

typedef struct server {
    pid_t pid;
    int port;
    char dir[300];
    char kubeconfig[340];
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
    kn_buf b;
    kn_buf_init(&b);
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), p)) > 0)
        kn_buf_append(&b, chunk, n);
    int st = pclose(p);
    if (status)
        *status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    return kn_buf_steal(&b);
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
    char port[16];
    snprintf(port, sizeof(port), "%d", s->port);
    pid_t pid = fork();
    if (pid == 0) {
        char *log = xasprintf("%s/server.log", kt_tmpdir());
        if (!freopen(log, "a", stderr))
            _exit(126);
        execl(knode, knode, "server", "--data-dir", s->dir, "--bind-address", "127.0.0.1",
              "--secure-port", port, (char *)NULL);
        _exit(127);
    }
    s->pid = pid;
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

static void have_kubectl(const char *version)
{
    cleanup_free char *p = xasprintf(KUBECTL_DIR "/kubectl.%s", version);
    if (access(p, X_OK) != 0)
        KT_SKIP("%s not installed", p);
}

static char *kubectl(const server *s, const char *version, const char *args, int *status)
{
    cleanup_free char *cmd =
        xasprintf(KUBECTL_DIR "/kubectl.%s --kubeconfig %s %s 2>&1", version, s->kubeconfig, args);
    return sh(cmd, status);
}

static void kubectl_ok(const server *s, const char *version, const char *args)
{
    int st;
    cleanup_free char *out = kubectl(s, version, args, &st);
    KT_ASSERT_MSG(st == 0, "kubectl %s %s failed (%d): %s", version, args, st, out);
}

/* Runs a create with -v=8 and checks the body went out as protobuf (1.33)
 * or JSON (1.30), so the test proves which decoder the server used. */
static void create(const server *s, const char *version, const char *args)
{
    cleanup_free char *a = xasprintf("-v=8 %s", args);
    int st;
    cleanup_free char *out = kubectl(s, version, a, &st);
    KT_ASSERT_MSG(st == 0, "kubectl %s %s failed (%d): %s", version, args, st, out);
    KT_ASSERT_CONTAINS(out, strcmp(version, PB) == 0
                                ? "Content-Type: application/vnd.kubernetes.protobuf"
                                : "Content-Type: application/json");
}

static cJSON *get_json(const server *s, const char *args)
{
    cleanup_free char *a = xasprintf("get %s -o json", args);
    int st;
    cleanup_free char *out = kubectl(s, JS, a, &st);
    KT_ASSERT_MSG(st == 0, "kubectl get %s failed: %s", args, out);
    cJSON *obj = NULL;
    kn_error *err = NULL;
    KT_ASSERT_OK(kn_json_parse(out, strlen(out), 0, &obj, &err), err);
    return obj;
}

static void drop(cJSON *obj, const char *path)
{
    char *dot = strchr(path, '.');
    if (!obj)
        return;
    if (!dot) {
        cJSON_DeleteItemFromObjectCaseSensitive(obj, path);
        return;
    }
    char head[64];
    snprintf(head, sizeof(head), "%.*s", (int)(dot - path), path);
    cJSON *child = cJSON_GetObjectItemCaseSensitive(obj, head);
    if (cJSON_IsArray(child)) {
        cJSON *e;
        cJSON_ArrayForEach(e, child) drop(e, dot + 1);
    } else {
        drop(child, dot + 1);
    }
}

/* What may differ between two creations of the same object. */
static void normalize(cJSON *obj)
{
    static const char *const volatile_fields[] = {
        "metadata.uid",       "metadata.resourceVersion", "metadata.creationTimestamp",
        "metadata.namespace", "metadata.managedFields",   "spec.clusterIP",
        "spec.clusterIPs",    "spec.ports.nodePort",      "status",
    };
    for (size_t i = 0; i < sizeof(volatile_fields) / sizeof(volatile_fields[0]); i++)
        drop(obj, volatile_fields[i]);
    cJSON *ann =
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItem(obj, "metadata"), "annotations");
    cJSON_DeleteItemFromObjectCaseSensitive(ann, "deployment.kubernetes.io/revision");
    if (ann && !ann->child)
        cJSON_DeleteItemFromObjectCaseSensitive(cJSON_GetObjectItem(obj, "metadata"),
                                                "annotations");
}

static void expect_same(const server *s, const char *what)
{
    cleanup_free char *pa = xasprintf("%s -n pb", what), *ja = xasprintf("%s -n js", what);
    cJSON *pb = get_json(s, pa), *js = get_json(s, ja);
    normalize(pb);
    normalize(js);
    cleanup_free char *pt = kn_json_print(pb), *jt = kn_json_print(js);
    KT_ASSERT_MSG(kn_json_equal(pb, js), "%s differs:\nprotobuf: %s\njson:     %s", what, pt, jt);
    cJSON_Delete(pb);
    cJSON_Delete(js);
}

static void create_both(const server *s, const char *fmt)
{
    cleanup_free char *p = xasprintf(fmt, "pb"), *j = xasprintf(fmt, "js");
    create(s, PB, p);
    create(s, JS, j);
}

KT_TEST_TIMEOUT(apiserver_proto, kubectl_1_33_creates_match_json_creates, 240)
{
    have_kubectl(PB);
    have_kubectl(JS);
    server s = {0};
    kt_on_cleanup(stop_server, &s);
    start_server(&s);
    create_both(&s, "create namespace %s");
    create_both(&s, "create configmap cfg -n %s --from-literal=a=b --from-literal=multi=x=y "
                    "--from-literal=empty=");
    create_both(&s, "create secret generic pw -n %s --from-literal=pw='s3cr3t!\xc3\xa9' "
                    "--from-literal=b=bin");
    create_both(&s, "create serviceaccount robot -n %s");
    create_both(&s, "create service clusterip web -n %s --tcp=80:8080 --tcp=443:8443");
    create_both(&s, "create service nodeport np -n %s --tcp=81:8081");
    create_both(&s, "create deployment web -n %s --image=localhost/busybox:1.36 --replicas=3 "
                    "--port=8080 -- httpd -f -p 8080");
    expect_same(&s, "configmap cfg");
    expect_same(&s, "secret pw");
    expect_same(&s, "serviceaccount robot");
    expect_same(&s, "service web");
    expect_same(&s, "service np");
    expect_same(&s, "deployment web");
    /* namespaces differ in their names only */
    cJSON *pb = get_json(&s, "namespace pb"), *js = get_json(&s, "namespace js");
    normalize(pb);
    normalize(js);
    drop(pb, "metadata.name");
    drop(js, "metadata.name");
    drop(pb, "metadata.labels");
    drop(js, "metadata.labels");
    KT_ASSERT(kn_json_equal(pb, js));
    cJSON_Delete(pb);
    cJSON_Delete(js);
    /* the secret's bytes went through base64 intact */
    cleanup_free char *pw = kubectl(&s, PB, "get secret pw -n pb -o jsonpath='{.data.pw}'", NULL);
    KT_ASSERT_STREQ(pw, "czNjcjN0IcOp");
    cleanup_free char *port = kubectl(&s, PB,
                                      "get deploy web -n pb -o jsonpath='{.spec.replicas} "
                                      "{.spec.template.spec.containers[0].ports[0].containerPort}'",
                                      NULL);
    KT_ASSERT_STREQ(port, "3 8080");
    stop_server(&s);
}

static cJSON *jwt_claims(const char *jwt)
{
    const char *a = strchr(jwt, '.'), *b = a ? strchr(a + 1, '.') : NULL;
    KT_ASSERT_MSG(a && b, "not a JWT: %s", jwt);
    kn_buf std = KN_BUF_INIT;
    for (const char *p = a + 1; p < b; p++)
        kn_buf_append_char(&std, *p == '-' ? '+' : *p == '_' ? '/' : *p);
    while (std.len % 4)
        kn_buf_append_char(&std, '=');
    char *raw = NULL;
    size_t len = 0, bad = 0;
    KT_ASSERT(kc_base64_decode(std.data, std.len, &raw, &len, &bad) == 0);
    kn_buf_free(&std);
    cJSON *claims = NULL;
    kn_error *err = NULL;
    KT_ASSERT_OK(kn_json_parse(raw, len, 0, &claims, &err), err);
    free(raw);
    return claims;
}

KT_TEST_TIMEOUT(apiserver_proto, kubectl_1_33_create_token, 120)
{
    have_kubectl(PB);
    server s = {0};
    kt_on_cleanup(stop_server, &s);
    start_server(&s);
    kubectl_ok(&s, PB, "create namespace pb");
    kubectl_ok(&s, PB, "create serviceaccount robot -n pb");
    int st;
    cleanup_free char *jwt =
        kubectl(&s, PB, "create token robot -n pb --duration=10m --audience=aud1", &st);
    KT_ASSERT_MSG(st == 0, "create token failed: %s", jwt);
    jwt[strcspn(jwt, "\n")] = '\0';
    cJSON *c = jwt_claims(jwt);
    const cJSON *exp = cJSON_GetObjectItem(c, "exp"), *iat = cJSON_GetObjectItem(c, "iat");
    KT_ASSERT(cJSON_IsNumber(exp) && cJSON_IsNumber(iat));
    KT_ASSERT_EQ(exp->valuedouble - iat->valuedouble, 600);
    cleanup_free char *aud = kn_json_print(cJSON_GetObjectItem(c, "aud"));
    KT_ASSERT_CONTAINS(aud, "aud1");
    cleanup_free char *sub = kn_json_print(cJSON_GetObjectItem(c, "sub"));
    KT_ASSERT_STREQ(sub, "\"system:serviceaccount:pb:robot\"");
    cJSON_Delete(c);
    stop_server(&s);
}

/* POSTs the bytes of a file as protobuf; returns the body, *code the status. */
static char *post_pb(const server *s, const char *path, const char *file, int *code)
{
    cleanup_free char *cmd =
        xasprintf("curl -sk --cert %s/admin.crt --key %s/admin.key -X POST --data-binary @%s "
                  "-H 'Content-Type: application/vnd.kubernetes.protobuf' -w '\\n%%{http_code}' "
                  "'https://127.0.0.1:%d%s'",
                  s->dir, s->dir, file, s->port, path);
    char *out = sh(cmd, NULL);
    char *nl = strrchr(out, '\n');
    KT_ASSERT(nl != NULL);
    *code = atoi(nl + 1);
    *nl = '\0';
    return out;
}

static char *write_bytes(const char *name, const void *data, size_t len)
{
    char *path = xasprintf("%s/%s", kt_tmpdir(), name);
    FILE *f = fopen(path, "wb");
    KT_ASSERT(f != NULL);
    KT_ASSERT(fwrite(data, 1, len, f) == len);
    fclose(f);
    return path;
}

KT_TEST_TIMEOUT(apiserver_proto, bad_protobuf_bodies_are_400_with_the_field, 120)
{
    server s = {0};
    kt_on_cleanup(stop_server, &s);
    start_server(&s);
    /* a ConfigMap whose metadata.name holds invalid UTF-8 */
    static const char bad_name[] = "k8s\0\n\x0f\n\x02v1\x12\x09"
                                   "ConfigMap\x12\x05\n\x03\n\x01\xff";
    cleanup_free char *f1 = write_bytes("bad-name.pb", bad_name, sizeof(bad_name) - 1);
    cleanup_free char *before = kubectl(&s, JS, "get configmaps -A -o name", NULL);
    int code;
    cleanup_free char *out = post_pb(&s, "/api/v1/namespaces/default/configmaps", f1, &code);
    KT_ASSERT_EQ(code, 400);
    KT_ASSERT_CONTAINS(out, "\"kind\":\"Status\"");
    KT_ASSERT_CONTAINS(out, "ConfigMap metadata.name: string is not valid UTF-8");
    /* a kind the server does not know */
    static const char widget[] = "k8s\0\n\x0e\n\x02v1\x12\x08Widgets!\x12\x00";
    cleanup_free char *f2 = write_bytes("widget.pb", widget, sizeof(widget) - 1);
    cleanup_free char *out2 = post_pb(&s, "/api/v1/namespaces/default/configmaps", f2, &code);
    KT_ASSERT_EQ(code, 400);
    KT_ASSERT_CONTAINS(out2, "no kind \\\"Widgets!\\\" is registered");
    /* JSON sent under the protobuf media type */
    static const char json[] = "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\"}";
    cleanup_free char *f3 = write_bytes("json.pb", json, sizeof(json) - 1);
    cleanup_free char *out3 = post_pb(&s, "/api/v1/namespaces/default/configmaps", f3, &code);
    KT_ASSERT_EQ(code, 400);
    KT_ASSERT_CONTAINS(out3, "prefix");
    /* nothing was stored */
    cleanup_free char *after = kubectl(&s, JS, "get configmaps -A -o name", NULL);
    KT_ASSERT_STREQ(after, before);
    stop_server(&s);
}

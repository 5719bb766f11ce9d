/* test-apiserver.c - `knode server` driven by real kubectl (1.27 and 1.33),
 * curl and openssl on loopback: discovery, CRUD, apply/patch/scale/label/
 * edit, watches, Status errors (401/403/404/409/413/422/400), and no
 * acknowledged write lost to a kill -9. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <unistd.h>

#include "controlplane/pki.h"
#include "lib/cleanup.h"
#include "lib/strbuf.h"
#include "lib/xalloc.h"
#include "test/runner/kt.h"

#define KUBECTL_DIR "/usr/lib/google-cloud-sdk/bin"

typedef struct server {
    pid_t pid;
    int port;
    char dir[300];
    char kubeconfig[340];
    const char *compaction; /* --etcd-compaction-interval, NULL: default */
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
    if (!s->port) {
        s->port = free_port();
        snprintf(s->dir, sizeof(s->dir), "%s/data", kt_tmpdir());
        snprintf(s->kubeconfig, sizeof(s->kubeconfig), "%s/admin.kubeconfig", s->dir);
    }
    char port[16];
    snprintf(port, sizeof(port), "%d", s->port);
    pid_t pid = fork();
    if (pid == 0) {
        char *log = xasprintf("%s/server.log", kt_tmpdir());
        freopen(log, "a", stderr);
        execl(knode, knode, "server", "--data-dir", s->dir, "--bind-address", "127.0.0.1",
              "--secure-port", port, "--etcd-compaction-interval",
              s->compaction ? s->compaction : "5m", (char *)NULL);
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

/* Runs kubectl (version "" = the default one) with the admin kubeconfig. */
static char *kubectl(const server *s, const char *version, const char *args, int *status)
{
    cleanup_free char *bin =
        *version ? xasprintf(KUBECTL_DIR "/kubectl.%s", version) : xstrdup("kubectl");
    cleanup_free char *cmd = xasprintf("%s --kubeconfig %s %s 2>&1", bin, s->kubeconfig, args);
    return sh(cmd, status);
}

static void kubectl_ok(const server *s, const char *version, const char *args)
{
    int st;
    cleanup_free char *out = kubectl(s, version, args, &st);
    KT_ASSERT_MSG(st == 0, "kubectl %s %s failed (%d): %s", version, args, st, out);
}

static const char deployment[] =
    "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  labels: {app: web}\n"
    "spec:\n  replicas: 3\n  selector:\n    matchLabels: {app: web}\n  template:\n"
    "    metadata:\n      labels: {app: web}\n    spec:\n      containers:\n"
    "      - name: httpd\n        image: localhost/busybox:1.35\n"
    "        command: [httpd, -f, -p, \"8080\"]\n        ports:\n        - containerPort: 8080\n"
    "---\napiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  selector: {app: web}\n"
    "  ports:\n  - port: 80\n    targetPort: 8080\n";

static char *write_file(const char *name, const char *text)
{
    char *path = xasprintf("%s/%s", kt_tmpdir(), name);
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
    return path;
}

static void have_kubectl(const char *version)
{
    cleanup_free char *p = xasprintf(KUBECTL_DIR "/kubectl.%s", version);
    if (access(p, X_OK) != 0)
        KT_SKIP("%s not installed", p);
}

static void crud_with(const char *version)
{
    have_kubectl(version);
    static server s;
    kt_on_cleanup(stop_server, &s);
    start_server(&s);
    cleanup_free char *ns = kubectl(&s, version, "get ns", NULL);
    KT_ASSERT_CONTAINS(ns, "kube-system");
    KT_ASSERT_CONTAINS(ns, "Active");
    cleanup_free char *ns_file =
        write_file("ns.yaml", "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: team\n");
    cleanup_free char *ns_apply = xasprintf("apply -f %s", ns_file);
    kubectl_ok(&s, version, ns_apply);
    cleanup_free char *file = write_file("web.yaml", deployment);
    cleanup_free char *apply = xasprintf("apply -n team -f %s", file);
    kubectl_ok(&s, version, apply);
    cleanup_free char *again = kubectl(&s, version, apply, NULL);
    KT_ASSERT_CONTAINS(again, "deployment.apps/web unchanged");
    cleanup_free char *json = kubectl(&s, version, "get deploy web -n team -o json", NULL);
    KT_ASSERT_CONTAINS(json, "\"maxSurge\": \"25%\"");
    KT_ASSERT_CONTAINS(json, "\"restartPolicy\": \"Always\"");
    KT_ASSERT_CONTAINS(json, "\"imagePullPolicy\": \"IfNotPresent\"");
    cleanup_free char *svc = kubectl(&s, version, "get svc web -n team", NULL);
    KT_ASSERT_CONTAINS(svc, "80/TCP");
    KT_ASSERT_CONTAINS(svc, "10.96.");
    kubectl_ok(&s, version, "scale deploy web -n team --replicas=5");
    cleanup_free char *scale =
        kubectl(&s, version, "get --raw /apis/apps/v1/namespaces/team/deployments/web/scale", NULL);
    KT_ASSERT_CONTAINS(scale, "\"selector\":\"app=web\"");
    KT_ASSERT_CONTAINS(scale, "\"replicas\":5");
    kubectl_ok(&s, version, "label deploy web -n team tier=front");
    kubectl_ok(&s, version, "annotate deploy web -n team note=hello");
    kubectl_ok(&s, version,
               "patch deploy web -n team -p "
               "'{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":\"httpd\","
               "\"image\":\"localhost/busybox:1.36\"}]}}}}'");
    kubectl_ok(&s, version,
               "patch deploy web -n team --type=json -p "
               "'[{\"op\":\"replace\",\"path\":\"/spec/replicas\",\"value\":4}]'");
    cleanup_free char *got =
        kubectl(&s, version,
                "get deploy web -n team -o jsonpath='{.spec.replicas} {.metadata.labels.tier} "
                "{.metadata.annotations.note} {.spec.template.spec.containers[0].image} "
                "{.spec.template.spec.containers[0].command[0]}'",
                NULL);
    KT_ASSERT_STREQ(got, "4 front hello localhost/busybox:1.36 httpd");
    cleanup_free char *edit_cmd =
        xasprintf("sh -c 'KUBE_EDITOR=\"sed -i s/tier:\\ front/tier:\\ back/\" " KUBECTL_DIR
                  "/kubectl.%s --kubeconfig %s edit deploy web -n team' 2>&1",
                  version, s.kubeconfig);
    cleanup_free char *edited = sh(edit_cmd, NULL);
    KT_ASSERT_CONTAINS(edited, "edited");
    cleanup_free char *tier =
        kubectl(&s, version, "get deploy web -n team -o jsonpath='{.metadata.labels.tier}'", NULL);
    KT_ASSERT_STREQ(tier, "back");
    kubectl_ok(&s, version, "delete deploy web -n team");
    int st;
    cleanup_free char *gone = kubectl(&s, version, "get deploy web -n team", &st);
    KT_ASSERT_NE(st, 0);
    KT_ASSERT_CONTAINS(gone, "NotFound");
    stop_server(&s);
}

KT_TEST_TIMEOUT(apiserver, kubectl_1_27_crud, 180)
{
    crud_with("1.27");
}

KT_TEST_TIMEOUT(apiserver, kubectl_1_33_crud, 180)
{
    crud_with("1.33");
}

KT_TEST_TIMEOUT(apiserver, watch_sees_changes, 120)
{
    static server s;
    kt_on_cleanup(stop_server, &s);
    start_server(&s);
    cleanup_free char *out_path = xasprintf("%s/watch.out", kt_tmpdir());
    cleanup_free char *watch_cmd =
        xasprintf("timeout 4 kubectl --kubeconfig %s get cm -w --output-watch-events "
                  "> %s 2>&1 &",
                  s.kubeconfig, out_path);
    KT_ASSERT_EQ(system(watch_cmd), 0);
    usleep(1500000);
    kubectl_ok(&s, "", "create cm w1 --from-literal=a=b");
    kubectl_ok(&s, "", "label cm w1 x=y");
    kubectl_ok(&s, "", "delete cm w1");
    sleep(3);
    cleanup_free char *cat = xasprintf("cat %s", out_path);
    cleanup_free char *events = sh(cat, NULL);
    KT_ASSERT_CONTAINS(events, "ADDED      w1");
    KT_ASSERT_CONTAINS(events, "MODIFIED   w1");
    KT_ASSERT_CONTAINS(events, "DELETED    w1");
    stop_server(&s);
}

/* Runs curl against path with the admin cert (auth NULL) or other options;
 * returns the body and fills *code. */
static char *request(const server *s, const char *auth, const char *method, const char *path,
                     const char *body_file, const char *ctype, int *code)
{
    cleanup_free char *admin = xasprintf("--cert %s/admin.crt --key %s/admin.key", s->dir, s->dir);
    cleanup_free char *data =
        body_file ? xasprintf("--data-binary @%s -H 'Content-Type: %s'", body_file, ctype)
                  : xstrdup("");
    cleanup_free char *cmd = xasprintf("curl -sk %s -X %s %s -w '\\n%%{http_code}' "
                                       "'https://127.0.0.1:%d%s'",
                                       auth ? auth : admin, method, data, s->port, path);
    char *out = sh(cmd, NULL);
    char *nl = strrchr(out, '\n');
    KT_ASSERT(nl != NULL);
    *code = atoi(nl + 1);
    *nl = '\0';
    return out;
}

KT_TEST_TIMEOUT(apiserver, errors_are_status_objects, 120)
{
    static server s;
    kt_on_cleanup(stop_server, &s);
    start_server(&s);
    int code;
    cleanup_free char *anon = request(&s, "", "GET", "/api/v1/namespaces", NULL, NULL, &code);
    KT_ASSERT_EQ(code, 401);
    KT_ASSERT_CONTAINS(anon, "\"kind\":\"Status\"");

    /* a valid client certificate of a user without rights */
    cleanup_free char *bob_crt = xasprintf("%s/bob.crt", kt_tmpdir());
    cleanup_free char *bob_key = xasprintf("%s/bob.key", kt_tmpdir());
    kn_error *err = NULL;
    KT_ASSERT_OK(kn_pki_issue_client(s.dir, "bob", NULL, bob_crt, bob_key, &err), err);
    cleanup_free char *bob = xasprintf("--cert %s --key %s", bob_crt, bob_key);
    cleanup_free char *forbidden =
        request(&s, bob, "GET", "/api/v1/namespaces/default/pods", NULL, NULL, &code);
    KT_ASSERT_EQ(code, 403);
    KT_ASSERT_CONTAINS(forbidden, "\"reason\":\"Forbidden\"");

    /* a service-account token: discovery yes, pods no (no RBAC grants yet) */
    kubectl_ok(&s, "", "create serviceaccount robot");
    cleanup_free char *token = kubectl(&s, "", "create token robot", NULL);
    token[strcspn(token, "\n")] = '\0';
    cleanup_free char *bearer = xasprintf("-H 'Authorization: Bearer %s'", token);
    cleanup_free char *disc = request(&s, bearer, "GET", "/api", NULL, NULL, &code);
    KT_ASSERT_EQ(code, 200);
    cleanup_free char *sa_pods =
        request(&s, bearer, "GET", "/api/v1/namespaces/default/pods", NULL, NULL, &code);
    KT_ASSERT_EQ(code, 403);
    KT_ASSERT_CONTAINS(sa_pods, "User \\\"system:serviceaccount:default:robot\\\" cannot list "
                                "resource \\\"pods\\\" in API group \\\"\\\" in the "
                                "namespace \\\"default\\\"");
    cleanup_free char *forged =
        request(&s, "-H 'Authorization: Bearer a.b.c'", "GET", "/api", NULL, NULL, &code);
    KT_ASSERT_EQ(code, 401);

    cleanup_free char *nf =
        request(&s, NULL, "GET", "/api/v1/namespaces/default/pods/nope", NULL, NULL, &code);
    KT_ASSERT_EQ(code, 404);
    KT_ASSERT_CONTAINS(nf, "pods \\\"nope\\\" not found");

    cleanup_free char *bad_json = write_file("bad.json", "{\"kind\": \"ConfigMap\", ");
    cleanup_free char *br = request(&s, NULL, "POST", "/api/v1/namespaces/default/configmaps",
                                    bad_json, "application/json", &code);
    KT_ASSERT_EQ(code, 400);
    KT_ASSERT_CONTAINS(br, "\"reason\":\"BadRequest\"");

    cleanup_free char *bad_name =
        write_file("name.json", "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":"
                                "{\"name\":\"Not_Valid\"}}");
    cleanup_free char *inv = request(&s, NULL, "POST", "/api/v1/namespaces/default/configmaps",
                                     bad_name, "application/json", &code);
    KT_ASSERT_EQ(code, 422);
    KT_ASSERT_CONTAINS(inv, "\"field\":\"metadata.name\"");

    cleanup_free char *cm = write_file(
        "cm.json", "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"c\"}}");
    cleanup_free char *created = request(&s, NULL, "POST", "/api/v1/namespaces/default/configmaps",
                                         cm, "application/json", &code);
    KT_ASSERT_EQ(code, 201);
    cleanup_free char *dup = request(&s, NULL, "POST", "/api/v1/namespaces/default/configmaps", cm,
                                     "application/json", &code);
    KT_ASSERT_EQ(code, 409);
    KT_ASSERT_CONTAINS(dup, "\"reason\":\"AlreadyExists\"");
    cleanup_free char *stale = write_file(
        "stale.json", "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"c\","
                      "\"resourceVersion\":\"1\"},\"data\":{\"a\":\"b\"}}");
    cleanup_free char *conflict =
        request(&s, NULL, "PUT", "/api/v1/namespaces/default/configmaps/c", stale,
                "application/json", &code);
    KT_ASSERT_EQ(code, 409);
    KT_ASSERT_CONTAINS(conflict, "\"reason\":\"Conflict\"");

    /* a pod bound to a node is deleted gracefully; DeleteOptions in the body
     * with gracePeriodSeconds 0 (the kubelet's confirmation) removes it */
    cleanup_free char *bound = write_file(
        "bound.yaml", "apiVersion: v1\nkind: Pod\nmetadata:\n  name: bound\nspec:\n"
                      "  nodeName: n1\n  containers:\n  - name: c\n    image: busybox\n");
    cleanup_free char *bound_apply = xasprintf("apply -f %s", bound);
    kubectl_ok(&s, "", bound_apply);
    cleanup_free char *graceful =
        request(&s, NULL, "DELETE", "/api/v1/namespaces/default/pods/bound", NULL, NULL, &code);
    KT_ASSERT_EQ(code, 200);
    KT_ASSERT_CONTAINS(graceful, "\"deletionGracePeriodSeconds\":30");
    cleanup_free char *opts = write_file(
        "del.json", "{\"kind\":\"DeleteOptions\",\"apiVersion\":\"v1\",\"gracePeriodSeconds\":0}");
    cleanup_free char *confirmed =
        request(&s, NULL, "DELETE", "/api/v1/namespaces/default/pods/bound", opts,
                "application/json", &code);
    KT_ASSERT_EQ(code, 200);
    cleanup_free char *gone_pod =
        request(&s, NULL, "GET", "/api/v1/namespaces/default/pods/bound", NULL, NULL, &code);
    KT_ASSERT_EQ(code, 404);

    /* pods/log is proxied to the node's kubelet; a node that does not
     * exist gives upstream's NotFound, never the pod object */
    kubectl_ok(&s, "", bound_apply);
    cleanup_free char *logs = kubectl(&s, "", "logs bound", &code);
    KT_ASSERT_NE(code, 0);
    KT_ASSERT_CONTAINS(logs, "nodes \"n1\" not found");

    /* stringData is merged into data (base64) and not stored */
    cleanup_free char *sec =
        write_file("sec.yaml", "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s1\nstringData:\n"
                               "  password: hunter2\n");
    cleanup_free char *sec_apply = xasprintf("apply -f %s", sec);
    kubectl_ok(&s, "", sec_apply);
    cleanup_free char *pw = kubectl(&s, "", "get secret s1 -o jsonpath='{.data.password}'", NULL);
    KT_ASSERT_STREQ(pw, "aHVudGVyMg==");
    cleanup_free char *sd = kubectl(&s, "", "get secret s1 -o jsonpath='{.stringData}'", NULL);
    KT_ASSERT_STREQ(sd, "");

    cleanup_free char *big_cmd =
        xasprintf("head -c 3200000 /dev/zero | tr '\\0' 'a' > %s/big.json", kt_tmpdir());
    KT_ASSERT_EQ(system(big_cmd), 0);
    cleanup_free char *big_path = xasprintf("%s/big.json", kt_tmpdir());
    cleanup_free char *big = request(&s, NULL, "POST", "/api/v1/namespaces/default/configmaps",
                                     big_path, "application/json", &code);
    KT_ASSERT_EQ(code, 413);
    stop_server(&s);
}

/* 200 creates from 8 parallel clients; the server is killed with SIGKILL
 * part-way. Every create that got 201 must be there after a restart. */
KT_TEST_TIMEOUT(apiserver, kill9_loses_no_acknowledged_create, 180)
{
    static server s;
    kt_on_cleanup(stop_server, &s);
    start_server(&s);
    cleanup_free char *script = xasprintf(
        "cd %s && for i in $(seq 1 200); do echo $i; done | xargs -P 8 -I{} sh -c "
        "'code=$(curl -sk --cert %s/admin.crt --key %s/admin.key -o /dev/null -w %%{http_code} "
        "-X POST -H \"Content-Type: application/json\" --data-binary "
        "\"{\\\"apiVersion\\\":\\\"v1\\\",\\\"kind\\\":\\\"ConfigMap\\\",\\\"metadata\\\":"
        "{\\\"name\\\":\\\"cm-{}\\\"}}\" https://127.0.0.1:%d/api/v1/namespaces/default/"
        "configmaps); [ \"$code\" = 201 ] && echo cm-{} >> acked.txt; true' &",
        kt_tmpdir(), s.dir, s.dir, s.port);
    KT_ASSERT_EQ(system(script), 0);
    usleep(700000);
    kill(s.pid, SIGKILL);
    waitpid(s.pid, NULL, 0);
    s.pid = 0;
    sleep(2); /* the clients see connection errors and finish */
    start_server(&s);
    cleanup_free char *acked_cmd = xasprintf("sort -u %s/acked.txt 2>/dev/null", kt_tmpdir());
    cleanup_free char *acked = sh(acked_cmd, NULL);
    cleanup_free char *have = kubectl(&s, "", "get cm -o name", NULL);
    int n = 0;
    for (char *save = NULL, *l = strtok_r(acked, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        char want[96];
        snprintf(want, sizeof(want), "configmap/%s\n", l);
        KT_ASSERT_MSG(strstr(have, want) != NULL, "acknowledged %s is missing", l);
        n++;
    }
    KT_ASSERT_MSG(n > 0, "no create was acknowledged before the kill");
    stop_server(&s);
}

/* After a compaction, a watch from a compacted resourceVersion gets one
 * ERROR event with a 410 Expired Status; a watch from now works. */
KT_TEST_TIMEOUT(apiserver, watch_from_compacted_revision_is_gone, 120)
{
    static server s = {.compaction = "1s"};
    kt_on_cleanup(stop_server, &s);
    start_server(&s);
    kubectl_ok(&s, "", "create cm old --from-literal=a=1");
    cleanup_free char *rv =
        kubectl(&s, "", "get cm old -o jsonpath='{.metadata.resourceVersion}'", NULL);
    kubectl_ok(&s, "", "label cm old step=1");
    kubectl_ok(&s, "", "label cm old step=2 --overwrite");
    sleep(3); /* two compaction intervals */
    cleanup_free char *path = xasprintf(
        "/api/v1/namespaces/default/configmaps?watch=1&resourceVersion=%s&timeoutSeconds=2", rv);
    int code;
    cleanup_free char *gone = request(&s, NULL, "GET", path, NULL, NULL, &code);
    KT_ASSERT_EQ(code, 200);
    KT_ASSERT_CONTAINS(gone, "\"type\":\"ERROR\"");
    KT_ASSERT_CONTAINS(gone, "\"code\":410");
    KT_ASSERT_CONTAINS(gone, "\"reason\":\"Expired\"");
    cleanup_free char *fresh =
        request(&s, NULL, "GET", "/api/v1/namespaces/default/configmaps?watch=1&timeoutSeconds=1",
                NULL, NULL, &code);
    KT_ASSERT_CONTAINS(fresh, "\"type\":\"ADDED\"");
    stop_server(&s);
}

/* Parallel creates never share a ClusterIP or NodePort; a requested
 * clusterIP is honoured (and refused when taken or out of range). */
KT_TEST_TIMEOUT(apiserver, service_allocation_is_unique, 120)
{
    static server s;
    kt_on_cleanup(stop_server, &s);
    start_server(&s);
    cleanup_free char *script =
        xasprintf("seq 1 24 | xargs -P 8 -I{} kubectl --kubeconfig %s create service nodeport s{} "
                  "--tcp=80:8080 >/dev/null 2>&1",
                  s.kubeconfig);
    KT_ASSERT_EQ(system(script), 0);
    cleanup_free char *ips = kubectl(
        &s, "", "get svc -o jsonpath='{range .items[*]}{.spec.clusterIP}{\"\\n\"}{end}'", NULL);
    cleanup_free char *ports = kubectl(
        &s, "", "get svc -o jsonpath='{range .items[*]}{.spec.ports[*].nodePort}{\"\\n\"}{end}'",
        NULL);
    cleanup_free char *uniq_cmd =
        xasprintf("kubectl --kubeconfig %s get svc -o jsonpath='{range .items[*]}{.spec.clusterIP}"
                  "{\"\\n\"}{end}' | sort | uniq -d | wc -l",
                  s.kubeconfig);
    cleanup_free char *dups = sh(uniq_cmd, NULL);
    KT_ASSERT_STREQ(dups, "0\n");
    cleanup_free char *uniq_ports = xasprintf(
        "kubectl --kubeconfig %s get svc -o jsonpath='{range .items[*]}{.spec.ports[*].nodePort}"
        "{\"\\n\"}{end}' | grep . | sort | uniq -d | wc -l",
        s.kubeconfig);
    cleanup_free char *pdups = sh(uniq_ports, NULL);
    KT_ASSERT_STREQ(pdups, "0\n");
    int lines = 0;
    for (const char *p = ips; *p; p++)
        lines += *p == '\n';
    KT_ASSERT_EQ(lines, 25); /* 24 + the kubernetes Service */
    (void)ports;

    cleanup_free char *fixed = write_file(
        "fixed.yaml", "apiVersion: v1\nkind: Service\nmetadata:\n  name: dns\nspec:\n"
                      "  clusterIP: 10.96.0.10\n  ports:\n  - port: 53\n    protocol: UDP\n");
    cleanup_free char *apply = xasprintf("apply -f %s", fixed);
    kubectl_ok(&s, "", apply);
    cleanup_free char *got = kubectl(&s, "", "get svc dns -o jsonpath='{.spec.clusterIP}'", NULL);
    KT_ASSERT_STREQ(got, "10.96.0.10");
    cleanup_free char *taken =
        write_file("taken.yaml", "apiVersion: v1\nkind: Service\nmetadata:\n  name: dns2\nspec:\n"
                                 "  clusterIP: 10.96.0.10\n  ports:\n  - port: 53\n");
    cleanup_free char *apply2 = xasprintf("apply -f %s", taken);
    int st;
    cleanup_free char *refused = kubectl(&s, "", apply2, &st);
    KT_ASSERT_NE(st, 0);
    KT_ASSERT_CONTAINS(refused, "provided IP is already allocated");
    stop_server(&s);
}

/* Concurrent patches without a resourceVersion never fail with 409: the
 * server re-reads and retries (upstream's GuaranteedUpdate). */
KT_TEST_TIMEOUT(apiserver, concurrent_patches_all_apply, 120)
{
    static server s;
    kt_on_cleanup(stop_server, &s);
    start_server(&s);
    kubectl_ok(&s, "", "create cm shared --from-literal=a=b");
    cleanup_free char *script =
        xasprintf("seq 1 16 | xargs -P 8 -I{} kubectl --kubeconfig %s label cm shared k{}=v "
                  ">/dev/null 2>%s/label.err; echo $?",
                  s.kubeconfig, kt_tmpdir());
    cleanup_free char *rc = sh(script, NULL);
    KT_ASSERT_STREQ(rc, "0\n");
    cleanup_free char *labels =
        kubectl(&s, "", "get cm shared -o jsonpath='{.metadata.labels}'", NULL);
    for (int i = 1; i <= 16; i++) {
        char want[32];
        snprintf(want, sizeof(want), "\"k%d\":\"v\"", i);
        KT_ASSERT_CONTAINS(labels, want);
    }
    stop_server(&s);
}

/* ---- kubectl explain, field validation and printed columns ---------------------------- */

static const char typo_deployment[] =
    "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: typo\nspec:\n  replicas: 1\n"
    "  foo: bar\n  selector:\n    matchLabels: {app: typo}\n  template:\n    metadata:\n"
    "      labels: {app: typo}\n    spec:\n      containers:\n      - name: c\n"
    "        image: localhost/busybox:1.35\n        imagePullPolice: Always\n";

static void explain_works(const server *s, const char *version)
{
    cleanup_free char *strategy = kubectl(s, version, "explain deployment.spec.strategy", NULL);
    KT_ASSERT_CONTAINS(strategy, "rollingUpdate");
    KT_ASSERT_CONTAINS(strategy, "<RollingUpdateDeployment>");
    cleanup_free char *rec = kubectl(s, version, "explain pods.spec.containers --recursive", NULL);
    KT_ASSERT_CONTAINS(rec, "containerPort\t<integer> -required-");
    KT_ASSERT_CONTAINS(rec, "imagePullPolicy\t<string>");
    cleanup_free char *v2 =
        kubectl(s, version, "explain services.spec.ports --output=plaintext-openapiv2", NULL);
    KT_ASSERT_CONTAINS(v2, "RESOURCE: ports <[]Object>");
    KT_ASSERT_CONTAINS(v2, "targetPort\t<string>");
    static const char *const kinds[] = {"pods",
                                        "services",
                                        "endpoints",
                                        "configmaps",
                                        "secrets",
                                        "serviceaccounts",
                                        "nodes",
                                        "namespaces",
                                        "events",
                                        "deployments",
                                        "replicasets",
                                        "statefulsets",
                                        "daemonsets",
                                        "controllerrevisions",
                                        "endpointslices",
                                        "leases",
                                        "certificatesigningrequests"};
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        cleanup_free char *args = xasprintf("explain %s.metadata.name", kinds[i]);
        kubectl_ok(s, version, args);
    }
}

/* Values of the wrong JSON type, bad query values and bad options are
 * refused with upstream's words whatever fieldValidation says; a
 * subresource body is checked against its own kind. */
static void bad_input_is_refused(const server *s, const char *version)
{
    cleanup_free char *file =
        write_file("str-replicas.yaml",
                   "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: strrep\nspec:\n"
                   "  replicas: \"3\"\n  selector:\n    matchLabels: {a: b}\n  template:\n"
                   "    metadata:\n      labels: {a: b}\n    spec:\n      containers:\n"
                   "      - {name: c, image: nginx}\n");
    cleanup_free char *args = xasprintf("create --validate=false -f %s", file);
    int st, code;
    cleanup_free char *out = kubectl(s, version, args, &st);
    KT_ASSERT_NE(st, 0);
    KT_ASSERT_CONTAINS(out, "Deployment in version \"v1\" cannot be handled as a Deployment: "
                            "json: cannot unmarshal string into Go struct field "
                            "DeploymentSpec.spec.replicas of type int32");
    cleanup_free char *limit =
        request(s, NULL, "GET", "/api/v1/namespaces/default/pods?limit=x", NULL, NULL, &code);
    KT_ASSERT_EQ(code, 400);
    KT_ASSERT_CONTAINS(limit, "strconv.ParseInt: parsing \\\"x\\\": invalid syntax");
    cleanup_free char *opts = write_file("badprop.json", "{\"propagationPolicy\":\"Sideways\"}");
    cleanup_free char *del = request(s, NULL, "DELETE", "/api/v1/namespaces/default/pods/none",
                                     opts, "application/json", &code);
    KT_ASSERT_EQ(code, 422);
    KT_ASSERT_CONTAINS(del, "DeleteOptions.meta.k8s.io \\\"\\\" is invalid: propagationPolicy: "
                            "Unsupported value");
    cleanup_free char *binding =
        write_file("binding.json", "{\"apiVersion\":\"v1\",\"kind\":\"Binding\",\"metadata\":"
                                   "{\"name\":\"none\"},\"target\":{\"name\":\"n1\"},\"foo\":1}");
    cleanup_free char *bound = request(
        s, NULL, "POST", "/api/v1/namespaces/default/pods/none/binding?fieldValidation=Strict",
        binding, "application/json", &code);
    KT_ASSERT_EQ(code, 400);
    KT_ASSERT_CONTAINS(bound, "Binding in version \\\"v1\\\" cannot be handled as a Binding: "
                              "strict decoding error: unknown field \\\"foo\\\"");
}

static void validation_works(const server *s, const char *version)
{
    cleanup_free char *file = write_file("typo.yaml", typo_deployment);
    cleanup_free char *apply = xasprintf("apply -f %s", file);
    int st;
    cleanup_free char *strict = kubectl(s, version, apply, &st);
    KT_ASSERT_NE(st, 0);
    KT_ASSERT_CONTAINS(strict, "Deployment in version \"v1\" cannot be handled as a Deployment: "
                               "strict decoding error: unknown field \"spec.foo\", unknown field "
                               "\"spec.template.spec.containers[0].imagePullPolice\"");
    cleanup_free char *warn_args = xasprintf("apply --validate=warn -f %s", file);
    cleanup_free char *warn = kubectl(s, version, warn_args, &st);
    KT_ASSERT_EQ(st, 0);
    KT_ASSERT_CONTAINS(warn, "Warning: unknown field \"spec.foo\"");
    cleanup_free char *stored = kubectl(s, version, "get deploy typo -o jsonpath='{.spec}'", NULL);
    KT_ASSERT(strstr(stored, "foo") == NULL && strstr(stored, "Police") == NULL);
    /* an update of the existing object is a patch: 422 under Strict */
    cleanup_free char *patched = kubectl(s, version, apply, &st);
    KT_ASSERT_NE(st, 0);
    KT_ASSERT_CONTAINS(patched, "strict decoding error: unknown field");
    cleanup_free char *ignored_args = xasprintf("apply --validate=false -f %s", file);
    cleanup_free char *ignored = kubectl(s, version, ignored_args, &st);
    KT_ASSERT_EQ(st, 0);
    KT_ASSERT(strstr(ignored, "Warning") == NULL);
    kubectl_ok(s, version, "delete deploy typo");
    /* duplicate keys, and the directive's values, over plain HTTP */
    cleanup_free char *dup =
        write_file("dup.json", "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":"
                               "{\"name\":\"dup\"},\"data\":{\"a\":\"1\"},\"data\":{\"b\":\"2\"}}");
    int code;
    cleanup_free char *strict_dup =
        request(s, NULL, "POST", "/api/v1/namespaces/default/configmaps?fieldValidation=Strict",
                dup, "application/json", &code);
    KT_ASSERT_EQ(code, 400);
    KT_ASSERT_CONTAINS(strict_dup, "strict decoding error: duplicate field \\\"data\\\"");
    cleanup_free char *bad =
        request(s, NULL, "POST", "/api/v1/namespaces/default/configmaps?fieldValidation=strict",
                dup, "application/json", &code);
    KT_ASSERT_EQ(code, 422);
    KT_ASSERT_CONTAINS(bad, "fieldValidation: Unsupported value");
    cleanup_free char *ignored_dup =
        request(s, NULL, "POST", "/api/v1/namespaces/default/configmaps?fieldValidation=Ignore",
                dup, "application/json", &code);
    KT_ASSERT_EQ(code, 201);
    KT_ASSERT_CONTAINS(ignored_dup, "\"data\":{\"b\":\"2\"}"); /* the last one wins */
    bad_input_is_refused(s, version);
}

static const char event_yaml[] =
    "apiVersion: v1\nkind: Event\nmetadata:\n  name: web.1\ninvolvedObject:\n  kind: Pod\n"
    "  name: web\n  namespace: default\nreason: Pulled\nmessage: image pulled\ntype: Normal\n"
    "source:\n  component: kubelet\n  host: n1\n";

static void contains_all(const char *text, const char *const *parts)
{
    for (size_t i = 0; parts[i]; i++)
        KT_ASSERT_CONTAINS(text, parts[i]);
}

static void columns_work(const server *s, const char *version)
{
    cleanup_free char *ev_file = write_file("event.yaml", event_yaml);
    cleanup_free char *create = xasprintf("create -f %s", ev_file);
    kubectl_ok(s, version, create);
    cleanup_free char *events = kubectl(s, version, "get events", NULL);
    /* the controllers' events of the deployment above are listed too */
    static const char *const ev_parts[] = {"LAST SEEN   TYPE",
                                           "REASON",
                                           "OBJECT",
                                           "MESSAGE\n",
                                           "deployment/typo",
                                           "   Normal    Pulled ",
                                           "   pod/web ",
                                           "   image pulled\n",
                                           NULL};
    contains_all(events, ev_parts);
    cleanup_free char *key = xasprintf("%s/csr.key", kt_tmpdir());
    cleanup_free char *gen =
        xasprintf("openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
                  "-subj /CN=bob -keyout %s 2>/dev/null | base64 -w0",
                  key);
    cleanup_free char *req = sh(gen, NULL);
    cleanup_free char *csr_yaml = xasprintf(
        "apiVersion: certificates.k8s.io/v1\nkind: CertificateSigningRequest\nmetadata:\n"
        "  name: bob\nspec:\n  request: %s\n  signerName: kubernetes.io/kube-apiserver-client\n"
        "  expirationSeconds: 86400\n  usages: [client auth]\n",
        req);
    cleanup_free char *csr_file = write_file("csr.yaml", csr_yaml);
    cleanup_free char *csr_create = xasprintf("create -f %s", csr_file);
    kubectl_ok(s, version, csr_create);
    cleanup_free char *csrs = kubectl(s, version, "get csr", NULL);
    static const char *const csr_parts[] = {
        "NAME   AGE   SIGNERNAME                            REQUESTOR",
        "REQUESTEDDURATION   CONDITION", "kubernetes.io/kube-apiserver-client   kubernetes-admin",
        "24h                 Pending", NULL};
    contains_all(csrs, csr_parts);
    cleanup_free char *sas = kubectl(s, version, "get sa -n kube-system", NULL);
    KT_ASSERT_CONTAINS(sas, "NAME      SECRETS   AGE");
    cleanup_free char *secrets =
        kubectl(s, version, "create secret generic s1 --from-literal=a=b", NULL);
    cleanup_free char *sec = kubectl(s, version, "get secret s1", NULL);
    KT_ASSERT_CONTAINS(sec, "s1     Opaque   1      ");
}

static void schema_with(const char *version)
{
    have_kubectl(version);
    static server s;
    kt_on_cleanup(stop_server, &s);
    start_server(&s);
    explain_works(&s, version);
    validation_works(&s, version);
    columns_work(&s, version);
    stop_server(&s);
}

KT_TEST_TIMEOUT(apiserver, kubectl_1_27_explain_validation_columns, 180)
{
    schema_with("1.27");
}

KT_TEST_TIMEOUT(apiserver, kubectl_1_33_explain_validation_columns, 180)
{
    schema_with("1.33");
}

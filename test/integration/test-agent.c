/* test-agent.c - `knode kubelet` against `knode server`, both inside a
 * testbed node (its own netns and containerd), driven by kubectl.
 *
 * The server listens on the node's 127.0.0.1; the kubelet (forked into the
 * node's network namespace, root mount namespace so /sys/fs/cgroup is the
 * host's, like the testbed's containerd sees it) uses the admin kubeconfig
 * and the node's containerd. kubectl runs in the node netns. Checked: the
 * Node registers, becomes Ready with the podCIDR patched in, holds its
 * Lease; a 3-replica Deployment of busybox httpd runs (Running, pod IPs
 * from the node's CIDR, container statuses); kubectl delete pod finishes
 * (the kubelet confirms the deletion); a crashing container shows
 * CrashLoopBackOff; killing containerd (by PID) makes the node NotReady and
 * a new containerd makes it Ready again. Everything started is stopped by
 * PID and the testbed torn down (also on failure). KT_VERBOSE=1 shows
 * every kubectl call. */
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/strbuf.h"
#include "lib/xalloc.h"
#include "test/harness/testbed.h"
#include "test/runner/kt.h"

#define NODE "nodea"
#define WAIT_S 180

typedef struct env {
    tb_cluster tb;
    tb_node *nd;
    char dir[300];
    char data[340];
    char kubeconfig[380];
    int port;
    pid_t server, kubelet, containerd2;
} env;

static env E;

static bool verbose(void)
{
    const char *v = getenv("KT_VERBOSE");
    return v && strcmp(v, "1") == 0;
}

static char *capture(int *status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static char *capture(int *status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    cleanup_free char *cmd = xvasprintf(fmt, ap);
    va_end(ap);
    cleanup_free char *full = xasprintf("(%s) 2>&1", cmd);
    FILE *p = popen(full, "r");
    KT_ASSERT_MSG(p, "popen %s", cmd);
    kn_buf b = KN_BUF_INIT;
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), p)) > 0)
        kn_buf_append(&b, chunk, n);
    int st = pclose(p);
    if (status)
        *status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    if (!b.data)
        kn_buf_append_str(&b, "");
    if (verbose())
        printf("$ %s (exit %d)\n%s\n", cmd, st, b.data);
    return kn_buf_steal(&b);
}

static char *knode_path(void)
{
    char self[512];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    KT_ASSERT(n > 0);
    self[n] = '\0';
    *strrchr(self, '/') = '\0';
    return xasprintf("%s/knode", self);
}

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

static pid_t spawn_in(const char *netns, const char *log, char *const argv[])
{
    pid_t pid = fork();
    KT_ASSERT(pid >= 0);
    if (pid == 0) {
        char path[128];
        snprintf(path, sizeof(path), "/run/netns/%s", netns);
        int nfd = open(path, O_RDONLY | O_CLOEXEC);
        if (nfd < 0 || setns(nfd, CLONE_NEWNET) < 0)
            _exit(126);
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        execvp(argv[0], argv);
        _exit(127);
    }
    return pid;
}

static void stop_pid(pid_t *pid)
{
    if (*pid <= 0)
        return;
    kill(*pid, SIGTERM);
    for (int i = 0; i < 100 && waitpid(*pid, NULL, WNOHANG) == 0; i++)
        usleep(50000);
    if (waitpid(*pid, NULL, WNOHANG) == 0) {
        kill(*pid, SIGKILL);
        waitpid(*pid, NULL, 0);
    }
    *pid = 0;
}

/* Stops a process that is not our child (the second containerd). */
static void stop_foreign(pid_t *pid)
{
    if (*pid <= 0)
        return;
    kill(*pid, SIGTERM);
    for (int i = 0; i < 100 && kill(*pid, 0) == 0; i++)
        usleep(50000);
    if (kill(*pid, 0) == 0)
        kill(*pid, SIGKILL);
    *pid = 0;
}

static void show_log(const char *name)
{
    cleanup_free char *cmd = xasprintf("tail -n 60 %s/%s 2>/dev/null", E.dir, name);
    printf("---- %s (last lines)\n", name);
    fflush(stdout);
    if (system(cmd) != 0)
        printf("(none)\n");
}

static void teardown(void *arg)
{
    (void)arg;
    stop_pid(&E.kubelet);
    stop_pid(&E.server);
    stop_foreign(&E.containerd2);
    show_log("kubelet.log");
    show_log("server.log");
    cleanup_error kn_error *err = NULL;
    if (tb_cluster_down(&E.tb, &err) < 0)
        fprintf(stderr, "testbed teardown: %s\n", kn_error_msg(err));
}

static char *kubectl(int *status, const char *args)
{
    return capture(status, "ip netns exec %s kubectl --kubeconfig %s %s", E.nd->netns, E.kubeconfig,
                   args);
}

static void kubectl_ok(const char *args)
{
    int st = 0;
    cleanup_free char *out = kubectl(&st, args);
    KT_ASSERT_MSG(st == 0, "kubectl %s: %s", args, out);
}

/* Polls `kubectl args` until its output contains want. */
static void wait_output(const char *args, const char *want, const char *what)
{
    time_t end = time(NULL) + WAIT_S;
    for (;;) {
        cleanup_free char *out = kubectl(NULL, args);
        if (strstr(out, want))
            return;
        KT_ASSERT_MSG(time(NULL) < end, "%s: kubectl %s gave \"%s\", want \"%s\"", what, args, out,
                      want);
        usleep(500000);
    }
}

static void start_server(void)
{
    cleanup_free char *knode = knode_path();
    cleanup_free char *log = xasprintf("%s/server.log", E.dir);
    char port[16];
    snprintf(port, sizeof(port), "%d", E.port);
    char *argv[] = {knode,       "server",        "--data-dir", E.data, "--bind-address",
                    "127.0.0.1", "--secure-port", port,         NULL};
    E.server = spawn_in(E.nd->netns, log, argv);
    time_t end = time(NULL) + 60;
    for (;;) {
        cleanup_free char *out =
            capture(NULL,
                    "ip netns exec %s curl -sk --cert %s/admin.crt --key %s/admin.key "
                    "https://127.0.0.1:%d/readyz",
                    E.nd->netns, E.data, E.data, E.port);
        if (strcmp(out, "ok") == 0)
            return;
        KT_ASSERT_MSG(time(NULL) < end, "knode server not ready: %s", out);
        usleep(100000);
    }
}

/* `knode kubelet`, or `knode agent` (agent: with proxy and DNS). */
static void start_kubelet(bool agent)
{
    cleanup_free char *knode = knode_path();
    cleanup_free char *log = xasprintf("%s/kubelet.log", E.dir);
    cleanup_free char *root = xasprintf("%s/kubelet", E.dir);
    cleanup_free char *logs = xasprintf("%s/pod-logs", E.dir);
    cleanup_free char *manifests = xasprintf("%s/manifests", E.dir);
    cleanup_free char *cgroot = xstrdup(E.nd->cgroup_parent);
    *strrchr(cgroot, '/') = '\0'; /* the testbed's parent is <root>/kubepods */
    char *argv[] = {knode,
                    agent ? "agent" : "kubelet",
                    "--kubeconfig",
                    E.kubeconfig,
                    "--container-runtime-endpoint",
                    E.nd->endpoint,
                    "--hostname-override",
                    NODE,
                    "--node-ip",
                    E.nd->node_ip,
                    "--root-dir",
                    root,
                    "--pod-logs-dir",
                    logs,
                    "--cgroup-root",
                    cgroot,
                    "--node-labels",
                    "knode.test/role=worker",
                    "--node-status-update-frequency",
                    "2s",
                    "--pod-manifest-path",
                    manifests,
                    "--dns-health-address",
                    "127.0.0.1:18081",
                    "--healthz-bind-address",
                    "127.0.0.1:10256",
                    NULL,
                    NULL};
    if (!agent) /* the last flags are the agent's */
        argv[sizeof(argv) / sizeof(argv[0]) - 6] = NULL;
    E.kubelet = spawn_in(E.nd->netns, log, argv);
}

static const char STATIC_POD[] = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: static-web\n"
                                 "  namespace: default\nspec:\n  containers:\n  - name: httpd\n"
                                 "    image: localhost/busybox:1.35\n"
                                 "    imagePullPolicy: Never\n"
                                 "    command: [httpd, -f, -p, \"8081\", -h, /www]\n";

static void write_static_pod(void)
{
    cleanup_free char *dir = xasprintf("%s/manifests", E.dir);
    KT_ASSERT(mkdir(dir, 0755) == 0);
    cleanup_free char *path = xasprintf("%s/web.yaml", dir);
    FILE *f = fopen(path, "w");
    KT_ASSERT(f && fputs(STATIC_POD, f) >= 0 && fclose(f) == 0);
}

static void setup(bool agent)
{
    if (geteuid() != 0)
        KT_SKIP("needs root (testbed)");
    char why[256];
    if (!tb_available(why, sizeof(why)))
        KT_SKIP("%s", why);
    if (system("command -v kubectl >/dev/null && command -v curl >/dev/null") != 0)
        KT_SKIP("needs kubectl and curl");
    memset(&E, 0, sizeof(E));
    snprintf(E.dir, sizeof(E.dir), "%s", kt_tmpdir());
    snprintf(E.data, sizeof(E.data), "%s/data", E.dir);
    snprintf(E.kubeconfig, sizeof(E.kubeconfig), "%s/admin.kubeconfig", E.data);
    E.port = free_port();
    cleanup_error kn_error *err = NULL;
    KT_ASSERT_OK(tb_cluster_up(&E.tb, 1, &err), err);
    E.nd = &E.tb.nodes[0];
    kt_on_cleanup(teardown, NULL);
    write_static_pod();
    start_server();
    if (agent) {
        /* the cluster DNS address the agent serves on */
        cleanup_free char *o = NULL;
        KT_ASSERT_OK(tb_sh(E.nd->netns, "ip addr add 10.96.0.10/32 dev lo", 10, &o, &err), err);
    }
    start_kubelet(agent);
}

static void check_node(void)
{
    wait_output("get node " NODE " -o name", "node/" NODE, "node registered");
    cleanup_free char *patch =
        xasprintf("patch node " NODE " -p '{\"spec\":{\"podCIDR\":\"%s\",\"podCIDRs\":[\"%s\"]}}'",
                  E.nd->pod_cidr, E.nd->pod_cidr);
    kubectl_ok(patch);
    wait_output("get node " NODE " -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].status}'",
                "True", "node Ready");
    cleanup_free char *info =
        kubectl(NULL, "get node " NODE " -o jsonpath='{.status.nodeInfo.containerRuntimeVersion} "
                      "{.status.nodeInfo.kubeletVersion} {.metadata.labels.knode\\.test/role} "
                      "{.metadata.labels.kubernetes\\.io/hostname} {.status.addresses[0].address} "
                      "{.spec.podCIDR} {.status.capacity.pods}'");
    cleanup_free char *want =
        xasprintf("v1.30.0-knode worker " NODE " %s %s 110", E.nd->node_ip, E.nd->pod_cidr);
    KT_ASSERT_CONTAINS(info, "containerd://");
    KT_ASSERT_CONTAINS(info, want);
    wait_output("-n kube-node-lease get lease " NODE " -o jsonpath='{.spec.holderIdentity} "
                "{.spec.leaseDurationSeconds} {.metadata.ownerReferences[0].kind}'",
                NODE " 40 Node", "node lease owned by the Node");
}

static const char DEPLOYMENT[] = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n"
                                 "  name: web\nspec:\n  replicas: 3\n"
                                 "  selector: {matchLabels: {app: web}}\n"
                                 "  template:\n    metadata: {labels: {app: web}}\n"
                                 "    spec:\n      terminationGracePeriodSeconds: 5\n"
                                 "      containers:\n      - name: httpd\n"
                                 "        image: localhost/busybox:1.35\n"
                                 "        imagePullPolicy: Never\n"
                                 "        command: [httpd, -f, -p, \"8080\", -h, /www]\n";

static const char CRASH[] = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: crash\nspec:\n"
                            "  containers:\n  - name: c\n    image: localhost/busybox:1.35\n"
                            "    imagePullPolicy: Never\n    command: [sh, -c, 'exit 3']\n";

static void apply(const char *name, const char *yaml)
{
    cleanup_free char *path = xasprintf("%s/%s.yaml", E.dir, name);
    FILE *f = fopen(path, "w");
    KT_ASSERT(f && fputs(yaml, f) >= 0 && fclose(f) == 0);
    cleanup_free char *args = xasprintf("apply -f %s", path);
    kubectl_ok(args);
}

/* Number of lines of out containing needle. */
static int count_lines(const char *out, const char *needle)
{
    int n = 0;
    cleanup_free char *copy = xstrdup(out);
    char *save = NULL;
    for (char *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
        n += strstr(l, needle) != NULL;
    return n;
}

static void wait_web_running(void)
{
    cleanup_free char *prefix = xstrdup(E.nd->pod_cidr);
    *strrchr(prefix, '.') = '\0'; /* "10.244.1" */
    cleanup_free char *want = xasprintf("Running %s.", prefix);
    time_t end = time(NULL) + WAIT_S;
    for (;;) {
        cleanup_free char *out =
            kubectl(NULL, "get pods -l app=web -o jsonpath='{range .items[*]}{.metadata.name} "
                          "{.status.phase} {.status.podIP} {.status.containerStatuses[0].ready} "
                          "{.status.containerStatuses[0].state.running.startedAt}{\"\\n\"}{end}'");
        if (count_lines(out, want) == 3 && count_lines(out, " true ") == 3 &&
            count_lines(out, "Terminating") == 0)
            return;
        KT_ASSERT_MSG(time(NULL) < end, "web pods not running: %s", out);
        usleep(500000);
    }
}

static void check_deployment(void)
{
    apply("web", DEPLOYMENT);
    wait_web_running();
    cleanup_free char *names =
        kubectl(NULL, "get pods -l app=web -o jsonpath='{.items[0].metadata.name}'");
    cleanup_free char *cs = NULL;
    {
        cleanup_free char *args = xasprintf(
            "get pod %s -o jsonpath='{.status.containerStatuses[0].name} "
            "{.status.containerStatuses[0].image} {.status.containerStatuses[0].restartCount} "
            "{.status.containerStatuses[0].containerID} {.status.qosClass} {.status.hostIP}'",
            names);
        cs = kubectl(NULL, args);
    }
    KT_ASSERT_CONTAINS(cs, "httpd localhost/busybox:1.35 0 containerd://");
    KT_ASSERT_CONTAINS(cs, E.nd->node_ip);
    KT_ASSERT_CONTAINS(cs, "BestEffort");
    /* the pod serves: fetch its page from the node netns */
    cleanup_free char *args = xasprintf("get pod %s -o jsonpath='{.status.podIP}'", names);
    cleanup_free char *ip = kubectl(NULL, args);
    cleanup_free char *page =
        capture(NULL, "ip netns exec %s curl -s --max-time 10 http://%s:8080/", E.nd->netns, ip);
    KT_ASSERT_CONTAINS(page, "hello-from-busybox");
    /* graceful deletion: kubectl waits until the kubelet confirmed it */
    cleanup_free char *del = xasprintf("delete pod %s --timeout=90s", names);
    kubectl_ok(del);
    cleanup_free char *get = xasprintf("get pod %s", names);
    int st = 0;
    cleanup_free char *gone = kubectl(&st, get);
    KT_ASSERT_MSG(st != 0 && strstr(gone, "NotFound"), "pod still there: %s", gone);
    wait_web_running(); /* the ReplicaSet's replacement runs */
}

/* The static pod's mirror: created Running, recreated after a delete, gone
 * with the manifest. */
static void check_mirror_pod(void)
{
    const char *get = "get pod static-web-" NODE " -o jsonpath='{.status.phase} "
                      "{.metadata.annotations.kubernetes\\.io/config\\.mirror}'";
    wait_output(get, "Running ", "mirror pod running");
    cleanup_free char *uid1 =
        kubectl(NULL, "get pod static-web-" NODE " -o jsonpath='{.metadata.uid}'");
    kubectl_ok("delete pod static-web-" NODE " --wait=false");
    time_t end = time(NULL) + WAIT_S;
    for (;;) {
        cleanup_free char *uid2 =
            kubectl(NULL, "get pod static-web-" NODE " -o jsonpath='{.metadata.uid}'");
        if (strcmp(uid1, uid2) != 0 && !strstr(uid2, "NotFound") && uid2[0])
            break;
        KT_ASSERT_MSG(time(NULL) < end, "mirror pod not recreated: %s", uid2);
        usleep(500000);
    }
    wait_output(get, "Running ", "recreated mirror pod running");
    cleanup_free char *path = xasprintf("%s/manifests/web.yaml", E.dir);
    KT_ASSERT(unlink(path) == 0);
    wait_output("get pod static-web-" NODE, "NotFound", "mirror pod deleted with its manifest");
}

static void check_crashloop(void)
{
    apply("crash", CRASH);
    wait_output("get pod crash -o jsonpath='{.status.containerStatuses[0].state.waiting.reason} "
                "{.status.containerStatuses[0].lastState.terminated.exitCode}'",
                "CrashLoopBackOff 3", "crash pod in CrashLoopBackOff");
}

static void restart_containerd(void)
{
    cleanup_free char *cmd =
        xasprintf("containerd --config %s/containerd.toml >>%s/containerd.log 2>&1 & echo $!",
                  E.nd->dir, E.nd->dir);
    cleanup_free char *out = NULL;
    cleanup_error kn_error *err = NULL;
    KT_ASSERT_OK(tb_sh(E.nd->netns, cmd, 30, &out, &err), err);
    E.containerd2 = atoi(out);
    KT_ASSERT_MSG(E.containerd2 > 0, "containerd pid: %s", out);
}

static void check_runtime_down(void)
{
    KT_ASSERT(E.nd->containerd_pid > 0);
    KT_ASSERT(kill(E.nd->containerd_pid, SIGKILL) == 0);
    wait_output("get node " NODE " -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].status} "
                "{.status.conditions[?(@.type==\"Ready\")].message}'",
                "False container runtime is down", "node NotReady without containerd");
    restart_containerd();
    wait_output("get node " NODE " -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].status}'",
                "True", "node Ready again");
}

KT_TEST_TIMEOUT(agent, kubelet_runs_a_deployment, 900)
{
    setup(false);
    check_node();
    check_deployment();
    check_mirror_pod();
    check_crashloop();
    check_runtime_down();
    /* a clean SIGTERM exit */
    KT_ASSERT(kill(E.kubelet, SIGTERM) == 0);
    int st = 0;
    KT_ASSERT(waitpid(E.kubelet, &st, 0) == E.kubelet);
    E.kubelet = 0;
    KT_ASSERT_MSG(WIFEXITED(st) && WEXITSTATUS(st) == 0, "kubelet exit status %d", st);
}

static const char LOOKUP[] = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: lookup\nspec:\n"
                             "  restartPolicy: Never\n  containers:\n  - name: c\n"
                             "    image: localhost/busybox:1.35\n    imagePullPolicy: Never\n"
                             "    command: [nslookup, web.default.svc.cluster.local]\n";

static const char SERVICE[] =
    "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n"
    "  selector: {app: web}\n  ports:\n  - {port: 80, targetPort: 8080}\n";

/* knode agent: the kubelet plus the Service proxy and DNS on one client. */
KT_TEST_TIMEOUT(agent, agent_serves_services_and_dns, 900)
{
    setup(true);
    check_node();
    apply("web", DEPLOYMENT);
    apply("svc", SERVICE);
    wait_web_running();
    cleanup_free char *ip = kubectl(NULL, "get svc web -o jsonpath='{.spec.clusterIP}'");
    time_t end = time(NULL) + WAIT_S;
    for (;;) {
        cleanup_free char *page =
            capture(NULL, "ip netns exec %s curl -s --max-time 5 http://%s/", E.nd->netns, ip);
        if (strstr(page, "hello-from-busybox"))
            break;
        KT_ASSERT_MSG(time(NULL) < end, "service %s: %s", ip, page);
        usleep(500000);
    }
    apply("lookup", LOOKUP);
    wait_output("get pod lookup -o jsonpath='{.status.phase} "
                "{.status.containerStatuses[0].state.terminated.exitCode}'",
                "Succeeded 0", "a pod resolved the Service name through the agent's DNS");
    KT_ASSERT(kill(E.kubelet, SIGTERM) == 0);
    int st = 0;
    KT_ASSERT(waitpid(E.kubelet, &st, 0) == E.kubelet);
    E.kubelet = 0;
    KT_ASSERT_MSG(WIFEXITED(st) && WEXITSTATUS(st) == 0, "agent exit status %d", st);
}

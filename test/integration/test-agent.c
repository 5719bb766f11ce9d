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
 * a new containerd makes it Ready again. The set-up (testbed, server,
 * agent processes, teardown) is test-agent-env.c's. KT_VERBOSE=1 shows
 * every kubectl call. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/strbuf.h"
#include "lib/xalloc.h"
#include "test/integration/test-agent-env.h"
#include "test/runner/kt.h"

#define NODE "nodea"

static const char STATIC_POD[] = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: static-web\n"
                                 "  namespace: default\nspec:\n  containers:\n  - name: httpd\n"
                                 "    image: localhost/busybox:1.35\n"
                                 "    imagePullPolicy: Never\n"
                                 "    command: [httpd, -f, -p, \"8081\", -h, /www]\n";

static void write_static_pod(void)
{
    cleanup_free char *dir = xasprintf("%s/manifests", AE.dir);
    KT_ASSERT(mkdir(dir, 0755) == 0);
    cleanup_free char *path = xasprintf("%s/web.yaml", dir);
    FILE *f = fopen(path, "w");
    KT_ASSERT(f && fputs(STATIC_POD, f) >= 0 && fclose(f) == 0);
}

/* more: further flags (NULL-terminated, may be NULL). */
static void setup(bool agent, char *const *more)
{
    ae_setup(1, false);
    write_static_pod();
    cleanup_free char *manifests = xasprintf("%s/manifests", AE.dir);
    char *extra[32] = {"--kubeconfig", AE.kubeconfig, "--pod-manifest-path", manifests};
    for (size_t i = 0, n = 4; more && more[i] && n < 31; i++)
        extra[n++] = more[i];
    ae_start_agent(0, agent ? "agent" : "kubelet", extra);
}

static void check_node(void)
{
    ae_node_ready(0);
    cleanup_free char *info = ae_kubectl(
        NULL, "get node " NODE " -o jsonpath='{.status.nodeInfo.containerRuntimeVersion} "
              "{.status.nodeInfo.kubeletVersion} {.metadata.labels.knode\\.test/role} "
              "{.metadata.labels.kubernetes\\.io/hostname} {.status.addresses[0].address} "
              "{.spec.podCIDR} {.status.capacity.pods}'");
    cleanup_free char *want = xasprintf("v1.30.0-knode worker " NODE " %s %s 110",
                                        AE.tb.nodes[0].node_ip, AE.tb.nodes[0].pod_cidr);
    KT_ASSERT_CONTAINS(info, "containerd://");
    KT_ASSERT_CONTAINS(info, want);
    ae_wait_output("-n kube-node-lease get lease " NODE " -o jsonpath='{.spec.holderIdentity} "
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

static void wait_web_running(void)
{
    cleanup_free char *prefix = xstrdup(AE.tb.nodes[0].pod_cidr);
    *strrchr(prefix, '.') = '\0'; /* "10.244.1" */
    cleanup_free char *want = xasprintf("Running %s.", prefix);
    time_t end = time(NULL) + AE_WAIT_S;
    for (;;) {
        cleanup_free char *out = ae_kubectl(
            NULL, "get pods -l app=web -o jsonpath='{range .items[*]}{.metadata.name} "
                  "{.status.phase} {.status.podIP} {.status.containerStatuses[0].ready} "
                  "{.status.containerStatuses[0].state.running.startedAt}{\"\\n\"}{end}'");
        if (ae_count_lines(out, want) == 3 && ae_count_lines(out, " true ") == 3 &&
            ae_count_lines(out, "Terminating") == 0)
            return;
        KT_ASSERT_MSG(time(NULL) < end, "web pods not running: %s", out);
        usleep(500000);
    }
}

static void check_deployment(void)
{
    ae_apply("web", DEPLOYMENT);
    wait_web_running();
    cleanup_free char *names =
        ae_kubectl(NULL, "get pods -l app=web -o jsonpath='{.items[0].metadata.name}'");
    cleanup_free char *cs = NULL;
    {
        cleanup_free char *args = xasprintf(
            "get pod %s -o jsonpath='{.status.containerStatuses[0].name} "
            "{.status.containerStatuses[0].image} {.status.containerStatuses[0].restartCount} "
            "{.status.containerStatuses[0].containerID} {.status.qosClass} {.status.hostIP}'",
            names);
        cs = ae_kubectl(NULL, args);
    }
    KT_ASSERT_CONTAINS(cs, "httpd localhost/busybox:1.35 0 containerd://");
    KT_ASSERT_CONTAINS(cs, AE.tb.nodes[0].node_ip);
    KT_ASSERT_CONTAINS(cs, "BestEffort");
    /* the pod serves: fetch its page from the node netns */
    cleanup_free char *args = xasprintf("get pod %s -o jsonpath='{.status.podIP}'", names);
    cleanup_free char *ip = ae_kubectl(NULL, args);
    cleanup_free char *page = ae_capture(
        NULL, "ip netns exec %s curl -s --max-time 10 http://%s:8080/", AE.tb.nodes[0].netns, ip);
    KT_ASSERT_CONTAINS(page, "hello-from-busybox");
    /* graceful deletion: kubectl waits until the kubelet confirmed it */
    cleanup_free char *del = xasprintf("delete pod %s --timeout=90s", names);
    ae_kubectl_ok(del);
    cleanup_free char *get = xasprintf("get pod %s", names);
    int st = 0;
    cleanup_free char *gone = ae_kubectl(&st, get);
    KT_ASSERT_MSG(st != 0 && strstr(gone, "NotFound"), "pod still there: %s", gone);
    wait_web_running(); /* the ReplicaSet's replacement runs */
}

/* The static pod's mirror: created Running, recreated after a delete, gone
 * with the manifest. */
static void check_mirror_pod(void)
{
    const char *get = "get pod static-web-" NODE " -o jsonpath='{.status.phase} "
                      "{.metadata.annotations.kubernetes\\.io/config\\.mirror}'";
    ae_wait_output(get, "Running ", "mirror pod running");
    cleanup_free char *uid1 =
        ae_kubectl(NULL, "get pod static-web-" NODE " -o jsonpath='{.metadata.uid}'");
    ae_kubectl_ok("delete pod static-web-" NODE " --wait=false");
    time_t end = time(NULL) + AE_WAIT_S;
    for (;;) {
        cleanup_free char *uid2 =
            ae_kubectl(NULL, "get pod static-web-" NODE " -o jsonpath='{.metadata.uid}'");
        if (strcmp(uid1, uid2) != 0 && !strstr(uid2, "NotFound") && uid2[0])
            break;
        KT_ASSERT_MSG(time(NULL) < end, "mirror pod not recreated: %s", uid2);
        usleep(500000);
    }
    ae_wait_output(get, "Running ", "recreated mirror pod running");
    cleanup_free char *path = xasprintf("%s/manifests/web.yaml", AE.dir);
    KT_ASSERT(unlink(path) == 0);
    ae_wait_output("get pod static-web-" NODE, "NotFound", "mirror pod deleted with its manifest");
}

static void check_crashloop(void)
{
    ae_apply("crash", CRASH);
    ae_wait_output("get pod crash -o jsonpath='{.status.containerStatuses[0].state.waiting.reason} "
                   "{.status.containerStatuses[0].lastState.terminated.exitCode}'",
                   "CrashLoopBackOff 3", "crash pod in CrashLoopBackOff");
}

static void restart_containerd(void)
{
    cleanup_free char *cmd =
        xasprintf("containerd --config %s/containerd.toml >>%s/containerd.log 2>&1 & echo $!",
                  AE.tb.nodes[0].dir, AE.tb.nodes[0].dir);
    cleanup_free char *out = NULL;
    cleanup_error kn_error *err = NULL;
    KT_ASSERT_OK(tb_sh(AE.tb.nodes[0].netns, cmd, 30, &out, &err), err);
    AE.containerd2 = atoi(out);
    KT_ASSERT_MSG(AE.containerd2 > 0, "containerd pid: %s", out);
}

static void check_runtime_down(void)
{
    KT_ASSERT(AE.tb.nodes[0].containerd_pid > 0);
    KT_ASSERT(kill(AE.tb.nodes[0].containerd_pid, SIGKILL) == 0);
    ae_wait_output("get node " NODE
                   " -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].status} "
                   "{.status.conditions[?(@.type==\"Ready\")].message}'",
                   "False container runtime is down", "node NotReady without containerd");
    restart_containerd();
    ae_wait_output("get node " NODE
                   " -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].status}'",
                   "True", "node Ready again");
}

KT_TEST_TIMEOUT(agent, kubelet_runs_a_deployment, 900)
{
    setup(false, NULL);
    check_node();
    check_deployment();
    check_mirror_pod();
    check_crashloop();
    check_runtime_down();
    /* a clean SIGTERM exit */
    KT_ASSERT(kill(AE.agent[0], SIGTERM) == 0);
    int st = 0;
    KT_ASSERT(waitpid(AE.agent[0], &st, 0) == AE.agent[0]);
    AE.agent[0] = 0;
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
    setup(true, NULL);
    check_node();
    ae_apply("web", DEPLOYMENT);
    ae_apply("svc", SERVICE);
    wait_web_running();
    cleanup_free char *ip = ae_kubectl(NULL, "get svc web -o jsonpath='{.spec.clusterIP}'");
    time_t end = time(NULL) + AE_WAIT_S;
    for (;;) {
        cleanup_free char *page = ae_capture(
            NULL, "ip netns exec %s curl -s --max-time 5 http://%s/", AE.tb.nodes[0].netns, ip);
        if (strstr(page, "hello-from-busybox"))
            break;
        KT_ASSERT_MSG(time(NULL) < end, "service %s: %s", ip, page);
        usleep(500000);
    }
    ae_apply("lookup", LOOKUP);
    ae_wait_output("get pod lookup -o jsonpath='{.status.phase} "
                   "{.status.containerStatuses[0].state.terminated.exitCode}'",
                   "Succeeded 0", "a pod resolved the Service name through the agent's DNS");
    KT_ASSERT(kill(AE.agent[0], SIGTERM) == 0);
    int st = 0;
    KT_ASSERT(waitpid(AE.agent[0], &st, 0) == AE.agent[0]);
    AE.agent[0] = 0;
    KT_ASSERT_MSG(WIFEXITED(st) && WEXITSTATUS(st) == 0, "agent exit status %d", st);
}

/* ---- kubectl logs ------------------------------------------------------------------------ */

#define KUBECTL_DIR AE_KUBECTL_DIR

static const char LOG_PODS[] =
    "apiVersion: v1\nkind: Pod\nmetadata:\n  name: hello\nspec:\n  containers:\n"
    "  - name: c\n    image: localhost/busybox:1.35\n    imagePullPolicy: Never\n"
    "    command: [sh, -c, 'echo one; echo two; echo three; sleep 3600']\n"
    "---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: multi\nspec:\n"
    "  terminationGracePeriodSeconds: 1\n  containers:\n"
    "  - name: a\n    image: localhost/busybox:1.35\n    imagePullPolicy: Never\n"
    "    command: [sh, -c, 'echo from-a; sleep 3600']\n"
    "  - name: b\n    image: localhost/busybox:1.35\n    imagePullPolicy: Never\n"
    "    command: [sh, -c, 'echo from-b; sleep 3600']\n"
    "---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: ticker\nspec:\n"
    "  terminationGracePeriodSeconds: 1\n  containers:\n"
    "  - name: c\n    image: localhost/busybox:1.35\n    imagePullPolicy: Never\n"
    "    command: [sh, -c, 'i=0; while true; do i=$((i+1)); echo tick-$i; sleep 1; done']\n"
    "---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: restarter\nspec:\n"
    "  containers:\n  - name: c\n    image: localhost/busybox:1.35\n"
    "    imagePullPolicy: Never\n    command: [sh, -c, 'echo boot-$RANDOM; sleep 2; exit 1']\n"
    "---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: flood\nspec:\n"
    "  terminationGracePeriodSeconds: 1\n  containers:\n"
    "  - name: c\n    image: localhost/busybox:1.35\n    imagePullPolicy: Never\n"
    "    command: [sh, -c, 'i=0; while [ $i -lt 40 ]; do j=0; while [ $j -lt 100 ]; do "
    "echo flood-$i-$j-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx; j=$((j+1)); done; "
    "i=$((i+1)); sleep 0.2; done; echo flood-done; "
    "while true; do i=$((i+1)); echo after-$i; sleep 0.5; done']\n";

#define ASSERT_LOGS(version, args, want)                                                           \
    do {                                                                                           \
        int st_ = 0;                                                                               \
        cleanup_free char *out_ = ae_kubectl_v(version, &st_, args);                               \
        KT_ASSERT_MSG(st_ == 0 && strcmp(out_, want) == 0,                                         \
                      "kubectl %s %s: exit %d, \"%s\", want \"%s\"", version, args, st_, out_,     \
                      want);                                                                       \
    } while (0)

static void logs_basic(const char *v)
{
    ASSERT_LOGS(v, "logs hello", "one\ntwo\nthree\n");
    ASSERT_LOGS(v, "logs hello --tail=2", "two\nthree\n");
    ASSERT_LOGS(v, "logs hello --limit-bytes=6", "one\ntw");
    ASSERT_LOGS(v, "logs pod/multi -c b", "from-b\n");
    cleanup_free char *ts = ae_kubectl_v(v, NULL, "logs hello --timestamps --tail=1");
    /* "2024-01-02T03:04:05.123456789Z three" (containerd's RFC 3339 nano, UTC) */
    KT_ASSERT_MSG(strlen(ts) > 22 && ts[4] == '-' && ts[10] == 'T' && strstr(ts, "Z three\n") &&
                      strchr(ts, '\n') == ts + strlen(ts) - 1,
                  "kubectl %s logs --timestamps: \"%s\"", v, ts);
    int st = 0;
    cleanup_free char *bad = ae_kubectl_v(v, &st, "logs multi -c nope");
    KT_ASSERT_MSG(st != 0 && strstr(bad, "container nope is not valid for pod multi"),
                  "unknown container: %s", bad);
}

/* kubectl logs -f: a line printed after the call started arrives; then
 * kubectl is stopped. */
static void logs_follow(const char *v)
{
    int fds[2];
    KT_ASSERT(pipe(fds) == 0);
    pid_t pid = fork();
    KT_ASSERT(pid >= 0);
    if (pid == 0) {
        dup2(fds[1], 1);
        dup2(fds[1], 2);
        close(fds[0]);
        char path[128];
        snprintf(path, sizeof(path), KUBECTL_DIR "/kubectl.%s", v);
        execlp("ip", "ip", "netns", "exec", AE.tb.nodes[0].netns, path, "--kubeconfig",
               AE.kubeconfig, "logs", "-f", "--tail=1", "ticker", NULL);
        _exit(127);
    }
    close(fds[1]);
    kn_buf b = KN_BUF_INIT;
    int first = -1, later = -1;
    char chunk[256];
    while (later < 0) {
        ssize_t n = read(fds[0], chunk, sizeof(chunk));
        KT_ASSERT_MSG(n > 0, "kubectl %s logs -f ended: \"%s\"", v, b.data);
        kn_buf_append(&b, chunk, (size_t)n);
        const char *p = b.data;
        int last = -1;
        for (const char *t = strstr(p, "tick-"); t; t = strstr(t + 1, "tick-"))
            if (strchr(t, '\n'))
                last = atoi(t + 5);
        if (first < 0 && last >= 0)
            first = last;
        else if (last > first)
            later = last;
    }
    KT_ASSERT_MSG(later == first + 1, "kubectl %s logs -f: \"%s\"", v, b.data);
    kn_buf_free(&b);
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
    close(fds[0]);
    /* the API server notices and closes its stream from the kubelet */
    time_t end = time(NULL) + AE_WAIT_S;
    for (;;) {
        cleanup_free char *conns =
            ae_capture(NULL, "ip netns exec %s ss -Htn state established '( sport = :10250 )'",
                       AE.tb.nodes[0].netns);
        if (!strstr(conns, ":10250"))
            break;
        KT_ASSERT_MSG(time(NULL) < end, "kubelet stream still open: %s", conns);
        usleep(200000);
    }
}

static void logs_errors(void)
{
    int st = 0;
    cleanup_free char *raw =
        ae_kubectl_v("1.33", &st, "get --raw /api/v1/namespaces/default/pods/multi/log");
    KT_ASSERT_MSG(st != 0 && strstr(raw, "a container name must be specified for pod multi, "
                                         "choose one of: [a b]"),
                  "no container: %s", raw);
    cleanup_free char *neg = ae_kubectl_v(
        "1.33", &st, "get --raw '/api/v1/namespaces/default/pods/hello/log?tailLines=-1'");
    KT_ASSERT_MSG(st != 0 && strstr(neg, "must be greater than or equal to 0"), "tailLines: %s",
                  neg);
    /* straight to the kubelet: no client certificate, 401; the admin's is fine */
    cleanup_free char *anon = ae_capture(NULL,
                                         "ip netns exec %s curl -sk -w ' %%{http_code}' "
                                         "https://%s:10250/pods",
                                         AE.tb.nodes[0].netns, AE.tb.nodes[0].node_ip);
    KT_ASSERT_MSG(strstr(anon, "Unauthorized") && strstr(anon, " 401"), "anonymous: %s", anon);
    cleanup_free char *admin =
        ae_capture(NULL,
                   "ip netns exec %s curl -sk --cert %s/admin.crt --key "
                   "%s/admin.key https://%s:10250/pods",
                   AE.tb.nodes[0].netns, AE.data, AE.data, AE.tb.nodes[0].node_ip);
    KT_ASSERT_MSG(strstr(admin, "\"PodList\"") && strstr(admin, "\"hello\""), "admin: %s", admin);
}

static void logs_previous(void)
{
    int st = 0;
    ae_wait_output("get pod restarter -o jsonpath='{.status.containerStatuses[0].restartCount}'",
                   "1", "restarter restarted");
    for (size_t i = 0; i < 2; i++) {
        const char *v = i ? "1.33" : "1.27";
        cleanup_free char *prev = ae_kubectl_v(v, &st, "logs restarter --previous");
        KT_ASSERT_MSG(st == 0 && strncmp(prev, "boot-", 5) == 0, "kubectl %s --previous: %s", v,
                      prev);
    }
    cleanup_free char *none = ae_kubectl_v("1.33", &st, "logs hello --previous");
    KT_ASSERT_MSG(st != 0 && strstr(none, "previous terminated container \"c\" in pod \"hello\" "
                                          "not found"),
                  "--previous without a restart: %s", none);
}

/* The flood pod's log was rotated (at most 3 files kept) and what is
 * served (the current file, as upstream) reads whole: a rotation after the
 * flood may have moved every flood line away, so the slow "after" lines
 * that follow it are what must show. */
static void logs_rotated(void)
{
    ae_wait_output("logs flood --tail=1", "after-", "flood finished, log served after rotation");
    cleanup_free char *files =
        ae_capture(NULL, "ls %s/pod-logs-" NODE "/default_flood_*/c/ | sort", AE.dir);
    KT_ASSERT_MSG(strstr(files, "0.log\n0.log.") && ae_count_lines(files, "0.log") <= 3,
                  "rotated files: %s", files);
    /* a rotation may just have emptied the current file: ask until what is
     * served holds an after line again, then check that very answer */
    char *out = NULL;
    for (int i = 0; i < AE_WAIT_S && !(out && strstr(out, "after-")); i++) {
        if (out)
            sleep(1);
        free(out);
        out = ae_kubectl(NULL, "logs flood");
    }
    KT_ASSERT_CONTAINS(out, "after-");
    /* no broken line: each is a whole flood line, the marker or an after line */
    char *save = NULL;
    for (char *l = strtok_r(out, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        int i, j, n = 0;
        bool whole = strcmp(l, "flood-done") == 0 || sscanf(l, "after-%d%n", &i, &n) == 1 ||
                     (sscanf(l, "flood-%d-%d-%n", &i, &j, &n) == 2 && strlen(l + n) == 40 &&
                      strspn(l + n, "x") == 40);
        KT_ASSERT_MSG(whole && (l[0] == 'f' || l[n] == '\0'), "broken line \"%s\"", l);
    }
    free(out);
}

KT_TEST_TIMEOUT(agent, kubectl_logs, 600)
{
    static char *extra[] = {"--container-log-max-size",
                            "16Ki",
                            "--container-log-max-files",
                            "3",
                            "--container-log-monitor-interval",
                            "1s",
                            NULL};
    setup(false, extra);
    for (size_t i = 0; i < 2; i++) {
        cleanup_free char *p = xasprintf(KUBECTL_DIR "/kubectl.%s", i ? "1.33" : "1.27");
        if (access(p, X_OK) != 0)
            KT_SKIP("no %s", p);
    }
    check_node();
    ae_apply("logpods", LOG_PODS);
    ae_wait_output("get pods -o jsonpath='{range .items[*]}{.metadata.name}={.status.phase} {end}'",
                   "hello=Running multi=Running", "log pods running");
    ae_wait_output("logs hello", "three", "hello printed");
    ae_wait_output("logs multi -c b", "from-b", "multi printed");
    logs_basic("1.27");
    logs_basic("1.33");
    ae_wait_output("logs ticker", "tick-", "ticker ticks");
    logs_follow("1.27");
    logs_follow("1.33");
    logs_errors();
    logs_previous();
    logs_rotated();
}

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

static void setup(bool agent)
{
    ae_setup(1, false);
    write_static_pod();
    cleanup_free char *manifests = xasprintf("%s/manifests", AE.dir);
    char *extra[] = {"--kubeconfig", AE.kubeconfig, "--pod-manifest-path", manifests, NULL};
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
    setup(false);
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
    setup(true);
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

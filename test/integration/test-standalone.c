/* test-standalone.c - `knode standalone` as `make run` starts it: in a
 * network namespace of the test's own (lo with the DNS address 10.96.0.10,
 * a veth uplink with the node IP and the default route), in a private mount
 * namespace with the cgroup hierarchies (tb_sh), with its own supervised
 * containerd and --manage-cni. Driven by kubectl: the Node is Ready with the
 * podCIDR from --cluster-cidr, the CNI conflist is written, a Deployment
 * runs and answers through its Service VIP (knode proxy) and a pod resolves
 * the Service's name (knode dns) and `kubectl logs` shows what it printed;
 * containerd killed by PID is restarted by standalone and the node is Ready
 * again; SIGTERM stops knode cleanly.
 * Everything left in the namespace (shims, pods) is stopped by PID, the
 * namespace, shim sockets and cgroups removed, also on failure. */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/strbuf.h"
#include "lib/xalloc.h"
#include "test/harness/testbed.h"
#include "test/runner/kt.h"

#define NODE_IP "10.250.254.1"
#define WAIT_S 180

typedef struct env {
    char netns[64];
    char dir[300];
    char data[340];
    char kubeconfig[380];
    char cgroot[64];
    pid_t knode;
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

static bool alive(pid_t pid)
{
    char path[64], state = 0;
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    int ok = fscanf(f, "%*d %*s %c", &state);
    fclose(f);
    return ok == 1 && state != 'Z';
}

/* PIDs of the processes in our netns (all started by this test). */
static void kill_netns_pids(int sig)
{
    cleanup_free char *out = capture(NULL, "ip netns pids %s", E.netns);
    char *save = NULL;
    for (char *t = strtok_r(out, "\n", &save); t; t = strtok_r(NULL, "\n", &save))
        if (atoi(t) > 0)
            kill(atoi(t), sig);
}

static void teardown(void *arg)
{
    (void)arg;
    if (E.knode > 0 && alive(E.knode)) {
        kill(E.knode, SIGTERM);
        for (int i = 0; i < 100 && alive(E.knode); i++)
            usleep(100000);
    }
    cleanup_free char *tail = capture(NULL, "tail -n 60 %s/knode.log", E.dir);
    printf("---- knode.log (last lines)\n%s\n", tail);
    if (!E.netns[0])
        return;
    kill_netns_pids(SIGTERM);
    sleep(1);
    kill_netns_pids(SIGKILL);
    sleep(1);
    cleanup_free char *o1 = capture(NULL, "ip netns del %s", E.netns);
    cleanup_free char *o2 =
        capture(NULL,
                "for a in %s/containerd/state/io.containerd.runtime.v2.task/*/*/address; do "
                "[ -f \"$a\" ] || continue; s=$(sed 's|^unix://||' \"$a\"); "
                "case \"$s\" in /run/containerd/s/*) rm -f \"$s\";; esac; done",
                E.data);
    /* the pods' processes live in their own netns but in our cgroup tree */
    cleanup_free char *o3 =
        capture(NULL,
                "for f in $(find /sys/fs/cgroup/memory/%s -name cgroup.procs 2>/dev/null); do "
                "for p in $(cat $f); do kill -KILL $p; done; done; sleep 1; "
                "for d in /sys/fs/cgroup/*/%s; do [ -d \"$d\" ] && find \"$d\" -depth -type d "
                "-exec rmdir {} \\; ; done; true",
                E.cgroot, E.cgroot);
    E.netns[0] = '\0';
}

static char *kubectl(int *status, const char *args)
{
    return capture(status, "ip netns exec %s kubectl --kubeconfig %s %s", E.netns, E.kubeconfig,
                   args);
}

static void kubectl_ok(const char *args)
{
    int st = 0;
    cleanup_free char *out = kubectl(&st, args);
    KT_ASSERT_MSG(st == 0, "kubectl %s: %s", args, out);
}

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

static void make_netns(void)
{
    snprintf(E.netns, sizeof(E.netns), "kt%d-sa", (int)getpid());
    int st = 0;
    cleanup_free char *out = capture(
        &st,
        "ip netns add %s && ip -n %s link set lo up && ip -n %s addr add 10.96.0.10/32 dev lo && "
        "ip -n %s link add up0 type veth peer name up0p && ip -n %s link set up0p up && "
        "ip -n %s addr add " NODE_IP "/24 dev up0 && ip -n %s link set up0 up && "
        "ip -n %s route add default dev up0 && "
        "ip netns exec %s sh -c 'echo 1 > /proc/sys/net/ipv4/ip_forward'",
        E.netns, E.netns, E.netns, E.netns, E.netns, E.netns, E.netns, E.netns, E.netns);
    KT_ASSERT_MSG(st == 0, "netns setup: %s", out);
}

static void start_standalone(void)
{
    cleanup_free char *knode = kt_beside_self("knode");
    cleanup_free char *cmd =
        xasprintf("%s standalone --data-dir %s --root-dir %s/kubelet --pod-logs-dir %s/pods "
                  "--node-ip " NODE_IP " --hostname-override solo --cgroup-root /%s "
                  "--cluster-cidr 10.244.0.0/16 --dns-health-address 127.0.0.1:18080 "
                  "--node-status-update-frequency 2s >%s/knode.log 2>&1 & echo $!",
                  knode, E.data, E.dir, E.dir, E.cgroot, E.dir);
    cleanup_free char *out = NULL;
    cleanup_error kn_error *err = NULL;
    KT_ASSERT_OK(tb_sh(E.netns, cmd, 30, &out, &err), err);
    E.knode = atoi(out);
    KT_ASSERT_MSG(E.knode > 0, "knode pid: %s", out);
}

static void setup(void)
{
    if (geteuid() != 0)
        KT_SKIP("needs root (netns, containerd)");
    char why[256];
    if (!tb_available(why, sizeof(why)))
        KT_SKIP("%s", why);
    if (system("command -v kubectl >/dev/null && command -v curl >/dev/null") != 0)
        KT_SKIP("needs kubectl and curl");
    memset(&E, 0, sizeof(E));
    /* short paths: containerd's socket lives under the data dir */
    snprintf(E.dir, sizeof(E.dir), "%s", kt_tmpdir());
    snprintf(E.data, sizeof(E.data), "%s/d", E.dir);
    snprintf(E.kubeconfig, sizeof(E.kubeconfig), "%s/admin.kubeconfig", E.data);
    snprintf(E.cgroot, sizeof(E.cgroot), "kt%d-sa", (int)getpid());
    kt_on_cleanup(teardown, NULL);
    /* standalone imports the images next to the knode binary */
    cleanup_free char *images = xasprintf("%s", tb_images_dir());
    cleanup_free char *knode = kt_beside_self("knode");
    cleanup_free char *mine = xasprintf("%.*s/images", (int)(strrchr(knode, '/') - knode), knode);
    KT_ASSERT_MSG(strcmp(images, mine) == 0 || access(mine, F_OK) == 0,
                  "images are not beside knode (%s); run make images", mine);
    make_netns();
    start_standalone();
}

static const char APP[] = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n"
                          "  replicas: 2\n  selector: {matchLabels: {app: web}}\n"
                          "  template:\n    metadata: {labels: {app: web}}\n    spec:\n"
                          "      containers:\n      - name: httpd\n"
                          "        image: localhost/busybox:1.35\n"
                          "        imagePullPolicy: Never\n"
                          "        command: [httpd, -f, -p, \"8080\", -h, /www]\n"
                          "---\napiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n"
                          "  selector: {app: web}\n  ports:\n  - {port: 80, targetPort: 8080}\n";

static const char LOOKUP[] = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: lookup\nspec:\n"
                             "  restartPolicy: Never\n  containers:\n  - name: c\n"
                             "    image: localhost/busybox:1.35\n    imagePullPolicy: Never\n"
                             "    command: [nslookup, web.default.svc.cluster.local]\n";

static const char AFTER[] = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: after\nspec:\n"
                            "  containers:\n  - name: c\n    image: localhost/busybox:1.35\n"
                            "    imagePullPolicy: Never\n    command: [sleep, \"3600\"]\n";

static void apply(const char *name, const char *yaml)
{
    cleanup_free char *path = xasprintf("%s/%s.yaml", E.dir, name);
    FILE *f = fopen(path, "w");
    KT_ASSERT(f && fputs(yaml, f) >= 0 && fclose(f) == 0);
    cleanup_free char *args = xasprintf("apply -f %s", path);
    kubectl_ok(args);
}

static void check_node(void)
{
    wait_output("get node solo -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].status} "
                "{.spec.podCIDR}'",
                "True 10.244.0.0/24", "node Ready with its podCIDR");
    cleanup_free char *conf = capture(NULL, "cat %s/cni/net.d/10-knode.conflist", E.data);
    KT_ASSERT_CONTAINS(conf, "10.244.0.0/24");
    KT_ASSERT_CONTAINS(conf, "\"portmap\"");
}

static void check_service(void)
{
    apply("web", APP);
    wait_output("get pods -l app=web -o jsonpath='{range .items[*]}{.status.phase} {end}'",
                "Running Running", "web pods running");
    cleanup_free char *ip = kubectl(NULL, "get svc web -o jsonpath='{.spec.clusterIP}'");
    time_t end = time(NULL) + 60;
    for (;;) {
        cleanup_free char *page =
            capture(NULL, "ip netns exec %s curl -s --max-time 5 http://%s/", E.netns, ip);
        if (strstr(page, "hello-from-busybox"))
            break;
        KT_ASSERT_MSG(time(NULL) < end, "service %s: %s", ip, page);
        usleep(500000);
    }
    apply("lookup", LOOKUP);
    wait_output("get pod lookup -o jsonpath='{.status.phase} "
                "{.status.containerStatuses[0].state.terminated.exitCode}'",
                "Succeeded 0", "pod resolved the Service name");
    /* kubectl logs: API server -> the node's :10250 -> the CRI log */
    int st = 0;
    cleanup_free char *logs = kubectl(&st, "logs lookup");
    KT_ASSERT_MSG(st == 0 && strstr(logs, "web.default.svc.cluster.local"), "kubectl logs: %s",
                  logs);
}

/* The containerd knode started: a child of knode. */
static pid_t containerd_pid(void)
{
    cleanup_free char *out = capture(NULL, "pgrep -P %d -x containerd", (int)E.knode);
    return atoi(out);
}

static void check_containerd_restart(void)
{
    pid_t old = containerd_pid();
    KT_ASSERT_MSG(old > 0, "no containerd under knode %d", (int)E.knode);
    KT_ASSERT(kill(old, SIGKILL) == 0);
    time_t end = time(NULL) + WAIT_S;
    for (;;) {
        pid_t now = containerd_pid();
        if (now > 0 && now != old)
            break;
        KT_ASSERT_MSG(time(NULL) < end, "containerd not restarted");
        usleep(200000);
    }
    /* the new containerd runs new pods */
    apply("after", AFTER);
    wait_output("get pod after -o jsonpath='{.status.phase} {.status.podIP}'", "Running 10.244.0.",
                "a pod created after the containerd restart runs");
    wait_output("get node solo -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].status}'",
                "True", "node Ready after the containerd restart");
}

KT_TEST_TIMEOUT(standalone, one_node_cluster, 900)
{
    setup();
    check_node();
    check_service();
    check_containerd_restart();
    KT_ASSERT(kill(E.knode, SIGTERM) == 0);
    for (int i = 0; i < 300 && alive(E.knode); i++)
        usleep(100000);
    KT_ASSERT_MSG(!alive(E.knode), "knode standalone did not stop on SIGTERM");
    cleanup_free char *log = capture(NULL, "cat %s/knode.log", E.dir);
    KT_ASSERT_CONTAINS(log, "stopping on signal 15");
    E.knode = 0;
}

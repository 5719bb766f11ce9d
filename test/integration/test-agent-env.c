/* test-agent-env.c - testbed nodes, knode server and node agents for the
 * agent tests and benchmarks (see test-agent-env.h). */
#include "test/integration/test-agent-env.h"

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
#include "test/runner/kt.h"

ae_env AE;

static char agent_log[TB_MAX_NODES][64];

static bool verbose(void)
{
    const char *v = getenv("KT_VERBOSE");
    return v && strcmp(v, "1") == 0;
}

char *ae_capture(int *status, const char *fmt, ...)
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
    if (verbose())
        printf("$ %s (exit %d)\n%s\n", cmd, st, b.data);
    return kn_buf_steal(&b);
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

pid_t ae_spawn(const char *netns, const char *log, char *const argv[], int *out_fd)
{
    int fds[2] = {-1, -1};
    KT_ASSERT(log || pipe2(fds, O_CLOEXEC) == 0);
    pid_t pid = fork();
    KT_ASSERT(pid >= 0);
    if (pid == 0) {
        char path[128];
        snprintf(path, sizeof(path), "/run/netns/%s", netns);
        int nfd = open(path, O_RDONLY | O_CLOEXEC);
        if (nfd < 0 || setns(nfd, CLONE_NEWNET) < 0)
            _exit(126);
        int out = log ? open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644) : fds[1];
        int errfd = log ? out : open("/dev/null", O_WRONLY | O_CLOEXEC);
        if (out >= 0)
            dup2(out, 1);
        if (errfd >= 0)
            dup2(errfd, 2);
        execvp(argv[0], argv);
        _exit(127);
    }
    if (!log) {
        close(fds[1]);
        *out_fd = fds[0];
    }
    return pid;
}

void ae_stop_pid(pid_t *pid, bool kill_now)
{
    if (*pid <= 0)
        return;
    kill(*pid, kill_now ? SIGKILL : SIGTERM);
    for (int i = 0; i < 100 && waitpid(*pid, NULL, WNOHANG) == 0; i++)
        usleep(50000);
    if (waitpid(*pid, NULL, WNOHANG) == 0) {
        kill(*pid, SIGKILL);
        waitpid(*pid, NULL, 0);
    }
    *pid = 0;
}

/* Stops a process that is not our child (a restarted containerd). */
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
    cleanup_free char *cmd = xasprintf("tail -n 60 %s/%s 2>/dev/null", AE.dir, name);
    printf("---- %s (last lines)\n", name);
    fflush(stdout);
    if (system(cmd) != 0)
        printf("(none)\n");
}

static void teardown(void *arg)
{
    (void)arg;
    for (int i = 0; i < TB_MAX_NODES; i++)
        ae_stop_pid(&AE.agent[i], false);
    ae_stop_pid(&AE.server, false);
    stop_foreign(&AE.containerd2);
    for (int i = 0; i < TB_MAX_NODES; i++)
        if (agent_log[i][0])
            show_log(agent_log[i]);
    show_log("server.log");
    cleanup_error kn_error *err = NULL;
    if (tb_cluster_down(&AE.tb, &err) < 0)
        fprintf(stderr, "testbed teardown: %s\n", kn_error_msg(err));
}

char *ae_kubectl(int *status, const char *args)
{
    return ae_capture(status, "ip netns exec %s kubectl --kubeconfig %s %s", AE.tb.nodes[0].netns,
                      AE.kubeconfig, args);
}

char *ae_kubectl_v(const char *version, int *status, const char *args)
{
    return ae_capture(status, "ip netns exec %s " AE_KUBECTL_DIR "/kubectl.%s --kubeconfig %s %s",
                      AE.tb.nodes[0].netns, version, AE.kubeconfig, args);
}

void ae_kubectl_ok(const char *args)
{
    int st = 0;
    cleanup_free char *out = ae_kubectl(&st, args);
    KT_ASSERT_MSG(st == 0, "kubectl %s: %s", args, out);
}

void ae_wait_output(const char *args, const char *want, const char *what)
{
    time_t end = time(NULL) + AE_WAIT_S;
    for (;;) {
        cleanup_free char *out = ae_kubectl(NULL, args);
        if (strstr(out, want))
            return;
        KT_ASSERT_MSG(time(NULL) < end, "%s: kubectl %s gave \"%s\", want \"%s\"", what, args, out,
                      want);
        usleep(500000);
    }
}

void ae_apply(const char *name, const char *yaml)
{
    cleanup_free char *path = xasprintf("%s/%s.yaml", AE.dir, name);
    FILE *f = fopen(path, "w");
    KT_ASSERT(f && fputs(yaml, f) >= 0 && fclose(f) == 0);
    cleanup_free char *args = xasprintf("apply -f %s", path);
    ae_kubectl_ok(args);
}

int ae_count_lines(const char *out, const char *needle)
{
    int n = 0;
    cleanup_free char *copy = xstrdup(out);
    char *save = NULL;
    for (char *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
        n += strstr(l, needle) != NULL;
    return n;
}

static void start_server(void)
{
    tb_node *a = &AE.tb.nodes[0];
    cleanup_free char *knode = kt_beside_self("knode");
    cleanup_free char *log = xasprintf("%s/server.log", AE.dir);
    char port[16];
    snprintf(port, sizeof(port), "%d", AE.port);
    char *argv[] = {knode,        "server",        "--data-dir", AE.data, "--bind-address",
                    AE.server_ip, "--secure-port", port,         NULL};
    AE.server = ae_spawn(a->netns, log, argv, NULL);
    time_t end = time(NULL) + 60;
    for (;;) {
        cleanup_free char *out =
            ae_capture(NULL,
                       "ip netns exec %s curl -sk --cert %s/admin.crt --key %s/admin.key "
                       "https://%s:%d/readyz",
                       a->netns, AE.data, AE.data, AE.server_ip, AE.port);
        if (strcmp(out, "ok") == 0)
            return;
        KT_ASSERT_MSG(time(NULL) < end, "knode server not ready: %s", out);
        usleep(100000);
    }
}

void ae_setup(int nnodes, bool on_lan)
{
    if (geteuid() != 0)
        KT_SKIP("needs root (testbed)");
    char why[256];
    if (!tb_available(why, sizeof(why)))
        KT_SKIP("%s", why);
    if (system("command -v kubectl >/dev/null && command -v curl >/dev/null") != 0)
        KT_SKIP("needs kubectl and curl");
    memset(&AE, 0, sizeof(AE));
    memset(agent_log, 0, sizeof(agent_log));
    snprintf(AE.dir, sizeof(AE.dir), "%s", kt_tmpdir());
    snprintf(AE.data, sizeof(AE.data), "%s/data", AE.dir);
    snprintf(AE.kubeconfig, sizeof(AE.kubeconfig), "%s/admin.kubeconfig", AE.data);
    AE.port = free_port();
    cleanup_error kn_error *err = NULL;
    KT_ASSERT_OK(tb_cluster_up(&AE.tb, nnodes, &err), err);
    kt_on_cleanup(teardown, NULL);
    snprintf(AE.server_ip, sizeof(AE.server_ip), "%s",
             on_lan ? AE.tb.nodes[0].node_ip : "127.0.0.1");
    start_server();
}

const char *ae_node_name(int i)
{
    static const char *const names[TB_MAX_NODES] = {"nodea", "nodeb", "nodec", "noded"};
    return names[i];
}

/* The agent's DNS serves the cluster DNS address on the node's loopback. */
static void add_dns_address(const tb_node *nd)
{
    cleanup_free char *o = NULL;
    cleanup_error kn_error *err = NULL;
    int st = tb_sh(nd->netns,
                   "ip addr show dev lo | grep -q 10.96.0.10/32 || "
                   "ip addr add 10.96.0.10/32 dev lo",
                   10, &o, &err);
    KT_ASSERT_MSG(st == 0, "cluster DNS address: %s %s", o ? o : "", err ? kn_error_msg(err) : "");
}

void ae_start_agent(int i, const char *command, char *const extra[])
{
    tb_node *nd = &AE.tb.nodes[i];
    bool agent = strcmp(command, "agent") == 0;
    if (agent)
        add_dns_address(nd);
    cleanup_free char *knode = kt_beside_self("knode");
    snprintf(agent_log[i], sizeof(agent_log[i]), "%s-%s.log", command, ae_node_name(i));
    cleanup_free char *log = xasprintf("%s/%s", AE.dir, agent_log[i]);
    cleanup_free char *root = xasprintf("%s/kubelet-%s", AE.dir, ae_node_name(i));
    cleanup_free char *logs = xasprintf("%s/pod-logs-%s", AE.dir, ae_node_name(i));
    cleanup_free char *cgroot = xstrdup(nd->cgroup_parent);
    *strrchr(cgroot, '/') = '\0'; /* the testbed's parent is <root>/kubepods */
    char *base[] = {knode,
                    (char *)command,
                    "--container-runtime-endpoint",
                    nd->endpoint,
                    "--hostname-override",
                    (char *)ae_node_name(i),
                    "--node-ip",
                    nd->node_ip,
                    "--root-dir",
                    root,
                    "--pod-logs-dir",
                    logs,
                    "--cgroup-root",
                    cgroot,
                    "--node-labels",
                    "knode.test/role=worker",
                    "--node-status-update-frequency",
                    "2s"};
    char *agent_flags[] = {"--dns-health-address", "127.0.0.1:18081", "--healthz-bind-address",
                           "127.0.0.1:10256"};
    size_t nbase = sizeof(base) / sizeof(base[0]), nagent = agent ? 4 : 0, nextra = 0;
    while (extra && extra[nextra])
        nextra++;
    cleanup_free char **argv = xcalloc(nbase + nagent + nextra + 1, sizeof(char *));
    memcpy(argv, base, sizeof(base));
    memcpy(argv + nbase, agent_flags, nagent * sizeof(char *));
    if (nextra)
        memcpy(argv + nbase + nagent, extra, nextra * sizeof(char *));
    AE.agent[i] = ae_spawn(nd->netns, log, argv, NULL);
}

void ae_stop_agent(int i, bool kill_now)
{
    ae_stop_pid(&AE.agent[i], kill_now);
}

void ae_node_ready(int i)
{
    const char *name = ae_node_name(i);
    const tb_node *nd = &AE.tb.nodes[i];
    cleanup_free char *get = xasprintf("get node %s -o name", name);
    cleanup_free char *want = xasprintf("node/%s", name);
    ae_wait_output(get, want, "node registered");
    cleanup_free char *patch =
        xasprintf("patch node %s -p '{\"spec\":{\"podCIDR\":\"%s\",\"podCIDRs\":[\"%s\"]}}'", name,
                  nd->pod_cidr, nd->pod_cidr);
    ae_kubectl_ok(patch);
    cleanup_free char *ready = xasprintf(
        "get node %s -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].status}'", name);
    ae_wait_output(ready, "True", "node Ready");
}

long ae_rss_kb(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    cleanup_file FILE *f = fopen(path, "r");
    long kb = -1;
    while (f && fgets(line, sizeof(line), f))
        if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
            break;
    return kb;
}

long long ae_cpu_ticks(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    cleanup_file FILE *f = fopen(path, "r");
    if (!f || !fgets(buf, sizeof(buf), f))
        return -1;
    /* fields after the command (which may hold spaces): state is field 3,
     * utime and stime fields 14 and 15 */
    const char *p = strrchr(buf, ')');
    long long ut = 0, st = 0;
    if (!p || sscanf(p + 2, "%*c %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %lld %lld", &ut, &st) != 2)
        return -1;
    return ut + st;
}

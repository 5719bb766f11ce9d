/* test-testbed.c - the testbed harness itself: nodes come up with a
 * working containerd and the test images, the lan connects them, teardown
 * leaves nothing behind, and the host's network namespace is never touched. */
#include <dirent.h>
#include <errno.h>
#include <glob.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/error.h"
#include "lib/xalloc.h"
#include "test/harness/testbed.h"
#include "test/runner/kt.h"

static void require_testbed(void)
{
    char why[256];
    if (!tb_available(why, sizeof(why)))
        KT_SKIP("testbed not available: %s", why);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Runs argv (netns NULL: on the host, read-only commands only) and returns
 * its output; the exit code must be 0. */
static char *must_run(const char *netns, char *const argv[])
{
    kn_error *err = NULL;
    char *out = NULL;
    int r = tb_exec(netns, argv, 30, &out, &err);
    KT_ASSERT_MSG(r == 0, "%s %s in %s: exit %d: %s %s", argv[0], argv[1] ? argv[1] : "",
                  netns ? netns : "host", r, out ? out : "", kn_error_msg(err));
    kn_error_free(&err);
    return out;
}

/* Drops the fields that change by themselves (address lifetimes, route
 * expiry) from ip's output, in place. */
static void drop_timers(char *text)
{
    static const char *const timed[] = {"valid_lft", "preferred_lft", "expires"};
    char *w = text;
    for (char *r = text; *r;) {
        bool skip = false;
        for (size_t i = 0; i < KN_ARRAY_SIZE(timed) && !skip; i++)
            skip = strncmp(r, timed[i], strlen(timed[i])) == 0 && (r == text || r[-1] == ' ');
        if (!skip) {
            *w++ = *r++;
            continue;
        }
        r += strcspn(r, " \n"); /* the keyword */
        r += strspn(r, " ");
        r += strcspn(r, " \n"); /* its value */
    }
    *w = '\0';
}

/* What the host network namespace looks like: nftables tables, links,
 * addresses, routes and rules. Must be identical before and after. */
static char *host_net_snapshot(void)
{
    char *nft[] = {"nft", "list", "tables", NULL};
    char *links[] = {"ip", "-o", "link", "show", NULL};
    char *addrs[] = {"ip", "-o", "addr", "show", NULL};
    char *routes[] = {"ip", "route", "show", "table", "all", NULL};
    char *routes6[] = {"ip", "-6", "route", "show", "table", "all", NULL};
    char *rules[] = {"ip", "rule", "show", NULL};
    char *const *cmds[] = {nft, links, addrs, routes, routes6, rules};
    char *all = xstrdup("");
    for (size_t i = 0; i < KN_ARRAY_SIZE(cmds); i++) {
        cleanup_free char *out = must_run(NULL, cmds[i]);
        drop_timers(out);
        char *more = xasprintf("%s== %s %s\n%s", all, cmds[i][0], cmds[i][1], out);
        free(all);
        all = more;
    }
    return all;
}

static void assert_host_untouched(const char *before)
{
    cleanup_free char *after = host_net_snapshot();
    KT_ASSERT_MSG(strcmp(before, after) == 0, "host network changed:\nbefore:\n%s\nafter:\n%s",
                  before, after);
    cleanup_free char *nft = must_run(NULL, (char *[]){"nft", "list", "tables", NULL});
    KT_ASSERT_MSG(nft[0] == '\0', "host has nftables tables: %s", nft);
}

static void assert_node_answers(const tb_node *nd)
{
    char *version[] = {"ctr", "-a", (char *)nd->socket, "version", NULL};
    cleanup_free char *v = must_run(NULL, version);
    KT_ASSERT_CONTAINS(v, "Server:");
    char *images[] = {"ctr", "-a", (char *)nd->socket, "-n", "k8s.io", "images", "ls", "-q", NULL};
    cleanup_free char *list = must_run(NULL, images);
    KT_ASSERT_CONTAINS(list, "localhost/pause:3.9");
    KT_ASSERT_CONTAINS(list, "localhost/busybox:1.35");
}

static void assert_ping(const tb_node *from, const char *addr)
{
    char *ping[] = {"busybox", "ping", "-c", "1", "-W", "5", (char *)addr, NULL};
    cleanup_free char *out = must_run(from->netns, ping);
    KT_ASSERT_CONTAINS(out, "1 packets received");
}

static void assert_node_net(const tb_cluster *c, const tb_node *nd)
{
    cleanup_free char *fwd =
        must_run(nd->netns, (char *[]){"cat", "/proc/sys/net/ipv4/ip_forward", NULL});
    KT_ASSERT_STREQ(fwd, "1\n");
    cleanup_free char *brnf = must_run(
        nd->netns, (char *[]){"cat", "/proc/sys/net/bridge/bridge-nf-call-iptables", NULL});
    KT_ASSERT_STREQ(brnf, "1\n");
    cleanup_free char *cni0 =
        must_run(nd->netns, (char *[]){"ip", "-o", "addr", "show", "cni0", NULL});
    char want[64];
    snprintf(want, sizeof(want), "inet %s/24", nd->pod_gateway);
    KT_ASSERT_CONTAINS(cni0, want);
    cleanup_free char *routes = must_run(nd->netns, (char *[]){"ip", "route", "show", NULL});
    KT_ASSERT_CONTAINS(routes, "default via 10.250.0.254 dev eth0");
    for (int i = 0; i < c->nnodes; i++) {
        const tb_node *o = &c->nodes[i];
        if (o == nd)
            continue;
        snprintf(want, sizeof(want), "%s via %s dev eth0", o->pod_cidr, o->node_ip);
        KT_ASSERT_CONTAINS(routes, want);
    }
}

KT_TEST_TIMEOUT(testbed, two_nodes_up, 240)
{
    require_testbed();
    cleanup_free char *host_before = host_net_snapshot();
    cleanup_error kn_error *err = NULL;
    tb_cluster c;
    double t0 = now_s();
    KT_ASSERT_OK(tb_cluster_up(&c, 2, &err), err);
    printf("tb_cluster_up(2) took %.2fs (prefix %s)\n", now_s() - t0, c.prefix);
    KT_ASSERT_EQ(c.nnodes, 2);
    for (int i = 0; i < 2; i++) {
        KT_ASSERT(c.nodes[i].up);
        KT_ASSERT(strncmp(c.nodes[i].netns, c.prefix, strlen(c.prefix)) == 0);
        assert_node_answers(&c.nodes[i]);
        assert_node_net(&c, &c.nodes[i]);
    }
    /* across the lan, and through the host-gw route to the other pod CIDR */
    assert_ping(&c.nodes[0], c.nodes[1].node_ip);
    assert_ping(&c.nodes[1], c.nodes[0].node_ip);
    assert_ping(&c.nodes[0], c.nodes[1].pod_gateway);
    assert_ping(&c.nodes[1], c.nodes[0].pod_gateway);
    /* the root namespace has no route to the lan at all */
    cleanup_free char *hroutes = must_run(NULL, (char *[]){"ip", "route", "show", NULL});
    KT_ASSERT(!strstr(hroutes, "10.250.0.") && !strstr(hroutes, "10.244."));
    assert_host_untouched(host_before);
    t0 = now_s();
    KT_ASSERT_OK(tb_cluster_down(&c, &err), err);
    printf("tb_cluster_down(2) took %.2fs\n", now_s() - t0);
    assert_host_untouched(host_before);
}

/* ---- down leaves nothing ------------------------------------------------ */

typedef struct recorded {
    pid_t pids[256];
    int npids;
    char *socks[64]; /* shim sockets and other files outside the state dir */
    int nsocks;
} recorded;

static void record_pid(recorded *r, pid_t pid)
{
    if (pid > 0 && r->npids < (int)KN_ARRAY_SIZE(r->pids))
        r->pids[r->npids++] = pid;
}

/* Starts a long-running container straight through containerd (no CRI),
 * with runtime bin, its state under the node's runtime root and its cgroup
 * under the node's cgroup parent. */
static void run_container(const tb_node *nd, const char *rt, const char *bin, const char *id)
{
    char root[300], cgroup[200];
    snprintf(root, sizeof(root), "%s/%s", nd->dir, rt);
    snprintf(cgroup, sizeof(cgroup), "%s/%s", nd->cgroup_parent, id);
    char *argv[] = {
        "ctr",      "-a",        (char *)nd->socket,       "-n",        "k8s.io",      "run",
        "-d",       "--null-io", "--runc-binary",          (char *)bin, "--runc-root", root,
        "--cgroup", cgroup,      "localhost/busybox:1.35", (char *)id,  "sleep",       "3600",
        NULL};
    cleanup_free char *out = must_run(NULL, argv);
}

static void record_node(const tb_node *nd, recorded *r)
{
    record_pid(r, nd->containerd_pid);
    char *tasks[] = {"ctr", "-a", (char *)nd->socket, "-n", "k8s.io", "tasks", "ls", NULL};
    cleanup_free char *out = must_run(NULL, tasks);
    /* TASK PID STATUS: the container's init process */
    char *save = NULL;
    for (char *l = strtok_r(out, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        char id[128], status[32];
        int pid;
        if (sscanf(l, "%127s %d %31s", id, &pid, status) == 3) {
            KT_ASSERT_STREQ(status, "RUNNING");
            record_pid(r, pid);
        }
    }
    /* shims and everything else in the node netns */
    char *pids[] = {"ip", "netns", "pids", (char *)nd->netns, NULL};
    cleanup_free char *ps = must_run(NULL, pids);
    for (char *p = ps; *p;) {
        record_pid(r, (pid_t)strtol(p, &p, 10));
        p += strspn(p, "\n");
    }
    char pattern[400];
    snprintf(pattern, sizeof(pattern), "%s/state/io.containerd.runtime.v2.task/*/*/address",
             nd->dir);
    glob_t g;
    if (glob(pattern, 0, NULL, &g) == 0) {
        for (size_t i = 0; i < g.gl_pathc && r->nsocks < 64; i++) {
            FILE *f = fopen(g.gl_pathv[i], "r");
            char addr[300] = "";
            if (f && fgets(addr, sizeof(addr), f)) {
                addr[strcspn(addr, "\n")] = '\0';
                r->socks[r->nsocks++] = xstrdup(strncmp(addr, "unix://", 7) ? addr : addr + 7);
            }
            if (f)
                fclose(f);
        }
        globfree(&g);
    }
}

static char *plant_cni_cache(const char *id)
{
    char *path = xasprintf("/var/lib/cni/results/tbnet-%s-eth0", id);
    cleanup_free char *o1 = must_run(NULL, (char *[]){"mkdir", "-p", "/var/lib/cni/results", NULL});
    FILE *f = fopen(path, "w");
    KT_ASSERT_MSG(f, "create %s", path);
    fputs("{}\n", f);
    fclose(f);
    return path;
}

static bool alive(pid_t pid)
{
    char path[64], buf[512];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *rp = strrchr(buf, ')');
    return rp && rp[1] == ' ' && rp[2] != 'Z' && rp[2] != 'X';
}

/* Entries of dir whose name starts with prefix. */
static int count_prefixed(const char *dir, const char *prefix, char *found, size_t len)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;
    while (d && (e = readdir(d))) {
        if (strncmp(e->d_name, prefix, strlen(prefix)) == 0) {
            snprintf(found, len, "%s/%s", dir, e->d_name);
            n++;
        }
    }
    if (d)
        closedir(d);
    return n;
}

static void assert_cgroups_exist(const tb_node *nd)
{
    char pattern[200];
    snprintf(pattern, sizeof(pattern), "/sys/fs/cgroup/*/%s", nd->netns);
    glob_t g;
    KT_ASSERT_MSG(glob(pattern, 0, NULL, &g) == 0 && g.gl_pathc > 0, "no cgroup %s", pattern);
    globfree(&g);
}

static void assert_nothing_left(const tb_cluster *c, const recorded *r)
{
    char found[600];
    KT_ASSERT_MSG(count_prefixed("/run/netns", c->prefix, found, sizeof(found)) == 0,
                  "netns left: %s", found);
    FILE *m = fopen("/proc/mounts", "r");
    char line[1024];
    while (m && fgets(line, sizeof(line), m))
        KT_ASSERT_MSG(!strstr(line, c->root), "mount left: %s", line);
    if (m)
        fclose(m);
    for (int i = 0; i < r->npids; i++)
        KT_ASSERT_MSG(!alive(r->pids[i]), "pid %d still alive", (int)r->pids[i]);
    glob_t g;
    if (glob("/sys/fs/cgroup/*", 0, NULL, &g) == 0) {
        for (size_t i = 0; i < g.gl_pathc; i++)
            KT_ASSERT_MSG(count_prefixed(g.gl_pathv[i], c->prefix, found, sizeof(found)) == 0,
                          "cgroup left: %s", found);
        globfree(&g);
    }
    for (int i = 0; i < r->nsocks; i++)
        KT_ASSERT_MSG(access(r->socks[i], F_OK) != 0, "file left: %s", r->socks[i]);
    KT_ASSERT_MSG(access(c->root, F_OK) != 0, "state dir left: %s", c->root);
}

KT_TEST_TIMEOUT(testbed, down_leaves_nothing, 240)
{
    require_testbed();
    cleanup_free char *host_before = host_net_snapshot();
    cleanup_error kn_error *err = NULL;
    tb_cluster c;
    KT_ASSERT_OK(tb_cluster_up(&c, 2, &err), err);
    /* something to clean: a runc container on nodeA, a crun one on nodeB,
     * both left running for tb_cluster_down (no graceful removal) */
    char id_a[64], id_b[64];
    snprintf(id_a, sizeof(id_a), "%sctr-a", c.prefix);
    snprintf(id_b, sizeof(id_b), "%sctr-b", c.prefix);
    run_container(&c.nodes[0], "runc", "/usr/sbin/runc", id_a);
    if (access("/usr/bin/crun", X_OK) == 0)
        run_container(&c.nodes[1], "crun", "/usr/bin/crun", id_b);
    else
        run_container(&c.nodes[1], "runc", "/usr/sbin/runc", id_b);
    recorded r = {.npids = 0};
    /* what libcni caches for a CRI sandbox, which only a graceful
     * StopPodSandbox removes (these containers come from ctr, not CRI) */
    r.socks[r.nsocks++] = plant_cni_cache(id_a);
    for (int i = 0; i < 2; i++) {
        record_node(&c.nodes[i], &r);
        assert_cgroups_exist(&c.nodes[i]);
    }
    KT_ASSERT_MSG(r.nsocks >= 3, "expected shim sockets, found %d", r.nsocks - 1);
    KT_ASSERT_MSG(r.npids >= 6, "expected containerd+shim+container pids, found %d", r.npids);
    printf("recorded %d pids, %d shim sockets\n", r.npids, r.nsocks - 1);
    for (int i = 0; i < r.nsocks; i++)
        KT_ASSERT_MSG(access(r.socks[i], F_OK) == 0, "%s missing", r.socks[i]);
    KT_ASSERT_OK(tb_cluster_down(&c, &err), err);
    assert_nothing_left(&c, &r);
    /* down again: idempotent, still nothing */
    KT_ASSERT_OK(tb_cluster_down(&c, &err), err);
    assert_nothing_left(&c, &r);
    for (int i = 0; i < r.nsocks; i++)
        free(r.socks[i]);
    assert_host_untouched(host_before);
}

/* ---- twice in a row, and two at once ------------------------------------ */

static bool same_file(const struct stat *a, const struct stat *b)
{
    return a->st_ino == b->st_ino && a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
           a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/* build.sh with unchanged inputs must not rebuild (when run from the tree):
 * the first run brings the images up to date, the second changes nothing. */
static void assert_images_idempotent(void)
{
    if (access("packaging/images/build.sh", R_OK) != 0) {
        printf("not in the source tree: build.sh idempotence not checked\n");
        return;
    }
    char pause[512];
    snprintf(pause, sizeof(pause), "%s/pause.tar", tb_images_dir());
    char *argv[] = {"sh", "packaging/images/build.sh", (char *)tb_images_dir(), NULL};
    cleanup_free char *first = must_run(NULL, argv);
    struct stat before, after;
    KT_ASSERT(stat(pause, &before) == 0);
    cleanup_free char *out = must_run(NULL, argv);
    KT_ASSERT(stat(pause, &after) == 0);
    KT_ASSERT_MSG(same_file(&before, &after), "build.sh rebuilt unchanged images: %s", out);
}

/* A crashed run with our PID left a lan netns and a state dir behind. */
static void fake_leftovers(void)
{
    char lan[64], root[128];
    snprintf(lan, sizeof(lan), "kt%d-lan", (int)getpid());
    snprintf(root, sizeof(root), "/run/knode-tb-kt%d/nodeA", (int)getpid());
    cleanup_free char *o1 = must_run(NULL, (char *[]){"ip", "netns", "add", lan, NULL});
    cleanup_free char *o2 = must_run(NULL, (char *[]){"mkdir", "-p", root, NULL});
}

KT_TEST_TIMEOUT(testbed, up_twice, 300)
{
    require_testbed();
    cleanup_free char *host_before = host_net_snapshot();
    cleanup_error kn_error *err = NULL;
    assert_images_idempotent();
    fake_leftovers();
    tb_cluster a, b, c;
    KT_ASSERT_OK(tb_cluster_up(&a, 1, &err), err);
    assert_node_answers(&a.nodes[0]);
    KT_ASSERT_OK(tb_cluster_down(&a, &err), err);
    /* the same names again, right after */
    KT_ASSERT_OK(tb_cluster_up(&b, 1, &err), err);
    KT_ASSERT_STREQ(b.nodes[0].netns, a.nodes[0].netns);
    assert_node_answers(&b.nodes[0]);
    /* and a second cluster alongside: its own names, same addresses inside */
    KT_ASSERT_OK(tb_cluster_up(&c, 1, &err), err);
    KT_ASSERT(strcmp(b.prefix, c.prefix) != 0);
    KT_ASSERT(strncmp(c.prefix, b.prefix, strlen(b.prefix)) != 0);
    KT_ASSERT(strcmp(b.nodes[0].socket, c.nodes[0].socket) != 0);
    assert_node_answers(&c.nodes[0]);
    assert_node_answers(&b.nodes[0]);
    char *ping[] = {"busybox", "ping", "-c", "1", "-W", "5", "10.250.0.254", NULL};
    cleanup_free char *p1 = must_run(b.nodes[0].netns, ping);
    cleanup_free char *p2 = must_run(c.nodes[0].netns, ping);
    KT_ASSERT_OK(tb_cluster_down(&c, &err), err);
    assert_node_answers(&b.nodes[0]);
    KT_ASSERT_OK(tb_cluster_down(&b, &err), err);
    recorded none = {.npids = 0};
    assert_nothing_left(&b, &none);
    assert_nothing_left(&c, &none);
    assert_host_untouched(host_before);
}

/* ---- tb_exec / tb_sh ------------------------------------------------------ */

KT_TEST_TIMEOUT(testbed, exec_in_node, 120)
{
    require_testbed();
    cleanup_error kn_error *err = NULL;
    tb_cluster c;
    KT_ASSERT_OK(tb_cluster_up(&c, 1, &err), err);
    const char *ns = c.nodes[0].netns;
    /* exit code and output */
    cleanup_free char *out = NULL;
    KT_ASSERT_EQ(tb_sh(ns, "echo $((1 + 2)); echo err >&2; exit 3", 10, &out, &err), 3);
    KT_ASSERT_STREQ(out, "3\nerr\n");
    /* /sys belongs to the node's netns and the cgroup hierarchies are there */
    cleanup_free char *links = must_run(ns, (char *[]){"ls", "/sys/class/net", NULL});
    KT_ASSERT_STREQ(links, "cni0\neth0\nlo\n");
    cleanup_free char *mi = must_run(ns, (char *[]){"cat", "/proc/self/mountinfo", NULL});
    KT_ASSERT_CONTAINS(mi, " /sys/fs/cgroup/memory ");
    KT_ASSERT(!strstr(mi, " /sys/fs/cgroup/unified "));
    /* a timeout kills the command's whole process group */
    cleanup_free char *slow = NULL;
    int r = tb_sh(ns, "sleep 30 & echo $!; wait", 1, &slow, &err);
    KT_ASSERT(r < 0);
    KT_ASSERT_EQ(kn_error_code(err), KN_ETIMEDOUT);
    kn_error_free(&err);
    KT_ASSERT(slow && atoi(slow) > 0);
    for (int i = 0; i < 100 && alive((pid_t)atoi(slow)); i++)
        usleep(20000);
    KT_ASSERT_MSG(!alive((pid_t)atoi(slow)), "background sleep %s survived", slow);
    /* a missing program is an error, not an exit code */
    KT_ASSERT(tb_exec(ns, (char *[]){"kt-no-such-program", NULL}, 5, NULL, &err) < 0);
    kn_error_free(&err);
    KT_ASSERT_OK(tb_cluster_down(&c, &err), err);
}

/* ---- a test stopped by its timeout still tears down ----------------------- */

KT_TEST_TIMEOUT(testbed, cleanup_on_timeout, 120)
{
    require_testbed();
    int pfd[2];
    KT_ASSERT(pipe(pfd) == 0);
    pid_t child = fork();
    KT_ASSERT(child >= 0);
    if (child == 0) {
        /* like a test body: bring a node up, report, then hang until the
         * runner's SIGTERM (its handler, inherited, runs the kt cleanups) */
        kn_error *err = NULL;
        tb_cluster c;
        if (tb_cluster_up(&c, 1, &err) < 0)
            _exit(2);
        dprintf(pfd[1], "%s %d\n", c.prefix, (int)c.nodes[0].containerd_pid);
        for (;;)
            pause();
    }
    close(pfd[1]);
    char line[128] = "";
    FILE *f = fdopen(pfd[0], "r");
    KT_ASSERT(f && fgets(line, sizeof(line), f));
    fclose(f);
    tb_cluster c = {.nnodes = 1};
    int cpid = 0;
    KT_ASSERT(sscanf(line, "%31s %d", c.prefix, &cpid) == 2);
    snprintf(c.root, sizeof(c.root), "/run/knode-tb-%.*s", (int)strlen(c.prefix) - 1, c.prefix);
    KT_ASSERT(alive(cpid));
    KT_ASSERT(access(c.root, F_OK) == 0);
    kill(child, SIGTERM);
    int st = 0;
    KT_ASSERT(waitpid(child, &st, 0) == child);
    recorded r = {.npids = 1, .pids = {cpid}};
    assert_nothing_left(&c, &r);
}

/* ---- a run that was SIGKILLed: tb-gc.sh collects it ------------------------ */

KT_TEST_TIMEOUT(testbed, gc_after_sigkill, 120)
{
    require_testbed();
    if (access("test/harness/tb-gc.sh", R_OK) != 0)
        KT_SKIP("not in the source tree (test/harness/tb-gc.sh)");
    int pfd[2];
    KT_ASSERT(pipe(pfd) == 0);
    pid_t child = fork();
    KT_ASSERT(child >= 0);
    if (child == 0) {
        /* a run that dies without any cleanup, leaving containerd, a shim
         * and a container running */
        kn_error *err = NULL;
        tb_cluster c;
        if (tb_cluster_up(&c, 1, &err) < 0)
            _exit(2);
        char id[64];
        snprintf(id, sizeof(id), "%sctr", c.prefix);
        run_container(&c.nodes[0], "runc", "/usr/sbin/runc", id);
        dprintf(pfd[1], "%s %d\n", c.prefix, (int)c.nodes[0].containerd_pid);
        kill(getpid(), SIGKILL);
    }
    close(pfd[1]);
    char line[128] = "";
    FILE *f = fdopen(pfd[0], "r");
    KT_ASSERT(f && fgets(line, sizeof(line), f));
    fclose(f);
    KT_ASSERT(waitpid(child, NULL, 0) == child);
    tb_cluster c = {.nnodes = 1};
    tb_node *nd = &c.nodes[0];
    int cpid = 0;
    KT_ASSERT(sscanf(line, "%31s %d", c.prefix, &cpid) == 2);
    snprintf(c.root, sizeof(c.root), "/run/knode-tb-%.*s", (int)strlen(c.prefix) - 1, c.prefix);
    snprintf(nd->netns, sizeof(nd->netns), "%snodeA", c.prefix);
    snprintf(nd->dir, sizeof(nd->dir), "%s/nodeA", c.root);
    snprintf(nd->socket, sizeof(nd->socket), "%s/containerd.sock", nd->dir);
    nd->containerd_pid = cpid;
    recorded r = {.npids = 0};
    record_node(nd, &r);
    KT_ASSERT_MSG(r.npids >= 3 && r.nsocks >= 1, "expected leftovers: %d pids, %d sockets", r.npids,
                  r.nsocks);
    char *gc[] = {"bash", "test/harness/tb-gc.sh", c.prefix, NULL};
    cleanup_free char *out = must_run(NULL, gc);
    KT_ASSERT_CONTAINS(out, "collected");
    assert_nothing_left(&c, &r);
    for (int i = 0; i < r.nsocks; i++)
        free(r.socks[i]);
}

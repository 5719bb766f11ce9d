#include "kubelet/preflight.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nftables/libnftables.h>

#include "lib/xalloc.h"

void kn_check_set(kn_check_result *res, kn_check_status st, const char *fix, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(res->detail, sizeof(res->detail), fmt, ap);
    va_end(ap);
    res->status = st;
    snprintf(res->fix, sizeof(res->fix), "%s", fix ? fix : "");
}

/* Reads a whole small file into buf; returns false if unreadable. */
static bool read_small(const char *path, char *buf, size_t size)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    size_t n = fread(buf, 1, size - 1, f);
    buf[n] = '\0';
    fclose(f);
    return true;
}

static bool file_has_word(const char *path, const char *word)
{
    static char buf[1 << 16];
    if (!read_small(path, buf, sizeof(buf)))
        return false;
    for (char *p = buf; (p = strstr(p, word)) != NULL; p++) {
        bool start = p == buf || p[-1] == '\t' || p[-1] == ' ' || p[-1] == '\n';
        char end = p[strlen(word)];
        if (start && (end == '\n' || end == ' ' || end == '\t' || end == '\0'))
            return true;
    }
    return false;
}

/* Runs fn in a forked child inside a fresh network namespace, so whatever it
 * creates there disappears with the child. Returns the child's exit code. */
static int in_private_netns(int (*fn)(void *), void *arg)
{
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        if (unshare(CLONE_NEWNET) < 0)
            _exit(100);
        _exit(fn(arg) == 0 ? 0 : 1);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int try_nft_table(void *arg)
{
    (void)arg;
    struct nft_ctx *nft = nft_ctx_new(NFT_CTX_DEFAULT);
    if (!nft)
        return 1;
    nft_ctx_buffer_output(nft);
    nft_ctx_buffer_error(nft);
    int r = nft_run_cmd_from_buffer(nft, "add table ip knode_preflight\n"
                                         "add map ip knode_preflight m { type ipv4_addr . "
                                         "inet_proto . inet_service : verdict; }\n");
    nft_ctx_free(nft);
    return r == 0 ? 0 : 1;
}

static void check_nftables(const kn_preflight_opts *o, kn_check_result *r)
{
    (void)o;
    int rc = in_private_netns(try_nft_table, NULL);
    if (rc == 0)
        kn_check_set(r, KN_CHECK_OK, NULL,
                     "nf_tables works (table and concatenated map created "
                     "in a private netns)");
    else if (rc == 100)
        kn_check_set(r, KN_CHECK_FAIL, "run as root (CAP_SYS_ADMIN and CAP_NET_ADMIN)",
                     "cannot create a network namespace");
    else
        kn_check_set(r, KN_CHECK_FAIL, "modprobe nf_tables (kernel needs CONFIG_NF_TABLES)",
                     "nf_tables rejected a table with a concatenated verdict map");
}

static void check_overlay(const kn_preflight_opts *o, kn_check_result *r)
{
    (void)o;
    if (file_has_word("/proc/filesystems", "overlay"))
        kn_check_set(r, KN_CHECK_OK, NULL, "overlay filesystem available");
    else
        kn_check_set(r, KN_CHECK_FAIL, "modprobe overlay", "overlay missing in /proc/filesystems");
}

static int try_links(void *arg)
{
    (void)arg;
    int r = system("ip link add kp-veth0 type veth peer name kp-veth1 >/dev/null 2>&1 && "
                   "ip link add kp-br0 type bridge >/dev/null 2>&1 && "
                   "ip link set kp-veth0 master kp-br0 >/dev/null 2>&1");
    return r == 0 ? 0 : 1;
}

static void check_links(const kn_preflight_opts *o, kn_check_result *r)
{
    (void)o;
    int rc = in_private_netns(try_links, NULL);
    if (rc == 0)
        kn_check_set(r, KN_CHECK_OK, NULL, "bridge and veth work (created in a private netns)");
    else
        kn_check_set(r, KN_CHECK_FAIL, "modprobe bridge veth; install iproute2",
                     "could not create a veth pair and a bridge");
}

static void check_cgroups(const kn_preflight_opts *o, kn_check_result *r)
{
    (void)o;
    static const char *const ctrls[] = {"cpu", "memory", "pids"};
    char missing[128] = "";
    bool v2 = access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0;
    char v2ctrl[512] = "";
    if (v2)
        read_small("/sys/fs/cgroup/cgroup.controllers", v2ctrl, sizeof(v2ctrl));
    for (size_t i = 0; i < 3; i++) {
        char path[64];
        snprintf(path, sizeof(path), "/sys/fs/cgroup/%s", ctrls[i]);
        bool ok = v2 ? strstr(v2ctrl, ctrls[i]) != NULL : access(path, W_OK) == 0;
        if (!ok)
            snprintf(missing + strlen(missing), sizeof(missing) - strlen(missing), " %s", ctrls[i]);
    }
    if (missing[0])
        kn_check_set(r, KN_CHECK_FAIL, "mount the cgroup controllers (cgroup v1 or v2)",
                     "cgroup %s: controllers missing or not writable:%s", v2 ? "v2" : "v1",
                     missing);
    else
        kn_check_set(r, KN_CHECK_OK, NULL, "cgroup %s with cpu, memory, pids (cgroupfs driver)",
                     v2 ? "v2" : "v1");
}

static void check_cni(const kn_preflight_opts *o, kn_check_result *r)
{
    static const char *const plugins[] = {"bridge", "host-local", "loopback", "portmap"};
    const char *dirs = o->cni_bin_dirs ? o->cni_bin_dirs : "/usr/lib/cni:/opt/cni/bin";
    char *copy = xstrdup(dirs), *save = NULL;
    for (char *d = strtok_r(copy, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
        size_t found = 0;
        for (size_t i = 0; i < 4; i++) {
            char path[512];
            snprintf(path, sizeof(path), "%s/%s", d, plugins[i]);
            found += access(path, X_OK) == 0;
        }
        if (found == 4) {
            kn_check_set(r, KN_CHECK_OK, NULL,
                         "CNI plugins bridge, host-local, loopback, portmap "
                         "in %s",
                         d);
            free(copy);
            return;
        }
    }
    free(copy);
    kn_check_set(r, KN_CHECK_FAIL, "apt-get install containernetworking-plugins",
                 "CNI plugins bridge/host-local/loopback/portmap not found in %s", dirs);
}

static bool port_free(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_ANY);
    bool ok = bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
    close(fd);
    return ok;
}

static void check_ports(const kn_preflight_opts *o, kn_check_result *r)
{
    const char *ports = o->ports ? o->ports : "6443,10250,10256";
    char *copy = xstrdup(ports), *save = NULL;
    char busy[128] = "";
    for (char *p = strtok_r(copy, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
        if (!port_free(atoi(p)))
            snprintf(busy + strlen(busy), sizeof(busy) - strlen(busy), " %s", p);
    }
    if (busy[0])
        kn_check_set(r, KN_CHECK_FAIL, "stop what listens there (ss -ltnp) or change the ports",
                     "TCP ports in use:%s", busy);
    else
        kn_check_set(r, KN_CHECK_OK, NULL, "TCP ports %s free", ports);
    free(copy);
}

static void check_conntrack(const kn_preflight_opts *o, kn_check_result *r)
{
    (void)o;
    if (access("/proc/sys/net/netfilter/nf_conntrack_max", F_OK) == 0 ||
        access("/sys/module/nf_conntrack", F_OK) == 0)
        kn_check_set(r, KN_CHECK_OK, NULL, "conntrack available");
    else
        kn_check_set(r, KN_CHECK_FAIL, "modprobe nf_conntrack", "nf_conntrack not loaded");
}

static void check_forwarding(const kn_preflight_opts *o, kn_check_result *r)
{
    (void)o;
    char v[8] = "";
    read_small("/proc/sys/net/ipv4/ip_forward", v, sizeof(v));
    if (v[0] == '1')
        kn_check_set(r, KN_CHECK_OK, NULL, "net.ipv4.ip_forward=1");
    else
        kn_check_set(r, KN_CHECK_WARN, "sysctl -w net.ipv4.ip_forward=1 (knode never changes it)",
                     "net.ipv4.ip_forward=0: pod traffic will not leave the node");
}

static void check_swap(const kn_preflight_opts *o, kn_check_result *r)
{
    (void)o;
    char buf[4096] = "";
    read_small("/proc/swaps", buf, sizeof(buf));
    char *nl = strchr(buf, '\n');
    if (nl && nl[1])
        kn_check_set(r, KN_CHECK_WARN, "swapoff -a (upstream kubelet refuses swap by default)",
                     "swap is on");
    else
        kn_check_set(r, KN_CHECK_OK, NULL, "swap off");
}

static void check_runtime(const kn_preflight_opts *o, kn_check_result *r)
{
    if (!o->check_runtime) {
        kn_check_set(r, KN_CHECK_WARN, "", "runtime check not available in this build");
        return;
    }
    o->check_runtime(o->runtime_endpoint, r);
}

typedef struct check {
    const char *name;
    void (*run)(const kn_preflight_opts *, kn_check_result *);
} check;

static const check checks[] = {
    {"nftables", check_nftables}, {"overlayfs", check_overlay},   {"bridge-veth", check_links},
    {"cgroups", check_cgroups},   {"conntrack", check_conntrack}, {"cni-plugins", check_cni},
    {"runtime", check_runtime},   {"ports", check_ports},         {"ip-forward", check_forwarding},
    {"swap", check_swap},
};

int kn_preflight_run(const kn_preflight_opts *opts, FILE *out)
{
    static const char *const words[] = {"OK  ", "WARN", "FAIL"};
    int failed = 0;
    for (size_t i = 0; i < sizeof(checks) / sizeof(checks[0]); i++) {
        kn_check_result r = {KN_CHECK_OK, "", ""};
        checks[i].run(opts, &r);
        fprintf(out, "%s %-12s %s", words[r.status], checks[i].name, r.detail);
        if (r.status != KN_CHECK_OK && r.fix[0])
            fprintf(out, " (fix: %s)", r.fix);
        fputc('\n', out);
        fflush(out);
        failed += r.status == KN_CHECK_FAIL;
    }
    return failed;
}

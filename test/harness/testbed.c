/* testbed.c - simulated Kubernetes nodes (netns + containerd + CNI) for
 * integration tests. See testbed.h and ../shared/TESTBED.md.
 *
 * Every process is started with fork/exec (argv arrays, never a shell string
 * built from data) and tracked by PID; the child enters the node's network
 * namespace and, for containerd and tb_exec, a private mount namespace in
 * which /sys is remounted for that netns and the cgroup v1 hierarchies are
 * mounted again (what `ip netns exec` alone would hide from runc). */
#include "test/harness/testbed.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <glob.h>
#include <mntent.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/xalloc.h"
#include "test/runner/kt.h"

#define TB_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define TB_CNI_BIN "/usr/lib/cni"
#define TB_SHIM_DIR "/run/containerd/s/"
#define TB_CNI_CACHE "/var/lib/cni/results/"

enum {
    TB_MAX_CG = 24,         /* cgroup mounts remembered for the remount */
    TB_MAX_CLUSTERS = 4,    /* clusters alive at once in one test */
    TB_MAX_PIDS = 512,      /* processes found in one netns */
    TB_START_TIMEOUT = 60,  /* seconds for containerd to answer */
    TB_KILL_WAIT_MS = 5000, /* after SIGTERM, before SIGKILL */
};

/* ---- small helpers ---------------------------------------------------- */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* Teardown details on stderr with KNODE_TB_DEBUG=1. */
__attribute__((format(printf, 1, 2))) static void tb_debug(const char *fmt, ...)
{
    const char *on = getenv("KNODE_TB_DEBUG");
    if (!on || strcmp(on, "1") != 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "testbed: ");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

/* snprintf that tells whether the result fit. */
__attribute__((format(printf, 3, 4))) static bool fmt_into(char *buf, size_t len, const char *fmt,
                                                           ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, len, fmt, ap);
    va_end(ap);
    return n >= 0 && (size_t)n < len;
}

static bool path_exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

/* Looks name up in TB_PATH (names with a '/' are taken as they are). */
static bool find_exe(const char *name, char *out, size_t len)
{
    if (strchr(name, '/')) {
        snprintf(out, len, "%s", name);
        return access(out, X_OK) == 0;
    }
    char dirs[] = TB_PATH;
    char *save = NULL;
    for (char *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
        snprintf(out, len, "%s/%s", d, name);
        if (access(out, X_OK) == 0)
            return true;
    }
    return false;
}

/* Whole file as a NUL-terminated string (caller frees), NULL on failure. */
static char *read_text(const char *path)
{
    cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    size_t cap = 4096, len = 0;
    char *buf = xmalloc(cap);
    for (;;) {
        if (len + 1 >= cap)
            buf = xrealloc(buf, cap *= 2);
        ssize_t n = read(fd, buf + len, cap - len - 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            free(buf);
            return NULL;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    buf[len] = '\0';
    return buf;
}

static int write_text(const char *path, const char *text, kn_error **err)
{
    FILE *f = fopen(path, "we");
    if (!f)
        return kn_error_errno(err, errno, "create %s", path);
    fputs(text, f);
    if (ferror(f) | (fclose(f) != 0))
        return kn_error_errno(err, errno ? errno : EIO, "write %s", path);
    return 0;
}

static int mkdir_p(const char *path, mode_t mode, kn_error **err)
{
    char buf[512];
    snprintf(buf, sizeof(buf), "%s", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, mode) < 0 && errno != EEXIST)
            return kn_error_errno(err, errno, "mkdir %s", buf);
        *p = '/';
    }
    if (mkdir(buf, mode) < 0 && errno != EEXIST)
        return kn_error_errno(err, errno, "mkdir %s", buf);
    return 0;
}

/* Appends one printf-formatted item to a "; "-separated list. */
__attribute__((format(printf, 2, 3))) static void list_add(char **list, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *item = xvasprintf(fmt, ap);
    va_end(ap);
    char *joined = *list ? xasprintf("%s; %s", *list, item) : xstrdup(item);
    free(item);
    free(*list);
    *list = joined;
}

/* The last bytes of a log file, for error messages (caller frees). */
static char *log_tail(const char *path, size_t max)
{
    char *text = read_text(path);
    if (!text)
        return xstrdup("(no log)");
    size_t len = strlen(text);
    char *tail = xstrdup(len > max ? text + len - max : text);
    free(text);
    return tail;
}

/* ---- processes --------------------------------------------------------- */

/* True while pid exists and is not a zombie (PID 1 reaps orphans lazily, so
 * a killed shim may stay <defunct> for a while). Reaps pid if it is ours. */
static bool pid_alive(pid_t pid)
{
    if (pid <= 0)
        return false;
    int st;
    pid_t r = waitpid(pid, &st, WNOHANG);
    if (r == pid)
        return false;
    if (r == 0)
        return true;
    if (kill(pid, 0) < 0 && errno == ESRCH)
        return false;
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    cleanup_free char *stat = read_text(path);
    const char *rp = stat ? strrchr(stat, ')') : NULL;
    if (!rp)
        return false;
    return rp[1] == ' ' && rp[2] != 'Z' && rp[2] != 'X';
}

static bool any_alive(const pid_t *pids, int n)
{
    for (int i = 0; i < n; i++) {
        if (pid_alive(pids[i]))
            return true;
    }
    return false;
}

/* Sends sig to every live pid and waits up to wait_ms for all to be gone. */
static bool signal_wait(const pid_t *pids, int n, int sig, int wait_ms)
{
    for (int i = 0; i < n; i++) {
        if (pid_alive(pids[i]))
            kill(pids[i], sig);
    }
    for (int t = 0; t < wait_ms; t += 20) {
        if (!any_alive(pids, n))
            return true;
        sleep_ms(20);
    }
    return !any_alive(pids, n);
}

/* SIGTERM, then SIGKILL for what is left. True when all are gone. */
static bool stop_pids(const pid_t *pids, int n)
{
    if (n == 0 || signal_wait(pids, n, SIGTERM, TB_KILL_WAIT_MS))
        return true;
    return signal_wait(pids, n, SIGKILL, TB_KILL_WAIT_MS);
}

/* ---- namespaces: prepared before fork, entered in the child ------------ */

typedef struct tb_cgmount {
    char src[32];
    char dir[128];
    char data[160];
    unsigned long flags;
} tb_cgmount;

typedef struct tb_cglink {
    char path[128];
    char target[128];
} tb_cglink;

typedef struct tb_nsprep {
    int netfd;     /* /run/netns/<name>, or -1 to stay */
    bool remount;  /* private mount ns: /sys for the netns, cgroups again */
    bool cg2_only; /* pure cgroup v2 host: mount cgroup2 on /sys/fs/cgroup */
    char sysfs_src[64];
    int ncg, nlinks;
    tb_cgmount cg[TB_MAX_CG];
    tb_cglink links[TB_MAX_CG];
} tb_nsprep;

/* Mount options as /proc/mounts lists them: the generic ones become flags,
 * the rest (controllers, name=) stay in data. */
static void cg_parse_opts(const char *opts, tb_cgmount *m)
{
    static const struct {
        const char *name;
        unsigned long flag;
    } generic[] = {{"rw", 0},
                   {"ro", MS_RDONLY},
                   {"nosuid", MS_NOSUID},
                   {"nodev", MS_NODEV},
                   {"noexec", MS_NOEXEC},
                   {"relatime", MS_RELATIME},
                   {"noatime", MS_NOATIME}};
    char buf[256];
    snprintf(buf, sizeof(buf), "%s", opts);
    char *save = NULL;
    for (char *o = strtok_r(buf, ",", &save); o; o = strtok_r(NULL, ",", &save)) {
        bool done = false;
        for (size_t i = 0; i < KN_ARRAY_SIZE(generic) && !done; i++) {
            if (strcmp(o, generic[i].name) == 0) {
                m->flags |= generic[i].flag;
                done = true;
            }
        }
        if (!done) {
            size_t len = strlen(m->data);
            snprintf(m->data + len, sizeof(m->data) - len, "%s%s", len ? "," : "", o);
        }
    }
}

/* Reads the host's cgroup mounts. v1 hierarchies are remounted; the cgroup2
 * "unified" mount of a hybrid host is left out on purpose (crun 1.8 refuses
 * hybrid mode; TESTBED.md gotcha 2). */
static void cg_load(tb_nsprep *p)
{
    FILE *f = setmntent("/proc/self/mounts", "re");
    struct mntent me;
    char buf[4096];
    while (f && getmntent_r(f, &me, buf, sizeof(buf))) {
        if (strcmp(me.mnt_type, "cgroup2") == 0 && strcmp(me.mnt_dir, "/sys/fs/cgroup") == 0)
            p->cg2_only = true;
        if (strcmp(me.mnt_type, "cgroup") != 0 || strncmp(me.mnt_dir, "/sys/fs/cgroup/", 15) != 0 ||
            p->ncg >= TB_MAX_CG)
            continue;
        tb_cgmount *m = &p->cg[p->ncg++];
        memset(m, 0, sizeof(*m));
        snprintf(m->src, sizeof(m->src), "%s", me.mnt_fsname);
        snprintf(m->dir, sizeof(m->dir), "%s", me.mnt_dir);
        cg_parse_opts(me.mnt_opts, m);
    }
    if (f)
        endmntent(f);
}

/* Symlinks such as cpu -> cpu,cpuacct in /sys/fs/cgroup. */
static void cg_load_links(tb_nsprep *p)
{
    DIR *d = opendir("/sys/fs/cgroup");
    struct dirent *e;
    while (d && (e = readdir(d)) && p->nlinks < TB_MAX_CG) {
        if (e->d_type != DT_LNK)
            continue;
        tb_cglink *l = &p->links[p->nlinks];
        if (!fmt_into(l->path, sizeof(l->path), "/sys/fs/cgroup/%s", e->d_name))
            continue;
        ssize_t n = readlink(l->path, l->target, sizeof(l->target) - 1);
        if (n > 0) {
            l->target[n] = '\0';
            p->nlinks++;
        }
    }
    if (d)
        closedir(d);
}

static int nsprep_open(tb_nsprep *p, const char *netns, bool remount, kn_error **err)
{
    memset(p, 0, sizeof(*p));
    p->netfd = -1;
    if (!netns)
        return 0;
    char path[128];
    snprintf(path, sizeof(path), "/run/netns/%s", netns);
    p->netfd = open(path, O_RDONLY | O_CLOEXEC);
    if (p->netfd < 0)
        return kn_error_errno(err, errno, "open netns %s", netns);
    p->remount = remount;
    snprintf(p->sysfs_src, sizeof(p->sysfs_src), "%s", netns);
    if (remount) {
        cg_load(p);
        cg_load_links(p);
    }
    return 0;
}

static void nsprep_close(tb_nsprep *p)
{
    if (p->netfd >= 0)
        close(p->netfd);
    p->netfd = -1;
}

/* Child-side steps, reported back through the exec-error pipe. */
enum {
    STEP_PGRP = 1,
    STEP_SETNS,
    STEP_UNSHARE,
    STEP_SLAVE,
    STEP_SYSFS,
    STEP_CGROOT,
    STEP_CGMOUNT,
    STEP_CHDIR,
    STEP_STDIO,
    STEP_EXEC,
};

static const char *step_name(int step)
{
    static const char *const names[] = {"?",
                                        "setpgid",
                                        "setns",
                                        "unshare mount ns",
                                        "make / rslave",
                                        "mount sysfs",
                                        "mount tmpfs on /sys/fs/cgroup",
                                        "mount cgroup hierarchy",
                                        "chdir",
                                        "redirect stdio",
                                        "exec"};
    return step > 0 && step < (int)KN_ARRAY_SIZE(names) ? names[step] : "?";
}

/* In the child (async-signal-safe calls only). Returns 0 or a STEP_. */
static int child_mount_cgroups(const tb_nsprep *p)
{
    const unsigned long fl = MS_NOSUID | MS_NODEV | MS_NOEXEC;
    if (p->cg2_only)
        return mount("cgroup2", "/sys/fs/cgroup", "cgroup2", fl, NULL) < 0 ? STEP_CGMOUNT : 0;
    if (mount("cgroup-root", "/sys/fs/cgroup", "tmpfs", fl, "mode=755") < 0)
        return STEP_CGROOT;
    for (int i = 0; i < p->ncg; i++) {
        const tb_cgmount *m = &p->cg[i];
        mkdir(m->dir, 0755);
        if (mount(m->src, m->dir, "cgroup", m->flags, m->data[0] ? m->data : NULL) < 0)
            return STEP_CGMOUNT;
    }
    for (int i = 0; i < p->nlinks; i++) {
        if (symlink(p->links[i].target, p->links[i].path) < 0)
            return STEP_CGMOUNT;
    }
    return 0;
}

static int child_enter_ns(const tb_nsprep *p)
{
    if (p->netfd < 0)
        return 0;
    if (setns(p->netfd, CLONE_NEWNET) < 0)
        return STEP_SETNS;
    if (!p->remount)
        return 0;
    if (unshare(CLONE_NEWNS) < 0)
        return STEP_UNSHARE;
    if (mount("", "/", NULL, MS_SLAVE | MS_REC, NULL) < 0)
        return STEP_SLAVE;
    umount2("/sys", MNT_DETACH);
    if (mount(p->sysfs_src, "/sys", "sysfs", 0, NULL) < 0)
        return STEP_SYSFS;
    return child_mount_cgroups(p);
}

typedef struct tb_spawn {
    char *const *argv;   /* argv[0] is looked up in TB_PATH */
    const tb_nsprep *ns; /* NULL: the caller's namespaces */
    int outfd;           /* stdout+stderr, -1: /dev/null */
    bool own_pgrp;       /* a process group of its own (killed as one) */
    const char *cwd;     /* NULL: inherited */
} tb_spawn;

static void child_reset_signals(void)
{
    static const int sigs[] = {SIGPIPE, SIGCHLD, SIGINT, SIGQUIT, SIGTERM, SIGHUP, SIGUSR1};
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = SIG_DFL;
    for (size_t i = 0; i < KN_ARRAY_SIZE(sigs); i++)
        sigaction(sigs[i], &sa, NULL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
}

static int child_setup(const tb_spawn *sp, int devnull)
{
    if (sp->own_pgrp && setpgid(0, 0) < 0)
        return STEP_PGRP;
    child_reset_signals();
    int step = sp->ns ? child_enter_ns(sp->ns) : 0;
    if (step)
        return step;
    if (sp->cwd && chdir(sp->cwd) < 0)
        return STEP_CHDIR;
    int out = sp->outfd >= 0 ? sp->outfd : devnull;
    if (dup2(devnull, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0)
        return STEP_STDIO;
    /* nothing else of the test process leaks into containerd or a command */
    syscall(SYS_close_range, 3U, ~0U, 4U /* CLOSE_RANGE_CLOEXEC */);
    return 0;
}

static __attribute__((noreturn)) void child_run(const tb_spawn *sp, const char *exe,
                                                char *const envp[], int devnull, int errfd)
{
    int step = child_setup(sp, devnull);
    if (!step) {
        execve(exe, sp->argv, envp);
        step = STEP_EXEC;
    }
    int report[2] = {step, errno};
    ssize_t w = write(errfd, report, sizeof(report));
    (void)w;
    _exit(127);
}

/* The environment of every child: the test's, with a PATH that has sbin. */
static char **child_env(void)
{
    extern char **environ;
    size_t n = 0;
    while (environ[n])
        n++;
    char **env = xcalloc(n + 2, sizeof(*env));
    size_t k = 0;
    env[k++] = (char *)"PATH=" TB_PATH;
    for (size_t i = 0; i < n; i++) {
        if (strncmp(environ[i], "PATH=", 5) != 0)
            env[k++] = environ[i];
    }
    return env;
}

/* Reads the child's exec report: 0 when exec happened, else an error. */
static int spawn_result(pid_t pid, int errfd, const char *exe, kn_error **err)
{
    int report[2];
    ssize_t n;
    do
        n = read(errfd, report, sizeof(report));
    while (n < 0 && errno == EINTR);
    if (n != (ssize_t)sizeof(report))
        return 0;
    waitpid(pid, NULL, 0);
    return kn_error_errno(err, report[1], "start %s: %s", exe, step_name(report[0]));
}

/* fork + exec; returns the child's PID or negative with *err filled. */
static pid_t spawn(const tb_spawn *sp, kn_error **err)
{
    char exe[256];
    if (!find_exe(sp->argv[0], exe, sizeof(exe)))
        return kn_error_set(err, KN_ENOTFOUND, "%s: not found in %s", sp->argv[0], TB_PATH);
    cleanup_close int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    int pfd[2];
    if (devnull < 0 || pipe2(pfd, O_CLOEXEC) < 0)
        return kn_error_errno(err, errno, "start %s", exe);
    cleanup_free char **envp = child_env();
    pid_t pid = fork();
    if (pid == 0)
        child_run(sp, exe, envp, devnull, pfd[1]);
    int saved = errno;
    close(pfd[1]);
    if (pid < 0) {
        close(pfd[0]);
        return kn_error_errno(err, saved, "fork for %s", exe);
    }
    if (sp->own_pgrp)
        setpgid(pid, pid);
    int r = spawn_result(pid, pfd[0], exe, err);
    close(pfd[0]);
    return r < 0 ? r : pid;
}

typedef struct tb_buf {
    char *data;
    size_t len, cap;
} tb_buf;

static void buf_add(tb_buf *b, const char *p, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        b->cap = (b->len + n + 1) * 2;
        b->data = xrealloc(b->data, b->cap);
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
}

static void kill_and_reap(pid_t pid)
{
    kill(-pid, SIGKILL);
    kill(pid, SIGKILL);
    for (int i = 0; i < 500 && waitpid(pid, NULL, WNOHANG) == 0; i++)
        sleep_ms(10);
}

/* Reads fd until the child has exited and its output is drained (a
 * background grandchild holding the pipe does not keep us waiting).
 * Returns 0 with *status, or -1 when the deadline passed. */
static int collect(pid_t pid, int fd, double deadline, tb_buf *b, int *status)
{
    bool exited = false, eof = false;
    for (;;) {
        if (!exited && waitpid(pid, status, WNOHANG) == pid)
            exited = true;
        if (exited && eof)
            return 0;
        if (now_s() > deadline)
            return -1;
        if (eof) {
            sleep_ms(10);
            continue;
        }
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int pr = poll(&p, 1, exited ? 0 : 50);
        if (pr == 0 && exited)
            return 0;
        if (pr <= 0)
            continue;
        char tmp[4096];
        ssize_t n = read(fd, tmp, sizeof(tmp));
        if (n > 0)
            buf_add(b, tmp, (size_t)n);
        else if (n == 0 || errno != EINTR)
            eof = true;
    }
}

static int exit_code(int status)
{
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : 255;
}

/* Runs argv (in netns when given, with the cgroup remount), capturing
 * stdout+stderr. Returns the exit code, negative on start failure/timeout. */
static int run_capture(char *const argv[], const char *netns, int timeout_s, char **out,
                       kn_error **err)
{
    tb_nsprep ns;
    if (nsprep_open(&ns, netns, true, err) < 0)
        return -KN_EIO;
    int pfd[2];
    if (pipe2(pfd, O_CLOEXEC) < 0) {
        nsprep_close(&ns);
        return kn_error_errno(err, errno, "pipe");
    }
    tb_spawn sp = {.argv = argv, .ns = netns ? &ns : NULL, .outfd = pfd[1], .own_pgrp = true};
    pid_t pid = spawn(&sp, err);
    close(pfd[1]);
    nsprep_close(&ns);
    if (pid < 0) {
        close(pfd[0]);
        return pid;
    }
    tb_buf b = {xcalloc(1, 1), 0, 1};
    int status = 0;
    int r = collect(pid, pfd[0], now_s() + timeout_s, &b, &status);
    close(pfd[0]);
    if (r < 0) {
        kill_and_reap(pid);
        kn_error_set(err, KN_ETIMEDOUT, "%s: timed out after %ds (killed pid %d): %s", argv[0],
                     timeout_s, (int)pid, b.data);
    }
    if (out)
        *out = b.data;
    else
        free(b.data);
    return r < 0 ? -KN_ETIMEDOUT : exit_code(status);
}

/* run_capture that fails unless the exit code is 0; the output goes into
 * the error message. */
static int run_ok(char *const argv[], int timeout_s, kn_error **err)
{
    cleanup_free char *out = NULL;
    int r = run_capture(argv, NULL, timeout_s, &out, err);
    if (r < 0)
        return r;
    if (r != 0)
        return kn_error_set(err, KN_EIO, "%s %s: exit %d: %s", argv[0], argv[1] ? argv[1] : "", r,
                            out ? out : "");
    return 0;
}

int tb_exec(const char *netns, char *const argv[], int timeout_s, char **out, kn_error **err)
{
    if (out)
        *out = NULL;
    if (!argv || !argv[0])
        return kn_error_set(err, KN_EINVAL, "tb_exec: empty argv");
    return run_capture(argv, netns, timeout_s, out, err);
}

int tb_sh(const char *netns, const char *cmd, int timeout_s, char **out, kn_error **err)
{
    char *argv[] = {(char *)"/bin/sh", (char *)"-c", (char *)cmd, NULL};
    return tb_exec(netns, argv, timeout_s, out, err);
}

/* ---- network namespaces ------------------------------------------------ */

static bool netns_exists(const char *name)
{
    char path[128];
    snprintf(path, sizeof(path), "/run/netns/%s", name);
    return path_exists(path);
}

/* PIDs of live processes whose network namespace is netns (`ip netns
 * pids`). Returns the count, or -1 when the netns does not exist. */
static int netns_pids(const char *netns, pid_t *pids, int max)
{
    char path[128];
    struct stat ns;
    snprintf(path, sizeof(path), "/run/netns/%s", netns);
    if (stat(path, &ns) < 0)
        return -1;
    DIR *d = opendir("/proc");
    struct dirent *e;
    int n = 0;
    while (d && (e = readdir(d)) && n < max) {
        pid_t pid = (pid_t)atoi(e->d_name);
        if (pid <= 0 || pid == getpid())
            continue;
        struct stat st;
        snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)pid);
        if (stat(path, &st) == 0 && st.st_ino == ns.st_ino && st.st_dev == ns.st_dev &&
            pid_alive(pid))
            pids[n++] = pid;
    }
    if (d)
        closedir(d);
    return n;
}

/* Writes per-netns sysctls from a child that joined netns (the files under
 * /proc/sys/net belong to the opener's network namespace). */
static int netns_sysctls(const char *netns, const char *const *kv, int n, kn_error **err)
{
    tb_nsprep ns;
    if (nsprep_open(&ns, netns, false, err) < 0)
        return -KN_EIO;
    pid_t pid = fork();
    if (pid == 0) {
        if (setns(ns.netfd, CLONE_NEWNET) < 0)
            _exit(100);
        for (int i = 0; i < n; i++) {
            int fd = open(kv[2 * i], O_WRONLY | O_CLOEXEC);
            size_t len = strlen(kv[2 * i + 1]);
            if (fd < 0 || write(fd, kv[2 * i + 1], len) != (ssize_t)len)
                _exit(1 + i);
            close(fd);
        }
        _exit(0);
    }
    nsprep_close(&ns);
    int st = 0;
    if (pid < 0 || waitpid(pid, &st, 0) < 0)
        return kn_error_errno(err, errno, "sysctl in %s", netns);
    int code = exit_code(st);
    if (code == 0)
        return 0;
    const char *what = code >= 1 && code <= n ? kv[2 * (code - 1)] : "setns";
    return kn_error_set(err, KN_EIO, "netns %s: cannot write %s", netns, what);
}

/* Runs `ip [-n netns] -batch file` with the given commands. */
static int ip_batch(const char *netns, const char *file, const char *cmds, kn_error **err)
{
    if (write_text(file, cmds, err) < 0)
        return -KN_EIO;
    char *with_ns[] = {"ip", "-n", (char *)netns, "-batch", (char *)file, NULL};
    char *plain[] = {"ip", "-batch", (char *)file, NULL};
    if (run_ok(netns ? with_ns : plain, 30, err) < 0)
        return kn_error_wrap(err, "network set-up in %s", netns ? netns : "host");
    return 0;
}

static int netns_add(const char *name, kn_error **err)
{
    char *argv[] = {"ip", "netns", "add", (char *)name, NULL};
    return run_ok(argv, 20, err);
}

static void netns_del(const char *name)
{
    char *argv[] = {"ip", "netns", "del", (char *)name, NULL};
    kn_error *e = NULL;
    run_ok(argv, 20, &e);
    kn_error_free(&e);
}

/* ---- names and configuration ------------------------------------------ */

static void node_names(tb_cluster *c, tb_node *nd, int index)
{
    memset(nd, 0, sizeof(*nd));
    nd->index = index;
    snprintf(nd->name, sizeof(nd->name), "node%c", 'A' + index - 1);
    snprintf(nd->netns, sizeof(nd->netns), "%s%s", c->prefix, nd->name);
    snprintf(nd->dir, sizeof(nd->dir), "%s/%s", c->root, nd->name);
    snprintf(nd->socket, sizeof(nd->socket), "%s/containerd.sock", nd->dir);
    snprintf(nd->endpoint, sizeof(nd->endpoint), "unix://%s", nd->socket);
    snprintf(nd->node_ip, sizeof(nd->node_ip), "10.250.0.%d", index);
    snprintf(nd->pod_cidr, sizeof(nd->pod_cidr), "10.244.%d.0/24", index);
    snprintf(nd->pod_gateway, sizeof(nd->pod_gateway), "10.244.%d.1", index);
    snprintf(nd->cgroup_parent, sizeof(nd->cgroup_parent), "/%s/kubepods", nd->netns);
}

/* slot 0 is "kt<pid>-"; further clusters alive at the same time get
 * "kt<pid>.<slot>-" so no name of one is a prefix of another's. */
static void cluster_names(tb_cluster *c, int slot, int n)
{
    memset(c, 0, sizeof(*c));
    if (slot == 0)
        snprintf(c->prefix, sizeof(c->prefix), "kt%d-", (int)getpid());
    else
        snprintf(c->prefix, sizeof(c->prefix), "kt%d.%d-", (int)getpid(), slot);
    snprintf(c->lan_netns, sizeof(c->lan_netns), "%slan", c->prefix);
    snprintf(c->root, sizeof(c->root), "/run/knode-tb-%.*s", (int)strlen(c->prefix) - 1, c->prefix);
    c->nnodes = n;
    for (int i = 0; i < n; i++)
        node_names(c, &c->nodes[i], i + 1);
}

static void toml_runtime(FILE *f, const char *name, const char *bin, const char *root)
{
    const char *p = "plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes";
    fprintf(f,
            "    [%s.%s]\n"
            "      runtime_type = \"io.containerd.runc.v2\"\n"
            "      [%s.%s.options]\n"
            "        BinaryName = \"%s\"\n"
            "        Root = \"%s\"\n"
            "        SystemdCgroup = false\n",
            p, name, p, name, bin, root);
}

static void toml_write(FILE *f, const tb_node *nd, const char *runc, const char *crun)
{
    const char *d = nd->dir;
    fprintf(
        f,
        "version = 2\nroot = \"%s/root\"\nstate = \"%s/state\"\noom_score = 0\n"
        "disabled_plugins = [\"io.containerd.snapshotter.v1.aufs\",\n"
        "  \"io.containerd.snapshotter.v1.btrfs\", \"io.containerd.snapshotter.v1.zfs\",\n"
        "  \"io.containerd.snapshotter.v1.devmapper\",\n"
        "  \"io.containerd.tracing.processor.v1.otlp\", \"io.containerd.internal.v1.tracing\"]\n"
        "[grpc]\n  address = \"%s\"\n[ttrpc]\n  address = \"%s.ttrpc\"\n"
        "[debug]\n  address = \"%s/debug.sock\"\n  level = \"info\"\n"
        "[plugins.\"io.containerd.internal.v1.opt\"]\n  path = \"%s/opt\"\n",
        d, d, nd->socket, nd->socket, d, d);
    fprintf(f,
            "[plugins.\"io.containerd.grpc.v1.cri\"]\n"
            "  sandbox_image = \"localhost/pause:3.9\"\n"
            "  stream_server_address = \"127.0.0.1\"\n  stream_server_port = \"100%d0\"\n"
            "  enable_tls_streaming = false\n  netns_mounts_under_state_dir = true\n"
            "  restrict_oom_score_adj = true\n  disable_apparmor = true\n"
            "  systemd_cgroup = false\n  max_container_log_line_size = 16384\n"
            "  [plugins.\"io.containerd.grpc.v1.cri\".cni]\n"
            "    bin_dir = \"%s\"\n    conf_dir = \"%s/cni/net.d\"\n    max_conf_num = 1\n"
            "  [plugins.\"io.containerd.grpc.v1.cri\".containerd]\n"
            "    snapshotter = \"overlayfs\"\n    default_runtime_name = \"runc\"\n",
            nd->index, TB_CNI_BIN, d);
    char root[300];
    snprintf(root, sizeof(root), "%s/runc", d);
    toml_runtime(f, "runc", runc, root);
    if (crun) {
        snprintf(root, sizeof(root), "%s/crun", d);
        toml_runtime(f, "crun", crun, root);
    }
}

static int write_containerd_config(const tb_node *nd, kn_error **err)
{
    char runc[256], crun[256], path[300];
    if (!find_exe("runc", runc, sizeof(runc)))
        return kn_error_set(err, KN_ENOTFOUND, "runc not found");
    bool have_crun = find_exe("crun", crun, sizeof(crun));
    snprintf(path, sizeof(path), "%s/containerd.toml", nd->dir);
    FILE *f = fopen(path, "we");
    if (!f)
        return kn_error_errno(err, errno, "create %s", path);
    toml_write(f, nd, runc, have_crun ? crun : NULL);
    if (ferror(f) | (fclose(f) != 0))
        return kn_error_errno(err, errno ? errno : EIO, "write %s", path);
    return 0;
}

/* bridge + host-local (per-node dataDir) + portmap; containerd's CRI adds
 * the loopback interface itself. */
static int write_cni_config(const tb_node *nd, kn_error **err)
{
    char path[300];
    snprintf(path, sizeof(path), "%s/cni/net.d/10-tbnet.conflist", nd->dir);
    cleanup_free char *text = xasprintf(
        "{\n  \"cniVersion\": \"1.0.0\",\n  \"name\": \"tbnet\",\n  \"plugins\": [\n"
        "    {\n      \"type\": \"bridge\",\n      \"bridge\": \"cni0\",\n"
        "      \"isGateway\": true,\n      \"ipMasq\": false,\n      \"hairpinMode\": true,\n"
        "      \"ipam\": {\n        \"type\": \"host-local\",\n"
        "        \"dataDir\": \"%s/cni/ipam\",\n"
        "        \"ranges\": [[{\"subnet\": \"%s\", \"gateway\": \"%s\"}]],\n"
        "        \"routes\": [{\"dst\": \"0.0.0.0/0\"}]\n      }\n    },\n"
        "    {\n      \"type\": \"portmap\",\n"
        "      \"capabilities\": {\"portMappings\": true}\n    }\n  ]\n}\n",
        nd->dir, nd->pod_cidr, nd->pod_gateway);
    return write_text(path, text, err);
}

static int node_dirs(const tb_node *nd, kn_error **err)
{
    static const char *const sub[] = {"root", "state", "cni/net.d", "cni/ipam",
                                      "opt",  "runc",  "crun"};
    for (size_t i = 0; i < KN_ARRAY_SIZE(sub); i++) {
        char path[300];
        snprintf(path, sizeof(path), "%s/%s", nd->dir, sub[i]);
        if (mkdir_p(path, 0711, err) < 0)
            return -KN_EIO;
    }
    return 0;
}

/* ---- bringing nodes up ------------------------------------------------- */

static int lan_up(const tb_cluster *c, kn_error **err)
{
    if (netns_add(c->lan_netns, err) < 0)
        return kn_error_wrap(err, "create lan netns");
    for (int i = 0; i < c->nnodes; i++) {
        if (netns_add(c->nodes[i].netns, err) < 0)
            return kn_error_wrap(err, "create node netns");
    }
    cleanup_free char *cmds = xstrdup("link set lo up\nlink add br0 type bridge\n"
                                      "addr add 10.250.0.254/24 dev br0\nlink set br0 up\n");
    for (int i = 0; i < c->nnodes; i++) {
        const tb_node *nd = &c->nodes[i];
        char *more = xasprintf("%slink add v-%s type veth peer name eth0 netns %s\n"
                               "link set v-%s master br0\nlink set v-%s up\n",
                               cmds, nd->name, nd->netns, nd->name, nd->name);
        free(cmds);
        cmds = more;
    }
    char file[300];
    snprintf(file, sizeof(file), "%s/lan.ip-batch", c->root);
    return ip_batch(c->lan_netns, file, cmds, err);
}

static int node_net_up(const tb_cluster *c, const tb_node *nd, kn_error **err)
{
    cleanup_free char *cmds =
        xasprintf("link set lo up\naddr add %s/24 dev eth0\nlink set eth0 up\n"
                  "route add default via 10.250.0.254\n"
                  "link add cni0 type bridge\naddr add %s/24 dev cni0\nlink set cni0 up\n",
                  nd->node_ip, nd->pod_gateway);
    for (int j = 0; j < c->nnodes; j++) {
        const tb_node *o = &c->nodes[j];
        if (o == nd)
            continue;
        char *more =
            xasprintf("%sroute replace %s via %s dev eth0\n", cmds, o->pod_cidr, o->node_ip);
        free(cmds);
        cmds = more;
    }
    char file[300];
    snprintf(file, sizeof(file), "%s/net.ip-batch", nd->dir);
    if (ip_batch(nd->netns, file, cmds, err) < 0)
        return -KN_EIO;
    static const char *const kv[] = {"/proc/sys/net/ipv4/ip_forward", "1",
                                     "/proc/sys/net/bridge/bridge-nf-call-iptables", "1"};
    return netns_sysctls(nd->netns, kv, 2, err);
}

static int start_containerd(tb_node *nd, kn_error **err)
{
    char cfg[300], logp[300], pidp[300];
    snprintf(cfg, sizeof(cfg), "%s/containerd.toml", nd->dir);
    snprintf(logp, sizeof(logp), "%s/containerd.log", nd->dir);
    snprintf(pidp, sizeof(pidp), "%s/containerd.pid", nd->dir);
    cleanup_close int logfd = open(logp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (logfd < 0)
        return kn_error_errno(err, errno, "create %s", logp);
    tb_nsprep ns;
    if (nsprep_open(&ns, nd->netns, true, err) < 0)
        return -KN_EIO;
    char *argv[] = {"containerd", "--config", cfg, NULL};
    /* same process group as the test: if the runner has to SIGKILL the test,
     * containerd goes with it */
    tb_spawn sp = {.argv = argv, .ns = &ns, .outfd = logfd, .own_pgrp = false, .cwd = nd->dir};
    pid_t pid = spawn(&sp, err);
    nsprep_close(&ns);
    if (pid < 0)
        return kn_error_wrap(err, "%s", nd->name);
    nd->containerd_pid = pid;
    char num[32];
    snprintf(num, sizeof(num), "%d\n", (int)pid);
    return write_text(pidp, num, err);
}

static int wait_containerd(const tb_node *nd, double deadline, kn_error **err)
{
    char logp[300];
    snprintf(logp, sizeof(logp), "%s/containerd.log", nd->dir);
    char *argv[] = {"ctr", "-a", (char *)nd->socket, "version", NULL};
    for (;;) {
        if (!pid_alive(nd->containerd_pid)) {
            cleanup_free char *tail = log_tail(logp, 1500);
            return kn_error_set(err, KN_EUNAVAILABLE, "%s: containerd exited: %s", nd->name, tail);
        }
        if (path_exists(nd->socket)) {
            kn_error *e = NULL;
            int r = run_capture(argv, NULL, 10, NULL, &e);
            kn_error_free(&e);
            if (r == 0)
                return 0;
        }
        if (now_s() > deadline) {
            cleanup_free char *tail = log_tail(logp, 1500);
            return kn_error_set(err, KN_ETIMEDOUT, "%s: containerd does not answer: %s", nd->name,
                                tail);
        }
        sleep_ms(50);
    }
}

static int import_images(const tb_node *nd, kn_error **err)
{
    static const char *const files[] = {"pause.tar", "busybox.tar"};
    for (size_t i = 0; i < KN_ARRAY_SIZE(files); i++) {
        char path[512];
        snprintf(path, sizeof(path), "%s/%s", tb_images_dir(), files[i]);
        char *argv[] = {"ctr", "-a", (char *)nd->socket, "-n", "k8s.io", "images", "import",
                        path,  NULL};
        if (run_ok(argv, 120, err) < 0)
            return kn_error_wrap(err, "%s: import %s", nd->name, path);
    }
    return 0;
}

static int nodes_up(tb_cluster *c, kn_error **err)
{
    for (int i = 0; i < c->nnodes; i++) {
        tb_node *nd = &c->nodes[i];
        if (node_dirs(nd, err) < 0 || write_containerd_config(nd, err) < 0 ||
            write_cni_config(nd, err) < 0 || node_net_up(c, nd, err) < 0 ||
            start_containerd(nd, err) < 0)
            return kn_error_wrap(err, "node %s", nd->name);
    }
    /* every containerd starts at once; then wait and import per node */
    double deadline = now_s() + TB_START_TIMEOUT;
    for (int i = 0; i < c->nnodes; i++) {
        tb_node *nd = &c->nodes[i];
        if (wait_containerd(nd, deadline, err) < 0 || import_images(nd, err) < 0)
            return -KN_EUNAVAILABLE;
        nd->up = true;
    }
    return 0;
}

static int cluster_create(tb_cluster *c, kn_error **err)
{
    if (mkdir_p(c->root, 0711, err) < 0 || lan_up(c, err) < 0)
        return -KN_EIO;
    return nodes_up(c, err);
}

/* ---- tearing down ------------------------------------------------------ */

static bool safe_id(const char *id)
{
    if (!*id || *id == '-' || strlen(id) > 128)
        return false;
    return strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") ==
           strlen(id);
}

typedef struct tb_files {
    char *path[256];
    int n;
} tb_files;

static void files_add(tb_files *f, const char *path)
{
    if (f->n < (int)KN_ARRAY_SIZE(f->path))
        f->path[f->n++] = xstrdup(path);
}

static void files_free(tb_files *f)
{
    for (int i = 0; i < f->n; i++)
        free(f->path[i]);
    f->n = 0;
}

/* Shim sockets containerd 1.6 put in /run/containerd/s, as each task
 * bundle's `address` file records them (TESTBED.md gotcha 5). */
static void shim_sockets(const tb_node *nd, tb_files *out)
{
    char pattern[400];
    snprintf(pattern, sizeof(pattern), "%s/state/io.containerd.runtime.v2.task/*/*/address",
             nd->dir);
    glob_t g;
    if (glob(pattern, 0, NULL, &g) != 0)
        return;
    for (size_t i = 0; i < g.gl_pathc; i++) {
        cleanup_free char *addr = read_text(g.gl_pathv[i]);
        if (!addr)
            continue;
        addr[strcspn(addr, "\r\n")] = '\0';
        const char *p = strncmp(addr, "unix://", 7) == 0 ? addr + 7 : addr;
        if (strncmp(p, TB_SHIM_DIR, strlen(TB_SHIM_DIR)) == 0 && !strstr(p, ".."))
            files_add(out, p);
    }
    globfree(&g);
}

/* libcni's result cache (/var/lib/cni/results/<net>-<id>-<ifname>) for the
 * sandboxes and tasks this node's containerd knows; containerd 1.6 has no
 * setting to move it, and only a graceful StopPodSandbox removes it. */
static void cni_cache_files(const tb_node *nd, tb_files *out)
{
    static const char *const where[] = {"state/io.containerd.runtime.v2.task/*/*",
                                        "root/io.containerd.grpc.v1.cri/sandboxes/*",
                                        "state/io.containerd.grpc.v1.cri/sandboxes/*"};
    for (size_t w = 0; w < KN_ARRAY_SIZE(where); w++) {
        char pattern[400];
        snprintf(pattern, sizeof(pattern), "%s/%s", nd->dir, where[w]);
        glob_t g;
        if (glob(pattern, GLOB_ONLYDIR, NULL, &g) != 0)
            continue;
        for (size_t i = 0; i < g.gl_pathc; i++) {
            const char *id = strrchr(g.gl_pathv[i], '/') + 1;
            char cache[400];
            glob_t c;
            snprintf(cache, sizeof(cache), TB_CNI_CACHE "*-%s-*", id);
            if (safe_id(id) && glob(cache, 0, NULL, &c) == 0) {
                for (size_t k = 0; k < c.gl_pathc; k++)
                    files_add(out, c.gl_pathv[k]);
                globfree(&c);
            }
        }
        globfree(&g);
    }
}

/* `<rt> --root <root> list -q`, then kill --all and delete -f each. */
static void runtime_kill_root(const char *rt, const char *root)
{
    char *list[] = {(char *)rt, "--root", (char *)root, "list", "-q", NULL};
    cleanup_free char *out = NULL;
    kn_error *e = NULL;
    if (run_capture(list, NULL, 20, &out, &e) != 0 || !out) {
        kn_error_free(&e);
        return;
    }
    int found = 0;
    for (int pass = 0; pass < 2; pass++) {
        char *save = NULL;
        cleanup_free char *copy = xstrdup(out);
        for (char *id = strtok_r(copy, "\n", &save); id; id = strtok_r(NULL, "\n", &save)) {
            if (!safe_id(id))
                continue;
            char *kill_all[] = {(char *)rt, "--root", (char *)root, "kill",
                                "--all",    id,       "KILL",       NULL};
            char *del[] = {(char *)rt, "--root", (char *)root, "delete", "--force", id, NULL};
            int r = run_capture(pass == 0 ? kill_all : del, NULL, 20, NULL, &e);
            tb_debug("%s %s %s: %d %s", rt, pass == 0 ? "kill" : "delete", id, r, kn_error_msg(e));
            kn_error_free(&e);
            found++;
        }
        if (pass == 0 && found)
            sleep_ms(300);
    }
}

static void kill_runtime_containers(const tb_node *nd)
{
    static const char *const rts[] = {"runc", "crun"};
    for (size_t i = 0; i < KN_ARRAY_SIZE(rts); i++) {
        char exe[256], dir[300];
        snprintf(dir, sizeof(dir), "%s/%s", nd->dir, rts[i]);
        DIR *d = find_exe(rts[i], exe, sizeof(exe)) ? opendir(dir) : NULL;
        struct dirent *e;
        while (d && (e = readdir(d))) {
            if (e->d_name[0] == '.' || e->d_type != DT_DIR)
                continue;
            char root[600];
            snprintf(root, sizeof(root), "%s/%s", dir, e->d_name);
            runtime_kill_root(exe, root);
        }
        if (d)
            closedir(d);
    }
}

/* Every hierarchy the host has mounted (v1 and v2). */
static int cg_dirs(char dirs[][128], int max)
{
    FILE *f = setmntent("/proc/self/mounts", "re");
    struct mntent me;
    char buf[4096];
    int n = 0;
    while (f && n < max && getmntent_r(f, &me, buf, sizeof(buf))) {
        if (strcmp(me.mnt_type, "cgroup") == 0 || strcmp(me.mnt_type, "cgroup2") == 0)
            snprintf(dirs[n++], 128, "%s", me.mnt_dir);
    }
    if (f)
        endmntent(f);
    return n;
}

/* Walks a cgroup tree: kill (pre-order) sends SIGKILL to every process in
 * it, otherwise directories are removed deepest first. */
static void cg_walk(const char *dir, bool kill_procs)
{
    if (kill_procs) {
        char path[700];
        snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
        cleanup_free char *procs = read_text(path);
        for (char *p = procs; p && *p;) {
            long pid = strtol(p, &p, 10);
            if (pid > 1 && kill((pid_t)pid, SIGKILL) == 0)
                tb_debug("killed pid %ld in cgroup %s", pid, dir);
            p += strspn(p, "\n");
        }
    }
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (e->d_type != DT_DIR || e->d_name[0] == '.')
            continue;
        char sub[700];
        snprintf(sub, sizeof(sub), "%s/%s", dir, e->d_name);
        cg_walk(sub, kill_procs);
    }
    if (d)
        closedir(d);
    if (!kill_procs)
        rmdir(dir);
}

/* Kills what is left in the node's cgroups and removes them; retried for a
 * while since killed tasks leave their cgroup only when they exit. */
static void cgroups_remove(const char *name)
{
    char dirs[TB_MAX_CG][128];
    int n = cg_dirs(dirs, TB_MAX_CG);
    for (int attempt = 0; attempt < 100; attempt++) {
        bool left = false;
        for (int i = 0; i < n; i++) {
            char top[300];
            if (!fmt_into(top, sizeof(top), "%s/%s", dirs[i], name) || !path_exists(top))
                continue;
            cg_walk(top, true);
            cg_walk(top, false);
            left |= path_exists(top);
        }
        if (!left)
            return;
        sleep_ms(50);
    }
}

static void netns_kill_all(const char *netns)
{
    pid_t pids[TB_MAX_PIDS];
    int n = netns_pids(netns, pids, TB_MAX_PIDS);
    tb_debug("%d processes in netns %s", n, netns);
    if (n > 0)
        stop_pids(pids, n);
}

static void node_down(tb_node *nd, const tb_files *outside)
{
    kill_runtime_containers(nd);
    if (nd->containerd_pid > 0 && stop_pids(&nd->containerd_pid, 1))
        nd->containerd_pid = 0;
    if (netns_exists(nd->netns)) {
        netns_kill_all(nd->netns);
        netns_del(nd->netns);
    }
    for (int i = 0; i < outside->n; i++)
        unlink(outside->path[i]);
    cgroups_remove(nd->netns);
    nd->up = false;
}

static int mount_cmp(const void *a, const void *b)
{
    return (int)strlen(*(char *const *)b) - (int)strlen(*(char *const *)a);
}

/* Mount points at or below dir in our mount namespace (caller frees). */
static int mounts_under(const char *dir, char **out, int max)
{
    FILE *f = setmntent("/proc/self/mounts", "re");
    struct mntent me;
    char buf[4096];
    size_t len = strlen(dir);
    int n = 0;
    while (f && n < max && getmntent_r(f, &me, buf, sizeof(buf))) {
        if (strncmp(me.mnt_dir, dir, len) == 0 && (me.mnt_dir[len] == '/' || !me.mnt_dir[len]))
            out[n++] = xstrdup(me.mnt_dir);
    }
    if (f)
        endmntent(f);
    return n;
}

static void umount_under(const char *dir)
{
    char *mps[256];
    int n = mounts_under(dir, mps, 256);
    qsort(mps, (size_t)n, sizeof(*mps), mount_cmp);
    for (int i = 0; i < n; i++) {
        umount2(mps[i], MNT_DETACH);
        free(mps[i]);
    }
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)ftw;
    if (flag == FTW_DP)
        rmdir(path);
    else
        unlink(path);
    return 0;
}

static void check_node_left(const tb_node *nd, const tb_files *outside, char **left)
{
    if (pid_alive(nd->containerd_pid))
        list_add(left, "%s: containerd pid %d", nd->name, (int)nd->containerd_pid);
    if (netns_exists(nd->netns))
        list_add(left, "netns %s", nd->netns);
    for (int i = 0; i < outside->n; i++) {
        if (path_exists(outside->path[i]))
            list_add(left, "file %s", outside->path[i]);
    }
    char dirs[TB_MAX_CG][128];
    int n = cg_dirs(dirs, TB_MAX_CG);
    for (int i = 0; i < n; i++) {
        char top[300];
        if (fmt_into(top, sizeof(top), "%s/%s", dirs[i], nd->netns) && path_exists(top))
            list_add(left, "cgroup %s", top);
    }
}

static void check_cluster_left(const tb_cluster *c, char **left)
{
    if (netns_exists(c->lan_netns))
        list_add(left, "netns %s", c->lan_netns);
    char *mps[64];
    int n = mounts_under(c->root, mps, 64);
    for (int i = 0; i < n; i++) {
        list_add(left, "mount %s", mps[i]);
        free(mps[i]);
    }
    if (path_exists(c->root))
        list_add(left, "directory %s", c->root);
}

/* Tears down whatever exists of c; returns 0 or an error listing leftovers. */
static int cluster_teardown(tb_cluster *c, kn_error **err)
{
    char *left = NULL;
    for (int i = 0; i < c->nnodes; i++) {
        tb_node *nd = &c->nodes[i];
        /* files outside the node's dir that its containerd made */
        tb_files outside = {.n = 0};
        shim_sockets(nd, &outside);
        cni_cache_files(nd, &outside);
        node_down(nd, &outside);
        check_node_left(nd, &outside, &left);
        files_free(&outside);
    }
    if (netns_exists(c->lan_netns)) {
        netns_kill_all(c->lan_netns);
        netns_del(c->lan_netns);
    }
    umount_under(c->root);
    if (path_exists(c->root))
        nftw(c->root, rm_entry, 32, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
    check_cluster_left(c, &left);
    if (!left)
        return 0;
    int r = kn_error_set(err, KN_EIO, "testbed %s: left behind: %s", c->prefix, left);
    free(left);
    return r;
}

/* ---- the registry: what a kt cleanup tears down ----------------------- */

/* The live state of a cluster. The caller's tb_cluster is a copy, and the
 * kt cleanup (which may run after the test function's frame is gone) works
 * on this record. */
typedef struct tb_record {
    tb_cluster c;
    bool live;
} tb_record;

static tb_record *tb_records[TB_MAX_CLUSTERS];

static void record_cleanup(void *arg)
{
    tb_record *r = arg;
    if (!r->live)
        return;
    kn_error *e = NULL;
    if (cluster_teardown(&r->c, &e) < 0)
        fprintf(stderr, "testbed cleanup: %s\n", kn_error_msg(e));
    kn_error_free(&e);
    r->live = false;
}

/* A free record (allocated and registered with kt once), or NULL. */
static tb_record *record_get(int *slot)
{
    for (int k = 0; k < TB_MAX_CLUSTERS; k++) {
        if (tb_records[k] && tb_records[k]->live)
            continue;
        if (!tb_records[k]) {
            tb_records[k] = xcalloc(1, sizeof(tb_record));
            kt_on_cleanup(record_cleanup, tb_records[k]);
        }
        *slot = k;
        return tb_records[k];
    }
    return NULL;
}

static tb_record *record_find(const char *prefix)
{
    for (int k = 0; k < TB_MAX_CLUSTERS; k++) {
        if (tb_records[k] && tb_records[k]->live && strcmp(tb_records[k]->c.prefix, prefix) == 0)
            return tb_records[k];
    }
    return NULL;
}

int tb_cluster_up(tb_cluster *c, int n, kn_error **err)
{
    memset(c, 0, sizeof(*c));
    if (n < 1 || n > TB_MAX_NODES)
        return kn_error_set(err, KN_EINVAL, "testbed: %d nodes (1..%d)", n, TB_MAX_NODES);
    int slot = 0;
    tb_record *r = record_get(&slot);
    if (!r)
        return kn_error_set(err, KN_ETOOMANY, "testbed: more than %d clusters", TB_MAX_CLUSTERS);
    cluster_names(&r->c, slot, n);
    r->live = true;
    /* our PID is in every name, so anything already there is a dead run's */
    if (netns_exists(r->c.lan_netns) || path_exists(r->c.root)) {
        kn_error *e = NULL;
        cluster_teardown(&r->c, &e);
        kn_error_free(&e);
        cluster_names(&r->c, slot, n);
    }
    int ret = cluster_create(&r->c, err);
    if (ret < 0) {
        kn_error *e = NULL;
        cluster_teardown(&r->c, &e);
        kn_error_free(&e);
        r->live = false;
        kn_error_wrap(err, "testbed up (%s)", r->c.prefix);
    }
    *c = r->c;
    return ret < 0 ? ret : 0;
}

int tb_cluster_down(tb_cluster *c, kn_error **err)
{
    tb_record *r = record_find(c->prefix);
    if (!r) {
        /* not ours or already down: remove by name only, never by a PID
         * that may have been reused */
        tb_cluster copy = *c;
        for (int i = 0; i < copy.nnodes && i < TB_MAX_NODES; i++)
            copy.nodes[i].containerd_pid = 0;
        int ret = cluster_teardown(&copy, err);
        for (int i = 0; i < copy.nnodes && i < TB_MAX_NODES; i++)
            c->nodes[i].up = false;
        return ret;
    }
    int ret = cluster_teardown(&r->c, err);
    r->live = false;
    *c = r->c;
    return ret;
}

/* ---- availability ------------------------------------------------------ */

static bool has_images(const char *dir)
{
    char path[600];
    return fmt_into(path, sizeof(path), "%s/pause.tar", dir) && path_exists(path) &&
           fmt_into(path, sizeof(path), "%s/busybox.tar", dir) && path_exists(path);
}

const char *tb_images_dir(void)
{
    static char beside[512];
    const char *d = getenv("KNODE_IMAGES");
    if (d && *d)
        return d;
    /* $(BUILD)/test-integration -> $(BUILD)/images, whatever BUILD is */
    char exe[400];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n > 0) {
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash)
            *slash = '\0';
        if (slash && fmt_into(beside, sizeof(beside), "%s/images", exe) && has_images(beside))
            return beside;
    }
    return "build/images";
}

bool tb_available(char *why, size_t whylen)
{
    static const char *const exes[] = {"ip", "containerd", "ctr", "runc",
                                       "containerd-shim-runc-v2"};
    static const char *const plugins[] = {"bridge", "host-local", "loopback", "portmap"};
    char path[512];
    if (geteuid() != 0) {
        snprintf(why, whylen, "needs root (network namespaces, containerd)");
        return false;
    }
    for (size_t i = 0; i < KN_ARRAY_SIZE(exes); i++) {
        if (!find_exe(exes[i], path, sizeof(path))) {
            snprintf(why, whylen, "%s not installed (make deps)", exes[i]);
            return false;
        }
    }
    for (size_t i = 0; i < KN_ARRAY_SIZE(plugins); i++) {
        snprintf(path, sizeof(path), "%s/%s", TB_CNI_BIN, plugins[i]);
        if (access(path, X_OK) != 0) {
            snprintf(why, whylen, "CNI plugin %s missing (make deps)", path);
            return false;
        }
    }
    static const char *const images[] = {"pause.tar", "busybox.tar"};
    for (size_t i = 0; i < KN_ARRAY_SIZE(images); i++) {
        snprintf(path, sizeof(path), "%s/%s", tb_images_dir(), images[i]);
        if (!path_exists(path)) {
            snprintf(why, whylen, "%s missing: run 'make images' or set KNODE_IMAGES", path);
            return false;
        }
    }
    return true;
}

/* containerd.c - standalone's own supervised containerd. */
#include "kubelet/containerd.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/clock.h"
#include "lib/log.h"
#include "lib/strbuf.h"
#include "lib/xalloc.h"

#define COMPONENT "containerd"
#define SEC INT64_C(1000000000)

struct kl_containerd {
    char *dir, *socket, *endpoint, *config, *log;
    char *containerd_bin, *ctr_bin;
    pid_t pid;
    int restarts;
    bool stop;
    pthread_t thread;
    bool thread_started;
    pthread_mutex_t mu;
    pthread_cond_t cond;
};

/* ---- config -------------------------------------------------------------------------- */

static void runtime_toml(kn_buf *b, const char *name, const char *bin, const char *root)
{
    const char *p = "plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes";
    kn_buf_appendf(b,
                   "    [%s.%s]\n      runtime_type = \"io.containerd.runc.v2\"\n"
                   "      [%s.%s.options]\n        BinaryName = \"%s\"\n        Root = \"%s\"\n"
                   "        SystemdCgroup = false\n",
                   p, name, p, name, bin, root);
}

static const char *cni_bin_dir(const kl_containerd_opts *o)
{
    if (o->cni_bin_dir && *o->cni_bin_dir)
        return o->cni_bin_dir;
    struct stat st;
    return stat("/usr/lib/cni/bridge", &st) == 0 ? "/usr/lib/cni" : "/opt/cni/bin";
}

char *kl_containerd_config(const kl_containerd_opts *o, const char *runc, const char *crun)
{
    const char *d = o->dir;
    kn_buf b = KN_BUF_INIT;
    kn_buf_appendf(
        &b,
        "version = 2\nroot = \"%s/root\"\nstate = \"%s/state\"\noom_score = 0\n"
        "disabled_plugins = [\"io.containerd.snapshotter.v1.aufs\",\n"
        "  \"io.containerd.snapshotter.v1.btrfs\", \"io.containerd.snapshotter.v1.zfs\",\n"
        "  \"io.containerd.snapshotter.v1.devmapper\",\n"
        "  \"io.containerd.tracing.processor.v1.otlp\", "
        "\"io.containerd.internal.v1.tracing\"]\n"
        "[grpc]\n  address = \"%s/containerd.sock\"\n"
        "[ttrpc]\n  address = \"%s/containerd.sock.ttrpc\"\n"
        "[plugins.\"io.containerd.internal.v1.opt\"]\n  path = \"%s/opt\"\n",
        d, d, d, d, d);
    kn_buf_appendf(&b,
                   "[plugins.\"io.containerd.grpc.v1.cri\"]\n"
                   "  sandbox_image = \"" KL_PAUSE_IMAGE "\"\n"
                   "  stream_server_address = \"127.0.0.1\"\n  stream_server_port = \"%d\"\n"
                   "  enable_tls_streaming = false\n  netns_mounts_under_state_dir = true\n"
                   "  restrict_oom_score_adj = true\n  disable_apparmor = true\n"
                   "  systemd_cgroup = false\n  max_container_log_line_size = 16384\n"
                   "  [plugins.\"io.containerd.grpc.v1.cri\".cni]\n"
                   "    bin_dir = \"%s\"\n    conf_dir = \"%s\"\n    max_conf_num = 1\n"
                   "  [plugins.\"io.containerd.grpc.v1.cri\".containerd]\n"
                   "    snapshotter = \"overlayfs\"\n    default_runtime_name = \"runc\"\n",
                   o->stream_port > 0 ? o->stream_port : 10010, cni_bin_dir(o),
                   o->cni_conf_dir ? o->cni_conf_dir : "/etc/cni/net.d");
    cleanup_free char *rroot = xasprintf("%s/runc", d);
    runtime_toml(&b, "runc", runc, rroot);
    if (crun) {
        cleanup_free char *croot = xasprintf("%s/crun", d);
        runtime_toml(&b, "crun", crun, croot);
    }
    return kn_buf_steal(&b);
}

/* ---- processes ------------------------------------------------------------------------- */

/* The absolute path of exe from PATH, or NULL (caller frees). */
static char *find_exe(const char *exe)
{
    if (strchr(exe, '/'))
        return access(exe, X_OK) == 0 ? xstrdup(exe) : NULL;
    const char *path = getenv("PATH");
    cleanup_free char *dirs = xasprintf(
        "%s:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", path ? path : "");
    char *save = NULL;
    for (char *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
        char *p = xasprintf("%s/%s", d, exe);
        if (access(p, X_OK) == 0)
            return p;
        free(p);
    }
    return NULL;
}

static pid_t spawn(char *const argv[], const char *log, kn_error **err)
{
    pid_t pid = fork();
    if (pid < 0)
        return kn_error_errno(err, errno, "fork");
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        execv(argv[0], argv);
        _exit(127);
    }
    return pid;
}

/* Runs argv to completion; 0 when it exits 0. */
static int run(char *const argv[], const char *log, kn_error **err)
{
    pid_t pid = spawn(argv, log, err);
    if (pid < 0)
        return -1;
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        return kn_error_set(err, KN_EIO, "%s %s failed (status %d; see %s)", argv[0], argv[1], st,
                            log);
    return 0;
}

static int start_process(kl_containerd *c, kn_error **err)
{
    char *argv[] = {c->containerd_bin, "--config", c->config, NULL};
    pid_t pid = spawn(argv, c->log, err);
    if (pid < 0)
        return -1;
    c->pid = pid;
    KN_INFO(COMPONENT, "started containerd (pid %d, %s)", (int)pid, c->endpoint);
    return 0;
}

/* Waits until `ctr version` answers on the socket or containerd exits. */
static int wait_ready(kl_containerd *c, kn_error **err)
{
    char *argv[] = {c->ctr_bin, "-a", c->socket, "version", NULL};
    int64_t end = kn_time_monotonic_ns() + 60 * SEC;
    for (;;) {
        int st = 0;
        if (waitpid(c->pid, &st, WNOHANG) == c->pid) {
            c->pid = 0;
            return kn_error_set(err, KN_EUNAVAILABLE, "containerd exited at start (see %s)",
                                c->log);
        }
        cleanup_free char *devnull = xstrdup("/dev/null");
        kn_error *e = NULL;
        if (access(c->socket, F_OK) == 0 && run(argv, devnull, &e) == 0)
            return 0;
        kn_error_free(&e);
        if (kn_time_monotonic_ns() > end)
            return kn_error_set(err, KN_ETIMEDOUT, "containerd did not answer (see %s)", c->log);
        usleep(100000);
    }
}

static int tar_filter(const struct dirent *d)
{
    size_t n = strlen(d->d_name);
    return n > 4 && strcmp(d->d_name + n - 4, ".tar") == 0;
}

/* Imports the *.tar of dir (pause.tar first: alphabetical order otherwise). */
static int import_dir(kl_containerd *c, const char *dir, kn_error **err)
{
    struct dirent **names = NULL;
    int n = scandir(dir, &names, tar_filter, alphasort);
    int r = 0;
    for (int i = 0; i < n; i++) {
        cleanup_free char *path = xasprintf("%s/%s", dir, names[i]->d_name);
        char *argv[] = {c->ctr_bin, "-a",     c->socket, "-n", "k8s.io",
                        "images",   "import", path,      NULL};
        if (r == 0 && run(argv, c->log, err) < 0)
            r = kn_error_wrap(err, "import %s", path);
        else if (r == 0)
            KN_INFO(COMPONENT, "imported %s", path);
        free(names[i]);
    }
    free(names);
    return r;
}

static int import_images(kl_containerd *c, const char *const *dirs, kn_error **err)
{
    for (size_t i = 0; dirs && dirs[i]; i++)
        if (import_dir(c, dirs[i], err) < 0)
            return -1;
    return 0;
}

/* ---- supervision --------------------------------------------------------------------------- */

static void *supervise(void *arg)
{
    kl_containerd *c = arg;
    int64_t backoff = SEC, started = kn_time_monotonic_ns();
    pthread_mutex_lock(&c->mu);
    while (!c->stop) {
        pid_t pid = c->pid;
        int st = 0;
        pthread_mutex_unlock(&c->mu);
        pid_t w = pid > 0 ? waitpid(pid, &st, WNOHANG) : 0;
        pthread_mutex_lock(&c->mu);
        if (w != pid || pid <= 0 || c->stop) {
            kn_clock_wait_until(NULL, &c->cond, &c->mu, kn_time_monotonic_ns() + SEC / 5);
            continue;
        }
        c->pid = 0;
        if (kn_time_monotonic_ns() - started > 60 * SEC)
            backoff = SEC;
        KN_WARN(COMPONENT, "containerd (pid %d) exited (status %d); restarting in %llds", (int)pid,
                st, (long long)(backoff / SEC));
        int64_t at = kn_time_monotonic_ns() + backoff;
        while (!c->stop && kn_time_monotonic_ns() < at)
            kn_clock_wait_until(NULL, &c->cond, &c->mu, at);
        if (c->stop)
            break;
        backoff = backoff * 2 > 30 * SEC ? 30 * SEC : backoff * 2;
        kn_error *err = NULL;
        if (start_process(c, &err) < 0)
            KN_ERR(COMPONENT, "restart: %s", kn_error_msg(err));
        else
            c->restarts++;
        kn_error_free(&err);
        started = kn_time_monotonic_ns();
    }
    pthread_mutex_unlock(&c->mu);
    return NULL;
}

static int mkdir_p(const char *dir, kn_error **err)
{
    cleanup_free char *p = xstrdup(dir);
    for (char *s = p + 1;; s++) {
        if (*s != '/' && *s != '\0')
            continue;
        char saved = *s;
        *s = '\0';
        if (mkdir(p, 0755) < 0 && errno != EEXIST)
            return kn_error_errno(err, errno, "mkdir %s", p);
        *s = saved;
        if (!saved)
            return 0;
    }
}

static int write_config(kl_containerd *c, const kl_containerd_opts *o, kn_error **err)
{
    cleanup_free char *runc = find_exe(o->runc_bin ? o->runc_bin : "runc");
    cleanup_free char *crun = find_exe(o->crun_bin ? o->crun_bin : "crun");
    if (!runc)
        return kn_error_set(err, KN_ENOTFOUND, "runc not found");
    cleanup_free char *text = kl_containerd_config(o, runc, crun);
    FILE *f = fopen(c->config, "w");
    if (!f)
        return kn_error_errno(err, errno, "create %s", c->config);
    bool ok = fputs(text, f) >= 0;
    if (fclose(f) != 0 || !ok)
        return kn_error_errno(err, errno ? errno : EIO, "write %s", c->config);
    return 0;
}

static int prepare(kl_containerd *c, const kl_containerd_opts *o, kn_error **err)
{
    c->containerd_bin = find_exe(o->containerd_bin ? o->containerd_bin : "containerd");
    c->ctr_bin = find_exe(o->ctr_bin ? o->ctr_bin : "ctr");
    if (!c->containerd_bin || !c->ctr_bin)
        return kn_error_set(err, KN_ENOTFOUND,
                            "containerd and ctr are needed to run a runtime of our own (or "
                            "give --container-runtime-endpoint)");
    if (mkdir_p(c->dir, err) < 0 || (o->cni_conf_dir && mkdir_p(o->cni_conf_dir, err) < 0))
        return -1;
    if (strlen(c->socket) >= 100)
        return kn_error_set(err, KN_EINVAL, "socket path %s is too long for a unix socket",
                            c->socket);
    return write_config(c, o, err);
}

int kl_containerd_start(const kl_containerd_opts *o, kl_containerd **out, kn_error **err)
{
    kl_containerd *c = xcalloc(1, sizeof(*c));
    c->dir = xstrdup(o->dir);
    c->socket = xasprintf("%s/containerd.sock", o->dir);
    c->endpoint = xasprintf("unix://%s", c->socket);
    c->config = xasprintf("%s/config.toml", o->dir);
    c->log = xasprintf("%s/containerd.log", o->dir);
    pthread_mutex_init(&c->mu, NULL);
    kn_cond_init(&c->cond);
    if (prepare(c, o, err) < 0 || start_process(c, err) < 0 || wait_ready(c, err) < 0 ||
        import_images(c, o->image_dirs, err) < 0) {
        kl_containerd_stop(c);
        return kn_error_wrap(err, "containerd");
    }
    if (pthread_create(&c->thread, NULL, supervise, c) != 0) {
        kl_containerd_stop(c);
        return kn_error_set(err, KN_EINTERNAL, "start the containerd supervisor");
    }
    c->thread_started = true;
    *out = c;
    return 0;
}

const char *kl_containerd_endpoint(const kl_containerd *c)
{
    return c->endpoint;
}

pid_t kl_containerd_pid(kl_containerd *c)
{
    pthread_mutex_lock(&c->mu);
    pid_t p = c->pid;
    pthread_mutex_unlock(&c->mu);
    return p;
}

int kl_containerd_restarts(kl_containerd *c)
{
    pthread_mutex_lock(&c->mu);
    int n = c->restarts;
    pthread_mutex_unlock(&c->mu);
    return n;
}

static void terminate(pid_t pid)
{
    if (pid <= 0)
        return;
    kill(pid, SIGTERM);
    for (int i = 0; i < 100; i++) {
        if (waitpid(pid, NULL, WNOHANG) == pid)
            return;
        usleep(100000);
    }
    KN_WARN(COMPONENT, "containerd (pid %d) did not stop; killing it", (int)pid);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

void kl_containerd_stop(kl_containerd *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&c->mu);
    c->stop = true;
    pthread_cond_broadcast(&c->cond);
    pthread_mutex_unlock(&c->mu);
    if (c->thread_started)
        pthread_join(c->thread, NULL);
    terminate(c->pid);
    pthread_mutex_destroy(&c->mu);
    pthread_cond_destroy(&c->cond);
    free(c->dir);
    free(c->socket);
    free(c->endpoint);
    free(c->config);
    free(c->log);
    free(c->containerd_bin);
    free(c->ctr_bin);
    free(c);
}

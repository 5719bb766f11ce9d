/* kt.c - the runner: forks each test, enforces timeouts, captures output. */
#include "test/runner/kt.h"

#include <errno.h>
#include <fnmatch.h>
#include <ftw.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { KT_EXIT_FAIL = 1, KT_EXIT_SKIP = 77, KT_MAX_CLEANUPS = 16 };

static kt_case *kt_head;
static size_t kt_count;
static char kt_dir[256];

typedef struct kt_cleanup {
    void (*fn)(void *);
    void *arg;
} kt_cleanup;
static kt_cleanup kt_cleanups[KT_MAX_CLEANUPS];
static volatile sig_atomic_t kt_ncleanups;

void kt_register(kt_case *c)
{
    c->next = kt_head;
    kt_head = c;
    kt_count++;
}

const char *kt_tmpdir(void)
{
    return kt_dir;
}

void kt_on_cleanup(void (*fn)(void *), void *arg)
{
    if (kt_ncleanups >= KT_MAX_CLEANUPS)
        KT_FAIL("too many cleanups registered");
    kt_cleanups[kt_ncleanups].fn = fn;
    kt_cleanups[kt_ncleanups].arg = arg;
    kt_ncleanups++;
}

void kt_run_cleanups(void)
{
    while (kt_ncleanups > 0) {
        kt_cleanup c = kt_cleanups[--kt_ncleanups];
        c.fn(c.arg);
    }
}

void kt_fail_at(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s:%d: ", file, line);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    fflush(NULL);
    kt_run_cleanups();
    _exit(KT_EXIT_FAIL);
}

void kt_skip(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("SKIP-REASON: ");
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    fflush(NULL);
    kt_run_cleanups();
    _exit(KT_EXIT_SKIP);
}

static void on_term(int sig)
{
    (void)sig;
    fprintf(stderr, "test stopped by its timeout; running cleanups\n");
    kt_run_cleanups();
    _exit(KT_EXIT_FAIL);
}

/* A test that crashes (or aborts in a sanitizer) still tears down what it
 * registered, then dies by the same signal so the runner reports it. */
static void on_crash(int sig)
{
    static volatile sig_atomic_t in_crash;
    if (!in_crash) {
        in_crash = 1;
        kt_run_cleanups();
    }
    signal(sig, SIG_DFL);
    raise(sig);
}

static int cmp_case(const void *a, const void *b)
{
    const kt_case *x = *(kt_case *const *)a, *y = *(kt_case *const *)b;
    int r = strcmp(x->suite, y->suite);
    return r ? r : strcmp(x->name, y->name);
}

static bool matches(const kt_case *c, int nfilters, char **filters)
{
    /* benchmarks run only when asked for by name */
    if (nfilters == 0)
        return strcmp(c->suite, "bench") != 0;
    char full[256];
    snprintf(full, sizeof(full), "%s.%s", c->suite, c->name);
    for (int i = 0; i < nfilters; i++) {
        if (strstr(full, filters[i]) || fnmatch(filters[i], full, 0) == 0)
            return true;
    }
    return false;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void child_run(const kt_case *c, int outfd)
{
    setpgid(0, 0);
    dup2(outfd, STDOUT_FILENO);
    dup2(outfd, STDERR_FILENO);
    struct sigaction sa = {.sa_handler = on_term};
    sigaction(SIGTERM, &sa, NULL);
    static const int crash_signals[] = {SIGABRT, SIGSEGV, SIGBUS, SIGFPE, SIGILL};
    struct sigaction crash = {.sa_handler = on_crash, .sa_flags = SA_NODEFER};
    for (size_t i = 0; i < sizeof(crash_signals) / sizeof(crash_signals[0]); i++)
        sigaction(crash_signals[i], &crash, NULL);
    c->fn();
    fflush(NULL);
    kt_run_cleanups();
    exit(0);
}

/* Waits for pid up to timeout; on timeout SIGTERM (cleanups run), then
 * SIGKILL of the test's process group. Returns the wait status. */
static int wait_child(pid_t pid, int timeout_s, bool *timed_out)
{
    double deadline = now_s() + timeout_s, kill_at = 0;
    int status = 0;
    for (;;) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid)
            break;
        if (r < 0 && errno != EINTR)
            return -1;
        double t = now_s();
        if (!*timed_out && t > deadline) {
            *timed_out = true;
            kill(pid, SIGTERM);
            kill_at = t + 30;
        } else if (*timed_out && kill_at && t > kill_at) {
            kill(-pid, SIGKILL);
            kill(pid, SIGKILL);
            kill_at = 0;
        }
        usleep(5000);
    }
    /* whatever the test left in its process group goes with it */
    kill(-pid, SIGKILL);
    return status;
}

static void print_output(int fd, const char *prefix, bool only_skip_reason)
{
    off_t len = lseek(fd, 0, SEEK_END);
    if (len <= 0)
        return;
    char *buf = malloc((size_t)len + 1);
    if (!buf || pread(fd, buf, (size_t)len, 0) != len) {
        free(buf);
        return;
    }
    buf[len] = '\0';
    if (only_skip_reason) {
        char *r = strstr(buf, "SKIP-REASON: ");
        if (r) {
            char *nl = strchr(r, '\n');
            if (nl)
                *nl = '\0';
            printf("%s%s", prefix, r + 13);
        }
    } else {
        for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n"))
            printf("%s%s\n", prefix, line);
    }
    free(buf);
}

typedef struct kt_totals {
    int passed, failed, skipped;
} kt_totals;

static void run_one(const kt_case *c, kt_totals *t, bool verbose)
{
    snprintf(kt_dir, sizeof(kt_dir), "/tmp/kt-%s-%s-XXXXXX", c->suite, c->name);
    if (!mkdtemp(kt_dir)) {
        perror("mkdtemp");
        exit(2);
    }
    int outfd = memfd_create("kt-out", 0);
    fflush(NULL);
    double start = now_s();
    pid_t pid = fork();
    if (pid == 0)
        child_run(c, outfd);
    bool timed_out = false;
    int status = wait_child(pid, c->timeout_s, &timed_out);
    double took = now_s() - start;
    nftw(kt_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);

    int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    if (!timed_out && code == 0) {
        t->passed++;
        printf("PASS %s.%s (%.2fs)\n", c->suite, c->name, took);
        if (verbose)
            print_output(outfd, "    ", false);
    } else if (!timed_out && code == KT_EXIT_SKIP) {
        t->skipped++;
        printf("SKIP %s.%s: ", c->suite, c->name);
        print_output(outfd, "", true);
        printf("\n");
    } else {
        t->failed++;
        if (timed_out)
            printf("FAIL %s.%s: timed out after %ds\n", c->suite, c->name, c->timeout_s);
        else if (WIFSIGNALED(status))
            printf("FAIL %s.%s: killed by signal %d\n", c->suite, c->name, WTERMSIG(status));
        else
            printf("FAIL %s.%s (%.2fs)\n", c->suite, c->name, took);
        print_output(outfd, "    | ", false);
    }
    close(outfd);
    fflush(stdout);
}

int main(int argc, char **argv)
{
    bool list = argc > 1 && strcmp(argv[1], "-l") == 0;
    int nfilters = argc - 1 - (list ? 1 : 0);
    char **filters = argv + 1 + (list ? 1 : 0);
    bool verbose = getenv("KT_VERBOSE") && strcmp(getenv("KT_VERBOSE"), "1") == 0;

    kt_case **cases = calloc(kt_count ? kt_count : 1, sizeof(*cases));
    size_t n = 0;
    for (kt_case *c = kt_head; c; c = c->next)
        cases[n++] = c;
    qsort(cases, n, sizeof(*cases), cmp_case);

    setvbuf(stdout, NULL, _IOLBF, 0);
    kt_totals t = {0, 0, 0};
    for (size_t i = 0; i < n; i++) {
        if (!matches(cases[i], nfilters, filters))
            continue;
        if (list) {
            printf("%s.%s\n", cases[i]->suite, cases[i]->name);
            continue;
        }
        run_one(cases[i], &t, verbose);
    }
    free(cases);
    if (!list)
        printf("%d passed, %d failed, %d skipped\n", t.passed, t.failed, t.skipped);
    return t.failed ? 1 : 0;
}

char *kt_beside_self(const char *name)
{
    char self[512];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    KT_ASSERT(n > 0);
    self[n] = '\0';
    *strrchr(self, '/') = '\0';
    size_t len = strlen(self) + strlen(name) + 2;
    char *path = malloc(len);
    KT_ASSERT(path != NULL);
    snprintf(path, len, "%s/%s", self, name);
    return path;
}

/* test-agent-bench.c - benchmarks of the node agent (`make bench`; suite
 * "bench", which the runner runs only when a filter names it). Never
 * pass/fail on figures: each is printed beside its peer measured in the
 * same run on the same testbed node.
 *
 * - Pod startup: 30 and 100 pods (bound to the node, so the scheduler is
 *   not measured) created at once with one `kubectl create`; for each pod
 *   the time from its ADDED event to its first Running event, both seen by
 *   one `kubectl get -w`; p50/p99. Peer: the same sandbox and container
 *   configs (built by the kubelet's own functions from the same pod spec)
 *   driven straight through CRI, RunPodSandbox + CreateContainer +
 *   StartContainer, one thread per pod released at once: the runtime's
 *   limit.
 * - RSS of the `knode kubelet` process with 0, 30 and 100 running pods, and
 *   its two parts: anonymous memory (heap, stacks; what cAdvisor's
 *   container_memory_rss counts, the cgroup's "anon", and so what upstream's
 *   e2e budget bounds) and file-backed pages (the shared libraries' code and
 *   read-only data, shared with every other process mapping them).
 * - CPU of that process over 30 s with 100 idle pods (utime+stime from
 *   /proc/PID/stat), as a share of one core. */
#include <dirent.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cri/msg.h"
#include "cri/runtime.h"
#include "kubelet/config.h"
#include "kubelet/containers.h"
#include "kubelet/dns.h"
#include "kubelet/sandbox.h"
#include "lib/cleanup.h"
#include "lib/json.h"
#include "lib/strbuf.h"
#include "lib/xalloc.h"
#include "lib/yaml.h"
#include "test/integration/test-agent-env.h"
#include "test/runner/kt.h"

#define MAX_PODS 100
#define IDLE_S 30

static const char POD[] = "apiVersion: v1\nkind: Pod\nmetadata:\n"
                          "  name: b%d-%d\n  namespace: default\n  uid: bench-%d-%d\n"
                          "  labels: {bench: \"%d\"}\nspec:\n  nodeName: nodea\n"
                          "  terminationGracePeriodSeconds: 1\n"
                          "  containers:\n  - name: c\n    image: localhost/busybox:1.35\n"
                          "    imagePullPolicy: Never\n    command: [sleep, '3600']\n";

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Nearest-rank percentile p (0..100) of v[0..n) (sorted in place). */
static double percentile(double *v, int n, double p)
{
    qsort(v, (size_t)n, sizeof(*v), cmp_double);
    int rank = (int)((p / 100.0) * n + 0.999999);
    return v[rank < 1 ? 0 : rank - 1];
}

/* ---- through the API: a watch sees each pod added and running ------------------------------- */

typedef struct watch {
    pthread_t thread;
    pthread_mutex_t mu;
    pid_t pid;
    FILE *in;
    int n, running;
    char names[MAX_PODS][64];
    double added[MAX_PODS], run[MAX_PODS];
} watch;

static int watch_slot(watch *w, const char *name)
{
    for (int i = 0; i < w->n; i++)
        if (strcmp(w->names[i], name) == 0)
            return i;
    if (w->n == MAX_PODS)
        return -1;
    snprintf(w->names[w->n], sizeof(w->names[0]), "%s", name);
    w->added[w->n] = now_s();
    w->run[w->n] = 0;
    return w->n++;
}

static void *watch_main(void *arg)
{
    watch *w = arg;
    char line[256], name[64], phase[32];
    while (fgets(line, sizeof(line), w->in)) {
        if (sscanf(line, "%63s %31s", name, phase) < 1)
            continue;
        pthread_mutex_lock(&w->mu);
        int i = watch_slot(w, name);
        if (i >= 0 && w->run[i] == 0 && strcmp(phase, "Running") == 0) {
            w->run[i] = now_s();
            w->running++;
        }
        pthread_mutex_unlock(&w->mu);
    }
    return NULL;
}

static void watch_start(watch *w, int label)
{
    memset(w, 0, sizeof(*w));
    pthread_mutex_init(&w->mu, NULL);
    char sel[32];
    snprintf(sel, sizeof(sel), "bench=%d", label);
    char *argv[] = {"kubectl",     "--kubeconfig",
                    AE.kubeconfig, "get",
                    "pods",        "-l",
                    sel,           "-w",
                    "-o",          "jsonpath={.metadata.name} {.status.phase}{\"\\n\"}",
                    NULL};
    int fd = -1;
    w->pid = ae_spawn(AE.tb.nodes[0].netns, NULL, argv, &fd);
    w->in = fdopen(fd, "r");
    KT_ASSERT(w->in);
    KT_ASSERT(pthread_create(&w->thread, NULL, watch_main, w) == 0);
    sleep(2); /* the watch is established (no pod of the label exists yet) */
}

static void watch_stop(watch *w)
{
    ae_stop_pid(&w->pid, true);
    pthread_join(w->thread, NULL);
    fclose(w->in);
    pthread_mutex_destroy(&w->mu);
}

static char *pods_yaml(int n)
{
    kn_buf b = KN_BUF_INIT;
    for (int i = 0; i < n; i++) {
        kn_buf_appendf(&b, "---\n");
        kn_buf_appendf(&b, POD, n, i, n, i, n);
    }
    return kn_buf_steal(&b);
}

/* Creates n pods at once; fills lat[0..n) with add-to-running seconds. */
static void api_startup(int n, double *lat)
{
    watch w;
    watch_start(&w, n);
    cleanup_free char *yaml = pods_yaml(n);
    cleanup_free char *path = xasprintf("%s/bench-%d.yaml", AE.dir, n);
    FILE *f = fopen(path, "w");
    KT_ASSERT(f && fputs(yaml, f) >= 0 && fclose(f) == 0);
    cleanup_free char *args = xasprintf("create -f %s", path);
    ae_kubectl_ok(args);
    time_t end = time(NULL) + 2 * AE_WAIT_S + n * 3;
    for (;;) {
        pthread_mutex_lock(&w.mu);
        int running = w.running;
        pthread_mutex_unlock(&w.mu);
        if (running == n)
            break;
        KT_ASSERT_MSG(time(NULL) < end, "%d of %d pods running", running, n);
        usleep(200000);
    }
    watch_stop(&w);
    KT_ASSERT_EQ(w.n, n);
    for (int i = 0; i < n; i++)
        lat[i] = w.run[i] - w.added[i];
}

static void api_delete(int n)
{
    cleanup_free char *args = xasprintf("delete pods -l bench=%d --wait=true --timeout=600s", n);
    ae_kubectl_ok(args);
}

/* ---- the bare CRI loop ------------------------------------------------------------------------
 */

typedef struct bare {
    int n;
    const kl_node_config *nc;
    pthread_barrier_t go;
    double t0;
    double lat[MAX_PODS];
    char *sandbox[MAX_PODS];
    kn_error *err[MAX_PODS];
} bare;

typedef struct bare_arg {
    bare *b;
    int i;
} bare_arg;

static kl_pod *bench_pod(int n, int i)
{
    cleanup_free char *yaml = xasprintf(POD, n + 1000, i, n + 1000, i, n + 1000);
    cleanup_cjson cJSON *doc = NULL;
    kn_error *err = NULL;
    KT_ASSERT_OK(kn_yaml_parse(yaml, strlen(yaml), 0, "pod", 0, &doc, &err), err);
    kl_pod *pod = NULL;
    KT_ASSERT_OK(kl_pod_decode(doc, &pod, &err), err);
    return pod;
}

/* What the kubelet does for a new pod, minus everything but CRI calls (and
 * the log directory, which the runtime needs). */
static int bare_pod(bare *b, cri_conn *cri, kl_pod *pod, int i, kn_error **err)
{
    kl_dns_config host = {0};
    Runtime__V1__PodSandboxConfig *sc = NULL;
    Runtime__V1__ContainerConfig *cc = NULL;
    char *cid = NULL;
    cleanup_free char *logs = kl_pod_log_dir(b->nc, pod);
    mkdir(logs, 0755);
    kl_container_ctx ctx = {.nc = b->nc, .image_ref = "localhost/busybox:1.35"};
    int r = kl_sandbox_config(pod, b->nc, &host, 0, &sc, err);
    if (r == 0)
        r = cri_runtime_run_sandbox(cri, sc, NULL, &b->sandbox[i], err);
    if (r == 0)
        r = kl_container_config(pod, &pod->containers[0], &ctx, &cc, err);
    if (r == 0)
        r = cri_runtime_create_container(cri, b->sandbox[i], cc, sc, &cid, err);
    if (r == 0)
        r = cri_runtime_start_container(cri, cid, err);
    free(cid);
    cri_msg_free(cc);
    cri_msg_free(sc);
    return r;
}

static void *bare_main(void *arg)
{
    bare_arg *a = arg;
    bare *b = a->b;
    kl_pod *pod = bench_pod(b->n, a->i);
    cri_conn *cri = NULL;
    if (cri_conn_new(AE.tb.nodes[0].endpoint, 0, &cri, &b->err[a->i]) == 0) {
        pthread_barrier_wait(&b->go);
        if (bare_pod(b, cri, pod, a->i, &b->err[a->i]) == 0)
            b->lat[a->i] = now_s() - b->t0;
    } else {
        pthread_barrier_wait(&b->go);
    }
    cri_conn_free(cri);
    kl_pod_unref(pod);
    return NULL;
}

static void bare_cleanup(bare *b)
{
    cri_conn *cri = NULL;
    kn_error *err = NULL;
    KT_ASSERT_OK(cri_conn_new(AE.tb.nodes[0].endpoint, 0, &cri, &err), err);
    for (int i = 0; i < b->n; i++) {
        if (b->sandbox[i] && (cri_runtime_stop_sandbox(cri, b->sandbox[i], &err) < 0 ||
                              cri_runtime_remove_sandbox(cri, b->sandbox[i], &err) < 0))
            kn_error_free(&err);
        free(b->sandbox[i]);
    }
    cri_conn_free(cri);
}

static void bare_startup(int n, const kl_node_config *nc, double *lat)
{
    bare *b = xcalloc(1, sizeof(*b));
    b->n = n;
    b->nc = nc;
    pthread_barrier_init(&b->go, NULL, (unsigned)n + 1);
    pthread_t th[MAX_PODS];
    bare_arg args[MAX_PODS];
    for (int i = 0; i < n; i++) {
        args[i] = (bare_arg){b, i};
        KT_ASSERT(pthread_create(&th[i], NULL, bare_main, &args[i]) == 0);
    }
    b->t0 = now_s();
    pthread_barrier_wait(&b->go);
    for (int i = 0; i < n; i++)
        pthread_join(th[i], NULL);
    pthread_barrier_destroy(&b->go);
    for (int i = 0; i < n; i++) {
        KT_ASSERT_MSG(!b->err[i], "bare pod %d: %s", i, kn_error_msg(b->err[i]));
        lat[i] = b->lat[i];
    }
    bare_cleanup(b);
    free(b);
}

/* ---- the benchmark ------------------------------------------------------------------------------
 */

static void print_startup(int n, double *api, double *cri)
{
    double a50 = percentile(api, n, 50), a99 = percentile(api, n, 99);
    double c50 = percentile(cri, n, 50), c99 = percentile(cri, n, 99);
    printf("BENCH pod startup, %d pods at once: p50 %.2f s, p99 %.2f s  vs  bare CRI loop: "
           "p50 %.2f s, p99 %.2f s  ratio p50 %.2f, p99 %.2f (target p99 <= 1.15)\n",
           n, a50, a99, c50, c99, a50 / c50, a99 / c99);
}

/* The value of field (e.g. "RssAnon:") in /proc/PID/status in KiB, or -1. */
static long status_kb(pid_t pid, const char *field)
{
    char path[64], line[256];
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    cleanup_file FILE *f = fopen(path, "r");
    long kb = -1;
    size_t n = strlen(field);
    while (f && fgets(line, sizeof(line), f))
        if (strncmp(line, field, n) == 0 && sscanf(line + n, "%ld", &kb) == 1)
            break;
    return kb;
}

/* KT_BENCH_SMAPS_DIR=<dir>: keep the agent's smaps at each RSS reading
 * (smaps-<pods>), to see which mappings the figure is made of. */
static void keep_smaps(int pods)
{
    const char *dir = getenv("KT_BENCH_SMAPS_DIR");
    if (!dir || !*dir)
        return;
    cleanup_free char *src = xasprintf("/proc/%d/smaps", (int)AE.agent[0]);
    cleanup_free char *dst = xasprintf("%s/smaps-%d", dir, pods);
    cleanup_file FILE *in = fopen(src, "r");
    cleanup_file FILE *out = fopen(dst, "w");
    char buf[4096];
    size_t n;
    while (in && out && (n = fread(buf, 1, sizeof(buf), in)) > 0)
        fwrite(buf, 1, n, out);
    /* and its threads, by name */
    cleanup_free char *tasks = xasprintf("/proc/%d/task", (int)AE.agent[0]);
    cleanup_free char *names = xasprintf("%s/threads-%d", dir, pods);
    cleanup_file FILE *tout = fopen(names, "w");
    DIR *d = opendir(tasks);
    for (struct dirent *e; d && tout && (e = readdir(d));) {
        if (e->d_name[0] == '.')
            continue;
        cleanup_free char *comm = xasprintf("%s/%s/comm", tasks, e->d_name);
        cleanup_file FILE *cf = fopen(comm, "r");
        char name[64] = "";
        if (cf && fgets(name, sizeof(name), cf))
            fputs(name, tout);
    }
    if (d)
        closedir(d);
}

static void print_rss(int pods)
{
    keep_smaps(pods);
    long kb = ae_rss_kb(AE.agent[0]);
    long anon = status_kb(AE.agent[0], "RssAnon:"), file = status_kb(AE.agent[0], "RssFile:");
    printf("BENCH knode kubelet RSS with %d running pods: %.1f MB = anon %.1f MB + file-backed "
           "%.1f MB (target <= 20 MB at 100; upstream kubelet e2e budget 300 MiB of anon)\n",
           pods, (double)kb / 1024.0, (double)anon / 1024.0, (double)file / 1024.0);
}

static void print_idle_cpu(int pods)
{
    long hz = sysconf(_SC_CLK_TCK);
    long long t0 = ae_cpu_ticks(AE.agent[0]);
    double w0 = now_s();
    sleep(IDLE_S);
    long long t1 = ae_cpu_ticks(AE.agent[0]);
    double share = (double)(t1 - t0) / (double)hz / (now_s() - w0);
    printf("BENCH knode kubelet CPU with %d idle pods over %d s: %.2f%% of one core "
           "(target < 1%%)\n",
           pods, IDLE_S, share * 100.0);
}

KT_TEST_TIMEOUT(bench, kubelet_pod_startup_rss_cpu, 1800)
{
    ae_setup(1, false);
    char *extra[] = {"--kubeconfig", AE.kubeconfig, NULL};
    ae_start_agent(0, "kubelet", extra);
    ae_node_ready(0);
    sleep(5);
    print_rss(0);
    static double api30[30], api100[100], cri30[30], cri100[100];
    api_startup(30, api30);
    sleep(5);
    print_rss(30);
    api_delete(30);
    api_startup(100, api100);
    sleep(5);
    print_rss(100);
    print_idle_cpu(100);
    api_delete(100);
    ae_stop_agent(0, false); /* the runtime alone for the bare loop */
    kl_node_config nc;
    kl_node_config_defaults(&nc);
    nc.node_name = "nodea";
    nc.node_ips[0] = AE.tb.nodes[0].node_ip;
    cleanup_free char *logs = xasprintf("%s/pod-logs-bare", AE.dir);
    cleanup_free char *root = xasprintf("%s/kubelet-bare", AE.dir);
    cleanup_free char *cgroot = xstrdup(AE.tb.nodes[0].cgroup_parent);
    *strrchr(cgroot, '/') = '\0';
    KT_ASSERT(mkdir(logs, 0755) == 0 && mkdir(root, 0755) == 0);
    nc.pod_logs_dir = logs;
    nc.root_dir = root;
    nc.cgroup_root = cgroot;
    nc.resolv_conf = "";
    bare_startup(30, &nc, cri30);
    bare_startup(100, &nc, cri100);
    print_startup(30, api30, cri30);
    print_startup(100, api100, cri100);
}

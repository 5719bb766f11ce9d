/* bench-apiclient.c - the API client beside its limits:
 *  - a 10,000-pod list decoded into an informer's cache (from a real
 *    `knode server` on loopback): time and RSS, beside a bare cJSON parse of
 *    the same list bytes, and memory per cached pod beside the pod's JSON size;
 *  - watch decoding (splitter + event decode), events/s, beside the same
 *    event bytes parsed by cJSON in a tight loop. */
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "api-client/informer.h"
#include "api-client/kubeconfig.h"
#include "api-client/rest.h"
#include "api-client/watch.h"
#include "controlplane/store.h"
#include "lib/json.h"
#include "lib/strbuf.h"
#include "lib/xalloc.h"
#include "test/bench/bench.h"

enum { NPODS = 10000, NEVENTS = 10000 };

static char *pod_json(int i, const char *rv)
{
    return xasprintf(
        "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"web-%05d\","
        "\"namespace\":\"default\",\"uid\":\"0b6f4c3e-1a2b-4c5d-8e9f-%012d\","
        "\"creationTimestamp\":\"2026-11-21T12:00:00Z\",%s\"labels\":{\"app\":\"web\","
        "\"pod-template-hash\":\"5d9c7b8f6\"},\"ownerReferences\":[{\"apiVersion\":\"apps/v1\","
        "\"kind\":\"ReplicaSet\",\"name\":\"web-5d9c7b8f6\",\"uid\":\"1c2d3e4f\",\"controller\":"
        "true,\"blockOwnerDeletion\":true}]},\"spec\":{\"containers\":[{\"name\":\"httpd\","
        "\"image\":\"localhost/busybox:1.35\",\"command\":[\"httpd\",\"-f\",\"-p\",\"8080\"],"
        "\"ports\":[{\"containerPort\":8080,\"protocol\":\"TCP\"}],\"resources\":{\"requests\":"
        "{\"cpu\":\"100m\",\"memory\":\"64Mi\"}},\"imagePullPolicy\":\"IfNotPresent\"}],"
        "\"restartPolicy\":\"Always\",\"dnsPolicy\":\"ClusterFirst\",\"nodeName\":\"node-%d\","
        "\"schedulerName\":\"default-scheduler\",\"serviceAccountName\":\"default\"},"
        "\"status\":{\"phase\":\"Running\",\"podIP\":\"10.244.%d.%d\",\"hostIP\":\"10.250.0.%d\","
        "\"qosClass\":\"Burstable\",\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"}],"
        "\"containerStatuses\":[{\"name\":\"httpd\",\"ready\":true,\"restartCount\":0,"
        "\"image\":\"localhost/busybox:1.35\",\"containerID\":\"containerd://%064d\","
        "\"state\":{\"running\":{\"startedAt\":\"2026-11-21T12:00:01Z\"}}}]}}",
        i, i, rv ? rv : "", i % 100, i / 250 % 250, i % 250 + 1, i % 100 + 1, i);
}

static long rss_kb(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long size = 0, res = 0;
    if (f) {
        if (fscanf(f, "%ld %ld", &size, &res) != 2)
            res = 0;
        fclose(f);
    }
    return res * (sysconf(_SC_PAGESIZE) / 1024);
}

static pid_t start_server(const char *knode, const char *dir, int port)
{
    char p[16];
    snprintf(p, sizeof(p), "%d", port);
    pid_t pid = fork();
    if (pid == 0) {
        char *log = xasprintf("%s/server.log", dir);
        if (!freopen(log, "w", stderr))
            _exit(126);
        execl(knode, knode, "server", "--data-dir", dir, "--bind-address", "127.0.0.1",
              "--secure-port", p, (char *)NULL);
        _exit(127);
    }
    return pid;
}

static kc_client *client_for(const char *dir)
{
    char *kc = xasprintf("%s/admin.kubeconfig", dir);
    kc_config *cfg = NULL;
    kc_client *c = NULL;
    for (int i = 0; i < 100 && !c; i++) {
        usleep(100000);
        kc_config_free(cfg);
        cfg = NULL;
        cJSON *ns = NULL;
        if (access(kc, R_OK) == 0 && kc_config_load(kc, NULL, &cfg, NULL) == 0 &&
            kc_client_new(cfg, NULL, &c, NULL) == 0 &&
            kc_get(c, &kc_res_namespaces, NULL, "default", &ns, NULL) < 0) {
            kc_client_free(c);
            c = NULL;
        }
        cJSON_Delete(ns);
    }
    kc_config_free(cfg);
    free(kc);
    return c;
}

/* The size="N" attribute of the last element of malloc_info's XML that
 * starts with prefix. */
static size_t last_size(const char *xml, const char *prefix)
{
    const char *last = NULL;
    for (const char *p = strstr(xml, prefix); p; p = strstr(p + 1, prefix))
        last = p;
    const char *sz = last ? strstr(last, "size=\"") : NULL;
    return sz ? strtoull(sz + 6, NULL, 10) : 0;
}

/* Heap bytes in use in every malloc arena (from malloc_info's totals). */
static size_t heap_in_use(void)
{
    char *xml = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&xml, &len);
    if (!f)
        return 0;
    malloc_info(0, f);
    fclose(f);
    /* the totals over every arena come last */
    size_t system = last_size(xml, "<system type=\"current\" size=\"");
    size_t free_fast = last_size(xml, "<total type=\"fast\" count=\"");
    size_t free_rest = last_size(xml, "<total type=\"rest\" count=\"");
    size_t mmap = last_size(xml, "<total type=\"mmap\" count=\"");
    free(xml);
    return system - free_fast - free_rest + mmap;
}

/* Lists NPODS pods into a fresh informer and reports time and memory. */
static void measure_informer(const char *dir, double bare_ms, size_t text_len, size_t json_bytes)
{
    kc_client *c = client_for(dir);
    if (!c)
        return;
    long rss0 = rss_kb();
    size_t heap0 = heap_in_use();
    kc_informer_options io = {.ns = "default"};
    kc_informer *inf = kc_informer_new(c, &kc_res_pods, &io);
    double t0 = bench_now();
    kc_informer_start(inf, NULL);
    kc_informer_wait_synced(inf, 120LL * 1000000000);
    double inf_ms = (bench_now() - t0) * 1e3;
    long rss1 = rss_kb();
    size_t heap1 = heap_in_use();
    bench_report("informer: 10,000-pod list into the cache", inf_ms,
                 "bare cJSON parse of the list (limit)", bare_ms, "ms", 1);
    printf("%-44s %10zu pods, list %zu bytes, RSS +%ld KiB, heap in use +%zu KiB\n",
           "informer: cache", kc_informer_len(inf), text_len, rss1 - rss0, (heap1 - heap0) / 1024);
    bench_report("informer: memory per cached pod (heap)", (double)(heap1 - heap0) / NPODS,
                 "the pod's JSON size x1.5 (target)", (double)json_bytes / NPODS * 1.5, "bytes", 1);
    bench_report("informer: memory per cached pod (RSS)", (double)(rss1 - rss0) * 1024 / NPODS,
                 "the pod's JSON size x1.5 (target)", (double)json_bytes / NPODS * 1.5, "bytes", 1);
    kc_informer_stop(inf);
    kc_informer_free(inf);
    kc_client_free(c);
}

static void bench_informer(const char *knode)
{
    char dir[] = "/tmp/knode-bench-api-XXXXXX";
    if (!mkdtemp(dir))
        return;
    char *url = xasprintf("sqlite://%s/state.db", dir);
    kn_store *st = NULL;
    if (kn_store_open(url, &st, NULL) < 0)
        return;
    size_t json_bytes = 0;
    for (int i = 0; i < NPODS; i++) {
        char *pod = pod_json(i, NULL), key[96];
        snprintf(key, sizeof(key), "/registry/core/pods/default/web-%05d", i);
        int64_t rev;
        kn_store_create(st, key, pod, strlen(pod), &rev, NULL);
        json_bytes += strlen(pod);
        free(pod);
    }
    kn_store_close(st);
    int port = 20000 + getpid() % 20000;
    pid_t server = start_server(knode, dir, port);
    kc_client *c = client_for(dir);
    if (!c) {
        printf("api-client: knode server did not start (see %s/server.log)\n", dir);
        kill(server, SIGTERM);
        waitpid(server, NULL, 0);
        return;
    }
    /* the list bytes, parsed bare (the parser's limit) */
    cJSON *list = NULL;
    kc_list_options lo = {0};
    kc_list(c, &kc_res_pods, "default", &lo, &list, NULL);
    char *text = kn_json_print(list);
    cJSON_Delete(list);
    double t0 = bench_now();
    cJSON_Delete(cJSON_Parse(text));
    double bare_ms = (bench_now() - t0) * 1e3;
    size_t text_len = strlen(text);
    free(text);

    kc_client_free(c);
    fflush(stdout);
    /* the cache is measured in a fresh process (exec'd), so memory the
     * bare parse left with the allocator neither hides nor inflates it */
    pid_t child = fork();
    if (child == 0) {
        char a[3][64];
        snprintf(a[0], sizeof(a[0]), "%.3f", bare_ms);
        snprintf(a[1], sizeof(a[1]), "%zu", text_len);
        snprintf(a[2], sizeof(a[2]), "%zu", json_bytes);
        execl("/proc/self/exe", "bench-apiclient", "--measure-informer", dir, a[0], a[1], a[2],
              (char *)NULL);
        _exit(127);
    }
    waitpid(child, NULL, 0);
    kill(server, SIGTERM);
    waitpid(server, NULL, 0);
    char *rm = xasprintf("rm -rf %s", dir);
    if (system(rm) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    free(rm);
    free(url);
}

static void bench_watch(void)
{
    kn_buf stream;
    kn_buf_init(&stream);
    size_t *ends = xcalloc(NEVENTS, sizeof(*ends));
    for (int i = 0; i < NEVENTS; i++) {
        char rv[48];
        snprintf(rv, sizeof(rv), "\"resourceVersion\":\"%d\",", 100000 + i);
        char *pod = pod_json(i, rv);
        kn_buf_appendf(&stream, "{\"type\":\"MODIFIED\",\"object\":%s}\n", pod);
        ends[i] = stream.len;
        free(pod);
    }
    kc_json_splitter sp;
    kc_splitter_init(&sp, 4 << 20);
    int n = 0;
    double t0 = bench_now();
    for (size_t off = 0; off < stream.len;) {
        size_t chunk = stream.len - off < 16384 ? stream.len - off : 16384, used = 0;
        while (used < chunk) {
            size_t consumed = 0, vlen = 0;
            const char *v = NULL;
            if (kc_splitter_feed(&sp, stream.data + off + used, chunk - used, &consumed, &v, &vlen,
                                 NULL) < 0)
                break;
            used += consumed;
            if (v) {
                kc_watch_event ev = {0};
                if (kc_watch_event_decode(v, vlen, &ev, NULL) == 0)
                    n++;
                kc_watch_event_clear(&ev);
            }
            if (!consumed)
                break;
        }
        off += chunk;
    }
    double ours = n / (bench_now() - t0);
    kc_splitter_free(&sp);
    t0 = bench_now();
    size_t start = 0;
    for (int i = 0; i < NEVENTS; i++) {
        cJSON_Delete(cJSON_ParseWithLength(stream.data + start, ends[i] - start));
        start = ends[i];
    }
    double limit = NEVENTS / (bench_now() - t0);
    bench_report("watch: decode events (splitter + decode)", ours / 1000,
                 "cJSON parse of each event (limit)", limit / 1000, "k ev/s", 0);
    free(ends);
    kn_buf_free(&stream);
}

int main(int argc, char **argv)
{
    if (argc == 6 && strcmp(argv[1], "--measure-informer") == 0) {
        measure_informer(argv[2], strtod(argv[3], NULL), strtoull(argv[4], NULL, 10),
                         strtoull(argv[5], NULL, 10));
        return 0;
    }
    char *self = xstrdup(argv[0]);
    char *slash = strrchr(self, '/');
    if (slash)
        *slash = '\0';
    char *knode = xasprintf("%s/../knode", slash ? self : ".");
    bench_watch();
    bench_informer(knode);
    free(knode);
    free(self);
    return 0;
}

/* bench-apiserver.c - the API server's watch fan-out and memory:
 *   - 100 watchers of one collection on a running `knode server` receive
 *     one change (a PATCH): milliseconds from sending the PATCH until the
 *     last watcher has its event, beside the same change seen by 100 threads
 *     waiting on the store API directly (the store's limit);
 *   - the resident memory of `knode server` holding 1,000 pods, beside the
 *     same server idle (before the pods).
 * The server runs from the build directory (../knode), on 127.0.0.1 at an
 * ephemeral port, with a temporary data dir. Never pass/fail. */
#include <curl/curl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <unistd.h>

#include "controlplane/store.h"
#include "lib/xalloc.h"
#include "test/bench/bench.h"

enum { WATCHERS = 100, PODS = 1000 };

typedef struct server {
    pid_t pid;
    int port;
    char tmp[64]; /* temporary directory, removed at the end */
    char dir[96]; /* the data dir in it */
} server;

/* ---- the server process -------------------------------------------------------------- */

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(sa);
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
        return -1;
    getsockname(fd, (struct sockaddr *)&sa, &len);
    close(fd);
    return ntohs(sa.sin_port);
}

/* A curl handle for path on the server with the admin client certificate. */
static CURL *handle(const server *s, const char *path)
{
    char url[512], cert[128], key[128];
    snprintf(url, sizeof(url), "https://127.0.0.1:%d%s", s->port, path);
    snprintf(cert, sizeof(cert), "%s/admin.crt", s->dir);
    snprintf(key, sizeof(key), "%s/admin.key", s->dir);
    CURL *c = curl_easy_init();
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_SSLCERT, cert);
    curl_easy_setopt(c, CURLOPT_SSLKEY, key);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
    return c;
}

static size_t discard(char *p, size_t n, size_t m, void *ud)
{
    (void)p, (void)ud;
    return n * m;
}

/* One request on c (NULL: a new connection); returns the HTTP status (0 on
 * a transport error). */
static long request_on(CURL *reuse, const server *s, const char *method, const char *path,
                       const char *ctype, const char *body)
{
    CURL *c = reuse ? reuse : handle(s, path);
    struct curl_slist *h = NULL;
    char ct[128];
    snprintf(ct, sizeof(ct), "Content-Type: %s", ctype ? ctype : "application/json");
    h = curl_slist_append(h, ct);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (body)
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    long code = 0;
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    curl_slist_free_all(h);
    if (!reuse)
        curl_easy_cleanup(c);
    return code;
}

static long request(const server *s, const char *method, const char *path, const char *ctype,
                    const char *body)
{
    return request_on(NULL, s, method, path, ctype, body);
}

static int start_server(server *s)
{
    char self[512];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n <= 0)
        return -1;
    self[n] = '\0';
    *strrchr(self, '/') = '\0';
    char *knode = xasprintf("%s/../knode", self);
    snprintf(s->tmp, sizeof(s->tmp), "/tmp/knode-bench-api-XXXXXX");
    if (!mkdtemp(s->tmp) || (s->port = free_port()) < 0)
        return -1;
    char port[16];
    snprintf(port, sizeof(port), "%d", s->port);
    snprintf(s->dir, sizeof(s->dir), "%s/data", s->tmp);
    const char *data = s->dir;
    s->pid = fork();
    if (s->pid == 0) {
        freopen("/dev/null", "w", stderr);
        execl(knode, knode, "server", "--data-dir", data, "--bind-address", "127.0.0.1",
              "--secure-port", port, (char *)NULL);
        _exit(127);
    }
    free(knode);
    for (int i = 0; i < 400; i++) {
        usleep(50000);
        if (access(data, F_OK) == 0 && request(s, "GET", "/readyz", NULL, NULL) == 200)
            return 0;
    }
    return -1;
}

static void stop_server(server *s)
{
    if (s->pid > 0) {
        kill(s->pid, SIGTERM);
        waitpid(s->pid, NULL, 0);
    }
    char *rm = xasprintf("rm -rf %s", s->tmp);
    int r = system(rm);
    (void)r;
    free(rm);
}

/* VmRSS of a process in MiB. */
static double rss_mib(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    double kib = 0;
    while (f && fgets(line, sizeof(line), f)) {
        if (strncmp(line, "VmRSS:", 6) == 0)
            kib = atof(line + 6);
    }
    if (f)
        fclose(f);
    return kib / 1024;
}

/* ---- watch fan-out through the API server ----------------------------------------------- */

typedef struct watcher {
    CURL *c;
    bool open;  /* response headers arrived */
    double got; /* when the first event arrived, 0: not yet */
} watcher;

static size_t on_header(char *p, size_t n, size_t m, void *ud)
{
    watcher *w = ud;
    if (n * m >= 2 && p[0] == '\r' && p[1] == '\n')
        w->open = true;
    return n * m;
}

static size_t on_data(char *p, size_t n, size_t m, void *ud)
{
    watcher *w = ud;
    if (!w->got && memmem(p, n * m, "MODIFIED", 8))
        w->got = bench_now();
    return n * m;
}

/* Pumps the multi handle until every watcher satisfies done (or 30 s). */
static void pump(CURLM *multi, watcher *ws, bool (*done)(const watcher *))
{
    double until = bench_now() + 30;
    for (;;) {
        int running, all = 1;
        curl_multi_perform(multi, &running);
        for (int i = 0; i < WATCHERS; i++)
            all = all && done(&ws[i]);
        if (all || bench_now() > until || !running)
            return;
        curl_multi_poll(multi, NULL, 0, 10, NULL);
    }
}

static bool is_open(const watcher *w)
{
    return w->open;
}

static bool has_event(const watcher *w)
{
    return w->got > 0;
}

/* *patch_ms gets the PATCH's own round trip (a new TLS connection). */
static double api_fanout_ms(const server *s, double *patch_ms)
{
    request(s, "POST", "/api/v1/namespaces/default/configmaps", NULL,
            "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"fan\"}}");
    CURLM *multi = curl_multi_init();
    static watcher ws[WATCHERS];
    for (int i = 0; i < WATCHERS; i++) {
        ws[i].c = handle(
            s, "/api/v1/namespaces/default/configmaps?watch=1&fieldSelector=metadata.name%3Dfan");
        curl_easy_setopt(ws[i].c, CURLOPT_HEADERFUNCTION, on_header);
        curl_easy_setopt(ws[i].c, CURLOPT_HEADERDATA, &ws[i]);
        curl_easy_setopt(ws[i].c, CURLOPT_WRITEFUNCTION, on_data);
        curl_easy_setopt(ws[i].c, CURLOPT_WRITEDATA, &ws[i]);
        curl_multi_add_handle(multi, ws[i].c);
    }
    pump(multi, ws, is_open);
    double t0 = bench_now();
    request(s, "PATCH", "/api/v1/namespaces/default/configmaps/fan", "application/merge-patch+json",
            "{\"data\":{\"k\":\"v\"}}");
    *patch_ms = (bench_now() - t0) * 1e3;
    pump(multi, ws, has_event);
    double last = 0;
    int got = 0;
    for (int i = 0; i < WATCHERS; i++) {
        if (ws[i].got > last)
            last = ws[i].got;
        got += ws[i].got > 0;
        curl_multi_remove_handle(multi, ws[i].c);
        curl_easy_cleanup(ws[i].c);
    }
    curl_multi_cleanup(multi);
    if (got < WATCHERS)
        printf("(only %d of %d watchers saw the change)\n", got, WATCHERS);
    return (last - t0) * 1e3;
}

/* ---- the same fan-out on the store API --------------------------------------------------- */

typedef struct store_waiter {
    kn_store *s;
    int64_t after;
    double got;
    pthread_t th;
} store_waiter;

static void *store_wait(void *arg)
{
    store_waiter *w = arg;
    while (!kn_store_wait(w->s, w->after, 1000)) {
    }
    kn_store_event_list ev;
    if (kn_store_events(w->s, "/registry/core/configmaps/", w->after, 0, &ev, NULL, NULL) == 0)
        kn_store_event_list_free(&ev);
    w->got = bench_now();
    return NULL;
}

/* Wrong figures are worse than none: the waiters are started with the
 * current revision, so a wake-up can only be the change below. */
static double store_fanout_ms(const char *dir)
{
    char *url = xasprintf("sqlite://%s/fan.db", dir);
    kn_store *s;
    if (kn_store_open(url, &s, NULL) < 0)
        return -1;
    free(url);
    const char *key = "/registry/core/configmaps/default/fan";
    int64_t rev;
    kn_store_create(s, key, "{}", 2, &rev, NULL);
    static store_waiter ws[WATCHERS];
    for (int i = 0; i < WATCHERS; i++) {
        ws[i] = (store_waiter){.s = s, .after = rev};
        pthread_create(&ws[i].th, NULL, store_wait, &ws[i]);
    }
    usleep(200000); /* all blocked in kn_store_wait */
    double t0 = bench_now();
    kn_store_update(s, key, "{\"data\":{\"k\":\"v\"}}", 18, 0, &rev, NULL);
    double last = 0;
    for (int i = 0; i < WATCHERS; i++) {
        pthread_join(ws[i].th, NULL);
        if (ws[i].got > last)
            last = ws[i].got;
    }
    kn_store_close(s);
    return (last - t0) * 1e3;
}

/* ---- memory with 1,000 pods -------------------------------------------------------------------
 */

static int create_pods(const server *s)
{
    int ok = 0;
    CURL *c = handle(s, "/api/v1/namespaces/default/pods"); /* one kept-alive connection */
    for (int i = 0; i < PODS; i++) {
        char body[512];
        snprintf(body, sizeof(body),
                 "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"p%04d\","
                 "\"labels\":{\"app\":\"bench\"}},\"spec\":{\"containers\":[{\"name\":\"c\","
                 "\"image\":\"localhost/busybox:1.35\"}]}}",
                 i);
        ok += request_on(c, s, "POST", "/api/v1/namespaces/default/pods", NULL, body) == 201;
    }
    curl_easy_cleanup(c);
    return ok;
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    server s = {0};
    if (start_server(&s) < 0) {
        printf("knode server did not start (build it first: make)\n");
        return 0;
    }
    double idle = rss_mib(s.pid);
    double patch_ms = 0;
    double api = api_fanout_ms(&s, &patch_ms);
    double store = store_fanout_ms(s.tmp);
    bench_report("apiserver: 100 watchers get one change", api,
                 "100 store-API waiters, same change (limit)", store, "ms", 1);
    printf("(the fan-out includes the PATCH's own round trip over a new TLS connection: %.2f ms)\n",
           patch_ms);
    double t0 = bench_now();
    int ok = create_pods(&s);
    double rate = ok / (bench_now() - t0);
    sleep(2); /* let the scheduler's and controllers' work settle */
    double full = rss_mib(s.pid);
    bench_report("apiserver: RSS of knode server, 1,000 pods", full, "same server idle (floor)",
                 idle, "MiB", 1);
    printf("(%d pods created over HTTPS at %.0f pods/s)\n", ok, rate);
    stop_server(&s);
    curl_global_cleanup();
    return 0;
}

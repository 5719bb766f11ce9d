/* test-kubelet.c - the kubelet core against a real containerd in a testbed
 * node, fed by static pod manifests: pods run with an IP and a Running /
 * Ready status, crash loops back off, missing images back off, removed
 * manifests are killed within their grace period and cleaned up (sandbox,
 * pod cgroup, directories), and a restarted kubelet adopts what runs.
 *
 * Backoffs run on a fake wall clock the test moves, so no assertion depends
 * on how fast the machine is; waits are bounded only to fail instead of
 * hanging. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>

#include "cri/msg.h"
#include "cri/runtime.h"
#include "kubelet/kubelet.h"
#include "kubelet/sandbox.h"
#include "kubelet/static_pods.h"
#include "lib/cleanup.h"
#include "lib/json.h"
#include "lib/strbuf.h"
#include "lib/yaml.h"
#include "lib/xalloc.h"
#include "test/harness/testbed.h"
#include "test/runner/kt.h"

#define SEC 1000000000LL
#define NODE "nodeA"
#define BUSYBOX "localhost/busybox:1.35"
#define WAIT_S 90

/* ---- status recorder (the status sink) ------------------------------------------------------- */

#define MAX_PODS 8
#define MAX_EVENTS 64

typedef struct rec_pod {
    char name[64];
    char uid[64];
    cJSON *status; /* latest */
    bool final;
    int syncs;                    /* statuses received */
    char reasons[MAX_EVENTS][40]; /* distinct successive waiting reasons of container 0 */
    int nreasons;
} rec_pod;

typedef struct recorder {
    pthread_mutex_t mu;
    pthread_cond_t cond;
    rec_pod pods[MAX_PODS];
    int n;
} recorder;

static const char *str_at(const cJSON *doc, const char *path)
{
    const char *s = NULL;
    kn_error *err = NULL;
    if (!doc || kn_json_get_string(doc, path, &s, &err) < 0) {
        kn_error_free(&err);
        return NULL;
    }
    return s;
}

static double num_at(const cJSON *doc, const char *path)
{
    double v = -1;
    kn_error *err = NULL;
    if (!doc || kn_json_get_double(doc, path, &v, &err) < 0)
        kn_error_free(&err);
    return v;
}

static rec_pod *rec_find(recorder *r, const char *name)
{
    for (int i = 0; i < r->n; i++)
        if (strcmp(r->pods[i].name, name) == 0)
            return &r->pods[i];
    return NULL;
}

static void on_status(void *arg, const kl_pod *pod, const cJSON *status, kn_rcstr *text, bool final)
{
    (void)text;
    recorder *r = arg;
    pthread_mutex_lock(&r->mu);
    rec_pod *p = rec_find(r, pod->name);
    if (!p && r->n < MAX_PODS) {
        p = &r->pods[r->n++];
        snprintf(p->name, sizeof(p->name), "%s", pod->name);
    }
    if (p) {
        snprintf(p->uid, sizeof(p->uid), "%s", pod->uid);
        cJSON_Delete(p->status);
        p->status = cJSON_Duplicate(status, true);
        p->final = final;
        p->syncs++;
        const char *w = str_at(status, "containerStatuses[0].state.waiting.reason");
        if (w && p->nreasons < MAX_EVENTS &&
            (p->nreasons == 0 || strcmp(p->reasons[p->nreasons - 1], w) != 0))
            snprintf(p->reasons[p->nreasons++], sizeof(p->reasons[0]), "%s", w);
    }
    pthread_cond_broadcast(&r->cond);
    pthread_mutex_unlock(&r->mu);
}

typedef bool (*pod_pred)(const rec_pod *p, const void *arg);

/* Waits until pred holds for the pod named name; fails after WAIT_S. */
static void wait_pod(recorder *r, const char *name, pod_pred pred, const void *arg,
                     const char *what)
{
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += WAIT_S;
    pthread_mutex_lock(&r->mu);
    for (;;) {
        rec_pod *p = rec_find(r, name);
        if (p && pred(p, arg))
            break;
        if (pthread_cond_timedwait(&r->cond, &r->mu, &deadline) == ETIMEDOUT) {
            cleanup_free char *st = p && p->status ? kn_json_print(p->status) : NULL;
            pthread_mutex_unlock(&r->mu);
            KT_FAIL("pod %s: no %s within %ds; last status %s", name, what, WAIT_S,
                    st ? st : "(none)");
        }
    }
    pthread_mutex_unlock(&r->mu);
}

/* A copy of the pod's latest status (caller deletes). */
static cJSON *status_copy(recorder *r, const char *name)
{
    pthread_mutex_lock(&r->mu);
    rec_pod *p = rec_find(r, name);
    cJSON *st = p && p->status ? cJSON_Duplicate(p->status, true) : NULL;
    pthread_mutex_unlock(&r->mu);
    return st;
}

static bool is_ready(const rec_pod *p, const void *arg)
{
    (void)arg;
    const cJSON *conds = cJSON_GetObjectItem(p->status, "conditions"), *c;
    bool ready = false;
    cJSON_ArrayForEach(c, conds)
    {
        if (strcmp(str_at(c, "type"), "Ready") == 0)
            ready = strcmp(str_at(c, "status"), "True") == 0;
    }
    return ready && str_at(p->status, "phase") &&
           strcmp(str_at(p->status, "phase"), "Running") == 0;
}

static bool is_final(const rec_pod *p, const void *arg)
{
    (void)arg;
    return p->final;
}

typedef struct waiting_want {
    const char *reason;
    int restarts;
} waiting_want;

static bool is_waiting(const rec_pod *p, const void *arg)
{
    const waiting_want *w = arg;
    const char *r = str_at(p->status, "containerStatuses[0].state.waiting.reason");
    return r && strcmp(r, w->reason) == 0 &&
           (w->restarts < 0 ||
            num_at(p->status, "containerStatuses[0].restartCount") == w->restarts);
}

static bool saw_reasons(const rec_pod *p, const void *arg)
{
    return p->nreasons >= *(const int *)arg;
}

/* ---- the node and the kubelet ------------------------------------------------------------- */

typedef struct bed {
    tb_cluster cl;
    tb_node *nd;
    cri_conn *cri;
    kl_node_config nc;
    char *cgroup_root;
    char *manifests;
    char *logs;
    char *root;
    char *resolv;
    kn_fake_clock clock; /* the backoffs' wall clock */
    recorder rec;
    kl_kubelet *k;
    kl_static_pods *sp;
} bed;

static const char *const cluster_dns[] = {"10.96.0.10", NULL};
static const char *const sources[] = {KL_STATIC_SOURCE, NULL};

static void write_text(const char *path, const char *text)
{
    cleanup_free char *tmp = xasprintf("%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    KT_ASSERT_MSG(f, "cannot write %s", tmp);
    fputs(text, f);
    fclose(f);
    KT_ASSERT(rename(tmp, path) == 0);
}

static char *sub(const char *name)
{
    char *p = xasprintf("%s/%s", kt_tmpdir(), name);
    KT_ASSERT(mkdir(p, 0755) == 0 || errno == EEXIST);
    return p;
}

static void bed_up(bed *b)
{
    char why[512];
    if (!tb_available(why, sizeof(why)))
        KT_SKIP("no testbed: %s", why);
    memset(b, 0, sizeof(*b));
    kn_error *err = NULL;
    KT_ASSERT_OK(tb_cluster_up(&b->cl, 1, &err), err);
    b->nd = &b->cl.nodes[0];
    KT_ASSERT_OK(cri_conn_new(b->nd->endpoint, 0, &b->cri, &err), err);
    /* the testbed's pod cgroup parent is "<root>/kubepods" */
    b->cgroup_root = xstrdup(b->nd->cgroup_parent);
    *strrchr(b->cgroup_root, '/') = '\0';
    b->manifests = sub("manifests");
    b->logs = sub("pod-logs");
    b->root = sub("kubelet");
    b->resolv = xasprintf("%s/resolv.conf", kt_tmpdir());
    write_text(b->resolv, "nameserver 10.250.0.254\nsearch example.test\noptions timeout:2\n");
    kl_node_config_defaults(&b->nc);
    b->nc.node_name = NODE;
    b->nc.node_ips[0] = b->nd->node_ip;
    b->nc.cluster_dns = cluster_dns;
    b->nc.cluster_domain = "cluster.local";
    b->nc.resolv_conf = b->resolv;
    b->nc.pod_logs_dir = b->logs;
    b->nc.root_dir = b->root;
    b->nc.cgroup_root = b->cgroup_root;
    kn_fake_clock_init(&b->clock, kn_time_wall_ns());
    pthread_mutex_init(&b->rec.mu, NULL);
    pthread_cond_init(&b->rec.cond, NULL);
}

static void kubelet_start(bed *b)
{
    kn_error *err = NULL;
    kl_kubelet_opts o = {.node = &b->nc,
                         .runtime_endpoint = b->nd->endpoint,
                         .status_sink = on_status,
                         .status_arg = &b->rec,
                         .sources = sources,
                         .error_requeue_ns = SEC / 2,
                         .resync_period_ns = SEC,
                         .housekeeping_period_ns = SEC,
                         .backoff_clock = &b->clock.clock};
    KT_ASSERT_OK(kl_kubelet_new(&o, &b->k, &err), err);
    KT_ASSERT_STREQ(kl_kubelet_runtime_name(b->k), "containerd");
    KT_ASSERT_OK(kl_kubelet_start(b->k, &err), err);
    kl_static_opts so = {.path = b->manifests,
                         .node_name = NODE,
                         .sink = kl_kubelet_sink(b->k),
                         .check_period_ns = 2 * SEC};
    KT_ASSERT_OK(kl_static_pods_new(&so, &b->sp, &err), err);
    KT_ASSERT_OK(kl_static_pods_start(b->sp, &err), err);
}

static void kubelet_stop(bed *b)
{
    kl_static_pods_free(b->sp);
    kl_kubelet_free(b->k);
    b->sp = NULL;
    b->k = NULL;
}

static void bed_down(bed *b)
{
    kubelet_stop(b);
    cri_conn_free(b->cri);
    kn_error *err = NULL;
    KT_ASSERT_OK(tb_cluster_down(&b->cl, &err), err);
    for (int i = 0; i < b->rec.n; i++)
        cJSON_Delete(b->rec.pods[i].status);
    kn_fake_clock_destroy(&b->clock);
    free(b->cgroup_root);
    free(b->manifests);
    free(b->logs);
    free(b->root);
    free(b->resolv);
}

static void add_manifest(bed *b, const char *file, const char *yaml)
{
    cleanup_free char *path = xasprintf("%s/%s", b->manifests, file);
    cleanup_free char *tmp = xasprintf("%s/.%s", b->manifests, file);
    FILE *f = fopen(tmp, "w");
    KT_ASSERT(f);
    fputs(yaml, f);
    fclose(f);
    KT_ASSERT(rename(tmp, path) == 0);
}

static void remove_manifest(bed *b, const char *file)
{
    cleanup_free char *path = xasprintf("%s/%s", b->manifests, file);
    KT_ASSERT(unlink(path) == 0);
}

/* ---- runtime inspection ---------------------------------------------------------------------- */

static Runtime__V1__ListContainersResponse *containers_of(bed *b, const char *uid)
{
    Runtime__V1__ContainerFilter *f = cri_msg_new(&runtime__v1__container_filter__descriptor);
    cri_map_put(f, "label_selector", KL_LABEL_POD_UID, uid);
    Runtime__V1__ListContainersResponse *l = NULL;
    kn_error *err = NULL;
    KT_ASSERT_OK(cri_runtime_list_containers(b->cri, f, &l, &err), err);
    cri_msg_free(f);
    return l;
}

static size_t sandboxes_of(bed *b, const char *uid)
{
    Runtime__V1__PodSandboxFilter *f = cri_msg_new(&runtime__v1__pod_sandbox_filter__descriptor);
    cri_map_put(f, "label_selector", KL_LABEL_POD_UID, uid);
    Runtime__V1__ListPodSandboxResponse *l = NULL;
    kn_error *err = NULL;
    KT_ASSERT_OK(cri_runtime_list_sandboxes(b->cri, f, &l, &err), err);
    size_t n = l->n_items;
    cri_msg_free(l);
    cri_msg_free(f);
    return n;
}

static char *exec_out(bed *b, const char *cid, const char *script)
{
    char *const argv[] = {"/bin/sh", "-c", (char *)script, NULL};
    Runtime__V1__ExecSyncResponse *r = NULL;
    kn_error *err = NULL;
    KT_ASSERT_OK(cri_runtime_exec_sync(b->cri, cid, argv, 10, &r, &err), err);
    KT_ASSERT_EQ(r->exit_code, 0);
    char *out = xstrndup((const char *)r->stdout.data, r->stdout.len);
    cri_msg_free(r);
    return out;
}

static char *read_text(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    char buf[8192];
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    return xstrdup(buf);
}

static bool exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static bool ip_in_cidr(const char *ip, const char *cidr)
{
    char net[64];
    int bits;
    struct in_addr a, n;
    if (!ip || sscanf(cidr, "%63[^/]/%d", net, &bits) != 2 || inet_pton(AF_INET, ip, &a) != 1 ||
        inet_pton(AF_INET, net, &n) != 1)
        return false;
    uint32_t mask = bits ? htonl(~0u << (32 - bits)) : 0;
    return (a.s_addr & mask) == (n.s_addr & mask);
}

/* Polls cond(b, arg) every 100 ms for at most WAIT_S. */
static void wait_until(bed *b, bool (*cond)(bed *, const void *), const void *arg, const char *what)
{
    for (int i = 0; i < WAIT_S * 10; i++) {
        if (cond(b, arg))
            return;
        usleep(100 * 1000);
    }
    KT_FAIL("%s did not happen within %ds", what, WAIT_S);
}

static bool pod_gone(bed *b, const void *uid)
{
    return !kl_kubelet_has_pod(b->k, uid);
}

/* ---- tests ------------------------------------------------------------------------------------
 */

static const char web_yaml[] =
    "apiVersion: v1\n"
    "kind: Pod\n"
    "metadata:\n"
    "  name: web\n"
    "  labels: {app: web}\n"
    "spec:\n"
    "  terminationGracePeriodSeconds: 20\n"
    "  volumes: [{name: scratch, emptyDir: {}}]\n"
    "  containers:\n"
    "  - name: app\n"
    "    image: " BUSYBOX "\n"
    "    command: [sh, -c, 'trap \"echo bye; exit 0\" TERM; echo started > /scratch/s; echo "
    "started; while true; do sleep 1; done']\n"
    "    env:\n"
    "    - {name: MY_IP, valueFrom: {fieldRef: {fieldPath: status.podIP}}}\n"
    "    - {name: MY_NAME, valueFrom: {fieldRef: {fieldPath: metadata.name}}}\n"
    "    - {name: GREETING, value: 'hello $(MY_NAME)'}\n"
    "    ports: [{containerPort: 8080}]\n"
    "    volumeMounts: [{name: scratch, mountPath: /scratch}]\n"
    "    resources:\n"
    "      limits: {cpu: 250m, memory: 64Mi}\n";

static void check_running_web(bed *b, const char *uid, const cJSON *st)
{
    KT_ASSERT_STREQ(str_at(st, "qosClass"), "Guaranteed");
    KT_ASSERT_STREQ(str_at(st, "hostIP"), b->nd->node_ip);
    const char *ip = str_at(st, "podIP");
    KT_ASSERT_MSG(ip_in_cidr(ip, b->nd->pod_cidr), "pod IP %s not in %s", ip ? ip : "-",
                  b->nd->pod_cidr);
    KT_ASSERT(str_at(st, "containerStatuses[0].state.running.startedAt"));
    KT_ASSERT_STREQ(str_at(st, "containerStatuses[0].image"), BUSYBOX);
    const char *cid = str_at(st, "containerStatuses[0].containerID");
    KT_ASSERT(cid && strncmp(cid, "containerd://", 13) == 0);
    KT_ASSERT_EQ(sandboxes_of(b, uid), 1);

    /* inside: env, DNS, hosts file, the emptyDir */
    cleanup_free char *out = exec_out(b, cid + 13,
                                      "echo $MY_IP; echo $GREETING; cat /etc/resolv.conf; "
                                      "cat /etc/hosts; cat /scratch/s; hostname");
    cleanup_free char *want_ip = xasprintf("%s\nhello web-nodea\n", ip);
    KT_ASSERT_CONTAINS(out, want_ip);
    KT_ASSERT_CONTAINS(out, "nameserver 10.96.0.10");
    KT_ASSERT_CONTAINS(out, "search default.svc.cluster.local svc.cluster.local cluster.local "
                            "example.test");
    KT_ASSERT_CONTAINS(out, "options ndots:5");
    cleanup_free char *hosts_line = xasprintf("%s\tweb-nodea", ip);
    KT_ASSERT_CONTAINS(out, hosts_line);
    KT_ASSERT_CONTAINS(out, "started\nweb-nodea\n");

    /* the log file under the pod log directory */
    cleanup_free char *log = xasprintf("%s/default_web-nodea_%s/app/0.log", b->logs, uid);
    cleanup_free char *text = read_text(log);
    KT_ASSERT_MSG(text, "no log %s", log);
    KT_ASSERT_CONTAINS(text, " stdout F started");
}

static long long cgroup_value(bed *b, const char *ctrl, const char *uid, const char *file)
{
    cleanup_free char *path =
        xasprintf("/sys/fs/cgroup/%s%s/kubepods/pod%s/%s", ctrl, b->cgroup_root, uid, file);
    cleanup_free char *text = read_text(path);
    KT_ASSERT_MSG(text, "cannot read %s", path);
    return atoll(text);
}

KT_TEST_TIMEOUT(kubelet, static_pod_runs_and_is_removed, 240)
{
    bed b;
    bed_up(&b);
    kubelet_start(&b);
    add_manifest(&b, "web.yaml", web_yaml);
    wait_pod(&b.rec, "web-nodea", is_ready, NULL, "Running and Ready status");
    cleanup_cjson cJSON *st = status_copy(&b.rec, "web-nodea");
    pthread_mutex_lock(&b.rec.mu);
    char uid[64];
    snprintf(uid, sizeof(uid), "%s", rec_find(&b.rec, "web-nodea")->uid);
    pthread_mutex_unlock(&b.rec.mu);
    check_running_web(&b, uid, st);

    /* the pod cgroup, created by the kubelet with the pod's limits */
    KT_ASSERT_EQ(cgroup_value(&b, "memory", uid, "memory.limit_in_bytes"), 64 << 20);
    KT_ASSERT_EQ(cgroup_value(&b, "cpu", uid, "cpu.shares"), 256);
    KT_ASSERT_EQ(cgroup_value(&b, "cpu", uid, "cpu.cfs_quota_us"), 25000);
    cleanup_free char *cg = xasprintf("/sys/fs/cgroup/memory%s/kubepods/pod%s", b.cgroup_root, uid);
    cleanup_free char *pod_dir = xasprintf("%s/pods/%s", b.root, uid);
    cleanup_free char *log_dir = xasprintf("%s/default_web-nodea_%s", b.logs, uid);
    KT_ASSERT(exists(pod_dir) && exists(log_dir));

    /* the manifest goes: SIGTERM (the trap exits 0 at once), then everything is removed */
    remove_manifest(&b, "web.yaml");
    wait_pod(&b.rec, "web-nodea", is_final, NULL, "final status");
    cleanup_cjson cJSON *fin = status_copy(&b.rec, "web-nodea");
    KT_ASSERT_EQ(num_at(fin, "containerStatuses[0].state.terminated.exitCode"), 0);
    wait_until(&b, pod_gone, uid, "pod removal");
    Runtime__V1__ListContainersResponse *l = containers_of(&b, uid);
    KT_ASSERT_EQ(l->n_containers, 0);
    cri_msg_free(l);
    KT_ASSERT_EQ(sandboxes_of(&b, uid), 0);
    KT_ASSERT_MSG(!exists(cg), "pod cgroup %s left", cg);
    KT_ASSERT(!exists(pod_dir) && !exists(log_dir));
    bed_down(&b);
}

static const char crash_yaml[] = "apiVersion: v1\n"
                                 "kind: Pod\n"
                                 "metadata: {name: crash}\n"
                                 "spec:\n"
                                 "  restartPolicy: Always\n"
                                 "  containers:\n"
                                 "  - name: crash\n"
                                 "    image: " BUSYBOX "\n"
                                 "    command: [sh, -c, 'echo crashing; exit 1']\n";

/* finished_at of the newest exited container of the pod. */
static int64_t last_finish(bed *b, const char *uid)
{
    Runtime__V1__ListContainersResponse *l = containers_of(b, uid);
    int64_t newest = 0, finished = 0;
    for (size_t i = 0; i < l->n_containers; i++) {
        Runtime__V1__ContainerStatusResponse *st = NULL;
        kn_error *err = NULL;
        KT_ASSERT_OK(cri_runtime_container_status(b->cri, l->containers[i]->id, false, &st, &err),
                     err);
        if (st->status->state == RUNTIME__V1__CONTAINER_STATE__CONTAINER_EXITED &&
            st->status->created_at > newest) {
            newest = st->status->created_at;
            finished = st->status->finished_at;
        }
        cri_msg_free(st);
    }
    cri_msg_free(l);
    KT_ASSERT(finished > 0);
    return finished;
}

static bool one_dead_container(bed *b, const void *uid)
{
    Runtime__V1__ListContainersResponse *l = containers_of(b, uid);
    size_t n = l->n_containers;
    cri_msg_free(l);
    return n == 1;
}

static const char *uid_of(bed *b, const char *name, char *buf, size_t size)
{
    pthread_mutex_lock(&b->rec.mu);
    snprintf(buf, size, "%s", rec_find(&b->rec, name)->uid);
    pthread_mutex_unlock(&b->rec.mu);
    return buf;
}

KT_TEST_TIMEOUT(kubelet, crash_loop_backoff, 240)
{
    bed b;
    bed_up(&b);
    kubelet_start(&b);
    add_manifest(&b, "crash.yaml", crash_yaml);
    /* first exit: restarted at once; second exit: 10 s back-off, which the
     * frozen backoff clock never lets pass */
    waiting_want w = {"CrashLoopBackOff", 1};
    wait_pod(&b.rec, "crash-nodea", is_waiting, &w, "CrashLoopBackOff after one restart");
    cleanup_cjson cJSON *st = status_copy(&b.rec, "crash-nodea");
    KT_ASSERT_CONTAINS(str_at(st, "containerStatuses[0].state.waiting.message"),
                       "back-off 10s restarting failed container=crash pod=crash-nodea_default(");
    KT_ASSERT_EQ(num_at(st, "containerStatuses[0].lastState.terminated.exitCode"), 1);
    KT_ASSERT_STREQ(str_at(st, "containerStatuses[0].lastState.terminated.reason"), "Error");
    KT_ASSERT_STREQ(str_at(st, "phase"), "Running");
    char uid[64];
    uid_of(&b, "crash-nodea", uid, sizeof(uid));

    /* move the clock to the end of the back-off: one more restart, then 20 s */
    kn_fake_clock_set(&b.clock, last_finish(&b, uid) + 10 * SEC + 1);
    w = (waiting_want){"CrashLoopBackOff", 2};
    wait_pod(&b.rec, "crash-nodea", is_waiting, &w, "CrashLoopBackOff after two restarts");
    cleanup_cjson cJSON *st2 = status_copy(&b.rec, "crash-nodea");
    KT_ASSERT_CONTAINS(str_at(st2, "containerStatuses[0].state.waiting.message"), "back-off 20s");
    /* dead-container GC keeps one exited container per container name */
    wait_until(&b, one_dead_container, uid, "dead container GC");

    kn_fake_clock_set(&b.clock, last_finish(&b, uid) + 20 * SEC + 1);
    w = (waiting_want){"CrashLoopBackOff", 3};
    wait_pod(&b.rec, "crash-nodea", is_waiting, &w, "CrashLoopBackOff after three restarts");
    cleanup_cjson cJSON *st3 = status_copy(&b.rec, "crash-nodea");
    KT_ASSERT_CONTAINS(str_at(st3, "containerStatuses[0].state.waiting.message"), "back-off 40s");
    bed_down(&b);
}

static const char pull_yaml[] = "apiVersion: v1\n"
                                "kind: Pod\n"
                                "metadata: {name: pull}\n"
                                "spec:\n"
                                "  containers:\n"
                                "  - name: missing\n"
                                "    image: 127.0.0.1:1/knode/missing:1.0\n"
                                "  - name: never\n"
                                "    image: localhost/absent:1\n"
                                "    imagePullPolicy: Never\n";

KT_TEST_TIMEOUT(kubelet, image_pull_errors_back_off, 240)
{
    bed b;
    bed_up(&b);
    kubelet_start(&b);
    add_manifest(&b, "pull.yaml", pull_yaml);
    int two = 2;
    wait_pod(&b.rec, "pull-nodea", saw_reasons, &two, "ErrImagePull then ImagePullBackOff");
    cleanup_cjson cJSON *st = status_copy(&b.rec, "pull-nodea");
    pthread_mutex_lock(&b.rec.mu);
    rec_pod *p = rec_find(&b.rec, "pull-nodea");
    KT_ASSERT_STREQ(p->reasons[0], "ErrImagePull");
    KT_ASSERT_STREQ(p->reasons[1], "ImagePullBackOff");
    pthread_mutex_unlock(&b.rec.mu);
    KT_ASSERT_STREQ(str_at(st, "containerStatuses[0].state.waiting.message"),
                    "Back-off pulling image \"127.0.0.1:1/knode/missing:1.0\"");
    KT_ASSERT_STREQ(str_at(st, "containerStatuses[1].state.waiting.reason"), "ErrImageNeverPull");
    KT_ASSERT_STREQ(str_at(st, "containerStatuses[1].state.waiting.message"),
                    "Container image \"localhost/absent:1\" is not present with pull policy of "
                    "Never");
    KT_ASSERT_STREQ(str_at(st, "phase"), "Pending");

    /* the back-off passes: pulled (and failed) again, then backing off again */
    kn_fake_clock_advance(&b.clock, 10 * SEC + 1);
    int four = 4;
    wait_pod(&b.rec, "pull-nodea", saw_reasons, &four, "a second pull and back-off");
    pthread_mutex_lock(&b.rec.mu);
    KT_ASSERT_STREQ(p->reasons[2], "ErrImagePull");
    KT_ASSERT_STREQ(p->reasons[3], "ImagePullBackOff");
    pthread_mutex_unlock(&b.rec.mu);
    bed_down(&b);
}

static const char init_yaml[] = "apiVersion: v1\n"
                                "kind: Pod\n"
                                "metadata: {name: init}\n"
                                "spec:\n"
                                "  volumes: [{name: w, emptyDir: {}}]\n"
                                "  initContainers:\n"
                                "  - name: prep\n"
                                "    image: " BUSYBOX "\n"
                                "    command: [sh, -c, 'echo ok > /w/ok']\n"
                                "    volumeMounts: [{name: w, mountPath: /w}]\n"
                                "  containers:\n"
                                "  - name: main\n"
                                "    image: " BUSYBOX "\n"
                                "    command: [sh, -c, 'cat /w/ok && exec sleep 3600']\n"
                                "    volumeMounts: [{name: w, mountPath: /w}]\n"
                                "  - name: side\n"
                                "    image: " BUSYBOX "\n"
                                "    command: [sleep, '3600']\n";

static const char orphan_yaml[] = "apiVersion: v1\n"
                                  "kind: Pod\n"
                                  "metadata: {name: orphan}\n"
                                  "spec:\n"
                                  "  terminationGracePeriodSeconds: 3\n"
                                  "  containers:\n"
                                  "  - {name: o, image: " BUSYBOX ", command: [sleep, '3600']}\n";

/* "id:restartCount" of every container of the pod, sorted, and sandbox ids. */
static char *runtime_fingerprint(bed *b, const char *uid)
{
    Runtime__V1__ListContainersResponse *l = containers_of(b, uid);
    char **items = xcalloc(l->n_containers + 1, sizeof(char *));
    for (size_t i = 0; i < l->n_containers; i++)
        items[i] = xasprintf(
            "%s:%s:%s:%d", l->containers[i]->id, l->containers[i]->pod_sandbox_id,
            cri_map_get(l->containers[i], "annotations", "io.kubernetes.container.restartCount"),
            l->containers[i]->state);
    for (size_t i = 0; i < l->n_containers; i++)
        for (size_t k = i + 1; k < l->n_containers; k++)
            if (strcmp(items[k], items[i]) < 0) {
                char *t = items[i];
                items[i] = items[k];
                items[k] = t;
            }
    kn_buf out = KN_BUF_INIT;
    for (size_t i = 0; i < l->n_containers; i++) {
        kn_buf_appendf(&out, "%s\n", items[i]);
        free(items[i]);
    }
    free(items);
    cri_msg_free(l);
    return kn_buf_steal(&out);
}

/* The new kubelet has synced the pod a few times (resync is 1 s here). */
static bool synced_thrice(const rec_pod *p, const void *arg)
{
    (void)arg;
    return p->syncs >= 3 && is_ready(p, NULL);
}

KT_TEST_TIMEOUT(kubelet, restart_adopts_and_removes_orphans, 300)
{
    bed b;
    bed_up(&b);
    kubelet_start(&b);
    add_manifest(&b, "web.yaml", web_yaml);
    add_manifest(&b, "init.yaml", init_yaml);
    add_manifest(&b, "orphan.yaml", orphan_yaml);
    wait_pod(&b.rec, "web-nodea", is_ready, NULL, "web Ready");
    wait_pod(&b.rec, "init-nodea", is_ready, NULL, "init Ready");
    wait_pod(&b.rec, "orphan-nodea", is_ready, NULL, "orphan Ready");
    cleanup_cjson cJSON *init_st = status_copy(&b.rec, "init-nodea");
    KT_ASSERT_STREQ(str_at(init_st, "initContainerStatuses[0].state.terminated.reason"),
                    "Completed");
    char web[64], init[64], orphan[64];
    uid_of(&b, "web-nodea", web, sizeof(web));
    uid_of(&b, "init-nodea", init, sizeof(init));
    uid_of(&b, "orphan-nodea", orphan, sizeof(orphan));
    cleanup_free char *web_before = runtime_fingerprint(&b, web);
    cleanup_free char *init_before = runtime_fingerprint(&b, init);

    /* the kubelet goes away; meanwhile the orphan's manifest goes too */
    kubelet_stop(&b);
    remove_manifest(&b, "orphan.yaml");
    for (int i = 0; i < b.rec.n; i++)
        b.rec.pods[i].syncs = 0;
    kubelet_start(&b);
    wait_pod(&b.rec, "web-nodea", synced_thrice, NULL, "web synced by the new kubelet");
    wait_pod(&b.rec, "init-nodea", synced_thrice, NULL, "init synced by the new kubelet");
    cleanup_free char *web_after = runtime_fingerprint(&b, web);
    cleanup_free char *init_after = runtime_fingerprint(&b, init);
    KT_ASSERT_STREQ(web_after, web_before);
    KT_ASSERT_STREQ(init_after, init_before);
    cleanup_cjson cJSON *st = status_copy(&b.rec, "web-nodea");
    KT_ASSERT_EQ(num_at(st, "containerStatuses[0].restartCount"), 0);

    /* the orphan is killed and removed with its cgroup */
    cleanup_free char *cg =
        xasprintf("/sys/fs/cgroup/cpu%s/kubepods/besteffort/pod%s", b.cgroup_root, orphan);
    for (int i = 0; i < WAIT_S * 10 && (sandboxes_of(&b, orphan) || exists(cg)); i++)
        usleep(100 * 1000);
    KT_ASSERT_EQ(sandboxes_of(&b, orphan), 0);
    KT_ASSERT_MSG(!exists(cg), "orphan cgroup %s left", cg);
    bed_down(&b);
}

/* ---- a pod from another source (as the API informer will feed them) ---------------------------
 */

static kl_pod *api_pod(const char *yaml)
{
    cJSON *doc = NULL;
    kn_error *err = NULL;
    KT_ASSERT_OK(kn_yaml_parse(yaml, strlen(yaml), 0, "api", 0, &doc, &err), err);
    kl_pod *pod = NULL;
    KT_ASSERT_OK(kl_pod_decode(doc, &pod, &err), err);
    cJSON_Delete(doc);
    return pod;
}

#define API_POD(extra_meta, arg)                                                                   \
    "apiVersion: v1\n"                                                                             \
    "kind: Pod\n"                                                                                  \
    "metadata:\n"                                                                                  \
    "  name: api1\n"                                                                               \
    "  namespace: ns1\n"                                                                           \
    "  uid: 5d1c7c1e-api1-4000-8000-000000000001\n" extra_meta "spec:\n"                           \
    "  nodeName: nodeA\n"                                                                          \
    "  terminationGracePeriodSeconds: 3\n"                                                         \
    "  containers:\n"                                                                              \
    "  - name: c\n"                                                                                \
    "    image: " BUSYBOX "\n"                                                                     \
    "    command: [sleep, '" arg "']\n"

static bool restarted_once(const rec_pod *p, const void *old_cid)
{
    const char *cid = str_at(p->status, "containerStatuses[0].containerID");
    return is_ready(p, NULL) && num_at(p->status, "containerStatuses[0].restartCount") == 1 &&
           cid && strcmp(cid, old_cid) != 0;
}

static bool sandbox_not_ready(bed *b, const void *uid)
{
    Runtime__V1__PodSandboxFilter *f = cri_msg_new(&runtime__v1__pod_sandbox_filter__descriptor);
    cri_map_put(f, "label_selector", KL_LABEL_POD_UID, uid);
    Runtime__V1__ListPodSandboxResponse *l = NULL;
    kn_error *err = NULL;
    KT_ASSERT_OK(cri_runtime_list_sandboxes(b->cri, f, &l, &err), err);
    bool ok =
        l->n_items == 1 && l->items[0]->state == RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_NOTREADY;
    cri_msg_free(l);
    cri_msg_free(f);
    return ok;
}

KT_TEST_TIMEOUT(kubelet, api_pod_spec_change_and_graceful_deletion, 240)
{
    bed b;
    bed_up(&b);
    kubelet_start(&b);
    const char *uid = "5d1c7c1e-api1-4000-8000-000000000001";
    kl_pod *p1 = api_pod(API_POD("", "3600"));
    kl_kubelet_pod_update(b.k, "api", p1);
    wait_pod(&b.rec, "api1", is_ready, NULL, "Running and Ready");
    cleanup_cjson cJSON *st = status_copy(&b.rec, "api1");
    char cid[128];
    snprintf(cid, sizeof(cid), "%s", str_at(st, "containerStatuses[0].containerID"));

    /* a changed container spec: the container is killed (3 s grace) and started again */
    kl_pod *p2 = api_pod(API_POD("", "3601"));
    kl_kubelet_pod_update(b.k, "api", p2);
    wait_pod(&b.rec, "api1", restarted_once, cid, "a restart for the new spec");

    /* graceful deletion: sleep as PID 1 ignores SIGTERM, so it is killed
     * once the 2 s grace period is over; the pod stays until its source
     * drops it */
    kl_pod *p3 = api_pod(API_POD("  deletionTimestamp: '2030-01-01T00:00:00Z'\n"
                                 "  deletionGracePeriodSeconds: 2\n",
                                 "3601"));
    kl_kubelet_pod_update(b.k, "api", p3);
    wait_pod(&b.rec, "api1", is_final, NULL, "final status");
    cleanup_cjson cJSON *fin = status_copy(&b.rec, "api1");
    KT_ASSERT_EQ(num_at(fin, "containerStatuses[0].state.terminated.exitCode"), 137);
    KT_ASSERT_STREQ(str_at(fin, "phase"), "Failed");
    KT_ASSERT(kl_kubelet_has_pod(b.k, uid));
    wait_until(&b, sandbox_not_ready, uid, "the sandbox stopped");

    kl_kubelet_pod_remove(b.k, uid);
    wait_until(&b, pod_gone, uid, "pod removal");
    KT_ASSERT_EQ(sandboxes_of(&b, uid), 0);
    kl_pod_unref(p1);
    kl_pod_unref(p2);
    kl_pod_unref(p3);
    bed_down(&b);
}

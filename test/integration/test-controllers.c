/* test-controllers.c - the scheduler and controllers of `knode server`,
 * driven with real kubectl against fake Node objects. The test stands in
 * for the kubelets: a thread renews the nodes' Leases, reports the pods
 * bound to them Running and Ready (with a pod IP) through the status
 * subresource, and confirms graceful deletions with grace period 0. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <unistd.h>

#include "api-client/kubeconfig.h"
#include "api-client/lease.h"
#include "api-client/rest.h"
#include "lib/cleanup.h"
#include "lib/json.h"
#include "lib/strbuf.h"
#include "lib/xalloc.h"
#include "test/runner/kt.h"

#define KUBECTL_DIR "/usr/lib/google-cloud-sdk/bin"
#define MAX_NODES 8
#define WAIT_S 90 /* deadline for an eventual outcome; never a performance bound */

typedef struct cluster {
    pid_t pid;
    int port;
    char dir[300];
    char kubeconfig[340];
    kc_client *c;
    pthread_t kubelet;
    bool kubelet_running;
    pthread_mutex_t lock;
    char nodes[MAX_NODES][32]; /* nodes whose "kubelet" is alive */
    bool alive[MAX_NODES];
    int nnodes;
    int next_ip;
    volatile int stop;
    const char *grace;        /* --node-monitor-grace-period, or NULL (40s) */
    const char *cluster_cidr; /* --cluster-cidr with --allocate-node-cidrs, or NULL */
} cluster;

/* ---- the server ------------------------------------------------------------------ */

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

static char *sh(const char *cmd, int *status)
{
    FILE *p = popen(cmd, "r");
    KT_ASSERT(p != NULL);
    kn_buf b = KN_BUF_INIT;
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), p)) > 0)
        kn_buf_append(&b, chunk, n);
    int st = pclose(p);
    if (status)
        *status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    return kn_buf_steal(&b);
}

static void stop_kubelet(cluster *cl)
{
    if (cl->kubelet_running) {
        cl->stop = 1;
        pthread_join(cl->kubelet, NULL);
        cl->kubelet_running = false;
    }
}

static void stop_cluster(void *arg)
{
    cluster *cl = arg;
    stop_kubelet(cl);
    if (cl->pid > 0) {
        kill(cl->pid, SIGTERM);
        waitpid(cl->pid, NULL, 0);
        cl->pid = 0;
    }
    kc_client_free(cl->c);
    cl->c = NULL;
}

/* Stops the server and checks it exited cleanly: status 0 and, in
 * sanitizer builds, no report in its log. */
static void finish_cluster(cluster *cl)
{
    stop_kubelet(cl);
    KT_ASSERT(cl->pid > 0);
    kill(cl->pid, SIGTERM);
    int st = 0;
    waitpid(cl->pid, &st, 0);
    cl->pid = 0;
    cleanup_free char *cmd =
        xasprintf("grep -E -A150 'Sanitizer|runtime error' %s/server.log", kt_tmpdir());
    cleanup_free char *report = sh(cmd, NULL);
    KT_ASSERT_MSG(report[0] == '\0', "knode server: %s", report);
    KT_ASSERT_MSG(WIFEXITED(st) && WEXITSTATUS(st) == 0, "knode server exited with %d", st);
    stop_cluster(cl);
}

static bool ready(const cluster *cl)
{
    cleanup_free char *cmd = xasprintf(
        "curl -sk --cert %s/admin.crt --key %s/admin.key https://127.0.0.1:%d/readyz 2>&1", cl->dir,
        cl->dir, cl->port);
    cleanup_free char *out = sh(cmd, NULL);
    return strcmp(out, "ok") == 0;
}

static void spawn_server(cluster *cl);

/* Starts `knode server`; grace is the node monitor grace period or NULL. */
static void start_cluster(cluster *cl, const char *grace)
{
    cl->port = free_port();
    snprintf(cl->dir, sizeof(cl->dir), "%s/data", kt_tmpdir());
    snprintf(cl->kubeconfig, sizeof(cl->kubeconfig), "%s/admin.kubeconfig", cl->dir);
    pthread_mutex_init(&cl->lock, NULL);
    kt_on_cleanup(stop_cluster, cl);
    cl->grace = grace;
    spawn_server(cl);
    kn_error *err = NULL;
    kc_config *cfg = NULL;
    const char *paths[] = {cl->kubeconfig};
    KT_ASSERT_OK(kc_config_load_files(paths, 1, true, NULL, &cfg, &err), err);
    KT_ASSERT_OK(kc_client_new(cfg, NULL, &cl->c, &err), err);
    kc_config_free(cfg);
}

/* kill -9 of the server and a start on the same data directory and port. */
static void crash_and_restart(cluster *cl)
{
    kill(cl->pid, SIGKILL);
    waitpid(cl->pid, NULL, 0);
    cl->pid = 0;
    spawn_server(cl);
}

static void spawn_server(cluster *cl)
{
    cleanup_free char *knode = kt_beside_self("knode");
    char port[16];
    snprintf(port, sizeof(port), "%d", cl->port);
    pid_t pid = fork();
    if (pid == 0) {
        char *log = xasprintf("%s/server.log", kt_tmpdir());
        KT_ASSERT(freopen(log, "a", stderr) != NULL);
        /* the upstream flags: --node-monitor-grace-period, and
         * --allocate-node-cidrs with --cluster-cidr */
        char *grace = xasprintf("--node-monitor-grace-period=%s", cl->grace ? cl->grace : "40s");
        char *alloc = xasprintf("--allocate-node-cidrs=%s", cl->cluster_cidr ? "true" : "false");
        char *cidr =
            xasprintf("--cluster-cidr=%s", cl->cluster_cidr ? cl->cluster_cidr : "10.244.0.0/16");
        execl(knode, knode, "server", "--data-dir", cl->dir, "--bind-address", "127.0.0.1",
              "--secure-port", port, "-v", "2", grace, alloc, cidr, (char *)NULL);
        _exit(127);
    }
    cl->pid = pid;
    for (int i = 0; i < 400 && !ready(cl); i++)
        usleep(50000);
    KT_ASSERT_MSG(ready(cl), "knode server did not become ready on port %d", cl->port);
}

static char *kubectl_v(const cluster *cl, const char *version, const char *args, int *status)
{
    cleanup_free char *bin =
        version ? xasprintf(KUBECTL_DIR "/kubectl.%s", version) : xstrdup("kubectl");
    cleanup_free char *cmd = xasprintf("%s --kubeconfig %s %s 2>&1", bin, cl->kubeconfig, args);
    return sh(cmd, status);
}

static char *kubectl(const cluster *cl, const char *args)
{
    return kubectl_v(cl, NULL, args, NULL);
}

static void kubectl_ok(const cluster *cl, const char *args)
{
    int st;
    cleanup_free char *out = kubectl_v(cl, NULL, args, &st);
    KT_ASSERT_MSG(st == 0, "kubectl %s failed (%d): %s", args, st, out);
}

static char *write_file(const char *name, const char *text)
{
    char *path = xasprintf("%s/%s", kt_tmpdir(), name);
    FILE *f = fopen(path, "w");
    KT_ASSERT(f != NULL);
    fputs(text, f);
    fclose(f);
    return path;
}

static void apply(const cluster *cl, const char *name, const char *yaml)
{
    cleanup_free char *path = write_file(name, yaml);
    cleanup_free char *args = xasprintf("apply -f %s", path);
    kubectl_ok(cl, args);
}

/* Polls `kubectl args` until its output contains want (or, with negate,
 * no longer contains it). */
static char *wait_kubectl(const cluster *cl, const char *args, const char *want, bool negate)
{
    char *out = NULL;
    for (int i = 0; i < WAIT_S * 4; i++) {
        free(out);
        out = kubectl(cl, args);
        if ((strstr(out, want) != NULL) != negate)
            return out;
        usleep(250000);
    }
    KT_FAIL("kubectl %s: still %s\"%s\": %s", args, negate ? "contains " : "without ", want, out);
}

/* ---- fake nodes and their "kubelet" --------------------------------------------------- */

/* Creates a Ready node with the given allocatable cpu, labels and taints
 * (JSON, may be NULL). */
static void add_node(cluster *cl, const char *name, const char *cpu, const char *labels,
                     const char *taints)
{
    char now[32];
    time_t t = time(NULL);
    strftime(now, sizeof(now), "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
    cleanup_free char *doc = xasprintf(
        "{\"apiVersion\":\"v1\",\"kind\":\"Node\",\"metadata\":{\"name\":\"%s\",\"labels\":%s},"
        "\"spec\":{\"taints\":%s},\"status\":{\"capacity\":{\"cpu\":\"%s\",\"memory\":\"8Gi\","
        "\"pods\":\"110\"},\"allocatable\":{\"cpu\":\"%s\",\"memory\":\"8Gi\",\"pods\":\"110\"},"
        "\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\",\"reason\":\"KubeletReady\","
        "\"message\":\"kubelet is posting ready status\",\"lastHeartbeatTime\":\"%s\","
        "\"lastTransitionTime\":\"%s\"}]}}",
        name, labels ? labels : "{}", taints ? taints : "[]", cpu, cpu, now, now);
    cJSON *node = NULL, *created = NULL;
    kn_error *err = NULL;
    KT_ASSERT_OK(kn_json_parse(doc, strlen(doc), 0, &node, &err), err);
    KT_ASSERT_OK(kc_create(cl->c, &kc_res_nodes, NULL, node, &created, &err), err);
    /* the kubelet reports status through the status subresource */
    cJSON_ReplaceItemInObject(created, "status",
                              cJSON_Duplicate(cJSON_GetObjectItem(node, "status"), 1));
    KT_ASSERT_OK(kc_update(cl->c, &kc_res_nodes, NULL, "status", created, NULL, &err), err);
    cJSON_Delete(node);
    cJSON_Delete(created);
    pthread_mutex_lock(&cl->lock);
    KT_ASSERT(cl->nnodes < MAX_NODES);
    snprintf(cl->nodes[cl->nnodes], sizeof(cl->nodes[0]), "%s", name);
    cl->alive[cl->nnodes++] = true;
    pthread_mutex_unlock(&cl->lock);
}

/* Makes node's "kubelet" stop (lease no longer renewed, pods untouched). */
static void kill_node(cluster *cl, const char *name)
{
    pthread_mutex_lock(&cl->lock);
    for (int i = 0; i < cl->nnodes; i++) {
        if (strcmp(cl->nodes[i], name) == 0)
            cl->alive[i] = false;
    }
    pthread_mutex_unlock(&cl->lock);
}

static void renew_lease(cluster *cl, const char *node)
{
    kc_lease_options o = {
        .ns = "kube-node-lease", .name = node, .holder = node, .duration_s = 40, .force = true};
    bool held;
    kn_error *err = NULL;
    if (kc_lease_acquire(cl->c, &o, &held, NULL, &err) < 0)
        fprintf(stderr, "lease %s: %s\n", node, kn_error_msg(err));
    kn_error_free(&err);
}

static const char *str(const cJSON *o, const char *path)
{
    const char *s = NULL;
    kn_json_get_string_opt(o, path, NULL, &s, NULL);
    return s;
}

/* True once the "kubelet" reported on the pod (the test may then turn it
 * not ready and it stays so). */
static bool pod_reported(const cJSON *pod)
{
    const cJSON *c, *conds = NULL;
    kn_json_get_array_opt(pod, "status.conditions", &conds, NULL);
    cJSON_ArrayForEach(c, conds)
    {
        if (strcmp(str(c, "type") ? str(c, "type") : "", "Ready") == 0)
            return true;
    }
    return false;
}

/* Reports a pod Running and Ready with a fresh pod IP. */
static void run_pod(cluster *cl, const cJSON *pod)
{
    char now[32];
    time_t t = time(NULL);
    strftime(now, sizeof(now), "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
    int ip = ++cl->next_ip;
    cleanup_free char *patch = xasprintf(
        "{\"status\":{\"phase\":\"Running\",\"podIP\":\"10.244.%d.%d\",\"podIPs\":[{\"ip\":"
        "\"10.244.%d.%d\"}],\"hostIP\":\"192.0.2.1\",\"startTime\":\"%s\",\"conditions\":["
        "{\"type\":\"Initialized\",\"status\":\"True\",\"lastTransitionTime\":\"%s\"},"
        "{\"type\":\"Ready\",\"status\":\"True\",\"lastTransitionTime\":\"%s\"},"
        "{\"type\":\"ContainersReady\",\"status\":\"True\",\"lastTransitionTime\":\"%s\"},"
        "{\"type\":\"PodScheduled\",\"status\":\"True\",\"lastTransitionTime\":\"%s\"}]}}",
        ip / 250, ip % 250 + 1, ip / 250, ip % 250 + 1, now, now, now, now, now);
    kn_error *err = NULL;
    if (kc_patch(cl->c, &kc_res_pods, str(pod, "metadata.namespace"), str(pod, "metadata.name"),
                 "status", KC_PATCH_STRATEGIC, patch, NULL, &err) < 0)
        fprintf(stderr, "run pod %s: %s\n", str(pod, "metadata.name"), kn_error_msg(err));
    kn_error_free(&err);
}

/* The kubelet's final delete: grace period 0 with the pod's uid as the
 * precondition (the grace period also in the query: the API server reads
 * it from there). */
static void confirm_deletion(cluster *cl, const cJSON *pod)
{
    cleanup_buf kn_buf path = KN_BUF_INIT;
    kc_resource_path(&path, &kc_res_pods, str(pod, "metadata.namespace"), str(pod, "metadata.name"),
                     NULL);
    kn_buf_append_str(&path, "?gracePeriodSeconds=0");
    cleanup_free char *body =
        xasprintf("{\"kind\":\"DeleteOptions\",\"apiVersion\":\"v1\",\"gracePeriodSeconds\":0,"
                  "\"preconditions\":{\"uid\":\"%s\"}}",
                  str(pod, "metadata.uid"));
    kc_request req = {.method = "DELETE",
                      .path = path.data,
                      .content_type = "application/json",
                      .body = body,
                      .body_len = strlen(body)};
    kc_response resp = {0};
    kn_error *err = NULL;
    if (kc_client_request(cl->c, &req, &resp, &err) == 0)
        kc_response_clear(&resp);
    kn_error_free(&err);
}

static void kubelet_sync_node(cluster *cl, const char *node)
{
    renew_lease(cl, node);
    cleanup_free char *field = xasprintf("spec.nodeName=%s", node);
    kc_list_options lo = {.field_selector = field};
    cJSON *list = NULL;
    kn_error *err = NULL;
    if (kc_list_all(cl->c, &kc_res_pods, NULL, &lo, &list, &err) < 0) {
        kn_error_free(&err);
        return;
    }
    const cJSON *pod;
    cJSON_ArrayForEach(pod, cJSON_GetObjectItem(list, "items"))
    {
        if (str(pod, "metadata.deletionTimestamp")) {
            confirm_deletion(cl, pod);
        } else if (!pod_reported(pod)) {
            run_pod(cl, pod);
        }
    }
    cJSON_Delete(list);
}

static void *kubelet_main(void *arg)
{
    cluster *cl = arg;
    while (!cl->stop) {
        char live[MAX_NODES][32];
        int n = 0;
        pthread_mutex_lock(&cl->lock);
        for (int i = 0; i < cl->nnodes; i++) {
            if (cl->alive[i])
                memcpy(live[n++], cl->nodes[i], sizeof(live[0]));
        }
        pthread_mutex_unlock(&cl->lock);
        for (int i = 0; i < n; i++)
            kubelet_sync_node(cl, live[i]);
        usleep(300000);
    }
    return NULL;
}

static void start_kubelet(cluster *cl)
{
    KT_ASSERT(pthread_create(&cl->kubelet, NULL, kubelet_main, cl) == 0);
    cl->kubelet_running = true;
}

/* ---- scheduler ------------------------------------------------------------------------ */

static const char big_pod[] =
    "apiVersion: v1\nkind: Pod\nmetadata:\n  name: big\nspec:\n  containers:\n"
    "  - name: c\n    image: localhost/busybox:1.36\n    resources:\n"
    "      requests: {cpu: \"2\"}\n";

KT_TEST_TIMEOUT(controllers, unschedulable_pod_gets_condition_and_event, 180)
{
    cluster cl = {0};
    start_cluster(&cl, NULL);
    add_node(&cl, "small", "1", NULL, NULL);
    const char *taint = "[{\"key\":\"dedicated\",\"value\":\"infra\",\"effect\":\"NoSchedule\"}]";
    add_node(&cl, "infra-1", "4", NULL, taint);
    add_node(&cl, "infra-2", "4", NULL, taint);
    apply(&cl, "big.yaml", big_pod);
    cleanup_free char *cond = wait_kubectl(
        &cl, "get pod big -o jsonpath='{.status.conditions[?(@.type==\"PodScheduled\")].reason}'",
        "Unschedulable", false);
    cleanup_free char *msg = kubectl(
        &cl, "get pod big -o jsonpath='{.status.conditions[?(@.type==\"PodScheduled\")].message}'");
    static const char want[] = "0/3 nodes are available: 1 Insufficient cpu, 2 node(s) had "
                               "untolerated taint {dedicated: infra}.";
    KT_ASSERT_STREQ(msg, want);
    cleanup_free char *ev = wait_kubectl(&cl,
                                         "get events --field-selector involvedObject.name=big -o "
                                         "jsonpath='{.items[*].reason}: {.items[*].message}'",
                                         "FailedScheduling", false);
    KT_ASSERT_CONTAINS(ev, want);
    /* the controllers hold the leader Lease */
    cleanup_free char *holder = kubectl(
        &cl,
        "get lease -n kube-system kube-controller-manager -o jsonpath='{.spec.holderIdentity}'");
    KT_ASSERT_MSG(holder[0] && !strstr(holder, "rror"), "leader lease: %s", holder);
    cleanup_free char *node = kubectl(&cl, "get pod big -o jsonpath='{.spec.nodeName}'");
    KT_ASSERT_STREQ(node, "");

    /* a node that fits appears: the pod is retried at once and bound there */
    add_node(&cl, "large", "8", NULL, NULL);
    cleanup_free char *bound =
        wait_kubectl(&cl, "get pod big -o jsonpath='{.spec.nodeName}'", "large", false);
    KT_ASSERT_STREQ(bound, "large");
    cleanup_free char *sched = wait_kubectl(
        &cl,
        "get events --field-selector involvedObject.name=big -o jsonpath='{.items[*].message}'",
        "Successfully assigned", false);
    KT_ASSERT_CONTAINS(sched, "Successfully assigned default/big to large");
    finish_cluster(&cl);
}

static const char placed_pods[] =
    "apiVersion: v1\nkind: Pod\nmetadata:\n  name: on-ssd\nspec:\n  nodeSelector: {disk: ssd}\n"
    "  containers:\n  - {name: c, image: localhost/busybox:1.36}\n---\n"
    "apiVersion: v1\nkind: Pod\nmetadata:\n  name: not-a\nspec:\n  affinity:\n"
    "    nodeAffinity:\n      requiredDuringSchedulingIgnoredDuringExecution:\n"
    "        nodeSelectorTerms:\n        - matchExpressions:\n"
    "          - {key: zone, operator: NotIn, values: [a]}\n"
    "          - {key: disk, operator: DoesNotExist}\n"
    "  containers:\n  - {name: c, image: localhost/busybox:1.36}\n---\n"
    "apiVersion: v1\nkind: Pod\nmetadata:\n  name: port-1\nspec:\n  nodeSelector: {zone: a}\n"
    "  containers:\n  - name: c\n    image: localhost/busybox:1.36\n"
    "    ports: [{containerPort: 80, hostPort: 8080}]\n---\n"
    "apiVersion: v1\nkind: Pod\nmetadata:\n  name: port-2\nspec:\n  nodeSelector: {zone: a}\n"
    "  containers:\n  - name: c\n    image: localhost/busybox:1.36\n"
    "    ports: [{containerPort: 80, hostPort: 8080}]\n";

KT_TEST_TIMEOUT(controllers, scheduler_honours_selectors_affinity_and_ports, 180)
{
    cluster cl = {0};
    start_cluster(&cl, NULL);
    add_node(&cl, "a-ssd", "4", "{\"zone\":\"a\",\"disk\":\"ssd\"}", NULL);
    add_node(&cl, "a-hdd", "4", "{\"zone\":\"a\"}", NULL);
    add_node(&cl, "b-plain", "4", "{\"zone\":\"b\"}", NULL);
    start_kubelet(&cl);
    apply(&cl, "pods.yaml", placed_pods);
    cleanup_free char *ssd =
        wait_kubectl(&cl, "get pod on-ssd -o jsonpath='{.spec.nodeName}'", "a-", false);
    KT_ASSERT_STREQ(ssd, "a-ssd");
    cleanup_free char *b =
        wait_kubectl(&cl, "get pod not-a -o jsonpath='{.spec.nodeName}'", "b-", false);
    KT_ASSERT_STREQ(b, "b-plain");
    /* two pods want host port 8080 in zone a: one per node */
    cleanup_free char *p1 =
        wait_kubectl(&cl, "get pod port-1 -o jsonpath='{.spec.nodeName}'", "a-", false);
    cleanup_free char *p2 =
        wait_kubectl(&cl, "get pod port-2 -o jsonpath='{.spec.nodeName}'", "a-", false);
    KT_ASSERT_MSG(strcmp(p1, p2) != 0, "both host-port pods on %s", p1);
    finish_cluster(&cl);
}

/* ---- ReplicaSets and Deployments ---------------------------------------------------------- */

static const char orphan_pod[] =
    "apiVersion: v1\nkind: Pod\nmetadata:\n  name: stray\n  labels: {app: cache}\nspec:\n"
    "  containers:\n  - {name: c, image: localhost/busybox:1.36}\n";

static const char cache_rs[] =
    "apiVersion: apps/v1\nkind: ReplicaSet\nmetadata:\n  name: cache\nspec:\n  replicas: 2\n"
    "  selector:\n    matchLabels: {app: cache}\n  template:\n    metadata:\n"
    "      labels: {app: cache, tier: backend}\n    spec:\n      containers:\n"
    "      - {name: c, image: localhost/busybox:1.36}\n";

KT_TEST_TIMEOUT(controllers, replicaset_adopts_releases_and_replaces, 180)
{
    cluster cl = {0};
    start_cluster(&cl, NULL);
    add_node(&cl, "n1", "4", NULL, NULL);
    add_node(&cl, "n2", "4", NULL, NULL);
    start_kubelet(&cl);
    apply(&cl, "stray.yaml", orphan_pod);
    apply(&cl, "cache.yaml", cache_rs);
    /* the orphan is adopted: only one pod is created */
    cleanup_free char *ready = wait_kubectl(
        &cl, "get rs cache -o jsonpath='{.status.readyReplicas}/{.status.replicas}'", "2/2", false);
    cleanup_free char *owner =
        kubectl(&cl, "get pod stray -o jsonpath='{.metadata.ownerReferences[0].name}:"
                     "{.metadata.ownerReferences[0].controller}'");
    KT_ASSERT_STREQ(owner, "cache:true");
    cleanup_free char *count =
        kubectl(&cl, "get pods -l app=cache -o jsonpath='{range .items[*]}x{end}'");
    KT_ASSERT_STREQ(count, "xx");
    /* the stray pod lacks the template's tier label */
    cleanup_free char *labelled =
        kubectl(&cl, "get rs cache -o jsonpath='{.status.fullyLabeledReplicas}'");
    KT_ASSERT_STREQ(labelled, "1");
    /* relabelled out of the selector: released and replaced */
    kubectl_ok(&cl, "label pod stray app=gone --overwrite");
    cleanup_free char *released =
        wait_kubectl(&cl, "get pod stray -o jsonpath='{.metadata.ownerReferences}'", "cache", true);
    cleanup_free char *replaced = wait_kubectl(
        &cl, "get pods -l app=cache,tier=backend -o jsonpath='{range .items[*]}x{end}'", "xx",
        false);
    /* scaled down: the surplus pods go */
    kubectl_ok(&cl, "scale rs cache --replicas=1");
    cleanup_free char *one = wait_kubectl(
        &cl, "get rs cache -o jsonpath='{.status.replicas} {.status.observedGeneration}'", "1 2",
        false);
    finish_cluster(&cl);
}

static const char web_deployment[] =
    "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 3\n"
    "  selector:\n    matchLabels: {app: web}\n  template:\n    metadata:\n"
    "      labels: {app: web}\n    spec:\n      containers:\n"
    "      - name: c\n        image: localhost/busybox:1.35\n"
    "        resources: {requests: {cpu: 100m}}\n";

static void rollout_status(const cluster *cl, const char *version)
{
    int st;
    cleanup_free char *out = kubectl_v(cl, version, "rollout status deploy/web --timeout=90s", &st);
    KT_ASSERT_MSG(st == 0, "rollout status (%s): %s", version ? version : "default", out);
    KT_ASSERT_CONTAINS(out, "deployment \"web\" successfully rolled out");
}

static void rollout_with(const char *version)
{
    cleanup_free char *bin = xasprintf(KUBECTL_DIR "/kubectl.%s", version);
    if (access(bin, X_OK) != 0)
        KT_SKIP("%s not installed", bin);
    cluster cl = {0};
    start_cluster(&cl, NULL);
    add_node(&cl, "n1", "4", NULL, NULL);
    add_node(&cl, "n2", "4", NULL, NULL);
    add_node(&cl, "n3", "4", NULL, NULL);
    start_kubelet(&cl);
    apply(&cl, "web.yaml", web_deployment);
    rollout_status(&cl, version);
    /* three pods, each bound to a node: least-allocated spreads them */
    cleanup_free char *nodes =
        kubectl(&cl, "get pods -l app=web -o jsonpath='{range .items[*]}{.spec.nodeName} {end}'");
    KT_ASSERT_CONTAINS(nodes, "n1 ");
    KT_ASSERT_CONTAINS(nodes, "n2 ");
    KT_ASSERT_CONTAINS(nodes, "n3 ");

    kubectl_ok(&cl, "set image deploy/web c=localhost/busybox:1.36");
    rollout_status(&cl, version);
    cleanup_free char *v2 = wait_kubectl(&cl,
                                         "get rs -l app=web -o jsonpath='{range "
                                         ".items[*]}{.spec.replicas}{end}'",
                                         "30", false);
    cleanup_free char *rev = kubectl(
        &cl, "get deploy web -o jsonpath='{.metadata.annotations.deployment\\.kubernetes\\.io/"
             "revision}'");
    KT_ASSERT_STREQ(rev, "2");

    cleanup_free char *undo_args = xasprintf("rollout undo deploy/web");
    int st;
    cleanup_free char *undo = kubectl_v(&cl, version, undo_args, &st);
    KT_ASSERT_MSG(st == 0, "rollout undo: %s", undo);
    rollout_status(&cl, version);
    cleanup_free char *image =
        kubectl(&cl, "get deploy web -o jsonpath='{.spec.template.spec.containers[0].image}'");
    KT_ASSERT_STREQ(image, "localhost/busybox:1.35");
    cleanup_free char *rev3 = wait_kubectl(
        &cl,
        "get deploy web -o jsonpath='{.metadata.annotations.deployment\\.kubernetes\\.io/"
        "revision} {.status.updatedReplicas} {.status.availableReplicas}'",
        "3 3 3", false);
    cleanup_free char *images = wait_kubectl(&cl,
                                             "get pods -l app=web -o jsonpath='{range "
                                             ".items[*]}{.spec.containers[0].image} {end}'",
                                             "1.36", true);
    KT_ASSERT_STREQ(images, "localhost/busybox:1.35 localhost/busybox:1.35 "
                            "localhost/busybox:1.35 ");
    /* the old ReplicaSet of revision 1 became revision 3 */
    cleanup_free char *hist =
        kubectl(&cl, "get rs -l app=web -o jsonpath='{range .items[*]}{.metadata.annotations."
                     "deployment\\.kubernetes\\.io/revision}:{.metadata.annotations.deployment\\"
                     ".kubernetes\\.io/revision-history} {end}'");
    KT_ASSERT_CONTAINS(hist, "3:1 ");
    cleanup_free char *conds = kubectl(
        &cl, "get deploy web -o jsonpath='{range .status.conditions[*]}{.type}={.reason} {end}'");
    KT_ASSERT_CONTAINS(conds, "Available=MinimumReplicasAvailable");
    KT_ASSERT_CONTAINS(conds, "Progressing=NewReplicaSetAvailable");

    kubectl_ok(&cl, "scale deploy/web --replicas=5");
    rollout_status(&cl, version);
    cleanup_free char *five =
        wait_kubectl(&cl, "get deploy web -o jsonpath='{.status.readyReplicas}'", "5", false);
    finish_cluster(&cl);
}

KT_TEST_TIMEOUT(controllers, deployment_rollout_and_undo_kubectl_1_27, 300)
{
    rollout_with("1.27");
}

KT_TEST_TIMEOUT(controllers, deployment_rollout_and_undo_kubectl_1_33, 300)
{
    rollout_with("1.33");
}

/* ---- Services ---------------------------------------------------------------------------- */

static const char api_app[] =
    "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: api\nspec:\n  replicas: 2\n"
    "  selector:\n    matchLabels: {app: api}\n  template:\n    metadata:\n"
    "      labels: {app: api}\n    spec:\n      containers:\n"
    "      - name: c\n        image: localhost/busybox:1.36\n"
    "        ports: [{name: http, containerPort: 8080}]\n---\n"
    "apiVersion: v1\nkind: Service\nmetadata:\n  name: api\n  labels: {team: a}\nspec:\n"
    "  selector: {app: api}\n  ports:\n  - {name: web, port: 80, targetPort: http}\n";

#define SLICE_READY                                                                                \
    "get endpointslices -l kubernetes.io/service-name=api -o jsonpath='{range "                    \
    ".items[*].endpoints[*]}{.conditions.ready}/{.conditions.serving} {end}'"

KT_TEST_TIMEOUT(controllers, endpointslice_follows_pod_readiness, 180)
{
    cluster cl = {0};
    start_cluster(&cl, NULL);
    add_node(&cl, "n1", "4", NULL, NULL);
    add_node(&cl, "n2", "4", NULL, NULL);
    start_kubelet(&cl);
    apply(&cl, "api.yaml", api_app);
    cleanup_free char *two = wait_kubectl(&cl, SLICE_READY, "true/true true/true", false);
    cleanup_free char *meta = kubectl(
        &cl, "get endpointslices -l kubernetes.io/service-name=api -o jsonpath='{.items[0]."
             "addressType} {.items[0].ports[0].name}:{.items[0].ports[0].port} "
             "{.items[0].metadata.labels.endpointslice\\.kubernetes\\.io/managed-by} "
             "{.items[0].metadata.labels.team} {.items[0].metadata.ownerReferences[0].kind}'");
    KT_ASSERT_STREQ(meta, "IPv4 web:8080 endpointslice-controller.k8s.io a Service");
    cleanup_free char *ep =
        wait_kubectl(&cl,
                     "get endpoints api -o jsonpath='{.subsets[0].ports[0].port} {range "
                     ".subsets[0].addresses[*]}{.targetRef.kind} {end}'",
                     "8080 Pod Pod", false);

    /* one pod turns not ready: the slice keeps it as not ready, Endpoints moves it */
    cleanup_free char *pod =
        kubectl(&cl, "get pods -l app=api -o jsonpath='{.items[0].metadata.name}'");
    cleanup_free char *patch =
        xasprintf("patch pod %s --subresource=status --type=strategic -p "
                  "'{\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":\"False\"}]}}'",
                  pod);
    kubectl_ok(&cl, patch);
    cleanup_free char *mixed = wait_kubectl(&cl, SLICE_READY, "false/false", false);
    KT_ASSERT_CONTAINS(mixed, "true/true");
    cleanup_free char *not_ready = wait_kubectl(
        &cl, "get endpoints api -o jsonpath='{.subsets[0].notReadyAddresses[0].targetRef.name}'",
        pod, false);
    KT_ASSERT_STREQ(not_ready, pod);

    /* scaled up: the new pod joins once ready */
    kubectl_ok(&cl, "scale deploy api --replicas=3");
    cleanup_free char *three =
        wait_kubectl(&cl,
                     "get endpointslices -l kubernetes.io/service-name=api -o jsonpath='{range "
                     ".items[*].endpoints[?(@.conditions.ready==true)]}x{end}'",
                     "xx", false);
    cleanup_free char *count = wait_kubectl(
        &cl, "get endpoints api -o jsonpath='{range .subsets[0].addresses[*]}x{end}'", "xx", false);
    finish_cluster(&cl);
}

/* ---- garbage collection and namespaces ------------------------------------------------------ */

static const char *const gc_apps[] = {"bg", "fg", "orph"};

static const kc_resource deployments_res = {"apps", "v1", "deployments", true};

static char *app_yaml(const char *name)
{
    return xasprintf("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: %s\nspec:\n"
                     "  replicas: 2\n  selector:\n    matchLabels: {app: %s}\n  template:\n"
                     "    metadata:\n      labels: {app: %s}\n    spec:\n      containers:\n"
                     "      - {name: c, image: localhost/busybox:1.36}\n---\n"
                     "apiVersion: v1\nkind: Service\nmetadata:\n  name: %s\nspec:\n"
                     "  selector: {app: %s}\n  ports: [{port: 80}]\n",
                     name, name, name, name, name);
}

/* DELETE with the propagation policy in the query (as DeleteOptions too). */
static void delete_with(cluster *cl, const kc_resource *r, const char *name, const char *policy)
{
    cleanup_buf kn_buf path = KN_BUF_INIT;
    kc_resource_path(&path, r, "default", name, NULL);
    kn_buf_appendf(&path, "?propagationPolicy=%s", policy);
    cleanup_free char *body = xasprintf("{\"kind\":\"DeleteOptions\",\"apiVersion\":\"v1\","
                                        "\"propagationPolicy\":\"%s\"}",
                                        policy);
    kc_request req = {.method = "DELETE",
                      .path = path.data,
                      .content_type = "application/json",
                      .body = body,
                      .body_len = strlen(body)};
    kc_response resp = {0};
    kn_error *err = NULL;
    KT_ASSERT_OK(kc_client_request(cl->c, &req, &resp, &err), err);
    kc_response_clear(&resp);
}

KT_TEST_TIMEOUT(controllers, garbage_collector_background_foreground_orphan, 240)
{
    cluster cl = {0};
    start_cluster(&cl, NULL);
    add_node(&cl, "n1", "8", NULL, NULL);
    start_kubelet(&cl);
    for (size_t i = 0; i < 3; i++) {
        cleanup_free char *yaml = app_yaml(gc_apps[i]);
        cleanup_free char *file = xasprintf("%s.yaml", gc_apps[i]);
        apply(&cl, file, yaml);
        cleanup_free char *args =
            xasprintf("get deploy %s -o jsonpath='{.status.availableReplicas}'", gc_apps[i]);
        cleanup_free char *ok = wait_kubectl(&cl, args, "2", false);
    }
    cleanup_free char *slices = wait_kubectl(
        &cl, "get endpointslices -l kubernetes.io/service-name=bg -o name", "endpointslice", false);

    /* background (kubectl's default): the ReplicaSet and the pods follow */
    kubectl_ok(&cl, "delete deploy bg");
    cleanup_free char *bg = wait_kubectl(&cl, "get rs,pods -l app=bg -o name", "/", true);
    KT_ASSERT_STREQ(bg, "");
    /* a deleted Service takes its EndpointSlices and Endpoints along */
    kubectl_ok(&cl, "delete svc bg");
    cleanup_free char *nslices = wait_kubectl(
        &cl, "get endpointslices -l kubernetes.io/service-name=bg -o name", "endpointslice", true);
    cleanup_free char *neps = wait_kubectl(&cl, "get endpoints -o name", "endpoints/bg", true);

    /* foreground: the deployment stays until its dependents are gone */
    delete_with(&cl, &deployments_res, "fg", "Foreground");
    cleanup_free char *fg_all =
        wait_kubectl(&cl, "get deploy,rs,pods -l app=fg -o name", "/", true);
    cleanup_free char *fg_gone =
        wait_kubectl(&cl, "get deploy -o name", "deployment.apps/fg", true);

    /* orphan: the ReplicaSet stays, without its owner */
    delete_with(&cl, &deployments_res, "orph", "Orphan");
    cleanup_free char *orph_gone =
        wait_kubectl(&cl, "get deploy -o name", "deployment.apps/orph", true);
    cleanup_free char *refs =
        wait_kubectl(&cl, "get rs -l app=orph -o jsonpath='{.items[*].metadata.ownerReferences}'",
                     "Deployment", true);
    cleanup_free char *pods = kubectl(
        &cl, "get pods -l app=orph -o jsonpath='{range .items[*]}{.metadata.ownerReferences[0]"
             ".kind} {end}'");
    KT_ASSERT_STREQ(pods, "ReplicaSet ReplicaSet ");
    finish_cluster(&cl);
}

static const char team_ns[] =
    "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: team\n---\n"
    "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: team\nspec:\n"
    "  replicas: 2\n  selector:\n    matchLabels: {app: web}\n  template:\n    metadata:\n"
    "      labels: {app: web}\n    spec:\n      containers:\n"
    "      - {name: c, image: localhost/busybox:1.36}\n---\n"
    "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n  namespace: team\nspec:\n"
    "  selector: {app: web}\n  ports: [{port: 80}]\n---\n"
    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: team\n"
    "data: {a: b}\n---\n"
    "apiVersion: v1\nkind: Secret\nmetadata:\n  name: token\n  namespace: team\n"
    "stringData: {t: x}\n";

KT_TEST_TIMEOUT(controllers, namespace_deleted_with_everything_in_it, 240)
{
    cluster cl = {0};
    start_cluster(&cl, NULL);
    add_node(&cl, "n1", "8", NULL, NULL);
    start_kubelet(&cl);
    apply(&cl, "team.yaml", team_ns);
    /* the ServiceAccount controller gives every namespace its "default" */
    cleanup_free char *sa =
        wait_kubectl(&cl, "get sa -n team -o name", "serviceaccount/default", false);
    cleanup_free char *up = wait_kubectl(
        &cl, "get deploy web -n team -o jsonpath='{.status.availableReplicas}'", "2", false);
    cleanup_free char *eps =
        wait_kubectl(&cl, "get endpointslices -n team -o name", "endpointslice", false);
    kubectl_ok(&cl, "delete ns team --wait=false");
    cleanup_free char *phase =
        kubectl(&cl, "get ns team -o jsonpath='{.status.phase}' --ignore-not-found");
    KT_ASSERT_MSG(strcmp(phase, "Terminating") == 0 || strcmp(phase, "") == 0, "phase %s", phase);
    cleanup_free char *gone = wait_kubectl(&cl, "get ns -o name", "namespace/team", true);
    static const char *const kinds[] = {"pods",      "deploy", "rs",      "svc", "endpointslices",
                                        "endpoints", "cm",     "secrets", "sa"};
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        cleanup_free char *args = xasprintf("get %s -n team -o name", kinds[i]);
        cleanup_free char *left = kubectl(&cl, args);
        KT_ASSERT_MSG(strstr(left, "/") == NULL, "%s left in team: %s", kinds[i], left);
    }
    /* the name can be used again */
    kubectl_ok(&cl, "create ns team");
    cleanup_free char *again =
        wait_kubectl(&cl, "get sa -n team -o name", "serviceaccount/default", false);
    finish_cluster(&cl);
}

/* ---- node lifecycle ------------------------------------------------------------------------ */

static const char tolerant_app[] =
    "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: tolerant\nspec:\n  replicas: 3\n"
    "  selector:\n    matchLabels: {app: tolerant}\n  template:\n    metadata:\n"
    "      labels: {app: tolerant}\n    spec:\n      tolerations:\n"
    "      - {key: node.kubernetes.io/unreachable, operator: Exists, effect: NoExecute,\n"
    "         tolerationSeconds: 2}\n      containers:\n"
    "      - name: c\n        image: localhost/busybox:1.36\n"
    "        resources: {requests: {cpu: 500m}}\n";

KT_TEST_TIMEOUT(controllers, stale_node_pods_are_evicted, 240)
{
    cluster cl = {0};
    start_cluster(&cl, "10s"); /* --node-monitor-grace-period */
    add_node(&cl, "n1", "4", NULL, NULL);
    add_node(&cl, "n2", "4", NULL, NULL);
    add_node(&cl, "n3", "4", NULL, NULL);
    start_kubelet(&cl);
    apply(&cl, "tolerant.yaml", tolerant_app);
    cleanup_free char *up = wait_kubectl(
        &cl, "get deploy tolerant -o jsonpath='{.status.availableReplicas}'", "3", false);
    cleanup_free char *victim =
        wait_kubectl(&cl,
                     "get pods -l app=tolerant --field-selector spec.nodeName=n3 -o "
                     "jsonpath='pod/{.items[0].metadata.name}'",
                     "pod/tolerant-", false);

    kill_node(&cl, "n3"); /* its Lease is no longer renewed */
    cleanup_free char *unknown = wait_kubectl(
        &cl, "get node n3 -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].status}'",
        "Unknown", false);
    KT_ASSERT_STREQ(unknown, "Unknown");
    cleanup_free char *taints =
        wait_kubectl(&cl, "get node n3 -o jsonpath='{range .spec.taints[*]}{.key}:{.effect} {end}'",
                     "node.kubernetes.io/unreachable:NoExecute", false);
    KT_ASSERT_CONTAINS(taints, "node.kubernetes.io/unreachable:NoSchedule");
    /* the pod there is deleted once its 2 s of toleration are over */
    cleanup_free char *del_args =
        xasprintf("get %s -o jsonpath='{.metadata.deletionTimestamp}'", victim);
    cleanup_free char *deleted = wait_kubectl(&cl, del_args, "T", false);
    cleanup_free char *cond_args = xasprintf(
        "get %s -o jsonpath='{.status.conditions[?(@.type==\"DisruptionTarget\")].reason}'",
        victim);
    cleanup_free char *reason = kubectl(&cl, cond_args);
    KT_ASSERT_STREQ(reason, "DeletionByTaintManager");
    cleanup_free char *ev =
        wait_kubectl(&cl, "get events -o jsonpath='{range .items[*]}{.reason} {end}'",
                     "TaintManagerEviction", false);
    KT_ASSERT_CONTAINS(ev, "NodeNotReady");
    /* its replacement runs elsewhere, and the live nodes stay Ready */
    cleanup_free char *back = wait_kubectl(
        &cl, "get deploy tolerant -o jsonpath='{.status.availableReplicas}'", "3", false);
    cleanup_free char *on_n3 =
        kubectl(&cl, "get pods -l app=tolerant --field-selector spec.nodeName=n3 -o "
                     "jsonpath='pod/{.items[*].metadata.name}'");
    KT_ASSERT_STREQ(on_n3, victim); /* nothing new was placed on the tainted node */
    cleanup_free char *ready = kubectl(
        &cl,
        "get nodes n1 n2 -o jsonpath='{range .items[*]}{.status.conditions[?(@.type==\"Ready\")]"
        ".status} {end}'");
    KT_ASSERT_STREQ(ready, "True True ");
    finish_cluster(&cl);
}

static const char recreate_app[] =
    "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: rc\nspec:\n  replicas: 2\n"
    "  strategy: {type: Recreate}\n  selector:\n    matchLabels: {app: rc}\n  template:\n"
    "    metadata:\n      labels: {app: rc}\n    spec:\n      containers:\n"
    "      - {name: c, image: localhost/busybox:1.35}\n";

KT_TEST_TIMEOUT(controllers, deployment_recreate_and_pause, 240)
{
    cluster cl = {0};
    start_cluster(&cl, NULL);
    add_node(&cl, "n1", "8", NULL, NULL);
    start_kubelet(&cl);
    apply(&cl, "rc.yaml", recreate_app);
    cleanup_free char *up =
        wait_kubectl(&cl, "get deploy rc -o jsonpath='{.status.availableReplicas}'", "2", false);
    /* paused: a template change is recorded but not rolled out */
    kubectl_ok(&cl, "rollout pause deploy/rc");
    kubectl_ok(&cl, "set image deploy/rc c=localhost/busybox:1.36");
    cleanup_free char *paused = wait_kubectl(
        &cl, "get deploy rc -o jsonpath='{.status.conditions[?(@.type==\"Progressing\")].reason}'",
        "DeploymentPaused", false);
    cleanup_free char *rs_count =
        kubectl(&cl, "get rs -l app=rc -o jsonpath='{range .items[*]}x{end}'");
    KT_ASSERT_STREQ(rs_count, "x");
    kubectl_ok(&cl, "rollout resume deploy/rc");
    int st;
    cleanup_free char *done = kubectl_v(&cl, NULL, "rollout status deploy/rc --timeout=90s", &st);
    KT_ASSERT_MSG(st == 0, "rollout status: %s", done);
    cleanup_free char *images = wait_kubectl(
        &cl, "get pods -l app=rc -o jsonpath='{range .items[*]}{.spec.containers[0].image} {end}'",
        "1.35", true);
    KT_ASSERT_STREQ(images, "localhost/busybox:1.36 localhost/busybox:1.36 ");
    /* Recreate: the old ReplicaSet went to 0 before the new one was scaled up */
    cleanup_free char *events =
        kubectl(&cl, "get events --field-selector involvedObject.name=rc -o "
                     "jsonpath='{range .items[*]}{.message}|{end}'");
    char *down = strstr(events, "from 2 to 0");
    char *first_up = strstr(events, "from 0 to 2");
    char *second_up = first_up ? strstr(first_up + 1, "from 0 to 2") : NULL;
    KT_ASSERT_MSG(down && second_up && down < second_up, "events in this order: %s", events);
    finish_cluster(&cl);
}

/* ---- restarts ---------------------------------------------------------------------------------
 */

KT_TEST_TIMEOUT(controllers, converge_after_kill9_restart, 240)
{
    cluster cl = {0};
    start_cluster(&cl, NULL);
    add_node(&cl, "n1", "8", NULL, NULL);
    start_kubelet(&cl);
    cleanup_free char *yaml = app_yaml("again");
    apply(&cl, "again.yaml", yaml);
    cleanup_free char *up =
        wait_kubectl(&cl, "get deploy again -o jsonpath='{.status.availableReplicas}'", "2", false);
    cleanup_free char *holder = wait_kubectl(
        &cl,
        "get lease -n kube-system kube-controller-manager -o jsonpath='{.spec.holderIdentity}'",
        "_", false);
    crash_and_restart(&cl);
    /* the same candidate: it holds the Lease again without waiting for it to expire */
    cleanup_free char *again = kubectl(
        &cl,
        "get lease -n kube-system kube-controller-manager -o jsonpath='{.spec.holderIdentity}'");
    KT_ASSERT_STREQ(again, holder);
    /* work done before the crash is not repeated; new work is picked up */
    kubectl_ok(&cl, "scale deploy again --replicas=3");
    cleanup_free char *three =
        wait_kubectl(&cl, "get deploy again -o jsonpath='{.status.availableReplicas}'", "3", false);
    cleanup_free char *pods =
        kubectl(&cl, "get pods -l app=again -o jsonpath='{range .items[*]}x{end}'");
    KT_ASSERT_STREQ(pods, "xxx");
    cleanup_free char *rs =
        kubectl(&cl, "get rs -l app=again -o jsonpath='{range .items[*]}x{end}'");
    KT_ASSERT_STREQ(rs, "x");
    finish_cluster(&cl);
}

/* ---- node IPAM ---------------------------------------------------------------------------- */

static void add_plain_node(cluster *cl, const char *name, const char *pod_cidr)
{
    cleanup_free char *yaml =
        xasprintf("apiVersion: v1\nkind: Node\nmetadata:\n  name: %s\nspec:\n  podCIDR: \"%s\"\n",
                  name, pod_cidr ? pod_cidr : "");
    cleanup_free char *file = xasprintf("%s.yaml", name);
    apply(cl, file, yaml);
}

KT_TEST_TIMEOUT(controllers, node_ipam_allocates_pod_cidrs, 120)
{
    cluster cl = {.cluster_cidr = "10.244.0.0/16"};
    start_cluster(&cl, NULL);
    add_plain_node(&cl, "pre", "10.244.0.0/24"); /* assigned elsewhere: kept and taken as used */
    add_plain_node(&cl, "a", NULL);
    cleanup_free char *a =
        wait_kubectl(&cl, "get node a -o jsonpath='{.spec.podCIDR}'", "/24", false);
    KT_ASSERT_STREQ(a, "10.244.1.0/24");
    add_plain_node(&cl, "b", NULL);
    cleanup_free char *b = wait_kubectl(
        &cl, "get node b -o jsonpath='{.spec.podCIDR} {.spec.podCIDRs[0]}'", "/24", false);
    KT_ASSERT_STREQ(b, "10.244.2.0/24 10.244.2.0/24");
    cleanup_free char *pre = kubectl(&cl, "get node pre -o jsonpath='{.spec.podCIDR}'");
    KT_ASSERT_STREQ(pre, "10.244.0.0/24");
    finish_cluster(&cl);
}

/* ---- DaemonSets and StatefulSets ---------------------------------------------------------- */

static const char agent_ds[] =
    "apiVersion: apps/v1\nkind: DaemonSet\nmetadata:\n  name: agent\nspec:\n"
    "  selector:\n    matchLabels: {app: agent}\n  template:\n    metadata:\n"
    "      labels: {app: agent}\n    spec:\n      nodeSelector: {role: worker}\n"
    "      containers:\n      - name: c\n        image: localhost/busybox:1.35\n"
    "        resources: {requests: {cpu: 100m}}\n";

static char *agent_nodes(const cluster *cl)
{
    return kubectl(cl, "get pods -l app=agent --sort-by=.spec.nodeName -o jsonpath='{range "
                       ".items[*]}{.spec.nodeName} {end}'");
}

/* Waits until the agent pods sit on exactly want ("n1 n3 ") and the
 * status says so. */
static void wait_agents(const cluster *cl, const char *want, const char *desired)
{
    char *out = NULL;
    for (int i = 0; i < WAIT_S * 4; i++) {
        free(out);
        out = agent_nodes(cl);
        if (strcmp(out, want) == 0)
            break;
        usleep(250000);
    }
    KT_ASSERT_MSG(strcmp(out, want) == 0, "agent pods on \"%s\", want \"%s\"", out, want);
    free(out);
    cleanup_free char *want_status = xasprintf("%s %s %s", desired, desired, desired);
    cleanup_free char *st =
        wait_kubectl(cl,
                     "get ds agent -o jsonpath='{.status.desiredNumberScheduled}"
                     " {.status.currentNumberScheduled} {.status.numberReady}'",
                     want_status, false);
}

static void ds_rollout_status(const cluster *cl)
{
    cleanup_free char *bin = xstrdup(KUBECTL_DIR "/kubectl.1.33");
    int st;
    cleanup_free char *out = kubectl_v(cl, access(bin, X_OK) == 0 ? "1.33" : NULL,
                                       "rollout status ds/agent --timeout=90s", &st);
    KT_ASSERT_MSG(st == 0, "rollout status: %s", out);
    KT_ASSERT_CONTAINS(out, "daemon set \"agent\" successfully rolled out");
}

KT_TEST_TIMEOUT(controllers, daemonset_follows_nodes_and_taints, 240)
{
    cluster cl = {0};
    start_cluster(&cl, NULL);
    add_node(&cl, "n1", "4", "{\"role\":\"worker\"}", NULL);
    add_node(&cl, "n2", "4", "{\"role\":\"worker\"}", NULL);
    add_node(&cl, "n3", "4", "{\"role\":\"infra\"}", NULL);
    start_kubelet(&cl);
    apply(&cl, "agent.yaml", agent_ds);
    wait_agents(&cl, "n1 n2 ", "2");
    ds_rollout_status(&cl);
    /* pinned by matchFields, owned, labelled with the revision */
    cleanup_free char *pod = kubectl(
        &cl, "get pods -l app=agent -o jsonpath='{.items[0].spec.affinity.nodeAffinity."
             "requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchFields[0]."
             "key} {.items[0].metadata.ownerReferences[0].kind} {.items[0].metadata.labels."
             "controller-revision-hash}'");
    KT_ASSERT_CONTAINS(pod, "metadata.name DaemonSet ");
    cleanup_free char *revs =
        kubectl(&cl, "get controllerrevisions -o jsonpath='{range .items[*]}{.revision} {end}'");
    KT_ASSERT_STREQ(revs, "1 ");

    /* a new matching node gets a pod; a node relabelled away loses it */
    add_node(&cl, "n4", "4", "{\"role\":\"worker\"}", NULL);
    wait_agents(&cl, "n1 n2 n4 ", "3");
    kubectl_ok(&cl, "label node n3 role=worker --overwrite");
    wait_agents(&cl, "n1 n2 n3 n4 ", "4");
    /* NoSchedule keeps the running pod; NoExecute removes it */
    kubectl_ok(&cl, "taint node n2 dedicated=db:NoSchedule");
    cleanup_free char *mis = wait_kubectl(
        &cl,
        "get ds agent -o jsonpath='{.status.desiredNumberScheduled}/{.status.numberMisscheduled}'",
        "3/1", false);
    wait_agents(&cl, "n1 n2 n3 n4 ", "3");
    kubectl_ok(&cl, "taint node n2 dedicated=db:NoExecute");
    wait_agents(&cl, "n1 n3 n4 ", "3");
    kubectl_ok(&cl, "delete node n4");
    wait_agents(&cl, "n1 n3 ", "2");

    /* RollingUpdate to a new image, then undo through the ControllerRevisions */
    kubectl_ok(&cl, "set image ds/agent c=localhost/busybox:1.36");
    ds_rollout_status(&cl);
    cleanup_free char *images = wait_kubectl(
        &cl,
        "get pods -l app=agent -o jsonpath='{range .items[*]}{.spec.containers[0].image} {end}'",
        "1.35", true);
    KT_ASSERT_STREQ(images, "localhost/busybox:1.36 localhost/busybox:1.36 ");
    kubectl_ok(&cl, "rollout undo ds/agent");
    ds_rollout_status(&cl);
    cleanup_free char *back = wait_kubectl(
        &cl,
        "get pods -l app=agent -o jsonpath='{range .items[*]}{.spec.containers[0].image} {end}'",
        "1.36", true);
    KT_ASSERT_STREQ(back, "localhost/busybox:1.35 localhost/busybox:1.35 ");
    cleanup_free char *revs3 = wait_kubectl(&cl,
                                            "get controllerrevisions --sort-by=.revision -o "
                                            "jsonpath='{range .items[*]}{.revision} {end}'",
                                            "2 3 ", false);
    finish_cluster(&cl);
}

static const char web_sts[] =
    "apiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  name: web\nspec:\n  replicas: 3\n"
    "  serviceName: web\n  selector:\n    matchLabels: {app: web}\n  template:\n"
    "    metadata:\n      labels: {app: web}\n    spec:\n      containers:\n"
    "      - name: c\n        image: localhost/busybox:1.35\n"
    "        resources: {requests: {cpu: 100m}}\n";

#define STS_PODS                                                                                   \
    "get pods -l app=web -o jsonpath='{range .items[*]}{.metadata.name}:"                          \
    "{.metadata.deletionTimestamp} {end}'"

/* "web-0: web-1:2026-...Z ": names, and when being deleted since when. */
static char *sts_pods(const cluster *cl)
{
    return kubectl(cl, STS_PODS);
}

/* Polls until `get pod name -o jsonpath=path` is want (the "kubelet" of
 * n1 is stepped by hand here: nothing changes behind the test's back). */
static void wait_pod(const cluster *cl, const char *name, const char *path, const char *want)
{
    cleanup_free char *args = xasprintf("get pod %s -o jsonpath='%s'", name, path);
    char *out = NULL;
    for (int i = 0; i < WAIT_S * 4; i++) {
        free(out);
        out = kubectl(cl, args);
        if (strcmp(out, want) == 0)
            break;
        usleep(250000);
    }
    KT_ASSERT_MSG(strcmp(out, want) == 0, "pod %s %s: \"%s\", want \"%s\"", name, path, out, want);
    free(out);
}

static void assert_absent(const cluster *cl, const char *name)
{
    usleep(1500000); /* give a wrong controller the chance to act too early */
    cleanup_free char *pods = sts_pods(cl);
    cleanup_free char *word = xasprintf("%s:", name);
    KT_ASSERT_MSG(strstr(pods, word) == NULL, "%s exists too early: %s", name, pods);
}

static char *revision_label(const cluster *cl, const char *pod)
{
    cleanup_free char *args =
        xasprintf("get pod %s -o jsonpath='{.metadata.labels.controller-revision-hash}'", pod);
    return kubectl(cl, args);
}

/* Deletes ordinal's pod for the update, as the controller must, and only
 * it: the lower ordinals still carry old_rev. */
static void step_update(cluster *cl, int ordinal, const char *old_rev, const char *new_rev)
{
    char name[16];
    snprintf(name, sizeof(name), "web-%d", ordinal);
    cleanup_free char *args =
        xasprintf("get pod %s -o jsonpath='{.metadata.deletionTimestamp}'", name);
    cleanup_free char *ts = wait_kubectl(cl, args, "Z", false);
    for (int i = 0; i < ordinal; i++) {
        char lower[16];
        snprintf(lower, sizeof(lower), "web-%d", i);
        cleanup_free char *rev = revision_label(cl, lower);
        KT_ASSERT_STREQ(rev, old_rev);
    }
    kubelet_sync_node(cl, "n1"); /* confirms the deletion */
    cleanup_free char *want = xasprintf("%s n1", new_rev);
    wait_pod(cl, name, "{.metadata.labels.controller-revision-hash} {.spec.nodeName}", want);
    kubelet_sync_node(cl, "n1"); /* runs the new pod */
}

KT_TEST_TIMEOUT(controllers, statefulset_order_scale_down_and_rolling_update, 300)
{
    cluster cl = {0};
    start_cluster(&cl, "600s"); /* n1's lease is renewed only when the test steps it */
    add_node(&cl, "n1", "4", NULL, NULL);
    apply(&cl, "web.yaml", web_sts);
    /* OrderedReady: web-1 only after web-0 is Running and Ready */
    wait_pod(&cl, "web-0", "{.spec.nodeName}", "n1");
    assert_absent(&cl, "web-1");
    kubelet_sync_node(&cl, "n1");
    wait_pod(&cl, "web-1", "{.spec.nodeName}", "n1");
    assert_absent(&cl, "web-2");
    kubelet_sync_node(&cl, "n1");
    wait_pod(&cl, "web-2", "{.spec.nodeName}", "n1");
    kubelet_sync_node(&cl, "n1");
    wait_pod(&cl, "web-1",
             "{.spec.hostname}.{.spec.subdomain} {.metadata.labels.statefulset\\.kubernetes\\.io/"
             "pod-name} {.metadata.ownerReferences[0].kind}",
             "web-1.web web-1 StatefulSet");
    cleanup_free char *ready = wait_kubectl(
        &cl, "get sts web -o jsonpath='{.status.readyReplicas}/{.status.currentReplicas}'", "3/3",
        false);
    cleanup_free char *rev0 = kubectl(&cl, "get sts web -o jsonpath='{.status.currentRevision}'");
    KT_ASSERT_CONTAINS(rev0, "web-");

    /* RollingUpdate: web-2, then web-1, then web-0 */
    kubectl_ok(&cl, "set image sts/web c=localhost/busybox:1.36");
    cleanup_free char *rev1 =
        wait_kubectl(&cl, "get sts web -o jsonpath='{.status.updateRevision}'", rev0, true);
    step_update(&cl, 2, rev0, rev1);
    step_update(&cl, 1, rev0, rev1);
    step_update(&cl, 0, rev0, rev1);
    cleanup_free char *bin = xstrdup(KUBECTL_DIR "/kubectl.1.33");
    int st;
    cleanup_free char *out = kubectl_v(&cl, access(bin, X_OK) == 0 ? "1.33" : NULL,
                                       "rollout status sts/web --timeout=90s", &st);
    KT_ASSERT_MSG(st == 0, "rollout status: %s", out);
    /* partition is defaulted (0), so kubectl reports a partitioned roll out, as with upstream */
    KT_ASSERT_CONTAINS(out, "partitioned roll out complete: 3 new pods have been updated");
    cleanup_free char *cur = kubectl(&cl, "get sts web -o jsonpath='{.status.currentRevision}'");
    KT_ASSERT_STREQ(cur, rev1);

    /* scale down from the highest ordinal, one at a time */
    kubectl_ok(&cl, "scale sts web --replicas=1");
    cleanup_free char *p1 = wait_kubectl(&cl, STS_PODS, "web-2:2", false);
    KT_ASSERT_CONTAINS(p1, "web-1: ");
    kubelet_sync_node(&cl, "n1");
    cleanup_free char *p2 = wait_kubectl(&cl, STS_PODS, "web-1:2", false);
    KT_ASSERT_MSG(strstr(p2, "web-2:") == NULL, "web-2 left: %s", p2);
    kubelet_sync_node(&cl, "n1");
    cleanup_free char *one = wait_kubectl(
        &cl, "get sts web -o jsonpath='{.status.replicas}/{.status.readyReplicas}'", "1/1", false);
    cleanup_free char *left = sts_pods(&cl);
    KT_ASSERT_STREQ(left, "web-0: ");
    finish_cluster(&cl);
}

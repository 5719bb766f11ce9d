/* test-kubelet-restart.c - `knode kubelet` killed (SIGKILL) with 30 running
 * pods and started again changes nothing: the same sandboxes and containers
 * in the runtime (IDs, attempts, states, read through CRI) and the same
 * containerIDs and restartCounts in the API. The kubelet reads part of its
 * settings from a KubeletConfiguration file (--config), and the Node shows
 * them. Set-up: test-agent-env.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cri/msg.h"
#include "cri/runtime.h"
#include "kubelet/sandbox.h"
#include "lib/cleanup.h"
#include "lib/file.h"
#include "lib/strbuf.h"
#include "lib/xalloc.h"
#include "test/integration/test-agent-env.h"
#include "test/runner/kt.h"

#define PODS 30

static const char DEPLOYMENT[] = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n"
                                 "  name: many\nspec:\n  replicas: 30\n"
                                 "  selector: {matchLabels: {app: many}}\n"
                                 "  template:\n    metadata: {labels: {app: many}}\n"
                                 "    spec:\n      terminationGracePeriodSeconds: 2\n"
                                 "      containers:\n      - name: c\n"
                                 "        image: localhost/busybox:1.35\n"
                                 "        imagePullPolicy: Never\n"
                                 "        command: [sleep, '3600']\n";

static const char AFTER[] = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: after\nspec:\n"
                            "  containers:\n  - name: c\n    image: localhost/busybox:1.35\n"
                            "    imagePullPolicy: Never\n    command: [sleep, '3600']\n";

static const char CONFIG[] = "apiVersion: kubelet.config.k8s.io/v1beta1\n"
                             "kind: KubeletConfiguration\n"
                             "maxPods: 40\n"
                             "registerWithTaints: []\n"
                             "runtimeRequestTimeout: 1m\n"
                             "nodeStatusUpdateFrequency: 30s\n" /* the command line's 2s wins */
                             "evictionHard: {memory.available: 100Mi}\n";

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted lines joined; frees the lines. */
static char *join_sorted(char **items, size_t n)
{
    qsort(items, n, sizeof(*items), cmp_str);
    kn_buf out = KN_BUF_INIT;
    for (size_t i = 0; i < n; i++) {
        kn_buf_appendf(&out, "%s\n", items[i]);
        free(items[i]);
    }
    return kn_buf_steal(&out);
}

/* Every sandbox and container of the runtime except those of pod "after":
 * "id pod attempt state" lines, sorted. */
static char *runtime_fingerprint(cri_conn *cri, size_t *count)
{
    Runtime__V1__ListPodSandboxResponse *sl = NULL;
    Runtime__V1__ListContainersResponse *cl = NULL;
    kn_error *err = NULL;
    KT_ASSERT_OK(cri_runtime_list_sandboxes(cri, NULL, &sl, &err), err);
    KT_ASSERT_OK(cri_runtime_list_containers(cri, NULL, &cl, &err), err);
    char **items = xcalloc(sl->n_items + cl->n_containers + 1, sizeof(char *));
    size_t n = 0;
    for (size_t i = 0; i < sl->n_items; i++) {
        const Runtime__V1__PodSandbox *s = sl->items[i];
        if (strcmp(s->metadata->name, "after") != 0)
            items[n++] = xasprintf("sandbox %s %s %u %d", s->id, s->metadata->name,
                                   s->metadata->attempt, s->state);
    }
    for (size_t i = 0; i < cl->n_containers; i++) {
        const Runtime__V1__Container *c = cl->containers[i];
        const char *pod = cri_map_get(c, "labels", KL_LABEL_POD_NAME);
        if (!pod || strcmp(pod, "after") != 0)
            items[n++] = xasprintf("container %s %s %s %u %d", c->id, c->pod_sandbox_id,
                                   pod ? pod : "?", c->metadata->attempt, c->state);
    }
    cri_msg_free(sl);
    cri_msg_free(cl);
    *count = n;
    char *fp = join_sorted(items, n);
    free(items);
    return fp;
}

/* "name containerID restartCount ready" of the Deployment's pods, sorted. */
static char *api_fingerprint(void)
{
    char *out = ae_kubectl(NULL, "get pods -l app=many -o jsonpath='{range .items[*]}"
                                 "{.metadata.name} {.status.containerStatuses[0].containerID} "
                                 "{.status.containerStatuses[0].restartCount} "
                                 "{.status.containerStatuses[0].ready}{\"\\n\"}{end}'");
    char **items = xcalloc(PODS * 2 + 1, sizeof(char *));
    size_t n = 0;
    char *save = NULL;
    for (char *l = strtok_r(out, "\n", &save); l && n < PODS * 2; l = strtok_r(NULL, "\n", &save))
        items[n++] = xstrdup(l);
    free(out);
    char *fp = join_sorted(items, n);
    free(items);
    return fp;
}

static void wait_all_running(void)
{
    time_t end = time(NULL) + 2 * AE_WAIT_S;
    for (;;) {
        cleanup_free char *out =
            ae_kubectl(NULL, "get pods -l app=many -o jsonpath='{range .items[*]}"
                             "{.status.phase} {.status.containerStatuses[0].ready}{\"\\n\"}{end}'");
        if (ae_count_lines(out, "Running true") == PODS)
            return;
        KT_ASSERT_MSG(time(NULL) < end, "%d of %d pods running: %s",
                      ae_count_lines(out, "Running true"), PODS, out);
        sleep(1);
    }
}

static char **kubelet_flags(void)
{
    static char cfg[400];
    snprintf(cfg, sizeof(cfg), "%s/kubelet-config.yaml", AE.dir);
    FILE *f = fopen(cfg, "w");
    KT_ASSERT(f && fputs(CONFIG, f) >= 0 && fclose(f) == 0);
    static char *extra[] = {"--kubeconfig", NULL, "--config", cfg, NULL};
    extra[1] = AE.kubeconfig;
    return extra;
}

/* The agent's environment as it was exec'd ("NAME=value\n" lines). */
static char *exec_environ(pid_t pid)
{
    cleanup_free char *path = xasprintf("/proc/%d/environ", (int)pid);
    char *text = NULL;
    size_t len = 0;
    cleanup_error kn_error *err = NULL;
    KT_ASSERT_OK(kn_read_file(path, 1 << 20, &text, &len, &err), err);
    for (size_t i = 0; i < len; i++)
        if (text[i] == '\0')
            text[i] = '\n';
    return text;
}

KT_TEST_TIMEOUT(agent, kubelet_restart_with_30_pods_changes_nothing, 900)
{
    ae_setup(1, false);
    char **extra = kubelet_flags();
    ae_start_agent(0, "kubelet", extra);
    ae_node_ready(0);
    /* it restarted itself once with glibc's per-thread malloc cache off */
    cleanup_free char *env0 = exec_environ(AE.agent[0]);
    KT_ASSERT_CONTAINS(env0, "\nGLIBC_TUNABLES=glibc.malloc.tcache_count=0\n");
    /* maxPods from the file; the status frequency of the command line won
     * (the node turned Ready within a few 2 s periods, and the lease holds) */
    ae_wait_output("get node nodea -o jsonpath='{.status.capacity.pods}'", "40",
                   "capacity from the config file");
    cri_conn *cri = NULL;
    kn_error *err = NULL;
    KT_ASSERT_OK(cri_conn_new(AE.tb.nodes[0].endpoint, 0, &cri, &err), err);
    ae_apply("many", DEPLOYMENT);
    wait_all_running();
    size_t n0 = 0, n1 = 0;
    cleanup_free char *rt0 = runtime_fingerprint(cri, &n0);
    cleanup_free char *api0 = api_fingerprint();
    KT_ASSERT_EQ(n0, 2 * PODS);
    KT_ASSERT_EQ(ae_count_lines(api0, "containerd://"), PODS);
    KT_ASSERT_EQ(ae_count_lines(api0, " 0 true"), PODS);

    ae_stop_agent(0, true);                                  /* SIGKILL: no chance to tidy up */
    setenv("GLIBC_TUNABLES", "glibc.malloc.arena_max=3", 1); /* an operator's own wins */
    ae_start_agent(0, "kubelet", extra);
    unsetenv("GLIBC_TUNABLES");
    /* a pod created after the restart runs: the new kubelet has listed and
     * dispatched every pod of the node before it */
    ae_apply("after", AFTER);
    ae_wait_output("get pod after -o jsonpath='{.status.phase}'", "Running",
                   "a new pod after the restart");
    cleanup_free char *env1 = exec_environ(AE.agent[0]);
    KT_ASSERT_CONTAINS(env1, "\nGLIBC_TUNABLES=glibc.malloc.arena_max=3\n");
    KT_ASSERT(strstr(env1, "tcache_count") == NULL);
    sleep(5); /* a few PLEG relists and status syncs of the adopted pods */
    wait_all_running();
    cleanup_free char *rt1 = runtime_fingerprint(cri, &n1);
    cleanup_free char *api1 = api_fingerprint();
    KT_ASSERT_STREQ(rt1, rt0);
    KT_ASSERT_STREQ(api1, api0);
    cri_conn_free(cri);
}

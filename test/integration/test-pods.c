/* test-pods.c - acceptance for the node foundation: two testbed nodes, one
 * pod on each run through knode's CRI client (sandbox + busybox httpd), and
 * real traffic: pod to pod across the nodes in both directions, and each
 * node to its own pod. Then the pods are stopped and removed through CRI and
 * the cluster is torn down without leftovers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>

#include "cri/msg.h"
#include "cri/runtime.h"
#include "lib/cleanup.h"
#include "lib/xalloc.h"
#include "test/harness/testbed.h"
#include "test/runner/kt.h"

#define BUSYBOX "localhost/busybox:1.35"

typedef struct web_pod {
    const tb_node *node;
    cri_conn *c;
    char name[32];
    char uid[48];
    Runtime__V1__PodSandboxConfig *cfg;
    char *sandbox_id;
    char *container_id;
    char ip[64];
} web_pod;

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static bool ip_in_cidr(const char *ip, const char *cidr)
{
    char net[64];
    int bits;
    struct in_addr a, n;
    if (sscanf(cidr, "%63[^/]/%d", net, &bits) != 2 || inet_pton(AF_INET, ip, &a) != 1 ||
        inet_pton(AF_INET, net, &n) != 1)
        return false;
    uint32_t mask = bits ? htonl(~0u << (32 - bits)) : 0;
    return (a.s_addr & mask) == (n.s_addr & mask);
}

static Runtime__V1__PodSandboxConfig *sandbox_config(web_pod *p)
{
    Runtime__V1__PodSandboxConfig *cfg = cri_msg_new(&runtime__v1__pod_sandbox_config__descriptor);
    cfg->metadata = cri_msg_new(&runtime__v1__pod_sandbox_metadata__descriptor);
    cri_str_set(&cfg->metadata->name, p->name);
    cri_str_set(&cfg->metadata->uid, p->uid);
    cri_str_set(&cfg->metadata->namespace_, "default");
    cri_str_set(&cfg->hostname, p->name);
    cri_map_put(cfg, "labels", "io.kubernetes.pod.name", p->name);
    cri_map_put(cfg, "labels", "io.kubernetes.pod.uid", p->uid);
    cfg->linux = cri_msg_new(&runtime__v1__linux_pod_sandbox_config__descriptor);
    cfg->linux->cgroup_parent = xasprintf("%s/besteffort/pod%s", p->node->cgroup_parent, p->uid);
    return cfg;
}

static Runtime__V1__ContainerConfig *httpd_config(void)
{
    static const char *const argv[] = {"httpd", "-f", "-p", "8080", "-h", "/www"};
    Runtime__V1__ContainerConfig *cfg = cri_msg_new(&runtime__v1__container_config__descriptor);
    cfg->metadata = cri_msg_new(&runtime__v1__container_metadata__descriptor);
    cri_str_set(&cfg->metadata->name, "web");
    cfg->image = cri_msg_new(&runtime__v1__image_spec__descriptor);
    cri_str_set(&cfg->image->image, BUSYBOX);
    for (size_t i = 0; i < KN_ARRAY_SIZE(argv); i++)
        cri_strv_add(&cfg->command, &cfg->n_command, argv[i]);
    return cfg;
}

static void sandbox_ip(web_pod *p)
{
    kn_error *err = NULL;
    Runtime__V1__PodSandboxStatusResponse *st = NULL;
    KT_ASSERT_OK(cri_runtime_sandbox_status(p->c, p->sandbox_id, false, &st, &err), err);
    KT_ASSERT(st->status->network && st->status->network->ip[0]);
    snprintf(p->ip, sizeof(p->ip), "%s", st->status->network->ip);
    cri_msg_free(st);
    KT_ASSERT_MSG(ip_in_cidr(p->ip, p->node->pod_cidr), "%s: pod IP %s not in %s", p->name, p->ip,
                  p->node->pod_cidr);
}

static void pod_start(web_pod *p, const tb_node *nd, const char *name)
{
    kn_error *err = NULL;
    p->node = nd;
    snprintf(p->name, sizeof(p->name), "%s", name);
    snprintf(p->uid, sizeof(p->uid), "5d1f0c2e-%04x-4a6b-8c3d-%012x", (unsigned)getpid() & 0xffff,
             (unsigned)nd->index);
    KT_ASSERT_OK(cri_conn_new(nd->endpoint, 0, &p->c, &err), err);
    p->cfg = sandbox_config(p);
    Runtime__V1__ContainerConfig *ccfg = httpd_config();
    double t0 = now_ms();
    KT_ASSERT_OK(cri_runtime_run_sandbox(p->c, p->cfg, NULL, &p->sandbox_id, &err), err);
    KT_ASSERT_OK(
        cri_runtime_create_container(p->c, p->sandbox_id, ccfg, p->cfg, &p->container_id, &err),
        err);
    KT_ASSERT_OK(cri_runtime_start_container(p->c, p->container_id, &err), err);
    printf("%s: pod %s started in %.1f ms (RunPodSandbox+CreateContainer+StartContainer)\n",
           nd->name, name, now_ms() - t0);
    cri_msg_free(ccfg);
    sandbox_ip(p);
}

/* Runs sh -c script in the pod's container; returns its stdout (owned). */
static char *pod_sh(web_pod *p, const char *script, int *exit_code)
{
    kn_error *err = NULL;
    char *const argv[] = {"/bin/sh", "-c", (char *)script, NULL};
    Runtime__V1__ExecSyncResponse *r = NULL;
    KT_ASSERT_OK(cri_runtime_exec_sync(p->c, p->container_id, argv, 20, &r, &err), err);
    *exit_code = r->exit_code;
    char *out = r->stdout.len ? xstrndup((const char *)r->stdout.data, r->stdout.len) : xstrdup("");
    cri_msg_free(r);
    return out;
}

/* Each pod serves /whoami.txt with its own name, so an answer proves which
 * pod it came from; the index page is the image's. */
static void pod_label_www(web_pod *p)
{
    int code = -1;
    cleanup_free char *script = xasprintf("echo %s > /www/whoami.txt", p->name);
    free(pod_sh(p, script, &code));
    KT_ASSERT_EQ(code, 0);
}

/* wget from inside pod `from` to pod `to`; retried briefly while httpd starts. */
static void check_pod_to_pod(web_pod *from, web_pod *to)
{
    cleanup_free char *script = xasprintf("timeout 5 wget -qO- http://%s:8080/ && "
                                          "timeout 5 wget -qO- http://%s:8080/whoami.txt",
                                          to->ip, to->ip);
    for (int attempt = 0; attempt < 20; attempt++) {
        int code = -1;
        cleanup_free char *out = pod_sh(from, script, &code);
        if (code == 0) {
            KT_ASSERT_CONTAINS(out, "hello-from-busybox");
            KT_ASSERT_CONTAINS(out, to->name);
            printf("%s (%s) -> %s (%s): ok\n", from->name, from->ip, to->name, to->ip);
            return;
        }
        usleep(250 * 1000);
    }
    KT_FAIL("%s (%s on %s) cannot reach %s (%s on %s) on :8080", from->name, from->ip,
            from->node->name, to->name, to->ip, to->node->name);
}

/* curl from the node's own network namespace to its pod. */
static void check_node_to_pod(web_pod *p)
{
    kn_error *err = NULL;
    cleanup_free char *url = xasprintf("http://%s:8080/whoami.txt", p->ip);
    char *const argv[] = {"curl", "-sS", "--max-time", "5", url, NULL};
    char *out = NULL;
    int rc = tb_exec(p->node->netns, argv, 15, &out, &err);
    KT_ASSERT_MSG(rc == 0, "curl %s in %s: exit %d: %s %s", url, p->node->netns, rc, out ? out : "",
                  kn_error_msg(err));
    KT_ASSERT_CONTAINS(out, p->name);
    free(out);
}

static void pod_remove(web_pod *p)
{
    kn_error *err = NULL;
    double t0 = now_ms();
    KT_ASSERT_OK(cri_runtime_stop_sandbox(p->c, p->sandbox_id, &err), err);
    KT_ASSERT_OK(cri_runtime_remove_sandbox(p->c, p->sandbox_id, &err), err);
    printf("%s: pod %s stopped and removed in %.1f ms\n", p->node->name, p->name, now_ms() - t0);
    /* removing the sandbox removed its container too */
    Runtime__V1__ListContainersResponse *l = NULL;
    KT_ASSERT_OK(cri_runtime_list_containers(p->c, NULL, &l, &err), err);
    KT_ASSERT_EQ(l->n_containers, 0);
    cri_msg_free(l);
    Runtime__V1__ListPodSandboxResponse *ls = NULL;
    KT_ASSERT_OK(cri_runtime_list_sandboxes(p->c, NULL, &ls, &err), err);
    KT_ASSERT_EQ(ls->n_items, 0);
    cri_msg_free(ls);
    cri_msg_free(p->cfg);
    free(p->sandbox_id);
    free(p->container_id);
    cri_conn_free(p->c);
}

KT_TEST_TIMEOUT(pods, two_nodes_pod_to_pod, 300)
{
    char why[512];
    if (!tb_available(why, sizeof(why)))
        KT_SKIP("no testbed: %s", why);
    kn_error *err = NULL;
    tb_cluster cl;
    KT_ASSERT_OK(tb_cluster_up(&cl, 2, &err), err);

    web_pod a = {0}, b = {0};
    pod_start(&a, &cl.nodes[0], "web-a");
    pod_start(&b, &cl.nodes[1], "web-b");
    pod_label_www(&a);
    pod_label_www(&b);
    check_pod_to_pod(&a, &b);
    check_pod_to_pod(&b, &a);
    check_node_to_pod(&a);
    check_node_to_pod(&b);

    pod_remove(&a);
    pod_remove(&b);
    KT_ASSERT_OK(tb_cluster_down(&cl, &err), err);
}

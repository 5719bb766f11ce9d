/* test-cri.c - the CRI v1 client (cri/) against a real containerd in a
 * testbed node: every RuntimeService and ImageService call knode uses, with
 * the error paths (no runtime, unknown ids, an unreachable registry).
 *
 * Call latencies are printed (KT_VERBOSE=1 shows them), never asserted.
 * With KNODE_CRI_CAPTURE=<dir> the replies are also written there, packed,
 * as seeds for the fuzz corpus test/fuzz/corpus/cri-reply/. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>

#include "cri/image.h"
#include "cri/msg.h"
#include "cri/runtime.h"
#include "lib/cleanup.h"
#include "lib/xalloc.h"
#include "test/harness/testbed.h"
#include "test/runner/kt.h"

#define BUSYBOX "localhost/busybox:1.35"
#define PAUSE "localhost/pause:3.9"
#define MiB (1024 * 1024)

/* ---- helpers ------------------------------------------------------------------------- */

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Runs expr (a cri_* call) and prints how long it took. */
#define TIMED(name, expr)                                                                          \
    ({                                                                                             \
        double t0_ = now_ms();                                                                     \
        int r_ = (expr);                                                                           \
        printf("latency %-26s %8.2f ms\n", name, now_ms() - t0_);                                  \
        r_;                                                                                        \
    })

static void cluster_up(tb_cluster *cl, int n)
{
    char why[512];
    if (!tb_available(why, sizeof(why)))
        KT_SKIP("no testbed: %s", why);
    kn_error *err = NULL;
    KT_ASSERT_OK(tb_cluster_up(cl, n, &err), err);
}

static void cluster_down(tb_cluster *cl)
{
    kn_error *err = NULL;
    KT_ASSERT_OK(tb_cluster_down(cl, &err), err);
}

static cri_conn *connect_node(const tb_node *nd)
{
    cri_conn *c = NULL;
    kn_error *err = NULL;
    KT_ASSERT_OK(cri_conn_new(nd->endpoint, 0, &c, &err), err);
    return c;
}

/* With KNODE_CRI_CAPTURE set, writes msg packed to <dir>/<name>. */
static void capture(const void *msg, const char *name)
{
    const char *dir = getenv("KNODE_CRI_CAPTURE");
    if (!dir || !*dir)
        return;
    size_t len = protobuf_c_message_get_packed_size(msg);
    cleanup_free uint8_t *buf = xmalloc(len + 1);
    protobuf_c_message_pack(msg, buf);
    cleanup_free char *path = xasprintf("%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (f) {
        fwrite(buf, 1, len, f);
        fclose(f);
    }
}

static char *read_text(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    size_t len = 0, cap = 4096;
    char *buf = xmalloc(cap);
    size_t n;
    while ((n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += n;
        if (cap - len < 2)
            buf = xrealloc(buf, cap *= 2);
    }
    fclose(f);
    buf[len] = '\0';
    return buf;
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

static bool strv_has(char **v, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i], s) == 0)
            return true;
    return false;
}

/* ---- pod cgroups (created by the node agent, not by containerd) ---------------------- */

/* Mount points of the cgroup v1 hierarchies. */
static int cgroup_mounts(char mounts[][256], int max)
{
    FILE *f = fopen("/proc/self/mounts", "r");
    char dev[256], mp[256], fs[64];
    int n = 0;
    while (f && n < max && fscanf(f, "%255s %255s %63s %*[^\n]", dev, mp, fs) == 3)
        if (strcmp(fs, "cgroup") == 0 && strncmp(mp, "/sys/fs/cgroup/", 15) == 0)
            snprintf(mounts[n++], sizeof(mounts[0]), "%s", mp);
    if (f)
        fclose(f);
    return n;
}

/* cpuset cgroups start empty; copy the parent's cpus and mems as
 * libcontainer does. */
static void cpuset_fill(const char *dir)
{
    static const char *const files[] = {"cpuset.cpus", "cpuset.mems"};
    for (size_t i = 0; i < KN_ARRAY_SIZE(files); i++) {
        cleanup_free char *mine = xasprintf("%s/%s", dir, files[i]);
        cleanup_free char *parent = xasprintf("%s/../%s", dir, files[i]);
        cleanup_free char *cur = read_text(mine), *val = read_text(parent);
        if (cur && val && (cur[0] == '\n' || cur[0] == '\0')) {
            FILE *f = fopen(mine, "w");
            if (f) {
                fputs(val, f);
                fclose(f);
            }
        }
    }
}

/* mkdir -p of cgpath in every v1 hierarchy. */
static void pod_cgroup_create(const char *cgpath)
{
    char mounts[32][256];
    int n = cgroup_mounts(mounts, 32);
    KT_ASSERT(n > 0);
    for (int i = 0; i < n; i++) {
        cleanup_free char *full = xasprintf("%s%s", mounts[i], cgpath);
        for (char *p = full + strlen(mounts[i]) + 1; p; p = strchr(p + 1, '/')) {
            char save = *p;
            *p = '\0';
            if (mkdir(full, 0755) == 0 && strstr(mounts[i], "cpuset"))
                cpuset_fill(full);
            *p = save;
        }
        if (mkdir(full, 0755) == 0 && strstr(mounts[i], "cpuset"))
            cpuset_fill(full);
        KT_ASSERT_MSG(access(full, F_OK) == 0, "cannot create %s: %s", full, strerror(errno));
    }
}

/* Removes the pod cgroup (which must be empty by now) in every hierarchy. */
static void pod_cgroup_remove(const char *cgpath)
{
    char mounts[32][256];
    int n = cgroup_mounts(mounts, 32);
    for (int i = 0; i < n; i++) {
        cleanup_free char *full = xasprintf("%s%s", mounts[i], cgpath);
        KT_ASSERT_MSG(rmdir(full) == 0 || errno == ENOENT, "rmdir %s: %s", full, strerror(errno));
    }
}

/* ---- request builders ----------------------------------------------------------------- */

static void add_port(Runtime__V1__PodSandboxConfig *cfg, int port)
{
    Runtime__V1__PortMapping *pm = cri_msg_new(&runtime__v1__port_mapping__descriptor);
    pm->protocol = RUNTIME__V1__PROTOCOL__TCP;
    pm->container_port = port;
    cfg->port_mappings =
        xreallocarray(cfg->port_mappings, cfg->n_port_mappings + 1, sizeof(*cfg->port_mappings));
    cfg->port_mappings[cfg->n_port_mappings++] = pm;
}

static Runtime__V1__DNSConfig *dns_config(void)
{
    Runtime__V1__DNSConfig *d = cri_msg_new(&runtime__v1__dnsconfig__descriptor);
    cri_strv_add(&d->servers, &d->n_servers, "10.96.0.10");
    cri_strv_add(&d->searches, &d->n_searches, "default.svc.cluster.local");
    cri_strv_add(&d->searches, &d->n_searches, "svc.cluster.local");
    cri_strv_add(&d->options, &d->n_options, "ndots:5");
    return d;
}

static Runtime__V1__LinuxPodSandboxConfig *sandbox_linux(const char *cgroup_parent)
{
    Runtime__V1__LinuxPodSandboxConfig *l =
        cri_msg_new(&runtime__v1__linux_pod_sandbox_config__descriptor);
    cri_str_set(&l->cgroup_parent, cgroup_parent);
    l->security_context = cri_msg_new(&runtime__v1__linux_sandbox_security_context__descriptor);
    Runtime__V1__NamespaceOption *ns = cri_msg_new(&runtime__v1__namespace_option__descriptor);
    ns->network = RUNTIME__V1__NAMESPACE_MODE__POD;
    ns->pid = RUNTIME__V1__NAMESPACE_MODE__CONTAINER;
    ns->ipc = RUNTIME__V1__NAMESPACE_MODE__POD;
    l->security_context->namespace_options = ns;
    return l;
}

/* A kubelet-like sandbox config for pod default/<name>. */
static Runtime__V1__PodSandboxConfig *sandbox_config(const char *name, const char *uid,
                                                     const char *log_dir, const char *cgroup_parent)
{
    Runtime__V1__PodSandboxConfig *cfg = cri_msg_new(&runtime__v1__pod_sandbox_config__descriptor);
    cfg->metadata = cri_msg_new(&runtime__v1__pod_sandbox_metadata__descriptor);
    cri_str_set(&cfg->metadata->name, name);
    cri_str_set(&cfg->metadata->uid, uid);
    cri_str_set(&cfg->metadata->namespace_, "default");
    cri_str_set(&cfg->hostname, name);
    cri_str_set(&cfg->log_directory, log_dir);
    cfg->dns_config = dns_config();
    add_port(cfg, 8080);
    cri_map_put(cfg, "labels", "io.kubernetes.pod.name", name);
    cri_map_put(cfg, "labels", "io.kubernetes.pod.namespace", "default");
    cri_map_put(cfg, "labels", "io.kubernetes.pod.uid", uid);
    cri_map_put(cfg, "labels", "app", name);
    cri_map_put(cfg, "annotations", "kubernetes.io/config.source", "api");
    cri_map_put(cfg, "annotations", "knode.test/note", "a value, with = and \"quotes\"");
    cfg->linux = sandbox_linux(cgroup_parent);
    return cfg;
}

static Runtime__V1__ContainerConfig *container_config(const char *name, const char *const argv[])
{
    Runtime__V1__ContainerConfig *cfg = cri_msg_new(&runtime__v1__container_config__descriptor);
    cfg->metadata = cri_msg_new(&runtime__v1__container_metadata__descriptor);
    cri_str_set(&cfg->metadata->name, name);
    cfg->image = cri_msg_new(&runtime__v1__image_spec__descriptor);
    cri_str_set(&cfg->image->image, BUSYBOX);
    for (size_t i = 0; argv[i]; i++)
        cri_strv_add(&cfg->command, &cfg->n_command, argv[i]);
    Runtime__V1__KeyValue *kv = cri_msg_new(&runtime__v1__key_value__descriptor);
    cri_str_set(&kv->key, "GREETING");
    cri_str_set(&kv->value, "hello from knode");
    cfg->envs = xcalloc(1, sizeof(*cfg->envs));
    cfg->envs[cfg->n_envs++] = kv;
    cri_map_put(cfg, "labels", "io.kubernetes.container.name", name);
    cri_map_put(cfg, "labels", "role", name);
    cri_map_put(cfg, "annotations", "io.kubernetes.container.restartCount", "0");
    cfg->log_path = xasprintf("%s/0.log", name);
    cfg->linux = cri_msg_new(&runtime__v1__linux_container_config__descriptor);
    cfg->linux->resources = cri_msg_new(&runtime__v1__linux_container_resources__descriptor);
    cfg->linux->resources->memory_limit_in_bytes = 128 * MiB;
    cfg->linux->resources->cpu_shares = 256;
    return cfg;
}

/* ---- the pod under test ------------------------------------------------------------------- */

typedef struct pod {
    const tb_node *node;
    cri_conn *c;
    char uid[40];
    char *cgroup_parent;
    char *log_dir;
    Runtime__V1__PodSandboxConfig *cfg;
    char *sandbox_id;
    char *sleeper_id;
    char *writer_id;
} pod;

static void pod_run(pod *p, const tb_node *nd, cri_conn *c, const char *name)
{
    kn_error *err = NULL;
    p->node = nd;
    p->c = c;
    snprintf(p->uid, sizeof(p->uid), "0b7c6e0a-%04x-4c1e-9a57-%012x", (unsigned)getpid() & 0xffff,
             (unsigned)time(NULL));
    p->cgroup_parent = xasprintf("%s/burstable/pod%s", nd->cgroup_parent, p->uid);
    pod_cgroup_create(p->cgroup_parent);
    p->log_dir = xasprintf("%s/pods/default_%s_%s", kt_tmpdir(), name, p->uid);
    cleanup_free char *pods = xasprintf("%s/pods", kt_tmpdir());
    KT_ASSERT(mkdir(pods, 0755) == 0 || errno == EEXIST);
    KT_ASSERT(mkdir(p->log_dir, 0755) == 0);
    p->cfg = sandbox_config(name, p->uid, p->log_dir, p->cgroup_parent);
    KT_ASSERT_OK(
        TIMED("RunPodSandbox", cri_runtime_run_sandbox(c, p->cfg, NULL, &p->sandbox_id, &err)),
        err);
    KT_ASSERT(p->sandbox_id[0] != '\0');
}

static char *container_start(pod *p, const char *name, const char *const argv[])
{
    kn_error *err = NULL;
    char *id = NULL;
    Runtime__V1__ContainerConfig *cfg = container_config(name, argv);
    KT_ASSERT_OK(TIMED("CreateContainer",
                       cri_runtime_create_container(p->c, p->sandbox_id, cfg, p->cfg, &id, &err)),
                 err);
    cri_msg_free(cfg);
    KT_ASSERT_OK(TIMED("StartContainer", cri_runtime_start_container(p->c, id, &err)), err);
    return id;
}

/* Polls ContainerStatus until the container has exited (at most ~30 s). */
static Runtime__V1__ContainerStatusResponse *wait_exited(cri_conn *c, const char *id)
{
    kn_error *err = NULL;
    for (int i = 0; i < 300; i++) {
        Runtime__V1__ContainerStatusResponse *st = NULL;
        KT_ASSERT_OK(cri_runtime_container_status(c, id, false, &st, &err), err);
        if (st->status->state == RUNTIME__V1__CONTAINER_STATE__CONTAINER_EXITED)
            return st;
        cri_msg_free(st);
        usleep(100 * 1000);
    }
    KT_FAIL("container %s did not exit", id);
}

/* ---- tests ------------------------------------------------------------------------------ */

KT_TEST(cri, unreachable_socket_is_unavailable)
{
    kn_error *err = NULL;
    cri_conn *c = NULL;
    cleanup_free char *ep = xasprintf("unix://%s/no-runtime.sock", kt_tmpdir());
    KT_ASSERT_OK(cri_conn_new(ep, 10 * 1000, &c, &err), err);
    Runtime__V1__VersionResponse *v = NULL;
    KT_ASSERT_FAILS(cri_runtime_version(c, &v, &err));
    KT_ASSERT_EQ(kn_error_code(err), KN_EUNAVAILABLE);
    KT_ASSERT_CONTAINS(kn_error_msg(err), "runtime.v1.RuntimeService/Version");
    KT_ASSERT_CONTAINS(kn_error_msg(err), "UNAVAILABLE");
    kn_error_free(&err);

    /* a file that is not a socket: same answer, and the channel stays usable */
    cleanup_free char *path = xasprintf("%s/not-a-socket", kt_tmpdir());
    int fd = open(path, O_CREAT | O_WRONLY, 0600);
    KT_ASSERT(fd >= 0);
    close(fd);
    cri_conn *c2 = NULL;
    KT_ASSERT_OK(cri_conn_new(path, 0, &c2, &err), err);
    Runtime__V1__StatusResponse *st = NULL;
    KT_ASSERT_FAILS(cri_runtime_status(c2, false, &st, &err));
    KT_ASSERT_EQ(kn_error_code(err), KN_EUNAVAILABLE);
    kn_error_free(&err);
    cri_conn_free(c2);
    cri_conn_free(c);
}

/* Several threads calling at once on one connection. */
typedef struct hammer {
    cri_conn *c;
    int failures;
    char first_error[256];
} hammer;

static void *hammer_run(void *arg)
{
    hammer *h = arg;
    for (int i = 0; i < 25; i++) {
        kn_error *err = NULL;
        Runtime__V1__VersionResponse *v = NULL;
        Runtime__V1__ListContainersResponse *l = NULL;
        if (cri_runtime_version(h->c, &v, &err) < 0 ||
            cri_runtime_list_containers(h->c, NULL, &l, &err) < 0) {
            if (!h->failures++)
                snprintf(h->first_error, sizeof(h->first_error), "%s", kn_error_msg(err));
            kn_error_free(&err);
        }
        cri_msg_free(v);
        cri_msg_free(l);
    }
    return NULL;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The round trip of a small unary call, for the record (not asserted). */
static void print_version_latency(cri_conn *c)
{
    double ms[100];
    for (int i = 0; i < 100; i++) {
        kn_error *err = NULL;
        Runtime__V1__VersionResponse *v = NULL;
        double t0 = now_ms();
        KT_ASSERT_OK(cri_runtime_version(c, &v, &err), err);
        ms[i] = now_ms() - t0;
        cri_msg_free(v);
    }
    qsort(ms, 100, sizeof(ms[0]), cmp_double);
    printf("Version x100: p50 %.3f ms, p90 %.3f ms, max %.3f ms\n", ms[50], ms[90], ms[99]);
}

static void check_version_status(cri_conn *c, const tb_node *nd)
{
    kn_error *err = NULL;
    Runtime__V1__VersionResponse *v = NULL;
    KT_ASSERT_OK(TIMED("Version", cri_runtime_version(c, &v, &err)), err);
    KT_ASSERT_STREQ(v->runtime_api_version, "v1");
    KT_ASSERT_STREQ(v->runtime_name, "containerd");
    printf("runtime %s %s, CRI %s\n", v->runtime_name, v->runtime_version, v->runtime_api_version);
    capture(v, "version");
    cri_msg_free(v);
    print_version_latency(c);

    Runtime__V1__StatusResponse *st = NULL;
    KT_ASSERT_OK(TIMED("Status", cri_runtime_status(c, true, &st, &err)), err);
    const Runtime__V1__RuntimeCondition *rr = cri_runtime_condition(st, "RuntimeReady");
    const Runtime__V1__RuntimeCondition *nr = cri_runtime_condition(st, "NetworkReady");
    KT_ASSERT(rr && rr->status);
    KT_ASSERT_MSG(nr && nr->status, "NetworkReady: %s", nr ? nr->message : "missing");
    KT_ASSERT(cri_map_len(st, "info") > 0); /* verbose */
    capture(st, "status");
    cri_msg_free(st);

    KT_ASSERT_OK(TIMED("UpdateRuntimeConfig", cri_runtime_update_config(c, nd->pod_cidr, &err)),
                 err);
}

static void check_images(cri_conn *c)
{
    kn_error *err = NULL;
    Runtime__V1__ListImagesResponse *l = NULL;
    KT_ASSERT_OK(TIMED("ListImages", cri_image_list(c, NULL, &l, &err)), err);
    bool busybox = false, pause = false;
    for (size_t i = 0; i < l->n_images; i++) {
        busybox |= strv_has(l->images[i]->repo_tags, l->images[i]->n_repo_tags, BUSYBOX);
        pause |= strv_has(l->images[i]->repo_tags, l->images[i]->n_repo_tags, PAUSE);
    }
    KT_ASSERT(busybox && pause);
    capture(l, "list-images");
    cri_msg_free(l);

    Runtime__V1__ImageSpec spec = RUNTIME__V1__IMAGE_SPEC__INIT;
    spec.image = BUSYBOX;
    Runtime__V1__ImageStatusResponse *is = NULL;
    KT_ASSERT_OK(TIMED("ImageStatus", cri_image_status(c, &spec, true, &is, &err)), err);
    KT_ASSERT(is->image && is->image->size > 0);
    KT_ASSERT(strv_has(is->image->repo_tags, is->image->n_repo_tags, BUSYBOX));
    capture(is, "image-status");
    cri_msg_free(is);

    spec.image = "localhost/not-here:0.0";
    KT_ASSERT_OK(cri_image_status(c, &spec, false, &is, &err), err);
    KT_ASSERT(is->image == NULL); /* absent is an answer, not an error */
    cri_msg_free(is);

    Runtime__V1__ImageFsInfoResponse *fs = NULL;
    KT_ASSERT_OK(TIMED("ImageFsInfo", cri_image_fs_info(c, &fs, &err)), err);
    KT_ASSERT(fs->n_image_filesystems >= 1);
    KT_ASSERT(fs->image_filesystems[0]->fs_id && fs->image_filesystems[0]->fs_id->mountpoint[0]);
    KT_ASSERT(fs->image_filesystems[0]->used_bytes);
    printf("image fs %s: %llu bytes used\n", fs->image_filesystems[0]->fs_id->mountpoint,
           (unsigned long long)fs->image_filesystems[0]->used_bytes->value);
    capture(fs, "image-fs-info");
    cri_msg_free(fs);
}

static void check_pull_failures(cri_conn *c)
{
    kn_error *err = NULL;
    char *ref = NULL;
    Runtime__V1__ImageSpec spec = RUNTIME__V1__IMAGE_SPEC__INIT;

    /* nothing listens on the node's loopback port 1: refused at once */
    spec.image = "127.0.0.1:1/knode/none:1.0";
    KT_ASSERT_FAILS(
        TIMED("PullImage(refused)", cri_image_pull(c, &spec, NULL, NULL, 60 * 1000, &ref, &err)));
    printf("pull error: %s\n", kn_error_msg(err));
    KT_ASSERT_NE(kn_error_code(err), KN_ETIMEDOUT);
    KT_ASSERT_CONTAINS(kn_error_msg(err), "ImageService/PullImage");
    KT_ASSERT_CONTAINS(kn_error_msg(err), "127.0.0.1:1/knode/none:1.0");
    kn_error_free(&err);

    /* a registry address nobody routes (inside the testbed lan): the deadline ends it */
    spec.image = "10.244.200.200:5000/knode/none:1.0";
    KT_ASSERT_FAILS(
        TIMED("PullImage(blackhole)", cri_image_pull(c, &spec, NULL, NULL, 1500, &ref, &err)));
    KT_ASSERT_EQ(kn_error_code(err), KN_ETIMEDOUT);
    KT_ASSERT_CONTAINS(kn_error_msg(err), "DEADLINE_EXCEEDED");
    kn_error_free(&err);
}

static void check_not_found(cri_conn *c)
{
    kn_error *err = NULL;
    Runtime__V1__ContainerStatusResponse *cs = NULL;
    KT_ASSERT_FAILS(cri_runtime_container_status(c, "0123456789abcdef", false, &cs, &err));
    KT_ASSERT_EQ(kn_error_code(err), KN_ENOTFOUND);
    KT_ASSERT_CONTAINS(kn_error_msg(err), "ContainerStatus: NOT_FOUND");
    kn_error_free(&err);
    Runtime__V1__PodSandboxStatusResponse *ps = NULL;
    KT_ASSERT_FAILS(cri_runtime_sandbox_status(c, "0123456789abcdef", false, &ps, &err));
    KT_ASSERT_EQ(kn_error_code(err), KN_ENOTFOUND);
    kn_error_free(&err);
    KT_ASSERT_FAILS(cri_runtime_start_container(c, "0123456789abcdef", &err));
    KT_ASSERT_EQ(kn_error_code(err), KN_ENOTFOUND);
    kn_error_free(&err);
}

static void check_image_remove(cri_conn *c)
{
    kn_error *err = NULL;
    Runtime__V1__ImageSpec spec = RUNTIME__V1__IMAGE_SPEC__INIT;
    spec.image = BUSYBOX;
    KT_ASSERT_OK(TIMED("RemoveImage", cri_image_remove(c, &spec, &err)), err);
    Runtime__V1__ImageStatusResponse *is = NULL;
    KT_ASSERT_OK(cri_image_status(c, &spec, false, &is, &err), err);
    KT_ASSERT(is->image == NULL);
    cri_msg_free(is);
    KT_ASSERT_OK(cri_image_remove(c, &spec, &err), err); /* idempotent */
}

KT_TEST_TIMEOUT(cri, runtime_and_images, 180)
{
    tb_cluster cl;
    cluster_up(&cl, 1);
    cri_conn *c = connect_node(&cl.nodes[0]);
    check_version_status(c, &cl.nodes[0]);
    check_images(c);
    check_pull_failures(c);
    check_not_found(c);

    /* a per-call deadline through a second handle on the same channel */
    cri_conn *quick = cri_conn_with_timeout(c, 5000);
    KT_ASSERT_EQ(cri_conn_timeout_ms(quick), 5000);
    KT_ASSERT_EQ(cri_conn_timeout_ms(c), CRI_DEFAULT_TIMEOUT_MS);
    hammer h[4];
    pthread_t t[4];
    for (int i = 0; i < 4; i++) {
        h[i] = (hammer){.c = i % 2 ? quick : c};
        KT_ASSERT(pthread_create(&t[i], NULL, hammer_run, &h[i]) == 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        KT_ASSERT_MSG(h[i].failures == 0, "thread %d: %s", i, h[i].first_error);
    }
    cri_conn_free(quick);

    check_image_remove(c);
    cri_conn_free(c);
    cluster_down(&cl);
}

static void check_sandbox_status(pod *p)
{
    kn_error *err = NULL;
    Runtime__V1__PodSandboxStatusResponse *st = NULL;
    KT_ASSERT_OK(
        TIMED("PodSandboxStatus", cri_runtime_sandbox_status(p->c, p->sandbox_id, true, &st, &err)),
        err);
    const Runtime__V1__PodSandboxStatus *s = st->status;
    KT_ASSERT_STREQ(s->id, p->sandbox_id);
    KT_ASSERT_EQ(s->state, RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_READY);
    KT_ASSERT_STREQ(s->metadata->uid, p->uid);
    KT_ASSERT_STREQ(s->metadata->namespace_, "default");
    KT_ASSERT(s->network && s->network->ip[0]);
    KT_ASSERT_MSG(ip_in_cidr(s->network->ip, p->node->pod_cidr), "pod IP %s not in %s",
                  s->network->ip, p->node->pod_cidr);
    printf("sandbox %.12s ip %s\n", s->id, s->network->ip);
    KT_ASSERT_STREQ(cri_map_get(s, "labels", "app"), p->cfg->metadata->name);
    KT_ASSERT_STREQ(cri_map_get(s, "annotations", "knode.test/note"),
                    cri_map_get(p->cfg, "annotations", "knode.test/note"));
    /* verbose: containerd's info JSON carries the config with the port mapping */
    const char *info = cri_map_get(st, "info", "info");
    KT_ASSERT(info);
    KT_ASSERT_CONTAINS(info, p->cgroup_parent);
    KT_ASSERT_CONTAINS(info, "8080");
    capture(st, "pod-sandbox-status");
    cri_msg_free(st);
}

static bool list_has_sandbox(const Runtime__V1__ListPodSandboxResponse *l, const char *id)
{
    for (size_t i = 0; i < l->n_items; i++)
        if (strcmp(l->items[i]->id, id) == 0)
            return true;
    return false;
}

static void check_list_sandboxes(pod *p)
{
    kn_error *err = NULL;
    Runtime__V1__ListPodSandboxResponse *l = NULL;
    KT_ASSERT_OK(TIMED("ListPodSandbox", cri_runtime_list_sandboxes(p->c, NULL, &l, &err)), err);
    KT_ASSERT(list_has_sandbox(l, p->sandbox_id));
    capture(l, "list-pod-sandbox");
    cri_msg_free(l);

    Runtime__V1__PodSandboxFilter *f = cri_msg_new(&runtime__v1__pod_sandbox_filter__descriptor);
    cri_map_put(f, "label_selector", "app", p->cfg->metadata->name);
    KT_ASSERT_OK(cri_runtime_list_sandboxes(p->c, f, &l, &err), err);
    KT_ASSERT_EQ(l->n_items, 1);
    KT_ASSERT_STREQ(l->items[0]->id, p->sandbox_id);
    cri_msg_free(l);
    f->state = cri_msg_new(&runtime__v1__pod_sandbox_state_value__descriptor);
    f->state->state = RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_NOTREADY;
    KT_ASSERT_OK(cri_runtime_list_sandboxes(p->c, f, &l, &err), err);
    KT_ASSERT_EQ(l->n_items, 0);
    cri_msg_free(l);
    cri_msg_free(f);
}

static size_t count_containers(pod *p, Runtime__V1__ContainerFilter *f, const char *want_id)
{
    kn_error *err = NULL;
    Runtime__V1__ListContainersResponse *l = NULL;
    KT_ASSERT_OK(cri_runtime_list_containers(p->c, f, &l, &err), err);
    size_t n = l->n_containers;
    if (want_id)
        KT_ASSERT(n == 1 && strcmp(l->containers[0]->id, want_id) == 0);
    capture(l, "list-containers");
    cri_msg_free(l);
    return n;
}

static void check_list_containers(pod *p)
{
    Runtime__V1__ContainerFilter *f = cri_msg_new(&runtime__v1__container_filter__descriptor);
    cri_str_set(&f->pod_sandbox_id, p->sandbox_id);
    KT_ASSERT_EQ(count_containers(p, f, NULL), 2);
    cri_map_put(f, "label_selector", "role", "writer");
    KT_ASSERT_EQ(count_containers(p, f, p->writer_id), 1);
    cri_msg_free(f);

    f = cri_msg_new(&runtime__v1__container_filter__descriptor);
    cri_str_set(&f->pod_sandbox_id, p->sandbox_id);
    f->state = cri_msg_new(&runtime__v1__container_state_value__descriptor);
    f->state->state = RUNTIME__V1__CONTAINER_STATE__CONTAINER_RUNNING;
    KT_ASSERT_EQ(count_containers(p, f, p->sleeper_id), 1);
    cri_msg_free(f);

    f = cri_msg_new(&runtime__v1__container_filter__descriptor);
    cri_str_set(&f->id, p->writer_id);
    KT_ASSERT_EQ(count_containers(p, f, p->writer_id), 1);
    cri_msg_free(f);
}

/* "<RFC 3339 nano timestamp> <stream> F <text>" */
static void check_log_line(const char *line, const char *stream, const char *text)
{
    regex_t re;
    cleanup_free char *pat = xasprintf("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}"
                                       "(\\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2}) %s F %s$",
                                       stream, text);
    KT_ASSERT(regcomp(&re, pat, REG_EXTENDED | REG_NOSUB) == 0);
    int m = regexec(&re, line, 0, NULL, 0);
    regfree(&re);
    KT_ASSERT_MSG(m == 0, "log line \"%s\" does not match %s", line, pat);
}

static void check_writer_exit(pod *p)
{
    Runtime__V1__ContainerStatusResponse *st = wait_exited(p->c, p->writer_id);
    const Runtime__V1__ContainerStatus *s = st->status;
    KT_ASSERT_EQ(s->exit_code, 3);
    KT_ASSERT_STREQ(s->reason, "Error");
    KT_ASSERT(s->started_at > 0 && s->finished_at > 0);
    /* containerd 1.6 stamps started_at after the task started, so a command
     * that exits at once can show finished_at < started_at */
    if (s->finished_at < s->started_at)
        printf("note: finished_at %lld < started_at %lld\n", (long long)s->finished_at,
               (long long)s->started_at);
    KT_ASSERT_STREQ(s->image->image, BUSYBOX);
    KT_ASSERT_STREQ(cri_map_get(s, "labels", "role"), "writer");
    cleanup_free char *log = xasprintf("%s/writer/0.log", p->log_dir);
    KT_ASSERT_STREQ(s->log_path, log);
    capture(st, "container-status-exited");
    cri_msg_free(st);

    cleanup_free char *text = read_text(log);
    KT_ASSERT_MSG(text, "no log file %s", log);
    char *save = NULL, *l1 = strtok_r(text, "\n", &save), *l2 = strtok_r(NULL, "\n", &save);
    KT_ASSERT(l1 && l2 && !strtok_r(NULL, "\n", &save));
    /* stdout and stderr are separate pipes: their order in the file is not fixed */
    if (strstr(l1, " stderr "))
        check_log_line(l1, "stderr", "line-two"), check_log_line(l2, "stdout", "line-one");
    else
        check_log_line(l1, "stdout", "line-one"), check_log_line(l2, "stderr", "line-two");
}

static Runtime__V1__ExecSyncResponse *exec_sh(pod *p, const char *script)
{
    kn_error *err = NULL;
    char *const argv[] = {"/bin/sh", "-c", (char *)script, NULL};
    Runtime__V1__ExecSyncResponse *r = NULL;
    KT_ASSERT_OK(TIMED("ExecSync", cri_runtime_exec_sync(p->c, p->sleeper_id, argv, 10, &r, &err)),
                 err);
    return r;
}

static char *bytes_str(ProtobufCBinaryData b)
{
    return b.len ? xstrndup((const char *)b.data, b.len) : xstrdup("");
}

static void check_exec_sync(pod *p)
{
    Runtime__V1__ExecSyncResponse *r = exec_sh(p, "echo out; echo err >&2; exit 7");
    KT_ASSERT_EQ(r->exit_code, 7);
    cleanup_free char *out = bytes_str(r->stdout), *errs = bytes_str(r->stderr);
    KT_ASSERT_STREQ(out, "out\n");
    KT_ASSERT_STREQ(errs, "err\n");
    capture(r, "exec-sync");
    cri_msg_free(r);

    /* the sandbox's DNS config, hostname and the container's env */
    r = exec_sh(p, "cat /etc/resolv.conf; hostname; echo \"$GREETING\"");
    KT_ASSERT_EQ(r->exit_code, 0);
    cleanup_free char *text = bytes_str(r->stdout);
    KT_ASSERT_CONTAINS(text, "nameserver 10.96.0.10");
    KT_ASSERT_CONTAINS(text, "search default.svc.cluster.local svc.cluster.local");
    KT_ASSERT_CONTAINS(text, "options ndots:5");
    cleanup_free char *host = xasprintf("\n%s\n", p->cfg->hostname);
    KT_ASSERT_CONTAINS(text, host);
    KT_ASSERT_CONTAINS(text, "hello from knode");
    cri_msg_free(r);
}

static void check_url(const char *url, const char *kind)
{
    cleanup_free char *want = xasprintf("/%s/", kind);
    KT_ASSERT_MSG(strncmp(url, "http://", 7) == 0 && strstr(url, want), "%s URL: %s", kind, url);
    printf("%s URL %s\n", kind, url);
}

static void check_streaming_urls(pod *p)
{
    kn_error *err = NULL;
    char *url = NULL;
    Runtime__V1__ExecRequest ex = RUNTIME__V1__EXEC_REQUEST__INIT;
    char *cmd[] = {"/bin/sh", NULL};
    ex.container_id = p->sleeper_id;
    ex.cmd = cmd;
    ex.n_cmd = 1;
    ex.stdin = ex.stdout = ex.stderr = true;
    KT_ASSERT_OK(TIMED("Exec", cri_runtime_exec(p->c, &ex, &url, &err)), err);
    check_url(url, "exec");
    free(url);

    Runtime__V1__AttachRequest at = RUNTIME__V1__ATTACH_REQUEST__INIT;
    at.container_id = p->sleeper_id;
    at.stdout = at.stderr = true;
    KT_ASSERT_OK(TIMED("Attach", cri_runtime_attach(p->c, &at, &url, &err)), err);
    check_url(url, "attach");
    free(url);

    const int32_t ports[] = {8080};
    KT_ASSERT_OK(
        TIMED("PortForward", cri_runtime_port_forward(p->c, p->sandbox_id, ports, 1, &url, &err)),
        err);
    check_url(url, "portforward");
    free(url);
}

static long long cgroup_value(pod *p, const char *id, const char *ctrl, const char *file)
{
    cleanup_free char *path =
        xasprintf("/sys/fs/cgroup/%s%s/%s/%s", ctrl, p->cgroup_parent, id, file);
    cleanup_free char *text = read_text(path);
    KT_ASSERT_MSG(text, "cannot read %s", path);
    return atoll(text);
}

static void check_update_resources(pod *p)
{
    kn_error *err = NULL;
    /* created with 128 MiB and 256 shares, in the pod's cgroup */
    KT_ASSERT_EQ(cgroup_value(p, p->sleeper_id, "memory", "memory.limit_in_bytes"), 128 * MiB);
    KT_ASSERT_EQ(cgroup_value(p, p->sleeper_id, "cpu", "cpu.shares"), 256);
    Runtime__V1__LinuxContainerResources res = RUNTIME__V1__LINUX_CONTAINER_RESOURCES__INIT;
    res.memory_limit_in_bytes = 64 * MiB;
    res.cpu_shares = 512;
    res.cpu_period = 100000;
    res.cpu_quota = 50000;
    KT_ASSERT_OK(TIMED("UpdateContainerResources",
                       cri_runtime_update_container_resources(p->c, p->sleeper_id, &res, &err)),
                 err);
    KT_ASSERT_EQ(cgroup_value(p, p->sleeper_id, "memory", "memory.limit_in_bytes"), 64 * MiB);
    KT_ASSERT_EQ(cgroup_value(p, p->sleeper_id, "cpu", "cpu.shares"), 512);
    KT_ASSERT_EQ(cgroup_value(p, p->sleeper_id, "cpu", "cpu.cfs_quota_us"), 50000);
    /* and the status reports the new resources */
    Runtime__V1__ContainerStatusResponse *st = NULL;
    KT_ASSERT_OK(cri_runtime_container_status(p->c, p->sleeper_id, false, &st, &err), err);
    KT_ASSERT(st->status->resources && st->status->resources->linux);
    KT_ASSERT_EQ(st->status->resources->linux->memory_limit_in_bytes, 64 * MiB);
    KT_ASSERT_EQ(st->status->resources->linux->cpu_shares, 512);
    cri_msg_free(st);
}

static void check_stats(pod *p)
{
    kn_error *err = NULL;
    Runtime__V1__ContainerStatsResponse *s = NULL;
    KT_ASSERT_OK(
        TIMED("ContainerStats", cri_runtime_container_stats(p->c, p->sleeper_id, &s, &err)), err);
    KT_ASSERT_STREQ(s->stats->attributes->id, p->sleeper_id);
    KT_ASSERT(s->stats->memory && s->stats->memory->working_set_bytes);
    KT_ASSERT(s->stats->cpu && s->stats->cpu->timestamp > 0);
    KT_ASSERT(s->stats->writable_layer);
    printf("sleeper working set %llu bytes\n",
           (unsigned long long)s->stats->memory->working_set_bytes->value);
    capture(s, "container-stats");
    cri_msg_free(s);

    Runtime__V1__ContainerStatsFilter *f =
        cri_msg_new(&runtime__v1__container_stats_filter__descriptor);
    cri_str_set(&f->pod_sandbox_id, p->sandbox_id);
    Runtime__V1__ListContainerStatsResponse *l = NULL;
    KT_ASSERT_OK(TIMED("ListContainerStats", cri_runtime_list_container_stats(p->c, f, &l, &err)),
                 err);
    bool found = false;
    for (size_t i = 0; i < l->n_stats; i++)
        found |= strcmp(l->stats[i]->attributes->id, p->sleeper_id) == 0;
    KT_ASSERT(found);
    capture(l, "list-container-stats");
    cri_msg_free(l);
    cri_msg_free(f);
}

static void check_reopen_log(pod *p)
{
    kn_error *err = NULL;
    cleanup_free char *log = xasprintf("%s/sleeper/0.log", p->log_dir);
    cleanup_free char *rotated = xasprintf("%s.1", log);
    KT_ASSERT_MSG(access(log, F_OK) == 0, "no log %s", log);
    KT_ASSERT(rename(log, rotated) == 0);
    KT_ASSERT_OK(
        TIMED("ReopenContainerLog", cri_runtime_reopen_container_log(p->c, p->sleeper_id, &err)),
        err);
    KT_ASSERT_MSG(access(log, F_OK) == 0, "log %s not reopened", log);
    /* the exited writer has no log to reopen */
    KT_ASSERT_FAILS(cri_runtime_reopen_container_log(p->c, p->writer_id, &err));
    printf("ReopenContainerLog(exited): %s\n", kn_error_msg(err));
    kn_error_free(&err);
}

static void gone_is_fine(const char *what, int rc, kn_error **err)
{
    KT_ASSERT_MSG(rc == 0 || kn_error_code(*err) == KN_ENOTFOUND, "%s: %s", what,
                  kn_error_msg(*err));
    printf("%s: %s\n", what, rc == 0 ? "OK" : kn_error_msg(*err));
    kn_error_free(err);
}

static void pod_teardown(pod *p)
{
    kn_error *err = NULL;
    KT_ASSERT_OK(TIMED("StopContainer", cri_runtime_stop_container(p->c, p->sleeper_id, 1, &err)),
                 err);
    Runtime__V1__ContainerStatusResponse *st = NULL;
    KT_ASSERT_OK(cri_runtime_container_status(p->c, p->sleeper_id, false, &st, &err), err);
    KT_ASSERT_EQ(st->status->state, RUNTIME__V1__CONTAINER_STATE__CONTAINER_EXITED);
    cri_msg_free(st);
    KT_ASSERT_OK(TIMED("RemoveContainer", cri_runtime_remove_container(p->c, p->sleeper_id, &err)),
                 err);
    KT_ASSERT_OK(cri_runtime_remove_container(p->c, p->writer_id, &err), err);
    KT_ASSERT_FAILS(cri_runtime_container_status(p->c, p->writer_id, false, &st, &err));
    KT_ASSERT_EQ(kn_error_code(err), KN_ENOTFOUND);
    kn_error_free(&err);

    KT_ASSERT_OK(TIMED("StopPodSandbox", cri_runtime_stop_sandbox(p->c, p->sandbox_id, &err)), err);
    Runtime__V1__PodSandboxStatusResponse *ps = NULL;
    KT_ASSERT_OK(cri_runtime_sandbox_status(p->c, p->sandbox_id, false, &ps, &err), err);
    KT_ASSERT_EQ(ps->status->state, RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_NOTREADY);
    cri_msg_free(ps);
    KT_ASSERT_OK(cri_runtime_stop_sandbox(p->c, p->sandbox_id, &err), err); /* idempotent */
    KT_ASSERT_OK(TIMED("RemovePodSandbox", cri_runtime_remove_sandbox(p->c, p->sandbox_id, &err)),
                 err);
    KT_ASSERT_FAILS(cri_runtime_sandbox_status(p->c, p->sandbox_id, false, &ps, &err));
    KT_ASSERT_EQ(kn_error_code(err), KN_ENOTFOUND);
    kn_error_free(&err);
    KT_ASSERT_OK(cri_runtime_remove_sandbox(p->c, p->sandbox_id, &err), err);  /* idempotent */
    KT_ASSERT_OK(cri_runtime_remove_container(p->c, p->writer_id, &err), err); /* idempotent */
    /* on ids that are gone, Stop* answer OK or NOT_FOUND, which the kubelet takes as done */
    gone_is_fine("StopContainer(removed)", cri_runtime_stop_container(p->c, p->writer_id, 0, &err),
                 &err);
    gone_is_fine("StopPodSandbox(removed)", cri_runtime_stop_sandbox(p->c, p->sandbox_id, &err),
                 &err);
    pod_cgroup_remove(p->cgroup_parent);
}

static void pod_free(pod *p)
{
    cri_msg_free(p->cfg);
    free(p->cgroup_parent);
    free(p->log_dir);
    free(p->sandbox_id);
    free(p->sleeper_id);
    free(p->writer_id);
}

static const char *const sleeper_argv[] = {"sleep", "3600", NULL};
static const char *const writer_argv[] = {"/bin/sh", "-c",
                                          "echo line-one; echo line-two >&2; exit 3", NULL};

KT_TEST_TIMEOUT(cri, pod_lifecycle, 240)
{
    tb_cluster cl;
    cluster_up(&cl, 1);
    cri_conn *c = connect_node(&cl.nodes[0]);
    pod p = {0};
    pod_run(&p, &cl.nodes[0], c, "web");
    check_sandbox_status(&p);
    check_list_sandboxes(&p);
    p.sleeper_id = container_start(&p, "sleeper", sleeper_argv);
    p.writer_id = container_start(&p, "writer", writer_argv);
    check_writer_exit(&p);
    check_list_containers(&p);
    Runtime__V1__ContainerStatusResponse *st = NULL;
    kn_error *err = NULL;
    KT_ASSERT_OK(
        TIMED("ContainerStatus", cri_runtime_container_status(c, p.sleeper_id, true, &st, &err)),
        err);
    KT_ASSERT_EQ(st->status->state, RUNTIME__V1__CONTAINER_STATE__CONTAINER_RUNNING);
    capture(st, "container-status-running");
    cri_msg_free(st);
    check_exec_sync(&p);
    check_streaming_urls(&p);
    check_update_resources(&p);
    check_stats(&p);
    check_reopen_log(&p);
    pod_teardown(&p);
    pod_free(&p);
    cri_conn_free(c);
    cluster_down(&cl);
}

/* ---- GetContainerEvents ---------------------------------------------------------------- */

typedef struct events {
    cri_stream *s;
    pthread_mutex_t mu;
    bool done;
    int rc;
    kn_error *err;
    int n;
    char ids[32][72];
    int types[32];
} events;

static int on_event(const Runtime__V1__ContainerEventResponse *ev, void *arg)
{
    events *e = arg;
    pthread_mutex_lock(&e->mu);
    if (e->n < 32) {
        snprintf(e->ids[e->n], sizeof(e->ids[0]), "%s", ev->container_id);
        e->types[e->n++] = ev->container_event_type;
    }
    pthread_mutex_unlock(&e->mu);
    capture(ev, "container-event");
    return 0;
}

static void *events_run(void *arg)
{
    events *e = arg;
    kn_error *err = NULL;
    int rc = cri_runtime_events_run(e->s, on_event, e, &err);
    pthread_mutex_lock(&e->mu);
    e->rc = rc;
    e->err = err;
    e->done = true;
    pthread_mutex_unlock(&e->mu);
    return NULL;
}

/* Waits (at most ~20 s) for a STARTED event for id or the end of the stream. */
static bool wait_started_event(events *e, const char *id)
{
    for (int i = 0; i < 200; i++) {
        pthread_mutex_lock(&e->mu);
        bool found = false, done = e->done;
        for (int k = 0; k < e->n; k++)
            found |= strcmp(e->ids[k], id) == 0 &&
                     e->types[k] == RUNTIME__V1__CONTAINER_EVENT_TYPE__CONTAINER_STARTED_EVENT;
        pthread_mutex_unlock(&e->mu);
        if (found || done)
            return found;
        usleep(100 * 1000);
    }
    return false;
}

KT_TEST_TIMEOUT(cri, container_events, 180)
{
    tb_cluster cl;
    cluster_up(&cl, 1);
    cri_conn *c = connect_node(&cl.nodes[0]);
    kn_error *err = NULL;
    events e = {.mu = PTHREAD_MUTEX_INITIALIZER};
    KT_ASSERT_OK(cri_runtime_events_open(c, &e.s, &err), err);
    pthread_t t;
    KT_ASSERT(pthread_create(&t, NULL, events_run, &e) == 0);

    pod p = {0};
    pod_run(&p, &cl.nodes[0], c, "events");
    p.sleeper_id = container_start(&p, "sleeper", sleeper_argv);
    p.writer_id = container_start(&p, "writer", writer_argv);
    bool got = wait_started_event(&e, p.sleeper_id);
    cri_stream_cancel(e.s);
    pthread_join(t, NULL);
    cri_stream_free(e.s);
    cleanup_free char *sleeper = xstrdup(p.sleeper_id);
    pod_teardown(&p);
    pod_free(&p);
    cri_conn_free(c);
    cluster_down(&cl);

    if (e.rc < 0 && kn_error_code(e.err) == KN_ENOTSUP)
        KT_SKIP("the runtime does not offer GetContainerEvents: %s", kn_error_msg(e.err));
    KT_ASSERT_MSG(got, "no CONTAINER_STARTED_EVENT for %s (%d events; stream: %s)", sleeper, e.n,
                  kn_error_msg(e.err));
    KT_ASSERT_EQ(kn_error_code(e.err), KN_ECANCELED);
    kn_error_free(&e.err);
}

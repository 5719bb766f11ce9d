/* Tests for kubelet/static_pods: upstream naming and UIDs, the directory
 * scan handed to a pod sink, and the inotify watcher. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kubelet/static_pods.h"
#include "lib/cleanup.h"
#include "lib/xalloc.h"
#include "test/runner/kt.h"

static const char web_yaml[] = "apiVersion: v1\n"
                               "kind: Pod\n"
                               "metadata:\n"
                               "  name: web\n"
                               "  labels: {app: web}\n"
                               "spec:\n"
                               "  containers:\n"
                               "  - name: app\n"
                               "    image: localhost/busybox:1.35\n"
                               "    command: [sleep, '3600']\n";

static char *write_file(const char *dir, const char *name, const char *text)
{
    char *path = xasprintf("%s/%s", dir, name);
    cleanup_free char *tmp = xasprintf("%s/.%s.tmp", dir, name);
    FILE *f = fopen(tmp, "w");
    KT_ASSERT(f);
    fputs(text, f);
    fclose(f);
    KT_ASSERT(rename(tmp, path) == 0); /* atomically, as a careful writer does */
    return path;
}

static char *manifests(void)
{
    char *dir = xasprintf("%s/manifests", kt_tmpdir());
    KT_ASSERT(mkdir(dir, 0755) == 0);
    return dir;
}

KT_TEST(static_pods, upstream_naming_and_uid)
{
    cleanup_free char *dir = manifests();
    cleanup_free char *path = write_file(dir, "web.yaml", web_yaml);
    kn_error *err = NULL;
    kl_pod *p = NULL;
    KT_ASSERT_OK(kl_static_pod_load(path, "NodeA", &p, &err), err);
    KT_ASSERT_STREQ(p->name, "web-nodea");
    KT_ASSERT_STREQ(p->namespace_, "default");
    KT_ASSERT_STREQ(p->node_name, "NodeA");
    KT_ASSERT_EQ(strlen(p->uid), 32);
    KT_ASSERT_STREQ(kl_map_get(&p->annotations, KL_ANN_CONFIG_HASH), p->uid);
    KT_ASSERT_STREQ(kl_map_get(&p->annotations, KL_ANN_CONFIG_SOURCE), "file");
    KT_ASSERT(kl_pod_is_static(p));
    KT_ASSERT(kl_pod_is_critical(p));

    /* stable for the same content, node and path; different otherwise */
    kl_pod *q = NULL;
    KT_ASSERT_OK(kl_static_pod_load(path, "NodeA", &q, &err), err);
    KT_ASSERT_STREQ(q->uid, p->uid);
    kl_pod_unref(q);
    KT_ASSERT_OK(kl_static_pod_load(path, "nodeb", &q, &err), err);
    KT_ASSERT(strcmp(q->uid, p->uid) != 0);
    kl_pod_unref(q);
    cleanup_free char *other = write_file(dir, "other.yaml", web_yaml);
    KT_ASSERT_OK(kl_static_pod_load(other, "NodeA", &q, &err), err);
    KT_ASSERT(strcmp(q->uid, p->uid) != 0);
    kl_pod_unref(q);
    /* the same pod as JSON with keys in another order: same document, same UID */
    cleanup_free char *json = write_file(
        dir, "web.yaml",
        "{\"spec\":{\"containers\":[{\"image\":\"localhost/busybox:1.35\",\"name\":\"app\","
        "\"command\":[\"sleep\",\"3600\"]}]},\"kind\":\"Pod\",\"apiVersion\":\"v1\","
        "\"metadata\":{\"labels\":{\"app\":\"web\"},\"name\":\"web\"}}");
    KT_ASSERT_OK(kl_static_pod_load(path, "NodeA", &q, &err), err);
    KT_ASSERT_STREQ(q->uid, p->uid);
    kl_pod_unref(q);
    cleanup_free char *changed =
        write_file(dir, "web.yaml",
                   "apiVersion: v1\nkind: Pod\nmetadata: {name: web}\n"
                   "spec: {containers: [{name: app, image: 'localhost/busybox:1.36'}]}\n");
    KT_ASSERT_OK(kl_static_pod_load(path, "NodeA", &q, &err), err);
    KT_ASSERT(strcmp(q->uid, p->uid) != 0);
    kl_pod_unref(q);
    kl_pod_unref(p);

    /* a uid in the file is kept; a namespace too */
    cleanup_free char *own = write_file(
        dir, "own.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata: {name: o, namespace: kube-system, uid: my-uid}\n"
        "spec: {containers: [{name: a, image: x}]}\n");
    KT_ASSERT_OK(kl_static_pod_load(own, "n1", &p, &err), err);
    KT_ASSERT_STREQ(p->uid, "my-uid");
    KT_ASSERT_STREQ(p->namespace_, "kube-system");
    kl_pod_unref(p);
}

KT_TEST(static_pods, invalid_files_name_the_problem)
{
    cleanup_free char *dir = manifests();
    static const struct {
        const char *text, *want;
    } cases[] = {
        {"", "file was empty"},
        {"# only a comment\n", "file was empty"},
        {"kind: Pod\nmetadata: {name: a}\nspec: {containers: [{name: a, image: x}]}\n",
         "apiVersion must be \"v1\""},
        {"apiVersion: v1\nmetadata: {name: a}\n", "Object 'Kind' is missing"},
        {"apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: a}\n", "apiVersion must be"},
        {"apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec: {containers: [{name: a}]}\n",
         "spec.containers[0].image: Required value"},
        {"apiVersion: v1\nkind: Pod\nspec: {}\n", "metadata.name: Required value"},
        {"apiVersion: v1\nkind: Pod\nmetadata: {name: a\n", "line"},
    };
    for (size_t i = 0; i < KN_ARRAY_SIZE(cases); i++) {
        cleanup_free char *path = write_file(dir, "bad.yaml", cases[i].text);
        kl_pod *p = NULL;
        kn_error *err = NULL;
        KT_ASSERT_FAILS(kl_static_pod_load(path, "n1", &p, &err));
        KT_ASSERT_MSG(strstr(kn_error_msg(err), cases[i].want) && strstr(kn_error_msg(err), path),
                      "case %zu: %s", i, kn_error_msg(err));
        kn_error_free(&err);
    }
}

/* A pod sink that records the last set. */
typedef struct recorder {
    pthread_mutex_t mu;
    pthread_cond_t cond;
    int sets;
    char names[8][64];
    size_t n;
    bool ready;
} recorder;

static void rec_set(void *arg, const char *source, kl_pod *const *pods, size_t n)
{
    recorder *r = arg;
    pthread_mutex_lock(&r->mu);
    KT_ASSERT_STREQ(source, "file");
    r->n = n < 8 ? n : 8;
    for (size_t i = 0; i < r->n; i++)
        snprintf(r->names[i], sizeof(r->names[i]), "%s", pods[i]->name);
    r->sets++;
    pthread_cond_broadcast(&r->cond);
    pthread_mutex_unlock(&r->mu);
}

static void rec_ready(void *arg, const char *source)
{
    recorder *r = arg;
    pthread_mutex_lock(&r->mu);
    r->ready = strcmp(source, "file") == 0;
    pthread_mutex_unlock(&r->mu);
}

static void wait_count(recorder *r, size_t n)
{
    pthread_mutex_lock(&r->mu);
    while (r->n != n)
        pthread_cond_wait(&r->cond, &r->mu);
    pthread_mutex_unlock(&r->mu);
}

KT_TEST_TIMEOUT(static_pods, scan_and_watch, 30)
{
    cleanup_free char *dir = manifests();
    free(write_file(dir, "a.yaml", web_yaml));
    free(write_file(dir, "b.json",
                    "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"b\"},"
                    "\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"x\"}]}}"));
    free(write_file(dir, "c.yaml", "not: [a pod\n"));
    free(write_file(dir, "d.yaml", web_yaml)); /* the same name as a.yaml: ignored */
    free(write_file(dir, ".hidden.yaml", web_yaml));
    cleanup_free char *sub = xasprintf("%s/subdir", dir);
    KT_ASSERT(mkdir(sub, 0755) == 0);

    recorder r = {.mu = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};
    kl_static_opts o = {.path = dir,
                        .node_name = "node1",
                        .sink = {.set = rec_set, .ready = rec_ready, .arg = &r},
                        .check_period_ns = 60LL * 1000000000LL};
    kl_static_pods *sp = NULL;
    kn_error *err = NULL;
    KT_ASSERT_OK(kl_static_pods_new(&o, &sp, &err), err);
    KT_ASSERT_OK(kl_static_pods_start(sp, &err), err);
    pthread_mutex_lock(&r.mu);
    KT_ASSERT(r.ready);
    KT_ASSERT_EQ(r.n, 2);
    KT_ASSERT_STREQ(r.names[0], "web-node1");
    KT_ASSERT_STREQ(r.names[1], "b-node1");
    pthread_mutex_unlock(&r.mu);

    /* the watcher sees a new file and a removed one (the period is a minute) */
    free(write_file(dir, "e.yaml",
                    "apiVersion: v1\nkind: Pod\nmetadata: {name: e}\n"
                    "spec: {containers: [{name: a, image: x}]}\n"));
    wait_count(&r, 3);
    cleanup_free char *a = xasprintf("%s/a.yaml", dir);
    cleanup_free char *d = xasprintf("%s/d.yaml", dir);
    KT_ASSERT(unlink(a) == 0 && unlink(d) == 0);
    wait_count(&r, 2);
    kl_static_pods_free(sp);

    /* a missing directory is an empty set, not an error */
    cleanup_free char *none = xasprintf("%s/none", kt_tmpdir());
    o.path = none;
    KT_ASSERT_OK(kl_static_pods_new(&o, &sp, &err), err);
    kl_static_pods_scan(sp);
    KT_ASSERT_EQ(r.n, 0);
    kl_static_pods_free(sp);
}

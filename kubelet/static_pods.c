/* static_pods.c - the --pod-manifest-path source (see static_pods.h). */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "kubelet/static_pods.h"
#include "kubelet/status.h"
#include "lib/file.h"
#include "lib/cleanup.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/strbuf.h"
#include "lib/xalloc.h"
#include "lib/yaml.h"

#define COMPONENT "kubelet"
#define DEFAULT_PERIOD_NS (20 * 1000 * 1000 * 1000LL)
#define DEBOUNCE_MS 100
#define MAX_MANIFEST (10 * 1024 * 1024)

/* ---- UID ---------------------------------------------------------------------------------- */

static int cmp_key(const void *a, const void *b)
{
    return strcmp((*(cJSON *const *)a)->string, (*(cJSON *const *)b)->string);
}

/* Sorts every object's members by key, recursively. */
static void sort_keys(cJSON *v)
{
    if (!cJSON_IsObject(v) && !cJSON_IsArray(v))
        return;
    size_t n = 0;
    for (cJSON *c = v->child; c; c = c->next) {
        sort_keys(c);
        n++;
    }
    if (!cJSON_IsObject(v) || n < 2)
        return;
    cJSON **items = xcalloc(n, sizeof(cJSON *));
    size_t i = 0;
    for (cJSON *c = v->child; c; c = c->next)
        items[i++] = c;
    qsort(items, n, sizeof(cJSON *), cmp_key);
    for (i = 0; i < n; i++) {
        items[i]->next = i + 1 < n ? items[i + 1] : NULL;
        items[i]->prev = i ? items[i - 1] : items[n - 1]; /* cJSON: child->prev is the last */
    }
    v->child = items[0];
    free(items);
}

char *kl_static_pod_uid(const cJSON *doc, const char *node_name, const char *path)
{
    cleanup_cjson cJSON *copy = cJSON_Duplicate(doc, true);
    sort_keys(copy);
    cleanup_free char *text = kn_json_print(copy);
    cleanup_free char *src = xasprintf("host:%sfile:%s", node_name, path);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx || !EVP_DigestInit_ex(ctx, EVP_md5(), NULL) ||
        !EVP_DigestUpdate(ctx, text, strlen(text)) || !EVP_DigestUpdate(ctx, src, strlen(src)) ||
        !EVP_DigestFinal_ex(ctx, md, &len))
        kn_oom(); /* only fails for lack of memory */
    EVP_MD_CTX_free(ctx);
    char *hex = xmalloc(2 * len + 1);
    for (unsigned int i = 0; i < len; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    return hex;
}

/* ---- one manifest ------------------------------------------------------------------------------
 */

static cJSON *object_member(cJSON *obj, const char *key)
{
    cJSON *m = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (cJSON_IsObject(m))
        return m;
    if (m)
        cJSON_DeleteItemFromObjectCaseSensitive(obj, key);
    return cJSON_AddObjectToObject(obj, key);
}

static void set_string(cJSON *obj, const char *key, const char *value)
{
    cJSON_DeleteItemFromObjectCaseSensitive(obj, key);
    cJSON_AddStringToObject(obj, key, value);
}

/* upstream applyDefaults on the document. */
static int apply_defaults(cJSON *doc, const char *node, const char *path, kn_error **err)
{
    cJSON *meta = object_member(doc, "metadata");
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(meta, "name");
    if (!cJSON_IsString(name) || !*name->valuestring)
        return kn_error_set(err, KN_EINVAL, "metadata.name: Required value");
    const cJSON *uid = cJSON_GetObjectItemCaseSensitive(meta, "uid");
    cleanup_free char *id = cJSON_IsString(uid) && *uid->valuestring
                                ? xstrdup(uid->valuestring)
                                : kl_static_pod_uid(doc, node, path);
    cleanup_free char *lower = xstrdup(node);
    for (char *p = lower; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    cleanup_free char *full = xasprintf("%s-%s", name->valuestring, lower);
    set_string(meta, "name", full);
    set_string(meta, "uid", id);
    const cJSON *ns = cJSON_GetObjectItemCaseSensitive(meta, "namespace");
    if (!cJSON_IsString(ns) || !*ns->valuestring)
        set_string(meta, "namespace", "default");
    set_string(object_member(doc, "spec"), "nodeName", node);
    cJSON *ann = object_member(meta, "annotations");
    set_string(ann, KL_ANN_CONFIG_HASH, id);
    set_string(ann, KL_ANN_CONFIG_SOURCE, KL_STATIC_SOURCE);
    cJSON_DeleteItemFromObjectCaseSensitive(doc, "status");
    return 0;
}

static int check_type(const cJSON *doc, const char *path, kn_error **err)
{
    if (!cJSON_IsObject(doc))
        return kn_error_set(err, KN_EINVAL, "%s: not a Pod object", path);
    const cJSON *kind = cJSON_GetObjectItemCaseSensitive(doc, "kind");
    const cJSON *api = cJSON_GetObjectItemCaseSensitive(doc, "apiVersion");
    if (!cJSON_IsString(kind) || !*kind->valuestring)
        return kn_error_set(err, KN_EINVAL, "%s: Object 'Kind' is missing", path);
    if (!cJSON_IsString(api) || strcmp(api->valuestring, "v1") != 0)
        return kn_error_set(err, KN_EINVAL, "%s: apiVersion must be \"v1\" for a Pod", path);
    if (strcmp(kind->valuestring, "Pod") != 0)
        return kn_error_set(err, KN_EINVAL, "%s: kind %s is not a Pod", path, kind->valuestring);
    return 0;
}

int kl_static_pod_load(const char *path, const char *node_name, kl_pod **out, kn_error **err)
{
    cleanup_free char *data = NULL;
    size_t len = 0;
    if (kn_read_file(path, MAX_MANIFEST, &data, &len, err) < 0)
        return -1;
    if (len == 0)
        return kn_error_set(err, KN_EINVAL, "%s: file was empty", path);
    cleanup_yaml_docs kn_yaml_docs docs = {0};
    if (kn_yaml_or_json_parse(data, len, MAX_MANIFEST, path, 0, &docs, err) < 0)
        return -1;
    if (docs.n == 0)
        return kn_error_set(err, KN_EINVAL, "%s: file was empty", path);
    cJSON *doc = docs.docs[0];
    if (check_type(doc, path, err) < 0 || apply_defaults(doc, node_name, path, err) < 0)
        return kn_error_wrap(err, "%s: invalid pod", path);
    if (kl_pod_decode(doc, out, err) < 0)
        return kn_error_wrap(err, "%s: invalid pod", path);
    return 0;
}

/* ---- the source ---------------------------------------------------------------------------------
 */

typedef struct seen {
    char *uid;
    char *time;
} seen;

struct kl_static_pods {
    char *path;
    char *node;
    kl_pod_sink sink;
    int64_t period;
    pthread_t thread;
    bool started;
    int stop_pipe[2];
    int ifd, wd; /* inotify, set up before the first scan so no change is missed */
    seen *seen;  /* first-seen times (worker thread / scan only) */
    size_t nseen;
};

/* kubernetes.io/config.seen: when the pod was first read (kept per UID). */
static const char *seen_time(kl_static_pods *sp, const char *uid)
{
    for (size_t i = 0; i < sp->nseen; i++)
        if (strcmp(sp->seen[i].uid, uid) == 0)
            return sp->seen[i].time;
    char t[40];
    int64_t now = kn_time_wall_ns();
    kl_format_time(now, t);
    char *dot = strrchr(t, 'Z');
    if (dot)
        snprintf(dot, sizeof(t) - (size_t)(dot - t), ".%09lldZ", (long long)(now % 1000000000LL));
    sp->seen = xreallocarray(sp->seen, sp->nseen + 1, sizeof(seen));
    sp->seen[sp->nseen] = (seen){xstrdup(uid), xstrdup(t)};
    return sp->seen[sp->nseen++].time;
}

static kl_pod *load_one(kl_static_pods *sp, const char *file)
{
    kl_pod *pod = NULL;
    kn_error *err = NULL;
    if (kl_static_pod_load(file, sp->node, &pod, &err) < 0) {
        KN_WARN(COMPONENT, "static pod skipped: %s", kn_error_msg(err));
        kn_error_free(&err);
        return NULL;
    }
    /* the seen time is not part of the UID: set it on the decoded pod */
    const char *t = seen_time(sp, pod->uid);
    kl_pod_set_annotation(pod, KL_ANN_CONFIG_SEEN, t);
    return pod;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The manifest files of the path, sorted; caller frees each and the array. */
static char **list_files(const char *path, size_t *n)
{
    *n = 0;
    struct stat st;
    if (stat(path, &st) < 0)
        return NULL;
    char **files = NULL;
    if (!S_ISDIR(st.st_mode)) {
        files = xcalloc(1, sizeof(char *));
        files[(*n)++] = xstrdup(path);
        return files;
    }
    DIR *d = opendir(path);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        cleanup_free char *full = xasprintf("%s/%s", path, e->d_name);
        if (stat(full, &st) < 0 || !S_ISREG(st.st_mode)) {
            if (S_ISDIR(st.st_mode))
                KN_V(2, COMPONENT, "static pods: %s is a directory, not supported", full);
            continue;
        }
        files = xreallocarray(files, *n + 1, sizeof(char *));
        files[(*n)++] = kn_steal_ptr(full);
    }
    if (d)
        closedir(d);
    if (*n > 1)
        qsort(files, *n, sizeof(char *), cmp_str);
    return files;
}

static bool duplicate(kl_pod *const *pods, size_t n, const kl_pod *p)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(pods[i]->uid, p->uid) == 0 || (strcmp(pods[i]->name, p->name) == 0 &&
                                                  strcmp(pods[i]->namespace_, p->namespace_) == 0))
            return true;
    return false;
}

void kl_static_pods_scan(kl_static_pods *sp)
{
    size_t nfiles = 0, npods = 0;
    char **files = list_files(sp->path, &nfiles);
    kl_pod **pods = xcalloc(nfiles + 1, sizeof(kl_pod *));
    for (size_t i = 0; i < nfiles; i++) {
        kl_pod *p = load_one(sp, files[i]);
        if (p && duplicate(pods, npods, p)) {
            KN_WARN(COMPONENT, "static pod %s/%s in %s duplicates another one: ignored",
                    p->namespace_, p->name, files[i]);
            kl_pod_unref(p);
            p = NULL;
        }
        if (p)
            pods[npods++] = p;
        free(files[i]);
    }
    free(files);
    if (sp->sink.set)
        sp->sink.set(sp->sink.arg, KL_STATIC_SOURCE, pods, npods);
    for (size_t i = 0; i < npods; i++)
        kl_pod_unref(pods[i]);
    free(pods);
}

int kl_static_pods_new(const kl_static_opts *opts, kl_static_pods **out, kn_error **err)
{
    if (!opts->path || !*opts->path || !opts->node_name || !*opts->node_name)
        return kn_error_set(err, KN_EINVAL, "static pods need a manifest path and a node name");
    kl_static_pods *sp = xcalloc(1, sizeof(*sp));
    sp->path = xstrdup(opts->path);
    sp->node = xstrdup(opts->node_name);
    sp->sink = opts->sink;
    sp->period = opts->check_period_ns > 0 ? opts->check_period_ns : DEFAULT_PERIOD_NS;
    sp->stop_pipe[0] = sp->stop_pipe[1] = -1;
    sp->ifd = sp->wd = -1;
    *out = sp;
    return 0;
}

/* ---- watching ----------------------------------------------------------------------------------
 */

static int add_watch(int ifd, const char *path)
{
    return inotify_add_watch(ifd, path,
                             IN_CREATE | IN_DELETE | IN_MODIFY | IN_MOVED_TO | IN_MOVED_FROM |
                                 IN_CLOSE_WRITE | IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF);
}

static void drain(int fd)
{
    char buf[4096];
    while (read(fd, buf, sizeof(buf)) > 0) {
    }
}

/* Waits up to ms for an event; returns 1 on an inotify event, 0 on
 * timeout, -1 when asked to stop. */
static int wait_event(kl_static_pods *sp, int ifd, int ms)
{
    struct pollfd fds[2] = {{sp->stop_pipe[0], POLLIN, 0}, {ifd, POLLIN, 0}};
    int n = poll(fds, ifd >= 0 ? 2 : 1, ms);
    if (n > 0 && fds[0].revents)
        return -1;
    if (n > 0 && fds[1].revents) {
        drain(ifd);
        return 1;
    }
    return 0;
}

static void *watch_main(void *arg)
{
    kl_static_pods *sp = arg;
    int ifd = sp->ifd, wd = sp->wd;
    int period_ms = (int)(sp->period / 1000000);
    for (;;) {
        int r = wait_event(sp, wd >= 0 ? ifd : -1, period_ms);
        if (r < 0)
            break;
        /* let a burst of events (an editor's save) settle before reading */
        while (r > 0 && (r = wait_event(sp, ifd, DEBOUNCE_MS)) > 0) {
        }
        if (r < 0)
            break;
        if (wd >= 0 && access(sp->path, F_OK) < 0) {
            inotify_rm_watch(ifd, wd); /* gone: watch it again once it is back */
            wd = -1;
        }
        if (wd < 0 && ifd >= 0)
            wd = add_watch(ifd, sp->path); /* the directory may have appeared */
        kl_static_pods_scan(sp);
    }
    return NULL;
}

int kl_static_pods_start(kl_static_pods *sp, kn_error **err)
{
    if (pipe2(sp->stop_pipe, O_CLOEXEC) < 0)
        return kn_error_errno(err, errno, "pipe");
    sp->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (sp->ifd < 0)
        KN_WARN(COMPONENT, "inotify: %s; static pods are read every period only", strerror(errno));
    sp->wd = sp->ifd >= 0 ? add_watch(sp->ifd, sp->path) : -1;
    kl_static_pods_scan(sp);
    if (sp->sink.ready)
        sp->sink.ready(sp->sink.arg, KL_STATIC_SOURCE);
    int rc = pthread_create(&sp->thread, NULL, watch_main, sp);
    if (rc != 0)
        return kn_error_errno(err, rc, "start static pod watcher");
    sp->started = true;
    return 0;
}

void kl_static_pods_free(kl_static_pods *sp)
{
    if (!sp)
        return;
    if (sp->started) {
        ssize_t w = write(sp->stop_pipe[1], "x", 1);
        (void)w;
        pthread_join(sp->thread, NULL);
    }
    for (int i = 0; i < 2; i++)
        if (sp->stop_pipe[i] >= 0)
            close(sp->stop_pipe[i]);
    if (sp->ifd >= 0)
        close(sp->ifd);
    for (size_t i = 0; i < sp->nseen; i++) {
        free(sp->seen[i].uid);
        free(sp->seen[i].time);
    }
    free(sp->seen);
    free(sp->path);
    free(sp->node);
    free(sp);
}

/* cgroups.c - pod cgroups with the cgroupfs driver (see cgroups.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kubelet/cgroups.h"
#include "lib/cleanup.h"
#include "lib/strbuf.h"
#include "lib/xalloc.h"

/* ---- resource arithmetic ------------------------------------------------------------------- */

int64_t kl_milli_cpu_to_shares(int64_t milli)
{
    if (milli <= 0)
        return KL_MIN_SHARES;
    if (milli > INT64_MAX / 1024)
        return KL_MAX_SHARES;
    int64_t shares = milli * 1024 / 1000;
    return shares < KL_MIN_SHARES ? KL_MIN_SHARES : shares > KL_MAX_SHARES ? KL_MAX_SHARES : shares;
}

int64_t kl_milli_cpu_to_quota(int64_t milli, int64_t period)
{
    if (milli <= 0)
        return 0;
    if (period > 0 && milli > INT64_MAX / period)
        return INT64_MAX / 1000;
    int64_t quota = milli * period / 1000;
    return quota < KL_MIN_QUOTA_US ? KL_MIN_QUOTA_US : quota;
}

int64_t kl_shares_to_weight(int64_t shares)
{
    if (shares < KL_MIN_SHARES)
        shares = KL_MIN_SHARES;
    return 1 + ((shares - 2) * 9999) / 262142;
}

typedef struct res_acc {
    bool has_cpu_req;
    int64_t cpu_req, cpu_lim, mem_lim;
} res_acc;

static int64_t milli_of(const kl_resource_list *l, const char *name, bool *found)
{
    const kn_quantity *q = kl_resource_get(l, name);
    if (found)
        *found = q != NULL;
    return q ? kn_quantity_milli_value(q) : 0;
}

static int64_t value_of(const kl_resource_list *l, const char *name)
{
    const kn_quantity *q = kl_resource_get(l, name);
    return q ? kn_quantity_value(q) : 0;
}

static int64_t sat_add(int64_t a, int64_t b)
{
    int64_t r;
    return __builtin_add_overflow(a, b, &r) ? INT64_MAX : r;
}

static void acc_container(res_acc *a, const kl_container *c, bool sum, kl_pod_resources *out)
{
    bool found = false;
    int64_t req = milli_of(&c->resources.requests, "cpu", &found);
    int64_t lim = milli_of(&c->resources.limits, "cpu", NULL);
    int64_t mem = value_of(&c->resources.limits, "memory");
    a->has_cpu_req |= found;
    if (sum) {
        a->cpu_req = sat_add(a->cpu_req, req);
        a->cpu_lim = sat_add(a->cpu_lim, lim);
        a->mem_lim = sat_add(a->mem_lim, mem);
    } else {
        a->cpu_req = req > a->cpu_req ? req : a->cpu_req;
        a->cpu_lim = lim > a->cpu_lim ? lim : a->cpu_lim;
        a->mem_lim = mem > a->mem_lim ? mem : a->mem_lim;
    }
    if (lim == 0)
        out->cpu_limits_declared = false;
    if (mem == 0)
        out->memory_limits_declared = false;
}

void kl_pod_resources_compute(const kl_pod *pod, kl_pod_resources *out)
{
    res_acc app = {0}, init = {0};
    memset(out, 0, sizeof(*out));
    out->cpu_limits_declared = out->memory_limits_declared = true;
    for (size_t i = 0; i < pod->n_containers; i++)
        acc_container(&app, &pod->containers[i], true, out);
    for (size_t i = 0; i < pod->n_init_containers; i++)
        acc_container(&init, &pod->init_containers[i], false, out);
    out->has_cpu_request = app.has_cpu_req || init.has_cpu_req;
    out->cpu_request_milli = app.cpu_req > init.cpu_req ? app.cpu_req : init.cpu_req;
    out->cpu_limit_milli = app.cpu_lim > init.cpu_lim ? app.cpu_lim : init.cpu_lim;
    out->memory_limit = app.mem_lim > init.mem_lim ? app.mem_lim : init.mem_lim;
}

void kl_pod_cgroup_limits(const kl_pod *pod, const kl_node_config *nc, kl_cgroup_limits *out)
{
    kl_pod_resources r;
    kl_pod_resources_compute(pod, &r);
    int64_t period = nc->cpu_cfs_quota_period_us > 0 ? nc->cpu_cfs_quota_period_us : 100000;
    int64_t shares = kl_milli_cpu_to_shares(r.cpu_request_milli);
    int64_t quota = nc->cpu_cfs_quota ? kl_milli_cpu_to_quota(r.cpu_limit_milli, period) : -1;
    memset(out, 0, sizeof(*out));
    switch (pod->qos) {
    case KL_QOS_GUARANTEED:
        out->cpu_shares = shares;
        out->cpu_quota_us = quota;
        out->cpu_period_us = period;
        out->memory_limit = r.memory_limit;
        break;
    case KL_QOS_BURSTABLE:
        out->cpu_shares = shares;
        if (r.cpu_limits_declared) {
            out->cpu_quota_us = quota;
            out->cpu_period_us = period;
        }
        if (r.memory_limits_declared)
            out->memory_limit = r.memory_limit;
        break;
    case KL_QOS_BEST_EFFORT:
        out->cpu_shares = KL_MIN_SHARES;
        break;
    }
}

/* ---- names ----------------------------------------------------------------------------- */

char *kl_cgroup_qos_name(const char *root, kl_qos_class qos)
{
    if (!root || !*root)
        root = "/";
    size_t n = strlen(root);
    const char *lead = root[0] == '/' ? "" : "/";
    const char *sep = root[n - 1] == '/' ? "" : "/";
    const char *sub = qos == KL_QOS_BURSTABLE     ? "/burstable"
                      : qos == KL_QOS_BEST_EFFORT ? "/besteffort"
                                                  : "";
    return xasprintf("%s%s%skubepods%s", lead, root, sep, sub);
}

char *kl_cgroup_pod_name(const char *root, kl_qos_class qos, const char *uid)
{
    cleanup_free char *parent = kl_cgroup_qos_name(root, qos);
    return xasprintf("%s/pod%s", parent, uid);
}

/* ---- hierarchies ------------------------------------------------------------------------- */

typedef struct hier {
    char *mount;
    char *opts; /* super options, e.g. "rw,relatime,cpu" */
    bool cpu, memory, cpuset;
} hier;

struct kl_cgroups {
    hier *h;
    size_t n;
    bool v2;
};

static bool has_opt(const char *opts, const char *want)
{
    size_t n = strlen(want);
    for (const char *p = opts; p && *p;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (len == n && strncmp(p, want, n) == 0)
            return true;
        p = comma ? comma + 1 : NULL;
    }
    return false;
}

/* The controller options of a mount (drops rw/ro and the like) for
 * recognizing the same hierarchy mounted twice. */
static char *controllers_of(const char *opts)
{
    static const char *const generic[] = {"rw",     "ro",    "relatime", "noatime",
                                          "nosuid", "nodev", "noexec",   "clone_children"};
    kn_buf b = KN_BUF_INIT;
    cleanup_free char *copy = xstrdup(opts);
    char *save = NULL;
    for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        bool skip = false;
        for (size_t i = 0; i < KN_ARRAY_SIZE(generic); i++)
            skip |= strcmp(t, generic[i]) == 0;
        if (!skip)
            kn_buf_appendf(&b, "%s,", t);
    }
    return kn_buf_steal(&b);
}

static void add_hier(kl_cgroups *cg, const char *mount, const char *opts)
{
    cleanup_free char *ctrl = controllers_of(opts);
    for (size_t i = 0; i < cg->n; i++) {
        cleanup_free char *other = controllers_of(cg->h[i].opts);
        if (strcmp(other, ctrl) == 0)
            return; /* the same hierarchy mounted again */
    }
    cg->h = xreallocarray(cg->h, cg->n + 1, sizeof(hier));
    hier *h = &cg->h[cg->n++];
    h->mount = xstrdup(mount);
    h->opts = xstrdup(opts);
    h->cpu = has_opt(opts, "cpu");
    h->memory = has_opt(opts, "memory");
    h->cpuset = has_opt(opts, "cpuset");
}

int kl_cgroups_open(const char *mounts_path, kl_cgroups **out, kn_error **err)
{
    if (!mounts_path)
        mounts_path = "/proc/self/mounts";
    cleanup_file FILE *f = fopen(mounts_path, "r");
    if (!f)
        return kn_error_errno(err, errno, "open %s", mounts_path);
    kl_cgroups *cg = xcalloc(1, sizeof(*cg));
    char line[4096], v2_mount[1024] = "";
    while (fgets(line, sizeof(line), f)) {
        char dev[256], mp[1024], fs[64], opts[1024];
        if (sscanf(line, "%255s %1023s %63s %1023s", dev, mp, fs, opts) != 4)
            continue;
        if (strcmp(fs, "cgroup") == 0)
            add_hier(cg, mp, opts);
        else if (strcmp(fs, "cgroup2") == 0 && !v2_mount[0])
            snprintf(v2_mount, sizeof(v2_mount), "%s", mp);
    }
    if (cg->n == 0 && v2_mount[0]) {
        cg->v2 = true;
        add_hier(cg, v2_mount, "cgroup2");
        cg->h[0].cpu = cg->h[0].memory = true;
    }
    if (cg->n == 0) {
        kl_cgroups_free(cg);
        return kn_error_set(err, KN_ENOTSUP, "no cgroup hierarchy is mounted (%s)", mounts_path);
    }
    *out = cg;
    return 0;
}

void kl_cgroups_free(kl_cgroups *cg)
{
    if (!cg)
        return;
    for (size_t i = 0; i < cg->n; i++) {
        free(cg->h[i].mount);
        free(cg->h[i].opts);
    }
    free(cg->h);
    free(cg);
}

bool kl_cgroups_v2(const kl_cgroups *cg)
{
    return cg->v2;
}

size_t kl_cgroups_count(const kl_cgroups *cg)
{
    return cg->n;
}

const char *kl_cgroups_mount(const kl_cgroups *cg, size_t i)
{
    return i < cg->n ? cg->h[i].mount : NULL;
}

/* ---- files ------------------------------------------------------------------------------- */

static int write_file(const char *dir, const char *name, const char *value, kn_error **err)
{
    cleanup_free char *path = xasprintf("%s/%s", dir, name);
    int fd = open(path, O_WRONLY | O_CLOEXEC | O_TRUNC);
    if (fd < 0)
        return errno == ENOENT ? 0 : kn_error_errno(err, errno, "open %s", path);
    ssize_t n = write(fd, value, strlen(value));
    int e = errno;
    close(fd);
    if (n < 0)
        return kn_error_errno(err, e, "write %s to %s", value, path);
    return 0;
}

static char *read_file(const char *dir, const char *name)
{
    cleanup_free char *path = xasprintf("%s/%s", dir, name);
    cleanup_file FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    char buf[4096];
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    buf[n] = '\0';
    return xstrdup(buf);
}

/* A new cpuset cgroup starts with no cpus or mems: copy the parent's, as
 * libcontainer does. */
static int cpuset_fill(const char *dir, kn_error **err)
{
    static const char *const files[] = {"cpuset.cpus", "cpuset.mems"};
    cleanup_free char *parent = xasprintf("%s/..", dir);
    for (size_t i = 0; i < KN_ARRAY_SIZE(files); i++) {
        cleanup_free char *cur = read_file(dir, files[i]);
        if (!cur || (cur[0] != '\n' && cur[0] != '\0'))
            continue;
        cleanup_free char *val = read_file(parent, files[i]);
        if (val && write_file(dir, files[i], val, err) < 0)
            return -1;
    }
    return 0;
}

/* v2: lets children use the cpu, memory and pids controllers. */
static void v2_enable_controllers(const char *dir)
{
    cleanup_free char *avail = read_file(dir, "cgroup.controllers");
    static const char *const want[] = {"cpu", "memory", "pids", "cpuset"};
    for (size_t i = 0; avail && i < KN_ARRAY_SIZE(want); i++) {
        if (!strstr(avail, want[i]))
            continue;
        cleanup_free char *add = xasprintf("+%s", want[i]);
        kn_error *ignored = NULL;
        write_file(dir, "cgroup.subtree_control", add, &ignored);
        kn_error_free(&ignored);
    }
}

static int mkdir_p(const hier *h, bool v2, const char *path, kn_error **err)
{
    cleanup_free char *full = xasprintf("%s/%s", h->mount, path[0] == '/' ? path + 1 : path);
    size_t base = strlen(h->mount);
    for (char *p = full + base + 1;; p++) {
        bool end = *p == '\0';
        if (*p != '/' && !end)
            continue;
        char save = *p;
        *p = '\0';
        if (v2) {
            /* enable controllers in the parent before creating the child */
            cleanup_free char *parent = xstrndup(full, (size_t)(strrchr(full, '/') - full));
            v2_enable_controllers(parent);
        }
        if (mkdir(full, 0755) == 0) {
            if (h->cpuset && cpuset_fill(full, err) < 0)
                return -1;
        } else if (errno != EEXIST) {
            return kn_error_errno(err, errno, "mkdir %s", full);
        }
        *p = save;
        if (end)
            return 0;
    }
}

static int write_limits_v1(const hier *h, const char *dir, const kl_cgroup_limits *lim,
                           kn_error **err)
{
    char v[32];
    if (h->cpu) {
        if (lim->cpu_shares > 0 && (snprintf(v, sizeof(v), "%lld", (long long)lim->cpu_shares),
                                    write_file(dir, "cpu.shares", v, err) < 0))
            return -1;
        if (lim->cpu_period_us > 0 &&
            (snprintf(v, sizeof(v), "%lld", (long long)lim->cpu_period_us),
             write_file(dir, "cpu.cfs_period_us", v, err) < 0))
            return -1;
        if (lim->cpu_quota_us != 0 && (snprintf(v, sizeof(v), "%lld", (long long)lim->cpu_quota_us),
                                       write_file(dir, "cpu.cfs_quota_us", v, err) < 0))
            return -1;
    }
    if (h->memory && lim->memory_limit > 0) {
        snprintf(v, sizeof(v), "%lld", (long long)lim->memory_limit);
        if (write_file(dir, "memory.limit_in_bytes", v, err) < 0)
            return -1;
    }
    return 0;
}

static int write_limits_v2(const char *dir, const kl_cgroup_limits *lim, kn_error **err)
{
    char v[64];
    if (lim->cpu_shares > 0) {
        snprintf(v, sizeof(v), "%lld", (long long)kl_shares_to_weight(lim->cpu_shares));
        if (write_file(dir, "cpu.weight", v, err) < 0)
            return -1;
    }
    if (lim->cpu_quota_us != 0 || lim->cpu_period_us > 0) {
        long long period = lim->cpu_period_us > 0 ? lim->cpu_period_us : 100000;
        if (lim->cpu_quota_us > 0)
            snprintf(v, sizeof(v), "%lld %lld", (long long)lim->cpu_quota_us, period);
        else
            snprintf(v, sizeof(v), "max %lld", period);
        if (write_file(dir, "cpu.max", v, err) < 0)
            return -1;
    }
    if (lim->memory_limit > 0) {
        snprintf(v, sizeof(v), "%lld", (long long)lim->memory_limit);
        if (write_file(dir, "memory.max", v, err) < 0)
            return -1;
    }
    return 0;
}

int kl_cgroups_ensure(kl_cgroups *cg, const char *path, const kl_cgroup_limits *lim, kn_error **err)
{
    for (size_t i = 0; i < cg->n; i++) {
        const hier *h = &cg->h[i];
        if (mkdir_p(h, cg->v2, path, err) < 0)
            return kn_error_wrap(err, "create cgroup %s", path);
        if (!lim)
            continue;
        cleanup_free char *dir = xasprintf("%s%s", h->mount, path);
        int rc = cg->v2 ? write_limits_v2(dir, lim, err) : write_limits_v1(h, dir, lim, err);
        if (rc < 0)
            return kn_error_wrap(err, "set limits of cgroup %s", path);
    }
    return 0;
}

int kl_cgroups_ensure_qos(kl_cgroups *cg, const char *root, kn_error **err)
{
    cleanup_free char *top = kl_cgroup_qos_name(root, KL_QOS_GUARANTEED);
    cleanup_free char *bu = kl_cgroup_qos_name(root, KL_QOS_BURSTABLE);
    cleanup_free char *be = kl_cgroup_qos_name(root, KL_QOS_BEST_EFFORT);
    kl_cgroup_limits be_lim = {.cpu_shares = KL_MIN_SHARES};
    if (kl_cgroups_ensure(cg, top, NULL, err) < 0 || kl_cgroups_ensure(cg, bu, NULL, err) < 0 ||
        kl_cgroups_ensure(cg, be, &be_lim, err) < 0)
        return -1;
    return 0;
}

bool kl_cgroups_exists(const kl_cgroups *cg, const char *path)
{
    cleanup_free char *dir = xasprintf("%s%s", cg->h[0].mount, path);
    struct stat st;
    return stat(dir, &st) == 0 && S_ISDIR(st.st_mode);
}

/* ---- removal ----------------------------------------------------------------------------- */

/* Sends SIGKILL to every process listed in dir/cgroup.procs; returns how many. */
static int kill_procs(const char *dir)
{
    cleanup_free char *path = xasprintf("%s/cgroup.procs", dir);
    cleanup_file FILE *f = fopen(path, "r");
    int n = 0;
    long pid;
    while (f && fscanf(f, "%ld", &pid) == 1)
        if (pid > 1 && kill((pid_t)pid, SIGKILL) == 0)
            n++;
    return n;
}

/* Removes dir and its child cgroups bottom-up; kills what is inside. */
static int remove_tree(const char *dir, int depth)
{
    if (depth > 16)
        return -ELOOP;
    DIR *d = opendir(dir);
    if (!d)
        return errno == ENOENT ? 0 : -errno;
    int rc = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_type != DT_DIR || e->d_name[0] == '.')
            continue;
        cleanup_free char *sub = xasprintf("%s/%s", dir, e->d_name);
        int r = remove_tree(sub, depth + 1);
        if (r < 0 && !rc)
            rc = r;
    }
    closedir(d);
    for (int attempt = 0; attempt < 50; attempt++) {
        if (rmdir(dir) == 0 || errno == ENOENT)
            return rc;
        if (errno != EBUSY)
            return -errno;
        /* killed tasks leave the cgroup only once they have exited */
        kill_procs(dir);
        usleep(20 * 1000);
    }
    return -EBUSY;
}

int kl_cgroups_remove(kl_cgroups *cg, const char *path, kn_error **err)
{
    int failed = 0;
    for (size_t i = 0; i < cg->n; i++) {
        cleanup_free char *dir = xasprintf("%s%s", cg->h[i].mount, path);
        int rc = remove_tree(dir, 0);
        if (rc < 0 && !failed++)
            kn_error_errno(err, -rc, "remove cgroup %s", dir);
    }
    return failed ? -KN_EIO : 0;
}

void kl_cgroups_list_pods(const kl_cgroups *cg, const char *root,
                          void (*fn)(const char *uid, const char *path, void *arg), void *arg)
{
    static const kl_qos_class classes[] = {KL_QOS_GUARANTEED, KL_QOS_BURSTABLE, KL_QOS_BEST_EFFORT};
    for (size_t c = 0; c < KN_ARRAY_SIZE(classes); c++) {
        cleanup_free char *parent = kl_cgroup_qos_name(root, classes[c]);
        cleanup_free char *dir = xasprintf("%s%s", cg->h[0].mount, parent);
        DIR *d = opendir(dir);
        if (!d)
            continue;
        struct dirent *e;
        while ((e = readdir(d))) {
            if (e->d_type != DT_DIR || strncmp(e->d_name, "pod", 3) != 0 || !e->d_name[3])
                continue;
            cleanup_free char *path = xasprintf("%s/%s", parent, e->d_name);
            fn(e->d_name + 3, path, arg);
        }
        closedir(d);
    }
}

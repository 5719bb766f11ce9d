/* sync.c - pod sync, kill, removal and GC through CRI (see sync.h). */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cri/image.h"
#include "cri/msg.h"
#include "cri/runtime.h"
#include "kubelet/actions.h"
#include "kubelet/containers.h"
#include "kubelet/dns.h"
#include "kubelet/sandbox.h"
#include "kubelet/sync.h"
#include "kubelet/volumes.h"
#include "lib/cleanup.h"
#include "lib/duration.h"
#include "lib/log.h"
#include "lib/xalloc.h"

#define COMPONENT "kubelet"

void kl_pod_sync_state_clear(kl_pod_sync_state *ps)
{
    kl_reasons_clear(&ps->reasons);
    ps->backoff_wait_ns = 0;
}

static char *pod_desc(const kl_pod *pod)
{
    return xasprintf("%s_%s(%s)", pod->name, pod->namespace_, pod->uid);
}

/* Records a failure for container and returns it as an error. */
static int fail(kl_pod_sync_state *ps, const char *container, const char *reason,
                const char *message, kn_error **err)
{
    kl_reasons_set(&ps->reasons, container, reason, message);
    return kn_error_set(err, KN_EUNAVAILABLE, "%s: %s", reason, message);
}

/* ---- killing ----------------------------------------------------------------------------- */

typedef struct stop_job {
    const kl_syncer *s;
    const kl_rt_container *c;
    int64_t grace;
    kn_error *err;
    pthread_t thread;
    bool started;
} stop_job;

static void *stop_run(void *arg)
{
    stop_job *j = arg;
    KN_V(2, COMPONENT, "stopping container %s (%.12s) with grace %llds", j->c->name, j->c->id,
         (long long)j->grace);
    if (cri_runtime_stop_container(j->s->conn, j->c->id, j->grace, &j->err) < 0 &&
        kn_error_code(j->err) == KN_ENOTFOUND)
        kn_error_free(&j->err); /* already gone */
    return NULL;
}

static int64_t grace_for(const kl_pod *pod, const kl_rt_container *c, int64_t override)
{
    int64_t g = pod ? kl_pod_grace_period(pod) : c->pod_grace_s >= 0 ? c->pod_grace_s : 30;
    if (g < KL_MIN_GRACE_S)
        g = KL_MIN_GRACE_S;
    return override >= 0 ? override : g;
}

/* Stops containers in parallel; returns the first error. */
static int stop_containers(const kl_syncer *s, const kl_pod *pod, const kl_rt_container **cs,
                           size_t n, int64_t override, kn_error **err)
{
    stop_job *jobs = xcalloc(n + 1, sizeof(stop_job));
    for (size_t i = 0; i < n; i++) {
        jobs[i] = (stop_job){.s = s, .c = cs[i], .grace = grace_for(pod, cs[i], override)};
        if (n > 1)
            jobs[i].started = pthread_create(&jobs[i].thread, NULL, stop_run, &jobs[i]) == 0;
        if (!jobs[i].started)
            stop_run(&jobs[i]);
    }
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        if (jobs[i].started)
            pthread_join(jobs[i].thread, NULL);
        if (jobs[i].err && rc == 0) {
            rc = -kn_error_code(jobs[i].err);
            *err = jobs[i].err;
            jobs[i].err = NULL;
        }
        kn_error_free(&jobs[i].err);
    }
    free(jobs);
    return rc;
}

int kl_kill_pod(const kl_syncer *s, const kl_pod *pod, const kl_pod_runtime *rt,
                int64_t grace_override, kn_error **err)
{
    if (!rt)
        return 0;
    const kl_rt_container **running = xcalloc(rt->n_containers + 1, sizeof(*running));
    size_t n = 0;
    for (size_t i = 0; i < rt->n_containers; i++)
        if (rt->containers[i].state == KL_CS_RUNNING || rt->containers[i].state == KL_CS_UNKNOWN)
            running[n++] = &rt->containers[i];
    int rc = stop_containers(s, pod, running, n, grace_override, err);
    free(running);
    for (size_t i = 0; rc == 0 && i < rt->n_sandboxes; i++) {
        if (!rt->sandboxes[i].ready)
            continue;
        if (cri_runtime_stop_sandbox(s->conn, rt->sandboxes[i].id, err) < 0)
            rc = kn_error_wrap(err, "stop sandbox %.12s", rt->sandboxes[i].id);
    }
    return rc;
}

/* ---- removal and GC ----------------------------------------------------------------------- */

static int remove_container(const kl_syncer *s, const kl_rt_container *c, kn_error **err)
{
    if (cri_runtime_remove_container(s->conn, c->id, err) < 0) {
        if (kn_error_code(*err) != KN_ENOTFOUND)
            return -1;
        kn_error_free(err);
    }
    if (c->log_path && *c->log_path && unlink(c->log_path) < 0 && errno != ENOENT)
        KN_V(2, COMPONENT, "remove log %s: %s", c->log_path, strerror(errno));
    return 0;
}

static int remove_sandbox(const kl_syncer *s, const char *id, kn_error **err)
{
    if (cri_runtime_remove_sandbox(s->conn, id, err) < 0) {
        if (kn_error_code(*err) != KN_ENOTFOUND)
            return -1;
        kn_error_free(err);
    }
    return 0;
}

static int remove_pod_cgroup(const kl_syncer *s, const kl_pod *pod, const char *uid, kn_error **err)
{
    if (!s->cgroups || !s->nc->cgroups_per_qos)
        return 0;
    static const kl_qos_class all[] = {KL_QOS_GUARANTEED, KL_QOS_BURSTABLE, KL_QOS_BEST_EFFORT};
    for (size_t i = 0; i < KN_ARRAY_SIZE(all); i++) {
        if (pod && pod->qos != all[i])
            continue;
        cleanup_free char *name = kl_cgroup_pod_name(s->nc->cgroup_root, all[i], uid);
        if (kl_cgroups_exists(s->cgroups, name) && kl_cgroups_remove(s->cgroups, name, err) < 0)
            return -1;
    }
    return 0;
}

static void remove_log_dir(const kl_syncer *s, const kl_pod *pod, const kl_pod_runtime *rt,
                           const char *uid)
{
    const kl_rt_sandbox *sb = kl_rt_newest_sandbox(rt);
    cleanup_free char *dir = NULL;
    if (pod)
        dir = kl_pod_log_dir(s->nc, pod);
    else if (sb && *sb->name)
        dir = xasprintf("%s/%s_%s_%s", s->nc->pod_logs_dir, sb->namespace_, sb->name, uid);
    kn_error *e = NULL;
    if (dir && kl_remove_tree(dir, &e) < 0) {
        KN_WARN(COMPONENT, "remove pod log directory: %s", kn_error_msg(e));
        kn_error_free(&e);
    }
}

int kl_remove_pod(const kl_syncer *s, const kl_pod *pod, const kl_pod_runtime *rt, const char *uid,
                  kn_error **err)
{
    for (size_t i = 0; rt && i < rt->n_containers; i++)
        if (remove_container(s, &rt->containers[i], err) < 0)
            return kn_error_wrap(err, "remove container %.12s", rt->containers[i].id);
    for (size_t i = 0; rt && i < rt->n_sandboxes; i++)
        if (remove_sandbox(s, rt->sandboxes[i].id, err) < 0)
            return kn_error_wrap(err, "remove sandbox %.12s", rt->sandboxes[i].id);
    if (remove_pod_cgroup(s, pod, uid, err) < 0)
        return -1;
    if (kl_volumes_teardown(s->nc, uid, err) < 0)
        return -1;
    remove_log_dir(s, pod, rt, uid);
    return 0;
}

static bool sandbox_used(const kl_pod_runtime *rt, const char *id, const bool *removed)
{
    for (size_t i = 0; i < rt->n_containers; i++)
        if (!removed[i] && strcmp(rt->containers[i].sandbox_id, id) == 0)
            return true;
    return false;
}

size_t kl_gc_pod(const kl_syncer *s, const kl_pod_runtime *rt)
{
    if (!rt)
        return 0;
    size_t n = 0;
    bool *removed = xcalloc(rt->n_containers + 1, sizeof(bool));
    for (size_t i = 0; i < rt->n_containers; i++) {
        const kl_rt_container *c = &rt->containers[i];
        if (c->state == KL_CS_RUNNING)
            continue;
        /* keep the newest non-running container of each name */
        bool newer = false;
        for (size_t k = 0; k < i && !newer; k++)
            newer = rt->containers[k].state != KL_CS_RUNNING &&
                    strcmp(rt->containers[k].name, c->name) == 0;
        kn_error *e = NULL;
        if (!newer)
            continue;
        if (remove_container(s, c, &e) == 0) {
            removed[i] = true;
            n++;
        }
        kn_error_free(&e);
    }
    for (size_t i = 1; i < rt->n_sandboxes; i++) {
        const kl_rt_sandbox *sb = &rt->sandboxes[i];
        kn_error *e = NULL;
        if (!sb->ready && !sandbox_used(rt, sb->id, removed) && remove_sandbox(s, sb->id, &e) == 0)
            n++;
        kn_error_free(&e);
    }
    free(removed);
    return n;
}

int kl_restart_count_from_logs(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    int max = -1;
    struct dirent *e;
    while ((e = readdir(d))) {
        char *end = NULL;
        long v = strtol(e->d_name, &end, 10);
        if (end != e->d_name && strncmp(end, ".log", 4) == 0 && v >= 0 && v < 1000000 && v > max)
            max = (int)v;
    }
    closedir(d);
    return max + 1;
}

/* ---- images ------------------------------------------------------------------------------ */

typedef struct image_info {
    char *ref;      /* the image ID to run */
    kl_opt_i64 uid; /* the image's user */
    char *user;
} image_info;

static void image_info_clear(image_info *ii)
{
    free(ii->ref);
    free(ii->user);
    memset(ii, 0, sizeof(*ii));
}

/* ImageStatus: 1 and *ii when present, 0 when absent, < 0 on error. */
static int image_present(const kl_syncer *s, const char *image, image_info *ii, kn_error **err)
{
    Runtime__V1__ImageSpec spec = RUNTIME__V1__IMAGE_SPEC__INIT;
    spec.image = (char *)image;
    Runtime__V1__ImageStatusResponse *st = NULL;
    if (cri_image_status(s->conn, &spec, false, &st, err) < 0)
        return -1;
    int present = st->image != NULL;
    if (present) {
        ii->ref = xstrdup(st->image->id);
        if (st->image->uid)
            ii->uid = (kl_opt_i64){true, st->image->uid->value};
        else if (st->image->username && *st->image->username)
            ii->user = xstrdup(st->image->username);
        else
            ii->uid = (kl_opt_i64){true, 0}; /* neither set: root */
    }
    cri_msg_free(st);
    return present;
}

static int pull(const kl_syncer *s, const kl_pod *pod, const kl_container *c, const char *image,
                const Runtime__V1__PodSandboxConfig *sbc, kl_pod_sync_state *ps, kn_error **err)
{
    cleanup_free char *key = xasprintf("%s_%s", pod->uid, c->image);
    int64_t now = kn_clock_now(s->clock);
    if (kn_backoff_tracker_is_in_backoff_since_update(s->image_backoff, key, now)) {
        cleanup_free char *msg = xasprintf("Back-off pulling image \"%s\"", c->image);
        return fail(ps, c->name, KL_REASON_IMAGE_PULL_BACKOFF, msg, err);
    }
    KN_INFO(COMPONENT, "pod %s/%s: pulling image \"%s\"", pod->namespace_, pod->name, c->image);
    Runtime__V1__ImageSpec spec = RUNTIME__V1__IMAGE_SPEC__INIT;
    spec.image = (char *)image;
    char *ref = NULL;
    kn_error *e = NULL;
    if (cri_image_pull(s->conn, &spec, NULL, sbc, 0, &ref, &e) < 0) {
        kn_backoff_tracker_next(s->image_backoff, key, kn_clock_now(s->clock));
        cleanup_free char *msg = xstrdup(kn_error_msg(e));
        kn_error_free(&e);
        return fail(ps, c->name, KL_REASON_IMAGE_PULL, msg, err);
    }
    free(ref);
    kn_backoff_tracker_gc(s->image_backoff);
    return 0;
}

/* upstream EnsureImageExists. */
static int ensure_image(const kl_syncer *s, const kl_pod *pod, const kl_container *c,
                        const Runtime__V1__PodSandboxConfig *sbc, kl_pod_sync_state *ps,
                        image_info *ii, kn_error **err)
{
    cleanup_free char *image = kl_image_with_default_tag(c->image);
    if (!image) {
        cleanup_free char *msg = xasprintf("Failed to apply default image tag \"%s\": couldn't "
                                           "parse image name \"%s\": invalid reference format",
                                           c->image, c->image);
        return fail(ps, c->name, KL_REASON_INVALID_IMAGE, msg, err);
    }
    kn_error *e = NULL;
    int present = image_present(s, image, ii, &e);
    if (present < 0) {
        cleanup_free char *msg =
            xasprintf("Failed to inspect image \"%s\": %s", c->image, kn_error_msg(e));
        kn_error_free(&e);
        return fail(ps, c->name, KL_REASON_IMAGE_INSPECT, msg, err);
    }
    bool want_pull =
        c->pull_policy == KL_PULL_ALWAYS || (c->pull_policy == KL_PULL_IF_NOT_PRESENT && !present);
    if (!want_pull) {
        if (present)
            return 0;
        cleanup_free char *msg = xasprintf("Container image \"%s\" is not present with pull "
                                           "policy of Never",
                                           c->image);
        return fail(ps, c->name, KL_REASON_IMAGE_NEVER_PULL, msg, err);
    }
    image_info_clear(ii);
    if (pull(s, pod, c, image, sbc, ps, err) < 0)
        return -1;
    if (image_present(s, image, ii, &e) <= 0) {
        cleanup_free char *msg = xasprintf("Failed to inspect image \"%s\": %s", c->image,
                                           e ? kn_error_msg(e) : "not present after the pull");
        kn_error_free(&e);
        return fail(ps, c->name, KL_REASON_IMAGE_INSPECT, msg, err);
    }
    return 0;
}

/* ---- starting containers ----------------------------------------------------------------------
 */

typedef struct start_ctx {
    const kl_syncer *s;
    const kl_pod *pod;
    const kl_pod_runtime *rt;
    const char *sandbox_id;
    const Runtime__V1__PodSandboxConfig *sbc;
    const char *const *pod_ips;
    const char *etc_hosts;
    kl_pod_sync_state *ps;
} start_ctx;

/* upstream doBackOff: 1 when the container must wait (recorded), else 0. */
static int crash_backoff(const start_ctx *sc, const kl_container *c, kn_error **err)
{
    const kl_rt_container *prev = NULL;
    for (size_t i = 0; sc->rt && i < sc->rt->n_containers && !prev; i++)
        if (strcmp(sc->rt->containers[i].name, c->name) == 0 &&
            sc->rt->containers[i].state == KL_CS_EXITED)
            prev = &sc->rt->containers[i];
    if (!prev)
        return 0;
    cleanup_free char *key = xasprintf("%s_%s_%s_%s_%x", sc->pod->name, sc->pod->namespace_,
                                       sc->pod->uid, c->name, c->hash);
    kn_backoff_tracker *t = sc->s->crash_backoff;
    if (!kn_backoff_tracker_is_in_backoff_since(t, key, prev->finished_at)) {
        kn_backoff_tracker_next(t, key, prev->finished_at);
        return 0;
    }
    int64_t bo = kn_backoff_tracker_get(t, key);
    int64_t left = bo - (kn_clock_now(sc->s->clock) - prev->finished_at);
    if (left > 0 && (sc->ps->backoff_wait_ns == 0 || left < sc->ps->backoff_wait_ns))
        sc->ps->backoff_wait_ns = left;
    char d[32];
    cleanup_free char *desc = pod_desc(sc->pod);
    cleanup_free char *msg = xasprintf("back-off %s restarting failed container=%s pod=%s",
                                       kn_duration_format(bo, d, sizeof(d)), c->name, desc);
    fail(sc->ps, c->name, KL_REASON_CRASH_LOOP, msg, err);
    return 1;
}

static int restart_count(const start_ctx *sc, const kl_container *c)
{
    const kl_rt_container *prev = kl_rt_find(sc->rt, c->name);
    if (prev)
        return prev->restart_count + 1;
    cleanup_free char *logs = kl_pod_log_dir(sc->s->nc, sc->pod);
    cleanup_free char *dir = xasprintf("%s/%s", logs, c->name);
    return kl_restart_count_from_logs(dir);
}

static int create_and_start(const start_ctx *sc, const kl_container *c, const image_info *ii,
                            kn_error **err)
{
    cleanup_free char *tlog = NULL;
    kn_error *e = NULL;
    if (kl_termination_log_create(sc->s->nc, sc->pod, c->name, &tlog, &e) < 0) {
        cleanup_free char *msg = xstrdup(kn_error_msg(e));
        kn_error_free(&e);
        return fail(sc->ps, c->name, KL_REASON_CONFIG, msg, err);
    }
    kl_container_ctx ctx = {.nc = sc->s->nc,
                            .pod_ips = sc->pod_ips,
                            .image_ref = ii->ref,
                            .restart_count = restart_count(sc, c),
                            .image_uid = ii->uid,
                            .image_user = ii->user,
                            .etc_hosts_path = sc->etc_hosts,
                            .termination_log = tlog};
    Runtime__V1__ContainerConfig *cfg = NULL;
    if (kl_container_config(sc->pod, c, &ctx, &cfg, &e) < 0) {
        cleanup_free char *msg = xstrdup(kn_error_msg(e));
        kn_error_free(&e);
        return fail(sc->ps, c->name, KL_REASON_CONFIG, msg, err);
    }
    char *id = NULL;
    int rc = cri_runtime_create_container(sc->s->conn, sc->sandbox_id, cfg, sc->sbc, &id, &e);
    cri_msg_free(cfg);
    const char *reason = KL_REASON_CREATE;
    if (rc == 0) {
        reason = KL_REASON_RUN;
        rc = cri_runtime_start_container(sc->s->conn, id, &e);
    }
    free(id);
    if (rc < 0) {
        cleanup_free char *msg = xstrdup(kn_error_msg(e));
        kn_error_free(&e);
        return fail(sc->ps, c->name, reason, msg, err);
    }
    KN_V(1, COMPONENT, "pod %s/%s: started container %s (restart %d)", sc->pod->namespace_,
         sc->pod->name, c->name, ctx.restart_count);
    kl_reasons_remove(&sc->ps->reasons, c->name);
    return 0;
}

static int start_container(const start_ctx *sc, const kl_container *c, kn_error **err)
{
    if (c->unsupported)
        return fail(sc->ps, c->name, KL_REASON_CONFIG, c->unsupported, err);
    int b = crash_backoff(sc, c, err);
    if (b != 0)
        return -1;
    image_info ii = {0};
    int rc = ensure_image(sc->s, sc->pod, c, sc->sbc, sc->ps, &ii, err);
    if (rc == 0)
        rc = create_and_start(sc, c, &ii, err);
    image_info_clear(&ii);
    return rc;
}

/* ---- the sync ---------------------------------------------------------------------------------
 */

/* Records reason/message for every container that has not run. */
static int fail_all(kl_pod_sync_state *ps, const kl_pod *pod, const kl_pod_runtime *rt,
                    const char *reason, const char *message, kn_error **err)
{
    for (size_t i = 0; i < pod->n_init_containers; i++)
        kl_reasons_set(&ps->reasons, pod->init_containers[i].name, reason, message);
    for (size_t i = 0; i < pod->n_containers; i++)
        if (!kl_rt_find(rt, pod->containers[i].name))
            kl_reasons_set(&ps->reasons, pod->containers[i].name, reason, message);
    return kn_error_set(err, KN_EUNAVAILABLE, "%s: %s", reason, message);
}

static int prepare_pod(const kl_syncer *s, const kl_pod *pod, const kl_pod_runtime *rt,
                       kl_pod_sync_state *ps, kn_error **err)
{
    kn_error *e = NULL;
    if (s->cgroups && s->nc->cgroups_per_qos) {
        cleanup_free char *cg = kl_cgroup_pod_name(s->nc->cgroup_root, pod->qos, pod->uid);
        kl_cgroup_limits lim;
        kl_pod_cgroup_limits(pod, s->nc, &lim);
        if (kl_cgroups_ensure(s->cgroups, cg, &lim, &e) < 0) {
            cleanup_free char *msg = xstrdup(kn_error_msg(e));
            kn_error_free(&e);
            return fail_all(ps, pod, rt, KL_REASON_CREATING, msg, err);
        }
    }
    if (kl_volumes_setup(s->nc, pod, &e) < 0) {
        cleanup_free char *msg = xstrdup(kn_error_msg(e));
        kn_error_free(&e);
        return fail_all(ps, pod, rt, KL_REASON_CREATING, msg, err);
    }
    return 0;
}

static int make_sandbox_config(const kl_syncer *s, const kl_pod *pod, uint32_t attempt,
                               Runtime__V1__PodSandboxConfig **cfg, kn_error **err)
{
    kl_dns_config host = {0};
    int rc = kl_resolv_conf_load(s->nc->resolv_conf, &host, err);
    if (rc == 0)
        rc = kl_sandbox_config(pod, s->nc, &host, attempt, cfg, err);
    kl_dns_config_clear(&host);
    return rc;
}

/* Runs a new sandbox; *id and *ip are owned by the caller. */
static int run_sandbox(const kl_syncer *s, const kl_pod *pod,
                       const Runtime__V1__PodSandboxConfig *cfg, char **id, char **ip,
                       kn_error **err)
{
    if (mkdir(cfg->log_directory, 0755) < 0 && errno != EEXIST) {
        cleanup_free char *parent = xstrdup(cfg->log_directory);
        *strrchr(parent, '/') = '\0';
        if ((mkdir(parent, 0755) < 0 && errno != EEXIST) ||
            (mkdir(cfg->log_directory, 0755) < 0 && errno != EEXIST))
            return kn_error_errno(err, errno, "create pod log directory %s", cfg->log_directory);
    }
    if (cri_runtime_run_sandbox(s->conn, cfg, s->nc->runtime_handler, id, err) < 0)
        return -1;
    KN_INFO(COMPONENT, "pod %s/%s: sandbox %.12s created (attempt %u)", pod->namespace_, pod->name,
            *id, cfg->metadata->attempt);
    Runtime__V1__PodSandboxStatusResponse *st = NULL;
    if (cri_runtime_sandbox_status(s->conn, *id, false, &st, err) < 0)
        return -1;
    *ip = xstrdup(st->status->network ? st->status->network->ip : "");
    cri_msg_free(st);
    return 0;
}

typedef struct sandbox_ref {
    char *id;
    char *ip;
    Runtime__V1__PodSandboxConfig *cfg;
} sandbox_ref;

static void sandbox_ref_clear(sandbox_ref *r)
{
    free(r->id);
    free(r->ip);
    cri_msg_free(r->cfg);
}

/* The sandbox to start containers in: a new one or the newest. */
static int sandbox_for(const kl_syncer *s, const kl_pod *pod, const kl_pod_runtime *rt,
                       const kl_pod_actions *a, kl_pod_sync_state *ps, sandbox_ref *ref,
                       kn_error **err)
{
    kn_error *e = NULL;
    if (make_sandbox_config(s, pod, a->attempt, &ref->cfg, &e) < 0 ||
        (a->create_sandbox && run_sandbox(s, pod, ref->cfg, &ref->id, &ref->ip, &e) < 0)) {
        cleanup_free char *msg = xasprintf("Failed to create pod sandbox: %s", kn_error_msg(e));
        kn_error_free(&e);
        return fail_all(ps, pod, rt, KL_REASON_CREATING, msg, err);
    }
    if (!a->create_sandbox) {
        const kl_rt_sandbox *sb = kl_rt_newest_sandbox(rt);
        ref->id = xstrdup(a->sandbox_id);
        ref->ip = xstrdup(sb ? sb->ip : "");
    }
    return 0;
}

static int kill_listed(const kl_syncer *s, const kl_pod *pod, const kl_pod_actions *a,
                       kn_error **err)
{
    const kl_rt_container **cs = xcalloc(a->n_kill + 1, sizeof(*cs));
    for (size_t i = 0; i < a->n_kill; i++) {
        cs[i] = a->kill[i].c;
        KN_INFO(COMPONENT, "pod %s/%s: killing container %s: %s", pod->namespace_, pod->name,
                a->kill[i].c->name, a->kill[i].message);
    }
    int rc = stop_containers(s, pod, cs, a->n_kill, -1, err);
    free(cs);
    return rc;
}

static int start_planned(const start_ctx *sc, const kl_pod_actions *a, kn_error **err)
{
    if (a->next_init >= 0)
        return start_container(sc, &sc->pod->init_containers[a->next_init], err);
    int rc = 0;
    for (size_t i = 0; i < a->n_start; i++) {
        kn_error *e = NULL;
        if (start_container(sc, &sc->pod->containers[a->start[i]], &e) < 0 && rc == 0) {
            rc = -kn_error_code(e);
            *err = e;
            e = NULL;
        }
        kn_error_free(&e);
    }
    return rc;
}

static int run_actions(const kl_syncer *s, const kl_pod *pod, const kl_pod_runtime *rt,
                       const kl_pod_actions *a, kl_pod_sync_state *ps, kn_error **err)
{
    sandbox_ref ref = {0};
    int rc = sandbox_for(s, pod, rt, a, ps, &ref, err);
    cleanup_free char *etc_hosts = NULL;
    kn_error *e = NULL;
    if (rc == 0 && kl_etc_hosts_write(s->nc, pod, ref.ip, &etc_hosts, &e) < 0) {
        cleanup_free char *msg = xstrdup(kn_error_msg(e));
        kn_error_free(&e);
        rc = fail_all(ps, pod, rt, KL_REASON_CREATING, msg, err);
    }
    if (rc == 0) {
        const char *ips_buf[KL_MAX_NODE_IPS + 2] = {0};
        if (pod->host_network)
            for (int i = 0; i < KL_MAX_NODE_IPS; i++)
                ips_buf[i] = s->nc->node_ips[i];
        else
            ips_buf[0] = *ref.ip ? ref.ip : NULL;
        start_ctx sc = {s, pod, rt, ref.id, ref.cfg, ips_buf, etc_hosts, ps};
        rc = start_planned(&sc, a, err);
    }
    sandbox_ref_clear(&ref);
    return rc;
}

int kl_sync_pod(const kl_syncer *s, const kl_pod *pod, const kl_pod_runtime *rt,
                kl_pod_sync_state *ps, bool *changed, kn_error **err)
{
    ps->backoff_wait_ns = 0;
    *changed = false;
    if (pod->unsupported)
        return fail_all(ps, pod, rt, KL_REASON_CONFIG, pod->unsupported, err);
    if (prepare_pod(s, pod, rt, ps, err) < 0)
        return -1;
    kl_pod_actions a;
    kl_compute_pod_actions(pod, rt, &a);
    int rc = 0;
    if (a.kill_pod) {
        *changed |= kl_rt_running(rt) > 0;
        rc = kl_kill_pod(s, pod, rt, -1, err);
    } else if (a.n_kill) {
        *changed = true;
        rc = kill_listed(s, pod, &a, err);
    }
    bool act = a.create_sandbox || a.next_init >= 0 || a.n_start > 0;
    if (rc == 0 && act && (!a.kill_pod || a.create_sandbox)) {
        *changed = true;
        rc = run_actions(s, pod, rt, &a, ps, err);
    }
    kl_pod_actions_clear(&a);
    return rc;
}

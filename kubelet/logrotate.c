/* logrotate.c - container log rotation (see logrotate.h). */
#include "kubelet/logrotate.h"

#include <errno.h>
#include <glob.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cri/msg.h"
#include "cri/runtime.h"
#include "lib/clock.h"
#include "lib/log.h"
#include "lib/xalloc.h"

#define COMPONENT "logrotate"
#define SEC 1000000000LL

/* Removes the oldest rotated files of path so that keep remain. */
static void remove_excess(const char *path, size_t keep)
{
    char *pattern = xasprintf("%s.*", path);
    glob_t g;
    if (glob(pattern, 0, NULL, &g) == 0) {
        /* glob sorts: the timestamps sort by time */
        for (size_t i = 0; i + keep < g.gl_pathc; i++) {
            if (unlink(g.gl_pathv[i]) < 0 && errno != ENOENT)
                KN_WARN(COMPONENT, "remove %s: %s", g.gl_pathv[i], strerror(errno));
        }
        globfree(&g);
    }
    free(pattern);
}

int kl_logrotate_file(const char *path, const char *id, int max_files, int64_t now_ns,
                      kl_reopen_fn reopen, void *arg, kn_error **err)
{
    /* one file is the current log, one the file rotated now */
    remove_excess(path, max_files > 2 ? (size_t)max_files - 2 : 0);
    time_t t = (time_t)(now_ns / SEC);
    struct tm tm;
    gmtime_r(&t, &tm);
    char stamp[32];
    strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", &tm);
    char *rotated = xasprintf("%s.%s", path, stamp);
    int r = 0;
    if (rename(path, rotated) < 0) {
        r = kn_error_errno(err, errno, "rotate %s", path);
    } else if (reopen(arg, id, err) < 0) {
        /* as upstream: put it back so the runtime's open file keeps its name */
        if (rename(rotated, path) < 0)
            KN_WARN(COMPONENT, "rename %s back: %s", rotated, strerror(errno));
        r = kn_error_wrap(err, "reopen log of container %s", id);
    }
    free(rotated);
    return r;
}

static int reopen_cri(void *arg, const char *id, kn_error **err)
{
    return cri_runtime_reopen_container_log(arg, id, err);
}

/* Checks one running container. */
static void check_container(const kl_logrotate_opts *o, const char *id)
{
    Runtime__V1__ContainerStatusResponse *st = NULL;
    kn_error *err = NULL;
    if (cri_runtime_container_status(o->conn, id, false, &st, &err) < 0) {
        KN_V(2, COMPONENT, "%s", kn_error_msg(err)); /* it may have gone meanwhile */
        kn_error_free(&err);
        return;
    }
    const char *path = st->status->log_path;
    struct stat sb;
    int rc = 0;
    if (!path || !*path) {
        rc = 0;
    } else if (stat(path, &sb) < 0 && errno == ENOENT) {
        rc = cri_runtime_reopen_container_log(o->conn, id, &err); /* it was removed */
    } else if (sb.st_size > o->max_size) {
        rc =
            kl_logrotate_file(path, id, o->max_files, kn_time_wall_ns(), reopen_cri, o->conn, &err);
        if (rc == 0)
            KN_V(1, COMPONENT, "rotated %s (%lld bytes)", path, (long long)sb.st_size);
    }
    if (rc < 0)
        KN_WARN(COMPONENT, "%s", kn_error_msg(err));
    kn_error_free(&err);
    cri_msg_free(st);
}

int kl_logrotate_pass(const kl_logrotate_opts *o, kn_error **err)
{
    Runtime__V1__ContainerStateValue running = RUNTIME__V1__CONTAINER_STATE_VALUE__INIT;
    running.state = RUNTIME__V1__CONTAINER_STATE__CONTAINER_RUNNING;
    Runtime__V1__ContainerFilter filter = RUNTIME__V1__CONTAINER_FILTER__INIT;
    filter.state = &running;
    Runtime__V1__ListContainersResponse *list = NULL;
    if (cri_runtime_list_containers(o->conn, &filter, &list, err) < 0)
        return kn_error_wrap(err, "list containers for log rotation");
    for (size_t i = 0; i < list->n_containers; i++)
        check_container(o, list->containers[i]->id);
    cri_msg_free(list);
    return 0;
}

/* ---- the thread --------------------------------------------------------------------------------
 */

struct kl_logrotate {
    kl_logrotate_opts o;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cond;
    bool stop;
};

static void *rotate_main(void *arg)
{
    kl_logrotate *lr = arg;
    pthread_mutex_lock(&lr->mu);
    while (!lr->stop) {
        int64_t deadline = kn_time_monotonic_ns() + lr->o.period_ns;
        while (!lr->stop && kn_time_monotonic_ns() < deadline)
            kn_clock_wait_until(NULL, &lr->cond, &lr->mu, deadline);
        if (lr->stop)
            break;
        pthread_mutex_unlock(&lr->mu);
        kn_error *err = NULL;
        if (kl_logrotate_pass(&lr->o, &err) < 0)
            KN_WARN(COMPONENT, "%s", kn_error_msg(err));
        kn_error_free(&err);
        pthread_mutex_lock(&lr->mu);
    }
    pthread_mutex_unlock(&lr->mu);
    return NULL;
}

int kl_logrotate_start(const kl_logrotate_opts *o, kl_logrotate **out, kn_error **err)
{
    if (o->max_files != 0 && o->max_files < 2)
        return kn_error_set(err, KN_EINVAL, "--container-log-max-files must be at least 2, not %d",
                            o->max_files);
    if (o->max_size < 0)
        return kn_error_set(err, KN_EINVAL, "--container-log-max-size must not be negative");
    kl_logrotate *lr = xcalloc(1, sizeof(*lr));
    lr->o = *o;
    if (!lr->o.max_size)
        lr->o.max_size = KL_LOG_MAX_SIZE_DEFAULT;
    if (!lr->o.max_files)
        lr->o.max_files = KL_LOG_MAX_FILES_DEFAULT;
    if (lr->o.period_ns <= 0)
        lr->o.period_ns = 10 * SEC;
    pthread_mutex_init(&lr->mu, NULL);
    kn_cond_init(&lr->cond);
    if (pthread_create(&lr->thread, NULL, rotate_main, lr) != 0) {
        pthread_mutex_destroy(&lr->mu);
        pthread_cond_destroy(&lr->cond);
        free(lr);
        return kn_error_set(err, KN_EINTERNAL, "cannot start the log rotation thread");
    }
    *out = lr;
    return 0;
}

void kl_logrotate_stop(kl_logrotate *lr)
{
    if (!lr)
        return;
    pthread_mutex_lock(&lr->mu);
    lr->stop = true;
    pthread_cond_broadcast(&lr->cond);
    pthread_mutex_unlock(&lr->mu);
    pthread_join(lr->thread, NULL);
    pthread_mutex_destroy(&lr->mu);
    pthread_cond_destroy(&lr->cond);
    free(lr);
}

/* ctl-loop.c - a controller's work queue and its worker threads. */
#include <stdlib.h>
#include <string.h>

#include "controlplane/ctl-internal.h"
#include "lib/duration.h"
#include "lib/log.h"
#include "lib/xalloc.h"

void kn_ctl_loop_init(kn_ctl_loop *l, kn_ctl_ctx *ctx, const char *name, kn_ctl_sync_fn sync,
                      void *ud, const kn_workqueue_opts *opts)
{
    memset(l, 0, sizeof(*l));
    l->name = name;
    l->ctx = ctx;
    l->sync = sync;
    l->ud = ud;
    l->queue = kn_workqueue_new(opts);
}

/* Conflicts and vanished objects are the normal races of controllers. */
static void log_failure(const kn_ctl_loop *l, const char *key, const kn_error *err)
{
    kn_errcode c = kn_error_code(err);
    if (c == KN_ECONFLICT || c == KN_ENOTFOUND || c == KN_EEXIST)
        KN_V(2, "controller", "%s: sync %s: %s; retrying", l->name, key, kn_error_msg(err));
    else
        KN_WARN("controller", "%s: sync %s: %s; retrying", l->name, key, kn_error_msg(err));
}

static void *worker(void *arg)
{
    kn_ctl_loop *l = arg;
    char *key;
    while (kn_workqueue_get(l->queue, &key)) {
        if (l->ctx && !atomic_load(&l->ctx->leading)) { /* another instance leads */
            kn_workqueue_add_after(l->queue, key, KN_NSEC_PER_SEC);
            kn_workqueue_done(l->queue, key);
            free(key);
            continue;
        }
        kn_error *err = NULL;
        int r = l->sync(l->ud, key, &err);
        if (r < 0)
            log_failure(l, key, err);
        if (r != 0) {
            kn_workqueue_add_rate_limited(l->queue, key);
        } else {
            kn_workqueue_forget(l->queue, key);
        }
        kn_error_free(&err);
        kn_workqueue_done(l->queue, key);
        free(key);
    }
    return NULL;
}

int kn_ctl_loop_start(kn_ctl_loop *l, int workers, kn_error **err)
{
    if (workers > KN_CTL_MAX_WORKERS)
        workers = KN_CTL_MAX_WORKERS;
    for (int i = 0; i < workers; i++) {
        int rc = pthread_create(&l->threads[i], NULL, worker, l);
        if (rc != 0) {
            kn_ctl_loop_stop(l);
            return kn_error_errno(err, rc, "%s: start worker", l->name);
        }
        l->nthreads++;
    }
    return 0;
}

void kn_ctl_loop_stop(kn_ctl_loop *l)
{
    if (!l->queue)
        return;
    kn_workqueue_shutdown(l->queue);
    for (int i = 0; i < l->nthreads; i++)
        pthread_join(l->threads[i], NULL);
    l->nthreads = 0;
}

void kn_ctl_loop_destroy(kn_ctl_loop *l)
{
    kn_ctl_loop_stop(l);
    kn_workqueue_free(l->queue);
    l->queue = NULL;
}

void kn_ctl_enqueue(kn_ctl_loop *l, const cJSON *obj)
{
    char *key = kc_object_key(obj);
    if (key)
        kn_workqueue_add(l->queue, key);
    free(key);
}

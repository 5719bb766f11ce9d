/* pod_worker.c - per-key serialized workers on an elastic pool (see
 * pod_worker.h). */
#include <malloc.h>
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include "kubelet/pod_worker.h"
#include "lib/log.h"
#include "lib/workqueue.h"
#include "lib/xalloc.h"

#define DEFAULT_MAX_THREADS 512
#define STACK_SIZE (1024 * 1024)
#define KEEP_IDLE 2 /* idle threads kept; more exit when they find no work */

struct kl_pod_workers {
    kl_work_fn fn;
    void *arg;
    kn_workqueue *q;
    pthread_mutex_t mu;
    pthread_cond_t exited; /* signalled when a thread ends */
    size_t nthreads, busy, max;
};

static void *worker_main(void *arg);

/* Starts one more (detached) thread; called with w->mu held. */
static void spawn(kl_pod_workers *w)
{
    if (w->nthreads >= w->max)
        return;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, STACK_SIZE);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_t t;
    if (pthread_create(&t, &attr, worker_main, w) == 0)
        w->nthreads++;
    else
        KN_WARN("kubelet", "cannot start a pod worker thread (%zu running)", w->nthreads);
    pthread_attr_destroy(&attr);
}

/* After an item: true when this thread should end, because more than
 * KEEP_IDLE threads (itself included) would wait for work while none is
 * queued. A burst of pods grows the pool; this shrinks it back, so that
 * the stacks the burst touched are released (glibc unmaps or advises away
 * an ended thread's stack). Called with w->mu held. */
static bool surplus(kl_pod_workers *w)
{
    return w->nthreads - w->busy > KEEP_IDLE && kn_workqueue_len(w->q) == 0;
}

static void *worker_main(void *arg)
{
    kl_pod_workers *w = arg;
    char *key = NULL;
    bool stay = true;
    while (stay && kn_workqueue_get(w->q, &key)) {
        pthread_mutex_lock(&w->mu);
        if (++w->busy == w->nthreads)
            spawn(w); /* keep one thread free for the next key */
        pthread_mutex_unlock(&w->mu);
        int64_t again = w->fn(w->arg, key);
        kn_workqueue_done(w->q, key);
        if (again >= 0)
            kn_workqueue_add_after(w->q, key, again);
        free(key);
        pthread_mutex_lock(&w->mu);
        w->busy--;
        stay = !surplus(w);
        pthread_mutex_unlock(&w->mu);
    }
    pthread_mutex_lock(&w->mu);
    w->nthreads--;
    /* the last surplus thread of a burst: hand the burst's freed heap
     * memory back (glibc keeps free pages inside its arenas otherwise) */
    bool burst_over = !stay && w->busy == 0 && w->nthreads == KEEP_IDLE;
    pthread_cond_broadcast(&w->exited);
    pthread_mutex_unlock(&w->mu); /* w may be freed from here on */
    if (burst_over)
        malloc_trim(0);
    return NULL;
}

kl_pod_workers *kl_pod_workers_new(kl_work_fn fn, void *arg, int max_threads, kn_clock *clock)
{
    kl_pod_workers *w = xcalloc(1, sizeof(*w));
    w->fn = fn;
    w->arg = arg;
    w->max = max_threads > 0 ? (size_t)max_threads : DEFAULT_MAX_THREADS;
    /* no rate limit: pods are independent, and requeues carry their own delay */
    kn_workqueue_opts opts = {.clock = clock, .qps = INFINITY};
    w->q = kn_workqueue_new(&opts);
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->exited, NULL);
    pthread_mutex_lock(&w->mu);
    spawn(w);
    if (w->max > 1)
        spawn(w);
    pthread_mutex_unlock(&w->mu);
    return w;
}

void kl_pod_workers_enqueue(kl_pod_workers *w, const char *key)
{
    kn_workqueue_add(w->q, key);
}

void kl_pod_workers_enqueue_after(kl_pod_workers *w, const char *key, int64_t delay_ns)
{
    kn_workqueue_add_after(w->q, key, delay_ns);
}

size_t kl_pod_workers_threads(kl_pod_workers *w)
{
    pthread_mutex_lock(&w->mu);
    size_t n = w->nthreads;
    pthread_mutex_unlock(&w->mu);
    return n;
}

void kl_pod_workers_free(kl_pod_workers *w)
{
    if (!w)
        return;
    kn_workqueue_shutdown(w->q);
    /* running handlers finish (and may still spawn threads, which see the
     * shutdown at once); every thread ends on the shut-down queue */
    pthread_mutex_lock(&w->mu);
    while (w->nthreads > 0)
        pthread_cond_wait(&w->exited, &w->mu);
    pthread_mutex_unlock(&w->mu);
    kn_workqueue_free(w->q);
    pthread_cond_destroy(&w->exited);
    pthread_mutex_destroy(&w->mu);
    free(w);
}

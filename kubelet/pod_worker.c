/* pod_worker.c - per-key serialized workers on an elastic pool (see
 * pod_worker.h). */
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

struct kl_pod_workers {
    kl_work_fn fn;
    void *arg;
    kn_workqueue *q;
    pthread_mutex_t mu;
    pthread_t *threads;
    size_t nthreads, busy, max;
};

static void *worker_main(void *arg);

/* Starts one more thread; called with w->mu held. */
static void spawn(kl_pod_workers *w)
{
    if (w->nthreads >= w->max)
        return;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, STACK_SIZE);
    pthread_t t;
    if (pthread_create(&t, &attr, worker_main, w) == 0)
        w->threads[w->nthreads++] = t;
    else
        KN_WARN("kubelet", "cannot start a pod worker thread (%zu running)", w->nthreads);
    pthread_attr_destroy(&attr);
}

static void *worker_main(void *arg)
{
    kl_pod_workers *w = arg;
    char *key = NULL;
    while (kn_workqueue_get(w->q, &key)) {
        pthread_mutex_lock(&w->mu);
        if (++w->busy == w->nthreads)
            spawn(w); /* keep one thread free for the next key */
        pthread_mutex_unlock(&w->mu);
        int64_t again = w->fn(w->arg, key);
        pthread_mutex_lock(&w->mu);
        w->busy--;
        pthread_mutex_unlock(&w->mu);
        kn_workqueue_done(w->q, key);
        if (again >= 0)
            kn_workqueue_add_after(w->q, key, again);
        free(key);
    }
    return NULL;
}

kl_pod_workers *kl_pod_workers_new(kl_work_fn fn, void *arg, int max_threads, kn_clock *clock)
{
    kl_pod_workers *w = xcalloc(1, sizeof(*w));
    w->fn = fn;
    w->arg = arg;
    w->max = max_threads > 0 ? (size_t)max_threads : DEFAULT_MAX_THREADS;
    w->threads = xcalloc(w->max, sizeof(pthread_t));
    /* no rate limit: pods are independent, and requeues carry their own delay */
    kn_workqueue_opts opts = {.clock = clock, .qps = INFINITY};
    w->q = kn_workqueue_new(&opts);
    pthread_mutex_init(&w->mu, NULL);
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
    /* threads may still spawn others until they see the shutdown: join
     * until the count stops growing */
    for (size_t joined = 0;;) {
        pthread_mutex_lock(&w->mu);
        size_t n = w->nthreads;
        pthread_mutex_unlock(&w->mu);
        if (joined == n)
            break;
        for (; joined < n; joined++)
            pthread_join(w->threads[joined], NULL);
    }
    kn_workqueue_free(w->q);
    pthread_mutex_destroy(&w->mu);
    free(w->threads);
    free(w);
}

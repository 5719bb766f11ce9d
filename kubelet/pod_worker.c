/* pod_worker.c - per-key serialized workers on an elastic pool (see
 * pod_worker.h). */
#include <malloc.h>
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kubelet/pod_worker.h"
#include "lib/log.h"
#include "lib/workqueue.h"
#include "lib/xalloc.h"

#define DEFAULT_MAX_THREADS 512
#define STACK_SIZE (1024 * 1024)
#define KEEP_IDLE 2 /* idle threads kept; more exit when they find no work */

/* One pool thread and the stack the pool mapped for it. glibc keeps the
 * stacks it maps itself in a cache (up to 40 MiB) when their threads end,
 * each with ~20 KiB still resident, so a burst of 100 pods left 40 ended
 * stacks behind (0.8 MB); a stack of our own is unmapped once its thread
 * has been joined. */
typedef struct worker_thread {
    struct kl_pod_workers *w;
    pthread_t t;
    void *map; /* the stack with its guard page below */
    size_t map_len;
} worker_thread;

struct kl_pod_workers {
    kl_work_fn fn;
    void *arg;
    kn_workqueue *q;
    pthread_mutex_t mu;
    pthread_cond_t exited; /* signalled when a thread ends */
    size_t nthreads, busy, max;
    worker_thread *ended; /* the thread that ended last, not joined yet */
};

static void *worker_main(void *arg);

/* Joins an ended thread and unmaps its stack. NULL is fine. */
static void reap(worker_thread *wt)
{
    if (!wt)
        return;
    pthread_join(wt->t, NULL);
    munmap(wt->map, wt->map_len);
    free(wt);
}

/* A thread record with a fresh stack (guard page below), or NULL. */
static worker_thread *thread_with_stack(kl_pod_workers *w)
{
    size_t guard = (size_t)sysconf(_SC_PAGESIZE);
    void *map = mmap(NULL, STACK_SIZE + guard, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
    if (map == MAP_FAILED)
        return NULL;
    if (mprotect(map, guard, PROT_NONE) < 0) {
        munmap(map, STACK_SIZE + guard);
        return NULL;
    }
    worker_thread *wt = xcalloc(1, sizeof(*wt));
    *wt = (worker_thread){.w = w, .map = map, .map_len = STACK_SIZE + guard};
    return wt;
}

/* Starts one more thread; called with w->mu held. */
static void spawn(kl_pod_workers *w)
{
    if (w->nthreads >= w->max)
        return;
    worker_thread *wt = thread_with_stack(w);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    bool ok = wt && pthread_attr_setstack(&attr, (char *)wt->map + (wt->map_len - STACK_SIZE),
                                          STACK_SIZE) == 0;
    if (ok && pthread_create(&wt->t, &attr, worker_main, wt) == 0) {
        w->nthreads++;
    } else {
        KN_WARN("kubelet", "cannot start a pod worker thread (%zu running)", w->nthreads);
        if (wt)
            munmap(wt->map, wt->map_len);
        free(wt);
    }
    pthread_attr_destroy(&attr);
}

/* After an item: true when this thread should end, because more than
 * KEEP_IDLE threads (itself included) would wait for work while none is
 * queued. A burst of pods grows the pool; this shrinks it back, so that
 * the stacks the burst touched are released (unmapped when the thread is
 * joined, see worker_thread). Called with w->mu held. */
static bool surplus(kl_pod_workers *w)
{
    return w->nthreads - w->busy > KEEP_IDLE && kn_workqueue_len(w->q) == 0;
}

static void *worker_main(void *arg)
{
    worker_thread *self = arg;
    kl_pod_workers *w = self->w;
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
    /* each ending thread joins the one that ended before it, so one ended
     * thread at most waits to be joined (kl_pod_workers_free joins it) */
    worker_thread *prev = w->ended;
    w->ended = self;
    pthread_cond_broadcast(&w->exited);
    pthread_mutex_unlock(&w->mu); /* w may be freed from here on */
    reap(prev);
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
    reap(w->ended); /* which joined the one before it, and so on */
    kn_workqueue_free(w->q);
    pthread_cond_destroy(&w->exited);
    pthread_mutex_destroy(&w->mu);
    free(w);
}

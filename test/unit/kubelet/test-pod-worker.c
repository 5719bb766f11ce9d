/* Tests for kubelet/pod_worker: per-key serialization, keys never waiting
 * for a blocked key, requeue delays on a fake clock. Run under TSan too. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kubelet/pod_worker.h"
#include "lib/clock.h"
#include "test/runner/kt.h"

#define SEC 1000000000LL

typedef struct probe {
    pthread_mutex_t mu;
    pthread_cond_t cond;
    int active[8];     /* per key index: handlers running now */
    int max_active[8]; /* the most seen at once */
    int calls[8];
    bool release;    /* lets the blocking key return */
    int64_t again;   /* what the first call of a key returns (later calls: -1) */
    kn_clock *clock; /* when set, the time of the last call of each key */
    int64_t when[8];
} probe;

static int key_index(const char *key)
{
    return key[0] - 'a';
}

static void probe_init(probe *p)
{
    memset(p, 0, sizeof(*p));
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cond, NULL);
    p->again = -1;
}

/* Key "a" blocks until released; others return at once. */
static int64_t handler(void *arg, const char *key)
{
    probe *p = arg;
    int i = key_index(key);
    pthread_mutex_lock(&p->mu);
    p->calls[i]++;
    if (p->clock)
        p->when[i] = kn_clock_now(p->clock);
    if (++p->active[i] > p->max_active[i])
        p->max_active[i] = p->active[i];
    pthread_cond_broadcast(&p->cond);
    while (i == 0 && !p->release)
        pthread_cond_wait(&p->cond, &p->mu);
    p->active[i]--;
    int64_t again = p->calls[i] == 1 ? p->again : -1;
    pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->mu);
    return i == 0 ? -1 : again;
}

/* Waits (bounded: the test's own timeout) until calls[i] >= n. */
static void wait_calls(probe *p, int i, int n)
{
    pthread_mutex_lock(&p->mu);
    while (p->calls[i] < n)
        pthread_cond_wait(&p->cond, &p->mu);
    pthread_mutex_unlock(&p->mu);
}

KT_TEST_TIMEOUT(pod_worker, keys_never_wait_for_a_blocked_key, 30)
{
    probe p;
    probe_init(&p);
    kl_pod_workers *w = kl_pod_workers_new(handler, &p, 8, NULL);
    kl_pod_workers_enqueue(w, "a");
    wait_calls(&p, 0, 1);
    /* "a" blocks; b..f are handled anyway, and "a" queued again waits its turn */
    kl_pod_workers_enqueue(w, "a");
    kl_pod_workers_enqueue(w, "a");
    for (char k = 'b'; k <= 'f'; k++) {
        char key[2] = {k, 0};
        kl_pod_workers_enqueue(w, key);
    }
    for (int i = 1; i <= 5; i++)
        wait_calls(&p, i, 1);
    pthread_mutex_lock(&p.mu);
    KT_ASSERT_EQ(p.calls[0], 1);
    p.release = true;
    pthread_cond_broadcast(&p.cond);
    pthread_mutex_unlock(&p.mu);
    wait_calls(&p, 0, 2); /* the adds during processing run once more, deduplicated */
    kl_pod_workers_free(w);
    for (int i = 0; i < 6; i++)
        KT_ASSERT_EQ(p.max_active[i], 1);
    KT_ASSERT_EQ(p.calls[0], 2);
}

KT_TEST_TIMEOUT(pod_worker, pool_grows_when_busy_and_is_bounded, 30)
{
    probe p;
    probe_init(&p);
    kl_pod_workers *w = kl_pod_workers_new(handler, &p, 3, NULL);
    KT_ASSERT_EQ(kl_pod_workers_threads(w), 2);
    kl_pod_workers_enqueue(w, "a");
    wait_calls(&p, 0, 1);
    kl_pod_workers_enqueue(w, "b");
    wait_calls(&p, 1, 1);
    KT_ASSERT(kl_pod_workers_threads(w) <= 3);
    pthread_mutex_lock(&p.mu);
    p.release = true;
    pthread_cond_broadcast(&p.cond);
    pthread_mutex_unlock(&p.mu);
    kl_pod_workers_free(w);

    kl_pod_workers *one = kl_pod_workers_new(handler, &p, 1, NULL);
    KT_ASSERT_EQ(kl_pod_workers_threads(one), 1);
    kl_pod_workers_enqueue(one, "c");
    wait_calls(&p, 2, 1);
    kl_pod_workers_free(one);
}

KT_TEST_TIMEOUT(pod_worker, requeue_after_the_returned_delay, 30)
{
    kn_fake_clock fc;
    kn_fake_clock_init(&fc, 0);
    probe p;
    probe_init(&p);
    p.again = 5 * SEC;
    p.clock = &fc.clock;
    kl_pod_workers *w = kl_pod_workers_new(handler, &p, 4, &fc.clock);
    kl_pod_workers_enqueue(w, "b");
    wait_calls(&p, 1, 1);
    /* the requeue is registered at fake time 0 whenever the worker gets to
     * it, so the second call cannot come before 5 s */
    for (int i = 0; i < 20; i++) {
        pthread_mutex_lock(&p.mu);
        int calls = p.calls[1];
        pthread_mutex_unlock(&p.mu);
        if (calls >= 2)
            break;
        kn_fake_clock_advance(&fc, SEC);
        usleep(20 * 1000);
    }
    wait_calls(&p, 1, 2);
    pthread_mutex_lock(&p.mu);
    KT_ASSERT(p.when[1] >= 5 * SEC);
    pthread_mutex_unlock(&p.mu);

    int64_t t0 = kn_clock_now(&fc.clock);
    kl_pod_workers_enqueue_after(w, "c", 3 * SEC);
    kn_fake_clock_advance(&fc, 2 * SEC);
    kn_fake_clock_advance(&fc, SEC);
    wait_calls(&p, 2, 1);
    pthread_mutex_lock(&p.mu);
    KT_ASSERT(p.when[2] >= t0 + 3 * SEC);
    pthread_mutex_unlock(&p.mu);
    kl_pod_workers_free(w);
    KT_ASSERT_EQ(p.calls[1], 2);
    kn_fake_clock_destroy(&fc);
}

/* Blocks every key until released. */
static int64_t block_all(void *arg, const char *key)
{
    probe *p = arg;
    int i = key_index(key);
    pthread_mutex_lock(&p->mu);
    p->calls[i]++;
    p->active[i]++;
    pthread_cond_broadcast(&p->cond);
    while (!p->release)
        pthread_cond_wait(&p->cond, &p->mu);
    p->active[i]--;
    pthread_mutex_unlock(&p->mu);
    return -1;
}

KT_TEST_TIMEOUT(pod_worker, pool_shrinks_back_after_a_burst, 30)
{
    probe p;
    probe_init(&p);
    kl_pod_workers *w = kl_pod_workers_new(block_all, &p, 16, NULL);
    for (char k = 'a'; k <= 'f'; k++) {
        char key[2] = {k, 0};
        kl_pod_workers_enqueue(w, key);
    }
    for (int i = 0; i < 6; i++)
        wait_calls(&p, i, 1);
    KT_ASSERT(kl_pod_workers_threads(w) >= 7); /* six busy, one kept free */
    pthread_mutex_lock(&p.mu);
    p.release = true;
    pthread_cond_broadcast(&p.cond);
    pthread_mutex_unlock(&p.mu);
    /* the surplus threads end as their items finish (bounded by the test's timeout) */
    while (kl_pod_workers_threads(w) > 2)
        usleep(1000);
    /* and the pool still works, growing again on demand */
    kl_pod_workers_enqueue(w, "g");
    wait_calls(&p, 6, 1);
    kl_pod_workers_free(w);
    KT_ASSERT_EQ(p.calls[6], 1);
}

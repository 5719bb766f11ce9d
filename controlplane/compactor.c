#include "controlplane/compactor.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include "lib/clock.h"
#include "lib/log.h"
#include "lib/xalloc.h"

struct kn_compactor {
    kn_store *store;
    int64_t interval_ns;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cond;
    bool stop;
};

static void *compactor_main(void *arg)
{
    kn_compactor *c = arg;
    int64_t previous = kn_store_current_rev(c->store);
    pthread_mutex_lock(&c->mu);
    while (!c->stop) {
        int64_t deadline = kn_time_add(kn_time_monotonic_ns(), c->interval_ns);
        while (!c->stop && kn_time_monotonic_ns() < deadline)
            kn_clock_wait_until(NULL, &c->cond, &c->mu, deadline);
        if (c->stop)
            break;
        pthread_mutex_unlock(&c->mu);
        kn_error *err = NULL;
        if (previous > kn_store_compacted_rev(c->store) &&
            kn_store_compact(c->store, previous, &err) < 0) {
            KN_WARN("compactor", "compact to %lld: %s", (long long)previous, kn_error_msg(err));
            kn_error_free(&err);
        } else {
            KN_V(2, "compactor", "compacted to revision %lld", (long long)previous);
        }
        previous = kn_store_current_rev(c->store);
        pthread_mutex_lock(&c->mu);
    }
    pthread_mutex_unlock(&c->mu);
    return NULL;
}

kn_compactor *kn_compactor_start(kn_store *store, int interval_s)
{
    kn_compactor *c = xcalloc(1, sizeof(*c));
    c->store = store;
    c->interval_ns = (int64_t)(interval_s > 0 ? interval_s : 300) * 1000000000LL;
    pthread_mutex_init(&c->mu, NULL);
    kn_cond_init(&c->cond);
    if (pthread_create(&c->thread, NULL, compactor_main, c) != 0) {
        free(c);
        return NULL;
    }
    return c;
}

void kn_compactor_stop(kn_compactor *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&c->mu);
    c->stop = true;
    pthread_cond_broadcast(&c->cond);
    pthread_mutex_unlock(&c->mu);
    pthread_join(c->thread, NULL);
    pthread_cond_destroy(&c->cond);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

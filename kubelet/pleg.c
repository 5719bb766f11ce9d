/* pleg.c - relisting PLEG (see pleg.h). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cri/msg.h"
#include "cri/runtime.h"
#include "kubelet/pleg.h"
#include "kubelet/sandbox.h"
#include "lib/duration.h"
#include "lib/log.h"
#include "lib/xalloc.h"

/* One sandbox or container as seen by a relist. */
typedef struct entity {
    char *id;  /* "s:<id>" or "c:<id>" */
    char *uid; /* the pod's UID label */
    int state;
} entity;

typedef struct snapshot {
    entity *v;
    size_t n;
} snapshot;

struct kl_pleg {
    cri_conn *conn;
    kl_pleg_callbacks cb;
    int64_t period;
    kn_clock *clock;
    pthread_mutex_t mu;
    pthread_cond_t cond;
    bool stop, started;
    pthread_t thread;
    snapshot last;
    bool have_last;
    int64_t last_ok; /* clock time of the last successful relist */
};

static void snapshot_clear(snapshot *s)
{
    for (size_t i = 0; i < s->n; i++) {
        free(s->v[i].id);
        free(s->v[i].uid);
    }
    free(s->v);
    s->v = NULL;
    s->n = 0;
}

static void snapshot_add(snapshot *s, char kind, const char *id, const char *uid, int state)
{
    s->v = xreallocarray(s->v, s->n + 1, sizeof(entity));
    s->v[s->n++] = (entity){xasprintf("%c:%s", kind, id), xstrdup(uid), state};
}

static int cmp_entity(const void *a, const void *b)
{
    return strcmp(((const entity *)a)->id, ((const entity *)b)->id);
}

static int list_all(kl_pleg *p, snapshot *s, kn_error **err)
{
    Runtime__V1__ListPodSandboxResponse *sl = NULL;
    Runtime__V1__ListContainersResponse *cl = NULL;
    if (cri_runtime_list_sandboxes(p->conn, NULL, &sl, err) < 0)
        return -1;
    if (cri_runtime_list_containers(p->conn, NULL, &cl, err) < 0) {
        cri_msg_free(sl);
        return -1;
    }
    for (size_t i = 0; i < sl->n_items; i++) {
        const char *uid = cri_map_get(sl->items[i], "labels", KL_LABEL_POD_UID);
        if (uid)
            snapshot_add(s, 's', sl->items[i]->id, uid, sl->items[i]->state);
    }
    for (size_t i = 0; i < cl->n_containers; i++) {
        const char *uid = cri_map_get(cl->containers[i], "labels", KL_LABEL_POD_UID);
        if (uid)
            snapshot_add(s, 'c', cl->containers[i]->id, uid, cl->containers[i]->state);
    }
    cri_msg_free(sl);
    cri_msg_free(cl);
    if (s->n > 1)
        qsort(s->v, s->n, sizeof(entity), cmp_entity);
    return 0;
}

static bool has_str(char **v, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i], s) == 0)
            return true;
    return false;
}

static void add_unique(char ***v, size_t *n, const char *s)
{
    if (has_str(*v, *n, s))
        return;
    *v = xreallocarray(*v, *n + 1, sizeof(char *));
    (*v)[(*n)++] = xstrdup(s);
}

/* UIDs of the pods whose entities differ between a and b (both sorted). */
static void diff(const snapshot *a, const snapshot *b, char ***out, size_t *n)
{
    size_t i = 0, k = 0;
    while (i < a->n || k < b->n) {
        int c = i == a->n ? 1 : k == b->n ? -1 : strcmp(a->v[i].id, b->v[k].id);
        if (c < 0) {
            add_unique(out, n, a->v[i++].uid); /* disappeared */
        } else if (c > 0) {
            add_unique(out, n, b->v[k++].uid); /* appeared */
        } else {
            if (a->v[i].state != b->v[k].state)
                add_unique(out, n, b->v[k].uid);
            i++, k++;
        }
    }
}

static void report(kl_pleg *p, const snapshot *now, char **changed, size_t nchanged)
{
    for (size_t i = 0; i < nchanged && p->cb.pod_changed; i++)
        p->cb.pod_changed(p->cb.arg, changed[i]);
    if (!p->cb.relisted)
        return;
    char **uids = NULL;
    size_t n = 0;
    for (size_t i = 0; i < now->n; i++)
        add_unique(&uids, &n, now->v[i].uid);
    p->cb.relisted(p->cb.arg, (const char *const *)uids, n);
    for (size_t i = 0; i < n; i++)
        free(uids[i]);
    free(uids);
}

int kl_pleg_relist(kl_pleg *p, kn_error **err)
{
    snapshot now = {0};
    if (list_all(p, &now, err) < 0) {
        snapshot_clear(&now);
        return -1;
    }
    char **changed = NULL;
    size_t nchanged = 0;
    static const snapshot empty = {0};
    diff(p->have_last ? &p->last : &empty, &now, &changed, &nchanged);
    report(p, &now, changed, nchanged);
    for (size_t i = 0; i < nchanged; i++)
        free(changed[i]);
    free(changed);
    pthread_mutex_lock(&p->mu);
    snapshot_clear(&p->last);
    p->last = now;
    p->have_last = true;
    p->last_ok = kn_clock_now(p->clock);
    pthread_mutex_unlock(&p->mu);
    return 0;
}

static void *pleg_main(void *arg)
{
    kl_pleg *p = arg;
    pthread_mutex_lock(&p->mu);
    while (!p->stop) {
        pthread_mutex_unlock(&p->mu);
        kn_error *err = NULL;
        if (kl_pleg_relist(p, &err) < 0) {
            KN_WARN("kubelet", "PLEG relist failed: %s", kn_error_msg(err));
            kn_error_free(&err);
        }
        pthread_mutex_lock(&p->mu);
        int64_t deadline = kn_time_add(kn_clock_now(p->clock), p->period);
        while (!p->stop && kn_clock_now(p->clock) < deadline)
            kn_clock_wait_until(p->clock, &p->cond, &p->mu, deadline);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

kl_pleg *kl_pleg_new(cri_conn *conn, const kl_pleg_callbacks *cb, int64_t period_ns,
                     kn_clock *clock)
{
    kl_pleg *p = xcalloc(1, sizeof(*p));
    p->conn = conn;
    p->cb = *cb;
    p->period = period_ns > 0 ? period_ns : KL_PLEG_RELIST_PERIOD_NS;
    p->clock = clock ? clock : kn_clock_monotonic();
    pthread_mutex_init(&p->mu, NULL);
    kn_cond_init(&p->cond);
    p->last_ok = kn_clock_now(p->clock);
    return p;
}

int kl_pleg_start(kl_pleg *p, kn_error **err)
{
    int rc = pthread_create(&p->thread, NULL, pleg_main, p);
    if (rc != 0)
        return kn_error_errno(err, rc, "start PLEG thread");
    p->started = true;
    return 0;
}

void kl_pleg_free(kl_pleg *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    p->stop = true;
    pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->mu);
    if (p->started)
        pthread_join(p->thread, NULL);
    snapshot_clear(&p->last);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cond);
    free(p);
}

bool kl_pleg_healthy(kl_pleg *p, char **why)
{
    pthread_mutex_lock(&p->mu);
    int64_t since = kn_clock_now(p->clock) - p->last_ok;
    pthread_mutex_unlock(&p->mu);
    if (since <= KL_PLEG_UNHEALTHY_NS)
        return true;
    if (why) {
        char a[32], b[32];
        *why = xasprintf("PLEG is not healthy: pleg was last seen active %s ago; threshold is %s",
                         kn_duration_format(since, a, sizeof(a)),
                         kn_duration_format(KL_PLEG_UNHEALTHY_NS, b, sizeof(b)));
    }
    return false;
}

/* leader.c - client-go's LeaderElector (acquire, renew, release) on a Lease. */
#include "api-client/leader.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api-client/kc-internal.h"
#include "api-client/lease.h"
#include "lib/cleanup.h"
#include "lib/duration.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/xalloc.h"

#define JITTER 1.2

/* LeaderElectionRecord */
typedef struct record {
    char holder[256];
    int64_t duration_s;
    char acquire[KC_MICRO_TIME_LEN], renew[KC_MICRO_TIME_LEN];
    int64_t transitions;
} record;

struct kc_leader {
    kc_client *c;
    kc_leader_options o;
    char *ns, *name, *identity;
    kn_clock *clock, *wall;
    kn_rand own_rand, *rand;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cond;
    bool stop;
    /* the elector's own state (its thread only, except under mu) */
    cJSON *lease;       /* the Lease last read or written */
    char *observed_raw; /* its spec as text, as last read */
    record observed;    /* under mu */
    bool have_observed; /* under mu */
    int64_t observed_time;
    char reported[256];
    int64_t tries; /* under mu */
};

/* ---- the lock: a Lease ---------------------------------------------------------------- */

static void record_of(const cJSON *lease, record *r)
{
    memset(r, 0, sizeof(*r));
    const cJSON *spec = cJSON_GetObjectItemCaseSensitive(lease, "spec");
    const char *s = NULL;
    kn_json_get_string_opt(spec, "holderIdentity", "", &s, NULL);
    snprintf(r->holder, sizeof(r->holder), "%s", s ? s : "");
    kn_json_get_int64_opt(spec, "leaseDurationSeconds", 0, &r->duration_s, NULL);
    kn_json_get_string_opt(spec, "acquireTime", "", &s, NULL);
    snprintf(r->acquire, sizeof(r->acquire), "%s", s ? s : "");
    kn_json_get_string_opt(spec, "renewTime", "", &s, NULL);
    snprintf(r->renew, sizeof(r->renew), "%s", s ? s : "");
    kn_json_get_int64_opt(spec, "leaseTransitions", 0, &r->transitions, NULL);
}

/* LeaderElectionRecordToLeaseSpec */
static cJSON *spec_of(const record *r)
{
    cJSON *spec = cJSON_CreateObject();
    cJSON_AddStringToObject(spec, "holderIdentity", r->holder);
    cJSON_AddNumberToObject(spec, "leaseDurationSeconds", (double)r->duration_s);
    if (r->acquire[0])
        cJSON_AddStringToObject(spec, "acquireTime", r->acquire);
    if (r->renew[0])
        cJSON_AddStringToObject(spec, "renewTime", r->renew);
    cJSON_AddNumberToObject(spec, "leaseTransitions", (double)r->transitions);
    return spec;
}

static int lock_create(kc_leader *l, const record *r, kn_error **err)
{
    cleanup_cjson cJSON *lease = cJSON_CreateObject();
    cJSON_AddStringToObject(lease, "apiVersion", "coordination.k8s.io/v1");
    cJSON_AddStringToObject(lease, "kind", "Lease");
    cJSON *md = cJSON_AddObjectToObject(lease, "metadata");
    cJSON_AddStringToObject(md, "name", l->name);
    cJSON_AddStringToObject(md, "namespace", l->ns);
    cJSON_AddItemToObject(lease, "spec", spec_of(r));
    cJSON *out = NULL;
    if (kc_create(l->c, &kc_res_leases, l->ns, lease, &out, err) < 0)
        return kc_fail(err);
    cJSON_Delete(l->lease);
    l->lease = out;
    return 0;
}

static int lock_update(kc_leader *l, const record *r, kn_error **err)
{
    if (!l->lease)
        return kn_error_set(err, KN_EINVAL, "lease not initialized, call get or create first");
    cJSON *upd = cJSON_Duplicate(l->lease, 1);
    cJSON_ReplaceItemInObject(upd, "spec", spec_of(r));
    cJSON *out = NULL;
    int rc = kc_update(l->c, &kc_res_leases, l->ns, NULL, upd, &out, err);
    cJSON_Delete(upd);
    if (rc < 0)
        return rc;
    cJSON_Delete(l->lease);
    l->lease = out;
    return 0;
}

/* ---- observations ------------------------------------------------------------------------- */

static void set_observed(kc_leader *l, const record *r)
{
    pthread_mutex_lock(&l->mu);
    l->observed = *r;
    l->have_observed = true;
    l->observed_time = kn_clock_now(l->clock);
    pthread_mutex_unlock(&l->mu);
}

static bool is_leader_locked(kc_leader *l)
{
    return l->have_observed && strcmp(l->observed.holder, l->identity) == 0;
}

bool kc_leader_is_leader(kc_leader *l)
{
    pthread_mutex_lock(&l->mu);
    bool r = is_leader_locked(l);
    pthread_mutex_unlock(&l->mu);
    return r;
}

char *kc_leader_holder(kc_leader *l)
{
    pthread_mutex_lock(&l->mu);
    char *h = l->have_observed ? xstrdup(l->observed.holder) : NULL;
    pthread_mutex_unlock(&l->mu);
    return h;
}

static bool lease_valid(kc_leader *l, int64_t now)
{
    pthread_mutex_lock(&l->mu);
    bool v = l->observed_time + l->observed.duration_s * KN_NSEC_PER_SEC > now;
    pthread_mutex_unlock(&l->mu);
    return v;
}

static void maybe_report_transition(kc_leader *l)
{
    pthread_mutex_lock(&l->mu);
    char holder[256];
    snprintf(holder, sizeof(holder), "%s", l->observed.holder);
    bool changed = l->have_observed && strcmp(holder, l->reported) != 0;
    pthread_mutex_unlock(&l->mu);
    if (!changed)
        return;
    snprintf(l->reported, sizeof(l->reported), "%s", holder);
    if (l->o.new_leader)
        l->o.new_leader(holder, l->o.userdata);
}

/* ---- tryAcquireOrRenew ---------------------------------------------------------------- */

static void desired_record(kc_leader *l, record *r)
{
    memset(r, 0, sizeof(*r));
    snprintf(r->holder, sizeof(r->holder), "%s", l->identity);
    r->duration_s = l->o.lease_duration_ns / KN_NSEC_PER_SEC;
    kc_micro_time_format(kn_clock_now(l->wall), r->renew);
    memcpy(r->acquire, r->renew, sizeof(r->acquire));
}

/* Step 2 of upstream's algorithm: read the Lease (create it when missing)
 * and note a changed record. 1: created (we hold it), 0: read, -1: failed. */
static int read_lease(kc_leader *l, const record *desired, record *old)
{
    cJSON *cur = NULL;
    cleanup_error kn_error *err = NULL;
    if (kc_get(l->c, &kc_res_leases, l->ns, l->name, &cur, &err) < 0) {
        if (kn_error_code(err) != KN_ENOTFOUND) {
            KN_WARN("leader", "error retrieving lease %s/%s: %s", l->ns, l->name,
                    kn_error_msg(err));
            return -1;
        }
        kn_error_free(&err);
        if (lock_create(l, desired, &err) < 0) {
            KN_WARN("leader", "error initially creating lease %s/%s: %s", l->ns, l->name,
                    kn_error_msg(err));
            return -1;
        }
        set_observed(l, desired);
        return 1;
    }
    cJSON_Delete(l->lease);
    l->lease = cur;
    record_of(cur, old);
    cleanup_free char *raw = kn_json_print(cJSON_GetObjectItemCaseSensitive(cur, "spec"));
    if (!l->observed_raw || strcmp(raw, l->observed_raw) != 0) {
        set_observed(l, old);
        free(l->observed_raw);
        l->observed_raw = kn_steal_ptr(raw);
    }
    return 0;
}

static bool try_once(kc_leader *l)
{
    record desired, old;
    desired_record(l, &desired);
    cleanup_error kn_error *err = NULL;
    int64_t now = kn_clock_now(l->clock);
    if (kc_leader_is_leader(l) && lease_valid(l, now)) { /* the fast path */
        pthread_mutex_lock(&l->mu);
        memcpy(desired.acquire, l->observed.acquire, sizeof(desired.acquire));
        desired.transitions = l->observed.transitions;
        pthread_mutex_unlock(&l->mu);
        if (lock_update(l, &desired, &err) == 0) {
            set_observed(l, &desired);
            return true;
        }
        KN_V(2, "leader", "failed to update lease optimistically: %s, falling back to slow path",
             kn_error_msg(err));
        kn_error_free(&err);
    }
    int r = read_lease(l, &desired, &old);
    if (r != 0)
        return r > 0;
    bool leader = kc_leader_is_leader(l);
    if (old.holder[0] && lease_valid(l, now) && !leader)
        return false;
    if (leader)
        memcpy(desired.acquire, old.acquire, sizeof(desired.acquire));
    desired.transitions = leader ? old.transitions : old.transitions + 1;
    if (lock_update(l, &desired, &err) < 0) {
        KN_V(2, "leader", "failed to update lease %s/%s: %s", l->ns, l->name, kn_error_msg(err));
        return false;
    }
    set_observed(l, &desired);
    return true;
}

static bool try_acquire_or_renew(kc_leader *l)
{
    bool ok = try_once(l);
    pthread_mutex_lock(&l->mu);
    l->tries++;
    pthread_mutex_unlock(&l->mu);
    return ok;
}

int64_t kc_leader_tries(kc_leader *l)
{
    pthread_mutex_lock(&l->mu);
    int64_t n = l->tries;
    pthread_mutex_unlock(&l->mu);
    return n;
}

/* ---- the loops ----------------------------------------------------------------------------- */

/* Waits until the clock reaches deadline or stop; false on stop. */
static bool wait_until(kc_leader *l, int64_t deadline)
{
    pthread_mutex_lock(&l->mu);
    while (!l->stop && kn_clock_now(l->clock) < deadline)
        kn_clock_wait_until(l->clock, &l->cond, &l->mu, deadline);
    bool go_on = !l->stop;
    pthread_mutex_unlock(&l->mu);
    return go_on;
}

static bool stopping(kc_leader *l)
{
    pthread_mutex_lock(&l->mu);
    bool s = l->stop;
    pthread_mutex_unlock(&l->mu);
    return s;
}

/* acquire: JitterUntil(retryPeriod, 1.2, sliding). False on stop. */
static bool acquire(kc_leader *l)
{
    while (!stopping(l)) {
        bool ok = try_acquire_or_renew(l);
        maybe_report_transition(l);
        if (ok) {
            KN_INFO("leader", "successfully acquired lease %s/%s", l->ns, l->name);
            return true;
        }
        int64_t d = kn_jitter(l->o.retry_period_ns, JITTER, l->rand);
        if (!wait_until(l, kn_time_add(kn_clock_now(l->clock), d)))
            return false;
    }
    return false;
}

/* One renewal round: PollImmediateUntil(retryPeriod) within the renew
 * deadline. */
static bool renew_round(kc_leader *l)
{
    int64_t deadline = kn_time_add(kn_clock_now(l->clock), l->o.renew_deadline_ns);
    for (;;) {
        if (try_acquire_or_renew(l))
            return true;
        int64_t next = kn_time_add(kn_clock_now(l->clock), l->o.retry_period_ns);
        if (next >= deadline || !wait_until(l, next))
            return false;
    }
}

static void renew(kc_leader *l)
{
    while (!stopping(l)) {
        bool ok = renew_round(l);
        maybe_report_transition(l);
        if (!ok) {
            if (!stopping(l))
                KN_INFO("leader", "failed to renew lease %s/%s: timed out", l->ns, l->name);
            return;
        }
        if (!wait_until(l, kn_time_add(kn_clock_now(l->clock), l->o.retry_period_ns)))
            return;
    }
}

static void release(kc_leader *l)
{
    if (!kc_leader_is_leader(l))
        return;
    record r = {0};
    kc_micro_time_format(kn_clock_now(l->wall), r.renew);
    memcpy(r.acquire, r.renew, sizeof(r.acquire));
    r.duration_s = 1;
    pthread_mutex_lock(&l->mu);
    r.transitions = l->observed.transitions;
    pthread_mutex_unlock(&l->mu);
    cleanup_error kn_error *err = NULL;
    if (lock_update(l, &r, &err) < 0) {
        KN_WARN("leader", "failed to release lease %s/%s: %s", l->ns, l->name, kn_error_msg(err));
        return;
    }
    set_observed(l, &r);
}

static void *leader_main(void *arg)
{
    kc_leader *l = arg;
    while (acquire(l)) {
        if (l->o.started_leading)
            l->o.started_leading(l->o.userdata);
        renew(l);
        if (stopping(l) && l->o.release_on_cancel)
            release(l);
        if (l->o.stopped_leading)
            l->o.stopped_leading(l->o.userdata);
    }
    return NULL;
}

/* ---- start and stop -------------------------------------------------------------------------- */

static int validate(kc_leader_options *o, kn_error **err)
{
    if (!o->lease_duration_ns)
        o->lease_duration_ns = 15 * KN_NSEC_PER_SEC;
    if (!o->renew_deadline_ns)
        o->renew_deadline_ns = 10 * KN_NSEC_PER_SEC;
    if (!o->retry_period_ns)
        o->retry_period_ns = 2 * KN_NSEC_PER_SEC;
    if (o->lease_duration_ns <= o->renew_deadline_ns)
        return kn_error_set(err, KN_EINVAL, "leaseDuration must be greater than renewDeadline");
    if ((double)o->renew_deadline_ns <= JITTER * (double)o->retry_period_ns)
        return kn_error_set(err, KN_EINVAL,
                            "renewDeadline must be greater than retryPeriod*JitterFactor");
    if (o->lease_duration_ns < KN_NSEC_PER_SEC || o->retry_period_ns < 1)
        return kn_error_set(err, KN_EINVAL,
                            "leaseDuration must be at least one second and "
                            "retryPeriod greater than zero");
    if (!o->identity || !*o->identity)
        return kn_error_set(err, KN_EINVAL, "Lock identity is empty");
    if (!o->ns || !*o->ns || !o->name || !*o->name)
        return kn_error_set(err, KN_EINVAL, "the Lease needs a namespace and a name");
    return 0;
}

static void free_leader(kc_leader *l)
{
    cJSON_Delete(l->lease);
    free(l->observed_raw);
    pthread_cond_destroy(&l->cond);
    pthread_mutex_destroy(&l->mu);
    free(l->ns);
    free(l->name);
    free(l->identity);
    free(l);
}

int kc_leader_start(kc_client *c, const kc_leader_options *opts, kc_leader **out, kn_error **err)
{
    kc_leader_options o = *opts;
    if (validate(&o, err) < 0)
        return kc_fail(err);
    kc_leader *l = xcalloc(1, sizeof(*l));
    l->c = c;
    l->o = o;
    l->ns = xstrdup(o.ns);
    l->name = xstrdup(o.name);
    l->identity = xstrdup(o.identity);
    l->clock = o.clock ? o.clock : kn_clock_monotonic();
    l->wall = o.wall_clock ? o.wall_clock : kn_clock_realtime();
    kn_rand_init(&l->own_rand);
    l->rand = o.rand ? o.rand : &l->own_rand;
    pthread_mutex_init(&l->mu, NULL);
    kn_cond_init(&l->cond);
    if (pthread_create(&l->thread, NULL, leader_main, l) != 0) {
        int e = errno;
        free_leader(l);
        return kn_error_errno(err, e, "start leader election");
    }
    *out = l;
    return 0;
}

void kc_leader_stop(kc_leader *l)
{
    if (!l)
        return;
    pthread_mutex_lock(&l->mu);
    l->stop = true;
    pthread_cond_broadcast(&l->cond);
    pthread_mutex_unlock(&l->mu);
    pthread_join(l->thread, NULL);
    free_leader(l);
}

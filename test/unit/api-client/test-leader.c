/* test-leader.c - leader election on a Lease served by the bundled API
 * server (in this process, on loopback), with a fake clock stepped one
 * retry period at a time: one leader while it renews, a takeover only after
 * the lease duration, release on stop. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api-client/kubeconfig.h"
#include "api-client/leader.h"
#include "api-client/rest.h"
#include "controlplane/apiserver.h"
#include "controlplane/pki.h"
#include "controlplane/store.h"
#include "lib/cleanup.h"
#include "lib/duration.h"
#include "lib/json.h"
#include "lib/xalloc.h"
#include "test/runner/kt.h"

#define SEC KN_NSEC_PER_SEC

typedef struct api {
    kn_store *st;
    kn_apiserver *srv;
    kc_client *c;
} api;

static void api_stop(void *arg)
{
    api *a = arg;
    kc_client_free(a->c);
    kn_apiserver_stop(a->srv);
    kn_store_close(a->st);
    memset(a, 0, sizeof(*a));
}

/* The API server on an ephemeral loopback port, an admin client, and the
 * namespace the tests use. */
static void api_start(api *a)
{
    cleanup_free char *dir = xasprintf("%s/api", kt_tmpdir());
    cleanup_free char *db = xasprintf("sqlite://%s/state.db", kt_tmpdir());
    kn_error *err = NULL;
    kn_pki_opts po = {
        .data_dir = dir, .server_url = "https://127.0.0.1:1", .cluster_domain = "cluster.local"};
    KT_ASSERT_OK(kn_pki_ensure(&po, &err), err);
    KT_ASSERT_OK(kn_store_open(db, &a->st, &err), err);
    kn_apiserver_opts ao = {dir, "127.0.0.1", 0, a->st, "10.96.0.0/12", "cluster.local"};
    KT_ASSERT_OK(kn_apiserver_start(&ao, &a->srv, &err), err);
    kt_on_cleanup(api_stop, a);
    cleanup_free char *url = xasprintf("https://127.0.0.1:%d", kn_apiserver_port(a->srv));
    po.server_url = url;
    KT_ASSERT_OK(kn_pki_ensure(&po, &err), err);
    cleanup_free char *kc = xasprintf("%s/admin.kubeconfig", dir);
    cleanup_kc_config kc_config *cfg = NULL;
    KT_ASSERT_OK(kc_config_load(kc, NULL, &cfg, &err), err);
    KT_ASSERT_OK(kc_client_new(cfg, NULL, &a->c, &err), err);
    cJSON *ns = cJSON_Parse("{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":"
                            "{\"name\":\"kube-system\"}}");
    KT_ASSERT_OK(kc_create(a->c, &kc_res_namespaces, NULL, ns, NULL, &err), err);
    cJSON_Delete(ns);
}

typedef struct candidate {
    kc_leader *l;
    int started, stopped;
    char seen[64]; /* last new_leader */
} candidate;

static void on_started(void *ud)
{
    __atomic_add_fetch(&((candidate *)ud)->started, 1, __ATOMIC_SEQ_CST);
}

static void on_stopped(void *ud)
{
    __atomic_add_fetch(&((candidate *)ud)->stopped, 1, __ATOMIC_SEQ_CST);
}

static void on_new_leader(const char *id, void *ud)
{
    snprintf(((candidate *)ud)->seen, sizeof(((candidate *)ud)->seen), "%s", id);
}

static double no_jitter(void *ud)
{
    (void)ud;
    return 0;
}

static kn_rand zero_rand = {.fn = no_jitter};

static void start(api *a, kn_fake_clock *fc, const char *id, bool release, candidate *c)
{
    kc_leader_options o = {.ns = "kube-system",
                           .name = "knode-controller",
                           .identity = id,
                           .release_on_cancel = release,
                           .started_leading = on_started,
                           .stopped_leading = on_stopped,
                           .new_leader = on_new_leader,
                           .userdata = c,
                           .clock = &fc->clock,
                           .wall_clock = &fc->clock,
                           .rand = &zero_rand};
    kn_error *err = NULL;
    KT_ASSERT_OK(kc_leader_start(a->c, &o, &c->l, &err), err);
}

/* Waits (bounded, in real time) until each candidate made one more attempt
 * than before, then until all of them are parked on the clock again. */
static void settle(kn_fake_clock *fc, candidate **cs, int64_t *before, int n)
{
    for (int i = 0; i < n; i++) {
        int waited = 0;
        while (kc_leader_tries(cs[i]->l) <= before[i] && waited++ < 1000)
            usleep(10000);
        KT_ASSERT_MSG(kc_leader_tries(cs[i]->l) > before[i], "candidate %d made no attempt", i);
        before[i] = kc_leader_tries(cs[i]->l);
    }
    kn_fake_clock_wait_for_waiters(fc, n);
}

static cJSON *lease(api *a)
{
    cJSON *l = NULL;
    kn_error *err = NULL;
    KT_ASSERT_OK(kc_get(a->c, &kc_res_leases, "kube-system", "knode-controller", &l, &err), err);
    return l;
}

static const char *holder(const cJSON *l)
{
    const char *h = NULL;
    kn_json_get_string_opt(l, "spec.holderIdentity", "", &h, NULL);
    return h;
}

KT_TEST(leader, validates_options)
{
    kn_error *err = NULL;
    kc_leader *l = NULL;
    kc_leader_options o = {.ns = "x",
                           .name = "y",
                           .identity = "me",
                           .lease_duration_ns = 10 * SEC,
                           .renew_deadline_ns = 10 * SEC};
    KT_ASSERT_FAILS(kc_leader_start(NULL, &o, &l, &err));
    KT_ASSERT_STREQ(kn_error_msg(err), "leaseDuration must be greater than renewDeadline");
    kn_error_free(&err);
    kc_leader_options o2 = {.ns = "x",
                            .name = "y",
                            .identity = "me",
                            .renew_deadline_ns = 2 * SEC,
                            .retry_period_ns = 2 * SEC};
    KT_ASSERT_FAILS(kc_leader_start(NULL, &o2, &l, &err));
    KT_ASSERT_STREQ(kn_error_msg(err),
                    "renewDeadline must be greater than retryPeriod*JitterFactor");
    kn_error_free(&err);
    kc_leader_options o3 = {.ns = "x", .name = "y"};
    KT_ASSERT_FAILS(kc_leader_start(NULL, &o3, &l, &err));
    KT_ASSERT_STREQ(kn_error_msg(err), "Lock identity is empty");
    kn_error_free(&err);
}

KT_TEST_TIMEOUT(leader, one_leader_then_takeover_after_the_lease_duration, 120)
{
    static api a;
    api_start(&a);
    kn_fake_clock fc;
    kn_fake_clock_init(&fc, INT64_C(1700000000) * SEC);
    candidate ca = {0}, cb = {0};
    candidate *both[2] = {&ca, &cb};
    int64_t tries[2] = {0, 0};
    start(&a, &fc, "a", false, &ca);
    settle(&fc, both, tries, 1);
    KT_ASSERT(kc_leader_is_leader(ca.l));
    KT_ASSERT_EQ(ca.started, 1);
    start(&a, &fc, "b", false, &cb);
    settle(&fc, both + 1, tries + 1, 1);
    kn_fake_clock_wait_for_waiters(&fc, 2);
    KT_ASSERT(!kc_leader_is_leader(cb.l));
    KT_ASSERT_STREQ(cb.seen, "a");
    /* while a renews, b never takes over, long past the lease duration */
    cJSON *l0 = lease(&a);
    cleanup_free char *renew0 =
        xstrdup(cJSON_GetObjectItem(cJSON_GetObjectItem(l0, "spec"), "renewTime")->valuestring);
    cJSON_Delete(l0);
    for (int i = 0; i < 12; i++) {
        kn_fake_clock_advance(&fc, 2 * SEC);
        settle(&fc, both, tries, 2);
        KT_ASSERT(kc_leader_is_leader(ca.l));
        KT_ASSERT(!kc_leader_is_leader(cb.l));
    }
    cJSON *l1 = lease(&a);
    KT_ASSERT_STREQ(holder(l1), "a");
    KT_ASSERT(strcmp(cJSON_GetObjectItem(cJSON_GetObjectItem(l1, "spec"), "renewTime")->valuestring,
                     renew0) != 0);
    cJSON_Delete(l1);
    /* a stops without releasing: b takes over once the lease has not
     * changed for 15 s of b's clock (13-17 s after a's last renewal) */
    kc_leader_stop(ca.l);
    KT_ASSERT_EQ(ca.stopped, 1);
    for (int i = 1; i <= 9 && !kc_leader_is_leader(cb.l); i++) {
        kn_fake_clock_advance(&fc, 2 * SEC);
        settle(&fc, both + 1, tries + 1, 1);
        KT_ASSERT_MSG(i > 6 || !kc_leader_is_leader(cb.l), "b took over after %d s", 2 * i);
    }
    KT_ASSERT(kc_leader_is_leader(cb.l));
    KT_ASSERT_EQ(cb.started, 1);
    KT_ASSERT_STREQ(cb.seen, "b");
    cJSON *l2 = lease(&a);
    KT_ASSERT_STREQ(holder(l2), "b");
    int64_t transitions = -1, duration = -1;
    kn_json_get_int64(l2, "spec.leaseTransitions", &transitions, NULL);
    kn_json_get_int64(l2, "spec.leaseDurationSeconds", &duration, NULL);
    KT_ASSERT_EQ(transitions, 1);
    KT_ASSERT_EQ(duration, 15);
    cJSON_Delete(l2);
    kc_leader_stop(cb.l);
    KT_ASSERT_EQ(cb.stopped, 1);
    kn_fake_clock_destroy(&fc);
    api_stop(&a);
}

KT_TEST_TIMEOUT(leader, release_lets_the_next_one_in_at_once, 120)
{
    static api a;
    api_start(&a);
    kn_fake_clock fc;
    kn_fake_clock_init(&fc, INT64_C(1700000000) * SEC);
    candidate ca = {0}, cb = {0};
    candidate *pa = &ca, *pb = &cb;
    int64_t ta = 0, tb = 0;
    start(&a, &fc, "a", true, &ca);
    settle(&fc, &pa, &ta, 1);
    KT_ASSERT(kc_leader_is_leader(ca.l));
    kc_leader_stop(ca.l);
    KT_ASSERT_EQ(ca.stopped, 1);
    cJSON *l = lease(&a);
    KT_ASSERT_STREQ(holder(l), "");
    int64_t duration = -1;
    kn_json_get_int64(l, "spec.leaseDurationSeconds", &duration, NULL);
    KT_ASSERT_EQ(duration, 1);
    cJSON_Delete(l);
    /* no time passes: b acquires on its first attempt */
    start(&a, &fc, "b", true, &cb);
    settle(&fc, &pb, &tb, 1);
    KT_ASSERT(kc_leader_is_leader(cb.l));
    kc_leader_stop(cb.l);
    kn_fake_clock_destroy(&fc);
    api_stop(&a);
}

KT_TEST_TIMEOUT(leader, leader_that_cannot_renew_steps_down, 120)
{
    static api a;
    api_start(&a);
    kn_fake_clock fc;
    kn_fake_clock_init(&fc, INT64_C(1700000000) * SEC);
    candidate ca = {0};
    candidate *pa = &ca;
    int64_t ta = 0;
    start(&a, &fc, "a", false, &ca);
    settle(&fc, &pa, &ta, 1);
    KT_ASSERT(kc_leader_is_leader(ca.l));
    /* someone else writes the lease behind a's back: a's renewals conflict,
     * its reads see another valid holder */
    cJSON *l = lease(&a);
    cJSON *spec = cJSON_GetObjectItem(l, "spec");
    cJSON_ReplaceItemInObject(spec, "holderIdentity", cJSON_CreateString("intruder"));
    kn_error *err = NULL;
    KT_ASSERT_OK(kc_update(a.c, &kc_res_leases, "kube-system", NULL, l, NULL, &err), err);
    cJSON_Delete(l);
    for (int i = 0; i < 8 && ca.stopped == 0; i++) {
        kn_fake_clock_advance(&fc, 2 * SEC);
        settle(&fc, &pa, &ta, 1);
    }
    KT_ASSERT_EQ(ca.stopped, 1);
    KT_ASSERT(!kc_leader_is_leader(ca.l));
    KT_ASSERT_STREQ(ca.seen, "intruder");
    kc_leader_stop(ca.l);
    KT_ASSERT_EQ(ca.stopped, 1);
    kn_fake_clock_destroy(&fc);
    api_stop(&a);
}

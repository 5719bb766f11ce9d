/* Tests for kubelet/actions (computePodActions) and kubelet/status (pod
 * status from canned runtime state), with runtime snapshots built by hand. */
#include <stdlib.h>
#include <string.h>

#include "cri/api.pb-c.h"
#include "kubelet/actions.h"
#include "kubelet/runtime_state.h"
#include "kubelet/status.h"
#include "lib/cleanup.h"
#include "lib/json.h"
#include "lib/xalloc.h"
#include "test/runner/kt.h"
#include "test/unit/kubelet/helpers.h"

#define SEC 1000000000LL
#define T0 (1700000000LL * SEC)

/* ---- canned runtime state (add newest first) ------------------------------------------------ */

static kl_pod_runtime *rt_new(void)
{
    kl_pod_runtime *rt = xcalloc(1, sizeof(*rt));
    rt->uid = xstrdup("uid-1");
    rt->sandboxes = xcalloc(8, sizeof(kl_rt_sandbox));
    rt->containers = xcalloc(16, sizeof(kl_rt_container));
    return rt;
}

static kl_rt_sandbox *rt_sandbox(kl_pod_runtime *rt, const char *id, uint32_t attempt, bool ready,
                                 const char *ip)
{
    kl_rt_sandbox *s = &rt->sandboxes[rt->n_sandboxes++];
    s->id = xstrdup(id);
    s->name = xstrdup("web");
    s->namespace_ = xstrdup("ns1");
    s->attempt = attempt;
    s->ready = ready;
    s->created_at = T0 - (int64_t)rt->n_sandboxes * SEC;
    s->ip = xstrdup(ip);
    s->network_mode = RUNTIME__V1__NAMESPACE_MODE__POD;
    return s;
}

static kl_rt_container *rt_container(kl_pod_runtime *rt, const char *id, const kl_container *spec,
                                     kl_cstate state, int exit_code, int restarts)
{
    kl_rt_container *c = &rt->containers[rt->n_containers++];
    c->id = xstrdup(id);
    c->name = xstrdup(spec->name);
    c->sandbox_id = xstrdup(rt->n_sandboxes ? rt->sandboxes[0].id : "");
    c->state = state;
    c->created_at = T0 + 100 * SEC - (int64_t)rt->n_containers * SEC;
    c->started_at = c->created_at + SEC / 2;
    if (state == KL_CS_EXITED) {
        c->finished_at = c->started_at + SEC;
        c->exit_code = exit_code;
        c->reason = xstrdup(exit_code ? "Error" : "Completed");
        c->message = xstrdup("");
    }
    c->image = xstrdup("localhost/busybox:1.35");
    c->image_ref = xstrdup("sha256:abc");
    c->has_hash = true;
    c->hash = spec->hash;
    c->restart_count = restarts;
    c->pod_grace_s = 30;
    c->log_path = xstrdup("");
    return c;
}

static kl_pod *app_pod(const char *restart)
{
    cleanup_free char *spec =
        xasprintf("  restartPolicy: %s\n"
                  "  containers: [{name: a, image: x}, {name: b, image: x}]\n",
                  restart);
    return kt_pod_spec(spec);
}

static kl_pod *init_pod(const char *restart)
{
    cleanup_free char *spec = xasprintf("  restartPolicy: %s\n"
                                        "  initContainers: [{name: i0, image: x}, {name: i1, "
                                        "image: x}]\n"
                                        "  containers: [{name: a, image: x}]\n",
                                        restart);
    return kt_pod_spec(spec);
}

/* ---- actions -----------------------------------------------------------------------------------
 */

KT_TEST(actions, new_pod_creates_a_sandbox_and_starts_everything)
{
    kl_pod *p = app_pod("Always");
    kl_pod_actions a;
    kl_compute_pod_actions(p, NULL, &a);
    KT_ASSERT(a.create_sandbox && a.kill_pod);
    KT_ASSERT_EQ(a.attempt, 0);
    KT_ASSERT_EQ(a.n_start, 2);
    KT_ASSERT_EQ(a.next_init, -1);
    kl_pod_actions_clear(&a);
    kl_pod_unref(p);

    p = init_pod("Always");
    kl_compute_pod_actions(p, NULL, &a);
    KT_ASSERT(a.create_sandbox);
    KT_ASSERT_EQ(a.next_init, 0);
    KT_ASSERT_EQ(a.n_start, 0); /* app containers wait for the init containers */
    kl_pod_actions_clear(&a);
    kl_pod_unref(p);
}

KT_TEST(actions, steady_pod_needs_nothing)
{
    kl_pod *p = app_pod("Always");
    kl_pod_runtime *rt = rt_new();
    rt_sandbox(rt, "s1", 0, true, "10.244.1.5");
    rt_container(rt, "ca", &p->containers[0], KL_CS_RUNNING, 0, 0);
    rt_container(rt, "cb", &p->containers[1], KL_CS_RUNNING, 0, 3);
    kl_pod_actions a;
    kl_compute_pod_actions(p, rt, &a);
    KT_ASSERT(!a.create_sandbox && !a.kill_pod);
    KT_ASSERT_STREQ(a.sandbox_id, "s1");
    KT_ASSERT_EQ(a.n_start + a.n_kill, 0);
    kl_pod_actions_clear(&a);

    /* a changed spec: kill and start again */
    rt->containers[1].hash ^= 1;
    kl_compute_pod_actions(p, rt, &a);
    KT_ASSERT_EQ(a.n_kill, 1);
    KT_ASSERT_STREQ(a.kill[0].c->id, "cb");
    KT_ASSERT_STREQ(a.kill[0].message, "Container b definition changed, will be restarted");
    KT_ASSERT_EQ(a.n_start, 1);
    KT_ASSERT_EQ(a.start[0], 1);
    kl_pod_actions_clear(&a);
    kl_pod_runtime_free(rt);
    kl_pod_unref(p);
}

KT_TEST(actions, restart_policies)
{
    static const struct {
        const char *policy;
        int exit_code;
        bool restart;
    } cases[] = {
        {"Always", 0, true},    {"Always", 1, true}, {"OnFailure", 0, false},
        {"OnFailure", 2, true}, {"Never", 0, false}, {"Never", 1, false},
    };
    for (size_t i = 0; i < KN_ARRAY_SIZE(cases); i++) {
        kl_pod *p = app_pod(cases[i].policy);
        kl_pod_runtime *rt = rt_new();
        rt_sandbox(rt, "s1", 0, true, "10.244.1.5");
        rt_container(rt, "ca", &p->containers[0], KL_CS_EXITED, cases[i].exit_code, 0);
        rt_container(rt, "cb", &p->containers[1], KL_CS_RUNNING, 0, 0);
        KT_ASSERT_EQ(kl_should_restart(&p->containers[0], p, rt), cases[i].restart);
        kl_pod_actions a;
        kl_compute_pod_actions(p, rt, &a);
        KT_ASSERT_MSG(a.n_start == (cases[i].restart ? 1u : 0u), "case %zu", i);
        KT_ASSERT(!a.kill_pod); /* b still runs */
        kl_pod_actions_clear(&a);
        /* b exits too: with nothing to run or start the pod is killed */
        rt->containers[1].state = KL_CS_EXITED;
        rt->containers[1].exit_code = cases[i].exit_code;
        kl_compute_pod_actions(p, rt, &a);
        KT_ASSERT_MSG(a.kill_pod == !cases[i].restart, "case %zu", i);
        kl_pod_actions_clear(&a);
        kl_pod_runtime_free(rt);
        kl_pod_unref(p);
    }
}

KT_TEST(actions, sandbox_changes)
{
    kl_pod *p = app_pod("Always");
    kl_pod_runtime *rt = rt_new();
    kl_rt_sandbox *s = rt_sandbox(rt, "s1", 2, false, "");
    rt_container(rt, "ca", &p->containers[0], KL_CS_EXITED, 137, 4);
    kl_pod_actions a;
    kl_compute_pod_actions(p, rt, &a);
    KT_ASSERT(a.create_sandbox && a.kill_pod);
    KT_ASSERT_EQ(a.attempt, 3);
    KT_ASSERT_EQ(a.n_start, 2);
    kl_pod_actions_clear(&a);

    /* ready but without an IP: a new one too */
    s->ready = true;
    kl_compute_pod_actions(p, rt, &a);
    KT_ASSERT(a.create_sandbox);
    kl_pod_actions_clear(&a);

    /* two ready sandboxes: a new one */
    free(s->ip);
    s->ip = xstrdup("10.244.1.9");
    rt_sandbox(rt, "s0", 1, true, "10.244.1.8");
    kl_compute_pod_actions(p, rt, &a);
    KT_ASSERT(a.create_sandbox);
    kl_pod_actions_clear(&a);
    kl_pod_runtime_free(rt);
    kl_pod_unref(p);

    /* restartPolicy Never: a dead sandbox of a pod that ran is not recreated */
    p = app_pod("Never");
    rt = rt_new();
    rt_sandbox(rt, "s1", 0, false, "");
    rt_container(rt, "ca", &p->containers[0], KL_CS_EXITED, 0, 0);
    kl_compute_pod_actions(p, rt, &a);
    KT_ASSERT(!a.create_sandbox && a.kill_pod);
    kl_pod_actions_clear(&a);
    kl_pod_runtime_free(rt);
    kl_pod_unref(p);
}

KT_TEST(actions, init_containers_in_order)
{
    kl_pod *p = init_pod("Always");
    kl_pod_runtime *rt = rt_new();
    rt_sandbox(rt, "s1", 0, true, "10.244.1.5");
    kl_rt_container *i0 = rt_container(rt, "i0", &p->init_containers[0], KL_CS_RUNNING, 0, 0);
    kl_pod_actions a;
    kl_compute_pod_actions(p, rt, &a);
    KT_ASSERT(!a.create_sandbox && a.next_init == -1 && a.n_start == 0); /* wait */
    kl_pod_actions_clear(&a);

    i0->state = KL_CS_EXITED;
    kl_compute_pod_actions(p, rt, &a);
    KT_ASSERT_EQ(a.next_init, 1);
    kl_pod_actions_clear(&a);

    i0->exit_code = 1; /* failed: restarted (not Never) */
    kl_compute_pod_actions(p, rt, &a);
    KT_ASSERT_EQ(a.next_init, 0);
    KT_ASSERT(!a.kill_pod);
    kl_pod_actions_clear(&a);

    kl_rt_container *i1 = rt_container(rt, "i1", &p->init_containers[1], KL_CS_EXITED, 0, 0);
    i1->created_at = T0 + 1000 * SEC;
    i0->exit_code = 0;
    kl_compute_pod_actions(p, rt, &a);
    KT_ASSERT_EQ(a.next_init, -1);
    KT_ASSERT_EQ(a.n_start, 1); /* initialized: the app container starts */
    kl_pod_actions_clear(&a);
    kl_pod_runtime_free(rt);
    kl_pod_unref(p);

    p = init_pod("Never");
    rt = rt_new();
    rt_sandbox(rt, "s1", 0, true, "10.244.1.5");
    rt_container(rt, "i0", &p->init_containers[0], KL_CS_EXITED, 3, 0);
    kl_compute_pod_actions(p, rt, &a);
    KT_ASSERT(a.kill_pod && a.next_init == -1 && a.n_start == 0);
    kl_pod_actions_clear(&a);
    kl_pod_runtime_free(rt);
    kl_pod_unref(p);
}

KT_TEST(actions, deleted_pods_are_not_restarted)
{
    kl_pod *p = kt_pod("metadata: {name: p, uid: u, deletionTimestamp: '2024-01-01T00:00:00Z'}\n"
                       "spec: {containers: [{name: a, image: x}]}\n");
    kl_pod_runtime *rt = rt_new();
    rt_sandbox(rt, "s1", 0, true, "10.244.1.5");
    rt_container(rt, "ca", &p->containers[0], KL_CS_EXITED, 1, 0);
    KT_ASSERT(!kl_should_restart(&p->containers[0], p, rt));
    kl_pod_actions a;
    kl_compute_pod_actions(p, rt, &a);
    KT_ASSERT(a.kill_pod && a.n_start == 0);
    kl_pod_actions_clear(&a);
    kl_pod_runtime_free(rt);
    kl_pod_unref(p);
}

/* ---- status -------------------------------------------------------------------------------------
 */

static const char *const host_ips[] = {"10.250.0.1", NULL};

static cJSON *status_of(const kl_pod *p, const kl_pod_runtime *rt, const cJSON *old,
                        const kl_reasons *r, bool terminal)
{
    kl_status_input in = {.pod = p,
                          .rt = rt,
                          .old = old,
                          .reasons = r,
                          .runtime_name = "containerd",
                          .host_ips = host_ips,
                          .now_ns = T0 + 500 * SEC,
                          .terminal = terminal};
    return kl_pod_status(&in);
}

static const char *str_at(const cJSON *doc, const char *path)
{
    const char *s = NULL;
    kn_error *err = NULL;
    if (kn_json_get_string(doc, path, &s, &err) < 0) {
        kn_error_free(&err);
        return NULL;
    }
    return s;
}

static double num_at(const cJSON *doc, const char *path)
{
    double v = -1;
    kn_error *err = NULL;
    if (kn_json_get_double(doc, path, &v, &err) < 0)
        kn_error_free(&err);
    return v;
}

static bool bool_at(const cJSON *doc, const char *path)
{
    bool v = false;
    kn_error *err = NULL;
    if (kn_json_get_bool(doc, path, &v, &err) < 0)
        kn_error_free(&err);
    return v;
}

/* The condition of type as "Status/Reason/Message". */
static char *cond(const cJSON *st, const char *type)
{
    const cJSON *arr = cJSON_GetObjectItem(st, "conditions"), *c;
    cJSON_ArrayForEach(c, arr)
    {
        if (strcmp(str_at(c, "type"), type) == 0)
            return xasprintf("%s/%s/%s", str_at(c, "status"),
                             str_at(c, "reason") ? str_at(c, "reason") : "",
                             str_at(c, "message") ? str_at(c, "message") : "");
    }
    return xstrdup("missing");
}

#define ASSERT_COND(st, type, want)                                                                \
    do {                                                                                           \
        cleanup_free char *c_ = cond(st, type);                                                    \
        KT_ASSERT_STREQ(c_, want);                                                                 \
    } while (0)

KT_TEST(podstatus, new_pod_is_pending)
{
    kl_pod *p = app_pod("Always");
    cleanup_cjson cJSON *st = status_of(p, NULL, NULL, NULL, false);
    KT_ASSERT_STREQ(str_at(st, "phase"), "Pending");
    KT_ASSERT_STREQ(str_at(st, "containerStatuses[0].name"), "a");
    KT_ASSERT_STREQ(str_at(st, "containerStatuses[0].state.waiting.reason"), "ContainerCreating");
    KT_ASSERT_STREQ(str_at(st, "containerStatuses[1].image"), "x");
    KT_ASSERT(!bool_at(st, "containerStatuses[0].ready"));
    ASSERT_COND(st, "PodReadyToStartContainers", "False//");
    ASSERT_COND(st, "Initialized", "True//");
    ASSERT_COND(st, "Ready", "False/ContainersNotReady/containers with unready status: [a b]");
    ASSERT_COND(st, "ContainersReady",
                "False/ContainersNotReady/containers with unready status: "
                "[a b]");
    ASSERT_COND(st, "PodScheduled", "True//");
    KT_ASSERT_STREQ(str_at(st, "hostIP"), "10.250.0.1");
    KT_ASSERT(str_at(st, "podIP") == NULL);
    KT_ASSERT_STREQ(str_at(st, "qosClass"), "BestEffort");
    KT_ASSERT_STREQ(str_at(st, "startTime"), "2023-11-14T22:21:40Z");
    KT_ASSERT(cJSON_GetObjectItem(st, "initContainerStatuses") == NULL);
    kl_pod_unref(p);
}

KT_TEST(podstatus, running_pod)
{
    kl_pod *p = app_pod("Always");
    kl_pod_runtime *rt = rt_new();
    rt_sandbox(rt, "s1", 0, true, "10.244.1.5");
    rt_container(rt, "cb", &p->containers[1], KL_CS_RUNNING, 0, 2);
    rt_container(rt, "ca", &p->containers[0], KL_CS_RUNNING, 0, 0);
    rt_container(rt, "cb-old", &p->containers[1], KL_CS_EXITED, 1, 1);
    cleanup_cjson cJSON *st = status_of(p, rt, NULL, NULL, false);
    KT_ASSERT_STREQ(str_at(st, "phase"), "Running");
    KT_ASSERT_STREQ(str_at(st, "podIP"), "10.244.1.5");
    KT_ASSERT_STREQ(str_at(st, "podIPs[0].ip"), "10.244.1.5");
    KT_ASSERT_STREQ(str_at(st, "hostIPs[0].ip"), "10.250.0.1");
    KT_ASSERT_STREQ(str_at(st, "containerStatuses[0].containerID"), "containerd://ca");
    KT_ASSERT(bool_at(st, "containerStatuses[0].ready"));
    KT_ASSERT(bool_at(st, "containerStatuses[0].started"));
    KT_ASSERT(str_at(st, "containerStatuses[0].state.running.startedAt") != NULL);
    KT_ASSERT_EQ(num_at(st, "containerStatuses[1].restartCount"), 2);
    KT_ASSERT_STREQ(str_at(st, "containerStatuses[1].imageID"), "sha256:abc");
    KT_ASSERT_EQ(num_at(st, "containerStatuses[1].lastState.terminated.exitCode"), 1);
    KT_ASSERT_STREQ(str_at(st, "containerStatuses[1].lastState.terminated.reason"), "Error");
    KT_ASSERT_STREQ(str_at(st, "containerStatuses[1].lastState.terminated.containerID"),
                    "containerd://cb-old");
    ASSERT_COND(st, "Ready", "True//");
    ASSERT_COND(st, "ContainersReady", "True//");
    ASSERT_COND(st, "PodReadyToStartContainers", "True//");

    /* the next status keeps transition times and startTime of unchanged conditions */
    cJSON *old = cJSON_Duplicate(st, true);
    cJSON_ReplaceItemInObject(old, "startTime", cJSON_CreateString("2020-01-01T00:00:00Z"));
    cJSON *c0 = cJSON_GetArrayItem(cJSON_GetObjectItem(old, "conditions"), 2); /* Ready */
    cJSON_ReplaceItemInObject(c0, "lastTransitionTime", cJSON_CreateString("2020-01-01T00:00:01Z"));
    cJSON *cs = cJSON_CreateObject();
    cJSON_AddStringToObject(cs, "type", "example.com/Gate");
    cJSON_AddStringToObject(cs, "status", "True");
    cJSON_AddItemToArray(cJSON_GetObjectItem(old, "conditions"), cs);
    cleanup_cjson cJSON *st2 = status_of(p, rt, old, NULL, false);
    KT_ASSERT_STREQ(str_at(st2, "startTime"), "2020-01-01T00:00:00Z");
    KT_ASSERT_STREQ(str_at(st2, "conditions[0].type"), "example.com/Gate");
    KT_ASSERT_STREQ(str_at(st2, "conditions[3].type"), "Ready");
    KT_ASSERT_STREQ(str_at(st2, "conditions[3].lastTransitionTime"), "2020-01-01T00:00:01Z");
    cJSON_Delete(old);
    kl_pod_runtime_free(rt);
    kl_pod_unref(p);
}

KT_TEST(podstatus, crash_loop_and_image_errors)
{
    kl_pod *p = app_pod("Always");
    kl_pod_runtime *rt = rt_new();
    rt_sandbox(rt, "s1", 0, true, "10.244.1.5");
    rt_container(rt, "ca2", &p->containers[0], KL_CS_EXITED, 1, 2);
    rt_container(rt, "ca1", &p->containers[0], KL_CS_EXITED, 1, 1);
    kl_reasons r = {0};
    kl_reasons_set(&r, "a", "CrashLoopBackOff",
                   "back-off 20s restarting failed container=a pod=web_ns1(uid-1)");
    kl_reasons_set(&r, "b", "ErrImagePull", "pull failed");
    cleanup_cjson cJSON *st = status_of(p, rt, NULL, &r, false);
    KT_ASSERT_STREQ(str_at(st, "containerStatuses[0].state.waiting.reason"), "CrashLoopBackOff");
    KT_ASSERT_CONTAINS(str_at(st, "containerStatuses[0].state.waiting.message"), "back-off 20s");
    KT_ASSERT_EQ(num_at(st, "containerStatuses[0].restartCount"), 2);
    /* the newest exit moves to lastState */
    KT_ASSERT_STREQ(str_at(st, "containerStatuses[0].lastState.terminated.containerID"),
                    "containerd://ca2");
    KT_ASSERT_STREQ(str_at(st, "containerStatuses[1].state.waiting.reason"), "ErrImagePull");
    KT_ASSERT_STREQ(str_at(st, "containerStatuses[1].state.waiting.message"), "pull failed");
    KT_ASSERT_STREQ(str_at(st, "phase"), "Pending"); /* b waits without having run */
    ASSERT_COND(st, "Ready", "False/ContainersNotReady/containers with unready status: [a b]");
    kl_reasons_remove(&r, "b");
    KT_ASSERT(kl_reasons_get(&r, "b") == NULL);
    kl_reasons_clear(&r);
    kl_pod_runtime_free(rt);
    kl_pod_unref(p);
}

KT_TEST(podstatus, phases)
{
    static const struct {
        const char *policy;
        int exit_a, exit_b;
        bool terminal;
        const char *phase;
    } cases[] = {
        {"Never", 0, 0, false, "Succeeded"},     {"Never", 0, 1, false, "Failed"},
        {"OnFailure", 0, 0, false, "Succeeded"}, {"OnFailure", 0, 1, false, "Running"},
        {"Always", 0, 0, false, "Running"},      {"Always", 137, 143, true, "Failed"},
        {"Always", 0, 0, true, "Succeeded"},
    };
    for (size_t i = 0; i < KN_ARRAY_SIZE(cases); i++) {
        kl_pod *p = app_pod(cases[i].policy);
        kl_pod_runtime *rt = rt_new();
        rt_sandbox(rt, "s1", 0, true, "10.244.1.5");
        rt_container(rt, "ca", &p->containers[0], KL_CS_EXITED, cases[i].exit_a, 0);
        rt_container(rt, "cb", &p->containers[1], KL_CS_EXITED, cases[i].exit_b, 0);
        cleanup_cjson cJSON *st = status_of(p, rt, NULL, NULL, cases[i].terminal);
        KT_ASSERT_MSG(strcmp(str_at(st, "phase"), cases[i].phase) == 0, "case %zu: %s", i,
                      str_at(st, "phase"));
        if (strcmp(cases[i].phase, "Succeeded") == 0)
            ASSERT_COND(st, "ContainersReady", "False/PodCompleted/");
        if (strcmp(cases[i].phase, "Failed") == 0)
            ASSERT_COND(st, "Ready", "False/PodFailed/");
        /* a terminal phase is never left */
        if (strcmp(cases[i].phase, "Failed") == 0) {
            rt->containers[0].state = KL_CS_RUNNING;
            cleanup_cjson cJSON *again = status_of(p, rt, st, NULL, false);
            KT_ASSERT_STREQ(str_at(again, "phase"), "Failed");
        }
        kl_pod_runtime_free(rt);
        kl_pod_unref(p);
    }
}

KT_TEST(podstatus, init_containers)
{
    kl_pod *p = init_pod("Always");
    kl_pod_runtime *rt = rt_new();
    rt_sandbox(rt, "s1", 0, true, "10.244.1.5");
    rt_container(rt, "i0", &p->init_containers[0], KL_CS_RUNNING, 0, 0);
    cleanup_cjson cJSON *st = status_of(p, rt, NULL, NULL, false);
    KT_ASSERT_STREQ(str_at(st, "phase"), "Pending");
    KT_ASSERT_STREQ(str_at(st, "initContainerStatuses[0].name"), "i0");
    KT_ASSERT(bool_at(st, "initContainerStatuses[0].started"));
    KT_ASSERT(!bool_at(st, "initContainerStatuses[0].ready"));
    KT_ASSERT_STREQ(str_at(st, "initContainerStatuses[1].state.waiting.reason"), "PodInitializing");
    KT_ASSERT_STREQ(str_at(st, "containerStatuses[0].state.waiting.reason"), "PodInitializing");
    ASSERT_COND(st, "Initialized",
                "False/ContainersNotInitialized/containers with incomplete "
                "status: [i0 i1]");

    rt->containers[0].state = KL_CS_EXITED;
    rt->containers[0].exit_code = 0;
    rt->containers[0].finished_at = T0;
    rt->containers[0].reason = xstrdup("Completed");
    rt->containers[0].message = xstrdup("");
    rt_container(rt, "i1", &p->init_containers[1], KL_CS_EXITED, 0, 0)->created_at = T0 + 200 * SEC;
    rt_container(rt, "ca", &p->containers[0], KL_CS_RUNNING, 0, 0)->created_at = T0 + 300 * SEC;
    cleanup_cjson cJSON *st2 = status_of(p, rt, st, NULL, false);
    KT_ASSERT_STREQ(str_at(st2, "phase"), "Running");
    KT_ASSERT(bool_at(st2, "initContainerStatuses[0].ready"));
    KT_ASSERT_STREQ(str_at(st2, "initContainerStatuses[1].state.terminated.reason"), "Completed");
    ASSERT_COND(st2, "Initialized", "True//");
    ASSERT_COND(st2, "Ready", "True//");
    kl_pod_runtime_free(rt);
    kl_pod_unref(p);
}

KT_TEST(podstatus, vanished_containers_and_kept_ips)
{
    kl_pod *p = app_pod("Always");
    kl_pod_runtime *rt = rt_new();
    rt_sandbox(rt, "s1", 0, true, "10.244.1.5");
    rt_container(rt, "ca", &p->containers[0], KL_CS_RUNNING, 0, 4);
    rt_container(rt, "cb", &p->containers[1], KL_CS_RUNNING, 0, 0);
    cleanup_cjson cJSON *st = status_of(p, rt, NULL, NULL, false);
    kl_pod_runtime_free(rt);

    /* the runtime lost everything: the containers ran, so they are not "never started" */
    rt = rt_new();
    cleanup_cjson cJSON *st2 = status_of(p, rt, st, NULL, false);
    KT_ASSERT_STREQ(str_at(st2, "containerStatuses[0].lastState.terminated.reason"),
                    "ContainerStatusUnknown");
    KT_ASSERT_EQ(num_at(st2, "containerStatuses[0].lastState.terminated.exitCode"), 137);
    KT_ASSERT_EQ(num_at(st2, "containerStatuses[0].restartCount"), 5);
    KT_ASSERT_STREQ(str_at(st2, "phase"), "Running");
    KT_ASSERT_STREQ(str_at(st2, "podIP"), "10.244.1.5"); /* kept */
    kl_pod_runtime_free(rt);
    kl_pod_unref(p);

    /* hostNetwork pods have the node's IPs */
    p = kt_pod_spec("  hostNetwork: true\n  containers: [{name: a, image: x}]\n");
    cleanup_cjson cJSON *st3 = status_of(p, NULL, NULL, NULL, false);
    KT_ASSERT_STREQ(str_at(st3, "podIP"), "10.250.0.1");
    kl_pod_unref(p);
}

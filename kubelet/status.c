/* status.c - PodStatus from spec + runtime state (see status.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kubelet/actions.h"
#include "kubelet/status.h"
#include "lib/cleanup.h"
#include "lib/json.h"
#include "lib/strbuf.h"
#include "lib/xalloc.h"

#define REASON_CONTAINER_CREATING "ContainerCreating"
#define REASON_POD_INITIALIZING "PodInitializing"
#define REASON_STATUS_UNKNOWN "ContainerStatusUnknown"

/* ---- reasons ------------------------------------------------------------------------------- */

const kl_reason *kl_reasons_get(const kl_reasons *r, const char *container)
{
    for (size_t i = 0; r && i < r->n; i++)
        if (strcmp(r->v[i].container, container) == 0)
            return &r->v[i];
    return NULL;
}

void kl_reasons_set(kl_reasons *r, const char *container, const char *reason, const char *message)
{
    kl_reason *e = (kl_reason *)kl_reasons_get(r, container);
    if (!e) {
        r->v = xreallocarray(r->v, r->n + 1, sizeof(kl_reason));
        e = &r->v[r->n++];
        e->container = xstrdup(container);
    } else {
        free(e->reason);
        free(e->message);
    }
    e->reason = xstrdup(reason);
    e->message = xstrdup(message ? message : "");
}

void kl_reasons_remove(kl_reasons *r, const char *container)
{
    for (size_t i = 0; i < r->n; i++) {
        if (strcmp(r->v[i].container, container) != 0)
            continue;
        free(r->v[i].container);
        free(r->v[i].reason);
        free(r->v[i].message);
        r->v[i] = r->v[--r->n];
        return;
    }
}

void kl_reasons_clear(kl_reasons *r)
{
    while (r->n)
        kl_reasons_remove(r, r->v[0].container);
    free(r->v);
    r->v = NULL;
}

/* ---- helpers ------------------------------------------------------------------------------- */

void kl_format_time(int64_t ns, char buf[32])
{
    time_t t = (time_t)(ns / 1000000000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void add_time(cJSON *obj, const char *key, int64_t ns)
{
    if (ns <= 0) {
        cJSON_AddNullToObject(obj, key);
        return;
    }
    char buf[32];
    kl_format_time(ns, buf);
    cJSON_AddStringToObject(obj, key, buf);
}

static void add_nonempty(cJSON *obj, const char *key, const char *v)
{
    if (v && *v)
        cJSON_AddStringToObject(obj, key, v);
}

static const cJSON *get(const cJSON *obj, const char *key)
{
    const cJSON *m = obj ? cJSON_GetObjectItemCaseSensitive(obj, key) : NULL;
    return m && !cJSON_IsNull(m) ? m : NULL;
}

static const char *get_str(const cJSON *obj, const char *key)
{
    const cJSON *m = get(obj, key);
    return cJSON_IsString(m) ? m->valuestring : NULL;
}

static double get_num(const cJSON *obj, const char *key)
{
    const cJSON *m = get(obj, key);
    return cJSON_IsNumber(m) ? m->valuedouble : 0;
}

/* The status named name in old's containerStatuses or initContainerStatuses. */
static const cJSON *old_container(const cJSON *old, const char *list, const char *name)
{
    const cJSON *arr = get(old, list), *e;
    cJSON_ArrayForEach(e, arr)
    {
        const char *n = get_str(e, "name");
        if (n && strcmp(n, name) == 0)
            return e;
    }
    return NULL;
}

static cJSON *waiting_state(const char *reason, const char *message)
{
    cJSON *st = cJSON_CreateObject();
    cJSON *w = cJSON_AddObjectToObject(st, "waiting");
    add_nonempty(w, "reason", reason);
    add_nonempty(w, "message", message);
    return st;
}

static void set_member(cJSON *obj, const char *key, cJSON *value)
{
    if (cJSON_HasObjectItem(obj, key))
        cJSON_ReplaceItemInObjectCaseSensitive(obj, key, value);
    else
        cJSON_AddItemToObject(obj, key, value);
}

static void set_number(cJSON *obj, const char *key, double v)
{
    set_member(obj, key, cJSON_CreateNumber(v));
}

/* ---- one container ------------------------------------------------------------------------ */

static char *container_id(const kl_status_input *in, const kl_rt_container *c)
{
    return xasprintf("%s://%s", in->runtime_name ? in->runtime_name : "containerd", c->id);
}

/* upstream convertContainerStatus */
static cJSON *convert(const kl_status_input *in, const kl_rt_container *c, const cJSON *old)
{
    cleanup_free char *cid = container_id(in, c);
    cJSON *s = cJSON_CreateObject();
    cJSON_AddStringToObject(s, "name", c->name);
    cJSON *state = cJSON_AddObjectToObject(s, "state");
    cJSON_AddObjectToObject(s, "lastState");
    cJSON_AddBoolToObject(s, "ready", false);
    int restarts = c->restart_count;
    const cJSON *old_state = get(old, "state");
    if (c->state == KL_CS_RUNNING) {
        add_time(cJSON_AddObjectToObject(state, "running"), "startedAt", c->started_at);
    } else if (c->state == KL_CS_EXITED) {
        cJSON *t = cJSON_AddObjectToObject(state, "terminated");
        cJSON_AddNumberToObject(t, "exitCode", c->exit_code);
        add_nonempty(t, "reason", c->reason);
        add_nonempty(t, "message", c->message);
        add_time(t, "startedAt", c->started_at);
        add_time(t, "finishedAt", c->finished_at);
        cJSON_AddStringToObject(t, "containerID", cid);
    } else if (c->state == KL_CS_UNKNOWN && get(old_state, "running")) {
        cJSON *t = cJSON_AddObjectToObject(state, "terminated");
        cJSON_AddNumberToObject(t, "exitCode", 137);
        cJSON_AddStringToObject(t, "reason", REASON_STATUS_UNKNOWN);
        cJSON_AddStringToObject(t, "message",
                                "The container could not be located when the pod was terminated");
        add_time(t, "startedAt", 0);
        add_time(t, "finishedAt", 0);
        restarts = (int)get_num(old, "restartCount") + 1;
    } else {
        cJSON_AddObjectToObject(state, "waiting");
    }
    cJSON_AddNumberToObject(s, "restartCount", restarts);
    cJSON_AddStringToObject(s, "image", c->image);
    cJSON_AddStringToObject(s, "imageID", c->image_ref);
    cJSON_AddStringToObject(s, "containerID", cid);
    return s;
}

/* The default status of a container before the runtime is consulted. */
static cJSON *default_status(const kl_container *c, const cJSON *old, bool has_init)
{
    if (old && get(get(old, "state"), "terminated"))
        return cJSON_Duplicate(old, true);
    cJSON *s = cJSON_CreateObject();
    cJSON_AddStringToObject(s, "name", c->name);
    cJSON_AddItemToObject(
        s, "state",
        waiting_state(has_init ? REASON_POD_INITIALIZING : REASON_CONTAINER_CREATING, NULL));
    const cJSON *last = get(old, "lastState");
    cJSON_AddItemToObject(s, "lastState",
                          last ? cJSON_Duplicate(last, true) : cJSON_CreateObject());
    cJSON_AddBoolToObject(s, "ready", false);
    cJSON_AddNumberToObject(s, "restartCount", get_num(old, "restartCount"));
    cJSON_AddStringToObject(s, "image", c->image);
    cJSON_AddStringToObject(s, "imageID", "");
    return s;
}

/* A container the runtime no longer knows but that ran before: show it as
 * stopped, not as never started (upstream's ContainerStatusUnknown). */
static void vanished(const kl_status_input *in, cJSON *s, const cJSON *old, bool has_init)
{
    if (!old || get(get(old, "state"), "terminated") || !get(get(old, "state"), "running"))
        return;
    const char *w = get_str(get(get(s, "state"), "waiting"), "reason");
    const char *def = has_init ? REASON_POD_INITIALIZING : REASON_CONTAINER_CREATING;
    if (!w || strcmp(w, def) != 0 || get(get(s, "lastState"), "terminated"))
        return;
    cJSON *last = cJSON_CreateObject();
    cJSON *t = cJSON_AddObjectToObject(last, "terminated");
    cJSON_AddNumberToObject(t, "exitCode", 137);
    cJSON_AddStringToObject(t, "reason", REASON_STATUS_UNKNOWN);
    cJSON_AddStringToObject(t, "message",
                            "The container could not be located when the pod was "
                            "deleted.  The container used to be Running");
    add_time(t, "startedAt", 0);
    add_time(t, "finishedAt", 0);
    set_member(s, "lastState", last);
    if (!in->pod->deletion_timestamp)
        set_number(s, "restartCount", get_num(s, "restartCount") + 1);
}

/* The newest and second newest runtime containers named name. */
static void newest_two(const kl_pod_runtime *rt, const char *name, const kl_rt_container **a,
                       const kl_rt_container **b)
{
    *a = *b = NULL;
    for (size_t i = 0; rt && i < rt->n_containers; i++) {
        if (strcmp(rt->containers[i].name, name) != 0)
            continue;
        if (!*a)
            *a = &rt->containers[i];
        else if (!*b)
            *b = &rt->containers[i];
    }
}

static void apply_reason(const kl_status_input *in, cJSON *s, const kl_container *c, bool init)
{
    const kl_rt_container *newest = kl_rt_find(in->rt, c->name);
    if (init && newest && newest->state == KL_CS_EXITED && newest->exit_code == 0)
        return;
    if (!kl_should_restart(c, in->pod, in->rt))
        return;
    const kl_reason *r = kl_reasons_get(in->reasons, c->name);
    if (!r)
        return;
    cJSON *state = get((cJSON *)s, "state") ? cJSON_DetachItemFromObject(s, "state") : NULL;
    if (state && get(state, "terminated"))
        set_member(s, "lastState", state);
    else
        cJSON_Delete(state);
    cJSON_AddItemToObject(s, "state", waiting_state(r->reason, r->message));
}

static void set_ready(cJSON *s, bool init)
{
    const cJSON *state = get(s, "state");
    bool running = get(state, "running") != NULL;
    const cJSON *t = get(state, "terminated");
    bool ready = init ? t && get_num(t, "exitCode") == 0 : running;
    set_member(s, "ready", cJSON_CreateBool(ready));
    set_member(s, "started", cJSON_CreateBool(running));
}

static cJSON *container_status(const kl_status_input *in, const kl_container *c, bool init)
{
    const char *list = init ? "initContainerStatuses" : "containerStatuses";
    const cJSON *old = old_container(in->old, list, c->name);
    bool has_init = in->pod->n_init_containers > 0;
    cJSON *s = default_status(c, old, has_init);
    const kl_rt_container *a, *b;
    newest_two(in->rt, c->name, &a, &b);
    if (!a)
        vanished(in, s, old, has_init);
    if (a) {
        cJSON_Delete(s);
        s = convert(in, a, old);
    }
    if (b) {
        cJSON *second = convert(in, b, old);
        set_member(s, "lastState", cJSON_DetachItemFromObject(second, "state"));
        cJSON_Delete(second);
    }
    apply_reason(in, s, c, init);
    set_ready(s, init);
    return s;
}

static int cmp_by_name(const void *a, const void *b)
{
    const cJSON *x = *(const cJSON *const *)a, *y = *(const cJSON *const *)b;
    return strcmp(get_str(x, "name"), get_str(y, "name"));
}

static cJSON *container_statuses(const kl_status_input *in, bool init)
{
    const kl_pod *p = in->pod;
    size_t n = init ? p->n_init_containers : p->n_containers;
    cJSON **items = xcalloc(n + 1, sizeof(cJSON *));
    for (size_t i = 0; i < n; i++)
        items[i] = container_status(in, init ? &p->init_containers[i] : &p->containers[i], init);
    if (!init) /* app container statuses are sorted by name */
        qsort(items, n, sizeof(cJSON *), cmp_by_name);
    cJSON *arr = cJSON_CreateArray();
    for (size_t i = 0; i < n; i++)
        cJSON_AddItemToArray(arr, items[i]);
    free(items);
    return arr;
}

/* ---- phase (upstream getPhase) ----------------------------------------------------------------
 */

static const cJSON *status_of(const cJSON *status, const char *name)
{
    const cJSON *s = old_container(status, "initContainerStatuses", name);
    return s ? s : old_container(status, "containerStatuses", name);
}

static void count_init(const kl_pod *pod, const cJSON *status, int *pending, int *failed)
{
    for (size_t i = 0; i < pod->n_init_containers; i++) {
        const cJSON *s = status_of(status, pod->init_containers[i].name);
        const cJSON *st = get(s, "state");
        const cJSON *last_t = get(get(s, "lastState"), "terminated");
        if (!s || get(st, "running")) {
            (*pending)++;
        } else if (get(st, "terminated")) {
            *failed += get_num(get(st, "terminated"), "exitCode") != 0;
        } else if (get(st, "waiting") && last_t) {
            *failed += get_num(last_t, "exitCode") != 0;
        } else {
            (*pending)++;
        }
    }
}

static bool any_app_started(const kl_pod *pod, const cJSON *status)
{
    for (size_t i = 0; i < pod->n_containers; i++) {
        const cJSON *st =
            get(old_container(status, "containerStatuses", pod->containers[i].name), "state");
        if (get(st, "running") || get(st, "terminated"))
            return true;
    }
    return false;
}

const char *kl_pod_phase(const kl_pod *pod, const cJSON *status, bool terminal)
{
    int pending = 0, failed_init = 0, unknown = 0, running = 0, waiting = 0, stopped = 0,
        succeeded = 0;
    count_init(pod, status, &pending, &failed_init);
    for (size_t i = 0; i < pod->n_containers; i++) {
        const cJSON *s = old_container(status, "containerStatuses", pod->containers[i].name);
        const cJSON *st = get(s, "state"), *t = get(st, "terminated");
        if (!s) {
            unknown++;
        } else if (get(st, "running")) {
            running++;
        } else if (t) {
            stopped++;
            succeeded += get_num(t, "exitCode") == 0;
        } else if (get(st, "waiting")) {
            if (get(get(s, "lastState"), "terminated"))
                stopped++;
            else
                waiting++;
        } else {
            unknown++;
        }
    }
    if (failed_init > 0 && pod->restart_policy == KL_RESTART_NEVER)
        return "Failed";
    if ((pending > 0 && !any_app_started(pod, status)) || waiting > 0)
        return "Pending";
    if (running > 0 && unknown == 0)
        return "Running";
    if (running == 0 && stopped > 0 && unknown == 0) {
        if (terminal && !kl_pod_is_static(pod))
            return stopped == succeeded ? "Succeeded" : "Failed";
        if (pod->restart_policy == KL_RESTART_ALWAYS)
            return "Running";
        if (stopped == succeeded)
            return "Succeeded";
        if (pod->restart_policy == KL_RESTART_NEVER)
            return "Failed";
        return "Running";
    }
    return "Pending";
}

/* ---- conditions ------------------------------------------------------------------------------ */

typedef struct cond {
    const char *type;
    bool status;
    const char *reason;
    char *message;
} cond;

static bool is_terminal(const char *phase)
{
    return strcmp(phase, "Succeeded") == 0 || strcmp(phase, "Failed") == 0;
}

/* "[a b]": Go's %s of a []string. */
static void go_list(kn_buf *b, const char *prefix, char **names, size_t n)
{
    if (!n)
        return;
    kn_buf_appendf(b, "%s%s: [", b->len ? ", " : "", prefix);
    for (size_t i = 0; i < n; i++)
        kn_buf_appendf(b, "%s%s", i ? " " : "", names[i]);
    kn_buf_append_char(b, ']');
}

static cond initialized_cond(const kl_pod *pod, const cJSON *status, const char *phase)
{
    cond c = {"Initialized", true, NULL, NULL};
    if (pod->n_init_containers == 0)
        return c;
    char **unknown = xcalloc(pod->n_init_containers, sizeof(char *));
    char **incomplete = xcalloc(pod->n_init_containers, sizeof(char *));
    size_t nu = 0, ni = 0;
    for (size_t i = 0; i < pod->n_init_containers; i++) {
        const char *name = pod->init_containers[i].name;
        const cJSON *s = old_container(status, "initContainerStatuses", name);
        const cJSON *t = get(get(s, "state"), "terminated");
        if (!s)
            unknown[nu++] = (char *)name;
        else if (!t || get_num(t, "exitCode") != 0)
            incomplete[ni++] = (char *)name;
    }
    if (strcmp(phase, "Succeeded") == 0 && nu == 0) {
        c.reason = "PodCompleted";
    } else if (!any_app_started(pod, status) && (nu || ni)) {
        kn_buf b = KN_BUF_INIT;
        go_list(&b, "containers with unknown status", unknown, nu);
        go_list(&b, "containers with incomplete status", incomplete, ni);
        c.status = false;
        c.reason = "ContainersNotInitialized";
        c.message = kn_buf_steal(&b);
    }
    free(unknown);
    free(incomplete);
    return c;
}

static cond containers_ready_cond(const kl_pod *pod, const cJSON *status, const char *phase)
{
    cond c = {"ContainersReady", true, NULL, NULL};
    char **unknown = xcalloc(pod->n_containers, sizeof(char *));
    char **unready = xcalloc(pod->n_containers, sizeof(char *));
    size_t nu = 0, nr = 0;
    for (size_t i = 0; i < pod->n_containers; i++) {
        const char *name = pod->containers[i].name;
        const cJSON *s = old_container(status, "containerStatuses", name);
        if (!s)
            unknown[nu++] = (char *)name;
        else if (!cJSON_IsTrue(get(s, "ready")))
            unready[nr++] = (char *)name;
    }
    if (strcmp(phase, "Succeeded") == 0 && nu == 0) {
        c.status = false;
        c.reason = "PodCompleted";
    } else if (strcmp(phase, "Failed") == 0) {
        c.status = false;
        c.reason = "PodFailed";
    } else if (nu || nr) {
        kn_buf b = KN_BUF_INIT;
        go_list(&b, "containers with unknown status", unknown, nu);
        go_list(&b, "containers with unready status", unready, nr);
        c.status = false;
        c.reason = "ContainersNotReady";
        c.message = kn_buf_steal(&b);
    }
    free(unknown);
    free(unready);
    return c;
}

static const cJSON *old_condition(const cJSON *old, const char *type)
{
    const cJSON *e;
    cJSON_ArrayForEach(e, get(old, "conditions"))
    {
        const char *t = get_str(e, "type");
        if (t && strcmp(t, type) == 0)
            return e;
    }
    return NULL;
}

static void add_condition(cJSON *arr, const cond *c, const cJSON *old, int64_t now)
{
    cJSON *o = cJSON_CreateObject();
    const char *st = c->status ? "True" : "False";
    cJSON_AddStringToObject(o, "type", c->type);
    cJSON_AddStringToObject(o, "status", st);
    cJSON_AddNullToObject(o, "lastProbeTime");
    const cJSON *prev = old_condition(old, c->type);
    const char *prev_st = get_str(prev, "status");
    const char *prev_t = get_str(prev, "lastTransitionTime");
    if (prev_st && prev_t && strcmp(prev_st, st) == 0)
        cJSON_AddStringToObject(o, "lastTransitionTime", prev_t);
    else
        add_time(o, "lastTransitionTime", now);
    add_nonempty(o, "reason", c->reason);
    add_nonempty(o, "message", c->message);
    cJSON_AddItemToArray(arr, o);
}

static bool kubelet_owned(const char *type)
{
    static const char *const owned[] = {"PodScheduled", "Ready", "Initialized", "ContainersReady",
                                        "PodReadyToStartContainers"};
    for (size_t i = 0; i < KN_ARRAY_SIZE(owned); i++)
        if (strcmp(type, owned[i]) == 0)
            return true;
    return false;
}

static cJSON *conditions(const kl_status_input *in, const cJSON *status, const char *phase)
{
    cJSON *arr = cJSON_CreateArray();
    const cJSON *e;
    cJSON_ArrayForEach(e, get(in->old, "conditions"))
    {
        const char *t = get_str(e, "type");
        if (t && !kubelet_owned(t))
            cJSON_AddItemToArray(arr, cJSON_Duplicate(e, true));
    }
    uint32_t attempt;
    const char *sid;
    cond ready_start = {"PodReadyToStartContainers",
                        !kl_sandbox_changed(in->pod, in->rt, &attempt, &sid), NULL, NULL};
    cond init = initialized_cond(in->pod, status, phase);
    cond cready = containers_ready_cond(in->pod, status, phase);
    cond ready = {"Ready", cready.status, cready.reason, cready.message};
    cond sched = {"PodScheduled", true, NULL, NULL};
    const cond *all[] = {&ready_start, &init, &ready, &cready, &sched};
    for (size_t i = 0; i < KN_ARRAY_SIZE(all); i++)
        add_condition(arr, all[i], in->old, in->now_ns);
    free(init.message);
    free(cready.message);
    return arr;
}

/* ---- addresses and the whole status --------------------------------------------------------- */

static cJSON *ip_list(const char *const *ips)
{
    cJSON *arr = cJSON_CreateArray();
    for (size_t i = 0; ips && ips[i]; i++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "ip", ips[i]);
        cJSON_AddItemToArray(arr, o);
    }
    return arr;
}

static void add_pod_ips(cJSON *st, const kl_status_input *in)
{
    const char *ips[8] = {0};
    size_t n = 0;
    const kl_rt_sandbox *s = kl_rt_newest_sandbox(in->rt);
    if (in->pod->host_network) {
        for (size_t i = 0; in->host_ips && in->host_ips[i] && n < 7; i++)
            ips[n++] = in->host_ips[i];
    } else if (s && s->ready && *s->ip) {
        ips[n++] = s->ip;
        for (size_t i = 0; i < s->n_extra_ips && n < 7; i++)
            ips[n++] = s->extra_ips[i];
    }
    if (n) {
        cJSON_AddStringToObject(st, "podIP", ips[0]);
        cJSON_AddItemToObject(st, "podIPs", ip_list(ips));
        return;
    }
    const char *old_ip = get_str(in->old, "podIP");
    if (old_ip && *old_ip) {
        cJSON_AddStringToObject(st, "podIP", old_ip);
        const cJSON *old_ips = get(in->old, "podIPs");
        if (old_ips)
            cJSON_AddItemToObject(st, "podIPs", cJSON_Duplicate(old_ips, true));
    }
}

static void add_phase(cJSON *st, const kl_status_input *in)
{
    const char *phase = kl_pod_phase(in->pod, st, in->terminal);
    const char *old_phase = get_str(in->old, "phase");
    if (!is_terminal(phase) && old_phase && is_terminal(old_phase))
        phase = old_phase; /* a terminal phase is final */
    cJSON_AddStringToObject(st, "phase", phase);
    if (old_phase && strcmp(old_phase, phase) == 0) {
        add_nonempty(st, "reason", get_str(in->old, "reason"));
        add_nonempty(st, "message", get_str(in->old, "message"));
    }
}

cJSON *kl_pod_status(const kl_status_input *in)
{
    cJSON *st = cJSON_CreateObject();
    cJSON_AddItemToObject(st, "initContainerStatuses", container_statuses(in, true));
    cJSON_AddItemToObject(st, "containerStatuses", container_statuses(in, false));
    add_phase(st, in);
    cJSON_AddItemToObject(st, "conditions", conditions(in, st, get_str(st, "phase")));
    if (in->host_ips && in->host_ips[0]) {
        cJSON_AddStringToObject(st, "hostIP", in->host_ips[0]);
        cJSON_AddItemToObject(st, "hostIPs", ip_list(in->host_ips));
    }
    add_pod_ips(st, in);
    const char *start = get_str(in->old, "startTime");
    if (start)
        cJSON_AddStringToObject(st, "startTime", start);
    else
        add_time(st, "startTime", in->now_ns);
    cJSON_AddStringToObject(st, "qosClass", kl_qos_name(in->pod->qos));
    if (in->pod->n_init_containers == 0)
        cJSON_DeleteItemFromObject(st, "initContainerStatuses");
    return st;
}

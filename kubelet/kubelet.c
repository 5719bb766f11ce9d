/* kubelet.c - pod registry, workers, PLEG wiring, status and housekeeping
 * (see kubelet.h). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "cri/msg.h"
#include "cri/runtime.h"
#include "kubelet/kubelet.h"
#include "kubelet/pleg.h"
#include "kubelet/pod_worker.h"
#include "kubelet/runtime_state.h"
#include "kubelet/status.h"
#include "kubelet/sync.h"
#include "lib/backoff.h"
#include "lib/cleanup.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/xalloc.h"

#define COMPONENT "kubelet"
#define SEC (1000 * 1000 * 1000LL)

typedef enum pod_state {
    POD_ACTIVE,  /* in a source: sync it (kill it when it has a deletionTimestamp) */
    POD_REMOVED, /* dropped by its source: kill and remove, then forget */
    POD_ORPHAN,  /* in the runtime only: kill and remove, then forget */
} pod_state;

typedef struct pod_entry {
    char *uid;
    char *source;
    kl_pod *pod; /* latest spec; NULL for orphans */
    pod_state state;
    kn_rcstr *status;     /* the last status emitted (compact JSON text, shared
                           * with the status sink) */
    bool killed;          /* terminating pod: everything stopped */
    kl_pod_sync_state ps; /* worker-only (one worker per uid at a time) */
} pod_entry;

struct kl_kubelet {
    kl_kubelet_opts o;
    cri_conn *conn;
    char *runtime_name;
    kl_cgroups *cgroups;
    kl_syncer syncer;
    kl_pod_workers *workers;
    kl_pleg *pleg;
    const char *host_ips[KL_MAX_NODE_IPS + 1];

    pthread_mutex_t mu; /* guards everything below */
    pod_entry **pods;
    size_t npods;
    char **ready_sources;
    size_t nready;
    int64_t last_housekeeping;
    bool stopping;
};

/* ---- registry (call with mu held) ----------------------------------------------------------- */

static pod_entry *find(kl_kubelet *k, const char *uid)
{
    for (size_t i = 0; i < k->npods; i++)
        if (strcmp(k->pods[i]->uid, uid) == 0)
            return k->pods[i];
    return NULL;
}

static pod_entry *add_entry(kl_kubelet *k, const char *uid)
{
    pod_entry *e = xcalloc(1, sizeof(*e));
    e->uid = xstrdup(uid);
    k->pods = xreallocarray(k->pods, k->npods + 1, sizeof(pod_entry *));
    k->pods[k->npods++] = e;
    return e;
}

static void entry_free(pod_entry *e)
{
    free(e->uid);
    free(e->source);
    kl_pod_unref(e->pod);
    kn_rcstr_unref(e->status);
    kl_pod_sync_state_clear(&e->ps);
    free(e);
}

static void drop_entry(kl_kubelet *k, pod_entry *e)
{
    for (size_t i = 0; i < k->npods; i++)
        if (k->pods[i] == e) {
            k->pods[i] = k->pods[--k->npods];
            entry_free(e);
            return;
        }
}

static bool sources_ready(kl_kubelet *k)
{
    for (size_t i = 0; k->o.sources && k->o.sources[i]; i++) {
        bool ready = false;
        for (size_t r = 0; r < k->nready && !ready; r++)
            ready = strcmp(k->ready_sources[r], k->o.sources[i]) == 0;
        if (!ready)
            return false;
    }
    return true;
}

/* ---- status --------------------------------------------------------------------------------- */

static void emit_status(kl_kubelet *k, pod_entry *e, const kl_pod *pod, const kl_pod_runtime *rt,
                        bool terminal, bool final)
{
    pthread_mutex_lock(&k->mu);
    kn_rcstr *last = kn_rcstr_ref(e->status);
    pthread_mutex_unlock(&k->mu);
    cJSON *old = last ? kl_json_reparse(kn_rcstr_str(last)) : kl_pod_status_copy(pod);
    kn_rcstr_unref(last);
    kl_status_input in = {.pod = pod,
                          .rt = rt,
                          .old = old,
                          .reasons = &e->ps.reasons,
                          .runtime_name = k->runtime_name,
                          .host_ips = k->host_ips,
                          .now_ns = kn_time_wall_ns(),
                          .terminal = terminal};
    cJSON *st = kl_pod_status(&in);
    cJSON_Delete(old);
    cleanup_free char *printed = kn_json_print(st);
    kn_rcstr *text = kn_rcstr_new(printed);
    if (k->o.status_sink)
        k->o.status_sink(k->o.status_arg, pod, st, text, final);
    cJSON_Delete(st);
    pthread_mutex_lock(&k->mu);
    kn_rcstr_unref(e->status);
    e->status = text;
    pthread_mutex_unlock(&k->mu);
}

/* ---- the work of one pod ------------------------------------------------------------------ */

static kl_pod_runtime *get_runtime(kl_kubelet *k, const char *uid)
{
    kl_pod_runtime *rt = NULL;
    kn_error *err = NULL;
    if (kl_runtime_get_pod(k->conn, uid, &rt, &err) < 0) {
        KN_WARN(COMPONENT, "%s", kn_error_msg(err));
        kn_error_free(&err);
        return NULL;
    }
    return rt;
}

static int64_t sync_active(kl_kubelet *k, pod_entry *e, const kl_pod *pod)
{
    kl_pod_runtime *rt = get_runtime(k, pod->uid);
    if (!rt)
        return k->o.error_requeue_ns;
    bool changed = false;
    kn_error *err = NULL;
    int rc = kl_sync_pod(&k->syncer, pod, rt, &e->ps, &changed, &err);
    if (rc < 0) {
        KN_V(1, COMPONENT, "sync pod %s/%s: %s", pod->namespace_, pod->name, kn_error_msg(err));
        kn_error_free(&err);
    }
    if (changed) {
        kl_pod_runtime *fresh = get_runtime(k, pod->uid);
        if (fresh) {
            kl_pod_runtime_free(rt);
            rt = fresh;
        }
    }
    kl_gc_pod(&k->syncer, rt);
    emit_status(k, e, pod, rt, false, false);
    kl_pod_runtime_free(rt);
    if (rc == 0)
        return k->o.resync_period_ns;
    int64_t wait = e->ps.backoff_wait_ns;
    return wait > 0 && wait < k->o.error_requeue_ns ? wait : k->o.error_requeue_ns;
}

/* A pod with a deletionTimestamp: kill it and report the final status. */
static int64_t sync_terminating(kl_kubelet *k, pod_entry *e, const kl_pod *pod)
{
    kl_pod_runtime *rt = get_runtime(k, pod->uid);
    if (!rt)
        return k->o.error_requeue_ns;
    kn_error *err = NULL;
    int rc = kl_kill_pod(&k->syncer, pod, rt, -1, &err);
    if (rc < 0) {
        KN_WARN(COMPONENT, "kill pod %s/%s: %s", pod->namespace_, pod->name, kn_error_msg(err));
        kn_error_free(&err);
    }
    kl_pod_runtime *fresh = get_runtime(k, pod->uid);
    emit_status(k, e, pod, fresh ? fresh : rt, rc == 0, rc == 0);
    kl_pod_runtime_free(fresh);
    kl_pod_runtime_free(rt);
    pthread_mutex_lock(&k->mu);
    e->killed = rc == 0;
    pthread_mutex_unlock(&k->mu);
    return rc == 0 ? -1 : k->o.error_requeue_ns;
}

/* A pod its source dropped, or an orphan: kill, remove, forget. */
static int64_t sync_removed(kl_kubelet *k, pod_entry *e, const kl_pod *pod)
{
    kl_pod_runtime *rt = get_runtime(k, e->uid);
    if (!rt)
        return k->o.error_requeue_ns;
    kn_error *err = NULL;
    int rc = kl_kill_pod(&k->syncer, pod, rt, -1, &err);
    kl_pod_runtime *fresh = rc == 0 ? get_runtime(k, e->uid) : NULL;
    if (fresh) {
        if (pod)
            emit_status(k, e, pod, fresh, true, true);
        rc = kl_remove_pod(&k->syncer, pod, fresh, e->uid, &err);
    }
    kl_pod_runtime_free(fresh);
    kl_pod_runtime_free(rt);
    if (rc < 0 || !fresh) {
        KN_WARN(COMPONENT, "remove pod %s: %s", e->uid, err ? kn_error_msg(err) : "runtime");
        kn_error_free(&err);
        return k->o.error_requeue_ns;
    }
    KN_INFO(COMPONENT, "pod %s removed", e->uid);
    pthread_mutex_lock(&k->mu);
    bool forget = e->state != POD_ACTIVE; /* not re-added meanwhile */
    if (forget)
        drop_entry(k, e);
    pthread_mutex_unlock(&k->mu);
    return forget ? -1 : 0;
}

static int64_t work(void *arg, const char *uid)
{
    kl_kubelet *k = arg;
    pthread_mutex_lock(&k->mu);
    pod_entry *e = k->stopping ? NULL : find(k, uid);
    kl_pod *pod = e && e->pod ? kl_pod_ref(e->pod) : NULL;
    pod_state state = e ? e->state : POD_ORPHAN;
    bool killed = e && e->killed;
    pthread_mutex_unlock(&k->mu);
    if (!e)
        return -1;
    int64_t again;
    if (state != POD_ACTIVE)
        again = sync_removed(k, e, pod);
    else if (pod->deletion_timestamp)
        again = killed ? -1 : sync_terminating(k, e, pod);
    else
        again = sync_active(k, e, pod);
    kl_pod_unref(pod);
    return again;
}

/* ---- sources ----------------------------------------------------------------------------------
 */

/* Stores pod (mu held); returns true when the pod must be synced. */
static bool store_pod(kl_kubelet *k, const char *source, kl_pod *pod)
{
    pod_entry *e = find(k, pod->uid);
    if (!e)
        e = add_entry(k, pod->uid);
    /* a source that hands the same pod again (a rescan) changes nothing */
    bool same =
        e->pod && e->state == POD_ACTIVE && (e->pod == pod || strcmp(e->pod->raw, pod->raw) == 0);
    /* the same pod is still swapped in: its text is the one the source
     * holds now (an informer's), and the old one can go */
    if (e->pod != pod) {
        kl_pod_unref(e->pod);
        e->pod = kl_pod_ref(pod);
    }
    if (same)
        return false;
    free(e->source);
    e->source = xstrdup(source);
    e->state = POD_ACTIVE;
    if (!pod->deletion_timestamp)
        e->killed = false;
    return true;
}

void kl_kubelet_pod_update(kl_kubelet *k, const char *source, kl_pod *pod)
{
    pthread_mutex_lock(&k->mu);
    bool sync = store_pod(k, source, pod);
    pthread_mutex_unlock(&k->mu);
    if (sync)
        kl_pod_workers_enqueue(k->workers, pod->uid);
}

void kl_kubelet_pod_remove(kl_kubelet *k, const char *uid)
{
    pthread_mutex_lock(&k->mu);
    pod_entry *e = find(k, uid);
    if (e)
        e->state = POD_REMOVED;
    pthread_mutex_unlock(&k->mu);
    if (e)
        kl_pod_workers_enqueue(k->workers, uid);
}

static bool in_set(kl_pod *const *pods, size_t n, const char *uid)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(pods[i]->uid, uid) == 0)
            return true;
    return false;
}

void kl_kubelet_source_set(kl_kubelet *k, const char *source, kl_pod *const *pods, size_t n)
{
    size_t ntodo = 0;
    pthread_mutex_lock(&k->mu);
    char **todo = xcalloc(k->npods + n + 1, sizeof(char *));
    for (size_t i = 0; i < k->npods; i++) {
        pod_entry *e = k->pods[i];
        if (e->state == POD_ACTIVE && e->source && strcmp(e->source, source) == 0 &&
            !in_set(pods, n, e->uid)) {
            e->state = POD_REMOVED;
            todo[ntodo++] = xstrdup(e->uid);
        }
    }
    for (size_t i = 0; i < n; i++)
        if (store_pod(k, source, pods[i]))
            todo[ntodo++] = xstrdup(pods[i]->uid);
    pthread_mutex_unlock(&k->mu);
    for (size_t i = 0; i < ntodo; i++) {
        kl_pod_workers_enqueue(k->workers, todo[i]);
        free(todo[i]);
    }
    free(todo);
}

void kl_kubelet_source_ready(kl_kubelet *k, const char *source)
{
    pthread_mutex_lock(&k->mu);
    bool known = false;
    for (size_t i = 0; i < k->nready && !known; i++)
        known = strcmp(k->ready_sources[i], source) == 0;
    if (!known) {
        k->ready_sources = xreallocarray(k->ready_sources, k->nready + 1, sizeof(char *));
        k->ready_sources[k->nready++] = xstrdup(source);
    }
    pthread_mutex_unlock(&k->mu);
}

static void sink_set(void *arg, const char *source, kl_pod *const *pods, size_t n)
{
    kl_kubelet_source_set(arg, source, pods, n);
}

static void sink_update(void *arg, const char *source, kl_pod *pod)
{
    kl_kubelet_pod_update(arg, source, pod);
}

static void sink_remove(void *arg, const char *uid)
{
    kl_kubelet_pod_remove(arg, uid);
}

static void sink_ready(void *arg, const char *source)
{
    kl_kubelet_source_ready(arg, source);
}

kl_pod_sink kl_kubelet_sink(kl_kubelet *k)
{
    return (kl_pod_sink){sink_set, sink_update, sink_remove, sink_ready, k};
}

/* ---- PLEG and housekeeping ---------------------------------------------------------------- */

static void on_pod_changed(void *arg, const char *uid)
{
    kl_kubelet *k = arg;
    pthread_mutex_lock(&k->mu);
    bool known = find(k, uid) != NULL;
    pthread_mutex_unlock(&k->mu);
    if (known)
        kl_pod_workers_enqueue(k->workers, uid);
}

typedef struct cgroup_scan {
    kl_kubelet *k;
    const char *const *runtime_uids;
    size_t n;
} cgroup_scan;

static void on_pod_cgroup(const char *uid, const char *path, void *arg)
{
    cgroup_scan *cs = arg;
    for (size_t i = 0; i < cs->n; i++)
        if (strcmp(cs->runtime_uids[i], uid) == 0)
            return;
    pthread_mutex_lock(&cs->k->mu);
    bool known = find(cs->k, uid) != NULL;
    pthread_mutex_unlock(&cs->k->mu);
    if (known)
        return;
    kn_error *err = NULL;
    KN_INFO(COMPONENT, "removing orphaned pod cgroup %s", path);
    if (kl_cgroups_remove(cs->k->cgroups, path, &err) < 0) {
        KN_WARN(COMPONENT, "%s", kn_error_msg(err));
        kn_error_free(&err);
    }
}

static void on_relisted(void *arg, const char *const *uids, size_t n)
{
    kl_kubelet *k = arg;
    int64_t now = kn_time_monotonic_ns();
    pthread_mutex_lock(&k->mu);
    bool due = sources_ready(k) && !k->stopping &&
               now - k->last_housekeeping >= k->o.housekeeping_period_ns;
    char **orphans = xcalloc(n + 1, sizeof(char *));
    size_t norphans = 0;
    for (size_t i = 0; due && i < n; i++) {
        if (find(k, uids[i]))
            continue;
        pod_entry *e = add_entry(k, uids[i]);
        e->state = POD_ORPHAN;
        orphans[norphans++] = xstrdup(uids[i]);
    }
    if (due)
        k->last_housekeeping = now;
    pthread_mutex_unlock(&k->mu);
    for (size_t i = 0; i < norphans; i++) {
        KN_INFO(COMPONENT, "pod %s is in the runtime but in no source: removing it", orphans[i]);
        kl_pod_workers_enqueue(k->workers, orphans[i]);
        free(orphans[i]);
    }
    free(orphans);
    if (due && k->cgroups && k->o.node->cgroups_per_qos) {
        cgroup_scan cs = {k, uids, n};
        kl_cgroups_list_pods(k->cgroups, k->o.node->cgroup_root, on_pod_cgroup, &cs);
    }
}

/* ---- lifecycle --------------------------------------------------------------------------------
 */

static void apply_defaults(kl_kubelet_opts *o)
{
    if (o->resync_period_ns <= 0)
        o->resync_period_ns = 60 * SEC;
    if (o->error_requeue_ns <= 0)
        o->error_requeue_ns = 10 * SEC;
    if (o->housekeeping_period_ns <= 0)
        o->housekeeping_period_ns = 2 * SEC;
    if (o->crash_backoff_initial_ns <= 0)
        o->crash_backoff_initial_ns = 10 * SEC;
    if (o->crash_backoff_max_ns <= 0)
        o->crash_backoff_max_ns = 300 * SEC;
    if (o->image_backoff_initial_ns <= 0)
        o->image_backoff_initial_ns = 10 * SEC;
    if (o->image_backoff_max_ns <= 0)
        o->image_backoff_max_ns = 300 * SEC;
    if (!o->backoff_clock)
        o->backoff_clock = kn_clock_realtime();
}

static int connect_runtime(kl_kubelet *k, kn_error **err)
{
    if (cri_conn_new(k->o.runtime_endpoint, k->o.runtime_timeout_ms, &k->conn, err) < 0)
        return -1;
    Runtime__V1__VersionResponse *v = NULL;
    if (cri_runtime_version(k->conn, &v, err) < 0)
        return -1;
    k->runtime_name = xstrdup(v->runtime_name);
    KN_INFO(COMPONENT, "container runtime %s %s (CRI %s)", v->runtime_name, v->runtime_version,
            v->runtime_api_version);
    cri_msg_free(v);
    return 0;
}

static int setup_cgroups(kl_kubelet *k, kn_error **err)
{
    if (k->o.disable_cgroups)
        return 0;
    if (kl_cgroups_open(k->o.cgroup_mounts, &k->cgroups, err) < 0)
        return -1;
    if (k->o.node->cgroups_per_qos &&
        kl_cgroups_ensure_qos(k->cgroups, k->o.node->cgroup_root, err) < 0)
        return -1;
    return 0;
}

static void setup_syncer(kl_kubelet *k)
{
    kl_kubelet_opts *o = &k->o;
    k->syncer.conn = k->conn;
    k->syncer.nc = o->node;
    k->syncer.cgroups = k->cgroups;
    k->syncer.clock = o->backoff_clock;
    k->syncer.crash_backoff = kn_backoff_tracker_new(o->backoff_clock, o->crash_backoff_initial_ns,
                                                     o->crash_backoff_max_ns, 0);
    /* upstream: a container that ran 10 minutes starts over at the initial backoff */
    kn_backoff_tracker_set_expiry(k->syncer.crash_backoff, 600 * SEC);
    k->syncer.image_backoff = kn_backoff_tracker_new(o->backoff_clock, o->image_backoff_initial_ns,
                                                     o->image_backoff_max_ns, 0);
    for (int i = 0, n = 0; i < KL_MAX_NODE_IPS; i++)
        if (o->node->node_ips[i] && *o->node->node_ips[i])
            k->host_ips[n++] = o->node->node_ips[i];
}

int kl_kubelet_new(const kl_kubelet_opts *opts, kl_kubelet **out, kn_error **err)
{
    kl_kubelet *k = xcalloc(1, sizeof(*k));
    k->o = *opts;
    apply_defaults(&k->o);
    pthread_mutex_init(&k->mu, NULL);
    if (connect_runtime(k, err) < 0 || setup_cgroups(k, err) < 0) {
        kl_kubelet_free(k);
        return kn_error_wrap(err, "start kubelet");
    }
    setup_syncer(k);
    *out = k;
    return 0;
}

int kl_kubelet_start(kl_kubelet *k, kn_error **err)
{
    k->workers = kl_pod_workers_new(work, k, k->o.max_workers, NULL);
    kl_pleg_callbacks cb = {on_pod_changed, on_relisted, k};
    k->pleg = kl_pleg_new(k->conn, &cb, k->o.relist_period_ns, NULL);
    return kl_pleg_start(k->pleg, err);
}

void kl_kubelet_free(kl_kubelet *k)
{
    if (!k)
        return;
    pthread_mutex_lock(&k->mu);
    k->stopping = true;
    pthread_mutex_unlock(&k->mu);
    kl_pleg_free(k->pleg);
    kl_pod_workers_free(k->workers);
    for (size_t i = 0; i < k->npods; i++)
        entry_free(k->pods[i]);
    free(k->pods);
    for (size_t i = 0; i < k->nready; i++)
        free(k->ready_sources[i]);
    free(k->ready_sources);
    kn_backoff_tracker_free(k->syncer.crash_backoff);
    kn_backoff_tracker_free(k->syncer.image_backoff);
    kl_cgroups_free(k->cgroups);
    cri_conn_free(k->conn);
    free(k->runtime_name);
    pthread_mutex_destroy(&k->mu);
    free(k);
}

/* ---- queries -------------------------------------------------------------------------------- */

cJSON *kl_kubelet_pod_status(kl_kubelet *k, const char *uid)
{
    pthread_mutex_lock(&k->mu);
    pod_entry *e = find(k, uid);
    cJSON *st = e && e->status ? kl_json_reparse(kn_rcstr_str(e->status)) : NULL;
    pthread_mutex_unlock(&k->mu);
    return st;
}

bool kl_kubelet_has_pod(kl_kubelet *k, const char *uid)
{
    pthread_mutex_lock(&k->mu);
    bool found = find(k, uid) != NULL;
    pthread_mutex_unlock(&k->mu);
    return found;
}

kl_pod *kl_kubelet_find_pod(kl_kubelet *k, const char *ns, const char *name)
{
    kl_pod *found = NULL;
    pthread_mutex_lock(&k->mu);
    for (size_t i = 0; i < k->npods && !found; i++) {
        const pod_entry *e = k->pods[i];
        if (e->pod && e->state == POD_ACTIVE && strcmp(e->pod->namespace_, ns) == 0 &&
            strcmp(e->pod->name, name) == 0)
            found = kl_pod_ref(e->pod);
    }
    pthread_mutex_unlock(&k->mu);
    return found;
}

cJSON *kl_kubelet_pod_list(kl_kubelet *k)
{
    cJSON *list = cJSON_CreateObject();
    cJSON_AddStringToObject(list, "kind", "PodList");
    cJSON_AddStringToObject(list, "apiVersion", "v1");
    cJSON_AddObjectToObject(list, "metadata");
    cJSON *items = cJSON_AddArrayToObject(list, "items");
    pthread_mutex_lock(&k->mu);
    for (size_t i = 0; i < k->npods; i++) {
        const pod_entry *e = k->pods[i];
        if (!e->pod || e->state != POD_ACTIVE)
            continue;
        cJSON *pod = kl_pod_object(e->pod);
        if (e->status) {
            cJSON_DeleteItemFromObjectCaseSensitive(pod, "status");
            cJSON_AddItemToObject(pod, "status", kl_json_reparse(kn_rcstr_str(e->status)));
        }
        cJSON_AddItemToArray(items, pod);
    }
    pthread_mutex_unlock(&k->mu);
    return list;
}

cri_conn *kl_kubelet_runtime(kl_kubelet *k)
{
    return k->conn;
}

const char *kl_kubelet_runtime_name(const kl_kubelet *k)
{
    return k->runtime_name;
}

bool kl_kubelet_healthy(kl_kubelet *k, char **why)
{
    return !k->pleg || kl_pleg_healthy(k->pleg, why);
}

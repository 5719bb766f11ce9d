/* status_manager.c - pod statuses, deletion confirmation and mirror pods. */
#include "kubelet/status_manager.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "lib/cleanup.h"
#include "lib/clock.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/strbuf.h"
#include "lib/xalloc.h"

#define COMPONENT "status"
#define MS INT64_C(1000000)

typedef struct entry {
    char *uid, *ns, *name;
    bool is_static;
    cJSON *raw;        /* static pods: the manifest, for the mirror */
    char *hash;        /* static pods: kubernetes.io/config.hash */
    kn_rcstr *status;  /* latest from the kubelet (compact JSON text, shared with it) */
    kn_rcstr *written; /* the status last written (usually the same text), or NULL */
    bool dirty, final;
    int64_t retry_at, backoff;
} entry;

struct kl_status_manager {
    kc_client *client;
    kc_informer *pods;
    char *node_name;
    entry **v;
    size_t n, cap;
    pthread_mutex_t mu;
    pthread_cond_t cond;
    pthread_t thread;
    bool stop;
};

/* A snapshot of an entry taken for one write, outside the lock. */
typedef struct job {
    char *uid, *ns, *name, *hash;
    kn_rcstr *written, *text; /* references: last written, to write */
    bool is_static, final;
    cJSON *raw, *status; /* status: text parsed */
} job;

static void entry_free(entry *e)
{
    free(e->uid);
    free(e->ns);
    free(e->name);
    free(e->hash);
    kn_rcstr_unref(e->written);
    cJSON_Delete(e->raw);
    kn_rcstr_unref(e->status);
    free(e);
}

static void job_clear(job *j)
{
    free(j->uid);
    free(j->ns);
    free(j->name);
    free(j->hash);
    kn_rcstr_unref(j->written);
    kn_rcstr_unref(j->text);
    cJSON_Delete(j->raw);
    cJSON_Delete(j->status);
    memset(j, 0, sizeof(*j));
}

static char *dup_or_null(const char *s)
{
    return s ? xstrdup(s) : NULL;
}

bool kl_phase_transition_ok(const char *from, const char *to)
{
    if (!from || !to)
        return true;
    bool terminal = strcmp(from, "Succeeded") == 0 || strcmp(from, "Failed") == 0;
    return !terminal || strcmp(from, to) == 0;
}

cJSON *kl_mirror_pod_build(const cJSON *raw, const char *node_name)
{
    cJSON *p = cJSON_CreateObject();
    cJSON_AddStringToObject(p, "apiVersion", "v1");
    cJSON_AddStringToObject(p, "kind", "Pod");
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(raw, "metadata");
    cJSON *meta = cJSON_AddObjectToObject(p, "metadata");
    static const char *const keep[] = {"name", "namespace", "labels", "annotations"};
    for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++) {
        const cJSON *f = cJSON_GetObjectItemCaseSensitive(m, keep[i]);
        if (f)
            cJSON_AddItemToObject(meta, keep[i], cJSON_Duplicate(f, true));
    }
    cJSON *ann = cJSON_GetObjectItemCaseSensitive(meta, "annotations");
    if (!ann)
        ann = cJSON_AddObjectToObject(meta, "annotations");
    const cJSON *hash = cJSON_GetObjectItemCaseSensitive(ann, KL_ANN_CONFIG_HASH);
    cJSON_DeleteItemFromObjectCaseSensitive(ann, KL_ANN_CONFIG_MIRROR);
    cJSON_AddStringToObject(ann, KL_ANN_CONFIG_MIRROR,
                            cJSON_IsString(hash) ? hash->valuestring : "");
    cJSON *spec = cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(raw, "spec"), true);
    if (!spec)
        spec = cJSON_CreateObject();
    cJSON_DeleteItemFromObjectCaseSensitive(spec, "nodeName");
    cJSON_AddStringToObject(spec, "nodeName", node_name);
    cJSON_AddItemToObject(p, "spec", spec);
    return p;
}

/* ---- the sink side ----------------------------------------------------------------------------
 */

static entry *find(kl_status_manager *m, const char *uid)
{
    for (size_t i = 0; i < m->n; i++)
        if (strcmp(m->v[i]->uid, uid) == 0)
            return m->v[i];
    return NULL;
}

static entry *add_entry(kl_status_manager *m, const kl_pod *pod)
{
    entry *e = xcalloc(1, sizeof(*e));
    e->uid = xstrdup(pod->uid);
    e->ns = xstrdup(pod->namespace_);
    e->name = xstrdup(pod->name);
    e->is_static = kl_pod_is_static(pod);
    if (e->is_static) {
        e->raw = kl_pod_object(pod);
        e->hash = dup_or_null(kl_map_get(&pod->annotations, KL_ANN_CONFIG_HASH));
    }
    if (m->n == m->cap) {
        m->cap = m->cap ? m->cap * 2 : 16;
        m->v = xrealloc(m->v, m->cap * sizeof(*m->v));
    }
    m->v[m->n++] = e;
    return e;
}

void kl_status_manager_sink(void *arg, const kl_pod *pod, const cJSON *status, kn_rcstr *text,
                            bool final)
{
    (void)status; /* the same as text, which is kept */
    kl_status_manager *m = arg;
    pthread_mutex_lock(&m->mu);
    entry *e = find(m, pod->uid);
    if (!e)
        e = add_entry(m, pod);
    kn_rcstr_unref(e->status);
    e->status = kn_rcstr_ref(text);
    e->final = e->final || final;
    e->dirty = true;
    e->retry_at = 0;
    pthread_cond_broadcast(&m->cond);
    pthread_mutex_unlock(&m->mu);
}

void kl_status_manager_mirror_gone(void *arg, const char *ns, const char *name)
{
    kl_status_manager *m = arg;
    pthread_mutex_lock(&m->mu);
    for (size_t i = 0; i < m->n; i++) {
        entry *e = m->v[i];
        if (e->is_static && !e->final && strcmp(e->ns, ns) == 0 && strcmp(e->name, name) == 0) {
            kn_rcstr_unref(e->written);
            e->written = NULL;
            e->dirty = true;
            e->retry_at = 0;
        }
    }
    pthread_cond_broadcast(&m->cond);
    pthread_mutex_unlock(&m->mu);
}

int kl_status_manager_pending(kl_status_manager *m)
{
    pthread_mutex_lock(&m->mu);
    int n = 0;
    for (size_t i = 0; i < m->n; i++)
        n += m->v[i]->dirty;
    pthread_mutex_unlock(&m->mu);
    return n;
}

/* ---- writes ------------------------------------------------------------------------------------
 */

static const char *str_at(const cJSON *obj, const char *path)
{
    const char *s = NULL;
    kn_json_get_string_opt(obj, path, NULL, &s, NULL);
    return s;
}

static int patch_status(kl_status_manager *m, const job *j, const char *uid, kn_error **err)
{
    cleanup_cjson cJSON *p = cJSON_CreateObject();
    cJSON_AddStringToObject(cJSON_AddObjectToObject(p, "metadata"), "uid", uid);
    cJSON_AddItemToObject(p, "status", cJSON_Duplicate(j->status, true));
    cleanup_free char *body = kn_json_print(p);
    if (kc_patch(m->client, &kc_res_pods, j->ns, j->name, "status", KC_PATCH_STRATEGIC, body, NULL,
                 err) < 0)
        return kn_error_wrap(err, "patch pod %s/%s status", j->ns, j->name);
    return 0;
}

/* DELETE with grace 0 and a uid precondition. The grace period goes in the
 * query as well as in the DeleteOptions body (knode servers before b6ee002
 * read only the query; both forms are upstream's). */
static int delete_request(kl_status_manager *m, const job *j, const char *uid, kn_error **err)
{
    cleanup_buf kn_buf path = KN_BUF_INIT;
    kc_resource_path(&path, &kc_res_pods, j->ns, j->name, NULL);
    kn_buf_append_str(&path, "?gracePeriodSeconds=0");
    cleanup_free char *body =
        xasprintf("{\"kind\":\"DeleteOptions\",\"apiVersion\":\"v1\","
                  "\"gracePeriodSeconds\":0,\"preconditions\":{\"uid\":\"%s\"}}",
                  uid);
    kc_request req = {.method = "DELETE",
                      .path = path.data,
                      .content_type = "application/json",
                      .body = body,
                      .body_len = strlen(body)};
    kc_response resp;
    memset(&resp, 0, sizeof(resp));
    int r = kc_client_request(m->client, &req, &resp, err);
    kc_response_clear(&resp);
    return r;
}

static int delete_pod(kl_status_manager *m, const job *j, const char *uid, kn_error **err)
{
    if (delete_request(m, j, uid, err) < 0) {
        if (kn_error_code(*err) == KN_ENOTFOUND || kn_error_code(*err) == KN_ECONFLICT) {
            kn_error_free(err);
            return 0;
        }
        return kn_error_wrap(err, "delete pod %s/%s", j->ns, j->name);
    }
    KN_INFO(COMPONENT, "pod %s/%s deleted", j->ns, j->name);
    return 0;
}

/* The pod ns/name as the informer holds it (reference), or NULL. */
static kc_obj *current(kl_status_manager *m, const job *j)
{
    cleanup_free char *key = xasprintf("%s/%s", j->ns, j->name);
    return kc_informer_get(m->pods, key);
}

/* Writes an API pod's status; *written set when the status went out. */
static int sync_api_pod(kl_status_manager *m, const job *j, bool *written, kn_error **err)
{
    kc_obj *o = current(m, j);
    if (!o)
        return 0; /* gone from the API: nothing to write */
    const cJSON *cur = kc_obj_json(o);
    const char *uid = str_at(cur, "metadata.uid");
    int r = 0;
    if (!uid || strcmp(uid, j->uid) != 0)
        goto out; /* another pod of the same name */
    const char *from = str_at(cur, "status.phase"), *to = str_at(j->status, "phase");
    if (!kl_phase_transition_ok(from, to)) {
        KN_WARN(COMPONENT, "pod %s/%s: phase %s stays (kubelet reported %s)", j->ns, j->name, from,
                to);
    } else if (!*written) {
        r = patch_status(m, j, uid, err);
        *written = r == 0;
    }
    if (r == 0 && j->final && str_at(cur, "metadata.deletionTimestamp"))
        r = delete_pod(m, j, uid, err);
out:
    kc_obj_unref(o);
    return r;
}

/* The mirror pod's uid, creating it (or replacing a stale one). */
static int ensure_mirror(kl_status_manager *m, const job *j, char **uid, kn_error **err)
{
    kc_obj *o = current(m, j);
    if (o) {
        const cJSON *cur = kc_obj_json(o);
        const char *mirror = NULL;
        const cJSON *ann = NULL;
        kn_json_get_object_opt(cur, "metadata.annotations", &ann, NULL);
        const cJSON *mv = cJSON_GetObjectItemCaseSensitive(ann, KL_ANN_CONFIG_MIRROR);
        mirror = cJSON_IsString(mv) ? mv->valuestring : NULL;
        if (!mirror) {
            kc_obj_unref(o);
            return kn_error_set(err, KN_EEXIST, "pod %s/%s exists and is not a mirror pod", j->ns,
                                j->name);
        }
        /* a mirror being deleted is deleted for good and made again */
        bool same =
            j->hash && strcmp(mirror, j->hash) == 0 && !str_at(cur, "metadata.deletionTimestamp");
        *uid = dup_or_null(str_at(cur, "metadata.uid"));
        kc_obj_unref(o);
        if (same)
            return 0;
        job dj = {.ns = j->ns, .name = j->name};
        if (delete_pod(m, &dj, *uid, err) < 0)
            return -1;
        free(*uid);
        *uid = NULL;
    }
    cleanup_cjson cJSON *pod = kl_mirror_pod_build(j->raw, m->node_name);
    cleanup_cjson cJSON *out = NULL;
    int r = kc_create(m->client, &kc_res_pods, j->ns, pod, &out, err);
    if (r < 0 && kn_error_code(*err) == KN_EEXIST) {
        kn_error_free(err);
        r = kc_get(m->client, &kc_res_pods, j->ns, j->name, &out, err);
    } else if (r == 0) {
        KN_INFO(COMPONENT, "mirror pod %s/%s created", j->ns, j->name);
    }
    if (r < 0)
        return kn_error_wrap(err, "mirror pod %s/%s", j->ns, j->name);
    *uid = dup_or_null(str_at(out, "metadata.uid"));
    return 0;
}

static int sync_static_pod(kl_status_manager *m, const job *j, bool *written, kn_error **err)
{
    if (j->final) {
        kc_obj *o = current(m, j);
        cleanup_free char *uid = o ? dup_or_null(str_at(kc_obj_json(o), "metadata.uid")) : NULL;
        kc_obj_unref(o);
        return uid ? delete_pod(m, j, uid, err) : 0;
    }
    cleanup_free char *uid = NULL;
    if (ensure_mirror(m, j, &uid, err) < 0)
        return -1;
    if (*written || !uid)
        return 0;
    int r = patch_status(m, j, uid, err);
    *written = r == 0;
    return r;
}

/* ---- the writer thread
 * ---------------------------------------------------------------------------- */

static entry *next_due(kl_status_manager *m, int64_t now, int64_t *wake)
{
    *wake = KN_TIME_NEVER;
    for (size_t i = 0; i < m->n; i++) {
        entry *e = m->v[i];
        if (!e->dirty)
            continue;
        if (e->retry_at <= now)
            return e;
        if (e->retry_at < *wake)
            *wake = e->retry_at;
    }
    return NULL;
}

static void take_job(entry *e, job *j)
{
    j->uid = xstrdup(e->uid);
    j->ns = xstrdup(e->ns);
    j->name = xstrdup(e->name);
    j->hash = dup_or_null(e->hash);
    j->written = kn_rcstr_ref(e->written);
    j->text = kn_rcstr_ref(e->status);
    j->is_static = e->is_static;
    j->final = e->final;
    j->raw = e->raw ? cJSON_Duplicate(e->raw, true) : NULL;
    j->status = kl_json_reparse(kn_rcstr_str(e->status));
    e->dirty = false;
}

static void remove_entry(kl_status_manager *m, entry *e)
{
    for (size_t i = 0; i < m->n; i++)
        if (m->v[i] == e) {
            m->v[i] = m->v[--m->n];
            entry_free(e);
            return;
        }
}

/* Records the outcome of a job on its entry (lock held). */
static void finish_job(kl_status_manager *m, const job *j, bool written, int r, int64_t now)
{
    entry *e = find(m, j->uid);
    if (!e)
        return;
    if (r < 0) {
        e->dirty = true;
        e->backoff = e->backoff ? e->backoff * 2 : 1000 * MS;
        if (e->backoff > 30000 * MS)
            e->backoff = 30000 * MS;
        e->retry_at = now + e->backoff;
        return;
    }
    e->backoff = 0;
    if (written) { /* else (pod not in the API yet) the next status tries again */
        kn_rcstr_unref(e->written);
        e->written = kn_rcstr_ref(j->text);
    }
    if (j->final && !e->dirty)
        remove_entry(m, e);
}

static void run_job(kl_status_manager *m, job *j)
{
    /* the texts come from one printer, so equal statuses have equal texts */
    bool written = j->written && kn_rcstr_equal(j->written, j->text);
    cleanup_error kn_error *err = NULL;
    int r =
        j->is_static ? sync_static_pod(m, j, &written, &err) : sync_api_pod(m, j, &written, &err);
    if (r < 0)
        KN_WARN(COMPONENT, "%s", kn_error_msg(err));
    pthread_mutex_lock(&m->mu);
    finish_job(m, j, written, r, kn_time_monotonic_ns());
}

static void *writer_main(void *arg)
{
    kl_status_manager *m = arg;
    pthread_mutex_lock(&m->mu);
    while (!m->stop) {
        int64_t wake;
        entry *e = next_due(m, kn_time_monotonic_ns(), &wake);
        if (!e) {
            kn_clock_wait_until(NULL, &m->cond, &m->mu, wake);
            continue;
        }
        job j = {0};
        take_job(e, &j);
        pthread_mutex_unlock(&m->mu);
        run_job(m, &j); /* returns with the lock held */
        job_clear(&j);
    }
    pthread_mutex_unlock(&m->mu);
    return NULL;
}

int kl_status_manager_new(const kl_status_manager_opts *o, kl_status_manager **out, kn_error **err)
{
    kl_status_manager *m = xcalloc(1, sizeof(*m));
    m->client = o->client;
    m->pods = o->pods;
    m->node_name = xstrdup(o->node_name);
    pthread_mutex_init(&m->mu, NULL);
    kn_cond_init(&m->cond);
    if (pthread_create(&m->thread, NULL, writer_main, m) != 0) {
        free(m->node_name);
        free(m);
        return kn_error_set(err, KN_EINTERNAL, "start the status manager thread");
    }
    *out = m;
    return 0;
}

void kl_status_manager_stop(kl_status_manager *m)
{
    if (!m)
        return;
    pthread_mutex_lock(&m->mu);
    bool join = !m->stop;
    m->stop = true;
    pthread_cond_broadcast(&m->cond);
    pthread_mutex_unlock(&m->mu);
    if (join)
        pthread_join(m->thread, NULL);
}

void kl_status_manager_free(kl_status_manager *m)
{
    if (!m)
        return;
    kl_status_manager_stop(m);
    for (size_t i = 0; i < m->n; i++)
        entry_free(m->v[i]);
    free(m->v);
    free(m->node_name);
    pthread_mutex_destroy(&m->mu);
    pthread_cond_destroy(&m->cond);
    free(m);
}

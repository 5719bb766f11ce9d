/* ctl-workload.c - deletion ranking, template hashes, rollout arithmetic,
 * DaemonSet placement and StatefulSet ordering. */
#include "controlplane/ctl-workload.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controlplane/ctl-internal.h"
#include "controlplane/objmeta.h"
#include "controlplane/scheduler.h"
#include "lib/json.h"
#include "lib/xalloc.h"

/* ---- pods to delete ----------------------------------------------------------------- */

static int phase_ordinal(const cJSON *pod)
{
    const char *p = kn_ctl_str(pod, "status.phase");
    if (p && strcmp(p, "Unknown") == 0)
        return 1;
    if (p && strcmp(p, "Running") == 0)
        return 2;
    return 0;
}

static bool assigned(const cJSON *pod)
{
    const char *n = kn_ctl_str(pod, "spec.nodeName");
    return n && *n;
}

static int64_t deletion_cost(const cJSON *pod)
{
    const char *v = kn_ctl_str(pod, "metadata.annotations[\"controller.kubernetes.io/"
                                    "pod-deletion-cost\"]");
    if (!v)
        return 0;
    char *end;
    errno = 0;
    long long c = strtoll(v, &end, 10);
    return *end || errno || c < INT32_MIN || c > INT32_MAX ? 0 : c;
}

static int64_t time_of(const char *ts)
{
    int64_t t = ts ? kn_rfc3339_parse(ts) : -1;
    return t < 0 ? 0 : t;
}

static int64_t ready_time(const cJSON *pod)
{
    if (!kn_ctl_pod_ready(pod))
        return 0;
    return time_of(kn_ctl_str(kn_ctl_condition(pod, "Ready"), "lastTransitionTime"));
}

static int max_restarts(const cJSON *pod)
{
    const cJSON *statuses = NULL, *s;
    kn_json_lookup(pod, "status.containerStatuses", &statuses, NULL);
    int max = 0;
    cJSON_ArrayForEach(s, statuses)
    {
        int r = (int)kn_ctl_int(s, "restartCount", 0);
        max = r > max ? r : max;
    }
    return max;
}

static int64_t log_rank(int64_t t, int64_t now)
{
    int64_t d = now - t;
    return d > 0 ? (int64_t)log2((double)d) : -1;
}

/* Compares two non-equal timestamps where newer goes first (0 = zero). */
static bool newer_first(const cJSON *a, const cJSON *b, int64_t ta, int64_t tb, int64_t now)
{
    if (now == 0 || ta == 0 || tb == 0)
        return ta == 0 || tb == 0 ? ta == 0 : ta > tb;
    int64_t diff = log_rank(ta, now) - log_rank(tb, now);
    if (diff == 0) {
        const char *ua = kn_meta_str(a, "uid"), *ub = kn_meta_str(b, "uid");
        return strcmp(ua ? ua : "", ub ? ub : "") < 0;
    }
    return diff < 0;
}

bool kn_ctl_deletion_less(const kn_ctl_ranked_pod *x, const kn_ctl_ranked_pod *y, int64_t now_ns)
{
    const cJSON *a = x->pod, *b = y->pod;
    if (assigned(a) != assigned(b))
        return !assigned(a);
    if (phase_ordinal(a) != phase_ordinal(b))
        return phase_ordinal(a) < phase_ordinal(b);
    if (kn_ctl_pod_ready(a) != kn_ctl_pod_ready(b))
        return !kn_ctl_pod_ready(a);
    if (deletion_cost(a) != deletion_cost(b))
        return deletion_cost(a) < deletion_cost(b);
    if (x->rank != y->rank)
        return x->rank > y->rank;
    if (kn_ctl_pod_ready(a) && kn_ctl_pod_ready(b) && ready_time(a) != ready_time(b))
        return newer_first(a, b, ready_time(a), ready_time(b), now_ns);
    if (max_restarts(a) != max_restarts(b))
        return max_restarts(a) > max_restarts(b);
    int64_t ca = time_of(kn_meta_str(a, "creationTimestamp"));
    int64_t cb = time_of(kn_meta_str(b, "creationTimestamp"));
    if (ca != cb)
        return newer_first(a, b, ca, cb, now_ns);
    return false;
}

void kn_ctl_sort_for_deletion(kn_ctl_ranked_pod *pods, size_t n, int64_t now_ns)
{
    /* insertion sort: stable, and n is a ReplicaSet's pod count */
    for (size_t i = 1; i < n; i++) {
        kn_ctl_ranked_pod cur = pods[i];
        size_t j = i;
        while (j > 0 && kn_ctl_deletion_less(&cur, &pods[j - 1], now_ns)) {
            pods[j] = pods[j - 1];
            j--;
        }
        pods[j] = cur;
    }
}

/* ---- templates ------------------------------------------------------------------------- */

static int by_key(const void *a, const void *b)
{
    return strcmp((*(cJSON *const *)a)->string, (*(cJSON *const *)b)->string);
}

/* Sorts every object's members by key, recursively. */
static void sort_keys(cJSON *v)
{
    cJSON *c;
    cJSON_ArrayForEach(c, v) sort_keys(c);
    if (!cJSON_IsObject(v) || !v->child)
        return;
    size_t n = (size_t)cJSON_GetArraySize(v);
    cJSON **items = xcalloc(n, sizeof(cJSON *));
    size_t i = 0;
    cJSON_ArrayForEach(c, v) items[i++] = c;
    qsort(items, n, sizeof(cJSON *), by_key);
    for (i = 0; i < n; i++) {
        items[i]->next = i + 1 < n ? items[i + 1] : NULL;
        items[i]->prev = i > 0 ? items[i - 1] : items[n - 1];
    }
    v->child = items[0];
    free(items);
}

/* Drops nulls, empty objects and empty arrays, recursively: the API's
 * semantic equality does not tell them from absent fields (nil and empty
 * maps and slices are equal; null is the zero value). Returns true if v
 * itself is empty now. */
static bool prune(cJSON *v)
{
    cJSON *c = v->child;
    while (c) {
        cJSON *next = c->next;
        if (cJSON_IsNull(c) || prune(c))
            cJSON_Delete(cJSON_DetachItemViaPointer(v, c));
        c = next;
    }
    return (cJSON_IsObject(v) || cJSON_IsArray(v)) && !v->child;
}

char *kn_ctl_template_hash(const cJSON *template, int64_t collision_count)
{
    cJSON *copy = cJSON_Duplicate(template, 1);
    prune(copy);
    sort_keys(copy);
    char *text = kn_json_print(copy);
    cJSON_Delete(copy);
    uint32_t h = 2166136261u;
    for (const unsigned char *p = (const unsigned char *)text; *p; p++)
        h = (h ^ *p) * 16777619u;
    free(text);
    if (collision_count >= 0) {
        uint32_t c = (uint32_t)collision_count;
        for (int i = 0; i < 4; i++)
            h = (h ^ ((c >> (8 * i)) & 0xff)) * 16777619u;
    }
    static const char alphabet[] = "bcdfghjklmnpqrstvwxz2456789";
    char digits[16];
    int n = snprintf(digits, sizeof(digits), "%u", h);
    for (int i = 0; i < n; i++)
        digits[i] = alphabet[(unsigned char)digits[i] % (sizeof(alphabet) - 1)];
    return xstrdup(digits);
}

static cJSON *without_hash(const cJSON *t)
{
    cJSON *c = cJSON_Duplicate(t, 1);
    cJSON *labels =
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(c, "metadata"), "labels");
    cJSON_DeleteItemFromObjectCaseSensitive(labels, KN_CTL_HASH_LABEL);
    prune(c);
    return c;
}

bool kn_ctl_templates_equal(const cJSON *a, const cJSON *b)
{
    cJSON *x = without_hash(a), *y = without_hash(b);
    bool eq = kn_json_equal(x, y);
    cJSON_Delete(x);
    cJSON_Delete(y);
    return eq;
}

/* ---- rollouts ---------------------------------------------------------------------------- */

int kn_ctl_scaled_value(const cJSON *v, int64_t total, bool round_up, int64_t *out)
{
    *out = 0;
    if (!v || cJSON_IsNull(v))
        return 0;
    if (cJSON_IsNumber(v)) {
        *out = (int64_t)v->valuedouble;
        return 0;
    }
    if (!cJSON_IsString(v))
        return -1;
    char *end;
    errno = 0;
    long long pct = strtoll(v->valuestring, &end, 10);
    if (end == v->valuestring || strcmp(end, "%") != 0 || errno)
        return -1;
    double x = (double)pct * (double)total / 100.0;
    *out = (int64_t)(round_up ? ceil(x) : floor(x));
    return 0;
}

int kn_ctl_fenceposts(const cJSON *max_surge, const cJSON *max_unavailable, int64_t replicas,
                      kn_ctl_rollout *d)
{
    d->replicas = replicas;
    if (!d->rolling) {
        d->max_surge = d->max_unavailable = 0;
        return 0;
    }
    if (kn_ctl_scaled_value(max_surge, replicas, true, &d->max_surge) < 0 ||
        kn_ctl_scaled_value(max_unavailable, replicas, false, &d->max_unavailable) < 0)
        return -1;
    if (d->max_surge == 0 && d->max_unavailable == 0)
        d->max_unavailable = 1;
    if (replicas == 0)
        d->max_unavailable = 0;
    else if (d->max_unavailable > replicas)
        d->max_unavailable = replicas;
    return 0;
}

static int64_t min64(int64_t a, int64_t b)
{
    return a < b ? a : b;
}

static int64_t sum_replicas(const kn_ctl_rs *rs, size_t n)
{
    int64_t s = 0;
    for (size_t i = 0; i < n; i++)
        s += rs[i].replicas;
    return s;
}

int64_t kn_ctl_new_rs_replicas(const kn_ctl_rollout *d, const kn_ctl_rs *all, size_t n,
                               const kn_ctl_rs *new_rs)
{
    if (!d->rolling)
        return d->replicas;
    int64_t current = sum_replicas(all, n);
    int64_t max_total = d->replicas + d->max_surge;
    if (current >= max_total)
        return new_rs->replicas;
    int64_t up = min64(max_total - current, d->replicas - new_rs->replicas);
    return new_rs->replicas + up;
}

static int older_first(const void *a, const void *b)
{
    const kn_ctl_rs *x = *(kn_ctl_rs *const *)a, *y = *(kn_ctl_rs *const *)b;
    if (x->created_ns != y->created_ns)
        return x->created_ns < y->created_ns ? -1 : 1;
    return strcmp(x->name ? x->name : "", y->name ? y->name : "");
}

static kn_ctl_rs **by_age(kn_ctl_rs *rs, size_t n)
{
    kn_ctl_rs **v = xcalloc(n + 1, sizeof(*v));
    for (size_t i = 0; i < n; i++)
        v[i] = &rs[i];
    qsort(v, n, sizeof(*v), older_first);
    return v;
}

/* cleanupUnhealthyReplicas: scales down the unavailable replicas first. */
static int64_t cleanup_unhealthy(kn_ctl_rs **old, size_t n, int64_t max_cleanup)
{
    int64_t done = 0;
    for (size_t i = 0; i < n && done < max_cleanup; i++) {
        kn_ctl_rs *rs = old[i];
        if (rs->replicas == 0 || rs->replicas == rs->available)
            continue;
        int64_t down = min64(max_cleanup - done, rs->replicas - rs->available);
        rs->replicas -= down;
        done += down;
    }
    return done;
}

int64_t kn_ctl_scale_down_old(const kn_ctl_rollout *d, kn_ctl_rs *old, size_t nold,
                              const kn_ctl_rs *new_rs)
{
    int64_t old_count = sum_replicas(old, nold);
    if (old_count == 0)
        return 0;
    int64_t all = old_count + new_rs->replicas;
    int64_t min_available = d->replicas - d->max_unavailable;
    int64_t new_unavailable = new_rs->replicas - new_rs->available;
    int64_t max_down = all - min_available - new_unavailable;
    if (max_down <= 0)
        return 0;
    kn_ctl_rs **v = by_age(old, nold);
    int64_t cleaned = cleanup_unhealthy(v, nold, max_down);
    int64_t available = new_rs->available;
    for (size_t i = 0; i < nold; i++)
        available += old[i].available;
    int64_t scaled = 0;
    if (available > min_available) {
        int64_t total = available - min_available;
        for (size_t i = 0; i < nold && scaled < total; i++) {
            if (v[i]->replicas == 0)
                continue;
            int64_t down = min64(v[i]->replicas, total - scaled);
            v[i]->replicas -= down;
            scaled += down;
        }
    }
    free(v);
    return cleaned + scaled;
}

/* GetProportion via getReplicaSetFraction. */
static int64_t proportion(const kn_ctl_rollout *d, const kn_ctl_rs *rs, int64_t to_add,
                          int64_t added)
{
    if (rs->replicas == 0 || to_add == 0 || to_add == added)
        return 0;
    int64_t fraction;
    if (d->replicas == 0) {
        fraction = -rs->replicas;
    } else {
        int64_t before = rs->max_replicas ? rs->max_replicas : d->status_replicas;
        double size = before
                          ? (double)(rs->replicas * (d->replicas + d->max_surge)) / (double)before
                          : (double)rs->replicas;
        fraction = (int64_t)(size < 0 ? size - 0.5 : size + 0.5) - rs->replicas;
    }
    int64_t allowed = to_add - added;
    return to_add > 0 ? min64(fraction, allowed) : (fraction > allowed ? fraction : allowed);
}

/* ReplicaSetsBySizeNewer / BySizeOlder. */
static bool size_before(const kn_ctl_rs *a, const kn_ctl_rs *b, bool newer)
{
    if (a->replicas != b->replicas)
        return a->replicas > b->replicas;
    if (a->created_ns != b->created_ns)
        return newer ? a->created_ns > b->created_ns : a->created_ns < b->created_ns;
    return strcmp(a->name ? a->name : "", b->name ? b->name : "") < 0;
}

static void scale_proportionally(const kn_ctl_rollout *d, kn_ctl_rs **v, size_t n)
{
    int64_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += v[i]->replicas;
    int64_t allowed = d->replicas > 0 ? d->replicas + d->max_surge : 0;
    int64_t to_add = allowed - total;
    if (to_add == 0)
        return;
    for (size_t i = 1; i < n; i++) { /* insertion sort, largest first */
        kn_ctl_rs *cur = v[i];
        size_t j = i;
        while (j > 0 && size_before(cur, v[j - 1], to_add > 0)) {
            v[j] = v[j - 1];
            j--;
        }
        v[j] = cur;
    }
    int64_t added = 0, *size = xcalloc(n + 1, sizeof(int64_t));
    for (size_t i = 0; i < n; i++) {
        int64_t p = proportion(d, v[i], to_add, added);
        size[i] = v[i]->replicas + p;
        added += p;
    }
    size[0] += to_add - added;
    for (size_t i = 0; i < n; i++)
        v[i]->replicas = size[i] < 0 ? 0 : size[i];
    free(size);
}

void kn_ctl_scale(const kn_ctl_rollout *d, kn_ctl_rs *rs, size_t n, int new_idx)
{
    kn_ctl_rs **active = xcalloc(n + 1, sizeof(*active));
    size_t na = 0;
    for (size_t i = 0; i < n; i++) {
        if (rs[i].replicas > 0)
            active[na++] = &rs[i];
    }
    if (na <= 1 && n > 0) {
        kn_ctl_rs *target = na == 1 ? active[0] : NULL;
        if (!target && new_idx >= 0)
            target = &rs[new_idx];
        for (size_t i = 0; na == 0 && new_idx < 0 && i < n; i++) /* the newest */
            if (!target || rs[i].created_ns > target->created_ns)
                target = &rs[i];
        target->replicas = d->replicas;
    } else if (new_idx >= 0 && rs[new_idx].replicas == d->replicas &&
               rs[new_idx].desired == d->replicas && rs[new_idx].available == d->replicas) {
        for (size_t i = 0; i < n; i++)
            if ((int)i != new_idx)
                rs[i].replicas = 0;
    } else if (d->rolling && na > 0) {
        scale_proportionally(d, active, na);
    }
    free(active);
}

/* ---- DaemonSets ------------------------------------------------------------------------- */

static bool str_same(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "") == 0;
}

/* AddOrUpdateTolerationInPodSpec for an Exists toleration of key/effect. */
static void put_toleration(cJSON *spec, const char *key, const char *effect)
{
    cJSON *tols = cJSON_GetObjectItemCaseSensitive(spec, "tolerations");
    if (!cJSON_IsArray(tols)) {
        tols = cJSON_CreateArray();
        kn_ctl_set(spec, "tolerations", tols);
    }
    cJSON *t = cJSON_CreateObject();
    cJSON_AddStringToObject(t, "key", key);
    cJSON_AddStringToObject(t, "operator", "Exists");
    cJSON_AddStringToObject(t, "effect", effect);
    cJSON *old;
    cJSON_ArrayForEach(old, tols)
    {
        if (str_same(kn_ctl_str(old, "key"), key) &&
            str_same(kn_ctl_str(old, "operator"), "Exists") &&
            str_same(kn_ctl_str(old, "effect"), effect)) {
            cJSON_ReplaceItemViaPointer(tols, old, t);
            return;
        }
    }
    cJSON_AddItemToArray(tols, t);
}

void kn_ctl_ds_add_tolerations(cJSON *pod_spec)
{
    put_toleration(pod_spec, "node.kubernetes.io/not-ready", "NoExecute");
    put_toleration(pod_spec, "node.kubernetes.io/unreachable", "NoExecute");
    put_toleration(pod_spec, "node.kubernetes.io/disk-pressure", "NoSchedule");
    put_toleration(pod_spec, "node.kubernetes.io/memory-pressure", "NoSchedule");
    put_toleration(pod_spec, "node.kubernetes.io/pid-pressure", "NoSchedule");
    put_toleration(pod_spec, "node.kubernetes.io/unschedulable", "NoSchedule");
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(pod_spec, "hostNetwork")))
        put_toleration(pod_spec, "node.kubernetes.io/network-unavailable", "NoSchedule");
}

void kn_ctl_ds_pin(cJSON *pod_spec, const char *node)
{
    cJSON *na = kn_ctl_obj(kn_ctl_obj(pod_spec, "affinity"), "nodeAffinity");
    cJSON *req = cJSON_CreateObject();
    cJSON *term = cJSON_CreateObject();
    cJSON *r = cJSON_CreateObject();
    cJSON_AddStringToObject(r, "key", "metadata.name");
    cJSON_AddStringToObject(r, "operator", "In");
    cJSON_AddItemToArray(cJSON_AddArrayToObject(r, "values"), cJSON_CreateString(node));
    cJSON_AddItemToArray(cJSON_AddArrayToObject(term, "matchFields"), r);
    cJSON_AddItemToArray(cJSON_AddArrayToObject(req, "nodeSelectorTerms"), term);
    kn_ctl_set(na, "requiredDuringSchedulingIgnoredDuringExecution", req);
}

const char *kn_ctl_ds_target_node(const cJSON *pod)
{
    const char *n = kn_ctl_str(pod, "spec.nodeName");
    if (n && *n)
        return n;
    const cJSON *terms = NULL, *t, *r;
    kn_json_lookup(pod,
                   "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution."
                   "nodeSelectorTerms",
                   &terms, NULL);
    cJSON_ArrayForEach(t, terms)
    {
        cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(t, "matchFields"))
        {
            const cJSON *v = cJSON_GetObjectItemCaseSensitive(r, "values");
            if (str_same(kn_ctl_str(r, "key"), "metadata.name") &&
                str_same(kn_ctl_str(r, "operator"), "In") && cJSON_GetArraySize(v) == 1 &&
                cJSON_IsString(v->child))
                return v->child->valuestring;
        }
    }
    return NULL;
}

void kn_ctl_ds_should_run(const cJSON *pod, const cJSON *node, bool *should_run,
                          bool *should_continue)
{
    const char *want = kn_ctl_str(pod, "spec.nodeName");
    bool fits = (!want || !*want || str_same(want, kn_meta_str(node, "name"))) &&
                kn_sched_node_affinity_matches(pod, node);
    const cJSON *tols = NULL, *taints = NULL, *taint;
    kn_json_lookup(pod, "spec.tolerations", &tols, NULL);
    kn_json_lookup(node, "spec.taints", &taints, NULL);
    bool schedule_ok = true, execute_ok = true;
    cJSON_ArrayForEach(taint, taints)
    {
        const char *effect = kn_ctl_str(taint, "effect");
        bool tolerated = kn_sched_tolerations_tolerate(tols, taint);
        if (str_same(effect, "NoExecute"))
            execute_ok = execute_ok && tolerated;
        else if (str_same(effect, "NoSchedule"))
            schedule_ok = schedule_ok && tolerated;
    }
    *should_run = fits && schedule_ok && execute_ok;
    *should_continue = fits && execute_ok;
}

static bool pod_failed(const cJSON *pod)
{
    return str_same(kn_ctl_str(pod, "status.phase"), "Failed");
}

/* True if a was created before b (then by name). */
static bool older(const cJSON *a, const cJSON *b)
{
    int64_t ta = time_of(kn_meta_str(a, "creationTimestamp"));
    int64_t tb = time_of(kn_meta_str(b, "creationTimestamp"));
    if (ta != tb)
        return ta < tb;
    return strcmp(kn_meta_str(a, "name") ? kn_meta_str(a, "name") : "",
                  kn_meta_str(b, "name") ? kn_meta_str(b, "name") : "") < 0;
}

size_t kn_ctl_ds_node_plan(bool should_run, bool should_continue, const cJSON *const *pods,
                           size_t n, bool *create, const cJSON **del)
{
    *create = should_run && n == 0;
    size_t ndel = 0;
    const cJSON *keep = NULL;
    for (size_t i = 0; i < n; i++) {
        const cJSON *p = pods[i];
        if (kn_meta_str(p, "deletionTimestamp"))
            continue;
        if (!should_continue || pod_failed(p)) {
            del[ndel++] = p;
        } else if (!keep || older(p, keep)) {
            if (keep)
                del[ndel++] = keep;
            keep = p;
        } else {
            del[ndel++] = p;
        }
    }
    return ndel;
}

size_t kn_ctl_ds_rolling_pick(const kn_ctl_ds_slot *slots, size_t n, int64_t max_unavailable,
                              size_t *out)
{
    size_t nout = 0, *cand = xcalloc(n + 1, sizeof(size_t)), ncand = 0;
    int64_t unavailable = 0;
    for (size_t i = 0; i < n; i++) {
        const kn_ctl_ds_slot *s = &slots[i];
        if (s->nnew > 1 || s->nold > 1 || s->nnew == s->nold)
            unavailable++; /* manage() sorts these out first */
        else if (s->nnew == 1)
            unavailable += !s->new_available;
        else if (!s->old_available)
            out[nout++] = i;
        else if (unavailable < max_unavailable)
            cand[ncand++] = i;
    }
    int64_t room = max_unavailable - unavailable;
    for (size_t i = 0; room > 0 && i < ncand; i++, room--)
        out[nout++] = cand[i];
    free(cand);
    return nout;
}

/* ---- StatefulSets ---------------------------------------------------------------------- */

int64_t kn_ctl_sts_ordinal(const char *set, const char *pod)
{
    size_t n = strlen(set);
    if (!pod || strncmp(pod, set, n) != 0 || pod[n] != '-')
        return -1;
    const char *d = pod + n + 1;
    if (!*d || (d[0] == '0' && d[1]) || strspn(d, "0123456789") != strlen(d) || strlen(d) > 9)
        return -1;
    return strtoll(d, NULL, 10);
}

/* The replicas' pass: replace finished pods, create missing ones. Returns
 * false when OrderedReady must stop here. */
static bool plan_replicas(const kn_ctl_sts_params *p, const kn_ctl_sts_pod *pods,
                          kn_ctl_sts_action *out, size_t *nout)
{
    for (int64_t i = 0; i < p->replicas; i++) {
        const kn_ctl_sts_pod *x = &pods[i];
        bool acted = false;
        if (x->exists && x->finished && !x->terminating) {
            out[(*nout)++] = (kn_ctl_sts_action){i, false};
            acted = true;
        } else if (!x->exists) {
            out[(*nout)++] = (kn_ctl_sts_action){i, true};
            acted = true;
        }
        if (!p->parallel && (acted || !x->healthy))
            return false;
    }
    return true;
}

/* Scale down, from the highest ordinal. */
static bool plan_condemned(const kn_ctl_sts_params *p, const kn_ctl_sts_pod *pods, size_t n,
                           kn_ctl_sts_action *out, size_t *nout)
{
    for (size_t i = n; i-- > (size_t)p->replicas;) {
        if (!pods[i].exists)
            continue;
        if (pods[i].terminating) {
            if (!p->parallel)
                return false;
            continue;
        }
        out[(*nout)++] = (kn_ctl_sts_action){(int64_t)i, false};
        if (!p->parallel)
            return false;
    }
    return true;
}

size_t kn_ctl_sts_plan(const kn_ctl_sts_params *p, const kn_ctl_sts_pod *pods, size_t n,
                       kn_ctl_sts_action *out)
{
    size_t nout = 0;
    if (!plan_replicas(p, pods, out, &nout) || !plan_condemned(p, pods, n, out, &nout) ||
        !p->rolling)
        return nout;
    if (nout > 0) /* one step at a time: the next sync sees the result */
        return nout;
    int64_t min = p->partition < 0 ? 0 : p->partition;
    for (int64_t i = p->replicas - 1; i >= min; i--) {
        const kn_ctl_sts_pod *x = &pods[i];
        if (x->exists && !x->updated && !x->terminating) {
            out[nout++] = (kn_ctl_sts_action){i, false};
            return nout;
        }
        if (!x->healthy)
            return nout;
    }
    return nout;
}

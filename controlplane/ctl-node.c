/* ctl-node.c - taints from node conditions, Unknown conditions, toleration times. */
#include "controlplane/ctl-node.h"

#include <string.h>

#include "controlplane/ctl-internal.h"
#include "controlplane/scheduler.h"
#include "lib/json.h"

static bool same(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "") == 0;
}

static const char *cond_status(const cJSON *node, const char *type)
{
    return kn_ctl_str(kn_ctl_condition(node, type), "status");
}

/* NoSchedule taints TaintNodesByCondition manages, and when they apply. */
typedef struct cond_taint {
    const char *type, *status, *key;
} cond_taint;

static const cond_taint cond_taints[] = {
    {"Ready", "False", KN_CTL_TAINT_NOT_READY},
    {"Ready", "Unknown", KN_CTL_TAINT_UNREACHABLE},
    {"MemoryPressure", "True", "node.kubernetes.io/memory-pressure"},
    {"DiskPressure", "True", "node.kubernetes.io/disk-pressure"},
    {"PIDPressure", "True", "node.kubernetes.io/pid-pressure"},
    {"NetworkUnavailable", "True", "node.kubernetes.io/network-unavailable"},
};

#define UNSCHEDULABLE "node.kubernetes.io/unschedulable"

static bool managed_noschedule(const char *key)
{
    for (size_t i = 0; i < sizeof(cond_taints) / sizeof(cond_taints[0]); i++) {
        if (same(key, cond_taints[i].key))
            return true;
    }
    return same(key, UNSCHEDULABLE);
}

static cJSON *taint(const char *key, const char *effect, const char *time_added)
{
    cJSON *t = cJSON_CreateObject();
    cJSON_AddStringToObject(t, "key", key);
    cJSON_AddStringToObject(t, "effect", effect);
    if (time_added)
        cJSON_AddStringToObject(t, "timeAdded", time_added);
    return t;
}

/* The existing taint with key and effect, or NULL. */
static const cJSON *find(const cJSON *taints, const char *key, const char *effect)
{
    const cJSON *t;
    cJSON_ArrayForEach(t, taints)
    {
        if (same(kn_ctl_str(t, "key"), key) && same(kn_ctl_str(t, "effect"), effect))
            return t;
    }
    return NULL;
}

static void add_noschedule(cJSON *out, const cJSON *node, const cJSON *existing)
{
    for (size_t i = 0; i < sizeof(cond_taints) / sizeof(cond_taints[0]); i++) {
        const cond_taint *c = &cond_taints[i];
        if (!same(cond_status(node, c->type), c->status))
            continue;
        const cJSON *old = find(existing, c->key, "NoSchedule");
        cJSON_AddItemToArray(out,
                             old ? cJSON_Duplicate(old, 1) : taint(c->key, "NoSchedule", NULL));
    }
    if (cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(node, "spec"), "unschedulable"))) {
        const cJSON *old = find(existing, UNSCHEDULABLE, "NoSchedule");
        cJSON_AddItemToArray(out, old ? cJSON_Duplicate(old, 1)
                                      : taint(UNSCHEDULABLE, "NoSchedule", NULL));
    }
}

static bool is_noexec_managed(const cJSON *t)
{
    return same(kn_ctl_str(t, "effect"), "NoExecute") &&
           (same(kn_ctl_str(t, "key"), KN_CTL_TAINT_NOT_READY) ||
            same(kn_ctl_str(t, "key"), KN_CTL_TAINT_UNREACHABLE));
}

static void add_noexec(cJSON *out, const cJSON *node, const cJSON *existing, kn_ctl_noexec mode,
                       const char *now)
{
    const char *ready = cond_status(node, "Ready");
    const char *key = same(ready, "False")     ? KN_CTL_TAINT_NOT_READY
                      : same(ready, "Unknown") ? KN_CTL_TAINT_UNREACHABLE
                                               : NULL;
    if (mode == KN_CTL_NOEXEC_REMOVE || !key)
        return;
    const cJSON *old = find(existing, key, "NoExecute");
    if (old)
        cJSON_AddItemToArray(out, cJSON_Duplicate(old, 1));
    else if (mode == KN_CTL_NOEXEC_SET)
        cJSON_AddItemToArray(out, taint(key, "NoExecute", now));
}

cJSON *kn_ctl_node_taints(const cJSON *node, bool noschedule, kn_ctl_noexec noexec,
                          const char *now_rfc3339)
{
    const cJSON *existing = NULL, *t;
    kn_json_lookup(node, "spec.taints", &existing, NULL);
    cJSON *out = cJSON_CreateArray();
    cJSON_ArrayForEach(t, existing)
    {
        bool ns =
            same(kn_ctl_str(t, "effect"), "NoSchedule") && managed_noschedule(kn_ctl_str(t, "key"));
        if ((noschedule && ns) || (noexec != KN_CTL_NOEXEC_KEEP && is_noexec_managed(t)))
            continue;
        cJSON_AddItemToArray(out, cJSON_Duplicate(t, 1));
    }
    if (noschedule)
        add_noschedule(out, node, existing);
    if (noexec != KN_CTL_NOEXEC_KEEP)
        add_noexec(out, node, existing, noexec, now_rfc3339);
    return out;
}

bool kn_ctl_node_mark_unknown(cJSON *node, const char *now_rfc3339)
{
    static const char *const types[] = {"Ready", "MemoryPressure", "DiskPressure", "PIDPressure"};
    cJSON *st = kn_ctl_obj(node, "status");
    bool changed = false;
    for (size_t i = 0; i < 4; i++) {
        cJSON *c = (cJSON *)kn_ctl_condition(node, types[i]);
        if (c && same(kn_ctl_str(c, "status"), "Unknown"))
            continue;
        bool never = !c;
        if (!c) {
            cJSON *arr = cJSON_GetObjectItem(st, "conditions");
            if (!cJSON_IsArray(arr)) {
                arr = cJSON_CreateArray();
                kn_ctl_set(st, "conditions", arr);
            }
            c = cJSON_CreateObject();
            cJSON_AddStringToObject(c, "type", types[i]);
            const char *created = kn_ctl_str(node, "metadata.creationTimestamp");
            cJSON_AddStringToObject(c, "lastHeartbeatTime", created ? created : now_rfc3339);
            cJSON_AddItemToArray(arr, c);
        }
        kn_ctl_set(c, "status", cJSON_CreateString("Unknown"));
        kn_ctl_set(c, "reason",
                   cJSON_CreateString(never ? "NodeStatusNeverUpdated" : "NodeStatusUnknown"));
        kn_ctl_set(c, "message",
                   cJSON_CreateString(never ? "Kubelet never posted node status."
                                            : "Kubelet stopped posting node status."));
        kn_ctl_set(c, "lastTransitionTime", cJSON_CreateString(now_rfc3339));
        changed = true;
    }
    return changed;
}

kn_ctl_evict kn_ctl_eviction(const cJSON *tolerations, const cJSON *taints, int64_t *seconds)
{
    const cJSON *t, *tol;
    int64_t min = INT64_MAX;
    bool any = false;
    *seconds = 0;
    cJSON_ArrayForEach(t, taints)
    {
        if (!same(kn_ctl_str(t, "effect"), "NoExecute"))
            continue;
        any = true;
        const cJSON *used = NULL;
        cJSON_ArrayForEach(tol, tolerations)
        {
            if (!used && kn_sched_tolerates(tol, t))
                used = tol;
        }
        if (!used)
            return KN_CTL_EVICT_NOW;
        const cJSON *s = cJSON_GetObjectItem(used, "tolerationSeconds");
        if (cJSON_IsNumber(s) && (int64_t)s->valuedouble < min)
            min = (int64_t)s->valuedouble;
    }
    if (!any || min == INT64_MAX)
        return KN_CTL_EVICT_NEVER;
    if (min <= 0)
        return KN_CTL_EVICT_NOW;
    *seconds = min;
    return KN_CTL_EVICT_AFTER;
}

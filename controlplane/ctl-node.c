/* ctl-node.c - taints from node conditions, Unknown conditions, toleration times. */
#include "controlplane/ctl-node.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controlplane/ctl-internal.h"
#include "controlplane/scheduler.h"
#include "lib/json.h"
#include "lib/xalloc.h"

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

/* ---- cidrset -------------------------------------------------------------------------------- */

struct kn_ctl_cidrset {
    uint32_t base;  /* network address, host order */
    int mask;       /* subnet prefix length */
    size_t n, next; /* subnets, next candidate */
    unsigned char *used;
};

static bool parse_cidr(const char *cidr, uint32_t *addr, int *prefix)
{
    char ip[64];
    const char *slash = cidr ? strchr(cidr, '/') : NULL;
    if (!slash || (size_t)(slash - cidr) >= sizeof(ip))
        return false;
    memcpy(ip, cidr, (size_t)(slash - cidr));
    ip[slash - cidr] = '\0';
    struct in_addr a;
    char *end;
    long p = strtol(slash + 1, &end, 10);
    if (inet_pton(AF_INET, ip, &a) != 1 || *end || end == slash + 1 || p < 0 || p > 32)
        return false;
    *addr = ntohl(a.s_addr);
    *prefix = (int)p;
    return true;
}

kn_ctl_cidrset *kn_ctl_cidrset_new(const char *cidr, int mask)
{
    uint32_t addr;
    int prefix;
    if (!parse_cidr(cidr, &addr, &prefix) || mask <= prefix || mask > 30 || mask - prefix > 20)
        return NULL;
    kn_ctl_cidrset *s = xcalloc(1, sizeof(*s));
    s->base = prefix ? addr & ~((UINT32_C(1) << (32 - prefix)) - 1) : 0;
    s->mask = mask;
    s->n = (size_t)1 << (mask - prefix);
    s->used = xcalloc(s->n, 1);
    return s;
}

void kn_ctl_cidrset_free(kn_ctl_cidrset *s)
{
    if (!s)
        return;
    free(s->used);
    free(s);
}

/* The index of subnet cidr in s, or -1. */
static long index_of(const kn_ctl_cidrset *s, const char *cidr)
{
    uint32_t addr;
    int prefix;
    if (!parse_cidr(cidr, &addr, &prefix) || prefix != s->mask)
        return -1;
    uint64_t off = (uint64_t)(addr - s->base) >> (32 - s->mask);
    if (addr < s->base || off >= s->n || (addr & ((UINT32_C(1) << (32 - s->mask)) - 1)))
        return -1;
    return (long)off;
}

bool kn_ctl_cidrset_occupy(kn_ctl_cidrset *s, const char *cidr)
{
    long i = index_of(s, cidr);
    if (i < 0)
        return false;
    s->used[i] = 1;
    return true;
}

void kn_ctl_cidrset_release(kn_ctl_cidrset *s, const char *cidr)
{
    long i = index_of(s, cidr);
    if (i >= 0)
        s->used[i] = 0;
}

bool kn_ctl_cidrset_allocate(kn_ctl_cidrset *s, char out[32])
{
    for (size_t k = 0; k < s->n; k++) {
        size_t i = (s->next + k) % s->n;
        if (s->used[i])
            continue;
        s->used[i] = 1;
        s->next = (i + 1) % s->n;
        struct in_addr a = {htonl(s->base + ((uint32_t)i << (32 - s->mask)))};
        char ip[INET_ADDRSTRLEN];
        inet_ntop(AF_INET, &a, ip, sizeof(ip));
        snprintf(out, 32, "%s/%d", ip, s->mask);
        return true;
    }
    return false;
}

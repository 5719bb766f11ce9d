/* scheduler.c - filters, scores and failure messages of the scheduler. */
#include "controlplane/scheduler.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/quantity.h"
#include "lib/strbuf.h"
#include "lib/xalloc.h"

static const char *str_at(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static const cJSON *at(const cJSON *obj, const char *key)
{
    return cJSON_GetObjectItemCaseSensitive(obj, key);
}

static bool str_eq(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "") == 0;
}

/* ---- resource lists -------------------------------------------------------------- */

static int64_t *scalar_slot(kn_sched_res *r, const char *name)
{
    for (size_t i = 0; i < r->nscalar; i++) {
        if (strcmp(r->scalar[i].name, name) == 0)
            return &r->scalar[i].value;
    }
    if (r->nscalar == KN_SCHED_MAX_SCALAR || strlen(name) >= sizeof(r->scalar[0].name))
        return NULL;
    kn_sched_scalar *s = &r->scalar[r->nscalar++];
    snprintf(s->name, sizeof(s->name), "%s", name);
    s->value = 0;
    return &s->value;
}

/* The slot of resource name in r (NULL for resources not counted). */
static int64_t *res_slot(kn_sched_res *r, const char *name)
{
    if (strcmp(name, "cpu") == 0)
        return &r->milli_cpu;
    if (strcmp(name, "memory") == 0)
        return &r->memory;
    if (strcmp(name, "ephemeral-storage") == 0)
        return &r->ephemeral;
    if (strcmp(name, "pods") == 0)
        return &r->pods;
    return scalar_slot(r, name);
}

/* Sets the resources of a ResourceList ({"cpu": "250m", ...}) into r. */
static void res_set_list(kn_sched_res *r, const cJSON *list)
{
    const cJSON *q;
    cJSON_ArrayForEach(q, list)
    {
        kn_quantity v;
        if (!q->string || !cJSON_IsString(q) || kn_quantity_parse(q->valuestring, &v, NULL) < 0)
            continue;
        int64_t *slot = res_slot(r, q->string);
        if (slot)
            *slot =
                strcmp(q->string, "cpu") == 0 ? kn_quantity_milli_value(&v) : kn_quantity_value(&v);
    }
}

static void res_add(kn_sched_res *a, const kn_sched_res *b)
{
    a->milli_cpu += b->milli_cpu;
    a->memory += b->memory;
    a->ephemeral += b->ephemeral;
    for (size_t i = 0; i < b->nscalar; i++) {
        int64_t *s = scalar_slot(a, b->scalar[i].name);
        if (s)
            *s += b->scalar[i].value;
    }
}

static int64_t max64(int64_t a, int64_t b)
{
    return a > b ? a : b;
}

static void res_max(kn_sched_res *a, const kn_sched_res *b)
{
    a->milli_cpu = max64(a->milli_cpu, b->milli_cpu);
    a->memory = max64(a->memory, b->memory);
    a->ephemeral = max64(a->ephemeral, b->ephemeral);
    for (size_t i = 0; i < b->nscalar; i++) {
        int64_t *s = scalar_slot(a, b->scalar[i].name);
        if (s)
            *s = max64(*s, b->scalar[i].value);
    }
}

/* A container's requests; limits stand in for unset requests. */
static void container_requests(const cJSON *c, kn_sched_res *out)
{
    memset(out, 0, sizeof(*out));
    const cJSON *res = at(c, "resources");
    res_set_list(out, at(res, "limits"));
    res_set_list(out, at(res, "requests"));
}

static bool restartable(const cJSON *init_container)
{
    return str_eq(str_at(init_container, "restartPolicy"), "Always");
}

void kn_sched_pod_requests(const cJSON *pod, kn_sched_res *out)
{
    memset(out, 0, sizeof(*out));
    const cJSON *spec = at(pod, "spec"), *c;
    kn_sched_res one;
    cJSON_ArrayForEach(c, at(spec, "containers"))
    {
        container_requests(c, &one);
        res_add(out, &one);
    }
    kn_sched_res sidecars = {0}, init_peak = {0};
    cJSON_ArrayForEach(c, at(spec, "initContainers"))
    {
        container_requests(c, &one);
        if (restartable(c)) {
            res_add(out, &one);
            res_add(&sidecars, &one);
            res_max(&init_peak, &sidecars);
        } else {
            res_add(&one, &sidecars);
            res_max(&init_peak, &one);
        }
    }
    res_max(out, &init_peak);
    kn_sched_res overhead = {0};
    res_set_list(&overhead, at(spec, "overhead"));
    res_add(out, &overhead);
}

/* One container's cpu and memory for scoring: unset values get defaults. */
static void container_nonzero(const cJSON *c, int64_t *cpu, int64_t *mem)
{
    const cJSON *res = at(c, "resources");
    bool has_cpu = at(at(res, "requests"), "cpu") || at(at(res, "limits"), "cpu");
    bool has_mem = at(at(res, "requests"), "memory") || at(at(res, "limits"), "memory");
    kn_sched_res r;
    container_requests(c, &r);
    *cpu = has_cpu ? r.milli_cpu : KN_SCHED_DEFAULT_MILLI_CPU;
    *mem = has_mem ? r.memory : KN_SCHED_DEFAULT_MEMORY;
}

void kn_sched_pod_nonzero(const cJSON *pod, int64_t *milli_cpu, int64_t *memory)
{
    const cJSON *spec = at(pod, "spec"), *c;
    int64_t cpu = 0, mem = 0, sc_cpu = 0, sc_mem = 0, peak_cpu = 0, peak_mem = 0, x, y;
    cJSON_ArrayForEach(c, at(spec, "containers"))
    {
        container_nonzero(c, &x, &y);
        cpu += x;
        mem += y;
    }
    cJSON_ArrayForEach(c, at(spec, "initContainers"))
    {
        container_nonzero(c, &x, &y);
        if (restartable(c)) {
            cpu += x;
            mem += y;
            sc_cpu += x;
            sc_mem += y;
            x = sc_cpu;
            y = sc_mem;
        } else {
            x += sc_cpu;
            y += sc_mem;
        }
        peak_cpu = max64(peak_cpu, x);
        peak_mem = max64(peak_mem, y);
    }
    *milli_cpu = max64(cpu, peak_cpu);
    *memory = max64(mem, peak_mem);
}

/* ---- nodes ----------------------------------------------------------------------- */

void kn_sched_node_init(kn_sched_node *n, const cJSON *node)
{
    memset(n, 0, sizeof(*n));
    n->node = node;
    n->name = str_at(at(node, "metadata"), "name");
    const cJSON *st = at(node, "status");
    const cJSON *alloc = at(st, "allocatable");
    res_set_list(&n->alloc, alloc ? alloc : at(st, "capacity"));
}

/* Calls fn for each host port the pod's containers ask for. */
static void for_each_host_port(const cJSON *pod, void (*fn)(const kn_sched_port *, void *),
                               void *ud)
{
    const cJSON *c, *p;
    cJSON_ArrayForEach(c, at(at(pod, "spec"), "containers"))
    {
        cJSON_ArrayForEach(p, at(c, "ports"))
        {
            const cJSON *hp = at(p, "hostPort");
            if (!cJSON_IsNumber(hp) || hp->valueint <= 0)
                continue;
            kn_sched_port port = {.port = hp->valueint};
            const char *proto = str_at(p, "protocol"), *ip = str_at(p, "hostIP");
            snprintf(port.proto, sizeof(port.proto), "%s", proto && *proto ? proto : "TCP");
            snprintf(port.ip, sizeof(port.ip), "%s", ip && *ip ? ip : "0.0.0.0");
            fn(&port, ud);
        }
    }
}

static void add_port(const kn_sched_port *p, void *ud)
{
    kn_sched_node *n = ud;
    if (n->nports == n->cap_ports) {
        n->cap_ports = n->cap_ports ? n->cap_ports * 2 : 8;
        n->ports = xreallocarray(n->ports, n->cap_ports, sizeof(*n->ports));
    }
    n->ports[n->nports++] = *p;
}

void kn_sched_node_add_pod(kn_sched_node *n, const cJSON *pod)
{
    kn_sched_res r;
    kn_sched_pod_requests(pod, &r);
    res_add(&n->used, &r);
    int64_t cpu, mem;
    kn_sched_pod_nonzero(pod, &cpu, &mem);
    n->nz_milli_cpu += cpu;
    n->nz_memory += mem;
    n->npods++;
    for_each_host_port(pod, add_port, n);
}

void kn_sched_node_clear(kn_sched_node *n)
{
    free(n->ports);
    memset(n, 0, sizeof(*n));
}

void kn_sched_reasons_clear(kn_sched_reasons *r)
{
    for (size_t i = 0; i < r->n; i++)
        free(r->v[i]);
    r->n = 0;
}

static void reason(kn_sched_reasons *r, char *text)
{
    if (r->n < KN_SCHED_MAX_REASONS)
        r->v[r->n++] = text;
    else
        free(text);
}

/* ---- taints and tolerations ------------------------------------------------------- */

bool kn_sched_tolerates(const cJSON *tol, const cJSON *taint)
{
    const char *effect = str_at(tol, "effect"), *key = str_at(tol, "key");
    if (effect && *effect && !str_eq(effect, str_at(taint, "effect")))
        return false;
    if (key && *key && !str_eq(key, str_at(taint, "key")))
        return false;
    const char *op = str_at(tol, "operator");
    if (!op || !*op || strcmp(op, "Equal") == 0)
        return str_eq(str_at(tol, "value"), str_at(taint, "value"));
    return strcmp(op, "Exists") == 0;
}

bool kn_sched_tolerations_tolerate(const cJSON *tolerations, const cJSON *taint)
{
    const cJSON *t;
    cJSON_ArrayForEach(t, tolerations)
    {
        if (kn_sched_tolerates(t, taint))
            return true;
    }
    return false;
}

static bool has_taint(const cJSON *taints, const char *key, const char *effect)
{
    const cJSON *t;
    cJSON_ArrayForEach(t, taints)
    {
        if (str_eq(str_at(t, "key"), key) && str_eq(str_at(t, "effect"), effect))
            return true;
    }
    return false;
}

static const char *ready_status(const cJSON *node)
{
    const cJSON *c;
    cJSON_ArrayForEach(c, at(at(node, "status"), "conditions"))
    {
        if (str_eq(str_at(c, "type"), "Ready"))
            return str_at(c, "status");
    }
    return NULL;
}

cJSON *kn_sched_node_taints(const cJSON *node)
{
    const cJSON *spec_taints = at(at(node, "spec"), "taints");
    cJSON *out = cJSON_IsArray(spec_taints) ? cJSON_Duplicate(spec_taints, 1) : cJSON_CreateArray();
    const char *ready = ready_status(node);
    if (str_eq(ready, "True"))
        return out;
    const char *key =
        str_eq(ready, "False") ? "node.kubernetes.io/not-ready" : "node.kubernetes.io/unreachable";
    if (!has_taint(out, key, "NoSchedule")) {
        cJSON *t = cJSON_CreateObject();
        cJSON_AddStringToObject(t, "key", key);
        cJSON_AddStringToObject(t, "effect", "NoSchedule");
        cJSON_AddItemToArray(out, t);
    }
    return out;
}

static bool filter_unschedulable(const cJSON *pod, const cJSON *node, kn_sched_reasons *why)
{
    if (!cJSON_IsTrue(at(at(node, "spec"), "unschedulable")))
        return true;
    cJSON *taint = cJSON_CreateObject();
    cJSON_AddStringToObject(taint, "key", "node.kubernetes.io/unschedulable");
    cJSON_AddStringToObject(taint, "effect", "NoSchedule");
    bool ok = kn_sched_tolerations_tolerate(at(at(pod, "spec"), "tolerations"), taint);
    cJSON_Delete(taint);
    if (!ok)
        reason(why, xstrdup("node(s) were unschedulable"));
    return ok;
}

static bool filter_taints(const cJSON *pod, const cJSON *node, kn_sched_reasons *why)
{
    cJSON *taints = kn_sched_node_taints(node);
    const cJSON *tols = at(at(pod, "spec"), "tolerations"), *t;
    bool ok = true;
    cJSON_ArrayForEach(t, taints)
    {
        const char *effect = str_at(t, "effect");
        if (!str_eq(effect, "NoSchedule") && !str_eq(effect, "NoExecute"))
            continue;
        if (!kn_sched_tolerations_tolerate(tols, t)) {
            const char *v = str_at(t, "value");
            reason(why, xasprintf("node(s) had untolerated taint {%s: %s}", str_at(t, "key"),
                                  v ? v : ""));
            ok = false;
            break;
        }
    }
    cJSON_Delete(taints);
    return ok;
}

/* ---- node affinity ---------------------------------------------------------------- */

static bool value_in(const cJSON *values, const char *v)
{
    const cJSON *x;
    cJSON_ArrayForEach(x, values)
    {
        if (cJSON_IsString(x) && str_eq(x->valuestring, v))
            return true;
    }
    return false;
}

static bool parse_int(const char *s, long long *out)
{
    if (!s || !*s)
        return false;
    char *end;
    errno = 0;
    *out = strtoll(s, &end, 10);
    return *end == '\0' && errno == 0;
}

/* One NodeSelectorRequirement against the value (NULL: absent). */
static bool requirement_matches(const cJSON *req, const char *value)
{
    const char *op = str_at(req, "operator");
    const cJSON *values = at(req, "values");
    if (str_eq(op, "In"))
        return value && value_in(values, value);
    if (str_eq(op, "NotIn"))
        return !value || !value_in(values, value);
    if (str_eq(op, "Exists"))
        return value != NULL;
    if (str_eq(op, "DoesNotExist"))
        return value == NULL;
    long long have, want;
    const cJSON *first = cJSON_GetArrayItem(values, 0);
    if (cJSON_GetArraySize(values) != 1 || !cJSON_IsString(first) || !parse_int(value, &have) ||
        !parse_int(first->valuestring, &want))
        return false;
    if (str_eq(op, "Gt"))
        return have > want;
    if (str_eq(op, "Lt"))
        return have < want;
    return false;
}

bool kn_sched_term_matches(const cJSON *term, const cJSON *node)
{
    const cJSON *exprs = at(term, "matchExpressions"), *fields = at(term, "matchFields"), *r;
    if (cJSON_GetArraySize(exprs) == 0 && cJSON_GetArraySize(fields) == 0)
        return false;
    const cJSON *labels = at(at(node, "metadata"), "labels");
    cJSON_ArrayForEach(r, exprs)
    {
        if (!requirement_matches(r, str_at(labels, str_at(r, "key"))))
            return false;
    }
    cJSON_ArrayForEach(r, fields)
    {
        const char *v =
            str_eq(str_at(r, "key"), "metadata.name") ? str_at(at(node, "metadata"), "name") : NULL;
        if (!requirement_matches(r, v))
            return false;
    }
    return true;
}

bool kn_sched_node_affinity_matches(const cJSON *pod, const cJSON *node)
{
    const cJSON *spec = at(pod, "spec"), *kv;
    const cJSON *labels = at(at(node, "metadata"), "labels");
    cJSON_ArrayForEach(kv, at(spec, "nodeSelector"))
    {
        const char *have = str_at(labels, kv->string);
        if (!cJSON_IsString(kv) || !have || strcmp(have, kv->valuestring) != 0)
            return false;
    }
    const cJSON *req = at(at(at(spec, "affinity"), "nodeAffinity"),
                          "requiredDuringSchedulingIgnoredDuringExecution");
    if (!req)
        return true;
    const cJSON *term;
    cJSON_ArrayForEach(term, at(req, "nodeSelectorTerms"))
    {
        if (kn_sched_term_matches(term, node))
            return true;
    }
    return false;
}

static bool filter_affinity(const cJSON *pod, const cJSON *node, kn_sched_reasons *why)
{
    if (kn_sched_node_affinity_matches(pod, node))
        return true;
    reason(why, xstrdup("node(s) didn't match Pod's node affinity/selector"));
    return false;
}

/* ---- host ports and resources ------------------------------------------------------ */

typedef struct port_check {
    const kn_sched_node *n;
    bool conflict;
} port_check;

static bool ports_conflict(const kn_sched_port *a, const kn_sched_port *b)
{
    if (a->port != b->port || strcmp(a->proto, b->proto) != 0)
        return false;
    return strcmp(a->ip, b->ip) == 0 || strcmp(a->ip, "0.0.0.0") == 0 ||
           strcmp(b->ip, "0.0.0.0") == 0;
}

static void check_port(const kn_sched_port *p, void *ud)
{
    port_check *pc = ud;
    for (size_t i = 0; i < pc->n->nports; i++) {
        if (ports_conflict(p, &pc->n->ports[i]))
            pc->conflict = true;
    }
}

static bool filter_ports(const cJSON *pod, const kn_sched_node *n, kn_sched_reasons *why)
{
    port_check pc = {n, false};
    for_each_host_port(pod, check_port, &pc);
    if (pc.conflict)
        reason(why, xstrdup("node(s) didn't have free ports for the requested pod ports"));
    return !pc.conflict;
}

static int64_t scalar_of(const kn_sched_res *r, const char *name)
{
    for (size_t i = 0; i < r->nscalar; i++) {
        if (strcmp(r->scalar[i].name, name) == 0)
            return r->scalar[i].value;
    }
    return 0;
}

static void check_fit(kn_sched_reasons *why, const char *name, int64_t want, int64_t alloc,
                      int64_t used)
{
    if (want > 0 && want > alloc - used)
        reason(why, xasprintf("Insufficient %s", name));
}

static bool filter_resources(const cJSON *pod, const kn_sched_node *n, kn_sched_reasons *why)
{
    size_t before = why->n;
    if (n->npods + 1 > n->alloc.pods)
        reason(why, xstrdup("Too many pods"));
    kn_sched_res r;
    kn_sched_pod_requests(pod, &r);
    check_fit(why, "cpu", r.milli_cpu, n->alloc.milli_cpu, n->used.milli_cpu);
    check_fit(why, "memory", r.memory, n->alloc.memory, n->used.memory);
    check_fit(why, "ephemeral-storage", r.ephemeral, n->alloc.ephemeral, n->used.ephemeral);
    for (size_t i = 0; i < r.nscalar; i++) {
        const char *name = r.scalar[i].name;
        check_fit(why, name, r.scalar[i].value, scalar_of(&n->alloc, name),
                  scalar_of(&n->used, name));
    }
    return why->n == before;
}

bool kn_sched_filter(const cJSON *pod, const kn_sched_node *n, kn_sched_reasons *why)
{
    kn_sched_reasons_clear(why);
    return filter_unschedulable(pod, n->node, why) && filter_taints(pod, n->node, why) &&
           filter_affinity(pod, n->node, why) && filter_ports(pod, n, why) &&
           filter_resources(pod, n, why);
}

/* ---- scores ----------------------------------------------------------------------- */

static int64_t least_requested(int64_t requested, int64_t capacity)
{
    if (capacity <= 0 || requested > capacity)
        return 0;
    return (capacity - requested) * 100 / capacity;
}

int64_t kn_sched_least_allocated(const cJSON *pod, const kn_sched_node *n)
{
    int64_t cpu, mem;
    kn_sched_pod_nonzero(pod, &cpu, &mem);
    int64_t s = least_requested(n->nz_milli_cpu + cpu, n->alloc.milli_cpu) +
                least_requested(n->nz_memory + mem, n->alloc.memory);
    return s / 2;
}

/* Untolerated PreferNoSchedule taints (tolerations with effect "" or
 * PreferNoSchedule count). */
static int64_t intolerable_prefer(const cJSON *pod, const cJSON *node)
{
    const cJSON *tols = at(at(pod, "spec"), "tolerations"), *t, *tol;
    int64_t count = 0;
    cJSON_ArrayForEach(t, at(at(node, "spec"), "taints"))
    {
        if (!str_eq(str_at(t, "effect"), "PreferNoSchedule"))
            continue;
        bool ok = false;
        cJSON_ArrayForEach(tol, tols)
        {
            const char *e = str_at(tol, "effect");
            if ((!e || !*e || strcmp(e, "PreferNoSchedule") == 0) && kn_sched_tolerates(tol, t))
                ok = true;
        }
        count += !ok;
    }
    return count;
}

static int64_t preferred_affinity(const cJSON *pod, const cJSON *node)
{
    const cJSON *pref = at(at(at(at(pod, "spec"), "affinity"), "nodeAffinity"),
                           "preferredDuringSchedulingIgnoredDuringExecution");
    const cJSON *term;
    int64_t sum = 0;
    cJSON_ArrayForEach(term, pref)
    {
        const cJSON *w = at(term, "weight");
        if (cJSON_IsNumber(w) && kn_sched_term_matches(at(term, "preference"), node))
            sum += (int64_t)w->valuedouble;
    }
    return sum;
}

/* upstream's DefaultNormalizeScore over v[0..n) to 0..100. */
static void normalize(int64_t *v, size_t n, bool reverse)
{
    int64_t max = 0;
    for (size_t i = 0; i < n; i++)
        max = max64(max, v[i]);
    for (size_t i = 0; i < n; i++) {
        int64_t s = max == 0 ? 0 : v[i] * 100 / max;
        v[i] = reverse ? 100 - s : s;
    }
}

/* Total scores of the feasible nodes idx[0..n). */
static void score_nodes(const cJSON *pod, kn_sched_node *nodes, const size_t *idx, size_t n,
                        int64_t *total)
{
    int64_t *taint = xcalloc(n + 1, sizeof(int64_t)), *aff = xcalloc(n + 1, sizeof(int64_t));
    for (size_t i = 0; i < n; i++) {
        taint[i] = intolerable_prefer(pod, nodes[idx[i]].node);
        aff[i] = preferred_affinity(pod, nodes[idx[i]].node);
    }
    normalize(taint, n, true);
    normalize(aff, n, false);
    for (size_t i = 0; i < n; i++)
        total[i] = kn_sched_least_allocated(pod, &nodes[idx[i]]) + 3 * taint[i] + 2 * aff[i];
    free(taint);
    free(aff);
}

/* ---- failure message and the pick -------------------------------------------------- */

typedef struct count {
    const char *reason;
    size_t n;
} count;

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

char *kn_sched_fit_message(const kn_sched_reasons *reasons, size_t nnodes)
{
    count *counts = xcalloc(nnodes * KN_SCHED_MAX_REASONS + 1, sizeof(*counts));
    size_t nc = 0;
    for (size_t i = 0; i < nnodes; i++) {
        for (size_t j = 0; j < reasons[i].n; j++) {
            size_t k = 0;
            while (k < nc && strcmp(counts[k].reason, reasons[i].v[j]) != 0)
                k++;
            if (k == nc)
                counts[nc++].reason = reasons[i].v[j];
            counts[k].n++;
        }
    }
    char **lines = xcalloc(nc + 1, sizeof(char *));
    for (size_t k = 0; k < nc; k++)
        lines[k] = xasprintf("%zu %s", counts[k].n, counts[k].reason);
    qsort(lines, nc, sizeof(char *), cmp_str);
    kn_buf b = KN_BUF_INIT;
    kn_buf_appendf(&b, "0/%zu nodes are available:", nnodes);
    for (size_t k = 0; k < nc; k++) {
        kn_buf_appendf(&b, "%s %s", k ? "," : "", lines[k]);
        free(lines[k]);
    }
    kn_buf_append_char(&b, '.');
    free(lines);
    free(counts);
    return kn_buf_steal(&b);
}

/* The best of the feasible nodes idx[0..n) (random among equals). */
static int best_of(const cJSON *pod, kn_sched_node *nodes, const size_t *idx, size_t n,
                   kn_rand *rnd)
{
    int64_t *total = xcalloc(n + 1, sizeof(int64_t));
    score_nodes(pod, nodes, idx, n, total);
    size_t best = 0, ties = 1;
    for (size_t i = 1; i < n; i++) {
        if (total[i] > total[best]) {
            best = i;
            ties = 1;
        } else if (total[i] == total[best] && kn_rand_float(rnd) * (double)++ties < 1.0) {
            best = i;
        }
    }
    free(total);
    return (int)idx[best];
}

int kn_sched_pick(const cJSON *pod, kn_sched_node *nodes, size_t n, kn_rand *rnd, char **message)
{
    *message = NULL;
    if (n == 0) {
        *message = xstrdup("no nodes available to schedule pods");
        return -1;
    }
    kn_sched_reasons *why = xcalloc(n, sizeof(*why));
    size_t *feasible = xcalloc(n, sizeof(size_t)), nf = 0;
    for (size_t i = 0; i < n; i++) {
        if (kn_sched_filter(pod, &nodes[i], &why[i]))
            feasible[nf++] = i;
    }
    int chosen = -1;
    if (nf == 0)
        *message = kn_sched_fit_message(why, n);
    else
        chosen = best_of(pod, nodes, feasible, nf, rnd);
    for (size_t i = 0; i < n; i++)
        kn_sched_reasons_clear(&why[i]);
    free(why);
    free(feasible);
    return chosen;
}

/* actions.c - computePodActions (see actions.h). */
#include <stdlib.h>
#include <string.h>

#include "cri/api.pb-c.h"
#include "kubelet/actions.h"
#include "lib/xalloc.h"

bool kl_sandbox_changed(const kl_pod *pod, const kl_pod_runtime *rt, uint32_t *attempt,
                        const char **sandbox_id)
{
    *attempt = 0;
    *sandbox_id = NULL;
    if (!rt || rt->n_sandboxes == 0)
        return true;
    size_t ready = 0;
    for (size_t i = 0; i < rt->n_sandboxes; i++)
        ready += rt->sandboxes[i].ready;
    const kl_rt_sandbox *s = &rt->sandboxes[0];
    *attempt = s->attempt;
    *sandbox_id = s->id;
    int want_net =
        pod->host_network ? RUNTIME__V1__NAMESPACE_MODE__NODE : RUNTIME__V1__NAMESPACE_MODE__POD;
    bool changed =
        ready > 1 || !s->ready || s->network_mode != want_net || (!pod->host_network && !*s->ip);
    if (changed)
        *attempt = s->attempt + 1;
    return changed;
}

bool kl_should_restart(const kl_container *c, const kl_pod *pod, const kl_pod_runtime *rt)
{
    if (pod->deletion_timestamp)
        return false;
    const kl_rt_container *st = kl_rt_find(rt, c->name);
    if (!st)
        return true;
    switch (st->state) {
    case KL_CS_RUNNING:
        return false;
    case KL_CS_UNKNOWN:
    case KL_CS_CREATED:
        return true;
    case KL_CS_EXITED:
        break;
    }
    if (pod->restart_policy == KL_RESTART_NEVER)
        return false;
    if (pod->restart_policy == KL_RESTART_ON_FAILURE && st->exit_code == 0)
        return false;
    return true;
}

static bool init_failed(const kl_rt_container *st)
{
    return (st->state == KL_CS_EXITED && st->exit_code != 0) || st->state == KL_CS_UNKNOWN;
}

void kl_next_init(const kl_pod *pod, const kl_pod_runtime *rt, bool *done, int *next, bool *failed)
{
    *done = false;
    *next = -1;
    *failed = false;
    size_t n = pod->n_init_containers;
    if (n == 0) {
        *done = true;
        return;
    }
    /* a running app container means initialization happened before */
    for (size_t i = 0; i < pod->n_containers; i++) {
        const kl_rt_container *st = kl_rt_find(rt, pod->containers[i].name);
        if (st && st->state == KL_CS_RUNNING) {
            *done = true;
            return;
        }
    }
    for (size_t i = n; i-- > 0;) {
        const kl_rt_container *st = kl_rt_find(rt, pod->init_containers[i].name);
        if (st && init_failed(st)) {
            *next = (int)i;
            *failed = true;
            return;
        }
    }
    for (size_t i = n; i-- > 0;) {
        const kl_rt_container *st = kl_rt_find(rt, pod->init_containers[i].name);
        if (!st)
            continue;
        if (st->state == KL_CS_RUNNING)
            return; /* still running: wait */
        if (st->state == KL_CS_CREATED) {
            *next = (int)i; /* created but never started: start it again */
            return;
        }
        if (i == n - 1)
            *done = true;
        else
            *next = (int)i + 1;
        return;
    }
    *next = 0;
}

static void add_start(kl_pod_actions *a, size_t idx)
{
    a->start = xreallocarray(a->start, a->n_start + 1, sizeof(size_t));
    a->start[a->n_start++] = idx;
}

static void add_kill(kl_pod_actions *a, const kl_rt_container *c, const kl_container *spec,
                     char *message)
{
    a->kill = xreallocarray(a->kill, a->n_kill + 1, sizeof(kl_kill));
    a->kill[a->n_kill++] = (kl_kill){c, spec, message};
}

static bool container_succeeded(const kl_container *c, const kl_pod_runtime *rt)
{
    const kl_rt_container *st = kl_rt_find(rt, c->name);
    return st && st->state == KL_CS_EXITED && st->exit_code == 0;
}

/* A new sandbox: everything starts over (upstream's createPodSandbox branch). */
static void plan_new_sandbox(const kl_pod *pod, const kl_pod_runtime *rt, kl_pod_actions *a)
{
    if (pod->restart_policy == KL_RESTART_NEVER && a->attempt != 0 && rt && rt->n_containers) {
        a->create_sandbox = false; /* it ran and will not run again */
        return;
    }
    for (size_t i = 0; i < pod->n_containers; i++) {
        if (pod->restart_policy == KL_RESTART_ON_FAILURE &&
            container_succeeded(&pod->containers[i], rt))
            continue;
        add_start(a, i);
    }
    bool done, failed;
    int next;
    if (a->n_start == 0) {
        kl_next_init(pod, rt, &done, &next, &failed);
        if (done) {
            a->create_sandbox = false;
            return;
        }
    }
    if (pod->n_init_containers) {
        a->next_init = 0;
        a->n_start = 0;
    }
}

static void plan_app_containers(const kl_pod *pod, const kl_pod_runtime *rt, kl_pod_actions *a)
{
    size_t keep = 0;
    for (size_t i = 0; i < pod->n_containers; i++) {
        const kl_container *c = &pod->containers[i];
        const kl_rt_container *st = kl_rt_find(rt, c->name);
        if (!st || st->state != KL_CS_RUNNING) {
            if (kl_should_restart(c, pod, rt)) {
                add_start(a, i);
                if (st && st->state == KL_CS_UNKNOWN)
                    add_kill(a, st, c,
                             xstrdup("Container is in \"Unknown\" state, try killing it before "
                                     "restart"));
            }
            continue;
        }
        if (st->has_hash && st->hash != c->hash) {
            /* the spec changed: restart whatever the restart policy */
            add_kill(a, st, c,
                     xasprintf("Container %s definition changed, will be restarted", c->name));
            add_start(a, i);
            continue;
        }
        keep++;
    }
    if (keep == 0 && a->n_start == 0)
        a->kill_pod = true;
}

void kl_compute_pod_actions(const kl_pod *pod, const kl_pod_runtime *rt, kl_pod_actions *a)
{
    memset(a, 0, sizeof(*a));
    a->next_init = -1;
    bool create = kl_sandbox_changed(pod, rt, &a->attempt, &a->sandbox_id);
    a->kill_pod = a->create_sandbox = create;
    if (create) {
        plan_new_sandbox(pod, rt, a);
        return;
    }
    bool done, failed;
    int next;
    kl_next_init(pod, rt, &done, &next, &failed);
    if (!done) {
        if (next >= 0) {
            if (failed && pod->restart_policy == KL_RESTART_NEVER) {
                a->kill_pod = true;
            } else {
                const kl_rt_container *st = kl_rt_find(rt, pod->init_containers[next].name);
                if (st && st->state == KL_CS_UNKNOWN)
                    add_kill(a, st, &pod->init_containers[next],
                             xstrdup("Init container is in \"Unknown\" state, try killing it "
                                     "before restart"));
                a->next_init = next;
            }
        }
        return;
    }
    plan_app_containers(pod, rt, a);
}

void kl_pod_actions_clear(kl_pod_actions *a)
{
    for (size_t i = 0; i < a->n_kill; i++)
        free(a->kill[i].message);
    free(a->kill);
    free(a->start);
    memset(a, 0, sizeof(*a));
    a->next_init = -1;
}

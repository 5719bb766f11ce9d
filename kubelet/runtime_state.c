/* runtime_state.c - a pod's sandboxes and containers as the runtime reports
 * them (see runtime_state.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cri/msg.h"
#include "cri/runtime.h"
#include "kubelet/containers.h"
#include "kubelet/runtime_state.h"
#include "kubelet/sandbox.h"
#include "lib/cleanup.h"
#include "lib/strbuf.h"
#include "lib/xalloc.h"

#define MAX_TERMINATION_MESSAGE 4096
#define FALLBACK_LOG_LINES 80
#define FALLBACK_LOG_BYTES 2048

static char *dup_or_empty(const char *s)
{
    return xstrdup(s ? s : "");
}

/* ---- termination messages ------------------------------------------------------------------ */

static char *read_limited(const char *path, size_t max)
{
    cleanup_file FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    char *buf = xmalloc(max + 1);
    size_t n = fread(buf, 1, max, f);
    buf[n] = '\0';
    if (n == 0) {
        free(buf);
        return NULL;
    }
    return buf;
}

/* The message part of a CRI log line "<time> <stream> <P|F> <text>". */
static const char *log_text(const char *line)
{
    const char *p = line;
    for (int field = 0; field < 3 && p; field++) {
        p = strchr(p, ' ');
        if (p)
            p++;
    }
    return p ? p : line;
}

/* The last lines of a CRI log within the fallback limits. */
static char *log_tail(const char *path)
{
    cleanup_file FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    char *lines[FALLBACK_LOG_LINES] = {0};
    size_t count = 0;
    char *line = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, f) > 0) {
        size_t slot = count % FALLBACK_LOG_LINES;
        free(lines[slot]);
        lines[slot] = xstrdup(log_text(line));
        count++;
    }
    free(line);
    size_t n = count < FALLBACK_LOG_LINES ? count : FALLBACK_LOG_LINES;
    kn_buf b = KN_BUF_INIT;
    for (size_t i = 0; i < n; i++) {
        char *l = lines[(count - n + i) % FALLBACK_LOG_LINES];
        kn_buf_append_str(&b, l);
        free(l);
    }
    if (b.len > FALLBACK_LOG_BYTES) {
        char *tail = xstrdup(b.data + b.len - FALLBACK_LOG_BYTES);
        kn_buf_free(&b);
        return tail;
    }
    return b.len ? kn_buf_steal(&b) : (kn_buf_free(&b), NULL);
}

char *kl_termination_message(const Runtime__V1__ContainerStatus *st)
{
    const char *cpath = cri_map_get(st, "annotations", KL_ANN_TERMINATION_MESSAGE_PATH);
    const char *policy = cri_map_get(st, "annotations", KL_ANN_TERMINATION_MESSAGE_POLICY);
    char *msg = NULL;
    for (size_t i = 0; cpath && i < st->n_mounts && !msg; i++)
        if (strcmp(st->mounts[i]->container_path, cpath) == 0)
            msg = read_limited(st->mounts[i]->host_path, MAX_TERMINATION_MESSAGE);
    if (!msg && policy && strcmp(policy, "FallbackToLogsOnError") == 0 && st->exit_code != 0 &&
        st->log_path && *st->log_path)
        msg = log_tail(st->log_path);
    return msg;
}

/* ---- building the snapshot ------------------------------------------------------------------ */

static kl_cstate to_state(Runtime__V1__ContainerState s)
{
    switch (s) {
    case RUNTIME__V1__CONTAINER_STATE__CONTAINER_CREATED:
        return KL_CS_CREATED;
    case RUNTIME__V1__CONTAINER_STATE__CONTAINER_RUNNING:
        return KL_CS_RUNNING;
    case RUNTIME__V1__CONTAINER_STATE__CONTAINER_EXITED:
        return KL_CS_EXITED;
    default:
        return KL_CS_UNKNOWN;
    }
}

static void exited_message(kl_rt_container *c, const Runtime__V1__ContainerStatus *st)
{
    c->reason = dup_or_empty(st->reason);
    cleanup_free char *tmsg = kl_termination_message(st);
    if (tmsg && st->message && *st->message)
        c->message = xasprintf("%s: %s", st->message, tmsg);
    else
        c->message = dup_or_empty(tmsg ? tmsg : st->message);
}

static void container_from(kl_rt_container *c, const Runtime__V1__ContainerStatus *st,
                           const char *sandbox_id)
{
    const char *name = cri_map_get(st, "labels", KL_LABEL_CONTAINER_NAME);
    c->id = xstrdup(st->id);
    c->name = xstrdup(name ? name : st->metadata ? st->metadata->name : "");
    c->sandbox_id = dup_or_empty(sandbox_id);
    c->attempt = st->metadata ? st->metadata->attempt : 0;
    c->state = to_state(st->state);
    c->created_at = st->created_at;
    if (c->state != KL_CS_CREATED)
        c->started_at = st->started_at;
    c->image = dup_or_empty(st->image ? st->image->image : NULL);
    c->image_ref = dup_or_empty(st->image_ref);
    c->log_path = dup_or_empty(st->log_path);
    const char *hash = cri_map_get(st, "annotations", KL_ANN_CONTAINER_HASH);
    char *end = NULL;
    if (hash && *hash) {
        unsigned long h = strtoul(hash, &end, 16);
        c->has_hash = *end == '\0';
        c->hash = (uint32_t)h;
    }
    const char *rc = cri_map_get(st, "annotations", KL_ANN_RESTART_COUNT);
    c->restart_count = rc ? atoi(rc) : 0;
    const char *grace = cri_map_get(st, "annotations", KL_ANN_POD_TERMINATION_GRACE);
    c->pod_grace_s = grace ? atoll(grace) : -1;
    if (c->state == KL_CS_EXITED) {
        c->finished_at = st->finished_at;
        c->exit_code = st->exit_code;
        exited_message(c, st);
    }
}

static void sandbox_from(kl_rt_sandbox *s, const Runtime__V1__PodSandboxStatus *st)
{
    s->id = xstrdup(st->id);
    s->name = dup_or_empty(st->metadata ? st->metadata->name : NULL);
    s->namespace_ = dup_or_empty(st->metadata ? st->metadata->namespace_ : NULL);
    s->attempt = st->metadata ? st->metadata->attempt : 0;
    s->ready = st->state == RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_READY;
    s->created_at = st->created_at;
    s->ip = dup_or_empty(st->network ? st->network->ip : NULL);
    if (st->network && st->network->n_additional_ips) {
        s->extra_ips = xcalloc(st->network->n_additional_ips, sizeof(char *));
        for (size_t i = 0; i < st->network->n_additional_ips; i++)
            s->extra_ips[s->n_extra_ips++] = dup_or_empty(st->network->additional_ips[i]->ip);
    }
    s->network_mode = st->linux && st->linux->namespaces && st->linux->namespaces->options
                          ? (int)st->linux->namespaces->options->network
                          : RUNTIME__V1__NAMESPACE_MODE__POD;
}

static int cmp_container(const void *a, const void *b)
{
    const kl_rt_container *x = a, *y = b;
    return x->created_at < y->created_at ? 1 : x->created_at > y->created_at ? -1 : 0;
}

static int cmp_sandbox(const void *a, const void *b)
{
    const kl_rt_sandbox *x = a, *y = b;
    return x->created_at < y->created_at ? 1 : x->created_at > y->created_at ? -1 : 0;
}

kl_pod_runtime *kl_pod_runtime_build(const char *uid,
                                     Runtime__V1__PodSandboxStatus *const *sandboxes, size_t ns,
                                     Runtime__V1__ContainerStatus *const *containers,
                                     const char *const *sandbox_ids, size_t nc)
{
    kl_pod_runtime *rt = xcalloc(1, sizeof(*rt));
    rt->uid = xstrdup(uid);
    rt->sandboxes = xcalloc(ns + 1, sizeof(kl_rt_sandbox));
    for (size_t i = 0; i < ns; i++)
        sandbox_from(&rt->sandboxes[rt->n_sandboxes++], sandboxes[i]);
    rt->containers = xcalloc(nc + 1, sizeof(kl_rt_container));
    for (size_t i = 0; i < nc; i++)
        container_from(&rt->containers[rt->n_containers++], containers[i],
                       sandbox_ids ? sandbox_ids[i] : NULL);
    qsort(rt->sandboxes, rt->n_sandboxes, sizeof(kl_rt_sandbox), cmp_sandbox);
    qsort(rt->containers, rt->n_containers, sizeof(kl_rt_container), cmp_container);
    return rt;
}

void kl_pod_runtime_free(kl_pod_runtime *rt)
{
    if (!rt)
        return;
    for (size_t i = 0; i < rt->n_sandboxes; i++) {
        kl_rt_sandbox *s = &rt->sandboxes[i];
        free(s->id);
        free(s->name);
        free(s->namespace_);
        free(s->ip);
        for (size_t k = 0; k < s->n_extra_ips; k++)
            free(s->extra_ips[k]);
        free(s->extra_ips);
    }
    for (size_t i = 0; i < rt->n_containers; i++) {
        kl_rt_container *c = &rt->containers[i];
        free(c->id);
        free(c->name);
        free(c->sandbox_id);
        free(c->reason);
        free(c->message);
        free(c->image);
        free(c->image_ref);
        free(c->log_path);
    }
    free(rt->sandboxes);
    free(rt->containers);
    free(rt->uid);
    free(rt);
}

const kl_rt_container *kl_rt_find(const kl_pod_runtime *rt, const char *name)
{
    for (size_t i = 0; rt && i < rt->n_containers; i++)
        if (strcmp(rt->containers[i].name, name) == 0)
            return &rt->containers[i];
    return NULL;
}

const kl_rt_sandbox *kl_rt_newest_sandbox(const kl_pod_runtime *rt)
{
    return rt && rt->n_sandboxes ? &rt->sandboxes[0] : NULL;
}

size_t kl_rt_running(const kl_pod_runtime *rt)
{
    size_t n = 0;
    for (size_t i = 0; rt && i < rt->n_containers; i++)
        n += rt->containers[i].state == KL_CS_RUNNING;
    return n;
}

/* ---- reading from the runtime ---------------------------------------------------------------- */

static int get_sandboxes(cri_conn *c, const char *uid, Runtime__V1__PodSandboxStatusResponse ***out,
                         size_t *n, kn_error **err)
{
    Runtime__V1__PodSandboxFilter *f = cri_msg_new(&runtime__v1__pod_sandbox_filter__descriptor);
    cri_map_put(f, "label_selector", KL_LABEL_POD_UID, uid);
    Runtime__V1__ListPodSandboxResponse *l = NULL;
    int rc = cri_runtime_list_sandboxes(c, f, &l, err);
    cri_msg_free(f);
    if (rc < 0)
        return rc;
    *out = xcalloc(l->n_items + 1, sizeof(**out));
    *n = 0;
    for (size_t i = 0; i < l->n_items; i++) {
        kn_error *e = NULL;
        Runtime__V1__PodSandboxStatusResponse *st = NULL;
        if (cri_runtime_sandbox_status(c, l->items[i]->id, false, &st, &e) == 0)
            (*out)[(*n)++] = st;
        else if (kn_error_code(e) != KN_ENOTFOUND) {
            rc = -kn_error_code(e);
            *err = e;
            break;
        }
        kn_error_free(&e);
    }
    cri_msg_free(l);
    return rc;
}

static int get_containers(cri_conn *c, const char *uid, Runtime__V1__ContainerStatusResponse ***out,
                          char ***sids, size_t *n, kn_error **err)
{
    Runtime__V1__ContainerFilter *f = cri_msg_new(&runtime__v1__container_filter__descriptor);
    cri_map_put(f, "label_selector", KL_LABEL_POD_UID, uid);
    Runtime__V1__ListContainersResponse *l = NULL;
    int rc = cri_runtime_list_containers(c, f, &l, err);
    cri_msg_free(f);
    if (rc < 0)
        return rc;
    *out = xcalloc(l->n_containers + 1, sizeof(**out));
    *sids = xcalloc(l->n_containers + 1, sizeof(char *));
    *n = 0;
    for (size_t i = 0; i < l->n_containers; i++) {
        kn_error *e = NULL;
        Runtime__V1__ContainerStatusResponse *st = NULL;
        if (cri_runtime_container_status(c, l->containers[i]->id, false, &st, &e) == 0) {
            (*sids)[*n] = xstrdup(l->containers[i]->pod_sandbox_id);
            (*out)[(*n)++] = st;
        } else if (kn_error_code(e) != KN_ENOTFOUND) {
            rc = -kn_error_code(e);
            *err = e;
            break;
        }
        kn_error_free(&e);
    }
    cri_msg_free(l);
    return rc;
}

int kl_runtime_get_pod(cri_conn *c, const char *uid, kl_pod_runtime **out, kn_error **err)
{
    Runtime__V1__PodSandboxStatusResponse **sb = NULL;
    Runtime__V1__ContainerStatusResponse **cs = NULL;
    char **sids = NULL;
    size_t nsb = 0, ncs = 0;
    int rc = get_sandboxes(c, uid, &sb, &nsb, err);
    if (rc == 0)
        rc = get_containers(c, uid, &cs, &sids, &ncs, err);
    if (rc == 0) {
        Runtime__V1__PodSandboxStatus **ss = xcalloc(nsb + 1, sizeof(*ss));
        Runtime__V1__ContainerStatus **cc = xcalloc(ncs + 1, sizeof(*cc));
        for (size_t i = 0; i < nsb; i++)
            ss[i] = sb[i]->status;
        for (size_t i = 0; i < ncs; i++)
            cc[i] = cs[i]->status;
        *out = kl_pod_runtime_build(uid, ss, nsb, cc, (const char *const *)sids, ncs);
        free(ss);
        free(cc);
    }
    for (size_t i = 0; i < nsb; i++)
        cri_msg_free(sb[i]);
    for (size_t i = 0; i < ncs; i++) {
        cri_msg_free(cs[i]);
        free(sids[i]);
    }
    free(sb);
    free(cs);
    free(sids);
    return rc < 0 ? kn_error_wrap(err, "read runtime state of pod %s", uid) : 0;
}

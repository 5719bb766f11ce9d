/* containers.c - ContainerConfig for a container (see containers.h). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cri/msg.h"
#include "kubelet/containers.h"
#include "kubelet/sandbox.h"
#include "kubelet/volumes.h"
#include "lib/cleanup.h"
#include "lib/strbuf.h"
#include "lib/xalloc.h"

/* ---- $(VAR) expansion ------------------------------------------------------------------- */

char *kl_expand(const char *s, const kl_map *env)
{
    kn_buf b = KN_BUF_INIT;
    for (const char *p = s; *p; p++) {
        if (*p != '$' || !p[1]) {
            kn_buf_append_char(&b, *p);
            continue;
        }
        if (p[1] == '$') { /* escaped operator */
            kn_buf_append_char(&b, '$');
            p++;
            continue;
        }
        const char *close = p[1] == '(' ? strchr(p + 2, ')') : NULL;
        if (!close) { /* not a reference: "$x" or an unterminated "$(" */
            kn_buf_append(&b, p, 2);
            p++;
            continue;
        }
        cleanup_free char *name = xstrndup(p + 2, (size_t)(close - p - 2));
        const char *v = env ? kl_map_get(env, name) : NULL;
        if (v)
            kn_buf_append_str(&b, v);
        else
            kn_buf_append(&b, p, (size_t)(close - p + 1));
        p = close;
    }
    return kn_buf_steal(&b);
}

/* ---- env ---------------------------------------------------------------------------------- */

static void env_set(kl_map *env, const char *name, char *value /* taken */)
{
    for (size_t i = 0; i < env->n; i++)
        if (strcmp(env->items[i].key, name) == 0) {
            free(env->items[i].value);
            env->items[i].value = value;
            return;
        }
    env->items = xreallocarray(env->items, env->n + 1, sizeof(kl_kv));
    env->items[env->n].key = xstrdup(name);
    env->items[env->n++].value = value;
}

void kl_env_clear(kl_map *env)
{
    for (size_t i = 0; i < env->n; i++) {
        free(env->items[i].key);
        free(env->items[i].value);
    }
    free(env->items);
    env->items = NULL;
    env->n = 0;
}

/* Joins at most max (or until NULL) addresses with ','. */
static char *join_ips(const char *const *ips, size_t max)
{
    kn_buf b = KN_BUF_INIT;
    for (size_t i = 0; ips && i < max && ips[i]; i++)
        kn_buf_appendf(&b, "%s%s", i ? "," : "", ips[i]);
    return kn_buf_steal(&b);
}

/* A value of metadata.labels['k'] / metadata.annotations['k']. */
static char *subscript(const char *fp, const char *prefix, const kl_map *m)
{
    size_t n = strlen(prefix), len = strlen(fp);
    cleanup_free char *key = xstrndup(fp + n, len - n - 2);
    const char *v = kl_map_get(m, key);
    return xstrdup(v ? v : "");
}

static char *field_value(const kl_pod *pod, const char *fp, const kl_container_ctx *ctx)
{
    const kl_node_config *nc = ctx->nc;
    if (strcmp(fp, "metadata.name") == 0)
        return xstrdup(pod->name);
    if (strcmp(fp, "metadata.namespace") == 0)
        return xstrdup(pod->namespace_);
    if (strcmp(fp, "metadata.uid") == 0)
        return xstrdup(pod->uid);
    if (strcmp(fp, "spec.nodeName") == 0)
        return xstrdup(pod->node_name ? pod->node_name : nc->node_name ? nc->node_name : "");
    if (strcmp(fp, "spec.serviceAccountName") == 0)
        return xstrdup(pod->service_account_name ? pod->service_account_name : "");
    if (strcmp(fp, "status.hostIP") == 0)
        return xstrdup(nc->node_ips[0] ? nc->node_ips[0] : "");
    if (strcmp(fp, "status.hostIPs") == 0)
        return join_ips(nc->node_ips, KL_MAX_NODE_IPS);
    if (strcmp(fp, "status.podIP") == 0)
        return xstrdup(ctx->pod_ips && ctx->pod_ips[0] ? ctx->pod_ips[0] : "");
    if (strcmp(fp, "status.podIPs") == 0)
        return join_ips(ctx->pod_ips, SIZE_MAX);
    if (strncmp(fp, "metadata.labels['", 17) == 0)
        return subscript(fp, "metadata.labels['", &pod->labels);
    if (strncmp(fp, "metadata.annotations['", 22) == 0)
        return subscript(fp, "metadata.annotations['", &pod->annotations);
    return xstrdup("");
}

int kl_container_env(const kl_pod *pod, const kl_container *c, const kl_container_ctx *ctx,
                     kl_map *out, kn_error **err)
{
    for (size_t i = 0; i < c->n_env; i++) {
        const kl_env_var *e = &c->env[i];
        switch (e->source) {
        case KL_ENV_VALUE:
            env_set(out, e->name, kl_expand(e->value, out));
            break;
        case KL_ENV_FIELD_REF:
            env_set(out, e->name, field_value(pod, e->field_path, ctx));
            break;
        case KL_ENV_UNSUPPORTED:
            kl_env_clear(out);
            return kn_error_set(err, KN_ENOTSUP, "%s",
                                c->unsupported ? c->unsupported : "env source not supported yet");
        }
    }
    return 0;
}

/* ---- OOM score, run as non-root ------------------------------------------------------------- */

int kl_oom_score_adj(const kl_pod *pod, const kl_container *c, int64_t capacity)
{
    bool node_critical = kl_pod_is_critical(pod) && pod->priority_class_name &&
                         strcmp(pod->priority_class_name, "system-node-critical") == 0;
    if (node_critical || pod->qos == KL_QOS_GUARANTEED)
        return -997;
    if (pod->qos == KL_QOS_BEST_EFFORT)
        return 1000;
    const kn_quantity *q = kl_resource_get(&c->resources.requests, "memory");
    int64_t req = q ? kn_quantity_value(q) : 0;
    int64_t adj = 1000;
    if (capacity > 0) {
        __int128 scaled = (__int128)1000 * req / capacity;
        adj = scaled > 2000 ? -1000 : 1000 - (int64_t)scaled;
    }
    if (adj < 1000 - 997)
        return 1000 - 997;
    if (adj == 1000)
        return 999;
    return (int)adj;
}

/* "name_namespace(uid)": upstream format.Pod. */
static char *pod_desc(const kl_pod *pod)
{
    return xasprintf("%s_%s(%s)", pod->name, pod->namespace_, pod->uid);
}

static const kl_opt_i64 *effective_uid(const kl_pod *pod, const kl_container *c)
{
    return c->sc.run_as_user.set ? &c->sc.run_as_user : &pod->sc.run_as_user;
}

int kl_verify_run_as_non_root(const kl_pod *pod, const kl_container *c, const kl_container_ctx *ctx,
                              kn_error **err)
{
    kl_opt_bool nonroot =
        c->sc.run_as_non_root.set ? c->sc.run_as_non_root : pod->sc.run_as_non_root;
    if (!nonroot.set || !nonroot.v)
        return 0;
    cleanup_free char *desc = pod_desc(pod);
    const kl_opt_i64 *uid = effective_uid(pod, c);
    if (uid->set) {
        if (uid->v == 0)
            return kn_error_set(err, KN_EINVAL,
                                "container's runAsUser breaks non-root policy (pod: \"%s\", "
                                "container: %s)",
                                desc, c->name);
        return 0;
    }
    if (ctx->image_uid.set && ctx->image_uid.v == 0)
        return kn_error_set(err, KN_EINVAL,
                            "container has runAsNonRoot and image will run as root (pod: \"%s\", "
                            "container: %s)",
                            desc, c->name);
    if (!ctx->image_uid.set && ctx->image_user && *ctx->image_user)
        return kn_error_set(err, KN_EINVAL,
                            "container has runAsNonRoot and image has non-numeric user (%s), "
                            "cannot verify user is non-root (pod: \"%s\", container: %s)",
                            ctx->image_user, desc, c->name);
    if (!ctx->image_uid.set)
        return kn_error_set(err, KN_EINVAL,
                            "container has runAsNonRoot and image will run as root (pod: \"%s\", "
                            "container: %s)",
                            desc, c->name);
    return 0;
}

/* ---- security context --------------------------------------------------------------------- */

static const char *const default_masked_paths[] = {
    "/proc/asound",
    "/proc/acpi",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
    "/sys/devices/virtual/powercap",
};

static const char *const default_readonly_paths[] = {
    "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
};

static Runtime__V1__Int64Value *int64_value(int64_t v)
{
    Runtime__V1__Int64Value *m = cri_msg_new(&runtime__v1__int64_value__descriptor);
    m->value = v;
    return m;
}

static void sc_user(Runtime__V1__LinuxContainerSecurityContext *sc, const kl_pod *pod,
                    const kl_container *c, const kl_container_ctx *ctx)
{
    const kl_opt_i64 *uid = effective_uid(pod, c);
    if (uid->set)
        sc->run_as_user = int64_value(uid->v);
    else if (ctx->image_uid.set)
        sc->run_as_user = int64_value(ctx->image_uid.v);
    else if (ctx->image_user && *ctx->image_user)
        cri_str_set(&sc->run_as_username, ctx->image_user);
    const kl_opt_i64 *gid = c->sc.run_as_group.set ? &c->sc.run_as_group : &pod->sc.run_as_group;
    if (gid->set)
        sc->run_as_group = int64_value(gid->v);
}

static void sc_groups(Runtime__V1__LinuxContainerSecurityContext *sc, const kl_pod *pod)
{
    size_t n = pod->sc.n_supplemental_groups + (pod->sc.fs_group.set ? 1 : 0);
    if (!n)
        return;
    sc->supplemental_groups = xcalloc(n, sizeof(int64_t));
    if (pod->sc.fs_group.set)
        sc->supplemental_groups[sc->n_supplemental_groups++] = pod->sc.fs_group.v;
    for (size_t i = 0; i < pod->sc.n_supplemental_groups; i++)
        sc->supplemental_groups[sc->n_supplemental_groups++] = pod->sc.supplemental_groups[i];
}

static Runtime__V1__LinuxContainerSecurityContext *
security_context(const kl_pod *pod, const kl_container *c, const kl_container_ctx *ctx)
{
    Runtime__V1__LinuxContainerSecurityContext *sc =
        cri_msg_new(&runtime__v1__linux_container_security_context__descriptor);
    sc->privileged = c->sc.privileged.set && c->sc.privileged.v;
    sc->readonly_rootfs = c->sc.read_only_root_filesystem.set && c->sc.read_only_root_filesystem.v;
    sc->no_new_privs = !sc->privileged && c->sc.allow_privilege_escalation.set &&
                       !c->sc.allow_privilege_escalation.v;
    sc_user(sc, pod, c, ctx);
    sc_groups(sc, pod);
    sc->namespace_options = kl_pod_namespace_options(pod);
    if (c->sc.cap_add.n || c->sc.cap_drop.n) {
        sc->capabilities = cri_msg_new(&runtime__v1__capability__descriptor);
        for (size_t i = 0; i < c->sc.cap_add.n; i++)
            cri_strv_add(&sc->capabilities->add_capabilities, &sc->capabilities->n_add_capabilities,
                         c->sc.cap_add.v[i]);
        for (size_t i = 0; i < c->sc.cap_drop.n; i++)
            cri_strv_add(&sc->capabilities->drop_capabilities,
                         &sc->capabilities->n_drop_capabilities, c->sc.cap_drop.v[i]);
    }
    if (!sc->privileged) {
        for (size_t i = 0; i < KN_ARRAY_SIZE(default_masked_paths); i++)
            cri_strv_add(&sc->masked_paths, &sc->n_masked_paths, default_masked_paths[i]);
        for (size_t i = 0; i < KN_ARRAY_SIZE(default_readonly_paths); i++)
            cri_strv_add(&sc->readonly_paths, &sc->n_readonly_paths, default_readonly_paths[i]);
    }
    /* containers run unconfined unless a profile is asked for (no
     * --seccomp-default) */
    sc->seccomp = cri_msg_new(&runtime__v1__security_profile__descriptor);
    sc->seccomp->profile_type = RUNTIME__V1__SECURITY_PROFILE__PROFILE_TYPE__Unconfined;
    return sc;
}

/* ---- mounts, labels, annotations ---------------------------------------------------------- */

static void add_mount(Runtime__V1__ContainerConfig *cfg, const char *cpath, const char *hpath,
                      bool ro)
{
    Runtime__V1__Mount *m = cri_msg_new(&runtime__v1__mount__descriptor);
    cri_str_set(&m->container_path, cpath);
    cri_str_set(&m->host_path, hpath);
    m->readonly = ro;
    m->propagation = RUNTIME__V1__MOUNT_PROPAGATION__PROPAGATION_PRIVATE;
    cfg->mounts = xreallocarray(cfg->mounts, cfg->n_mounts + 1, sizeof(*cfg->mounts));
    cfg->mounts[cfg->n_mounts++] = m;
}

static bool mounts_path(const kl_container *c, const char *path)
{
    for (size_t i = 0; i < c->n_mounts; i++)
        if (strcmp(c->mounts[i].mount_path, path) == 0)
            return true;
    return false;
}

static void put_mounts(Runtime__V1__ContainerConfig *cfg, const kl_pod *pod, const kl_container *c,
                       const kl_container_ctx *ctx)
{
    for (size_t i = 0; i < c->n_mounts; i++) {
        const kl_volume_mount *vm = &c->mounts[i];
        for (size_t v = 0; v < pod->n_volumes; v++) {
            if (strcmp(pod->volumes[v].name, vm->name) != 0)
                continue;
            cleanup_free char *host = kl_volume_host_path(ctx->nc, pod, &pod->volumes[v]);
            add_mount(cfg, vm->mount_path, host, vm->read_only);
        }
    }
    if (ctx->etc_hosts_path && !mounts_path(c, "/etc/hosts"))
        add_mount(cfg, "/etc/hosts", ctx->etc_hosts_path, false);
    if (ctx->termination_log && !mounts_path(c, c->termination_message_path))
        add_mount(cfg, c->termination_message_path, ctx->termination_log, false);
}

/* JSON of the container's ports, in the field order of Go's v1.ContainerPort. */
static char *ports_json(const kl_container *c)
{
    kn_buf b = KN_BUF_INIT;
    kn_buf_append_char(&b, '[');
    for (size_t i = 0; i < c->n_ports; i++) {
        const kl_port *p = &c->ports[i];
        kn_buf_append_str(&b, i ? ",{" : "{");
        if (p->name && *p->name)
            kn_buf_appendf(&b, "\"name\":\"%s\",", p->name); /* IANA names need no escaping */
        if (p->host_port)
            kn_buf_appendf(&b, "\"hostPort\":%d,", p->host_port);
        kn_buf_appendf(&b, "\"containerPort\":%d,\"protocol\":\"%s\"", p->container_port,
                       kl_protocol_name(p->protocol));
        if (p->host_ip && *p->host_ip)
            kn_buf_appendf(&b, ",\"hostIP\":\"%s\"", p->host_ip);
        kn_buf_append_char(&b, '}');
    }
    kn_buf_append_char(&b, ']');
    return kn_buf_steal(&b);
}

static void put_labels(Runtime__V1__ContainerConfig *cfg, const kl_pod *pod, const kl_container *c,
                       int restart_count)
{
    char v[32];
    cri_map_put(cfg, "labels", KL_LABEL_POD_NAME, pod->name);
    cri_map_put(cfg, "labels", KL_LABEL_POD_NAMESPACE, pod->namespace_);
    cri_map_put(cfg, "labels", KL_LABEL_POD_UID, pod->uid);
    cri_map_put(cfg, "labels", KL_LABEL_CONTAINER_NAME, c->name);
    snprintf(v, sizeof(v), "%x", c->hash);
    cri_map_put(cfg, "annotations", KL_ANN_CONTAINER_HASH, v);
    snprintf(v, sizeof(v), "%d", restart_count);
    cri_map_put(cfg, "annotations", KL_ANN_RESTART_COUNT, v);
    cri_map_put(cfg, "annotations", KL_ANN_TERMINATION_MESSAGE_PATH, c->termination_message_path);
    cri_map_put(cfg, "annotations", KL_ANN_TERMINATION_MESSAGE_POLICY,
                c->termination_message_policy == KL_TERM_MSG_FILE ? "File"
                                                                  : "FallbackToLogsOnError");
    if (pod->deletion_grace_s.set) {
        snprintf(v, sizeof(v), "%lld", (long long)pod->deletion_grace_s.v);
        cri_map_put(cfg, "annotations", KL_ANN_POD_DELETION_GRACE, v);
    }
    snprintf(v, sizeof(v), "%lld", (long long)pod->termination_grace_s);
    cri_map_put(cfg, "annotations", KL_ANN_POD_TERMINATION_GRACE, v);
    if (c->n_ports) {
        cleanup_free char *ports = ports_json(c);
        cri_map_put(cfg, "annotations", KL_ANN_CONTAINER_PORTS, ports);
    }
}

/* ---- the config -------------------------------------------------------------------------- */

char *kl_container_log_path(const char *name, int restart_count)
{
    return xasprintf("%s/%d.log", name, restart_count);
}

static Runtime__V1__LinuxContainerConfig *linux_config(const kl_pod *pod, const kl_container *c,
                                                       const kl_container_ctx *ctx)
{
    Runtime__V1__LinuxContainerConfig *l =
        cri_msg_new(&runtime__v1__linux_container_config__descriptor);
    bool has_req = false;
    const kn_quantity *q = kl_resource_get(&c->resources.requests, "cpu");
    int64_t req = q ? (has_req = true, kn_quantity_milli_value(q)) : 0;
    q = kl_resource_get(&c->resources.limits, "cpu");
    int64_t lim = q ? kn_quantity_milli_value(q) : 0;
    q = kl_resource_get(&c->resources.limits, "memory");
    int64_t mem = q ? kn_quantity_value(q) : 0;
    l->resources = kl_linux_resources(ctx->nc, has_req, req, lim, mem);
    l->resources->oom_score_adj = kl_oom_score_adj(pod, c, ctx->nc->memory_capacity);
    l->security_context = security_context(pod, c, ctx);
    return l;
}

static void put_command(Runtime__V1__ContainerConfig *cfg, const kl_container *c, const kl_map *env)
{
    for (size_t i = 0; i < c->command.n; i++) {
        cleanup_free char *s = kl_expand(c->command.v[i], env);
        cri_strv_add(&cfg->command, &cfg->n_command, s);
    }
    for (size_t i = 0; i < c->args.n; i++) {
        cleanup_free char *s = kl_expand(c->args.v[i], env);
        cri_strv_add(&cfg->args, &cfg->n_args, s);
    }
}

static void put_envs(Runtime__V1__ContainerConfig *cfg, const kl_map *env)
{
    cfg->envs = xcalloc(env->n + 1, sizeof(*cfg->envs));
    for (size_t i = 0; i < env->n; i++) {
        Runtime__V1__KeyValue *kv = cri_msg_new(&runtime__v1__key_value__descriptor);
        cri_str_set(&kv->key, env->items[i].key);
        cri_str_set(&kv->value, env->items[i].value);
        cfg->envs[cfg->n_envs++] = kv;
    }
}

int kl_container_config(const kl_pod *pod, const kl_container *c, const kl_container_ctx *ctx,
                        Runtime__V1__ContainerConfig **out, kn_error **err)
{
    if (c->unsupported)
        return kn_error_set(err, KN_ENOTSUP, "%s", c->unsupported);
    if (kl_verify_run_as_non_root(pod, c, ctx, err) < 0)
        return -KN_EINVAL;
    kl_map env = {0};
    if (kl_container_env(pod, c, ctx, &env, err) < 0)
        return -KN_ENOTSUP;
    Runtime__V1__ContainerConfig *cfg = cri_msg_new(&runtime__v1__container_config__descriptor);
    cfg->metadata = cri_msg_new(&runtime__v1__container_metadata__descriptor);
    cri_str_set(&cfg->metadata->name, c->name);
    cfg->metadata->attempt = (uint32_t)ctx->restart_count;
    cfg->image = cri_msg_new(&runtime__v1__image_spec__descriptor);
    cri_str_set(&cfg->image->image, ctx->image_ref ? ctx->image_ref : c->image);
    cri_str_set(&cfg->image->user_specified_image, c->image);
    put_command(cfg, c, &env);
    cri_str_set(&cfg->working_dir, c->working_dir);
    put_envs(cfg, &env);
    kl_env_clear(&env);
    put_mounts(cfg, pod, c, ctx);
    put_labels(cfg, pod, c, ctx->restart_count);
    cfg->log_path = kl_container_log_path(c->name, ctx->restart_count);
    cfg->stdin = c->stdin_open;
    cfg->stdin_once = c->stdin_once;
    cfg->tty = c->tty;
    cfg->linux = linux_config(pod, c, ctx);
    *out = cfg;
    return 0;
}

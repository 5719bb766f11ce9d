/* podspec-container.c - decoding and validating spec.containers and
 * spec.initContainers (see podspec.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kubelet/podspec-internal.h"
#include "lib/cleanup.h"
#include "lib/xalloc.h"

#define DEFAULT_TERMINATION_MESSAGE_PATH "/dev/termination-log"

/* Records the first unsupported feature of c. */
static void unsupported(kl_container *c, const char *fmt, const char *arg)
{
    if (!c->unsupported)
        c->unsupported = xasprintf(fmt, arg);
}

/* ---- env ---------------------------------------------------------------------------------- */

static const char *const env_field_paths[] = {
    "metadata.name",           "metadata.namespace", "metadata.uid",   "spec.nodeName",
    "spec.serviceAccountName", "status.hostIP",      "status.hostIPs", "status.podIP",
    "status.podIPs",
};

static bool field_path_supported(const char *fp)
{
    for (size_t i = 0; i < KN_ARRAY_SIZE(env_field_paths); i++)
        if (strcmp(fp, env_field_paths[i]) == 0)
            return true;
    /* metadata.labels['key'] and metadata.annotations['key'] */
    static const char *const subscripted[] = {"metadata.labels['", "metadata.annotations['"};
    for (size_t i = 0; i < 2; i++) {
        size_t n = strlen(subscripted[i]), len = strlen(fp);
        if (strncmp(fp, subscripted[i], n) == 0 && len > n + 2 && strcmp(fp + len - 2, "']") == 0)
            return true;
    }
    return false;
}

static bool dec_field_ref(kl_dec *d, const cJSON *ref, kl_env_var *e)
{
    size_t mark = kl_dec_push(d, "fieldRef");
    char *api = NULL;
    kl_dec_str(d, ref, "apiVersion", &api);
    kl_dec_str(d, ref, "fieldPath", &e->field_path);
    if (!d->failed && api && *api && strcmp(api, "v1") != 0)
        kl_dec_fail(d, "apiVersion", "Unsupported value: \"%s\": supported values: \"v1\"", api);
    free(api);
    if (!d->failed && (!e->field_path || !*e->field_path))
        kl_dec_fail(d, "fieldPath", "Required value");
    if (!d->failed && !field_path_supported(e->field_path))
        kl_dec_fail(d, "fieldPath",
                    "Unsupported value: \"%s\": supported values: \"metadata.name\", "
                    "\"metadata.namespace\", \"metadata.uid\", \"spec.nodeName\", "
                    "\"spec.serviceAccountName\", \"status.hostIP\", \"status.hostIPs\", "
                    "\"status.podIP\", \"status.podIPs\"",
                    e->field_path);
    kl_dec_pop(d, mark);
    return !d->failed;
}

static bool dec_value_from(kl_dec *d, const cJSON *vf, kl_env_var *e, kl_container *c)
{
    static const char *const sources[] = {"fieldRef", "resourceFieldRef", "configMapKeyRef",
                                          "secretKeyRef", "fileKeyRef"};
    const char *which = NULL;
    int count = 0;
    for (size_t i = 0; i < KN_ARRAY_SIZE(sources); i++)
        if (kl_member(vf, sources[i])) {
            which = sources[i];
            count++;
        }
    if (count == 0)
        return kl_dec_fail(d, "valueFrom",
                           "Invalid value: \"\": must specify one of: "
                           "`fieldRef`, `resourceFieldRef`, `configMapKeyRef` or "
                           "`secretKeyRef`");
    if (count > 1)
        return kl_dec_fail(d, "valueFrom",
                           "Invalid value: \"\": may not have more than one "
                           "field specified at a time");
    if (e->value && *e->value)
        return kl_dec_fail(d, "valueFrom",
                           "Invalid value: \"\": may not be specified when `value` is not empty");
    size_t mark = kl_dec_push(d, "valueFrom");
    if (strcmp(which, "fieldRef") == 0) {
        const cJSON *ref = kl_dec_obj(d, vf, "fieldRef");
        if (ref && dec_field_ref(d, ref, e))
            e->source = KL_ENV_FIELD_REF;
    } else {
        kl_dec_obj(d, vf, which);
        e->source = KL_ENV_UNSUPPORTED;
        char *what = xasprintf("env %s: %s is not supported yet", e->name, which);
        unsupported(c, "%s", what);
        free(what);
    }
    kl_dec_pop(d, mark);
    return !d->failed;
}

static bool dec_env_var(kl_dec *d, const cJSON *item, kl_env_var *e, kl_container *c)
{
    if (!cJSON_IsObject(item))
        return kl_dec_fail(d, NULL, "expected object");
    kl_dec_str(d, item, "name", &e->name);
    kl_dec_str(d, item, "value", &e->value);
    if (d->failed)
        return false;
    if (!e->name || !*e->name)
        return kl_dec_fail(d, "name", "Required value");
    const char *bad = kl_check_env_var_name(e->name);
    if (bad)
        return kl_dec_invalid(d, "name", e->name, bad);
    const cJSON *vf = kl_dec_obj(d, item, "valueFrom");
    if (vf)
        return dec_value_from(d, vf, e, c);
    if (!e->value)
        e->value = xstrdup("");
    return !d->failed;
}

static bool dec_env(kl_dec *d, const cJSON *obj, kl_container *c)
{
    const cJSON *arr = kl_dec_arr(d, obj, "env");
    if (!arr)
        return !d->failed;
    c->env = xcalloc((size_t)cJSON_GetArraySize(arr) + 1, sizeof(kl_env_var));
    size_t mark = kl_dec_push(d, "env");
    const cJSON *item;
    cJSON_ArrayForEach(item, arr)
    {
        size_t m2 = kl_dec_push_idx(d, c->n_env);
        kl_env_var *e = &c->env[c->n_env++];
        e->source = KL_ENV_VALUE;
        dec_env_var(d, item, e, c);
        kl_dec_pop(d, m2);
        if (d->failed)
            break;
    }
    kl_dec_pop(d, mark);
    if (kl_member(obj, "envFrom"))
        unsupported(c, "%s", "envFrom is not supported yet");
    return !d->failed;
}

/* ---- ports -------------------------------------------------------------------------------- */

static bool dec_protocol(kl_dec *d, const cJSON *item, kl_protocol *out)
{
    char *p = NULL;
    if (!kl_dec_str(d, item, "protocol", &p))
        return false;
    if (!p || strcmp(p, "TCP") == 0)
        *out = KL_PROTO_TCP;
    else if (strcmp(p, "UDP") == 0)
        *out = KL_PROTO_UDP;
    else if (strcmp(p, "SCTP") == 0)
        *out = KL_PROTO_SCTP;
    else
        kl_dec_fail(d, "protocol",
                    "Unsupported value: \"%s\": supported values: \"SCTP\", \"TCP\", \"UDP\"", p);
    free(p);
    return !d->failed;
}

static bool dec_port_number(kl_dec *d, const cJSON *item, const char *key, bool required,
                            int32_t *out)
{
    kl_opt_i64 v = {0};
    if (!kl_dec_opt_i64(d, item, key, &v))
        return false;
    if (!v.set || v.v == 0) {
        if (required)
            return kl_dec_fail(d, key, "Required value");
        *out = 0;
        return true;
    }
    if (v.v < 1 || v.v > 65535)
        return kl_dec_fail(d, key, "Invalid value: %lld: must be between 1 and 65535, inclusive",
                           (long long)v.v);
    *out = (int32_t)v.v;
    return true;
}

static bool dec_port(kl_dec *d, const cJSON *item, kl_port *p, bool host_network)
{
    if (!cJSON_IsObject(item))
        return kl_dec_fail(d, NULL, "expected object");
    kl_dec_str(d, item, "name", &p->name);
    kl_dec_str(d, item, "hostIP", &p->host_ip);
    dec_port_number(d, item, "containerPort", true, &p->container_port);
    dec_port_number(d, item, "hostPort", false, &p->host_port);
    dec_protocol(d, item, &p->protocol);
    if (d->failed)
        return false;
    const char *bad = p->name && *p->name ? kl_check_port_name(p->name) : NULL;
    if (bad)
        return kl_dec_invalid(d, "name", p->name, bad);
    if (p->host_ip && *p->host_ip && !kl_is_ip(p->host_ip))
        return kl_dec_invalid(d, "hostIP", p->host_ip, "must be a valid IP address");
    /* defaultHostNetworkPorts: a hostNetwork pod's hostPort is its containerPort */
    if (host_network) {
        if (p->host_port == 0)
            p->host_port = p->container_port;
        else if (p->host_port != p->container_port)
            return kl_dec_fail(d, "containerPort",
                               "Invalid value: %d: must match `hostPort` when `hostNetwork` is "
                               "true",
                               p->container_port);
    }
    return true;
}

static bool dec_ports(kl_dec *d, const cJSON *obj, kl_container *c, bool host_network)
{
    const cJSON *arr = kl_dec_arr(d, obj, "ports");
    if (!arr)
        return !d->failed;
    c->ports = xcalloc((size_t)cJSON_GetArraySize(arr) + 1, sizeof(kl_port));
    size_t mark = kl_dec_push(d, "ports");
    const cJSON *item;
    cJSON_ArrayForEach(item, arr)
    {
        size_t m2 = kl_dec_push_idx(d, c->n_ports);
        dec_port(d, item, &c->ports[c->n_ports++], host_network);
        kl_dec_pop(d, m2);
        if (d->failed)
            break;
    }
    kl_dec_pop(d, mark);
    return !d->failed;
}

/* ---- resources ---------------------------------------------------------------------------- */

/* The text of a quantity given as a JSON string or number. */
static char *quantity_text(const cJSON *v)
{
    if (cJSON_IsString(v))
        return xstrdup(v->valuestring);
    double x = v->valuedouble;
    if (x == floor(x) && fabs(x) < 9e15)
        return xasprintf("%lld", (long long)x);
    char *s = xasprintf("%.15g", x);
    if (strtod(s, NULL) != x) {
        free(s);
        s = xasprintf("%.17g", x);
    }
    return s;
}

static bool dec_resource_list(kl_dec *d, const cJSON *res, const char *key, kl_resource_list *l)
{
    const cJSON *obj = kl_dec_obj(d, res, key);
    if (!obj)
        return !d->failed;
    l->items = xcalloc((size_t)cJSON_GetArraySize(obj) + 1, sizeof(kl_resource));
    size_t mark = kl_dec_push(d, key);
    const cJSON *v;
    cJSON_ArrayForEach(v, obj)
    {
        size_t m2 = d->path.len;
        kn_buf_appendf(&d->path, "[%s]", v->string);
        if (!cJSON_IsString(v) && !cJSON_IsNumber(v)) {
            kl_dec_fail(d, NULL, "expected quantity, got %s", cJSON_IsObject(v) ? "object" : "?");
            break;
        }
        cleanup_free char *text = quantity_text(v);
        kn_error *qerr = NULL;
        kl_resource *r = &l->items[l->n];
        if (kn_quantity_parse(text, &r->q, &qerr) < 0) {
            kl_dec_fail(d, NULL, "Invalid value: \"%s\": %s", text, kn_error_msg(qerr));
            kn_error_free(&qerr);
            break;
        }
        if (kn_quantity_sign(&r->q) < 0) {
            kl_dec_fail(d, NULL, "Invalid value: \"%s\": must be greater than or equal to 0", text);
            break;
        }
        r->name = xstrdup(v->string);
        l->n++;
        kl_dec_pop(d, m2);
    }
    kl_dec_pop(d, mark);
    return !d->failed;
}

/* SetDefaults_Pod: requests default to limits; then requests <= limits. */
static bool default_and_check_requests(kl_dec *d, kl_resources *r)
{
    for (size_t i = 0; i < r->limits.n; i++) {
        const kl_resource *lim = &r->limits.items[i];
        const kn_quantity *req = kl_resource_get(&r->requests, lim->name);
        if (!req) {
            r->requests.items =
                xreallocarray(r->requests.items, r->requests.n + 1, sizeof(kl_resource));
            r->requests.items[r->requests.n].name = xstrdup(lim->name);
            r->requests.items[r->requests.n++].q = lim->q;
            continue;
        }
        if (kn_quantity_cmp(req, &lim->q) > 0) {
            char rb[KN_QUANTITY_STRLEN], lb[KN_QUANTITY_STRLEN];
            kn_quantity_format(req, rb, sizeof(rb));
            kn_quantity_format(&lim->q, lb, sizeof(lb));
            size_t mark = kl_dec_push(d, "resources.requests");
            kn_buf_appendf(&d->path, "[%s]", lim->name);
            kl_dec_fail(d, NULL,
                        "Invalid value: \"%s\": must be less than or equal to %s limit "
                        "of %s",
                        rb, lim->name, lb);
            kl_dec_pop(d, mark);
            return false;
        }
    }
    return true;
}

static bool dec_resources(kl_dec *d, const cJSON *obj, kl_container *c)
{
    const cJSON *res = kl_dec_obj(d, obj, "resources");
    if (res) {
        size_t mark = kl_dec_push(d, "resources");
        dec_resource_list(d, res, "requests", &c->resources.requests);
        dec_resource_list(d, res, "limits", &c->resources.limits);
        kl_dec_pop(d, mark);
    }
    return !d->failed && default_and_check_requests(d, &c->resources);
}

/* ---- security context, mounts ---------------------------------------------------------------- */

static bool dec_security_context(kl_dec *d, const cJSON *obj, kl_container *c)
{
    const cJSON *sc = kl_dec_obj(d, obj, "securityContext");
    if (!sc)
        return !d->failed;
    c->has_security_context = true;
    size_t mark = kl_dec_push(d, "securityContext");
    kl_dec_opt_id(d, sc, "runAsUser", &c->sc.run_as_user);
    kl_dec_opt_id(d, sc, "runAsGroup", &c->sc.run_as_group);
    kl_dec_opt_bool(d, sc, "runAsNonRoot", &c->sc.run_as_non_root);
    kl_dec_opt_bool(d, sc, "privileged", &c->sc.privileged);
    kl_dec_opt_bool(d, sc, "readOnlyRootFilesystem", &c->sc.read_only_root_filesystem);
    kl_dec_opt_bool(d, sc, "allowPrivilegeEscalation", &c->sc.allow_privilege_escalation);
    const cJSON *caps = kl_dec_obj(d, sc, "capabilities");
    if (caps) {
        size_t m2 = kl_dec_push(d, "capabilities");
        kl_dec_strv(d, caps, "add", &c->sc.cap_add);
        kl_dec_strv(d, caps, "drop", &c->sc.cap_drop);
        kl_dec_pop(d, m2);
    }
    if (!d->failed && c->sc.allow_privilege_escalation.set && !c->sc.allow_privilege_escalation.v &&
        c->sc.privileged.set && c->sc.privileged.v)
        kl_dec_fail(d, NULL,
                    "Invalid value: \"\": cannot set `allowPrivilegeEscalation` to "
                    "false and `privileged` to true");
    kl_dec_pop(d, mark);
    return !d->failed;
}

static bool dec_mount(kl_dec *d, const cJSON *item, kl_volume_mount *m, kl_container *c)
{
    if (!cJSON_IsObject(item))
        return kl_dec_fail(d, NULL, "expected object");
    kl_dec_str(d, item, "name", &m->name);
    kl_dec_str(d, item, "mountPath", &m->mount_path);
    kl_dec_bool(d, item, "readOnly", &m->read_only);
    kl_dec_str(d, item, "subPath", &m->sub_path);
    if (d->failed)
        return false;
    if (!m->name || !*m->name)
        return kl_dec_fail(d, "name", "Required value");
    if (!m->mount_path || !*m->mount_path)
        return kl_dec_fail(d, "mountPath", "Required value");
    if (m->sub_path && *m->sub_path)
        unsupported(c, "volumeMount %s: subPath is not supported yet", m->name);
    if (kl_member(item, "subPathExpr"))
        unsupported(c, "volumeMount %s: subPathExpr is not supported yet", m->name);
    return true;
}

static bool dec_mounts(kl_dec *d, const cJSON *obj, kl_container *c)
{
    const cJSON *arr = kl_dec_arr(d, obj, "volumeMounts");
    if (!arr)
        return !d->failed;
    c->mounts = xcalloc((size_t)cJSON_GetArraySize(arr) + 1, sizeof(kl_volume_mount));
    size_t mark = kl_dec_push(d, "volumeMounts");
    const cJSON *item;
    cJSON_ArrayForEach(item, arr)
    {
        size_t m2 = kl_dec_push_idx(d, c->n_mounts);
        kl_volume_mount *m = &c->mounts[c->n_mounts++];
        if (dec_mount(d, item, m, c)) {
            for (size_t k = 0; k + 1 < c->n_mounts; k++)
                if (strcmp(c->mounts[k].mount_path, m->mount_path) == 0) {
                    kl_dec_invalid(d, "mountPath", m->mount_path, "must be unique");
                    break;
                }
        }
        kl_dec_pop(d, m2);
        if (d->failed)
            break;
    }
    kl_dec_pop(d, mark);
    return !d->failed;
}

/* ---- one container ------------------------------------------------------------------------ */

static bool dec_pull_policy(kl_dec *d, const cJSON *obj, kl_container *c)
{
    cleanup_free char *p = NULL;
    if (!kl_dec_str(d, obj, "imagePullPolicy", &p))
        return false;
    if (!p || !*p) {
        /* SetDefaults_Container: ":latest" (or no tag and no digest) pulls always */
        char tag[130] = "";
        kl_image_parse(c->image, tag, sizeof(tag), NULL);
        c->pull_policy = strcmp(tag, "latest") == 0 ? KL_PULL_ALWAYS : KL_PULL_IF_NOT_PRESENT;
    } else if (strcmp(p, "Always") == 0) {
        c->pull_policy = KL_PULL_ALWAYS;
    } else if (strcmp(p, "IfNotPresent") == 0) {
        c->pull_policy = KL_PULL_IF_NOT_PRESENT;
    } else if (strcmp(p, "Never") == 0) {
        c->pull_policy = KL_PULL_NEVER;
    } else {
        return kl_dec_fail(d, "imagePullPolicy",
                           "Unsupported value: \"%s\": supported values: \"Always\", "
                           "\"IfNotPresent\", \"Never\"",
                           p);
    }
    return true;
}

static bool dec_image(kl_dec *d, const cJSON *obj, kl_container *c)
{
    if (!kl_dec_str(d, obj, "image", &c->image))
        return false;
    if (!c->image || !*c->image)
        return kl_dec_fail(d, "image", "Required value");
    size_t n = strlen(c->image);
    if (c->image[0] == ' ' || c->image[0] == '\t' || c->image[n - 1] == ' ' ||
        c->image[n - 1] == '\t')
        return kl_dec_invalid(d, "image", c->image, "must not have leading or trailing whitespace");
    return dec_pull_policy(d, obj, c);
}

static bool dec_termination_message(kl_dec *d, const cJSON *obj, kl_container *c)
{
    cleanup_free char *policy = NULL;
    kl_dec_str(d, obj, "terminationMessagePath", &c->termination_message_path);
    kl_dec_str(d, obj, "terminationMessagePolicy", &policy);
    if (d->failed)
        return false;
    if (!c->termination_message_path || !*c->termination_message_path) {
        free(c->termination_message_path);
        c->termination_message_path = xstrdup(DEFAULT_TERMINATION_MESSAGE_PATH);
    }
    if (!policy || !*policy || strcmp(policy, "File") == 0)
        c->termination_message_policy = KL_TERM_MSG_FILE;
    else if (strcmp(policy, "FallbackToLogsOnError") == 0)
        c->termination_message_policy = KL_TERM_MSG_FALLBACK_TO_LOGS_ON_ERROR;
    else
        return kl_dec_fail(d, "terminationMessagePolicy",
                           "Unsupported value: \"%s\": supported values: \"File\", "
                           "\"FallbackToLogsOnError\"",
                           policy);
    return true;
}

static bool dec_restart_policy(kl_dec *d, const cJSON *obj, kl_container *c, bool init)
{
    cleanup_free char *rp = NULL;
    if (!kl_dec_str(d, obj, "restartPolicy", &rp) || !rp)
        return !d->failed;
    if (!init)
        return kl_dec_fail(d, "restartPolicy",
                           "Forbidden: may not be set for non-init "
                           "containers");
    if (strcmp(rp, "Always") != 0)
        return kl_dec_fail(d, "restartPolicy",
                           "Unsupported value: \"%s\": supported values: \"Always\"", rp);
    unsupported(c, "%s",
                "restartable init containers (restartPolicy: Always) are not supported yet");
    return true;
}

static bool dec_container(kl_dec *d, const cJSON *item, kl_container *c, bool init,
                          bool host_network)
{
    if (!cJSON_IsObject(item))
        return kl_dec_fail(d, NULL, "expected object");
    if (!kl_dec_str(d, item, "name", &c->name))
        return false;
    if (!c->name || !*c->name)
        return kl_dec_fail(d, "name", "Required value");
    const char *bad = kl_check_dns1123_label(c->name);
    if (bad)
        return kl_dec_invalid(d, "name", c->name, bad);
    dec_image(d, item, c);
    kl_dec_strv(d, item, "command", &c->command);
    kl_dec_strv(d, item, "args", &c->args);
    kl_dec_str(d, item, "workingDir", &c->working_dir);
    dec_env(d, item, c);
    dec_ports(d, item, c, host_network);
    dec_resources(d, item, c);
    dec_security_context(d, item, c);
    dec_mounts(d, item, c);
    dec_termination_message(d, item, c);
    kl_dec_bool(d, item, "stdin", &c->stdin_open);
    kl_dec_bool(d, item, "stdinOnce", &c->stdin_once);
    kl_dec_bool(d, item, "tty", &c->tty);
    dec_restart_policy(d, item, c, init);
    if (d->failed)
        return false;
    c->hash = kl_container_hash(c);
    return true;
}

bool kl_dec_containers(kl_dec *d, const cJSON *spec, const char *key, bool init, bool host_network,
                       kl_container **out, size_t *n)
{
    const cJSON *arr = kl_dec_arr(d, spec, key);
    if (!arr)
        return !d->failed;
    *out = xcalloc((size_t)cJSON_GetArraySize(arr) + 1, sizeof(kl_container));
    size_t mark = kl_dec_push(d, key);
    const cJSON *item;
    cJSON_ArrayForEach(item, arr)
    {
        size_t m2 = kl_dec_push_idx(d, *n);
        dec_container(d, item, &(*out)[(*n)++], init, host_network);
        kl_dec_pop(d, m2);
        if (d->failed)
            break;
    }
    kl_dec_pop(d, mark);
    return !d->failed;
}

/* ---- release and hash ---------------------------------------------------------------------- */

static void resource_list_clear(kl_resource_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->items[i].name);
    free(l->items);
}

void kl_container_clear(kl_container *c)
{
    free(c->name);
    free(c->image);
    kl_strv_clear(&c->command);
    kl_strv_clear(&c->args);
    free(c->working_dir);
    for (size_t i = 0; i < c->n_env; i++) {
        free(c->env[i].name);
        free(c->env[i].value);
        free(c->env[i].field_path);
    }
    free(c->env);
    for (size_t i = 0; i < c->n_ports; i++) {
        free(c->ports[i].name);
        free(c->ports[i].host_ip);
    }
    free(c->ports);
    resource_list_clear(&c->resources.requests);
    resource_list_clear(&c->resources.limits);
    kl_strv_clear(&c->sc.cap_add);
    kl_strv_clear(&c->sc.cap_drop);
    for (size_t i = 0; i < c->n_mounts; i++) {
        free(c->mounts[i].name);
        free(c->mounts[i].mount_path);
        free(c->mounts[i].sub_path);
    }
    free(c->mounts);
    free(c->termination_message_path);
    free(c->unsupported);
    memset(c, 0, sizeof(*c));
}

/* FNV-1a, 32 bits, as upstream's container hash uses. */
static uint32_t fnv1a(uint32_t h, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 16777619u;
    }
    return h;
}

static void put(kn_buf *b, const char *tag, const char *s)
{
    kn_buf_appendf(b, "%s=%zu:%s;", tag, s ? strlen(s) : 0, s ? s : "");
}

static void put_strv(kn_buf *b, const char *tag, const kl_strv *v)
{
    kn_buf_appendf(b, "%s#%zu;", tag, v->n);
    for (size_t i = 0; i < v->n; i++)
        put(b, "", v->v[i]);
}

static void put_opt(kn_buf *b, const char *tag, bool set, long long v)
{
    kn_buf_appendf(b, "%s=%d/%lld;", tag, set, set ? v : 0);
}

static void hash_sc(kn_buf *b, const kl_container *c)
{
    const kl_security_context *sc = &c->sc;
    kn_buf_appendf(b, "sc=%d;", c->has_security_context);
    put_opt(b, "uid", sc->run_as_user.set, sc->run_as_user.v);
    put_opt(b, "gid", sc->run_as_group.set, sc->run_as_group.v);
    put_opt(b, "nonroot", sc->run_as_non_root.set, sc->run_as_non_root.v);
    put_opt(b, "priv", sc->privileged.set, sc->privileged.v);
    put_opt(b, "rorootfs", sc->read_only_root_filesystem.set, sc->read_only_root_filesystem.v);
    put_opt(b, "ape", sc->allow_privilege_escalation.set, sc->allow_privilege_escalation.v);
    put_strv(b, "capadd", &sc->cap_add);
    put_strv(b, "capdrop", &sc->cap_drop);
}

/* Everything but resources (which the kubelet may change in place) goes
 * into the hash, in a length-prefixed form so no two specs collide by
 * concatenation. */
uint32_t kl_container_hash(const kl_container *c)
{
    cleanup_buf kn_buf b = KN_BUF_INIT;
    put(&b, "name", c->name);
    put(&b, "image", c->image);
    kn_buf_appendf(&b, "pull=%d;", (int)c->pull_policy);
    put_strv(&b, "command", &c->command);
    put_strv(&b, "args", &c->args);
    put(&b, "wd", c->working_dir);
    for (size_t i = 0; i < c->n_env; i++) {
        put(&b, "env", c->env[i].name);
        kn_buf_appendf(&b, "src=%d;", (int)c->env[i].source);
        put(&b, "v", c->env[i].value);
        put(&b, "f", c->env[i].field_path);
    }
    for (size_t i = 0; i < c->n_ports; i++) {
        const kl_port *p = &c->ports[i];
        put(&b, "port", p->name);
        kn_buf_appendf(&b, "%d/%d/%d;", p->container_port, p->host_port, (int)p->protocol);
        put(&b, "hostip", p->host_ip);
    }
    hash_sc(&b, c);
    for (size_t i = 0; i < c->n_mounts; i++) {
        put(&b, "mount", c->mounts[i].name);
        put(&b, "path", c->mounts[i].mount_path);
        put(&b, "sub", c->mounts[i].sub_path);
        kn_buf_appendf(&b, "ro=%d;", c->mounts[i].read_only);
    }
    put(&b, "tmp", c->termination_message_path);
    kn_buf_appendf(&b, "tmpol=%d;io=%d%d%d;", (int)c->termination_message_policy, c->stdin_open,
                   c->stdin_once, c->tty);
    return fnv1a(2166136261u, b.data, b.len);
}

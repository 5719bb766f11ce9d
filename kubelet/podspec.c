/* podspec.c - decoding a v1 Pod: metadata, pod-level spec, volumes, DNS
 * config and the cross-field checks (see podspec.h). Containers are in
 * podspec-container.c, helpers in podspec-util.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kubelet/podspec-internal.h"
#include "lib/cleanup.h"
#include "lib/json.h"
#include "lib/xalloc.h"

/* ---- metadata ------------------------------------------------------------------------------ */

static bool check_labels(kl_dec *d, const kl_map *labels)
{
    for (size_t i = 0; i < labels->n; i++) {
        const char *bad = kl_check_qualified_name(labels->items[i].key);
        size_t mark = kl_dec_push(d, "labels");
        if (bad)
            kl_dec_fail(d, NULL, "Invalid value: \"%s\": %s", labels->items[i].key, bad);
        else if ((bad = kl_check_label_value(labels->items[i].value)))
            kl_dec_fail(d, NULL, "Invalid value: \"%s\": %s", labels->items[i].value, bad);
        kl_dec_pop(d, mark);
        if (bad)
            return false;
    }
    return true;
}

static bool dec_deletion(kl_dec *d, const cJSON *meta, kl_pod *p)
{
    kl_dec_str(d, meta, "deletionTimestamp", &p->deletion_timestamp);
    kl_dec_opt_i64(d, meta, "deletionGracePeriodSeconds", &p->deletion_grace_s);
    if (d->failed)
        return false;
    if (p->deletion_timestamp && !kl_parse_rfc3339(p->deletion_timestamp, &p->deletion_ns))
        return kl_dec_invalid(d, "deletionTimestamp", p->deletion_timestamp,
                              "must be an RFC 3339 timestamp");
    return true;
}

static bool dec_metadata(kl_dec *d, const cJSON *doc, kl_pod *p)
{
    const cJSON *meta = kl_dec_obj(d, doc, "metadata");
    if (!meta)
        return d->failed ? false
                         : kl_dec_fail(d, "metadata.name",
                                       "Required value: name or "
                                       "generateName is required");
    size_t mark = kl_dec_push(d, "metadata");
    kl_dec_str(d, meta, "name", &p->name);
    kl_dec_str(d, meta, "namespace", &p->namespace_);
    kl_dec_str(d, meta, "uid", &p->uid);
    kl_dec_map(d, meta, "labels", &p->labels);
    kl_dec_map(d, meta, "annotations", &p->annotations);
    dec_deletion(d, meta, p);
    const char *bad = NULL;
    if (d->failed) {
    } else if (!p->name || !*p->name) {
        kl_dec_fail(d, "name", "Required value: name or generateName is required");
    } else if ((bad = kl_check_dns1123_subdomain(p->name))) {
        kl_dec_invalid(d, "name", p->name, bad);
    } else if (p->namespace_ && *p->namespace_ && (bad = kl_check_dns1123_label(p->namespace_))) {
        kl_dec_invalid(d, "namespace", p->namespace_, bad);
    } else if (!p->uid || !*p->uid) {
        kl_dec_fail(d, "uid", "Required value");
    } else {
        check_labels(d, &p->labels);
    }
    kl_dec_pop(d, mark);
    if (!d->failed && (!p->namespace_ || !*p->namespace_)) {
        free(p->namespace_);
        p->namespace_ = xstrdup("default");
    }
    return !d->failed;
}

/* ---- enums of the spec ------------------------------------------------------------------- */

static bool dec_restart_policy(kl_dec *d, const cJSON *spec, kl_pod *p)
{
    cleanup_free char *s = NULL;
    if (!kl_dec_str(d, spec, "restartPolicy", &s))
        return false;
    if (!s || !*s || strcmp(s, "Always") == 0)
        p->restart_policy = KL_RESTART_ALWAYS;
    else if (strcmp(s, "OnFailure") == 0)
        p->restart_policy = KL_RESTART_ON_FAILURE;
    else if (strcmp(s, "Never") == 0)
        p->restart_policy = KL_RESTART_NEVER;
    else
        return kl_dec_fail(d, "restartPolicy",
                           "Unsupported value: \"%s\": supported values: \"Always\", "
                           "\"OnFailure\", \"Never\"",
                           s);
    return true;
}

static bool dec_dns_policy(kl_dec *d, const cJSON *spec, kl_pod *p)
{
    cleanup_free char *s = NULL;
    if (!kl_dec_str(d, spec, "dnsPolicy", &s))
        return false;
    if (!s || !*s || strcmp(s, "ClusterFirst") == 0)
        p->dns_policy = KL_DNS_CLUSTER_FIRST;
    else if (strcmp(s, "ClusterFirstWithHostNet") == 0)
        p->dns_policy = KL_DNS_CLUSTER_FIRST_WITH_HOST_NET;
    else if (strcmp(s, "Default") == 0)
        p->dns_policy = KL_DNS_DEFAULT;
    else if (strcmp(s, "None") == 0)
        p->dns_policy = KL_DNS_NONE;
    else
        return kl_dec_fail(d, "dnsPolicy",
                           "Unsupported value: \"%s\": supported values: "
                           "\"ClusterFirstWithHostNet\", \"ClusterFirst\", \"Default\", \"None\"",
                           s);
    return true;
}

/* ---- dnsConfig ----------------------------------------------------------------------------- */

static bool dec_dns_options(kl_dec *d, const cJSON *cfg, kl_pod_dns_config *dc)
{
    const cJSON *arr = kl_dec_arr(d, cfg, "options");
    if (!arr)
        return !d->failed;
    dc->options = xcalloc((size_t)cJSON_GetArraySize(arr) + 1, sizeof(kl_dns_option));
    size_t mark = kl_dec_push(d, "options");
    const cJSON *item;
    cJSON_ArrayForEach(item, arr)
    {
        size_t m2 = kl_dec_push_idx(d, dc->n_options);
        kl_dns_option *o = &dc->options[dc->n_options++];
        if (!cJSON_IsObject(item))
            kl_dec_fail(d, NULL, "expected object");
        kl_dec_str(d, item, "name", &o->name);
        kl_dec_str(d, item, "value", &o->value);
        if (!d->failed && (!o->name || !*o->name))
            kl_dec_fail(d, "name", "Required value");
        kl_dec_pop(d, m2);
        if (d->failed)
            break;
    }
    kl_dec_pop(d, mark);
    return !d->failed;
}

static bool check_dns_config(kl_dec *d, const kl_pod *p)
{
    const kl_pod_dns_config *dc = &p->dns_config;
    if (dc->nameservers.n > 3)
        return kl_dec_fail(d, "nameservers",
                           "Invalid value: \"%s\": must not have more than 3 "
                           "nameservers",
                           dc->nameservers.v[0]);
    for (size_t i = 0; i < dc->nameservers.n; i++)
        if (!kl_is_ip(dc->nameservers.v[i])) {
            size_t mark = kl_dec_push(d, "nameservers");
            kl_dec_push_idx(d, i);
            kl_dec_invalid(d, NULL, dc->nameservers.v[i], "must be valid IP address");
            kl_dec_pop(d, mark);
            return false;
        }
    if (dc->searches.n > 32)
        return kl_dec_fail(d, "searches",
                           "Invalid value: \"%s\": must not have more than 32 "
                           "search paths",
                           dc->searches.v[0]);
    for (size_t i = 0; i < dc->searches.n; i++) {
        cleanup_free char *s = xstrdup(dc->searches.v[i]);
        size_t n = strlen(s);
        if (n > 1 && s[n - 1] == '.')
            s[n - 1] = '\0'; /* a trailing dot is allowed */
        const char *bad = kl_check_dns1123_subdomain(s);
        if (bad) {
            size_t mark = kl_dec_push(d, "searches");
            kl_dec_push_idx(d, i);
            kl_dec_invalid(d, NULL, dc->searches.v[i], bad);
            kl_dec_pop(d, mark);
            return false;
        }
    }
    if (p->dns_policy == KL_DNS_NONE && dc->nameservers.n == 0)
        return kl_dec_fail(d, "nameservers",
                           "Required value: must provide at least one DNS "
                           "nameserver when `dnsPolicy` is None");
    return true;
}

static bool dec_dns_config(kl_dec *d, const cJSON *spec, kl_pod *p)
{
    const cJSON *cfg = kl_dec_obj(d, spec, "dnsConfig");
    if (!cfg) {
        if (!d->failed && p->dns_policy == KL_DNS_NONE)
            return kl_dec_fail(d, "dnsConfig",
                               "Required value: must provide `dnsConfig` when "
                               "`dnsPolicy` is None");
        return !d->failed;
    }
    p->has_dns_config = true;
    size_t mark = kl_dec_push(d, "dnsConfig");
    kl_dec_strv(d, cfg, "nameservers", &p->dns_config.nameservers);
    kl_dec_strv(d, cfg, "searches", &p->dns_config.searches);
    dec_dns_options(d, cfg, &p->dns_config);
    if (!d->failed)
        check_dns_config(d, p);
    kl_dec_pop(d, mark);
    return !d->failed;
}

/* ---- volumes ------------------------------------------------------------------------------ */

/* Every volume source of the v1 API; a volume has exactly one. */
static const char *const volume_sources[] = {
    "hostPath",
    "emptyDir",
    "gcePersistentDisk",
    "awsElasticBlockStore",
    "gitRepo",
    "secret",
    "nfs",
    "iscsi",
    "glusterfs",
    "persistentVolumeClaim",
    "rbd",
    "flexVolume",
    "cinder",
    "cephfs",
    "flocker",
    "downwardAPI",
    "fc",
    "azureFile",
    "configMap",
    "vsphereVolume",
    "quobyte",
    "azureDisk",
    "photonPersistentDisk",
    "projected",
    "portworxVolume",
    "scaleIO",
    "storageos",
    "csi",
    "ephemeral",
    "image",
};

static const char *const host_path_types[] = {
    "",       "DirectoryOrCreate", "Directory",   "FileOrCreate", "File",
    "Socket", "CharDevice",        "BlockDevice",
};

static bool dec_host_path(kl_dec *d, const cJSON *src, kl_volume *v)
{
    size_t mark = kl_dec_push(d, "hostPath");
    kl_dec_str(d, src, "path", &v->path);
    kl_dec_str(d, src, "type", &v->path_type);
    if (!d->failed && (!v->path || !*v->path))
        kl_dec_fail(d, "path", "Required value");
    bool ok = false;
    for (size_t i = 0; !d->failed && i < KN_ARRAY_SIZE(host_path_types); i++)
        ok |= strcmp(v->path_type ? v->path_type : "", host_path_types[i]) == 0;
    if (!d->failed && !ok)
        kl_dec_fail(d, "type",
                    "Unsupported value: \"%s\": supported values: \"\", \"BlockDevice\", "
                    "\"CharDevice\", \"Directory\", \"DirectoryOrCreate\", \"File\", "
                    "\"FileOrCreate\", \"Socket\"",
                    v->path_type);
    kl_dec_pop(d, mark);
    return !d->failed;
}

static bool dec_empty_dir(kl_dec *d, const cJSON *src, kl_volume *v)
{
    size_t mark = kl_dec_push(d, "emptyDir");
    kl_dec_str(d, src, "medium", &v->medium);
    if (!d->failed && v->medium && *v->medium && strcmp(v->medium, "Memory") != 0 &&
        strncmp(v->medium, "HugePages", 9) != 0)
        kl_dec_fail(d, "medium",
                    "Unsupported value: \"%s\": supported values: \"\", \"Memory\", "
                    "\"HugePages\"",
                    v->medium);
    kl_dec_pop(d, mark);
    return !d->failed;
}

static bool dec_volume_source(kl_dec *d, const cJSON *item, kl_volume *v, kl_pod *p)
{
    const char *which = NULL;
    for (size_t i = 0; i < KN_ARRAY_SIZE(volume_sources); i++) {
        if (!kl_member(item, volume_sources[i]))
            continue;
        if (which)
            return kl_dec_fail(d, volume_sources[i],
                               "Forbidden: may not specify more than 1 "
                               "volume type");
        which = volume_sources[i];
    }
    if (!which)
        return kl_dec_fail(d, NULL, "Required value: must specify a volume type");
    v->source = xstrdup(which);
    const cJSON *src = kl_dec_obj(d, item, which);
    if (!src)
        return !d->failed;
    if (strcmp(which, "hostPath") == 0) {
        v->kind = KL_VOL_HOST_PATH;
        return dec_host_path(d, src, v);
    }
    if (strcmp(which, "emptyDir") == 0 && dec_empty_dir(d, src, v)) {
        v->kind = KL_VOL_EMPTY_DIR;
        if (strncmp(v->medium ? v->medium : "", "HugePages", 9) != 0)
            return true;
    }
    if (d->failed)
        return false;
    v->kind = KL_VOL_UNSUPPORTED;
    if (!p->unsupported)
        p->unsupported = xasprintf("volume %s: %s%s volumes are not supported yet", v->name, which,
                                   v->medium ? " medium HugePages" : "");
    return true;
}

static bool dec_volume(kl_dec *d, const cJSON *item, kl_volume *v, kl_pod *p)
{
    if (!cJSON_IsObject(item))
        return kl_dec_fail(d, NULL, "expected object");
    if (!kl_dec_str(d, item, "name", &v->name))
        return false;
    if (!v->name || !*v->name)
        return kl_dec_fail(d, "name", "Required value");
    const char *bad = kl_check_dns1123_label(v->name);
    if (bad)
        return kl_dec_invalid(d, "name", v->name, bad);
    return dec_volume_source(d, item, v, p);
}

static bool dec_volumes(kl_dec *d, const cJSON *spec, kl_pod *p)
{
    const cJSON *arr = kl_dec_arr(d, spec, "volumes");
    if (!arr)
        return !d->failed;
    p->volumes = xcalloc((size_t)cJSON_GetArraySize(arr) + 1, sizeof(kl_volume));
    size_t mark = kl_dec_push(d, "volumes");
    const cJSON *item;
    cJSON_ArrayForEach(item, arr)
    {
        size_t m2 = kl_dec_push_idx(d, p->n_volumes);
        kl_volume *v = &p->volumes[p->n_volumes++];
        if (dec_volume(d, item, v, p))
            for (size_t k = 0; k + 1 < p->n_volumes; k++)
                if (strcmp(p->volumes[k].name, v->name) == 0) {
                    kl_dec_fail(d, "name", "Duplicate value: \"%s\"", v->name);
                    break;
                }
        kl_dec_pop(d, m2);
        if (d->failed)
            break;
    }
    kl_dec_pop(d, mark);
    return !d->failed;
}

/* ---- pod security context ------------------------------------------------------------------ */

static bool dec_supplemental_groups(kl_dec *d, const cJSON *sc, kl_pod_security_context *psc)
{
    const cJSON *arr = kl_dec_arr(d, sc, "supplementalGroups");
    if (!arr)
        return !d->failed;
    psc->supplemental_groups = xcalloc((size_t)cJSON_GetArraySize(arr) + 1, sizeof(int64_t));
    const cJSON *e;
    cJSON_ArrayForEach(e, arr)
    {
        if (!cJSON_IsNumber(e) || e->valuedouble < 0 || e->valuedouble > 2147483647 ||
            e->valuedouble != (double)(int64_t)e->valuedouble) {
            size_t mark = kl_dec_push(d, "supplementalGroups");
            kl_dec_push_idx(d, psc->n_supplemental_groups);
            kl_dec_fail(d, NULL, "Invalid value: must be between 0 and 2147483647, inclusive");
            kl_dec_pop(d, mark);
            return false;
        }
        psc->supplemental_groups[psc->n_supplemental_groups++] = (int64_t)e->valuedouble;
    }
    return true;
}

static bool dec_pod_security_context(kl_dec *d, const cJSON *spec, kl_pod *p)
{
    const cJSON *sc = kl_dec_obj(d, spec, "securityContext");
    if (!sc)
        return !d->failed;
    size_t mark = kl_dec_push(d, "securityContext");
    kl_dec_opt_id(d, sc, "runAsUser", &p->sc.run_as_user);
    kl_dec_opt_id(d, sc, "runAsGroup", &p->sc.run_as_group);
    kl_dec_opt_id(d, sc, "fsGroup", &p->sc.fs_group);
    kl_dec_opt_bool(d, sc, "runAsNonRoot", &p->sc.run_as_non_root);
    dec_supplemental_groups(d, sc, &p->sc);
    kl_dec_pop(d, mark);
    return !d->failed;
}

/* ---- spec ------------------------------------------------------------------------------------ */

static bool check_hostnames(kl_dec *d, const kl_pod *p)
{
    const char *bad;
    if (p->hostname && *p->hostname && (bad = kl_check_dns1123_label(p->hostname)))
        return kl_dec_invalid(d, "hostname", p->hostname, bad);
    if (p->subdomain && *p->subdomain && (bad = kl_check_dns1123_label(p->subdomain)))
        return kl_dec_invalid(d, "subdomain", p->subdomain, bad);
    return true;
}

static bool dec_spec_scalars(kl_dec *d, const cJSON *spec, kl_pod *p)
{
    kl_opt_i64 grace = {0}, prio = {0};
    kl_dec_str(d, spec, "nodeName", &p->node_name);
    kl_dec_str(d, spec, "serviceAccountName", &p->service_account_name);
    if (!p->service_account_name)
        kl_dec_str(d, spec, "serviceAccount", &p->service_account_name);
    kl_dec_bool(d, spec, "hostNetwork", &p->host_network);
    kl_dec_bool(d, spec, "hostPID", &p->host_pid);
    kl_dec_bool(d, spec, "hostIPC", &p->host_ipc);
    kl_dec_bool(d, spec, "shareProcessNamespace", &p->share_process_namespace);
    kl_dec_str(d, spec, "hostname", &p->hostname);
    kl_dec_str(d, spec, "subdomain", &p->subdomain);
    kl_dec_bool(d, spec, "setHostnameAsFQDN", &p->set_hostname_as_fqdn);
    kl_dec_str(d, spec, "priorityClassName", &p->priority_class_name);
    kl_dec_str(d, spec, "runtimeClassName", &p->runtime_class_name);
    kl_dec_opt_i64(d, spec, "priority", &prio);
    kl_dec_opt_i64(d, spec, "terminationGracePeriodSeconds", &grace);
    if (d->failed)
        return false;
    p->priority = prio;
    /* the API server turns a negative grace period into 1 */
    p->termination_grace_s = !grace.set ? KL_DEFAULT_GRACE_S : grace.v < 0 ? 1 : grace.v;
    if (p->host_pid && p->share_process_namespace)
        return kl_dec_fail(d, "shareProcessNamespace",
                           "Invalid value: true: ShareProcessNamespace and HostPID cannot both "
                           "be enabled");
    return check_hostnames(d, p);
}

/* Container names are unique across init and app containers. */
static bool check_unique_names(kl_dec *d, const kl_pod *p)
{
    size_t n = p->n_init_containers + p->n_containers;
    for (size_t i = 0; i < n; i++) {
        bool init_i = i < p->n_init_containers;
        const kl_container *ci =
            init_i ? &p->init_containers[i] : &p->containers[i - p->n_init_containers];
        for (size_t k = 0; k < i; k++) {
            const kl_container *ck = k < p->n_init_containers
                                         ? &p->init_containers[k]
                                         : &p->containers[k - p->n_init_containers];
            if (strcmp(ci->name, ck->name) != 0)
                continue;
            cleanup_free char *key =
                xasprintf("%s[%zu].name", init_i ? "initContainers" : "containers",
                          init_i ? i : i - p->n_init_containers);
            return kl_dec_fail(d, key, "Duplicate value: \"%s\"", ci->name);
        }
    }
    return true;
}

static bool check_mounts_of(kl_dec *d, const kl_pod *p, const kl_container *cs, size_t n,
                            const char *key)
{
    for (size_t i = 0; i < n; i++)
        for (size_t m = 0; m < cs[i].n_mounts; m++) {
            const char *name = cs[i].mounts[m].name;
            bool found = false;
            for (size_t v = 0; v < p->n_volumes && !found; v++)
                found = strcmp(p->volumes[v].name, name) == 0;
            if (!found) {
                cleanup_free char *k = xasprintf("%s[%zu].volumeMounts[%zu].name", key, i, m);
                return kl_dec_fail(d, k, "Not found: \"%s\"", name);
            }
        }
    return true;
}

static bool dec_spec(kl_dec *d, const cJSON *doc, kl_pod *p)
{
    const cJSON *spec = kl_dec_obj(d, doc, "spec");
    if (!spec)
        return d->failed ? false : kl_dec_fail(d, "spec.containers", "Required value");
    size_t mark = kl_dec_push(d, "spec");
    dec_spec_scalars(d, spec, p);
    dec_restart_policy(d, spec, p);
    dec_dns_policy(d, spec, p);
    dec_dns_config(d, spec, p);
    dec_pod_security_context(d, spec, p);
    dec_volumes(d, spec, p);
    kl_dec_containers(d, spec, "initContainers", true, p->host_network, &p->init_containers,
                      &p->n_init_containers);
    kl_dec_containers(d, spec, "containers", false, p->host_network, &p->containers,
                      &p->n_containers);
    if (!d->failed && p->n_containers == 0)
        kl_dec_fail(d, "containers", "Required value");
    if (!d->failed && check_unique_names(d, p) &&
        check_mounts_of(d, p, p->init_containers, p->n_init_containers, "initContainers"))
        check_mounts_of(d, p, p->containers, p->n_containers, "containers");
    if (!d->failed && kl_member(spec, "ephemeralContainers") && !p->unsupported)
        p->unsupported = xstrdup("ephemeral containers are not supported yet");
    kl_dec_pop(d, mark);
    return !d->failed;
}

static bool check_kind(kl_dec *d, const cJSON *doc)
{
    if (!cJSON_IsObject(doc))
        return kl_dec_fail(d, NULL, "a Pod must be a JSON object");
    cleanup_free char *kind = NULL;
    if (!kl_dec_str(d, doc, "kind", &kind))
        return false;
    if (kind && strcmp(kind, "Pod") != 0)
        return kl_dec_fail(d, "kind", "Unsupported value: \"%s\": supported values: \"Pod\"", kind);
    return true;
}

/* Frees or releases the pod's raw text; the pod then has none. */
static void release_raw(kl_pod *p)
{
    if (p->raw_owner)
        p->raw_release(p->raw_owner);
    else
        free((char *)p->raw);
    p->raw = NULL;
    p->raw_owner = NULL;
    p->raw_release = NULL;
}

static void pod_free(kl_pod *p)
{
    free(p->name);
    free(p->namespace_);
    free(p->uid);
    kl_map_clear(&p->labels);
    kl_map_clear(&p->annotations);
    free(p->deletion_timestamp);
    free(p->node_name);
    free(p->service_account_name);
    kl_strv_clear(&p->dns_config.nameservers);
    kl_strv_clear(&p->dns_config.searches);
    for (size_t i = 0; i < p->dns_config.n_options; i++) {
        free(p->dns_config.options[i].name);
        free(p->dns_config.options[i].value);
    }
    free(p->dns_config.options);
    free(p->hostname);
    free(p->subdomain);
    free(p->priority_class_name);
    free(p->runtime_class_name);
    free(p->sc.supplemental_groups);
    for (size_t i = 0; i < p->n_init_containers; i++)
        kl_container_clear(&p->init_containers[i]);
    free(p->init_containers);
    for (size_t i = 0; i < p->n_containers; i++)
        kl_container_clear(&p->containers[i]);
    free(p->containers);
    for (size_t i = 0; i < p->n_volumes; i++) {
        kl_volume *v = &p->volumes[i];
        free(v->name);
        free(v->source);
        free(v->medium);
        free(v->path);
        free(v->path_type);
    }
    free(p->volumes);
    free(p->unsupported);
    release_raw(p);
    free(p);
}

/* Decodes doc into a pod without its raw text. */
static int decode(const cJSON *doc, kl_pod **out, kn_error **err)
{
    kl_dec d = {.err = err, .path = KN_BUF_INIT};
    kl_pod *p = xcalloc(1, sizeof(*p));
    p->refs = 1;
    if (check_kind(&d, doc) && dec_metadata(&d, doc, p))
        dec_spec(&d, doc, p);
    if (!d.failed && p->runtime_class_name && *p->runtime_class_name && !p->unsupported)
        p->unsupported =
            xasprintf("runtimeClassName %s is not supported yet", p->runtime_class_name);
    kn_buf_free(&d.path);
    if (d.failed) {
        pod_free(p);
        return -KN_EINVAL;
    }
    p->qos = kl_pod_compute_qos(p);
    *out = p;
    return 0;
}

int kl_pod_decode(const cJSON *doc, kl_pod **out, kn_error **err)
{
    if (decode(doc, out, err) < 0)
        return -KN_EINVAL;
    (*out)->raw = kn_json_print(doc);
    return 0;
}

int kl_pod_decode_text(const cJSON *doc, const kl_text_ref *text, kl_pod **out, kn_error **err)
{
    if (decode(doc, out, err) < 0) {
        text->release(text->owner);
        return -KN_EINVAL;
    }
    (*out)->raw = text->text;
    (*out)->raw_owner = text->owner;
    (*out)->raw_release = text->release;
    return 0;
}

cJSON *kl_json_reparse(const char *text)
{
    if (!text)
        return NULL;
    cJSON *doc = NULL;
    kn_error *err = NULL;
    if (kn_json_parse(text, strlen(text), 0, &doc, &err) < 0)
        kn_oom();
    return doc;
}

cJSON *kl_pod_object(const kl_pod *pod)
{
    return kl_json_reparse(pod->raw);
}

cJSON *kl_pod_status_copy(const kl_pod *pod)
{
    cJSON *doc = kl_pod_object(pod);
    cJSON *st = cJSON_DetachItemFromObjectCaseSensitive(doc, "status");
    cJSON_Delete(doc);
    if (st && !cJSON_IsObject(st)) {
        cJSON_Delete(st);
        return NULL;
    }
    return st;
}

void kl_pod_set_annotation(kl_pod *pod, const char *key, const char *value)
{
    cJSON *doc = kl_pod_object(pod);
    cJSON *meta = cJSON_GetObjectItemCaseSensitive(doc, "metadata");
    cJSON *ann = cJSON_GetObjectItemCaseSensitive(meta, "annotations");
    if (!cJSON_IsObject(ann)) {
        cJSON_DeleteItemFromObjectCaseSensitive(meta, "annotations");
        ann = cJSON_AddObjectToObject(meta, "annotations");
    }
    cJSON_DeleteItemFromObjectCaseSensitive(ann, key);
    cJSON_AddStringToObject(ann, key, value);
    release_raw(pod);
    pod->raw = kn_json_print(doc);
    cJSON_Delete(doc);
    kl_map *m = &pod->annotations;
    for (size_t i = 0; i < m->n; i++)
        if (strcmp(m->items[i].key, key) == 0) {
            free(m->items[i].value);
            m->items[i].value = xstrdup(value);
            return;
        }
    m->items = xreallocarray(m->items, m->n + 1, sizeof(kl_kv));
    m->items[m->n++] = (kl_kv){xstrdup(key), xstrdup(value)};
}

kl_pod *kl_pod_ref(kl_pod *pod)
{
    __atomic_add_fetch(&pod->refs, 1, __ATOMIC_RELAXED);
    return pod;
}

void kl_pod_unref(kl_pod *pod)
{
    if (pod && __atomic_sub_fetch(&pod->refs, 1, __ATOMIC_ACQ_REL) == 0)
        pod_free(pod);
}

/* sandbox.c - PodSandboxConfig for a pod (see sandbox.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cri/msg.h"
#include "kubelet/cgroups.h"
#include "kubelet/sandbox.h"
#include "lib/cleanup.h"
#include "lib/xalloc.h"

char *kl_pod_log_dir(const kl_node_config *nc, const kl_pod *pod)
{
    return xasprintf("%s/%s_%s_%s", nc->pod_logs_dir, pod->namespace_, pod->name, pod->uid);
}

char *kl_pod_dir(const kl_node_config *nc, const char *uid)
{
    return xasprintf("%s/pods/%s", nc->root_dir, uid);
}

Runtime__V1__NamespaceOption *kl_pod_namespace_options(const kl_pod *pod)
{
    Runtime__V1__NamespaceOption *ns = cri_msg_new(&runtime__v1__namespace_option__descriptor);
    ns->network =
        pod->host_network ? RUNTIME__V1__NAMESPACE_MODE__NODE : RUNTIME__V1__NAMESPACE_MODE__POD;
    ns->pid = pod->host_pid                  ? RUNTIME__V1__NAMESPACE_MODE__NODE
              : pod->share_process_namespace ? RUNTIME__V1__NAMESPACE_MODE__POD
                                             : RUNTIME__V1__NAMESPACE_MODE__CONTAINER;
    ns->ipc = pod->host_ipc ? RUNTIME__V1__NAMESPACE_MODE__NODE : RUNTIME__V1__NAMESPACE_MODE__POD;
    return ns;
}

Runtime__V1__LinuxContainerResources *
kl_linux_resources(const kl_node_config *nc, bool has_cpu_request, int64_t cpu_request_milli,
                   int64_t cpu_limit_milli, int64_t memory_limit)
{
    Runtime__V1__LinuxContainerResources *r =
        cri_msg_new(&runtime__v1__linux_container_resources__descriptor);
    /* no request but a limit: the request defaults to the limit */
    r->cpu_shares = kl_milli_cpu_to_shares(has_cpu_request ? cpu_request_milli : cpu_limit_milli);
    if (memory_limit > 0)
        r->memory_limit_in_bytes = memory_limit;
    if (nc->cpu_cfs_quota) {
        int64_t period = nc->cpu_cfs_quota_period_us > 0 ? nc->cpu_cfs_quota_period_us : 100000;
        r->cpu_period = period;
        r->cpu_quota = kl_milli_cpu_to_quota(cpu_limit_milli, period);
    }
    return r;
}

static void put_labels(Runtime__V1__PodSandboxConfig *cfg, const kl_pod *pod)
{
    for (size_t i = 0; i < pod->labels.n; i++)
        cri_map_put(cfg, "labels", pod->labels.items[i].key, pod->labels.items[i].value);
    cri_map_put(cfg, "labels", KL_LABEL_POD_NAME, pod->name);
    cri_map_put(cfg, "labels", KL_LABEL_POD_NAMESPACE, pod->namespace_);
    cri_map_put(cfg, "labels", KL_LABEL_POD_UID, pod->uid);
    for (size_t i = 0; i < pod->annotations.n; i++)
        cri_map_put(cfg, "annotations", pod->annotations.items[i].key,
                    pod->annotations.items[i].value);
}

static Runtime__V1__DNSConfig *dns_message(const kl_dns_config *d)
{
    Runtime__V1__DNSConfig *m = cri_msg_new(&runtime__v1__dnsconfig__descriptor);
    for (size_t i = 0; i < d->servers.n; i++)
        cri_strv_add(&m->servers, &m->n_servers, d->servers.v[i]);
    for (size_t i = 0; i < d->searches.n; i++)
        cri_strv_add(&m->searches, &m->n_searches, d->searches.v[i]);
    for (size_t i = 0; i < d->options.n; i++)
        cri_strv_add(&m->options, &m->n_options, d->options.v[i]);
    return m;
}

static Runtime__V1__Protocol cri_protocol(kl_protocol p)
{
    return p == KL_PROTO_UDP    ? RUNTIME__V1__PROTOCOL__UDP
           : p == KL_PROTO_SCTP ? RUNTIME__V1__PROTOCOL__SCTP
                                : RUNTIME__V1__PROTOCOL__TCP;
}

/* The name upstream's MakePortMappings deduplicates a container's ports by. */
static char *port_key(const kl_port *p)
{
    if (p->name && *p->name)
        return xstrdup(p->name);
    const char *ip = p->host_ip ? p->host_ip : "";
    const char *family = !*ip ? "" : strchr(ip, ':') ? "v6" : "v4";
    return xasprintf("%s-%s-%s:%d:%d", family, kl_protocol_name(p->protocol), ip, p->container_port,
                     p->host_port);
}

static void add_port(Runtime__V1__PodSandboxConfig *cfg, const kl_port *p)
{
    Runtime__V1__PortMapping *pm = cri_msg_new(&runtime__v1__port_mapping__descriptor);
    pm->protocol = cri_protocol(p->protocol);
    pm->container_port = p->container_port;
    pm->host_port = p->host_port;
    cri_str_set(&pm->host_ip, p->host_ip);
    cfg->port_mappings =
        xreallocarray(cfg->port_mappings, cfg->n_port_mappings + 1, sizeof(*cfg->port_mappings));
    cfg->port_mappings[cfg->n_port_mappings++] = pm;
}

static void put_ports(Runtime__V1__PodSandboxConfig *cfg, const kl_pod *pod)
{
    for (size_t c = 0; c < pod->n_containers; c++) {
        const kl_container *ct = &pod->containers[c];
        for (size_t i = 0; i < ct->n_ports; i++) {
            cleanup_free char *key = port_key(&ct->ports[i]);
            bool dup = false;
            for (size_t k = 0; k < i && !dup; k++) {
                cleanup_free char *other = port_key(&ct->ports[k]);
                dup = strcmp(key, other) == 0;
            }
            if (!dup)
                add_port(cfg, &ct->ports[i]);
        }
    }
}

static bool any_privileged(const kl_pod *pod)
{
    for (size_t i = 0; i < pod->n_containers; i++)
        if (pod->containers[i].sc.privileged.v)
            return true;
    for (size_t i = 0; i < pod->n_init_containers; i++)
        if (pod->init_containers[i].sc.privileged.v)
            return true;
    return false;
}

static Runtime__V1__Int64Value *int64_value(int64_t v)
{
    Runtime__V1__Int64Value *m = cri_msg_new(&runtime__v1__int64_value__descriptor);
    m->value = v;
    return m;
}

static Runtime__V1__LinuxSandboxSecurityContext *sandbox_security(const kl_pod *pod)
{
    Runtime__V1__LinuxSandboxSecurityContext *sc =
        cri_msg_new(&runtime__v1__linux_sandbox_security_context__descriptor);
    sc->privileged = any_privileged(pod);
    sc->seccomp = cri_msg_new(&runtime__v1__security_profile__descriptor);
    sc->seccomp->profile_type = RUNTIME__V1__SECURITY_PROFILE__PROFILE_TYPE__RuntimeDefault;
    sc->namespace_options = kl_pod_namespace_options(pod);
    if (pod->sc.run_as_user.set)
        sc->run_as_user = int64_value(pod->sc.run_as_user.v);
    if (pod->sc.run_as_group.set)
        sc->run_as_group = int64_value(pod->sc.run_as_group.v);
    size_t n = pod->sc.n_supplemental_groups + (pod->sc.fs_group.set ? 1 : 0);
    if (n) {
        sc->supplemental_groups = xcalloc(n, sizeof(int64_t));
        if (pod->sc.fs_group.set)
            sc->supplemental_groups[sc->n_supplemental_groups++] = pod->sc.fs_group.v;
        for (size_t i = 0; i < pod->sc.n_supplemental_groups; i++)
            sc->supplemental_groups[sc->n_supplemental_groups++] = pod->sc.supplemental_groups[i];
    }
    return sc;
}

static Runtime__V1__LinuxPodSandboxConfig *sandbox_linux(const kl_pod *pod,
                                                         const kl_node_config *nc)
{
    Runtime__V1__LinuxPodSandboxConfig *l =
        cri_msg_new(&runtime__v1__linux_pod_sandbox_config__descriptor);
    if (nc->cgroups_per_qos)
        l->cgroup_parent = kl_cgroup_pod_name(nc->cgroup_root, pod->qos, pod->uid);
    else
        cri_str_set(&l->cgroup_parent, nc->cgroup_root);
    l->security_context = sandbox_security(pod);
    kl_pod_resources r;
    kl_pod_resources_compute(pod, &r);
    l->resources = kl_linux_resources(nc, r.has_cpu_request, r.cpu_request_milli, r.cpu_limit_milli,
                                      r.memory_limit);
    return l;
}

int kl_sandbox_config(const kl_pod *pod, const kl_node_config *nc, const kl_dns_config *host_dns,
                      uint32_t attempt, Runtime__V1__PodSandboxConfig **out, kn_error **err)
{
    Runtime__V1__PodSandboxConfig *cfg = cri_msg_new(&runtime__v1__pod_sandbox_config__descriptor);
    cfg->metadata = cri_msg_new(&runtime__v1__pod_sandbox_metadata__descriptor);
    cri_str_set(&cfg->metadata->name, pod->name);
    cri_str_set(&cfg->metadata->namespace_, pod->namespace_);
    cri_str_set(&cfg->metadata->uid, pod->uid);
    cfg->metadata->attempt = attempt;
    put_labels(cfg, pod);
    kl_dns_config dns = {0};
    kl_pod_dns(pod, nc, host_dns, &dns);
    cfg->dns_config = dns_message(&dns);
    kl_dns_config_clear(&dns);
    if (!pod->host_network) {
        char *host = NULL;
        if (kl_pod_hostname(pod, nc->cluster_domain, &host, NULL, err) < 0) {
            cri_msg_free(cfg);
            return -KN_EINVAL;
        }
        cfg->hostname = host;
    }
    cfg->log_directory = kl_pod_log_dir(nc, pod);
    put_ports(cfg, pod);
    cfg->linux = sandbox_linux(pod, nc);
    *out = cfg;
    return 0;
}

/* Tests for kubelet/sandbox and kubelet/containers: the CRI configs a pod
 * translates to, and the resource arithmetic behind them. */
#include <stdlib.h>
#include <string.h>

#include "cri/msg.h"
#include "kubelet/cgroups.h"
#include "kubelet/containers.h"
#include "kubelet/sandbox.h"
#include "lib/cleanup.h"
#include "lib/xalloc.h"
#include "test/runner/kt.h"
#include "test/unit/kubelet/helpers.h"

#define MiB (1024LL * 1024)
#define GiB (1024LL * MiB)

static const char *const cluster_dns[] = {"10.96.0.10", NULL};

static kl_node_config node(void)
{
    kl_node_config nc;
    kl_node_config_defaults(&nc);
    nc.cluster_dns = cluster_dns;
    nc.cluster_domain = "cluster.local";
    nc.node_ips[0] = "10.250.0.1";
    nc.pod_logs_dir = "/var/log/pods";
    nc.root_dir = "/var/lib/knode/kubelet";
    nc.cgroup_root = "/kt1-nodeA";
    nc.memory_capacity = 8 * GiB;
    return nc;
}

static const char pod_yaml[] = "  hostname: h1\n"
                               "  securityContext: {runAsUser: 1000, fsGroup: 7, "
                               "supplementalGroups: [8]}\n"
                               "  volumes: [{name: data, emptyDir: {}}, {name: etc, hostPath: "
                               "{path: /etc/knode}}]\n"
                               "  containers:\n"
                               "  - name: app\n"
                               "    image: busybox:1.35\n"
                               "    command: [sh, -c, 'echo $(GREETING) $$(HOME) $(NOPE)']\n"
                               "    args: [$(POD)]\n"
                               "    workingDir: /w\n"
                               "    env:\n"
                               "    - {name: POD, valueFrom: {fieldRef: {fieldPath: "
                               "metadata.name}}}\n"
                               "    - {name: GREETING, value: 'hi $(POD)'}\n"
                               "    - {name: IP, valueFrom: {fieldRef: {fieldPath: "
                               "status.podIP}}}\n"
                               "    - {name: TIER, valueFrom: {fieldRef: {fieldPath: "
                               "\"metadata.labels['tier']\"}}}\n"
                               "    - {name: HOSTIPS, valueFrom: {fieldRef: {fieldPath: "
                               "status.hostIPs}}}\n"
                               "    ports:\n"
                               "    - {name: http, containerPort: 8080, hostPort: 80}\n"
                               "    - {containerPort: 53, protocol: UDP}\n"
                               "    - {containerPort: 53, protocol: UDP}\n"
                               "    resources:\n"
                               "      requests: {cpu: 250m, memory: 1Gi}\n"
                               "      limits: {cpu: 500m, memory: 2Gi}\n"
                               "    volumeMounts:\n"
                               "    - {name: data, mountPath: /data}\n"
                               "    - {name: etc, mountPath: /etc/knode, readOnly: true}\n"
                               "  - name: side\n"
                               "    image: busybox:1.35\n"
                               "    securityContext: {privileged: true}\n";

static kl_pod *test_pod(void)
{
    cleanup_free char *doc = xasprintf("metadata:\n  name: web\n  namespace: ns1\n  uid: uid-1\n"
                                       "  labels: {app: web, tier: front}\n"
                                       "  annotations: {note: hi}\nspec:\n%s",
                                       pod_yaml);
    return kt_pod(doc);
}

KT_TEST(sandbox, config_as_upstream)
{
    kl_node_config nc = node();
    kl_dns_config host = {0};
    kl_resolv_conf_parse("nameserver 1.1.1.1\nsearch corp.example\n", &host);
    kl_pod *p = test_pod();
    Runtime__V1__PodSandboxConfig *cfg = NULL;
    kn_error *err = NULL;
    KT_ASSERT_OK(kl_sandbox_config(p, &nc, &host, 2, &cfg, &err), err);
    KT_ASSERT_STREQ(cfg->metadata->name, "web");
    KT_ASSERT_STREQ(cfg->metadata->namespace_, "ns1");
    KT_ASSERT_STREQ(cfg->metadata->uid, "uid-1");
    KT_ASSERT_EQ(cfg->metadata->attempt, 2);
    KT_ASSERT_STREQ(cfg->hostname, "h1");
    KT_ASSERT_STREQ(cfg->log_directory, "/var/log/pods/ns1_web_uid-1");
    KT_ASSERT_EQ(cfg->dns_config->n_servers, 1);
    KT_ASSERT_STREQ(cfg->dns_config->servers[0], "10.96.0.10");
    KT_ASSERT_EQ(cfg->dns_config->n_searches, 4);
    KT_ASSERT_STREQ(cfg->dns_config->searches[0], "ns1.svc.cluster.local");
    KT_ASSERT_STREQ(cfg->dns_config->searches[3], "corp.example");
    KT_ASSERT_STREQ(cfg->dns_config->options[0], "ndots:5");
    /* every port, the duplicate dropped */
    KT_ASSERT_EQ(cfg->n_port_mappings, 2);
    KT_ASSERT_EQ(cfg->port_mappings[0]->host_port, 80);
    KT_ASSERT_EQ(cfg->port_mappings[0]->container_port, 8080);
    KT_ASSERT_EQ(cfg->port_mappings[1]->protocol, RUNTIME__V1__PROTOCOL__UDP);
    KT_ASSERT_EQ(cfg->port_mappings[1]->host_port, 0);
    KT_ASSERT_STREQ(cri_map_get(cfg, "labels", "app"), "web");
    KT_ASSERT_STREQ(cri_map_get(cfg, "labels", KL_LABEL_POD_UID), "uid-1");
    KT_ASSERT_STREQ(cri_map_get(cfg, "labels", KL_LABEL_POD_NAME), "web");
    KT_ASSERT_STREQ(cri_map_get(cfg, "labels", KL_LABEL_POD_NAMESPACE), "ns1");
    KT_ASSERT_STREQ(cri_map_get(cfg, "annotations", "note"), "hi");
    KT_ASSERT_STREQ(cfg->linux->cgroup_parent, "/kt1-nodeA/kubepods/burstable/poduid-1");
    Runtime__V1__LinuxSandboxSecurityContext *sc = cfg->linux->security_context;
    KT_ASSERT(sc->privileged); /* "side" is privileged */
    KT_ASSERT_EQ(sc->namespace_options->network, RUNTIME__V1__NAMESPACE_MODE__POD);
    KT_ASSERT_EQ(sc->namespace_options->pid, RUNTIME__V1__NAMESPACE_MODE__CONTAINER);
    KT_ASSERT_EQ(sc->namespace_options->ipc, RUNTIME__V1__NAMESPACE_MODE__POD);
    KT_ASSERT_EQ(sc->run_as_user->value, 1000);
    KT_ASSERT_EQ(sc->n_supplemental_groups, 2);
    KT_ASSERT_EQ(sc->supplemental_groups[0], 7);
    KT_ASSERT_EQ(sc->seccomp->profile_type,
                 RUNTIME__V1__SECURITY_PROFILE__PROFILE_TYPE__RuntimeDefault);
    /* pod resources: requests 250m, limits 500m / 2Gi from "app" ("side" has none) */
    KT_ASSERT_EQ(cfg->linux->resources->cpu_shares, 256);
    KT_ASSERT_EQ(cfg->linux->resources->cpu_quota, 50000);
    KT_ASSERT_EQ(cfg->linux->resources->cpu_period, 100000);
    KT_ASSERT_EQ(cfg->linux->resources->memory_limit_in_bytes, 2 * GiB);
    cri_msg_free(cfg);
    kl_pod_unref(p);

    /* a hostNetwork pod has no hostname and the node's network namespace */
    p = kt_pod_spec("  hostNetwork: true\n  containers: [{name: a, image: x}]\n");
    nc.cgroup_root = "/";
    KT_ASSERT_OK(kl_sandbox_config(p, &nc, &host, 0, &cfg, &err), err);
    KT_ASSERT_STREQ(cfg->hostname, "");
    KT_ASSERT_EQ(cfg->linux->security_context->namespace_options->network,
                 RUNTIME__V1__NAMESPACE_MODE__NODE);
    KT_ASSERT_STREQ(cfg->linux->cgroup_parent, "/kubepods/besteffort/poduid-1");
    KT_ASSERT_EQ(cfg->linux->resources->cpu_shares, 2);
    KT_ASSERT_EQ(cfg->linux->resources->cpu_quota, 0);
    KT_ASSERT_STREQ(cfg->dns_config->servers[0], "1.1.1.1");
    cri_msg_free(cfg);
    kl_pod_unref(p);
    kl_dns_config_clear(&host);
}

static const char *const pod_ips[] = {"10.244.1.7", NULL};

KT_TEST(sandbox, container_config_as_upstream)
{
    kl_node_config nc = node();
    nc.node_ips[1] = "fd00::1";
    kl_pod *p = test_pod();
    kl_container_ctx ctx = {.nc = &nc,
                            .pod_ips = pod_ips,
                            .image_ref = "sha256:abcdef",
                            .restart_count = 3,
                            .etc_hosts_path = "/var/lib/knode/kubelet/pods/uid-1/etc-hosts",
                            .termination_log = "/var/lib/knode/kubelet/pods/uid-1/containers/app/"
                                               "0a0b0c0d"};
    Runtime__V1__ContainerConfig *cfg = NULL;
    kn_error *err = NULL;
    KT_ASSERT_OK(kl_container_config(p, &p->containers[0], &ctx, &cfg, &err), err);
    KT_ASSERT_STREQ(cfg->metadata->name, "app");
    KT_ASSERT_EQ(cfg->metadata->attempt, 3);
    KT_ASSERT_STREQ(cfg->image->image, "sha256:abcdef");
    KT_ASSERT_STREQ(cfg->image->user_specified_image, "busybox:1.35");
    KT_ASSERT_EQ(cfg->n_command, 3);
    KT_ASSERT_STREQ(cfg->command[2], "echo hi web $(HOME) $(NOPE)");
    KT_ASSERT_STREQ(cfg->args[0], "web");
    KT_ASSERT_STREQ(cfg->working_dir, "/w");
    KT_ASSERT_STREQ(cfg->log_path, "app/3.log");
    KT_ASSERT_EQ(cfg->n_envs, 5);
    KT_ASSERT_STREQ(cfg->envs[1]->key, "GREETING");
    KT_ASSERT_STREQ(cfg->envs[1]->value, "hi web");
    KT_ASSERT_STREQ(cfg->envs[2]->value, "10.244.1.7");
    KT_ASSERT_STREQ(cfg->envs[3]->value, "front");
    KT_ASSERT_STREQ(cfg->envs[4]->value, "10.250.0.1,fd00::1");
    /* volume mounts, then /etc/hosts, then the termination message */
    KT_ASSERT_EQ(cfg->n_mounts, 4);
    KT_ASSERT_STREQ(cfg->mounts[0]->container_path, "/data");
    KT_ASSERT_STREQ(cfg->mounts[0]->host_path,
                    "/var/lib/knode/kubelet/pods/uid-1/volumes/kubernetes.io~empty-dir/data");
    KT_ASSERT_STREQ(cfg->mounts[1]->host_path, "/etc/knode");
    KT_ASSERT(cfg->mounts[1]->readonly);
    KT_ASSERT_STREQ(cfg->mounts[2]->container_path, "/etc/hosts");
    KT_ASSERT_STREQ(cfg->mounts[3]->container_path, "/dev/termination-log");
    KT_ASSERT_STREQ(cri_map_get(cfg, "labels", KL_LABEL_CONTAINER_NAME), "app");
    KT_ASSERT_STREQ(cri_map_get(cfg, "labels", KL_LABEL_POD_UID), "uid-1");
    KT_ASSERT(cri_map_get(cfg, "labels", "app") == NULL); /* pod labels stay on the sandbox */
    KT_ASSERT_STREQ(cri_map_get(cfg, "annotations", KL_ANN_RESTART_COUNT), "3");
    char hash[16];
    snprintf(hash, sizeof(hash), "%x", p->containers[0].hash);
    KT_ASSERT_STREQ(cri_map_get(cfg, "annotations", KL_ANN_CONTAINER_HASH), hash);
    KT_ASSERT_STREQ(cri_map_get(cfg, "annotations", KL_ANN_POD_TERMINATION_GRACE), "30");
    KT_ASSERT_STREQ(cri_map_get(cfg, "annotations", KL_ANN_TERMINATION_MESSAGE_PATH),
                    "/dev/termination-log");
    KT_ASSERT_STREQ(cri_map_get(cfg, "annotations", KL_ANN_CONTAINER_PORTS),
                    "[{\"name\":\"http\",\"hostPort\":80,\"containerPort\":8080,\"protocol\":"
                    "\"TCP\"},{\"containerPort\":53,\"protocol\":\"UDP\"},{\"containerPort\":53,"
                    "\"protocol\":\"UDP\"}]");
    Runtime__V1__LinuxContainerResources *r = cfg->linux->resources;
    KT_ASSERT_EQ(r->cpu_shares, 256);
    KT_ASSERT_EQ(r->cpu_quota, 50000);
    KT_ASSERT_EQ(r->cpu_period, 100000);
    KT_ASSERT_EQ(r->memory_limit_in_bytes, 2 * GiB);
    KT_ASSERT_EQ(r->oom_score_adj, 875); /* 1000 - 1000 * 1Gi / 8Gi */
    Runtime__V1__LinuxContainerSecurityContext *sc = cfg->linux->security_context;
    KT_ASSERT_EQ(sc->run_as_user->value, 1000);
    KT_ASSERT(!sc->privileged);
    KT_ASSERT(sc->n_masked_paths > 5 && sc->n_readonly_paths == 5);
    KT_ASSERT_EQ(sc->n_supplemental_groups, 2);
    KT_ASSERT_EQ(sc->seccomp->profile_type,
                 RUNTIME__V1__SECURITY_PROFILE__PROFILE_TYPE__Unconfined);
    cri_msg_free(cfg);

    /* the privileged sidecar: no masked paths; no resources: 2 shares, no quota */
    ctx.restart_count = 0;
    ctx.termination_log = NULL;
    KT_ASSERT_OK(kl_container_config(p, &p->containers[1], &ctx, &cfg, &err), err);
    KT_ASSERT(cfg->linux->security_context->privileged);
    KT_ASSERT_EQ(cfg->linux->security_context->n_masked_paths, 0);
    KT_ASSERT_EQ(cfg->linux->resources->cpu_shares, 2);
    KT_ASSERT_EQ(cfg->linux->resources->cpu_quota, 0);
    KT_ASSERT_EQ(cfg->linux->resources->memory_limit_in_bytes, 0);
    KT_ASSERT_EQ(cfg->linux->resources->oom_score_adj, 999); /* burstable, no request */
    KT_ASSERT_STREQ(cfg->log_path, "side/0.log");
    KT_ASSERT_EQ(cfg->n_mounts, 1);
    cri_msg_free(cfg);
    kl_pod_unref(p);
}

KT_TEST(sandbox, unsupported_and_non_root)
{
    kl_node_config nc = node();
    kl_container_ctx ctx = {.nc = &nc, .image_ref = "sha256:1"};
    Runtime__V1__ContainerConfig *cfg = NULL;
    kn_error *err = NULL;
    kl_pod *p = kt_pod_spec("  containers:\n  - name: a\n    image: x\n"
                            "    env: [{name: S, valueFrom: {configMapKeyRef: {name: c, key: "
                            "k}}}]\n");
    KT_ASSERT_FAILS(kl_container_config(p, &p->containers[0], &ctx, &cfg, &err));
    KT_ASSERT_EQ(kn_error_code(err), KN_ENOTSUP);
    KT_ASSERT_STREQ(kn_error_msg(err), "env S: configMapKeyRef is not supported yet");
    kn_error_free(&err);
    kl_pod_unref(p);

    p = kt_pod_spec("  securityContext: {runAsNonRoot: true}\n"
                    "  containers: [{name: a, image: x}, {name: b, image: x, securityContext: "
                    "{runAsUser: 0}}]\n");
    ctx.image_uid = (kl_opt_i64){true, 0};
    KT_ASSERT_FAILS(kl_container_config(p, &p->containers[0], &ctx, &cfg, &err));
    KT_ASSERT_STREQ(kn_error_msg(err), "container has runAsNonRoot and image will run as root "
                                       "(pod: \"web_ns1(uid-1)\", container: a)");
    kn_error_free(&err);
    KT_ASSERT_FAILS(kl_container_config(p, &p->containers[1], &ctx, &cfg, &err));
    KT_ASSERT_CONTAINS(kn_error_msg(err), "container's runAsUser breaks non-root policy");
    kn_error_free(&err);
    ctx.image_uid = (kl_opt_i64){false, 0};
    ctx.image_user = "nobody";
    KT_ASSERT_FAILS(kl_container_config(p, &p->containers[0], &ctx, &cfg, &err));
    KT_ASSERT_CONTAINS(kn_error_msg(err), "image has non-numeric user (nobody)");
    kn_error_free(&err);
    ctx.image_user = NULL;
    ctx.image_uid = (kl_opt_i64){true, 65534};
    KT_ASSERT_OK(kl_container_config(p, &p->containers[0], &ctx, &cfg, &err), err);
    KT_ASSERT_EQ(cfg->linux->security_context->run_as_user->value, 65534);
    cri_msg_free(cfg);
    kl_pod_unref(p);
}

KT_TEST(sandbox, expansion_as_upstream)
{
    kl_map env = {0};
    kl_kv items[] = {{"A", "a"}, {"EMPTY", ""}};
    env.items = items;
    env.n = 2;
    static const struct {
        const char *in, *want;
    } cases[] = {
        {"$(A)", "a"},    {"x$(A)y", "xay"}, {"$(EMPTY)!", "!"}, {"$$(A)", "$(A)"},
        {"$$$(A)", "$a"}, {"$(B)", "$(B)"},  {"$(A", "$(A"},     {"$A", "$A"},
        {"a$", "a$"},     {"$()", "$()"},    {"$(A)$(A)", "aa"}, {"", ""},
    };
    for (size_t i = 0; i < KN_ARRAY_SIZE(cases); i++) {
        cleanup_free char *got = kl_expand(cases[i].in, &env);
        KT_ASSERT_MSG(strcmp(got, cases[i].want) == 0, "%s -> %s, want %s", cases[i].in, got,
                      cases[i].want);
    }
}

KT_TEST(sandbox, resource_arithmetic)
{
    KT_ASSERT_EQ(kl_milli_cpu_to_shares(0), 2);
    KT_ASSERT_EQ(kl_milli_cpu_to_shares(1), 2);
    KT_ASSERT_EQ(kl_milli_cpu_to_shares(100), 102);
    KT_ASSERT_EQ(kl_milli_cpu_to_shares(1000), 1024);
    KT_ASSERT_EQ(kl_milli_cpu_to_shares(1000000), 262144);
    KT_ASSERT_EQ(kl_milli_cpu_to_quota(0, 100000), 0);
    KT_ASSERT_EQ(kl_milli_cpu_to_quota(5, 100000), 1000);
    KT_ASSERT_EQ(kl_milli_cpu_to_quota(250, 100000), 25000);
    KT_ASSERT_EQ(kl_milli_cpu_to_quota(2000, 50000), 100000);
    KT_ASSERT_EQ(kl_shares_to_weight(2), 1);
    KT_ASSERT_EQ(kl_shares_to_weight(1024), 39);
    KT_ASSERT_EQ(kl_shares_to_weight(262144), 10000);

    kl_node_config nc = node();
    kl_pod *p = kt_pod_spec("  containers: [{name: a, image: x}]\n");
    KT_ASSERT_EQ(kl_oom_score_adj(p, &p->containers[0], nc.memory_capacity), 1000);
    kl_pod_unref(p);
    p = kt_pod_spec("  containers: [{name: a, image: x, resources: {limits: {cpu: 1, memory: "
                    "1Gi}}}]\n");
    KT_ASSERT_EQ(kl_oom_score_adj(p, &p->containers[0], nc.memory_capacity), -997);
    kl_pod_unref(p);
    p = kt_pod_spec("  containers: [{name: a, image: x, resources: {requests: {memory: 16Gi}}}]\n");
    KT_ASSERT_EQ(kl_oom_score_adj(p, &p->containers[0], nc.memory_capacity), 3);
    kl_pod_unref(p);
    p = kt_pod("metadata: {name: p, uid: u, annotations: {kubernetes.io/config.source: file}}\n"
               "spec: {priorityClassName: system-node-critical, containers: [{name: a, image: "
               "x}]}\n");
    KT_ASSERT_EQ(kl_oom_score_adj(p, &p->containers[0], nc.memory_capacity), -997);
    kl_pod_unref(p);
}

KT_TEST(sandbox, pod_cgroup_limits_as_upstream)
{
    kl_node_config nc = node();
    kl_cgroup_limits l;
    /* guaranteed: shares, quota, period and memory from the sums */
    kl_pod *p = kt_pod_spec("  containers:\n"
                            "  - {name: a, image: x, resources: {limits: {cpu: 500m, memory: "
                            "128Mi}}}\n"
                            "  - {name: b, image: x, resources: {limits: {cpu: 250m, memory: "
                            "64Mi}}}\n");
    KT_ASSERT_EQ(p->qos, KL_QOS_GUARANTEED);
    kl_pod_cgroup_limits(p, &nc, &l);
    KT_ASSERT_EQ(l.cpu_shares, 768);
    KT_ASSERT_EQ(l.cpu_quota_us, 75000);
    KT_ASSERT_EQ(l.cpu_period_us, 100000);
    KT_ASSERT_EQ(l.memory_limit, 192 * MiB);
    cleanup_free char *name = kl_cgroup_pod_name(nc.cgroup_root, p->qos, p->uid);
    KT_ASSERT_STREQ(name, "/kt1-nodeA/kubepods/poduid-1");
    kl_pod_unref(p);

    /* burstable: quota only when every container has a cpu limit; an init
     * container larger than the app sum wins */
    p = kt_pod_spec("  initContainers:\n"
                    "  - {name: i, image: x, resources: {requests: {cpu: 2}, limits: {memory: "
                    "1Gi}}}\n"
                    "  containers:\n"
                    "  - {name: a, image: x, resources: {requests: {cpu: 100m}, limits: {cpu: 1, "
                    "memory: 256Mi}}}\n");
    KT_ASSERT_EQ(p->qos, KL_QOS_BURSTABLE);
    kl_pod_cgroup_limits(p, &nc, &l);
    KT_ASSERT_EQ(l.cpu_shares, 2048);
    KT_ASSERT_EQ(l.cpu_quota_us, 0); /* "i" has no cpu limit */
    KT_ASSERT_EQ(l.cpu_period_us, 0);
    KT_ASSERT_EQ(l.memory_limit, 1 * GiB);
    kl_pod_unref(p);

    p = kt_pod_spec("  containers: [{name: a, image: x}]\n");
    kl_pod_cgroup_limits(p, &nc, &l);
    KT_ASSERT_EQ(l.cpu_shares, 2);
    KT_ASSERT_EQ(l.memory_limit, 0);
    kl_pod_unref(p);
}

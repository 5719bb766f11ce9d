/* Tests for kubelet/podspec: decoding, API defaults, validation errors with
 * field paths, unsupported features, QoS classes, image references. */
#include <stdlib.h>
#include <string.h>

#include "kubelet/podspec.h"
#include "lib/cleanup.h"
#include "lib/json.h"
#include "lib/xalloc.h"
#include "test/runner/kt.h"
#include "test/unit/kubelet/helpers.h"

#define DIGEST "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static const char full_pod[] =
    "apiVersion: v1\n"
    "kind: Pod\n"
    "metadata:\n"
    "  name: web-0\n"
    "  namespace: prod\n"
    "  uid: 6f1b1c1e-0000-4000-8000-000000000001\n"
    "  labels: {app: web, tier: front}\n"
    "  annotations: {example.com/note: hello}\n"
    "  deletionTimestamp: \"2024-01-02T03:04:05Z\"\n"
    "  deletionGracePeriodSeconds: 7\n"
    "spec:\n"
    "  nodeName: node-a\n"
    "  serviceAccountName: builder\n"
    "  hostname: h1\n"
    "  subdomain: sub\n"
    "  terminationGracePeriodSeconds: 12\n"
    "  restartPolicy: OnFailure\n"
    "  dnsPolicy: None\n"
    "  dnsConfig:\n"
    "    nameservers: [1.1.1.1]\n"
    "    searches: [a.example.com]\n"
    "    options: [{name: ndots, value: \"2\"}, {name: edns0}]\n"
    "  securityContext: {runAsUser: 1000, runAsGroup: 2000, supplementalGroups: [5, 6]}\n"
    "  volumes:\n"
    "  - name: data\n"
    "    emptyDir: {}\n"
    "  - name: host\n"
    "    hostPath: {path: /srv, type: Directory}\n"
    "  initContainers:\n"
    "  - name: init\n"
    "    image: busybox:1.35\n"
    "    command: [sh, -c, 'true']\n"
    "  containers:\n"
    "  - name: app\n"
    "    image: registry.example.com:5000/team/app@" DIGEST "\n"
    "    command: [/app]\n"
    "    args: [--port, \"8080\"]\n"
    "    workingDir: /work\n"
    "    env:\n"
    "    - {name: A, value: x}\n"
    "    - {name: B}\n"
    "    - name: POD\n"
    "      valueFrom: {fieldRef: {fieldPath: metadata.name}}\n"
    "    - name: APP\n"
    "      valueFrom: {fieldRef: {apiVersion: v1, fieldPath: \"metadata.labels['app']\"}}\n"
    "    ports:\n"
    "    - {name: http, containerPort: 8080, hostPort: 80, protocol: TCP}\n"
    "    - {containerPort: 53, protocol: UDP}\n"
    "    resources:\n"
    "      requests: {cpu: 250m, memory: 64Mi}\n"
    "      limits: {cpu: 1, memory: 128Mi}\n"
    "    securityContext:\n"
    "      runAsUser: 7\n"
    "      privileged: false\n"
    "      readOnlyRootFilesystem: true\n"
    "      capabilities: {add: [NET_ADMIN], drop: [ALL]}\n"
    "    volumeMounts:\n"
    "    - {name: data, mountPath: /data}\n"
    "    - {name: host, mountPath: /srv, readOnly: true}\n"
    "    stdin: true\n"
    "    tty: true\n";

KT_TEST(podspec, decodes_a_full_pod)
{
    kl_pod *p = kt_pod(full_pod);
    KT_ASSERT_STREQ(p->name, "web-0");
    KT_ASSERT_STREQ(p->namespace_, "prod");
    KT_ASSERT_STREQ(p->uid, "6f1b1c1e-0000-4000-8000-000000000001");
    KT_ASSERT_STREQ(kl_map_get(&p->labels, "tier"), "front");
    KT_ASSERT_STREQ(kl_map_get(&p->annotations, "example.com/note"), "hello");
    KT_ASSERT_STREQ(p->deletion_timestamp, "2024-01-02T03:04:05Z");
    KT_ASSERT_EQ(p->deletion_ns, 1704164645LL * 1000000000LL);
    KT_ASSERT(p->deletion_grace_s.set && p->deletion_grace_s.v == 7);
    KT_ASSERT_EQ(kl_pod_grace_period(p), 7);
    KT_ASSERT_STREQ(p->node_name, "node-a");
    KT_ASSERT_STREQ(p->service_account_name, "builder");
    KT_ASSERT_STREQ(p->hostname, "h1");
    KT_ASSERT_STREQ(p->subdomain, "sub");
    KT_ASSERT_EQ(p->termination_grace_s, 12);
    KT_ASSERT_EQ(p->restart_policy, KL_RESTART_ON_FAILURE);
    KT_ASSERT_EQ(p->dns_policy, KL_DNS_NONE);
    KT_ASSERT(p->has_dns_config);
    KT_ASSERT_EQ(p->dns_config.n_options, 2);
    KT_ASSERT_STREQ(p->dns_config.options[0].value, "2");
    KT_ASSERT(p->dns_config.options[1].value == NULL);
    KT_ASSERT(p->sc.run_as_user.set && p->sc.run_as_user.v == 1000);
    KT_ASSERT_EQ(p->sc.n_supplemental_groups, 2);
    KT_ASSERT_EQ(p->n_volumes, 2);
    KT_ASSERT_EQ(p->volumes[0].kind, KL_VOL_EMPTY_DIR);
    KT_ASSERT_EQ(p->volumes[1].kind, KL_VOL_HOST_PATH);
    KT_ASSERT_STREQ(p->volumes[1].path, "/srv");
    KT_ASSERT(p->unsupported == NULL);
    KT_ASSERT_EQ(p->n_init_containers, 1);
    KT_ASSERT_EQ(p->init_containers[0].pull_policy, KL_PULL_IF_NOT_PRESENT);

    const kl_container *c = &p->containers[0];
    KT_ASSERT_EQ(c->pull_policy, KL_PULL_IF_NOT_PRESENT); /* digest, no tag */
    KT_ASSERT_EQ(c->command.n, 1);
    KT_ASSERT_STREQ(c->args.v[1], "8080");
    KT_ASSERT_STREQ(c->working_dir, "/work");
    KT_ASSERT_EQ(c->n_env, 4);
    KT_ASSERT_STREQ(c->env[1].value, "");
    KT_ASSERT_EQ(c->env[2].source, KL_ENV_FIELD_REF);
    KT_ASSERT_STREQ(c->env[3].field_path, "metadata.labels['app']");
    KT_ASSERT_EQ(c->n_ports, 2);
    KT_ASSERT_EQ(c->ports[0].host_port, 80);
    KT_ASSERT_EQ(c->ports[1].protocol, KL_PROTO_UDP);
    KT_ASSERT_EQ(kn_quantity_milli_value(kl_resource_get(&c->resources.requests, "cpu")), 250);
    KT_ASSERT_EQ(kn_quantity_value(kl_resource_get(&c->resources.limits, "memory")), 128 << 20);
    KT_ASSERT(c->sc.run_as_user.v == 7 && c->sc.read_only_root_filesystem.v);
    KT_ASSERT_STREQ(c->sc.cap_drop.v[0], "ALL");
    KT_ASSERT(c->mounts[1].read_only);
    KT_ASSERT(c->stdin_open && c->tty && !c->stdin_once);
    KT_ASSERT_STREQ(c->termination_message_path, "/dev/termination-log");
    KT_ASSERT(c->unsupported == NULL);
    KT_ASSERT_EQ(p->qos, KL_QOS_BURSTABLE);
    KT_ASSERT(p->raw && kl_pod_status_copy(p) == NULL);
    kl_pod_unref(p);
}

KT_TEST(podspec, applies_api_defaults)
{
    kl_pod *p = kt_pod("metadata: {name: p, uid: u}\n"
                       "spec:\n"
                       "  containers:\n"
                       "  - {name: a, image: busybox, ports: [{containerPort: 80}]}\n"
                       "  - {name: b, image: 'busybox:latest'}\n"
                       "  - {name: c, image: 'localhost:5000/busybox'}\n"
                       "  - name: d\n"
                       "    image: busybox:1.35\n"
                       "    resources: {limits: {cpu: 500m, memory: 1Gi}}\n");
    KT_ASSERT_STREQ(p->namespace_, "default");
    KT_ASSERT_EQ(p->restart_policy, KL_RESTART_ALWAYS);
    KT_ASSERT_EQ(p->dns_policy, KL_DNS_CLUSTER_FIRST);
    KT_ASSERT_EQ(p->termination_grace_s, 30);
    KT_ASSERT_EQ(kl_pod_grace_period(p), 30);
    KT_ASSERT_EQ(p->containers[0].pull_policy, KL_PULL_ALWAYS);
    KT_ASSERT_EQ(p->containers[1].pull_policy, KL_PULL_ALWAYS);
    KT_ASSERT_EQ(p->containers[2].pull_policy, KL_PULL_ALWAYS);
    KT_ASSERT_EQ(p->containers[3].pull_policy, KL_PULL_IF_NOT_PRESENT);
    KT_ASSERT_EQ(p->containers[0].ports[0].protocol, KL_PROTO_TCP);
    KT_ASSERT_EQ(p->containers[0].ports[0].host_port, 0);
    /* requests default to limits */
    const kl_resources *r = &p->containers[3].resources;
    KT_ASSERT_EQ(r->requests.n, 2);
    KT_ASSERT_EQ(kn_quantity_milli_value(kl_resource_get(&r->requests, "cpu")), 500);
    KT_ASSERT_EQ(kl_pod_is_static(p), false);
    kl_pod_unref(p);
}

KT_TEST(podspec, host_network_defaults_host_ports)
{
    kl_pod *p =
        kt_pod_spec("  hostNetwork: true\n"
                    "  terminationGracePeriodSeconds: -5\n"
                    "  containers: [{name: a, image: x, ports: [{containerPort: 8080}]}]\n");
    KT_ASSERT(p->host_network);
    KT_ASSERT_EQ(p->containers[0].ports[0].host_port, 8080);
    KT_ASSERT_EQ(p->termination_grace_s, 1);
    kl_pod_unref(p);
    cleanup_free char *msg =
        kt_pod_error("metadata: {name: p, uid: u}\nspec:\n  hostNetwork: true\n"
                     "  containers: [{name: a, image: x, ports: [{containerPort: 80, hostPort: "
                     "81}]}]\n");
    KT_ASSERT_CONTAINS(msg, "spec.containers[0].ports[0].containerPort: Invalid value: 80: must "
                            "match `hostPort` when `hostNetwork` is true");
}

typedef struct bad_case {
    const char *spec;
    const char *want;
} bad_case;

static const bad_case bad_specs[] = {
    {"  containers: [{name: a, image: x}, {name: b}]\n",
     "spec.containers[1].image: Required value"},
    {"  containers: []\n", "spec.containers: Required value"},
    {"  restartPolicy: Sometimes\n  containers: [{name: a, image: x}]\n",
     "spec.restartPolicy: Unsupported value: \"Sometimes\": supported values: \"Always\", "
     "\"OnFailure\", \"Never\""},
    {"  dnsPolicy: None\n  containers: [{name: a, image: x}]\n",
     "spec.dnsConfig: Required value: must provide `dnsConfig` when `dnsPolicy` is None"},
    {"  dnsPolicy: None\n  dnsConfig: {searches: [a.b]}\n  containers: [{name: a, image: x}]\n",
     "spec.dnsConfig.nameservers: Required value: must provide at least one DNS nameserver"},
    {"  dnsConfig: {nameservers: [not-an-ip]}\n  containers: [{name: a, image: x}]\n",
     "spec.dnsConfig.nameservers[0]: Invalid value: \"not-an-ip\": must be valid IP address"},
    {"  containers: [{name: App, image: x}]\n",
     "spec.containers[0].name: Invalid value: \"App\": a lowercase RFC 1123 label"},
    {"  initContainers: [{name: a, image: x}]\n  containers: [{name: a, image: x}]\n",
     "spec.containers[0].name: Duplicate value: \"a\""},
    {"  containers: [{name: a, image: x, imagePullPolicy: Sometimes}]\n",
     "spec.containers[0].imagePullPolicy: Unsupported value: \"Sometimes\""},
    {"  containers: [{name: a, image: ' x'}]\n",
     "spec.containers[0].image: Invalid value: \" x\": must not have leading or trailing "
     "whitespace"},
    {"  containers: [{name: a, image: x, command: sh}]\n",
     "spec.containers[0].command: expected array, got string"},
    {"  containers: [{name: a, image: x, env: [{name: 1X, value: z}]}]\n",
     "spec.containers[0].env[0].name: Invalid value: \"1X\": a valid environment variable name"},
    {"  containers: [{name: a, image: x, env: [{value: z}]}]\n",
     "spec.containers[0].env[0].name: Required value"},
    {"  containers: [{name: a, image: x, env: [{name: A, value: z, valueFrom: {fieldRef: "
     "{fieldPath: metadata.name}}}]}]\n",
     "spec.containers[0].env[0].valueFrom: Invalid value: \"\": may not be specified when "
     "`value` is not empty"},
    {"  containers: [{name: a, image: x, env: [{name: A, valueFrom: {fieldRef: {fieldPath: "
     "spec.foo}}}]}]\n",
     "spec.containers[0].env[0].valueFrom.fieldRef.fieldPath: Unsupported value: \"spec.foo\""},
    {"  containers: [{name: a, image: x, ports: [{containerPort: 70000}]}]\n",
     "spec.containers[0].ports[0].containerPort: Invalid value: 70000: must be between 1 and "
     "65535, inclusive"},
    {"  containers: [{name: a, image: x, ports: [{hostPort: 80}]}]\n",
     "spec.containers[0].ports[0].containerPort: Required value"},
    {"  containers: [{name: a, image: x, ports: [{containerPort: 80, protocol: ICMP}]}]\n",
     "spec.containers[0].ports[0].protocol: Unsupported value: \"ICMP\""},
    {"  containers: [{name: a, image: x, resources: {requests: {cpu: 2}, limits: {cpu: 1}}}]\n",
     "spec.containers[0].resources.requests[cpu]: Invalid value: \"2\": must be less than or "
     "equal to cpu limit of 1"},
    {"  containers: [{name: a, image: x, resources: {requests: {memory: 12Q}}}]\n",
     "spec.containers[0].resources.requests[memory]: Invalid value: \"12Q\""},
    {"  containers: [{name: a, image: x, resources: {limits: {cpu: \"-1\"}}}]\n",
     "spec.containers[0].resources.limits[cpu]: Invalid value: \"-1\": must be greater than or "
     "equal to 0"},
    {"  containers: [{name: a, image: x, volumeMounts: [{name: data, mountPath: /d}]}]\n",
     "spec.containers[0].volumeMounts[0].name: Not found: \"data\""},
    {"  volumes: [{name: v, emptyDir: {}}]\n"
     "  containers: [{name: a, image: x, volumeMounts: [{name: v}]}]\n",
     "spec.containers[0].volumeMounts[0].mountPath: Required value"},
    {"  volumes: [{name: v, emptyDir: {}, hostPath: {path: /x}}]\n"
     "  containers: [{name: a, image: x}]\n",
     "spec.volumes[0].emptyDir: Forbidden: may not specify more than 1 volume type"},
    {"  volumes: [{name: v}]\n  containers: [{name: a, image: x}]\n",
     "spec.volumes[0]: Required value: must specify a volume type"},
    {"  volumes: [{name: v, emptyDir: {}}, {name: v, emptyDir: {}}]\n"
     "  containers: [{name: a, image: x}]\n",
     "spec.volumes[1].name: Duplicate value: \"v\""},
    {"  volumes: [{name: v, hostPath: {}}]\n  containers: [{name: a, image: x}]\n",
     "spec.volumes[0].hostPath.path: Required value"},
    {"  securityContext: {runAsUser: -1}\n  containers: [{name: a, image: x}]\n",
     "spec.securityContext.runAsUser: Invalid value: -1: must be between 0 and 2147483647"},
    {"  containers: [{name: a, image: x, securityContext: {runAsGroup: 1.5}}]\n",
     "spec.containers[0].securityContext.runAsGroup: expected integer, got 1.5"},
    {"  hostname: Bad_Name\n  containers: [{name: a, image: x}]\n",
     "spec.hostname: Invalid value: \"Bad_Name\""},
    {"  containers: [{name: a, image: x, restartPolicy: Always}]\n",
     "spec.containers[0].restartPolicy: Forbidden: may not be set for non-init containers"},
};

KT_TEST(podspec, invalid_specs_name_the_field)
{
    for (size_t i = 0; i < KN_ARRAY_SIZE(bad_specs); i++) {
        cleanup_free char *doc =
            xasprintf("metadata: {name: p, uid: u}\nspec:\n%s", bad_specs[i].spec);
        cleanup_free char *msg = kt_pod_error(doc);
        KT_ASSERT_MSG(strstr(msg, bad_specs[i].want), "case %zu: got \"%s\", want \"%s\"", i, msg,
                      bad_specs[i].want);
    }
}

KT_TEST(podspec, invalid_metadata)
{
    static const bad_case cases[] = {
        {"kind: Deployment\nmetadata: {name: p, uid: u}\nspec: {containers: [{name: a, image: "
         "x}]}\n",
         "kind: Unsupported value: \"Deployment\": supported values: \"Pod\""},
        {"metadata: {uid: u}\nspec: {containers: [{name: a, image: x}]}\n",
         "metadata.name: Required value"},
        {"metadata: {name: p}\nspec: {containers: [{name: a, image: x}]}\n",
         "metadata.uid: Required value"},
        {"metadata: {name: Web_1, uid: u}\nspec: {containers: [{name: a, image: x}]}\n",
         "metadata.name: Invalid value: \"Web_1\": a lowercase RFC 1123 subdomain"},
        {"metadata: {name: p, namespace: a.b, uid: u}\nspec: {containers: [{name: a, image: "
         "x}]}\n",
         "metadata.namespace: Invalid value: \"a.b\""},
        {"metadata: {name: p, uid: u, labels: {app: 'a b'}}\nspec: {containers: [{name: a, "
         "image: x}]}\n",
         "metadata.labels: Invalid value: \"a b\""},
        {"metadata: {name: p, uid: u, deletionTimestamp: yesterday}\nspec: {containers: [{name: "
         "a, image: x}]}\n",
         "metadata.deletionTimestamp: Invalid value: \"yesterday\""},
        {"metadata: {name: p, uid: u}\n", "spec.containers: Required value"},
        {"metadata: [1]\n", "metadata: expected object, got array"},
        {"metadata: {name: p, uid: u, labels: {a: 1}}\nspec: {containers: [{name: a, image: x}]}\n",
         "metadata.labels[a]: expected string, got number"},
    };
    for (size_t i = 0; i < KN_ARRAY_SIZE(cases); i++) {
        cleanup_free char *msg = kt_pod_error(cases[i].spec);
        KT_ASSERT_MSG(strstr(msg, cases[i].want), "case %zu: got \"%s\", want \"%s\"", i, msg,
                      cases[i].want);
    }
}

KT_TEST(podspec, unsupported_features_are_recorded_not_fatal)
{
    kl_pod *p = kt_pod_spec("  volumes: [{name: cfg, configMap: {name: c}}]\n"
                            "  containers:\n"
                            "  - name: a\n"
                            "    image: x\n"
                            "    env: [{name: PW, valueFrom: {secretKeyRef: {name: s, key: k}}}]\n"
                            "  - name: b\n"
                            "    image: x\n"
                            "    volumeMounts: [{name: cfg, mountPath: /c, subPath: f}]\n");
    KT_ASSERT_STREQ(p->unsupported, "volume cfg: configMap volumes are not supported yet");
    KT_ASSERT_EQ(p->volumes[0].kind, KL_VOL_UNSUPPORTED);
    KT_ASSERT_STREQ(p->containers[0].unsupported, "env PW: secretKeyRef is not supported yet");
    KT_ASSERT_EQ(p->containers[0].env[0].source, KL_ENV_UNSUPPORTED);
    KT_ASSERT_STREQ(p->containers[1].unsupported, "volumeMount cfg: subPath is not supported yet");
    kl_pod_unref(p);

    p = kt_pod_spec("  initContainers: [{name: side, image: x, restartPolicy: Always}]\n"
                    "  containers: [{name: a, image: x}]\n");
    KT_ASSERT_CONTAINS(p->init_containers[0].unsupported, "restartable init containers");
    kl_pod_unref(p);
}

/* ---- QoS ------------------------------------------------------------------------------------- */

typedef struct qos_case {
    const char *containers;
    kl_qos_class want;
} qos_case;

static const qos_case qos_cases[] = {
    {"  - {name: a, image: x}\n", KL_QOS_BEST_EFFORT},
    {"  - {name: a, image: x, resources: {requests: {cpu: 0, memory: 0}}}\n", KL_QOS_BEST_EFFORT},
    {"  - {name: a, image: x, resources: {requests: {ephemeral-storage: 1Gi}}}\n",
     KL_QOS_BEST_EFFORT},
    {"  - {name: a, image: x, resources: {limits: {cpu: 100m, memory: 100Mi}}}\n",
     KL_QOS_GUARANTEED},
    {"  - {name: a, image: x, resources: {limits: {cpu: 100m, memory: 100Mi}}}\n"
     "  - {name: b, image: x, resources: {requests: {cpu: 1, memory: 1Gi}, limits: {cpu: 1, "
     "memory: 1Gi}}}\n",
     KL_QOS_GUARANTEED},
    {"  - {name: a, image: x, resources: {limits: {cpu: 100m, memory: 100Mi, "
     "ephemeral-storage: 1Gi}, requests: {ephemeral-storage: 1Mi}}}\n",
     KL_QOS_GUARANTEED},
    {"  - {name: a, image: x, resources: {limits: {cpu: 100m}}}\n", KL_QOS_BURSTABLE},
    {"  - {name: a, image: x, resources: {requests: {cpu: 50m, memory: 100Mi}, limits: {cpu: "
     "100m, memory: 100Mi}}}\n",
     KL_QOS_BURSTABLE},
    {"  - {name: a, image: x, resources: {limits: {cpu: 100m, memory: 100Mi}}}\n"
     "  - {name: b, image: x}\n",
     KL_QOS_BURSTABLE},
    {"  - {name: a, image: x, resources: {requests: {memory: 1Mi}}}\n", KL_QOS_BURSTABLE},
};

KT_TEST(podspec, qos_classes_as_upstream)
{
    for (size_t i = 0; i < KN_ARRAY_SIZE(qos_cases); i++) {
        cleanup_free char *spec = xasprintf("  containers:\n%s", qos_cases[i].containers);
        kl_pod *p = kt_pod_spec(spec);
        KT_ASSERT_MSG(p->qos == qos_cases[i].want, "case %zu: %s, want %s", i, kl_qos_name(p->qos),
                      kl_qos_name(qos_cases[i].want));
        kl_pod_unref(p);
    }
    /* init containers count too: a guaranteed app container with a
     * besteffort init container is burstable */
    kl_pod *p =
        kt_pod_spec("  initContainers: [{name: i, image: x}]\n"
                    "  containers:\n"
                    "  - {name: a, image: x, resources: {limits: {cpu: 1, memory: 1Gi}}}\n");
    KT_ASSERT_EQ(p->qos, KL_QOS_BURSTABLE);
    KT_ASSERT_STREQ(kl_qos_name(p->qos), "Burstable");
    kl_pod_unref(p);
}

/* ---- images, hashes, timestamps --------------------------------------------------------- */

KT_TEST(podspec, image_references)
{
    char tag[130];
    bool digest = true;
    KT_ASSERT(kl_image_parse("busybox", tag, sizeof(tag), &digest));
    KT_ASSERT_STREQ(tag, "latest");
    KT_ASSERT(!digest);
    KT_ASSERT(kl_image_parse("localhost:5000/a/b_c:v1.2-rc", tag, sizeof(tag), &digest));
    KT_ASSERT_STREQ(tag, "v1.2-rc");
    KT_ASSERT(kl_image_parse("a/b@" DIGEST, tag, sizeof(tag), &digest));
    KT_ASSERT_STREQ(tag, "");
    KT_ASSERT(digest);
    KT_ASSERT(kl_image_parse("a/b:t@" DIGEST, tag, sizeof(tag), &digest));
    KT_ASSERT_STREQ(tag, "t");
    static const char *const bad[] = {"",   "Busybox", "a//b", "a:", "a@sha256:12",
                                      "-a", "a/b:-x",  "a b"};
    for (size_t i = 0; i < KN_ARRAY_SIZE(bad); i++)
        KT_ASSERT_MSG(!kl_image_parse(bad[i], NULL, 0, NULL), "%s accepted", bad[i]);
    cleanup_free char *a = kl_image_with_default_tag("busybox");
    cleanup_free char *b = kl_image_with_default_tag("localhost:5000/busybox");
    cleanup_free char *c = kl_image_with_default_tag("busybox:1.35");
    cleanup_free char *d = kl_image_with_default_tag("busybox@" DIGEST);
    KT_ASSERT_STREQ(a, "busybox:latest");
    KT_ASSERT_STREQ(b, "localhost:5000/busybox:latest");
    KT_ASSERT_STREQ(c, "busybox:1.35");
    KT_ASSERT_STREQ(d, "busybox@" DIGEST);
    KT_ASSERT(kl_image_with_default_tag("Bad") == NULL);
}

KT_TEST(podspec, container_hash_follows_the_spec)
{
    kl_pod *a = kt_pod_spec("  containers: [{name: a, image: 'x:1', command: [sh], resources: "
                            "{limits: {cpu: 1}}}]\n");
    kl_pod *b = kt_pod_spec("  containers: [{command: [sh], image: 'x:1', name: a, resources: "
                            "{limits: {cpu: 2}}}]\n");
    kl_pod *c = kt_pod_spec("  containers: [{name: a, image: 'x:2', command: [sh]}]\n");
    kl_pod *d = kt_pod_spec("  containers: [{name: a, image: 'x:1', command: [s, h]}]\n");
    /* key order and resources do not matter; image and command do */
    KT_ASSERT_EQ(a->containers[0].hash, b->containers[0].hash);
    KT_ASSERT_NE(a->containers[0].hash, c->containers[0].hash);
    KT_ASSERT_NE(a->containers[0].hash, d->containers[0].hash);
    kl_pod_unref(a);
    kl_pod_unref(b);
    kl_pod_unref(c);
    kl_pod_unref(d);
}

KT_TEST(podspec, rfc3339)
{
    int64_t ns = 0;
    KT_ASSERT(kl_parse_rfc3339("1970-01-01T00:00:01Z", &ns));
    KT_ASSERT_EQ(ns, 1000000000LL);
    KT_ASSERT(kl_parse_rfc3339("1970-01-01T01:00:00.5+01:00", &ns));
    KT_ASSERT_EQ(ns, 500000000LL);
    KT_ASSERT(kl_parse_rfc3339("2024-02-29T23:59:59.123456789123Z", &ns));
    KT_ASSERT_EQ(ns % 1000000000LL, 123456789LL);
    static const char *const bad[] = {"",
                                      "2024-01-01",
                                      "2024-01-01T00:00:00",
                                      "2024-13-01T00:00:00Z",
                                      "2024-01-01T00:00:00.Z",
                                      "2024-01-01T00:00:00Zx"};
    for (size_t i = 0; i < KN_ARRAY_SIZE(bad); i++)
        KT_ASSERT_MSG(!kl_parse_rfc3339(bad[i], &ns), "%s accepted", bad[i]);
}

KT_TEST(podspec, refcount_and_static_predicates)
{
    kl_pod *p =
        kt_pod("metadata:\n  name: s\n  uid: u\n  annotations: {kubernetes.io/config.source: "
               "file}\nspec:\n  priority: 5\n  containers: [{name: a, image: x}]\n"
               "status: {phase: Running}\n");
    KT_ASSERT(kl_pod_is_static(p));
    KT_ASSERT(kl_pod_is_critical(p));
    cleanup_cjson cJSON *st = kl_pod_status_copy(p);
    KT_ASSERT_STREQ(cJSON_GetStringValue(cJSON_GetObjectItem(st, "phase")), "Running");
    kl_pod *q = kl_pod_ref(p);
    KT_ASSERT(q == p);
    kl_pod_unref(p);
    KT_ASSERT_STREQ(q->name, "s");
    kl_pod_unref(q);
    kl_pod_unref(NULL);
}

KT_TEST(podspec, raw_object_round_trip_and_set_annotation)
{
    kl_pod *p = kt_pod("metadata:\n  name: s\n  uid: u\n  labels: {app: x}\nspec:\n"
                       "  containers: [{name: a, image: x, args: [\"1\", \"\\u00e9\"]}]\n");
    cleanup_cjson cJSON *doc = kl_pod_object(p);
    KT_ASSERT_STREQ(
        cJSON_GetStringValue(cJSON_GetObjectItem(
            cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "metadata"), "labels"), "app")),
        "x");
    KT_ASSERT(kl_pod_status_copy(p) == NULL);
    /* no annotations object yet: created; a second set replaces the value */
    kl_pod_set_annotation(p, "k", "v1");
    kl_pod_set_annotation(p, "k", "v2");
    KT_ASSERT_STREQ(kl_map_get(&p->annotations, "k"), "v2");
    cleanup_cjson cJSON *again = kl_pod_object(p);
    const cJSON *ann = cJSON_GetObjectItem(cJSON_GetObjectItem(again, "metadata"), "annotations");
    KT_ASSERT_EQ(cJSON_GetArraySize(ann), 1);
    KT_ASSERT_STREQ(cJSON_GetStringValue(cJSON_GetObjectItem(ann, "k")), "v2");
    /* the rest of the object is unchanged */
    cJSON_DeleteItemFromObject(cJSON_GetObjectItem(again, "metadata"), "annotations");
    KT_ASSERT(kn_json_equal(doc, again));
    kl_pod_unref(p);
}

static void count_release(void *owner)
{
    (*(int *)owner)++;
}

KT_TEST(podspec, decode_text_keeps_the_owners_text)
{
    static const char text[] =
        "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"a\","
        "\"uid\":\"u1\"},\"spec\":{\"containers\":[{\"name\":\"c\","
        "\"image\":\"busybox\"}]},\"status\":{\"phase\":\"Pending\"}}";
    cleanup_cjson cJSON *doc = cJSON_Parse(text);
    int released = 0;
    kl_text_ref ref = {text, &released, count_release};
    kl_pod *p = NULL;
    kn_error *err = NULL;
    KT_ASSERT_OK(kl_pod_decode_text(doc, &ref, &p, &err), err);
    KT_ASSERT(p->raw == text); /* no copy */
    cleanup_cjson cJSON *st = kl_pod_status_copy(p);
    KT_ASSERT_STREQ(cJSON_GetObjectItem(st, "phase")->valuestring, "Pending");
    kl_pod_set_annotation(p, "k", "v"); /* a changed pod owns its new text */
    KT_ASSERT_EQ(released, 1);
    KT_ASSERT(p->raw != text && strstr(p->raw, "\"k\":\"v\""));
    kl_pod_unref(p);
    KT_ASSERT_EQ(released, 1);

    cleanup_cjson cJSON *bad = cJSON_Parse("{\"kind\":\"Pod\",\"metadata\":{\"name\":\"a\"}}");
    p = NULL;
    KT_ASSERT(kl_pod_decode_text(bad, &ref, &p, &err) < 0);
    kn_error_free(&err);
    KT_ASSERT_EQ(released, 2); /* released on failure too */
    kl_pod *q = NULL;
    KT_ASSERT_OK(kl_pod_decode_text(doc, &ref, &q, &err), err);
    kl_pod_unref(q);
    KT_ASSERT_EQ(released, 3);
}

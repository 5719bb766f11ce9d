/* test-node.c - the Node object the kubelet registers and its status. */
#include <string.h>

#include "kubelet/node.h"
#include "lib/cleanup.h"
#include "lib/json.h"
#include "test/runner/kt.h"

static kl_host_info host(void)
{
    kl_host_info h = {
        .cpu_milli = 4000, .memory_bytes = INT64_C(8) << 30, .storage_bytes = INT64_C(100) << 30};
    strcpy(h.kernel, "6.1.0");
    strcpy(h.os_image, "Debian GNU/Linux 12 (bookworm)");
    strcpy(h.arch, "amd64");
    return h;
}

static const char *str_at(const cJSON *doc, const char *path)
{
    const char *s = NULL;
    if (kn_json_get_string_opt(doc, path, NULL, &s, NULL) < 0)
        return NULL;
    return s;
}

static const cJSON *condition(const cJSON *status, const char *type)
{
    const cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(status, "conditions"))
    {
        if (strcmp(str_at(c, "type"), type) == 0)
            return c;
    }
    return NULL;
}

KT_TEST(node, reserved_parse)
{
    kl_reserved r = {0};
    cleanup_error kn_error *err = NULL;
    KT_ASSERT_OK(kl_reserved_parse("cpu=100m,memory=256Mi", &r, &err), err);
    KT_ASSERT_OK(kl_reserved_parse("cpu=1,ephemeral-storage=1Gi,pid=100", &r, &err), err);
    KT_ASSERT_EQ(r.cpu_milli, 1100);
    KT_ASSERT_EQ(r.memory, 256 << 20);
    KT_ASSERT_EQ(r.storage, INT64_C(1) << 30);
    KT_ASSERT_EQ(r.pids, 100);
    KT_ASSERT_OK(kl_reserved_parse("", &r, &err), err);
    KT_ASSERT_FAILS(kl_reserved_parse("gpu=1", &r, &err));
    KT_ASSERT_CONTAINS(kn_error_msg(err), "gpu");
    kn_error_free(&err);
    KT_ASSERT_FAILS(kl_reserved_parse("cpu", &r, &err));
    kn_error_free(&err);
    KT_ASSERT_FAILS(kl_reserved_parse("memory=lots", &r, &err));
    KT_ASSERT_CONTAINS(kn_error_msg(err), "memory");
}

KT_TEST(node, taints_parse)
{
    cleanup_cjson cJSON *t = NULL;
    cleanup_error kn_error *err = NULL;
    KT_ASSERT_OK(kl_node_taints_parse("dedicated=gpu:NoSchedule,spot:PreferNoSchedule", &t, &err),
                 err);
    KT_ASSERT_EQ(cJSON_GetArraySize(t), 2);
    cJSON *a = cJSON_GetArrayItem(t, 0), *b = cJSON_GetArrayItem(t, 1);
    KT_ASSERT_STREQ(str_at(a, "key"), "dedicated");
    KT_ASSERT_STREQ(str_at(a, "value"), "gpu");
    KT_ASSERT_STREQ(str_at(a, "effect"), "NoSchedule");
    KT_ASSERT_STREQ(str_at(b, "key"), "spot");
    KT_ASSERT(str_at(b, "value") == NULL);
    cleanup_cjson cJSON *bad = NULL;
    KT_ASSERT_FAILS(kl_node_taints_parse("a=b:Never", &bad, &err));
    KT_ASSERT_CONTAINS(kn_error_msg(err), "Never");
    kn_error_free(&err);
    KT_ASSERT_FAILS(kl_node_taints_parse("a=b", &bad, &err));
}

KT_TEST(node, build_registration_object)
{
    kl_node_config cfg = {.node_name = "n1", .node_ips = {"10.250.0.1", NULL}};
    kl_node_opts o = {.config = &cfg,
                      .node_labels = "zone=a,kubernetes.io/hostname=ignored-later",
                      .taints = "t=v:NoExecute",
                      .kube_reserved = "cpu=500m,memory=1Gi",
                      .system_reserved = "ephemeral-storage=10Gi"};
    kl_host_info h = host();
    kl_node_facts f = {.runtime_version = "containerd://1.6.20",
                       .ready = false,
                       .not_ready_message = "container runtime network not ready",
                       .now = "2026-01-01T00:00:00Z"};
    cleanup_cjson cJSON *n = NULL;
    cleanup_error kn_error *err = NULL;
    KT_ASSERT_OK(kl_node_build(&o, &h, &f, &n, &err), err);
    KT_ASSERT_STREQ(str_at(n, "metadata.name"), "n1");
    const cJSON *labels =
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(n, "metadata"), "labels");
    KT_ASSERT_STREQ(cJSON_GetObjectItemCaseSensitive(labels, "kubernetes.io/os")->valuestring,
                    "linux");
    KT_ASSERT_STREQ(cJSON_GetObjectItemCaseSensitive(labels, "kubernetes.io/arch")->valuestring,
                    "amd64");
    KT_ASSERT_STREQ(cJSON_GetObjectItemCaseSensitive(labels, "zone")->valuestring, "a");
    KT_ASSERT_STREQ(cJSON_GetObjectItemCaseSensitive(labels, "beta.kubernetes.io/os")->valuestring,
                    "linux");
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(n, "status");
    KT_ASSERT_STREQ(str_at(st, "capacity.cpu"), "4");
    KT_ASSERT_STREQ(str_at(st, "allocatable.cpu"), "3500m");
    KT_ASSERT_STREQ(str_at(st, "capacity.memory"), "8388608Ki");
    KT_ASSERT_STREQ(str_at(st, "allocatable.memory"), "7340032Ki");
    KT_ASSERT_STREQ(str_at(st, "allocatable.ephemeral-storage"), "94371840Ki");
    KT_ASSERT_STREQ(str_at(st, "capacity.pods"), "110");
    KT_ASSERT_STREQ(str_at(st, "nodeInfo.containerRuntimeVersion"), "containerd://1.6.20");
    KT_ASSERT_STREQ(str_at(st, "nodeInfo.kubeletVersion"), "v1.30.0-knode");
    KT_ASSERT_STREQ(str_at(st, "nodeInfo.osImage"), "Debian GNU/Linux 12 (bookworm)");
    const cJSON *addr = cJSON_GetObjectItemCaseSensitive(st, "addresses");
    KT_ASSERT_EQ(cJSON_GetArraySize(addr), 2);
    KT_ASSERT_STREQ(str_at(cJSON_GetArrayItem(addr, 0), "type"), "InternalIP");
    KT_ASSERT_STREQ(str_at(cJSON_GetArrayItem(addr, 0), "address"), "10.250.0.1");
    KT_ASSERT_STREQ(str_at(cJSON_GetArrayItem(addr, 1), "type"), "Hostname");
    const cJSON *ready = condition(st, "Ready");
    KT_ASSERT_STREQ(str_at(ready, "status"), "False");
    KT_ASSERT_STREQ(str_at(ready, "reason"), "KubeletNotReady");
    KT_ASSERT_STREQ(str_at(ready, "message"), "container runtime network not ready");
    KT_ASSERT_STREQ(str_at(condition(st, "MemoryPressure"), "status"), "False");
    KT_ASSERT_STREQ(str_at(condition(st, "DiskPressure"), "status"), "False");
    KT_ASSERT_STREQ(str_at(condition(st, "PIDPressure"), "status"), "False");
    const cJSON *taints =
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(n, "spec"), "taints");
    KT_ASSERT_EQ(cJSON_GetArraySize(taints), 1);
    KT_ASSERT_STREQ(str_at(cJSON_GetArrayItem(taints, 0), "effect"), "NoExecute");
}

KT_TEST(node, condition_transition_times)
{
    kl_node_config cfg = {.node_name = "n1"};
    kl_node_opts o = {.config = &cfg, .max_pods = 20};
    kl_host_info h = host();
    kl_node_facts f = {.ready = false, .not_ready_message = "down", .now = "T1"};
    cleanup_cjson cJSON *s1 = kl_node_status_build(&o, &h, &f, NULL);
    KT_ASSERT_STREQ(str_at(s1, "capacity.pods"), "20");
    const cJSON *prev = cJSON_GetObjectItemCaseSensitive(s1, "conditions");
    f = (kl_node_facts){.ready = true, .now = "T2"};
    cleanup_cjson cJSON *s2 = kl_node_status_build(&o, &h, &f, prev);
    const cJSON *r2 = condition(s2, "Ready");
    KT_ASSERT_STREQ(str_at(r2, "status"), "True");
    KT_ASSERT_STREQ(str_at(r2, "reason"), "KubeletReady");
    KT_ASSERT_STREQ(str_at(r2, "lastTransitionTime"), "T2");
    KT_ASSERT_STREQ(str_at(r2, "lastHeartbeatTime"), "T2");
    /* unchanged pressure conditions keep their first transition */
    KT_ASSERT_STREQ(str_at(condition(s2, "DiskPressure"), "lastTransitionTime"), "T1");
    f.now = "T3";
    cleanup_cjson cJSON *s3 =
        kl_node_status_build(&o, &h, &f, cJSON_GetObjectItemCaseSensitive(s2, "conditions"));
    KT_ASSERT_STREQ(str_at(condition(s3, "Ready"), "lastTransitionTime"), "T2");
    KT_ASSERT_STREQ(str_at(condition(s3, "Ready"), "lastHeartbeatTime"), "T3");
}

KT_TEST(node, host_info_reads_the_host)
{
    kl_host_info h;
    kl_host_info_read("/nonexistent-dir", &h);
    KT_ASSERT(h.cpu_milli >= 1000);
    KT_ASSERT(h.memory_bytes > 0);
    KT_ASSERT(h.storage_bytes > 0);
    KT_ASSERT(h.kernel[0] != '\0');
    KT_ASSERT(h.arch[0] != '\0');
    KT_ASSERT(h.os_image[0] != '\0');
}

KT_TEST(node, status_posted_when_changed_or_due)
{
    kl_node_config cfg = {.node_name = "n1"};
    kl_node_opts o = {.config = &cfg};
    kl_host_info h = host();
    kl_node_facts f = {.ready = true, .now = "T1"};
    cleanup_cjson cJSON *s1 = kl_node_status_build(&o, &h, &f, NULL);
    f.now = "T2"; /* only heartbeats move */
    cleanup_cjson cJSON *s2 =
        kl_node_status_build(&o, &h, &f, cJSON_GetObjectItemCaseSensitive(s1, "conditions"));
    cleanup_free char *sig1 = kl_node_status_signature(s1);
    cleanup_free char *sig2 = kl_node_status_signature(s2);
    KT_ASSERT_STREQ(sig1, sig2);
    const int64_t min5 = INT64_C(300000000000);
    KT_ASSERT(kl_node_status_due(NULL, sig1, 0, 1, min5));
    KT_ASSERT(!kl_node_status_due(sig1, sig2, 0, 10000000000, min5));
    KT_ASSERT(kl_node_status_due(sig1, sig2, 0, min5, min5));
    f = (kl_node_facts){.ready = false, .not_ready_message = "down", .now = "T3"};
    cleanup_cjson cJSON *s3 =
        kl_node_status_build(&o, &h, &f, cJSON_GetObjectItemCaseSensitive(s2, "conditions"));
    cleanup_free char *sig3 = kl_node_status_signature(s3);
    KT_ASSERT(kl_node_status_due(sig2, sig3, 0, 1, min5));
}

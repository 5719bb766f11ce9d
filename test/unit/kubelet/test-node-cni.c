/* test-node-cni.c - the CNI conflist --manage-cni writes, mirror pods and
 * the status manager's phase rule. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "kubelet/cni.h"
#include "kubelet/containerd.h"
#include "kubelet/status_manager.h"
#include "lib/cleanup.h"
#include "lib/json.h"
#include "lib/xalloc.h"
#include "test/runner/kt.h"

static const char *str_at(const cJSON *doc, const char *path)
{
    const char *s = NULL;
    if (kn_json_get_string_opt(doc, path, NULL, &s, NULL) < 0)
        return NULL;
    return s;
}

KT_TEST(node_cni, conflist_for_the_pod_cidr)
{
    kl_cni_opts o = {.pod_cidr = "10.244.3.0/24", .data_dir = "/x/ipam", .ip_masq = true};
    cleanup_free char *text = NULL;
    cleanup_error kn_error *err = NULL;
    KT_ASSERT_OK(kl_cni_conflist(&o, &text, &err), err);
    cleanup_cjson cJSON *doc = NULL;
    KT_ASSERT_OK(kn_json_parse(text, strlen(text), 0, &doc, &err), err);
    KT_ASSERT_STREQ(str_at(doc, "name"), "knode");
    const cJSON *plugins = cJSON_GetObjectItemCaseSensitive(doc, "plugins");
    KT_ASSERT_EQ(cJSON_GetArraySize(plugins), 2);
    const cJSON *br = cJSON_GetArrayItem(plugins, 0);
    KT_ASSERT_STREQ(str_at(br, "type"), "bridge");
    KT_ASSERT_STREQ(str_at(br, "bridge"), "cni0");
    KT_ASSERT_STREQ(str_at(br, "ipam.type"), "host-local");
    KT_ASSERT_STREQ(str_at(br, "ipam.dataDir"), "/x/ipam");
    KT_ASSERT_CONTAINS(text, "\"subnet\":\t\"10.244.3.0/24\"");
    KT_ASSERT_CONTAINS(text, "\"gateway\":\t\"10.244.3.1\"");
    KT_ASSERT_STREQ(str_at(cJSON_GetArrayItem(plugins, 1), "type"), "portmap");
    kl_cni_opts bad = {.pod_cidr = "10.244.3.0"};
    cleanup_free char *t2 = NULL;
    KT_ASSERT_FAILS(kl_cni_conflist(&bad, &t2, &err));
    kn_error_free(&err);
    bad.pod_cidr = "fd00::/64";
    KT_ASSERT_FAILS(kl_cni_conflist(&bad, &t2, &err));
}

KT_TEST(node_cni, write_only_when_changed)
{
    cleanup_free char *dir = xasprintf("%s/etc/cni/net.d", kt_tmpdir());
    kl_cni_opts o = {.conf_dir = dir, .pod_cidr = "10.244.0.0/24"};
    bool changed = false;
    cleanup_error kn_error *err = NULL;
    KT_ASSERT_OK(kl_cni_write(&o, &changed, &err), err);
    KT_ASSERT(changed);
    KT_ASSERT_OK(kl_cni_write(&o, &changed, &err), err);
    KT_ASSERT(!changed);
    o.pod_cidr = "10.244.9.0/24";
    KT_ASSERT_OK(kl_cni_write(&o, &changed, &err), err);
    KT_ASSERT(changed);
    cleanup_free char *lo = xasprintf("%s/99-loopback.conf", dir);
    struct stat st;
    KT_ASSERT(stat(lo, &st) == 0);
}

KT_TEST(node_cni, phase_never_regresses)
{
    KT_ASSERT(kl_phase_transition_ok("Pending", "Running"));
    KT_ASSERT(kl_phase_transition_ok("Running", "Failed"));
    KT_ASSERT(kl_phase_transition_ok("Succeeded", "Succeeded"));
    KT_ASSERT(!kl_phase_transition_ok("Succeeded", "Running"));
    KT_ASSERT(!kl_phase_transition_ok("Failed", "Pending"));
    KT_ASSERT(!kl_phase_transition_ok("Failed", "Succeeded"));
    KT_ASSERT(kl_phase_transition_ok(NULL, "Running"));
}

KT_TEST(node_cni, mirror_pod_of_a_static_pod)
{
    static const char manifest[] =
        "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"web-n1\","
        "\"namespace\":\"kube-system\",\"uid\":\"abc\",\"labels\":{\"app\":\"web\"},"
        "\"annotations\":{\"kubernetes.io/config.hash\":\"abc\","
        "\"kubernetes.io/config.source\":\"file\"}},\"spec\":{\"nodeName\":\"other\","
        "\"containers\":[{\"name\":\"c\",\"image\":\"busybox\"}]},\"status\":{\"phase\":"
        "\"Running\"}}";
    cleanup_cjson cJSON *raw = NULL;
    cleanup_error kn_error *err = NULL;
    KT_ASSERT_OK(kn_json_parse(manifest, strlen(manifest), 0, &raw, &err), err);
    cleanup_cjson cJSON *m = kl_mirror_pod_build(raw, "n1");
    KT_ASSERT_STREQ(str_at(m, "metadata.name"), "web-n1");
    KT_ASSERT_STREQ(str_at(m, "metadata.namespace"), "kube-system");
    KT_ASSERT(str_at(m, "metadata.uid") == NULL);
    KT_ASSERT(cJSON_GetObjectItemCaseSensitive(m, "status") == NULL);
    KT_ASSERT_STREQ(str_at(m, "spec.nodeName"), "n1");
    const cJSON *ann = NULL;
    KT_ASSERT_OK(kn_json_get_object(m, "metadata.annotations", &ann, &err), err);
    KT_ASSERT_STREQ(
        cJSON_GetObjectItemCaseSensitive(ann, "kubernetes.io/config.mirror")->valuestring, "abc");
}

KT_TEST(node_cni, containerd_config)
{
    kl_containerd_opts o = {
        .dir = "/d/containerd", .cni_conf_dir = "/d/cni/net.d", .cni_bin_dir = "/usr/lib/cni"};
    cleanup_free char *t = kl_containerd_config(&o, "/usr/sbin/runc", "/usr/bin/crun");
    KT_ASSERT_CONTAINS(t, "root = \"/d/containerd/root\"");
    KT_ASSERT_CONTAINS(t, "address = \"/d/containerd/containerd.sock\"");
    KT_ASSERT_CONTAINS(t, "sandbox_image = \"localhost/pause:3.9\"");
    KT_ASSERT_CONTAINS(t, "restrict_oom_score_adj = true");
    KT_ASSERT_CONTAINS(t, "netns_mounts_under_state_dir = true");
    KT_ASSERT_CONTAINS(t, "conf_dir = \"/d/cni/net.d\"");
    KT_ASSERT_CONTAINS(t, "bin_dir = \"/usr/lib/cni\"");
    KT_ASSERT_CONTAINS(t, "stream_server_port = \"10010\"");
    KT_ASSERT_CONTAINS(t, "default_runtime_name = \"runc\"");
    KT_ASSERT_CONTAINS(t, "BinaryName = \"/usr/bin/crun\"");
    KT_ASSERT_CONTAINS(t, "SystemdCgroup = false");
    cleanup_free char *no_crun = kl_containerd_config(&o, "/usr/sbin/runc", NULL);
    KT_ASSERT(strstr(no_crun, "crun") == NULL);
}

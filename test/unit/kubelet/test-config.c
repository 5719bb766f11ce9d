/* Tests for kubelet/config: KubeletConfiguration files (YAML and JSON)
 * mapped onto the kubelet flags, their type checks and errors, and the
 * upstream precedence of command-line flags over the file. */
#include <stdio.h>
#include <string.h>

#include "kubelet/config.h"
#include "lib/cleanup.h"
#include "lib/xalloc.h"
#include "test/runner/kt.h"

#define HEAD "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n"

static const char full_yaml[] = HEAD "staticPodPath: manifests\n"
                                     "podLogsDir: /srv/logs\n"
                                     "clusterDomain: example.local\n"
                                     "clusterDNS: [10.96.0.10, 'fd00::a']\n"
                                     "maxPods: 50\n"
                                     "cgroupRoot: /knode\n"
                                     "kubeReserved: {cpu: 100m, memory: 256Mi}\n"
                                     "systemReserved:\n"
                                     "  memory: 1Gi\n"
                                     "registerWithTaints:\n"
                                     "- {key: dedicated, value: infra, effect: NoSchedule}\n"
                                     "- key: example.com/gpu\n"
                                     "  effect: NoExecute\n"
                                     "containerRuntimeEndpoint: unix:///run/ctd.sock\n"
                                     "runtimeRequestTimeout: 30s\n"
                                     "nodeStatusUpdateFrequency: 5s\n";

/* The setting for flag, or NULL. */
static const char *setting(const kl_config_file *c, const char *flag)
{
    for (size_t i = 0; i < c->n; i++)
        if (strcmp(c->settings[i].flag, flag) == 0)
            return c->settings[i].value;
    return NULL;
}

/* Parses text named path expecting success. */
static void parse_ok(const char *text, const char *path, kl_config_file *c)
{
    kn_error *err = NULL;
    memset(c, 0, sizeof(*c));
    KT_ASSERT_OK(kl_config_file_parse(text, strlen(text), path, c, &err), err);
}

/* Parses text expecting failure; returns the message (caller frees). */
static char *parse_error(const char *text)
{
    kl_config_file c = {0};
    kn_error *err = NULL;
    KT_ASSERT_FAILS(kl_config_file_parse(text, strlen(text), "/etc/knode/kc.yaml", &c, &err));
    KT_ASSERT_EQ(kn_error_code(err), KN_EINVAL);
    char *msg = xstrdup(kn_error_msg(err));
    kn_error_free(&err);
    kl_config_file_free(&c);
    KT_ASSERT_CONTAINS(msg, "/etc/knode/kc.yaml");
    return msg;
}

KT_TEST(kubelet_config, yaml_fields_become_flag_values)
{
    kl_config_file c;
    parse_ok(full_yaml, "/etc/knode/kubelet.yaml", &c);
    KT_ASSERT_EQ(c.n, 12);
    KT_ASSERT_STREQ(setting(&c, "pod-manifest-path"), "/etc/knode/manifests");
    KT_ASSERT_STREQ(setting(&c, "pod-logs-dir"), "/srv/logs");
    KT_ASSERT_STREQ(setting(&c, "cluster-domain"), "example.local");
    KT_ASSERT_STREQ(setting(&c, "cluster-dns"), "10.96.0.10,fd00::a");
    KT_ASSERT_STREQ(setting(&c, "max-pods"), "50");
    KT_ASSERT_STREQ(setting(&c, "cgroup-root"), "/knode");
    KT_ASSERT_STREQ(setting(&c, "kube-reserved"), "cpu=100m,memory=256Mi");
    KT_ASSERT_STREQ(setting(&c, "system-reserved"), "memory=1Gi");
    KT_ASSERT_STREQ(setting(&c, "register-with-taints"),
                    "dedicated=infra:NoSchedule,example.com/gpu:NoExecute");
    KT_ASSERT_STREQ(setting(&c, "container-runtime-endpoint"), "unix:///run/ctd.sock");
    KT_ASSERT_STREQ(setting(&c, "runtime-request-timeout"), "30s");
    KT_ASSERT_STREQ(setting(&c, "node-status-update-frequency"), "5s");
    KT_ASSERT_STREQ(c.settings[0].field, "staticPodPath");
    KT_ASSERT_EQ(c.nunsupported, 0);
    kl_config_file_free(&c);
}

KT_TEST(kubelet_config, json_and_nested_fields)
{
    static const char json[] =
        "{\"apiVersion\":\"kubelet.config.k8s.io/v1beta1\",\"kind\":\"KubeletConfiguration\","
        "\"maxPods\":7,\"clusterDNS\":[\"10.0.0.10\"],\"staticPodPath\":\"/etc/m\","
        "\"authentication\":{\"x509\":{\"clientCAFile\":\"ca.crt\"},"
        "\"anonymous\":{\"enabled\":false}},\"port\":10250,\"evictionHard\":{\"memory."
        "available\":\"100Mi\"},\"cgroupDriver\":\"cgroupfs\"}";
    kl_config_file c;
    parse_ok(json, "kc.json", &c); /* a relative file: paths relative to "." */
    KT_ASSERT_STREQ(setting(&c, "max-pods"), "7");
    KT_ASSERT_STREQ(setting(&c, "cluster-dns"), "10.0.0.10");
    KT_ASSERT_STREQ(setting(&c, "pod-manifest-path"), "/etc/m");
    KT_ASSERT_STREQ(setting(&c, "client-ca-file"), "./ca.crt");
    KT_ASSERT_STREQ(setting(&c, "port"), "10250");
    KT_ASSERT_EQ(c.nunsupported, 3);
    KT_ASSERT_STREQ(c.unsupported[0], "authentication.anonymous");
    KT_ASSERT_STREQ(c.unsupported[1], "evictionHard");
    KT_ASSERT_STREQ(c.unsupported[2], "cgroupDriver");
    kl_config_file_free(&c);
}

KT_TEST(kubelet_config, zero_values_and_nulls_are_unset)
{
    kl_config_file c;
    parse_ok(HEAD "maxPods: 0\nclusterDomain: ''\nruntimeRequestTimeout: 0s\nclusterDNS: []\n"
                  "kubeReserved: {}\nstaticPodPath: null\nregisterWithTaints: []\n",
             "/k.yaml", &c);
    KT_ASSERT_EQ(c.n, 0);
    kl_config_file_free(&c);
    parse_ok(HEAD "staticPodPath: m\n", "/k.yaml", &c); /* a file in / */
    KT_ASSERT_STREQ(setting(&c, "pod-manifest-path"), "/m");
    kl_config_file_free(&c);
}

KT_TEST(kubelet_config, type_and_kind_errors_name_file_and_field)
{
    static const struct {
        const char *text, *want;
    } cases[] = {
        {"apiVersion: v1\nkind: KubeletConfiguration\n", "apiVersion: \"v1\" is not"},
        {"apiVersion: kubelet.config.k8s.io/v1beta1\n", "kind: missing"},
        {"apiVersion: kubelet.config.k8s.io/v1beta1\nkind: Pod\n", "kind: \"Pod\" is not"},
        {"", "expected a KubeletConfiguration object, got null"},
        {"- a\n", "got array"},
        {HEAD "maxPod: 3\n", "unknown field \"maxPod\""},
        {HEAD "metadata: {name: x}\n", "unknown field \"metadata\""},
        {HEAD "authentication: {x509: {clientCA: x}}\n",
         "unknown field \"authentication.x509.clientCA\""},
        {HEAD "maxPods: \"50\"\n", "maxPods: expected an integer, got string"},
        {HEAD "maxPods: 1.5\n", "maxPods: expected an integer, got number"},
        {HEAD "maxPods: -1\n", "maxPods: -1 is outside"},
        {HEAD "maxPods: 3000000000\n", "maxPods: 3000000000 is outside"},
        {HEAD "clusterDomain: 5\n", "clusterDomain: expected string, got number"},
        {HEAD "clusterDNS: 10.96.0.10\n",
         "clusterDNS: expected a list of IP addresses, got string"},
        {HEAD "clusterDNS: [10.96.0.300]\n", "clusterDNS[0]: \"10.96.0.300\" is not an IP"},
        {HEAD "clusterDNS: [1.1.1.1, 2]\n", "clusterDNS[1]: expected string, got number"},
        {HEAD "runtimeRequestTimeout: 120\n", "runtimeRequestTimeout: expected a duration"},
        {HEAD "runtimeRequestTimeout: 2 minutes\n", "runtimeRequestTimeout"},
        {HEAD "kubeReserved: {cpu: 1}\n", "kubeReserved.cpu: expected string, got number"},
        {HEAD "kubeReserved: {cpu: lots}\n", "kubeReserved: invalid entry cpu=\"lots\""},
        {HEAD "kubeReserved: [cpu]\n", "kubeReserved: expected a map"},
        {HEAD "registerWithTaints: [{key: a}]\n", "registerWithTaints[0].effect: \"\" is not"},
        {HEAD "registerWithTaints: [{key: a, effect: NoSchedule, operator: x}]\n",
         "registerWithTaints[0]: unknown field \"operator\""},
        {HEAD "registerWithTaints: [{key: 'a,b', effect: NoSchedule}]\n", "invalid taint key"},
        {HEAD "registerWithTaints: {key: a}\n", "registerWithTaints: expected a list of taints"},
        {HEAD "authentication: true\n", "authentication: expected object, got bool"},
        {HEAD "maxPods: 1\nmaxPods: 2\n", "duplicate key"},
        {HEAD "---\n" HEAD, "/etc/knode/kc.yaml"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        cleanup_free char *msg = parse_error(cases[i].text);
        KT_ASSERT_MSG(strstr(msg, cases[i].want), "case %zu: \"%s\" lacks \"%s\"", i, msg,
                      cases[i].want);
    }
}

KT_TEST(kubelet_config, load_reads_the_file)
{
    cleanup_free char *path = xasprintf("%s/kubelet.yaml", kt_tmpdir());
    FILE *f = fopen(path, "w");
    KT_ASSERT(f);
    fputs(full_yaml, f);
    fclose(f);
    kl_config_file c = {0};
    kn_error *err = NULL;
    KT_ASSERT_OK(kl_config_file_load(path, &c, &err), err);
    cleanup_free char *manifests = xasprintf("%s/manifests", kt_tmpdir());
    KT_ASSERT_STREQ(setting(&c, "pod-manifest-path"), manifests);
    kl_config_file_free(&c);
    KT_ASSERT_FAILS(kl_config_file_load("/nonexistent/kc.yaml", &c, &err));
    KT_ASSERT_EQ(kn_error_code(err), KN_EIO);
    KT_ASSERT_CONTAINS(kn_error_msg(err), "/nonexistent/kc.yaml");
    kn_error_free(&err);
    kl_config_file_free(&c);
}

/* A flag table like the kubelet's. */
static const char *t_domain, *t_dns, *t_endpoint, *t_config;
static long long t_max_pods;
static int64_t t_timeout;
static bool t_manage;
static const kn_flag table[] = {
    {"config", 0, KN_FLAG_STRING, &t_config, "", ""},
    {"cluster-domain", 0, KN_FLAG_STRING, &t_domain, "cluster.local", ""},
    {"cluster-dns", 0, KN_FLAG_STRING, &t_dns, "", ""},
    {"container-runtime-endpoint", 0, KN_FLAG_STRING, &t_endpoint, "unix:///x.sock", ""},
    {"max-pods", 0, KN_FLAG_INT, &t_max_pods, "110", ""},
    {"runtime-request-timeout", 0, KN_FLAG_DURATION, &t_timeout, "2m", ""},
    {"manage-cni", 0, KN_FLAG_BOOL, &t_manage, "false", ""},
};
#define NTABLE (sizeof(table) / sizeof(table[0]))

/* Parses argv with the table, then applies text as the config file. */
static void parse_and_apply(const char *text, int argc, char **argv, kl_config_file *c)
{
    kn_flagset fs = {.command = "test", .flags = table, .nflags = NTABLE};
    kn_error *err = NULL;
    KT_ASSERT_OK(kn_flags_parse(&fs, argc, argv, &err), err);
    parse_ok(text, "/etc/kc.yaml", c);
    KT_ASSERT_OK(kl_config_file_apply(c, table, NTABLE, argc, argv, &err), err);
}

KT_TEST(kubelet_config, command_line_flags_override_the_file)
{
    static const char text[] = HEAD "clusterDomain: file.local\nclusterDNS: [10.0.0.10]\n"
                                    "maxPods: 20\nruntimeRequestTimeout: 1m30s\n"
                                    "containerRuntimeEndpoint: unix:///file.sock\n"
                                    "port: 10250\n";
    /* --max-pods given with its default value still wins over the file */
    char *argv[] = {"--config",      "/etc/kc.yaml", "--max-pods=110",
                    "--cluster-dns", "10.9.9.9",     "--manage-cni"};
    kl_config_file c;
    parse_and_apply(text, 6, argv, &c);
    KT_ASSERT_STREQ(t_domain, "file.local");
    KT_ASSERT_STREQ(t_dns, "10.9.9.9");
    KT_ASSERT_STREQ(t_endpoint, "unix:///file.sock");
    KT_ASSERT_EQ(t_max_pods, 110);
    KT_ASSERT_EQ(t_timeout, 90 * INT64_C(1000000000));
    KT_ASSERT(t_manage);
    KT_ASSERT_STREQ(t_config, "/etc/kc.yaml");
    kl_config_file_free(&c);
}

KT_TEST(kubelet_config, file_over_defaults)
{
    char *argv[] = {"--config=/etc/kc.yaml"};
    kl_config_file c;
    parse_and_apply(HEAD "maxPods: 20\n", 1, argv, &c);
    KT_ASSERT_EQ(t_max_pods, 20);
    KT_ASSERT_STREQ(t_domain, "cluster.local"); /* not in the file: the flag's default */
    KT_ASSERT_EQ(t_timeout, 120 * INT64_C(1000000000));
    kl_config_file_free(&c);
}

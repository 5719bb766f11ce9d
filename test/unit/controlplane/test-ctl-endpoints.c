/* test-ctl-endpoints.c - EndpointSlice and Endpoints contents of Services. */
#include <stdlib.h>
#include <string.h>

#include "controlplane/ctl-endpoints.h"
#include "lib/json.h"
#include "lib/xalloc.h"
#include "test/runner/kt.h"

static cJSON *js(const char *text)
{
    cJSON *v = NULL;
    kn_error *err = NULL;
    if (kn_json_parse(text, strlen(text), 0, &v, &err) < 0)
        KT_FAIL("bad test JSON: %s: %s", kn_error_msg(err), text);
    return v;
}

/* A pod with a named port "http" = port, an IP (NULL: none), ready or not,
 * terminating or not, in phase. */
static cJSON *pod(const char *name, int port, const char *ip, bool ready, bool deleting,
                  const char *phase)
{
    char *ipf =
        ip ? xasprintf(",\"podIP\":\"%s\",\"podIPs\":[{\"ip\":\"%s\"}]", ip, ip) : xstrdup("");
    char *t = xasprintf(
        "{\"metadata\":{\"name\":\"%s\",\"namespace\":\"ns\",\"uid\":\"u-%s\"%s},\"spec\":"
        "{\"nodeName\":\"node-1\",\"containers\":[{\"name\":\"c\",\"ports\":[{\"name\":\"http\","
        "\"containerPort\":%d,\"protocol\":\"TCP\"}]}]},\"status\":{\"phase\":\"%s\"%s,"
        "\"conditions\":[{\"type\":\"Ready\",\"status\":\"%s\"}]}}",
        name, name, deleting ? ",\"deletionTimestamp\":\"2025-01-01T00:00:00Z\"" : "", port, phase,
        ipf, ready ? "True" : "False");
    cJSON *p = js(t);
    free(t);
    free(ipf);
    return p;
}

static const char svc_text[] =
    "{\"metadata\":{\"name\":\"web\",\"namespace\":\"ns\"},\"spec\":{\"selector\":{\"app\":"
    "\"web\"},\"ports\":[{\"name\":\"http\",\"port\":80,\"targetPort\":\"http\",\"protocol\":"
    "\"TCP\"},{\"name\":\"admin\",\"port\":9000,\"targetPort\":9001,\"protocol\":\"TCP\"}]}}";

static const char *zone(void *ud, const char *node)
{
    (void)ud;
    return strcmp(node, "node-1") == 0 ? "zone-a" : NULL;
}

KT_TEST(ctl_endpoints, find_port_by_number_and_name)
{
    cJSON *p = pod("a", 8080, "10.0.0.1", true, false, "Running");
    cJSON *byname = js("{\"port\":80,\"targetPort\":\"http\",\"protocol\":\"TCP\"}");
    cJSON *udp = js("{\"port\":80,\"targetPort\":\"http\",\"protocol\":\"UDP\"}");
    cJSON *num = js("{\"port\":80,\"targetPort\":81}");
    cJSON *none = js("{\"port\":80}");
    cJSON *missing = js("{\"port\":80,\"targetPort\":\"grpc\"}");
    KT_ASSERT_EQ(kn_ctl_find_port(p, byname), 8080);
    KT_ASSERT_EQ(kn_ctl_find_port(p, udp), -1);
    KT_ASSERT_EQ(kn_ctl_find_port(p, num), 81);
    KT_ASSERT_EQ(kn_ctl_find_port(p, none), 80);
    KT_ASSERT_EQ(kn_ctl_find_port(p, missing), -1);
    cJSON *v[] = {p, byname, udp, num, none, missing};
    for (size_t i = 0; i < 6; i++)
        cJSON_Delete(v[i]);
}

KT_TEST(ctl_endpoints, slice_conditions_and_membership)
{
    cJSON *svc = js(svc_text);
    cJSON *pods[] = {
        pod("ready", 8080, "10.0.0.1", true, false, "Running"),
        pod("unready", 8080, "10.0.0.2", false, false, "Running"),
        pod("leaving", 8080, "10.0.0.3", true, true, "Running"),
        pod("no-ip", 8080, NULL, true, false, "Pending"),
        pod("done", 8080, "10.0.0.5", false, false, "Succeeded"),
    };
    cJSON *groups = kn_ctl_slice_groups(svc, (const cJSON *const *)pods, 5, zone, NULL);
    KT_ASSERT_EQ(cJSON_GetArraySize(groups), 1);
    cJSON *g = cJSON_GetArrayItem(groups, 0);
    char *ports = kn_json_print(cJSON_GetObjectItem(g, "ports"));
    KT_ASSERT_STREQ(ports, "[{\"name\":\"http\",\"port\":8080,\"protocol\":\"TCP\"},{\"name\":"
                           "\"admin\",\"port\":9001,\"protocol\":\"TCP\"}]");
    free(ports);
    cJSON *eps = cJSON_GetObjectItem(g, "endpoints");
    KT_ASSERT_EQ(cJSON_GetArraySize(eps), 3);
    static const char *const want[] = {
        "{\"addresses\":[\"10.0.0.1\"],\"conditions\":{\"ready\":true,\"serving\":true,"
        "\"terminating\":false},\"targetRef\":{\"kind\":\"Pod\",\"namespace\":\"ns\",\"name\":"
        "\"ready\",\"uid\":\"u-ready\"},\"nodeName\":\"node-1\",\"zone\":\"zone-a\"}",
        "{\"addresses\":[\"10.0.0.2\"],\"conditions\":{\"ready\":false,\"serving\":false,"
        "\"terminating\":false}",
        "{\"addresses\":[\"10.0.0.3\"],\"conditions\":{\"ready\":false,\"serving\":true,"
        "\"terminating\":true}",
    };
    for (int i = 0; i < 3; i++) {
        char *e = kn_json_print(cJSON_GetArrayItem(eps, i));
        KT_ASSERT_MSG(strncmp(e, want[i], strlen(want[i])) == 0, "endpoint %d: %s", i, e);
        free(e);
    }
    cJSON_Delete(groups);

    /* publishNotReadyAddresses: every member is ready */
    cJSON_AddBoolToObject(cJSON_GetObjectItem(svc, "spec"), "publishNotReadyAddresses", true);
    groups = kn_ctl_slice_groups(svc, (const cJSON *const *)pods, 5, NULL, NULL);
    cJSON *e;
    cJSON_ArrayForEach(e, cJSON_GetObjectItem(cJSON_GetArrayItem(groups, 0), "endpoints"))
    {
        KT_ASSERT(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(e, "conditions"), "ready")));
        KT_ASSERT(!cJSON_GetObjectItem(e, "zone"));
    }
    cJSON_Delete(groups);
    for (int i = 0; i < 5; i++)
        cJSON_Delete(pods[i]);
    cJSON_Delete(svc);
}

KT_TEST(ctl_endpoints, pods_with_different_ports_get_separate_slices)
{
    cJSON *svc = js(svc_text);
    cJSON *pods[] = {
        pod("a", 8080, "10.0.0.1", true, false, "Running"),
        pod("b", 8081, "10.0.0.2", true, false, "Running"),
        pod("c", 8080, "10.0.0.3", true, false, "Running"),
    };
    cJSON *groups = kn_ctl_slice_groups(svc, (const cJSON *const *)pods, 3, NULL, NULL);
    KT_ASSERT_EQ(cJSON_GetArraySize(groups), 2);
    KT_ASSERT_EQ(
        cJSON_GetArraySize(cJSON_GetObjectItem(cJSON_GetArrayItem(groups, 0), "endpoints")), 2);
    cJSON_Delete(groups);
    /* no members: one placeholder without ports */
    groups = kn_ctl_slice_groups(svc, NULL, 0, NULL, NULL);
    char *text = kn_json_print(groups);
    KT_ASSERT_STREQ(text, "[{\"ports\":[],\"endpoints\":[]}]");
    free(text);
    cJSON_Delete(groups);
    /* 250 members: slices of at most 100 */
    cJSON *many[250];
    for (int i = 0; i < 250; i++) {
        char name[16], ip[32];
        snprintf(name, sizeof(name), "p%d", i);
        snprintf(ip, sizeof(ip), "10.1.%d.%d", i / 200, i % 200);
        many[i] = pod(name, 8080, ip, true, false, "Running");
    }
    groups = kn_ctl_slice_groups(svc, (const cJSON *const *)many, 250, NULL, NULL);
    KT_ASSERT_EQ(cJSON_GetArraySize(groups), 3);
    KT_ASSERT_EQ(
        cJSON_GetArraySize(cJSON_GetObjectItem(cJSON_GetArrayItem(groups, 2), "endpoints")), 50);
    cJSON_Delete(groups);
    for (int i = 0; i < 250; i++)
        cJSON_Delete(many[i]);
    for (int i = 0; i < 3; i++)
        cJSON_Delete(pods[i]);
    cJSON_Delete(svc);
}

KT_TEST(ctl_endpoints, endpoints_subsets_as_upstream)
{
    cJSON *svc = js("{\"metadata\":{\"name\":\"web\",\"namespace\":\"ns\"},\"spec\":{\"selector\":"
                    "{\"app\":\"web\"},\"ports\":[{\"port\":80,\"targetPort\":\"http\"}]}}");
    cJSON *pods[] = {
        pod("b", 8080, "10.0.0.9", true, false, "Running"),
        pod("a", 8080, "10.0.0.10", true, false, "Running"),
        pod("unready", 8080, "10.0.0.2", false, false, "Running"),
        pod("leaving", 8080, "10.0.0.3", true, true, "Running"),
        pod("c", 8080, "10.0.0.11", true, false, "Running"),
    };
    cJSON *subsets = kn_ctl_endpoints_subsets(svc, (const cJSON *const *)pods, 5);
    KT_ASSERT_EQ(cJSON_GetArraySize(subsets), 1);
    cJSON *s = cJSON_GetArrayItem(subsets, 0);
    cJSON *addrs = cJSON_GetObjectItem(s, "addresses");
    KT_ASSERT_EQ(cJSON_GetArraySize(addrs), 3); /* the terminating pod is left out */
    static const char *const order[] = {"10.0.0.10", "10.0.0.11", "10.0.0.9"};
    for (int i = 0; i < 3; i++) /* sorted as strings, as upstream */
        KT_ASSERT_STREQ(cJSON_GetObjectItem(cJSON_GetArrayItem(addrs, i), "ip")->valuestring,
                        order[i]);
    KT_ASSERT_EQ(cJSON_GetArraySize(cJSON_GetObjectItem(s, "notReadyAddresses")), 1);
    char *ports = kn_json_print(cJSON_GetObjectItem(s, "ports"));
    KT_ASSERT_STREQ(ports, "[{\"port\":8080,\"protocol\":\"TCP\"}]");
    free(ports);
    cJSON_Delete(subsets);
    subsets = kn_ctl_endpoints_subsets(svc, NULL, 0);
    KT_ASSERT_EQ(cJSON_GetArraySize(subsets), 0);
    cJSON_Delete(subsets);
    for (int i = 0; i < 5; i++)
        cJSON_Delete(pods[i]);
    cJSON_Delete(svc);
}

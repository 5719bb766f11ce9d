/* Table output as upstream's printers: column names per kind and the cells
 * of events, CSRs, endpoints, endpointslices, daemonsets and controller
 * revisions; upstream's HumanDuration. */
#include <stdlib.h>
#include <string.h>

#include "controlplane/resources.h"
#include "controlplane/table.h"
#include "lib/cleanup.h"
#include "lib/json.h"
#include "test/runner/kt.h"

/* The Table of one object (JSON text) of a resource: column names joined
 * with "|", then " => " and the cells printed. */
static char *table_of(const char *group, const char *resource, const char *obj)
{
    cJSON *o = cJSON_Parse(obj);
    KT_ASSERT(o != NULL);
    cJSON *t = kn_table_from_object(kn_resource_find(group, "v1", resource), o);
    cJSON *names = cJSON_CreateArray(), *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(t, "columnDefinitions")) cJSON_AddItemToArray(
        names, cJSON_CreateString(cJSON_GetObjectItem(c, "name")->valuestring));
    cleanup_free char *n = kn_json_print(names);
    cleanup_free char *cells = kn_json_print(
        cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(t, "rows"), 0), "cells"));
    char *out = malloc(strlen(n) + strlen(cells) + 8);
    strcpy(out, n);
    strcat(out, " => ");
    strcat(out, cells);
    cJSON_Delete(names);
    cJSON_Delete(t);
    cJSON_Delete(o);
    return out;
}

KT_TEST(table, events_as_upstream)
{
    cleanup_free char *t = table_of(
        "", "events",
        "{\"metadata\":{\"name\":\"web.1\"},\"involvedObject\":{\"kind\":\"Pod\",\"name\":\"web\","
        "\"fieldPath\":\"spec.containers{c}\"},\"reason\":\"Pulled\",\"message\":\" done \\n\","
        "\"type\":\"Normal\",\"source\":{\"component\":\"kubelet\",\"host\":\"n1\"},"
        "\"firstTimestamp\":\"2001-01-01T00:00:00Z\"}");
    KT_ASSERT_CONTAINS(t, "[\"Last Seen\",\"Type\",\"Reason\",\"Object\",\"Subobject\",\"Source\","
                          "\"Message\",\"First Seen\",\"Count\",\"Name\"]");
    KT_ASSERT_CONTAINS(t,
                       "\"Normal\",\"Pulled\",\"pod/web\",\"spec.containers{c}\",\"kubelet, n1\","
                       "\"done\",\"");
    KT_ASSERT_CONTAINS(t, ",1,\"web.1\"]");
    KT_ASSERT_CONTAINS(t, "=> [\"");
    KT_ASSERT(strstr(t, "y\",\"Normal\"") != NULL); /* years ago */
}

KT_TEST(table, csr_as_upstream)
{
    cleanup_free char *t = table_of(
        "certificates.k8s.io", "certificatesigningrequests",
        "{\"metadata\":{\"name\":\"node-csr-1\"},\"spec\":{\"signerName\":\"kubernetes.io/"
        "kube-apiserver-client-kubelet\",\"username\":\"system:bootstrap:abcdef\","
        "\"expirationSeconds\":86400},\"status\":{\"conditions\":[{\"type\":\"Approved\"}],"
        "\"certificate\":\"Zm9v\"}}");
    KT_ASSERT_CONTAINS(t, "[\"Name\",\"Age\",\"SignerName\",\"Requestor\",\"RequestedDuration\","
                          "\"Condition\"]");
    KT_ASSERT_CONTAINS(t, "\"kubernetes.io/kube-apiserver-client-kubelet\",\"system:bootstrap:"
                          "abcdef\",\"24h\",\"Approved,Issued\"]");
    cleanup_free char *pending =
        table_of("certificates.k8s.io", "certificatesigningrequests",
                 "{\"metadata\":{\"name\":\"c\"},\"spec\":{\"username\":\"u\"}}");
    KT_ASSERT_CONTAINS(pending, "\"<none>\",\"u\",\"<none>\",\"Pending\"]");
}

KT_TEST(table, endpoints_and_slices_show_three_then_more)
{
    cleanup_free char *ep = table_of(
        "", "endpoints",
        "{\"metadata\":{\"name\":\"web\"},\"subsets\":[{\"addresses\":[{\"ip\":\"10.0.0.1\"},"
        "{\"ip\":\"10.0.0.2\"}],\"ports\":[{\"port\":80},{\"port\":443}]}]}");
    KT_ASSERT_CONTAINS(ep, "[\"Name\",\"Endpoints\",\"Age\"]");
    KT_ASSERT_CONTAINS(ep, "\"10.0.0.1:80,10.0.0.2:80,10.0.0.1:443 + 1 more...\"");
    cleanup_free char *none = table_of("", "endpoints", "{\"metadata\":{\"name\":\"x\"}}");
    KT_ASSERT_CONTAINS(none, "\"x\",\"<none>\"");
    cleanup_free char *eps = table_of(
        "discovery.k8s.io", "endpointslices",
        "{\"metadata\":{\"name\":\"web-abc\"},\"addressType\":\"IPv4\",\"ports\":[{\"name\":"
        "\"http\",\"port\":80}],\"endpoints\":[{\"addresses\":[\"10.0.0.1\"]}]}");
    KT_ASSERT_CONTAINS(eps, "[\"Name\",\"AddressType\",\"Ports\",\"Endpoints\",\"Age\"]");
    KT_ASSERT_CONTAINS(eps, "\"web-abc\",\"IPv4\",\"80\",\"10.0.0.1\"");
}

KT_TEST(table, workloads_and_revisions)
{
    cleanup_free char *ds = table_of(
        "apps", "daemonsets",
        "{\"metadata\":{\"name\":\"agent\"},\"spec\":{\"selector\":{\"matchLabels\":{\"app\":"
        "\"a\"}},\"template\":{\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"i:1\"}]}}},"
        "\"status\":{\"desiredNumberScheduled\":2,\"numberReady\":1}}");
    KT_ASSERT_CONTAINS(ds, "\"agent\",2,0,1,0,0,\"<none>\",");
    KT_ASSERT_CONTAINS(ds, "\"c\",\"i:1\",\"app=a\"]");
    cleanup_free char *cr = table_of(
        "apps", "controllerrevisions",
        "{\"metadata\":{\"name\":\"agent-1\",\"ownerReferences\":[{\"apiVersion\":\"apps/v1\","
        "\"kind\":\"DaemonSet\",\"name\":\"agent\",\"controller\":true}]},\"revision\":3}");
    KT_ASSERT_CONTAINS(cr, "\"agent-1\",\"daemonset.apps/agent\",3,");
    cleanup_free char *sec = table_of(
        "", "secrets", "{\"metadata\":{\"name\":\"s\"},\"type\":\"Opaque\",\"data\":{\"a\":\"\"}}");
    KT_ASSERT_CONTAINS(sec, "[\"Name\",\"Type\",\"Data\",\"Age\"] => [\"s\",\"Opaque\",1,");
}

KT_TEST(table, human_duration_as_upstream)
{
    static const struct {
        long long s;
        const char *want;
    } cases[] = {
        {-2, "<invalid>"},
        {-1, "0s"},
        {0, "0s"},
        {119, "119s"},
        {120, "2m"},
        {125, "2m5s"},
        {600, "10m"},
        {3 * 3600 - 1, "179m"},
        {3 * 3600, "3h"},
        {3 * 3600 + 60, "3h1m"},
        {8 * 3600 + 60, "8h"},
        {48 * 3600, "2d"},
        {49 * 3600, "2d1h"},
        {8 * 86400 + 3600, "8d"},
        {730 * 86400, "2y"},
        {731 * 86400, "2y1d"},
        {9 * 365 * 86400LL, "9y"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char buf[32];
        kn_human_duration(cases[i].s, buf, sizeof(buf));
        KT_ASSERT_MSG(strcmp(buf, cases[i].want) == 0, "%lld: %s, want %s", cases[i].s, buf,
                      cases[i].want);
    }
}

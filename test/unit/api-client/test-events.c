/* test-events.c - the event recorder against the bundled API server (in
 * this process, on loopback): the Event written, repeats counted by patch,
 * similar events combined, the per-object spam filter, a deleted Event
 * created again. Time comes from a fake clock. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api-client/events.h"
#include "api-client/kubeconfig.h"
#include "api-client/rest.h"
#include "controlplane/apiserver.h"
#include "controlplane/pki.h"
#include "controlplane/store.h"
#include "lib/cleanup.h"
#include "lib/duration.h"
#include "lib/json.h"
#include "lib/xalloc.h"
#include "test/runner/kt.h"

#define SEC KN_NSEC_PER_SEC
#define T0 (INT64_C(1700000000) * SEC)

typedef struct api {
    kn_store *st;
    kn_apiserver *srv;
    kc_client *c;
} api;

static void api_stop(void *arg)
{
    api *a = arg;
    kc_client_free(a->c);
    kn_apiserver_stop(a->srv);
    kn_store_close(a->st);
    memset(a, 0, sizeof(*a));
}

/* The API server on an ephemeral loopback port, an admin client, and the
 * namespace the tests use. */
static void api_start(api *a)
{
    cleanup_free char *dir = xasprintf("%s/api", kt_tmpdir());
    cleanup_free char *db = xasprintf("sqlite://%s/state.db", kt_tmpdir());
    kn_error *err = NULL;
    kn_pki_opts po = {
        .data_dir = dir, .server_url = "https://127.0.0.1:1", .cluster_domain = "cluster.local"};
    KT_ASSERT_OK(kn_pki_ensure(&po, &err), err);
    KT_ASSERT_OK(kn_store_open(db, &a->st, &err), err);
    kn_apiserver_opts ao = {dir, "127.0.0.1", 0, a->st, "10.96.0.0/12", "cluster.local"};
    KT_ASSERT_OK(kn_apiserver_start(&ao, &a->srv, &err), err);
    kt_on_cleanup(api_stop, a);
    cleanup_free char *url = xasprintf("https://127.0.0.1:%d", kn_apiserver_port(a->srv));
    po.server_url = url;
    KT_ASSERT_OK(kn_pki_ensure(&po, &err), err);
    cleanup_free char *kc = xasprintf("%s/admin.kubeconfig", dir);
    cleanup_kc_config kc_config *cfg = NULL;
    KT_ASSERT_OK(kc_config_load(kc, NULL, &cfg, &err), err);
    KT_ASSERT_OK(kc_client_new(cfg, NULL, &a->c, &err), err);
    cJSON *ns = cJSON_Parse("{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":"
                            "{\"name\":\"web\"}}");
    KT_ASSERT_OK(kc_create(a->c, &kc_res_namespaces, NULL, ns, NULL, &err), err);
    cJSON_Delete(ns);
}

static kc_event_recorder *recorder(api *a, kn_fake_clock *fc)
{
    kc_event_recorder_options o = {.component = "kubelet", .host = "node-1", .clock = &fc->clock};
    kc_event_recorder *r = NULL;
    kn_error *err = NULL;
    KT_ASSERT_OK(kc_event_recorder_new(a->c, &o, &r, &err), err);
    return r;
}

static const kc_object_ref pod = {.kind = "Pod",
                                  .ns = "web",
                                  .name = "frontend",
                                  .uid = "1f1c6a3e-0000-4000-8000-000000000001",
                                  .api_version = "v1"};

static cJSON *events(api *a)
{
    cJSON *l = NULL;
    kn_error *err = NULL;
    KT_ASSERT_OK(kc_list(a->c, &kc_res_events, "web", NULL, &l, &err), err);
    return l;
}

static int nitems(const cJSON *list)
{
    return cJSON_GetArraySize(cJSON_GetObjectItem(list, "items"));
}

static const char *s_at(const cJSON *o, const char *path)
{
    const char *v = NULL;
    kn_json_get_string_opt(o, path, NULL, &v, NULL);
    return v;
}

static int64_t n_at(const cJSON *o, const char *path)
{
    int64_t v = -1;
    kn_json_get_int64_opt(o, path, -1, &v, NULL);
    return v;
}

KT_TEST_TIMEOUT(events, written_as_upstream, 60)
{
    static api a;
    api_start(&a);
    kn_fake_clock fc;
    kn_fake_clock_init(&fc, T0);
    kc_event_recorder *r = recorder(&a, &fc);
    kc_event_record(r, &pod, "Normal", "Pulled", "Successfully pulled image \"%s\"", "nginx");
    kc_event_record(r, &pod, "Fatal", "Bad", "refused type");
    kc_event_recorder_flush(r);
    cleanup_cjson cJSON *l = events(&a);
    KT_ASSERT_EQ(nitems(l), 1);
    const cJSON *e = cJSON_GetArrayItem(cJSON_GetObjectItem(l, "items"), 0);
    KT_ASSERT_STREQ(s_at(e, "metadata.name"), "frontend.17979cfe362a0000");
    KT_ASSERT_STREQ(s_at(e, "reason"), "Pulled");
    KT_ASSERT_STREQ(s_at(e, "message"), "Successfully pulled image \"nginx\"");
    KT_ASSERT_STREQ(s_at(e, "type"), "Normal");
    KT_ASSERT_STREQ(s_at(e, "source.component"), "kubelet");
    KT_ASSERT_STREQ(s_at(e, "source.host"), "node-1");
    KT_ASSERT_STREQ(s_at(e, "reportingComponent"), "kubelet");
    KT_ASSERT_STREQ(s_at(e, "involvedObject.uid"), pod.uid);
    KT_ASSERT_STREQ(s_at(e, "firstTimestamp"), "2023-11-14T22:13:20Z");
    KT_ASSERT_EQ(n_at(e, "count"), 1);
    kc_event_recorder_free(r);
    kn_fake_clock_destroy(&fc);
}

KT_TEST_TIMEOUT(events, repeats_are_counted_by_patch, 60)
{
    static api a;
    api_start(&a);
    kn_fake_clock fc;
    kn_fake_clock_init(&fc, T0);
    kc_event_recorder *r = recorder(&a, &fc);
    for (int i = 0; i < 3; i++) {
        kc_event_record(r, &pod, "Warning", "BackOff", "Back-off restarting failed container");
        kc_event_recorder_flush(r);
        kn_fake_clock_advance(&fc, 30 * SEC);
    }
    cleanup_cjson cJSON *l = events(&a);
    KT_ASSERT_EQ(nitems(l), 1);
    const cJSON *e = cJSON_GetArrayItem(cJSON_GetObjectItem(l, "items"), 0);
    KT_ASSERT_EQ(n_at(e, "count"), 3);
    KT_ASSERT_STREQ(s_at(e, "firstTimestamp"), "2023-11-14T22:13:20Z");
    KT_ASSERT_STREQ(s_at(e, "lastTimestamp"), "2023-11-14T22:14:20Z");
    kc_event_stats st;
    kc_event_recorder_stats(r, &st);
    KT_ASSERT_EQ(st.created, 1);
    KT_ASSERT_EQ(st.patched, 2);
    /* the Event goes away (TTL, or deleted): the next repeat creates it again */
    kn_error *err = NULL;
    KT_ASSERT_OK(kc_delete(a.c, &kc_res_events, "web", s_at(e, "metadata.name"), NULL, NULL, &err),
                 err);
    kc_event_record(r, &pod, "Warning", "BackOff", "Back-off restarting failed container");
    kc_event_recorder_flush(r);
    cleanup_cjson cJSON *again = events(&a);
    KT_ASSERT_EQ(nitems(again), 1);
    KT_ASSERT_EQ(n_at(cJSON_GetArrayItem(cJSON_GetObjectItem(again, "items"), 0), "count"), 4);
    kc_event_recorder_free(r);
    kn_fake_clock_destroy(&fc);
}

static const cJSON *find_message_prefix(const cJSON *list, const char *prefix)
{
    const cJSON *e;
    cJSON_ArrayForEach(e, cJSON_GetObjectItem(list, "items"))
    {
        const char *m = s_at(e, "message");
        if (m && strncmp(m, prefix, strlen(prefix)) == 0)
            return e;
    }
    return NULL;
}

KT_TEST_TIMEOUT(events, similar_events_are_combined, 60)
{
    static api a;
    api_start(&a);
    kn_fake_clock fc;
    kn_fake_clock_init(&fc, T0);
    kc_event_recorder *r = recorder(&a, &fc);
    for (int i = 1; i <= 12; i++) {
        kc_event_record(r, &pod, "Warning", "FailedMount", "volume %d is not there", i);
        kn_fake_clock_advance(&fc, SEC);
    }
    kc_event_recorder_flush(r);
    cleanup_cjson cJSON *l = events(&a);
    /* 9 on their own, then one combined event counting the 10th to 12th */
    KT_ASSERT_EQ(nitems(l), 10);
    const cJSON *c = find_message_prefix(l, "(combined from similar events): ");
    KT_ASSERT(c != NULL);
    KT_ASSERT_STREQ(s_at(c, "message"), "(combined from similar events): volume 12 is not there");
    KT_ASSERT_EQ(n_at(c, "count"), 3);
    /* 10 minutes later the window starts afresh */
    kn_fake_clock_advance(&fc, 601 * SEC);
    kc_event_record(r, &pod, "Warning", "FailedMount", "volume %d is not there", 13);
    kc_event_recorder_flush(r);
    cleanup_cjson cJSON *l2 = events(&a);
    KT_ASSERT_EQ(nitems(l2), 11);
    KT_ASSERT(find_message_prefix(l2, "volume 13") != NULL);
    kc_event_recorder_free(r);
    kn_fake_clock_destroy(&fc);
}

KT_TEST_TIMEOUT(events, spam_filter_per_object, 60)
{
    static api a;
    api_start(&a);
    kn_fake_clock fc;
    kn_fake_clock_init(&fc, T0);
    kc_event_recorder *r = recorder(&a, &fc);
    for (int i = 0; i < 30; i++) {
        kc_event_record(r, &pod, "Normal", "Reason", "message %d", i);
        kn_fake_clock_advance(&fc, 1000); /* distinct names, no refill to speak of */
    }
    kc_object_ref other = pod;
    other.name = "backend";
    other.uid = "1f1c6a3e-0000-4000-8000-000000000002";
    kc_event_record(r, &other, "Normal", "Reason", "another object");
    kc_event_recorder_flush(r);
    kc_event_stats st;
    kc_event_recorder_stats(r, &st);
    KT_ASSERT_EQ(st.filtered, 5);
    /* one token every five minutes */
    kn_fake_clock_advance(&fc, 300 * SEC);
    kc_event_record(r, &pod, "Normal", "Later", "after the refill");
    kc_event_record(r, &pod, "Normal", "Later2", "no token left");
    kc_event_recorder_flush(r);
    kc_event_recorder_stats(r, &st);
    KT_ASSERT_EQ(st.filtered, 6);
    cleanup_cjson cJSON *l = events(&a);
    /* the frontend's 25 + 1 (aggregated into one combined event after 10
     * similar ones) and the backend's 1 */
    KT_ASSERT(find_message_prefix(l, "another object") != NULL);
    KT_ASSERT(find_message_prefix(l, "after the refill") != NULL);
    KT_ASSERT(find_message_prefix(l, "no token left") == NULL);
    kc_event_recorder_free(r);
    kn_fake_clock_destroy(&fc);
}

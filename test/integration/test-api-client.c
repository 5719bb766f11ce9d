/* test-api-client.c - api-client against the loopback fake API server:
 * TLS and credentials, REST verbs, retries, pagination, watches. No root,
 * no network beyond 127.0.0.1. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "api-client/informer.h"
#include "api-client/kubeconfig.h"
#include "api-client/lease.h"
#include "api-client/rest.h"
#include "api-client/watch.h"
#include "api-client/transport.h"
#include "lib/cleanup.h"
#include "lib/clock.h"
#include "lib/duration.h"
#include "lib/json.h"
#include "lib/xalloc.h"
#include "test/harness/apiserver-fake.h"
#include "test/runner/kt.h"

static fa_server *start_fake(const fa_options *o)
{
    cleanup_error kn_error *err = NULL;
    fa_server *s = NULL;
    cleanup_free char *dir = xasprintf("%s/fake", kt_tmpdir());
    KT_ASSERT_OK(fa_start(dir, o, &s, &err), err);
    return s;
}

/* Writes a kubeconfig for the fake server; user_body is the "user" mapping. */
static kc_config *kubeconfig_for(fa_server *s, const char *ca, const char *user_body)
{
    cleanup_free char *path = xasprintf("%s/kubeconfig", fa_dir(s));
    FILE *f = fopen(path, "w");
    KT_ASSERT(f);
    fprintf(f,
            "{\"current-context\":\"t\",\"clusters\":[{\"name\":\"c\",\"cluster\":{\"server\":"
            "\"%s\",\"certificate-authority\":\"%s\"}}],\"users\":[{\"name\":\"u\",\"user\":%s}],"
            "\"contexts\":[{\"name\":\"t\",\"context\":{\"cluster\":\"c\",\"user\":\"u\"}}]}",
            fa_url(s), ca, user_body);
    fclose(f);
    cleanup_error kn_error *err = NULL;
    kc_config *c = NULL;
    const char *p = path;
    KT_ASSERT_OK(kc_config_load_files(&p, 1, true, NULL, &c, &err), err);
    return c;
}

#define CLIENT_CERT "{\"client-certificate\":\"client.crt\",\"client-key\":\"client.key\"}"

static kc_transport *transport_for(kc_config *c)
{
    cleanup_error kn_error *err = NULL;
    kc_transport *t = NULL;
    KT_ASSERT_OK(kc_transport_new(c, NULL, &t, &err), err);
    return t;
}

KT_TEST_TIMEOUT(api_client, transport_client_cert, 30)
{
    fa_server *s = start_fake(NULL);
    cleanup_kc_config kc_config *c = kubeconfig_for(s, "ca.crt", CLIENT_CERT);
    kc_transport *t = transport_for(c);
    fa_expect(s, "GET", "/api/v1/namespaces/default/pods/p", NULL, 200, NULL,
              "{\"kind\":\"Pod\",\"metadata\":{\"name\":\"p\"}}");
    cleanup_error kn_error *err = NULL;
    kc_response resp;
    KT_ASSERT_OK(kc_transport_do(
                     t, &(kc_request){.method = "GET", .path = "/api/v1/namespaces/default/pods/p"},
                     1 << 20, &resp, &err),
                 err);
    KT_ASSERT_EQ(resp.status, 200);
    KT_ASSERT_CONTAINS(resp.body.data, "\"name\":\"p\"");
    KT_ASSERT_STREQ(resp.content_type, "application/json");
    kc_response_clear(&resp);
    fa_request r;
    fa_request_get(s, 0, &r);
    KT_ASSERT_STREQ(r.user, "system:node:test");
    cleanup_free char *ua = fa_request_header(&r, "User-Agent");
    cleanup_free char *accept = fa_request_header(&r, "Accept");
    KT_ASSERT_CONTAINS(ua, "knode/");
    KT_ASSERT_STREQ(accept, "application/json");
    fa_request_clear(&r);
    kc_transport_free(t);
    fa_stop(s);
}

static kc_client *client_with(kc_config *c, const kc_client_options *o)
{
    cleanup_error kn_error *err = NULL;
    kc_client *cl = NULL;
    KT_ASSERT_OK(kc_client_new(c, o, &cl, &err), err);
    return cl;
}

/* A client with client-cert auth and fast retries. */
static kc_client *cert_client(fa_server *s)
{
    cleanup_kc_config kc_config *c = kubeconfig_for(s, "ca.crt", CLIENT_CERT);
    kc_client_options o = {.retry_base_ns = 10 * KN_NSEC_PER_MSEC};
    return client_with(c, &o);
}

static fa_request nth_request(fa_server *s, size_t i)
{
    KT_ASSERT_MSG(fa_wait_requests(s, i + 1, 10000) > i, "request %zu never came", i);
    fa_request r;
    fa_request_get(s, i, &r);
    return r;
}

KT_TEST_TIMEOUT(api_client, bearer_token_auth, 30)
{
    fa_server *s = start_fake(&(fa_options){.token = "s3cret"});
    cleanup_kc_config kc_config *good = kubeconfig_for(s, "ca.crt", "{\"token\":\"s3cret\"}");
    kc_client *c = client_with(good, NULL);
    fa_expect(s, "GET", "/api/v1/nodes/n1", NULL, 200, NULL, "{\"kind\":\"Node\"}");
    cleanup_error kn_error *err = NULL;
    cleanup_cjson cJSON *node = NULL;
    KT_ASSERT_OK(kc_get(c, &kc_res_nodes, NULL, "n1", &node, &err), err);
    KT_ASSERT_STREQ(cJSON_GetObjectItem(node, "kind")->valuestring, "Node");
    fa_request r = nth_request(s, 0);
    KT_ASSERT_STREQ(r.user, "token");
    cleanup_free char *auth = fa_request_header(&r, "Authorization");
    KT_ASSERT_STREQ(auth, "Bearer s3cret");
    fa_request_clear(&r);
    kc_client_free(c);

    cleanup_kc_config kc_config *bad = kubeconfig_for(s, "ca.crt", "{\"token\":\"wrong\"}");
    c = client_with(bad, NULL);
    KT_ASSERT_FAILS(kc_get(c, &kc_res_nodes, NULL, "n1", NULL, &err));
    KT_ASSERT_EQ(kn_error_code(err), KN_EUNAUTHORIZED);
    KT_ASSERT_CONTAINS(kn_error_msg(err), "401 Unauthorized: invalid bearer token");
    kc_client_free(c);
    fa_stop(s);
}

KT_TEST_TIMEOUT(api_client, bad_ca_is_a_tls_error, 30)
{
    fa_server *s = start_fake(NULL);
    cleanup_kc_config kc_config *cfg = kubeconfig_for(s, "other-ca.crt", CLIENT_CERT);
    kc_client *c = client_with(cfg, NULL);
    cleanup_error kn_error *err = NULL;
    KT_ASSERT_FAILS(kc_get(c, &kc_res_nodes, NULL, "n1", NULL, &err));
    KT_ASSERT_EQ(kn_error_code(err), KN_EUNAUTHORIZED);
    KT_ASSERT_CONTAINS(kn_error_msg(err), "certificate");
    KT_ASSERT_EQ(fa_request_count(s), 0); /* nothing reached the server */
    kc_client_free(c);
    fa_stop(s);
}

KT_TEST_TIMEOUT(api_client, expired_client_cert_rejected, 30)
{
    fa_server *s = start_fake(NULL);
    cleanup_kc_config kc_config *cfg = kubeconfig_for(
        s, "ca.crt", "{\"client-certificate\":\"expired.crt\",\"client-key\":\"expired.key\"}");
    kc_client *c = client_with(cfg, NULL);
    cleanup_error kn_error *err = NULL;
    KT_ASSERT_FAILS(kc_get(c, &kc_res_nodes, NULL, "n1", NULL, &err));
    KT_ASSERT_EQ(kn_error_code(err), KN_EUNAUTHORIZED);
    KT_ASSERT_CONTAINS(kn_error_msg(err), "expired");
    fa_request r = nth_request(s, 0);
    KT_ASSERT(r.user == NULL);
    KT_ASSERT_EQ(r.status, 401);
    fa_request_clear(&r);
    kc_client_free(c);
    fa_stop(s);
}

KT_TEST_TIMEOUT(api_client, tls_server_name_and_path_prefix, 30)
{
    fa_server *s = start_fake(NULL);
    cleanup_kc_config kc_config *cfg = kubeconfig_for(s, "ca.crt", CLIENT_CERT);
    /* the server certificate names 127.0.0.1, localhost and kubernetes */
    free(cfg->tls_server_name);
    cfg->tls_server_name = xstrdup("kubernetes");
    free(cfg->server_path);
    cfg->server_path = xstrdup("/k8s/prefix");
    kc_client *c = client_with(cfg, NULL);
    fa_expect(s, "GET", "/k8s/prefix/api/v1/nodes/n1", NULL, 200, NULL, "{}");
    cleanup_error kn_error *err = NULL;
    KT_ASSERT_OK(kc_get(c, &kc_res_nodes, NULL, "n1", NULL, &err), err);
    fa_request r = nth_request(s, 0);
    cleanup_free char *host = fa_request_header(&r, "Host");
    cleanup_free char *want = xasprintf("127.0.0.1:%d", fa_port(s));
    KT_ASSERT_STREQ(host, want);
    fa_request_clear(&r);
    kc_client_free(c);

    free(cfg->tls_server_name);
    cfg->tls_server_name = xstrdup("not-in-the-cert.example");
    c = client_with(cfg, NULL);
    KT_ASSERT_FAILS(kc_get(c, &kc_res_nodes, NULL, "n1", NULL, &err));
    KT_ASSERT_EQ(kn_error_code(err), KN_EUNAUTHORIZED);
    kc_client_free(c);
    fa_stop(s);
}

static const char *header_of(const fa_request *r, const char *name, char **keep)
{
    free(*keep);
    *keep = fa_request_header(r, name);
    return *keep;
}

KT_TEST_TIMEOUT(api_client, verbs_send_what_upstream_sends, 30)
{
    fa_server *s = start_fake(NULL);
    kc_client *c = cert_client(s);
    const char *pods = "/api/v1/namespaces/ns1/pods";
    fa_expect(s, "POST", pods, NULL, 201, NULL, "{\"metadata\":{\"name\":\"p\"}}");
    fa_expect(s, "PUT", "/api/v1/namespaces/ns1/pods/p/status", NULL, 200, NULL, "{}");
    fa_expect(s, "PATCH", "/api/v1/namespaces/ns1/pods/p", NULL, 200, NULL, "{}");
    fa_expect(s, "PATCH", "/api/v1/namespaces/ns1/pods/p", NULL, 200, NULL, "{}");
    fa_expect(s, "PATCH", "/api/v1/namespaces/ns1/pods/p/status", NULL, 200, NULL, "{}");
    fa_expect(s, "DELETE", "/api/v1/namespaces/ns1/pods/p", NULL, 200, NULL,
              "{\"kind\":\"Status\",\"status\":\"Success\"}");
    fa_expect(s, "POST", "/api/v1/namespaces/ns1/pods/p/binding", NULL, 201, NULL, "{}");
    cleanup_error kn_error *err = NULL;
    cleanup_cjson cJSON *pod = cJSON_Parse("{\"metadata\":{\"name\":\"p\",\"namespace\":\"ns1\","
                                           "\"resourceVersion\":\"5\"},\"status\":{}}");
    cleanup_cjson cJSON *created = NULL;
    KT_ASSERT_OK(kc_create(c, &kc_res_pods, "ns1", pod, &created, &err), err);
    KT_ASSERT_OK(kc_update(c, &kc_res_pods, NULL, "status", pod, NULL, &err), err);
    KT_ASSERT_OK(kc_patch(c, &kc_res_pods, "ns1", "p", NULL, KC_PATCH_MERGE,
                          "{\"metadata\":{\"labels\":{\"a\":\"b\"}}}", NULL, &err),
                 err);
    KT_ASSERT_OK(kc_patch(c, &kc_res_pods, "ns1", "p", NULL, KC_PATCH_JSON,
                          "[{\"op\":\"remove\",\"path\":\"/metadata/labels/a\"}]", NULL, &err),
                 err);
    KT_ASSERT_OK(kc_patch(c, &kc_res_pods, "ns1", "p", "status", KC_PATCH_STRATEGIC,
                          "{\"status\":{\"phase\":\"Running\"}}", NULL, &err),
                 err);
    kc_delete_options d = {.grace_period_seconds = 0,
                           .propagation_policy = "Foreground",
                           .precondition_uid = "uid-1",
                           .precondition_resource_version = "7"};
    KT_ASSERT_OK(kc_delete(c, &kc_res_pods, "ns1", "p", &d, NULL, &err), err);
    cleanup_cjson cJSON *binding =
        cJSON_Parse("{\"kind\":\"Binding\",\"target\":{\"kind\":\"Node\",\"name\":\"n1\"}}");
    KT_ASSERT_OK(kc_create_subresource(c, &kc_res_pods, "ns1", "p", "binding", binding, NULL, &err),
                 err);

    static const char *const ctypes[] = {
        "application/json",
        "application/json",
        "application/merge-patch+json",
        "application/json-patch+json",
        "application/strategic-merge-patch+json",
        "application/json",
        "application/json",
    };
    cleanup_free char *keep = NULL;
    for (size_t i = 0; i < KN_ARRAY_SIZE(ctypes); i++) {
        fa_request r = nth_request(s, i);
        KT_ASSERT_STREQ(header_of(&r, "Content-Type", &keep), ctypes[i]);
        if (i == 1)
            KT_ASSERT_CONTAINS(r.body, "\"resourceVersion\":\"5\"");
        if (i == 5) {
            KT_ASSERT_CONTAINS(r.body, "\"gracePeriodSeconds\":0");
            KT_ASSERT_CONTAINS(r.body, "\"propagationPolicy\":\"Foreground\"");
            KT_ASSERT_CONTAINS(r.body,
                               "\"preconditions\":{\"uid\":\"uid-1\",\"resourceVersion\":\"7\"}");
        }
        if (i == 6)
            KT_ASSERT_CONTAINS(r.body, "\"kind\":\"Binding\"");
        fa_request_clear(&r);
    }
    KT_ASSERT_EQ(fa_pending(s), 0);
    kc_client_free(c);
    fa_stop(s);
}

KT_TEST_TIMEOUT(api_client, conflict_and_already_exists_kinds, 30)
{
    fa_server *s = start_fake(NULL);
    kc_client *c = cert_client(s);
    cleanup_free char *conflict = fa_status_json(
        409, "Conflict",
        "Operation cannot be fulfilled on pods \\\"p\\\": the object has been modified");
    cleanup_free char *exists =
        fa_status_json(409, "AlreadyExists", "pods \\\"p\\\" already exists");
    fa_expect(s, "PUT", "/api/v1/namespaces/ns1/pods/p", NULL, 409, NULL, conflict);
    fa_expect(s, "POST", "/api/v1/namespaces/ns1/pods", NULL, 409, NULL, exists);
    cleanup_cjson cJSON *pod = cJSON_Parse("{\"metadata\":{\"name\":\"p\"}}");
    cleanup_error kn_error *err = NULL;
    KT_ASSERT_FAILS(kc_update(c, &kc_res_pods, "ns1", NULL, pod, NULL, &err));
    KT_ASSERT_EQ(kn_error_code(err), KN_ECONFLICT);
    KT_ASSERT_CONTAINS(kn_error_msg(err), "409 Conflict: Operation cannot be fulfilled");
    kn_error_free(&err);
    KT_ASSERT_FAILS(kc_create(c, &kc_res_pods, "ns1", pod, NULL, &err));
    KT_ASSERT_EQ(kn_error_code(err), KN_EEXIST);
    KT_ASSERT_EQ(fa_request_count(s), 2); /* neither was retried */
    kc_client_free(c);
    fa_stop(s);
}

static const char *page_json(int first, int n, const char *cont)
{
    static char buf[4096];
    int off = snprintf(buf, sizeof(buf),
                       "{\"kind\":\"PodList\",\"apiVersion\":\"v1\",\"metadata\":{"
                       "\"resourceVersion\":\"100\"%s%s%s},\"items\":[",
                       cont ? ",\"continue\":\"" : "", cont ? cont : "", cont ? "\"" : "");
    for (int i = 0; i < n; i++)
        off += snprintf(buf + off, sizeof(buf) - (size_t)off, "%s{\"metadata\":{\"name\":\"p%d\"}}",
                        i ? "," : "", first + i);
    snprintf(buf + off, sizeof(buf) - (size_t)off, "]}");
    return buf;
}

static void assert_items(const cJSON *list, int n)
{
    const cJSON *items = cJSON_GetObjectItem(list, "items");
    KT_ASSERT_EQ(cJSON_GetArraySize(items), n);
    for (int i = 0; i < n; i++) {
        char want[16];
        snprintf(want, sizeof(want), "p%d", i);
        KT_ASSERT_STREQ(cJSON_GetObjectItem(
                            cJSON_GetObjectItem(cJSON_GetArrayItem(items, i), "metadata"), "name")
                            ->valuestring,
                        want);
    }
}

KT_TEST_TIMEOUT(api_client, pagination_follows_continue, 30)
{
    fa_server *s = start_fake(NULL);
    kc_client *c = cert_client(s);
    const char *path = "/api/v1/pods";
    fa_expect(s, "GET", path, NULL, 200, NULL, page_json(0, 2, "tok-1"));
    fa_expect(s, "GET", path, "continue=tok-1", 200, NULL, page_json(2, 2, "tok-2"));
    fa_expect(s, "GET", path, "continue=tok-2", 200, NULL, page_json(4, 1, NULL));
    cleanup_error kn_error *err = NULL;
    cleanup_cjson cJSON *list = NULL;
    kc_list_options o = {.limit = 2, .label_selector = "app=web"};
    KT_ASSERT_OK(kc_list_all(c, &kc_res_pods, NULL, &o, &list, &err), err);
    assert_items(list, 5);
    const cJSON *md = cJSON_GetObjectItem(list, "metadata");
    KT_ASSERT_STREQ(cJSON_GetObjectItem(md, "resourceVersion")->valuestring, "100");
    KT_ASSERT(cJSON_GetObjectItem(md, "continue") == NULL);
    fa_request r = nth_request(s, 0);
    KT_ASSERT_STREQ(r.query, "labelSelector=app=web&limit=2");
    fa_request_clear(&r);
    r = nth_request(s, 2);
    KT_ASSERT_STREQ(r.query, "labelSelector=app=web&limit=2&continue=tok-2");
    fa_request_clear(&r);
    KT_ASSERT_EQ(fa_pending(s), 0);
    kc_client_free(c);
    fa_stop(s);
}

KT_TEST_TIMEOUT(api_client, expired_continue_relists_unpaged, 30)
{
    fa_server *s = start_fake(NULL);
    kc_client *c = cert_client(s);
    cleanup_free char *expired =
        fa_status_json(410, "Expired",
                       "The provided continue parameter is too old to display a consistent list "
                       "result.");
    fa_expect(s, "GET", "/api/v1/pods", "limit=2", 200, NULL, page_json(0, 2, "tok-1"));
    fa_expect(s, "GET", "/api/v1/pods", "continue=tok-1", 410, NULL, expired);
    fa_expect(s, "GET", "/api/v1/pods", NULL, 200, NULL, page_json(0, 3, NULL));
    cleanup_error kn_error *err = NULL;
    cleanup_cjson cJSON *list = NULL;
    KT_ASSERT_OK(kc_list_all(c, &kc_res_pods, NULL, &(kc_list_options){.limit = 2}, &list, &err),
                 err);
    assert_items(list, 3);
    fa_request r = nth_request(s, 2);
    KT_ASSERT_STREQ(r.query, "");
    fa_request_clear(&r);
    kc_client_free(c);
    fa_stop(s);
}

KT_TEST_TIMEOUT(api_client, retry_after_429_is_honoured, 30)
{
    fa_server *s = start_fake(NULL);
    kc_client *c = cert_client(s);
    cleanup_free char *busy = fa_status_json(429, "TooManyRequests", "too many requests");
    fa_expect(s, "POST", "/api/v1/namespaces/ns1/pods", NULL, 429, "Retry-After: 1", busy);
    fa_expect(s, "POST", "/api/v1/namespaces/ns1/pods", NULL, 201, NULL, "{\"kind\":\"Pod\"}");
    cleanup_cjson cJSON *pod = cJSON_Parse("{\"metadata\":{\"name\":\"p\"}}");
    cleanup_error kn_error *err = NULL;
    KT_ASSERT_OK(kc_create(c, &kc_res_pods, "ns1", pod, NULL, &err), err);
    fa_request a = nth_request(s, 0), b = nth_request(s, 1);
    KT_ASSERT_EQ(a.status, 429);
    KT_ASSERT_EQ(b.status, 201);
    KT_ASSERT_STREQ(a.body, b.body);
    /* a lower bound only: the client waited at least the second asked for */
    KT_ASSERT_MSG(b.at_ns - a.at_ns >= KN_NSEC_PER_SEC, "retried after %lld ns",
                  (long long)(b.at_ns - a.at_ns));
    fa_request_clear(&a);
    fa_request_clear(&b);
    kc_client_free(c);
    fa_stop(s);
}

KT_TEST_TIMEOUT(api_client, server_errors_retry_only_when_safe, 30)
{
    fa_server *s = start_fake(NULL);
    kc_client *c = cert_client(s);
    cleanup_free char *unavailable = fa_status_json(503, "ServiceUnavailable", "try later");
    /* GET: 503 without Retry-After is retried with backoff */
    fa_expect(s, "GET", "/api/v1/nodes/n1", NULL, 503, NULL, unavailable);
    fa_expect(s, "GET", "/api/v1/nodes/n1", NULL, 200, NULL, "{}");
    cleanup_error kn_error *err = NULL;
    KT_ASSERT_OK(kc_get(c, &kc_res_nodes, NULL, "n1", NULL, &err), err);
    KT_ASSERT_EQ(fa_request_count(s), 2);
    /* POST: not retried without Retry-After */
    fa_expect(s, "POST", "/api/v1/nodes", NULL, 503, NULL, unavailable);
    cleanup_cjson cJSON *node = cJSON_Parse("{\"metadata\":{\"name\":\"n1\"}}");
    KT_ASSERT_FAILS(kc_create(c, &kc_res_nodes, NULL, node, NULL, &err));
    KT_ASSERT_EQ(kn_error_code(err), KN_EUNAVAILABLE);
    KT_ASSERT_EQ(fa_request_count(s), 3);
    kc_client_free(c);

    /* retries are bounded */
    cleanup_kc_config kc_config *cfg = kubeconfig_for(s, "ca.crt", CLIENT_CERT);
    c = client_with(cfg, &(kc_client_options){.max_retries = 2, .retry_base_ns = 1000000});
    for (int i = 0; i < 3; i++)
        fa_expect(s, "GET", "/api/v1/nodes/n2", NULL, 503, NULL, unavailable);
    kn_error_free(&err);
    KT_ASSERT_FAILS(kc_get(c, &kc_res_nodes, NULL, "n2", NULL, &err));
    KT_ASSERT_EQ(fa_request_count(s), 6);
    KT_ASSERT_CONTAINS(kn_error_msg(err), "503 ServiceUnavailable: try later");
    kc_client_free(c);
    fa_stop(s);
}

KT_TEST_TIMEOUT(api_client, bad_bodies_are_errors, 30)
{
    fa_server *s = start_fake(NULL);
    cleanup_kc_config kc_config *cfg = kubeconfig_for(s, "ca.crt", CLIENT_CERT);
    kc_client *c = client_with(cfg, &(kc_client_options){.max_response = 64});
    fa_expect(s, "GET", "/api/v1/nodes/a", NULL, 200, NULL, "this is not json");
    fa_expect(s, "GET", "/api/v1/nodes/b", NULL, 200, NULL, "{\"kind\":\"Node\",");
    fa_expect(s, "GET", "/api/v1/nodes/c", NULL, 200, NULL,
              "{\"kind\":\"Node\",\"metadata\":{\"name\":\"a-name-long-enough-to-pass-64\"}}");
    fa_expect(s, "GET", "/api/v1/nodes/d", NULL, 500, NULL, "<html>oops</html>");
    cleanup_error kn_error *err = NULL;
    /* an answer the caller discards is not parsed */
    KT_ASSERT_OK(kc_get(c, &kc_res_nodes, NULL, "a", NULL, &err), err);
    fa_expect(s, "GET", "/api/v1/nodes/a", NULL, 200, NULL, "this is not json");
    cJSON *out = NULL;
    KT_ASSERT_FAILS(kc_get(c, &kc_res_nodes, NULL, "a", &out, &err));
    KT_ASSERT_EQ(kn_error_code(err), KN_EINVAL);
    KT_ASSERT(out == NULL);
    kn_error_free(&err);
    KT_ASSERT_FAILS(kc_get(c, &kc_res_nodes, NULL, "b", &out, &err));
    KT_ASSERT_EQ(kn_error_code(err), KN_EINVAL);
    kn_error_free(&err);
    KT_ASSERT_FAILS(kc_get(c, &kc_res_nodes, NULL, "c", &out, &err));
    KT_ASSERT_EQ(kn_error_code(err), KN_ETOOLARGE);
    kn_error_free(&err);
    KT_ASSERT_FAILS(kc_get(c, &kc_res_nodes, NULL, "d", &out, &err));
    KT_ASSERT_EQ(kn_error_code(err), KN_EUNAVAILABLE);
    KT_ASSERT_CONTAINS(kn_error_msg(err),
                       "500 Internal Server Error (body: \"<html>oops</html>\")");
    kc_client_free(c);
    fa_stop(s);
}

/* ---- watches ---------------------------------------------------------------------- */

static void write_event(fa_stream *st, const char *type, const char *name, const char *rv)
{
    fa_stream_printf(st,
                     "{\"type\":\"%s\",\"object\":{\"kind\":\"Pod\",\"apiVersion\":\"v1\","
                     "\"metadata\":{\"name\":\"%s\",\"namespace\":\"default\","
                     "\"resourceVersion\":\"%s\"}}}\n",
                     type, name, rv);
}

/* Reads the next event and checks its type and resourceVersion. */
static void expect_event(kc_watch *w, kc_watch_type type, const char *rv)
{
    kc_watch_event ev;
    cleanup_error kn_error *err = NULL;
    KT_ASSERT_OK(kc_watch_next(w, &ev, &err), err);
    KT_ASSERT_MSG(ev.type == type, "got %s, want %s", kc_watch_type_name(ev.type),
                  kc_watch_type_name(type));
    KT_ASSERT_STREQ(ev.resource_version, rv);
    kc_watch_event_clear(&ev);
}

static kc_watch *open_watch(kc_client *c, const char *rv, int64_t stall_ns)
{
    kc_watch_options o = {.list = {.resource_version = rv,
                                   .allow_watch_bookmarks = true,
                                   .timeout_seconds = 30,
                                   .label_selector = "app=web"},
                          .stall_timeout_ns = stall_ns};
    cleanup_error kn_error *err = NULL;
    kc_watch *w = NULL;
    KT_ASSERT_OK(kc_watch_open(c, &kc_res_pods, "default", &o, &w, &err), err);
    return w;
}

#define PODS "/api/v1/namespaces/default/pods"

KT_TEST_TIMEOUT(api_client, watch_resumes_after_cut_stream, 30)
{
    fa_server *s = start_fake(NULL);
    kc_client *c = cert_client(s);
    fa_stream *one = fa_stream_new(), *two = fa_stream_new();
    fa_expect_stream(s, "GET", PODS, "resourceVersion=1&", one);
    fa_expect_stream(s, "GET", PODS, "resourceVersion=3&", two);
    write_event(one, "ADDED", "a", "2");
    write_event(one, "MODIFIED", "a", "3");
    fa_stream_printf(one, "{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"b\",");
    fa_stream_cut(one); /* the connection drops inside the event at resourceVersion 4 */
    write_event(two, "ADDED", "b", "4");
    write_event(two, "DELETED", "a", "5");

    kc_watch *w = open_watch(c, "1", 0);
    expect_event(w, KC_WATCH_ADDED, "2");
    expect_event(w, KC_WATCH_MODIFIED, "3");
    expect_event(w, KC_WATCH_ADDED, "4"); /* neither lost nor repeated */
    expect_event(w, KC_WATCH_DELETED, "5");
    KT_ASSERT_STREQ(kc_watch_resource_version(w), "5");
    KT_ASSERT_EQ(kc_watch_reconnects(w), 1);
    fa_request r = nth_request(s, 1);
    KT_ASSERT_STREQ(r.query, "watch=true&labelSelector=app=web&resourceVersion=3&timeoutSeconds="
                             "30&allowWatchBookmarks=true");
    fa_request_clear(&r);
    kc_watch_close(w);
    fa_stream_unref(one);
    fa_stream_unref(two);
    kc_client_free(c);
    fa_stop(s);
}

KT_TEST_TIMEOUT(api_client, watch_gone_then_relist, 30)
{
    fa_server *s = start_fake(NULL);
    kc_client *c = cert_client(s);
    fa_stream *one = fa_stream_new(), *two = fa_stream_new(), *three = fa_stream_new();
    cleanup_free char *gone = fa_status_json(410, "Expired", "too old resource version: 9 (50)");
    fa_expect_stream(s, "GET", PODS, "resourceVersion=5&", one);
    fa_expect(s, "GET", PODS, "resourceVersion=9&", 410, NULL, gone);
    write_event(one, "ADDED", "a", "6");
    fa_stream_printf(one, "{\"type\":\"BOOKMARK\",\"object\":{\"kind\":\"Pod\",\"metadata\":{"
                          "\"resourceVersion\":\"9\"}}}\n");
    fa_stream_end(one); /* timeoutSeconds reached: resume from the bookmark */

    kc_watch *w = open_watch(c, "5", 0);
    expect_event(w, KC_WATCH_ADDED, "6");
    expect_event(w, KC_WATCH_BOOKMARK, "9");
    kc_watch_event ev;
    cleanup_error kn_error *err = NULL;
    KT_ASSERT_EQ(kc_watch_next(w, &ev, &err), -KN_EGONE);
    KT_ASSERT_CONTAINS(kn_error_msg(err), "410 Expired: too old resource version");
    kn_error_free(&err);
    kc_watch_close(w);

    /* the caller relists and watches from the list's version */
    fa_expect(s, "GET", PODS, "limit=500", 200, NULL,
              "{\"kind\":\"PodList\",\"metadata\":{\"resourceVersion\":\"50\"},\"items\":[]}");
    fa_expect_stream(s, "GET", PODS, "resourceVersion=50&", two);
    cleanup_cjson cJSON *list = NULL;
    KT_ASSERT_OK(kc_list_all(c, &kc_res_pods, "default", NULL, &list, &err), err);
    w = open_watch(c, "50", 0);
    write_event(two, "ADDED", "z", "51");
    fa_stream_printf(two, "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"code\":410,"
                          "\"reason\":\"Expired\",\"message\":\"gone again\"}}\n");
    expect_event(w, KC_WATCH_ADDED, "51");
    KT_ASSERT_EQ(kc_watch_next(w, &ev, &err), -KN_EGONE);
    KT_ASSERT_CONTAINS(kn_error_msg(err), "gone again");
    kc_watch_close(w);
    fa_stream_unref(one);
    fa_stream_unref(two);
    fa_stream_unref(three);
    kc_client_free(c);
    fa_stop(s);
}

KT_TEST_TIMEOUT(api_client, watch_stall_reconnects, 30)
{
    fa_server *s = start_fake(NULL);
    kc_client *c = cert_client(s);
    fa_stream *one = fa_stream_new(), *two = fa_stream_new();
    fa_expect_stream(s, "GET", PODS, "resourceVersion=1&", one);
    fa_expect_stream(s, "GET", PODS, "resourceVersion=2&", two);
    write_event(one, "ADDED", "a", "2"); /* then silence, connection open */
    write_event(two, "ADDED", "b", "3");
    kc_watch *w = open_watch(c, "1", 300 * KN_NSEC_PER_MSEC);
    expect_event(w, KC_WATCH_ADDED, "2");
    expect_event(w, KC_WATCH_ADDED, "3");
    KT_ASSERT_EQ(kc_watch_reconnects(w), 1);
    kc_watch_close(w);
    fa_stream_end(one);
    fa_stream_unref(one);
    fa_stream_unref(two);
    kc_client_free(c);
    fa_stop(s);
}

typedef struct cancel_arg {
    kc_watch *w;
    int rc;
} cancel_arg;

static void *next_in_thread(void *p)
{
    cancel_arg *a = p;
    kc_watch_event ev;
    cleanup_error kn_error *err = NULL;
    a->rc = kc_watch_next(a->w, &ev, &err);
    return NULL;
}

KT_TEST_TIMEOUT(api_client, watch_cancel_unblocks, 30)
{
    fa_server *s = start_fake(NULL);
    kc_client *c = cert_client(s);
    fa_stream *one = fa_stream_new();
    fa_expect_stream(s, "GET", PODS, "watch=true", one);
    kc_watch *w = open_watch(c, "1", 0);
    cancel_arg a = {w, 0};
    pthread_t th;
    KT_ASSERT_EQ(pthread_create(&th, NULL, next_in_thread, &a), 0);
    kc_watch_cancel(w);
    pthread_join(th, NULL);
    KT_ASSERT_EQ(a.rc, -KN_ECANCELED);
    kc_watch_close(w);
    fa_stream_end(one);
    fa_stream_unref(one);
    kc_client_free(c);
    fa_stop(s);
}

KT_TEST_TIMEOUT(api_client, watch_large_stream_with_backpressure, 60)
{
    fa_server *s = start_fake(NULL);
    kc_client *c = cert_client(s);
    fa_stream *one = fa_stream_new();
    fa_expect_stream(s, "GET", PODS, "watch=true", one);
    /* about 6 MiB, well past the transport's 1 MiB read-ahead */
    cleanup_free char *pad = xmalloc(2048);
    memset(pad, 'x', 2047);
    pad[2047] = '\0';
    const int n = 3000;
    for (int i = 0; i < n; i++)
        fa_stream_printf(one,
                         "{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"p%d\","
                         "\"resourceVersion\":\"%d\"},\"pad\":\"%s\"}}\n",
                         i, i + 2, pad);
    kc_watch *w = open_watch(c, "1", 0);
    for (int i = 0; i < n; i++) {
        char rv[16];
        snprintf(rv, sizeof(rv), "%d", i + 2);
        expect_event(w, KC_WATCH_ADDED, rv);
    }
    KT_ASSERT_EQ(kc_watch_reconnects(w), 0);
    kc_watch_close(w);
    fa_stream_end(one);
    fa_stream_unref(one);
    kc_client_free(c);
    fa_stop(s);
}

/* ---- rate limit and logs ------------------------------------------------------------- */

typedef struct getter {
    kc_client *c;
    int n, failed;
} getter;

static void *get_n(void *p)
{
    getter *g = p;
    for (int i = 0; i < g->n; i++) {
        cleanup_error kn_error *err = NULL;
        if (kc_get(g->c, &kc_res_nodes, NULL, "n1", NULL, &err) < 0)
            g->failed++;
    }
    return NULL;
}

KT_TEST_TIMEOUT(api_client, client_side_rate_limit, 30)
{
    fa_server *s = start_fake(NULL);
    for (int i = 0; i < 3; i++)
        fa_expect(s, "GET", "/api/v1/nodes/n1", NULL, 200, NULL, "{}");
    kn_fake_clock fc;
    kn_fake_clock_init(&fc, 0);
    cleanup_kc_config kc_config *cfg = kubeconfig_for(s, "ca.crt", CLIENT_CERT);
    kc_client *c = client_with(cfg, &(kc_client_options){.qps = 1, .burst = 2, .clock = &fc.clock});
    getter g = {c, 3, 0};
    pthread_t th;
    KT_ASSERT_EQ(pthread_create(&th, NULL, get_n, &g), 0);
    /* the burst of 2 goes at once; the third waits for a token */
    KT_ASSERT_EQ(fa_wait_requests(s, 2, 10000), 2);
    kn_fake_clock_wait_for_waiters(&fc, 1);
    KT_ASSERT_EQ(fa_request_count(s), 2);
    kn_fake_clock_advance(&fc, KN_NSEC_PER_SEC);
    pthread_join(th, NULL);
    KT_ASSERT_EQ(g.failed, 0);
    KT_ASSERT_EQ(fa_request_count(s), 3);
    kc_client_free(c);
    kn_fake_clock_destroy(&fc);
    fa_stop(s);
}

KT_TEST_TIMEOUT(api_client, pod_log_stream, 30)
{
    fa_server *s = start_fake(NULL);
    kc_client *c = cert_client(s);
    fa_stream *logs = fa_stream_new();
    fa_expect_stream(s, "GET", PODS "/web/log", "container=app", logs);
    fa_stream_printf(logs, "line 1\nline 2\n");
    fa_stream_end(logs);
    kc_stream *st = NULL;
    cleanup_error kn_error *err = NULL;
    kc_log_options o = {.container = "app", .follow = true, .tail_lines = 10, .timestamps = true};
    KT_ASSERT_OK(kc_pod_logs(c, "default", "web", &o, &st, &err), err);
    cleanup_buf kn_buf text = KN_BUF_INIT;
    KT_ASSERT_OK(kc_stream_read_all(st, &text, 1 << 20, &err), err);
    KT_ASSERT_STREQ(text.data, "line 1\nline 2\n");
    kc_stream_close(st);
    fa_request r = nth_request(s, 0);
    KT_ASSERT_STREQ(r.query, "container=app&follow=true&timestamps=true&tailLines=10");
    cleanup_free char *accept = fa_request_header(&r, "Accept");
    KT_ASSERT_STREQ(accept, "*/*");
    fa_request_clear(&r);
    fa_stream_unref(logs);
    kc_client_free(c);
    fa_stop(s);
}

/* ---- informer ---------------------------------------------------------------------------- */

static char **node_index(const cJSON *obj, void *ud)
{
    (void)ud;
    const cJSON *node = cJSON_GetObjectItem(cJSON_GetObjectItem(obj, "spec"), "nodeName");
    if (!cJSON_IsString(node))
        return NULL;
    char **v = xcalloc(2, sizeof(*v));
    v[0] = xstrdup(node->valuestring);
    return v;
}

typedef struct counts {
    int adds, updates, deletes;
} counts;

static void on_add(kc_obj *o, void *ud)
{
    (void)o;
    __atomic_fetch_add(&((counts *)ud)->adds, 1, __ATOMIC_SEQ_CST);
}

static void on_update(kc_obj *a, kc_obj *b, void *ud)
{
    (void)a;
    (void)b;
    __atomic_fetch_add(&((counts *)ud)->updates, 1, __ATOMIC_SEQ_CST);
}

static void on_delete(kc_obj *o, void *ud)
{
    (void)o;
    __atomic_fetch_add(&((counts *)ud)->deletes, 1, __ATOMIC_SEQ_CST);
}

static void put_pod(fa_store *st, int i, unsigned *seed)
{
    char ns[16], name[16], spec[96];
    snprintf(ns, sizeof(ns), "ns%d", i % 3);
    snprintf(name, sizeof(name), "pod%d", i);
    snprintf(spec, sizeof(spec), "{\"nodeName\":\"node%d\",\"generation\":%d}", rand_r(seed) % 4,
             rand_r(seed));
    fa_store_put(st, ns, name, spec);
}

/* Waits (failing after a generous guard) until the informer applied rev. */
static void wait_for_revision(kc_informer *inf, int64_t rev)
{
    char want[32], got[32];
    snprintf(want, sizeof(want), "%lld", (long long)rev);
    for (int i = 0; i < 3000; i++) {
        if (strcmp(kc_informer_resource_version(inf, got, sizeof(got)), want) == 0)
            return;
        usleep(10000);
    }
    KT_FAIL("informer stuck at resourceVersion %s, want %s", got, want);
}

/* The informer's cache holds exactly the store's objects (same JSON). */
static void assert_cache_equals_list(kc_informer *inf, fa_store *st)
{
    cleanup_free char *text = fa_store_list_json(st);
    cleanup_cjson cJSON *list = cJSON_Parse(text);
    const cJSON *items = cJSON_GetObjectItem(list, "items");
    KT_ASSERT_EQ(kc_informer_len(inf), cJSON_GetArraySize(items));
    const cJSON *it;
    cJSON_ArrayForEach(it, items)
    {
        cleanup_free char *key = kc_object_key(it);
        kc_obj *o = kc_informer_get(inf, key);
        KT_ASSERT_MSG(o != NULL, "%s missing from the cache", key);
        KT_ASSERT_MSG(kn_json_equal(kc_obj_json(o), it), "%s differs", key);
        kc_obj_unref(o);
    }
    for (int n = 0; n < 3; n++) { /* the default index, built on first use */
        char ns[16];
        snprintf(ns, sizeof(ns), "ns%d", n);
        size_t cnt = 0, want = 0;
        kc_obj **v = kc_informer_by_index(inf, "namespace", ns, &cnt);
        cJSON_ArrayForEach(it, items)
        {
            const cJSON *md = cJSON_GetObjectItem(it, "metadata");
            want += strcmp(cJSON_GetObjectItem(md, "namespace")->valuestring, ns) == 0;
        }
        KT_ASSERT_EQ(cnt, want);
        kc_objs_free(v, cnt);
    }
    for (int n = 0; n < 4; n++) {
        char node[16];
        snprintf(node, sizeof(node), "node%d", n);
        size_t cnt = 0, want = 0;
        kc_obj **v = kc_informer_by_index(inf, "node", node, &cnt);
        cJSON_ArrayForEach(it, items)
        {
            const cJSON *nn = cJSON_GetObjectItem(cJSON_GetObjectItem(it, "spec"), "nodeName");
            want += strcmp(nn->valuestring, node) == 0;
        }
        KT_ASSERT_EQ(cnt, want);
        kc_objs_free(v, cnt);
    }
}

KT_TEST_TIMEOUT(api_client, informer_converges_after_random_changes, 120)
{
    fa_server *s = start_fake(NULL);
    fa_store *st = fa_store_new(s, "/api/v1/pods", "Pod");
    unsigned seed = 42;
    int next = 0;
    for (; next < 50; next++)
        put_pod(st, next, &seed);
    kc_client *c = cert_client(s);
    kc_informer *inf = kc_informer_new(c, &kc_res_pods, &(kc_informer_options){.list_page = 20});
    kc_informer_add_index(inf, "node", node_index, NULL);
    counts cnt = {0};
    kc_informer_add_handlers(inf, &(kc_informer_handlers){on_add, on_update, on_delete, &cnt});
    kn_workqueue *q = kn_workqueue_new(NULL);
    kc_informer_add_queue(inf, q);
    cleanup_error kn_error *err = NULL;
    KT_ASSERT_OK(kc_informer_start(inf, &err), err);
    KT_ASSERT(kc_informer_wait_synced(inf, 20 * KN_NSEC_PER_SEC));
    KT_ASSERT_EQ(kc_informer_len(inf), 50);

    for (int i = 0; i < 1000; i++) {
        int op = rand_r(&seed) % 10;
        if (op < 3 || fa_store_len(st) < 10) {
            put_pod(st, next++, &seed); /* create */
        } else if (op < 7) {
            put_pod(st, rand_r(&seed) % next, &seed); /* update (or re-create) */
        } else {
            int k = rand_r(&seed) % next;
            char ns[16], name[16];
            snprintf(ns, sizeof(ns), "ns%d", k % 3);
            snprintf(name, sizeof(name), "pod%d", k);
            fa_store_delete(st, ns, name);
        }
        if (i == 300) { /* the namespace index is built mid-way, then kept */
            size_t in_ns0 = 0;
            kc_objs_free(kc_informer_by_index(inf, "namespace", "ns0", &in_ns0), in_ns0);
        }
        if (i % 97 == 0)
            fa_store_bookmark(st);
        if (i % 150 == 149)
            fa_store_cut_watches(st); /* resume from the last version seen */
        if (i == 600) {
            /* the watch breaks, changes go on and are compacted away: the
             * resume gets 410 and the informer lists again */
            fa_store_hold_watches(st, true);
            fa_store_cut_watches(st);
        }
        if (i == 610) {
            fa_store_compact(st);
            fa_store_hold_watches(st, false);
        }
    }
    wait_for_revision(inf, fa_store_revision(st));
    assert_cache_equals_list(inf, st);
    KT_ASSERT_MSG(kc_informer_lists(inf) >= 2, "no relist after 410 (%d lists)",
                  kc_informer_lists(inf));
    KT_ASSERT_EQ(cnt.adds - cnt.deletes, (int)fa_store_len(st));
    KT_ASSERT(kn_workqueue_len(q) > 0);

    kc_informer_free(inf);
    kn_workqueue_shutdown(q);
    kn_workqueue_free(q);
    kc_client_free(c);
    fa_stop(s);
    fa_store_free(st);
}

/* ---- HTTP/2 ------------------------------------------------------------------------------- */

static void kill_pid(void *p)
{
    pid_t pid = (pid_t)(intptr_t)p;
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
}

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sin = {.sin_family = AF_INET};
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(sin);
    KT_ASSERT(bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0);
    KT_ASSERT(getsockname(fd, (struct sockaddr *)&sin, &len) == 0);
    close(fd);
    return ntohs(sin.sin_port);
}

static bool port_open(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool ok = connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0;
    close(fd);
    return ok;
}

/* Starts nghttpd (HTTP/2 only) serving htdocs on 127.0.0.1:port with the
 * fake server's certificate. */
static void start_nghttpd(fa_server *s, const char *htdocs, int port)
{
    cleanup_free char *key = xasprintf("%s/server.key", fa_dir(s));
    cleanup_free char *crt = xasprintf("%s/server.crt", fa_dir(s));
    cleanup_free char *docs = xasprintf("--htdocs=%s", htdocs);
    char portstr[16];
    snprintf(portstr, sizeof(portstr), "%d", port);
    pid_t pid = fork();
    KT_ASSERT(pid >= 0);
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        dup2(null, 1);
        dup2(null, 2);
        execl("/usr/sbin/nghttpd", "nghttpd", "--address=127.0.0.1", docs, portstr, key, crt,
              (char *)NULL);
        _exit(127);
    }
    kt_on_cleanup(kill_pid, (void *)(intptr_t)pid);
    for (int i = 0; i < 500 && !port_open(port); i++)
        usleep(10000);
    KT_ASSERT_MSG(port_open(port), "nghttpd did not start");
}

static kc_stream *open_get(kc_transport *t, const char *path)
{
    cleanup_error kn_error *err = NULL;
    kc_stream *st = NULL;
    KT_ASSERT_OK(kc_transport_open(t, &(kc_request){.method = "GET", .path = path}, &st, &err),
                 err);
    KT_ASSERT_EQ(kc_stream_status(st), 200);
    return st;
}

static size_t read_len(kc_stream *st)
{
    cleanup_buf kn_buf b = KN_BUF_INIT;
    cleanup_error kn_error *err = NULL;
    KT_ASSERT_OK(kc_stream_read_all(st, &b, 64 << 20, &err), err);
    return b.len;
}

KT_TEST_TIMEOUT(api_client, http2_multiplexes_streams, 60)
{
    if (access("/usr/sbin/nghttpd", X_OK) != 0)
        KT_SKIP("nghttpd (Debian nghttp2-server) is not installed");
    fa_server *s = start_fake(NULL);
    cleanup_free char *htdocs = xasprintf("%s/htdocs", kt_tmpdir());
    mkdir(htdocs, 0755);
    cleanup_free char *big = xasprintf("%s/big", htdocs), *small = xasprintf("%s/small", htdocs);
    FILE *f = fopen(big, "w");
    for (int i = 0; i < 8 << 10; i++)
        fprintf(f, "%01023d\n", i);
    fclose(f);
    f = fopen(small, "w");
    fputs("{}", f);
    fclose(f);
    int port = free_port();
    start_nghttpd(s, htdocs, port);

    cleanup_kc_config kc_config *cfg = kubeconfig_for(s, "ca.crt", "{}");
    cfg->server_port = port;
    kc_transport *t = transport_for(cfg);
    /* the big body stays in flight (the reader has not read it) while a
     * second request goes out: with HTTP/2 it shares the connection */
    kc_stream *a = open_get(t, "/big");
    KT_ASSERT_EQ(kc_stream_http_version(a), 2);
    KT_ASSERT_EQ(kc_stream_new_connections(a), 1);
    kc_stream *b = open_get(t, "/small");
    KT_ASSERT_EQ(kc_stream_http_version(b), 2);
    KT_ASSERT_EQ(kc_stream_new_connections(b), 0);
    KT_ASSERT_EQ(read_len(b), 2);
    KT_ASSERT_EQ(read_len(a), 8 << 20);
    kc_stream_close(a);
    kc_stream_close(b);
    kc_transport_free(t);
    fa_stop(s);
}

KT_TEST_TIMEOUT(api_client, http1_needs_a_connection_per_open_stream, 30)
{
    fa_server *s = start_fake(NULL);
    fa_stream *open = fa_stream_new();
    fa_expect_stream(s, "GET", "/watch", NULL, open);
    fa_expect(s, "GET", "/small", NULL, 200, NULL, "{}");
    fa_expect(s, "GET", "/small", NULL, 200, NULL, "{}");
    cleanup_kc_config kc_config *cfg = kubeconfig_for(s, "ca.crt", CLIENT_CERT);
    kc_transport *t = transport_for(cfg); /* the fake speaks HTTP/1.1 only */
    kc_stream *a = open_get(t, "/watch");
    KT_ASSERT_EQ(kc_stream_http_version(a), 1);
    kc_stream *b = open_get(t, "/small");
    KT_ASSERT_EQ(kc_stream_new_connections(b), 1);
    KT_ASSERT_EQ(read_len(b), 2);
    kc_stream_close(b);
    kc_stream *c = open_get(t, "/small"); /* keep-alive: b's connection is reused */
    KT_ASSERT_EQ(kc_stream_new_connections(c), 0);
    kc_stream_close(c);
    kc_stream_close(a);
    fa_stream_end(open);
    fa_stream_unref(open);
    kc_transport_free(t);
    fa_stop(s);
}

KT_TEST_TIMEOUT(api_client, informer_resync_and_server_side_filter, 30)
{
    fa_server *s = start_fake(NULL);
    fa_store *st = fa_store_new(s, "/api/v1/namespaces/ns1/pods", "Pod");
    unsigned seed = 1;
    put_pod(st, 3, &seed); /* ns0 in its metadata: the fake does not check */
    kc_client *c = cert_client(s);
    kc_informer *inf = kc_informer_new(c, &kc_res_pods,
                                       &(kc_informer_options){.ns = "ns1",
                                                              .field_selector = "spec.nodeName=n1",
                                                              .resync_ns = 50 * KN_NSEC_PER_MSEC});
    counts cnt = {0};
    kc_informer_add_handlers(inf, &(kc_informer_handlers){on_add, on_update, on_delete, &cnt});
    cleanup_error kn_error *err = NULL;
    KT_ASSERT_OK(kc_informer_start(inf, &err), err);
    KT_ASSERT(kc_informer_wait_synced(inf, 20 * KN_NSEC_PER_SEC));
    fa_request r = nth_request(s, 0);
    KT_ASSERT_STREQ(r.query, "fieldSelector=spec.nodeName=n1&limit=500");
    fa_request_clear(&r);
    r = nth_request(s, 1);
    KT_ASSERT_CONTAINS(r.query, "watch=true&fieldSelector=spec.nodeName=n1&resourceVersion=1&");
    fa_request_clear(&r);
    /* resync delivers the cached object again as an update */
    for (int i = 0; i < 2000 && __atomic_load_n(&cnt.updates, __ATOMIC_SEQ_CST) < 2; i++)
        usleep(10000);
    kc_informer_stop(inf);
    KT_ASSERT(cnt.updates >= 2);
    KT_ASSERT_EQ(cnt.adds, 1);
    kc_obj *o = kc_informer_get(inf, "ns0/pod3");
    KT_ASSERT(o != NULL);
    KT_ASSERT_STREQ(kc_obj_resource_version(o), "1");
    kc_obj_unref(o);
    kc_informer_free(inf);
    kc_client_free(c);
    fa_stop(s);
    fa_store_free(st);
}

KT_TEST_TIMEOUT(api_client, shared_informer_factory, 30)
{
    fa_server *s = start_fake(NULL);
    fa_store *st = fa_store_new(s, "/api/v1/pods", "Pod");
    unsigned seed = 7;
    for (int i = 0; i < 3; i++)
        put_pod(st, i, &seed);
    kc_client *c = cert_client(s);
    kc_informer_factory *f = kc_informer_factory_new(c);
    kc_informer *a = kc_informer_factory_get(f, &kc_res_pods, NULL);
    cleanup_error kn_error *err = NULL;
    KT_ASSERT_OK(kc_informer_factory_start(f, &err), err);
    KT_ASSERT(kc_informer_factory_wait_synced(f, 20 * KN_NSEC_PER_SEC));
    /* a second component asks for the same informer and gets the running one */
    KT_ASSERT(kc_informer_factory_get(f, &kc_res_pods, &(kc_informer_options){0}) == a);
    KT_ASSERT(kc_informer_running(a));
    counts late = {0};
    kc_informer_add_handlers(a, &(kc_informer_handlers){on_add, on_update, on_delete, &late});
    KT_ASSERT_EQ(late.adds, 3); /* the cache replayed to the late handler */
    kc_informer_add_index(a, "node", node_index, NULL);
    size_t total = 0;
    for (int n = 0; n < 4; n++) {
        char node[16];
        snprintf(node, sizeof(node), "node%d", n);
        size_t cnt = 0;
        kc_obj **v = kc_informer_by_index(a, "node", node, &cnt);
        kc_objs_free(v, cnt);
        total += cnt;
    }
    KT_ASSERT_EQ(total, 3);
    kc_informer *b = kc_informer_factory_get(
        f, &kc_res_pods, &(kc_informer_options){.field_selector = "spec.nodeName=node1"});
    KT_ASSERT(b != a);
    KT_ASSERT(!kc_informer_running(b));
    KT_ASSERT_OK(kc_informer_factory_start(f, &err), err);
    KT_ASSERT(kc_informer_factory_wait_synced(f, 20 * KN_NSEC_PER_SEC));
    kc_informer_factory_free(f);
    kc_client_free(c);
    fa_stop(s);
    fa_store_free(st);
}

/* ---- leases -------------------------------------------------------------------------------- */

#define LEASE "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/n1"

static char *lease_json(const char *holder, const char *renew, const char *rv)
{
    return xasprintf("{\"apiVersion\":\"coordination.k8s.io/v1\",\"kind\":\"Lease\",\"metadata\":{"
                     "\"name\":\"n1\",\"namespace\":\"kube-node-lease\",\"resourceVersion\":"
                     "\"%s\"},\"spec\":{\"holderIdentity\":\"%s\",\"leaseDurationSeconds\":40,"
                     "\"renewTime\":\"%s\",\"leaseTransitions\":2}}",
                     rv, holder, renew);
}

KT_TEST_TIMEOUT(api_client, lease_create_renew_conflict, 30)
{
    fa_server *s = start_fake(NULL);
    kc_client *c = cert_client(s);
    cleanup_free char *nf = fa_status_json(404, "NotFound", "leases \\\"n1\\\" not found");
    cleanup_free char *conflict = fa_status_json(409, "Conflict", "the object has been modified");
    cleanup_free char *mine = lease_json("n1", "2023-11-14T22:13:20.000000Z", "5");
    cleanup_free char *mine2 = lease_json("n1", "2023-11-14T22:13:25.000000Z", "6");
    fa_expect(s, "GET", LEASE, NULL, 404, NULL, nf);
    fa_expect(s, "POST", "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases", NULL,
              201, NULL, mine);
    fa_expect(s, "GET", LEASE, NULL, 200, NULL, mine);
    fa_expect(s, "PUT", LEASE, NULL, 409, NULL, conflict);
    fa_expect(s, "GET", LEASE, NULL, 200, NULL, mine2);
    fa_expect(s, "PUT", LEASE, NULL, 200, NULL, mine2);
    cleanup_cjson cJSON *owner =
        cJSON_Parse("{\"apiVersion\":\"v1\",\"kind\":\"Node\",\"name\":\"n1\",\"uid\":\"u1\"}");
    kc_lease_options o = {.ns = "kube-node-lease",
                          .name = "n1",
                          .holder = "n1",
                          .duration_s = 40,
                          .force = true,
                          .owner = owner,
                          .now_ns = INT64_C(1700000000) * KN_NSEC_PER_SEC};
    bool held = false;
    cleanup_error kn_error *err = NULL;
    KT_ASSERT_OK(kc_lease_acquire(c, &o, &held, NULL, &err), err);
    KT_ASSERT(held);
    fa_request r = nth_request(s, 1);
    KT_ASSERT_CONTAINS(r.body, "\"ownerReferences\":[{\"apiVersion\":\"v1\",\"kind\":\"Node\"");
    KT_ASSERT_CONTAINS(r.body, "\"holderIdentity\":\"n1\",\"leaseDurationSeconds\":40");
    KT_ASSERT_CONTAINS(r.body, "\"renewTime\":\"2023-11-14T22:13:20.000000Z\"");
    fa_request_clear(&r);

    o.now_ns += 10 * KN_NSEC_PER_SEC;
    KT_ASSERT_OK(kc_lease_acquire(c, &o, &held, NULL, &err), err);
    r = nth_request(s, 5); /* the second PUT, after the 409 and a fresh read */
    KT_ASSERT_CONTAINS(r.body, "\"resourceVersion\":\"6\"");
    KT_ASSERT_CONTAINS(r.body, "\"renewTime\":\"2023-11-14T22:13:30.000000Z\"");
    KT_ASSERT_CONTAINS(r.body, "\"leaseTransitions\":2"); /* same holder: no transition */
    fa_request_clear(&r);
    KT_ASSERT_EQ(fa_pending(s), 0);
    kc_client_free(c);
    fa_stop(s);
}

KT_TEST_TIMEOUT(api_client, lease_respects_another_holder_until_expiry, 30)
{
    fa_server *s = start_fake(NULL);
    kc_client *c = cert_client(s);
    cleanup_free char *theirs = lease_json("other", "2023-11-14T22:13:20.000000Z", "9");
    fa_expect(s, "GET", LEASE, NULL, 200, NULL, theirs);
    fa_expect(s, "GET", LEASE, NULL, 200, NULL, theirs);
    fa_expect(s, "PUT", LEASE, NULL, 200, NULL, theirs);
    kc_lease_options o = {.ns = "kube-node-lease",
                          .name = "n1",
                          .holder = "me",
                          .duration_s = 15,
                          .now_ns = INT64_C(1700000030) * KN_NSEC_PER_SEC}; /* 30s < 40s */
    bool held = true;
    cleanup_error kn_error *err = NULL;
    KT_ASSERT_OK(kc_lease_acquire(c, &o, &held, NULL, &err), err);
    KT_ASSERT(!held);
    KT_ASSERT_EQ(fa_request_count(s), 1);             /* nothing written */
    o.now_ns = INT64_C(1700000041) * KN_NSEC_PER_SEC; /* expired */
    KT_ASSERT_OK(kc_lease_acquire(c, &o, &held, NULL, &err), err);
    KT_ASSERT(held);
    fa_request r = nth_request(s, 2);
    KT_ASSERT_CONTAINS(r.body, "\"holderIdentity\":\"me\"");
    KT_ASSERT_CONTAINS(r.body, "\"leaseTransitions\":3");
    KT_ASSERT_CONTAINS(r.body, "\"acquireTime\":\"2023-11-14T22:14:01.000000Z\"");
    fa_request_clear(&r);
    kc_client_free(c);
    fa_stop(s);
}

KT_TEST_TIMEOUT(api_client, request_timeout, 30)
{
    fa_server *s = start_fake(NULL);
    fa_stream *never = fa_stream_new(); /* headers go out, the body never comes */
    fa_expect_stream(s, "GET", "/api/v1/nodes/slow", NULL, never);
    cleanup_kc_config kc_config *cfg = kubeconfig_for(s, "ca.crt", CLIENT_CERT);
    kc_client *c = client_with(cfg, &(kc_client_options){.timeout_ns = 300 * KN_NSEC_PER_MSEC});
    cleanup_error kn_error *err = NULL;
    KT_ASSERT_FAILS(kc_get(c, &kc_res_nodes, NULL, "slow", NULL, &err));
    KT_ASSERT_EQ(kn_error_code(err), KN_ETIMEDOUT);
    KT_ASSERT_EQ(fa_request_count(s), 1); /* a timeout is not retried */
    kc_client_free(c);
    fa_stream_end(never);
    fa_stream_unref(never);
    fa_stop(s);
}

/* test-status.c - Status decoding, error kinds, resource paths and queries. */
#include <string.h>

#include "api-client/rest.h"
#include "api-client/status.h"
#include "lib/cleanup.h"
#include "test/runner/kt.h"

KT_TEST(status, decodes_every_field)
{
    const char *body =
        "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\","
        "\"message\":\"Pod \\\"web\\\" is invalid\",\"reason\":\"Invalid\",\"details\":{"
        "\"name\":\"web\",\"kind\":\"Pod\",\"group\":\"\",\"uid\":\"u-1\",\"retryAfterSeconds\":3,"
        "\"causes\":[{\"reason\":\"FieldValueRequired\",\"message\":\"Required value\","
        "\"field\":\"spec.containers\"},{\"reason\":\"FieldValueInvalid\"}]},\"code\":422}";
    kc_status s;
    cleanup_error kn_error *err = NULL;
    KT_ASSERT_OK(kc_status_decode(body, strlen(body), &s, &err), err);
    KT_ASSERT_EQ(s.code, 422);
    KT_ASSERT_STREQ(s.status, "Failure");
    KT_ASSERT_STREQ(s.reason, "Invalid");
    KT_ASSERT_STREQ(s.message, "Pod \"web\" is invalid");
    KT_ASSERT_STREQ(s.name, "web");
    KT_ASSERT_STREQ(s.kind, "Pod");
    KT_ASSERT_STREQ(s.uid, "u-1");
    KT_ASSERT_EQ(s.retry_after_seconds, 3);
    KT_ASSERT_EQ(s.ncauses, 2);
    KT_ASSERT_STREQ(s.causes[0].field, "spec.containers");
    KT_ASSERT_STREQ(s.causes[0].reason, "FieldValueRequired");
    KT_ASSERT(s.causes[1].field == NULL);
    kc_status_clear(&s);

    KT_ASSERT_EQ(kc_status_error(422, body, strlen(body), "POST /api/v1/pods", &err), -KN_EINVAL);
    KT_ASSERT_STREQ(kn_error_msg(err),
                    "POST /api/v1/pods: 422 Invalid: Pod \"web\" is invalid; spec.containers: "
                    "Required value; FieldValueInvalid");
}

KT_TEST(status, rejects_bad_bodies)
{
    static const char *const bad[] = {
        "",
        "not json",
        "{\"kind\":\"Status\",\"code\":404", /* truncated */
        "{\"kind\":\"Pod\"}",                /* not a Status */
        "[1]",
        "{\"kind\":\"Status\",\"code\":\"404\"}", /* wrong type */
        "{\"kind\":\"Status\",\"code\":4.5}",
        "{\"kind\":\"Status\",\"details\":{\"causes\":{}}}",
        "{\"kind\":\"Status\",\"details\":{\"causes\":[1]}}",
        "{\"kind\":\"Status\"} trailing",
    };
    for (size_t i = 0; i < KN_ARRAY_SIZE(bad); i++) {
        kc_status s;
        cleanup_error kn_error *err = NULL;
        KT_ASSERT_MSG(kc_status_decode(bad[i], strlen(bad[i]), &s, &err) < 0, "decoded: %s",
                      bad[i]);
        KT_ASSERT_EQ(kn_error_code(err), KN_EINVAL);
    }
    cleanup_free char *huge = malloc(KC_STATUS_MAX_BODY + 2);
    memset(huge, ' ', KC_STATUS_MAX_BODY + 1);
    huge[KC_STATUS_MAX_BODY + 1] = '\0';
    kc_status s;
    cleanup_error kn_error *err = NULL;
    KT_ASSERT_FAILS(kc_status_decode(huge, strlen(huge), &s, &err));
    KT_ASSERT_EQ(kn_error_code(err), KN_ETOOLARGE);
}

KT_TEST(status, non_status_bodies_still_give_the_code)
{
    cleanup_error kn_error *err = NULL;
    const char *html = "<html>\n<b>Bad Gateway</b></html>";
    KT_ASSERT_EQ(kc_status_error(502, html, strlen(html), "GET /x", &err), -KN_EUNAVAILABLE);
    KT_ASSERT_STREQ(kn_error_msg(err),
                    "GET /x: 502 Bad Gateway (body: \"<html>.<b>Bad Gateway</b></html>\")");
    kn_error_free(&err);
    KT_ASSERT_EQ(kc_status_error(404, NULL, 0, NULL, &err), -KN_ENOTFOUND);
    KT_ASSERT_STREQ(kn_error_msg(err), "404 Not Found");
}

KT_TEST(status, error_kinds)
{
    KT_ASSERT_EQ(kc_status_errcode(409, "Conflict"), KN_ECONFLICT);
    KT_ASSERT_EQ(kc_status_errcode(409, "AlreadyExists"), KN_EEXIST);
    KT_ASSERT_EQ(kc_status_errcode(409, NULL), KN_ECONFLICT);
    KT_ASSERT_EQ(kc_status_errcode(410, "Expired"), KN_EGONE);
    KT_ASSERT_EQ(kc_status_errcode(410, NULL), KN_EGONE);
    KT_ASSERT_EQ(kc_status_errcode(500, "Expired"), KN_EGONE);
    KT_ASSERT_EQ(kc_status_errcode(404, "NotFound"), KN_ENOTFOUND);
    KT_ASSERT_EQ(kc_status_errcode(401, NULL), KN_EUNAUTHORIZED);
    KT_ASSERT_EQ(kc_status_errcode(403, "Forbidden"), KN_EFORBIDDEN);
    KT_ASSERT_EQ(kc_status_errcode(429, "TooManyRequests"), KN_ETOOMANY);
    KT_ASSERT_EQ(kc_status_errcode(500, "ServerTimeout"), KN_ETIMEDOUT);
    KT_ASSERT_EQ(kc_status_errcode(504, NULL), KN_ETIMEDOUT);
    KT_ASSERT_EQ(kc_status_errcode(503, NULL), KN_EUNAVAILABLE);
    KT_ASSERT_EQ(kc_status_errcode(500, "InternalError"), KN_EUNAVAILABLE);
    KT_ASSERT_EQ(kc_status_errcode(413, NULL), KN_ETOOLARGE);
    KT_ASSERT_EQ(kc_status_errcode(415, NULL), KN_ENOTSUP);
    KT_ASSERT_EQ(kc_status_errcode(422, "Invalid"), KN_EINVAL);
}

KT_TEST(rest, resource_paths)
{
    static const struct {
        const kc_resource *r;
        const char *ns, *name, *sub, *want;
    } cases[] = {
        {&kc_res_pods, "default", "web", NULL, "/api/v1/namespaces/default/pods/web"},
        {&kc_res_pods, "default", "web", "status", "/api/v1/namespaces/default/pods/web/status"},
        {&kc_res_pods, NULL, NULL, NULL, "/api/v1/pods"},
        {&kc_res_pods, "kube-system", NULL, NULL, "/api/v1/namespaces/kube-system/pods"},
        {&kc_res_nodes, "ignored", "n1", NULL, "/api/v1/nodes/n1"},
        {&kc_res_leases, "kube-node-lease", "n1", NULL,
         "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/n1"},
        {&kc_res_csrs, NULL, "csr-1", "approval",
         "/apis/certificates.k8s.io/v1/certificatesigningrequests/csr-1/approval"},
        {&kc_res_pods, "ns", "a b/c", NULL, "/api/v1/namespaces/ns/pods/a%20b%2Fc"},
    };
    for (size_t i = 0; i < KN_ARRAY_SIZE(cases); i++) {
        cleanup_buf kn_buf b = KN_BUF_INIT;
        kc_resource_path(&b, cases[i].r, cases[i].ns, cases[i].name, cases[i].sub);
        KT_ASSERT_STREQ(b.data, cases[i].want);
    }
}

KT_TEST(rest, list_and_watch_queries)
{
    kc_list_options o = {.label_selector = "app in (web,db),tier!=x",
                         .field_selector = "spec.nodeName=n1",
                         .limit = 50,
                         .continue_token = "abc=",
                         .resource_version = "0",
                         .resource_version_match = "NotOlderThan",
                         .timeout_seconds = 300,
                         .allow_watch_bookmarks = true};
    cleanup_buf kn_buf l = KN_BUF_INIT;
    kn_buf_append_str(&l, "/api/v1/pods");
    kc_list_query(&l, &o, false);
    KT_ASSERT_STREQ(l.data, "/api/v1/pods?labelSelector=app%20in%20%28web%2Cdb%29%2Ctier%21%3Dx"
                            "&fieldSelector=spec.nodeName%3Dn1&limit=50&continue=abc%3D"
                            "&resourceVersion=0&resourceVersionMatch=NotOlderThan");
    cleanup_buf kn_buf w = KN_BUF_INIT;
    kc_list_query(&w, &o, true);
    KT_ASSERT_STREQ(w.data, "?watch=true&labelSelector=app%20in%20%28web%2Cdb%29%2Ctier%21%3Dx"
                            "&fieldSelector=spec.nodeName%3Dn1&resourceVersion=0"
                            "&timeoutSeconds=300&allowWatchBookmarks=true");
    cleanup_buf kn_buf none = KN_BUF_INIT;
    kc_list_query(&none, NULL, false);
    KT_ASSERT_STREQ(none.data, "");
}

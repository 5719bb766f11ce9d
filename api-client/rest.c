/* rest.c - verbs, paths, rate limiting and retries over the transport. */
#include "api-client/rest.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "api-client/kc-internal.h"
#include "api-client/status.h"
#include "lib/backoff.h"
#include "lib/cleanup.h"
#include "lib/duration.h"
#include "lib/log.h"
#include "lib/ratelimit.h"
#include "lib/xalloc.h"

struct kc_client {
    kc_transport *t;
    kn_ratelimit *rl;
    kn_clock *clock;
    int64_t timeout_ns;
    int max_retries;
    int64_t max_wait_ns;
    int64_t retry_base_ns;
    size_t max_response;
};

const kc_resource kc_res_pods = {"", "v1", "pods", true};
const kc_resource kc_res_nodes = {"", "v1", "nodes", false};
const kc_resource kc_res_namespaces = {"", "v1", "namespaces", false};
const kc_resource kc_res_services = {"", "v1", "services", true};
const kc_resource kc_res_endpoints = {"", "v1", "endpoints", true};
const kc_resource kc_res_endpointslices = {"discovery.k8s.io", "v1", "endpointslices", true};
const kc_resource kc_res_configmaps = {"", "v1", "configmaps", true};
const kc_resource kc_res_secrets = {"", "v1", "secrets", true};
const kc_resource kc_res_serviceaccounts = {"", "v1", "serviceaccounts", true};
const kc_resource kc_res_events = {"", "v1", "events", true};
const kc_resource kc_res_leases = {"coordination.k8s.io", "v1", "leases", true};
const kc_resource kc_res_csrs = {"certificates.k8s.io", "v1", "certificatesigningrequests", false};

int kc_client_new(const kc_config *cfg, const kc_client_options *opts, kc_client **out,
                  kn_error **err)
{
    kc_client_options o = opts ? *opts : (kc_client_options){0};
    kc_transport *t = NULL;
    kc_transport_options to = {o.connect_timeout_ns, o.user_agent, o.http1_only};
    if (kc_transport_new(cfg, &to, &t, err) < 0)
        return kc_fail(err);
    kc_client *c = xcalloc(1, sizeof(*c));
    c->t = t;
    c->clock = o.clock;
    c->rl = kn_ratelimit_new(o.clock, o.qps != 0 ? o.qps : 50, o.burst ? o.burst : 100);
    c->timeout_ns = o.timeout_ns ? o.timeout_ns : 60 * KN_NSEC_PER_SEC;
    c->max_retries = o.max_retries ? o.max_retries : 10;
    c->max_wait_ns = o.max_retry_wait_ns ? o.max_retry_wait_ns : 30 * KN_NSEC_PER_SEC;
    c->retry_base_ns = o.retry_base_ns ? o.retry_base_ns : 250 * KN_NSEC_PER_MSEC;
    c->max_response = o.max_response ? o.max_response : (size_t)1 << 30;
    *out = c;
    return 0;
}

void kc_client_free(kc_client *c)
{
    if (!c)
        return;
    kc_transport_free(c->t);
    kn_ratelimit_free(c->rl);
    free(c);
}

kc_transport *kc_client_transport(kc_client *c)
{
    return c->t;
}

kc_config *kc_client_config(kc_client *c)
{
    return kc_transport_config(c->t);
}

/* ---- paths and queries ---------------------------------------------------------------- */

static void segment(kn_buf *out, const char *s)
{
    kn_buf_append_char(out, '/');
    kc_url_escape(out, s);
}

void kc_resource_path(kn_buf *out, const kc_resource *r, const char *ns, const char *name,
                      const char *subresource)
{
    if (r->group && *r->group) {
        kn_buf_append_str(out, "/apis");
        segment(out, r->group);
    } else {
        kn_buf_append_str(out, "/api");
    }
    segment(out, r->version);
    if (r->namespaced && ns && *ns) {
        kn_buf_append_str(out, "/namespaces");
        segment(out, ns);
    }
    segment(out, r->resource);
    if (name && *name) {
        segment(out, name);
        if (subresource && *subresource)
            segment(out, subresource);
    }
}

static void query_param(kn_buf *out, const char *key, const char *value)
{
    kn_buf_append_char(out, strchr(out->data, '?') ? '&' : '?');
    kn_buf_append_str(out, key);
    kn_buf_append_char(out, '=');
    kc_url_escape(out, value);
}

static void query_int(kn_buf *out, const char *key, int64_t v)
{
    char num[24];
    snprintf(num, sizeof(num), "%" PRId64, v);
    query_param(out, key, num);
}

void kc_list_query(kn_buf *out, const kc_list_options *o, bool watch)
{
    if (watch)
        query_param(out, "watch", "true");
    if (!o)
        return;
    if (o->label_selector && *o->label_selector)
        query_param(out, "labelSelector", o->label_selector);
    if (o->field_selector && *o->field_selector)
        query_param(out, "fieldSelector", o->field_selector);
    if (!watch && o->limit > 0)
        query_int(out, "limit", o->limit);
    if (!watch && o->continue_token && *o->continue_token)
        query_param(out, "continue", o->continue_token);
    if (o->resource_version)
        query_param(out, "resourceVersion", o->resource_version);
    if (!watch && o->resource_version_match && *o->resource_version_match)
        query_param(out, "resourceVersionMatch", o->resource_version_match);
    if (watch && o->timeout_seconds > 0)
        query_int(out, "timeoutSeconds", o->timeout_seconds);
    if (watch && o->allow_watch_bookmarks)
        query_param(out, "allowWatchBookmarks", "true");
}

/* ---- retries ----------------------------------------------------------------------------------
 */

static bool idempotent(const kc_request *req)
{
    return strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0;
}

/* The wait before retrying a non-2xx answer, or -1 for no retry. */
static int64_t answer_wait(const kc_request *req, int status, int retry_after, kn_backoff *b)
{
    if (status == 429 || (status >= 500 && retry_after >= 0))
        return retry_after >= 0 ? (int64_t)retry_after * KN_NSEC_PER_SEC : kn_backoff_next(b);
    if ((status == 502 || status == 503 || status == 504) && idempotent(req))
        return kn_backoff_next(b);
    return -1;
}

static void backoff_start(kc_client *c, kn_backoff *b)
{
    kn_backoff_params p = {c->retry_base_ns, 2.0, 0.2, 20, c->max_wait_ns};
    kn_backoff_init(b, &p);
}

static bool retry_wait(kc_client *c, const kc_request *req, int attempt, int64_t wait,
                       const char *why)
{
    if (wait < 0 || c->max_retries < 0 || attempt >= c->max_retries)
        return false;
    if (wait > c->max_wait_ns)
        wait = c->max_wait_ns;
    char d[32];
    KN_V(2, "api-client", "%s %s: %s; retry %d/%d in %s", req->method, req->path, why, attempt + 1,
         c->max_retries, kn_duration_format(wait, d, sizeof(d)));
    kn_clock_sleep(c->clock, wait);
    return true;
}

/* Reads a non-2xx answer's body (bounded) and closes the stream. */
static void drain_answer(kc_stream *s, kn_buf *body)
{
    cleanup_error kn_error *e = NULL;
    kc_stream_read_all(s, body, KC_STATUS_MAX_BODY, &e);
    kc_stream_close(s);
}

static int open_with_retries(kc_client *c, const kc_request *in, kc_stream **out, kn_error **err)
{
    kn_backoff b;
    backoff_start(c, &b);
    kc_request req = *in;
    if (!req.header_timeout_ns && c->timeout_ns > 0)
        req.header_timeout_ns = c->timeout_ns;
    for (int attempt = 0;; attempt++) {
        if (!kn_ratelimit_accept(c->rl))
            return kn_error_set(err, KN_ETOOMANY, "%s %s: client rate limit admits nothing",
                                req.method, req.path);
        kc_stream *s = NULL;
        cleanup_error kn_error *e = NULL;
        if (kc_transport_open(c->t, &req, &s, &e) < 0) {
            bool again = kn_error_code(e) == KN_EUNAVAILABLE && idempotent(&req);
            if (again && retry_wait(c, &req, attempt, kn_backoff_next(&b), kn_error_msg(e)))
                continue;
            return kc_error_move(err, &e);
        }
        int status = kc_stream_status(s);
        if (status >= 200 && status < 300) {
            *out = s;
            return 0;
        }
        int retry_after = kc_stream_retry_after(s);
        cleanup_buf kn_buf body = KN_BUF_INIT;
        drain_answer(s, &body);
        char why[32];
        snprintf(why, sizeof(why), "answered %d", status);
        if (retry_wait(c, &req, attempt, answer_wait(&req, status, retry_after, &b), why))
            continue;
        cleanup_free char *what = xasprintf("%s %s", req.method, req.path);
        return kc_status_error(status, body.data, body.len, what, err);
    }
}

int kc_client_stream(kc_client *c, const kc_request *req, kc_stream **out, kn_error **err)
{
    return open_with_retries(c, req, out, err);
}

int kc_client_request(kc_client *c, const kc_request *in, kc_response *resp, kn_error **err)
{
    kc_request req = *in;
    if (!req.timeout_ns && c->timeout_ns > 0)
        req.timeout_ns = c->timeout_ns;
    memset(resp, 0, sizeof(*resp));
    kn_buf_init(&resp->body);
    kc_stream *s = NULL;
    if (open_with_retries(c, &req, &s, err) < 0)
        return kc_fail(err);
    resp->status = kc_stream_status(s);
    resp->retry_after = kc_stream_retry_after(s);
    resp->http_version = kc_stream_http_version(s);
    resp->content_type = xstrdup(kc_stream_content_type(s));
    int r = kc_stream_read_all(s, &resp->body, c->max_response, err);
    kc_stream_close(s);
    if (r < 0)
        kc_response_clear(resp);
    return r;
}

/* ---- JSON verbs -------------------------------------------------------------------------------
 */

/* Runs a request and parses the answer into *out (when out is not NULL). */
static int json_call(kc_client *c, const char *method, const char *path, const char *ctype,
                     const char *body, cJSON **out, kn_error **err)
{
    kc_request req = {.method = method,
                      .path = path,
                      .content_type = body ? ctype : NULL,
                      .body = body,
                      .body_len = body ? strlen(body) : 0};
    kc_response resp;
    if (kc_client_request(c, &req, &resp, err) < 0)
        return kc_fail(err);
    int r = 0;
    if (out) {
        *out = NULL;
        r = kc_json_parse(resp.body.data, resp.body.len, 0, out, err);
        if (r == 0 && !cJSON_IsObject(*out)) {
            cJSON_Delete(*out);
            *out = NULL;
            r = kn_error_set(err, KN_EINVAL, "the answer is not a JSON object");
        }
        if (r < 0)
            kn_error_wrap(err, "%s %s: decode the answer", method, path);
    }
    kc_response_clear(&resp);
    return r;
}

int kc_get(kc_client *c, const kc_resource *r, const char *ns, const char *name, cJSON **out,
           kn_error **err)
{
    cleanup_buf kn_buf p = KN_BUF_INIT;
    kc_resource_path(&p, r, ns, name, NULL);
    return json_call(c, "GET", p.data, NULL, NULL, out, err);
}

int kc_list(kc_client *c, const kc_resource *r, const char *ns, const kc_list_options *o,
            cJSON **out, kn_error **err)
{
    cleanup_buf kn_buf p = KN_BUF_INIT;
    kc_resource_path(&p, r, ns, NULL, NULL);
    kc_list_query(&p, o, false);
    if (json_call(c, "GET", p.data, NULL, NULL, out, err) < 0)
        return kc_fail(err);
    const cJSON *items = cJSON_GetObjectItemCaseSensitive(*out, "items");
    if (items && !cJSON_IsArray(items) && !cJSON_IsNull(items)) {
        cJSON_Delete(*out);
        *out = NULL;
        return kn_error_set(err, KN_EINVAL, "GET %s: items is not a list", p.data);
    }
    return 0;
}

/* metadata.continue of a list, from its metadata. */
static const char *continue_of(const cJSON *md)
{
    const cJSON *cont = cJSON_GetObjectItemCaseSensitive(md, "continue");
    return cJSON_IsString(cont) && cont->valuestring[0] ? cont->valuestring : NULL;
}

static void drop_continue(cJSON *list)
{
    cJSON *md = cJSON_GetObjectItemCaseSensitive(list, "metadata");
    if (cJSON_IsObject(md))
        cJSON_DeleteItemFromObjectCaseSensitive(md, "continue");
}

/* The members of a list page that kc_page names. */
static int page_member(void *ud, const char *key, size_t klen, const char *val, size_t vlen,
                       kn_error **err)
{
    kc_page *pg = ud;
    if (klen == 8 && memcmp(key, "metadata", 8) == 0) {
        cJSON *md = NULL;
        if (kc_json_parse(val, vlen, 0, &md, err) < 0)
            return kn_error_wrap(err, "metadata");
        cJSON_Delete((cJSON *)pg->metadata);
        pg->metadata = md;
    } else if (klen == 5 && memcmp(key, "items", 5) == 0) {
        if (vlen == 4 && memcmp(val, "null", 4) == 0)
            return 0;
        if (val[0] != '[')
            return kn_error_set(err, KN_EINVAL, "items is not a list");
        pg->items = val;
        pg->items_len = vlen;
    }
    return 0;
}

/* GETs one page of a list without building the items' tree. */
static int get_page(kc_client *c, const char *path, kc_response *resp, kc_page *pg, kn_error **err)
{
    kc_request req = {.method = "GET", .path = path};
    if (kc_client_request(c, &req, resp, err) < 0)
        return kc_fail(err);
    *pg = (kc_page){.body = resp->body.data, .len = resp->body.len};
    if (kc_scan_object(pg->body, pg->len, page_member, pg, err) < 0) {
        cJSON_Delete((cJSON *)pg->metadata);
        pg->metadata = NULL;
        return kn_error_wrap(err, "GET %s: decode the answer", path);
    }
    return 0;
}

int kc_list_pages(kc_client *c, const kc_resource *r, const char *ns, const kc_list_options *o,
                  kc_page_fn on_page, void *ud, kn_error **err)
{
    kc_list_options po = o ? *o : (kc_list_options){0};
    if (po.limit <= 0)
        po.limit = 500;
    cleanup_free char *cont = NULL;
    for (bool unpaged = false;;) {
        cleanup_buf kn_buf p = KN_BUF_INIT;
        kc_resource_path(&p, r, ns, NULL, NULL);
        kc_list_query(&p, &po, false);
        kc_response resp;
        kc_page pg;
        cleanup_error kn_error *e = NULL;
        if (get_page(c, p.data, &resp, &pg, &e) < 0) {
            if (kn_error_code(e) != KN_EGONE || !po.continue_token || unpaged)
                return kc_error_move(err, &e);
            KN_V(2, "api-client", "list %s: continue token expired; listing in one request",
                 r->resource);
            if (on_page(ud, NULL, err) < 0) /* forget the pages so far */
                return kc_fail(err);
            po = o ? *o : (kc_list_options){0};
            po.limit = 0;
            po.continue_token = NULL;
            unpaged = true;
            continue;
        }
        const char *next = continue_of(pg.metadata);
        free(cont);
        cont = next ? xstrdup(next) : NULL;
        int rc = on_page(ud, &pg, err);
        cJSON_Delete((cJSON *)pg.metadata);
        kc_response_clear(&resp);
        if (rc < 0)
            return rc;
        if (!cont || unpaged)
            return 0;
        po.continue_token = cont;
    }
}

/* Appends the parsed items of a raw array to list's items. */
static int append_raw_items(cJSON *list, const kc_page *pg, kn_error **err)
{
    cJSON *items = NULL;
    if (pg->items && kc_json_parse(pg->items, pg->items_len, 0, &items, err) < 0)
        return -1;
    cJSON *dst = cJSON_GetObjectItemCaseSensitive(list, "items");
    if (!cJSON_IsArray(dst)) {
        cJSON_DeleteItemFromObjectCaseSensitive(list, "items");
        dst = cJSON_AddArrayToObject(list, "items");
    }
    while (items && items->child)
        cJSON_AddItemToArray(dst, cJSON_DetachItemViaPointer(items, items->child));
    cJSON_Delete(items);
    return 0;
}

/* Collects the pages of kc_list_all into one list. */
static int collect_page(void *ud, const kc_page *pg, kn_error **err)
{
    cJSON **all = ud;
    if (!pg) {
        cJSON_Delete(*all);
        *all = NULL;
        return 0;
    }
    if (*all)
        return append_raw_items(*all, pg, err);
    return kc_json_parse(pg->body, pg->len, 0, all, err);
}

int kc_list_all(kc_client *c, const kc_resource *r, const char *ns, const kc_list_options *o,
                cJSON **out, kn_error **err)
{
    cJSON *all = NULL;
    if (kc_list_pages(c, r, ns, o, collect_page, &all, err) < 0) {
        cJSON_Delete(all);
        return kc_fail(err);
    }
    drop_continue(all);
    *out = all;
    return 0;
}

int kc_create(kc_client *c, const kc_resource *r, const char *ns, const cJSON *obj, cJSON **out,
              kn_error **err)
{
    cleanup_buf kn_buf p = KN_BUF_INIT;
    kc_resource_path(&p, r, ns, NULL, NULL);
    cleanup_free char *body = cJSON_PrintUnformatted(obj);
    return json_call(c, "POST", p.data, "application/json", body, out, err);
}

int kc_update(kc_client *c, const kc_resource *r, const char *ns, const char *subresource,
              const cJSON *obj, cJSON **out, kn_error **err)
{
    const char *name = kc_meta_str(obj, "name");
    if (!name)
        return kn_error_set(err, KN_EINVAL, "update %s: metadata.name is missing", r->resource);
    if (!ns || !*ns)
        ns = kc_meta_str(obj, "namespace");
    cleanup_buf kn_buf p = KN_BUF_INIT;
    kc_resource_path(&p, r, ns, name, subresource);
    cleanup_free char *body = cJSON_PrintUnformatted(obj);
    return json_call(c, "PUT", p.data, "application/json", body, out, err);
}

int kc_patch(kc_client *c, const kc_resource *r, const char *ns, const char *name,
             const char *subresource, kc_patch_type type, const char *patch, cJSON **out,
             kn_error **err)
{
    static const char *const ctypes[] = {
        [KC_PATCH_MERGE] = "application/merge-patch+json",
        [KC_PATCH_STRATEGIC] = "application/strategic-merge-patch+json",
        [KC_PATCH_JSON] = "application/json-patch+json",
    };
    if ((unsigned)type >= KN_ARRAY_SIZE(ctypes))
        return kn_error_set(err, KN_EINVAL, "patch: unknown patch type %d", (int)type);
    cleanup_buf kn_buf p = KN_BUF_INIT;
    kc_resource_path(&p, r, ns, name, subresource);
    return json_call(c, "PATCH", p.data, ctypes[type], patch, out, err);
}

static char *delete_options_json(const kc_delete_options *o)
{
    cJSON *d = cJSON_CreateObject();
    cJSON_AddStringToObject(d, "kind", "DeleteOptions");
    cJSON_AddStringToObject(d, "apiVersion", "v1");
    if (o && o->grace_period_seconds >= 0)
        cJSON_AddNumberToObject(d, "gracePeriodSeconds", (double)o->grace_period_seconds);
    if (o && o->propagation_policy)
        cJSON_AddStringToObject(d, "propagationPolicy", o->propagation_policy);
    if (o && (o->precondition_uid || o->precondition_resource_version)) {
        cJSON *pre = cJSON_AddObjectToObject(d, "preconditions");
        if (o->precondition_uid)
            cJSON_AddStringToObject(pre, "uid", o->precondition_uid);
        if (o->precondition_resource_version)
            cJSON_AddStringToObject(pre, "resourceVersion", o->precondition_resource_version);
    }
    if (o && o->dry_run) {
        cJSON *dr = cJSON_AddArrayToObject(d, "dryRun");
        cJSON_AddItemToArray(dr, cJSON_CreateString("All"));
    }
    char *s = cJSON_PrintUnformatted(d);
    cJSON_Delete(d);
    return s;
}

int kc_delete(kc_client *c, const kc_resource *r, const char *ns, const char *name,
              const kc_delete_options *o, cJSON **out, kn_error **err)
{
    cleanup_buf kn_buf p = KN_BUF_INIT;
    kc_resource_path(&p, r, ns, name, NULL);
    kc_delete_options defaults = {.grace_period_seconds = -1};
    cleanup_free char *body = delete_options_json(o ? o : &defaults);
    return json_call(c, "DELETE", p.data, "application/json", body, out, err);
}

int kc_create_subresource(kc_client *c, const kc_resource *r, const char *ns, const char *name,
                          const char *subresource, const cJSON *body, cJSON **out, kn_error **err)
{
    cleanup_buf kn_buf p = KN_BUF_INIT;
    kc_resource_path(&p, r, ns, name, subresource);
    cleanup_free char *text = cJSON_PrintUnformatted(body);
    return json_call(c, "POST", p.data, "application/json", text, out, err);
}

int kc_pod_logs(kc_client *c, const char *ns, const char *pod, const kc_log_options *o,
                kc_stream **out, kn_error **err)
{
    cleanup_buf kn_buf p = KN_BUF_INIT;
    kc_resource_path(&p, &kc_res_pods, ns, pod, "log");
    if (o && o->container)
        query_param(&p, "container", o->container);
    if (o && o->follow)
        query_param(&p, "follow", "true");
    if (o && o->previous)
        query_param(&p, "previous", "true");
    if (o && o->timestamps)
        query_param(&p, "timestamps", "true");
    if (o && o->tail_lines > 0)
        query_int(&p, "tailLines", o->tail_lines);
    if (o && o->since_seconds > 0)
        query_int(&p, "sinceSeconds", o->since_seconds);
    if (o && o->limit_bytes > 0)
        query_int(&p, "limitBytes", o->limit_bytes);
    kc_request req = {.method = "GET", .path = p.data, .accept = "*/*"};
    return kc_client_stream(c, &req, out, err);
}

/* podlog.c - GET pods/{name}/log as kube-apiserver serves it: the options
 * validated, the container chosen, the pod's node found, and the answer of
 * the node's kubelet (/containerLogs on the address and port the Node
 * reports) streamed to the client as it arrives. The API server presents
 * its apiserver-kubelet-client certificate and, like kube-apiserver without
 * --kubelet-certificate-authority, does not verify the kubelet's serving
 * certificate. */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controlplane/apiserver-internal.h"
#include "lib/httpd.h"
#include "kubelet/logs.h"
#include "lib/cleanup.h"
#include "lib/clock.h"
#include "lib/strbuf.h"
#include "lib/xalloc.h"

#define MAX_BUFFERED (256 * 1024) /* pause the kubelet's stream beyond this */
#define MAX_ERROR_BODY 4096
#define KUBELET_PORT 10250

/* ---- the kubelet's answer, pulled through curl
 * ---------------------------------------------------- */

typedef struct kubelet_call {
    CURLM *multi;
    CURL *easy;
    kn_buf data; /* body bytes not yet handed out */
    size_t off;
    bool headers_done, done, paused;
    CURLcode result;
    int client_fd;
    char errbuf[CURL_ERROR_SIZE];
} kubelet_call;

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
    kubelet_call *c = arg;
    if (c->data.len - c->off > MAX_BUFFERED) {
        c->paused = true;
        return CURL_WRITEFUNC_PAUSE;
    }
    kn_buf_append(&c->data, p, size * n);
    return size * n;
}

static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
    kubelet_call *c = arg;
    long code = 0;
    if (size * n <= 2 && (p[0] == '\r' || p[0] == '\n') &&
        curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &code) == CURLE_OK && code >= 200)
        c->headers_done = true;
    return size * n;
}

/* Lets curl work, waiting up to wait_ms for the network. */
static void call_step(kubelet_call *c, int wait_ms)
{
    if (c->paused && c->data.len - c->off <= MAX_BUFFERED) {
        c->paused = false;
        curl_easy_pause(c->easy, CURLPAUSE_CONT);
    }
    int running = 0, left = 0;
    curl_multi_perform(c->multi, &running);
    CURLMsg *m;
    while ((m = curl_multi_info_read(c->multi, &left))) {
        if (m->msg == CURLMSG_DONE) {
            c->done = true;
            c->result = m->data.result;
        }
    }
    if (!c->done && wait_ms > 0 && c->data.len == c->off)
        curl_multi_poll(c->multi, NULL, 0, wait_ms, NULL);
}

static void call_free(void *ctx)
{
    kubelet_call *c = ctx;
    if (!c)
        return;
    curl_multi_remove_handle(c->multi, c->easy);
    curl_easy_cleanup(c->easy);
    curl_multi_cleanup(c->multi);
    kn_buf_free(&c->data);
    free(c);
}

static ssize_t call_read(void *ctx, char *buf, size_t max)
{
    kubelet_call *c = ctx;
    while (c->off == c->data.len) {
        kn_buf_reset(&c->data);
        c->off = 0;
        if (c->done || kn_http_peer_gone(c->client_fd, 0))
            return -1;
        call_step(c, 1000);
    }
    size_t n = c->data.len - c->off;
    if (n > max)
        n = max;
    memcpy(buf, c->data.data + c->off, n);
    c->off += n;
    return (ssize_t)n;
}

void api_kubelet_client_cert(const kn_apiserver *s, char **cert, char **key)
{
    *cert = xasprintf("%s/apiserver-kubelet-client.crt", s->opts.data_dir);
    *key = xasprintf("%s/apiserver-kubelet-client.key", s->opts.data_dir);
}

static kubelet_call *call_start(kn_apiserver *s, const char *url, int client_fd)
{
    kubelet_call *c = xcalloc(1, sizeof(*c));
    kn_buf_init(&c->data);
    c->client_fd = client_fd;
    c->multi = curl_multi_init();
    c->easy = curl_easy_init();
    if (!c->multi || !c->easy) {
        call_free(c);
        return NULL;
    }
    cleanup_free char *crt = NULL, *key = NULL;
    api_kubelet_client_cert(s, &crt, &key);
    CURL *e = c->easy;
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_SSLCERT, crt);
    curl_easy_setopt(e, CURLOPT_SSLKEY, key);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, 30L); /* kube-apiserver's dial timeout */
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, c);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, c);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, c->errbuf);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_multi_add_handle(c->multi, e);
    return c;
}

/* ---- the request
 * ---------------------------------------------------------------------------------- */

static const char *query(void *arg, const char *key)
{
    return kn_http_query(arg, key);
}

/* Every container name, as upstream's VisitContainers: init, app, ephemeral. */
static void container_names(const cJSON *spec, kn_buf *names, const char *want, bool *found)
{
    static const char *const lists[] = {"initContainers", "containers", "ephemeralContainers"};
    for (size_t l = 0; l < 3; l++) {
        const cJSON *c;
        cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(spec, lists[l]))
        {
            const cJSON *n = cJSON_GetObjectItemCaseSensitive(c, "name");
            if (!cJSON_IsString(n))
                continue;
            kn_buf_appendf(names, "%s%s", names->len > 1 ? " " : "", n->valuestring);
            if (want && strcmp(want, n->valuestring) == 0)
                *found = true;
        }
    }
}

/* Names of one container list, space-separated. */
static void list_names(const cJSON *list, kn_buf *out)
{
    const cJSON *c;
    cJSON_ArrayForEach(c, list)
    {
        const cJSON *n = cJSON_GetObjectItemCaseSensitive(c, "name");
        if (cJSON_IsString(n))
            kn_buf_appendf(out, "%s%s", c == list->child ? "" : " ", n->valuestring);
    }
}

/* upstream streamLocation's message when a pod has several containers. */
static char *stream_choices(const cJSON *spec, const char *pod_name)
{
    kn_buf m = KN_BUF_INIT;
    kn_buf_appendf(&m, "a container name must be specified for pod %s, choose one of: [", pod_name);
    list_names(cJSON_GetObjectItemCaseSensitive(spec, "containers"), &m);
    kn_buf_append_char(&m, ']');
    const cJSON *init = cJSON_GetObjectItemCaseSensitive(spec, "initContainers");
    if (cJSON_GetArraySize(init) > 0) {
        kn_buf_append_str(&m, " or one of the init containers: [");
        list_names(init, &m);
        kn_buf_append_char(&m, ']');
    }
    return kn_buf_steal(&m);
}

/* upstream validateContainer (logs) and streamLocation (stream): the
 * container (owned), or NULL with a BadRequest message in *why (owned). */
char *api_pod_container(const cJSON *pod, const char *name, const char *pod_name, bool stream,
                        char **why)
{
    const cJSON *spec = cJSON_GetObjectItemCaseSensitive(pod, "spec");
    kn_buf names = KN_BUF_INIT;
    kn_buf_append_char(&names, '[');
    bool found = false;
    container_names(spec, &names, name && *name ? name : NULL, &found);
    kn_buf_append_char(&names, ']');
    char *out = NULL;
    const cJSON *apps = cJSON_GetObjectItemCaseSensitive(spec, "containers");
    if (name && *name) {
        if (found)
            out = xstrdup(name);
        else
            *why = xasprintf("container %s is not valid for pod %s", name, pod_name);
    } else if (cJSON_GetArraySize(apps) == 1) {
        const cJSON *n = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(apps, 0), "name");
        out = xstrdup(cJSON_IsString(n) ? n->valuestring : "");
    } else if (cJSON_GetArraySize(apps) == 0) {
        *why = xasprintf("a container name must be specified for pod %s", pod_name);
    } else if (stream) {
        *why = stream_choices(spec, pod_name);
    } else {
        *why = xasprintf("a container name must be specified for pod %s, choose one of: %s",
                         pod_name, names.data);
    }
    kn_buf_free(&names);
    return out;
}

/* The Node's address as kube-apiserver with kubeadm's preferred types
 * (InternalIP, ExternalIP, Hostname), "[v6]" bracketed; owned or NULL. */
static char *node_address(const cJSON *node, int *port)
{
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(node, "status");
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(st, "daemonEndpoints"),
                                         "kubeletEndpoint"),
        "Port");
    *port = cJSON_IsNumber(p) && p->valuedouble > 0 && p->valuedouble < 65536 ? p->valueint
                                                                              : KUBELET_PORT;
    static const char *const types[] = {"InternalIP", "ExternalIP", "Hostname"};
    for (size_t t = 0; t < 3; t++) {
        const cJSON *a;
        cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(st, "addresses"))
        {
            const cJSON *ty = cJSON_GetObjectItemCaseSensitive(a, "type");
            const cJSON *ad = cJSON_GetObjectItemCaseSensitive(a, "address");
            if (cJSON_IsString(ty) && cJSON_IsString(ad) && *ad->valuestring &&
                strcmp(ty->valuestring, types[t]) == 0)
                return strchr(ad->valuestring, ':') ? xasprintf("[%s]", ad->valuestring)
                                                    : xstrdup(ad->valuestring);
        }
    }
    return NULL;
}

/* upstream LogLocation's query: the options the kubelet applies. */
static char *kubelet_url(const char *host, int port, const api_route *rt, const char *container,
                         kn_http_request *req, const kl_log_opts *lo)
{
    kn_buf u = KN_BUF_INIT;
    kn_buf_appendf(&u, "https://%s:%d/containerLogs/%s/%s/%s?", host, port, rt->ns, rt->name,
                   container);
    if (lo->follow)
        kn_buf_append_str(&u, "follow=true&");
    if (lo->previous)
        kn_buf_append_str(&u, "previous=true&");
    if (lo->timestamps)
        kn_buf_append_str(&u, "timestamps=true&");
    if (lo->tail_lines >= 0)
        kn_buf_appendf(&u, "tailLines=%lld&", (long long)lo->tail_lines);
    if (lo->limit_bytes >= 0)
        kn_buf_appendf(&u, "limitBytes=%lld&", (long long)lo->limit_bytes);
    static const char *const since[] = {"sinceSeconds", "sinceTime"};
    for (size_t i = 0; i < 2; i++) {
        const char *v = kn_http_query(req, since[i]);
        if (!v || !*v)
            continue;
        char *esc = curl_easy_escape(NULL, v, 0);
        kn_buf_appendf(&u, "%s=%s&", since[i], esc ? esc : "");
        curl_free(esc);
    }
    kn_buf_truncate(&u, u.len - 1); /* the last '&' or '?' */
    return kn_buf_steal(&u);
}

/* A non-2xx answer of the kubelet, as upstream's GenericHttpResponseChecker. */
static void kubelet_refused(kn_http_response *resp, kubelet_call *c, long code)
{
    while (!c->done && c->data.len < MAX_ERROR_BODY)
        call_step(c, 1000);
    kn_buf_truncate(&c->data, MAX_ERROR_BODY);
    const char *body = c->data.len ? c->data.data : "";
    if (code == 400)
        api_status(resp, 400, "BadRequest", body);
    else if (code == 404)
        api_status(resp, 404, "NotFound", body);
    else if (code == 401)
        api_status(resp, 401, "Unauthorized", body);
    else if (code == 403)
        api_status(resp, 403, "Forbidden", body);
    else
        api_status(resp, code >= 400 && code < 600 ? (int)code : 500, "InternalError", body);
}

/* Connects to the kubelet and streams its answer into resp. */
static void proxy(kn_apiserver *s, kn_http_request *req, kn_http_response *resp, const char *url)
{
    kubelet_call *c = call_start(s, url, kn_http_peer_fd(req));
    if (!c) {
        api_status(resp, 500, "InternalError", "Internal error occurred: curl");
        return;
    }
    while (!c->headers_done && !c->done && !s->stopping)
        call_step(c, 1000);
    long code = 0;
    curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &code);
    if (!c->headers_done || (c->done && c->result != CURLE_OK && code == 0)) {
        cleanup_free char *msg =
            xasprintf("Internal error occurred: Get \"%s\": %s", url,
                      c->errbuf[0] ? c->errbuf : curl_easy_strerror(c->result));
        api_status(resp, 500, "InternalError", msg);
    } else if (code < 200 || code > 206) {
        kubelet_refused(resp, c, code);
    } else {
        kn_http_respond(resp, 200, "text/plain", NULL);
        resp->stream = call_read;
        resp->stream_ctx = c;
        resp->stream_free = call_free;
        return;
    }
    call_free(c);
}

bool api_pod_kubelet(kn_apiserver *s, const api_route *rt, const cJSON *pod, const char *unbound,
                     kn_http_response *resp, char **host, int *port)
{
    const cJSON *node_name =
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(pod, "spec"), "nodeName");
    if (!cJSON_IsString(node_name) || !*node_name->valuestring) {
        api_status(resp, 400, "BadRequest", unbound);
        return false;
    }
    api_route nr = {.res = kn_resource_find("", "v1", "nodes"), .user = rt->user};
    snprintf(nr.name, sizeof(nr.name), "%s", node_name->valuestring);
    cJSON *node = NULL;
    int64_t rev;
    cleanup_error kn_error *err = NULL;
    if (api_load(s, &nr, &node, &rev, &err) < 0) {
        api_error(resp, &nr, err);
        return false;
    }
    *host = node_address(node, port);
    cJSON_Delete(node);
    if (!*host) {
        cleanup_free char *msg =
            xasprintf("node %s has no address to reach its kubelet at", nr.name);
        api_status(resp, 500, "InternalError", msg);
    }
    return *host != NULL;
}

void api_pod_log(kn_apiserver *s, const api_route *rt, kn_http_request *req, kn_http_response *resp,
                 const cJSON *pod)
{
    kl_log_opts lo;
    cleanup_error kn_error *err = NULL;
    if (kl_log_opts_parse(&lo, query, req, kn_time_wall_ns(), &err) < 0) {
        cleanup_free char *msg =
            xasprintf("PodLogOptions \"%s\" is invalid: %s", rt->name, kn_error_msg(err));
        if (kn_error_code(err) == KN_EINVAL)
            api_status(resp, 400, "BadRequest", kn_error_msg(err));
        else
            api_status(resp, 422, "Invalid", msg);
        return;
    }
    cleanup_free char *why = NULL, *host = NULL;
    cleanup_free char *container =
        api_pod_container(pod, kn_http_query(req, "container"), rt->name, false, &why);
    cleanup_free char *unbound =
        xasprintf("pod %s is not scheduled to a node yet: it has no logs", rt->name);
    int port = 0;
    if (!container) {
        api_status(resp, 400, "BadRequest", why);
    } else if (api_pod_kubelet(s, rt, pod, unbound, resp, &host, &port)) {
        cleanup_free char *url = kubelet_url(host, port, rt, container, req, &lo);
        proxy(s, req, resp, url);
    }
}

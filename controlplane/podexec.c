/* podexec.c - pods/exec, pods/attach and pods/portforward as kube-apiserver
 * serves them (ExecLocation, AttachLocation, PortForwardLocation and the
 * upgrade-aware proxy): the options read from the query, the container
 * defaulted and checked, the pod's node found, and the client's upgrade
 * request (SPDY/3.1 or WebSocket) proxied to the node's kubelet
 * (/exec|/attach/{ns}/{pod}/{container}?..., /portForward/{ns}/{pod}) with
 * the apiserver-kubelet-client certificate. After the 101 the API server
 * only moves bytes; what the runtime's streaming server does not speak it
 * refuses, and kubectl 1.30+ then falls back from WebSocket to SPDY.
 * (Upstream's API server instead translates WebSocket v5 exec/attach and
 * tunneled WebSocket port-forward into SPDY towards the kubelet; knode has
 * no SPDY, see ARCHITECTURE.md.) */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controlplane/apiserver-internal.h"
#include "controlplane/upgrade-proxy.h"
#include "lib/cleanup.h"
#include "lib/strbuf.h"
#include "lib/xalloc.h"

#define MAX_COMMAND 256

/* A query boolean as Go's strconv.ParseBool reads true. */
static bool query_bool(kn_http_request *req, const char *key)
{
    static const char *const yes[] = {"1", "t", "T", "true", "TRUE", "True"};
    const char *v = kn_http_query(req, key);
    for (size_t i = 0; v && i < sizeof(yes) / sizeof(yes[0]); i++)
        if (strcmp(v, yes[i]) == 0)
            return true;
    return false;
}

static void add_param(kn_buf *q, const char *key, const char *value)
{
    char *esc = curl_easy_escape(NULL, value, 0);
    kn_buf_appendf(q, "%s%s=%s", q->len ? "&" : "", key, esc ? esc : "");
    curl_free(esc);
}

/* upstream streamParams: PodExecOptions / PodAttachOptions as the kubelet
 * reads them (input, output, error, tty = "1"; command repeated). */
static void stream_params(kn_http_request *req, bool exec, kn_buf *q)
{
    static const char *const opts[][2] = {
        {"stdin", "input"}, {"stdout", "output"}, {"stderr", "error"}, {"tty", "tty"}};
    for (size_t i = 0; i < 4; i++)
        if (query_bool(req, opts[i][0]))
            add_param(q, opts[i][1], "1");
    if (!exec)
        return;
    const char *cmd[MAX_COMMAND];
    size_t n = kn_http_query_all(req, "command", cmd, MAX_COMMAND);
    for (size_t i = 0; i < n && i < MAX_COMMAND; i++)
        add_param(q, "command", cmd[i]);
}

/* upstream PodPortForwardOptions: ports repeated. */
static void port_params(kn_http_request *req, kn_buf *q)
{
    const char *ports[64];
    size_t n = kn_http_query_all(req, "ports", ports, 64);
    for (size_t i = 0; i < n && i < 64; i++)
        add_param(q, "port", ports[i]);
}

/* The kubelet path and query for the request (owned), or NULL with resp
 * holding the refusal. */
static char *kubelet_path(const api_route *rt, kn_http_request *req, const cJSON *pod,
                          kn_http_response *resp)
{
    kn_buf q = KN_BUF_INIT;
    char *path = NULL;
    if (strcmp(rt->sub, "portforward") == 0) {
        port_params(req, &q);
        path = xasprintf("/portForward/%s/%s", rt->ns, rt->name);
    } else {
        cleanup_free char *why = NULL;
        cleanup_free char *ctr =
            api_pod_container(pod, kn_http_query(req, "container"), rt->name, true, &why);
        if (!ctr) {
            api_status(resp, 400, "BadRequest", why);
            kn_buf_free(&q);
            return NULL;
        }
        stream_params(req, strcmp(rt->sub, "exec") == 0, &q);
        char *esc = curl_easy_escape(NULL, ctr, 0);
        path = xasprintf("/%s/%s/%s/%s", rt->sub, rt->ns, rt->name, esc ? esc : "");
        curl_free(esc);
    }
    if (q.len) {
        char *full = xasprintf("%s?%s", path, q.data);
        free(path);
        path = full;
    }
    kn_buf_free(&q);
    return path;
}

static void proxy(kn_apiserver *s, kn_http_request *req, kn_http_response *resp, const char *url)
{
    cleanup_free char *cert = NULL, *key = NULL;
    api_kubelet_client_cert(s, &cert, &key);
    kn_upgrade_target t = {.url = url, .cert_file = cert, .key_file = key};
    cleanup_error kn_error *err = NULL;
    if (kn_upgrade_proxy(req, &t, resp, &err) < 0) {
        cleanup_free char *msg = xasprintf("Internal error occurred: %s", kn_error_msg(err));
        api_status(resp, 500, "InternalError", msg);
    }
}

void api_pod_stream(kn_apiserver *s, const api_route *rt, kn_http_request *req,
                    kn_http_response *resp)
{
    if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "POST") != 0)
        return api_status(resp, 405, "MethodNotAllowed",
                          "the server does not allow this method on the requested resource");
    if (!kn_http_is_upgrade(req))
        return api_status(resp, 400, "BadRequest", "Upgrade request required");
    cJSON *pod = NULL;
    int64_t rev;
    cleanup_error kn_error *err = NULL;
    if (api_load(s, rt, &pod, &rev, &err) < 0)
        return api_error(resp, rt, err);
    cleanup_free char *path = kubelet_path(rt, req, pod, resp);
    cleanup_free char *host = NULL;
    cleanup_free char *unbound = xasprintf("pod %s does not have a host assigned", rt->name);
    int port = 0;
    if (path && api_pod_kubelet(s, rt, pod, unbound, resp, &host, &port)) {
        cleanup_free char *url = xasprintf("https://%s:%d%s", host, port, path);
        proxy(s, req, resp, url);
    }
    cJSON_Delete(pod);
}

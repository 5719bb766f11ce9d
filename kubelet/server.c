/* server.c - the kubelet's HTTPS server (see server.h). */
#include "kubelet/server.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "controlplane/apistatus.h"
#include "lib/httpd.h"
#include "controlplane/pki.h"
#include "cri/msg.h"
#include "cri/runtime.h"
#include "kubelet/logs.h"
#include "kubelet/server-internal.h"
#include "kubelet/streaming.h"
#include "lib/cleanup.h"
#include "lib/clock.h"
#include "lib/log.h"
#include "lib/xalloc.h"

#define COMPONENT "kubelet-server"

struct kl_server {
    kl_server_opts o;
    kn_httpd *httpd;
};

/* ---- certificates ------------------------------------------------------------------------------
 */

static char *read_text(const char *path, kn_error **err)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        kn_error_errno(err, errno, "read %s", path);
        return NULL;
    }
    kn_buf b = KN_BUF_INIT;
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        kn_buf_append(&b, chunk, n);
    fclose(f);
    return kn_buf_steal(&b);
}

/* upstream: <cert-dir>/kubelet.{crt,key}, made once, for the host name and
 * node IPs */
static int self_signed(const kl_server_opts *o, char **crt, char **key, kn_error **err)
{
    cleanup_free char *dir = xasprintf("%s/pki", o->node->root_dir);
    if ((mkdir(o->node->root_dir, 0755) < 0 && errno != EEXIST) ||
        (mkdir(dir, 0700) < 0 && errno != EEXIST))
        return kn_error_errno(err, errno, "create %s", dir);
    *crt = xasprintf("%s/kubelet.crt", dir);
    *key = xasprintf("%s/kubelet.key", dir);
    if (access(*crt, F_OK) == 0 && access(*key, F_OK) == 0)
        return 0;
    char host[256] = "";
    gethostname(host, sizeof(host) - 1);
    const char *dns[] = {o->node->node_name, host[0] ? host : NULL, NULL};
    const char *ips[KL_MAX_NODE_IPS + 1] = {0};
    for (int i = 0, n = 0; i < KL_MAX_NODE_IPS; i++)
        if (o->node->node_ips[i] && *o->node->node_ips[i])
            ips[n++] = o->node->node_ips[i];
    cleanup_free char *cn =
        xasprintf("%s@%lld", o->node->node_name, (long long)(kn_time_wall_ns() / 1000000000));
    KN_INFO(COMPONENT, "writing a self-signed serving certificate to %s", *crt);
    return kn_pki_self_signed_serving(cn, dns, ips, *crt, *key, err);
}

typedef struct tls_pems {
    char *cert, *key, *ca;
} tls_pems;

static void pems_free(tls_pems *p)
{
    free(p->cert);
    free(p->key);
    free(p->ca);
}

static int load_pems(const kl_server_opts *o, tls_pems *p, kn_error **err)
{
    cleanup_free char *crt = NULL, *key = NULL;
    bool given = o->tls_cert_file && *o->tls_cert_file;
    if (given != (o->tls_key_file && *o->tls_key_file))
        return kn_error_set(err, KN_EINVAL,
                            "--tls-cert-file and --tls-private-key-file go together");
    if (given) {
        crt = xstrdup(o->tls_cert_file);
        key = xstrdup(o->tls_key_file);
    } else if (self_signed(o, &crt, &key, err) < 0) {
        return -1;
    }
    p->cert = read_text(crt, err);
    p->key = p->cert ? read_text(key, err) : NULL;
    if (!p->key)
        return -1;
    if (o->client_ca_file && *o->client_ca_file)
        p->ca = read_text(o->client_ca_file, err);
    else if (o->client_ca_pem && *o->client_ca_pem)
        p->ca = xstrdup(o->client_ca_pem);
    else
        KN_WARN(COMPONENT, "no --client-ca-file: every request to the kubelet's port gets 401");
    return (o->client_ca_file && *o->client_ca_file && !p->ca) ? -1 : 0;
}

/* ---- responses ---------------------------------------------------------------------------------
 */

static void status(kn_http_response *resp, int code, const char *reason, const char *msg)
{
    kn_http_respond(resp, code, "application/json",
                    kn_status_json(code, reason, msg, NULL, NULL, NULL, NULL));
}

/* upstream writes handler errors as plain text */
void kl_server_text(kn_http_response *resp, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *body = xvasprintf(fmt, ap);
    va_end(ap);
    kn_http_respond(resp, code, "text/plain; charset=utf-8", body);
}

static bool in_group(const kn_http_cert *c, const char *group)
{
    for (size_t i = 0; i < c->norgs; i++)
        if (strcmp(c->orgs[i], group) == 0)
            return true;
    return false;
}

/* Authentication and authorization; false when resp holds the refusal. */
static bool allowed(const kn_http_request *req, kn_http_response *resp)
{
    if (!req->cert.verified) {
        status(resp, 401, "Unauthorized", "Unauthorized");
        return false;
    }
    if (in_group(&req->cert, "system:masters") ||
        strcmp(req->cert.cn, "kube-apiserver-kubelet-client") == 0)
        return true;
    const char *sub = strncmp(req->path, "/healthz", 8) == 0 ? "healthz" : "proxy";
    char msg[512];
    snprintf(msg, sizeof(msg), "Forbidden (user=%s, verb=get, resource=nodes, subresource=%s)",
             req->cert.cn, sub);
    status(resp, 403, "Forbidden", msg);
    return false;
}

/* ---- /containerLogs
 * ------------------------------------------------------------------------------ */

static const cJSON *member(const cJSON *o, const char *path)
{
    char key[64];
    while (o && *path) {
        size_t n = strcspn(path, ".");
        snprintf(key, sizeof(key), "%.*s", (int)n, path);
        o = cJSON_GetObjectItemCaseSensitive(o, key);
        path += n + (path[n] == '.');
    }
    return o;
}

static const char *member_str(const cJSON *o, const char *path)
{
    const cJSON *v = member(o, path);
    return cJSON_IsString(v) && *v->valuestring ? v->valuestring : NULL;
}

static const cJSON *container_status(const cJSON *st, const char *name)
{
    static const char *const lists[] = {"containerStatuses", "initContainerStatuses"};
    for (size_t l = 0; l < 2; l++) {
        const cJSON *c;
        cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(st, lists[l]))
        {
            const char *n = member_str(c, "name");
            if (n && strcmp(n, name) == 0)
                return c;
        }
    }
    return NULL;
}

/* The container whose log to read, as upstream's validateContainerLogStatus:
 * an owned runtime ID, or NULL with *why (owned) saying why not. */
static char *log_container(const cJSON *cs, const char *ctr, const char *pod, bool previous,
                           char **why)
{
    const char *last = member_str(cs, "lastState.terminated.containerID");
    const char *cur = member_str(cs, "containerID");
    const char *id = NULL;
    if (previous) {
        if (!(id = last))
            *why =
                xasprintf("previous terminated container \"%s\" in pod \"%s\" not found", ctr, pod);
    } else if (member(cs, "state.running")) {
        id = cur;
    } else if (member(cs, "state.terminated")) {
        id = member_str(cs, "state.terminated.containerID") ? cur : last;
        if (!id)
            *why = xasprintf("container \"%s\" in pod \"%s\" is terminated", ctr, pod);
    } else if (member(cs, "lastState.terminated")) {
        if (!(id = last))
            *why = xasprintf("container \"%s\" in pod \"%s\" is terminated", ctr, pod);
    } else {
        const char *reason = member_str(cs, "state.waiting.reason");
        if (reason && strcmp(reason, "ErrImagePull") == 0)
            *why = xasprintf("container \"%s\" in pod \"%s\" is waiting to start: image can't be "
                             "pulled",
                             ctr, pod);
        else if (reason && strcmp(reason, "ImagePullBackOff") == 0)
            *why = xasprintf("container \"%s\" in pod \"%s\" is waiting to start: trying and "
                             "failing to pull image",
                             ctr, pod);
        else if (reason)
            *why = xasprintf("container \"%s\" in pod \"%s\" is waiting to start: %s", ctr, pod,
                             reason);
        else
            *why = xasprintf("container \"%s\" in pod \"%s\" is waiting to start - no logs yet",
                             ctr, pod);
    }
    if (!id)
        return NULL;
    const char *sep = strstr(id, "://");
    return xstrdup(sep ? sep + 3 : id);
}

typedef struct log_stream {
    kl_log_reader *reader;
    cri_conn *conn;
    char *id;
} log_stream;

static bool container_running(void *arg)
{
    log_stream *ls = arg;
    Runtime__V1__ContainerStatusResponse *st = NULL;
    kn_error *err = NULL;
    bool running = cri_runtime_container_status(ls->conn, ls->id, false, &st, &err) == 0 &&
                   st->status->state == RUNTIME__V1__CONTAINER_STATE__CONTAINER_RUNNING;
    kn_error_free(&err);
    cri_msg_free(st);
    return running;
}

static ssize_t stream_read(void *ctx, char *buf, size_t max)
{
    log_stream *ls = ctx;
    ssize_t n = kl_log_reader_read(ls->reader, buf, max);
    return n > 0 ? n : -1;
}

static void stream_free(void *ctx)
{
    log_stream *ls = ctx;
    kl_log_reader_free(ls->reader);
    free(ls->id);
    free(ls);
}

/* The log path of container id from the runtime (owned), or NULL. */
static char *log_path(cri_conn *c, const char *id, kn_error **err)
{
    Runtime__V1__ContainerStatusResponse *st = NULL;
    if (cri_runtime_container_status(c, id, false, &st, err) < 0) {
        kn_error_wrap(err, "failed to get container status \"%s\"", id);
        return NULL;
    }
    char *path =
        st->status->log_path && *st->status->log_path ? xstrdup(st->status->log_path) : NULL;
    cri_msg_free(st);
    if (!path)
        kn_error_set(err, KN_ENOTFOUND, "container \"%s\" has no log path", id);
    return path;
}

static void start_stream(kl_server *s, kn_http_request *req, kn_http_response *resp,
                         const kl_log_opts *lo, char *id)
{
    cri_conn *conn = kl_kubelet_runtime(s->o.kubelet);
    cleanup_error kn_error *err = NULL;
    cleanup_free char *path = log_path(conn, id, &err);
    log_stream *ls = xcalloc(1, sizeof(*ls));
    *ls = (log_stream){.conn = conn, .id = id};
    kl_log_follow f = {.running = container_running, .arg = ls, .client_fd = kn_http_peer_fd(req)};
    if (!path || kl_log_reader_open(path, lo, &f, &ls->reader, &err) < 0) {
        kl_server_text(resp, 400, "%s", kn_error_msg(err));
        stream_free(ls);
        return;
    }
    kn_http_respond(resp, 200, "text/plain", NULL);
    resp->stream = stream_read;
    resp->stream_ctx = ls;
    resp->stream_free = stream_free;
}

static const char *query(void *arg, const char *key)
{
    return kn_http_query(arg, key);
}

/* The log of the container named by segs[0..2] (namespace, pod, container). */
static void container_logs(kl_server *s, kn_http_request *req, kn_http_response *resp,
                           char segs[3][256])
{
    static const char *const missing[] = {"Missing podNamespace.", "Missing podID.",
                                          "Missing container name."};
    for (int i = 0; i < 3; i++) {
        if (!segs[i][0]) {
            kl_server_text(resp, 400, "{\"message\": \"%s\"}", missing[i]);
            return;
        }
    }
    kl_log_opts lo;
    cleanup_error kn_error *err = NULL;
    if (kl_log_opts_parse(&lo, query, req, kn_time_wall_ns(), &err) < 0) {
        if (kn_error_code(err) == KN_EINVAL)
            kl_server_text(resp, 400, "{\"message\": \"Unable to decode query.\"}");
        else
            kl_server_text(resp, 422, "{\"message\": \"Invalid request.\"}");
        return;
    }
    kl_pod *pod = kl_kubelet_find_pod(s->o.kubelet, segs[0], segs[1]);
    if (!pod) {
        kl_server_text(resp, 404, "pod \"%s\" does not exist", segs[1]);
        return;
    }
    char *id = NULL, *why = NULL;
    if (!kl_pod_container(pod, segs[2], NULL)) {
        kl_server_text(resp, 404, "container \"%s\" not found in pod \"%s\"", segs[2], segs[1]);
    } else {
        cJSON *st = kl_kubelet_pod_status(s->o.kubelet, pod->uid);
        const cJSON *cs = container_status(st, segs[2]);
        if (!cs)
            why = xasprintf("container \"%s\" in pod \"%s\" is not available", segs[2], segs[1]);
        else
            id = log_container(cs, segs[2], segs[1], lo.previous, &why);
        cJSON_Delete(st);
    }
    kl_pod_unref(pod);
    if (id)
        start_stream(s, req, resp, &lo, id);
    else if (why)
        kl_server_text(resp, 400, "%s", why);
    free(why);
}

/* ---- routing -----------------------------------------------------------------------------------
 */

/* Splits the rest of a path into up to 3 segments; false when more. */
static bool split3(const char *p, char segs[3][256])
{
    memset(segs, 0, 3 * 256);
    for (int i = 0; *p; i++) {
        size_t n = strcspn(p, "/");
        if (i >= 3 || n >= 256)
            return false;
        memcpy(segs[i], p, n);
        p += n + (p[n] == '/');
    }
    return true;
}

static void handle(void *userdata, kn_http_request *req, kn_http_response *resp)
{
    kl_server *s = userdata;
    if (!allowed(req, resp))
        return;
    char segs[3][256];
    if (kl_streaming_serve(s->o.kubelet, req, resp))
        return;
    if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0) {
        kl_server_text(resp, 405, "405: Method Not Allowed");
    } else if (strcmp(req->path, "/healthz") == 0) {
        kl_server_text(resp, 200, "ok");
    } else if (strcmp(req->path, "/pods") == 0 || strcmp(req->path, "/pods/") == 0) {
        cJSON *list = kl_kubelet_pod_list(s->o.kubelet);
        kn_http_respond(resp, 200, "application/json", cJSON_PrintUnformatted(list));
        cJSON_Delete(list);
    } else if (strncmp(req->path, "/containerLogs/", 15) == 0 && split3(req->path + 15, segs)) {
        container_logs(s, req, resp, segs);
    } else {
        kl_server_text(resp, 404, "404 page not found\n");
    }
}

/* ---- lifecycle ---------------------------------------------------------------------------------
 */

int kl_server_start(const kl_server_opts *o, kl_server **out, kn_error **err)
{
    tls_pems p = {0};
    if (load_pems(o, &p, err) < 0) {
        pems_free(&p);
        return kn_error_wrap(err, "kubelet server");
    }
    kl_server *s = xcalloc(1, sizeof(*s));
    s->o = *o;
    kn_httpd_opts ho = {.bind_address = o->address && *o->address ? o->address : "0.0.0.0",
                        .port = o->port,
                        .cert_pem = p.cert,
                        .key_pem = p.key,
                        .client_ca_pem = p.ca,
                        .max_body = 64 * 1024,
                        .no_cache = true,
                        .handler = handle,
                        .userdata = s};
    int r = kn_httpd_start(&ho, &s->httpd, err);
    pems_free(&p); /* the server keeps its own copies */
    if (r < 0) {
        free(s);
        return kn_error_wrap(err, "kubelet server");
    }
    KN_INFO(COMPONENT, "serving on %s:%d", ho.bind_address, kn_httpd_port(s->httpd));
    *out = s;
    return 0;
}

int kl_server_port(const kl_server *s)
{
    return kn_httpd_port(s->httpd);
}

void kl_server_stop(kl_server *s)
{
    if (!s)
        return;
    kn_httpd_stop(s->httpd);
    free(s);
}

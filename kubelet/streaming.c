/* streaming.c - /exec, /attach and /portForward on the kubelet's server
 * (see streaming.h). */
#include "kubelet/streaming.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "controlplane/upgrade-proxy.h"
#include "cri/runtime.h"
#include "kubelet/runtime_state.h"
#include "kubelet/server-internal.h"
#include "lib/cleanup.h"
#include "lib/log.h"
#include "lib/xalloc.h"

#define COMPONENT "kubelet-server"
#define MAX_ARGS 256
#define MAX_PORTS 64
#define SEG_MAX 256

typedef enum { ST_EXEC, ST_ATTACH, ST_PORT_FORWARD } stream_kind;

/* The request's target: /{kind}/{ns}/{pod}[/{uid}][/{container}]. */
typedef struct target {
    stream_kind kind;
    char ns[SEG_MAX], pod[SEG_MAX], uid[SEG_MAX], container[SEG_MAX];
} target;

/* Splits p into up to 4 segments; the count, or -1 when more or too long. */
static int split(const char *p, char segs[4][SEG_MAX])
{
    int n = 0;
    while (*p) {
        size_t len = strcspn(p, "/");
        if (n >= 4 || len >= SEG_MAX || len == 0)
            return -1;
        memcpy(segs[n], p, len);
        segs[n++][len] = '\0';
        p += len + (p[len] == '/');
    }
    return n;
}

/* upstream's routes: exec and attach take 3 or 4 segments (uid optional),
 * portForward 2 or 3. */
static bool parse_target(const char *path, target *t)
{
    static const struct {
        const char *prefix;
        stream_kind kind;
    } routes[] = {{"/exec/", ST_EXEC}, {"/attach/", ST_ATTACH}, {"/portForward/", ST_PORT_FORWARD}};
    char segs[4][SEG_MAX];
    for (size_t i = 0; i < 3; i++) {
        size_t len = strlen(routes[i].prefix);
        if (strncmp(path, routes[i].prefix, len) != 0)
            continue;
        int n = split(path + len, segs);
        bool pf = routes[i].kind == ST_PORT_FORWARD;
        if (n < (pf ? 2 : 3) || n > (pf ? 3 : 4))
            return false;
        memset(t, 0, sizeof(*t));
        t->kind = routes[i].kind;
        snprintf(t->ns, SEG_MAX, "%s", segs[0]);
        snprintf(t->pod, SEG_MAX, "%s", segs[1]);
        if (n == (pf ? 3 : 4))
            snprintf(t->uid, SEG_MAX, "%s", segs[2]);
        if (!pf)
            snprintf(t->container, SEG_MAX, "%s", segs[n - 1]);
        return true;
    }
    return false;
}

/* ---- options ---- */

typedef struct stream_opts {
    bool in, out, err, tty;
    const char *cmd[MAX_ARGS + 1];
    size_t ncmd;
    int32_t ports[MAX_PORTS];
    size_t nports;
} stream_opts;

/* upstream remotecommand NewOptions; false with resp holding the 400. */
static bool read_opts(kn_http_request *req, const target *t, stream_opts *o, kn_http_response *resp)
{
    static const char *const keys[] = {"input", "output", "error", "tty"};
    bool *flags[] = {&o->in, &o->out, &o->err, &o->tty};
    for (size_t i = 0; i < 4; i++) {
        const char *v = kn_http_query(req, keys[i]);
        *flags[i] = v && strcmp(v, "1") == 0;
    }
    if (o->tty && o->err)
        o->err = false; /* stderr travels in the terminal's stream */
    if (!o->in && !o->out && !o->err) {
        kl_server_text(resp, 400, "you must specify at least 1 of stdin, stdout, stderr");
        return false;
    }
    if (t->kind == ST_EXEC) {
        o->ncmd = kn_http_query_all(req, "command", o->cmd, MAX_ARGS);
        if (o->ncmd > MAX_ARGS) {
            kl_server_text(resp, 400, "too many command arguments (at most %d)", MAX_ARGS);
            return false;
        }
    }
    return true;
}

/* One "port" value (comma-separated list) into o; false with resp set. */
static bool add_ports(const char *v, stream_opts *o, kn_http_response *resp)
{
    if (!*v) {
        kl_server_text(resp, 400, "query parameter \"port\" cannot be empty");
        return false;
    }
    cleanup_free char *copy = xstrdup(v);
    char *save = NULL;
    for (char *p = strtok_r(copy, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
        char *end;
        unsigned long port = strtoul(p, &end, 10);
        if (*end || end == p || port > 65535 || o->nports >= MAX_PORTS) {
            kl_server_text(resp, 400, "unable to parse \"%s\" as a port", v);
            return false;
        }
        if (port < 1) {
            kl_server_text(resp, 400, "port \"%s\" must be > 0", v);
            return false;
        }
        o->ports[o->nports++] = (int32_t)port;
    }
    return true;
}

/* upstream portforward NewV4Options: ports in the query for WebSocket
 * clients (SPDY clients name them per stream). */
static bool read_ports(kn_http_request *req, stream_opts *o, kn_http_response *resp)
{
    const char *vals[MAX_PORTS];
    size_t n = kn_http_query_all(req, "port", vals, MAX_PORTS);
    const char *up = kn_http_header(req, "Upgrade");
    if (!up || strcasecmp(up, "websocket") != 0)
        return true;
    if (n == 0) {
        kl_server_text(resp, 400, "query parameter \"port\" is required");
        return false;
    }
    for (size_t i = 0; i < n && i < MAX_PORTS; i++)
        if (!add_ports(vals[i], o, resp))
            return false;
    return true;
}

/* ---- the runtime ---- */

/* The running container's or the ready sandbox's ID (owned), or NULL with
 * resp holding upstream's 500. */
static char *runtime_id(kl_kubelet *k, const kl_pod *pod, const target *t, kn_http_response *resp)
{
    kl_pod_runtime *rt = NULL;
    cleanup_error kn_error *err = NULL;
    char *id = NULL;
    if (kl_runtime_get_pod(kl_kubelet_runtime(k), pod->uid, &rt, &err) < 0) {
        kl_server_text(resp, 500, "%s", kn_error_msg(err));
        return NULL;
    }
    if (t->kind == ST_PORT_FORWARD) {
        for (size_t i = 0; i < rt->n_sandboxes && !id; i++)
            if (rt->sandboxes[i].ready)
                id = xstrdup(rt->sandboxes[i].id);
        if (!id)
            kl_server_text(resp, 500, "pod not found (\"%s_%s\")", t->pod, t->ns);
    } else {
        const kl_rt_container *c = kl_rt_find(rt, t->container);
        if (c && c->state == KL_CS_RUNNING)
            id = xstrdup(c->id);
        else
            kl_server_text(resp, 500, "container not found (\"%s\")", t->container);
    }
    kl_pod_runtime_free(rt);
    return id;
}

/* The runtime's streaming URL (owned), or NULL with err. */
static char *runtime_url(kl_kubelet *k, const target *t, const char *id, const stream_opts *o,
                         kn_error **err)
{
    cri_conn *c = kl_kubelet_runtime(k);
    char *url = NULL;
    if (t->kind == ST_EXEC) {
        Runtime__V1__ExecRequest r = RUNTIME__V1__EXEC_REQUEST__INIT;
        r.container_id = (char *)id;
        r.cmd = (char **)o->cmd;
        r.n_cmd = o->ncmd;
        r.tty = o->tty;
        r.stdin = o->in;
        r.stdout = o->out;
        r.stderr = o->err;
        cri_runtime_exec(c, &r, &url, err);
    } else if (t->kind == ST_ATTACH) {
        Runtime__V1__AttachRequest r = RUNTIME__V1__ATTACH_REQUEST__INIT;
        r.container_id = (char *)id;
        r.tty = o->tty;
        r.stdin = o->in;
        r.stdout = o->out;
        r.stderr = o->err;
        cri_runtime_attach(c, &r, &url, err);
    } else {
        cri_runtime_port_forward(c, id, o->ports, o->nports, &url, err);
    }
    return url;
}

/* upstream streaming.WriteError: the gRPC code's status, the error's text. */
static void runtime_error(kn_http_response *resp, const kn_error *err)
{
    kn_errcode code = kn_error_code(err);
    int status = code == KN_ENOTFOUND ? 404 : code == KN_ETOOMANY ? 429 : 500;
    kl_server_text(resp, status, "%s", kn_error_msg(err));
}

/* The pod named by t, with a reference, or NULL with resp holding the 404. */
static kl_pod *find_pod(kl_kubelet *k, const target *t, kn_http_response *resp)
{
    kl_pod *pod = kl_kubelet_find_pod(k, t->ns, t->pod);
    if (!pod) {
        kl_server_text(resp, 404, "pod does not exist");
    } else if (t->uid[0] && strcmp(t->uid, pod->uid) != 0) {
        kl_server_text(resp, 404, "pod not found");
        kl_pod_unref(pod);
        pod = NULL;
    }
    return pod;
}

static void serve(kl_kubelet *k, kn_http_request *req, const target *t, kn_http_response *resp)
{
    stream_opts o = {0};
    if (t->kind == ST_PORT_FORWARD ? !read_ports(req, &o, resp) : !read_opts(req, t, &o, resp))
        return;
    kl_pod *pod = find_pod(k, t, resp);
    if (!pod)
        return;
    cleanup_free char *id = runtime_id(k, pod, t, resp);
    kl_pod_unref(pod);
    if (!id)
        return;
    if (!kn_http_is_upgrade(req)) {
        kl_server_text(resp, 500, "Upgrade request required");
        return;
    }
    cleanup_error kn_error *err = NULL;
    cleanup_free char *url = runtime_url(k, t, id, &o, &err);
    if (!url)
        return runtime_error(resp, err);
    kn_upgrade_target up = {.url = url};
    if (kn_upgrade_proxy(req, &up, resp, &err) < 0) {
        KN_WARN(COMPONENT, "proxy %s to the runtime: %s", req->path, kn_error_msg(err));
        kl_server_text(resp, 500, "%s", kn_error_msg(err));
    }
}

bool kl_streaming_serve(kl_kubelet *k, kn_http_request *req, kn_http_response *resp)
{
    target t;
    if (!parse_target(req->path, &t))
        return false;
    if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "POST") != 0)
        kl_server_text(resp, 405, "405: Method Not Allowed");
    else
        serve(k, req, &t, resp);
    return true;
}

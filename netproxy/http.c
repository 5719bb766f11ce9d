/* http.c - plain-HTTP healthz and metrics servers on lib/httpd. */
#include "netproxy/http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/httpd.h"
#include "lib/log.h"
#include "lib/xalloc.h"

struct np_http {
    kn_httpd *httpd;
    np_http_fn fn;
    void *ud;
};

/* ---- addresses ---- */

static int parse_port(const char *s, int *port)
{
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (!*s || *end || errno || v < 0 || v > 65535)
        return -1;
    *port = (int)v;
    return 0;
}

/* Splits "host:port" / "[v6]:port" / "host" into host (copied) and port. */
static int split_host_port(const char *s, int default_port, char *host, size_t hlen, int *port)
{
    *port = default_port;
    const char *colon = strrchr(s, ':');
    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (!close || (close[1] && close[1] != ':') || (size_t)(close - s - 1) >= hlen)
            return -1;
        snprintf(host, hlen, "%.*s", (int)(close - s - 1), s + 1);
        return close[1] ? parse_port(close + 2, port) : 0;
    }
    if (!colon || strchr(s, ':') != colon) { /* no port, or a bare IPv6 address */
        snprintf(host, hlen, "%s", s);
        return 0;
    }
    if ((size_t)(colon - s) >= hlen)
        return -1;
    snprintf(host, hlen, "%.*s", (int)(colon - s), s);
    return parse_port(colon + 1, port);
}

int np_parse_bind_address(const char *s, int default_port, struct sockaddr_storage *out,
                          socklen_t *len, kn_error **err)
{
    char host[64];
    int port = 0;
    memset(out, 0, sizeof(*out));
    if (split_host_port(s, default_port, host, sizeof(host), &port) < 0)
        return kn_error_set(err, KN_EINVAL, "invalid bind address \"%s\"", s);
    if (!host[0])
        snprintf(host, sizeof(host), "0.0.0.0");
    struct sockaddr_in *in4 = (struct sockaddr_in *)out;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)out;
    if (inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
        in4->sin_family = AF_INET;
        in4->sin_port = htons((uint16_t)port);
        *len = sizeof(*in4);
        return 0;
    }
    if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((uint16_t)port);
        *len = sizeof(*in6);
        return 0;
    }
    return kn_error_set(err, KN_EINVAL, "invalid bind address \"%s\": not an IP address", s);
}

/* ---- the server ---- */

static void on_request(void *ud, kn_http_request *req, kn_http_response *resp)
{
    np_http *h = ud;
    np_http_reply rep = {.status = 404, .content_type = "text/plain; charset=utf-8"};
    kn_buf_init(&rep.body);
    if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0) {
        rep.status = 405;
        kn_buf_append_str(&rep.body, "method not allowed\n");
    } else {
        h->fn(h->ud, req->path, &rep);
    }
    size_t len = rep.body.len;
    kn_http_respond(resp, rep.status, rep.content_type, kn_buf_steal(&rep.body));
    resp->body_len = len;
    kn_http_add_header(resp, "X-Content-Type-Options", "nosniff");
}

int np_http_start(const char *bind_address, int default_port, np_http_fn fn, void *ud,
                  np_http **out, kn_error **err)
{
    struct sockaddr_storage ss;
    socklen_t len = 0;
    if (np_parse_bind_address(bind_address, default_port, &ss, &len, err) < 0)
        return -KN_EINVAL;
    np_http *h = xcalloc(1, sizeof(*h));
    h->fn = fn;
    h->ud = ud;
    kn_httpd_opts o = {.addr = &ss,
                       .max_connections = 64,
                       .idle_timeout_s = 30,
                       .handler = on_request,
                       .userdata = h};
    if (kn_httpd_start(&o, &h->httpd, err) < 0) {
        free(h);
        return kn_error_wrap(err, "serve HTTP on %s", bind_address);
    }
    *out = h;
    return 0;
}

int np_http_port(const np_http *h)
{
    return kn_httpd_port(h->httpd);
}

void np_http_stop(np_http *h)
{
    if (!h)
        return;
    kn_httpd_stop(h->httpd);
    free(h);
}

/* ---- routes ---- */

static void health_body(np_http_status *st, bool healthz, np_http_reply *out)
{
    int64_t last = 0, now = 0;
    bool eligible = np_health_node_eligible(st->health);
    bool ok = np_health_check(st->health, &last, &now) && (eligible || !healthz);
    char lbuf[64], nbuf[64];
    np_format_go_time(last, lbuf, sizeof(lbuf));
    np_format_go_time(now, nbuf, sizeof(nbuf));
    out->status = ok ? 200 : 503;
    out->content_type = "application/json";
    kn_buf_appendf(&out->body, "{\"lastUpdated\": \"%s\",\"currentTime\": \"%s\"", lbuf, nbuf);
    if (healthz)
        kn_buf_appendf(&out->body, ", \"nodeEligible\": %s}", eligible ? "true" : "false");
    else
        kn_buf_append_str(&out->body, "}");
    np_metrics *m = st->metrics;
    pthread_mutex_lock(&m->mu);
    uint64_t *counter =
        healthz ? (ok ? &m->healthz_200 : &m->healthz_503) : (ok ? &m->livez_200 : &m->livez_503);
    (*counter)++;
    pthread_mutex_unlock(&m->mu);
}

void np_http_healthz_routes(void *ud, const char *path, np_http_reply *out)
{
    np_http_status *st = ud;
    if (strcmp(path, "/healthz") == 0)
        health_body(st, true, out);
    else if (strcmp(path, "/livez") == 0)
        health_body(st, false, out);
    else
        kn_buf_append_str(&out->body, "404 page not found\n");
}

void np_http_metrics_routes(void *ud, const char *path, np_http_reply *out)
{
    np_http_status *st = ud;
    out->status = 200;
    if (strcmp(path, "/metrics") == 0) {
        out->content_type = "text/plain; version=0.0.4; charset=utf-8";
        np_metrics_render(st->metrics, st->mode, &out->body);
    } else if (strcmp(path, "/healthz") == 0) {
        kn_buf_append_str(&out->body, "ok");
    } else if (strcmp(path, "/proxyMode") == 0) {
        kn_buf_append_str(&out->body, st->mode);
    } else {
        out->status = 404;
        kn_buf_append_str(&out->body, "404 page not found\n");
    }
}

/* http.c - /health, /ready and /metrics on lib/httpd (see http.h). */
#include "dns/http.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "lib/httpd.h"
#include "lib/log.h"
#include "lib/xalloc.h"

#define COMPONENT "dns"
#define METRICS_TYPE "text/plain; version=0.0.4; charset=utf-8"

struct dns_http {
    dns_http_config cfg;
    kn_httpd *d;
};

int dns_http_parse_address(const char *s, struct sockaddr_storage *ss, kn_error **err)
{
    char host[INET6_ADDRSTRLEN + 2];
    const char *colon = strrchr(s, ':');
    const char *h = s;
    size_t hlen = colon ? (size_t)(colon - s) : 0;
    bool bracketed = hlen >= 2 && s[0] == '[' && s[hlen - 1] == ']';
    if (bracketed) {
        h++;
        hlen -= 2;
    }
    char *end = NULL;
    long port = colon ? strtol(colon + 1, &end, 10) : -1;
    if (!colon || hlen == 0 || hlen >= sizeof(host) || !colon[1] || *end || port < 0 ||
        port > 65535)
        return kn_error_set(err, KN_EINVAL, "invalid address \"%s\" (want ip:port or [ip6]:port)",
                            s);
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    memset(ss, 0, sizeof(*ss));
    struct sockaddr_in *v4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;
    if (!bracketed && inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)port);
    } else if (bracketed && inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)port);
    } else {
        return kn_error_set(err, KN_EINVAL, "invalid address \"%s\" (want ip:port or [ip6]:port)",
                            s);
    }
    return 0;
}

static void reply_text(kn_http_response *resp, int status, const char *text)
{
    kn_http_respond(resp, status, "text/plain; charset=utf-8", xstrdup(text));
}

static void handle(void *ud, kn_http_request *req, kn_http_response *resp)
{
    dns_http *h = ud;
    if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0) {
        reply_text(resp, 405, "method not allowed\n");
    } else if (strcmp(req->path, "/health") == 0) {
        reply_text(resp, 200, "OK");
    } else if (strcmp(req->path, "/ready") == 0) {
        bool ok = !h->cfg.ready || h->cfg.ready(h->cfg.ud);
        reply_text(resp, ok ? 200 : 503, ok ? "OK" : "not ready\n");
    } else if (strcmp(req->path, "/metrics") == 0) {
        kn_buf b = KN_BUF_INIT;
        if (h->cfg.metrics)
            h->cfg.metrics(h->cfg.ud, &b);
        kn_http_respond(resp, 200, METRICS_TYPE, kn_buf_steal(&b));
    } else {
        reply_text(resp, 404, "404 page not found\n");
    }
}

int dns_http_start(const dns_http_config *cfg, dns_http **out, kn_error **err)
{
    struct sockaddr_storage ss;
    if (dns_http_parse_address(cfg->address ? cfg->address : "", &ss, err) < 0)
        return -KN_EINVAL;
    dns_http *h = xcalloc(1, sizeof(*h));
    h->cfg = *cfg;
    kn_httpd_opts o = {
        .addr = &ss, .max_connections = 64, .idle_timeout_s = 10, .handler = handle, .userdata = h};
    if (kn_httpd_start(&o, &h->d, err) < 0) {
        free(h);
        return kn_error_wrap(err, "dns http %s", cfg->address);
    }
    *out = h;
    return 0;
}

int dns_http_port(const dns_http *h)
{
    return kn_httpd_port(h->d);
}

void dns_http_stop(dns_http *h)
{
    if (!h)
        return;
    kn_httpd_stop(h->d);
    free(h);
}

/* http.c - /health, /ready and /metrics on libmicrohttpd (see http.h). */
#include "dns/http.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "lib/log.h"
#include "lib/xalloc.h"

#define COMPONENT "dns"
#define METRICS_TYPE "text/plain; version=0.0.4; charset=utf-8"

struct dns_http {
    dns_http_config cfg;
    struct MHD_Daemon *d;
    int port;
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

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned status, const char *type,
                             char *body, size_t len)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(
        len, body, body ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    enum MHD_Result ret = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result reply_text(struct MHD_Connection *conn, unsigned status, const char *text)
{
    return reply(conn, status, "text/plain; charset=utf-8", xstrdup(text), strlen(text));
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_size, void **state)
{
    dns_http *h = cls;
    (void)version;
    (void)upload;
    if (!*state) { /* first call: headers only */
        *state = h;
        return MHD_YES;
    }
    if (*upload_size) { /* ignore any body */
        *upload_size = 0;
        return MHD_YES;
    }
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
        return reply_text(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed\n");
    if (strcmp(url, "/health") == 0)
        return reply_text(conn, MHD_HTTP_OK, "OK");
    if (strcmp(url, "/ready") == 0) {
        bool ok = !h->cfg.ready || h->cfg.ready(h->cfg.ud);
        return ok ? reply_text(conn, MHD_HTTP_OK, "OK")
                  : reply_text(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "not ready\n");
    }
    if (strcmp(url, "/metrics") == 0) {
        kn_buf b = KN_BUF_INIT;
        if (h->cfg.metrics)
            h->cfg.metrics(h->cfg.ud, &b);
        size_t len = b.len;
        return reply(conn, MHD_HTTP_OK, METRICS_TYPE, kn_buf_steal(&b), len);
    }
    return reply_text(conn, MHD_HTTP_NOT_FOUND, "404 page not found\n");
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    char msg[512];
    (void)cls;
    vsnprintf(msg, sizeof(msg), fmt, ap);
    size_t n = strlen(msg);
    while (n > 0 && msg[n - 1] == '\n')
        msg[--n] = '\0';
    KN_WARN(COMPONENT, "http: %s", msg);
}

static int bound_port(struct MHD_Daemon *d)
{
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_LISTEN_FD);
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    if (!info || getsockname(info->listen_fd, (struct sockaddr *)&ss, &len) != 0)
        return -1;
    if (ss.ss_family == AF_INET6)
        return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

int dns_http_start(const dns_http_config *cfg, dns_http **out, kn_error **err)
{
    struct sockaddr_storage ss;
    if (dns_http_parse_address(cfg->address ? cfg->address : "", &ss, err) < 0)
        return -KN_EINVAL;
    dns_http *h = xcalloc(1, sizeof(*h));
    h->cfg = *cfg;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
    if (ss.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    h->d =
        MHD_start_daemon(flags, 0, NULL, NULL, handle, h, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
                         MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss, MHD_OPTION_CONNECTION_LIMIT,
                         64u, MHD_OPTION_CONNECTION_TIMEOUT, 10u, MHD_OPTION_END);
    if (!h->d) {
        free(h);
        return kn_error_set(err, KN_EIO, "cannot listen on %s", cfg->address);
    }
    h->port = bound_port(h->d);
    *out = h;
    return 0;
}

int dns_http_port(const dns_http *h)
{
    return h->port;
}

void dns_http_stop(dns_http *h)
{
    if (!h)
        return;
    MHD_stop_daemon(h->d);
    free(h);
}

/* daemon.c - feed, forwarder, server and HTTP endpoint wired together
 * (see daemon.h). */
#include "dns/daemon.h"

#include <arpa/inet.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns/feed.h"
#include "dns/forward.h"
#include "dns/http.h"
#include "dns/server.h"
#include "dns/zone.h"
#include "lib/cleanup.h"
#include "lib/log.h"
#include "lib/xalloc.h"

#define COMPONENT "dns"
#define STARTUP_TIMEOUT_NS (5 * 1000 * 1000 * 1000LL)
#define MAX_THREADS 64
#define MAX_TTL 3600

/* A NULL-terminated list of owned strings. */
typedef struct strlist {
    char **v;
    size_t n;
} strlist;

static void strlist_add(strlist *l, char *s)
{
    l->v = xreallocarray(l->v, l->n + 2, sizeof(*l->v));
    l->v[l->n++] = s;
    l->v[l->n] = NULL;
}

static void strlist_free(strlist *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    *l = (strlist){0};
}

struct dns_daemon {
    strlist listen;   /* "ip:port" / "[ip6]:port" for the server */
    strlist ns_ips;   /* the cluster DNS addresses, for ns.dns.<zone> */
    strlist upstream; /* as given */
    char *resolv_conf, *domain;
    int threads;
    int64_t startup_timeout_ns;
    dns_zone_holder *zones;
    dns_forwarder *fwd;
    dns_feed *feed;
    dns_http *http;
    dns_server *srv; /* set once serving; read by the HTTP thread */
};

/* ---- checking the flags ------------------------------------------------------------ */

static int bad_flag(kn_error **err, const char *flag, const char *value, const char *why)
{
    return kn_error_set(err, KN_EINVAL, "invalid value \"%s\" for --%s: %s", value, flag, why);
}

/* Splits a comma-separated list (spaces around items ignored) into out. */
static void split_list(const char *s, strlist *out)
{
    while (s && *s) {
        const char *end = strchr(s, ',');
        size_t n = end ? (size_t)(end - s) : strlen(s);
        while (n > 0 && (s[0] == ' ' || s[0] == '\t')) {
            s++;
            n--;
        }
        while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
            n--;
        if (n > 0)
            strlist_add(out, xstrndup(s, n));
        s = end ? end + 1 : NULL;
    }
}

/* Each IP of the flag's list becomes "ip:port" in listen (and the bare IP
 * in ips when not NULL). */
static int listen_ips(const char *flag, const char *value, long long port, strlist *listen,
                      strlist *ips, kn_error **err)
{
    strlist items = {0};
    split_list(value, &items);
    for (size_t i = 0; i < items.n; i++) {
        uint8_t b[16];
        bool v6 = inet_pton(AF_INET6, items.v[i], b) == 1;
        if (!v6 && inet_pton(AF_INET, items.v[i], b) != 1) {
            bad_flag(err, flag, value, "want IP addresses (the port is --dns-port)");
            strlist_free(&items);
            return -KN_EINVAL;
        }
        strlist_add(listen, xasprintf(v6 ? "[%s]:%lld" : "%s:%lld", items.v[i], port));
        if (ips)
            strlist_add(ips, xstrdup(items.v[i]));
    }
    strlist_free(&items);
    return 0;
}

static int check_upstreams(const char *value, strlist *out, kn_error **err)
{
    split_list(value, out);
    for (size_t i = 0; i < out->n; i++) {
        struct sockaddr_storage ss;
        socklen_t len;
        kn_error *e = NULL;
        if (dns_parse_hostport(out->v[i], 53, &ss, &len, &e) < 0) {
            bad_flag(err, "dns-upstream", value, kn_error_msg(e));
            kn_error_free(&e);
            return -KN_EINVAL;
        }
    }
    return 0;
}

static int check_numbers(const dns_daemon_config *cfg, kn_error **err)
{
    char v[32];
    if (cfg->port < 1 || cfg->port > 65535) {
        snprintf(v, sizeof(v), "%lld", cfg->port);
        return bad_flag(err, "dns-port", v, "want 1..65535");
    }
    if (cfg->ttl < 0 || cfg->ttl > MAX_TTL) {
        snprintf(v, sizeof(v), "%lld", cfg->ttl);
        return bad_flag(err, "dns-ttl", v, "want 0..3600 seconds");
    }
    if (cfg->threads < 0 || cfg->threads > MAX_THREADS) {
        snprintf(v, sizeof(v), "%lld", cfg->threads);
        return bad_flag(err, "dns-threads", v, "want 0 (one per core) to 64");
    }
    return 0;
}

static int check_strings(const dns_daemon_config *cfg, kn_error **err)
{
    const char *pods = cfg->pods ? cfg->pods : "";
    if (strcmp(pods, "insecure") != 0 && strcmp(pods, "disabled") != 0)
        return bad_flag(err, "dns-pods", pods, "want insecure or disabled");
    const char *domain = cfg->cluster_domain ? cfg->cluster_domain : "";
    dns_zone_config zc;
    dns_zone_config_default(&zc);
    zc.domain = domain;
    dns_zone *z = NULL;
    dns_model empty = {0};
    kn_error *e = NULL;
    if (dns_zone_build(&zc, &empty, &z, &e) < 0) {
        kn_error_free(&e);
        return bad_flag(err, "cluster-domain", domain, "want a DNS name");
    }
    dns_zone_free(z);
    if (!cfg->upstream || !cfg->upstream[0]) {
        if (!cfg->resolv_conf || !cfg->resolv_conf[0])
            return kn_error_set(err, KN_EINVAL,
                                "no upstream resolvers: set --dns-upstream or --dns-resolv-conf");
    }
    return 0;
}

/* Checks cfg and fills the lists of d. */
static int parse_config(const dns_daemon_config *cfg, dns_daemon *d, kn_error **err)
{
    if (check_numbers(cfg, err) < 0 || check_strings(cfg, err) < 0)
        return -KN_EINVAL;
    const char *la = cfg->listen_address ? cfg->listen_address : "";
    if (listen_ips("dns-listen-address", la, cfg->port, &d->listen, &d->ns_ips, err) < 0 ||
        listen_ips("dns-local-address", cfg->local_address, cfg->port, &d->listen, NULL, err) < 0 ||
        check_upstreams(cfg->upstream, &d->upstream, err) < 0)
        return -KN_EINVAL;
    if (d->listen.n == 0)
        return bad_flag(err, "dns-listen-address", la, "want at least one IP address");
    struct sockaddr_storage ss;
    kn_error *e = NULL;
    const char *ha = cfg->health_address ? cfg->health_address : "";
    if (ha[0] && dns_http_parse_address(ha, &ss, &e) < 0) {
        bad_flag(err, "dns-health-address", ha, "want ip:port or [ip6]:port");
        kn_error_free(&e);
        return -KN_EINVAL;
    }
    return 0;
}

void dns_daemon_config_default(dns_daemon_config *cfg)
{
    *cfg = (dns_daemon_config){
        .listen_address = "10.96.0.10",
        .local_address = "",
        .port = 53,
        .ttl = 5,
        .pods = "insecure",
        .upstream = "",
        .resolv_conf = "/etc/resolv.conf",
        .threads = 0,
        .health_address = "127.0.0.1:8080",
        .cluster_domain = "cluster.local",
    };
}

int dns_daemon_config_check(const dns_daemon_config *cfg, kn_error **err)
{
    dns_daemon d = {0};
    int r = parse_config(cfg, &d, err);
    strlist_free(&d.listen);
    strlist_free(&d.ns_ips);
    strlist_free(&d.upstream);
    return r;
}

/* ---- the parts ------------------------------------------------------------------ */

static int make_forwarder(dns_daemon *d, kn_error **err)
{
    dns_forward_config fc;
    dns_forward_config_default(&fc);
    fc.upstreams = (const char *const *)d->upstream.v;
    fc.nupstreams = d->upstream.n;
    fc.resolv_conf = d->resolv_conf;
    if (dns_forwarder_new(&fc, &d->fwd, err) < 0)
        return kn_error_wrap(err, d->upstream.n ? "--dns-upstream" : "--dns-resolv-conf");
    char buf[64];
    for (size_t i = 0; i < dns_forwarder_nupstreams(d->fwd); i++)
        KN_V(1, COMPONENT, "upstream resolver %s",
             dns_forwarder_upstream(d->fwd, i, buf, sizeof(buf)));
    return 0;
}

static int make_feed(dns_daemon *d, const dns_daemon_config *cfg, kc_informer_factory *factory,
                     kn_error **err)
{
    dns_feed_config fc;
    dns_feed_config_default(&fc);
    fc.zone.domain = d->domain;
    fc.zone.ttl = (uint32_t)cfg->ttl;
    fc.zone.pods = strcmp(cfg->pods, "disabled") == 0 ? DNS_PODS_DISABLED : DNS_PODS_INSECURE;
    fc.zone.ns_ips = (const char *const *)d->ns_ips.v;
    fc.zone.nns_ips = d->ns_ips.n;
    fc.lean_cache = cfg->lean_cache;
    /* until the first snapshot: SERVFAIL for cluster names, not NXDOMAIN
     * and not a question to the upstreams */
    dns_zone_config pc = fc.zone;
    pc.unsynced = true;
    dns_zone *placeholder = NULL;
    dns_model empty = {0};
    if (dns_zone_build(&pc, &empty, &placeholder, err) < 0)
        return -1;
    d->zones = dns_zone_holder_new(placeholder);
    if (dns_feed_new(factory, &fc, d->zones, &d->feed, err) < 0)
        return -1;
    return dns_feed_start(d->feed, err);
}

static bool http_ready(void *ud)
{
    dns_daemon *d = ud;
    return dns_feed_ready(d->feed) && __atomic_load_n(&d->srv, __ATOMIC_ACQUIRE) != NULL;
}

static void http_metrics(void *ud, kn_buf *out)
{
    dns_daemon *d = ud;
    dns_server *srv = __atomic_load_n(&d->srv, __ATOMIC_ACQUIRE);
    if (srv)
        dns_server_metrics(srv, out);
    dns_feed_metrics(d->feed, out);
}

static int make_http(dns_daemon *d, const char *address, kn_error **err)
{
    if (!address || !address[0])
        return 0;
    dns_http_config hc = {address, http_ready, http_metrics, d};
    if (dns_http_start(&hc, &d->http, err) < 0)
        return kn_error_wrap(err, "--dns-health-address");
    KN_INFO(COMPONENT, "health, readiness and metrics on http://%s (/health /ready /metrics)",
            address);
    return 0;
}

int dns_daemon_new(const dns_daemon_config *cfg, kc_informer_factory *factory, dns_daemon **out,
                   kn_error **err)
{
    dns_daemon *d = xcalloc(1, sizeof(*d));
    d->resolv_conf = xstrdup(cfg->resolv_conf ? cfg->resolv_conf : "");
    d->domain = xstrdup(cfg->cluster_domain ? cfg->cluster_domain : "");
    d->threads = (int)cfg->threads;
    d->startup_timeout_ns =
        cfg->startup_timeout_ns > 0 ? cfg->startup_timeout_ns : STARTUP_TIMEOUT_NS;
    if (parse_config(cfg, d, err) < 0 || make_forwarder(d, err) < 0 ||
        make_feed(d, cfg, factory, err) < 0 || make_http(d, cfg->health_address, err) < 0) {
        dns_daemon_free(d);
        return -1;
    }
    *out = d;
    return 0;
}

int dns_daemon_serve(dns_daemon *d, kn_error **err)
{
    if (!dns_feed_wait_ready(d->feed, d->startup_timeout_ns))
        KN_WARN(COMPONENT,
                "the API caches have not synced in %.0fs; serving, with SERVFAIL for "
                "cluster names until they do",
                (double)d->startup_timeout_ns / 1e9);
    dns_server_config sc;
    dns_server_config_default(&sc);
    sc.listen = (const char *const *)d->listen.v;
    sc.nlisten = d->listen.n;
    sc.workers = d->threads;
    sc.forwarder = d->fwd;
    dns_server *srv = NULL;
    if (dns_server_start(&sc, d->zones, &srv, err) < 0)
        return kn_error_wrap(err, "serve DNS");
    __atomic_store_n(&d->srv, srv, __ATOMIC_RELEASE);
    for (size_t i = 0; i < d->listen.n; i++)
        KN_INFO(COMPONENT, "serving DNS on %s (udp, tcp), zone %s", d->listen.v[i], d->domain);
    return 0;
}

int dns_daemon_http_port(const dns_daemon *d)
{
    return d->http ? dns_http_port(d->http) : 0;
}

void dns_daemon_free(dns_daemon *d)
{
    if (!d)
        return;
    dns_http_stop(d->http);
    if (d->srv)
        dns_server_stop(d->srv);
    dns_feed_free(d->feed);
    dns_forwarder_free(d->fwd);
    if (d->zones)
        dns_zone_holder_free(d->zones);
    strlist_free(&d->listen);
    strlist_free(&d->ns_ips);
    strlist_free(&d->upstream);
    free(d->resolv_conf);
    free(d->domain);
    free(d);
}

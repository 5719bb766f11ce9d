/* daemon.h - the whole cluster DNS service as `knode dns` (and the node
 * agent) runs it: the zone fed from the API (feed.h), the forwarder for
 * other names (forward.h), the UDP/TCP server (server.h) and the HTTP
 * endpoint for health, readiness and metrics (http.h).
 *
 *     dns_daemon_new(&cfg, factory, &d, &err);   validates, starts feed + HTTP
 *     kc_informer_factory_start(factory, &err);  (with every other component's informers)
 *     dns_daemon_serve(d, &err);                 first zone (or timeout), then UDP/TCP
 *     ...                                        until a signal
 *     kc_informer_factory_free(factory);         informers first: they call the feed
 *     dns_daemon_free(d);
 *
 * The configuration holds the flag values as given; errors name the flag:
 * "invalid value \"verified\" for --dns-pods: want insecure or disabled". */
#ifndef KNODE_DNS_DAEMON_H
#define KNODE_DNS_DAEMON_H

#include <stdbool.h>
#include <stdint.h>

#include "api-client/informer.h"
#include "lib/error.h"

typedef struct dns_daemon_config {
    const char *listen_address; /* --dns-listen-address: IPs, comma-separated */
    const char *local_address;  /* --dns-local-address: IPs, or "" */
    long long port;             /* --dns-port */
    long long ttl;              /* --dns-ttl (seconds, 0..3600) */
    const char *pods;           /* --dns-pods: insecure or disabled */
    const char *upstream;       /* --dns-upstream: ip[:port],...; "": resolv_conf */
    const char *resolv_conf;    /* --dns-resolv-conf */
    long long threads;          /* --dns-threads (0: one per core) */
    const char *health_address; /* --dns-health-address: ip:port, or "" for none */
    const char *cluster_domain; /* --cluster-domain */
    int64_t startup_timeout_ns; /* longest wait for the first zone in serve; 0: 5 s */
    bool lean_cache;            /* informers of its own caching only what DNS reads (`knode dns`,
                                   which serves DNS alone); false: share the factory's informers */
} dns_daemon_config;

/* The flags' defaults: 10.96.0.10, port 53, TTL 5, pods insecure,
 * /etc/resolv.conf, 127.0.0.1:8080, cluster.local. */
void dns_daemon_config_default(dns_daemon_config *cfg);

/* Checks every value (without binding anything). Errors: KN_EINVAL naming
 * the flag. */
int dns_daemon_config_check(const dns_daemon_config *cfg, kn_error **err);

typedef struct dns_daemon dns_daemon;

/* Checks cfg, creates the forwarder (reading resolv.conf if needed), the
 * feed on factory's informers and starts its rebuild thread and the HTTP
 * endpoint. cfg's strings are copied. Errors: KN_EINVAL (flags), KN_EIO. */
int dns_daemon_new(const dns_daemon_config *cfg, kc_informer_factory *factory, dns_daemon **out,
                   kn_error **err);

/* Waits for the first zone snapshot (at most the startup timeout, as
 * CoreDNS's kubernetes plugin does, then serves anyway with a warning) and
 * starts the UDP/TCP server; until the first snapshot, names in the cluster
 * zone get SERVFAIL. Errors: KN_EIO when an address cannot be bound. */
int dns_daemon_serve(dns_daemon *d, kn_error **err);

/* The HTTP endpoint's port (0: none). */
int dns_daemon_http_port(const dns_daemon *d);

/* Stops everything and frees. The factory's informers must be stopped
 * first. NULL is ignored. */
void dns_daemon_free(dns_daemon *d);

#endif

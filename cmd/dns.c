/* dns.c - `knode dns`: the cluster DNS server alone, fed from the API
 * server, until SIGINT or SIGTERM. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include "api-client/informer.h"
#include "api-client/kubeconfig.h"
#include "api-client/rest.h"
#include "cmd/knode.h"
#include "cmd/node-run.h"
#include "cmd/options.h"
#include "dns/daemon.h"
#include "lib/cleanup.h"
#include "lib/error.h"
#include "lib/log.h"

#define COMPONENT "dns"

void dns_config_from_flags(dns_daemon_config *cfg, const char *domain)
{
    dns_daemon_config_default(cfg);
    cfg->listen_address = opt_dns.listen_address;
    cfg->local_address = opt_dns.local_address;
    cfg->port = opt_dns.port;
    cfg->ttl = opt_dns.ttl;
    cfg->pods = opt_dns.pods;
    cfg->upstream = opt_dns.upstream;
    cfg->resolv_conf = opt_dns.resolv_conf;
    cfg->threads = opt_dns.threads;
    cfg->health_address = opt_dns.health_address;
    cfg->cluster_domain = domain;
}

static int make_client(const char *kubeconfig, kc_client **out, kn_error **err)
{
    cleanup_kc_config kc_config *kc = NULL;
    if (kc_config_load(kubeconfig[0] ? kubeconfig : NULL, NULL, &kc, err) < 0)
        return kn_error_wrap(err, "load kubeconfig");
    KN_INFO(COMPONENT, "API server %s (from %s)", kc->server, kc->origin);
    /* the informers list again with their own (interruptible) backoff; the
     * client's retry waits would hold up a shutdown while the API server is
     * away */
    kc_client_options o = {.max_retries = -1};
    return kc_client_new(kc, &o, out, err);
}

/* Runs until a signal; the signals are blocked in every thread and taken
 * here with sigwait. */
static int serve(const dns_daemon_config *cfg, kc_client *client, const sigset_t *sigs,
                 kn_error **err)
{
    kc_informer_factory *factory = kc_informer_factory_new(client);
    dns_daemon *d = NULL;
    int r = dns_daemon_new(cfg, factory, &d, err);
    if (r == 0)
        r = kc_informer_factory_start(factory, err);
    if (r == 0)
        r = dns_daemon_serve(d, err);
    if (r == 0) {
        int sig = 0;
        sigwait(sigs, &sig);
        KN_INFO(COMPONENT, "received signal %d, shutting down", sig);
    }
    kc_informer_factory_free(factory); /* first: its informers call the feed */
    dns_daemon_free(d);
    return r;
}

static int run(const dns_daemon_config *cfg, const char *kubeconfig)
{
    cleanup_error kn_error *err = NULL;
    if (dns_daemon_config_check(cfg, &err) < 0) {
        fprintf(stderr, "Error: %s\nRun 'knode dns --help' for usage.\n", kn_error_msg(err));
        return 2;
    }
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL); /* before any thread starts */
    signal(SIGPIPE, SIG_IGN);
    kc_client *client = NULL;
    int r = make_client(kubeconfig, &client, &err);
    if (r == 0)
        r = serve(cfg, client, &sigs, &err);
    kc_client_free(client);
    if (r < 0) {
        KN_ERR(COMPONENT, "%s", kn_error_msg(err));
        return 1;
    }
    return 0;
}

int cmd_dns(int argc, char **argv)
{
    static const char *kubeconfig, *domain;
    static const kn_flag extra[] = {
        {"kubeconfig", 0, KN_FLAG_STRING, &kubeconfig, "", "kubeconfig file of the API server"},
        {"cluster-domain", 0, KN_FLAG_STRING, &domain, "cluster.local", "cluster DNS domain"},
    };
    size_t n;
    cleanup_free kn_flag *f = options_merge(&n, extra, 2, dns_flags, dns_nflags, NULL);
    kn_flagset fs = {
        .command = "knode dns",
        .usage = "Run the cluster DNS server alone: Service and pod names from the API "
                 "server, other names forwarded upstream with a cache.",
        .flags = f,
        .nflags = n,
    };
    int r = options_parse(&fs, argc, argv);
    if (r >= 0)
        return r;
    dns_daemon_config cfg;
    dns_config_from_flags(&cfg, domain);
    cfg.lean_cache = true; /* this process serves DNS alone */
    return run(&cfg, kubeconfig);
}

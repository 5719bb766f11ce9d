/* dns.c - pod DNS config and host name (see dns.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kubelet/dns.h"
#include "lib/cleanup.h"
#include "lib/xalloc.h"

#define MAX_NAMESERVERS 3
#define MAX_SEARCH_PATHS 32
#define MAX_SEARCH_CHARS 2048
#define MAX_SEARCH_DOMAIN_LEN 253

static void strv_add(kl_strv *v, const char *s)
{
    v->v = xreallocarray(v->v, v->n + 2, sizeof(char *));
    v->v[v->n++] = xstrdup(s);
    v->v[v->n] = NULL;
}

static bool strv_has(const kl_strv *v, const char *s)
{
    for (size_t i = 0; i < v->n; i++)
        if (strcmp(v->v[i], s) == 0)
            return true;
    return false;
}

/* Appends s unless present (upstream omitDuplicates keeps the first). */
static void strv_add_unique(kl_strv *v, const char *s)
{
    if (!strv_has(v, s))
        strv_add(v, s);
}

static void strv_free(kl_strv *v)
{
    for (size_t i = 0; i < v->n; i++)
        free(v->v[i]);
    free(v->v);
    v->v = NULL;
    v->n = 0;
}

static void strv_remove(kl_strv *v, size_t i)
{
    free(v->v[i]);
    memmove(&v->v[i], &v->v[i + 1], (v->n - i) * sizeof(char *)); /* moves the NULL too */
    v->n--;
}

void kl_dns_config_clear(kl_dns_config *c)
{
    strv_free(&c->servers);
    strv_free(&c->searches);
    strv_free(&c->options);
}

/* The name of an option ("ndots" of "ndots:5") as a length. */
static size_t option_name_len(const char *opt)
{
    const char *colon = strchr(opt, ':');
    return colon ? (size_t)(colon - opt) : strlen(opt);
}

/* Sets an option, replacing one of the same name in place. */
static void option_set(kl_strv *opts, const char *opt)
{
    size_t n = option_name_len(opt);
    for (size_t i = 0; i < opts->n; i++)
        if (option_name_len(opts->v[i]) == n && strncmp(opts->v[i], opt, n) == 0) {
            free(opts->v[i]);
            opts->v[i] = xstrdup(opt);
            return;
        }
    strv_add(opts, opt);
}

static void parse_line(char *line, kl_dns_config *out)
{
    char *save = NULL;
    char *key = strtok_r(line, " \t\r", &save);
    if (!key)
        return;
    if (strcmp(key, "nameserver") == 0) {
        char *ip = strtok_r(NULL, " \t\r", &save);
        if (ip)
            strv_add(&out->servers, ip);
    } else if (strcmp(key, "search") == 0) {
        strv_free(&out->searches); /* the last search line wins */
        for (char *s; (s = strtok_r(NULL, " \t\r", &save));) {
            if (strcmp(s, ".") == 0)
                continue;
            size_t n = strlen(s);
            if (n > 1 && s[n - 1] == '.')
                s[n - 1] = '\0';
            strv_add(&out->searches, s);
        }
    } else if (strcmp(key, "options") == 0) {
        for (char *s; (s = strtok_r(NULL, " \t\r", &save));)
            option_set(&out->options, s);
    }
}

void kl_resolv_conf_parse(const char *text, kl_dns_config *out)
{
    cleanup_free char *copy = xstrdup(text);
    char *save = NULL;
    for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (line[0] == '#' || line[0] == ';')
            continue;
        parse_line(line, out);
    }
}

int kl_resolv_conf_load(const char *path, kl_dns_config *out, kn_error **err)
{
    if (!path || !*path)
        return 0;
    FILE *f = fopen(path, "r");
    if (!f)
        return kn_error_errno(err, errno, "read resolv.conf %s", path);
    char buf[65536];
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    kl_resolv_conf_parse(buf, out);
    return 0;
}

static void copy_strv(kl_strv *dst, const kl_strv *src)
{
    for (size_t i = 0; i < src->n; i++)
        strv_add(dst, src->v[i]);
}

static bool is_ipv6(const char *s)
{
    unsigned char b[16];
    return inet_pton(AF_INET6, s, b) == 1;
}

/* Default policy with --resolv-conf="": the local resolver. */
static void localhost_servers(const kl_node_config *nc, kl_dns_config *out)
{
    for (int i = 0; i < KL_MAX_NODE_IPS; i++)
        if (nc->node_ips[i] && *nc->node_ips[i])
            strv_add(&out->servers, is_ipv6(nc->node_ips[i]) ? "::1" : "127.0.0.1");
    if (out->servers.n == 0)
        strv_add(&out->servers, "127.0.0.1");
    strv_add(&out->searches, ".");
}

static void cluster_searches(const kl_pod *pod, const kl_node_config *nc, const kl_strv *host,
                             kl_strv *out)
{
    const char *dom = nc->cluster_domain ? nc->cluster_domain : "";
    if (*dom) {
        cleanup_free char *ns_svc = xasprintf("%s.svc.%s", pod->namespace_, dom);
        cleanup_free char *svc = xasprintf("svc.%s", dom);
        strv_add_unique(out, ns_svc);
        strv_add_unique(out, svc);
        strv_add_unique(out, dom);
    }
    for (size_t i = 0; i < host->n; i++)
        strv_add_unique(out, host->v[i]);
}

static bool has_cluster_dns(const kl_node_config *nc)
{
    return nc->cluster_dns && nc->cluster_dns[0];
}

static void base_config(const kl_pod *pod, const kl_node_config *nc, const kl_dns_config *host,
                        kl_dns_config *out)
{
    kl_dns_policy pol = pod->dns_policy;
    if (pol == KL_DNS_NONE)
        return;
    bool cluster = pol == KL_DNS_CLUSTER_FIRST_WITH_HOST_NET ||
                   (pol == KL_DNS_CLUSTER_FIRST && !pod->host_network);
    if (cluster && has_cluster_dns(nc)) {
        for (size_t i = 0; nc->cluster_dns[i]; i++)
            strv_add(&out->servers, nc->cluster_dns[i]);
        cluster_searches(pod, nc, &host->searches, &out->searches);
        strv_add(&out->options, "ndots:5");
        return;
    }
    /* Default (and ClusterFirst without cluster DNS): the host's config */
    copy_strv(&out->servers, &host->servers);
    copy_strv(&out->searches, &host->searches);
    copy_strv(&out->options, &host->options);
    if (!nc->resolv_conf || !*nc->resolv_conf)
        localhost_servers(nc, out);
}

static void merge_pod_config(const kl_pod_dns_config *dc, kl_dns_config *out)
{
    for (size_t i = 0; i < dc->nameservers.n; i++)
        strv_add_unique(&out->servers, dc->nameservers.v[i]);
    for (size_t i = 0; i < dc->searches.n; i++)
        strv_add_unique(&out->searches, dc->searches.v[i]);
    for (size_t i = 0; i < dc->n_options; i++) {
        const kl_dns_option *o = &dc->options[i];
        cleanup_free char *opt =
            o->value && *o->value ? xasprintf("%s:%s", o->name, o->value) : xstrdup(o->name);
        option_set(&out->options, opt);
    }
}

/* upstream formDNSSearchFitsLimits */
static void fit_searches(kl_strv *s)
{
    while (s->n > MAX_SEARCH_PATHS)
        strv_remove(s, s->n - 1);
    for (size_t i = 0; i < s->n;)
        if (strlen(s->v[i]) > MAX_SEARCH_DOMAIN_LEN)
            strv_remove(s, i);
        else
            i++;
    size_t total = 0;
    for (size_t i = 0; i < s->n; i++)
        total += strlen(s->v[i]) + (i ? 1 : 0);
    while (s->n > 0 && total > MAX_SEARCH_CHARS) {
        total -= strlen(s->v[s->n - 1]) + (s->n > 1 ? 1 : 0);
        strv_remove(s, s->n - 1);
    }
}

void kl_pod_dns(const kl_pod *pod, const kl_node_config *nc, const kl_dns_config *host,
                kl_dns_config *out)
{
    base_config(pod, nc, host, out);
    if (pod->has_dns_config)
        merge_pod_config(&pod->dns_config, out);
    while (out->servers.n > MAX_NAMESERVERS)
        strv_remove(&out->servers, out->servers.n - 1);
    fit_searches(&out->searches);
}

int kl_pod_hostname(const kl_pod *pod, const char *cluster_domain, char **hostname, char **domain,
                    kn_error **err)
{
    const char *h = pod->hostname && *pod->hostname ? pod->hostname : pod->name;
    size_t n = strlen(h);
    if (n > 63) {
        n = 63;
        while (n > 0 && (h[n - 1] == '-' || h[n - 1] == '.'))
            n--;
        if (n == 0)
            return kn_error_set(err, KN_EINVAL, "hostname for pod \"%s\" was invalid: \"%s\"",
                                pod->name, h);
    }
    cleanup_free char *host = xstrndup(h, n);
    cleanup_free char *dom = pod->subdomain && *pod->subdomain
                                 ? xasprintf("%s.%s.svc.%s", pod->subdomain, pod->namespace_,
                                             cluster_domain ? cluster_domain : "")
                                 : xstrdup("");
    if (*dom && pod->set_hostname_as_fqdn) {
        char *fqdn = xasprintf("%s.%s", host, dom);
        if (strlen(fqdn) > 64) {
            kn_error_set(err, KN_EINVAL,
                         "failed to construct FQDN from pod hostname and cluster domain, FQDN %s "
                         "is too long (64 characters is the max, %zu characters requested)",
                         fqdn, strlen(fqdn));
            free(fqdn);
            return -KN_EINVAL;
        }
        free(host);
        host = fqdn;
    }
    *hostname = kn_steal_ptr(host);
    if (domain)
        *domain = kn_steal_ptr(dom);
    return 0;
}

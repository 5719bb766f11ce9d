/* dns.h - a pod's DNS settings and host name, as upstream's
 * pkg/kubelet/network/dns computes them for the sandbox:
 *
 *   ClusterFirst (not hostNetwork), ClusterFirstWithHostNet, with --cluster-dns:
 *       servers = cluster DNS; searches = <ns>.svc.<domain> svc.<domain>
 *       <domain> + the host's searches (duplicates dropped); options = ndots:5
 *   ClusterFirst without --cluster-dns: falls back to Default
 *   Default, and ClusterFirst with hostNetwork: the host's resolv.conf (with
 *       --resolv-conf="" : nameserver 127.0.0.1 (::1 for IPv6 node IPs),
 *       search ".")
 *   None: empty
 * then spec.dnsConfig is merged (nameservers and searches appended without
 * duplicates; options by name, the pod's value winning) and the result is
 * cut to the resolver's limits (3 nameservers; 32 search domains of at most
 * 253 characters, 2048 characters in all). */
#ifndef KNODE_KUBELET_DNS_H
#define KNODE_KUBELET_DNS_H

#include "kubelet/config.h"
#include "kubelet/podspec.h"
#include "lib/error.h"

typedef struct kl_dns_config {
    kl_strv servers;
    kl_strv searches;
    kl_strv options; /* "ndots:5", "edns0" */
} kl_dns_config;

/* Releases the vectors and zeroes c. */
void kl_dns_config_clear(kl_dns_config *c);

/* Parses resolv.conf text as upstream's parseResolvConf: nameserver lines
 * accumulate; the last search line wins (entries "." dropped, a trailing
 * dot removed); options accumulate, a later option of the same name
 * replacing an earlier one; '#' and ';' start comments. out must be zeroed. */
void kl_resolv_conf_parse(const char *text, kl_dns_config *out);

/* Reads and parses path; "" or NULL gives an empty config. Errors: KN_EIO. */
int kl_resolv_conf_load(const char *path, kl_dns_config *out, kn_error **err);

/* The DNS config of pod's sandbox (see the header comment). host is the
 * parsed --resolv-conf (may be empty). out must be zeroed. */
void kl_pod_dns(const kl_pod *pod, const kl_node_config *nc, const kl_dns_config *host,
                kl_dns_config *out);

/* The sandbox host name (upstream GeneratePodHostNameAndDomain +
 * GetNodenameForKernel): spec.hostname or the pod name, cut to 63
 * characters without a trailing '-' or '.'; with setHostnameAsFQDN and a
 * subdomain, the FQDN <host>.<subdomain>.<ns>.svc.<domain>. *domain (may be
 * NULL) receives the pod's domain or "" (owned). Errors: KN_EINVAL when the
 * FQDN exceeds 64 characters. */
int kl_pod_hostname(const kl_pod *pod, const char *cluster_domain, char **hostname, char **domain,
                    kn_error **err);

#endif

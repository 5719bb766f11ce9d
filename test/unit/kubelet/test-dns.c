/* Tests for kubelet/dns: resolv.conf parsing, the DNS config of each
 * dnsPolicy, dnsConfig merging, limits, host names. */
#include <stdlib.h>
#include <string.h>

#include "kubelet/dns.h"
#include "lib/cleanup.h"
#include "lib/strbuf.h"
#include "lib/xalloc.h"
#include "test/runner/kt.h"
#include "test/unit/kubelet/helpers.h"

static const char *const cluster_dns[] = {"10.96.0.10", NULL};

static kl_node_config node(void)
{
    kl_node_config nc;
    kl_node_config_defaults(&nc);
    nc.cluster_dns = cluster_dns;
    nc.cluster_domain = "cluster.local";
    nc.node_ips[0] = "10.250.0.1";
    return nc;
}

static char *joined(const kl_strv *v)
{
    kn_buf b = KN_BUF_INIT;
    for (size_t i = 0; i < v->n; i++)
        kn_buf_appendf(&b, "%s%s", i ? " " : "", v->v[i]);
    return kn_buf_steal(&b);
}

#define ASSERT_STRV(v, want)                                                                       \
    do {                                                                                           \
        cleanup_free char *got_ = joined(v);                                                       \
        KT_ASSERT_STREQ(got_, want);                                                               \
    } while (0)

static const char host_resolv[] = "# generated\n"
                                  "nameserver 192.168.1.1\n"
                                  "nameserver 192.168.1.2\n"
                                  "search old.example\n"
                                  "; comment\n"
                                  "search corp.example. . lab.example\n"
                                  "options ndots:2 timeout:1\n"
                                  "options ndots:3 rotate\n"
                                  "nameserver\n";

KT_TEST(dns, parses_resolv_conf_as_upstream)
{
    kl_dns_config h = {0};
    kl_resolv_conf_parse(host_resolv, &h);
    ASSERT_STRV(&h.servers, "192.168.1.1 192.168.1.2");
    ASSERT_STRV(&h.searches, "corp.example lab.example"); /* last line wins, "." dropped */
    ASSERT_STRV(&h.options, "ndots:3 timeout:1 rotate");
    kl_dns_config_clear(&h);

    kn_error *err = NULL;
    cleanup_free char *path = xasprintf("%s/resolv.conf", kt_tmpdir());
    KT_ASSERT_FAILS(kl_resolv_conf_load(path, &h, &err));
    KT_ASSERT_EQ(kn_error_code(err), KN_EIO);
    kn_error_free(&err);
    KT_ASSERT_OK(kl_resolv_conf_load("", &h, &err), err);
    KT_ASSERT_EQ(h.servers.n, 0);
}

KT_TEST(dns, cluster_first)
{
    kl_node_config nc = node();
    kl_dns_config h = {0}, d = {0};
    kl_resolv_conf_parse(host_resolv, &h);
    kl_pod *p = kt_pod_spec("  containers: [{name: a, image: x}]\n");
    kl_pod_dns(p, &nc, &h, &d);
    ASSERT_STRV(&d.servers, "10.96.0.10");
    ASSERT_STRV(&d.searches,
                "ns1.svc.cluster.local svc.cluster.local cluster.local corp.example lab.example");
    ASSERT_STRV(&d.options, "ndots:5");
    kl_dns_config_clear(&d);

    /* without --cluster-domain only the host's searches remain */
    nc.cluster_domain = "";
    kl_pod_dns(p, &nc, &h, &d);
    ASSERT_STRV(&d.searches, "corp.example lab.example");
    kl_dns_config_clear(&d);

    /* without --cluster-dns ClusterFirst falls back to Default */
    nc.cluster_dns = NULL;
    kl_pod_dns(p, &nc, &h, &d);
    ASSERT_STRV(&d.servers, "192.168.1.1 192.168.1.2");
    ASSERT_STRV(&d.options, "ndots:3 timeout:1 rotate");
    kl_dns_config_clear(&d);
    kl_pod_unref(p);
    kl_dns_config_clear(&h);
}

KT_TEST(dns, host_network_and_default)
{
    kl_node_config nc = node();
    kl_dns_config h = {0}, d = {0};
    kl_resolv_conf_parse(host_resolv, &h);
    kl_pod *p = kt_pod_spec("  hostNetwork: true\n  containers: [{name: a, image: x}]\n");
    kl_pod_dns(p, &nc, &h, &d); /* ClusterFirst + hostNetwork = Default */
    ASSERT_STRV(&d.servers, "192.168.1.1 192.168.1.2");
    ASSERT_STRV(&d.searches, "corp.example lab.example");
    kl_dns_config_clear(&d);
    kl_pod_unref(p);

    p = kt_pod_spec("  hostNetwork: true\n  dnsPolicy: ClusterFirstWithHostNet\n"
                    "  containers: [{name: a, image: x}]\n");
    kl_pod_dns(p, &nc, &h, &d);
    ASSERT_STRV(&d.servers, "10.96.0.10");
    ASSERT_STRV(&d.options, "ndots:5");
    kl_dns_config_clear(&d);
    kl_pod_unref(p);

    /* Default with --resolv-conf="": the local resolver */
    nc.resolv_conf = "";
    kl_dns_config empty = {0};
    p = kt_pod_spec("  dnsPolicy: Default\n  containers: [{name: a, image: x}]\n");
    kl_pod_dns(p, &nc, &empty, &d);
    ASSERT_STRV(&d.servers, "127.0.0.1");
    ASSERT_STRV(&d.searches, ".");
    kl_dns_config_clear(&d);
    kl_pod_unref(p);
    kl_dns_config_clear(&h);
}

KT_TEST(dns, none_and_merged_dns_config)
{
    kl_node_config nc = node();
    kl_dns_config h = {0}, d = {0};
    kl_resolv_conf_parse(host_resolv, &h);
    kl_pod *p = kt_pod_spec("  dnsPolicy: None\n"
                            "  dnsConfig:\n"
                            "    nameservers: [1.1.1.1]\n"
                            "    searches: [a.example]\n"
                            "    options: [{name: edns0}]\n"
                            "  containers: [{name: a, image: x}]\n");
    kl_pod_dns(p, &nc, &h, &d);
    ASSERT_STRV(&d.servers, "1.1.1.1");
    ASSERT_STRV(&d.searches, "a.example");
    ASSERT_STRV(&d.options, "edns0");
    kl_dns_config_clear(&d);
    kl_pod_unref(p);

    p = kt_pod_spec("  dnsConfig:\n"
                    "    nameservers: [8.8.8.8, 10.96.0.10, 8.8.4.4]\n"
                    "    searches: [svc.cluster.local, extra.example]\n"
                    "    options: [{name: ndots, value: \"2\"}, {name: single-request}]\n"
                    "  containers: [{name: a, image: x}]\n");
    kl_pod_dns(p, &nc, &h, &d);
    ASSERT_STRV(&d.servers, "10.96.0.10 8.8.8.8 8.8.4.4"); /* the duplicate dropped */
    ASSERT_STRV(&d.searches, "ns1.svc.cluster.local svc.cluster.local cluster.local "
                             "corp.example lab.example extra.example");
    ASSERT_STRV(&d.options, "ndots:2 single-request");
    kl_dns_config_clear(&d);
    kl_pod_unref(p);
    kl_dns_config_clear(&h);
}

KT_TEST(dns, search_limits)
{
    kl_node_config nc = node();
    nc.cluster_domain = "";
    kn_buf text = KN_BUF_INIT;
    kn_buf_append_str(&text, "nameserver 1.2.3.4\nsearch");
    for (int i = 0; i < 40; i++)
        kn_buf_appendf(&text, " d%02d.%0100d", i, 0);
    kn_buf_append_char(&text, '\n');
    kl_dns_config h = {0}, d = {0};
    kl_resolv_conf_parse(text.data, &h);
    kn_buf_free(&text);
    KT_ASSERT_EQ(h.searches.n, 40);
    kl_pod *p = kt_pod_spec("  dnsPolicy: Default\n  containers: [{name: a, image: x}]\n");
    kl_pod_dns(p, &nc, &h, &d);
    /* 32 paths at most, and at most 2048 characters in all */
    size_t total = 0;
    for (size_t i = 0; i < d.searches.n; i++)
        total += strlen(d.searches.v[i]) + (i ? 1 : 0);
    KT_ASSERT(d.searches.n <= 32);
    KT_ASSERT(total <= 2048);
    KT_ASSERT_EQ(d.searches.n, 19); /* 19 * 104 + 18 = 1994; 20 would be 2099 */
    KT_ASSERT_STREQ(d.searches.v[0], h.searches.v[0]);
    kl_dns_config_clear(&d);
    kl_dns_config_clear(&h);
    kl_pod_unref(p);
}

KT_TEST(dns, hostnames)
{
    kn_error *err = NULL;
    char *host = NULL, *dom = NULL;
    kl_pod *p = kt_pod_spec("  containers: [{name: a, image: x}]\n");
    KT_ASSERT_OK(kl_pod_hostname(p, "cluster.local", &host, &dom, &err), err);
    KT_ASSERT_STREQ(host, "web");
    KT_ASSERT_STREQ(dom, "");
    free(host);
    free(dom);
    kl_pod_unref(p);

    p = kt_pod_spec("  hostname: h\n  subdomain: sub\n  containers: [{name: a, image: x}]\n");
    KT_ASSERT_OK(kl_pod_hostname(p, "cluster.local", &host, &dom, &err), err);
    KT_ASSERT_STREQ(host, "h");
    KT_ASSERT_STREQ(dom, "sub.ns1.svc.cluster.local");
    free(host);
    free(dom);
    kl_pod_unref(p);

    p = kt_pod_spec("  hostname: h\n  subdomain: sub\n  setHostnameAsFQDN: true\n"
                    "  containers: [{name: a, image: x}]\n");
    KT_ASSERT_OK(kl_pod_hostname(p, "cluster.local", &host, NULL, &err), err);
    KT_ASSERT_STREQ(host, "h.sub.ns1.svc.cluster.local");
    free(host);
    KT_ASSERT_FAILS(kl_pod_hostname(p, "a-very-long-cluster-domain-name-that-does-not-fit.example",
                                    &host, NULL, &err));
    KT_ASSERT_CONTAINS(kn_error_msg(err), "is too long (64 characters is the max");
    kn_error_free(&err);
    kl_pod_unref(p);

    /* a long pod name is cut to 63 characters without a trailing '-' */
    p = kt_pod("metadata: {name: "
               "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-bbbbb, uid: u}\n"
               "spec: {containers: [{name: a, image: x}]}\n");
    KT_ASSERT_OK(kl_pod_hostname(p, "", &host, NULL, &err), err);
    KT_ASSERT_EQ(strlen(host), 62);
    KT_ASSERT(host[61] == 'a');
    free(host);
    kl_pod_unref(p);
}

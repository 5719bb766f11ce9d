/* test-nodeaddr.c - NodePort addresses: --nodeport-addresses parsing, the
 * selection rule, and a read of this namespace's interfaces (read-only). */
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "netproxy/nodeaddr.h"
#include "netproxy/ruleset.h"
#include "test/runner/kt.h"

static np_ifaddr ifa(const char *ip, int ifindex)
{
    np_ifaddr a = {.ifindex = ifindex};
    KT_ASSERT(np_addr_parse(ip, &a.addr) == 0);
    return a;
}

static const char *str(const np_addr *a, char *buf)
{
    return np_addr_str(a, buf, 64);
}

KT_TEST(netproxy_nodeaddr, parse_cidrs)
{
    np_cidr c[4];
    size_t n = 9;
    kn_error *err = NULL;
    KT_ASSERT_OK(np_nodeaddr_parse_cidrs("", c, 4, &n, &err), err);
    KT_ASSERT_EQ(n, 0);
    KT_ASSERT_OK(np_nodeaddr_parse_cidrs("primary", c, 4, &n, &err), err);
    KT_ASSERT_EQ(n, 0);
    /* host bits allowed, as kube-proxy takes them */
    KT_ASSERT_OK(np_nodeaddr_parse_cidrs("10.250.0.1/24, fd00::/64", c, 4, &n, &err), err);
    KT_ASSERT_EQ(n, 2);
    KT_ASSERT_EQ(c[0].prefix, 24);
    KT_ASSERT_EQ(c[1].addr.family, AF_INET6);
    KT_ASSERT_FAILS(np_nodeaddr_parse_cidrs("10.0.0.0/8,bogus", c, 4, &n, &err));
    KT_ASSERT_CONTAINS(kn_error_msg(err), "--nodeport-addresses: invalid CIDR \"bogus\"");
    kn_error_free(&err);
    KT_ASSERT_FAILS(np_nodeaddr_parse_cidrs("1.0.0.0/8,2.0.0.0/8", c, 1, &n, &err));
    kn_error_free(&err);
}

KT_TEST(netproxy_nodeaddr, default_route_interface)
{
    np_ifaddr all[] = {ifa("127.0.0.1", 1), ifa("::1", 1),         ifa("10.250.0.1", 2),
                       ifa("fe80::1", 2),   ifa("fd00:250::1", 2), ifa("10.244.1.1", 3),
                       ifa("10.250.0.9", 2)};
    np_addr out[8];
    int ifs[] = {2};
    size_t n = np_nodeaddr_select(all, 7, NULL, 0, ifs, 1, out, 8);
    KT_ASSERT_EQ(n, 3);
    char b[64];
    KT_ASSERT_STREQ(str(&out[0], b), "10.250.0.1");
    KT_ASSERT_STREQ(str(&out[1], b), "10.250.0.9");
    KT_ASSERT_STREQ(str(&out[2], b), "fd00:250::1"); /* link-local left out */
    /* no default route: no NodePort address at all (never loopback) */
    KT_ASSERT_EQ(np_nodeaddr_select(all, 7, NULL, 0, NULL, 0, out, 8), 0);
    /* loopback's interface as the default one still gives no loopback */
    int lo[] = {1};
    KT_ASSERT_EQ(np_nodeaddr_select(all, 7, NULL, 0, lo, 1, out, 8), 0);
}

KT_TEST(netproxy_nodeaddr, cidrs_select_any_interface)
{
    np_ifaddr all[] = {ifa("127.0.0.1", 1), ifa("10.250.0.1", 2), ifa("10.244.1.1", 3),
                       ifa("10.244.2.1", 4), ifa("10.244.2.1", 5)};
    np_cidr c[2];
    KT_ASSERT(np_cidr_parse("10.244.0.0/16", false, &c[0]) == 0);
    KT_ASSERT(np_cidr_parse("127.0.0.0/8", false, &c[1]) == 0);
    np_addr out[8];
    int ifs[] = {2};
    size_t n = np_nodeaddr_select(all, 5, c, 2, ifs, 1, out, 8);
    KT_ASSERT_EQ(n, 2); /* unique; 127.0.0.1 refused even when asked for */
    char b[64];
    KT_ASSERT_STREQ(str(&out[0], b), "10.244.1.1");
    KT_ASSERT_STREQ(str(&out[1], b), "10.244.2.1");
    KT_ASSERT_EQ(np_nodeaddr_select(all, 5, c, 2, ifs, 1, out, 1), 1);
}

KT_TEST(netproxy_nodeaddr, reads_this_namespace)
{
    np_ifaddr *all = NULL;
    size_t n = 0;
    kn_error *err = NULL;
    KT_ASSERT_OK(np_nodeaddr_list(&all, &n, &err), err);
    bool has_loopback = false;
    for (size_t i = 0; i < n; i++) {
        np_addr lo;
        np_addr_parse(all[i].addr.family == AF_INET ? "127.0.0.1" : "::1", &lo);
        has_loopback = has_loopback || np_addr_cmp(&lo, &all[i].addr) == 0;
    }
    free(all);
    KT_ASSERT_MSG(has_loopback || n == 0, "loopback address not listed");
    np_addr out[NP_MAX_NODE_IPS];
    size_t nout = 0;
    KT_ASSERT_OK(np_nodeaddr_collect(NULL, 0, out, NP_MAX_NODE_IPS, &nout, &err), err);
    for (size_t i = 0; i < nout; i++)
        KT_ASSERT(!(out[i].family == AF_INET && out[i].bytes[0] == 127));
}

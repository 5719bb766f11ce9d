/* nodeaddr.c - node addresses for NodePorts, read over rtnetlink (libmnl). */
#include "netproxy/nodeaddr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "lib/xalloc.h"

/* ---- parsing the flag ---- */

int np_nodeaddr_parse_cidrs(const char *s, np_cidr *out, size_t max, size_t *n, kn_error **err)
{
    *n = 0;
    if (!s || !*s || strcmp(s, "primary") == 0)
        return 0;
    char *copy = xstrdup(s), *save = NULL;
    int r = 0;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        while (*tok == ' ')
            tok++;
        if (!*tok)
            continue;
        if (*n == max) {
            r = kn_error_set(err, KN_EINVAL, "--nodeport-addresses: more than %zu CIDRs", max);
            break;
        }
        if (np_cidr_parse(tok, true, &out[*n]) < 0) {
            r = kn_error_set(err, KN_EINVAL, "--nodeport-addresses: invalid CIDR \"%s\"", tok);
            break;
        }
        (*n)++;
    }
    free(copy);
    return r;
}

/* ---- rtnetlink dumps ---- */

typedef struct dump_ctx {
    np_ifaddr *addrs;
    size_t naddrs, cap;
    int *ifs;
    size_t nifs, maxifs;
} dump_ctx;

#define RT_BUF_SIZE 32768

/* Sends one dump request of type for family on nl and runs cb over the
 * answer. */
static int rt_talk(struct mnl_socket *nl, uint16_t type, uint8_t family, mnl_cb_t cb, dump_ctx *ctx,
                   kn_error **err)
{
    char *buf = xcalloc(1, RT_BUF_SIZE);
    struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
    nlh->nlmsg_type = type;
    nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    uint32_t seq = nlh->nlmsg_seq = (uint32_t)time(NULL);
    /* rtmsg and ifaddrmsg both start with the family byte */
    struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(struct rtmsg));
    rtm->rtm_family = family;
    int r = 0;
    if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
        r = kn_error_errno(err, errno, "rtnetlink: send dump request");
    uint32_t portid = mnl_socket_get_portid(nl);
    while (r == 0) {
        ssize_t len = mnl_socket_recvfrom(nl, buf, RT_BUF_SIZE);
        if (len < 0) {
            r = kn_error_errno(err, errno, "rtnetlink: read dump");
            break;
        }
        int cr = mnl_cb_run(buf, (size_t)len, seq, portid, cb, ctx);
        if (cr < 0)
            r = kn_error_errno(err, errno, "rtnetlink: dump");
        else if (cr == MNL_CB_STOP)
            break;
    }
    free(buf);
    return r;
}

static int rt_dump(uint16_t type, uint8_t family, mnl_cb_t cb, dump_ctx *ctx, kn_error **err)
{
    struct mnl_socket *nl = mnl_socket_open(NETLINK_ROUTE);
    if (!nl)
        return kn_error_errno(err, errno, "rtnetlink: open socket");
    int r = mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0
                ? kn_error_errno(err, errno, "rtnetlink: bind")
                : rt_talk(nl, type, family, cb, ctx, err);
    mnl_socket_close(nl);
    return r;
}

static int on_addr(const struct nlmsghdr *nlh, void *data)
{
    dump_ctx *ctx = data;
    const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
    if (ifa->ifa_family != AF_INET && ifa->ifa_family != AF_INET6)
        return MNL_CB_OK;
    const struct nlattr *local = NULL, *address = NULL, *a;
    mnl_attr_for_each(a, nlh, sizeof(*ifa))
    {
        if (mnl_attr_get_type(a) == IFA_LOCAL)
            local = a;
        else if (mnl_attr_get_type(a) == IFA_ADDRESS)
            address = a;
    }
    /* IFA_LOCAL is the interface's own address on point-to-point links */
    const struct nlattr *use = local ? local : address;
    size_t len = np_addr_len(ifa->ifa_family);
    if (!use || mnl_attr_get_payload_len(use) != len)
        return MNL_CB_OK;
    if (ctx->naddrs == ctx->cap) {
        ctx->cap = ctx->cap ? ctx->cap * 2 : 16;
        ctx->addrs = xreallocarray(ctx->addrs, ctx->cap, sizeof(*ctx->addrs));
    }
    np_ifaddr *out = &ctx->addrs[ctx->naddrs++];
    memset(out, 0, sizeof(*out));
    out->addr.family = ifa->ifa_family;
    memcpy(out->addr.bytes, mnl_attr_get_payload(use), len);
    out->ifindex = (int)ifa->ifa_index;
    return MNL_CB_OK;
}

int np_nodeaddr_list(np_ifaddr **out, size_t *n, kn_error **err)
{
    dump_ctx ctx = {0};
    int r = rt_dump(RTM_GETADDR, AF_UNSPEC, on_addr, &ctx, err);
    if (r < 0) {
        free(ctx.addrs);
        return kn_error_wrap(err, "list interface addresses");
    }
    *out = ctx.addrs;
    *n = ctx.naddrs;
    return 0;
}

static void add_if(dump_ctx *ctx, int ifindex)
{
    for (size_t i = 0; i < ctx->nifs; i++) {
        if (ctx->ifs[i] == ifindex)
            return;
    }
    if (ctx->nifs < ctx->maxifs)
        ctx->ifs[ctx->nifs++] = ifindex;
}

/* The first next hop's interface of a multipath route. */
static int multipath_oif(const struct nlattr *a)
{
    const struct rtnexthop *nh = mnl_attr_get_payload(a);
    if (mnl_attr_get_payload_len(a) < sizeof(*nh))
        return 0;
    return nh->rtnh_ifindex;
}

static int on_route(const struct nlmsghdr *nlh, void *data)
{
    dump_ctx *ctx = data;
    const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
    if (rtm->rtm_dst_len != 0 || rtm->rtm_type != RTN_UNICAST)
        return MNL_CB_OK;
    uint32_t table = rtm->rtm_table;
    int oif = 0;
    const struct nlattr *a;
    mnl_attr_for_each(a, nlh, sizeof(*rtm))
    {
        uint16_t t = mnl_attr_get_type(a);
        if (t == RTA_TABLE && mnl_attr_get_payload_len(a) >= 4)
            table = mnl_attr_get_u32(a);
        else if (t == RTA_OIF && mnl_attr_get_payload_len(a) >= 4)
            oif = (int)mnl_attr_get_u32(a);
        else if (t == RTA_MULTIPATH && !oif)
            oif = multipath_oif(a);
    }
    if (table == RT_TABLE_MAIN && oif > 0)
        add_if(ctx, oif);
    return MNL_CB_OK;
}

int np_nodeaddr_default_ifs(int *out, size_t max, size_t *n, kn_error **err)
{
    dump_ctx ctx = {.ifs = out, .maxifs = max};
    static const uint8_t fams[2] = {AF_INET, AF_INET6};
    for (int i = 0; i < 2; i++) {
        if (rt_dump(RTM_GETROUTE, fams[i], on_route, &ctx, err) < 0)
            return kn_error_wrap(err, "find the default route");
    }
    *n = ctx.nifs;
    return 0;
}

/* ---- selection ---- */

static bool unusable(const np_addr *a)
{
    static const uint8_t v6_loopback[16] = {[15] = 1};
    if (a->family == AF_INET)
        return a->bytes[0] == 127;
    return memcmp(a->bytes, v6_loopback, 16) == 0 ||
           (a->bytes[0] == 0xfe && (a->bytes[1] & 0xc0) == 0x80);
}

static bool wanted(const np_ifaddr *a, const np_cidr *cidrs, size_t ncidrs, const int *ifs,
                   size_t nifs)
{
    if (unusable(&a->addr))
        return false;
    if (ncidrs > 0) {
        for (size_t i = 0; i < ncidrs; i++) {
            if (np_cidr_contains(&cidrs[i], &a->addr))
                return true;
        }
        return false;
    }
    for (size_t i = 0; i < nifs; i++) {
        if (ifs[i] == a->ifindex)
            return true;
    }
    return false;
}

static int cmp_addr(const void *a, const void *b)
{
    return np_addr_cmp(a, b);
}

size_t np_nodeaddr_select(const np_ifaddr *all, size_t nall, const np_cidr *cidrs, size_t ncidrs,
                          const int *default_ifs, size_t nifs, np_addr *out, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < nall && n < max; i++) {
        if (!wanted(&all[i], cidrs, ncidrs, default_ifs, nifs))
            continue;
        bool dup = false;
        for (size_t j = 0; j < n && !dup; j++)
            dup = np_addr_cmp(&out[j], &all[i].addr) == 0;
        if (!dup)
            out[n++] = all[i].addr;
    }
    qsort(out, n, sizeof(*out), cmp_addr);
    return n;
}

int np_nodeaddr_collect(const np_cidr *cidrs, size_t ncidrs, np_addr *out, size_t max, size_t *nout,
                        kn_error **err)
{
    int ifs[16];
    size_t nifs = 0;
    if (ncidrs == 0 && np_nodeaddr_default_ifs(ifs, sizeof(ifs) / sizeof(ifs[0]), &nifs, err) < 0)
        return kn_error_wrap(err, "node addresses");
    np_ifaddr *all = NULL;
    size_t nall = 0;
    if (np_nodeaddr_list(&all, &nall, err) < 0)
        return kn_error_wrap(err, "node addresses");
    *nout = np_nodeaddr_select(all, nall, cidrs, ncidrs, ifs, nifs, out, max);
    free(all);
    return 0;
}

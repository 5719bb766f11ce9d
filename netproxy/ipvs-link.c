/* ipvs-link.c - the kube-ipvs0 dummy interface and its addresses, over
 * rtnetlink (libmnl). */
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "lib/xalloc.h"
#include "netproxy/ipvs.h"

typedef struct rtnl {
    struct mnl_socket *nl;
    uint32_t portid, seq;
} rtnl;

static int rtnl_open(rtnl *r, kn_error **err)
{
    r->nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
    if (!r->nl || mnl_socket_bind(r->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
        int e = errno;
        if (r->nl)
            mnl_socket_close(r->nl);
        r->nl = NULL;
        return kn_error_errno(err, e, "rtnetlink socket");
    }
    r->portid = mnl_socket_get_portid(r->nl);
    r->seq = (uint32_t)time(NULL);
    return 0;
}

static void rtnl_close(rtnl *r)
{
    if (r->nl)
        mnl_socket_close(r->nl);
}

/* Sends req and reads replies until the ack or the dump's end; returns 0
 * or -errno. */
static int rtnl_talk(rtnl *r, struct nlmsghdr *req, mnl_cb_t cb, void *data)
{
    req->nlmsg_seq = ++r->seq;
    if (mnl_socket_sendto(r->nl, req, req->nlmsg_len) < 0)
        return -errno;
    char buf[MNL_SOCKET_BUFFER_SIZE];
    for (;;) {
        ssize_t n = mnl_socket_recvfrom(r->nl, buf, sizeof(buf));
        if (n < 0)
            return -errno;
        int ret = mnl_cb_run(buf, (size_t)n, req->nlmsg_seq, r->portid, cb, data);
        if (ret <= MNL_CB_STOP)
            return ret < 0 ? -errno : 0;
    }
}

/* A request header of type with NLM_F_REQUEST and flags, in buf. */
static struct nlmsghdr *put_request(char *buf, int type, int flags)
{
    struct nlmsghdr *h = mnl_nlmsg_put_header(buf);
    h->nlmsg_type = (uint16_t)type;
    h->nlmsg_flags = (uint16_t)(NLM_F_REQUEST | flags);
    return h;
}

static int create_dummy(rtnl *r, const char *name)
{
    char buf[512];
    struct nlmsghdr *h = put_request(buf, RTM_NEWLINK, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL);
    struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(h, sizeof(*ifi));
    ifi->ifi_family = AF_UNSPEC;
    mnl_attr_put_strz(h, IFLA_IFNAME, name);
    struct nlattr *li = mnl_attr_nest_start(h, IFLA_LINKINFO);
    mnl_attr_put_strz(h, IFLA_INFO_KIND, "dummy");
    mnl_attr_nest_end(h, li);
    int e = rtnl_talk(r, h, NULL, NULL);
    return e == -EEXIST ? 0 : e;
}

static int ensure_link(rtnl *r, const char *name, int *ifindex, kn_error **err)
{
    *ifindex = (int)if_nametoindex(name);
    if (*ifindex > 0)
        return 0;
    int e = create_dummy(r, name);
    if (e == -EOPNOTSUPP)
        return kn_error_set(err, KN_ENOTSUP,
                            "create %s: this kernel has no dummy link type (CONFIG_DUMMY)", name);
    if (e < 0)
        return kn_error_errno(err, -e, "create dummy link %s", name);
    *ifindex = (int)if_nametoindex(name);
    if (*ifindex <= 0)
        return kn_error_errno(err, errno, "find link %s", name);
    return 0;
}

/* ---- addresses ---- */

typedef struct addr_list {
    int ifindex;
    bool ipv4, ipv6;
    size_t n, cap;
    np_addr *v;
    uint8_t *prefix;
} addr_list;

static int addr_cb(const struct nlmsghdr *h, void *data)
{
    addr_list *l = data;
    const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(h);
    if (h->nlmsg_type != RTM_NEWADDR || (int)ifa->ifa_index != l->ifindex)
        return MNL_CB_OK;
    if (!((ifa->ifa_family == AF_INET && l->ipv4) || (ifa->ifa_family == AF_INET6 && l->ipv6)))
        return MNL_CB_OK;
    const struct nlattr *a;
    const void *bytes = NULL;
    mnl_attr_for_each(a, h, sizeof(*ifa))
    {
        int t = mnl_attr_get_type(a);
        if ((t == IFA_LOCAL || (t == IFA_ADDRESS && !bytes)) &&
            mnl_attr_get_payload_len(a) == np_addr_len(ifa->ifa_family))
            bytes = mnl_attr_get_payload(a);
    }
    if (!bytes)
        return MNL_CB_OK;
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 16;
        l->v = xreallocarray(l->v, l->cap, sizeof(*l->v));
        l->prefix = xreallocarray(l->prefix, l->cap, 1);
    }
    np_addr *out = &l->v[l->n];
    memset(out, 0, sizeof(*out));
    out->family = ifa->ifa_family;
    memcpy(out->bytes, bytes, np_addr_len(ifa->ifa_family));
    l->prefix[l->n++] = ifa->ifa_prefixlen;
    return MNL_CB_OK;
}

static int list_addrs(rtnl *r, addr_list *l)
{
    char buf[256];
    struct nlmsghdr *h = put_request(buf, RTM_GETADDR, NLM_F_DUMP);
    struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(h, sizeof(*ifa));
    ifa->ifa_family = AF_UNSPEC;
    return rtnl_talk(r, h, addr_cb, l);
}

/* Adds (RTM_NEWADDR) or deletes (RTM_DELADDR) a host address. */
static int change_addr(rtnl *r, int type, int ifindex, const np_addr *a, uint8_t prefix)
{
    char buf[256];
    struct nlmsghdr *h =
        put_request(buf, type, NLM_F_ACK | (type == RTM_NEWADDR ? NLM_F_CREATE | NLM_F_EXCL : 0));
    struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(h, sizeof(*ifa));
    ifa->ifa_family = (uint8_t)a->family;
    ifa->ifa_prefixlen = prefix;
    ifa->ifa_index = (uint32_t)ifindex;
    /* no duplicate address detection: the address is the node's own */
    ifa->ifa_flags = a->family == AF_INET6 ? IFA_F_NODAD : 0;
    size_t len = np_addr_len(a->family);
    mnl_attr_put(h, IFA_LOCAL, len, a->bytes);
    mnl_attr_put(h, IFA_ADDRESS, len, a->bytes);
    int e = rtnl_talk(r, h, NULL, NULL);
    if ((type == RTM_NEWADDR && e == -EEXIST) || (type == RTM_DELADDR && e == -EADDRNOTAVAIL))
        return 0;
    return e;
}

static bool wanted(const np_addr *addrs, size_t n, const np_addr *a, uint8_t prefix)
{
    if (prefix != np_addr_len(a->family) * 8)
        return false;
    return n && bsearch(a, addrs, n, sizeof(*addrs),
                        (int (*)(const void *, const void *))np_addr_cmp) != NULL;
}

static bool present(const addr_list *l, const np_addr *a)
{
    for (size_t i = 0; i < l->n; i++) {
        if (np_addr_cmp(&l->v[i], a) == 0 && l->prefix[i] == np_addr_len(a->family) * 8)
            return true;
    }
    return false;
}

static int reconcile(rtnl *r, addr_list *l, const np_addr *addrs, size_t naddrs, size_t *added,
                     size_t *removed, kn_error **err)
{
    char s[64];
    for (size_t i = 0; i < l->n; i++) {
        if (wanted(addrs, naddrs, &l->v[i], l->prefix[i]))
            continue;
        int e = change_addr(r, RTM_DELADDR, l->ifindex, &l->v[i], l->prefix[i]);
        if (e < 0)
            return kn_error_errno(err, -e, "delete address %s", np_addr_str(&l->v[i], s, 64));
        (*removed)++;
    }
    for (size_t i = 0; i < naddrs; i++) {
        const np_addr *a = &addrs[i];
        if ((a->family == AF_INET && !l->ipv4) || (a->family == AF_INET6 && !l->ipv6) ||
            present(l, a))
            continue;
        int e = change_addr(r, RTM_NEWADDR, l->ifindex, a, (uint8_t)(np_addr_len(a->family) * 8));
        if (e < 0)
            return kn_error_errno(err, -e, "add address %s", np_addr_str(a, s, 64));
        (*added)++;
    }
    return 0;
}

int np_ipvs_link_sync(const char *name, const np_addr *addrs, size_t naddrs, bool ipv4, bool ipv6,
                      size_t *added, size_t *removed, kn_error **err)
{
    size_t a = 0, d = 0;
    rtnl r = {0};
    addr_list l = {.ipv4 = ipv4, .ipv6 = ipv6};
    int ret = rtnl_open(&r, err);
    if (ret == 0)
        ret = ensure_link(&r, name, &l.ifindex, err);
    if (ret == 0) {
        int e = list_addrs(&r, &l);
        ret = e < 0 ? kn_error_errno(err, -e, "list the addresses of %s", name) : 0;
    }
    if (ret == 0)
        ret = reconcile(&r, &l, addrs, naddrs, &a, &d, err);
    if (ret < 0)
        kn_error_wrap(err, "%s", name);
    free(l.v);
    free(l.prefix);
    rtnl_close(&r);
    if (added)
        *added = a;
    if (removed)
        *removed = d;
    return ret;
}

int np_ipvs_link_delete(const char *name, kn_error **err)
{
    int ifindex = (int)if_nametoindex(name);
    if (ifindex <= 0)
        return 0;
    rtnl r = {0};
    if (rtnl_open(&r, err) < 0)
        return -1;
    char buf[256];
    struct nlmsghdr *h = put_request(buf, RTM_DELLINK, NLM_F_ACK);
    struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(h, sizeof(*ifi));
    ifi->ifi_family = AF_UNSPEC;
    ifi->ifi_index = ifindex;
    int e = rtnl_talk(&r, h, NULL, NULL);
    rtnl_close(&r);
    if (e < 0 && e != -ENODEV)
        return kn_error_errno(err, -e, "delete link %s", name);
    return 0;
}

/* ipvs-msg.c - IPVS generic netlink requests built with libnl-genl, and
 * requests/replies parsed back with libnl's attribute validation. */
#include "netproxy/ipvs-msg.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/ip_vs.h>
#include <netinet/in.h>
#include <netlink/attr.h>
#include <netlink/genl/genl.h>
#include <netlink/msg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

/* ---- building ---- */

static size_t af_len(uint16_t af)
{
    return af == AF_INET6 ? 16 : 4;
}

/* The kernel copies at most sizeof(union nf_inet_addr) (16) bytes and
 * replies with 16; requests send all 16 too (IPv4 zero-padded). */
static void put_svc_key(struct nl_msg *msg, const np_ipvs_svc *s)
{
    nla_put_u16(msg, IPVS_SVC_ATTR_AF, s->af);
    if (s->fwmark) {
        nla_put_u32(msg, IPVS_SVC_ATTR_FWMARK, s->fwmark);
        return;
    }
    nla_put_u16(msg, IPVS_SVC_ATTR_PROTOCOL, s->protocol);
    nla_put(msg, IPVS_SVC_ATTR_ADDR, 16, s->addr);
    nla_put_u16(msg, IPVS_SVC_ATTR_PORT, htons(s->port));
}

static void put_svc(struct nl_msg *msg, const np_ipvs_svc *s, bool full)
{
    struct nlattr *nest = nla_nest_start(msg, IPVS_CMD_ATTR_SERVICE);
    put_svc_key(msg, s);
    if (full) {
        struct ip_vs_flags f = {.flags = s->flags, .mask = ~0u};
        nla_put_string(msg, IPVS_SVC_ATTR_SCHED_NAME, s->sched);
        if (s->pe[0])
            nla_put_string(msg, IPVS_SVC_ATTR_PE_NAME, s->pe);
        nla_put(msg, IPVS_SVC_ATTR_FLAGS, sizeof(f), &f);
        nla_put_u32(msg, IPVS_SVC_ATTR_TIMEOUT, s->timeout);
        nla_put_u32(msg, IPVS_SVC_ATTR_NETMASK, s->netmask);
    }
    nla_nest_end(msg, nest);
}

static void put_dest(struct nl_msg *msg, const np_ipvs_dest *d, bool full)
{
    struct nlattr *nest = nla_nest_start(msg, IPVS_CMD_ATTR_DEST);
    nla_put(msg, IPVS_DEST_ATTR_ADDR, 16, d->addr);
    nla_put_u16(msg, IPVS_DEST_ATTR_PORT, htons(d->port));
    nla_put_u16(msg, IPVS_DEST_ATTR_ADDR_FAMILY, d->af);
    if (full) {
        nla_put_u32(msg, IPVS_DEST_ATTR_FWD_METHOD, d->fwd & IP_VS_CONN_F_FWD_MASK);
        nla_put_u32(msg, IPVS_DEST_ATTR_WEIGHT, d->weight);
        nla_put_u32(msg, IPVS_DEST_ATTR_U_THRESH, d->u_thresh);
        nla_put_u32(msg, IPVS_DEST_ATTR_L_THRESH, d->l_thresh);
    }
    nla_nest_end(msg, nest);
}

struct nl_msg *np_ipvs_msg_build(int family, const np_ipvs_msg *m, int nlflags)
{
    bool svc_full = false, with_svc = true, with_dest = false, dest_full = false;
    switch (m->cmd) {
    case IPVS_CMD_NEW_SERVICE:
    case IPVS_CMD_SET_SERVICE:
        svc_full = true;
        break;
    case IPVS_CMD_DEL_SERVICE:
    case IPVS_CMD_GET_DEST:
        break;
    case IPVS_CMD_GET_SERVICE:
        with_svc = !(nlflags & NLM_F_DUMP);
        break;
    case IPVS_CMD_NEW_DEST:
    case IPVS_CMD_SET_DEST:
        with_dest = dest_full = true;
        break;
    case IPVS_CMD_DEL_DEST:
        with_dest = true;
        break;
    default:
        return NULL;
    }
    struct nl_msg *msg = nlmsg_alloc();
    if (!msg)
        return NULL;
    genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, family, 0, nlflags, m->cmd, IPVS_GENL_VERSION);
    if (with_svc)
        put_svc(msg, &m->svc, svc_full);
    if (with_dest)
        put_dest(msg, &m->dest, dest_full);
    return msg;
}

/* ---- parsing ---- */

static struct nla_policy cmd_policy[IPVS_CMD_ATTR_MAX + 1] = {
    [IPVS_CMD_ATTR_SERVICE] = {.type = NLA_NESTED},
    [IPVS_CMD_ATTR_DEST] = {.type = NLA_NESTED},
    [IPVS_CMD_ATTR_DAEMON] = {.type = NLA_NESTED},
    [IPVS_CMD_ATTR_TIMEOUT_TCP] = {.type = NLA_U32},
    [IPVS_CMD_ATTR_TIMEOUT_TCP_FIN] = {.type = NLA_U32},
    [IPVS_CMD_ATTR_TIMEOUT_UDP] = {.type = NLA_U32},
};

static struct nla_policy svc_policy[IPVS_SVC_ATTR_MAX + 1] = {
    [IPVS_SVC_ATTR_AF] = {.type = NLA_U16},
    [IPVS_SVC_ATTR_PROTOCOL] = {.type = NLA_U16},
    [IPVS_SVC_ATTR_ADDR] = {.type = NLA_UNSPEC, .minlen = 4, .maxlen = 16},
    [IPVS_SVC_ATTR_PORT] = {.type = NLA_U16},
    [IPVS_SVC_ATTR_FWMARK] = {.type = NLA_U32},
    [IPVS_SVC_ATTR_SCHED_NAME] = {.type = NLA_STRING, .maxlen = NP_IPVS_SCHED_MAX},
    [IPVS_SVC_ATTR_FLAGS] = {.type = NLA_UNSPEC, .minlen = sizeof(struct ip_vs_flags)},
    [IPVS_SVC_ATTR_TIMEOUT] = {.type = NLA_U32},
    [IPVS_SVC_ATTR_NETMASK] = {.type = NLA_U32},
    [IPVS_SVC_ATTR_STATS] = {.type = NLA_NESTED},
    [IPVS_SVC_ATTR_PE_NAME] = {.type = NLA_STRING, .maxlen = NP_IPVS_SCHED_MAX},
    [IPVS_SVC_ATTR_STATS64] = {.type = NLA_NESTED},
};

static struct nla_policy dest_policy[IPVS_DEST_ATTR_MAX + 1] = {
    [IPVS_DEST_ATTR_ADDR] = {.type = NLA_UNSPEC, .minlen = 4, .maxlen = 16},
    [IPVS_DEST_ATTR_PORT] = {.type = NLA_U16},
    [IPVS_DEST_ATTR_FWD_METHOD] = {.type = NLA_U32},
    [IPVS_DEST_ATTR_WEIGHT] = {.type = NLA_U32},
    [IPVS_DEST_ATTR_U_THRESH] = {.type = NLA_U32},
    [IPVS_DEST_ATTR_L_THRESH] = {.type = NLA_U32},
    [IPVS_DEST_ATTR_ACTIVE_CONNS] = {.type = NLA_U32},
    [IPVS_DEST_ATTR_INACT_CONNS] = {.type = NLA_U32},
    [IPVS_DEST_ATTR_PERSIST_CONNS] = {.type = NLA_U32},
    [IPVS_DEST_ATTR_STATS] = {.type = NLA_NESTED},
    [IPVS_DEST_ATTR_ADDR_FAMILY] = {.type = NLA_U16},
    [IPVS_DEST_ATTR_STATS64] = {.type = NLA_NESTED},
    [IPVS_DEST_ATTR_TUN_TYPE] = {.type = NLA_U8},
    [IPVS_DEST_ATTR_TUN_PORT] = {.type = NLA_U16},
    [IPVS_DEST_ATTR_TUN_FLAGS] = {.type = NLA_U16},
};

static bool af_ok(uint16_t af)
{
    return af == AF_INET || af == AF_INET6;
}

/* An address attribute: 16 bytes (the kernel's union), or exactly the
 * family's length. */
static int get_addr(const struct nlattr *a, uint16_t af, uint8_t out[16])
{
    int n = nla_len(a);
    if (n != 16 && (size_t)n != af_len(af))
        return -EINVAL;
    memcpy(out, nla_data(a), (size_t)n);
    if (af == AF_INET)
        memset(out + 4, 0, 12);
    return 0;
}

static int get_str(const struct nlattr *a, char *out, size_t len)
{
    if (nla_strlcpy(out, a, len) >= len)
        return -EINVAL;
    return 0;
}

static int parse_svc_key(struct nlattr **tb, np_ipvs_svc *s, unsigned *seen)
{
    if (!tb[IPVS_SVC_ATTR_AF])
        return 0;
    s->af = nla_get_u16(tb[IPVS_SVC_ATTR_AF]);
    if (!af_ok(s->af))
        return -EINVAL;
    if (tb[IPVS_SVC_ATTR_FWMARK]) {
        s->fwmark = nla_get_u32(tb[IPVS_SVC_ATTR_FWMARK]);
        *seen |= NP_IPVS_SEEN_SVC_KEY;
        return 0;
    }
    if (!tb[IPVS_SVC_ATTR_PROTOCOL] || !tb[IPVS_SVC_ATTR_ADDR] || !tb[IPVS_SVC_ATTR_PORT])
        return 0;
    s->protocol = nla_get_u16(tb[IPVS_SVC_ATTR_PROTOCOL]);
    s->port = ntohs(nla_get_u16(tb[IPVS_SVC_ATTR_PORT]));
    if (get_addr(tb[IPVS_SVC_ATTR_ADDR], s->af, s->addr) < 0)
        return -EINVAL;
    *seen |= NP_IPVS_SEEN_SVC_KEY;
    return 0;
}

static int parse_svc_rest(struct nlattr **tb, np_ipvs_svc *s, unsigned *seen)
{
    if (tb[IPVS_SVC_ATTR_PE_NAME]) {
        if (get_str(tb[IPVS_SVC_ATTR_PE_NAME], s->pe, sizeof(s->pe)) < 0)
            return -EINVAL;
        *seen |= NP_IPVS_SEEN_SVC_PE;
    }
    if (!tb[IPVS_SVC_ATTR_SCHED_NAME] || !tb[IPVS_SVC_ATTR_FLAGS] || !tb[IPVS_SVC_ATTR_TIMEOUT] ||
        !tb[IPVS_SVC_ATTR_NETMASK])
        return 0;
    if (get_str(tb[IPVS_SVC_ATTR_SCHED_NAME], s->sched, sizeof(s->sched)) < 0)
        return -EINVAL;
    struct ip_vs_flags f;
    memcpy(&f, nla_data(tb[IPVS_SVC_ATTR_FLAGS]), sizeof(f));
    s->flags = f.flags & f.mask;
    s->timeout = nla_get_u32(tb[IPVS_SVC_ATTR_TIMEOUT]);
    s->netmask = nla_get_u32(tb[IPVS_SVC_ATTR_NETMASK]);
    *seen |= NP_IPVS_SEEN_SVC_FULL;
    return 0;
}

static int parse_svc(struct nlattr *nest, np_ipvs_svc *s, unsigned *seen)
{
    struct nlattr *tb[IPVS_SVC_ATTR_MAX + 1];
    if (nla_parse_nested(tb, IPVS_SVC_ATTR_MAX, nest, svc_policy) < 0)
        return -EINVAL;
    *seen |= NP_IPVS_SEEN_SVC;
    if (parse_svc_key(tb, s, seen) < 0)
        return -EINVAL;
    return parse_svc_rest(tb, s, seen);
}

static void parse_dest_full(struct nlattr **tb, np_ipvs_dest *d, unsigned *seen)
{
    if (tb[IPVS_DEST_ATTR_FWD_METHOD] && tb[IPVS_DEST_ATTR_WEIGHT] && tb[IPVS_DEST_ATTR_U_THRESH] &&
        tb[IPVS_DEST_ATTR_L_THRESH]) {
        d->fwd = nla_get_u32(tb[IPVS_DEST_ATTR_FWD_METHOD]);
        d->weight = nla_get_u32(tb[IPVS_DEST_ATTR_WEIGHT]);
        d->u_thresh = nla_get_u32(tb[IPVS_DEST_ATTR_U_THRESH]);
        d->l_thresh = nla_get_u32(tb[IPVS_DEST_ATTR_L_THRESH]);
        *seen |= NP_IPVS_SEEN_DEST_FULL;
    }
    if (tb[IPVS_DEST_ATTR_ACTIVE_CONNS] && tb[IPVS_DEST_ATTR_INACT_CONNS] &&
        tb[IPVS_DEST_ATTR_PERSIST_CONNS]) {
        d->active = nla_get_u32(tb[IPVS_DEST_ATTR_ACTIVE_CONNS]);
        d->inactive = nla_get_u32(tb[IPVS_DEST_ATTR_INACT_CONNS]);
        d->persisted = nla_get_u32(tb[IPVS_DEST_ATTR_PERSIST_CONNS]);
        *seen |= NP_IPVS_SEEN_DEST_CONNS;
    }
}

/* The destination's family is its own attribute when present, else the
 * service's (the kernel's rule); 0 when neither is known. */
static int parse_dest(struct nlattr *nest, uint16_t svc_af, np_ipvs_dest *d, unsigned *seen)
{
    struct nlattr *tb[IPVS_DEST_ATTR_MAX + 1];
    if (nla_parse_nested(tb, IPVS_DEST_ATTR_MAX, nest, dest_policy) < 0)
        return -EINVAL;
    *seen |= NP_IPVS_SEEN_DEST;
    d->af = svc_af;
    if (tb[IPVS_DEST_ATTR_ADDR_FAMILY]) {
        d->af = nla_get_u16(tb[IPVS_DEST_ATTR_ADDR_FAMILY]);
        if (!af_ok(d->af))
            return -EINVAL;
        *seen |= NP_IPVS_SEEN_DEST_AF;
    }
    if (tb[IPVS_DEST_ATTR_ADDR] && tb[IPVS_DEST_ATTR_PORT]) {
        if (get_addr(tb[IPVS_DEST_ATTR_ADDR], d->af ? d->af : AF_INET6, d->addr) < 0)
            return -EINVAL;
        d->port = ntohs(nla_get_u16(tb[IPVS_DEST_ATTR_PORT]));
        *seen |= NP_IPVS_SEEN_DEST_KEY;
    }
    parse_dest_full(tb, d, seen);
    return 0;
}

int np_ipvs_msg_parse(const struct nlmsghdr *nlh, size_t len, np_ipvs_msg *out)
{
    memset(out, 0, sizeof(*out));
    if (len < sizeof(*nlh) || nlh->nlmsg_len > len || !nlmsg_ok(nlh, (int)len))
        return -EBADMSG;
    struct nlmsghdr *h = (struct nlmsghdr *)nlh;
    if (!genlmsg_valid_hdr(h, 0))
        return -EBADMSG;
    struct nlattr *tb[IPVS_CMD_ATTR_MAX + 1];
    if (genlmsg_parse(h, 0, tb, IPVS_CMD_ATTR_MAX, cmd_policy) < 0)
        return -EINVAL;
    out->cmd = ((const struct genlmsghdr *)nlmsg_data(h))->cmd;
    if (tb[IPVS_CMD_ATTR_SERVICE] &&
        parse_svc(tb[IPVS_CMD_ATTR_SERVICE], &out->svc, &out->seen) < 0)
        return -EINVAL;
    if (tb[IPVS_CMD_ATTR_DEST] &&
        parse_dest(tb[IPVS_CMD_ATTR_DEST], out->svc.af, &out->dest, &out->seen) < 0)
        return -EINVAL;
    return 0;
}

int np_ipvs_parse_buf(const void *buf, size_t len, int (*fn)(const np_ipvs_msg *m, void *ud),
                      void *ud)
{
    const struct nlmsghdr *h = buf;
    int rem = len > (size_t)INT32_MAX ? INT32_MAX : (int)len;
    for (; nlmsg_ok(h, rem); h = nlmsg_next((struct nlmsghdr *)h, &rem)) {
        if (h->nlmsg_type == NLMSG_DONE)
            return 0;
        if (h->nlmsg_type == NLMSG_ERROR || h->nlmsg_type == NLMSG_NOOP)
            continue;
        np_ipvs_msg m;
        int r = np_ipvs_msg_parse(h, (size_t)rem, &m);
        if (r == 0)
            r = fn(&m, ud);
        if (r != 0)
            return r;
    }
    return 0;
}

/* ---- keys ---- */

static int cmp_u32(uint32_t a, uint32_t b)
{
    return a < b ? -1 : a > b;
}

int np_ipvs_svc_cmp(const np_ipvs_svc *a, const np_ipvs_svc *b)
{
    int c = cmp_u32(a->af, b->af);
    if (!c)
        c = cmp_u32(a->fwmark, b->fwmark);
    if (!c)
        c = cmp_u32(a->protocol, b->protocol);
    if (!c)
        c = memcmp(a->addr, b->addr, sizeof(a->addr));
    if (!c)
        c = cmp_u32(a->port, b->port);
    return c;
}

bool np_ipvs_svc_same_key(const np_ipvs_svc *a, const np_ipvs_svc *b)
{
    return np_ipvs_svc_cmp(a, b) == 0;
}

int np_ipvs_dest_cmp(const np_ipvs_dest *a, const np_ipvs_dest *b)
{
    int c = cmp_u32(a->af, b->af);
    if (!c)
        c = memcmp(a->addr, b->addr, sizeof(a->addr));
    if (!c)
        c = cmp_u32(a->port, b->port);
    return c;
}

static const char *proto_str(uint16_t p)
{
    return p == IPPROTO_TCP ? "tcp" : p == IPPROTO_UDP ? "udp" : p == IPPROTO_SCTP ? "sctp" : "?";
}

const char *np_ipvs_svc_str(const np_ipvs_svc *s, char *buf, size_t len)
{
    char a[INET6_ADDRSTRLEN] = "";
    if (s->fwmark) {
        snprintf(buf, len, "fwmark %u", s->fwmark);
        return buf;
    }
    inet_ntop(s->af == AF_INET6 ? AF_INET6 : AF_INET, s->addr, a, sizeof(a));
    if (s->af == AF_INET6)
        snprintf(buf, len, "%s [%s]:%u", proto_str(s->protocol), a, s->port);
    else
        snprintf(buf, len, "%s %s:%u", proto_str(s->protocol), a, s->port);
    return buf;
}

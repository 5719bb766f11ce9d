/* test-ipvs-msg.c - IPVS generic netlink messages: every request kind is
 * built, checked at the byte level where the kernel is strict (network
 * order ports, 16-byte addresses, struct ip_vs_flags), then decoded back
 * and compared attribute by attribute; kernel-style replies (stats,
 * counters, the internal "hashed" flag) and malformed input. No kernel
 * needed. */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/ip_vs.h>
#include <netlink/attr.h>
#include <netlink/genl/genl.h>
#include <netlink/msg.h>
#include <string.h>
#include <sys/socket.h>

#include "netproxy/ipvs-msg.h"
#include "test/runner/kt.h"

#define FAMILY 0x2a

static np_ipvs_svc svc4(void)
{
    np_ipvs_svc s = {.af = AF_INET,
                     .protocol = IPPROTO_TCP,
                     .port = 8080,
                     .sched = "rr",
                     .flags = IP_VS_SVC_F_PERSISTENT,
                     .timeout = 10800,
                     .netmask = 0xffffffffu};
    inet_pton(AF_INET, "10.96.0.10", s.addr);
    return s;
}

static np_ipvs_svc svc6(void)
{
    np_ipvs_svc s = {.af = AF_INET6,
                     .protocol = IPPROTO_SCTP,
                     .port = 443,
                     .sched = "wlc",
                     .pe = "sip",
                     .timeout = 0,
                     .netmask = 128};
    inet_pton(AF_INET6, "fd00:96::a", s.addr);
    return s;
}

static np_ipvs_dest dest4(void)
{
    np_ipvs_dest d = {.af = AF_INET,
                      .port = 9376,
                      .fwd = IP_VS_CONN_F_MASQ,
                      .weight = 1,
                      .u_thresh = 100,
                      .l_thresh = 7};
    inet_pton(AF_INET, "10.244.1.3", d.addr);
    return d;
}

static np_ipvs_dest dest6(void)
{
    np_ipvs_dest d = {.af = AF_INET6, .port = 65535, .fwd = IP_VS_CONN_F_MASQ, .weight = 0};
    inet_pton(AF_INET6, "fd00:244::2", d.addr);
    return d;
}

/* Builds, checks the netlink and genl headers, parses back. */
static void round_trip(const np_ipvs_msg *in, int flags, np_ipvs_msg *out)
{
    struct nl_msg *msg = np_ipvs_msg_build(FAMILY, in, flags);
    KT_ASSERT(msg);
    struct nlmsghdr *h = nlmsg_hdr(msg);
    KT_ASSERT_EQ(h->nlmsg_type, FAMILY);
    KT_ASSERT_EQ(h->nlmsg_flags & flags, flags);
    struct genlmsghdr *g = nlmsg_data(h);
    KT_ASSERT_EQ(g->cmd, in->cmd);
    KT_ASSERT_EQ(g->version, IPVS_GENL_VERSION);
    KT_ASSERT_EQ(np_ipvs_msg_parse(h, h->nlmsg_len, out), 0);
    KT_ASSERT_EQ(out->cmd, in->cmd);
    nlmsg_free(msg);
}

static void assert_key(const np_ipvs_svc *a, const np_ipvs_svc *b)
{
    KT_ASSERT_EQ(a->af, b->af);
    KT_ASSERT_EQ(a->protocol, b->protocol);
    KT_ASSERT(memcmp(a->addr, b->addr, 16) == 0);
    KT_ASSERT_EQ(a->port, b->port);
    KT_ASSERT_EQ(a->fwmark, b->fwmark);
    KT_ASSERT(np_ipvs_svc_same_key(a, b));
}

static void assert_full_svc(const np_ipvs_svc *a, const np_ipvs_svc *b)
{
    assert_key(a, b);
    KT_ASSERT_STREQ(a->sched, b->sched);
    KT_ASSERT_STREQ(a->pe, b->pe);
    KT_ASSERT_EQ(a->flags, b->flags);
    KT_ASSERT_EQ(a->timeout, b->timeout);
    KT_ASSERT_EQ(a->netmask, b->netmask);
}

static void assert_dest_key(const np_ipvs_dest *a, const np_ipvs_dest *b)
{
    KT_ASSERT_EQ(a->af, b->af);
    KT_ASSERT(memcmp(a->addr, b->addr, 16) == 0);
    KT_ASSERT_EQ(a->port, b->port);
}

static void assert_full_dest(const np_ipvs_dest *a, const np_ipvs_dest *b)
{
    assert_dest_key(a, b);
    KT_ASSERT_EQ(a->fwd, b->fwd);
    KT_ASSERT_EQ(a->weight, b->weight);
    KT_ASSERT_EQ(a->u_thresh, b->u_thresh);
    KT_ASSERT_EQ(a->l_thresh, b->l_thresh);
}

KT_TEST(ipvs_msg, service_commands_round_trip)
{
    np_ipvs_svc all[2] = {svc4(), svc6()};
    for (int i = 0; i < 2; i++) {
        for (uint8_t cmd = IPVS_CMD_NEW_SERVICE; cmd <= IPVS_CMD_SET_SERVICE; cmd++) {
            np_ipvs_msg in = {.cmd = cmd, .svc = all[i]}, out;
            round_trip(&in, NLM_F_ACK, &out);
            KT_ASSERT_EQ(out.seen, NP_IPVS_SEEN_SVC | NP_IPVS_SEEN_SVC_KEY | NP_IPVS_SEEN_SVC_FULL |
                                       (all[i].pe[0] ? NP_IPVS_SEEN_SVC_PE : 0));
            assert_full_svc(&out.svc, &all[i]);
        }
        uint8_t keyed[] = {IPVS_CMD_DEL_SERVICE, IPVS_CMD_GET_SERVICE, IPVS_CMD_GET_DEST};
        for (size_t k = 0; k < sizeof(keyed); k++) {
            np_ipvs_msg in = {.cmd = keyed[k], .svc = all[i]}, out;
            round_trip(&in, NLM_F_ACK, &out);
            /* only the key travels: no scheduler, flags or timeout */
            KT_ASSERT_EQ(out.seen, NP_IPVS_SEEN_SVC | NP_IPVS_SEEN_SVC_KEY);
            assert_key(&out.svc, &all[i]);
            KT_ASSERT_STREQ(out.svc.sched, "");
            KT_ASSERT_EQ(out.svc.timeout, 0);
        }
    }
}

KT_TEST(ipvs_msg, service_dump_has_no_attributes)
{
    np_ipvs_msg in = {.cmd = IPVS_CMD_GET_SERVICE, .svc = svc4()}, out;
    round_trip(&in, NLM_F_DUMP, &out);
    KT_ASSERT_EQ(out.seen, 0);
}

KT_TEST(ipvs_msg, fwmark_service_round_trip)
{
    np_ipvs_svc s = {.af = AF_INET, .fwmark = 77, .sched = "sh", .netmask = 0xffffff00u};
    np_ipvs_msg in = {.cmd = IPVS_CMD_NEW_SERVICE, .svc = s}, out;
    round_trip(&in, NLM_F_ACK, &out);
    KT_ASSERT(out.seen & NP_IPVS_SEEN_SVC_KEY);
    assert_full_svc(&out.svc, &s);
    char buf[64];
    KT_ASSERT_STREQ(np_ipvs_svc_str(&out.svc, buf, sizeof(buf)), "fwmark 77");
}

KT_TEST(ipvs_msg, dest_commands_round_trip)
{
    np_ipvs_svc svcs[2] = {svc4(), svc6()};
    np_ipvs_dest dests[2] = {dest4(), dest6()};
    for (int i = 0; i < 2; i++) {
        for (uint8_t cmd = IPVS_CMD_NEW_DEST; cmd <= IPVS_CMD_SET_DEST; cmd++) {
            np_ipvs_msg in = {.cmd = cmd, .svc = svcs[i], .dest = dests[i]}, out;
            round_trip(&in, NLM_F_ACK, &out);
            KT_ASSERT_EQ(out.seen, NP_IPVS_SEEN_SVC | NP_IPVS_SEEN_SVC_KEY | NP_IPVS_SEEN_DEST |
                                       NP_IPVS_SEEN_DEST_KEY | NP_IPVS_SEEN_DEST_AF |
                                       NP_IPVS_SEEN_DEST_FULL);
            assert_key(&out.svc, &svcs[i]);
            KT_ASSERT_STREQ(out.svc.sched, ""); /* the service goes as its key only */
            assert_full_dest(&out.dest, &dests[i]);
        }
        np_ipvs_msg in = {.cmd = IPVS_CMD_DEL_DEST, .svc = svcs[i], .dest = dests[i]}, out;
        round_trip(&in, NLM_F_ACK, &out);
        KT_ASSERT_EQ(out.seen, NP_IPVS_SEEN_SVC | NP_IPVS_SEEN_SVC_KEY | NP_IPVS_SEEN_DEST |
                                   NP_IPVS_SEEN_DEST_KEY | NP_IPVS_SEEN_DEST_AF);
        assert_dest_key(&out.dest, &dests[i]);
        KT_ASSERT_EQ(out.dest.weight, 0);
    }
}

KT_TEST(ipvs_msg, unknown_command_is_not_built)
{
    np_ipvs_msg in = {.cmd = IPVS_CMD_FLUSH};
    KT_ASSERT(np_ipvs_msg_build(FAMILY, &in, 0) == NULL);
}

/* The kernel reads ports big-endian, addresses as a 16-byte union, and
 * flags as struct ip_vs_flags {flags, mask}. */
KT_TEST(ipvs_msg, wire_layout_is_the_kernels)
{
    np_ipvs_msg in = {.cmd = IPVS_CMD_NEW_DEST, .svc = svc4(), .dest = dest4()};
    in.cmd = IPVS_CMD_NEW_SERVICE;
    struct nl_msg *msg = np_ipvs_msg_build(FAMILY, &in, 0);
    struct nlattr *tb[IPVS_CMD_ATTR_MAX + 1], *sv[IPVS_SVC_ATTR_MAX + 1];
    KT_ASSERT_EQ(genlmsg_parse(nlmsg_hdr(msg), 0, tb, IPVS_CMD_ATTR_MAX, NULL), 0);
    KT_ASSERT(tb[IPVS_CMD_ATTR_SERVICE] && !tb[IPVS_CMD_ATTR_DEST]);
    KT_ASSERT_EQ(nla_parse_nested(sv, IPVS_SVC_ATTR_MAX, tb[IPVS_CMD_ATTR_SERVICE], NULL), 0);
    const uint8_t *port = nla_data(sv[IPVS_SVC_ATTR_PORT]);
    KT_ASSERT_EQ(port[0], 0x1f); /* 8080 = 0x1f90 */
    KT_ASSERT_EQ(port[1], 0x90);
    KT_ASSERT_EQ(nla_len(sv[IPVS_SVC_ATTR_ADDR]), 16);
    KT_ASSERT_EQ(nla_get_u16(sv[IPVS_SVC_ATTR_PROTOCOL]), IPPROTO_TCP);
    KT_ASSERT_EQ(nla_len(sv[IPVS_SVC_ATTR_FLAGS]), sizeof(struct ip_vs_flags));
    struct ip_vs_flags f;
    memcpy(&f, nla_data(sv[IPVS_SVC_ATTR_FLAGS]), sizeof(f));
    KT_ASSERT_EQ(f.flags, IP_VS_SVC_F_PERSISTENT);
    KT_ASSERT_EQ(f.mask, 0xffffffffu);
    KT_ASSERT_STREQ(nla_get_string(sv[IPVS_SVC_ATTR_SCHED_NAME]), "rr");
    KT_ASSERT(!sv[IPVS_SVC_ATTR_PE_NAME]); /* no persistence engine: not sent */
    nlmsg_free(msg);
}

/* A reply as the kernel's ip_vs_genl_fill_service/dest write them. */
static struct nl_msg *kernel_reply(uint8_t cmd)
{
    struct nl_msg *msg = nlmsg_alloc();
    genlmsg_put(msg, 1, 7, FAMILY, 0, NLM_F_MULTI, cmd, IPVS_GENL_VERSION);
    if (cmd == IPVS_CMD_NEW_SERVICE) {
        np_ipvs_svc s = svc4();
        struct nlattr *n = nla_nest_start(msg, IPVS_CMD_ATTR_SERVICE);
        nla_put_u16(msg, IPVS_SVC_ATTR_AF, AF_INET);
        nla_put_u16(msg, IPVS_SVC_ATTR_PROTOCOL, IPPROTO_TCP);
        nla_put(msg, IPVS_SVC_ATTR_ADDR, 16, s.addr);
        nla_put_u16(msg, IPVS_SVC_ATTR_PORT, htons(8080));
        nla_put_string(msg, IPVS_SVC_ATTR_SCHED_NAME, "rr");
        struct ip_vs_flags f = {IP_VS_SVC_F_PERSISTENT | IP_VS_SVC_F_HASHED, ~0u};
        nla_put(msg, IPVS_SVC_ATTR_FLAGS, sizeof(f), &f);
        nla_put_u32(msg, IPVS_SVC_ATTR_TIMEOUT, 10800);
        nla_put_u32(msg, IPVS_SVC_ATTR_NETMASK, 0xffffffffu);
        struct nlattr *st = nla_nest_start(msg, IPVS_SVC_ATTR_STATS64);
        nla_put_u64(msg, IPVS_STATS_ATTR_CONNS, 12);
        nla_nest_end(msg, st);
        nla_nest_end(msg, n);
    } else {
        np_ipvs_dest d = dest4();
        struct nlattr *n = nla_nest_start(msg, IPVS_CMD_ATTR_DEST);
        nla_put(msg, IPVS_DEST_ATTR_ADDR, 16, d.addr);
        nla_put_u16(msg, IPVS_DEST_ATTR_ADDR_FAMILY, AF_INET);
        nla_put_u16(msg, IPVS_DEST_ATTR_PORT, htons(9376));
        nla_put_u32(msg, IPVS_DEST_ATTR_FWD_METHOD, IP_VS_CONN_F_MASQ);
        nla_put_u32(msg, IPVS_DEST_ATTR_WEIGHT, 1);
        nla_put_u8(msg, IPVS_DEST_ATTR_TUN_TYPE, 0);
        nla_put_u32(msg, IPVS_DEST_ATTR_U_THRESH, 100);
        nla_put_u32(msg, IPVS_DEST_ATTR_L_THRESH, 7);
        nla_put_u32(msg, IPVS_DEST_ATTR_ACTIVE_CONNS, 3);
        nla_put_u32(msg, IPVS_DEST_ATTR_INACT_CONNS, 4);
        nla_put_u32(msg, IPVS_DEST_ATTR_PERSIST_CONNS, 5);
        nla_nest_end(msg, n);
    }
    return msg;
}

KT_TEST(ipvs_msg, kernel_replies_parse)
{
    struct nl_msg *msg = kernel_reply(IPVS_CMD_NEW_SERVICE);
    np_ipvs_msg out;
    KT_ASSERT_EQ(np_ipvs_msg_parse(nlmsg_hdr(msg), nlmsg_hdr(msg)->nlmsg_len, &out), 0);
    np_ipvs_svc want = svc4();
    want.flags |= IP_VS_SVC_F_HASHED;
    assert_full_svc(&out.svc, &want);
    nlmsg_free(msg);
    msg = kernel_reply(IPVS_CMD_NEW_DEST);
    KT_ASSERT_EQ(np_ipvs_msg_parse(nlmsg_hdr(msg), nlmsg_hdr(msg)->nlmsg_len, &out), 0);
    KT_ASSERT(!(out.seen & NP_IPVS_SEEN_SVC));
    KT_ASSERT(out.seen & NP_IPVS_SEEN_DEST_CONNS);
    np_ipvs_dest d = dest4();
    assert_full_dest(&out.dest, &d);
    KT_ASSERT_EQ(out.dest.active, 3);
    KT_ASSERT_EQ(out.dest.inactive, 4);
    KT_ASSERT_EQ(out.dest.persisted, 5);
    nlmsg_free(msg);
}

static int count_msgs(const np_ipvs_msg *m, void *ud)
{
    (void)m;
    (*(int *)ud)++;
    return 0;
}

KT_TEST(ipvs_msg, buffer_of_replies_until_done)
{
    uint8_t buf[4096];
    size_t len = 0;
    for (int i = 0; i < 3; i++) {
        struct nl_msg *msg = kernel_reply(i ? IPVS_CMD_NEW_DEST : IPVS_CMD_NEW_SERVICE);
        memcpy(buf + len, nlmsg_hdr(msg), nlmsg_hdr(msg)->nlmsg_len);
        len += NLMSG_ALIGN(nlmsg_hdr(msg)->nlmsg_len);
        nlmsg_free(msg);
    }
    struct nlmsghdr *done = (struct nlmsghdr *)(buf + len);
    *done = (struct nlmsghdr){.nlmsg_len = NLMSG_HDRLEN, .nlmsg_type = NLMSG_DONE};
    /* after DONE: garbage that must not be read */
    memset(buf + len + NLMSG_HDRLEN, 0xff, 64);
    int n = 0;
    KT_ASSERT_EQ(np_ipvs_parse_buf(buf, len + NLMSG_HDRLEN + 64, count_msgs, &n), 0);
    KT_ASSERT_EQ(n, 3);
}

/* Rewrites the first attribute of type `type` found in the service nest. */
static struct nlattr *svc_attr(struct nl_msg *msg, int type)
{
    struct nlattr *tb[IPVS_CMD_ATTR_MAX + 1];
    genlmsg_parse(nlmsg_hdr(msg), 0, tb, IPVS_CMD_ATTR_MAX, NULL);
    return nla_find(nla_data(tb[IPVS_CMD_ATTR_SERVICE]), nla_len(tb[IPVS_CMD_ATTR_SERVICE]), type);
}

KT_TEST(ipvs_msg, malformed_input_is_refused)
{
    np_ipvs_msg in = {.cmd = IPVS_CMD_NEW_SERVICE, .svc = svc4()}, out;
    struct nl_msg *msg = np_ipvs_msg_build(FAMILY, &in, 0);
    struct nlmsghdr *h = nlmsg_hdr(msg);
    /* the header claims more than the buffer holds */
    KT_ASSERT_EQ(np_ipvs_msg_parse(h, h->nlmsg_len - 1, &out), -EBADMSG);
    KT_ASSERT_EQ(np_ipvs_msg_parse(h, 3, &out), -EBADMSG);
    /* an unknown address family */
    *(uint16_t *)nla_data(svc_attr(msg, IPVS_SVC_ATTR_AF)) = 3;
    KT_ASSERT_EQ(np_ipvs_msg_parse(h, h->nlmsg_len, &out), -EINVAL);
    *(uint16_t *)nla_data(svc_attr(msg, IPVS_SVC_ATTR_AF)) = AF_INET;
    /* a scheduler name without its NUL */
    char *name = nla_data(svc_attr(msg, IPVS_SVC_ATTR_SCHED_NAME));
    name[2] = 'x';
    KT_ASSERT_EQ(np_ipvs_msg_parse(h, h->nlmsg_len, &out), -EINVAL);
    name[2] = '\0';
    KT_ASSERT_EQ(np_ipvs_msg_parse(h, h->nlmsg_len, &out), 0);
    nlmsg_free(msg);
}

/* A service key whose address has addr_len bytes. */
static struct nl_msg *key_with_addr(int addr_len)
{
    struct nl_msg *msg = nlmsg_alloc();
    genlmsg_put(msg, 1, 7, FAMILY, 0, 0, IPVS_CMD_DEL_SERVICE, IPVS_GENL_VERSION);
    struct nlattr *n = nla_nest_start(msg, IPVS_CMD_ATTR_SERVICE);
    uint8_t addr[32] = {10, 96, 0, 1};
    nla_put_u16(msg, IPVS_SVC_ATTR_AF, AF_INET);
    nla_put_u16(msg, IPVS_SVC_ATTR_PROTOCOL, IPPROTO_UDP);
    nla_put(msg, IPVS_SVC_ATTR_ADDR, addr_len, addr);
    nla_put_u16(msg, IPVS_SVC_ATTR_PORT, htons(53));
    nla_nest_end(msg, n);
    return msg;
}

KT_TEST(ipvs_msg, address_lengths)
{
    int lens[] = {4, 16, 5, 3, 17};
    int want[] = {0, 0, -EINVAL, -EINVAL, -EINVAL};
    for (int i = 0; i < 5; i++) {
        struct nl_msg *msg = key_with_addr(lens[i]);
        np_ipvs_msg out;
        struct nlmsghdr *h = nlmsg_hdr(msg);
        KT_ASSERT_EQ(np_ipvs_msg_parse(h, h->nlmsg_len, &out), want[i]);
        if (want[i] == 0) {
            KT_ASSERT(out.seen & NP_IPVS_SEEN_SVC_KEY);
            char buf[64];
            KT_ASSERT_STREQ(np_ipvs_svc_str(&out.svc, buf, sizeof(buf)), "udp 10.96.0.1:53");
        }
        nlmsg_free(msg);
    }
}

KT_TEST(ipvs_msg, order_and_text)
{
    np_ipvs_svc a = svc4(), b = svc4(), c = svc6();
    b.port = 8081;
    KT_ASSERT(np_ipvs_svc_cmp(&a, &b) < 0);
    KT_ASSERT(np_ipvs_svc_cmp(&a, &c) < 0); /* IPv4 first */
    KT_ASSERT(!np_ipvs_svc_same_key(&a, &b));
    np_ipvs_dest d1 = dest4(), d2 = dest4();
    d2.port = 1;
    KT_ASSERT(np_ipvs_dest_cmp(&d2, &d1) < 0);
    char buf[64];
    KT_ASSERT_STREQ(np_ipvs_svc_str(&a, buf, sizeof(buf)), "tcp 10.96.0.10:8080");
    KT_ASSERT_STREQ(np_ipvs_svc_str(&c, buf, sizeof(buf)), "sctp [fd00:96::a]:443");
}

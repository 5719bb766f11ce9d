/* ipvs-msg.h - IPVS generic netlink messages (family "IPVS", version 1,
 * attributes of the kernel's uapi linux/ip_vs.h) as plain structs: building
 * requests (libnl-genl) and parsing requests and replies.
 *
 * What a message carries follows from its command, as the kernel reads it:
 *   NEW_SERVICE, SET_SERVICE     the full service (key, scheduler, flags,
 *                                persistence timeout and netmask)
 *   DEL_SERVICE, GET_SERVICE     the service key (af, protocol, addr, port,
 *                                or af + fwmark); GET_SERVICE as a dump has none
 *   NEW_DEST, SET_DEST           the service key and the full destination
 *   DEL_DEST                     the service key and the destination key
 *   GET_DEST                     the service key (a dump of its destinations)
 * Replies to GET dumps come as NEW_SERVICE (full service, stats) and NEW_DEST
 * (full destination with connection counters, no service).
 *
 * Parsing is a hot path in the sense of STYLE.md: plain negative errno, no
 * allocation. */
#ifndef KNODE_NETPROXY_IPVS_MSG_H
#define KNODE_NETPROXY_IPVS_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct nl_msg;
struct nlmsghdr;

#define NP_IPVS_GENL_NAME "IPVS"
#define NP_IPVS_SCHED_MAX 16 /* IP_VS_SCHEDNAME_MAXLEN, NUL included */

/* A virtual service. */
typedef struct np_ipvs_svc {
    uint16_t af;                   /* AF_INET or AF_INET6 */
    uint16_t protocol;             /* IPPROTO_TCP/UDP/SCTP; 0 for a fwmark service */
    uint8_t addr[16];              /* IPv4 in addr[0..3], the rest zero */
    uint16_t port;                 /* host order */
    uint32_t fwmark;               /* non-zero: a firewall-mark service (no addr/port) */
    char sched[NP_IPVS_SCHED_MAX]; /* "rr", ... */
    char pe[NP_IPVS_SCHED_MAX];    /* persistence engine; "" none */
    uint32_t flags;                /* IP_VS_SVC_F_* */
    uint32_t timeout;              /* persistence timeout, seconds */
    uint32_t netmask;              /* persistence granularity: IPv4 mask
                                      (network order), IPv6 prefix length */
} np_ipvs_svc;

/* A destination (real server) of a virtual service. */
typedef struct np_ipvs_dest {
    uint16_t af; /* address family of addr */
    uint8_t addr[16];
    uint16_t port;      /* host order */
    uint32_t fwd;       /* IP_VS_CONN_F_MASQ, ... */
    uint32_t weight;    /* 0: quiescent (no new connections) */
    uint32_t u_thresh;  /* upper connection threshold; 0: none */
    uint32_t l_thresh;  /* lower connection threshold */
    uint32_t active;    /* replies: active connections */
    uint32_t inactive;  /* replies: inactive connections */
    uint32_t persisted; /* replies: persistent connection templates */
} np_ipvs_dest;

/* Which attributes a parsed message had (np_ipvs_msg.seen). */
enum {
    NP_IPVS_SEEN_SVC = 1u << 0,       /* IPVS_CMD_ATTR_SERVICE */
    NP_IPVS_SEEN_SVC_KEY = 1u << 1,   /* af + (protocol, addr, port) or fwmark */
    NP_IPVS_SEEN_SVC_FULL = 1u << 2,  /* sched, flags, timeout, netmask */
    NP_IPVS_SEEN_SVC_PE = 1u << 3,    /* pe name */
    NP_IPVS_SEEN_DEST = 1u << 4,      /* IPVS_CMD_ATTR_DEST */
    NP_IPVS_SEEN_DEST_KEY = 1u << 5,  /* addr + port */
    NP_IPVS_SEEN_DEST_AF = 1u << 6,   /* addr family */
    NP_IPVS_SEEN_DEST_FULL = 1u << 7, /* fwd, weight, thresholds */
    NP_IPVS_SEEN_DEST_CONNS = 1u << 8 /* connection counters (replies) */
};

typedef struct np_ipvs_msg {
    uint8_t cmd; /* IPVS_CMD_* */
    unsigned seen;
    np_ipvs_svc svc;
    np_ipvs_dest dest;
} np_ipvs_msg;

/* Builds the request for m->cmd (see the table above) to generic netlink
 * family id, with nlmsg flags nlflags added to NLM_F_REQUEST (e.g.
 * NLM_F_ACK, NLM_F_DUMP). Replies-only fields (connection counters) are not
 * sent. Returns the message (caller frees with nlmsg_free), NULL for a
 * command this module does not build. */
struct nl_msg *np_ipvs_msg_build(int family, const np_ipvs_msg *m, int nlflags);

/* Parses one IPVS generic netlink message of at most len bytes (the
 * netlink header's length must fit) into out (zeroed first). Returns 0,
 * -EINVAL for a malformed message or attribute (wrong length, string
 * without NUL, unknown address family), -EBADMSG for a truncated header. */
int np_ipvs_msg_parse(const struct nlmsghdr *nlh, size_t len, np_ipvs_msg *out);

/* Calls fn for each IPVS message in a buffer of netlink messages (as a
 * recv returns them; NLMSG_DONE ends, NLMSG_ERROR/NOOP are skipped).
 * Stops at the first parse error or non-zero fn result and returns it; 0
 * when all went through. */
int np_ipvs_parse_buf(const void *buf, size_t len, int (*fn)(const np_ipvs_msg *m, void *ud),
                      void *ud);

/* True when two services have the same key (af, protocol, addr, port,
 * fwmark). */
bool np_ipvs_svc_same_key(const np_ipvs_svc *a, const np_ipvs_svc *b);

/* Orders services by key; destinations by af, addr, port. */
int np_ipvs_svc_cmp(const np_ipvs_svc *a, const np_ipvs_svc *b);
int np_ipvs_dest_cmp(const np_ipvs_dest *a, const np_ipvs_dest *b);

/* Formats "tcp 10.96.0.1:80" / "tcp [fd00::1]:80" / "fwmark 5" into buf
 * (at least 64 bytes); returns buf. */
const char *np_ipvs_svc_str(const np_ipvs_svc *s, char *buf, size_t len);

#endif

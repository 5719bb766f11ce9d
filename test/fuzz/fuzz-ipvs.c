/* fuzz-ipvs.c - netproxy/ipvs-msg: the parser of IPVS generic netlink
 * replies (and requests) over a buffer of netlink messages, as a recv
 * returns it. Each message that parses with a complete service key (and a
 * complete service or destination) is built again as the request of the
 * same command and parsed back: the fields must survive. Any violation
 * aborts. */
#include <linux/ip_vs.h>
#include <netlink/msg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "netproxy/ipvs-msg.h"

static void fail(const char *what)
{
    fprintf(stderr, "fuzz-ipvs: %s\n", what);
    abort();
}

static void same_svc(const np_ipvs_svc *a, const np_ipvs_svc *b, bool full)
{
    if (!np_ipvs_svc_same_key(a, b))
        fail("service key changed in a round trip");
    if (full && (strcmp(a->sched, b->sched) != 0 || strcmp(a->pe, b->pe) != 0 ||
                 a->flags != b->flags || a->timeout != b->timeout || a->netmask != b->netmask))
        fail("service attributes changed in a round trip");
}

static void same_dest(const np_ipvs_dest *a, const np_ipvs_dest *b)
{
    if (np_ipvs_dest_cmp(a, b) != 0)
        fail("destination key changed in a round trip");
    if ((a->fwd & IP_VS_CONN_F_FWD_MASK) != b->fwd || a->weight != b->weight ||
        a->u_thresh != b->u_thresh || a->l_thresh != b->l_thresh)
        fail("destination attributes changed in a round trip");
}

static bool rebuildable(const np_ipvs_msg *m)
{
    unsigned key = NP_IPVS_SEEN_SVC_KEY;
    switch (m->cmd) {
    case IPVS_CMD_NEW_SERVICE:
    case IPVS_CMD_SET_SERVICE:
        return (m->seen & (key | NP_IPVS_SEEN_SVC_FULL)) == (key | NP_IPVS_SEEN_SVC_FULL);
    case IPVS_CMD_NEW_DEST:
    case IPVS_CMD_SET_DEST:
        return (m->seen & (key | NP_IPVS_SEEN_DEST_KEY | NP_IPVS_SEEN_DEST_FULL)) ==
                   (key | NP_IPVS_SEEN_DEST_KEY | NP_IPVS_SEEN_DEST_FULL) &&
               m->dest.af;
    case IPVS_CMD_DEL_SERVICE:
    case IPVS_CMD_GET_DEST:
        return (m->seen & key) != 0;
    default:
        return false;
    }
}

static int check(const np_ipvs_msg *m, void *ud)
{
    (void)ud;
    char buf[64];
    np_ipvs_svc_str(&m->svc, buf, sizeof(buf));
    if (!rebuildable(m))
        return 0;
    struct nl_msg *msg = np_ipvs_msg_build(1, m, 0);
    if (!msg)
        fail("a parsed command could not be built");
    np_ipvs_msg back;
    struct nlmsghdr *h = nlmsg_hdr(msg);
    if (np_ipvs_msg_parse(h, h->nlmsg_len, &back) != 0 || back.cmd != m->cmd)
        fail("a built message does not parse");
    bool full = m->cmd == IPVS_CMD_NEW_SERVICE || m->cmd == IPVS_CMD_SET_SERVICE;
    same_svc(&m->svc, &back.svc, full);
    if (m->cmd == IPVS_CMD_NEW_DEST || m->cmd == IPVS_CMD_SET_DEST)
        same_dest(&m->dest, &back.dest);
    nlmsg_free(msg);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* netlink messages are 4-byte aligned in a recv buffer */
    void *buf = malloc(size ? size : 1);
    memcpy(buf, data, size);
    np_ipvs_parse_buf(buf, size, check, NULL);
    free(buf);
    return 0;
}

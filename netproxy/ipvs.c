/* ipvs.c - the IPVS backend: the generic netlink socket (libnl-genl), dumps
 * of the kernel's table, applying differences, and one sync (IPVS, then
 * kube-ipvs0, then the knode-ipvs tables). */
#include "netproxy/ipvs.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/ip_vs.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/xalloc.h"

#define COMPONENT "proxy"

struct np_ipvs {
    struct nl_sock *sk;
    int family; /* the IPVS generic netlink family id */
    char sched[NP_IPVS_SCHED_MAX];
    bool have_applied; /* applied is what the kernel holds */
    np_ipvs_table applied;
    char *nft_applied[2]; /* [0] ip, [1] ip6: the text last loaded */
};

static const char *cmd_name(uint8_t cmd)
{
    static const char *const names[] = {
        [IPVS_CMD_NEW_SERVICE] = "add service",     [IPVS_CMD_SET_SERVICE] = "update service",
        [IPVS_CMD_DEL_SERVICE] = "delete service",  [IPVS_CMD_GET_SERVICE] = "get service",
        [IPVS_CMD_NEW_DEST] = "add destination",    [IPVS_CMD_SET_DEST] = "update destination",
        [IPVS_CMD_DEL_DEST] = "delete destination", [IPVS_CMD_GET_DEST] = "get destinations",
    };
    return cmd < sizeof(names) / sizeof(names[0]) && names[cmd] ? names[cmd] : "request";
}

/* ---- the socket ---- */

static int genl_open(struct nl_sock **out, int *family, char *reason, size_t len)
{
    struct nl_sock *sk = nl_socket_alloc();
    if (!sk) {
        snprintf(reason, len, "cannot allocate a netlink socket");
        return -ENOMEM;
    }
    int e = genl_connect(sk);
    if (e < 0) {
        snprintf(reason, len, "generic netlink: %s", nl_geterror(e));
        nl_socket_free(sk);
        return -EIO;
    }
    *family = genl_ctrl_resolve(sk, NP_IPVS_GENL_NAME);
    if (*family < 0) {
        snprintf(reason, len,
                 "the kernel has no IPVS: generic netlink family \"%s\" not found (%s); "
                 "ip_vs is not built or not loaded%s",
                 NP_IPVS_GENL_NAME, nl_geterror(*family),
                 access("/proc/net/ip_vs", F_OK) == 0 ? "" : ", /proc/net/ip_vs is absent");
        nl_socket_free(sk);
        return 0;
    }
    *out = sk;
    return 1;
}

int np_ipvs_available(char *reason, size_t len)
{
    struct nl_sock *sk = NULL;
    int family = 0;
    int r = genl_open(&sk, &family, reason, len);
    if (r > 0)
        nl_socket_free(sk);
    return r;
}

/* Sends one request and waits for its acknowledgement. */
static int request(np_ipvs *v, const np_ipvs_msg *m, kn_error **err)
{
    struct nl_msg *msg = np_ipvs_msg_build(v->family, m, NLM_F_ACK);
    if (!msg)
        return kn_error_set(err, KN_EINTERNAL, "IPVS: cannot build a %s request", cmd_name(m->cmd));
    int e = nl_send_sync(v->sk, msg); /* frees msg */
    if (e < 0) {
        char s[96];
        return kn_error_set(err, KN_EIO, "IPVS %s %s: %s", cmd_name(m->cmd),
                            np_ipvs_svc_str(&m->svc, s, sizeof(s)), nl_geterror(e));
    }
    return 0;
}

typedef struct dump_ctx {
    np_ipvs_msg *v;
    size_t n, cap;
    int error;
} dump_ctx;

static int dump_valid(struct nl_msg *msg, void *arg)
{
    dump_ctx *d = arg;
    struct nlmsghdr *h = nlmsg_hdr(msg);
    np_ipvs_msg m;
    int r = np_ipvs_msg_parse(h, h->nlmsg_len, &m);
    if (r < 0) {
        d->error = r;
        return NL_STOP;
    }
    if (d->n == d->cap) {
        d->cap = d->cap ? d->cap * 2 : 64;
        d->v = xreallocarray(d->v, d->cap, sizeof(*d->v));
    }
    d->v[d->n++] = m;
    return NL_OK;
}

/* A GET dump (services, or the destinations of q->svc). */
static int dump(np_ipvs *v, const np_ipvs_msg *q, dump_ctx *d, kn_error **err)
{
    memset(d, 0, sizeof(*d));
    struct nl_msg *msg = np_ipvs_msg_build(v->family, q, NLM_F_DUMP);
    struct nl_cb *cb = nl_cb_alloc(NL_CB_DEFAULT);
    if (!msg || !cb) {
        nlmsg_free(msg);
        nl_cb_put(cb);
        return kn_error_set(err, KN_EINTERNAL, "IPVS: cannot build a dump request");
    }
    nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, dump_valid, d);
    int e = nl_send_auto(v->sk, msg);
    nlmsg_free(msg);
    if (e >= 0)
        e = nl_recvmsgs(v->sk, cb);
    nl_cb_put(cb);
    if (e < 0)
        return kn_error_set(err, KN_EIO, "IPVS %s: %s", cmd_name(q->cmd), nl_geterror(e));
    if (d->error)
        return kn_error_set(err, KN_EIO, "IPVS %s: malformed reply (%s)", cmd_name(q->cmd),
                            strerror(-d->error));
    return 0;
}

static int dump_dests(np_ipvs *v, np_ipvs_vs *vs, kn_error **err)
{
    np_ipvs_msg q = {.cmd = IPVS_CMD_GET_DEST, .svc = vs->svc};
    dump_ctx d;
    if (dump(v, &q, &d, err) < 0)
        return -1;
    vs->dests = d.n ? xcalloc(d.n, sizeof(*vs->dests)) : NULL;
    for (size_t i = 0; i < d.n; i++) {
        if (d.v[i].seen & NP_IPVS_SEEN_DEST_KEY)
            vs->dests[vs->ndests++] = d.v[i].dest;
    }
    free(d.v);
    qsort(vs->dests, vs->ndests, sizeof(*vs->dests),
          (int (*)(const void *, const void *))np_ipvs_dest_cmp);
    return 0;
}

static int cmp_vs(const void *a, const void *b)
{
    return np_ipvs_svc_cmp(&((const np_ipvs_vs *)a)->svc, &((const np_ipvs_vs *)b)->svc);
}

int np_ipvs_dump(np_ipvs *v, np_ipvs_table *out, kn_error **err)
{
    memset(out, 0, sizeof(*out));
    np_ipvs_msg q = {.cmd = IPVS_CMD_GET_SERVICE};
    dump_ctx d;
    if (dump(v, &q, &d, err) < 0)
        return -1;
    out->v = d.n ? xcalloc(d.n, sizeof(*out->v)) : NULL;
    out->cap = d.n;
    for (size_t i = 0; i < d.n; i++) {
        if (d.v[i].seen & NP_IPVS_SEEN_SVC_KEY)
            out->v[out->n++].svc = d.v[i].svc;
    }
    free(d.v);
    qsort(out->v, out->n, sizeof(*out->v), cmp_vs);
    for (size_t i = 0; i < out->n; i++) {
        if (dump_dests(v, &out->v[i], err) < 0) {
            np_ipvs_table_free(out);
            return -1;
        }
    }
    return 0;
}

int np_ipvs_apply(np_ipvs *v, const np_ipvs_ops *ops, kn_error **err)
{
    for (size_t i = 0; i < ops->n; i++) {
        if (request(v, &ops->v[i], err) < 0)
            return -1;
    }
    return 0;
}

/* ---- open / close ---- */

/* The per-namespace IPVS sysctls kube-proxy sets. */
static int set_sysctls(kn_error **err)
{
    static const char *const names[] = {"conntrack", "expire_nodest_conn",
                                        "expire_quiescent_template"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        char path[96];
        snprintf(path, sizeof(path), "/proc/sys/net/ipv4/vs/%s", names[i]);
        int fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd < 0 || write(fd, "1", 1) != 1) {
            int e = errno;
            if (fd >= 0)
                close(fd);
            return kn_error_errno(err, e, "set %s", path);
        }
        close(fd);
    }
    return 0;
}

int np_ipvs_open(const char *sched, np_ipvs **out, kn_error **err)
{
    char reason[256] = "";
    struct nl_sock *sk = NULL;
    int family = 0;
    int r = genl_open(&sk, &family, reason, sizeof(reason));
    if (r == 0)
        return kn_error_set(err, KN_ENOTSUP, "--proxy-mode ipvs: %s", reason);
    if (r < 0)
        return kn_error_set(err, KN_EIO, "--proxy-mode ipvs: %s", reason);
    if (set_sysctls(err) < 0) {
        nl_socket_free(sk);
        return kn_error_wrap(err, "--proxy-mode ipvs");
    }
    np_ipvs *v = xcalloc(1, sizeof(*v));
    v->sk = sk;
    v->family = family;
    snprintf(v->sched, sizeof(v->sched), "%s", sched && *sched ? sched : NP_IPVS_DEFAULT_SCHED);
    *out = v;
    return 0;
}

void np_ipvs_close(np_ipvs *v)
{
    if (!v)
        return;
    nl_socket_free(v->sk);
    np_ipvs_table_free(&v->applied);
    free(v->nft_applied[0]);
    free(v->nft_applied[1]);
    free(v);
}

/* ---- one sync ---- */

static void count_ops(const np_ipvs_ops *ops, np_sync_stats *st)
{
    st->messages += ops->n;
    for (size_t i = 0; i < ops->n; i++) {
        uint8_t c = ops->v[i].cmd;
        st->elems_added += c == IPVS_CMD_NEW_DEST || c == IPVS_CMD_SET_DEST;
        st->elems_deleted += c == IPVS_CMD_DEL_DEST;
        st->sets_added += c == IPVS_CMD_NEW_SERVICE || c == IPVS_CMD_SET_SERVICE;
        st->sets_deleted += c == IPVS_CMD_DEL_SERVICE;
    }
}

static int sync_table(np_ipvs *v, np_ipvs_plan *plan, bool full, np_sync_stats *st, kn_error **err)
{
    np_ipvs_table dumped = {0};
    const np_ipvs_table *cur = &v->applied;
    if (full || !v->have_applied) {
        if (np_ipvs_dump(v, &dumped, err) < 0)
            return kn_error_wrap(err, "read IPVS");
        cur = &dumped;
        st->full = true;
    }
    np_ipvs_ops ops;
    np_ipvs_diff(cur, &plan->table, &ops);
    count_ops(&ops, st);
    int r = np_ipvs_apply(v, &ops, err);
    np_ipvs_ops_free(&ops);
    np_ipvs_table_free(&dumped);
    np_ipvs_table_free(&v->applied);
    v->have_applied = r == 0;
    if (r == 0) { /* the plan's table becomes the applied one */
        v->applied = plan->table;
        memset(&plan->table, 0, sizeof(plan->table));
    }
    return r;
}

static int sync_nft(np_ipvs *v, const np_ipvs_plan *plan, const np_config *cfg, int family,
                    bool full, kn_error **err)
{
    int k = family == AF_INET6;
    char *text = np_ipvs_nft_render(plan, cfg, family);
    if (!full && v->nft_applied[k] && strcmp(v->nft_applied[k], text) == 0) {
        free(text);
        return 0;
    }
    free(v->nft_applied[k]);
    v->nft_applied[k] = NULL;
    if (np_ipvs_nft_run(text, err) < 0) {
        free(text);
        return kn_error_wrap(err, "table %s %s", k ? "ip6" : "ip", NP_IPVS_TABLE);
    }
    v->nft_applied[k] = text;
    return 0;
}

int np_ipvs_sync(np_ipvs *v, const np_model *m, const np_config *cfg, bool ipv4, bool ipv6,
                 bool full, np_sync_stats *st, kn_error **err)
{
    np_sync_stats local;
    st = st ? st : &local;
    memset(st, 0, sizeof(*st));
    np_ipvs_plan plan;
    np_ipvs_plan_build(m, cfg, ipv4, ipv6, v->sched, &plan);
    int r = sync_table(v, &plan, full, st, err);
    if (r == 0)
        r = np_ipvs_link_sync(NP_IPVS_DUMMY_IF, plan.addrs, plan.naddrs, ipv4, ipv6, NULL, NULL,
                              err);
    if (r == 0 && ipv4)
        r = sync_nft(v, &plan, cfg, AF_INET, full, err);
    if (r == 0 && ipv6)
        r = sync_nft(v, &plan, cfg, AF_INET6, full, err);
    np_ipvs_plan_free(&plan);
    return r < 0 ? -1 : 0;
}

/* ---- cleanup ---- */

static int delete_services(kn_error **err)
{
    char reason[256];
    np_ipvs v = {0};
    int r = genl_open(&v.sk, &v.family, reason, sizeof(reason));
    if (r <= 0)
        return r < 0 ? kn_error_set(err, KN_EIO, "IPVS: %s", reason) : 0;
    np_ipvs_table cur, none = {0};
    r = np_ipvs_dump(&v, &cur, err);
    if (r == 0) {
        np_ipvs_ops ops;
        np_ipvs_diff(&cur, &none, &ops);
        r = np_ipvs_apply(&v, &ops, err);
        np_ipvs_ops_free(&ops);
        np_ipvs_table_free(&cur);
    }
    nl_socket_free(v.sk);
    return r;
}

int np_ipvs_cleanup(kn_error **err)
{
    if (delete_services(err) < 0 || np_ipvs_link_delete(NP_IPVS_DUMMY_IF, err) < 0)
        return -1;
    const char *text = "add table ip " NP_IPVS_TABLE "\ndelete table ip " NP_IPVS_TABLE "\n";
    if (np_ipvs_nft_run(text, err) < 0)
        return -1;
    if (access("/proc/sys/net/ipv6", F_OK) != 0)
        return 0;
    return np_ipvs_nft_run("add table ip6 " NP_IPVS_TABLE "\ndelete table ip6 " NP_IPVS_TABLE "\n",
                           err);
}

/* server.c - UDP/TCP serving on worker threads (see server.h). */
#include "dns/server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dns/answer.h"
#include "dns/event-internal.h"
#include "lib/clock.h"
#include "lib/log.h"
#include "lib/xalloc.h"

#define UDP_BATCH 32
#define UDP_RBUF 4096
#define TCP_WBUF_MAX (1u << 20)
#define EPOLL_EVENTS 64
/* Room for bursts of queries while a worker answers a batch: with the
 * default (208 KiB, about 200 small datagrams counting their kernel
 * overhead) a client with a few hundred queries in flight overflows the
 * queue, and every lost query stalls that client until its timeout. */
#define UDP_RCVBUF (1 << 20)
#define UDP_DF_MAX 1232 /* answers up to this size are sent with DF */

/* ---- counters --------------------------------------------------------------- */

enum { QT_A, QT_AAAA, QT_SRV, QT_PTR, QT_TXT, QT_SOA, QT_NS, QT_CNAME, QT_ANY, QT_OTHER, QT_N };
static const char *const qt_names[QT_N] = {"A",   "AAAA", "SRV",   "PTR", "TXT",
                                           "SOA", "NS",   "CNAME", "ANY", "other"};
static const char *const rcode_names[7] = {"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN",
                                           "NOTIMP",  "REFUSED", "other"};
static const double lat_bounds[] = {0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                    0.05,    0.1,    0.25,  0.5,    1,     2.5,  5};
#define NLAT (sizeof(lat_bounds) / sizeof(lat_bounds[0]))

/* Each worker's counters have one writer, the worker: it adds with a plain
 * load and store (no locked instruction on the hot path); the metrics
 * thread reads them atomically. */
typedef atomic_uint_fast64_t counter;

typedef struct wstats {
    counter queries[2][QT_N]; /* [tcp][type] */
    counter rcodes[7];
    counter truncated, dropped, forwarded, cache_hits, tcp_conns;
    counter lat[NLAT + 1];
    counter lat_sum_ns;
} wstats;

static void add(counter *c, uint64_t n)
{
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + n,
                          memory_order_relaxed);
}

static void inc(counter *c)
{
    add(c, 1);
}

static uint64_t get(const counter *c)
{
    return atomic_load_explicit((counter *)c, memory_order_relaxed);
}

static int qt_index(uint16_t t)
{
    switch (t) {
    case DNS_TYPE_A:
        return QT_A;
    case DNS_TYPE_AAAA:
        return QT_AAAA;
    case DNS_TYPE_SRV:
        return QT_SRV;
    case DNS_TYPE_PTR:
        return QT_PTR;
    case DNS_TYPE_TXT:
        return QT_TXT;
    case DNS_TYPE_SOA:
        return QT_SOA;
    case DNS_TYPE_NS:
        return QT_NS;
    case DNS_TYPE_CNAME:
        return QT_CNAME;
    case DNS_TYPE_ANY:
        return QT_ANY;
    default:
        return QT_OTHER;
    }
}

/* ---- structures ---------------------------------------------------------------- */

typedef struct worker worker;

typedef struct listener {
    dns_ev ev; /* DNS_EV_UDP or DNS_EV_TCP_LISTEN */
    int fd;
} listener;

typedef struct tcp_conn {
    dns_ev ev;
    int fd;
    struct tcp_conn *prev, *next; /* by last activity, oldest first */
    int64_t last_ms;
    uint8_t *rbuf;
    size_t rlen, rcap;
    uint8_t *wbuf;
    size_t wlen, woff, wcap;
    int pending;   /* forwarded queries in flight */
    int busy;      /* handler frames using the connection */
    bool eof;      /* the client will send no more */
    bool closed;   /* fd closed: freed once neither pending nor busy */
    bool want_out; /* EPOLLOUT registered */
} tcp_conn;

struct worker {
    dns_server *s;
    pthread_t thread;
    bool started;
    int epfd;
    dns_ev wake_ev;
    int wakefd;
    atomic_bool stop;
    listener *udp, *tcp; /* one per address */
    dns_zone_reader *reader;
    dns_forward_loop *fwd;
    tcp_conn *conns_head, *conns_tail;
    int nconns;
    wstats st;
    uint8_t out[DNS_MSG_MAX];
    uint8_t in[UDP_BATCH][UDP_RBUF];
    uint8_t *resp; /* UDP_BATCH × udp_max */
    struct sockaddr_storage peers[UDP_BATCH];
    struct iovec iov[UDP_BATCH], oiov[UDP_BATCH];
    struct mmsghdr msgs[UDP_BATCH], omsgs[UDP_BATCH];
};

typedef struct address {
    struct sockaddr_storage ss;
    socklen_t len;
    char text[64];
} address;

struct dns_server {
    dns_server_config cfg;
    dns_zone_holder *zones;
    address *addrs;
    size_t naddrs;
    worker **workers;
    int nworkers;
};

/* A query resolved upstream, and where its answer goes. */
typedef struct fwd_client {
    worker *w;
    int udp_fd;
    struct sockaddr_storage peer;
    socklen_t peerlen;
    tcp_conn *conn;
    int64_t start_ns;
    dns_query q;
    dns_answer_result res;
} fwd_client;

static int64_t now_ms(void)
{
    return kn_time_monotonic_ns() / 1000000;
}

static void record_response(worker *w, unsigned rcode, bool tc)
{
    inc(&w->st.rcodes[rcode < 6 ? rcode : 6]);
    if (tc)
        inc(&w->st.truncated);
}

/* Records n responses that took from start_ns until now. Queries read in
 * one batch are answered together, so they share one clock reading. */
static void record_latency(worker *w, int64_t start_ns, uint64_t n)
{
    if (n == 0)
        return;
    int64_t d = kn_time_monotonic_ns() - start_ns;
    double secs = (double)d / 1e9;
    size_t b = 0;
    while (b < NLAT && secs > lat_bounds[b])
        b++;
    add(&w->st.lat[b], n);
    add(&w->st.lat_sum_ns, (uint64_t)(d > 0 ? d : 0) * n);
}

/* ---- TCP connections ------------------------------------------------------------ */

static void conn_unlink(worker *w, tcp_conn *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        w->conns_head = c->next;
    if (c->next)
        c->next->prev = c->prev;
    else
        w->conns_tail = c->prev;
    c->prev = c->next = NULL;
}

static void conn_append(worker *w, tcp_conn *c)
{
    c->prev = w->conns_tail;
    c->next = NULL;
    if (w->conns_tail)
        w->conns_tail->next = c;
    else
        w->conns_head = c;
    w->conns_tail = c;
}

static void conn_touch(worker *w, tcp_conn *c)
{
    c->last_ms = now_ms();
    conn_unlink(w, c);
    conn_append(w, c);
}

/* Frees a closed connection nobody uses any more. */
static void conn_release(tcp_conn *c)
{
    if (!c->closed || c->pending > 0 || c->busy > 0)
        return;
    free(c->rbuf);
    free(c->wbuf);
    free(c);
}

static void conn_close(worker *w, tcp_conn *c)
{
    if (c->closed)
        return;
    close(c->fd);
    conn_unlink(w, c);
    w->nconns--;
    c->closed = true;
    conn_release(c);
}

static void conn_events(worker *w, tcp_conn *c, bool out)
{
    uint32_t ev = (c->eof ? 0 : EPOLLIN) | (out ? EPOLLOUT : 0);
    struct epoll_event e = {.events = ev, .data.ptr = &c->ev};
    epoll_ctl(w->epfd, EPOLL_CTL_MOD, c->fd, &e);
    c->want_out = out;
}

/* Writes what is buffered; closes the connection when it is done with. */
static void conn_flush(worker *w, tcp_conn *c)
{
    while (c->woff < c->wlen) {
        ssize_t n = send(c->fd, c->wbuf + c->woff, c->wlen - c->woff, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
            if (!c->want_out)
                conn_events(w, c, true);
            return;
        }
        if (n < 0) {
            conn_close(w, c);
            return;
        }
        c->woff += (size_t)n;
    }
    c->woff = c->wlen = 0;
    if (c->want_out)
        conn_events(w, c, false);
    if (c->eof && c->pending == 0)
        conn_close(w, c);
}

static void conn_queue(worker *w, tcp_conn *c, const uint8_t *msg, size_t len)
{
    if (c->wlen + 2 + len > c->wcap) {
        c->wcap = (c->wlen + 2 + len) * 2;
        c->wbuf = xrealloc(c->wbuf, c->wcap);
    }
    c->wbuf[c->wlen] = (uint8_t)(len >> 8);
    c->wbuf[c->wlen + 1] = (uint8_t)len;
    memcpy(c->wbuf + c->wlen + 2, msg, len);
    c->wlen += 2 + len;
    if (c->wlen - c->woff > TCP_WBUF_MAX) { /* a client that does not read */
        conn_close(w, c);
        return;
    }
    conn_flush(w, c);
}

/* ---- queries ------------------------------------------------------------------ */

static void on_forwarded(void *arg, const dns_cache_entry *e, int64_t now_ns)
{
    fwd_client *c = arg;
    worker *w = c->w;
    unsigned rcode;
    size_t len = dns_answer_forwarded(&c->q, &c->res, e, now_ns, w->out, sizeof(w->out), &rcode);
    bool tc = len >= DNS_HEADER_SIZE && (w->out[2] & (DNS_FLAG_TC >> 8));
    record_response(w, rcode, tc && !c->conn);
    record_latency(w, c->start_ns, 1);
    if (!c->conn) {
        sendto(c->udp_fd, w->out, len, MSG_DONTWAIT, (struct sockaddr *)&c->peer, c->peerlen);
    } else {
        tcp_conn *conn = c->conn;
        conn->pending--;
        if (conn->closed) {
            conn_release(conn);
        } else {
            conn_touch(w, conn);
            conn_queue(w, conn, w->out, len);
        }
    }
    free(c);
}

/* Where a query came from, for an answer sent later. */
typedef struct origin {
    int udp_fd;
    const struct sockaddr_storage *peer;
    socklen_t peerlen;
    tcp_conn *conn;
} origin;

static size_t forward(worker *w, const dns_query *q, const dns_answer_result *res,
                      const origin *from, int64_t start_ns, uint8_t *out, size_t cap)
{
    dns_forwarder *f = w->s->cfg.forwarder;
    unsigned rcode;
    if (!f) {
        size_t len = dns_answer_error(q, DNS_RCODE_REFUSED, res->limit, out, cap);
        record_response(w, DNS_RCODE_REFUSED, false);
        return len;
    }
    const uint8_t *name = dns_answer_forward_name(q, res);
    dns_cache *cache = dns_forwarder_cache(f);
    dns_cache_entry *e = dns_cache_get(cache, name, q->qtype, q->qclass);
    if (e) {
        size_t len = dns_answer_forwarded(q, res, e, dns_cache_now(cache), out, cap, &rcode);
        dns_cache_entry_unref(e);
        inc(&w->st.cache_hits);
        record_response(w, rcode, !from->conn && (out[2] & (DNS_FLAG_TC >> 8)));
        return len;
    }
    fwd_client *c = xmalloc(sizeof(*c));
    *c = (fwd_client){.w = w,
                      .udp_fd = from->udp_fd,
                      .conn = from->conn,
                      .start_ns = start_ns,
                      .q = *q,
                      .peerlen = from->peerlen};
    memcpy(&c->res, res, sizeof(*res));
    if (from->peer)
        memcpy(&c->peer, from->peer, from->peerlen);
    if (from->conn)
        from->conn->pending++;
    inc(&w->st.forwarded);
    dns_forward_start(w->fwd, name, q->qtype, q->qclass, on_forwarded, c);
    return 0;
}

/* Answers one query, received at start (ns), into out; returns the length
 * to send now (0: nothing, or later when forwarded). The caller records the
 * latency of what is sent now. */
static size_t handle_query(worker *w, const dns_zone *z, const uint8_t *msg, size_t len,
                           const origin *from, int64_t start, uint8_t *out, size_t cap)
{
    dns_query q;
    dns_answer_result res;
    dns_answer_opts opts = {.tcp = from->conn != NULL, .udp_max = w->s->cfg.udp_max};
    dns_answer_query(z, msg, len, &opts, &q, out, cap, &res);
    if (res.action == DNS_ACT_DROP) {
        inc(&w->st.dropped);
        return 0;
    }
    inc(&w->st.queries[opts.tcp][qt_index(q.qtype)]);
    if (res.action == DNS_ACT_FORWARD)
        return forward(w, &q, &res, from, start, out, cap);
    record_response(w, res.rcode, !opts.tcp && (out[2] & (DNS_FLAG_TC >> 8)));
    return res.len;
}

/* ---- UDP ------------------------------------------------------------------------ */

static void send_batch(int fd, struct mmsghdr *m, int n)
{
    for (int done = 0; done < n;) {
        int r = sendmmsg(fd, m + done, (unsigned)(n - done), MSG_DONTWAIT);
        if (r <= 0) {
            if (r < 0 && errno == EINTR)
                continue;
            done++; /* skip the message that fails (e.g. an unreachable peer) */
            continue;
        }
        done += r;
    }
}

/* Reads a batch of datagrams; returns how many. */
static int udp_receive(worker *w, int fd)
{
    for (int i = 0; i < UDP_BATCH; i++) {
        w->iov[i] = (struct iovec){w->in[i], UDP_RBUF};
        w->msgs[i].msg_hdr = (struct msghdr){.msg_name = &w->peers[i],
                                             .msg_namelen = sizeof(w->peers[i]),
                                             .msg_iov = &w->iov[i],
                                             .msg_iovlen = 1};
    }
    return recvmmsg(fd, w->msgs, UDP_BATCH, MSG_DONTWAIT, NULL);
}

static void on_udp(worker *w, listener *l)
{
    size_t udp_max = w->s->cfg.udp_max;
    for (int round = 0; round < 8; round++) {
        int n = udp_receive(w, l->fd);
        if (n <= 0)
            return;
        int nout = 0;
        int64_t start = kn_time_monotonic_ns();
        const dns_zone *z = dns_zone_enter(w->reader);
        for (int i = 0; i < n; i++) {
            uint8_t *out = w->resp + (size_t)nout * udp_max;
            origin from = {l->fd, &w->peers[i], w->msgs[i].msg_hdr.msg_namelen, NULL};
            size_t len =
                handle_query(w, z, w->in[i], w->msgs[i].msg_len, &from, start, out, udp_max);
            if (!len)
                continue;
            w->oiov[nout] = (struct iovec){out, len};
            w->omsgs[nout].msg_hdr = (struct msghdr){.msg_name = &w->peers[i],
                                                     .msg_namelen = from.peerlen,
                                                     .msg_iov = &w->oiov[nout],
                                                     .msg_iovlen = 1};
            nout++;
        }
        dns_zone_leave(w->reader);
        record_latency(w, start, (uint64_t)nout);
        send_batch(l->fd, w->omsgs, nout);
        if (n < UDP_BATCH)
            return;
    }
}

/* ---- TCP ------------------------------------------------------------------------ */

static void on_accept(worker *w, listener *l)
{
    for (;;) {
        int fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return;
        if (w->nconns >= w->s->cfg.tcp_max_conns) {
            close(fd);
            continue;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        tcp_conn *c = xcalloc(1, sizeof(*c));
        c->ev.kind = DNS_EV_TCP_CONN;
        c->fd = fd;
        struct epoll_event e = {.events = EPOLLIN, .data.ptr = &c->ev};
        if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, fd, &e) < 0) {
            close(fd);
            free(c);
            continue;
        }
        w->nconns++;
        inc(&w->st.tcp_conns);
        c->last_ms = now_ms();
        conn_append(w, c);
    }
}

/* Answers every complete message in the read buffer. Returns false when the
 * connection was closed. */
static bool conn_process(worker *w, tcp_conn *c)
{
    size_t off = 0;
    int64_t start = kn_time_monotonic_ns();
    const dns_zone *z = dns_zone_enter(w->reader);
    while (!c->closed && c->rlen - off >= 2) {
        size_t mlen = (size_t)c->rbuf[off] << 8 | c->rbuf[off + 1];
        if (c->rlen - off < 2 + mlen)
            break;
        origin from = {-1, NULL, 0, c};
        size_t len =
            handle_query(w, z, c->rbuf + off + 2, mlen, &from, start, w->out, sizeof(w->out));
        off += 2 + mlen;
        if (len) {
            record_latency(w, start, 1);
            conn_queue(w, c, w->out, len);
        }
    }
    dns_zone_leave(w->reader);
    if (c->closed)
        return false;
    memmove(c->rbuf, c->rbuf + off, c->rlen - off);
    c->rlen -= off;
    return true;
}

static void conn_read(worker *w, tcp_conn *c)
{
    for (;;) {
        if (c->rcap - c->rlen < 4096) {
            c->rcap = c->rcap ? c->rcap * 2 : 8192;
            if (c->rcap > 4 * (2 + DNS_MSG_MAX)) {
                conn_close(w, c); /* never needed for whole messages */
                return;
            }
            c->rbuf = xrealloc(c->rbuf, c->rcap);
        }
        ssize_t n = recv(c->fd, c->rbuf + c->rlen, c->rcap - c->rlen, MSG_DONTWAIT);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            return;
        if (n <= 0) {
            c->eof = true;
            if (n < 0 || (c->wlen == c->woff && c->pending == 0))
                conn_close(w, c);
            else
                conn_events(w, c, c->want_out);
            return;
        }
        c->rlen += (size_t)n;
        conn_touch(w, c);
        if (!conn_process(w, c))
            return;
    }
}

static void on_conn(worker *w, tcp_conn *c, uint32_t events)
{
    if (events & (EPOLLHUP | EPOLLERR)) { /* nothing can be delivered any more */
        conn_close(w, c);
        return;
    }
    c->busy++; /* writing or answering may close it: free it only here */
    if (events & EPOLLOUT)
        conn_flush(w, c);
    if (!c->closed && (events & EPOLLIN))
        conn_read(w, c);
    c->busy--;
    conn_release(c);
}

static void expire_conns(worker *w)
{
    int64_t limit = now_ms() - w->s->cfg.tcp_idle_ms;
    while (w->conns_head && w->conns_head->last_ms <= limit) {
        tcp_conn *c = w->conns_head;
        if (c->pending > 0) /* waiting for upstream is not idling */
            conn_touch(w, c);
        else
            conn_close(w, c);
    }
}

static int conns_timeout_ms(worker *w)
{
    if (!w->conns_head)
        return -1;
    int64_t d = w->conns_head->last_ms + w->s->cfg.tcp_idle_ms - now_ms();
    return d < 0 ? 0 : (int)d;
}

/* ---- workers ---------------------------------------------------------------------- */

static int next_timeout(worker *w)
{
    int a = w->fwd ? dns_forward_loop_timeout_ms(w->fwd) : -1, b = conns_timeout_ms(w);
    if (a < 0)
        return b;
    if (b < 0)
        return a;
    return a < b ? a : b;
}

static void dispatch(worker *w, struct epoll_event *e)
{
    dns_ev *ev = e->data.ptr;
    switch (ev->kind) {
    case DNS_EV_UDP:
        on_udp(w, (listener *)ev);
        break;
    case DNS_EV_TCP_LISTEN:
        on_accept(w, (listener *)ev);
        break;
    case DNS_EV_TCP_CONN:
        on_conn(w, (tcp_conn *)ev, e->events);
        break;
    case DNS_EV_FORWARD:
        dns_forward_loop_event(w->fwd, ev, e->events);
        break;
    case DNS_EV_WAKE:
        break;
    }
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    struct epoll_event evs[EPOLL_EVENTS];
    while (!atomic_load(&w->stop)) {
        int n = epoll_wait(w->epfd, evs, EPOLL_EVENTS, next_timeout(w));
        for (int i = 0; i < n; i++)
            dispatch(w, &evs[i]);
        if (w->fwd)
            dns_forward_loop_expire(w->fwd);
        expire_conns(w);
    }
    return NULL;
}

static int listen_socket(const address *a, int type, kn_error **err)
{
    int fd = socket(a->ss.ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return kn_error_errno(err, errno, "socket for %s", a->text);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
    if (a->ss.ss_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    if (type == SOCK_DGRAM) {
        int rcvbuf = UDP_RCVBUF;
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    }
    if (bind(fd, (const struct sockaddr *)&a->ss, a->len) < 0 ||
        (type == SOCK_STREAM && listen(fd, 256) < 0)) {
        int e = errno;
        close(fd);
        return kn_error_errno(err, e, "bind %s/%s", a->text, type == SOCK_STREAM ? "tcp" : "udp");
    }
    return fd;
}

/* When answers stay within 1232 bytes, the DF bit (RFC 9715, DNS flag day
 * 2020): an answer is never fragmented, and the kernel skips choosing IPv4
 * IDs. (The receive room, capped by the kernel at net.core.rmem_max, is set
 * in listen_socket, before the socket can receive.) */
static void udp_options(int fd, int family, size_t udp_max)
{
    int one = 1, probe = IP_PMTUDISC_PROBE;
    if (udp_max > UDP_DF_MAX)
        return;
    if (family == AF_INET)
        setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, &probe, sizeof(probe));
    else
        setsockopt(fd, IPPROTO_IPV6, IPV6_DONTFRAG, &one, sizeof(one));
}

static int watch(worker *w, dns_ev *ev, int fd)
{
    struct epoll_event e = {.events = EPOLLIN, .data.ptr = ev};
    return epoll_ctl(w->epfd, EPOLL_CTL_ADD, fd, &e);
}

static int worker_listen(worker *w, size_t i, kn_error **err)
{
    const address *a = &w->s->addrs[i];
    w->udp[i].ev.kind = DNS_EV_UDP;
    w->tcp[i].ev.kind = DNS_EV_TCP_LISTEN;
    if ((w->udp[i].fd = listen_socket(a, SOCK_DGRAM, err)) < 0 ||
        (w->tcp[i].fd = listen_socket(a, SOCK_STREAM, err)) < 0)
        return -1;
    udp_options(w->udp[i].fd, a->ss.ss_family, w->s->cfg.udp_max);
    if (watch(w, &w->udp[i].ev, w->udp[i].fd) < 0 || watch(w, &w->tcp[i].ev, w->tcp[i].fd) < 0)
        return kn_error_errno(err, errno, "epoll_ctl");
    return 0;
}

static worker *worker_new(dns_server *s, kn_error **err)
{
    worker *w = xcalloc(1, sizeof(*w));
    w->s = s;
    atomic_init(&w->stop, false);
    w->udp = xcalloc(s->naddrs, sizeof(*w->udp));
    w->tcp = xcalloc(s->naddrs, sizeof(*w->tcp));
    for (size_t i = 0; i < s->naddrs; i++)
        w->udp[i].fd = w->tcp[i].fd = -1;
    w->resp = xmalloc(UDP_BATCH * s->cfg.udp_max);
    w->wake_ev.kind = DNS_EV_WAKE;
    w->epfd = epoll_create1(EPOLL_CLOEXEC);
    w->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (w->epfd < 0 || w->wakefd < 0 || watch(w, &w->wake_ev, w->wakefd) < 0) {
        kn_error_errno(err, errno, "epoll");
        return w;
    }
    w->reader = dns_zone_reader_attach(s->zones);
    if (!w->reader) {
        kn_error_set(err, KN_ETOOLARGE, "more than %d DNS zone readers", DNS_ZONE_MAX_READERS);
        return w;
    }
    for (size_t i = 0; i < s->naddrs; i++) {
        if (worker_listen(w, i, err) < 0)
            return w;
    }
    if (s->cfg.forwarder)
        w->fwd = dns_forward_loop_new(s->cfg.forwarder, w->epfd);
    return w;
}

static void worker_free(worker *w)
{
    dns_forward_loop_free(w->fwd); /* answers SERVFAIL to what is in flight */
    while (w->conns_head)
        conn_close(w, w->conns_head);
    for (size_t i = 0; i < w->s->naddrs; i++) {
        if (w->udp[i].fd >= 0)
            close(w->udp[i].fd);
        if (w->tcp[i].fd >= 0)
            close(w->tcp[i].fd);
    }
    if (w->epfd >= 0)
        close(w->epfd);
    if (w->wakefd >= 0)
        close(w->wakefd);
    dns_zone_reader_detach(w->reader);
    free(w->udp);
    free(w->tcp);
    free(w->resp);
    free(w);
}

/* ---- the server --------------------------------------------------------------------- */

void dns_server_config_default(dns_server_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->udp_max = 1232;
    cfg->tcp_idle_ms = 10000;
    cfg->tcp_max_conns = 256;
}

static int parse_addresses(dns_server *s, const dns_server_config *cfg, kn_error **err)
{
    if (cfg->nlisten == 0)
        return kn_error_set(err, KN_EINVAL, "no address to listen on");
    s->addrs = xcalloc(cfg->nlisten, sizeof(*s->addrs));
    for (size_t i = 0; i < cfg->nlisten; i++) {
        if (dns_parse_hostport(cfg->listen[i], 53, &s->addrs[i].ss, &s->addrs[i].len, err) < 0)
            return kn_error_wrap(err, "listen address");
        snprintf(s->addrs[i].text, sizeof(s->addrs[i].text), "%s", cfg->listen[i]);
    }
    s->naddrs = cfg->nlisten;
    return 0;
}

static void server_free(dns_server *s)
{
    for (int i = 0; i < s->nworkers; i++) {
        if (s->workers[i])
            worker_free(s->workers[i]);
    }
    free(s->workers);
    free(s->addrs);
    free(s);
}

int dns_server_start(const dns_server_config *cfg, dns_zone_holder *zones, dns_server **out,
                     kn_error **err)
{
    dns_server *s = xcalloc(1, sizeof(*s));
    s->cfg = *cfg;
    s->cfg.listen = NULL;
    s->zones = zones;
    if (s->cfg.udp_max < DNS_UDP_MIN)
        s->cfg.udp_max = DNS_UDP_MIN;
    if (s->cfg.udp_max > DNS_MSG_MAX)
        s->cfg.udp_max = DNS_MSG_MAX;
    if (s->cfg.tcp_idle_ms <= 0)
        s->cfg.tcp_idle_ms = 10000;
    if (s->cfg.tcp_max_conns <= 0)
        s->cfg.tcp_max_conns = 256;
    int n = cfg->workers > 0 ? cfg->workers : (int)sysconf(_SC_NPROCESSORS_ONLN);
    s->nworkers = n > 0 ? n : 1;
    s->workers = xcalloc((size_t)s->nworkers, sizeof(*s->workers));
    if (parse_addresses(s, cfg, err) < 0) {
        server_free(s);
        return -1;
    }
    for (int i = 0; i < s->nworkers; i++) {
        kn_error *e = NULL;
        s->workers[i] = worker_new(s, &e);
        if (e) {
            *err = e;
            server_free(s);
            return kn_error_wrap(err, "start DNS server");
        }
    }
    for (int i = 0; i < s->nworkers; i++) {
        int r = pthread_create(&s->workers[i]->thread, NULL, worker_main, s->workers[i]);
        if (r != 0) {
            dns_server_stop(s);
            return kn_error_errno(err, r, "start DNS worker");
        }
        s->workers[i]->started = true;
    }
    KN_V(1, "dns", "serving on %zu addresses with %d workers", s->naddrs, s->nworkers);
    *out = s;
    return 0;
}

void dns_server_stop(dns_server *s)
{
    if (!s)
        return;
    for (int i = 0; i < s->nworkers; i++) {
        worker *w = s->workers[i];
        if (!w || !w->started)
            continue;
        atomic_store(&w->stop, true);
        uint64_t one = 1;
        if (write(w->wakefd, &one, sizeof(one)) < 0)
            KN_WARN("dns", "wake worker: %s", strerror(errno));
        pthread_join(w->thread, NULL);
    }
    server_free(s);
}

/* ---- metrics ------------------------------------------------------------------------ */

void dns_server_get_stats(dns_server *s, dns_server_stats *st)
{
    memset(st, 0, sizeof(*st));
    for (int i = 0; i < s->nworkers; i++) {
        const wstats *ws = &s->workers[i]->st;
        for (int t = 0; t < QT_N; t++) {
            st->queries_udp += get(&ws->queries[0][t]);
            st->queries_tcp += get(&ws->queries[1][t]);
        }
        for (int r = 0; r < 6; r++)
            st->responses[r] += get(&ws->rcodes[r]);
        st->responses_other += get(&ws->rcodes[6]);
        st->truncated += get(&ws->truncated);
        st->dropped += get(&ws->dropped);
        st->forwarded += get(&ws->forwarded);
        st->cache_hits += get(&ws->cache_hits);
        st->tcp_connections += get(&ws->tcp_conns);
    }
}

static uint64_t sum(dns_server *s, size_t offset)
{
    uint64_t v = 0;
    for (int i = 0; i < s->nworkers; i++)
        v += get((const counter *)((const char *)&s->workers[i]->st + offset));
    return v;
}

#define SUM(s, field) sum(s, offsetof(wstats, field))

static void metric_head(kn_buf *b, const char *name, const char *type, const char *help)
{
    kn_buf_appendf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void metrics_queries(dns_server *s, kn_buf *b)
{
    metric_head(b, "knode_dns_requests_total", "counter", "DNS queries by transport and type.");
    for (int tcp = 0; tcp < 2; tcp++) {
        for (int t = 0; t < QT_N; t++)
            kn_buf_appendf(b, "knode_dns_requests_total{proto=\"%s\",type=\"%s\"} %llu\n",
                           tcp ? "tcp" : "udp", qt_names[t],
                           (unsigned long long)SUM(s, queries[tcp][t]));
    }
    metric_head(b, "knode_dns_responses_total", "counter", "DNS responses by rcode.");
    for (int r = 0; r < 7; r++)
        kn_buf_appendf(b, "knode_dns_responses_total{rcode=\"%s\"} %llu\n", rcode_names[r],
                       (unsigned long long)SUM(s, rcodes[r]));
}

static void metrics_latency(dns_server *s, kn_buf *b)
{
    metric_head(b, "knode_dns_request_duration_seconds", "histogram",
                "Time from receiving a query to its response.");
    uint64_t cum = 0;
    for (size_t i = 0; i <= NLAT; i++) {
        cum += SUM(s, lat[i]);
        if (i < NLAT)
            kn_buf_appendf(b, "knode_dns_request_duration_seconds_bucket{le=\"%g\"} %llu\n",
                           lat_bounds[i], (unsigned long long)cum);
        else
            kn_buf_appendf(b, "knode_dns_request_duration_seconds_bucket{le=\"+Inf\"} %llu\n",
                           (unsigned long long)cum);
    }
    kn_buf_appendf(b, "knode_dns_request_duration_seconds_sum %.9f\n",
                   (double)SUM(s, lat_sum_ns) / 1e9);
    kn_buf_appendf(b, "knode_dns_request_duration_seconds_count %llu\n", (unsigned long long)cum);
}

static void metric_one(kn_buf *b, const char *name, const char *type, const char *help, uint64_t v)
{
    metric_head(b, name, type, help);
    kn_buf_appendf(b, "%s %llu\n", name, (unsigned long long)v);
}

void dns_server_metrics(dns_server *s, kn_buf *b)
{
    metrics_queries(s, b);
    metrics_latency(s, b);
    metric_one(b, "knode_dns_truncated_total", "counter", "UDP responses sent truncated (TC).",
               SUM(s, truncated));
    metric_one(b, "knode_dns_dropped_total", "counter", "Datagrams dropped without an answer.",
               SUM(s, dropped));
    metric_one(b, "knode_dns_cache_hits_total", "counter", "Forwarded names answered from cache.",
               SUM(s, cache_hits));
    metric_one(b, "knode_dns_cache_misses_total", "counter", "Forwarded names asked upstream.",
               SUM(s, forwarded));
    metric_one(b, "knode_dns_tcp_connections_total", "counter", "TCP connections accepted.",
               SUM(s, tcp_conns));
    if (!s->cfg.forwarder)
        return;
    dns_forward_stats fs;
    dns_forwarder_get_stats(s->cfg.forwarder, &fs);
    metric_one(b, "knode_dns_cache_entries", "gauge", "Entries in the forwarder's cache.",
               dns_cache_size(dns_forwarder_cache(s->cfg.forwarder)));
    metric_one(b, "knode_dns_forward_sent_total", "counter", "Queries sent upstream.", fs.sent);
    metric_one(b, "knode_dns_forward_tcp_fallbacks_total", "counter",
               "Truncated upstream answers asked again over TCP.", fs.tcp_fallbacks);
    metric_one(b, "knode_dns_forward_timeouts_total", "counter", "Upstream attempts timed out.",
               fs.timeouts);
    metric_one(b, "knode_dns_forward_bad_responses_total", "counter",
               "Upstream responses ignored as malformed or not matching.", fs.bad_responses);
    metric_one(b, "knode_dns_forward_failures_total", "counter",
               "Forwarded queries answered SERVFAIL.", fs.failures);
}

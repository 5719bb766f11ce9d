/* forward.c - upstream resolution (see forward.h). */
#include "dns/forward.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <unistd.h>

#include "dns/event-internal.h"
#include "lib/cleanup.h"
#include "lib/xalloc.h"

#define MAX_PENDING 4096
#define QUERY_MAX (2 + DNS_HEADER_SIZE + DNS_NAME_MAX + 4 + DNS_OPT_SIZE)
#define UPSTREAM_UDP_SIZE 1232

typedef struct upstream {
    struct sockaddr_storage addr;
    socklen_t len;
} upstream;

struct dns_forwarder {
    upstream *ups;
    size_t nups;
    int timeout_ms;
    int attempts;
    dns_cache *cache;
    atomic_uint_fast64_t stats[6]; /* in the order of dns_forward_stats */
};

enum { ST_QUERIES, ST_SENT, ST_TCP, ST_TIMEOUTS, ST_BAD, ST_FAILURES };

static void count(dns_forwarder *f, int which)
{
    atomic_fetch_add_explicit(&f->stats[which], 1, memory_order_relaxed);
}

/* ---- configuration -------------------------------------------------------- */

void dns_forward_config_default(dns_forward_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->resolv_conf = "/etc/resolv.conf";
    cfg->cache_size = 10000;
    cfg->max_ttl = 3600;
    cfg->timeout_ms = 2000;
}

int dns_parse_hostport(const char *s, uint16_t default_port, struct sockaddr_storage *ss,
                       socklen_t *len, kn_error **err)
{
    char host[INET6_ADDRSTRLEN + 8];
    const char *port = NULL;
    memset(ss, 0, sizeof(*ss));
    if (s[0] == '[') {
        const char *end = strchr(s, ']');
        if (!end || (size_t)(end - s - 1) >= sizeof(host) || (end[1] && end[1] != ':'))
            return kn_error_set(err, KN_EINVAL, "invalid address \"%s\"", s);
        snprintf(host, sizeof(host), "%.*s", (int)(end - s - 1), s + 1);
        port = end[1] ? end + 2 : NULL;
    } else {
        const char *colon = strchr(s, ':');
        bool one_colon = colon && !strchr(colon + 1, ':');
        snprintf(host, sizeof(host), "%.*s", one_colon ? (int)(colon - s) : (int)strlen(s), s);
        port = one_colon ? colon + 1 : NULL;
    }
    char *end = NULL;
    long p = port ? strtol(port, &end, 10) : default_port;
    if ((port && (!*port || *end)) || p <= 0 || p > 65535)
        return kn_error_set(err, KN_EINVAL, "invalid port in \"%s\"", s);
    struct sockaddr_in *v4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)p);
        *len = sizeof(*v4);
    } else if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)p);
        *len = sizeof(*v6);
    } else {
        return kn_error_set(err, KN_EINVAL, "invalid address \"%s\"", s);
    }
    return 0;
}

/* The address on a "nameserver ADDR" line, or NULL. */
static char *nameserver_of(char *line)
{
    char *p = line;
    while (isspace((unsigned char)*p))
        p++;
    if (strncmp(p, "nameserver", 10) != 0 || !isspace((unsigned char)p[10]))
        return NULL;
    p += 10;
    while (isspace((unsigned char)*p))
        p++;
    char *end = p;
    while (*end && !isspace((unsigned char)*end) && *end != '#' && *end != ';' && *end != '%')
        end++;
    *end = '\0';
    return *p ? p : NULL;
}

int dns_resolv_conf_servers(const char *path, char ***out, size_t *n, kn_error **err)
{
    cleanup_file FILE *f = fopen(path, "re");
    if (!f)
        return kn_error_errno(err, errno, "read %s", path);
    char line[512];
    char **list = NULL;
    size_t cnt = 0;
    while (fgets(line, sizeof(line), f)) {
        char *ns = nameserver_of(line);
        if (!ns)
            continue;
        list = xreallocarray(list, cnt + 1, sizeof(*list));
        list[cnt++] = xstrdup(ns);
    }
    if (cnt == 0) {
        free(list);
        return kn_error_set(err, KN_EINVAL, "%s: no nameserver", path);
    }
    *out = list;
    *n = cnt;
    return 0;
}

static int add_upstreams(dns_forwarder *f, const char *const *list, size_t n, kn_error **err)
{
    f->ups = xcalloc(n, sizeof(*f->ups));
    for (size_t i = 0; i < n; i++) {
        if (dns_parse_hostport(list[i], 53, &f->ups[i].addr, &f->ups[i].len, err) < 0)
            return kn_error_wrap(err, "upstream");
    }
    f->nups = n;
    return 0;
}

static int load_resolv_conf(dns_forwarder *f, const char *path, kn_error **err)
{
    char **list = NULL;
    size_t n = 0;
    if (dns_resolv_conf_servers(path, &list, &n, err) < 0)
        return -1;
    int r = add_upstreams(f, (const char *const *)list, n, err);
    for (size_t i = 0; i < n; i++)
        free(list[i]);
    free(list);
    return r < 0 ? kn_error_wrap(err, "%s", path) : 0;
}

int dns_forwarder_new(const dns_forward_config *cfg, dns_forwarder **out, kn_error **err)
{
    dns_forwarder *f = xcalloc(1, sizeof(*f));
    int r = cfg->nupstreams ? add_upstreams(f, cfg->upstreams, cfg->nupstreams, err)
                            : load_resolv_conf(f, cfg->resolv_conf, err);
    if (r < 0) {
        free(f->ups);
        free(f);
        return -1;
    }
    f->timeout_ms = cfg->timeout_ms > 0 ? cfg->timeout_ms : 2000;
    f->attempts = cfg->attempts > 0 ? cfg->attempts : (int)(2 * f->nups);
    f->cache = dns_cache_new(cfg->cache_size, cfg->max_ttl, cfg->clock);
    for (int i = 0; i < 6; i++)
        atomic_init(&f->stats[i], 0);
    *out = f;
    return 0;
}

void dns_forwarder_free(dns_forwarder *f)
{
    if (!f)
        return;
    dns_cache_free(f->cache);
    free(f->ups);
    free(f);
}

dns_cache *dns_forwarder_cache(dns_forwarder *f)
{
    return f->cache;
}

size_t dns_forwarder_nupstreams(const dns_forwarder *f)
{
    return f->nups;
}

const char *dns_forwarder_upstream(const dns_forwarder *f, size_t i, char *buf, size_t size)
{
    char ip[INET6_ADDRSTRLEN];
    const struct sockaddr_storage *ss = &f->ups[i].addr;
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *v4 = (const void *)ss;
        inet_ntop(AF_INET, &v4->sin_addr, ip, sizeof(ip));
        snprintf(buf, size, "%s:%u", ip, ntohs(v4->sin_port));
    } else {
        const struct sockaddr_in6 *v6 = (const void *)ss;
        inet_ntop(AF_INET6, &v6->sin6_addr, ip, sizeof(ip));
        snprintf(buf, size, "[%s]:%u", ip, ntohs(v6->sin6_port));
    }
    return buf;
}

void dns_forwarder_get_stats(const dns_forwarder *f, dns_forward_stats *st)
{
    uint64_t v[6];
    for (int i = 0; i < 6; i++)
        v[i] = atomic_load_explicit(&((dns_forwarder *)f)->stats[i], memory_order_relaxed);
    *st = (dns_forward_stats){v[0], v[1], v[2], v[3], v[4], v[5]};
}

/* ---- one upstream query ----------------------------------------------------- */

typedef struct pending {
    dns_ev ev;
    dns_forward_loop *loop;
    struct pending *prev, *next; /* by deadline */
    int64_t deadline;
    int fd;
    bool tcp;
    bool failed; /* end at the next expiry without trying further */
    size_t up;   /* upstream of the current attempt */
    int attempts_left;
    uint16_t id;
    uint16_t qtype, qclass;
    uint8_t qname[DNS_NAME_MAX];
    dns_forward_cb cb;
    void *arg;
    uint8_t query[QUERY_MAX]; /* 2-byte length prefix, then the message */
    size_t qlen;              /* message length without the prefix */
    size_t tcp_sent;
    uint8_t *rbuf; /* TCP: the response being read, with its prefix */
    size_t rlen, rcap;
} pending;

struct dns_forward_loop {
    dns_forwarder *f;
    int epfd;
    size_t next_up;
    size_t npending;
    pending *head, *tail;
    uint8_t *ubuf; /* DNS_MSG_MAX bytes: the UDP responses read on this loop */
};

static int64_t now_ms(void)
{
    return kn_time_monotonic_ns() / 1000000;
}

static void list_remove(dns_forward_loop *l, pending *p)
{
    if (p->prev)
        p->prev->next = p->next;
    else
        l->head = p->next;
    if (p->next)
        p->next->prev = p->prev;
    else
        l->tail = p->prev;
    p->prev = p->next = NULL;
}

/* Inserts p by deadline, scanning from the tail (deadlines mostly grow). */
static void list_insert(dns_forward_loop *l, pending *p, int64_t deadline)
{
    p->deadline = deadline;
    pending *after = l->tail;
    while (after && after->deadline > deadline)
        after = after->prev;
    p->prev = after;
    p->next = after ? after->next : l->head;
    if (p->next)
        p->next->prev = p;
    else
        l->tail = p;
    if (after)
        after->next = p;
    else
        l->head = p;
}

static void reschedule(pending *p, int64_t deadline)
{
    list_remove(p->loop, p);
    list_insert(p->loop, p, deadline);
}

static void close_fd(pending *p)
{
    if (p->fd >= 0)
        close(p->fd); /* also leaves the epoll set */
    p->fd = -1;
    free(p->rbuf);
    p->rbuf = NULL;
    p->rlen = p->rcap = 0;
}

static void finish(pending *p, dns_cache_entry *e)
{
    dns_forward_loop *l = p->loop;
    list_remove(l, p);
    l->npending--;
    close_fd(p);
    if (e)
        dns_cache_put(l->f->cache, e);
    else
        count(l->f, ST_FAILURES);
    p->cb(p->arg, e, dns_cache_now(l->f->cache));
    dns_cache_entry_unref(e);
    free(p);
}

static uint16_t random_id(void)
{
    uint16_t id;
    if (getrandom(&id, sizeof(id), GRND_NONBLOCK) != sizeof(id))
        id = (uint16_t)(kn_time_monotonic_ns() ^ (uintptr_t)&id);
    return id;
}

/* Writes the query (a fresh id, RD, EDNS with our payload size). */
static void build_query(pending *p)
{
    dns_writer w;
    p->id = random_id();
    dns_writer_init(&w, p->query + 2, sizeof(p->query) - 2, p->id, DNS_FLAG_RD);
    dns_writer_reserve(&w, DNS_OPT_SIZE);
    dns_writer_question(&w, p->qname, p->qtype, p->qclass);
    dns_writer_opt(&w, UPSTREAM_UDP_SIZE, 0, false);
    p->qlen = dns_writer_len(&w);
    p->query[0] = (uint8_t)(p->qlen >> 8);
    p->query[1] = (uint8_t)p->qlen;
}

static int open_socket(pending *p, int type, uint32_t events)
{
    const upstream *u = &p->loop->f->ups[p->up];
    p->fd = socket(u->addr.ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (p->fd < 0)
        return -1;
    if (connect(p->fd, (const struct sockaddr *)&u->addr, u->len) < 0 && errno != EINPROGRESS)
        return -1;
    struct epoll_event ev = {.events = events, .data.ptr = &p->ev};
    return epoll_ctl(p->loop->epfd, EPOLL_CTL_ADD, p->fd, &ev);
}

/* The next attempt: the next upstream, a new socket and id. */
static void attempt(pending *p)
{
    dns_forward_loop *l = p->loop;
    close_fd(p);
    p->tcp = false;
    if (p->attempts_left-- <= 0) {
        finish(p, NULL);
        return;
    }
    p->up = (p->up + 1) % l->f->nups;
    build_query(p);
    if (open_socket(p, SOCK_DGRAM, EPOLLIN) < 0 || send(p->fd, p->query + 2, p->qlen, 0) < 0) {
        reschedule(p, INT64_MIN); /* try the next one at the next expiry */
        return;
    }
    count(l->f, ST_SENT);
    reschedule(p, now_ms() + l->f->timeout_ms);
}

/* The response was truncated: the same question over TCP. */
static void start_tcp(pending *p)
{
    dns_forward_loop *l = p->loop;
    close_fd(p);
    p->tcp = true;
    p->tcp_sent = 0;
    count(l->f, ST_TCP);
    if (open_socket(p, SOCK_STREAM, EPOLLOUT | EPOLLIN) < 0) {
        attempt(p);
        return;
    }
    reschedule(p, now_ms() + l->f->timeout_ms);
}

/* A complete response: done, retry elsewhere, or TCP. Returns true when p
 * still waits on the same UDP socket (the response was ignored); otherwise p
 * has moved on or is freed. */
static bool on_response(pending *p, const uint8_t *msg, size_t len)
{
    dns_forwarder *f = p->loop->f;
    dns_cache_entry *e = NULL;
    int r = dns_cache_entry_parse(msg, len, p->id, p->qname, p->qtype, p->qclass,
                                  dns_cache_now(f->cache), &e);
    if (r == -EAGAIN && !p->tcp) {
        start_tcp(p);
        return false;
    }
    if (r < 0) {
        count(f, ST_BAD);
        if (!p->tcp) /* maybe spoofed: keep waiting for the real one */
            return true;
        attempt(p); /* a stream has no second chance */
        return false;
    }
    switch (dns_cache_entry_rcode(e)) {
    case DNS_RCODE_SERVFAIL:
    case DNS_RCODE_REFUSED:
    case DNS_RCODE_NOTIMP:
    case DNS_RCODE_FORMERR:
        dns_cache_entry_unref(e);
        attempt(p);
        return false;
    default:
        finish(p, e);
        return false;
    }
}

static void on_udp(pending *p)
{
    uint8_t *buf = p->loop->ubuf; /* outlives p, which on_response may free */
    for (;;) {
        ssize_t n = recv(p->fd, buf, DNS_MSG_MAX, 0);
        if (n < 0) {
            if (errno != EAGAIN && errno != EINTR) /* e.g. ECONNREFUSED */
                attempt(p);
            return;
        }
        if (!on_response(p, buf, (size_t)n))
            return;
    }
}

/* Sends what is left of the length-prefixed query. Returns false when p
 * moved on (an error). */
static bool tcp_send(pending *p)
{
    while (p->tcp_sent < p->qlen + 2) {
        ssize_t n = send(p->fd, p->query + p->tcp_sent, p->qlen + 2 - p->tcp_sent, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR)
                return true;
            attempt(p);
            return false;
        }
        p->tcp_sent += (size_t)n;
    }
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &p->ev};
    epoll_ctl(p->loop->epfd, EPOLL_CTL_MOD, p->fd, &ev);
    return true;
}

/* Reads the length-prefixed response, no more than it needs. */
static void tcp_read(pending *p)
{
    if (!p->rbuf) {
        p->rcap = 2 + DNS_MSG_MAX;
        p->rbuf = xmalloc(p->rcap);
    }
    for (;;) {
        size_t need = p->rlen < 2 ? 2 : 2 + ((size_t)p->rbuf[0] << 8 | p->rbuf[1]);
        if (p->rlen >= 2 && p->rlen == need) {
            on_response(p, p->rbuf + 2, need - 2);
            return;
        }
        ssize_t n = recv(p->fd, p->rbuf + p->rlen, need - p->rlen, 0);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            return;
        if (n <= 0) { /* closed or failed before the whole response */
            attempt(p);
            return;
        }
        p->rlen += (size_t)n;
    }
}

static void on_tcp(pending *p, uint32_t events)
{
    if (p->tcp_sent < p->qlen + 2) {
        if ((events & (EPOLLERR | EPOLLHUP)) && !(events & EPOLLIN)) {
            attempt(p);
            return;
        }
        if (!tcp_send(p))
            return;
    }
    if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
        tcp_read(p);
}

/* ---- the loop --------------------------------------------------------------- */

dns_forward_loop *dns_forward_loop_new(dns_forwarder *f, int epfd)
{
    dns_forward_loop *l = xcalloc(1, sizeof(*l));
    l->f = f;
    l->epfd = epfd;
    l->ubuf = xmalloc(DNS_MSG_MAX);
    return l;
}

void dns_forward_loop_free(dns_forward_loop *l)
{
    if (!l)
        return;
    while (l->head)
        finish(l->head, NULL);
    free(l->ubuf);
    free(l);
}

void dns_forward_start(dns_forward_loop *l, const uint8_t *qname, uint16_t qtype, uint16_t qclass,
                       dns_forward_cb cb, void *arg)
{
    dns_forwarder *f = l->f;
    pending *p = xcalloc(1, sizeof(*p));
    count(f, ST_QUERIES);
    p->ev.kind = DNS_EV_FORWARD;
    p->loop = l;
    p->fd = -1;
    memcpy(p->qname, qname, dns_name_len(qname));
    p->qtype = qtype;
    p->qclass = qclass;
    p->cb = cb;
    p->arg = arg;
    p->attempts_left = f->attempts;
    p->up = (l->next_up++ + f->nups - 1) % f->nups; /* attempt() moves to the next */
    l->npending++;
    list_insert(l, p, INT64_MIN);
    if (l->npending > MAX_PENDING) {
        p->failed = true; /* ends with SERVFAIL at the next expiry */
        return;
    }
    attempt(p);
}

void dns_forward_loop_event(dns_forward_loop *l, void *ev, uint32_t events)
{
    pending *p = ev;
    (void)l;
    if (p->tcp)
        on_tcp(p, events);
    else
        on_udp(p);
}

int dns_forward_loop_timeout_ms(dns_forward_loop *l)
{
    if (!l->head)
        return -1;
    int64_t d = l->head->deadline - now_ms();
    if (d <= 0)
        return 0;
    return d > INT32_MAX ? INT32_MAX : (int)d;
}

void dns_forward_loop_expire(dns_forward_loop *l)
{
    int64_t now = now_ms();
    while (l->head && l->head->deadline <= now) {
        pending *p = l->head;
        if (p->failed) {
            finish(p, NULL);
            continue;
        }
        if (p->deadline != INT64_MIN)
            count(l->f, ST_TIMEOUTS);
        attempt(p);
    }
}

size_t dns_forward_loop_pending(const dns_forward_loop *l)
{
    return l->npending;
}

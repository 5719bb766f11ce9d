/* test-forward.c - upstream configuration, and the asynchronous forward loop
 * against a fake upstream on 127.0.0.1 that the test drives packet by packet:
 * spoofed and mismatched answers are ignored, TC falls back to TCP,
 * timeouts and SERVFAIL move on, every attempt failing ends in NULL. */
#include "dns/event-internal.h"
#include "dns/forward.h"
#include "lib/cleanup.h"
#include "lib/xalloc.h"
#include "test/runner/kt.h"
#include "test/unit/dns/helpers.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

static dnst_msg m;

KT_TEST(dns_forward, parse_hostport)
{
    struct sockaddr_storage ss;
    socklen_t len;
    cleanup_error kn_error *err = NULL;
    KT_ASSERT_OK(dns_parse_hostport("10.0.0.2", 53, &ss, &len, &err), err);
    struct sockaddr_in *v4 = (struct sockaddr_in *)&ss;
    KT_ASSERT_EQ(ss.ss_family, AF_INET);
    KT_ASSERT_EQ(ntohs(v4->sin_port), 53);
    KT_ASSERT_OK(dns_parse_hostport("10.0.0.2:5353", 53, &ss, &len, &err), err);
    KT_ASSERT_EQ(ntohs(v4->sin_port), 5353);
    KT_ASSERT_OK(dns_parse_hostport("[fd00::2]:5300", 53, &ss, &len, &err), err);
    KT_ASSERT_EQ(ss.ss_family, AF_INET6);
    KT_ASSERT_EQ(ntohs(((struct sockaddr_in6 *)&ss)->sin6_port), 5300);
    KT_ASSERT_OK(dns_parse_hostport("fd00::2", 53, &ss, &len, &err), err);
    KT_ASSERT_EQ(ntohs(((struct sockaddr_in6 *)&ss)->sin6_port), 53);
    const char *bad[] = {
        "",         "host.example", "10.0.0.2:", "10.0.0.2:0", "10.0.0.2:70000", "10.0.0.2:5x",
        "[fd00::2", "[fd00::2]x",   "1.2.3.4.5"};
    for (size_t i = 0; i < KN_ARRAY_SIZE(bad); i++) {
        KT_ASSERT_FAILS(dns_parse_hostport(bad[i], 53, &ss, &len, &err));
        KT_ASSERT_EQ(kn_error_code(err), KN_EINVAL);
        kn_error_free(&err);
    }
}

static char *write_file(const char *name, const char *text)
{
    char *path = xasprintf("%s/%s", kt_tmpdir(), name);
    FILE *f = fopen(path, "w");
    KT_ASSERT(f != NULL);
    fputs(text, f);
    fclose(f);
    return path;
}

KT_TEST(dns_forward, resolv_conf)
{
    cleanup_free char *p = write_file("resolv.conf", "# comment\n"
                                                     "search default.svc.cluster.local\n"
                                                     "nameserver 10.0.0.2\n"
                                                     "  nameserver\tfe80::1%eth0 # local\n"
                                                     "nameserverx 1.1.1.1\n"
                                                     "; nameserver 9.9.9.9\n"
                                                     "options ndots:5\n");
    char **list = NULL;
    size_t n = 0;
    cleanup_error kn_error *err = NULL;
    KT_ASSERT_OK(dns_resolv_conf_servers(p, &list, &n, &err), err);
    KT_ASSERT_EQ(n, 2);
    KT_ASSERT_STREQ(list[0], "10.0.0.2");
    KT_ASSERT_STREQ(list[1], "fe80::1");
    for (size_t i = 0; i < n; i++)
        free(list[i]);
    free(list);

    dns_forward_config cfg;
    dns_forward_config_default(&cfg);
    cfg.resolv_conf = p;
    dns_forwarder *f = NULL;
    KT_ASSERT_OK(dns_forwarder_new(&cfg, &f, &err), err);
    KT_ASSERT_EQ(dns_forwarder_nupstreams(f), 2);
    char buf[64];
    KT_ASSERT_STREQ(dns_forwarder_upstream(f, 0, buf, sizeof(buf)), "10.0.0.2:53");
    KT_ASSERT_STREQ(dns_forwarder_upstream(f, 1, buf, sizeof(buf)), "[fe80::1]:53");
    dns_forwarder_free(f);

    cleanup_free char *empty = write_file("empty.conf", "search x\n");
    cfg.resolv_conf = empty;
    KT_ASSERT_FAILS(dns_forwarder_new(&cfg, &f, &err));
    KT_ASSERT_EQ(kn_error_code(err), KN_EINVAL);
    kn_error_free(&err);
    cfg.resolv_conf = "/nonexistent/resolv.conf";
    KT_ASSERT_FAILS(dns_forwarder_new(&cfg, &f, &err));
    KT_ASSERT_EQ(kn_error_code(err), KN_EIO);
    kn_error_free(&err);
    const char *ups[] = {"10.0.0.2", "nope"};
    cfg.upstreams = ups;
    cfg.nupstreams = 2;
    KT_ASSERT_FAILS(dns_forwarder_new(&cfg, &f, &err));
    KT_ASSERT_CONTAINS(kn_error_msg(err), "nope");
}

/* ---- the loop against a fake upstream --------------------------------------- */

typedef struct fake {
    int udp, tcp; /* the upstream's sockets on 127.0.0.1:port */
    uint16_t port;
    int epfd;
    dns_forwarder *f;
    dns_forward_loop *l;
    bool done;
    bool got_entry;
    char answer[512]; /* the first answer record of the result */
} fake;

static void on_done(void *arg, const dns_cache_entry *e, int64_t now_ns)
{
    fake *fk = arg;
    fk->done = true;
    fk->got_entry = e != NULL;
    fk->answer[0] = '\0';
    if (!e)
        return;
    static uint8_t buf[4096];
    dns_writer w;
    dns_writer_init(&w, buf, sizeof(buf), 1, DNS_FLAG_QR);
    dns_writer_question(&w, dnst_name("www.example.com"), DNS_TYPE_A, DNS_CLASS_IN);
    KT_ASSERT_EQ(dns_cache_entry_write(e, now_ns, dnst_name("www.example.com"), &w), 0);
    dnst_parse(buf, dns_writer_len(&w), &m);
    if (m.n[1])
        snprintf(fk->answer, sizeof(fk->answer), "%s", m.rr[1][0]);
}

static void fake_up(fake *fk, int timeout_ms, int attempts)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof(a);
    fk->udp = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    KT_ASSERT(bind(fk->udp, (struct sockaddr *)&a, sizeof(a)) == 0);
    KT_ASSERT(getsockname(fk->udp, (struct sockaddr *)&a, &al) == 0);
    fk->port = ntohs(a.sin_port);
    fk->tcp = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    KT_ASSERT(bind(fk->tcp, (struct sockaddr *)&a, sizeof(a)) == 0); /* same port, TCP */
    KT_ASSERT(listen(fk->tcp, 4) == 0);
    char up[32];
    snprintf(up, sizeof(up), "127.0.0.1:%u", fk->port);
    const char *ups[] = {up};
    dns_forward_config cfg;
    dns_forward_config_default(&cfg);
    cfg.upstreams = ups;
    cfg.nupstreams = 1;
    cfg.timeout_ms = timeout_ms;
    cfg.attempts = attempts;
    cleanup_error kn_error *err = NULL;
    KT_ASSERT_OK(dns_forwarder_new(&cfg, &fk->f, &err), err);
    fk->epfd = epoll_create1(EPOLL_CLOEXEC);
    fk->l = dns_forward_loop_new(fk->f, fk->epfd);
    fk->done = false;
}

static void fake_down(fake *fk)
{
    dns_forward_loop_free(fk->l);
    dns_forwarder_free(fk->f);
    close(fk->epfd);
    close(fk->udp);
    close(fk->tcp);
}

/* Runs the loop once (up to 50 ms). */
static void pump(fake *fk)
{
    struct epoll_event evs[8];
    int t = dns_forward_loop_timeout_ms(fk->l);
    int n = epoll_wait(fk->epfd, evs, 8, t < 0 || t > 50 ? 50 : t);
    for (int i = 0; i < n; i++) {
        dns_ev *ev = evs[i].data.ptr;
        KT_ASSERT_EQ(ev->kind, DNS_EV_FORWARD);
        dns_forward_loop_event(fk->l, ev, evs[i].events);
    }
    dns_forward_loop_expire(fk->l);
}

/* Waits for the next query at the fake upstream, pumping the loop. */
static size_t next_query(fake *fk, uint8_t *buf, struct sockaddr_in *from)
{
    for (int i = 0; i < 200; i++) {
        struct pollfd p = {fk->udp, POLLIN, 0};
        if (poll(&p, 1, 0) == 1) {
            socklen_t fl = sizeof(*from);
            ssize_t n = recvfrom(fk->udp, buf, 512, 0, (struct sockaddr *)from, &fl);
            KT_ASSERT(n > 0);
            return (size_t)n;
        }
        pump(fk);
    }
    KT_FAIL("no query reached the fake upstream");
}

static void pump_until_done(fake *fk)
{
    for (int i = 0; i < 200 && !fk->done; i++)
        pump(fk);
    KT_ASSERT(fk->done);
}

/* The upstream's answer to the query in q (its id and question), with
 * changes: a different id, name, rcode or flags. */
static size_t reply(uint8_t *out, const uint8_t *q, size_t qlen, int id_delta, const char *name,
                    unsigned rcode, uint16_t flags, int nrecords)
{
    dns_query pq;
    KT_ASSERT_EQ(dns_query_parse(q, qlen, &pq), 0);
    dns_writer w;
    dns_writer_init(&w, out, DNS_MSG_MAX, (uint16_t)(pq.id + id_delta),
                    (uint16_t)(DNS_FLAG_QR | DNS_FLAG_RD | DNS_FLAG_RA | flags));
    dns_writer_set_rcode(&w, rcode);
    const uint8_t *qn = name ? dnst_name(name) : pq.qname;
    uint8_t qname[DNS_NAME_MAX];
    memcpy(qname, qn, dns_name_len(qn));
    dns_writer_question(&w, qname, pq.qtype, pq.qclass);
    for (int i = 0; i < nrecords; i++) {
        uint8_t ip[4] = {192, 0, 2, (uint8_t)(i + 1)};
        dns_rr a = {qname, DNS_TYPE_A, DNS_CLASS_IN, 300, 4, ip};
        KT_ASSERT_EQ(dns_writer_rr(&w, DNS_SEC_ANSWER, &a), 0);
    }
    return dns_writer_len(&w);
}

static void send_to(fake *fk, const uint8_t *msg, size_t len, const struct sockaddr_in *to)
{
    KT_ASSERT(sendto(fk->udp, msg, len, 0, (const struct sockaddr *)to, sizeof(*to)) ==
              (ssize_t)len);
}

KT_TEST(dns_forward, ignores_spoofed_answers)
{
    fake fk;
    fake_up(&fk, 5000, 2);
    dns_forward_start(fk.l, dnst_name("www.example.com"), DNS_TYPE_A, DNS_CLASS_IN, on_done, &fk);
    KT_ASSERT(!fk.done); /* never called from start */
    uint8_t q[512], r[4096];
    struct sockaddr_in from;
    size_t qn = next_query(&fk, q, &from);
    /* the query: RD, EDNS, our question */
    dnst_parse(q, qn, &m);
    KT_ASSERT(m.flags & DNS_FLAG_RD);
    KT_ASSERT(m.edns);
    KT_ASSERT_STREQ(m.qname, "www.example.com.");
    /* a wrong id, then a wrong question: both ignored */
    send_to(&fk, r, reply(r, q, qn, 1, NULL, 0, 0, 1), &from);
    send_to(&fk, r, reply(r, q, qn, 0, "www.example.org", 0, 0, 1), &from);
    for (int i = 0; i < 5; i++)
        pump(&fk);
    KT_ASSERT(!fk.done);
    send_to(&fk, r, reply(r, q, qn, 0, "WWW.EXAMPLE.COM", 0, 0, 1), &from);
    pump_until_done(&fk);
    KT_ASSERT(fk.got_entry);
    KT_ASSERT_STREQ(fk.answer, "www.example.com. 300 A 192.0.2.1");
    dns_forward_stats st;
    dns_forwarder_get_stats(fk.f, &st);
    KT_ASSERT_EQ(st.bad_responses, 2);
    KT_ASSERT_EQ(st.sent, 1);
    KT_ASSERT_EQ(dns_forward_loop_pending(fk.l), 0);
    /* the answer was cached */
    dns_cache_entry *e = dns_cache_get(dns_forwarder_cache(fk.f), dnst_name("www.example.com"),
                                       DNS_TYPE_A, DNS_CLASS_IN);
    KT_ASSERT(e != NULL);
    dns_cache_entry_unref(e);
    fake_down(&fk);
}

KT_TEST(dns_forward, truncated_answer_falls_back_to_tcp)
{
    fake fk;
    fake_up(&fk, 5000, 2);
    dns_forward_start(fk.l, dnst_name("www.example.com"), DNS_TYPE_A, DNS_CLASS_IN, on_done, &fk);
    uint8_t q[512], r[DNS_MSG_MAX];
    struct sockaddr_in from;
    size_t qn = next_query(&fk, q, &from);
    send_to(&fk, r, reply(r, q, qn, 0, NULL, 0, DNS_FLAG_TC, 0), &from);
    /* the loop connects over TCP: accept, read the length-prefixed query */
    int c = -1;
    for (int i = 0; i < 200 && c < 0; i++) {
        struct pollfd p = {fk.tcp, POLLIN, 0};
        if (poll(&p, 1, 0) == 1)
            c = accept(fk.tcp, NULL, NULL);
        else
            pump(&fk);
    }
    KT_ASSERT(c >= 0);
    uint8_t tq[600];
    size_t got = 0;
    for (int i = 0; i < 200 && (got < 2 || got < 2 + (size_t)(tq[0] << 8 | tq[1])); i++) {
        struct pollfd p = {c, POLLIN, 0};
        if (poll(&p, 1, 0) == 1) {
            ssize_t n = read(c, tq + got, sizeof(tq) - got);
            KT_ASSERT(n > 0);
            got += (size_t)n;
        } else {
            pump(&fk);
        }
    }
    size_t tqlen = (size_t)(tq[0] << 8 | tq[1]);
    KT_ASSERT_EQ(got, 2 + tqlen);
    /* 150 records: far more than a datagram carries */
    size_t rn = reply(r + 2, tq + 2, tqlen, 0, NULL, 0, 0, 150);
    r[0] = (uint8_t)(rn >> 8);
    r[1] = (uint8_t)rn;
    KT_ASSERT(write(c, r, 2 + rn) == (ssize_t)(2 + rn));
    pump_until_done(&fk);
    close(c);
    KT_ASSERT(fk.got_entry);
    KT_ASSERT_EQ(m.n[1], 150);
    dns_forward_stats st;
    dns_forwarder_get_stats(fk.f, &st);
    KT_ASSERT_EQ(st.tcp_fallbacks, 1);
    fake_down(&fk);
}

KT_TEST(dns_forward, timeout_and_servfail_move_on)
{
    fake fk;
    fake_up(&fk, 200, 3);
    dns_forward_start(fk.l, dnst_name("www.example.com"), DNS_TYPE_A, DNS_CLASS_IN, on_done, &fk);
    uint8_t q1[512], q2[512], q3[512], r[4096];
    struct sockaddr_in f1, f2, f3;
    size_t n1 = next_query(&fk, q1, &f1); /* not answered: times out */
    size_t n2 = next_query(&fk, q2, &f2);
    send_to(&fk, r, reply(r, q2, n2, 0, NULL, DNS_RCODE_SERVFAIL, 0, 0), &f2);
    size_t n3 = next_query(&fk, q3, &f3);
    /* an answer to an earlier attempt comes too late: its socket is gone */
    send_to(&fk, r, reply(r, q1, n1, 0, NULL, 0, 0, 1), &f1);
    send_to(&fk, r, reply(r, q3, n3, 0, NULL, 0, 0, 2), &f3);
    pump_until_done(&fk);
    KT_ASSERT(fk.got_entry);
    KT_ASSERT_EQ(m.n[1], 2);
    dns_forward_stats st;
    dns_forwarder_get_stats(fk.f, &st);
    KT_ASSERT_EQ(st.timeouts, 1);
    KT_ASSERT_EQ(st.sent, 3);
    KT_ASSERT_EQ(st.failures, 0);
    fake_down(&fk);
}

KT_TEST(dns_forward, every_attempt_failing_ends_in_null)
{
    fake fk;
    fake_up(&fk, 100, 2);
    dns_forward_start(fk.l, dnst_name("www.example.com"), DNS_TYPE_A, DNS_CLASS_IN, on_done, &fk);
    pump_until_done(&fk);
    KT_ASSERT(!fk.got_entry);
    dns_forward_stats st;
    dns_forwarder_get_stats(fk.f, &st);
    KT_ASSERT_EQ(st.failures, 1);
    KT_ASSERT_EQ(st.timeouts, 2);
    /* freeing the loop ends what is in flight */
    dns_forward_start(fk.l, dnst_name("www.example.com"), DNS_TYPE_A, DNS_CLASS_IN, on_done, &fk);
    fk.done = false;
    dns_forward_loop_free(fk.l);
    fk.l = NULL;
    KT_ASSERT(fk.done && !fk.got_entry);
    fake_down(&fk);
}

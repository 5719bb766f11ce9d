/* event-internal.h - tags on the objects a DNS worker's epoll set points at,
 * so one loop can dispatch the server's sockets and the forwarder's. */
#ifndef KNODE_DNS_EVENT_INTERNAL_H
#define KNODE_DNS_EVENT_INTERNAL_H

typedef enum dns_ev_kind {
    DNS_EV_UDP = 1,    /* a listening UDP socket */
    DNS_EV_TCP_LISTEN, /* a listening TCP socket */
    DNS_EV_TCP_CONN,   /* a client's TCP connection */
    DNS_EV_WAKE,       /* the worker's eventfd (stop) */
    DNS_EV_FORWARD,    /* an upstream query's socket (forward.c) */
} dns_ev_kind;

/* The first member of every object registered in an epoll set. */
typedef struct dns_ev {
    dns_ev_kind kind;
} dns_ev;

#endif

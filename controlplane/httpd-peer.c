/* httpd-peer.c - the connection socket of a libmicrohttpd request. */
#include "controlplane/httpd-peer.h"

#include <microhttpd.h>
#include <poll.h>

int kn_http_peer_fd(const kn_http_request *req)
{
    if (!req->conn)
        return -1;
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    return ci ? ci->connect_fd : -1;
}

bool kn_http_peer_gone(int fd, int timeout_ms)
{
    if (fd < 0)
        return false;
    /* POLLRDHUP only: a peer that sends (a TLS alert) is not spinning us */
    struct pollfd p = {.fd = fd, .events = POLLRDHUP};
    return poll(&p, 1, timeout_ms) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL));
}

/* httpd-peer.h - the client connection behind a request of controlplane/
 * httpd.h, for streaming handlers that must notice a client hanging up
 * while they wait for data (a followed log). */
#ifndef KNODE_CONTROLPLANE_HTTPD_PEER_H
#define KNODE_CONTROLPLANE_HTTPD_PEER_H

#include <stdbool.h>

#include "controlplane/httpd.h"

/* The socket of the request's connection, or -1. Valid while the response
 * (and its stream) lives; never close it. */
int kn_http_peer_fd(const kn_http_request *req);

/* True when the peer of fd has hung up (waits up to timeout_ms; 0: just
 * looks). Data the peer sent does not count. */
bool kn_http_peer_gone(int fd, int timeout_ms);

#endif

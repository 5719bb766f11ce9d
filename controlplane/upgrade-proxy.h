/* upgrade-proxy.h - an upgrade-aware reverse proxy, as upstream's
 * UpgradeAwareHandler with UpgradeRequired: the client's upgrade request
 * (SPDY/3.1 or WebSocket, with its X-Stream-Protocol-Version or
 * Sec-WebSocket-* headers) goes on to a backend URL; a 101 from the backend
 * goes back with its headers and both connections become one byte pipe;
 * any other answer goes back to the client as it came (status, content
 * type, body). The protocol after the switch is never looked at, so the
 * protocol negotiation is the client's and the backend's.
 *
 * Used twice: the API server to the kubelet (pods/exec, attach,
 * portforward) and the kubelet to the runtime's streaming server. */
#ifndef KNODE_CONTROLPLANE_UPGRADE_PROXY_H
#define KNODE_CONTROLPLANE_UPGRADE_PROXY_H

#include "lib/httpd.h"
#include "lib/error.h"

typedef struct kn_upgrade_target {
    const char *url;       /* http:// or https://, with path and query */
    const char *cert_file; /* client certificate for https (NULL: none) */
    const char *key_file;
} kn_upgrade_target;

/* Sends req (method, headers but Host, Authorization, Impersonate-* and
 * body framing) to t and fills resp with the backend's answer; a 101 makes
 * resp an upgrade that pipes the two connections. Returns -1 with err
 * (KN_EUNAVAILABLE) when the backend cannot be reached or does not answer
 * HTTP; resp is then untouched. */
int kn_upgrade_proxy(const kn_http_request *req, const kn_upgrade_target *t, kn_http_response *resp,
                     kn_error **err);

#endif

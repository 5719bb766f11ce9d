/* streaming.h - the kubelet server's streaming endpoints, as upstream's
 * (the runtime serves the stream; the kubelet proxies to it):
 *
 *   GET|POST /exec/{ns}/{pod}[/{uid}]/{container}?command=..&input=1&output=1&error=1&tty=1
 *   GET|POST /attach/{ns}/{pod}[/{uid}]/{container}?input=1&output=1&error=1&tty=1
 *   GET|POST /portForward/{ns}/{pod}[/{uid}][?port=N]
 *
 * The pod must be one the kubelet runs, the container running in the
 * runtime (the sandbox ready, for port-forward); the runtime's Exec, Attach
 * or PortForward gives a streaming URL and the client's upgrade request is
 * proxied there (controlplane/upgrade-proxy.h), so the SPDY or WebSocket
 * protocol is negotiated between the client and the runtime. Errors are
 * upstream's plain-text answers: 400 for bad options, 404 "pod does not
 * exist", 500 "container not found (\"c\")" / "pod not found (\"p_ns\")",
 * the runtime's error with its gRPC code's status. */
#ifndef KNODE_KUBELET_STREAMING_H
#define KNODE_KUBELET_STREAMING_H

#include <stdbool.h>

#include "lib/httpd.h"
#include "kubelet/kubelet.h"

/* Serves req when its path is one of the above (true, resp filled);
 * false leaves resp alone. */
bool kl_streaming_serve(kl_kubelet *k, kn_http_request *req, kn_http_response *resp);

#endif

/* hcserver.h - the healthCheckNodePort servers (kube-proxy's
 * ServiceHealthServer): for every Service with externalTrafficPolicy Local
 * and a healthCheckNodePort, plain HTTP on that port of each NodePort
 * address. Any path answers
 *
 *     {"service":{"namespace":"ns","name":"name"},"localEndpoints":N,
 *      "serviceProxyHealthy":true}
 *
 * with 200 when N (the ready endpoints on this node, as distinct
 * address:port pairs) is not 0 and the proxy is healthy (np_health), else
 * 503. Load balancers use it to send traffic only to nodes with local
 * endpoints. (kube-proxy's X-Load-Balancing-Endpoint-Weight header is not
 * sent: netproxy/http.h has no extra headers.)
 *
 * Servers open and close as Services come and go; a port that cannot be
 * opened (in use) is logged once per Service and port and retried on the
 * next sync. Sockets are opened in the calling thread's network namespace. */
#ifndef KNODE_NETPROXY_HCSERVER_H
#define KNODE_NETPROXY_HCSERVER_H

#include <stddef.h>

#include "netproxy/metrics.h"
#include "netproxy/model.h"

typedef struct np_hcs np_hcs;

/* No servers yet; health (not owned) says whether the proxy is healthy. */
np_hcs *np_hcs_new(np_health *health);

/* Makes the servers match model m for node node_name (may be NULL: no
 * endpoint is local) on addresses ips[0..n). */
void np_hcs_sync(np_hcs *h, const np_model *m, const char *node_name, const np_addr *ips,
                 size_t nips);

/* Number of Services served now. */
size_t np_hcs_len(np_hcs *h);

/* Stops every server and frees; NULL is fine. */
void np_hcs_free(np_hcs *h);

#endif

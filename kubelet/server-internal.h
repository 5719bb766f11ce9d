/* server-internal.h - shared by the kubelet server's modules (server.c,
 * streaming.c). */
#ifndef KNODE_KUBELET_SERVER_INTERNAL_H
#define KNODE_KUBELET_SERVER_INTERNAL_H

#include "lib/httpd.h"

/* A plain-text answer, as upstream's handlers write their errors. */
void kl_server_text(kn_http_response *resp, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif

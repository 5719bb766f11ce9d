/* apiserver.h - the bundled Kubernetes API server.
 *
 * Serves the resources of controlplane/resources.h over HTTPS with the
 * semantics kubectl and client-go expect: discovery, CRUD with
 * resourceVersion from the store's revision, optimistic concurrency, patches,
 * watches, Status errors. Certificates come from controlplane/pki.h. */
#ifndef KNODE_CONTROLPLANE_APISERVER_H
#define KNODE_CONTROLPLANE_APISERVER_H

#include "controlplane/store.h"
#include "lib/error.h"

typedef struct kn_apiserver kn_apiserver;

typedef struct kn_apiserver_opts {
    const char *data_dir;     /* certificates (pki.h layout) */
    const char *bind_address; /* "127.0.0.1" */
    int port;                 /* 6443; 0: ephemeral */
    kn_store *store;          /* not owned */
    const char *service_cidr; /* "10.96.0.0/12" */
    const char *cluster_domain;
} kn_apiserver_opts;

int kn_apiserver_start(const kn_apiserver_opts *opts, kn_apiserver **out, kn_error **err);
int kn_apiserver_port(const kn_apiserver *s);
/* Stops serving (open watches end) and frees. */
void kn_apiserver_stop(kn_apiserver *s);

#endif

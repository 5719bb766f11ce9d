/* api_source.h - the API server as a pod source (upstream config/apiserver):
 * an informer on pods with fieldSelector spec.nodeName=<node> feeding a
 * kl_pod_sink under the source name "api".
 *
 * Every added or changed pod is decoded (kl_pod_decode) and handed to the
 * sink; a pod that does not decode is logged and left out. Mirror pods
 * (annotation kubernetes.io/config.mirror) are the API's copies of static
 * pods: they never run; their deletion, or a deletionTimestamp set on them,
 * is reported to on_mirror_gone so
 * the status manager recreates them. A deleted pod is removed from the
 * sink. Once the informer has listed, the source reports itself ready. */
#ifndef KNODE_KUBELET_API_SOURCE_H
#define KNODE_KUBELET_API_SOURCE_H

#include "api-client/informer.h"
#include "kubelet/kubelet.h"
#include "lib/error.h"

#define KL_API_SOURCE "api"

typedef struct kl_api_source_opts {
    kc_informer_factory *factory; /* the pod informer comes from here (borrowed) */
    const char *node_name;
    kl_pod_sink sink;
    void (*on_mirror_gone)(void *arg, const char *ns, const char *name);
    void *mirror_arg;
} kl_api_source_opts;

typedef struct kl_api_source kl_api_source;

/* Gets the node's pod informer from the factory and adds the handlers. The
 * informer runs when the factory is started. */
kl_api_source *kl_api_source_new(const kl_api_source_opts *o);

/* The pod informer (owned by the factory). */
kc_informer *kl_api_source_informer(kl_api_source *s);

/* The field selector of a node's pods ("spec.nodeName=NAME"); caller frees. */
char *kl_api_source_selector(const char *node_name);

/* Starts the factory's informers and a thread that reports the source
 * ready once the pods are listed. */
int kl_api_source_start(kl_api_source *s, kn_error **err);

/* Joins the ready thread (call before the factory is freed). NULL is fine. */
void kl_api_source_stop(kl_api_source *s);

/* Stops and frees s. The informer's handlers point to s: free the factory
 * (or stop the informer) first. NULL is fine. */
void kl_api_source_free(kl_api_source *s);

#endif

/* ctl-nodeipam.c - the node IPAM controller (upstream's range allocator,
 * kube-controller-manager --allocate-node-cidrs): every node without
 * spec.podCIDR gets the next free subnet of the cluster CIDR in
 * spec.podCIDR and spec.podCIDRs; subnets already on nodes are taken as
 * used, a deleted node's subnet is free again. Runs only when a cluster
 * CIDR is configured. */
#include <stdlib.h>
#include <string.h>

#include "controlplane/ctl-internal.h"
#include "controlplane/ctl-node.h"
#include "controlplane/objmeta.h"
#include "lib/log.h"
#include "lib/xalloc.h"

#define COMPONENT "node-ipam-controller"

typedef struct ipam {
    kn_ctl_ctx *ctx;
    kc_informer *nodes;
    kn_ctl_loop loop;
    pthread_mutex_t lock; /* guards set */
    kn_ctl_cidrset *set;
} ipam;

static const char *pod_cidr(const cJSON *node)
{
    const char *c = kn_ctl_str(node, "spec.podCIDR");
    return c && *c ? c : NULL;
}

static void node_add(kc_obj *o, void *ud)
{
    ipam *c = ud;
    const char *cidr = pod_cidr(kc_obj_json(o));
    if (cidr) {
        pthread_mutex_lock(&c->lock);
        if (!kn_ctl_cidrset_occupy(c->set, cidr))
            KN_V(2, "controller", "node %s: podCIDR %s is outside the cluster CIDR", kc_obj_key(o),
                 cidr);
        pthread_mutex_unlock(&c->lock);
    } else {
        kn_workqueue_add(c->loop.queue, kc_obj_key(o));
    }
}

static void node_update(kc_obj *old, kc_obj *o, void *ud)
{
    (void)old;
    node_add(o, ud);
}

static void node_delete(kc_obj *o, void *ud)
{
    ipam *c = ud;
    const char *cidr = pod_cidr(kc_obj_json(o));
    if (!cidr)
        return;
    pthread_mutex_lock(&c->lock);
    kn_ctl_cidrset_release(c->set, cidr);
    pthread_mutex_unlock(&c->lock);
}

static int sync_node(void *ud, const char *key, kn_error **err)
{
    ipam *c = ud;
    kc_obj *o = kc_informer_get(c->nodes, key);
    if (!o || pod_cidr(kc_obj_json(o))) {
        kc_obj_unref(o);
        return 0;
    }
    char cidr[32];
    pthread_mutex_lock(&c->lock);
    bool got = kn_ctl_cidrset_allocate(c->set, cidr);
    pthread_mutex_unlock(&c->lock);
    if (!got) {
        kn_ctl_event(c->ctx->recorder, COMPONENT, kc_obj_json(o), "Normal", "CIDRNotAvailable",
                     "Node %s status is now: CIDRNotAvailable", key);
        kc_obj_unref(o);
        return kn_error_set(err, KN_EUNAVAILABLE, "no pod CIDR left for node %s", key);
    }
    char *patch = xasprintf("{\"metadata\":{\"resourceVersion\":\"%s\"},\"spec\":{\"podCIDR\":"
                            "\"%s\",\"podCIDRs\":[\"%s\"]}}",
                            kc_obj_resource_version(o), cidr, cidr);
    int r =
        kc_patch(c->ctx->client, &kc_res_nodes, NULL, key, NULL, KC_PATCH_MERGE, patch, NULL, err);
    free(patch);
    if (r < 0) {
        pthread_mutex_lock(&c->lock);
        kn_ctl_cidrset_release(c->set, cidr);
        pthread_mutex_unlock(&c->lock);
        if (kn_error_code(*err) == KN_ENOTFOUND) {
            kn_error_free(err);
            r = 0;
        }
    } else {
        KN_INFO("controller", "node %s: podCIDR %s", key, cidr);
        kn_ctl_event(c->ctx->recorder, COMPONENT, kc_obj_json(o), "Normal",
                     "CIDRAssignmentSucceeded", "Node %s podCIDR is %s", key, cidr);
    }
    kc_obj_unref(o);
    return r;
}

static void *ipam_create(kn_ctl_ctx *ctx)
{
    if (!ctx->tun.cluster_cidr)
        return NULL;
    kn_ctl_cidrset *set = kn_ctl_cidrset_new(ctx->tun.cluster_cidr, ctx->tun.node_cidr_mask);
    if (!set) {
        KN_ERR("controller", "node IPAM: cluster CIDR %s with /%d subnets is not usable",
               ctx->tun.cluster_cidr, ctx->tun.node_cidr_mask);
        return NULL;
    }
    ipam *c = xcalloc(1, sizeof(*c));
    c->ctx = ctx;
    c->set = set;
    pthread_mutex_init(&c->lock, NULL);
    kn_ctl_loop_init(&c->loop, ctx, "node-ipam", sync_node, c, NULL);
    c->nodes = kn_ctl_informer(ctx, &kc_res_nodes);
    kc_informer_add_handlers(c->nodes,
                             &(kc_informer_handlers){node_add, node_update, node_delete, c});
    return c;
}

static int ipam_start(void *self, kn_error **err)
{
    ipam *c = self;
    return kn_ctl_loop_start(&c->loop, 1, err);
}

static void ipam_stop(void *self)
{
    ipam *c = self;
    kn_ctl_loop_stop(&c->loop);
}

static void ipam_destroy(void *self)
{
    ipam *c = self;
    kn_ctl_loop_destroy(&c->loop);
    kn_ctl_cidrset_free(c->set);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

const kn_ctl_def kn_ctl_nodeipam = {"node-ipam", ipam_create, ipam_start, ipam_stop, ipam_destroy};

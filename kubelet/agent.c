/* agent.c - the node agent's components on one client and informer factory. */
#include "kubelet/agent.h"

#include <stdlib.h>
#include <string.h>

#include "api-client/informer.h"
#include "kubelet/api_source.h"
#include "kubelet/cni.h"
#include "kubelet/kubelet.h"
#include "kubelet/node.h"
#include "kubelet/static_pods.h"
#include "kubelet/status_manager.h"
#include "lib/log.h"
#include "lib/xalloc.h"

#define COMPONENT "agent"

struct kl_agent {
    kl_agent_opts o;
    kc_informer_factory *factory;
    kl_kubelet *kubelet;
    kl_status_manager *status;
    kl_api_source *source;
    kl_static_pods *statics;
    kl_node *node;
    kl_server *server;
    kl_logrotate *rotate;
    np_proxy *proxy;
    dns_daemon *dns;
};

static void on_pod_cidr(void *arg, const char *cidr)
{
    kl_agent *a = arg;
    if (!a->o.manage_cni)
        return;
    kl_cni_opts c = {.conf_dir = a->o.cni_conf_dir,
                     .pod_cidr = cidr,
                     .data_dir = a->o.cni_data_dir,
                     .ip_masq = true};
    bool changed = false;
    kn_error *err = NULL;
    if (kl_cni_write(&c, &changed, &err) < 0)
        KN_ERR(COMPONENT, "%s", kn_error_msg(err));
    else if (changed)
        KN_INFO(COMPONENT, "wrote the CNI configuration for %s", cidr);
    kn_error_free(&err);
}

/* The status manager on the node's pod informer (which the API source
 * shares: the factory hands out one informer per selector). */
static int start_status(kl_agent *a, kn_error **err)
{
    char *sel = kl_api_source_selector(a->o.node->node_name);
    kc_informer_options io = {.field_selector = sel};
    kc_informer *pods = kc_informer_factory_get(a->factory, &kc_res_pods, &io);
    free(sel);
    kl_status_manager_opts mo = {
        .client = a->o.client, .pods = pods, .node_name = a->o.node->node_name};
    return kl_status_manager_new(&mo, &a->status, err);
}

static int start_kubelet(kl_agent *a, kn_error **err)
{
    static const char *const api_only[] = {KL_API_SOURCE, NULL};
    static const char *const with_file[] = {KL_API_SOURCE, KL_STATIC_SOURCE, NULL};
    bool statics = a->o.pod_manifest_path && *a->o.pod_manifest_path;
    if (start_status(a, err) < 0)
        return -1;
    kl_kubelet_opts ko = {.node = a->o.node,
                          .runtime_endpoint = a->o.runtime_endpoint,
                          .runtime_timeout_ms = a->o.runtime_timeout_ms,
                          .status_sink = kl_status_manager_sink,
                          .status_arg = a->status,
                          .sources = statics ? with_file : api_only};
    if (kl_kubelet_new(&ko, &a->kubelet, err) < 0 || kl_kubelet_start(a->kubelet, err) < 0)
        return kn_error_wrap(err, "kubelet");
    kl_server_opts sv = a->o.server;
    sv.kubelet = a->kubelet;
    sv.node = a->o.node;
    kl_logrotate_opts lr = a->o.logs;
    lr.conn = kl_kubelet_runtime(a->kubelet);
    if (kl_server_start(&sv, &a->server, err) < 0 || kl_logrotate_start(&lr, &a->rotate, err) < 0)
        return -1;
    kl_api_source_opts so = {.factory = a->factory,
                             .node_name = a->o.node->node_name,
                             .sink = kl_kubelet_sink(a->kubelet),
                             .on_mirror_gone = kl_status_manager_mirror_gone,
                             .mirror_arg = a->status};
    a->source = kl_api_source_new(&so);
    if (!statics)
        return 0;
    kl_static_opts st = {.path = a->o.pod_manifest_path,
                         .node_name = a->o.node->node_name,
                         .sink = kl_kubelet_sink(a->kubelet)};
    if (kl_static_pods_new(&st, &a->statics, err) < 0 || kl_static_pods_start(a->statics, err) < 0)
        return kn_error_wrap(err, "--pod-manifest-path");
    return 0;
}

static int start_node(kl_agent *a, kn_error **err)
{
    kl_node_opts no = {.client = a->o.client,
                       .config = a->o.node,
                       .runtime_endpoint = a->o.runtime_endpoint,
                       .runtime_timeout_ms = a->o.runtime_timeout_ms,
                       .kubelet = a->kubelet,
                       .node_labels = a->o.node_labels,
                       .taints = a->o.taints,
                       .max_pods = a->o.max_pods,
                       .kube_reserved = a->o.kube_reserved,
                       .system_reserved = a->o.system_reserved,
                       .status_period_ns = a->o.node_status_period_ns,
                       .kubelet_port = a->o.server.port,
                       .assign_pod_cidr = a->o.assign_pod_cidr,
                       .on_pod_cidr = on_pod_cidr,
                       .pod_cidr_arg = a};
    return kl_node_start(&no, &a->node, err);
}

static int start_network(kl_agent *a, kn_error **err)
{
    if (a->o.proxy) {
        np_proxy_opts po = *a->o.proxy;
        po.client = a->o.client;
        if (np_proxy_start(&po, &a->proxy, err) < 0)
            return kn_error_wrap(err, "proxy");
    }
    if (a->o.dns) {
        if (dns_daemon_new(a->o.dns, a->factory, &a->dns, err) < 0)
            return kn_error_wrap(err, "dns");
    }
    return 0;
}

int kl_agent_start(const kl_agent_opts *o, kl_agent **out, kn_error **err)
{
    kl_agent *a = xcalloc(1, sizeof(*a));
    a->o = *o;
    a->factory = kc_informer_factory_new(o->client);
    int r = start_kubelet(a, err);
    if (r == 0)
        r = start_node(a, err);
    if (r == 0)
        r = start_network(a, err);
    if (r == 0)
        r = kl_api_source_start(a->source, err);
    if (r == 0 && a->dns)
        r = dns_daemon_serve(a->dns, err);
    if (r < 0) {
        kl_agent_stop(a);
        return -1;
    }
    *out = a;
    return 0;
}

void kl_agent_stop(kl_agent *a)
{
    if (!a)
        return;
    kl_static_pods_free(a->statics);
    kl_api_source_stop(a->source);
    kl_status_manager_stop(a->status);    /* it reads the pod informer */
    kc_informer_factory_free(a->factory); /* before the sinks its informers call */
    kl_api_source_free(a->source);
    if (a->proxy)
        np_proxy_stop(a->proxy);
    dns_daemon_free(a->dns);
    kl_node_stop(a->node);
    kl_server_stop(a->server); /* its log streams ask the kubelet's runtime */
    kl_logrotate_stop(a->rotate);
    kl_kubelet_free(a->kubelet);
    kl_status_manager_free(a->status);
    free(a);
}

#include "controlplane/server.h"

#include <arpa/inet.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "controlplane/apiserver.h"
#include "controlplane/compactor.h"
#include "controlplane/csr-signer.h"
#include "controlplane/ctl-manager.h"
#include "controlplane/objmeta.h"
#include "controlplane/pki.h"
#include "controlplane/store.h"
#include "lib/cleanup.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/xalloc.h"

/* The first usable address of the Service CIDR: the `kubernetes` Service. */
static int first_service_ip(const char *cidr, char *buf, kn_error **err)
{
    char tmp[64];
    snprintf(tmp, sizeof(tmp), "%s", cidr);
    char *slash = strchr(tmp, '/');
    struct in_addr a;
    if (!slash || (*slash = '\0', inet_pton(AF_INET, tmp, &a) != 1))
        return kn_error_set(err, KN_EINVAL, "invalid --service-cluster-ip-range \"%s\"", cidr);
    int bits = atoi(slash + 1);
    if (bits < 8 || bits > 30)
        return kn_error_set(err, KN_EINVAL,
                            "--service-cluster-ip-range \"%s\": prefix must be "
                            "/8 to /30",
                            cidr);
    uint32_t base = ntohl(a.s_addr) & ~((1u << (32 - bits)) - 1);
    struct in_addr f = {htonl(base + 1)};
    inet_ntop(AF_INET, &f, buf, 16);
    return 0;
}

/* Creates key with the object if it does not exist yet. */
static int ensure_object(kn_store *st, const char *key, cJSON *obj, kn_error **err)
{
    kn_kv kv = {0};
    if (kn_store_get(st, key, &kv, NULL) == 0) {
        kn_kv_free(&kv);
        return 0;
    }
    char uid[37], ts[32];
    kn_uuid(uid);
    kn_rfc3339(0, ts, sizeof(ts));
    kn_meta_set_str(obj, "uid", uid);
    kn_meta_set_str(obj, "creationTimestamp", ts);
    cleanup_free char *text = kn_json_print(obj);
    int64_t rev;
    if (kn_store_create(st, key, text, strlen(text), &rev, err) < 0 &&
        kn_error_code(*err) != KN_EEXIST)
        return kn_error_wrap(err, "create %s", key);
    kn_error_free(err);
    return 0;
}

static int ensure_namespace(kn_store *st, const char *name, kn_error **err)
{
    cleanup_free char *doc = xasprintf(
        "{\"kind\":\"Namespace\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"%s\",\"labels\":"
        "{\"kubernetes.io/metadata.name\":\"%s\"}},\"spec\":{\"finalizers\":[\"kubernetes\"]},"
        "\"status\":{\"phase\":\"Active\"}}",
        name, name);
    cJSON *o = cJSON_Parse(doc);
    cleanup_free char *key = xasprintf("/registry/core/namespaces/%s", name);
    int r = ensure_object(st, key, o, err);
    cJSON_Delete(o);
    return r;
}

static int ensure_kubernetes_service(kn_store *st, const char *ip, int port, kn_error **err)
{
    cleanup_free char *doc = xasprintf(
        "{\"kind\":\"Service\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"kubernetes\","
        "\"namespace\":\"default\",\"labels\":{\"component\":\"apiserver\",\"provider\":"
        "\"kubernetes\"}},\"spec\":{\"type\":\"ClusterIP\",\"clusterIP\":\"%s\",\"clusterIPs\":"
        "[\"%s\"],\"ports\":[{\"name\":\"https\",\"protocol\":\"TCP\",\"port\":443,"
        "\"targetPort\":%d}],\"sessionAffinity\":\"None\",\"ipFamilies\":[\"IPv4\"],"
        "\"ipFamilyPolicy\":\"SingleStack\",\"internalTrafficPolicy\":\"Cluster\"},"
        "\"status\":{\"loadBalancer\":{}}}",
        ip, ip, port);
    cJSON *o = cJSON_Parse(doc);
    int r = ensure_object(st, "/registry/core/services/default/kubernetes", o, err);
    cJSON_Delete(o);
    return r;
}

static int bootstrap(kn_store *st, const char *service_ip, int port, kn_error **err)
{
    static const char *const namespaces[] = {"default", "kube-system", "kube-public",
                                             "kube-node-lease", NULL};
    for (size_t i = 0; namespaces[i]; i++) {
        if (ensure_namespace(st, namespaces[i], err) < 0)
            return -1;
    }
    return ensure_kubernetes_service(st, service_ip, port, err);
}

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
    stop_signal = sig;
}

static void wait_for_signal(void)
{
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    while (!stop_signal)
        pause();
}

int kn_server_run(const kn_server_opts *o, kn_error **err)
{
    char service_ip[16];
    if (first_service_ip(o->service_cidr, service_ip, err) < 0)
        return -KN_EINVAL;
    char host[256] = "";
    gethostname(host, sizeof(host) - 1);
    const char *dns[] = {host, NULL};
    const char *ips[] = {service_ip, o->bind_address, NULL};
    if (strcmp(o->bind_address, "0.0.0.0") == 0 || strcmp(o->bind_address, "127.0.0.1") == 0)
        ips[1] = NULL;
    cleanup_free char *url =
        xasprintf("https://%s:%d",
                  strcmp(o->bind_address, "0.0.0.0") == 0 ? "127.0.0.1" : o->bind_address, o->port);
    kn_pki_opts po = {o->data_dir, url, o->cluster_domain, dns, ips};
    if (kn_pki_ensure(&po, err) < 0)
        return -KN_EIO;
    cleanup_free char *store_url = o->store_url && *o->store_url
                                       ? xstrdup(o->store_url)
                                       : xasprintf("sqlite://%s/state.db", o->data_dir);
    kn_store *st = NULL;
    if (kn_store_open(store_url, &st, err) < 0)
        return -KN_EIO;
    kn_apiserver *api = NULL;
    kn_apiserver_opts ao = {o->data_dir, o->bind_address, o->port,
                            st,          o->service_cidr, o->cluster_domain};
    int r = bootstrap(st, service_ip, o->port, err);
    if (r == 0)
        r = kn_apiserver_start(&ao, &api, err);
    if (r == 0) {
        KN_INFO("server", "serving on https://%s:%d (kubeconfig %s/admin.kubeconfig)",
                o->bind_address, kn_apiserver_port(api), o->data_dir);
        kn_compactor *compactor = kn_compactor_start(st, o->compact_interval_s);
        kn_csr_signer *signer = NULL;
        kn_csr_signer_opts so = {.store = st, .data_dir = o->data_dir, .server_url = url};
        kn_error *serr = NULL;
        if (kn_csr_signer_start(&so, &signer, &serr) < 0)
            KN_ERR("server", "%s", kn_error_msg(serr));
        kn_error_free(&serr);
        kn_ctl_manager *cm = NULL;
        kn_ctl_manager_opts co = {.data_dir = o->data_dir,
                                  .bind_address = o->bind_address,
                                  .port = kn_apiserver_port(api),
                                  .node_monitor_grace_ns = o->node_monitor_grace_ns,
                                  .cluster_cidr = o->allocate_node_cidrs ? o->cluster_cidr : NULL};
        r = kn_ctl_manager_start(&co, &cm, err);
        if (r == 0) {
            wait_for_signal();
            KN_INFO("server", "stopping on signal %d", (int)stop_signal);
            kn_ctl_manager_stop(cm);
        }
        kn_csr_signer_stop(signer);
        kn_compactor_stop(compactor);
        kn_apiserver_stop(api);
    }
    kn_store_close(st);
    return r;
}

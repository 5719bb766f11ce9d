/* ctl-manager.c - identity, client, shared informers and the start/stop
 * order of the controllers. */
#include "controlplane/ctl-manager.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api-client/kubeconfig.h"
#include "api-client/leader.h"
#include "api-client/rest.h"
#include "controlplane/ctl-internal.h"
#include "controlplane/objmeta.h"
#include "controlplane/pki.h"
#include "lib/cleanup.h"
#include "lib/duration.h"
#include "lib/log.h"
#include "lib/xalloc.h"

#define SYNC_TIMEOUT (120 * KN_NSEC_PER_SEC)

/* In start order; stopped in reverse. */
static const kn_ctl_def *const controllers[] = {
    &kn_ctl_scheduler,      /* kube-scheduler's part */
    &kn_ctl_replicaset,     /* kube-controller-manager's part from here */
    &kn_ctl_deployment,     /* RollingUpdate, Recreate, rollbacks */
    &kn_ctl_daemonset,      /* a pod per eligible node */
    &kn_ctl_statefulset,    /* ordered, named pods */
    &kn_ctl_endpointslice,  /* and the legacy Endpoints */
    &kn_ctl_serviceaccount, /* "default" in every namespace */
    &kn_ctl_namespace,      /* deleting namespaces with their content */
    &kn_ctl_gc,             /* ownerReferences */
    &kn_ctl_nodelifecycle,  /* stale nodes, taints by condition */
    &kn_ctl_tainteviction,  /* NoExecute taints */
    &kn_ctl_nodeipam,       /* podCIDRs, with a cluster CIDR */
};

#define NCONTROLLERS (sizeof(controllers) / sizeof(controllers[0]))

struct kn_ctl_manager {
    kn_ctl_ctx ctx;
    void *self[NCONTROLLERS];
    size_t started;
    kc_leader *leader;
    char identity[340];
};

/* The controller manager's client certificate, issued once. */
static int ensure_identity(const char *dir, kn_error **err)
{
    cleanup_free char *crt = xasprintf("%s/controller-manager.crt", dir);
    cleanup_free char *key = xasprintf("%s/controller-manager.key", dir);
    if (access(crt, R_OK) == 0 && access(key, R_OK) == 0)
        return 0;
    static const char *const orgs[] = {"system:masters", NULL};
    if (kn_pki_issue_client(dir, "system:kube-controller-manager", orgs, crt, key, err) < 0)
        return kn_error_wrap(err, "issue the controller manager's certificate");
    return 0;
}

static char *server_url(const kn_ctl_manager_opts *o)
{
    const char *a = o->bind_address ? o->bind_address : "127.0.0.1";
    if (!*a || strcmp(a, "0.0.0.0") == 0 || strcmp(a, "::") == 0)
        a = "127.0.0.1";
    return strchr(a, ':') ? xasprintf("https://[%s]:%d", a, o->port)
                          : xasprintf("https://%s:%d", a, o->port);
}

static int new_client(const kn_ctl_manager_opts *o, kc_client **out, kn_error **err)
{
    cleanup_free char *url = server_url(o);
    cleanup_free char *doc = xasprintf(
        "{\"apiVersion\":\"v1\",\"kind\":\"Config\",\"clusters\":[{\"name\":\"knode\","
        "\"cluster\":{\"server\":\"%s\",\"certificate-authority\":\"ca.crt\"}}],\"users\":"
        "[{\"name\":\"controller-manager\",\"user\":{\"client-certificate\":"
        "\"controller-manager.crt\",\"client-key\":\"controller-manager.key\"}}],\"contexts\":"
        "[{\"name\":\"controller-manager\",\"context\":{\"cluster\":\"knode\",\"user\":"
        "\"controller-manager\"}}],\"current-context\":\"controller-manager\"}",
        url);
    cleanup_free char *name = xasprintf("%s/controller-manager.kubeconfig", o->data_dir);
    kc_config *cfg = NULL;
    if (kc_config_load_data(doc, strlen(doc), name, NULL, &cfg, err) < 0)
        return -1;
    kc_client_options co = {.qps = 200, .burst = 400, .user_agent = "knode/controller-manager"};
    int r = kc_client_new(cfg, &co, out, err);
    kc_config_free(cfg);
    return r;
}

static void tunables(const kn_ctl_manager_opts *o, kn_ctl_tunables *t)
{
    t->node_monitor_grace_ns = o->node_monitor_grace_ns;
    if (t->node_monitor_grace_ns <= 0)
        t->node_monitor_grace_ns = 40 * KN_NSEC_PER_SEC;
    t->node_monitor_period_ns =
        o->node_monitor_period_ns > 0 ? o->node_monitor_period_ns : 5 * KN_NSEC_PER_SEC;
    if (t->node_monitor_period_ns > t->node_monitor_grace_ns / 4)
        t->node_monitor_period_ns = t->node_monitor_grace_ns / 4;
    const char *cidr = o->cluster_cidr;
    t->cluster_cidr = cidr && *cidr ? xstrdup(cidr) : NULL;
    t->node_cidr_mask = o->node_cidr_mask_size > 0 ? o->node_cidr_mask_size : 24;
}

static int start_all(kn_ctl_manager *m, kn_error **err)
{
    for (size_t i = 0; i < NCONTROLLERS; i++)
        m->self[i] = controllers[i]->create(&m->ctx);
    if (kc_informer_factory_start(m->ctx.factory, err) < 0)
        return kn_error_wrap(err, "start informers");
    if (!kc_informer_factory_wait_synced(m->ctx.factory, SYNC_TIMEOUT))
        return kn_error_set(err, KN_ETIMEDOUT, "informers did not sync");
    for (; m->started < NCONTROLLERS; m->started++) {
        const kn_ctl_def *d = controllers[m->started];
        if (m->self[m->started] && d->start(m->self[m->started], err) < 0)
            return kn_error_wrap(err, "start %s", d->name);
    }
    return 0;
}

static void started_leading(void *ud)
{
    kn_ctl_manager *m = ud;
    KN_INFO("controller-manager", "%s leads: controllers active", m->identity);
    atomic_store(&m->ctx.leading, true);
}

static void stopped_leading(void *ud)
{
    kn_ctl_manager *m = ud;
    atomic_store(&m->ctx.leading, false);
    KN_WARN("controller-manager", "%s lost the leader lease: controllers paused", m->identity);
}

/* A uuid kept in <dir>/controller-manager.id, so a restarted server is
 * the same candidate and takes its Lease back at once. */
static void stable_id(const char *dir, char uid[37])
{
    cleanup_free char *path = xasprintf("%s/controller-manager.id", dir);
    FILE *f = fopen(path, "r");
    bool ok = f && fscanf(f, "%36s", uid) == 1 && strlen(uid) == 36;
    if (f)
        fclose(f);
    if (ok)
        return;
    kn_uuid(uid);
    f = fopen(path, "w");
    if (f) {
        fprintf(f, "%s\n", uid);
        fclose(f);
    }
}

/* Leader election on kube-system/kube-controller-manager, so that of
 * several servers on one store only one runs the controllers. */
static int elect(kn_ctl_manager *m, const char *dir, kn_error **err)
{
    char host[256] = "", uid[37];
    gethostname(host, sizeof(host) - 1);
    stable_id(dir, uid);
    snprintf(m->identity, sizeof(m->identity), "%s_%s", host, uid);
    kc_leader_options lo = {.ns = "kube-system",
                            .name = "kube-controller-manager",
                            .identity = m->identity,
                            .release_on_cancel = true,
                            .started_leading = started_leading,
                            .stopped_leading = stopped_leading,
                            .userdata = m};
    if (kc_leader_start(m->ctx.client, &lo, &m->leader, err) < 0)
        return kn_error_wrap(err, "leader election");
    return 0;
}

int kn_ctl_manager_start(const kn_ctl_manager_opts *o, kn_ctl_manager **out, kn_error **err)
{
    if (ensure_identity(o->data_dir, err) < 0)
        return -1;
    kn_ctl_manager *m = xcalloc(1, sizeof(*m));
    pthread_mutex_init(&m->ctx.lock, NULL);
    tunables(o, &m->ctx.tun);
    if (new_client(o, &m->ctx.client, err) < 0) {
        kn_ctl_manager_stop(m);
        return kn_error_wrap(err, "controller manager");
    }
    m->ctx.factory = kc_informer_factory_new(m->ctx.client);
    m->ctx.recorder = kn_ctl_recorder_new(m->ctx.client);
    if (start_all(m, err) < 0 || elect(m, o->data_dir, err) < 0) {
        kn_ctl_manager_stop(m);
        return kn_error_wrap(err, "controller manager");
    }
    size_t n = 0;
    for (size_t i = 0; i < NCONTROLLERS; i++)
        n += m->self[i] != NULL;
    KN_INFO("controller-manager", "started %zu controllers", n);
    *out = m;
    return 0;
}

void kn_ctl_manager_stop(kn_ctl_manager *m)
{
    if (!m)
        return;
    for (size_t i = m->started; i-- > 0;)
        if (m->self[i])
            controllers[i]->stop(m->self[i]);
    kc_leader_stop(m->leader); /* releases the Lease: a standby takes over at once */
    kc_informer_factory_free(m->ctx.factory);
    for (size_t i = NCONTROLLERS; i-- > 0;) {
        if (m->self[i])
            controllers[i]->destroy(m->self[i]);
    }
    kn_ctl_recorder_free(m->ctx.recorder);
    free(m->ctx.tun.cluster_cidr);
    kc_client_free(m->ctx.client);
    pthread_mutex_destroy(&m->ctx.lock);
    free(m);
}

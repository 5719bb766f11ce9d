#include "controlplane/resources.h"

#include <stdio.h>
#include <string.h>

#define NONE                                                                                       \
    {                                                                                              \
        NULL                                                                                       \
    }

static const kn_resource table[] = {
    {"",
     "v1",
     "namespaces",
     "namespace",
     "Namespace",
     false,
     true,
     {"ns", NULL},
     {"status", "finalize", NULL},
     false},
    {"",
     "v1",
     "pods",
     "pod",
     "Pod",
     true,
     true,
     {"po", NULL},
     {"status", "binding", "eviction", "log", "exec", "attach", "portforward", NULL},
     true},
    {"",
     "v1",
     "services",
     "service",
     "Service",
     true,
     true,
     {"svc", NULL},
     {"status", "proxy", NULL},
     true},
    {"", "v1", "endpoints", "endpoints", "Endpoints", true, false, {"ep", NULL}, NONE, false},
    {"", "v1", "configmaps", "configmap", "ConfigMap", true, false, {"cm", NULL}, NONE, false},
    {"", "v1", "secrets", "secret", "Secret", true, false, NONE, NONE, false},
    {"",
     "v1",
     "serviceaccounts",
     "serviceaccount",
     "ServiceAccount",
     true,
     false,
     {"sa", NULL},
     {"token", NULL},
     false},
    {"",
     "v1",
     "nodes",
     "node",
     "Node",
     false,
     true,
     {"no", NULL},
     {"status", "proxy", NULL},
     false},
    {"", "v1", "events", "event", "Event", true, false, {"ev", NULL}, NONE, false},
    {"apps",
     "v1",
     "deployments",
     "deployment",
     "Deployment",
     true,
     true,
     {"deploy", NULL},
     {"status", "scale", NULL},
     true},
    {"apps",
     "v1",
     "replicasets",
     "replicaset",
     "ReplicaSet",
     true,
     true,
     {"rs", NULL},
     {"status", "scale", NULL},
     true},
    {"apps",
     "v1",
     "statefulsets",
     "statefulset",
     "StatefulSet",
     true,
     true,
     {"sts", NULL},
     {"status", "scale", NULL},
     true},
    {"apps",
     "v1",
     "daemonsets",
     "daemonset",
     "DaemonSet",
     true,
     true,
     {"ds", NULL},
     {"status", NULL},
     true},
    {"apps", "v1", "controllerrevisions", "controllerrevision", "ControllerRevision", true, false,
     NONE, NONE, false},
    {"discovery.k8s.io", "v1", "endpointslices", "endpointslice", "EndpointSlice", true, false,
     NONE, NONE, false},
    {"coordination.k8s.io", "v1", "leases", "lease", "Lease", true, true, NONE, NONE, false},
    {"certificates.k8s.io",
     "v1",
     "certificatesigningrequests",
     "certificatesigningrequest",
     "CertificateSigningRequest",
     false,
     true,
     {"csr", NULL},
     {"status", "approval", NULL},
     false},
};

const kn_resource *kn_resource_find(const char *group, const char *version, const char *name)
{
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
        const kn_resource *r = &table[i];
        if (strcmp(r->group, group) == 0 && strcmp(r->version, version) == 0 &&
            strcmp(r->name, name) == 0)
            return r;
    }
    return NULL;
}

const kn_resource *kn_resource_by_kind(const char *group, const char *kind)
{
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
        if (strcmp(table[i].group, group) == 0 && strcmp(table[i].kind, kind) == 0)
            return &table[i];
    }
    return NULL;
}

size_t kn_resource_count(void)
{
    return sizeof(table) / sizeof(table[0]);
}

const kn_resource *kn_resource_at(size_t i)
{
    return i < kn_resource_count() ? &table[i] : NULL;
}

const char *kn_resource_api_version(const kn_resource *r, char *buf, size_t size)
{
    if (r->group[0])
        snprintf(buf, size, "%s/%s", r->group, r->version);
    else
        snprintf(buf, size, "%s", r->version);
    return buf;
}

bool kn_resource_has_sub(const kn_resource *r, const char *sub)
{
    for (size_t i = 0; r->subresources[i]; i++) {
        if (strcmp(r->subresources[i], sub) == 0)
            return true;
    }
    return false;
}

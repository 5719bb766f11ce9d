/* table.c - Table columns as upstream's printers define them for the kinds
 * operators look at most; other kinds get upstream's default (Name, Created
 * At). Priority-1 columns appear with `-o wide`. */
#include "controlplane/table.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "controlplane/objmeta.h"
#include "lib/json.h"
#include "lib/strbuf.h"
#include "lib/xalloc.h"

bool kn_table_wanted(const char *accept)
{
    return accept && strstr(accept, "as=Table") != NULL;
}

void kn_human_age(const char *ts, char *buf, size_t size)
{
    int64_t t = ts ? kn_rfc3339_parse(ts) : -1;
    if (t < 0) {
        snprintf(buf, size, "<unknown>");
        return;
    }
    long long d = (long long)time(NULL) - t / 1000000000;
    if (d < 0)
        d = 0;
    if (d < 120)
        snprintf(buf, size, "%llds", d);
    else if (d < 600)
        snprintf(buf, size, "%lldm%llds", d / 60, d % 60 ? d % 60 : 0);
    else if (d < 3 * 3600)
        snprintf(buf, size, "%lldm", d / 60);
    else if (d < 8 * 3600)
        snprintf(buf, size, "%lldh%lldm", d / 3600, (d % 3600) / 60);
    else if (d < 48 * 3600)
        snprintf(buf, size, "%lldh", d / 3600);
    else if (d < 8 * 86400)
        snprintf(buf, size, "%lldd%lldh", d / 86400, (d % 86400) / 3600);
    else
        snprintf(buf, size, "%lldd", d / 86400);
    /* upstream drops a zero second part: "5m" rather than "5m0s" */
    char *z = strstr(buf, "m0s");
    if (z)
        z[1] = '\0';
}

typedef struct column {
    const char *name, *type, *desc;
    int priority;
} column;

typedef void (*row_fn)(const cJSON *obj, cJSON *cells);

static const char *str_at(const cJSON *o, const char *path)
{
    const char *v = NULL;
    if (kn_json_get_string_opt(o, path, NULL, &v, NULL) < 0)
        return NULL;
    return v;
}

static void cell_str(cJSON *cells, const char *s)
{
    cJSON_AddItemToArray(cells, cJSON_CreateString(s && *s ? s : "<none>"));
}

static void cell_age(cJSON *cells, const cJSON *obj)
{
    char age[32];
    kn_human_age(kn_meta_str(obj, "creationTimestamp"), age, sizeof(age));
    cJSON_AddItemToArray(cells, cJSON_CreateString(age));
}

static void cell_int(cJSON *cells, const cJSON *o, const char *path)
{
    int64_t v = 0;
    kn_json_get_int64_opt(o, path, 0, &v, NULL);
    cJSON_AddItemToArray(cells, cJSON_CreateNumber((double)v));
}

/* ---- pods ----------------------------------------------------------------------- */

static const column pod_cols[] = {
    {"Name", "string", "Name must be unique within a namespace.", 0},
    {"Ready", "string", "The aggregate readiness state of this pod for accepting traffic.", 0},
    {"Status", "string", "The aggregate status of the containers in this pod.", 0},
    {"Restarts", "string", "The number of times the containers in this pod have been restarted.",
     0},
    {"Age", "string", "CreationTimestamp", 0},
    {"IP", "string", "IP address allocated to the pod.", 1},
    {"Node", "string", "Name of the Node this pod is scheduled on.", 1},
    {"Nominated Node", "string", "Name of the node nominated by the scheduler.", 1},
    {"Readiness Gates", "string", "Pod readiness gates.", 1},
    {NULL, NULL, NULL, 0},
};

/* The STATUS column: the reason of the first waiting/terminated container,
 * "Terminating" for a pod being deleted, else the phase. */
static const char *pod_status(const cJSON *pod)
{
    if (kn_meta_str(pod, "deletionTimestamp"))
        return "Terminating";
    const char *reason = str_at(pod, "status.reason");
    const cJSON *cs = NULL;
    kn_json_get_array_opt(pod, "status.containerStatuses", &cs, NULL);
    const cJSON *c;
    cJSON_ArrayForEach(c, cs)
    {
        const char *w = str_at(c, "state.waiting.reason");
        const char *t = str_at(c, "state.terminated.reason");
        if (w && *w)
            return w;
        if (t && *t)
            return t;
    }
    if (reason && *reason)
        return reason;
    const char *phase = str_at(pod, "status.phase");
    return phase ? phase : "Pending";
}

static void pod_row(const cJSON *pod, cJSON *cells)
{
    const cJSON *specs = NULL, *statuses = NULL, *c;
    kn_json_get_array_opt(pod, "spec.containers", &specs, NULL);
    kn_json_get_array_opt(pod, "status.containerStatuses", &statuses, NULL);
    int ready = 0;
    long long restarts = 0;
    cJSON_ArrayForEach(c, statuses)
    {
        bool r = false;
        int64_t n = 0;
        kn_json_get_bool_opt(c, "ready", false, &r, NULL);
        kn_json_get_int64_opt(c, "restartCount", 0, &n, NULL);
        ready += r;
        restarts += n;
    }
    char buf[64];
    cJSON_AddItemToArray(cells, cJSON_CreateString(kn_meta_str(pod, "name")));
    snprintf(buf, sizeof(buf), "%d/%d", ready, cJSON_GetArraySize(specs));
    cJSON_AddItemToArray(cells, cJSON_CreateString(buf));
    cJSON_AddItemToArray(cells, cJSON_CreateString(pod_status(pod)));
    snprintf(buf, sizeof(buf), "%lld", restarts);
    cJSON_AddItemToArray(cells, cJSON_CreateString(buf));
    cell_age(cells, pod);
    cell_str(cells, str_at(pod, "status.podIP"));
    cell_str(cells, str_at(pod, "spec.nodeName"));
    cell_str(cells, str_at(pod, "status.nominatedNodeName"));
    cell_str(cells, NULL);
}

/* ---- services --------------------------------------------------------------------- */

static const column svc_cols[] = {
    {"Name", "string", "Name must be unique within a namespace.", 0},
    {"Type", "string", "The type of service.", 0},
    {"Cluster-IP", "string", "The cluster IP of the service.", 0},
    {"External-IP", "string", "The external IP of the service.", 0},
    {"Port(s)", "string", "The ports of the service.", 0},
    {"Age", "string", "CreationTimestamp", 0},
    {"Selector", "string", "The selector of the service.", 1},
    {NULL, NULL, NULL, 0},
};

static char *join_map(const cJSON *map)
{
    kn_buf b;
    kn_buf_init(&b);
    const cJSON *e;
    cJSON_ArrayForEach(e, map)
    {
        if (cJSON_IsString(e))
            kn_buf_appendf(&b, "%s%s=%s", b.len ? "," : "", e->string, e->valuestring);
    }
    return kn_buf_steal(&b);
}

static void svc_row(const cJSON *svc, cJSON *cells)
{
    cJSON_AddItemToArray(cells, cJSON_CreateString(kn_meta_str(svc, "name")));
    cell_str(cells, str_at(svc, "spec.type"));
    cell_str(cells, str_at(svc, "spec.clusterIP"));
    const cJSON *eips = NULL;
    kn_json_get_array_opt(svc, "spec.externalIPs", &eips, NULL);
    const char *type = str_at(svc, "spec.type");
    cell_str(cells, cJSON_GetArraySize(eips) ? cJSON_GetArrayItem(eips, 0)->valuestring
                    : type && strcmp(type, "LoadBalancer") == 0 ? "<pending>"
                                                                : NULL);
    kn_buf ports;
    kn_buf_init(&ports);
    const cJSON *ps = NULL, *p;
    kn_json_get_array_opt(svc, "spec.ports", &ps, NULL);
    cJSON_ArrayForEach(p, ps)
    {
        int64_t port = 0, np = 0;
        const char *proto = str_at(p, "protocol");
        kn_json_get_int64_opt(p, "port", 0, &port, NULL);
        kn_json_get_int64_opt(p, "nodePort", 0, &np, NULL);
        kn_buf_appendf(&ports, "%s%lld", ports.len ? "," : "", (long long)port);
        if (np)
            kn_buf_appendf(&ports, ":%lld", (long long)np);
        kn_buf_appendf(&ports, "/%s", proto ? proto : "TCP");
    }
    cell_str(cells, ports.data);
    kn_buf_free(&ports);
    cell_age(cells, svc);
    const cJSON *sel = NULL;
    kn_json_get_object_opt(svc, "spec.selector", &sel, NULL);
    char *s = join_map(sel);
    cell_str(cells, s);
    free(s);
}

/* ---- workloads ------------------------------------------------------------------------ */

static const column deploy_cols[] = {
    {"Name", "string", "Name must be unique within a namespace.", 0},
    {"Ready", "string", "Number of the pod with ready state", 0},
    {"Up-to-date", "string",
     "Total number of non-terminated pods targeted by this deployment that have the desired "
     "template spec.",
     0},
    {"Available", "string",
     "Total number of available pods (ready for at least minReadySeconds) targeted by this "
     "deployment.",
     0},
    {"Age", "string", "CreationTimestamp", 0},
    {NULL, NULL, NULL, 0},
};

static void deploy_row(const cJSON *d, cJSON *cells)
{
    int64_t want = 0, ready = 0;
    kn_json_get_int64_opt(d, "spec.replicas", 0, &want, NULL);
    kn_json_get_int64_opt(d, "status.readyReplicas", 0, &ready, NULL);
    char buf[48];
    cJSON_AddItemToArray(cells, cJSON_CreateString(kn_meta_str(d, "name")));
    snprintf(buf, sizeof(buf), "%lld/%lld", (long long)ready, (long long)want);
    cJSON_AddItemToArray(cells, cJSON_CreateString(buf));
    cell_int(cells, d, "status.updatedReplicas");
    cell_int(cells, d, "status.availableReplicas");
    cell_age(cells, d);
}

static const column rs_cols[] = {
    {"Name", "string", "Name must be unique within a namespace.", 0},
    {"Desired", "integer", "Number of desired pods.", 0},
    {"Current", "integer", "Number of actually running pods.", 0},
    {"Ready", "integer", "Number of ready pods.", 0},
    {"Age", "string", "CreationTimestamp", 0},
    {NULL, NULL, NULL, 0},
};

static void rs_row(const cJSON *r, cJSON *cells)
{
    cJSON_AddItemToArray(cells, cJSON_CreateString(kn_meta_str(r, "name")));
    cell_int(cells, r, "spec.replicas");
    cell_int(cells, r, "status.replicas");
    cell_int(cells, r, "status.readyReplicas");
    cell_age(cells, r);
}

/* ---- nodes and namespaces ------------------------------------------------------------------ */

static const column node_cols[] = {
    {"Name", "string", "Name must be unique within a namespace.", 0},
    {"Status", "string", "The status of the node", 0},
    {"Roles", "string", "The roles of the node", 0},
    {"Age", "string", "CreationTimestamp", 0},
    {"Version", "string", "Kubelet Version reported by the node.", 0},
    {"Internal-IP", "string", "List of internal IPs.", 1},
    {NULL, NULL, NULL, 0},
};

static void node_row(const cJSON *n, cJSON *cells)
{
    const char *ready = "Unknown";
    const cJSON *conds = NULL, *c;
    kn_json_get_array_opt(n, "status.conditions", &conds, NULL);
    cJSON_ArrayForEach(c, conds)
    {
        const char *t = str_at(c, "type"), *st = str_at(c, "status");
        if (t && st && strcmp(t, "Ready") == 0)
            ready = strcmp(st, "True") == 0 ? "Ready" : "NotReady";
    }
    bool unsched = false;
    kn_json_get_bool_opt(n, "spec.unschedulable", false, &unsched, NULL);
    char status[64];
    snprintf(status, sizeof(status), "%s%s", ready, unsched ? ",SchedulingDisabled" : "");
    cJSON_AddItemToArray(cells, cJSON_CreateString(kn_meta_str(n, "name")));
    cJSON_AddItemToArray(cells, cJSON_CreateString(status));
    kn_buf roles;
    kn_buf_init(&roles);
    const cJSON *labels = NULL, *l;
    kn_json_get_object_opt(n, "metadata.labels", &labels, NULL);
    cJSON_ArrayForEach(l, labels)
    {
        if (strncmp(l->string, "node-role.kubernetes.io/", 24) == 0)
            kn_buf_appendf(&roles, "%s%s", roles.len ? "," : "", l->string + 24);
    }
    cell_str(cells, roles.data);
    kn_buf_free(&roles);
    cell_age(cells, n);
    cell_str(cells, str_at(n, "status.nodeInfo.kubeletVersion"));
    const cJSON *addrs = NULL, *a;
    const char *ip = NULL;
    kn_json_get_array_opt(n, "status.addresses", &addrs, NULL);
    cJSON_ArrayForEach(a, addrs)
    {
        const char *t = str_at(a, "type");
        if (!ip && t && strcmp(t, "InternalIP") == 0)
            ip = str_at(a, "address");
    }
    cell_str(cells, ip);
}

static const column ns_cols[] = {
    {"Name", "string", "Name must be unique within a namespace.", 0},
    {"Status", "string", "The status of the namespace", 0},
    {"Age", "string", "CreationTimestamp", 0},
    {NULL, NULL, NULL, 0},
};

static void ns_row(const cJSON *n, cJSON *cells)
{
    cJSON_AddItemToArray(cells, cJSON_CreateString(kn_meta_str(n, "name")));
    cell_str(cells, str_at(n, "status.phase"));
    cell_age(cells, n);
}

static const column data_cols[] = {
    {"Name", "string", "Name must be unique within a namespace.", 0},
    {"Data", "string", "Number of entries.", 0},
    {"Age", "string", "CreationTimestamp", 0},
    {NULL, NULL, NULL, 0},
};

static void data_row(const cJSON *o, cJSON *cells)
{
    const cJSON *d = NULL, *b = NULL;
    kn_json_get_object_opt(o, "data", &d, NULL);
    kn_json_get_object_opt(o, "binaryData", &b, NULL);
    cJSON_AddItemToArray(cells, cJSON_CreateString(kn_meta_str(o, "name")));
    cJSON_AddItemToArray(cells, cJSON_CreateNumber(cJSON_GetArraySize(d) + cJSON_GetArraySize(b)));
    cell_age(cells, o);
}

static const column default_cols[] = {
    {"Name", "string", "Name must be unique within a namespace.", 0},
    {"Created At", "date", "CreationTimestamp", 0},
    {NULL, NULL, NULL, 0},
};

static void default_row(const cJSON *o, cJSON *cells)
{
    cJSON_AddItemToArray(cells, cJSON_CreateString(kn_meta_str(o, "name")));
    const char *ts = kn_meta_str(o, "creationTimestamp");
    cJSON_AddItemToArray(cells, cJSON_CreateString(ts ? ts : ""));
}

typedef struct printer {
    const char *resource;
    const column *cols;
    row_fn row;
} printer;

static const printer printers[] = {
    {"pods", pod_cols, pod_row},
    {"services", svc_cols, svc_row},
    {"deployments", deploy_cols, deploy_row},
    {"replicasets", rs_cols, rs_row},
    {"nodes", node_cols, node_row},
    {"namespaces", ns_cols, ns_row},
    {"configmaps", data_cols, data_row},
    {"secrets", data_cols, data_row},
};

static const printer *printer_for(const kn_resource *r)
{
    static const printer def = {NULL, default_cols, default_row};
    for (size_t i = 0; i < sizeof(printers) / sizeof(printers[0]); i++) {
        if (strcmp(printers[i].resource, r->name) == 0)
            return &printers[i];
    }
    return &def;
}

static cJSON *partial_metadata(const cJSON *obj)
{
    cJSON *p = cJSON_CreateObject();
    cJSON_AddStringToObject(p, "kind", "PartialObjectMetadata");
    cJSON_AddStringToObject(p, "apiVersion", "meta.k8s.io/v1");
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
    cJSON_AddItemToObject(p, "metadata", m ? cJSON_Duplicate(m, 1) : cJSON_CreateObject());
    return p;
}

static cJSON *new_table(const printer *p, const char *rv)
{
    cJSON *t = cJSON_CreateObject();
    cJSON_AddStringToObject(t, "kind", "Table");
    cJSON_AddStringToObject(t, "apiVersion", "meta.k8s.io/v1");
    cJSON *m = cJSON_AddObjectToObject(t, "metadata");
    if (rv)
        cJSON_AddStringToObject(m, "resourceVersion", rv);
    cJSON *defs = cJSON_AddArrayToObject(t, "columnDefinitions");
    for (const column *c = p->cols; c->name; c++) {
        cJSON *d = cJSON_CreateObject();
        cJSON_AddStringToObject(d, "name", c->name);
        cJSON_AddStringToObject(d, "type", c->type);
        cJSON_AddStringToObject(d, "format", strcmp(c->name, "Name") == 0 ? "name" : "");
        cJSON_AddStringToObject(d, "description", c->desc);
        cJSON_AddNumberToObject(d, "priority", c->priority);
        cJSON_AddItemToArray(defs, d);
    }
    cJSON_AddArrayToObject(t, "rows");
    return t;
}

static void add_row(cJSON *table, const printer *p, const cJSON *obj)
{
    cJSON *row = cJSON_CreateObject();
    cJSON *cells = cJSON_AddArrayToObject(row, "cells");
    p->row(obj, cells);
    cJSON_AddItemToObject(row, "object", partial_metadata(obj));
    cJSON_AddItemToArray(cJSON_GetObjectItemCaseSensitive(table, "rows"), row);
}

cJSON *kn_table_from_list(const kn_resource *r, const cJSON *list)
{
    const printer *p = printer_for(r);
    const char *rv = NULL;
    kn_json_get_string_opt(list, "metadata.resourceVersion", NULL, &rv, NULL);
    cJSON *t = new_table(p, rv);
    const char *cont = NULL;
    kn_json_get_string_opt(list, "metadata.continue", NULL, &cont, NULL);
    if (cont)
        cJSON_AddStringToObject(cJSON_GetObjectItemCaseSensitive(t, "metadata"), "continue", cont);
    const cJSON *o;
    cJSON_ArrayForEach(o, cJSON_GetObjectItemCaseSensitive(list, "items")) add_row(t, p, o);
    return t;
}

cJSON *kn_table_from_object(const kn_resource *r, const cJSON *obj)
{
    const printer *p = printer_for(r);
    cJSON *t = new_table(p, kn_meta_str(obj, "resourceVersion"));
    add_row(t, p, obj);
    return t;
}

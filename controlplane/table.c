/* table.c - Table columns as upstream's printers define them for the kinds
 * operators look at most; other kinds get upstream's default (Name, Created
 * At). Priority-1 columns appear with `-o wide`. */
#include "controlplane/table.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "controlplane/objmeta.h"
#include "controlplane/table-internal.h"
#include "lib/json.h"
#include "lib/strbuf.h"
#include "lib/xalloc.h"

bool kn_table_wanted(const char *accept)
{
    return accept && strstr(accept, "as=Table") != NULL;
}

void kn_human_duration(int64_t d, char *buf, size_t size)
{
    if (d < -1) {
        snprintf(buf, size, "<invalid>");
        return;
    }
    long long m = d / 60, h = d / 3600, days = d / 86400;
    if (d < 0)
        snprintf(buf, size, "0s");
    else if (d < 120)
        snprintf(buf, size, "%llds", (long long)d);
    else if (m < 10 && d % 60)
        snprintf(buf, size, "%lldm%llds", m, (long long)(d % 60));
    else if (m < 3 * 60)
        snprintf(buf, size, "%lldm", m);
    else if (h < 8 && m % 60)
        snprintf(buf, size, "%lldh%lldm", h, m % 60);
    else if (h < 48)
        snprintf(buf, size, "%lldh", h);
    else if (h < 24 * 8 && h % 24)
        snprintf(buf, size, "%lldd%lldh", days, h % 24);
    else if (h < 24 * 365 * 2)
        snprintf(buf, size, "%lldd", days);
    else if (h < 24 * 365 * 8 && days % 365)
        snprintf(buf, size, "%lldy%lldd", days / 365, days % 365);
    else
        snprintf(buf, size, "%lldy", days / 365);
}

void kn_human_age(const char *ts, char *buf, size_t size)
{
    int64_t t = ts ? kn_rfc3339_parse(ts) : -1;
    if (t < 0) {
        snprintf(buf, size, "<unknown>");
        return;
    }
    kn_human_duration((int64_t)time(NULL) - t / 1000000000, buf, size);
}

typedef tbl_column column;
typedef tbl_printer printer;

const char *tbl_str_at(const cJSON *o, const char *path)
{
    const char *v = NULL;
    if (kn_json_get_string_opt(o, path, NULL, &v, NULL) < 0)
        return NULL;
    return v;
}

void tbl_cell_str(cJSON *cells, const char *s)
{
    cJSON_AddItemToArray(cells, cJSON_CreateString(s && *s ? s : "<none>"));
}

void tbl_cell_raw(cJSON *cells, const char *s)
{
    cJSON_AddItemToArray(cells, cJSON_CreateString(s ? s : ""));
}

void tbl_cell_age(cJSON *cells, const cJSON *obj)
{
    char age[32];
    kn_human_age(kn_meta_str(obj, "creationTimestamp"), age, sizeof(age));
    cJSON_AddItemToArray(cells, cJSON_CreateString(age));
}

void tbl_cell_int(cJSON *cells, const cJSON *o, const char *path)
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
    const char *reason = tbl_str_at(pod, "status.reason");
    const cJSON *cs = NULL;
    kn_json_get_array_opt(pod, "status.containerStatuses", &cs, NULL);
    const cJSON *c;
    cJSON_ArrayForEach(c, cs)
    {
        const char *w = tbl_str_at(c, "state.waiting.reason");
        const char *t = tbl_str_at(c, "state.terminated.reason");
        if (w && *w)
            return w;
        if (t && *t)
            return t;
    }
    if (reason && *reason)
        return reason;
    const char *phase = tbl_str_at(pod, "status.phase");
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
    tbl_cell_age(cells, pod);
    tbl_cell_str(cells, tbl_str_at(pod, "status.podIP"));
    tbl_cell_str(cells, tbl_str_at(pod, "spec.nodeName"));
    tbl_cell_str(cells, tbl_str_at(pod, "status.nominatedNodeName"));
    tbl_cell_str(cells, NULL);
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

char *tbl_join_map(const cJSON *map)
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
    tbl_cell_str(cells, tbl_str_at(svc, "spec.type"));
    tbl_cell_str(cells, tbl_str_at(svc, "spec.clusterIP"));
    const cJSON *eips = NULL;
    kn_json_get_array_opt(svc, "spec.externalIPs", &eips, NULL);
    const char *type = tbl_str_at(svc, "spec.type");
    tbl_cell_str(cells, cJSON_GetArraySize(eips) ? cJSON_GetArrayItem(eips, 0)->valuestring
                        : type && strcmp(type, "LoadBalancer") == 0 ? "<pending>"
                                                                    : NULL);
    kn_buf ports;
    kn_buf_init(&ports);
    const cJSON *ps = NULL, *p;
    kn_json_get_array_opt(svc, "spec.ports", &ps, NULL);
    cJSON_ArrayForEach(p, ps)
    {
        int64_t port = 0, np = 0;
        const char *proto = tbl_str_at(p, "protocol");
        kn_json_get_int64_opt(p, "port", 0, &port, NULL);
        kn_json_get_int64_opt(p, "nodePort", 0, &np, NULL);
        kn_buf_appendf(&ports, "%s%lld", ports.len ? "," : "", (long long)port);
        if (np)
            kn_buf_appendf(&ports, ":%lld", (long long)np);
        kn_buf_appendf(&ports, "/%s", proto ? proto : "TCP");
    }
    tbl_cell_str(cells, ports.data);
    kn_buf_free(&ports);
    tbl_cell_age(cells, svc);
    const cJSON *sel = NULL;
    kn_json_get_object_opt(svc, "spec.selector", &sel, NULL);
    char *s = tbl_join_map(sel);
    tbl_cell_str(cells, s);
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
    {"Containers", "string", "Names of each container in the template.", 1},
    {"Images", "string", "Images referenced by each container in the template.", 1},
    {"Selector", "string", "Label selector for pods.", 1},
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
    tbl_cell_int(cells, d, "status.updatedReplicas");
    tbl_cell_int(cells, d, "status.availableReplicas");
    tbl_cell_age(cells, d);
    tbl_cells_containers_images_selector(cells, d, "spec.selector");
}

static const column rs_cols[] = {
    {"Name", "string", "Name must be unique within a namespace.", 0},
    {"Desired", "integer", "Number of desired pods.", 0},
    {"Current", "integer", "Number of actually running pods.", 0},
    {"Ready", "integer", "Number of ready pods.", 0},
    {"Age", "string", "CreationTimestamp", 0},
    {"Containers", "string", "Names of each container in the template.", 1},
    {"Images", "string", "Images referenced by each container in the template.", 1},
    {"Selector", "string", "Label selector for pods.", 1},
    {NULL, NULL, NULL, 0},
};

static void rs_row(const cJSON *r, cJSON *cells)
{
    cJSON_AddItemToArray(cells, cJSON_CreateString(kn_meta_str(r, "name")));
    tbl_cell_int(cells, r, "spec.replicas");
    tbl_cell_int(cells, r, "status.replicas");
    tbl_cell_int(cells, r, "status.readyReplicas");
    tbl_cell_age(cells, r);
    tbl_cells_containers_images_selector(cells, r, "spec.selector");
}

/* ---- nodes and namespaces ------------------------------------------------------------------ */

static const column node_cols[] = {
    {"Name", "string", "Name must be unique within a namespace.", 0},
    {"Status", "string", "The status of the node", 0},
    {"Roles", "string", "The roles of the node", 0},
    {"Age", "string", "CreationTimestamp", 0},
    {"Version", "string", "Kubelet Version reported by the node.", 0},
    {"Internal-IP", "string", "List of internal IPs.", 1},
    {"External-IP", "string", "List of external IPs.", 1},
    {"OS-Image", "string", "OS image reported by the node.", 1},
    {"Kernel-Version", "string", "Kernel version reported by the node.", 1},
    {"Container-Runtime", "string", "Container runtime reported by the node.", 1},
    {NULL, NULL, NULL, 0},
};

/* The first address of a type, or NULL. */
static const char *node_address(const cJSON *n, const char *type)
{
    const cJSON *addrs = NULL, *a;
    kn_json_get_array_opt(n, "status.addresses", &addrs, NULL);
    cJSON_ArrayForEach(a, addrs)
    {
        const char *t = tbl_str_at(a, "type");
        if (t && strcmp(t, type) == 0)
            return tbl_str_at(a, "address");
    }
    return NULL;
}

static void node_row(const cJSON *n, cJSON *cells)
{
    const char *ready = "Unknown";
    const cJSON *conds = NULL, *c;
    kn_json_get_array_opt(n, "status.conditions", &conds, NULL);
    cJSON_ArrayForEach(c, conds)
    {
        const char *t = tbl_str_at(c, "type"), *st = tbl_str_at(c, "status");
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
    tbl_cell_str(cells, roles.data);
    kn_buf_free(&roles);
    tbl_cell_age(cells, n);
    tbl_cell_str(cells, tbl_str_at(n, "status.nodeInfo.kubeletVersion"));
    tbl_cell_str(cells, node_address(n, "InternalIP"));
    tbl_cell_str(cells, node_address(n, "ExternalIP"));
    static const char *const info[] = {"osImage", "kernelVersion", "containerRuntimeVersion"};
    for (size_t i = 0; i < 3; i++) {
        const cJSON *ni = NULL;
        kn_json_get_object_opt(n, "status.nodeInfo", &ni, NULL);
        const char *v = tbl_str_at(ni, info[i]);
        tbl_cell_raw(cells, v && *v ? v : "<unknown>");
    }
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
    tbl_cell_str(cells, tbl_str_at(n, "status.phase"));
    tbl_cell_age(cells, n);
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
    tbl_cell_age(cells, o);
}

static const column secret_cols[] = {
    {"Name", "string", "Name must be unique within a namespace.", 0},
    {"Type", "string", "The type of the secret", 0},
    {"Data", "string", "The number of entries in the secret", 0},
    {"Age", "string", "CreationTimestamp", 0},
    {NULL, NULL, NULL, 0},
};

static void secret_row(const cJSON *o, cJSON *cells)
{
    const cJSON *d = NULL;
    kn_json_get_object_opt(o, "data", &d, NULL);
    cJSON_AddItemToArray(cells, cJSON_CreateString(kn_meta_str(o, "name")));
    tbl_cell_raw(cells, tbl_str_at(o, "type"));
    cJSON_AddItemToArray(cells, cJSON_CreateNumber(cJSON_GetArraySize(d)));
    tbl_cell_age(cells, o);
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

static const printer printers[] = {
    {"pods", pod_cols, pod_row},
    {"services", svc_cols, svc_row},
    {"deployments", deploy_cols, deploy_row},
    {"replicasets", rs_cols, rs_row},
    {"nodes", node_cols, node_row},
    {"namespaces", ns_cols, ns_row},
    {"configmaps", data_cols, data_row},
    {"secrets", secret_cols, secret_row},
};

static const printer *printer_for(const kn_resource *r)
{
    static const printer def = {NULL, default_cols, default_row};
    const printer *more = tbl_kinds_printer(r->name);
    if (more)
        return more;
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

/* "k=v,k2=v2,key in (a,b)" of a LabelSelector (matchLabels, then
 * expressions), "" for none (owned). */
static char *selector_string(const cJSON *sel)
{
    char *labels = tbl_join_map(cJSON_GetObjectItemCaseSensitive(sel, "matchLabels"));
    kn_buf b;
    kn_buf_init(&b);
    kn_buf_append_str(&b, labels);
    free(labels);
    const cJSON *e;
    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(sel, "matchExpressions"))
    {
        const char *key = tbl_str_at(e, "key"), *op = tbl_str_at(e, "operator");
        if (!key || !op)
            continue;
        kn_buf_append_str(&b, b.len ? "," : "");
        if (strcmp(op, "Exists") == 0 || strcmp(op, "DoesNotExist") == 0) {
            kn_buf_appendf(&b, "%s%s", *op == 'D' ? "!" : "", key);
            continue;
        }
        kn_buf_appendf(&b, "%s %s (", key, strcmp(op, "In") == 0 ? "in" : "notin");
        const cJSON *v;
        size_t len = b.len;
        cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(e, "values"))
        {
            kn_buf_appendf(&b, "%s%s", b.len > len ? "," : "",
                           cJSON_IsString(v) ? v->valuestring : "");
        }
        kn_buf_append_char(&b, ')');
    }
    return kn_buf_steal(&b);
}

void tbl_cells_containers_images_selector(cJSON *cells, const cJSON *obj, const char *sel_path)
{
    const cJSON *cs = NULL, *c;
    kn_json_get_array_opt(obj, "spec.template.spec.containers", &cs, NULL);
    kn_buf names, images;
    kn_buf_init(&names);
    kn_buf_init(&images);
    cJSON_ArrayForEach(c, cs)
    {
        const char *n = tbl_str_at(c, "name"), *i = tbl_str_at(c, "image");
        kn_buf_appendf(&names, "%s%s", names.len ? "," : "", n ? n : "");
        kn_buf_appendf(&images, "%s%s", images.len ? "," : "", i ? i : "");
    }
    tbl_cell_raw(cells, names.data ? names.data : "");
    tbl_cell_raw(cells, images.data ? images.data : "");
    kn_buf_free(&names);
    kn_buf_free(&images);
    if (!sel_path)
        return;
    const cJSON *sel = NULL;
    kn_json_get_object_opt(obj, sel_path, &sel, NULL);
    char *s = selector_string(sel);
    tbl_cell_str(cells, s);
    free(s);
}

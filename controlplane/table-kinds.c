/* table-kinds.c - upstream's printers (pkg/printers/internalversion) for
 * events, certificate signing requests, statefulsets, daemonsets,
 * endpoints, endpointslices, serviceaccounts, leases and
 * controllerrevisions. The server always fills every column (upstream's
 * TableConvertor prints with Wide); kubectl hides priority-1 columns unless
 * `-o wide`. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controlplane/objmeta.h"
#include "controlplane/table-internal.h"
#include "controlplane/table.h"
#include "lib/json.h"
#include "lib/strbuf.h"

#define NAME_COL                                                                                   \
    {                                                                                              \
        "Name", "string", "Name must be unique within a namespace.", 0                             \
    }
#define AGE_COL                                                                                    \
    {                                                                                              \
        "Age", "string", "CreationTimestamp", 0                                                    \
    }
#define END_COL                                                                                    \
    {                                                                                              \
        NULL, NULL, NULL, 0                                                                        \
    }
#define WIDE_WORKLOAD_COLS                                                                         \
    {"Containers", "string", "Names of each container in the template.", 1},                       \
    {                                                                                              \
        "Images", "string", "Images referenced by each container in the template.", 1              \
    }

static void cell_name(cJSON *cells, const cJSON *o)
{
    tbl_cell_raw(cells, kn_meta_str(o, "name"));
}

/* "3m" since an RFC 3339 time, "<unknown>" when unset. */
static void since(const char *ts, char *buf, size_t size)
{
    kn_human_age(ts && *ts ? ts : NULL, buf, size);
}

/* ---- events ------------------------------------------------------------------------- */

static const tbl_column event_cols[] = {
    {"Last Seen", "string",
     "The time at which the most recent occurrence of this event was recorded.", 0},
    {"Type", "string",
     "Type of this event (Normal, Warning), new types could be added in the future", 0},
    {"Reason", "string",
     "This should be a short, machine understandable string that gives the reason for the "
     "transition into the object's current status.",
     0},
    {"Object", "string", "The object that this event is about.", 0},
    {"Subobject", "string",
     "If referring to a piece of an object instead of an entire object, this string should contain "
     "a valid JSON/Go field access statement.",
     1},
    {"Source", "string", "The component reporting this event.", 1},
    {"Message", "string", "A human-readable description of the status of this operation.", 0},
    {"First Seen", "string", "The time at which the event was first recorded.", 1},
    {"Count", "string", "The number of times this event has occurred.", 1},
    {"Name", "string", "Name must be unique within a namespace.", 1},
    END_COL,
};

/* "component, host" with the reporting controller/instance as fallbacks. */
static void cell_event_source(cJSON *cells, const cJSON *e)
{
    const char *comp = tbl_str_at(e, "source.component"), *host = tbl_str_at(e, "source.host");
    if (!comp || !*comp)
        comp = tbl_str_at(e, "reportingComponent");
    if (!host || !*host)
        host = tbl_str_at(e, "reportingInstance");
    kn_buf b;
    kn_buf_init(&b);
    if (host && *host)
        kn_buf_appendf(&b, "%s, %s", comp ? comp : "", host);
    else if (comp)
        kn_buf_append_str(&b, comp);
    tbl_cell_raw(cells, b.data ? b.data : "");
    kn_buf_free(&b);
}

/* kind lower-cased / name, or the kind alone */
static void cell_event_object(cJSON *cells, const cJSON *e)
{
    const char *kind = tbl_str_at(e, "involvedObject.kind"),
               *name = tbl_str_at(e, "involvedObject.name");
    kn_buf b;
    kn_buf_init(&b);
    for (const char *k = kind ? kind : ""; *k; k++)
        kn_buf_append_char(&b, (char)tolower((unsigned char)*k));
    if (name && *name)
        kn_buf_appendf(&b, "/%s", name);
    tbl_cell_raw(cells, b.data ? b.data : "");
    kn_buf_free(&b);
}

static void event_row(const cJSON *e, cJSON *cells)
{
    char first[32], last[32];
    const char *ft = tbl_str_at(e, "firstTimestamp"), *lt = tbl_str_at(e, "lastTimestamp");
    since(ft && *ft ? ft : tbl_str_at(e, "eventTime"), first, sizeof(first));
    if (lt && *lt)
        since(lt, last, sizeof(last));
    else
        snprintf(last, sizeof(last), "%s", first);
    int64_t count = 0;
    kn_json_get_int64_opt(e, "count", 0, &count, NULL);
    const cJSON *series = cJSON_GetObjectItemCaseSensitive(e, "series");
    if (cJSON_IsObject(series)) {
        since(tbl_str_at(series, "lastObservedTime"), last, sizeof(last));
        kn_json_get_int64_opt(series, "count", 0, &count, NULL);
    } else if (count == 0) {
        count = 1;
    }
    tbl_cell_raw(cells, last);
    tbl_cell_raw(cells, tbl_str_at(e, "type"));
    tbl_cell_raw(cells, tbl_str_at(e, "reason"));
    cell_event_object(cells, e);
    tbl_cell_raw(cells, tbl_str_at(e, "involvedObject.fieldPath"));
    cell_event_source(cells, e);
    const char *msg = tbl_str_at(e, "message");
    char *trimmed = strdup(msg ? msg + strspn(msg, " \t\n\r") : "");
    for (size_t n = strlen(trimmed); n && isspace((unsigned char)trimmed[n - 1]); n--)
        trimmed[n - 1] = '\0';
    tbl_cell_raw(cells, trimmed);
    free(trimmed);
    tbl_cell_raw(cells, first);
    cJSON_AddItemToArray(cells, cJSON_CreateNumber((double)count));
    cell_name(cells, e);
}

/* ---- certificate signing requests ---------------------------------------------------- */

static const tbl_column csr_cols[] = {
    NAME_COL,
    AGE_COL,
    {"SignerName", "string", "signerName indicates the requested signer.", 0},
    {"Requestor", "string", "Information about the requesting user.", 0},
    {"RequestedDuration", "string",
     "expirationSeconds is the requested duration of validity of the issued certificate.", 0},
    {"Condition", "string", "Conditions applied to the request.", 0},
    END_COL,
};

/* Denied/Approved/Pending, then ",Failed" and ",Issued" (extractCSRStatus). */
static void cell_csr_condition(cJSON *cells, const cJSON *csr)
{
    bool approved = false, denied = false, failed = false;
    const cJSON *conds = NULL, *c;
    kn_json_get_array_opt(csr, "status.conditions", &conds, NULL);
    cJSON_ArrayForEach(c, conds)
    {
        const char *t = tbl_str_at(c, "type");
        approved = approved || (t && strcmp(t, "Approved") == 0);
        denied = denied || (t && strcmp(t, "Denied") == 0);
        failed = failed || (t && strcmp(t, "Failed") == 0);
    }
    const char *cert = tbl_str_at(csr, "status.certificate");
    char buf[64];
    snprintf(buf, sizeof(buf), "%s%s%s",
             denied     ? "Denied"
             : approved ? "Approved"
                        : "Pending",
             failed ? ",Failed" : "", cert && *cert ? ",Issued" : "");
    tbl_cell_raw(cells, buf);
}

static void csr_row(const cJSON *csr, cJSON *cells)
{
    cell_name(cells, csr);
    tbl_cell_age(cells, csr);
    tbl_cell_str(cells, tbl_str_at(csr, "spec.signerName"));
    tbl_cell_raw(cells, tbl_str_at(csr, "spec.username"));
    int64_t exp = -1;
    kn_json_get_int64_opt(csr, "spec.expirationSeconds", -1, &exp, NULL);
    if (exp >= 0) {
        char buf[32];
        kn_human_duration(exp, buf, sizeof(buf));
        tbl_cell_raw(cells, buf);
    } else {
        tbl_cell_raw(cells, "<none>");
    }
    cell_csr_condition(cells, csr);
}

/* ---- statefulsets and daemonsets -------------------------------------------------------- */

static const tbl_column sts_cols[] = {
    NAME_COL, {"Ready", "string", "Number of the pod with ready state", 0},
    AGE_COL,  WIDE_WORKLOAD_COLS,
    END_COL,
};

static void sts_row(const cJSON *s, cJSON *cells)
{
    int64_t want = 0, ready = 0;
    kn_json_get_int64_opt(s, "spec.replicas", 0, &want, NULL);
    kn_json_get_int64_opt(s, "status.readyReplicas", 0, &ready, NULL);
    char buf[48];
    snprintf(buf, sizeof(buf), "%lld/%lld", (long long)ready, (long long)want);
    cell_name(cells, s);
    tbl_cell_raw(cells, buf);
    tbl_cell_age(cells, s);
    tbl_cells_containers_images_selector(cells, s, NULL);
}

static const tbl_column ds_cols[] = {
    NAME_COL,
    {"Desired", "integer", "The total number of nodes that should be running the daemon pod.", 0},
    {"Current", "integer",
     "The number of nodes that are running at least 1 daemon pod and are supposed to run the "
     "daemon pod.",
     0},
    {"Ready", "integer",
     "numberReady is the number of nodes that should be running the daemon pod and have one or "
     "more of the daemon pod running and ready.",
     0},
    {"Up-to-date", "integer", "The total number of nodes that are running updated daemon pod", 0},
    {"Available", "integer",
     "The number of nodes that should be running the daemon pod and have one or more of the daemon "
     "pod running and available.",
     0},
    {"Node Selector", "string",
     "NodeSelector is a selector which must be true for the pod to fit on a node.", 0},
    AGE_COL,
    WIDE_WORKLOAD_COLS,
    {"Selector", "string", "A label query over pods that are managed by the daemon set.", 1},
    END_COL,
};

static void ds_row(const cJSON *d, cJSON *cells)
{
    cell_name(cells, d);
    tbl_cell_int(cells, d, "status.desiredNumberScheduled");
    tbl_cell_int(cells, d, "status.currentNumberScheduled");
    tbl_cell_int(cells, d, "status.numberReady");
    tbl_cell_int(cells, d, "status.updatedNumberScheduled");
    tbl_cell_int(cells, d, "status.numberAvailable");
    const cJSON *sel = NULL;
    kn_json_get_object_opt(d, "spec.template.spec.nodeSelector", &sel, NULL);
    char *s = tbl_join_map(sel);
    tbl_cell_str(cells, s);
    free(s);
    tbl_cell_age(cells, d);
    tbl_cells_containers_images_selector(cells, d, "spec.selector");
}

/* ---- endpoints and endpointslices ----------------------------------------------------------- */

static const tbl_column ep_cols[] = {
    NAME_COL,
    {"Endpoints", "string", "Endpoints is the list of endpoints in the service.", 0},
    AGE_COL,
    END_COL,
};

/* Up to 3 entries, then " + N more..." */
typedef struct shortlist {
    kn_buf b;
    int shown, count;
} shortlist;

static void shortlist_add(shortlist *l, const char *s)
{
    if (l->shown < 3) {
        kn_buf_appendf(&l->b, "%s%s", l->shown ? "," : "", s);
        l->shown++;
    }
    l->count++;
}

static void shortlist_cell(cJSON *cells, shortlist *l, const char *empty)
{
    if (l->count > 3)
        kn_buf_appendf(&l->b, " + %d more...", l->count - 3);
    tbl_cell_raw(cells, l->b.data && *l->b.data ? l->b.data : empty);
    kn_buf_free(&l->b);
}

static void ep_row(const cJSON *ep, cJSON *cells)
{
    cell_name(cells, ep);
    const cJSON *subsets = NULL, *ss;
    kn_json_get_array_opt(ep, "subsets", &subsets, NULL);
    shortlist l = {0};
    kn_buf_init(&l.b);
    cJSON_ArrayForEach(ss, subsets)
    {
        const cJSON *addrs = cJSON_GetObjectItemCaseSensitive(ss, "addresses");
        const cJSON *ports = cJSON_GetObjectItemCaseSensitive(ss, "ports"), *p, *a;
        if (!cJSON_GetArraySize(ports)) {
            cJSON_ArrayForEach(a, addrs) shortlist_add(&l, tbl_str_at(a, "ip"));
            continue;
        }
        cJSON_ArrayForEach(p, ports)
        {
            int64_t port = 0;
            kn_json_get_int64_opt(p, "port", 0, &port, NULL);
            cJSON_ArrayForEach(a, addrs)
            {
                const char *ip = tbl_str_at(a, "ip");
                char hp[80];
                snprintf(hp, sizeof(hp), strchr(ip ? ip : "", ':') ? "[%s]:%lld" : "%s:%lld",
                         ip ? ip : "", (long long)port);
                shortlist_add(&l, hp);
            }
        }
    }
    shortlist_cell(cells, &l, cJSON_GetArraySize(subsets) ? "" : "<none>");
    tbl_cell_age(cells, ep);
}

static const tbl_column eps_cols[] = {
    NAME_COL,
    {"AddressType", "string", "Type of address carried by this EndpointSlice.", 0},
    {"Ports", "string", "Ports of the endpoints.", 0},
    {"Endpoints", "string", "Endpoints in this slice.", 0},
    AGE_COL,
    END_COL,
};

static void eps_row(const cJSON *s, cJSON *cells)
{
    cell_name(cells, s);
    tbl_cell_raw(cells, tbl_str_at(s, "addressType"));
    shortlist ports = {0}, eps = {0};
    kn_buf_init(&ports.b);
    kn_buf_init(&eps.b);
    const cJSON *list = NULL, *p, *e, *a;
    kn_json_get_array_opt(s, "ports", &list, NULL);
    cJSON_ArrayForEach(p, list)
    {
        const cJSON *port = cJSON_GetObjectItemCaseSensitive(p, "port");
        const char *name = tbl_str_at(p, "name");
        char buf[32];
        snprintf(buf, sizeof(buf), "%s", name ? name : "*");
        if (cJSON_IsNumber(port))
            snprintf(buf, sizeof(buf), "%d", port->valueint);
        shortlist_add(&ports, buf);
    }
    shortlist_cell(cells, &ports, "<unset>");
    kn_json_get_array_opt(s, "endpoints", &list, NULL);
    cJSON_ArrayForEach(e, list)
    {
        cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(e, "addresses"))
        {
            if (cJSON_IsString(a))
                shortlist_add(&eps, a->valuestring);
        }
    }
    shortlist_cell(cells, &eps, "<unset>");
    tbl_cell_age(cells, s);
}

/* ---- serviceaccounts, leases, controllerrevisions -------------------------------------------- */

static const tbl_column sa_cols[] = {
    NAME_COL,
    {"Secrets", "string",
     "Secrets is a list of the secrets in the same namespace that pods running using this "
     "ServiceAccount are allowed to use.",
     0},
    AGE_COL,
    END_COL,
};

static void sa_row(const cJSON *sa, cJSON *cells)
{
    const cJSON *secrets = NULL;
    kn_json_get_array_opt(sa, "secrets", &secrets, NULL);
    cell_name(cells, sa);
    cJSON_AddItemToArray(cells, cJSON_CreateNumber(cJSON_GetArraySize(secrets)));
    tbl_cell_age(cells, sa);
}

static const tbl_column lease_cols[] = {
    NAME_COL,
    {"Holder", "string", "holderIdentity contains the identity of the holder of a current lease.",
     0},
    AGE_COL,
    END_COL,
};

static void lease_row(const cJSON *l, cJSON *cells)
{
    cell_name(cells, l);
    tbl_cell_raw(cells, tbl_str_at(l, "spec.holderIdentity"));
    tbl_cell_age(cells, l);
}

static const tbl_column cr_cols[] = {
    NAME_COL,
    {"Controller", "string", "Controller of the object.", 0},
    {"Revision", "string", "Revision indicates the revision of the state represented by Data.", 0},
    AGE_COL,
    END_COL,
};

/* "daemonset.apps/name" of the controller owner reference, "<none>". */
static void cell_controller(cJSON *cells, const cJSON *o)
{
    const cJSON *refs = NULL, *r;
    kn_json_get_array_opt(o, "metadata.ownerReferences", &refs, NULL);
    cJSON_ArrayForEach(r, refs)
    {
        bool ctl = false;
        kn_json_get_bool_opt(r, "controller", false, &ctl, NULL);
        if (!ctl)
            continue;
        const char *av = tbl_str_at(r, "apiVersion"), *kind = tbl_str_at(r, "kind");
        const char *slash = av ? strchr(av, '/') : NULL;
        kn_buf b;
        kn_buf_init(&b);
        for (const char *k = kind ? kind : ""; *k; k++)
            kn_buf_append_char(&b, (char)tolower((unsigned char)*k));
        if (slash)
            kn_buf_appendf(&b, ".%.*s", (int)(slash - av), av);
        kn_buf_appendf(&b, "/%s", tbl_str_at(r, "name") ? tbl_str_at(r, "name") : "");
        tbl_cell_raw(cells, b.data);
        kn_buf_free(&b);
        return;
    }
    tbl_cell_raw(cells, "<none>");
}

static void cr_row(const cJSON *cr, cJSON *cells)
{
    cell_name(cells, cr);
    cell_controller(cells, cr);
    tbl_cell_int(cells, cr, "revision");
    tbl_cell_age(cells, cr);
}

static const tbl_printer printers[] = {
    {"events", event_cols, event_row},        {"certificatesigningrequests", csr_cols, csr_row},
    {"statefulsets", sts_cols, sts_row},      {"daemonsets", ds_cols, ds_row},
    {"endpoints", ep_cols, ep_row},           {"endpointslices", eps_cols, eps_row},
    {"serviceaccounts", sa_cols, sa_row},     {"leases", lease_cols, lease_row},
    {"controllerrevisions", cr_cols, cr_row},
};

const tbl_printer *tbl_kinds_printer(const char *resource)
{
    for (size_t i = 0; i < sizeof(printers) / sizeof(printers[0]); i++) {
        if (strcmp(printers[i].resource, resource) == 0)
            return &printers[i];
    }
    return NULL;
}

/* rest.h - the REST verbs of the Kubernetes API on a shared transport.
 *
 * A kc_client is what every component holds (client-go's rest client plus
 * the dynamic client): one per API server and identity, thread-safe, with a
 * client-side token bucket (default 50 QPS, burst 100: kubelet's defaults)
 * taken before every attempt, and retries of
 *   - 429, and any 5xx carrying Retry-After: after Retry-After (capped),
 *   - 502/503/504 without it, and connection failures, on GET: with backoff,
 * up to max_retries. Non-2xx answers become errors from their Status body
 * (status.h): 409 Conflict on update is KN_ECONFLICT so callers re-read and
 * retry, AlreadyExists on create KN_EEXIST, 410 Gone/Expired KN_EGONE.
 *
 * Objects go in and come out as cJSON trees; outputs are new trees owned by
 * the caller (pass NULL to discard). Resources are named by group, version
 * and plural resource, e.g. {"apps", "v1", "deployments", true}. */
#ifndef KNODE_API_CLIENT_REST_H
#define KNODE_API_CLIENT_REST_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

#include "api-client/kubeconfig.h"
#include "api-client/transport.h"
#include "lib/clock.h"
#include "lib/error.h"
#include "lib/strbuf.h"

typedef struct kc_client kc_client;

typedef struct kc_client_options {
    double qps;                 /* 0: 50; INFINITY: no client-side limit */
    int burst;                  /* 0: 100 */
    int64_t timeout_ns;         /* per request attempt; 0: 60 s; < 0: none */
    int64_t connect_timeout_ns; /* 0: 30 s */
    int max_retries;            /* 0: 10; < 0: never retry */
    int64_t max_retry_wait_ns;  /* cap on one wait between attempts; 0: 30 s */
    int64_t retry_base_ns;      /* first backoff without Retry-After; 0: 250 ms */
    size_t max_response;        /* largest body read; 0: 1 GiB */
    const char *user_agent;     /* NULL: kn_user_agent() */
    bool http1_only;            /* see kc_transport_options */
    kn_clock *clock;            /* rate limit and retry waits; NULL: monotonic */
} kc_client_options;

/* A client for cfg (copied). opts may be NULL for the defaults. */
int kc_client_new(const kc_config *cfg, const kc_client_options *opts, kc_client **out,
                  kn_error **err);

/* Frees the client; every stream it opened must be closed. NULL is ignored. */
void kc_client_free(kc_client *c);

/* The transport and configuration in use (owned by the client). */
kc_transport *kc_client_transport(kc_client *c);
kc_config *kc_client_config(kc_client *c);

/* ---- resources and paths ---------------------------------------------------------- */

typedef struct kc_resource {
    const char *group;    /* "" for the core API */
    const char *version;  /* "v1" */
    const char *resource; /* plural, lower case: "pods" */
    bool namespaced;
} kc_resource;

extern const kc_resource kc_res_pods, kc_res_nodes, kc_res_namespaces, kc_res_services,
    kc_res_endpoints, kc_res_endpointslices, kc_res_configmaps, kc_res_secrets,
    kc_res_serviceaccounts, kc_res_events, kc_res_leases, kc_res_csrs;

/* Appends "/api/v1[/namespaces/NS]/RES[/NAME[/SUB]]" (or "/apis/G/V/..."),
 * escaping each segment. ns is ignored for cluster-scoped resources; NULL
 * or "" for a namespaced one lists across all namespaces. */
void kc_resource_path(kn_buf *out, const kc_resource *r, const char *ns, const char *name,
                      const char *subresource);

/* ---- requests -------------------------------------------------------------------------- */

/* One request with rate limiting, retries and Status decoding: returns 0 with
 * a 2xx response in *resp (release with kc_response_clear), or an error. */
int kc_client_request(kc_client *c, const kc_request *req, kc_response *resp, kn_error **err);

/* The same for a streamed answer (watch, logs): returns once a 2xx answer's
 * headers arrived; the body is read from *out (close with kc_stream_close). */
int kc_client_stream(kc_client *c, const kc_request *req, kc_stream **out, kn_error **err);

typedef struct kc_list_options {
    const char *label_selector;         /* "app=web,tier!=db" or NULL */
    const char *field_selector;         /* "spec.nodeName=n1" or NULL */
    int64_t limit;                      /* page size; 0: none (kc_list_all: 500) */
    const char *continue_token;         /* from the previous page's metadata.continue */
    const char *resource_version;       /* NULL, "0", or a version */
    const char *resource_version_match; /* NULL, "Exact", "NotOlderThan" */
    int64_t timeout_seconds;            /* watch: server-side end; 0: unset */
    bool allow_watch_bookmarks;         /* watch: ask for BOOKMARK events */
} kc_list_options;

/* Appends the query string ("?a=b&c=d", or nothing) for o; watch adds
 * watch=true and the watch-only parameters. */
void kc_list_query(kn_buf *out, const kc_list_options *o, bool watch);

/* GET one object. */
int kc_get(kc_client *c, const kc_resource *r, const char *ns, const char *name, cJSON **out,
           kn_error **err);

/* GET one page of a list (a *List object with items and metadata.continue). */
int kc_list(kc_client *c, const kc_resource *r, const char *ns, const kc_list_options *o,
            cJSON **out, kn_error **err);

/* Lists every page (o->limit or 500 per page) and returns one list holding
 * all items, with the first page's metadata.resourceVersion and no continue.
 * If a continue token expires (410), lists again in one unpaged request, as
 * client-go's pager does. */
int kc_list_all(kc_client *c, const kc_resource *r, const char *ns, const kc_list_options *o,
                cJSON **out, kn_error **err);

/* One page of a list as kc_list_pages hands it over: the parsed metadata
 * and the raw text of the items array (NULL when there is none), valid
 * during the call. Items are not parsed: a caller keeping a compact form of
 * each never holds a whole page's tree (kc_scan_array walks the items). */
typedef struct kc_page {
    const cJSON *metadata;
    const char *items;
    size_t items_len;
    const char *body; /* the whole page */
    size_t len;
} kc_page;

/* Receives each page; page NULL: a continue token expired, forget the pages
 * received so far (the whole list follows again, in one page). Return < 0
 * (with *err set) to stop. */
typedef int (*kc_page_fn)(void *ud, const kc_page *page, kn_error **err);

/* Lists page by page like kc_list_all, handing each page to on_page. */
int kc_list_pages(kc_client *c, const kc_resource *r, const char *ns, const kc_list_options *o,
                  kc_page_fn on_page, void *ud, kn_error **err);

/* POST a new object into the collection. AlreadyExists -> KN_EEXIST. */
int kc_create(kc_client *c, const kc_resource *r, const char *ns, const cJSON *obj, cJSON **out,
              kn_error **err);

/* PUT obj (named by its metadata.name; namespace from ns or metadata) to the
 * object, or to its subresource (e.g. "status") when subresource is not NULL.
 * A stale metadata.resourceVersion -> KN_ECONFLICT. */
int kc_update(kc_client *c, const kc_resource *r, const char *ns, const char *subresource,
              const cJSON *obj, cJSON **out, kn_error **err);

typedef enum kc_patch_type {
    KC_PATCH_MERGE,     /* application/merge-patch+json (RFC 7386) */
    KC_PATCH_STRATEGIC, /* application/strategic-merge-patch+json */
    KC_PATCH_JSON,      /* application/json-patch+json (RFC 6902) */
} kc_patch_type;

/* PATCH the object (or its subresource) with patch (JSON text). */
int kc_patch(kc_client *c, const kc_resource *r, const char *ns, const char *name,
             const char *subresource, kc_patch_type type, const char *patch, cJSON **out,
             kn_error **err);

typedef struct kc_delete_options {
    int64_t grace_period_seconds;              /* < 0: unset (use the object's default) */
    const char *propagation_policy;            /* "Orphan", "Background", "Foreground" or NULL */
    const char *precondition_uid;              /* or NULL */
    const char *precondition_resource_version; /* or NULL */
    bool dry_run;
} kc_delete_options;

/* DELETE the object with DeleteOptions; *out (if not NULL) gets the answer
 * (the object being deleted, or a Status). o may be NULL. */
int kc_delete(kc_client *c, const kc_resource *r, const char *ns, const char *name,
              const kc_delete_options *o, cJSON **out, kn_error **err);

/* POST body to a subresource: pods/NAME/binding, pods/NAME/eviction,
 * serviceaccounts/NAME/token, ... */
int kc_create_subresource(kc_client *c, const kc_resource *r, const char *ns, const char *name,
                          const char *subresource, const cJSON *body, cJSON **out, kn_error **err);

typedef struct kc_log_options {
    const char *container; /* or NULL */
    bool follow;
    bool previous;
    bool timestamps;
    int64_t tail_lines;    /* < 0 or 0: unset */
    int64_t since_seconds; /* 0: unset */
    int64_t limit_bytes;   /* 0: unset */
} kc_log_options;

/* Opens pods/NAME/log as a stream of raw log bytes. o may be NULL. */
int kc_pod_logs(kc_client *c, const char *ns, const char *pod, const kc_log_options *o,
                kc_stream **out, kn_error **err);

#endif

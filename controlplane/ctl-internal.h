/* ctl-internal.h - shared by the scheduler loop and the controllers that
 * ctl-manager.c runs: the context every controller gets, the work loop,
 * the event recorder, expectations and small helpers on API objects.
 *
 * A controller is level-triggered: informer handlers put keys on its work
 * queue, worker threads take a key, read the object and everything related
 * from the shared informer caches, compare with the desired state and write
 * through the API; a failed sync is retried with the queue's backoff. */
#ifndef KNODE_CONTROLPLANE_CTL_INTERNAL_H
#define KNODE_CONTROLPLANE_CTL_INTERNAL_H

#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "api-client/informer.h"
#include "api-client/rest.h"
#include "lib/error.h"
#include "lib/selector.h"
#include "lib/workqueue.h"

#define KN_CTL_MAX_WORKERS 4

extern const kc_resource kn_ctl_res_deployments, kn_ctl_res_replicasets, kn_ctl_res_statefulsets,
    kn_ctl_res_daemonsets, kn_ctl_res_controllerrevisions;

typedef struct kn_ctl_recorder kn_ctl_recorder;

/* Tunables (upstream kube-controller-manager flags). */
typedef struct kn_ctl_tunables {
    int64_t node_monitor_grace_ns;  /* --node-monitor-grace-period */
    int64_t node_monitor_period_ns; /* --node-monitor-period */
    char *cluster_cidr;             /* --cluster-cidr (owned); NULL: no node IPAM */
    int node_cidr_mask;             /* --node-cidr-mask-size */
} kn_ctl_tunables;

/* What every controller gets. */
typedef struct kn_ctl_ctx {
    kc_client *client;
    kc_informer_factory *factory;
    kn_ctl_recorder *recorder;
    kn_ctl_tunables tun;
    atomic_bool leading;  /* holds the leader Lease: controllers act only then */
    pthread_mutex_t lock; /* guards informers[] */
    kc_informer *informers[32];
    size_t ninformers;
} kn_ctl_ctx;

/* The shared all-namespaces informer for r, with the standard indexes:
 * "owner" (every ownerReference's uid), "controller" (the controller
 * reference's uid) and, for pods, "node" (spec.nodeName, "" when unbound). */
kc_informer *kn_ctl_informer(kn_ctl_ctx *ctx, const kc_resource *r);

/* ---- controllers --------------------------------------------------------------------- */

/* A controller as the manager runs it. create registers handlers on the
 * shared informers (before they start), or returns NULL when the
 * controller is not configured; start runs the workers once the caches
 * have synced; stop ends the workers; destroy frees what is left after the
 * informers stopped. */
typedef struct kn_ctl_def {
    const char *name;
    void *(*create)(kn_ctl_ctx *ctx);
    int (*start)(void *self, kn_error **err);
    void (*stop)(void *self);
    void (*destroy)(void *self);
} kn_ctl_def;

extern const kn_ctl_def kn_ctl_scheduler, kn_ctl_replicaset, kn_ctl_deployment,
    kn_ctl_endpointslice, kn_ctl_endpoints, kn_ctl_serviceaccount, kn_ctl_namespace, kn_ctl_gc,
    kn_ctl_nodelifecycle, kn_ctl_tainteviction, kn_ctl_nodeipam, kn_ctl_daemonset,
    kn_ctl_statefulset;

/* ---- the work loop ------------------------------------------------------------------- */

/* Syncs one key: 0 when done, negative (with err) to retry with backoff,
 * positive to retry with backoff without an error (waiting for something). */
typedef int (*kn_ctl_sync_fn)(void *ud, const char *key, kn_error **err);

typedef struct kn_ctl_loop {
    const char *name;
    kn_ctl_ctx *ctx;
    kn_workqueue *queue;
    kn_ctl_sync_fn sync;
    void *ud;
    pthread_t threads[KN_CTL_MAX_WORKERS];
    int nthreads;
} kn_ctl_loop;

/* Creates the queue (opts may be NULL: client-go's default rate limits).
 * While ctx is not leading, keys wait (checked again every second). */
void kn_ctl_loop_init(kn_ctl_loop *l, kn_ctl_ctx *ctx, const char *name, kn_ctl_sync_fn sync,
                      void *ud, const kn_workqueue_opts *opts);
/* Starts workers threads (at most KN_CTL_MAX_WORKERS). */
int kn_ctl_loop_start(kn_ctl_loop *l, int workers, kn_error **err);
/* Shuts the queue down and joins the workers. Idempotent. */
void kn_ctl_loop_stop(kn_ctl_loop *l);
/* Frees the queue (after the informers feeding it stopped). */
void kn_ctl_loop_destroy(kn_ctl_loop *l);

/* Queues an object's key (informer handlers). */
void kn_ctl_enqueue(kn_ctl_loop *l, const cJSON *obj);

/* ---- events ------------------------------------------------------------------------------ */

kn_ctl_recorder *kn_ctl_recorder_new(kc_client *c);
void kn_ctl_recorder_free(kn_ctl_recorder *r);

/* Records a core/v1 Event about obj (which carries kind and apiVersion)
 * through api-client's event recorder of component (a static string: the
 * source; one recorder per component). type is "Normal" or "Warning".
 * Never blocks on the server. */
void kn_ctl_event(kn_ctl_recorder *r, const char *component, const cJSON *obj, const char *type,
                  const char *reason, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* ---- expectations (client-go's UIDTrackingControllerExpectations) ------------------------- */

/* What a controller is waiting to see in its caches after its own creates
 * and deletes, so it does not act twice on a stale cache. Expectations
 * expire after 5 minutes. Thread-safe. */
typedef struct kn_ctl_expect kn_ctl_expect;

kn_ctl_expect *kn_ctl_expect_new(void);
void kn_ctl_expect_free(kn_ctl_expect *e);
/* True when nothing is awaited for key (or it expired). */
bool kn_ctl_expect_satisfied(kn_ctl_expect *e, const char *key);
/* Awaits n creations for key (replacing what was awaited). */
void kn_ctl_expect_creations(kn_ctl_expect *e, const char *key, int n);
/* Awaits the deletion of the objects named in del_keys[0..n). */
void kn_ctl_expect_deletions(kn_ctl_expect *e, const char *key, char *const *del_keys, size_t n);
void kn_ctl_expect_creation_observed(kn_ctl_expect *e, const char *key);
void kn_ctl_expect_deletion_observed(kn_ctl_expect *e, const char *key, const char *del_key);
/* Forgets key. */
void kn_ctl_expect_delete(kn_ctl_expect *e, const char *key);

/* ---- helpers on objects ------------------------------------------------------------------- */

/* The string at path, or NULL (missing, null or not a string). */
const char *kn_ctl_str(const cJSON *obj, const char *path);
/* The integer at path, or def. */
int64_t kn_ctl_int(const cJSON *obj, const char *path, int64_t def);

/* The ownerReference with controller: true, or NULL. */
const cJSON *kn_ctl_controller_ref(const cJSON *obj);
/* A new ownerReference object. */
cJSON *kn_ctl_owner_ref(const char *api_version, const char *kind, const char *name,
                        const char *uid, bool controller);

/* The selector at path (a metav1.LabelSelector), or NULL when missing or
 * invalid. Caller frees. */
kn_label_selector *kn_ctl_selector(const cJSON *obj, const char *path);
/* True if obj's metadata.labels satisfy sel. */
bool kn_ctl_labels_match(const kn_label_selector *sel, const cJSON *obj);
/* True if every key/value of the map want is among obj's labels. */
bool kn_ctl_labels_contain(const cJSON *obj, const cJSON *want);

/* The condition of that type in status.conditions, or NULL. */
const cJSON *kn_ctl_condition(const cJSON *obj, const char *type);
/* Sets a condition in the conditions array of status (created when
 * missing). lastTransitionTime changes only when the status does;
 * lastUpdateTime (with_update_time) and lastProbeTime are left to callers.
 * Returns true if anything changed. */
bool kn_ctl_set_condition(cJSON *status, const char *type, const char *cstatus, const char *reason,
                          const char *message, bool with_update_time);

/* Pods: not Succeeded/Failed and not being deleted. */
bool kn_ctl_pod_active(const cJSON *pod);
/* Ready condition True. */
bool kn_ctl_pod_ready(const cJSON *pod);
/* Ready for at least min_ready_s seconds at wall time now_ns. */
bool kn_ctl_pod_available(const cJSON *pod, int64_t min_ready_s, int64_t now_ns);

/* RFC 3339 "now" (second precision) into buf[32]. */
void kn_ctl_now(char buf[32]);

/* Replaces (or adds) member key of obj with item (taken). */
void kn_ctl_set(cJSON *obj, const char *key, cJSON *item);
/* The object member key of obj, created when missing. */
cJSON *kn_ctl_obj(cJSON *obj, const char *key);

/* DELETE an object with a propagation policy ("Background", "Foreground",
 * "Orphan" or NULL) and, when uid is set, a uid precondition. A missing
 * object is not an error. */
int kn_ctl_delete(kn_ctl_ctx *ctx, const kc_resource *r, const char *ns, const char *name,
                  const char *uid, const char *propagation, kn_error **err);

/* "namespace/name" split into ns and name (copied, bounded). */
void kn_ctl_split_key(const char *key, char ns[256], char name[256]);

/* ---- owning pods (shared by the ReplicaSet, DaemonSet and StatefulSet controllers) ---------- */

/* A growable list of cached objects (references). */
typedef struct kn_ctl_objs {
    kc_obj **v;
    size_t n, cap;
} kn_ctl_objs;

/* Appends a reference to o. */
void kn_ctl_objs_push(kn_ctl_objs *l, kc_obj *o);
/* Drops the references and empties l. */
void kn_ctl_objs_free(kn_ctl_objs *l);

/* The object of kind in owners (an informer of that kind) that controls
 * obj, checked by uid (a reference), or NULL. */
kc_obj *kn_ctl_owner_of(kc_informer *owners, const char *kind, const cJSON *obj);

/* upstream's RecheckDeletionTimestamp: a fresh read shows owner (of
 * resource r) still exists with its uid and is not being deleted. */
bool kn_ctl_can_adopt(kn_ctl_ctx *ctx, const kc_resource *r, const cJSON *owner);

/* Adds (adopt) or removes owner's controller reference on obj (of
 * resource r) with a strategic merge patch carrying obj's uid. Returns 0,
 * 1 when obj is gone, or negative with err. */
int kn_ctl_patch_owner(kn_ctl_ctx *ctx, const kc_resource *r, const cJSON *obj, const char *kind,
                       const cJSON *owner, bool adopt, kn_error **err);

/* ClaimPods: the pods in owner's namespace that owner (kind, served as
 * owner_res) controls and sel matches, into out; matching orphans are
 * adopted (unless owner is being deleted) and controlled pods that no
 * longer match released. With active_only, finished pods and pods being
 * deleted are skipped. Returns 0 or negative with err. */
int kn_ctl_claim_pods(kn_ctl_ctx *ctx, kc_informer *pods, const kc_resource *owner_res,
                      const char *kind, const cJSON *owner, const kn_label_selector *sel,
                      bool active_only, kn_ctl_objs *out, kn_error **err);

/* Queues (on l) every object of owners in pod's namespace whose non-empty
 * selector matches the orphan pod. */
void kn_ctl_enqueue_matching(kn_ctl_loop *l, kc_informer *owners, const cJSON *pod);

/* How pod events reach the controller that owns the pods. */
typedef struct kn_ctl_pod_watch {
    kn_ctl_loop *loop;
    kc_informer *owners; /* of kind */
    const char *kind;
    kn_ctl_expect *exp; /* NULL: no expectations */
} kn_ctl_pod_watch;

/* Registers handlers on the pods informer that queue the owner of w->kind
 * controlling a changed pod (or, for an orphan, every owner whose
 * selector matches it) and note its creations and deletions in w->exp.
 * w must outlive the informer. */
void kn_ctl_watch_pods(kc_informer *pods, kn_ctl_pod_watch *w);

/* A Pod from a workload's template: its labels, annotations, finalizers
 * and spec, with a controller reference to owner (kind in apps/v1). The
 * caller names it. New object. */
cJSON *kn_ctl_pod_from_template(const cJSON *tmpl, const char *kind, const cJSON *owner);

/* ---- controller revisions (DaemonSet and StatefulSet history) -------------------------------- */

#define KN_CTL_REVISION_LABEL "controller-revision-hash"

/* Makes sure set (kind in apps/v1) has the ControllerRevision
 * <set>-<hash> holding tmpl (data {"spec":{"template":...,"$patch":
 * "replace"}}, the template's labels plus controller-revision-hash), with
 * a revision number above all the set's other revisions: a new one gets
 * max+1, an older one (a rollback) is renumbered to max+1 as upstream
 * does. A name taken by another object is KN_EEXIST (the caller counts a
 * collision). *name (owned) is the revision's name. revs is the informer
 * of controllerrevisions. */
int kn_ctl_revision_ensure(kn_ctl_ctx *ctx, kc_informer *revs, const cJSON *set, const char *kind,
                           const cJSON *tmpl, const char *hash, char **name, kn_error **err);

/* The pod template stored in set's revision name, or NULL. New object. */
cJSON *kn_ctl_revision_template(kc_informer *revs, const cJSON *set, const char *name);

/* Deletes set's oldest revisions beyond spec.revisionHistoryLimit (10 by
 * default), never one named in keep[0..nkeep) nor one whose hash label a
 * pod in pods (the set's pods) carries. */
int kn_ctl_revision_truncate(kn_ctl_ctx *ctx, kc_informer *revs, const cJSON *set,
                             const char *const *keep, size_t nkeep, const kn_ctl_objs *pods,
                             kn_error **err);

#endif

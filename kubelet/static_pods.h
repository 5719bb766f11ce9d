/* static_pods.h - the --pod-manifest-path source (upstream's file config
 * source): every regular file in the directory (names starting with '.'
 * ignored; the path may also be a single file) holds one Pod as YAML or
 * JSON. The directory is watched with inotify and rescanned every
 * --file-check-frequency (20 s); each scan hands the whole set to the pod
 * sink as source "file", so added, changed and removed files become added,
 * replaced and removed pods.
 *
 * As upstream's applyDefaults does, a static pod
 *   - is named "<name>-<node name in lowercase>" in namespace "default"
 *     unless it names one, with spec.nodeName set to the node;
 *   - gets, unless the file sets metadata.uid, the UID
 *     hex(md5(<pod> "host:<node>" "file:<path>")), where <pod> is the
 *     document as canonical JSON (keys sorted) in place of upstream's Go
 *     deep-hash of the decoded object: the same file on the same node and
 *     path keeps its UID across kubelet restarts, and any change to the
 *     file gives a new UID (the old pod is removed, the new one started);
 *   - carries annotations kubernetes.io/config.hash (= UID),
 *     kubernetes.io/config.source ("file") and kubernetes.io/config.seen.
 * A file that does not decode to a valid Pod is skipped with a log line
 * naming the file and the field; two files naming the same pod keep the
 * first (in name order). */
#ifndef KNODE_KUBELET_STATIC_PODS_H
#define KNODE_KUBELET_STATIC_PODS_H

#include <stdint.h>

#include "kubelet/kubelet.h"
#include "kubelet/podspec.h"
#include "lib/error.h"

#define KL_STATIC_SOURCE "file"

typedef struct kl_static_opts {
    const char *path; /* --pod-manifest-path (directory or file) */
    const char *node_name;
    kl_pod_sink sink;
    int64_t check_period_ns; /* --file-check-frequency (0: 20 s) */
} kl_static_opts;

typedef struct kl_static_pods kl_static_pods;

/* Reads one manifest into a static pod for node_name (see above). Errors:
 * KN_EIO (read), KN_EINVAL (not a valid Pod: the message names the field). */
int kl_static_pod_load(const char *path, const char *node_name, kl_pod **out, kn_error **err);

/* The static-pod UID of a document read from path on node_name. Caller frees. */
char *kl_static_pod_uid(const cJSON *doc, const char *node_name, const char *path);

/* A source over opts (strings copied). Nothing is read until scan/start. */
int kl_static_pods_new(const kl_static_opts *opts, kl_static_pods **out, kn_error **err);

/* Reads the directory now and hands the set to the sink. A missing path
 * gives an empty set (the kubelet keeps checking, as upstream). */
void kl_static_pods_scan(kl_static_pods *sp);

/* Scans once, reports the source ready, then watches (thread). */
int kl_static_pods_start(kl_static_pods *sp, kn_error **err);

/* Stops watching and frees sp. NULL is fine. */
void kl_static_pods_free(kl_static_pods *sp);

#endif

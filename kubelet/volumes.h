/* volumes.h - the pod's directory under --root-dir and its volumes:
 *
 *   <root-dir>/pods/<uid>/volumes/kubernetes.io~empty-dir/<name>   emptyDir
 *                                                                  (tmpfs for medium Memory)
 *   <root-dir>/pods/<uid>/etc-hosts                                /etc/hosts
 *   <root-dir>/pods/<uid>/containers/<name>/<id>                   termination messages
 *
 * hostPath volumes are checked (and created for the *OrCreate types) as
 * upstream's hostPath type checker does. Errors read like upstream's mount
 * failures so they can be shown in the pod status. */
#ifndef KNODE_KUBELET_VOLUMES_H
#define KNODE_KUBELET_VOLUMES_H

#include "kubelet/config.h"
#include "kubelet/podspec.h"
#include "lib/error.h"

/* The host path backing volume v of pod (emptyDir directory or hostPath
 * path); caller frees. */
char *kl_volume_host_path(const kl_node_config *nc, const kl_pod *pod, const kl_volume *v);

/* Creates the pod directory and sets up every volume (idempotent). Errors:
 * KN_EIO / KN_EINVAL, e.g. "MountVolume.SetUp failed for volume \"data\":
 * hostPath type check failed: /srv is not a directory". */
int kl_volumes_setup(const kl_node_config *nc, const kl_pod *pod, kn_error **err);

/* Writes <pod dir>/etc-hosts: the kubelet-managed hosts file (localhost
 * entries and "<pod IP>\t<hostname>[.<domain>...]"), or for hostNetwork pods
 * a copy of the node's /etc/hosts. *path (owned) is the file. */
int kl_etc_hosts_write(const kl_node_config *nc, const kl_pod *pod, const char *pod_ip, char **path,
                       kn_error **err);

/* Creates an empty, world-writable termination message file for a new
 * container of pod; *path is owned by the caller. */
int kl_termination_log_create(const kl_node_config *nc, const kl_pod *pod, const char *container,
                              char **path, kn_error **err);

/* Unmounts tmpfs emptyDirs and removes the pod directory of uid (idempotent). */
int kl_volumes_teardown(const kl_node_config *nc, const char *uid, kn_error **err);

/* Removes a directory tree without crossing mount points (rm -rf -x). A
 * missing path is fine. */
int kl_remove_tree(const char *path, kn_error **err);

#endif

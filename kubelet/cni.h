/* cni.h - the CNI configuration `--manage-cni` writes for the node's pod
 * CIDR: a conflist "10-knode.conflist" (bridge cni0 as the pods' gateway,
 * host-local IPAM over the CIDR, portmap for hostPorts) and
 * "99-loopback.conf" (the loopback plugin; containerd's CRI also brings lo
 * up itself). Files are written atomically (temporary file + rename) and
 * only when their content changes. */
#ifndef KNODE_KUBELET_CNI_H
#define KNODE_KUBELET_CNI_H

#include <stdbool.h>

#include "lib/error.h"

#define KL_CNI_CONF_DIR "/etc/cni/net.d"
#define KL_CNI_NETWORK "knode"

typedef struct kl_cni_opts {
    const char *conf_dir; /* NULL: /etc/cni/net.d */
    const char *pod_cidr; /* e.g. "10.244.0.0/24" (IPv4) */
    const char *data_dir; /* host-local dataDir, or NULL */
    bool ip_masq;         /* SNAT pod traffic leaving the node */
    int mtu;              /* 0: unset */
} kl_cni_opts;

/* The conflist text for o (caller frees). Errors: KN_EINVAL for a CIDR
 * that is not an IPv4 prefix of length 8..30. */
int kl_cni_conflist(const kl_cni_opts *o, char **out, kn_error **err);

/* Writes both files (creating conf_dir). *changed (may be NULL) tells
 * whether anything was rewritten. */
int kl_cni_write(const kl_cni_opts *o, bool *changed, kn_error **err);

#endif

/* ctl-node.h - the node lifecycle and taint eviction rules as pure
 * functions (upstream pkg/controller/nodelifecycle and tainteviction):
 * which taints a node's conditions call for, how its conditions read once
 * its kubelet stopped reporting, and how long a pod may stay on a node
 * with NoExecute taints. */
#ifndef KNODE_CONTROLPLANE_CTL_NODE_H
#define KNODE_CONTROLPLANE_CTL_NODE_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

#define KN_CTL_TAINT_NOT_READY "node.kubernetes.io/not-ready"
#define KN_CTL_TAINT_UNREACHABLE "node.kubernetes.io/unreachable"

/* What to do with the not-ready/unreachable NoExecute taints. */
typedef enum kn_ctl_noexec {
    KN_CTL_NOEXEC_KEEP,   /* leave them as they are */
    KN_CTL_NOEXEC_SET,    /* as the Ready condition says (False: not-ready,
                             Unknown: unreachable, True: none) */
    KN_CTL_NOEXEC_HOLD,   /* like SET but add none (a zone in full disruption) */
    KN_CTL_NOEXEC_REMOVE, /* remove both (every zone in full disruption) */
} kn_ctl_noexec;

/* The node's taints with the controller-managed ones brought in line:
 * with noschedule, the NoSchedule taints of TaintNodesByCondition
 * (not-ready / unreachable from Ready False / Unknown, memory-pressure,
 * disk-pressure, pid-pressure, network-unavailable from their conditions,
 * unschedulable from spec.unschedulable); the NoExecute ones as noexec
 * says, a new one stamped timeAdded = now_rfc3339, an existing one kept.
 * Other taints are kept in place. Returns a new array. */
cJSON *kn_ctl_node_taints(const cJSON *node, bool noschedule, kn_ctl_noexec noexec,
                          const char *now_rfc3339);

/* Marks Ready, MemoryPressure, DiskPressure and PIDPressure Unknown in the
 * node (its status.conditions are modified): "NodeStatusUnknown" /
 * "Kubelet stopped posting node status." for conditions that were not
 * Unknown yet, "NodeStatusNeverUpdated" / "Kubelet never posted node
 * status." for missing ones. Returns true if anything changed. */
bool kn_ctl_node_mark_unknown(cJSON *node, const char *now_rfc3339);

typedef enum kn_ctl_evict {
    KN_CTL_EVICT_NEVER, /* no NoExecute taint, or every one tolerated forever */
    KN_CTL_EVICT_NOW,   /* a taint is not tolerated, or only for 0 s */
    KN_CTL_EVICT_AFTER, /* after *seconds */
} kn_ctl_evict;

/* GetMatchingTolerations + getMinTolerationTime: for each NoExecute taint
 * of taints the first toleration that tolerates it; the shortest
 * tolerationSeconds among those decides. */
kn_ctl_evict kn_ctl_eviction(const cJSON *tolerations, const cJSON *taints, int64_t *seconds);

/* ---- pod CIDRs (node IPAM, upstream's cidrset) -------------------------------------------- */

/* The /mask subnets of an IPv4 cluster CIDR, handed out round-robin from
 * the first (10.244.0.0/24 first for 10.244.0.0/16 and 24). */
typedef struct kn_ctl_cidrset kn_ctl_cidrset;

/* NULL when cidr is not an IPv4 CIDR or mask is not within (prefix, 30]. */
kn_ctl_cidrset *kn_ctl_cidrset_new(const char *cidr, int mask);
void kn_ctl_cidrset_free(kn_ctl_cidrset *s);

/* Marks a subnet used; false when it is not one of the set's subnets. */
bool kn_ctl_cidrset_occupy(kn_ctl_cidrset *s, const char *cidr);

/* Frees a subnet (ignored when not one of the set's). */
void kn_ctl_cidrset_release(kn_ctl_cidrset *s, const char *cidr);

/* The next free subnet into out[32]; false when none is left. */
bool kn_ctl_cidrset_allocate(kn_ctl_cidrset *s, char out[32]);

#endif

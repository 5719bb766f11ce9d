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

#endif

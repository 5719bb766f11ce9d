/* kschema-apps.c - apps/v1 kinds (k8s.io/api/apps/v1/types.go), in Go
 * declaration order. */
#include "controlplane/kschema-internal.h"

#define APPS "io.k8s.api.apps.v1."

KS_KIND(apps_StatefulSet, APPS "StatefulSet", "apps/v1", "StatefulSet",
        M("metadata", 1, meta_ObjectMeta, SF_O), M("spec", 2, apps_StatefulSetSpec, SF_O),
        M("status", 3, apps_StatefulSetStatus, SF_O));

KS_TYPE(apps_StatefulSetUpdateStrategy, APPS "StatefulSetUpdateStrategy",
        F("type", 1, STRING, SF_O),
        M("rollingUpdate", 2, apps_RollingUpdateStatefulSetStrategy, SF_OP));

KS_TYPE(apps_RollingUpdateStatefulSetStrategy, APPS "RollingUpdateStatefulSetStrategy",
        F("partition", 1, INT32, SF_OP), F("maxUnavailable", 2, INT_OR_STRING, SF_OP));

KS_TYPE(apps_StatefulSetPersistentVolumeClaimRetentionPolicy,
        APPS "StatefulSetPersistentVolumeClaimRetentionPolicy", F("whenDeleted", 1, STRING, SF_O),
        F("whenScaled", 2, STRING, SF_O));

KS_TYPE(apps_StatefulSetOrdinals, APPS "StatefulSetOrdinals", F("start", 1, INT32, 0));

/* selector is a pointer without omitempty: null when unset */
KS_TYPE(apps_StatefulSetSpec, APPS "StatefulSetSpec", F("replicas", 1, INT32, SF_OP),
        M("selector", 2, meta_LabelSelector, SF_P), M("template", 3, core_PodTemplateSpec, 0),
        M("volumeClaimTemplates", 4, core_PersistentVolumeClaim, SF_OR),
        F("serviceName", 5, STRING, 0), F("podManagementPolicy", 6, STRING, SF_O),
        M("updateStrategy", 7, apps_StatefulSetUpdateStrategy, SF_O),
        F("revisionHistoryLimit", 8, INT32, SF_OP), F("minReadySeconds", 9, INT32, SF_O),
        M("persistentVolumeClaimRetentionPolicy", 10,
          apps_StatefulSetPersistentVolumeClaimRetentionPolicy, SF_OP),
        M("ordinals", 11, apps_StatefulSetOrdinals, SF_OP));

KS_TYPE(apps_StatefulSetStatus, APPS "StatefulSetStatus", F("observedGeneration", 1, INT64, SF_O),
        F("replicas", 2, INT32, 0), F("readyReplicas", 3, INT32, SF_O),
        F("currentReplicas", 4, INT32, SF_O), F("updatedReplicas", 5, INT32, SF_O),
        F("currentRevision", 6, STRING, SF_O), F("updateRevision", 7, STRING, SF_O),
        F("collisionCount", 9, INT32, SF_OP),
        M("conditions", 10, apps_StatefulSetCondition, SF_OR, PATCH("merge", "type")),
        F("availableReplicas", 11, INT32, 0));

KS_TYPE(apps_StatefulSetCondition, APPS "StatefulSetCondition", F("type", 1, STRING, 0),
        F("status", 2, STRING, 0), F("lastTransitionTime", 3, TIME, SF_O),
        F("reason", 4, STRING, SF_O), F("message", 5, STRING, SF_O));

KS_KIND(apps_Deployment, APPS "Deployment", "apps/v1", "Deployment",
        M("metadata", 1, meta_ObjectMeta, SF_O), M("spec", 2, apps_DeploymentSpec, SF_O),
        M("status", 3, apps_DeploymentStatus, SF_O));

KS_TYPE(apps_DeploymentSpec, APPS "DeploymentSpec", F("replicas", 1, INT32, SF_OP),
        M("selector", 2, meta_LabelSelector, SF_P), M("template", 3, core_PodTemplateSpec, 0),
        M("strategy", 4, apps_DeploymentStrategy, SF_O, PATCH("retainKeys", NULL)),
        F("minReadySeconds", 5, INT32, SF_O), F("revisionHistoryLimit", 6, INT32, SF_OP),
        F("paused", 7, BOOL, SF_O), F("progressDeadlineSeconds", 9, INT32, SF_OP));

KS_TYPE(apps_DeploymentStrategy, APPS "DeploymentStrategy", F("type", 1, STRING, SF_O),
        M("rollingUpdate", 2, apps_RollingUpdateDeployment, SF_OP));

KS_TYPE(apps_RollingUpdateDeployment, APPS "RollingUpdateDeployment",
        F("maxUnavailable", 1, INT_OR_STRING, SF_OP), F("maxSurge", 2, INT_OR_STRING, SF_OP));

/* terminatingReplicas (1.33) */
KS_TYPE(apps_DeploymentStatus, APPS "DeploymentStatus", F("observedGeneration", 1, INT64, SF_O),
        F("replicas", 2, INT32, SF_O), F("updatedReplicas", 3, INT32, SF_O),
        F("readyReplicas", 7, INT32, SF_O), F("availableReplicas", 4, INT32, SF_O),
        F("unavailableReplicas", 5, INT32, SF_O), F("terminatingReplicas", 9, INT32, SF_OP),
        M("conditions", 6, apps_DeploymentCondition, SF_OR, PATCH("merge", "type")),
        F("collisionCount", 8, INT32, SF_OP));

KS_TYPE(apps_DeploymentCondition, APPS "DeploymentCondition", F("type", 1, STRING, 0),
        F("status", 2, STRING, 0), F("lastUpdateTime", 6, TIME, SF_O),
        F("lastTransitionTime", 7, TIME, SF_O), F("reason", 4, STRING, SF_O),
        F("message", 5, STRING, SF_O));

KS_TYPE(apps_DaemonSetUpdateStrategy, APPS "DaemonSetUpdateStrategy", F("type", 1, STRING, SF_O),
        M("rollingUpdate", 2, apps_RollingUpdateDaemonSet, SF_OP));

KS_TYPE(apps_RollingUpdateDaemonSet, APPS "RollingUpdateDaemonSet",
        F("maxUnavailable", 1, INT_OR_STRING, SF_OP), F("maxSurge", 2, INT_OR_STRING, SF_OP));

KS_TYPE(apps_DaemonSetSpec, APPS "DaemonSetSpec", M("selector", 1, meta_LabelSelector, SF_P),
        M("template", 2, core_PodTemplateSpec, 0),
        M("updateStrategy", 3, apps_DaemonSetUpdateStrategy, SF_O),
        F("minReadySeconds", 4, INT32, SF_O), F("revisionHistoryLimit", 6, INT32, SF_OP));

KS_TYPE(apps_DaemonSetStatus, APPS "DaemonSetStatus", F("currentNumberScheduled", 1, INT32, 0),
        F("numberMisscheduled", 2, INT32, 0), F("desiredNumberScheduled", 3, INT32, 0),
        F("numberReady", 4, INT32, 0), F("observedGeneration", 5, INT64, SF_O),
        F("updatedNumberScheduled", 6, INT32, SF_O), F("numberAvailable", 7, INT32, SF_O),
        F("numberUnavailable", 8, INT32, SF_O), F("collisionCount", 9, INT32, SF_OP),
        M("conditions", 10, apps_DaemonSetCondition, SF_OR, PATCH("merge", "type")));

KS_TYPE(apps_DaemonSetCondition, APPS "DaemonSetCondition", F("type", 1, STRING, 0),
        F("status", 2, STRING, 0), F("lastTransitionTime", 3, TIME, SF_O),
        F("reason", 4, STRING, SF_O), F("message", 5, STRING, SF_O));

KS_KIND(apps_DaemonSet, APPS "DaemonSet", "apps/v1", "DaemonSet",
        M("metadata", 1, meta_ObjectMeta, SF_O), M("spec", 2, apps_DaemonSetSpec, SF_O),
        M("status", 3, apps_DaemonSetStatus, SF_O));

KS_KIND(apps_ReplicaSet, APPS "ReplicaSet", "apps/v1", "ReplicaSet",
        M("metadata", 1, meta_ObjectMeta, SF_O), M("spec", 2, apps_ReplicaSetSpec, SF_O),
        M("status", 3, apps_ReplicaSetStatus, SF_O));

KS_TYPE(apps_ReplicaSetSpec, APPS "ReplicaSetSpec", F("replicas", 1, INT32, SF_OP),
        F("minReadySeconds", 4, INT32, SF_O), M("selector", 2, meta_LabelSelector, SF_P),
        M("template", 3, core_PodTemplateSpec, SF_O));

/* terminatingReplicas (1.33) */
KS_TYPE(apps_ReplicaSetStatus, APPS "ReplicaSetStatus", F("replicas", 1, INT32, 0),
        F("fullyLabeledReplicas", 2, INT32, SF_O), F("readyReplicas", 4, INT32, SF_O),
        F("availableReplicas", 5, INT32, SF_O), F("terminatingReplicas", 7, INT32, SF_OP),
        F("observedGeneration", 3, INT64, SF_O),
        M("conditions", 6, apps_ReplicaSetCondition, SF_OR, PATCH("merge", "type")));

KS_TYPE(apps_ReplicaSetCondition, APPS "ReplicaSetCondition", F("type", 1, STRING, 0),
        F("status", 2, STRING, 0), F("lastTransitionTime", 3, TIME, SF_O),
        F("reason", 4, STRING, SF_O), F("message", 5, STRING, SF_O));

/* data is a RawExtension value: null when unset */
KS_KIND(apps_ControllerRevision, APPS "ControllerRevision", "apps/v1", "ControllerRevision",
        M("metadata", 1, meta_ObjectMeta, SF_O), F("data", 2, RAW, SF_O),
        F("revision", 3, INT64, 0));

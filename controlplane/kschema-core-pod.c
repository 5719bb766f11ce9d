/* kschema-core-pod.c - core/v1 Pod, PodSpec and the container tree
 * (k8s.io/api/core/v1/types.go), in Go declaration order. */
#include "controlplane/kschema-internal.h"

#define CORE "io.k8s.api.core.v1."

KS_TYPE(core_ContainerPort, CORE "ContainerPort", F("name", 1, STRING, SF_O),
        F("hostPort", 2, INT32, SF_O), F("containerPort", 3, INT32, 0),
        F("protocol", 4, STRING, SF_O), F("hostIP", 5, STRING, SF_O));

KS_TYPE(core_VolumeMount, CORE "VolumeMount", F("name", 1, STRING, 0), F("readOnly", 2, BOOL, SF_O),
        F("recursiveReadOnly", 7, STRING, SF_OP), F("mountPath", 3, STRING, 0),
        F("subPath", 4, STRING, SF_O), F("mountPropagation", 5, STRING, SF_OP),
        F("subPathExpr", 6, STRING, SF_O));

KS_TYPE(core_VolumeDevice, CORE "VolumeDevice", F("name", 1, STRING, 0),
        F("devicePath", 2, STRING, 0));

KS_TYPE(core_EnvVar, CORE "EnvVar", F("name", 1, STRING, 0), F("value", 2, STRING, SF_O),
        M("valueFrom", 3, core_EnvVarSource, SF_OP));

KS_TYPE(core_EnvVarSource, CORE "EnvVarSource", M("fieldRef", 1, core_ObjectFieldSelector, SF_OP),
        M("resourceFieldRef", 2, core_ResourceFieldSelector, SF_OP),
        M("configMapKeyRef", 3, core_ConfigMapKeySelector, SF_OP),
        M("secretKeyRef", 4, core_SecretKeySelector, SF_OP),
        M("fileKeyRef", 5, core_FileKeySelector, SF_OP));

KS_TYPE(core_FileKeySelector, CORE "FileKeySelector", F("volumeName", 1, STRING, 0),
        F("path", 2, STRING, 0), F("key", 3, STRING, 0), F("optional", 4, BOOL, SF_OP));

KS_TYPE(core_ObjectFieldSelector, CORE "ObjectFieldSelector", F("apiVersion", 1, STRING, SF_O),
        F("fieldPath", 2, STRING, 0));

/* divisor is a Quantity value: "0" when unset */
KS_TYPE(core_ResourceFieldSelector, CORE "ResourceFieldSelector",
        F("containerName", 1, STRING, SF_O), F("resource", 2, STRING, 0),
        F("divisor", 3, QUANTITY, SF_O));

KS_TYPE(core_ConfigMapKeySelector, CORE "ConfigMapKeySelector",
        M("", 1, core_LocalObjectReference, SF_I), F("key", 2, STRING, 0),
        F("optional", 3, BOOL, SF_OP));

KS_TYPE(core_SecretKeySelector, CORE "SecretKeySelector", M("", 1, core_LocalObjectReference, SF_I),
        F("key", 2, STRING, 0), F("optional", 3, BOOL, SF_OP));

KS_TYPE(core_EnvFromSource, CORE "EnvFromSource", F("prefix", 1, STRING, SF_O),
        M("configMapRef", 2, core_ConfigMapEnvSource, SF_OP),
        M("secretRef", 3, core_SecretEnvSource, SF_OP));

KS_TYPE(core_ConfigMapEnvSource, CORE "ConfigMapEnvSource",
        M("", 1, core_LocalObjectReference, SF_I), F("optional", 2, BOOL, SF_OP));

KS_TYPE(core_SecretEnvSource, CORE "SecretEnvSource", M("", 1, core_LocalObjectReference, SF_I),
        F("optional", 2, BOOL, SF_OP));

KS_TYPE(core_HTTPHeader, CORE "HTTPHeader", F("name", 1, STRING, 0), F("value", 2, STRING, 0));

KS_TYPE(core_HTTPGetAction, CORE "HTTPGetAction", F("path", 1, STRING, SF_O),
        F("port", 2, INT_OR_STRING, 0), F("host", 3, STRING, SF_O), F("scheme", 4, STRING, SF_O),
        M("httpHeaders", 5, core_HTTPHeader, SF_OR));

KS_TYPE(core_TCPSocketAction, CORE "TCPSocketAction", F("port", 1, INT_OR_STRING, 0),
        F("host", 2, STRING, SF_O));

/* service is a pointer without omitempty: null when unset */
KS_TYPE(core_GRPCAction, CORE "GRPCAction", F("port", 1, INT32, 0), F("service", 2, STRING, SF_P));

KS_TYPE(core_ExecAction, CORE "ExecAction", F("command", 1, STRING, SF_OR));

KS_TYPE(core_SleepAction, CORE "SleepAction", F("seconds", 1, INT64, 0));

KS_TYPE(core_Probe, CORE "Probe", M("", 1, core_ProbeHandler, SF_I),
        F("initialDelaySeconds", 2, INT32, SF_O), F("timeoutSeconds", 3, INT32, SF_O),
        F("periodSeconds", 4, INT32, SF_O), F("successThreshold", 5, INT32, SF_O),
        F("failureThreshold", 6, INT32, SF_O), F("terminationGracePeriodSeconds", 7, INT64, SF_OP));

KS_TYPE(core_ContainerResizePolicy, CORE "ContainerResizePolicy", F("resourceName", 1, STRING, 0),
        F("restartPolicy", 2, STRING, 0));

KS_TYPE(core_Capabilities, CORE "Capabilities", F("add", 1, STRING, SF_OR),
        F("drop", 2, STRING, SF_OR));

KS_TYPE(core_ResourceRequirements, CORE "ResourceRequirements", F("limits", 1, MAP_QUANTITY, SF_O),
        F("requests", 2, MAP_QUANTITY, SF_O), M("claims", 3, core_ResourceClaim, SF_OR));

KS_TYPE(core_ResourceClaim, CORE "ResourceClaim", F("name", 1, STRING, 0),
        F("request", 2, STRING, SF_O));

KS_TYPE(core_Container, CORE "Container", F("name", 1, STRING, 0), F("image", 2, STRING, SF_O),
        F("command", 3, STRING, SF_OR), F("args", 4, STRING, SF_OR),
        F("workingDir", 5, STRING, SF_O),
        M("ports", 6, core_ContainerPort, SF_OR, PATCH("merge", "containerPort")),
        M("envFrom", 19, core_EnvFromSource, SF_OR),
        M("env", 7, core_EnvVar, SF_OR, PATCH("merge", "name")),
        M("resources", 8, core_ResourceRequirements, SF_O),
        M("resizePolicy", 23, core_ContainerResizePolicy, SF_OR),
        F("restartPolicy", 24, STRING, SF_OP),
        M("restartPolicyRules", 25, core_ContainerRestartRule, SF_OR),
        M("volumeMounts", 9, core_VolumeMount, SF_OR, PATCH("merge", "mountPath")),
        M("volumeDevices", 21, core_VolumeDevice, SF_OR, PATCH("merge", "devicePath")),
        M("livenessProbe", 10, core_Probe, SF_OP), M("readinessProbe", 11, core_Probe, SF_OP),
        M("startupProbe", 22, core_Probe, SF_OP), M("lifecycle", 12, core_Lifecycle, SF_OP),
        F("terminationMessagePath", 13, STRING, SF_O),
        F("terminationMessagePolicy", 20, STRING, SF_O), F("imagePullPolicy", 14, STRING, SF_O),
        M("securityContext", 15, core_SecurityContext, SF_OP), F("stdin", 16, BOOL, SF_O),
        F("stdinOnce", 17, BOOL, SF_O), F("tty", 18, BOOL, SF_O));

KS_TYPE(core_ProbeHandler, CORE "ProbeHandler", M("exec", 1, core_ExecAction, SF_OP),
        M("httpGet", 2, core_HTTPGetAction, SF_OP), M("tcpSocket", 3, core_TCPSocketAction, SF_OP),
        M("grpc", 4, core_GRPCAction, SF_OP));

KS_TYPE(core_LifecycleHandler, CORE "LifecycleHandler", M("exec", 1, core_ExecAction, SF_OP),
        M("httpGet", 2, core_HTTPGetAction, SF_OP), M("tcpSocket", 3, core_TCPSocketAction, SF_OP),
        M("sleep", 4, core_SleepAction, SF_OP));

KS_TYPE(core_Lifecycle, CORE "Lifecycle", M("postStart", 1, core_LifecycleHandler, SF_OP),
        M("preStop", 2, core_LifecycleHandler, SF_OP), F("stopSignal", 3, STRING, SF_OP));

KS_TYPE(core_ContainerStateWaiting, CORE "ContainerStateWaiting", F("reason", 1, STRING, SF_O),
        F("message", 2, STRING, SF_O));

KS_TYPE(core_ContainerStateRunning, CORE "ContainerStateRunning", F("startedAt", 1, TIME, SF_O));

KS_TYPE(core_ContainerStateTerminated, CORE "ContainerStateTerminated", F("exitCode", 1, INT32, 0),
        F("signal", 2, INT32, SF_O), F("reason", 3, STRING, SF_O), F("message", 4, STRING, SF_O),
        F("startedAt", 5, TIME, SF_O), F("finishedAt", 6, TIME, SF_O),
        F("containerID", 7, STRING, SF_O));

KS_TYPE(core_ContainerState, CORE "ContainerState",
        M("waiting", 1, core_ContainerStateWaiting, SF_OP),
        M("running", 2, core_ContainerStateRunning, SF_OP),
        M("terminated", 3, core_ContainerStateTerminated, SF_OP));

KS_TYPE(core_ContainerStatus, CORE "ContainerStatus", F("name", 1, STRING, 0),
        M("state", 2, core_ContainerState, SF_O), M("lastState", 3, core_ContainerState, SF_O),
        F("ready", 4, BOOL, 0), F("restartCount", 5, INT32, 0), F("image", 6, STRING, 0),
        F("imageID", 7, STRING, 0), F("containerID", 8, STRING, SF_O), F("started", 9, BOOL, SF_OP),
        F("allocatedResources", 10, MAP_QUANTITY, SF_O),
        M("resources", 11, core_ResourceRequirements, SF_OP),
        M("volumeMounts", 12, core_VolumeMountStatus, SF_OR, PATCH("merge", "mountPath")),
        M("user", 13, core_ContainerUser, SF_OP),
        M("allocatedResourcesStatus", 14, core_ResourceStatus, SF_OR, PATCH("merge", "name")),
        F("stopSignal", 15, STRING, SF_OP));

KS_TYPE(core_PodCondition, CORE "PodCondition", F("type", 1, STRING, 0),
        F("observedGeneration", 7, INT64, SF_O), F("status", 2, STRING, 0),
        F("lastProbeTime", 3, TIME, SF_O), F("lastTransitionTime", 4, TIME, SF_O),
        F("reason", 5, STRING, SF_O), F("message", 6, STRING, SF_O));

KS_TYPE(core_NodeSelector, CORE "NodeSelector",
        M("nodeSelectorTerms", 1, core_NodeSelectorTerm, SF_R));

KS_TYPE(core_NodeSelectorTerm, CORE "NodeSelectorTerm",
        M("matchExpressions", 1, core_NodeSelectorRequirement, SF_OR),
        M("matchFields", 2, core_NodeSelectorRequirement, SF_OR));

KS_TYPE(core_NodeSelectorRequirement, CORE "NodeSelectorRequirement", F("key", 1, STRING, 0),
        F("operator", 2, STRING, 0), F("values", 3, STRING, SF_OR));

KS_TYPE(core_Affinity, CORE "Affinity", M("nodeAffinity", 1, core_NodeAffinity, SF_OP),
        M("podAffinity", 2, core_PodAffinity, SF_OP),
        M("podAntiAffinity", 3, core_PodAntiAffinity, SF_OP));

KS_TYPE(core_PodAffinity, CORE "PodAffinity",
        M("requiredDuringSchedulingIgnoredDuringExecution", 1, core_PodAffinityTerm, SF_OR),
        M("preferredDuringSchedulingIgnoredDuringExecution", 2, core_WeightedPodAffinityTerm,
          SF_OR));

KS_TYPE(core_PodAntiAffinity, CORE "PodAntiAffinity",
        M("requiredDuringSchedulingIgnoredDuringExecution", 1, core_PodAffinityTerm, SF_OR),
        M("preferredDuringSchedulingIgnoredDuringExecution", 2, core_WeightedPodAffinityTerm,
          SF_OR));

KS_TYPE(core_WeightedPodAffinityTerm, CORE "WeightedPodAffinityTerm", F("weight", 1, INT32, 0),
        M("podAffinityTerm", 2, core_PodAffinityTerm, 0));

KS_TYPE(core_PodAffinityTerm, CORE "PodAffinityTerm",
        M("labelSelector", 1, meta_LabelSelector, SF_OP), F("namespaces", 2, STRING, SF_OR),
        F("topologyKey", 3, STRING, 0), M("namespaceSelector", 4, meta_LabelSelector, SF_OP),
        F("matchLabelKeys", 5, STRING, SF_OR), F("mismatchLabelKeys", 6, STRING, SF_OR));

KS_TYPE(core_NodeAffinity, CORE "NodeAffinity",
        M("requiredDuringSchedulingIgnoredDuringExecution", 1, core_NodeSelector, SF_OP),
        M("preferredDuringSchedulingIgnoredDuringExecution", 2, core_PreferredSchedulingTerm,
          SF_OR));

KS_TYPE(core_PreferredSchedulingTerm, CORE "PreferredSchedulingTerm", F("weight", 1, INT32, 0),
        M("preference", 2, core_NodeSelectorTerm, 0));

KS_TYPE(core_Taint, CORE "Taint", F("key", 1, STRING, 0), F("value", 2, STRING, SF_O),
        F("effect", 3, STRING, 0), F("timeAdded", 4, TIME, SF_OP));

KS_TYPE(core_Toleration, CORE "Toleration", F("key", 1, STRING, SF_O),
        F("operator", 2, STRING, SF_O), F("value", 3, STRING, SF_O), F("effect", 4, STRING, SF_O),
        F("tolerationSeconds", 5, INT64, SF_OP));

KS_TYPE(core_PodReadinessGate, CORE "PodReadinessGate", F("conditionType", 1, STRING, 0));

KS_TYPE(core_PodSpec, CORE "PodSpec",
        M("volumes", 1, core_Volume, SF_OR, PATCH("merge,retainKeys", "name")),
        M("initContainers", 20, core_Container, SF_OR, PATCH("merge", "name")),
        M("containers", 2, core_Container, SF_R, PATCH("merge", "name")),
        M("ephemeralContainers", 34, core_EphemeralContainer, SF_OR, PATCH("merge", "name")),
        F("restartPolicy", 3, STRING, SF_O), F("terminationGracePeriodSeconds", 4, INT64, SF_OP),
        F("activeDeadlineSeconds", 5, INT64, SF_OP), F("dnsPolicy", 6, STRING, SF_O),
        F("nodeSelector", 7, MAP_STRING, SF_O), F("serviceAccountName", 8, STRING, SF_O),
        F("serviceAccount", 9, STRING, SF_O), F("automountServiceAccountToken", 21, BOOL, SF_OP),
        F("nodeName", 10, STRING, SF_O), F("hostNetwork", 11, BOOL, SF_O),
        F("hostPID", 12, BOOL, SF_O), F("hostIPC", 13, BOOL, SF_O),
        F("shareProcessNamespace", 27, BOOL, SF_OP),
        M("securityContext", 14, core_PodSecurityContext, SF_OP),
        M("imagePullSecrets", 15, core_LocalObjectReference, SF_OR, PATCH("merge", "name")),
        F("hostname", 16, STRING, SF_O), F("subdomain", 17, STRING, SF_O),
        M("affinity", 18, core_Affinity, SF_OP), F("schedulerName", 19, STRING, SF_O),
        M("tolerations", 22, core_Toleration, SF_OR),
        M("hostAliases", 23, core_HostAlias, SF_OR, PATCH("merge", "ip")),
        F("priorityClassName", 24, STRING, SF_O), F("priority", 25, INT32, SF_OP),
        M("dnsConfig", 26, core_PodDNSConfig, SF_OP),
        M("readinessGates", 28, core_PodReadinessGate, SF_OR),
        F("runtimeClassName", 29, STRING, SF_OP), F("enableServiceLinks", 30, BOOL, SF_OP),
        F("preemptionPolicy", 31, STRING, SF_OP), F("overhead", 32, MAP_QUANTITY, SF_O),
        M("topologySpreadConstraints", 33, core_TopologySpreadConstraint, SF_OR,
          PATCH("merge", "topologyKey")),
        F("setHostnameAsFQDN", 35, BOOL, SF_OP), M("os", 36, core_PodOS, SF_OP),
        F("hostUsers", 37, BOOL, SF_OP),
        M("schedulingGates", 38, core_PodSchedulingGate, SF_OR, PATCH("merge", "name")),
        M("resourceClaims", 39, core_PodResourceClaim, SF_OR, PATCH("merge,retainKeys", "name")),
        M("resources", 40, core_ResourceRequirements, SF_OP),
        F("hostnameOverride", 41, STRING, SF_OP),
        M("workloadRef", 42, core_WorkloadReference, SF_OP));

KS_TYPE(core_WorkloadReference, CORE "WorkloadReference", F("name", 1, STRING, 0),
        F("podGroup", 2, STRING, 0), F("podGroupReplicaKey", 3, STRING, SF_O));

KS_TYPE(core_PodExtendedResourceClaimStatus, CORE "PodExtendedResourceClaimStatus",
        M("requestMappings", 1, core_ContainerExtendedResourceRequest, SF_R),
        F("resourceClaimName", 2, STRING, 0));

KS_TYPE(core_ContainerExtendedResourceRequest, CORE "ContainerExtendedResourceRequest",
        F("containerName", 1, STRING, 0), F("resourceName", 2, STRING, 0),
        F("requestName", 3, STRING, 0));

/* Since 1.31 the claim source is two fields of the claim (3, 4); field 2
 * (source) is gone. */
KS_TYPE(core_PodResourceClaim, CORE "PodResourceClaim", F("name", 1, STRING, 0),
        F("resourceClaimName", 3, STRING, SF_OP), F("resourceClaimTemplateName", 4, STRING, SF_OP));

KS_TYPE(core_PodResourceClaimStatus, CORE "PodResourceClaimStatus", F("name", 1, STRING, 0),
        F("resourceClaimName", 2, STRING, SF_OP));

KS_TYPE(core_PodOS, CORE "PodOS", F("name", 1, STRING, 0));

KS_TYPE(core_PodSchedulingGate, CORE "PodSchedulingGate", F("name", 1, STRING, 0));

KS_TYPE(core_TopologySpreadConstraint, CORE "TopologySpreadConstraint", F("maxSkew", 1, INT32, 0),
        F("topologyKey", 2, STRING, 0), F("whenUnsatisfiable", 3, STRING, 0),
        M("labelSelector", 4, meta_LabelSelector, SF_OP), F("minDomains", 5, INT32, SF_OP),
        F("nodeAffinityPolicy", 6, STRING, SF_OP), F("nodeTaintsPolicy", 7, STRING, SF_OP),
        F("matchLabelKeys", 8, STRING, SF_OR));

KS_TYPE(core_HostAlias, CORE "HostAlias", F("ip", 1, STRING, 0), F("hostnames", 2, STRING, SF_OR));

KS_TYPE(core_SeccompProfile, CORE "SeccompProfile", F("type", 1, STRING, 0),
        F("localhostProfile", 2, STRING, SF_OP));

KS_TYPE(core_PodDNSConfig, CORE "PodDNSConfig", F("nameservers", 1, STRING, SF_OR),
        F("searches", 2, STRING, SF_OR), M("options", 3, core_PodDNSConfigOption, SF_OR));

KS_TYPE(core_PodDNSConfigOption, CORE "PodDNSConfigOption", F("name", 1, STRING, SF_O),
        F("value", 2, STRING, SF_OP));

KS_TYPE(core_PodIP, CORE "PodIP", F("ip", 1, STRING, 0));

KS_TYPE(core_HostIP, CORE "HostIP", F("ip", 1, STRING, 0));

/* The same fields as Container (which it converts to), inlined into
 * EphemeralContainer as its field 1. */
KS_TYPE(core_EphemeralContainerCommon, CORE "EphemeralContainerCommon", F("name", 1, STRING, 0),
        F("image", 2, STRING, SF_O), F("command", 3, STRING, SF_OR), F("args", 4, STRING, SF_OR),
        F("workingDir", 5, STRING, SF_O),
        M("ports", 6, core_ContainerPort, SF_OR, PATCH("merge", "containerPort")),
        M("envFrom", 19, core_EnvFromSource, SF_OR),
        M("env", 7, core_EnvVar, SF_OR, PATCH("merge", "name")),
        M("resources", 8, core_ResourceRequirements, SF_O),
        M("resizePolicy", 23, core_ContainerResizePolicy, SF_OR),
        F("restartPolicy", 24, STRING, SF_OP),
        M("restartPolicyRules", 25, core_ContainerRestartRule, SF_OR),
        M("volumeMounts", 9, core_VolumeMount, SF_OR, PATCH("merge", "mountPath")),
        M("volumeDevices", 21, core_VolumeDevice, SF_OR, PATCH("merge", "devicePath")),
        M("livenessProbe", 10, core_Probe, SF_OP), M("readinessProbe", 11, core_Probe, SF_OP),
        M("startupProbe", 22, core_Probe, SF_OP), M("lifecycle", 12, core_Lifecycle, SF_OP),
        F("terminationMessagePath", 13, STRING, SF_O),
        F("terminationMessagePolicy", 20, STRING, SF_O), F("imagePullPolicy", 14, STRING, SF_O),
        M("securityContext", 15, core_SecurityContext, SF_OP), F("stdin", 16, BOOL, SF_O),
        F("stdinOnce", 17, BOOL, SF_O), F("tty", 18, BOOL, SF_O));

KS_TYPE(core_EphemeralContainer, CORE "EphemeralContainer",
        M("", 1, core_EphemeralContainerCommon, SF_I), F("targetContainerName", 2, STRING, SF_O));

KS_TYPE(core_PodStatus, CORE "PodStatus", F("observedGeneration", 17, INT64, SF_O),
        F("phase", 1, STRING, SF_O),
        M("conditions", 2, core_PodCondition, SF_OR, PATCH("merge", "type")),
        F("message", 3, STRING, SF_O), F("reason", 4, STRING, SF_O),
        F("nominatedNodeName", 11, STRING, SF_O), F("hostIP", 5, STRING, SF_O),
        M("hostIPs", 16, core_HostIP, SF_OR, PATCH("merge", "ip")), F("podIP", 6, STRING, SF_O),
        M("podIPs", 12, core_PodIP, SF_OR, PATCH("merge", "ip")), F("startTime", 7, TIME, SF_OP),
        M("initContainerStatuses", 10, core_ContainerStatus, SF_OR),
        M("containerStatuses", 8, core_ContainerStatus, SF_OR), F("qosClass", 9, STRING, SF_O),
        M("ephemeralContainerStatuses", 13, core_ContainerStatus, SF_OR),
        F("resize", 14, STRING, SF_O),
        M("resourceClaimStatuses", 15, core_PodResourceClaimStatus, SF_OR,
          PATCH("merge,retainKeys", "name")),
        M("extendedResourceClaimStatus", 18, core_PodExtendedResourceClaimStatus, SF_OP),
        F("allocatedResources", 19, MAP_QUANTITY, SF_O),
        M("resources", 20, core_ResourceRequirements, SF_OP));

KS_KIND(core_Pod, CORE "Pod", "v1", "Pod", M("metadata", 1, meta_ObjectMeta, SF_O),
        M("spec", 2, core_PodSpec, SF_O), M("status", 3, core_PodStatus, SF_O));

KS_TYPE(core_PodTemplateSpec, CORE "PodTemplateSpec", M("metadata", 1, meta_ObjectMeta, SF_O),
        M("spec", 2, core_PodSpec, SF_O));

KS_TYPE(core_PodSecurityContext, CORE "PodSecurityContext",
        M("seLinuxOptions", 1, core_SELinuxOptions, SF_OP),
        M("windowsOptions", 8, core_WindowsSecurityContextOptions, SF_OP),
        F("runAsUser", 2, INT64, SF_OP), F("runAsGroup", 6, INT64, SF_OP),
        F("runAsNonRoot", 3, BOOL, SF_OP), F("supplementalGroups", 4, INT64, SF_OR),
        F("supplementalGroupsPolicy", 12, STRING, SF_OP), F("fsGroup", 5, INT64, SF_OP),
        M("sysctls", 7, core_Sysctl, SF_OR), F("fsGroupChangePolicy", 9, STRING, SF_OP),
        M("seccompProfile", 10, core_SeccompProfile, SF_OP),
        M("appArmorProfile", 11, core_AppArmorProfile, SF_OP),
        F("seLinuxChangePolicy", 13, STRING, SF_OP));

KS_TYPE(core_AppArmorProfile, CORE "AppArmorProfile", F("type", 1, STRING, 0),
        F("localhostProfile", 2, STRING, SF_OP));

KS_TYPE(core_SecurityContext, CORE "SecurityContext",
        M("capabilities", 1, core_Capabilities, SF_OP), F("privileged", 2, BOOL, SF_OP),
        M("seLinuxOptions", 3, core_SELinuxOptions, SF_OP),
        M("windowsOptions", 10, core_WindowsSecurityContextOptions, SF_OP),
        F("runAsUser", 4, INT64, SF_OP), F("runAsGroup", 8, INT64, SF_OP),
        F("runAsNonRoot", 5, BOOL, SF_OP), F("readOnlyRootFilesystem", 6, BOOL, SF_OP),
        F("allowPrivilegeEscalation", 7, BOOL, SF_OP), F("procMount", 9, STRING, SF_OP),
        M("seccompProfile", 11, core_SeccompProfile, SF_OP),
        M("appArmorProfile", 12, core_AppArmorProfile, SF_OP));

KS_TYPE(core_SELinuxOptions, CORE "SELinuxOptions", F("user", 1, STRING, SF_O),
        F("role", 2, STRING, SF_O), F("type", 3, STRING, SF_O), F("level", 4, STRING, SF_O));

KS_TYPE(core_WindowsSecurityContextOptions, CORE "WindowsSecurityContextOptions",
        F("gmsaCredentialSpecName", 1, STRING, SF_OP), F("gmsaCredentialSpec", 2, STRING, SF_OP),
        F("runAsUserName", 3, STRING, SF_OP), F("hostProcess", 4, BOOL, SF_OP));

KS_TYPE(core_Sysctl, CORE "Sysctl", F("name", 1, STRING, 0), F("value", 2, STRING, 0));

KS_TYPE(core_VolumeMountStatus, CORE "VolumeMountStatus", F("name", 1, STRING, 0),
        F("mountPath", 2, STRING, 0), F("readOnly", 3, BOOL, SF_O),
        F("recursiveReadOnly", 4, STRING, SF_OP), M("volumeStatus", 5, core_VolumeStatus, SF_O));

KS_TYPE(core_VolumeStatus, CORE "VolumeStatus", M("image", 1, core_ImageVolumeStatus, SF_OP));

KS_TYPE(core_ImageVolumeStatus, CORE "ImageVolumeStatus", F("imageRef", 1, STRING, SF_O));

KS_TYPE(core_ContainerRestartRule, CORE "ContainerRestartRule", F("action", 1, STRING, SF_O),
        M("exitCodes", 2, core_ContainerRestartRuleOnExitCodes, SF_OP));

KS_TYPE(core_ContainerRestartRuleOnExitCodes, CORE "ContainerRestartRuleOnExitCodes",
        F("operator", 1, STRING, SF_O), F("values", 2, INT32, SF_OR));

KS_TYPE(core_ContainerUser, CORE "ContainerUser", M("linux", 1, core_LinuxContainerUser, SF_OP));

KS_TYPE(core_LinuxContainerUser, CORE "LinuxContainerUser", F("uid", 1, INT64, 0),
        F("gid", 2, INT64, 0), F("supplementalGroups", 3, INT64, SF_OR));

KS_TYPE(core_ResourceStatus, CORE "ResourceStatus", F("name", 1, STRING, 0),
        M("resources", 2, core_ResourceHealth, SF_OR));

KS_TYPE(core_ResourceHealth, CORE "ResourceHealth", F("resourceID", 1, STRING, 0),
        F("health", 2, STRING, SF_O));

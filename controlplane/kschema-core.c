/* kschema-core.c - core/v1 kinds other than Pod (Namespace, ConfigMap,
 * Secret, ServiceAccount, Service, Endpoints, Node, Event) and the shared
 * reference types (k8s.io/api/core/v1/types.go), in Go declaration order. */
#include "controlplane/kschema-internal.h"

#define CORE "io.k8s.api.core.v1."

KS_TYPE(core_SessionAffinityConfig, CORE "SessionAffinityConfig",
        M("clientIP", 1, core_ClientIPConfig, SF_OP));

KS_TYPE(core_ClientIPConfig, CORE "ClientIPConfig", F("timeoutSeconds", 1, INT32, SF_OP));

KS_TYPE(core_ServiceStatus, CORE "ServiceStatus",
        M("loadBalancer", 1, core_LoadBalancerStatus, SF_O),
        M("conditions", 2, meta_Condition, SF_OR, PATCH("merge", "type")));

KS_TYPE(core_LoadBalancerStatus, CORE "LoadBalancerStatus",
        M("ingress", 1, core_LoadBalancerIngress, SF_OR));

KS_TYPE(core_LoadBalancerIngress, CORE "LoadBalancerIngress", F("ip", 1, STRING, SF_O),
        F("hostname", 2, STRING, SF_O), F("ipMode", 3, STRING, SF_OP),
        M("ports", 4, core_PortStatus, SF_OR));

KS_TYPE(core_PortStatus, CORE "PortStatus", F("port", 1, INT32, 0), F("protocol", 2, STRING, 0),
        F("error", 3, STRING, SF_OP));

KS_TYPE(core_ServiceSpec, CORE "ServiceSpec",
        M("ports", 1, core_ServicePort, SF_OR, PATCH("merge", "port")),
        F("selector", 2, MAP_STRING, SF_O), F("clusterIP", 3, STRING, SF_O),
        F("clusterIPs", 18, STRING, SF_OR), F("type", 4, STRING, SF_O),
        F("externalIPs", 5, STRING, SF_OR), F("sessionAffinity", 7, STRING, SF_O),
        F("loadBalancerIP", 8, STRING, SF_O), F("loadBalancerSourceRanges", 9, STRING, SF_OR),
        F("externalName", 10, STRING, SF_O), F("externalTrafficPolicy", 11, STRING, SF_O),
        F("healthCheckNodePort", 12, INT32, SF_O), F("publishNotReadyAddresses", 13, BOOL, SF_O),
        M("sessionAffinityConfig", 14, core_SessionAffinityConfig, SF_OP),
        F("ipFamilies", 19, STRING, SF_OR), F("ipFamilyPolicy", 17, STRING, SF_OP),
        F("allocateLoadBalancerNodePorts", 20, BOOL, SF_OP),
        F("loadBalancerClass", 21, STRING, SF_OP), F("internalTrafficPolicy", 22, STRING, SF_OP),
        F("trafficDistribution", 23, STRING, SF_OP));

/* targetPort is an IntOrString value: written (0) even when unset */
KS_TYPE(core_ServicePort, CORE "ServicePort", F("name", 1, STRING, SF_O),
        F("protocol", 2, STRING, SF_O), F("appProtocol", 6, STRING, SF_OP), F("port", 3, INT32, 0),
        F("targetPort", 4, INT_OR_STRING, SF_O), F("nodePort", 5, INT32, SF_O));

KS_KIND(core_Service, CORE "Service", "v1", "Service", M("metadata", 1, meta_ObjectMeta, SF_O),
        M("spec", 2, core_ServiceSpec, SF_O), M("status", 3, core_ServiceStatus, SF_O));

KS_KIND(core_ServiceAccount, CORE "ServiceAccount", "v1", "ServiceAccount",
        M("metadata", 1, meta_ObjectMeta, SF_O),
        M("secrets", 2, core_ObjectReference, SF_OR, PATCH("merge", "name")),
        M("imagePullSecrets", 3, core_LocalObjectReference, SF_OR),
        F("automountServiceAccountToken", 4, BOOL, SF_OP));

KS_KIND(core_Endpoints, CORE "Endpoints", "v1", "Endpoints",
        M("metadata", 1, meta_ObjectMeta, SF_O), M("subsets", 2, core_EndpointSubset, SF_OR));

KS_TYPE(core_EndpointSubset, CORE "EndpointSubset", M("addresses", 1, core_EndpointAddress, SF_OR),
        M("notReadyAddresses", 2, core_EndpointAddress, SF_OR),
        M("ports", 3, core_EndpointPort, SF_OR));

KS_TYPE(core_EndpointAddress, CORE "EndpointAddress", F("ip", 1, STRING, 0),
        F("hostname", 3, STRING, SF_O), F("nodeName", 4, STRING, SF_OP),
        M("targetRef", 2, core_ObjectReference, SF_OP));

KS_TYPE(core_EndpointPort, CORE "EndpointPort", F("name", 1, STRING, SF_O), F("port", 2, INT32, 0),
        F("protocol", 3, STRING, SF_O), F("appProtocol", 4, STRING, SF_OP));

KS_TYPE(core_NodeSpec, CORE "NodeSpec", F("podCIDR", 1, STRING, SF_O),
        F("podCIDRs", 7, STRING, SF_OR, PATCH("merge", NULL)), F("providerID", 3, STRING, SF_O),
        F("unschedulable", 4, BOOL, SF_O), M("taints", 5, core_Taint, SF_OR),
        M("configSource", 6, core_NodeConfigSource, SF_OP), F("externalID", 2, STRING, SF_O));

KS_TYPE(core_NodeConfigSource, CORE "NodeConfigSource",
        M("configMap", 2, core_ConfigMapNodeConfigSource, SF_OP));

KS_TYPE(core_ConfigMapNodeConfigSource, CORE "ConfigMapNodeConfigSource",
        F("namespace", 1, STRING, 0), F("name", 2, STRING, 0), F("uid", 3, STRING, SF_O),
        F("resourceVersion", 4, STRING, SF_O), F("kubeletConfigKey", 5, STRING, 0));

/* the JSON name really is "Port" */
KS_TYPE(core_DaemonEndpoint, CORE "DaemonEndpoint", F("Port", 1, INT32, 0));

KS_TYPE(core_NodeDaemonEndpoints, CORE "NodeDaemonEndpoints",
        M("kubeletEndpoint", 1, core_DaemonEndpoint, SF_O));

KS_TYPE(core_NodeSystemInfo, CORE "NodeSystemInfo", F("machineID", 1, STRING, 0),
        F("systemUUID", 2, STRING, 0), F("bootID", 3, STRING, 0), F("kernelVersion", 4, STRING, 0),
        F("osImage", 5, STRING, 0), F("containerRuntimeVersion", 6, STRING, 0),
        F("kubeletVersion", 7, STRING, 0), F("kubeProxyVersion", 8, STRING, 0),
        F("operatingSystem", 9, STRING, 0), F("architecture", 10, STRING, 0),
        M("swap", 11, core_NodeSwapStatus, SF_OP));

KS_TYPE(core_NodeSwapStatus, CORE "NodeSwapStatus", F("capacity", 1, INT64, SF_OP));

KS_TYPE(core_NodeConfigStatus, CORE "NodeConfigStatus",
        M("assigned", 1, core_NodeConfigSource, SF_OP),
        M("active", 2, core_NodeConfigSource, SF_OP),
        M("lastKnownGood", 3, core_NodeConfigSource, SF_OP), F("error", 4, STRING, SF_O));

KS_TYPE(core_NodeStatus, CORE "NodeStatus", F("capacity", 1, MAP_QUANTITY, SF_O),
        F("allocatable", 2, MAP_QUANTITY, SF_O), F("phase", 3, STRING, SF_O),
        M("conditions", 4, core_NodeCondition, SF_OR, PATCH("merge", "type")),
        M("addresses", 5, core_NodeAddress, SF_OR, PATCH("merge", "type")),
        M("daemonEndpoints", 6, core_NodeDaemonEndpoints, SF_O),
        M("nodeInfo", 7, core_NodeSystemInfo, SF_O), M("images", 8, core_ContainerImage, SF_OR),
        F("volumesInUse", 9, STRING, SF_OR), M("volumesAttached", 10, core_AttachedVolume, SF_OR),
        M("config", 11, core_NodeConfigStatus, SF_OP),
        M("runtimeHandlers", 12, core_NodeRuntimeHandler, SF_OR),
        M("features", 13, core_NodeFeatures, SF_OP), F("declaredFeatures", 14, STRING, SF_OR));

KS_TYPE(core_NodeRuntimeHandlerFeatures, CORE "NodeRuntimeHandlerFeatures",
        F("recursiveReadOnlyMounts", 1, BOOL, SF_OP), F("userNamespaces", 2, BOOL, SF_OP));

KS_TYPE(core_NodeRuntimeHandler, CORE "NodeRuntimeHandler", F("name", 1, STRING, 0),
        M("features", 2, core_NodeRuntimeHandlerFeatures, SF_OP));

KS_TYPE(core_NodeFeatures, CORE "NodeFeatures", F("supplementalGroupsPolicy", 1, BOOL, SF_OP));

KS_TYPE(core_AttachedVolume, CORE "AttachedVolume", F("name", 1, STRING, 0),
        F("devicePath", 2, STRING, 0));

/* names is a slice without omitempty: null when absent */
KS_TYPE(core_ContainerImage, CORE "ContainerImage", F("names", 1, STRING, SF_R),
        F("sizeBytes", 2, INT64, SF_O));

KS_TYPE(core_NodeCondition, CORE "NodeCondition", F("type", 1, STRING, 0),
        F("status", 2, STRING, 0), F("lastHeartbeatTime", 3, TIME, SF_O),
        F("lastTransitionTime", 4, TIME, SF_O), F("reason", 5, STRING, SF_O),
        F("message", 6, STRING, SF_O));

KS_TYPE(core_NodeAddress, CORE "NodeAddress", F("type", 1, STRING, 0), F("address", 2, STRING, 0));

KS_KIND(core_Node, CORE "Node", "v1", "Node", M("metadata", 1, meta_ObjectMeta, SF_O),
        M("spec", 2, core_NodeSpec, SF_O), M("status", 3, core_NodeStatus, SF_O));

KS_TYPE(core_NamespaceSpec, CORE "NamespaceSpec", F("finalizers", 1, STRING, SF_OR));

KS_TYPE(core_NamespaceStatus, CORE "NamespaceStatus", F("phase", 1, STRING, SF_O),
        M("conditions", 2, core_NamespaceCondition, SF_OR, PATCH("merge", "type")));

KS_TYPE(core_NamespaceCondition, CORE "NamespaceCondition", F("type", 1, STRING, 0),
        F("status", 2, STRING, 0), F("lastTransitionTime", 4, TIME, SF_O),
        F("reason", 5, STRING, SF_O), F("message", 6, STRING, SF_O));

KS_KIND(core_Namespace, CORE "Namespace", "v1", "Namespace",
        M("metadata", 1, meta_ObjectMeta, SF_O), M("spec", 2, core_NamespaceSpec, SF_O),
        M("status", 3, core_NamespaceStatus, SF_O));

KS_KIND(core_Binding, CORE "Binding", "v1", "Binding", M("metadata", 1, meta_ObjectMeta, SF_O),
        M("target", 2, core_ObjectReference, 0));

KS_TYPE(core_ObjectReference, CORE "ObjectReference", F("kind", 1, STRING, SF_O),
        F("namespace", 2, STRING, SF_O), F("name", 3, STRING, SF_O), F("uid", 4, STRING, SF_O),
        F("apiVersion", 5, STRING, SF_O), F("resourceVersion", 6, STRING, SF_O),
        F("fieldPath", 7, STRING, SF_O));

KS_TYPE(core_LocalObjectReference, CORE "LocalObjectReference", F("name", 1, STRING, SF_O));

/* apiGroup is a pointer without omitempty: null when unset */
KS_TYPE(core_TypedLocalObjectReference, CORE "TypedLocalObjectReference",
        F("apiGroup", 1, STRING, SF_P), F("kind", 2, STRING, 0), F("name", 3, STRING, 0));

KS_TYPE(core_EventSource, CORE "EventSource", F("component", 1, STRING, SF_O),
        F("host", 2, STRING, SF_O));

/* metadata has no omitempty here, which makes no difference for a struct;
 * reportingComponent and reportingInstance are written even when empty */
KS_KIND(core_Event, CORE "Event", "v1", "Event", M("metadata", 1, meta_ObjectMeta, 0),
        M("involvedObject", 2, core_ObjectReference, 0), F("reason", 3, STRING, SF_O),
        F("message", 4, STRING, SF_O), M("source", 5, core_EventSource, SF_O),
        F("firstTimestamp", 6, TIME, SF_O), F("lastTimestamp", 7, TIME, SF_O),
        F("count", 8, INT32, SF_O), F("type", 9, STRING, SF_O), F("eventTime", 10, MICROTIME, SF_O),
        M("series", 11, core_EventSeries, SF_OP), F("action", 12, STRING, SF_O),
        M("related", 13, core_ObjectReference, SF_OP), F("reportingComponent", 14, STRING, 0),
        F("reportingInstance", 15, STRING, 0));

KS_TYPE(core_EventSeries, CORE "EventSeries", F("count", 1, INT32, SF_O),
        F("lastObservedTime", 2, MICROTIME, SF_O));

KS_KIND(core_Secret, CORE "Secret", "v1", "Secret", M("metadata", 1, meta_ObjectMeta, SF_O),
        F("immutable", 5, BOOL, SF_OP), F("data", 2, MAP_BYTES, SF_O),
        F("stringData", 4, MAP_STRING, SF_O), F("type", 3, STRING, SF_O));

KS_KIND(core_ConfigMap, CORE "ConfigMap", "v1", "ConfigMap",
        M("metadata", 1, meta_ObjectMeta, SF_O), F("immutable", 4, BOOL, SF_OP),
        F("data", 2, MAP_STRING, SF_O), F("binaryData", 3, MAP_BYTES, SF_O));

/* kschema-core-volumes.c - core/v1 volume sources and persistent volume
 * claims (k8s.io/api/core/v1/types.go), in Go declaration order. */
#include "controlplane/kschema-internal.h"

#define CORE "io.k8s.api.core.v1."

KS_TYPE(core_Volume, CORE "Volume", F("name", 1, STRING, 0), M("", 2, core_VolumeSource, SF_I));

KS_TYPE(core_VolumeSource, CORE "VolumeSource", M("hostPath", 1, core_HostPathVolumeSource, SF_OP),
        M("emptyDir", 2, core_EmptyDirVolumeSource, SF_OP),
        M("gcePersistentDisk", 3, core_GCEPersistentDiskVolumeSource, SF_OP),
        M("awsElasticBlockStore", 4, core_AWSElasticBlockStoreVolumeSource, SF_OP),
        M("gitRepo", 5, core_GitRepoVolumeSource, SF_OP),
        M("secret", 6, core_SecretVolumeSource, SF_OP), M("nfs", 7, core_NFSVolumeSource, SF_OP),
        M("iscsi", 8, core_ISCSIVolumeSource, SF_OP),
        M("glusterfs", 9, core_GlusterfsVolumeSource, SF_OP),
        M("persistentVolumeClaim", 10, core_PersistentVolumeClaimVolumeSource, SF_OP),
        M("rbd", 11, core_RBDVolumeSource, SF_OP),
        M("flexVolume", 12, core_FlexVolumeSource, SF_OP),
        M("cinder", 13, core_CinderVolumeSource, SF_OP),
        M("cephfs", 14, core_CephFSVolumeSource, SF_OP),
        M("flocker", 15, core_FlockerVolumeSource, SF_OP),
        M("downwardAPI", 16, core_DownwardAPIVolumeSource, SF_OP),
        M("fc", 17, core_FCVolumeSource, SF_OP),
        M("azureFile", 18, core_AzureFileVolumeSource, SF_OP),
        M("configMap", 19, core_ConfigMapVolumeSource, SF_OP),
        M("vsphereVolume", 20, core_VsphereVirtualDiskVolumeSource, SF_OP),
        M("quobyte", 21, core_QuobyteVolumeSource, SF_OP),
        M("azureDisk", 22, core_AzureDiskVolumeSource, SF_OP),
        M("photonPersistentDisk", 23, core_PhotonPersistentDiskVolumeSource, SF_OP),
        M("projected", 26, core_ProjectedVolumeSource, SF_OP),
        M("portworxVolume", 24, core_PortworxVolumeSource, SF_OP),
        M("scaleIO", 25, core_ScaleIOVolumeSource, SF_OP),
        M("storageos", 27, core_StorageOSVolumeSource, SF_OP),
        M("csi", 28, core_CSIVolumeSource, SF_OP),
        M("ephemeral", 29, core_EphemeralVolumeSource, SF_OP),
        M("image", 30, core_ImageVolumeSource, SF_OP));

KS_TYPE(core_ImageVolumeSource, CORE "ImageVolumeSource", F("reference", 1, STRING, SF_O),
        F("pullPolicy", 2, STRING, SF_O));

KS_TYPE(core_PersistentVolumeClaimVolumeSource, CORE "PersistentVolumeClaimVolumeSource",
        F("claimName", 1, STRING, 0), F("readOnly", 2, BOOL, SF_O));

KS_KIND(core_PersistentVolumeClaim, CORE "PersistentVolumeClaim", "v1", "PersistentVolumeClaim",
        M("metadata", 1, meta_ObjectMeta, SF_O), M("spec", 2, core_PersistentVolumeClaimSpec, SF_O),
        M("status", 3, core_PersistentVolumeClaimStatus, SF_O));

KS_TYPE(core_PersistentVolumeClaimSpec, CORE "PersistentVolumeClaimSpec",
        F("accessModes", 1, STRING, SF_OR), M("selector", 4, meta_LabelSelector, SF_OP),
        M("resources", 2, core_VolumeResourceRequirements, SF_O), F("volumeName", 3, STRING, SF_O),
        F("storageClassName", 5, STRING, SF_OP), F("volumeMode", 6, STRING, SF_OP),
        M("dataSource", 7, core_TypedLocalObjectReference, SF_OP),
        M("dataSourceRef", 8, core_TypedObjectReference, SF_OP),
        F("volumeAttributesClassName", 9, STRING, SF_OP));

/* apiGroup is a pointer without omitempty: null when unset */
KS_TYPE(core_TypedObjectReference, CORE "TypedObjectReference", F("apiGroup", 1, STRING, SF_P),
        F("kind", 2, STRING, 0), F("name", 3, STRING, 0), F("namespace", 4, STRING, SF_OP));

KS_TYPE(core_ModifyVolumeStatus, CORE "ModifyVolumeStatus",
        F("targetVolumeAttributesClassName", 1, STRING, SF_O), F("status", 2, STRING, 0));

KS_TYPE(core_PersistentVolumeClaimCondition, CORE "PersistentVolumeClaimCondition",
        F("type", 1, STRING, 0), F("status", 2, STRING, 0), F("lastProbeTime", 3, TIME, SF_O),
        F("lastTransitionTime", 4, TIME, SF_O), F("reason", 5, STRING, SF_O),
        F("message", 6, STRING, SF_O));

KS_TYPE(core_PersistentVolumeClaimStatus, CORE "PersistentVolumeClaimStatus",
        F("phase", 1, STRING, SF_O), F("accessModes", 2, STRING, SF_OR),
        F("capacity", 3, MAP_QUANTITY, SF_O),
        M("conditions", 4, core_PersistentVolumeClaimCondition, SF_OR, PATCH("merge", "type")),
        F("allocatedResources", 5, MAP_QUANTITY, SF_O),
        F("allocatedResourceStatuses", 7, MAP_STRING, SF_O),
        F("currentVolumeAttributesClassName", 8, STRING, SF_OP),
        M("modifyVolumeStatus", 9, core_ModifyVolumeStatus, SF_OP));

KS_TYPE(core_HostPathVolumeSource, CORE "HostPathVolumeSource", F("path", 1, STRING, 0),
        F("type", 2, STRING, SF_OP));

KS_TYPE(core_EmptyDirVolumeSource, CORE "EmptyDirVolumeSource", F("medium", 1, STRING, SF_O),
        F("sizeLimit", 2, QUANTITY, SF_OP));

KS_TYPE(core_GlusterfsVolumeSource, CORE "GlusterfsVolumeSource", F("endpoints", 1, STRING, 0),
        F("path", 2, STRING, 0), F("readOnly", 3, BOOL, SF_O));

KS_TYPE(core_RBDVolumeSource, CORE "RBDVolumeSource", F("monitors", 1, STRING, SF_R),
        F("image", 2, STRING, 0), F("fsType", 3, STRING, SF_O), F("pool", 4, STRING, SF_O),
        F("user", 5, STRING, SF_O), F("keyring", 6, STRING, SF_O),
        M("secretRef", 7, core_LocalObjectReference, SF_OP), F("readOnly", 8, BOOL, SF_O));

KS_TYPE(core_CinderVolumeSource, CORE "CinderVolumeSource", F("volumeID", 1, STRING, 0),
        F("fsType", 2, STRING, SF_O), F("readOnly", 3, BOOL, SF_O),
        M("secretRef", 4, core_LocalObjectReference, SF_OP));

KS_TYPE(core_CephFSVolumeSource, CORE "CephFSVolumeSource", F("monitors", 1, STRING, SF_R),
        F("path", 2, STRING, SF_O), F("user", 3, STRING, SF_O), F("secretFile", 4, STRING, SF_O),
        M("secretRef", 5, core_LocalObjectReference, SF_OP), F("readOnly", 6, BOOL, SF_O));

KS_TYPE(core_SecretReference, CORE "SecretReference", F("name", 1, STRING, SF_O),
        F("namespace", 2, STRING, SF_O));

KS_TYPE(core_FlockerVolumeSource, CORE "FlockerVolumeSource", F("datasetName", 1, STRING, SF_O),
        F("datasetUUID", 2, STRING, SF_O));

KS_TYPE(core_GCEPersistentDiskVolumeSource, CORE "GCEPersistentDiskVolumeSource",
        F("pdName", 1, STRING, 0), F("fsType", 2, STRING, SF_O), F("partition", 3, INT32, SF_O),
        F("readOnly", 4, BOOL, SF_O));

KS_TYPE(core_QuobyteVolumeSource, CORE "QuobyteVolumeSource", F("registry", 1, STRING, 0),
        F("volume", 2, STRING, 0), F("readOnly", 3, BOOL, SF_O), F("user", 4, STRING, SF_O),
        F("group", 5, STRING, SF_O), F("tenant", 6, STRING, SF_O));

KS_TYPE(core_FlexVolumeSource, CORE "FlexVolumeSource", F("driver", 1, STRING, 0),
        F("fsType", 2, STRING, SF_O), M("secretRef", 3, core_LocalObjectReference, SF_OP),
        F("readOnly", 4, BOOL, SF_O), F("options", 5, MAP_STRING, SF_O));

KS_TYPE(core_AWSElasticBlockStoreVolumeSource, CORE "AWSElasticBlockStoreVolumeSource",
        F("volumeID", 1, STRING, 0), F("fsType", 2, STRING, SF_O), F("partition", 3, INT32, SF_O),
        F("readOnly", 4, BOOL, SF_O));

KS_TYPE(core_GitRepoVolumeSource, CORE "GitRepoVolumeSource", F("repository", 1, STRING, 0),
        F("revision", 2, STRING, SF_O), F("directory", 3, STRING, SF_O));

KS_TYPE(core_SecretVolumeSource, CORE "SecretVolumeSource", F("secretName", 1, STRING, SF_O),
        M("items", 2, core_KeyToPath, SF_OR), F("defaultMode", 3, INT32, SF_OP),
        F("optional", 4, BOOL, SF_OP));

KS_TYPE(core_SecretProjection, CORE "SecretProjection", M("", 1, core_LocalObjectReference, SF_I),
        M("items", 2, core_KeyToPath, SF_OR), F("optional", 4, BOOL, SF_OP));

KS_TYPE(core_NFSVolumeSource, CORE "NFSVolumeSource", F("server", 1, STRING, 0),
        F("path", 2, STRING, 0), F("readOnly", 3, BOOL, SF_O));

KS_TYPE(core_ISCSIVolumeSource, CORE "ISCSIVolumeSource", F("targetPortal", 1, STRING, 0),
        F("iqn", 2, STRING, 0), F("lun", 3, INT32, 0), F("iscsiInterface", 4, STRING, SF_O),
        F("fsType", 5, STRING, SF_O), F("readOnly", 6, BOOL, SF_O), F("portals", 7, STRING, SF_OR),
        F("chapAuthDiscovery", 8, BOOL, SF_O), F("chapAuthSession", 11, BOOL, SF_O),
        M("secretRef", 10, core_LocalObjectReference, SF_OP),
        F("initiatorName", 12, STRING, SF_OP));

KS_TYPE(core_FCVolumeSource, CORE "FCVolumeSource", F("targetWWNs", 1, STRING, SF_OR),
        F("lun", 2, INT32, SF_OP), F("fsType", 3, STRING, SF_O), F("readOnly", 4, BOOL, SF_O),
        F("wwids", 5, STRING, SF_OR));

KS_TYPE(core_AzureFileVolumeSource, CORE "AzureFileVolumeSource", F("secretName", 1, STRING, 0),
        F("shareName", 2, STRING, 0), F("readOnly", 3, BOOL, SF_O));

KS_TYPE(core_VsphereVirtualDiskVolumeSource, CORE "VsphereVirtualDiskVolumeSource",
        F("volumePath", 1, STRING, 0), F("fsType", 2, STRING, SF_O),
        F("storagePolicyName", 3, STRING, SF_O), F("storagePolicyID", 4, STRING, SF_O));

KS_TYPE(core_PhotonPersistentDiskVolumeSource, CORE "PhotonPersistentDiskVolumeSource",
        F("pdID", 1, STRING, 0), F("fsType", 2, STRING, SF_O));

KS_TYPE(core_AzureDiskVolumeSource, CORE "AzureDiskVolumeSource", F("diskName", 1, STRING, 0),
        F("diskURI", 2, STRING, 0), F("cachingMode", 3, STRING, SF_OP),
        F("fsType", 4, STRING, SF_OP), F("readOnly", 5, BOOL, SF_OP), F("kind", 6, STRING, SF_OP));

KS_TYPE(core_PortworxVolumeSource, CORE "PortworxVolumeSource", F("volumeID", 1, STRING, 0),
        F("fsType", 2, STRING, SF_O), F("readOnly", 3, BOOL, SF_O));

/* secretRef is a pointer without omitempty */
KS_TYPE(core_ScaleIOVolumeSource, CORE "ScaleIOVolumeSource", F("gateway", 1, STRING, 0),
        F("system", 2, STRING, 0), M("secretRef", 3, core_LocalObjectReference, SF_P),
        F("sslEnabled", 4, BOOL, SF_O), F("protectionDomain", 5, STRING, SF_O),
        F("storagePool", 6, STRING, SF_O), F("storageMode", 7, STRING, SF_O),
        F("volumeName", 8, STRING, SF_O), F("fsType", 9, STRING, SF_O),
        F("readOnly", 10, BOOL, SF_O));

KS_TYPE(core_StorageOSVolumeSource, CORE "StorageOSVolumeSource", F("volumeName", 1, STRING, SF_O),
        F("volumeNamespace", 2, STRING, SF_O), F("fsType", 3, STRING, SF_O),
        F("readOnly", 4, BOOL, SF_O), M("secretRef", 5, core_LocalObjectReference, SF_OP));

KS_TYPE(core_ConfigMapVolumeSource, CORE "ConfigMapVolumeSource",
        M("", 1, core_LocalObjectReference, SF_I), M("items", 2, core_KeyToPath, SF_OR),
        F("defaultMode", 3, INT32, SF_OP), F("optional", 4, BOOL, SF_OP));

KS_TYPE(core_ConfigMapProjection, CORE "ConfigMapProjection",
        M("", 1, core_LocalObjectReference, SF_I), M("items", 2, core_KeyToPath, SF_OR),
        F("optional", 4, BOOL, SF_OP));

KS_TYPE(core_ServiceAccountTokenProjection, CORE "ServiceAccountTokenProjection",
        F("audience", 1, STRING, SF_O), F("expirationSeconds", 2, INT64, SF_OP),
        F("path", 3, STRING, 0));

KS_TYPE(core_ClusterTrustBundleProjection, CORE "ClusterTrustBundleProjection",
        F("name", 1, STRING, SF_OP), F("signerName", 2, STRING, SF_OP),
        M("labelSelector", 3, meta_LabelSelector, SF_OP), F("optional", 5, BOOL, SF_OP),
        F("path", 4, STRING, 0));

KS_TYPE(core_ProjectedVolumeSource, CORE "ProjectedVolumeSource",
        M("sources", 1, core_VolumeProjection, SF_R), F("defaultMode", 2, INT32, SF_OP));

KS_TYPE(core_VolumeProjection, CORE "VolumeProjection",
        M("secret", 1, core_SecretProjection, SF_OP),
        M("downwardAPI", 2, core_DownwardAPIProjection, SF_OP),
        M("configMap", 3, core_ConfigMapProjection, SF_OP),
        M("serviceAccountToken", 4, core_ServiceAccountTokenProjection, SF_OP),
        M("clusterTrustBundle", 5, core_ClusterTrustBundleProjection, SF_OP));

KS_TYPE(core_KeyToPath, CORE "KeyToPath", F("key", 1, STRING, 0), F("path", 2, STRING, 0),
        F("mode", 3, INT32, SF_OP));

KS_TYPE(core_CSIVolumeSource, CORE "CSIVolumeSource", F("driver", 1, STRING, 0),
        F("readOnly", 2, BOOL, SF_OP), F("fsType", 3, STRING, SF_OP),
        F("volumeAttributes", 4, MAP_STRING, SF_O),
        M("nodePublishSecretRef", 5, core_LocalObjectReference, SF_OP));

KS_TYPE(core_EphemeralVolumeSource, CORE "EphemeralVolumeSource",
        M("volumeClaimTemplate", 1, core_PersistentVolumeClaimTemplate, SF_OP));

KS_TYPE(core_PersistentVolumeClaimTemplate, CORE "PersistentVolumeClaimTemplate",
        M("metadata", 1, meta_ObjectMeta, SF_O), M("spec", 2, core_PersistentVolumeClaimSpec, 0));

KS_TYPE(core_VolumeResourceRequirements, CORE "VolumeResourceRequirements",
        F("limits", 1, MAP_QUANTITY, SF_O), F("requests", 2, MAP_QUANTITY, SF_O));

KS_TYPE(core_DownwardAPIVolumeSource, CORE "DownwardAPIVolumeSource",
        M("items", 1, core_DownwardAPIVolumeFile, SF_OR), F("defaultMode", 2, INT32, SF_OP));

KS_TYPE(core_DownwardAPIVolumeFile, CORE "DownwardAPIVolumeFile", F("path", 1, STRING, 0),
        M("fieldRef", 2, core_ObjectFieldSelector, SF_OP),
        M("resourceFieldRef", 3, core_ResourceFieldSelector, SF_OP), F("mode", 4, INT32, SF_OP));

KS_TYPE(core_DownwardAPIProjection, CORE "DownwardAPIProjection",
        M("items", 1, core_DownwardAPIVolumeFile, SF_OR));

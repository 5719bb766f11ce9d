/* kschema-groups.c - the smaller groups: discovery.k8s.io/v1 EndpointSlice,
 * coordination.k8s.io/v1 Lease, certificates.k8s.io/v1
 * CertificateSigningRequest, authentication.k8s.io/v1 TokenRequest,
 * policy/v1 Eviction, autoscaling/v1 Scale (k8s.io/api/<group>/v1
 * types.go), in Go declaration order. */
#include "controlplane/kschema-internal.h"

#define DISC "io.k8s.api.discovery.v1."
#define COORD "io.k8s.api.coordination.v1."
#define CERT "io.k8s.api.certificates.v1."
#define AUTHN "io.k8s.api.authentication.v1."

/* endpoints and ports are slices without omitempty: null when empty */
KS_KIND(disc_EndpointSlice, DISC "EndpointSlice", "discovery.k8s.io/v1", "EndpointSlice",
        M("metadata", 1, meta_ObjectMeta, SF_O), F("addressType", 4, STRING, 0),
        M("endpoints", 2, disc_Endpoint, SF_R), M("ports", 3, disc_EndpointPort, SF_R));

KS_TYPE(disc_Endpoint, DISC "Endpoint", F("addresses", 1, STRING, SF_R),
        M("conditions", 2, disc_EndpointConditions, SF_O), F("hostname", 3, STRING, SF_OP),
        M("targetRef", 4, core_ObjectReference, SF_OP),
        F("deprecatedTopology", 5, MAP_STRING, SF_O), F("nodeName", 6, STRING, SF_OP),
        F("zone", 7, STRING, SF_OP), M("hints", 8, disc_EndpointHints, SF_OP));

KS_TYPE(disc_EndpointConditions, DISC "EndpointConditions", F("ready", 1, BOOL, SF_OP),
        F("serving", 2, BOOL, SF_OP), F("terminating", 3, BOOL, SF_OP));

/* forNodes (1.33) */
KS_TYPE(disc_EndpointHints, DISC "EndpointHints", M("forZones", 1, disc_ForZone, SF_OR),
        M("forNodes", 2, disc_ForNode, SF_OR));

KS_TYPE(disc_ForZone, DISC "ForZone", F("name", 1, STRING, 0));

KS_TYPE(disc_ForNode, DISC "ForNode", F("name", 1, STRING, 0));

KS_TYPE(disc_EndpointPort, DISC "EndpointPort", F("name", 1, STRING, SF_OP),
        F("protocol", 2, STRING, SF_OP), F("port", 3, INT32, SF_OP),
        F("appProtocol", 4, STRING, SF_OP));

KS_KIND(coord_Lease, COORD "Lease", "coordination.k8s.io/v1", "Lease",
        M("metadata", 1, meta_ObjectMeta, SF_O), M("spec", 2, coord_LeaseSpec, SF_O));

/* strategy and preferredHolder (1.31) */
KS_TYPE(coord_LeaseSpec, COORD "LeaseSpec", F("holderIdentity", 1, STRING, SF_OP),
        F("leaseDurationSeconds", 2, INT32, SF_OP), F("acquireTime", 3, MICROTIME, SF_OP),
        F("renewTime", 4, MICROTIME, SF_OP), F("leaseTransitions", 5, INT32, SF_OP),
        F("strategy", 6, STRING, SF_OP), F("preferredHolder", 7, STRING, SF_OP));

/* spec has no omitempty (a struct: always written anyway) */
KS_KIND(cert_CertificateSigningRequest, CERT "CertificateSigningRequest", "certificates.k8s.io/v1",
        "CertificateSigningRequest", M("metadata", 1, meta_ObjectMeta, SF_O),
        M("spec", 2, cert_CertificateSigningRequestSpec, 0),
        M("status", 3, cert_CertificateSigningRequestStatus, SF_O));

/* request is a byte slice without omitempty: null when absent */
KS_TYPE(cert_CertificateSigningRequestSpec, CERT "CertificateSigningRequestSpec",
        F("request", 1, BYTES, 0), F("signerName", 7, STRING, 0),
        F("expirationSeconds", 8, INT32, SF_OP), F("usages", 5, STRING, SF_OR),
        F("username", 2, STRING, SF_O), F("uid", 3, STRING, SF_O), F("groups", 4, STRING, SF_OR),
        F("extra", 6, MAP_STRLIST, SF_O));

KS_TYPE(cert_CertificateSigningRequestStatus, CERT "CertificateSigningRequestStatus",
        M("conditions", 1, cert_CertificateSigningRequestCondition, SF_OR),
        F("certificate", 2, BYTES, SF_O));

KS_TYPE(cert_CertificateSigningRequestCondition, CERT "CertificateSigningRequestCondition",
        F("type", 1, STRING, 0), F("status", 6, STRING, 0), F("reason", 2, STRING, SF_O),
        F("message", 3, STRING, SF_O), F("lastUpdateTime", 4, TIME, SF_O),
        F("lastTransitionTime", 5, TIME, SF_O));

KS_KIND(authn_TokenRequest, AUTHN "TokenRequest", "authentication.k8s.io/v1", "TokenRequest",
        M("metadata", 1, meta_ObjectMeta, SF_O), M("spec", 2, authn_TokenRequestSpec, 0),
        M("status", 3, authn_TokenRequestStatus, SF_O));

/* no omitempty on any of these: audiences, expirationSeconds and
 * boundObjectRef are null when unset */
KS_TYPE(authn_TokenRequestSpec, AUTHN "TokenRequestSpec", F("audiences", 1, STRING, SF_R),
        F("expirationSeconds", 4, INT64, SF_P),
        M("boundObjectRef", 3, authn_BoundObjectReference, SF_P));

KS_TYPE(authn_TokenRequestStatus, AUTHN "TokenRequestStatus", F("token", 1, STRING, 0),
        F("expirationTimestamp", 2, TIME, 0));

KS_TYPE(authn_BoundObjectReference, AUTHN "BoundObjectReference", F("kind", 1, STRING, SF_O),
        F("apiVersion", 2, STRING, SF_O), F("name", 3, STRING, SF_O), F("uid", 4, STRING, SF_O));

KS_KIND(policy_Eviction, "io.k8s.api.policy.v1.Eviction", "policy/v1", "Eviction",
        M("metadata", 1, meta_ObjectMeta, SF_O), M("deleteOptions", 2, meta_DeleteOptions, SF_OP));

KS_KIND(autoscaling_Scale, "io.k8s.api.autoscaling.v1.Scale", "autoscaling/v1", "Scale",
        M("metadata", 1, meta_ObjectMeta, SF_O), M("spec", 2, autoscaling_ScaleSpec, SF_O),
        M("status", 3, autoscaling_ScaleStatus, SF_O));

KS_TYPE(autoscaling_ScaleSpec, "io.k8s.api.autoscaling.v1.ScaleSpec",
        F("replicas", 1, INT32, SF_O));

KS_TYPE(autoscaling_ScaleStatus, "io.k8s.api.autoscaling.v1.ScaleStatus",
        F("replicas", 1, INT32, 0), F("selector", 2, STRING, SF_O));

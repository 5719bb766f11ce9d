/* The schema table: internally consistent (every referenced type listed,
 * unique names and numbers, flags that make sense) and spot checks of facts
 * transcribed from upstream's types.go / generated.proto. */
#include <string.h>

#include "controlplane/kschema.h"
#include "controlplane/resources.h"
#include "test/runner/kt.h"

static bool listed(const kn_schema_type *t)
{
    for (size_t i = 0; i < kn_schema_count(); i++) {
        if (kn_schema_at(i) == t)
            return true;
    }
    return false;
}

/* Adds the JSON names of t (through inline structs) to names[*n]; fails
 * on a duplicate. */
static void collect_json(const kn_schema_type *t, const char **names, size_t *n, size_t cap)
{
    for (size_t i = 0; i < t->nfields; i++) {
        const kn_schema_field *f = &t->fields[i];
        if (f->flags & KN_SF_INLINE) {
            collect_json(f->type, names, n, cap);
            continue;
        }
        for (size_t k = 0; k < *n; k++)
            KT_ASSERT_MSG(strcmp(names[k], f->json) != 0, "%s: JSON name %s twice", t->name,
                          f->json);
        KT_ASSERT(*n < cap);
        names[(*n)++] = f->json;
    }
}

static void check_field(const kn_schema_type *t, const kn_schema_field *f)
{
    bool message = f->kind == KN_SK_MESSAGE;
    KT_ASSERT_MSG(message == (f->type != NULL), "%s.%s: type set iff message", t->name, f->json);
    KT_ASSERT_MSG(!message || listed(f->type), "%s.%s: type %s not listed", t->name, f->json,
                  f->type ? f->type->name : "");
    KT_ASSERT_MSG(f->num >= 1 && f->num < 19000, "%s.%s: field number %u", t->name, f->json,
                  f->num);
    if (f->flags & KN_SF_INLINE)
        KT_ASSERT_MSG(message && !*f->json && f->flags == KN_SF_INLINE, "%s: bad inline field",
                      t->name);
    else
        KT_ASSERT_MSG(*f->json, "%s: field %u has no JSON name", t->name, f->num);
    KT_ASSERT_MSG(!((f->flags & KN_SF_REPEATED) && (f->flags & KN_SF_POINTER)),
                  "%s.%s: a slice is not a pointer", t->name, f->json);
    bool map = f->kind >= KN_SK_MAP_STRING && f->kind <= KN_SK_MAP_STRLIST;
    KT_ASSERT_MSG(!(map && (f->flags & (KN_SF_REPEATED | KN_SF_POINTER))),
                  "%s.%s: a map is neither repeated nor a pointer", t->name, f->json);
    KT_ASSERT_MSG(!f->merge_key || (f->flags & KN_SF_REPEATED), "%s.%s: merge key on a non-list",
                  t->name, f->json);
    KT_ASSERT_MSG(kn_schema_field_by_number(t, f->num) == f, "%s: field number %u twice", t->name,
                  f->num);
}

KT_TEST(kschema, table_is_consistent)
{
    KT_ASSERT(kn_schema_count() > 200);
    for (size_t i = 0; i < kn_schema_count(); i++) {
        const kn_schema_type *t = kn_schema_at(i);
        KT_ASSERT_MSG(kn_schema_by_name(t->name) == t, "%s: name twice", t->name);
        KT_ASSERT_MSG(strncmp(t->name, "io.k8s.", 7) == 0, "%s: not an OpenAPI name", t->name);
        KT_ASSERT_MSG(t->nfields > 0 && t->nfields <= 64, "%s: %zu fields", t->name, t->nfields);
        KT_ASSERT_MSG((t->kind == NULL) == (t->api_version == NULL), "%s: kind without version",
                      t->name);
        const char *names[128];
        size_t n = 0;
        collect_json(t, names, &n, 128);
        for (size_t k = 0; k < t->nfields; k++)
            check_field(t, &t->fields[k]);
    }
    KT_ASSERT(kn_schema_at(kn_schema_count()) == NULL);
}

KT_TEST(kschema, every_served_resource_has_its_kind)
{
    for (size_t i = 0; i < kn_resource_count(); i++) {
        const kn_resource *r = kn_resource_at(i);
        char av[64];
        kn_resource_api_version(r, av, sizeof(av));
        const kn_schema_type *t = kn_schema_by_kind(av, r->kind);
        KT_ASSERT_MSG(t != NULL, "no schema for %s %s", av, r->kind);
        KT_ASSERT_STREQ(t->kind, r->kind);
        const kn_schema_field *meta = kn_schema_field_by_json(t, "metadata");
        KT_ASSERT(meta && meta->num == 1 && meta->kind == KN_SK_MESSAGE);
        KT_ASSERT_STREQ(meta->type->name, "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta");
    }
    /* and the ones kubectl sends to subresources */
    KT_ASSERT(kn_schema_by_kind("authentication.k8s.io/v1", "TokenRequest"));
    KT_ASSERT(kn_schema_by_kind("policy/v1", "Eviction"));
    KT_ASSERT(kn_schema_by_kind("autoscaling/v1", "Scale"));
    KT_ASSERT(kn_schema_by_kind("v1", "Binding"));
    KT_ASSERT(kn_schema_by_kind("v1", "DeleteOptions") ==
              kn_schema_by_kind("apps/v1", "DeleteOptions"));
    KT_ASSERT(kn_schema_by_kind("apps/v1", "Pod") == NULL);
    KT_ASSERT(kn_schema_by_kind("v1", "NoSuchKind") == NULL);
    KT_ASSERT(kn_schema_by_kind(NULL, "Pod") == NULL);
}

static const kn_schema_field *field(const char *type, const char *json)
{
    const kn_schema_type *t = kn_schema_by_name(type);
    KT_ASSERT_MSG(t != NULL, "no type %s", type);
    const kn_schema_field *f = kn_schema_field_by_json(t, json);
    KT_ASSERT_MSG(f != NULL, "no field %s in %s", json, type);
    return f;
}

#define CORE "io.k8s.api.core.v1."

KT_TEST(kschema, facts_from_upstream)
{
    const kn_schema_field *f = field("io.k8s.api.apps.v1.DeploymentSpec", "replicas");
    KT_ASSERT_EQ(f->num, 1);
    KT_ASSERT_EQ(f->kind, KN_SK_INT32);
    KT_ASSERT_EQ(f->flags, KN_SF_POINTER | KN_SF_OMITEMPTY);
    f = field("io.k8s.api.apps.v1.DeploymentSpec", "strategy");
    KT_ASSERT_EQ(f->num, 4);
    KT_ASSERT_STREQ(f->patch_strategy, "retainKeys");
    f = field(CORE "Container", "ports");
    KT_ASSERT_EQ(f->num, 6);
    KT_ASSERT_STREQ(f->merge_key, "containerPort");
    KT_ASSERT_STREQ(f->patch_strategy, "merge");
    f = field(CORE "Container", "envFrom");
    KT_ASSERT_EQ(f->num, 19);
    KT_ASSERT(f->merge_key == NULL);
    f = field(CORE "PodSpec", "volumes");
    KT_ASSERT_STREQ(f->patch_strategy, "merge,retainKeys");
    KT_ASSERT_STREQ(f->merge_key, "name");
    f = field(CORE "PodSpec", "containers");
    KT_ASSERT_EQ(f->flags, KN_SF_REPEATED); /* no omitempty: null when empty */
    f = field(CORE "Secret", "data");
    KT_ASSERT_EQ(f->num, 2);
    KT_ASSERT_EQ(f->kind, KN_SK_MAP_BYTES);
    f = field(CORE "ServicePort", "targetPort");
    KT_ASSERT_EQ(f->num, 4);
    KT_ASSERT_EQ(f->kind, KN_SK_INT_OR_STRING);
    f = field("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta", "creationTimestamp");
    KT_ASSERT_EQ(f->num, 8);
    KT_ASSERT_EQ(f->kind, KN_SK_TIME);
    f = field("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta", "managedFields");
    KT_ASSERT_EQ(f->num, 17);
    f = field("io.k8s.api.coordination.v1.LeaseSpec", "renewTime");
    KT_ASSERT_EQ(f->kind, KN_SK_MICROTIME);
    f = field(CORE "ResourceRequirements", "limits");
    KT_ASSERT_EQ(f->kind, KN_SK_MAP_QUANTITY);
    f = field("io.k8s.api.certificates.v1.CertificateSigningRequestSpec", "extra");
    KT_ASSERT_EQ(f->kind, KN_SK_MAP_STRLIST);
    f = field(CORE "NodeDaemonEndpoints", "kubeletEndpoint");
    KT_ASSERT_STREQ(f->type->fields[0].json, "Port");
    f = field("io.k8s.api.authentication.v1.TokenRequestSpec", "expirationSeconds");
    KT_ASSERT_EQ(f->flags, KN_SF_POINTER); /* no omitempty upstream */
}

KT_TEST(kschema, inline_structs_are_searched_by_json_name)
{
    /* Volume embeds VolumeSource (protobuf field 2) */
    const kn_schema_type *v = kn_schema_by_name(CORE "Volume");
    const kn_schema_field *f = kn_schema_field_by_json(v, "emptyDir");
    KT_ASSERT(f != NULL);
    KT_ASSERT_EQ(f->num, 2);
    KT_ASSERT(kn_schema_field_by_number(v, 2)->flags & KN_SF_INLINE);
    KT_ASSERT(kn_schema_field_by_json(v, "") == NULL);
    KT_ASSERT(kn_schema_field_by_json(v, "nope") == NULL);
    KT_ASSERT(kn_schema_field_by_number(v, 99) == NULL);
    /* Probe embeds ProbeHandler; EphemeralContainer its common part */
    KT_ASSERT(kn_schema_field_by_json(kn_schema_by_name(CORE "Probe"), "httpGet"));
    KT_ASSERT(kn_schema_field_by_json(kn_schema_by_name(CORE "EphemeralContainer"), "image"));
}

KT_TEST(kschema, wire_types_follow_the_kind)
{
    const kn_schema_field *f = field(CORE "ContainerPort", "containerPort");
    KT_ASSERT_EQ(kn_schema_wire_type(f), KN_WIRE_VARINT);
    f = field(CORE "Container", "name");
    KT_ASSERT_EQ(kn_schema_wire_type(f), KN_WIRE_LEN);
    f = field(CORE "PodSpec", "activeDeadlineSeconds");
    KT_ASSERT_EQ(kn_schema_wire_type(f), KN_WIRE_VARINT);
    f = field(CORE "ServicePort", "targetPort");
    KT_ASSERT_EQ(kn_schema_wire_type(f), KN_WIRE_LEN);
    f = field(CORE "PodSecurityContext", "supplementalGroups");
    KT_ASSERT_EQ(kn_schema_wire_type(f), KN_WIRE_VARINT);
    KT_ASSERT_STREQ(kn_schema_kind_name(KN_SK_INT_OR_STRING), "IntOrString");
    KT_ASSERT_STREQ(kn_schema_kind_name((kn_schema_kind)200), "unknown");
}

/* test-objects.c - Services, EndpointSlices and Namespaces as the API server
 * sends them, turned into the DNS model and a zone: every Service type,
 * slices merged per Service, readiness, and invalid objects skipped with
 * errors naming the object and the field. */
#include "dns/objects.h"
#include "dns/zone.h"
#include "lib/cleanup.h"
#include "lib/error.h"
#include "lib/json.h"
#include "test/runner/kt.h"
#include "test/unit/dns/helpers.h"

#include <stdlib.h>
#include <string.h>

#define MAX_DOCS 32

/* JSON documents parsed from single-quoted text ('...' → "..."). */
typedef struct docs {
    cJSON *v[MAX_DOCS];
    size_t n;
} docs;

static const cJSON *doc(docs *d, const char *text)
{
    cleanup_free char *s = strdup(text);
    for (char *p = s; *p; p++)
        *p = *p == '\'' ? '"' : *p;
    cleanup_error kn_error *err = NULL;
    KT_ASSERT(d->n < MAX_DOCS);
    KT_ASSERT_OK(kn_json_parse(s, strlen(s), 0, &d->v[d->n], &err), err);
    return d->v[d->n++];
}

static void docs_free(docs *d)
{
    for (size_t i = 0; i < d->n; i++)
        cJSON_Delete(d->v[i]);
}

#define SVC(ns, name, spec)                                                                        \
    "{'kind':'Service','metadata':{'namespace':'" ns "','name':'" name "'},'spec':" spec "}"
#define SLICE(ns, name, svc, rest)                                                                 \
    "{'kind':'EndpointSlice','metadata':{'namespace':'" ns "','name':'" name                       \
    "','labels':{'kubernetes.io/service-name':'" svc "'}}," rest "}"
#define NS(name) "{'kind':'Namespace','metadata':{'name':'" name "'}}"

static void add_service_ok(dns_objects *o, docs *d, const char *text)
{
    cleanup_error kn_error *err = NULL;
    KT_ASSERT_OK(dns_objects_add_service(o, doc(d, text), &err), err);
}

static void add_slice_ok(dns_objects *o, docs *d, const char *text)
{
    cleanup_error kn_error *err = NULL;
    KT_ASSERT_OK(dns_objects_add_slice(o, doc(d, text), &err), err);
}

static dns_zone *zone_of(const dns_model *m)
{
    dns_zone_config cfg;
    dns_zone_config_default(&cfg);
    cfg.serial = 7;
    dns_zone *z = NULL;
    cleanup_error kn_error *err = NULL;
    KT_ASSERT_OK(dns_zone_build(&cfg, m, &z, &err), err);
    return z;
}

#define LOOKUP(z, name, type) dnst_lookup(z, name, DNS_TYPE_##type)

KT_TEST(dns_objects, cluster_ip_services)
{
    docs d = {0};
    dns_objects *o = dns_objects_new();
    add_service_ok(o, &d,
                   SVC("default", "web",
                       "{'clusterIP':'10.96.0.20','clusterIPs':['10.96.0.20','fd00:96::20'],"
                       "'ports':[{'name':'http','port':80,'targetPort':8080},"
                       "{'name':'dns','port':53,'protocol':'UDP'}]}"));
    add_service_ok(o, &d,
                   SVC("default", "np",
                       "{'type':'NodePort','clusterIP':'10.96.0.21','ports':[{'port':8080,"
                       "'nodePort':30080}]}"));
    const dns_model *m = dns_objects_finish(o);
    KT_ASSERT_EQ(m->nservices, 2);
    KT_ASSERT_STREQ(m->services[0].name, "np"); /* sorted */
    KT_ASSERT_EQ(m->services[0].ncluster_ips, 1);
    KT_ASSERT_EQ(m->services[1].type, DNS_SVC_CLUSTER_IP);
    KT_ASSERT_EQ(m->services[1].ncluster_ips, 2);
    KT_ASSERT_EQ(m->services[1].ports[1].protocol, DNS_PROTO_UDP);
    dns_zone *z = zone_of(m);
    KT_ASSERT_STREQ(LOOKUP(z, "web.default.svc.cluster.local", A), "A 10.96.0.20");
    KT_ASSERT_STREQ(LOOKUP(z, "web.default.svc.cluster.local", AAAA), "AAAA fd00:96::20");
    KT_ASSERT_STREQ(LOOKUP(z, "_dns._udp.web.default.svc.cluster.local", SRV),
                    "SRV 0 100 53 web.default.svc.cluster.local.");
    KT_ASSERT_STREQ(LOOKUP(z, "20.0.96.10.in-addr.arpa", PTR),
                    "PTR web.default.svc.cluster.local.");
    KT_ASSERT_STREQ(LOOKUP(z, "np.default.svc.cluster.local", A), "A 10.96.0.21");
    KT_ASSERT_EQ(dns_objects_skipped(o), 0);
    dns_zone_free(z);
    dns_objects_free(o);
    docs_free(&d);
}

KT_TEST(dns_objects, headless_service_merges_its_slices)
{
    docs d = {0};
    dns_objects *o = dns_objects_new();
    add_service_ok(
        o, &d, SVC("prod", "db", "{'clusterIP':'None','ports':[{'name':'mysql','port':3306}]}"));
    add_slice_ok(
        o, &d,
        SLICE("prod", "db-a", "db",
              "'addressType':'IPv4','ports':[{'name':'mysql','port':13306,"
              "'protocol':'TCP'}],'endpoints':["
              "{'addresses':['10.244.1.10'],'hostname':'db-0','conditions':{'ready':true}},"
              "{'addresses':['10.244.1.11'],'hostname':'db-1'},"
              "{'addresses':['10.244.1.12'],'hostname':'db-2','conditions':{'ready':false}}]"));
    add_slice_ok(o, &d,
                 SLICE("prod", "db-b", "db",
                       "'addressType':'IPv6','ports':[{'name':'mysql','port':13306}],"
                       "'endpoints':[{'addresses':['fd00:244::13'],'hostname':'db-3'}]"));
    /* another Service's slice, and one of the same name in another namespace */
    add_slice_ok(o, &d,
                 SLICE("prod", "web-a", "web",
                       "'addressType':'IPv4','endpoints':[{'addresses':['10.244.9.9']}]"));
    add_slice_ok(o, &d,
                 SLICE("dev", "db-a", "db",
                       "'addressType':'IPv4','endpoints':[{'addresses':['10.244.8.8']}]"));
    const dns_model *m = dns_objects_finish(o);
    KT_ASSERT_EQ(m->nservices, 1);
    KT_ASSERT_EQ(m->services[0].type, DNS_SVC_HEADLESS);
    KT_ASSERT_EQ(m->services[0].nendpoints, 4);
    KT_ASSERT_EQ(m->services[0].nendpoint_ports, 1); /* the same port in both slices */
    dns_zone *z = zone_of(m);
    KT_ASSERT_STREQ(LOOKUP(z, "db.prod.svc.cluster.local", A), "A 10.244.1.10|A 10.244.1.11");
    KT_ASSERT_STREQ(LOOKUP(z, "db.prod.svc.cluster.local", AAAA), "AAAA fd00:244::13");
    KT_ASSERT_STREQ(LOOKUP(z, "db-1.db.prod.svc.cluster.local", A), "A 10.244.1.11");
    KT_ASSERT_STREQ(LOOKUP(z, "db-2.db.prod.svc.cluster.local", A), "NXDOMAIN");
    KT_ASSERT_STREQ(LOOKUP(z, "_mysql._tcp.db.prod.svc.cluster.local", SRV),
                    "SRV 0 33 13306 db-0.db.prod.svc.cluster.local.|"
                    "SRV 0 33 13306 db-1.db.prod.svc.cluster.local.|"
                    "SRV 0 33 13306 db-3.db.prod.svc.cluster.local.");
    KT_ASSERT_STREQ(LOOKUP(z, "11.1.244.10.in-addr.arpa", PTR),
                    "PTR db-1.db.prod.svc.cluster.local.");
    KT_ASSERT_STREQ(LOOKUP(z, "8.8.244.10.in-addr.arpa", PTR), "NOTAUTH");
    dns_zone_free(z);
    dns_objects_free(o);
    docs_free(&d);
}

KT_TEST(dns_objects, publish_not_ready_and_external_name)
{
    docs d = {0};
    dns_objects *o = dns_objects_new();
    add_service_ok(o, &d,
                   SVC("prod", "lazy", "{'clusterIP':'None','publishNotReadyAddresses':true}"));
    add_slice_ok(o, &d,
                 SLICE("prod", "lazy-a", "lazy",
                       "'addressType':'IPv4','endpoints':[{'addresses':['10.244.3.1'],"
                       "'hostname':'lazy-0','conditions':{'ready':false}}]"));
    add_service_ok(
        o, &d, SVC("default", "ext", "{'type':'ExternalName','externalName':'www.example.com.'}"));
    const dns_model *m = dns_objects_finish(o);
    dns_zone *z = zone_of(m);
    KT_ASSERT_STREQ(LOOKUP(z, "lazy.prod.svc.cluster.local", A), "A 10.244.3.1");
    KT_ASSERT_STREQ(LOOKUP(z, "lazy-0.lazy.prod.svc.cluster.local", A), "A 10.244.3.1");
    KT_ASSERT_STREQ(LOOKUP(z, "ext.default.svc.cluster.local", CNAME), "CNAME www.example.com.");
    dns_zone_free(z);
    dns_objects_free(o);
    docs_free(&d);
}

KT_TEST(dns_objects, namespaces)
{
    docs d = {0};
    dns_objects *o = dns_objects_new();
    cleanup_error kn_error *err = NULL;
    KT_ASSERT_OK(dns_objects_add_namespace(o, doc(&d, NS("team-a")), &err), err);
    KT_ASSERT_FAILS(dns_objects_add_namespace(o, doc(&d, NS("Team_B")), &err));
    KT_ASSERT_STREQ(kn_error_msg(err), "namespace Team_B: metadata.name: invalid DNS-1123 label");
    const dns_model *m = dns_objects_finish(o);
    KT_ASSERT_EQ(m->nnamespaces, 1);
    dns_zone *z = zone_of(m);
    KT_ASSERT_STREQ(LOOKUP(z, "team-a.svc.cluster.local", A), "NODATA");
    KT_ASSERT_STREQ(LOOKUP(z, "10-244-1-1.team-a.pod.cluster.local", A), "A 10.244.1.1");
    KT_ASSERT_STREQ(LOOKUP(z, "10-244-1-1.other.pod.cluster.local", A), "NXDOMAIN");
    KT_ASSERT_EQ(dns_objects_skipped(o), 1);
    dns_zone_free(z);
    dns_objects_free(o);
    docs_free(&d);
}

/* Each invalid Service is skipped with this error. */
static const struct {
    const char *json, *error;
} bad_services[] = {
    {"{'metadata':{'namespace':'default'},'spec':{}}",
     "service: metadata.name: required value is missing"},
    {SVC("default", "Web", "{}"), "service default/Web: metadata.name: invalid DNS-1035 label"},
    {SVC("default", "1web", "{}"), "service default/1web: metadata.name: invalid DNS-1035 label"},
    {SVC("de.fault", "web", "{}"), "service de.fault/web: metadata.namespace: invalid name"},
    {SVC("default", "web", "{'clusterIP':'10.96.0.300'}"),
     "service default/web: spec.clusterIPs[0]: invalid IP address \"10.96.0.300\""},
    {SVC("default", "web", "{'clusterIPs':['10.96.0.3', 7]}"),
     "service default/web: spec.clusterIPs[1]: expected string"},
    {SVC("default", "web", "{'clusterIP':'10.96.0.3','ports':[{'port':0}]}"),
     "service default/web: spec.ports[0].port: must be 1..65535, got 0"},
    {SVC("default", "web", "{'clusterIP':'10.96.0.3','ports':[{'port':80},{'port':65536}]}"),
     "service default/web: spec.ports[1].port: must be 1..65535, got 65536"},
    {SVC("default", "web", "{'ports':[{'port':80,'protocol':'ICMP'}]}"),
     "service default/web: spec.ports[0].protocol: unsupported value \"ICMP\" (TCP, UDP or SCTP)"},
    {SVC("default", "web", "{'ports':[{'port':'80'}]}"),
     "service default/web: spec.ports[0].port: expected number, got string"},
    {SVC("default", "web", "{'type':'Magic'}"),
     "service default/web: spec.type: unsupported value \"Magic\""},
    {SVC("default", "ext", "{'type':'ExternalName'}"),
     "service default/ext: spec.externalName: required value is missing"},
    {SVC("default", "ext", "{'type':'ExternalName','externalName':'10.1.2.3'}"),
     "service default/ext: spec.externalName: invalid DNS name \"10.1.2.3\""},
    {SVC("default", "ext", "{'type':'ExternalName','externalName':'a..b'}"),
     "service default/ext: spec.externalName: invalid DNS name \"a..b\""},
    {SVC("default", "web", "{'publishNotReadyAddresses':'yes'}"),
     "service default/web: spec.publishNotReadyAddresses: expected bool, got string"},
};

KT_TEST(dns_objects, invalid_services_are_skipped_naming_the_field)
{
    docs d = {0};
    dns_objects *o = dns_objects_new();
    for (size_t i = 0; i < KN_ARRAY_SIZE(bad_services); i++) {
        kn_error *err = NULL;
        const cJSON *j = doc(&d, bad_services[i].json);
        KT_ASSERT_FAILS(dns_objects_add_service(o, j, &err));
        KT_ASSERT_STREQ(kn_error_msg(err), bad_services[i].error);
        kn_error_free(&err);
    }
    KT_ASSERT_EQ(dns_objects_skipped(o), KN_ARRAY_SIZE(bad_services));
    KT_ASSERT_EQ(dns_objects_finish(o)->nservices, 0);
    dns_objects_free(o);
    docs_free(&d);
}

KT_TEST(dns_objects, invalid_slices)
{
    docs d = {0};
    dns_objects *o = dns_objects_new();
    cleanup_error kn_error *err = NULL;
    add_service_ok(o, &d, SVC("prod", "db", "{'clusterIP':'None'}"));
    /* slice-level errors skip the whole slice */
    KT_ASSERT_FAILS(dns_objects_add_slice(
        o, doc(&d, SLICE("prod", "s1", "db", "'addressType':'IPX','endpoints':[]")), &err));
    KT_ASSERT_STREQ(kn_error_msg(err),
                    "endpointslice prod/s1: addressType: unsupported value \"IPX\"");
    kn_error_free(&err);
    KT_ASSERT_FAILS(
        dns_objects_add_slice(o,
                              doc(&d, SLICE("prod", "s2", "db",
                                            "'addressType':'IPv4','ports':[{'port':99999}],"
                                            "'endpoints':[{'addresses':['10.244.0.1']}]")),
                              &err));
    KT_ASSERT_STREQ(kn_error_msg(err), "endpointslice prod/s2: ports[0].port: must be 1..65535, "
                                       "got 99999");
    kn_error_free(&err);
    /* endpoint-level errors skip the endpoint; the others stay */
    KT_ASSERT_FAILS(dns_objects_add_slice(
        o,
        doc(&d, SLICE("prod", "s3", "db",
                      "'addressType':'IPv4','endpoints':["
                      "{'addresses':['fd00::1']},"
                      "{'addresses':['10.244.0.2'],'hostname':'Bad_Host'},"
                      "{'addresses':[]},"
                      "{'addresses':['10.244.0.3'],'conditions':{'ready':'yes'}},"
                      "{'addresses':['10.244.0.4'],'hostname':'ok-4'}]")),
        &err));
    KT_ASSERT_STREQ(kn_error_msg(err),
                    "endpointslice prod/s3: endpoints[0].addresses[0]: invalid IPv4 address "
                    "\"fd00::1\"");
    KT_ASSERT_EQ(dns_objects_skipped(o), 2 + 4);
    const dns_model *m = dns_objects_finish(o);
    KT_ASSERT_EQ(m->nservices, 1);
    KT_ASSERT_EQ(m->services[0].nendpoints, 1);
    KT_ASSERT_STREQ(m->services[0].endpoints[0].hostname, "ok-4");
    dns_objects_free(o);
    docs_free(&d);
}

KT_TEST(dns_objects, endpoint_errors_name_the_field)
{
    static const struct {
        const char *endpoints, *error;
    } cases[] = {
        {"[{'hostname':'a'}]", "endpoints[0].addresses: required value is missing"},
        {"[{'addresses':[]}]", "endpoints[0].addresses: must have at least one address"},
        {"[{'addresses':[1]}]", "endpoints[0].addresses[0]: expected string"},
        {"[{'addresses':['10.1.1.1'],'hostname':'A'}]",
         "endpoints[0].hostname: invalid DNS-1123 label \"A\""},
        {"[{'addresses':['10.1.1.1']},{'addresses':['10.1.1.2'],'conditions':{'ready':1}}]",
         "endpoints[1].conditions.ready: expected bool, got number"},
    };
    for (size_t i = 0; i < KN_ARRAY_SIZE(cases); i++) {
        docs d = {0};
        dns_objects *o = dns_objects_new();
        cleanup_free char *text = NULL;
        KT_ASSERT(asprintf(&text, SLICE("ns", "s", "svc", "'addressType':'IPv4','endpoints':%s"),
                           cases[i].endpoints) > 0);
        kn_error *err = NULL;
        KT_ASSERT_FAILS(dns_objects_add_slice(o, doc(&d, text), &err));
        cleanup_free char *want = NULL;
        KT_ASSERT(asprintf(&want, "endpointslice ns/s: %s", cases[i].error) > 0);
        KT_ASSERT_STREQ(kn_error_msg(err), want);
        kn_error_free(&err);
        dns_objects_free(o);
        docs_free(&d);
    }
}

KT_TEST(dns_objects, ignored_slices_and_duplicates)
{
    docs d = {0};
    dns_objects *o = dns_objects_new();
    cleanup_error kn_error *err = NULL;
    add_service_ok(o, &d, SVC("default", "web", "{'clusterIP':'10.96.0.5'}"));
    add_service_ok(o, &d, SVC("default", "web", "{'clusterIP':'10.96.0.6'}"));
    /* no service-name label, FQDN addresses: not for DNS, not errors */
    add_slice_ok(o, &d,
                 "{'metadata':{'namespace':'default','name':'x'},'addressType':'IPv4',"
                 "'endpoints':[{'addresses':['10.1.1.1']}]}");
    add_slice_ok(o, &d,
                 SLICE("default", "f", "web",
                       "'addressType':'FQDN','endpoints':[{'addresses':['a.example']}]"));
    /* a port without a number stands for all ports: no SRV record */
    add_slice_ok(o, &d,
                 SLICE("default", "w", "web",
                       "'addressType':'IPv4','ports':[{'name':'any'}],"
                       "'endpoints':[{'addresses':['10.244.0.7'],'hostname':'w-0'}]"));
    const dns_model *m = dns_objects_finish(o);
    KT_ASSERT_EQ(m->nservices, 1);
    KT_ASSERT_STREQ(m->services[0].cluster_ips[0], "10.96.0.5"); /* the first one stays */
    KT_ASSERT_EQ(m->services[0].nendpoints, 1);
    KT_ASSERT_EQ(m->services[0].nendpoint_ports, 0);
    KT_ASSERT_EQ(dns_objects_skipped(o), 1);
    dns_zone *z = zone_of(m);
    KT_ASSERT_STREQ(LOOKUP(z, "w-0.web.default.svc.cluster.local", A), "A 10.244.0.7");
    dns_zone_free(z);
    dns_objects_free(o);
    docs_free(&d);
}

/* The lean copies a DNS-only cache keeps (kc_informer_options.transform)
 * answer every name as the full objects do. */
KT_TEST(dns_objects, lean_copies_give_the_same_zone)
{
    static const char *const svcs[] = {
        SVC("prod", "db",
            "{'clusterIP':'None','publishNotReadyAddresses':true,'sessionAffinity':'None',"
            "'ports':[{'name':'mysql','port':3306,'targetPort':13306,'nodePort':0}]}"),
        SVC("prod", "ext", "{'type':'ExternalName','externalName':'db.example.org'}"),
        SVC("prod", "web",
            "{'type':'NodePort','clusterIP':'10.96.0.30','clusterIPs':['10.96.0.30'],"
            "'externalTrafficPolicy':'Local','ports':[{'name':'http','port':80,"
            "'nodePort':30080,'protocol':'TCP','appProtocol':'http'}]}")};
    static const char *const slice =
        "{'kind':'EndpointSlice','metadata':{'namespace':'prod','name':'db-a','uid':'u1',"
        "'labels':{'kubernetes.io/service-name':'db','app':'db'},'annotations':{'a':'b'},"
        "'ownerReferences':[{'kind':'Service','name':'db'}]},'addressType':'IPv4',"
        "'ports':[{'name':'mysql','port':13306,'protocol':'TCP'}],'endpoints':["
        "{'addresses':['10.244.1.10'],'hostname':'db-0','nodeName':'n1','zone':'z',"
        "'conditions':{'ready':true,'serving':true,'terminating':false},"
        "'targetRef':{'kind':'Pod','name':'db-0'}},"
        "{'addresses':['10.244.1.11'],'hostname':'db-1','conditions':{'ready':false}}]}";
    static const char *const names[] = {"db.prod.svc.cluster.local",
                                        "db-1.db.prod.svc.cluster.local",
                                        "_mysql._tcp.db.prod.svc.cluster.local",
                                        "ext.prod.svc.cluster.local",
                                        "web.prod.svc.cluster.local",
                                        "_http._tcp.web.prod.svc.cluster.local",
                                        "30.0.96.10.in-addr.arpa",
                                        "prod.svc.cluster.local"};
    static const int types[] = {DNS_TYPE_A, DNS_TYPE_A,   DNS_TYPE_SRV, DNS_TYPE_CNAME,
                                DNS_TYPE_A, DNS_TYPE_SRV, DNS_TYPE_PTR, DNS_TYPE_A};
    docs d = {0};
    dns_zone *z[2];
    for (int lean = 0; lean < 2; lean++) {
        dns_objects *o = dns_objects_new();
        for (size_t i = 0; i < sizeof(svcs) / sizeof(svcs[0]); i++) {
            cJSON *s = (cJSON *)doc(&d, svcs[i]);
            if (lean)
                dns_objects_lean_service(s);
            KT_ASSERT_OK(dns_objects_add_service(o, s, NULL), NULL);
        }
        cJSON *sl = (cJSON *)doc(&d, slice);
        cJSON *ns = (cJSON *)doc(&d, NS("prod"));
        if (lean) {
            dns_objects_lean_slice(sl);
            dns_objects_lean_namespace(ns);
            KT_ASSERT(!cJSON_GetObjectItem(
                cJSON_GetArrayItem(cJSON_GetObjectItem(sl, "endpoints"), 0), "targetRef"));
        }
        KT_ASSERT_OK(dns_objects_add_slice(o, sl, NULL), NULL);
        KT_ASSERT_OK(dns_objects_add_namespace(o, ns, NULL), NULL);
        z[lean] = zone_of(dns_objects_finish(o));
        dns_objects_free(o);
    }
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        cleanup_free char *full = strdup(dnst_lookup(z[0], names[i], types[i]));
        KT_ASSERT_STREQ(dnst_lookup(z[1], names[i], types[i]), full);
    }
    dns_zone_free(z[0]);
    dns_zone_free(z[1]);
    docs_free(&d);
}

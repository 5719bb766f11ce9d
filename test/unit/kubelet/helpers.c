/* helpers.c - shared helpers for the kubelet unit tests. */
#include <stdlib.h>
#include <string.h>

#include "lib/cleanup.h"
#include "lib/json.h"
#include "lib/xalloc.h"
#include "lib/yaml.h"
#include "test/runner/kt.h"
#include "test/unit/kubelet/helpers.h"

cJSON *kt_yaml(const char *yaml)
{
    kn_error *err = NULL;
    cJSON *doc = NULL;
    KT_ASSERT_OK(kn_yaml_parse(yaml, strlen(yaml), 0, "test", 0, &doc, &err), err);
    return doc;
}

kl_pod *kt_pod(const char *yaml)
{
    cleanup_cjson cJSON *doc = kt_yaml(yaml);
    kn_error *err = NULL;
    kl_pod *pod = NULL;
    KT_ASSERT_OK(kl_pod_decode(doc, &pod, &err), err);
    return pod;
}

char *kt_pod_error(const char *yaml)
{
    cleanup_cjson cJSON *doc = kt_yaml(yaml);
    kn_error *err = NULL;
    kl_pod *pod = NULL;
    int rc = kl_pod_decode(doc, &pod, &err);
    KT_ASSERT_MSG(rc < 0, "decoding succeeded, expected an error");
    KT_ASSERT_EQ(kn_error_code(err), KN_EINVAL);
    char *msg = xstrdup(kn_error_msg(err));
    kn_error_free(&err);
    return msg;
}

kl_pod *kt_pod_spec(const char *spec_yaml)
{
    cleanup_free char *doc = xasprintf("apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n"
                                       "  namespace: ns1\n  uid: uid-1\nspec:\n%s",
                                       spec_yaml);
    return kt_pod(doc);
}

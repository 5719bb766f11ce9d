/* List, watch and delete options: upstream's parameter codec errors (400),
 * ListOptions and DeleteOptions validation (422 causes), and the
 * DeleteOptions body replacing the query. */
#include <stdlib.h>
#include <string.h>

#include "controlplane/reqopts.h"
#include "lib/cleanup.h"
#include "test/runner/kt.h"

/* A query as "k=v" pairs, NULL-terminated. */
static const char *get(void *arg, const char *key)
{
    const char *const *kv = arg;
    size_t n = strlen(key);
    for (; *kv; kv++)
        if (strncmp(*kv, key, n) == 0 && (*kv)[n] == '=')
            return *kv + n + 1;
    return NULL;
}

KT_TEST(reqopts, list_values_decode_or_fail_in_strconvs_words)
{
    const char *ok[] = {"limit=5", "labelSelector=a=b", "resourceVersion=7",
                        "resourceVersionMatch=Exact", NULL};
    kn_list_opts o;
    kn_causes causes = {0};
    kn_error *err = NULL;
    KT_ASSERT_OK(kn_list_opts_parse(get, ok, false, &o, &causes, &err), err);
    KT_ASSERT_EQ(causes.len, 0);
    KT_ASSERT_EQ(o.limit, 5);
    KT_ASSERT_EQ(o.rv, 7);
    KT_ASSERT(o.exact);
    KT_ASSERT_STREQ(o.label_sel, "a=b");
    kn_list_opts_free(&o);

    const char *bad_limit[] = {"limit=abc", NULL};
    KT_ASSERT(kn_list_opts_parse(get, bad_limit, false, &o, &causes, &err) < 0);
    KT_ASSERT_STREQ(kn_error_msg(err), "strconv.ParseInt: parsing \"abc\": invalid syntax");
    kn_error_free(&err);
    kn_list_opts_free(&o);

    const char *bad_rv[] = {"resourceVersion=cool", NULL};
    KT_ASSERT(kn_list_opts_parse(get, bad_rv, true, &o, &causes, &err) < 0);
    KT_ASSERT_STREQ(kn_error_msg(err), "resourceVersion: Invalid value: \"cool\": "
                                       "strconv.ParseUint: parsing \"cool\": invalid syntax");
    kn_error_free(&err);
    kn_list_opts_free(&o);

    const char *cont[] = {"continue=5:/registry/x", "resourceVersion=9", NULL};
    KT_ASSERT(kn_list_opts_parse(get, cont, false, &o, &causes, &err) < 0);
    KT_ASSERT_CONTAINS(kn_error_msg(err), "not allowed when using continue");
    kn_error_free(&err);
    kn_list_opts_free(&o);
}

KT_TEST(reqopts, list_validation_gives_causes)
{
    const char *q[] = {"resourceVersionMatch=Sometimes", NULL};
    kn_list_opts o;
    kn_causes causes = {0};
    kn_error *err = NULL;
    KT_ASSERT_OK(kn_list_opts_parse(get, q, false, &o, &causes, &err), err);
    KT_ASSERT_EQ(causes.len, 2);
    cleanup_free char *msg = kn_options_invalid_message("ListOptions", &causes);
    KT_ASSERT_STREQ(msg, "ListOptions.meta.k8s.io \"\" is invalid: [resourceVersionMatch: "
                         "Forbidden: resourceVersionMatch is forbidden unless resourceVersion "
                         "is provided, resourceVersionMatch: Unsupported value: \"Sometimes\": "
                         "supported values: \"Exact\", \"NotOlderThan\", \"\"]");
    kn_causes_free(&causes);
    kn_list_opts_free(&o);
    const char *w[] = {"resourceVersionMatch=Exact", "resourceVersion=3", NULL};
    KT_ASSERT_OK(kn_list_opts_parse(get, w, true, &o, &causes, &err), err);
    KT_ASSERT_EQ(causes.len, 1);
    KT_ASSERT_CONTAINS(causes.items[0].message, "forbidden for watch");
    kn_causes_free(&causes);
    kn_list_opts_free(&o);
}

KT_TEST(reqopts, delete_body_replaces_the_query)
{
    const char *q[] = {"gracePeriodSeconds=abc", "propagationPolicy=Sideways", NULL};
    const char *body = "{\"kind\":\"DeleteOptions\",\"apiVersion\":\"v1\",\"gracePeriodSeconds\":"
                       "30,\"propagationPolicy\":\"Foreground\",\"preconditions\":{\"uid\":\"u\"},"
                       "\"bogus\":1}";
    kn_delete_opts o;
    kn_causes causes = {0};
    kn_error *err = NULL;
    KT_ASSERT_OK(kn_delete_opts_parse(get, q, body, strlen(body), &o, &causes, &err), err);
    KT_ASSERT_EQ(causes.len, 0);
    KT_ASSERT_EQ(o.grace, 30);
    KT_ASSERT_STREQ(o.propagation, "Foreground");
    KT_ASSERT_STREQ(o.uid, "u");
    kn_delete_opts_free(&o);
    /* without a body the query counts */
    KT_ASSERT(kn_delete_opts_parse(get, q, "", 0, &o, &causes, &err) < 0);
    KT_ASSERT_STREQ(kn_error_msg(err), "strconv.ParseInt: parsing \"abc\": invalid syntax");
    kn_error_free(&err);
    kn_delete_opts_free(&o);
}

KT_TEST(reqopts, delete_options_are_validated)
{
    const char *none[] = {NULL};
    const char *typed = "{\"gracePeriodSeconds\":\"0\"}";
    kn_delete_opts o;
    kn_causes causes = {0};
    kn_error *err = NULL;
    KT_ASSERT(kn_delete_opts_parse(get, none, typed, strlen(typed), &o, &causes, &err) < 0);
    KT_ASSERT_STREQ(kn_error_msg(err), "json: cannot unmarshal string into Go struct field "
                                       "DeleteOptions.gracePeriodSeconds of type int64");
    kn_error_free(&err);
    kn_delete_opts_free(&o);
    const char *bad = "propagationPolicy: Sideways\norphanDependents: true\ndryRun: [Some]\n";
    KT_ASSERT_OK(kn_delete_opts_parse(get, none, bad, strlen(bad), &o, &causes, &err), err);
    cleanup_free char *msg = kn_options_invalid_message("DeleteOptions", &causes);
    KT_ASSERT_STREQ(msg, "DeleteOptions.meta.k8s.io \"\" is invalid: [propagationPolicy: Invalid "
                         "value: \"Sideways\": orphanDependents and deletionPropagation cannot "
                         "be both set, propagationPolicy: Unsupported value: \"Sideways\": "
                         "supported values: \"Foreground\", \"Background\", \"Orphan\", \"nil\", "
                         "dryRun: Unsupported value: \"Some\": supported values: \"All\"]");
    kn_causes_free(&causes);
    kn_delete_opts_free(&o);
    const char *orphan[] = {"orphanDependents=true", NULL};
    KT_ASSERT_OK(kn_delete_opts_parse(get, orphan, "", 0, &o, &causes, &err), err);
    KT_ASSERT_STREQ(o.propagation, "Orphan");
    kn_delete_opts_free(&o);
}

/* helpers.h - shared helpers for the kubelet unit tests. */
#ifndef KNODE_TEST_UNIT_KUBELET_HELPERS_H
#define KNODE_TEST_UNIT_KUBELET_HELPERS_H

#include <cjson/cJSON.h>

#include "kubelet/podspec.h"
#include "lib/error.h"

/* Parses a YAML document (test input, must be valid YAML) into cJSON. */
cJSON *kt_yaml(const char *yaml);

/* Decodes a pod from YAML; fails the test on error. */
kl_pod *kt_pod(const char *yaml);

/* Decodes a pod from YAML expecting failure; returns the error message
 * (owned by the caller). */
char *kt_pod_error(const char *yaml);

/* The standard test pod "web" in namespace "ns1" with uid "uid-1" and the
 * given spec body (YAML, indented by 2 under "spec:"). */
kl_pod *kt_pod_spec(const char *spec_yaml);

#endif

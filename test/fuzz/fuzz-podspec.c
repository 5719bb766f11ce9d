/* fuzz-podspec.c - pod specs reaching the kubelet: a YAML or JSON manifest
 * (as a static pod file or an API object arrives) decoded and validated by
 * kl_pod_decode, then every derived value the kubelet computes from it. Any
 * input must give a pod or an error, never a crash or a leak. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "kubelet/podspec.h"
#include "lib/yaml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void exercise(const kl_pod *pod)
{
    (void)kl_pod_compute_qos(pod);
    (void)kl_pod_grace_period(pod);
    (void)kl_pod_is_critical(pod);
    for (size_t i = 0; i < pod->n_containers; i++) {
        char *img = kl_image_with_default_tag(pod->containers[i].image);
        free(img);
        (void)kl_pod_container(pod, pod->containers[i].name, NULL);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    kn_error *err = NULL;
    kn_yaml_docs docs = {0};
    if (kn_yaml_or_json_parse((const char *)data, size, 1 << 20, "fuzz", 0, &docs, &err) < 0) {
        kn_error_free(&err);
        return 0;
    }
    for (size_t i = 0; i < docs.n; i++) {
        kl_pod *pod = NULL;
        if (kl_pod_decode(docs.docs[i], &pod, &err) == 0) {
            exercise(pod);
            kl_pod_unref(kl_pod_ref(pod));
            kl_pod_unref(pod);
        }
        kn_error_free(&err);
    }
    kn_yaml_docs_free(&docs);
    return 0;
}

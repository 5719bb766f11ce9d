/* test-msg.c - heap-built CRI messages and map access (cri/msg.h). */
#include <string.h>

#include "cri/api.pb-c.h"
#include "cri/msg.h"
#include "lib/cleanup.h"
#include "lib/xalloc.h"
#include "test/runner/kt.h"

KT_TEST(cri_msg, build_pack_decode_free)
{
    Runtime__V1__PodSandboxConfig *cfg = cri_msg_new(&runtime__v1__pod_sandbox_config__descriptor);
    cfg->metadata = cri_msg_new(&runtime__v1__pod_sandbox_metadata__descriptor);
    cri_str_set(&cfg->metadata->name, "web");
    cri_str_set(&cfg->metadata->name, "web-2"); /* replaces, frees the old one */
    cri_str_set(&cfg->hostname, NULL);          /* back to "" */
    KT_ASSERT_STREQ(cfg->hostname, "");
    cri_map_put(cfg, "labels", "app", "web");
    cri_map_put(cfg, "labels", "tier", "front");
    cri_map_put(cfg, "labels", "app", "web-2"); /* replaces the value */
    cri_map_put(cfg, "annotations", "a", "");
    cfg->dns_config = cri_msg_new(&runtime__v1__dnsconfig__descriptor);
    cri_strv_add(&cfg->dns_config->servers, &cfg->dns_config->n_servers, "10.96.0.10");
    cri_strv_add(&cfg->dns_config->servers, &cfg->dns_config->n_servers, "10.96.0.11");

    KT_ASSERT_EQ(cri_map_len(cfg, "labels"), 2);
    KT_ASSERT_STREQ(cri_map_get(cfg, "labels", "app"), "web-2");
    KT_ASSERT_STREQ(cri_map_get(cfg, "labels", "tier"), "front");
    KT_ASSERT_STREQ(cri_map_get(cfg, "annotations", "a"), "");
    KT_ASSERT(cri_map_get(cfg, "labels", "missing") == NULL);
    KT_ASSERT(cri_map_get(NULL, "labels", "app") == NULL);
    KT_ASSERT_EQ(cri_map_len(NULL, "labels"), 0);

    /* the wire form decodes to the same content */
    size_t len = protobuf_c_message_get_packed_size(&cfg->base);
    cleanup_free uint8_t *buf = xmalloc(len);
    protobuf_c_message_pack(&cfg->base, buf);
    Runtime__V1__PodSandboxConfig *back = runtime__v1__pod_sandbox_config__unpack(NULL, len, buf);
    KT_ASSERT(back);
    KT_ASSERT_STREQ(back->metadata->name, "web-2");
    KT_ASSERT_STREQ(cri_map_get(back, "labels", "app"), "web-2");
    KT_ASSERT_EQ(back->dns_config->n_servers, 2);
    KT_ASSERT_STREQ(back->dns_config->servers[1], "10.96.0.11");
    cri_msg_free(back);
    cri_msg_free(cfg); /* one tree, one free: ASan checks there is no leak */
    cri_msg_free(NULL);
}

KT_TEST(cri_msg, maps_of_every_request_kind)
{
    Runtime__V1__ContainerFilter *f = cri_msg_new(&runtime__v1__container_filter__descriptor);
    cri_map_put(f, "label_selector", "io.kubernetes.pod.uid", "u1");
    KT_ASSERT_STREQ(cri_map_get(f, "label_selector", "io.kubernetes.pod.uid"), "u1");
    cri_msg_free(f);
    Runtime__V1__LinuxContainerResources *r =
        cri_msg_new(&runtime__v1__linux_container_resources__descriptor);
    cri_map_put(r, "unified", "memory.high", "1G");
    KT_ASSERT_EQ(cri_map_len(r, "unified"), 1);
    cri_msg_free(r);
}

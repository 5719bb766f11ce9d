/* Tests for kubelet/runtime_state (snapshots from CRI replies, termination
 * messages) and the restart count taken from a pod's log directory. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cri/msg.h"
#include "kubelet/containers.h"
#include "kubelet/runtime_state.h"
#include "kubelet/sandbox.h"
#include "kubelet/sync.h"
#include "lib/cleanup.h"
#include "lib/xalloc.h"
#include "test/runner/kt.h"

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    KT_ASSERT(f);
    fputs(text, f);
    fclose(f);
}

static Runtime__V1__ContainerStatus *cstatus(const char *id, const char *name,
                                             Runtime__V1__ContainerState state, int64_t created)
{
    Runtime__V1__ContainerStatus *s = cri_msg_new(&runtime__v1__container_status__descriptor);
    cri_str_set(&s->id, id);
    s->metadata = cri_msg_new(&runtime__v1__container_metadata__descriptor);
    cri_str_set(&s->metadata->name, "from-metadata");
    s->state = state;
    s->created_at = created;
    s->started_at = created + 1;
    s->finished_at = created + 2;
    s->exit_code = 3;
    cri_str_set(&s->reason, "Error");
    cri_str_set(&s->message, "runtime says");
    s->image = cri_msg_new(&runtime__v1__image_spec__descriptor);
    cri_str_set(&s->image->image, "localhost/busybox:1.35");
    cri_str_set(&s->image_ref, "sha256:abc");
    cri_map_put(s, "labels", KL_LABEL_CONTAINER_NAME, name);
    cri_map_put(s, "annotations", KL_ANN_CONTAINER_HASH, "1a2b");
    cri_map_put(s, "annotations", KL_ANN_RESTART_COUNT, "4");
    cri_map_put(s, "annotations", KL_ANN_POD_TERMINATION_GRACE, "12");
    return s;
}

KT_TEST(runtime_state, snapshot_from_cri_replies)
{
    Runtime__V1__PodSandboxStatus *sb[2];
    for (int i = 0; i < 2; i++) {
        sb[i] = cri_msg_new(&runtime__v1__pod_sandbox_status__descriptor);
        cri_str_set(&sb[i]->id, i ? "new" : "old");
        sb[i]->metadata = cri_msg_new(&runtime__v1__pod_sandbox_metadata__descriptor);
        cri_str_set(&sb[i]->metadata->name, "web");
        sb[i]->metadata->attempt = (uint32_t)i;
        sb[i]->created_at = 100 + i;
        sb[i]->state = i ? RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_READY
                         : RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_NOTREADY;
        sb[i]->network = cri_msg_new(&runtime__v1__pod_sandbox_network_status__descriptor);
        cri_str_set(&sb[i]->network->ip, i ? "10.244.1.3" : "");
    }
    Runtime__V1__ContainerStatus *cs[2] = {
        cstatus("c-old", "app", RUNTIME__V1__CONTAINER_STATE__CONTAINER_EXITED, 10),
        cstatus("c-new", "app", RUNTIME__V1__CONTAINER_STATE__CONTAINER_RUNNING, 20)};
    const char *sids[2] = {"old", "new"};
    kl_pod_runtime *rt = kl_pod_runtime_build("uid-1", sb, 2, cs, sids, 2);
    KT_ASSERT_STREQ(rt->sandboxes[0].id, "new"); /* newest first */
    KT_ASSERT(rt->sandboxes[0].ready && !rt->sandboxes[1].ready);
    KT_ASSERT_STREQ(kl_rt_newest_sandbox(rt)->ip, "10.244.1.3");
    const kl_rt_container *c = kl_rt_find(rt, "app");
    KT_ASSERT_STREQ(c->id, "c-new");
    KT_ASSERT_STREQ(c->sandbox_id, "new");
    KT_ASSERT_EQ(c->state, KL_CS_RUNNING);
    KT_ASSERT(c->has_hash && c->hash == 0x1a2b);
    KT_ASSERT_EQ(c->restart_count, 4);
    KT_ASSERT_EQ(c->pod_grace_s, 12);
    KT_ASSERT_EQ(c->finished_at, 0); /* running: no exit facts */
    KT_ASSERT(c->reason == NULL);
    const kl_rt_container *old = &rt->containers[1];
    KT_ASSERT_EQ(old->exit_code, 3);
    KT_ASSERT_STREQ(old->reason, "Error");
    KT_ASSERT_STREQ(old->message, "runtime says");
    KT_ASSERT_EQ(kl_rt_running(rt), 1);
    KT_ASSERT(kl_rt_find(rt, "other") == NULL);
    kl_pod_runtime_free(rt);
    for (int i = 0; i < 2; i++) {
        cri_msg_free(sb[i]);
        cri_msg_free(cs[i]);
    }
}

KT_TEST(runtime_state, termination_messages)
{
    cleanup_free char *msg_file = xasprintf("%s/msg", kt_tmpdir());
    cleanup_free char *log = xasprintf("%s/0.log", kt_tmpdir());
    write_text(msg_file, "disk full");
    write_text(log, "2024-01-01T00:00:00.1Z stdout F line one\n"
                    "2024-01-01T00:00:00.2Z stderr F line two\n");
    Runtime__V1__ContainerStatus *s =
        cstatus("c", "app", RUNTIME__V1__CONTAINER_STATE__CONTAINER_EXITED, 1);
    cri_map_put(s, "annotations", KL_ANN_TERMINATION_MESSAGE_PATH, "/dev/termination-log");
    s->mounts = xcalloc(1, sizeof(*s->mounts));
    s->mounts[0] = cri_msg_new(&runtime__v1__mount__descriptor);
    cri_str_set(&s->mounts[0]->container_path, "/dev/termination-log");
    cri_str_set(&s->mounts[0]->host_path, msg_file);
    s->n_mounts = 1;
    cri_str_set(&s->log_path, log);
    cleanup_free char *m = kl_termination_message(s);
    KT_ASSERT_STREQ(m, "disk full");
    Runtime__V1__ContainerStatus *one[1] = {s};
    kl_pod_runtime *rt = kl_pod_runtime_build("u", NULL, 0, one, NULL, 1);
    KT_ASSERT_STREQ(rt->containers[0].message, "runtime says: disk full");
    kl_pod_runtime_free(rt);

    /* an empty file: with FallbackToLogsOnError and a failure, the log's tail */
    write_text(msg_file, "");
    cleanup_free char *none = kl_termination_message(s);
    KT_ASSERT(none == NULL);
    cri_map_put(s, "annotations", KL_ANN_TERMINATION_MESSAGE_POLICY, "FallbackToLogsOnError");
    cleanup_free char *tail = kl_termination_message(s);
    KT_ASSERT_STREQ(tail, "line one\nline two\n");
    s->exit_code = 0;
    cleanup_free char *ok = kl_termination_message(s);
    KT_ASSERT(ok == NULL);
    cri_msg_free(s);
}

KT_TEST(runtime_state, restart_count_from_log_dir)
{
    cleanup_free char *dir = xasprintf("%s/app", kt_tmpdir());
    KT_ASSERT_EQ(kl_restart_count_from_logs(dir), 0);
    KT_ASSERT(mkdir(dir, 0755) == 0);
    KT_ASSERT_EQ(kl_restart_count_from_logs(dir), 0);
    static const char *const files[] = {"0.log", "3.log", "7.log.20240101-000000", "x.log", "12"};
    for (size_t i = 0; i < KN_ARRAY_SIZE(files); i++) {
        cleanup_free char *p = xasprintf("%s/%s", dir, files[i]);
        write_text(p, "");
    }
    KT_ASSERT_EQ(kl_restart_count_from_logs(dir), 8);
}

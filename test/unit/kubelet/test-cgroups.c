/* Tests for kubelet/cgroups and kubelet/volumes on plain directories: a fake
 * mounts table points the cgroup code at hierarchies under the test's
 * temporary directory, so no root and no real cgroup is needed. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kubelet/cgroups.h"
#include "kubelet/sandbox.h"
#include "kubelet/volumes.h"
#include "lib/cleanup.h"
#include "lib/xalloc.h"
#include "test/runner/kt.h"
#include "test/unit/kubelet/helpers.h"

static char *read_text(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    char buf[8192];
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    return xstrdup(buf);
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    KT_ASSERT_MSG(f, "cannot write %s", path);
    fputs(text, f);
    fclose(f);
}

/* Fake hierarchies cpu, memory, cpuset (with parent values) and a second
 * mount of cpu that must be ignored. */
static char *fake_mounts(void)
{
    const char *t = kt_tmpdir();
    static const char *const names[] = {"cpu", "memory", "cpuset", "pids"};
    for (size_t i = 0; i < KN_ARRAY_SIZE(names); i++) {
        cleanup_free char *d = xasprintf("%s/cg/%s", t, names[i]);
        cleanup_free char *cg = xasprintf("%s/cg", t);
        mkdir(cg, 0755);
        KT_ASSERT(mkdir(d, 0755) == 0);
    }
    cleanup_free char *cpus = xasprintf("%s/cg/cpuset/cpuset.cpus", t);
    cleanup_free char *mems = xasprintf("%s/cg/cpuset/cpuset.mems", t);
    write_text(cpus, "0-1\n");
    write_text(mems, "0\n");
    char *mounts = xasprintf("%s/mounts", t);
    cleanup_free char *text = xasprintf("proc /proc proc rw 0 0\n"
                                        "cgroup %s/cg/cpu cgroup rw,relatime,cpu 0 0\n"
                                        "cgroup %s/cg/memory cgroup rw,nosuid,memory 0 0\n"
                                        "cgroup %s/cg/cpuset cgroup rw,cpuset 0 0\n"
                                        "cgroup %s/cg/pids cgroup rw,pids 0 0\n"
                                        "cgroup %s/elsewhere cgroup ro,cpu 0 0\n"
                                        "cgroup2 %s/cg/unified cgroup2 rw 0 0\n",
                                        t, t, t, t, t, t);
    write_text(mounts, text);
    return mounts;
}

/* cgroupfs creates these files in a new cgroup; on a plain directory the
 * test creates them so the writes have a target. */
static void fake_files(const char *cpu_dir, const char *mem_dir, const char *cpuset_dir)
{
    static const char *const cpu_files[] = {"cpu.shares", "cpu.cfs_period_us", "cpu.cfs_quota_us"};
    for (size_t i = 0; i < KN_ARRAY_SIZE(cpu_files); i++) {
        cleanup_free char *f = xasprintf("%s/%s", cpu_dir, cpu_files[i]);
        write_text(f, "");
    }
    cleanup_free char *m = xasprintf("%s/memory.limit_in_bytes", mem_dir);
    write_text(m, "");
    cleanup_free char *c = xasprintf("%s/cpuset.cpus", cpuset_dir);
    cleanup_free char *s = xasprintf("%s/cpuset.mems", cpuset_dir);
    write_text(c, "");
    write_text(s, "");
}

KT_TEST(cgroups, finds_v1_hierarchies)
{
    cleanup_free char *mounts = fake_mounts();
    kl_cgroups *cg = NULL;
    kn_error *err = NULL;
    KT_ASSERT_OK(kl_cgroups_open(mounts, &cg, &err), err);
    KT_ASSERT(!kl_cgroups_v2(cg));
    KT_ASSERT_EQ(kl_cgroups_count(cg), 4); /* the second cpu mount and cgroup2 are left out */
    kl_cgroups_free(cg);

    /* a pure v2 host */
    cleanup_free char *v2 = xasprintf("%s/mounts2", kt_tmpdir());
    write_text(v2, "cgroup2 /sys/fs/cgroup cgroup2 rw 0 0\n");
    KT_ASSERT_OK(kl_cgroups_open(v2, &cg, &err), err);
    KT_ASSERT(kl_cgroups_v2(cg));
    KT_ASSERT_STREQ(kl_cgroups_mount(cg, 0), "/sys/fs/cgroup");
    kl_cgroups_free(cg);

    cleanup_free char *none = xasprintf("%s/mounts3", kt_tmpdir());
    write_text(none, "proc /proc proc rw 0 0\n");
    KT_ASSERT_FAILS(kl_cgroups_open(none, &cg, &err));
    KT_ASSERT_EQ(kn_error_code(err), KN_ENOTSUP);
    kn_error_free(&err);
}

static void count_uid1(const char *uid, const char *path, void *arg)
{
    (void)path;
    if (strcmp(uid, "uid-1") == 0)
        (*(int *)arg)++;
}

KT_TEST(cgroups, creates_limits_and_removes_pod_cgroups)
{
    cleanup_free char *mounts = fake_mounts();
    const char *t = kt_tmpdir();
    kl_cgroups *cg = NULL;
    kn_error *err = NULL;
    KT_ASSERT_OK(kl_cgroups_open(mounts, &cg, &err), err);
    KT_ASSERT_OK(kl_cgroups_ensure_qos(cg, "/tb", &err), err);
    cleanup_free char *be = xasprintf("%s/cg/cpu/tb/kubepods/besteffort", t);
    struct stat st;
    KT_ASSERT(stat(be, &st) == 0 && S_ISDIR(st.st_mode));

    const char *path = "/tb/kubepods/burstable/poduid-1";
    KT_ASSERT_OK(kl_cgroups_ensure(cg, path, NULL, &err), err);
    KT_ASSERT(kl_cgroups_exists(cg, path));
    cleanup_free char *cpu_dir = xasprintf("%s/cg/cpu%s", t, path);
    cleanup_free char *mem_dir = xasprintf("%s/cg/memory%s", t, path);
    cleanup_free char *set_dir = xasprintf("%s/cg/cpuset%s", t, path);
    fake_files(cpu_dir, mem_dir, set_dir);
    kl_cgroup_limits lim = {
        .cpu_shares = 256, .cpu_quota_us = 50000, .cpu_period_us = 100000, .memory_limit = 1 << 20};
    KT_ASSERT_OK(kl_cgroups_ensure(cg, path, &lim, &err), err);
    cleanup_free char *shares_f = xasprintf("%s/cpu.shares", cpu_dir);
    cleanup_free char *quota_f = xasprintf("%s/cpu.cfs_quota_us", cpu_dir);
    cleanup_free char *mem_f = xasprintf("%s/memory.limit_in_bytes", mem_dir);
    cleanup_free char *shares = read_text(shares_f), *quota = read_text(quota_f),
                      *mem = read_text(mem_f);
    KT_ASSERT_STREQ(shares, "256");
    KT_ASSERT_STREQ(quota, "50000");
    KT_ASSERT_STREQ(mem, "1048576");

    /* listing finds the pod; removal takes the files' directories along only
     * when they are empty cgroups: on plain directories, remove the files first */
    int found = 0;
    kl_cgroups_list_pods(cg, "/tb", count_uid1, &found);
    KT_ASSERT_EQ(found, 1);
    cleanup_free char *rm = xasprintf("rm -f %s/* %s/* %s/*", cpu_dir, mem_dir, set_dir);
    KT_ASSERT(system(rm) == 0);
    KT_ASSERT_OK(kl_cgroups_remove(cg, path, &err), err);
    KT_ASSERT(!kl_cgroups_exists(cg, path));
    KT_ASSERT(stat(mem_dir, &st) < 0 && errno == ENOENT);
    KT_ASSERT_OK(kl_cgroups_remove(cg, path, &err), err); /* idempotent */
    kl_cgroups_free(cg);
}

KT_TEST(volumes, pod_dir_volumes_and_hosts_file)
{
    kl_node_config nc;
    kl_node_config_defaults(&nc);
    cleanup_free char *root = xasprintf("%s/root", kt_tmpdir());
    cleanup_free char *hp = xasprintf("%s/host-dir", kt_tmpdir());
    cleanup_free char *hf = xasprintf("%s/host-file", kt_tmpdir());
    nc.root_dir = root;
    nc.cluster_domain = "cluster.local";
    cleanup_free char *spec =
        xasprintf("  hostname: h\n  subdomain: s\n"
                  "  volumes:\n"
                  "  - {name: data, emptyDir: {}}\n"
                  "  - {name: made, hostPath: {path: %s, type: DirectoryOrCreate}}\n"
                  "  - {name: file, hostPath: {path: %s, type: FileOrCreate}}\n"
                  "  containers: [{name: a, image: x}]\n",
                  hp, hf);
    kl_pod *p = kt_pod_spec(spec);
    kn_error *err = NULL;
    KT_ASSERT_OK(kl_volumes_setup(&nc, p, &err), err);
    cleanup_free char *ed = kl_volume_host_path(&nc, p, &p->volumes[0]);
    struct stat st;
    KT_ASSERT(stat(ed, &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 0777) == 0777);
    KT_ASSERT(stat(hp, &st) == 0 && S_ISDIR(st.st_mode));
    KT_ASSERT(stat(hf, &st) == 0 && S_ISREG(st.st_mode));

    char *hosts = NULL;
    KT_ASSERT_OK(kl_etc_hosts_write(&nc, p, "10.244.1.9", &hosts, &err), err);
    cleanup_free char *text = read_text(hosts);
    KT_ASSERT_CONTAINS(text, "# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n");
    KT_ASSERT_CONTAINS(text, "10.244.1.9\th.s.ns1.svc.cluster.local\th\n");
    free(hosts);

    char *tl = NULL;
    KT_ASSERT_OK(kl_termination_log_create(&nc, p, "a", &tl, &err), err);
    KT_ASSERT(stat(tl, &st) == 0 && (st.st_mode & 0777) == 0666);
    free(tl);
    kl_pod_unref(p);

    /* a type mismatch reads like upstream's mount failure */
    cleanup_free char *bad = xasprintf("  volumes: [{name: v, hostPath: {path: %s, type: "
                                       "Directory}}]\n  containers: [{name: a, image: x}]\n",
                                       hf);
    p = kt_pod_spec(bad);
    KT_ASSERT_FAILS(kl_volumes_setup(&nc, p, &err));
    KT_ASSERT_CONTAINS(kn_error_msg(err), "MountVolume.SetUp failed for volume \"v\": hostPath "
                                          "type check failed:");
    KT_ASSERT_CONTAINS(kn_error_msg(err), "is not a directory");
    kn_error_free(&err);
    kl_pod_unref(p);

    KT_ASSERT_OK(kl_volumes_teardown(&nc, "uid-1", &err), err);
    cleanup_free char *pd = xasprintf("%s/pods/uid-1", root);
    KT_ASSERT(stat(pd, &st) < 0 && errno == ENOENT);
    KT_ASSERT(stat(hp, &st) == 0); /* hostPath data is never removed */
    KT_ASSERT_OK(kl_volumes_teardown(&nc, "uid-1", &err), err);
}

/* volumes.c - the pod directory, emptyDir and hostPath volumes, the managed
 * /etc/hosts and termination message files (see volumes.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kubelet/dns.h"
#include "kubelet/sandbox.h"
#include "kubelet/volumes.h"
#include "lib/cleanup.h"
#include "lib/log.h"
#include "lib/strbuf.h"
#include "lib/xalloc.h"

#define EMPTY_DIR_PLUGIN "kubernetes.io~empty-dir"

static char *empty_dir_path(const kl_node_config *nc, const char *uid, const char *name)
{
    return xasprintf("%s/pods/%s/volumes/" EMPTY_DIR_PLUGIN "/%s", nc->root_dir, uid, name);
}

char *kl_volume_host_path(const kl_node_config *nc, const kl_pod *pod, const kl_volume *v)
{
    if (v->kind == KL_VOL_HOST_PATH)
        return xstrdup(v->path);
    return empty_dir_path(nc, pod->uid, v->name);
}

/* mkdir -p with mode for the last component. */
static int mkdir_p(const char *path, mode_t mode, kn_error **err)
{
    cleanup_free char *p = xstrdup(path);
    for (char *s = p + 1; *s; s++) {
        if (*s != '/')
            continue;
        *s = '\0';
        if (mkdir(p, 0755) < 0 && errno != EEXIST)
            return kn_error_errno(err, errno, "mkdir %s", p);
        *s = '/';
    }
    if (mkdir(p, mode) < 0 && errno != EEXIST)
        return kn_error_errno(err, errno, "mkdir %s", p);
    return 0;
}

static bool is_mount_point(const char *path)
{
    struct stat a, b;
    cleanup_free char *parent = xasprintf("%s/..", path);
    return stat(path, &a) == 0 && stat(parent, &b) == 0 && a.st_dev != b.st_dev;
}

static int setup_empty_dir(const kl_node_config *nc, const kl_pod *pod, const kl_volume *v,
                           kn_error **err)
{
    cleanup_free char *dir = empty_dir_path(nc, pod->uid, v->name);
    if (mkdir_p(dir, 0777, err) < 0)
        return -1;
    if (chmod(dir, 0777) < 0) /* mkdir's mode is masked by the umask */
        return kn_error_errno(err, errno, "chmod %s", dir);
    if (v->medium && strcmp(v->medium, "Memory") == 0 && !is_mount_point(dir) &&
        mount("tmpfs", dir, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0777") < 0)
        return kn_error_errno(err, errno, "mount tmpfs on %s", dir);
    return 0;
}

static const char *file_type_name(mode_t m)
{
    return S_ISDIR(m)    ? "directory"
           : S_ISREG(m)  ? "file"
           : S_ISSOCK(m) ? "socket"
           : S_ISCHR(m)  ? "character device"
           : S_ISBLK(m)  ? "block device"
                         : "other";
}

static int check_host_path_type(const kl_volume *v, const struct stat *st, kn_error **err)
{
    const char *t = v->path_type ? v->path_type : "";
    struct {
        const char *type;
        bool ok;
        const char *what;
    } checks[] = {
        {"Directory", S_ISDIR(st->st_mode), "a directory"},
        {"DirectoryOrCreate", S_ISDIR(st->st_mode), "a directory"},
        {"File", S_ISREG(st->st_mode), "a file"},
        {"FileOrCreate", S_ISREG(st->st_mode), "a file"},
        {"Socket", S_ISSOCK(st->st_mode), "a socket file"},
        {"CharDevice", S_ISCHR(st->st_mode), "a character device"},
        {"BlockDevice", S_ISBLK(st->st_mode), "a block device"},
    };
    for (size_t i = 0; i < KN_ARRAY_SIZE(checks); i++)
        if (strcmp(t, checks[i].type) == 0 && !checks[i].ok)
            return kn_error_set(err, KN_EINVAL, "hostPath type check failed: %s is not %s (%s)",
                                v->path, checks[i].what, file_type_name(st->st_mode));
    return 0;
}

static int setup_host_path(const kl_volume *v, kn_error **err)
{
    const char *t = v->path_type ? v->path_type : "";
    struct stat st;
    if (stat(v->path, &st) == 0)
        return check_host_path_type(v, &st, err);
    if (errno != ENOENT)
        return kn_error_errno(err, errno, "stat %s", v->path);
    if (strcmp(t, "DirectoryOrCreate") == 0)
        return mkdir_p(v->path, 0755, err);
    if (strcmp(t, "FileOrCreate") == 0) {
        int fd = open(v->path, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
        if (fd < 0)
            return kn_error_errno(err, errno, "create %s", v->path);
        close(fd);
        return 0;
    }
    if (*t)
        return kn_error_set(err, KN_ENOTFOUND, "hostPath type check failed: %s is not %s", v->path,
                            strcmp(t, "Directory") == 0 ? "a directory"
                            : strcmp(t, "File") == 0    ? "a file"
                                                        : "present");
    return 0; /* no type: the runtime creates a missing directory */
}

int kl_volumes_setup(const kl_node_config *nc, const kl_pod *pod, kn_error **err)
{
    cleanup_free char *dir = kl_pod_dir(nc, pod->uid);
    if (mkdir_p(dir, 0750, err) < 0)
        return kn_error_wrap(err, "create pod directory");
    for (size_t i = 0; i < pod->n_volumes; i++) {
        const kl_volume *v = &pod->volumes[i];
        int rc = 0;
        if (v->kind == KL_VOL_EMPTY_DIR)
            rc = setup_empty_dir(nc, pod, v, err);
        else if (v->kind == KL_VOL_HOST_PATH)
            rc = setup_host_path(v, err);
        if (rc < 0)
            return kn_error_wrap(err, "MountVolume.SetUp failed for volume \"%s\"", v->name);
    }
    return 0;
}

static int write_whole(const char *path, const char *data, size_t len, mode_t mode, kn_error **err)
{
    cleanup_free char *tmp = xasprintf("%s.tmp", path);
    int fd = open(tmp, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, mode);
    if (fd < 0)
        return kn_error_errno(err, errno, "create %s", tmp);
    ssize_t n = write(fd, data, len);
    int e = errno;
    if (close(fd) < 0 && n >= 0)
        n = -1, e = errno;
    if (n != (ssize_t)len || rename(tmp, path) < 0) {
        unlink(tmp);
        return kn_error_errno(err, n < 0 ? e : errno ? errno : EIO, "write %s", path);
    }
    return 0;
}

static char *managed_hosts(const kl_node_config *nc, const kl_pod *pod, const char *pod_ip,
                           kn_error **err)
{
    cleanup_free char *host = NULL, *domain = NULL;
    if (kl_pod_hostname(pod, nc->cluster_domain, &host, &domain, err) < 0)
        return NULL;
    /* the FQDN form is for the kernel only; the hosts file names the short host */
    char *dot = strchr(host, '.');
    if (dot && pod->set_hostname_as_fqdn)
        *dot = '\0';
    kn_buf b = KN_BUF_INIT;
    kn_buf_append_str(&b, "# Kubernetes-managed hosts file.\n"
                          "127.0.0.1\tlocalhost\n"
                          "::1\tlocalhost ip6-localhost ip6-loopback\n"
                          "fe00::0\tip6-localnet\n"
                          "fe00::0\tip6-mcastprefix\n"
                          "fe00::1\tip6-allnodes\n"
                          "fe00::2\tip6-allrouters\n");
    if (pod_ip && *pod_ip) {
        if (*domain)
            kn_buf_appendf(&b, "%s\t%s.%s\t%s\n", pod_ip, host, domain, host);
        else
            kn_buf_appendf(&b, "%s\t%s\n", pod_ip, host);
    }
    return kn_buf_steal(&b);
}

static char *node_hosts(kn_error **err)
{
    cleanup_file FILE *f = fopen("/etc/hosts", "r");
    kn_buf b = KN_BUF_INIT;
    kn_buf_append_str(&b, "# Kubernetes-managed hosts file (host network).\n");
    if (!f) {
        if (errno != ENOENT) {
            kn_buf_free(&b);
            kn_error_errno(err, errno, "read /etc/hosts");
            return NULL;
        }
        return kn_buf_steal(&b);
    }
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        kn_buf_append(&b, chunk, n);
    return kn_buf_steal(&b);
}

int kl_etc_hosts_write(const kl_node_config *nc, const kl_pod *pod, const char *pod_ip, char **path,
                       kn_error **err)
{
    cleanup_free char *text =
        pod->host_network ? node_hosts(err) : managed_hosts(nc, pod, pod_ip, err);
    if (!text)
        return kn_error_wrap(err, "write /etc/hosts of pod %s/%s", pod->namespace_, pod->name);
    cleanup_free char *dir = kl_pod_dir(nc, pod->uid);
    if (mkdir_p(dir, 0750, err) < 0)
        return -1;
    cleanup_free char *file = xasprintf("%s/etc-hosts", dir);
    if (write_whole(file, text, strlen(text), 0644, err) < 0)
        return -1;
    *path = kn_steal_ptr(file);
    return 0;
}

int kl_termination_log_create(const kl_node_config *nc, const kl_pod *pod, const char *container,
                              char **path, kn_error **err)
{
    cleanup_free char *dir =
        xasprintf("%s/pods/%s/containers/%s", nc->root_dir, pod->uid, container);
    if (mkdir_p(dir, 0750, err) < 0)
        return -1;
    unsigned char rnd[4] = {0};
    if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
        return kn_error_errno(err, errno, "getrandom");
    cleanup_free char *file = xasprintf("%s/%02x%02x%02x%02x", dir, rnd[0], rnd[1], rnd[2], rnd[3]);
    int fd = open(file, O_CREAT | O_WRONLY | O_CLOEXEC, 0666);
    if (fd < 0)
        return kn_error_errno(err, errno, "create %s", file);
    fchmod(fd, 0666);
    close(fd);
    *path = kn_steal_ptr(file);
    return 0;
}

/* ---- teardown ------------------------------------------------------------------------------ */

static int remove_at(int parent, const char *name, dev_t dev, int depth)
{
    struct stat st;
    if (fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return errno == ENOENT ? 0 : -errno;
    if (!S_ISDIR(st.st_mode))
        return unlinkat(parent, name, 0) < 0 && errno != ENOENT ? -errno : 0;
    if (st.st_dev != dev)
        return -EBUSY; /* a mount point: never cross it */
    if (depth > 64)
        return -ELOOP;
    int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    DIR *d = fdopendir(fd);
    if (!d) {
        close(fd);
        return -errno;
    }
    int rc = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
            int r = remove_at(dirfd(d), e->d_name, dev, depth + 1);
            if (r < 0 && !rc)
                rc = r;
        }
    closedir(d);
    if (!rc && unlinkat(parent, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
        rc = -errno;
    return rc;
}

int kl_remove_tree(const char *path, kn_error **err)
{
    struct stat st;
    if (lstat(path, &st) < 0)
        return errno == ENOENT ? 0 : kn_error_errno(err, errno, "stat %s", path);
    int rc = remove_at(AT_FDCWD, path, st.st_dev, 0);
    if (rc < 0)
        return kn_error_errno(err, -rc, "remove %s", path);
    return 0;
}

int kl_volumes_teardown(const kl_node_config *nc, const char *uid, kn_error **err)
{
    cleanup_free char *ed = xasprintf("%s/pods/%s/volumes/" EMPTY_DIR_PLUGIN, nc->root_dir, uid);
    DIR *d = opendir(ed);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d))) {
            if (e->d_name[0] == '.')
                continue;
            cleanup_free char *p = xasprintf("%s/%s", ed, e->d_name);
            if (is_mount_point(p) && umount2(p, MNT_DETACH) < 0)
                KN_WARN("kubelet", "umount %s: %s", p, strerror(errno));
        }
        closedir(d);
    }
    cleanup_free char *dir = kl_pod_dir(nc, uid);
    return kl_remove_tree(dir, err);
}

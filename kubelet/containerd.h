/* containerd.h - the containerd `knode standalone` starts and supervises
 * when no --container-runtime-endpoint is given (as k3s does): a fresh host
 * has no usable runtime configuration (Debian's containerd wants a pause
 * image from a registry that may be unreachable).
 *
 * Everything lives under <dir> (<data-dir>/containerd): config.toml, root,
 * state, the socket and containerd.log. The generated config sets the
 * sandbox image to knode's pause image (localhost/pause:3.9), the cgroupfs
 * driver, the CNI directories, runc as the default runtime and crun as the
 * "crun" handler when installed, restrict_oom_score_adj (hosts without
 * CAP_SYS_RESOURCE) and pod netns mounts under the state directory. At start
 * the image tarballs (*.tar) of the images directories are imported into
 * the k8s.io namespace with ctr. A thread restarts containerd when it dies,
 * with backoff (1 s doubling to 30 s, reset after 60 s of running); stop
 * terminates it (SIGTERM, SIGKILL after 10 s). */
#ifndef KNODE_KUBELET_CONTAINERD_H
#define KNODE_KUBELET_CONTAINERD_H

#include <stdbool.h>
#include <sys/types.h>

#include "lib/error.h"

#define KL_PAUSE_IMAGE "localhost/pause:3.9"

typedef struct kl_containerd_opts {
    const char *dir;               /* state directory (created) */
    const char *const *image_dirs; /* NULL-terminated directories of *.tar to import */
    const char *cni_conf_dir;      /* CRI cni.conf_dir */
    const char *cni_bin_dir;       /* NULL: /usr/lib/cni, else /opt/cni/bin */
    const char *containerd_bin;    /* NULL: "containerd" from PATH */
    const char *ctr_bin;           /* NULL: "ctr" from PATH */
    const char *runc_bin;          /* NULL: runc from PATH */
    const char *crun_bin;          /* NULL: crun from PATH when installed */
    int stream_port;               /* CRI streaming server on 127.0.0.1; 0: 10010 */
} kl_containerd_opts;

/* The config.toml text for o (caller frees). runc/crun: resolved binaries
 * (crun NULL: no crun handler). */
char *kl_containerd_config(const kl_containerd_opts *o, const char *runc, const char *crun);

typedef struct kl_containerd kl_containerd;

/* Writes the config, starts containerd, waits until it answers, imports
 * the images and starts the supervisor thread. */
int kl_containerd_start(const kl_containerd_opts *o, kl_containerd **out, kn_error **err);

/* "unix://<dir>/containerd.sock" (owned by c). */
const char *kl_containerd_endpoint(const kl_containerd *c);

/* The running containerd's PID (0 while restarting). */
pid_t kl_containerd_pid(kl_containerd *c);

/* Number of restarts after a crash. */
int kl_containerd_restarts(kl_containerd *c);

/* Stops the supervisor and containerd; frees c. NULL is fine. */
void kl_containerd_stop(kl_containerd *c);

#endif

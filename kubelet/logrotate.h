/* logrotate.h - container log rotation as upstream kubelet's container log
 * manager: every period, each running container's log (its CRI log path)
 * larger than max_size is renamed to <log>.<YYYYMMDD-hhmmss> and the
 * runtime told to reopen it (ReopenContainerLog; renamed back when that
 * fails); at most max_files files are kept in all (the current one and
 * max_files-1 rotated ones, the oldest removed first). A log file that has
 * vanished is reopened too.
 *
 * Upstream gzips all rotated files but the newest; knode keeps them plain
 * (zlib is not among its libraries), which the log reader does not read
 * anyway (only the current file is served, as upstream). */
#ifndef KNODE_KUBELET_LOGROTATE_H
#define KNODE_KUBELET_LOGROTATE_H

#include <stdint.h>

#include "cri/grpc.h"
#include "lib/error.h"

#define KL_LOG_MAX_SIZE_DEFAULT (10 * 1024 * 1024) /* --container-log-max-size 10Mi */
#define KL_LOG_MAX_FILES_DEFAULT 5                 /* --container-log-max-files */

/* Asks the runtime to reopen container id's log; 0 or a negative code. */
typedef int (*kl_reopen_fn)(void *arg, const char *id, kn_error **err);

/* Rotates one log file now (whatever its size): removes the oldest rotated
 * files so that max_files remain with the new one, renames path to
 * path.<time of now_ns, UTC> and calls reopen. */
int kl_logrotate_file(const char *path, const char *id, int max_files, int64_t now_ns,
                      kl_reopen_fn reopen, void *arg, kn_error **err);

typedef struct kl_logrotate_opts {
    cri_conn *conn;    /* borrowed */
    int64_t max_size;  /* bytes; 0: 10 MiB */
    int max_files;     /* 0: 5; at least 2 */
    int64_t period_ns; /* 0: 10 s (upstream containerLogMonitorInterval) */
} kl_logrotate_opts;

/* One pass over the runtime's running containers (what the thread does
 * every period). */
int kl_logrotate_pass(const kl_logrotate_opts *o, kn_error **err);

typedef struct kl_logrotate kl_logrotate;

/* Starts the rotation thread. */
int kl_logrotate_start(const kl_logrotate_opts *o, kl_logrotate **out, kn_error **err);

/* Stops the thread and frees. NULL is fine. */
void kl_logrotate_stop(kl_logrotate *lr);

#endif

/* logs.h - reading a container's CRI log file as upstream kubelet serves
 * /containerLogs: PodLogOptions from the query, then a pull-based reader
 * that applies tailLines, sinceSeconds/sinceTime, timestamps and
 * limitBytes, joins partial (P) lines, and in follow mode keeps reading as
 * the file grows and across rotation until the container stops and the
 * file is drained, or the client goes away. */
#ifndef KNODE_KUBELET_LOGS_H
#define KNODE_KUBELET_LOGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "lib/error.h"

/* PodLogOptions as the kubelet uses them (upstream's LogOptions). */
typedef struct kl_log_opts {
    bool follow;
    bool previous;
    bool timestamps;
    int64_t tail_lines;  /* -1: all */
    int64_t limit_bytes; /* -1: no limit */
    int64_t since_ns;    /* ns since the epoch; 0: from the start */
} kl_log_opts;

/* Looks up a query parameter: its value, or NULL when absent. */
typedef const char *(*kl_query_fn)(void *arg, const char *key);

/* Decodes the PodLogOptions of a query string as upstream's parameter
 * codec does (a bool is true unless "0" or "false"; "tail" is the old name
 * of tailLines, "all" meaning none) and validates them as
 * ValidatePodLogOptions. now_ns turns sinceSeconds into a time. Errors:
 * KN_EINVAL when a value does not decode (HTTP 400), KN_ERANGE when it is
 * out of range or both since forms are given (HTTP 422), with upstream's
 * field message. */
int kl_log_opts_parse(kl_log_opts *o, kl_query_fn get, void *arg, int64_t now_ns, kn_error **err);

/* Follow mode: how the reader learns that it may stop. */
typedef struct kl_log_follow {
    /* True while the container runs (asked at most once a second at the
     * end of the file; NULL: runs until the client goes away). */
    bool (*running)(void *arg);
    void *arg;
    int client_fd; /* the client's socket, watched for hang-up (-1: none) */
} kl_log_follow;

typedef struct kl_log_reader kl_log_reader;

/* Opens the log at path (the current file; rotated ones are not read, as
 * upstream) and positions it for o->tail_lines. follow may be NULL when
 * !o->follow (it is copied). */
int kl_log_reader_open(const char *path, const kl_log_opts *o, const kl_log_follow *follow,
                       kl_log_reader **out, kn_error **err);

/* Fills buf with up to max bytes of output, blocking in follow mode until
 * there is some. Returns the number of bytes, or 0 at the end. */
ssize_t kl_log_reader_read(kl_log_reader *r, char *buf, size_t max);

/* Closes and frees. NULL is fine. */
void kl_log_reader_free(kl_log_reader *r);

#endif

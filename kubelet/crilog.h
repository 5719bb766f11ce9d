/* crilog.h - one line of the CRI container log format, as containerd and
 * CRI-O write it and upstream kubelet reads it:
 *
 *   <RFC 3339 (nano) time> <stdout|stderr> <tag>[:<tag>...] <content>\n
 *
 * The first tag is "P" for a partial line (the runtime split a long line;
 * the next parts follow, the last one tagged "F") or "F" for a full one;
 * later tags are ignored, as upstream does for forward compatibility. */
#ifndef KNODE_KUBELET_CRILOG_H
#define KNODE_KUBELET_CRILOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum kl_log_stream {
    KL_LOG_STDOUT = 0,
    KL_LOG_STDERR = 1,
} kl_log_stream;

/* One parsed line; the pointers borrow the input. */
typedef struct kl_crilog_line {
    int64_t time_ns; /* the timestamp, ns since the epoch */
    const char *ts;  /* the timestamp as written */
    size_t ts_len;   /* (at most 63 bytes) */
    kl_log_stream stream;
    bool partial;    /* tag P: the message goes on in the next line */
    const char *msg; /* content, without the line's '\n' */
    size_t msg_len;
    bool newline; /* the line ended with '\n' (an incomplete last line does not) */
} kl_crilog_line;

/* Parses one line of len bytes (its '\n', if any, last). Returns 0, or
 * -EINVAL when the time does not parse, the stream is neither stdout nor
 * stderr, or the tag or its separator is missing. Never reads past len and
 * needs no NUL. */
int kl_crilog_parse(const char *line, size_t len, kl_crilog_line *out);

#endif

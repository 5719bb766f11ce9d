/* file.h - reading a whole file, the one way every component does it. */
#ifndef KNODE_LIB_FILE_H
#define KNODE_LIB_FILE_H

#include <stddef.h>

#include "lib/error.h"

/* Reads the regular file path whole (at most max bytes) into a
 * NUL-terminated buffer the caller frees; *len (may be NULL) gets its size.
 * Opened non-blocking, so a FIFO named by mistake is refused, not waited on.
 * Errors name the file: errno codes, KN_EINVAL (not a regular file),
 * KN_ETOOLARGE (over max). */
int kn_read_file(const char *path, size_t max, char **out, size_t *len, kn_error **err);

#endif

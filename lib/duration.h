/* duration.h - Go-style durations ("300ms", "1.5h", "2m30s"), as upstream
 * components take them on the command line and in config files. */
#ifndef KNODE_LIB_DURATION_H
#define KNODE_LIB_DURATION_H

#include <stddef.h>
#include <stdint.h>

#include "lib/error.h"

#define KN_NSEC_PER_MSEC INT64_C(1000000)
#define KN_NSEC_PER_SEC INT64_C(1000000000)

/* Parses s (units ns, us, µs, ms, s, m, h; a sign; decimal fractions; "0"
 * alone) into nanoseconds. Errors: KN_EINVAL (syntax, naming s), KN_ERANGE. */
int kn_duration_parse(const char *s, int64_t *out_ns, kn_error **err);

/* Formats like Go's time.Duration.String(): "1h2m3.5s", "250ms", "0s".
 * Writes at most size bytes including the NUL; returns buf. */
char *kn_duration_format(int64_t ns, char *buf, size_t size);

#endif

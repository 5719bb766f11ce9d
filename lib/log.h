/* log.h - one logging module for every component.
 *
 * Lines look like klog's text format, so operators' log tooling carries over:
 *
 *   I1121 11:38:00.123456   4242 kubelet] "pod started" pod=default/web reason="Back off"
 *
 * Levels are error, warning and info; info lines have a verbosity (-v N, as
 * klog): kn_log_v(N) is true when N <= the configured verbosity. Messages are
 * printf-formatted, key=value fields come from kn_log_kv(). Each line is
 * written with one write() so threads do not interleave. The sink is
 * pluggable (stderr by default; tests capture it). */
#ifndef KNODE_LIB_LOG_H
#define KNODE_LIB_LOG_H

#include <stdarg.h>
#include <stdbool.h>

typedef enum kn_log_level {
    KN_LOG_ERROR = 0,
    KN_LOG_WARNING = 1,
    KN_LOG_INFO = 2,
} kn_log_level;

/* A sink receives one complete line, NUL-terminated, ending in '\n'. */
typedef void (*kn_log_sink)(kn_log_level level, const char *line, void *userdata);

void kn_log_set_verbosity(int v);
int kn_log_get_verbosity(void);
static inline bool kn_log_v(int v)
{
    extern int kn_log_verbosity_;
    return v <= __atomic_load_n(&kn_log_verbosity_, __ATOMIC_RELAXED);
}

/* Replaces the sink; NULL restores stderr. Not for use while logging races. */
void kn_log_set_sink(kn_log_sink sink, void *userdata);

/* Writes one line: level letter, time, pid, component, then the message. */
void kn_log_msg(kn_log_level level, const char *component, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void kn_log_msgv(kn_log_level level, const char *component, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

/* Structured form: a quoted message then key=value pairs from a NULL-ended
 * list of (const char *key, const char *value); values that are empty or hold
 * spaces, quotes, '=', '\\' or control characters are quoted and escaped, so a
 * value can never forge a line or a field. */
void kn_log_kv(kn_log_level level, const char *component, const char *msg, ...)
    __attribute__((sentinel));

#define KN_ERR(comp, ...) kn_log_msg(KN_LOG_ERROR, comp, __VA_ARGS__)
#define KN_WARN(comp, ...) kn_log_msg(KN_LOG_WARNING, comp, __VA_ARGS__)
#define KN_INFO(comp, ...) kn_log_msg(KN_LOG_INFO, comp, __VA_ARGS__)
#define KN_V(n, comp, ...)                                                                         \
    do {                                                                                           \
        if (kn_log_v(n))                                                                           \
            kn_log_msg(KN_LOG_INFO, comp, __VA_ARGS__);                                            \
    } while (0)

#endif

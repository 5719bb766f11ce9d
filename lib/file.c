/* file.c - see file.h. */
#include "lib/file.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/xalloc.h"

int kn_read_file(const char *path, size_t max, char **out, size_t *len, kn_error **err)
{
    /* O_NONBLOCK: a FIFO named by mistake must not hang the reader */
    cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return kn_error_errno(err, errno, "read %s", path);
    struct stat st;
    if (fstat(fd, &st) < 0)
        return kn_error_errno(err, errno, "read %s", path);
    if (!S_ISREG(st.st_mode))
        return kn_error_set(err, KN_EINVAL, "read %s: not a regular file", path);
    size_t cap = 4096, got = 0;
    cleanup_free char *buf = xmalloc(cap);
    for (;;) {
        if (got + 1 >= cap) {
            if (cap > max)
                return kn_error_set(err, KN_ETOOLARGE, "read %s: larger than %zu bytes", path, max);
            cap *= 2;
            buf = xrealloc(buf, cap);
        }
        ssize_t n = read(fd, buf + got, cap - got - 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return kn_error_errno(err, errno, "read %s", path);
        if (n == 0)
            break;
        got += (size_t)n;
    }
    if (got > max)
        return kn_error_set(err, KN_ETOOLARGE, "read %s: larger than %zu bytes", path, max);
    buf[got] = '\0';
    *out = kn_steal_ptr(buf);
    if (len)
        *len = got;
    return 0;
}

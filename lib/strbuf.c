#include "lib/strbuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/xalloc.h"

char kn_buf_empty_[1];

void kn_buf_init(kn_buf *b)
{
    b->data = kn_buf_empty_;
    b->len = 0;
    b->cap = 0;
}

void kn_buf_reserve(kn_buf *b, size_t extra)
{
    if (extra > (size_t)-1 - b->len - 1)
        kn_oom();
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap = cap > (size_t)-1 / 2 ? need : cap * 2;
    if (b->cap == 0) {
        b->data = xmalloc(cap);
        b->data[0] = '\0';
    } else {
        b->data = xrealloc(b->data, cap);
    }
    b->cap = cap;
}

void kn_buf_append(kn_buf *b, const void *data, size_t len)
{
    if (len == 0)
        return;
    kn_buf_reserve(b, len);
    memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
}

void kn_buf_append_str(kn_buf *b, const char *s)
{
    kn_buf_append(b, s, strlen(s));
}

void kn_buf_append_char(kn_buf *b, char c)
{
    kn_buf_reserve(b, 1);
    b->data[b->len++] = c;
    b->data[b->len] = '\0';
}

void kn_buf_appendv(kn_buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    size_t room = b->cap ? b->cap - b->len : 0;
    int n = vsnprintf(room ? b->data + b->len : NULL, room, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return; /* an invalid format or wide character: append nothing */
    if ((size_t)n >= room) {
        kn_buf_reserve(b, (size_t)n);
        vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    }
    b->len += (size_t)n;
}

void kn_buf_appendf(kn_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    kn_buf_appendv(b, fmt, ap);
    va_end(ap);
}

void kn_buf_reset(kn_buf *b)
{
    kn_buf_truncate(b, 0);
}

void kn_buf_truncate(kn_buf *b, size_t len)
{
    if (len >= b->len)
        return;
    b->len = len;
    b->data[len] = '\0';
}

char *kn_buf_steal(kn_buf *b)
{
    char *s = b->cap ? b->data : xstrdup("");
    kn_buf_init(b);
    return s;
}

void kn_buf_free(kn_buf *b)
{
    if (b->cap)
        free(b->data);
    kn_buf_init(b);
}

#include "lib/duration.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

typedef struct unit {
    const char *name;
    int64_t ns;
} unit;

static const unit units[] = {
    {"ns", 1},
    {"us", 1000},
    {"\xc2\xb5s", 1000}, /* U+00B5 micro sign */
    {"\xce\xbcs", 1000}, /* U+03BC Greek mu */
    {"ms", KN_NSEC_PER_MSEC},
    {"s", KN_NSEC_PER_SEC},
    {"m", 60 * KN_NSEC_PER_SEC},
    {"h", 3600 * KN_NSEC_PER_SEC},
};

/* Longest unit name at p (so "ms" wins over "m"). */
static const unit *match_unit(const char *p, size_t *len)
{
    const unit *best = NULL;
    size_t best_len = 0;
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        size_t l = strlen(units[i].name);
        if (l > best_len && strncmp(p, units[i].name, l) == 0) {
            best = &units[i];
            best_len = l;
        }
    }
    *len = best_len;
    return best;
}

/* Reads the integer digits into *v, flagging overflow. Returns the count. */
static int read_digits(const char **p, uint64_t *v, bool *overflow)
{
    int n = 0;
    for (; **p >= '0' && **p <= '9'; (*p)++, n++) {
        uint64_t d = (uint64_t)(**p - '0');
        if (*v > (UINT64_MAX - d) / 10)
            *overflow = true;
        else
            *v = *v * 10 + d;
    }
    return n;
}

/* Reads fraction digits as Go's leadingFraction does: digits are taken while
 * they fit, *scale is 10^(digits taken); later digits are ignored. */
static int read_fraction(const char **p, uint64_t *v, double *scale)
{
    int n = 0;
    bool overflow = false;
    for (; **p >= '0' && **p <= '9'; (*p)++, n++) {
        if (overflow)
            continue;
        if (*v > (uint64_t)INT64_MAX / 10) {
            overflow = true;
            continue;
        }
        uint64_t y = *v * 10 + (uint64_t)(**p - '0');
        if (y > (uint64_t)1 << 63) {
            overflow = true;
            continue;
        }
        *v = y;
        *scale *= 10;
    }
    return n;
}

static int parse_component(const char **pp, const char *orig, uint64_t *total, kn_error **err)
{
    uint64_t whole = 0, frac = 0;
    double frac_scale = 1;
    bool overflow = false;
    const char *p = *pp;
    int nd = read_digits(&p, &whole, &overflow);
    int nf = 0;
    if (*p == '.') {
        p++;
        nf = read_fraction(&p, &frac, &frac_scale);
    }
    if (nd == 0 && nf == 0)
        return kn_error_set(err, KN_EINVAL, "invalid duration \"%s\"", orig);
    size_t ulen;
    const unit *u = match_unit(p, &ulen);
    if (!u)
        return kn_error_set(err, KN_EINVAL, "invalid duration \"%s\": missing unit", orig);
    p += ulen;
    /* the limit is 1<<63 so that the most negative duration parses */
    const uint64_t limit = (uint64_t)1 << 63;
    if (overflow || whole > limit / (uint64_t)u->ns)
        return kn_error_set(err, KN_ERANGE, "duration \"%s\" out of range", orig);
    uint64_t v = whole * (uint64_t)u->ns;
    if (frac) /* as Go: float64 keeps nanosecond accuracy for fractions of hours */
        v += (uint64_t)((double)frac * ((double)u->ns / frac_scale));
    if (v > limit - *total)
        return kn_error_set(err, KN_ERANGE, "duration \"%s\" out of range", orig);
    *total += v;
    *pp = p;
    return 0;
}

int kn_duration_parse(const char *s, int64_t *out_ns, kn_error **err)
{
    const char *p = s;
    bool neg = false;
    if (*p == '-' || *p == '+')
        neg = *p++ == '-';
    if (strcmp(p, "0") == 0) {
        *out_ns = 0;
        return 0;
    }
    if (*p == '\0')
        return kn_error_set(err, KN_EINVAL, "invalid duration \"%s\"", s);
    uint64_t total = 0;
    while (*p) {
        if (parse_component(&p, s, &total, err) < 0)
            return -KN_EINVAL;
    }
    if (!neg && total > (uint64_t)INT64_MAX)
        return kn_error_set(err, KN_ERANGE, "duration \"%s\" out of range", s);
    *out_ns = neg ? (int64_t)(0 - total) : (int64_t)total;
    return 0;
}

static size_t append(char *buf, size_t size, size_t off, const char *fmt, int64_t a, int64_t b,
                     int width)
{
    if (off >= size)
        return off;
    int n;
    if (width > 0 && b > 0) {
        char frac[32];
        snprintf(frac, sizeof(frac), "%0*" PRId64, width, b);
        size_t l = strlen(frac);
        while (l > 0 && frac[l - 1] == '0')
            frac[--l] = '\0';
        n = snprintf(buf + off, size - off, "%" PRId64 ".%s%s", a, frac, fmt);
    } else {
        n = snprintf(buf + off, size - off, "%" PRId64 "%s", a, fmt);
    }
    return n < 0 ? off : off + (size_t)n;
}

char *kn_duration_format(int64_t ns, char *buf, size_t size)
{
    if (size == 0)
        return buf;
    buf[0] = '\0';
    size_t off = 0;
    uint64_t u = ns < 0 ? (uint64_t)(-(ns + 1)) + 1 : (uint64_t)ns;
    if (ns < 0)
        off = (size_t)snprintf(buf, size, "-");
    if (u == 0)
        snprintf(buf, size, "0s");
    else if (u < 1000)
        append(buf, size, off, "ns", (int64_t)u, 0, 0);
    else if (u < 1000000)
        append(buf, size, off, "\xc2\xb5s", (int64_t)(u / 1000), (int64_t)(u % 1000), 3);
    else if (u < (uint64_t)KN_NSEC_PER_SEC)
        append(buf, size, off, "ms", (int64_t)(u / 1000000), (int64_t)(u % 1000000), 6);
    else {
        uint64_t sec = u / (uint64_t)KN_NSEC_PER_SEC, sub = u % (uint64_t)KN_NSEC_PER_SEC;
        uint64_t h = sec / 3600, m = (sec / 60) % 60, s = sec % 60;
        if (h)
            off = append(buf, size, off, "h", (int64_t)h, 0, 0);
        if (h || m)
            off = append(buf, size, off, "m", (int64_t)m, 0, 0);
        append(buf, size, off, "s", (int64_t)s, (int64_t)sub, 9);
    }
    return buf;
}

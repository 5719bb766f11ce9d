/* quantity.c - exact Kubernetes quantities (see quantity.h).
 *
 * Parsing follows upstream's ParseQuantity step by step: the same scanner
 * (parseQuantityString), the same suffix table, the same choice between its
 * int64 fast path and its inf.Dec path (which decides a few accept/reject
 * corner cases and whether String() echoes the input), the same rounding of
 * sub-nano values away from zero and the same binarySI cap. Values are then
 * held as a normalized int64 mantissa with a base-10 scale. */
#include "lib/quantity.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

typedef unsigned __int128 u128;
typedef __int128 i128;

#define NANO (-9)
#define MAX_MAG ((uint64_t)INT64_MAX + 1) /* |INT64_MIN| */
#define ERR_FORMAT                                                                                 \
    "quantities must match the regular expression "                                                \
    "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
#define QUOTE_MAX 64 /* at most this much of the input goes into a message */

/* ---- small arithmetic helpers ------------------------------------------------ */

static u128 pow10_u128(int n)
{
    u128 p = 1;
    while (n-- > 0)
        p *= 10;
    return p;
}

static int ndigits(uint64_t v)
{
    int n = 1;
    while (v >= 10) {
        v /= 10;
        n++;
    }
    return n;
}

static int strip_zeros_u128(u128 *v)
{
    int n = 0;
    while (*v != 0 && *v % 10 == 0) {
        *v /= 10;
        n++;
    }
    return n;
}

/* The magnitude and normalized scale of q; returns q's sign. Tolerates
 * hand-built, non-normalized structs. */
static int q_parts(const kn_quantity *q, uint64_t *mag, int64_t *scale)
{
    if (q->mantissa == 0) {
        *mag = 0;
        *scale = 0;
        return 0;
    }
    *mag = q->mantissa < 0 ? (uint64_t)0 - (uint64_t)q->mantissa : (uint64_t)q->mantissa;
    *scale = q->scale;
    while (*mag % 10 == 0) {
        *mag /= 10;
        (*scale)++;
    }
    return q->mantissa < 0 ? -1 : 1;
}

/* Stores sign * mag * 10^scale into *q (format untouched); false, with *q
 * untouched, if it does not fit the representation. */
static bool q_set(kn_quantity *q, int sign, u128 mag, int64_t scale)
{
    scale += strip_zeros_u128(&mag);
    if (mag == 0) {
        q->mantissa = 0;
        q->scale = 0;
        return true;
    }
    if (scale < NANO || scale > INT32_MAX || mag > (sign < 0 ? MAX_MAG : (uint64_t)INT64_MAX))
        return false;
    if (sign < 0)
        q->mantissa = mag == MAX_MAG ? INT64_MIN : -(int64_t)mag;
    else
        q->mantissa = (int64_t)mag;
    q->scale = (int32_t)scale;
    return true;
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* strconv.ParseInt(s[:len], 10, 64). */
static bool go_parse_int64(const char *s, size_t len, int64_t *out)
{
    size_t i = 0;
    bool neg = len > 0 && s[0] == '-';
    if (len > 0 && (s[0] == '-' || s[0] == '+'))
        i = 1;
    if (i == len)
        return false;
    uint64_t v = 0;
    for (; i < len; i++) {
        unsigned d = (unsigned)(s[i] - '0');
        if (!is_digit(s[i]) || v > (MAX_MAG - d) / 10)
            return false;
        v = v * 10 + d;
    }
    if (!neg && v > (uint64_t)INT64_MAX)
        return false;
    *out = !neg ? (int64_t)v : v == MAX_MAG ? INT64_MIN : -(int64_t)v;
    return true;
}

/* ---- scanning (upstream's parseQuantityString) ----------------------------------- */

typedef struct qparts {
    bool negative;
    bool has_digit;  /* the numeric part has at least one digit */
    const char *num; /* integer digits, leading zeros stripped */
    size_t num_len;
    const char *denom; /* fraction digits */
    size_t denom_len;
    const char *suffix;
    size_t suffix_len;
} qparts;

typedef struct qsuffix {
    int base;    /* 10 or 2 */
    int64_t exp; /* power of base */
    kn_quantity_fmt format;
} qsuffix;

static size_t span_digits(const char *s, size_t pos)
{
    while (is_digit(s[pos]))
        pos++;
    return pos;
}

/* Splits s into sign, numerator, denominator and suffix; false when the text
 * does not have the shape upstream's scanner accepts. */
static bool scan_quantity(const char *s, qparts *p)
{
    size_t pos = 0, end;
    memset(p, 0, sizeof(*p));
    if (s[0] == '-' || s[0] == '+') {
        p->negative = s[0] == '-';
        pos++;
    }
    for (; s[pos] == '0'; pos++)
        p->has_digit = true;
    end = span_digits(s, pos);
    p->num = s + pos;
    p->num_len = end - pos;
    pos = end;
    if (s[pos] == '.') {
        pos++;
        end = span_digits(s, pos);
        p->denom = s + pos;
        p->denom_len = end - pos;
        pos = end;
    }
    p->has_digit = p->has_digit || p->num_len > 0 || p->denom_len > 0;
    p->suffix = s + pos;
    while (s[pos] && strchr("eEinumkKMGTP", s[pos]))
        pos++;
    if (s[pos] == '-' || s[pos] == '+')
        pos++;
    pos = span_digits(s, pos);
    p->suffix_len = (size_t)(s + pos - p->suffix);
    return s[pos] == '\0';
}

static const struct {
    const char *name;
    int base, exp;
} suffixes[] = {
    {"", 10, 0},   {"n", 10, -9}, {"u", 10, -6}, {"m", 10, -3}, {"k", 10, 3},  {"M", 10, 6},
    {"G", 10, 9},  {"T", 10, 12}, {"P", 10, 15}, {"E", 10, 18}, {"Ki", 2, 10}, {"Mi", 2, 20},
    {"Gi", 2, 30}, {"Ti", 2, 40}, {"Pi", 2, 50}, {"Ei", 2, 60},
};

static bool interpret_suffix(const char *s, size_t len, qsuffix *out)
{
    for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
        if (strlen(suffixes[i].name) == len && memcmp(suffixes[i].name, s, len) == 0) {
            out->base = suffixes[i].base;
            out->exp = suffixes[i].exp;
            out->format = out->base == 2 ? KN_QUANTITY_BINARY_SI : KN_QUANTITY_DECIMAL_SI;
            return true;
        }
    }
    if (len > 1 && (s[0] == 'e' || s[0] == 'E') && go_parse_int64(s + 1, len - 1, &out->exp)) {
        out->base = 10;
        out->format = KN_QUANTITY_DECIMAL_EXPONENT;
        return true;
    }
    return false;
}

static int digit_at(const qparts *p, size_t i)
{
    return (i < p->num_len ? p->num[i] : p->denom[i - p->num_len]) - '0';
}

/* Whether upstream takes its int64 fast path (which never fails here). */
static bool fast_path(const qparts *p, const qsuffix *sfx)
{
    int64_t num_len = p->num_len ? (int64_t)p->num_len : 1; /* "" counts as "0" */
    int64_t denom_len = (int64_t)p->denom_len;
    if (sfx->base == 2)
        return denom_len == 0 && 14 - num_len - sfx->exp * 3 / 10 >= 0;
    return 18 - num_len - denom_len >= 0 && sfx->exp - denom_len >= NANO;
}

/* Whether upstream's fast path keeps the input as the String() value. */
static bool upstream_keeps_input(const qparts *p, const qsuffix *sfx)
{
    if (sfx->base == 2) {
        uint64_t v = 0;
        for (size_t i = 0; i < p->num_len; i++)
            v = v * 10 + (uint64_t)(p->num[i] - '0');
        return (v & 7) != 0;
    }
    int64_t scale = sfx->exp - (int64_t)p->denom_len;
    size_t n = p->num_len + p->denom_len;
    if (scale % 3 != 0 || p->num_len == 0)
        return false;
    return n < 3 || digit_at(p, n - 1) || digit_at(p, n - 2) || digit_at(p, n - 3);
}

/* ---- exact values ------------------------------------------------------------- */

/* Digits i..end-1 as an integer; false if more than 19 digits. */
static bool accumulate(const qparts *p, size_t i, size_t end, uint64_t *out)
{
    if (end - i > 19)
        return false;
    uint64_t v = 0;
    for (; i < end; i++)
        v = v * 10 + (uint64_t)digit_at(p, i);
    *out = v;
    return true;
}

/* digits[i0..last] + 1 unit of the last one, whose weight is 10^w. */
static bool round_up(const qparts *p, size_t i0, size_t last, int64_t w, uint64_t *mag,
                     int64_t *scale)
{
    size_t end = last + 1; /* one past the last digit that is not a 9 */
    while (end > i0 && digit_at(p, end - 1) == 9)
        end--;
    if (end == i0) { /* 99..9 + 1 = 100..0 */
        *mag = 1;
        *scale = w + (int64_t)(last + 1 - i0);
        return true;
    }
    if (!accumulate(p, i0, end, mag))
        return false;
    (*mag)++;
    *scale = w + (int64_t)(last + 1 - end);
    return true;
}

/* |digits| * 10^scale10 rounded away from zero to nano, normalized. */
static bool decimal_value(const qparts *p, int64_t scale10, uint64_t *mag, int64_t *scale)
{
    size_t n = p->num_len + p->denom_len, i0 = 0;
    while (i0 < n && digit_at(p, i0) == 0)
        i0++;
    *mag = 0;
    *scale = 0;
    if (i0 == n)
        return true;
    /* digit i weighs 10^(scale10 + n-1-i); keep the ones weighing at least 1n */
    int64_t last_kept = scale10 + (int64_t)n + 8;
    if (last_kept < (int64_t)i0) { /* all of it below 1n */
        *mag = 1;
        *scale = NANO;
        return true;
    }
    size_t last = last_kept >= (int64_t)n - 1 ? n - 1 : (size_t)last_kept;
    int64_t w = scale10 + (int64_t)(n - 1 - last);
    bool sticky = false;
    for (size_t i = last + 1; i < n && !sticky; i++)
        sticky = digit_at(p, i) != 0;
    if (sticky)
        return round_up(p, i0, last, w, mag, scale);
    size_t end = last;
    while (digit_at(p, end) == 0)
        end--;
    *scale = w + (int64_t)(last - end);
    return accumulate(p, i0, end + 1, mag);
}

/* |num.denom| * 2^exp2 rounded away from zero to nano and capped at 2^63-1,
 * as a count of nano units. Switches *format to decimalSI below 1. */
static u128 binary_value(const qparts *p, int exp2, kn_quantity_fmt *format)
{
    const u128 cap = (u128)INT64_MAX * 1000000000;
    uint64_t whole, carry = 0, low9 = 0;
    bool sticky = false;
    if (p->num_len > 19 || !accumulate(p, 0, p->num_len, &whole) ||
        ((u128)whole << exp2) > (u128)INT64_MAX)
        return cap;
    /* fraction * 2^exp2, long multiplication from the last digit: carry is
     * its integer part, the produced digits its fraction */
    for (size_t i = p->denom_len; i-- > 0;) {
        uint64_t t = (uint64_t)(p->denom[i] - '0') * ((uint64_t)1 << exp2) + carry;
        uint64_t d = t % 10;
        carry = t / 10;
        if (i >= 9)
            sticky = sticky || d != 0;
        else
            low9 += d * (uint64_t)pow10_u128(8 - (int)i);
    }
    u128 nano = (((u128)whole << exp2) + carry) * 1000000000 + low9 + (sticky ? 1 : 0);
    if (nano > cap)
        nano = cap;
    if (nano != 0 && nano < 1000000000)
        *format = KN_QUANTITY_DECIMAL_SI;
    return nano;
}

/* ---- parse ------------------------------------------------------------------- */

static int bad_quantity(const char *s, kn_error **err, const char *why)
{
    return kn_error_set(err, KN_EINVAL, "invalid quantity \"%.*s\": %s", QUOTE_MAX, s, why);
}

static int out_of_range(const char *s, kn_error **err)
{
    return kn_error_set(err, KN_ERANGE,
                        "quantity \"%.*s\" is out of range (more than 63 bits of significant "
                        "digits or a scale beyond int32)",
                        QUOTE_MAX, s);
}

static bool quantity_value(const qparts *p, const qsuffix *sfx, kn_quantity *q)
{
    int sign = p->negative ? -1 : 1;
    if (sfx->base == 2)
        return q_set(q, sign, binary_value(p, (int)sfx->exp, &q->format), NANO);
    uint64_t mag;
    int64_t scale;
    if (!decimal_value(p, sfx->exp - (int64_t)p->denom_len, &mag, &scale))
        return false;
    return q_set(q, sign, mag, scale);
}

int kn_quantity_parse(const char *s, kn_quantity *out, kn_error **err)
{
    qparts p;
    qsuffix sfx;
    if (!s || !*s)
        return kn_error_set(err, KN_EINVAL, "invalid quantity \"\": " ERR_FORMAT);
    if (!scan_quantity(s, &p))
        return bad_quantity(s, err, ERR_FORMAT);
    if (!interpret_suffix(p.suffix, p.suffix_len, &sfx))
        return bad_quantity(s, err, "unable to parse quantity's suffix");
    if (sfx.exp < INT32_MIN || sfx.exp > INT32_MAX)
        return out_of_range(s, err);
    bool fast = fast_path(&p, &sfx);
    if (!fast && !p.has_digit)
        return bad_quantity(s, err, "unable to parse numeric part of quantity");
    kn_quantity q = {.format = sfx.format};
    if (!quantity_value(&p, &sfx, &q))
        return out_of_range(s, err);
    q.keep_input = fast && upstream_keeps_input(&p, &sfx);
    *out = q;
    return 0;
}

/* ---- format ------------------------------------------------------------------- */

static const char *decimal_si_suffix(int64_t exp)
{
    static const char *const names[] = {"n", "u", "m", "", "k", "M", "G", "T", "P", "E"};
    if (exp < -9 || exp > 18 || exp % 3 != 0)
        return NULL;
    return names[(exp + 9) / 3];
}

static void format_decimal(int sign, uint64_t mag, int64_t exp, kn_quantity_fmt f, char *out)
{
    int r = (int)(((exp % 3) + 3) % 3); /* floor exp to a multiple of 3 */
    exp -= r;
    int n = sprintf(out, "%s%" PRIu64 "%.*s", sign < 0 ? "-" : "", mag, r, "00");
    const char *sfx = f == KN_QUANTITY_DECIMAL_SI ? decimal_si_suffix(exp) : NULL;
    if (sfx)
        strcpy(out + n, sfx);
    else if (exp != 0) /* decimalExponent, or decimalSI beyond "E" as upstream */
        sprintf(out + n, "e%" PRId64, exp);
}

static void u128_to_str(u128 v, char *out)
{
    char tmp[48];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + (int)(v % 10));
        v /= 10;
    } while (v);
    while (n > 0)
        *out++ = tmp[--n];
    *out = '\0';
}

/* Canonical binarySI form; false when upstream would fall back to
 * decimalSI (|value| < 1024 or a fraction), or (knode's bound) the integer
 * needs more than 128 bits. */
static bool format_binary(int sign, uint64_t mag, int64_t scale, char *out)
{
    static const char *const names[] = {"", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"};
    if (scale < 0 || scale > 38 || mag > ~(u128)0 / pow10_u128((int)scale))
        return false;
    u128 v = (u128)mag * pow10_u128((int)scale);
    int k = 0;
    if (v < 1024)
        return false;
    while (k < 6 && v % 1024 == 0) {
        v /= 1024;
        k++;
    }
    if (sign < 0)
        *out++ = '-';
    u128_to_str(v, out);
    strcat(out, names[k]);
    return true;
}

char *kn_quantity_format(const kn_quantity *q, char *buf, size_t size)
{
    char tmp[KN_QUANTITY_STRLEN];
    uint64_t mag;
    int64_t scale;
    int sign = q_parts(q, &mag, &scale);
    if (sign == 0)
        strcpy(tmp, "0");
    else if (q->format != KN_QUANTITY_BINARY_SI || !format_binary(sign, mag, scale, tmp))
        format_decimal(sign, mag, scale,
                       q->format == KN_QUANTITY_DECIMAL_EXPONENT ? KN_QUANTITY_DECIMAL_EXPONENT
                                                                 : KN_QUANTITY_DECIMAL_SI,
                       tmp);
    if (size > 0)
        snprintf(buf, size, "%s", tmp);
    return buf;
}

const char *kn_quantity_string(const kn_quantity *q, const char *parsed_from, char *buf,
                               size_t size)
{
    if (q->keep_input && parsed_from)
        return parsed_from;
    return kn_quantity_format(q, buf, size);
}

const char *kn_quantity_format_name(kn_quantity_fmt format)
{
    switch (format) {
    case KN_QUANTITY_BINARY_SI:
        return "BinarySI";
    case KN_QUANTITY_DECIMAL_EXPONENT:
        return "DecimalExponent";
    default:
        return "DecimalSI";
    }
}

/* ---- construction ------------------------------------------------------------------ */

kn_quantity kn_quantity_from_int(int64_t value, kn_quantity_fmt format)
{
    kn_quantity q = {.mantissa = value, .format = format};
    uint64_t mag;
    int64_t scale;
    int sign = q_parts(&q, &mag, &scale);
    q_set(&q, sign, mag, scale); /* cannot fail: the scale only grows to 18 */
    return q;
}

kn_quantity kn_quantity_from_milli(int64_t value, kn_quantity_fmt format)
{
    kn_quantity q = {.mantissa = value, .scale = -3, .format = format};
    uint64_t mag;
    int64_t scale;
    int sign = q_parts(&q, &mag, &scale);
    q_set(&q, sign, mag, scale);
    return q;
}

int kn_quantity_from_scaled(int64_t value, int32_t scale, kn_quantity_fmt format, kn_quantity *out,
                            kn_error **err)
{
    kn_quantity q = {.mantissa = value, .format = format};
    int sign = value < 0 ? -1 : value > 0;
    u128 mag = value < 0 ? (uint64_t)0 - (uint64_t)value : (uint64_t)value;
    int64_t s = scale;
    if (s < NANO && mag != 0) { /* round away from zero to 1n */
        int64_t k = NANO - s;
        u128 p = k > 20 ? 0 : pow10_u128((int)k);
        mag = p == 0 ? 1 : mag / p + (mag % p != 0);
        s = NANO;
    }
    if (!q_set(&q, sign, mag, s))
        return kn_error_set(err, KN_ERANGE, "quantity %" PRId64 "e%" PRId32 " is out of range",
                            value, scale);
    *out = q;
    return 0;
}

/* ---- comparison ---------------------------------------------------------------------- */

/* Compares two non-zero normalized magnitudes. */
static int cmp_mag(uint64_t am, int64_t as, uint64_t bm, int64_t bs)
{
    int64_t ao = as + ndigits(am), bo = bs + ndigits(bm);
    if (ao != bo)
        return ao < bo ? -1 : 1;
    /* same order of magnitude: the scales differ by less than 20 */
    u128 a = am, b = bm;
    if (as > bs)
        a *= pow10_u128((int)(as - bs));
    else
        b *= pow10_u128((int)(bs - as));
    return a < b ? -1 : a > b;
}

int kn_quantity_cmp(const kn_quantity *a, const kn_quantity *b)
{
    uint64_t am, bm;
    int64_t as, bs;
    int sa = q_parts(a, &am, &as), sb = q_parts(b, &bm, &bs);
    if (sa != sb)
        return sa < sb ? -1 : 1;
    if (sa == 0)
        return 0;
    int r = cmp_mag(am, as, bm, bs);
    return sa > 0 ? r : -r;
}

int kn_quantity_cmp_int64(const kn_quantity *q, int64_t v)
{
    kn_quantity b = kn_quantity_from_int(v, KN_QUANTITY_DECIMAL_SI);
    return kn_quantity_cmp(q, &b);
}

int kn_quantity_sign(const kn_quantity *q)
{
    return q->mantissa < 0 ? -1 : q->mantissa > 0;
}

bool kn_quantity_is_zero(const kn_quantity *q)
{
    return q->mantissa == 0;
}

/* ---- arithmetic ------------------------------------------------------------------------ */

/* q + sign_y * y (sign_y is 1 or -1). */
static int add_signed(kn_quantity *q, const kn_quantity *y, int sign_y, kn_error **err)
{
    uint64_t am, bm;
    int64_t as, bs;
    int sa = q_parts(q, &am, &as), sb = q_parts(y, &bm, &bs) * sign_y;
    kn_quantity r = *q;
    r.keep_input = false;
    if (sa == 0)
        r.format = y->format;
    if (sb == 0 || sa == 0) {
        if (sb != 0 && !q_set(&r, sb, bm, bs))
            return kn_error_set(err, KN_ERANGE, "quantity negation out of range");
        *q = r;
        return 0;
    }
    int64_t lo = as < bs ? as : bs;
    if (as - lo > 19 || bs - lo > 19)
        return kn_error_set(err, KN_ERANGE, "quantity sum is out of range");
    i128 a = (i128)am * (i128)pow10_u128((int)(as - lo));
    i128 b = (i128)bm * (i128)pow10_u128((int)(bs - lo));
    i128 sum = (sa < 0 ? -a : a) + (sb < 0 ? -b : b);
    if (!q_set(&r, sum < 0 ? -1 : 1, (u128)(sum < 0 ? -sum : sum), lo))
        return kn_error_set(err, KN_ERANGE, "quantity sum is out of range");
    *q = r;
    return 0;
}

int kn_quantity_add(kn_quantity *q, const kn_quantity *y, kn_error **err)
{
    return add_signed(q, y, 1, err);
}

int kn_quantity_sub(kn_quantity *q, const kn_quantity *y, kn_error **err)
{
    return add_signed(q, y, -1, err);
}

int kn_quantity_neg(kn_quantity *q, kn_error **err)
{
    if (q->mantissa == INT64_MIN)
        return kn_error_set(err, KN_ERANGE, "quantity negation out of range");
    q->mantissa = -q->mantissa;
    q->keep_input = false;
    return 0;
}

/* ---- conversion to integers ------------------------------------------------------------- */

int kn_quantity_scaled_value(const kn_quantity *q, int32_t scale, int64_t *out, kn_error **err)
{
    uint64_t mag;
    int64_t s;
    int sign = q_parts(q, &mag, &s);
    int64_t k = s - scale;
    u128 r;
    bool overflow = false;
    if (sign == 0) {
        r = 0;
    } else if (k >= 0) {
        overflow = k > 19;
        r = overflow ? 0 : (u128)mag * pow10_u128((int)k);
    } else if (-k >= 20) {
        r = 1; /* mag < 10^20: a non-zero fraction, rounded away from zero */
    } else {
        u128 p = pow10_u128((int)-k);
        r = mag / p + (mag % p != 0);
    }
    if (overflow || r > (sign < 0 ? MAX_MAG : (uint64_t)INT64_MAX)) {
        *out = sign < 0 ? INT64_MIN : INT64_MAX;
        return kn_error_set(err, KN_ERANGE, "quantity does not fit an int64 at scale %" PRId32,
                            scale);
    }
    *out = sign >= 0 ? (int64_t)r : r == MAX_MAG ? INT64_MIN : -(int64_t)r;
    return 0;
}

int64_t kn_quantity_value(const kn_quantity *q)
{
    int64_t v;
    kn_quantity_scaled_value(q, 0, &v, NULL);
    return v;
}

int64_t kn_quantity_milli_value(const kn_quantity *q)
{
    int64_t v;
    kn_quantity_scaled_value(q, -3, &v, NULL);
    return v;
}

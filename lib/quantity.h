/* quantity.h - Kubernetes resource quantities ("250m", "128Mi", "1e3"), with the
 * semantics of k8s.io/apimachinery/pkg/api/resource.Quantity.
 *
 * A quantity is exact: value = mantissa * 10^scale, no floating point. Parsing
 * accepts every form upstream's ParseQuantity accepts and rejects the rest:
 *
 *     <quantity> ::= [+-] <number> <suffix>
 *     <number>   ::= <digits> | <digits>.<digits> | <digits>. | .<digits> | (nothing)
 *     <suffix>   ::= Ki Mi Gi Ti Pi Ei | n u m "" k M G T P E | (e|E)[+-]<digits>
 *
 * Like upstream, a quantity remembers its format family (binarySI, decimalSI,
 * decimalExponent) and is printed in canonical form in that family. Like
 * upstream, parsing rounds a non-zero value finer than 1n away from zero to
 * the nano unit ("0.1n" -> "1n"), and silently caps a binarySI value at
 * 2^63-1 ("9Ei" -> 2^63-1). Upstream quirks kept on purpose: a suffix with no
 * digits parses as zero where upstream's fast path takes it ("Mi", "k", ".",
 * "-" are 0; "Ei", "Pi" and "e-10" are errors), as ParseQuantity does.
 *
 * Bound (where upstream switches to arbitrary precision, knode reports
 * KN_ERANGE instead): the value after nano rounding must be m * 10^s with m
 * an int64 and -9 <= s <= INT32_MAX, e.g. "9223372036854775808" (2^63) or a
 * number with more than 18-19 significant digits is out of range, while
 * "1e300" or "123P" are fine. Arithmetic results outside the bound are
 * KN_ERANGE too, never wrapped. */
#ifndef KNODE_LIB_QUANTITY_H
#define KNODE_LIB_QUANTITY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/error.h"

/* The format family a quantity was parsed in (upstream's Format). */
typedef enum kn_quantity_fmt {
    KN_QUANTITY_DECIMAL_SI = 0,   /* "DecimalSI": 12M, 100m */
    KN_QUANTITY_BINARY_SI,        /* "BinarySI": 12Mi */
    KN_QUANTITY_DECIMAL_EXPONENT, /* "DecimalExponent": 12e6 */
} kn_quantity_fmt;

/* A value type: copy it freely, nothing to free. The zero struct is 0 in
 * DecimalSI. Fields are normalized (mantissa has no trailing decimal zeros;
 * 0 has scale 0), so equal values have equal (mantissa, scale). */
typedef struct kn_quantity {
    int64_t mantissa;
    int32_t scale; /* value = mantissa * 10^scale, scale in [-9, INT32_MAX] */
    kn_quantity_fmt format;
    /* Set by kn_quantity_parse when upstream's String() would return the
     * parsed text itself (it keeps inputs its parser judges canonical, such
     * as "+5" or "1.500k"); see kn_quantity_string. Cleared by arithmetic. */
    bool keep_input;
} kn_quantity;

/* Longest canonical text of a quantity, including the NUL. */
#define KN_QUANTITY_STRLEN 48

/* Parses s as upstream's ParseQuantity does (no surrounding whitespace).
 * Errors: KN_EINVAL (syntax, message names s), KN_ERANGE (outside the bound
 * above). *out is untouched on error. */
int kn_quantity_parse(const char *s, kn_quantity *out, kn_error **err);

/* Writes the canonical form (upstream's CanonicalizeBytes, i.e. String() for
 * any computed quantity): "1536Mi", "100m", "1e3", "0". Writes at most size
 * bytes including the NUL (KN_QUANTITY_STRLEN always suffices); returns buf.
 * knode bound: a binarySI integer above 2^128 (reachable only by arithmetic)
 * prints in decimal notation where upstream prints all its digits. */
char *kn_quantity_format(const kn_quantity *q, char *buf, size_t size);

/* Exactly what upstream's String()/MarshalJSON emit for q: parsed_from when
 * q was parsed from that text and kept it (keep_input), else the canonical
 * form written into buf. parsed_from may be NULL. Returns parsed_from or buf. */
const char *kn_quantity_string(const kn_quantity *q, const char *parsed_from, char *buf,
                               size_t size);

/* Upstream's format name: "DecimalSI", "BinarySI", "DecimalExponent". */
const char *kn_quantity_format_name(kn_quantity_fmt format);

/* value in the given format (NewQuantity). */
kn_quantity kn_quantity_from_int(int64_t value, kn_quantity_fmt format);

/* value/1000 in the given format (NewMilliQuantity). */
kn_quantity kn_quantity_from_milli(int64_t value, kn_quantity_fmt format);

/* value * 10^scale (NewScaledQuantity, with a format). A scale below -9
 * rounds away from zero to nano as parsing does. Errors: KN_ERANGE. */
int kn_quantity_from_scaled(int64_t value, int32_t scale, kn_quantity_fmt format, kn_quantity *out,
                            kn_error **err);

/* -1, 0 or 1 as a < b, a == b, a > b (by value; format is ignored). */
int kn_quantity_cmp(const kn_quantity *a, const kn_quantity *b);

/* Compares q with the integer v: -1, 0, 1. */
int kn_quantity_cmp_int64(const kn_quantity *q, int64_t v);

/* -1, 0 or 1: q's comparison with zero. */
int kn_quantity_sign(const kn_quantity *q);

/* True if q is zero. */
bool kn_quantity_is_zero(const kn_quantity *q);

/* q += y. If q was zero it takes y's format (as upstream's Add).
 * Errors: KN_ERANGE (q unchanged). */
int kn_quantity_add(kn_quantity *q, const kn_quantity *y, kn_error **err);

/* q -= y. If q was zero it takes y's format (as upstream's Sub).
 * Errors: KN_ERANGE (q unchanged). */
int kn_quantity_sub(kn_quantity *q, const kn_quantity *y, kn_error **err);

/* q = -q. Errors: KN_ERANGE for mantissa INT64_MIN (q unchanged). */
int kn_quantity_neg(kn_quantity *q, kn_error **err);

/* ceil(q / 10^scale) rounded away from zero, as upstream's ScaledValue does
 * for int64-backed quantities: scale 0 is Value(), -3 is MilliValue().
 * Errors: KN_ERANGE when the result does not fit an int64 (*out is then
 * saturated to INT64_MIN/INT64_MAX). */
int kn_quantity_scaled_value(const kn_quantity *q, int32_t scale, int64_t *out, kn_error **err);

/* Value(): q rounded up away from zero to an integer. Saturates at
 * INT64_MIN/INT64_MAX where upstream's result would overflow. */
int64_t kn_quantity_value(const kn_quantity *q);

/* MilliValue(): ceil(q * 1000) away from zero; saturates like
 * kn_quantity_value. */
int64_t kn_quantity_milli_value(const kn_quantity *q);

#endif

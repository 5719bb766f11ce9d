/* fuzz-quantity.c - lib/quantity: parse -> canonical format -> parse must give
 * the same value (and the same text, format family permitting); a second
 * line, when present, is a second quantity for compare/add/sub laws. Any
 * violation aborts. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/quantity.h"
#include "lib/xalloc.h"

static void fail(const char *what, const char *in, const char *out)
{
    fprintf(stderr, "fuzz-quantity: %s: input \"%s\" -> \"%s\"\n", what, in, out);
    abort();
}

/* Parses s; on failure checks the error is a proper one. */
static bool parse(const char *s, kn_quantity *q)
{
    kn_error *err = NULL;
    int rc = kn_quantity_parse(s, q, &err);
    if (rc < 0 &&
        (!err || (err->code != KN_EINVAL && err->code != KN_ERANGE) || rc != -(int)err->code))
        fail("bad error", s, kn_error_msg(err));
    kn_error_free(&err);
    return rc == 0;
}

static void check_round_trip(const char *in, const kn_quantity *q)
{
    char out[KN_QUANTITY_STRLEN], again[KN_QUANTITY_STRLEN];
    kn_quantity back;
    kn_quantity_format(q, out, sizeof(out));
    if (strlen(out) >= KN_QUANTITY_STRLEN - 1)
        fail("canonical text too long", in, out);
    if (!parse(out, &back))
        fail("canonical form does not parse", in, out);
    if (kn_quantity_cmp(q, &back) != 0)
        fail("canonical form changes the value", in, out);
    kn_quantity_format(&back, again, sizeof(again));
    if ((q->format != KN_QUANTITY_BINARY_SI || out[strlen(out) - 1] == 'i') && strcmp(out, again))
        fail("canonical form is not stable", out, again);
    const char *str = kn_quantity_string(q, in, again, sizeof(again));
    if (str != in && strcmp(str, out) != 0)
        fail("String() differs from the canonical form", in, str);
}

static void check_values(const char *in, const kn_quantity *q)
{
    /* Value() is q rounded away from zero: |q| <= |v| < |q| + 1 */
    int64_t v;
    if (kn_quantity_scaled_value(q, 0, &v, NULL) < 0)
        return;
    kn_quantity vq = kn_quantity_from_int(v, KN_QUANTITY_DECIMAL_SI);
    int s = kn_quantity_sign(q);
    if (kn_quantity_cmp(&vq, q) * s < 0)
        fail("Value() rounds toward zero", in, "");
    kn_quantity step = kn_quantity_from_int(s, KN_QUANTITY_DECIMAL_SI);
    if (kn_quantity_sub(&vq, &step, NULL) == 0 && s != 0 && kn_quantity_cmp(&vq, q) * s >= 0)
        fail("Value() rounds too far", in, "");
}

static void check_pair(const char *a_in, const kn_quantity *a, const kn_quantity *b)
{
    if (kn_quantity_cmp(a, b) != -kn_quantity_cmp(b, a))
        fail("cmp is not antisymmetric", a_in, "");
    kn_quantity sum = *a;
    if (kn_quantity_add(&sum, b, NULL) < 0)
        return;
    kn_quantity sum2 = *b;
    if (kn_quantity_add(&sum2, a, NULL) < 0 || kn_quantity_cmp(&sum, &sum2) != 0)
        fail("add is not commutative", a_in, "");
    if (kn_quantity_sub(&sum, b, NULL) < 0 || kn_quantity_cmp(&sum, a) != 0)
        fail("(a + b) - b != a", a_in, "");
    int c = kn_quantity_cmp(a, b);
    kn_quantity d = *a;
    if (kn_quantity_sub(&d, b, NULL) == 0 && kn_quantity_sign(&d) != c)
        fail("sign(a - b) != cmp(a, b)", a_in, "");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *in = xstrndup((const char *)data, size);
    char *second = strchr(in, '\n');
    if (second)
        *second++ = '\0';
    kn_quantity a, b;
    bool ok_a = parse(in, &a);
    if (ok_a) {
        check_round_trip(in, &a);
        check_values(in, &a);
    }
    if (second && parse(second, &b)) {
        check_round_trip(second, &b);
        if (ok_a)
            check_pair(in, &a, &b);
    }
    free(in);
    return 0;
}

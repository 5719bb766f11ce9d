/* selector.h - Kubernetes label selectors (k8s.io/apimachinery/pkg/labels and
 * metav1.LabelSelector) and field selectors (pkg/fields), with upstream's
 * syntax, validation, matching, canonical String() and error texts.
 *
 * Label selector strings:  "a=b,c!=d,e in (x,y),f notin (z),!g,h,a==b,n>5"
 *   - tokens are separated by ' ', '\t', '\r', '\n'; "" selects everything;
 *   - keys are qualified names ([prefix/]name), values label values (may be
 *     empty); "x in ()" is the set {""} as upstream's parser makes it;
 *   - requirements are sorted by key (stably), set values sorted and unique.
 * Field selector strings: "metadata.name=x,status.phase!=Running,a==b", with
 *   "\," "\=" "\\" escapes in values; an absent field matches as "". */
#ifndef KNODE_LIB_SELECTOR_H
#define KNODE_LIB_SELECTOR_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

#include "lib/error.h"

/* One label of a label set (both strings borrowed). */
typedef struct kn_label {
    const char *key;
    const char *value;
} kn_label;

/* Returns the value of label key, or NULL when the set does not have it. */
typedef const char *(*kn_label_lookup_fn)(void *ud, const char *key);

/* upstream's selection.Operator */
typedef enum kn_selector_op {
    KN_SELECTOR_IN,
    KN_SELECTOR_NOT_IN,
    KN_SELECTOR_EQUALS,
    KN_SELECTOR_DOUBLE_EQUALS,
    KN_SELECTOR_NOT_EQUALS,
    KN_SELECTOR_GREATER_THAN,
    KN_SELECTOR_LESS_THAN,
    KN_SELECTOR_EXISTS,
    KN_SELECTOR_DOES_NOT_EXIST,
} kn_selector_op;

/* One requirement; owned by its selector. */
typedef struct kn_label_requirement {
    char *key;
    kn_selector_op op;
    char **values; /* parsed strings: sorted and unique; from JSON: as given */
    size_t n_values;
} kn_label_requirement;

/* A label selector: the AND of its requirements. Read the fields freely;
 * create and free only with the functions below. */
typedef struct kn_label_selector {
    bool nothing; /* matches no label set (upstream's labels.Nothing()) */
    kn_label_requirement *reqs;
    size_t n_reqs;
} kn_label_selector;

/* Parses a label selector string (labels.Parse). Errors: KN_EINVAL with
 * upstream's message, e.g. "unable to parse requirement: <nil>: Invalid
 * value: \"-a\": name part must consist of ...". Caller frees *out. */
int kn_label_selector_parse(const char *s, kn_label_selector **out, kn_error **err);

/* Converts a metav1.LabelSelector JSON object ({matchLabels: {k: v},
 * matchExpressions: [{key, operator: In|NotIn|Exists|DoesNotExist, values}]})
 * like LabelSelectorAsSelector: NULL or JSON null -> Nothing, {} or empty
 * lists -> Everything. Validates it like ValidateLabelSelector; error
 * messages carry the field path under path (NULL for none), e.g.
 * "spec.selector.matchExpressions[1].operator: Unsupported value: \"Foo\":
 * supported values: ...". Errors: KN_EINVAL. Caller frees *out. */
int kn_label_selector_from_json(const cJSON *json, const char *path, kn_label_selector **out,
                                kn_error **err);

/* A selector matching exactly the n labels (SelectorFromValidatedSet: no
 * validation; n == 0 selects everything). Never NULL; caller frees. */
kn_label_selector *kn_label_selector_from_set(const kn_label *labels, size_t n);

/* Selectors that match everything / nothing. Caller frees. */
kn_label_selector *kn_label_selector_everything(void);
kn_label_selector *kn_label_selector_nothing(void);

/* Frees s and everything it owns. Safe on NULL. */
void kn_label_selector_free(kn_label_selector *s);

/* Whether the label set (n labels; the first of a duplicated key counts)
 * satisfies every requirement of s. */
bool kn_label_selector_matches(const kn_label_selector *s, const kn_label *labels, size_t n);

/* Like kn_label_selector_matches, looking labels up through lookup(ud, key). */
bool kn_label_selector_matches_fn(const kn_label_selector *s, kn_label_lookup_fn lookup, void *ud);

/* Empty(): true if s does not restrict the selection (Nothing is not empty). */
bool kn_label_selector_empty(const kn_label_selector *s);

/* String(): "a=b,e in (x,y),!g" (values sorted, "" for Everything and
 * Nothing). Returns a new string; caller frees. */
char *kn_label_selector_string(const kn_label_selector *s);

/* RequiresExactMatch: if the first requirement on key is =, == or in with a
 * single value, stores that value (borrowed from s) and returns true. */
bool kn_label_selector_requires_exact_match(const kn_label_selector *s, const char *key,
                                            const char **value);

/* upstream's operator string: "in", "notin", "=", "==", "!=", "gt", "lt",
 * "exists", "!". */
const char *kn_selector_op_name(kn_selector_op op);

/* Validates a label key (IsQualifiedName) / value (IsValidLabelValue).
 * Returns NULL when valid, else upstream's messages joined with "; ";
 * caller frees. */
char *kn_label_key_errors(const char *key);
char *kn_label_value_errors(const char *value);

/* ---- field selectors ---------------------------------------------------------- */

/* One term: field = value, or field != value. */
typedef struct kn_field_term {
    char *field; /* verbatim, not validated (as upstream) */
    char *value; /* unescaped */
    bool not_equal;
} kn_field_term;

/* The AND of its terms (sorted by their source text, as upstream). */
typedef struct kn_field_selector {
    kn_field_term *terms;
    size_t n_terms;
} kn_field_selector;

/* Returns the value of field, or NULL when absent (matched as ""). */
typedef const char *(*kn_field_lookup_fn)(void *ud, const char *field);

/* Parses a field selector (fields.ParseSelector). Errors: KN_EINVAL with
 * upstream's message ("invalid selector: 'a'; can't understand 'a'",
 * "invalid field selector: invalid escape sequence: \\x"). Caller frees. */
int kn_field_selector_parse(const char *s, kn_field_selector **out, kn_error **err);

/* Frees s. Safe on NULL. */
void kn_field_selector_free(kn_field_selector *s);

/* Whether every term holds for the fields returned by lookup. */
bool kn_field_selector_matches(const kn_field_selector *s, kn_field_lookup_fn lookup, void *ud);

/* True if s has no terms (selects everything). */
bool kn_field_selector_empty(const kn_field_selector *s);

/* String(): "a=x,b!=y" with values escaped; caller frees. */
char *kn_field_selector_string(const kn_field_selector *s);

/* RequiresExactMatch: the value of the first "field=value" term on field
 * (borrowed from s). */
bool kn_field_selector_requires_exact_match(const kn_field_selector *s, const char *field,
                                            const char **value);

/* EscapeValue: "\" -> "\\", "," -> "\,", "=" -> "\=". Caller frees. */
char *kn_field_selector_escape_value(const char *value);

#endif

/* yaml.h - YAML to cJSON on libyaml, converting as Kubernetes does.
 *
 * Kubernetes reads YAML through sigs.k8s.io/yaml: go-yaml v2 decodes it into
 * generic Go values, which are then converted to JSON. These functions give
 * the same JSON, as cJSON trees, with errors that name the input and carry a
 * position: "deploy.yaml: line 4, column 7: duplicate key \"image\"".
 *
 * Plain (unquoted, untagged) scalars resolve as go-yaml v2 resolves them:
 *   null   "", ~, null, Null, NULL
 *   bool   true/True/TRUE, false/False/FALSE, and the YAML 1.1 forms
 *          y/Y/yes/Yes/YES, n/N/no/No/NO, on/On/ON, off/Off/OFF
 *   int    Go's strconv.ParseInt with base 0 after removing every '_':
 *          [+-]digits, 0x1F / 0X1F (hex), 0o17 / 0O17 and a leading 0 as in
 *          017 (octal), 0b101 (binary); too large for int64 but within uint64
 *          is still an integer
 *   float  [+-](.digits | digits[.digits*])([eE][+-]digits), e.g. 1e3, 1.,
 *          .5, 08 (not octal, so a float); .inf/.Inf/.INF, +.inf, -.inf,
 *          .nan/.NaN/.NAN; a number that overflows a double stays a string
 *   string everything else: 1:20 (no base 60), 2001-12-14 (timestamps stay
 *          strings, as go-yaml gives them to interface{}), 0x, 1_e3x, <<
 * Quoted and block (| >) scalars are strings. Explicit tags are honoured:
 * !!str keeps the text; !!int, !!float (which also takes an int), !!bool and
 * !!null must resolve to that type or the document is refused ("cannot
 * decode !!str `abc` as a !!int"), even on a quoted scalar; !!binary is
 * base64-decoded; !!timestamp keeps the text (not validated); any other tag
 * (!foo, !) leaves a string. Tags on mappings and sequences are ignored.
 *
 * As JSON has no such numbers, .inf and .nan as values are errors (Go's
 * json.Marshal refuses them the same way). Numbers become doubles: integers
 * are exact up to 2^53 (see lib/json.h).
 *
 * Mapping keys become strings as sigs.k8s.io/yaml converts them: a string
 * stays, an int is printed in decimal (0x10: "16"), a float as Go's
 * strconv.FormatFloat(f, 'g', -1, 32) (1.5: "1.5", 1e6: "1e+06", .inf:
 * ".inf"), a bool as "true"/"false" (so a key `on:` or `y:` reads "true").
 * null keys, integers beyond int64, and mappings or sequences as keys are
 * errors. Two keys that are equal after this conversion are duplicates.
 *
 * Duplicate keys are an error by default, as Kubernetes' strict decoding
 * (sigs.k8s.io/yaml YAMLToJSONStrict, kube-apiserver fieldValidation=Strict)
 * reports them; KN_YAML_ALLOW_DUPLICATES keeps the last one instead (plain
 * YAMLToJSON). Object members keep document order (Go's output is sorted).
 *
 * Merge keys (<<: *base, <<: [*a, *b]) are supported with YAML's merge
 * semantics: keys written in the mapping win over merged ones wherever the
 * << appears, and earlier maps of a merge list win over later ones. (go-yaml
 * v2 applies a merge where it stands, so there a key written before the <<
 * is overwritten; for the usual "<<: *base first, overrides after" the
 * results agree.)
 *
 * Anchors and aliases are resolved by copying, bounded against expansion
 * bombs with go-yaml v2's rule, counted over the whole stream: every node
 * built counts once (keys included) and every node copied through an alias
 * also counts as aliased; once more than 100 nodes were aliased and more than
 * 1000 built, the aliased share may not exceed 99% up to 400,000 nodes,
 * falling linearly to 10% at 4,000,000 and beyond. Exceeding it fails with
 * KN_ETOOLARGE ("document contains excessive aliasing"). An alias must follow
 * its anchor's complete node (so a node cannot contain itself); an anchor
 * may be redefined, and anchors do not cross documents.
 *
 * Nesting is limited to KN_JSON_MAX_DEPTH levels (KN_ETOOLARGE), aliases
 * included. Scalars containing a NUL character (from "\0" escapes or
 * !!binary) are refused (cJSON strings are C strings). */
#ifndef KNODE_LIB_YAML_H
#define KNODE_LIB_YAML_H

#include <cjson/cJSON.h>
#include <stddef.h>

#include "lib/error.h"

/* Flags for the parse functions. */
enum {
    /* A key repeated in one mapping keeps its last value instead of failing. */
    KN_YAML_ALLOW_DUPLICATES = 1u << 0,
};

/* The documents of a stream, in order; each owned by the struct. */
typedef struct kn_yaml_docs {
    cJSON **docs;
    size_t n;
} kn_yaml_docs;

/* Releases every document and the array; leaves docs empty. NULL-safe. */
void kn_yaml_docs_free(kn_yaml_docs *docs);

#define cleanup_yaml_docs __attribute__((cleanup(kn_yaml_docs_free)))

/* Parses a stream of YAML documents (separated by ---) from data[0..len)
 * (need not be NUL-terminated) into *out (which the caller zero-initializes
 * or has freed). Documents that are empty or null (only comments, "---"
 * alone, "~") are skipped, as kubectl skips them. name (a file name, or NULL)
 * prefixes every error message. max_len 0 means no limit. flags: KN_YAML_*.
 * Errors: KN_ETOOLARGE (len > max_len, nesting, aliasing), KN_EINVAL for
 * everything else, with "line L, column C" (1-based, columns in characters).
 * On failure *out is left empty. */
int kn_yaml_parse_stream(const char *data, size_t len, size_t max_len, const char *name,
                         unsigned flags, kn_yaml_docs *out, kn_error **err);

/* Parses a single document into *out (caller deletes). An empty stream gives
 * a JSON null; more than one non-empty document is an error (KN_EINVAL,
 * pointing at the second). Otherwise as kn_yaml_parse_stream. */
int kn_yaml_parse(const char *data, size_t len, size_t max_len, const char *name, unsigned flags,
                  cJSON **out, kn_error **err);

/* Like kn_yaml_parse_stream, for input that may be JSON or YAML (a manifest
 * file, a request body). When the first non-whitespace character is '{' or
 * '[' the text is parsed as one JSON value with cJSON (fast, and
 * duplicate keys follow the same flag); if that fails the YAML parser reads
 * it (JSON-like YAML: comments, unquoted keys, trailing commas, several
 * documents) and, if it fails too, reports the YAML error. */
int kn_yaml_or_json_parse(const char *data, size_t len, size_t max_len, const char *name,
                          unsigned flags, kn_yaml_docs *out, kn_error **err);

#endif

/* kproto.h - Kubernetes protobuf request bodies
 * (Content-Type: application/vnd.kubernetes.protobuf) decoded into the JSON
 * the same object would have been sent as.
 *
 * A body is the 4 magic bytes "k8s\0" followed by a runtime.Unknown message
 * {typeMeta = 1 {apiVersion = 1, kind = 2}, raw = 2, contentEncoding = 3,
 * contentType = 4}; raw is the object's own message (k8s.io/api generated.proto,
 * proto2 as gogo/protobuf writes it: value fields always present, pointer
 * fields only when set). The type comes from apiVersion and kind; the fields
 * from the schema table (kschema.h).
 *
 * The result is what Go's encoding/json writes for the decoded struct:
 * fields in declaration order, "kind" and "apiVersion" first; zero values
 * omitted only where the field is `omitempty` and not a pointer; struct
 * values always written (so `"status": {}`, `"resources": {}`); Time as
 * "2006-01-02T15:04:05Z" (seconds; the zero time is null), MicroTime with 6
 * fraction digits; IntOrString as a number or a string; Quantity in its
 * canonical form; []byte as standard base64; map keys sorted; a proto field
 * repeated in the input merged as protobuf does (last scalar wins, messages
 * merge, lists append).
 *
 * Stricter than upstream on purpose, each a KN_EINVAL naming the type and the
 * field path ("Deployment spec.template.spec.containers[0].ports[0]: ..."):
 * unknown field numbers (upstream skips them), a wire type that does not fit
 * the field, truncated data, strings that are not UTF-8 or hold NUL, nesting
 * deeper than KN_KPROTO_MAX_DEPTH, integers beyond +-(2^53-1) (a JSON number
 * would round them), a Time outside years 1-9999, a RawExtension/FieldsV1
 * that is not JSON text, output larger than the input can justify (a budget
 * of JSON nodes, so a small body of empty sub-messages cannot expand into a
 * huge tree). Never aborts on any input; allocation failure aborts
 * (xalloc). */
#ifndef KNODE_CONTROLPLANE_KPROTO_H
#define KNODE_CONTROLPLANE_KPROTO_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

#include "controlplane/kschema.h"
#include "lib/error.h"

/* The media type Kubernetes clients send protobuf bodies as. */
#define KN_KPROTO_MEDIA_TYPE "application/vnd.kubernetes.protobuf"

/* Deepest nesting of messages accepted (real objects stay under 16). */
#define KN_KPROTO_MAX_DEPTH 32

/* True if a Content-Type header value names the Kubernetes protobuf media
 * type (parameters such as ";charset=..." allowed). NULL is false. */
bool kn_kproto_is_media_type(const char *content_type);

/* Decodes a whole protobuf body (magic + runtime.Unknown) into a new JSON
 * object (*out, owned by the caller) with kind and apiVersion from the
 * envelope. Errors: KN_EINVAL for anything malformed or of a kind the schema
 * does not know ("no kind \"Foo\" is registered for version \"v1\""), with
 * the message prefixed "protobuf body: ". *out is untouched on error. */
int kn_kproto_decode(const void *data, size_t len, cJSON **out, kn_error **err);

/* Decodes one message of type t (no magic, no envelope) into a new JSON
 * object, without kind/apiVersion. Same errors as kn_kproto_decode. */
int kn_kproto_decode_message(const kn_schema_type *t, const void *data, size_t len, cJSON **out,
                             kn_error **err);

#endif

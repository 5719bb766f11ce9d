/* objmeta.h - ObjectMeta helpers shared by the API server and controllers:
 * UIDs, timestamps, name validation as upstream (DNS-1123). */
#ifndef KNODE_CONTROLPLANE_OBJMETA_H
#define KNODE_CONTROLPLANE_OBJMETA_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A random (v4) UUID in its 36-character text form; buf holds 37 bytes. */
void kn_uuid(char *buf);

/* RFC 3339 UTC time with second precision ("2026-11-21T11:38:00Z") for the
 * wall time ns (0: now); buf holds 32 bytes. */
void kn_rfc3339(int64_t wall_ns, char *buf, size_t size);
/* Parses that form (also with fractional seconds); -1 on error. */
int64_t kn_rfc3339_parse(const char *s);

/* NULL if name is a valid DNS-1123 subdomain (≤253, lower-case alphanumerics,
 * '-', '.', starting and ending alphanumeric); else a static message. */
const char *kn_dns1123_subdomain_error(const char *name);
/* The same for a DNS-1123 label (≤63, no '.'). */
const char *kn_dns1123_label_error(const char *name);

/* generateName + 5 random characters from upstream's alphabet; owned. */
char *kn_generate_name(const char *prefix);

/* metadata.<field> of obj as a string, or NULL. */
const char *kn_meta_str(const cJSON *obj, const char *field);
/* The metadata object, created if missing. */
cJSON *kn_meta(cJSON *obj);
/* Sets metadata.<field> to a string (replacing). */
void kn_meta_set_str(cJSON *obj, const char *field, const char *value);

#endif

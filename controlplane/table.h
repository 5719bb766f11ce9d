/* table.h - server-side printing: meta.k8s.io/v1 Table responses, which
 * `kubectl get` asks for (Accept: application/json;as=Table;v=v1;g=meta.k8s.io)
 * to print the same columns as against upstream. */
#ifndef KNODE_CONTROLPLANE_TABLE_H
#define KNODE_CONTROLPLANE_TABLE_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "controlplane/resources.h"

/* True if the Accept header asks for a Table. */
bool kn_table_wanted(const char *accept);

/* A Table of the items of a list object (owned). */
cJSON *kn_table_from_list(const kn_resource *r, const cJSON *list);

/* A Table of one object (owned). */
cJSON *kn_table_from_object(const kn_resource *r, const cJSON *obj);

/* "5s", "3m", "2d4h", "3y" as upstream's duration.HumanDuration of a
 * number of seconds ("<invalid>" below -1). */
void kn_human_duration(int64_t seconds, char *buf, size_t size);

/* kn_human_duration of now - ts; "<unknown>" for NULL or an unparsable ts. */
void kn_human_age(const char *rfc3339, char *buf, size_t size);

#endif

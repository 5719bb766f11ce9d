/* msg.c - heap-built CRI messages and map<string, string> access (msg.h). */
#include "cri/msg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/xalloc.h"

void *cri_msg_new(const ProtobufCMessageDescriptor *desc)
{
    ProtobufCMessage *m = xcalloc(1, desc->sizeof_message);
    protobuf_c_message_init(desc, m);
    return m;
}

void cri_msg_free(void *msg)
{
    if (msg)
        protobuf_c_message_free_unpacked(msg, NULL);
}

void cri_str_set(char **field, const char *s)
{
    if (*field && *field != protobuf_c_empty_string)
        free(*field);
    *field = s && *s ? xstrdup(s) : (char *)protobuf_c_empty_string;
}

void cri_strv_add(char ***v, size_t *n, const char *s)
{
    *v = xreallocarray(*v, *n + 1, sizeof(**v));
    (*v)[(*n)++] = xstrdup(s ? s : "");
}

/* The descriptor of msg's map<string, string> field, or NULL. */
static const ProtobufCFieldDescriptor *map_field(const ProtobufCMessage *m, const char *field)
{
    const ProtobufCFieldDescriptor *f =
        protobuf_c_message_descriptor_get_field_by_name(m->descriptor, field);
    if (!f || f->label != PROTOBUF_C_LABEL_REPEATED || f->type != PROTOBUF_C_TYPE_MESSAGE)
        return NULL;
    const ProtobufCMessageDescriptor *ed = f->descriptor;
    if (ed->n_fields != 2 || ed->fields[0].type != PROTOBUF_C_TYPE_STRING ||
        ed->fields[1].type != PROTOBUF_C_TYPE_STRING || strcmp(ed->fields[0].name, "key") != 0)
        return NULL;
    return f;
}

static const ProtobufCFieldDescriptor *map_field_or_die(const ProtobufCMessage *m,
                                                        const char *field)
{
    const ProtobufCFieldDescriptor *f = map_field(m, field);
    if (!f) {
        fprintf(stderr, "knode: %s has no map<string, string> field %s\n", m->descriptor->name,
                field);
        abort();
    }
    return f;
}

#define MEMBER(type, base, offset) (*(type *)((char *)(base) + (offset)))

static char **entry_str(ProtobufCMessage *e, int i)
{
    return &MEMBER(char *, e, e->descriptor->fields[i].offset);
}

void cri_map_put(void *msg, const char *field, const char *key, const char *value)
{
    ProtobufCMessage *m = msg;
    const ProtobufCFieldDescriptor *f = map_field_or_die(m, field);
    size_t *n = &MEMBER(size_t, m, f->quantifier_offset);
    ProtobufCMessage ***entries = &MEMBER(ProtobufCMessage **, m, f->offset);
    for (size_t i = 0; i < *n; i++) {
        if (strcmp(*entry_str((*entries)[i], 0), key) == 0) {
            cri_str_set(entry_str((*entries)[i], 1), value);
            return;
        }
    }
    ProtobufCMessage *e = cri_msg_new(f->descriptor);
    cri_str_set(entry_str(e, 0), key);
    cri_str_set(entry_str(e, 1), value);
    *entries = xreallocarray(*entries, *n + 1, sizeof(**entries));
    (*entries)[(*n)++] = e;
}

const char *cri_map_get(const void *msg, const char *field, const char *key)
{
    const ProtobufCMessage *m = msg;
    if (!m)
        return NULL;
    const ProtobufCFieldDescriptor *f = map_field_or_die(m, field);
    size_t n = MEMBER(size_t, m, f->quantifier_offset);
    ProtobufCMessage **entries = MEMBER(ProtobufCMessage **, m, f->offset);
    for (size_t i = 0; i < n; i++)
        if (strcmp(*entry_str(entries[i], 0), key) == 0)
            return *entry_str(entries[i], 1);
    return NULL;
}

size_t cri_map_len(const void *msg, const char *field)
{
    const ProtobufCMessage *m = msg;
    return m ? MEMBER(size_t, m, map_field_or_die(m, field)->quantifier_offset) : 0;
}

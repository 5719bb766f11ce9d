/* cri-internal.h - helpers shared by runtime.c and image.c (not public). */
#ifndef KNODE_CRI_INTERNAL_H
#define KNODE_CRI_INTERNAL_H

#include "cri/grpc.h"
#include "cri/msg.h"

/* One unary call whose reply goes to *(T **)out, or is dropped when out is
 * NULL (for the empty replies of Stop/Remove/...). */
static inline int cri_call_into(cri_conn *c, const char *method, const ProtobufCMessage *req,
                                const ProtobufCMessageDescriptor *reply_desc, int64_t timeout_ms,
                                void *out, kn_error **err)
{
    ProtobufCMessage *reply = NULL;
    int r = cri_call(c, method, req, reply_desc, timeout_ms, &reply, err);
    if (r < 0)
        return r;
    if (out)
        *(ProtobufCMessage **)out = reply;
    else
        cri_msg_free(reply);
    return 0;
}

/* A borrowed string for a request field (protobuf-c fields are char *). */
static inline char *cri_str_arg(const char *s)
{
    return (char *)(s ? s : "");
}

#endif

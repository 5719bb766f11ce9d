/* reply.h - decoding and checking CRI replies.
 *
 * Every reply that comes off the wire is unpacked by protobuf-c and then
 * checked for the fields the kubelet relies on (as upstream's cri-client
 * does: a RunPodSandbox reply without pod_sandbox_id, a ContainerStatus
 * without id/metadata/created_at/image, a PullImage reply without image_ref,
 * ...). A malformed or incomplete reply becomes a KN_EIO error, so callers
 * can dereference the checked fields without further tests. */
#ifndef KNODE_CRI_REPLY_H
#define KNODE_CRI_REPLY_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "lib/error.h"

/* Unpacks len bytes at buf as a desc message and checks it. On success *out
 * is owned by the caller (protobuf_c_message_free_unpacked(*out, NULL)).
 * Errors: KN_EIO ("malformed <Type> reply", or the failed check), never a
 * crash on any input. */
int cri_reply_decode(const ProtobufCMessageDescriptor *desc, const uint8_t *buf, size_t len,
                     ProtobufCMessage **out, kn_error **err);

/* Checks the required fields of a reply of any runtime.v1 response type
 * (types without requirements pass). Returns 0 or KN_EIO naming the field,
 * e.g. "RunPodSandboxResponse: pod_sandbox_id is not set". */
int cri_reply_check(const ProtobufCMessage *msg, kn_error **err);

#endif

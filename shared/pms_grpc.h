/*
 * pms_grpc.h -- the glue between gRPC C core and protobuf-c that both
 * sides of a pms RPC use: packing a message into a byte buffer, unpacking
 * one, deadlines, and one blocking unary call on a channel.
 */
#ifndef PMS_GRPC_H
#define PMS_GRPC_H

#include <stddef.h>
#include <grpc/grpc.h>
#include <grpc/support/time.h>
#include <protobuf-c/protobuf-c.h>

#include "pms_status.h"

/* A new byte buffer holding m packed; the caller destroys it. NULL: OOM. */
grpc_byte_buffer *pms_grpc_pack(const ProtobufCMessage *m);

/*
 * Unpacks bb (all slices) as a d message.  The caller frees the result
 * with protobuf_c_message_free_unpacked().  NULL when it does not decode.
 */
ProtobufCMessage *pms_grpc_unpack(const ProtobufCMessageDescriptor *d,
    grpc_byte_buffer                                               *bb);

/* now + ms on the monotonic clock. */
gpr_timespec pms_grpc_deadline(long ms);

/*
 * Calls method on ch with req and a deadline of timeout_ms, blocking on
 * cq (a CQ_PLUCK queue owned by the caller).  On GRPC_STATUS_OK *resp is
 * the decoded answer (caller frees); otherwise *resp is NULL and err holds
 * the status details.  Returns the gRPC status.
 */
grpc_status_code pms_grpc_unary(grpc_channel *ch, grpc_completion_queue *cq,
    const char *method, const ProtobufCMessage *req,
    const ProtobufCMessageDescriptor *resp_desc, long timeout_ms,
    ProtobufCMessage **resp, char *err, size_t errlen);

/*
 * The one place pms_status_t becomes a gRPC status (a server's answer):
 * UNAVAILABLE for PMS_UNAVAILABLE, INVALID_ARGUMENT, NOT_FOUND,
 * ALREADY_EXISTS for their counterparts, INTERNAL otherwise.
 */
grpc_status_code pms_grpc_status(pms_status_t st);

/* "OK", "UNAVAILABLE", ... for logs. */
const char *pms_grpc_status_name(grpc_status_code code);

#endif

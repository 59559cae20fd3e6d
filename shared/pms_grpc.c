/*
 * pms_grpc.c -- protobuf-c <-> grpc_byte_buffer and the client's unary
 * call.  Ownership follows gRPC core's rules: a sent buffer is destroyed
 * by us after its batch completes; received buffers and status slices are
 * ours to release.
 */
#include <stdio.h>
#include <string.h>
#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/slice.h>
#include <grpc/support/alloc.h>

#include "pms_grpc.h"
#include "pms_metrics.h"
#include "pms_trace.h"

grpc_byte_buffer *
pms_grpc_pack(const ProtobufCMessage *m)
{
    size_t            n = protobuf_c_message_get_packed_size(m);
    grpc_slice        s = grpc_slice_malloc(n);
    grpc_byte_buffer *bb;

    protobuf_c_message_pack(m, GRPC_SLICE_START_PTR(s));
    bb = grpc_raw_byte_buffer_create(&s, 1); /* takes its own ref */
    grpc_slice_unref(s);
    return bb;
}

ProtobufCMessage *
pms_grpc_unpack(const ProtobufCMessageDescriptor *d, grpc_byte_buffer *bb)
{
    grpc_byte_buffer_reader r;
    grpc_slice              all;
    ProtobufCMessage       *m;

    if (bb == NULL || !grpc_byte_buffer_reader_init(&r, bb)) {
        return NULL;
    }
    all = grpc_byte_buffer_reader_readall(&r);
    grpc_byte_buffer_reader_destroy(&r);
    m = protobuf_c_message_unpack(d, NULL, GRPC_SLICE_LENGTH(all),
        GRPC_SLICE_START_PTR(all));
    grpc_slice_unref(all);
    return m;
}

gpr_timespec
pms_grpc_deadline(long ms)
{
    return gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
        gpr_time_from_millis(ms, GPR_TIMESPAN));
}

static const pms_metric_t m_client_calls =
    PMS_COUNTER("grpc_client_calls_total",
        "gRPC calls made, by method and the status they ended with", "method",
        "code");
static const pms_metric_t m_client_duration =
    PMS_HISTOGRAM("grpc_client_call_duration_seconds",
        "time from starting a gRPC call to its status, by method", "method",
        NULL);

grpc_status_code
pms_grpc_unary(grpc_channel *ch, grpc_completion_queue *cq, const char *method,
    const ProtobufCMessage *req, const ProtobufCMessageDescriptor *resp_desc,
    long timeout_ms, ProtobufCMessage **resp, char *err, size_t errlen)
{
    grpc_call          *call;
    grpc_op             ops[6];
    grpc_metadata_array initial_md, trailing_md;
    grpc_byte_buffer   *req_bb, *resp_bb = NULL;
    grpc_status_code    status = GRPC_STATUS_UNKNOWN;
    grpc_slice          details = grpc_empty_slice();
    const char         *error_string = NULL;
    grpc_call_error     ce;
    grpc_event          ev;
    grpc_metadata       md;
    char                tp[PMS_TRACEPARENT_LEN];
    double              started = pms_metrics_now();

    *resp = NULL;
    err[0] = '\0';
    req_bb = pms_grpc_pack(req);
    if (req_bb == NULL) {
        snprintf(err, errlen, "out of memory");
        return GRPC_STATUS_RESOURCE_EXHAUSTED;
    }
    call = grpc_channel_create_call(ch, NULL, GRPC_PROPAGATE_DEFAULTS, cq,
        grpc_slice_from_static_string(method), NULL,
        pms_grpc_deadline(timeout_ms), NULL);
    grpc_metadata_array_init(&initial_md);
    grpc_metadata_array_init(&trailing_md);
    memset(ops, 0, sizeof(ops));
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    if (pms_trace_current() != NULL) {
        pms_trace_format(pms_trace_current(), tp);
        md.key = grpc_slice_from_static_string("traceparent");
        md.value = grpc_slice_from_static_string(tp); /* outlives the call */
        ops[0].data.send_initial_metadata.count = 1;
        ops[0].data.send_initial_metadata.metadata = &md;
    }
    ops[1].op = GRPC_OP_SEND_MESSAGE;
    ops[1].data.send_message.send_message = req_bb;
    ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
    ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
    ops[3].data.recv_initial_metadata.recv_initial_metadata = &initial_md;
    ops[4].op = GRPC_OP_RECV_MESSAGE;
    ops[4].data.recv_message.recv_message = &resp_bb;
    ops[5].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
    ops[5].data.recv_status_on_client.trailing_metadata = &trailing_md;
    ops[5].data.recv_status_on_client.status = &status;
    ops[5].data.recv_status_on_client.status_details = &details;
    ops[5].data.recv_status_on_client.error_string = &error_string;

    ce = grpc_call_start_batch(call, ops, 6, call, NULL);
    if (ce != GRPC_CALL_OK) {
        snprintf(err, errlen, "start_batch: %s", grpc_call_error_to_string(ce));
        status = GRPC_STATUS_INTERNAL;
    } else {
        /* RECV_STATUS_ON_CLIENT always completes: deadline and transport
         * errors arrive as status, so an infinite pluck cannot hang. */
        ev = grpc_completion_queue_pluck(cq, call,
            gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
        (void) ev;
        if (status == GRPC_STATUS_OK) {
            *resp = pms_grpc_unpack(resp_desc, resp_bb);
            if (*resp == NULL) {
                snprintf(err, errlen, "the response did not decode");
                status = GRPC_STATUS_INTERNAL;
            }
        } else {
            snprintf(err, errlen, "%.*s", (int) GRPC_SLICE_LENGTH(details),
                (const char *) GRPC_SLICE_START_PTR(details));
        }
    }
    grpc_slice_unref(details);
    gpr_free((void *) error_string);
    grpc_metadata_array_destroy(&initial_md);
    grpc_metadata_array_destroy(&trailing_md);
    if (resp_bb != NULL) {
        grpc_byte_buffer_destroy(resp_bb);
    }
    grpc_call_unref(call);
    grpc_byte_buffer_destroy(req_bb);
    pms_metric_add(&m_client_calls, method, pms_grpc_status_name(status), 1);
    pms_metric_observe(&m_client_duration, method, NULL,
        pms_metrics_now() - started);
    return status;
}

grpc_status_code
pms_grpc_status(pms_status_t st)
{
    switch (st) {
    case PMS_OK:
        return GRPC_STATUS_OK;
    case PMS_INVALID:
        return GRPC_STATUS_INVALID_ARGUMENT;
    case PMS_NOT_FOUND:
        return GRPC_STATUS_NOT_FOUND;
    case PMS_CONFLICT:
        return GRPC_STATUS_ALREADY_EXISTS;
    case PMS_UNAVAILABLE:
        return GRPC_STATUS_UNAVAILABLE;
    case PMS_ERROR:
        return GRPC_STATUS_INTERNAL;
    }
    return GRPC_STATUS_INTERNAL;
}

const char *
pms_grpc_status_name(grpc_status_code code)
{
    static const char *names[] = {
        "OK",
        "CANCELLED",
        "UNKNOWN",
        "INVALID_ARGUMENT",
        "DEADLINE_EXCEEDED",
        "NOT_FOUND",
        "ALREADY_EXISTS",
        "PERMISSION_DENIED",
        "RESOURCE_EXHAUSTED",
        "FAILED_PRECONDITION",
        "ABORTED",
        "OUT_OF_RANGE",
        "UNIMPLEMENTED",
        "INTERNAL",
        "UNAVAILABLE",
        "DATA_LOSS",
        "UNAUTHENTICATED",
    };

    if ((int) code >= 0 && (size_t) code < sizeof(names) / sizeof(names[0])) {
        return names[code];
    }
    return "UNKNOWN";
}

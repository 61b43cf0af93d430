/* The streams of each qube's channel and the relay between their ends.
 *
 * A stream is joined with bh (a command bh runs: QS_RUN) or with a stream
 * of another qube (a call, QS_CALL in the caller, joined with the service
 * it reached, QS_SERVICE in the target). Frames pass between the two ends
 * as they are, with the stream id changed, one copy (the frame goes from
 * the channel's input buffer into the other channel's queue). Credit
 * passes end to end: each CREDIT one end grants is forwarded to the other,
 * and the daemon checks every end against what it was granted, so a qube
 * that ignores credit is cut off instead of growing our queues. */
#ifndef BH_DAEMON_STREAMS_H
#define BH_DAEMON_STREAMS_H

#include <stdint.h>

#include "daemon/core/daemon.h"
#include "daemon/core/qstream.h"
#include "proto/chan_attach.h"
#include "proto/frame.h"

void qs_free(struct qstream *s);

/* Starts the command req (an exec request of len bytes) on a new stream
 * of dv (id 0: pick one) for client c. Returns 0, or -ENOSPC (too many
 * streams) / -EPROTO (the channel refused the frame). */
int qs_start_run(struct qube_vm *dv, uint32_t id, struct client *c,
		 const uint8_t *req, uint32_t len);

/* Starts service req on a new stream of dv and joins it with the call
 * (caller, call_id), or with client c when caller is NULL. Returns 0 or
 * as qs_start_run; -ENOENT when the call is gone; -EPIPE when the service
 * started but the caller's queue could not take the credit that opens
 * the call: the call is then ended and its stream freed, and the service
 * gets EOF. */
int qs_start_service(struct qube_vm *dv, const struct bh_service_req *req,
		     struct qube_vm *caller, uint32_t call_id,
		     struct client *c);

/* Ends a call of dv with an exit status (kind, value) sent to the guest,
 * and frees its stream. */
void qs_end_call(struct qube_vm *dv, struct qstream *s, uint32_t kind,
		 uint32_t value);

/* Refuses a call the guest opens on id (status 125) without taking a
 * slot. Returns 0, or -EPROTO when id is live. */
int qs_refuse_new_call(struct qube_vm *dv, uint32_t id);

/* A re-attached qube's open streams (proto/chan_attach.h): each stream
 * an earlier daemon opened becomes QS_ORPHAN (its input ended if it was
 * not, its output drained until its EXIT); each call of the guest gets
 * its end (status 125, as when a callee goes). Returns 0, or -EPROTO when the
 * channel refused a frame or an id is already taken. */
int qs_adopt(struct qube_vm *dv, const struct bh_attach_info *info);

/* A data, credit or exit frame from dv's guest (checked by
 * bh_frame_check_from_guest; not HELLO or CALL). Returns 0, 1 when it
 * was the EXIT of dv's job stream (a disposable's end: *kind, *value
 * set), or -EPROTO when the guest broke the protocol. */
int qs_guest_frame(struct qube_vm *dv, const struct bh_frame_hdr *h,
		   const uint8_t *untrusted_payload, uint32_t *kind,
		   uint32_t *value);

/* A frame from client c for its stream. Returns 0 or -EPROTO. */
int qs_client_frame(struct client *c, const struct bh_frame_hdr *h,
		    const uint8_t *payload);

/* bh went away: its command gets EOF on stdin and its output is dropped
 * until it exits. */
void qs_client_gone(struct client *c);

/* dv is going away: every stream joined with one of its streams learns
 * it (a call gets exit status 125, a service EOF on stdin, a client an
 * error naming why). */
void qs_qube_gone(struct qube_vm *dv, const char *why);

/* Sends the credit owed to dv's streams (qstream.credit_owed), one
 * CREDIT frame each, while dv's queue is below QUBE_PAUSE_BYTES; and
 * bh's (client.credit_owed). The main loop calls them every round. */
void qs_flush_credit(struct qube_vm *dv);
void qs_flush_client_credit(struct client *c);

#endif

#include "daemon/qube/qube_vm_chan.h"

#include <errno.h>
#include <stdint.h>

#include "daemon/qube/qube_vm.h"
#include "daemon/relay/streams.h"
#include "lib/log.h"
#include "lib/util.h"
#include "proto/exitcodes.h"

int qube_vm_ready(struct qube_vm *dv)
{
	int r;

	dv->state = DV_RUNNING;
	dv->deadline_ms = 0;
	LOG_INFO("%s: ready after %lld ms%s", dv->name,
		 (long long)(bh_now_ms() - dv->started_ms),
		 dv->snap == DVS_RESTORE ? " (restored from its snapshot)" : "");
	if (dv->persistent)
		dv->d->hooks->qube_ready(dv);
	else if ((r = dv->d->hooks->disposable_start_job(dv)) < 0)
		return r;
	dv->d->hooks->rpc_target_ready(dv);
	return 0;
}

int qube_vm_handle_agent_frame(struct qube_vm *dv,
			       const struct bh_frame_hdr *untrusted_h,
			       const uint8_t *untrusted_payload)
{
	const struct bh_frame_hdr *h;
	uint32_t v, kind;
	int r;

	/* Type, stream and length against each other; the payload is
	 * checked by whoever parses it. */
	if (bh_frame_check_from_guest(untrusted_h) < 0)
		return -EPROTO;
	h = untrusted_h;
	if (h->type == BH_MSG_HELLO) {
		if (dv->state != DV_BOOTING ||
		    bh_parse_hello(untrusted_payload, h->len, &v) < 0 ||
		    v != BH_PROTO_VERSION)
			return -EPROTO;
		if (dv->d->hooks->pool_on_hello(dv) ||
		    dv->d->hooks->snapshot_on_hello(dv))
			return 0;
		return qube_vm_ready(dv);
	}
	/* Nothing but HELLO before it. A disposable whose job is over may
	 * still carry a call its command left running until it powers
	 * off, but starts none. */
	if (dv->state == DV_BOOTING)
		return -EPROTO;
	if (h->type == BH_MSG_CALL) {
		if (dv->state != DV_RUNNING)
			return qs_refuse_new_call(dv, h->stream);
		return dv->d->hooks->rpc_call_opened(
			dv, h->stream, untrusted_payload, h->len);
	}
	r = qs_guest_frame(dv, h, untrusted_payload, &kind, &v);
	if (r == 1)
		return dv->d->hooks->disposable_job_done(dv, kind, v);
	return r;
}

/* A pause is worth a line, but a busy qube may pause often. */
#define PAUSE_LOG_INTERVAL_MS 60000

int qube_vm_readable(struct qube_vm *dv, int64_t now_ms)
{
	size_t waiting = bh_chan_pending(&dv->chan);

	if (waiting < QUBE_PAUSE_BYTES) {
		dv->read_paused = 0;
		return 1;
	}
	if (!dv->read_paused &&
	    (!dv->pause_logged_ms ||
	     now_ms - dv->pause_logged_ms >= PAUSE_LOG_INTERVAL_MS)) {
		dv->pause_logged_ms = now_ms;
		LOG_INFO("%s: not read while %zu KiB wait for it to read them",
			 dv->name, waiting / 1024);
	}
	dv->read_paused = 1;
	return 0;
}

/* The channel process found the qube breaking the protocol, and reads
 * nothing more of it. */
static void chan_broken(struct qube_vm *dv, const uint8_t *untrusted_p,
			uint32_t len)
{
	struct bh_chan_broken b;

	if (bh_parse_chan_broken(untrusted_p, len, &b) < 0)
		qube_vm_error(dv, BH_EXIT_FAILURE,
			      "the channel process of qube %s sent a "
			      "malformed message; the qube was destroyed",
			      dv->name);
	else if (b.why == BH_BROKEN_OVERSIZED)
		qube_vm_error(dv, BH_EXIT_FAILURE,
			      "qube %s sent an oversized frame; it was "
			      "destroyed",
			      dv->name);
	else
		qube_vm_error(dv, BH_EXIT_FAILURE,
			      "qube %s broke the channel protocol (frame "
			      "type %u, stream %u, %u bytes); it was "
			      "destroyed",
			      dv->name, b.type, b.stream, b.len);
	qube_vm_destroy(dv);
}

/* The first frame of a re-attached channel process: the agent's HELLO,
 * if it said it, and the streams an earlier daemon left open. <0: the
 * qube was destroyed. */
static int attach_frame(struct qube_vm *dv, const uint8_t *untrusted_p,
			uint32_t len)
{
	static struct bh_attach_info info;

	if (!dv->adopted || dv->attach_seen ||
	    bh_attach_info_parse(untrusted_p, len, &info) < 0 ||
	    (info.flags & BH_ATTACH_HELLO &&
	     info.hello_version != BH_PROTO_VERSION)) {
		qube_vm_error(dv, BH_EXIT_FAILURE,
			      "the channel process of qube %s sent a "
			      "malformed re-attach message; the qube was "
			      "destroyed",
			      dv->name);
		qube_vm_destroy(dv);
		return -1;
	}
	dv->attach_seen = 1;
	/* From CHAN_ATTACH_REPLY_MS to the boot's own deadline, for an
	 * agent that is still booting (none once it is ready). */
	dv->deadline_ms = dv->started_ms + dv->d->boot_timeout_ms;
	if (info.flags & BH_ATTACH_OVERFLOW)
		LOG_WARN("%s: more streams were open than its channel process "
			 "kept; those it did not keep may end the qube",
			 dv->name);
	if (qs_adopt(dv, &info) < 0) {
		qube_vm_error(dv, BH_EXIT_FAILURE,
			      "cannot end what an earlier daemon left open in "
			      "qube %s; the qube was destroyed",
			      dv->name);
		qube_vm_destroy(dv);
		return -1;
	}
	LOG_INFO("%s: re-attached (%u stream(s) of the earlier daemon ended, "
		 "agent %s)",
		 dv->name, info.count,
		 info.flags & BH_ATTACH_HELLO ? "ready" : "still booting");
	if (info.flags & BH_ATTACH_HELLO && dv->state == DV_BOOTING &&
	    qube_vm_ready(dv) < 0) {
		qube_vm_destroy(dv);
		return -1;
	}
	return 0;
}

void qube_vm_agent_input(struct qube_vm *dv)
{
	struct bh_frame_hdr untrusted_h;
	const uint8_t *untrusted_payload;
	long n;
	int r;

	if (dv->link_eof)
		return;
	n = bh_chan_read(&dv->chan);
	if (n == 0 || (n < 0 && n != -EAGAIN && n != -ENOBUFS)) {
		/* The channel process has ended: after QEMU, as it should
		 * (the qube's end waits for this: qube_vm_finish_ended), or
		 * before, which ends the qube. */
		dv->link_eof = 1;
		/* It ends by itself once QEMU has closed everything, which
		 * may come before QEMU is reaped; so QEMU gets a moment to
		 * end before the qube is ended for it (qube_vm_tick). A
		 * channel process that was killed or failed ends the qube
		 * at once (qube_vm_chan_reaped). */
		if (dv->vm_alive)
			dv->link_deadline_ms = bh_now_ms() + CHAN_DRAIN_MS;
		return;
	}
	while ((r = bh_chan_next(&dv->chan, &untrusted_h,
				 &untrusted_payload)) > 0) {
		if (untrusted_h.type == BH_MSG_CHAN_BROKEN) {
			chan_broken(dv, untrusted_payload, untrusted_h.len);
			return;
		}
		if (untrusted_h.type == BH_MSG_CHAN_ATTACH) {
			if (attach_frame(dv, untrusted_payload,
					 untrusted_h.len) < 0)
				return;
			continue;
		}
		if (dv->adopted && !dv->attach_seen) {
			qube_vm_error(dv, BH_EXIT_FAILURE,
				      "the channel process of qube %s did not "
				      "say what it had at the re-attach; the "
				      "qube was destroyed",
				      dv->name);
			qube_vm_destroy(dv);
			return;
		}
		if (qube_vm_handle_agent_frame(dv, &untrusted_h,
					       untrusted_payload) < 0) {
			qube_vm_error(dv, BH_EXIT_FAILURE,
				 "qube %s broke the channel protocol (frame "
				 "type %u, stream %u, %u bytes); it was "
				 "destroyed",
				 dv->name, untrusted_h.type,
				 untrusted_h.stream, untrusted_h.len);
			qube_vm_destroy(dv);
			return;
		}
	}
	if (r < 0) {
		qube_vm_error(dv, BH_EXIT_FAILURE,
			 "qube %s sent an oversized frame; it was destroyed",
			 dv->name);
		qube_vm_destroy(dv);
	}
}

void qube_vm_agent_output(struct qube_vm *dv)
{
	if (bh_chan_flush(&dv->chan) < 0 && dv->state != DV_STOPPING) {
		qube_vm_error(dv, BH_EXIT_FAILURE, "channel to %s failed",
			 dv->name);
		qube_vm_destroy(dv);
	}
}

void qube_vm_qmp_input(struct qube_vm *dv)
{
	if (qmp_handle_input(&dv->qmp, dv->name) < 0 && dv->vm_alive &&
	    dv->state != DV_STOPPING)
		LOG_DEBUG("%s: QMP connection closed", dv->name);
	else if (dv->vm_alive && dv->state != DV_STOPPING)
		dv->d->hooks->snapshot_qmp_event(dv);
}

void qube_vm_client_gone(struct qube_vm *dv, struct client *c)
{
	if (dv->persistent || c != dv->client) {
		/* The qube stays; the command gets EOF on stdin and its
		 * output is dropped until it exits. */
		qs_client_gone(c);
		return;
	}
	dv->client = NULL;
	dv->no_fallback = 1;
	qs_client_gone(c);
	if (qube_vm_live(dv)) {
		LOG_INFO("%s: bh went away; destroying the qube", dv->name);
		qube_vm_kill(dv);
	}
}

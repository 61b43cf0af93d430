/* Streams of qube channels and the relay between their ends (see
 * streams.h). */
#include "daemon/relay/streams.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/core/client_send.h"
#include "daemon/relay/dataport.h"
#include "lib/log.h"
#include "proto/exitcodes.h"

static void relay_broken(struct qube_vm *dv, struct qstream *s);

void qs_free(struct qstream *s)
{
	free(s->svc);
	memset(s, 0, sizeof(*s));
}

int qs_start_run(struct qube_vm *dv, uint32_t id, struct client *c,
		 const uint8_t *req, uint32_t len)
{
	struct qstream *s;

	if (id == 0)
		id = qs_next_host_id(dv);
	s = qs_new(dv, id, QS_RUN);
	if (!s)
		return -ENOSPC;
	s->client = c;
	s->guest_may_send.avail = BH_STREAM_WINDOW;
	s->client_may_send.avail = BH_STREAM_WINDOW;
	if (bh_chan_send(&dv->chan, BH_MSG_EXEC, id, req, len) < 0) {
		qs_free(s);
		return -EPROTO;
	}
	c->dv = dv;
	c->sid = id;
	return 0;
}

int qs_start_service(struct qube_vm *dv, const struct bh_service_req *req,
		     struct qube_vm *caller, uint32_t call_id,
		     struct client *c)
{
	uint8_t buf[BH_RPC_SERVICE_MAX + BH_RPC_ARG_MAX + BH_RPC_QUBE_MAX +
		    BH_RPC_USER_MAX + 8];
	struct qstream *s, *cs = NULL;
	uint32_t id = qs_next_host_id(dv);
	int len = bh_service_req_encode(buf, sizeof(buf), req);

	if (len < 0)
		return -EPROTO;
	if (caller && !(cs = qs_find(caller, call_id)))
		return -ENOENT;
	s = qs_new(dv, id, QS_SERVICE);
	if (!s)
		return -ENOSPC;
	s->guest_may_send.avail = BH_STREAM_WINDOW;
	if (bh_chan_send(&dv->chan, BH_MSG_SERVICE, id, buf, (uint32_t)len) <
	    0) {
		qs_free(s);
		return -EPROTO;
	}
	if (cs) {
		s->peer = caller;
		s->peer_id = call_id;
		cs->peer = dv;
		cs->peer_id = id;
		/* The caller's agent starts a call without credit: it may
		 * send now, as much as the service's agent accepts. If even
		 * that does not fit in the caller's queue, the call ends
		 * here (relay_broken frees it): say so, the caller's stream
		 * is gone. */
		cs->guest_may_send.avail = BH_STREAM_WINDOW;
		if (bh_chan_send_u32(&caller->chan, BH_MSG_CREDIT, call_id,
				     BH_STREAM_WINDOW) < 0) {
			relay_broken(dv, s);
			return -EPIPE;
		}
	} else {
		s->client = c;
		s->client_may_send.avail = BH_STREAM_WINDOW;
		c->dv = dv;
		c->sid = id;
	}
	return 0;
}

void qs_end_call(struct qube_vm *dv, struct qstream *s, uint32_t kind,
		 uint32_t value)
{
	uint8_t p[8];

	bh_put_u32(p, kind);
	bh_put_u32(p + 4, value);
	bh_chan_send(&dv->chan, BH_MSG_EXIT, s->id, p, sizeof(p));
	qs_free(s);
}

/* The stream at the other end, when it is a qube's and still there. */
static struct qstream *peer_stream(struct qstream *s)
{
	return s->peer && s->peer_id ? qs_find(s->peer, s->peer_id) : NULL;
}

/* A frame for the other end did not fit in its queue (past
 * DISPVM_CHAN_OUT_MAX: the pause in main.c failed). Rather than lose
 * data silently, end the call: 125 to the caller, EOF to the service. */
static void relay_broken(struct qube_vm *dv, struct qstream *s)
{
	struct qstream *call = s->role == QS_CALL ? s : peer_stream(s);
	struct qube_vm *cdv = s->role == QS_CALL ? dv : s->peer;
	struct qstream *svc = s->role == QS_CALL ? peer_stream(s) : s;
	struct qube_vm *sdv = s->role == QS_CALL ? s->peer : dv;

	DV_LOG(dv, WARN,
	       "%s: a relayed frame did not fit in a queue; ending the call",
	       dv->name);
	if (svc) {
		svc->peer = NULL;
		svc->peer_id = 0;
		if (!svc->input_eof && sdv->vm_alive) {
			svc->input_eof = 1;
			bh_chan_send(&sdv->chan, BH_MSG_STDIN, svc->id, NULL,
				     0);
		}
	}
	if (call)
		qs_end_call(cdv, call, BH_EXIT_NOSTART, BH_NOSTART_OTHER);
}

int qs_refuse_new_call(struct qube_vm *dv, uint32_t id)
{
	uint8_t p[8];

	if (qs_find(dv, id))
		return -EPROTO; /* a live stream id */
	bh_put_u32(p, BH_EXIT_NOSTART);
	bh_put_u32(p + 4, BH_NOSTART_OTHER);
	bh_chan_send(&dv->chan, BH_MSG_EXIT, id, p, sizeof(p));
	return 0;
}

/* Credit for s's guest, sent with the next qs_flush_credit. The caller
 * has checked it against the window (bh_credit_grant). */
static void owe(struct qube_vm *dv, struct qstream *s, uint32_t v)
{
	s->credit_owed += v;
	dv->credit_dirty = 1;
}

/* Drops a frame of len bytes the guest sent on s, giving its credit
 * back so that its sender is not stuck (a command whose bh or caller is
 * gone). */
static int drop(struct qube_vm *dv, struct qstream *s, uint32_t len)
{
	if (len == 0)
		return 0;
	if (bh_credit_grant(&s->guest_may_send, bh_credit_cost(len)) < 0)
		return -EPROTO;
	owe(dv, s, bh_credit_cost(len));
	return 0;
}

/* A frame on a stream an earlier daemon opened (QS_ORPHAN): its data is
 * dropped with its credit given back, within the one window the guest
 * can have (what it held at the re-attach is at most that), until its
 * EXIT frees the stream. */
static int orphan_frame(struct qube_vm *dv, struct qstream *s,
			const struct bh_frame_hdr *h)
{
	switch (h->type) {
	case BH_MSG_STDOUT:
	case BH_MSG_STDERR:
		if (h->len &&
		    bh_credit_take(&s->guest_may_send,
				   bh_credit_cost(h->len)) < 0)
			return -EPROTO;
		return drop(dv, s, h->len);
	case BH_MSG_EXIT:
		DV_LOG(dv, INFO, "%s: a command of the earlier daemon ended",
		       dv->name);
		qs_free(s);
		return 0;
	case BH_MSG_CREDIT:
	case BH_MSG_PORT_SWITCH:
	case BH_MSG_PORT_END:
		return 0; /* nothing of ours waits for them */
	}
	return -EPROTO;
}

int qs_adopt(struct qube_vm *dv, const struct bh_attach_info *info)
{
	uint8_t p[8];
	uint32_t i;

	for (i = 0; i < info->count; i++) {
		const struct bh_attach_stream *a = &info->streams[i];
		struct qstream *s;

		if (a->id & BH_STREAM_GUEST_BIT) {
			/* Its callee's end went with the earlier daemon:
			 * as when a callee goes (other_end_gone). */
			bh_put_u32(p, BH_EXIT_NOSTART);
			bh_put_u32(p + 4, BH_NOSTART_OTHER);
			if (bh_chan_send(&dv->chan, BH_MSG_EXIT, a->id, p,
					 sizeof(p)) < 0)
				return -EPROTO;
			continue;
		}
		s = qs_new(dv, a->id, QS_ORPHAN);
		if (!s)
			return -EPROTO; /* a repeated id: parse refuses it */
		s->guest_may_send.avail = BH_STREAM_WINDOW;
		if (!(a->flags & BH_ATTACH_S_INPUT_EOF) &&
		    bh_chan_send(&dv->chan, BH_MSG_STDIN, a->id, NULL, 0) < 0)
			return -EPROTO;
		s->input_eof = 1;
	}
	return 0;
}

/* Output of a command or service: to bh, or to the caller's qube. */
static int guest_output(struct qube_vm *dv, struct qstream *s,
			const struct bh_frame_hdr *h,
			const uint8_t *untrusted_p)
{
	int *eof = h->type == BH_MSG_STDERR ? &s->err_eof : &s->guest_eof;
	struct qstream *ps;

	if (*eof || (h->type == BH_MSG_STDOUT && s->out_switched))
		return -EPROTO; /* data after EOF, or after the switch */
	if (h->len == 0)
		*eof = 1;
	else if (bh_credit_take(&s->guest_may_send, bh_credit_cost(h->len)) <
		 0)
		return -EPROTO;
	if (s->client)
		return bh_chan_send(&s->client->chan, h->type, 1, untrusted_p,
				    h->len) < 0
			       ? -EPROTO
			       : 0;
	ps = peer_stream(s);
	/* A service's stderr stays in its qube, as with Qubes. */
	if (!ps || h->type == BH_MSG_STDERR)
		return drop(dv, s, h->len);
	if (bh_chan_send(&s->peer->chan, BH_MSG_STDOUT, s->peer_id,
			 untrusted_p, h->len) < 0) {
		relay_broken(dv, s);
		return drop(dv, s, h->len);
	}
	ps->relayed += h->len;
	dataport_maybe_plug(s->peer, ps);
	return 0;
}

/* A caller's bytes for the service. */
static int guest_call_data(struct qube_vm *dv, struct qstream *s,
			   const struct bh_frame_hdr *h,
			   const uint8_t *untrusted_p)
{
	struct qstream *ps;

	/* Before the join the caller has no credit, so no data, and no
	 * EOF either: its agent sends nothing until granted. */
	if (s->guest_eof || !s->peer_id || s->out_switched)
		return -EPROTO;
	if (h->len == 0)
		s->guest_eof = 1;
	else if (bh_credit_take(&s->guest_may_send, bh_credit_cost(h->len)) <
		 0)
		return -EPROTO;
	ps = peer_stream(s);
	if (!ps || ps->input_eof)
		return 0; /* the service is gone: its EXIT will follow */
	if (h->len == 0)
		ps->input_eof = 1;
	if (bh_chan_send(&s->peer->chan, BH_MSG_STDIN, s->peer_id,
			 untrusted_p, h->len) < 0) {
		relay_broken(dv, s);
		return 0;
	}
	s->relayed += h->len;
	dataport_maybe_plug(dv, s);
	return 0;
}

/* The guest's data of s continues on the data port (PORT_SWITCH), or
 * ended there after a count of bytes (PORT_END, untrusted payload): both
 * go to the other end in order with the data frames before them. Only a
 * stream whose port was opened may send them, once each. */
static int guest_port_marker(struct qube_vm *dv, struct qstream *s,
			     const struct bh_frame_hdr *h,
			     const uint8_t *untrusted_p)
{
	struct qstream *ps;
	uint64_t count;

	if (!s->port_ready || s->guest_eof)
		return -EPROTO;
	if (h->type == BH_MSG_PORT_SWITCH) {
		if (s->out_switched)
			return -EPROTO;
		s->out_switched = 1;
	} else {
		if (!s->out_switched ||
		    bh_parse_port_end(untrusted_p, h->len, &count) < 0)
			return -EPROTO;
		s->guest_eof = 1;
		/* The guest's own word, for the log only: the receiver
		 * trusts it no more than the relay trusts a data frame. */
		DV_LOG(dv, INFO,
		       "data port %u: %s:%#x says it sent %llu bytes on it",
		       s->port_n, dv->name, s->id, (unsigned long long)count);
	}
	ps = peer_stream(s);
	if (!ps)
		return 0; /* the other end is gone: its port is unplugged */
	if (h->type == BH_MSG_PORT_END && s->role == QS_CALL) {
		if (ps->input_eof)
			return 0;
		ps->input_eof = 1;
	}
	if (bh_chan_send(&s->peer->chan, h->type, s->peer_id, untrusted_p,
			 h->len) < 0)
		relay_broken(dv, s);
	return 0;
}

/* The guest consumed input worth v of credit: whoever sends it may send
 * that much more. The grant is held as a number and goes out as one
 * frame (qs_flush_credit), so that a guest granting a byte at a time
 * cannot fill the other end's queue with CREDIT frames. */
static int guest_credit(struct qube_vm *dv, struct qstream *s,
			const uint8_t *untrusted_p, uint32_t len)
{
	struct qstream *ps;
	uint32_t v;

	if (bh_parse_u32_payload(untrusted_p, len, &v) < 0)
		return -EPROTO;
	if (s->client) {
		if (bh_credit_grant(&s->client_may_send, v) < 0)
			return -EPROTO;
		s->client->credit_owed += v;
		return 0;
	}
	ps = peer_stream(s);
	if (!ps)
		return v ? 0 : -EPROTO;
	if (bh_credit_grant(&ps->guest_may_send, v) < 0)
		return -EPROTO;
	owe(s->peer, ps, v);
	return 0;
}

/* A command or service ended. bh gets the end as the daemon checked it
 * (bh_parse_exit), not the guest's bytes. */
static int guest_exit(struct qube_vm *dv, struct qstream *s,
		      const uint8_t *untrusted_p, uint32_t len, uint32_t *kind,
		      uint32_t *value)
{
	uint8_t p[8];
	struct qstream *ps;
	struct client *c = s->client;
	int job = !dv->persistent && s->id == dv->job_stream;

	if (bh_parse_exit(untrusted_p, len, kind, value) < 0)
		return -EPROTO;
	if (c && !(job && c == dv->client)) {
		/* A persistent qube's command: bh gets its end now. (A
		 * disposable's bh gets it once the qube is gone.) */
		bh_put_u32(p, *kind);
		bh_put_u32(p + 4, *value);
		bh_chan_send(&c->chan, BH_MSG_EXIT, 1, p, sizeof(p));
		c->closing = 1;
		c->dv = NULL;
		c->sid = 0;
	}
	ps = peer_stream(s);
	if (ps)
		qs_end_call(s->peer, ps, *kind, *value);
	qs_free(s);
	return job ? 1 : 0;
}

int qs_guest_frame(struct qube_vm *dv, const struct bh_frame_hdr *h,
		   const uint8_t *untrusted_payload, uint32_t *kind,
		   uint32_t *value)
{
	struct qstream *s;

	/* Not tied to a live stream: the agent says so once its stream is
	 * released, which may be after the daemon freed its end. */
	if (h->type == BH_MSG_PORT_CLOSED) {
		dataport_guest_closed(dv, h->stream);
		return 0;
	}
	s = qs_find(dv, h->stream);
	if (!s) {
		/* The daemon ends a call (and frees its stream) on its own:
		 * the guest's frames for it may still be on the way. A
		 * stream the host opened ends only by the guest's EXIT. */
		return h->stream & BH_STREAM_GUEST_BIT ? 0 : -EPROTO;
	}
	if (s->role == QS_ORPHAN)
		return orphan_frame(dv, s, h);
	switch (h->type) {
	case BH_MSG_STDOUT:
	case BH_MSG_STDERR:
		if (s->role == QS_CALL)
			return -EPROTO;
		return guest_output(dv, s, h, untrusted_payload);
	case BH_MSG_STDIN:
		if (s->role != QS_CALL)
			return -EPROTO;
		return guest_call_data(dv, s, h, untrusted_payload);
	case BH_MSG_CREDIT:
		return guest_credit(dv, s, untrusted_payload, h->len);
	case BH_MSG_PORT_SWITCH:
	case BH_MSG_PORT_END:
		return guest_port_marker(dv, s, h, untrusted_payload);
	case BH_MSG_EXIT:
		if (s->role == QS_CALL)
			return -EPROTO;
		return guest_exit(dv, s, untrusted_payload, h->len, kind,
				  value);
	}
	return -EPROTO;
}

int qs_client_frame(struct client *c, const struct bh_frame_hdr *h,
		    const uint8_t *payload)
{
	struct qstream *s;
	uint32_t v;

	if (h->stream != 1 || !c->dv)
		return -EPROTO;
	s = qs_find(c->dv, c->sid);
	if (!s || s->client != c)
		return 0; /* the command is over; nothing to feed */
	switch (h->type) {
	case BH_MSG_STDIN:
		if (s->input_eof ||
		    bh_credit_take(&s->client_may_send,
				   bh_credit_cost(h->len)) < 0)
			return -EPROTO;
		if (h->len == 0)
			s->input_eof = 1;
		break;
	case BH_MSG_CREDIT:
		if (bh_parse_u32_payload(payload, h->len, &v) < 0 ||
		    bh_credit_grant(&s->guest_may_send, v) < 0)
			return -EPROTO;
		if (c->dv->vm_alive)
			owe(c->dv, s, v);
		return 0;
	default:
		return -EPROTO;
	}
	if (!c->dv->vm_alive)
		return 0;
	return bh_chan_send(&c->dv->chan, h->type, s->id, payload, h->len) < 0
		       ? -EPROTO
		       : 0;
}

void qs_client_gone(struct client *c)
{
	struct qstream *s = c->dv ? qs_find(c->dv, c->sid) : NULL;

	if (!s || s->client != c)
		return;
	s->client = NULL;
	if (!s->input_eof && c->dv->vm_alive) {
		s->input_eof = 1;
		bh_chan_send(&c->dv->chan, BH_MSG_STDIN, s->id, NULL, 0);
	}
}

/* The end joined with s (in qube other) went away. */
static void other_end_gone(struct qube_vm *other, struct qstream *s,
			   const char *why)
{
	if (s->role == QS_CALL) {
		/* Its service (or the qube booting for it) is gone. */
		qs_end_call(other, s, BH_EXIT_NOSTART, BH_NOSTART_OTHER);
		return;
	}
	/* A service whose caller is gone: EOF on its input, output
	 * dropped until it exits. */
	s->peer = NULL;
	s->peer_id = 0;
	if (!s->input_eof && other->vm_alive) {
		s->input_eof = 1;
		bh_chan_send(&other->chan, BH_MSG_STDIN, s->id, NULL, 0);
	}
	(void)why;
}

void qs_qube_gone(struct qube_vm *dv, const char *why)
{
	struct qube_vm *o;
	struct client *c;
	size_t i;

	dataport_qube_gone(dv);
	/* bh run --service waiting for dv to boot. */
	for (c = dv->d ? dv->d->clients : NULL; c; c = c->next) {
		if (c->dv != dv || c->sid || c == dv->client)
			continue;
		c->dv = NULL;
		client_error(c, BH_EXIT_FAILURE,
			     "qube %s stopped before the call began: %s",
			     dv->name, why);
	}
	for (o = dv->d ? dv->d->qubes : NULL; o; o = o->next) {
		if (o == dv)
			continue;
		for (i = 0; i < BH_MAX_STREAMS; i++) {
			struct qstream *s = &o->streams[i];

			if (s->id && s->peer == dv)
				other_end_gone(o, s, why);
		}
	}
	for (i = 0; i < BH_MAX_STREAMS; i++) {
		struct qstream *s = &dv->streams[i];
		struct client *sc = s->client;

		if (!s->id)
			continue;
		/* The disposable's own bh hears from report_and_free. */
		if (sc && sc != dv->client) {
			sc->dv = NULL;
			sc->sid = 0;
			client_error(sc, BH_EXIT_FAILURE,
				     "qube %s stopped before the command "
				     "finished: %s",
				     dv->name, why);
		}
		qs_free(s);
	}
}

void qs_flush_credit(struct qube_vm *dv)
{
	size_t i;

	if (!dv->credit_dirty || !dv->vm_alive ||
	    bh_chan_pending(&dv->chan) >= QUBE_PAUSE_BYTES)
		return;
	for (i = 0; i < BH_MAX_STREAMS; i++) {
		struct qstream *s = &dv->streams[i];

		if (!s->id || !s->credit_owed)
			continue;
		if (bh_chan_send_u32(&dv->chan, BH_MSG_CREDIT, s->id,
				     s->credit_owed) < 0)
			return; /* stays dirty: the next round tries again */
		s->credit_owed = 0;
	}
	dv->credit_dirty = 0;
}

void qs_flush_client_credit(struct client *c)
{
	if (!c->credit_owed ||
	    bh_chan_pending(&c->chan) >= RELAY_PAUSE_BYTES ||
	    bh_chan_send_u32(&c->chan, BH_MSG_CREDIT, 1, c->credit_owed) < 0)
		return;
	c->credit_owed = 0;
}

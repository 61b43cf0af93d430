/* libFuzzer target: the host side of a qube's channel, i.e. the bytes a
 * hostile guest writes. They go through the real reassembly (a socket pair
 * and bh_chan_read/bh_chan_next, as qube_vm_agent_input does) and every
 * complete frame goes to qube_vm_handle_agent_frame() on a disposable built
 * by hand (disp42, running bh's command on stream 1, as bh run --dispvm);
 * the first error stops the input, as the daemon destroys the qube then.
 *
 * The guest may also open calls (BH_MSG_CALL, guest-bit ids) to a second
 * hand-built qube, "work" (persistent, running), or to a disposable made
 * for it, "disp7" (booting until its agent's HELLO). Their agents are
 * well-behaved models here: each runs the services it is sent, writes
 * output within its credit, grants credit for the input it reads, and
 * exits; disp7 says HELLO at a random round after its call, and powers
 * off (qs_qube_gone, as report_and_free) once its job ended.
 * There is no store (d.store is NULL), and rpc_call_opened's policy check
 * (policy_system_load -> store_qube_list) would dereference it; so a call
 * whose request parses, with a free stream slot, is not handed to the
 * daemon: the target plays an allowing policy, doing what rpc_call_opened
 * does before the policy and then rpc_route (real) to the request's
 * target ("work" is joined; "dom0", unknown and non-persistent names are
 * refused by the router). "@dispvm..." is routed as rpc_route does once
 * dispvm_for_call made a disposable (which needs QEMU): the first such
 * call waits for disp7, later ones get rpc_refuse with their generation.
 * When disp7 is ready, rpc_target_ready (real) joins its call, however
 * full the caller's queue is by then. A call for "@default" plays an
 * ask: it waits, and the user's answer comes at a random later round
 * (allow: rpc_route to "work"; deny: rpc_refuse), by the call's id and
 * generation as rpc_ask.c keeps them, long after the call may have ended
 * and its id been reused (issue 11, attack 2: an answer must act only
 * on the call that asked, and a refusal never ends a joined call). Malformed requests, live ids, a
 * full table and calls before HELLO go to the daemon and must be refused
 * cleanly.
 *
 * Full queues: a guest may leave its queue unread (byte 1 bit 7). Then
 * the daemon must stop reading it once its own queue passes
 * QUBE_PAUSE_BYTES, and never stop reading another qube for its sake; at
 * random rounds the model also fills the guest's queue to its bound, as
 * the output of many calls would, so that joins, relayed output and
 * credit meet a queue that takes nothing more (issue 11, attack 1: the
 * join of a call into a disposable used a freed stream then). Credit
 * grants go out once a round (qs_flush_credit), as the main loop sends
 * them.
 *
 * Input:
 *   byte 0   bits 0-2  how the stream is cut into reads (0: as few as
 *                      possible; else random sizes up to a bound)
 *            bit 3     bh goes away once its command runs
 *                      (qs_client_gone): output then dropped, credit back
 *            bit 4     well-behaved peers: after each read bh takes what
 *                      the daemon queued for it, grants credit back for
 *                      output and sends stdin while it has credit; the
 *                      guest takes what the daemon queued for it; and the
 *                      service qube "work" runs (takes its queue, writes,
 *                      grants, exits)
 *            bits 5-7  0-3: the input is all the guest sends; 4-7: the
 *                      target first sends HELLO and then output using 0,
 *                      256 KiB - 1, 256 KiB of stdout credit or 252 KiB
 *                      of stderr credit (full frames, through the same
 *                      socket), so that short inputs reach a running qube
 *                      at the credit limit
 *   byte 1   seed of the random read, stdin and service sizes; bit 7:
 *            the guest never takes what the daemon queued for it
 *   rest     the guest's byte stream
 *
 * Invariants checked after every frame: credits of every stream of the
 * three qubes never exceed the window, and the models' view of credit is
 * the daemon's (what it granted less what it still owes); joined streams point at each other; queues stay within their
 * bounds (DISPVM_CHAN_OUT_MAX, CLIENT_OUT_MAX); a qube with an exit status
 * is stopping; the exec request is sent once, on HELLO, and then freed; a
 * frame that a correct agent may send (protocol and credit kept) is never
 * refused, however slow bh is, and the service qube is never refused;
 * every frame the daemon queues for either guest passes
 * bh_frame_check_from_host and is of an expected type on an expected
 * stream, and every frame queued for bh is a well-formed one of an
 * expected type; the service's output reaches the caller byte for byte
 * (or is dropped with its credit back once the caller is gone, or ends
 * the call when the caller's queue is full); a call waiting for disp7 is
 * joined or ended once disp7 is ready, and disp7 powers off when none is
 * left; a service qube that reads its queue is always read. At the end
 * the caller goes away (qs_qube_gone): every service still running gets
 * EOF on its input. Everything is freed per input.
 *
 * crash-small-frames-slow-bh.bin in the corpus (made by make-seeds.py)
 * broke the "never refused" invariant before the daemon stopped reading a
 * guest while bh's queue is full; it stays as a regression input. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon/admin/client.h"
#include "daemon/core/daemon.h"
#include "daemon/qube/qube_vm.h"
#include "daemon/qube/qube_vm_chan.h"
#include "daemon/rpc/rpc.h"
#include "daemon/relay/streams.h"
#include "daemon/admin/wire.h"
#include "lib/log.h"
#include "lib/util.h"
#include "proto/chan.h"
#include "proto/credit.h"
#include "proto/exec_req.h"
#include "proto/frame.h"
#include "proto/rpc_req.h"

#include "fuzz_common.h"

/* The bounds bulkheadd gives these queues. */
#define FUZZ_DV_OUT_MAX DISPVM_CHAN_OUT_MAX
#define FUZZ_CLIENT_OUT_MAX CLIENT_OUT_MAX
#define W BH_STREAM_WINDOW
/* Above pid_max's ceiling (2^22): no process has it, and kill_sent is set
 * anyway, so qube_vm_kill never signals. */
#define NO_PID ((pid_t)0x7ffffff0)

/* sv[0]: the guest's end (we write the input there); sv[1]: the daemon's,
 * read by bh_chan_read on dv.chan. */
static int sv[2] = { -1, -1 };
static struct daemon d;
/* Large (two channel buffers and a QMP line buffer each): off the
 * stack. dv: the fuzzed disposable; tgt: the service qube. */
static struct qube_vm dv, tgt, dsp;
static struct client cl;
static uint8_t exec_req[256];
static uint32_t exec_len;
static unsigned flags;
/* The guest leaves its queue unread (byte 1 bit 7). disp7 was taken by a
 * call; it powered off and is gone. */
static int guest_deaf, dsp_used, dsp_gone;
/* The last ASKS_MAX questions asked, as rpc_ask.c keeps them (id and
 * generation): answers to any of them may come at any time, again and
 * again, however long ago the call ended. */
#define ASKS_MAX 8
static struct {
	uint32_t id;
	uint64_t gen;
} asks[ASKS_MAX];
static unsigned nasks, asks_next;
static unsigned dsp_services;

/* Streams the target sends before the input when byte 0 asks (bits 5-7):
 * what a guest had sent already, so that the input starts from a qube
 * that is running and has used (nearly) all its output credit; short
 * inputs could not get there on their own. */
static struct fuzz_prefix prefixes[4];

/* HELLO, then output on `type` in full frames using `credit` of its
 * credit (each frame's header counts, bh_credit_cost). */
static void make_prefix(struct fuzz_prefix *p, uint32_t type, uint32_t credit)
{
	uint8_t hello[8];

	bh_put_u32(hello, BH_PROTO_VERSION);
	bh_put_u32(hello + 4, 0);
	fuzz_add_frame(p, BH_MSG_HELLO, 0, hello, sizeof(hello));
	while (bh_credit_payload_max(credit)) {
		uint32_t n = bh_credit_payload_max(credit);

		if (n > BH_FRAME_MAX_PAYLOAD)
			n = BH_FRAME_MAX_PAYLOAD;
		fuzz_add_frame(p, type, 1, fuzz_zeros, n);
		credit -= bh_credit_cost(n);
	}
}

/* A qube as qube_vm_launch leaves it, minus QEMU. */
static void qube_init(struct qube_vm *q, const char *name, int fd,
		      int persistent)
{
	/* Zero all but the big buffers (channel, QMP, console), which
	 * bh_chan_init makes ready or nothing uses: this runs once per
	 * input. */
	memset(q, 0, offsetof(struct qube_vm, chan));
	memset(&q->client, 0, sizeof(*q) - offsetof(struct qube_vm, client));
	q->d = &d;
	snprintf(q->name, sizeof(q->name), "%s", name);
	snprintf(q->run_dir, sizeof(q->run_dir), "/nonexistent/qubes/%s",
		 name);
	q->persistent = persistent;
	q->state = persistent ? DV_RUNNING : DV_BOOTING;
	q->vm.pid = NO_PID;
	q->kill_sent = 1;
	q->vm.chan_fd = fd;
	q->vm.qmp_fd = q->vm.console_fd = -1;
	q->vm_alive = 1;
	bh_chan_init(&q->chan, fd, FUZZ_DV_OUT_MAX);
	qmp_init(&q->qmp, -1); /* unused here */
	q->qmp.state = QMP_CLOSED;
	q->started_ms = bh_now_ms();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static char *const av[] = { "sh", "-c", "echo hi; cat", NULL };
	static char *const ev[] = { "TERM=dumb", "LANG=C.UTF-8", NULL };
	int n;

	(void)argc;
	(void)argv;
	bh_log_set_level(BH_LOG_ERR);
	n = bh_exec_req_encode(exec_req, sizeof(exec_req), av, ev);
	CHECK(n > 0);
	exec_len = (uint32_t)n;
	fuzz_socketpair(sv, "fuzz_host_frames: socketpair");
	d.listen_fd = -1;
	d.sig_fd = -1;
	d.hooks = &daemon_hooks;
	d.boot_timeout_ms = 60000;
	d.store = NULL;
	make_prefix(&prefixes[0], BH_MSG_STDOUT, 0);
	make_prefix(&prefixes[1], BH_MSG_STDOUT, BH_STREAM_WINDOW - 1);
	make_prefix(&prefixes[2], BH_MSG_STDOUT, BH_STREAM_WINDOW);
	make_prefix(&prefixes[3], BH_MSG_STDERR, BH_STREAM_WINDOW - 4096);
	return 0;
}

/* ---- the models ---- */

/* The well-behaved bh: its view of the stdin credit, whether it sent
 * EOF, whether it has gone. The guest: whether it got EXEC and
 * POWEROFF. */
static struct bh_credit bh_stdin_credit;
static int bh_stdin_eof, bh_gone;
static int guest_got_exec, guest_got_poweroff;

/* The service qubes' agents: one entry per service one was sent. */
#define SVC_MAX (2 * BH_MAX_STREAMS)
struct svc_model {
	struct qube_vm *q;	/* &tgt or &dsp */
	uint32_t sid;		/* 0: a free entry */
	struct bh_credit out;	/* what it may still write */
	uint32_t unread;	/* credit of input read, not yet granted */
	int in_eof, out_eof, exited;
};
static struct svc_model svcs[SVC_MAX];
/* The qube whose queue service_sees is walking. */
static struct qube_vm *seen_q;

static struct svc_model *svc_find(const struct qube_vm *q, uint32_t sid)
{
	size_t i;

	for (i = 0; i < SVC_MAX; i++)
		if (svcs[i].sid == sid && (!sid || svcs[i].q == q))
			return &svcs[i];
	return NULL;
}

NO_COVERAGE
static void check_queue(const struct bh_chan *c, size_t out_max)
{
	CHECK(c->out_off <= c->out_len);
	CHECK(c->out_len <= c->out_cap || (c->out == NULL && c->out_len == 0));
	CHECK(bh_chan_pending(c) <= out_max);
	CHECK(c->out_max == out_max);
}

/* Every live stream of q: credits within the window, roles and ids as
 * they must be, and joined streams pointing at each other. */
NO_COVERAGE
static void check_streams(struct qube_vm *q)
{
	size_t i;

	for (i = 0; i < BH_MAX_STREAMS; i++) {
		struct qstream *s = &q->streams[i], *ps;

		if (!s->id)
			continue;
		CHECK(s->guest_may_send.avail <= W);
		CHECK(s->client_may_send.avail <= W);
		CHECK(qs_find(q, s->id) == s); /* ids are unique */
		if (q == &dv) {
			CHECK((s->role == QS_RUN && s->id == 1) ||
			      (s->role == QS_CALL &&
			       (s->id & BH_STREAM_GUEST_BIT)));
		} else {
			CHECK(s->role == QS_SERVICE);
			CHECK(!(s->id & BH_STREAM_GUEST_BIT));
		}
		if (s->role == QS_RUN)
			CHECK(s->client == NULL || s->client == &cl);
		else
			CHECK(s->client == NULL);
		if (s->peer && s->peer_id) {
			ps = qs_find(s->peer, s->peer_id);
			CHECK(ps != NULL);
			CHECK(ps->peer == q && ps->peer_id == s->id);
		}
	}
}

NO_COVERAGE
static void check_invariants(void)
{
	struct qstream *s1 = qs_find(&dv, 1);

	check_streams(&dv);
	check_streams(&tgt);
	check_streams(&dsp);
	check_queue(&dv.chan, FUZZ_DV_OUT_MAX);
	check_queue(&tgt.chan, FUZZ_DV_OUT_MAX);
	check_queue(&dsp.chan, FUZZ_DV_OUT_MAX);
	check_queue(&cl.chan, FUZZ_CLIENT_OUT_MAX);
	CHECK(dv.state == DV_BOOTING || dv.state == DV_RUNNING ||
	      dv.state == DV_STOPPING);
	if (dv.have_exit)
		CHECK(dv.state == DV_STOPPING);
	/* The request waits until HELLO, then goes out once, on stream 1,
	 * the job's, and is freed. */
	CHECK((dv.state == DV_BOOTING) == (dv.exec_req != NULL));
	if (dv.state == DV_BOOTING)
		CHECK(bh_chan_pending(&dv.chan) == 0 && !guest_got_exec &&
		      !s1 && !dv.job_stream && cl.sid == 0);
	else
		CHECK(dv.job_stream == 1 && cl.sid == 1);
	if (dv.state == DV_RUNNING)
		CHECK(s1 != NULL);
	if (s1)
		CHECK(s1->client == (bh_gone ? NULL : &cl));
	if (bh_gone)
		CHECK(bh_chan_pending(&cl.chan) == 0);
	CHECK(dv.err_code == 0); /* only dv_error sets it; not called here */
	CHECK(tgt.state == DV_RUNNING && tgt.err_code == 0 &&
	      !tgt.have_exit);
	/* disp7 boots only for a call, runs one job, and stops after it. */
	CHECK(dsp.err_code == 0);
	if (!dsp_used)
		CHECK(dsp.state == DV_BOOTING);
	if (dsp.have_exit || dsp_gone)
		CHECK(dsp.state == DV_STOPPING);
	if (dsp.state == DV_BOOTING)
		CHECK(bh_chan_pending(&dsp.chan) == 0 && !dsp.job_stream);
}

/* A frame the daemon queued for the fuzzed guest. */
NO_COVERAGE
static void guest_sees(const struct bh_frame_hdr *h, const uint8_t *p)
{
	uint32_t kind, value;

	CHECK(bh_frame_check_from_host(h) == 0);
	switch (h->type) {
	case BH_MSG_EXEC:
		CHECK(!guest_got_exec && !guest_got_poweroff);
		CHECK(h->stream == 1 && h->len == exec_len);
		CHECK(memcmp(p, exec_req, exec_len) == 0);
		guest_got_exec = 1;
		break;
	case BH_MSG_STDIN:
		CHECK(guest_got_exec && !guest_got_poweroff);
		CHECK(h->stream == 1);
		break;
	case BH_MSG_CREDIT:
		CHECK(bh_get_u32(p) <= W);
		if (h->stream == 1) {
			CHECK(guest_got_exec && !guest_got_poweroff);
			break;
		}
		CHECK(h->stream & BH_STREAM_GUEST_BIT);
		break;
	case BH_MSG_STDOUT: /* a service's output, on a call */
		CHECK(h->stream & BH_STREAM_GUEST_BIT);
		break;
	case BH_MSG_EXIT: /* a call's end */
		CHECK(h->stream & BH_STREAM_GUEST_BIT);
		CHECK(bh_parse_exit(p, h->len, &kind, &value) == 0);
		break;
	case BH_MSG_POWEROFF:
		CHECK(!guest_got_poweroff);
		CHECK(h->stream == 0 && h->len == 0);
		guest_got_poweroff = 1;
		break;
	default:
		CHECK(!"unexpected frame queued for the guest");
	}
}

/* A frame the daemon queued for the service qube's agent. */
NO_COVERAGE
static void service_sees(const struct bh_frame_hdr *h, const uint8_t *p)
{
	struct bh_service_req req;
	struct svc_model *m = svc_find(seen_q, h->stream);
	uint32_t v;

	CHECK(bh_frame_check_from_host(h) == 0);
	switch (h->type) {
	case BH_MSG_SERVICE:
		CHECK(m == NULL);
		CHECK(bh_service_req_parse(p, h->len, &req) == 0);
		/* The source is who called, whatever it wrote. */
		CHECK(strcmp(req.source, dv.name) == 0);
		/* A disposable runs one service: its job. */
		if (seen_q == &dsp)
			CHECK(dsp_services++ == 0);
		m = svc_find(NULL, 0);
		CHECK(m != NULL);
		memset(m, 0, sizeof(*m));
		m->q = seen_q;
		m->sid = h->stream;
		m->out.avail = W;
		break;
	case BH_MSG_STDIN:
		CHECK(m && !m->exited && !m->in_eof);
		if (h->len == 0)
			m->in_eof = 1;
		/* The caller's credit bounds what it can send us. */
		CHECK(m->unread + bh_credit_cost(h->len) <= W);
		m->unread += bh_credit_cost(h->len);
		break;
	case BH_MSG_POWEROFF: /* disp7's job is over */
		CHECK(seen_q == &dsp && dsp.have_exit);
		CHECK(h->stream == 0 && h->len == 0);
		break;
	case BH_MSG_CREDIT:
		CHECK(m != NULL);
		CHECK(bh_parse_u32_payload(p, h->len, &v) == 0);
		/* Only credit the daemon took back from output it had. */
		CHECK(bh_credit_grant(&m->out, v) == 0);
		break;
	default:
		CHECK(!"unexpected frame queued for the service qube");
	}
}

/* A frame the daemon queued for bh: what bh's relay does with it. */
static void bh_sees(const struct bh_frame_hdr *h, const uint8_t *p)
{
	struct bh_frame_hdr g = { BH_MSG_CREDIT, 1, 4 };
	uint8_t pl[4];
	uint32_t v;

	CHECK(h->stream == 1);
	switch (h->type) {
	case BH_MSG_STDOUT:
	case BH_MSG_STDERR:
		/* bh writes the data out and grants it back at once. */
		if (h->len) {
			bh_put_u32(pl, bh_credit_cost(h->len));
			CHECK(qs_client_frame(&cl, &g, pl) == 0);
		}
		break;
	case BH_MSG_CREDIT:
		CHECK(bh_parse_u32_payload(p, h->len, &v) == 0);
		/* The daemon forwards only credit it accepted itself, so bh
		 * never sees a grant past its window. */
		CHECK(bh_credit_grant(&bh_stdin_credit, v) == 0);
		break;
	default:
		CHECK(!"unexpected frame queued for bh");
	}
}

/* What bh sends on its own: some stdin while it has credit, then EOF. */
static void bh_sends_stdin(void)
{
	struct bh_frame_hdr h = { BH_MSG_STDIN, 1, 0 };
	uint32_t n;

	/* The daemon does not read bh while the qube boots, nor while the
	 * qube's queue is over RELAY_PAUSE_BYTES (main.c). */
	if (bh_stdin_eof || bh_gone || !cl.sid ||
	    bh_chan_pending(&dv.chan) >= RELAY_PAUSE_BYTES)
		return;
	switch (fuzz_rnd() % 4) {
	case 0:
		return;
	case 1:
		if (fuzz_rnd() % 8 == 0) { /* EOF */
			CHECK(qs_client_frame(&cl, &h, fuzz_zeros) == 0);
			bh_stdin_eof = 1;
		}
		return;
	default:
		if (!bh_stdin_credit.avail)
			return;
		n = bh_credit_payload_max(bh_stdin_credit.avail);
		if (n > BH_FRAME_MAX_PAYLOAD)
			n = BH_FRAME_MAX_PAYLOAD;
		if (!n)
			return;
		n = 1 + fuzz_rnd() % n;
		CHECK(bh_credit_take(&bh_stdin_credit, bh_credit_cost(n)) == 0);
		h.len = n;
		CHECK(qs_client_frame(&cl, &h, fuzz_zeros) == 0);
	}
}

/* One frame of a service qube's agent (q: &tgt or &dsp): never refused. */
static void service_sends(struct qube_vm *q, uint32_t type, uint32_t sid,
			  const uint8_t *p, uint32_t len)
{
	struct bh_frame_hdr h = { type, sid, len };
	struct qstream *ss = qs_find(q, sid);
	struct qstream *ps = ss && ss->peer && ss->peer_id
				     ? qs_find(ss->peer, ss->peer_id)
				     : NULL;
	uint32_t caller_id = ps ? ss->peer_id : 0;
	uint32_t owed = ss ? ss->credit_owed : 0;
	size_t to_caller = bh_chan_pending(&dv.chan);
	size_t to_service = bh_chan_pending(&q->chan);

	CHECK(ss != NULL);
	CHECK(qube_vm_handle_agent_frame(q, &h, p) == 0);
	if (type == BH_MSG_STDOUT && ps && len) {
		if (qs_find(&dv, caller_id)) {
			/* Byte for byte to the caller, on its id. */
			CHECK(bh_chan_pending(&dv.chan) ==
			      to_caller + BH_FRAME_HDR_LEN + len);
			CHECK(bh_get_u32(dv.chan.out + dv.chan.out_len - len -
					 8) == caller_id);
		} else {
			/* The caller's queue took nothing more: the call
			 * ended (125), the service got EOF and keeps its
			 * credit. */
			CHECK(ss->peer == NULL && ss->input_eof);
			CHECK(ss->credit_owed == owed + bh_credit_cost(len));
		}
	} else if ((type == BH_MSG_STDOUT || type == BH_MSG_STDERR) && len) {
		/* Dropped (stderr, or no caller): the credit comes back with
		 * the round's grants, nothing queued now. */
		CHECK(bh_chan_pending(&dv.chan) == to_caller);
		CHECK(bh_chan_pending(&q->chan) == to_service);
		CHECK(ss->credit_owed == owed + bh_credit_cost(len));
	}
}

/* Takes what the daemon queued for q's agent. */
static void service_takes(struct qube_vm *q)
{
	seen_q = q;
	fuzz_take_queue(&q->chan, service_sees);
}

/* One round of q's agent. */
static void service_runs(struct qube_vm *q)
{
	size_t i;

	if (!q->vm_alive)
		return;
	service_takes(q);
	/* A qube that reads its queue is read: never paused for the sake
	 * of a qube it serves. */
	CHECK(qube_vm_readable(q, 0));
	/* Every service the daemon keeps, the agent was sent. */
	for (i = 0; i < BH_MAX_STREAMS; i++)
		if (q->streams[i].id)
			CHECK(svc_find(q, q->streams[i].id) != NULL);
	for (i = 0; i < SVC_MAX; i++) {
		struct svc_model *m = &svcs[i];
		struct qstream *ss;
		uint8_t pl[8];
		uint32_t n;

		if (!m->sid || m->q != q)
			continue;
		if (m->exited) { /* its last frames are in: forget it */
			m->sid = 0;
			continue;
		}
		/* What the daemon counts is what the agent counts, but for
		 * the grants it still holds for the next round. */
		ss = qs_find(q, m->sid);
		CHECK(ss != NULL);
		CHECK(ss->guest_may_send.avail ==
		      m->out.avail + ss->credit_owed);
		if (ss->peer && ss->peer_id)
			CHECK(qs_find(&dv, ss->peer_id)->guest_may_send.avail ==
			      W - m->unread);
		switch (fuzz_rnd() % 8) {
		case 0:
		case 1: /* output */
		case 2:
			n = bh_credit_payload_max(m->out.avail);
			if (m->out_eof || !n)
				break;
			if (n > BH_FRAME_MAX_PAYLOAD)
				n = BH_FRAME_MAX_PAYLOAD;
			n = 1 + fuzz_rnd() % n;
			CHECK(bh_credit_take(&m->out, bh_credit_cost(n)) == 0);
			service_sends(q,
				      fuzz_rnd() % 4 ? BH_MSG_STDOUT
						     : BH_MSG_STDERR,
				      m->sid, fuzz_zeros, n);
			break;
		case 3:
		case 4: /* credit for what it read */
			if (!m->unread)
				break;
			n = 1 + fuzz_rnd() % m->unread;
			m->unread -= n;
			bh_put_u32(pl, n);
			service_sends(q, BH_MSG_CREDIT, m->sid, pl, 4);
			break;
		case 5: /* end of output */
			if (m->out_eof)
				break;
			m->out_eof = 1;
			service_sends(q, BH_MSG_STDOUT, m->sid, NULL, 0);
			break;
		case 6: /* exit */
			if (fuzz_rnd() % 4)
				break;
			bh_put_u32(pl, BH_EXIT_CODE);
			bh_put_u32(pl + 4, fuzz_rnd() % 256);
			service_sends(q, BH_MSG_EXIT, m->sid, pl, 8);
			CHECK(qs_find(q, m->sid) == NULL);
			m->exited = 1;
			break;
		default:
			break;
		}
	}
}

/* Calls of the guest waiting for disp7 to boot. */
static unsigned waiting_for_dsp(void)
{
	unsigned n = 0;
	size_t i;

	for (i = 0; i < BH_MAX_STREAMS; i++)
		n += dv.streams[i].id && dv.streams[i].peer == &dsp &&
		     !dv.streams[i].peer_id;
	return n;
}

/* disp7 on its own time: it says HELLO some round after its call (and
 * its call is joined, or ended if the caller took nothing more); once
 * its job ended it powers off and is gone, as report_and_free has it. */
static void dsp_lives(void)
{
	uint8_t hello[8];
	struct bh_frame_hdr h = { BH_MSG_HELLO, 0, 8 };
	size_t i;

	if (!dsp_used || dsp_gone)
		return;
	if (dsp.state == DV_BOOTING) {
		if (fuzz_rnd() % 4)
			return;
		bh_put_u32(hello, BH_PROTO_VERSION);
		bh_put_u32(hello + 4, 0);
		CHECK(qube_vm_handle_agent_frame(&dsp, &h, hello) == 0);
		CHECK(waiting_for_dsp() == 0);
		for (i = 0; i < BH_MAX_STREAMS; i++) {
			struct qstream *s = &dv.streams[i];

			if (s->id && s->peer == &dsp)
				CHECK(s->peer_id == dsp.job_stream &&
				      !s->svc);
		}
		/* No call left for it: it goes. */
		if (!dsp.job_stream)
			CHECK(dsp.state == DV_STOPPING);
		return;
	}
	if (dsp.state == DV_STOPPING) {
		service_takes(&dsp);
		qs_qube_gone(&dsp, "it powered off");
		dsp.vm_alive = 0;
		dsp_gone = 1;
		for (i = 0; i < BH_MAX_STREAMS; i++)
			CHECK(dsp.streams[i].id == 0 &&
			      dv.streams[i].peer != &dsp);
		for (i = 0; i < SVC_MAX; i++)
			if (svcs[i].q == &dsp)
				svcs[i].sid = 0;
	}
}

/* The user answers one ask, at random, maybe long after its call ended
 * and its id was reused. The answer acts only on the call that asked
 * and still waits; any other call of that id is left as it was. */
static void user_answers(void)
{
	unsigned k;
	uint32_t id;
	uint64_t gen;
	struct qstream *s, before;
	size_t queued = bh_chan_pending(&dv.chan);
	int waiting, allow = fuzz_rnd() % 2;

	if (!nasks || fuzz_rnd() % 4)
		return;
	k = fuzz_rnd() % nasks;
	id = asks[k].id;
	gen = asks[k].gen;
	/* The model's own view of "still waits on this ask": that id is
	 * still the call that asked (its generation), undecided. */
	s = qs_find(&dv, id);
	waiting = s && s->gen == gen && s->role == QS_CALL && s->svc &&
		  !s->peer;
	CHECK(waiting == (rpc_waiting_call(&dv, id, gen) != NULL));
	if (s)
		before = *s;
	if (allow)
		rpc_route(&dv, id, gen, "work", 0);
	else
		rpc_refuse(&dv, id, gen);
	if (waiting) {
		/* Joined with "work", or ended (refused, or no room). */
		s = qs_find(&dv, id);
		if (s)
			CHECK(allow && s->peer == &tgt && s->peer_id &&
			      !s->svc);
		return;
	}
	/* Not that call's answer any more: nothing moves. */
	CHECK(bh_chan_pending(&dv.chan) == queued);
	if (s) {
		CHECK(qs_find(&dv, id) == s);
		CHECK(s->gen == before.gen && s->peer == before.peer &&
		      s->peer_id == before.peer_id && s->svc == before.svc);
	}
}

/* What the daemon queued for the guest, as much as fits, as the output
 * of many calls would: the queue then takes nothing more. */
static void fill_guest_queue(void)
{
	while (bh_chan_send(&dv.chan, BH_MSG_STDOUT, BH_STREAM_GUEST_BIT | 0x7fff,
			    fuzz_zeros, 1 + fuzz_rnd() % 256) == 0)
		;
	while (bh_chan_send(&dv.chan, BH_MSG_STDOUT, BH_STREAM_GUEST_BIT | 0x7fff,
			    fuzz_zeros, 1) == 0)
		;
}

/* The main loop's end of a round: the credit grants it holds go out. */
static void daemon_round(void)
{
	qs_flush_credit(&dv);
	qs_flush_credit(&tgt);
	if (dsp.vm_alive)
		qs_flush_credit(&dsp);
	if (!bh_gone)
		qs_flush_client_credit(&cl);
}

/* One round of the well-behaved peers between two reads. */
static void peers_run(void)
{
	daemon_round();
	if (!bh_gone) {
		fuzz_take_queue(&cl.chan, bh_sees);
		/* Both sides count bh's stdin credit alike, but for what the
		 * daemon holds for the next round. */
		if (qs_find(&dv, 1))
			CHECK(bh_stdin_credit.avail + cl.credit_owed ==
			      qs_find(&dv, 1)->client_may_send.avail);
		bh_sends_stdin();
	}
	if (!guest_deaf)
		fuzz_take_queue(&dv.chan, guest_sees);
	service_runs(&tgt);
	service_runs(&dsp);
	check_invariants();
}

static void setup(uint8_t f, uint8_t seed)
{
	flags = f;
	guest_deaf = (seed & 0x80) != 0;
	qube_init(&dv, "disp42", sv[1], 0);
	qube_init(&tgt, "work", -1, 1);
	qube_init(&dsp, "disp7", -1, 0);
	memset(&cl, 0, sizeof(cl));
	memset(svcs, 0, sizeof(svcs));
	dv.exec_req = malloc(exec_len);
	CHECK(dv.exec_req != NULL);
	memcpy(dv.exec_req, exec_req, exec_len);
	dv.exec_len = exec_len;
	dv.deadline_ms = dv.started_ms + d.boot_timeout_ms;
	dsp.deadline_ms = dsp.started_ms + d.boot_timeout_ms;

	/* bh run --dispvm, as dispvm_start leaves it. */
	cl.d = &d;
	bh_chan_init(&cl.chan, -1, FUZZ_CLIENT_OUT_MAX);
	cl.dv = &dv;
	dv.client = &cl;
	dv.next = &tgt;
	tgt.next = &dsp;
	d.qubes = &dv;
	d.clients = &cl;

	bh_stdin_credit.avail = BH_STREAM_WINDOW;
	bh_stdin_eof = bh_gone = 0;
	guest_got_exec = guest_got_poweroff = 0;
	dsp_used = dsp_gone = 0;
	nasks = asks_next = 0;
	dsp_services = 0;
}

/* The caller goes (as report_and_free does): every service it had gets
 * EOF on its input, unless it had it; then they all exit. */
static void caller_gone(void)
{
	struct qube_vm *qs[2] = { &tgt, &dsp };
	size_t i, k;

	for (k = 0; k < 2; k++)
		if (qs[k]->vm_alive)
			service_takes(qs[k]);
	for (i = 0; i < SVC_MAX; i++)
		if (svcs[i].exited)
			svcs[i].sid = 0;
	qs_qube_gone(&dv, "fuzz input over");
	for (i = 0; i < BH_MAX_STREAMS; i++)
		CHECK(dv.streams[i].id == 0);
	/* The EOFs it was owed. */
	for (k = 0; k < 2; k++) {
		if (!qs[k]->vm_alive)
			continue;
		service_takes(qs[k]);
		for (i = 0; i < SVC_MAX; i++) {
			struct svc_model *m = &svcs[i];
			uint8_t pl[8] = { 0 };

			if (!m->sid || m->q != qs[k])
				continue;
			CHECK(m->in_eof);
			CHECK(qs_find(qs[k], m->sid)->peer == NULL);
			service_sends(qs[k], BH_MSG_EXIT, m->sid, pl, 8);
			m->sid = 0;
		}
		for (i = 0; i < BH_MAX_STREAMS; i++)
			CHECK(qs[k]->streams[i].id == 0);
	}
}

static void teardown(void)
{
	struct qube_vm *qs[3] = { &dv, &tgt, &dsp };
	size_t i, k;

	check_invariants();
	caller_gone();
	/* What the daemon did not read after the guest broke the
	 * protocol. */
	fuzz_drain(sv[1], NULL, 0);
	for (k = 0; k < 3; k++) {
		for (i = 0; i < BH_MAX_STREAMS; i++)
			if (qs[k]->streams[i].id)
				qs_free(&qs[k]->streams[i]);
		bh_chan_free(&qs[k]->chan);
	}
	bh_chan_free(&cl.chan);
	free(dv.exec_req);
	dv.exec_req = NULL;
	d.qubes = NULL;
	d.clients = NULL;
}

/* Whether a correct agent may send this frame now: the protocol of
 * frame.h, credit included (headers count; a zero grant is an error). The
 * daemon must accept every such frame. */
NO_COVERAGE
static int frame_is_legit(const struct bh_frame_hdr *h, const uint8_t *p)
{
	struct qstream *s, *ps;
	uint32_t v, kind;

	if (bh_frame_check_from_guest(h) < 0)
		return 0;
	if (h->type == BH_MSG_HELLO)
		return dv.state == DV_BOOTING &&
		       bh_parse_hello(p, h->len, &v) == 0 &&
		       v == BH_PROTO_VERSION;
	if (dv.state != DV_RUNNING || dv.have_exit)
		return 0;
	if (h->type == BH_MSG_CALL)
		return !qs_find(&dv, h->stream); /* a new id */
	s = qs_find(&dv, h->stream);
	if (!s)
		return 0;
	ps = s->peer && s->peer_id ? qs_find(s->peer, s->peer_id) : NULL;
	switch (h->type) {
	case BH_MSG_STDOUT:
		return s->role == QS_RUN && !s->guest_eof &&
		       bh_credit_cost(h->len) <= s->guest_may_send.avail;
	case BH_MSG_STDERR:
		return s->role == QS_RUN && !s->err_eof &&
		       bh_credit_cost(h->len) <= s->guest_may_send.avail;
	case BH_MSG_STDIN: /* a caller's bytes, once joined */
		return s->role == QS_CALL && ps && !s->guest_eof &&
		       bh_credit_cost(h->len) <= s->guest_may_send.avail;
	case BH_MSG_CREDIT:
		v = bh_get_u32(p);
		if (s->role == QS_CALL)
			return ps && v > 0 &&
			       v <= W - ps->guest_may_send.avail;
		return v > 0 && v <= W - s->client_may_send.avail;
	case BH_MSG_EXIT:
		return s->role == QS_RUN &&
		       bh_parse_exit(p, h->len, &kind, &v) == 0;
	}
	return 0;
}

/* Like the daemon's poll loop: a guest is not read while its own queue is
 * over QUBE_PAUSE_BYTES (qube_vm_readable); nothing else pauses it. While
 * it is paused the rest of the host goes on for a few rounds (disp7
 * boots, the peers run and, unless deaf, the guest takes its queue); a
 * guest still paused after them leaves the rest of its bytes unread. */
static int daemon_reads(int peers)
{
	unsigned i;

	for (i = 0; i < 16 && !qube_vm_readable(&dv, 0); i++) {
		dsp_lives();
		if (peers)
			peers_run();
		else
			daemon_round();
		check_invariants();
	}
	return qube_vm_readable(&dv, 0);
}

/* The policy's part for a call whose request parses (see the top): 1 when
 * it was handled here, 0 when it goes to the daemon. */
static int call_allowed(const struct bh_frame_hdr *h, const uint8_t *p)
{
	struct bh_call_req call;
	struct qstream *s;

	if (h->type != BH_MSG_CALL || bh_frame_check_from_guest(h) < 0 ||
	    dv.state != DV_RUNNING || qs_find(&dv, h->stream) ||
	    bh_call_req_parse(p, h->len, &call) < 0)
		return 0;
	s = qs_new(&dv, h->stream, QS_CALL);
	if (!s)
		return 0; /* a full table: refused before the policy */
	s->svc = calloc(1, sizeof(*s->svc));
	CHECK(s->svc != NULL);
	snprintf(s->svc->service, sizeof(s->svc->service), "%s",
		 call.service);
	snprintf(s->svc->arg, sizeof(s->svc->arg), "%s", call.arg);
	snprintf(s->svc->source, sizeof(s->svc->source), "%s", dv.name);
	snprintf(s->svc->user, sizeof(s->svc->user), "user");
	if (!strcmp(call.target, "@default")) {
		/* The policy says ask: the call waits for the answer. */
		asks[asks_next].id = h->stream;
		asks[asks_next].gen = s->gen;
		asks_next = (asks_next + 1) % ASKS_MAX;
		if (nasks < ASKS_MAX)
			nasks++;
	} else if (strncmp(call.target, "@dispvm", 7)) {
		rpc_route(&dv, h->stream, s->gen, call.target, 0);
	} else if (dsp_used) {
		rpc_refuse(&dv, h->stream, s->gen);
	} else {
		/* rpc_route's @dispvm branch after dispvm_for_call made
		 * disp7 (route_to: it boots, the call waits). */
		dsp_used = 1;
		snprintf(dsp.made_for, sizeof(dsp.made_for), "%s", dv.name);
		s->peer = &dsp;
		s->peer_id = 0;
	}
	return 1;
}

/* The target a parsed call request names. */
static const char *call_target_of(const uint8_t *p, uint32_t len)
{
	static struct bh_call_req call;

	CHECK(bh_call_req_parse(p, len, &call) == 0);
	return call.target;
}

/* A complete frame read from the guest's end goes to the daemon, as
 * qube_vm_agent_input hands it; 1 once the daemon would have destroyed
 * the qube. */
static int daemon_gets(const struct bh_frame_hdr *h, const uint8_t *payload)
{
	int legit = frame_is_legit(h, payload);
	size_t before = bh_chan_pending(&dv.chan);
	int r, call = h->type == BH_MSG_CALL;
	/* An EXIT frame for a call's status, when the queue takes it. */
	size_t status = BH_FRAME_HDR_LEN + 8;

	if (call_allowed(h, payload)) {
		struct qstream *s = qs_find(&dv, h->stream);

		/* Joined at once with "work" (running), waiting for disp7,
		 * or ended with its status out (if it fit). */
		r = 0;
		if (s && !s->peer) /* asked */
			CHECK(s->svc && !strcmp(call_target_of(payload, h->len),
						"@default"));
		else if (s && s->peer == &dsp)
			CHECK(!s->peer_id && s->svc);
		else if (s)
			CHECK(s->peer == &tgt && s->peer_id && !s->svc);
		else
			CHECK(bh_chan_pending(&dv.chan) == before + status ||
			      bh_chan_pending(&dv.chan) == before);
	} else {
		r = qube_vm_handle_agent_frame(&dv, h, payload);
		/* A call the daemon took is refused at once: its status
		 * out (if it fit), no stream left. */
		if (call && r == 0) {
			CHECK(qs_find(&dv, h->stream) == NULL);
			CHECK(bh_chan_pending(&dv.chan) == before + status ||
			      bh_chan_pending(&dv.chan) == before);
		}
	}
	/* bh goes once its command runs (byte 0 bit 3). */
	if ((flags & 8) && !bh_gone && cl.sid) {
		qs_client_gone(&cl);
		bh_gone = 1;
		cl.chan.out_off = cl.chan.out_len = 0; /* nobody reads it */
		if (qs_find(&dv, 1))
			CHECK(qs_find(&dv, 1)->input_eof);
	}
	check_invariants();
	/* A qube that keeps to the protocol is never cut off, however slow
	 * bh or the service qube is to read. */
	CHECK(!legit || r == 0);
	if (r < 0) {
		CHECK(r == -EPROTO);
		return 1;
	}
	return 0;
}

/* After each write has been read: the round ends (grants go out), disp7
 * lives on, a deaf guest's queue may fill up, and the peers run. */
static void after_read(int peers)
{
	if (guest_deaf && dv.state != DV_BOOTING && fuzz_rnd() % 2)
		fill_guest_queue();
	dsp_lives();
	user_answers();
	if (peers)
		peers_run();
	else
		daemon_round();
	check_invariants();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* The guest's end: the input goes into sv[0], the daemon reads
	 * dv.chan on sv[1]. */
	const struct fuzz_reader guest = { .fd = sv[0],
					   .chan = &dv.chan,
					   .may_read = daemon_reads,
					   .frame = daemon_gets,
					   .after_write = after_read };

	if (size < 2)
		return 0;
	fuzz_seed(data);
	setup(data[0], data[1]);
	/* The peers (bit 4) run during the prefix too. */
	fuzz_feed_input(&guest, prefixes, data, size, 1);
	/* The guest has said all it says; the host goes on a while. */
	for (unsigned i = 0; i < 16; i++)
		after_read(data[0] & 16);
	teardown();
	return 0;
}

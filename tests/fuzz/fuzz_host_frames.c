/* libFuzzer target: the host side of a qube's channel, i.e. the bytes a
 * hostile guest writes. They go through the real reassembly (a socket pair
 * and bh_chan_read/bh_chan_next, as dispvm_agent_input does) and every
 * complete frame goes to dispvm_handle_agent_frame() on a disposable built
 * by hand (disp42, running bh's command on stream 1, as bh run --dispvm);
 * the first error stops the input, as the daemon destroys the qube then.
 *
 * The guest may also open calls (BH_MSG_CALL, guest-bit ids) to a second
 * hand-built qube, "work" (persistent, running), whose agent is a
 * well-behaved model here: it runs each service it is sent, writes output
 * within its credit, grants credit for the input it reads, and exits.
 * There is no store (d.store is NULL), and rpc_call_opened's policy check
 * (policy_system_load -> store_qube_list) would dereference it; so a call
 * whose request parses, with a free stream slot, is not handed to the
 * daemon: the target plays an allowing policy, doing what rpc_call_opened
 * does before the policy and then rpc_route (real) to the request's
 * target ("work" is joined; "dom0", unknown and non-persistent names are
 * refused by the router; "@dispvm..." gets rpc_refuse, as no disposable
 * can start here). Malformed requests, live ids, a full table and calls
 * before HELLO go to the daemon and must be refused cleanly.
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
 *                      target first sends HELLO and then 0, 256 KiB - 1,
 *                      256 KiB of stdout or 252 KiB of stderr (full
 *                      frames, through the same socket), so that short
 *                      inputs reach a running qube at the credit limit
 *   byte 1   seed of the random read, stdin and service sizes
 *   rest     the guest's byte stream
 *
 * Invariants checked after every frame: credits of every stream of both
 * qubes never exceed the window, and the models' view of credit is the
 * daemon's; joined streams point at each other; queues stay within their
 * bounds (DISPVM_CHAN_OUT_MAX, CLIENT_OUT_MAX); a qube with an exit status
 * is stopping; the exec request is sent once, on HELLO, and then freed; a
 * frame that a correct agent may send (protocol and credit kept) is never
 * refused, however slow bh is, and the service qube is never refused;
 * every frame the daemon queues for either guest passes
 * bh_frame_check_from_host and is of an expected type on an expected
 * stream, and every frame queued for bh is a well-formed one of an
 * expected type; the service's output reaches the caller byte for byte
 * (or is dropped with its credit back once the caller is gone). At the
 * end the caller goes away (qs_qube_gone): every service still running
 * gets EOF on its input. Everything is freed per input.
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

#include "daemon/client.h"
#include "daemon/daemon.h"
#include "daemon/dispvm.h"
#include "daemon/rpc.h"
#include "daemon/streams.h"
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
 * anyway, so dispvm_kill never signals. */
#define NO_PID ((pid_t)0x7ffffff0)

/* sv[0]: the guest's end (we write the input there); sv[1]: the daemon's,
 * read by bh_chan_read on dv.chan. */
static int sv[2] = { -1, -1 };
static struct daemon d;
/* Large (two channel buffers and a QMP line buffer each): off the
 * stack. dv: the fuzzed disposable; tgt: the service qube. */
static struct dispvm dv, tgt;
static struct client cl;
static uint8_t exec_req[256];
static uint32_t exec_len;
static unsigned flags;

/* Streams the target sends before the input when byte 0 asks (bits 5-7):
 * what a guest had sent already, so that the input starts from a qube
 * that is running and has used (nearly) all its output credit; short
 * inputs could not get there on their own. */
static struct fuzz_prefix prefixes[4];

/* HELLO, then `bytes` of output on `type` in full frames. */
static void make_prefix(struct fuzz_prefix *p, uint32_t type, uint32_t bytes)
{
	uint8_t hello[8];

	bh_put_u32(hello, BH_PROTO_VERSION);
	bh_put_u32(hello + 4, 0);
	fuzz_add_frame(p, BH_MSG_HELLO, 0, hello, sizeof(hello));
	fuzz_add_zero_frames(p, type, 1, bytes);
}

/* A qube as dispvm_launch leaves it, minus QEMU. */
static void qube_init(struct dispvm *q, const char *name, int fd,
		      int persistent)
{
	/* Zero all but the big buffers (channel, QMP, console), which
	 * bh_chan_init makes ready or nothing uses: this runs once per
	 * input. */
	memset(q, 0, offsetof(struct dispvm, chan));
	memset(&q->client, 0, sizeof(*q) - offsetof(struct dispvm, client));
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
	q->qmp.fd = -1; /* unused here; qmp_init would clear 64 KiB */
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

/* The service qube's agent: one entry per service it was sent. */
#define SVC_MAX (2 * BH_MAX_STREAMS)
struct svc_model {
	uint32_t sid;		/* 0: a free entry */
	struct bh_credit out;	/* what it may still write */
	uint32_t unread;	/* input read, not yet granted back */
	int in_eof, out_eof, exited;
};
static struct svc_model svcs[SVC_MAX];

static struct svc_model *svc_find(uint32_t sid)
{
	size_t i;

	for (i = 0; i < SVC_MAX; i++)
		if (svcs[i].sid == sid)
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
static void check_streams(struct dispvm *q)
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
	check_queue(&dv.chan, FUZZ_DV_OUT_MAX);
	check_queue(&tgt.chan, FUZZ_DV_OUT_MAX);
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
	struct svc_model *m = svc_find(h->stream);
	uint32_t v;

	CHECK(bh_frame_check_from_host(h) == 0);
	switch (h->type) {
	case BH_MSG_SERVICE:
		CHECK(m == NULL);
		CHECK(bh_service_req_parse(p, h->len, &req) == 0);
		/* The source is who called, whatever it wrote. */
		CHECK(strcmp(req.source, dv.name) == 0);
		m = svc_find(0);
		CHECK(m != NULL);
		memset(m, 0, sizeof(*m));
		m->sid = h->stream;
		m->out.avail = W;
		break;
	case BH_MSG_STDIN:
		CHECK(m && !m->exited && !m->in_eof);
		if (h->len == 0)
			m->in_eof = 1;
		/* The caller's credit bounds what it can send us. */
		CHECK(m->unread + h->len <= W);
		m->unread += h->len;
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
			bh_put_u32(pl, h->len);
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

	if (bh_stdin_eof || bh_gone || !cl.sid)
		return; /* the daemon does not read bh while booting */
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
		n = bh_stdin_credit.avail < BH_FRAME_MAX_PAYLOAD
			    ? bh_stdin_credit.avail
			    : BH_FRAME_MAX_PAYLOAD;
		n = 1 + fuzz_rnd() % n;
		CHECK(bh_credit_take(&bh_stdin_credit, n) == 0);
		h.len = n;
		CHECK(qs_client_frame(&cl, &h, fuzz_zeros) == 0);
	}
}

/* One frame of the service qube's agent: never refused. */
static void service_sends(uint32_t type, uint32_t sid, const uint8_t *p,
			  uint32_t len)
{
	struct bh_frame_hdr h = { type, sid, len };
	struct qstream *ss = qs_find(&tgt, sid);
	struct qstream *ps = ss && ss->peer && ss->peer_id
				     ? qs_find(ss->peer, ss->peer_id)
				     : NULL;
	size_t to_caller = bh_chan_pending(&dv.chan);
	size_t to_service = bh_chan_pending(&tgt.chan);

	CHECK(ss != NULL);
	CHECK(dispvm_handle_agent_frame(&tgt, &h, p) == 0);
	if (type == BH_MSG_STDOUT && ps) {
		/* Byte for byte to the caller, on its id. */
		CHECK(bh_chan_pending(&dv.chan) ==
		      to_caller + BH_FRAME_HDR_LEN + len);
		CHECK(bh_get_u32(dv.chan.out + dv.chan.out_len - len - 8) ==
		      ss->peer_id);
	} else if ((type == BH_MSG_STDOUT || type == BH_MSG_STDERR) && len) {
		/* Dropped (stderr, or no caller): the credit comes back. */
		CHECK(bh_chan_pending(&dv.chan) == to_caller);
		CHECK(bh_chan_pending(&tgt.chan) ==
		      to_service + BH_FRAME_HDR_LEN + 4);
	}
}

/* One round of the service qube's agent. */
static void service_runs(void)
{
	size_t i;

	fuzz_take_queue(&tgt.chan, service_sees);
	/* Every service the daemon keeps, the agent was sent. */
	for (i = 0; i < BH_MAX_STREAMS; i++)
		if (tgt.streams[i].id)
			CHECK(svc_find(tgt.streams[i].id) != NULL);
	for (i = 0; i < SVC_MAX; i++) {
		struct svc_model *m = &svcs[i];
		struct qstream *ss;
		uint8_t pl[8];
		uint32_t n;

		if (!m->sid)
			continue;
		if (m->exited) { /* its last frames are in: forget it */
			m->sid = 0;
			continue;
		}
		/* What the daemon counts is what the agent counts. */
		ss = qs_find(&tgt, m->sid);
		CHECK(ss != NULL);
		CHECK(ss->guest_may_send.avail == m->out.avail);
		if (ss->peer && ss->peer_id)
			CHECK(qs_find(&dv, ss->peer_id)->guest_may_send.avail ==
			      W - m->unread);
		/* The daemon would not read the qube now. */
		if (qs_peers_congested(&tgt))
			continue;
		switch (fuzz_rnd() % 8) {
		case 0:
		case 1: /* output */
		case 2:
			if (m->out_eof || !m->out.avail)
				break;
			n = m->out.avail < BH_FRAME_MAX_PAYLOAD
				    ? m->out.avail
				    : BH_FRAME_MAX_PAYLOAD;
			n = 1 + fuzz_rnd() % n;
			CHECK(bh_credit_take(&m->out, n) == 0);
			service_sends(fuzz_rnd() % 4 ? BH_MSG_STDOUT
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
			service_sends(BH_MSG_CREDIT, m->sid, pl, 4);
			break;
		case 5: /* end of output */
			if (m->out_eof)
				break;
			m->out_eof = 1;
			service_sends(BH_MSG_STDOUT, m->sid, NULL, 0);
			break;
		case 6: /* exit */
			if (fuzz_rnd() % 4)
				break;
			bh_put_u32(pl, BH_EXIT_CODE);
			bh_put_u32(pl + 4, fuzz_rnd() % 256);
			service_sends(BH_MSG_EXIT, m->sid, pl, 8);
			CHECK(qs_find(&tgt, m->sid) == NULL);
			m->exited = 1;
			break;
		default:
			break;
		}
	}
}

/* One round of the well-behaved peers between two reads. */
static void peers_run(void)
{
	if (!bh_gone) {
		fuzz_take_queue(&cl.chan, bh_sees);
		/* Both sides count bh's stdin credit alike. */
		if (qs_find(&dv, 1))
			CHECK(bh_stdin_credit.avail ==
			      qs_find(&dv, 1)->client_may_send.avail);
		bh_sends_stdin();
	}
	fuzz_take_queue(&dv.chan, guest_sees);
	service_runs();
	check_invariants();
}

static void setup(uint8_t f)
{
	flags = f;
	qube_init(&dv, "disp42", sv[1], 0);
	qube_init(&tgt, "work", -1, 1);
	memset(&cl, 0, sizeof(cl));
	memset(svcs, 0, sizeof(svcs));
	dv.exec_req = malloc(exec_len);
	CHECK(dv.exec_req != NULL);
	memcpy(dv.exec_req, exec_req, exec_len);
	dv.exec_len = exec_len;
	dv.deadline_ms = dv.started_ms + d.boot_timeout_ms;

	/* bh run --dispvm, as dispvm_start leaves it. */
	cl.d = &d;
	bh_chan_init(&cl.chan, -1, FUZZ_CLIENT_OUT_MAX);
	cl.dv = &dv;
	dv.client = &cl;
	dv.next = &tgt;
	d.dispvms = &dv;
	d.clients = &cl;

	bh_stdin_credit.avail = BH_STREAM_WINDOW;
	bh_stdin_eof = bh_gone = 0;
	guest_got_exec = guest_got_poweroff = 0;
}

/* The caller goes (as report_and_free does): every service it had gets
 * EOF on its input, unless it had it; then they all exit. */
static void caller_gone(void)
{
	size_t i;

	fuzz_take_queue(&tgt.chan, service_sees);
	for (i = 0; i < SVC_MAX; i++)
		if (svcs[i].exited)
			svcs[i].sid = 0;
	qs_qube_gone(&dv, "fuzz input over");
	for (i = 0; i < BH_MAX_STREAMS; i++)
		CHECK(dv.streams[i].id == 0);
	/* The EOFs it was owed. */
	fuzz_take_queue(&tgt.chan, service_sees);
	for (i = 0; i < SVC_MAX; i++) {
		struct svc_model *m = &svcs[i];
		uint8_t pl[8] = { 0 };

		if (!m->sid)
			continue;
		CHECK(m->in_eof);
		CHECK(qs_find(&tgt, m->sid)->peer == NULL);
		service_sends(BH_MSG_EXIT, m->sid, pl, 8);
		CHECK(bh_chan_pending(&tgt.chan) == 0);
	}
	for (i = 0; i < BH_MAX_STREAMS; i++)
		CHECK(tgt.streams[i].id == 0);
}

static void teardown(void)
{
	size_t i;

	check_invariants();
	caller_gone();
	/* What the daemon did not read after the guest broke the
	 * protocol. */
	fuzz_drain(sv[1], NULL, 0);
	for (i = 0; i < BH_MAX_STREAMS; i++) {
		if (dv.streams[i].id)
			qs_free(&dv.streams[i]);
		if (tgt.streams[i].id)
			qs_free(&tgt.streams[i]);
	}
	bh_chan_free(&dv.chan);
	bh_chan_free(&tgt.chan);
	bh_chan_free(&cl.chan);
	free(dv.exec_req);
	dv.exec_req = NULL;
	d.dispvms = NULL;
	d.clients = NULL;
}

/* Whether a correct agent may send this frame now: the protocol of
 * frame.h, credit included (a zero grant is pointless, and the agent never
 * sends one). The daemon must accept every such frame. */
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
		       h->len <= s->guest_may_send.avail;
	case BH_MSG_STDERR:
		return s->role == QS_RUN && !s->err_eof &&
		       h->len <= s->guest_may_send.avail;
	case BH_MSG_STDIN: /* a caller's bytes, once joined */
		return s->role == QS_CALL && ps && !s->guest_eof &&
		       h->len <= s->guest_may_send.avail;
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

/* Like the daemon's poll loop: no reading from the guest while an end it
 * feeds (bh, the service qube) has a full queue; a peer that never reads
 * leaves the rest of the guest's bytes unread. With peers, they get one
 * round to make room first. */
static int daemon_reads(int peers)
{
	if (qs_peers_congested(&dv)) {
		if (peers)
			peers_run();
		if (qs_peers_congested(&dv))
			return 0;
	}
	return 1;
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
	if (!strncmp(call.target, "@dispvm", 7))
		rpc_refuse(&dv, h->stream);
	else
		rpc_route(&dv, h->stream, call.target, 0);
	return 1;
}

/* A complete frame read from the guest's end goes to the daemon, as
 * dispvm_agent_input hands it; 1 once the daemon would have destroyed
 * the qube. */
static int daemon_gets(const struct bh_frame_hdr *h, const uint8_t *payload)
{
	int legit = frame_is_legit(h, payload);
	size_t before = bh_chan_pending(&dv.chan);
	int r, call = h->type == BH_MSG_CALL;

	if (call_allowed(h, payload)) {
		struct qstream *s = qs_find(&dv, h->stream);

		/* Joined at once with "work" (running), or ended with its
		 * status out. */
		r = 0;
		if (s)
			CHECK(s->peer == &tgt && s->peer_id && !s->svc);
		else
			CHECK(bh_chan_pending(&dv.chan) ==
			      before + BH_FRAME_HDR_LEN + 8);
	} else {
		r = dispvm_handle_agent_frame(&dv, h, payload);
		/* A call the daemon took is refused at once: its status
		 * out, no stream left. */
		if (call && r == 0) {
			CHECK(qs_find(&dv, h->stream) == NULL);
			CHECK(bh_chan_pending(&dv.chan) ==
			      before + BH_FRAME_HDR_LEN + 8);
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

/* After each write has been read: one round of the peers, if any. */
static void after_read(int peers)
{
	if (peers)
		peers_run();
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
	setup(data[0]);
	/* The peers (bit 4) run during the prefix too. */
	fuzz_feed_input(&guest, prefixes, data, size, 1);
	teardown();
	return 0;
}

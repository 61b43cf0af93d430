/* Unit tests of the daemon's checks on frames from a (hostile) guest and of
 * the relay between the streams of qube channels: qube_vm_handle_agent_frame
 * in src/daemon/qube/qube_vm_chan.c and the qs_* functions of
 * src/daemon/relay/streams.c, on struct qube_vm built by hand with no QEMU
 * behind them; and tail_escaped (qube_vm.c), which shows the user the end
 * of guest-written logs.
 *
 * Nothing here may signal a process: every hand-built qube has a pid no
 * process can have and kill_sent set, so qube_vm_kill only marks it
 * stopping. Nothing here has a store either (d->store is NULL), so a call
 * whose request parses is never handed to rpc_call_opened: its policy
 * check (policy_system_load -> store_qube_list) would dereference the
 * NULL store. Malformed requests and a full stream table are refused
 * before that and are tested. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
#include "proto/exec_req.h"
#include "proto/exitcodes.h"
#include "proto/credit.h"
#include "proto/frame.h"
#include "proto/rpc_req.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define W BH_STREAM_WINDOW
#define MAXP BH_FRAME_MAX_PAYLOAD
/* The credit a data frame of n payload bytes uses (its header too). */
#define C(n) bh_credit_cost(n)
/* Above pid_max's ceiling (2^22): no process has it. */
#define NO_PID ((pid_t)0x7ffffff0)
/* Call ids as an agent picks them. */
#define CALL1 (BH_STREAM_GUEST_BIT | 1u)
#define CALL2 (BH_STREAM_GUEST_BIT | 2u)

struct fx {
	struct daemon *d;
	struct qube_vm *dv; /* disp1, a disposable booting for c */
	struct client *c;
	uint8_t req[256];
	int req_len;
	uint8_t *big; /* MAXP bytes of payload */
};

/* A qube as qube_vm_launch leaves it, minus QEMU, linked into d. */
static struct qube_vm *new_qube(struct daemon *d, const char *name,
			       int persistent)
{
	struct qube_vm *dv = calloc(1, sizeof(*dv));

	if (!dv)
		return NULL;
	dv->d = d;
	snprintf(dv->name, sizeof(dv->name), "%s", name);
	dv->persistent = persistent;
	dv->state = persistent ? DV_RUNNING : DV_BOOTING;
	dv->vm_alive = 1;
	dv->vm.pid = NO_PID;
	dv->kill_sent = 1; /* never signalled */
	dv->vm.chan_fd = dv->vm.qmp_fd = dv->vm.console_fd = -1;
	dv->started_ms = bh_now_ms();
	if (!persistent)
		dv->deadline_ms = dv->started_ms + DEFAULT_BOOT_TIMEOUT_MS;
	bh_chan_init(&dv->chan, -1, DISPVM_CHAN_OUT_MAX);
	qmp_init(&dv->qmp, -1);
	dv->next = d->qubes;
	d->qubes = dv;
	return dv;
}

static struct client *new_client(struct daemon *d)
{
	struct client *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->d = d;
	/* The client's real limit: a whole window of output must fit. */
	bh_chan_init(&c->chan, -1, CLIENT_OUT_MAX);
	c->next = d->clients;
	d->clients = c;
	return c;
}

static void free_all(struct daemon *d)
{
	while (d->qubes) {
		struct qube_vm *dv = d->qubes;
		size_t i;

		d->qubes = dv->next;
		for (i = 0; i < BH_MAX_STREAMS; i++)
			if (dv->streams[i].id)
				qs_free(&dv->streams[i]);
		bh_chan_free(&dv->chan);
		free(dv->exec_req);
		free(dv);
	}
	while (d->clients) {
		struct client *c = d->clients;

		d->clients = c->next;
		bh_chan_free(&c->chan);
		free(c->svc);
		free(c);
	}
	free(d);
}

static int fx_setup(void **state)
{
	static char *const argv[] = { "/bin/echo", "hello", "world", NULL };
	static char *const envp[] = { "LANG=C", NULL };
	struct fx *f = calloc(1, sizeof(*f));
	size_t i;

	if (!f)
		return -1;
	f->d = calloc(1, sizeof(*f->d));
	f->big = malloc(MAXP);
	if (!f->d || !f->big)
		return -1;
	f->d->hooks = &daemon_hooks;
	f->d->boot_timeout_ms = DEFAULT_BOOT_TIMEOUT_MS;
	f->dv = new_qube(f->d, "disp1", 0);
	f->c = new_client(f->d);
	if (!f->dv || !f->c)
		return -1;
	for (i = 0; i < MAXP; i++)
		f->big[i] = (uint8_t)(i * 31u + (i >> 9));
	f->req_len = bh_exec_req_encode(f->req, sizeof(f->req), argv, envp);
	if (f->req_len <= 0)
		return -1;
	/* As dispvm_start leaves it: bh run --dispvm waiting for HELLO. */
	f->dv->exec_req = malloc((size_t)f->req_len);
	if (!f->dv->exec_req)
		return -1;
	memcpy(f->dv->exec_req, f->req, (size_t)f->req_len);
	f->dv->exec_len = (uint32_t)f->req_len;
	f->dv->client = f->c;
	f->c->dv = f->dv;
	*state = f;
	return 0;
}

static int fx_teardown(void **state)
{
	struct fx *f = *state;

	free_all(f->d);
	free(f->big);
	free(f);
	return 0;
}

/* ---- frames in, frames out ---- */

/* One frame from dv's guest. */
static int gsend(struct qube_vm *dv, uint32_t type, uint32_t stream,
		 const void *payload, uint32_t len)
{
	struct bh_frame_hdr h = { type, stream, len };

	return qube_vm_handle_agent_frame(dv, &h, payload);
}

static int gsend_u32(struct qube_vm *dv, uint32_t type, uint32_t stream,
		     uint32_t v)
{
	uint8_t p[4];

	bh_put_u32(p, v);
	return gsend(dv, type, stream, p, 4);
}

static int gsend_u32x2(struct qube_vm *dv, uint32_t type, uint32_t stream,
		       uint32_t a, uint32_t b)
{
	uint8_t p[8];

	bh_put_u32(p, a);
	bh_put_u32(p + 4, b);
	return gsend(dv, type, stream, p, 8);
}

/* The same for the disposable of the fixture. */
static int guest(struct fx *f, uint32_t type, uint32_t stream,
		 const void *payload, uint32_t len)
{
	return gsend(f->dv, type, stream, payload, len);
}

static int guest_u32(struct fx *f, uint32_t type, uint32_t stream,
		     uint32_t v)
{
	return gsend_u32(f->dv, type, stream, v);
}

static int guest_u32x2(struct fx *f, uint32_t type, uint32_t stream,
		       uint32_t a, uint32_t b)
{
	return gsend_u32x2(f->dv, type, stream, a, b);
}

static int hello(struct fx *f, uint32_t version)
{
	return guest_u32x2(f, BH_MSG_HELLO, 0, version, 0);
}

/* One frame from bh c (always on its stream 1). */
static int csend(struct client *c, uint32_t type, const void *p,
		 uint32_t len)
{
	struct bh_frame_hdr h = { type, 1, len };

	return qs_client_frame(c, &h, p);
}

static int csend_u32(struct client *c, uint32_t type, uint32_t v)
{
	uint8_t p[4];

	bh_put_u32(p, v);
	return csend(c, type, p, 4);
}

static int client_sends(struct fx *f, uint32_t type, const void *p,
			uint32_t len)
{
	return csend(f->c, type, p, len);
}

/* Takes the next frame queued (not yet written) on c. */
static void take(struct bh_chan *c, struct bh_frame_hdr *h,
		 const uint8_t **payload)
{
	assert_true(bh_chan_pending(c) >= BH_FRAME_HDR_LEN);
	assert_int_equal(bh_frame_hdr_decode(c->out + c->out_off, h), 0);
	assert_true(bh_chan_pending(c) >= BH_FRAME_HDR_LEN + h->len);
	*payload = c->out + c->out_off + BH_FRAME_HDR_LEN;
	c->out_off += BH_FRAME_HDR_LEN + h->len;
}

static void expect(struct bh_chan *c, uint32_t type, uint32_t stream,
		   const void *payload, uint32_t len)
{
	struct bh_frame_hdr h;
	const uint8_t *p;

	take(c, &h, &p);
	assert_int_equal(h.type, type);
	assert_int_equal(h.stream, stream);
	assert_int_equal(h.len, len);
	if (len)
		assert_memory_equal(p, payload, len);
}

static void expect_u32(struct bh_chan *c, uint32_t type, uint32_t stream,
		       uint32_t v)
{
	uint8_t p[4];

	bh_put_u32(p, v);
	expect(c, type, stream, p, 4);
}

static void expect_exit(struct bh_chan *c, uint32_t stream, uint32_t kind,
			uint32_t value)
{
	uint8_t p[8];

	bh_put_u32(p, kind);
	bh_put_u32(p + 4, value);
	expect(c, BH_MSG_EXIT, stream, p, 8);
}

/* What a guest would check of a frame queued for it. */
static void expect_to_guest(struct bh_chan *c, uint32_t type,
			    uint32_t stream, const void *payload, uint32_t len)
{
	struct bh_frame_hdr h = { type, stream, len };

	assert_int_equal(bh_frame_check_from_host(&h), 0);
	expect(c, type, stream, payload, len);
}

static void expect_u32_to_guest(struct bh_chan *c, uint32_t type,
				uint32_t stream, uint32_t v)
{
	uint8_t p[4];

	bh_put_u32(p, v);
	expect_to_guest(c, type, stream, p, 4);
}

static void expect_exit_to_guest(struct bh_chan *c, uint32_t stream,
				 uint32_t kind, uint32_t value)
{
	struct bh_frame_hdr h = { BH_MSG_EXIT, stream, 8 };

	assert_int_equal(bh_frame_check_from_host(&h), 0);
	expect_exit(c, stream, kind, value);
}

static void empty(const struct bh_chan *c)
{
	assert_int_equal(bh_chan_pending(c), 0);
}

/* Queues frames toward dv until it holds QUBE_PAUSE_BYTES unread: a
 * guest that stopped reading its port. */
static void fill_queue(struct qube_vm *dv)
{
	static uint8_t junk[MAXP];

	while (bh_chan_pending(&dv->chan) < QUBE_PAUSE_BYTES)
		assert_int_equal(bh_chan_send(&dv->chan, BH_MSG_STDOUT,
					      0x7777, junk, MAXP),
				 0);
}

/* The payload of the i-th frame a sender sends to use a whole window
 * in the largest frames it may: three of MAXP, then what is left
 * (credit counts each frame's header too, bh_credit_cost). 0 once the
 * window is used. */
static uint32_t window_frame(unsigned i)
{
	uint32_t used = 0, len = 0;
	unsigned k;

	for (k = 0; k <= i; k++) {
		len = bh_credit_payload_max(W - used);
		if (len > MAXP)
			len = MAXP;
		used += bh_credit_cost(len);
	}
	return len;
}

static void nothing_queued(struct fx *f)
{
	empty(&f->dv->chan);
	empty(&f->c->chan);
}

/* Live streams of dv. */
static unsigned live_streams(struct qube_vm *dv)
{
	unsigned n = 0;
	size_t i;

	for (i = 0; i < BH_MAX_STREAMS; i++)
		n += dv->streams[i].id != 0;
	return n;
}

/* The job's stream: bh run --dispvm's command on stream 1. */
static struct qstream *job(struct fx *f)
{
	struct qstream *s = qs_find(f->dv, 1);

	assert_non_null(s);
	return s;
}

/* HELLO, and the EXEC it brings taken off the queue. */
static void run(struct fx *f)
{
	assert_int_equal(hello(f, BH_PROTO_VERSION), 0);
	expect_to_guest(&f->dv->chan, BH_MSG_EXEC, 1, f->req,
			(uint32_t)f->req_len);
	nothing_queued(f);
}

/* ---- HELLO ---- */

static void test_hello(void **state)
{
	struct fx *f = *state;
	struct qstream *s;

	assert_null(qs_find(f->dv, 1));
	assert_int_equal(hello(f, BH_PROTO_VERSION), 0);
	assert_int_equal(f->dv->state, DV_RUNNING);
	assert_int_equal(f->dv->deadline_ms, 0);
	assert_null(f->dv->exec_req);
	/* The command goes to the guest on stream 1, byte for byte, and
	 * stream 1 is the job: joined with bh, full windows both ways. */
	expect_to_guest(&f->dv->chan, BH_MSG_EXEC, 1, f->req,
			(uint32_t)f->req_len);
	nothing_queued(f);
	assert_int_equal(f->dv->job_stream, 1);
	s = job(f);
	assert_int_equal(s->role, QS_RUN);
	assert_ptr_equal(s->client, f->c);
	assert_null(s->peer);
	assert_int_equal(s->guest_may_send.avail, W);
	assert_int_equal(s->client_may_send.avail, W);
	assert_int_equal(s->guest_eof + s->err_eof + s->input_eof, 0);
	assert_int_equal(live_streams(f->dv), 1);
	assert_ptr_equal(f->c->dv, f->dv);
	assert_int_equal(f->c->sid, 1);
	assert_int_equal(f->dv->have_exit, 0);
	assert_int_equal(f->dv->err_code, 0);
}

static void test_hello_bad(void **state)
{
	struct fx *f = *state;
	static const uint32_t versions[] = { 0, BH_PROTO_VERSION + 1,
					     0xffffffffu, 0x01000000u };
	uint8_t p[16] = { 1 };
	size_t i;

	for (i = 0; i < ARRAY_LEN(versions); i++)
		assert_int_equal(hello(f, versions[i]), -EPROTO);
	/* Right version on another stream, or with the wrong length. */
	bh_put_u32(p, BH_PROTO_VERSION);
	assert_int_equal(guest(f, BH_MSG_HELLO, 1, p, 8), -EPROTO);
	assert_int_equal(guest(f, BH_MSG_HELLO, 0xffffffffu, p, 8), -EPROTO);
	assert_int_equal(guest(f, BH_MSG_HELLO, CALL1, p, 8), -EPROTO);
	assert_int_equal(guest(f, BH_MSG_HELLO, 0, p, 4), -EPROTO);
	assert_int_equal(guest(f, BH_MSG_HELLO, 0, p, 0), -EPROTO);
	assert_int_equal(guest(f, BH_MSG_HELLO, 0, p, 7), -EPROTO);
	assert_int_equal(guest(f, BH_MSG_HELLO, 0, p, 9), -EPROTO);
	assert_int_equal(guest(f, BH_MSG_HELLO, 0, p, 12), -EPROTO);
	/* None of it started anything. */
	assert_int_equal(f->dv->state, DV_BOOTING);
	assert_non_null(f->dv->exec_req);
	assert_int_equal(live_streams(f->dv), 0);
	assert_int_equal(f->c->sid, 0);
	nothing_queued(f);
	/* The real one still works after. */
	run(f);
}

static void test_hello_twice(void **state)
{
	struct fx *f = *state;

	run(f);
	assert_int_equal(hello(f, BH_PROTO_VERSION), -EPROTO);
	nothing_queued(f); /* no second EXEC */
	assert_int_equal(f->dv->state, DV_RUNNING);
	assert_int_equal(live_streams(f->dv), 1);
}

/* ---- output ---- */

static void test_before_hello(void **state)
{
	struct fx *f = *state;
	static const uint8_t call[] = "work\0svc";

	assert_int_equal(guest(f, BH_MSG_STDOUT, 1, "x", 1), -EPROTO);
	assert_int_equal(guest(f, BH_MSG_STDERR, 1, "x", 1), -EPROTO);
	assert_int_equal(guest(f, BH_MSG_STDOUT, 1, NULL, 0), -EPROTO);
	assert_int_equal(guest_u32(f, BH_MSG_CREDIT, 1, 0), -EPROTO);
	assert_int_equal(guest_u32x2(f, BH_MSG_EXIT, 1, BH_EXIT_CODE, 0),
			 -EPROTO);
	/* No calls from a qube that is not up (even well-formed ones: the
	 * state check comes before the policy). */
	assert_int_equal(guest(f, BH_MSG_CALL, CALL1, call, sizeof(call)),
			 -EPROTO);
	assert_int_equal(guest(f, BH_MSG_STDIN, CALL1, "x", 1), -EPROTO);
	assert_int_equal(guest_u32(f, BH_MSG_CREDIT, CALL1, 1), -EPROTO);
	assert_int_equal(f->dv->state, DV_BOOTING);
	assert_int_equal(f->dv->have_exit, 0);
	assert_int_equal(live_streams(f->dv), 0);
	nothing_queued(f);
}

static void test_wrong_stream(void **state)
{
	struct fx *f = *state;
	/* Host-side ids nobody opened, and stream 0. */
	static const uint32_t host[] = { 0, 2, 64, 0x7fffffffu };
	/* Guest-side ids: never carry output or an exit. */
	static const uint32_t guestside[] = { CALL1, 0xffffffffu };
	size_t i;

	run(f);
	for (i = 0; i < ARRAY_LEN(host); i++) {
		uint32_t s = host[i];

		assert_int_equal(guest(f, BH_MSG_STDOUT, s, "x", 1), -EPROTO);
		assert_int_equal(guest(f, BH_MSG_STDERR, s, "x", 1), -EPROTO);
		assert_int_equal(guest(f, BH_MSG_STDOUT, s, NULL, 0), -EPROTO);
		assert_int_equal(guest_u32(f, BH_MSG_CREDIT, s, 0), -EPROTO);
		assert_int_equal(guest_u32x2(f, BH_MSG_EXIT, s, BH_EXIT_CODE,
					     0),
				 -EPROTO);
		assert_int_equal(guest(f, BH_MSG_STDIN, s, "x", 1), -EPROTO);
	}
	for (i = 0; i < ARRAY_LEN(guestside); i++) {
		uint32_t s = guestside[i];

		assert_int_equal(guest(f, BH_MSG_STDOUT, s, "x", 1), -EPROTO);
		assert_int_equal(guest(f, BH_MSG_STDERR, s, "x", 1), -EPROTO);
		assert_int_equal(guest(f, BH_MSG_STDOUT, s, NULL, 0), -EPROTO);
		assert_int_equal(guest_u32x2(f, BH_MSG_EXIT, s, BH_EXIT_CODE,
					     0),
				 -EPROTO);
		/* A call the daemon ended may still have frames on the
		 * way: those for an unknown guest stream are ignored. */
		assert_int_equal(guest_u32(f, BH_MSG_CREDIT, s, 5), 0);
		assert_int_equal(guest(f, BH_MSG_STDIN, s, "x", 1), 0);
		assert_int_equal(guest(f, BH_MSG_STDIN, s, NULL, 0), 0);
		/* ... but only with a well-formed credit. */
		assert_int_equal(guest(f, BH_MSG_CREDIT, s, "abc", 3),
				 -EPROTO);
	}
	assert_int_equal(job(f)->guest_may_send.avail, W);
	assert_int_equal(job(f)->client_may_send.avail, W);
	assert_int_equal(job(f)->guest_eof, 0);
	assert_int_equal(live_streams(f->dv), 1);
	assert_int_equal(f->dv->have_exit, 0);
	nothing_queued(f);
}

static void test_forwarded(void **state)
{
	struct fx *f = *state;

	run(f);
	assert_int_equal(guest(f, BH_MSG_STDOUT, 1, "hello\n", 6), 0);
	assert_int_equal(guest(f, BH_MSG_STDERR, 1, "oops\n", 5), 0);
	assert_int_equal(guest(f, BH_MSG_STDOUT, 1, f->big, MAXP), 0);
	assert_int_equal(guest(f, BH_MSG_STDERR, 1, NULL, 0), 0);
	expect(&f->c->chan, BH_MSG_STDOUT, 1, "hello\n", 6);
	expect(&f->c->chan, BH_MSG_STDERR, 1, "oops\n", 5);
	expect(&f->c->chan, BH_MSG_STDOUT, 1, f->big, MAXP);
	expect(&f->c->chan, BH_MSG_STDERR, 1, NULL, 0);
	nothing_queued(f);
	assert_int_equal(job(f)->guest_may_send.avail,
			 W - C(6) - C(5) - C(MAXP));
	assert_int_equal(job(f)->err_eof, 1);
	assert_int_equal(job(f)->guest_eof, 0);
}

static void test_stdout_credit(void **state)
{
	struct fx *f = *state;
	uint8_t cp[4];
	unsigned i;

	run(f);
	for (i = 0; window_frame(i); i++)
		assert_int_equal(guest(f, BH_MSG_STDOUT, 1, f->big,
				       window_frame(i)),
				 0);
	assert_int_equal(job(f)->guest_may_send.avail, 0);
	assert_int_equal(guest(f, BH_MSG_STDOUT, 1, "x", 1), -EPROTO);
	assert_int_equal(guest(f, BH_MSG_STDERR, 1, "x", 1), -EPROTO);
	for (i = 0; window_frame(i); i++)
		expect(&f->c->chan, BH_MSG_STDOUT, 1, f->big,
		       window_frame(i));
	nothing_queued(f);

	/* bh consumes some and grants it back through the daemon, which
	 * sends what it holds at the end of its round. */
	bh_put_u32(cp, 1000);
	assert_int_equal(client_sends(f, BH_MSG_CREDIT, cp, 4), 0);
	nothing_queued(f);
	qs_flush_credit(f->dv);
	expect_u32_to_guest(&f->dv->chan, BH_MSG_CREDIT, 1, 1000);
	assert_int_equal(job(f)->guest_may_send.avail, 1000);
	/* A frame uses its header's worth too. */
	assert_int_equal(guest(f, BH_MSG_STDERR, 1, f->big, 1000 - 11),
			 -EPROTO);
	assert_int_equal(guest(f, BH_MSG_STDERR, 1, f->big, 1000 - 12), 0);
	assert_int_equal(guest(f, BH_MSG_STDOUT, 1, "x", 1), -EPROTO);
	expect(&f->c->chan, BH_MSG_STDERR, 1, f->big, 1000 - 12);
	nothing_queued(f);

	/* bh may not grant past the window, nor a bad length, nor on
	 * another stream, nor anything the guest does not read. */
	bh_put_u32(cp, W + 1);
	assert_int_equal(client_sends(f, BH_MSG_CREDIT, cp, 4), -EPROTO);
	assert_int_equal(client_sends(f, BH_MSG_CREDIT, cp, 3), -EPROTO);
	assert_int_equal(client_sends(f, BH_MSG_STDOUT, "x", 1), -EPROTO);
	assert_int_equal(client_sends(f, BH_MSG_EXIT, cp, 4), -EPROTO);
	{
		struct bh_frame_hdr h = { BH_MSG_CREDIT, 2, 4 };

		bh_put_u32(cp, 1);
		assert_int_equal(qs_client_frame(f->c, &h, cp), -EPROTO);
	}
	assert_int_equal(job(f)->guest_may_send.avail, 0);
	nothing_queued(f);
	/* All it had: once, not twice. */
	bh_put_u32(cp, W);
	assert_int_equal(client_sends(f, BH_MSG_CREDIT, cp, 4), 0);
	bh_put_u32(cp, 1);
	assert_int_equal(client_sends(f, BH_MSG_CREDIT, cp, 4), -EPROTO);
	/* Nor 0, which grants nothing. */
	bh_put_u32(cp, 0);
	assert_int_equal(client_sends(f, BH_MSG_CREDIT, cp, 4), -EPROTO);
	qs_flush_credit(f->dv);
	expect_u32_to_guest(&f->dv->chan, BH_MSG_CREDIT, 1, W);
	nothing_queued(f);
}

static void test_credit_shared(void **state)
{
	struct fx *f = *state;

	/* stdout and stderr draw on one credit. */
	run(f);
	assert_int_equal(guest(f, BH_MSG_STDOUT, 1, f->big, MAXP), 0);
	assert_int_equal(guest(f, BH_MSG_STDERR, 1, f->big, MAXP), 0);
	assert_int_equal(guest(f, BH_MSG_STDOUT, 1, f->big, MAXP), 0);
	/* 13 left: one byte's frame. */
	assert_int_equal(guest(f, BH_MSG_STDERR, 1, f->big,
			       W - 3 * C(MAXP) - C(1) - 12),
			 0);
	assert_int_equal(guest(f, BH_MSG_STDERR, 1, "ab", 2), -EPROTO);
	assert_int_equal(guest(f, BH_MSG_STDOUT, 1, "a", 1), 0);
	assert_int_equal(guest(f, BH_MSG_STDOUT, 1, "a", 1), -EPROTO);
	/* End of file carries no data: allowed without credit. */
	assert_int_equal(guest(f, BH_MSG_STDOUT, 1, NULL, 0), 0);
	assert_int_equal(guest(f, BH_MSG_STDERR, 1, NULL, 0), 0);
	assert_int_equal(job(f)->guest_may_send.avail, 0);
}

static void test_after_eof(void **state)
{
	struct fx *f = *state;

	run(f);
	assert_int_equal(guest(f, BH_MSG_STDOUT, 1, NULL, 0), 0);
	expect(&f->c->chan, BH_MSG_STDOUT, 1, NULL, 0);
	assert_int_equal(guest(f, BH_MSG_STDOUT, 1, "late", 4), -EPROTO);
	assert_int_equal(guest(f, BH_MSG_STDOUT, 1, NULL, 0), -EPROTO);
	nothing_queued(f);
	assert_int_equal(job(f)->guest_may_send.avail, W);
	/* stderr is its own direction. */
	assert_int_equal(guest(f, BH_MSG_STDERR, 1, "e", 1), 0);
	assert_int_equal(guest(f, BH_MSG_STDERR, 1, NULL, 0), 0);
	assert_int_equal(guest(f, BH_MSG_STDERR, 1, "late", 4), -EPROTO);
	assert_int_equal(guest(f, BH_MSG_STDERR, 1, NULL, 0), -EPROTO);
	expect(&f->c->chan, BH_MSG_STDERR, 1, "e", 1);
	expect(&f->c->chan, BH_MSG_STDERR, 1, NULL, 0);
	nothing_queued(f);
}

/* ---- credit for stdin ---- */

static void test_stdin_credit(void **state)
{
	struct fx *f = *state;
	uint8_t p[8] = { 0 };

	run(f);
	/* The guest has all of bh's stdin credit already. */
	assert_int_equal(guest_u32(f, BH_MSG_CREDIT, 1, 1), -EPROTO);
	assert_int_equal(guest_u32(f, BH_MSG_CREDIT, 1, W), -EPROTO);
	assert_int_equal(guest_u32(f, BH_MSG_CREDIT, 1, 0xffffffffu), -EPROTO);
	assert_int_equal(guest_u32(f, BH_MSG_CREDIT, 1, 0x80000000u), -EPROTO);
	assert_int_equal(job(f)->client_may_send.avail, W);
	nothing_queued(f);

	/* bh sends 100 bytes of stdin: relayed to the guest. */
	assert_int_equal(client_sends(f, BH_MSG_STDIN, f->big, 100), 0);
	expect_to_guest(&f->dv->chan, BH_MSG_STDIN, 1, f->big, 100);
	assert_int_equal(job(f)->client_may_send.avail, W - C(100));
	/* The guest returns exactly that (its header's worth too); more is
	 * refused, and so is 0. bh gets it as one grant. */
	assert_int_equal(guest_u32(f, BH_MSG_CREDIT, 1, C(100) + 1), -EPROTO);
	assert_int_equal(guest_u32(f, BH_MSG_CREDIT, 1, 60), 0);
	assert_int_equal(guest_u32(f, BH_MSG_CREDIT, 1, C(100) - 60), 0);
	assert_int_equal(guest_u32(f, BH_MSG_CREDIT, 1, 1), -EPROTO);
	assert_int_equal(guest_u32(f, BH_MSG_CREDIT, 1, 0), -EPROTO);
	assert_int_equal(job(f)->client_may_send.avail, W);
	nothing_queued(f);
	qs_flush_client_credit(f->c);
	expect_u32(&f->c->chan, BH_MSG_CREDIT, 1, C(100));
	nothing_queued(f);

	/* Wrong lengths. */
	assert_int_equal(guest(f, BH_MSG_CREDIT, 1, p, 0), -EPROTO);
	assert_int_equal(guest(f, BH_MSG_CREDIT, 1, p, 3), -EPROTO);
	assert_int_equal(guest(f, BH_MSG_CREDIT, 1, p, 5), -EPROTO);
	assert_int_equal(guest(f, BH_MSG_CREDIT, 1, p, 8), -EPROTO);
	nothing_queued(f);

	/* bh may not pass its window, nor send after its EOF. */
	for (unsigned i = 0; window_frame(i); i++)
		assert_int_equal(client_sends(f, BH_MSG_STDIN, f->big,
					      window_frame(i)),
				 0);
	assert_int_equal(client_sends(f, BH_MSG_STDIN, f->big, 1), -EPROTO);
	assert_int_equal(client_sends(f, BH_MSG_STDIN, NULL, 0), 0);
	assert_int_equal(job(f)->input_eof, 1);
	assert_int_equal(client_sends(f, BH_MSG_STDIN, NULL, 0), -EPROTO);
	assert_int_equal(guest_u32(f, BH_MSG_CREDIT, 1, 10), 0);
	assert_int_equal(client_sends(f, BH_MSG_STDIN, f->big, 1), -EPROTO);
	for (unsigned i = 0; window_frame(i); i++)
		expect_to_guest(&f->dv->chan, BH_MSG_STDIN, 1, f->big,
				window_frame(i));
	expect_to_guest(&f->dv->chan, BH_MSG_STDIN, 1, NULL, 0);
	qs_flush_client_credit(f->c);
	expect_u32(&f->c->chan, BH_MSG_CREDIT, 1, 10);
	nothing_queued(f);
}

/* ---- EXIT ---- */

static void test_exit_bad(void **state)
{
	struct fx *f = *state;
	static const uint32_t bad[][2] = {
		{ BH_EXIT_CODE, 256 },         { BH_EXIT_CODE, 0xffffffffu },
		{ BH_EXIT_SIGNAL, 0 },         { BH_EXIT_SIGNAL, 65 },
		{ BH_EXIT_SIGNAL, 0x80000001u }, { BH_EXIT_NOSTART, 0 },
		{ BH_EXIT_NOSTART, 5 },        { BH_EXIT_REFUSED, 1 },
		{ BH_EXIT_REFUSED, 0xffffffffu }, { 4, 0 },
		{ 0xffffffffu, 1 },            { 0x100, 0 },
	};
	uint8_t p[12] = { 0 };
	size_t i;

	run(f);
	for (i = 0; i < ARRAY_LEN(bad); i++) {
		print_message("kind %u value %u\n", bad[i][0], bad[i][1]);
		assert_int_equal(guest_u32x2(f, BH_MSG_EXIT, 1, bad[i][0],
					     bad[i][1]),
				 -EPROTO);
	}
	assert_int_equal(guest(f, BH_MSG_EXIT, 1, p, 0), -EPROTO);
	assert_int_equal(guest(f, BH_MSG_EXIT, 1, p, 4), -EPROTO);
	assert_int_equal(guest(f, BH_MSG_EXIT, 1, p, 7), -EPROTO);
	assert_int_equal(guest(f, BH_MSG_EXIT, 1, p, 9), -EPROTO);
	assert_int_equal(guest(f, BH_MSG_EXIT, 1, p, 12), -EPROTO);
	assert_int_equal(f->dv->have_exit, 0);
	assert_int_equal(f->dv->state, DV_RUNNING);
	assert_non_null(qs_find(f->dv, 1));
	nothing_queued(f);
}

static void test_exit_ok(void **state)
{
	struct fx *f = *state;
	int64_t before = bh_now_ms();

	run(f);
	assert_int_equal(guest(f, BH_MSG_STDOUT, 1, "out\n", 4), 0);
	assert_int_equal(guest_u32x2(f, BH_MSG_EXIT, 1, BH_EXIT_CODE, 7), 0);
	assert_int_equal(f->dv->have_exit, 1);
	assert_int_equal(f->dv->exit_kind, BH_EXIT_CODE);
	assert_int_equal(f->dv->exit_value, 7);
	assert_int_equal(f->dv->state, DV_STOPPING);
	assert_true(f->dv->deadline_ms >= before + DISPVM_POWEROFF_MS);
	/* The stream is gone; bh keeps its qube until report_and_free. */
	assert_null(qs_find(f->dv, 1));
	assert_int_equal(live_streams(f->dv), 0);
	assert_ptr_equal(f->c->dv, f->dv);
	assert_ptr_equal(f->dv->client, f->c);
	assert_int_equal(f->c->closing, 0);
	/* The guest is told to power off; bh hears of the exit only when
	 * QEMU is gone (report_and_free). */
	expect_to_guest(&f->dv->chan, BH_MSG_POWEROFF, 0, NULL, 0);
	expect(&f->c->chan, BH_MSG_STDOUT, 1, "out\n", 4);
	nothing_queued(f);
	assert_int_equal(f->dv->err_code, 0);
	/* bh's late stdin or credit for the ended command is ignored. */
	assert_int_equal(client_sends(f, BH_MSG_STDIN, "x", 1), 0);
	assert_int_equal(csend_u32(f->c, BH_MSG_CREDIT, 4), 0);
	nothing_queued(f);
}

static void test_exit_edges(void **state)
{
	struct fx *f = *state;
	static const uint32_t ok[][2] = {
		{ BH_EXIT_CODE, 0 },      { BH_EXIT_CODE, 255 },
		{ BH_EXIT_SIGNAL, 1 },    { BH_EXIT_SIGNAL, 9 },
		{ BH_EXIT_SIGNAL, 64 },   { BH_EXIT_NOSTART, 1 },
		{ BH_EXIT_NOSTART, 2 },   { BH_EXIT_NOSTART, 3 },
		{ BH_EXIT_NOSTART, 4 },   { BH_EXIT_REFUSED, 0 },
	};
	size_t i;

	for (i = 0; i < ARRAY_LEN(ok); i++) {
		print_message("kind %u value %u\n", ok[i][0], ok[i][1]);
		if (i) {
			assert_int_equal(fx_teardown(state), 0);
			assert_int_equal(fx_setup(state), 0);
			f = *state;
		}
		run(f);
		assert_int_equal(guest_u32x2(f, BH_MSG_EXIT, 1, ok[i][0],
					     ok[i][1]),
				 0);
		assert_int_equal(f->dv->have_exit, 1);
		assert_int_equal(f->dv->exit_kind, ok[i][0]);
		assert_int_equal(f->dv->exit_value, ok[i][1]);
		assert_int_equal(f->dv->state, DV_STOPPING);
		expect_to_guest(&f->dv->chan, BH_MSG_POWEROFF, 0, NULL, 0);
		nothing_queued(f);
	}
}

static void test_after_exit(void **state)
{
	struct fx *f = *state;
	static const uint8_t bad_call[] = "x";
	uint8_t hp[8];

	run(f);
	assert_int_equal(guest_u32x2(f, BH_MSG_EXIT, 1, BH_EXIT_SIGNAL, 9), 0);
	expect(&f->dv->chan, BH_MSG_POWEROFF, 0, NULL, 0);
	assert_int_equal(guest(f, BH_MSG_STDOUT, 1, "x", 1), -EPROTO);
	assert_int_equal(guest(f, BH_MSG_STDERR, 1, "x", 1), -EPROTO);
	assert_int_equal(guest(f, BH_MSG_STDOUT, 1, NULL, 0), -EPROTO);
	assert_int_equal(guest(f, BH_MSG_STDERR, 1, NULL, 0), -EPROTO);
	assert_int_equal(guest_u32(f, BH_MSG_CREDIT, 1, 0), -EPROTO);
	assert_int_equal(guest_u32x2(f, BH_MSG_EXIT, 1, BH_EXIT_CODE, 0),
			 -EPROTO);
	/* A disposable whose job is over starts no calls: each is ended
	 * at once (125), and frames of calls left running (as a command's
	 * background bh-call may leave) are no protocol error. */
	assert_int_equal(guest(f, BH_MSG_CALL, CALL1, bad_call, 1), 0);
	{
		uint8_t ep[8];

		bh_put_u32(ep, BH_EXIT_NOSTART);
		bh_put_u32(ep + 4, BH_NOSTART_OTHER);
		expect(&f->dv->chan, BH_MSG_EXIT, CALL1, ep, 8);
	}
	assert_int_equal(guest_u32(f, BH_MSG_CREDIT, CALL1, 1), 0);
	bh_put_u32(hp, BH_PROTO_VERSION);
	bh_put_u32(hp + 4, 0);
	assert_int_equal(guest(f, BH_MSG_HELLO, 0, hp, 8), -EPROTO);
	/* The first status stands. */
	assert_int_equal(f->dv->exit_kind, BH_EXIT_SIGNAL);
	assert_int_equal(f->dv->exit_value, 9);
	assert_int_equal(f->dv->state, DV_STOPPING);
	assert_int_equal(live_streams(f->dv), 0);
	nothing_queued(f);
}

/* ---- types a guest never sends ---- */

static void test_foreign_types(void **state)
{
	struct fx *f = *state;
	static const uint32_t types[] = {
		BH_MSG_RUN_DISPVM, BH_MSG_ERROR,   0x102u,
		BH_MSG_EXEC,       BH_MSG_STDIN,   BH_MSG_POWEROFF,
		BH_MSG_SERVICE,    BH_MSG_CALL,    0,
		11,                BH_MSG_RUN_QUBE, BH_MSG_RUN_SERVICE,
		BH_MSG_RUN_DISPVM_FROM, BH_MSG_RUN_QUBE_NOSTART, 0x80000000u,
		0xffffffffu,
	};
	uint8_t p[64];
	size_t i, phase;

	memset(p, 0, sizeof(p));
	bh_put_u32(p, BH_PROTO_VERSION);
	memcpy(p + 8, f->req, 8); /* something exec-request shaped */
	for (phase = 0; phase < 2; phase++) {
		for (i = 0; i < ARRAY_LEN(types); i++) {
			static const uint32_t lens[] = { 0, 4, 8, 16 };
			size_t j;

			for (j = 0; j < ARRAY_LEN(lens); j++) {
				assert_int_equal(guest(f, types[i], 0, p,
						       lens[j]),
						 -EPROTO);
				assert_int_equal(guest(f, types[i], 1, p,
						       lens[j]),
						 -EPROTO);
			}
			/* Host types on a guest stream too (STDIN and CALL
			 * are the guest's there). */
			if (types[i] == BH_MSG_STDIN ||
			    types[i] == BH_MSG_CALL)
				continue;
			for (j = 0; j < ARRAY_LEN(lens); j++)
				assert_int_equal(guest(f, types[i], CALL1, p,
						       lens[j]),
						 -EPROTO);
		}
		assert_int_equal(f->dv->state,
				 phase ? DV_RUNNING : DV_BOOTING);
		nothing_queued(f);
		if (!phase)
			run(f);
	}
	assert_int_equal(f->dv->have_exit, 0);
	assert_int_equal(live_streams(f->dv), 1);
}

static void test_client_gone(void **state)
{
	struct fx *f = *state;

	/* bh went away (as qs_client_gone leaves a command of a qube that
	 * stays): stdin gets EOF, output is still checked and counted,
	 * and dropped with its credit given back. */
	run(f);
	assert_int_equal(client_sends(f, BH_MSG_STDIN, "ab", 2), 0);
	expect_to_guest(&f->dv->chan, BH_MSG_STDIN, 1, "ab", 2);
	qs_client_gone(f->c);
	assert_null(job(f)->client);
	assert_int_equal(job(f)->input_eof, 1);
	expect_to_guest(&f->dv->chan, BH_MSG_STDIN, 1, NULL, 0);
	assert_int_equal(guest(f, BH_MSG_STDOUT, 1, f->big, MAXP), 0);
	assert_int_equal(job(f)->guest_may_send.avail, W);
	assert_int_equal(guest(f, BH_MSG_STDERR, 1, "e", 1), 0);
	qs_flush_credit(f->dv);
	expect_u32_to_guest(&f->dv->chan, BH_MSG_CREDIT, 1, C(MAXP) + C(1));
	assert_int_equal(guest(f, BH_MSG_STDOUT, 1, NULL, 0), 0);
	assert_int_equal(guest(f, BH_MSG_STDOUT, 1, "x", 1), -EPROTO);
	/* Its credit for stdin is not checked any more: nobody to tell. */
	assert_int_equal(guest_u32(f, BH_MSG_CREDIT, 1, 2), 0);
	nothing_queued(f);
	/* A second time is harmless: no second EOF. */
	qs_client_gone(f->c);
	nothing_queued(f);
	assert_int_equal(guest_u32x2(f, BH_MSG_EXIT, 1, BH_EXIT_CODE, 3), 0);
	expect(&f->dv->chan, BH_MSG_POWEROFF, 0, NULL, 0);
	nothing_queued(f);
}

static void test_client_gone_disposable(void **state)
{
	struct fx *f = *state;

	/* The disposable's own bh: the qube goes with it. */
	run(f);
	qube_vm_client_gone(f->dv, f->c);
	assert_null(f->dv->client);
	assert_null(job(f)->client);
	assert_int_equal(f->dv->state, DV_STOPPING); /* being killed */
	expect_to_guest(&f->dv->chan, BH_MSG_STDIN, 1, NULL, 0);
	nothing_queued(f);
}

static void test_client_gone_booting(void **state)
{
	struct fx *f = *state;

	/* Before HELLO there is no stream: the qube just goes. */
	qube_vm_client_gone(f->dv, f->c);
	assert_null(f->dv->client);
	assert_int_equal(f->dv->state, DV_STOPPING);
	nothing_queued(f);
	/* Its late HELLO starts nothing. */
	assert_int_equal(hello(f, BH_PROTO_VERSION), -EPROTO);
	assert_int_equal(live_streams(f->dv), 0);
	nothing_queued(f);
}

/* ---- a persistent qube running two commands at once ---- */

struct pfx {
	struct daemon *d;
	struct qube_vm *q; /* "work", running */
	struct client *c1, *c2;
	uint32_t id1, id2;
	uint8_t req1[128], req2[128];
	int len1, len2;
};

static int pfx_setup(void **state)
{
	static char *const a1[] = { "cat", NULL };
	static char *const a2[] = { "sh", "-c", "sleep 9", NULL };
	static char *const env[] = { NULL };
	struct pfx *p = calloc(1, sizeof(*p));

	if (!p || !(p->d = calloc(1, sizeof(*p->d))))
		return -1;
	p->d->hooks = &daemon_hooks;
	p->q = new_qube(p->d, "work", 1);
	p->c1 = new_client(p->d);
	p->c2 = new_client(p->d);
	p->len1 = bh_exec_req_encode(p->req1, sizeof(p->req1), a1, env);
	p->len2 = bh_exec_req_encode(p->req2, sizeof(p->req2), a2, env);
	if (!p->q || !p->c1 || !p->c2 || p->len1 <= 0 || p->len2 <= 0)
		return -1;
	*state = p;
	return 0;
}

static int pfx_teardown(void **state)
{
	struct pfx *p = *state;

	free_all(p->d);
	free(p);
	return 0;
}

/* Both commands started, as qube_run does: bh run work ... twice. */
static void two_runs(struct pfx *p)
{
	struct qstream *s1, *s2;

	assert_int_equal(qs_start_run(p->q, 0, p->c1, p->req1,
				      (uint32_t)p->len1),
			 0);
	assert_int_equal(qs_start_run(p->q, 0, p->c2, p->req2,
				      (uint32_t)p->len2),
			 0);
	p->id1 = p->c1->sid;
	p->id2 = p->c2->sid;
	assert_true(p->id1 != 0 && p->id2 != 0 && p->id1 != p->id2);
	assert_int_equal(p->id1 & BH_STREAM_GUEST_BIT, 0);
	assert_int_equal(p->id2 & BH_STREAM_GUEST_BIT, 0);
	assert_ptr_equal(p->c1->dv, p->q);
	assert_ptr_equal(p->c2->dv, p->q);
	expect_to_guest(&p->q->chan, BH_MSG_EXEC, p->id1, p->req1,
			(uint32_t)p->len1);
	expect_to_guest(&p->q->chan, BH_MSG_EXEC, p->id2, p->req2,
			(uint32_t)p->len2);
	empty(&p->q->chan);
	s1 = qs_find(p->q, p->id1);
	s2 = qs_find(p->q, p->id2);
	assert_non_null(s1);
	assert_non_null(s2);
	assert_int_equal(s1->role, QS_RUN);
	assert_int_equal(s2->role, QS_RUN);
	assert_ptr_equal(s1->client, p->c1);
	assert_ptr_equal(s2->client, p->c2);
	assert_int_equal(s1->guest_may_send.avail, W);
	assert_int_equal(s2->client_may_send.avail, W);
	assert_int_equal(p->q->job_stream, 0);
}

static void test_persistent_two_runs(void **state)
{
	struct pfx *p = *state;
	struct qstream *s2;

	two_runs(p);
	/* Output of each goes to its own bh only, on the client's stream
	 * 1 whatever the qube's id. */
	assert_int_equal(gsend(p->q, BH_MSG_STDOUT, p->id1, "one", 3), 0);
	assert_int_equal(gsend(p->q, BH_MSG_STDERR, p->id2, "two", 3), 0);
	assert_int_equal(gsend(p->q, BH_MSG_STDOUT, p->id2, "2", 1), 0);
	expect(&p->c1->chan, BH_MSG_STDOUT, 1, "one", 3);
	empty(&p->c1->chan);
	expect(&p->c2->chan, BH_MSG_STDERR, 1, "two", 3);
	expect(&p->c2->chan, BH_MSG_STDOUT, 1, "2", 1);
	empty(&p->c2->chan);
	assert_int_equal(qs_find(p->q, p->id1)->guest_may_send.avail,
			 W - C(3));
	assert_int_equal(qs_find(p->q, p->id2)->guest_may_send.avail,
			 W - C(3) - C(1));
	/* And each bh's input goes to its own stream. */
	assert_int_equal(csend(p->c2, BH_MSG_STDIN, "in2", 3), 0);
	assert_int_equal(csend(p->c1, BH_MSG_STDIN, "in1", 3), 0);
	assert_int_equal(csend_u32(p->c1, BH_MSG_CREDIT, C(3)), 0);
	expect_to_guest(&p->q->chan, BH_MSG_STDIN, p->id2, "in2", 3);
	expect_to_guest(&p->q->chan, BH_MSG_STDIN, p->id1, "in1", 3);
	empty(&p->q->chan);
	/* bh 1 cannot grant for bh 2's stream (its credit is its own). */
	assert_int_equal(csend_u32(p->c1, BH_MSG_CREDIT, 1), -EPROTO);
	assert_int_equal(csend_u32(p->c2, BH_MSG_CREDIT, C(3) + C(1)), 0);
	qs_flush_credit(p->q);
	expect_u32_to_guest(&p->q->chan, BH_MSG_CREDIT, p->id1, C(3));
	expect_u32_to_guest(&p->q->chan, BH_MSG_CREDIT, p->id2, C(3) + C(1));
	empty(&p->q->chan);
	/* Credit for stdin goes back to its own bh. */
	assert_int_equal(gsend_u32(p->q, BH_MSG_CREDIT, p->id1, C(3)), 0);
	assert_int_equal(gsend_u32(p->q, BH_MSG_CREDIT, p->id1, 1), -EPROTO);
	qs_flush_client_credit(p->c1);
	qs_flush_client_credit(p->c2);
	expect_u32(&p->c1->chan, BH_MSG_CREDIT, 1, C(3));
	empty(&p->c2->chan);

	/* Command 1 ends: its bh gets the status now (the qube stays) and
	 * is done; command 2 runs on. */
	assert_int_equal(gsend_u32x2(p->q, BH_MSG_EXIT, p->id1, BH_EXIT_CODE,
				     4),
			 0);
	expect_exit(&p->c1->chan, 1, BH_EXIT_CODE, 4);
	empty(&p->c1->chan);
	assert_int_equal(p->c1->closing, 1);
	assert_null(p->c1->dv);
	assert_int_equal(p->c1->sid, 0);
	assert_null(qs_find(p->q, p->id1));
	assert_int_equal(p->q->state, DV_RUNNING);
	assert_int_equal(p->q->have_exit, 0);
	empty(&p->q->chan); /* no POWEROFF */
	empty(&p->c2->chan);
	/* Its id is unknown now: the guest breaks the protocol using it. */
	assert_int_equal(gsend(p->q, BH_MSG_STDOUT, p->id1, "x", 1), -EPROTO);
	assert_int_equal(gsend(p->q, BH_MSG_STDOUT, p->id2, "y", 1), 0);
	expect(&p->c2->chan, BH_MSG_STDOUT, 1, "y", 1);

	/* bh 2 goes: EOF on its command's stdin, output dropped with the
	 * credit given back. */
	qube_vm_client_gone(p->q, p->c2);
	assert_int_equal(p->q->state, DV_RUNNING); /* the qube stays */
	s2 = qs_find(p->q, p->id2);
	assert_non_null(s2);
	assert_null(s2->client);
	assert_int_equal(s2->input_eof, 1);
	expect_to_guest(&p->q->chan, BH_MSG_STDIN, p->id2, NULL, 0);
	assert_int_equal(gsend(p->q, BH_MSG_STDOUT, p->id2, "late", 4), 0);
	assert_int_equal(gsend(p->q, BH_MSG_STDERR, p->id2, "e", 1), 0);
	qs_flush_credit(p->q);
	expect_u32_to_guest(&p->q->chan, BH_MSG_CREDIT, p->id2, C(4) + C(1));
	assert_int_equal(s2->guest_may_send.avail, W - C(1));
	empty(&p->c2->chan);
	assert_int_equal(gsend_u32x2(p->q, BH_MSG_EXIT, p->id2, BH_EXIT_SIGNAL,
				     15),
			 0);
	assert_null(qs_find(p->q, p->id2));
	assert_int_equal(live_streams(p->q), 0);
	empty(&p->q->chan);
	empty(&p->c1->chan);
	empty(&p->c2->chan);
	assert_int_equal(p->q->state, DV_RUNNING);
}

static void test_persistent_exit_order(void **state)
{
	struct pfx *p = *state;

	/* The later command ends first: the earlier one is untouched. */
	two_runs(p);
	assert_int_equal(gsend(p->q, BH_MSG_STDOUT, p->id1, NULL, 0), 0);
	assert_int_equal(gsend_u32x2(p->q, BH_MSG_EXIT, p->id2,
				     BH_EXIT_NOSTART, BH_NOSTART_NOTFOUND),
			 0);
	expect_exit(&p->c2->chan, 1, BH_EXIT_NOSTART, BH_NOSTART_NOTFOUND);
	expect(&p->c1->chan, BH_MSG_STDOUT, 1, NULL, 0);
	empty(&p->c1->chan);
	assert_ptr_equal(p->c1->dv, p->q);
	assert_int_equal(qs_find(p->q, p->id1)->guest_eof, 1);
	/* bh 2's late frames are refused (its run is over)... */
	assert_int_equal(csend(p->c2, BH_MSG_STDIN, "x", 1), -EPROTO);
	/* ... and do not reach command 1. */
	assert_int_equal(csend(p->c1, BH_MSG_STDIN, NULL, 0), 0);
	expect_to_guest(&p->q->chan, BH_MSG_STDIN, p->id1, NULL, 0);
	empty(&p->q->chan);
}

static void test_persistent_qube_gone(void **state)
{
	struct pfx *p = *state;
	struct bh_frame_hdr h;
	const uint8_t *pl;

	/* The qube stops under both commands: each bh hears why. */
	two_runs(p);
	qs_qube_gone(p->q, "it was killed");
	assert_int_equal(live_streams(p->q), 0);
	assert_null(p->c1->dv);
	assert_null(p->c2->dv);
	assert_int_equal(p->c1->sid, 0);
	take(&p->c1->chan, &h, &pl);
	assert_int_equal(h.type, BH_MSG_ERROR);
	assert_int_equal(h.stream, 0);
	assert_true(h.len > 4);
	assert_int_equal(bh_get_u32(pl), BH_EXIT_FAILURE);
	assert_non_null(memmem(pl + 4, h.len - 4, "it was killed", 13));
	take(&p->c2->chan, &h, &pl);
	assert_int_equal(h.type, BH_MSG_ERROR);
	assert_int_equal(p->c1->closing, 1);
	assert_int_equal(p->c2->closing, 1);
	empty(&p->c1->chan);
	empty(&p->c2->chan);
	empty(&p->q->chan);
}

static void test_stream_table_full(void **state)
{
	struct pfx *p = *state;
	struct client *extra = new_client(p->d);
	static const uint8_t call[] = "vault\0svc";
	uint32_t i;

	assert_non_null(extra);
	two_runs(p);
	/* An id in use is refused, nothing sent. */
	assert_int_equal(qs_start_run(p->q, p->id1, extra, p->req1,
				      (uint32_t)p->len1),
			 -ENOSPC);
	empty(&p->q->chan);
	for (i = 2; i < BH_MAX_STREAMS; i++)
		assert_non_null(qs_new(p->q, 1000 + i, QS_RUN));
	assert_int_equal(live_streams(p->q), BH_MAX_STREAMS);
	assert_int_equal(qs_start_run(p->q, 0, extra, p->req1,
				      (uint32_t)p->len1),
			 -ENOSPC);
	assert_int_equal(extra->sid, 0);
	assert_null(extra->dv);
	empty(&p->q->chan);
	/* A call gets its status at once, without a stream (and without a
	 * policy check: safe with no store). */
	assert_int_equal(gsend(p->q, BH_MSG_CALL, CALL1, call, sizeof(call)),
			 0);
	expect_exit_to_guest(&p->q->chan, CALL1, BH_EXIT_NOSTART,
			     BH_NOSTART_OTHER);
	assert_null(qs_find(p->q, CALL1));
	empty(&p->q->chan);
}

/* ---- calls: a relay between two qubes ---- */

struct rfx {
	struct daemon *d;
	struct qube_vm *a; /* "work", the caller */
	struct qube_vm *b; /* "vault", the target */
	struct bh_service_req svc;
	uint32_t sid; /* the service's stream in b */
	uint8_t *big;
};

static int rfx_setup(void **state)
{
	struct rfx *r = calloc(1, sizeof(*r));
	size_t i;

	if (!r || !(r->d = calloc(1, sizeof(*r->d))) ||
	    !(r->big = malloc(MAXP)))
		return -1;
	r->d->hooks = &daemon_hooks;
	r->a = new_qube(r->d, "work", 1);
	r->b = new_qube(r->d, "vault", 1);
	if (!r->a || !r->b)
		return -1;
	for (i = 0; i < MAXP; i++)
		r->big[i] = (uint8_t)(i * 7u + 3u);
	snprintf(r->svc.service, sizeof(r->svc.service), "qubes.Filecopy");
	snprintf(r->svc.source, sizeof(r->svc.source), "work");
	snprintf(r->svc.user, sizeof(r->svc.user), "user");
	*state = r;
	return 0;
}

static int rfx_teardown(void **state)
{
	struct rfx *r = *state;

	free_all(r->d);
	free(r->big);
	free(r);
	return 0;
}

/* B got the SERVICE frame for r->svc on a new stream: its id. */
static uint32_t expect_service(struct rfx *r, struct qube_vm *t)
{
	struct bh_frame_hdr h;
	struct bh_service_req got;
	const uint8_t *p;

	take(&t->chan, &h, &p);
	assert_int_equal(h.type, BH_MSG_SERVICE);
	assert_int_equal(bh_frame_check_from_host(&h), 0);
	assert_int_equal(bh_service_req_parse(p, h.len, &got), 0);
	assert_string_equal(got.service, r->svc.service);
	assert_string_equal(got.arg, r->svc.arg);
	assert_string_equal(got.source, r->svc.source);
	assert_string_equal(got.user, r->svc.user);
	return h.stream;
}

/* The generation of dv's stream id (qstream.gen), or 0, which no stream
 * has: what rpc.c keeps with a call it routes later. */
static uint64_t gen_of(struct qube_vm *dv, uint32_t id)
{
	struct qstream *s = qs_find(dv, id);

	return s ? s->gen : 0;
}

/* A's call CALL1 joined with a service in B, as rpc.c's join does once
 * the policy allowed it and B is ready. */
static void joined(struct rfx *r)
{
	struct qstream *cs = qs_new(r->a, CALL1, QS_CALL), *ss;

	assert_non_null(cs);
	/* A call starts without credit. */
	assert_int_equal(cs->guest_may_send.avail, 0);
	assert_int_equal(qs_start_service(r->b, &r->svc, r->a, CALL1, NULL),
			 0);
	r->sid = expect_service(r, r->b);
	empty(&r->b->chan);
	assert_true(r->sid != 0 && !(r->sid & BH_STREAM_GUEST_BIT));
	/* A gets its window for the service's input. */
	expect_u32_to_guest(&r->a->chan, BH_MSG_CREDIT, CALL1, W);
	empty(&r->a->chan);
	cs = qs_find(r->a, CALL1);
	ss = qs_find(r->b, r->sid);
	assert_non_null(ss);
	assert_int_equal(ss->role, QS_SERVICE);
	assert_ptr_equal(cs->peer, r->b);
	assert_int_equal(cs->peer_id, r->sid);
	assert_ptr_equal(ss->peer, r->a);
	assert_int_equal(ss->peer_id, CALL1);
	assert_null(ss->client);
	assert_int_equal(cs->guest_may_send.avail, W);
	assert_int_equal(ss->guest_may_send.avail, W);
}

static struct qstream *call_s(struct rfx *r)
{
	return qs_find(r->a, CALL1);
}

static struct qstream *svc_s(struct rfx *r)
{
	return qs_find(r->b, r->sid);
}

static void quiet(struct rfx *r)
{
	empty(&r->a->chan);
	empty(&r->b->chan);
}

static void test_call_data(void **state)
{
	struct rfx *r = *state;

	joined(r);
	/* A's bytes reach B as its stdin, on B's id. */
	assert_int_equal(gsend(r->a, BH_MSG_STDIN, CALL1, "abc", 3), 0);
	expect_to_guest(&r->b->chan, BH_MSG_STDIN, r->sid, "abc", 3);
	assert_int_equal(call_s(r)->guest_may_send.avail, W - C(3));
	/* B's output reaches A as STDOUT on A's id. */
	assert_int_equal(gsend(r->b, BH_MSG_STDOUT, r->sid, "xyz!", 4), 0);
	expect_to_guest(&r->a->chan, BH_MSG_STDOUT, CALL1, "xyz!", 4);
	assert_int_equal(svc_s(r)->guest_may_send.avail, W - C(4));
	/* B's stderr stays in B: dropped, its credit back to B with the
	 * round's other grants. */
	assert_int_equal(gsend(r->b, BH_MSG_STDERR, r->sid, "err", 3), 0);
	assert_int_equal(svc_s(r)->guest_may_send.avail, W - C(4));
	assert_int_equal(gsend(r->b, BH_MSG_STDERR, r->sid, NULL, 0), 0);
	quiet(r);
	/* A grants what it read: forwarded to B, which may send it again;
	 * not a byte more. */
	assert_int_equal(gsend_u32(r->a, BH_MSG_CREDIT, CALL1, C(4)), 0);
	assert_int_equal(svc_s(r)->guest_may_send.avail, W);
	assert_int_equal(gsend_u32(r->a, BH_MSG_CREDIT, CALL1, 1), -EPROTO);
	quiet(r);
	qs_flush_credit(r->b);
	expect_u32_to_guest(&r->b->chan, BH_MSG_CREDIT, r->sid,
			    C(3) + C(4));
	/* B grants what it read of A's bytes: forwarded to A. */
	assert_int_equal(gsend_u32(r->b, BH_MSG_CREDIT, r->sid, C(3)), 0);
	assert_int_equal(call_s(r)->guest_may_send.avail, W);
	assert_int_equal(gsend_u32(r->b, BH_MSG_CREDIT, r->sid, 1), -EPROTO);
	/* A grant of nothing is no grant. */
	assert_int_equal(gsend_u32(r->b, BH_MSG_CREDIT, r->sid, 0), -EPROTO);
	qs_flush_credit(r->a);
	expect_u32_to_guest(&r->a->chan, BH_MSG_CREDIT, CALL1, C(3));
	quiet(r);
	/* EOF both ways. */
	assert_int_equal(gsend(r->a, BH_MSG_STDIN, CALL1, NULL, 0), 0);
	expect_to_guest(&r->b->chan, BH_MSG_STDIN, r->sid, NULL, 0);
	assert_int_equal(call_s(r)->guest_eof, 1);
	assert_int_equal(svc_s(r)->input_eof, 1);
	assert_int_equal(gsend(r->b, BH_MSG_STDOUT, r->sid, NULL, 0), 0);
	expect_to_guest(&r->a->chan, BH_MSG_STDOUT, CALL1, NULL, 0);
	quiet(r);
	/* Data after EOF breaks the protocol, either way. */
	assert_int_equal(gsend(r->a, BH_MSG_STDIN, CALL1, "x", 1), -EPROTO);
	assert_int_equal(gsend(r->a, BH_MSG_STDIN, CALL1, NULL, 0), -EPROTO);
	assert_int_equal(gsend(r->b, BH_MSG_STDOUT, r->sid, "x", 1), -EPROTO);
	assert_int_equal(gsend(r->b, BH_MSG_STDOUT, r->sid, NULL, 0),
			 -EPROTO);
	assert_int_equal(gsend(r->b, BH_MSG_STDERR, r->sid, "x", 1), -EPROTO);
	quiet(r);
}

static void test_call_credit(void **state)
{
	struct rfx *r = *state;
	unsigned i;

	joined(r);
	/* A may send the window it was granted at the join... */
	for (i = 0; window_frame(i); i++)
		assert_int_equal(gsend(r->a, BH_MSG_STDIN, CALL1, r->big,
				       window_frame(i)),
				 0);
	assert_int_equal(call_s(r)->guest_may_send.avail, 0);
	/* ... and not a byte more. */
	assert_int_equal(gsend(r->a, BH_MSG_STDIN, CALL1, "x", 1), -EPROTO);
	for (i = 0; window_frame(i); i++)
		expect_to_guest(&r->b->chan, BH_MSG_STDIN, r->sid, r->big,
				window_frame(i));
	quiet(r);
	/* B's credit is A's: 1000 more, exactly, headers included. */
	assert_int_equal(gsend_u32(r->b, BH_MSG_CREDIT, r->sid, 1000), 0);
	qs_flush_credit(r->a);
	expect_u32_to_guest(&r->a->chan, BH_MSG_CREDIT, CALL1, 1000);
	assert_int_equal(gsend(r->a, BH_MSG_STDIN, CALL1, r->big, 989),
			 -EPROTO);
	assert_int_equal(gsend(r->a, BH_MSG_STDIN, CALL1, r->big, 988), 0);
	expect_to_guest(&r->b->chan, BH_MSG_STDIN, r->sid, r->big, 988);
	assert_int_equal(gsend(r->a, BH_MSG_STDIN, CALL1, "x", 1), -EPROTO);
	/* B may not grant more than it was sent. */
	assert_int_equal(gsend_u32(r->b, BH_MSG_CREDIT, r->sid, W + 1),
			 -EPROTO);
	assert_int_equal(gsend_u32(r->b, BH_MSG_CREDIT, r->sid, W), 0);
	assert_int_equal(gsend_u32(r->b, BH_MSG_CREDIT, r->sid, 1), -EPROTO);
	qs_flush_credit(r->a);
	expect_u32_to_guest(&r->a->chan, BH_MSG_CREDIT, CALL1, W);
	quiet(r);
	/* The other way: B's output within its window, then no more. */
	for (i = 0; window_frame(i); i++)
		assert_int_equal(gsend(r->b, BH_MSG_STDOUT, r->sid, r->big,
				       window_frame(i)),
				 0);
	assert_int_equal(gsend(r->b, BH_MSG_STDOUT, r->sid, "x", 1), -EPROTO);
	assert_int_equal(gsend(r->b, BH_MSG_STDERR, r->sid, "x", 1), -EPROTO);
	for (i = 0; window_frame(i); i++)
		expect_to_guest(&r->a->chan, BH_MSG_STDOUT, CALL1, r->big,
				window_frame(i));
	quiet(r);
	/* A that does not read its queue is not read itself; B, whose
	 * caller it is, still is: no qube is paused for another's sake. */
	fill_queue(r->a);
	assert_int_equal(qube_vm_readable(r->a, 1), 0);
	assert_int_equal(qube_vm_readable(r->b, 1), 1);
	r->a->chan.out_off = r->a->chan.out_len = 0;
	assert_int_equal(qube_vm_readable(r->a, 2), 1);
}

static void test_call_exit(void **state)
{
	struct rfx *r = *state;

	joined(r);
	assert_int_equal(gsend(r->b, BH_MSG_STDOUT, r->sid, "ok", 2), 0);
	/* The service ends: the caller gets its status on its id, both
	 * streams are gone, B (persistent) goes on. */
	assert_int_equal(gsend_u32x2(r->b, BH_MSG_EXIT, r->sid, BH_EXIT_CODE,
				     3),
			 0);
	expect_to_guest(&r->a->chan, BH_MSG_STDOUT, CALL1, "ok", 2);
	expect_exit_to_guest(&r->a->chan, CALL1, BH_EXIT_CODE, 3);
	assert_null(call_s(r));
	assert_null(svc_s(r));
	assert_int_equal(live_streams(r->a) + live_streams(r->b), 0);
	assert_int_equal(r->b->state, DV_RUNNING);
	assert_int_equal(r->b->have_exit, 0);
	quiet(r);
	/* A's frames still on the way for the ended call are ignored; B's
	 * for its ended stream break the protocol. */
	assert_int_equal(gsend(r->a, BH_MSG_STDIN, CALL1, "late", 4), 0);
	assert_int_equal(gsend(r->a, BH_MSG_STDIN, CALL1, NULL, 0), 0);
	assert_int_equal(gsend_u32(r->a, BH_MSG_CREDIT, CALL1, 2), 0);
	assert_int_equal(gsend(r->b, BH_MSG_STDOUT, r->sid, "x", 1), -EPROTO);
	assert_int_equal(gsend_u32(r->b, BH_MSG_CREDIT, r->sid, 1), -EPROTO);
	assert_int_equal(gsend_u32x2(r->b, BH_MSG_EXIT, r->sid, BH_EXIT_CODE,
				     0),
			 -EPROTO);
	quiet(r);
}

static void test_call_wrong_direction(void **state)
{
	struct rfx *r = *state;
	uint32_t kind = 0, value = 0;
	struct bh_frame_hdr h = { BH_MSG_STDOUT, CALL1, 1 };

	joined(r);
	/* The caller sends STDIN and nothing else of the data types; the
	 * service never sends STDIN; only the service ends the call. */
	assert_int_equal(gsend(r->a, BH_MSG_STDOUT, CALL1, "x", 1), -EPROTO);
	assert_int_equal(gsend(r->a, BH_MSG_STDERR, CALL1, "x", 1), -EPROTO);
	assert_int_equal(gsend_u32x2(r->a, BH_MSG_EXIT, CALL1, BH_EXIT_CODE,
				     0),
			 -EPROTO);
	assert_int_equal(gsend(r->b, BH_MSG_STDIN, r->sid, "x", 1), -EPROTO);
	/* qs_guest_frame's own check, behind the header check. */
	assert_int_equal(qs_guest_frame(r->a, &h, (const uint8_t *)"x", &kind,
					&value),
			 -EPROTO);
	h.type = BH_MSG_EXIT;
	h.len = 8;
	assert_int_equal(qs_guest_frame(r->a, &h, (const uint8_t *)"\0\0\0\0"
							       "\0\0\0\0",
					&kind, &value),
			 -EPROTO);
	h.type = BH_MSG_STDIN;
	h.stream = r->sid;
	h.len = 1;
	assert_int_equal(qs_guest_frame(r->b, &h, (const uint8_t *)"x", &kind,
					&value),
			 -EPROTO);
	/* Nothing moved. */
	assert_int_equal(call_s(r)->guest_may_send.avail, W);
	assert_int_equal(svc_s(r)->guest_may_send.avail, W);
	assert_int_equal(call_s(r)->guest_eof, 0);
	quiet(r);
	/* A second CALL on a live id breaks the protocol. */
	assert_int_equal(gsend(r->a, BH_MSG_CALL, CALL1, "x", 1), -EPROTO);
	assert_ptr_equal(call_s(r)->peer, r->b);
	quiet(r);
}

static void test_call_target_gone(void **state)
{
	struct rfx *r = *state;

	joined(r);
	assert_int_equal(gsend(r->a, BH_MSG_STDIN, CALL1, "abc", 3), 0);
	expect_to_guest(&r->b->chan, BH_MSG_STDIN, r->sid, "abc", 3);
	/* B stops: A's call ends with 125 (NOSTART OTHER). */
	qs_qube_gone(r->b, "it was killed");
	expect_exit_to_guest(&r->a->chan, CALL1, BH_EXIT_NOSTART,
			     BH_NOSTART_OTHER);
	assert_null(call_s(r));
	assert_int_equal(live_streams(r->b), 0);
	quiet(r);
	/* The rest of A's bytes are ignored. */
	assert_int_equal(gsend(r->a, BH_MSG_STDIN, CALL1, "d", 1), 0);
	assert_int_equal(gsend_u32(r->a, BH_MSG_CREDIT, CALL1, 1), 0);
	quiet(r);
}

static void test_call_caller_gone(void **state)
{
	struct rfx *r = *state;
	struct qstream *ss;

	joined(r);
	/* A stops: B's service gets EOF on its input, its output is
	 * dropped with credit given back, and its EXIT goes nowhere. */
	qs_qube_gone(r->a, "it was killed");
	assert_int_equal(live_streams(r->a), 0);
	ss = svc_s(r);
	assert_non_null(ss);
	assert_null(ss->peer);
	assert_int_equal(ss->peer_id, 0);
	assert_int_equal(ss->input_eof, 1);
	expect_to_guest(&r->b->chan, BH_MSG_STDIN, r->sid, NULL, 0);
	quiet(r);
	assert_int_equal(gsend(r->b, BH_MSG_STDOUT, r->sid, r->big, MAXP), 0);
	assert_int_equal(ss->guest_may_send.avail, W);
	qs_flush_credit(r->b);
	expect_u32_to_guest(&r->b->chan, BH_MSG_CREDIT, r->sid, C(MAXP));
	/* Credit from B for input nobody sends is ignored. */
	assert_int_equal(gsend_u32(r->b, BH_MSG_CREDIT, r->sid, 1), 0);
	assert_int_equal(gsend_u32x2(r->b, BH_MSG_EXIT, r->sid, BH_EXIT_CODE,
				     0),
			 0);
	assert_null(svc_s(r));
	quiet(r);
}

static void test_call_caller_gone_after_eof(void **state)
{
	struct rfx *r = *state;

	joined(r);
	assert_int_equal(gsend(r->a, BH_MSG_STDIN, CALL1, NULL, 0), 0);
	expect_to_guest(&r->b->chan, BH_MSG_STDIN, r->sid, NULL, 0);
	/* No second EOF. */
	qs_qube_gone(r->a, "it stopped");
	assert_null(svc_s(r)->peer);
	quiet(r);
}

static void test_call_unknown_streams(void **state)
{
	struct rfx *r = *state;

	joined(r);
	/* A guest stream nobody knows: ignored. A host stream nobody
	 * opened: the protocol is broken. */
	assert_int_equal(gsend(r->a, BH_MSG_STDIN, CALL2, "x", 1), 0);
	assert_int_equal(gsend_u32(r->a, BH_MSG_CREDIT, CALL2, 1), 0);
	assert_int_equal(gsend_u32(r->b, BH_MSG_CREDIT, CALL2, 1), 0);
	assert_int_equal(gsend(r->b, BH_MSG_STDOUT, r->sid + 1, "x", 1),
			 -EPROTO);
	assert_int_equal(gsend_u32(r->b, BH_MSG_CREDIT, r->sid + 1, 1),
			 -EPROTO);
	assert_int_equal(gsend_u32(r->a, BH_MSG_CREDIT, 77, 1), -EPROTO);
	/* A's id means nothing in B, nor B's in A. */
	assert_int_equal(gsend(r->b, BH_MSG_STDIN, CALL1, "x", 1), 0);
	assert_int_equal(gsend(r->a, BH_MSG_STDOUT, r->sid, "x", 1), -EPROTO);
	quiet(r);
	assert_int_equal(call_s(r)->guest_may_send.avail, W);
	assert_int_equal(svc_s(r)->guest_may_send.avail, W);
}

static void test_call_start_service_bad(void **state)
{
	struct rfx *r = *state;

	/* No such call in A: B gets nothing. */
	assert_int_equal(qs_start_service(r->b, &r->svc, r->a, CALL1, NULL),
			 -ENOENT);
	assert_int_equal(live_streams(r->b), 0);
	/* A request that does not encode. */
	assert_non_null(qs_new(r->a, CALL1, QS_CALL));
	snprintf(r->svc.service, sizeof(r->svc.service), "bad/name");
	assert_int_equal(qs_start_service(r->b, &r->svc, r->a, CALL1, NULL),
			 -EPROTO);
	assert_int_equal(live_streams(r->b), 0);
	assert_null(call_s(r)->peer);
	quiet(r);
}

/* Two calls from A to B at once, on two ids: kept apart. */
static void test_call_two_at_once(void **state)
{
	struct rfx *r = *state;
	uint32_t sid1, sid2;

	joined(r);
	sid1 = r->sid;
	assert_non_null(qs_new(r->a, CALL2, QS_CALL));
	assert_int_equal(qs_start_service(r->b, &r->svc, r->a, CALL2, NULL),
			 0);
	sid2 = expect_service(r, r->b);
	assert_true(sid2 != sid1);
	expect_u32_to_guest(&r->a->chan, BH_MSG_CREDIT, CALL2, W);
	assert_int_equal(gsend(r->a, BH_MSG_STDIN, CALL2, "2", 1), 0);
	assert_int_equal(gsend(r->a, BH_MSG_STDIN, CALL1, "1", 1), 0);
	expect_to_guest(&r->b->chan, BH_MSG_STDIN, sid2, "2", 1);
	expect_to_guest(&r->b->chan, BH_MSG_STDIN, sid1, "1", 1);
	assert_int_equal(gsend(r->b, BH_MSG_STDOUT, sid1, "one", 3), 0);
	assert_int_equal(gsend(r->b, BH_MSG_STDOUT, sid2, "two", 3), 0);
	expect_to_guest(&r->a->chan, BH_MSG_STDOUT, CALL1, "one", 3);
	expect_to_guest(&r->a->chan, BH_MSG_STDOUT, CALL2, "two", 3);
	assert_int_equal(gsend_u32x2(r->b, BH_MSG_EXIT, sid2, BH_EXIT_CODE,
				     0),
			 0);
	expect_exit_to_guest(&r->a->chan, CALL2, BH_EXIT_CODE, 0);
	assert_null(qs_find(r->a, CALL2));
	assert_non_null(qs_find(r->a, CALL1));
	assert_int_equal(gsend(r->a, BH_MSG_STDIN, CALL1, "x", 1), 0);
	expect_to_guest(&r->b->chan, BH_MSG_STDIN, sid1, "x", 1);
	quiet(r);
}

/* A call into a disposable made for it: the service is its job. */
static void test_call_into_disposable(void **state)
{
	struct rfx *r = *state;
	struct qube_vm *t = new_qube(r->d, "disp7", 0);

	assert_non_null(t);
	t->state = DV_RUNNING;
	assert_non_null(qs_new(r->a, CALL1, QS_CALL));
	assert_int_equal(qs_start_service(t, &r->svc, r->a, CALL1, NULL), 0);
	r->sid = expect_service(r, t);
	t->job_stream = r->sid; /* as rpc.c's join */
	expect_u32_to_guest(&r->a->chan, BH_MSG_CREDIT, CALL1, W);
	assert_int_equal(gsend(t, BH_MSG_STDOUT, r->sid, "hi", 2), 0);
	expect_to_guest(&r->a->chan, BH_MSG_STDOUT, CALL1, "hi", 2);
	assert_int_equal(gsend_u32x2(t, BH_MSG_EXIT, r->sid, BH_EXIT_SIGNAL,
				     9),
			 0);
	expect_exit_to_guest(&r->a->chan, CALL1, BH_EXIT_SIGNAL, 9);
	assert_null(call_s(r));
	/* The disposable's end. */
	assert_int_equal(t->have_exit, 1);
	assert_int_equal(t->state, DV_STOPPING);
	expect_to_guest(&t->chan, BH_MSG_POWEROFF, 0, NULL, 0);
	empty(&t->chan);
	quiet(r);
}

/* The router, as far as it goes without a store. */
static void test_call_route(void **state)
{
	struct rfx *r = *state;
	struct qstream *cs;
	uint64_t old_gen;

	/* A call the policy allowed to "vault" (rpc_call_opened's part up
	 * to the policy, done by hand): joined at once. */
	cs = qs_new(r->a, CALL1, QS_CALL);
	assert_non_null(cs);
	cs->svc = calloc(1, sizeof(*cs->svc));
	assert_non_null(cs->svc);
	*cs->svc = r->svc;
	rpc_route(r->a, CALL1, gen_of(r->a, CALL1), "vault", 0);
	r->sid = expect_service(r, r->b);
	expect_u32_to_guest(&r->a->chan, BH_MSG_CREDIT, CALL1, W);
	assert_null(call_s(r)->svc);
	assert_int_equal(call_s(r)->peer_id, r->sid);
	quiet(r);

	/* To the host: no services there. */
	cs = qs_new(r->a, CALL2, QS_CALL);
	cs->svc = calloc(1, sizeof(*cs->svc));
	*cs->svc = r->svc;
	rpc_route(r->a, CALL2, gen_of(r->a, CALL2), "dom0", 0);
	expect_exit_to_guest(&r->a->chan, CALL2, BH_EXIT_NOSTART,
			     BH_NOSTART_NOTFOUND);
	assert_null(qs_find(r->a, CALL2));
	/* To a qube that is not running (no autostart). */
	cs = qs_new(r->a, CALL2, QS_CALL);
	cs->svc = calloc(1, sizeof(*cs->svc));
	*cs->svc = r->svc;
	rpc_route(r->a, CALL2, gen_of(r->a, CALL2), "nosuch", 0);
	expect_exit_to_guest(&r->a->chan, CALL2, BH_EXIT_NOSTART,
			     BH_NOSTART_OTHER);
	/* To a paused one. */
	r->b->paused = 1;
	cs = qs_new(r->a, CALL2, QS_CALL);
	cs->svc = calloc(1, sizeof(*cs->svc));
	*cs->svc = r->svc;
	rpc_route(r->a, CALL2, gen_of(r->a, CALL2), "vault", 0);
	expect_exit_to_guest(&r->a->chan, CALL2, BH_EXIT_NOSTART,
			     BH_NOSTART_OTHER);
	r->b->paused = 0;
	/* Refused (after the user said no). */
	cs = qs_new(r->a, CALL2, QS_CALL);
	cs->svc = calloc(1, sizeof(*cs->svc));
	*cs->svc = r->svc;
	old_gen = cs->gen;
	rpc_refuse(r->a, CALL2, old_gen);
	expect_exit_to_guest(&r->a->chan, CALL2, BH_EXIT_REFUSED, 0);
	assert_null(qs_find(r->a, CALL2));
	/* A route for a call that is gone does nothing. */
	rpc_route(r->a, CALL2, old_gen, "vault", 0);
	rpc_refuse(r->a, CALL2, old_gen);
	quiet(r);
	assert_int_equal(live_streams(r->b), 1);
	/* Nor for the same id opened again: a late answer meant for the
	 * first call neither routes nor ends the second. */
	cs = qs_new(r->a, CALL2, QS_CALL);
	assert_non_null(cs);
	cs->svc = calloc(1, sizeof(*cs->svc));
	assert_non_null(cs->svc);
	*cs->svc = r->svc;
	assert_true(cs->gen != old_gen);
	rpc_route(r->a, CALL2, old_gen, "vault", 0);
	rpc_refuse(r->a, CALL2, old_gen);
	quiet(r);
	assert_ptr_equal(qs_find(r->a, CALL2), cs);
	assert_null(cs->peer);
	assert_non_null(cs->svc);
	assert_int_equal(live_streams(r->b), 1);
	/* A refusal never ends a joined call. */
	rpc_refuse(r->a, CALL1, gen_of(r->a, CALL1));
	quiet(r);
	assert_int_equal(call_s(r)->peer_id, r->sid);
}

static void test_call_waits_for_boot(void **state)
{
	struct rfx *r = *state;
	struct qstream *cs;

	/* The target boots: the call waits, with no credit, and is joined
	 * when the target is ready. */
	r->b->state = DV_BOOTING;
	cs = qs_new(r->a, CALL1, QS_CALL);
	cs->svc = calloc(1, sizeof(*cs->svc));
	assert_non_null(cs->svc);
	*cs->svc = r->svc;
	rpc_route(r->a, CALL1, gen_of(r->a, CALL1), "vault", 0);
	quiet(r);
	assert_ptr_equal(cs->peer, r->b);
	assert_int_equal(cs->peer_id, 0);
	assert_int_equal(gsend(r->a, BH_MSG_STDIN, CALL1, "x", 1), -EPROTO);
	assert_int_equal(gsend_u32(r->a, BH_MSG_CREDIT, CALL1, 1), 0);
	r->b->state = DV_RUNNING;
	rpc_target_ready(r->b);
	r->sid = expect_service(r, r->b);
	expect_u32_to_guest(&r->a->chan, BH_MSG_CREDIT, CALL1, W);
	assert_int_equal(cs->peer_id, r->sid);
	quiet(r);
}

static void test_call_target_gone_while_booting(void **state)
{
	struct rfx *r = *state;
	struct qstream *cs;

	r->b->state = DV_BOOTING;
	cs = qs_new(r->a, CALL1, QS_CALL);
	cs->svc = calloc(1, sizeof(*cs->svc));
	assert_non_null(cs->svc);
	*cs->svc = r->svc;
	rpc_route(r->a, CALL1, gen_of(r->a, CALL1), "vault", 0);
	qs_qube_gone(r->b, "it did not boot");
	expect_exit_to_guest(&r->a->chan, CALL1, BH_EXIT_NOSTART,
			     BH_NOSTART_OTHER);
	assert_null(call_s(r));
	quiet(r);
}

/* Queues frames toward dv until its queue refuses more (past
 * DISPVM_CHAN_OUT_MAX): a guest that floods calls it does not read the
 * answers of. */
static void fill_queue_to_cap(struct qube_vm *dv)
{
	static uint8_t junk[64];

	while (bh_chan_send(&dv->chan, BH_MSG_STDOUT, 0x7777, junk,
			    sizeof(junk)) == 0)
		;
	while (bh_chan_send(&dv->chan, BH_MSG_STDOUT, 0x7777, junk, 1) == 0)
		;
}

/* Attack 1 (issue 11): the caller's queue is full when its call is
 * joined, so the CREDIT that opens the call does not fit. The call ends
 * (its stream freed), the service gets EOF, and nothing touches the
 * freed stream (ASan watches). */
static void test_call_join_caller_queue_full(void **state)
{
	struct rfx *r = *state;
	struct qstream *cs, *ss;

	cs = qs_new(r->a, CALL1, QS_CALL);
	assert_non_null(cs);
	assert_non_null(cs->svc = calloc(1, sizeof(*cs->svc)));
	*cs->svc = r->svc;
	fill_queue_to_cap(r->a);
	rpc_route(r->a, CALL1, cs->gen, "vault", 0);
	assert_null(call_s(r));
	r->sid = expect_service(r, r->b);
	expect_to_guest(&r->b->chan, BH_MSG_STDIN, r->sid, NULL, 0);
	ss = svc_s(r);
	assert_non_null(ss);
	assert_null(ss->peer);
	assert_int_equal(ss->peer_id, 0);
	empty(&r->b->chan);
	/* The same through qs_start_service: it says so. */
	cs = qs_new(r->a, CALL2, QS_CALL);
	assert_non_null(cs);
	assert_int_equal(qs_start_service(r->b, &r->svc, r->a, CALL2, NULL),
			 -EPIPE);
	assert_null(qs_find(r->a, CALL2));
	/* A's late frames for the ended calls are ignored. */
	assert_int_equal(gsend(r->a, BH_MSG_STDIN, CALL1, NULL, 0), 0);
	assert_int_equal(gsend_u32(r->a, BH_MSG_CREDIT, CALL2, 1), 0);
}

/* Attack 1 through a disposable: the call waits for a disposable to
 * boot and the caller's queue is full when it is ready. The disposable,
 * whose only call is gone, powers off; nothing else is touched. */
static void test_call_into_booting_disposable_queue_full(void **state)
{
	struct rfx *r = *state;
	struct qube_vm *t = new_qube(r->d, "disp9", 0);
	struct qstream *cs;

	assert_non_null(t);
	cs = qs_new(r->a, CALL1, QS_CALL);
	assert_non_null(cs);
	assert_non_null(cs->svc = calloc(1, sizeof(*cs->svc)));
	*cs->svc = r->svc;
	cs->peer = t; /* as route_to leaves a call for a booting target */
	fill_queue_to_cap(r->a);
	t->state = DV_RUNNING;
	rpc_target_ready(t);
	assert_null(call_s(r));
	assert_int_equal(t->job_stream, 0);
	assert_int_equal(t->state, DV_STOPPING);
}

/* Attack 3 (issue 11): a caller that does not read what its service
 * sends is not read itself once its queue is over the pause mark; the
 * service is still read, and may send no more than its window: the
 * caller's queue holds at most one window for that call. */
static void test_call_unread_caller_bounds_service(void **state)
{
	struct rfx *r = *state;
	size_t before;
	unsigned i;

	joined(r);
	before = bh_chan_pending(&r->a->chan);
	for (i = 0; window_frame(i); i++)
		assert_int_equal(gsend(r->b, BH_MSG_STDOUT, r->sid, r->big,
				       window_frame(i)),
				 0);
	assert_int_equal(gsend(r->b, BH_MSG_STDOUT, r->sid, "x", 1), -EPROTO);
	assert_true(bh_chan_pending(&r->a->chan) - before <= W);
	assert_int_equal(qube_vm_readable(r->b, 1), 1);
	/* A's other business goes on: its own call's data still reach B. */
	assert_int_equal(gsend(r->a, BH_MSG_STDIN, CALL1, "abc", 3), 0);
	expect_to_guest(&r->b->chan, BH_MSG_STDIN, r->sid, "abc", 3);
}

/* Calls the daemon refuses before asking the policy (safe with no
 * store; a request that parses would reach policy_system_load, which
 * would dereference d->store == NULL: not done here). */
static void test_call_refused_malformed(void **state)
{
	struct rfx *r = *state;
	static const struct {
		const char *p;
		uint32_t len;
	} bad[] = {
		{ "vault", 5 },                 /* no NUL */
		{ "vault\0svc", 9 },            /* no final NUL */
		{ "vault\0svc\0x", 11 },        /* bytes after */
		{ "\0svc\0", 5 },               /* no target */
		{ "vault\0\0", 7 },             /* no service */
		{ "vault\0bad/svc\0", 14 },     /* a / in the service */
		{ "-vault\0svc\0", 11 },        /* not a qube name */
		{ "vault\0svc+a b\0", 14 },     /* a space in the argument */
		{ "\0", 1 },
	};
	size_t i;

	for (i = 0; i < ARRAY_LEN(bad); i++) {
		uint32_t id = BH_STREAM_GUEST_BIT | (uint32_t)(10 + i);

		struct bh_call_req cr;

		print_message("request %zu\n", i);
		/* Never one that parses: that would reach the store. */
		assert_int_equal(bh_call_req_parse((const uint8_t *)bad[i].p,
						   bad[i].len, &cr),
				 -EPROTO);
		assert_int_equal(gsend(r->a, BH_MSG_CALL, id, bad[i].p,
				       bad[i].len),
				 0);
		expect_exit_to_guest(&r->a->chan, id, BH_EXIT_REFUSED, 0);
		assert_null(qs_find(r->a, id));
		/* The id is free again (ignored meanwhile). */
		assert_int_equal(gsend(r->a, BH_MSG_STDIN, id, NULL, 0), 0);
	}
	/* Frame-level: an empty request, or on a host id. */
	assert_int_equal(gsend(r->a, BH_MSG_CALL, CALL1, "", 0), -EPROTO);
	assert_int_equal(gsend(r->a, BH_MSG_CALL, 5, "\0", 1), -EPROTO);
	assert_int_equal(gsend(r->a, BH_MSG_CALL, 0, "\0", 1), -EPROTO);
	assert_int_equal(live_streams(r->a) + live_streams(r->b), 0);
	quiet(r);
	assert_null(r->d->store);
}

/* ---- tail_escaped ---- */

static char tmpdir[64];

static int tail_group_setup(void **state)
{
	strcpy(tmpdir, "/tmp/bh-test-tail-XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int tail_group_teardown(void **state)
{
	return bh_rm_rf(tmpdir) < 0 ? -1 : 0;
}

static void write_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(bh_write_all(fd, data, len), 0);
	assert_int_equal(close(fd), 0);
}

/* The escaping the user should see: printable ASCII and newlines as they
 * are, carriage returns dropped, every other byte as \xNN. */
static size_t escape_ref(const uint8_t *in, size_t len, char *out)
{
	size_t i, o = 0;

	for (i = 0; i < len; i++) {
		if (in[i] == '\n' || (in[i] >= 0x20 && in[i] < 0x7f))
			out[o++] = (char)in[i];
		else if (in[i] != '\r')
			o += (size_t)sprintf(out + o, "\\x%02x", in[i]);
	}
	out[o] = '\0';
	return o;
}

static void assert_terminal_safe(const char *s)
{
	const unsigned char *p;

	for (p = (const unsigned char *)s; *p; p++) {
		if (*p == '\n')
			continue;
		if (*p < 0x20 || *p >= 0x7f)
			fail_msg("byte 0x%02x at %td", *p,
				 (const char *)p - s);
	}
}

static size_t count_char(const char *s, char c)
{
	size_t n = 0;

	for (; *s; s++)
		n += *s == c;
	return n;
}

/* 30 lines of console log with hostile bytes in the first and last. */
static size_t hostile_log(uint8_t *buf, size_t *start_of_16)
{
	size_t off = 0;
	int i;

	for (i = 1; i <= 30; i++) {
		if (i == 16)
			*start_of_16 = off;
		off += (size_t)sprintf((char *)buf + off, "line %02d ", i);
		switch (i % 5) {
		case 0: /* clear screen, set the title, colours */
			off += (size_t)sprintf((char *)buf + off,
					       "\x1b[2J\x1b]0;owned\x07"
					       "\x1b[31mred\x1b[0m");
			break;
		case 1: /* a NUL and 0xff, 0x7f and an 8-bit CSI */
			buf[off++] = 0x00;
			buf[off++] = 0xff;
			buf[off++] = 0x7f;
			buf[off++] = 0x9b;
			buf[off++] = 'k';
			break;
		case 2: /* a carriage return to overwrite the line */
			off += (size_t)sprintf((char *)buf + off,
					       "secret\rfake ok\t!");
			break;
		case 3:
			off += (size_t)sprintf((char *)buf + off,
					       "\x08\x08\x08 backspaces\x0b");
			break;
		default:
			off += (size_t)sprintf((char *)buf + off, "plain text");
			break;
		}
		buf[off++] = '\r';
		buf[off++] = '\n';
	}
	return off;
}

static void test_tail_hostile(void **state)
{
	char path[128], out[4096], want[4096];
	uint8_t log[4096];
	size_t len, s16 = 0;

	snprintf(path, sizeof(path), "%s/console.log", tmpdir);
	len = hostile_log(log, &s16);
	write_file(path, log, len);
	tail_escaped(path, 15, out, sizeof(out));
	escape_ref(log + s16, len - s16, want);
	assert_string_equal(out, want);
	assert_int_equal(count_char(out, '\n'), 15);
	assert_terminal_safe(out);
	assert_true(!strncmp(out, "line 16 ", 8));
	assert_null(strstr(out, "line 15"));
	assert_non_null(strstr(out, "\\x1b[2J"));
	assert_non_null(strstr(out, "\\x00\\xff\\x7f\\x9bk"));
	assert_non_null(strstr(out, "secretfake ok\\x09!"));
}

static void test_tail_no_final_newline(void **state)
{
	char path[128], out[4096], want[4096];
	uint8_t log[4096];
	size_t len, s16 = 0;

	snprintf(path, sizeof(path), "%s/console.log", tmpdir);
	len = hostile_log(log, &s16);
	len -= 2; /* no "\r\n" after line 30 */
	write_file(path, log, len);
	tail_escaped(path, 15, out, sizeof(out));
	escape_ref(log + s16, len - s16, want);
	assert_string_equal(out, want);
	assert_int_equal(count_char(out, '\n'), 14);
	assert_true(!strncmp(out, "line 16 ", 8));
	assert_terminal_safe(out);
}

static void test_tail_short_and_empty(void **state)
{
	char path[128], out[256];
	static const char three[] = "one\ntwo\nthree\n";

	snprintf(path, sizeof(path), "%s/short.log", tmpdir);
	write_file(path, three, strlen(three));
	tail_escaped(path, 15, out, sizeof(out));
	assert_string_equal(out, three);
	tail_escaped(path, 2, out, sizeof(out));
	assert_string_equal(out, "two\nthree\n");
	tail_escaped(path, 1, out, sizeof(out));
	assert_string_equal(out, "three\n");

	write_file(path, "", 0);
	memset(out, 'x', sizeof(out));
	tail_escaped(path, 15, out, sizeof(out));
	assert_string_equal(out, "");

	/* Blank lines count as lines. */
	write_file(path, "a\n\n\nb\n", 6);
	tail_escaped(path, 3, out, sizeof(out));
	assert_string_equal(out, "\n\nb\n");

	snprintf(path, sizeof(path), "%s/does-not-exist.log", tmpdir);
	memset(out, 'x', sizeof(out));
	tail_escaped(path, 15, out, sizeof(out));
	assert_string_equal(out, "");
}

static void test_tail_small_buffer(void **state)
{
	char path[128], full[4096], want[4096];
	uint8_t log[4096];
	size_t len, s16 = 0, cap;

	snprintf(path, sizeof(path), "%s/console.log", tmpdir);
	len = hostile_log(log, &s16);
	write_file(path, log, len);
	escape_ref(log + s16, len - s16, want);
	tail_escaped(path, 15, full, sizeof(full));
	assert_string_equal(full, want);
	/* Every capacity: terminated within it, a prefix of the whole, no
	 * escape cut in half (ASan catches writes past cap). */
	for (cap = 1; cap < strlen(want) + 8; cap++) {
		char *out = malloc(cap);
		size_t n;

		assert_non_null(out);
		tail_escaped(path, 15, out, cap);
		n = strlen(out);
		assert_true(n < cap);
		assert_memory_equal(out, want, n);
		assert_terminal_safe(out);
		if (n >= 1 && out[n - 1] == '\\')
			fail_msg("escape cut at cap %zu", cap);
		if (n >= 2 && out[n - 2] == '\\' && out[n - 1] == 'x')
			fail_msg("escape cut at cap %zu", cap);
		free(out);
	}
}

/* A guest can make its console log as long as it likes before the daemon
 * gives up on it: the tail must still be the tail. */
static void test_tail_huge_log(void **state)
{
	enum { SIZE = 3 << 20 };
	char path[128], out[4096], want[4096];
	char *big = malloc(SIZE);
	size_t off = 0, tail_start = 0;
	int line = 0;

	assert_non_null(big);
	while (off < SIZE - 200) {
		line++;
		off += (size_t)sprintf(big + off,
				       "[%8d.000000] kernel chatter %d\n", line,
				       line);
	}
	/* Where the last 15 lines begin. */
	{
		int seen = 0;
		size_t i = off - 1;

		while (i > 0) {
			if (big[i - 1] == '\n' && ++seen == 15)
				break;
			i--;
		}
		tail_start = i;
	}
	snprintf(path, sizeof(path), "%s/huge.log", tmpdir);
	write_file(path, big, off);
	memcpy(want, big + tail_start, off - tail_start);
	want[off - tail_start] = '\0';
	tail_escaped(path, 15, out, sizeof(out));
	free(big);
	assert_int_equal(count_char(out, '\n'), 15);
	assert_string_equal(out, want);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)
		T(test_hello),
		T(test_hello_bad),
		T(test_hello_twice),
		T(test_before_hello),
		T(test_wrong_stream),
		T(test_forwarded),
		T(test_stdout_credit),
		T(test_credit_shared),
		T(test_after_eof),
		T(test_stdin_credit),
		T(test_exit_bad),
		T(test_exit_ok),
		T(test_exit_edges),
		T(test_after_exit),
		T(test_foreign_types),
		T(test_client_gone),
		T(test_client_gone_disposable),
		T(test_client_gone_booting),
#undef T
	};
	const struct CMUnitTest persistent_tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, pfx_setup, pfx_teardown)
		T(test_persistent_two_runs),
		T(test_persistent_exit_order),
		T(test_persistent_qube_gone),
		T(test_stream_table_full),
#undef T
	};
	const struct CMUnitTest call_tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, rfx_setup, rfx_teardown)
		T(test_call_data),
		T(test_call_credit),
		T(test_call_exit),
		T(test_call_wrong_direction),
		T(test_call_target_gone),
		T(test_call_caller_gone),
		T(test_call_caller_gone_after_eof),
		T(test_call_unknown_streams),
		T(test_call_start_service_bad),
		T(test_call_two_at_once),
		T(test_call_into_disposable),
		T(test_call_route),
		T(test_call_waits_for_boot),
		T(test_call_target_gone_while_booting),
		T(test_call_refused_malformed),
		T(test_call_join_caller_queue_full),
		T(test_call_into_booting_disposable_queue_full),
		T(test_call_unread_caller_bounds_service),
#undef T
	};
	const struct CMUnitTest tail_tests[] = {
		cmocka_unit_test(test_tail_hostile),
		cmocka_unit_test(test_tail_no_final_newline),
		cmocka_unit_test(test_tail_short_and_empty),
		cmocka_unit_test(test_tail_small_buffer),
		cmocka_unit_test(test_tail_huge_log),
	};
	int r;

	signal(SIGPIPE, SIG_IGN);
	/* "ready after 0 ms" and the router's refusals are noise. */
	bh_log_set_level(BH_LOG_ERR);
	r = cmocka_run_group_tests_name("host_frames", tests, NULL, NULL);
	r += cmocka_run_group_tests_name("persistent_streams",
					 persistent_tests, NULL, NULL);
	r += cmocka_run_group_tests_name("calls", call_tests, NULL, NULL);
	r += cmocka_run_group_tests_name("tail_escaped", tail_tests,
					 tail_group_setup,
					 tail_group_teardown);
	return r;
}

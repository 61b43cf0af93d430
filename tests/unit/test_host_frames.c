/* Unit tests of the daemon's checks on frames from a (hostile) guest:
 * dispvm_handle_agent_frame in src/daemon/dispvm.c, on a struct dispvm
 * built by hand with no QEMU behind it, and tail_escaped, which shows the
 * user the end of guest-written logs. */
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

#include "daemon/client.h"
#include "daemon/daemon.h"
#include "daemon/dispvm.h"
#include "lib/log.h"
#include "lib/util.h"
#include "proto/exec_req.h"
#include "proto/frame.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define W BH_STREAM_WINDOW
#define MAXP BH_FRAME_MAX_PAYLOAD
#define BIG_QUEUE (64u << 20)

struct fx {
	struct daemon *d;
	struct dispvm *dv;
	struct client *c;
	uint8_t req[256];
	int req_len;
	uint8_t *big; /* MAXP bytes of payload */
};

static int fx_setup(void **state)
{
	static char *const argv[] = { "/bin/echo", "hello", "world", NULL };
	static char *const envp[] = { "LANG=C", NULL };
	struct fx *f = calloc(1, sizeof(*f));
	size_t i;

	if (!f)
		return -1;
	f->d = calloc(1, sizeof(*f->d));
	f->dv = calloc(1, sizeof(*f->dv));
	f->c = calloc(1, sizeof(*f->c));
	f->big = malloc(MAXP);
	if (!f->d || !f->dv || !f->c || !f->big)
		return -1;
	for (i = 0; i < MAXP; i++)
		f->big[i] = (uint8_t)(i * 31u + (i >> 9));
	f->req_len = bh_exec_req_encode(f->req, sizeof(f->req), argv, envp);
	if (f->req_len <= 0)
		return -1;

	f->d->boot_timeout_ms = DEFAULT_BOOT_TIMEOUT_MS;
	f->d->dispvms = f->dv;
	f->dv->d = f->d;
	snprintf(f->dv->name, sizeof(f->dv->name), "disp1");
	f->dv->state = DV_BOOTING;
	f->dv->vm_alive = 1;
	f->dv->vm.pid = -1; /* never signalled: nothing here kills */
	f->dv->vm.chan_fd = f->dv->vm.qmp_fd = -1;
	f->dv->started_ms = bh_now_ms();
	f->dv->deadline_ms = f->dv->started_ms + DEFAULT_BOOT_TIMEOUT_MS;
	f->dv->agent_may_send.avail = W;
	f->dv->client_may_send.avail = W;
	f->dv->exec_req = malloc((size_t)f->req_len);
	if (!f->dv->exec_req)
		return -1;
	memcpy(f->dv->exec_req, f->req, (size_t)f->req_len);
	f->dv->exec_len = (uint32_t)f->req_len;
	bh_chan_init(&f->dv->chan, -1, BIG_QUEUE);
	qmp_init(&f->dv->qmp, -1);

	f->c->d = f->d;
	/* The client's real limit: a whole window of output must fit. */
	bh_chan_init(&f->c->chan, -1, CLIENT_OUT_MAX);
	f->c->dv = f->dv;
	f->dv->client = f->c;
	f->d->clients = f->c;
	*state = f;
	return 0;
}

static int fx_teardown(void **state)
{
	struct fx *f = *state;

	bh_chan_free(&f->dv->chan);
	bh_chan_free(&f->c->chan);
	free(f->dv->exec_req);
	free(f->dv);
	free(f->c);
	free(f->d);
	free(f->big);
	free(f);
	return 0;
}

/* One frame from the guest. */
static int guest(struct fx *f, uint32_t type, uint32_t stream,
		 const void *payload, uint32_t len)
{
	struct bh_frame_hdr h = { type, stream, len };

	return dispvm_handle_agent_frame(f->dv, &h, payload);
}

static int guest_u32(struct fx *f, uint32_t type, uint32_t stream,
		     uint32_t v)
{
	uint8_t p[4];

	bh_put_u32(p, v);
	return guest(f, type, stream, p, 4);
}

static int guest_u32x2(struct fx *f, uint32_t type, uint32_t stream,
		       uint32_t a, uint32_t b)
{
	uint8_t p[8];

	bh_put_u32(p, a);
	bh_put_u32(p + 4, b);
	return guest(f, type, stream, p, 8);
}

static int hello(struct fx *f, uint32_t version)
{
	return guest_u32x2(f, BH_MSG_HELLO, 0, version, 0);
}

static int client_sends(struct fx *f, uint32_t type, const void *p,
			uint32_t len)
{
	struct bh_frame_hdr h = { type, 1, len };

	return dispvm_client_frame(f->dv, &h, p);
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

static void nothing_queued(struct fx *f)
{
	assert_int_equal(bh_chan_pending(&f->dv->chan), 0);
	assert_int_equal(bh_chan_pending(&f->c->chan), 0);
}

/* HELLO, and the EXEC it brings taken off the queue. */
static void run(struct fx *f)
{
	assert_int_equal(hello(f, BH_PROTO_VERSION), 0);
	expect(&f->dv->chan, BH_MSG_EXEC, 1, f->req, (uint32_t)f->req_len);
	nothing_queued(f);
}

/* ---- HELLO ---- */

static void test_hello(void **state)
{
	struct fx *f = *state;

	assert_int_equal(hello(f, BH_PROTO_VERSION), 0);
	assert_int_equal(f->dv->state, DV_RUNNING);
	assert_int_equal(f->dv->deadline_ms, 0);
	assert_null(f->dv->exec_req);
	/* The command goes to the guest on stream 1, byte for byte. */
	expect(&f->dv->chan, BH_MSG_EXEC, 1, f->req, (uint32_t)f->req_len);
	nothing_queued(f);
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
	assert_int_equal(guest(f, BH_MSG_HELLO, 0, p, 4), -EPROTO);
	assert_int_equal(guest(f, BH_MSG_HELLO, 0, p, 0), -EPROTO);
	assert_int_equal(guest(f, BH_MSG_HELLO, 0, p, 7), -EPROTO);
	assert_int_equal(guest(f, BH_MSG_HELLO, 0, p, 9), -EPROTO);
	assert_int_equal(guest(f, BH_MSG_HELLO, 0, p, 12), -EPROTO);
	/* None of it started anything. */
	assert_int_equal(f->dv->state, DV_BOOTING);
	assert_non_null(f->dv->exec_req);
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
}

/* ---- output ---- */

static void test_before_hello(void **state)
{
	struct fx *f = *state;

	assert_int_equal(guest(f, BH_MSG_STDOUT, 1, "x", 1), -EPROTO);
	assert_int_equal(guest(f, BH_MSG_STDERR, 1, "x", 1), -EPROTO);
	assert_int_equal(guest(f, BH_MSG_STDOUT, 1, NULL, 0), -EPROTO);
	assert_int_equal(guest_u32(f, BH_MSG_CREDIT, 1, 0), -EPROTO);
	assert_int_equal(guest_u32x2(f, BH_MSG_EXIT, 1, BH_EXIT_CODE, 0),
			 -EPROTO);
	assert_int_equal(f->dv->state, DV_BOOTING);
	assert_int_equal(f->dv->have_exit, 0);
	assert_int_equal(f->dv->agent_may_send.avail, W);
	nothing_queued(f);
}

static void test_wrong_stream(void **state)
{
	struct fx *f = *state;
	static const uint32_t streams[] = { 0, 2, 64, 0xffffffffu };
	size_t i;

	run(f);
	for (i = 0; i < ARRAY_LEN(streams); i++) {
		uint32_t s = streams[i];

		assert_int_equal(guest(f, BH_MSG_STDOUT, s, "x", 1), -EPROTO);
		assert_int_equal(guest(f, BH_MSG_STDERR, s, "x", 1), -EPROTO);
		assert_int_equal(guest(f, BH_MSG_STDOUT, s, NULL, 0), -EPROTO);
		assert_int_equal(guest_u32(f, BH_MSG_CREDIT, s, 0), -EPROTO);
		assert_int_equal(guest_u32x2(f, BH_MSG_EXIT, s, BH_EXIT_CODE,
					     0),
				 -EPROTO);
	}
	assert_int_equal(f->dv->agent_may_send.avail, W);
	assert_int_equal(f->dv->out_eof, 0);
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
	assert_int_equal(f->dv->agent_may_send.avail, W - 11 - MAXP);
	assert_int_equal(f->dv->err_eof, 1);
	assert_int_equal(f->dv->out_eof, 0);
}

static void test_stdout_credit(void **state)
{
	struct fx *f = *state;
	uint8_t cp[4];
	unsigned i;

	run(f);
	for (i = 0; i < W / MAXP; i++)
		assert_int_equal(guest(f, BH_MSG_STDOUT, 1, f->big, MAXP), 0);
	assert_int_equal(f->dv->agent_may_send.avail, 0);
	assert_int_equal(guest(f, BH_MSG_STDOUT, 1, "x", 1), -EPROTO);
	assert_int_equal(guest(f, BH_MSG_STDERR, 1, "x", 1), -EPROTO);
	for (i = 0; i < W / MAXP; i++)
		expect(&f->c->chan, BH_MSG_STDOUT, 1, f->big, MAXP);
	nothing_queued(f);

	/* bh consumes some and grants it back through the daemon. */
	bh_put_u32(cp, 1000);
	assert_int_equal(client_sends(f, BH_MSG_CREDIT, cp, 4), 0);
	expect_u32(&f->dv->chan, BH_MSG_CREDIT, 1, 1000);
	assert_int_equal(guest(f, BH_MSG_STDERR, 1, f->big, 1000), 0);
	assert_int_equal(guest(f, BH_MSG_STDOUT, 1, "x", 1), -EPROTO);
	expect(&f->c->chan, BH_MSG_STDERR, 1, f->big, 1000);
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
	assert_int_equal(guest(f, BH_MSG_STDERR, 1, f->big, MAXP - 1), 0);
	assert_int_equal(guest(f, BH_MSG_STDERR, 1, "ab", 2), -EPROTO);
	assert_int_equal(guest(f, BH_MSG_STDOUT, 1, "a", 1), 0);
	assert_int_equal(guest(f, BH_MSG_STDOUT, 1, "a", 1), -EPROTO);
	/* End of file carries no data: allowed without credit. */
	assert_int_equal(guest(f, BH_MSG_STDOUT, 1, NULL, 0), 0);
	assert_int_equal(guest(f, BH_MSG_STDERR, 1, NULL, 0), 0);
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
	assert_int_equal(f->dv->agent_may_send.avail, W);
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
	assert_int_equal(f->dv->client_may_send.avail, W);
	nothing_queued(f);

	/* bh sends 100 bytes of stdin: relayed to the guest. */
	assert_int_equal(client_sends(f, BH_MSG_STDIN, f->big, 100), 0);
	expect(&f->dv->chan, BH_MSG_STDIN, 1, f->big, 100);
	assert_int_equal(f->dv->client_may_send.avail, W - 100);
	/* The guest returns exactly that; more is refused. */
	assert_int_equal(guest_u32(f, BH_MSG_CREDIT, 1, 101), -EPROTO);
	assert_int_equal(guest_u32(f, BH_MSG_CREDIT, 1, 60), 0);
	assert_int_equal(guest_u32(f, BH_MSG_CREDIT, 1, 40), 0);
	assert_int_equal(guest_u32(f, BH_MSG_CREDIT, 1, 1), -EPROTO);
	assert_int_equal(guest_u32(f, BH_MSG_CREDIT, 1, 0), 0);
	assert_int_equal(f->dv->client_may_send.avail, W);
	expect_u32(&f->c->chan, BH_MSG_CREDIT, 1, 60);
	expect_u32(&f->c->chan, BH_MSG_CREDIT, 1, 40);
	expect_u32(&f->c->chan, BH_MSG_CREDIT, 1, 0);
	nothing_queued(f);

	/* Wrong lengths. */
	assert_int_equal(guest(f, BH_MSG_CREDIT, 1, p, 0), -EPROTO);
	assert_int_equal(guest(f, BH_MSG_CREDIT, 1, p, 3), -EPROTO);
	assert_int_equal(guest(f, BH_MSG_CREDIT, 1, p, 5), -EPROTO);
	assert_int_equal(guest(f, BH_MSG_CREDIT, 1, p, 8), -EPROTO);
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
		{ BH_EXIT_NOSTART, 4 },        { 3, 0 },
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
	/* The guest is told to power off; bh hears of the exit only when
	 * QEMU is gone (report_and_free). */
	expect(&f->dv->chan, BH_MSG_POWEROFF, 0, NULL, 0);
	expect(&f->c->chan, BH_MSG_STDOUT, 1, "out\n", 4);
	nothing_queued(f);
	assert_int_equal(f->dv->err_code, 0);
}

static void test_exit_edges(void **state)
{
	struct fx *f = *state;
	static const uint32_t ok[][2] = {
		{ BH_EXIT_CODE, 0 },      { BH_EXIT_CODE, 255 },
		{ BH_EXIT_SIGNAL, 1 },    { BH_EXIT_SIGNAL, 9 },
		{ BH_EXIT_SIGNAL, 64 },   { BH_EXIT_NOSTART, 1 },
		{ BH_EXIT_NOSTART, 2 },   { BH_EXIT_NOSTART, 3 },
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
		expect(&f->dv->chan, BH_MSG_POWEROFF, 0, NULL, 0);
		nothing_queued(f);
	}
}

static void test_after_exit(void **state)
{
	struct fx *f = *state;
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
	bh_put_u32(hp, BH_PROTO_VERSION);
	bh_put_u32(hp + 4, 0);
	assert_int_equal(guest(f, BH_MSG_HELLO, 0, hp, 8), -EPROTO);
	/* The first status stands. */
	assert_int_equal(f->dv->exit_kind, BH_EXIT_SIGNAL);
	assert_int_equal(f->dv->exit_value, 9);
	assert_int_equal(f->dv->state, DV_STOPPING);
	nothing_queued(f);
}

/* ---- types a guest never sends ---- */

static void test_foreign_types(void **state)
{
	struct fx *f = *state;
	static const uint32_t types[] = {
		BH_MSG_RUN_DISPVM, BH_MSG_ERROR, 0x102u,
		BH_MSG_EXEC,       BH_MSG_STDIN, BH_MSG_POWEROFF,
		0,                 9,            0x103,
		0x80000000u,       0xffffffffu,
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
		}
		assert_int_equal(f->dv->state,
				 phase ? DV_RUNNING : DV_BOOTING);
		nothing_queued(f);
		if (!phase)
			run(f);
	}
	assert_int_equal(f->dv->have_exit, 0);
}

static void test_client_gone(void **state)
{
	struct fx *f = *state;

	/* bh went away: output is still checked and counted, and dropped. */
	run(f);
	f->dv->client = NULL;
	assert_int_equal(guest(f, BH_MSG_STDOUT, 1, f->big, MAXP), 0);
	assert_int_equal(f->dv->agent_may_send.avail, W - MAXP);
	assert_int_equal(guest(f, BH_MSG_STDOUT, 1, NULL, 0), 0);
	assert_int_equal(guest(f, BH_MSG_STDOUT, 1, "x", 1), -EPROTO);
	assert_int_equal(guest_u32(f, BH_MSG_CREDIT, 1, 1), -EPROTO);
	assert_int_equal(guest_u32x2(f, BH_MSG_EXIT, 1, BH_EXIT_CODE, 3), 0);
	expect(&f->dv->chan, BH_MSG_POWEROFF, 0, NULL, 0);
	nothing_queued(f);
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
	/* "ready after 0 ms" for every test is noise; warnings stay. */
	bh_log_set_level(BH_LOG_WARN);
	r = cmocka_run_group_tests_name("host_frames", tests, NULL, NULL);
	r += cmocka_run_group_tests_name("tail_escaped", tail_tests,
					 tail_group_setup,
					 tail_group_teardown);
	return r;
}

/* libFuzzer target: the host side of a qube's channel, i.e. the bytes a
 * hostile guest writes. They go through the real reassembly (a socket pair
 * and bh_chan_read/bh_chan_next, as dispvm_agent_input does) and every
 * complete frame goes to dispvm_handle_agent_frame() on a struct dispvm
 * built by hand; the first error stops the input, as the daemon destroys
 * the qube then.
 *
 * Input:
 *   byte 0   bits 0-2  how the stream is cut into reads (0: as few as
 *                      possible; else random sizes up to a bound)
 *            bit 3     bh has gone (dv->client == NULL)
 *            bit 4     a well-behaved bh: after each read it takes what
 *                      the daemon queued for it, grants credit back for
 *                      output and sends stdin while it has credit; and
 *                      the guest takes what the daemon queued for it
 *            bits 5-7  0-3: the input is all the guest sends; 4-7: the
 *                      target first sends HELLO and then 0, 256 KiB - 1,
 *                      256 KiB of stdout or 252 KiB of stderr (full
 *                      frames, through the same socket), so that short
 *                      inputs reach a running qube at the credit limit
 *   byte 1   seed of the random read and stdin sizes
 *   rest     the guest's byte stream
 *
 * Invariants checked after every frame: credits never exceed the window;
 * queues stay within their bounds; a qube with an exit status is stopping;
 * the exec request is sent once, on HELLO, and then freed; a frame that a
 * correct agent may send (protocol and credit kept) is never refused,
 * however slow bh is; everything the daemon queues for bh or the guest is
 * a well-formed frame of an expected type. Everything is freed per input.
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
#include "lib/log.h"
#include "lib/util.h"
#include "proto/chan.h"
#include "proto/credit.h"
#include "proto/exec_req.h"
#include "proto/frame.h"

#include "fuzz_common.h"

/* The bounds bulkheadd gives these queues. */
#define FUZZ_DV_OUT_MAX DISPVM_CHAN_OUT_MAX
#define FUZZ_CLIENT_OUT_MAX CLIENT_OUT_MAX

/* sv[0]: the guest's end (we write the input there); sv[1]: the daemon's,
 * read by bh_chan_read on dv.chan. */
static int sv[2] = { -1, -1 };
static struct daemon d;
/* Large (two channel buffers and a QMP line buffer): off the stack. */
static struct dispvm dv;
static struct client cl;
static uint8_t exec_req[256];
static uint32_t exec_len;

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
	make_prefix(&prefixes[0], BH_MSG_STDOUT, 0);
	make_prefix(&prefixes[1], BH_MSG_STDOUT, BH_STREAM_WINDOW - 1);
	make_prefix(&prefixes[2], BH_MSG_STDOUT, BH_STREAM_WINDOW);
	make_prefix(&prefixes[3], BH_MSG_STDERR, BH_STREAM_WINDOW - 4096);
	return 0;
}

/* What the well-behaved bh has: its view of the stdin credit, and whether
 * it sent EOF. The guest model: whether it got EXEC and POWEROFF. */
static struct bh_credit bh_stdin_credit;
static int bh_stdin_eof;
static int guest_got_exec, guest_got_poweroff;

NO_COVERAGE
static void check_queue(const struct bh_chan *c, size_t out_max)
{
	CHECK(c->out_off <= c->out_len);
	CHECK(c->out_len <= c->out_cap || (c->out == NULL && c->out_len == 0));
	CHECK(bh_chan_pending(c) <= out_max);
	CHECK(c->out_max == out_max);
}

NO_COVERAGE
static void check_invariants(void)
{
	CHECK(dv.agent_may_send.avail <= BH_STREAM_WINDOW);
	CHECK(dv.client_may_send.avail <= BH_STREAM_WINDOW);
	check_queue(&dv.chan, FUZZ_DV_OUT_MAX);
	check_queue(&cl.chan, FUZZ_CLIENT_OUT_MAX);
	CHECK(dv.state == DV_BOOTING || dv.state == DV_RUNNING ||
	      dv.state == DV_STOPPING);
	if (dv.have_exit)
		CHECK(dv.state == DV_STOPPING);
	/* The request waits until HELLO, then goes out once and is freed. */
	CHECK((dv.state == DV_BOOTING) == (dv.exec_req != NULL));
	if (dv.state == DV_BOOTING)
		CHECK(bh_chan_pending(&dv.chan) == 0 && !guest_got_exec);
	if (!dv.client)
		CHECK(bh_chan_pending(&cl.chan) == 0);
	CHECK(dv.err_code == 0); /* only dv_error sets it; not called here */
}

/* A frame the daemon queued for the guest. */
NO_COVERAGE
static void guest_sees(const struct bh_frame_hdr *h, const uint8_t *p)
{
	switch (h->type) {
	case BH_MSG_EXEC:
		CHECK(!guest_got_exec && !guest_got_poweroff);
		CHECK(h->stream == 1 && h->len == exec_len);
		CHECK(memcmp(p, exec_req, exec_len) == 0);
		guest_got_exec = 1;
		break;
	case BH_MSG_STDIN:
	case BH_MSG_CREDIT:
		CHECK(guest_got_exec && !guest_got_poweroff);
		CHECK(h->stream == 1);
		CHECK(bh_frame_check_from_host(h) == 0);
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
			CHECK(dispvm_client_frame(&dv, &g, pl) == 0);
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

	if (bh_stdin_eof || dv.state == DV_BOOTING)
		return; /* the daemon does not read bh while booting */
	switch (fuzz_rnd() % 4) {
	case 0:
		return;
	case 1:
		if (fuzz_rnd() % 8 == 0) { /* EOF */
			CHECK(dispvm_client_frame(&dv, &h, fuzz_zeros) == 0);
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
		CHECK(dispvm_client_frame(&dv, &h, fuzz_zeros) == 0);
	}
}

/* One round of the well-behaved peers between two reads. */
static void peers_run(void)
{
	if (dv.client) {
		fuzz_take_queue(&cl.chan, bh_sees);
		/* Both sides count bh's stdin credit alike. */
		CHECK(bh_stdin_credit.avail == dv.client_may_send.avail);
		bh_sends_stdin();
	}
	fuzz_take_queue(&dv.chan, guest_sees);
	check_invariants();
}

static void setup(uint8_t flags)
{
	/* Zero all but the two big buffers, which bh_chan_init and
	 * qmp_init make ready: this runs once per input. */
	memset(&dv, 0, offsetof(struct dispvm, chan));
	memset(&dv.client, 0, sizeof(dv) - offsetof(struct dispvm, client));
	memset(&cl, 0, sizeof(cl));
	dv.d = &d;
	snprintf(dv.name, sizeof(dv.name), "disp42");
	snprintf(dv.run_dir, sizeof(dv.run_dir), "/nonexistent/qubes/disp42");
	dv.state = DV_BOOTING;
	dv.vm.pid = 0;
	dv.vm.chan_fd = sv[1];
	dv.vm.qmp_fd = -1;
	dv.vm_alive = 0; /* nothing to kill */
	bh_chan_init(&dv.chan, sv[1], FUZZ_DV_OUT_MAX);
	dv.qmp.fd = -1; /* unused here; qmp_init would clear 64 KiB */
	dv.qmp.state = QMP_CLOSED;
	dv.exec_req = malloc(exec_len);
	CHECK(dv.exec_req != NULL);
	memcpy(dv.exec_req, exec_req, exec_len);
	dv.exec_len = exec_len;
	dv.started_ms = bh_now_ms();
	dv.deadline_ms = dv.started_ms + d.boot_timeout_ms;
	dv.agent_may_send.avail = BH_STREAM_WINDOW;
	dv.client_may_send.avail = BH_STREAM_WINDOW;

	cl.d = &d;
	bh_chan_init(&cl.chan, -1, FUZZ_CLIENT_OUT_MAX);
	if (!(flags & 8)) {
		cl.dv = &dv;
		dv.client = &cl;
	}
	d.dispvms = &dv;
	d.clients = dv.client ? &cl : NULL;

	bh_stdin_credit.avail = BH_STREAM_WINDOW;
	bh_stdin_eof = 0;
	guest_got_exec = guest_got_poweroff = 0;
}

static void teardown(void)
{
	/* What the daemon did not read after the guest broke the
	 * protocol. */
	fuzz_drain(sv[1], NULL, 0);
	bh_chan_free(&dv.chan);
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
	uint32_t v, kind;

	if (bh_frame_check_from_guest(h) < 0)
		return 0;
	if (h->type == BH_MSG_HELLO)
		return dv.state == DV_BOOTING &&
		       bh_parse_hello(p, h->len, &v) == 0 &&
		       v == BH_PROTO_VERSION;
	if (dv.state != DV_RUNNING || h->stream != 1 || dv.have_exit)
		return 0;
	switch (h->type) {
	case BH_MSG_STDOUT:
		return !dv.out_eof && h->len <= dv.agent_may_send.avail;
	case BH_MSG_STDERR:
		return !dv.err_eof && h->len <= dv.agent_may_send.avail;
	case BH_MSG_CREDIT:
		v = bh_get_u32(p);
		return v > 0 && v <= BH_STREAM_WINDOW - dv.client_may_send.avail;
	case BH_MSG_EXIT:
		return bh_parse_exit(p, h->len, &kind, &v) == 0;
	}
	return 0;
}

static int relay_paused(void)
{
	return dv.client && bh_chan_pending(&cl.chan) >= RELAY_PAUSE_BYTES;
}

/* Like the daemon's poll loop: no reading from the guest while bh's queue
 * is full; a bh that never reads leaves the rest of the guest's bytes
 * unread. With peers, bh gets one round to make room first. */
static int daemon_reads(int peers)
{
	if (relay_paused()) {
		if (peers)
			peers_run();
		if (relay_paused())
			return 0;
	}
	return 1;
}

/* A complete frame read from the guest's end goes to the daemon, as
 * dispvm_agent_input hands it; 1 once the daemon would have destroyed
 * the qube. */
static int daemon_gets(const struct bh_frame_hdr *h, const uint8_t *payload)
{
	int legit = frame_is_legit(h, payload);
	int r = dispvm_handle_agent_frame(&dv, h, payload);

	check_invariants();
	/* A qube that keeps to the protocol is never cut off, however slow
	 * bh is to read. */
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
	check_invariants();
	teardown();
	return 0;
}

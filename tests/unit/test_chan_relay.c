/* Unit tests of the channel process's relay (src/chan/relay.c) over two
 * real socket pairs, non-blocking as bulkhead-chan makes them:
 *   g[0] the relay's end of the qube's channel, g[1] the qube (us);
 *   l[0] the relay's end of the link,           l[1] the daemon (us).
 * The relay is driven as bulkhead-chan's loop drives it: input only while
 * the side is readable, then a flush of the other side's queue. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "chan/relay.h"
#include "lib/util.h"
#include "proto/chan.h"
#include "proto/frame.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define GBIT BH_STREAM_GUEST_BIT

/* A growing byte buffer: frames to send, or what came out of a side. */
struct buf {
	uint8_t *p;
	size_t len, cap;
};

static void buf_add(struct buf *b, const void *p, size_t len)
{
	if (b->len + len > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;

		while (cap < b->len + len)
			cap *= 2;
		b->p = realloc(b->p, cap);
		assert_non_null(b->p);
		b->cap = cap;
	}
	if (len)
		memcpy(b->p + b->len, p, len);
	b->len += len;
}

static void buf_free(struct buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

/* Deterministic payload bytes, different for each seed. */
static void fill(uint8_t *p, size_t len, unsigned seed)
{
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = (uint8_t)(seed * 131u + i * 7u + (i >> 8));
}

/* Appends one frame as raw bytes (any header, any payload length). */
static void add_raw(struct buf *b, uint32_t type, uint32_t stream,
		    uint32_t hdr_len, const void *payload, size_t len)
{
	uint8_t h[BH_FRAME_HDR_LEN];

	bh_put_u32(h, type);
	bh_put_u32(h + 4, stream);
	bh_put_u32(h + 8, hdr_len);
	buf_add(b, h, sizeof(h));
	buf_add(b, payload, len);
}

static void add_frame(struct buf *b, uint32_t type, uint32_t stream,
		      const void *payload, uint32_t len)
{
	add_raw(b, type, stream, len, payload, len);
}

static void add_u32s(struct buf *b, uint32_t type, uint32_t stream,
		     uint32_t v1, uint32_t v2, uint32_t n)
{
	uint8_t p[8];

	bh_put_u32(p, v1);
	bh_put_u32(p + 4, v2);
	add_frame(b, type, stream, p, n);
}

static void add_filled(struct buf *b, uint32_t type, uint32_t stream,
		       uint32_t len, unsigned seed)
{
	uint8_t *p = malloc(len ? len : 1);

	assert_non_null(p);
	fill(p, len, seed);
	add_frame(b, type, stream, p, len);
	free(p);
}

static void add_broken(struct buf *b, uint32_t why, uint32_t type,
		       uint32_t stream, uint32_t len)
{
	const struct bh_chan_broken br = { why, type, stream, len };
	uint8_t p[BH_CHAN_BROKEN_LEN];

	bh_chan_broken_encode(p, &br);
	add_frame(b, BH_MSG_CHAN_BROKEN, 0, p, sizeof(p));
}

/* Every frame a correct agent may send, one of each sort. */
static void add_good(struct buf *b, unsigned seed)
{
	uint8_t eight[8] = { 0 };

	add_u32s(b, BH_MSG_HELLO, 0, BH_PROTO_VERSION, 0, 8);
	add_filled(b, BH_MSG_STDOUT, 1, 5, seed);
	add_filled(b, BH_MSG_STDERR, 7, 300, seed + 1);
	add_frame(b, BH_MSG_STDOUT, 1, NULL, 0); /* EOF */
	add_u32s(b, BH_MSG_EXIT, 1, BH_EXIT_CODE, 3, 8);
	add_u32s(b, BH_MSG_EXIT, 2, BH_EXIT_SIGNAL, 9, 8);
	add_u32s(b, BH_MSG_EXIT, 3, BH_EXIT_NOSTART, BH_NOSTART_NOUSER, 8);
	add_u32s(b, BH_MSG_EXIT, 4, BH_EXIT_REFUSED, 0, 8);
	add_filled(b, BH_MSG_CALL, GBIT | 1, 40, seed + 2);
	add_filled(b, BH_MSG_STDIN, GBIT | 1, 17, seed + 3);
	add_u32s(b, BH_MSG_CREDIT, 1, 4096, 0, 4);
	add_u32s(b, BH_MSG_CREDIT, GBIT | 1, 1, 0, 4);
	add_frame(b, BH_MSG_PORT_SWITCH, 1, NULL, 0);
	bh_put_u64(eight, 123456789ull);
	add_frame(b, BH_MSG_PORT_END, 1, eight, 8);
	add_frame(b, BH_MSG_PORT_CLOSED, 1, NULL, 0);
}

struct fx {
	int g[2], l[2];
	/* Two struct bh_chan, 128 KiB of input each: off the stack. */
	struct chan_relay *r;
	struct buf link_got, guest_got;
};

static int fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	int i;

	if (!f)
		return -1;
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, f->g) < 0 ||
	    socketpair(AF_UNIX, SOCK_STREAM, 0, f->l) < 0)
		return -1;
	for (i = 0; i < 2; i++)
		if (bh_set_nonblock(f->g[i], 1) < 0 ||
		    bh_set_nonblock(f->l[i], 1) < 0)
			return -1;
	f->r = malloc(sizeof(*f->r));
	if (!f->r)
		return -1;
	/* Garbage in the struct must not matter: init sets what it needs. */
	memset(f->r, 0xa5, sizeof(*f->r));
	chan_relay_init(f->r, f->g[0], f->l[0]);
	*state = f;
	return 0;
}

static int fx_teardown(void **state)
{
	struct fx *f = *state;
	int i;

	chan_relay_free(f->r);
	free(f->r);
	for (i = 0; i < 2; i++) {
		if (f->g[i] >= 0)
			close(f->g[i]);
		if (f->l[i] >= 0)
			close(f->l[i]);
	}
	buf_free(&f->link_got);
	buf_free(&f->guest_got);
	free(f);
	return 0;
}

/* Reads what is on the non-blocking fd into b, until it would block or
 * ends. Returns 1 at end of file. */
static int drain(int fd, struct buf *b)
{
	uint8_t tmp[8192];
	ssize_t n;

	while ((n = read(fd, tmp, sizeof(tmp))) > 0)
		buf_add(b, tmp, (size_t)n);
	if (n == 0)
		return 1;
	assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
	return 0;
}

static int has_input(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	assert_true(poll(&p, 1, 0) >= 0);
	return p.revents != 0;
}

/* The daemon takes everything the relay queued for it. */
static void daemon_reads(struct fx *f)
{
	int k;

	do {
		k = bh_chan_flush(&f->r->link);
		assert_true(k == 0 || k == 1);
		assert_int_equal(drain(f->l[1], &f->link_got), 0);
	} while (k == 1);
}

/* As bulkhead-chan's loop: reads the qube while it has bytes and the
 * relay reads it; the daemon reads along if `reading`. */
static void relay_guest(struct fx *f, int reading)
{
	size_t rounds = 0;

	while (chan_relay_guest_readable(f->r) && has_input(f->g[0])) {
		/* A relay that neither takes the bytes nor stops reading
		 * (say, at the end) would spin here. */
		assert_true(++rounds < 10000);
		assert_int_equal(chan_relay_guest_input(f->r), 0);
		if (reading) {
			daemon_reads(f);
		} else {
			int k = bh_chan_flush(&f->r->link);

			assert_true(k == 0 || k == 1);
		}
	}
}

/* The qube writes buf in writes of `chunk` bytes (0: all at once); the
 * relay runs after each, and the daemon reads. */
static void guest_sends(struct fx *f, const struct buf *b, size_t chunk)
{
	size_t off = 0;

	while (off < b->len) {
		size_t want = chunk && chunk < b->len - off ? chunk
							    : b->len - off;
		ssize_t w;

		/* A relay that no longer reads: the rest at once (a unit
		 * socket's buffer takes only a few hundred 1-byte writes). */
		if (!chan_relay_guest_readable(f->r))
			want = b->len - off;
		w = write(f->g[1], b->p + off, want);

		if (w < 0) {
			assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
			/* The socket is full: only a relay that reads can
			 * make room. */
			assert_true(chan_relay_guest_readable(f->r));
		} else {
			off += (size_t)w;
		}
		relay_guest(f, 1);
	}
}

static void assert_bytes(const struct buf *got, const struct buf *want)
{
	assert_int_equal(got->len, want->len);
	if (want->len)
		assert_memory_equal(got->p, want->p, want->len);
}

/* ---- the qube's frames that may go on ---- */

static void good_frames_in(void **state, size_t chunk)
{
	struct fx *f = *state;
	struct buf want = { 0 };

	add_good(&want, 1);
	add_filled(&want, BH_MSG_STDOUT, 5, BH_FRAME_MAX_PAYLOAD, 9);
	add_good(&want, 2);
	guest_sends(f, &want, chunk);
	daemon_reads(f);
	assert_bytes(&f->link_got, &want);
	assert_false(f->r->broken);
	assert_false(f->r->guest_eof);
	assert_true(chan_relay_guest_readable(f->r));
	buf_free(&want);
}

static void test_good_one_write(void **state)
{
	good_frames_in(state, 0);
}

static void test_good_byte_by_byte(void **state)
{
	good_frames_in(state, 1);
}

static void test_good_odd_writes(void **state)
{
	good_frames_in(state, 4099);
}

/* Frames of the largest payload back to back, more than the relay's
 * input buffer holds at once. */
static void test_good_full_frames(void **state)
{
	struct fx *f = *state;
	struct buf want = { 0 };
	unsigned i;

	for (i = 0; i < 5; i++)
		add_filled(&want, BH_MSG_STDOUT, 1 + i, BH_FRAME_MAX_PAYLOAD,
			   i);
	guest_sends(f, &want, 0);
	daemon_reads(f);
	assert_bytes(&f->link_got, &want);
	assert_false(f->r->broken);
	buf_free(&want);
}

/* chan_relay_check on its own: a few of each side of the line. */
static void test_check(void **state)
{
	uint8_t p[8];
	struct bh_frame_hdr h;

	(void)state;
	bh_put_u32(p, BH_PROTO_VERSION);
	bh_put_u32(p + 4, 0xffffffffu); /* flags are not judged here */
	h = (struct bh_frame_hdr){ BH_MSG_HELLO, 0, 8 };
	assert_int_equal(chan_relay_check(&h, p), 0);
	bh_put_u32(p, BH_PROTO_VERSION + 1);
	assert_int_equal(chan_relay_check(&h, p), -EPROTO);
	bh_put_u32(p, BH_EXIT_CODE);
	bh_put_u32(p + 4, 255);
	h = (struct bh_frame_hdr){ BH_MSG_EXIT, 1, 8 };
	assert_int_equal(chan_relay_check(&h, p), 0);
	bh_put_u32(p + 4, 256);
	assert_int_equal(chan_relay_check(&h, p), -EPROTO);
	bh_put_u32(p, 0);
	h = (struct bh_frame_hdr){ BH_MSG_CREDIT, 1, 4 };
	/* CREDIT 0 is the daemon's to refuse (bh_credit_grant, with the
	 * stream's credit), not the relay's: it checks the layout only. */
	assert_int_equal(chan_relay_check(&h, p), 0);
	h = (struct bh_frame_hdr){ BH_MSG_PORT_END, 1, 8 };
	assert_int_equal(chan_relay_check(&h, p), 0);
	h = (struct bh_frame_hdr){ BH_MSG_PORT_END, 1, 4 };
	assert_int_equal(chan_relay_check(&h, p), -EPROTO);
	h = (struct bh_frame_hdr){ BH_MSG_CHAN_BROKEN, 0, 16 };
	assert_int_equal(chan_relay_check(&h, p), -EPROTO);
	/* Only the channel process says what it had at a re-attach. */
	h = (struct bh_frame_hdr){ BH_MSG_CHAN_ATTACH, 0, 16 };
	assert_int_equal(chan_relay_check(&h, p), -EPROTO);
}

/* ---- the qube's frames that break the protocol ---- */

struct bad {
	const char *what;
	uint32_t type, stream, len; /* the header as sent */
	uint32_t v1, v2;	    /* the payload's first two u32 */
	uint32_t why;		    /* what BROKEN says */
};

static const struct bad bads[] = {
	{ "unknown type", 0x77, 0, 3, 0, 0, BH_BROKEN_FRAME },
	{ "type 0", 0, 0, 0, 0, 0, BH_BROKEN_FRAME },
	{ "a host's type (EXEC)", BH_MSG_EXEC, 1, 8, 1, 0, BH_BROKEN_FRAME },
	{ "POWEROFF", BH_MSG_POWEROFF, 0, 0, 0, 0, BH_BROKEN_FRAME },
	{ "a forged BROKEN", BH_MSG_CHAN_BROKEN, 0, 16, BH_BROKEN_FRAME, 1,
	  BH_BROKEN_FRAME },
	{ "a forged ATTACH", BH_MSG_CHAN_ATTACH, 0, 16, 0, 0,
	  BH_BROKEN_FRAME },
	{ "HELLO of version 1", BH_MSG_HELLO, 0, 8, 1, 0, BH_BROKEN_FRAME },
	{ "HELLO of version 0", BH_MSG_HELLO, 0, 8, 0, 0, BH_BROKEN_FRAME },
	{ "HELLO of 4 bytes", BH_MSG_HELLO, 0, 4, BH_PROTO_VERSION, 0,
	  BH_BROKEN_FRAME },
	{ "HELLO on a stream", BH_MSG_HELLO, 1, 8, BH_PROTO_VERSION, 0,
	  BH_BROKEN_FRAME },
	{ "EXIT of kind 4", BH_MSG_EXIT, 1, 8, 4, 0, BH_BROKEN_FRAME },
	{ "EXIT code 256", BH_MSG_EXIT, 1, 8, BH_EXIT_CODE, 256,
	  BH_BROKEN_FRAME },
	{ "EXIT signal 0", BH_MSG_EXIT, 1, 8, BH_EXIT_SIGNAL, 0,
	  BH_BROKEN_FRAME },
	{ "EXIT of 4 bytes", BH_MSG_EXIT, 1, 4, BH_EXIT_CODE, 0,
	  BH_BROKEN_FRAME },
	{ "EXIT on a guest stream", BH_MSG_EXIT, GBIT | 1, 8, 0, 0,
	  BH_BROKEN_FRAME },
	{ "CREDIT of 8 bytes", BH_MSG_CREDIT, 1, 8, 1, 0, BH_BROKEN_FRAME },
	{ "CREDIT of 0 bytes", BH_MSG_CREDIT, 1, 0, 0, 0, BH_BROKEN_FRAME },
	{ "CREDIT on stream 0", BH_MSG_CREDIT, 0, 4, 1, 0, BH_BROKEN_FRAME },
	{ "STDOUT on a guest stream", BH_MSG_STDOUT, GBIT | 1, 5, 0, 0,
	  BH_BROKEN_FRAME },
	{ "STDOUT on stream 0", BH_MSG_STDOUT, 0, 5, 0, 0, BH_BROKEN_FRAME },
	{ "STDIN on a host stream", BH_MSG_STDIN, 1, 5, 0, 0,
	  BH_BROKEN_FRAME },
	{ "empty CALL", BH_MSG_CALL, GBIT | 1, 0, 0, 0, BH_BROKEN_FRAME },
	{ "CALL on a host stream", BH_MSG_CALL, 1, 8, 0, 0,
	  BH_BROKEN_FRAME },
	{ "PORT_END of 4 bytes", BH_MSG_PORT_END, 1, 4, 0, 0,
	  BH_BROKEN_FRAME },
	{ "PORT_SWITCH with payload", BH_MSG_PORT_SWITCH, 1, 1, 0, 0,
	  BH_BROKEN_FRAME },
	/* After good frames in the same read, these once reported the
	 * header of the last good frame. */
	{ "oversized by one", BH_MSG_STDOUT, 1, BH_FRAME_MAX_PAYLOAD + 1, 0,
	  0, BH_BROKEN_OVERSIZED },
	{ "oversized to the top", 0x77, 0x12345678, 0xffffffffu, 0, 0,
	  BH_BROKEN_OVERSIZED },
};

/* Appends b's frame: its header, and for a frame that is not oversized
 * its payload (the two u32, then pattern bytes). */
static void add_bad(struct buf *out, const struct bad *b)
{
	uint8_t p[64] = { 0 };

	if (b->why == BH_BROKEN_OVERSIZED) {
		add_raw(out, b->type, b->stream, b->len, NULL, 0);
		/* Bytes that would be the payload: never forwarded. */
		fill(p, sizeof(p), 7);
		buf_add(out, p, sizeof(p));
		return;
	}
	assert_true(b->len <= sizeof(p));
	fill(p, sizeof(p), 5);
	bh_put_u32(p, b->v1);
	bh_put_u32(p + 4, b->v2);
	add_raw(out, b->type, b->stream, b->len, p, b->len);
}

/* What the daemon must get for b: the frames before it, then BROKEN
 * with the header as read, or zeros for an oversized one (its header is
 * not decoded). */
static void add_want_broken(struct buf *want, const struct bad *b)
{
	if (b->why == BH_BROKEN_OVERSIZED)
		add_broken(want, b->why, 0, 0, 0);
	else
		add_broken(want, b->why, b->type, b->stream, b->len);
}

/* Good frames, b's frame, more good frames, in writes of `chunk`; then,
 * in further writes, still more. */
static void bad_frame_in(const struct bad *b, size_t chunk)
{
	struct fx *f;
	struct buf sent = { 0 }, want = { 0 }, more = { 0 };

	print_message("  %s, writes of %zu\n", b->what, chunk);
	assert_int_equal(fx_setup((void **)&f), 0);
	add_good(&sent, 1);
	buf_add(&want, sent.p, sent.len);
	add_want_broken(&want, b);
	add_bad(&sent, b);
	add_good(&sent, 2);
	guest_sends(f, &sent, chunk);
	daemon_reads(f);
	assert_bytes(&f->link_got, &want);
	assert_true(f->r->broken);
	assert_false(chan_relay_guest_readable(f->r));

	/* The qube goes on: nothing more reaches the daemon, even if the
	 * relay were asked to read again. */
	add_good(&more, 3);
	assert_int_equal(write(f->g[1], more.p, more.len), (ssize_t)more.len);
	relay_guest(f, 1);
	assert_int_equal(chan_relay_guest_input(f->r), 0);
	daemon_reads(f);
	assert_bytes(&f->link_got, &want);
	assert_true(f->r->broken);

	buf_free(&sent);
	buf_free(&want);
	buf_free(&more);
	assert_int_equal(fx_teardown((void **)&f), 0);
}

static void test_bad_one_write(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_LEN(bads); i++)
		bad_frame_in(&bads[i], 0);
}

static void test_bad_byte_by_byte(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_LEN(bads); i++)
		bad_frame_in(&bads[i], 1);
}

static void test_bad_odd_writes(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_LEN(bads); i++)
		bad_frame_in(&bads[i], 13);
}

/* The first frame on the channel is the bad one. */
static void test_bad_first(void **state)
{
	struct fx *f = *state;
	struct buf sent = { 0 }, want = { 0 };

	add_raw(&sent, BH_MSG_STDOUT, 1, BH_FRAME_MAX_PAYLOAD + 1, NULL, 0);
	add_good(&sent, 1);
	add_broken(&want, BH_BROKEN_OVERSIZED, 0, 0, 0);
	guest_sends(f, &sent, 0);
	daemon_reads(f);
	assert_bytes(&f->link_got, &want);
	assert_true(f->r->broken);
	buf_free(&sent);
	buf_free(&want);
}

/* ---- the qube's end closing ---- */

static void test_guest_eof(void **state)
{
	struct fx *f = *state;
	struct buf want = { 0 };
	ssize_t w;

	add_good(&want, 1);
	add_filled(&want, BH_MSG_STDOUT, 1, BH_FRAME_MAX_PAYLOAD, 2);
	add_good(&want, 3);
	/* All of it and the end in the socket before the relay reads. */
	w = write(f->g[1], want.p, want.len);
	assert_int_equal(w, (ssize_t)want.len);
	assert_int_equal(shutdown(f->g[1], SHUT_WR), 0);
	relay_guest(f, 1);
	daemon_reads(f);
	assert_true(f->r->guest_eof);
	assert_false(f->r->broken);
	assert_false(chan_relay_guest_readable(f->r));
	assert_bytes(&f->link_got, &want);
	buf_free(&want);
}

/* A frame cut short by the end is dropped, not BROKEN: QEMU ending in
 * the middle of a frame is no attack. */
static void test_guest_eof_mid_frame(void **state)
{
	struct fx *f = *state;
	struct buf want = { 0 }, sent = { 0 };

	add_good(&want, 1);
	buf_add(&sent, want.p, want.len);
	add_filled(&sent, BH_MSG_STDOUT, 1, 100, 2);
	sent.len -= 50;
	guest_sends(f, &sent, 7);
	assert_false(f->r->guest_eof);
	assert_int_equal(shutdown(f->g[1], SHUT_WR), 0);
	relay_guest(f, 1);
	daemon_reads(f);
	assert_true(f->r->guest_eof);
	assert_false(f->r->broken);
	assert_bytes(&f->link_got, &want);
	buf_free(&want);
	buf_free(&sent);
}

/* ---- the daemon's frames ---- */

static void relay_link(struct fx *f)
{
	size_t rounds = 0;
	int k;

	while (chan_relay_link_readable(f->r) && has_input(f->l[0])) {
		assert_true(++rounds < 10000);
		assert_int_equal(chan_relay_link_input(f->r), 0);
		do {
			k = bh_chan_flush(&f->r->guest);
			assert_true(k == 0 || k == 1);
			drain(f->g[1], &f->guest_got);
		} while (k == 1);
	}
}

static void daemon_frames_in(void **state, size_t chunk)
{
	struct fx *f = *state;
	struct buf want = { 0 };
	size_t off = 0;

	add_filled(&want, BH_MSG_EXEC, 1, 200, 1);
	add_filled(&want, BH_MSG_STDIN, 1, BH_FRAME_MAX_PAYLOAD, 2);
	add_frame(&want, BH_MSG_STDIN, 1, NULL, 0);
	add_u32s(&want, BH_MSG_CREDIT, GBIT | 1, 65536, 0, 4);
	add_filled(&want, BH_MSG_STDOUT, GBIT | 1, 10, 3);
	add_u32s(&want, BH_MSG_EXIT, GBIT | 1, BH_EXIT_CODE, 0, 8);
	/* The daemon is trusted: even what the agent would refuse goes
	 * on as it is. */
	add_filled(&want, 0x77, 0, 3, 4);
	add_frame(&want, BH_MSG_POWEROFF, 0, NULL, 0);
	while (off < want.len) {
		size_t n = chunk && chunk < want.len - off ? chunk
							   : want.len - off;
		ssize_t w = write(f->l[1], want.p + off, n);

		if (w < 0)
			assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
		else
			off += (size_t)w;
		relay_link(f);
	}
	assert_bytes(&f->guest_got, &want);
	assert_false(f->r->link_eof);
	assert_int_equal(f->link_got.len, 0);
	buf_free(&want);
}

static void test_daemon_one_write(void **state)
{
	daemon_frames_in(state, 0);
}

static void test_daemon_byte_by_byte(void **state)
{
	daemon_frames_in(state, 1);
}

static void test_link_eof(void **state)
{
	struct fx *f = *state;
	struct buf want = { 0 };

	add_frame(&want, BH_MSG_POWEROFF, 0, NULL, 0);
	assert_int_equal(write(f->l[1], want.p, want.len),
			 (ssize_t)want.len);
	assert_int_equal(close(f->l[1]), 0);
	f->l[1] = -1;
	relay_link(f);
	assert_true(f->r->link_eof);
	assert_false(chan_relay_link_readable(f->r));
	assert_bytes(&f->guest_got, &want);
	/* The qube's side is not its business. */
	assert_false(f->r->guest_eof);
	assert_false(f->r->broken);
	buf_free(&want);
}

/* A header over the limit from the daemon is an error of ours: -1. */
static void test_daemon_oversized(void **state)
{
	struct fx *f = *state;
	struct buf sent = { 0 };

	add_raw(&sent, BH_MSG_STDIN, 1, BH_FRAME_MAX_PAYLOAD + 1, NULL, 0);
	assert_int_equal(write(f->l[1], sent.p, sent.len), (ssize_t)sent.len);
	assert_int_equal(chan_relay_link_input(f->r), -1);
	buf_free(&sent);
}

/* ---- back-pressure ---- */

/* The daemon does not read: the relay stops reading the qube once the
 * link's queue holds CHAN_RELAY_PAUSE_BYTES, and goes on, losing
 * nothing, once the daemon reads again. */
static void test_pause_guest(void **state)
{
	struct fx *f = *state;
	struct buf sent = { 0 };
	size_t off = 0, rounds;
	unsigned i;

	for (i = 0; i < 64; i++)
		add_filled(&sent, BH_MSG_STDOUT, 1 + i % 3,
			   BH_FRAME_MAX_PAYLOAD - i, i);
	for (rounds = 0; chan_relay_guest_readable(f->r); rounds++) {
		ssize_t w;

		assert_true(rounds < 100000);
		assert_true(off < sent.len); /* it paused before the end */
		w = write(f->g[1], sent.p + off, sent.len - off);
		if (w < 0)
			assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
		else
			off += (size_t)w;
		relay_guest(f, 0);
		assert_true(bh_chan_pending(&f->r->link) <=
			    CHAN_RELAY_QUEUE_MAX);
	}
	assert_true(bh_chan_pending(&f->r->link) >= CHAN_RELAY_PAUSE_BYTES);
	assert_false(f->r->broken);
	assert_false(f->r->guest_eof);
	/* The daemon side of the link still readable: the pause is of one
	 * direction. */
	assert_true(chan_relay_link_readable(f->r));

	/* The daemon reads again. */
	for (rounds = 0; f->link_got.len < sent.len; rounds++) {
		ssize_t w;

		assert_true(rounds < 100000);
		daemon_reads(f);
		assert_true(chan_relay_guest_readable(f->r));
		if (off < sent.len) {
			w = write(f->g[1], sent.p + off, sent.len - off);
			if (w < 0)
				assert_true(errno == EAGAIN ||
					    errno == EWOULDBLOCK);
			else
				off += (size_t)w;
		}
		relay_guest(f, 1);
	}
	assert_bytes(&f->link_got, &sent);
	buf_free(&sent);
}

/* The qube does not read: the link is not read once the qube's queue
 * holds CHAN_RELAY_PAUSE_BYTES. */
static void test_pause_link(void **state)
{
	struct fx *f = *state;
	struct buf sent = { 0 };
	size_t off = 0, rounds;
	unsigned i;

	for (i = 0; i < 64; i++)
		add_filled(&sent, BH_MSG_STDIN, 1, BH_FRAME_MAX_PAYLOAD - i, i);
	for (rounds = 0; chan_relay_link_readable(f->r); rounds++) {
		ssize_t w;

		assert_true(rounds < 100000);
		assert_true(off < sent.len);
		w = write(f->l[1], sent.p + off, sent.len - off);
		if (w < 0)
			assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
		else
			off += (size_t)w;
		while (chan_relay_link_readable(f->r) && has_input(f->l[0])) {
			int k;

			assert_int_equal(chan_relay_link_input(f->r), 0);
			k = bh_chan_flush(&f->r->guest);
			assert_true(k == 0 || k == 1);
			assert_true(bh_chan_pending(&f->r->guest) <=
				    CHAN_RELAY_QUEUE_MAX);
		}
	}
	assert_true(bh_chan_pending(&f->r->guest) >= CHAN_RELAY_PAUSE_BYTES);
	assert_false(f->r->link_eof);
	assert_true(chan_relay_guest_readable(f->r));

	/* The qube reads again. */
	for (rounds = 0; f->guest_got.len < sent.len; rounds++) {
		int k;

		assert_true(rounds < 100000);
		do {
			k = bh_chan_flush(&f->r->guest);
			assert_true(k == 0 || k == 1);
			drain(f->g[1], &f->guest_got);
		} while (k == 1);
		assert_true(chan_relay_link_readable(f->r));
		if (off < sent.len) {
			ssize_t w = write(f->l[1], sent.p + off,
					  sent.len - off);

			if (w < 0)
				assert_true(errno == EAGAIN ||
					    errno == EWOULDBLOCK);
			else
				off += (size_t)w;
		}
		relay_link(f);
	}
	assert_bytes(&f->guest_got, &sent);
	buf_free(&sent);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_check),
		cmocka_unit_test_setup_teardown(test_good_one_write, fx_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_good_byte_by_byte,
						fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_good_odd_writes, fx_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_good_full_frames,
						fx_setup, fx_teardown),
		cmocka_unit_test(test_bad_one_write),
		cmocka_unit_test(test_bad_byte_by_byte),
		cmocka_unit_test(test_bad_odd_writes),
		cmocka_unit_test_setup_teardown(test_bad_first, fx_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_guest_eof, fx_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_guest_eof_mid_frame,
						fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_daemon_one_write,
						fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_daemon_byte_by_byte,
						fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_link_eof, fx_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_daemon_oversized,
						fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_pause_guest, fx_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_pause_link, fx_setup,
						fx_teardown),
	};

	/* A closed peer is an error to see, as in bulkhead-chan. */
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests_name("chan_relay", tests, NULL, NULL);
}

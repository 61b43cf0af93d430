/* Unit tests of src/proto/chan.c over a real socket pair with non-blocking
 * ends: `a` on sv[0] sends, `b` on sv[1] receives (and vice versa). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/util.h"
#include "proto/chan.h"
#include "proto/frame.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define BIG_QUEUE (64u << 20)

struct fx {
	int sv[2];
	/* struct bh_chan holds 128 KiB of input buffer: keep it off the
	 * stack. */
	struct bh_chan *a, *b;
};

static int fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, f->sv) < 0)
		return -1;
	if (bh_set_nonblock(f->sv[0], 1) < 0 ||
	    bh_set_nonblock(f->sv[1], 1) < 0)
		return -1;
	f->a = malloc(sizeof(*f->a));
	f->b = malloc(sizeof(*f->b));
	if (!f->a || !f->b)
		return -1;
	/* Garbage in the struct must not matter: init sets what it needs. */
	memset(f->a, 0xa5, sizeof(*f->a));
	memset(f->b, 0xa5, sizeof(*f->b));
	bh_chan_init(f->a, f->sv[0], BIG_QUEUE);
	bh_chan_init(f->b, f->sv[1], BIG_QUEUE);
	*state = f;
	return 0;
}

static int fx_teardown(void **state)
{
	struct fx *f = *state;

	bh_chan_free(f->a);
	bh_chan_free(f->b);
	free(f->a);
	free(f->b);
	if (f->sv[0] >= 0)
		close(f->sv[0]);
	if (f->sv[1] >= 0)
		close(f->sv[1]);
	free(f);
	return 0;
}

/* Deterministic payload bytes, different for each frame. */
static void fill(uint8_t *p, size_t len, unsigned seed)
{
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = (uint8_t)(seed * 131u + i * 7u + (i >> 8));
}

struct want {
	uint32_t type, stream, len;
	unsigned seed;
};

static void check_frame(const struct want *w, const struct bh_frame_hdr *h,
			const uint8_t *payload, uint8_t *scratch)
{
	assert_int_equal(h->type, w->type);
	assert_int_equal(h->stream, w->stream);
	assert_int_equal(h->len, w->len);
	fill(scratch, w->len, w->seed);
	if (w->len)
		assert_memory_equal(payload, scratch, w->len);
}

/* Moves everything queued on `from` to `to`, checking that the frames that
 * come out are exactly `want`, in order. */
static void transfer_expect(struct bh_chan *from, struct bh_chan *to,
			    const struct want *want, size_t n)
{
	uint8_t *scratch = malloc(BH_FRAME_MAX_PAYLOAD);
	size_t got = 0, rounds;

	assert_non_null(scratch);
	for (rounds = 0; rounds < 100000; rounds++) {
		struct bh_frame_hdr h;
		const uint8_t *payload;
		int fr = bh_chan_flush(from), r;
		long rd;

		assert_true(fr == 0 || fr == 1);
		rd = bh_chan_read(to);
		assert_true(rd > 0 || rd == -EAGAIN);
		while ((r = bh_chan_next(to, &h, &payload)) == 1) {
			assert_true(got < n);
			check_frame(&want[got], &h, payload, scratch);
			got++;
		}
		assert_int_equal(r, 0);
		if (fr == 0 && rd == -EAGAIN)
			break;
	}
	assert_int_equal(got, n);
	assert_int_equal(bh_chan_pending(from), 0);
	free(scratch);
}

static void queue(struct bh_chan *c, const struct want *w)
{
	uint8_t *p = malloc(w->len ? w->len : 1);

	assert_non_null(p);
	fill(p, w->len, w->seed);
	assert_int_equal(bh_chan_send(c, w->type, w->stream, w->len ? p : NULL,
				      w->len),
			 0);
	free(p);
}

/* ---- tests ---- */

static void test_frames_in_order(void **state)
{
	struct fx *f = *state;
	static const struct want frames[] = {
		{ BH_MSG_HELLO, 0, 8, 1 },
		{ BH_MSG_STDOUT, 1, 0, 2 },
		{ BH_MSG_STDIN, 2, BH_FRAME_MAX_PAYLOAD, 3 },
		{ BH_MSG_STDERR, 3, 1, 4 },
		{ BH_MSG_STDOUT, 1, 0, 5 },
		{ BH_MSG_EXEC, 0xffffffffu, BH_FRAME_MAX_PAYLOAD, 6 },
		{ BH_MSG_POWEROFF, 0, 0, 7 },
		{ BH_MSG_STDOUT, 4, 4093, 8 },
	};
	size_t i;

	for (i = 0; i < ARRAY_LEN(frames); i++)
		queue(f->a, &frames[i]);
	assert_int_equal(bh_chan_pending(f->a),
			 ARRAY_LEN(frames) * BH_FRAME_HDR_LEN + 8 + 1 + 4093 +
				 2 * BH_FRAME_MAX_PAYLOAD);
	transfer_expect(f->a, f->b, frames, ARRAY_LEN(frames));

	/* And the other way on the same pair. */
	for (i = 0; i < 3; i++)
		queue(f->b, &frames[i]);
	transfer_expect(f->b, f->a, frames, 3);
}

static void test_send_u32(void **state)
{
	struct fx *f = *state;
	struct bh_frame_hdr h;
	const uint8_t *p;
	static const uint8_t le[4] = { 0x04, 0x03, 0x02, 0x01 };

	assert_int_equal(bh_chan_send_u32(f->a, BH_MSG_CREDIT, 9, 0x01020304u),
			 0);
	assert_int_equal(bh_chan_flush(f->a), 0);
	assert_int_equal(bh_chan_read(f->b), BH_FRAME_HDR_LEN + 4);
	assert_int_equal(bh_chan_next(f->b, &h, &p), 1);
	assert_int_equal(h.type, BH_MSG_CREDIT);
	assert_int_equal(h.stream, 9);
	assert_int_equal(h.len, 4);
	assert_memory_equal(p, le, 4);
	assert_int_equal(bh_chan_next(f->b, &h, &p), 0);
}

static void test_nothing_to_read(void **state)
{
	struct fx *f = *state;
	struct bh_frame_hdr h;
	const uint8_t *p;

	assert_int_equal(bh_chan_read(f->b), -EAGAIN);
	assert_int_equal(bh_chan_next(f->b, &h, &p), 0);
	assert_int_equal(bh_chan_flush(f->a), 0);
	assert_int_equal(bh_chan_pending(f->a), 0);
}

/* Writes raw bytes one at a time; a frame must come out exactly when its
 * last byte has arrived, never before. */
static void test_one_byte_writes(void **state)
{
	struct fx *f = *state;
	static const struct want frames[] = {
		{ BH_MSG_STDOUT, 1, 5, 11 },
		{ BH_MSG_STDIN, 2, 0, 12 },
		{ BH_MSG_STDERR, 0x01020304u, 300, 13 },
		{ BH_MSG_CREDIT, 7, 4, 14 },
	};
	uint8_t raw[4 * BH_FRAME_HDR_LEN + 5 + 300 + 4], payload[300];
	uint8_t scratch[300];
	size_t ends[ARRAY_LEN(frames)], off = 0, i, next = 0;

	for (i = 0; i < ARRAY_LEN(frames); i++) {
		fill(payload, frames[i].len, frames[i].seed);
		off += bh_frame_build(raw + off, frames[i].type,
				      frames[i].stream, payload, frames[i].len);
		ends[i] = off;
	}
	assert_int_equal(off, sizeof(raw));

	for (i = 0; i < sizeof(raw); i++) {
		struct bh_frame_hdr h;
		const uint8_t *p;
		int r;

		assert_int_equal(write(f->sv[0], raw + i, 1), 1);
		assert_int_equal(bh_chan_read(f->b), 1);
		r = bh_chan_next(f->b, &h, &p);
		if (next < ARRAY_LEN(frames) && i + 1 == ends[next]) {
			assert_int_equal(r, 1);
			check_frame(&frames[next], &h, p, scratch);
			next++;
		} else {
			assert_int_equal(r, 0);
		}
		assert_int_equal(bh_chan_read(f->b), -EAGAIN);
	}
	assert_int_equal(next, ARRAY_LEN(frames));
}

static void write_hdr(int fd, uint32_t type, uint32_t stream, uint32_t len)
{
	struct bh_frame_hdr h = { type, stream, len };
	uint8_t buf[BH_FRAME_HDR_LEN];

	bh_frame_hdr_encode(buf, &h);
	assert_int_equal(bh_write_all(fd, buf, sizeof(buf)), 0);
}

static void test_hostile_len(void **state)
{
	struct fx *f = *state;
	static const uint32_t bad[] = { BH_FRAME_MAX_PAYLOAD + 1, 0x80000000u,
					0xffffffffu };
	uint8_t payload[3] = { 'a', 'b', 'c' };
	struct bh_frame_hdr h;
	const uint8_t *p;
	size_t i;

	for (i = 0; i < ARRAY_LEN(bad); i++) {
		/* A good frame first: it still comes out. */
		write_hdr(f->sv[0], BH_MSG_STDOUT, 1, 3);
		assert_int_equal(write(f->sv[0], payload, 3), 3);
		write_hdr(f->sv[0], BH_MSG_STDOUT, 1, bad[i]);
		assert_true(bh_chan_read(f->b) > 0);
		assert_int_equal(bh_chan_next(f->b, &h, &p), 1);
		assert_int_equal(h.len, 3);
		assert_memory_equal(p, "abc", 3);
		assert_int_equal(bh_chan_next(f->b, &h, &p), -EMSGSIZE);
		/* It stays refused: the bad header is not skipped. */
		assert_int_equal(bh_chan_next(f->b, &h, &p), -EMSGSIZE);
		/* Reset for the next length. */
		bh_chan_init(f->b, f->sv[1], BIG_QUEUE);
	}
}

static void test_max_len_waits_for_payload(void **state)
{
	struct fx *f = *state;
	uint8_t *payload = calloc(1, BH_FRAME_MAX_PAYLOAD);
	struct bh_frame_hdr h;
	const uint8_t *p;
	size_t sent = 0;

	assert_non_null(payload);
	write_hdr(f->sv[0], BH_MSG_STDIN, 1, BH_FRAME_MAX_PAYLOAD);
	assert_int_equal(write(f->sv[0], payload, 100), 100);
	assert_true(bh_chan_read(f->b) > 0);
	assert_int_equal(bh_chan_next(f->b, &h, &p), 0);
	sent = 100;
	payload[BH_FRAME_MAX_PAYLOAD - 1] = 0x5c;
	while (sent < BH_FRAME_MAX_PAYLOAD) {
		ssize_t n = write(f->sv[0], payload + sent,
				  BH_FRAME_MAX_PAYLOAD - sent);

		if (n > 0)
			sent += (size_t)n;
		assert_true(n > 0 || errno == EAGAIN);
		while (bh_chan_read(f->b) > 0)
			;
		if (sent < BH_FRAME_MAX_PAYLOAD)
			assert_int_equal(bh_chan_next(f->b, &h, &p), 0);
	}
	while (bh_chan_read(f->b) > 0)
		;
	assert_int_equal(bh_chan_next(f->b, &h, &p), 1);
	assert_int_equal(h.len, BH_FRAME_MAX_PAYLOAD);
	assert_int_equal(p[BH_FRAME_MAX_PAYLOAD - 1], 0x5c);
	assert_int_equal(bh_chan_next(f->b, &h, &p), 0);
	free(payload);
}

static void test_send_limits(void **state)
{
	struct fx *f = *state;
	static const struct want w[] = {
		{ BH_MSG_STDOUT, 1, 50, 21 }, /* 62 bytes */
		{ BH_MSG_STDOUT, 1, 26, 22 }, /* 38: total exactly 100 */
		{ BH_MSG_STDERR, 2, 88, 23 }, /* 100 alone */
	};
	uint8_t big[BH_FRAME_MAX_PAYLOAD + 1];

	memset(big, 0, sizeof(big));
	bh_chan_init(f->a, f->sv[0], 100);
	queue(f->a, &w[0]);
	assert_int_equal(bh_chan_pending(f->a), 62);
	/* 62 + 12 + 27 = 101 > 100 */
	assert_int_equal(bh_chan_send(f->a, BH_MSG_STDOUT, 1, big, 27),
			 -ENOBUFS);
	assert_int_equal(bh_chan_pending(f->a), 62);
	assert_int_equal(bh_chan_send(f->a, BH_MSG_STDOUT, 1, big, 1000),
			 -ENOBUFS);
	assert_int_equal(bh_chan_pending(f->a), 62);
	queue(f->a, &w[1]);
	assert_int_equal(bh_chan_pending(f->a), 100);
	assert_int_equal(bh_chan_send(f->a, BH_MSG_STDOUT, 1, NULL, 0),
			 -ENOBUFS);
	/* What was refused left no trace: exactly two frames arrive. */
	transfer_expect(f->a, f->b, w, 2);

	/* Usable again once drained, up to the limit. */
	queue(f->a, &w[2]);
	assert_int_equal(bh_chan_send(f->a, BH_MSG_STDOUT, 1, NULL, 0),
			 -ENOBUFS);
	transfer_expect(f->a, f->b, &w[2], 1);

	/* Over the frame limit, whatever the queue limit. */
	bh_chan_init(f->b, f->sv[1], BIG_QUEUE);
	assert_int_equal(bh_chan_send(f->b, BH_MSG_STDOUT, 1, big,
				      BH_FRAME_MAX_PAYLOAD + 1),
			 -EMSGSIZE);
	assert_int_equal(bh_chan_send(f->b, BH_MSG_STDOUT, 1, big,
				      0xffffffffu),
			 -EMSGSIZE);
	assert_int_equal(bh_chan_pending(f->b), 0);
	assert_int_equal(bh_chan_send(f->b, BH_MSG_STDOUT, 1, big,
				      BH_FRAME_MAX_PAYLOAD),
			 0);
	assert_int_equal(bh_chan_pending(f->b),
			 BH_FRAME_HDR_LEN + BH_FRAME_MAX_PAYLOAD);
}

/* The peer stops reading: flush reports work left, nothing is lost, and
 * once the peer drains, flush completes. */
static void test_flush_backpressure(void **state)
{
	struct fx *f = *state;
	enum { N = 64 };
	struct want w[N];
	size_t i, total = 0, left;
	int sz = 4096;

	assert_int_equal(setsockopt(f->sv[0], SOL_SOCKET, SO_SNDBUF, &sz,
				    sizeof(sz)),
			 0);
	for (i = 0; i < N; i++) {
		w[i] = (struct want){ BH_MSG_STDOUT, (uint32_t)(1 + i % 5),
				      (uint32_t)(i % 3 ? BH_FRAME_MAX_PAYLOAD :
							 i * 97),
				      (unsigned)(100 + i) };
		queue(f->a, &w[i]);
		total += BH_FRAME_HDR_LEN + w[i].len;
	}
	assert_int_equal(bh_chan_pending(f->a), total);

	assert_int_equal(bh_chan_flush(f->a), 1);
	left = bh_chan_pending(f->a);
	assert_true(left > 0);
	assert_true(left < total);
	/* Still stuck: no progress, same answer. */
	assert_int_equal(bh_chan_flush(f->a), 1);
	assert_int_equal(bh_chan_pending(f->a), left);

	/* The peer drains: every byte arrives, in order, and flush ends. */
	transfer_expect(f->a, f->b, w, N);
	assert_int_equal(bh_chan_flush(f->a), 0);
	assert_int_equal(bh_chan_pending(f->a), 0);
}

static void test_flush_queue_while_stuck(void **state)
{
	struct fx *f = *state;
	struct want w[40];
	size_t i;

	for (i = 0; i < 20; i++) {
		w[i] = (struct want){ BH_MSG_STDERR, 3, BH_FRAME_MAX_PAYLOAD,
				      (unsigned)i };
		queue(f->a, &w[i]);
	}
	assert_int_equal(bh_chan_flush(f->a), 1);
	/* Append behind a partly written queue: order kept. */
	for (i = 20; i < 40; i++) {
		w[i] = (struct want){ BH_MSG_STDERR, 3, (uint32_t)(i * 13),
				      (unsigned)i };
		queue(f->a, &w[i]);
	}
	transfer_expect(f->a, f->b, w, 40);
}

static void test_read_nobufs(void **state)
{
	struct fx *f = *state;
	static const struct want w[] = {
		{ BH_MSG_STDIN, 1, BH_FRAME_MAX_PAYLOAD, 31 },
		{ BH_MSG_STDIN, 1, BH_FRAME_MAX_PAYLOAD, 32 },
		{ BH_MSG_STDIN, 1, BH_FRAME_MAX_PAYLOAD, 33 },
	};
	uint8_t *scratch = malloc(BH_FRAME_MAX_PAYLOAD);
	struct bh_frame_hdr h;
	const uint8_t *p;
	long r = 0;
	size_t i;

	assert_non_null(scratch);
	for (i = 0; i < ARRAY_LEN(w); i++)
		queue(f->a, &w[i]);
	/* Read without consuming until the input buffer is full. */
	for (i = 0; i < 100000; i++) {
		int fr = bh_chan_flush(f->a);

		r = bh_chan_read(f->b);
		if (r == -ENOBUFS)
			break;
		assert_true(r > 0 || (r == -EAGAIN && fr == 1));
	}
	assert_int_equal(r, -ENOBUFS);
	/* Consuming one frame makes room again. */
	assert_int_equal(bh_chan_next(f->b, &h, &p), 1);
	check_frame(&w[0], &h, p, scratch);
	transfer_expect(f->a, f->b, &w[1], 2);
	free(scratch);
}

static void test_eof(void **state)
{
	struct fx *f = *state;
	static const struct want w = { BH_MSG_EXIT, 4, 8, 41 };
	uint8_t scratch[8];
	struct bh_frame_hdr h;
	const uint8_t *p;

	queue(f->a, &w);
	assert_int_equal(bh_chan_flush(f->a), 0);
	close(f->sv[0]);
	f->sv[0] = -1;
	/* Data before the end still arrives, then end of file. */
	assert_int_equal(bh_chan_read(f->b), BH_FRAME_HDR_LEN + 8);
	assert_int_equal(bh_chan_read(f->b), 0);
	assert_int_equal(bh_chan_next(f->b, &h, &p), 1);
	check_frame(&w, &h, p, scratch);
	assert_int_equal(bh_chan_read(f->b), 0);
	assert_int_equal(bh_chan_next(f->b, &h, &p), 0);
}

static void test_eof_mid_frame(void **state)
{
	struct fx *f = *state;
	struct bh_frame_hdr h;
	const uint8_t *p;

	write_hdr(f->sv[0], BH_MSG_STDOUT, 1, 10);
	assert_int_equal(write(f->sv[0], "12345", 5), 5);
	close(f->sv[0]);
	f->sv[0] = -1;
	assert_int_equal(bh_chan_read(f->b), BH_FRAME_HDR_LEN + 5);
	assert_int_equal(bh_chan_read(f->b), 0);
	/* A half frame is never handed out. */
	assert_int_equal(bh_chan_next(f->b, &h, &p), 0);
}

static void test_flush_peer_gone(void **state)
{
	struct fx *f = *state;

	close(f->sv[1]);
	f->sv[1] = -1;
	assert_int_equal(bh_chan_send(f->a, BH_MSG_STDOUT, 1, "x", 1), 0);
	/* SIGPIPE is ignored in main(), as the programs must do. */
	assert_int_equal(bh_chan_flush(f->a), -EPIPE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)
		T(test_frames_in_order),
		T(test_send_u32),
		T(test_nothing_to_read),
		T(test_one_byte_writes),
		T(test_hostile_len),
		T(test_max_len_waits_for_payload),
		T(test_send_limits),
		T(test_flush_backpressure),
		T(test_flush_queue_while_stuck),
		T(test_read_nobufs),
		T(test_eof),
		T(test_eof_mid_frame),
		T(test_flush_peer_gone),
#undef T
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests_name("chan", tests, NULL, NULL);
}

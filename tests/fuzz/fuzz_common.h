/* Helpers shared by the libFuzzer targets tests/fuzz/fuzz_*.c. Each target
 * is its own binary (one translation unit), so everything here is static
 * inline or a macro, and a target uses only what it needs.
 *
 * The channel helpers (fuzz_prefix, fuzz_next_chunk, fuzz_feed, ...) serve
 * the targets whose input is a byte stream on a socket pair, reassembled by
 * a struct bh_chan: fuzz_agent_frames and fuzz_host_frames. Their input
 * starts the same way: byte 0 bits 0-2 pick how the stream is cut into
 * reads (fuzz_next_chunk), byte 1 seeds the randomness (fuzz_seed). */
#ifndef BH_TESTS_FUZZ_COMMON_H
#define BH_TESTS_FUZZ_COMMON_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#include "lib/util.h"
#include "proto/chan.h"
#include "proto/frame.h"

/* libFuzzer's entry points (prototyped for -Wmissing-prototypes). */
int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Aborts with the condition and its place when an invariant is broken:
 * libFuzzer counts the abort as a crash. */
#define CHECK(cond)                                                        \
	do {                                                               \
		if (!(cond)) {                                             \
			fprintf(stderr, "%s:%d: invariant broken: %s\n",   \
				__FILE__, __LINE__, #cond);                \
			abort();                                           \
		}                                                          \
	} while (0)

/* The checks are not what is being fuzzed: no coverage feedback from
 * them, so that they cost little and do not steer the fuzzer. */
#define NO_COVERAGE __attribute__((no_sanitize("coverage")))

/* A string field of cap bytes: NUL-terminated inside it, printable
 * ASCII before the NUL. */
NO_COVERAGE
static inline void fuzz_check_printable(const char *s, size_t cap)
{
	size_t i, n = strnlen(s, cap);

	CHECK(n < cap);
	for (i = 0; i < n; i++)
		CHECK(s[i] >= 0x20 && s[i] < 0x7f);
}

/* A non-blocking, close-on-exec Unix stream socket pair in sv, made once
 * per process; on failure perror(what) and abort. */
static inline void fuzz_socketpair(int sv[2], const char *what)
{
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0 ||
	    bh_set_nonblock(sv[0], 1) < 0 || bh_set_nonblock(sv[1], 1) < 0) {
		perror(what);
		abort();
	}
}

/* Reads what is left on the non-blocking fd until it would block (which
 * it must: nobody closes the other end); returns the byte count, copying
 * up to cap of them to out (out may be NULL). */
NO_COVERAGE
static inline size_t fuzz_drain(int fd, char *out, size_t cap)
{
	char buf[4096];
	size_t total = 0;
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		if (out && total < cap)
			memcpy(out + total, buf,
			       (size_t)n < cap - total ? (size_t)n
						      : cap - total);
		total += (size_t)n;
	}
	CHECK(n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK));
	return total;
}

/* ---- byte streams of frames on a socket pair ---- */

/* Frames built once, at initialisation, that a target sends before the
 * input when byte 0 asks for them. */
struct fuzz_prefix {
	uint8_t *buf;
	size_t len;
};

/* Appends one frame to p. */
static inline void fuzz_add_frame(struct fuzz_prefix *p, uint32_t type,
				  uint32_t stream, const void *payload,
				  uint32_t len)
{
	uint8_t *b = realloc(p->buf, p->len + BH_FRAME_HDR_LEN + len);

	CHECK(b != NULL);
	p->buf = b;
	p->len += bh_frame_build(b + p->len, type, stream, payload, len);
}

/* A frame's worth of zero bytes, for payloads whose content is not the
 * point. */
static const uint8_t fuzz_zeros[BH_FRAME_MAX_PAYLOAD];

/* Appends `bytes` zero bytes of `type` on `stream`, in full frames (the
 * last one holds the rest). */
static inline void fuzz_add_zero_frames(struct fuzz_prefix *p, uint32_t type,
					uint32_t stream, uint32_t bytes)
{
	while (bytes) {
		uint32_t n = bytes < BH_FRAME_MAX_PAYLOAD ? bytes
							  : BH_FRAME_MAX_PAYLOAD;

		fuzz_add_frame(p, type, stream, fuzz_zeros, n);
		bytes -= n;
	}
}

/* xorshift32: cheap randomness from the input's seed byte. */
static uint32_t fuzz_rng;

/* Seeds fuzz_rnd from bytes 0 and 1 of the input (size >= 2). */
static inline void fuzz_seed(const uint8_t *data)
{
	fuzz_rng = 0x9e3779b9u ^ ((uint32_t)data[1] << 8 | data[0]);
}

/* The next number of the sequence fuzz_seed started. */
static inline uint32_t fuzz_rnd(void)
{
	fuzz_rng ^= fuzz_rng << 13;
	fuzz_rng ^= fuzz_rng >> 17;
	fuzz_rng ^= fuzz_rng << 5;
	return fuzz_rng;
}

/* One write into the socket: at most one full frame. */
#define FUZZ_MAX_WRITE (BH_FRAME_HDR_LEN + BH_FRAME_MAX_PAYLOAD)

/* The size of the next write for read mode `mode` (byte 0 bits 0-2):
 * 0, a full frame's worth (as few reads as possible); else random, from 1
 * up to a bound that grows with the mode. */
static inline size_t fuzz_next_chunk(unsigned mode)
{
	static const size_t bound[8] = { FUZZ_MAX_WRITE, 4, 16, 64, 512,
					 4096, 20000, FUZZ_MAX_WRITE };

	if (mode == 0)
		return FUZZ_MAX_WRITE;
	return 1 + fuzz_rnd() % bound[mode & 7];
}

/* Walks the frames queued on c, calling fn on each; then empties the
 * queue as a complete bh_chan_flush would. */
NO_COVERAGE
static inline void fuzz_take_queue(struct bh_chan *c,
				   void (*fn)(const struct bh_frame_hdr *h,
					      const uint8_t *p))
{
	size_t left = bh_chan_pending(c);
	const uint8_t *q;

	if (!left)
		return; /* c->out may be NULL: no pointer arithmetic on it */
	q = c->out + c->out_off;
	while (left) {
		struct bh_frame_hdr h;

		CHECK(left >= BH_FRAME_HDR_LEN);
		CHECK(bh_frame_hdr_decode(q, &h) == 0);
		CHECK(left - BH_FRAME_HDR_LEN >= h.len);
		fn(&h, q + BH_FRAME_HDR_LEN);
		q += BH_FRAME_HDR_LEN + h.len;
		left -= BH_FRAME_HDR_LEN + h.len;
	}
	c->out_off = c->out_len = 0;
}

/* How fuzz_feed hands a target's byte stream to the code under test. */
struct fuzz_reader {
	int fd;               /* our end of the socket pair: written to */
	struct bh_chan *chan; /* on the other end: bh_chan_read from it */
	/* Before each bh_chan_read (may be NULL): 0 when the code under
	 * test would not read now, which ends fuzz_feed (it returns 0). */
	int (*may_read)(int opt);
	/* Each complete frame, to the code under test and the per-frame
	 * checks: nonzero when it stops serving (fuzz_feed returns 1). */
	int (*frame)(const struct bh_frame_hdr *h, const uint8_t *payload);
	/* After all the bytes of each write are read (may be NULL). */
	void (*after_write)(int opt);
};

/* Writes buf into r->fd in writes of fuzz_next_chunk(mode) bytes, reads
 * each write's bytes from r->chan as the code under test does and hands
 * every complete frame to r->frame; opt goes to the target's may_read and
 * after_write. Returns 1 once the code under test would have stopped
 * serving (its frame hook said so, or a header over the length limit),
 * else 0. */
static inline int fuzz_feed(const struct fuzz_reader *r, const uint8_t *buf,
			    size_t len, unsigned mode, int opt)
{
	size_t off = 0;

	while (off < len) {
		size_t want = fuzz_next_chunk(mode), got = 0;
		ssize_t w;

		if (want > len - off)
			want = len - off;
		w = write(r->fd, buf + off, want);
		CHECK(w > 0);
		off += (size_t)w;
		while (got < (size_t)w) {
			struct bh_frame_hdr h;
			const uint8_t *payload;
			long n;
			int ret;

			if (r->may_read && !r->may_read(opt))
				return 0;
			n = bh_chan_read(r->chan);
			CHECK(n > 0);
			got += (size_t)n;
			while ((ret = bh_chan_next(r->chan, &h, &payload)) > 0)
				if (r->frame(&h, payload))
					return 1;
			if (ret < 0) {
				CHECK(ret == -EMSGSIZE);
				return 1;
			}
		}
		if (r->after_write)
			r->after_write(opt);
	}
	return 0;
}

/* Feeds an input laid out as the channel targets' are: first, if byte 0
 * bits 5-7 are 4-7, prefixes[bits - 4] in full writes (opt: byte 0 bit 4
 * if prefix_too, else 0); then, unless the code under test has stopped
 * serving, the bytes from 2 on in the read mode of bits 0-2, with opt
 * byte 0 bit 4. size must be at least 2. */
static inline void fuzz_feed_input(const struct fuzz_reader *r,
				   const struct fuzz_prefix prefixes[4],
				   const uint8_t *data, size_t size,
				   int prefix_too)
{
	unsigned prefix = data[0] >> 5;
	int opt = (data[0] & 16) != 0;

	if (prefix < 4 || !fuzz_feed(r, prefixes[prefix - 4].buf,
				     prefixes[prefix - 4].len, 0,
				     prefix_too ? opt : 0))
		fuzz_feed(r, data + 2, size - 2, data[0] & 7, opt);
}

#endif

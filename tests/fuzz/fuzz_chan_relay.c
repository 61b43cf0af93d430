/* libFuzzer target: the channel process's relay (src/chan/relay.c), i.e.
 * the bytes a hostile qube writes on its control channel, on their way to
 * the daemon. They go into a real relay over two fresh non-blocking socket
 * pairs (the qube's channel and the link), driven as bulkhead-chan's loop
 * drives it: the qube is read only while chan_relay_guest_readable, and
 * what the relay queues for the daemon is flushed into the link and read
 * there.
 *
 * Input:
 *   byte 0   bits 0-2  how the stream is cut into writes (0: as few as
 *                      possible; else random sizes up to a bound)
 *            bit 3     the qube closes its end after the input
 *            bit 4     a slow daemon: it reads the link only when the
 *                      relay has stopped reading the qube for it (the
 *                      pause), and at the end
 *            bits 5-7  4: the qube first sends HELLO and 320 KiB of
 *                      stdout (full frames), so that short inputs meet
 *                      the pause (the link's socket buffers only a few
 *                      KiB); 5: HELLO only; else nothing
 *   byte 1   seed of the random write sizes
 *   rest     the qube's byte stream
 *
 * Checked at the end, once everything the relay queued was read: what the
 * daemon got parses as whole frames; each of them but the last passes
 * chan_relay_check on its own and is no BROKEN; a BROKEN is last, parses
 * (bh_parse_chan_broken) and the relay is broken then, and only then.
 * And it is exactly what a model over the whole stream says, however the
 * stream was cut: the qube's frames, byte for byte, up to the first that
 * chan_relay_check refuses (BROKEN FRAME with its header) or whose header
 * is over the length limit (BROKEN OVERSIZED with zeros); a frame cut short
 * at the end is dropped. Queues stay within CHAN_RELAY_QUEUE_MAX, the
 * relay pauses only with CHAN_RELAY_PAUSE_BYTES queued, and guest_eof is
 * set exactly when the qube closed its end (or not read, once broken). */
#include <errno.h>
#include <poll.h>

#include "chan/relay.h"
#include "fuzz_common.h"

#define IN_MAX (1u << 20)

struct out {
	uint8_t *p;
	size_t len, cap;
};

static struct chan_relay relay;
static int g[2], l[2]; /* [0] the relay's ends, [1] the qube's, daemon's */
static struct out got, want;
static struct fuzz_prefix prefixes[2];

NO_COVERAGE
static void out_add(struct out *o, const void *p, size_t len)
{
	if (o->len + len > o->cap) {
		size_t cap = o->cap ? o->cap : 65536;
		uint8_t *n;

		while (cap < o->len + len)
			cap *= 2;
		n = realloc(o->p, cap);
		CHECK(n != NULL);
		o->p = n;
		o->cap = cap;
	}
	if (len)
		memcpy(o->p + o->len, p, len);
	o->len += len;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	uint8_t hello[8];

	(void)argc;
	(void)argv;
	bh_put_u32(hello, BH_PROTO_VERSION);
	bh_put_u32(hello + 4, 0);
	fuzz_add_frame(&prefixes[0], BH_MSG_HELLO, 0, hello, 8);
	/* A frame more than the pause: the link's socket takes a little
	 * (see small_link). */
	fuzz_add_zero_frames(&prefixes[0], BH_MSG_STDOUT, 1,
			     CHAN_RELAY_PAUSE_BYTES + BH_FRAME_MAX_PAYLOAD);
	fuzz_add_frame(&prefixes[1], BH_MSG_HELLO, 0, hello, 8);
	return 0;
}

NO_COVERAGE
static int has_input(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int r;

	/* libFuzzer's timers (-timeout, -max_total_time) interrupt it. */
	do
		r = poll(&p, 1, 0);
	while (r < 0 && errno == EINTR);
	CHECK(r >= 0);
	return p.revents != 0;
}

/* The link's socket buffers little, so that what the daemon does not
 * read stays in the relay's queue, where the pause looks. */
static void small_link(void)
{
	int sz = 4096;

	if (setsockopt(l[0], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz)) < 0 ||
	    setsockopt(l[1], SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz)) < 0) {
		perror("fuzz_chan_relay: setsockopt");
		abort();
	}
}

/* The daemon reads all the relay has for it. */
NO_COVERAGE
static void daemon_reads(void)
{
	uint8_t buf[16384];
	ssize_t n;
	int k;

	do {
		k = bh_chan_flush(&relay.link);
		CHECK(k == 0 || k == 1);
		while ((n = read(l[1], buf, sizeof(buf))) > 0)
			out_add(&got, buf, (size_t)n);
		CHECK(n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK));
	} while (k == 1);
	CHECK(bh_chan_pending(&relay.link) == 0);
}

/* One turn of bulkhead-chan's loop for the qube's side, until the relay
 * has read all there is or stops reading. */
static void relay_runs(int slow_daemon)
{
	for (;;) {
		if (!chan_relay_guest_readable(&relay)) {
			if (relay.broken || relay.guest_eof)
				return;
			/* Paused: only for a full queue for the daemon. */
			CHECK(bh_chan_pending(&relay.link) >=
			      CHAN_RELAY_PAUSE_BYTES);
			CHECK(slow_daemon);
			daemon_reads();
			CHECK(chan_relay_guest_readable(&relay));
			continue;
		}
		if (!has_input(g[0]))
			return;
		CHECK(chan_relay_guest_input(&relay) == 0);
		CHECK(bh_chan_pending(&relay.link) <= CHAN_RELAY_QUEUE_MAX);
		CHECK(bh_chan_pending(&relay.guest) == 0);
		if (slow_daemon)
			CHECK(bh_chan_flush(&relay.link) >= 0);
		else
			daemon_reads();
	}
}

/* The qube writes buf in writes cut by `mode`. Returns 0 once the relay
 * is broken and the socket full (the rest would never be read). */
static int qube_writes(const uint8_t *buf, size_t len, unsigned mode,
		       int slow_daemon)
{
	size_t off = 0;

	while (off < len) {
		size_t n = fuzz_next_chunk(mode);
		ssize_t w;

		if (n > len - off)
			n = len - off;
		w = write(g[1], buf + off, n);
		if (w < 0) {
			CHECK(errno == EAGAIN || errno == EWOULDBLOCK);
			if (relay.broken)
				return 0;
			/* A reading relay makes room below. */
		} else {
			off += (size_t)w;
		}
		relay_runs(slow_daemon);
	}
	return 1;
}

/* What the daemon must get for `stream`, the qube's whole byte stream;
 * sets *broke when it ends in BROKEN. */
NO_COVERAGE
static void model(const uint8_t *stream, size_t len, int *broke)
{
	size_t off = 0;

	*broke = 0;
	while (len - off >= BH_FRAME_HDR_LEN) {
		struct bh_frame_hdr h;
		struct bh_chan_broken b = { 0 };
		uint8_t p[BH_CHAN_BROKEN_LEN], hdr[BH_FRAME_HDR_LEN];

		if (bh_frame_hdr_decode(stream + off, &h) < 0) {
			b.why = BH_BROKEN_OVERSIZED;
		} else if (len - off - BH_FRAME_HDR_LEN < h.len) {
			return; /* cut short */
		} else if (chan_relay_check(&h, stream + off +
						    BH_FRAME_HDR_LEN) < 0) {
			b = (struct bh_chan_broken){ BH_BROKEN_FRAME, h.type,
						     h.stream, h.len };
		} else {
			out_add(&want, stream + off,
				BH_FRAME_HDR_LEN + h.len);
			off += BH_FRAME_HDR_LEN + h.len;
			continue;
		}
		bh_chan_broken_encode(p, &b);
		bh_frame_hdr_encode(hdr, &(struct bh_frame_hdr){
						 BH_MSG_CHAN_BROKEN, 0,
						 BH_CHAN_BROKEN_LEN });
		out_add(&want, hdr, sizeof(hdr));
		out_add(&want, p, sizeof(p));
		*broke = 1;
		return;
	}
}

/* The checks of what the daemon got that need no model. */
NO_COVERAGE
static void check_frames(void)
{
	size_t off = 0;

	while (off < got.len) {
		struct bh_frame_hdr h;
		const uint8_t *p;

		CHECK(got.len - off >= BH_FRAME_HDR_LEN);
		CHECK(bh_frame_hdr_decode(got.p + off, &h) == 0);
		CHECK(got.len - off - BH_FRAME_HDR_LEN >= h.len);
		p = got.p + off + BH_FRAME_HDR_LEN;
		off += BH_FRAME_HDR_LEN + h.len;
		if (h.type == BH_MSG_CHAN_BROKEN) {
			struct bh_chan_broken b;

			CHECK(off == got.len);
			CHECK(h.stream == 0);
			CHECK(bh_parse_chan_broken(p, h.len, &b) == 0);
			if (b.why == BH_BROKEN_OVERSIZED)
				CHECK(b.type == 0 && b.stream == 0 &&
				      b.len == 0);
			else
				CHECK(b.len <= BH_FRAME_MAX_PAYLOAD);
			CHECK(relay.broken);
		} else {
			CHECK(chan_relay_check(&h, p) == 0);
		}
	}
	if (relay.broken) {
		struct bh_frame_hdr h;

		CHECK(got.len >= BH_FRAME_HDR_LEN + BH_CHAN_BROKEN_LEN);
		CHECK(bh_frame_hdr_decode(got.p + got.len - BH_FRAME_HDR_LEN -
						  BH_CHAN_BROKEN_LEN,
					  &h) == 0);
		CHECK(h.type == BH_MSG_CHAN_BROKEN);
	}
}

NO_COVERAGE
static void check_model(const uint8_t *pre, size_t pre_len,
			const uint8_t *in, size_t in_len, int closed)
{
	uint8_t *stream = malloc(pre_len + in_len + 1);
	int broke;

	CHECK(stream != NULL);
	if (pre_len)
		memcpy(stream, pre, pre_len);
	if (in_len)
		memcpy(stream + pre_len, in, in_len);
	want.len = 0;
	model(stream, pre_len + in_len, &broke);
	free(stream);
	CHECK(relay.broken == broke);
	CHECK(got.len == want.len);
	CHECK(!want.len || memcmp(got.p, want.p, want.len) == 0);
	if (!broke)
		CHECK(relay.guest_eof == closed);
	CHECK(!relay.link_eof);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct fuzz_prefix *pre = NULL;
	unsigned mode, prefix;
	int closed, slow;

	if (size < 2 || size > IN_MAX)
		return 0;
	mode = data[0] & 7;
	closed = (data[0] & 8) != 0;
	slow = (data[0] & 16) != 0;
	prefix = data[0] >> 5;
	if (prefix == 4 || prefix == 5)
		pre = &prefixes[prefix - 4];
	fuzz_seed(data);
	fuzz_socketpair(g, "fuzz_chan_relay: socketpair");
	fuzz_socketpair(l, "fuzz_chan_relay: socketpair");
	small_link();
	chan_relay_init(&relay, g[0], l[0]);
	got.len = 0;

	if (!pre || qube_writes(pre->buf, pre->len, 0, slow)) {
		if (qube_writes(data + 2, size - 2, mode, slow) && closed) {
			CHECK(close(g[1]) == 0);
			g[1] = -1;
			relay_runs(slow);
		}
	}
	daemon_reads();
	check_frames();
	check_model(pre ? pre->buf : NULL, pre ? pre->len : 0, data + 2,
		    size - 2, closed && g[1] < 0);

	chan_relay_free(&relay);
	close(g[0]);
	if (g[1] >= 0)
		close(g[1]);
	close(l[0]);
	close(l[1]);
	return 0;
}

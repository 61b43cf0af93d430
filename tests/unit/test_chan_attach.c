/* Unit tests of a re-attach's pieces, in this process:
 *   - proto/chan_attach.c: the request and BH_MSG_CHAN_ATTACH's payload,
 *     encoded, parsed and refused byte by byte;
 *   - src/chan/relay.c: the stream table the payload lists, fed frame
 *     headers both ways, and the relay detached and attached again over
 *     real socket pairs (what was queued for the old daemon is dropped,
 *     the qube is not read meanwhile, the new link starts with
 *     CHAN_ATTACH);
 *   - src/chan/attach.c: chan_attach_take on a real connection, given the
 *     request and every kind of wrong one;
 *   - chan_attach_listen and chan_attach_connect (daemon/engine/chan_proc.c)
 *     against each other.
 * The real bulkhead-chan doing all this is test_chan_reattach. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "chan/attach.h"
#include "chan/relay.h"
#include "daemon/engine/chan_proc.h"
#include "lib/util.h"
#include "proto/chan.h"
#include "proto/chan_attach.h"
#include "proto/frame.h"

#include "unit_frame.h"

#define GBIT BH_STREAM_GUEST_BIT

/* ---- the request ---- */

static void test_req(void **state)
{
	uint8_t b[BH_ATTACH_REQ_LEN + 1];
	size_t i;

	(void)state;
	bh_attach_req_encode(b);
	assert_memory_equal(b, "bhattach\1\0\0\0", BH_ATTACH_REQ_LEN);
	assert_int_equal(bh_attach_req_parse(b, BH_ATTACH_REQ_LEN), 0);
	b[BH_ATTACH_REQ_LEN] = 0;
	for (i = 0; i <= BH_ATTACH_REQ_LEN + 1; i++)
		if (i != BH_ATTACH_REQ_LEN)
			assert_int_equal(bh_attach_req_parse(b, i), -EPROTO);
	/* Any byte changed. */
	for (i = 0; i < BH_ATTACH_REQ_LEN; i++) {
		b[i] ^= 0x20;
		assert_int_equal(bh_attach_req_parse(b, BH_ATTACH_REQ_LEN),
				 -EPROTO);
		b[i] ^= 0x20;
	}
	bh_put_u32(b + 8, 2);
	assert_int_equal(bh_attach_req_parse(b, BH_ATTACH_REQ_LEN), -EPROTO);
}

/* ---- the payload ---- */

static size_t payload(uint8_t *out, uint32_t flags, uint32_t v, uint32_t f,
		      uint32_t count, const uint32_t *pairs)
{
	uint32_t i;

	bh_put_u32(out, flags);
	bh_put_u32(out + 4, v);
	bh_put_u32(out + 8, f);
	bh_put_u32(out + 12, count);
	for (i = 0; i < 2 * count; i++)
		bh_put_u32(out + 16 + 4 * i, pairs[i]);
	return 16 + 8 * (size_t)count;
}

static void expect_info_refused(const uint8_t *b, size_t len)
{
	struct bh_attach_info info;

	assert_int_equal(bh_attach_info_parse(b, len, &info), -EPROTO);
}

static void test_info_roundtrip(void **state)
{
	static uint8_t b[BH_ATTACH_INFO_MAX_LEN + 8], e[BH_ATTACH_INFO_MAX_LEN];
	static struct bh_attach_info in, out;
	uint32_t i;
	size_t n;

	(void)state;
	/* Nothing: 16 bytes of zeros. */
	memset(&in, 0, sizeof(in));
	n = bh_attach_info_encode(e, &in);
	assert_int_equal(n, BH_ATTACH_INFO_FIXED_LEN);
	assert_int_equal(bh_attach_info_parse(e, n, &out), 0);
	assert_int_equal(out.flags, 0);
	assert_int_equal(out.count, 0);
	/* A HELLO and streams of both sides. */
	in.flags = BH_ATTACH_HELLO | BH_ATTACH_OVERFLOW;
	in.hello_version = BH_PROTO_VERSION;
	in.hello_flags = 0x11;
	in.count = 3;
	in.streams[0] = (struct bh_attach_stream){ 5, BH_ATTACH_S_INPUT_EOF };
	in.streams[1] = (struct bh_attach_stream){ GBIT | 3, 0 };
	in.streams[2] = (struct bh_attach_stream){ GBIT, 0 };
	n = bh_attach_info_encode(e, &in);
	assert_int_equal(n, 16 + 3 * 8);
	assert_int_equal(bh_get_u32(e), BH_ATTACH_HELLO | BH_ATTACH_OVERFLOW);
	assert_int_equal(bh_get_u32(e + 4), BH_PROTO_VERSION);
	assert_int_equal(bh_get_u32(e + 8), 0x11);
	assert_int_equal(bh_get_u32(e + 12), 3);
	assert_int_equal(bh_get_u32(e + 16), 5);
	assert_int_equal(bh_get_u32(e + 20), BH_ATTACH_S_INPUT_EOF);
	assert_int_equal(bh_attach_info_parse(e, n, &out), 0);
	assert_int_equal(out.flags, in.flags);
	assert_int_equal(out.hello_version, BH_PROTO_VERSION);
	assert_int_equal(out.hello_flags, 0x11);
	assert_int_equal(out.count, 3);
	assert_memory_equal(out.streams, in.streams, 3 * sizeof(in.streams[0]));
	/* The most: BH_MAX_STREAMS of each side. */
	in.count = BH_ATTACH_STREAMS_MAX;
	for (i = 0; i < BH_MAX_STREAMS; i++) {
		in.streams[i] = (struct bh_attach_stream){ i + 1, 0 };
		in.streams[BH_MAX_STREAMS + i] =
			(struct bh_attach_stream){ GBIT | (i + 7), 0 };
	}
	n = bh_attach_info_encode(e, &in);
	assert_int_equal(n, BH_ATTACH_INFO_MAX_LEN);
	assert_int_equal(bh_attach_info_parse(e, n, &out), 0);
	assert_int_equal(out.count, BH_ATTACH_STREAMS_MAX);
	/* One too many of the daemon's side (the guest's one fewer). */
	bh_put_u32(e + 16 + 8 * (BH_ATTACH_STREAMS_MAX - 1), 999);
	expect_info_refused(e, n);
	/* A count over the max, with the length to match. */
	memcpy(b, e, n);
	bh_put_u32(b + 12, BH_ATTACH_STREAMS_MAX + 1);
	memset(b + n, 0, 8);
	bh_put_u32(b + n, 4000);
	expect_info_refused(b, n + 8);
}

static void test_info_refused(void **state)
{
	static const uint32_t two[] = { 5, 1, GBIT | 3, 0 };
	uint8_t b[64];
	uint32_t s[4];
	size_t n, i;

	(void)state;
	n = payload(b, BH_ATTACH_HELLO, 2, 0, 2, two);
	{
		struct bh_attach_info info;

		assert_int_equal(bh_attach_info_parse(b, n, &info), 0);
	}
	/* Every length but the one its count says. */
	for (i = 0; i < sizeof(b); i++)
		if (i != n)
			expect_info_refused(b, i);
	/* A count that does not match the length. */
	bh_put_u32(b + 12, 1);
	expect_info_refused(b, n);
	bh_put_u32(b + 12, 3);
	expect_info_refused(b, n);
	bh_put_u32(b + 12, 0xffffffffu);
	expect_info_refused(b, n);
	/* Unknown flags. */
	n = payload(b, BH_ATTACH_HELLO | 4, 2, 0, 2, two);
	expect_info_refused(b, n);
	n = payload(b, 0x80000000u, 0, 0, 2, two);
	expect_info_refused(b, n);
	/* hello_* without HELLO. */
	n = payload(b, 0, 2, 0, 2, two);
	expect_info_refused(b, n);
	n = payload(b, BH_ATTACH_OVERFLOW, 0, 1, 2, two);
	expect_info_refused(b, n);
	n = payload(b, BH_ATTACH_OVERFLOW, 0, 0, 2, two);
	{
		struct bh_attach_info info;

		assert_int_equal(bh_attach_info_parse(b, n, &info), 0);
		assert_int_equal(info.flags, BH_ATTACH_OVERFLOW);
	}
	/* Stream 0. */
	memcpy(s, two, sizeof(two));
	s[2] = 0;
	n = payload(b, 0, 0, 0, 2, s);
	expect_info_refused(b, n);
	/* The same id twice (with other flags). */
	s[0] = 7, s[1] = 0, s[2] = 7, s[3] = 1;
	n = payload(b, 0, 0, 0, 2, s);
	expect_info_refused(b, n);
	/* INPUT_EOF on a stream of the guest's; unknown stream flags. */
	s[0] = 7, s[1] = 0, s[2] = GBIT | 7, s[3] = BH_ATTACH_S_INPUT_EOF;
	n = payload(b, 0, 0, 0, 2, s);
	expect_info_refused(b, n);
	s[3] = 0;
	s[1] = 2;
	n = payload(b, 0, 0, 0, 2, s);
	expect_info_refused(b, n);
	/* And the same pair, right: 7 and GBIT|7 are two streams. */
	s[1] = BH_ATTACH_S_INPUT_EOF;
	n = payload(b, 0, 0, 0, 2, s);
	{
		struct bh_attach_info info;

		assert_int_equal(bh_attach_info_parse(b, n, &info), 0);
		assert_int_equal(info.count, 2);
	}
}

/* ---- the stream table ---- */

static struct bh_frame_hdr hdr(uint32_t type, uint32_t stream, uint32_t len)
{
	return (struct bh_frame_hdr){ .type = type, .stream = stream,
				      .len = len };
}

static void to_guest(struct chan_streams *t, uint32_t type, uint32_t stream,
		     uint32_t len)
{
	struct bh_frame_hdr h = hdr(type, stream, len);

	chan_streams_to_guest(t, &h);
}

static void from_guest(struct chan_streams *t, uint32_t type,
		       uint32_t stream, uint32_t len)
{
	struct bh_frame_hdr h = hdr(type, stream, len);

	chan_streams_from_guest(t, &h);
}

/* The flags of id in t, or -1 when it is not listed. */
static long flags_of(const struct chan_streams *t, uint32_t id)
{
	uint32_t i;

	for (i = 0; i < t->count; i++)
		if (t->s[i].id == id)
			return t->s[i].flags;
	return -1;
}

static void test_streams(void **state)
{
	static struct chan_streams t;

	(void)state;
	memset(&t, 0, sizeof(t));
	/* The daemon's EXEC and SERVICE open; a repeat changes nothing. */
	to_guest(&t, BH_MSG_EXEC, 5, 20);
	to_guest(&t, BH_MSG_SERVICE, 6, 20);
	to_guest(&t, BH_MSG_EXEC, 5, 20);
	assert_int_equal(t.count, 2);
	assert_int_equal(flags_of(&t, 5), 0);
	/* Its STDIN: data leaves the flags, an empty one is the EOF; a
	 * PORT_END too (the input ended on a data port). */
	to_guest(&t, BH_MSG_STDIN, 5, 10);
	assert_int_equal(flags_of(&t, 5), 0);
	to_guest(&t, BH_MSG_STDIN, 5, 0);
	assert_int_equal(flags_of(&t, 5), BH_ATTACH_S_INPUT_EOF);
	to_guest(&t, BH_MSG_PORT_END, 6, 8);
	assert_int_equal(flags_of(&t, 6), BH_ATTACH_S_INPUT_EOF);
	/* Frames of streams not listed add nothing. */
	to_guest(&t, BH_MSG_STDIN, 9, 0);
	to_guest(&t, BH_MSG_CREDIT, 9, 4);
	to_guest(&t, BH_MSG_EXEC, 0, 20);
	to_guest(&t, BH_MSG_POWEROFF, 0, 0);
	from_guest(&t, BH_MSG_STDOUT, 9, 3);
	from_guest(&t, BH_MSG_EXIT, 9, 8);
	assert_int_equal(t.count, 2);
	/* The guest's CALL opens on its side only; a repeat is ignored. */
	from_guest(&t, BH_MSG_CALL, GBIT | 3, 30);
	from_guest(&t, BH_MSG_CALL, GBIT | 3, 30);
	from_guest(&t, BH_MSG_CALL, GBIT | 4, 30);
	from_guest(&t, BH_MSG_CALL, 8, 30); /* not its side */
	assert_int_equal(t.count, 4);
	assert_int_equal(flags_of(&t, 8), -1);
	/* Its STDIN (the roles turned) sets nothing; the daemon's empty
	 * STDIN on it neither. */
	from_guest(&t, BH_MSG_STDIN, GBIT | 3, 0);
	to_guest(&t, BH_MSG_STDIN, GBIT | 3, 0);
	assert_int_equal(flags_of(&t, GBIT | 3), 0);
	/* The ends: the guest's EXIT of a daemon's stream, the daemon's
	 * EXIT of a guest's; not the other way round. */
	from_guest(&t, BH_MSG_EXIT, GBIT | 4, 8);
	to_guest(&t, BH_MSG_EXIT, 6, 8);
	assert_int_equal(t.count, 4);
	from_guest(&t, BH_MSG_EXIT, 6, 8);
	to_guest(&t, BH_MSG_EXIT, GBIT | 4, 8);
	assert_int_equal(t.count, 2);
	assert_int_equal(flags_of(&t, 5), BH_ATTACH_S_INPUT_EOF);
	assert_int_equal(flags_of(&t, GBIT | 3), 0);
	assert_int_equal(flags_of(&t, 6), -1);
	assert_int_equal(t.side[0], 1);
	assert_int_equal(t.side[1], 1);
	/* An id can open again once ended. */
	from_guest(&t, BH_MSG_EXIT, 5, 8);
	to_guest(&t, BH_MSG_EXEC, 5, 20);
	assert_int_equal(flags_of(&t, 5), 0);
	assert_false(t.overflow);
}

static void test_streams_overflow(void **state)
{
	static struct chan_streams t;
	static struct chan_relay r;
	static struct bh_attach_info info;
	static uint8_t e[BH_ATTACH_INFO_MAX_LEN];
	struct bh_attach_info back;
	uint32_t i;

	(void)state;
	memset(&t, 0, sizeof(t));
	/* A guest that opens more than its side may cannot crowd the
	 * daemon's out. */
	for (i = 1; i <= BH_MAX_STREAMS + 10; i++)
		from_guest(&t, BH_MSG_CALL, GBIT | i, 30);
	assert_int_equal(t.count, BH_MAX_STREAMS);
	assert_true(t.overflow);
	for (i = 1; i <= BH_MAX_STREAMS; i++)
		to_guest(&t, BH_MSG_EXEC, i, 20);
	assert_int_equal(t.count, BH_ATTACH_STREAMS_MAX);
	to_guest(&t, BH_MSG_EXEC, BH_MAX_STREAMS + 1, 20);
	assert_int_equal(t.count, BH_ATTACH_STREAMS_MAX);
	assert_int_equal(flags_of(&t, BH_MAX_STREAMS + 1), -1);
	/* The flag stays when streams end: a skipped one may be open. */
	for (i = 1; i <= BH_MAX_STREAMS; i++)
		from_guest(&t, BH_MSG_EXIT, i, 8);
	assert_int_equal(t.count, BH_MAX_STREAMS);
	assert_true(t.overflow);
	to_guest(&t, BH_MSG_EXEC, 77, 20);
	assert_int_equal(flags_of(&t, 77), 0);
	/* What the relay makes of it parses. */
	memset(&r, 0, sizeof(r));
	r.streams = t;
	r.have_hello = 1;
	r.hello_version = BH_PROTO_VERSION;
	r.hello_flags = 3;
	chan_relay_attach_info(&r, &info);
	assert_int_equal(info.flags, BH_ATTACH_HELLO | BH_ATTACH_OVERFLOW);
	assert_int_equal(info.count, BH_MAX_STREAMS + 1);
	assert_int_equal(bh_attach_info_parse(e, bh_attach_info_encode(e, &info),
					      &back),
			 0);
	assert_int_equal(back.count, info.count);
	assert_int_equal(back.hello_flags, 3);
}

/* ---- the relay detached and attached again, over socket pairs ---- */

static void hello_payload(uint8_t p[8], uint32_t flags)
{
	bh_put_u32(p, BH_PROTO_VERSION);
	bh_put_u32(p + 4, flags);
}

/* One frame from a blocking fd (with a 5 s bound). */
static void read_frame(int fd, struct bh_frame_hdr *h, uint8_t *p, size_t cap)
{
	uint8_t hb[BH_FRAME_HDR_LEN];
	struct pollfd pf = { .fd = fd, .events = POLLIN };
	size_t got = 0;

	while (got < sizeof(hb)) {
		ssize_t n;

		assert_int_equal(poll(&pf, 1, 5000), 1);
		n = read(fd, hb + got, sizeof(hb) - got);
		assert_true(n > 0);
		got += (size_t)n;
	}
	assert_int_equal(bh_frame_hdr_decode(hb, h), 0);
	assert_true(h->len <= cap);
	got = 0;
	while (got < h->len) {
		ssize_t n;

		assert_int_equal(poll(&pf, 1, 5000), 1);
		n = read(fd, p + got, h->len - got);
		assert_true(n > 0);
		got += (size_t)n;
	}
}

static void pair(int type, int sv[2])
{
	assert_int_equal(socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, sv), 0);
}

static void test_relay_detach(void **state)
{
	static struct chan_relay r;
	static uint8_t p[BH_FRAME_MAX_PAYLOAD];
	struct bh_attach_info info;
	struct bh_frame_hdr h;
	uint8_t hp[8];
	int g[2], l[2], l2[2], avail = 0;

	(void)state;
	pair(SOCK_STREAM, g);
	pair(SOCK_STREAM, l);
	pair(SOCK_STREAM, l2);
	assert_int_equal(bh_set_nonblock(g[0], 1), 0);
	assert_int_equal(bh_set_nonblock(l[0], 1), 0);
	chan_relay_init(&r, g[0], l[0]);
	assert_true(r.attached);
	/* A HELLO, then another (as after a RESUME): the last counts. */
	hello_payload(hp, 1);
	send_frame(g[1], BH_MSG_HELLO, 0, hp, 8);
	hello_payload(hp, 9);
	send_frame(g[1], BH_MSG_HELLO, 0, hp, 8);
	send_frame(g[1], BH_MSG_CALL, GBIT | 3, "x\0y\0\0", 5);
	assert_int_equal(chan_relay_guest_input(&r), 0);
	assert_int_equal(r.hello_flags, 9);
	/* Daemon -> guest: an EXEC and its input's end. */
	send_frame(l[1], BH_MSG_EXEC, 5, "req", 3);
	send_frame(l[1], BH_MSG_STDIN, 5, NULL, 0);
	/* and half a frame the old daemon never finished */
	assert_int_equal(write(l[1], "\3\0\0\0\5\0", 6), 6);
	assert_int_equal(chan_relay_link_input(&r), 0);
	assert_int_equal(bh_chan_flush(&r.guest), 0);
	read_frame(g[1], &h, p, sizeof(p));
	assert_int_equal(h.type, BH_MSG_EXEC);
	read_frame(g[1], &h, p, sizeof(p));
	assert_int_equal(h.type, BH_MSG_STDIN);
	/* What the link holds queued (not flushed) is dropped with it. */
	assert_true(bh_chan_pending(&r.link) > 0);
	chan_relay_detach(&r);
	assert_false(r.attached);
	assert_int_equal(r.link.fd, -1);
	assert_int_equal(bh_chan_pending(&r.link), 0);
	assert_false(chan_relay_guest_readable(&r));
	assert_false(chan_relay_link_readable(&r));
	/* The old daemon's end sees its link closed. */
	assert_int_equal(read(l[1], p, 1), 0);
	close(l[1]);
	/* A frame from the guest meanwhile is not read. */
	send_frame(g[1], BH_MSG_STDOUT, 5, "held", 4);
	/* Attached again: CHAN_ATTACH first, then the guest is read. */
	assert_int_equal(bh_set_nonblock(l2[0], 1), 0);
	assert_int_equal(chan_relay_attach(&r, l2[0]), 0);
	assert_true(r.attached);
	assert_true(chan_relay_guest_readable(&r));
	assert_int_equal(chan_relay_guest_input(&r), 0);
	assert_int_equal(bh_chan_flush(&r.link), 0);
	read_frame(l2[1], &h, p, sizeof(p));
	assert_int_equal(h.type, BH_MSG_CHAN_ATTACH);
	assert_int_equal(h.stream, 0);
	assert_int_equal(bh_attach_info_parse(p, h.len, &info), 0);
	assert_int_equal(info.flags, BH_ATTACH_HELLO);
	assert_int_equal(info.hello_version, BH_PROTO_VERSION);
	assert_int_equal(info.hello_flags, 9);
	assert_int_equal(info.count, 2);
	assert_int_equal(info.streams[0].id, GBIT | 3);
	assert_int_equal(info.streams[0].flags, 0);
	assert_int_equal(info.streams[1].id, 5);
	assert_int_equal(info.streams[1].flags, BH_ATTACH_S_INPUT_EOF);
	read_frame(l2[1], &h, p, sizeof(p));
	assert_int_equal(h.type, BH_MSG_STDOUT);
	assert_memory_equal(p, "held", 4);
	/* The new daemon's frames start clean (the old half frame gone). */
	send_frame(l2[1], BH_MSG_CREDIT, 5, "\0\1\0\0", 4);
	assert_int_equal(chan_relay_link_input(&r), 0);
	assert_int_equal(bh_chan_flush(&r.guest), 0);
	read_frame(g[1], &h, p, sizeof(p));
	assert_int_equal(h.type, BH_MSG_CREDIT);
	assert_int_equal(h.stream, 5);
	assert_int_equal(ioctl(g[1], FIONREAD, &avail), 0);
	assert_int_equal(avail, 0);
	chan_relay_free(&r);
	close(l2[0]);
	close(l2[1]);
	close(g[0]);
	close(g[1]);
}

/* ---- chan_attach_take on a real connection ---- */

/* A listening socket in a temporary folder, and a connection to it
 * accepted as bulkhead-chan accepts. */
struct conn {
	char dir[48], path[96];
	int lfd, client, server;
};

static void conn_open(struct conn *c)
{
	char err[256];

	snprintf(c->dir, sizeof(c->dir), "/tmp/bh-attach-test.XXXXXX");
	assert_non_null(mkdtemp(c->dir));
	snprintf(c->path, sizeof(c->path), "%s/chan.sock", c->dir);
	c->lfd = chan_attach_listen(c->path, err, sizeof(err));
	if (c->lfd < 0)
		fail_msg("chan_attach_listen: %s", err);
}

static void conn_accept(struct conn *c, int type)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };

	snprintf(a.sun_path, sizeof(a.sun_path), "%s", c->path);
	c->client = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
	assert_true(c->client >= 0);
	assert_int_equal(connect(c->client, (struct sockaddr *)&a, sizeof(a)),
			 0);
	c->server = accept4(c->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	assert_true(c->server >= 0);
}

static void conn_close(struct conn *c)
{
	close(c->client);
	close(c->server);
	close(c->lfd);
	assert_int_equal(unlink(c->path), 0);
	assert_int_equal(rmdir(c->dir), 0);
}

/* Whether fd's peer has been closed: a read that says end of file. */
static int peer_closed(int fd)
{
	struct pollfd pf = { .fd = fd, .events = POLLIN };
	char b;

	return poll(&pf, 1, 2000) == 1 && read(fd, &b, 1) == 0;
}

/* Sends msg with the chan process's ends of nfd new pairs of the given
 * types, closes them here, and checks what chan_attach_take makes of it:
 * want 1 (taken: the links work) or -1 (refused: every end closed). */
static void try_take(int type, const void *msg, size_t len, const int *types,
		     int nfd, int want)
{
	struct conn c;
	int mine[4], theirs[4], i, link = -1, qmp = -1, r;
	char why[128] = "";

	conn_open(&c);
	conn_accept(&c, type);
	for (i = 0; i < nfd; i++) {
		int sv[2];

		pair(types[i], sv);
		mine[i] = sv[0];
		theirs[i] = sv[1];
	}
	assert_int_equal(chan_attach_take(c.server, &link, &qmp, why,
					  sizeof(why)),
			 0); /* nothing there yet */
	assert_int_equal(bh_send_with_fds(c.client, msg, len, theirs,
					  (size_t)nfd),
			 0);
	for (i = 0; i < nfd; i++)
		close(theirs[i]);
	r = chan_attach_take(c.server, &link, &qmp, why, sizeof(why));
	assert_int_equal(r, want);
	if (want > 0) {
		assert_true(fcntl(link, F_GETFL) & O_NONBLOCK);
		assert_true(fcntl(qmp, F_GETFD) & FD_CLOEXEC);
		assert_int_equal(write(link, "L", 1), 1);
		assert_int_equal(write(qmp, "Q", 1), 1);
		assert_int_equal(read(mine[0], why, 1), 1);
		assert_int_equal(why[0], 'L');
		assert_int_equal(read(mine[1], why, 1), 1);
		assert_int_equal(why[0], 'Q');
		close(link);
		close(qmp);
	} else {
		assert_true(why[0] != 0);
		for (i = 0; i < nfd; i++)
			assert_true(peer_closed(mine[i]));
	}
	for (i = 0; i < nfd; i++)
		close(mine[i]);
	conn_close(&c);
}

static void test_take(void **state)
{
	static const int good[] = { SOCK_STREAM, SOCK_SEQPACKET };
	static const int swapped[] = { SOCK_SEQPACKET, SOCK_STREAM };
	static const int streams[] = { SOCK_STREAM, SOCK_STREAM, SOCK_STREAM };
	static const int three[] = { SOCK_STREAM, SOCK_SEQPACKET,
				     SOCK_SEQPACKET };
	uint8_t req[BH_ATTACH_REQ_LEN + 1], bad[BH_ATTACH_REQ_LEN];

	(void)state;
	bh_attach_req_encode(req);
	req[BH_ATTACH_REQ_LEN] = 0;
	try_take(SOCK_SEQPACKET, req, BH_ATTACH_REQ_LEN, good, 2, 1);
	/* Wrong magic, version, size. */
	memcpy(bad, req, sizeof(bad));
	bad[0] = 'B';
	try_take(SOCK_SEQPACKET, bad, sizeof(bad), good, 2, -1);
	memcpy(bad, req, sizeof(bad));
	bad[8] = 2;
	try_take(SOCK_SEQPACKET, bad, sizeof(bad), good, 2, -1);
	try_take(SOCK_SEQPACKET, req, BH_ATTACH_REQ_LEN - 1, good, 2, -1);
	try_take(SOCK_SEQPACKET, req, BH_ATTACH_REQ_LEN + 1, good, 2, -1);
	/* Fds: none, one, three, wrong types or order. */
	try_take(SOCK_SEQPACKET, req, BH_ATTACH_REQ_LEN, good, 0, -1);
	try_take(SOCK_SEQPACKET, req, BH_ATTACH_REQ_LEN, good, 1, -1);
	try_take(SOCK_SEQPACKET, req, BH_ATTACH_REQ_LEN, three, 3, -1);
	try_take(SOCK_SEQPACKET, req, BH_ATTACH_REQ_LEN, swapped, 2, -1);
	try_take(SOCK_SEQPACKET, req, BH_ATTACH_REQ_LEN, streams, 2, -1);
}

/* A peer that connects and closes without a word; one with a file as
 * its "socket". */
static void test_take_odd(void **state)
{
	struct conn c;
	int link, qmp, fds[2], pv[2];
	char why[128] = "";
	uint8_t req[BH_ATTACH_REQ_LEN];

	(void)state;
	conn_open(&c);
	conn_accept(&c, SOCK_SEQPACKET);
	close(c.client);
	assert_int_equal(chan_attach_take(c.server, &link, &qmp, why,
					  sizeof(why)),
			 -1);
	assert_non_null(strstr(why, "without a request"));
	c.client = -1;
	close(c.server);
	conn_accept(&c, SOCK_SEQPACKET);
	assert_int_equal(pipe2(pv, O_CLOEXEC), 0);
	pair(SOCK_SEQPACKET, fds);
	bh_attach_req_encode(req);
	{
		int two[2] = { pv[0], fds[1] };

		assert_int_equal(bh_send_with_fds(c.client, req, sizeof(req),
						  two, 2),
				 0);
	}
	assert_int_equal(chan_attach_take(c.server, &link, &qmp, why,
					  sizeof(why)),
			 -1);
	assert_non_null(strstr(why, "not a Unix stream socket"));
	close(pv[0]);
	/* The pipe's read end went with the refusal: no reader is left. */
	signal(SIGPIPE, SIG_IGN);
	assert_int_equal(write(pv[1], "x", 1), -1);
	assert_int_equal(errno, EPIPE);
	close(pv[1]);
	close(fds[0]);
	close(fds[1]);
	conn_close(&c);
}

/* ---- chan_attach_listen and chan_attach_connect ---- */

static void test_listen_connect(void **state)
{
	struct conn c;
	struct stat st;
	struct bh_frame_hdr h;
	uint8_t p[64];
	char err[256];
	int link = -1, qmp = -1, cl, cq, fd, type;
	socklen_t len = sizeof(type);

	(void)state;
	conn_open(&c);
	assert_int_equal(lstat(c.path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(st.st_uid, geteuid());
	assert_true(fcntl(c.lfd, F_GETFD) & FD_CLOEXEC);
	assert_int_equal(getsockopt(c.lfd, SOL_SOCKET, SO_TYPE, &type, &len),
			 0);
	assert_int_equal(type, SOCK_SEQPACKET);
	/* A stale socket there is replaced. */
	fd = chan_attach_listen(c.path, err, sizeof(err));
	assert_true(fd >= 0);
	close(c.lfd);
	c.lfd = fd;
	/* The request arrives whole, with its two fds. */
	assert_int_equal(chan_attach_connect(c.path, &link, &qmp, err,
					     sizeof(err)),
			 0);
	assert_true(fcntl(link, F_GETFL) & O_NONBLOCK);
	assert_true(fcntl(qmp, F_GETFL) & O_NONBLOCK);
	assert_true(fcntl(link, F_GETFD) & FD_CLOEXEC);
	c.client = -1;
	c.server = accept4(c.lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	assert_true(c.server >= 0);
	assert_int_equal(chan_attach_take(c.server, &cl, &cq, err,
					  sizeof(err)),
			 1);
	/* The ends are each other's. */
	send_frame(cl, BH_MSG_CHAN_ATTACH, 0, "0123456789abcdef", 16);
	assert_int_equal(bh_set_nonblock(link, 0), 0);
	read_frame(link, &h, p, sizeof(p));
	assert_int_equal(h.type, BH_MSG_CHAN_ATTACH);
	assert_int_equal(write(qmp, "cmd\n", 4), 4);
	assert_int_equal(read(cq, p, sizeof(p)), 4);
	close(cl);
	close(cq);
	close(link);
	close(qmp);
	/* Nobody listening any more: refused at once, and said so. */
	close(c.lfd);
	c.lfd = -1;
	assert_int_equal(chan_attach_connect(c.path, &link, &qmp, err,
					     sizeof(err)),
			 -ECONNREFUSED);
	assert_non_null(strstr(err, "no channel process"));
	assert_int_equal(unlink(c.path), 0);
	assert_int_equal(chan_attach_connect(c.path, &link, &qmp, err,
					     sizeof(err)),
			 -ENOENT);
	/* A file that is not a socket is not removed. */
	fd = open(c.path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(chan_attach_listen(c.path, err, sizeof(err)),
			 -EEXIST);
	assert_int_equal(unlink(c.path), 0);
	assert_int_equal(rmdir(c.dir), 0);
	close(c.server);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_req),
		cmocka_unit_test(test_info_roundtrip),
		cmocka_unit_test(test_info_refused),
		cmocka_unit_test(test_streams),
		cmocka_unit_test(test_streams_overflow),
		cmocka_unit_test(test_relay_detach),
		cmocka_unit_test(test_take),
		cmocka_unit_test(test_take_odd),
		cmocka_unit_test(test_listen_connect),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

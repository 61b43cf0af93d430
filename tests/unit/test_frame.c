/* Unit tests of src/proto/frame.c: header wire format, per-side frame
 * checks, fixed payload parsers and the exit status mapping. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "proto/frame.h"
#include "proto/resume.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* ---- header encoding ---- */

static void test_u32_le_bytes(void **state)
{
	uint8_t b[4];

	bh_put_u32(b, 0x11223344u);
	assert_int_equal(b[0], 0x44);
	assert_int_equal(b[1], 0x33);
	assert_int_equal(b[2], 0x22);
	assert_int_equal(b[3], 0x11);
	assert_int_equal(bh_get_u32(b), 0x11223344u);

	b[0] = 0xff;
	b[1] = 0x00;
	b[2] = 0x00;
	b[3] = 0x80;
	assert_int_equal(bh_get_u32(b), 0x800000ffu);
}

static void test_hdr_le_bytes(void **state)
{
	static const uint8_t expect[BH_FRAME_HDR_LEN] = {
		0x01, 0x02, 0x03, 0x04, /* type */
		0xa0, 0xb0, 0xc0, 0xd0, /* stream */
		0x00, 0x00, 0x01, 0x00, /* len = 0x10000 */
	};
	struct bh_frame_hdr h = {
		.type = 0x04030201u,
		.stream = 0xd0c0b0a0u,
		.len = 0x00010000u,
	};
	uint8_t out[BH_FRAME_HDR_LEN];

	memset(out, 0xee, sizeof(out));
	bh_frame_hdr_encode(out, &h);
	assert_memory_equal(out, expect, sizeof(expect));
}

static void test_hdr_decode_le_bytes(void **state)
{
	static const uint8_t in[BH_FRAME_HDR_LEN] = {
		0x07, 0x00, 0x00, 0x00,
		0x2a, 0x01, 0x00, 0x00,
		0x08, 0x00, 0x00, 0x00,
	};
	struct bh_frame_hdr h;

	assert_int_equal(bh_frame_hdr_decode(in, &h), 0);
	assert_int_equal(h.type, BH_MSG_EXIT);
	assert_int_equal(h.stream, 0x12a);
	assert_int_equal(h.len, 8);
}

static void test_hdr_round_trip(void **state)
{
	static const struct bh_frame_hdr cases[] = {
		{ 0, 0, 0 },
		{ BH_MSG_HELLO, 0, 8 },
		{ BH_MSG_STDOUT, 1, BH_FRAME_MAX_PAYLOAD },
		{ BH_MSG_RUN_DISPVM, 0xffffffffu, 1 },
		{ 0xffffffffu, 0x80000000u, BH_FRAME_MAX_PAYLOAD - 1 },
	};
	size_t i;

	for (i = 0; i < ARRAY_LEN(cases); i++) {
		uint8_t buf[BH_FRAME_HDR_LEN];
		struct bh_frame_hdr out;

		memset(&out, 0x5a, sizeof(out));
		bh_frame_hdr_encode(buf, &cases[i]);
		assert_int_equal(bh_frame_hdr_decode(buf, &out), 0);
		assert_int_equal(out.type, cases[i].type);
		assert_int_equal(out.stream, cases[i].stream);
		assert_int_equal(out.len, cases[i].len);
	}
}

static int decode_len(uint32_t len, struct bh_frame_hdr *out)
{
	struct bh_frame_hdr h = { BH_MSG_STDOUT, 3, len };
	uint8_t buf[BH_FRAME_HDR_LEN];

	bh_frame_hdr_encode(buf, &h);
	return bh_frame_hdr_decode(buf, out);
}

static void test_hdr_len_limit(void **state)
{
	struct bh_frame_hdr out;

	assert_int_equal(decode_len(BH_FRAME_MAX_PAYLOAD, &out), 0);
	assert_int_equal(out.len, BH_FRAME_MAX_PAYLOAD);
	assert_int_equal(decode_len(BH_FRAME_MAX_PAYLOAD + 1, &out),
			 -EMSGSIZE);
	assert_int_equal(decode_len(0xffffffffu, &out), -EMSGSIZE);
	assert_int_equal(decode_len(0x80000000u, &out), -EMSGSIZE);
	/* A length that is only big in its top byte (LE order matters). */
	assert_int_equal(decode_len(0x01000000u, &out), -EMSGSIZE);
	assert_int_equal(decode_len(0, &out), 0);
	assert_int_equal(out.len, 0);
}

static void test_frame_build_bytes(void **state)
{
	static const uint8_t expect[] = {
		0x06, 0x00, 0x00, 0x00,
		0x05, 0x00, 0x00, 0x00,
		0x04, 0x00, 0x00, 0x00,
		0x00, 0x00, 0x04, 0x00,
	};
	uint8_t payload[4], out[sizeof(expect) + 4];

	bh_put_u32(payload, BH_STREAM_WINDOW);
	memset(out, 0xee, sizeof(out));
	assert_int_equal(bh_frame_build(out, BH_MSG_CREDIT, 5, payload, 4),
			 sizeof(expect));
	assert_memory_equal(out, expect, sizeof(expect));
	/* Nothing written past the frame. */
	assert_int_equal(out[sizeof(expect)], 0xee);

	/* Empty payload: header only, NULL payload allowed. */
	memset(out, 0xee, sizeof(out));
	assert_int_equal(bh_frame_build(out, BH_MSG_POWEROFF, 0, NULL, 0),
			 BH_FRAME_HDR_LEN);
	assert_int_equal(bh_get_u32(out), BH_MSG_POWEROFF);
	assert_int_equal(bh_get_u32(out + 8), 0);
	assert_int_equal(out[BH_FRAME_HDR_LEN], 0xee);
}

/* ---- per-side checks ----
 *
 * The rules are restated here as a table, independently of frame.c, and
 * the checks are run over every type of interest crossed with a set of
 * streams and lengths. */

/* S_HOST: a stream the host opened (not 0, no BH_STREAM_GUEST_BIT);
 * S_GUEST: one the guest opened (the bit set). */
enum stream_rule { S_NEVER, S_ZERO, S_NONZERO, S_HOST, S_GUEST };
enum len_rule { L_ANY, L_NONEMPTY, L_EXACT };

struct rule {
	uint32_t type;
	enum stream_rule from_guest, from_host;
	enum len_rule glen, hlen;
	uint32_t gexact, hexact;
};

static const struct rule rules[] = {
	{ 0, S_NEVER, S_NEVER, L_ANY, L_ANY, 0, 0 },
	{ BH_MSG_HELLO, S_ZERO, S_NEVER, L_EXACT, L_ANY, 8, 0 },
	{ BH_MSG_EXEC, S_NEVER, S_HOST, L_ANY, L_NONEMPTY, 0, 0 },
	{ BH_MSG_STDIN, S_GUEST, S_HOST, L_ANY, L_ANY, 0, 0 },
	{ BH_MSG_STDOUT, S_HOST, S_GUEST, L_ANY, L_ANY, 0, 0 },
	{ BH_MSG_STDERR, S_HOST, S_NEVER, L_ANY, L_ANY, 0, 0 },
	{ BH_MSG_CREDIT, S_NONZERO, S_NONZERO, L_EXACT, L_EXACT, 4, 4 },
	{ BH_MSG_EXIT, S_HOST, S_GUEST, L_EXACT, L_EXACT, 8, 8 },
	{ BH_MSG_POWEROFF, S_NEVER, S_ZERO, L_ANY, L_EXACT, 0, 0 },
	{ BH_MSG_CALL, S_GUEST, S_NEVER, L_NONEMPTY, L_ANY, 0, 0 },
	{ BH_MSG_SERVICE, S_NEVER, S_HOST, L_ANY, L_NONEMPTY, 0, 0 },
	{ BH_MSG_RESUME, S_NEVER, S_ZERO, L_ANY, L_EXACT, 0, BH_RESUME_LEN },
	{ BH_MSG_PORT_OPEN, S_NEVER, S_NONZERO, L_ANY, L_EXACT, 0, 4 },
	{ BH_MSG_PORT_SWITCH, S_NONZERO, S_NONZERO, L_EXACT, L_EXACT, 0, 0 },
	{ BH_MSG_PORT_END, S_NONZERO, S_NONZERO, L_EXACT, L_EXACT, 8, 8 },
	{ BH_MSG_PORT_CLOSED, S_NONZERO, S_NEVER, L_EXACT, L_ANY, 0, 0 },
	{ 16, S_NEVER, S_NEVER, L_ANY, L_ANY, 0, 0 },
	{ 0xff, S_NEVER, S_NEVER, L_ANY, L_ANY, 0, 0 },
	/* Admin-socket messages never travel on a qube channel. */
	{ BH_MSG_RUN_DISPVM, S_NEVER, S_NEVER, L_ANY, L_ANY, 0, 0 },
	{ BH_MSG_ERROR, S_NEVER, S_NEVER, L_ANY, L_ANY, 0, 0 },
	{ 0x102u, S_NEVER, S_NEVER, L_ANY, L_ANY, 0, 0 },
	{ 0x103, S_NEVER, S_NEVER, L_ANY, L_ANY, 0, 0 },
	{ BH_MSG_RUN_SERVICE, S_NEVER, S_NEVER, L_ANY, L_ANY, 0, 0 },
	{ BH_MSG_RUN_DISPVM_FROM, S_NEVER, S_NEVER, L_ANY, L_ANY, 0, 0 },
	{ BH_MSG_RUN_QUBE_NOSTART, S_NEVER, S_NEVER, L_ANY, L_ANY, 0, 0 },
	/* Types whose low byte is a valid type. */
	{ 0x101u << 8 | BH_MSG_HELLO, S_NEVER, S_NEVER, L_ANY, L_ANY, 0, 0 },
	{ 0x80000000u | BH_MSG_EXEC, S_NEVER, S_NEVER, L_ANY, L_ANY, 0, 0 },
	{ 0xffffffffu, S_NEVER, S_NEVER, L_ANY, L_ANY, 0, 0 },
};

static const uint32_t streams[] = { 0, 1, 2, 63, 64, 0x7fffffffu, 0x80000000u, 0x80000001u,
				    0xffffffffu };
static const uint32_t lens[] = { 0, 1, 3, 4, 5, 7, 8, 9, 12, 16,
				 BH_RESUME_LEN - 1, BH_RESUME_LEN,
				 BH_RESUME_LEN + 1,
				 BH_FRAME_MAX_PAYLOAD - 1,
				 BH_FRAME_MAX_PAYLOAD };

static int expected(enum stream_rule s, enum len_rule l, uint32_t exact,
		    uint32_t stream, uint32_t len)
{
	switch (s) {
	case S_NEVER:
		return -EPROTO;
	case S_ZERO:
		if (stream != 0)
			return -EPROTO;
		break;
	case S_NONZERO:
		if (stream == 0)
			return -EPROTO;
		break;
	case S_HOST:
		if (stream == 0 || (stream & BH_STREAM_GUEST_BIT))
			return -EPROTO;
		break;
	case S_GUEST:
		if (!(stream & BH_STREAM_GUEST_BIT))
			return -EPROTO;
		break;
	}
	switch (l) {
	case L_ANY:
		return 0;
	case L_NONEMPTY:
		return len > 0 ? 0 : -EPROTO;
	case L_EXACT:
		return len == exact ? 0 : -EPROTO;
	}
	return -EPROTO;
}

/* Checks one (type, stream, len) on both sides; returns a bit per side
 * that accepted it (1 guest, 2 host). */
static unsigned check_one(const struct rule *ru, uint32_t stream, uint32_t len)
{
	struct bh_frame_hdr h = { ru->type, stream, len };
	int eg = expected(ru->from_guest, ru->glen, ru->gexact, stream, len);
	int eh = expected(ru->from_host, ru->hlen, ru->hexact, stream, len);
	int g = bh_frame_check_from_guest(&h);
	int hh = bh_frame_check_from_host(&h);

	if (g != eg || hh != eh)
		print_error("type %#x stream %#x len %u: guest %d (want %d)"
			    " host %d (want %d)\n",
			    h.type, h.stream, h.len, g, eg, hh, eh);
	assert_int_equal(g, eg);
	assert_int_equal(hh, eh);
	return (g == 0 ? 1u : 0u) | (hh == 0 ? 2u : 0u);
}

static void test_check_table(void **state)
{
	size_t r, s, l;
	unsigned accepted_guest = 0, accepted_host = 0;

	for (r = 0; r < ARRAY_LEN(rules); r++) {
		for (s = 0; s < ARRAY_LEN(streams); s++) {
			for (l = 0; l < ARRAY_LEN(lens); l++) {
				unsigned ok = check_one(&rules[r], streams[s],
							lens[l]);

				accepted_guest += ok & 1u;
				accepted_host += ok >> 1;
			}
		}
	}
	/* The table is not vacuous: each side accepts something. */
	assert_true(accepted_guest > 0);
	assert_true(accepted_host > 0);
}

struct check_case {
	uint32_t type, stream, len;
	int guest, host;
};

/* The key cases spelled out, readable without the table above. */
static const struct check_case cases[] = {
	{ BH_MSG_HELLO, 0, 8, 0, -EPROTO },
	{ BH_MSG_HELLO, 0, 7, -EPROTO, -EPROTO },
	{ BH_MSG_HELLO, 0, 9, -EPROTO, -EPROTO },
	{ BH_MSG_HELLO, 0, 0, -EPROTO, -EPROTO },
	{ BH_MSG_HELLO, 1, 8, -EPROTO, -EPROTO },
	{ BH_MSG_EXEC, 1, 1, -EPROTO, 0 },
	{ BH_MSG_EXEC, 1, BH_FRAME_MAX_PAYLOAD, -EPROTO, 0 },
	{ BH_MSG_EXEC, 1, 0, -EPROTO, -EPROTO },
	{ BH_MSG_EXEC, 0, 16, -EPROTO, -EPROTO },
	{ BH_MSG_STDIN, 1, 0, -EPROTO, 0 },
	{ BH_MSG_STDIN, 0, 5, -EPROTO, -EPROTO },
	{ BH_MSG_STDOUT, 1, 0, 0, -EPROTO },
	{ BH_MSG_STDOUT, 0, 5, -EPROTO, -EPROTO },
	{ BH_MSG_STDERR, 9, BH_FRAME_MAX_PAYLOAD, 0, -EPROTO },
	{ BH_MSG_STDERR, 0, 1, -EPROTO, -EPROTO },
	{ BH_MSG_CREDIT, 1, 4, 0, 0 },
	{ BH_MSG_CREDIT, 0, 4, -EPROTO, -EPROTO },
	{ BH_MSG_CREDIT, 1, 3, -EPROTO, -EPROTO },
	{ BH_MSG_CREDIT, 1, 5, -EPROTO, -EPROTO },
	{ BH_MSG_CREDIT, 1, 8, -EPROTO, -EPROTO },
	{ BH_MSG_EXIT, 1, 8, 0, -EPROTO },
	{ BH_MSG_EXIT, 1, 7, -EPROTO, -EPROTO },
	{ BH_MSG_EXIT, 1, 9, -EPROTO, -EPROTO },
	{ BH_MSG_EXIT, 0, 8, -EPROTO, -EPROTO },
	{ BH_MSG_POWEROFF, 0, 0, -EPROTO, 0 },
	{ BH_MSG_POWEROFF, 0, 1, -EPROTO, -EPROTO },
	{ BH_MSG_POWEROFF, 1, 0, -EPROTO, -EPROTO },
	{ BH_MSG_RESUME, 0, 108, -EPROTO, 0 },
	{ BH_MSG_RESUME, 0, 107, -EPROTO, -EPROTO },
	{ BH_MSG_RESUME, 0, 109, -EPROTO, -EPROTO },
	{ BH_MSG_RESUME, 0, 0, -EPROTO, -EPROTO },
	{ BH_MSG_RESUME, 1, 108, -EPROTO, -EPROTO },
	{ BH_MSG_RESUME, 0x80000001u, 108, -EPROTO, -EPROTO },
	{ BH_MSG_PORT_OPEN, 1, 4, -EPROTO, 0 },
	{ BH_MSG_PORT_OPEN, 0, 4, -EPROTO, -EPROTO },
	{ BH_MSG_PORT_OPEN, 1, 8, -EPROTO, -EPROTO },
	{ BH_MSG_PORT_SWITCH, 0x80000001u, 0, 0, 0 },
	{ BH_MSG_PORT_SWITCH, 1, 1, -EPROTO, -EPROTO },
	{ BH_MSG_PORT_END, 1, 8, 0, 0 },
	{ BH_MSG_PORT_END, 1, 4, -EPROTO, -EPROTO },
	{ BH_MSG_PORT_END, 0, 8, -EPROTO, -EPROTO },
	{ BH_MSG_PORT_CLOSED, 1, 0, 0, -EPROTO },
	{ BH_MSG_PORT_CLOSED, 1, 8, -EPROTO, -EPROTO },
	{ 0, 0, 0, -EPROTO, -EPROTO },
	{ 0, 1, 8, -EPROTO, -EPROTO },
	{ 9, 0, 0, -EPROTO, -EPROTO },
	{ 9, 1, 4, -EPROTO, -EPROTO },
	{ BH_MSG_RUN_DISPVM, 1, 16, -EPROTO, -EPROTO },
	{ BH_MSG_RUN_DISPVM, 0, 16, -EPROTO, -EPROTO },
	{ BH_MSG_ERROR, 0, 8, -EPROTO, -EPROTO },
	{ 0x102u, 0, 8, -EPROTO, -EPROTO },
	{ 0xffffffffu, 0, 0, -EPROTO, -EPROTO },
	{ 0xffffffffu, 1, 8, -EPROTO, -EPROTO },
};

static void test_check_cases(void **state)
{
	size_t i;

	for (i = 0; i < ARRAY_LEN(cases); i++) {
		struct bh_frame_hdr h = { cases[i].type, cases[i].stream,
					  cases[i].len };

		if (bh_frame_check_from_guest(&h) != cases[i].guest ||
		    bh_frame_check_from_host(&h) != cases[i].host)
			print_error("case %zu: type %#x stream %u len %u\n", i,
				    h.type, h.stream, h.len);
		assert_int_equal(bh_frame_check_from_guest(&h),
				 cases[i].guest);
		assert_int_equal(bh_frame_check_from_host(&h), cases[i].host);
	}
}

/* ---- fixed payloads ---- */

static int parse_exit(uint32_t kind, uint32_t value, size_t len,
		      uint32_t *k, uint32_t *v)
{
	uint8_t p[16];

	memset(p, 0, sizeof(p));
	bh_put_u32(p, kind);
	bh_put_u32(p + 4, value);
	*k = 0xdeadbeefu;
	*v = 0xdeadbeefu;
	return bh_parse_exit(p, len, k, v);
}

struct exit_case {
	uint32_t kind, value;
	int ok;
};

static const struct exit_case exit_cases[] = {
	{ BH_EXIT_CODE, 0, 1 },
	{ BH_EXIT_CODE, 1, 1 },
	{ BH_EXIT_CODE, 255, 1 },
	{ BH_EXIT_CODE, 256, 0 },
	{ BH_EXIT_CODE, 0xffffffffu, 0 },
	{ BH_EXIT_SIGNAL, 0, 0 },
	{ BH_EXIT_SIGNAL, 1, 1 },
	{ BH_EXIT_SIGNAL, 9, 1 },
	{ BH_EXIT_SIGNAL, 64, 1 },
	{ BH_EXIT_SIGNAL, 65, 0 },
	{ BH_EXIT_SIGNAL, 0xffffffffu, 0 },
	{ BH_EXIT_NOSTART, 0, 0 },
	{ BH_EXIT_NOSTART, BH_NOSTART_NOTFOUND, 1 },
	{ BH_EXIT_NOSTART, BH_NOSTART_NOEXEC, 1 },
	{ BH_EXIT_NOSTART, BH_NOSTART_OTHER, 1 },
	{ BH_EXIT_NOSTART, BH_NOSTART_NOUSER, 1 },
	{ BH_EXIT_NOSTART, 5, 0 },
	{ BH_EXIT_NOSTART, 0xffffffffu, 0 },
	{ 3, 0, 1 }, /* refused by policy */
	{ 3, 1, 0 },
	{ 4, 0, 0 },
	{ 0x100, 0, 0 },
	{ 0xffffffffu, 0, 0 },
};

static void test_parse_exit_values(void **state)
{
	size_t i;

	for (i = 0; i < ARRAY_LEN(exit_cases); i++) {
		const struct exit_case *c = &exit_cases[i];
		uint32_t k, v;
		int r = parse_exit(c->kind, c->value, 8, &k, &v);

		if ((r == 0) != c->ok)
			print_error("exit kind %u value %u: got %d\n",
				    c->kind, c->value, r);
		if (c->ok) {
			assert_int_equal(r, 0);
			assert_int_equal(k, c->kind);
			assert_int_equal(v, c->value);
		} else {
			assert_int_equal(r, -EPROTO);
			/* Outputs untouched on failure. */
			assert_int_equal(k, 0xdeadbeefu);
			assert_int_equal(v, 0xdeadbeefu);
		}
	}
}

static void test_parse_exit_lengths(void **state)
{
	static const size_t bad[] = { 0, 1, 4, 7, 9, 12, 16 };
	uint32_t k, v;
	size_t i;

	for (i = 0; i < ARRAY_LEN(bad); i++)
		assert_int_equal(parse_exit(BH_EXIT_CODE, 0, bad[i], &k, &v),
				 -EPROTO);
	assert_int_equal(parse_exit(BH_EXIT_CODE, 0, 8, &k, &v), 0);
}

static void test_parse_exit_le(void **state)
{
	/* kind = SIGNAL, value = 9, little-endian. */
	static const uint8_t p[8] = { 1, 0, 0, 0, 9, 0, 0, 0 };
	/* Same numbers read big-endian would be out of range. */
	static const uint8_t be[8] = { 0, 0, 0, 1, 0, 0, 0, 9 };
	uint32_t k, v;

	assert_int_equal(bh_parse_exit(p, sizeof(p), &k, &v), 0);
	assert_int_equal(k, BH_EXIT_SIGNAL);
	assert_int_equal(v, 9);
	assert_int_equal(bh_parse_exit(be, sizeof(be), &k, &v), -EPROTO);
}

static void test_parse_u32_payload(void **state)
{
	static const uint8_t p[8] = { 0x78, 0x56, 0x34, 0x12, 0, 0, 0, 0 };
	uint32_t v = 0;

	assert_int_equal(bh_parse_u32_payload(p, 4, &v), 0);
	assert_int_equal(v, 0x12345678u);
	v = 7;
	assert_int_equal(bh_parse_u32_payload(p, 0, &v), -EPROTO);
	assert_int_equal(bh_parse_u32_payload(p, 3, &v), -EPROTO);
	assert_int_equal(bh_parse_u32_payload(p, 5, &v), -EPROTO);
	assert_int_equal(bh_parse_u32_payload(p, 8, &v), -EPROTO);
	assert_int_equal(v, 7);
}

static void test_parse_hello(void **state)
{
	uint8_t p[9];
	uint32_t ver = 0;

	memset(p, 0, sizeof(p));
	bh_put_u32(p, BH_PROTO_VERSION);
	bh_put_u32(p + 4, 0xffffffffu); /* flags: not interpreted here */
	assert_int_equal(bh_parse_hello(p, 8, &ver), 0);
	assert_int_equal(ver, BH_PROTO_VERSION);
	ver = 42;
	assert_int_equal(bh_parse_hello(p, 4, &ver), -EPROTO);
	assert_int_equal(bh_parse_hello(p, 7, &ver), -EPROTO);
	assert_int_equal(bh_parse_hello(p, 9, &ver), -EPROTO);
	assert_int_equal(ver, 42);
}

/* ---- exit status ---- */

static void test_exit_status(void **state)
{
	assert_int_equal(bh_exit_status(BH_EXIT_CODE, 0), 0);
	assert_int_equal(bh_exit_status(BH_EXIT_CODE, 7), 7);
	assert_int_equal(bh_exit_status(BH_EXIT_CODE, 255), 255);
	assert_int_equal(bh_exit_status(BH_EXIT_SIGNAL, 9), 128 + 9);
	assert_int_equal(bh_exit_status(BH_EXIT_SIGNAL, 15), 143);
	assert_int_equal(bh_exit_status(BH_EXIT_SIGNAL, 1), 129);
	assert_int_equal(bh_exit_status(BH_EXIT_SIGNAL, 64), 192);
	assert_int_equal(bh_exit_status(BH_EXIT_NOSTART, BH_NOSTART_NOTFOUND),
			 127);
	assert_int_equal(bh_exit_status(BH_EXIT_NOSTART, BH_NOSTART_NOEXEC),
			 126);
	assert_int_equal(bh_exit_status(BH_EXIT_NOSTART, BH_NOSTART_OTHER),
			 125);
	assert_int_equal(bh_exit_status(BH_EXIT_NOSTART, BH_NOSTART_NOUSER),
			 125);
	assert_int_equal(bh_exit_status(BH_EXIT_REFUSED, 0), 126);
}

/* Everything bh_parse_exit accepts maps into 0..255, shell range. */
static void test_exit_status_range(void **state)
{
	uint32_t kind, value, k, v;

	for (kind = 0; kind < 5; kind++) {
		for (value = 0; value < 300; value++) {
			int st;

			if (parse_exit(kind, value, 8, &k, &v) != 0)
				continue;
			st = bh_exit_status(k, v);
			assert_in_range(st, 0, 255);
			if (k == BH_EXIT_SIGNAL)
				assert_true(st > 128);
		}
	}
}

/* ---- data port messages ---- */

static void test_parse_port_open(void **state)
{
	uint8_t p[8] = { 0 };
	uint32_t n = 77;

	(void)state;
	bh_put_u32(p, 5);
	assert_int_equal(bh_parse_port_open(p, 4, &n), 0);
	assert_int_equal(n, 5);
	n = 77;
	assert_int_equal(bh_parse_port_open(p, 3, &n), -EPROTO);
	assert_int_equal(bh_parse_port_open(p, 5, &n), -EPROTO);
	assert_int_equal(bh_parse_port_open(p, 0, &n), -EPROTO);
	assert_int_equal(n, 77);
	bh_put_u32(p, BH_DATAPORT_N_MAX - 1);
	assert_int_equal(bh_parse_port_open(p, 4, &n), 0);
	assert_int_equal(n, BH_DATAPORT_N_MAX - 1);
	/* A number past the bound would make a name longer than planned. */
	bh_put_u32(p, BH_DATAPORT_N_MAX);
	assert_int_equal(bh_parse_port_open(p, 4, &n), -EPROTO);
	bh_put_u32(p, 0xffffffffu);
	assert_int_equal(bh_parse_port_open(p, 4, &n), -EPROTO);
}

static void test_parse_port_end(void **state)
{
	static const uint8_t le[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	uint8_t p[9] = { 0 };
	uint64_t c = 9;

	(void)state;
	assert_int_equal(bh_parse_port_end(le, 8, &c), 0);
	assert_true(c == 0x0807060504030201ull);
	c = 9;
	assert_int_equal(bh_parse_port_end(p, 7, &c), -EPROTO);
	assert_int_equal(bh_parse_port_end(p, 9, &c), -EPROTO);
	assert_int_equal(bh_parse_port_end(p, 4, &c), -EPROTO);
	assert_true(c == 9);
	bh_put_u64(p, 0xffffffffffffffffull);
	assert_int_equal(bh_parse_port_end(p, 8, &c), 0);
	assert_true(c == 0xffffffffffffffffull);
	bh_put_u64(p, 64ull << 30);
	assert_true(bh_get_u64(p) == 64ull << 30);
	assert_int_equal(p[4], 16);
}

/* BH_MSG_CHAN_BROKEN's payload: four LE u32, exactly 16 bytes, and a why
 * the daemon knows (a channel process of ours sends it, but the daemon
 * still parses it as it parses everything it reads). */
static void test_chan_broken(void **state)
{
	const struct bh_chan_broken b = { BH_BROKEN_FRAME, 0x01020304u,
					  0x80000005u, 0xfffffffeu };
	uint8_t p[BH_CHAN_BROKEN_LEN + 1] = { 0 };
	struct bh_chan_broken out = { 9, 9, 9, 9 };
	uint32_t why;

	(void)state;
	bh_chan_broken_encode(p, &b);
	assert_int_equal(p[0], 1);
	assert_int_equal(p[4], 0x04);
	assert_int_equal(p[7], 0x01);
	assert_int_equal(p[11], 0x80);
	assert_int_equal(p[12], 0xfe);
	assert_int_equal(p[BH_CHAN_BROKEN_LEN], 0); /* nothing past 16 */
	assert_int_equal(bh_parse_chan_broken(p, BH_CHAN_BROKEN_LEN, &out), 0);
	assert_int_equal(out.why, b.why);
	assert_int_equal(out.type, b.type);
	assert_int_equal(out.stream, b.stream);
	assert_int_equal(out.len, b.len);

	/* Any other length is refused, and out is left alone. */
	memset(&out, 9, sizeof(out));
	assert_int_equal(bh_parse_chan_broken(p, 0, &out), -EPROTO);
	assert_int_equal(bh_parse_chan_broken(p, 15, &out), -EPROTO);
	assert_int_equal(bh_parse_chan_broken(p, 17, &out), -EPROTO);
	assert_int_equal(out.why, 0x09090909u);

	/* Known whys only: 1 and 2. */
	for (why = 0; why < 8; why++) {
		bh_put_u32(p, why);
		assert_int_equal(bh_parse_chan_broken(p, 16, &out),
				 why == BH_BROKEN_FRAME ||
						 why == BH_BROKEN_OVERSIZED
					 ? 0
					 : -EPROTO);
	}
	bh_put_u32(p, 0xffffffffu);
	assert_int_equal(bh_parse_chan_broken(p, 16, &out), -EPROTO);
	bh_put_u32(p, 0x100u | BH_BROKEN_FRAME); /* high bytes count too */
	assert_int_equal(bh_parse_chan_broken(p, 16, &out), -EPROTO);
	bh_put_u32(p, BH_BROKEN_OVERSIZED);
	assert_int_equal(bh_parse_chan_broken(p, 16, &out), 0);
	assert_int_equal(out.why, BH_BROKEN_OVERSIZED);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_u32_le_bytes),
		cmocka_unit_test(test_hdr_le_bytes),
		cmocka_unit_test(test_hdr_decode_le_bytes),
		cmocka_unit_test(test_hdr_round_trip),
		cmocka_unit_test(test_hdr_len_limit),
		cmocka_unit_test(test_frame_build_bytes),
		cmocka_unit_test(test_check_table),
		cmocka_unit_test(test_check_cases),
		cmocka_unit_test(test_parse_exit_values),
		cmocka_unit_test(test_parse_exit_lengths),
		cmocka_unit_test(test_parse_exit_le),
		cmocka_unit_test(test_parse_u32_payload),
		cmocka_unit_test(test_parse_hello),
		cmocka_unit_test(test_exit_status),
		cmocka_unit_test(test_exit_status_range),
		cmocka_unit_test(test_parse_port_open),
		cmocka_unit_test(test_parse_port_end),
		cmocka_unit_test(test_chan_broken),
	};

	return cmocka_run_group_tests_name("frame", tests, NULL, NULL);
}

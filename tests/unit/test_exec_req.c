/* Unit tests of src/proto/exec_req.c: encoding, and the agent-side parser
 * fed with valid and hostile requests. Buffers handed to the parser are
 * heap copies of exactly the length given, so that ASan catches any read
 * past the end. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "proto/exec_req.h"
#include "proto/frame.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Parses a heap copy of exactly len bytes. */
static int parse_copy(const void *buf, size_t len, struct bh_exec_req *req)
{
	uint8_t *p = malloc(len ? len : 1);
	int r;

	assert_non_null(p);
	if (len)
		memcpy(p, buf, len);
	r = bh_exec_req_parse(p, len, req);
	free(p);
	return r;
}

/* Builds a raw request: header counts, then `slen` bytes of strings. */
static size_t raw_req(uint8_t *out, uint32_t argc, uint32_t envc,
		      const char *strings, size_t slen)
{
	bh_put_u32(out, argc);
	bh_put_u32(out + 4, envc);
	memcpy(out + 8, strings, slen);
	return 8 + slen;
}

/* Parses a raw request and checks it is refused and leaves nothing. */
static void expect_refused(uint32_t argc, uint32_t envc, const char *strings,
			   size_t slen)
{
	uint8_t buf[256];
	struct bh_exec_req req;
	size_t len;

	assert_true(slen + 8 <= sizeof(buf));
	len = raw_req(buf, argc, envc, strings, slen);
	memset(&req, 0x5a, sizeof(req));
	assert_int_equal(parse_copy(buf, len, &req), -EPROTO);
	assert_null(req.argv);
	assert_null(req.envp);
	assert_null(req.storage);
	bh_exec_req_free(&req); /* must be harmless */
}

static void expect_accepted(uint32_t argc, uint32_t envc, const char *strings,
			    size_t slen)
{
	uint8_t buf[256];
	struct bh_exec_req req;
	size_t len;

	len = raw_req(buf, argc, envc, strings, slen);
	assert_int_equal(parse_copy(buf, len, &req), 0);
	assert_int_equal(req.argc, argc);
	assert_int_equal(req.envc, envc);
	bh_exec_req_free(&req);
}

static int points_into(const char *p, const struct bh_exec_req *req,
		       size_t storage_len)
{
	return p >= req->storage && p < req->storage + storage_len;
}

/* Checks the invariants of a parsed request: arrays NULL-terminated,
 * every string inside storage and terminated inside it. */
static void check_layout(const struct bh_exec_req *req, size_t len)
{
	size_t slen = len - 8;
	uint32_t i;

	assert_non_null(req->argv);
	assert_non_null(req->envp);
	assert_non_null(req->storage);
	assert_true(req->argc >= 1);
	assert_null(req->argv[req->argc]);
	assert_null(req->envp[req->envc]);
	for (i = 0; i < req->argc; i++) {
		assert_non_null(req->argv[i]);
		assert_true(points_into(req->argv[i], req, slen));
		/* Terminated inside storage. */
		assert_non_null(memchr(req->argv[i], '\0',
				       (size_t)(req->storage + slen -
						req->argv[i])));
	}
	assert_true(req->argv[0][0] != '\0');
	for (i = 0; i < req->envc; i++) {
		assert_non_null(req->envp[i]);
		assert_true(points_into(req->envp[i], req, slen));
		assert_true(bh_env_entry_valid(req->envp[i],
					       strlen(req->envp[i])));
	}
}

/* ---- round trips ---- */

static void round_trip(char *const argv[], char *const envp[])
{
	uint8_t buf[BH_FRAME_MAX_PAYLOAD];
	struct bh_exec_req req;
	size_t argc = 0, envc = 0, i;
	int n;

	while (argv[argc])
		argc++;
	while (envp && envp[envc])
		envc++;
	n = bh_exec_req_encode(buf, sizeof(buf), argv, envp);
	assert_true(n > 8);
	assert_int_equal(bh_get_u32(buf), argc);
	assert_int_equal(bh_get_u32(buf + 4), envc);
	assert_int_equal(buf[n - 1], '\0');

	assert_int_equal(parse_copy(buf, (size_t)n, &req), 0);
	assert_int_equal(req.argc, argc);
	assert_int_equal(req.envc, envc);
	check_layout(&req, (size_t)n);
	for (i = 0; i < argc; i++)
		assert_string_equal(req.argv[i], argv[i]);
	for (i = 0; i < envc; i++)
		assert_string_equal(req.envp[i], envp[i]);
	bh_exec_req_free(&req);
	assert_null(req.argv);
	assert_null(req.storage);
}

static void test_round_trip_plain(void **state)
{
	char *argv[] = { "ls", "-l", "/tmp", NULL };

	round_trip(argv, NULL);
}

static void test_round_trip_odd_args(void **state)
{
	char *argv[] = {
		"/bin/sh", "", "-c", "echo a  b\tc", "line1\nline2\n", "",
		"h\xc3\xa9llo \xe2\x9c\x93 \xf0\x9f\x90\x9a", "\x01\x7f\xff",
		"=", "-", "", NULL,
	};
	char *envp[] = {
		"PATH=/usr/bin:/bin", "EMPTY=", "X_1=a=b=c", "_=x",
		"LANG=\xc3\xa9\n spaces ", "a=", NULL,
	};

	round_trip(argv, envp);
}

static void test_round_trip_single(void **state)
{
	char *argv[] = { "x", NULL };
	char *envp[] = { NULL };

	round_trip(argv, envp);
}

static void test_round_trip_env_is_separate(void **state)
{
	/* argv and envp share one array internally: argv[argc] must be NULL
	 * and envp must not start inside argv. */
	char *argv[] = { "prog", "a", NULL };
	char *envp[] = { "A=1", "B=2", NULL };
	uint8_t buf[128];
	struct bh_exec_req req;
	int n;

	n = bh_exec_req_encode(buf, sizeof(buf), argv, envp);
	assert_int_equal(n, 8 + 5 + 2 + 4 + 4);
	assert_memory_equal(buf + 8, "prog\0a\0A=1\0B=2\0", 15);
	assert_int_equal(parse_copy(buf, (size_t)n, &req), 0);
	assert_null(req.argv[2]);
	assert_ptr_equal(req.envp, req.argv + 3);
	assert_string_equal(req.envp[0], "A=1");
	assert_string_equal(req.envp[1], "B=2");
	assert_null(req.envp[2]);
	bh_exec_req_free(&req);
}

static void test_encode_exact_bytes(void **state)
{
	static const uint8_t expect[] = {
		2, 0, 0, 0, 1, 0, 0, 0,
		'e', 'c', 'h', 'o', 0, 0, 'A', '=', 'b', 0,
	};
	char *argv[] = { "echo", "", NULL };
	char *envp[] = { "A=b", NULL };
	uint8_t buf[64];

	memset(buf, 0xee, sizeof(buf));
	assert_int_equal(bh_exec_req_encode(buf, sizeof(buf), argv, envp),
			 sizeof(expect));
	assert_memory_equal(buf, expect, sizeof(expect));
}

/* ---- encode limits and rules ---- */

static void test_encode_rules(void **state)
{
	uint8_t buf[256];
	char *empty0[] = { "", "x", NULL };
	char *none[] = { NULL };
	char *ok[] = { "ls", NULL };
	char *bad_env[][2] = {
		{ "NOEQUALS", NULL }, { "=x", NULL }, { "1A=x", NULL },
		{ "-A=x", NULL }, { "A-B=x", NULL }, { "A B=x", NULL },
		{ "", NULL }, { "\xc3\xa9=x", NULL },
	};
	size_t i;

	assert_int_equal(bh_exec_req_encode(buf, sizeof(buf), empty0, NULL),
			 -EINVAL);
	assert_int_equal(bh_exec_req_encode(buf, sizeof(buf), none, NULL),
			 -EINVAL);
	assert_int_equal(bh_exec_req_encode(buf, sizeof(buf), NULL, NULL),
			 -EINVAL);
	for (i = 0; i < ARRAY_LEN(bad_env); i++)
		assert_int_equal(bh_exec_req_encode(buf, sizeof(buf), ok,
						    bad_env[i]),
				 -EINVAL);
	/* Capacity: 8 + "ls\0" = 11 bytes. */
	assert_int_equal(bh_exec_req_encode(buf, 11, ok, NULL), 11);
	assert_int_equal(bh_exec_req_encode(buf, 10, ok, NULL), -E2BIG);
	assert_int_equal(bh_exec_req_encode(buf, 7, ok, NULL), -E2BIG);
	assert_int_equal(bh_exec_req_encode(buf, 0, ok, NULL), -E2BIG);
}

static char **make_vec(size_t n, const char *s)
{
	char **v = calloc(n + 1, sizeof(*v));
	size_t i;

	assert_non_null(v);
	for (i = 0; i < n; i++)
		v[i] = (char *)s;
	return v;
}

static void test_encode_max_counts(void **state)
{
	uint8_t *buf = malloc(BH_FRAME_MAX_PAYLOAD);
	char **argv = make_vec(BH_EXEC_MAX_ARGS + 1, "a");
	char **envp = make_vec(BH_EXEC_MAX_ENV + 1, "E=");
	struct bh_exec_req req;
	int n;

	assert_non_null(buf);
	/* Exactly at the limits: fine both ways. */
	argv[BH_EXEC_MAX_ARGS] = NULL;
	envp[BH_EXEC_MAX_ENV] = NULL;
	n = bh_exec_req_encode(buf, BH_FRAME_MAX_PAYLOAD, argv, envp);
	assert_int_equal(n, 8 + 2 * BH_EXEC_MAX_ARGS + 3 * BH_EXEC_MAX_ENV);
	assert_int_equal(parse_copy(buf, (size_t)n, &req), 0);
	assert_int_equal(req.argc, BH_EXEC_MAX_ARGS);
	assert_int_equal(req.envc, BH_EXEC_MAX_ENV);
	check_layout(&req, (size_t)n);
	bh_exec_req_free(&req);

	/* One more argument, or one more variable: too big. */
	argv[BH_EXEC_MAX_ARGS] = "a";
	assert_int_equal(bh_exec_req_encode(buf, BH_FRAME_MAX_PAYLOAD, argv,
					    envp),
			 -E2BIG);
	argv[BH_EXEC_MAX_ARGS] = NULL;
	envp[BH_EXEC_MAX_ENV] = "E=";
	assert_int_equal(bh_exec_req_encode(buf, BH_FRAME_MAX_PAYLOAD, argv,
					    envp),
			 -E2BIG);
	free(argv);
	free(envp);
	free(buf);
}

/* A request of argv = { "x", <filler of flen bytes> } is 8 + 2 + flen + 1. */
static int encode_with_filler(uint8_t *buf, size_t cap, size_t flen)
{
	char *filler = malloc(flen + 1);
	char *argv[] = { "x", filler, NULL };
	int n;

	assert_non_null(filler);
	memset(filler, 'f', flen);
	filler[flen] = '\0';
	n = bh_exec_req_encode(buf, cap, argv, NULL);
	free(filler);
	return n;
}

static void test_encode_one_frame(void **state)
{
	size_t exact = BH_FRAME_MAX_PAYLOAD - 11;
	/* Room for more than a frame: the encoder must still refuse. */
	size_t cap = 2 * BH_FRAME_MAX_PAYLOAD;
	uint8_t *buf = malloc(cap);
	struct bh_exec_req req;
	int n;

	assert_non_null(buf);
	n = encode_with_filler(buf, cap, exact);
	assert_int_equal(n, BH_FRAME_MAX_PAYLOAD);
	assert_int_equal(parse_copy(buf, (size_t)n, &req), 0);
	assert_int_equal(req.argc, 2);
	assert_int_equal(strlen(req.argv[1]), exact);
	check_layout(&req, (size_t)n);
	bh_exec_req_free(&req);

	assert_int_equal(encode_with_filler(buf, cap, exact + 1), -E2BIG);
	assert_int_equal(encode_with_filler(buf, BH_FRAME_MAX_PAYLOAD,
					    exact + 1),
			 -E2BIG);
	/* And a smaller cap is honoured exactly. */
	assert_int_equal(encode_with_filler(buf, 100, 100 - 11), 100);
	assert_int_equal(encode_with_filler(buf, 100, 100 - 10), -E2BIG);
	free(buf);
}

/* ---- the user a command runs as ---- */

static void test_add_user_when_none(void **state)
{
	char *argv[] = { "id", "-un", NULL };
	char *envp[] = { "A=1", NULL };
	uint8_t in[256], out[256];
	struct bh_exec_req req;
	int n, m;

	(void)state;
	n = bh_exec_req_encode(in, sizeof(in), argv, envp);
	assert_true(n > 0);
	m = bh_exec_req_add_user(in, (size_t)n, "user", out, sizeof(out));
	assert_int_equal(m, n + (int)sizeof("BH_RUN_USER=user"));
	assert_int_equal(parse_copy(out, (size_t)m, &req), 0);
	assert_int_equal(req.argc, 2);
	assert_string_equal(req.argv[1], "-un");
	assert_int_equal(req.envc, 2);
	assert_string_equal(req.envp[0], "A=1");
	assert_string_equal(req.envp[1], "BH_RUN_USER=user");
	bh_exec_req_free(&req);
}

static void test_add_user_keeps_given(void **state)
{
	char *argv[] = { "id", NULL };
	char *envp[] = { "BH_RUN_USER=root", "B=2", NULL };
	uint8_t in[256], out[256];
	int n;

	(void)state;
	n = bh_exec_req_encode(in, sizeof(in), argv, envp);
	assert_true(n > 0);
	/* bh run -u root: the qube's default_user does not override it. */
	assert_int_equal(bh_exec_req_add_user(in, (size_t)n, "user", out,
					      sizeof(out)),
			 n);
	assert_memory_equal(in, out, (size_t)n);
	assert_int_equal(bh_exec_req_add_user(in, (size_t)n, "user", out,
					      (size_t)n - 1),
			 -E2BIG);
}

static void test_add_user_refusals(void **state)
{
	char *argv[] = { "id", NULL };
	uint8_t in[64], out[64];
	int n;

	(void)state;
	n = bh_exec_req_encode(in, sizeof(in), argv, NULL);
	assert_true(n > 0);
	assert_int_equal(bh_exec_req_add_user(in, (size_t)n, "", out,
					      sizeof(out)),
			 -EINVAL);
	assert_int_equal(bh_exec_req_add_user(in, 4, "user", out,
					      sizeof(out)),
			 -EPROTO);
	/* No room for the entry: refused, nothing half-written counts. */
	assert_int_equal(bh_exec_req_add_user(in, (size_t)n, "user", out,
					      (size_t)n + 4),
			 -E2BIG);
}

static void test_add_user_full_frame(void **state)
{
	size_t cap = BH_FRAME_MAX_PAYLOAD;
	uint8_t *in = malloc(cap), *out = malloc(cap);
	int n;

	assert_non_null(in);
	assert_non_null(out);
	n = encode_with_filler(in, cap, BH_FRAME_MAX_PAYLOAD - 11);
	assert_int_equal(n, BH_FRAME_MAX_PAYLOAD);
	assert_int_equal(bh_exec_req_add_user(in, (size_t)n, "user", out,
					      cap),
			 -E2BIG);
	free(in);
	free(out);
}

/* ---- hostile input to the parser ---- */

#define S(lit) lit, sizeof(lit) - 1

static void test_parse_short(void **state)
{
	uint8_t buf[16] = { 1, 0, 0, 0, 0, 0, 0, 0, 'x', 0 };
	struct bh_exec_req req;
	size_t len;

	for (len = 0; len < 8; len++) {
		memset(&req, 0x5a, sizeof(req));
		assert_int_equal(parse_copy(buf, len, &req), -EPROTO);
		assert_null(req.argv);
	}
	/* Just the counts, no strings. */
	assert_int_equal(parse_copy(buf, 8, &req), -EPROTO);
	assert_int_equal(parse_copy(buf, 10, &req), 0);
	bh_exec_req_free(&req);
}

static void test_parse_counts(void **state)
{
	expect_accepted(1, 0, S("ls\0"));
	expect_refused(0, 0, S("ls\0"));
	expect_refused(0, 1, S("A=b\0"));
	expect_refused(2, 0, S("ls\0"));
	expect_refused(3, 0, S("ls\0-l\0"));
	expect_refused(1, 1, S("ls\0"));
	expect_refused(1, 2, S("ls\0A=b\0"));
	/* Counts larger than the strings, though the bytes suffice for that
	 * many NULs: caught while walking the strings. */
	expect_refused(3, 0, S("lsxx\0-l\0"));
	expect_refused(1, 3, S("ls\0A=bcdef\0"));
	expect_refused(0xffffffffu, 0, S("ls\0"));
	expect_refused(1, 0xffffffffu, S("ls\0"));
	expect_refused(BH_EXEC_MAX_ARGS + 1, 0, S("ls\0"));
	expect_refused(1, BH_EXEC_MAX_ENV + 1, S("ls\0"));
	/* Counts that would overflow a 32-bit sum. */
	expect_refused(0x80000000u, 0x80000001u, S("ls\0"));
	expect_refused(1, 0xffffffffu, S("ls\0"));
}

static void test_parse_too_many(void **state)
{
	/* Over the limits with every string present: refused for the
	 * count alone. */
	size_t n = BH_EXEC_MAX_ARGS + 1, len = 8 + 2 * n, i;
	uint8_t *buf = malloc(len + 3 * (BH_EXEC_MAX_ENV + 1));
	struct bh_exec_req req;

	assert_non_null(buf);
	bh_put_u32(buf, (uint32_t)n);
	bh_put_u32(buf + 4, 0);
	for (i = 0; i < n; i++)
		memcpy(buf + 8 + 2 * i, "a", 2);
	assert_int_equal(parse_copy(buf, len, &req), -EPROTO);
	/* Same with one fewer argument: accepted. */
	bh_put_u32(buf, (uint32_t)(n - 1));
	assert_int_equal(parse_copy(buf, len - 2, &req), 0);
	assert_int_equal(req.argc, BH_EXEC_MAX_ARGS);
	bh_exec_req_free(&req);

	n = BH_EXEC_MAX_ENV + 1;
	bh_put_u32(buf, 1);
	bh_put_u32(buf + 4, (uint32_t)n);
	memcpy(buf + 8, "a", 2);
	for (i = 0; i < n; i++)
		memcpy(buf + 10 + 3 * i, "E=", 3);
	len = 10 + 3 * n;
	assert_int_equal(parse_copy(buf, len, &req), -EPROTO);
	bh_put_u32(buf + 4, (uint32_t)(n - 1));
	assert_int_equal(parse_copy(buf, len - 3, &req), 0);
	assert_int_equal(req.envc, BH_EXEC_MAX_ENV);
	check_layout(&req, len - 3);
	bh_exec_req_free(&req);
	free(buf);
}

static void test_parse_strings(void **state)
{
	/* Missing final NUL. */
	expect_refused(1, 0, S("ls"));
	expect_refused(2, 0, S("ls\0-l"));
	expect_refused(1, 1, S("ls\0A=b"));
	/* Bytes after the last string. */
	expect_refused(1, 0, S("ls\0\0"));
	expect_refused(1, 0, S("ls\0x\0"));
	expect_refused(1, 1, S("ls\0A=b\0\0"));
	expect_refused(1, 0, S("ls\0\0\0\0\0\0\0\0"));
	/* Empty argv[0], but an empty later argument is fine. */
	expect_refused(1, 0, S("\0"));
	expect_refused(2, 0, S("\0x\0"));
	expect_accepted(2, 0, S("x\0\0"));
	expect_accepted(3, 0, S("x\0\0\0"));
}

static void test_parse_env(void **state)
{
	static const char *const bad[] = {
		"FOO", "", "=", "=x", "1A=b", "9=", "-A=b", "A-B=c", "A B=c",
		"A.B=c", "\xc3\xa9=x", "\n=x", "A\n=x",
	};
	static const char *const good[] = {
		"A=b", "a=", "_=", "A1=b", "_9=x", "PATH=/a:/b", "X==",
		"X=a b\n\xff",
	};
	char strings[64];
	size_t i, n;

	for (i = 0; i < ARRAY_LEN(bad); i++) {
		n = strlen(bad[i]) + 1;
		memcpy(strings, "ls", 3);
		memcpy(strings + 3, bad[i], n);
		expect_refused(1, 1, strings, 3 + n);
		assert_int_equal(bh_env_entry_valid(bad[i], strlen(bad[i])),
				 0);
	}
	for (i = 0; i < ARRAY_LEN(good); i++) {
		n = strlen(good[i]) + 1;
		memcpy(strings, "ls", 3);
		memcpy(strings + 3, good[i], n);
		expect_accepted(1, 1, strings, 3 + n);
		assert_int_not_equal(bh_env_entry_valid(good[i],
							strlen(good[i])),
				     0);
	}
	/* The second entry is bad: whole request refused. */
	expect_refused(1, 2, S("ls\0A=b\0NOPE\0"));
}

static void test_env_entry_valid_len(void **state)
{
	/* Only the first len bytes count: "A=b" cut to "A" has no '='. */
	assert_int_equal(bh_env_entry_valid("A=b", 1), 0);
	assert_int_not_equal(bh_env_entry_valid("A=b", 2), 0);
	assert_int_equal(bh_env_entry_valid("", 0), 0);
}

static void test_parse_oversize(void **state)
{
	size_t len = BH_FRAME_MAX_PAYLOAD + 1;
	uint8_t *buf = malloc(len);
	struct bh_exec_req req;

	assert_non_null(buf);
	/* A well-formed request, just one byte too long for a frame. */
	bh_put_u32(buf, 2);
	bh_put_u32(buf + 4, 0);
	buf[8] = 'x';
	buf[9] = '\0';
	memset(buf + 10, 'f', len - 11);
	buf[len - 1] = '\0';
	assert_int_equal(parse_copy(buf, len, &req), -EPROTO);
	/* One byte shorter it is accepted. */
	buf[len - 2] = '\0';
	assert_int_equal(parse_copy(buf, len - 1, &req), 0);
	assert_int_equal(strlen(req.argv[1]), len - 12);
	bh_exec_req_free(&req);
	/* Huge lengths are refused before anything is read past 8 bytes. */
	assert_int_equal(bh_exec_req_parse(buf, (size_t)-1, &req), -EPROTO);
	assert_int_equal(bh_exec_req_parse(buf, 0x100000000ull, &req),
			 -EPROTO);
	free(buf);
}

/* ---- every truncation, and every single-byte corruption ---- */

static int encode_sample(uint8_t *buf, size_t cap)
{
	char *argv[] = { "/usr/bin/env", "", "a b", "\xc3\xa9\n", "", NULL };
	char *envp[] = { "HOME=/root", "E=", "_X1=y=z", NULL };

	return bh_exec_req_encode(buf, cap, argv, envp);
}

static void test_parse_every_prefix(void **state)
{
	uint8_t buf[256];
	struct bh_exec_req req;
	int n = encode_sample(buf, sizeof(buf));
	size_t len;

	assert_true(n > 8);
	for (len = 0; len < (size_t)n; len++) {
		int r = parse_copy(buf, len, &req);

		if (r != -EPROTO)
			print_error("prefix of %zu bytes: %d\n", len, r);
		assert_int_equal(r, -EPROTO);
		assert_null(req.argv);
	}
	assert_int_equal(parse_copy(buf, (size_t)n, &req), 0);
	assert_int_equal(req.argc, 5);
	assert_int_equal(req.envc, 3);
	check_layout(&req, (size_t)n);
	bh_exec_req_free(&req);
}

static void test_parse_every_corruption(void **state)
{
	static const uint8_t values[] = { 0, 1, '=', '-', 'A', '0', 0x7f,
					  0x80, 0xff };
	uint8_t buf[256], mut[256];
	struct bh_exec_req req;
	int n = encode_sample(buf, sizeof(buf));
	size_t pos, v;
	unsigned ok = 0, refused = 0;

	assert_true(n > 8);
	for (pos = 0; pos < (size_t)n; pos++) {
		for (v = 0; v < ARRAY_LEN(values); v++) {
			int r;

			memcpy(mut, buf, (size_t)n);
			mut[pos] = values[v];
			r = parse_copy(mut, (size_t)n, &req);
			if (r == 0) {
				check_layout(&req, (size_t)n);
				bh_exec_req_free(&req);
				ok++;
			} else {
				assert_int_equal(r, -EPROTO);
				assert_null(req.argv);
				refused++;
			}
		}
	}
	/* Both outcomes happen: the loop really exercises the checks. */
	assert_true(ok > 0);
	assert_true(refused > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip_plain),
		cmocka_unit_test(test_round_trip_odd_args),
		cmocka_unit_test(test_round_trip_single),
		cmocka_unit_test(test_round_trip_env_is_separate),
		cmocka_unit_test(test_encode_exact_bytes),
		cmocka_unit_test(test_encode_rules),
		cmocka_unit_test(test_encode_max_counts),
		cmocka_unit_test(test_encode_one_frame),
		cmocka_unit_test(test_add_user_when_none),
		cmocka_unit_test(test_add_user_keeps_given),
		cmocka_unit_test(test_add_user_refusals),
		cmocka_unit_test(test_add_user_full_frame),
		cmocka_unit_test(test_parse_short),
		cmocka_unit_test(test_parse_counts),
		cmocka_unit_test(test_parse_too_many),
		cmocka_unit_test(test_parse_strings),
		cmocka_unit_test(test_parse_env),
		cmocka_unit_test(test_env_entry_valid_len),
		cmocka_unit_test(test_parse_oversize),
		cmocka_unit_test(test_parse_every_prefix),
		cmocka_unit_test(test_parse_every_corruption),
	};

	return cmocka_run_group_tests_name("exec_req", tests, NULL, NULL);
}

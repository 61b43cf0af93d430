/* Unit tests of src/guest/openinvm_*.c: the request bh-open-in-dvm sends
 * and the reply of the disposable, both parsed as untrusted. Table-driven:
 * each row is a message built here (or a valid one spoiled), parsed whole,
 * byte by byte and cut short; buffers handed to the parser are heap
 * copies of exactly the length given, so that ASan catches a read past
 * the end. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "guest/filecopy.h"
#include "guest/openinvm.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define MAX_MSG 8192

/* How a row spoils its message after building it. */
enum spoil {
	S_NONE,
	S_MAGIC,     /* first byte changed */
	S_VERSION,   /* version 2 */
	S_RESERVED,  /* reserved field 1 */
	S_DIGEST,    /* last byte of the digest flipped */
	S_TRAILING,  /* one byte after the digest */
	S_TRUNCATED, /* the digest's last byte missing */
	S_CONTENT,   /* a content byte changed after the digest was made */
};

struct row {
	const char *what;
	enum oiv_kind kind;
	uint32_t flags, status;
	const char *str;
	size_t str_len;   /* 0: strlen(str) */
	size_t size;      /* content bytes ('x' * size) */
	uint64_t decl;    /* declared size if not 0 (size otherwise) */
	uint64_t max;     /* max_size given to the parser */
	enum spoil spoil;
	int want;         /* oiv_dec_finish's result */
};

static size_t build(const struct row *r, uint8_t *out)
{
	struct oiv_hdr h = { .version = OIV_VERSION, .flags = r->flags,
			     .status = r->status };
	size_t slen = r->str_len ? r->str_len : strlen(r->str), n;

	h.str_len = (uint32_t)slen;
	h.size = r->decl ? r->decl : r->size;
	oiv_hdr_encode(out, r->kind, &h);
	n = OIV_HDR_LEN;
	memcpy(out + n, r->str, slen);
	n += slen;
	memset(out + n, 'x', r->size);
	n += r->size;
	if (r->spoil == S_VERSION)
		fc_put_u32(out + 4, 2);
	if (r->spoil == S_RESERVED)
		fc_put_u32(out + 20, 1);
	if (r->spoil == S_MAGIC)
		out[0] ^= 0x20;
	crypto_hash_sha256(out + n, out, n);
	n += OIV_DIGEST_LEN;
	if (r->spoil == S_CONTENT)
		out[OIV_HDR_LEN + slen] = 'y';
	if (r->spoil == S_DIGEST)
		out[n - 1] ^= 1;
	if (r->spoil == S_TRAILING)
		out[n++] = 0;
	if (r->spoil == S_TRUNCATED)
		n--;
	return n;
}

static char long_name[257], long_text[1026];

static const struct row rows[] = {
	/* requests */
	{ "request", OIV_REQUEST, 0, 0, "notes.txt", 0, 10, 0, 100, S_NONE, 0 },
	{ "request, view-only, empty file", OIV_REQUEST, OIV_F_VIEW_ONLY, 0,
	  "empty", 0, 0, 0, 100, S_NONE, 0 },
	{ "request, UTF-8 name", OIV_REQUEST, 0, 0, "r\xc3\xa9sum\xc3\xa9.odt",
	  0, 3, 0, 100, S_NONE, 0 },
	{ "request, name of 255", OIV_REQUEST, 0, 0, long_name, 255, 1, 0, 100,
	  S_NONE, 0 },
	{ "request, name of 256", OIV_REQUEST, 0, 0, long_name, 256, 1, 0, 100,
	  S_NONE, -ENAMETOOLONG },
	{ "request, empty name", OIV_REQUEST, 0, 0, "", 0, 1, 0, 100, S_NONE,
	  -EINVAL },
	{ "request, name .", OIV_REQUEST, 0, 0, ".", 0, 1, 0, 100, S_NONE,
	  -EINVAL },
	{ "request, name ..", OIV_REQUEST, 0, 0, "..", 0, 1, 0, 100, S_NONE,
	  -EINVAL },
	{ "request, name with /", OIV_REQUEST, 0, 0, "../etc/passwd", 0, 1, 0,
	  100, S_NONE, -EINVAL },
	{ "request, name with newline", OIV_REQUEST, 0, 0, "a\nb", 0, 1, 0, 100,
	  S_NONE, -EILSEQ },
	{ "request, name with escape", OIV_REQUEST, 0, 0, "a\x1b[2J", 0, 1, 0,
	  100, S_NONE, -EILSEQ },
	{ "request, name with NUL", OIV_REQUEST, 0, 0, "a\0b", 3, 1, 0, 100,
	  S_NONE, -EILSEQ },
	{ "request, oversized", OIV_REQUEST, 0, 0, "big", 0, 0, 101, 100,
	  S_NONE, -EFBIG },
	{ "request, size beyond off_t", OIV_REQUEST, 0, 0, "big", 0, 0,
	  (uint64_t)INT64_MAX + 1, UINT64_MAX, S_NONE, -EFBIG },
	{ "request, with a status", OIV_REQUEST, 0, 5, "a", 0, 1, 0, 100,
	  S_NONE, -EPROTO },
	{ "request, unknown flag", OIV_REQUEST, 2, 0, "a", 0, 1, 0, 100, S_NONE,
	  -EPROTO },
	{ "request, bad magic", OIV_REQUEST, 0, 0, "a", 0, 1, 0, 100, S_MAGIC,
	  -EPROTO },
	{ "request, version 2", OIV_REQUEST, 0, 0, "a", 0, 1, 0, 100, S_VERSION,
	  -EPROTO },
	{ "request, reserved set", OIV_REQUEST, 0, 0, "a", 0, 1, 0, 100,
	  S_RESERVED, -EPROTO },
	{ "request, bad digest", OIV_REQUEST, 0, 0, "a", 0, 5, 0, 100, S_DIGEST,
	  -EBADMSG },
	{ "request, content changed", OIV_REQUEST, 0, 0, "a", 0, 5, 0, 100,
	  S_CONTENT, -EBADMSG },
	{ "request, trailing junk", OIV_REQUEST, 0, 0, "a", 0, 5, 0, 100,
	  S_TRAILING, -EPROTO },
	{ "request, truncated", OIV_REQUEST, 0, 0, "a", 0, 5, 0, 100,
	  S_TRUNCATED, -EPROTO },
	{ "a reply where a request belongs", OIV_REPLY, 0, 0, "ok", 0, 0, 0,
	  100, S_NONE, -EPROTO },
	/* replies (the row's kind is what is built; parsed as a reply
	 * unless the row says OIV_REQUEST) */
	{ "reply, unchanged", OIV_REPLY, 0, 0, "unchanged", 0, 0, 0, 100,
	  S_NONE, 0 },
	{ "reply, changed", OIV_REPLY, OIV_F_CHANGED, 0, "changed", 0, 40, 0,
	  100, S_NONE, 0 },
	{ "reply, changed to empty", OIV_REPLY, OIV_F_CHANGED, 0, "", 0, 0, 0,
	  100, S_NONE, 0 },
	{ "reply, failure", OIV_REPLY, 0, ENOENT, "no viewer", 0, 0, 0, 100,
	  S_NONE, 0 },
	{ "reply, message of 1024", OIV_REPLY, 0, 0, long_text, 1024, 0, 0, 100,
	  S_NONE, 0 },
	{ "reply, message of 1025", OIV_REPLY, 0, 0, long_text, 1025, 0, 0, 100,
	  S_NONE, -ENAMETOOLONG },
	{ "reply, control characters in the message", OIV_REPLY, 0, 0,
	  "\x1b]0;evil\x07", 0, 0, 0, 100, S_NONE, 0 },
	{ "reply, over the cap", OIV_REPLY, OIV_F_CHANGED, 0, "", 0, 101, 0,
	  100, S_NONE, -EFBIG },
	{ "reply, declared over the cap", OIV_REPLY, OIV_F_CHANGED, 0, "", 0,
	  0, UINT64_MAX, 100, S_NONE, -EFBIG },
	{ "reply, content without changed", OIV_REPLY, 0, 0, "", 0, 3, 0, 100,
	  S_NONE, -EPROTO },
	{ "reply, changed with a failure", OIV_REPLY, OIV_F_CHANGED, EIO, "",
	  0, 3, 0, 100, S_NONE, -EPROTO },
	{ "reply, unknown flag", OIV_REPLY, 4, 0, "", 0, 0, 0, 100, S_NONE,
	  -EPROTO },
	{ "reply, bad magic", OIV_REPLY, 0, 0, "", 0, 0, 0, 100, S_MAGIC,
	  -EPROTO },
	{ "reply, bad digest", OIV_REPLY, OIV_F_CHANGED, 0, "", 0, 9, 0, 100,
	  S_DIGEST, -EBADMSG },
	{ "reply, trailing junk", OIV_REPLY, 0, 0, "ok", 0, 0, 0, 100,
	  S_TRAILING, -EPROTO },
	{ "reply, truncated", OIV_REPLY, OIV_F_CHANGED, 0, "ok", 0, 9, 0, 100,
	  S_TRUNCATED, -EPROTO },
};

/* The kind a row's message is parsed as: the last request row is a
 * reply parsed as a request. */
static enum oiv_kind parse_kind(const struct row *r)
{
	return strcmp(r->what, "a reply where a request belongs") == 0
		       ? OIV_REQUEST
		       : r->kind;
}

struct seen {
	int headers;
	struct oiv_hdr hdr;
	char str[4 * OIV_MAX_TEXT + 1];
	size_t data;
	int bad_order;
};

static int on_header(void *ctx, const struct oiv_hdr *h, const char *str)
{
	struct seen *s = ctx;

	s->headers++;
	s->hdr = *h;
	snprintf(s->str, sizeof(s->str), "%s", str);
	return 0;
}

static int on_data(void *ctx, const uint8_t *buf, size_t len)
{
	struct seen *s = ctx;

	(void)buf;
	if (!s->headers || len == 0)
		s->bad_order = 1;
	s->data += len;
	return 0;
}

/* Parses msg in pieces of `step` bytes (0: whole). */
static int parse(const struct row *r, const uint8_t *msg, size_t len,
		 size_t step, struct seen *s)
{
	static struct oiv_dec d;
	struct oiv_sink sink = { on_header, on_data, s };
	size_t off = 0;
	int ret = 0;

	memset(s, 0, sizeof(*s));
	assert_int_equal(oiv_dec_init(&d, parse_kind(r), r->max, &sink), 0);
	while (off < len) {
		size_t n = step && step < len - off ? step : len - off;
		uint8_t *c = malloc(n);

		assert_non_null(c);
		memcpy(c, msg + off, n);
		ret = oiv_dec_feed(&d, c, n);
		free(c);
		off += n;
		if (ret < 0)
			break;
		/* Complete only once the digest checked out. */
		assert_int_equal(ret == 1, d.state == OIV_D_DONE);
	}
	ret = oiv_dec_finish(&d);
	if (ret < 0)
		assert_true(d.msg[0] != '\0');
	return ret;
}

static void test_table(void **state)
{
	static uint8_t msg[MAX_MSG];
	size_t i, len, step;

	(void)state;
	memset(long_name, 'n', sizeof(long_name) - 1);
	memset(long_text, 't', sizeof(long_text) - 1);
	for (i = 0; i < ARRAY_LEN(rows); i++) {
		const struct row *r = &rows[i];
		static const size_t steps[] = { 0, 1, 7, 33 };
		struct seen s;

		len = build(r, msg);
		for (step = 0; step < ARRAY_LEN(steps); step++) {
			int got = parse(r, msg, len, steps[step], &s);

			if (got != r->want)
				fail_msg("%s (pieces of %zu): got %d, want %d",
					 r->what, steps[step], got, r->want);
			assert_false(s.bad_order);
			assert_true(s.headers <= 1);
			assert_true(s.data <= r->max);
			if (got == 0) {
				assert_int_equal(s.headers, 1);
				assert_int_equal(s.data, s.hdr.size);
				assert_int_equal(s.data, r->size);
			}
		}
	}
}

/* Every cut of a valid message is "truncated", never success. */
static void test_every_cut_is_truncated(void **state)
{
	static uint8_t msg[MAX_MSG];
	const struct row r = { "cut", OIV_REPLY, OIV_F_CHANGED, 0, "changed",
			       0, 20, 0, 100, S_NONE, 0 };
	size_t len = build(&r, msg), cut;
	struct seen s;

	(void)state;
	for (cut = 0; cut < len; cut++)
		assert_int_equal(parse(&r, msg, cut, 0, &s), -EPROTO);
	assert_int_equal(parse(&r, msg, len, 0, &s), 0);
}

static void test_strings_handed_over(void **state)
{
	static uint8_t msg[MAX_MSG];
	const struct row req = { "name", OIV_REQUEST, 0, 0, "a b.pdf", 0, 1,
				 0, 100, S_NONE, 0 };
	const struct row rep = { "text", OIV_REPLY, 0, 0,
				 "bad\x1b]0;x\x07\xff", 0, 0, 0, 100, S_NONE,
				 0 };
	struct seen s;
	size_t i;

	(void)state;
	assert_int_equal(parse(&req, msg, build(&req, msg), 0, &s), 0);
	assert_string_equal(s.str, "a b.pdf");
	assert_int_equal(parse(&rep, msg, build(&rep, msg), 0, &s), 0);
	/* Escaped for a terminal. */
	assert_string_equal(s.str, "bad\\x1b]0;x\\x07\\xff");
	for (i = 0; s.str[i]; i++)
		assert_true(s.str[i] >= 0x20 && s.str[i] < 0x7f);
}

static int refuse_header(void *ctx, const struct oiv_hdr *h, const char *s)
{
	(void)ctx;
	(void)s;
	return h->flags & OIV_F_CHANGED ? -EPROTO : 0;
}

static int refuse_data(void *ctx, const uint8_t *buf, size_t len)
{
	(void)ctx;
	(void)buf;
	(void)len;
	return -ENOSPC;
}

/* A sink's error stops the parse with that error, and sticks. */
static void test_sink_errors(void **state)
{
	static uint8_t msg[MAX_MSG];
	static struct oiv_dec d;
	const struct row r = { "s", OIV_REPLY, OIV_F_CHANGED, 0, "c", 0, 5, 0,
			       100, S_NONE, 0 };
	struct oiv_sink by_header = { refuse_header, NULL, NULL };
	struct oiv_sink by_data = { NULL, refuse_data, NULL };
	size_t len = build(&r, msg);

	(void)state;
	assert_int_equal(oiv_dec_init(&d, OIV_REPLY, 100, &by_header), 0);
	assert_int_equal(oiv_dec_feed(&d, msg, len), -EPROTO);
	assert_int_equal(oiv_dec_feed(&d, msg, 1), -EPROTO);
	assert_int_equal(oiv_dec_finish(&d), -EPROTO);
	assert_int_equal(oiv_dec_init(&d, OIV_REPLY, 100, &by_data), 0);
	assert_int_equal(oiv_dec_feed(&d, msg, len), -ENOSPC);
	assert_int_equal(oiv_dec_finish(&d), -ENOSPC);
}

static void test_reply_cap(void **state)
{
	(void)state;
	assert_true(oiv_reply_cap(0) == OIV_MIN_REPLY_CAP);
	assert_true(oiv_reply_cap(1000) == OIV_MIN_REPLY_CAP);
	assert_true(oiv_reply_cap((uint64_t)100 << 20) ==
		    (uint64_t)400 << 20);
	assert_true(oiv_reply_cap(OIV_MAX_SIZE / 4 + 1) == OIV_MAX_SIZE);
	assert_true(oiv_reply_cap(UINT64_MAX) == OIV_MAX_SIZE);
}

/* oiv_send's message parses back with its content; a file shorter than
 * the size sent is an error (and the peer would see a truncation). */
static void test_send_roundtrip(void **state)
{
	char in[] = "/tmp/bh-oiv-in.XXXXXX", out[] = "/tmp/bh-oiv-out.XXXXXX";
	static uint8_t msg[MAX_MSG];
	struct oiv_hdr h = { .version = OIV_VERSION, .size = 300 };
	const struct row r = { "send", OIV_REQUEST, 0, 0, "x", 0, 0, 0, 1000,
			       S_NONE, 0 };
	int ifd = mkstemp(in), ofd = mkstemp(out);
	char buf[300], why[128];
	uint8_t digest[OIV_DIGEST_LEN], want[OIV_DIGEST_LEN];
	uint64_t size;
	ssize_t n;
	struct seen s;

	(void)state;
	assert_true(ifd >= 0 && ofd >= 0);
	memset(buf, 'x', sizeof(buf));
	assert_int_equal(write(ifd, buf, sizeof(buf)), (ssize_t)sizeof(buf));
	assert_int_equal(lseek(ifd, 0, SEEK_SET), 0);
	assert_int_equal(oiv_hash_fd(ifd, digest, &size), 0);
	crypto_hash_sha256(want, (const uint8_t *)buf, sizeof(buf));
	assert_memory_equal(digest, want, sizeof(want));
	assert_int_equal(size, 300);
	assert_int_equal(lseek(ifd, 0, SEEK_SET), 0);
	assert_int_equal(oiv_send(ofd, OIV_REQUEST, &h, "doc.txt", ifd, why,
				  sizeof(why)),
			 0);
	n = pread(ofd, msg, sizeof(msg), 0);
	assert_true(n > 0);
	assert_int_equal(parse(&r, msg, (size_t)n, 0, &s), 0);
	assert_string_equal(s.str, "doc.txt");
	assert_int_equal(s.data, 300);
	/* Only 300 bytes to read, 301 declared. */
	h.size = 301;
	assert_int_equal(lseek(ifd, 0, SEEK_SET), 0);
	assert_int_equal(oiv_send(ofd, OIV_REQUEST, &h, "doc.txt", ifd, why,
				  sizeof(why)),
			 -EIO);
	close(ifd);
	close(ofd);
	unlink(in);
	unlink(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_every_cut_is_truncated),
		cmocka_unit_test(test_strings_handed_over),
		cmocka_unit_test(test_sink_errors),
		cmocka_unit_test(test_reply_cap),
		cmocka_unit_test(test_send_roundtrip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

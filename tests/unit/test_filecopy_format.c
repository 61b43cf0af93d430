/* Unit tests of src/guest/filecopy_format.c: the checks every name,
 * symlink target and header of a file-copy stream goes through, and the
 * status message the receiver sends back (parsed by the sender as
 * untrusted). Buffers handed to parsers are heap copies of exactly the
 * length given, so that ASan catches a read past the end. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "guest/filecopy.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static uint8_t *copy_of(const void *p, size_t len)
{
	uint8_t *c = malloc(len ? len : 1);

	assert_non_null(c);
	if (len)
		memcpy(c, p, len);
	return c;
}

static int name_check(const char *s, size_t len)
{
	uint8_t *c = copy_of(s, len);
	const char *why = NULL;
	int r = fc_name_check(c, len, &why);

	if (r < 0)
		assert_non_null(why);
	free(c);
	return r;
}

static void test_names(void **state)
{
	char n255[256], n256[257];

	(void)state;
	assert_int_equal(name_check("a", 1), 0);
	assert_int_equal(name_check("...", 3), 0);
	assert_int_equal(name_check(".hidden", 7), 0);
	assert_int_equal(name_check("r\xc3\xa9sum\xc3\xa9", 8), 0);
	assert_int_equal(name_check("", 0), -EINVAL);
	assert_int_equal(name_check(".", 1), -EINVAL);
	assert_int_equal(name_check("..", 2), -EINVAL);
	assert_int_equal(name_check("a/b", 3), -EINVAL);
	assert_int_equal(name_check("/etc", 4), -EINVAL);
	assert_int_equal(name_check("a\nb", 3), -EILSEQ);
	assert_int_equal(name_check("a\x1b[2J", 5), -EILSEQ);
	assert_int_equal(name_check("a\x7f", 2), -EILSEQ);
	assert_int_equal(name_check("a\0b", 3), -EILSEQ);
	memset(n255, 'x', 255);
	memset(n256, 'x', 256);
	assert_int_equal(name_check(n255, 255), 0);
	assert_int_equal(name_check(n256, 256), -ENAMETOOLONG);
}

static const struct {
	const char *target;
	size_t depth;
	int expect;
} links[] = {
	{ "f", 0, 0 },
	{ "sub/f", 0, 0 },
	{ "./f", 0, 0 },
	{ ".", 0, 0 },
	{ "../f", 1, 0 },
	{ "..", 1, 0 },
	{ "../../a/b", 2, 0 },
	{ "./../f", 1, 0 },
	{ "..", 0, -ENOLINK },
	{ "../f", 0, -ENOLINK },
	{ "../../etc/passwd", 1, -ENOLINK },
	{ "../../../../../../etc/passwd", 3, -ENOLINK },
	{ "/etc/passwd", 5, -ENOLINK },
	{ "/", 0, -ENOLINK },
	{ "a/../f", 2, -ENOLINK },     /* ".." after a name: refused */
	{ "a/../../f", 5, -ENOLINK },
	{ "a//b", 0, -ENOLINK },
	{ "a/", 0, -ENOLINK },
	{ "a\nb", 0, -EILSEQ },
	{ "a\x7f", 0, -EILSEQ },
};

static void test_link_targets(void **state)
{
	size_t i;
	char *long_t;

	(void)state;
	for (i = 0; i < ARRAY_LEN(links); i++) {
		size_t len = strlen(links[i].target);
		uint8_t *c = copy_of(links[i].target, len);
		const char *why = NULL;
		int r = fc_link_check(c, len, links[i].depth, &why);

		if (r != links[i].expect)
			fail_msg("target \"%s\" at depth %zu: got %d, want %d",
				 links[i].target, links[i].depth, r,
				 links[i].expect);
		if (r < 0)
			assert_non_null(why);
		free(c);
	}
	/* A NUL inside, an empty target, the length limit. */
	{
		const char *why;
		uint8_t nul[3] = { 'a', 0, 'b' };

		assert_int_equal(fc_link_check(nul, 3, 0, &why), -EILSEQ);
		assert_int_equal(fc_link_check(nul, 0, 0, &why), -ENOLINK);
	}
	long_t = malloc(FC_MAX_LINK + 1);
	assert_non_null(long_t);
	memset(long_t, 'a', FC_MAX_LINK + 1);
	{
		const char *why;

		assert_int_equal(fc_link_check((uint8_t *)long_t, FC_MAX_LINK,
					       0, &why),
				 0);
		assert_int_equal(fc_link_check((uint8_t *)long_t,
					       FC_MAX_LINK + 1, 0, &why),
				 -ENAMETOOLONG);
	}
	free(long_t);
}

static int decode(const struct fc_hdr *h, struct fc_hdr *out)
{
	uint8_t raw[FC_HDR_LEN], *c;
	const char *why = NULL;
	int r;

	fc_hdr_encode(raw, h);
	c = copy_of(raw, sizeof(raw));
	r = fc_hdr_decode(c, out, &why);
	if (r < 0)
		assert_non_null(why);
	free(c);
	return r;
}

static void test_headers(void **state)
{
	struct fc_hdr h, out;

	(void)state;
	h = (struct fc_hdr){ .type = FC_T_FILE, .mode = 0644,
			     .mtime_sec = -5, .mtime_nsec = 999999999,
			     .name_len = 3, .data_len = 1ull << 40 };
	assert_int_equal(decode(&h, &out), 0);
	assert_memory_equal(&h, &out, sizeof(h));

	h.mode = 07777;
	assert_int_equal(decode(&h, &out), 0);
	h.mode = 010644; /* S_IFREG's bits are not part of the mode */
	assert_int_equal(decode(&h, &out), -EPROTO);
	h.mode = 0644;
	h.mtime_nsec = 1000000000;
	assert_int_equal(decode(&h, &out), -EPROTO);
	h.mtime_nsec = 0;
	h.name_len = 0;
	assert_int_equal(decode(&h, &out), -EINVAL);
	h.name_len = 256;
	assert_int_equal(decode(&h, &out), -ENAMETOOLONG);
	h.name_len = 0xffffffffu;
	assert_int_equal(decode(&h, &out), -ENAMETOOLONG);
	h.name_len = 1;
	h.data_len = (uint64_t)INT64_MAX + 1;
	assert_int_equal(decode(&h, &out), -EFBIG);

	h = (struct fc_hdr){ .type = FC_T_DIR, .mode = 0755, .name_len = 1 };
	assert_int_equal(decode(&h, &out), 0);
	h.data_len = 1;
	assert_int_equal(decode(&h, &out), -EPROTO);

	h = (struct fc_hdr){ .type = FC_T_SYMLINK, .mode = 0777,
			     .name_len = 1, .data_len = 0 };
	assert_int_equal(decode(&h, &out), -ENOLINK);
	h.data_len = FC_MAX_LINK;
	assert_int_equal(decode(&h, &out), 0);
	h.data_len = FC_MAX_LINK + 1;
	assert_int_equal(decode(&h, &out), -ENAMETOOLONG);

	/* Markers carry nothing. */
	h = (struct fc_hdr){ .type = FC_T_END };
	assert_int_equal(decode(&h, &out), 0);
	h.data_len = 1;
	assert_int_equal(decode(&h, &out), -EPROTO);
	h = (struct fc_hdr){ .type = FC_T_DIR_END, .name_len = 1 };
	assert_int_equal(decode(&h, &out), -EPROTO);

	/* Device nodes, fifos, sockets: refused as such; others unknown. */
	h = (struct fc_hdr){ .type = FC_T_CHR, .mode = 0600, .name_len = 1 };
	assert_int_equal(decode(&h, &out), -EOPNOTSUPP);
	h.type = FC_T_BLK;
	assert_int_equal(decode(&h, &out), -EOPNOTSUPP);
	h.type = FC_T_FIFO;
	assert_int_equal(decode(&h, &out), -EOPNOTSUPP);
	h.type = FC_T_SOCK;
	assert_int_equal(decode(&h, &out), -EOPNOTSUPP);
	h.type = 0;
	assert_int_equal(decode(&h, &out), -EPROTO);
	h.type = 0xffffffffu;
	assert_int_equal(decode(&h, &out), -EPROTO);
}

static long status_parse(const uint8_t *buf, size_t len, struct fc_status *st)
{
	uint8_t *c = copy_of(buf, len);
	long r = fc_status_parse(c, len, st);

	free(c);
	return r;
}

static void test_status(void **state)
{
	uint8_t buf[FC_STATUS_HDR_LEN + FC_MAX_STATUS_TEXT + 8], dg[32];
	struct fc_status st;
	size_t len, i;
	char big[FC_MAX_STATUS_TEXT + 100];

	(void)state;
	memset(dg, 0xab, sizeof(dg));
	len = fc_status_encode(buf, sizeof(buf), EEXIST, dg, "x: exists");
	assert_int_equal(len, FC_STATUS_HDR_LEN + 9);
	/* Every prefix is incomplete, not an error. */
	for (i = 0; i < len; i++)
		assert_int_equal(status_parse(buf, i, &st), 0);
	assert_int_equal(status_parse(buf, len, &st), (long)len);
	assert_int_equal(st.code, EEXIST);
	assert_memory_equal(st.digest, dg, 32);
	assert_string_equal(st.text, "x: exists");

	/* Text from the receiver is escaped before anyone prints it. */
	len = fc_status_encode(buf, sizeof(buf), 5, NULL, "a\x1b[31mb\n");
	assert_int_equal(status_parse(buf, len, &st), (long)len);
	assert_string_equal(st.text, "a\\x1b[31mb\\x0a");
	assert_int_equal(st.digest[0], 0);

	/* Bad magic at once; a length over the limit. */
	buf[0] = 'X';
	assert_int_equal(status_parse(buf, 1, &st), -EPROTO);
	len = fc_status_encode(buf, sizeof(buf), 0, NULL, "");
	fc_put_u32(buf + 8 + FC_DIGEST_LEN, FC_MAX_STATUS_TEXT + 1);
	assert_int_equal(status_parse(buf, len, &st), -EPROTO);
	fc_put_u32(buf + 8 + FC_DIGEST_LEN, 0xffffffffu);
	assert_int_equal(status_parse(buf, len, &st), -EPROTO);

	/* Long text is cut to the limit by the encoder; the escaped copy
	 * is cut to fit too. */
	memset(big, 0x01, sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	len = fc_status_encode(buf, sizeof(buf), 1, NULL, big);
	assert_int_equal(len, FC_STATUS_HDR_LEN + FC_MAX_STATUS_TEXT);
	assert_int_equal(status_parse(buf, len, &st), (long)len);
	assert_true(strlen(st.text) <= FC_MAX_STATUS_TEXT);
	assert_int_equal(fc_status_encode(buf, FC_STATUS_HDR_LEN - 1, 0, NULL,
					  "x"),
			 0);
}

static void test_qube_names(void **state)
{
	(void)state;
	assert_true(fc_qube_name_valid("work"));
	assert_true(fc_qube_name_valid("sys-net"));
	assert_true(fc_qube_name_valid("a.b_c-1"));
	assert_true(fc_qube_name_valid("abcdefghijklmnopqrstuvwxyz01234"));
	assert_false(fc_qube_name_valid("abcdefghijklmnopqrstuvwxyz012345"));
	assert_false(fc_qube_name_valid(""));
	assert_false(fc_qube_name_valid("1work"));
	assert_false(fc_qube_name_valid(".."));
	assert_false(fc_qube_name_valid("a/b"));
	assert_false(fc_qube_name_valid("a b"));
	assert_false(fc_qube_name_valid("w\n"));
}

static void test_escape(void **state)
{
	char out[16];

	(void)state;
	fc_escape(out, sizeof(out), (const uint8_t *)"ab\\c", 4);
	assert_string_equal(out, "ab\\x5cc");
	fc_escape(out, sizeof(out), (const uint8_t *)"\xff\x01", 2);
	assert_string_equal(out, "\\xff\\x01");
	/* Cut on a whole escape, always terminated. */
	fc_escape(out, 5, (const uint8_t *)"a\x01\x02", 3);
	assert_string_equal(out, "a");
	fc_escape(out, 1, (const uint8_t *)"abc", 3);
	assert_string_equal(out, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_link_targets),
		cmocka_unit_test(test_headers),
		cmocka_unit_test(test_status),
		cmocka_unit_test(test_qube_names),
		cmocka_unit_test(test_escape),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

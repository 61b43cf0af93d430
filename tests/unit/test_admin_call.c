/* The admin call format: round trips and the parser's refusals. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "proto/admin.h"
#include "proto/frame.h"

static void test_round_trip(void **state)
{
	uint8_t buf[256];
	struct bh_admin_call c;
	int n = bh_admin_call_encode(buf, sizeof(buf), "admin.vm.property.Set",
				     "work", "memory", "800", 3);

	assert_true(n > 0);
	assert_int_equal(bh_admin_call_parse(buf, (size_t)n, &c), 0);
	assert_string_equal(c.method, "admin.vm.property.Set");
	assert_string_equal(c.dest, "work");
	assert_string_equal(c.arg, "memory");
	assert_int_equal(c.body_len, 3);
	assert_memory_equal(c.body, "800", 3);
}

static void test_empty_dest_arg_body(void **state)
{
	uint8_t buf[64];
	struct bh_admin_call c;
	int n = bh_admin_call_encode(buf, sizeof(buf), "admin.vm.List", NULL,
				     NULL, NULL, 0);

	assert_int_equal(n, (int)strlen("admin.vm.List") + 3);
	assert_int_equal(bh_admin_call_parse(buf, (size_t)n, &c), 0);
	assert_string_equal(c.dest, "");
	assert_string_equal(c.arg, "");
	assert_int_equal(c.body_len, 0);
}

static void test_encode_refuses(void **state)
{
	uint8_t buf[64];
	char long_method[BH_ADMIN_METHOD_MAX + 2];

	memset(long_method, 'a', sizeof(long_method) - 1);
	long_method[sizeof(long_method) - 1] = '\0';
	assert_int_equal(bh_admin_call_encode(buf, sizeof(buf), "", "", "",
					      NULL, 0),
			 -EINVAL);
	assert_int_equal(bh_admin_call_encode(buf, sizeof(buf), "a b", "", "",
					      NULL, 0),
			 -EINVAL);
	assert_int_equal(bh_admin_call_encode(buf, sizeof(buf), "m", "a/b",
					      "", NULL, 0),
			 -EINVAL);
	assert_int_equal(bh_admin_call_encode(buf, sizeof(buf), "m", "",
					      "x\ny", NULL, 0),
			 -EINVAL);
	assert_int_equal(bh_admin_call_encode(buf, 200, long_method, "", "",
					      NULL, 0),
			 -EINVAL);
	assert_int_equal(bh_admin_call_encode(buf, 4, "method", "", "", NULL,
					      0),
			 -E2BIG);
	assert_int_equal(bh_admin_call_encode(buf, 10, "m", "", "", "0123456789",
					      10),
			 -E2BIG);
}

static int parse_raw(const char *raw, size_t len)
{
	struct bh_admin_call c;
	uint8_t *copy = malloc(len ? len : 1);
	int r;

	memcpy(copy, raw, len);
	r = bh_admin_call_parse(copy, len, &c);
	free(copy);
	return r;
}

static void test_parse_refuses(void **state)
{
	static const struct {
		const char *raw;
		size_t len;
	} bad[] = {
		{ "", 0 },                      /* nothing */
		{ "m", 1 },                     /* no NUL */
		{ "m\0d", 3 },                  /* dest unterminated */
		{ "m\0d\0a", 5 },               /* arg unterminated */
		{ "\0\0\0", 3 },                /* empty method */
		{ "m;x\0\0\0", 6 },             /* bad method char */
		{ "m\0d/x\0\0", 7 },            /* bad dest char */
		{ "m\0\0a\ta\0", 7 },           /* control char in arg */
		{ "m\0d d\0\0", 7 },            /* space in dest */
		{ "m\0\xff\0\0", 5 },           /* high byte in dest */
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		print_message("case %zu\n", i);
		assert_int_equal(parse_raw(bad[i].raw, bad[i].len), -EPROTO);
	}
	assert_int_equal(parse_raw("m\0d\0a\0body\0with\0nuls", 20), 0);
}

static void test_every_truncation(void **state)
{
	uint8_t buf[128];
	int n = bh_admin_call_encode(buf, sizeof(buf), "admin.vm.feature.Set",
				     "work", "gui", "1", 1);
	size_t len;

	assert_true(n > 0);
	/* Cutting inside the three strings always fails; cutting the body
	 * only shortens it. */
	for (len = 0; len < (size_t)n - 1; len++)
		assert_int_equal(parse_raw((const char *)buf, len), -EPROTO);
	assert_int_equal(parse_raw((const char *)buf, (size_t)n), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_empty_dest_arg_body),
		cmocka_unit_test(test_encode_refuses),
		cmocka_unit_test(test_parse_refuses),
		cmocka_unit_test(test_every_truncation),
	};

	return cmocka_run_group_tests_name("admin_call", tests, NULL, NULL);
}

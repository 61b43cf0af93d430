/* Unit tests of src/daemon/store/qube_name.c: Qubes' naming rule, row by row,
 * and the message that names the rule broken. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "daemon/store/qube_name.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#define LEN "qube names are 1 to 31 characters"
#define START "qube names must start with a letter"
#define CHARS "qube names may contain only letters, digits, _ . -"
#define DM "names ending in -dm are reserved"

static const struct {
	const char *name;
	const char *msg; /* NULL: valid */
} cases[] = {
	{ "work", NULL },
	{ "a", NULL },
	{ "Z", NULL },
	{ "sys-net", NULL },
	{ "debian-12-minimal", NULL },
	{ "fedora_42.xfce", NULL },
	{ "w0rk-2", NULL },
	{ "a-", NULL },
	{ "a.", NULL },
	{ "dm", NULL },
	{ "admin-dm2", NULL },
	{ "dom0x", NULL },
	{ "nonee", NULL },
	{ "abcdefghijklmnopqrstuvwxyz01234", NULL }, /* 31 */
	{ "abcdefghijklmnopqrstuvwxyz012345", LEN }, /* 32 */
	{ "", LEN },
	{ "0work", START },
	{ "1", START },
	{ "-work", START },
	{ "_work", START },
	{ ".work", START },
	{ "work space", CHARS },
	{ "work/../x", CHARS },
	{ "work\n", CHARS },
	{ "work\x1b[31m", CHARS },
	{ "w\xc3\xa9rk", CHARS },     /* é */
	{ "\xc3\xa9t\xc3\xa9", START }, /* été */
	{ "work+x", CHARS },
	{ "work:x", CHARS },
	{ "dom0", "'dom0' is reserved" },
	{ "DOM0", "'dom0' is reserved" },
	{ "Domain-0", "'Domain-0' is reserved" },
	{ "none", "'none' is reserved" },
	{ "default", "'default' is reserved" },
	{ "Default", "'default' is reserved" },
	{ "work-dm", DM },
	{ "a-dm", DM },
	{ "work-DM", DM },
	{ "abcdefghijklmnopqrstuvwxyz01-dm", DM }, /* 31 */
};

static void test_table(void **state)
{
	char err[256];
	size_t i;

	for (i = 0; i < ARRAY_LEN(cases); i++) {
		int r;

		strcpy(err, "untouched");
		r = qube_name_check(cases[i].name, err, sizeof(err));
		if (!cases[i].msg) {
			if (r != 0)
				fail_msg("row %zu: expected valid, got '%s'",
					 i, err);
			continue;
		}
		if (r != -EINVAL || strcmp(err, cases[i].msg))
			fail_msg("row %zu: r=%d err='%s', expected '%s'", i, r,
				 err, cases[i].msg);
	}
}

static void test_null(void **state)
{
	char err[64];

	assert_int_equal(qube_name_check(NULL, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, LEN);
}

/* A name far past the limit is refused without reading it all. */
static void test_long_unterminated(void **state)
{
	char buf[QUBE_NAME_MAX + 1];
	char err[64];

	memset(buf, 'a', sizeof(buf)); /* no NUL in the buffer */
	assert_int_equal(qube_name_check(buf, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, LEN);
}

/* Messages fit small buffers and a zero cap writes nothing. */
static void test_err_cap(void **state)
{
	char err[8] = "xxxxxxx";

	assert_int_equal(qube_name_check("0a", err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "qube na");
	assert_int_equal(qube_name_check("0a", err, 0), -EINVAL);
	assert_string_equal(err, "qube na");
}

/* Every byte outside the allowed set is refused after the first letter. */
static void test_every_byte(void **state)
{
	char name[4] = { 'a', 0, 'b', 0 };
	char err[128];
	int c;

	for (c = 1; c < 256; c++) {
		int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			 (c >= '0' && c <= '9') || c == '_' || c == '.' ||
			 c == '-';

		name[1] = (char)c;
		assert_int_equal(qube_name_check(name, err, sizeof(err)),
				 ok ? 0 : -EINVAL);
	}
}

/* Attack: a user names a qube disp42, the name of a disposable; policy,
 * tags, BH_REMOTE_QUBE and asks then take one for the other. dispN is
 * refused for new qubes only: references (policy, calls) still take it. */
static void test_disposable_names_collide(void **state)
{
	static const char *const kept[] = { "disp1", "disp42", "disp0",
					    "disp007", "Disp9", "DISP9999",
					    "disp123456789" };
	static const char *const free_[] = { "disp", "dispvm", "disp4x",
					     "mydisp1", "disp-1", "disp1.a",
					     "dis1", "d1sp1" };
	char err[128];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(kept) / sizeof(*kept); i++) {
		assert_int_equal(qube_name_check(kept[i], err, sizeof(err)),
				 0);
		assert_true(qube_name_is_disposable(kept[i]));
		err[0] = '\0';
		assert_int_equal(qube_name_check_new(kept[i], err,
						     sizeof(err)),
				 -EINVAL);
		assert_string_equal(err,
				    "names of the form dispN (disp and "
				    "digits) are kept for disposables; choose "
				    "another name");
	}
	for (i = 0; i < sizeof(free_) / sizeof(*free_); i++) {
		assert_false(qube_name_is_disposable(free_[i]));
		assert_int_equal(qube_name_check_new(free_[i], err,
						     sizeof(err)),
				 0);
	}
	/* The general rules still come first. */
	assert_int_equal(qube_name_check_new("dom0", err, sizeof(err)),
			 -EINVAL);
	assert_string_equal(err, "'dom0' is reserved");
	assert_int_equal(qube_name_check_new(NULL, err, sizeof(err)),
			 -EINVAL);
	assert_false(qube_name_is_disposable(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_null),
		cmocka_unit_test(test_long_unterminated),
		cmocka_unit_test(test_err_cap),
		cmocka_unit_test(test_every_byte),
		cmocka_unit_test(test_disposable_names_collide),
	};

	return cmocka_run_group_tests_name("qube_name", tests, NULL, NULL);
}

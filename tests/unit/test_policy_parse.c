/* Unit tests of the policy parser (src/daemon/policy_parse.c): each kind
 * of error is reported as FILE:LINE: why, every error is reported (not
 * only the first), and any error leaves the policy invalid. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/policy.h"
#include "lib/util.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#define F "t.policy"
#define S "bulkhead.Test"

/* One line (or a few) and the one error it must give, or NULL when it is
 * valid. A trailing * in the message matches a prefix. */
static const struct {
	const char *text;
	const char *err;
} cases[] = {
	/* valid lines */
	{ S " * @anyvm @anyvm allow", NULL },
	{ S " + @anyvm @anyvm deny", NULL },
	{ S " +arg+more.x_y-z @anyvm @anyvm ask", NULL },
	{ "* * @anyvm @anyvm deny notify=no", NULL },
	{ "  \t" S "\t*\t@anyvm\t@anyvm\tallow  \r", NULL },
	{ S " * dom0 @adminvm allow", NULL },
	{ S " * * * deny", NULL },
	{ S " * @tag:a.b-c_d @type:AppVM allow", NULL },
	{ S " * @type:TemplateVM @type:StandaloneVM allow", NULL },
	{ S " * @type:DispVM @type:AdminVM deny", NULL },
	{ S " * @dispvm:dvm @dispvm:@tag:t allow", NULL },
	{ S " * @dispvm:@tag:t @dispvm allow", NULL },
	{ S " * @anyvm @default allow target=work", NULL },
	{ S " * @anyvm @default ask", NULL },
	{ S " * @anyvm @anyvm allow target=@dispvm:dvm user=root "
	    "notify=yes autostart=no",
	  NULL },
	{ S " * @anyvm @anyvm ask target=dom0 default_target=@dispvm "
	    "user=u_1 notify=no autostart=yes",
	  NULL },
	{ "# a comment with bytes \x01\xff and \x1b[31m\n"
	  "   # an indented one\n\n",
	  NULL },

	/* fields */
	{ S, F ":1: too few fields: *" },
	{ S " * @anyvm @anyvm", F ":1: too few fields: *" },
	{ S " * @anyvm @anyvm allow user=a notify=no autostart=no target=x "
	    "a=1 b=2 c=3",
	  F ":1: too many fields: *" },
	{ "# ok\n\n" S " * @anyvm", F ":3: too few fields: *" },

	/* SERVICE and ARGUMENT */
	{ "bulkhead.Test+x * @anyvm @anyvm allow",
	  F ":1: service 'bulkhead.Test+x' may contain only *" },
	{ "bulk/head * @anyvm @anyvm allow", F ":1: service 'bulk/head' *" },
	{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  " * @anyvm @anyvm allow",
	  F ":1: service name longer than 64 characters" },
	{ "* +x @anyvm @anyvm allow",
	  F ":1: when SERVICE is *, ARGUMENT must be * too" },
	{ "* + @anyvm @anyvm allow",
	  F ":1: when SERVICE is *, ARGUMENT must be * too" },
	{ S " x @anyvm @anyvm allow",
	  F ":1: argument 'x' must be *, + or +ARG" },
	{ S " +a/b @anyvm @anyvm allow",
	  F ":1: argument '+a/b' may contain only *" },
	{ S " ** @anyvm @anyvm allow",
	  F ":1: argument '**' must be *, + or +ARG" },

	/* SOURCE and TARGET tokens */
	{ S " * @default @anyvm allow",
	  F ":1: '@default' is not allowed in SOURCE" },
	{ S " * @dispvm @anyvm allow",
	  F ":1: '@dispvm' is not allowed in SOURCE" },
	{ S " * @anyvm @foo allow",
	  F ":1: unknown token '@foo' in TARGET" },
	{ S " * $anyvm @anyvm allow",
	  F ":1: '$anyvm': qube names must start with a letter" },
	{ S " * uuid:00000000-0000-0000-0000-000000000000 @anyvm allow",
	  F ":1: unknown token 'uuid:00000000-0000-0000-0000-000000000000' "
	     "in SOURCE" },
	{ S " * @tag: @anyvm allow", F ":1: '@tag:': a tag is 1 to 64 *" },
	{ S " * @anyvm @tag:a/b allow", F ":1: '@tag:a/b': a tag is *" },
	{ S " * @type:HVM @anyvm allow",
	  F ":1: '@type:HVM': the type is AppVM, *" },
	{ S " * @type:appvm @anyvm allow", F ":1: '@type:appvm': the type *" },
	{ S " * @anyvm @dispvm: allow", F ":1: '@dispvm:': qube names are *" },
	{ S " * @anyvm @dispvm:@tag: allow",
	  F ":1: '@dispvm:@tag:': a tag is *" },
	{ S " * @anyvm @dispvm:@foo:x allow",
	  F ":1: '@dispvm:@foo:x': qube names must start with a letter" },
	{ S " * 0work @anyvm allow",
	  F ":1: '0work': qube names must start with a letter" },
	{ S " * none @anyvm allow", F ":1: 'none': 'none' is reserved" },
	{ S " * work-dm @anyvm allow",
	  F ":1: 'work-dm': names ending in -dm are reserved" },
	{ S " * abcdefghijklmnopqrstuvwxyz012345 @anyvm allow",
	  F ":1: 'abcdefghijklmnopqrstuvwxyz012345': qube names are 1 to 31 "
	     "characters" },

	/* ACTION and its parameters */
	{ S " * @anyvm @anyvm permit",
	  F ":1: action 'permit' is allow, deny or ask" },
	{ S " * @anyvm @anyvm Allow",
	  F ":1: action 'Allow' is allow, deny or ask" },
	{ S " * @anyvm @anyvm allow target",
	  F ":1: parameter 'target' is not KEY=VALUE" },
	{ S " * @anyvm @anyvm allow color=red",
	  F ":1: unknown parameter 'color'" },
	{ S " * @anyvm @anyvm deny target=work",
	  F ":1: deny takes no target= parameter" },
	{ S " * @anyvm @anyvm deny user=root",
	  F ":1: deny takes no user= parameter" },
	{ S " * @anyvm @anyvm deny autostart=no",
	  F ":1: deny takes no autostart= parameter" },
	{ S " * @anyvm @anyvm allow default_target=work",
	  F ":1: allow takes no default_target= parameter" },
	{ S " * @anyvm @anyvm allow user=a user=b",
	  F ":1: parameter user= given twice" },
	{ S " * @anyvm @anyvm deny notify=yes notify=yes",
	  F ":1: parameter notify= given twice" },
	{ S " * @anyvm @anyvm allow notify=true",
	  F ":1: notify= is yes or no" },
	{ S " * @anyvm @anyvm ask autostart=",
	  F ":1: autostart= is yes or no" },
	{ S " * @anyvm @anyvm allow user=", F ":1: user= is 1 to 32 *" },
	{ S " * @anyvm @anyvm allow user=Root", F ":1: user= is 1 to 32 *" },
	{ S " * @anyvm @anyvm allow user=-x", F ":1: user= is 1 to 32 *" },
	{ S " * @anyvm @anyvm allow target=@anyvm",
	  F ":1: '@anyvm' is not allowed in target=" },
	{ S " * @anyvm @anyvm allow target=@default",
	  F ":1: '@default' is not allowed in target=" },
	{ S " * @anyvm @anyvm ask default_target=@tag:x",
	  F ":1: '@tag:x' is not allowed in default_target=" },
	{ S " * @anyvm @anyvm allow target=",
	  F ":1: '': qube names are 1 to 31 characters" },
	{ S " * @anyvm @default allow",
	  F ":1: allow for TARGET @default needs target=" },

	/* directives */
	{ "!include foo", F ":1: !include is not supported yet" },
	{ "!include-dir foo", F ":1: !include-dir is not supported yet" },
	{ "!include-service a b c",
	  F ":1: !include-service is not supported yet" },
	{ "!compat-4.0", F ":1: !compat-4.0 is not supported yet" },
	{ "!frobnicate", F ":1: unknown directive '!frobnicate'" },

	/* bytes */
	{ S " * @anyvm @anyvm allow \x01", F ":1: a control or non-ASCII *" },
	{ S " * @anyvm @anyvm allow # not a comment",
	  F ":1: parameter '#' is not KEY=VALUE" },
	{ S " * w\xc3\xa9rk @anyvm allow", F ":1: a control or non-ASCII *" },
};

static int matches(const char *expect, const char *got)
{
	size_t n = strlen(expect);

	if (n && expect[n - 1] == '*')
		return !strncmp(expect, got, n - 1);
	return !strcmp(expect, got);
}

static void test_cases(void **state)
{
	struct policy_errs errs;
	struct policy *p;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_LEN(cases); i++) {
		const char *t = cases[i].text;
		int r = policy_parse_buf(F, t, strlen(t), &p, &errs);

		assert_non_null(p);
		if (!cases[i].err) {
			if (r != 0 || errs.count)
				fail_msg("case %zu: expected valid, got '%s'",
					 i, errs.kept ? errs.msg[0] : "?");
			assert_true(policy_valid(p));
		} else {
			if (r != -EINVAL || errs.count != 1 ||
			    !matches(cases[i].err, errs.msg[0]))
				fail_msg("case %zu: expected '%s', got %d "
					 "error(s), first '%s'",
					 i, cases[i].err, (int)errs.count,
					 errs.kept ? errs.msg[0] : "");
			assert_false(policy_valid(p));
			assert_int_equal(policy_rule_count(p), 0);
		}
		policy_free(p);
	}
}

/* A NUL byte cannot be in a C string literal's line: separate case. */
static void test_nul_and_long_lines(void **state)
{
	static const char nul[] = S " * @anyvm\0 @anyvm allow\n";
	static const char rule[] = "\n" S " * @anyvm @anyvm allow\n";
	struct policy_errs errs;
	struct policy *p;
	char *big;
	size_t n = POLICY_LINE_MAX + 10;

	(void)state;
	assert_int_equal(policy_parse_buf(F, nul, sizeof(nul) - 1, &p, &errs),
			 -EINVAL);
	assert_string_equal(errs.msg[0], F ":1: a NUL byte in a rule");
	policy_free(p);

	/* A NUL in a comment is harmless. */
	assert_int_equal(policy_parse_buf(F, "#\0x\n", 4, &p, &errs), 0);
	policy_free(p);

	big = malloc(n + sizeof(rule));
	assert_non_null(big);
	memset(big, 'a', n);
	memcpy(big + n, rule, sizeof(rule));
	assert_int_equal(policy_parse_buf(F, big, n + sizeof(rule) - 1, &p,
					  &errs),
			 -EINVAL);
	assert_int_equal(errs.count, 1);
	assert_string_equal(errs.msg[0], F ":1: line longer than 4096 bytes");
	/* The line after it is still read. */
	assert_int_equal(policy_rule_count(p), 1);
	policy_free(p);

	/* Exactly POLICY_LINE_MAX bytes is allowed (a long comment). */
	big[0] = '#';
	assert_int_equal(policy_parse_buf(F, big, POLICY_LINE_MAX, &p, &errs),
			 0);
	policy_free(p);
	free(big);
}

/* Every error is reported, each with its line; the valid lines still
 * parse, but the policy is invalid. */
static void test_all_errors(void **state)
{
	static const char text[] = S " * @anyvm @anyvm allow\n"
				   "bad\n"
				   S " * @anyvm @anyvm allow\n"
				   S " x @anyvm @anyvm allow\n"
				   "# fine\n"
				   S " * @anyvm @anyvm maybe\n";
	struct policy_errs errs;
	struct policy *p;

	(void)state;
	assert_int_equal(policy_parse_buf(F, text, strlen(text), &p, &errs),
			 -EINVAL);
	assert_int_equal(errs.count, 3);
	assert_int_equal(errs.kept, 3);
	assert_true(matches(F ":2: too few fields*", errs.msg[0]));
	assert_true(matches(F ":4: argument 'x'*", errs.msg[1]));
	assert_true(matches(F ":6: action 'maybe'*", errs.msg[2]));
	assert_int_equal(policy_rule_count(p), 2);
	assert_false(policy_valid(p));
	policy_free(p);
}

/* More errors than are kept: all are counted. */
static void test_many_errors(void **state)
{
	size_t n = POLICY_ERRS_MAX + 10, i;
	struct policy_errs errs;
	struct policy *p;
	char *text = malloc(n * 4);

	(void)state;
	assert_non_null(text);
	for (i = 0; i < n; i++)
		memcpy(text + 4 * i, "bad\n", 4);
	assert_int_equal(policy_parse_buf(F, text, 4 * n, &p, &errs), -EINVAL);
	assert_int_equal(errs.count, n);
	assert_int_equal(errs.kept, POLICY_ERRS_MAX);
	assert_true(matches(F ":64: too few*", errs.msg[63]));
	policy_free(p);
	free(text);
}

static void put(const char *dir, const char *name, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_true(fputs(text, f) >= 0);
	assert_int_equal(fclose(f), 0);
}

/* Folder errors: bad names, a folder where a file should be, errors in
 * several files; lint order is the file order. */
static void test_dir_errors(void **state)
{
	char dir[] = "/tmp/bh-policy-parse.XXXXXX", sub[600];
	struct policy_errs errs;
	struct policy *p;

	(void)state;
	assert_non_null(mkdtemp(dir));
	put(dir, "20-b.policy", "garbage\n");
	put(dir, "10-a.policy", "\n" S " * @anyvm @anyvm dunno\n");
	put(dir, "Upper.policy", "");
	put(dir, "tab\x1b.policy", "");
	put(dir, ".hidden.policy", "garbage\n");
	put(dir, "notes.txt", "garbage\n");
	snprintf(sub, sizeof(sub), "%s/30-dir.policy", dir);
	assert_int_equal(mkdir(sub, 0700), 0);
	assert_int_equal(policy_load_dir(dir, &p, &errs), -EINVAL);
	assert_non_null(p);
	assert_false(policy_valid(p));
	assert_int_equal(errs.count, 5);
	/* Names first (in directory order), then each file in C order. */
	assert_true(matches("10-a.policy:2: action 'dunno'*", errs.msg[2]));
	assert_true(matches("20-b.policy:1: too few fields*", errs.msg[3]));
	assert_string_equal(errs.msg[4], "30-dir.policy: not a regular file");
	assert_true((matches("Upper.policy: file name not allowed*",
			     errs.msg[0]) &&
		     matches("tab?.policy: file name not allowed*",
			     errs.msg[1])) ||
		    (matches("Upper.policy: file name not allowed*",
			     errs.msg[1]) &&
		     matches("tab?.policy: file name not allowed*",
			     errs.msg[0])));
	policy_free(p);
	assert_int_equal(bh_rm_rf(dir), 0);
}

/* A file too big, and an unreadable one (skipped as root). */
static void test_file_limits(void **state)
{
	char dir[] = "/tmp/bh-policy-parse.XXXXXX", path[600];
	struct policy_errs errs;
	struct policy *p;
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/50-big.policy", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fseek(f, POLICY_FILE_MAX, SEEK_SET), 0);
	assert_int_equal(fputc('\n', f), '\n');
	assert_int_equal(fclose(f), 0);
	assert_int_equal(policy_load_dir(dir, &p, &errs), -EINVAL);
	assert_string_equal(errs.msg[0], "50-big.policy: larger than 1 MiB");
	policy_free(p);
	assert_int_equal(unlink(path), 0);

	if (geteuid() != 0) {
		snprintf(path, sizeof(path), "%s/50-secret.policy", dir);
		put(dir, "50-secret.policy", "");
		assert_int_equal(chmod(path, 0), 0);
		assert_int_equal(policy_load_dir(dir, &p, &errs), -EINVAL);
		assert_true(matches("50-secret.policy: cannot read*",
				    errs.msg[0]));
		policy_free(p);
	}
	assert_int_equal(bh_rm_rf(dir), 0);
}

static void test_dir_path(void **state)
{
	char out[64], tiny[8];

	(void)state;
	assert_int_equal(policy_dir_path("", out, sizeof(out)), 0);
	assert_string_equal(out, "/etc/bulkhead/policy.d");
	assert_int_equal(policy_dir_path("/tmp/r", out, sizeof(out)), 0);
	assert_string_equal(out, "/tmp/r/etc/bulkhead/policy.d");
	assert_int_equal(policy_dir_path("/tmp/r", tiny, sizeof(tiny)),
			 -ENAMETOOLONG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cases),
		cmocka_unit_test(test_nul_and_long_lines),
		cmocka_unit_test(test_all_errors),
		cmocka_unit_test(test_many_errors),
		cmocka_unit_test(test_dir_errors),
		cmocka_unit_test(test_file_limits),
		cmocka_unit_test(test_dir_path),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Unit tests of the policy parser (src/daemon/policy/policy_parse.c): each kind
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

#include "daemon/policy/policy.h"
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
	/* uuid:UUID goes wherever a name may (Qubes' VMToken). */
	{ S " * uuid:00000000-0000-0000-0000-000000000000 @anyvm allow", NULL },
	{ S " * uuid:c9024a97-9b15-46cc-8341-38d75d5d421b "
	    "uuid:b3eb69d0-f9d9-4c3c-ad5c-454500303ea4 allow "
	    "target=uuid:fa6d56e8-a89d-4106-aa62-22e172a43c8b",
	  NULL },
	{ S " * @dispvm:uuid:fa6d56e8-a89d-4106-aa62-22e172a43c8b "
	    "@dispvm:uuid:fa6d56e8-a89d-4106-aa62-22e172a43c8b ask "
	    "target=@dispvm:uuid:fa6d56e8-a89d-4106-aa62-22e172a43c8b "
	    "default_target=uuid:00000000-0000-0000-0000-000000000000",
	  NULL },
	{ S " * uuid:xyz @anyvm allow",
	  F ":1: 'uuid:xyz': a uuid is uuid: and 8-4-4-4-12 lowercase hex "
	     "digits" },
	{ S " * uuid: @anyvm allow", F ":1: 'uuid:': a uuid is *" },
	{ S " * @anyvm uuid:C9024A97-9B15-46CC-8341-38D75D5D421B allow",
	  F ":1: 'uuid:C9024A97-9B15-46CC-8341-38D75D5D421B': a uuid is *" },
	{ S " * @anyvm uuid:c9024a97-9b15-46cc-8341-38d75d5d421bb allow",
	  F ":1: 'uuid:c9024a97-9b15-46cc-8341-38d75d5d421bb': a uuid is *" },
	{ S " * @anyvm uuid:c9024a97-9b15-46cc-834138d75d5d421b- allow",
	  F ":1: 'uuid:c9024a97-9b15-46cc-834138d75d5d421b-': a uuid is *" },
	{ S " * @anyvm @dispvm:uuid:1 allow",
	  F ":1: '@dispvm:uuid:1': a uuid is *" },
	{ S " * @uuid:c9024a97-9b15-46cc-8341-38d75d5d421b @anyvm allow",
	  F ":1: unknown token '@uuid:c9024a97-9b15-46cc-8341-38d75d5d421b' "
	     "in SOURCE" },
	{ S " * @anyvm @anyvm allow target=uuid:zz",
	  F ":1: 'uuid:zz': a uuid is *" },
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

	/* directives: a lone file has no folder to include from (the
	 * includes themselves: test_policy_eval and test_includes) */
	{ "!include foo",
	  F ":1: a lone policy file cannot include: there is no policy "
	     "folder" },
	{ "!include-dir foo", F ":1: a lone policy file cannot include: *" },
	{ "!include-service a +b c",
	  F ":1: a lone policy file cannot include: *" },
	{ "  !include foo  ", F ":1: a lone policy file cannot include: *" },
	{ "!include", F ":1: !include takes one PATH" },
	{ "!include a b", F ":1: !include takes one PATH" },
	{ "!include-dir", F ":1: !include-dir takes one PATH" },
	{ "!include-service a b", F ":1: !include-service takes SERVICE "
				  "ARGUMENT PATH" },
	{ "!include-service a b c d", F ":1: !include-service takes *" },
	{ "!include-service * +b c",
	  F ":1: when SERVICE is *, ARGUMENT must be * too" },
	{ "!include-service a/b * c", F ":1: service 'a/b' may contain *" },
	{ "!include-service a b c", F ":1: argument 'b' must be *, + or +ARG" },
	{ "!compat-4.0", F ":1: !compat-4.0 is not supported*" },
	{ "!frobnicate", F ":1: unknown directive '!frobnicate'" },
	{ "!INCLUDE foo", F ":1: unknown directive '!INCLUDE'" },

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

/* Loads dir; expects rc and, when want is not NULL, errors that match
 * want's lines one for one (a trailing * matches a prefix). */
static void load_expect(const char *dir, int rc, const char *want)
{
	static struct policy_errs errs;
	char got[POLICY_ERRS_MAX * POLICY_ERR_MAX], one[POLICY_ERR_MAX];
	const char *w = want, *nl;
	struct policy *p;
	size_t i, n = 0, bad = 0;

	got[0] = '\0';
	assert_int_equal(policy_load_dir(dir, &p, &errs), rc);
	assert_non_null(p);
	for (i = 0; i < errs.kept; i++) {
		n += (size_t)snprintf(got + n, sizeof(got) - n, "%s%s",
				      i ? "\n" : "", errs.msg[i]);
		if (!w || !*w) {
			bad = 1;
			continue;
		}
		nl = strchr(w, '\n');
		snprintf(one, sizeof(one), "%.*s",
			 (int)(nl ? (size_t)(nl - w) : strlen(w)), w);
		w = nl ? nl + 1 : "";
		bad |= !matches(one, errs.msg[i]);
	}
	if (want && (bad || *w || errs.count != errs.kept))
		fail_msg("expected:\n%s\ngot:\n%s", want, got);
	policy_free(p);
}

/* Includes as lint sees them: every error with its own file and line,
 * and the hostile cases (loops, depth, counts, FIFOs, symbolic links)
 * refused rather than followed forever. */
static void test_includes(void **state)
{
	char dir[] = "/tmp/bh-policy-inc.XXXXXX", out[] = "/tmp/bh-policy-out.XXXXXX";
	char path[700], text[4096], name[32];
	size_t i, j, n;

	(void)state;
	assert_non_null(mkdtemp(dir));
	assert_non_null(mkdtemp(out));
	snprintf(path, sizeof(path), "%s/inc", dir);
	assert_int_equal(mkdir(path, 0755), 0);

	/* Errors in included files, at their lines, after the
	 * including file's own, in reading order. */
	put(dir, "50-a.policy", "!include inc/a\nbad\n!include inc/none\n");
	put(dir, "inc/a", S " * @anyvm @anyvm allow\nx y\n!include-service "
			  S " * inc/s\n");
	put(dir, "inc/s", "@anyvm @anyvm allow\n@anyvm\n");
	load_expect(dir, -EINVAL,
		    "inc/a:2: too few fields*\n"
		    "inc/s:2: too few fields: a line of a file read by "
		    "!include-service*\n"
		    "50-a.policy:2: too few fields*\n"
		    "50-a.policy:3: cannot include inc/none: cannot read: No "
		    "such file or directory");

	/* Symbolic links are followed (as in Qubes); a loop of them is
	 * an error, not a hang. */
	put(dir, "inc/a", S " * @anyvm @anyvm allow\n");
	snprintf(path, sizeof(path), "%s/inc/link", dir);
	assert_int_equal(symlink("a", path), 0);
	put(dir, "50-a.policy", "!include inc/link\n");
	load_expect(dir, 0, NULL);
	snprintf(path, sizeof(path), "%s/inc/l1", dir);
	assert_int_equal(symlink("l2", path), 0);
	snprintf(path, sizeof(path), "%s/inc/l2", dir);
	assert_int_equal(symlink("l1", path), 0);
	put(dir, "50-a.policy", "!include inc/l1\n");
	load_expect(dir, -EINVAL,
		    "50-a.policy:1: cannot include inc/l1: cannot read: Too "
		    "many levels of symbolic links");
	/* A loop through a link to the including file itself. */
	snprintf(path, sizeof(path), "%s/inc/self", dir);
	assert_int_equal(symlink("../50-a.policy", path), 0);
	put(dir, "50-a.policy", "!include inc/self\n");
	load_expect(dir, -EINVAL,
		    "50-a.policy:1: cannot include inc/self: it is being read "
		    "already (an include loop)");

	/* A FIFO would block a reader: it is not a regular file. */
	snprintf(path, sizeof(path), "%s/inc/fifo", dir);
	assert_int_equal(mkfifo(path, 0600), 0);
	put(dir, "50-a.policy", "!include inc/fifo\n");
	load_expect(dir, -EINVAL,
		    "50-a.policy:1: cannot include inc/fifo: not a regular "
		    "file");

	/* Outside the folder: a path with .. or an absolute one is
	 * followed, as Qubes' FilePolicy does. */
	put(out, "x", S " * @anyvm @anyvm deny\n");
	snprintf(text, sizeof(text), "!include %s/x\n!include ../%s/x\n",
		 out, strrchr(out, '/') + 1);
	put(dir, "50-a.policy", text);
	load_expect(dir, 0, NULL);

	/* POLICY_INCLUDE_DEPTH includes within includes, not one more. */
	for (i = 0; i < POLICY_INCLUDE_DEPTH; i++) {
		snprintf(name, sizeof(name), "inc/d%zu", i);
		snprintf(text, sizeof(text), "!include inc/d%zu\n", i + 1);
		put(dir, name, text);
	}
	snprintf(name, sizeof(name), "inc/d%d", POLICY_INCLUDE_DEPTH);
	put(dir, name, S " * @anyvm @anyvm allow\n");
	put(dir, "50-a.policy", "!include inc/d1\n");
	load_expect(dir, 0, NULL);
	put(dir, "50-a.policy", "!include inc/d0\n");
	snprintf(text, sizeof(text),
		 "inc/d%d:1: cannot include inc/d%d: includes nested deeper "
		 "than %d",
		 POLICY_INCLUDE_DEPTH - 1, POLICY_INCLUDE_DEPTH,
		 POLICY_INCLUDE_DEPTH);
	load_expect(dir, -EINVAL, text);

	/* A file included many times counts each time: a few lines
	 * cannot make the daemon read files a thousand times (m0 includes
	 * m1 ten times, m1 m2, m2 m3). The 257th read fails: 50-a, m0,
	 * then per m1 1 + 10 * 11, so within the third m1, its third m2's
	 * ninth line. */
	for (j = 0; j < 3; j++) {
		for (i = 0, n = 0; i < 10; i++)
			n += (size_t)snprintf(text + n, sizeof(text) - n,
					      "!include inc/m%zu\n", j + 1);
		snprintf(name, sizeof(name), "inc/m%zu", j);
		put(dir, name, text);
	}
	put(dir, "inc/m3", "");
	put(dir, "50-a.policy", "!include inc/m0\n");
	{
		static struct policy_errs errs;
		struct policy *p;

		assert_int_equal(policy_load_dir(dir, &p, &errs), -EINVAL);
		assert_string_equal(errs.msg[0],
				    "inc/m2:9: more than 256 policy files in "
				    "all, includes counted");
		/* Every later include fails the same way, unread: m2's
		 * lines 9 and 10, m1's lines 4 to 10, m0's lines 4 to 10. */
		assert_int_equal(errs.count, 2 + 7 + 7);
		policy_free(p);
	}

	/* Bytes read in all are bounded too: eight includes of a file of
	 * 1008 KiB of comments fit in 8 MiB, the ninth does not. */
	{
		FILE *fp;

		snprintf(path, sizeof(path), "%s/inc/big", dir);
		fp = fopen(path, "w");
		assert_non_null(fp);
		for (i = 0; i < POLICY_FILE_MAX / 64; i++)
			assert_true(fputs("#234567890123456789012345678901234567"
					  "8901234567890123456789012\n",
					  fp) >= 0);
		assert_int_equal(fclose(fp), 0);
		for (i = 0, n = 0; i < 9; i++)
			n += (size_t)snprintf(text + n, sizeof(text) - n,
					      "!include inc/big\n");
		put(dir, "50-a.policy", text);
		load_expect(dir, -EINVAL,
			    "50-a.policy:9: cannot include inc/big: more than "
			    "8 MiB of policy in all, includes counted");
	}

	/* A PATH longer than POLICY_PATH_MAX. */
	memset(name, 0, sizeof(name));
	n = (size_t)snprintf(text, sizeof(text), "!include ");
	for (i = 0; i <= POLICY_PATH_MAX; i++)
		text[n++] = 'p';
	text[n] = '\0';
	put(dir, "50-a.policy", text);
	snprintf(text, sizeof(text),
		 "50-a.policy:1: an include PATH is at most %d characters",
		 POLICY_PATH_MAX);
	load_expect(dir, -EINVAL, text);

	/* !include-dir: bad names in it, a file too big in it. */
	snprintf(path, sizeof(path), "%s/inc.d", dir);
	assert_int_equal(mkdir(path, 0755), 0);
	put(dir, "inc.d/A.policy", "");
	put(dir, "inc.d/10-ok.policy", "garbage\n");
	put(dir, "50-a.policy", "!include-dir inc.d\n");
	load_expect(dir, -EINVAL,
		    "inc.d/A.policy: file name not allowed*\n"
		    "inc.d/10-ok.policy:1: too few fields*");
	assert_int_equal(bh_rm_rf(dir), 0);
	assert_int_equal(bh_rm_rf(out), 0);
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
		cmocka_unit_test(test_includes),
		cmocka_unit_test(test_dir_path),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Unit tests of src/proto/rpc_req.c: the syntax of each field (table by
 * table, then byte by byte against an independent statement of each
 * rule), the SERVICE[+ARG] split, and the call and service requests,
 * encoded, parsed and refused. Every buffer handed to a checker or a
 * parser is a heap copy of exactly the length given, so that ASan catches
 * any read past the end. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/rpc_req.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* A string literal and its length, NULs inside included. */
#define S(x) x, sizeof(x) - 1

typedef int (*field_fn)(const char *s, size_t len);

/* Runs fn on a heap copy of exactly len bytes. */
static int check_copy(field_fn fn, const char *s, size_t len)
{
	char *p = malloc(len ? len : 1);
	int r;

	assert_non_null(p);
	if (len)
		memcpy(p, s, len);
	r = fn(p, len);
	free(p);
	return r;
}

struct field_case {
	const char *s;
	size_t len;
	int ok;
};

static void run_cases(field_fn fn, const char *fn_name,
		      const struct field_case *c, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		int r = check_copy(fn, c[i].s, c[i].len);

		if (r != c[i].ok)
			fail_msg("%s(\"%.*s\", %zu) = %d, expected %d",
				 fn_name, (int)c[i].len, c[i].s, c[i].len, r,
				 c[i].ok);
	}
}

/* A string of len copies of c, after prefix; freed by the caller. */
static char *repeat(const char *prefix, char c, size_t len)
{
	size_t p = strlen(prefix);
	char *s = malloc(p + len + 1);

	assert_non_null(s);
	memcpy(s, prefix, p);
	memset(s + p, c, len);
	s[p + len] = '\0';
	return s;
}

/* ---- field syntax: tables ---- */

static void test_service_ok_table(void **state)
{
	static const struct field_case cases[] = {
		{ S("qubes.Filecopy"), 1 },
		{ S("a"), 1 },
		{ S("Z"), 1 },
		{ S("0"), 1 },
		{ S("9lives"), 1 },
		{ S("my-service_v2.0"), 1 },
		{ S("a.b-c_d"), 1 },
		{ S("a."), 1 },
		{ S("a-"), 1 },
		{ S("a_"), 1 },
		{ S(""), 0 },
		{ S(".hidden"), 0 },
		{ S("-opt"), 0 },
		{ S("_x"), 0 },
		{ S("+arg"), 0 },
		{ S("svc+arg"), 0 }, /* '+' separates, it is no part */
		{ S("a/b"), 0 },
		{ S("/etc"), 0 },
		{ S(".."), 0 },
		{ S("a b"), 0 },
		{ S("a\tb"), 0 },
		{ S("a\nb"), 0 },
		{ S("a\x7f"), 0 },
		{ S("a\x01"), 0 },
		{ S("a\0b"), 0 },
		{ S("a\0"), 0 },
		{ S("\0a"), 0 },
		{ S("a:b"), 0 },
		{ S("a@b"), 0 },
		{ S("a*"), 0 },
		{ S("a\\b"), 0 },
		{ S("\xc3\xa9t\xc3\xa9"), 0 },
		{ S("a\xff"), 0 },
	};

	run_cases(bh_rpc_service_ok, "service_ok", cases, ARRAY_LEN(cases));
}

static void test_arg_ok_table(void **state)
{
	static const struct field_case cases[] = {
		{ S(""), 1 },
		{ S("a"), 1 },
		{ S("+"), 1 },
		{ S("a+b"), 1 },
		{ S("+leading"), 1 },
		{ S(".dot"), 1 },
		{ S("-dash"), 0 }, /* an option to the service */
		{ S("-"), 0 },
		{ S("a-dash"), 1 },
		{ S("_u"), 1 },
		{ S(".."), 1 }, /* safe: never a path of its own */
		{ S("Work-VM_1.2+x"), 1 },
		{ S("a/b"), 0 },
		{ S("/"), 0 },
		{ S("a b"), 0 },
		{ S("a\tb"), 0 },
		{ S("a\nb"), 0 },
		{ S("\x1b"), 0 },
		{ S("\x7f"), 0 },
		{ S("a\0b"), 0 },
		{ S("\0"), 0 },
		{ S("a:b"), 0 },
		{ S("@dispvm"), 0 },
		{ S("a=b"), 0 },
		{ S("a,b"), 0 },
		{ S("\xe2\x82\xac"), 0 },
	};

	run_cases(bh_rpc_arg_ok, "arg_ok", cases, ARRAY_LEN(cases));
}

static void test_qube_ok_table(void **state)
{
	static const struct field_case cases[] = {
		{ S("work"), 1 },
		{ S("a"), 1 },
		{ S("Z"), 1 },
		{ S("dom0"), 1 },
		{ S("sys-net"), 1 },
		{ S("debian-12.minimal_x"), 1 },
		{ S("a."), 1 },
		{ S("a-"), 1 },
		{ S(""), 0 },
		{ S("0work"), 0 },
		{ S(".work"), 0 },
		{ S("-work"), 0 },
		{ S("_work"), 0 },
		{ S("+work"), 0 },
		{ S("@default"), 0 },
		{ S("@dispvm"), 0 },
		{ S("@adminvm"), 0 },
		{ S("@dispvm:work"), 0 },
		{ S("wo+rk"), 0 },
		{ S("wo/rk"), 0 },
		{ S("wo rk"), 0 },
		{ S("wo:rk"), 0 },
		{ S("wo\nrk"), 0 },
		{ S("work\x7f"), 0 },
		{ S("wo\0rk"), 0 },
		{ S("work\0"), 0 },
		{ S("\0"), 0 },
		{ S("w\xc3\xb6rk"), 0 },
	};

	run_cases(bh_rpc_qube_ok, "qube_ok", cases, ARRAY_LEN(cases));
}

static void test_target_ok_table(void **state)
{
	static const struct field_case cases[] = {
		{ S("work"), 1 },
		{ S("dom0"), 1 },
		{ S("@adminvm"), 1 },
		{ S("@default"), 1 },
		{ S("@dispvm"), 1 },
		{ S("@dispvm:work"), 1 },
		{ S("@dispvm:fedora-dvm"), 1 },
		{ S("@dispvm:a"), 1 },
		{ S(""), 0 },
		{ S("@"), 0 },
		{ S("@dispvm:"), 0 },
		{ S("@dispvm:0work"), 0 },
		{ S("@dispvm:.work"), 0 },
		{ S("@dispvm:-work"), 0 },
		{ S("@dispvm:wo/rk"), 0 },
		{ S("@dispvm:wo rk"), 0 },
		{ S("@dispvm:@default"), 0 },
		{ S("@dispvm:@dispvm"), 0 },
		{ S("@dispvm:work:x"), 0 },
		{ S("@dispvm:wo\0rk"), 0 },
		{ S("@dispvm:work\0"), 0 },
		{ S("@dispvm\0"), 0 },
		{ S("@dispvmx"), 0 },
		{ S("@dispvm-work"), 0 },
		{ S("@dispvm;work"), 0 },
		{ S("@dispv"), 0 },
		{ S("@default\0"), 0 },
		{ S("@defaultx"), 0 },
		{ S("@defaul"), 0 },
		{ S("@DEFAULT"), 0 },
		{ S("@Default"), 0 },
		{ S("default"), 1 }, /* just a qube name */
		{ S(" @default"), 0 },
		{ S("@default "), 0 },
		{ S("@default:work"), 0 },
		{ S("@adminvm\0"), 0 },
		{ S("@adminvmx"), 0 },
		{ S("@ADMINVM"), 0 },
		{ S("@dom0"), 0 },
		{ S("@anyvm"), 0 },
		{ S("@tag:x"), 0 },
		{ S("dom0\0"), 0 },
		{ S("0dom"), 0 },
		{ S("wo+rk"), 0 },
		{ S("wo\0rk"), 0 },
		{ S("../work"), 0 },
		/* A qube by its uuid, as in Qubes. */
		{ S("uuid:d7542906-2570-46b4-b243-cf358d23eacf"), 1 },
		{ S("@dispvm:uuid:d7542906-2570-46b4-b243-cf358d23eacf"), 1 },
		{ S("uuid:00000000-0000-0000-0000-000000000000"), 1 },
		{ S("uuid:D7542906-2570-46b4-b243-cf358d23eacf"), 0 },
		{ S("uuid:d7542906-2570-46b4-b243-cf358d23eac"), 0 },
		{ S("uuid:d7542906-2570-46b4-b243-cf358d23eacff"), 0 },
		{ S("uuid:d7542906+2570-46b4-b243-cf358d23eacf"), 0 },
		{ S("uuid:d7542906-2570-46b4-b243-cf358d23eac\0"), 0 },
		{ S("uuid:"), 0 },
		{ S("uuid:work"), 0 },
		{ S("@dispvm:uuid:"), 0 },
		{ S("@default:uuid:d7542906-2570-46b4-b243-cf358d23eacf"), 0 },
	};

	run_cases(bh_rpc_target_ok, "target_ok", cases, ARRAY_LEN(cases));
}

static void test_user_ok_table(void **state)
{
	static const struct field_case cases[] = {
		{ S("root"), 1 },
		{ S("user"), 1 },
		{ S("_apt"), 1 },
		{ S("_"), 1 },
		{ S("a"), 1 },
		{ S("www-data"), 1 },
		{ S("user1"), 1 },
		{ S("a_b-c9"), 1 },
		{ S(""), 0 },
		{ S("Root"), 0 },
		{ S("roOt"), 0 },
		{ S("1user"), 0 },
		{ S("-user"), 0 },
		{ S(".user"), 0 },
		{ S("us.er"), 0 },
		{ S("us+er"), 0 },
		{ S("us/er"), 0 },
		{ S("us er"), 0 },
		{ S("us:er"), 0 },
		{ S("user$"), 0 }, /* Samba machine accounts: not here */
		{ S("us\ner"), 0 },
		{ S("us\0er"), 0 },
		{ S("user\0"), 0 },
		{ S("\0"), 0 },
		{ S("us\xc3\xa9r"), 0 },
	};

	run_cases(bh_rpc_user_ok, "user_ok", cases, ARRAY_LEN(cases));
}

/* ---- field syntax: lengths ---- */

static void expect_len(field_fn fn, const char *prefix, char fill,
		       size_t fill_len, int ok)
{
	char *s = repeat(prefix, fill, fill_len);

	assert_int_equal(check_copy(fn, s, strlen(s)), ok);
	free(s);
}

static void test_field_lengths(void **state)
{
	expect_len(bh_rpc_service_ok, "", 's', BH_RPC_SERVICE_MAX, 1);
	expect_len(bh_rpc_service_ok, "", 's', BH_RPC_SERVICE_MAX + 1, 0);
	expect_len(bh_rpc_service_ok, "", 's', 1000, 0);

	expect_len(bh_rpc_arg_ok, "", 'a', BH_RPC_ARG_MAX, 1);
	expect_len(bh_rpc_arg_ok, "", 'a', BH_RPC_ARG_MAX + 1, 0);
	expect_len(bh_rpc_arg_ok, "", '+', BH_RPC_ARG_MAX, 1);
	expect_len(bh_rpc_arg_ok, "", '+', BH_RPC_ARG_MAX + 1, 0);
	expect_len(bh_rpc_arg_ok, "", 'a', 5000, 0);

	expect_len(bh_rpc_qube_ok, "", 'q', BH_RPC_QUBE_MAX, 1);
	expect_len(bh_rpc_qube_ok, "", 'q', BH_RPC_QUBE_MAX + 1, 0);

	expect_len(bh_rpc_target_ok, "", 't', BH_RPC_QUBE_MAX, 1);
	expect_len(bh_rpc_target_ok, "", 't', BH_RPC_QUBE_MAX + 1, 0);
	expect_len(bh_rpc_target_ok, "@dispvm:", 'd', BH_RPC_QUBE_MAX, 1);
	expect_len(bh_rpc_target_ok, "@dispvm:", 'd', BH_RPC_QUBE_MAX + 1,
		   0);
	/* TARGET_MAX is exactly "@dispvm:uuid:" and a uuid, longer than
	 * "@dispvm:" and the longest name. */
	assert_int_equal(BH_RPC_TARGET_MAX,
			 strlen("@dispvm:uuid:"
				"d7542906-2570-46b4-b243-cf358d23eacf"));
	assert_true(BH_RPC_TARGET_MAX >= strlen("@dispvm:") + BH_RPC_QUBE_MAX);
	expect_len(bh_rpc_target_ok, "", 't', BH_RPC_TARGET_MAX, 0);

	expect_len(bh_rpc_user_ok, "", 'u', BH_RPC_USER_MAX, 1);
	expect_len(bh_rpc_user_ok, "", 'u', BH_RPC_USER_MAX + 1, 0);
}

/* The len given is what counts, not a NUL: a valid name followed by
 * bytes the checker must not look at, and a prefix of a longer one. */
static void test_field_len_not_nul(void **state)
{
	assert_int_equal(bh_rpc_service_ok("svc/../x", 3), 1);
	assert_int_equal(bh_rpc_service_ok("svc/../x", 4), 0);
	assert_int_equal(bh_rpc_arg_ok("arg bad", 3), 1);
	assert_int_equal(bh_rpc_arg_ok("arg bad", 4), 0);
	assert_int_equal(bh_rpc_qube_ok("work/x", 4), 1);
	assert_int_equal(bh_rpc_qube_ok("work/x", 5), 0);
	assert_int_equal(bh_rpc_target_ok("@dispvmXX", 7), 1);
	assert_int_equal(bh_rpc_target_ok("@dispvm:work", 8), 0);
	assert_int_equal(bh_rpc_target_ok("@dispvm:work", 9), 1);
	assert_int_equal(bh_rpc_target_ok("@defaultx", 8), 1);
	assert_int_equal(bh_rpc_user_ok("root:x", 4), 1);
	assert_int_equal(bh_rpc_user_ok("root:x", 5), 0);
	/* Length 0 with a non-NULL pointer to valid bytes. */
	assert_int_equal(bh_rpc_service_ok("svc", 0), 0);
	assert_int_equal(bh_rpc_arg_ok("arg", 0), 1);
	assert_int_equal(bh_rpc_qube_ok("work", 0), 0);
	assert_int_equal(bh_rpc_target_ok("work", 0), 0);
	assert_int_equal(bh_rpc_user_ok("root", 0), 0);
}

/* ---- field syntax: every byte, first and later ---- */

static int in_set(int c, const char *set)
{
	return c != 0 && strchr(set, c) != NULL;
}

#define LOWER "abcdefghijklmnopqrstuvwxyz"
#define UPPER "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
#define DIGIT "0123456789"

static void every_byte(field_fn fn, const char *fn_name, const char *first,
		       const char *rest, const char *good_first)
{
	int c;

	for (c = 0; c < 256; c++) {
		char s[3];
		int want;

		/* As the first byte. */
		s[0] = (char)c;
		s[1] = good_first[1];
		want = in_set(c, first);
		if (check_copy(fn, s, 2) != want)
			fail_msg("%s: byte 0x%02x first: expected %d", fn_name,
				 c, want);
		/* In the middle and at the end. */
		s[0] = good_first[0];
		s[1] = (char)c;
		s[2] = good_first[1];
		want = in_set(c, rest);
		if (check_copy(fn, s, 3) != want)
			fail_msg("%s: byte 0x%02x inside: expected %d", fn_name,
				 c, want);
		if (check_copy(fn, s, 2) != want)
			fail_msg("%s: byte 0x%02x last: expected %d", fn_name,
				 c, want);
	}
}

static void test_service_every_byte(void **state)
{
	every_byte(bh_rpc_service_ok, "service_ok", LOWER UPPER DIGIT,
		   LOWER UPPER DIGIT "._-", "ab");
}

static void test_arg_every_byte(void **state)
{
	every_byte(bh_rpc_arg_ok, "arg_ok", LOWER UPPER DIGIT "+._",
		   LOWER UPPER DIGIT "+._-", "ab");
}

static void test_qube_every_byte(void **state)
{
	every_byte(bh_rpc_qube_ok, "qube_ok", LOWER UPPER,
		   LOWER UPPER DIGIT "_.-", "ab");
}

static void test_target_every_byte(void **state)
{
	/* Two-byte targets are qube names. */
	every_byte(bh_rpc_target_ok, "target_ok", LOWER UPPER,
		   LOWER UPPER DIGIT "_.-", "ab");
}

static void test_user_every_byte(void **state)
{
	every_byte(bh_rpc_user_ok, "user_ok", LOWER "_", LOWER DIGIT "_-",
		   "ab");
}

/* "@dispvm:" then every byte as the name's first and second. */
static void test_dispvm_every_byte(void **state)
{
	int c;

	for (c = 0; c < 256; c++) {
		char s[10];

		memcpy(s, "@dispvm:", 8);
		s[8] = (char)c;
		s[9] = 'x';
		if (check_copy(bh_rpc_target_ok, s, 10) !=
		    in_set(c, LOWER UPPER))
			fail_msg("@dispvm: with first byte 0x%02x", c);
		s[8] = 'x';
		s[9] = (char)c;
		if (check_copy(bh_rpc_target_ok, s, 10) !=
		    in_set(c, LOWER UPPER DIGIT "_.-"))
			fail_msg("@dispvm: with second byte 0x%02x", c);
	}
}

/* ---- SERVICE[+ARG] ---- */

static void expect_split(const char *svc_arg, const char *service,
			 int has_arg, const char *arg)
{
	struct bh_call_req r;

	memset(&r, 0x5a, sizeof(r));
	assert_int_equal(bh_rpc_split_service(svc_arg, &r), 0);
	assert_string_equal(r.service, service);
	assert_int_equal(r.has_arg, has_arg);
	assert_string_equal(r.arg, arg);
}

static void expect_split_refused(const char *svc_arg)
{
	struct bh_call_req r;

	memset(&r, 0x5a, sizeof(r));
	if (bh_rpc_split_service(svc_arg, &r) != -EINVAL)
		fail_msg("split of \"%s\" not refused", svc_arg);
}

static void test_split_service(void **state)
{
	expect_split("svc", "svc", 0, "");
	expect_split("svc+", "svc", 1, "");
	expect_split("svc+arg", "svc", 1, "arg");
	expect_split("svc+a+b", "svc", 1, "a+b");
	expect_split("svc++", "svc", 1, "+");
	expect_split("qubes.Filecopy+work-vm", "qubes.Filecopy", 1,
		     "work-vm");
	expect_split("s+.", "s", 1, ".");

	expect_split_refused("+arg");
	expect_split_refused("+");
	expect_split_refused("");
	expect_split_refused(".svc+arg");
	expect_split_refused("svc/x+arg");
	expect_split_refused("svc+a/b");
	expect_split_refused("svc+a b");
	expect_split_refused("svc +arg");
	expect_split_refused("svc+arg\n");
}

static void test_split_service_lengths(void **state)
{
	char *svc = repeat("", 's', BH_RPC_SERVICE_MAX);
	char *svc_long = repeat("", 's', BH_RPC_SERVICE_MAX + 1);
	char *arg = repeat("", 'a', BH_RPC_ARG_MAX);
	char *arg_long = repeat("", 'a', BH_RPC_ARG_MAX + 1);
	char buf[1024];

	expect_split(svc, svc, 0, "");
	snprintf(buf, sizeof(buf), "%s+%s", svc, arg);
	expect_split(buf, svc, 1, arg);
	snprintf(buf, sizeof(buf), "%s+%s", svc_long, arg);
	expect_split_refused(buf);
	snprintf(buf, sizeof(buf), "%s+%s", svc, arg_long);
	expect_split_refused(buf);
	expect_split_refused(svc_long);
	snprintf(buf, sizeof(buf), "s+%s", arg_long);
	expect_split_refused(buf);
	/* Far longer than both limits together. */
	memset(buf, 'a', sizeof(buf) - 1);
	buf[sizeof(buf) - 1] = '\0';
	expect_split_refused(buf);
	buf[3] = '+';
	expect_split_refused(buf);
	free(svc);
	free(svc_long);
	free(arg);
	free(arg_long);
}

/* ---- call requests ---- */

static int call_parse_copy(const void *buf, size_t len, struct bh_call_req *r)
{
	uint8_t *p = malloc(len ? len : 1);
	int ret;

	assert_non_null(p);
	if (len)
		memcpy(p, buf, len);
	memset(r, 0x5a, sizeof(*r));
	ret = bh_call_req_parse(p, len, r);
	free(p);
	return ret;
}

static void call_round_trip(const char *target, const char *svc_arg,
			    const char *service, int has_arg, const char *arg)
{
	uint8_t buf[1024];
	struct bh_call_req r;
	size_t tl = strlen(target), sl = strlen(svc_arg);
	int n;

	memset(buf, 0xee, sizeof(buf));
	n = bh_call_req_encode(buf, sizeof(buf), target, svc_arg);
	assert_int_equal(n, tl + 1 + sl + 1);
	/* TARGET NUL SERVICE[+ARG] NUL, nothing more written. */
	assert_memory_equal(buf, target, tl + 1);
	assert_memory_equal(buf + tl + 1, svc_arg, sl + 1);
	assert_int_equal(buf[n], 0xee);

	assert_int_equal(call_parse_copy(buf, (size_t)n, &r), 0);
	assert_string_equal(r.target, target);
	assert_string_equal(r.service, service);
	assert_int_equal(r.has_arg, has_arg);
	assert_string_equal(r.arg, arg);

	/* The exact size suffices; one byte less does not. */
	assert_int_equal(bh_call_req_encode(buf, (size_t)n, target, svc_arg),
			 n);
	assert_int_equal(bh_call_req_encode(buf, (size_t)n - 1, target,
					    svc_arg),
			 -E2BIG);
	assert_int_equal(bh_call_req_encode(buf, 0, target, svc_arg), -E2BIG);
}

static void test_call_round_trip(void **state)
{
	call_round_trip("work", "qubes.Filecopy", "qubes.Filecopy", 0, "");
	call_round_trip("work", "svc+", "svc", 1, "");
	call_round_trip("dom0", "svc+arg", "svc", 1, "arg");
	call_round_trip("@adminvm", "admin.vm.List", "admin.vm.List", 0, "");
	call_round_trip("@default", "svc+a+b", "svc", 1, "a+b");
	call_round_trip("@dispvm", "svc++", "svc", 1, "+");
	call_round_trip("@dispvm:fedora-dvm", "x", "x", 0, "");
	call_round_trip("Z", "9", "9", 0, "");
	call_round_trip("uuid:d7542906-2570-46b4-b243-cf358d23eacf", "x", "x",
			0, "");
}

static void test_call_round_trip_max(void **state)
{
	char *target = repeat("@dispvm:uuid:d7542906-2570-46b4-b243-"
			      "cf358d23eacf", 'x', 0);
	char *svc = repeat("", 's', BH_RPC_SERVICE_MAX);
	char *arg = repeat("", 'a', BH_RPC_ARG_MAX);
	char svc_arg[BH_RPC_SERVICE_MAX + BH_RPC_ARG_MAX + 2];
	uint8_t buf[BH_RPC_TARGET_MAX + BH_RPC_SERVICE_MAX + BH_RPC_ARG_MAX +
		    3];

	snprintf(svc_arg, sizeof(svc_arg), "%s+%s", svc, arg);
	call_round_trip(target, svc_arg, svc, 1, arg);
	/* The largest request fills exactly this buffer. */
	assert_int_equal(bh_call_req_encode(buf, sizeof(buf), target, svc_arg),
			 sizeof(buf));
	free(target);
	free(svc);
	free(arg);
}

static void test_call_encode_refused(void **state)
{
	uint8_t buf[1024];
	char *long_target = repeat("", 't', BH_RPC_QUBE_MAX + 1);
	char *long_svc = repeat("", 's', BH_RPC_SERVICE_MAX + 1);
	char *very_long = repeat("", 't', 4000);

	assert_int_equal(bh_call_req_encode(buf, sizeof(buf), "", "svc"),
			 -EINVAL);
	assert_int_equal(bh_call_req_encode(buf, sizeof(buf), "@dispvm:",
					    "svc"),
			 -EINVAL);
	assert_int_equal(bh_call_req_encode(buf, sizeof(buf), "wo/rk", "svc"),
			 -EINVAL);
	assert_int_equal(bh_call_req_encode(buf, sizeof(buf), long_target,
					    "svc"),
			 -EINVAL);
	assert_int_equal(bh_call_req_encode(buf, sizeof(buf), very_long,
					    "svc"),
			 -EINVAL);
	assert_int_equal(bh_call_req_encode(buf, sizeof(buf), "work", ""),
			 -EINVAL);
	assert_int_equal(bh_call_req_encode(buf, sizeof(buf), "work", "+arg"),
			 -EINVAL);
	assert_int_equal(bh_call_req_encode(buf, sizeof(buf), "work",
					    "svc+a/b"),
			 -EINVAL);
	assert_int_equal(bh_call_req_encode(buf, sizeof(buf), "work",
					    long_svc),
			 -EINVAL);
	assert_int_equal(bh_call_req_encode(buf, sizeof(buf), "work",
					    very_long),
			 -EINVAL);
	/* A syntax error wins over a small buffer. */
	assert_int_equal(bh_call_req_encode(buf, 1, "wo/rk", "svc"), -EINVAL);
	free(long_target);
	free(long_svc);
	free(very_long);
}

static void expect_call_refused(const void *buf, size_t len)
{
	struct bh_call_req r;

	if (call_parse_copy(buf, len, &r) != -EPROTO)
		fail_msg("call request of %zu bytes not refused", len);
}

static void test_call_parse_refused(void **state)
{
	/* Sanity: the base form is accepted. */
	struct bh_call_req r;

	assert_int_equal(call_parse_copy(S("work\0svc\0"), &r), 0);

	expect_call_refused("", 0);                  /* nothing */
	expect_call_refused(S("\0"));                /* NUL only */
	expect_call_refused(S("\0\0"));              /* two empty fields */
	expect_call_refused(S("\0\0\0"));
	expect_call_refused(S("work"));              /* no NUL at all */
	expect_call_refused(S("work\0"));            /* one field */
	expect_call_refused(S("work\0svc"));         /* missing last NUL */
	expect_call_refused(S("work\0svc\0x"));      /* extra bytes */
	expect_call_refused(S("work\0svc\0\0"));     /* extra NUL */
	expect_call_refused(S("work\0svc\0arg\0"));  /* three fields */
	expect_call_refused(S("\0svc\0"));           /* empty target */
	expect_call_refused(S("work\0\0"));          /* empty service */
	expect_call_refused(S("work\0+arg\0"));
	expect_call_refused(S("@dispvm:\0svc\0"));
	expect_call_refused(S("wo/rk\0svc\0"));
	expect_call_refused(S("work\0s/vc\0"));
	expect_call_refused(S("work\0svc+a/b\0"));
	expect_call_refused(S("work\0svc+a b\0"));
	expect_call_refused(S("work \0svc\0"));
	expect_call_refused(S("work\0.svc\0"));
	expect_call_refused(S("svc\0work\0svc\0"));
}

static void test_call_parse_long_fields(void **state)
{
	uint8_t buf[2048];
	size_t n;

	/* Target of 32 letters. */
	memset(buf, 't', BH_RPC_QUBE_MAX + 1);
	memcpy(buf + BH_RPC_QUBE_MAX + 1, "\0svc\0", 5);
	expect_call_refused(buf, BH_RPC_QUBE_MAX + 1 + 5);
	/* ... and of 31: accepted. */
	memcpy(buf + BH_RPC_QUBE_MAX, "\0svc\0", 5);
	n = BH_RPC_QUBE_MAX + 5;
	{
		struct bh_call_req r;

		assert_int_equal(call_parse_copy(buf, n, &r), 0);
		assert_int_equal(strlen(r.target), BH_RPC_QUBE_MAX);
	}
	/* "@dispvm:" and 32 letters. */
	memcpy(buf, "@dispvm:", 8);
	memset(buf + 8, 'd', BH_RPC_QUBE_MAX + 1);
	memcpy(buf + 8 + BH_RPC_QUBE_MAX + 1, "\0svc\0", 5);
	expect_call_refused(buf, 8 + BH_RPC_QUBE_MAX + 1 + 5);
	/* Service of 65. */
	memcpy(buf, "work\0", 5);
	memset(buf + 5, 's', BH_RPC_SERVICE_MAX + 1);
	buf[5 + BH_RPC_SERVICE_MAX + 1] = '\0';
	expect_call_refused(buf, 5 + BH_RPC_SERVICE_MAX + 2);
	/* Service of 64 with an argument of 256. */
	memset(buf + 5, 's', BH_RPC_SERVICE_MAX);
	buf[5 + BH_RPC_SERVICE_MAX] = '+';
	memset(buf + 5 + BH_RPC_SERVICE_MAX + 1, 'a', BH_RPC_ARG_MAX + 1);
	n = 5 + BH_RPC_SERVICE_MAX + 1 + BH_RPC_ARG_MAX + 1;
	buf[n] = '\0';
	expect_call_refused(buf, n + 1);
	/* ... and of 255: accepted. */
	buf[n - 1] = '\0';
	{
		struct bh_call_req r;

		assert_int_equal(call_parse_copy(buf, n, &r), 0);
		assert_int_equal(strlen(r.service), BH_RPC_SERVICE_MAX);
		assert_int_equal(strlen(r.arg), BH_RPC_ARG_MAX);
	}
	/* A huge field with no NUL. */
	memset(buf, 'a', sizeof(buf));
	expect_call_refused(buf, sizeof(buf));
	buf[sizeof(buf) - 1] = '\0';
	expect_call_refused(buf, sizeof(buf));
}

/* Every proper prefix of a valid request is refused (the only one that
 * ends in NUL after two fields is the whole), as is every extension. */
static void test_call_parse_prefixes(void **state)
{
	static const uint8_t full[] = "@dispvm:work\0svc+a+b";
	uint8_t ext[sizeof(full) + 1];
	struct bh_call_req r;
	size_t len;

	for (len = 0; len < sizeof(full); len++)
		expect_call_refused(full, len);
	assert_int_equal(call_parse_copy(full, sizeof(full), &r), 0);
	assert_string_equal(r.target, "@dispvm:work");
	assert_string_equal(r.service, "svc");
	assert_string_equal(r.arg, "a+b");
	assert_int_equal(r.has_arg, 1);
	memcpy(ext, full, sizeof(full));
	for (len = 0; len < 256; len++) {
		ext[sizeof(full)] = (uint8_t)len;
		expect_call_refused(ext, sizeof(ext));
	}
}

/* ---- service requests ---- */

static int svc_parse_copy(const void *buf, size_t len,
			  struct bh_service_req *r)
{
	uint8_t *p = malloc(len ? len : 1);
	int ret;

	assert_non_null(p);
	if (len)
		memcpy(p, buf, len);
	memset(r, 0x5a, sizeof(*r));
	ret = bh_service_req_parse(p, len, r);
	free(p);
	return ret;
}

static void fill_req(struct bh_service_req *r, const char *service,
		     const char *arg, const char *source, const char *user)
{
	memset(r, 0, sizeof(*r));
	assert_true(strlen(service) < sizeof(r->service));
	assert_true(strlen(arg) < sizeof(r->arg));
	assert_true(strlen(source) < sizeof(r->source));
	assert_true(strlen(user) < sizeof(r->user));
	strcpy(r->service, service);
	strcpy(r->arg, arg);
	strcpy(r->source, source);
	strcpy(r->user, user);
}

static void svc_round_trip(const char *service, const char *arg,
			   const char *source, const char *user)
{
	struct bh_service_req in, out;
	uint8_t buf[1024], expect[1024];
	size_t e = 0, cap;
	const char *f[4] = { service, arg, source, user };
	int n, i;

	for (i = 0; i < 4; i++) {
		memcpy(expect + e, f[i], strlen(f[i]) + 1);
		e += strlen(f[i]) + 1;
	}
	fill_req(&in, service, arg, source, user);
	memset(buf, 0xee, sizeof(buf));
	n = bh_service_req_encode(buf, sizeof(buf), &in);
	assert_int_equal(n, e);
	assert_memory_equal(buf, expect, e);
	assert_int_equal(buf[n], 0xee);

	assert_int_equal(svc_parse_copy(buf, (size_t)n, &out), 0);
	assert_string_equal(out.service, service);
	assert_string_equal(out.arg, arg);
	assert_string_equal(out.source, source);
	assert_string_equal(out.user, user);

	/* Every capacity short of n is refused, n itself suffices. */
	for (cap = 0; cap < (size_t)n; cap++)
		assert_int_equal(bh_service_req_encode(buf, cap, &in), -E2BIG);
	assert_int_equal(bh_service_req_encode(buf, (size_t)n, &in), n);
}

static void test_service_round_trip(void **state)
{
	svc_round_trip("qubes.Filecopy", "", "work", "");
	svc_round_trip("qubes.Filecopy", "", "work", "user");
	svc_round_trip("svc", "a+b", "dom0", "root");
	svc_round_trip("svc", "+", "sys-net", "_apt");
	svc_round_trip("9", ".", "Z", "www-data");
}

static void test_service_round_trip_max(void **state)
{
	char *svc = repeat("", 's', BH_RPC_SERVICE_MAX);
	char *arg = repeat("", 'a', BH_RPC_ARG_MAX);
	char *src = repeat("", 'q', BH_RPC_QUBE_MAX);
	char *user = repeat("", 'u', BH_RPC_USER_MAX);

	svc_round_trip(svc, arg, src, user);
	free(svc);
	free(arg);
	free(src);
	free(user);
}

static void expect_svc_encode_refused(const char *service, const char *arg,
				      const char *source, const char *user)
{
	struct bh_service_req in;
	uint8_t buf[1024];

	fill_req(&in, service, arg, source, user);
	if (bh_service_req_encode(buf, sizeof(buf), &in) != -EINVAL)
		fail_msg("encoding %s/%s/%s/%s not refused", service, arg,
			 source, user);
}

static void test_service_encode_refused(void **state)
{
	expect_svc_encode_refused("", "", "work", "");
	expect_svc_encode_refused(".svc", "", "work", "");
	expect_svc_encode_refused("svc+x", "", "work", "");
	expect_svc_encode_refused("svc", "a/b", "work", "");
	expect_svc_encode_refused("svc", "", "", "");
	expect_svc_encode_refused("svc", "", "@dispvm", "");
	expect_svc_encode_refused("svc", "", "@dispvm:work", "");
	expect_svc_encode_refused("svc", "", "1work", "");
	expect_svc_encode_refused("svc", "", "work", "Root");
	expect_svc_encode_refused("svc", "", "work", "1user");
	expect_svc_encode_refused("svc", "", "work", "us er");
}

static void expect_svc_refused(const void *buf, size_t len)
{
	struct bh_service_req r;

	if (svc_parse_copy(buf, len, &r) != -EPROTO)
		fail_msg("service request of %zu bytes not refused", len);
}

/* Attack: a caller's argument that starts with '-' reaches the service
 * as its argv[1], where it is an option (--help, -e CMD ...). Refused
 * wherever an argument is checked: the split bh and bh-call make, the
 * call request the daemon parses from a qube, and the service request
 * the agent parses. A '-' later in the argument is still allowed. */
static void test_dash_argument_becomes_option(void **state)
{
	struct bh_call_req c;
	struct bh_service_req r;
	uint8_t buf[256];

	expect_split_refused("svc+-x");
	expect_split_refused("svc+--help");
	expect_split_refused("svc+-");
	expect_split("svc+a-x", "svc", 1, "a-x");
	expect_split("svc++-x", "svc", 1, "+-x");
	assert_int_equal(bh_call_req_encode(buf, sizeof(buf), "work",
					    "svc+--help"),
			 -EINVAL);
	expect_call_refused(S("work\0svc+-x\0"));
	expect_call_refused(S("work\0svc+--help\0"));
	assert_int_equal(call_parse_copy(S("work\0svc+x-\0"), &c), 0);
	expect_svc_encode_refused("svc", "-x", "work", "");
	expect_svc_refused(S("svc\0--help\0work\0\0"));
	assert_int_equal(svc_parse_copy(S("svc\0x--help\0work\0\0"), &r),
			 0);
	assert_string_equal(r.arg, "x--help");
}

static void test_service_parse(void **state)
{
	struct bh_service_req r;

	/* Empty argument and user. */
	assert_int_equal(svc_parse_copy(S("svc\0\0work\0\0"), &r), 0);
	assert_string_equal(r.service, "svc");
	assert_string_equal(r.arg, "");
	assert_string_equal(r.source, "work");
	assert_string_equal(r.user, "");

	expect_svc_refused("", 0);
	expect_svc_refused(S("\0"));
	expect_svc_refused(S("\0\0\0\0"));            /* all empty */
	expect_svc_refused(S("svc\0\0work"));          /* 3 fields, no NUL */
	expect_svc_refused(S("svc\0\0work\0"));        /* 3 fields */
	expect_svc_refused(S("svc\0\0work\0user"));    /* missing last NUL */
	expect_svc_refused(S("svc\0\0work\0\0\0"));    /* 5 fields */
	expect_svc_refused(S("svc\0\0work\0user\0x\0"));
	expect_svc_refused(S("svc\0\0work\0user\0x")); /* extra bytes */
	expect_svc_refused(S("\0\0work\0\0"));         /* empty service */
	expect_svc_refused(S("svc\0\0\0\0"));          /* empty source */
	expect_svc_refused(S("svc\0\0work\0Root\0"));  /* bad user */
	expect_svc_refused(S("svc\0\0work\0us/er\0"));
	expect_svc_refused(S("svc\0\0work\0us\ner\0"));
	expect_svc_refused(S("svc\0\0@dispvm\0\0"));   /* bad source */
	expect_svc_refused(S("svc\0\0@adminvm\0\0"));
	expect_svc_refused(S("svc\0\0@dispvm:work\0\0"));
	expect_svc_refused(S("svc\0\0wo/rk\0\0"));
	expect_svc_refused(S("svc\0\0-work\0\0"));
	expect_svc_refused(S("svc\0a/b\0work\0\0"));   /* bad argument */
	expect_svc_refused(S("svc\0a b\0work\0\0"));
	expect_svc_refused(S("svc+a\0\0work\0\0"));    /* '+' in service */
	expect_svc_refused(S("s/vc\0\0work\0\0"));
}

static void test_service_parse_long_fields(void **state)
{
	uint8_t buf[1024];
	struct bh_service_req r;
	size_t n;

	/* Source of 32: refused; of 31: accepted. */
	memcpy(buf, "svc\0\0", 5);
	memset(buf + 5, 'q', BH_RPC_QUBE_MAX + 1);
	memcpy(buf + 5 + BH_RPC_QUBE_MAX + 1, "\0\0", 2);
	expect_svc_refused(buf, 5 + BH_RPC_QUBE_MAX + 1 + 2);
	memcpy(buf + 5 + BH_RPC_QUBE_MAX, "\0\0", 2);
	assert_int_equal(svc_parse_copy(buf, 5 + BH_RPC_QUBE_MAX + 2, &r), 0);
	/* User of 33: refused; of 32: accepted. */
	memcpy(buf, "svc\0\0work\0", 10);
	memset(buf + 10, 'u', BH_RPC_USER_MAX + 1);
	buf[10 + BH_RPC_USER_MAX + 1] = '\0';
	expect_svc_refused(buf, 10 + BH_RPC_USER_MAX + 2);
	buf[10 + BH_RPC_USER_MAX] = '\0';
	assert_int_equal(svc_parse_copy(buf, 10 + BH_RPC_USER_MAX + 1, &r), 0);
	assert_int_equal(strlen(r.user), BH_RPC_USER_MAX);
	/* Argument of 256: refused; of 255: accepted. */
	memcpy(buf, "svc\0", 4);
	memset(buf + 4, 'a', BH_RPC_ARG_MAX + 1);
	n = 4 + BH_RPC_ARG_MAX + 1;
	memcpy(buf + n, "\0work\0\0", 7);
	expect_svc_refused(buf, n + 7);
	memcpy(buf + n - 1, "\0work\0\0", 7);
	assert_int_equal(svc_parse_copy(buf, n + 6, &r), 0);
	assert_int_equal(strlen(r.arg), BH_RPC_ARG_MAX);
	/* Service of 65: refused. */
	memset(buf, 's', BH_RPC_SERVICE_MAX + 1);
	memcpy(buf + BH_RPC_SERVICE_MAX + 1, "\0\0work\0\0", 8);
	expect_svc_refused(buf, BH_RPC_SERVICE_MAX + 1 + 8);
	memcpy(buf + BH_RPC_SERVICE_MAX, "\0\0work\0\0", 8);
	assert_int_equal(svc_parse_copy(buf, BH_RPC_SERVICE_MAX + 8, &r), 0);
	assert_int_equal(strlen(r.service), BH_RPC_SERVICE_MAX);
}

static void test_service_parse_prefixes(void **state)
{
	static const uint8_t full[] = "svc\0a+b\0work\0user";
	struct bh_service_req r;
	size_t len;

	for (len = 0; len < sizeof(full); len++)
		expect_svc_refused(full, len);
	assert_int_equal(svc_parse_copy(full, sizeof(full), &r), 0);
	assert_string_equal(r.service, "svc");
	assert_string_equal(r.arg, "a+b");
	assert_string_equal(r.source, "work");
	assert_string_equal(r.user, "user");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_service_ok_table),
		cmocka_unit_test(test_arg_ok_table),
		cmocka_unit_test(test_qube_ok_table),
		cmocka_unit_test(test_target_ok_table),
		cmocka_unit_test(test_user_ok_table),
		cmocka_unit_test(test_field_lengths),
		cmocka_unit_test(test_field_len_not_nul),
		cmocka_unit_test(test_service_every_byte),
		cmocka_unit_test(test_arg_every_byte),
		cmocka_unit_test(test_qube_every_byte),
		cmocka_unit_test(test_target_every_byte),
		cmocka_unit_test(test_user_every_byte),
		cmocka_unit_test(test_dispvm_every_byte),
		cmocka_unit_test(test_dash_argument_becomes_option),
		cmocka_unit_test(test_split_service),
		cmocka_unit_test(test_split_service_lengths),
		cmocka_unit_test(test_call_round_trip),
		cmocka_unit_test(test_call_round_trip_max),
		cmocka_unit_test(test_call_encode_refused),
		cmocka_unit_test(test_call_parse_refused),
		cmocka_unit_test(test_call_parse_long_fields),
		cmocka_unit_test(test_call_parse_prefixes),
		cmocka_unit_test(test_service_round_trip),
		cmocka_unit_test(test_service_round_trip_max),
		cmocka_unit_test(test_service_encode_refused),
		cmocka_unit_test(test_service_parse),
		cmocka_unit_test(test_service_parse_long_fields),
		cmocka_unit_test(test_service_parse_prefixes),
	};

	return cmocka_run_group_tests_name("rpc_req", tests, NULL, NULL);
}

/* Unit tests of src/proto/resume.c: the BH_MSG_RESUME payload, parsed
 * (table-driven over lengths, flags and names) and built, byte by byte
 * and round trip. */
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

/* The wire values the daemon and the agent agree on. */
_Static_assert(BH_MSG_RESUME == 11, "RESUME's type on the wire");
_Static_assert(BH_RESUME_LEN == 108, "RESUME's payload length");
_Static_assert(BH_RESUME_WARM == 1, "BH_RESUME_WARM is bit 0");

#define NAME_OFF 76
#define ENTROPY_OFF 12
#define NS 0x0102030405060708ull

/* A payload with the given flags and raw name field (exactly 32 bytes
 * copied, so a name may fill the field or carry bytes after its NUL). */
static void make(uint8_t p[BH_RESUME_LEN + 1], uint32_t flags,
		 const char name[BH_RESUME_NAME_LEN])
{
	size_t i;

	memset(p, 0, BH_RESUME_LEN + 1);
	bh_put_u32(p, (uint32_t)NS);
	bh_put_u32(p + 4, (uint32_t)(NS >> 32));
	bh_put_u32(p + 8, flags);
	for (i = 0; i < BH_RESUME_ENTROPY; i++)
		p[ENTROPY_OFF + i] = (uint8_t)(0x80 + i);
	memcpy(p + NAME_OFF, name, BH_RESUME_NAME_LEN);
}

/* 32 bytes: the name, NUL-padded (a literal of 32 chars has no room for
 * its own NUL, which is what the unterminated case needs). */
#define F(s) s "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0"

struct parse_case {
	const char *what;
	size_t len;
	uint32_t flags;
	const char *field; /* 32 bytes */
	int ok;
};

static const struct parse_case parse_cases[] = {
	{ "good", BH_RESUME_LEN, 0, F("disp42"), 1 },
	{ "warm", BH_RESUME_LEN, BH_RESUME_WARM, F("disp42"), 1 },
	{ "len 107", BH_RESUME_LEN - 1, 0, F("disp42"), 0 },
	{ "len 109", BH_RESUME_LEN + 1, 0, F("disp42"), 0 },
	{ "len 0", 0, 0, F("disp42"), 0 },
	{ "len 8", 8, 0, F("disp42"), 0 },
	{ "flag bit 1", BH_RESUME_LEN, 2, F("disp42"), 0 },
	{ "flag bit 31", BH_RESUME_LEN, 0x80000000u, F("disp42"), 0 },
	{ "warm + bit 1", BH_RESUME_LEN, 3, F("disp42"), 0 },
	{ "all flags", BH_RESUME_LEN, 0xffffffffu, F("disp42"), 0 },
	{ "31-char name", BH_RESUME_LEN, 0,
	  F("abcdefghijklmnopqrstuvwxyz01234"), 1 },
	{ "all name chars", BH_RESUME_LEN, 0, F("aZ09_.-"), 1 },
	{ "one letter", BH_RESUME_LEN, 0, F("x"), 1 },
	{ "not terminated", BH_RESUME_LEN, 0,
	  "abcdefghijklmnopqrstuvwxyz012345", 0 },
	{ "empty", BH_RESUME_LEN, 0, F(""), 0 },
	{ "space", BH_RESUME_LEN, 0, F("disp 42"), 0 },
	{ "slash", BH_RESUME_LEN, 0, F("a/b"), 0 },
	{ "colon", BH_RESUME_LEN, 0, F("a:b"), 0 },
	{ "at", BH_RESUME_LEN, 0, F("@dispvm"), 0 },
	{ "newline", BH_RESUME_LEN, 0, F("disp\n"), 0 },
	{ "escape", BH_RESUME_LEN, 0, F("a\033[2J"), 0 },
	{ "high byte", BH_RESUME_LEN, 0, F("disp\xff"), 0 },
	{ "utf-8", BH_RESUME_LEN, 0, F("d\xc3\xa9j\xc3\xa0"), 0 },
	{ "leading digit", BH_RESUME_LEN, 0, F("1disp"), 0 },
	{ "leading dash", BH_RESUME_LEN, 0, F("-rf"), 0 },
	{ "leading dot", BH_RESUME_LEN, 0, F(".."), 0 },
	{ "bytes after the NUL", BH_RESUME_LEN, 0, F("disp42\0x"), 0 },
	{ "last byte not NUL", BH_RESUME_LEN, 0,
	  "disp42\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0x", 0 },
};

static void test_parse_table(void **state)
{
	uint8_t p[BH_RESUME_LEN + 1];
	struct bh_resume r;
	size_t i;

	for (i = 0; i < ARRAY_LEN(parse_cases); i++) {
		const struct parse_case *c = &parse_cases[i];
		int got;

		make(p, c->flags, c->field);
		memset(&r, 0xa5, sizeof(r));
		got = bh_parse_resume(p, c->len, &r);
		if (got != (c->ok ? 0 : -EPROTO))
			print_error("case %zu (%s): %d\n", i, c->what, got);
		assert_int_equal(got, c->ok ? 0 : -EPROTO);
		if (!c->ok) {
			/* Refused: *out untouched. */
			struct bh_resume untouched;

			memset(&untouched, 0xa5, sizeof(untouched));
			assert_memory_equal(&r, &untouched, sizeof(r));
			continue;
		}
		assert_true(r.realtime_ns == NS);
		assert_int_equal(r.flags, c->flags);
		assert_memory_equal(r.entropy, p + ENTROPY_OFF,
				    BH_RESUME_ENTROPY);
		assert_string_equal(r.name, c->field);
		/* NUL-padded, no 0xa5 left. */
		for (size_t j = strlen(r.name); j < sizeof(r.name); j++)
			assert_int_equal(r.name[j], 0);
	}
}

/* Any single byte changed in the name field of a good payload: still
 * good only if it stays a valid, NUL-padded name. */
static void test_parse_name_bytes(void **state)
{
	uint8_t p[BH_RESUME_LEN + 1];
	struct bh_resume r;
	unsigned pos, b;

	for (pos = 0; pos < BH_RESUME_NAME_LEN; pos++) {
		for (b = 0; b < 256; b++) {
			int ok;

			make(p, 0, F("ab"));
			p[NAME_OFF + pos] = (uint8_t)b;
			if (pos == 0)
				ok = (b >= 'a' && b <= 'z') ||
				     (b >= 'A' && b <= 'Z');
			else if (pos <= 2) /* "ab" ends, or grows */
				ok = b == 0 || (b >= 'a' && b <= 'z') ||
				     (b >= 'A' && b <= 'Z') ||
				     (b >= '0' && b <= '9') || b == '_' ||
				     b == '.' || b == '-';
			else
				ok = b == 0; /* padding */
			assert_int_equal(bh_parse_resume(p, BH_RESUME_LEN, &r),
					 ok ? 0 : -EPROTO);
		}
	}
}

static void test_build_bytes(void **state)
{
	uint8_t e[BH_RESUME_ENTROPY], out[BH_RESUME_LEN + 1];
	static const uint8_t head[12] = {
		0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01, /* ns */
		0x01, 0x00, 0x00, 0x00,				/* flags */
	};
	size_t i;

	for (i = 0; i < sizeof(e); i++)
		e[i] = (uint8_t)(0xff - i);
	memset(out, 0xee, sizeof(out));
	assert_int_equal(bh_resume_build(out, NS, BH_RESUME_WARM, e, "disp7"),
			 BH_RESUME_LEN);
	assert_memory_equal(out, head, sizeof(head));
	assert_memory_equal(out + ENTROPY_OFF, e, sizeof(e));
	assert_memory_equal(out + NAME_OFF, F("disp7"), BH_RESUME_NAME_LEN);
	/* Nothing past the payload. */
	assert_int_equal(out[BH_RESUME_LEN], 0xee);
}

static void test_build_refuses(void **state)
{
	static const char *const bad[] = {
		"", "abcdefghijklmnopqrstuvwxyz012345", "a b", "a/b", "-x",
		"1a", "a\n", "d\xc3\xa9",
		"abcdefghijklmnopqrstuvwxyz0123456789",
	};
	uint8_t e[BH_RESUME_ENTROPY] = { 0 }, out[BH_RESUME_LEN],
		untouched[BH_RESUME_LEN];
	size_t i;

	memset(untouched, 0xee, sizeof(untouched));
	for (i = 0; i < ARRAY_LEN(bad); i++) {
		memset(out, 0xee, sizeof(out));
		assert_int_equal(bh_resume_build(out, 1, 0, e, bad[i]),
				 -EINVAL);
		assert_memory_equal(out, untouched, sizeof(out));
	}
	assert_int_equal(bh_resume_build(out, 1, 2, e, "ok"), -EINVAL);
	assert_int_equal(bh_resume_build(out, 1, 0xffffffffu, e, "ok"),
			 -EINVAL);
	assert_memory_equal(out, untouched, sizeof(out));
}

static void test_round_trip(void **state)
{
	static const struct {
		uint64_t ns;
		uint32_t flags;
		const char *name;
	} cases[] = {
		{ 0, 0, "a" },
		{ 1764410000123456789ull, BH_RESUME_WARM, "disp1234" },
		{ 0xffffffffffffffffull, 0, "abcdefghijklmnopqrstuvwxyz01234" },
		{ 0x8000000000000001ull, BH_RESUME_WARM, "Work.vm_2-x" },
	};
	uint8_t e[BH_RESUME_ENTROPY], p[BH_RESUME_LEN];
	struct bh_resume r;
	size_t i, j;

	for (i = 0; i < ARRAY_LEN(cases); i++) {
		for (j = 0; j < sizeof(e); j++)
			e[j] = (uint8_t)(i * 31 + j * 7);
		assert_int_equal(bh_resume_build(p, cases[i].ns,
						 cases[i].flags, e,
						 cases[i].name),
				 BH_RESUME_LEN);
		assert_int_equal(bh_parse_resume(p, sizeof(p), &r), 0);
		assert_true(r.realtime_ns == cases[i].ns);
		assert_int_equal(r.flags, cases[i].flags);
		assert_memory_equal(r.entropy, e, sizeof(e));
		assert_string_equal(r.name, cases[i].name);
	}
}

static void test_name_ok(void **state)
{
	assert_true(bh_resume_name_ok("disp1", 5));
	/* Only len bytes are looked at. */
	assert_true(bh_resume_name_ok("disp1 junk", 5));
	assert_false(bh_resume_name_ok("disp1 junk", 6));
	assert_false(bh_resume_name_ok("x", 0));
	assert_true(bh_resume_name_ok("abcdefghijklmnopqrstuvwxyz01234", 31));
	assert_false(bh_resume_name_ok("abcdefghijklmnopqrstuvwxyz012345",
				       32));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_table),
		cmocka_unit_test(test_parse_name_bytes),
		cmocka_unit_test(test_build_bytes),
		cmocka_unit_test(test_build_refuses),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_name_ok),
	};

	return cmocka_run_group_tests_name("resume", tests, NULL, NULL);
}

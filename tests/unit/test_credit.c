/* Unit tests of src/proto/credit.c: taking and granting credit, and the
 * refusal of grants past the window, including ones that would wrap a
 * uint32. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>

#include "proto/credit.h"
#include "proto/frame.h"

#define W BH_STREAM_WINDOW
#define MAXP BH_FRAME_MAX_PAYLOAD

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static struct bh_credit credit_at(uint32_t avail)
{
	struct bh_credit c;

	bh_credit_init(&c);
	c.avail = avail;
	return c;
}

static void test_init(void **state)
{
	struct bh_credit c = { .avail = 12345 };

	bh_credit_init(&c);
	assert_int_equal(c.avail, 0);
	/* Nothing may be sent before a grant. */
	assert_int_equal(bh_credit_take(&c, 1), -EPROTO);
	assert_int_equal(bh_credit_take(&c, 0), 0);
	assert_int_equal(c.avail, 0);
}

static void test_take(void **state)
{
	struct bh_credit c = credit_at(100);

	assert_int_equal(bh_credit_take(&c, 40), 0);
	assert_int_equal(c.avail, 60);
	assert_int_equal(bh_credit_take(&c, 61), -EPROTO);
	assert_int_equal(c.avail, 60);
	assert_int_equal(bh_credit_take(&c, 60), 0);
	assert_int_equal(c.avail, 0);
	assert_int_equal(bh_credit_take(&c, 1), -EPROTO);
	assert_int_equal(c.avail, 0);
	assert_int_equal(bh_credit_take(&c, 0xffffffffu), -EPROTO);
	assert_int_equal(c.avail, 0);
}

static void test_take_whole_window(void **state)
{
	struct bh_credit c = credit_at(W);

	assert_int_equal(bh_credit_take(&c, W + 1), -EPROTO);
	assert_int_equal(c.avail, W);
	assert_int_equal(bh_credit_take(&c, 0xffffffffu), -EPROTO);
	assert_int_equal(c.avail, W);
	assert_int_equal(bh_credit_take(&c, W), 0);
	assert_int_equal(c.avail, 0);
}

static void test_grant_to_window(void **state)
{
	struct bh_credit c;

	bh_credit_init(&c);
	assert_int_equal(bh_credit_grant(&c, W), 0);
	assert_int_equal(c.avail, W);
	/* An empty grant is never needed: refused, full or not. */
	assert_int_equal(bh_credit_grant(&c, 0), -EPROTO);
	assert_int_equal(c.avail, W);
	assert_int_equal(bh_credit_grant(&c, 1), -EPROTO);
	assert_int_equal(c.avail, W);

	/* Piecewise up to exactly the window. */
	c = credit_at(0);
	assert_int_equal(bh_credit_grant(&c, W / 4), 0);
	assert_int_equal(bh_credit_grant(&c, W / 4), 0);
	assert_int_equal(bh_credit_grant(&c, W / 2 - 1), 0);
	assert_int_equal(c.avail, W - 1);
	assert_int_equal(bh_credit_grant(&c, 2), -EPROTO);
	assert_int_equal(c.avail, W - 1);
	assert_int_equal(bh_credit_grant(&c, 1), 0);
	assert_int_equal(c.avail, W);
}

static void test_grant_past_window(void **state)
{
	static const uint32_t from[] = { 0, 1, W / 2, W - 1, W };
	size_t i;

	for (i = 0; i < ARRAY_LEN(from); i++) {
		struct bh_credit c = credit_at(from[i]);
		uint32_t room = W - from[i];

		assert_int_equal(bh_credit_grant(&c, room + 1), -EPROTO);
		assert_int_equal(c.avail, from[i]);
		assert_int_equal(bh_credit_grant(&c, W + 1), -EPROTO);
		assert_int_equal(c.avail, from[i]);
		assert_int_equal(bh_credit_grant(&c, room), room ? 0 : -EPROTO);
		assert_int_equal(c.avail, W);
	}
}

/* A data frame uses its payload and its header; the end of data nothing.
 * So a window of credit bounds the bytes a relay holds for a stream even
 * when the frames are one byte each. */
static void test_cost_counts_headers(void **state)
{
	struct bh_credit c = credit_at(W);
	uint32_t frames = 0;

	assert_int_equal(bh_credit_cost(0), 0);
	assert_int_equal(bh_credit_cost(1), 1 + BH_FRAME_HDR_LEN);
	assert_int_equal(bh_credit_cost(MAXP), MAXP + BH_FRAME_HDR_LEN);
	while (bh_credit_take(&c, bh_credit_cost(1)) == 0)
		frames++;
	assert_int_equal(frames, W / (1 + BH_FRAME_HDR_LEN));
	assert_true(frames * (1 + BH_FRAME_HDR_LEN) <= W);
	/* The most payload one frame may carry with what is left. */
	assert_int_equal(bh_credit_payload_max(0), 0);
	assert_int_equal(bh_credit_payload_max(BH_FRAME_HDR_LEN), 0);
	assert_int_equal(bh_credit_payload_max(BH_FRAME_HDR_LEN + 1), 1);
	assert_int_equal(bh_credit_cost(bh_credit_payload_max(W)), W);
}

/* Grants chosen so that avail + n wraps or lands on UINT32_MAX: a check
 * written as `avail + n > W` would let them through. */
static void test_grant_overflow(void **state)
{
	static const uint32_t from[] = { 0, 1, W / 2, W - 1, W };
	size_t i, tried = 0;

	for (i = 0; i < ARRAY_LEN(from); i++) {
		uint32_t a = from[i];
		const uint32_t ns[] = {
			0xffffffffu - a,      /* sum = UINT32_MAX */
			0xffffffffu - a + 1u, /* sum wraps to 0 */
			0xffffffffu - a + 2u, /* sum wraps to 1 */
			0u - a + (W - a),     /* sum wraps to W - a */
			0xffffffffu,
			0x80000000u,
			0xffffffffu - W + 1u,
		};
		size_t j;

		for (j = 0; j < ARRAY_LEN(ns); j++) {
			struct bh_credit c = credit_at(a);

			if (ns[j] == 0 || ns[j] <= W - a)
				continue; /* a wrap that happens to be fine */
			assert_int_equal(bh_credit_grant(&c, ns[j]), -EPROTO);
			assert_int_equal(c.avail, a);
			tried++;
		}
	}
	/* Only a few entries wrap to legal grants and are skipped. */
	assert_true(tried >= 25);
}

/* A state already past the window (never reached through the API) stays
 * refused rather than wrapping W - avail. */
static void test_grant_from_bad_state(void **state)
{
	struct bh_credit c = credit_at(W + 1);

	assert_int_equal(bh_credit_grant(&c, 0), -EPROTO);
	assert_int_equal(bh_credit_grant(&c, 1), -EPROTO);
	assert_int_equal(bh_credit_grant(&c, 0xffffffffu), -EPROTO);
	assert_int_equal(c.avail, W + 1);
	c = credit_at(0xffffffffu);
	assert_int_equal(bh_credit_grant(&c, 1), -EPROTO);
	assert_int_equal(c.avail, 0xffffffffu);
}

/* Sender and receiver in step: data taken is granted back, the balance
 * never exceeds the window and never goes negative. */
static void test_take_grant_cycle(void **state)
{
	struct bh_credit c;
	uint32_t i, outstanding = 0;

	bh_credit_init(&c);
	assert_int_equal(bh_credit_grant(&c, W), 0);
	for (i = 0; i < 10000; i++) {
		uint32_t n = (i * 7919u) % (BH_FRAME_MAX_PAYLOAD + 1);

		if (n <= c.avail) {
			assert_int_equal(bh_credit_take(&c, n), 0);
			outstanding += n;
		} else {
			uint32_t before = c.avail;

			assert_int_equal(bh_credit_take(&c, n), -EPROTO);
			assert_int_equal(c.avail, before);
			/* The receiver consumes everything and grants it. */
			assert_int_equal(bh_credit_grant(&c, outstanding), 0);
			outstanding = 0;
		}
		assert_int_equal(c.avail + outstanding, W);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init),
		cmocka_unit_test(test_take),
		cmocka_unit_test(test_take_whole_window),
		cmocka_unit_test(test_grant_to_window),
		cmocka_unit_test(test_grant_past_window),
		cmocka_unit_test(test_cost_counts_headers),
		cmocka_unit_test(test_grant_overflow),
		cmocka_unit_test(test_grant_from_bad_state),
		cmocka_unit_test(test_take_grant_cycle),
	};

	return cmocka_run_group_tests_name("credit", tests, NULL, NULL);
}

/* The per-qube log rate limit (daemon/qube_log.h): a burst, then a steady
 * rate, dropped lines counted and reported once. The clock is the test's:
 * no sleeps. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "daemon/engine/qube_log.h"

static unsigned take_n(struct qube_log *l, unsigned n, int64_t now)
{
	unsigned ok = 0;

	while (n--)
		ok += (unsigned)qube_log_take(l, now);
	return ok;
}

static void test_burst_then_drop(void **state)
{
	struct qube_log l;

	memset(&l, 0, sizeof(l));
	assert_int_equal(qube_log_next_ms(&l, 1000), -1);
	assert_int_equal(take_n(&l, QUBE_LOG_BURST, 1000), QUBE_LOG_BURST);
	assert_int_equal(qube_log_next_ms(&l, 1000), -1);
	assert_int_equal(take_n(&l, 100000, 1000), 0);
	assert_int_equal(l.dropped, 100000);
	/* Reported QUBE_LOG_REPORT_MS after the first drop, not before. */
	assert_int_equal(qube_log_next_ms(&l, 1000),
			 1000 + QUBE_LOG_REPORT_MS);
	assert_int_equal(qube_log_due(&l, 1000 + QUBE_LOG_REPORT_MS - 1), 0);
	assert_int_equal(qube_log_due(&l, 1000 + QUBE_LOG_REPORT_MS), 100000);
	/* Once. */
	assert_int_equal(qube_log_due(&l, 1000 + 10 * QUBE_LOG_REPORT_MS), 0);
	assert_int_equal(qube_log_next_ms(&l, 50000), -1);
}

static void test_steady_rate(void **state)
{
	struct qube_log l;
	unsigned ok = 0;
	int64_t t;

	memset(&l, 0, sizeof(l));
	take_n(&l, QUBE_LOG_BURST, 0);
	/* A qube that tries 1000 lines a second for 10 s gets one line per
	 * QUBE_LOG_REFILL_MS. */
	for (t = 1; t <= 10000; t++)
		ok += (unsigned)qube_log_take(&l, t);
	assert_int_equal(ok, 10000 / QUBE_LOG_REFILL_MS);
	assert_int_equal(l.dropped, 10000 - ok);
}

static void test_refills_to_burst_only(void **state)
{
	struct qube_log l;

	memset(&l, 0, sizeof(l));
	take_n(&l, QUBE_LOG_BURST, 0);
	assert_int_equal(take_n(&l, 1, 0), 0);
	/* Half the refill time: half the bucket. */
	assert_int_equal(take_n(&l, QUBE_LOG_BURST,
				QUBE_LOG_BURST / 2 * QUBE_LOG_REFILL_MS),
			 QUBE_LOG_BURST / 2);
	/* An hour of quiet: a full bucket, no more. */
	assert_int_equal(take_n(&l, 3 * QUBE_LOG_BURST, 3600000),
			 QUBE_LOG_BURST);
	/* Partial periods are kept: 150 ms then 50 ms make two tokens. */
	assert_int_equal(take_n(&l, 1, 3600000 + QUBE_LOG_REFILL_MS * 3 / 2),
			 1);
	assert_int_equal(take_n(&l, 1, 3600000 + QUBE_LOG_REFILL_MS * 2), 1);
	assert_int_equal(take_n(&l, 1, 3600000 + QUBE_LOG_REFILL_MS * 2), 0);
}

static void test_clock_going_back(void **state)
{
	struct qube_log l;

	memset(&l, 0, sizeof(l));
	take_n(&l, QUBE_LOG_BURST, 5000);
	assert_int_equal(take_n(&l, 5, 4000), 0);
	assert_int_equal(take_n(&l, 1, 4000 + QUBE_LOG_REFILL_MS), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_burst_then_drop),
		cmocka_unit_test(test_steady_rate),
		cmocka_unit_test(test_refills_to_burst_only),
		cmocka_unit_test(test_clock_going_back),
	};

	return cmocka_run_group_tests_name("qube_log", tests, NULL, NULL);
}

/* The host TSC rate handed to TCG guests must be in kHz and right: a
 * unit slip (MHz for kHz) made every guest timer run ~1000 times slow. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/engine/tsc.h"

/* The kernel's own figure for the TSC, where the CPU reports a constant
 * one: /proc/cpuinfo's "cpu MHz" on such hosts is the TSC rate. */
static double cpuinfo_mhz(int *constant)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[4096];
	double mhz = 0;

	*constant = 0;
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		if (!mhz && !strncmp(line, "cpu MHz", 7))
			mhz = atof(strchr(line, ':') + 1);
		if (!strncmp(line, "flags", 5))
			*constant = strstr(line, " constant_tsc") &&
				    strstr(line, " nonstop_tsc");
	}
	fclose(f);
	return mhz;
}

static void test_khz_matches_host(void **state)
{
	int constant;
	double mhz = cpuinfo_mhz(&constant);
	unsigned khz = tsc_khz_measure();

	if (!constant) {
		assert_int_equal(khz, 0);
		return;
	}
	print_message("measured %u kHz, cpuinfo %.3f MHz\n", khz, mhz);
	/* Within 1%: generous for a 20 ms measurement on a busy host,
	 * and a factor of 1000 off fails by far. */
	assert_true(khz > mhz * 1000 * 0.99);
	assert_true(khz < mhz * 1000 * 1.01);
}

/* ---- the rate kept for this boot of the host ---- */

static int measured;
static unsigned fake_khz;
static unsigned fake_measure(void)
{
	measured++;
	return fake_khz;
}

static void put(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_cached_per_boot(void **state)
{
	char dir[] = "/tmp/bh-tsc.XXXXXX", cache[PATH_MAX], boot[PATH_MAX];

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(cache, sizeof(cache), "%s/host-tsc", dir);
	snprintf(boot, sizeof(boot), "%s/boot_id", dir);
	put(boot, "11111111-2222-3333-4444-555555555555\n");
	/* Measured once, then the kept figure, not a new measure. */
	measured = 0;
	fake_khz = 2596135;
	assert_int_equal(tsc_khz_cached(cache, boot, fake_measure), 2596135);
	fake_khz = 2596121;
	assert_int_equal(tsc_khz_cached(cache, boot, fake_measure), 2596135);
	assert_int_equal(measured, 1);
	/* Another boot of the host: measured again. */
	put(boot, "99999999-2222-3333-4444-555555555555\n");
	assert_int_equal(tsc_khz_cached(cache, boot, fake_measure), 2596121);
	assert_int_equal(measured, 2);
	/* A damaged cache is measured over; 0 (no constant TSC) is never
	 * kept. */
	put(cache, "99999999-2222-3333-4444-555555555555 12x\n");
	assert_int_equal(tsc_khz_cached(cache, boot, fake_measure), 2596121);
	assert_int_equal(measured, 3);
	unlink(cache);
	fake_khz = 0;
	assert_int_equal(tsc_khz_cached(cache, boot, fake_measure), 0);
	assert_int_equal(access(cache, F_OK), -1);
	/* No boot id to key it by: measured every time. */
	fake_khz = 7;
	assert_int_equal(tsc_khz_cached(cache, "/nonexistent/boot_id",
					fake_measure),
			 7);
	assert_int_equal(access(cache, F_OK), -1);
	unlink(boot);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_khz_matches_host),
		cmocka_unit_test(test_cached_per_boot),
	};

	return cmocka_run_group_tests_name("tsc", tests, NULL, NULL);
}

/* The host TSC rate handed to TCG guests must be in kHz and right: a
 * unit slip (MHz for kHz) made every guest timer run ~1000 times slow. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_khz_matches_host),
	};

	return cmocka_run_group_tests_name("tsc", tests, NULL, NULL);
}

#include "daemon/engine/tsc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <x86intrin.h>

#include "lib/util.h"

/* Long enough for a 0.01% estimate, short enough for daemon start-up. */
#define TSC_MEASURE_NS 20000000LL

static int64_t raw_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_RAW, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int host_tsc_constant(void)
{
	char *text;
	int yes;

	if (bh_read_file("/proc/cpuinfo", 16 << 20, &text, NULL) < 0)
		return 0;
	yes = strstr(text, " constant_tsc") != NULL &&
	      strstr(text, " nonstop_tsc") != NULL;
	free(text);
	return yes;
}

unsigned tsc_khz_measure(void)
{
	int64_t t0, t1;
	uint64_t c0, c1;

	if (!host_tsc_constant())
		return 0;
	t0 = raw_ns();
	c0 = __rdtsc();
	do
		t1 = raw_ns();
	while (t1 - t0 < TSC_MEASURE_NS);
	c1 = __rdtsc();
	/* cycles * 10^6 / ns = cycles per millisecond = kHz */
	return (unsigned)((c1 - c0) * 1000000ULL / (uint64_t)(t1 - t0));
}

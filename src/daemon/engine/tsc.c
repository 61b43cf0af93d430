#include "daemon/engine/tsc.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
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

/* The boot id of boot_id_path (36 characters and a newline), into
 * out[37]. 0 or -1. */
static int read_boot_id(const char *boot_id_path, char out[37])
{
	char *text;
	size_t len;

	if (bh_read_file(boot_id_path, 64, &text, &len) < 0)
		return -1;
	if (len != 37 || text[36] != '\n') {
		free(text);
		return -1;
	}
	memcpy(out, text, 36);
	out[36] = '\0';
	free(text);
	return 0;
}

unsigned tsc_khz_cached(const char *cache_path, const char *boot_id_path,
			unsigned (*measure)(void))
{
	char boot[37], line[64], *text, *end;
	unsigned long v;
	unsigned khz;
	size_t len;
	int n;

	if (read_boot_id(boot_id_path, boot) < 0)
		return measure();
	if (bh_read_file(cache_path, 64, &text, &len) == 0) {
		errno = 0;
		v = len > 37 && !memcmp(text, boot, 36) && text[36] == ' '
			    ? strtoul(text + 37, &end, 10)
			    : 0;
		if (v && !errno && v < 100000000UL && *end == '\n' &&
		    end == text + len - 1) {
			free(text);
			return (unsigned)v;
		}
		free(text);
	}
	khz = measure();
	n = snprintf(line, sizeof(line), "%s %u\n", boot, khz);
	/* Not kept: measured again next time, nothing worse. */
	if (khz)
		bh_write_file_replace(cache_path, line, (size_t)n, 0644);
	return khz;
}

#include "lib/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static const char *log_prog = "bulkhead";
static int log_with_time;
static enum bh_log_level log_max = BH_LOG_INFO;

void bh_log_init(const char *progname, int with_time)
{
	log_prog = progname;
	log_with_time = with_time;
}

void bh_log_set_level(enum bh_log_level max)
{
	log_max = max;
}

int bh_log_wants(enum bh_log_level level)
{
	return level <= log_max;
}

void bh_log(enum bh_log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	bh_vlog(level, fmt, ap);
	va_end(ap);
}

void bh_vlog(enum bh_log_level level, const char *fmt, va_list ap)
{
	static const char *const names[] = { "error", "warning", "info",
					     "debug" };
	char line[2048];
	size_t off = 0;

	if (level > log_max)
		return;
	if (log_with_time) {
		struct timespec ts;
		struct tm tm;

		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		off = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
		off += (size_t)snprintf(line + off, sizeof(line) - off,
					".%03ldZ ", ts.tv_nsec / 1000000);
	}
	off += (size_t)snprintf(line + off, sizeof(line) - off, "%s: %s%s",
				log_prog, level <= BH_LOG_WARN ? names[level] : "",
				level <= BH_LOG_WARN ? ": " : "");
	if (off < sizeof(line))
		vsnprintf(line + off, sizeof(line) - off, fmt, ap);
	fprintf(stderr, "%s\n", line);
}

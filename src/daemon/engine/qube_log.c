/* Per-qube log rate limit (see qube_log.h). */
#include "daemon/engine/qube_log.h"

#include <stdarg.h>
#include <stdio.h>

#include "lib/util.h"

static void refill(struct qube_log *l, int64_t now_ms)
{
	int64_t n;

	if (!l->started || now_ms < l->refill_ms) {
		/* A zeroed struct is a full bucket; a clock that went back
		 * (it is monotonic: never) just starts again. */
		if (!l->started)
			l->tokens = QUBE_LOG_BURST;
		l->started = 1;
		l->refill_ms = now_ms;
		return;
	}
	n = (now_ms - l->refill_ms) / QUBE_LOG_REFILL_MS;
	if (n <= 0)
		return;
	if (n >= (int64_t)(QUBE_LOG_BURST - l->tokens)) {
		l->tokens = QUBE_LOG_BURST;
		l->refill_ms = now_ms;
	} else {
		l->tokens += (uint32_t)n;
		l->refill_ms += n * QUBE_LOG_REFILL_MS;
	}
}

int qube_log_take(struct qube_log *l, int64_t now_ms)
{
	refill(l, now_ms);
	if (l->tokens) {
		l->tokens--;
		return 1;
	}
	if (!l->dropped++)
		l->first_drop_ms = now_ms;
	return 0;
}

uint64_t qube_log_due(struct qube_log *l, int64_t now_ms)
{
	uint64_t n = l->dropped;

	if (!n || now_ms - l->first_drop_ms < QUBE_LOG_REPORT_MS)
		return 0;
	l->dropped = 0;
	return n;
}

int64_t qube_log_next_ms(const struct qube_log *l, int64_t now_ms)
{
	int64_t t;

	if (!l->dropped)
		return -1;
	t = l->first_drop_ms + QUBE_LOG_REPORT_MS;
	return t > now_ms ? t : now_ms;
}

static void summary(const char *name, uint64_t n)
{
	LOG_WARN("%s: %llu log lines suppressed (rate limit: %u at once, "
		 "then %u a second)",
		 name, (unsigned long long)n, QUBE_LOG_BURST,
		 1000u / QUBE_LOG_REFILL_MS);
}

void qube_log_flush(struct qube_log *l, const char *name, int force)
{
	uint64_t n;

	if (!l)
		return;
	if (force) {
		n = l->dropped;
		l->dropped = 0;
	} else {
		n = qube_log_due(l, bh_now_ms());
	}
	if (n)
		summary(name, n);
}

void qube_log(struct qube_log *l, const char *name, enum bh_log_level level,
	      const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	qube_vlog(l, name, level, fmt, ap);
	va_end(ap);
}

void qube_vlog(struct qube_log *l, const char *name, enum bh_log_level level,
	       const char *fmt, va_list ap)
{
	if (!bh_log_wants(level))
		return;
	if (l) {
		int64_t now = bh_now_ms();
		uint64_t n = qube_log_due(l, now);

		if (n)
			summary(name, n);
		if (!qube_log_take(l, now))
			return;
	}
	bh_vlog(level, fmt, ap);
}

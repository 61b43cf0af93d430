/* A rate limit on the log lines a qube can make the daemon write.
 *
 * Many lines of bulkheadd.log are caused by what a qube does: each call
 * it makes (allowed, denied, malformed, refused by a limit), each data
 * port it gets, each QMP error its QEMU sends. A compromised qube can do
 * these in a loop, thousands of times a second; without a limit it would
 * fill the host's disk and bury every other line. Each running qube has a
 * token bucket: QUBE_LOG_BURST lines at once, then one line every
 * QUBE_LOG_REFILL_MS. Lines over the limit are counted, not written; one
 * line says how many, "NAME: N log lines suppressed (rate limit)",
 * QUBE_LOG_REPORT_MS after the first of them (the poll loop wakes for
 * it), or when the qube ends. A qube that floods for ever thus costs at
 * most 10 lines a second and one summary every QUBE_LOG_REPORT_MS. */
#ifndef BH_DAEMON_QUBE_LOG_H
#define BH_DAEMON_QUBE_LOG_H

#include <stdarg.h>
#include <stdint.h>

#include "lib/log.h"

#define QUBE_LOG_BURST 100u
#define QUBE_LOG_REFILL_MS 100 /* 10 lines a second */
#define QUBE_LOG_REPORT_MS 2000

struct qube_log {
	uint32_t tokens;
	int64_t refill_ms; /* when the last token was added */
	uint64_t dropped;  /* lines not written since the last summary */
	int64_t first_drop_ms; /* the first of them */
	int started;	   /* 0 in a zeroed struct: a full bucket */
};

/* 1 when a line may be written now (it takes a token), else 0 and the
 * line is counted as dropped. */
int qube_log_take(struct qube_log *l, int64_t now_ms);
/* The number of dropped lines to report now (and the count starts
 * again), or 0: none dropped, or the first drop was less than
 * QUBE_LOG_REPORT_MS ago. */
uint64_t qube_log_due(struct qube_log *l, int64_t now_ms);
/* When qube_log_due will have something to report: a time in ms, or -1
 * (nothing dropped). For the poll loop's timeout. */
int64_t qube_log_next_ms(const struct qube_log *l, int64_t now_ms);

/* Logs a line about the qube named name, within l's limit (NULL: no
 * limit), reporting earlier dropped lines first when it can. */
void qube_log(struct qube_log *l, const char *name, enum bh_log_level level,
	      const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void qube_vlog(struct qube_log *l, const char *name, enum bh_log_level level,
	       const char *fmt, va_list ap)
	__attribute__((format(printf, 4, 0)));
/* Writes the summary line if one is due (force: whatever the bucket
 * holds, for a qube that ends). */
void qube_log_flush(struct qube_log *l, const char *name, int force);

#endif

/* Exists for the tests only: tests/crash/run-crash-tests.sh sets
 * BULKHEAD_CRASH_AT to make the daemon die as `kill -9` would, exactly at
 * one step of create, clone, remove or start, and then checks that a
 * restart leaves the records and volumes consistent. In production the
 * variable is not set and every crash point is one string comparison
 * against NULL after the first call. The process writes nothing before it
 * dies: a real crash does not get to flush or log either.
 *
 * BULKHEAD_CRASH_AT=POINT:stop stops the process at POINT (SIGSTOP)
 * instead: a process that hangs there, for the tests of what waits for
 * it (a re-attached channel process that never sends what it has). */
#include "lib/crashpoint.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static pid_t kill_first[2];
static unsigned n_kill_first;

void bh_crash_point_kill_first(pid_t pid)
{
	if (n_kill_first < sizeof(kill_first) / sizeof(kill_first[0]))
		kill_first[n_kill_first++] = pid;
}

#define STOP_SUFFIX ":stop"

void bh_crash_point_in_child(void)
{
	/* A job's process forked by bulkheadd's root parent for control:
	 * with BULKHEAD_CRASH_SCOPE=control the parent names control here
	 * (BULKHEAD_CRASH_VICTIM), which is to die rather than itself. */
	const char *v = getenv("BULKHEAD_CRASH_VICTIM");
	long victim = v ? strtol(v, NULL, 10) : 0;

	bh_crash_point_kill_first(victim > 1 ? (pid_t)victim : getppid());
}

void bh_crash_point(const char *name)
{
	/* A copy: a later setenv() may free getenv()'s string. */
	static char want[128];
	static int read_env, stop;

	if (!read_env) {
		const char *v = getenv("BULKHEAD_CRASH_AT");
		size_t n = v ? strlen(v) : 0, k = strlen(STOP_SUFFIX);

		if (v && n < sizeof(want)) {
			strcpy(want, v);
			if (n > k && !strcmp(want + n - k, STOP_SUFFIX)) {
				want[n - k] = '\0';
				stop = 1;
			}
		}
		read_env = 1;
	}
	if (want[0] && !strcmp(want, name) && stop) {
		raise(SIGSTOP);
		return;
	}
	if (want[0] && !strcmp(want, name)) {
		unsigned i;

		/* A job's child (daemon/jobs/job.h): the daemon dies, as if
		 * the crash had struck it in the middle of the job; control:
		 * its root parent, unless only control is to die. */
		for (i = 0; i < n_kill_first; i++)
			kill(kill_first[i], SIGKILL);
		raise(SIGKILL);
	}
}

/* Crash injection for the reliability tests (tests/crash): the daemon
 * kills itself with SIGKILL at a named step boundary, so that a test can
 * check what a restart makes of each half-done call. */
#ifndef BH_LIB_CRASHPOINT_H
#define BH_LIB_CRASHPOINT_H

#include <sys/types.h>

/* When $BULKHEAD_CRASH_AT equals name, raise(SIGKILL) here, writing
 * nothing first; when it is name followed by ":stop", raise(SIGSTOP)
 * (the process hangs there until SIGCONT or SIGKILL); otherwise a
 * no-op. */
void bh_crash_point(const char *name);

/* A crash point reached in this process kills PID first (at most two,
 * in the order given): bulkheadd's control names its root parent, so
 * that the whole daemon dies as by kill -9, unless the test asks for
 * control alone (BULKHEAD_CRASH_SCOPE=control, daemon/main.c). */
void bh_crash_point_kill_first(pid_t pid);

/* In a daemon's job child (daemon/jobs/job.h): a crash point reached here
 * kills the parent daemon first (and what it was to kill), then this
 * process. */
void bh_crash_point_in_child(void);

#endif

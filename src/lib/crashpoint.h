/* Crash injection for the reliability tests (tests/crash): the daemon
 * kills itself with SIGKILL at a named step boundary, so that a test can
 * check what a restart makes of each half-done call. */
#ifndef BH_LIB_CRASHPOINT_H
#define BH_LIB_CRASHPOINT_H

/* When $BULKHEAD_CRASH_AT equals name, raise(SIGKILL) here, writing
 * nothing first; when it is name followed by ":stop", raise(SIGSTOP)
 * (the process hangs there until SIGCONT or SIGKILL); otherwise a
 * no-op. */
void bh_crash_point(const char *name);

/* In a daemon's job child (daemon/jobs/job.h): a crash point reached here
 * kills the parent daemon first, then this process. */
void bh_crash_point_in_child(void);

#endif

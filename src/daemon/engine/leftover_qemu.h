/* QEMUs left running by a daemon that died.
 *
 * A jailed QEMU outlives its daemon (jail.h): when the daemon dies, the
 * guest agent sees its channel hang up, syncs and powers off, and QEMU
 * exits. The next daemon waits a bounded time for that, then kills what
 * is still running (a paused or wedged guest), so that no QEMU of an
 * earlier daemon keeps a qube's volumes open. Each QEMU is known by the
 * pid file its daemon wrote in the qube's runtime folder, checked against
 * the process's start time so a reused pid is never signalled. */
#ifndef BH_DAEMON_LEFTOVER_QEMU_H
#define BH_DAEMON_LEFTOVER_QEMU_H

#include <stdint.h>
#include <sys/types.h>

#define QEMU_PID_FILE "qemu.pid"
/* How long a left QEMU gets to power its guest off by itself: a guest
 * still booting under TCG needs about 2 s to reach its agent. */
#define LEFTOVER_POWEROFF_MS 10000
/* How long SIGKILL may take to end one (it is not refused; bounded in
 * case the kernel is slow to tear a big guest down). */
#define LEFTOVER_KILL_MS 5000

/* The start time of pid (field 22 of /proc/PID/stat, clock ticks since
 * boot). Returns 0, or a negative errno (-ESRCH when there is no such
 * process). */
int proc_start_time(pid_t pid, uint64_t *out);

/* Writes RUN_DIR/FILE: "PID STARTTIME\n", under a temporary name then
 * renamed. Returns 0 or a negative errno. */
int pid_file_write(const char *run_dir, const char *file, pid_t pid);

/* Reads and checks RUN_DIR/FILE. Returns 1 with *pid set when that
 * process still runs with the recorded start time, 0 when it is gone (or
 * the file is missing or malformed: nothing to end), or a negative
 * errno. */
int pid_file_live(const char *run_dir, const char *file, pid_t *pid);

/* A pidfd for the process RUN_DIR/FILE names, checked again once open
 * (the file's start time against the process the pidfd holds), so that
 * it is never a later process that took the pid. The pidfd with *pid
 * set, or -1 when there is none (gone, or no file, or a malformed
 * one). */
int pid_file_open(const char *run_dir, const char *file, pid_t *pid);

/* The same for QEMU_PID_FILE. */
static inline int qemu_pid_file_write(const char *run_dir, pid_t pid)
{
	return pid_file_write(run_dir, QEMU_PID_FILE, pid);
}
static inline int qemu_pid_file_live(const char *run_dir, pid_t *pid)
{
	return pid_file_live(run_dir, QEMU_PID_FILE, pid);
}

/* Says whether the folder NAME of a qube is kept (its qube re-attached):
 * its QEMU is left alone. */
typedef int (*leftover_keep_fn)(const char *name, void *ctx);

/* For every folder in qubes_run_dir (ROOT/run/bulkhead/qubes) whose QEMU
 * still runs, but those keep (if not NULL) keeps: waits up to poweroff_ms for all of them to exit, then kills
 * the rest and waits up to LEFTOVER_KILL_MS. Logs what it did. Returns
 * the number of QEMUs that had to be killed, or -1 when one could not be
 * ended at all (logged). */
int leftover_qemus_end(const char *qubes_run_dir, int poweroff_ms,
		       leftover_keep_fn keep, void *ctx);

#endif

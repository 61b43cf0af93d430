/* What every running qube shares (struct qube_vm, core/daemon.h), for
 * a persistent qube and a disposable alike, in four modules, lowest
 * first: this one (a qube's failure, signals and kill, the lookup of a
 * running qube), qube_vm_chan (what comes from its channel process:
 * the agent's frames, QMP, its bh going), qube_vm_end (QEMU reaped, the
 * qube's end, its deadlines) and qube_vm_launch (its start). They are
 * the lowest modules of qube/: what they tell the modules above them (a
 * disposable's job, the pool, the snapshot, a persistent qube's start
 * and end, RPC calls) goes through the daemon's hooks (core/daemon.h). */
#ifndef BH_DAEMON_QUBE_VM_H
#define BH_DAEMON_QUBE_VM_H

#include "daemon/core/daemon.h"

/* The running (or booting, or stopping) persistent qube of that name. */
struct qube_vm *qube_find_running(struct daemon *d, const char *name);

/* Kills QEMU at once. */
void qube_vm_kill(struct qube_vm *dv);
/* The same, for a qube that failed (qube_vm_error says why). */
void qube_vm_destroy(struct qube_vm *dv);
/* Records why dv failed (code: a bh exit code; the message goes to its
 * bh and the log), once: the first failure is the one reported. */
void qube_vm_error(struct qube_vm *dv, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* A qube that counts as running: QEMU runs, or is about to (its start
 * waits for a job: qube_vm_wait_prep). */
static inline int qube_vm_live(const struct qube_vm *dv)
{
	return dv->vm_alive || dv->prep_job;
}
/* Destroys the qube and tells its client why (daemon shutting down). */
void qube_vm_abort(struct qube_vm *dv, const char *why);

/* Signals dv's QEMU (by its pidfd when it was re-attached). */
void qube_vm_signal_qemu(struct qube_vm *dv, int sig);
/* Signals dv's channel process (the same). */
void qube_vm_signal_chan(struct qube_vm *dv, int sig);

/* Last `lines` lines of a guest-written file, with control characters
 * escaped so they cannot act on the user's terminal. */
void tail_escaped(const char *path, int lines, char *out, size_t cap);

/* Takes dv out of the daemon's list and frees it with what it holds (the
 * re-attached qube's pidfds, its link's buffers, a snapshot's state
 * file); the links themselves are the caller's to have closed. */
void qube_vm_unlink_free(struct qube_vm *dv);

#endif

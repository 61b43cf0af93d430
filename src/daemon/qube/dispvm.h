/* What every running qube shares (struct qube_vm, core/daemon.h): its
 * launch, its channel and QMP, its end. The lowest module of qube/: what
 * it tells the modules above it (a disposable's job, the pool, the
 * snapshot, a persistent qube's start and end, RPC calls) goes through
 * the daemon's hooks (core/daemon.h). */
#ifndef BH_DAEMON_DISPVM_H
#define BH_DAEMON_DISPVM_H

#include "daemon/core/daemon.h"

/* Starts QEMU for dv (its name set) from spec: runtime folder, bounded
 * console log, jailed engine. On success dv is in the daemon's list,
 * booting: QEMU runs, or, when dv has a private volume to copy
 * (private_src), starts once that copy (a job, job.h) has ended; a
 * failure then is reported as a failed boot. On failure returns a
 * negative bh exit code, err says why, and nothing is left behind. */
int qube_vm_launch(struct daemon *d, struct qube_vm *dv, struct qube_spec *spec,
		   char *err, size_t cap);

/* The running (or booting, or stopping) persistent qube of that name. */
struct qube_vm *qube_find_running(struct daemon *d, const char *name);

/* The agent of dv is ready (HELLO, or a snapshot taken after it): starts
 * its job or the calls that wait for it. <0: protocol error. */
int qube_vm_ready(struct qube_vm *dv);

/* Checks and acts on one frame from the guest. Returns 0, or -EPROTO when
 * the guest broke the protocol (the caller then destroys the qube). Needs
 * no running QEMU: the fuzz target drives it directly. */
int qube_vm_handle_agent_frame(struct qube_vm *dv,
			       const struct bh_frame_hdr *untrusted_h,
			       const uint8_t *untrusted_payload);

/* Whether the main loop reads dv's channel this round: not while dv
 * leaves more than QUBE_PAUSE_BYTES of its own queue unread (the first
 * pause of a run is logged, at most once a minute). */
int qube_vm_readable(struct qube_vm *dv, int64_t now_ms);

/* Events from the main loop. */
void qube_vm_agent_input(struct qube_vm *dv);
void qube_vm_agent_output(struct qube_vm *dv);
void qube_vm_qmp_input(struct qube_vm *dv);
/* Client c, joined with a stream of dv, went away. */
void qube_vm_client_gone(struct qube_vm *dv, struct client *c);
/* QEMU of dv was reaped. The qube's end (its bh told, its files
 * removed, dv freed) comes at once when the channel process has closed
 * the link, else from qube_vm_finish_ended. */
void qube_vm_reaped(struct qube_vm *dv, int wstatus);
/* dv's channel process was reaped (logged unless it exited with 0). */
void qube_vm_chan_reaped(struct qube_vm *dv, int wstatus);
/* dv's channel process, not our child (a re-attached qube's), ended
 * while its QEMU runs: the qube ends. */
void qube_vm_chan_lost(struct qube_vm *dv);
/* Ends the qubes whose QEMU is reaped and whose channel process has
 * closed the link, or has had CHAN_DRAIN_MS to do it (then it is
 * killed). Frees them: the main loop calls it between rounds. Returns
 * the nearest deadline still waited for, or -1. */
int64_t qube_vm_finish_ended(struct daemon *d, int64_t now_ms);
void qube_vm_tick(struct qube_vm *dv, int64_t now_ms);
/* Kills QEMU at once. */
void qube_vm_kill(struct qube_vm *dv);
/* Records why dv failed (code: a bh exit code; the message goes to its
 * bh and the log), once: the first failure is the one reported. */
void qube_vm_error(struct qube_vm *dv, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* A qube that counts as running: QEMU runs, or is about to (its private
 * volume being copied). */
static inline int qube_vm_live(const struct qube_vm *dv)
{
	return dv->vm_alive || dv->prep_job;
}
/* Destroys the qube and tells its client why (daemon shutting down). */
void qube_vm_abort(struct qube_vm *dv, const char *why);

/* dv's QEMU and channel process run and dv->vm.chan_fd, qmp_fd are the
 * links to the latter: dv goes into the daemon's list, booting (a
 * launch, or a re-attach: qube_attach.h). */
void qube_vm_go_live(struct daemon *d, struct qube_vm *dv);
/* Signals dv's QEMU (by its pidfd when it was re-attached). */
void qube_vm_signal_qemu(struct qube_vm *dv, int sig);

/* Last `lines` lines of a guest-written file, with control characters
 * escaped so they cannot act on the user's terminal. */
void tail_escaped(const char *path, int lines, char *out, size_t cap);

#endif

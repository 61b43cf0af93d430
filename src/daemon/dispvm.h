/* One run of `bh run --dispvm`: a throwaway qube from the minimal template,
 * booted, given one command, relayed to bh, then destroyed with every file
 * it had. */
#ifndef BH_DAEMON_DISPVM_H
#define BH_DAEMON_DISPVM_H

#include "daemon/core/daemon.h"

/* Starts a disposable for client c with an exec request already checked,
 * made from disposable template dvm; NULL for the global default_dispvm,
 * "" (or an unset default_dispvm) for the minimal template with no
 * private volume. On failure the client gets an ERROR and nothing is left
 * behind. */
void dispvm_start(struct daemon *d, struct client *c, const char *dvm,
		  const uint8_t *req,
		  uint32_t len);

/* A fresh disposable that an RPC call (@dispvm) will use: booting, with
 * no job yet; the calls waiting for it are joined when it is ready
 * (rpc_target_ready) and its first service's end is its end. Returns
 * NULL with err set when it could not start. dvm: the disposable
 * template (@dispvm:NAME), "" for the minimal template. */
struct qube_vm *dispvm_for_call(struct daemon *d, const char *dvm, char *err,
				size_t cap);

/* Starts QEMU for dv (its name set) from spec: runtime folder, bounded
 * console log, jailed engine. On success dv is in the daemon's list,
 * booting: QEMU runs, or, when dv has a private volume to copy
 * (private_src), starts once that copy (a job, job.h) has ended; a
 * failure then is reported as a failed boot. On failure returns a
 * negative bh exit code, err says why, and nothing is left behind. */
int dispvm_launch(struct daemon *d, struct qube_vm *dv, struct qube_spec *spec,
		  char *err, size_t cap);

/* A new disposable of dvm ("" = the minimal template), booting, with no
 * job: restored from its snapshot when one is valid (cold otherwise; a
 * pooled one only ever from the snapshot). NULL with *code (a bh exit
 * code) and err set when it could not start. */
struct qube_vm *dispvm_new(struct daemon *d, const char *dvm, int pooled,
			  int *code, char *err, size_t cap);

/* The manifest inputs a snapshot of dvm would have now
 * (dispvm_snapshot.h), to tell whether a preloaded qube is stale. */
int dispvm_snapshot_inputs(struct daemon *d, const char *dvm, char *out,
			   size_t cap);

/* The agent of dv is ready (HELLO, or a snapshot taken after it): starts
 * its job or the calls that wait for it. <0: protocol error. */
int dispvm_ready(struct qube_vm *dv);

/* Persistent qubes (qube_power.c): the agent said HELLO; QEMU is gone. */
void qube_ready(struct qube_vm *dv);
void qube_stopped(struct qube_vm *dv);

/* Checks and acts on one frame from the guest. Returns 0, or -EPROTO when
 * the guest broke the protocol (the caller then destroys the qube). Needs
 * no running QEMU: the fuzz target drives it directly. */
int dispvm_handle_agent_frame(struct qube_vm *dv,
			      const struct bh_frame_hdr *untrusted_h,
			      const uint8_t *untrusted_payload);

/* Whether the main loop reads dv's channel this round: not while dv
 * leaves more than QUBE_PAUSE_BYTES of its own queue unread (the first
 * pause of a run is logged, at most once a minute). */
int dispvm_readable(struct qube_vm *dv, int64_t now_ms);

/* Events from the main loop. */
void dispvm_agent_input(struct qube_vm *dv);
void dispvm_agent_output(struct qube_vm *dv);
void dispvm_qmp_input(struct qube_vm *dv);
/* Client c, joined with a stream of dv, went away. */
void dispvm_client_gone(struct qube_vm *dv, struct client *c);
/* QEMU of dv was reaped. The qube's end (its bh told, its files
 * removed, dv freed) comes at once when the channel process has closed
 * the link, else from dispvm_finish_ended. */
void dispvm_reaped(struct qube_vm *dv, int wstatus);
/* dv's channel process was reaped (logged unless it exited with 0). */
void dispvm_chan_reaped(struct qube_vm *dv, int wstatus);
/* Ends the qubes whose QEMU is reaped and whose channel process has
 * closed the link, or has had CHAN_DRAIN_MS to do it (then it is
 * killed). Frees them: the main loop calls it between rounds. Returns
 * the nearest deadline still waited for, or -1. */
int64_t dispvm_finish_ended(struct daemon *d, int64_t now_ms);
void dispvm_tick(struct qube_vm *dv, int64_t now_ms);
/* Kills QEMU at once. */
void dispvm_kill(struct qube_vm *dv);
/* Records why dv failed (code: a bh exit code; the message goes to its
 * bh and the log), once: the first failure is the one reported. */
void qube_vm_error(struct qube_vm *dv, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* A qube that counts as running: QEMU runs, or is about to (its private
 * volume being copied). */
static inline int dispvm_live(const struct qube_vm *dv)
{
	return dv->vm_alive || dv->prep_job;
}
/* Destroys the qube and tells its client why (daemon shutting down). */
void dispvm_abort(struct qube_vm *dv, const char *why);

struct policy_system;
/* Adds the running disposables (dispN: not recorded in the store) to sys,
 * a policy_system_load result, as DispVMs made from their disposable
 * template, each with the uuid it got at launch, so that SOURCE tokens
 * (@dispvm:NAME, @type:DispVM, uuid:UUID) match their calls. They are
 * no call's target (policy_qube.no_target). sys points into the
 * disposables: free it before any of them goes. 0 or -ENOMEM. */
int dispvm_policy_add(struct daemon *d, struct policy_system *sys);
/* 1 when a disposable dispvm_policy_add lists is called name, else 0. */
int dispvm_running_named(struct daemon *d, const char *name);

/* Ends the QEMUs a daemon that died left running (leftover_qemu.h:
 * their guests power off by themselves, else they are killed), then
 * removes its runtime folders. Returns 0, or -1 when a QEMU could not be
 * ended (its folder is kept). */
int dispvm_cleanup_stale(struct daemon *d);

/* Last `lines` lines of a guest-written file, with control characters
 * escaped so they cannot act on the user's terminal. */
void tail_escaped(const char *path, int lines, char *out, size_t cap);

#endif

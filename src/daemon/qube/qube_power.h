/* Persistent qubes' power: start, shutdown, kill, pause, unpause over the
 * admin API (bh run QUBE's commands: qube_run.h). */
#ifndef BH_DAEMON_QUBE_POWER_H
#define BH_DAEMON_QUBE_POWER_H

#include <stdint.h>

#include "daemon/core/daemon.h"
#include "daemon/qube/qube_boot.h"

/* admin.vm.Start/Shutdown/Kill/Pause/Unpause are the admin API's
 * (admin_power.c); their replies may come later (start: once the agent
 * is ready; shutdown with ARG "wait" and kill: once QEMU is gone): the
 * qube's waiter, which this module answers. */

/* A clean shutdown gets this long before QMP quit, then SIGKILL. */
#define QUBE_SHUTDOWN_MS 30000

/* Records name's power state (Running, Halted, Paused, Transient, with
 * why) in the store and tells the event subscribers. */
void qube_power_record(struct daemon *d, const char *name, const char *state,
		       const char *reason);

/* Starts the qube: c (NULL: nobody, the log says why it failed) gets the
 * reply once it is ready. */
void qube_start(struct daemon *d, struct client *c, const char *name);

/* Why a start failed: a status (enum bh_admin_status, or a bh exit code
 * 122..125 from the checks of the guest files and the launch) and a
 * message that says what to do. */
struct qube_start_fail {
	unsigned status;
	char msg[3072];
};

/* Launches the halted qube name: the new qube, booting (its start
 * recorded), or NULL with f saying why. Booting may first mean waiting
 * for jobs (a TemplateVM's new root version, the checksum of a changed
 * guest file: qube_boot.h); a failure then reaches its waiters as a
 * start that failed. Who waits for
 * it is the caller's to set. */
struct qube_vm *qube_launch(struct daemon *d, const char *name,
			   struct qube_start_fail *f);

/* Lets the paused qube dv run again (QMP cont) and records it, as `bh
 * unpause` does. 0, or -EIO when QMP does not answer. */
int qube_resume(struct daemon *d, struct qube_vm *dv);

/* At daemon start: starts every qube whose autostart property is True. */
void qube_autostart(struct daemon *d);
/* The daemon is stopping: power a persistent qube off cleanly (the usual
 * deadline, then QMP quit, then SIGKILL). */
void qube_stop_for_exit(struct qube_vm *dv);

/* A client went away: forget it as anyone's waiter, and the command it
 * waited to run. */
void qube_client_gone(struct daemon *d, struct client *c);

/* The persistent qube dv: its agent said HELLO; its QEMU is gone (both
 * called by qube_vm_chan.c and qube_vm_end.c through the daemon's
 * hooks). */
void qube_ready(struct qube_vm *dv);
void qube_stopped(struct qube_vm *dv);

#endif

/* A running qube's end (qube_vm.h): its QEMU and channel process
 * reaped or lost, its deadlines (boot, power-off, the channel
 * process's drain), and the end itself: its bh told, its files
 * removed, dv freed. */
#ifndef BH_DAEMON_QUBE_VM_END_H
#define BH_DAEMON_QUBE_VM_END_H

#include "daemon/core/daemon.h"

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
/* dv's start failed before its QEMU ran (qube_vm_launch.c): its end,
 * with no QEMU to reap. */
void qube_vm_prep_failed(struct qube_vm *dv);

#endif

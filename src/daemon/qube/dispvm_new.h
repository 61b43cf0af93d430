/* How a disposable starts: its name, what it boots from, QEMU started
 * from its disposable template's snapshot or cold. Below the pool
 * (dispvm_pool.h), which makes its preloaded qubes with dispvm_new, and
 * below disposable.c, which takes them. */
#ifndef BH_DAEMON_QUBE_DISPVM_NEW_H
#define BH_DAEMON_QUBE_DISPVM_NEW_H

#include "daemon/core/daemon.h"

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

/* A restore failed before the agent answered: the same qube boots cold
 * (its old QEMU reaped). Returns 0, or <0 with the error recorded. */
int disposable_relaunch_cold(struct qube_vm *dv);

#endif

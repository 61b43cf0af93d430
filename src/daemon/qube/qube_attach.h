/* Qubes that outlive their daemon (issue 12, point 2; docs/architecture.md
 * "Restart").
 *
 * A qube's QEMU and channel process do not die with the daemon: the
 * channel process holds the qube's channel, stops reading it, and waits
 * on RUN_DIR/chan.sock (proto/chan_attach.h). At start-up the next daemon
 * re-attaches to every persistent qube whose QEMU and channel process
 * still run (state/attach_record.h says which they are): it connects new
 * links, watches both processes by pidfd (they are not its children),
 * and carries on where the channel process says the qube is (its agent
 * ready or still booting, the streams left open, which it ends). A
 * disposable is not kept: its bh went with the daemon, so it is
 * destroyed, as when its bh goes. What cannot be re-attached ends as an
 * earlier daemon's leftovers always did (engine/leftover_qemu.h). */
#ifndef BH_DAEMON_QUBE_ATTACH_H
#define BH_DAEMON_QUBE_ATTACH_H

#include "daemon/core/daemon.h"

/* Start-up, with the store open and before the admin socket listens:
 * re-attaches what can be, ends the rest of what an earlier daemon left
 * and removes its runtime folders. Returns 0, or -1 when a QEMU could not
 * be ended (its folder is kept). */
int qube_attach_all(struct daemon *d);

/* Whether qube name runs (re-attached or started): the cgroup of a
 * running qube is not an earlier daemon's leftover. ctx: the daemon. */
int qube_attach_running(const char *name, void *ctx);

/* One of a re-attached qube's pidfds became readable: its QEMU
 * (qemu = 1) or its channel process ended. */
void qube_attach_proc_ended(struct qube_vm *dv, int qemu);

/* The daemon stops with keep_qubes: leaves dv running for the next
 * daemon (its links closed, its files kept, the store untouched), frees
 * it, and returns 1; or returns 0 when dv cannot be kept (a disposable,
 * a qube not yet or no longer running), which the caller then stops. */
int qube_detach(struct qube_vm *dv, const char *why);

#endif

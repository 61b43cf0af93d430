/* bh run QUBE -- CMD (BH_MSG_RUN_QUBE, BH_MSG_RUN_QUBE_NOSTART), as Qubes'
 * qvm-run: a halted qube is started and a paused one unpaused first,
 * unless bh says --no-autostart (then both are refused); a booting one
 * is waited for. The command runs as the user bh named, else as the
 * qube's default_user (run_user.h). Several commands may run in one
 * qube at once, each on its own stream. */
#ifndef BH_DAEMON_QUBE_RUN_H
#define BH_DAEMON_QUBE_RUN_H

#include <stdint.h>

#include "daemon/core/daemon.h"

/* payload: NAME NUL exec-request, from client c. autostart: 1 for
 * BH_MSG_RUN_QUBE, 0 for BH_MSG_RUN_QUBE_NOSTART. */
void qube_run(struct daemon *d, struct client *c, const uint8_t *payload,
	      uint32_t len, int autostart);

/* The persistent qube dv became ready: the commands that waited start. */
void qube_run_ready(struct qube_vm *dv);

/* dv stopped (reason) before it was ready: the commands that waited for
 * it fail, with 124 when it never became ready. */
void qube_run_failed(struct qube_vm *dv, const char *reason);

/* Client c went away: the command it waited to run is dropped. */
void qube_run_client_gone(struct client *c);

#endif

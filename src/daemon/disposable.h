/* What dispvm.c (any running qube) asks of disposable.c (a disposable):
 * its job's start and end, and a cold boot after a failed restore. The
 * disposables' public calls (dispvm_new, dispvm_start, ...) are declared
 * in dispvm.h with the rest. */
#ifndef BH_DAEMON_DISPOSABLE_H
#define BH_DAEMON_DISPOSABLE_H

#include <stdint.h>

#include "daemon/core/daemon.h"

/* dv is ready: its command, if bh run --dispvm gave one, starts on
 * stream 1. Returns 0 or -EPROTO. */
int disposable_start_job(struct qube_vm *dv);
/* dv's job ended (kind, value): it powers off. Returns 0 or -EPROTO. */
int disposable_job_done(struct qube_vm *dv, uint32_t kind, uint32_t value);
/* A restore failed before the agent answered: the same qube boots cold
 * (its old QEMU reaped). Returns 0, or <0 with the error recorded. */
int disposable_relaunch_cold(struct qube_vm *dv);

#endif

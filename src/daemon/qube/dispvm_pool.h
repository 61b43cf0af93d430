/* Preloaded disposables, as Qubes 4.3's preload-dispvm-max feature: for a
 * disposable template whose feature preload-dispvm-max is N (at most
 * POOL_MAX), the daemon keeps N disposables restored from its snapshot,
 * warmed up (their agent has run one program, so TCG has translated that
 * path) and paused. A request takes one: cont, RESUME (clock, entropy,
 * name), HELLO, job; the pool then refills in the background. A preloaded
 * qube whose snapshot has gone stale is destroyed, never handed out. */
#ifndef BH_DAEMON_DISPVM_POOL_H
#define BH_DAEMON_DISPVM_POOL_H

#include "daemon/core/daemon.h"

#define POOL_MAX 8

/* A ready preloaded disposable of dvm, now resuming for its job, or NULL
 * (none, or all stale). */
struct qube_vm *pool_take(struct daemon *d, const char *dvm);

/* Starts preloading until dvm's pool holds preload-dispvm-max qubes
 * (none while there is no valid snapshot to restore); destroys those
 * beyond it when the feature went down. */
void pool_refill(struct daemon *d, const char *dvm);

/* The agent of dv said HELLO. Returns 1 when dv is a preloaded qube that
 * finished warming up (it is now paused, ready), else 0. */
int pool_on_hello(struct qube_vm *dv);

#endif

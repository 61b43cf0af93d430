/* Disposables for bh run --dispvm and for RPC calls (@dispvm): taken from
 * the pool or new (dispvm_new.h), their one job, and the running ones the
 * policy knows. */
#ifndef BH_DAEMON_DISPOSABLE_H
#define BH_DAEMON_DISPOSABLE_H

#include <stdint.h>

#include "daemon/core/daemon.h"

/* dv is ready: its command, if bh run --dispvm gave one, starts on
 * stream 1. Returns 0 or -EPROTO. */
int disposable_start_job(struct qube_vm *dv);
/* dv's job ended (kind, value): it powers off. Returns 0 or -EPROTO. */
int disposable_job_done(struct qube_vm *dv, uint32_t kind, uint32_t value);

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

#endif

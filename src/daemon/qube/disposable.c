/* Disposables (see disposable.h): taken from the pool or started new
 * (dispvm_new.c: their names, what they boot from, how they start), their
 * one job, and the running ones the policy knows. What every running qube
 * shares is qube_vm*.c's (qube_vm.h). */
#include "daemon/qube/disposable.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "daemon/core/client_send.h"
#include "daemon/qube/qube_vm.h"
#include "daemon/qube/dispvm_pool.h"
#include "daemon/qube/dispvm_new.h"
#include "daemon/qube/dispvm_snapshot.h"
#include "daemon/policy/policy.h"
#include "daemon/qube/qube_power.h"
#include "daemon/state/run_user.h"
#include "daemon/store/qube_uuid.h"
#include "daemon/store/store.h"
#include "daemon/relay/streams.h"
#include "lib/log.h"
#include "lib/util.h"
#include "proto/exitcodes.h"

/* The disposable template a disposable without one is made from: the
 * global default_dispvm, or "" (the minimal template, no private volume). */
static void default_dvm(struct daemon *d, char *out, size_t cap)
{
	char err[STORE_ERR_MAX];
	int is_default;

	if (!d->store || store_global_get(d->store, "default_dispvm", out, cap,
					  &is_default, err, sizeof(err)) < 0)
		out[0] = '\0';
}

/* A disposable for a request: a preloaded one when the pool has it,
 * else a new one (then the pool refills). */
static struct qube_vm *new_disposable(struct daemon *d, const char *dvm,
				     int *code, char *err, size_t cap)
{
	struct qube_vm *dv = pool_take(d, dvm);

	if (!dv)
		dv = dispvm_new(d, dvm, 0, code, err, cap);
	pool_refill(d, dvm);
	return dv;
}

void dispvm_start(struct daemon *d, struct client *c, const char *dvm,
		  const uint8_t *req, uint32_t len)
{
	char err[2048], dflt[QUBE_NAME_MAX + 1];
	uint8_t *copy;
	uint32_t copy_len;
	struct qube_vm *dv;
	int code = BH_EXIT_FAILURE;

	if (!dvm) {
		default_dvm(d, dflt, sizeof(dflt));
		dvm = dflt;
	}
	dv = new_disposable(d, dvm, &code, err, sizeof(err));
	if (!dv) {
		client_error(c, code, "%s", err);
		return;
	}
	/* Without --user, the command runs as the default_user of its
	 * disposable template (minimal's for ""), as a Qubes DispVM
	 * inherits it. Read once the DVM is known to exist. */
	code = run_user_request(d, dvm, req, len, &copy, &copy_len, err,
				sizeof(err));
	if (code) {
		client_error(c, code, "%s", err);
		dv->no_fallback = 1;
		qube_vm_kill(dv);
		return;
	}
	dv->exec_req = copy;
	dv->exec_len = copy_len;
	dv->client = c;
	c->dv = dv;
}

struct qube_vm *dispvm_for_call(struct daemon *d, const char *dvm, char *err,
				size_t cap)
{
	int code;

	return new_disposable(d, dvm, &code, err, cap);
}

/* A disposable's command goes out on stream 1 once it is ready. */
int disposable_start_job(struct qube_vm *dv)
{
	int r;

	if (!dv->exec_req || !dv->client) {
		/* Made for a call: its services start when the calls that
		 * wait for it are joined (rpc_target_ready). */
		return 0;
	}
	r = qs_start_run(dv, 1, dv->client, dv->exec_req, dv->exec_len);
	free(dv->exec_req);
	dv->exec_req = NULL;
	dv->job_stream = 1;
	return r < 0 ? -EPROTO : 0;
}

/* The disposable's job is over: the guest has sent everything; let it
 * go. */
int disposable_job_done(struct qube_vm *dv, uint32_t kind, uint32_t value)
{
	dv->have_exit = 1;
	dv->exit_kind = kind;
	dv->exit_value = value;
	dv->state = DV_STOPPING;
	dv->deadline_ms = bh_now_ms() + DISPVM_POWEROFF_MS;
	return bh_chan_send(&dv->chan, BH_MSG_POWEROFF, 0, NULL, 0) < 0
		       ? -EPROTO
		       : 0;
}

/* The disposables the policy knows: not preloaded ones, which are
 * nobody's yet and call nothing. */
static int policy_knows(const struct qube_vm *dv)
{
	return !dv->persistent && !dv->pooled;
}

int dispvm_running_named(struct daemon *d, const char *name)
{
	struct qube_vm *dv;

	for (dv = d->qubes; dv; dv = dv->next)
		if (policy_knows(dv) && !strcmp(dv->name, name))
			return 1;
	return 0;
}

int dispvm_policy_add(struct daemon *d, struct policy_system *sys)
{
	struct policy_qube *v;
	struct qube_vm *dv;
	size_t n = 0;
	int r;

	for (dv = d->qubes; dv; dv = dv->next)
		n += (size_t)policy_knows(dv);
	if (!n)
		return 0;
	v = calloc(n, sizeof(*v));
	if (!v)
		return -ENOMEM;
	n = 0;
	for (dv = d->qubes; dv; dv = dv->next)
		if (policy_knows(dv))
			v[n++] = (struct policy_qube){
				.name = dv->name,
				.cls = "DispVM",
				.dispvm_base = dv->dvm,
				.running = 1,
				.uuid = dv->uuid,
				.no_target = 1,
			};
	r = policy_system_add(sys, v, n);
	free(v);
	return r;
}

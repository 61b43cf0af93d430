/* bh run QUBE (see qube_run.h). */
#include "daemon/qube/qube_run.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/core/client_send.h"
#include "daemon/qube/qube_vm.h"
#include "daemon/qube/qube_power.h"
#include "daemon/state/run_user.h"
#include "daemon/store/store.h"
#include "daemon/relay/streams.h"
#include "lib/log.h"
#include "proto/exec_req.h"
#include "proto/exitcodes.h"

/* bh run's exit code for a start that failed with status: bh's own
 * codes as they are; a qube that does not exist or a bad setting is a
 * usage error (120, as --dispvm=DVM's), anything else the qube's
 * failure (125). */
static int run_code(unsigned status)
{
	if (status >= BH_EXIT_USAGE && status <= BH_EXIT_NOTFOUND)
		return (int)status;
	if (status == BH_ADMIN_NOSUCH || status == BH_ADMIN_INVALID)
		return BH_EXIT_USAGE;
	return BH_EXIT_FAILURE;
}

/* Starts the command (its user added) for c in dv, which is ready. */
static void run_now(struct qube_vm *dv, struct client *c, const uint8_t *req,
		    uint32_t len)
{
	if (qs_start_run(dv, 0, c, req, len) < 0)
		client_error(c, BH_EXIT_FAILURE,
			     "qube %s runs %u streams already; try again when "
			     "some have ended",
			     dv->name, BH_MAX_STREAMS);
}

void qube_run(struct daemon *d, struct client *c, const uint8_t *payload,
	      uint32_t len, int autostart)
{
	const uint8_t *nul = memchr(payload, '\0', len);
	char name[64], err[3072];
	struct qube_start_fail f;
	struct qube_info q;
	struct bh_exec_req req;
	struct qube_vm *dv;
	uint8_t *full;
	uint32_t full_len;
	size_t n;
	int code;

	if (!nul || (n = (size_t)(nul - payload)) == 0 || n >= sizeof(name)) {
		client_error(c, BH_EXIT_USAGE, "malformed run request");
		return;
	}
	memcpy(name, payload, n + 1);
	if (bh_exec_req_parse(nul + 1, len - (uint32_t)n - 1, &req) < 0) {
		client_error(c, BH_EXIT_USAGE, "malformed run request");
		return;
	}
	bh_exec_req_free(&req);
	code = store_qube_get(d->store, name, &q, err, sizeof(err));
	if (code < 0) {
		/* As --dispvm=DVM: a qube that does not exist is usage. */
		client_error(c, code == -ENOENT ? BH_EXIT_USAGE
						: BH_EXIT_FAILURE,
			     "%s%s", err,
			     code == -ENOENT ? "; `bh ls` lists the qubes" : "");
		return;
	}
	dv = qube_find_running(d, name);
	/* As qvm-run: a halted qube is started and a paused one unpaused,
	 * unless told not to (--no-autostart). */
	if (!dv && !autostart) {
		client_error(c, BH_EXIT_FAILURE,
			     "qube %s is not running; start it with `bh start "
			     "%s`, or leave out --no-autostart",
			     name, name);
		return;
	}
	if (dv && dv->state == DV_STOPPING) {
		client_error(c, BH_EXIT_FAILURE,
			     "qube %s is shutting down; run the command once "
			     "it has halted (`bh shutdown --wait %s` waits "
			     "for that)",
			     name, name);
		return;
	}
	if (dv && dv->paused && !autostart) {
		client_error(c, BH_EXIT_FAILURE,
			     "qube %s is paused; unpause it with `bh unpause "
			     "%s`, or leave out --no-autostart",
			     name, name);
		return;
	}
	code = run_user_request(d, name, nul + 1, len - (uint32_t)n - 1, &full,
				&full_len, err, sizeof(err));
	if (code) {
		client_error(c, code, "%s", err);
		return;
	}
	if (!dv) {
		dv = qube_launch(d, name, &f);
		if (!dv) {
			client_error(c, run_code(f.status), "%s", f.msg);
			free(full);
			return;
		}
		LOG_INFO("%s: started for bh run", name);
	} else if (dv->paused) {
		LOG_INFO("%s: unpaused for bh run", name);
	}
	if (dv->paused && qube_resume(d, dv) < 0) {
		client_error(c, BH_EXIT_FAILURE,
			     "qube %s is paused and its QMP is not answering; "
			     "see `bh log %s`",
			     name, name);
		free(full);
		return;
	}
	if (dv->state == DV_BOOTING) {
		/* Its stdin waits in the socket until qube_ready. */
		c->run_wait = dv;
		c->run_req = full;
		c->run_len = full_len;
		return;
	}
	run_now(dv, c, full, full_len);
	free(full);
}

/* Forgets what client c waited to run. */
static void run_forget(struct client *c)
{
	free(c->run_req);
	c->run_req = NULL;
	c->run_len = 0;
	c->run_wait = NULL;
}

void qube_run_ready(struct qube_vm *dv)
{
	struct client *c;

	for (c = dv->d->clients; c; c = c->next) {
		if (c->run_wait != dv)
			continue;
		c->run_wait = NULL;
		run_now(dv, c, c->run_req, c->run_len);
		run_forget(c);
	}
}

void qube_run_failed(struct qube_vm *dv, const char *reason)
{
	struct client *c;

	for (c = dv->d->clients; c; c = c->next) {
		if (c->run_wait != dv)
			continue;
		run_forget(c);
		if (dv->err_code)
			client_error(c, dv->err_code, "%s", dv->err_msg);
		else
			client_error(c, BH_EXIT_FAILURE,
				     "qube %s stopped while starting (%s)",
				     dv->name, reason);
	}
}

void qube_run_client_gone(struct client *c)
{
	run_forget(c);
}

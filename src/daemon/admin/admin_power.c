/* admin.vm.Start, Shutdown, Kill, Pause, Unpause: handlers of the admin
 * method table (admin_handlers.h) on persistent qubes' power
 * (qube/qube_power.h). Start's reply comes once the agent is ready,
 * Shutdown's with ARG "wait" and Kill's once QEMU is gone: the qube's
 * waiter, which qube_power.c answers. */
#include <string.h>

#include "daemon/admin/admin_handlers.h"
#include "daemon/core/client_send.h"
#include "daemon/qube/qube_vm.h"
#include "daemon/state/attach_record.h"
#include "daemon/qube/qube_power.h"
#include "lib/util.h"
#include "proto/admin.h"
#include "proto/exitcodes.h"

#define reply admin_send_replyf

unsigned admin_vm_shutdown(const struct admin_req *q, struct admin_reply *r)
{
	struct daemon *d = q->d;
	const char *name = q->dest;
	struct qube_vm *dv = qube_find_running(d, name);

	if (!dv)
		return reply_fail(r, BH_ADMIN_REFUSED,
				  "qube %s is not running", name);
	if (dv->state == DV_BOOTING)
		return reply_fail(r, BH_ADMIN_REFUSED,
				  "qube %s is still starting; wait for it, or "
				  "kill it",
				  name);
	if (dv->waiter)
		return reply_fail(r, BH_ADMIN_REFUSED,
				  "qube %s is already stopping", name);
	dv->stop_reason = "shut down";
	if (dv->paused) {
		qmp_command(&dv->qmp, "cont");
		dv->paused = 0;
	}
	bh_chan_send(&dv->chan, BH_MSG_POWEROFF, 0, NULL, 0);
	dv->state = DV_STOPPING;
	dv->deadline_ms = bh_now_ms() + QUBE_SHUTDOWN_MS;
	qube_power_record(d, name, "Transient", "shutting down");
	if (strcmp(q->arg, "wait"))
		return 0;
	dv->waiter = q->c; /* answered once QEMU is reaped */
	return ADMIN_PENDING;
}

unsigned admin_vm_kill(const struct admin_req *q, struct admin_reply *r)
{
	const char *name = q->dest;
	struct qube_vm *dv = qube_find_running(q->d, name);

	if (!dv)
		return reply_fail(r, BH_ADMIN_REFUSED,
				  "qube %s is not running", name);
	dv->stop_reason = "killed";
	qube_vm_kill(dv);
	if (dv->waiter && dv->waiter != q->c)
		reply(dv->waiter, BH_ADMIN_FAILED, "qube %s was killed", name);
	dv->waiter = q->c; /* answered once QEMU is reaped */
	return ADMIN_PENDING;
}

static unsigned pause_call(const struct admin_req *q, struct admin_reply *r,
			   int pause)
{
	const char *name = q->dest;
	struct qube_vm *dv = qube_find_running(q->d, name);

	if (!dv || dv->state != DV_RUNNING)
		return reply_fail(r, BH_ADMIN_REFUSED,
				  "qube %s is not running", name);
	if (dv->paused == pause)
		return reply_fail(r, BH_ADMIN_REFUSED, "qube %s is %s", name,
				  pause ? "already paused" : "not paused");
	if (qmp_command(&dv->qmp, pause ? "stop" : "cont") < 0)
		return reply_fail(r, BH_ADMIN_FAILED,
				  "QMP of %s is not answering", name);
	dv->paused = pause;
	/* For a daemon that re-attaches to it (qube_attach.h). */
	attach_record_set_paused(dv->run_dir, pause);
	qube_power_record(q->d, name, pause ? "Paused" : "Running", "");
	return 0;
}

unsigned admin_vm_pause(const struct admin_req *q, struct admin_reply *r)
{
	return pause_call(q, r, 1);
}

unsigned admin_vm_unpause(const struct admin_req *q, struct admin_reply *r)
{
	return pause_call(q, r, 0);
}

unsigned admin_vm_start(const struct admin_req *q, struct admin_reply *r)
{
	struct qube_start_fail f;
	struct qube_vm *dv = qube_launch(q->d, q->dest, &f);

	if (!dv)
		return reply_fail(r, f.status, "%s", f.msg);
	dv->waiter = q->c; /* answered once the agent is ready */
	return ADMIN_PENDING;
}

/* admin.daemon.Stop and admin.daemon.Info: the daemon itself, for `bh
 * daemon stop|restart|status` (src/cli/cmd_daemon.c). Stop asks what
 * SIGTERM asks (main.c ends the loop once d->stopping is set and the
 * qubes are down), or, with ARG keep-qubes, to leave the running qubes
 * to the next daemon (d->keep_qubes). Its reply is queued before the loop
 * winds down, and main.c's wind_down flushes every client before the
 * daemon exits, so bh gets it. */
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon/admin/admin_handlers.h"
#include "daemon/core/daemon.h"
#include "daemon/core/sd_notify.h"
#include "lib/log.h"

#define KEEP_QUBES "keep-qubes"

/* Who made the call, for the log: SO_PEERCRED of its connection. */
static void peer(const struct admin_req *q, int *pid, unsigned *uid)
{
	struct ucred cr = { 0 };
	socklen_t len = sizeof(cr);

	*pid = -1;
	*uid = (unsigned)-1;
	if (q->c &&
	    getsockopt(q->c->chan.fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) == 0) {
		*pid = (int)cr.pid;
		*uid = (unsigned)cr.uid;
	}
}

unsigned admin_daemon_stop(const struct admin_req *q, struct admin_reply *r)
{
	struct daemon *d = q->d;
	unsigned uid;
	int keep, pid;

	if (q->dest[0])
		return reply_fail(r, BH_ADMIN_INVALID,
				  "admin.daemon.Stop takes no DEST");
	if (!q->arg[0])
		keep = 0;
	else if (!strcmp(q->arg, KEEP_QUBES))
		keep = 1;
	else
		return reply_fail(r, BH_ADMIN_INVALID,
				  "admin.daemon.Stop takes ARG \"\" (stop and "
				  "shut the qubes down) or \"" KEEP_QUBES
				  "\" (leave them running), not \"%.64s\"",
				  q->arg);
	if (q->body[0])
		return reply_fail(r, BH_ADMIN_INVALID,
				  "admin.daemon.Stop takes no BODY");
	if (d->stopping) {
		/* Once the qubes are being shut down, they cannot be left
		 * running; nor the other way round. */
		if (keep != d->keep_qubes)
			return reply_fail(r, BH_ADMIN_REFUSED,
					  "bulkheadd is already stopping, %s",
					  d->keep_qubes
						  ? "leaving its qubes running"
						  : "shutting its qubes down");
		return 0;
	}
	peer(q, &pid, &uid);
	LOG_INFO("stopping: admin.daemon.Stop%s from pid %d (uid %u)",
		 keep ? " " KEEP_QUBES : "", pid, uid);
	sd_notify_send("STOPPING=1");
	d->keep_qubes = keep;
	d->stopping = 1;
	return 0;
}

/* 1 when this process runs in bulkheadd.service's control group. */
static int under_unit(void)
{
	char line[512];
	FILE *f = fopen("/proc/self/cgroup", "re");
	int found = 0;

	while (f && !found && fgets(line, sizeof(line), f))
		found = strstr(line, "/bulkheadd.service") != NULL;
	if (f)
		fclose(f);
	return found;
}

unsigned admin_daemon_info(const struct admin_req *q, struct admin_reply *r)
{
	struct daemon *d = q->d;
	struct qube_vm *dv;
	struct job *j;
	unsigned n = 0, jobs = 0;

	if (q->dest[0] || q->arg[0] || q->body[0])
		return reply_fail(r, BH_ADMIN_INVALID,
				  "admin.daemon.Info takes no DEST, ARG or "
				  "BODY");
	for (dv = d->qubes; dv; dv = dv->next)
		n++;
	for (j = d->jobs; j; j = j->next)
		jobs++;
	/* pid: bulkheadd's, the root parent's (bulkheadd.pid); control is
	 * the process that answers. */
	reply_add(r, "pid=%d\n", (int)d->priv_pid);
	reply_add(r, "control_pid=%d\n", (int)getpid());
	reply_add(r, "control_restarts=%u\n", d->control_restarts);
	reply_add(r, "root=%s\n", d->paths.root[0] ? d->paths.root : "/");
	reply_add(r, "started_by=%s\n", under_unit() ? "systemd" : "direct");
	reply_add(r, "stopping=%s\n",
		  !d->stopping	   ? "no"
		  : d->keep_qubes ? KEEP_QUBES
				  : "yes");
	reply_add(r, "qubes_running=%u\n", n);
	reply_add(r, "running=");
	for (dv = d->qubes; dv; dv = dv->next)
		reply_add(r, "%s%s", dv == d->qubes ? "" : " ", dv->name);
	reply_add(r, "\n");
	reply_add(r, "jobs=%u\n", jobs);
	if (r->overflow)
		return reply_too_long(r, "daemon report");
	return 0;
}

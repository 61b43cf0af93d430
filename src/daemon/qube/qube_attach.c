/* Re-attaching to the qubes an earlier daemon left running, and leaving
 * them to the next one (qube_attach.h). */
#include "daemon/qube/qube_attach.h"

#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "daemon/core/client_send.h"
#include "daemon/engine/chan_proc.h"
#include "daemon/engine/leftover_qemu.h"
#include "daemon/qube/qube_vm.h"
#include "daemon/qube/qube_vm_end.h"
#include "daemon/qube/qube_vm_launch.h"
#include "daemon/qube/qube_power.h"
#include "daemon/relay/dataport.h"
#include "daemon/relay/streams.h"
#include "daemon/state/attach_record.h"
#include "daemon/state/qube_paths.h"
#include "daemon/store/qube_name.h"
#include "lib/log.h"
#include "lib/util.h"
#include "proto/exitcodes.h"

/* Folders an earlier daemon may have left: as leftover_qemu.c. */
#define ATTACH_SCAN_MAX 512

/* The template folder and root version a running TemplateVM writes, as
 * recorded: only its own folder, and a version file in it. */
static int tmpl_paths_ok(struct daemon *d, const char *name,
			 const struct attach_record *rec)
{
	char dir[4096];
	size_t n;

	if (!rec->tmpl_dir[0])
		return 1;
	if (qube_template_dir(d->paths.state, name, dir, sizeof(dir)) < 0 ||
	    strcmp(dir, rec->tmpl_dir))
		return 0;
	n = strlen(dir);
	return !strncmp(rec->tmpl_work, dir, n) &&
	       !strncmp(rec->tmpl_work + n, "/root-", 6) &&
	       !strchr(rec->tmpl_work + n + 1, '/');
}

/* Re-attaches the qube of folder name. 0 when it runs again under this
 * daemon; else -1 with why set, and nothing of it kept. */
static int adopt(struct daemon *d, const char *name, const char *run_dir,
		 char *why, size_t cap)
{
	struct attach_record rec;
	struct qube_info qi;
	struct qube_vm *dv;
	uint32_t ports[ATTACH_PORTS_MAX];
	size_t nports;
	char sock[4200], err[512];
	int qfd = -1, cfd = -1, link = -1, qmp = -1, r;
	pid_t qpid = 0, cpid = 0;

	r = attach_record_read(run_dir, &rec);
	if (r < 0) {
		snprintf(why, cap, "%s", r == -ENOENT
						 ? "no record for a restart"
						 : "its record is unreadable");
		return -1;
	}
	if (!rec.persistent) {
		snprintf(why, cap, "a disposable, whose bh went with the "
				   "earlier daemon");
		return -1;
	}
	if (qube_name_check(name, err, sizeof(err)) < 0 ||
	    store_qube_get(d->store, name, &qi, err, sizeof(err)) < 0) {
		snprintf(why, cap, "no such qube in the store");
		return -1;
	}
	if (!tmpl_paths_ok(d, name, &rec)) {
		snprintf(why, cap, "its record names another template's files");
		return -1;
	}
	/* Ports that would stay plugged, unknown, for as long as the qube
	 * runs: not re-attached rather than that. */
	if (attach_record_read_ports(run_dir, ports, &nports) < 0) {
		snprintf(why, cap, "its record of data ports is unreadable");
		return -1;
	}
	if (d->priv.fd >= 0) {
		/* Its pids checked, its channel process reached as the uid
		 * that started it, and kept where KILL finds it: by
		 * bulkheadd's parent (priv/priv_link.h). */
		struct priv_attached at;

		if (priv_link_attach(&d->priv, name, &at, err, sizeof(err)) <
		    0) {
			snprintf(why, cap, "%s", err);
			return -1;
		}
		qfd = at.qemu_pidfd;
		cfd = at.chan_pidfd;
		qpid = at.qemu;
		cpid = at.chan;
		link = at.link_fd;
		qmp = at.qmp_fd;
	} else {
		/* No parent: unit tests. */
		qfd = pid_file_open(run_dir, QEMU_PID_FILE, &qpid);
		cfd = pid_file_open(run_dir, CHAN_PID_FILE, &cpid);
		if (qfd < 0 || cfd < 0) {
			snprintf(why, cap, "its %s no longer runs",
				 qfd < 0 ? "QEMU" : "channel process");
			goto fail;
		}
		if (bh_path_fmt(sock, sizeof(sock), "%s/" CHAN_SOCK_FILE,
				run_dir) ||
		    chan_attach_connect(sock, &link, &qmp, err, sizeof(err)) <
			    0) {
			snprintf(why, cap,
				 "its channel process cannot be reached: %s",
				 err);
			goto fail;
		}
	}
	dv = calloc(1, sizeof(*dv));
	if (!dv) {
		snprintf(why, cap, "out of memory");
		close(link);
		close(qmp);
		goto fail;
	}
	/* Both fit: the name is a checked qube name, the folder is the
	 * one qube_vm_launch made for it. */
	if (bh_path_fmt(dv->name, sizeof(dv->name), "%s", name) ||
	    bh_path_fmt(dv->run_dir, sizeof(dv->run_dir), "%s", run_dir)) {
		snprintf(why, cap, "its folder's path is too long");
		free(dv);
		close(link);
		close(qmp);
		goto fail;
	}
	snprintf(dv->tmpl_dir, sizeof(dv->tmpl_dir), "%s", rec.tmpl_dir);
	snprintf(dv->tmpl_work, sizeof(dv->tmpl_work), "%s", rec.tmpl_work);
	dv->persistent = 1;
	dv->adopted = 1;
	dv->qemu_pidfd = qfd;
	dv->chan_pidfd = cfd;
	dv->vm.pid = qpid;
	dv->chan_pid = cpid;
	dv->vm.chan_fd = link;
	dv->vm.qmp_fd = qmp;
	dv->vm.console_fd = dv->vm.log_fd = -1;
	dv->snap_fd = -1;
	dv->paused = attach_record_paused(run_dir);
	qube_vm_go_live(d, dv);
	/* Until BH_MSG_CHAN_ATTACH: then the boot's (qube_vm_chan.c). */
	dv->deadline_ms = dv->started_ms + CHAN_ATTACH_REPLY_MS;
	dataport_adopt(dv, ports, nports);
	qube_power_record(d, name, "Transient", "re-attaching");
	LOG_INFO("%s: re-attaching (QEMU pid %d, channel process pid %d%s%s)",
		 name, (int)qpid, (int)cpid, dv->paused ? ", paused" : "",
		 nports ? ", with data ports of the earlier daemon" : "");
	return 0;
fail:
	if (qfd >= 0)
		close(qfd);
	if (cfd >= 0)
		close(cfd);
	return -1;
}

/* A folder whose qube is not re-attached: its channel process is ended
 * (the guest's channel closes, so its agent powers off), and so is a
 * disposable's QEMU, whose contents go anyway; leftover_qemus_end waits
 * for the others. */
static void let_go(struct daemon *d, const char *name, const char *run_dir)
{
	struct attach_record rec;
	pid_t pid;
	int fd;

	if (d->priv.fd >= 0) {
		/* By bulkheadd's parent: the processes run as uids of
		 * their own. */
		struct bh_priv_msg m;

		memset(&m, 0, sizeof(m));
		m.type = BH_PRIV_LET_GO;
		bh_priv_field_set(m.u.let_go.name, BH_PRIV_NAME_MAX, name);
		if (attach_record_read(run_dir, &rec) == 0 && !rec.persistent)
			m.u.let_go.flags = BH_PRIV_LET_GO_QEMU;
		if (priv_link_call(&d->priv, &m, PRIV_LAUNCH_REPLY_MS) < 0)
			LOG_WARN("%.64s: bulkheadd's parent could not end what "
				 "is left of it",
				 name);
		return;
	}

	fd = pid_file_open(run_dir, CHAN_PID_FILE, &pid);
	if (fd >= 0) {
		syscall(SYS_pidfd_send_signal, fd, SIGKILL, NULL, 0);
		close(fd);
	}
	if (attach_record_read(run_dir, &rec) == 0 && !rec.persistent) {
		fd = pid_file_open(run_dir, QEMU_PID_FILE, &pid);
		if (fd >= 0) {
			syscall(SYS_pidfd_send_signal, fd, SIGKILL, NULL, 0);
			close(fd);
		}
	}
}

int qube_attach_running(const char *name, void *ctx)
{
	struct daemon *d = ctx;
	struct qube_vm *dv;

	for (dv = d->qubes; dv; dv = dv->next)
		if (!strcmp(dv->name, name))
			return 1;
	return 0;
}

/* Every folder of dir that no running qube holds goes. */
static void remove_leftover_folders(struct daemon *d, const char *dir)
{
	char path[4500];
	struct dirent *e;
	DIR *dp = opendir(dir);
	int n = 0;

	if (!dp)
		return;
	while ((e = readdir(dp))) {
		if (e->d_name[0] == '.' || qube_attach_running(e->d_name, d) ||
		    bh_path_fmt(path, sizeof(path), "%s/%s", dir, e->d_name))
			continue;
		if (bh_rm_rf(path) == 0)
			n++;
	}
	closedir(dp);
	if (n)
		LOG_INFO("removed the runtime files of %d qube(s) an earlier "
			 "daemon left",
			 n);
}

int qube_attach_all(struct daemon *d)
{
	char dir[4200], path[4500];
	struct dirent *e;
	DIR *dp;
	int seen = 0, kept = 0;

	d->hooks->snapshot_cleanup_stale(d);
	if (bh_path_fmt(dir, sizeof(dir), "%s/qubes", d->paths.run) ||
	    !(dp = opendir(dir)))
		return 0;
	while ((e = readdir(dp)) && seen < ATTACH_SCAN_MAX) {
		char why[700];

		if (e->d_name[0] == '.' ||
		    bh_path_fmt(path, sizeof(path), "%s/%s", dir, e->d_name))
			continue;
		seen++;
		if (adopt(d, e->d_name, path, why, sizeof(why)) == 0) {
			kept++;
			continue;
		}
		LOG_INFO("%.64s: not re-attached (%s)", e->d_name, why);
		let_go(d, e->d_name, path);
	}
	closedir(dp);
	if (kept)
		LOG_INFO("re-attached %d qube(s) of an earlier daemon", kept);
	if (d->priv.fd >= 0) {
		/* The parent waits for them (and ends them) as root. */
		struct bh_priv_msg m;

		memset(&m, 0, sizeof(m));
		m.type = BH_PRIV_LEFTOVERS;
		m.u.leftovers.timeout_ms = LEFTOVER_POWEROFF_MS;
		if (priv_link_call(&d->priv, &m,
				   LEFTOVER_POWEROFF_MS + LEFTOVER_KILL_MS +
					   PRIV_LAUNCH_REPLY_MS) < 0)
			return -1;
	} else if (leftover_qemus_end(dir, LEFTOVER_POWEROFF_MS,
				      qube_attach_running, d) < 0) {
		return -1;
	}
	remove_leftover_folders(d, dir);
	return 0;
}

void qube_attach_proc_ended(struct qube_vm *dv, int qemu)
{
	struct pollfd p = { dv->qemu_pidfd, POLLIN, 0 };

	/* Neither is our child: their exit statuses went to whoever
	 * reaped them. A channel process ends by itself only after QEMU
	 * has (it has closed everything), so one that ends while QEMU
	 * runs was killed or failed: the qube ends, as when the daemon's
	 * own child does (qube_vm_chan_lost). QEMU's end is looked at
	 * first: its slot comes first, and when both ended since the last
	 * round, the channel process's waits for the next one. */
	if (!qemu && dv->vm_alive && dv->qemu_pidfd >= 0 && poll(&p, 1, 0) == 1)
		return;
	if (qemu) {
		close(dv->qemu_pidfd);
		dv->qemu_pidfd = -1;
		qube_vm_reaped(dv, 0);
		return;
	}
	close(dv->chan_pidfd);
	dv->chan_pidfd = -1;
	qube_vm_chan_lost(dv);
}

int qube_detach(struct qube_vm *dv, const char *why)
{
	struct daemon *d = dv->d;
	size_t i;

	if (!dv->persistent || !dv->vm_alive || dv->qemu_ended ||
	    dv->link_eof || dv->state == DV_STOPPING || !dv->chan_pid)
		return 0;
	if (dv->waiter) {
		admin_send_replyf(dv->waiter, BH_ADMIN_FAILED,
				  "bulkheadd restarted while %s started; see "
				  "`bh ls`",
				  dv->name);
		dv->waiter = NULL;
	}
	/* A command bh runs goes on in the qube: its bh is told so
	 * (qs_qube_gone would say the qube stopped). */
	for (i = 0; i < BH_MAX_STREAMS; i++) {
		struct qstream *s = &dv->streams[i];
		struct client *c = s->client;

		if (!s->id || !c)
			continue;
		c->dv = NULL;
		c->sid = 0;
		client_error(c, BH_EXIT_FAILURE,
			     "bulkheadd restarted; the command goes on in qube "
			     "%s, but its input and output end here",
			     dv->name);
		s->client = NULL;
	}
	d->hooks->rpc_ask_caller_gone(d, dv);
	/* Before qs_qube_gone, which would unplug the other ends: the next
	 * daemon unplugs both, by the records. */
	dataport_qube_left(dv);
	qs_qube_gone(dv, "bulkheadd restarted; the qube still runs");
	qube_log_flush(&dv->log_limit, dv->name, 1);
	/* The channel process sees its links close and waits for the next
	 * daemon. */
	close(dv->vm.chan_fd);
	close(dv->vm.qmp_fd);
	LOG_INFO("%s: left running for the next daemon (%s)", dv->name, why);
	qube_vm_unlink_free(dv);
	return 1;
}

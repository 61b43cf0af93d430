#include "daemon/qube/dispvm.h"
#include "daemon/jobs/job.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon/core/client_send.h"
#include "daemon/relay/dataport.h"
#include "daemon/engine/chan_proc.h"
#include "daemon/engine/jail.h"
#include "daemon/engine/leftover_qemu.h"
#include "daemon/policy/policy.h"
#include "daemon/state/attach_record.h"
#include "daemon/state/run_user.h"
#include "daemon/store/store.h"
#include "daemon/relay/streams.h"
#include "daemon/disk/volume.h"
#include "lib/log.h"
#include "lib/util.h"
#include "proto/exitcodes.h"

/* The end of a file is all we show: read at most this much of it. */
#define TAIL_READ_MAX (64 * 1024)

void tail_escaped(const char *path, int lines, char *out, size_t cap)
{
	char *text = malloc(TAIL_READ_MAX);
	size_t len = 0, start, o = 0;
	struct stat st;
	int seen = 0, fd;
	ssize_t n;

	out[0] = '\0';
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (!text || fd < 0 || fstat(fd, &st) < 0)
		goto out;
	n = pread(fd, text, TAIL_READ_MAX,
		  st.st_size > TAIL_READ_MAX ? st.st_size - TAIL_READ_MAX : 0);
	if (n <= 0)
		goto out;
	len = (size_t)n;
	start = len;
	while (start > 0) {
		if (text[start - 1] == '\n' && start != len && ++seen >= lines)
			break;
		start--;
	}
	for (; start < len && o + 5 < cap; start++) {
		unsigned char ch = (unsigned char)text[start];

		if (ch == '\n' || (ch >= 0x20 && ch < 0x7f)) {
			out[o++] = (char)ch;
		} else if (ch != '\r') {
			snprintf(out + o, cap - o, "\\x%02x", ch);
			o += 4;
		}
	}
	out[o] = '\0';
out:
	if (fd >= 0)
		close(fd);
	free(text);
}

/* Records the first failure of a run; later ones are consequences. */
void qube_vm_error(struct qube_vm *dv, int code, const char *fmt, ...)
{
	va_list ap;

	if (dv->err_code)
		return;
	dv->err_code = code;
	va_start(ap, fmt);
	vsnprintf(dv->err_msg, sizeof(dv->err_msg), fmt, ap);
	va_end(ap);
	LOG_WARN("%s: %s", dv->name, dv->err_msg);
}

/* A re-attached qube's QEMU and channel process are not our children:
 * their pidfds name them, so a pid reused since is never signalled. */
static void signal_proc(int pidfd, pid_t pid, int sig)
{
	if (pidfd >= 0)
		syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
	else if (pid > 0)
		kill(pid, sig);
}

void qube_vm_signal_qemu(struct qube_vm *dv, int sig)
{
	signal_proc(dv->adopted ? dv->qemu_pidfd : -1, dv->vm.pid, sig);
}

static void signal_chan(struct qube_vm *dv, int sig)
{
	signal_proc(dv->adopted ? dv->chan_pidfd : -1, dv->chan_pid, sig);
}

void qube_vm_kill(struct qube_vm *dv)
{
	/* Still waiting for its private volume: no QEMU yet. */
	if (dv->prep_job)
		job_cancel(dv->prep_job, "the qube was stopped before QEMU "
					 "started");
	if (dv->vm_alive && !dv->kill_sent) {
		qube_vm_signal_qemu(dv, SIGKILL);
		dv->kill_sent = 1;
	}
	dv->state = DV_STOPPING;
}

void qube_vm_abort(struct qube_vm *dv, const char *why)
{
	dv->no_fallback = 1;
	if (dv->persistent && !dv->stop_reason)
		dv->stop_reason = why;
	if (qube_vm_live(dv) && !dv->have_exit)
		qube_vm_error(dv, BH_EXIT_FAILURE, "%s; qube %s was destroyed", why,
			 dv->name);
	qube_vm_kill(dv);
}

/* Asks QEMU to go: the guest already powers off on its own after its job,
 * so this is for failures. */
static void dv_destroy(struct qube_vm *dv)
{
	qube_vm_kill(dv);
}

static int check_space(const char *dir, char *err, size_t cap)
{
	struct statvfs s;
	unsigned long long free_mb;

	if (statvfs(dir, &s) < 0)
		return 0; /* reported when writing */
	free_mb = (unsigned long long)s.f_bavail * s.f_frsize >> 20;
	if (free_mb >= DISPVM_MIN_FREE_MB)
		return 0;
	snprintf(err, cap,
		 "not enough space in %.1500s for a qube's files: %llu MiB free, "
		 "%u MiB needed; free some space there",
		 dir, free_mb, DISPVM_MIN_FREE_MB);
	return -ENOSPC;
}

/* A qube's start waiting for the copy of its private volume (a job):
 * the spec qube_vm_launch was given, with copies of what it points to,
 * for launch_qemu once the copy is whole. */
struct launch_wait {
	struct qube_spec spec;
	char *kernel, *initramfs, *root, *kopts, *cmdline_name;
	char path[4200]; /* the copy, in the runtime folder */
	char priv[PATH_MAX];
	int64_t t0;
};

static void launch_wait_free(struct launch_wait *w)
{
	if (!w)
		return;
	if (w->spec.restore_fd > 0)
		close(w->spec.restore_fd);
	free(w->kernel);
	free(w->initramfs);
	free(w->root);
	free(w->kopts);
	free(w->cmdline_name);
	free(w);
}

static int dup_str(char **out, const char *s)
{
	*out = NULL;
	if (!s)
		return 0;
	*out = strdup(s);
	return *out ? 0 : -ENOMEM;
}

/* A deep copy of spec: the caller's strings and restore fd go when
 * qube_vm_launch returns. */
static struct launch_wait *wait_new(const struct qube_spec *spec)
{
	struct launch_wait *w = calloc(1, sizeof(*w));

	if (!w)
		return NULL;
	w->spec = *spec;
	w->spec.restore_fd = -1;
	if (dup_str(&w->kernel, spec->kernel) ||
	    dup_str(&w->initramfs, spec->initramfs) ||
	    dup_str(&w->root, spec->root_img) ||
	    dup_str(&w->kopts, spec->kernelopts) ||
	    dup_str(&w->cmdline_name, spec->cmdline_name) ||
	    (spec->restore_fd > 0 &&
	     (w->spec.restore_fd = fcntl(spec->restore_fd, F_DUPFD_CLOEXEC,
					 3)) < 0)) {
		launch_wait_free(w);
		return NULL;
	}
	w->spec.kernel = w->kernel;
	w->spec.initramfs = w->initramfs;
	w->spec.root_img = w->root;
	w->spec.kernelopts = w->kopts;
	w->spec.cmdline_name = w->cmdline_name;
	return w;
}

static int launch_qemu(struct daemon *d, struct qube_vm *dv,
		       struct qube_spec *spec, char *err, size_t cap);
static void report_and_free(struct qube_vm *dv);
static void record_for_next_daemon(struct qube_vm *dv);

/* The qube's channel process, once QEMU runs: it takes the qube's
 * channel, QMP, console and QEMU's output (and the two logs, which the
 * caller closes either way), and the
 * daemon keeps its two links to it in their place (vm.chan_fd: frames;
 * vm.qmp_fd: QMP records and commands; console_fd and log_fd become -1).
 * On failure QEMU is killed (the loop reaps it). */
static int start_chan(struct qube_vm *dv, unsigned jail_id,
		      const char *empty_root, const struct console_log *console,
		      const struct console_log *qemu_log, char *err, size_t cap)
{
	struct chan_proc_fds fds = {
		.guest = dv->vm.chan_fd,
		.console = dv->vm.console_fd,
		.qemu_out = dv->vm.log_fd,
		.console_log = console->fd,
		.console_old = console->old_fd,
		.qemu_log = qemu_log->fd,
		.qemu_old = qemu_log->old_fd,
		.qmp = dv->vm.qmp_fd,
		.attach = -1,
	};
	char exe[4096], why[512], sock[4200];
	int link = -1, qmp_link = -1;
	pid_t pid;

	/* Where it waits for the next daemon, should this one go
	 * (proto/chan_attach.h). */
	if (bh_path_fmt(sock, sizeof(sock), "%s/" CHAN_SOCK_FILE,
			dv->run_dir)) {
		snprintf(err, cap, "runtime paths too long");
		pid = -ENAMETOOLONG;
	} else if ((fds.attach = chan_attach_listen(sock, why,
						    sizeof(why))) < 0) {
		snprintf(err, cap, "cannot listen on %.1500s: %s", sock, why);
		pid = fds.attach;
	} else if (chan_proc_find(exe, sizeof(exe)) < 0) {
		snprintf(err, cap, "bulkhead-chan not found beside bulkheadd "
				   "(or BULKHEAD_CHAN); reinstall Bulkhead "
				   "(make install, or ./setup)");
		pid = -ENOENT;
	} else {
		pid = chan_proc_spawn(exe, dv->name, chan_uid_for(jail_id),
				      empty_root, &fds, &link, &qmp_link, why,
				      sizeof(why));
		if (pid < 0)
			snprintf(err, cap,
				 "cannot start the channel process: %s", why);
	}
	if (fds.attach >= 0)
		close(fds.attach);
	if (pid < 0) {
		kill(dv->vm.pid, SIGKILL);
		close(dv->vm.chan_fd);
		close(dv->vm.qmp_fd);
		close(dv->vm.console_fd);
		close(dv->vm.log_fd);
		return (int)pid;
	}
	close(dv->vm.chan_fd);
	close(dv->vm.qmp_fd);
	close(dv->vm.console_fd);
	close(dv->vm.log_fd);
	dv->vm.chan_fd = link;
	dv->vm.qmp_fd = qmp_link;
	dv->vm.console_fd = dv->vm.log_fd = -1;
	dv->chan_pid = pid;
	return 0;
}

/* A start that failed after qube_vm_launch had returned: reported as if
 * QEMU had ended before it was ready, to the qube's bh and waiters. */
static void prep_failed(struct qube_vm *dv)
{
	int r = bh_rm_rf(dv->run_dir);

	if (r < 0)
		LOG_ERR("%s: cannot remove %s: %s", dv->name, dv->run_dir,
			strerror(-r));
	LOG_INFO("%s: %s before QEMU started, after %lld ms", dv->name,
		 dv->persistent ? "stopped" : "destroyed",
		 (long long)(bh_now_ms() - dv->started_ms));
	report_and_free(dv);
}

/* The private volume's copy has ended: QEMU starts, or the qube fails. */
static void private_copied(void *arg, const struct job_result *res)
{
	struct qube_vm *dv = arg;
	struct launch_wait *w = dv->prep;
	uid_t uid = jail_uid_for(w->spec.jail_id);
	char err[2048];
	int code = BH_EXIT_FAILURE, r = res->result;

	dv->prep = NULL;
	dv->prep_job = NULL;
	if (r == -ECANCELED) {
		/* Stopped on purpose: whoever stopped it said why. */
		if (!dv->stop_reason)
			qube_vm_error(dv, BH_EXIT_FAILURE, "%s: %s", dv->name,
				 res->msg);
	} else if (r < 0) {
		snprintf(err, sizeof(err),
			 "cannot copy the private volume of %s: %s%s", dv->dvm,
			 res->msg, r == -ENOSPC ? "; free some space there" : "");
		code = r == -ENOSPC ? BH_EXIT_NOSPACE : BH_EXIT_FAILURE;
	} else if (chown(w->path, uid, uid) < 0 || chmod(w->path, 0600) < 0 ||
		   !realpath(w->path, w->priv)) {
		r = -errno;
		snprintf(err, sizeof(err), "cannot hand %.1500s to the qube: %s",
			 w->path, strerror(errno));
	} else {
		w->spec.private_img = w->priv;
		LOG_INFO("%s: private volume copied from %s's in %lld ms (%s)",
			 dv->name, dv->dvm, (long long)(bh_now_ms() - w->t0),
			 res->aux == VOLUME_COPY_REFLINK
				 ? "reflink"
				 : "sparse copy: this file system has no "
				   "reflinks");
		r = launch_qemu(dv->d, dv, &w->spec, err, sizeof(err));
		if (r < 0)
			code = -r;
	}
	launch_wait_free(w);
	if (r == 0)
		return;
	if (r != -ECANCELED) {
		if (dv->persistent)
			qube_vm_error(dv, code, "cannot start %s: %s", dv->name,
				 err);
		else
			qube_vm_error(dv, code, "%s: %s", dv->name, err);
	}
	prep_failed(dv);
}

/* A disposable's private volume: a copy of its DVM's, in its runtime
 * folder (so it goes with that folder, and start-up removes what a
 * killed daemon left), handed to its jail uid. The DVM's own image is
 * only read, and the DVM is busy (job_on_qube) until the copy is whole.
 * The copy is a job: QEMU starts when it has ended (private_copied). */
static int private_copy_start(struct daemon *d, struct qube_vm *dv,
			      const struct qube_spec *spec, char *err,
			      size_t cap)
{
	static struct job_spec js;
	struct launch_wait *w = wait_new(spec);
	char why[1024];

	if (!w) {
		snprintf(err, cap, "out of memory");
		return -ENOMEM;
	}
	memset(&js, 0, sizeof(js));
	if (bh_path_fmt(w->path, sizeof(w->path), "%s/private.img",
			dv->run_dir) ||
	    bh_path_fmt(js.src, sizeof(js.src), "%s", dv->private_src) ||
	    bh_path_fmt(js.dst, sizeof(js.dst), "%s", w->path)) {
		launch_wait_free(w);
		snprintf(err, cap, "runtime paths too long");
		return -ENAMETOOLONG;
	}
	js.op = JOB_COPY;
	snprintf(js.qube, sizeof(js.qube), "%s", dv->name);
	snprintf(js.other, sizeof(js.other), "%s", dv->dvm);
	w->t0 = bh_now_ms();
	dv->prep = w;
	dv->prep_job = job_start(d, &js, private_copied, dv, why, sizeof(why));
	if (!dv->prep_job) {
		dv->prep = NULL;
		launch_wait_free(w);
		snprintf(err, cap, "cannot copy the private volume of %s: %s",
			 dv->dvm, why);
		return -EIO;
	}
	return 0;
}

/* Runtime folder, console log, QEMU: what every qube's start shares. On
 * success dv is linked into the daemon's list, booting; QEMU starts at
 * once, or once the copy of its private volume (a job) has ended. */
int qube_vm_launch(struct daemon *d, struct qube_vm *dv, struct qube_spec *spec,
		   char *err, size_t cap)
{
	char qemu[4096], qubes_dir[4096];
	int r;

	_Static_assert(sizeof(spec->cgroup_fds) / sizeof(int) ==
			       CGROUP_DIRS_MAX,
		       "one cgroup.procs fd per group");
	if (engine_find_qemu(qemu, sizeof(qemu)) < 0) {
		snprintf(err, cap,
			 "QEMU not found (qemu-system-x86_64 on PATH or "
			 "BULKHEAD_QEMU); install it with `apt-get install "
			 "qemu-system-x86` or run ./setup");
		return -BH_EXIT_SETUP;
	}
	if (bh_path_fmt(qubes_dir, sizeof(qubes_dir), "%s/qubes",
			d->paths.run) ||
	    bh_mkdir_p(qubes_dir, 0700) < 0) {
		snprintf(err, cap, "cannot create %.1500s: %s", qubes_dir,
			 strerror(errno));
		return -BH_EXIT_FAILURE;
	}
	if (check_space(qubes_dir, err, cap) < 0)
		return -BH_EXIT_NOSPACE;
	if (bh_path_fmt(dv->run_dir, sizeof(dv->run_dir), "%s/%s", qubes_dir,
			dv->name)) {
		snprintf(err, cap, "runtime paths too long");
		return -BH_EXIT_FAILURE;
	}
	if (mkdir(dv->run_dir, 0700) < 0) {
		r = errno;
		snprintf(err, cap, "cannot create %.1500s: %s", dv->run_dir,
			 strerror(r));
		return r == ENOSPC ? -BH_EXIT_NOSPACE : -BH_EXIT_FAILURE;
	}
	spec->name = dv->name;
	spec->tsc_khz = d->tsc_khz;
	if (!dv->private_src[0])
		return launch_qemu(d, dv, spec, err, cap);
	if (private_copy_start(d, dv, spec, err, cap) < 0) {
		bh_rm_rf(dv->run_dir);
		return -BH_EXIT_FAILURE;
	}
	dv->d = d;
	dv->state = DV_BOOTING;
	dv->started_ms = bh_now_ms();
	dv->deadline_ms = 0; /* the boot's starts with QEMU */
	if (!dv->linked) {
		dv->next = d->dispvms;
		d->dispvms = dv;
		dv->linked = 1;
	}
	return 0;
}

/* QEMU, with its logs and cgroup, once the runtime folder (and the copy
 * of the private volume) is there. On failure the folder goes. */
static int launch_qemu(struct daemon *d, struct qube_vm *dv,
		       struct qube_spec *spec, char *err, size_t cap)
{
	char qemu[4096], console[4200], qemu_log[4200], jail_root[4200];
	/* Opened here, handed to the channel process, which writes them. */
	struct console_log clog = { .fd = -1, .old_fd = -1 };
	struct console_log qlog = { .fd = -1, .old_fd = -1 };
	size_t i;
	int r = 0;

	if (engine_find_qemu(qemu, sizeof(qemu)) < 0) {
		snprintf(err, cap, "QEMU not found (qemu-system-x86_64 on "
				   "PATH or BULKHEAD_QEMU)");
		bh_rm_rf(dv->run_dir);
		return -BH_EXIT_SETUP;
	}
	if (bh_path_fmt(console, sizeof(console), "%s/console.log",
			dv->run_dir) ||
	    bh_path_fmt(qemu_log, sizeof(qemu_log), "%s/qemu.log",
			dv->run_dir) ||
	    bh_path_fmt(jail_root, sizeof(jail_root), "%s/jail",
			d->paths.run)) {
		snprintf(err, cap, "runtime paths too long");
		bh_rm_rf(dv->run_dir);
		return -BH_EXIT_FAILURE;
	}
	if (r == 0) {
		r = console_log_open(&clog, console);
		if (r < 0)
			snprintf(err, cap, "cannot create %.1500s: %s", console,
				 strerror(-r));
	}
	if (r == 0) {
		r = console_log_open(&qlog, qemu_log);
		if (r < 0)
			snprintf(err, cap, "cannot create %.1500s: %s",
				 qemu_log, strerror(-r));
	}
	if (r == 0 && d->cgroups.on) {
		/* Its limits hold before QEMU runs (cgroup.h); a group that
		 * cannot be made fails the start rather than letting this
		 * QEMU run unbounded where the others are bounded. */
		r = cgroup_qube_create(&d->cgroups, dv->name, spec->memory_mb,
				       spec->vcpus, spec->cgroup_fds, err,
				       cap);
		if (r >= 0)
			r = 0;
	}
	if (r == 0)
		r = engine_start(qemu, spec, d->accel.accel, jail_root,
				 &dv->vm, err, cap);
	if (r == 0)
		r = start_chan(dv, spec->jail_id, jail_root, &clog, &qlog, err,
			       cap);
	console_log_close(&clog);
	console_log_close(&qlog);
	if (spec->cgroup_fds[0] > 0) {
		for (i = 0; i < CGROUP_DIRS_MAX; i++) {
			if (spec->cgroup_fds[i] > 0)
				close(spec->cgroup_fds[i]);
			spec->cgroup_fds[i] = 0;
		}
		if (r < 0)
			cgroup_qube_remove(&d->cgroups, dv->name);
	}
	if (r < 0) {
		bh_rm_rf(dv->run_dir);
		return r == -ENOSPC ? -BH_EXIT_NOSPACE : -BH_EXIT_FAILURE;
	}
	qube_vm_go_live(d, dv);
	record_for_next_daemon(dv);
	LOG_INFO("%s: started (QEMU pid %d)", dv->name, (int)dv->vm.pid);
	return 0;
}

/* For the next daemon, should this one go (state/attach_record.h):
 * QEMU's and the channel process's pids, and what the qube is. A
 * record that cannot be written costs only the re-attach. */
static void record_for_next_daemon(struct qube_vm *dv)
{
	struct attach_record rec = { .persistent = dv->persistent };
	int r = qemu_pid_file_write(dv->run_dir, dv->vm.pid);

	if (r == 0)
		r = pid_file_write(dv->run_dir, CHAN_PID_FILE, dv->chan_pid);
	if (r == 0 && dv->tmpl_work[0]) {
		snprintf(rec.tmpl_dir, sizeof(rec.tmpl_dir), "%s",
			 dv->tmpl_dir);
		snprintf(rec.tmpl_work, sizeof(rec.tmpl_work), "%s",
			 dv->tmpl_work);
	}
	if (r == 0)
		r = attach_record_write(dv->run_dir, &rec);
	if (r < 0)
		LOG_WARN("%s: cannot record it for a daemon restart: %s",
			 dv->name, strerror(-r));
}

void qube_vm_go_live(struct daemon *d, struct qube_vm *dv)
{
	dv->d = d;
	dv->vm_alive = 1;
	dv->link_eof = dv->qemu_ended = 0;
	dv->link_deadline_ms = 0;
	bh_chan_init(&dv->chan, dv->vm.chan_fd, DISPVM_CHAN_OUT_MAX);
	qmp_init(&dv->qmp, dv->vm.qmp_fd);
	dv->qmp.log = &dv->log_limit;
	dv->qmp.on_reply = dataport_qmp_reply;
	dv->qmp.on_device_deleted = dataport_qmp_deleted;
	dv->qmp.ctx = dv;
	dv->state = DV_BOOTING;
	dv->started_ms = bh_now_ms();
	dv->deadline_ms = dv->started_ms + d->boot_timeout_ms;
	if (!dv->linked) {
		dv->next = d->dispvms;
		d->dispvms = dv;
		dv->linked = 1;
	}
}

struct qube_vm *qube_find_running(struct daemon *d, const char *name)
{
	struct qube_vm *dv;

	for (dv = d->dispvms; dv; dv = dv->next)
		if (dv->persistent && !strcmp(dv->name, name))
			return dv;
	return NULL;
}

int qube_vm_ready(struct qube_vm *dv)
{
	int r;

	dv->state = DV_RUNNING;
	dv->deadline_ms = 0;
	LOG_INFO("%s: ready after %lld ms%s", dv->name,
		 (long long)(bh_now_ms() - dv->started_ms),
		 dv->snap == DVS_RESTORE ? " (restored from its snapshot)" : "");
	if (dv->persistent)
		dv->d->hooks->qube_ready(dv);
	else if ((r = dv->d->hooks->disposable_start_job(dv)) < 0)
		return r;
	dv->d->hooks->rpc_target_ready(dv);
	return 0;
}

int qube_vm_handle_agent_frame(struct qube_vm *dv,
			       const struct bh_frame_hdr *untrusted_h,
			       const uint8_t *untrusted_payload)
{
	const struct bh_frame_hdr *h;
	uint32_t v, kind;
	int r;

	/* Type, stream and length against each other; the payload is
	 * checked by whoever parses it. */
	if (bh_frame_check_from_guest(untrusted_h) < 0)
		return -EPROTO;
	h = untrusted_h;
	if (h->type == BH_MSG_HELLO) {
		if (dv->state != DV_BOOTING ||
		    bh_parse_hello(untrusted_payload, h->len, &v) < 0 ||
		    v != BH_PROTO_VERSION)
			return -EPROTO;
		if (dv->d->hooks->pool_on_hello(dv) ||
		    dv->d->hooks->snapshot_on_hello(dv))
			return 0;
		return qube_vm_ready(dv);
	}
	/* Nothing but HELLO before it. A disposable whose job is over may
	 * still carry a call its command left running until it powers
	 * off, but starts none. */
	if (dv->state == DV_BOOTING)
		return -EPROTO;
	if (h->type == BH_MSG_CALL) {
		if (dv->state != DV_RUNNING)
			return qs_refuse_new_call(dv, h->stream);
		return dv->d->hooks->rpc_call_opened(
			dv, h->stream, untrusted_payload, h->len);
	}
	r = qs_guest_frame(dv, h, untrusted_payload, &kind, &v);
	if (r == 1)
		return dv->d->hooks->disposable_job_done(dv, kind, v);
	return r;
}

/* A pause is worth a line, but a busy qube may pause often. */
#define PAUSE_LOG_INTERVAL_MS 60000

int qube_vm_readable(struct qube_vm *dv, int64_t now_ms)
{
	size_t waiting = bh_chan_pending(&dv->chan);

	if (waiting < QUBE_PAUSE_BYTES) {
		dv->read_paused = 0;
		return 1;
	}
	if (!dv->read_paused &&
	    (!dv->pause_logged_ms ||
	     now_ms - dv->pause_logged_ms >= PAUSE_LOG_INTERVAL_MS)) {
		dv->pause_logged_ms = now_ms;
		LOG_INFO("%s: not read while %zu KiB wait for it to read them",
			 dv->name, waiting / 1024);
	}
	dv->read_paused = 1;
	return 0;
}

/* The channel process found the qube breaking the protocol, and reads
 * nothing more of it. */
static void chan_broken(struct qube_vm *dv, const uint8_t *untrusted_p,
			uint32_t len)
{
	struct bh_chan_broken b;

	if (bh_parse_chan_broken(untrusted_p, len, &b) < 0)
		qube_vm_error(dv, BH_EXIT_FAILURE,
			      "the channel process of qube %s sent a "
			      "malformed message; the qube was destroyed",
			      dv->name);
	else if (b.why == BH_BROKEN_OVERSIZED)
		qube_vm_error(dv, BH_EXIT_FAILURE,
			      "qube %s sent an oversized frame; it was "
			      "destroyed",
			      dv->name);
	else
		qube_vm_error(dv, BH_EXIT_FAILURE,
			      "qube %s broke the channel protocol (frame "
			      "type %u, stream %u, %u bytes); it was "
			      "destroyed",
			      dv->name, b.type, b.stream, b.len);
	dv_destroy(dv);
}

/* The first frame of a re-attached channel process: the agent's HELLO,
 * if it said it, and the streams an earlier daemon left open. <0: the
 * qube was destroyed. */
static int attach_frame(struct qube_vm *dv, const uint8_t *untrusted_p,
			uint32_t len)
{
	static struct bh_attach_info info;

	if (!dv->adopted || dv->attach_seen ||
	    bh_attach_info_parse(untrusted_p, len, &info) < 0 ||
	    (info.flags & BH_ATTACH_HELLO &&
	     info.hello_version != BH_PROTO_VERSION)) {
		qube_vm_error(dv, BH_EXIT_FAILURE,
			      "the channel process of qube %s sent a "
			      "malformed re-attach message; the qube was "
			      "destroyed",
			      dv->name);
		dv_destroy(dv);
		return -1;
	}
	dv->attach_seen = 1;
	if (info.flags & BH_ATTACH_OVERFLOW)
		LOG_WARN("%s: more streams were open than its channel process "
			 "kept; those it did not keep may end the qube",
			 dv->name);
	if (qs_adopt(dv, &info) < 0) {
		qube_vm_error(dv, BH_EXIT_FAILURE,
			      "cannot end what an earlier daemon left open in "
			      "qube %s; the qube was destroyed",
			      dv->name);
		dv_destroy(dv);
		return -1;
	}
	LOG_INFO("%s: re-attached (%u stream(s) of the earlier daemon ended, "
		 "agent %s)",
		 dv->name, info.count,
		 info.flags & BH_ATTACH_HELLO ? "ready" : "still booting");
	if (info.flags & BH_ATTACH_HELLO && dv->state == DV_BOOTING &&
	    qube_vm_ready(dv) < 0) {
		dv_destroy(dv);
		return -1;
	}
	return 0;
}

void qube_vm_agent_input(struct qube_vm *dv)
{
	struct bh_frame_hdr untrusted_h;
	const uint8_t *untrusted_payload;
	long n;
	int r;

	if (dv->link_eof)
		return;
	n = bh_chan_read(&dv->chan);
	if (n == 0 || (n < 0 && n != -EAGAIN && n != -ENOBUFS)) {
		/* The channel process has ended: after QEMU, as it should
		 * (the qube's end waits for this: qube_vm_finish_ended), or
		 * before, which ends the qube. */
		dv->link_eof = 1;
		/* It ends by itself once QEMU has closed everything, which
		 * may come before QEMU is reaped; so QEMU gets a moment to
		 * end before the qube is ended for it (qube_vm_tick). A
		 * channel process that was killed or failed ends the qube
		 * at once (qube_vm_chan_reaped). */
		if (dv->vm_alive)
			dv->link_deadline_ms = bh_now_ms() + CHAN_DRAIN_MS;
		return;
	}
	while ((r = bh_chan_next(&dv->chan, &untrusted_h,
				 &untrusted_payload)) > 0) {
		if (untrusted_h.type == BH_MSG_CHAN_BROKEN) {
			chan_broken(dv, untrusted_payload, untrusted_h.len);
			return;
		}
		if (untrusted_h.type == BH_MSG_CHAN_ATTACH) {
			if (attach_frame(dv, untrusted_payload,
					 untrusted_h.len) < 0)
				return;
			continue;
		}
		if (dv->adopted && !dv->attach_seen) {
			qube_vm_error(dv, BH_EXIT_FAILURE,
				      "the channel process of qube %s did not "
				      "say what it had at the re-attach; the "
				      "qube was destroyed",
				      dv->name);
			dv_destroy(dv);
			return;
		}
		if (qube_vm_handle_agent_frame(dv, &untrusted_h,
					       untrusted_payload) < 0) {
			qube_vm_error(dv, BH_EXIT_FAILURE,
				 "qube %s broke the channel protocol (frame "
				 "type %u, stream %u, %u bytes); it was "
				 "destroyed",
				 dv->name, untrusted_h.type,
				 untrusted_h.stream, untrusted_h.len);
			dv_destroy(dv);
			return;
		}
	}
	if (r < 0) {
		qube_vm_error(dv, BH_EXIT_FAILURE,
			 "qube %s sent an oversized frame; it was destroyed",
			 dv->name);
		dv_destroy(dv);
	}
}

void qube_vm_agent_output(struct qube_vm *dv)
{
	if (bh_chan_flush(&dv->chan) < 0 && dv->state != DV_STOPPING) {
		qube_vm_error(dv, BH_EXIT_FAILURE, "channel to %s failed",
			 dv->name);
		dv_destroy(dv);
	}
}

void qube_vm_qmp_input(struct qube_vm *dv)
{
	if (qmp_handle_input(&dv->qmp, dv->name) < 0 && dv->vm_alive &&
	    dv->state != DV_STOPPING)
		LOG_DEBUG("%s: QMP connection closed", dv->name);
	else if (dv->vm_alive && dv->state != DV_STOPPING)
		dv->d->hooks->snapshot_qmp_event(dv);
}

void qube_vm_client_gone(struct qube_vm *dv, struct client *c)
{
	if (dv->persistent || c != dv->client) {
		/* The qube stays; the command gets EOF on stdin and its
		 * output is dropped until it exits. */
		qs_client_gone(c);
		return;
	}
	dv->client = NULL;
	dv->no_fallback = 1;
	qs_client_gone(c);
	if (qube_vm_live(dv)) {
		LOG_INFO("%s: bh went away; destroying the qube", dv->name);
		qube_vm_kill(dv);
	}
}

static void report_and_free(struct qube_vm *dv)
{
	struct daemon *d = dv->d;
	struct qube_vm **pp;
	struct client *c = dv->client;

	if (c) {
		c->dv = NULL;
		if (dv->have_exit && !dv->err_code) {
			uint8_t p[8];

			bh_put_u32(p, dv->exit_kind);
			bh_put_u32(p + 4, dv->exit_value);
			bh_chan_send(&c->chan, BH_MSG_EXIT, 1, p, sizeof(p));
			c->closing = 1;
		} else {
			client_error(c, dv->err_code ? dv->err_code
						     : BH_EXIT_FAILURE,
				     "%s", dv->err_msg);
		}
	}
	d->hooks->rpc_ask_caller_gone(d, dv);
	qs_qube_gone(dv, dv->err_code ? dv->err_msg : "it stopped");
	qube_log_flush(&dv->log_limit, dv->name, 1);
	if (dv->persistent)
		dv->d->hooks->qube_stopped(dv);
	for (pp = &d->dispvms; *pp; pp = &(*pp)->next)
		if (*pp == dv) {
			*pp = dv->next;
			break;
		}
	if (dv->adopted) {
		if (dv->qemu_pidfd >= 0)
			close(dv->qemu_pidfd);
		if (dv->chan_pidfd >= 0)
			close(dv->chan_pidfd);
	}
	bh_chan_free(&dv->chan);
	free(dv->exec_req);
	free(dv->snap_manifest);
	/* Only a take holds it; a persistent qube's is never set (0). */
	if (dv->snap == DVS_TAKE && dv->snap_fd >= 0)
		close(dv->snap_fd);
	free(dv);
}

static void qube_vm_ended(struct qube_vm *dv, int wstatus);

void qube_vm_reaped(struct qube_vm *dv, int wstatus)
{
	int r;

	dv->vm_alive = 0;
	/* QEMU is reaped, so its group is empty (a relaunch makes it
	 * again). */
	r = cgroup_qube_remove(&dv->d->cgroups, dv->name);
	if (r < 0)
		LOG_WARN("%s: cannot remove its cgroup: %s", dv->name,
			 strerror(-r));
	/* What the guest sent before it went (EXIT may be in it) and the
	 * logs' last lines (for an error message) are with the channel
	 * process until it has handed them on and closed the link. */
	if (!dv->err_code)
		qube_vm_agent_input(dv);
	if (dv->link_eof) {
		qube_vm_ended(dv, wstatus);
		return;
	}
	dv->qemu_ended = 1;
	dv->qemu_wstatus = wstatus;
	dv->link_deadline_ms = bh_now_ms() + CHAN_DRAIN_MS;
}

/* The channel process is gone while QEMU runs: the qube cannot be
 * reached any more, and ends. */
static void chan_gone(struct qube_vm *dv)
{
	qube_vm_error(dv, BH_EXIT_FAILURE,
		      "the channel process of qube %s ended while the qube "
		      "ran; the qube was destroyed",
		      dv->name);
	dv->link_deadline_ms = 0;
	dv_destroy(dv);
}

void qube_vm_chan_reaped(struct qube_vm *dv, int wstatus)
{
	dv->chan_pid = 0;
	if (WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0)
		return;
	if (WIFSIGNALED(wstatus))
		LOG_WARN("%s: its channel process was killed by signal %d%s",
			 dv->name, WTERMSIG(wstatus),
			 WTERMSIG(wstatus) == SIGSYS
				 ? " (a system call outside its seccomp list)"
				 : "");
	else
		LOG_WARN("%s: its channel process exited with status %d",
			 dv->name, WEXITSTATUS(wstatus));
	if (dv->vm_alive)
		chan_gone(dv);
}

void qube_vm_chan_lost(struct qube_vm *dv)
{
	dv->chan_pid = 0;
	if (!dv->vm_alive)
		return;
	LOG_WARN("%s: its channel process ended while the qube ran", dv->name);
	chan_gone(dv);
}

int64_t qube_vm_finish_ended(struct daemon *d, int64_t now_ms)
{
	struct qube_vm *dv, *next;
	int64_t due = -1;

	for (dv = d->dispvms; dv; dv = next) {
		next = dv->next;
		if (!dv->qemu_ended)
			continue;
		if (!dv->link_eof && now_ms < dv->link_deadline_ms) {
			if (due < 0 || dv->link_deadline_ms < due)
				due = dv->link_deadline_ms;
			continue;
		}
		if (!dv->link_eof) {
			LOG_WARN("%s: its channel process did not end %d ms "
				 "after QEMU; killing it",
				 dv->name, CHAN_DRAIN_MS);
			if (dv->chan_pid > 0)
				signal_chan(dv, SIGKILL);
			dv->link_eof = 1;
		}
		dv->qemu_ended = 0;
		qube_vm_ended(dv, dv->qemu_wstatus);
	}
	return due;
}

/* QEMU is reaped and the channel process has handed on all it had. */
static void qube_vm_ended(struct qube_vm *dv, int wstatus)
{
	char console[4200], qemu_log[4200], tail[3000], qtail[1500];
	int r;

	if (dv->d->hooks->snapshot_fallback(dv)) {
		close(dv->vm.chan_fd);
		close(dv->vm.qmp_fd);
		close(dv->vm.console_fd);
		close(dv->vm.log_fd);
		if (dv->d->hooks->disposable_relaunch_cold(dv) == 0)
			return;
		/* Reported below, as any failure to start. */
		dv->vm.chan_fd = dv->vm.qmp_fd = dv->vm.console_fd = -1;
		dv->vm.log_fd = -1;
	}
	/* A persistent qube that stops between commands is no failure. */
	if (!dv->have_exit && !dv->err_code &&
	    (!dv->persistent || dv->client || dv->state == DV_BOOTING)) {
		snprintf(console, sizeof(console), "%s/console.log",
			 dv->run_dir);
		snprintf(qemu_log, sizeof(qemu_log), "%s/qemu.log",
			 dv->run_dir);
		tail_escaped(console, CONSOLE_TAIL_LINES, tail, sizeof(tail));
		tail_escaped(qemu_log, 5, qtail, sizeof(qtail));
		if (dv->state == DV_BOOTING)
			qube_vm_error(dv, BH_EXIT_NOTREADY,
				 "qube %s stopped before it was ready (QEMU "
				 "%s %d).\nQEMU said:\n%s\nLast console "
				 "lines:\n%s",
				 dv->name,
				 WIFSIGNALED(wstatus) ? "killed by signal"
						      : "exit status",
				 WIFSIGNALED(wstatus) ? WTERMSIG(wstatus)
						      : WEXITSTATUS(wstatus),
				 qtail, tail);
		else
			qube_vm_error(dv, BH_EXIT_FAILURE,
				 "qube %s stopped before its command "
				 "finished.\nLast console lines:\n%s",
				 dv->name, tail);
	}
	if (dv->vm.chan_fd >= 0) {
		close(dv->vm.chan_fd);
		close(dv->vm.qmp_fd);
		close(dv->vm.console_fd);
		close(dv->vm.log_fd);
	}
	r = bh_rm_rf(dv->run_dir);
	if (r < 0)
		LOG_ERR("%s: cannot remove %s: %s", dv->name, dv->run_dir,
			strerror(-r));
	LOG_INFO("%s: %s after %lld ms", dv->name,
		 dv->persistent ? "stopped" : "destroyed",
		 (long long)(bh_now_ms() - dv->started_ms));
	report_and_free(dv);
}

void qube_vm_tick(struct qube_vm *dv, int64_t now_ms)
{
	char console[4200], tail[3000];

	qube_log_flush(&dv->log_limit, dv->name, 0);
	if (dv->vm_alive && dv->link_eof && dv->link_deadline_ms &&
	    now_ms >= dv->link_deadline_ms && !dv->kill_sent)
		chan_gone(dv);
	if (!dv->deadline_ms || now_ms < dv->deadline_ms || !dv->vm_alive)
		return;
	if (dv->state == DV_BOOTING) {
		snprintf(console, sizeof(console), "%s/console.log",
			 dv->run_dir);
		tail_escaped(console, CONSOLE_TAIL_LINES, tail, sizeof(tail));
		qube_vm_error(dv, BH_EXIT_NOTREADY,
			 "qube %s was not ready after %d s; it was destroyed. "
			 "Last console lines:\n%s",
			 dv->name, dv->d->boot_timeout_ms / 1000, tail);
		qube_vm_kill(dv);
		dv->deadline_ms = 0;
		return;
	}
	if (!dv->quit_sent) {
		LOG_WARN("%s: did not power off; asking QEMU to quit",
			 dv->name);
		dv->quit_sent = 1;
		if (qmp_command(&dv->qmp, "quit") == 0) {
			dv->deadline_ms = now_ms + DISPVM_QUIT_MS;
			return;
		}
	}
	LOG_WARN("%s: QEMU did not quit; killing it", dv->name);
	qube_vm_kill(dv);
	dv->deadline_ms = 0;
}


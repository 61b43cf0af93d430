#include "daemon/qube/qube_vm_launch.h"
#include "daemon/jobs/job.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "daemon/relay/dataport.h"
#include "daemon/priv/priv_paths.h"
#include "daemon/engine/leftover_qemu.h"
#include "daemon/qube/qube_vm.h"
#include "daemon/qube/qube_vm_end.h"
#include "daemon/state/attach_record.h"
#include "daemon/disk/volume.h"
#include "lib/log.h"
#include "lib/util.h"
#include "proto/exitcodes.h"

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
static void record_for_next_daemon(struct qube_vm *dv);

/* The private volume's copy has ended: QEMU starts, or the qube fails. */
static void private_copied(void *arg, const struct job_result *res)
{
	struct qube_vm *dv = arg;
	struct launch_wait *w = dv->prep;
	char err[2048];
	int code = BH_EXIT_FAILURE, r = res->result;
	/* Not r == -ECANCELED below: launch_qemu's -BH_EXIT_FAILURE is the
	 * same number. */
	int cancelled = r == -ECANCELED;

	dv->prep = NULL;
	dv->prep_job = NULL;
	if (cancelled) {
		/* Stopped on purpose: whoever stopped it said why. */
		if (!dv->stop_reason)
			qube_vm_error(dv, BH_EXIT_FAILURE, "%s: %s", dv->name,
				 res->msg);
	} else if (r < 0) {
		snprintf(err, sizeof(err),
			 "cannot copy the private volume of %s: %s%s", dv->dvm,
			 res->msg, r == -ENOSPC ? "; free some space there" : "");
		code = r == -ENOSPC ? BH_EXIT_NOSPACE : BH_EXIT_FAILURE;
	} else if (!realpath(w->path, w->priv)) {
		r = -errno;
		snprintf(err, sizeof(err), "cannot find %.1500s: %s", w->path,
			 strerror(errno));
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
	if (!cancelled) {
		if (dv->persistent)
			qube_vm_error(dv, code, "cannot start %s: %s", dv->name,
				 err);
		else
			qube_vm_error(dv, code, "%s: %s", dv->name, err);
	}
	qube_vm_prep_failed(dv);
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
	struct job *j;

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
	j = job_start(d, &js, private_copied, dv, why, sizeof(why));
	if (!j) {
		dv->prep = NULL;
		launch_wait_free(w);
		snprintf(err, cap, "cannot copy the private volume of %s: %s",
			 dv->dvm, why);
		return -EIO;
	}
	qube_vm_wait_prep(d, dv, j);
	return 0;
}

void qube_vm_wait_prep(struct daemon *d, struct qube_vm *dv, struct job *j)
{
	dv->d = d;
	dv->prep_job = j;
	dv->state = DV_BOOTING;
	dv->deadline_ms = 0; /* the boot's starts with QEMU */
	if (!dv->linked) {
		dv->started_ms = bh_now_ms();
		dv->next = d->qubes;
		d->qubes = dv;
		dv->linked = 1;
	}
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
	return 0;
}

int qube_spec_where(struct daemon *d, struct qube_spec *spec,
		    const char *kernel_path, const char *root_path, char *err,
		    size_t cap)
{
	uint32_t kind;

	if (priv_kver_of(d->paths.state, kernel_path, spec->kver,
			 sizeof(spec->kver)) < 0) {
		snprintf(err, cap, "the guest kernel %.1500s is not in the "
				   "kernels folder",
			 kernel_path);
		return -EINVAL;
	}
	if (priv_root_of(d->paths.state, root_path, &kind, spec->root_owner,
			 sizeof(spec->root_owner), spec->root_file,
			 sizeof(spec->root_file)) < 0) {
		snprintf(err, cap, "the root image %.1500s is not a "
				   "template's nor a qube's",
			 root_path);
		return -EINVAL;
	}
	spec->root_kind = kind;
	return 0;
}

/* The request for bulkheadd's parent: spec by name. */
static void launch_request(const struct qube_vm *dv,
			   const struct qube_spec *spec,
			   struct bh_priv_launch *l)
{
	memset(l, 0, sizeof(*l));
	bh_priv_field_set(l->name, sizeof(l->name), dv->name);
	bh_priv_field_set(l->kver, sizeof(l->kver), spec->kver);
	l->root_kind = spec->root_kind;
	bh_priv_field_set(l->root_owner, sizeof(l->root_owner),
			  spec->root_owner);
	bh_priv_field_set(l->root_file, sizeof(l->root_file), spec->root_file);
	/* A disposable's copy is in its runtime folder; any other private
	 * volume in the qube's folder. */
	l->private_kind = dv->private_src[0] ? BH_PRIV_PRIVATE_RUN
			  : spec->private_img ? BH_PRIV_PRIVATE_STATE
					      : BH_PRIV_PRIVATE_NONE;
	l->flags = (spec->root_writable ? BH_PRIV_ROOT_WRITABLE : 0) |
		   (spec->disposable ? BH_PRIV_DISPOSABLE : 0);
	l->memory_mb = spec->memory_mb;
	l->vcpus = spec->vcpus;
	l->jail_id = spec->jail_id;
	l->tsc_khz = spec->tsc_khz;
	bh_priv_field_set(l->kernelopts, sizeof(l->kernelopts),
			  spec->kernelopts ? spec->kernelopts : "");
	bh_priv_field_set(l->cmdline_name, sizeof(l->cmdline_name),
			  spec->cmdline_name ? spec->cmdline_name : "");
}

/* QEMU and its channel process, started by bulkheadd's root parent,
 * once the runtime folder (and the copy of the private volume) is
 * there: it hands the images to the qube's uid, opens the logs, makes
 * the cgroup and the jail (priv/priv_launch.h). On failure the folder
 * goes. */
static int launch_qemu(struct daemon *d, struct qube_vm *dv,
		       struct qube_spec *spec, char *err, size_t cap)
{
	struct bh_priv_launch *l = malloc(sizeof(*l));
	struct priv_started st;
	int code;

	if (!l) {
		snprintf(err, cap, "out of memory");
		bh_rm_rf(dv->run_dir);
		return -BH_EXIT_FAILURE;
	}
	launch_request(dv, spec, l);
	code = priv_link_launch(&d->priv, l,
				spec->restore_fd > 0 ? spec->restore_fd : -1,
				&st, err, cap);
	free(l);
	if (code) {
		bh_rm_rf(dv->run_dir);
		return -code;
	}
	dv->vm.pid = st.qemu;
	dv->vm.chan_fd = st.link_fd;
	dv->vm.qmp_fd = st.qmp_fd;
	dv->vm.console_fd = dv->vm.log_fd = -1;
	dv->chan_pid = st.chan;
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
	dv->qmp.on_ready = dataport_qmp_ready;
	dv->qmp.ctx = dv;
	dv->state = DV_BOOTING;
	dv->started_ms = bh_now_ms();
	dv->deadline_ms = dv->started_ms + d->boot_timeout_ms;
	if (!dv->linked) {
		dv->next = d->qubes;
		d->qubes = dv;
		dv->linked = 1;
	}
}

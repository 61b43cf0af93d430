/* Persistent qubes: start, shutdown, kill, pause, unpause (bh run QUBE:
 * qube_run.c). They share the disposable's runtime
 * (struct qube_vm, qube_vm_launch); what differs is that the qube outlives
 * its commands, its private volume persists, and the store records its
 * power state and why it stopped. */
#include "daemon/qube/qube_power.h"
#include "daemon/qube/qube_boot.h"
#include "daemon/relay/streams.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/core/client_send.h"
#include "daemon/qube/qube_vm.h"
#include "daemon/qube/qube_vm_end.h"
#include "daemon/qube/qube_vm_launch.h"
#include "daemon/jobs/job.h"
#include "daemon/core/events.h"
#include "daemon/engine/jail.h"
#include "daemon/store/store.h"
#include "daemon/state/attach_record.h"
#include "daemon/state/qube_paths.h"
#include "daemon/disk/volume.h"
#include "lib/crashpoint.h"
#include "lib/log.h"
#include "lib/util.h"
#include "proto/admin.h"
#include "proto/exec_req.h"
#include "proto/exitcodes.h"

/* When bulkheadd itself stops, running qubes get less. */
#define QUBE_DAEMON_EXIT_MS 10000

/* Replies that come later (a start's end, a kill's): the admin replies
 * of core/client_send.h. */
#define reply admin_send_replyf

static void reply_ok(struct client *c)
{
	if (c)
		admin_send_text(c, 0, "", 0);
}

void qube_power_record(struct daemon *d, const char *name, const char *state,
		   const char *reason)
{
	char err[512];

	events_emit(d, events_power_event(d, name, state, reason), name, state,
		    reason);
	if (store_power_set(d->store, name, state, reason, err, sizeof(err)) <
	    0)
		LOG_ERR("%s: cannot record %s: %s", name, state, err);
}


static struct qube_vm *start_failed(struct qube_start_fail *f,
				   unsigned status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static struct qube_vm *start_failed(struct qube_start_fail *f,
				   unsigned status,
				   const char *fmt, ...)
{
	va_list ap;

	f->status = status;
	va_start(ap, fmt);
	vsnprintf(f->msg, sizeof(f->msg), fmt, ap);
	va_end(ap);
	return NULL;
}

/* What qube_launch gathers on its way to qube_vm_launch. It outlives
 * qube_launch when the start waits for a job (qube_vm_wait_prep): the
 * job's callback goes on from there. */
struct launch {
	struct daemon *d;
	struct qube_vm *dv;
	struct qube_info q;
	struct dvm_boot *b; /* a named disposable's DVM, until its paths
			     * are taken */
	int writable;
	unsigned status; /* a failure's: an admin status or a bh exit code */
	char err[2048], root[PATH_MAX], priv[PATH_MAX], kernel[PATH_MAX],
		initramfs[PATH_MAX], rroot[PATH_MAX], rpriv[PATH_MAX];
	char kopts[1100], allopts[1200], kver[128];
};

static void launch_free(struct launch *l)
{
	free(l->b);
	free(l);
}

/* The qube exists, is not running, is not busy with a job and has an
 * id the jail takes; returns 0, or -1 with *f filled. */
static int check_startable(struct daemon *d, const char *name,
			   struct launch *l, struct qube_start_fail *f)
{
	struct job *j;

	if (store_qube_get(d->store, name, &l->q, l->err, sizeof(l->err)) <
	    0) {
		start_failed(f, BH_ADMIN_NOSUCH, "%s", l->err);
		return -1;
	}
	if (qube_find_running(d, name)) {
		start_failed(f, BH_ADMIN_REFUSED, "qube %s is already running",
			     name);
		return -1;
	}
	/* Its volume is being copied (a clone, a disposable's private
	 * volume) or resized: it must not change meanwhile. */
	if ((j = job_on_qube(d, name))) {
		start_failed(f, BH_ADMIN_REFUSED,
			     "qube %s is busy: job %u (%s for %s) runs on it; "
			     "wait for it to end",
			     name, j->id, job_op_name(j->spec.op),
			     j->spec.qube);
		return -1;
	}
	if (l->q.id <= 0 || l->q.id >= DISPVM_JAIL_ID_BASE) {
		start_failed(f, BH_ADMIN_FAILED,
			     "qube %s has an id (%lld) outside the jail's "
			     "range",
			     name, (long long)l->q.id);
		return -1;
	}
	return 0;
}

/* A named disposable: its DVM must still be one, halted, with its
 * images; its own kernel (checked later) then wins. Returns 0, or -1
 * with *f filled. */
static int load_dvm_boot(struct daemon *d, const char *name,
			 struct launch *l, struct qube_start_fail *f)
{
	int r;

	if (l->q.cls != QC_DISP)
		return 0;
	l->b = malloc(sizeof(*l->b));
	r = l->b ? qube_dvm_boot(d, l->q.template_name, l->b, l->err,
				 sizeof(l->err))
		 : -ENOMEM;
	if (r < 0) {
		start_failed(f,
			     r == -EINVAL || r == -EBUSY || r == -ESRCH
				     ? BH_ADMIN_REFUSED
				     : BH_ADMIN_FAILED,
			     "cannot start %s: %s", name,
			     r == -ENOMEM ? "out of memory" : l->err);
		return -1;
	}
	return 0;
}

/* The kernel version (its files are checked later, by
 * qube_boot_check_files) and the kernel's command line; returns 0, or -1
 * with *f filled. */
static int read_kernel_and_opts(struct daemon *d, const char *name,
				struct launch *l, struct qube_start_fail *f)
{
	int is_default;

	/* The kernel property, or default_kernel through it; empty means
	 * the one the guest build recorded as current. */
	if (store_prop_get(d->store, name, "kernel", l->kver, sizeof(l->kver),
			   &is_default, l->err, sizeof(l->err)) < 0)
		l->kver[0] = '\0';
	if (store_prop_get(d->store, name, "kernelopts", l->kopts,
			   sizeof(l->kopts), &is_default, l->err,
			   sizeof(l->err)) < 0)
		l->kopts[0] = '\0';
	if (qube_boot_init_opts(d, &l->q, l->kopts, l->allopts, sizeof(l->allopts),
		      l->err, sizeof(l->err)) < 0) {
		start_failed(f, BH_ADMIN_INVALID, "cannot start %s: %s", name,
			     l->err);
		return -1;
	}
	return 0;
}

/* The root volume: a named disposable's DVM's template root (its private
 * volume is copied by qube_vm_launch), else qube_boot_root's, with for a
 * TemplateVM a new version copied from the current one in a job. Returns
 * 0, 1 when the start waits for that copy (root_copied goes on), or a
 * negative errno with l->err said. */
static int root_copy_start(struct launch *l, const char *src);
static int launch_job(struct launch *l, struct job_spec *js,
		      job_done_fn fn);

static int prepare_root(struct launch *l)
{
	struct qube_vm *dv = l->dv;
	char src[PATH_MAX];
	int r;

	if (!l->b) {
		r = qube_boot_root(l->d, &l->q, dv, l->root, sizeof(l->root),
				   &l->writable, src, sizeof(src), l->err,
				   sizeof(l->err));
		return r < 0 || !src[0] ? r : root_copy_start(l, src);
	}
	/* Its private volume is a fresh copy of its DVM's at every start,
	 * made by qube_vm_launch in its runtime folder. */
	l->writable = 0;
	r = bh_path_fmt(l->root, sizeof(l->root), "%s", l->b->root) ||
			    bh_path_fmt(dv->private_src, sizeof(dv->private_src),
					"%s", l->b->private_src)
		    ? -ENAMETOOLONG
		    : 0;
	if (r < 0)
		snprintf(l->err, sizeof(l->err), "image paths too long");
	snprintf(dv->dvm, sizeof(dv->dvm), "%s", l->q.template_name);
	free(l->b);
	l->b = NULL;
	return r;
}

/* Every image's real path (the guest files' from d->guest, just
 * checked), for the snapshot's record of what a qube boots; bulkheadd's
 * parent hands the images a qube writes to its uid when it starts it.
 * Returns 0 or a negative errno with l->err said. */
static int prepare_rest(struct launch *l)
{
	struct daemon *d = l->d;
	struct qube_vm *dv = l->dv;
	int r = 0;

	bh_crash_point("start.after-private");
	if (!realpath(d->guest.kernel.path, l->kernel) ||
	    !realpath(d->guest.initramfs.path, l->initramfs) ||
	    !realpath(l->root, l->rroot) ||
	    (!dv->private_src[0] && !realpath(l->priv, l->rpriv))) {
		snprintf(l->err, sizeof(l->err),
			 "cannot resolve the images: %s", strerror(errno));
		r = -errno;
	}
	return r;
}

/* The VM's spec from what was gathered, and QEMU started. */
static int launch_vm(struct daemon *d, const char *name, struct launch *l,
		     struct qube_vm *dv)
{
	struct qube_spec spec;

	memset(&spec, 0, sizeof(spec));
	spec.kernel = l->kernel;
	spec.initramfs = l->initramfs;
	spec.root_img = l->rroot;
	spec.root_writable = l->writable;
	/* A DispVM's: made by qube_vm_launch. */
	spec.private_img = dv->private_src[0] ? NULL : l->rpriv;
	spec.jail_id = (unsigned)l->q.id;
	spec.kernelopts = l->allopts;
	spec.memory_mb = qube_boot_prop_uint(d, name, "memory", 400);
	spec.vcpus = qube_boot_prop_uint(d, name, "vcpus", 1);
	if (qube_spec_where(d, &spec, d->guest.kernel.path, l->root, l->err,
			    sizeof(l->err)) < 0)
		return -BH_EXIT_FAILURE;
	return qube_vm_launch(d, dv, &spec, l->err, sizeof(l->err));
}

/* A TemplateVM's new root version (dv->tmpl_work) made current
 * (commit: back to root, readable by every AppVM's uid, then current)
 * or dropped. The templates' folders are root's: bulkheadd's parent
 * does it. Returns 0 or -errno; a commit that fails drops the
 * version. */
static int root_version_end(struct daemon *d, struct qube_vm *dv,
			    int commit)
{
	const char *work = strrchr(dv->tmpl_work, '/') + 1;
	int r;

	if (d && d->priv.fd >= 0) {
		r = commit ? priv_link_root(&d->priv, BH_PRIV_ROOT_OP_COMMIT,
					    dv->name, work)
			   : -ECANCELED;
		if (r < 0)
			priv_link_root(&d->priv, BH_PRIV_ROOT_OP_ABORT,
				       dv->name, work);
	} else {
		/* No parent (unit tests). */
		r = commit && chown(dv->tmpl_work, 0, 0) == 0 &&
				    chmod(dv->tmpl_work, 0644) == 0
			    ? volume_root_commit(dv->tmpl_dir, dv->tmpl_work)
			    : -ECANCELED;
		if (r < 0)
			volume_root_abort(dv->tmpl_dir, dv->tmpl_work);
	}
	if (r < 0 && commit)
		LOG_WARN("%s: its new root version could not be committed: %s",
			 dv->name, strerror(-r));
	return r;
}

/* A launch that failed after dv was made: a template's new root
 * version is dropped. */
static void abandon_launch(struct daemon *d, struct qube_vm *dv)
{
	if (dv->tmpl_work[0])
		root_version_end(d, dv, 0);
	free(dv);
}

/* A start goes through these steps; the first three may wait for jobs
 * (qube_vm_wait_prep), and the job's callback goes on from the next. The
 * guest files are checked last, so that what QEMU opens is what was just
 * checked. */
enum launch_step {
	STEP_ROOT,    /* the root volume: a TemplateVM's new version, a copy */
	STEP_PRIVATE, /* a private volume that is missing: mke2fs */
	STEP_FILES,   /* the guest files' checksums (qube_boot_check_files) */
	STEP_QEMU,    /* the images handed over, QEMU */
};

static void files_checked(void *ctx, int r, const char *err);
static void private_made(void *ctx, const struct job_result *res);

/* The private volume (not a named disposable's: qube_vm_launch copies
 * its DVM's), made empty when missing, in a job. Returns 0, 1 while the
 * start waits for that job, or a negative errno with l->err said. */
static int prepare_private(struct launch *l)
{
	struct qube_vm *dv = l->dv;
	struct job_spec js;
	int missing, r;

	if (dv->private_src[0])
		return 0;
	r = qube_boot_private(l->d, dv->name, l->priv, sizeof(l->priv),
			      &missing, l->err, sizeof(l->err));
	if (r < 0 || !missing)
		return r;
	memset(&js, 0, sizeof(js));
	js.op = JOB_MKE2FS;
	js.size = VOLUME_PRIVATE_DEFAULT;
	snprintf(js.qube, sizeof(js.qube), "%s", dv->name);
	memcpy(js.dst, l->priv, sizeof(js.dst));
	LOG_INFO("%s: no private volume; making an empty one", dv->name);
	return launch_job(l, &js, private_made);
}

/* The start from step on. Returns 0 once it is launched (QEMU runs, or
 * qube_vm_launch waits for a private volume's copy), 1 while it waits
 * for a job, or <0 with l->status and l->err. */
static int launch_go(struct launch *l, enum launch_step step)
{
	struct qube_vm *dv = l->dv;
	int r;

	if (step == STEP_ROOT) {
		r = prepare_root(l);
		if (r < 0)
			l->status = r == -EPERM ? BH_ADMIN_REFUSED
						: BH_ADMIN_FAILED;
		if (r)
			return r;
	}
	if (step <= STEP_PRIVATE) {
		r = prepare_private(l);
		if (r < 0)
			l->status = BH_ADMIN_FAILED;
		if (r)
			return r;
	}
	if (step <= STEP_FILES) {
		r = qube_boot_check_files(l->d, dv, l->kver, BUILTIN_TEMPLATE,
					  files_checked, l, l->err,
					  sizeof(l->err));
		if (r < 0)
			l->status = BH_EXIT_SETUP;
		if (r)
			return r;
	}
	r = prepare_rest(l);
	if (r < 0) {
		l->status = BH_ADMIN_FAILED;
		return r;
	}
	r = launch_vm(l->d, dv->name, l, dv);
	if (r < 0) {
		l->status = (unsigned)-r;
		return r;
	}
	bh_crash_point("start.after-launch");
	return 0;
}

/* A start that waited for a job ends before QEMU: its waiters and the
 * store hear why from qube_stopped (through qube_vm_prep_failed), which
 * also drops a TemplateVM's new version. cancelled: it was stopped on
 * purpose, and whoever stopped it said why (l->err says how). */
static void launch_failed_late(struct launch *l, int cancelled)
{
	struct qube_vm *dv = l->dv;

	if (!cancelled)
		/* dv->err_code is what bh run exits with (qube_run.c). */
		qube_vm_error(dv,
			      l->status >= BH_EXIT_USAGE ? (int)l->status
							 : BH_EXIT_FAILURE,
			      "cannot start %s: %s", dv->name, l->err);
	else if (!dv->stop_reason)
		qube_vm_error(dv, BH_EXIT_FAILURE, "%s: %s", dv->name, l->err);
	launch_free(l);
	qube_vm_prep_failed(dv);
}

/* The job a start waited for ended well: on from step. */
static void launch_resume(struct launch *l, enum launch_step step)
{
	int r = launch_go(l, step);

	if (r < 0)
		launch_failed_late(l, 0);
	else if (r == 0)
		launch_free(l);
}

static void files_checked(void *ctx, int r, const char *err)
{
	struct launch *l = ctx;

	if (r < 0) {
		l->status = BH_EXIT_SETUP;
		snprintf(l->err, sizeof(l->err), "%s", err);
		launch_failed_late(l, r == -ECANCELED);
		return;
	}
	launch_resume(l, STEP_QEMU);
}

/* The job a start waited for (js, started here) has ended in fn, which
 * calls launch_job_ended. Returns 1 (the start waits), or <0 with
 * l->err. */
static int launch_job(struct launch *l, struct job_spec *js, job_done_fn fn)
{
	char why[1024];
	struct job *j = job_start(l->d, js, fn, l, why, sizeof(why));

	if (!j) {
		snprintf(l->err, sizeof(l->err), "cannot start its %s: %s",
			 job_op_name(js->op), why);
		return -EIO;
	}
	qube_vm_wait_prep(l->d, l->dv, j);
	return 1;
}

/* A job the start waited for has ended: 0 when it went well, else the
 * start has failed (what: what the job was to do) and l is gone. */
static int launch_job_ended(struct launch *l, const struct job_result *res,
			    const char *what)
{
	l->dv->prep_job = NULL;
	if (res->result >= 0)
		return 0;
	l->status = res->result == -ENOSPC ? BH_EXIT_NOSPACE : BH_EXIT_FAILURE;
	snprintf(l->err, sizeof(l->err), "%s: %s", what, res->msg);
	launch_failed_late(l, res->result == -ECANCELED);
	return -1;
}

/* A TemplateVM's new root version is whole. */
static void root_copied(void *ctx, const struct job_result *res)
{
	struct launch *l = ctx;
	struct qube_vm *dv = l->dv;

	if (launch_job_ended(l, res, "cannot make its new root version") < 0)
		return;
	LOG_INFO("%s: new root version %s made in %lld ms (%s)", dv->name,
		 strrchr(dv->tmpl_work, '/') + 1,
		 (long long)(bh_now_ms() - dv->started_ms),
		 res->aux == VOLUME_COPY_REFLINK ? "reflink" : "sparse copy");
	launch_resume(l, STEP_PRIVATE);
}

static void private_made(void *ctx, const struct job_result *res)
{
	struct launch *l = ctx;

	if (launch_job_ended(l, res, "cannot make its private volume") < 0)
		return;
	launch_resume(l, STEP_FILES);
}

/* The template's current root copied to its new version
 * (dv->tmpl_work), which it writes while it runs: a job, in a temporary
 * renamed into place once whole; the start waits for it. */
static int root_copy_start(struct launch *l, const char *src)
{
	struct qube_vm *dv = l->dv;
	struct job_spec js;

	memset(&js, 0, sizeof(js));
	js.op = JOB_COPY;
	snprintf(js.qube, sizeof(js.qube), "%s", dv->name);
	if (bh_path_fmt(js.src, sizeof(js.src), "%s", src) ||
	    bh_path_fmt(js.dst, sizeof(js.dst), "%s", dv->tmpl_work)) {
		snprintf(l->err, sizeof(l->err), "template paths too long");
		return -ENAMETOOLONG;
	}
	return launch_job(l, &js, root_copied);
}

struct qube_vm *qube_launch(struct daemon *d, const char *name,
			   struct qube_start_fail *f)
{
	struct launch *l = calloc(1, sizeof(*l));
	struct qube_vm *dv;
	int r;

	if (!l)
		return start_failed(f, BH_ADMIN_FAILED, "out of memory");
	l->d = d;
	if (check_startable(d, name, l, f) < 0 ||
	    load_dvm_boot(d, name, l, f) < 0 ||
	    read_kernel_and_opts(d, name, l, f) < 0) {
		launch_free(l);
		return NULL;
	}
	dv = calloc(1, sizeof(*dv));
	if (!dv) {
		launch_free(l);
		return start_failed(f, BH_ADMIN_FAILED, "out of memory");
	}
	snprintf(dv->name, sizeof(dv->name), "%s", name);
	dv->persistent = 1;
	l->dv = dv;
	r = launch_go(l, STEP_ROOT);
	if (r < 0) {
		start_failed(f, l->status, "cannot start %s: %s", name,
			     l->err);
		abandon_launch(d, dv);
		launch_free(l);
		return NULL;
	}
	/* 1: it waits for a job, whose callback goes on. */
	if (r == 0)
		launch_free(l);
	qube_power_record(d, name, "Transient", "starting");
	return dv;
}

void qube_start(struct daemon *d, struct client *c, const char *name)
{
	struct qube_start_fail f;
	struct qube_vm *dv = qube_launch(d, name, &f);

	if (!dv) {
		reply(c, f.status, "%s", f.msg);
		return;
	}
	dv->waiter = c;
}

void qube_ready(struct qube_vm *dv)
{
	bh_crash_point("start.before-running");
	/* A re-attached qube may have been paused under the earlier
	 * daemon (qube_attach.h). */
	qube_power_record(dv->d, dv->name, dv->paused ? "Paused" : "Running",
			  "");
	dv->was_ready = 1;
	if (dv->waiter) {
		reply_ok(dv->waiter);
		dv->waiter = NULL;
	}
	dv->d->hooks->qube_run_ready(dv);
}

void qube_stopped(struct qube_vm *dv)
{
	const char *reason = dv->stop_reason;
	int clean = reason && !strcmp(reason, "shut down");

	/* A template's changes count only after a clean shutdown: never a
	 * torn image for its AppVMs. */
	if (dv->tmpl_work[0] && root_version_end(dv->d, dv, clean) == 0 && clean)
		LOG_INFO("%s: new root version committed", dv->name);
	char first_line[200];

	if (!reason && dv->err_code) {
		/* The store and the events keep one short line: the first
		 * of the error (the console lines follow it). */
		snprintf(first_line, sizeof(first_line), "%.*s",
			 (int)strcspn(dv->err_msg, "\n"), dv->err_msg);
		reason = first_line;
	}
	if (!reason)
		reason = "QEMU exited unexpectedly";
	qube_power_record(dv->d, dv->name, "Halted", reason);
	LOG_INFO("%s: halted (%s)", dv->name, reason);
	dv->d->hooks->qube_run_failed(dv, reason);
	if (dv->waiter) {
		/* Not ready and not stopped on purpose: the start failed,
		 * also when the failure killed QEMU (a broken protocol, a
		 * channel process gone), which leaves it DV_STOPPING. */
		int start_failed = !dv->was_ready && !dv->stop_reason;

		if (start_failed && dv->err_code)
			reply(dv->waiter, BH_ADMIN_FAILED, "%s", dv->err_msg);
		else if (start_failed)
			reply(dv->waiter, BH_ADMIN_FAILED,
			      "qube %s stopped while starting", dv->name);
		else
			reply_ok(dv->waiter);
		dv->waiter = NULL;
	}
}

int qube_resume(struct daemon *d, struct qube_vm *dv)
{
	if (qmp_command(&dv->qmp, "cont") < 0)
		return -EIO;
	dv->paused = 0;
	attach_record_set_paused(dv->run_dir, 0);
	qube_power_record(d, dv->name, "Running", "");
	return 0;
}

void qube_client_gone(struct daemon *d, struct client *c)
{
	struct qube_vm *dv;

	for (dv = d->qubes; dv; dv = dv->next)
		if (dv->waiter == c)
			dv->waiter = NULL;
	d->hooks->qube_run_client_gone(c);
}

struct name_list {
	char (*v)[QUBE_NAME_MAX + 1];
	size_t n, cap;
};

static int collect_name(void *arg, const struct qube_info *q)
{
	struct name_list *l = arg;

	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 16;
		void *v = realloc(l->v, cap * sizeof(*l->v));

		if (!v)
			return -ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	snprintf(l->v[l->n++], sizeof(*l->v), "%s", q->name);
	return 0;
}

void qube_autostart(struct daemon *d)
{
	struct name_list l = { NULL, 0, 0 };
	char v[16], err[512];
	int is_default;
	size_t i;

	/* Names first: a store list callback must not write, and a start
	 * records the qube's power state. */
	if (store_qube_list(d->store, collect_name, &l, err, sizeof(err)) < 0)
		LOG_WARN("autostart: %s", err);
	for (i = 0; i < l.n; i++) {
		if (store_prop_get(d->store, l.v[i], "autostart", v, sizeof(v),
				   &is_default, err, sizeof(err)) < 0 ||
		    strcmp(v, "True"))
			continue;
		LOG_INFO("%s: autostart", l.v[i]);
		qube_start(d, NULL, l.v[i]);
	}
	free(l.v);
}

void qube_stop_for_exit(struct qube_vm *dv)
{
	if (dv->state == DV_STOPPING)
		return;
	if (dv->state == DV_BOOTING) {
		dv->stop_reason = "bulkheadd stopped";
		qube_vm_kill(dv);
		return;
	}
	dv->stop_reason = "bulkheadd stopped";
	if (dv->paused)
		qmp_command(&dv->qmp, "cont");
	bh_chan_send(&dv->chan, BH_MSG_POWEROFF, 0, NULL, 0);
	dv->state = DV_STOPPING;
	dv->deadline_ms = bh_now_ms() + QUBE_DAEMON_EXIT_MS;
}

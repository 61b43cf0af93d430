/* What a qube boots from (see qube_boot.h): its guest files checked, its
 * root image, its private volume, its kernel options and sizes, and what
 * a disposable of a disposable template boots. Starting and stopping is
 * qube_power.c's. */
#include "daemon/qube/qube_boot.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/qube/qube_vm.h"
#include "daemon/qube/qube_vm_launch.h"
#include "daemon/engine/jail.h"
#include "daemon/jobs/job.h"
#include "daemon/store/store.h"
#include "daemon/state/qube_paths.h"
#include "daemon/disk/volume.h"
#include "lib/log.h"
#include "lib/util.h"

/* ---- the guest's files, their checksums computed in jobs ---- */

/* A start whose guest files are being checked. It checks its own copy
 * of the daemon's record (g), so that what it verified stays verified
 * for it while starts with other kernels check theirs; the daemon's
 * record gets the copy back once every file is verified. */
struct files_wait {
	struct files_wait *next; /* another start waiting for the same job */
	struct daemon *d;
	struct qube_vm *dv;
	struct guest_files g;
	struct guest_files_pending pend;
	char kernel[sizeof(((struct guest_files *)0)->kernel_version)];
	char tmpl[QUBE_NAME_MAX + 1];
	qube_boot_files_fn fn;
	void *ctx;
};

/* One checksum being computed (a JOB_HASH job) and the starts waiting
 * for it: every start that finds a file changed while its checksum is
 * being computed waits for that job rather than starting another. */
struct files_hash {
	struct files_wait *waiters;
	struct stat st; /* the file as the job's first start saw it */
};

static void files_hashed(void *arg, const struct job_result *res);

/* The job computing the checksum of pend's file, as pend saw it. */
static struct job *hash_running(struct daemon *d,
				const struct guest_files_pending *pend)
{
	struct job *j;

	for (j = d->jobs; j; j = j->next) {
		struct files_hash *h = j->ctx;

		if (j->fn == files_hashed && !j->cancelled &&
		    !strcmp(j->spec.src, pend->f->path) &&
		    guest_files_same(&h->st, &pend->st))
			return j;
	}
	return NULL;
}

/* Checks w's files: 0 when all are verified (the daemon's record is
 * then w's), 1 when w waits for the job computing the checksum of the
 * first one that is not, else an error with err. */
static int files_step(struct files_wait *w, char *err, size_t cap)
{
	struct daemon *d = w->d;
	struct files_hash *h;
	struct job_spec js;
	char why[512];
	struct job *j;
	int r;

	r = guest_files_check(&w->g, d->paths.state, w->kernel, w->tmpl,
			      &w->pend, err, cap);
	if (r <= 0) {
		if (r == 0)
			d->guest = w->g;
		return r;
	}
	j = hash_running(d, &w->pend);
	if (j) {
		job_hold(j);
		h = j->ctx;
	} else {
		h = calloc(1, sizeof(*h));
		if (!h) {
			snprintf(err, cap, "out of memory");
			return -ENOMEM;
		}
		h->st = w->pend.st;
		memset(&js, 0, sizeof(js));
		js.op = JOB_HASH;
		snprintf(js.qube, sizeof(js.qube), "%s", w->dv->name);
		memcpy(js.src, w->pend.f->path, sizeof(js.src));
		j = job_start(d, &js, files_hashed, h, why, sizeof(why));
		if (!j) {
			free(h);
			snprintf(err, cap, "cannot check %s %.1500s: %s",
				 w->pend.what, w->pend.f->path, why);
			return -EIO;
		}
		LOG_INFO("%s: %s %s is new or changed; its checksum is "
			 "computed in job %u",
			 w->dv->name, w->pend.what, w->pend.f->path, j->id);
	}
	w->next = h->waiters;
	h->waiters = w;
	qube_vm_wait_prep(d, w->dv, j);
	return 1;
}

/* A checksum's job has ended: each start that waited for it checks it,
 * then its next file, and goes on (or ends) once all are checked. */
static void files_hashed(void *arg, const struct job_result *res)
{
	struct files_hash *h = arg;
	struct files_wait *w, *next;
	char err[2048];
	int r;

	for (w = h->waiters; w; w = next) {
		next = w->next;
		w->dv->prep_job = NULL;
		r = res->result;
		if (r == -ECANCELED)
			snprintf(err, sizeof(err), "%s", res->msg);
		else if (r < 0)
			snprintf(err, sizeof(err),
				 "cannot compute the checksum of %s %.1500s: "
				 "%s",
				 w->pend.what, w->pend.f->path, res->msg);
		else if (w->dv->state == DV_STOPPING) {
			/* Killed while others waited for the job too. */
			r = -ECANCELED;
			snprintf(err, sizeof(err), "the qube was stopped "
						   "before QEMU started");
		} else {
			r = guest_files_hashed(&w->pend, res->msg, err,
					       sizeof(err));
		}
		if (r == 0)
			r = files_step(w, err, sizeof(err));
		if (r == 1)
			continue;
		w->fn(w->ctx, r, r == 0 ? "" : err);
		free(w);
	}
	free(h);
}

int qube_boot_check_files(struct daemon *d, struct qube_vm *dv,
			  const char *kernel, const char *tmpl,
			  qube_boot_files_fn fn, void *ctx, char *err,
			  size_t cap)
{
	struct files_wait *w;
	int r;

	if (!kernel)
		kernel = "";
	/* guest_files_check refuses a name this long: keep it whole. */
	if (strlen(kernel) >= sizeof(w->kernel)) {
		snprintf(err, cap, "bad kernel name '%.200s'", kernel);
		return -EINVAL;
	}
	w = malloc(sizeof(*w));
	if (!w) {
		snprintf(err, cap, "out of memory");
		return -ENOMEM;
	}
	w->d = d;
	w->dv = dv;
	w->g = d->guest;
	snprintf(w->kernel, sizeof(w->kernel), "%s", kernel);
	snprintf(w->tmpl, sizeof(w->tmpl), "%s", tmpl);
	w->fn = fn;
	w->ctx = ctx;
	r = files_step(w, err, cap);
	if (r != 1)
		free(w);
	return r;
}

static int next_root_version(struct daemon *d, const char *tmpl,
			     struct qube_vm *dv, char *copy_src, size_t scap,
			     char *err, size_t ecap)
{
	char cur[BH_PRIV_FILE_MAX], work[BH_PRIV_FILE_MAX];
	int r;

	/* No parent (unit tests): done here. */
	if (d->priv.fd < 0)
		return volume_root_next(dv->tmpl_dir, copy_src, scap,
					dv->tmpl_work, sizeof(dv->tmpl_work),
					err, ecap);
	r = priv_link_root_next(&d->priv, tmpl, cur, work, err, ecap);
	if (r < 0)
		return r;
	if (bh_path_fmt(copy_src, scap, "%s/%s", dv->tmpl_dir, cur) ||
	    bh_path_fmt(dv->tmpl_work, sizeof(dv->tmpl_work), "%s/%s",
			dv->tmpl_dir, work)) {
		snprintf(err, ecap, "path too long");
		return -ENAMETOOLONG;
	}
	return 0;
}

/* The root image a qube boots from, and whether QEMU may write it. */
int qube_boot_root(struct daemon *d, const struct qube_info *q,
		   struct qube_vm *dv, char *out, size_t cap, int *writable,
		   char *copy_src, size_t scap, char *err, size_t ecap)
{
	char dir[4096];
	int r;

	*writable = 0;
	copy_src[0] = '\0';
	if (q->cls == QC_APP) {
		if (bh_path_fmt(dir, sizeof(dir), "%s/templates/%s",
				d->paths.state, q->template_name))
			return -ENAMETOOLONG;
		r = volume_root_current(dir, out, cap);
		if (r < 0)
			snprintf(err, ecap, "template %s has no root image: %s",
				 q->template_name, strerror(-r));
		return r;
	}
	if (q->cls == QC_TEMPLATE) {
		if (!strcmp(q->name, BUILTIN_TEMPLATE)) {
			snprintf(err, ecap,
				 "the built-in template %s is rebuilt by "
				 "bh-build-guest, not updated by running it",
				 q->name);
			return -EPERM;
		}
		if (bh_path_fmt(dv->tmpl_dir, sizeof(dv->tmpl_dir),
				"%s/templates/%s", d->paths.state, q->name))
			return -ENAMETOOLONG;
		/* The template writes a new version; AppVMs started
		 * meanwhile keep the current one. The templates' folders
		 * are root's: bulkheadd's parent names it (and turns a
		 * plain root.img into version 0). */
		r = next_root_version(d, q->name, dv, copy_src, scap, err,
				      ecap);
		if (r < 0)
			return r;
		*writable = 1;
		return bh_path_fmt(out, cap, "%s", dv->tmpl_work);
	}
	*writable = 1;
	return bh_path_fmt(out, cap, "%s/qubes/%s/root.img", d->paths.state,
			   q->name);
}

unsigned qube_boot_prop_uint(struct daemon *d, const char *name,
			  const char *prop, unsigned fallback)
{
	char v[64], err[256];
	int is_default;

	if (store_prop_get(d->store, name, prop, v, sizeof(v), &is_default,
			   err, sizeof(err)) < 0)
		return fallback;
	return (unsigned)strtoul(v, NULL, 10);
}

int qube_boot_private(struct daemon *d, const char *name, char *out,
		      size_t cap, int *missing, char *err, size_t ecap)
{
	char dir[4096];

	*missing = 0;
	if (bh_path_fmt(dir, sizeof(dir), "%s/qubes/%s", d->paths.state,
			name) ||
	    bh_path_fmt(out, cap, "%s/private.img", dir))
		return -ENAMETOOLONG;
	if (access(out, F_OK) == 0)
		return 0;
	if (bh_mkdir_p(dir, 0700) < 0) {
		snprintf(err, ecap, "cannot create %.1500s: %s", dir,
			 strerror(errno));
		return -errno;
	}
	*missing = 1;
	return 0;
}

/* The feature init=systemd, on the qube or what it is made from (an
 * AppVM's template; a DispVM's disposable template, then that one's
 * template), becomes bh.init=systemd after the kernelopts: the agent
 * hands PID 1 over to systemd (src/agent/handover.h). Without it, the
 * fast path. */
int qube_boot_init_opts(struct daemon *d, const struct qube_info *q,
		     const char *kopts, char *out, size_t cap, char *err,
		     size_t ecap)
{
	char v[64] = "", ferr[STORE_ERR_MAX];
	struct qube_info dvm;
	int found;

	found = store_feature_get(d->store, q->name, "init", v, sizeof(v),
				  ferr, sizeof(ferr)) == 0;
	if (!found && (q->cls == QC_APP || q->cls == QC_DISP))
		found = store_feature_get(d->store, q->template_name, "init", v,
					  sizeof(v), ferr, sizeof(ferr)) == 0;
	if (!found && q->cls == QC_DISP &&
	    store_qube_get(d->store, q->template_name, &dvm, ferr,
			   sizeof(ferr)) == 0)
		found = store_feature_get(d->store, dvm.template_name, "init",
					  v, sizeof(v), ferr,
					  sizeof(ferr)) == 0;
	if (!found)
		v[0] = '\0';
	if (v[0] && strcmp(v, "systemd")) {
		snprintf(err, ecap, "feature init is '%.60s'; the only value "
			 "is 'systemd' (remove the feature for the fast "
			 "boot without it)", v);
		return -EINVAL;
	}
	snprintf(out, cap, "%s%s%s", kopts, kopts[0] && v[0] ? " " : "",
		 v[0] ? "bh.init=systemd" : "");
	return 0;
}

int qube_dvm_boot(struct daemon *d, const char *dvm, struct dvm_boot *b,
		  char *err, size_t cap)
{
	char v[PROP_VALUE_MAX + 1], tdir[4096], kopts[1100];
	struct qube_info q;
	int r, is_default;

	memset(b, 0, sizeof(*b));
	r = store_qube_get(d->store, dvm, &q, err, cap);
	if (r == -ENOENT) {
		/* The store's message names the qube only when the name is
		 * valid; it says nothing of what to do. */
		char why[STORE_ERR_MAX];

		snprintf(why, sizeof(why), "%s", err);
		snprintf(err, cap,
			 "disposable template: %s; name an AppVM with "
			 "template_for_dispvms=True, or make one with `bh "
			 "prefs QUBE template_for_dispvms True`",
			 why);
		return -ESRCH;
	}
	if (r < 0)
		return -EIO;
	if (q.cls == QC_APP &&
	    store_prop_get(d->store, dvm, "template_for_dispvms", v, sizeof(v),
			   &is_default, err, cap) < 0)
		return -EIO;
	if (q.cls != QC_APP || strcmp(v, "True")) {
		snprintf(err, cap,
			 "qube %s is not a disposable template; make it one "
			 "with `bh prefs %s template_for_dispvms True` (an "
			 "AppVM only)",
			 dvm, dvm);
		return -EINVAL;
	}
	if (qube_find_running(d, dvm)) {
		snprintf(err, cap,
			 "disposable template %s is running, and its private "
			 "volume is copied only while it is halted; shut it "
			 "down first with `bh shutdown --wait %s`",
			 dvm, dvm);
		return -EBUSY;
	}
	if (bh_path_fmt(tdir, sizeof(tdir), "%s/templates/%s", d->paths.state,
			q.template_name) ||
	    bh_path_fmt(b->private_src, sizeof(b->private_src),
			"%s/qubes/%s/private.img", d->paths.state, dvm)) {
		snprintf(err, cap, "state folder path too long");
		return -ENAMETOOLONG;
	}
	r = volume_root_current(tdir, b->root, sizeof(b->root));
	if (r < 0) {
		snprintf(err, cap,
			 "template %s of disposable template %s has no root "
			 "image (%s); reinstall or rebuild it (bh template)",
			 q.template_name, dvm, strerror(-r));
		return -ENODATA;
	}
	if (access(b->private_src, R_OK) < 0) {
		snprintf(err, cap,
			 "disposable template %s has no private volume %.1500s "
			 "(%s); start it once (`bh start %s`) to make an "
			 "empty one",
			 dvm, b->private_src, strerror(errno), dvm);
		return -ENODATA;
	}
	if (store_prop_get(d->store, dvm, "kernel", b->kver, sizeof(b->kver),
			   &is_default, err, cap) < 0)
		b->kver[0] = '\0';
	if (store_prop_get(d->store, dvm, "kernelopts", kopts, sizeof(kopts),
			   &is_default, err, cap) < 0)
		kopts[0] = '\0';
	r = qube_boot_init_opts(d, &q, kopts, b->kopts, sizeof(b->kopts), err, cap);
	if (r < 0)
		return r;
	b->memory_mb = qube_boot_prop_uint(d, dvm, "memory", 400);
	b->vcpus = qube_boot_prop_uint(d, dvm, "vcpus", 1);
	return 0;
}

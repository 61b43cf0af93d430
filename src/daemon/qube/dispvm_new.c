/* How a disposable starts (dispvm_new.h): its name, what it boots from,
 * QEMU from its disposable template's snapshot or cold. Moved out of
 * disposable.c so that the pool, which makes its preloaded qubes here,
 * sits between the two. */
#include "daemon/qube/dispvm_new.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "daemon/qube/qube_vm.h"
#include "daemon/qube/qube_vm_end.h"
#include "daemon/qube/qube_vm_launch.h"
#include "daemon/qube/dispvm_snapshot.h"
#include "daemon/qube/qube_boot.h"
#include "daemon/state/qube_paths.h"
#include "daemon/state/run_user.h"
#include "daemon/store/qube_uuid.h"
#include "daemon/store/store.h"
#include "lib/log.h"
#include "lib/util.h"
#include "proto/exitcodes.h"

/* Disposables are named dispN, N random in 1..DISPVM_MAX_NO as in Qubes;
 * N also picks the jail uid. The name is one no running qube has and no
 * record in the store has either: users cannot make such names
 * (qube_name_check_new), but a database written before that rule may
 * hold one, and policy, tags and asks would take the two for one. */
static int pick_name(struct daemon *d, char *out, size_t cap, unsigned *no)
{
	int tries;

	for (tries = 0; tries < 100; tries++) {
		char err[STORE_ERR_MAX];
		struct qube_info q;
		unsigned int n;
		struct qube_vm *o;
		int used = 0, e;

		if (getrandom(&n, sizeof(n), 0) != sizeof(n))
			return -EIO;
		*no = 1 + n % DISPVM_MAX_NO;
		snprintf(out, cap, "disp%u", *no);
		for (o = d->qubes; o; o = o->next)
			used |= !strcmp(o->name, out);
		if (used)
			continue;
		if (!d->store)
			return 0;
		e = store_qube_get(d->store, out, &q, err, sizeof(err));
		if (e == -ENOENT)
			return 0;
		if (e < 0) {
			LOG_WARN("cannot name a disposable: %s", err);
			return e;
		}
	}
	return -EBUSY;
}

/* What a disposable of dvm ("" = the minimal template) boots: canonical
 * paths (the jail binds files at their real paths), memory, vCPUs,
 * kernel options and, in b.private_src, the private volume to copy ("" for
 * the minimal template: b stays zeroed). */
struct disposable_boot {
	char kernel[PATH_MAX], initramfs[PATH_MAX], root[PATH_MAX];
	struct dvm_boot b;
	struct qube_spec spec;
};

/* Reads what a disposable of dvm boots into *f, its guest files not
 * checked yet. Returns 0, or a negative bh exit code with err set. */
static int disposable_boot_read(struct daemon *d, const char *dvm,
				struct disposable_boot *f, char *err,
				size_t cap)
{
	int r;

	memset(f, 0, sizeof(*f));
	if (!dvm[0])
		return 0;
	r = qube_dvm_boot(d, dvm, &f->b, err, cap);
	if (r < 0)
		return r == -ESRCH || r == -EINVAL ? -BH_EXIT_USAGE
		       : r == -ENODATA		   ? -BH_EXIT_SETUP
						   : -BH_EXIT_FAILURE;
	return 0;
}

/* The rest of *f, from the guest files in g. Returns 0, or a negative bh
 * exit code with err set. */
static int disposable_boot_spec(struct daemon *d, const char *dvm,
				const struct guest_files *g,
				struct disposable_boot *f, char *err,
				size_t cap)
{
	if (!realpath(g->kernel.path, f->kernel) ||
	    !realpath(g->initramfs.path, f->initramfs) ||
	    !realpath(dvm[0] ? f->b.root : g->root.path, f->root)) {
		snprintf(err, cap, "cannot resolve the guest images: %s",
			 strerror(errno));
		return -BH_EXIT_SETUP;
	}
	if (qube_spec_where(d, &f->spec, g->kernel.path,
			    dvm[0] ? f->b.root : g->root.path, err, cap) < 0)
		return -BH_EXIT_SETUP;
	f->spec.kernel = f->kernel;
	f->spec.initramfs = f->initramfs;
	f->spec.root_img = f->root;
	f->spec.memory_mb = DISPVM_MEMORY_MB;
	f->spec.vcpus = DISPVM_VCPUS;
	f->spec.disposable = 1;
	f->spec.tsc_khz = d->tsc_khz;
	if (dvm[0]) {
		f->spec.memory_mb = f->b.memory_mb;
		f->spec.vcpus = f->b.vcpus;
		f->spec.kernelopts = f->b.kopts;
	}
	return 0;
}

int dispvm_snapshot_inputs(struct daemon *d, const char *dvm, char *out,
			   size_t cap)
{
	struct disposable_boot *f = malloc(sizeof(*f));
	struct guest_files *g = malloc(sizeof(*g));
	char qemu[PATH_MAX], err[1024];
	int r = f && g ? 0 : -ENOMEM;

	/* Where the files are is enough: the manifest holds what they are
	 * (their identity), and a file that changed makes it differ. No
	 * checksum is computed here. */
	if (r == 0)
		r = disposable_boot_read(d, dvm, f, err, sizeof(err));
	if (r == 0)
		r = guest_files_locate(g, d->paths.state, f->b.kver,
				       BUILTIN_TEMPLATE, err,
				       sizeof(err));
	if (r == 0)
		r = disposable_boot_spec(d, dvm, g, f, err, sizeof(err));
	if (r == 0)
		r = engine_find_qemu(qemu, sizeof(qemu));
	if (r == 0)
		r = snapshot_manifest_inputs(qemu, &f->spec,
					     d->accel.accel == ACCEL_KVM,
					     f->b.private_src, out, cap);
	free(g);
	free(f);
	return r < 0 ? r : 0;
}

/* Starts QEMU for dv (named, with jail_no set) as a disposable of dvm:
 * from the snapshot when one is valid and `how` allows (LAUNCH_ANY,
 * LAUNCH_RESTORE_ONLY), else cold. Returns 0 (dv booting: QEMU runs, or
 * its start waits for a job: the checksum of a guest file, then its
 * private volume's copy), or a negative bh exit code with err set and
 * nothing of the attempt left. */
enum launch_how { LAUNCH_COLD, LAUNCH_ANY, LAUNCH_RESTORE_ONLY };

static int launch_disposable(struct daemon *d, struct qube_vm *dv,
			     const char *dvm, enum launch_how how, char *err,
			     size_t cap);

/* A disposable's start that waited for the checksum of a guest file. */
struct disposable_wait {
	struct qube_vm *dv;
	enum launch_how how;
};

static void disposable_files_checked(void *ctx, int r, const char *why)
{
	struct disposable_wait *w = ctx;
	struct qube_vm *dv = w->dv;
	char err[2048];

	if (r == -ECANCELED) {
		/* Stopped on purpose: whoever stopped it said why. */
		if (!dv->stop_reason)
			qube_vm_error(dv, BH_EXIT_FAILURE, "%s: %s", dv->name,
				      why);
	} else if (r < 0) {
		qube_vm_error(dv, BH_EXIT_SETUP, "%s: %s", dv->name, why);
	} else {
		/* Its files are verified now (d->guest): the same launch,
		 * without a wait this time. */
		r = launch_disposable(dv->d, dv, dv->dvm, w->how, err,
				      sizeof(err));
		if (r < 0)
			qube_vm_error(dv, -r, "%s: %s", dv->name, err);
	}
	free(w);
	if (r < 0)
		qube_vm_prep_failed(dv);
}

static int launch_disposable(struct daemon *d, struct qube_vm *dv,
			     const char *dvm, enum launch_how how, char *err,
			     size_t cap)
{
	struct disposable_boot *f = malloc(sizeof(*f));
	struct disposable_wait *w = NULL;
	char cmdline_name[QUBE_NAME_MAX + 1];
	int r;

	if (!f) {
		snprintf(err, cap, "out of memory");
		return -BH_EXIT_FAILURE;
	}
	r = disposable_boot_read(d, dvm, f, err, cap);
	/* dvm may be dv->dvm itself (a relaunch, a start that waited). */
	if (dvm != dv->dvm)
		snprintf(dv->dvm, sizeof(dv->dvm), "%s", dvm);
	dvm = dv->dvm;
	if (r == 0) {
		w = malloc(sizeof(*w));
		r = w ? qube_boot_check_files(d, dv, f->b.kver,
					      BUILTIN_TEMPLATE,
					      disposable_files_checked, w,
					      err, cap)
		      : -ENOMEM;
		if (r == -ENOMEM)
			snprintf(err, cap, "out of memory");
		if (r < 0)
			r = r == -ENOMEM ? -BH_EXIT_FAILURE : -BH_EXIT_SETUP;
	}
	if (r == 1) {
		/* Goes on in disposable_files_checked. */
		w->dv = dv;
		w->how = how;
		free(f);
		return 0;
	}
	free(w);
	if (r == 0)
		r = disposable_boot_spec(d, dvm, &d->guest, f, err, cap);
	if (r < 0) {
		free(f);
		return r;
	}
	f->spec.jail_id = DISPVM_JAIL_ID_BASE + dv->jail_no;
	snprintf(dv->private_src, sizeof(dv->private_src), "%s",
		 f->b.private_src);
	dv->snap = DVS_COLD;
	dv->snap_fd = -1;
	if (how != LAUNCH_COLD)
		snapshot_prepare(d, dv, &f->spec, cmdline_name,
				 sizeof(cmdline_name));
	if (how == LAUNCH_RESTORE_ONLY && dv->snap != DVS_RESTORE) {
		free(dv->snap_manifest);
		dv->snap_manifest = NULL;
		free(f);
		snprintf(err, cap, "no valid snapshot of %s to preload from",
			 dvm[0] ? dvm : "the minimal template");
		return -BH_EXIT_FAILURE;
	}
	if (dvm[0])
		LOG_INFO("%s: a disposable of %s", dv->name, dvm);
	r = qube_vm_launch(d, dv, &f->spec, err, cap);
	/* QEMU has its own copy of the stream now (or never will). */
	if (f->spec.restore_fd > 0)
		close(f->spec.restore_fd);
	free(f);
	return r;
}

/* A fresh disposable, booting: from disposable template dvm (its
 * template's root, a copy of its private volume), or from the minimal
 * template with no private volume when dvm is "". pooled: made ahead of
 * any request (dispvm_pool.h), from the snapshot only. Returns it, or
 * NULL with *code (a bh exit code) and err set and nothing left. */
struct qube_vm *dispvm_new(struct daemon *d, const char *dvm, int pooled,
			  int *code, char *err, size_t cap)
{
	struct qube_vm *dv, *o;
	unsigned running = 0;
	int r;

	for (o = d->qubes; o; o = o->next)
		running += !o->persistent && qube_vm_live(o);
	if (running >= d->dispvm_cap) {
		*code = BH_EXIT_FAILURE;
		snprintf(err, cap,
			 "%u disposables run already, the most this host's "
			 "memory allows; wait for some to finish",
			 running);
		return NULL;
	}
	dv = calloc(1, sizeof(*dv));
	if (!dv) {
		*code = BH_EXIT_FAILURE;
		snprintf(err, cap, "out of memory");
		return NULL;
	}
	dv->pooled = pooled;
	r = pick_name(d, dv->name, sizeof(dv->name), &dv->jail_no);
	if (r < 0) {
		*code = BH_EXIT_FAILURE;
		snprintf(err, cap, "cannot name a new qube: %s", strerror(-r));
		free(dv);
		return NULL;
	}
	/* A uuid of its own, as a Qubes disposable has (uuid:UUID in
	 * policy); kept through a cold relaunch, which is the same qube. */
	r = qube_uuid_new(dv->uuid);
	if (r < 0) {
		*code = BH_EXIT_FAILURE;
		snprintf(err, cap, "cannot make a uuid: %s", strerror(-r));
		free(dv);
		return NULL;
	}
	r = launch_disposable(d, dv, dvm,
			      pooled ? LAUNCH_RESTORE_ONLY : LAUNCH_ANY, err,
			      cap);
	if (r < 0) {
		char why[1024];

		*code = -r;
		snprintf(why, sizeof(why), "%s", err);
		snprintf(err, cap, "%s: %s", dv->name, why);
		free(dv->snap_manifest);
		free(dv);
		return NULL;
	}
	return dv;
}

/* A restore failed before the agent answered: the same qube (name,
 * client, waiting calls) boots cold instead (its snapshot is gone now,
 * so it takes a new one). Its old QEMU is reaped and
 * its runtime folder gone. Returns 0, or <0 with the error recorded. */
int disposable_relaunch_cold(struct qube_vm *dv)
{
	char err[2048];
	int r;

	bh_chan_free(&dv->chan);
	bh_rm_rf(dv->run_dir);
	dv->err_code = 0;
	dv->err_msg[0] = '\0';
	dv->kill_sent = dv->quit_sent = 0;
	r = launch_disposable(dv->d, dv, dv->dvm, LAUNCH_ANY, err,
			      sizeof(err));
	if (r < 0) {
		qube_vm_error(dv, -r, "%s: restoring its snapshot failed, and so "
			 "did a cold boot: %s", dv->name, err);
		return r;
	}
	return 0;
}

/* What a qube boots from (see qube_boot.h): its root image, its private
 * volume, its kernel options and sizes, and what a disposable of a
 * disposable template boots. Starting and stopping is qube_power.c's. */
#include "daemon/qube/qube_boot.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/qube/qube_vm.h"
#include "daemon/engine/jail.h"
#include "daemon/store/store.h"
#include "daemon/state/qube_paths.h"
#include "daemon/disk/volume.h"
#include "lib/log.h"
#include "lib/util.h"

/* The root image a qube boots from, and whether QEMU may write it. */
int qube_boot_root(struct daemon *d, const struct qube_info *q,
		    struct qube_vm *dv, char *out, size_t cap, int *writable,
		    char *err, size_t ecap)
{
	char dir[4096];
	int r;

	*writable = 0;
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
		 * meanwhile keep the current one. */
		r = volume_root_begin_update(dv->tmpl_dir, dv->tmpl_work,
					     sizeof(dv->tmpl_work), err, ecap);
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

/* The private volume, made at first start if missing, handed to the
 * qube's jail uid (the jail accepts only its own, mode 0600). */
int qube_boot_private(struct daemon *d, const char *name, uid_t uid,
		       char *out, size_t cap, char *err, size_t ecap)
{
	char dir[4096];
	int r;

	if (bh_path_fmt(dir, sizeof(dir), "%s/qubes/%s", d->paths.state,
			name) ||
	    bh_path_fmt(out, cap, "%s/private.img", dir))
		return -ENAMETOOLONG;
	if (access(out, F_OK) < 0) {
		if (bh_mkdir_p(dir, 0700) < 0) {
			snprintf(err, ecap, "cannot create %.1500s: %s", dir,
				 strerror(errno));
			return -errno;
		}
		r = volume_private_create(out, VOLUME_PRIVATE_DEFAULT, err,
					  ecap);
		if (r < 0)
			return r;
	}
	if (chown(out, uid, uid) < 0 || chmod(out, 0600) < 0) {
		snprintf(err, ecap, "cannot hand %.1500s to the qube: %s", out,
			 strerror(errno));
		return -errno;
	}
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
	char v[PROP_VALUE_MAX + 1], tdir[4096], kver[128], kopts[1100];
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
	if (store_prop_get(d->store, dvm, "kernel", kver, sizeof(kver),
			   &is_default, err, cap) < 0)
		kver[0] = '\0';
	r = guest_files_check(&d->guest, d->paths.state, kver,
			      BUILTIN_TEMPLATE, err, cap);
	if (r < 0)
		return r;
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

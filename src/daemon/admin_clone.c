/* admin.vm.Clone: a halted qube's record and images copied under a new
 * name. The images are copied first, into fresh folders, and the record
 * written last, so that a crash leaves at worst folders without a record
 * (start-up moves them to lost+found) and never a record whose copied
 * volume is missing or an empty stand-in for it. Blocks the daemon while
 * it copies (a reflink is instant; a sparse copy reads the data). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "daemon/admin_handlers.h"
#include "daemon/events.h"
#include "daemon/qube_files.h"
#include "daemon/qube_paths.h"
#include "daemon/store_clone.h"
#include "lib/crashpoint.h"
#include "lib/util.h"

struct clone_paths {
	char qdir[4096], tdir[4096];	/* the new qube's folders */
	char priv_src[4096], priv_dst[4096];
	char root_src[4096], root_dst[4096]; /* "" when it has no own root */
};

static int paths(const char *state, const struct qube_info *src,
		 const char *dst, struct clone_paths *p)
{
	int e;

	memset(p, 0, sizeof(*p));
	e = qube_dir(state, dst, p->qdir, sizeof(p->qdir));
	if (!e && src->cls == QC_TEMPLATE)
		e = qube_template_dir(state, dst, p->tdir, sizeof(p->tdir));
	if (!e && qube_has_private(src))
		e = qube_private_path(state, src->name, p->priv_src,
				      sizeof(p->priv_src));
	if (!e)
		e = qube_private_path(state, dst, p->priv_dst,
				      sizeof(p->priv_dst));
	if (!e && (src->cls == QC_TEMPLATE || src->cls == QC_STANDALONE)) {
		e = qube_root_path(state, src, p->root_src,
				   sizeof(p->root_src));
		if (e == -ENOENT)
			return -ENOENT;
		if (!e)
			e = bh_path_fmt(p->root_dst, sizeof(p->root_dst),
					"%s/%s",
					src->cls == QC_TEMPLATE ? p->tdir
								: p->qdir,
					QUBE_ROOT_IMG);
	}
	return e;
}

unsigned admin_vm_clone(const struct admin_req *q, struct admin_reply *r)
{
	static struct clone_paths p;
	char err[STORE_ERR_MAX] = "";
	struct qube_info src, other;
	int e = 0, made_q = 0, made_t = 0;
	unsigned st = need_qube(q, r);

	if (!st)
		st = need_arg(q, r, "the new qube's name (ARG)");
	if (st)
		return st;
	e = store_qube_get(q->s, q->dest, &src, err, sizeof(err));
	if (e)
		return reply_store_err(r, e, err, BH_ADMIN_NOSUCH);
	/* Early refusals, so that no copy is made for nothing; the store
	 * checks them all again in its transaction. */
	if (strcmp(src.power_state, "Halted"))
		return reply_fail(r, BH_ADMIN_REFUSED,
				  "qube '%s' is %s; stop it before cloning it",
				  src.name, src.power_state);
	if (src.cls == QC_DISP)
		return reply_fail(r, BH_ADMIN_INVALID,
				  "a disposable qube cannot be cloned");
	if ((e = qube_name_check_new(q->arg, err, sizeof(err))))
		return reply_store_err(r, e, err, BH_ADMIN_INVALID);
	if (!store_qube_get(q->s, q->arg, &other, err, sizeof(err)))
		return reply_fail(r, BH_ADMIN_REFUSED,
				  "a qube named '%s' exists", q->arg);
	e = paths(q->state_dir, &src, q->arg, &p);
	if (e == -ENOENT)
		return reply_fail(r, BH_ADMIN_FAILED,
				  "qube '%s' has no root image to copy",
				  src.name);
	if (e)
		return reply_fail(r, BH_ADMIN_FAILED,
				  "state folder path too long");
	e = qube_files_mkdir(p.qdir, err, sizeof(err));
	made_q = e == 0;
	if (!e && p.tdir[0]) {
		e = qube_files_mkdir(p.tdir, err, sizeof(err));
		made_t = e == 0;
	}
	if (!e && p.priv_src[0])
		e = qube_files_copy(p.priv_src, p.priv_dst, err, sizeof(err));
	if (!e && p.priv_src[0])
		bh_crash_point("clone.after-private-copy");
	if (!e && p.root_src[0])
		e = qube_files_copy(p.root_src, p.root_dst, err, sizeof(err));
	if (!e && p.root_src[0])
		bh_crash_point("clone.after-root-copy");
	if (e)
		st = reply_fail(r, e == -EEXIST ? BH_ADMIN_REFUSED
						: BH_ADMIN_FAILED,
				"%s", err);
	if (!st)
		bh_crash_point("clone.before-record");
	if (!st && (e = store_qube_clone(q->s, q->dest, q->arg, err,
					 sizeof(err))))
		st = reply_store_err(r, e, err, BH_ADMIN_NOSUCH);
	if (!st)
		bh_crash_point("clone.after-record");
	/* The built-in template has no private volume to copy: the clone
	 * gets an empty one, after its record like any new qube's. */
	if (!st && !p.priv_src[0] &&
	    (e = qube_files_private_new(q->state_dir, q->arg, err,
					sizeof(err)))) {
		st = reply_fail(r, BH_ADMIN_FAILED,
				"cannot make the private volume: %s", err);
		store_qube_remove(q->s, q->arg, err, sizeof(err));
	}
	if (!st)
		events_emit(q->d, "domain-add", q->arg, NULL, NULL);
	if (st && made_t)
		bh_rm_rf(p.tdir);
	if (st && made_q)
		bh_rm_rf(p.qdir);
	return st;
}

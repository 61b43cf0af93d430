/* admin.vm.Clone: a halted qube's record and images copied under a new
 * name. The images are copied first, into fresh folders, and the record
 * written last, so that a crash leaves at worst folders without a record
 * (start-up moves them to lost+found) and never a record whose copied
 * volume is missing or an empty stand-in for it. Each copy is a job
 * (job.h, admin_job): the daemon serves other clients meanwhile, and bh
 * gets its reply when the last one has ended. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/admin/admin_handlers.h"
#include "daemon/core/events.h"
#include "daemon/state/qube_files.h"
#include "daemon/store/qube_name.h"
#include "daemon/state/qube_paths.h"
#include "daemon/store/store_clone.h"
#include "daemon/disk/volume.h"
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

enum clone_step { CL_PRIV, CL_ROOT, CL_RECORD, CL_NEWPRIV, CL_END };

/* What a clone carries from one job to the next (admin_job). */
struct clone_ctx {
	struct clone_paths p;
	char src[QUBE_NAME_MAX + 1], dst[QUBE_NAME_MAX + 1];
	int made_q, made_t;
	enum clone_step step; /* the next one */
};

/* Ends the call: on failure, what it made goes. */
static unsigned clone_finish(struct clone_ctx *x, unsigned st)
{
	if (st && x->made_t)
		bh_rm_rf(x->p.tdir);
	if (st && x->made_q)
		bh_rm_rf(x->p.qdir);
	free(x);
	return st;
}

static unsigned clone_resume(const struct admin_req *q, void *arg,
			     const struct job_result *res,
			     struct admin_reply *r);

/* One job per image: the private copy, the root copy, then the record,
 * then (for a source without one) an empty private volume. */
static unsigned clone_next(const struct admin_req *q, struct clone_ctx *x,
			   struct admin_reply *r)
{
	static struct job_spec spec;
	char err[STORE_ERR_MAX] = "";
	int e;

	memset(&spec, 0, sizeof(spec));
	snprintf(spec.qube, sizeof(spec.qube), "%s", x->dst);
	for (;;) {
		switch (x->step++) {
		case CL_PRIV:
			if (!x->p.priv_src[0])
				continue;
			spec.op = JOB_COPY;
			snprintf(spec.other, sizeof(spec.other), "%s", x->src);
			snprintf(spec.src, sizeof(spec.src), "%s",
				 x->p.priv_src);
			snprintf(spec.dst, sizeof(spec.dst), "%s",
				 x->p.priv_dst);
			return admin_job(q, r, &spec, clone_resume, x);
		case CL_ROOT:
			if (!x->p.root_src[0])
				continue;
			spec.op = JOB_COPY;
			snprintf(spec.other, sizeof(spec.other), "%s", x->src);
			snprintf(spec.src, sizeof(spec.src), "%s",
				 x->p.root_src);
			snprintf(spec.dst, sizeof(spec.dst), "%s",
				 x->p.root_dst);
			return admin_job(q, r, &spec, clone_resume, x);
		case CL_RECORD:
			bh_crash_point("clone.before-record");
			e = store_qube_clone(q->s, x->src, x->dst, err,
					     sizeof(err));
			if (e)
				return clone_finish(
					x, reply_store_err(r, e, err,
							   BH_ADMIN_NOSUCH));
			bh_crash_point("clone.after-record");
			continue;
		case CL_NEWPRIV:
			/* The built-in template has no private volume to
			 * copy: the clone gets an empty one, after its
			 * record like any new qube's. */
			if (x->p.priv_src[0])
				continue;
			spec.op = JOB_MKE2FS;
			snprintf(spec.dst, sizeof(spec.dst), "%s",
				 x->p.priv_dst);
			spec.size = VOLUME_PRIVATE_DEFAULT;
			return admin_job(q, r, &spec, clone_resume, x);
		case CL_END:
			break;
		}
		events_emit(q->d, "domain-add", x->dst, NULL, NULL);
		return clone_finish(x, 0);
	}
}

static unsigned clone_resume(const struct admin_req *q, void *arg,
			     const struct job_result *res,
			     struct admin_reply *r)
{
	struct clone_ctx *x = arg;
	enum clone_step done = x->step - 1;
	char err[STORE_ERR_MAX];
	unsigned st;

	if (res->result == 0) {
		if (done == CL_PRIV)
			bh_crash_point("clone.after-private-copy");
		if (done == CL_ROOT)
			bh_crash_point("clone.after-root-copy");
		return clone_next(q, x, r);
	}
	if (res->result == -ECANCELED)
		st = reply_fail(r, BH_ADMIN_FAILED,
				"the clone of '%s' as '%s' was stopped: %s; "
				"nothing of it is left",
				x->src, x->dst, res->msg);
	else if (done == CL_NEWPRIV)
		st = reply_fail(r, BH_ADMIN_FAILED,
				"cannot make the private volume: %s",
				res->msg);
	else
		st = reply_fail(r, res->result == -EEXIST ? BH_ADMIN_REFUSED
							  : BH_ADMIN_FAILED,
				"%s", res->msg);
	if (done == CL_NEWPRIV)
		store_qube_remove(q->s, x->dst, err, sizeof(err));
	return clone_finish(x, st);
}

unsigned admin_vm_clone(const struct admin_req *q, struct admin_reply *r)
{
	char err[STORE_ERR_MAX] = "";
	struct qube_info src, other;
	struct clone_ctx *x;
	int e = 0;
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
	/* Nothing may change the source while it is copied, and a second
	 * clone to the same name waits for the first to end. */
	if ((st = need_not_busy(q, r, src.name)) ||
	    (st = need_not_busy(q, r, q->arg)))
		return st;
	x = calloc(1, sizeof(*x));
	if (!x)
		return reply_fail(r, BH_ADMIN_FAILED, "out of memory");
	snprintf(x->src, sizeof(x->src), "%s", src.name);
	snprintf(x->dst, sizeof(x->dst), "%s", q->arg);
	e = paths(q->state_dir, &src, q->arg, &x->p);
	if (e == -ENOENT)
		return clone_finish(x, reply_fail(r, BH_ADMIN_FAILED,
						  "qube '%s' has no root image "
						  "to copy",
						  src.name));
	if (e)
		return clone_finish(x, reply_fail(r, BH_ADMIN_FAILED,
						  "state folder path too "
						  "long"));
	e = qube_files_mkdir(x->p.qdir, err, sizeof(err));
	x->made_q = e == 0;
	if (!e && x->p.tdir[0]) {
		e = qube_files_mkdir(x->p.tdir, err, sizeof(err));
		x->made_t = e == 0;
	}
	if (e)
		return clone_finish(x, reply_fail(r, e == -EEXIST
							     ? BH_ADMIN_REFUSED
							     : BH_ADMIN_FAILED,
						  "%s", err));
	return clone_next(q, x, r);
}

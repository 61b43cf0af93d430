/* admin.vm.List, admin.vm.Create.*, admin.vm.Remove: records and, with
 * them, the qubes' folders and volumes (qube_files.h). A copy or a new
 * image is a job (job.h): the call's reply waits for it, other clients do
 * not (see docs/admin-api.md). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/admin/admin_handlers.h"
#include "daemon/state/qube_files.h"
#include "daemon/state/qube_paths.h"
#include "daemon/store/qube_name.h"
#include "daemon/state/store_boot.h"
#include "daemon/disk/volume.h"
#include "lib/crashpoint.h"
#include "lib/util.h"

static int list_line(void *arg, const struct qube_info *qi)
{
	struct admin_reply *r = arg;

	reply_add(r, "%s class=%s state=%s label=%s template=%s\n", qi->name,
		  qube_class_name(qi->cls), qi->power_state, qi->label,
		  qi->template_name[0] ? qi->template_name : "-");
	return r->overflow;
}

unsigned admin_vm_list(const struct admin_req *q, struct admin_reply *r)
{
	char err[STORE_ERR_MAX] = "";
	struct qube_info qi;
	int e;

	if (q->dest[0]) {
		e = store_qube_get(q->s, q->dest, &qi, err, sizeof(err));
		if (e)
			return reply_store_err(r, e, err, BH_ADMIN_NOSUCH);
		list_line(r, &qi);
		return 0;
	}
	e = store_qube_list(q->s, list_line, r, err, sizeof(err));
	if (r->overflow)
		return reply_too_long(r, "qube list");
	return e ? reply_store_err(r, e, err, BH_ADMIN_NOSUCH) : 0;
}

static int hex(char c)
{
	return c >= '0' && c <= '9'   ? c - '0'
	       : c >= 'a' && c <= 'f' ? c - 'a' + 10
	       : c >= 'A' && c <= 'F' ? c - 'A' + 10
				      : -1;
}

/* URL-style %XX decoding in place; -EINVAL for a bad or NUL escape. */
static int unescape(char *s)
{
	char *w = s;

	for (; *s; s++) {
		if (*s != '%') {
			*w++ = *s;
			continue;
		}
		if (hex(s[1]) < 0 || hex(s[2]) < 0 ||
		    (hex(s[1]) | hex(s[2])) == 0)
			return -EINVAL;
		*w++ = (char)(hex(s[1]) * 16 + hex(s[2]));
		s += 2;
	}
	*w = '\0';
	return 0;
}

/* BODY: "label=L" then " NAME=VALUE" for each initial property. */
static unsigned parse_create_body(char *body, const char **label,
				  struct store_prop *props, size_t *n,
				  struct admin_reply *r)
{
	char *save = NULL, *tok;

	*label = NULL;
	*n = 0;
	for (tok = strtok_r(body, " ", &save); tok;
	     tok = strtok_r(NULL, " ", &save)) {
		char *eq = strchr(tok, '=');

		if (!eq || eq == tok)
			return reply_fail(r, BH_ADMIN_INVALID,
					  "properties are given as "
					  "NAME=VALUE");
		*eq = '\0';
		if (unescape(eq + 1) < 0)
			return reply_fail(r, BH_ADMIN_INVALID,
					  "a property value has a bad %% "
					  "escape");
		if (!strcmp(tok, "label") && !*label) {
			*label = eq + 1;
			continue;
		}
		/* One more than the table: the store says "given twice". */
		if (*n > qube_prop_count)
			return reply_fail(r, BH_ADMIN_INVALID,
					  "too many properties");
		props[(*n)++] = (struct store_prop){ tok, eq + 1 };
	}
	return 0;
}

/* The source of a new TemplateVM's or StandaloneVM's root: ARG, or
 * default_template; it must be a TemplateVM with a root image. */
static unsigned source_root(const struct admin_req *q, char *root, size_t cap,
			    char *tmpl, size_t tcap, struct admin_reply *r)
{
	char err[STORE_ERR_MAX] = "", name[QUBE_NAME_MAX + 1];
	struct qube_info src;
	int e, is_default;

	if (q->arg[0]) {
		snprintf(name, sizeof(name), "%s", q->arg);
	} else {
		e = store_global_get(q->s, "default_template", name,
				     sizeof(name), &is_default, err,
				     sizeof(err));
		if (e)
			return reply_store_err(r, e, err, BH_ADMIN_INVALID);
		if (!name[0])
			return reply_fail(r, BH_ADMIN_INVALID,
					  "no source template given and the "
					  "global preference default_template "
					  "is not set");
	}
	e = store_qube_get(q->s, name, &src, err, sizeof(err));
	if (e)
		return reply_store_err(r, e, err, BH_ADMIN_INVALID);
	if (src.cls != QC_TEMPLATE)
		return reply_fail(r, BH_ADMIN_INVALID,
				  "'%s' is a %s, not a TemplateVM: only a "
				  "template's root can be copied",
				  src.name, qube_class_name(src.cls));
	e = qube_root_path(q->state_dir, &src, root, cap);
	if (e)
		return reply_fail(r, BH_ADMIN_FAILED,
				  "template '%s' has no root image (%s)",
				  src.name, strerror(-e));
	snprintf(tmpl, tcap, "%s", src.name);
	/* A template that runs writes a new root version: it is copied
	 * from the current one, which does not change. */
	return need_not_busy(q, r, src.name);
}

/* Where a new qube of class cls keeps its own root; "" for an AppVM or a
 * DispVM. */
static unsigned own_root(const struct admin_req *q, unsigned cls, char *dir,
			 char *img, size_t cap, struct admin_reply *r)
{
	int e;

	dir[0] = img[0] = '\0';
	if (cls == QC_APP || cls == QC_DISP)
		return 0;
	e = cls == QC_TEMPLATE ? qube_template_dir(q->state_dir, q->dest, dir,
						   cap)
			       : qube_dir(q->state_dir, q->dest, dir, cap);
	if (!e)
		e = bh_path_fmt(img, cap, "%s/%s", dir, QUBE_ROOT_IMG);
	return e ? reply_fail(r, BH_ADMIN_FAILED, "state folder path too long")
		 : 0;
}

/* What a create carries from one job to the next (admin_job). */
enum create_step { CR_ROOT, CR_RECORD, CR_PRIVATE, CR_END };

struct create_ctx {
	char name[QUBE_NAME_MAX + 1], tmpl[QUBE_NAME_MAX + 1];
	char src[4096], dir[4096], img[4096], qdir[4096];
	unsigned cls;
	char *body; /* label and props point into it */
	const char *label;
	struct store_prop *props;
	size_t n;
	int made_q, made_t;
	enum create_step step; /* the next one */
};

static unsigned create_finish(struct create_ctx *x, unsigned st)
{
	if (st && x->made_t)
		bh_rm_rf(x->dir);
	if (st && x->made_q)
		bh_rm_rf(x->qdir);
	free(x->props);
	free(x->body);
	free(x);
	return st;
}

static unsigned create_resume(const struct admin_req *q, void *arg,
			      const struct job_result *res,
			      struct admin_reply *r);

/* The order is the crash-safety argument of qube_files.h: a root copy
 * (which start-up could not make again) before the record, the empty
 * private volume (which it could) after. Any failure undoes all. The
 * copy and mke2fs are jobs (job.h). */
static unsigned create_next(const struct admin_req *q, struct create_ctx *x,
			    struct admin_reply *r)
{
	static struct job_spec spec;
	char err[STORE_ERR_MAX] = "";
	int e;

	memset(&spec, 0, sizeof(spec));
	snprintf(spec.qube, sizeof(spec.qube), "%s", x->name);
	for (;;) {
		switch (x->step++) {
		case CR_ROOT:
			if (!x->img[0])
				continue;
			spec.op = JOB_COPY;
			snprintf(spec.other, sizeof(spec.other), "%s",
				 x->tmpl);
			snprintf(spec.src, sizeof(spec.src), "%s", x->src);
			snprintf(spec.dst, sizeof(spec.dst), "%s", x->img);
			return admin_job(q, r, &spec, create_resume, x);
		case CR_RECORD:
			e = store_qube_create(
				q->s, x->name, qube_class_name(x->cls),
				(x->cls == QC_APP || x->cls == QC_DISP) &&
						x->tmpl[0]
					? x->tmpl
					: NULL,
				x->label, x->props, x->n, err, sizeof(err));
			/* A missing template or property is a bad argument
			 * here, not a missing object of the call. */
			if (e)
				return create_finish(
					x, reply_store_err(r, e, err,
							   BH_ADMIN_INVALID));
			bh_crash_point("create.after-record");
			continue;
		case CR_PRIVATE:
			/* A DispVM's private volume is a copy of its DVM's,
			 * made at each start in its runtime folder: nothing
			 * to make here. */
			if (x->cls == QC_DISP)
				continue;
			spec.op = JOB_MKE2FS;
			if (qube_private_path(q->state_dir, x->name, spec.dst,
					      sizeof(spec.dst))) {
				store_qube_remove(q->s, x->name, err,
						  sizeof(err));
				return create_finish(
					x, reply_fail(r, BH_ADMIN_FAILED,
						      "state folder path too "
						      "long"));
			}
			spec.size = VOLUME_PRIVATE_DEFAULT;
			return admin_job(q, r, &spec, create_resume, x);
		case CR_END:
			break;
		}
		bh_crash_point("create.after-private");
		events_emit(q->d, "domain-add", x->name, NULL, NULL);
		return create_finish(x, 0);
	}
}

static unsigned create_resume(const struct admin_req *q, void *arg,
			      const struct job_result *res,
			      struct admin_reply *r)
{
	struct create_ctx *x = arg;
	enum create_step done = x->step - 1;
	char err[STORE_ERR_MAX];
	unsigned st;

	if (res->result == 0) {
		if (done == CR_ROOT)
			bh_crash_point("create.after-root-copy");
		return create_next(q, x, r);
	}
	if (res->result == -ECANCELED)
		st = reply_fail(r, BH_ADMIN_FAILED,
				"the creation of '%s' was stopped: %s; nothing "
				"of it is left",
				x->name, res->msg);
	else if (done == CR_PRIVATE)
		st = reply_fail(r, BH_ADMIN_FAILED,
				"cannot make the private volume: %s",
				res->msg);
	else
		st = reply_fail(r, res->result == -EEXIST ? BH_ADMIN_REFUSED
							  : BH_ADMIN_FAILED,
				"%s", res->msg);
	if (done == CR_PRIVATE)
		store_qube_remove(q->s, x->name, err, sizeof(err));
	return create_finish(x, st);
}

static unsigned create(const struct admin_req *q, struct admin_reply *r,
		       unsigned cls)
{
	char err[STORE_ERR_MAX] = "";
	struct create_ctx *x = calloc(1, sizeof(*x));
	struct qube_info exists;
	int e;
	unsigned st;

	if (!x)
		return reply_fail(r, BH_ADMIN_FAILED, "out of memory");
	x->cls = cls;
	snprintf(x->name, sizeof(x->name), "%s", q->dest);
	x->body = strdup(q->body);
	x->props = calloc(qube_prop_count + 2, sizeof(*x->props));
	if (!x->body || !x->props)
		return create_finish(x, reply_fail(r, BH_ADMIN_FAILED,
						   "out of memory"));
	st = parse_create_body(x->body, &x->label, x->props, &x->n, r);
	/* Cheap refusals before a copy of gigabytes; the store checks
	 * everything again in its transaction. */
	if (st == 0 && (e = qube_name_check_new(q->dest, err, sizeof(err))))
		st = reply_store_err(r, e, err, BH_ADMIN_INVALID);
	if (st == 0 && !store_qube_get(q->s, q->dest, &exists, err,
				       sizeof(err)))
		st = reply_fail(r, BH_ADMIN_REFUSED, "a qube named '%s' exists",
				q->dest);
	if (st == 0)
		st = need_not_busy(q, r, q->dest);
	if (st == 0 && cls != QC_APP && cls != QC_DISP)
		st = source_root(q, x->src, sizeof(x->src), x->tmpl,
				 sizeof(x->tmpl), r);
	else if (st == 0)
		snprintf(x->tmpl, sizeof(x->tmpl), "%s", q->arg);
	if (st == 0)
		st = own_root(q, cls, x->dir, x->img, sizeof(x->dir), r);
	/* Fresh folders only: one left by a crash belongs to lost+found,
	 * and what we made is all a failure may delete. */
	if (st == 0 &&
	    qube_dir(q->state_dir, q->dest, x->qdir, sizeof(x->qdir)))
		st = reply_fail(r, BH_ADMIN_FAILED, "state folder path too long");
	if (st == 0)
		bh_crash_point("create.after-validation");
	if (st == 0) {
		e = qube_files_mkdir(x->qdir, err, sizeof(err));
		x->made_q = e == 0;
		if (e == 0 && cls == QC_TEMPLATE) {
			e = qube_files_mkdir(x->dir, err, sizeof(err));
			x->made_t = e == 0;
		}
		if (e)
			st = reply_fail(r, e == -EEXIST ? BH_ADMIN_REFUSED
							: BH_ADMIN_FAILED,
					"%s", err);
	}
	if (st)
		return create_finish(x, st);
	return create_next(q, x, r);
}

unsigned admin_vm_create_app(const struct admin_req *q, struct admin_reply *r)
{
	return create(q, r, QC_APP);
}

unsigned admin_vm_create_template(const struct admin_req *q,
				  struct admin_reply *r)
{
	return create(q, r, QC_TEMPLATE);
}

unsigned admin_vm_create_standalone(const struct admin_req *q,
				    struct admin_reply *r)
{
	return create(q, r, QC_STANDALONE);
}

unsigned admin_vm_create_disp(const struct admin_req *q,
			      struct admin_reply *r)
{
	return create(q, r, QC_DISP);
}

/* The record goes first: a crash before the folder is removed leaves a
 * folder without a record, which start-up moves to lost+found. */
unsigned admin_vm_remove(const struct admin_req *q, struct admin_reply *r)
{
	char err[STORE_ERR_MAX] = "";
	struct qube_info qi;
	unsigned st = need_qube(q, r);
	int e;

	if (st)
		return st;
	if (!strcmp(q->dest, BUILTIN_TEMPLATE))
		return reply_fail(r, BH_ADMIN_REFUSED,
				  "'%s' is the built-in template; it cannot "
				  "be removed",
				  BUILTIN_TEMPLATE);
	if ((st = need_not_busy(q, r, q->dest)))
		return st;
	e = store_qube_get(q->s, q->dest, &qi, err, sizeof(err));
	if (!e)
		e = store_qube_remove(q->s, q->dest, err, sizeof(err));
	if (e)
		return reply_store_err(r, e, err, BH_ADMIN_NOSUCH);
	events_emit(q->d, "domain-delete", q->dest, NULL, NULL);
	bh_crash_point("remove.after-record");
	e = qube_files_remove(q->state_dir, q->dest, qi.cls == QC_TEMPLATE);
	if (e)
		return reply_fail(r, BH_ADMIN_FAILED,
				  "qube '%s' is removed but its files are "
				  "not all deleted: %s",
				  q->dest, strerror(-e));
	return 0;
}

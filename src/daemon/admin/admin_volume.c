/* admin.vm.volume.List and .Resize: a qube's images as volumes. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "daemon/admin/admin_handlers.h"
#include "daemon/state/qube_paths.h"
#include "daemon/disk/volume.h"

static int volume_line(struct admin_reply *r, const char *name,
		       const char *path, int rw)
{
	struct stat st;

	/* stat, not lstat: a template's root.img is a symlink to its
	 * current version, and the size asked for is the version's. */
	if (stat(path, &st) < 0)
		return -errno;
	reply_add(r, "%s size=%llu used=%llu path=%s rw=%s\n", name,
		  (unsigned long long)st.st_size,
		  (unsigned long long)st.st_blocks * 512ull, path,
		  rw ? "True" : "False");
	return 0;
}

unsigned admin_vm_volume_list(const struct admin_req *q,
			      struct admin_reply *r)
{
	char err[STORE_ERR_MAX] = "", path[4096];
	struct qube_info qi, dvm;
	unsigned st = need_qube(q, r);
	int e;

	if (st)
		return st;
	e = store_qube_get(q->s, q->dest, &qi, err, sizeof(err));
	if (e)
		return reply_store_err(r, e, err, BH_ADMIN_NOSUCH);
	if (qube_has_private(&qi)) {
		if (qube_private_path(q->state_dir, qi.name, path,
				      sizeof(path)) ||
		    (e = volume_line(r, "private", path, 1)) < 0)
			return reply_fail(r, BH_ADMIN_FAILED,
					  "qube '%s' has no private volume "
					  "(%s); restarting bulkheadd makes "
					  "an empty one",
					  qi.name, strerror(e ? -e : ENAMETOOLONG));
	}
	/* An AppVM reads its template's root and never writes it; a DispVM
	 * its disposable template's template's. A root that is missing (a
	 * template not built yet) is not listed. */
	if (qi.cls == QC_DISP &&
	    store_qube_get(q->s, qi.template_name, &dvm, err, sizeof(err)) == 0)
		snprintf(qi.template_name, sizeof(qi.template_name), "%s",
			 dvm.template_name);
	if (qube_root_path(q->state_dir, &qi, path, sizeof(path)) == 0)
		volume_line(r, "root", path,
			    qi.cls == QC_TEMPLATE || qi.cls == QC_STANDALONE);
	return 0;
}

/* BODY: the new size, decimal bytes; the CLI turns "4G" into them. */
static int parse_bytes(const char *text, uint64_t *out)
{
	unsigned long long v;
	char *end;
	size_t i, n = strlen(text);

	if (n == 0 || n > 20)
		return -EINVAL;
	for (i = 0; i < n; i++)
		if (text[i] < '0' || text[i] > '9')
			return -EINVAL;
	errno = 0;
	v = strtoull(text, &end, 10);
	if (errno || *end)
		return -EINVAL;
	*out = v;
	return 0;
}

struct resize_ctx {
	char name[32];
};

static unsigned resize_done(const struct admin_req *q, void *arg,
			    const struct job_result *res,
			    struct admin_reply *r)
{
	struct resize_ctx *x = arg;
	unsigned st = 0;

	(void)q;
	if (res->result == -ECANCELED)
		st = reply_fail(r, BH_ADMIN_FAILED,
				"the resize of the private volume of '%s' was "
				"stopped: %s; the volume is as it was",
				x->name, res->msg);
	else if (res->result)
		st = reply_fail(r, res->result == -EINVAL ? BH_ADMIN_INVALID
							  : BH_ADMIN_FAILED,
				"%s", res->msg[0] ? res->msg
						  : strerror(-res->result));
	free(x);
	return st;
}

unsigned admin_vm_volume_resize(const struct admin_req *q,
				struct admin_reply *r)
{
	struct job_spec *spec;
	struct resize_ctx *x;
	char err[STORE_ERR_MAX] = "", path[4096];
	struct qube_info qi;
	struct stat sb;
	uint64_t size;
	unsigned st = need_qube(q, r);
	int e;

	if (!st)
		st = need_arg(q, r, "a volume name (private)");
	if (st)
		return st;
	if (strcmp(q->arg, "private"))
		return reply_fail(r, BH_ADMIN_INVALID,
				  "only the private volume can be resized: "
				  "a root belongs to its template");
	e = store_qube_get(q->s, q->dest, &qi, err, sizeof(err));
	if (e)
		return reply_store_err(r, e, err, BH_ADMIN_NOSUCH);
	if (qi.cls == QC_DISP)
		return reply_fail(r, BH_ADMIN_INVALID,
				  "qube '%s' has no private volume of its own: "
				  "it gets a copy of its disposable template's "
				  "at each start; resize that one (%s)",
				  qi.name, qi.template_name);
	if (!qube_has_private(&qi))
		return reply_fail(r, BH_ADMIN_INVALID,
				  "qube '%s' has no private volume", qi.name);
	if (strcmp(qi.power_state, "Halted"))
		return reply_fail(r, BH_ADMIN_REFUSED,
				  "qube '%s' is %s; stop it before resizing "
				  "its volume",
				  qi.name, qi.power_state);
	if ((st = need_not_busy(q, r, qi.name)))
		return st;
	if (parse_bytes(q->body, &size) < 0)
		return reply_fail(r, BH_ADMIN_INVALID,
				  "the new size is a number of bytes");
	if (volume_private_size_check(size, err, sizeof(err)) < 0)
		return reply_fail(r, BH_ADMIN_INVALID, "%s", err);
	if (qube_private_path(q->state_dir, qi.name, path, sizeof(path)) ||
	    stat(path, &sb) < 0)
		return reply_fail(r, BH_ADMIN_FAILED,
				  "qube '%s' has no private volume; "
				  "restarting bulkheadd makes an empty one",
				  qi.name);
	/* volume_resize refuses too, as invalid; to the user a shrink is a
	 * refusal of a valid size. */
	if (size < (uint64_t)sb.st_size)
		return reply_fail(r, BH_ADMIN_REFUSED,
				  "volumes only grow: shrinking the private "
				  "volume of '%s' (%llu bytes) would cut off "
				  "its data",
				  qi.name, (unsigned long long)sb.st_size);
	/* e2fsck, a copy and resize2fs: a job (job.h), on a copy that
	 * replaces the volume only when whole. */
	spec = calloc(1, sizeof(*spec));
	x = calloc(1, sizeof(*x));
	if (!spec || !x) {
		free(spec);
		free(x);
		return reply_fail(r, BH_ADMIN_FAILED, "out of memory");
	}
	spec->op = JOB_RESIZE;
	snprintf(spec->qube, sizeof(spec->qube), "%s", qi.name);
	snprintf(spec->dst, sizeof(spec->dst), "%s", path);
	spec->size = size;
	snprintf(x->name, sizeof(x->name), "%s", qi.name);
	st = admin_job(q, r, spec, resize_done, x);
	free(spec);
	return st;
}

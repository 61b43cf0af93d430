/* admin.vm.Create.TemplateVM: with "import=.build-NAME.XXXXXX" in the
 * body, adopts a template folder that bh template build made (see
 * the comment below); without it, admin_vm.c's create copies a source
 * template's root as before.
 *
 * Order (the crash-safety argument of qube_files.h): the checked folder is
 * renamed into place first, then the record is written, then the empty
 * private volume is made. A crash after the rename leaves a folder without
 * a record, which start-up moves to lost+found; nothing half-built is ever
 * recorded. A failure after the rename renames the folder back, for bh to
 * remove. Hashing the image and making the private volume are jobs
 * (job.h): bh gets its reply when they have ended. */
/* Templates built outside the daemon (bh template build runs
 * bh-build-template as root into a staging folder) and adopted by it.
 *
 * Staging folders are STATE/templates/.build-NAME.XXXXXX, made by bh and
 * locked (flock) by it for as long as the build runs. The daemon adopts
 * a finished one with admin.vm.Create.TemplateVM and the body
 * "[label=L ]import=.build-NAME.XXXXXX" (docs/admin-api.md, docs/
 * templates.md): checked, renamed to STATE/templates/NAME, and only then
 * recorded, so `bh template list`, which shows records, never shows a
 * half-built template. */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/admin/admin_handlers.h"
#include "daemon/disk/guest_files.h"
#include "daemon/state/qube_files.h"
#include "daemon/store/qube_name.h"
#include "daemon/state/qube_paths.h"
#include "daemon/disk/volume.h"
#include "lib/crashpoint.h"
#include "lib/log.h"
#include "lib/util.h"

#define IMPORT_KEY "import="
/* mkdtemp's XXXXXX: bh makes exactly six. */
#define STAGING_SUFFIX_LEN 6
#define SUMS_MAX 4096

/* The body's label= and import= values, pointing into body. */
static unsigned parse_import_body(char *body, const char **label,
				  const char **import, struct admin_reply *r)
{
	char *save = NULL, *tok;

	*label = *import = NULL;
	for (tok = strtok_r(body, " ", &save); tok;
	     tok = strtok_r(NULL, " ", &save)) {
		if (!strncmp(tok, "label=", 6) && !*label)
			*label = tok + 6;
		else if (!strncmp(tok, IMPORT_KEY, 7) && !*import)
			*import = tok + 7;
		else
			return reply_fail(r, BH_ADMIN_INVALID,
					  "with import= only label= may be "
					  "given; set properties after the "
					  "template exists");
	}
	return 0;
}

/* ".build-" DEST "." and six of [A-Za-z0-9]: the name bh gave it. */
static int staging_name_ok(const char *dest, const char *name)
{
	size_t pl = strlen(TEMPLATE_BUILD_PREFIX), dl = strlen(dest), i;
	const char *s;

	if (strncmp(name, TEMPLATE_BUILD_PREFIX, pl) ||
	    strncmp(name + pl, dest, dl) ||
	    name[pl + dl] != '.')
		return 0;
	s = name + pl + dl + 1;
	for (i = 0; s[i]; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		      (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9')))
			return 0;
	return i == STAGING_SUFFIX_LEN;
}

/* A regular file (not a link) in dir, owned by root. */
static int plain_file(int dfd, const char *name)
{
	struct stat st;

	return fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	       S_ISREG(st.st_mode) && st.st_uid == 0;
}

/* The folder: root's, a real directory, with root.img, template.conf and
 * a SHA256SUMS, read into sums. The image's hash is checked against it
 * afterwards, in a job (sums_match). */
static unsigned check_staging(const char *path, char *sums,
			      struct admin_reply *r)
{
	struct stat st;
	ssize_t n;
	int dfd, fd;

	if (lstat(path, &st) < 0)
		return reply_fail(r, BH_ADMIN_INVALID,
				  "no build folder %s: %s", path,
				  strerror(errno));
	if (!S_ISDIR(st.st_mode) || st.st_uid != 0)
		return reply_fail(r, BH_ADMIN_INVALID,
				  "%s is not a folder of root's", path);
	dfd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0)
		return reply_fail(r, BH_ADMIN_FAILED, "cannot open %s: %s",
				  path, strerror(errno));
	if (!plain_file(dfd, QUBE_ROOT_IMG) ||
	    !plain_file(dfd, "template.conf") ||
	    !plain_file(dfd, "SHA256SUMS")) {
		close(dfd);
		return reply_fail(r, BH_ADMIN_INVALID,
				  "%s lacks root.img, template.conf or "
				  "SHA256SUMS: the build did not finish",
				  path);
	}
	fd = openat(dfd, "SHA256SUMS", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	close(dfd);
	n = fd < 0 ? -1 : read(fd, sums, SUMS_MAX);
	if (fd >= 0)
		close(fd);
	if (n < 0)
		return reply_fail(r, BH_ADMIN_FAILED,
				  "cannot read %s/SHA256SUMS", path);
	sums[n] = '\0';
	return 0;
}

/* sums has the line "GOT  root.img". */
static int sums_match(const char *sums, const char *got)
{
	const char *line;

	if (strlen(got) != 64)
		return 0;
	for (line = sums; line && *line;
	     line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL)
		if (!strncmp(line, got, 64) && !strncmp(line + 64, "  ", 2) &&
		    !strncmp(line + 66, QUBE_ROOT_IMG "\n", 9))
			return 1;
	return 0;
}

/* Renames from to to, and fsyncs their folder (the same one). */
static int move(const char *from, const char *to, const char *dir)
{
	if (rename(from, to) < 0)
		return -errno;
	bh_fsync_dir(dir);
	return 0;
}

/* template.conf keys that become features template-KEY (as Qubes'
 * qvm-template records template-name, template-buildtime...), for bh
 * template info; repeated keys are joined with spaces. */
static const char *const manifest_keys[] = {
	"distro",   "suite",   "variant", "include", "mirror", "source",
	"release",  "snapshot", "built",  "packages", "kernel", "root_mib",
};
#define CONF_MAX 16384

static void record_manifest(struct store *s, const char *name,
			    const char *dir)
{
	char path[4200], *text, *line, *save = NULL, key[64],
		err[STORE_ERR_MAX];
	char *vals[sizeof(manifest_keys) / sizeof(*manifest_keys)] = { 0 };
	size_t len, i, n = sizeof(manifest_keys) / sizeof(*manifest_keys);

	if (bh_path_fmt(path, sizeof(path), "%s/template.conf", dir) ||
	    bh_read_file(path, CONF_MAX, &text, &len) < 0) {
		LOG_WARN("%s: no readable template.conf; no manifest "
			 "features", name);
		return;
	}
	for (line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char *eq = strchr(line, '='), *v;

		if (!eq)
			continue;
		*eq = '\0';
		for (i = 0; i < n && strcmp(line, manifest_keys[i]); i++)
			;
		if (i == n)
			continue;
		if (!vals[i])
			v = strdup(eq + 1);
		else if (asprintf(&v, "%s %s", vals[i], eq + 1) < 0)
			v = NULL;
		if (!v)
			break;
		free(vals[i]);
		vals[i] = v;
	}
	for (i = 0; i < n; i++) {
		if (!vals[i])
			continue;
		snprintf(key, sizeof(key), "template-%s", manifest_keys[i]);
		/* The store refuses what is not printable ASCII or too long:
		 * the manifest comes from our own builder, so only log. */
		if (store_feature_set(s, name, key, vals[i], err,
				      sizeof(err)) < 0)
			LOG_WARN("%s: feature %s not recorded: %s", name,
				 key, err);
		free(vals[i]);
	}
	free(text);
}

/* An import's state from one job to the next (admin_job): the hash of
 * the image, then, after the rename and the record, mke2fs. */
struct import_ctx {
	char name[QUBE_NAME_MAX + 1], label[256], staging[128];
	char tdir[4096], from[4200], to[4200], qdir[4096];
	char sums[SUMS_MAX + 1];
	int label_set, moved, step;
};

static unsigned import_finish(struct import_ctx *x, unsigned st)
{
	/* Back to bh, which removes its staging folder. */
	if (st && x->moved && move(x->to, x->from, x->tdir) < 0)
		LOG_ERR("cannot rename %s back to %s: %s", x->to, x->from,
			strerror(errno));
	free(x);
	return st;
}

static unsigned import_resume(const struct admin_req *q, void *arg,
			      const struct job_result *res,
			      struct admin_reply *r);

/* After the hash matched: into place, recorded, then a private volume. */
static unsigned import_adopt(const struct admin_req *q, struct import_ctx *x,
			     struct admin_reply *r)
{
	static struct job_spec spec;
	char err[STORE_ERR_MAX] = "";
	struct stat st;
	int e;

	/* Fresh folders only, as create: a leftover is not ours. */
	if (lstat(x->to, &st) == 0 || lstat(x->qdir, &st) == 0)
		return import_finish(x, reply_fail(r, BH_ADMIN_REFUSED,
						   "a folder of '%s' is left "
						   "from an interrupted call "
						   "(the next bulkheadd start "
						   "moves it to lost+found)",
						   x->name));
	bh_crash_point("import.after-validation");
	if ((e = move(x->from, x->to, x->tdir)) < 0)
		return import_finish(x, reply_fail(r, BH_ADMIN_FAILED,
						   "cannot rename %s: %s",
						   x->from, strerror(-e)));
	x->moved = 1;
	bh_crash_point("import.after-rename");
	e = qube_files_mkdir(x->qdir, err, sizeof(err));
	if (e)
		return import_finish(x, reply_fail(r, BH_ADMIN_FAILED, "%s",
						   err));
	e = store_qube_create(q->s, x->name, "TemplateVM", NULL,
			      x->label_set ? x->label : NULL, NULL, 0, err,
			      sizeof(err));
	if (e) {
		bh_rm_rf(x->qdir);
		return import_finish(x, reply_store_err(r, e, err,
							BH_ADMIN_INVALID));
	}
	bh_crash_point("import.after-record");
	memset(&spec, 0, sizeof(spec));
	spec.op = JOB_MKE2FS;
	snprintf(spec.qube, sizeof(spec.qube), "%s", x->name);
	if (qube_private_path(q->state_dir, x->name, spec.dst,
			      sizeof(spec.dst))) {
		store_qube_remove(q->s, x->name, err, sizeof(err));
		bh_rm_rf(x->qdir);
		return import_finish(x, reply_fail(r, BH_ADMIN_FAILED,
						   "state folder path too "
						   "long"));
	}
	spec.size = VOLUME_PRIVATE_DEFAULT;
	x->step = 1;
	return admin_job(q, r, &spec, import_resume, x);
}

static unsigned import_resume(const struct admin_req *q, void *arg,
			      const struct job_result *res,
			      struct admin_reply *r)
{
	struct import_ctx *x = arg;
	char err[STORE_ERR_MAX], img[4300];
	unsigned st;

	if (x->step == 0) {
		snprintf(img, sizeof(img), "%s/%s", x->from, QUBE_ROOT_IMG);
		if (res->result == -ECANCELED)
			return import_finish(
				x, reply_fail(r, BH_ADMIN_FAILED,
					      "the import of '%s' was stopped: "
					      "%s",
					      x->name, res->msg));
		if (res->result)
			return import_finish(x, reply_fail(r, BH_ADMIN_FAILED,
							   "cannot read %s",
							   img));
		if (!sums_match(x->sums, res->msg))
			return import_finish(
				x, reply_fail(r, BH_ADMIN_INVALID,
					      "%s does not match its "
					      "SHA256SUMS: the image is "
					      "damaged; build the template "
					      "again",
					      img));
		return import_adopt(q, x, r);
	}
	if (res->result) {
		st = reply_fail(r, BH_ADMIN_FAILED,
				"cannot make the private volume: %s", res->msg);
		store_qube_remove(q->s, x->name, err, sizeof(err));
		bh_rm_rf(x->qdir);
		return import_finish(x, st);
	}
	record_manifest(q->s, x->name, x->to);
	LOG_INFO("template '%s' imported from %s", x->name, x->staging);
	events_emit(q->d, "domain-add", x->name, NULL, NULL);
	return import_finish(x, 0);
}

static unsigned import(const struct admin_req *q, struct admin_reply *r,
		       const char *label, const char *import_name)
{
	static struct job_spec spec;
	char err[STORE_ERR_MAX] = "";
	struct qube_info exists;
	struct import_ctx *x;
	unsigned st_ = 0;
	int e;

	if (q->arg[0])
		return reply_fail(r, BH_ADMIN_INVALID,
				  "an imported template has no source "
				  "template; give no ARG with import=");
	if ((e = qube_name_check_new(q->dest, err, sizeof(err))))
		return reply_store_err(r, e, err, BH_ADMIN_INVALID);
	if (!staging_name_ok(q->dest, import_name))
		return reply_fail(r, BH_ADMIN_INVALID,
				  "import= must name a build folder "
				  "%s%s.XXXXXX in STATE/templates",
				  TEMPLATE_BUILD_PREFIX, q->dest);
	if (!store_qube_get(q->s, q->dest, &exists, err, sizeof(err)))
		return reply_fail(r, BH_ADMIN_REFUSED,
				  "a qube named '%s' exists", q->dest);
	if ((st_ = need_not_busy(q, r, q->dest)))
		return st_;
	if (!(x = calloc(1, sizeof(*x))))
		return reply_fail(r, BH_ADMIN_FAILED, "out of memory");
	snprintf(x->name, sizeof(x->name), "%s", q->dest);
	snprintf(x->staging, sizeof(x->staging), "%s", import_name);
	if (label) {
		x->label_set = 1;
		snprintf(x->label, sizeof(x->label), "%s", label);
	}
	if (bh_path_fmt(x->tdir, sizeof(x->tdir), "%s/templates",
			q->state_dir) ||
	    bh_path_fmt(x->from, sizeof(x->from), "%s/%s", x->tdir,
			import_name) ||
	    bh_path_fmt(x->to, sizeof(x->to), "%s/%s", x->tdir, q->dest) ||
	    qube_dir(q->state_dir, q->dest, x->qdir, sizeof(x->qdir)))
		return import_finish(x, reply_fail(r, BH_ADMIN_FAILED,
						   "state folder path too "
						   "long"));
	if ((st_ = check_staging(x->from, x->sums, r)))
		return import_finish(x, st_);
	/* The image's hash: gigabytes read, in a job. */
	memset(&spec, 0, sizeof(spec));
	spec.op = JOB_HASH;
	snprintf(spec.qube, sizeof(spec.qube), "%s", x->name);
	if (bh_path_fmt(spec.src, sizeof(spec.src), "%s/%s", x->from,
			QUBE_ROOT_IMG))
		return import_finish(x, reply_fail(r, BH_ADMIN_FAILED,
						   "path too long"));
	return admin_job(q, r, &spec, import_resume, x);
}

unsigned admin_template_create(const struct admin_req *q,
			       struct admin_reply *r)
{
	const char *label, *import_name;
	char *body;
	unsigned st;

	/* A token that starts with import=, not the text inside a value. */
	if (strncmp(q->body, IMPORT_KEY, strlen(IMPORT_KEY)) &&
	    !strstr(q->body, " " IMPORT_KEY))
		return admin_vm_create_template(q, r);
	body = strdup(q->body);
	if (!body)
		return reply_fail(r, BH_ADMIN_FAILED, "out of memory");
	st = parse_import_body(body, &label, &import_name, r);
	if (st == 0 && !import_name)
		st = admin_vm_create_template(q, r);
	else if (st == 0)
		st = import(q, r, label, import_name);
	free(body);
	return st;
}


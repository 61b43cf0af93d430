/* admin.vm.Create.TemplateVM: with "import=.build-NAME.XXXXXX" in the
 * body, adopts a template folder that bh template build made (see
 * admin_template.h); without it, admin_vm.c's create copies a source
 * template's root as before.
 *
 * Order (the crash-safety argument of qube_files.h): the checked folder is
 * renamed into place first, then the record is written, then the empty
 * private volume is made. A crash after the rename leaves a folder without
 * a record, which start-up moves to lost+found; nothing half-built is ever
 * recorded. A failure after the rename renames the folder back, for bh to
 * remove. */
#include "daemon/admin_template.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/admin_handlers.h"
#include "daemon/guest_files.h"
#include "daemon/qube_files.h"
#include "daemon/qube_name.h"
#include "daemon/qube_paths.h"
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
 * a SHA256SUMS whose root.img line matches the image. */
static unsigned check_staging(const char *path, struct admin_reply *r)
{
	char sums[SUMS_MAX + 1], img[4200], got[65];
	struct stat st;
	const char *line;
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
	if (bh_path_fmt(img, sizeof(img), "%s/%s", path, QUBE_ROOT_IMG))
		return reply_fail(r, BH_ADMIN_FAILED, "path too long");
	if (sha256_file_hex(img, got) < 0)
		return reply_fail(r, BH_ADMIN_FAILED, "cannot read %s", img);
	for (line = sums; line && *line;
	     line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL)
		if (!strncmp(line, got, 64) && !strncmp(line + 64, "  ", 2) &&
		    !strncmp(line + 66, QUBE_ROOT_IMG "\n", 9))
			return 0;
	return reply_fail(r, BH_ADMIN_INVALID,
			  "%s does not match its SHA256SUMS: the image is "
			  "damaged; build the template again",
			  img);
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

static void record_manifest(const struct admin_req *q, const char *dir)
{
	char path[4200], *text, *line, *save = NULL, key[64],
		err[STORE_ERR_MAX];
	char *vals[sizeof(manifest_keys) / sizeof(*manifest_keys)] = { 0 };
	size_t len, i, n = sizeof(manifest_keys) / sizeof(*manifest_keys);

	if (bh_path_fmt(path, sizeof(path), "%s/template.conf", dir) ||
	    bh_read_file(path, CONF_MAX, &text, &len) < 0) {
		LOG_WARN("%s: no readable template.conf; no manifest "
			 "features", q->dest);
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
		if (store_feature_set(q->s, q->dest, key, vals[i], err,
				      sizeof(err)) < 0)
			LOG_WARN("%s: feature %s not recorded: %s", q->dest,
				 key, err);
		free(vals[i]);
	}
	free(text);
}

static unsigned import(const struct admin_req *q, struct admin_reply *r,
		       const char *label, const char *import_name)
{
	char err[STORE_ERR_MAX] = "", tdir[4096], from[4200], to[4200],
	     qdir[4096];
	struct qube_info exists;
	struct stat st;
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
	if (bh_path_fmt(tdir, sizeof(tdir), "%s/templates", q->state_dir) ||
	    bh_path_fmt(from, sizeof(from), "%s/%s", tdir, import_name) ||
	    bh_path_fmt(to, sizeof(to), "%s/%s", tdir, q->dest) ||
	    qube_dir(q->state_dir, q->dest, qdir, sizeof(qdir)))
		return reply_fail(r, BH_ADMIN_FAILED,
				  "state folder path too long");
	if ((st_ = check_staging(from, r)))
		return st_;
	/* Fresh folders only, as create: a leftover is not ours. */
	if (lstat(to, &st) == 0 || lstat(qdir, &st) == 0)
		return reply_fail(r, BH_ADMIN_REFUSED,
				  "a folder of '%s' is left from an "
				  "interrupted call (the next bulkheadd "
				  "start moves it to lost+found)",
				  q->dest);
	bh_crash_point("import.after-validation");
	if ((e = move(from, to, tdir)) < 0)
		return reply_fail(r, BH_ADMIN_FAILED, "cannot rename %s: %s",
				  from, strerror(-e));
	bh_crash_point("import.after-rename");
	e = qube_files_mkdir(qdir, err, sizeof(err));
	if (e == 0) {
		e = store_qube_create(q->s, q->dest, "TemplateVM", NULL, label,
				      NULL, 0, err, sizeof(err));
		if (e) {
			st_ = reply_store_err(r, e, err, BH_ADMIN_INVALID);
			bh_rm_rf(qdir);
		}
	} else {
		st_ = reply_fail(r, BH_ADMIN_FAILED, "%s", err);
	}
	if (st_ == 0) {
		bh_crash_point("import.after-record");
		e = qube_files_private_new(q->state_dir, q->dest, err,
					   sizeof(err));
		if (e) {
			st_ = reply_fail(r, BH_ADMIN_FAILED,
					 "cannot make the private volume: %s",
					 err);
			store_qube_remove(q->s, q->dest, err, sizeof(err));
			bh_rm_rf(qdir);
		}
	}
	if (st_) {
		/* Back to bh, which removes its staging folder. */
		if (move(to, from, tdir) < 0)
			LOG_ERR("cannot rename %s back to %s: %s", to, from,
				strerror(errno));
		return st_;
	}
	record_manifest(q, to);
	LOG_INFO("template '%s' imported from %s", q->dest, import_name);
	events_emit(q->d, "domain-add", q->dest, NULL, NULL);
	return 0;
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

int template_build_sweep(const char *state_dir)
{
	char dir[4096], path[4400];
	struct dirent *e;
	DIR *d;
	int n = 0, fd;

	if (bh_path_fmt(dir, sizeof(dir), "%s/templates", state_dir))
		return 0;
	d = opendir(dir);
	if (!d)
		return 0;
	while ((e = readdir(d))) {
		if (strncmp(e->d_name, TEMPLATE_BUILD_PREFIX,
			    strlen(TEMPLATE_BUILD_PREFIX)) ||
		    bh_path_fmt(path, sizeof(path), "%s/%s", dir, e->d_name))
			continue;
		fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
					O_CLOEXEC);
		if (fd < 0)
			continue;
		/* bh holds the lock for as long as its build runs. */
		if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
			if (bh_rm_rf(path) == 0) {
				LOG_INFO("removed %s, left by a template build "
					 "that did not finish",
					 path);
				n++;
			} else {
				LOG_WARN("cannot remove %s, left by a "
					 "template build",
					 path);
			}
		}
		close(fd);
	}
	closedir(d);
	return n;
}

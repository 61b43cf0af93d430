#include "daemon/state/volumes_boot.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "daemon/state/qube_files.h"
#include "daemon/state/qube_paths.h"
#include "daemon/disk/volume.h"
#include "lib/log.h"
#include "lib/util.h"

struct rows {
	struct qube_info *v;
	size_t n, cap;
};

static int collect(void *arg, const struct qube_info *q)
{
	struct rows *rs = arg;

	if (rs->n == rs->cap) {
		size_t cap = rs->cap ? 2 * rs->cap : 16;
		void *v = realloc(rs->v, cap * sizeof(*rs->v));

		if (!v)
			return -ENOMEM;
		rs->v = v;
		rs->cap = cap;
	}
	rs->v[rs->n++] = *q;
	return 0;
}

static int has_row(const struct rows *rs, const char *name)
{
	size_t i;

	for (i = 0; i < rs->n; i++)
		if (!strcmp(rs->v[i].name, name))
			return 1;
	return 0;
}

static void cleanup_temps(const char *dir)
{
	int n = volume_cleanup_temps(dir);

	if (n > 0)
		LOG_INFO("removed %d leftover temporary file(s) in %s", n, dir);
	else if (n < 0 && n != -ENOENT)
		LOG_WARN("cannot clean %s: %s", dir, strerror(-n));
}

/* One record: its folders' temporaries, its private volume, its root. */
static int check_row(const char *state, const struct qube_info *q)
{
	char path[4096], err[512] = "";
	struct stat st;
	int r, bad = 0;

	if (qube_dir(state, q->name, path, sizeof(path)) == 0)
		cleanup_temps(path);
	if (q->cls == QC_TEMPLATE &&
	    qube_template_dir(state, q->name, path, sizeof(path)) == 0)
		cleanup_temps(path);
	if (qube_has_private(q) &&
	    qube_private_path(state, q->name, path, sizeof(path)) == 0 &&
	    lstat(path, &st) < 0 && errno == ENOENT) {
		r = qube_files_private_new(state, q->name, err, sizeof(err));
		if (r < 0) {
			LOG_ERR("qube '%s' has no private volume and a new "
				"one cannot be made: %s",
				q->name, err);
			bad++;
		} else {
			LOG_WARN("qube '%s' had no private volume (a call "
				 "was interrupted): made an empty one, %s",
				 q->name, path);
			bad++;
		}
	}
	if ((q->cls == QC_TEMPLATE || q->cls == QC_STANDALONE) &&
	    strcmp(q->name, BUILTIN_TEMPLATE) &&
	    qube_root_path(state, q, path, sizeof(path)) < 0) {
		LOG_ERR("%s '%s' has no root image; it cannot start. Remove "
			"it, or restore its image from a backup",
			qube_class_name(q->cls), q->name);
		bad++;
	}
	return bad;
}

/* Moves STATE/SUB/NAME to STATE/lost+found/NAME{suffix}-TIME. */
static int move_aside(const char *state, const char *sub, const char *name,
		      const char *suffix)
{
	char from[4096], lf[4096], to[4200], stamp[32], err[512];
	time_t now = time(NULL);
	struct tm tm;
	int i, r;

	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
	if (bh_path_fmt(from, sizeof(from), "%s/%s/%s", state, sub, name) ||
	    bh_path_fmt(lf, sizeof(lf), "%s/%s", state, QUBE_LOST_FOUND))
		return -ENAMETOOLONG;
	r = qube_files_mkdir(lf, err, sizeof(err));
	if (r < 0 && r != -EEXIST) {
		LOG_ERR("%s", err);
		return r;
	}
	/* Another orphan of the same name this second: number it. */
	for (i = 0; i < 1000; i++) {
		if (bh_path_fmt(to, sizeof(to), i ? "%s/%s%s-%s.%d" : "%s/%s%s-%s",
				lf, name, suffix, stamp, i))
			return -ENAMETOOLONG;
		if (access(to, F_OK) < 0)
			break;
	}
	if (rename(from, to) < 0) {
		LOG_ERR("%s has no qube record and cannot be moved to %s: %s",
			from, to, strerror(errno));
		return -errno;
	}
	LOG_WARN("%s has no qube record (a call was interrupted, or the "
		 "database was replaced): moved to %s",
		 from, to);
	return 0;
}

/* Every entry of STATE/SUB without a record goes to lost+found. */
static int sweep(const char *state, const char *sub, const char *suffix,
		 const struct rows *rs)
{
	char dir[4096], path[4400];
	struct dirent *e;
	DIR *d;
	int bad = 0;

	if (bh_path_fmt(dir, sizeof(dir), "%s/%s", state, sub))
		return 1;
	d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : 1;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.' || has_row(rs, e->d_name) ||
		    !strcmp(e->d_name, BUILTIN_TEMPLATE))
			continue;
		/* A name the store could never hold is no qube's folder
		 * either, but it is still not ours to delete. Its temporaries
		 * are: each is an unfinished copy or an empty volume whose
		 * source still exists, and in lost+found nothing would ever
		 * clean them. */
		if (bh_path_fmt(path, sizeof(path), "%s/%s", dir,
				e->d_name) == 0)
			cleanup_temps(path);
		move_aside(state, sub, e->d_name, suffix);
		bad++;
	}
	closedir(d);
	return bad;
}

int volumes_boot(struct store *s, const char *state_dir)
{
	struct rows rs = { NULL, 0, 0 };
	char err[STORE_ERR_MAX] = "", dir[4096];
	size_t i;
	int bad = 0, r;

	r = store_qube_list(s, collect, &rs, err, sizeof(err));
	if (r < 0) {
		LOG_ERR("cannot list qubes to check their volumes: %s",
			r == -ENOMEM ? "out of memory" : err);
		free(rs.v);
		return 1;
	}
	if (bh_path_fmt(dir, sizeof(dir), "%s/qubes", state_dir) == 0 &&
	    mkdir(dir, 0700) < 0 && errno != EEXIST) {
		LOG_ERR("cannot create %s: %s", dir, strerror(errno));
		bad++;
	}
	for (i = 0; i < rs.n; i++)
		bad += check_row(state_dir, &rs.v[i]);
	bad += sweep(state_dir, "qubes", "", &rs);
	bad += sweep(state_dir, "templates", ".root", &rs);
	/* Staging folders of template builds that were cut short. */
	template_build_sweep(state_dir);
	free(rs.v);
	return bad;
}

#include "daemon/state/qube_files.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/state/qube_paths.h"
#include "daemon/disk/volume.h"
#include "lib/crashpoint.h"
#include "lib/log.h"
#include "lib/util.h"

static int fsync_parent(const char *path)
{
	char dir[4096];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = '\0';
	return bh_fsync_dir(dir);
}

static int mkdir_one(const char *path, int exist_ok, char *err, size_t cap)
{
	if (mkdir(path, 0700) < 0) {
		if (errno == EEXIST && exist_ok)
			return 0;
		if (errno == EEXIST) {
			snprintf(err, cap,
				 "%s exists without a qube record (left by "
				 "an interrupted call?); bulkheadd moves it to "
				 "lost+found at its next start",
				 path);
			return -EEXIST;
		}
		snprintf(err, cap, "cannot create %s: %s", path,
			 strerror(errno));
		return -errno;
	}
	/* The new entry must outlive a crash as surely as the image that
	 * will be renamed into it. */
	return fsync_parent(path);
}

int qube_files_mkdir(const char *path, char *err, size_t cap)
{
	char parent[4096];
	char *slash;
	int r;

	snprintf(parent, sizeof(parent), "%s", path);
	slash = strrchr(parent, '/');
	if (slash && slash != parent) {
		*slash = '\0';
		r = mkdir_one(parent, 1, err, cap);
		if (r < 0)
			return r;
	}
	return mkdir_one(path, 0, err, cap);
}

int qube_files_private_new(const char *state, const char *name, char *err,
			   size_t cap)
{
	char dir[4096], img[4096];
	int r;

	if (qube_dir(state, name, dir, sizeof(dir)) ||
	    qube_private_path(state, name, img, sizeof(img))) {
		snprintf(err, cap, "state folder path too long");
		return -ENAMETOOLONG;
	}
	r = qube_files_mkdir(dir, err, cap);
	if (r < 0 && r != -EEXIST)
		return r;
	return volume_private_create(img, VOLUME_PRIVATE_DEFAULT, err, cap);
}

int qube_files_copy(const char *src, const char *dst, char *err, size_t cap)
{
	return volume_copy(src, dst, NULL, err, cap);
}

static int rm_dir(const char *dir)
{
	int r = bh_rm_rf(dir);

	if (r < 0)
		return r;
	r = fsync_parent(dir);
	return r == -ENOENT ? 0 : r;
}

int qube_files_remove(const char *state, const char *name, int template)
{
	char dir[4096];
	int r = 0, e;

	if (!strcmp(name, BUILTIN_TEMPLATE))
		return -EPERM;
	if (qube_dir(state, name, dir, sizeof(dir)) == 0)
		r = rm_dir(dir);
	bh_crash_point("remove.between-folders");
	if (template && qube_template_dir(state, name, dir, sizeof(dir)) == 0) {
		e = rm_dir(dir);
		if (r == 0)
			r = e;
	}
	/* A disposable template's snapshot (dispvm_snapshot.h) goes with
	 * it: it holds a copy of its private volume. */
	if (snapshot_dir_for(state, name, dir, sizeof(dir)) == 0) {
		e = bh_rm_rf(dir);
		if (r == 0)
			r = e;
	}
	return r;
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

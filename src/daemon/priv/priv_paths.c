/* A qube's files by name and back (priv_paths.h). */
#include "daemon/priv/priv_paths.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/util.h"

static int name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
}

/* s[0..n) is a plain name of [A-Za-z0-9_.-] (plus '+' when plus), not
 * starting with '.', shorter than cap. */
static int plain(const char *s, size_t n, size_t cap, int plus)
{
	size_t i;

	if (n == 0 || n >= cap || s[0] == '.')
		return 0;
	for (i = 0; i < n; i++)
		if (!name_char(s[i]) && !(plus && s[i] == '+'))
			return 0;
	return 1;
}

/* s[0..n) is one path component of [A-Za-z0-9._+-], neither "." nor
 * "..", shorter than an area's owner field. */
static int plain_owner(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n >= BH_PRIV_OWNER_MAX || (n == 1 && s[0] == '.') ||
	    (n == 2 && s[0] == '.' && s[1] == '.'))
		return 0;
	for (i = 0; i < n; i++)
		if (!name_char(s[i]) && s[i] != '+')
			return 0;
	return 1;
}

/* The rest of path after PREFIX "/" SUB "/", or NULL. */
static const char *under(const char *path, const char *prefix,
			 const char *sub)
{
	size_t n = strlen(prefix), m = strlen(sub);

	if (strncmp(path, prefix, n) || path[n] != '/' ||
	    strncmp(path + n + 1, sub, m) || path[n + 1 + m] != '/')
		return NULL;
	return path + n + 1 + m + 1;
}

int priv_kver_of(const char *state, const char *kernel_path, char *kver,
		 size_t cap)
{
	const char *rest = under(kernel_path, state, "kernels");
	const char *slash = rest ? strchr(rest, '/') : NULL;
	size_t n;

	if (!slash || strcmp(slash, "/vmlinuz"))
		return -EINVAL;
	n = (size_t)(slash - rest);
	if (!plain(rest, n, BH_PRIV_KVER_MAX, 1) || n >= cap)
		return -EINVAL;
	memcpy(kver, rest, n);
	kver[n] = '\0';
	return 0;
}

int priv_root_of(const char *state, const char *root_path, uint32_t *kind,
		 char *owner, size_t ocap, char *file, size_t fcap)
{
	const char *rest = under(root_path, state, "templates");
	const char *slash;
	size_t n;

	*kind = BH_PRIV_ROOT_TEMPLATE;
	if (!rest) {
		rest = under(root_path, state, "qubes");
		*kind = BH_PRIV_ROOT_QUBE;
	}
	slash = rest ? strchr(rest, '/') : NULL;
	if (!slash || strchr(slash + 1, '/'))
		return -EINVAL;
	n = (size_t)(slash - rest);
	/* An owner is a qube or template name: a letter first. */
	if (!plain(rest, n, BH_PRIV_NAME_MAX, 0) || n >= ocap ||
	    !((rest[0] >= 'a' && rest[0] <= 'z') ||
	      (rest[0] >= 'A' && rest[0] <= 'Z')) ||
	    !plain(slash + 1, strlen(slash + 1), BH_PRIV_FILE_MAX, 0) ||
	    strlen(slash + 1) >= fcap)
		return -EINVAL;
	memcpy(owner, rest, n);
	owner[n] = '\0';
	strcpy(file, slash + 1);
	return 0;
}

/* path's real path into out (a read-only file: links followed). */
static int resolve(const char *path, char *out, const char *what, char *err,
		   size_t cap)
{
	char *r = realpath(path, NULL);

	if (!r || strlen(r) >= PATH_MAX) {
		int e = r ? ENAMETOOLONG : errno;

		free(r);
		snprintf(err, cap, "cannot find the %s %.1500s: %s", what,
			 path, strerror(e));
		return -e;
	}
	strcpy(out, r);
	free(r);
	return 0;
}

/* A file a qube writes: dir/file where dir is a real folder (not a link)
 * and file a regular file with one link (not a link); out gets the
 * canonical path (dir resolved: its parents may be links). */
static int writable_file(const char *dir, const char *file, char *out,
			 const char *what, char *err, size_t cap)
{
	char path[PATH_MAX], real_dir[PATH_MAX];
	struct stat st;

	if (bh_path_fmt(path, sizeof(path), "%s/%s", dir, file)) {
		snprintf(err, cap, "the %s's path is too long", what);
		return -ENAMETOOLONG;
	}
	if (lstat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		snprintf(err, cap, "the folder of the %s, %.1500s, is %s", what,
			 dir, errno == ENOENT ? "missing" : "not a folder");
		return -ENOTDIR;
	}
	if (lstat(path, &st) < 0) {
		int e = errno;

		snprintf(err, cap, "cannot find the %s %.1500s: %s", what, path,
			 strerror(e));
		return -e;
	}
	if (!S_ISREG(st.st_mode) || st.st_nlink != 1) {
		snprintf(err, cap,
			 "the %s %.1500s is not a plain file (a link, or a "
			 "file with other names): refused",
			 what, path);
		return -EPERM;
	}
	if (resolve(dir, real_dir, "folder of the image", err, cap) < 0 ||
	    bh_path_fmt(out, PATH_MAX, "%s/%s", real_dir, file)) {
		if (!err[0])
			snprintf(err, cap, "the %s's path is too long", what);
		return -ENAMETOOLONG;
	}
	return 0;
}

int priv_files_for(const char *state, const char *run,
		   const struct bh_priv_launch *l, struct priv_files *f,
		   char *err, size_t cap)
{
	char path[PATH_MAX], dir[PATH_MAX];
	const char *sub = l->root_kind == BH_PRIV_ROOT_TEMPLATE ? "templates"
								: "qubes";
	int r;

	err[0] = '\0';
	memset(f, 0, sizeof(*f));
	if (bh_path_fmt(path, sizeof(path), "%s/kernels/%s/vmlinuz", state,
			l->kver) ||
	    bh_path_fmt(dir, sizeof(dir), "%s/%s/%s", state, sub,
			l->root_owner) ||
	    bh_path_fmt(f->run_dir, sizeof(f->run_dir), "%s/qubes/%s", run,
			l->name)) {
		snprintf(err, cap, "the state folder's path is too long");
		return -ENAMETOOLONG;
	}
	r = resolve(path, f->kernel, "guest kernel", err, cap);
	if (r == 0 &&
	    bh_path_fmt(path, sizeof(path), "%s/kernels/%s/initramfs.img",
			state, l->kver) == 0)
		r = resolve(path, f->initramfs, "guest initramfs", err, cap);
	if (r < 0)
		return r;
	if (l->flags & BH_PRIV_ROOT_WRITABLE) {
		r = writable_file(dir, l->root_file, f->root, "root image", err,
				  cap);
	} else if (bh_path_fmt(path, sizeof(path), "%s/%s", dir,
			       l->root_file)) {
		snprintf(err, cap, "the root image's path is too long");
		r = -ENAMETOOLONG;
	} else {
		r = resolve(path, f->root, "root image", err, cap);
	}
	if (r < 0 || l->private_kind == BH_PRIV_PRIVATE_NONE)
		return r;
	if (l->private_kind == BH_PRIV_PRIVATE_STATE &&
	    bh_path_fmt(dir, sizeof(dir), "%s/qubes/%s", state, l->name)) {
		snprintf(err, cap, "the state folder's path is too long");
		return -ENAMETOOLONG;
	}
	return writable_file(l->private_kind == BH_PRIV_PRIVATE_STATE
				     ? dir
				     : f->run_dir,
			     "private.img", f->private_img, "private volume",
			     err, cap);
}

static int hand(const char *path, uid_t uid, mode_t mode, char *err,
		size_t cap);

int priv_hand_file(const char *path, uid_t uid, char *err, size_t cap)
{
	return hand(path, uid, 0600, err, cap);
}

int priv_hand_file_back(const char *path, char *err, size_t cap)
{
	return hand(path, 0, 0644, err, cap);
}

static int hand(const char *path, uid_t uid, mode_t mode, char *err,
		size_t cap)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY |
				    O_CLOEXEC);
	struct stat st;
	int r = 0;

	if (fd < 0)
		r = -errno;
	else if (fstat(fd, &st) < 0)
		r = -errno;
	else if (!S_ISREG(st.st_mode) || st.st_nlink != 1)
		r = -EPERM;
	else if (fchown(fd, uid, uid) < 0 || fchmod(fd, mode) < 0)
		r = -errno;
	if (fd >= 0)
		close(fd);
	if (r < 0)
		snprintf(err, cap, "cannot hand %.1500s %s: %s", path,
			 uid ? "to the qube" : "back to root",
			 r == -EPERM ? "not a plain file" : strerror(-r));
	return r;
}

/* The folder under state or run of each area, or NULL. */
static const char *area_sub(uint32_t area, int *in_run)
{
	*in_run = area == BH_PRIV_AREA_RUN;
	switch (area) {
	case BH_PRIV_AREA_QUBES:
	case BH_PRIV_AREA_RUN:
		return "qubes";
	case BH_PRIV_AREA_TEMPLATES:
		return "templates";
	case BH_PRIV_AREA_KERNELS:
		return "kernels";
	case BH_PRIV_AREA_SNAPSHOTS:
		return "snapshots";
	default:
		return NULL;
	}
}

int priv_place_of(const char *state, const char *run, const char *path,
		  struct bh_priv_place *p)
{
	static const uint32_t areas[] = {
		BH_PRIV_AREA_QUBES, BH_PRIV_AREA_TEMPLATES,
		BH_PRIV_AREA_KERNELS, BH_PRIV_AREA_SNAPSHOTS, BH_PRIV_AREA_RUN
	};
	size_t i, n;

	memset(p, 0, sizeof(*p));
	for (i = 0; i < sizeof(areas) / sizeof(*areas); i++) {
		int in_run;
		const char *sub = area_sub(areas[i], &in_run);
		const char *rest = under(path, in_run ? run : state, sub);
		const char *slash = rest ? strchr(rest, '/') : NULL;

		if (!slash)
			continue;
		n = (size_t)(slash - rest);
		/* One folder, not "." nor "..", then one plain file. */
		if (!plain_owner(rest, n) || strchr(slash + 1, '/') ||
		    !plain(slash + 1, strlen(slash + 1), BH_PRIV_FILE_MAX, 0))
			return -EINVAL;
		p->area = areas[i];
		memcpy(p->owner, rest, n);
		strcpy(p->file, slash + 1);
		return 0;
	}
	return -EINVAL;
}

int priv_place_path(const char *state, const char *run,
		    const struct bh_priv_place *p, int writes, char *out,
		    char *err, size_t cap)
{
	int in_run;
	const char *sub = area_sub(p->area, &in_run);
	char dir[PATH_MAX], real_dir[PATH_MAX];
	struct stat st;

	if (!sub || bh_path_fmt(dir, sizeof(dir), "%s/%s/%s",
				in_run ? run : state, sub, p->owner)) {
		snprintf(err, cap, "a job's place is out of range");
		return -EINVAL;
	}
	if (p->area == BH_PRIV_AREA_TEMPLATES ||
	    p->area == BH_PRIV_AREA_KERNELS) {
		/* Root's folders: links there are root's too. */
		if (resolve(dir, real_dir, "folder", err, cap) < 0)
			return -ENOENT;
	} else {
		if (lstat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
			snprintf(err, cap, "%.1500s is %s", dir,
				 errno == ENOENT ? "missing"
						 : "not a folder (a link?)");
			return -ENOTDIR;
		}
		snprintf(real_dir, sizeof(real_dir), "%s", dir);
	}
	if (bh_path_fmt(out, PATH_MAX, "%s/%s", real_dir, p->file)) {
		snprintf(err, cap, "a job's path is too long");
		return -ENAMETOOLONG;
	}
	/* A source where control could plant a link: a plain file. */
	if (!writes && p->area != BH_PRIV_AREA_TEMPLATES &&
	    p->area != BH_PRIV_AREA_KERNELS &&
	    (lstat(out, &st) < 0 || !S_ISREG(st.st_mode) ||
	     st.st_nlink != 1)) {
		snprintf(err, cap, "%.1500s is %s", out,
			 errno == ENOENT ? "missing"
					 : "not a plain file (a link?)");
		return -EPERM;
	}
	return 0;
}

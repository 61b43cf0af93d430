/* The policy's files: which are read (NAME.policy of the folder, in
 * C-locale order, and what their !include, !include-dir and
 * !include-service directives name), which names make the policy
 * invalid, and reading each file whole and bounded before
 * policy_parse.c parses it.
 *
 * Includes follow Qubes (qrexec/policy/parser.py, FilePolicy): a relative
 * PATH starts from the policy folder (whichever file includes it), an
 * absolute one is taken as it is, and symbolic links are followed. A
 * PATH that is missing, not a regular file (or for !include-dir not a
 * folder), a file that includes itself, directly or not, or includes
 * nested deeper than POLICY_INCLUDE_DEPTH are errors at the directive's
 * line, and so make the whole policy deny every call. */
#include "daemon/policy/policy.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/policy/policy_rule.h"
#include "lib/util.h"

/* While the policy loads: where relative PATHs start, and the files being
 * read now, outermost first, to refuse an include loop. */
struct policy_loader {
	int root_fd; /* the policy folder */
	size_t reads; /* files read in all, includes counted */
	size_t bytes; /* and their bytes */
	unsigned depth; /* entries of open[] in use */
	struct {
		dev_t dev;
		ino_t ino;
	} open[POLICY_INCLUDE_DEPTH + 1];
};

int policy_dir_path(const char *root, char *out, size_t cap)
{
	return bh_path_fmt(out, cap, "%s%s", root ? root : "",
			   POLICY_DIR_SUFFIX);
}

/* 1 for a name to read, 0 for one to ignore (hidden, or not *.policy). */
static int wanted(const char *name)
{
	size_t n = strlen(name);

	return name[0] != '.' && n > 7 && !strcmp(name + n - 7, ".policy");
}

static int name_char(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
	       ch == '_' || ch == '.' || ch == '-';
}

static int all_names(const char *s)
{
	for (; *s; s++)
		if (!name_char(*s))
			return 0;
	return 1;
}

/* A name for a message: anything but printable ASCII becomes '?'. */
static void shown_name(const char *name, char *out, size_t cap)
{
	size_t i;

	for (i = 0; name[i] && i + 1 < cap; i++)
		out[i] = name[i] >= 0x20 && name[i] <= 0x7e ? name[i] : '?';
	out[i] = '\0';
}

/* PREFIX/NAME (NAME alone when prefix is ""), as messages show a file. */
static void join(const char *prefix, const char *name, char *out,
		 size_t cap)
{
	size_t n = strlen(prefix);

	snprintf(out, cap, "%s%s%s", prefix,
		 n && prefix[n - 1] != '/' ? "/" : "", name);
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void free_names(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* The names of d to read, sorted, into *names (each malloc'd). A bad
 * name is an error about that file (shown as PREFIX/NAME) and is left
 * out; c names the folder for the other errors. */
static int list_dir(struct parse_ctx *c, DIR *d, const char *prefix,
		    char ***names, size_t *n)
{
	char shown[POLICY_SHOWN_MAX + 1], clean[POLICY_FILENAME_MAX + 8];
	struct dirent *de;
	char **v = NULL;

	*n = 0;
	while ((errno = 0, de = readdir(d))) {
		char **nv;

		if (!wanted(de->d_name))
			continue;
		if (strlen(de->d_name) > POLICY_FILENAME_MAX ||
		    !all_names(de->d_name)) {
			struct parse_ctx fc = *c;

			shown_name(de->d_name, clean, sizeof(clean));
			join(prefix, clean, shown, sizeof(shown));
			fc.fname = shown;
			fc.line = 0;
			policy_perr(&fc, "file name not allowed: names are at most "
				"%d of 0-9 a-z _ . -, so every call is denied",
			     POLICY_FILENAME_MAX);
			continue;
		}
		if (*n == POLICY_FILES_MAX) {
			policy_perr(c, "more than %d policy files", POLICY_FILES_MAX);
			break;
		}
		nv = realloc(v, (*n + 1) * sizeof(*v));
		if (!nv || !(nv[*n] = strdup(de->d_name))) {
			free_names(nv ? nv : v, *n);
			*names = NULL;
			*n = 0;
			return -ENOMEM;
		}
		v = nv;
		(*n)++;
	}
	if (errno)
		policy_perr(c, "cannot list: %s", strerror(errno));
	if (*n)
		qsort(v, *n, sizeof(*v), cmp_names);
	*names = v;
	return 0;
}

/* Opens and reads the regular file at path (relative to dfd) whole, at
 * most POLICY_FILE_MAX bytes, and gives its identity in *st. Returns 0;
 * -ENOMEM; or -1 with why in why (WHY_MAX bytes). */
#define WHY_MAX 128
static int read_whole(int dfd, const char *path, char **buf, size_t *len,
		      struct stat *st, char *why)
{
	size_t got = 0, cap;
	ssize_t r = 0;
	char *b;
	int fd;

	/* Only a regular file is opened at all: opening a device can do
	 * something (a tape rewinds, a watchdog starts). Should it change
	 * in between, O_NONBLOCK keeps a FIFO from hanging the daemon, and
	 * fstat below checks again. */
	if (fstatat(dfd, path, st, 0) == 0 && !S_ISREG(st->st_mode)) {
		snprintf(why, WHY_MAX, "not a regular file");
		return -1;
	}
	fd = openat(dfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0 || fstat(fd, st) < 0) {
		snprintf(why, WHY_MAX, "cannot read: %s", strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (!S_ISREG(st->st_mode) || st->st_size > POLICY_FILE_MAX) {
		snprintf(why, WHY_MAX, "%s",
			 !S_ISREG(st->st_mode) ? "not a regular file"
					       : "larger than 1 MiB");
		close(fd);
		return -1;
	}
	/* One byte more than its size, to see a file that grew meanwhile. */
	cap = (size_t)st->st_size + 1;
	b = malloc(cap);
	if (!b) {
		close(fd);
		return -ENOMEM;
	}
	while (got < cap && ((r = read(fd, b + got, cap - got)) > 0 ||
			     (r < 0 && errno == EINTR)))
		got += r > 0 ? (size_t)r : 0;
	close(fd);
	if (r < 0 || got == cap) {
		snprintf(why, WHY_MAX, "%s",
			 r < 0 ? "cannot read" : "changed while being read");
		free(b);
		return -1;
	}
	*buf = b;
	*len = got;
	return 0;
}

/* Reads the file at path (relative to dfd), shown as shown, and parses
 * it with the syntax svc says (NULL: full lines). c is where it is read
 * from: a directive's line, or line 0 for a file of the policy folder,
 * and where an error about reading it goes. */
static int load_file(struct parse_ctx *c, int dfd, const char *path,
		     const char *shown, const struct policy_rule *svc)
{
	struct policy_loader *ld = c->ld;
	struct parse_ctx fc = *c;
	char why[WHY_MAX];
	struct stat st;
	size_t len;
	unsigned i;
	char *buf;
	int e;

	/* Each read counts, so that includes cannot multiply the work. */
	if (ld->reads == POLICY_FILES_MAX) {
		policy_perr(c, "more than %d policy files in all, includes "
			"counted",
		     POLICY_FILES_MAX);
		return 0;
	}
	ld->reads++;
	e = read_whole(dfd, path, &buf, &len, &st, why);
	if (e == -ENOMEM)
		return e;
	/* The router reads the policy for every call: bound the work a
	 * few includes of big files could multiply. */
	if (!e && len > POLICY_BYTES_MAX - ld->bytes) {
		free(buf);
		snprintf(why, WHY_MAX, "more than %d MiB of policy in all, "
			 "includes counted",
			 POLICY_BYTES_MAX / (1024 * 1024));
		e = -1;
	} else if (!e) {
		ld->bytes += len;
	}
	if (e && c->line) {
		policy_perr(c, "cannot include %s: %s", shown, why);
		return 0;
	}
	if (e) {
		/* A file of the policy folder: "NAME: why". */
		fc.fname = shown;
		policy_perr(&fc, "%s", why);
		return 0;
	}
	for (i = 0; i < ld->depth; i++)
		if (ld->open[i].dev == st.st_dev && ld->open[i].ino == st.st_ino)
			break;
	if (i < ld->depth || ld->depth > POLICY_INCLUDE_DEPTH) {
		policy_perr(c, i < ld->depth
			     ? "cannot include %s: it is being read already "
			       "(an include loop)"
			     : "cannot include %s: includes nested deeper "
			       "than %d",
		     shown, POLICY_INCLUDE_DEPTH);
		free(buf);
		return 0;
	}
	e = policy_add_file(c->p, shown, &fc.file);
	if (!e) {
		ld->open[ld->depth].dev = st.st_dev;
		ld->open[ld->depth].ino = st.st_ino;
		ld->depth++;
		fc.fname = c->p->files[fc.file];
		fc.svc = svc;
		e = policy_parse_bytes(&fc, buf, len);
		ld->depth--;
	}
	free(buf);
	return e;
}

/* Reads the NAME.policy files of the open folder d (fd dfd), each shown
 * as PREFIX/NAME, in C-locale order. */
static int load_folder(struct parse_ctx *c, DIR *d, int dfd,
		       const char *prefix)
{
	char shown[POLICY_SHOWN_MAX + 1];
	char **names = NULL;
	size_t n = 0, i;
	int e;

	e = list_dir(c, d, prefix, &names, &n);
	for (i = 0; !e && i < n; i++) {
		join(prefix, names[i], shown, sizeof(shown));
		e = load_file(c, dfd, names[i], shown, NULL);
	}
	free_names(names, n);
	return e;
}

/* Checks an include's PATH; 0, or -1 with the error recorded. */
static int include_ok(struct parse_ctx *c, const char *path)
{
	if (!c->ld) {
		policy_perr(c, "a lone policy file cannot include: there is no "
			"policy folder");
		return -1;
	}
	if (strlen(path) > POLICY_PATH_MAX) {
		policy_perr(c, "an include PATH is at most %d characters",
		     POLICY_PATH_MAX);
		return -1;
	}
	return 0;
}

int policy_include_file(struct parse_ctx *c, const char *path,
			const struct policy_rule *svc)
{
	if (include_ok(c, path) < 0)
		return 0;
	/* PATH was checked printable ASCII with the rest of the line. */
	return load_file(c, c->ld->root_fd, path, path, svc);
}

int policy_include_dir(struct parse_ctx *c, const char *path)
{
	DIR *d;
	int fd, e;

	if (include_ok(c, path) < 0)
		return 0;
	fd = openat(c->ld->root_fd, path,
		    O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		policy_perr(c, "cannot include the folder %s: %s", path,
		     errno == ENOTDIR ? "not a folder" : strerror(errno));
		return 0;
	}
	d = fdopendir(fd);
	if (!d) {
		e = errno;
		close(fd);
		if (e == ENOMEM)
			return -ENOMEM;
		policy_perr(c, "cannot include the folder %s: %s", path,
		     strerror(e));
		return 0;
	}
	e = load_folder(c, d, dirfd(d), path);
	closedir(d);
	return e;
}

int policy_load_dir(const char *dir, struct policy **out,
		    struct policy_errs *errs)
{
	struct policy *p = policy_new();
	struct policy_loader ld = { -1, 0, 0, 0, { { 0, 0 } } };
	struct parse_ctx c = { p, errs, dir, 0, 0, &ld, NULL };
	DIR *d;
	int e;

	if (errs)
		errs->count = errs->kept = 0;
	if (!p) {
		*out = NULL;
		return -ENOMEM;
	}
	d = opendir(dir);
	if (!d) {
		policy_perr(&c, "cannot open the policy folder: %s", strerror(errno));
		return policy_finish(p, out, 0);
	}
	ld.root_fd = dirfd(d);
	e = load_folder(&c, d, ld.root_fd, "");
	closedir(d);
	return policy_finish(p, out, e);
}

int policy_load(const char *root, struct policy **out,
		struct policy_errs *errs)
{
	struct parse_ctx c = { NULL, errs, "policy.d", 0, 0, NULL, NULL };
	char dir[PATH_MAX];

	if (policy_dir_path(root, dir, sizeof(dir)) == 0)
		return policy_load_dir(dir, out, errs);
	/* Fail closed, with a policy that says why. */
	if (errs)
		errs->count = errs->kept = 0;
	c.p = policy_new();
	if (!c.p) {
		*out = NULL;
		return -ENOMEM;
	}
	policy_perr(&c, "the folder's path is too long");
	return policy_finish(c.p, out, 0);
}

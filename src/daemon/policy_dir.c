/* The policy folder: which files are read (NAME.policy, C-locale order),
 * which names make the policy invalid, and reading each file whole and
 * bounded before policy_parse.c parses it. */
#include "daemon/policy.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/policy_rule.h"
#include "lib/util.h"

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

/* A file name for a message: anything but printable ASCII becomes '?'. */
static void shown_name(const char *name, char *out, size_t cap)
{
	size_t i;

	for (i = 0; name[i] && i + 1 < cap; i++)
		out[i] = name[i] >= 0x20 && name[i] <= 0x7e ? name[i] : '?';
	out[i] = '\0';
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names to read, sorted, into *names (each malloc'd). A bad name is
 * an error and is left out. */
static int list_dir(struct parse_ctx *c, DIR *d, char ***names, size_t *n)
{
	char shown[POLICY_FILENAME_MAX + 8];
	struct dirent *de;
	char **v = NULL;

	*n = 0;
	while ((errno = 0, de = readdir(d))) {
		char **nv;

		if (!wanted(de->d_name))
			continue;
		if (strlen(de->d_name) > POLICY_FILENAME_MAX ||
		    !all_names(de->d_name)) {
			const char *dir = c->fname;

			shown_name(de->d_name, shown, sizeof(shown));
			c->fname = shown;
			policy_perr(c, "file name not allowed: names are at most %d "
				"of 0-9 a-z _ . -, so every call is denied",
			     POLICY_FILENAME_MAX);
			c->fname = dir;
			continue;
		}
		if (*n == POLICY_FILES_MAX) {
			policy_perr(c, "more than %d policy files", POLICY_FILES_MAX);
			break;
		}
		nv = realloc(v, (*n + 1) * sizeof(*v));
		if (!nv || !(nv[*n] = strdup(de->d_name))) {
			free(nv ? nv : v);
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

/* Reads a whole regular file of at most POLICY_FILE_MAX bytes. */
static int read_policy_file(struct parse_ctx *c, int dfd, const char *name,
			    char **buf, size_t *len)
{
	struct stat st;
	size_t got = 0, cap;
	ssize_t r = 0;
	char *b;
	int fd;

	/* O_NONBLOCK: a FIFO must not hang the daemon. */
	fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0 || fstat(fd, &st) < 0) {
		policy_perr(c, "cannot read: %s", strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > POLICY_FILE_MAX) {
		policy_perr(c, !S_ISREG(st.st_mode) ? "not a regular file"
					     : "larger than 1 MiB");
		close(fd);
		return -1;
	}
	/* One byte more than its size, to see a file that grew meanwhile. */
	cap = (size_t)st.st_size + 1;
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
		policy_perr(c, r < 0 ? "cannot read" : "changed while being read");
		free(b);
		return -1;
	}
	*buf = b;
	*len = got;
	return 0;
}

static int load_one(struct parse_ctx *c, int dfd, const char *name)
{
	size_t len;
	char *buf;
	int e;

	e = policy_add_file(c->p, name, &c->file);
	if (e)
		return e;
	c->fname = c->p->files[c->file];
	e = read_policy_file(c, dfd, name, &buf, &len);
	if (e)
		return e == -ENOMEM ? e : 0;
	e = policy_parse_bytes(c, buf, len);
	free(buf);
	return e;
}

int policy_load_dir(const char *dir, struct policy **out,
		    struct policy_errs *errs)
{
	struct policy *p = policy_new();
	struct parse_ctx c = { p, errs, dir, 0, 0 };
	char **names = NULL;
	size_t n = 0, i;
	DIR *d;
	int e = 0;

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
	e = list_dir(&c, d, &names, &n);
	for (i = 0; !e && i < n; i++)
		e = load_one(&c, dirfd(d), names[i]);
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	closedir(d);
	return policy_finish(p, out, e);
}

int policy_load(const char *root, struct policy **out,
		struct policy_errs *errs)
{
	struct parse_ctx c = { NULL, errs, "policy.d", 0, 0 };
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

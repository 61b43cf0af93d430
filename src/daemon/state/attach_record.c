/* The runtime folder's notes for the next daemon (attach_record.h). */
#include "daemon/state/attach_record.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/util.h"

#define RECORD_MAGIC "bulkhead-attach 1\n"
/* The record's longest: the magic, two lines of two paths. */
#define RECORD_MAX (64 + 2 * 4096 + 64)

int attach_record_write(const char *run_dir, const struct attach_record *r)
{
	char path[4200], *text;
	int n, err;

	if (strchr(r->tmpl_dir, '\n') || strchr(r->tmpl_work, '\n') ||
	    strchr(r->tmpl_dir, ' ') || (!r->tmpl_dir[0] != !r->tmpl_work[0]))
		return -EINVAL;
	if (bh_path_fmt(path, sizeof(path), "%s/%s", run_dir,
			ATTACH_RECORD_FILE))
		return -ENAMETOOLONG;
	text = malloc(RECORD_MAX);
	if (!text)
		return -ENOMEM;
	n = snprintf(text, RECORD_MAX, RECORD_MAGIC "persistent %d\n",
		     r->persistent ? 1 : 0);
	if (r->tmpl_dir[0])
		n += snprintf(text + n, RECORD_MAX - (size_t)n, "tmpl %s %s\n",
			      r->tmpl_dir, r->tmpl_work);
	err = bh_write_file_replace(path, text, (size_t)n, 0600);
	free(text);
	return err;
}

/* An absolute path with no space, of fewer than cap bytes, from *p up to
 * the separator sep; *p moves past it. */
static int take_path(char **p, char sep, char *out, size_t cap)
{
	char *end = strchr(*p, sep);
	size_t len;

	if (!end)
		return -EPROTO;
	len = (size_t)(end - *p);
	if (len == 0 || len >= cap || (*p)[0] != '/' ||
	    memchr(*p, ' ', len) || memchr(*p, '\n', len))
		return -EPROTO;
	memcpy(out, *p, len);
	out[len] = '\0';
	*p = end + 1;
	return 0;
}

int attach_record_read(const char *run_dir, struct attach_record *r)
{
	char path[4200], *text, *p;
	size_t len;
	int err;

	memset(r, 0, sizeof(*r));
	if (bh_path_fmt(path, sizeof(path), "%s/%s", run_dir,
			ATTACH_RECORD_FILE))
		return -ENAMETOOLONG;
	err = bh_read_file(path, RECORD_MAX, &text, &len);
	if (err < 0)
		return err;
	err = -EPROTO;
	if (strlen(text) != len || strncmp(text, RECORD_MAGIC,
					     strlen(RECORD_MAGIC)))
		goto out;
	p = text + strlen(RECORD_MAGIC);
	if (!strncmp(p, "persistent 0\n", 13) ||
	    !strncmp(p, "persistent 1\n", 13)) {
		r->persistent = p[11] == '1';
		p += 13;
	} else {
		goto out;
	}
	if (!strncmp(p, "tmpl ", 5)) {
		p += 5;
		if (take_path(&p, ' ', r->tmpl_dir, sizeof(r->tmpl_dir)) < 0 ||
		    take_path(&p, '\n', r->tmpl_work, sizeof(r->tmpl_work)) <
			    0)
			goto out;
	}
	if (*p == '\0')
		err = 0;
out:
	if (err < 0)
		memset(r, 0, sizeof(*r));
	free(text);
	return err;
}

int attach_record_set_paused(const char *run_dir, int paused)
{
	char path[4200];
	int fd;

	if (bh_path_fmt(path, sizeof(path), "%s/%s", run_dir, PAUSED_FILE))
		return -ENAMETOOLONG;
	if (!paused)
		return unlink(path) < 0 && errno != ENOENT ? -errno : 0;
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

int attach_record_paused(const char *run_dir)
{
	char path[4200];

	if (bh_path_fmt(path, sizeof(path), "%s/%s", run_dir, PAUSED_FILE))
		return 0;
	return access(path, F_OK) == 0;
}

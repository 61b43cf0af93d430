/* The runtime folder's notes for the next daemon (attach_record.h). */
#include "daemon/state/attach_record.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/util.h"
#include "proto/frame.h"

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

/* Reads RUN_DIR/FILE, of max bytes at most, that starts with magic:
 * 0 with *text its whole text (to free) and *body past the magic;
 * -EPROTO when it holds a NUL or starts otherwise; another negative
 * errno (-ENOENT: no such file). */
static int read_text(const char *run_dir, const char *file, size_t max,
		     const char *magic, char **text, char **body)
{
	char path[4200];
	size_t len;
	int err;

	if (bh_path_fmt(path, sizeof(path), "%s/%s", run_dir, file))
		return -ENAMETOOLONG;
	err = bh_read_file(path, max, text, &len);
	if (err < 0)
		return err;
	if (strlen(*text) != len || strncmp(*text, magic, strlen(magic))) {
		free(*text);
		return -EPROTO;
	}
	*body = *text + strlen(magic);
	return 0;
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
	char *text, *p;
	int err;

	memset(r, 0, sizeof(*r));
	err = read_text(run_dir, ATTACH_RECORD_FILE, RECORD_MAX, RECORD_MAGIC,
			&text, &p);
	if (err < 0)
		return err;
	err = -EPROTO;
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

#define PORTS_MAGIC "bulkhead-dataports 1\n"
/* The magic and ATTACH_PORTS_MAX lines of a number below
 * BH_DATAPORT_N_MAX (7 digits at most) and its newline. */
#define PORTS_TEXT_MAX (sizeof(PORTS_MAGIC) + ATTACH_PORTS_MAX * 8)

static int port_ok(uint32_t n)
{
	return n >= 1 && n < BH_DATAPORT_N_MAX;
}

int attach_record_write_ports(const char *run_dir, const uint32_t *n,
			      size_t count)
{
	char path[4200], text[PORTS_TEXT_MAX];
	size_t len, i;

	if (count > ATTACH_PORTS_MAX)
		return -EINVAL;
	for (i = 0; i < count; i++)
		if (!port_ok(n[i]))
			return -EINVAL;
	if (bh_path_fmt(path, sizeof(path), "%s/%s", run_dir, DATAPORTS_FILE))
		return -ENAMETOOLONG;
	if (!count)
		return unlink(path) < 0 && errno != ENOENT ? -errno : 0;
	len = (size_t)snprintf(text, sizeof(text), "%s", PORTS_MAGIC);
	for (i = 0; i < count; i++)
		len += (size_t)snprintf(text + len, sizeof(text) - len, "%u\n",
					(unsigned)n[i]);
	return bh_write_file_replace(path, text, len, 0600);
}

/* One line of the record at *p: a number in range, no sign, no leading
 * zero, ended by a newline; *p moves past it. */
static int take_port(char **p, uint32_t *out)
{
	char *s = *p;
	uint32_t v = 0;
	size_t i;

	for (i = 0; s[i] >= '0' && s[i] <= '9' && i < 7; i++)
		v = v * 10 + (uint32_t)(s[i] - '0');
	if (i == 0 || s[i] != '\n' || s[0] == '0' || !port_ok(v))
		return -EPROTO;
	*out = v;
	*p = s + i + 1;
	return 0;
}

int attach_record_read_ports(const char *run_dir,
			     uint32_t n[ATTACH_PORTS_MAX], size_t *count)
{
	char *text, *p;
	size_t k = 0, i;
	int err;

	*count = 0;
	err = read_text(run_dir, DATAPORTS_FILE, PORTS_TEXT_MAX, PORTS_MAGIC,
			&text, &p);
	if (err == -ENOENT)
		return 0;
	if (err < 0)
		return err;
	err = -EPROTO;
	while (*p) {
		uint32_t v;

		if (k == ATTACH_PORTS_MAX || take_port(&p, &v) < 0)
			goto out;
		for (i = 0; i < k; i++)
			if (n[i] == v)
				goto out;
		n[k++] = v;
	}
	*count = k;
	err = 0;
out:
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

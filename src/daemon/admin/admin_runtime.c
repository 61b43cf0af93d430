#include "daemon/admin/admin_runtime.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/admin/admin.h"
#include "daemon/admin/admin_handlers.h"
#include "daemon/core/client_send.h"
#include "daemon/qube/qube_vm.h"
#include "daemon/store/store.h"
#include "lib/log.h"
#include "lib/util.h"
#include "proto/admin.h"
#include "proto/exitcodes.h"

/* How much of the log's end admin.Log reads: enough for 1000 lines of one
 * qube among the others', little enough to read on every call. */
#define LOG_READ_MAX (1024 * 1024)

/* ARG: "" for the default, else 1..RUNTIME_LINES_MAX. */
static int parse_lines(const char *arg)
{
	char *end;
	long v;

	if (!arg[0])
		return RUNTIME_LINES_DEFAULT;
	if (arg[0] < '0' || arg[0] > '9')
		return -1;
	errno = 0;
	v = strtol(arg, &end, 10);
	if (errno || *end || v < 1 || v > RUNTIME_LINES_MAX)
		return -1;
	return (int)v;
}

static struct qube_vm *find_running(struct daemon *d, const char *name)
{
	struct qube_vm *dv;

	for (dv = d->qubes; dv; dv = dv->next)
		if (dv->persistent && !strcmp(dv->name, name))
			return dv;
	return NULL;
}

static size_t escaped_len(const char *s, size_t n)
{
	size_t i, len = 0;

	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch >= 0x20 && ch < 0x7f)
			len++;
		else if (ch != '\r')
			len += 4;
	}
	return len;
}

static size_t escape(char *out, const char *s, size_t n)
{
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch >= 0x20 && ch < 0x7f)
			out[o++] = (char)ch;
		else if (ch != '\r')
			o += (size_t)sprintf(out + o, "\\x%02x", ch);
	}
	return o;
}

int log_tail_filtered(const char *path, const char *needle, int lines,
		      char *out, size_t cap)
{
	char *text = malloc(LOG_READ_MAX + 1);
	size_t *kept = calloc(2 * (size_t)(lines > 0 ? lines : 1),
			      sizeof(*kept));
	size_t len, end, first = 0, used = 0, o = 0;
	struct stat st;
	off_t from;
	ssize_t n;
	int fd = -1, seen = 0, r = 0;

	out[0] = '\0';
	if (!text || !kept || cap == 0) {
		r = -ENOMEM;
		goto out;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		r = -errno;
		goto out;
	}
	from = st.st_size > LOG_READ_MAX ? st.st_size - LOG_READ_MAX : 0;
	n = pread(fd, text, LOG_READ_MAX, from);
	if (n < 0) {
		r = -errno;
		goto out;
	}
	len = (size_t)n;
	text[len] = '\0';
	/* A line cut by the read's start is not shown. */
	if (from > 0) {
		char *nl = memchr(text, '\n', len);

		first = nl ? (size_t)(nl - text) + 1 : len;
	}
	/* Backwards: the newest matching lines that fit, newest first. */
	end = len;
	if (end > first && text[end - 1] == '\n')
		end--;
	while (end > first && seen < lines) {
		size_t s = end, need;

		while (s > first && text[s - 1] != '\n')
			s--;
		text[end] = '\0';
		if (!needle || !needle[0] || strstr(text + s, needle)) {
			need = escaped_len(text + s, end - s) + 1;
			if (used + need > cap - 1)
				break;
			used += need;
			kept[2 * seen] = s;
			kept[2 * seen + 1] = end;
			seen++;
		}
		if (s == first)
			break;
		end = s - 1;
	}
	while (seen-- > 0) {
		o += escape(out + o, text + kept[2 * seen],
			    kept[2 * seen + 1] - kept[2 * seen]);
		out[o++] = '\n';
	}
	out[o] = '\0';
out:
	if (fd >= 0)
		close(fd);
	free(kept);
	free(text);
	return r;
}

unsigned admin_vm_console(const struct admin_req *q, struct admin_reply *r)
{
	char err[STORE_ERR_MAX] = "", path[4096];
	struct qube_info qi;
	struct qube_vm *dv;
	int lines = parse_lines(q->arg), e;

	if (!q->dest[0])
		return reply_fail(r, BH_ADMIN_INVALID,
				  "this call needs a qube name");
	if (lines < 0)
		return reply_fail(r, BH_ADMIN_INVALID,
				  "the line count is 1..%d", RUNTIME_LINES_MAX);
	e = store_qube_get(q->s, q->dest, &qi, err, sizeof(err));
	if (e)
		return reply_fail(r,
				  e == -ENOENT ? BH_ADMIN_NOSUCH
					       : BH_ADMIN_FAILED,
				  "%s", err[0] ? err : strerror(-e));
	dv = find_running(q->d, q->dest);
	if (!dv)
		return reply_fail(r, BH_ADMIN_REFUSED,
				  "qube %s is not running", q->dest);
	if (bh_path_fmt(path, sizeof(path), "%s/console.log", dv->run_dir))
		return reply_fail(r, BH_ADMIN_FAILED,
				  "runtime folder path too long");
	tail_escaped(path, lines, r->text, ADMIN_REPLY_MAX + 1);
	r->len = strlen(r->text);
	return 0;
}

unsigned admin_log(const struct admin_req *q, struct admin_reply *r)
{
	char path[4096];
	int lines = parse_lines(q->arg), e;

	if (lines < 0)
		return reply_fail(r, BH_ADMIN_INVALID,
				  "the line count is 1..%d", RUNTIME_LINES_MAX);
	if (bh_path_fmt(path, sizeof(path), "%s/bulkheadd.log",
			q->d->paths.log))
		return reply_fail(r, BH_ADMIN_FAILED, "log path too long");
	e = log_tail_filtered(path, q->dest, lines, r->text,
			      ADMIN_REPLY_MAX + 1);
	if (e)
		return reply_fail(r, BH_ADMIN_FAILED, "cannot read %s: %s",
				  path, strerror(-e));
	r->len = strlen(r->text);
	return 0;
}

/* The reply ("") is queued by the dispatcher; every frame after it is
 * refused by client.c. */
unsigned admin_events(const struct admin_req *q, struct admin_reply *r)
{
	if (q->dest[0] || q->arg[0] || q->body[0])
		return reply_fail(r, BH_ADMIN_INVALID,
				  "admin.Events takes no qube name or "
				  "argument");
	q->c->subscriber = 1;
	return 0;
}

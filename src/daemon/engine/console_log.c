#include "daemon/engine/console_log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "lib/util.h"

/* Read and write: rotating reads NAME back (pread) into NAME.old. */
static int open_log(const char *path)
{
	return open(path, O_RDWR | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC,
		    0600);
}

int console_log_open(struct console_log *l, const char *path)
{
	char old[PATH_MAX + 8];
	int r;

	l->fd = l->old_fd = -1;
	l->size = 0;
	if (snprintf(old, sizeof(old), "%s.old", path) >= (int)sizeof(old))
		return -ENAMETOOLONG;
	l->fd = open_log(path);
	if (l->fd < 0)
		return -errno;
	l->old_fd = open_log(old);
	if (l->old_fd < 0) {
		r = -errno;
		console_log_close(l);
		return r;
	}
	return 0;
}

void console_log_from_fds(struct console_log *l, int fd, int old_fd)
{
	l->fd = fd;
	l->old_fd = old_fd;
	l->size = 0;
}

/* NAME's bytes over NAME.old's, then NAME emptied: NAME.old holds the
 * previous CONSOLE_LOG_MAX bytes. Through the open files only (pread,
 * pwrite, ftruncate): no path is opened or renamed. A failed step drops
 * the old bytes, never the limit. */
static void rotate(struct console_log *l)
{
	char buf[65536];
	off_t off = 0;
	ssize_t n;

	if (l->old_fd >= 0 && ftruncate(l->old_fd, 0) == 0) {
		while (off < l->size &&
		       (n = pread(l->fd, buf, sizeof(buf), off)) > 0) {
			if (pwrite(l->old_fd, buf, (size_t)n, off) != n)
				break;
			off += n;
		}
	}
	if (ftruncate(l->fd, 0) < 0) {
		/* The limit holds even so: nothing more is written. */
		console_log_close(l);
		return;
	}
	l->size = 0;
}

void console_log_write(struct console_log *l, const void *untrusted_buf,
		       size_t len)
{
	const char *untrusted_p = untrusted_buf;

	while (len && l->fd >= 0) {
		size_t room = (size_t)(CONSOLE_LOG_MAX - l->size), n;

		if (room == 0) {
			rotate(l);
			continue;
		}
		n = len < room ? len : room;
		if (bh_write_all(l->fd, untrusted_p, n) < 0)
			return;
		l->size += (off_t)n;
		untrusted_p += n;
		len -= n;
	}
}

long console_log_pump(struct console_log *l, int fd)
{
	char untrusted_buf[16384];
	ssize_t n = read(fd, untrusted_buf, sizeof(untrusted_buf));

	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	console_log_write(l, untrusted_buf, (size_t)n);
	return n;
}

void console_log_close(struct console_log *l)
{
	if (l->fd >= 0)
		close(l->fd);
	if (l->old_fd >= 0)
		close(l->old_fd);
	l->fd = l->old_fd = -1;
}

#include "daemon/engine/console_log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "lib/util.h"

int console_log_open(struct console_log *l, const char *path)
{
	if (bh_path_fmt(l->path, sizeof(l->path), "%s", path))
		return -ENAMETOOLONG;
	l->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC,
		     0600);
	l->size = 0;
	return l->fd < 0 ? -errno : 0;
}

static void rotate(struct console_log *l)
{
	char old[PATH_MAX + 8];

	if (snprintf(old, sizeof(old), "%s.old", l->path) >= (int)sizeof(old))
		return;
	close(l->fd);
	rename(l->path, old);
	l->fd = open(l->path,
		     O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
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
	l->fd = -1;
}

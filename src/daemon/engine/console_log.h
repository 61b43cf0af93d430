/* A qube's serial console, kept in a log file of bounded size; QEMU's own
 * output (qemu.log) is kept the same way.
 *
 * QEMU hands the console to the daemon over a socket, and its stdout and
 * stderr over a pipe, instead of writing a file itself: a guest that
 * prints without end (or makes QEMU print a line per malformed virtio
 * message) would otherwise fill the host's disk. The log keeps at most
 * CONSOLE_LOG_MAX bytes in NAME and the previous CONSOLE_LOG_MAX in
 * NAME.old. */
#ifndef BH_DAEMON_CONSOLE_LOG_H
#define BH_DAEMON_CONSOLE_LOG_H

#include <limits.h>
#include <stddef.h>
#include <sys/types.h>

/* Enough for a kernel's boot messages many times over. */
#define CONSOLE_LOG_MAX (1 << 20)

/* The log is kept through two open files, NAME and NAME.old, so that a
 * process that may open nothing (a qube's channel process, src/chan)
 * can keep it: rotating copies NAME over NAME.old and empties NAME,
 * with no rename. */
struct console_log {
	int fd, old_fd;
	off_t size;
};

/* Creates (empties) path and path.old; on success both are open in l. */
int console_log_open(struct console_log *l, const char *path);
/* Takes two open files (NAME, opened for appending, and NAME.old), for
 * the process they were handed to. */
void console_log_from_fds(struct console_log *l, int fd, int old_fd);
/* Appends, rotating to NAME.old when the file would pass the limit.
 * Errors (a full disk) drop the bytes: the console is best effort. */
void console_log_write(struct console_log *l, const void *untrusted_buf,
		       size_t len);
/* Reads what QEMU sent on fd (a socket or a pipe) into the log. Returns
 * bytes read, 0 at end of file, or -errno (-EAGAIN when nothing was
 * ready). */
long console_log_pump(struct console_log *l, int fd);
void console_log_close(struct console_log *l);

#endif

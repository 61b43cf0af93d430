/* Small system helpers used on both sides. */
#ifndef BH_LIB_UTIL_H
#define BH_LIB_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

int bh_set_nonblock(int fd, int on);
int bh_set_cloexec(int fd, int on);
/* write() until all is written or an error other than EINTR. */
int bh_write_all(int fd, const void *buf, size_t len);
/* Writes buf as the whole of path: into PATH.tmp (mode), then renamed
 * over path, so a reader sees the old file or the new one, never part.
 * 0 or a negative errno (PATH.tmp removed). */
int bh_write_file_replace(const char *path, const void *buf, size_t len,
			  mode_t mode);
/* One sendmsg of buf on socket sock (MSG_NOSIGNAL, again after EINTR),
 * with fd passed beside its first byte (SCM_RIGHTS) when fd >= 0.
 * Returns 0 when all len bytes went, -EIO when only part did, or
 * -errno. */
int bh_send_with_fd(int sock, const void *buf, size_t len, int fd);
/* The same with nfd fds (at most BH_SEND_FDS_MAX, else -EINVAL), in
 * their order, beside buf's first byte (none when nfd is 0). */
#define BH_SEND_FDS_MAX 4u
int bh_send_with_fds(int sock, const void *buf, size_t len, const int *fds,
		     size_t nfd);
/* Makes sure fds 0, 1 and 2 are open (on /dev/null if not), so that no
 * socket we open later lands on one of them. */
void bh_sanitize_std_fds(void);
/* mkdir -p with mode for each new component. */
int bh_mkdir_p(const char *path, mode_t mode);
/* Removes a tree without following symlinks. Missing is fine. */
int bh_rm_rf(const char *path);
/* Removes each entry of dir whose name starts with prefix (a tree,
 * without following symlinks). Missing dir is fine. */
int bh_rm_prefixed(const char *dir, const char *prefix);
/* A rename is durable only once its folder is: fsyncs the folder. */
int bh_fsync_dir(const char *dir);
/* Reads a whole small file into a NUL-terminated malloc'd buffer. */
int bh_read_file(const char *path, size_t max, char **out, size_t *len);
/* Blocks SIGCHLD, SIGTERM and SIGINT, ignores SIGPIPE, and returns a
 * non-blocking, close-on-exec signalfd for the three: how the agent and
 * the daemon take signals into their poll loops. */
int bh_make_sigfd(void);
/* Monotonic clock in milliseconds. */
int64_t bh_now_ms(void);
/* snprintf that reports truncation as -ENAMETOOLONG. */
int bh_path_fmt(char *out, size_t cap, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif

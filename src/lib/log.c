#include "lib/log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char *log_prog = "bulkhead";
static int log_with_time;
static enum bh_log_level log_max = BH_LOG_INFO;

static struct {
	int on, busy, stdout_too;
	pid_t pid;
	dev_t dev;
	ino_t ino;
	long long max, unchecked; /* bytes written since the last fstat */
	char path[PATH_MAX];
} rot;

int bh_log_rotate_setup(const char *path, long long max_bytes)
{
	struct stat st, err, out;

	rot.on = 0;
	if (max_bytes < 1 || strlen(path) + 3 > sizeof(rot.path))
		return -EINVAL;
	if (stat(path, &st) < 0)
		return -errno;
	if (fstat(2, &err) < 0)
		return -errno;
	if (!S_ISREG(err.st_mode) || err.st_dev != st.st_dev ||
	    err.st_ino != st.st_ino)
		return 0;
	rot.stdout_too = fstat(1, &out) == 0 && out.st_dev == st.st_dev &&
			 out.st_ino == st.st_ino;
	strcpy(rot.path, path);
	rot.dev = st.st_dev;
	rot.ino = st.st_ino;
	rot.max = max_bytes;
	rot.pid = getpid();
	rot.unchecked = BH_LOG_CHECK_BYTES; /* check at the next line */
	rot.on = 1;
	return 1;
}

/* PATH -> PATH.1 -> PATH.2, and a new PATH as fd 2 (and 1). */
static void rotate(const struct stat *cur)
{
	char p1[PATH_MAX + 2], p2[PATH_MAX + 2];
	struct stat st;
	int fd;

	snprintf(p1, sizeof(p1), "%s.1", rot.path);
	snprintf(p2, sizeof(p2), "%s.2", rot.path);
	/* Someone moved or replaced the file: it is no longer ours to
	 * rotate. */
	if (lstat(rot.path, &st) < 0 || st.st_dev != rot.dev ||
	    st.st_ino != rot.ino) {
		rot.on = 0;
		return;
	}
	if (rename(p1, p2) < 0 && errno != ENOENT) {
		rot.on = 0;
		return;
	}
	if (rename(rot.path, p1) < 0) {
		rot.on = 0;
		return;
	}
	fd = open(rot.path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC,
		  0600);
	if (fd < 0 || fchmod(fd, cur->st_mode & 0777) < 0 ||
	    fstat(fd, &st) < 0) {
		/* Lines go on into PATH.1, unbounded: better than none. */
		if (fd >= 0)
			close(fd);
		rot.on = 0;
		return;
	}
	if (rot.stdout_too) {
		fflush(stdout);
		dup2(fd, 1);
	}
	dup2(fd, 2);
	close(fd);
	rot.dev = st.st_dev;
	rot.ino = st.st_ino;
	rot.unchecked = 0;
}

static void rotate_check(size_t written)
{
	struct stat st;

	if (!rot.on || rot.busy)
		return;
	rot.unchecked += (long long)written;
	if (rot.unchecked < BH_LOG_CHECK_BYTES && rot.unchecked < rot.max)
		return;
	rot.unchecked = 0;
	if (getpid() != rot.pid || fstat(2, &st) < 0 || st.st_size < rot.max)
		return;
	rot.busy = 1;
	rotate(&st);
	if (rot.on)
		bh_log(BH_LOG_INFO,
		       "log continued from %s.1 (rotated past %lld bytes)",
		       rot.path, rot.max);
	rot.busy = 0;
}

void bh_log_follow(const char *path)
{
	struct stat err, st;
	int fd;

	if (fstat(2, &err) < 0 || !S_ISREG(err.st_mode))
		return;
	if (stat(path, &st) == 0 && st.st_dev == err.st_dev &&
	    st.st_ino == err.st_ino)
		return;
	fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
	if (fd < 0)
		return;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
		dup2(fd, 2);
	close(fd);
}

void bh_log_init(const char *progname, int with_time)
{
	log_prog = progname;
	log_with_time = with_time;
}

void bh_log_set_level(enum bh_log_level max)
{
	log_max = max;
}

int bh_log_wants(enum bh_log_level level)
{
	return level <= log_max;
}

void bh_log(enum bh_log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	bh_vlog(level, fmt, ap);
	va_end(ap);
}

void bh_vlog(enum bh_log_level level, const char *fmt, va_list ap)
{
	static const char *const names[] = { "error", "warning", "info",
					     "debug" };
	char line[2048];
	size_t off = 0;

	if (level > log_max)
		return;
	if (log_with_time) {
		struct timespec ts;
		struct tm tm;

		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		off = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
		off += (size_t)snprintf(line + off, sizeof(line) - off,
					".%03ldZ ", ts.tv_nsec / 1000000);
	}
	off += (size_t)snprintf(line + off, sizeof(line) - off, "%s: %s%s",
				log_prog, level <= BH_LOG_WARN ? names[level] : "",
				level <= BH_LOG_WARN ? ": " : "");
	if (off < sizeof(line))
		vsnprintf(line + off, sizeof(line) - off, fmt, ap);
	fprintf(stderr, "%s\n", line);
	rotate_check(strnlen(line, sizeof(line)) + 1);
}

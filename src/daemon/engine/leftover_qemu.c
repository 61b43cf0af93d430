/* QEMUs left running by a daemon that died (see leftover_qemu.h). */
#include "daemon/engine/leftover_qemu.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/util.h"

/* Folders a daemon may have left: its qubes run at most this many. */
#define LEFTOVER_MAX 512

int proc_start_time(pid_t pid, uint64_t *out)
{
	char path[64], *text, *p;
	size_t len;
	int field, r;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	r = bh_read_file(path, 4096, &text, &len);
	if (r < 0)
		return r == -ENOENT ? -ESRCH : r;
	/* The command name (field 2) may hold spaces and ')': skip past
	 * its last ')'. Field 3 follows; the start time is field 22. */
	p = strrchr(text, ')');
	for (field = 2; p && field < 22; field++)
		p = strchr(p + 1, ' ');
	r = -EPROTO;
	if (p) {
		char *end;
		unsigned long long v;

		errno = 0;
		v = strtoull(p + 1, &end, 10);
		if (!errno && end != p + 1 && (*end == ' ' || *end == '\n')) {
			*out = v;
			r = 0;
		}
	}
	free(text);
	return r;
}

int pid_file_write(const char *run_dir, const char *file, pid_t pid)
{
	char path[4200], line[64];
	uint64_t start;
	int n, r;

	r = proc_start_time(pid, &start);
	if (r < 0)
		return r;
	if (bh_path_fmt(path, sizeof(path), "%s/%s", run_dir, file))
		return -ENAMETOOLONG;
	n = snprintf(line, sizeof(line), "%d %" PRIu64 "\n", (int)pid, start);
	return bh_write_file_replace(path, line, (size_t)n, 0600);
}

int pid_file_live(const char *run_dir, const char *file, pid_t *pid)
{
	char path[4200], *text, *end;
	unsigned long long start;
	uint64_t now;
	long p;
	size_t len;
	int r;

	if (bh_path_fmt(path, sizeof(path), "%s/%s", run_dir, file))
		return -ENAMETOOLONG;
	r = bh_read_file(path, 64, &text, &len);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	errno = 0;
	p = strtol(text, &end, 10);
	r = 0;
	if (!errno && end != text && *end == ' ' && p > 1 && p <= INT32_MAX) {
		char *e2;

		start = strtoull(end + 1, &e2, 10);
		if (!errno && e2 != end + 1 && *e2 == '\n' &&
		    proc_start_time((pid_t)p, &now) == 0 && now == start) {
			*pid = (pid_t)p;
			r = 1;
		}
	}
	free(text);
	return r;
}

int pid_file_open(const char *run_dir, const char *file, pid_t *pid)
{
	pid_t again;
	int fd;

	if (pid_file_live(run_dir, file, pid) != 1)
		return -1;
	fd = (int)syscall(SYS_pidfd_open, *pid, 0);
	if (fd < 0)
		return -1;
	if (pid_file_live(run_dir, file, &again) != 1 || again != *pid) {
		close(fd);
		return -1;
	}
	return fd;
}

struct leftover {
	char name[256];
	pid_t pid;
	int pidfd;
};

/* Collects the live QEMUs of dir's folders but those keep says are
 * kept; returns how many. */
static size_t collect(const char *dir, struct leftover *l, size_t cap,
		      leftover_keep_fn keep, void *ctx)
{
	char run_dir[4500];
	struct dirent *e;
	size_t n = 0;
	DIR *dp = opendir(dir);

	if (!dp)
		return 0;
	while (n < cap && (e = readdir(dp))) {
		pid_t pid;
		int fd;

		if (e->d_name[0] == '.' ||
		    bh_path_fmt(run_dir, sizeof(run_dir), "%s/%s", dir,
				e->d_name) ||
		    (keep && keep(e->d_name, ctx)))
			continue;
		fd = pid_file_open(run_dir, QEMU_PID_FILE, &pid);
		if (fd < 0)
			continue; /* gone, or never recorded */
		snprintf(l[n].name, sizeof(l[n].name), "%s", e->d_name);
		l[n].pid = pid;
		l[n].pidfd = fd;
		n++;
	}
	closedir(dp);
	return n;
}

/* Waits until every pidfd in l has signalled exit or deadline_ms passed;
 * closes and clears (pidfd -1) the ones that exited. Returns how many
 * still run. */
static size_t wait_exits(struct leftover *l, size_t n, int64_t deadline_ms)
{
	struct pollfd p[LEFTOVER_MAX];
	size_t i, left;

	for (;;) {
		nfds_t k = 0;
		int64_t now = bh_now_ms();

		for (i = 0; i < n; i++)
			if (l[i].pidfd >= 0)
				p[k++] = (struct pollfd){ l[i].pidfd, POLLIN, 0 };
		if (k == 0 || now >= deadline_ms)
			break;
		if (poll(p, k, (int)(deadline_ms - now)) < 0 && errno != EINTR)
			break;
		for (i = 0; i < n; i++) {
			size_t j;

			if (l[i].pidfd < 0)
				continue;
			for (j = 0; j < k && p[j].fd != l[i].pidfd; j++)
				;
			if (j < k && p[j].revents) {
				close(l[i].pidfd);
				l[i].pidfd = -1;
			}
		}
	}
	for (i = left = 0; i < n; i++)
		left += l[i].pidfd >= 0;
	return left;
}

int leftover_qemus_end(const char *qubes_run_dir, int poweroff_ms,
		       leftover_keep_fn keep, void *ctx)
{
	static struct leftover l[LEFTOVER_MAX];
	size_t n = collect(qubes_run_dir, l, LEFTOVER_MAX, keep, ctx), i, left;
	int killed = 0;

	if (n == 0)
		return 0;
	LOG_INFO("%zu QEMU(s) of an earlier daemon still run; waiting up to "
		 "%d ms for their guests to power off",
		 n, poweroff_ms);
	left = wait_exits(l, n, bh_now_ms() + poweroff_ms);
	if (left == 0) {
		LOG_INFO("every qube of the earlier daemon powered off");
		return 0;
	}
	for (i = 0; i < n; i++) {
		if (l[i].pidfd < 0)
			continue;
		LOG_WARN("%s: QEMU pid %d of the earlier daemon did not power "
			 "off; killing it",
			 l[i].name, (int)l[i].pid);
		if (syscall(SYS_pidfd_send_signal, l[i].pidfd, SIGKILL, NULL,
			    0) == 0)
			killed++;
	}
	if (wait_exits(l, n, bh_now_ms() + LEFTOVER_KILL_MS) == 0)
		return killed;
	for (i = 0; i < n; i++) {
		if (l[i].pidfd < 0)
			continue;
		LOG_ERR("%s: QEMU pid %d of the earlier daemon is still there "
			"after SIGKILL",
			l[i].name, (int)l[i].pid);
		close(l[i].pidfd);
	}
	return -1;
}

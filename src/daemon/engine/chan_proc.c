/* Starting a qube's channel process (see chan_proc.h). */
#include "daemon/engine/chan_proc.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon/engine/jail.h"
#include "lib/util.h"

/* The fd numbers bulkhead-chan expects (src/chan/main.c). */
enum { CHILD_FD_FIRST = 3, CHILD_FD_COUNT = 10 };

uid_t chan_uid_for(unsigned jail_id)
{
	if (jail_id >= JAIL_UID_COUNT)
		return (uid_t)-1;
	return (uid_t)(CHAN_UID_BASE + jail_id);
}

int chan_proc_find(char *out, size_t cap)
{
	const char *env = getenv("BULKHEAD_CHAN");
	char self[PATH_MAX], *slash;
	ssize_t n;

	if (env && *env)
		return bh_path_fmt(out, cap, "%s", env) ||
			       access(out, X_OK) < 0
			       ? -ENOENT
			       : 0;
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0)
		return -ENOENT;
	self[n] = '\0';
	slash = strrchr(self, '/');
	if (!slash)
		return -ENOENT;
	*slash = '\0';
	if (!bh_path_fmt(out, cap, "%s/bulkhead-chan", self) &&
	    access(out, X_OK) == 0)
		return 0;
	if (!bh_path_fmt(out, cap, "%s/../lib/bulkhead/bulkhead-chan", self) &&
	    access(out, X_OK) == 0)
		return 0;
	return -ENOENT;
}

/* In the child: the given fds at 3..12 and nothing else of the
 * daemon's (its admin socket, other qubes' channels, the store), at once,
 * so that even a daemon killed now leaves nothing of its own open here. */
static void child(const char *exe, const char *name, const char *uid,
		  const char *empty_root, const int *src)
{
	int high[CHILD_FD_COUNT], i;
	sigset_t none;

	for (i = 0; i < CHILD_FD_COUNT; i++) {
		high[i] = fcntl(src[i], F_DUPFD, 100);
		if (high[i] < 0)
			_exit(126);
	}
	for (i = 0; i < CHILD_FD_COUNT; i++)
		if (dup2(high[i], CHILD_FD_FIRST + i) < 0)
			_exit(126);
	close_range(CHILD_FD_FIRST + CHILD_FD_COUNT, ~0u, 0);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGCHLD, SIG_DFL);
	/* It ends with its link anyway; this covers the moment before it
	 * reads it. (Dropping its ids clears the flag.) */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	execl(exe, "bulkhead-chan", name, uid, empty_root, (char *)NULL);
	_exit(127);
}

pid_t chan_proc_spawn(const char *exe, const char *name, uid_t uid,
		      const char *empty_root, const struct chan_proc_fds *fds,
		      int *link_fd, int *qmp_fd, char *err, size_t cap)
{
	char uid_s[16];
	int sv[2], qv[2], src[CHILD_FD_COUNT], r;
	pid_t pid;

	if (uid == (uid_t)-1 || uid == 0) {
		snprintf(err, cap, "no uid for the channel process");
		return -EINVAL;
	}
	snprintf(uid_s, sizeof(uid_s), "%u", (unsigned)uid);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		r = -errno;
		snprintf(err, cap, "socketpair: %s", strerror(errno));
		return r;
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, qv) < 0) {
		r = -errno;
		snprintf(err, cap, "socketpair: %s", strerror(errno));
		close(sv[0]);
		close(sv[1]);
		return r;
	}
	src[0] = fds->guest;
	src[1] = sv[1];
	src[2] = fds->console;
	src[3] = fds->qemu_out;
	src[4] = fds->console_log;
	src[5] = fds->console_old;
	src[6] = fds->qemu_log;
	src[7] = fds->qemu_old;
	src[8] = fds->qmp;
	src[9] = qv[1];
	pid = fork();
	if (pid < 0) {
		r = -errno;
		snprintf(err, cap, "fork: %s", strerror(errno));
		close(sv[0]);
		close(sv[1]);
		close(qv[0]);
		close(qv[1]);
		return r;
	}
	if (pid == 0)
		child(exe, name, uid_s, empty_root, src);
	close(sv[1]);
	close(qv[1]);
	if (fcntl(sv[0], F_SETFL, O_NONBLOCK) < 0 ||
	    fcntl(qv[0], F_SETFL, O_NONBLOCK) < 0) {
		r = -errno;
		snprintf(err, cap, "link: %s", strerror(errno));
		close(sv[0]);
		close(qv[0]);
		kill(pid, SIGKILL);
		return r;
	}
	*link_fd = sv[0];
	*qmp_fd = qv[0];
	return pid;
}

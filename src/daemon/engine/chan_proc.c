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
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "daemon/engine/jail.h"
#include "lib/util.h"
#include "proto/chan_attach.h"

/* The fd numbers bulkhead-chan expects (src/chan/main.c). */
enum { CHILD_FD_FIRST = 3, CHILD_FD_COUNT = 11 };

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

/* In the child: the given fds at 3..13 and nothing else of the
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
	/* Until it has confined itself, a daemon that dies takes it
	 * along: it would be waiting for a next daemon with nothing of its
	 * own to show. (Dropping its ids clears the flag: from then on it
	 * outlives the daemon, proto/chan_attach.h.) */
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
	src[10] = fds->attach;
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

static int unix_addr(struct sockaddr_un *a, const char *path, char *err,
		     size_t cap)
{
	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	if (bh_path_fmt(a->sun_path, sizeof(a->sun_path), "%s", path)) {
		snprintf(err, cap, "%s: path too long for a socket", path);
		return -ENAMETOOLONG;
	}
	return 0;
}

int chan_attach_listen(const char *path, char *err, size_t cap)
{
	struct sockaddr_un a;
	struct stat st;
	int fd, r;

	if ((r = unix_addr(&a, path, err, cap)) < 0)
		return r;
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			snprintf(err, cap, "%s: there, and not a socket", path);
			return -EEXIST;
		}
		if (unlink(path) < 0 && errno != ENOENT) {
			r = -errno;
			snprintf(err, cap, "unlink %s: %s", path,
				 strerror(errno));
			return r;
		}
	}
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		r = -errno;
		snprintf(err, cap, "socket: %s", strerror(errno));
		return r;
	}
	/* The mode before the bind (Linux gives the socket file the mode
	 * of the socket's inode), and again after it in case it did not. */
	if (fchmod(fd, 0600) < 0 ||
	    bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    chmod(path, 0600) < 0 || listen(fd, 8) < 0) {
		r = -errno;
		snprintf(err, cap, "socket %s: %s", path, strerror(errno));
		close(fd);
		return r;
	}
	return fd;
}

int chan_attach_connect(const char *path, int *link_fd, int *qmp_fd,
			char *err, size_t cap)
{
	struct timeval tv = { .tv_sec = CHAN_ATTACH_SEND_MS / 1000,
			      .tv_usec = (CHAN_ATTACH_SEND_MS % 1000) * 1000 };
	uint8_t req[BH_ATTACH_REQ_LEN];
	struct sockaddr_un a;
	int sv[2] = { -1, -1 }, qv[2] = { -1, -1 }, s = -1, ends[2], r;

	if ((r = unix_addr(&a, path, err, cap)) < 0)
		return r;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0 ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, qv) < 0 ||
	    (s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0)) < 0) {
		r = -errno;
		snprintf(err, cap, "socket: %s", strerror(errno));
		goto out;
	}
	/* A connect to a full backlog and a send to a full queue wait at
	 * most this long (a Unix socket's connect honours SO_SNDTIMEO). */
	if (setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0) {
		r = -errno;
		snprintf(err, cap, "SO_SNDTIMEO: %s", strerror(errno));
		goto out;
	}
	do
		r = connect(s, (struct sockaddr *)&a, sizeof(a));
	while (r < 0 && errno == EINTR);
	if (r < 0) {
		r = errno == EINPROGRESS ? -EAGAIN : -errno;
		if (r == -ECONNREFUSED)
			snprintf(err, cap,
				 "%s: no channel process waits there (it "
				 "ended)",
				 path);
		else if (r == -ENOENT)
			snprintf(err, cap, "%s: no such socket", path);
		else if (r == -EAGAIN)
			snprintf(err, cap,
				 "%s: the channel process does not take the "
				 "connection",
				 path);
		else
			snprintf(err, cap, "connect %s: %s", path,
				 strerror(-r));
		goto out;
	}
	bh_attach_req_encode(req);
	ends[0] = sv[1];
	ends[1] = qv[1];
	r = bh_send_with_fds(s, req, sizeof(req), ends, 2);
	if (r < 0) {
		if (r == -EWOULDBLOCK)
			r = -EAGAIN;
		snprintf(err, cap, "send to %s: %s", path, strerror(-r));
		goto out;
	}
	if (fcntl(sv[0], F_SETFL, O_NONBLOCK) < 0 ||
	    fcntl(qv[0], F_SETFL, O_NONBLOCK) < 0) {
		r = -errno;
		snprintf(err, cap, "link: %s", strerror(errno));
		goto out;
	}
	*link_fd = sv[0];
	*qmp_fd = qv[0];
	sv[0] = qv[0] = -1;
	r = 0;
out:
	if (s >= 0)
		close(s);
	for (int i = 0; i < 2; i++) {
		if (sv[i] >= 0)
			close(sv[i]);
		if (qv[i] >= 0)
			close(qv[i]);
	}
	return r;
}

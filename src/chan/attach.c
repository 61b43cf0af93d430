/* Waiting for the next daemon (see attach.h). */
#include "chan/attach.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/util.h"
#include "proto/chan_attach.h"

/* Room for more fds than the request has, so that a message with too
 * many is seen (and all of them closed) rather than cut short. */
#define FDS_ROOM 8

void chan_attach_init(struct chan_attach *a, int listen_fd, uid_t uid,
		      void (*log)(const char *line))
{
	memset(a, 0, sizeof(*a));
	a->listen_fd = listen_fd;
	a->uid = uid;
	a->log = log;
}

__attribute__((format(printf, 2, 3))) static void say(struct chan_attach *a,
						      const char *fmt, ...)
{
	char line[256];
	va_list ap;

	if (!a->log)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	a->log(line);
}

size_t chan_attach_poll_fds(struct chan_attach *a, struct pollfd *p,
			    int *timeout_ms)
{
	int64_t now = bh_now_ms();
	size_t n = 0, i;

	if (a->npending < CHAN_ATTACH_PENDING_MAX)
		p[n++] = (struct pollfd){ .fd = a->listen_fd, .events = POLLIN };
	for (i = 0; i < a->npending; i++) {
		int64_t left = a->deadline[i] - now;

		p[n++] = (struct pollfd){ .fd = a->pending[i], .events = POLLIN };
		if (left < 0)
			left = 0;
		if (*timeout_ms < 0 || left < *timeout_ms)
			*timeout_ms = (int)left;
	}
	return n;
}

static void drop(struct chan_attach *a, size_t i)
{
	close(a->pending[i]);
	a->npending--;
	a->pending[i] = a->pending[a->npending];
	a->deadline[i] = a->deadline[a->npending];
}

void chan_attach_drop_all(struct chan_attach *a)
{
	while (a->npending)
		drop(a, a->npending - 1);
}

int chan_sock_opt(int fd, int opt)
{
	int v = -1;
	socklen_t len = sizeof(v);

	if (getsockopt(fd, SOL_SOCKET, opt, &v, &len) < 0 || len != sizeof(v))
		return -1;
	return v;
}

static int refuse(char *why, size_t cap, const int *fds, int nfd,
		  const char *what)
{
	int i;

	for (i = 0; i < nfd; i++)
		close(fds[i]);
	snprintf(why, cap, "%s", what);
	return -1;
}

int chan_attach_take(int conn, int *link_fd, int *qmp_fd, char *why,
		     size_t cap)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(FDS_ROOM * sizeof(int))];
	} c;
	uint8_t untrusted_buf[BH_ATTACH_REQ_LEN + 1];
	struct iovec iov = { .iov_base = untrusted_buf,
			     .iov_len = sizeof(untrusted_buf) };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *h;
	int fds[FDS_ROOM], nfd = 0, other = 0, i;
	ssize_t n;

	memset(&c, 0, sizeof(c));
	m.msg_control = c.buf;
	m.msg_controllen = sizeof(c.buf);
	do
		n = recvmsg(conn, &m, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return 0;
	for (h = CMSG_FIRSTHDR(&m); h; h = CMSG_NXTHDR(&m, h)) {
		size_t k, count;

		if (h->cmsg_level != SOL_SOCKET ||
		    h->cmsg_type != SCM_RIGHTS || h->cmsg_len < CMSG_LEN(0)) {
			other = 1;
			continue;
		}
		count = (h->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (k = 0; k < count && nfd < FDS_ROOM; k++)
			memcpy(&fds[nfd++], CMSG_DATA(h) + k * sizeof(int),
			       sizeof(int));
	}
	if (n < 0)
		return refuse(why, cap, fds, nfd, "cannot read the request");
	if (n == 0 && nfd == 0)
		return refuse(why, cap, fds, nfd, "closed without a request");
	if (m.msg_flags & (MSG_TRUNC | MSG_CTRUNC))
		return refuse(why, cap, fds, nfd,
			      "a request too long or with too many fds");
	if (other)
		return refuse(why, cap, fds, nfd,
			      "a request with other control data");
	if (bh_attach_req_parse(untrusted_buf, (size_t)n) < 0)
		return refuse(why, cap, fds, nfd,
			      "not the request (size, magic or version)");
	if (nfd != 2)
		return refuse(why, cap, fds, nfd,
			      "a request without exactly two fds");
	if (chan_sock_opt(fds[0], SO_DOMAIN) != AF_UNIX ||
	    chan_sock_opt(fds[1], SO_DOMAIN) != AF_UNIX ||
	    chan_sock_opt(fds[0], SO_TYPE) != SOCK_STREAM ||
	    chan_sock_opt(fds[1], SO_TYPE) != SOCK_SEQPACKET)
		return refuse(why, cap, fds, nfd,
			      "fds that are not a Unix stream socket and a "
			      "Unix seqpacket socket");
	for (i = 0; i < 2; i++)
		if (bh_set_nonblock(fds[i], 1) < 0)
			return refuse(why, cap, fds, nfd,
				      "cannot make the links non-blocking");
	*link_fd = fds[0];
	*qmp_fd = fds[1];
	return 1;
}

/* A new connection: kept when its peer is the process's starter. */
static void accept_one(struct chan_attach *a)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);
	int fd;

	do
		fd = accept4(a->listen_fd, NULL, NULL,
			     SOCK_NONBLOCK | SOCK_CLOEXEC);
	while (fd < 0 && errno == EINTR);
	if (fd < 0)
		return; /* gone already, or nothing there: poll again */
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0 ||
	    len != sizeof(cr)) {
		say(a, "re-attach refused: no peer credentials: %s",
		    strerror(errno));
		close(fd);
		return;
	}
	if (cr.uid != a->uid) {
		say(a, "re-attach refused: uid %u is not %u (pid %d)",
		    (unsigned)cr.uid, (unsigned)a->uid, (int)cr.pid);
		close(fd);
		return;
	}
	a->pending[a->npending] = fd;
	a->deadline[a->npending] = bh_now_ms() + CHAN_ATTACH_WAIT_MS;
	a->npending++;
}

int chan_attach_events(struct chan_attach *a, const struct pollfd *p,
		       size_t n, int *link_fd, int *qmp_fd)
{
	int64_t now = bh_now_ms();
	char why[128];
	size_t k, i;

	/* The pending connections first: their entries follow the
	 * listening socket's, and accepting changes the list. */
	for (k = 0; k < n; k++) {
		int r;

		if (p[k].fd == a->listen_fd || !p[k].revents)
			continue;
		for (i = 0; i < a->npending && a->pending[i] != p[k].fd; i++)
			;
		if (i == a->npending)
			continue;
		r = chan_attach_take(a->pending[i], link_fd, qmp_fd, why,
				     sizeof(why));
		if (r > 0) {
			chan_attach_drop_all(a);
			return 1;
		}
		if (r < 0) {
			say(a, "re-attach refused: %s", why);
			drop(a, i);
		}
	}
	for (i = 0; i < a->npending;) {
		if (a->deadline[i] <= now) {
			say(a, "re-attach refused: no request within %d ms",
			    CHAN_ATTACH_WAIT_MS);
			drop(a, i);
		} else {
			i++;
		}
	}
	for (k = 0; k < n; k++)
		if (p[k].fd == a->listen_fd && p[k].revents &&
		    a->npending < CHAN_ATTACH_PENDING_MAX)
			accept_one(a);
	return 0;
}

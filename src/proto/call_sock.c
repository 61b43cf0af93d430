/* bh-call ↔ agent socket (see call_sock.h). */
#include "proto/call_sock.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "proto/frame.h"

static int addr_of(const char *path, struct sockaddr_un *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa->sun_path))
		return -ENAMETOOLONG;
	strcpy(sa->sun_path, path);
	return 0;
}

int call_sock_listen(const char *path)
{
	struct sockaddr_un sa;
	int fd, r = addr_of(path, &sa);

	if (r < 0)
		return r;
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	unlink(path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    chmod(path, 0666) < 0 || listen(fd, 64) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	return fd;
}

static void close_passed(struct msghdr *m)
{
	struct cmsghdr *c;

	for (c = CMSG_FIRSTHDR(m); c; c = CMSG_NXTHDR(m, c)) {
		size_t n, i;
		int fd;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < n; i++) {
			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(fd));
			close(fd);
		}
	}
}

int call_sock_recv(int conn, struct bh_call_req *req, int fds[2])
{
	uint8_t untrusted_buf[CALL_SOCK_MSG_MAX + 1];
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(4 * sizeof(int))];
	} ctl;
	struct iovec iov = { untrusted_buf, sizeof(untrusted_buf) };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1,
			    .msg_control = ctl.buf,
			    .msg_controllen = sizeof(ctl.buf) };
	struct cmsghdr *c;
	ssize_t n = recvmsg(conn, &m, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);

	if (n < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK ? -EAGAIN
							       : -errno;
	c = CMSG_FIRSTHDR(&m);
	/* Exactly one SCM_RIGHTS of two descriptors, a whole message of
	 * the magic and a valid request. */
	if ((m.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) || n < 4 ||
	    bh_get_u32(untrusted_buf) != CALL_SOCK_MAGIC || !c ||
	    c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS ||
	    c->cmsg_len != CMSG_LEN(2 * sizeof(int)) ||
	    CMSG_NXTHDR(&m, c) ||
	    bh_call_req_parse(untrusted_buf + 4, (size_t)n - 4, req) < 0) {
		close_passed(&m);
		return -EPROTO;
	}
	memcpy(fds, CMSG_DATA(c), 2 * sizeof(int));
	return 0;
}

void call_sock_send_status(int conn, int status)
{
	uint8_t b[4];
	ssize_t n;

	bh_put_u32(b, (uint32_t)status);
	n = send(conn, b, sizeof(b), MSG_NOSIGNAL | MSG_DONTWAIT);
	(void)n;
}

int call_sock_call(const char *path, const char *target, const char *svc_arg,
		   int rfd, int wfd)
{
	uint8_t buf[CALL_SOCK_MSG_MAX];
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(2 * sizeof(int))];
	} ctl;
	struct sockaddr_un sa;
	struct iovec iov = { buf, 0 };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1,
			    .msg_control = ctl.buf,
			    .msg_controllen = sizeof(ctl.buf) };
	struct cmsghdr *c;
	int fd, len, r, pass[2] = { rfd, wfd };

	if ((r = addr_of(path, &sa)) < 0)
		return r;
	bh_put_u32(buf, CALL_SOCK_MAGIC);
	len = bh_call_req_encode(buf + 4, sizeof(buf) - 4, target, svc_arg);
	if (len < 0)
		return -EINVAL;
	iov.iov_len = 4 + (size_t)len;
	memset(ctl.buf, 0, sizeof(ctl.buf));
	c = CMSG_FIRSTHDR(&m);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(pass));
	memcpy(CMSG_DATA(c), pass, sizeof(pass));
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    sendmsg(fd, &m, MSG_NOSIGNAL) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	return fd;
}

int call_sock_wait_status(int conn)
{
	uint8_t b[8];
	ssize_t n;
	uint32_t v;

	do
		n = recv(conn, b, sizeof(b), 0);
	while (n < 0 && errno == EINTR);
	/* An agent that closes with the request still unread (it refused
	 * or never took the call) resets the connection: that too is a
	 * close without a status. */
	if (n < 0)
		return errno == ECONNRESET ? -EPIPE : -errno;
	if (n != 4)
		return -EPIPE;
	v = bh_get_u32(b);
	return v > 255 ? -EPROTO : (int)v;
}

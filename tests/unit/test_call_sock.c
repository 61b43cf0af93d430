/* Unit tests of src/proto/call_sock.c over a real SOCK_SEQPACKET socket in
 * a temporary folder: a call carries its request and two working pipe
 * ends, the status comes back, and malformed messages from a raw client
 * are refused with every descriptor they brought closed (counted in
 * /proc/self/fd). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "proto/call_sock.h"
#include "proto/frame.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

struct fixture {
	char dir[64];
	char path[128];
	int lfd; /* listening socket */
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	strcpy(f->dir, "/tmp/bh-test-call-sock.XXXXXX");
	if (!mkdtemp(f->dir)) {
		free(f);
		return -1;
	}
	snprintf(f->path, sizeof(f->path), "%s/call.sock", f->dir);
	f->lfd = call_sock_listen(f->path);
	if (f->lfd < 0) {
		rmdir(f->dir);
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	close(f->lfd);
	unlink(f->path);
	rmdir(f->dir);
	free(f);
	return 0;
}

/* Open descriptors of this process. */
static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1; /* the directory's own */
}

static int is_open(int fd)
{
	return fcntl(fd, F_GETFD) >= 0;
}

static void make_pipe(int p[2])
{
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
}

/* Accepts the pending connection on the listening socket. */
static int accept_one(const struct fixture *f)
{
	int conn = accept4(f->lfd, NULL, NULL, SOCK_CLOEXEC);

	assert_true(conn >= 0);
	return conn;
}

/* A connected raw client, as any local process could make. */
static int raw_client(const struct fixture *f)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	strcpy(sa.sun_path, f->path);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

/* Sends len bytes with nfds descriptors (0..8) on fd. */
static void send_raw(int fd, const void *buf, size_t len, const int *fds,
		     size_t nfds)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(8 * sizeof(int))];
	} ctl;
	struct iovec iov = { (void *)buf, len };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *c;

	assert_true(nfds <= 8);
	if (nfds) {
		memset(&ctl, 0, sizeof(ctl));
		m.msg_control = ctl.buf;
		m.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
		c = CMSG_FIRSTHDR(&m);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(nfds * sizeof(int));
		memcpy(CMSG_DATA(c), fds, nfds * sizeof(int));
	}
	assert_int_equal(sendmsg(fd, &m, MSG_NOSIGNAL), (ssize_t)len);
}

/* magic + a call request of target and svc_arg into buf; its length. */
static size_t good_msg(uint8_t *buf, size_t cap, uint32_t magic,
		       const char *target, const char *svc_arg)
{
	int n;

	bh_put_u32(buf, magic);
	n = bh_call_req_encode(buf + 4, cap - 4, target, svc_arg);
	assert_true(n > 0);
	return 4 + (size_t)n;
}

/* ---- a call goes through ---- */

static void test_listen_socket(void **state)
{
	struct fixture *f = *state;
	struct stat st;
	int type = 0, fl;
	socklen_t tl = sizeof(type);

	assert_int_equal(stat(f->path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0666);
	assert_int_equal(getsockopt(f->lfd, SOL_SOCKET, SO_TYPE, &type, &tl),
			 0);
	assert_int_equal(type, SOCK_SEQPACKET);
	fl = fcntl(f->lfd, F_GETFL);
	assert_true(fl >= 0 && (fl & O_NONBLOCK));
	assert_true(fcntl(f->lfd, F_GETFD) & FD_CLOEXEC);
	/* Nobody connected: accept would block, not wait. */
	assert_int_equal(accept4(f->lfd, NULL, NULL, 0), -1);
	assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
}

/* A stale socket file (the agent restarted) is replaced. */
static void test_listen_replaces_stale(void **state)
{
	struct fixture *f = *state;
	int lfd2, before = count_fds();

	lfd2 = call_sock_listen(f->path);
	assert_true(lfd2 >= 0);
	close(f->lfd);
	f->lfd = lfd2;
	/* The new socket is the one listening. */
	close(raw_client(f));
	close(accept_one(f));
	assert_int_equal(count_fds(), before);
}

static void test_listen_errors(void **state)
{
	struct fixture *f = *state;
	char longp[sizeof(((struct sockaddr_un *)0)->sun_path) + 8];
	char path[200];

	memset(longp, 'x', sizeof(longp) - 1);
	longp[0] = '/';
	longp[sizeof(longp) - 1] = '\0';
	assert_int_equal(call_sock_listen(longp), -ENAMETOOLONG);
	snprintf(path, sizeof(path), "%s/no/such/dir/call.sock", f->dir);
	assert_int_equal(call_sock_listen(path), -ENOENT);
}

static void test_call_roundtrip(void **state)
{
	struct fixture *f = *state;
	struct bh_call_req req;
	int in[2], out[2], fds[2] = { -1, -1 }, cfd, conn, before;
	char buf[64];

	before = count_fds();
	make_pipe(in);  /* caller writes in[1], agent reads in[0] */
	make_pipe(out); /* agent writes out[1], caller reads out[0] */
	cfd = call_sock_call(f->path, "@dispvm:work", "my.Service+a+b", in[0],
			     out[1]);
	assert_true(cfd >= 0);
	/* The caller's copies may go at once: the message holds its own. */
	close(in[0]);
	close(out[1]);

	conn = accept_one(f);
	memset(&req, 0x5a, sizeof(req));
	assert_int_equal(call_sock_recv(conn, &req, fds), 0);
	assert_string_equal(req.target, "@dispvm:work");
	assert_string_equal(req.service, "my.Service");
	assert_int_equal(req.has_arg, 1);
	assert_string_equal(req.arg, "a+b");
	assert_true(is_open(fds[0]) && is_open(fds[1]));
	assert_int_not_equal(fds[0], fds[1]);
	/* Received close-on-exec. */
	assert_true(fcntl(fds[0], F_GETFD) & FD_CLOEXEC);
	assert_true(fcntl(fds[1], F_GETFD) & FD_CLOEXEC);
	/* In order: fds[0] reads, fds[1] writes. */
	assert_int_equal(fcntl(fds[0], F_GETFL) & O_ACCMODE, O_RDONLY);
	assert_int_equal(fcntl(fds[1], F_GETFL) & O_ACCMODE, O_WRONLY);

	assert_int_equal(write(in[1], "hello", 5), 5);
	memset(buf, 0, sizeof(buf));
	assert_int_equal(read(fds[0], buf, sizeof(buf)), 5);
	assert_memory_equal(buf, "hello", 5);
	assert_int_equal(write(fds[1], "world!", 6), 6);
	memset(buf, 0, sizeof(buf));
	assert_int_equal(read(out[0], buf, sizeof(buf)), 6);
	assert_memory_equal(buf, "world!", 6);
	/* The caller closing its end is an EOF for the agent, and the
	 * agent closing its end an EOF for the caller: nobody else holds
	 * the pipes. */
	close(in[1]);
	assert_int_equal(read(fds[0], buf, sizeof(buf)), 0);
	close(fds[1]);
	assert_int_equal(read(out[0], buf, sizeof(buf)), 0);

	/* One message per call: nothing more to receive. */
	{
		int more[2] = { -1, -1 };

		assert_int_equal(call_sock_recv(conn, &req, more), -EAGAIN);
		assert_int_equal(more[0], -1);
	}

	close(fds[0]);
	close(out[0]);
	close(conn);
	close(cfd);
	assert_int_equal(count_fds(), before);
}

/* Every kind of target and a call without argument. */
static void test_call_targets(void **state)
{
	static const char *const targets[] = { "work", "dom0", "@adminvm",
					       "@default", "@dispvm",
					       "@dispvm:x" };
	struct fixture *f = *state;
	size_t i;

	for (i = 0; i < ARRAY_LEN(targets); i++) {
		struct bh_call_req req;
		int p[2], fds[2], cfd, conn;

		make_pipe(p);
		cfd = call_sock_call(f->path, targets[i], "svc", p[0], p[1]);
		assert_true(cfd >= 0);
		conn = accept_one(f);
		assert_int_equal(call_sock_recv(conn, &req, fds), 0);
		assert_string_equal(req.target, targets[i]);
		assert_string_equal(req.service, "svc");
		assert_int_equal(req.has_arg, 0);
		assert_string_equal(req.arg, "");
		close(fds[0]);
		close(fds[1]);
		close(conn);
		close(cfd);
		close(p[0]);
		close(p[1]);
	}
}

/* The largest request fits the message. */
static void test_call_max(void **state)
{
	struct fixture *f = *state;
	char target[BH_RPC_TARGET_MAX + 1];
	char svc_arg[BH_RPC_SERVICE_MAX + BH_RPC_ARG_MAX + 2];
	struct bh_call_req req;
	int p[2], fds[2], cfd, conn;

	snprintf(target, sizeof(target), "@dispvm:uuid:%s",
		 "d7542906-2570-46b4-b243-cf358d23eacf");
	assert_int_equal(strlen(target), BH_RPC_TARGET_MAX);
	memset(svc_arg, 's', BH_RPC_SERVICE_MAX);
	svc_arg[BH_RPC_SERVICE_MAX] = '+';
	memset(svc_arg + BH_RPC_SERVICE_MAX + 1, 'a', BH_RPC_ARG_MAX);
	svc_arg[sizeof(svc_arg) - 1] = '\0';

	make_pipe(p);
	cfd = call_sock_call(f->path, target, svc_arg, p[0], p[1]);
	assert_true(cfd >= 0);
	conn = accept_one(f);
	assert_int_equal(call_sock_recv(conn, &req, fds), 0);
	assert_string_equal(req.target, target);
	assert_int_equal(strlen(req.service), BH_RPC_SERVICE_MAX);
	assert_int_equal(strlen(req.arg), BH_RPC_ARG_MAX);
	close(fds[0]);
	close(fds[1]);
	close(conn);
	close(cfd);
	close(p[0]);
	close(p[1]);
}

static void test_call_refused_locally(void **state)
{
	struct fixture *f = *state;
	int p[2], before, conn;
	char path[200];

	make_pipe(p);
	before = count_fds();
	assert_int_equal(call_sock_call(f->path, "", "svc", p[0], p[1]),
			 -EINVAL);
	assert_int_equal(call_sock_call(f->path, "wo/rk", "svc", p[0], p[1]),
			 -EINVAL);
	assert_int_equal(call_sock_call(f->path, "@dispvm:", "svc", p[0],
					p[1]),
			 -EINVAL);
	assert_int_equal(call_sock_call(f->path, "work", "", p[0], p[1]),
			 -EINVAL);
	assert_int_equal(call_sock_call(f->path, "work", "+arg", p[0], p[1]),
			 -EINVAL);
	assert_int_equal(call_sock_call(f->path, "work", "svc+a/b", p[0],
					p[1]),
			 -EINVAL);
	snprintf(path, sizeof(path), "%s/nobody.sock", f->dir);
	assert_int_equal(call_sock_call(path, "work", "svc", p[0], p[1]),
			 -ENOENT);
	/* A bad descriptor: the send fails, the socket is closed. */
	assert_false(is_open(1000));
	assert_int_equal(call_sock_call(f->path, "work", "svc", p[0], 1000),
			 -EBADF);
	assert_int_equal(count_fds(), before);
	/* Nothing reached the agent but that last connection, which holds
	 * no message. */
	conn = accept_one(f);
	{
		struct bh_call_req req;
		int fds[2];

		int r = call_sock_recv(conn, &req, fds);

		assert_true(r < 0 && r != -EAGAIN);
	}
	close(conn);
	assert_int_equal(accept4(f->lfd, NULL, NULL, 0), -1);
	assert_int_equal(errno, EAGAIN);
	close(p[0]);
	close(p[1]);
}

/* ---- status ---- */

static void status_round_trip(struct fixture *f, int status, int expect)
{
	struct bh_call_req req;
	int p[2], fds[2], cfd, conn;

	make_pipe(p);
	cfd = call_sock_call(f->path, "work", "svc", p[0], p[1]);
	assert_true(cfd >= 0);
	conn = accept_one(f);
	assert_int_equal(call_sock_recv(conn, &req, fds), 0);
	close(fds[0]);
	close(fds[1]);
	call_sock_send_status(conn, status);
	close(conn); /* the status is read after the agent hung up */
	assert_int_equal(call_sock_wait_status(cfd), expect);
	/* Then the end. */
	assert_int_equal(call_sock_wait_status(cfd), -EPIPE);
	close(cfd);
	close(p[0]);
	close(p[1]);
}

static void test_status(void **state)
{
	struct fixture *f = *state;

	status_round_trip(f, 0, 0);
	status_round_trip(f, 1, 1);
	status_round_trip(f, 125, 125);
	status_round_trip(f, 126, 126);
	status_round_trip(f, 127, 127);
	status_round_trip(f, 255, 255);
	/* Out of range: not a status. */
	status_round_trip(f, 256, -EPROTO);
	status_round_trip(f, -1, -EPROTO);
}

/* The caller waits while the agent is still open, and wakes on the
 * status. */
static void test_status_waits(void **state)
{
	struct fixture *f = *state;
	struct bh_call_req req;
	int p[2], fds[2], cfd, conn;
	pid_t pid;

	make_pipe(p);
	cfd = call_sock_call(f->path, "work", "svc", p[0], p[1]);
	assert_true(cfd >= 0);
	conn = accept_one(f);
	assert_int_equal(call_sock_recv(conn, &req, fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		usleep(100 * 1000);
		call_sock_send_status(conn, 42);
		usleep(100 * 1000);
		_exit(0);
	}
	close(conn);
	assert_int_equal(call_sock_wait_status(cfd), 42);
	close(fds[0]);
	close(fds[1]);
	close(cfd);
	close(p[0]);
	close(p[1]);
	{
		int st;

		assert_int_equal(waitpid(pid, &st, 0), pid);
	}
}

static void test_status_peer_closed(void **state)
{
	struct fixture *f = *state;
	struct bh_call_req req;
	int p[2], fds[2], cfd, conn, before = count_fds();

	make_pipe(p);
	/* After receiving the request. */
	cfd = call_sock_call(f->path, "work", "svc", p[0], p[1]);
	assert_true(cfd >= 0);
	conn = accept_one(f);
	assert_int_equal(call_sock_recv(conn, &req, fds), 0);
	close(fds[0]);
	close(fds[1]);
	close(conn);
	assert_int_equal(call_sock_wait_status(cfd), -EPIPE);
	close(cfd);

	/* Before receiving it: the descriptors in flight are dropped. */
	cfd = call_sock_call(f->path, "work", "svc", p[0], p[1]);
	assert_true(cfd >= 0);
	close(accept_one(f));
	assert_int_equal(call_sock_wait_status(cfd), -EPIPE);
	close(cfd);

	/* Before even accepting: the listener goes. */
	cfd = call_sock_call(f->path, "work", "svc", p[0], p[1]);
	assert_true(cfd >= 0);
	close(f->lfd);
	f->lfd = -1;
	assert_int_equal(call_sock_wait_status(cfd), -EPIPE);
	close(cfd);

	/* Only the pipe ends remain open... */
	close(p[0]);
	close(p[1]);
	assert_int_equal(count_fds(), before - 1); /* lfd is gone */
	f->lfd = call_sock_listen(f->path);
	assert_true(f->lfd >= 0);
}

/* A status message of the wrong size is no status. */
static void test_status_bad_size(void **state)
{
	struct fixture *f = *state;
	static const size_t sizes[] = { 1, 3, 5, 8, 100 };
	size_t i;

	for (i = 0; i < ARRAY_LEN(sizes); i++) {
		uint8_t b[100] = { 0 };
		int cfd = raw_client(f), conn = accept_one(f), r;

		assert_int_equal(send(conn, b, sizes[i], 0), (ssize_t)sizes[i]);
		r = call_sock_wait_status(cfd);
		if (r >= 0)
			fail_msg("a %zu-byte status read as %d", sizes[i], r);
		close(conn);
		close(cfd);
	}
}

/* ---- malformed messages ---- */

/* Sends the message with nfds fresh descriptors (pipe ends) from a raw
 * client, and checks that recv refuses it, closes all it received, and
 * that nothing else is waiting. Every pipe's other end then sees that
 * the agent holds no copy. */
static void expect_refused(struct fixture *f, const void *msg, size_t len,
			   size_t nfds)
{
	struct bh_call_req req;
	int pipes[8][2], pass[8], fds[2] = { -1, -1 }, cfd, conn, before;
	size_t i;

	assert_true(nfds <= 8);
	before = count_fds();
	cfd = raw_client(f);
	conn = accept_one(f);
	for (i = 0; i < nfds; i++) {
		/* Non-blocking: a leaked copy fails the read below, not
		 * hangs it. */
		assert_int_equal(pipe2(pipes[i], O_CLOEXEC | O_NONBLOCK), 0);
		pass[i] = pipes[i][1]; /* write ends */
	}
	send_raw(cfd, msg, len, pass, nfds);
	for (i = 0; i < nfds; i++)
		close(pipes[i][1]);
	assert_int_equal(call_sock_recv(conn, &req, fds), -EPROTO);
	/* fds untouched. */
	assert_int_equal(fds[0], -1);
	assert_int_equal(fds[1], -1);
	/* No copy of any write end left: each read end sees EOF. */
	for (i = 0; i < nfds; i++) {
		char c;

		assert_int_equal(read(pipes[i][0], &c, 1), 0);
		close(pipes[i][0]);
	}
	assert_int_equal(call_sock_recv(conn, &req, fds), -EAGAIN);
	close(conn);
	close(cfd);
	assert_int_equal(count_fds(), before);
}

static void test_refused_wrong_magic(void **state)
{
	struct fixture *f = *state;
	uint8_t buf[CALL_SOCK_MSG_MAX];
	size_t n;

	n = good_msg(buf, sizeof(buf), CALL_SOCK_MAGIC ^ 1, "work", "svc");
	expect_refused(f, buf, n, 2);
	n = good_msg(buf, sizeof(buf), 0x42484331u, "work", "svc"); /* BE */
	expect_refused(f, buf, n, 2);
	n = good_msg(buf, sizeof(buf), 0, "work", "svc");
	expect_refused(f, buf, n, 2);
}

static void test_refused_fd_count(void **state)
{
	struct fixture *f = *state;
	uint8_t buf[CALL_SOCK_MSG_MAX];
	size_t n = good_msg(buf, sizeof(buf), CALL_SOCK_MAGIC, "work", "svc");

	expect_refused(f, buf, n, 0);
	expect_refused(f, buf, n, 1);
	expect_refused(f, buf, n, 3);
	expect_refused(f, buf, n, 4);
	/* More than recv makes room for: the control data is cut. */
	expect_refused(f, buf, n, 5);
	expect_refused(f, buf, n, 8);
}

static void test_refused_bad_request(void **state)
{
	static const char *const bad[][2] = {
		{ "work", "s/vc" },   { "wo/rk", "svc" },  { "", "svc" },
		{ "work", "" },       { "work", "+arg" },  { "@dispvm:", "svc" },
		{ "work", "svc+a b" }, { "-work", "svc" },
	};
	struct fixture *f = *state;
	uint8_t buf[CALL_SOCK_MSG_MAX];
	size_t i;

	for (i = 0; i < ARRAY_LEN(bad); i++) {
		size_t tl = strlen(bad[i][0]), sl = strlen(bad[i][1]);

		bh_put_u32(buf, CALL_SOCK_MAGIC);
		memcpy(buf + 4, bad[i][0], tl + 1);
		memcpy(buf + 4 + tl + 1, bad[i][1], sl + 1);
		expect_refused(f, buf, 4 + tl + 1 + sl + 1, 2);
	}
	/* Three fields. */
	bh_put_u32(buf, CALL_SOCK_MAGIC);
	memcpy(buf + 4, "work\0svc\0arg", 13);
	expect_refused(f, buf, 4 + 13, 2);
	/* Extra bytes after the last NUL. */
	memcpy(buf + 4, "work\0svc\0x", 10);
	expect_refused(f, buf, 4 + 10, 2);
}

/* Messages cut short, with both descriptors. */
static void test_refused_truncated(void **state)
{
	struct fixture *f = *state;
	uint8_t buf[CALL_SOCK_MSG_MAX];
	size_t n = good_msg(buf, sizeof(buf), CALL_SOCK_MAGIC, "work",
			    "svc+arg"), len;

	/* Every proper prefix: the magic cut, or the request. */
	for (len = 0; len < n; len++)
		expect_refused(f, buf, len, 2);
	/* The whole message is accepted. */
	{
		struct bh_call_req req;
		int p[2], fds[2], cfd = raw_client(f), conn = accept_one(f);

		make_pipe(p);
		send_raw(cfd, buf, n, p, 2);
		assert_int_equal(call_sock_recv(conn, &req, fds), 0);
		assert_string_equal(req.arg, "arg");
		close(fds[0]);
		close(fds[1]);
		close(p[0]);
		close(p[1]);
		close(conn);
		close(cfd);
	}
}

/* Messages larger than recv's buffer: cut by the kernel (MSG_TRUNC). */
static void test_refused_oversize(void **state)
{
	struct fixture *f = *state;
	uint8_t buf[4096];
	size_t n = good_msg(buf, sizeof(buf), CALL_SOCK_MAGIC, "work", "svc");

	/* A valid request, then padding beyond the buffer. (No valid
	 * request is long enough to fill the buffer, so the parser alone
	 * would refuse these too; MSG_TRUNC is a second line.) */
	memset(buf + n, 'x', sizeof(buf) - n);
	expect_refused(f, buf, CALL_SOCK_MSG_MAX + 2, 2);
	expect_refused(f, buf, sizeof(buf), 2);
	memset(buf + n, 0, sizeof(buf) - n);
	expect_refused(f, buf, sizeof(buf), 2);
	/* Just within recv's buffer, with long junk: a bad request. */
	memset(buf + n, 'x', sizeof(buf) - n);
	expect_refused(f, buf, CALL_SOCK_MSG_MAX + 1, 2);
}

static void test_recv_nothing(void **state)
{
	struct fixture *f = *state;
	struct bh_call_req req;
	int fds[2] = { -1, -1 }, cfd = raw_client(f), conn = accept_one(f);

	assert_int_equal(call_sock_recv(conn, &req, fds), -EAGAIN);
	assert_int_equal(call_sock_recv(conn, &req, fds), -EAGAIN);
	assert_int_equal(fds[0], -1);
	/* The caller hangs up without a word: not a request. */
	close(cfd);
	assert_true(call_sock_recv(conn, &req, fds) < 0);
	assert_true(call_sock_recv(conn, &req, fds) != -EAGAIN);
	assert_int_equal(fds[0], -1);
	close(conn);
	/* A closed descriptor. */
	assert_int_equal(call_sock_recv(conn, &req, fds), -EBADF);
}

/* After a refused message the connection still works for a good one:
 * recv is message-framed, nothing of the bad one lingers. */
static void test_refused_then_good(void **state)
{
	struct fixture *f = *state;
	uint8_t bad[CALL_SOCK_MSG_MAX], good[CALL_SOCK_MSG_MAX];
	size_t bn = good_msg(bad, sizeof(bad), CALL_SOCK_MAGIC, "work", "svc"),
	       gn = good_msg(good, sizeof(good), CALL_SOCK_MAGIC, "dom0",
			     "x+y");
	struct bh_call_req req;
	int p[2], fds[2], cfd = raw_client(f), conn = accept_one(f);

	make_pipe(p);
	send_raw(cfd, bad, bn, p, 1);
	send_raw(cfd, good, gn, p, 2);
	assert_int_equal(call_sock_recv(conn, &req, fds), -EPROTO);
	assert_int_equal(call_sock_recv(conn, &req, fds), 0);
	assert_string_equal(req.target, "dom0");
	assert_string_equal(req.service, "x");
	assert_string_equal(req.arg, "y");
	close(fds[0]);
	close(fds[1]);
	close(p[0]);
	close(p[1]);
	close(conn);
	close(cfd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_listen_socket, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_listen_replaces_stale,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_listen_errors, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_call_roundtrip, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_call_targets, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_call_max, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_call_refused_locally,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_status, setup, teardown),
		cmocka_unit_test_setup_teardown(test_status_waits, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_status_peer_closed, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_status_bad_size, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_refused_wrong_magic, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_refused_fd_count, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_refused_bad_request, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_refused_truncated, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_refused_oversize, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_recv_nothing, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_refused_then_good, setup,
						teardown),
	};

	/* A test that fails half way must not die of SIGPIPE. */
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests_name("call_sock", tests, NULL, NULL);
}

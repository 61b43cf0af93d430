/* Unit tests of the priv link between bulkheadd's root parent and
 * control: src/daemon/priv/priv_link.c (the datagrams and the fds beside
 * them, control's end: a LAUNCH waiting for its answer while EXITED and
 * DONE are kept for the loop) and src/daemon/priv/priv_serve.c (the
 * parent's end: a KILL reaches only the parent's own table, a request
 * that breaks the rules ends the link, a LAUNCH for missing files is
 * answered FAILED). No VM is started: the peer of each end is the other
 * end of a SOCK_SEQPACKET pair in this process (or a forked child), and
 * the parent's table is given forked children that only wait.
 *
 * The fds that travel are checked where they land: open, the same file
 * as was sent, close-on-exec; and those that must not stay are checked
 * gone: a pipe's write end is sent, the sender closes its own copy, and
 * the read end sees EOF only when no copy is left anywhere. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon/priv/priv_link.h"
#include "daemon/priv/priv_serve.h"
#include "lib/util.h"
#include "proto/exitcodes.h"
#include "proto/msg_priv.h"

/* ---- helpers ---- */

/* A link as bulkheadd makes it. */
static void seqpair(int sv[2])
{
	assert_int_equal(
		socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
}

/* How many fds this process has open: equal before and after a test
 * means nothing leaked. */
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
	return n - 1; /* opendir's own */
}

/* A pipe whose read end does not block: read_end_sees_eof then tells
 * whether any copy of the write end is still open here. Neither end is
 * close-on-exec, so a received copy that is owes it to the receiver. */
static void nb_pipe(int p[2])
{
	assert_int_equal(pipe(p), 0);
	assert_int_equal(bh_set_nonblock(p[0], 1), 0);
}

static void assert_writer_gone(int rd)
{
	char c;

	/* 0: every copy of the write end is closed; -1 EAGAIN: one is
	 * still open somewhere in this process. */
	assert_int_equal(read(rd, &c, 1), 0);
}

static void assert_same_file(int a, int b)
{
	struct stat sa, sb;

	assert_int_equal(fstat(a, &sa), 0);
	assert_int_equal(fstat(b, &sb), 0);
	assert_true(sa.st_dev == sb.st_dev);
	assert_true(sa.st_ino == sb.st_ino);
}

static void assert_cloexec(int fd)
{
	int fl = fcntl(fd, F_GETFD);

	assert_true(fl >= 0);
	assert_true(fl & FD_CLOEXEC);
}

/* One datagram, written by hand (what a broken or hostile peer sends),
 * with nfds fds beside it. */
static void send_raw(int fd, const void *buf, size_t len, const int *fds,
		     int nfds)
{
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(sizeof(int) * 8)];
	} ctl;
	struct iovec iov = { (void *)buf, len };
	struct msghdr mh;

	assert_true(nfds >= 0 && nfds <= 8);
	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	if (nfds > 0) {
		memset(&ctl, 0, sizeof(ctl));
		mh.msg_control = ctl.b;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds);
		ctl.h.cmsg_level = SOL_SOCKET;
		ctl.h.cmsg_type = SCM_RIGHTS;
		ctl.h.cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
		memcpy(CMSG_DATA(&ctl.h), fds, sizeof(int) * (size_t)nfds);
	}
	assert_int_equal(sendmsg(fd, &mh, MSG_NOSIGNAL), (ssize_t)len);
}

static void good_launch(struct bh_priv_launch *l)
{
	memset(l, 0, sizeof(*l));
	strcpy(l->name, "work");
	strcpy(l->kver, "6.1.0-1");
	l->root_kind = BH_PRIV_ROOT_TEMPLATE;
	strcpy(l->root_owner, "tpl");
	strcpy(l->root_file, "root.img");
	l->private_kind = BH_PRIV_PRIVATE_STATE;
	l->flags = 0;
	l->memory_mb = 400;
	l->vcpus = 2;
	l->jail_id = 7;
	l->tsc_khz = 2995200;
	strcpy(l->kernelopts, "console=hvc0 quiet");
	strcpy(l->cmdline_name, "work");
}

/* A valid message of each type (every byte set: memcmp compares). */
static void good(uint32_t type, uint32_t id, struct bh_priv_msg *m)
{
	memset(m, 0, sizeof(*m));
	m->type = type;
	m->id = id;
	switch (type) {
	case BH_PRIV_LAUNCH:
		good_launch(&m->u.launch);
		break;
	case BH_PRIV_LAUNCHED:
		m->u.launched.qemu_pid = 1234;
		m->u.launched.chan_pid = 1235;
		break;
	case BH_PRIV_FAILED:
		m->u.failed.code = BH_EXIT_SETUP;
		strcpy(m->u.failed.text, "the guest kernel is missing");
		break;
	case BH_PRIV_KILL:
		strcpy(m->u.kill.name, "work");
		m->u.kill.which = BH_PRIV_CHAN;
		m->u.kill.signo = SIGTERM;
		break;
	case BH_PRIV_EXITED:
		strcpy(m->u.exited.name, "work");
		m->u.exited.which = BH_PRIV_QEMU;
		m->u.exited.wait_status = 0x0f00;
		m->u.exited.pid = 4321;
		break;
	case BH_PRIV_DONE:
		m->u.done.result = -ESRCH;
		break;
	case BH_PRIV_ATTACH:
		strcpy(m->u.attach.name, "work");
		break;
	case BH_PRIV_ATTACHED:
		m->u.attached.qemu_pid = 1236;
		m->u.attached.chan_pid = 1237;
		break;
	case BH_PRIV_LET_GO:
		strcpy(m->u.let_go.name, "work");
		m->u.let_go.flags = BH_PRIV_LET_GO_QEMU;
		break;
	case BH_PRIV_LEFTOVERS:
		m->u.leftovers.timeout_ms = 1000;
		break;
	default:
		fail();
	}
}

static void send_good(int fd, uint32_t type, uint32_t id, const int *fds,
		      int nfds)
{
	struct bh_priv_msg m;

	good(type, id, &m);
	assert_int_equal(priv_msg_send(fd, &m, fds, nfds), 0);
}

static void send_exited(int fd, const char *name, uint32_t pid)
{
	struct bh_priv_msg m;

	good(BH_PRIV_EXITED, 0, &m);
	strcpy(m.u.exited.name, name);
	m.u.exited.pid = pid;
	assert_int_equal(priv_msg_send(fd, &m, NULL, 0), 0);
}

static void send_failed(int fd, uint32_t id, int32_t code, const char *text)
{
	struct bh_priv_msg m;

	good(BH_PRIV_FAILED, id, &m);
	m.u.failed.code = code;
	bh_priv_field_set(m.u.failed.text, BH_PRIV_TEXT_MAX, text);
	assert_int_equal(priv_msg_send(fd, &m, NULL, 0), 0);
}

/* The next message on fd, which must be there, with no fd beside it. */
static void recv_one(int fd, struct bh_priv_msg *m)
{
	int fds[PRIV_FDS_MAX], n = -1;

	assert_int_equal(priv_msg_recv(fd, m, fds, &n), 1);
	assert_int_equal(n, 0);
}

/* Nothing waits on fd (non-blocking). */
static void assert_nothing_waits(int fd)
{
	struct bh_priv_msg m;
	int fds[PRIV_FDS_MAX], n = -1;

	assert_int_equal(priv_msg_recv(fd, &m, fds, &n), -EAGAIN);
	assert_int_equal(n, 0);
}

/* ---- priv_msg_send / priv_msg_recv ---- */

/* Every type goes through as sent, with 0 to PRIV_FDS_MAX (4) fds
 * beside it; each fd lands as a new fd of the same file, close-on-exec. */
static void test_roundtrip_each_type_with_fds(void **state)
{
	static const uint32_t types[] = { BH_PRIV_LAUNCH, BH_PRIV_LAUNCHED,
					  BH_PRIV_FAILED, BH_PRIV_KILL,
					  BH_PRIV_EXITED, BH_PRIV_DONE,
					  BH_PRIV_ATTACH, BH_PRIV_ATTACHED,
					  BH_PRIV_LET_GO, BH_PRIV_LEFTOVERS };
	struct bh_priv_msg m, got;
	int sv[2], p[2], q[2], u[2], fds[PRIV_FDS_MAX], in[PRIV_FDS_MAX], n;
	int before = count_fds();

	(void)state;
	_Static_assert(PRIV_FDS_MAX == 4, "ATTACHED's four fds");
	seqpair(sv);
	assert_int_equal(bh_set_nonblock(sv[1], 1), 0);
	assert_int_equal(pipe(p), 0);
	assert_int_equal(pipe(q), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, u), 0);
	fds[0] = p[0]; /* three kinds of ends, none close-on-exec */
	fds[1] = q[1];
	fds[2] = u[0];
	fds[3] = u[1];
	for (size_t t = 0; t < sizeof(types) / sizeof(types[0]); t++) {
		for (int k = 0; k <= PRIV_FDS_MAX; k++) {
			uint32_t id = 0x100u * types[t] + (uint32_t)k;

			good(types[t], id, &m);
			assert_int_equal(priv_msg_send(sv[0], &m, fds, k), 0);
			memset(&got, 0xa5, sizeof(got));
			n = -1;
			assert_int_equal(priv_msg_recv(sv[1], &got, in, &n), 1);
			assert_int_equal(n, k);
			assert_int_equal(got.type, types[t]);
			assert_int_equal(got.id, id);
			assert_memory_equal(&got, &m, sizeof(m));
			for (int i = 0; i < k; i++) {
				assert_int_not_equal(in[i], fds[i]);
				assert_same_file(in[i], fds[i]);
				assert_cloexec(in[i]);
				close(in[i]);
			}
		}
	}
	/* What the sender can tell is wrong is not sent at all. */
	good(BH_PRIV_DONE, 1, &m);
	assert_int_equal(priv_msg_send(sv[0], &m, fds, PRIV_FDS_MAX + 1),
			 -EINVAL);
	assert_int_equal(priv_msg_send(sv[0], &m, fds, -1), -EINVAL);
	m.type = 99;
	assert_int_equal(priv_msg_send(sv[0], &m, NULL, 0), -EINVAL);
	good(BH_PRIV_LAUNCH, 2, &m);
	m.u.launch.memory_mb = 0;
	assert_int_equal(priv_msg_send(sv[0], &m, NULL, 0), -EINVAL);
	assert_nothing_waits(sv[1]);
	close(p[0]);
	close(p[1]);
	close(q[0]);
	close(q[1]);
	close(u[0]);
	close(u[1]);
	close(sv[0]);
	close(sv[1]);
	assert_int_equal(count_fds(), before);
}

/* Longer than the largest message: refused, whether the receive buffer
 * cut it (MSG_TRUNC) or it is one byte over; the next good one still
 * reads (a datagram link does not lose its place). */
static void test_recv_too_long(void **state)
{
	uint8_t buf[4096];
	struct bh_priv_msg m;
	int sv[2], fds[PRIV_FDS_MAX], n;

	(void)state;
	seqpair(sv);
	assert_int_equal(bh_set_nonblock(sv[1], 1), 0);
	memset(buf, 0, sizeof(buf));
	good(BH_PRIV_LAUNCH, 1, &m);
	assert_int_equal(bh_priv_encode(buf, &m), (int)BH_PRIV_MSG_MAX);
	/* A whole valid LAUNCH and one byte more. */
	send_raw(sv[0], buf, BH_PRIV_MSG_MAX + 1, NULL, 0);
	assert_int_equal(priv_msg_recv(sv[1], &m, fds, &n), -EPROTO);
	assert_int_equal(n, 0);
	/* Far longer than the buffer. */
	send_raw(sv[0], buf, sizeof(buf), NULL, 0);
	assert_int_equal(priv_msg_recv(sv[1], &m, fds, &n), -EPROTO);
	send_good(sv[0], BH_PRIV_DONE, 3, NULL, 0);
	recv_one(sv[1], &m);
	assert_int_equal(m.type, BH_PRIV_DONE);
	assert_int_equal(m.id, 3);
	close(sv[0]);
	close(sv[1]);
}

/* Cut headers, bodies of another length than their type's, unknown
 * types, a field out of its rule, plain garbage: -EPROTO, and *m is
 * left as it was. */
static void test_recv_short_or_garbage(void **state)
{
	uint8_t buf[BH_PRIV_MSG_MAX + 8], bad[BH_PRIV_MSG_MAX + 8];
	struct bh_priv_msg m, was;
	int sv[2], fds[PRIV_FDS_MAX], n, len;

	(void)state;
	seqpair(sv);
	assert_int_equal(bh_set_nonblock(sv[1], 1), 0);
	good(BH_PRIV_DONE, 5, &m);
	len = bh_priv_encode(buf, &m);
	assert_int_equal(len, (int)(BH_PRIV_HDR_LEN + BH_PRIV_DONE_LEN));
	memset(&was, 0x5a, sizeof(was));
	/* Every cut of a valid DONE, down to one byte. */
	for (int cut = 1; cut < len; cut++) {
		send_raw(sv[0], buf, (size_t)cut, NULL, 0);
		m = was;
		assert_int_equal(priv_msg_recv(sv[1], &m, fds, &n), -EPROTO);
		assert_memory_equal(&m, &was, sizeof(m));
	}
	/* A length field that is not the type's (and a body to match it). */
	memcpy(bad, buf, (size_t)len);
	bad[8] = BH_PRIV_DONE_LEN + 1;
	bad[len] = 0;
	send_raw(sv[0], bad, (size_t)len + 1, NULL, 0);
	assert_int_equal(priv_msg_recv(sv[1], &m, fds, &n), -EPROTO);
	/* An unknown type with a DONE's body (12: the first after
	 * ROOT_NEXT), and a known one with another type's length. */
	memcpy(bad, buf, (size_t)len);
	bad[0] = 12;
	send_raw(sv[0], bad, (size_t)len, NULL, 0);
	assert_int_equal(priv_msg_recv(sv[1], &m, fds, &n), -EPROTO);
	bad[0] = BH_PRIV_JOB;
	send_raw(sv[0], bad, (size_t)len, NULL, 0);
	assert_int_equal(priv_msg_recv(sv[1], &m, fds, &n), -EPROTO);
	/* DONE's result out of its range (positive). */
	memcpy(bad, buf, (size_t)len);
	memset(bad + BH_PRIV_HDR_LEN, 0, 4);
	bad[BH_PRIV_HDR_LEN] = 1;
	send_raw(sv[0], bad, (size_t)len, NULL, 0);
	assert_int_equal(priv_msg_recv(sv[1], &m, fds, &n), -EPROTO);
	send_raw(sv[0], "garbage", 7, NULL, 0);
	assert_int_equal(priv_msg_recv(sv[1], &m, fds, &n), -EPROTO);
	memset(bad, 0xff, sizeof(bad));
	send_raw(sv[0], bad, BH_PRIV_HDR_LEN, NULL, 0);
	assert_int_equal(priv_msg_recv(sv[1], &m, fds, &n), -EPROTO);
	assert_int_equal(n, 0);
	assert_nothing_waits(sv[1]);
	close(sv[0]);
	close(sv[1]);
}

/* A datagram of no bytes is not a message: -EPROTO, not 0 (the peer's
 * end), while the peer is still there. Read as the end, it let a
 * control that sent one leave the parent's link without being ended and
 * started again (priv_serve_input returned 1, not -1). */
static void test_recv_empty_datagram_is_not_the_end(void **state)
{
	struct bh_priv_msg m;
	int sv[2], fds[PRIV_FDS_MAX], n;

	(void)state;
	seqpair(sv);
	assert_int_equal(bh_set_nonblock(sv[1], 1), 0);
	send_raw(sv[0], "", 0, NULL, 0);
	assert_int_equal(priv_msg_recv(sv[1], &m, fds, &n), -EPROTO);
	assert_int_equal(n, 0);
	/* The link goes on. */
	send_good(sv[0], BH_PRIV_DONE, 8, NULL, 0);
	recv_one(sv[1], &m);
	assert_int_equal(m.id, 8);
	assert_nothing_waits(sv[1]);
	close(sv[0]);
	close(sv[1]);
}

/* A datagram refused for any reason takes its fds with it: none stays
 * open in the receiver. */
static void test_recv_bad_datagram_closes_its_fds(void **state)
{
	uint8_t buf[2000];
	struct bh_priv_msg m;
	int sv[2], p[2], q[2], two[2], fds[PRIV_FDS_MAX], n, len;
	int before = count_fds();

	(void)state;
	seqpair(sv);
	assert_int_equal(bh_set_nonblock(sv[1], 1), 0);

	/* Garbage with one fd. */
	nb_pipe(p);
	send_raw(sv[0], "garbage", 7, &p[1], 1);
	close(p[1]);
	assert_int_equal(priv_msg_recv(sv[1], &m, fds, &n), -EPROTO);
	assert_int_equal(n, 0);
	assert_writer_gone(p[0]);
	close(p[0]);

	/* A valid length and type, a field out of its rule, two fds. */
	nb_pipe(p);
	nb_pipe(q);
	good(BH_PRIV_DONE, 1, &m);
	len = bh_priv_encode(buf, &m);
	memset(buf + BH_PRIV_HDR_LEN, 0, 4);
	buf[BH_PRIV_HDR_LEN] = 1; /* result +1 */
	two[0] = p[1];
	two[1] = q[1];
	send_raw(sv[0], buf, (size_t)len, two, 2);
	close(p[1]);
	close(q[1]);
	assert_int_equal(priv_msg_recv(sv[1], &m, fds, &n), -EPROTO);
	assert_int_equal(n, 0);
	assert_writer_gone(p[0]);
	assert_writer_gone(q[0]);
	close(p[0]);
	close(q[0]);

	/* Too long (cut by the receive buffer), with an fd. */
	nb_pipe(p);
	memset(buf, 0, sizeof(buf));
	send_raw(sv[0], buf, sizeof(buf), &p[1], 1);
	close(p[1]);
	assert_int_equal(priv_msg_recv(sv[1], &m, fds, &n), -EPROTO);
	assert_writer_gone(p[0]);
	close(p[0]);

	/* No bytes at all, only an fd. */
	nb_pipe(p);
	send_raw(sv[0], "", 0, &p[1], 1);
	close(p[1]);
	assert_int_equal(priv_msg_recv(sv[1], &m, fds, &n), -EPROTO);
	assert_int_equal(n, 0);
	assert_writer_gone(p[0]);
	close(p[0]);

	assert_nothing_waits(sv[1]);
	close(sv[0]);
	close(sv[1]);
	assert_int_equal(count_fds(), before);
}

/* More fds than any message carries (five: ATTACHED has four):
 * refused, and none of them stays open here (the kernel drops those
 * past the control buffer, the receiver the ones it got). Four still
 * pass. */
static void test_recv_too_many_fds(void **state)
{
	uint8_t buf[BH_PRIV_MSG_MAX];
	struct bh_priv_msg m;
	int sv[2], p[5][2], w[5], fds[PRIV_FDS_MAX], n, len;
	int before = count_fds();

	(void)state;
	seqpair(sv);
	assert_int_equal(bh_set_nonblock(sv[1], 1), 0);
	for (int i = 0; i < 5; i++) {
		nb_pipe(p[i]);
		w[i] = p[i][1];
	}
	good(BH_PRIV_ATTACHED, 1, &m);
	len = bh_priv_encode(buf, &m);
	send_raw(sv[0], buf, (size_t)len, w, 5);
	for (int i = 0; i < 5; i++)
		close(p[i][1]);
	assert_int_equal(priv_msg_recv(sv[1], &m, fds, &n), -EPROTO);
	assert_int_equal(n, 0);
	for (int i = 0; i < 5; i++) {
		assert_writer_gone(p[i][0]);
		close(p[i][0]);
	}

	/* PRIV_FDS_MAX of them: the message and each fd. */
	for (int i = 0; i < 4; i++) {
		nb_pipe(p[i]);
		w[i] = p[i][1];
	}
	send_raw(sv[0], buf, (size_t)len, w, 4);
	for (int i = 0; i < 4; i++)
		close(p[i][1]);
	n = -1;
	assert_int_equal(priv_msg_recv(sv[1], &m, fds, &n), 1);
	assert_int_equal(m.type, BH_PRIV_ATTACHED);
	assert_int_equal(n, 4);
	for (int i = 0; i < 4; i++) {
		assert_cloexec(fds[i]);
		assert_int_equal(read(p[i][0], buf, 1), -1); /* still open */
		close(fds[i]);
		assert_writer_gone(p[i][0]);
		close(p[i][0]);
	}
	assert_nothing_waits(sv[1]);
	close(sv[0]);
	close(sv[1]);
	assert_int_equal(count_fds(), before);
}

/* The peer's end: what it sent before closing still reads, then 0, and
 * 0 again. */
static void test_recv_peer_closed(void **state)
{
	struct bh_priv_msg m;
	int sv[2], fds[PRIV_FDS_MAX], n;

	(void)state;
	seqpair(sv);
	send_good(sv[0], BH_PRIV_EXITED, 0, NULL, 0);
	close(sv[0]);
	recv_one(sv[1], &m);
	assert_int_equal(m.type, BH_PRIV_EXITED);
	n = -1;
	assert_int_equal(priv_msg_recv(sv[1], &m, fds, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(priv_msg_recv(sv[1], &m, fds, &n), 0);
	close(sv[1]);
}

static void test_recv_nothing_waiting(void **state)
{
	int sv[2];

	(void)state;
	seqpair(sv);
	assert_int_equal(bh_set_nonblock(sv[1], 1), 0);
	assert_nothing_waits(sv[1]);
	close(sv[0]);
	close(sv[1]);
}

/* ---- control's end: priv_link ---- */

/* Control's end (non-blocking, as bulkheadd's) in *pl; the fake
 * parent's in *parent (non-blocking: a test that expects a message
 * that is not there fails rather than hangs). */
static void link_pair(struct priv_link *pl, int *parent)
{
	int sv[2];

	seqpair(sv);
	memset(pl, 0, sizeof(*pl));
	pl->fd = sv[0];
	assert_int_equal(bh_set_nonblock(sv[0], 1), 0);
	assert_int_equal(bh_set_nonblock(sv[1], 1), 0);
	*parent = sv[1];
}

static void assert_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	assert_true(fl >= 0);
	assert_true(fl & O_NONBLOCK);
}

/* The parent answers a LAUNCH at once, but what was on its way comes
 * first: an EXITED and a DONE before the LAUNCHED. The start gets its
 * pids and both links; the two others wait for the loop, in order. */
static void test_launch_keeps_exited_and_done_in_order(void **state)
{
	struct priv_link pl;
	struct priv_started out;
	struct bh_priv_launch l;
	struct bh_priv_msg m;
	char err[256] = "";
	int parent, a[2], b[2], two[2];
	int before = count_fds();

	(void)state;
	link_pair(&pl, &parent);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, a), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, b), 0);
	send_exited(parent, "early", 501);
	good(BH_PRIV_DONE, 77, &m);
	assert_int_equal(priv_msg_send(parent, &m, NULL, 0), 0);
	good(BH_PRIV_LAUNCHED, 1, &m); /* the first request's id */
	m.u.launched.qemu_pid = 600;
	m.u.launched.chan_pid = 601;
	two[0] = a[0];
	two[1] = b[0];
	assert_int_equal(priv_msg_send(parent, &m, two, 2), 0);

	good_launch(&l);
	assert_int_equal(priv_link_launch(&pl, &l, -1, &out, err, sizeof(err)),
			 0);
	assert_int_equal(out.qemu, 600);
	assert_int_equal(out.chan, 601);
	assert_same_file(out.link_fd, a[0]);
	assert_same_file(out.qmp_fd, b[0]);
	assert_cloexec(out.link_fd);
	assert_cloexec(out.qmp_fd);
	assert_nonblock(out.link_fd);
	assert_nonblock(out.qmp_fd);

	/* What the parent got: the LAUNCH as given, alone. */
	recv_one(parent, &m);
	assert_int_equal(m.type, BH_PRIV_LAUNCH);
	assert_int_equal(m.id, 1);
	assert_memory_equal(&m.u.launch, &l, sizeof(l));
	assert_nothing_waits(parent);

	/* The kept ones, in order, then none. */
	assert_int_equal(priv_link_pending(&pl), 1);
	assert_int_equal(priv_link_next(&pl, &m), 1);
	assert_int_equal(m.type, BH_PRIV_EXITED);
	assert_string_equal(m.u.exited.name, "early");
	assert_int_equal(m.u.exited.pid, 501);
	assert_int_equal(priv_link_pending(&pl), 1);
	assert_int_equal(priv_link_next(&pl, &m), 1);
	assert_int_equal(m.type, BH_PRIV_DONE);
	assert_int_equal(m.id, 77);
	assert_int_equal(m.u.done.result, -ESRCH);
	assert_int_equal(priv_link_pending(&pl), 0);
	assert_int_equal(priv_link_next(&pl, &m), 0);

	close(out.link_fd);
	close(out.qmp_fd);
	close(a[0]);
	close(a[1]);
	close(b[0]);
	close(b[1]);
	priv_link_free(&pl);
	assert_int_equal(pl.fd, -1);
	close(parent);
	assert_int_equal(count_fds(), before);
}

/* FAILED: its code and its text, and no fd kept (one sent beside it by
 * mistake is closed). */
static void test_launch_failed_gives_code_and_text(void **state)
{
	struct priv_link pl;
	struct priv_started out;
	struct bh_priv_launch l;
	struct bh_priv_msg m;
	char err[256] = "";
	int parent, p[2];
	int before = count_fds();

	(void)state;
	link_pair(&pl, &parent);
	nb_pipe(p);
	good(BH_PRIV_FAILED, 1, &m);
	m.u.failed.code = BH_EXIT_SETUP;
	strcpy(m.u.failed.text, "cannot find the guest kernel 6.1.0-1");
	assert_int_equal(priv_msg_send(parent, &m, &p[1], 1), 0);
	close(p[1]);
	good_launch(&l);
	assert_int_equal(priv_link_launch(&pl, &l, -1, &out, err, sizeof(err)),
			 BH_EXIT_SETUP);
	assert_string_equal(err, "cannot find the guest kernel 6.1.0-1");
	assert_int_equal(out.link_fd, -1);
	assert_int_equal(out.qmp_fd, -1);
	assert_int_equal(out.qemu, 0);
	assert_writer_gone(p[0]);
	assert_int_equal(priv_link_pending(&pl), 0);
	close(p[0]);
	priv_link_free(&pl);
	close(parent);
	assert_int_equal(count_fds(), before);
}

/* LAUNCHED without its two links (none, or one): a failure, and the
 * one that came is closed. */
static void test_launch_launched_without_links(void **state)
{
	struct priv_link pl;
	struct priv_started out;
	struct bh_priv_launch l;
	char err[256] = "";
	int parent, p[2];
	int before = count_fds();

	(void)state;
	link_pair(&pl, &parent);
	good_launch(&l);
	send_good(parent, BH_PRIV_LAUNCHED, 1, NULL, 0);
	assert_int_equal(priv_link_launch(&pl, &l, -1, &out, err, sizeof(err)),
			 BH_EXIT_FAILURE);
	assert_non_null(strstr(err, "no links"));
	assert_int_equal(out.link_fd, -1);
	assert_int_equal(out.qmp_fd, -1);

	nb_pipe(p);
	send_good(parent, BH_PRIV_LAUNCHED, 2, &p[1], 1);
	close(p[1]);
	err[0] = '\0';
	assert_int_equal(priv_link_launch(&pl, &l, -1, &out, err, sizeof(err)),
			 BH_EXIT_FAILURE);
	assert_non_null(strstr(err, "no links"));
	assert_int_equal(out.link_fd, -1);
	assert_int_equal(out.qmp_fd, -1);
	assert_writer_gone(p[0]);
	close(p[0]);
	priv_link_free(&pl);
	close(parent);
	assert_int_equal(count_fds(), before);
}

/* Answers that carry another id are not this start's answer: a stray
 * LAUNCHED (its links closed) and FAILED are dropped, a DONE is kept
 * for the loop, and the start takes the LAUNCHED with its own id. */
static void test_launch_takes_only_its_own_id(void **state)
{
	struct priv_link pl;
	struct priv_started out;
	struct bh_priv_launch l;
	struct bh_priv_msg m;
	char err[256] = "";
	int parent, p[2], q[2], a[2], b[2], two[2];
	int before = count_fds();

	(void)state;
	link_pair(&pl, &parent);
	nb_pipe(p);
	nb_pipe(q);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, a), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, b), 0);
	two[0] = p[1];
	two[1] = q[1];
	good(BH_PRIV_LAUNCHED, 5, &m);
	m.u.launched.qemu_pid = 900;
	m.u.launched.chan_pid = 901;
	assert_int_equal(priv_msg_send(parent, &m, two, 2), 0);
	close(p[1]);
	close(q[1]);
	send_failed(parent, 9, BH_EXIT_SETUP, "not yours");
	/* A DONE of the start's id is no answer to a LAUNCH either. */
	send_good(parent, BH_PRIV_DONE, 1, NULL, 0);
	good(BH_PRIV_LAUNCHED, 1, &m);
	m.u.launched.qemu_pid = 700;
	m.u.launched.chan_pid = 701;
	two[0] = a[0];
	two[1] = b[0];
	assert_int_equal(priv_msg_send(parent, &m, two, 2), 0);

	good_launch(&l);
	assert_int_equal(priv_link_launch(&pl, &l, -1, &out, err, sizeof(err)),
			 0);
	assert_int_equal(out.qemu, 700);
	assert_int_equal(out.chan, 701);
	assert_same_file(out.link_fd, a[0]);
	assert_same_file(out.qmp_fd, b[0]);
	assert_writer_gone(p[0]);
	assert_writer_gone(q[0]);
	assert_int_equal(priv_link_pending(&pl), 1);
	assert_int_equal(priv_link_next(&pl, &m), 1);
	assert_int_equal(m.type, BH_PRIV_DONE);
	assert_int_equal(m.id, 1);
	assert_int_equal(priv_link_next(&pl, &m), 0);

	close(out.link_fd);
	close(out.qmp_fd);
	close(p[0]);
	close(q[0]);
	close(a[0]);
	close(a[1]);
	close(b[0]);
	close(b[1]);
	priv_link_free(&pl);
	close(parent);
	assert_int_equal(count_fds(), before);
}

/* The parent gone: before the request (it cannot be sent), while the
 * start waits (a forked parent reads the LAUNCH and exits), or the link
 * broken by a datagram that is no message. Each is a failure said in
 * err, never a hang. */
static void test_launch_parent_ends(void **state)
{
	struct priv_link pl;
	struct priv_started out;
	struct bh_priv_launch l;
	char err[256] = "";
	int parent, st;
	pid_t pid;
	int before = count_fds();

	(void)state;
	good_launch(&l);

	link_pair(&pl, &parent);
	close(parent);
	assert_int_equal(priv_link_launch(&pl, &l, -1, &out, err, sizeof(err)),
			 BH_EXIT_FAILURE);
	assert_non_null(strstr(err, "cannot ask"));
	assert_int_equal(out.link_fd, -1);
	priv_link_free(&pl);

	link_pair(&pl, &parent);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct bh_priv_msg m;
		int fds[PRIV_FDS_MAX], n;

		close(pl.fd);
		bh_set_nonblock(parent, 0);
		if (priv_msg_recv(parent, &m, fds, &n) != 1 ||
		    m.type != BH_PRIV_LAUNCH || n != 0)
			_exit(1);
		_exit(0);
	}
	close(parent);
	err[0] = '\0';
	assert_int_equal(priv_link_launch(&pl, &l, -1, &out, err, sizeof(err)),
			 BH_EXIT_FAILURE);
	assert_non_null(strstr(err, "ended"));
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	priv_link_free(&pl);

	link_pair(&pl, &parent);
	send_raw(parent, "garbage", 7, NULL, 0);
	err[0] = '\0';
	assert_int_equal(priv_link_launch(&pl, &l, -1, &out, err, sizeof(err)),
			 BH_EXIT_FAILURE);
	assert_non_null(strstr(err, "broke"));
	priv_link_free(&pl);
	close(parent);

	/* No link at all. */
	memset(&pl, 0, sizeof(pl));
	pl.fd = -1;
	err[0] = '\0';
	assert_int_equal(priv_link_launch(&pl, &l, -1, &out, err, sizeof(err)),
			 BH_EXIT_FAILURE);
	assert_non_null(strstr(err, "no link"));
	assert_int_equal(count_fds(), before);
}

/* A LAUNCH that breaks its rules is refused here with a clear err and
 * nothing is sent: the parent would end the link over it. */
static void test_launch_out_of_rule_is_refused_locally(void **state)
{
	struct priv_link pl;
	struct priv_started out;
	struct bh_priv_launch l;
	char err[256];
	int parent, p[2];

	(void)state;
	link_pair(&pl, &parent);
	for (int c = 0; c < 7; c++) {
		good_launch(&l);
		switch (c) {
		case 0: l.memory_mb = 0; break;
		case 1: l.memory_mb = BH_PRIV_MEMORY_MAX + 1; break;
		case 2: l.vcpus = BH_PRIV_VCPUS_MAX + 1; break;
		case 3: strcpy(l.name, "../etc"); break;
		case 4: strcpy(l.kernelopts, "quiet\ninit=/bin/sh"); break;
		case 5: l.flags = 0x80; break;
		case 6: l.jail_id = 0; break;
		}
		err[0] = '\0';
		assert_int_equal(priv_link_launch(&pl, &l, -1, &out, err,
						  sizeof(err)),
				 BH_EXIT_FAILURE);
		assert_non_null(strstr(err, "out of range"));
		assert_int_equal(out.link_fd, -1);
		assert_nothing_waits(parent);
	}
	/* BH_PRIV_RESTORE says a state fd travels beside the LAUNCH: asked
	 * for without one, the parent would end the link; refused here. */
	good_launch(&l);
	l.flags |= BH_PRIV_RESTORE;
	err[0] = '\0';
	assert_int_equal(priv_link_launch(&pl, &l, -1, &out, err, sizeof(err)),
			 BH_EXIT_FAILURE);
	assert_non_null(strstr(err, "restore"));
	assert_nothing_waits(parent);

	/* With its fd, the flag and the fd go together. */
	nb_pipe(p);
	good_launch(&l);
	send_failed(parent, pl.next_id + 1, BH_EXIT_FAILURE, "no");
	assert_int_equal(priv_link_launch(&pl, &l, p[1], &out, err, sizeof(err)),
			 BH_EXIT_FAILURE);
	assert_string_equal(err, "no");
	{
		struct bh_priv_msg m;
		int fds[PRIV_FDS_MAX], n;

		assert_int_equal(priv_msg_recv(parent, &m, fds, &n), 1);
		assert_int_equal(m.type, BH_PRIV_LAUNCH);
		assert_int_equal(m.u.launch.flags, BH_PRIV_RESTORE);
		assert_int_equal(n, 1);
		assert_same_file(fds[0], p[1]);
		close(fds[0]);
	}
	/* The caller's fd stays the caller's. */
	assert_true(fcntl(p[1], F_GETFD) >= 0);
	close(p[0]);
	close(p[1]);
	assert_nothing_waits(parent);
	priv_link_free(&pl);
	close(parent);
}

/* KILL goes out checked; priv_link_next gives EXITED and DONE, drops
 * anything else the parent sends unasked (closing its fds), says 0 when
 * none waits and -EPIPE once the parent is gone. */
static void test_kill_and_next(void **state)
{
	struct priv_link pl;
	struct bh_priv_msg m;
	int parent, p[2];
	int before = count_fds();

	(void)state;
	link_pair(&pl, &parent);
	assert_int_equal(priv_link_kill(&pl, "work", BH_PRIV_CHAN, SIGTERM), 0);
	recv_one(parent, &m);
	assert_int_equal(m.type, BH_PRIV_KILL);
	assert_int_equal(m.id, pl.next_id);
	assert_string_equal(m.u.kill.name, "work");
	assert_int_equal(m.u.kill.which, BH_PRIV_CHAN);
	assert_int_equal(m.u.kill.signo, SIGTERM);
	assert_int_equal(priv_link_kill(&pl, "../x", BH_PRIV_QEMU, SIGKILL),
			 -EINVAL);
	assert_int_equal(priv_link_kill(&pl, "work", BH_PRIV_QEMU, SIGSTOP),
			 -EINVAL);
	assert_int_equal(priv_link_kill(&pl, "work", 3, SIGKILL), -EINVAL);
	assert_nothing_waits(parent);

	assert_int_equal(priv_link_next(&pl, &m), 0);
	nb_pipe(p);
	send_good(parent, BH_PRIV_LAUNCHED, 40, &p[1], 1);
	close(p[1]);
	send_failed(parent, 41, BH_EXIT_FAILURE, "stray");
	send_exited(parent, "late", 777);
	assert_int_equal(priv_link_next(&pl, &m), 1);
	assert_int_equal(m.type, BH_PRIV_EXITED);
	assert_int_equal(m.u.exited.pid, 777);
	assert_writer_gone(p[0]);
	close(p[0]);
	assert_int_equal(priv_link_next(&pl, &m), 0);
	send_good(parent, BH_PRIV_DONE, 42, NULL, 0);
	close(parent);
	/* What came before the end still reads. */
	assert_int_equal(priv_link_next(&pl, &m), 1);
	assert_int_equal(m.id, 42);
	assert_int_equal(priv_link_next(&pl, &m), -EPIPE);
	priv_link_free(&pl);

	memset(&pl, 0, sizeof(pl));
	pl.fd = -1;
	assert_int_equal(priv_link_kill(&pl, "work", BH_PRIV_QEMU, SIGKILL),
			 -ENOTCONN);
	assert_int_equal(priv_link_next(&pl, &m), 0);
	assert_int_equal(count_fds(), before);
}

/* Many kept while starts wait, some taken between them: the queue
 * grows and moves its contents to the front, and gives them all in the
 * order they came. */
static void test_kept_queue_keeps_order(void **state)
{
	struct priv_link pl;
	struct priv_started out;
	struct bh_priv_launch l;
	struct bh_priv_msg m;
	char err[256];
	uint32_t pid = 100;
	int parent;

	(void)state;
	link_pair(&pl, &parent);
	good_launch(&l);
	for (int i = 0; i < 20; i++)
		send_exited(parent, "q", pid++);
	send_failed(parent, 1, BH_EXIT_FAILURE, "first");
	assert_int_equal(priv_link_launch(&pl, &l, -1, &out, err, sizeof(err)),
			 BH_EXIT_FAILURE);
	for (uint32_t want = 100; want < 110; want++) {
		assert_int_equal(priv_link_next(&pl, &m), 1);
		assert_int_equal(m.u.exited.pid, want);
	}
	for (int i = 0; i < 13; i++)
		send_exited(parent, "q", pid++);
	send_failed(parent, 2, BH_EXIT_FAILURE, "second");
	assert_int_equal(priv_link_launch(&pl, &l, -1, &out, err, sizeof(err)),
			 BH_EXIT_FAILURE);
	assert_string_equal(err, "second");
	for (uint32_t want = 110; want < pid; want++) {
		assert_int_equal(priv_link_pending(&pl), 1);
		assert_int_equal(priv_link_next(&pl, &m), 1);
		assert_int_equal(m.type, BH_PRIV_EXITED);
		assert_int_equal(m.u.exited.pid, want);
	}
	assert_int_equal(priv_link_pending(&pl), 0);
	assert_int_equal(priv_link_next(&pl, &m), 0);
	/* Both LAUNCHes went out, nothing else. */
	recv_one(parent, &m);
	assert_int_equal(m.id, 1);
	recv_one(parent, &m);
	assert_int_equal(m.id, 2);
	assert_nothing_waits(parent);
	priv_link_free(&pl);
	close(parent);
}

/* ATTACHED with its four fds: the pids, control's two links to the
 * channel process (non-blocking) and the two pidfds, each the file that
 * was sent, close-on-exec; an EXITED that came first is kept for the
 * loop; the parent got the ATTACH, named, alone. */
static void test_attach_takes_four_fds(void **state)
{
	struct priv_link pl;
	struct priv_attached out;
	struct bh_priv_msg m;
	char err[256] = "";
	int parent, a[2], b[2], pq[2], pc[2], four[4];
	int before = count_fds();

	(void)state;
	link_pair(&pl, &parent);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, a), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, b), 0);
	nb_pipe(pq);
	nb_pipe(pc);
	send_exited(parent, "early", 502);
	good(BH_PRIV_ATTACHED, 1, &m);
	m.u.attached.qemu_pid = 800;
	m.u.attached.chan_pid = 801;
	four[0] = a[0];
	four[1] = b[0];
	four[2] = pq[1];
	four[3] = pc[1];
	assert_int_equal(priv_msg_send(parent, &m, four, 4), 0);

	assert_int_equal(priv_link_attach(&pl, "work", &out, err, sizeof(err)),
			 0);
	assert_int_equal(out.qemu, 800);
	assert_int_equal(out.chan, 801);
	assert_same_file(out.link_fd, a[0]);
	assert_same_file(out.qmp_fd, b[0]);
	assert_same_file(out.qemu_pidfd, pq[1]);
	assert_same_file(out.chan_pidfd, pc[1]);
	assert_cloexec(out.link_fd);
	assert_cloexec(out.qmp_fd);
	assert_cloexec(out.qemu_pidfd);
	assert_cloexec(out.chan_pidfd);
	assert_nonblock(out.link_fd);
	assert_nonblock(out.qmp_fd);

	recv_one(parent, &m);
	assert_int_equal(m.type, BH_PRIV_ATTACH);
	assert_int_equal(m.id, 1);
	assert_string_equal(m.u.attach.name, "work");
	assert_nothing_waits(parent);

	assert_int_equal(priv_link_pending(&pl), 1);
	assert_int_equal(priv_link_next(&pl, &m), 1);
	assert_int_equal(m.type, BH_PRIV_EXITED);
	assert_int_equal(m.u.exited.pid, 502);
	assert_int_equal(priv_link_next(&pl, &m), 0);

	close(out.link_fd);
	close(out.qmp_fd);
	close(out.qemu_pidfd);
	close(out.chan_pidfd);
	close(pq[1]);
	close(pc[1]);
	assert_writer_gone(pq[0]);
	assert_writer_gone(pc[0]);
	close(pq[0]);
	close(pc[0]);
	close(a[0]);
	close(a[1]);
	close(b[0]);
	close(b[1]);
	priv_link_free(&pl);
	close(parent);
	assert_int_equal(count_fds(), before);
}

/* ATTACHED with three fds, or none: an error, and every fd that came is
 * closed; FAILED: -EPROTO with the parent's text (an fd beside it
 * closed too). */
static void test_attach_wrong_answers(void **state)
{
	struct priv_link pl;
	struct priv_attached out;
	struct bh_priv_msg m;
	char err[256];
	int parent, p[3][2], w[3];
	int before = count_fds();

	(void)state;
	link_pair(&pl, &parent);
	for (int i = 0; i < 3; i++) {
		nb_pipe(p[i]);
		w[i] = p[i][1];
	}
	good(BH_PRIV_ATTACHED, 1, &m);
	assert_int_equal(priv_msg_send(parent, &m, w, 3), 0);
	for (int i = 0; i < 3; i++)
		close(p[i][1]);
	err[0] = '\0';
	assert_int_equal(priv_link_attach(&pl, "work", &out, err, sizeof(err)),
			 -EPROTO);
	assert_non_null(strstr(err, "wrongly"));
	assert_int_equal(out.link_fd, -1);
	assert_int_equal(out.qmp_fd, -1);
	assert_int_equal(out.qemu_pidfd, -1);
	assert_int_equal(out.chan_pidfd, -1);
	assert_int_equal(out.qemu, 0);
	for (int i = 0; i < 3; i++) {
		assert_writer_gone(p[i][0]);
		close(p[i][0]);
	}

	send_good(parent, BH_PRIV_ATTACHED, 2, NULL, 0);
	err[0] = '\0';
	assert_int_equal(priv_link_attach(&pl, "work", &out, err, sizeof(err)),
			 -EPROTO);
	assert_non_null(strstr(err, "wrongly"));
	assert_int_equal(out.link_fd, -1);

	/* A LAUNCHED of its id is no answer to an ATTACH. */
	nb_pipe(p[0]);
	nb_pipe(p[1]);
	w[0] = p[0][1];
	w[1] = p[1][1];
	send_good(parent, BH_PRIV_LAUNCHED, 3, w, 2);
	close(p[0][1]);
	close(p[1][1]);
	err[0] = '\0';
	assert_int_equal(priv_link_attach(&pl, "work", &out, err, sizeof(err)),
			 -EPROTO);
	assert_non_null(strstr(err, "wrongly"));
	assert_int_equal(out.link_fd, -1);
	assert_writer_gone(p[0][0]);
	assert_writer_gone(p[1][0]);
	close(p[0][0]);
	close(p[1][0]);

	nb_pipe(p[0]);
	good(BH_PRIV_FAILED, 4, &m);
	strcpy(m.u.failed.text, "its QEMU no longer runs");
	assert_int_equal(priv_msg_send(parent, &m, &p[0][1], 1), 0);
	close(p[0][1]);
	err[0] = '\0';
	assert_int_equal(priv_link_attach(&pl, "work", &out, err, sizeof(err)),
			 -EPROTO);
	assert_string_equal(err, "its QEMU no longer runs");
	assert_int_equal(out.link_fd, -1);
	assert_int_equal(out.chan_pidfd, -1);
	assert_writer_gone(p[0][0]);
	close(p[0][0]);

	/* Four ATTACHes went out, in order. */
	for (uint32_t id = 1; id <= 4; id++) {
		recv_one(parent, &m);
		assert_int_equal(m.type, BH_PRIV_ATTACH);
		assert_int_equal(m.id, id);
	}
	assert_nothing_waits(parent);
	assert_int_equal(priv_link_pending(&pl), 0);
	priv_link_free(&pl);
	close(parent);
	assert_int_equal(count_fds(), before);
}

/* A name that is none is refused here, nothing sent; no link: said. */
static void test_attach_refused_locally(void **state)
{
	struct priv_link pl;
	struct priv_attached out;
	char err[256];
	int parent;

	(void)state;
	link_pair(&pl, &parent);
	err[0] = '\0';
	assert_int_equal(priv_link_attach(&pl, "../etc", &out, err,
					  sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "not a qube name"));
	assert_int_equal(out.link_fd, -1);
	assert_int_equal(out.qemu_pidfd, -1);
	assert_int_equal(priv_link_attach(&pl, "", &out, err, sizeof(err)),
			 -EINVAL);
	assert_nothing_waits(parent);
	priv_link_free(&pl);
	close(parent);

	memset(&pl, 0, sizeof(pl));
	pl.fd = -1;
	err[0] = '\0';
	assert_int_equal(priv_link_attach(&pl, "work", &out, err, sizeof(err)),
			 -ENOTCONN);
	assert_non_null(strstr(err, "no link"));
	assert_int_equal(out.chan_pidfd, -1);
}

/* priv_link_call: DONE of its id is the answer, its result returned;
 * an EXITED and another id's DONE that came first are kept for the
 * loop, in order; a stray answer of another id is dropped (its fd
 * closed). A FAILED of its id: -EPROTO. No answer in time: -ETIMEDOUT.
 * A request out of its rules: -EINVAL, nothing sent. */
static void test_call_returns_done_and_keeps_the_rest(void **state)
{
	struct priv_link pl;
	struct bh_priv_msg req, m;
	int parent, p[2];
	int before = count_fds();

	(void)state;
	link_pair(&pl, &parent);
	nb_pipe(p);
	send_exited(parent, "early", 503);
	send_good(parent, BH_PRIV_DONE, 9, NULL, 0); /* -ESRCH, not ours */
	send_good(parent, BH_PRIV_LAUNCHED, 8, &p[1], 1);
	close(p[1]);
	good(BH_PRIV_DONE, 1, &m);
	m.u.done.result = -ENOENT;
	assert_int_equal(priv_msg_send(parent, &m, NULL, 0), 0);

	good(BH_PRIV_LET_GO, 0, &req);
	assert_int_equal(priv_link_call(&pl, &req, 5000), -ENOENT);
	assert_int_equal(req.id, 1);
	recv_one(parent, &m);
	assert_int_equal(m.type, BH_PRIV_LET_GO);
	assert_int_equal(m.id, 1);
	assert_string_equal(m.u.let_go.name, "work");
	assert_int_equal(m.u.let_go.flags, BH_PRIV_LET_GO_QEMU);
	assert_nothing_waits(parent);
	assert_writer_gone(p[0]);
	close(p[0]);

	assert_int_equal(priv_link_pending(&pl), 1);
	assert_int_equal(priv_link_next(&pl, &m), 1);
	assert_int_equal(m.type, BH_PRIV_EXITED);
	assert_int_equal(m.u.exited.pid, 503);
	assert_int_equal(priv_link_next(&pl, &m), 1);
	assert_int_equal(m.type, BH_PRIV_DONE);
	assert_int_equal(m.id, 9);
	assert_int_equal(priv_link_pending(&pl), 0);
	assert_int_equal(priv_link_next(&pl, &m), 0);

	/* DONE 0 for a LEFTOVERS. */
	good(BH_PRIV_DONE, 2, &m);
	m.u.done.result = 0;
	assert_int_equal(priv_msg_send(parent, &m, NULL, 0), 0);
	good(BH_PRIV_LEFTOVERS, 0, &req);
	assert_int_equal(priv_link_call(&pl, &req, 5000), 0);
	recv_one(parent, &m);
	assert_int_equal(m.type, BH_PRIV_LEFTOVERS);
	assert_int_equal(m.id, 2);
	assert_int_equal(m.u.leftovers.timeout_ms, 1000);

	/* FAILED of its id. */
	send_failed(parent, 3, BH_EXIT_FAILURE, "no");
	good(BH_PRIV_LET_GO, 0, &req);
	assert_int_equal(priv_link_call(&pl, &req, 5000), -EPROTO);
	recv_one(parent, &m);
	assert_int_equal(m.id, 3);

	/* No answer. */
	good(BH_PRIV_LEFTOVERS, 0, &req);
	assert_int_equal(priv_link_call(&pl, &req, 50), -ETIMEDOUT);
	recv_one(parent, &m);
	assert_int_equal(m.id, 4);

	/* Out of its rules: not sent. */
	good(BH_PRIV_LEFTOVERS, 0, &req);
	req.u.leftovers.timeout_ms = BH_PRIV_LEFTOVERS_MS_MAX + 1;
	assert_int_equal(priv_link_call(&pl, &req, 5000), -EINVAL);
	good(BH_PRIV_LET_GO, 0, &req);
	req.u.let_go.flags = 2;
	assert_int_equal(priv_link_call(&pl, &req, 5000), -EINVAL);
	assert_nothing_waits(parent);
	assert_int_equal(priv_link_pending(&pl), 0);

	/* The parent gone while it waits. */
	close(parent);
	good(BH_PRIV_LET_GO, 0, &req);
	assert_true(priv_link_call(&pl, &req, 5000) < 0);
	priv_link_free(&pl);

	memset(&pl, 0, sizeof(pl));
	pl.fd = -1;
	good(BH_PRIV_LEFTOVERS, 0, &req);
	assert_int_equal(priv_link_call(&pl, &req, 5000), -ENOTCONN);
	assert_int_equal(count_fds(), before);
}

/* ---- the parent's end: priv_serve ---- */

static char top[PATH_MAX], state_dir[PATH_MAX], run_dir[PATH_MAX];

static int serve_setup(void **st)
{
	(void)st;
	snprintf(top, sizeof(top), "/tmp/bh-priv-link.XXXXXX");
	if (!mkdtemp(top))
		return -1;
	if (bh_path_fmt(state_dir, sizeof(state_dir), "%s/state", top) ||
	    bh_path_fmt(run_dir, sizeof(run_dir), "%s/run", top) ||
	    bh_mkdir_p(state_dir, 0755) < 0 || bh_mkdir_p(run_dir, 0755) < 0)
		return -1;
	return 0;
}

static int serve_teardown(void **st)
{
	(void)st;
	return bh_rm_rf(top) < 0 ? -1 : 0;
}

/* A parent with no qube, attached to a new link; *ctl is control's end
 * (non-blocking). */
static void serve_open(struct priv_serve *s, int *ctl)
{
	int sv[2];

	seqpair(sv);
	priv_serve_init(s, "/nonexistent", state_dir, run_dir);
	priv_serve_attach(s, sv[0]);
	assert_int_equal(s->fd, sv[0]);
	assert_int_equal(bh_set_nonblock(sv[1], 1), 0);
	*ctl = sv[1];
}

static void serve_close(struct priv_serve *s, int ctl)
{
	priv_serve_detach(s);
	assert_int_equal(s->fd, -1);
	close(ctl);
	free(s->kids);
	s->kids = NULL;
	s->n = s->cap = 0;
}

static void ask_kill(int ctl, uint32_t id, const char *name, uint32_t which,
		     int signo)
{
	struct bh_priv_msg m;

	good(BH_PRIV_KILL, id, &m);
	strcpy(m.u.kill.name, name);
	m.u.kill.which = which;
	m.u.kill.signo = (uint32_t)signo;
	assert_int_equal(priv_msg_send(ctl, &m, NULL, 0), 0);
}

static void expect_done(int ctl, uint32_t id, int32_t result)
{
	struct bh_priv_msg m;

	recv_one(ctl, &m);
	assert_int_equal(m.type, BH_PRIV_DONE);
	assert_int_equal(m.id, id);
	assert_int_equal(m.u.done.result, result);
}

/* The FAILED answering request id; its text must hold want. */
static void expect_failed(int ctl, uint32_t id, int32_t code,
			  const char *want)
{
	struct bh_priv_msg m;

	recv_one(ctl, &m);
	assert_int_equal(m.type, BH_PRIV_FAILED);
	assert_int_equal(m.id, id);
	assert_int_equal(m.u.failed.code, code);
	if (!strstr(m.u.failed.text, want))
		fail_msg("FAILED said \"%s\", not \"%s\"", m.u.failed.text,
			 want);
}

/* A KILL for a name the parent never started: DONE -ESRCH, for every
 * request waiting; a reaped pid that is none of its qubes': 0, and
 * control hears nothing. */
static void test_serve_kill_unknown_name(void **state)
{
	struct priv_serve s;
	int ctl;

	(void)state;
	serve_open(&s, &ctl);
	assert_int_equal(priv_serve_input(&s), 0);
	ask_kill(ctl, 41, "nobody", BH_PRIV_QEMU, SIGKILL);
	ask_kill(ctl, 42, "other", BH_PRIV_CHAN, SIGTERM);
	assert_int_equal(priv_serve_input(&s), 0);
	expect_done(ctl, 41, -ESRCH);
	expect_done(ctl, 42, -ESRCH);
	assert_nothing_waits(ctl);
	assert_int_equal(priv_serve_reaped(&s, 99999, 0), 0);
	assert_int_equal(priv_serve_reaped(&s, getpid(), 0), 0);
	assert_nothing_waits(ctl);
	serve_close(&s, ctl);
}

/* A child that only waits: for a signal, or for *hold (the write end
 * of its pipe, kept here) to close, so that none outlives a failed
 * test. */
static pid_t waiting_child(int *hold)
{
	int p[2];
	pid_t pid;

	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char c;

		close(p[1]);
		while (read(p[0], &c, 1) < 0 && errno == EINTR)
			;
		_exit(0);
	}
	close(p[0]);
	*hold = p[1];
	return pid;
}

/* The table, given two forked children as a qube "work"'s QEMU and
 * channel process: KILL reaches each, a LAUNCH of the same name or jail
 * id is refused while its QEMU runs, each reaped one is told to control
 * (EXITED) and then is out of KILL's reach, and the entry goes with its
 * last process. */
static void test_serve_kill_reaches_the_table(void **state)
{
	struct priv_serve s;
	struct bh_priv_msg m;
	int hold_qemu, hold_chan, ctl, st;
	pid_t qemu = waiting_child(&hold_qemu), chan = waiting_child(&hold_chan);

	(void)state;
	serve_open(&s, &ctl);
	s.kids = calloc(1, sizeof(*s.kids));
	assert_non_null(s.kids);
	s.cap = s.n = 1;
	strcpy(s.kids[0].name, "work");
	s.kids[0].jail_id = 7;
	s.kids[0].qemu = qemu;
	s.kids[0].chan = chan;
	/* The parent's own children: no pidfds (0 would be taken for
	 * one). */
	s.kids[0].qemu_pidfd = s.kids[0].chan_pidfd = -1;
	s.kids[0].kept = 1;

	ask_kill(ctl, 1, "work", BH_PRIV_QEMU, SIGTERM);
	assert_int_equal(priv_serve_input(&s), 0);
	expect_done(ctl, 1, 0);
	assert_int_equal(waitpid(qemu, &st, 0), qemu);
	assert_true(WIFSIGNALED(st));
	assert_int_equal(WTERMSIG(st), SIGTERM);

	/* Not reaped by the parent yet: it still runs as far as it knows. */
	good(BH_PRIV_LAUNCH, 2, &m);
	m.u.launch.jail_id = 9;
	assert_int_equal(priv_msg_send(ctl, &m, NULL, 0), 0);
	good(BH_PRIV_LAUNCH, 3, &m);
	strcpy(m.u.launch.name, "other");
	assert_int_equal(priv_msg_send(ctl, &m, NULL, 0), 0);
	assert_int_equal(priv_serve_input(&s), 0);
	expect_failed(ctl, 2, 1, "a QEMU of this name still runs");
	expect_failed(ctl, 3, 1, "jail id");
	assert_int_equal(s.n, 1);

	assert_int_equal(priv_serve_reaped(&s, qemu, st), 1);
	recv_one(ctl, &m);
	assert_int_equal(m.type, BH_PRIV_EXITED);
	assert_string_equal(m.u.exited.name, "work");
	assert_int_equal(m.u.exited.which, BH_PRIV_QEMU);
	assert_int_equal(m.u.exited.wait_status, st);
	assert_int_equal(m.u.exited.pid, (uint32_t)qemu);
	assert_int_equal(s.n, 1); /* its channel process still runs */

	/* A reaped pid may be anyone's now: never signalled. */
	ask_kill(ctl, 4, "work", BH_PRIV_QEMU, SIGKILL);
	ask_kill(ctl, 5, "work", BH_PRIV_CHAN, SIGKILL);
	assert_int_equal(priv_serve_input(&s), 0);
	expect_done(ctl, 4, -ESRCH);
	expect_done(ctl, 5, 0);
	assert_int_equal(waitpid(chan, &st, 0), chan);
	assert_true(WIFSIGNALED(st));
	assert_int_equal(WTERMSIG(st), SIGKILL);
	assert_int_equal(priv_serve_reaped(&s, chan, st), 1);
	recv_one(ctl, &m);
	assert_int_equal(m.type, BH_PRIV_EXITED);
	assert_int_equal(m.u.exited.which, BH_PRIV_CHAN);
	assert_int_equal(m.u.exited.pid, (uint32_t)chan);
	assert_int_equal(s.n, 0);
	assert_int_equal(priv_serve_reaped(&s, chan, st), 0);
	ask_kill(ctl, 6, "work", BH_PRIV_CHAN, SIGKILL);
	assert_int_equal(priv_serve_input(&s), 0);
	expect_done(ctl, 6, -ESRCH);
	assert_nothing_waits(ctl);
	serve_close(&s, ctl);
	close(hold_qemu);
	close(hold_chan);
}

/* The table is bounded: a full one refuses a start before anything. */
static void test_serve_table_is_bounded(void **state)
{
	struct priv_serve s;
	struct bh_priv_msg m;
	int ctl;

	(void)state;
	serve_open(&s, &ctl);
	s.kids = calloc(PRIV_CHILDREN_MAX, sizeof(*s.kids));
	assert_non_null(s.kids);
	s.cap = s.n = PRIV_CHILDREN_MAX;
	/* Running qubes the parent started (no pidfds), so that none is
	 * swept away as ended. */
	for (size_t i = 0; i < PRIV_CHILDREN_MAX; i++) {
		snprintf(s.kids[i].name, sizeof(s.kids[i].name), "q%zu", i);
		s.kids[i].jail_id = 100 + (unsigned)i;
		s.kids[i].qemu = 1000000 + (pid_t)i;
		s.kids[i].chan = 2000000 + (pid_t)i;
		s.kids[i].qemu_pidfd = s.kids[i].chan_pidfd = -1;
	}
	good(BH_PRIV_LAUNCH, 11, &m);
	assert_int_equal(priv_msg_send(ctl, &m, NULL, 0), 0);
	assert_int_equal(priv_serve_input(&s), 0);
	expect_failed(ctl, 11, 1, "too many qubes");
	assert_int_equal(s.n, PRIV_CHILDREN_MAX);
	serve_close(&s, ctl);
}

/* What control must not send ends the link (-1), unanswered, with no
 * fd kept: an fd beside a LAUNCH that does not restore, a restore
 * without its fd, an fd beside a KILL or beside the parent's own types,
 * the parent's types themselves, garbage, an empty datagram. */
static void test_serve_bad_requests_end_the_link(void **state)
{
	struct priv_serve s;
	struct bh_priv_msg m;
	int ctl, p[2], q[2], two[2];
	int before = count_fds();

	(void)state;
	for (int c = 0; c < 9; c++) {
		serve_open(&s, &ctl);
		nb_pipe(p);
		nb_pipe(q);
		two[0] = p[1];
		two[1] = q[1];
		switch (c) {
		case 0: /* LAUNCH without RESTORE, one fd */
			good(BH_PRIV_LAUNCH, 1, &m);
			assert_int_equal(priv_msg_send(ctl, &m, two, 1), 0);
			break;
		case 1: /* RESTORE without its fd */
			good(BH_PRIV_LAUNCH, 1, &m);
			m.u.launch.flags = BH_PRIV_RESTORE;
			assert_int_equal(priv_msg_send(ctl, &m, NULL, 0), 0);
			break;
		case 2: /* RESTORE with two */
			good(BH_PRIV_LAUNCH, 1, &m);
			m.u.launch.flags = BH_PRIV_RESTORE;
			assert_int_equal(priv_msg_send(ctl, &m, two, 2), 0);
			break;
		case 3: /* KILL with an fd */
			send_good(ctl, BH_PRIV_KILL, 1, two, 1);
			break;
		case 4: /* the parent's own type */
			send_good(ctl, BH_PRIV_EXITED, 1, NULL, 0);
			break;
		case 5: /* and with fds */
			send_good(ctl, BH_PRIV_LAUNCHED, 1, two, 2);
			break;
		case 6:
			send_raw(ctl, "garbage", 7, two, 1);
			break;
		case 7:
			send_raw(ctl, "", 0, NULL, 0);
			break;
		case 8: /* a good KILL, then garbage: served, then ended */
			ask_kill(ctl, 1, "nobody", BH_PRIV_QEMU, SIGKILL);
			send_raw(ctl, "garbage", 7, NULL, 0);
			break;
		}
		close(p[1]);
		close(q[1]);
		if (priv_serve_input(&s) != -1)
			fail_msg("case %d: the link was not ended", c);
		if (c == 8)
			expect_done(ctl, 1, -ESRCH);
		assert_nothing_waits(ctl);
		assert_writer_gone(p[0]);
		assert_writer_gone(q[0]);
		close(p[0]);
		close(q[0]);
		serve_close(&s, ctl);
	}
	assert_int_equal(count_fds(), before);
}

/* Control closed its end: 1 (it is ending), nothing waiting: 0. */
static void test_serve_peer_closed(void **state)
{
	struct priv_serve s;
	int ctl;

	(void)state;
	serve_open(&s, &ctl);
	assert_int_equal(priv_serve_input(&s), 0);
	close(ctl);
	assert_int_equal(priv_serve_input(&s), 1);
	priv_serve_detach(&s);
	/* No link: a reaped qube is not told to anyone, and nothing
	 * fails. */
	assert_int_equal(priv_serve_input(&s), 1);
	assert_int_equal(priv_serve_reaped(&s, 12345, 0), 0);
}

/* Writes an empty file (and its folders) under the state folder. */
static void touch_state(const char *rest)
{
	char p[PATH_MAX], d[PATH_MAX];
	char *slash;
	int fd;

	assert_int_equal(bh_path_fmt(p, sizeof(p), "%s/%s", state_dir, rest),
			 0);
	strcpy(d, p);
	slash = strrchr(d, '/');
	assert_non_null(slash);
	*slash = '\0';
	assert_int_equal(bh_mkdir_p(d, 0755), 0);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	close(fd);
}

/* A LAUNCH for files that are not there: FAILED, naming each missing
 * one in turn as the others appear (the kernel, the initramfs, the root
 * image, the private volume's folder, the runtime folder), and no
 * entry in the table. QEMU is /bin/true: nothing gets that far. */
static void test_serve_launch_missing_files(void **state)
{
	struct priv_serve s;
	struct bh_priv_msg m;
	char want[PATH_MAX + 64];
	const char *old = getenv("BULKHEAD_QEMU");
	char *saved = old ? strdup(old) : NULL;
	int ctl, before = count_fds();
	uint32_t id = 0;

	(void)state;
	serve_open(&s, &ctl);
	assert_int_equal(setenv("BULKHEAD_QEMU", "/nonexistent/qemu", 1), 0);
	good(BH_PRIV_LAUNCH, ++id, &m);
	assert_int_equal(priv_msg_send(ctl, &m, NULL, 0), 0);
	assert_int_equal(priv_serve_input(&s), 0);
	expect_failed(ctl, id, BH_EXIT_SETUP, "QEMU not found");

	assert_int_equal(setenv("BULKHEAD_QEMU", "/bin/true", 1), 0);
	for (int step = 0; step < 5; step++) {
		switch (step) {
		case 0:
			snprintf(want, sizeof(want),
				 "guest kernel %s/kernels/6.1.0-1/vmlinuz",
				 state_dir);
			break;
		case 1:
			touch_state("kernels/6.1.0-1/vmlinuz");
			snprintf(want, sizeof(want),
				 "guest initramfs %s/kernels/6.1.0-1/"
				 "initramfs.img",
				 state_dir);
			break;
		case 2:
			touch_state("kernels/6.1.0-1/initramfs.img");
			snprintf(want, sizeof(want),
				 "root image %s/templates/tpl/root.img",
				 state_dir);
			break;
		case 3:
			touch_state("templates/tpl/root.img");
			snprintf(want, sizeof(want),
				 "private volume, %s/qubes/work, is missing",
				 state_dir);
			break;
		case 4:
			touch_state("qubes/work/private.img");
			snprintf(want, sizeof(want),
				 "runtime folder %s/qubes/work is missing",
				 run_dir);
			break;
		}
		good(BH_PRIV_LAUNCH, ++id, &m);
		assert_int_equal(priv_msg_send(ctl, &m, NULL, 0), 0);
		assert_int_equal(priv_serve_input(&s), 0);
		expect_failed(ctl, id, BH_EXIT_FAILURE, want);
		assert_int_equal(s.n, 0);
	}
	assert_nothing_waits(ctl);
	if (saved) {
		setenv("BULKHEAD_QEMU", saved, 1);
		free(saved);
	} else {
		unsetenv("BULKHEAD_QEMU");
	}
	serve_close(&s, ctl);
	assert_int_equal(count_fds(), before);
}

/* Makes (mkdir -p) RUN/rest. */
static void mkdir_run(const char *rest)
{
	char p[PATH_MAX];

	assert_int_equal(bh_path_fmt(p, sizeof(p), "%s/%s", run_dir, rest), 0);
	assert_int_equal(bh_mkdir_p(p, 0755), 0);
}

static void rm_run(const char *rest)
{
	char p[PATH_MAX];

	assert_int_equal(bh_path_fmt(p, sizeof(p), "%s/%s", run_dir, rest), 0);
	assert_int_equal(bh_rm_rf(p), 0);
}

static void send_attach(int ctl, uint32_t id, const char *name)
{
	struct bh_priv_msg m;

	good(BH_PRIV_ATTACH, id, &m);
	strcpy(m.u.attach.name, name);
	assert_int_equal(priv_msg_send(ctl, &m, NULL, 0), 0);
}

static void send_let_go(int ctl, uint32_t id, const char *name,
			uint32_t flags)
{
	struct bh_priv_msg m;

	good(BH_PRIV_LET_GO, id, &m);
	strcpy(m.u.let_go.name, name);
	m.u.let_go.flags = flags;
	assert_int_equal(priv_msg_send(ctl, &m, NULL, 0), 0);
}

/* ATTACH with no VM: a name with no runtime folder (none, or a symlink
 * to one: lstat, not stat) is FAILED "it has no runtime folder"; a
 * folder with no pid files is FAILED naming QEMU, whose is looked at
 * first. Nothing enters the table, no fd comes. */
static void test_serve_attach_without_a_qube(void **state)
{
	struct priv_serve s;
	char target[PATH_MAX], link[PATH_MAX];
	int ctl, before = count_fds();

	(void)state;
	serve_open(&s, &ctl);
	send_attach(ctl, 1, "work");
	assert_int_equal(priv_serve_input(&s), 0);
	expect_failed(ctl, 1, 1, "it has no runtime folder");

	/* RUN/qubes is there, the qube's folder is not. */
	mkdir_run("qubes");
	send_attach(ctl, 2, "work");
	assert_int_equal(priv_serve_input(&s), 0);
	expect_failed(ctl, 2, 1, "it has no runtime folder");

	/* A symlink to a folder is no runtime folder. */
	mkdir_run("elsewhere");
	assert_int_equal(bh_path_fmt(target, sizeof(target), "%s/elsewhere",
				     run_dir),
			 0);
	assert_int_equal(bh_path_fmt(link, sizeof(link), "%s/qubes/work",
				     run_dir),
			 0);
	assert_int_equal(symlink(target, link), 0);
	send_attach(ctl, 3, "work");
	assert_int_equal(priv_serve_input(&s), 0);
	expect_failed(ctl, 3, 1, "it has no runtime folder");
	assert_int_equal(unlink(link), 0);

	mkdir_run("qubes/work");
	send_attach(ctl, 4, "work");
	assert_int_equal(priv_serve_input(&s), 0);
	expect_failed(ctl, 4, 1, "QEMU");
	assert_int_equal(s.n, 0);
	assert_nothing_waits(ctl);
	rm_run("qubes");
	rm_run("elsewhere");
	serve_close(&s, ctl);
	assert_int_equal(count_fds(), before);
}

/* LET_GO with no VM: a missing folder (or a symlink) is DONE -ENOENT;
 * a folder with no pid files is DONE 0 (nothing runs to end), with and
 * without BH_PRIV_LET_GO_QEMU. */
static void test_serve_let_go_without_a_qube(void **state)
{
	struct priv_serve s;
	char target[PATH_MAX], link[PATH_MAX];
	int ctl, before = count_fds();

	(void)state;
	serve_open(&s, &ctl);
	send_let_go(ctl, 1, "work", BH_PRIV_LET_GO_QEMU);
	send_let_go(ctl, 2, "work", 0);
	assert_int_equal(priv_serve_input(&s), 0);
	expect_done(ctl, 1, -ENOENT);
	expect_done(ctl, 2, -ENOENT);

	mkdir_run("qubes/work");
	mkdir_run("elsewhere");
	assert_int_equal(bh_path_fmt(target, sizeof(target), "%s/elsewhere",
				     run_dir),
			 0);
	assert_int_equal(bh_path_fmt(link, sizeof(link), "%s/qubes/disp1",
				     run_dir),
			 0);
	assert_int_equal(symlink(target, link), 0);
	send_let_go(ctl, 3, "work", 0);
	send_let_go(ctl, 4, "work", BH_PRIV_LET_GO_QEMU);
	send_let_go(ctl, 5, "disp1", BH_PRIV_LET_GO_QEMU);
	assert_int_equal(priv_serve_input(&s), 0);
	expect_done(ctl, 3, 0);
	expect_done(ctl, 4, 0);
	expect_done(ctl, 5, -ENOENT);
	assert_int_equal(s.n, 0);
	assert_nothing_waits(ctl);
	rm_run("qubes");
	rm_run("elsewhere");
	serve_close(&s, ctl);
	assert_int_equal(count_fds(), before);
}

/* LEFTOVERS with no QEMU left: an empty RUN/qubes, or one whose qubes'
 * folders hold no pid file, is DONE 0 at once (the wait is for QEMUs
 * that run). */
static void test_serve_leftovers_without_a_qube(void **state)
{
	struct priv_serve s;
	struct bh_priv_msg m;
	int ctl, before = count_fds();
	int64_t t0;

	(void)state;
	serve_open(&s, &ctl);
	mkdir_run("qubes");
	good(BH_PRIV_LEFTOVERS, 1, &m);
	m.u.leftovers.timeout_ms = BH_PRIV_LEFTOVERS_MS_MAX;
	assert_int_equal(priv_msg_send(ctl, &m, NULL, 0), 0);
	t0 = bh_now_ms();
	assert_int_equal(priv_serve_input(&s), 0);
	expect_done(ctl, 1, 0);

	mkdir_run("qubes/work");
	mkdir_run("qubes/disp1");
	good(BH_PRIV_LEFTOVERS, 2, &m);
	m.u.leftovers.timeout_ms = BH_PRIV_LEFTOVERS_MS_MAX;
	assert_int_equal(priv_msg_send(ctl, &m, NULL, 0), 0);
	assert_int_equal(priv_serve_input(&s), 0);
	expect_done(ctl, 2, 0);
	assert_true(bh_now_ms() - t0 < 10000);
	assert_nothing_waits(ctl);
	rm_run("qubes");
	serve_close(&s, ctl);
	assert_int_equal(count_fds(), before);
}

int main(void)
{
	const struct CMUnitTest link_tests[] = {
		cmocka_unit_test(test_roundtrip_each_type_with_fds),
		cmocka_unit_test(test_recv_too_long),
		cmocka_unit_test(test_recv_short_or_garbage),
		cmocka_unit_test(test_recv_empty_datagram_is_not_the_end),
		cmocka_unit_test(test_recv_bad_datagram_closes_its_fds),
		cmocka_unit_test(test_recv_too_many_fds),
		cmocka_unit_test(test_recv_peer_closed),
		cmocka_unit_test(test_recv_nothing_waiting),
		cmocka_unit_test(test_launch_keeps_exited_and_done_in_order),
		cmocka_unit_test(test_launch_failed_gives_code_and_text),
		cmocka_unit_test(test_launch_launched_without_links),
		cmocka_unit_test(test_launch_takes_only_its_own_id),
		cmocka_unit_test(test_launch_parent_ends),
		cmocka_unit_test(test_launch_out_of_rule_is_refused_locally),
		cmocka_unit_test(test_kill_and_next),
		cmocka_unit_test(test_kept_queue_keeps_order),
		cmocka_unit_test(test_attach_takes_four_fds),
		cmocka_unit_test(test_attach_wrong_answers),
		cmocka_unit_test(test_attach_refused_locally),
		cmocka_unit_test(test_call_returns_done_and_keeps_the_rest),
	};
	const struct CMUnitTest serve_tests[] = {
		cmocka_unit_test(test_serve_kill_unknown_name),
		cmocka_unit_test(test_serve_kill_reaches_the_table),
		cmocka_unit_test(test_serve_table_is_bounded),
		cmocka_unit_test(test_serve_bad_requests_end_the_link),
		cmocka_unit_test(test_serve_peer_closed),
		cmocka_unit_test(test_serve_launch_missing_files),
		cmocka_unit_test(test_serve_attach_without_a_qube),
		cmocka_unit_test(test_serve_let_go_without_a_qube),
		cmocka_unit_test(test_serve_leftovers_without_a_qube),
	};
	int r;

	r = cmocka_run_group_tests(link_tests, NULL, NULL);
	r += cmocka_run_group_tests(serve_tests, serve_setup, serve_teardown);
	return r;
}

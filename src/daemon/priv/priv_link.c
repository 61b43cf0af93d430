/* The priv link's datagrams, and control's end of it (priv_link.h). */
#include "daemon/priv/priv_link.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/util.h"
#include "proto/exitcodes.h"

int priv_msg_send(int fd, const struct bh_priv_msg *m, const int *fds,
		  int nfds)
{
	uint8_t buf[BH_PRIV_MSG_MAX];
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(sizeof(int) * PRIV_FDS_MAX)];
	} ctl;
	struct iovec iov;
	struct msghdr mh;
	int n = bh_priv_encode(buf, m);
	ssize_t w;

	if (n < 0)
		return n;
	if (nfds < 0 || nfds > PRIV_FDS_MAX)
		return -EINVAL;
	iov = (struct iovec){ buf, (size_t)n };
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
	do
		w = sendmsg(fd, &mh, MSG_NOSIGNAL);
	while (w < 0 && errno == EINTR);
	if (w < 0)
		return -errno;
	return w == n ? 0 : -EIO;
}

/* recvmsg's 0 is either the peer's end or a datagram of no bytes (a
 * SOCK_SEQPACKET peer can send one); only the end leaves the socket
 * hung up. */
static int peer_gone(int fd)
{
	struct pollfd p = { fd, POLLIN | POLLRDHUP, 0 };
	int r;

	do
		r = poll(&p, 1, 0);
	while (r < 0 && errno == EINTR);
	return r == 1 && (p.revents & (POLLHUP | POLLRDHUP));
}

int priv_msg_recv(int fd, struct bh_priv_msg *m, int fds[PRIV_FDS_MAX],
		  int *nfds)
{
	/* One byte more than the largest message: a longer one is cut,
	 * and MSG_TRUNC says so. */
	uint8_t untrusted_buf[BH_PRIV_MSG_MAX + 1];
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(sizeof(int) * PRIV_FDS_MAX)];
	} ctl;
	struct iovec iov = { untrusted_buf, sizeof(untrusted_buf) };
	struct msghdr mh;
	struct cmsghdr *c;
	ssize_t n;
	int i, bad;

	*nfds = 0;
	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = ctl.b;
	mh.msg_controllen = sizeof(ctl.b);
	do
		n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK ? -EAGAIN
							       : -errno;
	/* Take every fd that came, whatever else is wrong, so that none
	 * stays open here unseen. */
	for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		size_t k;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS ||
		    c->cmsg_len < CMSG_LEN(0))
			continue;
		k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t j = 0; j < k; j++) {
			int got;

			memcpy(&got, CMSG_DATA(c) + j * sizeof(int),
			       sizeof(int));
			if (*nfds < PRIV_FDS_MAX)
				fds[(*nfds)++] = got;
			else
				close(got);
		}
	}
	/* An empty datagram is no message: it ends the link as garbage
	 * does, not as the peer's close (which the parent takes for a
	 * control that is ending and does not end it). */
	if (n == 0 && *nfds == 0 && peer_gone(fd))
		return 0;
	bad = (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) ||
	      bh_priv_parse(untrusted_buf, (size_t)n, m) < 0;
	if (bad) {
		for (i = 0; i < *nfds; i++)
			close(fds[i]);
		*nfds = 0;
		return -EPROTO;
	}
	return 1;
}

static int keep(struct priv_link *pl, const struct bh_priv_msg *m)
{
	if (pl->head + pl->n == pl->cap && pl->head) {
		/* Room at the front: move what is kept there. */
		memmove(pl->queue, pl->queue + pl->head, pl->n * sizeof(*m));
		pl->head = 0;
	} else if (pl->n == pl->cap) {
		size_t cap = pl->cap ? pl->cap * 2 : 8;
		struct bh_priv_msg *q = realloc(pl->queue, cap * sizeof(*q));

		if (!q)
			return -ENOMEM;
		pl->queue = q;
		pl->cap = cap;
	}
	pl->queue[pl->head + pl->n++] = *m;
	return 0;
}

static void close_fds(int *fds, int n)
{
	for (int i = 0; i < n; i++)
		close(fds[i]);
}

/* Waits for the answer to request id: LAUNCHED or JOB_STARTED with its
 * fds, or FAILED. Anything else is kept for the loop. */
static int wait_answer_for(struct priv_link *pl, uint32_t id, int done_too,
			   int timeout_ms, struct bh_priv_msg *ans,
			   int fds[PRIV_FDS_MAX], int *nfds, char *err,
			   size_t cap);

static int wait_answer(struct priv_link *pl, uint32_t id,
		       struct bh_priv_msg *ans, int fds[PRIV_FDS_MAX],
		       int *nfds, char *err, size_t cap)
{
	return wait_answer_for(pl, id, 0, PRIV_LAUNCH_REPLY_MS, ans, fds,
			       nfds, err, cap);
}

/* As wait_answer; with done_too, a DONE with the id is the answer too
 * (a request whose only answer is DONE, that control waits for). */
static int wait_answer_for(struct priv_link *pl, uint32_t id, int done_too,
			   int timeout_ms, struct bh_priv_msg *ans,
			   int fds[PRIV_FDS_MAX], int *nfds, char *err,
			   size_t cap)
{
	int64_t deadline = bh_now_ms() + timeout_ms;

	for (;;) {
		struct pollfd p = { pl->fd, POLLIN, 0 };
		int64_t left = deadline - bh_now_ms();
		int r;

		if (left <= 0) {
			snprintf(err, cap, "bulkheadd's parent did not answer "
					   "within %d s",
				 timeout_ms / 1000);
			return -ETIMEDOUT;
		}
		if (poll(&p, 1, (int)left) < 0 && errno != EINTR)
			return -errno;
		r = priv_msg_recv(pl->fd, ans, fds, nfds);
		if (r == -EAGAIN)
			continue;
		if (r <= 0) {
			snprintf(err, cap, "the link to bulkheadd's parent %s",
				 r == 0 ? "ended" : "broke");
			return -EPIPE;
		}
		if ((ans->type == BH_PRIV_LAUNCHED ||
		     ans->type == BH_PRIV_JOB_STARTED ||
		     ans->type == BH_PRIV_ROOT_NEXT ||
		     ans->type == BH_PRIV_ATTACHED ||
		     ans->type == BH_PRIV_FAILED ||
		     (done_too && ans->type == BH_PRIV_DONE)) &&
		    ans->id == id)
			return 0;
		close_fds(fds, *nfds);
		*nfds = 0;
		if ((ans->type == BH_PRIV_EXITED || ans->type == BH_PRIV_DONE) &&
		    keep(pl, ans) < 0) {
			snprintf(err, cap, "out of memory");
			return -ENOMEM;
		}
	}
}

int priv_link_launch(struct priv_link *pl, const struct bh_priv_launch *l,
		     int restore_fd, struct priv_started *out, char *err,
		     size_t cap)
{
	struct bh_priv_msg m, ans;
	int fds[PRIV_FDS_MAX], nfds = 0, r;

	memset(out, 0, sizeof(*out));
	out->link_fd = out->qmp_fd = -1;
	if (pl->fd < 0) {
		snprintf(err, cap, "no link to bulkheadd's parent");
		return BH_EXIT_FAILURE;
	}
	/* The parent ends the link over a restore without its fd. */
	if ((l->flags & BH_PRIV_RESTORE) && restore_fd < 0) {
		snprintf(err, cap, "the start restores a snapshot but has no "
				   "state to restore from");
		return BH_EXIT_FAILURE;
	}
	memset(&m, 0, sizeof(m));
	m.type = BH_PRIV_LAUNCH;
	m.id = ++pl->next_id;
	m.u.launch = *l;
	if (restore_fd >= 0)
		m.u.launch.flags |= BH_PRIV_RESTORE;
	r = priv_msg_send(pl->fd, &m, &restore_fd, restore_fd >= 0 ? 1 : 0);
	if (r == -EINVAL) {
		snprintf(err, cap, "the start's settings are out of range "
				   "(a name, the kernel options, memory or "
				   "vCPUs)");
		return BH_EXIT_FAILURE;
	}
	if (r < 0) {
		snprintf(err, cap, "cannot ask bulkheadd's parent to start "
				   "the qube: %s",
			 strerror(-r));
		return BH_EXIT_FAILURE;
	}
	r = wait_answer(pl, m.id, &ans, fds, &nfds, err, cap);
	if (r < 0)
		return BH_EXIT_FAILURE;
	if (ans.type == BH_PRIV_FAILED) {
		close_fds(fds, nfds);
		snprintf(err, cap, "%s", ans.u.failed.text);
		return ans.u.failed.code;
	}
	if (ans.type != BH_PRIV_LAUNCHED || nfds != 2) {
		close_fds(fds, nfds);
		snprintf(err, cap, "bulkheadd's parent started the qube but "
				   "sent no links to it");
		return BH_EXIT_FAILURE;
	}
	out->qemu = (pid_t)ans.u.launched.qemu_pid;
	out->chan = (pid_t)ans.u.launched.chan_pid;
	out->link_fd = fds[0];
	out->qmp_fd = fds[1];
	bh_set_nonblock(out->link_fd, 1);
	bh_set_nonblock(out->qmp_fd, 1);
	return 0;
}

/* Sends m (no fd beside it) and waits for its answer: want with
 * exactly nwant fds (into fds), or FAILED (its text into err). what
 * names the request in the message when it cannot be sent. Returns 0;
 * or -errno with err said (-EPROTO: refused, or answered wrongly, its
 * fds closed). */
static int ask(struct priv_link *pl, struct bh_priv_msg *m, uint32_t want,
	       int nwant, struct bh_priv_msg *ans, int fds[PRIV_FDS_MAX],
	       const char *what, char *err, size_t cap)
{
	int nfds = 0, r;

	if (pl->fd < 0) {
		snprintf(err, cap, "no link to bulkheadd's parent");
		return -ENOTCONN;
	}
	m->id = ++pl->next_id;
	r = priv_msg_send(pl->fd, m, NULL, 0);
	if (r < 0) {
		snprintf(err, cap, "cannot ask bulkheadd's parent %s: %s", what,
			 r == -EINVAL ? "a name or number out of range"
				      : strerror(-r));
		return r;
	}
	r = wait_answer(pl, m->id, ans, fds, &nfds, err, cap);
	if (r < 0)
		return r;
	if (ans->type == want && nfds == nwant)
		return 0;
	close_fds(fds, nfds);
	if (ans->type == BH_PRIV_FAILED)
		snprintf(err, cap, "%s", ans->u.failed.text);
	else
		snprintf(err, cap, "bulkheadd's parent answered wrongly");
	return -EPROTO;
}

pid_t priv_link_job(struct priv_link *pl, const struct bh_priv_job *j,
		    int *read_fd, char *err, size_t cap)
{
	struct bh_priv_msg m, ans;
	int fds[PRIV_FDS_MAX], r;

	*read_fd = -1;
	memset(&m, 0, sizeof(m));
	m.type = BH_PRIV_JOB;
	m.u.job = *j;
	r = ask(pl, &m, BH_PRIV_JOB_STARTED, 1, &ans, fds, "for the job", err,
		cap);
	if (r < 0)
		return r;
	*read_fd = fds[0];
	bh_set_nonblock(*read_fd, 1);
	return (pid_t)ans.u.job_started.pid;
}

int priv_link_root_next(struct priv_link *pl, const char *tmpl,
			char cur[BH_PRIV_FILE_MAX],
			char work[BH_PRIV_FILE_MAX], char *err, size_t cap)
{
	struct bh_priv_msg m, ans;
	int fds[PRIV_FDS_MAX], r;

	memset(&m, 0, sizeof(m));
	m.type = BH_PRIV_ROOT;
	m.u.root.op = BH_PRIV_ROOT_OP_NEXT;
	bh_priv_field_set(m.u.root.tmpl, BH_PRIV_NAME_MAX, tmpl);
	r = ask(pl, &m, BH_PRIV_ROOT_NEXT, 0, &ans, fds,
		"for the template's next root version", err, cap);
	if (r < 0)
		return r;
	memcpy(cur, ans.u.root_next.cur, BH_PRIV_FILE_MAX);
	memcpy(work, ans.u.root_next.work, BH_PRIV_FILE_MAX);
	return 0;
}

int priv_link_attach(struct priv_link *pl, const char *name,
		     struct priv_attached *out, char *err, size_t cap)
{
	struct bh_priv_msg m, ans;
	int fds[PRIV_FDS_MAX], r;

	memset(out, 0, sizeof(*out));
	out->link_fd = out->qmp_fd = out->qemu_pidfd = out->chan_pidfd = -1;
	memset(&m, 0, sizeof(m));
	m.type = BH_PRIV_ATTACH;
	bh_priv_field_set(m.u.attach.name, BH_PRIV_NAME_MAX, name);
	r = ask(pl, &m, BH_PRIV_ATTACHED, 4, &ans, fds, "to re-attach it",
		err, cap);
	if (r == -EINVAL)
		snprintf(err, cap, "not a qube name: %.64s", name);
	if (r < 0)
		return r;
	out->qemu = (pid_t)ans.u.attached.qemu_pid;
	out->chan = (pid_t)ans.u.attached.chan_pid;
	out->link_fd = fds[0];
	out->qmp_fd = fds[1];
	out->qemu_pidfd = fds[2];
	out->chan_pidfd = fds[3];
	bh_set_nonblock(out->link_fd, 1);
	bh_set_nonblock(out->qmp_fd, 1);
	return 0;
}

int priv_link_call(struct priv_link *pl, struct bh_priv_msg *req,
		   int timeout_ms)
{
	struct bh_priv_msg ans;
	int fds[PRIV_FDS_MAX], nfds = 0, r;
	char err[256];

	if (pl->fd < 0)
		return -ENOTCONN;
	req->id = ++pl->next_id;
	r = priv_msg_send(pl->fd, req, NULL, 0);
	if (r < 0)
		return r;
	r = wait_answer_for(pl, req->id, 1, timeout_ms, &ans, fds, &nfds, err,
			    sizeof(err));
	if (r < 0)
		return r;
	close_fds(fds, nfds);
	return ans.type == BH_PRIV_DONE ? ans.u.done.result : -EPROTO;
}

int priv_link_root(struct priv_link *pl, uint32_t op, const char *tmpl,
		   const char *work)
{
	struct bh_priv_msg m;

	memset(&m, 0, sizeof(m));
	m.type = BH_PRIV_ROOT;
	m.u.root.op = op;
	bh_priv_field_set(m.u.root.tmpl, BH_PRIV_NAME_MAX, tmpl);
	bh_priv_field_set(m.u.root.work, BH_PRIV_FILE_MAX, work);
	return priv_link_call(pl, &m, PRIV_LAUNCH_REPLY_MS);
}

int priv_link_cancel(struct priv_link *pl, pid_t pid)
{
	struct bh_priv_msg m;

	if (pl->fd < 0)
		return -ENOTCONN;
	memset(&m, 0, sizeof(m));
	m.type = BH_PRIV_CANCEL;
	m.id = ++pl->next_id;
	m.u.cancel.pid = (uint32_t)pid;
	return priv_msg_send(pl->fd, &m, NULL, 0);
}

int priv_link_kill(struct priv_link *pl, const char *name, uint32_t which,
		   int signo)
{
	struct bh_priv_msg m;

	if (pl->fd < 0)
		return -ENOTCONN;
	memset(&m, 0, sizeof(m));
	m.type = BH_PRIV_KILL;
	m.id = ++pl->next_id;
	bh_priv_field_set(m.u.kill.name, BH_PRIV_NAME_MAX, name);
	m.u.kill.which = which;
	m.u.kill.signo = (uint32_t)signo;
	return priv_msg_send(pl->fd, &m, NULL, 0);
}

int priv_link_pending(const struct priv_link *pl)
{
	return pl->n > 0;
}

int priv_link_next(struct priv_link *pl, struct bh_priv_msg *m)
{
	int fds[PRIV_FDS_MAX], nfds, r;

	if (pl->n) {
		*m = pl->queue[pl->head++];
		if (--pl->n == 0)
			pl->head = 0;
		return 1;
	}
	if (pl->fd < 0)
		return 0;
	for (;;) {
		r = priv_msg_recv(pl->fd, m, fds, &nfds);
		if (r == -EAGAIN)
			return 0;
		if (r <= 0)
			return -EPIPE;
		close_fds(fds, nfds);
		/* Only these come unasked; a stray answer is dropped. */
		if (m->type == BH_PRIV_EXITED || m->type == BH_PRIV_DONE)
			return 1;
	}
}

void priv_link_free(struct priv_link *pl)
{
	free(pl->queue);
	pl->queue = NULL;
	pl->head = pl->n = pl->cap = 0;
	if (pl->fd >= 0)
		close(pl->fd);
	pl->fd = -1;
}

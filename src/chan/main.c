/* bulkhead-chan: one per running qube (docs/architecture.md, "chan").
 *
 * bulkheadd starts it beside the qube's QEMU with the fds below already
 * open, and it confines itself before it reads a byte: an empty root in
 * a mount namespace of its own, a uid of its own (not the QEMU's), no
 * capabilities, no_new_privs, and a seccomp allow-list (sandbox.h).
 * From then on it can open nothing: it relays the qube's control
 * channel to the daemon (relay.h), checking every frame, parses QEMU's
 * QMP for it (qmp_filter.h), and keeps the qube's console and QEMU's
 * output in their capped logs. A qube that
 * breaks the parser here reaches this process, and with it nothing of
 * any other qube.
 *
 * Usage (by bulkheadd only): bulkhead-chan NAME UID EMPTY_ROOT, with
 *   fd 3 the qube's control channel, fd 4 the link to bulkheadd,
 *   fd 5 the serial console, fd 6 QEMU's stdout and stderr (a pipe),
 *   fds 7, 8 console.log and console.log.old, 9, 10 qemu.log and
 *   qemu.log.old (open for writing), fd 11 QEMU's QMP, fd 12 the QMP
 *   link to bulkheadd (qmp_filter.h), fd 13 the listening socket a
 *   next daemon re-attaches through (proto/chan_attach.h, attach.h).
 *
 * It outlives the daemon: when either link to it closes (the daemon died,
 * or left its qubes running on purpose), it detaches: both links are
 * closed and what was queued on them dropped, the qube is no longer read
 * (its frames wait in the channel and its agent is held back by credit),
 * what was queued for the qube still goes, QEMU's QMP is still parsed
 * (its records dropped) and the logs still written; it then waits on
 * fd 13 until a daemon of the uid that started it hands it two new links
 * (attach.h), and carries on from there. Only a process that may have
 * known nothing else is re-attached: fd 13 must be that listening socket
 * (a SOCK_SEQPACKET Unix socket); given anything else, it ends with its
 * link as before re-attaching was built.
 * It ends when QEMU has closed everything (after handing on what was
 * left, when a daemon is there), or once the qube broke the channel
 * protocol and BROKEN was handed on or dropped with a closed link. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "chan/attach.h"
#include "chan/qmp_filter.h"
#include "chan/relay.h"
#include "daemon/engine/console_log.h"
#include "daemon/engine/sandbox.h"
#include "lib/crashpoint.h"

enum {
	FD_GUEST = 3,
	FD_LINK,
	FD_CONSOLE,
	FD_QEMU_OUT,
	FD_CONSOLE_LOG,
	FD_CONSOLE_OLD,
	FD_QEMU_LOG,
	FD_QEMU_OLD,
	FD_QMP,
	FD_QMP_LINK,
	FD_ATTACH,
	FD_COUNT_END
};

static const char *qube = "?";

__attribute__((format(printf, 1, 2))) static void say(const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	fprintf(stderr, "bulkhead-chan %s: %s\n", qube, line);
}

static int parse_uid(const char *s, uid_t *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v == 0 || v > 0x7fffffffUL)
		return -1;
	*out = (uid_t)v;
	return 0;
}

static void say_line(const char *line)
{
	say("%s", line);
}

/* Whether fd 13 is what a re-attach needs: a listening Unix seqpacket
 * socket. */
static int attach_socket_ok(void)
{
	return chan_sock_opt(FD_ATTACH, SO_DOMAIN) == AF_UNIX &&
	       chan_sock_opt(FD_ATTACH, SO_TYPE) == SOCK_SEQPACKET &&
	       chan_sock_opt(FD_ATTACH, SO_ACCEPTCONN) == 1;
}

/* Every fd it is meant to have is open; the qube's, the links and the
 * attach socket (when it is one) are non-blocking. */
static int check_fds(int can_attach)
{
	int fd;

	for (fd = FD_GUEST; fd < FD_COUNT_END; fd++)
		if (fcntl(fd, F_GETFD) < 0)
			return -1;
	for (fd = FD_GUEST; fd < FD_COUNT_END; fd++) {
		int fl = fcntl(fd, F_GETFL);

		if (fd >= FD_CONSOLE_LOG && fd <= FD_QEMU_OLD)
			continue; /* files */
		if (fd == FD_ATTACH && !can_attach)
			continue; /* not ours to change */
		if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
			return -1;
	}
	return 0;
}

static int confine(uid_t uid, const char *empty_root)
{
	struct bh_sandbox sb = {
		.uid = uid,
		.gid = uid,
		.empty_root = empty_root,
		.filter = BH_SANDBOX_ALLOW_LIST,
		.calls = bh_sandbox_chan_calls,
		.ncalls = bh_sandbox_chan_ncalls,
	};
	char err[512];

	if (bh_sandbox_enter(&sb, err, sizeof(err)) < 0) {
		say("cannot confine itself: %s", err);
		return -1;
	}
	return 0;
}

/* What a test may ask the confined process to try, to show by trying
 * that it cannot reach another qube (tests/hostile, "chan_cannot"):
 * BULKHEAD_TEST_CHAN_TRY=open:PATH opens a file (another qube's image,
 * the store), connect:PATH connects to a Unix socket (the admin socket,
 * another qube's channel). Read from the environment bulkheadd was
 * started with, which only root sets; the qube has no say in it. The
 * allow-list has neither open nor socket, so the process is killed
 * (SIGSYS) and its qube with it; a try that works says so in the log. */
static void test_try(const char *what)
{
	int fd = -1;

	if (!what || !*what)
		return;
	if (!strncmp(what, "open:", 5)) {
		fd = open(what + 5, O_RDONLY);
	} else if (!strncmp(what, "connect:", 8)) {
		struct sockaddr_un a = { .sun_family = AF_UNIX };

		snprintf(a.sun_path, sizeof(a.sun_path), "%s", what + 8);
		fd = socket(AF_UNIX, SOCK_STREAM, 0);
		if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
			close(fd);
			fd = -1;
		}
	}
	say("test try %s: %s", what, fd >= 0 ? "it worked" : strerror(errno));
}

struct logs {
	struct console_log console, qemu;
	int console_eof, qemu_eof;
};

static void pump(struct console_log *l, int fd, int *eof)
{
	long n = console_log_pump(l, fd);

	if (n == 0 || (n < 0 && n != -EAGAIN))
		*eof = 1;
}

/* Hands on what is queued for the daemon before the process ends (the
 * daemon reads while it waits for this process to end). */
static void flush_link(struct chan_relay *r)
{
	int fl;

	if (!r->attached)
		return;
	fl = fcntl(r->link.fd, F_GETFL);
	if (fl >= 0 && fcntl(r->link.fd, F_SETFL, fl & ~O_NONBLOCK) == 0)
		bh_chan_flush_all(&r->link);
}

struct chan_proc {
	struct chan_relay *r;
	struct logs *lg;
	struct qmp_filter *qf;
	struct chan_attach *at; /* NULL: no re-attach (fd 13 is none) */
};

static void detach(struct chan_proc *c)
{
	chan_relay_detach(c->r);
	qmp_filter_detach(c->qf);
	say("the daemon's link closed: detached, waiting for the next "
	    "daemon");
	bh_crash_point("chan.detached"); /* tests/crash */
}

static void attach(struct chan_proc *c, int link_fd, int qmp_fd)
{
	if (chan_relay_attach(c->r, link_fd) < 0) {
		/* Closed by chan_relay_attach; the QMP link goes too, and
		 * the process waits on. */
		close(qmp_fd);
		say("re-attach failed: cannot queue the first frame");
		return;
	}
	qmp_filter_attach(c->qf, qmp_fd);
	say("re-attached to a daemon");
	bh_crash_point("chan.attached"); /* tests/crash */
}

/* Where each fd of one round sits in the poll set (-1: not polled). */
struct slots {
	int gi, li, ci, qi, mi, ki, ai;
	size_t na; /* how many fds of the attach socket's, from ai */
	int timeout;
};

/* Whether the process is done before a round: 1 to end with status 0,
 * 0 to go on (detaching first when the daemon's links have closed). */
static int finished(struct chan_proc *c)
{
	struct chan_relay *r = c->r;

	if (!c->at && r->link_eof)
		return 1; /* the daemon is gone, and none comes back */
	if (c->at && r->attached && (r->link_eof || c->qf->link_eof))
		detach(c);
	if (r->broken && !bh_chan_pending(&r->link)) {
		/* BROKEN is with the daemon, which stops the qube (or was
		 * dropped with its link: nothing waits for a qube that
		 * broke the protocol). */
		say("the qube broke the channel protocol");
		return 1;
	}
	if ((r->guest_eof || r->broken) && c->lg->console_eof &&
	    c->lg->qemu_eof) {
		flush_link(r);
		return 1;
	}
	return 0;
}

static int add(struct pollfd *p, nfds_t *n, int fd, short events)
{
	p[*n] = (struct pollfd){ .fd = fd, .events = events };
	return (int)(*n)++;
}

/* The round's poll set: the qube's channel, the link, the logs, QMP
 * both ways, and the attach socket while detached. */
static nfds_t build_poll(struct chan_proc *c, struct pollfd *p,
			 struct slots *sl)
{
	struct chan_relay *r = c->r;
	struct qmp_filter *qf = c->qf;
	short ev = 0;
	nfds_t n = 0;

	*sl = (struct slots){ -1, -1, -1, -1, -1, -1, -1, 0, -1 };
	if (chan_relay_guest_readable(r))
		ev |= POLLIN;
	if (!r->guest_eof && bh_chan_pending(&r->guest))
		ev |= POLLOUT;
	/* Detached, the qube is not read but its end is watched (POLLHUP
	 * comes without asking): QEMU may end meanwhile. */
	if (ev || (!r->attached && !r->guest_eof))
		sl->gi = add(p, &n, r->guest.fd, ev);
	if (r->attached)
		sl->li = add(p, &n, r->link.fd,
			     (chan_relay_link_readable(r) ? POLLIN : 0) |
				     (bh_chan_pending(&r->link) ? POLLOUT
								: 0));
	if (!c->lg->console_eof)
		sl->ci = add(p, &n, FD_CONSOLE, POLLIN);
	if (!c->lg->qemu_eof)
		sl->qi = add(p, &n, FD_QEMU_OUT, POLLIN);
	if (qmp_filter_qemu_readable(qf))
		sl->mi = add(p, &n, qf->qemu_fd, POLLIN);
	if (qf->link_fd >= 0 && !qf->link_eof)
		sl->ki = add(p, &n, qf->link_fd,
			     POLLIN | (qf->have_pending ? POLLOUT : 0));
	if (!r->attached) {
		sl->ai = (int)n;
		sl->na = chan_attach_poll_fds(c->at, p + n, &sl->timeout);
		n += sl->na;
	}
	return n;
}

/* What the round's poll found, side by side. -1: the process cannot
 * go on (an error of ours). */
static int dispatch(struct chan_proc *c, const struct pollfd *p,
		    const struct slots *sl)
{
	struct chan_relay *r = c->r;
	struct qmp_filter *qf = c->qf;
	int gi = sl->gi, li = sl->li, link_fd, qmp_fd;

	if (gi >= 0 && !r->attached && !(p[gi].events & POLLIN) &&
	    (p[gi].revents & (POLLHUP | POLLERR)))
		r->guest_eof = 1; /* QEMU closed it: the qube is gone */
	if (gi >= 0 && (p[gi].revents & (POLLIN | POLLHUP | POLLERR)) &&
	    chan_relay_guest_readable(r) && chan_relay_guest_input(r) < 0)
		return -1;
	if (gi >= 0 && !r->guest_eof && (p[gi].revents & POLLOUT) &&
	    bh_chan_flush(&r->guest) < 0)
		r->guest_eof = 1;
	if (li >= 0 && (p[li].revents & (POLLIN | POLLHUP | POLLERR)) &&
	    chan_relay_link_readable(r)) {
		if (chan_relay_link_input(r) < 0)
			return -1;
	} else if (li >= 0 && (p[li].revents & (POLLHUP | POLLERR))) {
		r->link_eof = 1; /* the daemon is gone */
	}
	if (li >= 0 && !r->link_eof &&
	    (p[li].revents & (POLLOUT | POLLERR | POLLHUP)) &&
	    bh_chan_flush(&r->link) < 0)
		r->link_eof = 1; /* the daemon is gone */
	if (sl->ci >= 0 && p[sl->ci].revents)
		pump(&c->lg->console, FD_CONSOLE, &c->lg->console_eof);
	if (sl->qi >= 0 && p[sl->qi].revents)
		pump(&c->lg->qemu, FD_QEMU_OUT, &c->lg->qemu_eof);
	if (sl->mi >= 0 && p[sl->mi].revents)
		qmp_filter_qemu_input(qf);
	if (sl->ki >= 0 && (p[sl->ki].revents & POLLOUT))
		qmp_filter_link_output(qf);
	if (sl->ki >= 0 && (p[sl->ki].revents & (POLLIN | POLLHUP | POLLERR)))
		qmp_filter_link_input(qf);
	if (sl->ai >= 0 &&
	    chan_attach_events(c->at, p + sl->ai, sl->na, &link_fd, &qmp_fd))
		attach(c, link_fd, qmp_fd);
	if (r->guest_eof)
		r->guest.out_off = r->guest.out_len = 0;
	return 0;
}

static int run(struct chan_proc *c)
{
	struct pollfd p[6 + CHAN_ATTACH_POLL_MAX];
	struct slots sl;

	for (;;) {
		nfds_t n;

		if (finished(c))
			return 0;
		n = build_poll(c, p, &sl);
		if (poll(p, n, sl.timeout) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (dispatch(c, p, &sl) < 0)
			return -1;
	}
}

int main(int argc, char **argv)
{
	static struct chan_relay r;
	static struct qmp_filter qf;
	static struct chan_attach at;
	struct logs lg = { 0 };
	struct chan_proc c = { .r = &r, .lg = &lg, .qf = &qf };
	const char *try;
	uid_t uid, starter;
	int rc, can_attach;

	if (argc != 4 || parse_uid(argv[2], &uid) < 0) {
		fprintf(stderr, "bulkhead-chan is started by bulkheadd, with "
				"its fds open: not to be run by hand\n");
		return 2;
	}
	qube = argv[1];
	/* Reads BULKHEAD_CRASH_AT (tests/crash) while the environment is
	 * at hand; a no-op otherwise. */
	bh_crash_point("chan.start");
	can_attach = attach_socket_ok();
	if (check_fds(can_attach) < 0) {
		say("started without its fds");
		return 2;
	}
	if (!can_attach)
		say("fd 13 is no listening seqpacket socket: this process "
		    "ends with its link (no re-attach)");
	/* Who may re-attach: the uid that started it (root's daemon),
	 * known only before it takes a uid of its own. */
	starter = getuid();
	/* A closed peer is an error to see, not a signal that kills. */
	signal(SIGPIPE, SIG_IGN);
	try = getenv("BULKHEAD_TEST_CHAN_TRY");
	/* jansson seeds its hash tables from /dev/urandom at first use: done
	 * now, while the process may still open a file. */
	json_object_seed(0);
	if (confine(uid, argv[3]) < 0)
		return 3;
	bh_crash_point("chan.confined");
	test_try(try);
	chan_relay_init(&r, FD_GUEST, FD_LINK);
	console_log_from_fds(&lg.console, FD_CONSOLE_LOG, FD_CONSOLE_OLD);
	console_log_from_fds(&lg.qemu, FD_QEMU_LOG, FD_QEMU_OLD);
	qmp_filter_init(&qf, FD_QMP, FD_QMP_LINK);
	if (can_attach) {
		chan_attach_init(&at, FD_ATTACH, starter, say_line);
		c.at = &at;
	}
	rc = run(&c);
	if (rc < 0)
		say("relay failed: %s", strerror(errno));
	return rc < 0 ? 1 : 0;
}

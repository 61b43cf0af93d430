/* The real bulkhead-chan outliving its daemon and re-attached to the next
 * one (proto/chan_attach.h). The test plays the daemon (its two links),
 * the qube's agent (the other end of the control channel) and QEMU (QMP,
 * console, output): the process is started with chan_proc_spawn as the
 * daemon starts it, with a listening socket of chan_attach_listen, and
 * confines itself (so this needs root; skipped otherwise).
 *
 * It checks that with the daemon's links closed the process lives on,
 * reads nothing of the qube (its frame stays in the socket), keeps the
 * console log; refuses wrong requests (magic, one fd, wrong types, a
 * peer of another uid) and outwaits a silent one, each time waiting on;
 * and that chan_attach_connect then gets BH_MSG_CHAN_ATTACH first (the
 * agent's last HELLO, the streams open with their flags), QMP's READY
 * (and nothing QEMU said meanwhile), the held frame, and a working link
 * both ways; then that either link's close detaches again, and that the
 * process ends when QEMU closes everything while detached. And that its
 * crash points chan.detached and chan.attached are where they say.
 *
 * bulkhead-chan is BULKHEAD_CHAN, else build/bulkhead-chan beside this
 * test's folder (make builds it before the unit tests). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "daemon/engine/chan_proc.h"
#include "daemon/engine/jail.h"
#include "lib/util.h"
#include "proto/chan_attach.h"
#include "proto/frame.h"
#include "proto/msg_qmp.h"

#include "unit_frame.h"

#define GBIT BH_STREAM_GUEST_BIT

struct fake {
	pid_t pid;
	char dir[48], root[64], sock[80], console_log[80];
	/* The qube's end of its channel, and a copy of the process's end
	 * (to see what it has not read). */
	int guest, guest_chan;
	int console, qemu_out, qmp; /* QEMU's ends */
	int link, qmpl;		    /* the daemon's */
};

static struct fake F = { .pid = -1 };

static int find_chan(char *out, size_t cap)
{
	const char *env = getenv("BULKHEAD_CHAN");
	char self[PATH_MAX], *slash;
	ssize_t n;

	if (env && *env) {
		snprintf(out, cap, "%s", env);
		return access(out, X_OK);
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0)
		return -1;
	self[n] = 0;
	slash = strrchr(self, '/');
	if (!slash)
		return -1;
	*slash = 0;
	if (bh_path_fmt(out, cap, "%s/../bulkhead-chan", self))
		return -1;
	return access(out, X_OK);
}

/* What each test that starts the real process needs first: root (the
 * process confines itself), and the program. 0 when the test is skipped
 * (said). */
static int ready_to_start(char *exe, size_t cap)
{
	if (geteuid() != 0) {
		print_message("skipped: bulkhead-chan confines itself: root "
			      "only\n");
		skip();
		return 0;
	}
	if (find_chan(exe, cap) < 0)
		fail_msg("no bulkhead-chan (make all, or BULKHEAD_CHAN)");
	signal(SIGPIPE, SIG_IGN);
	return 1;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static void wait_in(int fd, int ms)
{
	struct pollfd pf = { .fd = fd, .events = POLLIN };

	if (poll(&pf, 1, ms) != 1)
		fail_msg("nothing to read on fd %d within %d ms", fd, ms);
}

static void read_all(int fd, void *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n;

		wait_in(fd, 5000);
		n = read(fd, (uint8_t *)buf + got, len - got);
		if (n < 0 && errno == EAGAIN)
			continue;
		if (n <= 0)
			fail_msg("read: %s", n ? strerror(errno) : "end of file");
		got += (size_t)n;
	}
}

static void read_frame(int fd, struct bh_frame_hdr *h, uint8_t *p, size_t cap)
{
	uint8_t hb[BH_FRAME_HDR_LEN];

	read_all(fd, hb, sizeof(hb));
	assert_int_equal(bh_frame_hdr_decode(hb, h), 0);
	assert_true(h->len <= cap);
	read_all(fd, p, h->len);
}

static void expect_frame(int fd, uint32_t type, uint32_t stream)
{
	static uint8_t p[BH_FRAME_MAX_PAYLOAD];
	struct bh_frame_hdr h;

	read_frame(fd, &h, p, sizeof(p));
	if (h.type != type || h.stream != stream)
		fail_msg("frame %u on stream %#x, not %u on %#x", h.type,
			 h.stream, type, stream);
}

static void expect_record(int fd, uint32_t kind)
{
	uint8_t b[BH_QMP_REC_LEN + 1];
	struct bh_qmp_rec rec;
	ssize_t n;

	wait_in(fd, 5000);
	n = read(fd, b, sizeof(b));
	assert_int_equal(n, BH_QMP_REC_LEN);
	assert_int_equal(bh_qmp_rec_parse(b, (size_t)n, &rec), 0);
	if (rec.kind != kind)
		fail_msg("QMP record %u (%s), not %u", rec.kind, rec.name,
			 kind);
}

/* Nothing arrives on fd within ms. */
static void expect_quiet(int fd, int ms)
{
	struct pollfd pf = { .fd = fd, .events = POLLIN };

	assert_int_equal(poll(&pf, 1, ms), 0);
}

static int alive(void)
{
	return waitpid(F.pid, NULL, WNOHANG) == 0;
}

static int fd_open_in_chan(int fd)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/fd/%d", (int)F.pid, fd);
	return access(path, F_OK) == 0;
}

/* The process's wait status once it has ended (within 5 s: polled, no
 * timing asserted); it is reaped, F.pid is -1. */
static int reap_within_5s(void)
{
	int i, st = 0;

	for (i = 0; i < 500 && waitpid(F.pid, &st, WNOHANG) == 0; i++)
		sleep_ms(10);
	assert_true(i < 500);
	F.pid = -1;
	return st;
}

/* Detached: its links (fds 4 and 12) are closed. */
static void wait_detached(void)
{
	int i;

	for (i = 0; i < 500 && (fd_open_in_chan(4) || fd_open_in_chan(12));
	     i++)
		sleep_ms(10);
	assert_false(fd_open_in_chan(4));
	assert_false(fd_open_in_chan(12));
	assert_true(alive());
}

static void hello(uint32_t flags)
{
	uint8_t p[8];

	bh_put_u32(p, BH_PROTO_VERSION);
	bh_put_u32(p + 4, flags);
	send_frame(F.guest, BH_MSG_HELLO, 0, p, 8);
	expect_frame(F.link, BH_MSG_HELLO, 0);
}

static int open_log(const char *name)
{
	char path[96];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", F.dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	return fd;
}

static void pair(int type, int sv[2])
{
	assert_int_equal(socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, sv), 0);
}

/* attach_fd: what to give as fd 13 (closed here), or -1 for
 * chan_attach_listen's. */
static void start_with(const char *exe, int attach_fd)
{
	char err[512];
	int g[2], con[2], qo[2], m[2], lfd;
	struct chan_proc_fds fds;

	snprintf(F.dir, sizeof(F.dir), "/tmp/bh-reattach.XXXXXX");
	assert_non_null(mkdtemp(F.dir));
	assert_int_equal(chmod(F.dir, 0755), 0);
	snprintf(F.root, sizeof(F.root), "%s/root", F.dir);
	assert_int_equal(mkdir(F.root, 0755), 0);
	snprintf(F.sock, sizeof(F.sock), "%s/chan.sock", F.dir);
	snprintf(F.console_log, sizeof(F.console_log), "%s/console.log",
		 F.dir);
	lfd = attach_fd >= 0 ? attach_fd
			    : chan_attach_listen(F.sock, err, sizeof(err));
	if (lfd < 0)
		fail_msg("chan_attach_listen: %s", err);
	pair(SOCK_STREAM, g);
	pair(SOCK_STREAM, con);
	pair(SOCK_STREAM, m);
	assert_int_equal(pipe2(qo, O_CLOEXEC), 0);
	fds = (struct chan_proc_fds){
		.guest = g[0],
		.console = con[0],
		.qemu_out = qo[0],
		.console_log = open_log("console.log"),
		.console_old = open_log("console.log.old"),
		.qemu_log = open_log("qemu.log"),
		.qemu_old = open_log("qemu.log.old"),
		.qmp = m[0],
		.attach = lfd,
	};
	F.pid = chan_proc_spawn(exe, "reattach-test",
				chan_uid_for(JAIL_UID_COUNT - 1), F.root, &fds,
				&F.link, &F.qmpl, err, sizeof(err));
	if (F.pid < 0)
		fail_msg("chan_proc_spawn: %s", err);
	close(fds.console_log);
	close(fds.console_old);
	close(fds.qemu_log);
	close(fds.qemu_old);
	close(con[0]);
	close(qo[0]);
	close(m[0]);
	close(lfd);
	F.guest_chan = g[0];
	F.guest = g[1];
	F.console = con[1];
	F.qemu_out = qo[1];
	F.qmp = m[1];
}

static void start(const char *exe)
{
	start_with(exe, -1);
}

/* QEMU's side of the greeting: the process answers it, the daemon gets
 * READY. */
static void qmp_greeting(void)
{
	static const char greet[] =
		"{\"QMP\": {\"version\": {}, \"capabilities\": []}}\n";
	static const char ret[] = "{\"return\": {}}\n";
	char line[256];
	size_t n = 0;

	assert_int_equal(bh_write_all(F.qmp, greet, strlen(greet)), 0);
	while (n == 0 || line[n - 1] != '\n') {
		ssize_t k;

		assert_true(n < sizeof(line));
		wait_in(F.qmp, 5000);
		k = read(F.qmp, line + n, sizeof(line) - n);
		assert_true(k > 0);
		n += (size_t)k;
	}
	assert_non_null(memmem(line, n, "qmp_capabilities", 16));
	assert_int_equal(bh_write_all(F.qmp, ret, strlen(ret)), 0);
	expect_record(F.qmpl, BH_QMP_READY);
}

/* A peer's try with msg and the given fds (the process's ends of new
 * pairs of those types): it must be refused, i.e. every one of our ends
 * sees its peer closed, and the process waits on. */
static void expect_refused(const void *msg, size_t len, const int *types,
			   int nfd)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int mine[3], theirs[3], s, i;
	char b;

	snprintf(a.sun_path, sizeof(a.sun_path), "%s", F.sock);
	for (i = 0; i < nfd; i++) {
		int sv[2];

		pair(types[i], sv);
		mine[i] = sv[0];
		theirs[i] = sv[1];
	}
	s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	assert_true(s >= 0);
	assert_int_equal(connect(s, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(bh_send_with_fds(s, msg, len, theirs, (size_t)nfd),
			 0);
	for (i = 0; i < nfd; i++)
		close(theirs[i]);
	/* The process closes the connection... */
	wait_in(s, 5000);
	assert_int_equal(read(s, &b, 1), 0);
	close(s);
	/* ...and every fd it was given. */
	for (i = 0; i < nfd; i++) {
		wait_in(mine[i], 5000);
		assert_int_equal(read(mine[i], &b, 1), 0);
		close(mine[i]);
	}
	assert_true(alive());
}

/* A valid request, from a process of another uid. */
static void expect_refused_uid(void)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	uint8_t req[BH_ATTACH_REQ_LEN];
	int sv[2], qv[2], st;
	char b;
	pid_t kid;

	snprintf(a.sun_path, sizeof(a.sun_path), "%s", F.sock);
	bh_attach_req_encode(req);
	pair(SOCK_STREAM, sv);
	pair(SOCK_SEQPACKET, qv);
	/* Only the mode of the socket keeps others out otherwise. */
	assert_int_equal(chmod(F.sock, 0666), 0);
	kid = fork();
	assert_true(kid >= 0);
	if (kid == 0) {
		int s, ends[2] = { sv[1], qv[1] };

		if (setgid(65534) < 0 || setuid(65534) < 0)
			_exit(2);
		s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
		if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof(a)) < 0)
			_exit(3);
		/* The process may have closed the connection already (it
		 * checks the peer as it accepts): then the send fails. */
		(void)bh_send_with_fds(s, req, sizeof(req), ends, 2);
		_exit(read(s, &b, 1) <= 0 ? 0 : 4);
	}
	close(sv[1]);
	close(qv[1]);
	assert_int_equal(waitpid(kid, &st, 0), kid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	assert_int_equal(chmod(F.sock, 0600), 0);
	wait_in(sv[0], 5000);
	assert_int_equal(read(sv[0], &b, 1), 0);
	wait_in(qv[0], 5000);
	assert_int_equal(read(qv[0], &b, 1), 0);
	close(sv[0]);
	close(qv[0]);
	assert_true(alive());
}

/* A connection that says nothing: kept aside, the relay goes on. */
static int silent_peer(void)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

	snprintf(a.sun_path, sizeof(a.sun_path), "%s", F.sock);
	assert_true(s >= 0);
	assert_int_equal(connect(s, (struct sockaddr *)&a, sizeof(a)), 0);
	return s;
}

static long file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

static void attach_now(void)
{
	char err[256];

	if (chan_attach_connect(F.sock, &F.link, &F.qmpl, err, sizeof(err)) <
	    0)
		fail_msg("chan_attach_connect: %s", err);
}

/* The CHAN_ATTACH frame that must come first on a new link. */
static void expect_attach_frame(uint32_t hello_flags)
{
	static uint8_t p[BH_FRAME_MAX_PAYLOAD];
	struct bh_attach_info info;
	struct bh_frame_hdr h;
	int saw5 = 0, saw3 = 0;
	uint32_t i;

	read_frame(F.link, &h, p, sizeof(p));
	assert_int_equal(h.type, BH_MSG_CHAN_ATTACH);
	assert_int_equal(h.stream, 0);
	assert_int_equal(bh_attach_info_parse(p, h.len, &info), 0);
	assert_int_equal(info.flags, BH_ATTACH_HELLO);
	assert_int_equal(info.hello_version, BH_PROTO_VERSION);
	assert_int_equal(info.hello_flags, hello_flags);
	assert_int_equal(info.count, 2);
	for (i = 0; i < info.count; i++) {
		if (info.streams[i].id == 5) {
			assert_int_equal(info.streams[i].flags,
					 BH_ATTACH_S_INPUT_EOF);
			saw5 = 1;
		} else if (info.streams[i].id == (GBIT | 3)) {
			assert_int_equal(info.streams[i].flags, 0);
			saw3 = 1;
		} else {
			fail_msg("stream %#x listed", info.streams[i].id);
		}
	}
	assert_true(saw5 && saw3);
}

static void test_reattach(void **state)
{
	static const char call[] = "work\0qubes.Echo\0";
	static const int good[] = { SOCK_STREAM, SOCK_SEQPACKET };
	static const int streams[] = { SOCK_STREAM, SOCK_STREAM };
	static const char stop[] = "{\"event\": \"STOP\"}\n";
	uint8_t req[BH_ATTACH_REQ_LEN], bad[BH_ATTACH_REQ_LEN];
	uint8_t exitp[8] = { 0 };
	char exe[PATH_MAX];
	int avail = -1, silent, st, i;
	long before;

	(void)state;
	if (!ready_to_start(exe, sizeof(exe)))
		return;
	start(exe);
	qmp_greeting();
	/* The agent, a command of the daemon's and a call of the guest's,
	 * and one of each that ended. */
	hello(1);
	send_frame(F.link, BH_MSG_EXEC, 5, "req", 3);
	expect_frame(F.guest, BH_MSG_EXEC, 5);
	send_frame(F.link, BH_MSG_STDIN, 5, NULL, 0);
	expect_frame(F.guest, BH_MSG_STDIN, 5);
	send_frame(F.link, BH_MSG_EXEC, 7, "req", 3);
	expect_frame(F.guest, BH_MSG_EXEC, 7);
	send_frame(F.guest, BH_MSG_EXIT, 7, exitp, 8);
	expect_frame(F.link, BH_MSG_EXIT, 7);
	send_frame(F.guest, BH_MSG_CALL, GBIT | 3, call, sizeof(call));
	expect_frame(F.link, BH_MSG_CALL, GBIT | 3);
	send_frame(F.guest, BH_MSG_CALL, GBIT | 4, call, sizeof(call));
	expect_frame(F.link, BH_MSG_CALL, GBIT | 4);
	send_frame(F.link, BH_MSG_EXIT, GBIT | 4, exitp, 8);
	expect_frame(F.guest, BH_MSG_EXIT, GBIT | 4);

	/* The daemon dies: the process lives on, detached. */
	close(F.link);
	close(F.qmpl);
	wait_detached();
	/* QEMU says something meanwhile (dropped); the qube sends a frame
	 * (not read: it stays in the socket). */
	assert_int_equal(bh_write_all(F.qmp, stop, strlen(stop)), 0);
	send_frame(F.guest, BH_MSG_STDOUT, 5, "held", 4);
	/* (Checked below, once the process has logged a console line
	 * written after it: no sleep guesses when it would have read it.) */

	/* Wrong requests: refused, and the process waits on. */
	bh_attach_req_encode(req);
	memcpy(bad, req, sizeof(bad));
	memcpy(bad, "bhattacx", 8);
	expect_refused(bad, sizeof(bad), good, 2);
	expect_refused(req, sizeof(req), good, 1);
	expect_refused(req, sizeof(req), streams, 2);
	expect_refused(req, sizeof(req) - 1, good, 2);
	expect_refused_uid();
	/* A silent peer holds nothing up: the console is still logged,
	 * and a good request after it is taken. */
	silent = silent_peer();
	before = file_size(F.console_log);
	assert_int_equal(bh_write_all(F.console, "boot\n", 5), 0);
	for (i = 0; i < 500 && file_size(F.console_log) < before + 5; i++)
		sleep_ms(10);
	assert_int_equal(file_size(F.console_log), before + 5);
	assert_int_equal(ioctl(F.guest_chan, FIONREAD, &avail), 0);
	assert_int_equal(avail, BH_FRAME_HDR_LEN + 4);

	/* The next daemon. */
	attach_now();
	expect_attach_frame(1);
	expect_frame(F.link, BH_MSG_STDOUT, 5);
	expect_record(F.qmpl, BH_QMP_READY);
	expect_quiet(F.qmpl, 300); /* no STOP */
	assert_int_equal(ioctl(F.guest_chan, FIONREAD, &avail), 0);
	assert_int_equal(avail, 0);
	/* Both ways. */
	send_frame(F.link, BH_MSG_CREDIT, 5, "\0\1\0\0", 4);
	expect_frame(F.guest, BH_MSG_CREDIT, 5);
	hello(2); /* as after a RESUME */
	close(silent);

	/* The QMP link alone closing detaches too; again attached, the
	 * last HELLO is told. */
	close(F.qmpl);
	{
		char b;

		wait_in(F.link, 5000);
		assert_int_equal(read(F.link, &b, 1), 0);
	}
	close(F.link);
	wait_detached();
	attach_now();
	expect_attach_frame(2);
	expect_record(F.qmpl, BH_QMP_READY);

	/* Detached once more, QEMU ends: so does the process. */
	close(F.link);
	close(F.qmpl);
	wait_detached();
	close(F.guest);
	close(F.console);
	close(F.qemu_out);
	close(F.qmp);
	st = reap_within_5s();
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	close(F.guest_chan);
}

/* Starts the process armed at a crash point (tests/crash), detaches it
 * and, for chan.attached, attaches it: it must die there by SIGKILL. */
static void crash_at(const char *point)
{
	char exe[PATH_MAX];
	int st;

	if (!ready_to_start(exe, sizeof(exe)))
		return;
	assert_int_equal(setenv("BULKHEAD_CRASH_AT", point, 1), 0);
	start(exe);
	unsetenv("BULKHEAD_CRASH_AT");
	hello(1);
	close(F.link);
	close(F.qmpl);
	if (!strcmp(point, "chan.attached")) {
		wait_detached();
		attach_now();
		close(F.link);
		close(F.qmpl);
	}
	st = reap_within_5s();
	assert_true(WIFSIGNALED(st));
	assert_int_equal(WTERMSIG(st), SIGKILL);
	close(F.guest);
	close(F.guest_chan);
	close(F.console);
	close(F.qemu_out);
	close(F.qmp);
}

static void test_crash_detached(void **state)
{
	(void)state;
	crash_at("chan.detached");
}

static void test_crash_attached(void **state)
{
	(void)state;
	crash_at("chan.attached");
}

/* Given anything but a listening socket as fd 13 (a daemon that does
 * not pass one), the process ends with its frame link as it always did,
 * and the QMP link's close alone does not end it. */
static void test_no_attach_socket(void **state)
{
	char exe[PATH_MAX];
	int st, null;

	(void)state;
	if (!ready_to_start(exe, sizeof(exe)))
		return;
	null = open("/dev/null", O_RDONLY | O_CLOEXEC);
	assert_true(null >= 0);
	start_with(exe, null);
	hello(1);
	close(F.qmpl);
	/* Still relays (a round trip, not a sleep): the QMP link's close
	 * alone does not end it. */
	hello(2);
	close(F.link);
	st = reap_within_5s();
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	close(F.guest);
	close(F.guest_chan);
	close(F.console);
	close(F.qemu_out);
	close(F.qmp);
}

static int teardown(void **state)
{
	char path[128];
	static const char *const names[] = { "console.log", "console.log.old",
					     "qemu.log", "qemu.log.old",
					     "chan.sock" };
	size_t i;

	(void)state;
	if (F.pid > 0) {
		kill(F.pid, SIGKILL);
		waitpid(F.pid, NULL, 0);
		F.pid = -1;
	}
	if (!F.dir[0])
		return 0;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", F.dir, names[i]);
		unlink(path);
	}
	rmdir(F.root);
	rmdir(F.dir);
	F.dir[0] = 0;
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_reattach, teardown),
		cmocka_unit_test_teardown(test_crash_detached, teardown),
		cmocka_unit_test_teardown(test_crash_attached, teardown),
		cmocka_unit_test_teardown(test_no_attach_socket, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

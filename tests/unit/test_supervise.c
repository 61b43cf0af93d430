/* Unit tests of src/daemon/priv/supervise.c, bulkheadd's root parent:
 * the restart window, and the real supervisor forked here: a control
 * that dies of a signal is started again (and told how many times), one
 * that exits ends the parent with its status, one that dies at every
 * start is given up after CONTROL_RESTART_MAX restarts, and SIGTERM to
 * the parent reaches control. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon/priv/priv_link.h"
#include "daemon/priv/priv_serve.h"
#include "daemon/priv/supervise.h"
#include "proto/msg_priv.h"
#include "lib/util.h"

static void test_window_allows_max_then_refuses(void **state)
{
	struct restart_window w = { 0 };
	unsigned i;

	(void)state;
	for (i = 0; i < CONTROL_RESTART_MAX; i++)
		assert_int_equal(restart_allowed(&w, 1000 + i), 1);
	assert_int_equal(restart_allowed(&w, 2000), 0);
	/* Refused restarts are not counted: the window still holds the
	 * first ones, and frees once the oldest is a window old. */
	assert_int_equal(restart_allowed(&w, 1000 + CONTROL_RESTART_WINDOW_MS - 1),
			 0);
	assert_int_equal(restart_allowed(&w, 1000 + CONTROL_RESTART_WINDOW_MS), 1);
	assert_int_equal(restart_allowed(&w, 1000 + CONTROL_RESTART_WINDOW_MS), 0);
}

static void test_window_forgets_old_restarts(void **state)
{
	struct restart_window w = { 0 };
	int64_t t = 0;
	unsigned i;

	(void)state;
	/* One restart a window apart, for ever: always allowed. */
	for (i = 0; i < 3 * CONTROL_RESTART_MAX; i++) {
		assert_int_equal(restart_allowed(&w, t), 1);
		t += CONTROL_RESTART_WINDOW_MS / (CONTROL_RESTART_MAX - 1);
	}
}

/* The admin socket's path the supervisor removes when it gives up. */
static char sock_path[64];

/* What each control does, by its restart count. */
enum behaviour {
	DIE_TWICE_THEN_EXIT_7,
	ALWAYS_DIE,
	WAIT_FOR_TERM,
	/* Uses its priv link: a KILL of a qube the parent never started
	 * (DONE -ESRCH), then a malformed datagram (the parent kills it);
	 * the next control exits 7. */
	BREAK_THE_LINK,
};

/* BREAK_THE_LINK's first control: writes 'K' when the KILL was
 * answered as it should be, then breaks the link and waits to be
 * killed. */
static void break_the_link(int fd, int out)
{
	struct priv_link pl = { .fd = fd };
	struct bh_priv_msg m;
	int r;

	if (priv_link_kill(&pl, "nosuch", BH_PRIV_QEMU, SIGKILL) < 0)
		_exit(96);
	bh_set_nonblock(fd, 0);
	r = priv_link_next(&pl, &m);
	if (r == 1 && m.type == BH_PRIV_DONE && m.u.done.result == -ESRCH &&
	    write(out, "K", 1) != 1)
		_exit(97);
	/* Not a message of the link at all. */
	if (write(fd, "garbage", 7) != 7)
		_exit(98);
	pause();
	_exit(99);
}

/* Forks a process that runs priv_supervise; each control writes its
 * restart count (one byte) to the pipe, then acts as told. Returns the
 * supervisor's pid; *rd is the pipe's read end. */
static pid_t start_supervisor(enum behaviour b, int *rd)
{
	int p[2];
	pid_t pid;

	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		static struct priv_serve serve;
		struct control_start cs;
		int ready = -1;
		sigset_t set;
		int sig;
		unsigned char n;

		close(p[0]);
		priv_serve_init(&serve, "/nonexistent", "/nonexistent/state",
				"/nonexistent/run");
		if (priv_supervise(&ready, "/nonexistent/bulkheadd.log",
				   sock_path, &serve, &cs) < 0)
			_exit(90);
		if (cs.priv_pid != getppid())
			_exit(91);
		n = (unsigned char)cs.restarts;
		if (write(p[1], &n, 1) != 1)
			_exit(92);
		switch (b) {
		case DIE_TWICE_THEN_EXIT_7:
			if (cs.restarts < 2)
				raise(SIGKILL);
			_exit(7);
		case ALWAYS_DIE:
			raise(SIGKILL);
			_exit(93);
		case WAIT_FOR_TERM:
			/* The parent blocked SIGTERM for its signalfd: so it
			 * is here, as in bulkheadd's control. */
			sigemptyset(&set);
			sigaddset(&set, SIGTERM);
			if (sigwait(&set, &sig) == 0 && sig == SIGTERM &&
			    write(p[1], "T", 1) == 1)
				_exit(0);
			_exit(94);
		case BREAK_THE_LINK:
			if (cs.restarts == 0)
				break_the_link(cs.priv_fd, p[1]);
			_exit(7);
		}
		_exit(95);
	}
	close(p[1]);
	*rd = p[0];
	return pid;
}

/* Everything the controls wrote, until the last one closed the pipe. */
static size_t read_all(int fd, unsigned char *buf, size_t cap)
{
	size_t n = 0;
	ssize_t r;

	while (n < cap && (r = read(fd, buf + n, cap - n)) > 0)
		n += (size_t)r;
	close(fd);
	return n;
}

static void test_control_killed_is_started_again(void **state)
{
	unsigned char buf[16];
	int rd, st;
	pid_t pid = start_supervisor(DIE_TWICE_THEN_EXIT_7, &rd);

	(void)state;
	assert_int_equal(read_all(rd, buf, sizeof(buf)), 3);
	assert_int_equal(buf[0], 0);
	assert_int_equal(buf[1], 1);
	assert_int_equal(buf[2], 2);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	/* The third control exited 7 of its own accord: so does the
	 * parent. */
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 7);
}

static void test_control_dying_at_once_is_given_up(void **state)
{
	unsigned char buf[32];
	size_t n, i;
	int rd, st;
	pid_t pid;
	FILE *f;

	(void)state;
	snprintf(sock_path, sizeof(sock_path), "/tmp/bh-supervise.%d",
		 (int)getpid());
	f = fopen(sock_path, "w");
	assert_non_null(f);
	fclose(f);
	pid = start_supervisor(ALWAYS_DIE, &rd);
	n = read_all(rd, buf, sizeof(buf));
	/* The first start, then CONTROL_RESTART_MAX more. */
	assert_int_equal(n, CONTROL_RESTART_MAX + 1);
	for (i = 0; i < n; i++)
		assert_int_equal(buf[i], i);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 1);
	/* No control serves the admin socket any more: it is gone. */
	assert_int_equal(access(sock_path, F_OK), -1);
}

static void test_sigterm_reaches_control(void **state)
{
	unsigned char buf[4];
	int rd, st;
	pid_t pid = start_supervisor(WAIT_FOR_TERM, &rd);

	(void)state;
	/* Control has started (it wrote its count) before the signal. */
	assert_int_equal(read(rd, buf, 1), 1);
	assert_int_equal(buf[0], 0);
	assert_int_equal(kill(pid, SIGTERM), 0);
	assert_int_equal(read_all(rd, buf, sizeof(buf)), 1);
	assert_int_equal(buf[0], 'T');
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

/* The parent serves control's link, and a control that breaks it
 * (a datagram that is no message) is killed and started again with a
 * link of its own. */
static void test_broken_link_restarts_control(void **state)
{
	unsigned char buf[16];
	int rd, st;
	pid_t pid = start_supervisor(BREAK_THE_LINK, &rd);

	(void)state;
	assert_int_equal(read_all(rd, buf, sizeof(buf)), 3);
	assert_int_equal(buf[0], 0);
	assert_int_equal(buf[1], 'K');
	assert_int_equal(buf[2], 1);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 7);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_window_allows_max_then_refuses),
		cmocka_unit_test(test_window_forgets_old_restarts),
		cmocka_unit_test(test_control_killed_is_started_again),
		cmocka_unit_test(test_control_dying_at_once_is_given_up),
		cmocka_unit_test(test_sigterm_reaches_control),
		cmocka_unit_test(test_broken_link_restarts_control),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

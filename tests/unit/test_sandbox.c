/* Unit tests of src/daemon/engine/sandbox.c: a process confined as a channel
 * process (allow-list, empty root) or as control (deny-list) is checked
 * from outside through /proc/PID/status, and by trying what it must not
 * do. Each sandbox is entered in a child of the test, which reports over
 * pipes; the checks that change ids need root, and are skipped with the
 * reason printed when the tests do not run as root. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon/engine/sandbox.h"

/* Ids no account has (above the jails' range). */
#define TEST_UID 3999001u
#define TEST_GID 3999001u

static int need_root(void)
{
	if (geteuid() == 0)
		return 1;
	print_message("skipped: changing ids needs root\n");
	return 0;
}

/* A child that enters sb, says 'r' (or 'e' and the error) on up, then
 * does what each byte read from down asks and answers on up:
 *   'w'  answers 'k' (reads and writes work)
 *   'o'  opens a file (killed under the allow-list)
 *   'p'  ptrace(PTRACE_TRACEME): answers 'E' if refused with EPERM
 *   'u'  unshare(CLONE_NEWUSER): the same
 *   'c'  clone with CLONE_NEWUSER: the same
 *   'f'  opens /dev/null: 'k' if it could
 *   'x'  exits 0 */
struct kid {
	pid_t pid;
	int up, down; /* our ends */
};

static void kid_main(const struct bh_sandbox *sb, int up, int down)
{
	char err[256], c;
	int r;

	if (bh_sandbox_enter(sb, err, sizeof(err)) < 0) {
		(void)!write(up, "e", 1);
		(void)!write(up, err, strlen(err));
		_exit(2);
	}
	(void)!write(up, "r", 1);
	while (read(down, &c, 1) == 1) {
		char a = '?';

		switch (c) {
		case 'w':
			a = 'k';
			break;
		case 'o':
			r = open("/etc/passwd", O_RDONLY);
			a = r >= 0 ? 'k' : 'n';
			break;
		case 'p':
			r = (int)ptrace(PTRACE_TRACEME, 0, NULL, NULL);
			a = r < 0 && errno == EPERM ? 'E' : 'k';
			break;
		case 'u':
			r = unshare(CLONE_NEWUSER);
			a = r < 0 && errno == EPERM ? 'E' : 'k';
			break;
		case 'c':
			r = (int)syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0,
					 0, 0, 0);
			if (r == 0)
				_exit(0);
			a = r < 0 && errno == EPERM ? 'E' : 'k';
			break;
		case 'f':
			r = open("/dev/null", O_RDONLY);
			a = r >= 0 ? 'k' : 'n';
			break;
		case 'x':
			_exit(0);
		}
		(void)!write(up, &a, 1);
	}
	_exit(0);
}

static void kid_start(struct kid *k, const struct bh_sandbox *sb)
{
	int up[2], down[2];
	char c;

	assert_int_equal(pipe2(up, O_CLOEXEC), 0);
	assert_int_equal(pipe2(down, O_CLOEXEC), 0);
	k->pid = fork();
	assert_true(k->pid >= 0);
	if (k->pid == 0) {
		close(up[0]);
		close(down[1]);
		kid_main(sb, up[1], down[0]);
	}
	close(up[1]);
	close(down[0]);
	k->up = up[0];
	k->down = down[1];
	assert_int_equal(read(k->up, &c, 1), 1);
	if (c != 'r') {
		char err[256] = "";

		(void)!read(k->up, err, sizeof(err) - 1);
		fail_msg("the sandbox was not entered: %s", err);
	}
}

/* Sends c; returns the answer, or 0 when the child ended instead. */
static char kid_ask(struct kid *k, char c)
{
	char a;

	assert_int_equal(write(k->down, &c, 1), 1);
	return read(k->up, &a, 1) == 1 ? a : 0;
}

/* How the child ended: its wait status. */
static int kid_end(struct kid *k)
{
	int st;

	close(k->down);
	close(k->up);
	assert_int_equal(waitpid(k->pid, &st, 0), k->pid);
	return st;
}

/* The value of field NAME: in /proc/PID/status, as text. */
static void status_field(pid_t pid, const char *name, char *out, size_t cap)
{
	char path[64], line[256];
	size_t n = strlen(name);
	int found = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	assert_non_null(f);
	out[0] = 0;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, name, n) && line[n] == ':') {
			char *v = line + n + 1;

			v += strspn(v, " \t");
			v[strcspn(v, "\n")] = 0;
			snprintf(out, cap, "%s", v);
			found = 1;
		}
	fclose(f);
	assert_true(found);
}

static void expect_status(pid_t pid, const char *name, const char *want)
{
	char got[256];

	status_field(pid, name, got, sizeof(got));
	if (strcmp(got, want))
		fail_msg("%s: %s, not %s", name, got, want);
}

/* An empty folder of root's, mode 0755, to chroot into. */
static void make_empty_root(char *dir, size_t cap)
{
	snprintf(dir, cap, "/tmp/bh-sandbox-test.XXXXXX");
	assert_non_null(mkdtemp(dir));
	assert_int_equal(chmod(dir, 0755), 0);
}

static void expect_confined(pid_t pid)
{
	expect_status(pid, "Uid", "3999001\t3999001\t3999001\t3999001");
	expect_status(pid, "Gid", "3999001\t3999001\t3999001\t3999001");
	expect_status(pid, "Groups", "");
	expect_status(pid, "CapInh", "0000000000000000");
	expect_status(pid, "CapPrm", "0000000000000000");
	expect_status(pid, "CapEff", "0000000000000000");
	expect_status(pid, "CapBnd", "0000000000000000");
	expect_status(pid, "CapAmb", "0000000000000000");
	expect_status(pid, "NoNewPrivs", "1");
	expect_status(pid, "Seccomp", "2");
}

static void test_chan_sandbox(void **state)
{
	char dir[64], root[PATH_MAX], link[64];
	struct bh_sandbox sb = {
		.uid = TEST_UID,
		.gid = TEST_GID,
		.filter = BH_SANDBOX_ALLOW_LIST,
		.calls = bh_sandbox_chan_calls,
		.ncalls = bh_sandbox_chan_ncalls,
	};
	struct kid k;
	ssize_t n;
	int st;

	(void)state;
	if (!need_root()) {
		skip();
		return;
	}
	make_empty_root(dir, sizeof(dir));
	sb.empty_root = dir;
	kid_start(&k, &sb);
	expect_confined(k.pid);
	/* Its root is the empty folder. */
	snprintf(link, sizeof(link), "/proc/%d/root", (int)k.pid);
	n = readlink(link, root, sizeof(root) - 1);
	assert_true(n > 0);
	root[n] = 0;
	assert_string_equal(root, dir);
	/* What it may do works; opening any path kills it. */
	assert_int_equal(kid_ask(&k, 'w'), 'k');
	assert_int_equal(kid_ask(&k, 'o'), 0);
	st = kid_end(&k);
	assert_true(WIFSIGNALED(st));
	assert_int_equal(WTERMSIG(st), SIGSYS);
	/* So does a call outside the list that would not open anything. */
	kid_start(&k, &sb);
	assert_int_equal(kid_ask(&k, 'p'), 0);
	st = kid_end(&k);
	assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS);
	assert_int_equal(rmdir(dir), 0);
}

static void test_control_sandbox(void **state)
{
	struct bh_sandbox sb = {
		.uid = TEST_UID,
		.gid = TEST_GID,
		.filter = BH_SANDBOX_DENY_LIST,
		.calls = bh_sandbox_control_denied,
		.ncalls = bh_sandbox_control_ndenied,
	};
	struct kid k;
	int st;

	(void)state;
	if (!need_root()) {
		skip();
		return;
	}
	kid_start(&k, &sb);
	expect_confined(k.pid);
	/* Files it may open, it opens; the denied calls say EPERM, and a
	 * namespace through clone too. */
	assert_int_equal(kid_ask(&k, 'f'), 'k');
	assert_int_equal(kid_ask(&k, 'p'), 'E');
	assert_int_equal(kid_ask(&k, 'u'), 'E');
	assert_int_equal(kid_ask(&k, 'c'), 'E');
	assert_int_equal(kid_ask(&k, 'x'), 0);
	st = kid_end(&k);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

/* Control while still root (bh_sandbox_harden_root): no_new_privs and
 * seccomp on, the denied calls EPERM, what the jails need (a mount
 * namespace, a uid change in a child) still works, and a program it runs
 * inherits the filter. The child writes one letter per check ('k' as
 * expected, 'X' not), then waits until the parent has read its status. */
static void test_root_control_hardened(void **state)
{
	char res[8] = "", err[256], word[4];
	int up[2], down[2], st;
	pid_t pid, g;

	(void)state;
	if (!need_root()) {
		skip();
		return;
	}
	assert_int_equal(pipe(up), 0);
	assert_int_equal(pipe(down), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char out[8];

		close(up[0]);
		close(down[1]);
		if (bh_sandbox_harden_root(err, sizeof(err)) < 0)
			_exit(90);
		out[0] = prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1 ? 'k' : 'X';
		out[1] = ptrace(PTRACE_TRACEME, 0, NULL, NULL) < 0 &&
				 errno == EPERM ? 'k' : 'X';
		/* With a bad fd finit_module says EBADF, unless refused. */
		out[2] = syscall(SYS_finit_module, -1, "", 0) < 0 &&
				 errno == EPERM ? 'k' : 'X';
		out[3] = syscall(SYS_keyctl, 0 /* KEYCTL_GET_KEYRING_ID */,
				 -1, 0) < 0 && errno == EPERM ? 'k' : 'X';
		out[4] = unshare(CLONE_NEWNS) == 0 ? 'k' : 'X';
		/* A child that changes its uid, as a jail does. */
		g = fork();
		if (g == 0)
			_exit(setresuid(TEST_UID, TEST_UID, TEST_UID) == 0 ? 0 : 1);
		out[5] = g > 0 && waitpid(g, &st, 0) == g && WIFEXITED(st) &&
				 WEXITSTATUS(st) == 0 ? 'k' : 'X';
		/* A program it runs has the filter too. */
		out[6] = system("grep -q '^Seccomp:[[:space:]]*2$' /proc/self/status")
				 == 0 ? 'k' : 'X';
		if (write(up[1], out, 7) != 7 || read(down[0], word, 1) < 0)
			_exit(91);
		_exit(0);
	}
	close(up[1]);
	close(down[0]);
	assert_int_equal(read(up[0], res, 7), 7);
	expect_status(pid, "NoNewPrivs", "1");
	expect_status(pid, "Seccomp", "2");
	/* Root still: the uid drop is the next step of the split. */
	expect_status(pid, "Uid", "0\t0\t0\t0");
	assert_int_equal(write(down[1], "x", 1), 1);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	assert_string_equal(res, "kkkkkkk");
	close(up[0]);
	close(down[1]);
}

/* The checks before anything changes: each refusal leaves the child
 * able to say why. */
static void expect_refused(const struct bh_sandbox *sb, const char *why)
{
	int up[2];
	char err[256] = "";
	pid_t pid;
	int st;

	assert_int_equal(pipe2(up, O_CLOEXEC), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char e[256];

		close(up[0]);
		if (bh_sandbox_enter(sb, e, sizeof(e)) == 0)
			_exit(0);
		(void)!write(up[1], e, strlen(e));
		_exit(2);
	}
	close(up[1]);
	(void)!read(up[0], err, sizeof(err) - 1);
	close(up[0]);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 2);
	if (!strstr(err, why))
		fail_msg("refused with '%s', not for '%s'", err, why);
}

static void test_refusals(void **state)
{
	static const char *const bogus[] = { "read", "no_such_call" };
	char dir[64], path[128];
	struct bh_sandbox sb = {
		.uid = 0,
		.gid = TEST_GID,
		.filter = BH_SANDBOX_ALLOW_LIST,
		.calls = bh_sandbox_chan_calls,
		.ncalls = bh_sandbox_chan_ncalls,
	};
	int fd;

	(void)state;
	expect_refused(&sb, "never runs as root");
	sb.uid = TEST_UID;
	sb.gid = 0;
	expect_refused(&sb, "never runs as root");
	if (!need_root()) {
		skip();
		return;
	}
	sb.gid = TEST_GID;
	/* An empty root that is not empty, or that others may write. */
	make_empty_root(dir, sizeof(dir));
	sb.empty_root = dir;
	snprintf(path, sizeof(path), "%s/left", dir);
	fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	close(fd);
	expect_refused(&sb, "not empty");
	assert_int_equal(unlink(path), 0);
	assert_int_equal(chmod(dir, 0777), 0);
	expect_refused(&sb, "only root may write");
	assert_int_equal(rmdir(dir), 0);
	/* A call libseccomp does not know. */
	sb.empty_root = NULL;
	sb.calls = bogus;
	sb.ncalls = 2;
	expect_refused(&sb, "no system call 'no_such_call'");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_chan_sandbox),
		cmocka_unit_test(test_control_sandbox),
		cmocka_unit_test(test_root_control_hardened),
		cmocka_unit_test(test_refusals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

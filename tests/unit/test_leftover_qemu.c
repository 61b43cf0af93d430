/* Unit tests of src/daemon/engine/leftover_qemu.c with real processes: the pid
 * file names a process only while its start time matches, a leftover
 * that exits by itself is not killed, one that does not exit is killed,
 * and a pid file of a process that is gone is left alone. Child processes
 * stand in for QEMU: each blocks reading a pipe and exits when it closes,
 * the way a guest powers off when its channel hangs up. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon/engine/leftover_qemu.h"
#include "lib/util.h"

struct fx {
	char dir[PATH_MAX];   /* stands for ROOT/run/bulkhead/qubes */
	char qube[PATH_MAX + 8]; /* one qube's runtime folder in it */
};

static int fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/bh-leftover.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->qube, sizeof(f->qube), "%s/q1", f->dir);
	assert_int_equal(mkdir(f->qube, 0700), 0);
	*state = f;
	return 0;
}

static int fx_teardown(void **state)
{
	struct fx *f = *state;

	bh_rm_rf(f->dir);
	free(f);
	return 0;
}

/* A child that runs until the write end of *pipe_w is closed (by us). */
static pid_t child_until_eof(int *pipe_w)
{
	int p[2];
	pid_t pid;
	char c;

	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(p[1]);
		while (read(p[0], &c, 1) > 0)
			;
		_exit(0);
	}
	close(p[0]);
	*pipe_w = p[1];
	return pid;
}

static void write_file(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	fputs(text, fp);
	assert_int_equal(fclose(fp), 0);
}

static void test_start_time_of_self(void **state)
{
	uint64_t a = 0, b = 0;

	(void)state;
	assert_int_equal(proc_start_time(getpid(), &a), 0);
	assert_int_equal(proc_start_time(getpid(), &b), 0);
	assert_true(a > 0);
	assert_true(a == b);
	assert_int_equal(proc_start_time(0x7ffffff0, &a), -ESRCH);
}

static void test_pid_file_names_live_process(void **state)
{
	struct fx *f = *state;
	pid_t pid, got = 0;
	int w, fd;

	assert_int_equal(pid_file_open(f->qube, QEMU_PID_FILE, &got), -1);
	pid = child_until_eof(&w);
	assert_int_equal(qemu_pid_file_write(f->qube, pid), 0);
	assert_int_equal(qemu_pid_file_live(f->qube, &got), 1);
	assert_int_equal(got, pid);
	got = 0;
	fd = pid_file_open(f->qube, QEMU_PID_FILE, &got);
	assert_true(fd >= 0);
	assert_int_equal(got, pid);
	close(w);
	assert_int_equal(waitpid(pid, NULL, 0), pid);
	close(fd);
	/* Gone: nothing to end. */
	assert_int_equal(qemu_pid_file_live(f->qube, &got), 0);
	assert_int_equal(pid_file_open(f->qube, QEMU_PID_FILE, &got), -1);
}

static void test_reused_pid_not_named(void **state)
{
	struct fx *f = *state;
	char path[PATH_MAX + 32], text[64];
	uint64_t start;
	pid_t got = 0;

	/* Our own pid with another start time: what a reused pid looks
	 * like. It must never be taken for the recorded QEMU. */
	assert_int_equal(proc_start_time(getpid(), &start), 0);
	snprintf(path, sizeof(path), "%s/%s", f->qube, QEMU_PID_FILE);
	snprintf(text, sizeof(text), "%d %llu\n", (int)getpid(),
		 (unsigned long long)start + 1);
	write_file(path, text);
	assert_int_equal(qemu_pid_file_live(f->qube, &got), 0);
	assert_int_equal(pid_file_open(f->qube, QEMU_PID_FILE, &got), -1);
	snprintf(text, sizeof(text), "%d %llu\n", (int)getpid(),
		 (unsigned long long)start);
	write_file(path, text);
	assert_int_equal(qemu_pid_file_live(f->qube, &got), 1);
	assert_int_equal(got, getpid());
}

static void test_malformed_pid_files(void **state)
{
	static const char *bad[] = {
		"", "\n", "abc 1\n", "123\n", "1 5\n", "0 5\n", "-5 5\n",
		"99999999999999999999 1\n", "123 x\n", "123 45", "123  45\n",
	};
	struct fx *f = *state;
	char path[PATH_MAX + 32];
	pid_t got = 0;
	size_t i;

	snprintf(path, sizeof(path), "%s/%s", f->qube, QEMU_PID_FILE);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		write_file(path, bad[i]);
		assert_int_equal(qemu_pid_file_live(f->qube, &got), 0);
	}
	unlink(path);
	assert_int_equal(qemu_pid_file_live(f->qube, &got), 0);
}

static void test_leftover_that_exits_is_not_killed(void **state)
{
	struct fx *f = *state;
	int w, st = 0;
	pid_t pid = child_until_eof(&w);

	assert_int_equal(qemu_pid_file_write(f->qube, pid), 0);
	close(w); /* the "guest" powers off by itself */
	assert_int_equal(leftover_qemus_end(f->dir, 20000, NULL, NULL), 0);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
}

static void test_leftover_that_stays_is_killed(void **state)
{
	struct fx *f = *state;
	char q2[PATH_MAX + 8];
	int w1, w2, st = 0;
	pid_t p1 = child_until_eof(&w1), p2;

	snprintf(q2, sizeof(q2), "%s/q2", f->dir);
	assert_int_equal(mkdir(q2, 0700), 0);
	p2 = child_until_eof(&w2);
	assert_int_equal(qemu_pid_file_write(f->qube, p1), 0);
	assert_int_equal(qemu_pid_file_write(q2, p2), 0);
	close(w2); /* q2 powers off; q1 is wedged */
	assert_int_equal(leftover_qemus_end(f->dir, 0, NULL, NULL) >= 1, 1);
	assert_int_equal(waitpid(p1, &st, 0), p1);
	assert_true(WIFSIGNALED(st));
	assert_int_equal(WTERMSIG(st), SIGKILL);
	assert_int_equal(waitpid(p2, &st, 0), p2);
	close(w1);
}

static void test_no_folders_nothing_to_do(void **state)
{
	struct fx *f = *state;

	assert_int_equal(leftover_qemus_end(f->dir, 0, NULL, NULL), 0);
	assert_int_equal(leftover_qemus_end("/nonexistent/bh-test", 0, NULL,
					    NULL),
			 0);
}

static int keep_q1(const char *name, void *ctx)
{
	(*(int *)ctx)++;
	return !strcmp(name, "q1");
}

/* A re-attached qube's QEMU (its folder kept) is left alone, even when
 * it does not power off. */
static void test_kept_folder_left_alone(void **state)
{
	struct fx *f = *state;
	int w, asked = 0, st = 0;
	pid_t pid = child_until_eof(&w);

	assert_int_equal(qemu_pid_file_write(f->qube, pid), 0);
	assert_int_equal(leftover_qemus_end(f->dir, 0, keep_q1, &asked), 0);
	assert_int_equal(asked, 1);
	assert_int_equal(waitpid(pid, &st, WNOHANG), 0); /* still runs */
	assert_int_equal(leftover_qemus_end(f->dir, 0, NULL, NULL), 1);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFSIGNALED(st));
	close(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_start_time_of_self),
		cmocka_unit_test_setup_teardown(
			test_pid_file_names_live_process, fx_setup,
			fx_teardown),
		cmocka_unit_test_setup_teardown(test_reused_pid_not_named,
						fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_malformed_pid_files,
						fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(
			test_leftover_that_exits_is_not_killed, fx_setup,
			fx_teardown),
		cmocka_unit_test_setup_teardown(
			test_leftover_that_stays_is_killed, fx_setup,
			fx_teardown),
		cmocka_unit_test_setup_teardown(test_kept_folder_left_alone,
						fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_no_folders_nothing_to_do,
						fx_setup, fx_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

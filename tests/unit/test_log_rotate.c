/* bulkheadd.log rotation (lib/log.h): only when stderr is the file, to
 * PATH.1 and PATH.2, never further, with fd 2 moved to a new PATH. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/util.h"

static off_t size_of(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? st.st_size : -1;
}

static int same_file(int fd, const char *path)
{
	struct stat a, b;

	return fstat(fd, &a) == 0 && stat(path, &b) == 0 &&
	       a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

static void test_rotates_when_stderr_is_the_log(void **state)
{
	char dir[] = "/tmp/bh-logrot-XXXXXX", path[256], p1[300], p2[300],
		p3[300];
	int saved = dup(2), fd, i;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/bulkheadd.log", dir);
	snprintf(p1, sizeof(p1), "%s.1", path);
	snprintf(p2, sizeof(p2), "%s.2", path);
	snprintf(p3, sizeof(p3), "%s.3", path);
	fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0640);
	assert_true(fd >= 0);
	assert_true(dup2(fd, 2) == 2);
	close(fd);
	bh_log_init("t", 0);
	assert_int_equal(bh_log_rotate_setup(path, 1000), 1);
	for (i = 0; i < 400; i++)
		bh_log(BH_LOG_INFO, "line %d of a log that grows", i);
	fflush(stderr);
	/* Kept: the live file and two old ones, each about the size. */
	assert_true(size_of(p1) >= 1000 && size_of(p1) < 3000);
	assert_true(size_of(p2) >= 1000 && size_of(p2) < 3000);
	assert_int_equal(size_of(p3), -1);
	assert_true(size_of(path) < 3000);
	/* Same mode; fd 2 is the new file, and the newest line is in it. */
	{
		struct stat st;

		assert_int_equal(stat(path, &st), 0);
		assert_int_equal(st.st_mode & 0777, 0640);
	}
	assert_true(same_file(2, path));
	bh_log(BH_LOG_INFO, "the last line");
	{
		char buf[4096];
		int r = open(path, O_RDONLY);
		ssize_t n = read(r, buf, sizeof(buf) - 1);

		close(r);
		assert_true(n > 0);
		buf[n] = '\0';
		assert_non_null(strstr(buf, "the last line"));
	}
	dup2(saved, 2);
	close(saved);
	bh_rm_rf(dir);
}

static void test_no_rotation_when_stderr_is_elsewhere(void **state)
{
	char dir[] = "/tmp/bh-logrot-XXXXXX", path[256], other[256], p1[300];
	int saved = dup(2), fd, i;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/bulkheadd.log", dir);
	snprintf(other, sizeof(other), "%s/foreground.log", dir);
	snprintf(p1, sizeof(p1), "%s.1", path);
	close(open(path, O_WRONLY | O_CREAT, 0600));
	fd = open(other, O_WRONLY | O_CREAT | O_APPEND, 0600);
	assert_true(dup2(fd, 2) == 2);
	close(fd);
	bh_log_init("t", 0);
	assert_int_equal(bh_log_rotate_setup(path, 1000), 0);
	for (i = 0; i < 200; i++)
		bh_log(BH_LOG_INFO, "line %d of a log that grows", i);
	assert_int_equal(size_of(p1), -1);
	assert_true(size_of(other) > 5000);
	assert_true(same_file(2, other));
	dup2(saved, 2);
	close(saved);
	bh_rm_rf(dir);
}

/* The root parent of bulkheadd follows the log its control rotated
 * (bh_log_follow), and stays where it is when its stderr is not a file. */
static void test_follow_rotated_log(void **state)
{
	char dir[] = "/tmp/bh-logrot-XXXXXX", path[256], p1[300], pipe_note[8];
	int saved = dup(2), fd, p[2];

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/bulkheadd.log", dir);
	snprintf(p1, sizeof(p1), "%s.1", path);
	fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0600);
	assert_true(dup2(fd, 2) == 2);
	close(fd);
	/* Not moved: nothing to do. */
	bh_log_follow(path);
	assert_true(same_file(2, path));
	/* Another process rotated it. */
	assert_int_equal(rename(path, p1), 0);
	close(open(path, O_WRONLY | O_CREAT, 0600));
	assert_true(same_file(2, p1));
	bh_log_follow(path);
	assert_true(same_file(2, path));
	/* A pipe (a daemon run in the foreground) is left alone. */
	assert_int_equal(pipe(p), 0);
	assert_true(dup2(p[1], 2) == 2);
	bh_log_follow(path);
	assert_int_equal(write(2, "x", 1), 1);
	assert_int_equal(read(p[0], pipe_note, 1), 1);
	close(p[0]);
	close(p[1]);
	dup2(saved, 2);
	close(saved);
	bh_rm_rf(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rotates_when_stderr_is_the_log),
		cmocka_unit_test(test_no_rotation_when_stderr_is_elsewhere),
		cmocka_unit_test(test_follow_rotated_log),
	};

	return cmocka_run_group_tests_name("log_rotate", tests, NULL, NULL);
}

/* The console log keeps a guest that prints without end from filling the
 * host's disk: at most two files of CONSOLE_LOG_MAX bytes, newest last. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/engine/console_log.h"
#include "lib/util.h"

static off_t size_of(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? st.st_size : -1;
}

static void test_rotates_and_bounds(void **state)
{
	char dir[] = "/tmp/bh-console-XXXXXX", path[256], old[300];
	char chunk[10000];
	struct console_log l;
	size_t total = 0;
	unsigned i;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/console.log", dir);
	snprintf(old, sizeof(old), "%s.old", path);
	assert_int_equal(console_log_open(&l, path), 0);
	/* 5 MiB in odd-sized pieces, each piece tagged with its number. */
	for (i = 0; total < 5u << 20; i++) {
		size_t n = 1000 + (i * 7919) % 9000;

		memset(chunk, 'a' + i % 26, n);
		console_log_write(&l, chunk, n);
		total += n;
		assert_true(size_of(path) <= CONSOLE_LOG_MAX);
	}
	console_log_close(&l);
	assert_int_equal(size_of(old), CONSOLE_LOG_MAX);
	assert_true(size_of(path) > 0);
	/* The newest bytes are kept: the file ends with the last piece. */
	{
		char *text;
		size_t len;

		assert_int_equal(bh_read_file(path, 2u << 20, &text, &len), 0);
		assert_int_equal(text[len - 1], 'a' + (i - 1) % 26);
		free(text);
	}
	bh_rm_rf(dir);
}

static void test_pump_reads_socket(void **state)
{
	char dir[] = "/tmp/bh-console-XXXXXX", path[256], *text;
	struct console_log l;
	int sv[2];
	size_t len;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/console.log", dir);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(console_log_open(&l, path), 0);
	assert_int_equal(write(sv[0], "boot\n", 5), 5);
	assert_int_equal(console_log_pump(&l, sv[1]), 5);
	close(sv[0]);
	assert_int_equal(console_log_pump(&l, sv[1]), 0); /* end of file */
	console_log_close(&l);
	assert_int_equal(bh_read_file(path, 100, &text, &len), 0);
	assert_string_equal(text, "boot\n");
	free(text);
	close(sv[1]);
	bh_rm_rf(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rotates_and_bounds),
		cmocka_unit_test(test_pump_reads_socket),
	};

	return cmocka_run_group_tests_name("console_log", tests, NULL, NULL);
}

/* bh's relay of a command (src/cli/run_relay.c) against a daemon played
 * over a socket pair. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cli/run_relay.h"
#include "proto/frame.h"
#include "lib/util.h"

/* The daemon queues the command's last output and its EXIT, then closes
 * the connection without reading what bh sent (the request, the credit):
 * bh's next write fails, but everything the daemon sent is still there to
 * read. bh must write all the output and return the command's status (it
 * said "lost the connection" and dropped the rest before). */
static void test_exit_read_after_daemon_closed(void **state)
{
	static uint8_t frame[BH_FRAME_HDR_LEN + 4096], data[4096];
	uint8_t exit_p[8], buf[65536];
	struct run_fds fds = { 0 };
	int sv[2], out[2], i, st;
	size_t n, got = 0;
	ssize_t r;

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(pipe(out), 0);
	memset(data, 'x', sizeof(data));
	for (i = 0; i < 8; i++) {
		n = bh_frame_build(frame, BH_MSG_STDOUT, 1, data, sizeof(data));
		assert_int_equal(bh_write_all(sv[0], frame, n), 0);
	}
	bh_put_u32(exit_p, BH_EXIT_CODE);
	bh_put_u32(exit_p + 4, 7);
	n = bh_frame_build(frame, BH_MSG_EXIT, 1, exit_p, sizeof(exit_p));
	assert_int_equal(bh_write_all(sv[0], frame, n), 0);
	close(sv[0]);
	fds.in = open("/dev/null", O_RDONLY);
	fds.out = out[1];
	fds.err = out[1];
	st = run_relay_fd(sv[1], BH_MSG_RUN_QUBE, (const uint8_t *)"q", 2,
			  &fds);
	close(out[1]);
	while ((r = read(out[0], buf, sizeof(buf))) > 0)
		got += (size_t)r;
	assert_int_equal(st, 7);
	assert_int_equal(got, 8 * sizeof(data));
	close(out[0]);
	close(sv[1]);
	close(fds.in);
}

/* The daemon closes without an EXIT: that is a lost connection (125). */
static void test_close_without_exit_fails(void **state)
{
	static uint8_t frame[BH_FRAME_HDR_LEN + 16];
	struct run_fds fds = { 0 };
	int sv[2], out[2];
	size_t n;

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(pipe(out), 0);
	n = bh_frame_build(frame, BH_MSG_STDOUT, 1, "abc", 3);
	assert_int_equal(bh_write_all(sv[0], frame, n), 0);
	close(sv[0]);
	fds.in = open("/dev/null", O_RDONLY);
	fds.out = out[1];
	fds.err = out[1];
	assert_int_not_equal(run_relay_fd(sv[1], BH_MSG_RUN_QUBE,
					  (const uint8_t *)"q", 2, &fds),
			     0);
	close(out[0]);
	close(out[1]);
	close(sv[1]);
	close(fds.in);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exit_read_after_daemon_closed),
		cmocka_unit_test(test_close_without_exit_fails),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

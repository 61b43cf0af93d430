/* Unit tests of the agent's channel service (src/agent/serve.c) without a
 * VM: a forked child serves one end of a socket pair exactly as
 * `bh-agent --serve-fd` does, and the test plays the host on the other end.
 * Then the agent's refusal of hostile frames, with agent_handle_frame
 * called directly and a fake spawn. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/resume.h"
#include "agent/serve.h"
#include "agent/spawn.h"
#include "lib/util.h"
#include "proto/chan.h"
#include "proto/exec_req.h"
#include "proto/frame.h"
#include "proto/resume.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define W BH_STREAM_WINDOW
#define MAXP BH_FRAME_MAX_PAYLOAD
/* Failure guard only: every wait ends as soon as its event happens. */
#define TIMEOUT_MS 10000

/* ---- RESUME's side effects, faked ----
 *
 * The agent's clock, RNG and host name operations would act on the
 * machine running the tests: every agent here gets these instead. */

static struct {
	int clock_calls, clock_fail;
	uint64_t ns;
	int entropy_calls, entropy_fail;
	uint8_t entropy[BH_RESUME_ENTROPY];
	size_t entropy_len;
	int host_calls, host_fail;
	char host[BH_RESUME_NAME_LEN];
	int boot_id_calls, boot_id_fail, boot_id_at;
	int wait_calls;
	pid_t wait_pid;
	int poweroffs;
	int order; /* ++ per call: the clock, then the RNG, then the name */
	int clock_at, entropy_at, host_at;
} fres;

static int fake_set_clock(uint64_t ns)
{
	fres.clock_calls++;
	fres.clock_at = ++fres.order;
	fres.ns = ns;
	return fres.clock_fail ? -EPERM : 0;
}

static int fake_add_entropy(const uint8_t *buf, size_t len)
{
	fres.entropy_calls++;
	fres.entropy_at = ++fres.order;
	fres.entropy_len = len;
	memcpy(fres.entropy, buf,
	       len < sizeof(fres.entropy) ? len : sizeof(fres.entropy));
	return fres.entropy_fail ? -ENOTTY : 0;
}

static int fake_new_boot_id(void)
{
	fres.boot_id_calls++;
	fres.boot_id_at = ++fres.order;
	return fres.boot_id_fail ? -EPERM : 0;
}

static int fake_set_hostname(const char *name)
{
	fres.host_calls++;
	fres.host_at = ++fres.order;
	snprintf(fres.host, sizeof(fres.host), "%s", name);
	return fres.host_fail ? -EPERM : 0;
}

static int fake_wait_child(pid_t pid)
{
	fres.wait_calls++;
	fres.wait_pid = pid;
	return 0;
}

static void fake_power_off(void)
{
	fres.poweroffs++;
}

static const struct agent_resume_ops fake_resume_ops = {
	.set_clock = fake_set_clock,
	.add_entropy = fake_add_entropy,
	.new_boot_id = fake_new_boot_id,
	.set_hostname = fake_set_hostname,
	.wait_child = fake_wait_child,
	.power_off = fake_power_off,
};

/* A RESUME payload: ns, flags, entropy 0x40.., name NUL-padded. */
static void resume_payload(uint8_t p[BH_RESUME_LEN], uint32_t flags,
			   const char *name)
{
	uint8_t e[BH_RESUME_ENTROPY];
	size_t i;

	for (i = 0; i < sizeof(e); i++)
		e[i] = (uint8_t)(0x40 + i);
	assert_int_equal(bh_resume_build(p, 1764410000123456789ull, flags, e,
					 name),
			 BH_RESUME_LEN);
}

/* ---- the agent in a child process ---- */

static void agent_child(int fd)
{
	static struct agent_resume_ops ops;
	struct agent *a = malloc(sizeof(*a));
	int sfd = bh_make_sigfd(), r;

	if (!a || sfd < 0 || bh_set_nonblock(fd, 1) < 0)
		_exit(3);
	agent_init(a, fd, 0);
	/* The warm-up `true` is real here (spawned and reaped as on a
	 * qube), the rest fake. */
	ops = fake_resume_ops;
	ops.wait_child = agent_resume_system_ops.wait_child;
	a->resume_ops = &ops;
	if (agent_send_hello(a) < 0)
		_exit(4);
	r = agent_serve(a, sfd);
	agent_free(a);
	free(a);
	_exit(r < 0 ? 1 : 0);
}

struct host {
	int fd;
	pid_t pid;
	int pidfd;
	int reaped, wstatus;
	struct bh_chan *c;
	int64_t deadline;
	uint8_t payload[MAXP];
};

static int host_setup(void **state)
{
	struct host *h = calloc(1, sizeof(*h));
	int sv[2];

	if (!h || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -1;
	h->c = malloc(sizeof(*h->c));
	if (!h->c)
		return -1;
	h->pid = fork();
	if (h->pid < 0)
		return -1;
	if (h->pid == 0) {
		close(sv[0]);
		agent_child(sv[1]);
	}
	close(sv[1]);
	h->fd = sv[0];
	if (bh_set_nonblock(h->fd, 1) < 0)
		return -1;
	h->pidfd = (int)syscall(SYS_pidfd_open, h->pid, 0);
	if (h->pidfd < 0)
		return -1;
	bh_chan_init(h->c, h->fd, 64u << 20);
	*state = h;
	return 0;
}

/* Waits (bounded) for the agent to exit; 0 when it did. */
static int host_reap(struct host *h, int timeout_ms)
{
	struct pollfd p = { .fd = h->pidfd, .events = POLLIN };

	if (h->reaped)
		return 0;
	if (poll(&p, 1, timeout_ms) != 1)
		return -1;
	if (waitpid(h->pid, &h->wstatus, 0) != h->pid)
		return -1;
	h->reaped = 1;
	return 0;
}

static int host_teardown(void **state)
{
	struct host *h = *state;
	int r = 0;

	if (!h->reaped) {
		/* Ask politely, then hang up, then kill. */
		if (h->fd >= 0 &&
		    bh_chan_send(h->c, BH_MSG_POWEROFF, 0, NULL, 0) == 0)
			(void)bh_chan_flush(h->c);
		if (h->fd >= 0)
			close(h->fd);
		h->fd = -1;
		if (host_reap(h, TIMEOUT_MS) < 0) {
			kill(h->pid, SIGKILL);
			waitpid(h->pid, &h->wstatus, 0);
			r = -1;
		}
	}
	if (h->fd >= 0)
		close(h->fd);
	close(h->pidfd);
	bh_chan_free(h->c);
	free(h->c);
	free(h);
	return r;
}

static int remaining_ms(struct host *h)
{
	int64_t left = h->deadline - bh_now_ms();

	if (left <= 0)
		fail_msg("timed out waiting for the agent");
	return (int)left;
}

/* Waits for the next frame from the agent, writing our queue meanwhile.
 * Returns 1 with the frame (payload copied to h->payload), or 0 when the
 * agent closed the channel. Fails the test when nothing comes for
 * TIMEOUT_MS. */
static int next_frame(struct host *h, struct bh_frame_hdr *fh)
{
	h->deadline = bh_now_ms() + TIMEOUT_MS;
	for (;;) {
		const uint8_t *p;
		struct pollfd pfd;
		long n;
		int r = bh_chan_next(h->c, fh, &p);

		assert_true(r >= 0);
		if (r == 1) {
			memcpy(h->payload, p, fh->len);
			return 1;
		}
		r = bh_chan_flush(h->c);
		assert_true(r >= 0);
		pfd.fd = h->fd;
		pfd.events = POLLIN | (r == 1 ? POLLOUT : 0);
		pfd.revents = 0;
		if (poll(&pfd, 1, remaining_ms(h)) == 0)
			continue; /* remaining_ms fails next round */
		if (pfd.revents & (POLLIN | POLLHUP | POLLERR)) {
			n = bh_chan_read(h->c);
			if (n == 0)
				return 0;
			assert_true(n > 0 || n == -EAGAIN);
		}
	}
}

static void send_frame(struct host *h, uint32_t type, uint32_t stream,
		       const void *p, uint32_t len)
{
	assert_int_equal(bh_chan_send(h->c, type, stream, p, len), 0);
}

static void send_exec(struct host *h, uint32_t stream, char *const argv[])
{
	uint8_t req[4096];
	int n = bh_exec_req_encode(req, sizeof(req), argv, NULL);

	assert_true(n > 0);
	send_frame(h, BH_MSG_EXEC, stream, req, (uint32_t)n);
}

static void expect_hello(struct host *h)
{
	struct bh_frame_hdr fh;

	assert_int_equal(next_frame(h, &fh), 1);
	assert_int_equal(fh.type, BH_MSG_HELLO);
	assert_int_equal(fh.stream, 0);
	assert_int_equal(fh.len, 8);
	assert_int_equal(bh_get_u32(h->payload), BH_PROTO_VERSION);
	assert_int_equal(bh_get_u32(h->payload + 4), 0);
}

/* What came back on one stream. */
struct result {
	char out[8192], err[8192];
	size_t out_len, err_len;
	int out_eof, err_eof, exited;
	uint32_t kind, value;
	uint32_t outstanding; /* agent's output not yet credited back */
};

/* Handles one frame for the stream it belongs to: output is recorded and
 * credited back at once; EXIT must come after both EOFs. */
static void on_frame(struct host *h, const struct bh_frame_hdr *fh,
		     struct result *res)
{
	assert_false(res->exited); /* nothing after EXIT */
	switch (fh->type) {
	case BH_MSG_STDOUT:
	case BH_MSG_STDERR: {
		int out = fh->type == BH_MSG_STDOUT;
		char *buf = out ? res->out : res->err;
		size_t *len = out ? &res->out_len : &res->err_len;
		int *eof = out ? &res->out_eof : &res->err_eof;

		assert_false(*eof);
		if (fh->len == 0) {
			*eof = 1;
			break;
		}
		res->outstanding += bh_credit_cost(fh->len);
		assert_true(res->outstanding <= W);
		assert_true(*len + fh->len <= sizeof(res->out));
		memcpy(buf + *len, h->payload, fh->len);
		*len += fh->len;
		assert_int_equal(bh_chan_send_u32(h->c, BH_MSG_CREDIT,
						  fh->stream,
						  bh_credit_cost(fh->len)),
				 0);
		res->outstanding -= bh_credit_cost(fh->len);
		break;
	}
	case BH_MSG_EXIT:
		assert_int_equal(fh->len, 8);
		res->exited = 1;
		res->kind = bh_get_u32(h->payload);
		res->value = bh_get_u32(h->payload + 4);
		break;
	case BH_MSG_CREDIT:
		assert_int_equal(fh->len, 4);
		break;
	default:
		fail_msg("unexpected frame type %u on stream %u", fh->type,
			 fh->stream);
	}
}

/* Runs argv on `stream` with no stdin (EOF at once) to its EXIT. */
static void run_to_exit(struct host *h, uint32_t stream, char *const argv[],
			struct result *res)
{
	struct bh_frame_hdr fh;

	memset(res, 0, sizeof(*res));
	send_exec(h, stream, argv);
	send_frame(h, BH_MSG_STDIN, stream, NULL, 0);
	while (!res->exited) {
		assert_int_equal(next_frame(h, &fh), 1);
		assert_int_equal(fh.stream, stream);
		on_frame(h, &fh, res);
	}
}

static void test_hello_first(void **state)
{
	struct host *h = *state;

	expect_hello(h);
}

static void test_exit_code_and_output(void **state)
{
	struct host *h = *state;
	static char *const argv[] = { "/bin/sh", "-c",
				      "echo out; echo err >&2; exit 7", NULL };
	struct result *res = malloc(sizeof(*res));

	assert_non_null(res);
	expect_hello(h);
	run_to_exit(h, 1, argv, res);
	/* EXIT came after all output: both EOFs were seen before it. */
	assert_true(res->out_eof);
	assert_true(res->err_eof);
	assert_int_equal(res->out_len, 4);
	assert_memory_equal(res->out, "out\n", 4);
	assert_int_equal(res->err_len, 4);
	assert_memory_equal(res->err, "err\n", 4);
	assert_int_equal(res->kind, BH_EXIT_CODE);
	assert_int_equal(res->value, 7);
	free(res);
}

/* The shell exits at once, but a background job of it holds stdout open
 * and writes more when we say so: EXIT must wait for that output and the
 * EOFs, however early the shell was reaped. */
static void test_exit_waits_for_output(void **state)
{
	struct host *h = *state;
	static char *const argv[] = {
		"/bin/sh", "-c",
		"exec 3<&0; (read x <&3; echo \"late $x\") & "
		"echo out; echo err >&2; exit 7",
		NULL
	};
	struct result *res = calloc(1, sizeof(*res));
	struct bh_frame_hdr fh;

	assert_non_null(res);
	expect_hello(h);
	send_exec(h, 1, argv);
	while (res->out_len < 4 || res->err_len < 4) {
		assert_int_equal(next_frame(h, &fh), 1);
		assert_int_equal(fh.stream, 1);
		on_frame(h, &fh, res);
		assert_false(res->exited);
	}
	send_frame(h, BH_MSG_STDIN, 1, "go\n", 3);
	send_frame(h, BH_MSG_STDIN, 1, NULL, 0);
	while (!res->exited) {
		assert_int_equal(next_frame(h, &fh), 1);
		assert_int_equal(fh.stream, 1);
		on_frame(h, &fh, res);
	}
	assert_true(res->out_eof && res->err_eof);
	assert_int_equal(res->out_len, 12);
	assert_memory_equal(res->out, "out\nlate go\n", 12);
	assert_int_equal(res->err_len, 4);
	assert_int_equal(res->kind, BH_EXIT_CODE);
	assert_int_equal(res->value, 7);
	free(res);
}

static void test_signal(void **state)
{
	struct host *h = *state;
	static char *const argv[] = { "/bin/sh", "-c", "kill -9 $$", NULL };
	struct result *res = malloc(sizeof(*res));

	assert_non_null(res);
	expect_hello(h);
	run_to_exit(h, 1, argv, res);
	assert_true(res->out_eof && res->err_eof);
	assert_int_equal(res->kind, BH_EXIT_SIGNAL);
	assert_int_equal(res->value, 9);
	free(res);
}

static void test_nostart(void **state)
{
	struct host *h = *state;
	static char *const missing[] = { "/nonexistent/prog", NULL };
	static char *const missing_path[] = { "no-such-command-bh-test", NULL };
	static char *const dir[] = { "/tmp", NULL };
	char file[] = "/tmp/bh-test-noexec-XXXXXX";
	char *noexec[] = { file, NULL };
	struct result *res = malloc(sizeof(*res));
	int fd;

	assert_non_null(res);
	fd = mkstemp(file);
	assert_true(fd >= 0);
	assert_int_equal(bh_write_all(fd, "#!/bin/sh\necho hi\n", 18), 0);
	assert_int_equal(fchmod(fd, 0644), 0);
	close(fd);

	expect_hello(h);
	/* A command that never started sends EXIT and nothing else. */
	run_to_exit(h, 1, missing, res);
	assert_int_equal(res->kind, BH_EXIT_NOSTART);
	assert_int_equal(res->value, BH_NOSTART_NOTFOUND);
	assert_false(res->out_eof || res->err_eof);
	assert_int_equal(res->out_len + res->err_len, 0);

	run_to_exit(h, 2, missing_path, res);
	assert_int_equal(res->kind, BH_EXIT_NOSTART);
	assert_int_equal(res->value, BH_NOSTART_NOTFOUND);

	run_to_exit(h, 3, noexec, res);
	assert_int_equal(res->kind, BH_EXIT_NOSTART);
	assert_int_equal(res->value, BH_NOSTART_NOEXEC);
	assert_int_equal(res->out_len + res->err_len, 0);

	run_to_exit(h, 4, dir, res);
	assert_int_equal(res->kind, BH_EXIT_NOSTART);
	assert_int_equal(res->value, BH_NOSTART_NOEXEC);

	/* The stream id of a command that never started is free again. */
	static char *const ok[] = { "/bin/sh", "-c", "exit 3", NULL };

	run_to_exit(h, 1, ok, res);
	assert_int_equal(res->kind, BH_EXIT_CODE);
	assert_int_equal(res->value, 3);
	unlink(file);
	free(res);
}

static uint64_t xorshift(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

/* 1 MiB through cat: stdin sent within the credit the agent grants, stdout
 * credited back as it arrives; what comes out is what went in. */
static void test_cat_1mib(void **state)
{
	struct host *h = *state;
	static char *const argv[] = { "cat", NULL };
	enum { TOTAL = 1 << 20 };
	uint8_t *data = malloc(TOTAL);
	uint64_t seed = 0x9e3779b97f4a7c15ull;
	size_t sent = 0, got = 0, i, frames_out = 0;
	uint32_t stdin_credit = W, out_outstanding = 0;
	int eof_sent = 0, out_eof = 0, err_eof = 0, exited = 0;
	struct bh_frame_hdr fh;

	assert_non_null(data);
	for (i = 0; i < TOTAL; i += 8) {
		uint64_t v = xorshift(&seed);

		memcpy(data + i, &v, 8);
	}
	expect_hello(h);
	send_exec(h, 1, argv);
	while (!exited) {
		/* Send what the credit allows, in frames of varied size. */
		/* A frame uses its header's credit too (credit.h). */
		while (sent < TOTAL && bh_credit_payload_max(stdin_credit)) {
			uint32_t n = (uint32_t)(TOTAL - sent);
			uint32_t want = 1 + (uint32_t)(xorshift(&seed) % MAXP);

			if (n > want)
				n = want;
			if (n > bh_credit_payload_max(stdin_credit))
				n = bh_credit_payload_max(stdin_credit);
			send_frame(h, BH_MSG_STDIN, 1, data + sent, n);
			sent += n;
			stdin_credit -= bh_credit_cost(n);
		}
		if (sent == TOTAL && !eof_sent) {
			send_frame(h, BH_MSG_STDIN, 1, NULL, 0);
			eof_sent = 1;
		}
		assert_int_equal(next_frame(h, &fh), 1);
		assert_int_equal(fh.stream, 1);
		switch (fh.type) {
		case BH_MSG_CREDIT:
			assert_int_equal(fh.len, 4);
			stdin_credit += bh_get_u32(h->payload);
			/* Never past the window. */
			assert_true(stdin_credit <= W);
			break;
		case BH_MSG_STDOUT:
			assert_false(out_eof);
			if (fh.len == 0) {
				out_eof = 1;
				break;
			}
			/* Never past the credit we gave. */
			out_outstanding += bh_credit_cost(fh.len);
			assert_true(out_outstanding <= W);
			assert_true(got + fh.len <= TOTAL);
			if (memcmp(h->payload, data + got, fh.len))
				fail_msg("stdout differs in [%zu, %zu)", got,
					 got + fh.len);
			got += fh.len;
			frames_out++;
			assert_int_equal(bh_chan_send_u32(h->c, BH_MSG_CREDIT,
							  1,
							  bh_credit_cost(
								  fh.len)),
					 0);
			out_outstanding -= bh_credit_cost(fh.len);
			break;
		case BH_MSG_STDERR:
			assert_int_equal(fh.len, 0);
			assert_false(err_eof);
			err_eof = 1;
			break;
		case BH_MSG_EXIT:
			assert_true(out_eof && err_eof);
			assert_int_equal(bh_get_u32(h->payload), BH_EXIT_CODE);
			assert_int_equal(bh_get_u32(h->payload + 4), 0);
			exited = 1;
			break;
		default:
			fail_msg("unexpected frame type %u", fh.type);
		}
	}
	assert_int_equal(sent, TOTAL);
	assert_int_equal(got, TOTAL);
	assert_true(frames_out >= TOTAL / MAXP);
	/* All stdin was credited back in the end. */
	assert_int_equal(stdin_credit, W);
	free(data);
}

/* Two cats on streams 1 and 2, fed turn by turn: each answers before the
 * other is fed again, so both run at once, and each gets its own bytes. */
static void test_two_streams(void **state)
{
	struct host *h = *state;
	static char *const argv[] = { "cat", NULL };
	struct result *res = calloc(3, sizeof(*res));
	struct bh_frame_hdr fh;
	char line[64], want[2][2048];
	size_t wl[2] = { 0, 0 };
	int round, s;

	assert_non_null(res);
	expect_hello(h);
	send_exec(h, 1, argv);
	send_exec(h, 2, argv);
	for (round = 0; round < 10; round++) {
		for (s = 1; s <= 2; s++) {
			int n = snprintf(line, sizeof(line),
					 "stream %d round %d\n", s, round);

			memcpy(want[s - 1] + wl[s - 1], line, (size_t)n);
			wl[s - 1] += (size_t)n;
			send_frame(h, BH_MSG_STDIN, (uint32_t)s, line,
				   (uint32_t)n);
			/* Wait for this stream's echo of it. */
			while (res[s].out_len < wl[s - 1]) {
				assert_int_equal(next_frame(h, &fh), 1);
				assert_true(fh.stream == 1 || fh.stream == 2);
				on_frame(h, &fh, &res[fh.stream]);
			}
		}
	}
	send_frame(h, BH_MSG_STDIN, 2, NULL, 0);
	while (!res[2].exited) {
		assert_int_equal(next_frame(h, &fh), 1);
		assert_true(fh.stream == 1 || fh.stream == 2);
		on_frame(h, &fh, &res[fh.stream]);
	}
	/* Stream 1 still runs after stream 2 ended. */
	assert_false(res[1].exited);
	send_frame(h, BH_MSG_STDIN, 1, "last\n", 5);
	memcpy(want[0] + wl[0], "last\n", 5);
	wl[0] += 5;
	send_frame(h, BH_MSG_STDIN, 1, NULL, 0);
	while (!res[1].exited) {
		assert_int_equal(next_frame(h, &fh), 1);
		assert_int_equal(fh.stream, 1);
		on_frame(h, &fh, &res[1]);
	}
	for (s = 1; s <= 2; s++) {
		assert_int_equal(res[s].out_len, wl[s - 1]);
		assert_memory_equal(res[s].out, want[s - 1], wl[s - 1]);
		assert_int_equal(res[s].err_len, 0);
		assert_true(res[s].out_eof && res[s].err_eof);
		assert_int_equal(res[s].kind, BH_EXIT_CODE);
		assert_int_equal(res[s].value, 0);
	}
	free(res);
}

static void test_poweroff(void **state)
{
	struct host *h = *state;
	struct bh_frame_hdr fh;

	expect_hello(h);
	send_frame(h, BH_MSG_POWEROFF, 0, NULL, 0);
	/* The agent stops serving: the channel ends, the child exits 0. */
	assert_int_equal(next_frame(h, &fh), 0);
	assert_int_equal(host_reap(h, TIMEOUT_MS), 0);
	assert_true(WIFEXITED(h->wstatus));
	assert_int_equal(WEXITSTATUS(h->wstatus), 0);
}

static void test_host_hangs_up(void **state)
{
	struct host *h = *state;

	expect_hello(h);
	close(h->fd);
	h->fd = -1;
	assert_int_equal(host_reap(h, TIMEOUT_MS), 0);
	assert_true(WIFEXITED(h->wstatus));
	assert_int_equal(WEXITSTATUS(h->wstatus), 0);
}

static void test_bad_frame_stops(void **state)
{
	struct host *h = *state;
	struct bh_frame_hdr fh;
	static char *const argv[] = { "/bin/true", NULL };

	expect_hello(h);
	/* EXEC on stream 0: the agent stops with an error (exit 1). */
	send_exec(h, 0, argv);
	assert_int_equal(next_frame(h, &fh), 0);
	assert_int_equal(host_reap(h, TIMEOUT_MS), 0);
	assert_true(WIFEXITED(h->wstatus));
	assert_int_equal(WEXITSTATUS(h->wstatus), 1);
}

/* A restored qube's first frame is RESUME; it answers HELLO, and after
 * the warm-up (a real `true`, reaped) commands run as before. */
static void test_resume_warm_then_exec(void **state)
{
	struct host *h = *state;
	static char *const argv[] = { "/bin/sh", "-c", "echo ok", NULL };
	uint8_t p[BH_RESUME_LEN];
	struct result *res = malloc(sizeof(*res));

	assert_non_null(res);
	expect_hello(h);
	resume_payload(p, BH_RESUME_WARM, "disp9");
	send_frame(h, BH_MSG_RESUME, 0, p, sizeof(p));
	expect_hello(h);
	/* Again, as a preloaded qube gets after each cont. */
	resume_payload(p, 0, "disp10");
	send_frame(h, BH_MSG_RESUME, 0, p, sizeof(p));
	expect_hello(h);
	run_to_exit(h, 1, argv, res);
	assert_int_equal(res->out_len, 3);
	assert_memory_equal(res->out, "ok\n", 3);
	assert_int_equal(res->kind, BH_EXIT_CODE);
	assert_int_equal(res->value, 0);
	free(res);
}

static void test_resume_bad_name_stops(void **state)
{
	struct host *h = *state;
	struct bh_frame_hdr fh;
	uint8_t p[BH_RESUME_LEN];

	expect_hello(h);
	resume_payload(p, 0, "disp9");
	p[76 + 2] = '/'; /* "di/p9" */
	send_frame(h, BH_MSG_RESUME, 0, p, sizeof(p));
	/* No HELLO: the agent stops with an error (exit 1). */
	assert_int_equal(next_frame(h, &fh), 0);
	assert_int_equal(host_reap(h, TIMEOUT_MS), 0);
	assert_true(WIFEXITED(h->wstatus));
	assert_int_equal(WEXITSTATUS(h->wstatus), 1);
}

/* ---- agent_handle_frame with a fake spawn ---- */

static struct {
	int calls;
	int fail; /* return -fail instead of starting */
	char argv0[64];
	char user[64];
	/* The test's ends of the last fake command's pipes. */
	int stdin_r, stdout_w, stderr_w;
	int no_fds; /* give the agent -1 for every fd */
} fake;

static int fake_spawn(const struct bh_exec_req *req, const char *user,
		      struct spawned *out)
{
	int in[2], o[2], e[2];

	fake.calls++;
	snprintf(fake.argv0, sizeof(fake.argv0), "%s", req->argv[0]);
	snprintf(fake.user, sizeof(fake.user), "%s", user);
	if (fake.fail)
		return -fake.fail;
	out->pid = 0x7ffffff0 - fake.calls; /* no such process */
	if (fake.no_fds) {
		out->in_fd = out->out_fd = out->err_fd = -1;
		return 0;
	}
	if (pipe2(in, O_CLOEXEC) || pipe2(o, O_CLOEXEC) || pipe2(e, O_CLOEXEC))
		return -BH_NOSTART_OTHER;
	bh_set_nonblock(in[1], 1);
	bh_set_nonblock(o[0], 1);
	bh_set_nonblock(e[0], 1);
	out->in_fd = in[1];
	out->out_fd = o[0];
	out->err_fd = e[0];
	if (fake.stdin_r >= 0)
		close(fake.stdin_r);
	if (fake.stdout_w >= 0)
		close(fake.stdout_w);
	if (fake.stderr_w >= 0)
		close(fake.stderr_w);
	fake.stdin_r = in[0];
	fake.stdout_w = o[1];
	fake.stderr_w = e[1];
	return 0;
}

struct direct {
	struct agent *a;
	int sv[2];
	uint8_t req[512];
	int req_len;
	uint8_t *big;
};

static int direct_setup(void **state)
{
	static char *const argv[] = { "/bin/cat", "-u", NULL };
	struct direct *d = calloc(1, sizeof(*d));

	if (!d)
		return -1;
	d->a = malloc(sizeof(*d->a));
	d->big = calloc(1, MAXP);
	if (!d->a || !d->big)
		return -1;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, d->sv) < 0)
		return -1;
	memset(d->a, 0xa5, sizeof(*d->a));
	agent_init(d->a, d->sv[0], 0);
	d->a->spawn = fake_spawn;
	d->a->resume_ops = &fake_resume_ops;
	memset(&fake, 0, sizeof(fake));
	memset(&fres, 0, sizeof(fres));
	fake.stdin_r = fake.stdout_w = fake.stderr_w = -1;
	d->req_len = bh_exec_req_encode(d->req, sizeof(d->req), argv, NULL);
	if (d->req_len <= 0)
		return -1;
	*state = d;
	return 0;
}

static int direct_teardown(void **state)
{
	struct direct *d = *state;

	agent_free(d->a);
	free(d->a);
	close(d->sv[0]);
	close(d->sv[1]);
	if (fake.stdin_r >= 0)
		close(fake.stdin_r);
	if (fake.stdout_w >= 0)
		close(fake.stdout_w);
	if (fake.stderr_w >= 0)
		close(fake.stderr_w);
	free(d->big);
	free(d);
	return 0;
}

static int frame(struct direct *d, uint32_t type, uint32_t stream,
		 const void *p, uint32_t len)
{
	struct bh_frame_hdr h = { type, stream, len };

	return agent_handle_frame(d->a, &h, p);
}

static int frame_u32(struct direct *d, uint32_t type, uint32_t stream,
		     uint32_t v)
{
	uint8_t p[4] = { 0 };

	bh_put_u32(p, v);
	return frame(d, type, stream, p, 4);
}

static int exec_on(struct direct *d, uint32_t stream)
{
	return frame(d, BH_MSG_EXEC, stream, d->req, (uint32_t)d->req_len);
}

/* The next frame the agent queued (not written: nothing flushes here). */
static void take(struct bh_chan *c, struct bh_frame_hdr *h,
		 const uint8_t **payload)
{
	assert_true(bh_chan_pending(c) >= BH_FRAME_HDR_LEN);
	assert_int_equal(bh_frame_hdr_decode(c->out + c->out_off, h), 0);
	assert_true(bh_chan_pending(c) >= BH_FRAME_HDR_LEN + h->len);
	*payload = c->out + c->out_off + BH_FRAME_HDR_LEN;
	c->out_off += BH_FRAME_HDR_LEN + h->len;
}

static void expect_exit_queued(struct direct *d, uint32_t stream,
			       uint32_t kind, uint32_t value)
{
	struct bh_frame_hdr h;
	const uint8_t *p;

	take(&d->a->chan, &h, &p);
	assert_int_equal(h.type, BH_MSG_EXIT);
	assert_int_equal(h.stream, stream);
	assert_int_equal(h.len, 8);
	assert_int_equal(bh_get_u32(p), kind);
	assert_int_equal(bh_get_u32(p + 4), value);
}

static void test_direct_exec_ok(void **state)
{
	struct direct *d = *state;

	assert_int_equal(exec_on(d, 5), 0);
	assert_int_equal(fake.calls, 1);
	assert_string_equal(fake.argv0, "/bin/cat");
	assert_int_equal(bh_chan_pending(&d->a->chan), 0);
	assert_int_equal(d->a->poweroff_requested, 0);
}

static void test_direct_unknown_type(void **state)
{
	struct direct *d = *state;
	static const uint32_t types[] = {
		0, BH_MSG_HELLO, BH_MSG_STDOUT, BH_MSG_STDERR, BH_MSG_EXIT, 9,
		BH_MSG_RUN_DISPVM, BH_MSG_ERROR, 0x102u, 0xffffffffu,
	};
	uint8_t p[8] = { 1, 0, 0, 0, 0, 0, 0, 0 };
	size_t i;

	for (i = 0; i < ARRAY_LEN(types); i++) {
		assert_int_equal(frame(d, types[i], 0, p, 8), -EPROTO);
		assert_int_equal(frame(d, types[i], 1, p, 8), -EPROTO);
		assert_int_equal(frame(d, types[i], 1, p, 0), -EPROTO);
	}
	assert_int_equal(fake.calls, 0);
	assert_int_equal(d->a->poweroff_requested, 0);
	assert_int_equal(bh_chan_pending(&d->a->chan), 0);
}

static void test_direct_exec_stream0(void **state)
{
	struct direct *d = *state;

	assert_int_equal(exec_on(d, 0), -EPROTO);
	assert_int_equal(fake.calls, 0);
	assert_int_equal(bh_chan_pending(&d->a->chan), 0);
}

static void test_direct_exec_malformed(void **state)
{
	struct direct *d = *state;
	uint8_t p[64] = { 0 };
	size_t i;

	/* Empty payload. */
	assert_int_equal(frame(d, BH_MSG_EXEC, 1, p, 0), -EPROTO);
	/* argc 0. */
	memset(p, 0, sizeof(p));
	assert_int_equal(frame(d, BH_MSG_EXEC, 1, p, 9), -EPROTO);
	/* argc 1 without the string's NUL. */
	bh_put_u32(p, 1);
	memcpy(p + 8, "/bin/sh", 7);
	assert_int_equal(frame(d, BH_MSG_EXEC, 1, p, 15), -EPROTO);
	/* argc 2 with one string. */
	bh_put_u32(p, 2);
	memcpy(p + 8, "/bin/sh", 8);
	assert_int_equal(frame(d, BH_MSG_EXEC, 1, p, 16), -EPROTO);
	/* Huge counts. */
	bh_put_u32(p, 0xffffffffu);
	assert_int_equal(frame(d, BH_MSG_EXEC, 1, p, 16), -EPROTO);
	/* A bad environment entry. */
	bh_put_u32(p, 1);
	bh_put_u32(p + 4, 1);
	memcpy(p + 8, "/bin/sh\0=x", 11);
	assert_int_equal(frame(d, BH_MSG_EXEC, 1, p, 19), -EPROTO);
	/* Every truncation of a good request. */
	for (i = 1; i < (size_t)d->req_len; i++)
		assert_int_equal(frame(d, BH_MSG_EXEC, 1, d->req, (uint32_t)i),
				 -EPROTO);
	assert_int_equal(fake.calls, 0);
	assert_int_equal(bh_chan_pending(&d->a->chan), 0);
	/* No stream was taken by any of it. */
	assert_int_equal(exec_on(d, 1), 0);
	assert_int_equal(fake.calls, 1);
}

static void test_direct_exec_reuse(void **state)
{
	struct direct *d = *state;

	assert_int_equal(exec_on(d, 7), 0);
	assert_int_equal(exec_on(d, 7), -EPROTO);
	assert_int_equal(fake.calls, 1);
	/* Another id is fine. */
	assert_int_equal(exec_on(d, 8), 0);
	assert_int_equal(fake.calls, 2);
}

static void test_direct_spawn_fails(void **state)
{
	struct direct *d = *state;

	fake.fail = BH_NOSTART_OTHER;
	assert_int_equal(exec_on(d, 3), 0);
	assert_int_equal(fake.calls, 1);
	expect_exit_queued(d, 3, BH_EXIT_NOSTART, BH_NOSTART_OTHER);
	assert_int_equal(bh_chan_pending(&d->a->chan), 0);
	/* The id is not live: STDIN for it is ignored, EXEC may reuse it. */
	assert_int_equal(frame(d, BH_MSG_STDIN, 3, "x", 1), 0);
	fake.fail = BH_NOSTART_NOTFOUND;
	assert_int_equal(exec_on(d, 3), 0);
	expect_exit_queued(d, 3, BH_EXIT_NOSTART, BH_NOSTART_NOTFOUND);
	fake.fail = 0;
	assert_int_equal(exec_on(d, 3), 0);
	assert_int_equal(fake.calls, 3);
	assert_int_equal(bh_chan_pending(&d->a->chan), 0);
}

static void test_direct_too_many_streams(void **state)
{
	struct direct *d = *state;
	uint32_t i;

	fake.no_fds = 1;
	for (i = 1; i <= BH_MAX_STREAMS; i++)
		assert_int_equal(exec_on(d, i), 0);
	assert_int_equal(fake.calls, BH_MAX_STREAMS);
	/* One more is refused with an EXIT, not started. */
	assert_int_equal(exec_on(d, 1000), 0);
	assert_int_equal(fake.calls, BH_MAX_STREAMS);
	expect_exit_queued(d, 1000, BH_EXIT_NOSTART, BH_NOSTART_OTHER);
	assert_int_equal(bh_chan_pending(&d->a->chan), 0);
}

static void test_direct_stdin_window(void **state)
{
	struct direct *d = *state;
	unsigned i;

	assert_int_equal(exec_on(d, 1), 0);
	/* Nothing pumps stdin here, so all of it stays outstanding. Each
	 * frame uses its header's credit too: three full frames and the
	 * rest make the window. */
	for (i = 0; i < W / MAXP - 1; i++)
		assert_int_equal(frame(d, BH_MSG_STDIN, 1, d->big, MAXP), 0);
	assert_int_equal(frame(d, BH_MSG_STDIN, 1, d->big,
			       W - 4 * BH_FRAME_HDR_LEN - 3 * MAXP),
			 0);
	assert_int_equal(frame(d, BH_MSG_STDIN, 1, "x", 1), -EPROTO);

	/* A fresh stream: all but one 1-byte frame's worth, then that. */
	assert_int_equal(exec_on(d, 2), 0);
	for (i = 0; i < W / MAXP - 1; i++)
		assert_int_equal(frame(d, BH_MSG_STDIN, 2, d->big, MAXP), 0);
	assert_int_equal(frame(d, BH_MSG_STDIN, 2, d->big,
			       W - 5 * BH_FRAME_HDR_LEN - 3 * MAXP - 1),
			 0);
	assert_int_equal(frame(d, BH_MSG_STDIN, 2, d->big, 2), -EPROTO);
	assert_int_equal(frame(d, BH_MSG_STDIN, 2, d->big, 1), 0);
	assert_int_equal(frame(d, BH_MSG_STDIN, 2, d->big, 1), -EPROTO);
	/* The credit of stream 1 is its own. */
	assert_int_equal(exec_on(d, 3), 0);
	assert_int_equal(frame(d, BH_MSG_STDIN, 3, d->big, MAXP), 0);
}

static void test_direct_stdin_after_eof(void **state)
{
	struct direct *d = *state;
	char c;

	assert_int_equal(exec_on(d, 1), 0);
	assert_int_equal(frame(d, BH_MSG_STDIN, 1, NULL, 0), 0);
	/* With nothing buffered, EOF closes the command's stdin at once. */
	assert_int_equal(read(fake.stdin_r, &c, 1), 0);
	assert_int_equal(frame(d, BH_MSG_STDIN, 1, "x", 1), -EPROTO);
	assert_int_equal(frame(d, BH_MSG_STDIN, 1, NULL, 0), -EPROTO);

	/* With data buffered, EOF waits for it (the pipe stays open). */
	assert_int_equal(exec_on(d, 2), 0);
	assert_int_equal(frame(d, BH_MSG_STDIN, 2, "abc", 3), 0);
	assert_int_equal(frame(d, BH_MSG_STDIN, 2, NULL, 0), 0);
	assert_int_equal(frame(d, BH_MSG_STDIN, 2, "d", 1), -EPROTO);
	assert_int_equal(fcntl(fake.stdin_r, F_SETFL, O_NONBLOCK), 0);
	errno = 0;
	assert_int_equal(read(fake.stdin_r, &c, 1), -1);
	assert_int_equal(errno, EAGAIN);
}

/* A stream whose input moved to a data port: when the sending qube dies,
 * its port vanishes (port_read ends the input) and the host also sends
 * an empty STDIN. Whichever comes first, the second is no protocol
 * error; data on the channel after the switch still is. (In the rpc
 * suite this race powered a target off when its caller was killed.) */
static void test_direct_port_eof_twice(void **state)
{
	struct direct *d = *state;
	struct agent_stream *s = NULL;
	size_t i;

	assert_int_equal(exec_on(d, 1), 0);
	assert_int_equal(frame_u32(d, BH_MSG_PORT_OPEN, 1, 3), 0);
	assert_int_equal(frame(d, BH_MSG_PORT_SWITCH, 1, NULL, 0), 0);
	assert_int_equal(frame(d, BH_MSG_STDIN, 1, "x", 1), -EPROTO);
	for (i = 0; i < BH_MAX_STREAMS; i++)
		if (d->a->streams[i].id == 1)
			s = &d->a->streams[i];
	assert_non_null(s);
	assert_int_equal(s->in_switched, 1);
	/* What port_read does when the port vanishes. */
	s->in_end_known = 1;
	s->in_expect = s->in_got;
	s->stdin_eof = 1;
	assert_int_equal(frame(d, BH_MSG_STDIN, 1, NULL, 0), 0);
	assert_int_equal(frame(d, BH_MSG_STDIN, 1, "y", 1), -EPROTO);
}

static void test_direct_credit(void **state)
{
	struct direct *d = *state;
	uint8_t p[8] = { 0 };

	assert_int_equal(exec_on(d, 1), 0);
	/* Wrong lengths. */
	assert_int_equal(frame(d, BH_MSG_CREDIT, 1, p, 0), -EPROTO);
	assert_int_equal(frame(d, BH_MSG_CREDIT, 1, p, 3), -EPROTO);
	assert_int_equal(frame(d, BH_MSG_CREDIT, 1, p, 5), -EPROTO);
	assert_int_equal(frame(d, BH_MSG_CREDIT, 1, p, 8), -EPROTO);
	/* Also for a stream that does not exist: the length is checked
	 * first. */
	assert_int_equal(frame(d, BH_MSG_CREDIT, 99, p, 3), -EPROTO);
	/* On stream 0. */
	assert_int_equal(frame_u32(d, BH_MSG_CREDIT, 0, 0), -EPROTO);
	/* A grant of nothing is never needed (protocol 2). */
	assert_int_equal(frame_u32(d, BH_MSG_CREDIT, 1, 0), -EPROTO);
	/* The agent starts with a full window: any grant is too much. */
	assert_int_equal(frame_u32(d, BH_MSG_CREDIT, 1, 1), -EPROTO);
	assert_int_equal(frame_u32(d, BH_MSG_CREDIT, 1, W), -EPROTO);
	assert_int_equal(frame_u32(d, BH_MSG_CREDIT, 1, 0xffffffffu), -EPROTO);
	assert_int_equal(frame_u32(d, BH_MSG_CREDIT, 1, 0u - W), -EPROTO);
	assert_int_equal(bh_chan_pending(&d->a->chan), 0);
}

static void test_direct_unknown_stream(void **state)
{
	struct direct *d = *state;

	/* Data and credit may race with a stream's end: ignored. */
	assert_int_equal(frame(d, BH_MSG_STDIN, 42, "x", 1), 0);
	assert_int_equal(frame(d, BH_MSG_STDIN, 42, NULL, 0), 0);
	assert_int_equal(frame(d, BH_MSG_STDIN, 42, d->big, MAXP), 0);
	assert_int_equal(frame_u32(d, BH_MSG_CREDIT, 42, 100), 0);
	assert_int_equal(frame_u32(d, BH_MSG_CREDIT, 42, 0xffffffffu), 0);
	assert_int_equal(fake.calls, 0);
	assert_int_equal(bh_chan_pending(&d->a->chan), 0);
	/* And they did not create the stream. */
	assert_int_equal(exec_on(d, 42), 0);
	assert_int_equal(fake.calls, 1);
	/* STDIN on stream 0 is not "unknown", it is wrong. */
	assert_int_equal(frame(d, BH_MSG_STDIN, 0, "x", 1), -EPROTO);
}

static void test_direct_poweroff(void **state)
{
	struct direct *d = *state;
	uint8_t p[4] = { 0 };

	assert_int_equal(frame(d, BH_MSG_POWEROFF, 0, p, 1), -EPROTO);
	assert_int_equal(frame(d, BH_MSG_POWEROFF, 0, p, 4), -EPROTO);
	assert_int_equal(frame(d, BH_MSG_POWEROFF, 1, NULL, 0), -EPROTO);
	assert_int_equal(frame(d, BH_MSG_POWEROFF, 0xffffffffu, NULL, 0),
			 -EPROTO);
	assert_int_equal(d->a->poweroff_requested, 0);
	assert_int_equal(frame(d, BH_MSG_POWEROFF, 0, NULL, 0), 0);
	assert_int_equal(d->a->poweroff_requested, 1);
}

/* ---- RESUME ---- */

static int resume(struct direct *d, uint32_t flags, const char *name)
{
	uint8_t p[BH_RESUME_LEN];

	resume_payload(p, flags, name);
	return frame(d, BH_MSG_RESUME, 0, p, sizeof(p));
}

static void expect_hello_queued(struct direct *d)
{
	struct bh_frame_hdr h;
	const uint8_t *p;

	take(&d->a->chan, &h, &p);
	assert_int_equal(h.type, BH_MSG_HELLO);
	assert_int_equal(h.stream, 0);
	assert_int_equal(h.len, 8);
	assert_int_equal(bh_get_u32(p), BH_PROTO_VERSION);
	assert_int_equal(bh_get_u32(p + 4), 0);
	assert_int_equal(bh_chan_pending(&d->a->chan), 0);
}

static void assert_no_stream(struct direct *d)
{
	size_t i;

	for (i = 0; i < BH_MAX_STREAMS; i++)
		assert_int_equal(d->a->streams[i].id, 0);
}

static void test_direct_resume_ok(void **state)
{
	struct direct *d = *state;
	size_t i;

	assert_int_equal(resume(d, 0, "disp42"), 0);
	assert_int_equal(fres.clock_calls, 1);
	assert_true(fres.ns == 1764410000123456789ull);
	assert_int_equal(fres.entropy_calls, 1);
	assert_int_equal(fres.entropy_len, BH_RESUME_ENTROPY);
	for (i = 0; i < BH_RESUME_ENTROPY; i++)
		assert_int_equal(fres.entropy[i], 0x40 + i);
	assert_int_equal(fres.host_calls, 1);
	assert_string_equal(fres.host, "disp42");
	/* In the spec's order; the boot_id is drawn after the reseed. */
	assert_int_equal(fres.boot_id_calls, 1);
	assert_true(fres.clock_at < fres.entropy_at);
	assert_true(fres.entropy_at < fres.boot_id_at);
	assert_true(fres.boot_id_at < fres.host_at);
	/* No warm-up asked: nothing started. */
	assert_int_equal(fake.calls, 0);
	assert_int_equal(fres.wait_calls, 0);
	assert_int_equal(fres.poweroffs, 0);
	expect_hello_queued(d);
	/* And again (a preloaded qube, after each cont). */
	assert_int_equal(resume(d, 0, "disp43"), 0);
	assert_string_equal(fres.host, "disp43");
	assert_int_equal(fres.boot_id_calls, 2);
	expect_hello_queued(d);
}

/* The warm-up runs `true` as root through the agent's spawn, reaps it,
 * and is not a job: a disposable does not start to linger. */
static void test_direct_resume_warm(void **state)
{
	struct direct *d = *state;
	char c;

	d->a->disposable = 1;
	assert_int_equal(resume(d, BH_RESUME_WARM, "disp42"), 0);
	assert_int_equal(fake.calls, 1);
	assert_string_equal(fake.argv0, "true");
	assert_string_equal(fake.user, "");
	assert_int_equal(fres.wait_calls, 1);
	assert_int_equal(fres.wait_pid, 0x7ffffff0 - 1);
	/* The agent's pipe ends are closed: `true` reads EOF, its output
	 * goes nowhere. (Non-blocking: an open end fails, not hangs.) */
	assert_int_equal(fcntl(fake.stdin_r, F_SETFL, O_NONBLOCK), 0);
	assert_int_equal(read(fake.stdin_r, &c, 1), 0);
	errno = 0;
	assert_int_equal(write(fake.stdout_w, "x", 1), -1);
	assert_int_equal(errno, EPIPE);
	errno = 0;
	assert_int_equal(write(fake.stderr_w, "x", 1), -1);
	assert_int_equal(errno, EPIPE);
	assert_no_stream(d);
	assert_int_equal(d->a->jobs_finished, 0);
	expect_hello_queued(d);
	/* A warm-up that cannot start is no job either. */
	fake.fail = BH_NOSTART_NOTFOUND;
	assert_int_equal(resume(d, BH_RESUME_WARM, "disp42"), 0);
	assert_int_equal(fake.calls, 2);
	assert_int_equal(fres.wait_calls, 1);
	assert_int_equal(d->a->jobs_finished, 0);
	expect_hello_queued(d);
	/* Streams work as before. */
	fake.fail = 0;
	assert_int_equal(exec_on(d, 1), 0);
	assert_int_equal(fake.calls, 3);
}

static void expect_nothing_done(struct direct *d)
{
	assert_int_equal(fres.clock_calls, 0);
	assert_int_equal(fres.entropy_calls, 0);
	assert_int_equal(fres.host_calls, 0);
	assert_int_equal(fres.boot_id_calls, 0);
	assert_int_equal(fres.poweroffs, 0);
	assert_int_equal(fake.calls, 0);
	assert_int_equal(bh_chan_pending(&d->a->chan), 0);
}

/* boot_id's format: a version 4 UUID as the kernel prints one. */
static void test_uuid_format(void **state)
{
	uint8_t b[16];
	char id[38];

	(void)state;
	memset(b, 0xff, sizeof(b));
	agent_uuid_format(b, id);
	assert_string_equal(id, "ffffffff-ffff-4fff-bfff-ffffffffffff\n");
	memset(b, 0, sizeof(b));
	agent_uuid_format(b, id);
	assert_string_equal(id, "00000000-0000-4000-8000-000000000000\n");
}

static void test_direct_resume_refused(void **state)
{
	struct direct *d = *state;
	uint8_t p[BH_RESUME_LEN + 1];

	/* Bad names: nothing is set, no HELLO. */
	resume_payload(p, 0, "disp42");
	p[76 + 4] = ' ';
	assert_int_equal(frame(d, BH_MSG_RESUME, 0, p, BH_RESUME_LEN),
			 -EPROTO);
	resume_payload(p, 0, "disp42");
	memset(p + 76, 'a', BH_RESUME_NAME_LEN); /* no NUL */
	assert_int_equal(frame(d, BH_MSG_RESUME, 0, p, BH_RESUME_LEN),
			 -EPROTO);
	memset(p + 76, 0, BH_RESUME_NAME_LEN); /* empty */
	assert_int_equal(frame(d, BH_MSG_RESUME, 0, p, BH_RESUME_LEN),
			 -EPROTO);
	/* Unknown flags. */
	resume_payload(p, 0, "disp42");
	bh_put_u32(p + 8, 2);
	assert_int_equal(frame(d, BH_MSG_RESUME, 0, p, BH_RESUME_LEN),
			 -EPROTO);
	/* Wrong lengths and streams (the frame check). */
	resume_payload(p, 0, "disp42");
	p[BH_RESUME_LEN] = 0;
	assert_int_equal(frame(d, BH_MSG_RESUME, 0, p, BH_RESUME_LEN - 1),
			 -EPROTO);
	assert_int_equal(frame(d, BH_MSG_RESUME, 0, p, BH_RESUME_LEN + 1),
			 -EPROTO);
	assert_int_equal(frame(d, BH_MSG_RESUME, 0, p, 0), -EPROTO);
	assert_int_equal(frame(d, BH_MSG_RESUME, 1, p, BH_RESUME_LEN),
			 -EPROTO);
	assert_int_equal(frame(d, BH_MSG_RESUME, 0x80000001u, p,
			       BH_RESUME_LEN),
			 -EPROTO);
	expect_nothing_done(d);
	/* An agent without operations (bh-agent --serve-fd) refuses even a
	 * good one. */
	d->a->resume_ops = NULL;
	assert_int_equal(frame(d, BH_MSG_RESUME, 0, p, BH_RESUME_LEN),
			 -EPROTO);
	expect_nothing_done(d);
}

/* The clock and the name are not worth stopping for. */
static void test_direct_resume_clock_name_fail(void **state)
{
	struct direct *d = *state;

	fres.clock_fail = 1;
	fres.host_fail = 1;
	fres.boot_id_fail = 1;
	assert_int_equal(resume(d, BH_RESUME_WARM, "disp42"), 0);
	assert_int_equal(fres.boot_id_calls, 1);
	assert_int_equal(fres.entropy_calls, 1);
	assert_int_equal(fres.host_calls, 1);
	assert_int_equal(fake.calls, 1);
	assert_int_equal(fres.poweroffs, 0);
	expect_hello_queued(d);
}

/* A clone that cannot reseed must run nothing: power off, no name, no
 * warm-up, no HELLO, and the agent stops serving. */
static void test_direct_resume_rng_fails(void **state)
{
	struct direct *d = *state;

	fres.entropy_fail = 1;
	assert_true(resume(d, BH_RESUME_WARM, "disp42") < 0);
	assert_int_equal(fres.poweroffs, 1);
	assert_int_equal(fres.boot_id_calls, 0);
	assert_int_equal(fres.host_calls, 0);
	assert_int_equal(fake.calls, 0);
	assert_int_equal(bh_chan_pending(&d->a->chan), 0);
}

int main(void)
{
	const struct CMUnitTest serve_tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, host_setup, host_teardown)
		T(test_hello_first),
		T(test_exit_code_and_output),
		T(test_exit_waits_for_output),
		T(test_signal),
		T(test_nostart),
		T(test_cat_1mib),
		T(test_two_streams),
		T(test_poweroff),
		T(test_host_hangs_up),
		T(test_bad_frame_stops),
		T(test_resume_warm_then_exec),
		T(test_resume_bad_name_stops),
#undef T
	};
	const struct CMUnitTest direct_tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, direct_setup, direct_teardown)
		T(test_direct_exec_ok),
		T(test_direct_unknown_type),
		T(test_direct_exec_stream0),
		T(test_direct_exec_malformed),
		T(test_direct_exec_reuse),
		T(test_direct_spawn_fails),
		T(test_direct_too_many_streams),
		T(test_direct_stdin_window),
		T(test_direct_stdin_after_eof),
		T(test_direct_port_eof_twice),
		T(test_direct_credit),
		T(test_direct_unknown_stream),
		T(test_direct_poweroff),
		T(test_direct_resume_ok),
		T(test_direct_resume_warm),
		T(test_direct_resume_refused),
		T(test_direct_resume_clock_name_fail),
		T(test_direct_resume_rng_fails),
		T(test_uuid_format),
#undef T
	};
	int r;

	signal(SIGPIPE, SIG_IGN);
	r = cmocka_run_group_tests_name("agent_serve", serve_tests, NULL,
					NULL);
	r += cmocka_run_group_tests_name("agent_handle_frame", direct_tests,
					 NULL, NULL);
	return r;
}

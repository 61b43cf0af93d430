/* libFuzzer target: the agent's side of the channel, i.e. the bytes the host
 * sends to bh-agent. They go through the real reassembly (a socket pair and
 * bh_chan_read/bh_chan_next, as the agent's read_channel does) and every
 * complete frame goes to agent_handle_frame() on a struct agent from
 * agent_init(); the first error stops the input, as the agent stops
 * serving then.
 *
 * No process is started: a.spawn is a fake that looks at argv[0]
 *   "missing" / "noexec" / "fail"  -> -BH_NOSTART_NOTFOUND / _NOEXEC / _OTHER
 *   "nostdin"                      -> started, but its stdin already closed
 *                                     (as after pump_stdin met EPIPE)
 *   anything else                  -> started with a fake pid and real
 *                                     non-blocking pipes, whose far ends are
 *                                     closed at once
 * and the target checks that every fd it handed out is closed once
 * agent_free has run, so no fd leaks from one input to the next.
 *
 * RESUME never touches this machine: a.resume_ops are fakes, which fail
 * as the payload says, so that the fuzzer steers them: the clock when
 * the low byte of realtime_ns is 0xee, the RNG when entropy[0] is 0xee
 * (power_off only counts), the host name when the name starts with 'X'.
 * The warm-up's `true` goes through the fake spawn like any command; when
 * the agent reaps it, its three fds must already be closed.
 *
 * Input:
 *   byte 0   bits 0-2  how the stream is cut into reads (0: as few as
 *                      possible; else random sizes up to a bound)
 *            bit 3     disposable agent
 *            bit 4     after each read a random command exits
 *                      (agent_child_exited), as the SIGCHLD reaper would
 *            bits 5-7  0-3: the input is all the host sends; 4-7: the
 *                      target first sends EXEC `cat` on stream 1 and then
 *                      0, 256 KiB - 1 or 256 KiB of stdin for it, or EXEC
 *                      on streams 1..63 (full frames, through the same
 *                      socket), so that short inputs reach the credit
 *                      limit and the stream limit
 *   byte 1   seed of the random read sizes and exits
 *   rest     the host's byte stream
 *
 * Invariants checked after every frame: for every live stream
 * stdin_len <= stdin_outstanding <= BH_STREAM_WINDOW and
 * send_credit.avail <= BH_STREAM_WINDOW; stream ids are unique; fds of live
 * streams are open and distinct; the output queue stays in its bound and
 * holds only frames the host accepts from a guest; after a power-off for
 * a failed reseed, nothing more is queued. */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/serve.h"
#include "proto/rpc_req.h"
#include "agent/spawn.h"
#include "lib/log.h"
#include "lib/util.h"
#include "proto/chan.h"
#include "proto/exec_req.h"
#include "proto/frame.h"
#include "proto/resume.h"

#include "fuzz_common.h"

/* AGENT_CHAN_OUT_MAX is private to serve.c; same value. */
#define FUZZ_AGENT_OUT_MAX                                                 \
	(BH_MAX_STREAMS * (BH_STREAM_WINDOW + 64u * BH_FRAME_HDR_LEN) +    \
	 64u * 1024u)
/* Pipe ends handed out per input: at most BH_MAX_STREAMS live commands,
 * three fds each; a slot is only taken by a successful spawn and slots
 * are only freed by agent_free, so this bounds one input. */
#define MAX_FDS (3 * BH_MAX_STREAMS)
#define FAKE_PID_BASE 4000000

/* sv[0]: the host's end (we write the input there); sv[1]: the agent's. */
static int sv[2] = { -1, -1 };
static struct stat sv_st[2];
/* struct agent holds a 128 KiB channel buffer: off the stack. */
static struct agent a;
static int handed[MAX_FDS];
static size_t n_handed;
static pid_t next_pid;
/* handed[] index of the last spawn's first fd, and its pid. */
static size_t last_spawn_mark;
static pid_t last_spawn_pid;
static int powered_off;

/* Streams the target sends before the input when byte 0 asks (bits 5-7):
 * what the host had sent already, so that short inputs start from a
 * stream whose stdin credit is (nearly) used up, or from a full table. */
static struct fuzz_prefix prefixes[4];

/* EXEC `cat` on streams 1..streams, then `bytes` of stdin on stream 1. */
static void make_prefix(struct fuzz_prefix *p, uint32_t streams,
			uint32_t bytes)
{
	static char *const av[] = { "cat", NULL };
	uint8_t req[64];
	int len = bh_exec_req_encode(req, sizeof(req), av, NULL);
	uint32_t id;

	CHECK(len > 0);
	for (id = 1; id <= streams; id++)
		fuzz_add_frame(p, BH_MSG_EXEC, id, req, (uint32_t)len);
	fuzz_add_zero_frames(p, BH_MSG_STDIN, 1, bytes);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	bh_log_set_level(BH_LOG_ERR);
	fuzz_socketpair(sv, "fuzz_agent_frames: socketpair");
	if (fstat(sv[0], &sv_st[0]) < 0 || fstat(sv[1], &sv_st[1]) < 0) {
		perror("fuzz_agent_frames: socketpair");
		abort();
	}
	make_prefix(&prefixes[0], 1, 0);
	make_prefix(&prefixes[1], 1, BH_STREAM_WINDOW - 1);
	make_prefix(&prefixes[2], 1, BH_STREAM_WINDOW);
	make_prefix(&prefixes[3], BH_MAX_STREAMS - 1, 0);
	return 0;
}

NO_COVERAGE
static int fd_open(int fd)
{
	return fcntl(fd, F_GETFD) >= 0;
}

/* Our end of a fresh pipe; the command's end is closed at once. */
static int half_pipe(int ours_is_write)
{
	int p[2];

	CHECK(n_handed < MAX_FDS);
	if (pipe2(p, O_NONBLOCK | O_CLOEXEC) < 0)
		return -1;
	close(p[ours_is_write ? 0 : 1]);
	handed[n_handed++] = p[ours_is_write ? 1 : 0];
	return p[ours_is_write ? 1 : 0];
}

static int fake_start(const char *cmd, struct spawned *out)
{
	if (!strcmp(cmd, "missing"))
		return -BH_NOSTART_NOTFOUND;
	if (!strcmp(cmd, "noexec"))
		return -BH_NOSTART_NOEXEC;
	if (!strcmp(cmd, "fail"))
		return -BH_NOSTART_OTHER;
	out->in_fd = strcmp(cmd, "nostdin") ? half_pipe(1) : -1;
	out->out_fd = half_pipe(0);
	out->err_fd = half_pipe(0);
	if ((out->in_fd < 0 && strcmp(cmd, "nostdin")) || out->out_fd < 0 ||
	    out->err_fd < 0) {
		/* Out of fds: as spawn_command, close all and refuse. */
		if (out->in_fd >= 0)
			close(out->in_fd);
		if (out->out_fd >= 0)
			close(out->out_fd);
		if (out->err_fd >= 0)
			close(out->err_fd);
		return -BH_NOSTART_OTHER;
	}
	out->pid = next_pid++;
	return 0;
}

static int fake_spawn(const struct bh_exec_req *req, const char *user,
		      struct spawned *out)
{
	int r;

	CHECK(req->argc >= 1 && req->argv[0] && req->argv[0][0]);
	CHECK(req->argv[req->argc] == NULL && req->envp[req->envc] == NULL);
	CHECK(user != NULL);
	last_spawn_mark = n_handed;
	r = fake_start(req->argv[0], out);
	last_spawn_pid = r == 0 ? out->pid : 0;
	return r;
}

/* ---- RESUME's operations, faked ---- */

static int fake_set_clock(uint64_t ns)
{
	return (ns & 0xff) == 0xee ? -EPERM : 0;
}

static int fake_add_entropy(const uint8_t *buf, size_t len)
{
	CHECK(buf != NULL && len == BH_RESUME_ENTROPY);
	return buf[0] == 0xee ? -ENOTTY : 0;
}

static int fake_set_hostname(const char *name)
{
	CHECK(bh_resume_name_ok(name, strlen(name)));
	return name[0] == 'X' ? -EPERM : 0;
}

/* The warm-up is reaped right after its spawn, with the agent's ends of
 * its pipes closed; as it is no stream, its fds leave the count. */
static int fake_wait_child(pid_t pid)
{
	size_t i;

	CHECK(pid == last_spawn_pid && pid >= FAKE_PID_BASE);
	for (i = last_spawn_mark; i < n_handed; i++)
		CHECK(!fd_open(handed[i]));
	n_handed = last_spawn_mark;
	return fuzz_rnd() % 8 ? 0 : -ECHILD;
}

static void fake_power_off(void)
{
	powered_off++;
}

static const struct agent_resume_ops fake_resume_ops = {
	.set_clock = fake_set_clock,
	.add_entropy = fake_add_entropy,
	.set_hostname = fake_set_hostname,
	.wait_child = fake_wait_child,
	.power_off = fake_power_off,
};

/* Services are named by the host's request, already checked. */
static int fake_service(const struct bh_service_req *req,
			struct spawned *out)
{
	CHECK(bh_rpc_service_ok(req->service, strlen(req->service)));
	CHECK(bh_rpc_arg_ok(req->arg, strlen(req->arg)));
	CHECK(bh_rpc_qube_ok(req->source, strlen(req->source)));
	return fake_start(req->service, out);
}

/* A frame the agent queued for the host: the host must accept it. */
NO_COVERAGE
static void host_sees(const struct bh_frame_hdr *h,
				  const uint8_t *p)
{
	uint32_t kind, value;

	CHECK(bh_frame_check_from_guest(h) == 0);
	switch (h->type) {
	case BH_MSG_EXIT:
		CHECK(bh_parse_exit(p, h->len, &kind, &value) == 0);
		break;
	case BH_MSG_CREDIT:
		CHECK(bh_parse_u32_payload(p, h->len, &value) == 0);
		CHECK(value > 0 && value <= BH_STREAM_WINDOW);
		break;
	case BH_MSG_HELLO: /* the answer to RESUME */
		CHECK(bh_parse_hello(p, h->len, &value) == 0);
		CHECK(value == BH_PROTO_VERSION);
		CHECK(bh_get_u32(p + 4) == 0);
		break;
	default:
		/* No command runs, so nothing else is ever sent. */
		CHECK(!"unexpected frame queued for the host");
	}
}

/* Per frame: the credit and buffer invariants of every live stream.
 * deep (once per input, before agent_free): also unique ids, and the fds
 * of live streams open, distinct and not our socket pair. */
NO_COVERAGE
static void check_invariants(int deep)
{
	static uint8_t fd_seen[4096];
	static uint32_t id_seen[BH_MAX_STREAMS];
	size_t i, j, n_ids = 0;

	CHECK(a.chan.out_off <= a.chan.out_len);
	CHECK(bh_chan_pending(&a.chan) <= FUZZ_AGENT_OUT_MAX);
	for (i = 0; i < BH_MAX_STREAMS; i++) {
		const struct agent_stream *s = &a.streams[i];

		if (!s->id)
			continue;
		CHECK(s->stdin_len <= s->stdin_outstanding);
		CHECK(s->stdin_outstanding <= BH_STREAM_WINDOW);
		CHECK(s->send_credit.avail <= BH_STREAM_WINDOW);
		CHECK(s->stdin_len == 0 || s->stdin_buf != NULL);
		CHECK(s->exited ? s->pid == 0 : s->pid >= FAKE_PID_BASE);
		/* EOF with nothing buffered closes the command's stdin. */
		if (s->stdin_eof && s->stdin_len == 0)
			CHECK(s->in_fd < 0);
		/* No command ever read anything: output stays open. */
		CHECK(s->out_fd >= 0 && s->err_fd >= 0);
		if (deep)
			id_seen[n_ids++] = s->id;
	}
	if (!deep)
		return;
	for (i = 0; i < n_ids; i++)
		for (j = i + 1; j < n_ids; j++)
			CHECK(id_seen[i] != id_seen[j]);
	memset(fd_seen, 0, sizeof(fd_seen));
	fd_seen[sv[0]] = fd_seen[sv[1]] = 1;
	for (i = 0; i < BH_MAX_STREAMS; i++) {
		const struct agent_stream *s = &a.streams[i];
		const int fds[3] = { s->in_fd, s->out_fd, s->err_fd };

		if (!s->id)
			continue;
		for (j = 0; j < 3; j++) {
			if (fds[j] < 0)
				continue;
			CHECK((size_t)fds[j] < sizeof(fd_seen));
			CHECK(!fd_seen[fds[j]]);
			fd_seen[fds[j]] = 1;
			CHECK(fd_open(fds[j]));
		}
	}
}

/* A random live command ends, as the SIGCHLD reaper would report it. */
static void some_child_exits(void)
{
	struct agent_stream *s = &a.streams[fuzz_rnd() % BH_MAX_STREAMS];
	uint32_t r = fuzz_rnd();
	int st;

	if (!s->id || s->exited)
		return;
	st = r & 1 ? (int)(1 + (r >> 1) % 64) /* killed by a signal */
		   : (int)(((r >> 1) & 0xff) << 8); /* exit status */
	agent_child_exited(&a, s->pid, st);
	CHECK(s->exited && s->pid == 0);
	if (r & 1)
		CHECK(s->exit_kind == BH_EXIT_SIGNAL &&
		      s->exit_value == 1 + (r >> 1) % 64);
	else
		CHECK(s->exit_kind == BH_EXIT_CODE &&
		      s->exit_value == ((r >> 1) & 0xff));
}

NO_COVERAGE
static void check_no_fd_left(void)
{
	struct stat st;
	size_t i;

	for (i = 0; i < n_handed; i++)
		CHECK(!fd_open(handed[i]));
	n_handed = 0;
	/* Nobody closed our socket pair by mistake (a double close of a
	 * reused number would). */
	for (i = 0; i < 2; i++) {
		CHECK(fstat(sv[i], &st) == 0);
		CHECK(st.st_ino == sv_st[i].st_ino &&
		      st.st_dev == sv_st[i].st_dev);
	}
}

/* A complete frame read from the host's end goes to the agent, as its
 * read_channel hands it; 1 once the agent would have stopped serving. */
static int agent_gets(const struct bh_frame_hdr *h, const uint8_t *payload)
{
	size_t queued = bh_chan_pending(&a.chan);
	int r = agent_handle_frame(&a, h, payload);

	check_invariants(0);
	if (powered_off) {
		/* Only a failed reseed powers off, and then the agent stops
		 * with nothing more said. */
		CHECK(h->type == BH_MSG_RESUME && r == -EIO);
		CHECK(bh_chan_pending(&a.chan) == queued);
		return 1;
	}
	if (r < 0) {
		CHECK(r == -EPROTO || r == -ENOBUFS || r == -ENOMEM);
		return 1;
	}
	return 0;
}

/* After each write has been read: a random command exits if `exits`,
 * and the host takes what the agent queued. */
static void after_read(int exits)
{
	if (exits)
		some_child_exits();
	fuzz_take_queue(&a.chan, host_sees);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* The host's end: the input goes into sv[0], the agent reads a.chan
	 * on sv[1]. */
	const struct fuzz_reader host = { .fd = sv[0],
					  .chan = &a.chan,
					  .frame = agent_gets,
					  .after_write = after_read };

	if (size < 2)
		return 0;
	fuzz_seed(data);
	agent_init(&a, sv[1], (data[0] & 8) != 0);
	a.spawn = fake_spawn;
	a.start_service = fake_service;
	a.resume_ops = &fake_resume_ops;
	next_pid = FAKE_PID_BASE;
	n_handed = 0;
	powered_off = 0;

	/* No command exits while the prefix goes in. */
	fuzz_feed_input(&host, prefixes, data, size, 0);
	check_invariants(1);
	fuzz_take_queue(&a.chan, host_sees);
	agent_free(&a);
	check_no_fd_left();
	fuzz_drain(sv[1], NULL, 0);
	return 0;
}

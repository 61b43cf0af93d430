/* bh's side of a run (see run_relay.h). */
#include "cli/run_relay.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "lib/util.h"
#include "proto/chan.h"
#include "proto/credit.h"
#include "proto/exitcodes.h"
#include "proto/frame.h"

struct run_io {
	struct bh_chan chan;
	const struct run_fds *fds;
	struct bh_credit stdin_credit;
	int stdin_eof;  /* EOF sent */
	int stdout_broken;
	int stderr_broken;
	/* The daemon closed its end: nothing more is sent, but what it
	 * sent before (the output, the EXIT) is still read. */
	int send_broken;
};

void run_filter_controls(const uint8_t *untrusted_p, uint32_t len,
			 uint8_t *out)
{
	uint32_t i;

	for (i = 0; i < len; i++)
		out[i] = (untrusted_p[i] < 0x20 && untrusted_p[i] != '\t' &&
			  untrusted_p[i] != '\n' && untrusted_p[i] != '\r') ||
				 untrusted_p[i] == 0x7f
				 ? '_'
				 : untrusted_p[i];
}

/* Writes a qube's output: filtered (run_filter_controls) on a terminal
 * unless the user said not to (cmd_run.c), else as the qube sent it, for
 * a pipe or file to take as it is. A closed pipe on stderr
 * makes us discard the rest of it; on stdout see handle_frame. */
static void deliver(int fd, int filter, int *broken,
		    const uint8_t *untrusted_p, uint32_t len)
{
	static uint8_t clean[BH_FRAME_MAX_PAYLOAD];
	const uint8_t *out = untrusted_p;

	if (*broken || len == 0)
		return;
	if (filter && len <= sizeof(clean)) {
		run_filter_controls(untrusted_p, len, clean);
		out = clean;
	}
	if (bh_write_all(fd, out, len) < 0)
		*broken = 1;
}

static int pump_stdin(struct run_io *io)
{
	uint8_t buf[BH_FRAME_MAX_PAYLOAD];
	size_t want = bh_credit_payload_max(io->stdin_credit.avail);
	ssize_t n;

	if (want > sizeof(buf))
		want = sizeof(buf);
	n = read(io->fds->in, buf, want);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return 0;
	if (n <= 0) {
		io->stdin_eof = 1;
		return bh_chan_send(&io->chan, BH_MSG_STDIN, 1, NULL, 0);
	}
	bh_credit_take(&io->stdin_credit, bh_credit_cost((uint32_t)n));
	return bh_chan_send(&io->chan, BH_MSG_STDIN, 1, buf, (uint32_t)n);
}

/* Returns -1 to go on, or the exit status for bh. */
static int handle_frame(struct run_io *io, const struct bh_frame_hdr *h,
			const uint8_t *p)
{
	uint32_t kind, value;

	switch (h->type) {
	case BH_MSG_STDOUT:
	case BH_MSG_STDERR:
		if (h->type == BH_MSG_STDOUT)
			deliver(io->fds->out, io->fds->filter_out,
				&io->stdout_broken, p, h->len);
		else
			deliver(io->fds->err, io->fds->filter_err,
				&io->stderr_broken, p, h->len);
		/* Nobody reads our stdout any more (bh run ... | head): end
		 * as a pipeline's writer would, by SIGPIPE's status; closing
		 * the connection makes the daemon destroy the qube. */
		if (io->stdout_broken)
			return 128 + SIGPIPE;
		if (h->len)
			bh_chan_send_u32(&io->chan, BH_MSG_CREDIT, 1,
					 bh_credit_cost(h->len));
		return -1;
	case BH_MSG_CREDIT:
		if (bh_parse_u32_payload(p, h->len, &value) < 0 ||
		    bh_credit_grant(&io->stdin_credit, value) < 0)
			break;
		return -1;
	case BH_MSG_EXIT:
		if (bh_parse_exit(p, h->len, &kind, &value) < 0)
			break;
		if (kind == BH_EXIT_REFUSED)
			cli_err("the call was refused");
		if (kind == BH_EXIT_NOSTART && value == BH_NOSTART_NOUSER)
			cli_err("%s", io->fds->nouser_msg
					      ? io->fds->nouser_msg
					      : "the account to run as does not "
						"exist in the qube");
		else if (kind == BH_EXIT_NOSTART)
			cli_err("%s", value == BH_NOSTART_NOTFOUND
					      ? "command not found in the qube"
				      : value == BH_NOSTART_NOEXEC
					      ? "command cannot be executed "
						"in the qube"
					      : "command could not be started "
						"in the qube");
		return bh_exit_status(kind, value);
	case BH_MSG_ERROR:
		if (h->len < 4)
			break;
		value = bh_get_u32(p);
		fprintf(stderr, "bh: %.*s\n", (int)(h->len - 4),
			(const char *)p + 4);
		return value >= BH_EXIT_USAGE && value <= BH_EXIT_FAILURE
			       ? (int)value
			       : BH_EXIT_FAILURE;
	}
	cli_err("unexpected message from bulkheadd (type %u)", h->type);
	return BH_EXIT_FAILURE;
}

static int relay(struct run_io *io)
{
	for (;;) {
		struct pollfd p[2];
		struct bh_frame_hdr h;
		const uint8_t *payload;
		nfds_t n = 1;
		long got;
		int r;

		/* The daemon closes the connection right after it queued the
		 * command's EXIT, maybe before it read the credit we sent
		 * last: a write that fails then is no failure, the EXIT is
		 * waiting to be read. Whether the run ended well is decided
		 * by what is read. */
		if (!io->send_broken && bh_chan_flush(&io->chan) < 0)
			io->send_broken = 1;
		if (io->send_broken)
			io->chan.out_off = io->chan.out_len = 0;
		p[0] = (struct pollfd){ io->chan.fd,
					(short)(POLLIN |
						(bh_chan_pending(&io->chan)
							 ? POLLOUT
							 : 0)),
					0 };
		if (!io->stdin_eof && !io->send_broken &&
		    bh_credit_payload_max(io->stdin_credit.avail)) {
			p[1] = (struct pollfd){ io->fds->in, POLLIN, 0 };
			n = 2;
		}
		if (poll(p, n, -1) < 0) {
			if (errno == EINTR)
				continue;
			return BH_EXIT_FAILURE;
		}
		if (n == 2 && p[1].revents && pump_stdin(io) < 0)
			return BH_EXIT_FAILURE;
		if (!(p[0].revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		got = bh_chan_read(&io->chan);
		if (got == -EAGAIN)
			continue;
		if (got <= 0) {
			cli_err("lost the connection to bulkheadd before the "
				"command finished; see its log");
			return BH_EXIT_FAILURE;
		}
		while ((r = bh_chan_next(&io->chan, &h, &payload)) > 0) {
			int st = handle_frame(io, &h, payload);

			if (st >= 0)
				return st;
		}
		if (r < 0) {
			cli_err("bad frame from bulkheadd");
			return BH_EXIT_FAILURE;
		}
	}
}

int run_relay(uint32_t type, const uint8_t *req, uint32_t len,
	      const struct run_fds *fds)
{
	int fd = daemon_connect(), st;

	if (fd < 0)
		return -fd;
	st = run_relay_fd(fd, type, req, len, fds);
	close(fd);
	return st;
}

int run_relay_fd(int fd, uint32_t type, const uint8_t *req, uint32_t len,
		 const struct run_fds *fds)
{
	struct run_io io;
	int st;

	signal(SIGPIPE, SIG_IGN);
	bh_set_nonblock(fd, 1);
	memset(&io, 0, sizeof(io));
	io.fds = fds;
	bh_chan_init(&io.chan, fd, 4 * BH_STREAM_WINDOW);
	io.stdin_credit.avail = BH_STREAM_WINDOW;
	bh_chan_send(&io.chan, type, 0, req, len);
	st = relay(&io);
	bh_chan_free(&io.chan);
	return st;
}

/* bh run --dispvm -- CMD [ARGS]: run a command in a fresh disposable qube
 * with our stdin, stdout and stderr attached, and return its status. */
#include <errno.h>
#include <getopt.h>
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
#include "proto/exec_req.h"
#include "proto/exitcodes.h"

void cmd_run_help(FILE *f)
{
	fprintf(f,
		"usage: bh run --dispvm [-e NAME=VALUE]... [--] COMMAND "
		"[ARG]...\n"
		"       bh run [-e NAME=VALUE]... QUBE [--] COMMAND [ARG]...\n"
		"\n"
		"Runs COMMAND in a fresh disposable qube made from the "
		"minimal template,\nwith this terminal's stdin, stdout and "
		"stderr attached, then destroys the\nqube and every file it "
		"had. With QUBE instead of --dispvm, runs it in that\n"
		"running qube (see bh start), one command at a time.\n"
		"\n"
		"  --dispvm             run in a new disposable qube\n"
		"  -e, --env NAME=VALUE set a variable for COMMAND (repeat "
		"for more); it adds to\n"
		"                       or replaces the defaults PATH, HOME, "
		"TERM and LANG\n"
		"  -h, --help           show this help\n"
		"\n"
		"Exit status: COMMAND's own, 128+N when a signal N ended it, "
		"126 when it\ncannot be executed, 127 when it is not found; "
		"bh's own failures are\n120 usage, 121 daemon unreachable, "
		"122 QEMU or guest images missing or\ncorrupt, 123 no space, "
		"124 the qube never became ready, 125 the qube or\nits "
		"channel failed. See bh-run(1).\n");
}

struct run_io {
	struct bh_chan chan;
	struct bh_credit stdin_credit;
	int stdin_eof;  /* EOF sent */
	int stdout_broken;
	int stderr_broken;
};

/* Writes command output. A closed pipe on stderr makes us discard the
 * rest of it; on stdout see handle_frame. */
static void deliver(int fd, int *broken, const uint8_t *p, uint32_t len)
{
	if (*broken || len == 0)
		return;
	if (bh_write_all(fd, p, len) < 0)
		*broken = 1;
}

static int pump_stdin(struct run_io *io)
{
	uint8_t buf[BH_FRAME_MAX_PAYLOAD];
	size_t want = io->stdin_credit.avail;
	ssize_t n;

	if (want > sizeof(buf))
		want = sizeof(buf);
	n = read(0, buf, want);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return 0;
	if (n <= 0) {
		io->stdin_eof = 1;
		return bh_chan_send(&io->chan, BH_MSG_STDIN, 1, NULL, 0);
	}
	bh_credit_take(&io->stdin_credit, (uint32_t)n);
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
			deliver(1, &io->stdout_broken, p, h->len);
		else
			deliver(2, &io->stderr_broken, p, h->len);
		/* Nobody reads our stdout any more (bh run ... | head): end
		 * as a pipeline's writer would, by SIGPIPE's status; closing
		 * the connection makes the daemon destroy the qube. */
		if (io->stdout_broken)
			return 128 + SIGPIPE;
		if (h->len)
			bh_chan_send_u32(&io->chan, BH_MSG_CREDIT, 1, h->len);
		return -1;
	case BH_MSG_CREDIT:
		if (bh_parse_u32_payload(p, h->len, &value) < 0 ||
		    bh_credit_grant(&io->stdin_credit, value) < 0)
			break;
		return -1;
	case BH_MSG_EXIT:
		if (bh_parse_exit(p, h->len, &kind, &value) < 0)
			break;
		if (kind == BH_EXIT_NOSTART)
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

		if (bh_chan_flush(&io->chan) < 0) {
			cli_err("lost the connection to bulkheadd");
			return BH_EXIT_FAILURE;
		}
		p[0] = (struct pollfd){ io->chan.fd,
					(short)(POLLIN |
						(bh_chan_pending(&io->chan)
							 ? POLLOUT
							 : 0)),
					0 };
		if (!io->stdin_eof && io->stdin_credit.avail) {
			p[1] = (struct pollfd){ 0, POLLIN, 0 };
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

int cmd_run(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dispvm", no_argument, NULL, 'D' },
		{ "env", required_argument, NULL, 'e' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static uint8_t req[BH_FRAME_MAX_PAYLOAD];
	char **envv;
	struct run_io io;
	int dispvm = 0, envc = 0, o, len, fd, st;
	const char *qube = NULL;
	size_t qlen = 0;

	envv = calloc((size_t)argc + 1, sizeof(*envv));
	if (!envv)
		return BH_EXIT_FAILURE;
	/* '+': options end at the first non-option, the command. */
	while ((o = getopt_long(argc, argv, "+e:h", opts, NULL)) != -1) {
		switch (o) {
		case 'D':
			dispvm = 1;
			break;
		case 'e':
			if (!bh_env_entry_valid(optarg, strlen(optarg))) {
				cli_err("run: --env takes NAME=VALUE with a "
					"NAME of letters, digits and _ "
					"that does not start with a digit, "
					"not '%s'",
					optarg);
				free(envv);
				return BH_EXIT_USAGE;
			}
			envv[envc++] = optarg;
			break;
		case 'h':
			cmd_run_help(stdout);
			free(envv);
			return 0;
		default:
			fprintf(stderr, "Try 'bh run --help'.\n");
			free(envv);
			return BH_EXIT_USAGE;
		}
	}
	/* Without --dispvm the first word names a running qube. */
	if (!dispvm) {
		if (optind >= argc) {
			cli_err("run: say where to run: a qube's name or "
				"--dispvm");
			free(envv);
			return BH_EXIT_USAGE;
		}
		qube = argv[optind++];
		if (optind < argc && !strcmp(argv[optind], "--"))
			optind++;
	}
	if (optind >= argc) {
		cli_err("run: missing COMMAND; for example: bh run --dispvm "
			"-- uname -a");
		free(envv);
		return BH_EXIT_USAGE;
	}
	/* A run in a named qube: NAME NUL before the request. */
	if (qube) {
		qlen = strlen(qube) + 1;
		if (qlen > 64) {
			cli_err("run: '%s' is not a qube name", qube);
			free(envv);
			return BH_EXIT_USAGE;
		}
		memcpy(req, qube, qlen);
	}
	len = bh_exec_req_encode(req + qlen, sizeof(req) - qlen, argv + optind,
				 envv);
	free(envv);
	if (len < 0) {
		cli_err("run: %s", len == -E2BIG
					   ? "the command, its arguments and "
					     "environment must fit in 64 KiB, "
					     "with at most 4096 arguments and "
					     "1024 variables"
					   : "COMMAND must not be empty");
		return BH_EXIT_USAGE;
	}
	fd = daemon_connect();
	if (fd < 0)
		return -fd;
	signal(SIGPIPE, SIG_IGN);
	bh_set_nonblock(fd, 1);
	memset(&io, 0, sizeof(io));
	bh_chan_init(&io.chan, fd, 4 * BH_STREAM_WINDOW);
	io.stdin_credit.avail = BH_STREAM_WINDOW;
	bh_chan_send(&io.chan, qube ? BH_MSG_RUN_QUBE : BH_MSG_RUN_DISPVM, 0,
		     req, (uint32_t)(len + qlen));
	st = relay(&io);
	bh_chan_free(&io.chan);
	close(fd);
	return st;
}

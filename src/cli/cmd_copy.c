/* bh copy QUBE FILE...: copies files from the host into a qube's
 * ~/Incoming/dom0/, through the qube's bulkhead.Filecopy service, as a
 * qube's bh-copy does (the host, being the admin domain, is not asked
 * by the policy). The host only sends: it never opens what a qube sends
 * back but the receiver's short status, escaped before it is shown. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/run_relay.h"
#include "guest/filecopy.h"
#include "proto/exitcodes.h"
#include "proto/frame.h"
#include "proto/rpc_req.h"

#define SERVICE "bulkhead.Filecopy"

void cmd_copy_help(FILE *f)
{
	fprintf(f,
		"usage: bh copy [--move] QUBE FILE...\n"
		"\n"
		"Copies FILEs (files, folders and symlinks that stay inside "
		"them) from the\nhost into QUBE, under ~/Incoming/dom0/ there, "
		"starting QUBE when it is not\nrunning. Nothing there is "
		"overwritten; the receiver checks a checksum of\nthe whole "
		"stream and reports the first error.\n"
		"\n"
		"  --move       remove the FILEs once QUBE confirmed the copy\n"
		"  -h, --help   show this help\n"
		"\n"
		"Exit status: 0 copied; 1 the receiver refused or the copy "
		"broke; 3 a\nsource cannot be sent (nothing was sent); 4 "
		"copied but a source not\nremoved; 120 usage; 121 daemon "
		"unreachable; 125 the qube or its channel\nfailed. See "
		"bh-copy(1).\n");
}

/* The child: packs paths into sock and waits for the receiver's word. */
static int packer(int sock, char *const paths[], size_t n)
{
	struct fc_pack_opts opts = { .progress_fd = -1, .prog = "bh copy" };
	char msg[2048];

	if (isatty(STDERR_FILENO))
		opts.progress_fd = STDERR_FILENO;
	if (fc_pack_paths(sock, sock, paths, n, &opts, msg, sizeof(msg)) < 0) {
		fprintf(stderr, "bh copy: %s\n", msg);
		return 1;
	}
	return 0;
}

int cmd_copy(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "move", no_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static uint8_t req[256];
	struct run_fds fds = { -1, -1, 2, 0, 0, NULL };
	char msg[2048], **paths;
	int move = 0, o, sv[2], len, st, ws;
	uint64_t total;
	const char *qube;
	size_t n;
	pid_t pid;

	while ((o = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (o) {
		case 'm':
			move = 1;
			break;
		case 'h':
			cmd_copy_help(stdout);
			return 0;
		default:
			fprintf(stderr, "Try 'bh copy --help'.\n");
			return BH_EXIT_USAGE;
		}
	}
	if (argc - optind < 2) {
		cli_err("copy: say which qube and which files; for example: "
			"bh copy work report.pdf");
		return BH_EXIT_USAGE;
	}
	qube = argv[optind++];
	if (!bh_rpc_qube_ok(qube, strlen(qube))) {
		cli_err("copy: '%s' is not a qube name", qube);
		return BH_EXIT_USAGE;
	}
	paths = argv + optind;
	n = (size_t)(argc - optind);
	/* Every source is checked before anything is sent. */
	if (fc_pack_check(paths, n, &total, msg, sizeof(msg)) < 0) {
		cli_err("copy: %s; nothing was sent", msg);
		return 3;
	}
	len = snprintf((char *)req, sizeof(req), "%s%c%s%c", qube, 0, SERVICE,
		       0);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		cli_err("copy: socketpair: %s", strerror(errno));
		return BH_EXIT_FAILURE;
	}
	signal(SIGPIPE, SIG_IGN);
	pid = fork();
	if (pid < 0) {
		cli_err("copy: fork: %s", strerror(errno));
		return BH_EXIT_FAILURE;
	}
	if (pid == 0) {
		close(sv[0]);
		_exit(packer(sv[1], paths, n));
	}
	close(sv[1]);
	fds.in = fds.out = sv[0];
	st = run_relay(BH_MSG_RUN_SERVICE, req, (uint32_t)len + 1, &fds);
	/* The receiver's status went to the packer before its exit came:
	 * closing our end now only ends a packer still waiting. */
	close(sv[0]);
	while (waitpid(pid, &ws, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(ws) || WEXITSTATUS(ws) != 0)
		return st >= BH_EXIT_USAGE && st <= BH_EXIT_FAILURE ? st : 1;
	if (st != 0) {
		cli_err("copy: the receiver in %s ended with status %d", qube,
			st);
		return 1;
	}
	if (move && fc_remove_sources(paths, n, msg, sizeof(msg)) < 0) {
		cli_err("copy: copied, but %s", msg);
		return 4;
	}
	return 0;
}

/* bh-call: call an RPC service in another qube, from inside a qube.
 *
 *   bh-call TARGET SERVICE[+ARG]              stdin/stdout to the service
 *   bh-call TARGET SERVICE[+ARG] -- CMD ...   CMD's stdin/stdout instead
 *
 * The request goes to this qube's agent over its local socket
 * (proto/call_sock.h) with two pipes; the agent carries it to the daemon,
 * which asks the policy and joins the call with the service in TARGET.
 * The exit status is the service's, or 126 (refused by policy, or not
 * executable), 127 (no such service), 125 (the call failed on its way);
 * with CMD, CMD's status when the call itself succeeded. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "guest/call_client.h"
#include "lib/util.h"

#define PUMP_BUF (64 * 1024)

static void usage(FILE *f)
{
	fprintf(f,
		"usage: bh-call [-h] TARGET SERVICE[+ARG] [-- CMD [ARG...]]\n"
		"\n"
		"Calls SERVICE (with ARG) in the qube TARGET through bulkheadd,\n"
		"which asks the RPC policy first. TARGET is a qube name,\n"
		"@default (let the policy or the user choose), @dispvm (a new\n"
		"disposable), @dispvm:NAME or @adminvm. Without CMD, standard\n"
		"input goes to the service and its output to standard output;\n"
		"with CMD, CMD's are connected to the service instead.\n"
		"\n"
		"Exit status: the service's; 126 refused by the policy (or not\n"
		"executable), 127 no such service in TARGET, 125 the call failed\n"
		"(no agent socket, target not started, qube gone); with CMD,\n"
		"CMD's status when the call succeeded. 2: usage.\n");
}

/* Plain mode: our stdin goes to the service, its output to our stdout.
 * Our own stdin/stdout are not handed to the agent: they may be shared
 * with a shell, and their flags are not ours to change. The pipe to the
 * service is ours and non-blocking, so a service that answers while it
 * reads never waits on us while we wait on it. */
static int pump(int to_service, int from_service, int conn)
{
	static char in_buf[PUMP_BUF], out_buf[PUMP_BUF];
	size_t pend = 0, off = 0;
	int in_open = 1, out_open = 1;

	bh_set_nonblock(to_service, 1);
	/* Until both directions end: a service may close its output and
	 * still read all of its input (exec cat >/dev/null). */
	while (out_open || in_open || pend) {
		struct pollfd p[4];
		nfds_t n = 0;
		int i_in = -1, i_to = -1, i_out, i_conn = -1;

		if (in_open && pend == 0) {
			p[n] = (struct pollfd){ 0, POLLIN, 0 };
			i_in = (int)n++;
		}
		if (to_service >= 0 && pend) {
			p[n] = (struct pollfd){ to_service, POLLOUT, 0 };
			i_to = (int)n++;
		}
		i_out = -1;
		if (out_open) {
			p[n] = (struct pollfd){ from_service, POLLIN, 0 };
			i_out = (int)n++;
		}
		/* The status comes once the call is over and its output is
		 * all in our pipe: then stop waiting for input nobody takes. */
		if (in_open || pend) {
			p[n] = (struct pollfd){ conn, POLLIN, 0 };
			i_conn = (int)n++;
		}
		if (poll(p, n, -1) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (i_conn >= 0 && p[i_conn].revents) {
			in_open = 0;
			pend = 0;
			if (to_service >= 0)
				close(to_service);
			to_service = -1;
			continue;
		}
		if (i_in >= 0 && p[i_in].revents) {
			ssize_t r = read(0, in_buf, sizeof(in_buf));

			if (r > 0) {
				pend = (size_t)r;
				off = 0;
			} else if (r == 0 || errno != EINTR) {
				in_open = 0;
				close(to_service);
				to_service = -1;
			}
		}
		if (i_to >= 0 && p[i_to].revents) {
			ssize_t w = write(to_service, in_buf + off, pend);

			if (w > 0) {
				off += (size_t)w;
				pend -= (size_t)w;
			} else if (w < 0 && errno != EAGAIN && errno != EINTR) {
				/* The service stopped reading. */
				pend = 0;
				in_open = 0;
				close(to_service);
				to_service = -1;
			}
		}
		if (i_out >= 0 && p[i_out].revents) {
			ssize_t r = read(from_service, out_buf, sizeof(out_buf));

			/* A reader of ours that is gone: keep draining so
			 * the service is not stuck. */
			if (r > 0)
				(void)bh_write_all(1, out_buf, (size_t)r);
			else if (r == 0 || errno != EINTR)
				out_open = 0;
		}
	}
	if (to_service >= 0)
		close(to_service);
	return 0;
}

int main(int argc, char **argv)
{
	struct call_client call;
	int st, cmd_st = 0, i = 1;
	const char *target, *svc;
	char **cmd = NULL;
	pid_t pid = -1;

	if (argc > 1 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		usage(stdout);
		return 0;
	}
	if (argc < 3) {
		usage(stderr);
		return 2;
	}
	target = argv[i++];
	svc = argv[i++];
	if (i < argc) {
		if (strcmp(argv[i], "--") || i + 1 >= argc) {
			usage(stderr);
			return 2;
		}
		cmd = &argv[i + 1];
	}
	signal(SIGPIPE, SIG_IGN);
	st = call_client_start("bh-call", target, svc, &call);
	if (st)
		return st;
	if (cmd) {
		pid = fork();
		if (pid < 0) {
			perror("bh-call: fork");
			return 125;
		}
		if (pid == 0) {
			if (dup2(call.from_svc, 0) < 0 ||
			    dup2(call.to_svc, 1) < 0)
				_exit(125);
			signal(SIGPIPE, SIG_DFL);
			execvp(cmd[0], cmd);
			fprintf(stderr, "bh-call: %s: %s\n", cmd[0],
				strerror(errno));
			_exit(errno == ENOENT ? 127 : 126);
		}
		close(call.from_svc);
		close(call.to_svc);
	} else if (pump(call.to_svc, call.from_svc, call.conn) < 0) {
		perror("bh-call: poll");
	}
	st = call_client_wait(&call);
	if (pid > 0) {
		int ws;

		while (waitpid(pid, &ws, 0) < 0 && errno == EINTR)
			;
		cmd_st = WIFEXITED(ws) ? WEXITSTATUS(ws)
				       : 128 + WTERMSIG(ws);
	}
	if (st < 0) {
		fprintf(stderr, "bh-call: the agent ended the call without a "
				"status\n");
		return 125;
	}
	call_client_explain("bh-call", target, svc, st);
	if (cmd && st == 0)
		return cmd_st;
	return st;
}

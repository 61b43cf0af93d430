/* The calling side of an RPC call (see call_client.h). */
#include "guest/call_client.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "proto/call_sock.h"

int call_client_start(const char *prog, const char *target, const char *svc,
		      struct call_client *c)
{
	int to_svc[2], from_svc[2], conn;

	/* to_svc: what the service reads; from_svc: what it writes. */
	if (pipe2(to_svc, O_CLOEXEC) < 0) {
		fprintf(stderr, "%s: pipe: %s\n", prog, strerror(errno));
		return 125;
	}
	if (pipe2(from_svc, O_CLOEXEC) < 0) {
		fprintf(stderr, "%s: pipe: %s\n", prog, strerror(errno));
		close(to_svc[0]);
		close(to_svc[1]);
		return 125;
	}
	conn = call_sock_call(CALL_SOCKET_PATH, target, svc, to_svc[0],
			      from_svc[1]);
	/* The agent has its own copies now (or the call never started). */
	close(to_svc[0]);
	close(from_svc[1]);
	if (conn < 0) {
		close(to_svc[1]);
		close(from_svc[0]);
	}
	if (conn == -EINVAL) {
		fprintf(stderr,
			"%s: bad target '%s' or service '%s' (a service "
			"is [A-Za-z0-9._-]+, its argument [A-Za-z0-9+._-]* "
			"not starting with -)\n",
			prog, target, svc);
		return 2;
	}
	if (conn < 0) {
		fprintf(stderr,
			"%s: cannot reach the agent at %s: %s (is this a "
			"qube?)\n",
			prog, CALL_SOCKET_PATH, strerror(-conn));
		return 125;
	}
	c->conn = conn;
	c->to_svc = to_svc[1];
	c->from_svc = from_svc[0];
	return 0;
}

int call_client_wait(struct call_client *c)
{
	int st = call_sock_wait_status(c->conn);

	close(c->conn);
	c->conn = -1;
	return st;
}

void call_client_explain(const char *prog, const char *target,
			 const char *svc, int st)
{
	if (st == 126)
		fprintf(stderr,
			"%s: %s %s: refused by the policy (or the service "
			"is not executable): 126\n",
			prog, target, svc);
	else if (st == 127)
		fprintf(stderr, "%s: %s %s: no such service: 127\n", prog,
			target, svc);
	else if (st == 125)
		fprintf(stderr,
			"%s: %s %s: the call failed on its way (see the "
			"host's `bh log`): 125\n",
			prog, target, svc);
}

/* The calling side of an RPC call from inside a qube, shared by the guest
 * tools that call services (bh-call, bh-open-in-dvm): two pipes, the
 * request on the agent's socket (proto/call_sock.h), and the messages for
 * the statuses the call itself can end with. */
#ifndef BH_GUEST_CALL_CLIENT_H
#define BH_GUEST_CALL_CLIENT_H

struct call_client {
	int conn;     /* the agent's socket: the status arrives here */
	int to_svc;   /* write end: what the service reads on stdin */
	int from_svc; /* read end: what the service writes on stdout */
};

/* Starts a call of svc (SERVICE[+ARG]) in target through the agent at
 * CALL_SOCKET_PATH. Returns 0 with c filled (both pipe ends blocking,
 * close-on-exec), or an exit status after printing why, prefixed with
 * prog: 2 for a bad target or service name, 125 when the agent cannot be
 * reached. */
int call_client_start(const char *prog, const char *target, const char *svc,
		      struct call_client *c);
/* Waits for the call's status: 0..255, or -errno when the agent closed
 * without one. Closes c->conn. */
int call_client_wait(struct call_client *c);
/* Prints what the call statuses 125, 126 and 127 mean (nothing for
 * others): the call's own outcomes, not the service's. */
void call_client_explain(const char *prog, const char *target,
			 const char *svc, int status);

#endif

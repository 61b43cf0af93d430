/* The socket between bh-call and the agent inside one qube.
 *
 * The agent listens on CALL_SOCKET_PATH (SOCK_SEQPACKET, mode 0666: any
 * process of the qube may call, as in Qubes). bh-call sends one message:
 *
 *   u32 CALL_SOCK_MAGIC, then a call request (rpc_req.h)
 *   with two descriptors (SCM_RIGHTS): the read end of a pipe that
 *   carries what the caller sends, the write end of one for what the
 *   service answers.
 *
 * The agent owns the two pipes from then on (they are bh-call's private
 * pipes, so it may make them non-blocking) and, when the call is over,
 * answers with one message: u32 exit status 0..255 (126 refused, 127 no
 * such service, 125 transport failure, else the service's status). The
 * caller may be any local process: the agent checks the message as it
 * would check the host's. */
#ifndef BH_PROTO_CALL_SOCK_H
#define BH_PROTO_CALL_SOCK_H

#include <stddef.h>

#include "proto/rpc_req.h"

#define CALL_SOCKET_DIR "/run/bulkhead"
#define CALL_SOCKET_PATH CALL_SOCKET_DIR "/call.sock"
#define CALL_SOCK_MAGIC 0x31434842u /* "BHC1" little-endian */
#define CALL_SOCK_MSG_MAX (4 + BH_RPC_TARGET_MAX + BH_RPC_SERVICE_MAX + \
			   BH_RPC_ARG_MAX + 4)

/* Agent side. A non-blocking listening socket at path (made anew),
 * or -errno. */
int call_sock_listen(const char *path);
/* Receives one request from conn. Returns 0 with req and fds[0] (read),
 * fds[1] (write) set; -EAGAIN when nothing is there yet; -EPROTO for a
 * malformed message (any descriptors it brought are closed); or -errno. */
int call_sock_recv(int conn, struct bh_call_req *req, int fds[2]);
/* Sends the exit status; errors are ignored (the caller may be gone). */
void call_sock_send_status(int conn, int status);

/* Caller side. Connects to path and sends the request with rfd and wfd.
 * Returns the connected socket, or -errno (-EINVAL for a bad target or
 * service). */
int call_sock_call(const char *path, const char *target, const char *svc_arg,
		   int rfd, int wfd);
/* Waits for the status. Returns 0..255, or -errno (-EPIPE when the agent
 * closed without one). */
int call_sock_wait_status(int conn);

#endif

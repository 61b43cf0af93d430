/* The agent's side of the host channel: runs command streams and RPC
 * services the host asks for, carries calls that processes of this qube
 * make (bh-call, through the local call socket: proto/call_sock.h), moves
 * the data of each under credit flow control, reports exit statuses.
 * Also used over a socket pair by tests (bh-agent --serve-fd). */
#ifndef BH_AGENT_SERVE_H
#define BH_AGENT_SERVE_H

#include <stdint.h>
#include <sys/types.h>

#include "agent/resume.h"
#include "agent/spawn.h"
#include "proto/rpc_req.h"
#include "proto/chan.h"
#include "proto/credit.h"

/* A stream is a command or service the host started (in_fd: its stdin,
 * out_fd/err_fd: its output), or a call a local process made (`call`:
 * out_fd is what the caller sends, read and sent to the host as STDIN;
 * in_fd takes the service's output, from the host's STDOUT; conn_fd is
 * the caller's socket, which gets the exit status). */
struct agent_stream {
	uint32_t id; /* 0 = free slot */
	pid_t pid;   /* 0 once reaped (or a socket service: never a pid) */
	int in_fd, out_fd, err_fd;
	int call;
	int conn_fd;
	int sock_service; /* in_fd is a socket: shut it down at stdin EOF */
	struct bh_credit send_credit; /* output we may still send */
	uint8_t *stdin_buf;           /* host data not yet in in_fd */
	uint32_t stdin_len;
	uint32_t stdin_outstanding; /* received, not yet credited back */
	uint32_t stdin_hdr_owed;    /* headers of frames taken, to credit */
	int stdin_eof;
	int exited;
	uint32_t exit_kind, exit_value;
	/* Direct data port (docs/rpc-data-path.md): the host offered
	 * bulkhead.data.port_n (port_offered), port_fd once it is open.
	 * Sending: after PORT_SWITCH out_fd's data goes to the port through
	 * pbuf; PORT_END carries out_port_bytes once out_fd ended.
	 * Receiving: after the peer's PORT_SWITCH (in_switched) in_fd is fed
	 * from the port, in_expect bytes once PORT_END said so. */
	int port_offered;
	uint32_t port_n;
	int port_fd;
	int out_switched, out_port_eof, out_end_sent;
	uint64_t out_port_bytes;
	uint8_t *pbuf;
	uint32_t pbuf_off, pbuf_len;
	int in_switched, in_end_known;
	int stdin_from_port; /* stdin_buf holds port bytes: no credit */
	uint64_t in_expect, in_got;
};

/* Local callers accepted whose request has not arrived yet. */
#define AGENT_PENDING_MAX 16

struct agent {
	struct bh_chan chan;
	struct agent_stream streams[BH_MAX_STREAMS];
	int call_listen_fd; /* -1: this agent takes no local calls */
	int pending[AGENT_PENDING_MAX]; /* -1: free */
	uint32_t next_call_id;
	int disposable;
	int jobs_finished;
	int poweroff_requested;
	int host_gone;
	int uevent_fd; /* -1 until a port is awaited */
	/* Replaced by the fuzz target so that no process is started. */
	int (*spawn)(const struct bh_exec_req *req, const char *user,
		     struct spawned *out);
	int (*start_service)(const struct bh_service_req *req,
			     struct spawned *out);
	/* NULL (agent_init): RESUME is refused. PID 1 sets the real ones,
	 * tests fakes (resume.h). */
	const struct agent_resume_ops *resume_ops;
};

void agent_init(struct agent *a, int chan_fd, int disposable);
/* Takes local calls on a socket at path (call_sock.h). Returns 0 or
 * -errno. */
int agent_listen_calls(struct agent *a, const char *path);
void agent_free(struct agent *a);

/* Queues HELLO (protocol version, flags 0): the qube is ready. */
int agent_send_hello(struct agent *a);

/* Handles one frame from the host. Returns 0, or -EPROTO for a frame the
 * host should never send (the caller stops serving). */
int agent_handle_frame(struct agent *a, const struct bh_frame_hdr *h,
		       const uint8_t *untrusted_payload);

/* Notes that a child ended (from waitpid). */
void agent_child_exited(struct agent *a, pid_t pid, int wstatus);

/* Serves until told to power off, the host goes away, or (disposable) the
 * first command ended and the host has its exit status. sig_fd is a
 * signalfd for SIGCHLD, SIGTERM and SIGINT (the last two end serving).
 * Returns 0 or -errno. */
int agent_serve(struct agent *a, int sig_fd);

#endif

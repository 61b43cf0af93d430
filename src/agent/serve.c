#include "agent/serve.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/dataport.h"
#include "agent/rpc_service.h"
#include "lib/log.h"
#include "lib/util.h"
#include "proto/call_sock.h"
#include "proto/exec_req.h"

/* Room for every stream's full window plus frame headers and control
 * frames; the credits keep the queue below this. */
#define AGENT_CHAN_OUT_MAX \
	(BH_MAX_STREAMS * (BH_STREAM_WINDOW + 64u * BH_FRAME_HDR_LEN) + \
	 64u * 1024u)

/* Stop reading commands' output while this much waits for the host. */
#define AGENT_PAUSE_BYTES BH_STREAM_WINDOW

/* How long a disposable that finished its job waits for the host. */
#define AGENT_DISPOSABLE_LINGER_MS 10000

void agent_init(struct agent *a, int chan_fd, int disposable)
{
	size_t i;

	memset(a, 0, sizeof(*a));
	bh_chan_init(&a->chan, chan_fd, AGENT_CHAN_OUT_MAX);
	a->disposable = disposable;
	a->spawn = spawn_command;
	a->start_service = rpc_service_start;
	a->call_listen_fd = -1;
	a->uevent_fd = -1;
	for (i = 0; i < AGENT_PENDING_MAX; i++)
		a->pending[i] = -1;
	for (i = 0; i < BH_MAX_STREAMS; i++) {
		a->streams[i].in_fd = a->streams[i].out_fd = -1;
		a->streams[i].err_fd = a->streams[i].conn_fd = -1;
		a->streams[i].port_fd = -1;
	}
}

int agent_listen_calls(struct agent *a, const char *path)
{
	int fd = call_sock_listen(path);

	if (fd < 0)
		return fd;
	a->call_listen_fd = fd;
	return 0;
}

int agent_send_hello(struct agent *a)
{
	uint8_t p[8];

	bh_put_u32(p, BH_PROTO_VERSION);
	bh_put_u32(p + 4, 0);
	return bh_chan_send(&a->chan, BH_MSG_HELLO, 0, p, sizeof(p));
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static void stream_release(struct agent_stream *s)
{
	close_fd(&s->in_fd);
	close_fd(&s->out_fd);
	close_fd(&s->err_fd);
	close_fd(&s->conn_fd);
	close_fd(&s->port_fd);
	free(s->stdin_buf);
	free(s->pbuf);
	memset(s, 0, sizeof(*s));
	s->in_fd = s->out_fd = s->err_fd = s->conn_fd = s->port_fd = -1;
}

/* Releases s; a stream that was offered a port tells the host it is done
 * with it, so that the host can unplug it (once both ends said so). */
static int stream_end(struct agent *a, struct agent_stream *s)
{
	uint32_t id = s->id;
	int offered = s->port_offered;

	stream_release(s);
	return offered ? bh_chan_send(&a->chan, BH_MSG_PORT_CLOSED, id, NULL,
				      0)
		       : 0;
}

void agent_free(struct agent *a)
{
	size_t i;

	for (i = 0; i < BH_MAX_STREAMS; i++)
		if (a->streams[i].id)
			stream_release(&a->streams[i]);
	for (i = 0; i < AGENT_PENDING_MAX; i++)
		close_fd(&a->pending[i]);
	close_fd(&a->call_listen_fd);
	close_fd(&a->uevent_fd);
	bh_chan_free(&a->chan);
}

static struct agent_stream *stream_find(struct agent *a, uint32_t id)
{
	size_t i;

	for (i = 0; i < BH_MAX_STREAMS; i++)
		if (a->streams[i].id == id)
			return &a->streams[i];
	return NULL;
}

static int send_exit(struct agent *a, uint32_t id, uint32_t kind,
		     uint32_t value)
{
	uint8_t p[8];

	bh_put_u32(p, kind);
	bh_put_u32(p + 4, value);
	return bh_chan_send(&a->chan, BH_MSG_EXIT, id, p, sizeof(p));
}

/* A free slot for a new host stream id, or NULL after refusing it. */
static struct agent_stream *new_host_stream(struct agent *a, uint32_t id,
					    int *r)
{
	struct agent_stream *s;

	*r = 0;
	if (stream_find(a, id)) {
		*r = -EPROTO; /* stream id reused while live */
		return NULL;
	}
	s = stream_find(a, 0);
	if (!s) {
		LOG_WARN("refusing stream %u: %u streams already run", id,
			 BH_MAX_STREAMS);
		*r = send_exit(a, id, BH_EXIT_NOSTART, BH_NOSTART_OTHER);
	}
	return s;
}

/* Fills s from a started command or service. */
static void stream_start(struct agent_stream *s, uint32_t id,
			 const struct spawned *sp)
{
	memset(s, 0, sizeof(*s));
	s->id = id;
	s->pid = sp->pid;
	s->in_fd = sp->in_fd;
	s->out_fd = sp->out_fd;
	s->err_fd = sp->err_fd;
	s->conn_fd = -1;
	s->port_fd = -1;
	s->send_credit.avail = BH_STREAM_WINDOW;
	if (sp->pid == 0) {
		/* A socket service has no process: it is over when the
		 * socket's read side ends. */
		s->sock_service = 1;
		s->exited = 1;
		s->exit_kind = BH_EXIT_CODE;
		s->exit_value = 0;
	}
}

/* A command or service was started (r 0) into slot s, or not (r a
 * negative enum bh_nostart): the host learns which. */
static int started(struct agent *a, struct agent_stream *s, uint32_t id,
		   int r, const struct spawned *sp)
{
	if (r < 0) {
		/* Streams ended before they began are not jobs: a
		 * disposable whose command is missing still powers off. */
		a->jobs_finished++;
		return send_exit(a, id, BH_EXIT_NOSTART, (uint32_t)-r);
	}
	stream_start(s, id, sp);
	return 0;
}

/* Takes BH_RUN_USER_ENV out of req's environment into user. */
static void take_user(struct bh_exec_req *req, char *user, size_t cap)
{
	size_t i, n = strlen(BH_RUN_USER_ENV);

	user[0] = '\0';
	for (i = 0; i < req->envc; i++) {
		if (strncmp(req->envp[i], BH_RUN_USER_ENV, n))
			continue;
		snprintf(user, cap, "%s", req->envp[i] + n);
		memmove(&req->envp[i], &req->envp[i + 1],
			(req->envc - i) * sizeof(*req->envp));
		req->envc--;
		return;
	}
}

static int handle_exec(struct agent *a, uint32_t id,
		       const uint8_t *untrusted_payload, uint32_t len)
{
	char user[BH_RPC_USER_MAX + 2];
	struct bh_exec_req req;
	struct agent_stream *s;
	struct spawned sp;
	int r;

	s = new_host_stream(a, id, &r);
	if (!s)
		return r;
	if (bh_exec_req_parse(untrusted_payload, len, &req) < 0)
		return -EPROTO;
	take_user(&req, user, sizeof(user));
	if (user[0] && !bh_rpc_user_ok(user, strlen(user))) {
		bh_exec_req_free(&req);
		return -EPROTO;
	}
	r = a->spawn(&req, user, &sp);
	bh_exec_req_free(&req);
	return started(a, s, id, r, &sp);
}

static int handle_service(struct agent *a, uint32_t id,
			  const uint8_t *untrusted_payload, uint32_t len)
{
	struct bh_service_req req;
	struct agent_stream *s;
	struct spawned sp;
	int r;

	s = new_host_stream(a, id, &r);
	if (!s)
		return r;
	if (bh_service_req_parse(untrusted_payload, len, &req) < 0)
		return -EPROTO;
	r = a->start_service(&req, &sp);
	if (r < 0)
		LOG_INFO("service %s+%s for %s: %s", req.service, req.arg,
			 req.source,
			 r == -BH_NOSTART_NOTFOUND ? "no such service"
						   : "cannot start it");
	return started(a, s, id, r, &sp);
}

/* Everything the peer sent on the port has come (or the port is gone). */
static int port_input_done(const struct agent_stream *s)
{
	return s->in_end_known && s->in_got >= s->in_expect;
}

/* in_fd gets EOF once the input is over: on the channel, and on the port
 * when the input continued there. */
static int input_over(const struct agent_stream *s)
{
	return s->stdin_eof && (!s->in_switched || port_input_done(s));
}

/* Once the input is over and all of it has gone to in_fd, in_fd gets EOF
 * (a socket service: the write side of its connection is shut). */
static void end_input_when_drained(struct agent_stream *s)
{
	if (s->stdin_len == 0 && input_over(s) && s->in_fd >= 0) {
		if (s->sock_service)
			shutdown(s->in_fd, SHUT_WR);
		close_fd(&s->in_fd);
	}
}

/* Data from the host for in_fd: a command's stdin, or a call's answer. */
static int handle_input(struct agent *a, struct agent_stream *s,
			const uint8_t *untrusted_payload, uint32_t len)
{
	if (s->in_switched) {
		/* Data belongs on the port now. An empty frame is the host
		 * ending the input because the sender is gone: the port
		 * ends too (it is unplugged), and that is the end. The
		 * port's own end may have come first (port_read saw it
		 * vanish and set stdin_eof): the frame is then no news,
		 * not a protocol error. */
		if (len)
			return -EPROTO;
		s->stdin_eof = 1;
		return 0;
	}
	if (s->stdin_eof)
		return -EPROTO; /* data after EOF */
	if (len == 0) {
		s->stdin_eof = 1;
		end_input_when_drained(s);
		return 0;
	}
	if (bh_credit_cost(len) > BH_STREAM_WINDOW - s->stdin_outstanding)
		return -EPROTO; /* past the credit we gave */
	if (s->in_fd < 0) {
		/* Nobody reads any more: drop, but keep the credit
		 * flowing so the sender is not stuck. */
		return bh_chan_send_u32(&a->chan, BH_MSG_CREDIT, s->id,
					bh_credit_cost(len));
	}
	/* The frame's header is consumed now, its payload as in_fd takes
	 * it: pump_input credits both back. */
	s->stdin_outstanding += bh_credit_cost(len);
	s->stdin_hdr_owed += BH_FRAME_HDR_LEN;
	if (!s->stdin_buf) {
		s->stdin_buf = malloc(BH_STREAM_WINDOW);
		if (!s->stdin_buf)
			return -ENOMEM;
	}
	/* stdin_len <= stdin_outstanding <= window, so this fits. */
	memcpy(s->stdin_buf + s->stdin_len, untrusted_payload, len);
	s->stdin_len += len;
	return 0;
}

/* ---- direct data ports ---- */


static void try_open_port(struct agent_stream *s)
{
	int fd;

	if (!s->port_offered || s->port_fd >= 0)
		return;
	fd = dataport_open(s->port_n);
	if (fd >= 0)
		s->port_fd = fd;
	else if (fd != -ENOENT)
		LOG_WARN("data port %u: %s", s->port_n, strerror(-fd));
}

static int handle_port_open(struct agent *a, uint32_t id,
			    const uint8_t *untrusted_payload, uint32_t len)
{
	struct agent_stream *s;
	uint32_t n;

	if (bh_parse_port_open(untrusted_payload, len, &n) < 0)
		return -EPROTO;
	s = stream_find(a, id);
	if (!s) /* ended meanwhile: the host may unplug at once */
		return bh_chan_send(&a->chan, BH_MSG_PORT_CLOSED, id, NULL, 0);
	if (s->port_offered)
		return -EPROTO;
	s->port_offered = 1;
	s->port_n = n;
	/* Listen before looking, so that a port appearing in between still
	 * wakes us. */
	if (a->uevent_fd < 0) {
		int fd = dataport_uevent_open();

		if (fd < 0)
			LOG_WARN("uevent socket: %s", strerror(-fd));
		a->uevent_fd = fd;
	}
	try_open_port(s);
	return 0;
}

static int handle_port_switch(struct agent *a, uint32_t id)
{
	struct agent_stream *s = stream_find(a, id);

	if (!s)
		return 0;
	if (!s->port_offered || s->in_switched || s->stdin_eof)
		return -EPROTO;
	s->in_switched = 1;
	return 0;
}

static int handle_port_end(struct agent *a, uint32_t id,
			   const uint8_t *untrusted_payload, uint32_t len)
{
	struct agent_stream *s;
	uint64_t count;

	if (bh_parse_port_end(untrusted_payload, len, &count) < 0)
		return -EPROTO;
	s = stream_find(a, id);
	if (!s)
		return 0;
	if (!s->in_switched)
		return -EPROTO;
	if (s->in_end_known)
		return 0; /* the port ended first (its peer's QEMU went) */
	s->in_end_known = 1;
	s->in_expect = count;
	s->stdin_eof = 1;
	end_input_when_drained(s);
	return 0;
}

/* Reads what the peer sent on the port into stdin_buf (or drops it when
 * nobody reads any more). A read of a virtio port returns one guest
 * buffer (a page) at most, so this reads until the port is empty or the
 * buffer full: one pass of the loop per window, not per page. A port
 * that ends before the count (the peer's QEMU unplugged it: its qube is
 * gone) ends the input there. */
static int port_read(struct agent_stream *s)
{
	uint64_t want = BH_STREAM_WINDOW;
	ssize_t n = 0;
	int pages = 0;

	if (s->in_end_known && s->in_expect - s->in_got < want)
		want = s->in_expect - s->in_got;
	if (!s->stdin_buf) {
		s->stdin_buf = malloc(BH_STREAM_WINDOW);
		if (!s->stdin_buf)
			return -ENOMEM;
	}
	/* Bounded also when dropping (stdin_len stays 0). */
	while (s->stdin_len < want && pages++ < 128) {
		n = read(s->port_fd, s->stdin_buf + s->stdin_len,
			 (size_t)(want - s->stdin_len));
		if (n <= 0)
			break;
		s->in_got += (uint64_t)n;
		if (s->in_fd < 0)
			continue; /* nobody reads: dropped, sender not stuck */
		s->stdin_len += (uint32_t)n;
		s->stdin_from_port = 1;
	}
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n <= 0 && s->stdin_len < want && pages <= 128) {
		s->in_end_known = 1;
		s->in_expect = s->in_got;
		s->stdin_eof = 1;
		end_input_when_drained(s);
	}
	return 0;
}

/* Moves pbuf to the port; at the end of out_fd, PORT_END with the count. */
static int port_write(struct agent *a, struct agent_stream *s)
{
	uint8_t p[8];

	/* A virtio port takes at most 32 KiB a write: go on until it
	 * would block. */
	while (s->pbuf_off < s->pbuf_len) {
		ssize_t n = write(s->port_fd, s->pbuf + s->pbuf_off,
				  s->pbuf_len - s->pbuf_off);

		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return 0;
		if (n <= 0) {
			/* The port is gone (the peer's qube stopped): the
			 * rest is dropped, as the relay drops it then. */
			close_fd(&s->out_fd);
			s->out_port_eof = 1;
			s->pbuf_off = s->pbuf_len = 0;
		} else {
			s->pbuf_off += (uint32_t)n;
			s->out_port_bytes += (uint64_t)n;
			if (s->pbuf_off == s->pbuf_len)
				s->pbuf_off = s->pbuf_len = 0;
		}
	}
	if (s->out_port_eof && s->pbuf_len == 0 && !s->out_end_sent) {
		s->out_end_sent = 1;
		bh_put_u64(p, s->out_port_bytes);
		return bh_chan_send(&a->chan, BH_MSG_PORT_END, s->id, p, 8);
	}
	return 0;
}

/* out_fd's data once switched: into pbuf, then port_write. */
static int port_pump_out(struct agent *a, struct agent_stream *s)
{
	ssize_t n;

	if (!s->pbuf) {
		s->pbuf = malloc(BH_FRAME_MAX_PAYLOAD);
		if (!s->pbuf)
			return -ENOMEM;
	}
	n = read(s->out_fd, s->pbuf, BH_FRAME_MAX_PAYLOAD);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n < 0 && errno != ECONNRESET)
		return -errno;
	if (n <= 0) {
		close_fd(&s->out_fd);
		s->out_port_eof = 1;
	} else {
		s->pbuf_off = 0;
		s->pbuf_len = (uint32_t)n;
	}
	return port_write(a, s);
}

/* Before each poll: a stream whose port is open switches its output
 * there, in order after the frames already queued. */
static int ports_switch(struct agent *a)
{
	size_t i;
	int r;

	for (i = 0; i < BH_MAX_STREAMS; i++) {
		struct agent_stream *s = &a->streams[i];

		if (!s->id || s->port_fd < 0 || s->out_switched ||
		    s->out_fd < 0)
			continue;
		s->out_switched = 1;
		r = bh_chan_send(&a->chan, BH_MSG_PORT_SWITCH, s->id, NULL, 0);
		if (r < 0)
			return r;
	}
	return 0;
}

static void ports_uevent(struct agent *a)
{
	size_t i;

	dataport_uevent_drain(a->uevent_fd);
	for (i = 0; i < BH_MAX_STREAMS; i++)
		if (a->streams[i].id)
			try_open_port(&a->streams[i]);
}

int agent_handle_frame(struct agent *a, const struct bh_frame_hdr *h,
		       const uint8_t *untrusted_payload)
{
	struct agent_stream *s;
	uint32_t v, kind;

	if (bh_frame_check_from_host(h) < 0)
		return -EPROTO;
	switch (h->type) {
	case BH_MSG_POWEROFF:
		a->poweroff_requested = 1;
		return 0;
	case BH_MSG_EXEC:
		return handle_exec(a, h->stream, untrusted_payload, h->len);
	case BH_MSG_SERVICE:
		return handle_service(a, h->stream, untrusted_payload, h->len);
	case BH_MSG_RESUME:
		return agent_resume(a, untrusted_payload, h->len);
	case BH_MSG_STDIN:
	case BH_MSG_STDOUT:
		s = stream_find(a, h->stream);
		/* Data may still arrive for a stream that just ended. */
		if (!s)
			return 0;
		return handle_input(a, s, untrusted_payload, h->len);
	case BH_MSG_CREDIT:
		if (bh_parse_u32_payload(untrusted_payload, h->len, &v) < 0)
			return -EPROTO;
		s = stream_find(a, h->stream);
		if (!s)
			return 0;
		return bh_credit_grant(&s->send_credit, v);
	case BH_MSG_PORT_OPEN:
		return handle_port_open(a, h->stream, untrusted_payload,
					h->len);
	case BH_MSG_PORT_SWITCH:
		return handle_port_switch(a, h->stream);
	case BH_MSG_PORT_END:
		return handle_port_end(a, h->stream, untrusted_payload, h->len);
	case BH_MSG_EXIT:
		/* How a call of ours ended. */
		if (bh_parse_exit(untrusted_payload, h->len, &kind, &v) < 0)
			return -EPROTO;
		s = stream_find(a, h->stream);
		if (!s)
			return 0;
		if (s->exited)
			return -EPROTO;
		s->exited = 1;
		s->exit_kind = kind;
		s->exit_value = v;
		return 0;
	}
	return -EPROTO;
}

void agent_child_exited(struct agent *a, pid_t pid, int wstatus)
{
	size_t i;

	for (i = 0; i < BH_MAX_STREAMS; i++) {
		struct agent_stream *s = &a->streams[i];

		if (!s->id || s->call || s->pid != pid)
			continue;
		s->pid = 0;
		s->exited = 1;
		if (WIFSIGNALED(wstatus)) {
			s->exit_kind = BH_EXIT_SIGNAL;
			s->exit_value = (uint32_t)WTERMSIG(wstatus);
		} else {
			s->exit_kind = BH_EXIT_CODE;
			s->exit_value = (uint32_t)WEXITSTATUS(wstatus);
		}
		return;
	}
}

/* Moves buffered host data into in_fd and credits it back. */
static int pump_input(struct agent *a, struct agent_stream *s)
{
	uint32_t back;
	ssize_t n;

	if (s->in_fd < 0 || s->stdin_len == 0)
		return 0;
	n = write(s->in_fd, s->stdin_buf, s->stdin_len);
	if (n < 0) {
		if (errno == EAGAIN || errno == EINTR)
			return 0;
		/* EPIPE: nobody reads any more. */
		close_fd(&s->in_fd);
		n = s->stdin_len;
	}
	memmove(s->stdin_buf, s->stdin_buf + n, s->stdin_len - (size_t)n);
	s->stdin_len -= (uint32_t)n;
	end_input_when_drained(s);
	/* Port bytes are paced by the port itself, not by credit. */
	if (s->stdin_from_port) {
		if (s->stdin_len == 0)
			s->stdin_from_port = 0;
		n = 0;
	}
	back = (uint32_t)n + s->stdin_hdr_owed;
	if (back == 0)
		return 0;
	s->stdin_hdr_owed = 0;
	s->stdin_outstanding -= back;
	return bh_chan_send_u32(&a->chan, BH_MSG_CREDIT, s->id, back);
}

/* Reads output (or a caller's data) as far as credit allows. */
static int pump_output(struct agent *a, struct agent_stream *s, int *fd,
		       uint32_t type)
{
	uint8_t buf[BH_FRAME_MAX_PAYLOAD];
	uint32_t want = bh_credit_payload_max(s->send_credit.avail);
	ssize_t n;

	if (*fd < 0 || want == 0)
		return 0;
	if (want > sizeof(buf))
		want = sizeof(buf);
	n = read(*fd, buf, want);
	if (n < 0) {
		if (errno == EAGAIN || errno == EINTR)
			return 0;
		if (errno != ECONNRESET)
			return -errno;
		n = 0; /* a socket service reset: its end */
	}
	if (n == 0) {
		close_fd(fd);
		return bh_chan_send(&a->chan, type, s->id, NULL, 0);
	}
	bh_credit_take(&s->send_credit, bh_credit_cost((uint32_t)n));
	return bh_chan_send(&a->chan, type, s->id, buf, (uint32_t)n);
}

/* A call is over when the host said how it ended and everything the
 * service sent has reached the caller. */
static int finish_call(struct agent *a, struct agent_stream *s)
{
	if (s->stdin_len && s->in_fd >= 0)
		return 0;
	/* The service's output continues on the port: its EXIT came after
	 * its PORT_END, but the bytes may still be on their way. */
	if (s->in_switched && s->in_fd >= 0 && s->port_fd >= 0 &&
	    !port_input_done(s))
		return 0;
	close_fd(&s->in_fd);
	if (s->conn_fd >= 0)
		call_sock_send_status(s->conn_fd,
				      bh_exit_status(s->exit_kind,
						     s->exit_value));
	stream_end(a, s);
	return 1;
}

static int finish_streams(struct agent *a)
{
	size_t i;
	int r;

	for (i = 0; i < BH_MAX_STREAMS; i++) {
		struct agent_stream *s = &a->streams[i];

		if (!s->id || !s->exited)
			continue;
		if (s->call) {
			finish_call(a, s);
			continue;
		}
		/* PORT_END goes before EXIT, so the peer knows the count
		 * before it learns the end. */
		if (s->out_fd >= 0 || s->err_fd >= 0 ||
		    (s->out_switched && !s->out_end_sent))
			continue;
		r = send_exit(a, s->id, s->exit_kind, s->exit_value);
		if (r < 0)
			return r;
		r = stream_end(a, s);
		if (r < 0)
			return r;
		a->jobs_finished++;
	}
	return 0;
}

static void reap_children(struct agent *a)
{
	int st;
	pid_t pid;

	while ((pid = waitpid(-1, &st, WNOHANG)) > 0)
		agent_child_exited(a, pid, st);
}

static int read_channel(struct agent *a)
{
	struct bh_frame_hdr h;
	const uint8_t *payload;
	long n = bh_chan_read(&a->chan);
	int r;

	if (n == 0) {
		a->host_gone = 1;
		return 0;
	}
	if (n < 0 && n != -EAGAIN)
		return (int)n;
	while ((r = bh_chan_next(&a->chan, &h, &payload)) > 0) {
		r = agent_handle_frame(a, &h, payload);
		if (r < 0) {
			LOG_ERR("bad frame from host (type %u stream %u len %u)",
				h.type, h.stream, h.len);
			return r;
		}
	}
	return r;
}

/* ---- local calls (bh-call) ---- */

static void accept_calls(struct agent *a)
{
	size_t i;
	int fd;

	for (i = 0; i < AGENT_PENDING_MAX; i++) {
		if (a->pending[i] >= 0)
			continue;
		fd = accept4(a->call_listen_fd, NULL, NULL,
			     SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		a->pending[i] = fd;
	}
	/* Full: the rest wait in the listen backlog. */
}

static uint32_t new_call_id(struct agent *a)
{
	uint32_t id;

	do {
		a->next_call_id = (a->next_call_id + 1) & ~BH_STREAM_GUEST_BIT;
		id = BH_STREAM_GUEST_BIT | a->next_call_id;
	} while (a->next_call_id == 0 || stream_find(a, id));
	return id;
}

/* The request of a pending caller has arrived (or it hung up). */
static int take_call(struct agent *a, size_t slot)
{
	uint8_t payload[BH_RPC_TARGET_MAX + BH_RPC_SERVICE_MAX +
			BH_RPC_ARG_MAX + 4];
	char svc_arg[BH_RPC_SERVICE_MAX + BH_RPC_ARG_MAX + 2];
	struct bh_call_req req;
	struct agent_stream *s;
	int conn = a->pending[slot], fds[2], len, r;

	r = call_sock_recv(conn, &req, fds);
	if (r == -EAGAIN)
		return 0;
	a->pending[slot] = -1;
	if (r < 0) {
		call_sock_send_status(conn, 125);
		close(conn);
		return 0;
	}
	snprintf(svc_arg, sizeof(svc_arg), "%s%s%s", req.service,
		 req.has_arg ? "+" : "", req.arg);
	len = bh_call_req_encode(payload, sizeof(payload), req.target,
				 svc_arg);
	s = stream_find(a, 0);
	if (!s || len < 0) {
		if (!s)
			LOG_WARN("refusing a call: %u streams already run",
				 BH_MAX_STREAMS);
		call_sock_send_status(conn, 125);
		close(conn);
		close(fds[0]);
		close(fds[1]);
		return 0;
	}
	memset(s, 0, sizeof(*s));
	s->id = new_call_id(a);
	s->call = 1;
	s->conn_fd = conn;
	s->out_fd = fds[0];
	s->in_fd = fds[1];
	s->err_fd = -1;
	s->port_fd = -1;
	/* Nothing may go out before the daemon joins the call with its
	 * service and grants a window (streams.h). */
	s->send_credit.avail = 0;
	bh_set_nonblock(fds[0], 1);
	bh_set_nonblock(fds[1], 1);
	return bh_chan_send(&a->chan, BH_MSG_CALL, s->id, payload,
			    (uint32_t)len);
}

/* The caller's socket says something after its request, or hangs up:
 * either way it gets no status any more. Its pipes carry on until they
 * end by themselves. */
static void call_conn_event(struct agent_stream *s)
{
	close_fd(&s->conn_fd);
}

/* ---- the loop ---- */

enum slot_kind { SLOT_CHAN, SLOT_SIG, SLOT_LISTEN, SLOT_PENDING, SLOT_IN,
		 SLOT_OUT, SLOT_ERR, SLOT_CONN, SLOT_UEVENT, SLOT_PORT_IN,
		 SLOT_PORT_OUT };

#define POLL_MAX (4 + AGENT_PENDING_MAX + 6 * BH_MAX_STREAMS)

int agent_serve(struct agent *a, int sig_fd)
{
	static struct pollfd p[POLL_MAX];
	static struct agent_stream *who[POLL_MAX];
	static unsigned char kind[POLL_MAX];
	static size_t pslot[POLL_MAX];
	int r;

	for (;;) {
		nfds_t n = 0, i;

#define ADD(fd_, ev_, k_, s_, slot_)                                          \
	do {                                                                  \
		p[n] = (struct pollfd){ (fd_), (short)(ev_), 0 };             \
		kind[n] = (k_);                                               \
		who[n] = (s_);                                                \
		pslot[n++] = (slot_);                                         \
	} while (0)

		if ((r = ports_switch(a)) < 0)
			return r;
		if ((r = finish_streams(a)) < 0)
			return r;
		if ((r = bh_chan_flush(&a->chan)) < 0)
			return r;
		if (a->poweroff_requested || a->host_gone)
			return 0;
		/* A disposable lives for one job: once its exit status is on
		 * the wire, wait for the host's POWEROFF (it confirms the
		 * host has read everything) or its hang-up. */
		ADD(a->chan.fd, POLLIN | (r == 1 ? POLLOUT : 0), SLOT_CHAN,
		    NULL, 0);
		ADD(sig_fd, POLLIN, SLOT_SIG, NULL, 0);
		if (a->call_listen_fd >= 0) {
			ADD(a->call_listen_fd, POLLIN, SLOT_LISTEN, NULL, 0);
			for (i = 0; i < AGENT_PENDING_MAX; i++)
				if (a->pending[i] >= 0)
					ADD(a->pending[i], POLLIN,
					    SLOT_PENDING, NULL, i);
		}
		if (a->uevent_fd >= 0)
			ADD(a->uevent_fd, POLLIN, SLOT_UEVENT, NULL, 0);
		for (i = 0; i < BH_MAX_STREAMS; i++) {
			struct agent_stream *s = &a->streams[i];

			if (!s->id)
				continue;
			if (s->in_fd >= 0 && s->stdin_len)
				ADD(s->in_fd, POLLOUT, SLOT_IN, s, 0);
			if (s->conn_fd >= 0)
				ADD(s->conn_fd, POLLIN, SLOT_CONN, s, 0);
			if (s->port_fd >= 0 && s->in_switched &&
			    s->stdin_len == 0 && !port_input_done(s))
				ADD(s->port_fd, POLLIN, SLOT_PORT_IN, s, 0);
			if (s->port_fd >= 0 && s->pbuf_len)
				ADD(s->port_fd, POLLOUT, SLOT_PORT_OUT, s, 0);
			if (s->out_switched) {
				/* On the port: paced by pbuf, not credit. */
				if (s->out_fd >= 0 && !s->pbuf_len)
					ADD(s->out_fd, POLLIN, SLOT_OUT, s, 0);
				if (s->err_fd >= 0 &&
				    bh_credit_payload_max(
					    s->send_credit.avail) &&
				    bh_chan_pending(&a->chan) <
					    AGENT_PAUSE_BYTES)
					ADD(s->err_fd, POLLIN, SLOT_ERR, s, 0);
				continue;
			}
			/* Credit bounds payload; this bounds headers too
			 * when a command writes in tiny pieces. */
			if (!bh_credit_payload_max(s->send_credit.avail) ||
			    bh_chan_pending(&a->chan) >= AGENT_PAUSE_BYTES)
				continue;
			if (s->out_fd >= 0)
				ADD(s->out_fd, POLLIN, SLOT_OUT, s, 0);
			if (s->err_fd >= 0)
				ADD(s->err_fd, POLLIN, SLOT_ERR, s, 0);
		}
#undef ADD
		int timeout = a->disposable && a->jobs_finished
				      ? AGENT_DISPOSABLE_LINGER_MS
				      : -1;
		int pr = poll(p, n, timeout);

		if (pr < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (pr == 0)
			return 0;
		for (i = 0; i < n; i++) {
			struct agent_stream *s = who[i];

			if (!p[i].revents)
				continue;
			r = 0;
			switch (kind[i]) {
			case SLOT_CHAN:
				if (p[i].revents & (POLLIN | POLLHUP | POLLERR))
					r = read_channel(a);
				break;
			case SLOT_SIG: {
				struct signalfd_siginfo si;

				while (read(sig_fd, &si, sizeof(si)) ==
				       sizeof(si)) {
					if (si.ssi_signo == SIGTERM ||
					    si.ssi_signo == SIGINT)
						a->poweroff_requested = 1;
				}
				reap_children(a);
				break;
			}
			case SLOT_LISTEN:
				accept_calls(a);
				break;
			case SLOT_PENDING:
				r = take_call(a, pslot[i]);
				break;
			case SLOT_IN:
				/* A stream released earlier in this round
				 * has id 0 and closed fds. */
				if (s->id && p[i].fd == s->in_fd)
					r = pump_input(a, s);
				break;
			case SLOT_OUT:
				if (s->id && p[i].fd == s->out_fd &&
				    s->out_switched)
					r = port_pump_out(a, s);
				else if (s->id && p[i].fd == s->out_fd)
					r = pump_output(a, s, &s->out_fd,
							s->call ? BH_MSG_STDIN
								: BH_MSG_STDOUT);
				break;
			case SLOT_UEVENT:
				ports_uevent(a);
				break;
			case SLOT_PORT_IN:
				if (s->id && p[i].fd == s->port_fd &&
				    s->stdin_len == 0)
					r = port_read(s);
				break;
			case SLOT_PORT_OUT:
				if (s->id && p[i].fd == s->port_fd)
					r = port_write(a, s);
				break;
			case SLOT_ERR:
				if (s->id && p[i].fd == s->err_fd)
					r = pump_output(a, s, &s->err_fd,
							BH_MSG_STDERR);
				break;
			case SLOT_CONN:
				if (s->id && p[i].fd == s->conn_fd)
					call_conn_event(s);
				break;
			}
			if (r < 0)
				return r;
		}
	}
}

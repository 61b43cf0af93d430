#include "agent/serve.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/util.h"
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
	memset(a, 0, sizeof(*a));
	bh_chan_init(&a->chan, chan_fd, AGENT_CHAN_OUT_MAX);
	a->disposable = disposable;
	a->spawn = spawn_command;
}

int agent_send_hello(struct agent *a)
{
	uint8_t p[8];

	bh_put_u32(p, BH_PROTO_VERSION);
	bh_put_u32(p + 4, 0);
	return bh_chan_send(&a->chan, BH_MSG_HELLO, 0, p, sizeof(p));
}

static void stream_close_fds(struct agent_stream *s)
{
	if (s->in_fd >= 0)
		close(s->in_fd);
	if (s->out_fd >= 0)
		close(s->out_fd);
	if (s->err_fd >= 0)
		close(s->err_fd);
	s->in_fd = s->out_fd = s->err_fd = -1;
}

static void stream_release(struct agent_stream *s)
{
	stream_close_fds(s);
	free(s->stdin_buf);
	memset(s, 0, sizeof(*s));
	s->in_fd = s->out_fd = s->err_fd = -1;
}

void agent_free(struct agent *a)
{
	size_t i;

	for (i = 0; i < BH_MAX_STREAMS; i++)
		if (a->streams[i].id)
			stream_release(&a->streams[i]);
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

static int handle_exec(struct agent *a, uint32_t id,
		       const uint8_t *untrusted_payload, uint32_t len)
{
	struct bh_exec_req req;
	struct agent_stream *s;
	struct spawned sp;
	int r;

	if (stream_find(a, id))
		return -EPROTO; /* stream id reused while live */
	if (bh_exec_req_parse(untrusted_payload, len, &req) < 0)
		return -EPROTO;
	s = stream_find(a, 0);
	if (!s) {
		bh_exec_req_free(&req);
		LOG_WARN("refusing stream %u: %u streams already run", id,
			 BH_MAX_STREAMS);
		return send_exit(a, id, BH_EXIT_NOSTART, BH_NOSTART_OTHER);
	}
	r = a->spawn(&req, &sp);
	bh_exec_req_free(&req);
	if (r < 0) {
		/* Streams ended before they began are not jobs: a
		 * disposable whose command is missing still powers off. */
		a->jobs_finished++;
		return send_exit(a, id, BH_EXIT_NOSTART, (uint32_t)-r);
	}
	memset(s, 0, sizeof(*s));
	s->id = id;
	s->pid = sp.pid;
	s->in_fd = sp.in_fd;
	s->out_fd = sp.out_fd;
	s->err_fd = sp.err_fd;
	s->send_credit.avail = BH_STREAM_WINDOW;
	return 0;
}

static int handle_stdin(struct agent *a, struct agent_stream *s,
			const uint8_t *untrusted_payload, uint32_t len)
{
	if (s->stdin_eof)
		return -EPROTO; /* data after EOF */
	if (len == 0) {
		s->stdin_eof = 1;
		if (s->stdin_len == 0 && s->in_fd >= 0) {
			close(s->in_fd);
			s->in_fd = -1;
		}
		return 0;
	}
	if (len > BH_STREAM_WINDOW - s->stdin_outstanding)
		return -EPROTO; /* past the credit we gave */
	s->stdin_outstanding += len;
	if (s->in_fd < 0) {
		/* The command closed its stdin: drop, but keep the credit
		 * flowing so the sender is not stuck. */
		s->stdin_outstanding -= len;
		return bh_chan_send_u32(&a->chan, BH_MSG_CREDIT, s->id, len);
	}
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

int agent_handle_frame(struct agent *a, const struct bh_frame_hdr *h,
		       const uint8_t *untrusted_payload)
{
	struct agent_stream *s;
	uint32_t v;

	if (bh_frame_check_from_host(h) < 0)
		return -EPROTO;
	switch (h->type) {
	case BH_MSG_POWEROFF:
		a->poweroff_requested = 1;
		return 0;
	case BH_MSG_EXEC:
		return handle_exec(a, h->stream, untrusted_payload, h->len);
	case BH_MSG_STDIN:
		s = stream_find(a, h->stream);
		/* Data may still arrive for a stream that just ended. */
		if (!s)
			return 0;
		return handle_stdin(a, s, untrusted_payload, h->len);
	case BH_MSG_CREDIT:
		if (bh_parse_u32_payload(untrusted_payload, h->len, &v) < 0)
			return -EPROTO;
		s = stream_find(a, h->stream);
		if (!s)
			return 0;
		return bh_credit_grant(&s->send_credit, v);
	}
	return -EPROTO;
}

void agent_child_exited(struct agent *a, pid_t pid, int wstatus)
{
	size_t i;

	for (i = 0; i < BH_MAX_STREAMS; i++) {
		struct agent_stream *s = &a->streams[i];

		if (!s->id || s->pid != pid)
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

/* Moves buffered stdin into the command's pipe and credits it back. */
static int pump_stdin(struct agent *a, struct agent_stream *s)
{
	ssize_t n;

	if (s->in_fd < 0 || s->stdin_len == 0)
		return 0;
	n = write(s->in_fd, s->stdin_buf, s->stdin_len);
	if (n < 0) {
		if (errno == EAGAIN || errno == EINTR)
			return 0;
		/* EPIPE: the command is not reading any more. */
		close(s->in_fd);
		s->in_fd = -1;
		n = s->stdin_len;
	}
	memmove(s->stdin_buf, s->stdin_buf + n, s->stdin_len - (size_t)n);
	s->stdin_len -= (uint32_t)n;
	s->stdin_outstanding -= (uint32_t)n;
	if (s->stdin_len == 0 && s->stdin_eof && s->in_fd >= 0) {
		close(s->in_fd);
		s->in_fd = -1;
	}
	return bh_chan_send_u32(&a->chan, BH_MSG_CREDIT, s->id, (uint32_t)n);
}

/* Reads what the command wrote, as far as credit allows. */
static int pump_output(struct agent *a, struct agent_stream *s, int *fd,
		       uint32_t type)
{
	uint8_t buf[BH_FRAME_MAX_PAYLOAD];
	uint32_t want = s->send_credit.avail;
	ssize_t n;

	if (*fd < 0 || want == 0)
		return 0;
	if (want > sizeof(buf))
		want = sizeof(buf);
	n = read(*fd, buf, want);
	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -errno;
	if (n == 0) {
		close(*fd);
		*fd = -1;
		return bh_chan_send(&a->chan, type, s->id, NULL, 0);
	}
	bh_credit_take(&s->send_credit, (uint32_t)n);
	return bh_chan_send(&a->chan, type, s->id, buf, (uint32_t)n);
}

static int finish_streams(struct agent *a)
{
	size_t i;
	int r;

	for (i = 0; i < BH_MAX_STREAMS; i++) {
		struct agent_stream *s = &a->streams[i];

		if (!s->id || !s->exited || s->out_fd >= 0 || s->err_fd >= 0)
			continue;
		r = send_exit(a, s->id, s->exit_kind, s->exit_value);
		if (r < 0)
			return r;
		stream_release(s);
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

int agent_serve(struct agent *a, int sig_fd)
{
	int r;

	for (;;) {
		struct pollfd p[2 + 3 * BH_MAX_STREAMS];
		struct agent_stream *who[2 + 3 * BH_MAX_STREAMS];
		nfds_t n = 0, i;

		if ((r = finish_streams(a)) < 0)
			return r;
		if ((r = bh_chan_flush(&a->chan)) < 0)
			return r;
		if (a->poweroff_requested || a->host_gone)
			return 0;
		/* A disposable lives for one job: once its exit status is on
		 * the wire, wait for the host's POWEROFF (it confirms the
		 * host has read everything) or its hang-up. */
		p[n].fd = a->chan.fd;
		p[n].events = POLLIN | (r == 1 ? POLLOUT : 0);
		who[n++] = NULL;
		p[n].fd = sig_fd;
		p[n].events = POLLIN;
		who[n++] = NULL;
		for (i = 0; i < BH_MAX_STREAMS; i++) {
			struct agent_stream *s = &a->streams[i];

			if (!s->id)
				continue;
			if (s->in_fd >= 0 && s->stdin_len) {
				p[n].fd = s->in_fd;
				p[n].events = POLLOUT;
				who[n++] = s;
			}
			/* Credit bounds payload; this bounds headers too
			 * when a command writes in tiny pieces. */
			if (s->send_credit.avail &&
			    bh_chan_pending(&a->chan) < AGENT_PAUSE_BYTES) {
				if (s->out_fd >= 0) {
					p[n].fd = s->out_fd;
					p[n].events = POLLIN;
					who[n++] = s;
				}
				if (s->err_fd >= 0) {
					p[n].fd = s->err_fd;
					p[n].events = POLLIN;
					who[n++] = s;
				}
			}
		}
		/* A disposable whose job is done waits a bounded time for
		 * the host's word, then powers off on its own. */
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
		if (p[1].revents) {
			struct signalfd_siginfo si;

			while (read(sig_fd, &si, sizeof(si)) == sizeof(si)) {
				if (si.ssi_signo == SIGTERM ||
				    si.ssi_signo == SIGINT)
					a->poweroff_requested = 1;
			}
			reap_children(a);
		}
		for (i = 2; i < n; i++) {
			struct agent_stream *s = who[i];

			if (!p[i].revents || !s->id)
				continue;
			if (p[i].fd == s->in_fd)
				r = pump_stdin(a, s);
			else if (p[i].fd == s->out_fd)
				r = pump_output(a, s, &s->out_fd,
						BH_MSG_STDOUT);
			else if (p[i].fd == s->err_fd)
				r = pump_output(a, s, &s->err_fd,
						BH_MSG_STDERR);
			else
				r = 0;
			if (r < 0)
				return r;
		}
		if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			r = read_channel(a);
			if (r < 0)
				return r;
		}
	}
}

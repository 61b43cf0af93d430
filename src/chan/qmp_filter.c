/* QEMU's QMP, parsed in the channel process (see qmp_filter.h). */
#include "chan/qmp_filter.h"

#include <errno.h>
#include <jansson.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/crashpoint.h"
#include "lib/util.h"

#define CAPABILITIES "{\"execute\":\"qmp_capabilities\"}\n"

void qmp_filter_init(struct qmp_filter *f, int qemu_fd, int link_fd)
{
	memset(f, 0, sizeof(*f));
	f->qemu_fd = qemu_fd;
	f->link_fd = link_fd;
	f->state = QF_GREETING;
}

static int broken(struct qmp_filter *f, struct bh_qmp_rec *out,
		  const char *why)
{
	memset(out, 0, sizeof(*out));
	out->kind = BH_QMP_BROKEN;
	bh_qmp_field_set(out->text, sizeof(out->text), why);
	f->state = QF_CLOSED;
	return -EPROTO;
}

/* The tag of a reply: an integer 1..UINT32_MAX, which we may have sent;
 * else 0. */
static uint32_t reply_tag(json_t *msg)
{
	json_t *id = json_object_get(msg, "id");
	json_int_t v;

	if (!json_is_integer(id))
		return 0;
	v = json_integer_value(id);
	return v >= 1 && v <= (json_int_t)UINT32_MAX ? (uint32_t)v : 0;
}

static void event_record(json_t *msg, const char *name, struct bh_qmp_rec *out)
{
	json_t *data = json_object_get(msg, "data");
	const char *key = !strcmp(name, "SHUTDOWN")	    ? "reason"
			  : !strcmp(name, "MIGRATION")	    ? "status"
			  : !strcmp(name, "DEVICE_DELETED") ? "device"
							    : NULL;
	json_t *arg = key ? json_object_get(data, key) : NULL;

	out->kind = BH_QMP_EVENT;
	bh_qmp_field_set(out->name, sizeof(out->name), name);
	if (json_is_string(arg))
		bh_qmp_field_set(out->arg, sizeof(out->arg),
				 json_string_value(arg));
}

int qmp_filter_line(struct qmp_filter *f, const char *untrusted_line,
		    size_t len, struct bh_qmp_rec *out, int *send_caps)
{
	json_error_t err;
	json_t *msg, *v;
	int r = 0;

	memset(out, 0, sizeof(*out));
	*send_caps = 0;
	if (f->state == QF_CLOSED)
		return broken(f, out, "QMP is closed");
	msg = json_loadb(untrusted_line, len, 0, &err);
	if (!msg || !json_is_object(msg)) {
		json_decref(msg);
		return broken(f, out, "QMP sent something that is not a JSON "
				      "object");
	}
	if (f->state == QF_GREETING) {
		if (!json_is_object(json_object_get(msg, "QMP"))) {
			r = broken(f, out, "QMP's first line is no greeting");
		} else {
			f->state = QF_NEGOTIATING;
			*send_caps = 1;
		}
	} else if ((v = json_object_get(msg, "event"))) {
		if (!json_is_string(v))
			r = broken(f, out, "a QMP event without a name");
		else
			event_record(msg, json_string_value(v), out);
	} else if (json_object_get(msg, "return")) {
		if (f->state == QF_NEGOTIATING) {
			bh_crash_point("chan.qmp-ready"); /* tests/crash */
			f->state = QF_READY;
			out->kind = BH_QMP_READY;
		} else if ((out->tag = reply_tag(msg)) != 0) {
			out->kind = BH_QMP_REPLY;
			out->ok = 1;
		}
	} else if ((v = json_object_get(msg, "error"))) {
		json_t *desc = json_object_get(v, "desc");

		out->kind = BH_QMP_REPLY;
		out->tag = f->state == QF_READY ? reply_tag(msg) : 0;
		out->ok = 0;
		bh_qmp_field_set(out->text, sizeof(out->text),
				 json_is_string(desc) ? json_string_value(desc)
						      : "(no description)");
	} else {
		r = broken(f, out, "a QMP line that is no event, return or "
				   "error");
	}
	json_decref(msg);
	return r;
}

int qmp_filter_qemu_readable(const struct qmp_filter *f)
{
	return f->state != QF_CLOSED && !f->have_pending && !f->link_eof;
}

/* Sends rec to the daemon, or keeps it for POLLOUT. (write, not send:
 * the seccomp list has no sendto; SIGPIPE is ignored.) */
static void send_record(struct qmp_filter *f, const struct bh_qmp_rec *rec)
{
	ssize_t n;

	if (f->link_fd < 0)
		return; /* detached: nobody to tell */
	bh_qmp_rec_encode(f->pending, rec);
	do
		n = write(f->link_fd, f->pending, BH_QMP_REC_LEN);
	while (n < 0 && errno == EINTR);
	if (n == (ssize_t)BH_QMP_REC_LEN)
		return;
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		f->have_pending = 1;
	else
		f->link_eof = 1;
}

static void close_qmp(struct qmp_filter *f, const char *why)
{
	struct bh_qmp_rec rec;

	broken(f, &rec, why);
	send_record(f, &rec);
}

/* Writes a whole line to QEMU (with fd beside its first byte when
 * fd >= 0), or breaks QMP: QEMU has a socket buffer of room for it. */
static int to_qemu(struct qmp_filter *f, const char *line, size_t len, int fd)
{
	if (bh_send_with_fd(f->qemu_fd, line, len, fd) == 0)
		return 0;
	close_qmp(f, "QEMU does not read its QMP commands");
	return -1;
}

/* Handles the whole lines in f->in until one's record waits for the
 * daemon: called after each read and when a waiting record has gone, so
 * that lines read with it are not left behind until QEMU writes again. */
static void take_lines(struct qmp_filter *f)
{
	struct bh_qmp_rec rec;
	char *nl;
	int caps;

	while (f->state != QF_CLOSED && !f->have_pending &&
	       (nl = memchr(f->in, '\n', f->in_len))) {
		size_t line = (size_t)(nl - f->in) + 1;
		int r = qmp_filter_line(f, f->in, line, &rec, &caps);

		memmove(f->in, f->in + line, f->in_len - line);
		f->in_len -= line;
		if (caps && to_qemu(f, CAPABILITIES, strlen(CAPABILITIES), -1) < 0)
			return;
		if (rec.kind)
			send_record(f, &rec);
		if (r < 0)
			return;
	}
	if (f->state != QF_CLOSED && !f->have_pending &&
	    f->in_len == sizeof(f->in))
		close_qmp(f, "a QMP line over 64 KiB");
}

void qmp_filter_link_output(struct qmp_filter *f)
{
	ssize_t n;

	if (!f->have_pending)
		return;
	n = write(f->link_fd, f->pending, BH_QMP_REC_LEN);
	if (n == (ssize_t)BH_QMP_REC_LEN) {
		f->have_pending = 0;
		take_lines(f);
	} else if (n >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK &&
			      errno != EINTR)) {
		f->link_eof = 1;
	}
}

void qmp_filter_detach(struct qmp_filter *f)
{
	if (f->link_fd >= 0)
		close(f->link_fd);
	f->link_fd = -1;
	f->link_eof = 0;
	f->have_pending = 0;
}

void qmp_filter_attach(struct qmp_filter *f, int link_fd)
{
	struct bh_qmp_rec rec = { 0 };

	qmp_filter_detach(f);
	f->link_fd = link_fd;
	if (f->state == QF_READY) {
		rec.kind = BH_QMP_READY;
		send_record(f, &rec);
	} else if (f->state == QF_CLOSED) {
		rec.kind = BH_QMP_BROKEN;
		bh_qmp_field_set(rec.text, sizeof(rec.text),
				 "QMP was closed before this link");
		send_record(f, &rec);
	}
}

void qmp_filter_qemu_input(struct qmp_filter *f)
{
	ssize_t n;

	n = read(f->qemu_fd, f->in + f->in_len, sizeof(f->in) - f->in_len);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		/* QEMU is ending; the daemon learns it by its reaping. */
		f->state = QF_CLOSED;
		return;
	}
	f->in_len += (size_t)n;
	take_lines(f);
}

void qmp_filter_link_input(struct qmp_filter *f)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(4 * sizeof(int))];
	} c;
	static char line[QMP_FILTER_LINE_MAX + 1];
	struct iovec iov = { .iov_base = line, .iov_len = sizeof(line) };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *h;
	int fds[4], nfd = 0, i;
	ssize_t n;

	m.msg_control = c.buf;
	m.msg_controllen = sizeof(c.buf);
	do
		n = recvmsg(f->link_fd, &m, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return;
	for (h = CMSG_FIRSTHDR(&m); h; h = CMSG_NXTHDR(&m, h))
		if (h->cmsg_level == SOL_SOCKET && h->cmsg_type == SCM_RIGHTS)
			for (i = 0; (size_t)i < (h->cmsg_len - CMSG_LEN(0)) /
						   sizeof(int) &&
				    nfd < 4;
			     i++)
				memcpy(&fds[nfd++],
				       CMSG_DATA(h) + (size_t)i * sizeof(int),
				       sizeof(int));
	if (n <= 0) {
		f->link_eof = 1;
	} else if (f->state == QF_READY && !(m.msg_flags & MSG_TRUNC) &&
		   nfd <= 1 && line[n - 1] == '\n' &&
		   memchr(line, '\n', (size_t)n) == line + n - 1) {
		/* One whole line of the daemon's: QEMU gets it as it is. */
		to_qemu(f, line, (size_t)n, nfd ? fds[0] : -1);
	}
	/* Anything else (before READY, or malformed: the daemon is ours,
	 * so a bug) is dropped; its command then never gets a reply. */
	for (i = 0; i < nfd; i++)
		close(fds[i]);
}

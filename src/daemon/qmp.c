#include "daemon/qmp.h"

#include <errno.h>
#include <jansson.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/util.h"

void qmp_init(struct qmp *q, int fd)
{
	memset(q, 0, sizeof(*q));
	q->fd = fd;
	q->state = QMP_GREETING;
}

static int send_json(struct qmp *q, json_t *obj)
{
	char *text = json_dumps(obj, JSON_COMPACT);
	int r;

	json_decref(obj);
	if (!text)
		return -ENOMEM;
	/* Commands are tiny; the socket buffer always has room. */
	r = bh_write_all(q->fd, text, strlen(text));
	if (r == 0)
		r = bh_write_all(q->fd, "\n", 1);
	free(text);
	return r;
}

int qmp_command(struct qmp *q, const char *name)
{
	if (q->state != QMP_READY)
		return -ENOTCONN;
	return send_json(q, json_pack("{s:s}", "execute", name));
}

int qmp_command_str(struct qmp *q, const char *name, const char *key,
		    const char *value)
{
	if (q->state != QMP_READY)
		return -ENOTCONN;
	return send_json(q, json_pack("{s:s, s:{s:s}}", "execute", name,
				      "arguments", key, value));
}

int qmp_getfd(struct qmp *q, const char *fdname, int fd)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} ctl;
	json_t *obj;
	char *text;
	struct iovec iov;
	struct msghdr m;
	struct cmsghdr *c;
	ssize_t n;
	size_t len;

	if (q->state != QMP_READY)
		return -ENOTCONN;
	obj = json_pack("{s:s, s:{s:s}}", "execute", "getfd", "arguments",
			"fdname", fdname);
	text = obj ? json_dumps(obj, JSON_COMPACT) : NULL;
	json_decref(obj);
	if (!text)
		return -ENOMEM;
	len = strlen(text);
	text[len] = '\n'; /* json_dumps's NUL becomes the line's end */
	memset(&ctl, 0, sizeof(ctl));
	memset(&m, 0, sizeof(m));
	iov.iov_base = text;
	iov.iov_len = len + 1;
	m.msg_iov = &iov;
	m.msg_iovlen = 1;
	m.msg_control = ctl.buf;
	m.msg_controllen = sizeof(ctl.buf);
	c = CMSG_FIRSTHDR(&m);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	/* A short line on an idle socket: sent whole or not at all. */
	do
		n = sendmsg(q->fd, &m, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	free(text);
	if (n < 0)
		return -errno;
	return (size_t)n == len + 1 ? 0 : -EIO;
}

/* Copies a QEMU-supplied string for our logs, printable ASCII only. */
static void copy_str(char *dst, size_t cap, const char *src)
{
	size_t n = strnlen(src, cap - 1), i;

	for (i = 0; i < n; i++)
		dst[i] = src[i] >= 0x20 && src[i] < 0x7f ? src[i] : '?';
	dst[n] = '\0';
}

int qmp_handle_line(struct qmp *q, const char *untrusted_line, size_t len,
		    const char *qube)
{
	json_error_t err;
	json_t *msg = json_loadb(untrusted_line, len, 0, &err), *v;
	int r = 0;

	if (!msg || !json_is_object(msg)) {
		json_decref(msg);
		LOG_WARN("%s: QMP sent something that is not a JSON object",
			 qube);
		return -EPROTO;
	}
	if (q->state == QMP_GREETING) {
		if (!json_is_object(json_object_get(msg, "QMP"))) {
			r = -EPROTO;
		} else {
			q->state = QMP_NEGOTIATING;
			r = send_json(q, json_pack("{s:s}", "execute",
						   "qmp_capabilities"));
		}
	} else if ((v = json_object_get(msg, "event"))) {
		if (!json_is_string(v)) {
			r = -EPROTO;
		} else {
			copy_str(q->last_event, sizeof(q->last_event),
				 json_string_value(v));
			json_t *reason = json_object_get(
				json_object_get(msg, "data"), "reason");

			json_t *status = json_object_get(
				json_object_get(msg, "data"), "status");

			if (!strcmp(q->last_event, "SHUTDOWN") &&
			    json_is_string(reason))
				copy_str(q->shutdown_reason,
					 sizeof(q->shutdown_reason),
					 json_string_value(reason));
			if (!strcmp(q->last_event, "MIGRATION") &&
			    json_is_string(status)) {
				copy_str(q->migration, sizeof(q->migration),
					 json_string_value(status));
				q->migration_changed = 1;
			}
			LOG_DEBUG("%s: QMP event %s", qube, q->last_event);
		}
	} else if (json_object_get(msg, "return")) {
		if (q->state == QMP_NEGOTIATING)
			q->state = QMP_READY;
	} else if ((v = json_object_get(msg, "error"))) {
		json_t *desc = json_object_get(v, "desc");
		char text[256];

		copy_str(text, sizeof(text),
			 json_is_string(desc) ? json_string_value(desc)
					      : "(no description)");
		LOG_WARN("%s: QMP error: %s", qube, text);
	} else {
		r = -EPROTO;
	}
	json_decref(msg);
	return r;
}

int qmp_handle_input(struct qmp *q, const char *qube)
{
	ssize_t n;
	char *nl;

	if (q->state == QMP_CLOSED)
		return -ENOTCONN;
	n = read(q->fd, q->in + q->in_len, sizeof(q->in) - q->in_len);
	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -errno;
	if (n == 0) {
		q->state = QMP_CLOSED;
		return -ENOTCONN;
	}
	q->in_len += (size_t)n;
	while ((nl = memchr(q->in, '\n', q->in_len))) {
		size_t line = (size_t)(nl - q->in) + 1;
		int r = qmp_handle_line(q, q->in, line, qube);

		memmove(q->in, q->in + line, q->in_len - line);
		q->in_len -= line;
		if (r < 0) {
			q->state = QMP_CLOSED;
			return r;
		}
	}
	if (q->in_len == sizeof(q->in)) {
		q->state = QMP_CLOSED;
		return -EMSGSIZE;
	}
	return 0;
}

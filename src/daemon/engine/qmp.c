#include "daemon/engine/qmp.h"

#include <errno.h>
#include <jansson.h>
#include <stdint.h>
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

int qmp_name_ok(const char *name)
{
	size_t n = 0;

	if (!name)
		return 0;
	for (; name[n]; n++)
		if (!((name[n] >= 'a' && name[n] <= 'z') ||
		      (name[n] >= '0' && name[n] <= '9') || name[n] == '.'))
			return 0;
	return n > 0 && n < 64;
}

/* Sends obj (consumed) as one line, with fd passed alongside when
 * fd >= 0: in one sendmsg, so that QEMU has the fd when it runs the
 * command. */
static int send_obj_fd(struct qmp *q, json_t *obj, int fd)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} c;
	struct msghdr m = { 0 };
	struct iovec iov;
	char *text, *line;
	size_t len;
	ssize_t n;

	if (fd < 0)
		return send_json(q, obj);
	text = json_dumps(obj, JSON_COMPACT);
	json_decref(obj);
	if (!text)
		return -ENOMEM;
	len = strlen(text);
	line = realloc(text, len + 2);
	if (!line) {
		free(text);
		return -ENOMEM;
	}
	line[len++] = '\n';
	iov.iov_base = line;
	iov.iov_len = len;
	m.msg_iov = &iov;
	m.msg_iovlen = 1;
	memset(&c, 0, sizeof(c));
	m.msg_control = c.buf;
	m.msg_controllen = sizeof(c.buf);
	c.h.cmsg_level = SOL_SOCKET;
	c.h.cmsg_type = SCM_RIGHTS;
	c.h.cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(&c.h), &fd, sizeof(int));
	do
		n = sendmsg(q->fd, &m, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		n = -errno;
	/* The rest (rare: commands are far below the socket buffer) goes
	 * without the fd, which went with the first byte. */
	else if ((size_t)n < len)
		n = bh_write_all(q->fd, line + n, len - (size_t)n) == 0 ? 0
									: -EIO;
	else
		n = 0;
	free(line);
	return (int)n;
}

/* Sends obj (a command; consumed) with "id": tag, and fd passed
 * alongside when fd >= 0. */
static int send_tagged(struct qmp *q, json_t *obj, uint32_t tag, int fd)
{
	if (!obj)
		return -ENOMEM;
	if (q->state != QMP_READY || tag == 0) {
		json_decref(obj);
		return q->state != QMP_READY ? -ENOTCONN : -EINVAL;
	}
	if (json_object_set_new(obj, "id", json_integer(tag)) < 0) {
		json_decref(obj);
		return -ENOMEM;
	}
	return send_obj_fd(q, obj, fd);
}

int qmp_getfd_tagged(struct qmp *q, uint32_t tag, const char *fdname, int fd)
{
	if (!qmp_name_ok(fdname) || fd < 0)
		return -EINVAL;
	return send_tagged(q,
			   json_pack("{s:s,s:{s:s}}", "execute", "getfd",
				     "arguments", "fdname", fdname),
			   tag, fd);
}

int qmp_chardev_add_fd_tagged(struct qmp *q, uint32_t tag, const char *id,
			      const char *fdname)
{
	if (!qmp_name_ok(id) || !qmp_name_ok(fdname))
		return -EINVAL;
	return send_tagged(
		q,
		json_pack("{s:s,s:{s:s,s:{s:s,s:{s:b,s:{s:s,s:{s:s}}}}}}",
			  "execute", "chardev-add", "arguments", "id", id,
			  "backend", "type", "socket", "data", "server", 0,
			  "addr", "type", "fd", "data", "str", fdname),
		tag, -1);
}

int qmp_chardev_remove_tagged(struct qmp *q, uint32_t tag, const char *id)
{
	if (!qmp_name_ok(id))
		return -EINVAL;
	return send_tagged(q,
			   json_pack("{s:s,s:{s:s}}", "execute",
				     "chardev-remove", "arguments", "id", id),
			   tag, -1);
}

int qmp_port_add_tagged(struct qmp *q, uint32_t tag, const char *dev,
			const char *chardev, const char *port_name)
{
	if (!qmp_name_ok(dev) || !qmp_name_ok(chardev) ||
	    !qmp_name_ok(port_name))
		return -EINVAL;
	return send_tagged(q,
			   json_pack("{s:s,s:{s:s,s:s,s:s,s:s}}", "execute",
				     "device_add", "arguments", "driver",
				     "virtserialport", "id", dev, "chardev",
				     chardev, "name", port_name),
			   tag, -1);
}

int qmp_device_del_tagged(struct qmp *q, uint32_t tag, const char *dev)
{
	if (!qmp_name_ok(dev))
		return -EINVAL;
	return send_tagged(q,
			   json_pack("{s:s,s:{s:s}}", "execute", "device_del",
				     "arguments", "id", dev),
			   tag, -1);
}

/* The tag of a reply: an integer 1..UINT32_MAX that we sent, else 0. */
static uint32_t reply_tag(json_t *msg)
{
	json_t *id = json_object_get(msg, "id");
	json_int_t v;

	if (!json_is_integer(id))
		return 0;
	v = json_integer_value(id);
	return v >= 1 && v <= (json_int_t)UINT32_MAX ? (uint32_t)v : 0;
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
	json_t *obj;

	if (q->state != QMP_READY)
		return -ENOTCONN;
	obj = json_pack("{s:s, s:{s:s}}", "execute", "getfd", "arguments",
			"fdname", fdname);
	return obj ? send_obj_fd(q, obj, fd) : -ENOMEM;
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
		qube_log(q->log, qube, BH_LOG_WARN,
			 "%s: QMP sent something that is not a JSON object",
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
			json_t *dev = json_object_get(
				json_object_get(msg, "data"), "device");

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
			/* Only ids that qmp_name_ok would send reach the
			 * callback: anything else was never ours. */
			if (!strcmp(q->last_event, "DEVICE_DELETED") &&
			    json_is_string(dev) &&
			    qmp_name_ok(json_string_value(dev)) &&
			    q->on_device_deleted)
				q->on_device_deleted(q->ctx,
						     json_string_value(dev));
			LOG_DEBUG("%s: QMP event %s", qube, q->last_event);
		}
	} else if (json_object_get(msg, "return")) {
		uint32_t tag = reply_tag(msg);

		if (q->state == QMP_NEGOTIATING)
			q->state = QMP_READY;
		else if (tag && q->on_reply)
			q->on_reply(q->ctx, tag, 1);
	} else if ((v = json_object_get(msg, "error"))) {
		uint32_t tag = reply_tag(msg);
		json_t *desc = json_object_get(v, "desc");
		char text[256];

		copy_str(text, sizeof(text),
			 json_is_string(desc) ? json_string_value(desc)
					      : "(no description)");
		qube_log(q->log, qube, BH_LOG_WARN, "%s: QMP error: %s", qube,
			 text);
		if (tag && q->on_reply && q->state == QMP_READY)
			q->on_reply(q->ctx, tag, 0);
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

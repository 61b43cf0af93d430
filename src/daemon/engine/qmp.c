#include "daemon/engine/qmp.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
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

/* Sends obj (consumed) as one line in one datagram on the QMP link to
 * the channel process (which passes it on to QEMU), with fd beside it
 * when fd >= 0: so QEMU has the fd when it runs the command. The link
 * is non-blocking: a command finds it full only when the channel
 * process stopped reading (then it fails). */
static int send_obj_fd(struct qmp *q, json_t *obj, int fd)
{
	char *text, *line;
	size_t len;
	int r;

	if (!obj)
		return -ENOMEM;
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
	r = bh_send_with_fd(q->fd, line, len, fd);
	free(line);
	return r;
}

static int send_json(struct qmp *q, json_t *obj)
{
	return send_obj_fd(q, obj, -1);
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

int qmp_handle_record(struct qmp *q, const struct bh_qmp_rec *r,
		      const char *qube)
{
	switch (r->kind) {
	case BH_QMP_READY:
		if (q->state != QMP_GREETING)
			return -EPROTO;
		q->state = QMP_READY;
		if (q->on_ready)
			q->on_ready(q->ctx);
		return 0;
	case BH_QMP_EVENT:
		if (q->state != QMP_READY)
			return -EPROTO;
		snprintf(q->last_event, sizeof(q->last_event), "%s", r->name);
		if (!strcmp(r->name, "SHUTDOWN"))
			snprintf(q->shutdown_reason, sizeof(q->shutdown_reason),
				 "%s", r->arg);
		if (!strcmp(r->name, "MIGRATION")) {
			/* Statuses are short words; a longer one is no
			 * status we act on either way. */
			snprintf(q->migration, sizeof(q->migration), "%.31s",
				 r->arg);
			q->migration_changed = 1;
		}
		/* Only ids that qmp_name_ok would send reach the callback:
		 * anything else was never ours. */
		if (!strcmp(r->name, "DEVICE_DELETED") && qmp_name_ok(r->arg) &&
		    q->on_device_deleted)
			q->on_device_deleted(q->ctx, r->arg);
		LOG_DEBUG("%s: QMP event %s", qube, q->last_event);
		return 0;
	case BH_QMP_REPLY:
		if (q->state != QMP_READY)
			return -EPROTO;
		if (!r->ok)
			qube_log(q->log, qube, BH_LOG_WARN, "%s: QMP error: %s",
				 qube, r->text);
		if (r->tag && q->on_reply)
			q->on_reply(q->ctx, r->tag, (int)r->ok);
		return 0;
	case BH_QMP_BROKEN:
		qube_log(q->log, qube, BH_LOG_WARN, "%s: QMP closed: %s", qube,
			 r->text);
		q->state = QMP_CLOSED;
		return -EPROTO;
	default:
		return -EPROTO;
	}
}

int qmp_handle_input(struct qmp *q, const char *qube)
{
	uint8_t untrusted_buf[BH_QMP_REC_LEN + 1];
	struct bh_qmp_rec r;
	int i;

	if (q->state == QMP_CLOSED)
		return -ENOTCONN;
	/* A bounded number a round: the channel process cannot keep the
	 * loop here. */
	for (i = 0; i < 64; i++) {
		ssize_t n = recv(q->fd, untrusted_buf, sizeof(untrusted_buf),
				 MSG_DONTWAIT);

		if (n < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -errno;
		if (n == 0) {
			q->state = QMP_CLOSED;
			return -ENOTCONN;
		}
		if (bh_qmp_rec_parse(untrusted_buf, (size_t)n, &r) < 0) {
			LOG_WARN("%s: its channel process sent a malformed QMP "
				 "record; QMP closed", qube);
			q->state = QMP_CLOSED;
			return -EPROTO;
		}
		if (qmp_handle_record(q, &r, qube) < 0) {
			if (r.kind != BH_QMP_BROKEN)
				qube_log(q->log, qube, BH_LOG_WARN,
					 "%s: QMP record of kind %u out of "
					 "order (QEMU spoke before its "
					 "greeting was answered); QMP closed",
					 qube, r.kind);
			q->state = QMP_CLOSED;
			return -EPROTO;
		}
	}
	return 0;
}

/* The daemon's QMP client for one QEMU, through the qube's channel
 * process (src/chan/qmp_filter.h): commands are QMP lines the daemon
 * builds (with jansson), one datagram each, passed on to QEMU as they
 * are; what QEMU says comes back as fixed-size records
 * (proto/msg_qmp.h), parsed from QEMU's JSON by the channel process and
 * checked here again. QEMU parses guest data, so it is less trusted than
 * the daemon: the daemon reads no byte QEMU wrote. */
#ifndef BH_DAEMON_QMP_H
#define BH_DAEMON_QMP_H

#include <stddef.h>
#include <stdint.h>

#include "daemon/engine/qube_log.h"
#include "proto/msg_qmp.h"

/* GREETING until the channel process says READY (it answers QEMU's
 * greeting itself); CLOSED once QMP is broken or gone. */
enum qmp_state { QMP_GREETING, QMP_READY, QMP_CLOSED };

struct qmp {
	int fd; /* the QMP link to the channel process (seqpacket) */
	enum qmp_state state;
	/* Last event name and shutdown reason, for the log. */
	char last_event[64];
	char shutdown_reason[64];
	/* The status of the last MIGRATION event ("completed", "failed",
	 * ...; "" before any), and a flag set when it changes, for the
	 * snapshot code to act on (dispvm_snapshot.h). */
	char migration[32];
	int migration_changed;
	/* Replies to tagged commands (qmp_*_tagged below) and the
	 * DEVICE_DELETED event, for the data ports (docs/rpc-data-path.md).
	 * QEMU chooses what it echoes: a receiver must look the tag or the
	 * device id up among what it asked for and ignore anything else.
	 * NULL: ignored. */
	void (*on_reply)(void *ctx, uint32_t tag, int ok);
	void (*on_device_deleted)(void *ctx, const char *untrusted_id);
	/* QMP became READY: commands may go from now on (a re-attached
	 * qube's first ones unplug what an earlier daemon left). NULL:
	 * none. */
	void (*on_ready)(void *ctx);
	void *ctx;
	/* The qube's log rate limit (qube_log.h): what QMP sends is QEMU's
	 * choice, and a QEMU a guest broke may send errors without end.
	 * NULL: none. */
	struct qube_log *log;
};

void qmp_init(struct qmp *q, int fd);
/* Reads and handles the records the channel process sent (READY,
 * events, replies, BROKEN), 64 at most. Returns 0, or -errno / -EPROTO
 * when QMP is unusable (QMP_CLOSED). */
int qmp_handle_input(struct qmp *q, const char *qube);
/* One checked record into the state machine; exposed for tests. 0, or
 * -EPROTO (out of order, or BROKEN). */
int qmp_handle_record(struct qmp *q, const struct bh_qmp_rec *r,
		      const char *qube);
/* Sends one command without arguments ("quit", "system_powerdown"). */
int qmp_command(struct qmp *q, const char *name);
/* Sends a command with one string argument, {"execute": name,
 * "arguments": {key: value}}. */
int qmp_command_str(struct qmp *q, const char *name, const char *key,
		    const char *value);
/* `getfd`: passes fd to QEMU under fdname (SCM_RIGHTS), for a later
 * command that names it ("fd:NAME"). */
int qmp_getfd(struct qmp *q, const char *fdname, int fd);

/* Names we put into QMP commands (chardev and device ids, fd names, port
 * names): 1..63 of [a-z0-9.], so nothing needs quoting anywhere. */
int qmp_name_ok(const char *name);

/* Commands for data ports, each carrying "id": tag (1..UINT32_MAX), whose
 * reply comes to on_reply. Return 0, -EINVAL (bad name or tag),
 * -ENOTCONN, or a write error. */
/* getfd fdname, passing fd with SCM_RIGHTS in the same write. */
int qmp_getfd_tagged(struct qmp *q, uint32_t tag, const char *fdname, int fd);
/* A client socket chardev on a file descriptor named by getfd. (QMP's
 * socket chardev defaults to server mode, which fails on a connected
 * socket: hence server=false.) */
int qmp_chardev_add_fd_tagged(struct qmp *q, uint32_t tag, const char *id,
			      const char *fdname);
int qmp_chardev_remove_tagged(struct qmp *q, uint32_t tag, const char *id);
/* device_add virtserialport id=dev, chardev=chardev, name=port_name. */
int qmp_port_add_tagged(struct qmp *q, uint32_t tag, const char *dev,
			const char *chardev, const char *port_name);
/* device_del: the reply comes at once, the device is gone only at the
 * DEVICE_DELETED event, and its chardev is busy until then. */
int qmp_device_del_tagged(struct qmp *q, uint32_t tag, const char *dev);

#endif

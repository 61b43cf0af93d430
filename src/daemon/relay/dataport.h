/* Direct data ports between the two qubes of a joined call
 * (docs/rpc-data-path.md): once a call has relayed one window, the daemon
 * plugs a virtserialport into each QEMU on the two ends of one socket
 * pair, and the agents move the rest of the bulk data there, so that no
 * byte of it passes through the daemon. The daemon sees only PORT_OPEN,
 * PORT_SWITCH, PORT_END and PORT_CLOSED. */
#ifndef BH_DAEMON_DATAPORT_H
#define BH_DAEMON_DATAPORT_H

#include <stddef.h>
#include <stdint.h>

#include "daemon/core/daemon.h"
#include "daemon/engine/engine.h"

/* Ports one qube has at once (plugged or being plugged or unplugged);
 * beyond that calls stay on the relay. Each takes one of the
 * virtio-serial ports the engine gives a qube. */
#define DATAPORT_MAX_PER_QUBE ENGINE_DATA_PORTS_MAX
/* A call moves to a port once this much of it went through the relay:
 * small calls never pay for a plug. */
#define DATAPORT_THRESHOLD ((uint64_t)BH_STREAM_WINDOW)

struct dataport_end {
	struct qube_vm *dv; /* NULL once its QEMU is gone */
	uint32_t sid;	   /* the stream on dv's channel */
	int pending;	   /* plug replies still to come */
	int failed;	   /* a plug step failed */
	int chardev, device; /* what QEMU has */
	int closed;	   /* the agent is done (or cannot use it) */
	int unplugging;	   /* device_del or chardev-remove sent */
	int done;	   /* nothing left in QEMU */
};

struct dataport {
	struct dataport *next;
	uint32_t n; /* bulkhead.data.N; chardev bhdc.N, device bhdp.N */
	int open_sent;
	/* Plugged by an earlier daemon into the re-attached qube of end 0
	 * (end 1 is none): only unplugged. */
	int leftover;
	struct dataport_end end[2]; /* 0: the caller, 1: the service */
};

/* The call stream s of caller (joined, QS_CALL) relayed more: plugs a
 * port for it when it passed DATAPORT_THRESHOLD, both qubes have a free
 * slot and it never had one. Never fails: the relay goes on meanwhile. */
void dataport_maybe_plug(struct qube_vm *caller, struct qstream *s);

/* QMP callbacks (struct qmp on_reply, on_device_deleted, on_ready; ctx:
 * the qube_vm). At on_ready the ports of dataport_adopt are unplugged. */
void dataport_qmp_reply(void *ctx, uint32_t tag, int ok);
void dataport_qmp_deleted(void *ctx, const char *untrusted_id);
void dataport_qmp_ready(void *ctx);

/* The re-attached qube dv (qube/qube_attach.h) may still have the count
 * ports n an earlier daemon plugged into its QEMU (its record,
 * state/attach_record.h): each is unplugged (device_del, then
 * chardev-remove) as soon as its QMP is ready, before this daemon sends
 * QEMU anything else, and its number is not given to a new port until
 * then. Their record goes as each is unplugged. */
void dataport_adopt(struct qube_vm *dv, const uint32_t *n, size_t count);

/* dv's agent sent PORT_CLOSED on sid. Unknown (already unplugged): 0. */
void dataport_guest_closed(struct qube_vm *dv, uint32_t sid);

/* dv's QEMU is gone: its ends are done, the other ends unplugged. */
void dataport_qube_gone(struct qube_vm *dv);
/* dv is left running for the next daemon (qube/qube_attach.h,
 * qube_detach): its ports stay in its QEMU and in its record, for that
 * daemon to unplug; this one forgets dv's ends (the other ends are left
 * as they are: the other qube is left too, or ends). */
void dataport_qube_left(struct qube_vm *dv);

/* Ports that dv has now (for tests and the slot bound). */
unsigned dataport_count(const struct qube_vm *dv);

#endif

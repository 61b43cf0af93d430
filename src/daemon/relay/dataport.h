/* Direct data ports between the two qubes of a joined call
 * (docs/rpc-data-path.md): once a call has relayed one window, the daemon
 * plugs a virtserialport into each QEMU on the two ends of one socket
 * pair, and the agents move the rest of the bulk data there, so that no
 * byte of it passes through the daemon. The daemon sees only PORT_OPEN,
 * PORT_SWITCH, PORT_END and PORT_CLOSED. */
#ifndef BH_DAEMON_DATAPORT_H
#define BH_DAEMON_DATAPORT_H

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
	struct dataport_end end[2]; /* 0: the caller, 1: the service */
};

/* The call stream s of caller (joined, QS_CALL) relayed more: plugs a
 * port for it when it passed DATAPORT_THRESHOLD, both qubes have a free
 * slot and it never had one. Never fails: the relay goes on meanwhile. */
void dataport_maybe_plug(struct qube_vm *caller, struct qstream *s);

/* QMP callbacks (struct qmp on_reply, on_device_deleted; ctx: the
 * qube_vm). */
void dataport_qmp_reply(void *ctx, uint32_t tag, int ok);
void dataport_qmp_deleted(void *ctx, const char *untrusted_id);

/* dv's agent sent PORT_CLOSED on sid. Unknown (already unplugged): 0. */
void dataport_guest_closed(struct qube_vm *dv, uint32_t sid);

/* dv's QEMU is gone: its ends are done, the other ends unplugged. */
void dataport_qube_gone(struct qube_vm *dv);

/* Ports that dv has now (for tests and the slot bound). */
unsigned dataport_count(const struct qube_vm *dv);

#endif

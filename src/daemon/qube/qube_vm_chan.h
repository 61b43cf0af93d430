/* What comes to a running qube (qube_vm.h): the frames of its channel
 * process (the agent's, HELLO, a re-attach's first, CHAN_BROKEN), the
 * back-pressure on reading them, QMP's input, and its bh going away. */
#ifndef BH_DAEMON_QUBE_VM_CHAN_H
#define BH_DAEMON_QUBE_VM_CHAN_H

#include "daemon/core/daemon.h"

/* The agent of dv is ready (HELLO, or a snapshot taken after it): starts
 * its job or the calls that wait for it. <0: protocol error. */
int qube_vm_ready(struct qube_vm *dv);

/* Checks and acts on one frame from the guest. Returns 0, or -EPROTO when
 * the guest broke the protocol (the caller then destroys the qube). Needs
 * no running QEMU: the fuzz target drives it directly. */
int qube_vm_handle_agent_frame(struct qube_vm *dv,
			       const struct bh_frame_hdr *untrusted_h,
			       const uint8_t *untrusted_payload);

/* Whether the main loop reads dv's channel this round: not while dv
 * leaves more than QUBE_PAUSE_BYTES of its own queue unread (the first
 * pause of a run is logged, at most once a minute). */
int qube_vm_readable(struct qube_vm *dv, int64_t now_ms);

/* Events from the main loop. */
void qube_vm_agent_input(struct qube_vm *dv);
void qube_vm_agent_output(struct qube_vm *dv);
void qube_vm_qmp_input(struct qube_vm *dv);
/* Client c, joined with a stream of dv, went away. */
void qube_vm_client_gone(struct qube_vm *dv, struct client *c);

#endif

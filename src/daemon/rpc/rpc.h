/* The RPC router (the role of Qubes' qrexec daemon and policy daemon):
 * a qube asks for SERVICE[+ARG] in a target; the policy decides
 * (policy.h); the target is started when needed, or a fresh disposable
 * for @dispvm; then the call is joined with a new service stream in the
 * target (streams.h). The caller never names itself: the source is the
 * qube whose channel the call came on. */
#ifndef BH_DAEMON_RPC_H
#define BH_DAEMON_RPC_H

#include <stdint.h>

#include "daemon/core/daemon.h"

/* How long an ask may wait for the user's answer before it is a deny. */
#define RPC_ASK_TIMEOUT_MS 60000

/* Qube dv opened call stream id (BH_MSG_CALL). Returns 0, or -EPROTO
 * when the guest broke the protocol (a live stream id). */
int rpc_call_opened(struct qube_vm *dv, uint32_t id,
		    const uint8_t *untrusted_payload, uint32_t len);

/* dv is ready: the calls waiting for it are joined. A disposable made
 * for calls that are all gone powers off. */
void rpc_target_ready(struct qube_vm *dv);

/* Call id of caller when it is still the call gen (qstream.gen) and
 * still waits for a decision (not yet routed, joined or ended); else
 * NULL. An answer, a refusal or a route acts only on such a call, so
 * that nothing meant for an earlier call of the same id (the caller
 * restarted, or the id reused) reaches another. */
struct qstream *rpc_waiting_call(struct qube_vm *caller, uint32_t id,
				 uint64_t gen);

/* Where an allowed call goes: target is a qube name, "dom0" or
 * "@dispvm:NAME"; the qube is started when autostart and needed. Does
 * nothing unless the call (id, gen) still waits. */
void rpc_route(struct qube_vm *caller, uint32_t id, uint64_t gen,
	       const char *target, int autostart);
/* Ends the call with status 126 (refused) if it still waits. */
void rpc_refuse(struct qube_vm *caller, uint32_t id, uint64_t gen);

/* bh on the host calls SERVICE[+ARG] in a qube (BH_MSG_RUN_SERVICE):
 * the same path without the policy (calls from the admin domain are not
 * checked, as in Qubes), the qube started when it is not running. */
void rpc_run_service(struct daemon *d, struct client *c,
		     const uint8_t *payload, uint32_t len);

#endif

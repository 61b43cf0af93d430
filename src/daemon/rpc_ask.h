/* Asking the user about a call whose policy says `ask`.
 *
 * A prompt agent (`bh policy-agent`, run by the user in a terminal, or in
 * an X session) connects to the admin socket and calls
 * admin.policy.AskAgent; from then on the daemon sends it, as
 * BH_MSG_ADMIN_EVENT frames, one question per call:
 *
 *   ask NUL ID NUL SOURCE NUL SERVICE[+ARG] NUL REQUESTED-TARGET NUL
 *   default=TARGET NUL targets=T1,T2,... NUL
 *
 * and it answers with the call admin.policy.Answer (ARG: ID, BODY:
 * "allow TARGET" or "deny") on the same connection. Only the targets the
 * policy would allow or ask for are offered, and only one of them is
 * accepted. With no agent connected, an ask is a deny; an ask with no
 * answer after RPC_ASK_TIMEOUT_MS, or whose agent goes away, too. The
 * newest agent gets the questions.
 *
 * A question belongs to one call: the caller, the call's id and its
 * generation (qstream.gen). An answer acts only while that call still
 * waits on it; a caller that stops takes its questions with it (the agent
 * gets "cancel NUL ID NUL"); a refusal never ends a call that was joined
 * meanwhile. One qube has at most RPC_ASKS_PER_SOURCE questions waiting,
 * the daemon RPC_ASKS_MAX. */
#ifndef BH_DAEMON_RPC_ASK_H
#define BH_DAEMON_RPC_ASK_H

#include <stdint.h>

#include "daemon/core/daemon.h"
#include "daemon/policy/policy.h"
#include "proto/rpc_req.h"

/* Asks about call s of dv (decision dec, which offers the targets);
 * denies at once when nobody can be asked or a limit is reached. */
void rpc_ask(struct qube_vm *dv, struct qstream *s,
	     const struct bh_call_req *call, const struct policy_decision *dec);

/* dv is stopping: its questions are withdrawn. */
void rpc_ask_caller_gone(struct daemon *d, struct qube_vm *dv);

/* admin.policy.AskAgent and admin.policy.Answer are handlers of the
 * admin method table (admin_handlers.h). */

/* Asks past their time are denied; returns the next deadline (ms) or -1. */
int64_t rpc_ask_tick(struct daemon *d, int64_t now_ms);

/* The agent c went away: its questions are denied. */
void rpc_ask_agent_gone(struct daemon *d, struct client *c);

#endif

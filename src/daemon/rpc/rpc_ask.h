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
 * denies at once when nobody can be asked or a limit is reached. rpc.c,
 * below this module, calls it through the daemon's rpc_ask hook. */
void rpc_ask(struct qube_vm *dv, struct qstream *s,
	     const struct bh_call_req *call, const struct policy_decision *dec);

/* dv is stopping: its questions are withdrawn (qube/qube_vm_end.c calls
 * it through the daemon's hooks). */
void rpc_ask_caller_gone(struct daemon *d, struct qube_vm *dv);

/* admin.policy.AskAgent and admin.policy.Answer are the admin API's
 * (admin_policy.c); the answer acts through these. */

/* A question waiting for the user (d->asks). */
struct rpc_ask {
	struct rpc_ask *next;
	uint32_t ask_id;
	struct client *agent;
	/* The caller by name (it may go away meanwhile), its stream and
	 * that stream's generation: the answer acts on that call only,
	 * while it waits (rpc_waiting_call). */
	char caller[BH_RPC_QUBE_MAX + 1];
	uint32_t call_id;
	uint64_t call_gen;
	int autostart;
	int64_t deadline_ms;
	struct policy_targets targets;
};

/* The running qube (persistent or disposable) called name, or NULL. */
struct qube_vm *rpc_ask_find_qube(struct daemon *d, const char *name);
/* Takes a out of d->asks and frees it. */
void rpc_ask_remove(struct daemon *d, struct rpc_ask *a);
/* Refuses a's call (why goes to the log) and removes a. */
void rpc_ask_deny(struct daemon *d, struct rpc_ask *a, const char *why);
/* The call of a, while it still waits on a; NULL: the question is
 * stale. */
struct qstream *rpc_ask_asked_call(struct daemon *d,
				   const struct rpc_ask *a);

/* Asks past their time are denied; returns the next deadline (ms) or -1. */
int64_t rpc_ask_tick(struct daemon *d, int64_t now_ms);

/* The agent c went away: its questions are denied. */
void rpc_ask_agent_gone(struct daemon *d, struct client *c);

#endif

/* Asking the user about a call (see rpc_ask.h). */
#include "daemon/rpc/rpc_ask.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/core/client_send.h"
#include "daemon/rpc/rpc.h"
#include "lib/log.h"
#include "lib/util.h"
#include "proto/admin.h"
#include "proto/exitcodes.h"

static struct client *newest_agent(struct daemon *d)
{
	struct client *c;

	/* New clients go to the front of the list. */
	for (c = d->clients; c; c = c->next)
		if (c->ask_agent && !c->closing)
			return c;
	return NULL;
}

struct qube_vm *rpc_ask_find_qube(struct daemon *d, const char *name)
{
	struct qube_vm *dv;

	for (dv = d->qubes; dv; dv = dv->next)
		if (!strcmp(dv->name, name))
			return dv;
	return NULL;
}

static void ask_free(struct rpc_ask *a)
{
	policy_targets_free(&a->targets);
	free(a);
}

/* Takes a out of the list and frees it. */
void rpc_ask_remove(struct daemon *d, struct rpc_ask *a)
{
	struct rpc_ask **pp;

	for (pp = &d->asks; *pp; pp = &(*pp)->next)
		if (*pp == a) {
			*pp = a->next;
			break;
		}
	ask_free(a);
}

void rpc_ask_deny(struct daemon *d, struct rpc_ask *a, const char *why)
{
	struct qube_vm *dv = rpc_ask_find_qube(d, a->caller);

	if (dv)
		DV_LOG(dv, INFO, "%s: ask %u denied: %s", a->caller, a->ask_id,
		       why);
	else
		LOG_INFO("%s: ask %u denied: %s", a->caller, a->ask_id, why);
	if (dv)
		rpc_refuse(dv, a->call_id, a->call_gen);
	rpc_ask_remove(d, a);
}

/* The call of a still waits on a: else the question is stale. */
struct qstream *rpc_ask_asked_call(struct daemon *d,
				   const struct rpc_ask *a)
{
	struct qube_vm *dv = rpc_ask_find_qube(d, a->caller);
	struct qstream *s =
		dv ? rpc_waiting_call(dv, a->call_id, a->call_gen) : NULL;

	return s && s->ask_id == a->ask_id ? s : NULL;
}

/* Appends s and a NUL at *len; -1 when it does not fit. */
static int put(uint8_t *p, size_t cap, size_t *len, const char *s)
{
	size_t n = strlen(s) + 1;

	if (n > cap - *len)
		return -1;
	memcpy(p + *len, s, n);
	*len += n;
	return 0;
}

/* Questions waiting in all, and from the qube named source. */
static size_t count_asks(struct daemon *d, const char *source, size_t *mine)
{
	struct rpc_ask *a;
	size_t n = 0;

	*mine = 0;
	for (a = d->asks; a; a = a->next) {
		n++;
		*mine += !strcmp(a->caller, source);
	}
	return n;
}

void rpc_ask(struct qube_vm *dv, struct qstream *s,
	     const struct bh_call_req *call, const struct policy_decision *dec)
{
	struct daemon *d = dv->d;
	struct client *agent = newest_agent(d);
	uint8_t p[8192];
	char idtext[16], svc[BH_RPC_SERVICE_MAX + BH_RPC_ARG_MAX + 2];
	char line[POLICY_TARGET_MAX + 16];
	struct rpc_ask *a;
	uint32_t id = s->id;
	uint64_t gen = s->gen;
	size_t len = 0, i, mine, all = count_asks(d, dv->name, &mine);

	if (!agent || all >= RPC_ASKS_MAX || mine >= RPC_ASKS_PER_SOURCE) {
		DV_LOG(dv, INFO,
		       "%s -> %s: %s+%s: policy says ask (%s:%u) but %s; "
		       "denied",
		       dv->name, call->target, call->service, call->arg,
		       dec->file, dec->line,
		       !agent ? "no prompt agent runs (bh policy-agent)"
		       : mine >= RPC_ASKS_PER_SOURCE
			       ? "too many of its questions wait"
			       : "too many questions wait");
		rpc_refuse(dv, id, gen);
		return;
	}
	a = calloc(1, sizeof(*a));
	if (!a || !(a->targets.name = calloc(dec->targets.n ? dec->targets.n
							    : 1,
					     sizeof(*a->targets.name)))) {
		free(a);
		rpc_refuse(dv, id, gen);
		return;
	}
	for (i = 0; i < dec->targets.n; i++)
		memcpy(a->targets.name[i], dec->targets.name[i],
		       sizeof(*a->targets.name));
	a->targets.n = dec->targets.n;
	a->ask_id = ++d->next_ask_id;
	a->agent = agent;
	snprintf(a->caller, sizeof(a->caller), "%s", dv->name);
	a->call_id = id;
	a->call_gen = gen;
	a->autostart = dec->autostart;
	a->deadline_ms = bh_now_ms() + RPC_ASK_TIMEOUT_MS;
	snprintf(idtext, sizeof(idtext), "%u", a->ask_id);
	snprintf(svc, sizeof(svc), "%s%s%s", call->service,
		 call->has_arg ? "+" : "", call->arg);
	snprintf(line, sizeof(line), "default=%s", dec->default_target);
	if (put(p, sizeof(p), &len, "ask") || put(p, sizeof(p), &len, idtext) ||
	    put(p, sizeof(p), &len, dv->name) || put(p, sizeof(p), &len, svc) ||
	    put(p, sizeof(p), &len, call->target) ||
	    put(p, sizeof(p), &len, line) ||
	    put(p, sizeof(p), &len, "targets=")) {
		ask_free(a);
		rpc_refuse(dv, id, gen);
		return;
	}
	/* targets=T1,T2,...: extend the last field in place. */
	len--;
	for (i = 0; i < a->targets.n; i++) {
		size_t n = strlen(a->targets.name[i]);

		if (len + n + 2 > sizeof(p))
			break;
		if (i)
			p[len++] = ',';
		memcpy(p + len, a->targets.name[i], n);
		len += n;
	}
	p[len++] = '\0';
	if (bh_chan_send(&agent->chan, BH_MSG_ADMIN_EVENT, 0, p,
			 (uint32_t)len) < 0) {
		ask_free(a);
		rpc_refuse(dv, id, gen);
		return;
	}
	a->next = d->asks;
	d->asks = a;
	s->ask_id = a->ask_id;
	DV_LOG(dv, INFO, "%s -> %s: %s asks the user (ask %u, %s:%u)",
	       dv->name, call->target, svc, a->ask_id, dec->file, dec->line);
}

int64_t rpc_ask_tick(struct daemon *d, int64_t now_ms)
{
	struct rpc_ask *a, *next;
	int64_t soonest = -1;

	for (a = d->asks; a; a = next) {
		next = a->next;
		if (a->deadline_ms <= now_ms) {
			rpc_ask_deny(d, a, "no answer in time");
			continue;
		}
		if (soonest < 0 || a->deadline_ms < soonest)
			soonest = a->deadline_ms;
	}
	return soonest;
}

void rpc_ask_agent_gone(struct daemon *d, struct client *c)
{
	struct rpc_ask *a, *next;

	for (a = d->asks; a; a = next) {
		next = a->next;
		if (a->agent == c)
			rpc_ask_deny(d, a, "the prompt agent went away");
	}
}

void rpc_ask_caller_gone(struct daemon *d, struct qube_vm *dv)
{
	struct rpc_ask *a, *next;

	for (a = d->asks; a; a = next) {
		uint8_t p[64];
		int n;

		next = a->next;
		if (strcmp(a->caller, dv->name))
			continue;
		/* Tell the agent, so that a prompt can go away; an answer
		 * that comes anyway finds no such question. */
		n = snprintf((char *)p, sizeof(p), "cancel%c%u%c", '\0',
			     a->ask_id, '\0');
		if (n > 0 && !a->agent->closing)
			bh_chan_send(&a->agent->chan, BH_MSG_ADMIN_EVENT, 0, p,
				     (uint32_t)n);
		DV_LOG(dv, INFO, "%s: ask %u cancelled: the caller stopped",
		       a->caller, a->ask_id);
		rpc_ask_remove(d, a);
	}
}

/* The RPC router (see rpc.h). */
#include "daemon/rpc/rpc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/core/client_send.h"
#include "daemon/qube/disposable.h"
#include "daemon/qube/qube_vm.h"
#include "daemon/policy/policy.h"
#include "daemon/store/props.h"
#include "daemon/qube/qube_power.h"
#include "daemon/state/run_user.h"
#include "daemon/relay/streams.h"
#include "lib/log.h"
#include "proto/exitcodes.h"

/* A service runs as the user its policy rule names (user=), else as
 * the target's default_user, as in Qubes; a disposable's is its
 * disposable template's. Left empty when it cannot be read: the agent
 * then picks `user`, or root where there is none. */
static void fill_service_user(struct qube_vm *target, struct bh_service_req *svc)
{
	char user[PROP_VALUE_MAX + 1], err[512];

	if (svc->user[0] ||
	    run_user_of(target->d, target->persistent ? target->name
						      : target->dvm,
			user, sizeof(user), err, sizeof(err)) != 0 ||
	    !bh_rpc_user_ok(user, strlen(user)))
		return;
	snprintf(svc->user, sizeof(svc->user), "%s", user);
}

/* Streams of target joined with calls of caller. */
static unsigned pair_streams(const struct qube_vm *caller,
			     const struct qube_vm *target)
{
	unsigned n = 0;
	size_t i;

	for (i = 0; i < BH_MAX_STREAMS; i++)
		n += target->streams[i].id && target->streams[i].peer == caller;
	return n;
}

/* Joins call s of caller with a new service stream in target, which is
 * ready. Returns 1 when joined; 0 when the call has ended instead (status
 * 125, its stream freed): a limit, a full table, or a caller whose queue
 * could not take the credit that opens the call. */
static int join(struct qube_vm *caller, struct qstream *s,
		struct qube_vm *target)
{
	char service[BH_RPC_SERVICE_MAX + 1];
	int r;

	if (pair_streams(caller, target) >= RPC_STREAMS_PER_PAIR) {
		DV_LOG(caller, WARN,
		       "%s -> %s: %s refused: the caller holds %u streams "
		       "of the target already (the most one qube may)",
		       caller->name, target->name, s->svc->service,
		       RPC_STREAMS_PER_PAIR);
		qs_end_call(caller, s, BH_EXIT_NOSTART, BH_NOSTART_OTHER);
		return 0;
	}
	snprintf(service, sizeof(service), "%s", s->svc->service);
	fill_service_user(target, s->svc);
	r = qs_start_service(target, s->svc, caller, s->id, NULL);
	if (r == -EPIPE) {
		/* s is freed: the call ended, the service got EOF. */
		DV_LOG(caller, WARN,
		       "%s -> %s: %s ended at once: the caller does not "
		       "read its channel",
		       caller->name, target->name, service);
		return 0;
	}
	if (r < 0) {
		DV_LOG(caller, WARN, "%s -> %s: cannot start %s: %s",
		       caller->name, target->name, service,
		       r == -ENOSPC ? "too many streams" : strerror(-r));
		qs_end_call(caller, s, BH_EXIT_NOSTART, BH_NOSTART_OTHER);
		return 0;
	}
	if (!target->persistent && !target->job_stream)
		target->job_stream = s->peer_id;
	free(s->svc);
	s->svc = NULL;
	return 1;
}

static int ready(const struct qube_vm *dv)
{
	return dv->state == DV_RUNNING && !dv->paused;
}

/* The call waits for target to be ready, or is joined now. */
static void route_to(struct qube_vm *caller, struct qstream *s,
		     struct qube_vm *target)
{
	s->peer = target;
	s->peer_id = 0;
	if (ready(target))
		join(caller, s, target);
}

struct qstream *rpc_waiting_call(struct qube_vm *caller, uint32_t id,
				 uint64_t gen)
{
	struct qstream *s = qs_find(caller, id);

	if (!s || s->gen != gen || s->role != QS_CALL || !s->svc || s->peer)
		return NULL;
	return s;
}

/* Disposables still running that calls of the qube named caller made. */
static unsigned dispvms_made_for(struct daemon *d, const char *caller)
{
	struct qube_vm *o;
	unsigned n = 0;

	for (o = d->qubes; o; o = o->next)
		n += qube_vm_live(o) && !strcmp(o->made_for, caller);
	return n;
}

void rpc_route(struct qube_vm *caller, uint32_t id, uint64_t gen,
	       const char *target, int autostart)
{
	struct daemon *d = caller->d;
	struct qstream *s = rpc_waiting_call(caller, id, gen);
	struct qube_vm *t;
	char err[2048];

	if (!s)
		return; /* that call is over, or decided */
	s->ask_id = 0;
	if (!strcmp(target, "dom0")) {
		/* The host offers no services to qubes yet. */
		DV_LOG(caller, INFO,
		       "%s -> dom0: %s: no such service on the host",
		       caller->name, s->svc->service);
		qs_end_call(caller, s, BH_EXIT_NOSTART, BH_NOSTART_NOTFOUND);
		return;
	}
	if (!strncmp(target, "@dispvm:", 8)) {
		if (dispvms_made_for(d, caller->name) >=
		    RPC_DISPVMS_PER_SOURCE) {
			DV_LOG(caller, WARN,
			       "%s -> %s: %s refused: too many disposables "
			       "of its calls run (%u, the most one qube "
			       "may)",
			       caller->name, target, s->svc->service,
			       RPC_DISPVMS_PER_SOURCE);
			qs_end_call(caller, s, BH_EXIT_NOSTART,
				    BH_NOSTART_OTHER);
			return;
		}
		/* NAME from the policy (@dispvm resolved through the
		 * caller's default_dispvm); "" for the minimal template. */
		t = dispvm_for_call(d, target + 8, err, sizeof(err));
		if (!t) {
			DV_LOG(caller, WARN, "%s -> %s: %s", caller->name,
			       target, err);
			qs_end_call(caller, s, BH_EXIT_NOSTART,
				    BH_NOSTART_OTHER);
			return;
		}
		snprintf(t->made_for, sizeof(t->made_for), "%s",
			 caller->name);
		DV_LOG(caller, INFO, "%s -> %s: a new disposable, %s",
		       caller->name, target, t->name);
		route_to(caller, s, t);
		return;
	}
	t = qube_find_running(d, target);
	if (!t && autostart) {
		DV_LOG(caller, INFO, "%s -> %s: starting it for the call",
		       caller->name, target);
		qube_start(d, NULL, target);
		t = qube_find_running(d, target);
	}
	if (!t || t->state == DV_STOPPING) {
		DV_LOG(caller, WARN, "%s -> %s: the target is not running%s",
		       caller->name, target,
		       autostart ? " and could not be started" : "");
		qs_end_call(caller, s, BH_EXIT_NOSTART, BH_NOSTART_OTHER);
		return;
	}
	if (t->paused) {
		DV_LOG(caller, WARN, "%s -> %s: the target is paused",
		       caller->name, target);
		qs_end_call(caller, s, BH_EXIT_NOSTART, BH_NOSTART_OTHER);
		return;
	}
	route_to(caller, s, t);
}

void rpc_refuse(struct qube_vm *caller, uint32_t id, uint64_t gen)
{
	struct qstream *s = rpc_waiting_call(caller, id, gen);

	if (s)
		qs_end_call(caller, s, BH_EXIT_REFUSED, 0);
}

/* Loads the policy and what it needs to know of the qubes, and decides.
 * Returns 0, or -1 (d is a deny with the reason) when either failed. */
static int decide(struct daemon *d, const struct policy_request *req,
		  struct policy_system *sys, struct policy **pol,
		  struct policy_decision *dec)
{
	char err[512];
	int r;

	*pol = NULL;
	r = policy_system_load(d->store, sys, err, sizeof(err));
	if (r < 0) {
		LOG_ERR("policy: cannot read the qubes: %s", err);
		memset(dec, 0, sizeof(*dec));
		return -1;
	}
	/* The disposables running now, which the store does not record. */
	if (dispvm_policy_add(d, sys) < 0) {
		LOG_ERR("policy: out of memory listing the disposables");
		policy_system_free(sys);
		memset(dec, 0, sizeof(*dec));
		return -1;
	}
	/* Read afresh for every call: a change takes effect at once. An
	 * invalid policy still loads as one that denies everything. */
	policy_load(d->paths.root, pol, NULL);
	policy_evaluate(*pol, sys, req, dec);
	return 0;
}

int rpc_call_opened(struct qube_vm *dv, uint32_t id,
		    const uint8_t *untrusted_payload, uint32_t len)
{
	struct bh_call_req call;
	struct policy_request req;
	struct policy_system sys;
	struct policy_decision dec;
	struct policy *pol;
	struct qstream *s;

	if (qs_find(dv, id))
		return -EPROTO; /* a live stream id */
	s = qs_new(dv, id, QS_CALL);
	if (!s) {
		uint8_t p[8];

		DV_LOG(dv, WARN, "%s: refusing a call: %u streams already",
		       dv->name, BH_MAX_STREAMS);
		bh_put_u32(p, BH_EXIT_NOSTART);
		bh_put_u32(p + 4, BH_NOSTART_OTHER);
		bh_chan_send(&dv->chan, BH_MSG_EXIT, id, p, sizeof(p));
		return 0;
	}
	if (bh_call_req_parse(untrusted_payload, len, &call) < 0) {
		DV_LOG(dv, WARN,
		       "%s: malformed call request refused (bad target, "
		       "service, or an argument that starts with -)",
		       dv->name);
		qs_end_call(dv, s, BH_EXIT_REFUSED, 0);
		return 0;
	}
	s->svc = calloc(1, sizeof(*s->svc));
	if (!s->svc) {
		qs_end_call(dv, s, BH_EXIT_NOSTART, BH_NOSTART_OTHER);
		return 0;
	}
	snprintf(s->svc->service, sizeof(s->svc->service), "%s", call.service);
	snprintf(s->svc->arg, sizeof(s->svc->arg), "%s", call.arg);
	/* The source is who we know is calling, whatever it wrote. */
	snprintf(s->svc->source, sizeof(s->svc->source), "%s", dv->name);
	req.source = dv->name;
	req.untrusted_target = call.target;
	req.untrusted_service = call.service;
	req.untrusted_arg = call.arg;
	if (decide(dv->d, &req, &sys, &pol, &dec) < 0) {
		qs_end_call(dv, s, BH_EXIT_REFUSED, 0);
		return 0;
	}
	switch (dec.action) {
	case POLICY_ALLOW:
		DV_LOG(dv, INFO, "%s -> %s: %s+%s allowed (%s:%u) to %s",
		       dv->name, call.target, call.service, call.arg,
		       dec.file, dec.line, dec.target);
		snprintf(s->svc->user, sizeof(s->svc->user), "%s", dec.user);
		rpc_route(dv, id, s->gen, dec.target, dec.autostart);
		break;
	case POLICY_ASK:
		snprintf(s->svc->user, sizeof(s->svc->user), "%s", dec.user);
		dv->d->hooks->rpc_ask(dv, s, &call, &dec);
		break;
	default:
		DV_LOG(dv, INFO, "%s -> %s: %s+%s denied: %s", dv->name,
		       call.target, call.service, call.arg,
		       dec.reason[0] ? dec.reason : "by policy");
		qs_end_call(dv, s, BH_EXIT_REFUSED, 0);
		break;
	}
	policy_decision_free(&dec);
	policy_free(pol);
	policy_system_free(&sys);
	return 0;
}

void rpc_target_ready(struct qube_vm *dv)
{
	struct qube_vm *o;
	struct client *c;
	size_t i;
	int joined = 0;

	for (o = dv->d->qubes; o; o = o->next) {
		for (i = 0; i < BH_MAX_STREAMS; i++) {
			struct qstream *s = &o->streams[i];

			if (s->id && s->role == QS_CALL && s->peer == dv &&
			    !s->peer_id && s->svc)
				joined += join(o, s, dv);
		}
	}
	for (c = dv->d->clients; c; c = c->next) {
		if (c->dv != dv || c->sid || !c->svc)
			continue;
		fill_service_user(dv, c->svc);
		if (qs_start_service(dv, c->svc, NULL, 0, c) < 0)
			client_error(c, BH_EXIT_FAILURE,
				     "qube %s runs too many streams", dv->name);
		free(c->svc);
		c->svc = NULL;
		joined++;
	}
	if (!dv->persistent && !dv->exec_req && !dv->client && !joined) {
		LOG_INFO("%s: the calls it was made for are gone", dv->name);
		qube_vm_kill(dv);
	}
}

void rpc_run_service(struct daemon *d, struct client *c,
		     const uint8_t *payload, uint32_t len)
{
	const char *f[3];
	size_t off = 0, i;
	struct bh_call_req split;
	struct qube_vm *t;

	/* NAME NUL SERVICE[+ARG] NUL USER NUL, from bh (trusted, checked
	 * anyway). */
	for (i = 0; i < 3; i++) {
		const uint8_t *nul = off < len ? memchr(payload + off, '\0',
							len - off)
					       : NULL;

		if (!nul) {
			client_error(c, BH_EXIT_USAGE,
				     "malformed service request");
			return;
		}
		f[i] = (const char *)payload + off;
		off = (size_t)(nul - payload) + 1;
	}
	if (off != len || !bh_rpc_qube_ok(f[0], strlen(f[0])) ||
	    bh_rpc_split_service(f[1], &split) < 0 ||
	    (f[2][0] && !bh_rpc_user_ok(f[2], strlen(f[2])))) {
		client_error(c, BH_EXIT_USAGE,
			     "malformed service request (a qube name, "
			     "SERVICE[+ARG] and a user name are expected; "
			     "ARG does not start with -)");
		return;
	}
	c->svc = calloc(1, sizeof(*c->svc));
	if (!c->svc) {
		client_error(c, BH_EXIT_FAILURE, "out of memory");
		return;
	}
	snprintf(c->svc->service, sizeof(c->svc->service), "%s",
		 split.service);
	snprintf(c->svc->arg, sizeof(c->svc->arg), "%s", split.arg);
	snprintf(c->svc->source, sizeof(c->svc->source), "dom0");
	snprintf(c->svc->user, sizeof(c->svc->user), "%s", f[2]);
	t = qube_find_running(d, f[0]);
	if (!t) {
		qube_start(d, NULL, f[0]);
		t = qube_find_running(d, f[0]);
	}
	if (!t || t->state == DV_STOPPING || t->paused) {
		free(c->svc);
		c->svc = NULL;
		client_error(c, BH_EXIT_FAILURE,
			     "qube %s is not running and could not be "
			     "started (see `bh log`)",
			     f[0]);
		return;
	}
	c->dv = t;
	c->sid = 0;
	if (ready(t))
		rpc_target_ready(t);
}

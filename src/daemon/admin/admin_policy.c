/* admin.policy.Lint and admin.policy.Check: the RPC policy as the daemon
 * reads it (docs/policy.md), with the system information the policy
 * engine needs (policy/policy_system.c). Both calls load the policy afresh, as the
 * RPC router does for every call. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/admin/admin_handlers.h"
#include "daemon/qube/disposable.h"
#include "daemon/rpc/rpc.h"
#include "daemon/rpc/rpc_ask.h"
#include "daemon/policy/policy.h"
#include "daemon/policy/policy_rule.h"

/* ROOT from STATE (ROOT/var/lib/bulkhead), which is how the handlers
 * learn the root prefix with or without a daemon. */
static int root_of(const char *state_dir, char *root, size_t cap)
{
	static const char suffix[] = "/var/lib/bulkhead";
	size_t n = strlen(state_dir), sl = sizeof(suffix) - 1;

	if (n < sl || strcmp(state_dir + n - sl, suffix) || n - sl >= cap)
		return -EINVAL;
	memcpy(root, state_dir, n - sl);
	root[n - sl] = '\0';
	return 0;
}

unsigned admin_policy_lint(const struct admin_req *q, struct admin_reply *r)
{
	struct policy_errs *errs;
	struct policy *pol = NULL;
	char root[4096];
	unsigned st = need_no_dest(q, r);
	size_t i;
	int e;

	if (st)
		return st;
	if (root_of(q->state_dir, root, sizeof(root)) < 0)
		return reply_fail(r, BH_ADMIN_FAILED,
				  "cannot tell the root prefix");
	errs = malloc(sizeof(*errs));
	if (!errs)
		return reply_fail(r, BH_ADMIN_FAILED, "out of memory");
	e = policy_load(root, &pol, errs);
	policy_free(pol);
	if (e == -ENOMEM) {
		free(errs);
		return reply_fail(r, BH_ADMIN_FAILED, "out of memory");
	}
	if (e == 0) {
		free(errs);
		reply_add(r, "OK\n");
		return 0;
	}
	for (i = 0; i < errs->kept; i++)
		reply_add(r, "%s\n", errs->msg[i]);
	if (errs->count > errs->kept)
		reply_add(r, "... and %zu more errors\n",
			  errs->count - errs->kept);
	free(errs);
	return BH_ADMIN_INVALID;
}

static void reply_decision(struct admin_reply *r,
			   const struct policy_decision *d)
{
	size_t i;

	if (d->action == POLICY_DENY) {
		if (d->line && !strcmp(d->reason, "denied by policy"))
			reply_add(r, "deny (%s:%u)\n", d->file, d->line);
		else if (d->line)
			reply_add(r, "deny (%s:%u: %s)\n", d->file, d->line,
				  d->reason);
		else
			reply_add(r, "deny (%s)\n", d->reason);
		return;
	}
	if (d->action == POLICY_ALLOW) {
		reply_add(r, "allow target=%s", d->target);
	} else {
		reply_add(r, "ask targets=");
		for (i = 0; i < d->targets.n; i++)
			reply_add(r, "%s%s", i ? "," : "", d->targets.name[i]);
		if (d->default_target[0])
			reply_add(r, " default_target=%s", d->default_target);
	}
	reply_add(r, " user=%s notify=%s autostart=%s (%s:%u)\n",
		  d->user[0] ? d->user : "DEFAULT", d->notify ? "yes" : "no",
		  d->autostart ? "yes" : "no", d->file, d->line);
}

/* BODY is SOURCE TARGET SERVICE[+ARG], separated by spaces. */
static int split3(char *body, char *w[3])
{
	char *save = NULL, *t;
	int n = 0;

	for (t = strtok_r(body, " \t\n", &save); t;
	     t = strtok_r(NULL, " \t\n", &save)) {
		if (n == 3)
			return -EINVAL;
		w[n++] = t;
	}
	return n == 3 ? 0 : -EINVAL;
}

static unsigned check_source(const struct admin_req *q, struct admin_reply *r,
			     const char *source)
{
	char err[STORE_ERR_MAX] = "";
	struct qube_info qi;
	int e;

	if (!strcmp(source, "dom0"))
		return 0;
	if (qube_name_check(source, err, sizeof(err)))
		return reply_fail(r, BH_ADMIN_INVALID, "SOURCE: %s", err);
	/* A running disposable calls too; the store does not record it. */
	if (q->d && dispvm_running_named(q->d, source))
		return 0;
	e = store_qube_get(q->s, source, &qi, err, sizeof(err));
	return e ? reply_store_err(r, e, err, BH_ADMIN_NOSUCH) : 0;
}

static unsigned evaluate(const struct admin_req *q, struct admin_reply *r,
			 const struct policy_request *req)
{
	char root[4096], err[STORE_ERR_MAX] = "";
	struct policy_decision d;
	struct policy_system sys;
	struct policy *pol = NULL;
	int e;

	if (root_of(q->state_dir, root, sizeof(root)) < 0)
		return reply_fail(r, BH_ADMIN_FAILED,
				  "cannot tell the root prefix");
	e = policy_system_load(q->s, &sys, err, sizeof(err));
	if (e)
		return reply_store_err(r, e, err, BH_ADMIN_NOSUCH);
	/* The running disposables, as the RPC router sees them. */
	if (q->d && dispvm_policy_add(q->d, &sys) < 0) {
		policy_system_free(&sys);
		return reply_fail(r, BH_ADMIN_FAILED, "out of memory");
	}
	/* An invalid policy still gives one: it denies, and says why. */
	if (policy_load(root, &pol, NULL) == -ENOMEM ||
	    policy_evaluate(pol, &sys, req, &d) < 0) {
		policy_free(pol);
		policy_system_free(&sys);
		return reply_fail(r, BH_ADMIN_FAILED, "out of memory");
	}
	reply_decision(r, &d);
	policy_decision_free(&d);
	policy_free(pol);
	policy_system_free(&sys);
	return r->overflow ? reply_too_long(r, "decision") : 0;
}

unsigned admin_policy_check(const struct admin_req *q, struct admin_reply *r)
{
	char service[POLICY_SERVICE_MAX + 1], arg[POLICY_ARG_MAX + 1];
	struct policy_request req;
	char *body, *w[3];
	unsigned st = need_no_dest(q, r);

	if (st)
		return st;
	body = strdup(q->body);
	if (!body)
		return reply_fail(r, BH_ADMIN_FAILED, "out of memory");
	if (split3(body, w) < 0) {
		free(body);
		return reply_fail(r, BH_ADMIN_INVALID,
				  "the call is SOURCE TARGET SERVICE[+ARG]");
	}
	st = check_source(q, r, w[0]);
	if (!st && policy_split_call(w[2], service, sizeof(service), arg,
				     sizeof(arg)) < 0)
		st = reply_fail(r, BH_ADMIN_INVALID,
				"SERVICE is 1 to %d of letters, digits and "
				"_ . -; ARG up to %d of those and +",
				POLICY_SERVICE_MAX, POLICY_ARG_MAX);
	if (!st) {
		req = (struct policy_request){ w[0], w[1], service, arg };
		st = evaluate(q, r, &req);
	}
	free(body);
	return st;
}

/* ---- the prompt agent (its questions: rpc/rpc_ask.c) ---- */

unsigned admin_policy_answer(const struct admin_req *q,
			     struct admin_reply *r)
{
	struct daemon *d = q->d;
	struct client *c = q->c;
	const char *body = q->body;
	struct rpc_ask *a;
	unsigned long id;
	char *end;
	size_t i;

	if (!c->ask_agent)
		return reply_fail(r, BH_ADMIN_REFUSED,
				  "only a prompt agent answers questions");
	errno = 0;
	id = strtoul(q->arg, &end, 10);
	for (a = d->asks; a; a = a->next)
		if (a->ask_id == id && a->agent == c)
			break;
	if (errno || end == q->arg || *end || !a)
		return reply_fail(r, BH_ADMIN_NOSUCH,
				  "no such question waits");
	if (!rpc_ask_asked_call(d, a)) {
		/* Its call is over (rpc_ask_caller_gone removes the
		 * questions of a qube that stops; this is the rest). */
		rpc_ask_remove(d, a);
		return reply_fail(r, BH_ADMIN_NOSUCH,
				  "no such question waits: its call is over");
	}
	if (strlen(body) >= POLICY_TARGET_MAX + 16)
		return reply_fail(r, BH_ADMIN_INVALID, "answer too long");
	if (!strcmp(body, "deny")) {
		rpc_ask_deny(d, a, "the user said no");
		return 0;
	}
	if (strncmp(body, "allow ", 6))
		return reply_fail(r, BH_ADMIN_INVALID,
				  "the answer is \"allow TARGET\" or "
				  "\"deny\"");
	for (i = 0; i < a->targets.n; i++)
		if (!strcmp(a->targets.name[i], body + 6))
			break;
	if (i == a->targets.n)
		return reply_fail(r, BH_ADMIN_INVALID,
				  "that target was not offered; the question "
				  "still waits");
	{
		struct qube_vm *dv = rpc_ask_find_qube(d, a->caller);

		LOG_INFO("%s: ask %u allowed by the user to %s", a->caller,
			 a->ask_id, body + 6);
		if (dv)
			rpc_route(dv, a->call_id, a->call_gen, body + 6,
				  a->autostart);
	}
	rpc_ask_remove(d, a);
	return 0;
}

unsigned admin_policy_ask_agent(const struct admin_req *q,
				struct admin_reply *r)
{
	if (q->dest[0] || q->arg[0] || q->body[0] || q->c->subscriber)
		return reply_fail(r, BH_ADMIN_INVALID,
				  "admin.policy.AskAgent takes no argument");
	q->c->ask_agent = 1;
	return 0;
}

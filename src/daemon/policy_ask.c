/* The targets an `ask` may offer. Qubes collects them by walking the rules
 * backwards and adding or removing each rule's expansion
 * (collect_targets_for_ask); we ask the question it approximates
 * directly: for each target the call could name, would the same call with
 * that explicit target be allowed or asked? That keeps the list exactly
 * consistent with evaluation: a qube that a deny rule placed earlier
 * protects is never offered. */
#include "daemon/policy.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/policy_rule.h"

void policy_targets_free(struct policy_targets *t)
{
	if (!t)
		return;
	free(t->name);
	t->name = NULL;
	t->n = 0;
}

/* Appends name unless it is there already; cap is the array's size. */
static void add_unique(struct policy_targets *out, size_t cap,
		       const char *name)
{
	size_t i;

	for (i = 0; i < out->n; i++)
		if (!strcmp(out->name[i], name))
			return;
	if (out->n < cap)
		memcpy(out->name[out->n++], name, POLICY_TARGET_MAX);
}

/* Would the call with intended target cand be allowed or asked? If so,
 * adds where it would go (after the rule's redirect) to out. */
static void try_target(const struct policy *p, const struct policy_system *sys,
		       const struct policy_call *call,
		       const struct policy_dest *cand,
		       struct policy_targets *out, size_t cap)
{
	char name[POLICY_TARGET_MAX], err[POLICY_ERR_MAX];
	const struct policy_rule *r = policy_match(p, sys, call, cand);
	struct policy_dest dest = *cand;

	if (!r || r->action == POLICY_DENY)
		return;
	if (r->has_redirect)
		policy_tok_dest(&r->redirect, &dest);
	if (policy_resolve(sys, call->source, &dest, name, sizeof(name), err,
			   sizeof(err)) == 0)
		add_unique(out, cap, name);
}

int policy_ask_targets(const struct policy *p,
		       const struct policy_system *sys,
		       const struct policy_request *req,
		       struct policy_targets *out)
{
	char err[POLICY_ERR_MAX];
	struct policy_call call;
	struct policy_dest t, cand;
	size_t i, n = sys ? sys->nqubes : 0;
	/* dom0, each qube, each @dispvm:NAME, and @dispvm. */
	size_t cap = 2 * n + 2;

	out->name = NULL;
	out->n = 0;
	if (!policy_valid(p) ||
	    policy_prepare(sys, req, &call, &t, err, sizeof(err)) < 0)
		return -EINVAL;
	out->name = calloc(cap, sizeof(*out->name));
	if (!out->name)
		return -ENOMEM;
	memset(&cand, 0, sizeof(cand));
	cand.kind = TOK_ADMINVM;
	try_target(p, sys, &call, &cand, out, cap);
	/* Qubes first, then the disposables, in the caller's order. */
	for (i = 0; i < 2 * n; i++) {
		const struct policy_qube *q = &sys->qubes[i % n];

		if (!q->name || strlen(q->name) >= sizeof(cand.name) ||
		    (i >= n && !q->template_for_dispvms))
			continue;
		cand.kind = i < n ? TOK_NAME : TOK_DISPVM_NAME;
		strcpy(cand.name, q->name);
		try_target(p, sys, &call, &cand, out, cap);
	}
	memset(&cand, 0, sizeof(cand));
	cand.kind = TOK_DISPVM;
	try_target(p, sys, &call, &cand, out, cap);
	return 0;
}

/* The targets an `ask` offers, collected as Qubes does
 * (qrexec/policy/parser.py, collect_targets_for_ask): walk the rules from
 * the last to the first; each rule whose service, argument and source
 * match the call adds, for allow and ask, or removes, for deny, every
 * target that its target= (or, without one, its TARGET) names. Walking
 * backwards makes an earlier deny win over a later allow. So a
 * `@default ask` rule offers what the rules around it allow, including
 * the target= of an allow for @default.
 *
 * Where we are stricter than Qubes, so that an earlier deny always
 * removes what it denies: dom0, @adminvm and dom0's uuid are one entry
 * (Qubes keeps "@adminvm" and "dom0" apart while collecting, so a deny
 * for one left the other), and a deny for @dispvm:NAME (or
 * @dispvm:@tag:T) also removes @dispvm when that is the source's
 * default disposable, as evaluation denies a call for @dispvm then. A
 * target that could not be carried out (the source itself, @dispvm
 * without a template for disposables) is never offered. */
#include "daemon/policy/policy.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/policy/policy_rule.h"

void policy_targets_free(struct policy_targets *t)
{
	if (!t)
		return;
	free(t->name);
	t->name = NULL;
	t->n = 0;
}

/* Every target an ask can offer, as an index: dom0 (0), the qubes of sys
 * (1..n), @dispvm:NAME of each (n+1..2n), and the keyword @dispvm
 * (2n+1), resolved at the end. */
struct universe {
	const struct policy_system *sys;
	size_t n;
	unsigned char *in; /* 2n+2 flags */
	/* The template @dispvm stands for, from the source; NULL: none. */
	const struct policy_qube *dd;
};

static size_t dom0_at(void)
{
	return 0;
}

static size_t qube_at(const struct universe *u, size_t i)
{
	return 1 + i;
}

static size_t dvm_at(const struct universe *u, size_t i)
{
	return 1 + u->n + i;
}

static size_t keyword_at(const struct universe *u)
{
	return 1 + 2 * u->n;
}

static int tagged(const struct policy_qube *q, const char *tag)
{
	size_t i;

	for (i = 0; i < q->ntags; i++)
		if (q->tags[i] && !strcmp(q->tags[i], tag))
			return 1;
	return 0;
}

static size_t index_of(const struct universe *u, const struct policy_qube *q)
{
	return (size_t)(q - u->sys->qubes);
}

/* Sets the targets token t names (Qubes' Target.expand) to v. */
static void expand(struct universe *u, const struct policy_tok *t,
		   unsigned char v)
{
	const struct policy_system *sys = u->sys;
	const struct policy_qube *q;
	const char *name;
	size_t i;

	switch (t->kind) {
	case TOK_NAME:
	case TOK_DISPVM_NAME:
		name = policy_tok_name(sys, t);
		q = name ? policy_find_qube(sys, name) : NULL;
		if (q && t->kind == TOK_NAME)
			u->in[qube_at(u, index_of(u, q))] = v;
		else if (q && q->template_for_dispvms)
			u->in[dvm_at(u, index_of(u, q))] = v;
		if (t->kind == TOK_DISPVM_NAME && !v && q && q == u->dd)
			u->in[keyword_at(u)] = 0;
		return;
	case TOK_ADMINVM:
		u->in[dom0_at()] = v;
		return;
	case TOK_ANY:
	case TOK_ANYVM:
		if (t->kind == TOK_ANY)
			u->in[dom0_at()] = v;
		for (i = 0; i < u->n; i++) {
			u->in[qube_at(u, i)] = v;
			if (sys->qubes[i].template_for_dispvms)
				u->in[dvm_at(u, i)] = v;
		}
		u->in[keyword_at(u)] = v;
		return;
	case TOK_TAG:
		/* dom0 has no tags here. */
		for (i = 0; i < u->n; i++)
			if (tagged(&sys->qubes[i], t->value))
				u->in[qube_at(u, i)] = v;
		return;
	case TOK_TYPE:
		if (!strcmp(t->value, "AdminVM"))
			u->in[dom0_at()] = v;
		for (i = 0; i < u->n; i++)
			if (sys->qubes[i].cls &&
			    !strcmp(sys->qubes[i].cls, t->value))
				u->in[qube_at(u, i)] = v;
		return;
	case TOK_DISPVM_TAG:
		for (i = 0; i < u->n; i++)
			if (sys->qubes[i].template_for_dispvms &&
			    tagged(&sys->qubes[i], t->value))
				u->in[dvm_at(u, i)] = v;
		if (!v && u->dd && tagged(u->dd, t->value))
			u->in[keyword_at(u)] = 0;
		return;
	case TOK_DISPVM:
		u->in[keyword_at(u)] = v;
		return;
	case TOK_DEFAULT:
		return; /* names no target */
	}
}

/* The template for disposables @dispvm stands for, from source: its
 * default_dispvm (dom0's is the global one), or NULL. */
static const struct policy_qube *default_template(const struct universe *u,
						  const char *source)
{
	char out[POLICY_TARGET_MAX], err[POLICY_ERR_MAX];
	struct policy_dest d;

	memset(&d, 0, sizeof(d));
	d.kind = TOK_DISPVM;
	if (policy_resolve(u->sys, source, &d, out, sizeof(out), err,
			   sizeof(err)) < 0)
		return NULL; /* none, or not a template for disposables */
	return policy_find_qube(u->sys, out + strlen("@dispvm:"));
}

static void add(struct policy_targets *out, const char *a, const char *b)
{
	size_t n = strlen(a);

	/* Names in sys fit: QUBE_NAME_MAX with "@dispvm:" is
	 * POLICY_TARGET_MAX - 1; a longer one is left out. */
	if (n + strlen(b) >= POLICY_TARGET_MAX)
		return;
	memcpy(out->name[out->n], a, n);
	strcpy(out->name[out->n] + n, b);
	out->n++;
}

int policy_ask_targets(const struct policy *p,
		       const struct policy_system *sys,
		       const struct policy_request *req,
		       struct policy_targets *out)
{
	char err[POLICY_ERR_MAX];
	struct policy_call call;
	struct policy_dest t;
	struct universe u;
	size_t i;

	out->name = NULL;
	out->n = 0;
	if (!policy_valid(p) ||
	    policy_prepare(sys, req, &call, &t, err, sizeof(err)) < 0)
		return -EINVAL;
	u.sys = sys;
	u.n = sys && sys->qubes ? sys->nqubes : 0;
	u.dd = default_template(&u, call.source);
	u.in = calloc(2 * u.n + 2, 1);
	out->name = calloc(2 * u.n + 1, sizeof(*out->name));
	if (!u.in || !out->name) {
		free(u.in);
		policy_targets_free(out);
		return -ENOMEM;
	}
	for (i = p->nrules; i-- > 0;) {
		const struct policy_rule *r = &p->rules[i];
		int keep = r->action != POLICY_DENY;

		if (policy_match_but_target(r, sys, &call))
			expand(&u, keep && r->has_redirect ? &r->redirect
							   : &r->target,
			       (unsigned char)keep);
	}
	/* @dispvm becomes @dispvm:NAME of the source's default. */
	if (u.in[keyword_at(&u)] && u.dd)
		u.in[dvm_at(&u, index_of(&u, u.dd))] = 1;
	/* A qube cannot call itself (Qubes leaves the source out too). */
	if (!strcmp(call.source, "dom0"))
		u.in[dom0_at()] = 0;
	if (u.in[dom0_at()])
		add(out, "dom0", "");
	for (i = 0; i < u.n; i++) {
		const char *name = sys->qubes[i].name;

		if (name && u.in[qube_at(&u, i)] && strcmp(name, call.source) &&
		    !sys->qubes[i].no_target)
			add(out, "", name);
	}
	for (i = 0; i < u.n; i++)
		if (sys->qubes[i].name && u.in[dvm_at(&u, i)])
			add(out, "@dispvm:", sys->qubes[i].name);
	free(u.in);
	return 0;
}

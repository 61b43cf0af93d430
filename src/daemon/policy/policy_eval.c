/* Deciding one call: check what the calling qube sent, find the first
 * rule that matches (service, argument, source, intended target), then
 * turn its action into a decision, resolving @dispvm and redirects as
 * Qubes does (qrexec/policy/parser.py). Anything unexpected is a deny
 * with a reason. */
#include "daemon/policy/policy.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/policy/policy_rule.h"

#define DISPVM_PREFIX "@dispvm:"

static int is_dom0(const char *name)
{
	return !strcmp(name, "dom0");
}

const struct policy_qube *policy_find_qube(const struct policy_system *sys,
					   const char *name)
{
	size_t i;

	for (i = 0; sys && i < sys->nqubes; i++)
		if (sys->qubes[i].name && !strcmp(sys->qubes[i].name, name))
			return &sys->qubes[i];
	return NULL;
}

const struct policy_qube *policy_find_uuid(const struct policy_system *sys,
					   const char *uuid)
{
	size_t i;

	for (i = 0; sys && uuid[0] && i < sys->nqubes; i++)
		if (sys->qubes[i].uuid && !strcmp(sys->qubes[i].uuid, uuid))
			return &sys->qubes[i];
	return NULL;
}

const char *policy_tok_name(const struct policy_system *sys,
			    const struct policy_tok *t)
{
	const struct policy_qube *q;

	if (!t->by_uuid)
		return t->value;
	q = policy_find_uuid(sys, t->value);
	return q ? q->name : NULL;
}

static int same(const char *a, const char *b)
{
	return a && b && !strcmp(a, b);
}

static int has_tag(const struct policy_qube *q, const char *tag)
{
	size_t i;

	for (i = 0; q && i < q->ntags; i++)
		if (q->tags[i] && !strcmp(q->tags[i], tag))
			return 1;
	return 0;
}

static const char *class_of(const struct policy_system *sys,
			    const char *name)
{
	const struct policy_qube *q;

	if (is_dom0(name))
		return "AdminVM";
	q = policy_find_qube(sys, name);
	return q && q->cls ? q->cls : "";
}

/* The source's default disposable template, or NULL for none. */
static const char *default_dispvm_of(const struct policy_system *sys,
				     const char *source)
{
	const struct policy_qube *q;
	const char *dd;

	if (is_dom0(source))
		dd = sys ? sys->default_dispvm : NULL;
	else
		dd = (q = policy_find_qube(sys, source)) ? q->default_dispvm
							 : NULL;
	return dd && dd[0] ? dd : NULL;
}

/* The qube called name if disposables may be made from it, else NULL. */
static const struct policy_qube *dvm_template(const struct policy_system *sys,
					      const char *name)
{
	const struct policy_qube *q = name ? policy_find_qube(sys, name)
					   : NULL;

	return q && q->template_for_dispvms ? q : NULL;
}

/* For a source that is a disposable: the qube it was made from. */
static const struct policy_qube *dispvm_base(const struct policy_system *sys,
					     const char *source)
{
	const struct policy_qube *q = policy_find_qube(sys, source);

	if (!q || !q->cls || strcmp(q->cls, "DispVM") || !q->dispvm_base)
		return NULL;
	return policy_find_qube(sys, q->dispvm_base);
}

static int match_source(const struct policy_tok *t,
			const struct policy_system *sys, const char *source)
{
	const struct policy_qube *b;

	switch (t->kind) {
	case TOK_NAME:
		return same(policy_tok_name(sys, t), source);
	case TOK_ADMINVM:
		return is_dom0(source);
	case TOK_ANYVM:
		return !is_dom0(source);
	case TOK_ANY:
		return 1;
	case TOK_TAG:
		return has_tag(policy_find_qube(sys, source), t->value);
	case TOK_TYPE:
		return !strcmp(class_of(sys, source), t->value);
	/* Qubes accepts these as SOURCE but compares them with the name,
	 * which never matches; here they match the disposables made from
	 * NAME, or from a template for disposables tagged T. */
	case TOK_DISPVM_NAME:
		b = dispvm_base(sys, source);
		return b && same(b->name, policy_tok_name(sys, t));
	case TOK_DISPVM_TAG:
		b = dispvm_base(sys, source);
		return b && b->template_for_dispvms && has_tag(b, t->value);
	case TOK_DEFAULT:
	case TOK_DISPVM:
		break;
	}
	return 0;
}

static int match_target(const struct policy_tok *t,
			const struct policy_system *sys, const char *source,
			const struct policy_dest *d)
{
	const char *base;

	switch (t->kind) {
	case TOK_NAME:
		return d->kind == TOK_NAME &&
		       same(policy_tok_name(sys, t), d->name);
	case TOK_ADMINVM:
		return d->kind == TOK_ADMINVM;
	case TOK_ANYVM:
		/* As in Qubes: everything but dom0, @default and the
		 * @dispvm forms included. */
		return d->kind != TOK_ADMINVM;
	case TOK_ANY:
		return 1;
	/* As in Qubes, @tag: and @type: look the target up among the
	 * system's qubes, where dom0 is by that name (or its uuid) but the
	 * keyword @adminvm is not. dom0 has no tags here. */
	case TOK_TAG:
		return d->kind == TOK_NAME &&
		       has_tag(policy_find_qube(sys, d->name), t->value);
	case TOK_TYPE:
		if (d->kind == TOK_ADMINVM)
			return d->named && !strcmp(t->value, "AdminVM");
		return d->kind == TOK_NAME &&
		       !strcmp(class_of(sys, d->name), t->value);
	case TOK_DISPVM_NAME:
		if (d->kind == TOK_DISPVM_NAME)
			return same(policy_tok_name(sys, t), d->name);
		base = d->kind == TOK_DISPVM ? default_dispvm_of(sys, source)
					     : NULL;
		return same(policy_tok_name(sys, t), base);
	case TOK_DISPVM_TAG:
		base = d->kind == TOK_DISPVM_NAME ? d->name
		       : d->kind == TOK_DISPVM	  ? default_dispvm_of(sys, source)
						  : NULL;
		return has_tag(dvm_template(sys, base), t->value);
	case TOK_DEFAULT:
		return d->kind == TOK_DEFAULT;
	case TOK_DISPVM:
		return d->kind == TOK_DISPVM;
	}
	return 0;
}

int policy_match_but_target(const struct policy_rule *r,
			    const struct policy_system *sys,
			    const struct policy_call *call)
{
	return (!r->service[0] || !strcmp(r->service, call->service)) &&
	       (r->any_arg || !strcmp(r->arg, call->arg)) &&
	       match_source(&r->source, sys, call->source);
}

static int rule_matches(const struct policy_rule *r,
			const struct policy_system *sys,
			const struct policy_call *call,
			const struct policy_dest *t)
{
	return policy_match_but_target(r, sys, call) &&
	       match_target(&r->target, sys, call->source, t);
}

const struct policy_rule *policy_match(const struct policy *p,
				       const struct policy_system *sys,
				       const struct policy_call *call,
				       const struct policy_dest *t)
{
	size_t i;

	for (i = 0; policy_valid(p) && i < p->nrules; i++)
		if (rule_matches(&p->rules[i], sys, call, t))
			return &p->rules[i];
	return NULL;
}

int policy_tok_dest(const struct policy_system *sys,
		    const struct policy_tok *tok, struct policy_dest *d,
		    char *err, size_t err_cap)
{
	const char *name;

	memset(d, 0, sizeof(*d));
	d->kind = tok->kind;
	d->named = 1;
	if (tok->kind != TOK_NAME && tok->kind != TOK_DISPVM_NAME)
		return 0;
	name = policy_tok_name(sys, tok);
	if (!name) {
		snprintf(err, err_cap, "no qube has uuid %s", tok->value);
		return -EINVAL;
	}
	snprintf(d->name, sizeof(d->name), "%.31s", name);
	return 0;
}

int policy_resolve(const struct policy_system *sys, const char *source,
		   const struct policy_dest *t, char *out, size_t cap,
		   char *err, size_t err_cap)
{
	const struct policy_qube *q;
	const char *dd;

	switch (t->kind) {
	case TOK_ADMINVM:
		snprintf(out, cap, "dom0");
		break;
	case TOK_NAME:
		q = policy_find_qube(sys, t->name);
		if (!q || q->no_target) {
			snprintf(err, err_cap, "no qube %s", t->name);
			return -EINVAL;
		}
		snprintf(out, cap, "%s", t->name);
		break;
	case TOK_DISPVM:
	case TOK_DISPVM_NAME:
		dd = t->kind == TOK_DISPVM ? default_dispvm_of(sys, source)
					   : t->name;
		if (!dd) {
			snprintf(err, err_cap, "the caller has no "
					       "default_dispvm for @dispvm");
			return -EINVAL;
		}
		if (!dvm_template(sys, dd)) {
			snprintf(err, err_cap,
				 "%.31s is not a template for disposables",
				 dd);
			return -EINVAL;
		}
		snprintf(out, cap, DISPVM_PREFIX "%s", dd);
		break;
	default:
		snprintf(err, err_cap, "neither the caller nor the policy "
				       "names a target");
		return -EINVAL;
	}
	/* Qubes cannot connect a qube to itself either. */
	if (!strcmp(out, source)) {
		snprintf(err, err_cap, "a qube cannot call itself");
		return -EINVAL;
	}
	return 0;
}

/* ---- decisions ---- */

static void deny(struct policy_decision *d, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void deny(struct policy_decision *d, const char *fmt, ...)
{
	va_list ap;

	d->action = POLICY_DENY;
	d->target[0] = '\0';
	d->notify = 1;
	va_start(ap, fmt);
	vsnprintf(d->reason, sizeof(d->reason), fmt, ap);
	va_end(ap);
}

/* autostart=no: a call that would need its target started. */
static int needs_start(const struct policy_system *sys, const char *target)
{
	const struct policy_qube *q;

	if (is_dom0(target))
		return 0;
	if (!strncmp(target, DISPVM_PREFIX, strlen(DISPVM_PREFIX)))
		return 1; /* always a new qube */
	q = policy_find_qube(sys, target);
	return !q || !q->running;
}

static void decide_allow(const struct policy_system *sys,
			 const struct policy_call *call,
			 const struct policy_rule *r,
			 const struct policy_dest *t,
			 struct policy_decision *d)
{
	struct policy_dest dest = *t;
	char err[POLICY_ERR_MAX];

	if ((r->has_redirect && policy_tok_dest(sys, &r->redirect, &dest, err,
						sizeof(err)) < 0) ||
	    policy_resolve(sys, call->source, &dest, d->target,
			   sizeof(d->target), err, sizeof(err)) < 0) {
		deny(d, "%s", err);
		return;
	}
	if (!r->autostart && needs_start(sys, d->target)) {
		char target[POLICY_TARGET_MAX];

		memcpy(target, d->target, sizeof(target));
		deny(d, "autostart=no and %s is not running", target);
		return;
	}
	d->action = POLICY_ALLOW;
}

static int in_list(const struct policy_targets *l, const char *name)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (!strcmp(l->name[i], name))
			return 1;
	return 0;
}

/* Drops the targets autostart=no rules out. */
static void only_running(const struct policy_system *sys,
			 struct policy_targets *l)
{
	size_t i, w = 0;

	for (i = 0; i < l->n; i++)
		if (!needs_start(sys, l->name[i]))
			memmove(l->name[w++], l->name[i], POLICY_TARGET_MAX);
	l->n = w;
}

static int decide_ask(const struct policy *p, const struct policy_system *sys,
		      const struct policy_request *req,
		      const struct policy_call *call,
		      const struct policy_rule *r, struct policy_decision *d)
{
	char one[POLICY_TARGET_MAX], err[POLICY_ERR_MAX];
	struct policy_dest dest;
	int e;

	if (r->has_redirect) {
		/* As in Qubes, target= alone is offered. */
		if (policy_tok_dest(sys, &r->redirect, &dest, err,
				    sizeof(err)) == 0 &&
		    policy_resolve(sys, call->source, &dest, one, sizeof(one),
				   err, sizeof(err)) == 0) {
			d->targets.name = malloc(sizeof(*d->targets.name));
			if (!d->targets.name)
				return -ENOMEM;
			memcpy(d->targets.name[0], one, sizeof(one));
			d->targets.n = 1;
		}
	} else if ((e = policy_ask_targets(p, sys, req, &d->targets)) < 0) {
		return e;
	}
	if (!r->autostart)
		only_running(sys, &d->targets);
	if (!d->targets.n) {
		deny(d, "%s", "ask, but no target to offer");
		return 0;
	}
	/* default_target= preselects its target if the list has it (Qubes
	 * drops it with a warning otherwise). */
	if (r->has_default_target) {
		if (policy_tok_dest(sys, &r->default_target, &dest, err,
				    sizeof(err)) == 0 &&
		    policy_resolve(sys, call->source, &dest, one, sizeof(one),
				   err, sizeof(err)) == 0 &&
		    in_list(&d->targets, one))
			memcpy(d->default_target, one, sizeof(one));
	}
	d->action = POLICY_ASK;
	return 0;
}

int policy_evaluate(const struct policy *p, const struct policy_system *sys,
		    const struct policy_request *req,
		    struct policy_decision *d)
{
	char err[POLICY_ERR_MAX];
	const struct policy_rule *r;
	struct policy_call call;
	struct policy_dest t;
	int e = 0;

	memset(d, 0, sizeof(*d));
	deny(d, "%s", "no rule matched");
	if (!p) {
		deny(d, "%s", "policy invalid: not loaded");
		return 0;
	}
	if (p->invalid) {
		deny(d, "policy invalid: %.*s",
		     (int)(sizeof(d->reason) - sizeof("policy invalid: ")),
		     p->why);
		return 0;
	}
	if (policy_prepare(sys, req, &call, &t, err, sizeof(err)) < 0) {
		deny(d, "%s", err);
		return 0;
	}
	r = policy_match(p, sys, &call, &t);
	if (!r)
		return 0;
	snprintf(d->file, sizeof(d->file), "%s", p->files[r->file]);
	d->line = r->line;
	snprintf(d->user, sizeof(d->user), "%s", r->user);
	d->autostart = r->autostart;
	switch (r->action) {
	case POLICY_DENY:
		deny(d, "%s", "denied by policy");
		break;
	case POLICY_ALLOW:
		decide_allow(sys, &call, r, &t, d);
		break;
	case POLICY_ASK:
		e = decide_ask(p, sys, req, &call, r, d);
		break;
	}
	/* The rule's notify= holds for what it decided; a call its allow or
	 * ask could not carry out is a deny that is shown, as in Qubes. */
	d->notify = d->action == POLICY_DENY && r->action != POLICY_DENY
			    ? 1
			    : r->notify;
	if (e < 0) {
		policy_targets_free(&d->targets);
		deny(d, "%s", "out of memory");
	}
	if (d->action == POLICY_DENY) {
		d->user[0] = '\0';
		policy_targets_free(&d->targets);
	}
	return e;
}

void policy_decision_free(struct policy_decision *d)
{
	if (d)
		policy_targets_free(&d->targets);
}

/* admin.policy.Lint and admin.policy.Check: the RPC policy as the daemon
 * reads it (docs/policy.md), and the system information the policy engine
 * needs, built from the store. Both calls load the policy afresh, as the
 * RPC router does for every call. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/admin_handlers.h"
#include "daemon/dispvm.h"
#include "daemon/policy/policy.h"
#include "daemon/policy/policy_rule.h"

/* ---- system information ---- */

struct sys_qube {
	struct qube_info qi;
	char default_dispvm[QUBE_NAME_MAX + 1];
	int dvm; /* template_for_dispvms=True */
	char **tags;
	size_t ntags;
};

struct sys_owned {
	struct sys_qube *q;
	size_t n, cap;
	struct policy_qube *pq;
	char global_dd[QUBE_NAME_MAX + 1];
};

static int collect_qube(void *arg, const struct qube_info *qi)
{
	struct sys_owned *o = arg;

	if (o->n == o->cap) {
		size_t cap = o->cap ? 2 * o->cap : 16;
		struct sys_qube *nq = realloc(o->q, cap * sizeof(*nq));

		if (!nq)
			return -ENOMEM;
		o->q = nq;
		o->cap = cap;
	}
	memset(&o->q[o->n], 0, sizeof(o->q[o->n]));
	o->q[o->n++].qi = *qi;
	return 0;
}

static int collect_tag(void *arg, const char *tag)
{
	struct sys_qube *q = arg;
	char **nt = realloc(q->tags, (q->ntags + 1) * sizeof(*nt));

	if (!nt)
		return -ENOMEM;
	q->tags = nt;
	if (!(q->tags[q->ntags] = strdup(tag)))
		return -ENOMEM;
	q->ntags++;
	return 0;
}

void policy_system_free(struct policy_system *sys)
{
	struct sys_owned *o = sys ? sys->owned : NULL;
	size_t i, j;

	if (o) {
		for (i = 0; i < o->n; i++) {
			for (j = 0; j < o->q[i].ntags; j++)
				free(o->q[i].tags[j]);
			free(o->q[i].tags);
		}
		free(o->q);
		free(o->pq);
		free(o);
	}
	if (sys)
		memset(sys, 0, sizeof(*sys));
}

static void fill_view(struct sys_owned *o)
{
	size_t i;

	for (i = 0; i < o->n; i++) {
		struct sys_qube *q = &o->q[i];
		int disp = q->qi.cls == QC_DISP;

		o->pq[i] = (struct policy_qube){
			.name = q->qi.name,
			.cls = qube_class_name(q->qi.cls),
			.tags = (const char *const *)q->tags,
			.ntags = q->ntags,
			.default_dispvm = q->default_dispvm,
			/* A disposable's template is the AppVM it came
			 * from, as in Qubes. */
			.dispvm_base = disp ? q->qi.template_name : "",
			.template_for_dispvms = q->qi.cls == QC_APP && q->dvm,
			.running = !strcmp(q->qi.power_state, "Running"),
			.uuid = q->qi.uuid,
		};
	}
}

/* Tags, default_dispvm and template_for_dispvms of each qube, one store
 * call each: a callback must not call back into the store. */
static int fill_details(struct store *s, struct sys_owned *o, char *err,
			size_t cap)
{
	size_t i;
	int e, is_default;

	for (i = 0; i < o->n; i++) {
		struct sys_qube *q = &o->q[i];

		e = store_tag_list(s, q->qi.name, collect_tag, q, err, cap);
		if (!e)
			e = store_prop_get(s, q->qi.name, "default_dispvm",
					   q->default_dispvm,
					   sizeof(q->default_dispvm),
					   &is_default, err, cap);
		if (!e && q->qi.cls == QC_APP) {
			char v[16];

			e = store_prop_get(s, q->qi.name,
					   "template_for_dispvms", v,
					   sizeof(v), &is_default, err, cap);
			q->dvm = !e && !strcmp(v, "True");
		}
		if (e)
			return e;
	}
	return 0;
}

int policy_system_load(struct store *s, struct policy_system *sys,
		       char *err, size_t cap)
{
	struct sys_owned *o = calloc(1, sizeof(*o));
	int e, is_default;

	memset(sys, 0, sizeof(*sys));
	if (!o)
		return -ENOMEM;
	sys->owned = o;
	e = store_qube_list(s, collect_qube, o, err, cap);
	if (!e)
		e = fill_details(s, o, err, cap);
	if (!e)
		e = store_global_get(s, "default_dispvm", o->global_dd,
				     sizeof(o->global_dd), &is_default, err,
				     cap);
	if (!e && !(o->pq = calloc(o->n ? o->n : 1, sizeof(*o->pq))))
		e = -ENOMEM;
	if (e) {
		if (e == -ENOMEM && cap)
			snprintf(err, cap, "out of memory");
		policy_system_free(sys);
		return e;
	}
	fill_view(o);
	sys->qubes = o->pq;
	sys->nqubes = o->n;
	sys->default_dispvm = o->global_dd;
	return 0;
}

int policy_system_add(struct policy_system *sys,
		      const struct policy_qube *more, size_t n)
{
	struct sys_owned *o = sys->owned;
	struct policy_qube *pq;
	size_t i;

	if (!o)
		return -EINVAL;
	if (!n)
		return 0;
	pq = realloc(o->pq, (sys->nqubes + n) * sizeof(*pq));
	if (!pq)
		return -ENOMEM;
	o->pq = pq;
	sys->qubes = pq;
	for (i = 0; i < n; i++)
		if (more[i].name && !policy_find_qube(sys, more[i].name))
			pq[sys->nqubes++] = more[i];
	return 0;
}

/* ---- the calls ---- */

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

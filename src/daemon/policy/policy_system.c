/* The system information the policy engine needs (struct policy_system,
 * policy.h), built from the store: every qube with its type, tags and
 * default disposable template. The RPC router and admin.policy.Check
 * load it afresh for every call. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/policy/policy.h"
#include "daemon/policy/policy_rule.h"
#include "daemon/store/store.h"

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

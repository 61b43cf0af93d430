/* admin.vm.property.* (a qube's properties) and admin.property.* (the
 * global preferences). A property name the qube's class lacks is a bad
 * argument (status 2), not a missing object. */
#include <stdio.h>
#include <string.h>

#include "daemon/admin/admin_handlers.h"

static const char *type_name(const struct prop_def *p)
{
	switch (p ? p->type : PROP_STRING) {
	case PROP_BOOL:
		return "bool";
	case PROP_INT:
		return "int";
	case PROP_LABEL:
		return "label";
	case PROP_QUBE:
		return "vm";
	case PROP_STRING:
		break;
	}
	return "str";
}

struct list_ctx {
	struct admin_reply *r;
	int global;
};

static int prop_line(void *arg, const char *name, const char *value,
		     int is_default)
{
	struct list_ctx *l = arg;
	const struct prop_def *p =
		l->global ? global_pref_find(name) : qube_prop_find(name);

	reply_add(l->r, "%s default=%s type=%s %s\n", name,
		  is_default ? "True" : "False", type_name(p), value);
	return l->r->overflow;
}

static unsigned get_reply(struct admin_reply *r, const struct prop_def *p,
			  const char *value, int is_default)
{
	reply_add(r, "default=%s type=%s %s", is_default ? "True" : "False",
		  type_name(p), value);
	return 0;
}

unsigned admin_vm_prop_list(const struct admin_req *q, struct admin_reply *r)
{
	char err[STORE_ERR_MAX] = "";
	struct list_ctx l = { r, 0 };
	unsigned st = need_qube(q, r);
	int e;

	if (st)
		return st;
	e = store_prop_list(q->s, q->dest, prop_line, &l, err, sizeof(err));
	if (r->overflow)
		return reply_too_long(r, "property list");
	return e ? reply_store_err(r, e, err, BH_ADMIN_NOSUCH) : 0;
}

unsigned admin_vm_prop_get(const struct admin_req *q, struct admin_reply *r)
{
	char err[STORE_ERR_MAX] = "", v[PROP_VALUE_MAX + 1];
	unsigned st = need_qube(q, r);
	int e, is_default = 0;

	if (st || (st = need_arg(q, r, "a property name")))
		return st;
	e = store_prop_get(q->s, q->dest, q->arg, v, sizeof(v), &is_default,
			   err, sizeof(err));
	if (e)
		return reply_store_err(r, e, err, BH_ADMIN_INVALID);
	return get_reply(r, qube_prop_find(q->arg), v, is_default);
}

unsigned admin_vm_prop_set(const struct admin_req *q, struct admin_reply *r)
{
	char err[STORE_ERR_MAX] = "";
	unsigned st = need_qube(q, r);
	int e;

	if (st || (st = need_arg(q, r, "a property name")))
		return st;
	e = store_prop_set(q->s, q->dest, q->arg, q->body, err, sizeof(err));
	return e ? reply_store_err(r, e, err, BH_ADMIN_INVALID) : 0;
}

unsigned admin_vm_prop_reset(const struct admin_req *q,
			     struct admin_reply *r)
{
	char err[STORE_ERR_MAX] = "";
	unsigned st = need_qube(q, r);
	int e;

	if (st || (st = need_arg(q, r, "a property name")))
		return st;
	e = store_prop_reset(q->s, q->dest, q->arg, err, sizeof(err));
	return e ? reply_store_err(r, e, err, BH_ADMIN_INVALID) : 0;
}

unsigned admin_global_list(const struct admin_req *q, struct admin_reply *r)
{
	char err[STORE_ERR_MAX] = "";
	struct list_ctx l = { r, 1 };
	unsigned st = need_no_dest(q, r);
	int e;

	if (st)
		return st;
	e = store_global_list(q->s, prop_line, &l, err, sizeof(err));
	if (r->overflow)
		return reply_too_long(r, "preference list");
	return e ? reply_store_err(r, e, err, BH_ADMIN_INVALID) : 0;
}

unsigned admin_global_get(const struct admin_req *q, struct admin_reply *r)
{
	char err[STORE_ERR_MAX] = "", v[PROP_VALUE_MAX + 1];
	unsigned st = need_no_dest(q, r);
	int e, is_default = 0;

	if (st || (st = need_arg(q, r, "a preference name")))
		return st;
	e = store_global_get(q->s, q->arg, v, sizeof(v), &is_default, err,
			     sizeof(err));
	if (e)
		return reply_store_err(r, e, err, BH_ADMIN_INVALID);
	return get_reply(r, global_pref_find(q->arg), v, is_default);
}

unsigned admin_global_set(const struct admin_req *q, struct admin_reply *r)
{
	char err[STORE_ERR_MAX] = "";
	unsigned st = need_no_dest(q, r);
	int e;

	if (st || (st = need_arg(q, r, "a preference name")))
		return st;
	e = store_global_set(q->s, q->arg, q->body, err, sizeof(err));
	return e ? reply_store_err(r, e, err, BH_ADMIN_INVALID) : 0;
}

unsigned admin_global_reset(const struct admin_req *q, struct admin_reply *r)
{
	char err[STORE_ERR_MAX] = "";
	unsigned st = need_no_dest(q, r);
	int e;

	if (st || (st = need_arg(q, r, "a preference name")))
		return st;
	e = store_global_reset(q->s, q->arg, err, sizeof(err));
	return e ? reply_store_err(r, e, err, BH_ADMIN_INVALID) : 0;
}

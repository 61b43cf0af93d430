/* admin.vm.feature.* and admin.vm.tag.*: free key/value pairs and tags. */
#include <stdio.h>

#include "daemon/admin/admin_handlers.h"

static int feature_line(void *arg, const char *key, const char *value)
{
	struct admin_reply *r = arg;

	reply_add(r, "%s %s\n", key, value);
	return r->overflow;
}

/* NAME VALUE per line (the value is the rest of it): one call lists
 * what `bh features` shows, where Qubes' List gives names only. */
unsigned admin_feature_list(const struct admin_req *q, struct admin_reply *r)
{
	char err[STORE_ERR_MAX] = "";
	unsigned st = need_qube(q, r);
	int e;

	if (st)
		return st;
	e = store_feature_list(q->s, q->dest, feature_line, r, err,
			       sizeof(err));
	if (r->overflow)
		return reply_too_long(r, "feature list");
	return e ? reply_store_err(r, e, err, BH_ADMIN_NOSUCH) : 0;
}

unsigned admin_feature_get(const struct admin_req *q, struct admin_reply *r)
{
	char err[STORE_ERR_MAX] = "", v[STORE_FEATURE_VALUE_MAX + 1];
	unsigned st = need_qube(q, r);
	int e;

	if (st || (st = need_arg(q, r, "a feature name")))
		return st;
	e = store_feature_get(q->s, q->dest, q->arg, v, sizeof(v), err,
			      sizeof(err));
	if (e)
		return reply_store_err(r, e, err, BH_ADMIN_NOSUCH);
	reply_add(r, "%s", v);
	return 0;
}

unsigned admin_feature_set(const struct admin_req *q, struct admin_reply *r)
{
	char err[STORE_ERR_MAX] = "";
	unsigned st = need_qube(q, r);
	int e;

	if (st || (st = need_arg(q, r, "a feature name")))
		return st;
	e = store_feature_set(q->s, q->dest, q->arg, q->body, err,
			      sizeof(err));
	return e ? reply_store_err(r, e, err, BH_ADMIN_NOSUCH) : 0;
}

unsigned admin_feature_remove(const struct admin_req *q,
			      struct admin_reply *r)
{
	char err[STORE_ERR_MAX] = "";
	unsigned st = need_qube(q, r);
	int e;

	if (st || (st = need_arg(q, r, "a feature name")))
		return st;
	e = store_feature_unset(q->s, q->dest, q->arg, err, sizeof(err));
	return e ? reply_store_err(r, e, err, BH_ADMIN_NOSUCH) : 0;
}

static int tag_line(void *arg, const char *tag)
{
	struct admin_reply *r = arg;

	reply_add(r, "%s\n", tag);
	return r->overflow;
}

unsigned admin_tag_list(const struct admin_req *q, struct admin_reply *r)
{
	char err[STORE_ERR_MAX] = "";
	unsigned st = need_qube(q, r);
	int e;

	if (st)
		return st;
	e = store_tag_list(q->s, q->dest, tag_line, r, err, sizeof(err));
	if (r->overflow)
		return reply_too_long(r, "tag list");
	return e ? reply_store_err(r, e, err, BH_ADMIN_NOSUCH) : 0;
}

unsigned admin_tag_set(const struct admin_req *q, struct admin_reply *r)
{
	char err[STORE_ERR_MAX] = "";
	unsigned st = need_qube(q, r);
	int e;

	if (st || (st = need_arg(q, r, "a tag")))
		return st;
	e = store_tag_add(q->s, q->dest, q->arg, err, sizeof(err));
	return e ? reply_store_err(r, e, err, BH_ADMIN_NOSUCH) : 0;
}

unsigned admin_tag_remove(const struct admin_req *q, struct admin_reply *r)
{
	char err[STORE_ERR_MAX] = "";
	unsigned st = need_qube(q, r);
	int e;

	if (st || (st = need_arg(q, r, "a tag")))
		return st;
	e = store_tag_remove(q->s, q->dest, q->arg, err, sizeof(err));
	return e ? reply_store_err(r, e, err, BH_ADMIN_NOSUCH) : 0;
}

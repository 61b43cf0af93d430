/* admin.vm.List, admin.vm.Create.*, admin.vm.Remove. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/admin_handlers.h"
#include "daemon/store_boot.h"

static int list_line(void *arg, const struct qube_info *qi)
{
	struct admin_reply *r = arg;

	reply_add(r, "%s class=%s state=%s label=%s template=%s\n", qi->name,
		  qube_class_name(qi->cls), qi->power_state, qi->label,
		  qi->template_name[0] ? qi->template_name : "-");
	return r->overflow;
}

unsigned admin_vm_list(const struct admin_req *q, struct admin_reply *r)
{
	char err[STORE_ERR_MAX] = "";
	struct qube_info qi;
	int e;

	if (q->dest[0]) {
		e = store_qube_get(q->s, q->dest, &qi, err, sizeof(err));
		if (e)
			return reply_store_err(r, e, err, BH_ADMIN_NOSUCH);
		list_line(r, &qi);
		return 0;
	}
	e = store_qube_list(q->s, list_line, r, err, sizeof(err));
	if (r->overflow)
		return reply_too_long(r, "qube list");
	return e ? reply_store_err(r, e, err, BH_ADMIN_NOSUCH) : 0;
}

static int hex(char c)
{
	return c >= '0' && c <= '9'   ? c - '0'
	       : c >= 'a' && c <= 'f' ? c - 'a' + 10
	       : c >= 'A' && c <= 'F' ? c - 'A' + 10
				      : -1;
}

/* URL-style %XX decoding in place; -EINVAL for a bad or NUL escape. */
static int unescape(char *s)
{
	char *w = s;

	for (; *s; s++) {
		if (*s != '%') {
			*w++ = *s;
			continue;
		}
		if (hex(s[1]) < 0 || hex(s[2]) < 0 ||
		    (hex(s[1]) | hex(s[2])) == 0)
			return -EINVAL;
		*w++ = (char)(hex(s[1]) * 16 + hex(s[2]));
		s += 2;
	}
	*w = '\0';
	return 0;
}

/* BODY: "label=L" then " NAME=VALUE" for each initial property. */
static unsigned parse_create_body(char *body, const char **label,
				  struct store_prop *props, size_t *n,
				  struct admin_reply *r)
{
	char *save = NULL, *tok;

	*label = NULL;
	*n = 0;
	for (tok = strtok_r(body, " ", &save); tok;
	     tok = strtok_r(NULL, " ", &save)) {
		char *eq = strchr(tok, '=');

		if (!eq || eq == tok)
			return reply_fail(r, BH_ADMIN_INVALID,
					  "properties are given as "
					  "NAME=VALUE");
		*eq = '\0';
		if (unescape(eq + 1) < 0)
			return reply_fail(r, BH_ADMIN_INVALID,
					  "a property value has a bad %% "
					  "escape");
		if (!strcmp(tok, "label") && !*label) {
			*label = eq + 1;
			continue;
		}
		/* One more than the table: the store says "given twice". */
		if (*n > qube_prop_count)
			return reply_fail(r, BH_ADMIN_INVALID,
					  "too many properties");
		props[(*n)++] = (struct store_prop){ tok, eq + 1 };
	}
	return 0;
}

unsigned admin_vm_create_app(const struct admin_req *q, struct admin_reply *r)
{
	char err[STORE_ERR_MAX] = "", *body = strdup(q->body);
	struct store_prop *props;
	const char *label;
	unsigned st;
	size_t n;
	int e;

	props = calloc(qube_prop_count + 2, sizeof(*props));
	if (!body || !props) {
		free(body);
		free(props);
		return reply_fail(r, BH_ADMIN_FAILED, "out of memory");
	}
	st = parse_create_body(body, &label, props, &n, r);
	if (st == 0) {
		e = store_qube_create(q->s, q->dest, "AppVM",
				      q->arg[0] ? q->arg : NULL, label, props,
				      n, err, sizeof(err));
		/* A missing template or property is a bad argument here, not
		 * a missing object of the call. */
		st = e ? reply_store_err(r, e, err, BH_ADMIN_INVALID) : 0;
	}
	free(props);
	free(body);
	return st;
}

unsigned admin_vm_create_refused(const struct admin_req *q,
				 struct admin_reply *r)
{
	/* Such a qube needs its own root image copied; refusing beats a
	 * record whose qube can never start. */
	return reply_fail(r, BH_ADMIN_REFUSED,
			  "creating TemplateVMs and StandaloneVMs needs "
			  "volume support, not available yet");
}

unsigned admin_vm_remove(const struct admin_req *q, struct admin_reply *r)
{
	char err[STORE_ERR_MAX] = "";
	unsigned st = need_qube(q, r);
	int e;

	if (st)
		return st;
	if (!strcmp(q->dest, BUILTIN_TEMPLATE))
		return reply_fail(r, BH_ADMIN_REFUSED,
				  "'%s' is the built-in template; it cannot "
				  "be removed",
				  BUILTIN_TEMPLATE);
	e = store_qube_remove(q->s, q->dest, err, sizeof(err));
	return e ? reply_store_err(r, e, err, BH_ADMIN_NOSUCH) : 0;
}

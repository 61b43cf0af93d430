/* What a calling qube sends, checked before the engine uses it: the
 * service name, its argument and the intended target (docs/policy.md,
 * "Calls"). Nothing here trusts a length: every string is measured with
 * a bound first. */
#include "daemon/policy/policy.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "daemon/policy/policy_rule.h"

#define DISPVM_PREFIX "@dispvm:"

static int svc_char(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	       (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' ||
	       ch == '-';
}

static int arg_char(char ch)
{
	return svc_char(ch) || ch == '+';
}

static int is_dom0(const char *name)
{
	return !strcmp(name, "dom0");
}

/* The qube called name if disposables may be made from it, else NULL. */
static const struct policy_qube *dvm_template(const struct policy_system *sys,
					      const char *name)
{
	const struct policy_qube *q = policy_find_qube(sys, name);

	return q && q->template_for_dispvms ? q : NULL;
}

/* Bounded length of an untrusted string: max + 1 when longer than max. */
static size_t blen(const char *s, size_t max)
{
	return strnlen(s, max + 1);
}

static int check_charset(const char *s, int (*ok)(char))
{
	for (; *s; s++)
		if (!ok(*s))
			return -EINVAL;
	return 0;
}

static int fail(char *err, size_t cap, const char *msg)
{
	snprintf(err, cap, "%s", msg);
	return -EINVAL;
}

/* A qube the caller named: NAME, or uuid:UUID as Qubes allows. Returns
 * the qube, or NULL with *valid saying whether the text was at least a
 * well-formed name or uuid. dom0 is not looked up here. */
static const struct policy_qube *named_qube(const struct policy_system *sys,
					    const char *untrusted, int *valid)
{
	const struct policy_qube *q = NULL;
	char why[128];

	if (!strncmp(untrusted, "uuid:", 5)) {
		*valid = policy_uuid_ok(untrusted + 5);
		if (*valid)
			q = policy_find_uuid(sys, untrusted + 5);
	} else {
		*valid = qube_name_check(untrusted, why, sizeof(why)) == 0;
		if (*valid)
			q = policy_find_qube(sys, untrusted);
	}
	/* A running disposable is no target: as if it did not exist. */
	return q && !q->no_target ? q : NULL;
}

static int intended(const struct policy_system *sys, const char *untrusted,
		    struct policy_dest *d, char *err, size_t cap)
{
	const struct policy_qube *q;
	int valid;

	memset(d, 0, sizeof(*d));
	if (!untrusted || !untrusted[0] || !strcmp(untrusted, "@default")) {
		d->kind = TOK_DEFAULT;
		return 0;
	}
	/* dom0 by its name or uuid is a qube of Qubes' system information;
	 * @adminvm is a keyword (see policy_dest.named). */
	if (!strcmp(untrusted, "@adminvm") || is_dom0(untrusted) ||
	    !strcmp(untrusted, "uuid:" POLICY_DOM0_UUID)) {
		d->kind = TOK_ADMINVM;
		d->named = untrusted[0] != '@';
		return 0;
	}
	if (!strcmp(untrusted, "@dispvm")) {
		d->kind = TOK_DISPVM;
		return 0;
	}
	if (!strncmp(untrusted, DISPVM_PREFIX, strlen(DISPVM_PREFIX))) {
		q = named_qube(sys, untrusted + strlen(DISPVM_PREFIX), &valid);
		if (!q || !dvm_template(sys, q->name))
			return fail(err, cap, "the target is not a template "
					      "for disposables");
		d->kind = TOK_DISPVM_NAME;
		snprintf(d->name, sizeof(d->name), "%.31s", q->name);
		return 0;
	}
	q = named_qube(sys, untrusted, &valid);
	if (!valid)
		return fail(err, cap, "the target is not a valid name");
	/* A qube that does not exist is @default, as in Qubes, so that the
	 * caller cannot learn which qubes exist. */
	d->kind = q ? TOK_NAME : TOK_DEFAULT;
	if (q)
		snprintf(d->name, sizeof(d->name), "%.31s", q->name);
	return 0;
}

int policy_prepare(const struct policy_system *sys,
		   const struct policy_request *req, struct policy_call *call,
		   struct policy_dest *t, char *err, size_t err_cap)
{
	const char *untrusted_arg = req->untrusted_arg ? req->untrusted_arg
						       : "";
	const char *untrusted_svc = req->untrusted_service;
	char why[128];
	size_t n;

	if (!req->source ||
	    (!is_dom0(req->source) &&
	     qube_name_check(req->source, why, sizeof(why))))
		return fail(err, err_cap, "the source is not a qube name");
	n = untrusted_svc ? blen(untrusted_svc, POLICY_SERVICE_MAX) : 0;
	if (n == 0 || n > POLICY_SERVICE_MAX ||
	    check_charset(untrusted_svc, svc_char))
		return fail(err, err_cap, "the service name is not valid");
	if (blen(untrusted_arg, POLICY_ARG_MAX) > POLICY_ARG_MAX ||
	    check_charset(untrusted_arg, arg_char))
		return fail(err, err_cap, "the service argument is not valid");
	/* The service would take it for an option (proto/rpc_req.h). */
	if (untrusted_arg[0] == '-')
		return fail(err, err_cap,
			    "the service argument starts with -");
	/* Checked: from here on they are a service name and an argument. */
	call->source = req->source;
	call->service = untrusted_svc;
	call->arg = untrusted_arg;
	return intended(sys, req->untrusted_target, t, err, err_cap);
}

int policy_split_call(const char *untrusted_call, char *service,
		      size_t service_cap, char *arg, size_t arg_cap)
{
	size_t n, s;
	const char *plus;

	if (!untrusted_call || !service_cap || !arg_cap)
		return -EINVAL;
	n = blen(untrusted_call, POLICY_SERVICE_MAX + 1 + POLICY_ARG_MAX);
	if (n > POLICY_SERVICE_MAX + 1 + POLICY_ARG_MAX)
		return -EINVAL;
	plus = memchr(untrusted_call, '+', n);
	s = plus ? (size_t)(plus - untrusted_call) : n;
	if (s == 0 || s > POLICY_SERVICE_MAX || s >= service_cap ||
	    n - s - (plus != NULL) >= arg_cap)
		return -EINVAL;
	memcpy(service, untrusted_call, s);
	service[s] = '\0';
	memcpy(arg, plus ? plus + 1 : "", plus ? n - s - 1 : 0);
	arg[plus ? n - s - 1 : 0] = '\0';
	if (check_charset(service, svc_char) || check_charset(arg, arg_char) ||
	    strlen(arg) > POLICY_ARG_MAX || arg[0] == '-') {
		service[0] = arg[0] = '\0';
		return -EINVAL;
	}
	return 0;
}


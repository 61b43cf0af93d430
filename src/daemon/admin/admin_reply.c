/* The admin handlers' replies (admin_reply.h): building a reply's text,
 * the checks most calls start with, and sending it. */
#include "daemon/admin/admin_reply.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "daemon/core/client_send.h"

void reply_add(struct admin_reply *r, const char *fmt, ...)
{
	size_t room = ADMIN_REPLY_MAX - r->len;
	va_list ap;
	int n;

	if (r->overflow)
		return;
	va_start(ap, fmt);
	n = vsnprintf(r->text + r->len, room + 1, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n > room) {
		r->overflow = 1;
		r->text[r->len] = '\0'; /* drop the partial line */
		return;
	}
	r->len += (size_t)n;
}

unsigned reply_fail(struct admin_reply *r, unsigned status, const char *fmt,
		    ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(r->text, sizeof(r->text), fmt, ap);
	va_end(ap);
	r->len = n < 0 ? 0 : (size_t)n > ADMIN_REPLY_MAX ? ADMIN_REPLY_MAX
							  : (size_t)n;
	r->text[r->len] = '\0';
	r->overflow = 0;
	return status;
}

unsigned reply_store_err(struct admin_reply *r, int e, const char *err,
			 unsigned enoent_status)
{
	unsigned st;

	switch (e) {
	case -EINVAL:
		st = BH_ADMIN_INVALID;
		break;
	case -EEXIST:
	case -EBUSY:
		st = BH_ADMIN_REFUSED;
		break;
	case -ENOENT:
		st = enoent_status;
		break;
	default:
		st = BH_ADMIN_FAILED;
		break;
	}
	return reply_fail(r, st, "%s", err[0] ? err : strerror(-e));
}

unsigned reply_too_long(struct admin_reply *r, const char *what)
{
	return reply_fail(r, BH_ADMIN_FAILED,
			  "the %s does not fit in one reply (%u bytes); "
			  "ask for fewer items",
			  what, ADMIN_REPLY_MAX);
}

unsigned need_qube(const struct admin_req *q, struct admin_reply *r)
{
	char err[STORE_ERR_MAX] = "";
	struct qube_info qi;
	int e;

	if (!q->dest[0])
		return reply_fail(r, BH_ADMIN_INVALID,
				  "this call needs a qube name");
	e = store_qube_get(q->s, q->dest, &qi, err, sizeof(err));
	return e ? reply_store_err(r, e, err, BH_ADMIN_NOSUCH) : 0;
}

unsigned need_no_dest(const struct admin_req *q, struct admin_reply *r)
{
	return q->dest[0] ? reply_fail(r, BH_ADMIN_INVALID,
				       "this call is on the global "
				       "preferences: it takes no qube name")
			  : 0;
}

unsigned need_arg(const struct admin_req *q, struct admin_reply *r,
		  const char *what)
{
	return q->arg[0] ? 0
			 : reply_fail(r, BH_ADMIN_INVALID,
				      "this call needs %s", what);
}

void admin_send_reply(struct client *c, unsigned st,
		      const struct admin_reply *r)
{
	admin_send_text(c, st, r->text, r->len);
}

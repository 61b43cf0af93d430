/* What every admin handler fills and uses: the call (struct admin_req),
 * its reply (struct admin_reply), the helpers that build the reply and
 * check the call, and the sending of a reply. Below the handlers
 * (admin_handlers.h) and the method table (admin.c), which call them. */
#ifndef BH_DAEMON_ADMIN_REPLY_H
#define BH_DAEMON_ADMIN_REPLY_H

#include <stddef.h>

#include "daemon/core/client_send.h"
#include "daemon/store/store.h"
#include "proto/exitcodes.h"

struct admin_task;

/* A reply's text (at most ADMIN_REPLY_MAX, core/client_send.h). */
struct admin_reply {
	char text[ADMIN_REPLY_MAX + 1];
	size_t len;
	int overflow; /* an append did not fit: the text is cut */
};

/* One call: body is NUL-terminated (the daemon refuses a body with a NUL
 * in it) and at most BH_FRAME_MAX_PAYLOAD bytes. */
struct admin_req {
	struct store *s;
	const char *state_dir; /* STATE: kernels/, templates/, bulkhead.db */
	const char *dest;
	const char *arg;
	const char *body;
	/* For events_emit; NULL when called without a daemon (tests). */
	struct daemon *d;
	/* The client that made the call (NULL in tests, or once it has
	 * gone), and the call's task while it waits for jobs (admin_job). */
	struct client *c;
	struct admin_task *task;
};

/* A handler's status when its reply comes later: it started a job
 * (admin_job) and the job's end resumes the call. */
#define ADMIN_PENDING 0xffffffffu

/* Queues status and r's text to c as the reply of its call
 * (admin_send_text and admin_send_replyf, the one reply builder, are
 * core/client_send.h's). */
void admin_send_reply(struct client *c, unsigned status,
		      const struct admin_reply *r);

/* Appends printf-style text; on overflow sets r->overflow and keeps what
 * fits. */
void reply_add(struct admin_reply *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Replaces the text with a message; returns status. */
unsigned reply_fail(struct admin_reply *r, unsigned status, const char *fmt,
		    ...) __attribute__((format(printf, 3, 4)));
/* The status for the store's error e (its message in err): -EINVAL 2,
 * -EEXIST and -EBUSY 3, -ENOENT enoent_status (whether a missing thing is
 * "no such" or a bad argument depends on the call), anything else 1. */
unsigned reply_store_err(struct admin_reply *r, int e, const char *err,
			 unsigned enoent_status);
/* A list that did not fit in one reply: status 1 and why. */
unsigned reply_too_long(struct admin_reply *r, const char *what);

/* 0 when dest names a qube; else fills r with status 4 (no such qube) or
 * 2 (DEST missing) and returns that. */
unsigned need_qube(const struct admin_req *q, struct admin_reply *r);
/* 0 when the call has no DEST (a global call), else status 2. */
unsigned need_no_dest(const struct admin_req *q, struct admin_reply *r);
/* 0 when ARG is not empty, else status 2 naming what it should be. */
unsigned need_arg(const struct admin_req *q, struct admin_reply *r,
		  const char *what);

#endif

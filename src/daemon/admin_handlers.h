/* What the admin handlers share: their signature, reply helpers and the
 * mapping of the store's errors to statuses. Private to src/daemon/admin*. */
#ifndef BH_DAEMON_ADMIN_HANDLERS_H
#define BH_DAEMON_ADMIN_HANDLERS_H

#include <stddef.h>

#include "daemon/admin.h"
#include "daemon/events.h"
#include "daemon/store.h"
#include "proto/exitcodes.h"

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
};

typedef unsigned (*admin_handler)(const struct admin_req *q,
				  struct admin_reply *r);

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

unsigned admin_vm_list(const struct admin_req *q, struct admin_reply *r);
unsigned admin_vm_create_app(const struct admin_req *q,
			     struct admin_reply *r);
unsigned admin_vm_create_template(const struct admin_req *q,
				  struct admin_reply *r);
/* admin_template.c: import= of a built template, else the above. */
unsigned admin_template_create(const struct admin_req *q,
			       struct admin_reply *r);
unsigned admin_vm_create_standalone(const struct admin_req *q,
				    struct admin_reply *r);
unsigned admin_vm_create_disp(const struct admin_req *q,
			      struct admin_reply *r);
unsigned admin_vm_remove(const struct admin_req *q, struct admin_reply *r);
unsigned admin_vm_clone(const struct admin_req *q, struct admin_reply *r);
unsigned admin_vm_volume_list(const struct admin_req *q,
			      struct admin_reply *r);
unsigned admin_vm_volume_resize(const struct admin_req *q,
				struct admin_reply *r);

unsigned admin_vm_prop_list(const struct admin_req *q, struct admin_reply *r);
unsigned admin_vm_prop_get(const struct admin_req *q, struct admin_reply *r);
unsigned admin_vm_prop_set(const struct admin_req *q, struct admin_reply *r);
unsigned admin_vm_prop_reset(const struct admin_req *q,
			     struct admin_reply *r);
unsigned admin_global_list(const struct admin_req *q, struct admin_reply *r);
unsigned admin_global_get(const struct admin_req *q, struct admin_reply *r);
unsigned admin_global_set(const struct admin_req *q, struct admin_reply *r);
unsigned admin_global_reset(const struct admin_req *q, struct admin_reply *r);

unsigned admin_feature_list(const struct admin_req *q, struct admin_reply *r);
unsigned admin_feature_get(const struct admin_req *q, struct admin_reply *r);
unsigned admin_feature_set(const struct admin_req *q, struct admin_reply *r);
unsigned admin_feature_remove(const struct admin_req *q,
			      struct admin_reply *r);
unsigned admin_tag_list(const struct admin_req *q, struct admin_reply *r);
unsigned admin_tag_set(const struct admin_req *q, struct admin_reply *r);
unsigned admin_tag_remove(const struct admin_req *q, struct admin_reply *r);

unsigned admin_host_info(const struct admin_req *q, struct admin_reply *r);

unsigned admin_policy_lint(const struct admin_req *q, struct admin_reply *r);
unsigned admin_policy_check(const struct admin_req *q,
			    struct admin_reply *r);

#endif

/* What the admin handlers share: their signature, jobs, the method
 * table (the call, its reply and the helpers that build it are
 * admin_reply.h's). Private to src/daemon/admin/. */
#ifndef BH_DAEMON_ADMIN_HANDLERS_H
#define BH_DAEMON_ADMIN_HANDLERS_H

#include <stddef.h>

#include "daemon/admin/admin_reply.h"
#include "daemon/core/events.h"
#include "daemon/jobs/job.h"
#include "daemon/store/store.h"
#include "proto/exitcodes.h"

/* Resumes a call once its job has ended (res: job.h; -ECANCELED when it
 * was cancelled). q carries the store, the state folder, the daemon and
 * the task, but no DEST, ARG or BODY: ctx holds what the call needs.
 * Returns the call's status, or ADMIN_PENDING after another admin_job.
 * A resume that returns a status owns ctx no more (it frees it). */
typedef unsigned (*admin_resume_fn)(const struct admin_req *q, void *ctx,
				    const struct job_result *res,
				    struct admin_reply *r);

/* Runs spec as a job for call q and returns ADMIN_PENDING: the client's
 * reply is what fn returns when the job ends. Without a daemon (unit
 * tests) the work is done here, and so is fn; when the job cannot start,
 * fn gets the error at once; either way its status is returned. */
unsigned admin_job(const struct admin_req *q, struct admin_reply *r,
		   const struct job_spec *spec, admin_resume_fn fn,
		   void *ctx);

/* 0 when no job works on qube name (as its subject or its source), else
 * fills r with a refusal (status 3) and returns that. */
unsigned need_not_busy(const struct admin_req *q, struct admin_reply *r,
		       const char *name);

/* A method's handler: fills r and returns the status, or ADMIN_PENDING
 * when the reply comes later (a job's end, or a runtime call's waiter:
 * qube/qube_power.c). */
typedef unsigned (*admin_handler)(const struct admin_req *q,
				  struct admin_reply *r);

/* What a method needs and how it is answered. */
enum admin_kind {
	/* Answered at once from the store; runs without a daemon. */
	ADMIN_KIND_STORE,
	/* May start a job (admin_job): ADMIN_PENDING, the reply at its end;
	 * runs without a daemon too (the job inline). */
	ADMIN_KIND_JOB,
	/* Needs the running daemon (its qubes, log, asks); may answer later
	 * (ADMIN_PENDING: a start, a kill, a shutdown that waits). */
	ADMIN_KIND_RUNTIME,
	/* Needs the running daemon and turns the connection into a
	 * listener: admin.Events, admin.policy.AskAgent. */
	ADMIN_KIND_SUBSCRIBE,
};

/* The admin API: every method once (admin.c). admin_call and
 * admin_dispatch route by it, and nothing else does. */
struct admin_method {
	const char *name;
	admin_handler fn;
	enum admin_kind kind;
};
extern const struct admin_method admin_methods[];
extern const size_t admin_methods_count;

/* The entry of method name, or NULL. */
const struct admin_method *admin_method_find(const char *name);

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

/* admin_daemon.c: admin.daemon.Stop and admin.daemon.Info. */
unsigned admin_daemon_stop(const struct admin_req *q, struct admin_reply *r);
unsigned admin_daemon_info(const struct admin_req *q, struct admin_reply *r);

/* admin_job.c: admin.job.List and admin.job.Cancel. */
unsigned admin_job_list(const struct admin_req *q, struct admin_reply *r);
unsigned admin_job_cancel(const struct admin_req *q, struct admin_reply *r);

unsigned admin_policy_lint(const struct admin_req *q, struct admin_reply *r);
unsigned admin_policy_check(const struct admin_req *q,
			    struct admin_reply *r);

/* The calls on the running daemon (ADMIN_KIND_RUNTIME and _SUBSCRIBE),
 * each in its subject's file. admin_power.c: */
unsigned admin_vm_start(const struct admin_req *q, struct admin_reply *r);
unsigned admin_vm_shutdown(const struct admin_req *q, struct admin_reply *r);
unsigned admin_vm_kill(const struct admin_req *q, struct admin_reply *r);
unsigned admin_vm_pause(const struct admin_req *q, struct admin_reply *r);
unsigned admin_vm_unpause(const struct admin_req *q, struct admin_reply *r);
/* admin_runtime.c: */
unsigned admin_vm_console(const struct admin_req *q, struct admin_reply *r);
unsigned admin_log(const struct admin_req *q, struct admin_reply *r);
unsigned admin_events(const struct admin_req *q, struct admin_reply *r);
/* admin_policy.c, the prompt agent: */
unsigned admin_policy_ask_agent(const struct admin_req *q,
				struct admin_reply *r);
unsigned admin_policy_answer(const struct admin_req *q,
			     struct admin_reply *r);

#endif

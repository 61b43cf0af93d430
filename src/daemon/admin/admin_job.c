/* Admin calls that wait for jobs (job.h): a handler checks what it can at
 * once, then hands its long work to admin_job and returns ADMIN_PENDING;
 * the client gets its reply when the last job of the call has ended and
 * the handler's resume function has finished the call. Other clients are
 * served meanwhile. The waiting client reads no more frames until then;
 * if it goes away (bh interrupted), the job is cancelled and the resume
 * function undoes the call as after any failure.
 *
 * admin.job.List and admin.job.Cancel are here too. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/admin/admin.h"
#include "daemon/admin/admin_handlers.h"
#include "daemon/core/client_send.h"
#include "daemon/core/daemon.h"
#include "daemon/jobs/job.h"
#include "lib/log.h"

struct admin_task {
	struct daemon *d;
	struct client *c; /* NULL once it has gone */
	struct job *job;  /* the job running for the call */
	admin_resume_fn fn;
	void *ctx;
};

static void task_done(void *arg, const struct job_result *res)
{
	struct admin_task *t = arg;
	struct admin_reply *r = malloc(sizeof(*r));
	struct admin_req q = { t->d->store, t->d->paths.state, "", "", "",
			       t->d, t->c, t };
	unsigned st;

	t->job = NULL;
	if (!r) {
		/* The call cannot finish cleanly; say so and keep the task
		 * (its resume never runs): leaking is the lesser harm. */
		LOG_ERR("out of memory finishing an admin call");
		if (t->c) {
			t->c->task = NULL;
			client_error(t->c, BH_ADMIN_FAILED,
				     "bulkheadd is out of memory");
		}
		return;
	}
	r->len = 0;
	r->overflow = 0;
	r->text[0] = '\0';
	st = t->fn(&q, t->ctx, res, r);
	if (st != ADMIN_PENDING) {
		if (t->c) {
			t->c->task = NULL;
			admin_send_reply(t->c, st, r);
		}
		free(t);
	}
	free(r);
}

unsigned admin_job(const struct admin_req *q, struct admin_reply *r,
		   const struct job_spec *spec, admin_resume_fn fn, void *ctx)
{
	char msg[JOB_MSG_MAX];
	struct job_result res = { 0, 0, msg };
	struct admin_task *t = q->task;

	if (!q->d) {
		job_run_inline(spec, &res.result, &res.aux, msg, sizeof(msg));
		return fn(q, ctx, &res, r);
	}
	if (!t && !(t = calloc(1, sizeof(*t)))) {
		res.result = -ENOMEM;
		snprintf(msg, sizeof(msg), "out of memory");
		return fn(q, ctx, &res, r);
	}
	t->d = q->d;
	t->fn = fn;
	t->ctx = ctx;
	t->job = job_start(q->d, spec, task_done, t, msg, sizeof(msg));
	if (!t->job) {
		res.result = -EAGAIN;
		if (!q->task)
			free(t);
		return fn(q, ctx, &res, r);
	}
	if (!q->task) {
		t->c = q->c;
		if (t->c)
			t->c->task = t;
	}
	return ADMIN_PENDING;
}

void admin_task_client_gone(struct client *c)
{
	struct admin_task *t = c->task;

	if (!t)
		return;
	c->task = NULL;
	t->c = NULL;
	if (t->job)
		job_cancel(t->job, "bh went away before the call finished");
}

unsigned need_not_busy(const struct admin_req *q, struct admin_reply *r,
		       const char *name)
{
	struct job *j = job_on_qube(q->d, name);

	if (!j)
		return 0;
	return reply_fail(r, BH_ADMIN_REFUSED,
			  "qube '%s' is busy: job %u (%s for %s) runs on it; "
			  "wait for it to end, or cancel it (admin.job.Cancel "
			  "%u)",
			  name, j->id, job_op_name(j->spec.op), j->spec.qube,
			  j->id);
}

unsigned admin_job_list(const struct admin_req *q, struct admin_reply *r)
{
	static const char *const steps[] = { "?",      "copy",      "mke2fs",
					     "e2fsck", "resize2fs", "hash" };
	struct job *j;
	unsigned st = need_no_dest(q, r);

	if (st)
		return st;
	for (j = q->d ? q->d->jobs : NULL; j; j = j->next)
		reply_add(r, "%u qube=%s op=%s step=%s done=%llu total=%llu%s\n",
			  j->id, j->spec.qube, job_op_name(j->spec.op),
			  steps[j->step < 6 ? j->step : 0],
			  (unsigned long long)j->done,
			  (unsigned long long)j->total,
			  j->cancelled ? " cancelled" : "");
	return r->overflow ? reply_too_long(r, "job list") : 0;
}

unsigned admin_job_cancel(const struct admin_req *q, struct admin_reply *r)
{
	unsigned long id;
	struct job *j;
	char *end;
	unsigned st = need_no_dest(q, r);

	if (!st)
		st = need_arg(q, r, "a job id (ARG)");
	if (st)
		return st;
	errno = 0;
	id = strtoul(q->arg, &end, 10);
	if (q->arg[0] < '1' || q->arg[0] > '9' || *end || errno ||
	    id > UINT32_MAX)
		return reply_fail(r, BH_ADMIN_INVALID,
				  "a job id is a number (admin.job.List)");
	j = job_find(q->d, (uint32_t)id);
	if (!j)
		return reply_fail(r, BH_ADMIN_NOSUCH, "no job %lu runs", id);
	job_cancel(j, "cancelled (admin.job.Cancel)");
	return 0;
}

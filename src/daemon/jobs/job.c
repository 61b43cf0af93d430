#include "daemon/jobs/job.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "daemon/core/daemon.h"
#include "daemon/core/events.h"
#include "daemon/disk/volume.h"
#include "daemon/priv/priv_paths.h"
#include "lib/log.h"
#include "lib/util.h"

static const char *step_name(uint32_t step)
{
	switch (step) {
	case VOLUME_STEP_COPY: return "copy";
	case VOLUME_STEP_MKE2FS: return "mke2fs";
	case VOLUME_STEP_E2FSCK: return "e2fsck";
	case VOLUME_STEP_RESIZE2FS: return "resize2fs";
	case VOLUME_STEP_HASH: return "hash";
	}
	return "?";
}

static void sleep_ms(int64_t ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static void emit(struct job *j, const char *event, const char *extra1,
		 const char *extra2, const char *extra3)
{
	char id[32], op[32];
	const char *f[6];
	size_t n = 0;

	snprintf(id, sizeof(id), "job=%u", j->id);
	snprintf(op, sizeof(op), "op=%s", job_op_name(j->spec.op));
	f[n++] = id;
	f[n++] = op;
	if (extra1)
		f[n++] = extra1;
	if (extra2)
		f[n++] = extra2;
	if (extra3)
		f[n++] = extra3;
	f[n] = NULL;
	events_emit_fields(j->d, event, j->spec.qube, f);
}

/* The request for bulkheadd's parent: spec's files by place. -EINVAL
 * for a file it would not take (one outside the state and runtime
 * folders: no caller makes one). */
static int job_request(struct daemon *d, const struct job_spec *spec,
		       struct bh_priv_job *pj)
{
	memset(pj, 0, sizeof(*pj));
	pj->op = spec->op == JOB_COPY	  ? BH_PRIV_JOB_COPY
		 : spec->op == JOB_MKE2FS ? BH_PRIV_JOB_MKE2FS
		 : spec->op == JOB_RESIZE ? BH_PRIV_JOB_RESIZE
					  : BH_PRIV_JOB_HASH;
	bh_priv_field_set(pj->qube, sizeof(pj->qube), spec->qube);
	bh_priv_field_set(pj->other, sizeof(pj->other), spec->other);
	if (spec->op == JOB_MKE2FS || spec->op == JOB_RESIZE)
		pj->size = spec->size;
	if ((spec->op == JOB_COPY || spec->op == JOB_HASH) &&
	    priv_place_of(d->paths.state, d->paths.run, spec->src,
			  &pj->src) < 0)
		return -EINVAL;
	if (spec->op != JOB_HASH &&
	    priv_place_of(d->paths.state, d->paths.run, spec->dst,
			  &pj->dst) < 0)
		return -EINVAL;
	return 0;
}

/* The job's process: bulkheadd's parent's, which writes the images
 * (control will not be able to); forked here only where there is no
 * parent (unit tests). Returns its pid with j->fd set. */
static pid_t spawn(struct daemon *d, struct job *j, const char *lock_path,
		   char *err, size_t cap)
{
	struct bh_priv_job pj;

	if (d->priv.fd >= 0) {
		if (job_request(d, &j->spec, &pj) < 0) {
			snprintf(err, cap, "a job's file is outside the state "
					   "and runtime folders: %.1500s",
				 j->spec.op == JOB_MKE2FS ||
						 j->spec.op == JOB_RESIZE
					 ? j->spec.dst
					 : j->spec.src);
			return -EINVAL;
		}
		j->via_priv = 1;
		j->tmp[0] = '\0';
		return priv_link_job(&d->priv, &pj, &j->fd, err, cap);
	}
	/* Forked here, it dies with control, and control's loop reaps it
	 * (job_reaped). */
	return job_child_spawn(&j->spec, j->tmp, lock_path, &j->fd, err, cap);
}

/* Kills j's process group: through the parent when it is its. */
static void kill_job(struct job *j)
{
	if (j->reaped)
		return;
	if (j->via_priv)
		priv_link_cancel(&j->d->priv, j->pid);
	else
		kill(-j->pid, SIGKILL);
}

struct job *job_start(struct daemon *d, const struct job_spec *spec,
		      job_done_fn fn, void *ctx, char *err, size_t cap)
{
	char lock_path[4200];
	struct job *j;
	pid_t pid;

	if (d->stopping) {
		snprintf(err, cap, "bulkheadd is stopping");
		return NULL;
	}
	if (bh_path_fmt(lock_path, sizeof(lock_path), "%s/" JOBS_LOCK,
			d->paths.run)) {
		snprintf(err, cap, "runtime path too long");
		return NULL;
	}
	j = calloc(1, sizeof(*j));
	if (!j) {
		snprintf(err, cap, "out of memory");
		return NULL;
	}
	j->d = d;
	j->spec = *spec;
	j->fn = fn;
	j->ctx = ctx;
	j->holders = 1;
	if (spec->op != JOB_HASH &&
	    job_temp_name(spec->dst, j->tmp, sizeof(j->tmp)) < 0) {
		snprintf(err, cap, "path too long: %.1500s", spec->dst);
		free(j);
		return NULL;
	}
	pid = spawn(d, j, lock_path, err, cap);
	if (pid < 0) {
		free(j);
		return NULL;
	}
	j->pid = pid;
	j->id = ++d->next_job_id;
	if (j->id == 0)
		j->id = ++d->next_job_id;
	j->next = d->jobs;
	d->jobs = j;
	LOG_DEBUG("job %u (%s for %s) started, pid %d", j->id,
		  job_op_name(spec->op), spec->qube, (int)pid);
	emit(j, "job-start", NULL, NULL, NULL);
	return j;
}

void job_cancel(struct job *j, const char *why)
{
	if (j->cancelled || j->have_done)
		return;
	j->cancelled = 1;
	snprintf(j->why, sizeof(j->why), "%s", why);
	LOG_INFO("job %u (%s for %s) cancelled: %s", j->id,
		 job_op_name(j->spec.op), j->spec.qube, why);
	kill_job(j);
}

void job_hold(struct job *j)
{
	j->holders++;
}

void job_release(struct job *j, const char *why)
{
	if (j->holders > 1) {
		j->holders--;
		return;
	}
	j->holders = 0;
	job_cancel(j, why);
}

struct job *job_find(struct daemon *d, uint32_t id)
{
	struct job *j;

	for (j = d ? d->jobs : NULL; j; j = j->next)
		if (j->id == id)
			return j;
	return NULL;
}

struct job *job_on_qube(struct daemon *d, const char *name)
{
	struct job *j;

	for (j = d ? d->jobs : NULL; j; j = j->next)
		if (!strcmp(j->spec.qube, name) || !strcmp(j->spec.other, name))
			return j;
	return NULL;
}

static void record(struct job *j, const struct job_rec *r)
{
	char step[32], done[40], total[40];

	if (r->type == JOB_REC_DONE) {
		j->last = *r;
		j->have_done = 1;
		return;
	}
	j->step = r->step;
	j->done = r->done;
	j->total = r->total;
	snprintf(step, sizeof(step), "step=%s", step_name(r->step));
	snprintf(done, sizeof(done), "done=%llu", (unsigned long long)r->done);
	snprintf(total, sizeof(total), "total=%llu",
		 (unsigned long long)r->total);
	emit(j, "job-progress", step, done, total);
}

void job_input(struct job *j)
{
	struct job_rec r;

	while (j->fd >= 0) {
		ssize_t n = read(j->fd, j->buf + j->got, sizeof(j->buf) - j->got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			/* EOF: a record cut short is a broken child. */
			if (j->got)
				j->bad = 1;
			close(j->fd);
			j->fd = -1;
			return;
		}
		j->got += (size_t)n;
		if (j->got < sizeof(j->buf))
			continue;
		j->got = 0;
		/* After DONE, nothing more may come. */
		if (j->have_done || job_rec_parse(j->buf, sizeof(j->buf), &r) < 0) {
			LOG_ERR("job %u (%s for %s): malformed record from its "
				"process; killing it",
				j->id, job_op_name(j->spec.op), j->spec.qube);
			j->bad = 1;
			kill_job(j);
			close(j->fd);
			j->fd = -1;
			return;
		}
		record(j, &r);
	}
}

static int reaped(struct daemon *d, pid_t pid, int wstatus, int via_priv)
{
	struct job **pp, *j;
	struct job_result res = { 0, 0, "" };
	char msg[JOB_MSG_MAX + 64], result[32], reason[JOB_MSG_MAX + 16];

	for (pp = &d->jobs;
	     *pp && ((*pp)->pid != pid || (*pp)->via_priv != via_priv);
	     pp = &(*pp)->next)
		;
	if (!(j = *pp))
		return 0;
	*pp = j->next;
	j->reaped = 1;
	/* The child is gone: what it wrote is all in the pipe. */
	job_input(j);
	if (j->fd >= 0) {
		close(j->fd);
		j->fd = -1;
	}
	msg[0] = '\0';
	if (j->cancelled) {
		res.result = -ECANCELED;
		snprintf(msg, sizeof(msg), "%s", j->why);
	} else if (j->have_done && !j->bad && WIFEXITED(wstatus) &&
		   WEXITSTATUS(wstatus) == 0) {
		res.result = j->last.result;
		res.aux = j->last.aux;
		snprintf(msg, sizeof(msg), "%s", j->last.msg);
		if (res.result < 0 && !msg[0])
			snprintf(msg, sizeof(msg), "%s", strerror(-res.result));
	} else {
		res.result = -EIO;
		snprintf(msg, sizeof(msg),
			 "the %s of %s ended without a result (its process %s "
			 "%d)",
			 job_op_name(j->spec.op), j->spec.qube,
			 WIFSIGNALED(wstatus) ? "was killed by signal"
					      : "exited with status",
			 WIFSIGNALED(wstatus) ? WTERMSIG(wstatus)
					      : WEXITSTATUS(wstatus));
	}
	/* A job that did not finish leaves nothing: its temporary goes
	 * (the child removes it itself when it fails on its own). */
	if (res.result < 0 && j->tmp[0] && unlink(j->tmp) == 0)
		LOG_DEBUG("job %u: removed %s", j->id, j->tmp);
	res.msg = msg;
	snprintf(result, sizeof(result), "result=%s",
		 res.result == 0		? "ok"
		 : res.result == -ECANCELED ? "cancelled"
					    : "failed");
	snprintf(reason, sizeof(reason), "reason=%.*s", JOB_MSG_MAX, msg);
	emit(j, "job-done", result,
	     res.result < 0 && msg[0] ? reason : NULL, NULL);
	LOG_DEBUG("job %u (%s for %s) done: %s%s%s", j->id,
		  job_op_name(j->spec.op), j->spec.qube, result + 7,
		  res.result < 0 ? ": " : "", res.result < 0 ? msg : "");
	if (j->fn)
		j->fn(j->ctx, &res);
	free(j);
	return 1;
}

int job_reaped(struct daemon *d, pid_t pid, int wstatus)
{
	return reaped(d, pid, wstatus, 0);
}

int job_reaped_by_priv(struct daemon *d, pid_t pid, int wstatus)
{
	return reaped(d, pid, wstatus, 1);
}

int job_wait_stale(const char *run_dir, int timeout_ms)
{
	char path[4200];
	int64_t end = bh_now_ms() + timeout_ms;
	int fd, waited = 0;

	if (bh_path_fmt(path, sizeof(path), "%s/" JOBS_LOCK, run_dir))
		return 0;
	fd = open(path, O_RDONLY | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return 0;
	while (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		if (bh_now_ms() >= end) {
			close(fd);
			return -ETIMEDOUT;
		}
		if (!waited)
			LOG_INFO("waiting for the jobs of an earlier daemon "
				 "to end");
		waited = 1;
		sleep_ms(10);
	}
	close(fd);
	return 0;
}

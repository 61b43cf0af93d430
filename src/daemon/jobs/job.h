/* Long work outside the daemon's loop: one job is one forked child doing
 * one volume operation (a copy, mke2fs, a resize, a hash), described in
 * full when it starts (struct job_spec), at a low CPU and I/O priority.
 * The child writes fixed-size records (struct job_rec) on a pipe:
 * progress (step, bytes done of total) and, last, its result (0 or
 * -errno, a message for the user, and for a copy how it was made, for a
 * hash the digest). The loop polls the pipe, sends admin events
 * (job-start, job-progress, job-done: see docs/admin-api.md, "Jobs") and,
 * once the child is reaped, calls the job's done callback, which resumes
 * the admin call or the qube's start that waited for it.
 *
 * This file is control's side: the jobs it follows (struct job, with
 * struct daemon), their ids, events, cancels and callbacks. What runs in
 * the child, and what both sides share (struct job_spec, struct job_rec,
 * job_rec_parse, the temporary's name), is disk/job_child.h, lower down
 * the layers: bulkheadd's root parent is to fork the children on
 * control's request, since control will run unprivileged and must not
 * write images. For now job_start forks the child itself.
 *
 * Cancelling a job (admin.job.Cancel, the waiting bh gone, the daemon
 * stopping) kills the child's process group (the child and the e2fsprogs
 * tool it runs) and removes its temporary. Whatever a job makes is written
 * under a temporary name chosen here (FINAL.tmp-XXXXXX, job_temp_name,
 * volume.h) and renamed into place only when whole, so a killed job, or a
 * killed daemon (its children die with it: PR_SET_PDEATHSIG), leaves no
 * file that looks whole; start-up removes the temporaries once no job
 * child of the dead daemon is left (job_wait_stale).
 *
 * This maps onto the priv process of docs/architecture.md: job_start is
 * its VOLUME message, the records are JOB_PROGRESS and JOB_DONE, and
 * job_cancel is CANCEL. */
#ifndef BH_DAEMON_JOB_H
#define BH_DAEMON_JOB_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* What the child and its follower share (struct job_spec, struct
 * job_rec, job_op_name), job_run_inline and job_throttle_mib_s. */
#include "daemon/disk/job_child.h"

struct daemon;

/* A job's end, for its callback: result 0 or -errno (-ECANCELED when it
 * was cancelled), msg why (or a hash's digest), aux as in the record. */
struct job_result {
	int result;
	uint32_t aux;
	const char *msg;
};

typedef void (*job_done_fn)(void *ctx, const struct job_result *res);

struct job {
	struct job *next;
	struct daemon *d;
	uint32_t id;
	struct job_spec spec;
	char tmp[PATH_MAX]; /* what the child writes; "" for a hash */
	pid_t pid;	    /* the child, leader of its process group */
	int fd;		    /* the pipe's read end; -1 at its EOF */
	unsigned char buf[sizeof(struct job_rec)];
	size_t got;
	struct job_rec last; /* DONE, once have_done */
	int have_done;
	int bad;	     /* a malformed record: the child was killed */
	int cancelled;
	int reaped;	     /* its pid may be reused: kill nothing */
	/* Its process is bulkheadd's parent's (JOB, priv/priv_link.h):
	 * cancelled with CANCEL, its end told by EXITED, its temporary
	 * named and removed there (tmp is ""). */
	int via_priv;
	unsigned holders;    /* who wait for it (job_hold, job_release) */
	char why[256];	     /* why it was cancelled */
	uint32_t step;	     /* the last progress */
	uint64_t done, total;
	job_done_fn fn;
	void *ctx;
};

/* Forks the child for spec; fn(ctx, result) runs once it has ended (never
 * from inside job_start). NULL with err set when it cannot be started. */
struct job *job_start(struct daemon *d, const struct job_spec *spec,
		      job_done_fn fn, void *ctx, char *err, size_t cap);

/* Kills the child's process group; its callback later gets -ECANCELED
 * with why as the message. A job already ending is left to end. */
void job_cancel(struct job *j, const char *why);

/* A running job whose qube or other is name, or NULL: that qube is busy
 * (nothing may start, remove or copy it meanwhile). */
struct job *job_on_qube(struct daemon *d, const char *name);

/* One more party waits for j's end (a qube's start that needs the same
 * checksum as another's: qube_boot.h); j starts with one. Each lets go
 * with job_release; j's callback still runs once, for all of them. */
void job_hold(struct job *j);

/* A party no longer waits for j: the last one to let go cancels it
 * (job_cancel, why); while others wait, it runs on. */
void job_release(struct job *j, const char *why);

/* The job with this id, or NULL. */
struct job *job_find(struct daemon *d, uint32_t id);

/* The pipe is readable: reads the records there, sends job-progress. */
void job_input(struct job *j);

/* Called for every reaped child: 1 when pid was a job's (its callback has
 * run and it is freed), else 0. */
int job_reaped(struct daemon *d, pid_t pid, int wstatus);
/* The same for a job whose process was bulkheadd's parent's (its
 * EXITED): only such a job matches, as a child of control with the same
 * pid (reused since) is not it. */
int job_reaped_by_priv(struct daemon *d, pid_t pid, int wstatus);

/* Start-up, before any temporary is removed: waits (up to timeout_ms)
 * until no job child of an earlier daemon holds run_dir/jobs.lock; they
 * die with their daemon, but the kernel may take a moment. Returns 0, or
 * -ETIMEDOUT (then the caller goes on, and says so). */
int job_wait_stale(const char *run_dir, int timeout_ms);

#endif

/* A job's child: the process that does one volume operation (a copy,
 * mke2fs, a resize, a hash) away from the daemon's loop, and what the
 * process that forks it and the one that follows it share: the job's
 * description (struct job_spec), the records the child writes on its pipe
 * (struct job_rec, job_rec_parse) and the temporary's name it writes
 * under (job_temp_name).
 *
 * The following of a job (its id, events, cancel, the callback once it
 * has ended) is control's, in jobs/job.h. The child is here, in disk,
 * below priv, so that bulkheadd's root parent can fork it too: control
 * is to run unprivileged and not write images, and will ask the parent
 * to start its jobs. So nothing here knows struct daemon.
 *
 * The child (job_child_spawn) runs in a process group of its own, whose
 * leader it is, so that killing that group kills the e2fsprogs tool it
 * runs too; it dies with the process that forked it (PR_SET_PDEATHSIG);
 * it runs at a low CPU and I/O priority (job_child.c, below_the_loop);
 * and it holds a shared lock on RUN/jobs.lock (JOBS_LOCK) for its life,
 * so that a restarted daemon can wait for the children of the dead one
 * to be gone before it removes their temporaries (job_wait_stale). */
#ifndef BH_DAEMON_JOB_CHILD_H
#define BH_DAEMON_JOB_CHILD_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The lock file in the runtime folder that job children hold. */
#define JOBS_LOCK "jobs.lock"

enum job_op {
	JOB_COPY = 1, /* src to dst: a reflink, else a sparse copy */
	JOB_MKE2FS,   /* dst: a new sparse file of size bytes, ext4 */
	JOB_RESIZE,   /* dst grown to size bytes, ext4 with it */
	JOB_HASH,     /* the SHA-256 of src, hex, in the result's msg */
};

/* The fixed description a job starts with. */
struct job_spec {
	enum job_op op;
	char qube[32]; /* whose work it is: the events' subject */
	char other[32]; /* a qube it reads (a clone's source), or "" */
	char src[PATH_MAX];
	char dst[PATH_MAX];
	uint64_t size;
};

/* The records on the pipe, in host byte order (the child is ours, on the
 * same host); the reader checks each one anyway (job_rec_parse). A record
 * is shorter than PIPE_BUF, so each write is whole. */
#define JOB_REC_MAGIC 0x424a4f42u /* "BOJB" */
#define JOB_MSG_MAX 1024u

enum job_rec_type {
	JOB_REC_PROGRESS = 1,
	JOB_REC_DONE = 2,
};

struct job_rec {
	uint32_t magic;
	uint32_t type;	 /* enum job_rec_type */
	uint32_t step;	 /* enum volume_step */
	int32_t result;	 /* DONE: 0 or -errno */
	uint64_t done;	 /* PROGRESS: of total (bytes, or steps of 1) */
	uint64_t total;
	uint32_t aux;	 /* DONE of a copy: enum volume_copy_how */
	uint32_t pad;
	char msg[JOB_MSG_MAX]; /* DONE: why it failed, or a hash's digest */
};

_Static_assert(sizeof(struct job_rec) <= 4096, "a record is one atomic "
						"pipe write (PIPE_BUF)");

/* Checks a record read from a child: exactly sizeof(struct job_rec)
 * bytes, the magic, a known type and step, done <= total, a result of 0
 * or -errno, msg NUL-terminated. 0 with *out filled, or -EBADMSG. */
int job_rec_parse(const void *buf, size_t len, struct job_rec *out);

/* The name of an op, as events and admin.job.List show it. */
const char *job_op_name(enum job_op op);

/* A new temporary's name for final: FINAL.tmp-XXXXXX, as volume.c names
 * its temporaries (so that volume_cleanup_temps knows it). 0, -EIO when
 * no random bytes came, or -ENAMETOOLONG. */
int job_temp_name(const char *final, char *out, size_t cap);

/* Forks the child for spec: it writes under tmp ("" for a hash, which
 * writes nothing) and holds lock_path (RUN/JOBS_LOCK) shared while it
 * lives. Returns the child's pid, the leader of its process group, with
 * *read_fd the read end of its records' pipe (non-blocking,
 * close-on-exec), which the caller reads to its EOF and closes; the
 * caller reaps the child. Or a negative errno, with err set, and nothing
 * left open. */
pid_t job_child_spawn(const struct job_spec *spec, const char *tmp,
		      const char *lock_path, int *read_fd, char *err,
		      size_t cap);

/* Runs spec in this process, without a child, events or progress (unit
 * tests call admin handlers without a daemon). msg holds cap bytes. */
void job_run_inline(const struct job_spec *spec, int *result, uint32_t *aux,
		    char *msg, size_t cap);

/* Copies and hashes at most this many MiB of the source per second,
 * holes included, and never reflinks: BULKHEAD_TEST_JOB_THROTTLE, for
 * tests that need a copy or a checksum to take time (0: no throttle).
 * Read once at start-up; a child takes the value of the process that
 * forks it. */
extern unsigned job_throttle_mib_s;

#endif

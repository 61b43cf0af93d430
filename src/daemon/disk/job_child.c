#include "daemon/disk/job_child.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "daemon/disk/volume.h"
#include "lib/crashpoint.h"
#include "lib/util.h"

/* A child reports progress at most this often (and at each new step and
 * at the end of one), so a fast copy does not flood subscribers. */
#define PROGRESS_EVERY_MS 100
#define HASH_CHUNK (1u << 20)
/* A job's place on the CPU and the disk (see below_the_loop). */
#define JOB_NICE 10
#define IOPRIO_WHO_PROCESS 1
#define IOPRIO_CLASS_IDLE 3
#define IOPRIO_CLASS_SHIFT 13

unsigned job_throttle_mib_s;

const char *job_op_name(enum job_op op)
{
	switch (op) {
	case JOB_COPY: return "copy";
	case JOB_MKE2FS: return "mke2fs";
	case JOB_RESIZE: return "resize";
	case JOB_HASH: return "hash";
	}
	return "?";
}

int job_rec_parse(const void *buf, size_t len, struct job_rec *out)
{
	struct job_rec r;

	if (len != sizeof(r))
		return -EBADMSG;
	memcpy(&r, buf, sizeof(r));
	if (r.magic != JOB_REC_MAGIC ||
	    (r.type != JOB_REC_PROGRESS && r.type != JOB_REC_DONE) ||
	    r.step < VOLUME_STEP_COPY || r.step > VOLUME_STEP_HASH ||
	    r.done > r.total || r.result > 0 || r.result < -4095 ||
	    !memchr(r.msg, '\0', sizeof(r.msg)))
		return -EBADMSG;
	*out = r;
	return 0;
}

int job_temp_name(const char *final, char *out, size_t cap)
{
	static const char alnum[] = "abcdefghijklmnopqrstuvwxyz"
				    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
	unsigned char rnd[6];
	char sfx[7];
	int i;

	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		return -EIO;
	for (i = 0; i < 6; i++)
		sfx[i] = alnum[rnd[i] % (sizeof(alnum) - 1)];
	sfx[6] = '\0';
	return bh_path_fmt(out, cap, "%s.tmp-%s", final, sfx);
}

/* ---- the child ---- */

struct child {
	int fd;
	uint32_t step;
	int64_t last_ms;
	int64_t copy_t0; /* the throttle's start: the copy's (or the hash's)
			  * first report */
};

static void child_send(int fd, const struct job_rec *r)
{
	ssize_t n;

	do
		n = write(fd, r, sizeof(*r));
	while (n < 0 && errno == EINTR);
	/* The daemon has gone (or does not read): nobody wants the rest. */
	if (n != (ssize_t)sizeof(*r))
		_exit(1);
}

static void sleep_ms(int64_t ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static void child_progress(void *ctx, enum volume_step step, uint64_t done,
			   uint64_t total)
{
	struct child *c = ctx;
	struct job_rec r;
	int64_t now = bh_now_ms();
	int bytes = step == VOLUME_STEP_COPY || step == VOLUME_STEP_HASH;

	if (bytes && done == 0)
		c->copy_t0 = now;
	if (job_throttle_mib_s && bytes) {
		int64_t due = c->copy_t0 +
			      (int64_t)(done * 1000 /
					((uint64_t)job_throttle_mib_s << 20));

		if (due > now)
			sleep_ms(due - now);
		now = bh_now_ms();
	}
	if (done > total)
		done = total;
	if ((uint32_t)step == c->step && done > 0 && done < total &&
	    now - c->last_ms < PROGRESS_EVERY_MS)
		return;
	c->step = (uint32_t)step;
	c->last_ms = now;
	memset(&r, 0, sizeof(r));
	r.magic = JOB_REC_MAGIC;
	r.type = JOB_REC_PROGRESS;
	r.step = (uint32_t)step;
	r.done = done;
	r.total = total;
	child_send(c->fd, &r);
}

/* The SHA-256 of path, hex, into msg (or why not). */
static int hash_file(const char *path, const struct volume_io *io, char *msg,
		     size_t cap)
{
	crypto_hash_sha256_state st;
	unsigned char digest[crypto_hash_sha256_BYTES], *buf;
	uint64_t done = 0, total;
	struct stat sb;
	int fd, i, r = 0;
	ssize_t n;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &sb) < 0) {
		r = -errno;
		snprintf(msg, cap, "cannot read %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return r;
	}
	buf = malloc(HASH_CHUNK);
	if (!buf) {
		close(fd);
		snprintf(msg, cap, "out of memory");
		return -ENOMEM;
	}
	total = (uint64_t)sb.st_size;
	posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	crypto_hash_sha256_init(&st);
	if (io && io->progress)
		io->progress(io->ctx, VOLUME_STEP_HASH, 0, total);
	while ((n = read(fd, buf, HASH_CHUNK)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			snprintf(msg, cap, "cannot read %s: %s", path,
				 strerror(errno));
			break;
		}
		crypto_hash_sha256_update(&st, buf, (size_t)n);
		/* Read once: its pages leave the cache at once rather than
		 * push out everyone else's (the daemon's database). */
		posix_fadvise(fd, (off_t)done, n, POSIX_FADV_DONTNEED);
		done += (uint64_t)n;
		if (io && io->progress)
			io->progress(io->ctx, VOLUME_STEP_HASH,
				     done < total ? done : total, total);
	}
	free(buf);
	close(fd);
	if (r < 0)
		return r;
	crypto_hash_sha256_final(&st, digest);
	for (i = 0; i < (int)sizeof(digest) && (size_t)(2 * i + 2) < cap; i++)
		snprintf(msg + 2 * i, 3, "%02x", digest[i]);
	return 0;
}

static int run_op(const struct job_spec *spec, const struct volume_io *io,
		  uint32_t *aux, char *msg, size_t cap)
{
	enum volume_copy_how how = VOLUME_COPY_SPARSE;
	int r;

	msg[0] = '\0';
	*aux = 0;
	switch (spec->op) {
	case JOB_COPY:
		r = volume_copy_io(spec->src, spec->dst, &how, io, msg, cap);
		*aux = (uint32_t)how;
		return r;
	case JOB_MKE2FS:
		return volume_private_create_io(spec->dst, spec->size, io, msg,
						cap);
	case JOB_RESIZE:
		return volume_resize_io(spec->dst, spec->size, io, msg, cap);
	case JOB_HASH:
		return hash_file(spec->src, io, msg, cap);
	}
	snprintf(msg, cap, "unknown job");
	return -EINVAL;
}

void job_run_inline(const struct job_spec *spec, int *result, uint32_t *aux,
		    char *msg, size_t cap)
{
	*result = run_op(spec, NULL, aux, msg, cap);
}

/* A job is background work: its reads and writes of gigabytes go after
 * everyone else's (the idle I/O class: mq-deadline, BFQ and others serve
 * it when no other request waits, and age it so that it is never
 * starved for long), its hashing after other processes on the CPU. So
 * the daemon's own reads (its database, evicted from the page cache by
 * the copy) do not wait behind a copy. Best effort: a kernel without I/O
 * classes runs the job as it is. */
static void below_the_loop(void)
{
	(void)setpriority(PRIO_PROCESS, 0, JOB_NICE);
	(void)syscall(SYS_ioprio_set, IOPRIO_WHO_PROCESS, 0,
		      IOPRIO_CLASS_IDLE << IOPRIO_CLASS_SHIFT);
}

static __attribute__((noreturn)) void child_main(int wfd, pid_t parent,
						 const struct job_spec *spec,
						 const char *tmp,
						 const char *lock_path)
{
	struct child c = { .fd = 3 };
	struct volume_io io = {
		.tmp = tmp[0] ? tmp : NULL,
		.no_reflink = job_throttle_mib_s > 0,
		.progress = child_progress,
		.ctx = &c,
	};
	struct job_rec r;
	sigset_t none;
	int fd, lk;

	/* A group of its own, so that a cancel kills the tool it runs
	 * too; it dies with the process that forked it (the daemon). */
	setpgid(0, 0);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	signal(SIGCHLD, SIG_DFL);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(1);
	/* Nothing of the forking process's (the daemon's clients, QEMUs'
	 * channels, the admin socket, the store) stays open here: fd 3 is
	 * the pipe. */
	if (wfd != 3 && (dup2(wfd, 3) < 0 || close(wfd) < 0))
		_exit(1);
	fcntl(3, F_SETFD, FD_CLOEXEC);
	close_range(4, ~0u, 0);
	fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (fd >= 0 && fd != 0) {
		dup2(fd, 0);
		close(fd);
	}
	/* Held for the child's life: a restarted daemon waits for it to be
	 * gone before it removes temporaries (job_wait_stale). */
	lk = open(lock_path, O_RDONLY | O_CREAT | O_CLOEXEC, 0600);
	if (lk >= 0)
		flock(lk, LOCK_SH);
	below_the_loop();
	bh_crash_point_in_child();
	memset(&r, 0, sizeof(r));
	r.magic = JOB_REC_MAGIC;
	r.type = JOB_REC_DONE;
	r.step = spec->op == JOB_HASH     ? VOLUME_STEP_HASH
		 : spec->op == JOB_MKE2FS ? VOLUME_STEP_MKE2FS
					  : VOLUME_STEP_COPY;
	r.result = run_op(spec, &io, &r.aux, r.msg, sizeof(r.msg));
	r.msg[sizeof(r.msg) - 1] = '\0';
	if (r.result > 0 || r.result < -4095)
		r.result = -EIO;
	child_send(3, &r);
	_exit(0);
}

pid_t job_child_spawn(const struct job_spec *spec, const char *tmp,
		      const char *lock_path, int *read_fd, char *err,
		      size_t cap)
{
	/* The child checks that this process is still its parent once it
	 * has asked to die with it: so this process's pid, taken here. */
	pid_t self = getpid(), pid;
	int p[2], r;

	if (pipe2(p, O_CLOEXEC) < 0) {
		r = -errno;
		snprintf(err, cap, "cannot make a pipe: %s", strerror(-r));
		return r;
	}
	pid = fork();
	if (pid < 0) {
		r = -errno;
		snprintf(err, cap, "cannot fork: %s", strerror(-r));
		close(p[0]);
		close(p[1]);
		return r;
	}
	if (pid == 0) {
		close(p[0]);
		child_main(p[1], self, spec, tmp ? tmp : "", lock_path);
	}
	/* Both sides set the group, so a kill of it right now finds it. */
	setpgid(pid, pid);
	close(p[1]);
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	*read_fd = p[0];
	return pid;
}

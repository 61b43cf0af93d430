/* Jobs (daemon/jobs/job.h): the progress records' parser, and real children
 * run through the same calls the daemon's loop makes (job_input on the
 * pipe, job_reaped after waitpid): a copy that reports progress and ends
 * with its result, and a cancel that leaves no temporary. No sleeps: the
 * test blocks on poll and waitpid. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon/core/daemon.h"
#include "daemon/disk/guest_files.h"
#include "daemon/jobs/job.h"
#include "daemon/disk/volume.h"
#include "lib/util.h"

static struct job_rec good(void)
{
	struct job_rec r;

	memset(&r, 0, sizeof(r));
	r.magic = JOB_REC_MAGIC;
	r.type = JOB_REC_PROGRESS;
	r.step = VOLUME_STEP_COPY;
	r.done = 5;
	r.total = 10;
	return r;
}

static void test_parse_good(void **state)
{
	struct job_rec r = good(), out;

	(void)state;
	assert_int_equal(job_rec_parse(&r, sizeof(r), &out), 0);
	assert_int_equal(out.done, 5);
	r.type = JOB_REC_DONE;
	r.result = -ENOSPC;
	snprintf(r.msg, sizeof(r.msg), "no space");
	assert_int_equal(job_rec_parse(&r, sizeof(r), &out), 0);
	assert_int_equal(out.result, -ENOSPC);
	assert_string_equal(out.msg, "no space");
}

static void test_parse_bad(void **state)
{
	unsigned char big[sizeof(struct job_rec) + 1];
	struct job_rec r, out;

	(void)state;
	r = good();
	assert_int_equal(job_rec_parse(&r, sizeof(r) - 1, &out), -EBADMSG);
	memset(big, 0, sizeof(big));
	memcpy(big, &r, sizeof(r));
	assert_int_equal(job_rec_parse(big, sizeof(big), &out), -EBADMSG);
	assert_int_equal(job_rec_parse(&r, 0, &out), -EBADMSG);
	r = good();
	r.magic ^= 1;
	assert_int_equal(job_rec_parse(&r, sizeof(r), &out), -EBADMSG);
	r = good();
	r.type = 3;
	assert_int_equal(job_rec_parse(&r, sizeof(r), &out), -EBADMSG);
	r = good();
	r.step = 0;
	assert_int_equal(job_rec_parse(&r, sizeof(r), &out), -EBADMSG);
	r.step = VOLUME_STEP_HASH + 1;
	assert_int_equal(job_rec_parse(&r, sizeof(r), &out), -EBADMSG);
	r = good();
	r.done = 11;
	assert_int_equal(job_rec_parse(&r, sizeof(r), &out), -EBADMSG);
	r = good();
	r.result = 1;
	assert_int_equal(job_rec_parse(&r, sizeof(r), &out), -EBADMSG);
	r.result = -100000;
	assert_int_equal(job_rec_parse(&r, sizeof(r), &out), -EBADMSG);
	r = good();
	memset(r.msg, 'x', sizeof(r.msg)); /* no NUL */
	assert_int_equal(job_rec_parse(&r, sizeof(r), &out), -EBADMSG);
}

struct fixture {
	char dir[64];
	struct daemon d;
	int calls, result;
	uint32_t aux;
	char msg[JOB_MSG_MAX];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/bh-test-job.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->d.paths.run, sizeof(f->d.paths.run), "%s", f->dir);
	/* No root parent here: the jobs' processes are forked by the
	 * test, as control forks those the parent does not take. */
	f->d.priv.fd = -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	bh_rm_rf(f->dir);
	free(f);
	job_throttle_mib_s = 0;
	return 0;
}

static void done_cb(void *ctx, const struct job_result *res)
{
	struct fixture *f = ctx;

	f->calls++;
	f->result = res->result;
	f->aux = res->aux;
	snprintf(f->msg, sizeof(f->msg), "%s", res->msg);
}

/* The loop's part: reads records until the pipe's EOF, then reaps. */
static void run_to_end(struct fixture *f, struct job *j)
{
	pid_t pid = j->pid;
	int st;

	while (j->fd >= 0) {
		struct pollfd p = { j->fd, POLLIN, 0 };

		assert_true(poll(&p, 1, -1) >= 0);
		job_input(j);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_int_equal(job_reaped(&f->d, pid, st), 1);
	assert_null(f->d.jobs);
}

static void write_file(const char *path, off_t at, size_t len)
{
	char *buf = malloc(len);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	size_t i;

	assert_non_null(buf);
	assert_true(fd >= 0);
	for (i = 0; i < len; i++)
		buf[i] = (char)(i * 7 + 3);
	assert_int_equal(pwrite(fd, buf, len, at), (ssize_t)len);
	close(fd);
	free(buf);
}

static int temporaries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)))
		n += strstr(e->d_name, ".tmp-") != NULL;
	closedir(d);
	return n;
}

static void test_copy_job(void **state)
{
	struct fixture *f = *state;
	struct job_spec spec;
	char err[256], cmd[2 * PATH_MAX + 16];
	struct job *j;

	memset(&spec, 0, sizeof(spec));
	spec.op = JOB_COPY;
	snprintf(spec.qube, sizeof(spec.qube), "q");
	snprintf(spec.src, sizeof(spec.src), "%s/src.img", f->dir);
	snprintf(spec.dst, sizeof(spec.dst), "%s/dst.img", f->dir);
	write_file(spec.src, 8 << 20, 3 << 20);
	j = job_start(&f->d, &spec, done_cb, f, err, sizeof(err));
	assert_non_null(j);
	assert_int_equal(j->id, 1);
	assert_ptr_equal(job_find(&f->d, 1), j);
	assert_ptr_equal(job_on_qube(&f->d, "q"), j);
	assert_null(job_on_qube(&f->d, "other"));
	run_to_end(f, j);
	assert_int_equal(f->calls, 1);
	assert_int_equal(f->result, 0);
	snprintf(cmd, sizeof(cmd), "cmp -s %s %s", spec.src, spec.dst);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(temporaries(f->dir), 0);

	/* A failure: its message comes back, nothing is left. */
	f->calls = 0;
	j = job_start(&f->d, &spec, done_cb, f, err, sizeof(err));
	assert_non_null(j);
	run_to_end(f, j);
	assert_int_equal(f->calls, 1);
	assert_int_equal(f->result, -EEXIST);
	assert_non_null(strstr(f->msg, "already exists"));
	assert_int_equal(temporaries(f->dir), 0);
}

static void test_hash_job(void **state)
{
	struct fixture *f = *state;
	struct job_spec spec;
	char err[256], want[65];
	struct job *j;

	memset(&spec, 0, sizeof(spec));
	spec.op = JOB_HASH;
	snprintf(spec.qube, sizeof(spec.qube), "t");
	snprintf(spec.src, sizeof(spec.src), "%s/root.img", f->dir);
	write_file(spec.src, 0, 3 << 20);
	j = job_start(&f->d, &spec, done_cb, f, err, sizeof(err));
	assert_non_null(j);
	run_to_end(f, j);
	assert_int_equal(f->result, 0);
	assert_int_equal(sha256_file_hex(spec.src, want), 0);
	assert_string_equal(f->msg, want);
}

/* A copy throttled to 1 MiB/s, cancelled after its first progress: the
 * callback says cancelled, and no temporary or destination is left. */
static void test_cancel_job(void **state)
{
	struct fixture *f = *state;
	struct job_spec spec;
	char err[256];
	struct job *j;
	pid_t pid;
	int st;

	memset(&spec, 0, sizeof(spec));
	spec.op = JOB_COPY;
	snprintf(spec.qube, sizeof(spec.qube), "q");
	snprintf(spec.src, sizeof(spec.src), "%s/big.img", f->dir);
	snprintf(spec.dst, sizeof(spec.dst), "%s/copy.img", f->dir);
	write_file(spec.src, 0, 64 << 20);
	job_throttle_mib_s = 1;
	j = job_start(&f->d, &spec, done_cb, f, err, sizeof(err));
	assert_non_null(j);
	pid = j->pid;
	while (j->done == 0) {
		struct pollfd p = { j->fd, POLLIN, 0 };

		assert_true(poll(&p, 1, -1) >= 0);
		job_input(j);
		assert_true(j->fd >= 0);
	}
	assert_int_equal(temporaries(f->dir), 1);
	job_cancel(j, "test");
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFSIGNALED(st));
	assert_int_equal(job_reaped(&f->d, pid, st), 1);
	assert_int_equal(f->calls, 1);
	assert_int_equal(f->result, -ECANCELED);
	assert_string_equal(f->msg, "test");
	assert_int_equal(temporaries(f->dir), 0);
	assert_int_equal(access(spec.dst, F_OK), -1);
	assert_int_equal(job_reaped(&f->d, pid, st), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_good),
		cmocka_unit_test(test_parse_bad),
		cmocka_unit_test_setup_teardown(test_copy_job, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hash_job, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cancel_job, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

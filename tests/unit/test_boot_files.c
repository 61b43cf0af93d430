/* The check of a start's guest files (daemon/disk/guest_files.h) and its
 * checksums computed in jobs (qube_boot_check_files, qube/qube_boot.h):
 * a changed file is named, not hashed, by the check; its job's digest
 * verifies it once per change; starts that need the same checksum share
 * one job; killing one of them leaves the job to the others, killing the
 * last ends it; a corrupt file fails every start that waited for it. Real
 * job children, driven as the daemon's loop drives them (job_input on the
 * pipe, job_reaped after waitpid). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "daemon/core/daemon.h"
#include "daemon/disk/guest_files.h"
#include "daemon/jobs/job.h"
#include "daemon/qube/qube_boot.h"
#include "daemon/qube/qube_vm.h"
#include "lib/util.h"

struct fx {
	char dir[64];
	char kernel[PATH_MAX], initramfs[PATH_MAX], root[PATH_MAX];
	struct daemon d;
	char err[2048];
};

/* One start's end, as its callback heard it. */
struct seen {
	int calls, r;
	char err[2048];
};

static void write_bytes(const char *path, char fill, size_t len)
{
	char *buf = malloc(len);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	assert_non_null(buf);
	assert_true(fd >= 0);
	memset(buf, fill, len);
	assert_int_equal(write(fd, buf, len), (ssize_t)len);
	close(fd);
	free(buf);
}

/* SHA256SUMS in dir for its file name, as the guest build writes it. */
static void write_sums(const char *dir, const char *name)
{
	char path[512], file[512], hex[65];
	FILE *f;

	snprintf(file, sizeof(file), "%s/%s", dir, name);
	assert_int_equal(sha256_file_hex(file, hex), 0);
	snprintf(path, sizeof(path), "%s/SHA256SUMS", dir);
	f = fopen(path, "a");
	assert_non_null(f);
	fprintf(f, "%s  %s\n", hex, name);
	fclose(f);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char k[256], t[256], link[256];

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/bh-test-bootfiles.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->d.paths.state, sizeof(f->d.paths.state), "%s", f->dir);
	/* No root parent here: the jobs' processes are forked by the
	 * test, as control forks those the parent does not take. */
	f->d.priv.fd = -1;
	snprintf(f->d.paths.run, sizeof(f->d.paths.run), "%s", f->dir);
	snprintf(k, sizeof(k), "%s/kernels/k1", f->dir);
	snprintf(t, sizeof(t), "%s/templates/minimal", f->dir);
	assert_int_equal(bh_mkdir_p(k, 0755), 0);
	assert_int_equal(bh_mkdir_p(t, 0755), 0);
	snprintf(link, sizeof(link), "%s/kernels/current", f->dir);
	assert_int_equal(symlink("k1", link), 0);
	snprintf(f->kernel, sizeof(f->kernel), "%s/vmlinuz", k);
	snprintf(f->initramfs, sizeof(f->initramfs), "%s/initramfs.img", k);
	snprintf(f->root, sizeof(f->root), "%s/root.img", t);
	write_bytes(f->kernel, 'k', 3 << 20);
	write_bytes(f->initramfs, 'i', 1 << 20);
	write_bytes(f->root, 'r', 2 << 20);
	write_sums(k, "vmlinuz");
	write_sums(k, "initramfs.img");
	write_sums(t, "root.img");
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	assert_null(f->d.jobs);
	bh_rm_rf(f->dir);
	free(f);
	return 0;
}

/* A later mtime: the same bytes, but a changed file for the check. */
static void touch_later(const char *path)
{
	struct timespec ts[2] = { { 0, UTIME_OMIT }, { 0, 0 } };

	assert_int_equal(clock_gettime(CLOCK_REALTIME, &ts[1]), 0);
	ts[1].tv_sec += 5;
	assert_int_equal(utimensat(AT_FDCWD, path, ts, 0), 0);
}

/* ---- guest_files: the check names the file, the caller hashes it ---- */

static int check(struct fx *f, struct guest_files *g,
		 struct guest_files_pending *p)
{
	return guest_files_check(g, f->dir, NULL, "minimal", p, f->err,
				 sizeof(f->err));
}

static void hash_into(struct fx *f, struct guest_files_pending *p)
{
	char hex[65];

	assert_int_equal(sha256_file_hex(p->f->path, hex), 0);
	assert_int_equal(guest_files_hashed(p, hex, f->err, sizeof(f->err)),
			 0);
}

static void test_check_names_then_caches(void **state)
{
	struct fx *f = *state;
	struct guest_files g;
	struct guest_files_pending p;

	memset(&g, 0, sizeof(g));
	assert_int_equal(check(f, &g, &p), 1);
	assert_string_equal(p.f->path, f->kernel);
	assert_string_equal(p.what, "guest kernel");
	hash_into(f, &p);
	assert_int_equal(check(f, &g, &p), 1);
	assert_string_equal(p.f->path, f->initramfs);
	hash_into(f, &p);
	assert_int_equal(check(f, &g, &p), 1);
	assert_string_equal(p.f->path, f->root);
	hash_into(f, &p);
	/* Once per change: nothing to compute now. */
	assert_int_equal(check(f, &g, &p), 0);
	assert_int_equal(check(f, &g, &p), 0);
	assert_string_equal(g.kernel_version, "k1");
	/* A changed file (a new mtime) is named again, and only it. */
	touch_later(f->initramfs);
	assert_int_equal(check(f, &g, &p), 1);
	assert_string_equal(p.f->path, f->initramfs);
	hash_into(f, &p);
	assert_int_equal(check(f, &g, &p), 0);
}

static void test_check_corrupt_and_missing(void **state)
{
	struct fx *f = *state;
	struct guest_files g;
	struct guest_files_pending p;
	char hex[65], sums[256];
	int fd;

	memset(&g, 0, sizeof(g));
	assert_int_equal(check(f, &g, &p), 1);
	/* One byte flipped: the digest differs, the message says what to
	 * do, and nothing is taken as verified. */
	fd = open(f->kernel, O_WRONLY);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, "X", 1, 4096), 1);
	close(fd);
	assert_int_equal(sha256_file_hex(f->kernel, hex), 0);
	assert_int_equal(guest_files_hashed(&p, hex, f->err, sizeof(f->err)),
			 -EBADMSG);
	assert_non_null(strstr(f->err, "guest kernel"));
	assert_non_null(strstr(f->err, "is corrupt"));
	assert_non_null(strstr(f->err, "bh-build-guest --force"));
	assert_int_equal(check(f, &g, &p), 1);
	/* The right digest of a file that changed while it was read counts
	 * for nothing: the next check asks again. */
	write_bytes(f->kernel, 'k', 3 << 20);
	assert_int_equal(check(f, &g, &p), 1);
	touch_later(f->kernel);
	assert_int_equal(sha256_file_hex(f->kernel, hex), 0);
	assert_int_equal(guest_files_hashed(&p, hex, f->err, sizeof(f->err)),
			 0);
	assert_int_equal(check(f, &g, &p), 1);
	assert_string_equal(p.f->path, f->kernel);
	/* No checksum recorded, or no file. */
	snprintf(sums, sizeof(sums), "%s/templates/minimal/SHA256SUMS",
		 f->dir);
	assert_int_equal(unlink(sums), 0);
	hash_into(f, &p);
	assert_int_equal(check(f, &g, &p), 1);
	hash_into(f, &p);
	assert_int_equal(check(f, &g, &p), -EBADMSG);
	assert_non_null(strstr(f->err, "no checksum for"));
	assert_int_equal(unlink(f->root), 0);
	assert_int_equal(check(f, &g, &p), -ENOENT);
	assert_non_null(strstr(f->err, "bh-build-guest"));
}

/* ---- qube_boot_check_files: the checksums in shared jobs ---- */

static void seen_cb(void *ctx, int r, const char *err)
{
	struct seen *s = ctx;

	s->calls++;
	s->r = r;
	snprintf(s->err, sizeof(s->err), "%s", err);
}

static struct qube_vm *new_qube(const char *name)
{
	struct qube_vm *dv = calloc(1, sizeof(*dv));

	assert_non_null(dv);
	snprintf(dv->name, sizeof(dv->name), "%s", name);
	return dv;
}

static void drop_qubes(struct fx *f)
{
	struct qube_vm *dv;

	while ((dv = f->d.qubes)) {
		f->d.qubes = dv->next;
		free(dv);
	}
}

static int job_count(struct fx *f)
{
	struct job *j;
	int n = 0;

	for (j = f->d.jobs; j; j = j->next)
		n++;
	return n;
}

/* The loop's part, until no job is left: each child reaped as it ends
 * (job_reaped reads what its pipe holds: a hash of a few MiB writes a
 * few records, far less than a pipe takes), whose callback may start
 * the next. Returns how many ran. */
static int run_jobs(struct fx *f)
{
	int n = 0, st;
	pid_t pid;

	while (f->d.jobs) {
		pid = waitpid(-1, &st, 0);
		assert_true(pid > 0);
		assert_int_equal(job_reaped(&f->d, pid, st), 1);
		n++;
	}
	return n;
}

static int start_check(struct fx *f, struct qube_vm *dv, struct seen *s)
{
	return qube_boot_check_files(&f->d, dv, "", "minimal", seen_cb, s,
				     f->err, sizeof(f->err));
}

static void test_jobs_shared_once_per_change(void **state)
{
	struct fx *f = *state;
	struct qube_vm *a = new_qube("a"), *b = new_qube("b");
	struct qube_vm *c = new_qube("c");
	struct seen sa = { 0 }, sb = { 0 }, sc = { 0 };

	assert_int_equal(start_check(f, a, &sa), 1);
	assert_int_equal(start_check(f, b, &sb), 1);
	/* One job for both, and both wait for it as starting qubes. */
	assert_int_equal(job_count(f), 1);
	assert_int_equal(f->d.jobs->spec.op, JOB_HASH);
	assert_string_equal(f->d.jobs->spec.src, f->kernel);
	assert_ptr_equal(a->prep_job, f->d.jobs);
	assert_ptr_equal(b->prep_job, f->d.jobs);
	assert_true(a->linked && b->linked);
	assert_int_equal(a->state, DV_BOOTING);
	assert_true(qube_vm_live(a));
	assert_int_equal(sa.calls + sb.calls, 0);
	/* kernel, initramfs, root: three jobs, one after the other. */
	assert_int_equal(run_jobs(f), 3);
	assert_int_equal(sa.calls, 1);
	assert_int_equal(sa.r, 0);
	assert_int_equal(sb.calls, 1);
	assert_int_equal(sb.r, 0);
	assert_null(a->prep_job);
	assert_null(b->prep_job);
	assert_true(f->d.guest.kernel.ok && f->d.guest.initramfs.ok &&
		    f->d.guest.root.ok);
	/* The daemon's record is verified now: the next start waits for
	 * nothing, and its callback is never called. */
	assert_int_equal(start_check(f, c, &sc), 0);
	assert_int_equal(job_count(f), 0);
	assert_int_equal(sc.calls, 0);
	/* A changed root: one job again, for it alone. */
	touch_later(f->root);
	assert_int_equal(start_check(f, c, &sc), 1);
	assert_string_equal(f->d.jobs->spec.src, f->root);
	assert_int_equal(run_jobs(f), 1);
	assert_int_equal(sc.calls, 1);
	assert_int_equal(sc.r, 0);
	drop_qubes(f); /* c too: it waited */
}

static void test_jobs_kill_one_then_last(void **state)
{
	struct fx *f = *state;
	struct qube_vm *a = new_qube("a"), *b = new_qube("b");
	struct seen sa = { 0 }, sb = { 0 };

	assert_int_equal(start_check(f, a, &sa), 1);
	assert_int_equal(start_check(f, b, &sb), 1);
	/* a killed: the job goes on for b; a hears it was stopped. */
	qube_vm_kill(a);
	qube_vm_kill(a); /* lets go once only */
	assert_int_equal(f->d.jobs->cancelled, 0);
	assert_int_equal(f->d.jobs->holders, 1);
	assert_int_equal(run_jobs(f), 3);
	assert_int_equal(sa.calls, 1);
	assert_int_equal(sa.r, -ECANCELED);
	assert_string_equal(sa.err, "the qube was stopped before QEMU started");
	assert_int_equal(sb.calls, 1);
	assert_int_equal(sb.r, 0);
	drop_qubes(f);

	/* The last one that waits, killed: the job itself ends. */
	memset(&f->d.guest, 0, sizeof(f->d.guest));
	a = new_qube("a");
	memset(&sa, 0, sizeof(sa));
	assert_int_equal(start_check(f, a, &sa), 1);
	qube_vm_kill(a);
	assert_int_equal(f->d.jobs->cancelled, 1);
	assert_int_equal(run_jobs(f), 1);
	assert_int_equal(sa.calls, 1);
	assert_int_equal(sa.r, -ECANCELED);
	assert_false(f->d.guest.kernel.ok);
	drop_qubes(f);
}

static void test_jobs_corrupt_fails_all(void **state)
{
	struct fx *f = *state;
	struct qube_vm *a = new_qube("a"), *b = new_qube("b");
	struct seen sa = { 0 }, sb = { 0 };
	int fd = open(f->initramfs, O_WRONLY);

	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, "X", 1, 100), 1);
	close(fd);
	assert_int_equal(start_check(f, a, &sa), 1);
	assert_int_equal(start_check(f, b, &sb), 1);
	assert_int_equal(run_jobs(f), 2); /* kernel, then initramfs */
	assert_int_equal(sa.r, -EBADMSG);
	assert_int_equal(sb.r, -EBADMSG);
	assert_non_null(strstr(sa.err, "guest initramfs"));
	assert_non_null(strstr(sb.err, "is corrupt"));
	assert_false(f->d.guest.initramfs.ok);
	drop_qubes(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_check_names_then_caches,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_check_corrupt_and_missing,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_jobs_shared_once_per_change, setup, teardown),
		cmocka_unit_test_setup_teardown(test_jobs_kill_one_then_last,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_jobs_corrupt_fails_all,
						setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

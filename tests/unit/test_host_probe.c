/* Unit tests of the host probes behind admin.host.Info
 * (src/daemon/engine/host_probe.c): cpuinfo and meminfo parsing on files of our
 * own, and `QEMU --version` run on fake QEMUs that answer, fail, or hang
 * (killed and reaped at the timeout). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon/engine/host_probe.h"
#include "lib/util.h"

struct fx {
	char dir[64];
	char path[PATH_MAX];
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	strcpy(f->dir, "/tmp/bh-test-probe.XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	bh_rm_rf(f->dir);
	free(f);
	return 0;
}

/* Writes f->dir/name with text and mode; its path is in f->path. */
static const char *put(struct fx *f, const char *name, const char *text,
		       mode_t mode)
{
	FILE *o;

	snprintf(f->path, sizeof(f->path), "%s/%s", f->dir, name);
	o = fopen(f->path, "w");
	assert_non_null(o);
	fputs(text, o);
	assert_int_equal(fclose(o), 0);
	assert_int_equal(chmod(f->path, mode), 0);
	return f->path;
}

static void test_cpuinfo(void **state)
{
	struct fx *f = *state;
	struct host_cpu c;

	assert_int_equal(host_cpu_read(put(f, "a", "processor\t: 0\n"
						   "model name\t: Some CPU @ 2GHz\n"
						   "flags\t\t: fpu vme svm sse\n"
						   "\nprocessor\t: 1\n"
						   "model name\t: Other\n",
					   0644),
				       &c),
			 0);
	assert_string_equal(c.model, "Some CPU @ 2GHz");
	assert_string_equal(c.virt, "svm");
	/* "vmxx" is not vmx; flags at the end of the line count. */
	host_cpu_read(put(f, "b", "flags\t: vmxx a vmx\nmodel name\t: M\n",
			  0644),
		      &c);
	assert_string_equal(c.virt, "vmx");
	assert_string_equal(c.model, "M");
	host_cpu_read(put(f, "c", "flags\t: fpu vmxx\n", 0644), &c);
	assert_string_equal(c.virt, "none");
	assert_string_equal(c.model, "unknown");
	assert_int_equal(host_cpu_read("/nonexistent/cpuinfo", &c), -ENOENT);
	assert_string_equal(c.virt, "none");
}

static void test_meminfo(void **state)
{
	struct fx *f = *state;
	long t, a;

	assert_int_equal(host_meminfo_read(put(f, "m", "MemTotal:  2097152 kB\n"
						       "MemFree:  10 kB\n"
						       "MemAvailable:  1048576 kB\n",
					       0644),
					   &t, &a),
			 0);
	assert_int_equal(t, 2048);
	assert_int_equal(a, 1024);
	host_meminfo_read(put(f, "n", "MemTotal: 1024 kB\n", 0644), &t, &a);
	assert_int_equal(t, 1);
	assert_int_equal(a, -1);
}

static void test_qemu_version(void **state)
{
	struct fx *f = *state;
	char out[128];

	assert_int_equal(host_qemu_version(put(f, "q",
					       "#!/bin/sh\n"
					       "[ \"$1\" = --version ] || exit 9\n"
					       "printf 'QEMU emulator version 9.9\\t(x)\\n"
					       "Copyright\\n'\n",
					       0755),
					   5000, out, sizeof(out)),
			 0);
	assert_string_equal(out, "QEMU emulator version 9.9?(x)");
	assert_int_equal(host_qemu_version(put(f, "fail", "#!/bin/sh\nexit 3\n",
					       0755),
					   5000, out, sizeof(out)),
			 -EIO);
	assert_non_null(strstr(out, "exited 3"));
	assert_int_equal(host_qemu_version(put(f, "noexec", "", 0644), 5000,
					   out, sizeof(out)),
			 -EACCES);
	assert_non_null(strstr(out, "cannot run it"));
}

/* A QEMU that never answers is killed at the timeout and reaped: no
 * child is left behind. */
static void test_qemu_version_timeout(void **state)
{
	struct fx *f = *state;
	int64_t t0 = bh_now_ms();
	char out[128];

	assert_int_equal(host_qemu_version(put(f, "hang",
					       "#!/bin/sh\nexec sleep 30\n",
					       0755),
					   300, out, sizeof(out)),
			 -ETIMEDOUT);
	assert_true(bh_now_ms() - t0 < 5000);
	assert_non_null(strstr(out, "killed"));
	assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
	assert_int_equal(errno, ECHILD);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(test_cpuinfo),
		T(test_meminfo),
		T(test_qemu_version),
		T(test_qemu_version_timeout),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

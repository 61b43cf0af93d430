/* cgroup.c without a kernel: the limits a qube's memory and vCPUs imply,
 * the daemon's group name per state root, finding cgroup2 in mountinfo,
 * and cgroups_init on a folder standing in for a cgroup2 mount (plain
 * files; the real file system is exercised by tests/jail/test-jail.sh
 * and tests/vm/run-vm-tests.sh). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/cgroup.h"
#include "lib/util.h"

static void test_limits(void **state)
{
	(void)state;
	assert_int_equal(cgroup_memory_max(400), (400ull + 256) << 20);
	assert_int_equal(cgroup_memory_max(256), 512ull << 20);
	assert_true(cgroup_memory_max(400) != cgroup_memory_max(256));
	assert_int_equal(cgroup_pids_max(1), 81);
	assert_int_equal(cgroup_pids_max(2), 82);
}

static void test_group_name(void **state)
{
	char a[64], b[64], c[64];

	(void)state;
	cgroup_group_name("/", a, sizeof(a));
	assert_string_equal(a, "bulkhead");
	cgroup_group_name("", a, sizeof(a));
	assert_string_equal(a, "bulkhead");
	cgroup_group_name("/tmp/bh-vm-main.x1", a, sizeof(a));
	cgroup_group_name("/tmp/bh-vm-main.x2", b, sizeof(b));
	cgroup_group_name("/tmp/bh-vm-main.x1", c, sizeof(c));
	assert_int_equal(strlen(a), strlen("bulkhead-") + 16);
	assert_memory_equal(a, "bulkhead-", 9);
	assert_string_not_equal(a, b);
	assert_string_equal(a, c);
}

static int from_text(const char *text, char *out, size_t cap)
{
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	int r;

	assert_non_null(f);
	r = cgroup2_from_mountinfo(f, out, cap);
	fclose(f);
	return r;
}

static void test_mountinfo(void **state)
{
	/* Our hosts: v1 hierarchies under a tmpfs, cgroup2 at unified. */
	static const char hybrid[] =
		"31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw\n"
		"35 31 0:32 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n"
		"41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 "
		"cgroup2 rw\n";
	static const char spaced[] =
		"40 23 0:38 / /mnt/my\\040cg rw shared:9 - cgroup2 none rw\n";
	static const char none[] =
		"35 31 0:32 / /sys/fs/cgroup/memory rw - cgroup cgroup rw\n"
		"36 31 0:33 / /cgroup2-lookalike rw - tmpfs cgroup2 rw\n";
	char out[256];

	(void)state;
	assert_int_equal(from_text(hybrid, out, sizeof(out)), 0);
	assert_string_equal(out, "/sys/fs/cgroup/unified");
	assert_int_equal(from_text(spaced, out, sizeof(out)), 0);
	assert_string_equal(out, "/mnt/my cg");
	assert_int_equal(from_text(none, out, sizeof(out)), -ENOENT);
	assert_int_equal(from_text(hybrid, out, 10), -ENOENT);
}

static void put(const char *dir, const char *file, const char *text)
{
	char p[4096];
	int fd;

	snprintf(p, sizeof(p), "%s/%s", dir, file);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(bh_write_all(fd, text, strlen(text)), 0);
	close(fd);
}

static char *get(const char *dir, const char *file)
{
	char p[4096], *buf = NULL;
	size_t len;

	snprintf(p, sizeof(p), "%s/%s", dir, file);
	assert_int_equal(bh_read_file(p, 4096, &buf, &len), 0);
	return buf;
}

/* Without memory or pids in cgroup.controllers (bound to cgroup v1, as
 * on our hosts), limits are off with a reason, and nothing is made. */
static void test_init_without_controllers(void **state)
{
	char fs[] = "/tmp/bh-test-cgroup.XXXXXX", p[4200];
	struct cgroups cg;

	(void)state;
	assert_non_null(mkdtemp(fs));
	put(fs, "cgroup.controllers", "cpu io hugetlb\n");
	put(fs, "cgroup.subtree_control", "");
	cgroups_init(&cg, "/", fs);
	assert_int_equal(cg.on, 0);
	assert_non_null(strstr(cg.why, "no memory or no pids controller"));
	snprintf(p, sizeof(p), "%s/bulkhead", fs);
	assert_int_equal(access(p, F_OK), -1);
	assert_int_equal(cgroup_qube_create(&cg, "work", 400, 1, p, 100),
			 -ENOTSUP);
	assert_int_equal(cgroup_qube_remove(&cg, "work"), 0);
	bh_rm_rf(fs);
}

/* With them: the controllers are enabled in the mount's root and in the
 * daemon's group, which is made. */
static void test_init_enables_controllers(void **state)
{
	char fs[] = "/tmp/bh-test-cgroup.XXXXXX", grp[4200], *s;
	struct cgroups cg;

	(void)state;
	assert_non_null(mkdtemp(fs));
	put(fs, "cgroup.controllers", "cpuset cpu io memory hugetlb pids\n");
	put(fs, "cgroup.subtree_control", "");
	/* The group exists already (as the kernel would fill it). */
	snprintf(grp, sizeof(grp), "%s/bulkhead", fs);
	assert_int_equal(mkdir(grp, 0755), 0);
	put(grp, "cgroup.subtree_control", "");
	put(grp, "memory.swap.max", "max\n");
	cgroups_init(&cg, "/", fs);
	assert_int_equal(cg.on, 1);
	assert_string_equal(cg.dir, grp);
	assert_int_equal(cg.swap, 1);
	s = get(fs, "cgroup.subtree_control");
	assert_string_equal(s, "+memory +pids");
	free(s);
	s = get(grp, "cgroup.subtree_control");
	assert_string_equal(s, "+memory +pids");
	free(s);
	bh_rm_rf(fs);
}

/* A qube name that would escape the daemon's group is refused. */
static void test_qube_names(void **state)
{
	struct cgroups cg = { .on = 1, .dir = "/nonexistent/bulkhead" };
	char err[256];

	(void)state;
	assert_int_equal(cgroup_qube_create(&cg, "../x", 400, 1, err,
					    sizeof(err)),
			 -EINVAL);
	assert_int_equal(cgroup_qube_create(&cg, "", 400, 1, err,
					    sizeof(err)),
			 -EINVAL);
	assert_int_equal(cgroup_qube_remove(&cg, ".."), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_group_name),
		cmocka_unit_test(test_mountinfo),
		cmocka_unit_test(test_init_without_controllers),
		cmocka_unit_test(test_init_enables_controllers),
		cmocka_unit_test(test_qube_names),
	};

	return cmocka_run_group_tests_name("cgroup", tests, NULL, NULL);
}

/* cgroup.c without a kernel: the limits a qube's memory and vCPUs imply,
 * the daemon's group name per state root, finding cgroup2 in mountinfo,
 * cgroups_init on a folder standing in for a cgroup2 mount, and the
 * cgroup v1 fallback: the daemon's own group in each hierarchy from
 * mountinfo and /proc/self/cgroup texts, the order of the memory limit
 * writes, and cgroups_init_v1 with qube groups on folders standing in for
 * the memory and pids hierarchies (plain files; the real file systems
 * are exercised by tests/jail/test-jail.sh and tests/vm/run-vm-tests.sh). */
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

#include "daemon/engine/cgroup.h"
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
	int fds[CGROUP_DIRS_MAX];

	(void)state;
	assert_non_null(mkdtemp(fs));
	put(fs, "cgroup.controllers", "cpu io hugetlb\n");
	put(fs, "cgroup.subtree_control", "");
	cgroups_init(&cg, "/", fs);
	assert_int_equal(cg.on, 0);
	assert_non_null(strstr(cg.why, "no memory or no pids controller"));
	snprintf(p, sizeof(p), "%s/bulkhead", fs);
	assert_int_equal(access(p, F_OK), -1);
	assert_int_equal(cgroup_qube_create(&cg, "work", 400, 1, fds, p, 100),
			 -ENOTSUP);
	assert_int_equal(fds[0], -1);
	assert_int_equal(fds[1], -1);
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
	assert_int_equal(cg.mode, CGROUP_V2);
	assert_int_equal(cg.ndirs, 1);
	assert_string_equal(cg.dir[0], grp);
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
	struct cgroups cg = { .on = 1, .mode = CGROUP_V1, .ndirs = 2,
			      .dir = { "/nonexistent/m/bulkhead",
				       "/nonexistent/p/bulkhead" } };
	char err[256];
	int fds[CGROUP_DIRS_MAX];

	(void)state;
	assert_int_equal(cgroup_qube_create(&cg, "../x", 400, 1, fds, err,
					    sizeof(err)),
			 -EINVAL);
	assert_int_equal(cgroup_qube_create(&cg, "", 400, 1, fds, err,
					    sizeof(err)),
			 -EINVAL);
	assert_int_equal(cgroup_qube_remove(&cg, ".."), -EINVAL);
}

/* cgroup1_own_dir on texts. */
static int own_dir(const char *mountinfo, const char *self, const char *ctl,
		   char *out, size_t cap)
{
	FILE *m = fmemopen((void *)mountinfo, strlen(mountinfo), "r");
	FILE *c = fmemopen((void *)self, strlen(self), "r");
	int r;

	assert_non_null(m);
	assert_non_null(c);
	r = cgroup1_own_dir(m, c, ctl, out, cap);
	fclose(m);
	fclose(c);
	return r;
}

/* Our hosts' layout: v1 hierarchies under a tmpfs (memory and pids
 * among them), an empty cgroup2 beside them, the daemon in a nested
 * memory group and the pids root. */
static const char host_mountinfo[] =
	"31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
	"32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
	"33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup "
	"rw,cpuacct\n"
	"35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup "
	"rw,memory\n"
	"39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup "
	"rw,pids\n"
	"40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup "
	"rw,name=systemd\n"
	"41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 "
	"rw\n";
static const char host_self[] =
	"9:name=systemd:/\n"
	"8:pids:/\n"
	"4:memory:/process_api/28f1c3eda75f07492c4680b1bbc2283d\n"
	"2:cpuacct:/\n"
	"1:cpu:/\n"
	"0::/\n";

static void test_v1_own_dir(void **state)
{
	/* A container's view: the memory hierarchy bound from the group
	 * the container sits in, and the cpu,cpuacct pair mounted as one. */
	static const char bound[] =
		"50 40 0:32 /lxc/c1 /sys/fs/cgroup/memory rw - cgroup cgroup "
		"rw,memory\n"
		"51 40 0:40 / /mnt/p\\040ids rw shared:3 - cgroup none "
		"rw,pids,cpu\n";
	static const char bound_self[] = "6:pids,cpu:/a\n"
					 "4:memory:/lxc/c1/daemon\n";
	static const char outside_self[] = "6:pids,cpu:/\n"
					   "4:memory:/lxc/c10/daemon\n";
	/* A memory lookalike: "memory" must be a whole option. */
	static const char lookalike[] =
		"35 31 0:32 / /x rw - cgroup cgroup rw,memoryx\n"
		"36 31 0:33 / /y rw - tmpfs memory rw,memory\n";
	char out[256];

	(void)state;
	assert_int_equal(own_dir(host_mountinfo, host_self, "memory", out,
				 sizeof(out)),
			 0);
	assert_string_equal(out, "/sys/fs/cgroup/memory/process_api/"
				 "28f1c3eda75f07492c4680b1bbc2283d");
	assert_int_equal(own_dir(host_mountinfo, host_self, "pids", out,
				 sizeof(out)),
			 0);
	assert_string_equal(out, "/sys/fs/cgroup/pids");
	/* No v1 hierarchy for it (cgroup2's "0::" line is not one). */
	assert_int_equal(own_dir(host_mountinfo, host_self, "blkio", out,
				 sizeof(out)),
			 -ENOENT);
	assert_int_equal(own_dir(host_mountinfo, "0::/\n", "memory", out,
				 sizeof(out)),
			 -ENOENT);
	/* A mount of a subgroup: the daemon's path less the mount's root;
	 * an escaped mount point; controllers mounted together. */
	assert_int_equal(own_dir(bound, bound_self, "memory", out,
				 sizeof(out)),
			 0);
	assert_string_equal(out, "/sys/fs/cgroup/memory/daemon");
	assert_int_equal(own_dir(bound, bound_self, "pids", out, sizeof(out)),
			 0);
	assert_string_equal(out, "/mnt/p ids/a");
	/* The daemon's group outside what the mount shows ("/lxc/c10" is
	 * not under "/lxc/c1"). */
	assert_int_equal(own_dir(bound, outside_self, "memory", out,
				 sizeof(out)),
			 -ENOENT);
	assert_int_equal(own_dir(lookalike, host_self, "memory", out,
				 sizeof(out)),
			 -ENOENT);
	assert_int_equal(own_dir(host_mountinfo, host_self, "memory", out,
				 20),
			 -ENAMETOOLONG);
}

/* With swap accounting, memsw is lifted before the limit is written
 * (memsw may never be below it, and a group taken over holds its old
 * limits), then set to the limit: memory + swap = memory. */
static void test_v1_memory_writes(void **state)
{
	struct cgroup_write w[3];

	(void)state;
	assert_int_equal(cgroup1_memory_writes(512ull << 20, 1, w), 3);
	assert_string_equal(w[0].file, "memory.memsw.limit_in_bytes");
	assert_string_equal(w[0].value, "-1");
	assert_string_equal(w[1].file, "memory.limit_in_bytes");
	assert_string_equal(w[1].value, "536870912");
	assert_string_equal(w[2].file, "memory.memsw.limit_in_bytes");
	assert_string_equal(w[2].value, "536870912");
	assert_int_equal(cgroup1_memory_writes(512ull << 20, 0, w), 1);
	assert_string_equal(w[0].file, "memory.limit_in_bytes");
	assert_string_equal(w[0].value, "536870912");
}

/* A folder standing in for the v1 hierarchies: FS/memory (the daemon in
 * FS/memory/process_api/ID) and FS/pids, and the mountinfo and
 * /proc/self/cgroup texts that show them, in FS/mountinfo, FS/self. */
static void fake_v1(const char *fs, const char *name, int swap)
{
	char p[4200];

	snprintf(p, sizeof(p), "%s/memory/process_api/ID/%s", fs, name);
	assert_int_equal(bh_mkdir_p(p, 0755), 0);
	put(p, "memory.limit_in_bytes", "9223372036854771712\n");
	if (swap)
		put(p, "memory.memsw.limit_in_bytes", "9223372036854771712\n");
	snprintf(p, sizeof(p), "%s/pids/%s", fs, name);
	assert_int_equal(bh_mkdir_p(p, 0755), 0);
	put(p, "pids.max", "max\n");
	snprintf(p, sizeof(p),
		 "31 23 0:28 / %s rw - tmpfs tmpfs rw\n"
		 "35 31 0:32 / %s/memory rw - cgroup cgroup rw,memory\n"
		 "39 31 0:36 / %s/pids rw - cgroup cgroup rw,pids\n"
		 "41 31 0:38 / %s/unified rw - cgroup2 cgroup2 rw\n",
		 fs, fs, fs, fs);
	put(fs, "mountinfo", p);
	put(fs, "self", "8:pids:/\n4:memory:/process_api/ID\n0::/\n");
}

/* A qube group as a killed daemon left it, with the files the kernel
 * would show (old limits in them, no process). */
static void leftover_qube(const char *grp, const char *limit, int swap)
{
	assert_int_equal(mkdir(grp, 0755), 0);
	put(grp, "cgroup.procs", "");
	if (limit) {
		put(grp, "memory.limit_in_bytes", limit);
		if (swap)
			put(grp, "memory.memsw.limit_in_bytes", limit);
	} else {
		put(grp, "pids.max", "max\n");
	}
}

static void test_init_v1(void **state)
{
	char fs[] = "/tmp/bh-test-cgroup.XXXXXX", mi[4200], self[4200];
	char mem[4200], pids[4200], q[4300], err[512], *s;
	struct cgroups cg;
	int fds[CGROUP_DIRS_MAX];

	(void)state;
	assert_non_null(mkdtemp(fs));
	fake_v1(fs, "bulkhead", 1);
	snprintf(mi, sizeof(mi), "%s/mountinfo", fs);
	snprintf(self, sizeof(self), "%s/self", fs);
	memset(&cg, 0, sizeof(cg));
	assert_int_equal(cgroups_init_v1(&cg, "/", mi, self), 0);
	snprintf(mem, sizeof(mem), "%s/memory/process_api/ID/bulkhead", fs);
	snprintf(pids, sizeof(pids), "%s/pids/bulkhead", fs);
	assert_int_equal(cg.on, 1);
	assert_int_equal(cg.mode, CGROUP_V1);
	assert_int_equal(cg.ndirs, 2);
	assert_int_equal(cg.swap, 1);
	assert_string_equal(cg.dir[0], mem);
	assert_string_equal(cg.dir[1], pids);

	/* Qube groups a killed daemon left, with smaller limits: taken over,
	 * each limit in its hierarchy, cgroup.procs of both opened. */
	snprintf(q, sizeof(q), "%s/qube-work", mem);
	leftover_qube(q, "67108864\n", 1);
	snprintf(q, sizeof(q), "%s/qube-work", pids);
	leftover_qube(q, NULL, 0);
	assert_int_equal(cgroup_qube_create(&cg, "work", 400, 2, fds, err,
					    sizeof(err)),
			 2);
	assert_true(fds[0] > 2 && fds[1] > 2 && fds[0] != fds[1]);
	close(fds[0]);
	close(fds[1]);
	snprintf(q, sizeof(q), "%s/qube-work", mem);
	s = get(q, "memory.limit_in_bytes");
	assert_string_equal(s, "687865856"); /* (400 + 256) MiB */
	free(s);
	s = get(q, "memory.memsw.limit_in_bytes");
	assert_string_equal(s, "687865856");
	free(s);
	assert_int_equal(access(strcat(q, "/memory.max"), F_OK), -1);
	snprintf(q, sizeof(q), "%s/qube-work", pids);
	s = get(q, "pids.max");
	assert_string_equal(s, "82");
	free(s);

	/* One holding a process is someone's: refused, nothing left open
	 * or made (the memory group made here is removed again). */
	snprintf(q, sizeof(q), "%s/qube-busy", pids);
	leftover_qube(q, NULL, 0);
	put(q, "cgroup.procs", "4242\n");
	assert_int_equal(cgroup_qube_create(&cg, "busy", 400, 2, fds, err,
					    sizeof(err)),
			 -EBUSY);
	assert_non_null(strstr(err, "holds processes"));
	assert_int_equal(fds[0], -1);
	assert_int_equal(fds[1], -1);
	snprintf(q, sizeof(q), "%s/qube-busy", mem);
	assert_int_equal(access(q, F_OK), -1);
	bh_rm_rf(fs);
}

/* Another state root gets groups of its own; without swap accounting no
 * memsw is written; memory and pids mounted together make one group. */
static void test_init_v1_variants(void **state)
{
	char fs[] = "/tmp/bh-test-cgroup.XXXXXX", mi[4200], self[4200];
	char name[64], p[4300], err[512], *s;
	struct cgroups cg;
	int fds[CGROUP_DIRS_MAX];

	(void)state;
	assert_non_null(mkdtemp(fs));
	cgroup_group_name("/tmp/other-root", name, sizeof(name));
	fake_v1(fs, name, 0);
	snprintf(mi, sizeof(mi), "%s/mountinfo", fs);
	snprintf(self, sizeof(self), "%s/self", fs);
	memset(&cg, 0, sizeof(cg));
	assert_int_equal(cgroups_init_v1(&cg, "/tmp/other-root", mi, self),
			 0);
	assert_int_equal(cg.swap, 0);
	snprintf(p, sizeof(p), "%s/pids/%s", fs, name);
	assert_string_equal(cg.dir[1], p);
	snprintf(p, sizeof(p), "%s/memory/process_api/ID/%s/qube-x", fs,
		 name);
	leftover_qube(p, "1\n", 0);
	snprintf(p, sizeof(p), "%s/pids/%s/qube-x", fs, name);
	leftover_qube(p, NULL, 0);
	assert_int_equal(cgroup_qube_create(&cg, "x", 100, 1, fds, err,
					    sizeof(err)),
			 2);
	close(fds[0]);
	close(fds[1]);
	snprintf(p, sizeof(p), "%s/memory/process_api/ID/%s/qube-x", fs,
		 name);
	s = get(p, "memory.limit_in_bytes");
	assert_string_equal(s, "373293056"); /* (100 + 256) MiB */
	free(s);
	assert_int_equal(access(strcat(p, "/memory.memsw.limit_in_bytes"),
				F_OK),
			 -1);
	bh_rm_rf(fs);

	/* memory and pids in one hierarchy: one group holds both limits. */
	assert_non_null(mkdtemp(strcpy(fs, "/tmp/bh-test-cgroup.XXXXXX")));
	snprintf(p, sizeof(p), "%s/mp/d/bulkhead", fs);
	assert_int_equal(bh_mkdir_p(p, 0755), 0);
	put(p, "memory.limit_in_bytes", "9223372036854771712\n");
	put(p, "pids.max", "max\n");
	snprintf(mi, sizeof(mi),
		 "35 31 0:32 / %s/mp rw - cgroup cgroup rw,pids,memory\n", fs);
	put(fs, "mountinfo", mi);
	put(fs, "self", "4:pids,memory:/d\n");
	snprintf(mi, sizeof(mi), "%s/mountinfo", fs);
	snprintf(self, sizeof(self), "%s/self", fs);
	memset(&cg, 0, sizeof(cg));
	assert_int_equal(cgroups_init_v1(&cg, "/", mi, self), 0);
	assert_int_equal(cg.ndirs, 1);
	assert_string_equal(cg.dir[0], p);
	strcat(p, "/qube-y");
	assert_int_equal(mkdir(p, 0755), 0);
	put(p, "cgroup.procs", "");
	put(p, "memory.limit_in_bytes", "1\n");
	put(p, "pids.max", "max\n");
	assert_int_equal(cgroup_qube_create(&cg, "y", 100, 3, fds, err,
					    sizeof(err)),
			 1);
	assert_true(fds[0] > 2);
	assert_int_equal(fds[1], -1);
	close(fds[0]);
	s = get(p, "memory.limit_in_bytes");
	assert_string_equal(s, "373293056");
	free(s);
	s = get(p, "pids.max");
	assert_string_equal(s, "83");
	free(s);
	bh_rm_rf(fs);
}

/* Without a pids hierarchy, or where the folder is no cgroup (no
 * memory.limit_in_bytes in the group made), v1 is off with a reason,
 * and no group is left behind. */
static void test_init_v1_refused(void **state)
{
	char fs[] = "/tmp/bh-test-cgroup.XXXXXX", mi[4200], self[4200];
	char p[4300];
	struct cgroups cg;

	(void)state;
	assert_non_null(mkdtemp(fs));
	snprintf(p, sizeof(p), "%s/memory/process_api/ID", fs);
	assert_int_equal(bh_mkdir_p(p, 0755), 0);
	snprintf(p, sizeof(p), "%s/pids", fs);
	assert_int_equal(bh_mkdir_p(p, 0755), 0);
	snprintf(mi, sizeof(mi),
		 "35 31 0:32 / %s/memory rw - cgroup cgroup rw,memory\n", fs);
	put(fs, "mountinfo", mi);
	put(fs, "self", "8:pids:/\n4:memory:/process_api/ID\n");
	snprintf(mi, sizeof(mi), "%s/mountinfo", fs);
	snprintf(self, sizeof(self), "%s/self", fs);
	memset(&cg, 0, sizeof(cg));
	assert_int_equal(cgroups_init_v1(&cg, "/", mi, self), -1);
	assert_int_equal(cg.on, 0);
	assert_non_null(strstr(cg.why, "no cgroup v1 pids hierarchy"));
	snprintf(p, sizeof(p), "%s/memory/process_api/ID/bulkhead", fs);
	assert_int_equal(access(p, F_OK), -1);

	/* Both mounted, but plain folders: the groups made are removed. */
	snprintf(p, sizeof(p),
		 "35 31 0:32 / %s/memory rw - cgroup cgroup rw,memory\n"
		 "39 31 0:36 / %s/pids rw - cgroup cgroup rw,pids\n",
		 fs, fs);
	put(fs, "mountinfo", p);
	memset(&cg, 0, sizeof(cg));
	assert_int_equal(cgroups_init_v1(&cg, "/", mi, self), -1);
	assert_int_equal(cg.on, 0);
	assert_non_null(strstr(cg.why, "not a cgroup v1 memory group"));
	snprintf(p, sizeof(p), "%s/memory/process_api/ID/bulkhead", fs);
	assert_int_equal(access(p, F_OK), -1);
	snprintf(p, sizeof(p), "%s/pids/bulkhead", fs);
	assert_int_equal(access(p, F_OK), -1);
	bh_rm_rf(fs);
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
		cmocka_unit_test(test_v1_own_dir),
		cmocka_unit_test(test_v1_memory_writes),
		cmocka_unit_test(test_init_v1),
		cmocka_unit_test(test_init_v1_variants),
		cmocka_unit_test(test_init_v1_refused),
	};

	return cmocka_run_group_tests_name("cgroup", tests, NULL, NULL);
}

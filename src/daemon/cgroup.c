/* cgroup v2 limits on each QEMU (see cgroup.h). */
#include "daemon/cgroup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/util.h"

#define CGROUP_DEFAULT_FS "/sys/fs/cgroup"
/* How long a killed leftover group may take to empty. */
#define CGROUP_KILL_WAIT_MS 5000

uint64_t cgroup_memory_max(unsigned memory_mb)
{
	return ((uint64_t)memory_mb + CGROUP_QEMU_OVERHEAD_MB) << 20;
}

unsigned cgroup_pids_max(unsigned vcpus)
{
	return CGROUP_PIDS_BASE + vcpus;
}

void cgroup_group_name(const char *root, char *out, size_t cap)
{
	uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */
	const char *c;

	if (!root || !root[0] || !strcmp(root, "/")) {
		snprintf(out, cap, "bulkhead");
		return;
	}
	for (c = root; *c; c++) {
		h ^= (unsigned char)*c;
		h *= 0x100000001b3ull;
	}
	snprintf(out, cap, "bulkhead-%016llx", (unsigned long long)h);
}

/* Mount points in mountinfo escape space, tab, newline and backslash as
 * \ooo (octal); undoes that in place. */
static void unescape_octal(char *s)
{
	char *w = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' &&
		    s[2] <= '7' && s[3] >= '0' && s[3] <= '7') {
			*w++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 +
				      (s[3] - '0'));
			s += 3;
		} else {
			*w++ = *s;
		}
	}
	*w = '\0';
}

int cgroup2_from_mountinfo(FILE *f, char *out, size_t cap)
{
	char line[4096];

	/* "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - FSTYPE
	 * SOURCE SUPEROPTIONS" */
	while (fgets(line, sizeof(line), f)) {
		char *save = NULL, *mnt = NULL, *tok, *dash;
		int i = 0;

		dash = strstr(line, " - ");
		if (!dash || strncmp(dash + 3, "cgroup2 ", 8) != 0)
			continue;
		*dash = '\0';
		for (tok = strtok_r(line, " ", &save); tok;
		     tok = strtok_r(NULL, " ", &save))
			if (i++ == 4) {
				mnt = tok;
				break;
			}
		if (!mnt || mnt[0] != '/')
			continue;
		unescape_octal(mnt);
		if (strlen(mnt) >= cap)
			continue;
		memcpy(out, mnt, strlen(mnt) + 1);
		return 0;
	}
	return -ENOENT;
}

static int is_cgroup2(const char *path)
{
	struct statfs s;

	return statfs(path, &s) == 0 && s.f_type == CGROUP2_SUPER_MAGIC;
}

static int dir_is_empty(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	int empty = 1;

	if (!d)
		return 0;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
			empty = 0;
			break;
		}
	closedir(d);
	return empty;
}

/* Where cgroup2 is, mounting it when nothing is there. Returns 0 or -1
 * with cg->why set. */
static int find_cgroup2(struct cgroups *cg, char *out, size_t cap)
{
	FILE *f;
	int r;

	if (is_cgroup2(CGROUP_DEFAULT_FS))
		return bh_path_fmt(out, cap, "%s", CGROUP_DEFAULT_FS);
	f = fopen("/proc/self/mountinfo", "re");
	if (f) {
		r = cgroup2_from_mountinfo(f, out, cap);
		fclose(f);
		if (r == 0 && is_cgroup2(out))
			return 0;
	}
	/* No cgroup2 anywhere. An empty /sys/fs/cgroup (no init mounted
	 * anything there) is where it belongs; anything else there is
	 * someone's, and is left alone. */
	if (!dir_is_empty(CGROUP_DEFAULT_FS)) {
		if (is_cgroup2(CGROUP_DEFAULT_FS)) /* mounted meanwhile */
			return bh_path_fmt(out, cap, "%s", CGROUP_DEFAULT_FS);
		snprintf(cg->why, sizeof(cg->why),
			 "no cgroup2 file system is mounted and %s is not an "
			 "empty folder to mount one on",
			 CGROUP_DEFAULT_FS);
		return -1;
	}
	if (mount("cgroup2", CGROUP_DEFAULT_FS, "cgroup2",
		  MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0) {
		/* Someone mounted it meanwhile (another bulkheadd, for
		 * another state root): that serves. */
		if (errno == EBUSY && is_cgroup2(CGROUP_DEFAULT_FS))
			return bh_path_fmt(out, cap, "%s", CGROUP_DEFAULT_FS);
		snprintf(cg->why, sizeof(cg->why),
			 "cannot mount cgroup2 on %s: %s", CGROUP_DEFAULT_FS,
			 strerror(errno));
		return -1;
	}
	LOG_INFO("cgroups: mounted cgroup2 on %s", CGROUP_DEFAULT_FS);
	return bh_path_fmt(out, cap, "%s", CGROUP_DEFAULT_FS);
}

/* Writes s into dir/file (an existing cgroup file). */
static int write_file(const char *dir, const char *file, const char *s)
{
	char path[PATH_MAX];
	int fd, r;

	if (bh_path_fmt(path, sizeof(path), "%s/%s", dir, file) < 0)
		return -ENAMETOOLONG;
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	r = write(fd, s, strlen(s)) < 0 ? -errno : 0;
	close(fd);
	return r;
}

/* Whether the word w is in dir/file (controller lists; a leading '+'
 * is ignored). */
static int has_word(const char *dir, const char *file, const char *w)
{
	char path[PATH_MAX], *buf = NULL, *tok, *save = NULL;
	size_t len;
	int found = 0;

	if (bh_path_fmt(path, sizeof(path), "%s/%s", dir, file) < 0 ||
	    bh_read_file(path, 65536, &buf, &len) < 0)
		return 0;
	for (tok = strtok_r(buf, " \n", &save); tok && !found;
	     tok = strtok_r(NULL, " \n", &save))
		found = !strcmp(tok[0] == '+' ? tok + 1 : tok, w);
	free(buf);
	return found;
}

/* Whether dir/cgroup.procs lists a process. */
static int has_procs(const char *dir)
{
	char path[PATH_MAX], *buf = NULL;
	size_t len = 0;

	if (bh_path_fmt(path, sizeof(path), "%s/cgroup.procs", dir) < 0 ||
	    bh_read_file(path, 65536, &buf, &len) < 0)
		return 0;
	free(buf);
	return len > 0;
}

/* Enables memory and pids for dir's children. */
static int enable_controllers(struct cgroups *cg, const char *dir)
{
	int r;

	if (has_word(dir, "cgroup.subtree_control", "memory") &&
	    has_word(dir, "cgroup.subtree_control", "pids"))
		return 0;
	r = write_file(dir, "cgroup.subtree_control", "+memory +pids");
	if (r < 0) {
		snprintf(cg->why, sizeof(cg->why),
			 "cannot enable the memory and pids controllers in "
			 "%.400s/cgroup.subtree_control: %s%s",
			 dir, strerror(-r),
			 r == -EBUSY ? " (a cgroup holding processes cannot "
				       "pass controllers down)"
				     : "");
		return -1;
	}
	return 0;
}

void cgroups_init(struct cgroups *cg, const char *root, const char *fs)
{
	char mnt[PATH_MAX], name[64], path[PATH_MAX];

	memset(cg, 0, sizeof(*cg));
	if (fs) {
		if (bh_path_fmt(mnt, sizeof(mnt), "%s", fs) < 0)
			return;
	} else if (find_cgroup2(cg, mnt, sizeof(mnt)) < 0) {
		return;
	}
	if (!has_word(mnt, "cgroup.controllers", "memory") ||
	    !has_word(mnt, "cgroup.controllers", "pids")) {
		snprintf(cg->why, sizeof(cg->why),
			 "cgroup2 at %.400s offers no memory or no pids "
			 "controller (cgroup.controllers; a cgroup v1 "
			 "hierarchy may hold them)",
			 mnt);
		return;
	}
	cgroup_group_name(root, name, sizeof(name));
	if (bh_path_fmt(cg->dir, sizeof(cg->dir), "%s/%s", mnt, name) < 0) {
		snprintf(cg->why, sizeof(cg->why), "cgroup path too long");
		return;
	}
	if (enable_controllers(cg, mnt) < 0)
		return;
	if (mkdir(cg->dir, 0755) < 0 && errno != EEXIST) {
		snprintf(cg->why, sizeof(cg->why), "cannot create %.400s: %s",
			 cg->dir, strerror(errno));
		return;
	}
	if (enable_controllers(cg, cg->dir) < 0)
		return;
	cg->swap = bh_path_fmt(path, sizeof(path), "%s/memory.swap.max",
			       cg->dir) == 0 &&
		   access(path, F_OK) == 0;
	cg->on = 1;
}

static int qube_dir(const struct cgroups *cg, const char *name, char *out,
		    size_t cap)
{
	/* "qube-": no cgroup interface file starts so, and a qube name may
	 * hold dots ("memory.max" is a valid one). */
	if (!name[0] || strchr(name, '/') || !strcmp(name, ".") ||
	    !strcmp(name, ".."))
		return -EINVAL;
	return bh_path_fmt(out, cap, "%s/qube-%s", cg->dir, name) < 0
		       ? -ENAMETOOLONG
		       : 0;
}

int cgroup_qube_create(const struct cgroups *cg, const char *name,
		       unsigned memory_mb, unsigned vcpus, char *err,
		       size_t cap)
{
	char dir[PATH_MAX], path[PATH_MAX], v[32];
	int fd, r;

	if (!cg->on)
		return -ENOTSUP;
	r = qube_dir(cg, name, dir, sizeof(dir));
	if (r < 0) {
		snprintf(err, cap, "no cgroup for qube name '%s'", name);
		return r;
	}
	if (mkdir(dir, 0755) < 0) {
		r = -errno;
		/* Left empty by a killed daemon (or a removal that failed):
		 * it serves again. One with processes is someone's QEMU. */
		if (r != -EEXIST || has_procs(dir)) {
			snprintf(err, cap, "cannot create cgroup %.1500s: %s",
				 dir, r == -EEXIST ? "it holds processes"
						   : strerror(-r));
			return r == -EEXIST ? -EBUSY : r;
		}
	}
	snprintf(v, sizeof(v), "%llu",
		 (unsigned long long)cgroup_memory_max(memory_mb));
	r = write_file(dir, "memory.max", v);
	if (r == 0 && cg->swap)
		r = write_file(dir, "memory.swap.max", "0");
	if (r == 0) {
		snprintf(v, sizeof(v), "%u", cgroup_pids_max(vcpus));
		r = write_file(dir, "pids.max", v);
	}
	if (r < 0) {
		snprintf(err, cap, "cannot set the limits of cgroup %.1500s: %s",
			 dir, strerror(-r));
		rmdir(dir);
		return r;
	}
	if (bh_path_fmt(path, sizeof(path), "%s/cgroup.procs", dir) < 0 ||
	    (fd = open(path, O_WRONLY | O_CLOEXEC)) < 0) {
		r = -errno;
		snprintf(err, cap, "cannot open %.1500s/cgroup.procs: %s", dir,
			 strerror(-r));
		rmdir(dir);
		return r;
	}
	return fd;
}

int cgroup_qube_remove(const struct cgroups *cg, const char *name)
{
	char dir[PATH_MAX];
	int r;

	if (!cg->on)
		return 0;
	r = qube_dir(cg, name, dir, sizeof(dir));
	if (r < 0)
		return r;
	return rmdir(dir) < 0 ? -errno : 0;
}

/* Ends whatever runs in dir (cgroup.kill, Linux 5.14) and waits, bounded,
 * for it to empty. */
static void kill_group(const char *dir)
{
	struct timespec t = { 0, 50 * 1000 * 1000 };
	int waited;

	if (write_file(dir, "cgroup.kill", "1") < 0)
		return;
	for (waited = 0; has_procs(dir) && waited < CGROUP_KILL_WAIT_MS;
	     waited += 50)
		nanosleep(&t, NULL);
}

int cgroups_cleanup_stale(const struct cgroups *cg)
{
	char dir[PATH_MAX];
	struct dirent *e;
	DIR *d;
	int n = 0;

	if (!cg->on || !(d = opendir(cg->dir)))
		return 0;
	while ((e = readdir(d))) {
		if (e->d_type != DT_DIR || strncmp(e->d_name, "qube-", 5) ||
		    bh_path_fmt(dir, sizeof(dir), "%s/%s", cg->dir,
				e->d_name) < 0)
			continue;
		if (has_procs(dir)) {
			/* Only our QEMUs are ever put there; one whose pid
			 * file was lost escaped leftover_qemus_end. */
			LOG_WARN("cgroups: %s still holds processes of an "
				 "earlier daemon; killing them",
				 dir);
			kill_group(dir);
		}
		if (rmdir(dir) == 0)
			n++;
		else
			LOG_WARN("cgroups: cannot remove %s: %s", dir,
				 strerror(errno));
	}
	closedir(d);
	if (n)
		LOG_INFO("cgroups: removed %d group%s left by an earlier "
			 "daemon",
			 n, n == 1 ? "" : "s");
	return n;
}

void cgroups_fini(const struct cgroups *cg)
{
	if (cg->on)
		rmdir(cg->dir);
}
